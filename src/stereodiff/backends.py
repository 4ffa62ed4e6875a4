"""The backend registry: the one place that maps a backend name to its config dataclass and to the code that builds it.

The pipeline knows stages, never backend names: it asks this registry to build ``config.stage1`` and
``config.stage2`` and then calls the stage contracts (``reconstruct`` of :class:`~stereodiff.stage1.Stage1Backend`,
``refine`` of :class:`~stereodiff.stage2.Stage2Backend`).

Adding a backend (e.g. a stage-2 method)::

    @dataclass
    class MyConfig(BackendConfig):              # light module: no torch import; field docstrings = documentation
        backend: Literal["mine"] = "mine"
        window: int = 32
        \"\"\"Frames per window.\"\"\"

        def validate(self) -> None: ...         # ValueError naming the field

    def build_mine(config: PipelineConfig) -> Stage2Backend:   # heavy imports inside
        from mypackage.model import MyModel
        return VideoDepthStage(MyModel.load(device=config.device), config.seed, window=config.stage2.window)

    register(STAGE2, Backend("mine", MyConfig, build_mine, extra="paper", uses_scene=False, summary="..."))

``--set stage2.window=16``, ``--config`` and ``run.json`` then work for it without further code.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from stereodiff.errors import InputError
from stereodiff.stage1.configs import BackendConfig, GeometricConfig, NetworkConfig, NoStage1Config
from stereodiff.stage2.configs import (
    DepthCrafterConfig,
    DepthCrafterFullConfig,
    DVDConfig,
    NoStage2Config,
    RollingDepthConfig,
    RollingDepthRefinerConfig,
    TemporalConfig,
)

if TYPE_CHECKING:
    from stereodiff.config import PipelineConfig

__all__ = ["EXTRAS", "STAGE1", "STAGE2", "Backend", "register", "require_extra"]

#: optional dependency groups (``pip install 'stereodiff[NAME]'``) -> the modules they provide
EXTRAS: dict[str, tuple[str, ...]] = {
    "paper": ("torch", "safetensors", "huggingface_hub", "diffusers", "transformers"),
    "app": ("gradio", "viser", "trimesh"),
}


@dataclass(frozen=True)
class Backend:
    """One registered backend."""

    name: str
    """Registry key, the value of ``config.stageN.backend``."""
    config: type[BackendConfig]
    """Its settings dataclass."""
    build: Callable[[PipelineConfig], Any] | None
    """``build(pipeline_config) -> backend`` (``None``: the stage is skipped)."""
    extra: str | None = None
    """The optional dependency group it needs (checked before building: one-line error naming it)."""
    uses_scene: bool = True
    """Stage 2 only: whether it refines the stage-1 scene (else it runs without a stage 1)."""
    summary: str = ""
    """One line for ``--help``."""


STAGE1: dict[str, Backend] = {}
STAGE2: dict[str, Backend] = {}


def register(registry: dict[str, Backend], backend: Backend) -> None:
    """Add ``backend`` to ``STAGE1`` or ``STAGE2`` (a name can be registered once)."""
    if backend.name in registry:
        raise ValueError(f"backend {backend.name!r} is already registered")
    registry[backend.name] = backend


def require_extra(extra: str, what: str) -> None:
    """InputError naming the extra when one of its modules is not installed."""
    missing = [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]
    if missing:
        raise InputError(
            f"{what} needs the '{extra}' extra ({', '.join(missing)} not installed)",
            f"pip install 'stereodiff[{extra}]'",
        )


def _dtype_name(config: PipelineConfig) -> str:
    """The config's dtype with ``auto`` resolved for its device (:func:`stereodiff.gpu.resolve_dtype`)."""
    from stereodiff.devices import resolve_device
    from stereodiff.gpu import resolve_dtype

    return resolve_dtype(config.dtype, resolve_device(config.device))


def _torch_dtype(config: PipelineConfig) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[_dtype_name(config)]


def _network(config: PipelineConfig) -> Any:
    from stereodiff.stage1.network import NetworkMatcher

    matcher = NetworkMatcher.from_config(
        config.stage1, device=config.device, dtype=_torch_dtype(config), seed=config.seed
    )
    if config.compile:
        from stereodiff.gpu import compile_module

        model = matcher.model
        model.encode, model.decode = compile_module(model.encode), compile_module(model.decode)
    return matcher


def _geometric(config: PipelineConfig) -> Any:
    from stereodiff.stage1.geometric import GeometricMatcher

    return GeometricMatcher(config.stage1, seed=config.seed)


def _load_depthcrafter(config: PipelineConfig) -> Any:
    from stereodiff.stage2.depthcrafter import load_depthcrafter

    s2 = config.stage2
    pipeline = load_depthcrafter(
        unet=s2.unet,
        base=s2.base,
        device=config.device,
        dtype=_torch_dtype(config),
        variant="fp16" if _dtype_name(config) == "float16" else None,  # the published half-precision files, as official
        cpu_offload=s2.cpu_offload,
    )
    if config.compile:
        from stereodiff.gpu import compile_module

        pipeline.unet = compile_module(pipeline.unet)
    return pipeline


