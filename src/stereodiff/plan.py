"""Resource planner: the memory, network calls and disk a run will need, before it starts.

For each stage of a :class:`~stereodiff.config.PipelineConfig` on a ``T``-frame ``H×W`` video:

* parameters (counted on the meta device from the checkpoint's config: the cached one if present, else the
  published one) and their memory in the run's dtype (DUSt3R-family weights stay float32 under autocast and its
  heads always run in float32; the SVD VAE encodes in float32 — ``force_upcast`` — whatever the dtype);
* peak activation memory, from the shapes: stage 1 — tokens per image, the encoder/decoder streams of one
  decoder batch and the DPT heads' full-resolution float32 maps; stage 2 — the CLIP chunk, the VAE encoder and
  temporal decoder chunks at pixel resolution, and the UNet window at latent resolution (skip connections of
  every level plus the widest block's working set). Attention is counted as fused (PyTorch SDPA: no
  ``tokens²`` matrix), which is what runs on CPU and CUDA;
* encoder passes, decoder pairs, CLIP/VAE passes and UNet calls; the pair cache on disk.

The per-element factors (``_*_LIVE``) count the tensors alive at each phase's peak; they were checked against
measured peak RSS of the real-size random models on CPU (BENCHMARKS.md, "Resource planner"). The pipeline loads
every model once and keeps it, while stages run one after the other and free their activations in between
(:func:`stereodiff.gpu.free_device_memory`): a run needs all the weights plus the largest stage's activations.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

from stereodiff.config import PipelineConfig

__all__ = ["RunPlan", "StagePlan", "available_memory", "format_bytes", "parse_bytes", "plan_run"]

_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
_NETWORK_STAGE1 = ("monst3r", "dust3r", "mast3r")
_GIB = 2**30

#: host memory of the interpreter, torch and the libraries (CPU), or the CUDA context (GPU), in bytes
RUNTIME_OVERHEAD = {"cpu": int(0.6 * _GIB), "cuda": int(0.5 * _GIB)}
#: a run whose stages are all weights-free never imports torch: Python, numpy, OpenCV, the decoded frames' pages
#: (measured RSS between the steps at 320×240: 180–190 MiB), and since the session of 2026-12-03 evening scipy's
#: optimiser for the focal cascade (+20 MiB after stage 1) and the threads of stage 2's fill, the preview and the
#: decoder beside the window's planes (+40 MiB): 0.27 GiB covered the measured peaks below until the session of
#: 2026-12-05 night, when the preset's peaks at 300 / 600 frames reached 850–920 MiB (Intel Xeon 821–899, AMD EPYC
#: 850–920 over five runs: the spike of stage 2's last windows beside the export); 0.32 GiB covered them until the
#: session of 2026-12-06, when three 300-frame runs on an AMD EPYC host peaked at 905–949 MiB and a 600-frame run at
#: 932 (stage 2's windows' run-to-run spread, flat in the length): 0.36 GiB covers them (planned 969 MiB)
WEIGHTS_FREE_OVERHEAD = int(0.36 * _GIB)

# Weights-free backends: float32 planes live per frame at their peak, measured at 320×240 (300 frames; 2 worker
# threads): the movers step over its block of frames (8.4), the temporal refiner over its window (14.9). Planned
# peaks of the cpu preset at 320×240 for 64 / 300 / 600 frames: 505 / 805 / 805 MiB; measured 488 / 747 / 833 MiB
# before issue #20's memory fixes, 486 / 729 / 735 MiB after them (BENCHMARKS.md, pipeline-64-300-600-320x240;
# docs/geometric.md "Memory flat in the video length"); with the cascade and the threaded export (session of
# 2026-12-03 evening) measured 575 / 813 / 808 MiB (515–575 over five runs of 64 frames), planned 577 / 877 / 877.
# Session of 2026-12-05 night (AMD EPYC, `bench_pipeline.py`): measured 613 / 877 / 892 MiB, planned 628 / 928 / 928.
# Session of 2026-12-06 (AMD EPYC): measured 639 / 895 / 932 MiB (300 frames 905–949 over three runs), planned 969.
_MOVERS_LIVE_PLANES = 9
_SHORT_OFFSET_BYTES = 2  # per pixel of the movers block with `movers_short_offsets`: their uint8 vote and check counts
_TEMPORAL_LIVE_PLANES = 16
_RAY_PAIR_DISK_PER_PIXEL = 16  # bytes per pixel and unordered pair: depth and confidence of both frames, float32
_SCENE_DISK_PER_PIXEL = 21  # bytes per working-size pixel and frame at the disk peak: the scene and the step outputs
# it replaces; the decoded frames add 3 bytes per source pixel (measured with the pairs, benchmarks/bench_disk.py:
# 5.45 MB per frame at 320×240, 5.78 at 640×480 where the frames alone are 0.92; planned 5.53 / 6.22)
_FRAME_DISK_PER_PIXEL = 3  # the run's frame store: RGB uint8 at the source size

# Live values per element at each phase's peak (see the module docstring).
_DPT_LIVE_PER_PIXEL = 2 * 128 + 256 // 4 + 3 * 4  # head: two 128-ch full-res maps, path1 (256 ch at H/2), outputs
_TOKEN_LIVE_PER_CHANNEL = 24  # decoder: 2 streams × (4 head layers + residual, norm, q, k, v, attn, 4·mlp) / dims
_VAE_ENCODE_LIVE = 5  # × 128 channels at full resolution per frame (conv_in, resnet norm/act/conv, residual)
_VAE_DECODE_LIVE = 8  # × 128 channels at full resolution: spatial + temporal resnet branches and the blend
_CLIP_RESIZE_LIVE = 58  # float32 values per input pixel: SVD's antialiased resize (blur, padding, copies; measured)
_UNET_BLOCK_LIVE = 16  # × level-0 channels per latent pixel: residual, norms, q/k/v, GEGLU (8c) and the blend


@dataclass
class StagePlan:
    """What one stage needs. Memory in bytes on the run's device (host RAM for ``cpu``)."""

    name: str
    parameters: int
    weights_bytes: int
    activation_bytes: int
    calls: dict[str, int] = field(default_factory=dict)
    disk_bytes: int = 0
    detail: str = ""
    components: dict[str, int] = field(default_factory=dict)
    """Peak activation bytes of each phase (the stage's activation is the largest, plus what persists)."""
    modelled: bool = True
    """False for a neural backend the planner has no memory model of (its figures are then zero, not estimates)."""

    @property
    def peak_bytes(self) -> int:
        return self.weights_bytes + self.activation_bytes


