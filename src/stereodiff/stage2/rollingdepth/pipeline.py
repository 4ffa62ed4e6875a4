"""RollingDepth inference: dilated snippets → one-step multi-frame depth → co-alignment → optional refinement.

Follows the official ``RollingDepthPipeline`` (prs-eth/RollingDepth, v1.0): frames resized so the long side is
``resolution`` (bilinear, antialiased) and scaled to [-1, 1]; Stable-Diffusion VAE latents (encoder mean × 0.18215);
one shared Gaussian noise image for every frame; per dilation, every stride-1 snippet denoised by the UNet with
cross-frame attention (DDIM, trailing, v-prediction, zero-SNR); snippets decoded (mean of the 3 output channels),
co-aligned (:class:`~stereodiff.stage2.rollingdepth.coalign.DepthCoAligner`) and rescaled to [-1, 1]; optionally
re-encoded, noised to the middle of a ``2·refine_step`` schedule with the same noise and denoised with snippets
whose dilation shrinks to 1, the latents of overlapping snippets averaged after every step.

The output is affine-invariant **inverse depth** (disparity up to scale and shift) at the processing resolution.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from stereodiff.blocks import block_of
from stereodiff.errors import InputError
from stereodiff.io.pages import release
from stereodiff.progress import logger
from stereodiff.stage2.rollingdepth.coalign import DepthCoAligner, SnippetColumns, snippet_frame_indices
from stereodiff.stage2.rollingdepth.store import DiskTensor

__all__ = [
    "PRESETS",
    "RollingDepthOutput",
    "RollingDepthPipeline",
    "RollingDepthResult",
    "RollingDepthSettings",
    "cap_dilation",
]

LATENT_SCALE = 0.18215  # Stable Diffusion VAE scaling factor (RGB and depth latents)


@dataclass(frozen=True)
class RollingDepthSettings:
    """Inference settings; the defaults are the official ``fast`` preset."""

    resolution: int = 768
    """Long side of the processing resolution in pixels (0 = the source resolution)."""
    dilations: tuple[int, ...] = (1, 25)
    """Frame spacing of each snippet set (must include 1)."""
    cap_dilation: bool = True
    """Shrink dilations that do not fit the video (official rule: at most ``T // snippet_len - 1``)."""
    snippet_lengths: tuple[int, ...] = (3,)
    """Frames per snippet: one value, or one per dilation."""
    init_steps: int = 1
    """Denoising steps of the initial snippet prediction (published model: 1)."""
    refine_step: int = 0
    """Refinement steps (0 = none; ``full``/``paper``: 10)."""
    refine_snippet_len: int = 3
    """Frames per snippet during refinement."""
    refine_start_dilation: int = 6
    """Dilation of the first refinement step (it shrinks to 1 by the last)."""
    vae_batch: int = 4
    """Frames per VAE encoder/decoder batch."""
    coalign: DepthCoAligner = field(default_factory=DepthCoAligner)
    """Co-alignment settings."""

    def __post_init__(self) -> None:
        if 1 not in self.dilations:
            raise ValueError(f"dilations must include 1, got {self.dilations}")
        if min(self.dilations) < 1 or self.init_steps < 1 or self.refine_step < 0 or self.vae_batch < 1:
            raise ValueError("dilations and init_steps must be ≥ 1, refine_step ≥ 0, vae_batch ≥ 1")
        if len(self.snippet_lengths) not in (1, len(self.dilations)) or min(self.snippet_lengths) < 2:
            raise ValueError("snippet_lengths: one value ≥ 2, or one per dilation")
        if self.refine_step and (self.refine_snippet_len < 2 or self.refine_start_dilation < 1):
            raise ValueError("refine_snippet_len must be ≥ 2 and refine_start_dilation ≥ 1")


#: the official presets (run_video.py); ``fast``/``fast1024``/``full`` run in fp16 there, ``paper`` in fp32
#: (the dtype is the pipeline's ``dtype`` setting here).
PRESETS: dict[str, RollingDepthSettings] = {
    "fast": RollingDepthSettings(),
    "fast1024": RollingDepthSettings(resolution=1024),
    "full": RollingDepthSettings(resolution=1024, dilations=(1, 10, 25), refine_step=10),
    "paper": RollingDepthSettings(dilations=(1, 10, 25), cap_dilation=False, refine_step=10),
}


def cap_dilation(num_frames: int, snippet_len: int, dilation: int) -> int:
    """The official cap: a dilation above ``T // snippet_len - 1`` becomes that value (never below 1 here)."""
    return max(1, min(dilation, num_frames // snippet_len - 1))


def refine_snippets(num_frames: int, snippet_len: int, step: int, steps: int, start_dilation: int) -> torch.Tensor:
    """Snippets of refinement step ``step`` of ``steps``: dilation falls linearly from ``start_dilation`` to 1."""
    gap = int((1 - step / steps) * (start_dilation - 1))
    return snippet_frame_indices(num_frames, snippet_len, gap + 1)


@dataclass
class RollingDepthOutput:
    """``depth``: ``[T, h, w]`` inverse depth (affine-invariant) at the processing resolution; ``coaligned``: the
    co-aligned video before refinement (in [-1, 1]); ``snippets``: per dilation ``[S, L, h, w]``;
    ``unet_calls``: UNet forward passes (one per snippet per step)."""

    depth: torch.Tensor
    coaligned: torch.Tensor
    snippets: list[torch.Tensor]
    dilations: list[int]
    unet_calls: int


@dataclass
class RollingDepthResult:
    """:meth:`RollingDepthPipeline.run`'s results, in files: ``depth`` and ``coaligned`` ``[T, h, w]``,
    ``snippets`` per dilation ``[L, S, h, w]`` (frame position first)."""

    depth: DiskTensor
    coaligned: DiskTensor
    snippets: list[DiskTensor]
    dilations: list[int]
    unet_calls: int


class RollingDepthPipeline:
    """The RollingDepth model (UNet with cross-frame attention, SD VAE, DDIM scheduler, empty-prompt embedding)."""

    def __init__(
        self, unet: Any, vae: Any, scheduler: Any, empty_text_embed: torch.Tensor, *, device: str | torch.device = "cpu"
    ) -> None:
        from stereodiff.stage2.rollingdepth.attention import use_cross_frame_attention

        self.device = torch.device(device)
        self.unet = unet.to(self.device).eval()
        self.vae = vae.to(self.device).eval()
        self.scheduler = scheduler
        self.dtype = self.unet.dtype
        self.empty_text_embed = empty_text_embed.to(self.device, self.dtype)  # [1, tokens, C]
        use_cross_frame_attention(self.unet)

    # ----------------------------------------------------------------------------------------------- pre/post
    @staticmethod
    def processing_size(height: int, width: int, resolution: int) -> tuple[int, int]:
        """The official resize rule: long side = ``resolution`` (truncated), aspect kept; 0 = unchanged."""
        if resolution <= 0:
            return height, width
        factor = min(resolution / width, resolution / height)
        return int(height * factor), int(width * factor)

    def preprocess(self, frames: Any, resolution: int) -> torch.Tensor:
        """``[T,H,W,3]`` uint8 RGB → ``[T,3,h,w]`` in [-1, 1] at the processing size (bilinear, antialiased)."""
        video = torch.as_tensor(frames[:])
        if video.ndim != 4 or video.shape[-1] != 3:
            raise InputError(f"frames must be [T,H,W,3] RGB, got shape {tuple(video.shape)}", "pass an RGB video")
        video = video.permute(0, 3, 1, 2).float()
        size = self.processing_size(*video.shape[-2:], resolution)
        if size != tuple(video.shape[-2:]):
            video = F.interpolate(video, size=size, mode="bilinear", align_corners=False, antialias=True)
        return video / 255.0 * 2.0 - 1.0

    # ------------------------------------------------------------------------------------------------ the VAE
    @torch.no_grad()
    def encode(self, images: torch.Tensor, batch: int) -> torch.Tensor:
        """``[N,3,h,w]`` in [-1, 1] → ``[N,4,h/8,w/8]`` scaled latents (encoder mean, no sampling)."""
        latents = []
        for start in range(0, images.shape[0], batch):
            chunk = images[start : start + batch].to(self.device, self.dtype)
            moments = self.vae.quant_conv(self.vae.encoder(chunk))
            latents.append(moments.chunk(2, dim=1)[0])
        return torch.cat(latents) * LATENT_SCALE

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, batch: int) -> torch.Tensor:
        """``[N,4,h',w']`` scaled latents → ``[N,h,w]`` (mean of the decoder's 3 channels)."""
        out = []
        for start in range(0, latents.shape[0], batch):
            z = self.vae.post_quant_conv(latents[start : start + batch] / LATENT_SCALE)
            out.append(self.vae.decoder(z).mean(dim=1))
        return torch.cat(out)

    # ------------------------------------------------------------------------------------------------- the UNet
    @torch.no_grad()
    def denoise(self, rgb_latent: torch.Tensor, depth_latent: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """One UNet call on one snippet: ``[L,4,h,w]`` RGB and depth latents at timestep ``t`` → v-prediction."""
        count = rgb_latent.shape[0]
        sample = torch.cat([rgb_latent, depth_latent], dim=1)
        text = self.empty_text_embed.expand(count, -1, -1)
        return self.unet(
            sample, t.repeat(count), encoder_hidden_states=text, cross_attention_kwargs={"num_view": count}
        ).sample

    def _scheduler(self, steps: int) -> Any:
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(steps, device=self.device)
        return scheduler

    def predict_snippets(
        self,
        rgb_latent: DiskTensor,
        noise: torch.Tensor,
        indices: torch.Tensor,
        steps: int,
        batch: int,
        out: DiskTensor,
        progress: _Progress,
    ) -> None:
        """Denoise every snippet from the shared noise and decode it into ``out`` ``[L, S, h, w]``.

        The decoded frames are the snippets' frames in order (snippet by snippet) cut into fixed blocks of ``batch``
        (:mod:`stereodiff.blocks`); each block is decoded as soon as it is complete, written, and recorded in
        ``progress``, so a resumed run skips the recorded blocks and decodes the others in the same batches."""
        scheduler = self._scheduler(steps)
        count, length = indices.shape
        first = progress.done * batch  # first flat (snippet, frame) index still to decode
        pending: list[torch.Tensor] = []
        for s in range(first // length, count):
            latent = noise[: indices.shape[1]].clone()
            for t in scheduler.timesteps:
                v = self.denoise(rgb_latent[indices[s].numpy()].to(self.device), latent, t)
                latent = scheduler.step(v, t, latent).prev_sample
            pending.extend(latent[max(0, first - s * length) :])
            while len(pending) >= batch or (s == count - 1 and pending):
                chunk = block_of(first, batch, count * length)
                decoded = self.decode(torch.stack(pending[: len(chunk)]), batch)
                for k, frame in zip(chunk, decoded):
                    out[k % length, k // length] = frame
                out.flush()
                progress.advance()
                del pending[: len(chunk)]
                first = chunk.stop

    def refine(
        self,
        rgb_latent: DiskTensor,
        depth_latent: DiskTensor,
        noise: torch.Tensor,
        settings: RollingDepthSettings,
        folder: Path,
    ) -> tuple[DiskTensor, int]:
        """Noise the depth latents to the middle of a ``2·refine_step`` schedule and denoise them snippet-wise
        (overwrites ``depth_latent``); returns the refined latents and the number of UNet calls.

        Every step streams: snippets in order, each frame's sum of snippet outputs kept until the last snippet
        holding it (the one starting at it) is done, then written; two latent files alternate."""
        steps = settings.refine_step
        scheduler = self._scheduler(2 * steps)
        timesteps = scheduler.timesteps[steps:]
        num_frames, calls = depth_latent.shape[0], 0
        for start in range(0, num_frames, settings.vae_batch):
            stop = min(start + settings.vae_batch, num_frames)
            depth_latent[start:stop] = scheduler.add_noise(
                depth_latent[start:stop], noise[: stop - start], timesteps[:1]
            )
        latent, spare = (
            depth_latent,
            DiskTensor(
                folder / "refine_latent.npy",
                depth_latent.shape,
                depth_latent.dtype,
                create=True,
                memory_format=depth_latent.memory_format,
            ),
        )
        first_dilation = snippet_plan(num_frames, settings)[2]
        for step, t in enumerate(timesteps):
            indices = refine_snippets(num_frames, settings.refine_snippet_len, step, len(timesteps), first_dilation)
            sums: dict[int, torch.Tensor] = {}
            counts: dict[int, int] = {}
            written = 0
            for s, snippet in enumerate(indices.numpy()):
                current = latent[snippet].to(self.device)
                v = self.denoise(rgb_latent[snippet].to(self.device), current, t)
                for frame, value in zip(snippet.tolist(), scheduler.step(v, t, current).prev_sample):
                    sums[frame] = sums[frame] + value if frame in sums else torch.zeros_like(value) + value
                    counts[frame] = counts.get(frame, 0) + 1
                calls += 1
                written = self._flush_frames(spare, sums, counts, written, s + 1)
            self._flush_frames(spare, sums, counts, written, num_frames)
            latent, spare = spare, latent
        return latent, calls

    @staticmethod
    def _flush_frames(
        out: DiskTensor, sums: dict[int, torch.Tensor], counts: dict[int, int], start: int, stop: int
    ) -> int:
        """Write the mean latent of frames ``[start, stop)`` (all their snippets done) to ``out``; returns ``stop``."""
        for frame in range(start, stop):
            total = sums.pop(frame, None)
            if total is None:  # in no snippet (dilations not capped): 0 / 0, as the whole-clip average gives
                total = torch.zeros(out.shape[1:], dtype=out.dtype)
            count = torch.tensor(float(counts.pop(frame, 0)), dtype=total.dtype, device=total.device)
            out[frame] = total / count
        return stop

    # ------------------------------------------------------------------------------------------------ the run
    def _shared_noise(
        self, shape: tuple[int, ...], generator: torch.Generator | None, noise: torch.Tensor | None
    ) -> torch.Tensor:
        """The one noise image of every frame (drawn, or ``noise`` checked), expanded to ``[L, 4, h, w]`` views:
        index it with ``[:n]`` for ``n`` frames (shape = ``[T, 4, h, w]`` of the latents)."""
        one = (1, *shape[1:])
        if noise is None:
            noise = torch.randn(one, device=self.device, dtype=self.dtype, generator=generator)
        elif tuple(noise.shape) != one:
            raise InputError(f"noise must have shape {one}, got {tuple(noise.shape)}", "draw it at the latent size")
        return noise.to(self.device, self.dtype).expand(shape[0], -1, -1, -1)

    def _encode_video(
        self, read: Callable[[int, int], torch.Tensor], num_frames: int, batch: int, path: Path
    ) -> DiskTensor:
        """Encode frames ``read(start, stop)`` (``[n, 3, h, w]`` in [-1, 1]) in fixed blocks of ``batch`` into a
        ``[T, 4, h/8, w/8]`` file."""
        out = None
        for start in range(0, num_frames, batch):
            latent = self.encode(read(start, min(start + batch, num_frames)), batch)
            if out is None:
                out = DiskTensor(
                    path, (num_frames, *latent.shape[1:]), latent.dtype, create=True, memory_format=_format(latent)
                )
            out[start : start + latent.shape[0]] = latent
        return out

    def _decode_video(self, latent: DiskTensor, batch: int, path: Path) -> DiskTensor:
        """Decode a ``[T, 4, h', w']`` latent file in fixed blocks of ``batch`` into a ``[T, h, w]`` file."""
        out = None
        for start in range(0, latent.shape[0], batch):
            depth = self.decode(latent[start : start + batch].to(self.device), batch)
            if out is None:
                out = DiskTensor(path, (latent.shape[0], *depth.shape[1:]), depth.dtype, create=True)
            out[start : start + depth.shape[0]] = depth
        return out

    def _rgb_latents(self, frames: Any, settings: RollingDepthSettings, folder: Path) -> DiskTensor:
        def read(start: int, stop: int) -> torch.Tensor:
            images = self.preprocess(frames[start:stop], settings.resolution)
            release(frames)  # a memory-mapped video: keep only this block resident
            return images

        return self._encode_video(read, int(frames.shape[0]), settings.vae_batch, folder / "rgb_latent.npy")

    def _refine_video(
        self,
        rgb_latent: DiskTensor,
        video: DiskTensor,
        noise: torch.Tensor,
        settings: RollingDepthSettings,
        folder: Path,
    ) -> tuple[DiskTensor, int]:
        """Step 4 on a ``[T, h, w]`` video in [-1, 1]: encode, refine, decode; returns ``[T, h, w]`` and UNet calls."""

        def read(start: int, stop: int) -> torch.Tensor:
            return video[start:stop].to(self.device)[:, None].expand(-1, 3, -1, -1)

        depth_latent = self._encode_video(read, video.shape[0], settings.vae_batch, folder / "depth_latent.npy")
        refined, calls = self.refine(rgb_latent, depth_latent, noise, settings, folder)
        return self._decode_video(refined, settings.vae_batch, folder / "refined.npy"), calls

    @torch.no_grad()
    def refine_video(
        self,
        frames: Any,
        disparity: Any,
        settings: RollingDepthSettings,
        folder: Path,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[DiskTensor, int]:
        """RollingDepth's refinement of a given video of inverse depth (step 4 alone, in place of steps 2–3).

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB (array-like, read a block at a time).
            disparity: ``[T,h,w]`` inverse depth in [0, 1] at the processing size of ``frames`` (array-like with
                ``shape``, sliced a block at a time).
            settings: ``resolution``, ``refine_step`` (≥ 1), ``refine_snippet_len``, ``refine_start_dilation``,
                ``cap_dilation`` and ``vae_batch`` are used.
            folder: where the working files go (latents, the result).
            generator, noise: the shared noise, as in :meth:`__call__`.

        Returns:
            ``[T,h,w]`` refined inverse depth (decoder scale) in ``folder``, and the number of UNet calls.
        """
        if settings.refine_step < 1:
            raise InputError("refining a given video needs refine_step ≥ 1", "set refine_step (RollingDepth: 10)")
        num_frames = int(frames.shape[0])
        size = self.processing_size(*(int(s) for s in frames.shape[1:3]), settings.resolution)
        if tuple(disparity.shape) != (num_frames, *size):
            raise InputError(
                f"disparity is {tuple(disparity.shape)}, the frames are processed at {size}",
                "resize the disparity to the processing size",
            )
        rgb_latent = self._rgb_latents(frames, settings, folder)
        noise = self._shared_noise(rgb_latent.shape, generator, noise)
        video = DiskTensor(folder / "video.npy", disparity.shape, self.dtype, create=True)
        for start in range(0, num_frames, settings.vae_batch):
            block = torch.as_tensor(disparity[start : start + settings.vae_batch])
            video[start : start + block.shape[0]] = (block.to(torch.float32) * 2.0 - 1.0).to(self.dtype)
        return self._refine_video(rgb_latent, video, noise, settings, folder)

    @torch.no_grad()
    def run(
        self,
        frames: Any,
        settings: RollingDepthSettings,
        folder: Path,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> RollingDepthResult:
        """Inverse depth of a video, with every per-clip tensor in files under ``folder`` (memory bounded by the
        model, one VAE block and the co-alignment's subsampled pixels). Decoded snippet blocks already recorded in
        ``folder`` by an interrupted run with the same inputs are reused (bit-identical: same blocks, same batches).

        Args: as :meth:`__call__`; ``folder`` holds the working files and the results.
        """
        rgb_latent = self._rgb_latents(frames, settings, folder)
        num_frames = rgb_latent.shape[0]
        dilations, lengths, _ = snippet_plan(num_frames, settings)
        noise = self._shared_noise(rgb_latent.shape, generator, noise)
        size = self.processing_size(*(int(s) for s in frames.shape[1:3]), settings.resolution)
        snippets, calls = [], 0
        for i, (dilation, length) in enumerate(zip(dilations, lengths)):
            indices = snippet_frame_indices(num_frames, length, dilation)
            logger.debug("rollingdepth: %d snippets of %d frames, dilation %d", len(indices), length, dilation)
            store = DiskTensor.open_or_create(folder / f"snippets{i}.npy", (length, len(indices), *size), self.dtype)
            progress = _Progress(folder / f"snippets{i}.done", fresh=store.created)
            self.predict_snippets(rgb_latent, noise, indices, settings.init_steps, settings.vae_batch, store, progress)
            snippets.append(store)
            calls += len(indices) * settings.init_steps
        columns = [SnippetColumns(x.shape[1], x.shape[0], lambda j, a, b, x=x: x[j, a:b]) for x in snippets]
        coaligned = DiskTensor(folder / "coaligned.npy", (num_frames, *size), self.dtype, create=True)
        for start, block in settings.coalign.align(columns, dilations):
            coaligned[start : start + block.shape[0]] = block
        _normalize_to_unit_range(coaligned, settings.vae_batch)
        depth = coaligned
        if settings.refine_step > 0:
            depth, refine_calls = self._refine_video(rgb_latent, coaligned, noise, settings, folder)
            calls += refine_calls
        return RollingDepthResult(depth, coaligned, snippets, dilations, calls)

    @torch.no_grad()
    def __call__(
        self,
        frames: Any,
        settings: RollingDepthSettings | None = None,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> RollingDepthOutput:
        """Inverse depth of a video, in memory (:meth:`run` in a temporary folder, its results loaded).

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB (array or FrameStore).
            settings: inference settings (default: the ``fast`` preset).
            generator: draws the shared noise ``[1,4,h/8,w/8]`` (as the official ``torch.randn(..., generator)``).
            noise: that noise given explicitly (official draws fed in), instead of ``generator``.
        """
        with tempfile.TemporaryDirectory(prefix="rollingdepth-") as folder:
            result = self.run(
                frames, settings or RollingDepthSettings(), Path(folder), generator=generator, noise=noise
            )
            return RollingDepthOutput(
                result.depth.load().float(),
                result.coaligned.load().float(),
                [x.load().transpose(0, 1) for x in result.snippets],
                result.dilations,
                result.unet_calls,
            )


def _format(tensor: torch.Tensor) -> torch.memory_format:
    """Channels-last when ``tensor`` is laid out so (and not also plain contiguous), else contiguous."""
    if tensor.is_contiguous() or not tensor.is_contiguous(memory_format=torch.channels_last):
        return torch.contiguous_format
    return torch.channels_last


def _normalize_to_unit_range(video: DiskTensor, block: int) -> None:
    """Map a ``[T, h, w]`` file to [-1, 1] in place (min–max over the whole video, as RollingDepth does)."""
    parts = [(video[i : i + block].min(), video[i : i + block].max()) for i in range(0, video.shape[0], block)]
    lo, hi = torch.stack([p[0] for p in parts]).min(), torch.stack([p[1] for p in parts]).max()
    for i in range(0, video.shape[0], block):
        video[i : i + block] = (video[i : i + block] - lo) / (hi - lo) * 2.0 - 1.0
    video.flush()


class _Progress:
    """How many fixed decode blocks of one snippet set are in its file: a counter in a small text file."""

    def __init__(self, path: Path, *, fresh: bool) -> None:
        self.path = path
        self.done = int(path.read_text()) if path.is_file() and not fresh else 0

    def advance(self) -> None:
        self.done += 1
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(self.done))
        tmp.replace(self.path)


def settings_from_config(config: Any) -> RollingDepthSettings:
    """The settings of a :class:`~stereodiff.stage2.configs.RollingDepthConfig`: its preset, with the fields it
    sets (not ``None``) overriding the preset's values."""
    base = PRESETS[config.preset]
    overrides: dict[str, Any] = {
        "snippet_lengths": (config.snippet_length,),
        "refine_snippet_len": config.snippet_length,
        "refine_start_dilation": config.refine_start_dilation,
        "vae_batch": config.vae_batch,
        "coalign": replace(base.coalign, num_iterations=config.coalign_iterations),
    }
    for name in ("resolution", "dilations", "cap_dilation", "refine_step"):
        if getattr(config, name) is not None:
            overrides[name] = getattr(config, name)
    return replace(base, **overrides)


def snippet_count(num_frames: int, snippet_len: int, dilation: int) -> int:
    """Stride-1 snippets of one dilation on ``num_frames`` frames."""
    return max(0, num_frames - (snippet_len - 1) * dilation)


def snippet_plan(num_frames: int, settings: RollingDepthSettings) -> tuple[list[int], list[int], int]:
    """The dilations, snippet lengths and refinement start dilation that run on ``num_frames`` frames (capped
    as configured; clips shorter than a snippet get one snippet of every frame)."""
    lengths = list(settings.snippet_lengths) * (len(settings.dilations) if len(settings.snippet_lengths) == 1 else 1)
    lengths = [min(n, num_frames) for n in lengths]
    dilations = list(settings.dilations)
    start = settings.refine_start_dilation
    if settings.cap_dilation:
        dilations = [cap_dilation(num_frames, n, d) for n, d in zip(lengths, dilations)]
        start = cap_dilation(num_frames, settings.refine_snippet_len, start)
    for n, d in zip(lengths, dilations):
        if (n - 1) * d >= num_frames:
            raise InputError(
                f"dilation {d} does not fit {num_frames} frames with {n}-frame snippets",
                "enable cap_dilation or use smaller dilations",
            )
    return dilations, lengths, start


def unet_calls(num_frames: int, settings: RollingDepthSettings) -> int:
    """UNet forward passes of one run (without running it): one per snippet per step."""
    dilations, lengths, start = snippet_plan(num_frames, settings)
    calls = sum(snippet_count(num_frames, n, d) for n, d in zip(lengths, dilations)) * settings.init_steps
    steps = settings.refine_step
    for step in range(steps):
        calls += len(refine_snippets(num_frames, settings.refine_snippet_len, step, steps, start))
    return calls
