"""Pipeline configuration: one dataclass per stage, and the named presets.

Presets:
    ``paper``: MonST3R (swin-2 pairs, 512 px) + DepthCrafter one-step refinement (windows 110 / overlap 25,
        trailing spacing, T=4, t=2→1), exactly the StereoDiff paper's settings.
    ``fast``: the same backends with fewer pairs (swin-1) and lower resolutions (384 px stage 1, 512 px stage 2).
    ``cpu``: the weights-free pair: geometric stereo matching + temporal refiner. Runs anywhere.
    ``auto``: ``paper`` when its weights are on disk or downloadable, otherwise ``cpu`` with one notice.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

STAGE1_BACKENDS = ("monst3r", "dust3r", "mast3r", "geometric", "none")
STAGE2_BACKENDS = ("depthcrafter", "depthcrafter-full", "temporal", "none")
PRESETS = ("paper", "fast", "cpu", "auto")


@dataclass
class Stage1Config:
    """Stage 1: pairwise stereo matching + closed-form global alignment."""

    backend: Literal["monst3r", "dust3r", "mast3r", "geometric", "none"] = "geometric"
    """Which matcher runs: a DUSt3R-family network, the weights-free geometric matcher, or none."""
    weights: str | None = None
    """Network weights: a folder, a .pth file or a hub repo id (default: the backend's published checkpoint)."""
    pair_scheme: str | None = None
    """Pair graph, e.g. ``swin-2-noncyclic`` (paper); ``None`` = the backend's default."""
    resolution: int = 512
    """Long side of the working resolution in pixels (the paper limits it to 512)."""
    batch_size: int = 8
    """Pairs per network batch."""
    min_conf_thr: float = 3.0
    """Alignment: pixels below this confidence do not vote (official default 3)."""
    shared_focal: bool = False
    """Alignment: one focal length for the whole video (MonST3R's average)."""
    focal_px: float | None = None
    """Known focal length in pixels at the SOURCE resolution (``None`` = estimated)."""
    robust_scale: bool | None = None
    """Alignment: median log-depth-ratio edge scales (``None`` = on for geometric, off for networks)."""
    global_scale_solve: bool | None = None
    """Alignment: solve all per-frame scales over every pair at once (``None`` = as ``robust_scale``)."""


@dataclass
class Stage2Config:
    """Stage 2: local (temporal) consistency."""

    backend: Literal["depthcrafter", "depthcrafter-full", "temporal", "none"] = "temporal"
    """``depthcrafter``: the paper's one-step refinement; ``depthcrafter-full``: DepthCrafter alone (baseline,
    ignores stage 1); ``temporal``: the weights-free refiner; ``none``: stage-1 depth, resized."""
    unet: str = "depthcrafter"
    """DepthCrafter UNet: folder or hub repo id (``depthcrafter`` = tencent/DepthCrafter)."""
    base: str = "svd-xt"
    """SVD-xt components (VAE, CLIP image encoder, scheduler): folder or hub repo id."""
    window: int = 110
    """Frames per window (paper / DepthCrafter: 110)."""
    overlap: int = 25
    """Frames shared by consecutive windows (paper / DepthCrafter: 25)."""
    resolution: int = 1024
    """DepthCrafter's ``max_res``: long side cap, rounded to multiples of 64."""
    num_inference_steps: int = 4
    """Refiner: total steps T of the schedule (paper: 4); full DepthCrafter uses 5 (v1.0.1 default)."""
    stitching: str = "latent"
    """How windows are merged: ``latent`` (cross-fade), ``affine``, ``joint`` or ``none``."""
    options: dict[str, Any] = field(default_factory=dict)
    """Backend-specific keyword arguments (documented by each backend)."""


@dataclass
class PipelineConfig:
    """Everything a run needs; ``run.json`` stores it so a run can be repeated exactly."""

    stage1: Stage1Config = field(default_factory=Stage1Config)
    stage2: Stage2Config = field(default_factory=Stage2Config)
    device: str = "cpu"
    """``cpu``, ``cuda``, ``cuda:1``, ``mps``."""
    dtype: str = "float32"
    """Network dtype: ``float32``, ``float16`` or ``bfloat16`` (heads and VAE encoding stay float32). The CLI's
    default is the device's (:func:`stereodiff.gpu.default_dtype`: ``float16`` on CUDA)."""
    compile: bool = False
    """``torch.compile`` the networks (the DUSt3R-family encoder/decoder and the DepthCrafter UNet)."""
    seed: int = 0
    """Seed of every random draw (noise, RANSAC)."""
    preset: str = "custom"
    """Name of the preset this config came from."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Rebuild a config from :meth:`to_dict` output (unknown keys are an error)."""
        data = dict(data)
        stage1 = Stage1Config(**data.pop("stage1", {}))
        stage2 = Stage2Config(**data.pop("stage2", {}))
        return cls(stage1=stage1, stage2=stage2, **data)

    def validate(self) -> PipelineConfig:
        """Check names and ranges; returns self. Raises ValueError naming the field."""
        if self.stage1.backend not in STAGE1_BACKENDS:
            raise ValueError(f"stage1 backend {self.stage1.backend!r} is unknown; choose one of {STAGE1_BACKENDS}")
        if self.stage2.backend not in STAGE2_BACKENDS:
            raise ValueError(f"stage2 backend {self.stage2.backend!r} is unknown; choose one of {STAGE2_BACKENDS}")
        if self.stage1.backend == "none" and self.stage2.backend not in ("depthcrafter-full",):
            raise ValueError("stage1 'none' only works with stage2 'depthcrafter-full' (nothing else makes depth)")
        if self.stage1.resolution < 32:
            raise ValueError(f"stage1 resolution must be ≥ 32 px, got {self.stage1.resolution}")
        if not 0 <= self.stage2.overlap < self.stage2.window:
            raise ValueError(
                f"stage2 overlap must be in [0, window); got overlap={self.stage2.overlap}, window={self.stage2.window}"
            )
        if self.dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"dtype must be float32, float16 or bfloat16, got {self.dtype!r}")
        return self