@dataclass
class RunPlan:
    """The plan of a whole run; :attr:`peak_bytes`: every stage's weights, the largest activations, the overhead."""

    num_frames: int
    size: tuple[int, int]
    device: str
    dtype: str
    stages: list[StagePlan]
    overhead_bytes: int
    budget_bytes: int | None = None
    suggestions: list[str] = field(default_factory=list)

    @property
    def peak_bytes(self) -> int:
        weights = sum(s.weights_bytes for s in self.stages)
        return weights + max((s.activation_bytes for s in self.stages), default=0) + self.overhead_bytes

    @property
    def fits(self) -> bool | None:
        """``None`` when no memory budget is known or a stage is not modelled."""
        if self.budget_bytes is None or not all(s.modelled for s in self.stages):
            return None
        return self.peak_bytes <= self.budget_bytes

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(peak_bytes=self.peak_bytes, fits=self.fits)
        for stage, plan in zip(out["stages"], self.stages):
            stage["peak_bytes"] = plan.peak_bytes
        return out

    def format(self) -> str:
        """Human-readable report (one block per stage, then the verdict and what to change)."""
        h, w = self.size
        lines = [f"plan: {self.num_frames} frames of {w}x{h} on {self.device} in {self.dtype}"]
        for s in self.stages:
            lines.append(f"  {s.name}: {s.detail}" if s.detail else f"  {s.name}")
            if s.parameters:
                lines.append(f"    parameters  {s.parameters / 1e6:,.1f} M  ({format_bytes(s.weights_bytes)})")
            lines.append(f"    activations {format_bytes(s.activation_bytes)} peak")
            if s.calls:
                lines.append("    calls       " + ", ".join(f"{v:,} {k}" for k, v in s.calls.items()))
            if s.disk_bytes:
                lines.append(f"    disk        {format_bytes(s.disk_bytes)}")
            lines.append(f"    stage peak  {format_bytes(s.peak_bytes)}")
        lines.append(f"  runtime overhead {format_bytes(self.overhead_bytes)}")
        verdict = f"peak {format_bytes(self.peak_bytes)}"
        unmodelled = [s.name for s in self.stages if not s.modelled]
        if unmodelled:
            verdict += f" without {', '.join(unmodelled)} (not modelled): whether it fits is unknown"
        elif self.budget_bytes is not None:
            verdict += f" of {format_bytes(self.budget_bytes)} available: " + ("fits" if self.fits else "WILL NOT FIT")
        lines.append(verdict)
        lines.extend(f"  - {tip}" for tip in self.suggestions)
        return "\n".join(lines)


