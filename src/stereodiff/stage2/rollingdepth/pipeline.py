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

from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage2.rollingdepth.coalign import DepthCoAligner, snippet_frame_indices

__all__ = ["PRESETS", "RollingDepthOutput", "RollingDepthPipeline", "RollingDepthSettings", "cap_dilation"]

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
        self, rgb_latent: torch.Tensor, noise: torch.Tensor, indices: torch.Tensor, steps: int, batch: int
    ) -> torch.Tensor:
        """Denoise every snippet from the shared noise; returns decoded ``[S, L, h, w]``."""
        scheduler = self._scheduler(steps)
        latents = []
        for snippet in indices:
            latent = noise[snippet].clone()
            for t in scheduler.timesteps:
                v = self.denoise(rgb_latent[snippet], latent, t)
                latent = scheduler.step(v, t, latent).prev_sample
            latents.append(latent)
        decoded = self.decode(torch.cat(latents), batch)
        return decoded.reshape(len(indices), indices.shape[1], *decoded.shape[-2:])

    def refine(
        self, rgb_latent: torch.Tensor, depth_latent: torch.Tensor, noise: torch.Tensor, settings: RollingDepthSettings
    ) -> tuple[torch.Tensor, int]:
        """Noise the depth latents to the middle of a ``2·refine_step`` schedule and denoise them snippet-wise;
        returns the refined latents and the number of UNet calls."""
        steps = settings.refine_step
        scheduler = self._scheduler(2 * steps)
        timesteps = scheduler.timesteps[steps:]
        latent = scheduler.add_noise(depth_latent, noise, timesteps[:1])
        num_frames, calls = latent.shape[0], 0
        start = snippet_plan(num_frames, settings)[2]
        for step, t in enumerate(timesteps):
            indices = refine_snippets(num_frames, settings.refine_snippet_len, step, len(timesteps), start)
            total = torch.zeros_like(latent)
            count = torch.zeros(num_frames, 1, 1, 1, dtype=latent.dtype, device=latent.device)
            for snippet in indices:
                v = self.denoise(rgb_latent[snippet], latent[snippet], t)
                total[snippet] += scheduler.step(v, t, latent[snippet]).prev_sample
                count[snippet] += 1
                calls += 1
            latent = total / count
        return latent, calls

    # ------------------------------------------------------------------------------------------------ the run
    def _shared_noise(
        self, rgb_latent: torch.Tensor, generator: torch.Generator | None, noise: torch.Tensor | None
    ) -> torch.Tensor:
        """The one noise image of every frame (drawn, or ``noise`` checked): ``[T,4,h,w]`` (an expanded view)."""
        shape = (1, *rgb_latent.shape[1:])
        if noise is None:
            noise = torch.randn(shape, device=self.device, dtype=self.dtype, generator=generator)
        elif tuple(noise.shape) != shape:
            raise InputError(f"noise must have shape {shape}, got {tuple(noise.shape)}", "draw it at the latent size")
        return noise.to(self.device, self.dtype).expand(rgb_latent.shape[0], -1, -1, -1)

    @torch.no_grad()
    def refine_video(
        self,
        frames: Any,
        disparity: torch.Tensor,
        settings: RollingDepthSettings,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, int]:
        """RollingDepth's refinement of a given video of inverse depth (step 4 alone, in place of steps 2–3).

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB.
            disparity: ``[T,h,w]`` inverse depth in [0, 1] at the processing size of ``frames``.
            settings: ``resolution``, ``refine_step`` (≥ 1), ``refine_snippet_len``, ``refine_start_dilation``,
                ``cap_dilation`` and ``vae_batch`` are used.
            generator, noise: the shared noise, as in :meth:`__call__`.

        Returns:
            ``[T,h,w]`` refined inverse depth (decoder scale) and the number of UNet calls.
        """
        if settings.refine_step < 1:
            raise InputError("refining a given video needs refine_step ≥ 1", "set refine_step (RollingDepth: 10)")
        images = self.preprocess(frames, settings.resolution)
        if tuple(disparity.shape) != (images.shape[0], *images.shape[-2:]):
            raise InputError(
                f"disparity is {tuple(disparity.shape)}, the frames are processed at {tuple(images.shape[-2:])}",
                "resize the disparity to the processing size",
            )
        rgb_latent = self.encode(images, settings.vae_batch)
        noise = self._shared_noise(rgb_latent, generator, noise)
        video = (disparity.to(torch.float32) * 2.0 - 1.0)[:, None].expand(-1, 3, -1, -1)
        refined, calls = self.refine(rgb_latent, self.encode(video, settings.vae_batch), noise, settings)
        return self.decode(refined, settings.vae_batch).float().cpu(), calls

    @torch.no_grad()
    def __call__(
        self,
        frames: Any,
        settings: RollingDepthSettings | None = None,
        *,
        generator: torch.Generator | None = None,
        noise: torch.Tensor | None = None,
    ) -> RollingDepthOutput:
        """Inverse depth of a video.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB (array or FrameStore).
            settings: inference settings (default: the ``fast`` preset).
            generator: draws the shared noise ``[1,4,h/8,w/8]`` (as the official ``torch.randn(..., generator)``).
            noise: that noise given explicitly (official draws fed in), instead of ``generator``.
        """
        settings = settings or RollingDepthSettings()
        images = self.preprocess(frames, settings.resolution)
        num_frames = images.shape[0]
        dilations, lengths, _ = snippet_plan(num_frames, settings)
        rgb_latent = self.encode(images, settings.vae_batch)
        noise = self._shared_noise(rgb_latent, generator, noise)

        snippets, calls = [], 0
        for dilation, length in zip(dilations, lengths):
            indices = snippet_frame_indices(num_frames, length, dilation)
            logger.debug("rollingdepth: %d snippets of %d frames, dilation %d", len(indices), length, dilation)
            snippets.append(self.predict_snippets(rgb_latent, noise, indices, settings.init_steps, settings.vae_batch))
            calls += len(indices) * settings.init_steps
        coaligned = settings.coalign.run(snippets, dilations)
        coaligned = (coaligned - coaligned.min()) / (coaligned.max() - coaligned.min()) * 2.0 - 1.0
        depth = coaligned
        if settings.refine_step > 0:
            depth_latent = self.encode(coaligned[:, None].expand(-1, 3, -1, -1), settings.vae_batch)
            refined, refine_calls = self.refine(rgb_latent, depth_latent, noise, settings)
            depth = self.decode(refined, settings.vae_batch)
            calls += refine_calls
        return RollingDepthOutput(depth.float().cpu(), coaligned.float().cpu(), snippets, dilations, calls)


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
