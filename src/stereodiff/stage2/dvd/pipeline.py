"""DVD inference (Zhang et al., 2026): a Wan2.1 video DiT with a LoRA, used as a one-pass depth regressor.

Follows the official inference (EnVision-Research/DVD, ``test_script/test_single_video.py`` with
``infer_bash/openworld.sh``; its ``WanVideoPipeline`` in regression mode):

1. frames scaled to [0, 1], resized (bilinear, no antialiasing) so they cover ``height × width`` (480 × 640),
   each side rounded up to a multiple of 16;
2. windows of ``window`` (81) frames overlapping by ``overlap`` (21); the last one ends at the last frame;
3. per window: frames padded to ``4n + 1`` with copies of the last one, mapped to [-1, 1], encoded by the Wan VAE
   (posterior mean, normalised by the latent mean/std), ONE DiT pass at timestep ``1000 · denoise_step`` (500)
   with a zero text embedding ``[1, 512, 4096]`` (the official code feeds zeros in place of the T5 encoding), the
   DiT output taken as the depth latent, decoded, clamped to [-1, 1] and mapped to [0, 1]: a 3-channel
   affine-invariant disparity video, padded frames dropped;
4. stitching: each window gets the least-squares scale and shift mapping its first frames onto the overlapping
   frames already stitched (scale clipped to [0.7, 1.5]), negative values set to 0, then a linear cross-fade over
   the overlap; the result is resized back to the source size (bilinear).

Stitching streams: a frame is written out as soon as no later window overlaps it, so memory is bounded by one
window whatever the video length. The normal equations are summed in float64 (the official code sums float32
arrays with numpy; the difference is ~1e-7 relative).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from stereodiff.errors import InputError

__all__ = ["AffineStitcher", "DVDPipeline", "DVDSettings", "processing_size", "window_bounds"]

#: the text embedding the official inference feeds: zeros of T5-XXL's width, 512 tokens
TEXT_TOKENS, TEXT_DIM = 512, 4096


@dataclass(frozen=True)
class DVDSettings:
    """The official inference options (``infer_bash/openworld.sh``)."""

    height: int = 480
    """Minimum processing height (frames are resized to cover ``height × width``, keeping the aspect)."""
    width: int = 640
    """Minimum processing width."""
    window: int = 81
    """Frames per DiT pass."""
    overlap: int = 21
    """Frames shared by consecutive windows (affine fit and cross-fade)."""
    denoise_step: float = 0.5
    """The DiT's timestep is ``1000 · denoise_step`` (DVD is trained at 0.5)."""
    min_scale: float = 0.7
    """Lower clip of a window's stitching scale."""
    max_scale: float = 1.5
    """Upper clip of a window's stitching scale."""

    def __post_init__(self) -> None:
        if self.height < 16 or self.width < 16:
            raise ValueError("height and width must be ≥ 16")
        if self.window < 1 or not 0 <= self.overlap < self.window:
            raise ValueError("window must be ≥ 1 and 0 ≤ overlap < window")
        if not 0 < self.min_scale <= self.max_scale:
            raise ValueError("0 < min_scale ≤ max_scale")