def parse_bytes(text: str) -> int:
    """``"24GB"``, ``"24 GiB"``, ``"16g"``, ``"512MB"`` → bytes (binary units: 1 GB = 2³⁰ bytes, as GPU specs)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(i?b?)\s*", str(text).lower())
    if not match:
        raise ValueError(f"memory size {text!r} is not understood; write e.g. 24GB or 512MB")
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " "))


def format_bytes(value: float) -> str:
    return f"{value / _GIB:.2f} GB" if value >= 0.1 * _GIB else f"{value / 2**20:.0f} MB"


def available_memory(device: str) -> int | None:
    """Total memory of a CUDA device, or the host's available RAM for ``cpu``; ``None`` if unknown."""
    if device.startswith("cuda"):
        try:
            import torch

            if torch.cuda.is_available():
                return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
        except (ImportError, RuntimeError, AssertionError):
            return None
        return None
    if device == "cpu":
        import psutil

        return int(psutil.virtual_memory().available)
    return None


# ------------------------------------------------------------------------------------------ parameter counts
def _local_config(name: str, filename: str) -> dict[str, Any] | None:
    """The config of a cached or local checkpoint, or ``None`` (never downloads)."""
    from pathlib import Path

    from stereodiff.weights import find_snapshot

    path = Path(name).expanduser()
    folder = path if path.is_dir() else find_snapshot(name) if name.count("/") <= 1 else None
    if folder is not None and (folder / filename).is_file():
        return json.loads((folder / filename).read_text())
    return None


@lru_cache(maxsize=8)
def _croco_parameters(config_json: str) -> tuple[int, int, dict[str, int]]:
    """(encoder+decoder, heads) parameter counts and the architecture sizes of a DUSt3R-family config."""
    import torch

    from stereodiff.stage1.croco import AsymmetricCroCo3DStereo, CroCoStereoConfig

    config = CroCoStereoConfig.from_dict(json.loads(config_json))
    with torch.device("meta"):
        model = AsymmetricCroCo3DStereo(config)
    heads = sum(p.numel() for n, p in model.named_parameters() if n.startswith("downstream_head"))
    total = sum(p.numel() for p in model.parameters())
    dims = {"enc": config.enc_embed_dim, "dec": config.dec_embed_dim, "patch": config.patch_size}
    return total - heads, heads, dims