def preset_config(name: str) -> PipelineConfig:
    """The named preset's config (``auto`` is resolved by the pipeline, see :func:`resolve_auto`)."""
    if name == "paper":
        return PipelineConfig(
            stage1=Stage1Config(backend="monst3r", pair_scheme="swin-2-noncyclic", resolution=512),
            stage2=Stage2Config(backend="depthcrafter", window=110, overlap=25, num_inference_steps=4),
            preset="paper",
        )
    if name == "fast":
        return PipelineConfig(
            stage1=Stage1Config(backend="monst3r", pair_scheme="swin-1-noncyclic", resolution=384),
            stage2=Stage2Config(backend="depthcrafter", resolution=512),
            preset="fast",
        )
    if name == "cpu":
        return PipelineConfig(
            stage1=Stage1Config(backend="geometric", resolution=320),
            stage2=Stage2Config(backend="temporal"),
            preset="cpu",
        )
    if name == "auto":
        return resolve_auto()
    raise ValueError(f"preset {name!r} is unknown; choose one of {PRESETS}")


PAPER_MODELS = ("monst3r", "depthcrafter", "svd-xt")


def _reachable(name: str) -> bool:
    """True when the hub answers for this model within a few seconds (never when offline)."""
    from huggingface_hub import HfApi

    from stereodiff.weights import MODELS, offline

    if offline():
        return False
    try:
        HfApi().model_info(MODELS[name].repo_id, timeout=5)
    except Exception:  # any failure (network, auth, gating) means "not downloadable now"
        return False
    return True


def missing_paper_weights() -> list[str]:
    """The paper preset's models that are neither cached nor downloadable right now."""
    from stereodiff.weights import find_snapshot

    return [name for name in PAPER_MODELS if find_snapshot(name) is None and not _reachable(name)]


def resolve_auto() -> PipelineConfig:
    """``paper`` when MonST3R, DepthCrafter and SVD-xt are cached or downloadable, else ``cpu`` with one notice."""
    from stereodiff.progress import logger

    missing = missing_paper_weights()
    if not missing:
        config = preset_config("paper")
    else:
        logger.warning(
            "preset auto: weights for %s are not on disk and cannot be downloaded now, so the weights-free "
            "'cpu' preset runs instead (get them with `stereodiff weights download %s`)",
            ", ".join(missing),
            " ".join(missing),
        )
        config = preset_config("cpu")
    config.preset = f"auto:{config.preset}"
    return config