def processing_size(height: int, width: int, min_height: int, min_width: int) -> tuple[int, int]:
    """The official resize: scale to cover ``min_height × min_width``, round each side up to a multiple of 16."""
    ratio = max(min_height / height, min_width / width)
    return tuple(-(-int(np.ceil(size * ratio)) // 16) * 16 for size in (height, width))  # type: ignore[return-value]


def window_bounds(num_frames: int, window: int, overlap: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each window: stride ``window - overlap``, the last window ends at ``num_frames`` (and
    starts ``window`` frames before it, so it may overlap its predecessor by more than ``overlap``)."""
    if num_frames <= window:
        return [(0, num_frames)]
    bounds = [(0, window)]
    start = window - overlap
    while start + window < num_frames:
        bounds.append((start, start + window))
        start += window - overlap
    bounds.append((max(0, num_frames - window), num_frames))
    return bounds


class AffineStitcher:
    """DVD's global affine coherence, streaming: push windows in order, get back the frames that are final.

    Holds at most one window of stitched frames.
    """

    def __init__(self, bounds: list[tuple[int, int]], min_scale: float = 0.7, max_scale: float = 1.5) -> None:
        self.bounds = bounds
        self.min_scale, self.max_scale = min_scale, max_scale
        self.index = 0
        self.tail: np.ndarray | None = None  # stitched frames from the next window's start to the last end
        self.scales: list[tuple[float, float]] = []  # (scale, shift) of every window fitted to its predecessor

    def fit(self, current: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
        """Least-squares ``scale, shift`` with ``scale·current + shift ≈ reference``; scale clipped."""
        c, r = current.astype(np.float64).ravel(), reference.astype(np.float64).ravel()
        a00, a01, a11, b0, b1 = c @ c, c.sum(), float(c.size), c @ r, r.sum()
        det = a00 * a11 - a01 * a01
        scale, shift = ((a11 * b0 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det) if det != 0 else (1.0, 0.0)
        return float(np.clip(scale, self.min_scale, self.max_scale)), float(shift)

    def push(self, depth: np.ndarray) -> tuple[int, np.ndarray]:
        """Add the next window's ``[n,H,W,C]`` prediction; returns ``(first frame index, final frames)``."""
        start, end = self.bounds[self.index]
        if depth.shape[0] != end - start:
            raise ValueError(f"window {self.index} has {depth.shape[0]} frames, expected {end - start}")
        overlap = 0 if self.tail is None else self.tail.shape[0]
        stitched = depth
        if overlap:  # the official code leaves a window without overlap as it is
            scale, shift = self.fit(depth[:overlap], self.tail)
            self.scales.append((scale, shift))
            aligned = depth * np.float32(scale) + np.float32(shift)
            aligned[aligned < 0] = 0
            alpha = np.linspace(0, 1, overlap, dtype=np.float32).reshape(overlap, *([1] * (depth.ndim - 1)))
            stitched = np.concatenate([(1 - alpha) * self.tail + alpha * aligned[:overlap], aligned[overlap:]])
        self.index += 1
        split = (self.bounds[self.index][0] if self.index < len(self.bounds) else end) - start
        self.tail = stitched[split:]
        return start, stitched[:split]


class WanSinusoid(torch.nn.Module):
    """Wan's timestep embedding: ``[cos, sin]`` of ``t · 10000^(-i / half)`` computed in float64 and rounded to the
    timestep's dtype, as the reference Wan code (and DVD's) does. diffusers' ``Timesteps`` computes it in float32,
    which at t = 500 moves the embedding by ~3e-5."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, timestep: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        exponent = torch.arange(half, dtype=torch.float64, device=timestep.device).div(half)
        angles = torch.outer(timestep.to(torch.float64), torch.pow(10000.0, -exponent))
        return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1).to(timestep.dtype)


class DVDPipeline:
    """Wan2.1 DiT (LoRA merged) + Wan VAE as DVD's single-pass depth regressor."""

    def __init__(self, transformer: Any, vae: Any, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        transformer.condition_embedder.timesteps_proj = WanSinusoid(transformer.config.freq_dim)
        self.transformer = transformer.to(self.device)
        self.vae = vae.to(self.device)
        self.dtype = next(self.transformer.parameters()).dtype
        config = self.vae.config
        self.latents_mean = torch.tensor(config.latents_mean, dtype=torch.float32).view(1, -1, 1, 1, 1)
        self.latents_inv_std = 1.0 / torch.tensor(config.latents_std, dtype=torch.float32).view(1, -1, 1, 1, 1)
        self.dit_calls = 0

    def preprocess(self, frames: Any, size: tuple[int, int]) -> torch.Tensor:
        """``[n,H,W,3]`` uint8 → ``[n,3,h,w]`` float32 in [0, 1] at the processing size (official resize)."""
        video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        if tuple(video.shape[-2:]) == size:
            return video
        return F.interpolate(video, size=size, mode="bilinear", align_corners=False)

    @torch.no_grad()
    def predict_window(self, video: torch.Tensor, denoise_step: float = 0.5) -> np.ndarray:
        """One window: ``[n,3,h,w]`` in [0, 1] (``h, w`` multiples of 16) → ``[n,h,w,3]`` float32 in [0, 1]."""
        count = video.shape[0]
        pad = (4 - count % 4 + 1) % 4
        if pad:
            video = torch.cat([video, video[-1:].expand(pad, -1, -1, -1)])
        x = (video.to(self.device, self.dtype) * 2 - 1).permute(1, 0, 2, 3)[None]  # [1,3,T,h,w]
        mean, inv_std = self.latents_mean.to(self.device, self.dtype), self.latents_inv_std.to(self.device, self.dtype)
        latent = (self.vae.encode(x).latent_dist.mode() - mean) * inv_std
        timestep = torch.tensor([1000.0 * denoise_step], device=self.device, dtype=self.dtype)
        context = torch.zeros(1, TEXT_TOKENS, TEXT_DIM, device=self.device, dtype=self.dtype)
        depth_latent = self.transformer(latent, timestep, context, return_dict=False)[0]
        self.dit_calls += 1
        decoded = self.vae.decode(depth_latent / inv_std + mean, return_dict=False)[0].clamp(-1, 1)
        depth = ((decoded[0].permute(1, 2, 3, 0).float().cpu().numpy() + 1.0) / 2.0).clip(0.0, 1.0)
        return depth[:count]

    def __call__(self, frames: Any, settings: DVDSettings | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Run DVD on a clip, yielding ``(first frame index, [n,H,W,3] float32)`` blocks of final frames at the
        source size, in order (3 channels as the official output; their mean is the disparity).

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB (array or FrameStore).
            settings: the inference options (default: the official ones).
        """
        settings = settings or DVDSettings()
        shape = tuple(frames.shape)
        if len(shape) != 4 or shape[3] != 3 or shape[0] < 1:
            raise InputError(f"frames must be [T,H,W,3] RGB, got shape {shape}", "pass an RGB video")
        num_frames, height, width = shape[:3]
        size = processing_size(height, width, settings.height, settings.width)
        bounds = window_bounds(num_frames, settings.window, settings.overlap)
        stitcher = AffineStitcher(bounds, settings.min_scale, settings.max_scale)
        for start, end in bounds:
            depth = self.predict_window(self.preprocess(frames[start:end], size), settings.denoise_step)
            first, done = stitcher.push(depth)
            if done.shape[0]:
                yield first, self.to_source_size(done, (height, width))

    @staticmethod
    def to_source_size(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """``[n,h,w,C]`` → ``[n,H,W,C]`` (bilinear, as the official ``resize_depth_back``)."""
        if tuple(depth.shape[1:3]) == size:
            return depth
        x = torch.from_numpy(np.ascontiguousarray(depth)).permute(0, 3, 1, 2)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False).permute(0, 2, 3, 1).numpy()