@lru_cache(maxsize=4)
def _depthcrafter_parameters(unet_json: str, vae_json: str, clip_json: str) -> dict[str, int]:
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from stereodiff.realsize import constructor_kwargs

    with torch.device("meta"):
        unet = UNetSpatioTemporalConditionModel(**constructor_kwargs(json.loads(unet_json)))
        vae = AutoencoderKLTemporalDecoder(**constructor_kwargs(json.loads(vae_json)))
        clip = CLIPVisionModelWithProjection(CLIPVisionConfig(**constructor_kwargs(json.loads(clip_json))))
    return {name: sum(p.numel() for p in m.parameters()) for name, m in (("unet", unet), ("vae", vae), ("clip", clip))}


# ------------------------------------------------------------------------------------------------- stage 1
def _stage1_network(config: PipelineConfig, num_frames: int, height: int, width: int, act_bytes: int) -> StagePlan:
    from stereodiff.realsize import CROCO_HUB_CONFIGS
    from stereodiff.stage1.network import working_size
    from stereodiff.stage1.pairs import make_pairs

    s1 = config.stage1
    values = _local_config(s1.weights or s1.backend, "config.json") or CROCO_HUB_CONFIGS[s1.backend]
    backbone, heads, dims = _croco_parameters(json.dumps(values, sort_keys=True))
    h, w = working_size(height, width, s1.resolution)
    tokens = (h // dims["patch"]) * (w // dims["patch"])
    pairs = len(make_pairs(num_frames, s1.pair_scheme or "swin-2-noncyclic"))
    batch = min(s1.batch_size, pairs)
    encoded = min(num_frames, 2 * batch)  # frames encoded for one batch (at most both ends of every pair)
    encoder = encoded * tokens * dims["enc"] * act_bytes * 9  # residual, norm, q/k/v, 4·mlp
    decoder = batch * tokens * dims["dec"] * act_bytes * _TOKEN_LIVE_PER_CHANNEL
    head_layers = batch * tokens * (dims["enc"] + 3 * dims["dec"]) * 4  # float32 copies the heads read
    dpt = batch * h * w * _DPT_LIVE_PER_PIXEL * 4 + h * w * 128 * 4  # + one full-res map of convolution workspace
    cache = min(num_frames, 64) * tokens * dims["enc"] * act_bytes
    components = {"encoder": encoder, "decoder and heads": decoder + head_layers + dpt}
    return StagePlan(
        name=f"stage 1 ({s1.backend})",
        parameters=backbone + heads,
        weights_bytes=(backbone + heads) * 4,  # float32 weights; half precision runs as autocast
        activation_bytes=cache + max(components.values()),
        calls={"encoder passes": num_frames, "decoder pairs": pairs},
        disk_bytes=pairs * h * w * 8 * 4,  # pts_i, pts_j (3 each), conf_i, conf_j in float32
        detail=f"{w}x{h} working size, {tokens} tokens per image, decoder batch {batch} pairs",
        components=components,
    )


def _stage1_geometric(config: PipelineConfig, num_frames: int, height: int, width: int) -> StagePlan:
    """The geometric matcher: its peak is the movers step's block (or the pairs' flows without it); its disk the
    ray-pair cache (``num_offsets`` unordered pairs per frame) and the saved scene at the working size, with the
    run's decoded frames at the source size."""
    from stereodiff.stage1.geometric import mover_settings, working_size
    from stereodiff.stage1.movers.runner import BLOCK_FRAMES, block_margin

    s1 = config.stage1
    h, w = working_size(height, width, s1.resolution)
    num_offsets = len(s1.offsets) if s1.offsets is not None else s1.num_offsets
    margin = block_margin(mover_settings(s1, ahead=True), num_frames)  # ahead: the larger block of the two
    block = num_frames if num_frames <= BLOCK_FRAMES else BLOCK_FRAMES + 2 * margin
    per_pixel = 4 * _MOVERS_LIVE_PLANES + (_SHORT_OFFSET_BYTES if s1.movers_short_offsets else 0)
    movers = block * h * w * per_pixel if s1.movers else 0
    pairs = num_offsets * num_frames
    return StagePlan(
        name=f"stage 1 ({s1.backend})",
        parameters=0,
        weights_bytes=0,
        activation_bytes=movers,
        calls={"frame pairs (unordered)": pairs},
        disk_bytes=pairs * h * w * _RAY_PAIR_DISK_PER_PIXEL
        + num_frames * (h * w * _SCENE_DISK_PER_PIXEL + height * width * _FRAME_DISK_PER_PIXEL),
        detail=f"weights-free, CPU; {w}x{h} working size" + (f", movers in blocks of {block} frames" if movers else ""),
        components={"movers": movers} if movers else {},
    )


def _stage2_temporal(config: PipelineConfig, num_frames: int, height: int, width: int) -> StagePlan:
    """The temporal refiner: its peak is one window with its context at the working resolution; its disk the
    output and the finished windows, both float32 at the source size."""
    from stereodiff.camera import fit_long_side
    from stereodiff.stage1 import geometric, network

    s2, s1 = config.stage2, config.stage1
    stage1 = network if s1.backend in _NETWORK_STAGE1 else geometric  # its depth's resolution is stage 2's input
    depth_h, depth_w = stage1.working_size(height, width, s1.resolution)
    h, w = fit_long_side(depth_h, depth_w, s2.work_long_side, upscale=False)
    window = min(num_frames, s2.window + 2 * s2.overlap)
    return StagePlan(
        name=f"stage 2 ({s2.backend})",
        parameters=0,
        weights_bytes=0,
        activation_bytes=window * h * w * 4 * _TEMPORAL_LIVE_PLANES,
        disk_bytes=2 * num_frames * height * width * 4,
        detail=f"weights-free, CPU; {w}x{h} working size, windows of {window} frames with their context",
    )


# ------------------------------------------------------------------------------------------------- stage 2
def _stage2_depthcrafter(config: PipelineConfig, num_frames: int, height: int, width: int, dtype: str) -> StagePlan:
    from stereodiff.realsize import CLIP_VIT_H_CONFIG, DEPTHCRAFTER_UNET_CONFIG, SVD_XT_VAE_CONFIG
    from stereodiff.stage2.depthcrafter.pipeline import processing_size
    from stereodiff.stage2.windows import window_schedule

    s2 = config.stage2
    unet_cfg = _local_config(s2.unet, "config.json") or _local_config(f"{s2.unet}/unet", "config.json")
    unet_cfg = unet_cfg or DEPTHCRAFTER_UNET_CONFIG
    vae_cfg = _local_config(f"{s2.base}", "vae/config.json") or SVD_XT_VAE_CONFIG
    clip_cfg = _local_config(f"{s2.base}", "image_encoder/config.json") or CLIP_VIT_H_CONFIG
    params = _depthcrafter_parameters(*(json.dumps(c, sort_keys=True) for c in (unet_cfg, vae_cfg, clip_cfg)))
    b = _DTYPE_BYTES[dtype]
    vae_b = 4 if vae_cfg.get("force_upcast", True) else b

    vae_factor = 2 ** (len(vae_cfg["block_out_channels"]) - 1)
    unet_levels = unet_cfg["block_out_channels"]
    h, w = processing_size(height, width, max_res=s2.resolution, multiple=vae_factor * 2 ** (len(unet_levels) - 1))
    windows = window_schedule(num_frames, s2.window, s2.overlap)
    frames_per_window = max(end - start for start, end in windows)
    chunk = s2.chunk_size
    pixels, latent = h * w, (h // vae_factor) * (w // vae_factor)

    vae_c0 = vae_cfg["block_out_channels"][0]
    vae_encode = chunk * pixels * vae_c0 * _VAE_ENCODE_LIVE * vae_b
    vae_decode = chunk * pixels * vae_c0 * _VAE_DECODE_LIVE * b
    hidden, size = clip_cfg["hidden_size"], clip_cfg["image_size"] // clip_cfg["patch_size"]
    clip = chunk * (size * size + 1) * (hidden * 9 + clip_cfg["intermediate_size"]) * b
    clip += chunk * pixels * _CLIP_RESIZE_LIVE * 4
    # UNet: every level's skip connections (conv_in, layers_per_block outputs, downsampler) + widest block
    layers = unet_cfg.get("layers_per_block", 2)
    skips = unet_levels[0] * latent
    for level, channels in enumerate(unet_levels):
        area = latent / 4**level
        skips += layers * channels * area + (channels * area / 4 if level < len(unet_levels) - 1 else 0)
    unet = frames_per_window * (skips + _UNET_BLOCK_LIVE * unet_levels[0] * latent) * b
    if not config.device.startswith("cuda"):  # measured on CPU: level-0 attention weights are materialised
        heads = unet_cfg["num_attention_heads"]
        unet += frames_per_window * (heads[0] if isinstance(heads, list) else heads) * latent**2 * b
    passes = 2 if s2.guidance_scale > 1.0 else 1
    steps = s2.num_inference_steps if s2.backend == "depthcrafter-full" else 1
    window_latents = 3 * frames_per_window * 4 * latent * 4 + frames_per_window * clip_cfg["projection_dim"] * 4
    sizes = {"unet": params["unet"] * b, "clip": params["clip"] * b, "vae": params["vae"] * vae_b}
    weights = max(sizes.values()) if s2.cpu_offload else sum(sizes.values())  # offload: one model at a time
    components = {"CLIP": clip, "VAE encode": vae_encode, "UNet": unet, "VAE decode": vae_decode}
    return StagePlan(
        name=f"stage 2 ({s2.backend})",
        parameters=sum(params.values()),
        weights_bytes=int(weights),
        activation_bytes=int(window_latents + max(components.values())),
        calls={
            "CLIP passes": num_frames,
            "VAE encodes": num_frames * (2 if s2.backend == "depthcrafter" else 1),
            "UNet calls": len(windows) * steps * passes,
            "VAE decodes": num_frames,
        },
        detail=(
            f"{w}x{h} processing size, {len(windows)} window(s) of up to {frames_per_window} frames, "
            f"decode chunk {chunk}"
        ),
        components={k: int(v) for k, v in components.items()},
    )


# ---------------------------------------------------------------------------------------------------- plan
def _suggestions(plan: RunPlan, config: PipelineConfig, num_frames: int, height: int, width: int) -> list[str]:
    """Concrete changes that bring each stage that does not fit under the budget."""
    if plan.fits is not False or plan.budget_bytes is None:
        return []
    weights = sum(s.weights_bytes for s in plan.stages)
    tips: list[str] = []
    if plan.dtype == "float32" and plan.device.startswith("cuda"):
        tips.append("use --dtype float16 (half the stage-2 weights and activations)")
    for stage in plan.stages:
        budget = plan.budget_bytes - plan.overhead_bytes - weights + stage.weights_bytes  # room for this stage
        if stage.peak_bytes <= budget:
            continue
        if stage.name.startswith("stage 1"):
            for batch in (4, 2, 1):
                trial = replace(config, stage1=replace(config.stage1, batch_size=batch))
                if (
                    batch < config.stage1.batch_size
                    and _stage(trial, 1, num_frames, height, width).peak_bytes <= budget
                ):
                    tips.append(f"stage 1: --set stage1.batch_size={batch}")
                    break
            else:
                tips.append("stage 1: lower --stage1-res (e.g. 384)")
        else:
            s2 = config.stage2
            for window in (w for w in (80, 64, 48, 32, 25, 16) if w < s2.window):
                trial = replace(config, stage2=replace(s2, window=window, overlap=min(s2.overlap, window // 3)))
                if _stage(trial, 2, num_frames, height, width).peak_bytes <= budget:
                    tips.append(f"stage 2: a smaller window, --set stage2.window={window} (overlap {window // 3})")
                    break
            tips.append("stage 2: lower the resolution, --set stage2.resolution=512")
            tips.append("stage 2: a smaller VAE chunk, --set stage2.chunk_size=4")
            if not s2.cpu_offload:
                tips.append("stage 2: --set stage2.cpu_offload=true keeps one model at a time on the GPU")
    return tips


def _stage(config: PipelineConfig, which: int, num_frames: int, height: int, width: int) -> StagePlan:
    if which == 1:
        return _stage1_network(config, num_frames, height, width, _act_bytes(config))
    return _stage2_depthcrafter(config, num_frames, height, width, config.dtype)


def _act_bytes(config: PipelineConfig) -> int:
    return _DTYPE_BYTES[config.dtype]


def plan_run(
    config: PipelineConfig, num_frames: int, height: int, width: int, *, budget_bytes: int | None = None
) -> RunPlan:
    """Plan a run of ``config`` on ``num_frames`` frames of ``height×width`` pixels.

    The network backends, DepthCrafter and the weights-free geometric matcher and temporal refiner are planned;
    other stages are listed with zero parameters and say whether they are weights-free (a neural one the planner
    does not model makes the verdict unknown). ``budget_bytes`` (device memory) enables the fit
    verdict and the suggestions.
    """
    if num_frames < 1 or height < 1 or width < 1:
        raise ValueError(f"need at least one frame of at least 1x1 px, got {num_frames} frames of {width}x{height}")
    from stereodiff.backends import STAGE2
    from stereodiff.devices import resolve_device
    from stereodiff.gpu import resolve_dtype

    config = copy.deepcopy(config.validate())
    config.device = resolve_device(config.device)
    config.dtype = resolve_dtype(config.dtype, config.device)
    stages = []
    if config.stage1.backend in _NETWORK_STAGE1:
        stages.append(_stage(config, 1, num_frames, height, width))
    elif config.stage1.backend == "geometric":
        stages.append(_stage1_geometric(config, num_frames, height, width))
    elif config.stage1.backend != "none":
        stages.append(StagePlan(f"stage 1 ({config.stage1.backend})", 0, 0, 0, detail="weights-free, CPU"))
    if config.stage2.backend in ("depthcrafter", "depthcrafter-full"):
        stages.append(_stage(config, 2, num_frames, height, width))
    elif config.stage2.backend == "temporal":
        stages.append(_stage2_temporal(config, num_frames, height, width))
    elif config.stage2.backend != "none":
        neural = STAGE2[config.stage2.backend].extra is not None
        detail = "neural, no memory model in the planner (see its docs)" if neural else "weights-free, CPU"
        stages.append(StagePlan(f"stage 2 ({config.stage2.backend})", 0, 0, 0, detail=detail, modelled=not neural))
    device = config.device
    overhead = RUNTIME_OVERHEAD["cuda" if device.startswith("cuda") else "cpu"]
    if all(s.modelled and not s.parameters for s in stages):  # torch is never imported
        overhead = WEIGHTS_FREE_OVERHEAD
    plan = RunPlan(num_frames, (height, width), device, config.dtype, stages, overhead, budget_bytes)
    plan.suggestions = _suggestions(plan, config, num_frames, height, width)
    return plan


def warn_if_too_big(config: PipelineConfig, num_frames: int, height: int, width: int) -> RunPlan | None:
    """Log a warning when the plan says the run will not fit the device's memory; returns the plan (or ``None``
    when nothing is planned or the memory is unknown)."""
    from stereodiff.progress import logger

    if config.stage1.backend not in _NETWORK_STAGE1 and config.stage2.backend not in (
        "depthcrafter",
        "depthcrafter-full",
    ):
        return None
    budget = available_memory(config.device)
    if budget is None:
        return None
    plan = plan_run(config, num_frames, height, width, budget_bytes=budget)
    if plan.fits is False:
        logger.warning(
            "this run needs about %s but %s has %s: it will probably run out of memory (%s). "
            "`stereodiff plan` shows the details",
            format_bytes(plan.peak_bytes),
            config.device,
            format_bytes(budget),
            "; ".join(plan.suggestions[:2]) or "use a smaller size",
        )
    return plan