def _depthcrafter(config: PipelineConfig) -> Any:
    from stereodiff.stage2.depthcrafter import DepthCrafterRefiner
    from stereodiff.stage2.stages import SceneRefinerStage

    s2: DepthCrafterConfig = config.stage2
    refiner = DepthCrafterRefiner(
        _load_depthcrafter(config),
        num_inference_steps=s2.num_inference_steps,
        t_start=s2.t_start,
        t_end=s2.t_start - 1,
        timestep_spacing=s2.timestep_spacing,
        use_karras_sigmas=s2.use_karras_sigmas,
        output=s2.output,
        window=s2.window,
        overlap=s2.overlap,
        stitching=s2.stitching,
        noise_aug_strength=s2.noise_aug_strength,
        guidance_scale=s2.guidance_scale,
        seed=config.seed,
        max_res=s2.resolution,
        dataset=s2.dataset,
        chunk_size=s2.chunk_size,
        min_confidence=s2.min_confidence,
    )
    return SceneRefinerStage(refiner)


def _depthcrafter_full(config: PipelineConfig) -> Any:
    from stereodiff.stage2.stages import VideoDepthStage

    s2: DepthCrafterFullConfig = config.stage2
    return VideoDepthStage(
        _load_depthcrafter(config),
        config.seed,
        num_inference_steps=s2.num_inference_steps,
        guidance_scale=s2.guidance_scale,
        window_size=s2.window,
        overlap=s2.overlap,
        noise_aug_strength=s2.noise_aug_strength,
        decode_chunk_size=s2.chunk_size,
        max_res=s2.resolution,
        dataset=s2.dataset,
    )


def _rollingdepth(config: PipelineConfig) -> Any:
    from stereodiff.stage2.rollingdepth import RollingDepthBackend, load_rollingdepth
    from stereodiff.stage2.rollingdepth.pipeline import settings_from_config

    pipeline = load_rollingdepth(config.stage2.checkpoint, device=config.device, dtype=_torch_dtype(config))
    return RollingDepthBackend(pipeline, settings_from_config(config.stage2), seed=config.seed)


def _rollingdepth_refiner(config: PipelineConfig) -> Any:
    from stereodiff.stage2.rollingdepth import RollingDepthRefiner, load_rollingdepth
    from stereodiff.stage2.rollingdepth.pipeline import RollingDepthSettings

    s2: RollingDepthRefinerConfig = config.stage2
    settings = RollingDepthSettings(
        resolution=s2.resolution,
        refine_step=s2.refine_step,
        refine_snippet_len=s2.snippet_length,
        refine_start_dilation=s2.refine_start_dilation,
        vae_batch=s2.vae_batch,
    )
    pipeline = load_rollingdepth(s2.checkpoint, device=config.device, dtype=_torch_dtype(config))
    return RollingDepthRefiner(pipeline, settings, seed=config.seed, min_confidence=s2.min_confidence)


def _dvd(config: PipelineConfig) -> Any:
    from stereodiff.stage2.dvd import DVDBackend, DVDSettings, load_dvd

    s2: DVDConfig = config.stage2
    pipeline = load_dvd(
        s2.checkpoint, s2.base, weights=s2.weights, device=config.device, dtype=_torch_dtype(config)
    )
    settings = DVDSettings(
        height=s2.height, width=s2.width, window=s2.window, overlap=s2.overlap, denoise_step=s2.denoise_step
    )
    return DVDBackend(pipeline, settings)


def _temporal(config: PipelineConfig) -> Any:
    from stereodiff.stage2.stages import SceneRefinerStage
    from stereodiff.stage2.temporal import TemporalRefiner

    return SceneRefinerStage(TemporalRefiner(**asdict(config.stage2)))


def _resize(config: PipelineConfig) -> Any:
    from stereodiff.stage2.stages import ResizeStage

    return ResizeStage()


for _name in ("monst3r", "dust3r", "mast3r"):
    register(STAGE1, Backend(_name, NetworkConfig, _network, extra="paper", summary=f"{_name} network (weights)"))
register(STAGE1, Backend("geometric", GeometricConfig, _geometric, summary="weights-free stereo matching"))
register(STAGE1, Backend("none", NoStage1Config, None, summary="no stage 1 (with a stage 2 that ignores it)"))
register(STAGE2, Backend("depthcrafter", DepthCrafterConfig, _depthcrafter, extra="paper",
                         summary="the paper's one-step DepthCrafter refinement"))  # fmt: skip
register(STAGE2, Backend("depthcrafter-full", DepthCrafterFullConfig, _depthcrafter_full, extra="paper",
                         uses_scene=False, summary="DepthCrafter alone (baseline, ignores stage 1)"))  # fmt: skip
register(STAGE2, Backend("rollingdepth", RollingDepthConfig, _rollingdepth, extra="paper", uses_scene=False,
                         summary="RollingDepth alone (baseline, ignores stage 1)"))  # fmt: skip
register(STAGE2, Backend("rollingdepth-refiner", RollingDepthRefinerConfig, _rollingdepth_refiner, extra="paper",
                         summary="RollingDepth's diffusion refinement of the stage-1 depth"))  # fmt: skip
register(STAGE2, Backend("dvd", DVDConfig, _dvd, extra="paper", uses_scene=False,
                         summary="DVD alone (baseline, ignores stage 1)"))  # fmt: skip
register(STAGE2, Backend("temporal", TemporalConfig, _temporal, summary="weights-free temporal refiner"))
register(STAGE2, Backend("none", NoStage2Config, _resize, summary="stage-1 depth, resized"))
