"""DepthCrafter video depth, as in the official inference (v1.0.1 defaults), on diffusers components.

Numbered steps follow DepthCrafter's ``DepthCrafterPipeline.__call__``: per-frame CLIP embeddings at the image
encoder's size, noise-augmented frame latents (posterior mode, unscaled), added time ids ``[7, 127, 0.02]``,
windows of 110 frames with 25 overlap whose overlapping frames start from the previous window's result (latent
sharing) and are cross-faded in latent space, chunked temporal decoding, RGB mean and a global min–max giving a
relative disparity in [0, 1]. Everything that depends on the video length is processed window by window: only one
window of latents is on the device, and decoded frames are written out as soon as they are final.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stereodiff.blocks import block_of, blocks_covering
from stereodiff.errors import InputError
from stereodiff.progress import progress
from stereodiff.stage2.windows import WindowStitcher, window_schedule

__all__ = ["DATASET_PRESETS", "BlockEncodings", "DepthCrafterOutput", "DepthCrafterPipeline", "processing_size"]

#: DepthCrafter's fixed processing sizes ``(height, width)`` per benchmark (``dataset_res_dict`` in v1.0.1).
DATASET_PRESETS: dict[str, tuple[int, int]] = {
    "sintel": (448, 1024),
    "scannet": (640, 832),
    "kitti": (384, 1280),
    "bonn": (512, 640),
    "nyuv2": (448, 640),
}
_PRESET_ALIASES = {"nyu": "nyuv2"}  # v1.0's key, still used by DepthCrafter's benchmark scripts

#: (fps, motion bucket id) DepthCrafter passes to ``_get_add_time_ids`` (fps as is, not SVD's fps - 1).
ADDED_TIME_IDS = (7.0, 127.0)


def processing_size(
    height: int, width: int, *, max_res: int = 1024, dataset: str = "open", multiple: int = 64
) -> tuple[int, int]:
    """DepthCrafter's processing resolution ``(h, w)`` for a ``height × width`` video.

    ``dataset="open"``: each side rounded to a multiple of ``multiple`` (64 for the real model); if the larger
    side then exceeds ``max_res``, the original size is scaled by ``max_res / max(height, width)`` and rounded
    again. A preset name (``sintel``, ``scannet``, ``kitti``, ``bonn``, ``nyuv2``; any case) returns its fixed size.
    """
    if dataset.lower() != "open":
        key = _PRESET_ALIASES.get(dataset.lower(), dataset.lower())
        if key not in DATASET_PRESETS:
            raise InputError(
                f"unknown DepthCrafter dataset preset {dataset!r}", f"use 'open' or one of {list(DATASET_PRESETS)}"
            )
        return DATASET_PRESETS[key]
    if height < 1 or width < 1 or max_res < multiple:
        raise ValueError(f"need height, width >= 1 and max_res >= {multiple}; got {height}x{width}, max_res={max_res}")
    h = max(round(height / multiple), 1) * multiple
    w = max(round(width / multiple), 1) * multiple
    if max(h, w) > max_res:
        scale = max_res / max(height, width)
        h = max(round(height * scale / multiple), 1) * multiple
        w = max(round(width * scale / multiple), 1) * multiple
    return h, w


@dataclass
class DepthCrafterOutput:
    """Result of :class:`DepthCrafterPipeline`.

    Attributes:
        disparity: ``[T,H,W]`` float32 relative disparity in [0, 1] (larger = nearer), min–max over the video.
        frames: ``[T,h,w,3]`` float32 raw decoded frames in [0, 1] at the processing size (``None`` if not kept).
    """

    disparity: np.ndarray
    frames: np.ndarray | None


def frames_to_tensor(video: Any, start: int, end: int, size: tuple[int, int], device: torch.device) -> torch.Tensor:
    """Frames ``[start, end)`` of an array-like video ``[T,H,W,3]`` (uint8, or float in [0, 1]) as ``[n,3,h,w]``.

    Values in [0, 1], float32, resized to ``size`` (bilinear, antialiased) when it differs from ``(H, W)``.
    """
    chunk = np.asarray(video[start:end])
    x = torch.from_numpy(np.ascontiguousarray(chunk)).to(device).permute(0, 3, 1, 2)
    x = x.float() / 255.0 if chunk.dtype == np.uint8 else x.float()
    if tuple(x.shape[-2:]) != tuple(size):
        x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
        x = x.clamp(0, 1)
    return x


class BlockEncodings:
    """Per-frame encodings (CLIP, VAE, ...) of the frames of successive windows, computed in fixed frame blocks.

    ``encode(first, last)`` returns a tuple of tensors ``[n,...]`` for the frames ``[first, last)`` of ONE block of
    :mod:`stereodiff.blocks` (``block`` frames aligned to frame 0, as DepthCrafter's ``encode_video`` chunks the
    whole video). So every frame is encoded in the same batch, whichever window asks for it first: a run resumed at
    any window computes exactly what the uninterrupted run computed. Frames shared by consecutive windows are
    encoded once; frames before the current window are dropped (memory: one window plus one block).
    """

    def __init__(self, encode: Callable[[int, int], tuple[torch.Tensor, ...]], block: int, total: int) -> None:
        self._encode, self.block, self.total = encode, block, total
        self.start, self.tensors = 0, ()  # encodings of frames [start, start + len) (start: window start)

    def window(self, start: int, end: int) -> tuple[torch.Tensor, ...]:
        """The encodings of frames ``[start, end)`` (``start`` non-decreasing between calls), as fresh tensors."""
        held = int(self.tensors[0].shape[0]) if self.tensors else 0
        if not self.tensors or not self.start <= start <= self.start + held:
            self.start, self.tensors, held = block_of(start, self.block, self.total).start, (), 0
        parts = [self._encode(b.start, b.stop) for b in blocks_covering(self.start + held, end, self.block, self.total)]
        if parts:
            self.tensors = tuple(torch.cat(group) for group in zip(*([self.tensors] if held else []), *parts))
        self.tensors = tuple(t[start - self.start :] for t in self.tensors)
        self.start = start
        # fresh (aligned) copies: the window's inputs never depend on where the held tensors happen to start
        return tuple(t[: end - start].clone() for t in self.tensors)


class DepthCrafterPipeline:
    """DepthCrafter: video → relative disparity, from the UNet, temporal VAE, CLIP image encoder and scheduler.

    Build it with :func:`stereodiff.stage2.depthcrafter.loading.load_depthcrafter`. Components keep their own
    dtype; the VAE encodes in float32 when its config says ``force_upcast``. With ``cpu_offload`` every component
    lives on the CPU and visits ``device`` only while it runs.
    """

    def __init__(
        self,
        unet: torch.nn.Module,
        vae: torch.nn.Module,
        image_encoder: torch.nn.Module,
        feature_extractor: Any,
        scheduler: Any,
        *,
        device: str | torch.device = "cpu",
        cpu_offload: bool = False,
    ) -> None:
        self.unet = unet.eval()
        self.vae = vae.eval()
        self.image_encoder = image_encoder.eval()
        self.feature_extractor = feature_extractor
        self.scheduler = scheduler
        self.device = torch.device(device)
        self.cpu_offload = cpu_offload
        home = torch.device("cpu") if cpu_offload else self.device
        for module in (self.unet, self.vae, self.image_encoder):
            module.to(home)

    # ----------------------------------------------------------------------------------------------- properties
    @property
    def dtype(self) -> torch.dtype:
        return self.unet.dtype

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def size_multiple(self) -> int:
        """Pixel sizes that map to latents the UNet down-samples without remainder (64 for DepthCrafter)."""
        return self.vae_scale_factor * 2 ** (len(self.unet.config.block_out_channels) - 1)

    @contextmanager
    def _on_device(self, module: torch.nn.Module) -> Iterator[torch.nn.Module]:
        if self.cpu_offload:
            module.to(self.device)
        try:
            yield module
        finally:
            if self.cpu_offload:
                module.to("cpu")

    # ------------------------------------------------------------------------------------------ building blocks
    def added_time_ids(self, noise_aug_strength: float) -> torch.Tensor:
        """``[1,3]`` = (fps 7, motion bucket 127, noise augmentation strength), checked against the UNet config."""
        ids = torch.tensor([[*ADDED_TIME_IDS, noise_aug_strength]], dtype=self.dtype, device=self.device)
        expected = self.unet.add_embedding.linear_1.in_features
        if self.unet.config.addition_time_embed_dim * ids.shape[1] != expected:
            raise ValueError(
                f"UNet expects {expected} added-time features, 3 ids give "
                f"{self.unet.config.addition_time_embed_dim * 3}: wrong UNet config"
            )
        return ids

    @torch.no_grad()
    def encode_clip(self, frames: torch.Tensor, chunk_size: int = 8) -> torch.Tensor:
        """Per-frame CLIP image embeddings ``[n,C]`` of frames ``[n,3,H,W]`` in [-1, 1].

        Resized (aspect ratio not kept) to the encoder's ``image_size`` with SVD's antialiased resize, mapped to
        [0, 1] and normalised with the feature extractor's mean/std, in chunks of ``chunk_size`` frames.
        """
        from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
            _resize_with_antialiasing,
        )

        size = self.image_encoder.config.image_size
        mean = torch.tensor(self.feature_extractor.image_mean, device=frames.device).view(1, 3, 1, 1)
        std = torch.tensor(self.feature_extractor.image_std, device=frames.device).view(1, 3, 1, 1)
        embeds = []
        with self._on_device(self.image_encoder) as encoder:
            for i in range(0, frames.shape[0], chunk_size):
                x = _resize_with_antialiasing(frames[i : i + chunk_size].float(), (size, size))  # [c,3,S,S]
                x = ((x + 1.0) / 2.0 - mean) / std
                x = x.to(self.device, encoder.dtype)
                embeds.append(encoder(x).image_embeds.to(self.device))  # [c,C]
        return torch.cat(embeds)

    @torch.no_grad()
    def encode_vae(self, images: torch.Tensor, chunk_size: int = 8) -> torch.Tensor:
        """Posterior modes ``[n,4,h,w]`` (unscaled) of images ``[n,3,H,W]`` in [-1, 1], in chunks.

        Runs in float32 when the VAE is half precision and its config sets ``force_upcast`` (as SVD's does).
        """
        vae = self.vae
        upcast = vae.dtype == torch.float16 and getattr(vae.config, "force_upcast", False)
        latents = []
        with self._on_device(vae):
            if upcast:
                vae.to(torch.float32)
            try:
                for i in range(0, images.shape[0], chunk_size):
                    chunk = images[i : i + chunk_size].to(self.device, vae.dtype)
                    latents.append(vae.encode(chunk).latent_dist.mode())
            finally:
                if upcast:
                    vae.to(torch.float16)
        return torch.cat(latents)

    @torch.no_grad()
    def decode_vae(self, latents: torch.Tensor, chunk_size: int = 8) -> torch.Tensor:
        """Frames ``[n,3,H,W]`` float32 in [0, 1] from scaled latents ``[n,4,h,w]``.

        Divides by the VAE scaling factor and runs the temporal decoder on chunks of ``chunk_size`` frames (its
        temporal convolution mixes frames within a chunk only), then maps ``x → clamp(x/2 + 1/2, 0, 1)``.
        """
        frames = []
        with self._on_device(self.vae) as vae:
            for i in range(0, latents.shape[0], chunk_size):
                chunk = latents[i : i + chunk_size].to(self.device, vae.dtype) / vae.config.scaling_factor
                decoded = vae.decode(chunk, num_frames=chunk.shape[0]).sample.float()
                frames.append((decoded * 0.5 + 0.5).clamp(0, 1))
        return torch.cat(frames)

    @torch.no_grad()
    def predict_velocity(
        self,
        noisy: torch.Tensor,
        timestep: torch.Tensor,
        frame_latents: torch.Tensor,
        embeddings: torch.Tensor,
        added_time_ids: torch.Tensor,
        guidance_scale: float = 1.0,
    ) -> torch.Tensor:
        """One UNet evaluation ``[1,n,4,h,w]`` on ``c_in``-scaled noisy latents ``[1,n,4,h,w]``.

        ``frame_latents [1,n,4,h,w]`` (unscaled) are concatenated after the noisy latents; ``embeddings
        [1,n,C]`` condition each frame. ``guidance_scale > 1`` adds DepthCrafter's classifier-free guidance: a
        second pass with zero frame latents and zero embeddings, ``u + w (c - u)``.
        """
        with self._on_device(self.unet) as unet:
            x = torch.cat([noisy, frame_latents.to(noisy.dtype)], dim=2)  # [1,n,8,h,w]
            out = unet(x, timestep, encoder_hidden_states=embeddings, added_time_ids=added_time_ids).sample
            if guidance_scale > 1.0:
                x_uncond = torch.cat([noisy, torch.zeros_like(noisy)], dim=2)
                uncond = unet(
                    x_uncond,
                    timestep,
                    encoder_hidden_states=torch.zeros_like(embeddings),
                    added_time_ids=added_time_ids,
                ).sample
                out = uncond + guidance_scale * (out - uncond)
        return out

    # --------------------------------------------------------------------------------------------- inference
    def check_inputs(self, video: Any, height: int, width: int, window_size: int, overlap: int) -> None:
        if not hasattr(video, "shape") or len(video.shape) != 4 or video.shape[-1] != 3:
            raise InputError(
                f"video must be an array [T,H,W,3], got {getattr(video, 'shape', type(video).__name__)}",
                "pass RGB frames, float in [0, 1] or uint8",
            )
        if video.shape[0] < 1:
            raise InputError("video has no frames", "pass at least one frame")
        factor = self.vae_scale_factor
        if height % factor or width % factor or height < factor or width < factor:
            raise InputError(
                f"height and width must be positive multiples of {factor}, got {height}x{width}",
                f"use processing_size() (multiples of {self.size_multiple})",
            )
        if window_size < 1 or not 0 <= overlap < window_size:
            raise InputError(
                f"need window_size >= 1 and 0 <= overlap < window_size, got {window_size}/{overlap}",
                "DepthCrafter uses 110/25",
            )

    @torch.no_grad()
    def __call__(
        self,
        video: Any,
        *,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 5,
        guidance_scale: float = 1.0,
        window_size: int = 110,
        overlap: int = 25,
        noise_aug_strength: float = 0.02,
        decode_chunk_size: int = 8,
        max_res: int = 1024,
        dataset: str = "open",
        generator: torch.Generator | None = None,
        latents: torch.Tensor | None = None,
        frame_noise: Any = None,
        output_frames: bool = True,
        out: np.ndarray | None = None,
    ) -> DepthCrafterOutput:
        """Estimate relative disparity for a video.

        Args:
            video: ``[T,H,W,3]`` RGB, float in [0, 1] or uint8 (array-like; read window by window).
            height, width: processing size (multiples of the VAE factor); default: :func:`processing_size` of the
                video with ``max_res``/``dataset``. Frames of another size are resized (bilinear).
            num_inference_steps: Euler steps per window (5 = DepthCrafter v1.0.1; v1.0 used 25).
            guidance_scale: > 1 enables classifier-free guidance (v1.0 used 1.2).
            window_size, overlap: sliding windows (a video of ≤ ``window_size`` frames is one window).
            noise_aug_strength: std of the noise added to the frames before VAE encoding.
            decode_chunk_size: frames per CLIP/VAE chunk (the temporal decoder mixes frames within a chunk).
            generator: random source for ``latents`` and ``frame_noise`` when they are not given.
            latents: ``[1,window,4,h,w]`` unit-variance initial noise of one window (scaled by the scheduler's
                ``init_noise_sigma``; rotated by ``overlap`` frames after every window, as DepthCrafter does).
            frame_noise: ``[T,3,h,w]`` noise-augmentation noise (array-like), for exact reproduction.
            output_frames: also return the raw decoded frames ``[T,h,w,3]``.
            out: optional ``[T,h,w]`` float32 array (e.g. a memmap) to write the disparity into.

        Returns:
            :class:`DepthCrafterOutput` at the processing size ``(h, w)``.
        """
        # 1. Check inputs, sizes and windows
        num_frames = int(video.shape[0])
        if height is None or width is None:
            height, width = processing_size(
                int(video.shape[1]), int(video.shape[2]), max_res=max_res, dataset=dataset, multiple=self.size_multiple
            )
        self.check_inputs(video, height, width, window_size, overlap)
        if num_frames <= window_size:
            window_size, overlap = num_frames, 0
        windows = window_schedule(num_frames, window_size, overlap)
        lat_h, lat_w = height // self.vae_scale_factor, width // self.vae_scale_factor
        device = self.device
        if frame_noise is not None and tuple(frame_noise.shape) != (num_frames, 3, height, width):
            raise InputError(
                f"frame_noise must have shape {(num_frames, 3, height, width)}, got {tuple(frame_noise.shape)}",
                "pass [T,3,h,w] noise at the processing size",
            )

        # 2. Timesteps, added time ids, initial noise of one window
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        added_time_ids = self.added_time_ids(noise_aug_strength)
        latent_channels = self.unet.config.in_channels // 2
        shape = (1, window_size, latent_channels, lat_h, lat_w)
        if latents is None:
            latents = torch.randn(shape, generator=generator, dtype=torch.float32).to(device, self.dtype)
        elif tuple(latents.shape) != shape:
            raise InputError(f"latents must have shape {shape}, got {tuple(latents.shape)}", "one window of noise")
        latents_init = latents.to(device, self.dtype) * self.scheduler.init_noise_sigma  # [1,window,4,h,w]

        disparity = out if out is not None else np.empty((num_frames, height, width), np.float32)
        frames_out = np.empty((num_frames, height, width, 3), np.float32) if output_frames else None
        stitcher = WindowStitcher(windows)
        undecoded_start, undecoded = 0, None  # final latents not decoded yet (chunks aligned to frame 0)

        def encode(first: int, last: int) -> tuple[torch.Tensor, torch.Tensor]:
            """CLIP embeddings ``[n,C]`` and noise-augmented frame latents ``[n,4,h,w]`` of one frame block."""
            frames = frames_to_tensor(video, first, last, (height, width), device) * 2.0 - 1.0  # [n,3,H,W]
            if frame_noise is not None:
                noise = torch.as_tensor(np.asarray(frame_noise[first:last])).to(device, frames.dtype)
            else:
                noise = torch.randn(frames.shape, generator=generator, dtype=torch.float32).to(device)
            emb = self.encode_clip(frames.to(self.dtype), decode_chunk_size)
            return emb, self.encode_vae(frames + noise_aug_strength * noise, decode_chunk_size)

        conditioning = BlockEncodings(encode, decode_chunk_size, num_frames)  # chunks of 8 from frame 0, as DC
        for k, (start, end) in enumerate(progress(windows, desc="DepthCrafter windows", unit="window")):
            # 3. Conditioning of the window (frames shared with the previous window are not encoded again)
            cond_emb, cond_lat = conditioning.window(start, end)

            # 4. Initial latents: the rotated noise; overlapping frames start from the previous result (sharing)
            self.scheduler.set_timesteps(num_inference_steps, device=device)
            x = latents_init[:, : end - start].clone()  # [1,n,4,h,w]
            latents_init = torch.roll(latents_init, shifts=overlap, dims=1)
            if k > 0 and overlap > 0:
                previous = stitcher.pending.to(device, x.dtype)[None]  # [1,overlap,4,h,w]
                sigma0 = self.scheduler.sigmas[0]
                x[:, :overlap] = previous + x[:, :overlap] / self.scheduler.init_noise_sigma * sigma0

            # 5. Denoising loop
            for t in timesteps:
                x_in = self.scheduler.scale_model_input(x, t)
                velocity = self.predict_velocity(
                    x_in, t, cond_lat[None], cond_emb[None], added_time_ids, guidance_scale
                )
                x = self.scheduler.step(velocity, t, x).prev_sample

            # 6. Stitch (latent cross-fade) and decode every complete chunk of final frames
            _, final = stitcher.add(k, x[0].cpu())
            undecoded = final if undecoded is None else torch.cat([undecoded, final])
            last = k == len(windows) - 1
            ready = undecoded.shape[0] if last else undecoded.shape[0] // decode_chunk_size * decode_chunk_size
            if ready:
                decoded = self.decode_vae(undecoded[:ready], decode_chunk_size)  # [m,3,H,W] in [0,1]
                self._write(decoded, undecoded_start, disparity, frames_out)
                undecoded, undecoded_start = undecoded[ready:], undecoded_start + ready

        # 7. Relative disparity: global min–max over the whole video
        normalize_minmax(disparity)
        return DepthCrafterOutput(disparity=disparity, frames=frames_out)

    def estimate(
        self, frames: Any, *, seed: int | None = None, out: np.ndarray | None = None, **kwargs: Any
    ) -> np.ndarray:
        """DepthCrafter disparity at the SOURCE resolution (the ``--stage2 depthcrafter-full`` baseline).

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB (array-like, may be a memmap).
            seed: seeds the initial noise and the noise augmentation (``None``: torch's global generator).
            out: optional ``[T,H,W]`` float32 array (e.g. a memmap) to write into.
            **kwargs: passed to :meth:`__call__` (steps, windows, ``max_res``, ``dataset``, seeds, ...).

        Returns:
            ``[T,H,W]`` float32 relative disparity: the processing-size result resized bilinearly, then min–max
            normalised over the video again (as the refiner does).
        """
        import cv2

        num_frames, height, width = (int(s) for s in frames.shape[:3])
        if out is not None and tuple(out.shape) != (num_frames, height, width):
            raise InputError(f"out must be [T,H,W] = {(num_frames, height, width)}, got {tuple(out.shape)}", "")
        if seed is not None:
            kwargs["generator"] = torch.Generator().manual_seed(seed)
        result = self(frames, output_frames=False, **kwargs).disparity
        target = out if out is not None else np.empty((num_frames, height, width), np.float32)
        for t in range(num_frames):
            target[t] = cv2.resize(result[t], (width, height), interpolation=cv2.INTER_LINEAR)
        return normalize_minmax(target)

    @staticmethod
    def _write(decoded: torch.Tensor, first: int, disparity: np.ndarray, frames: np.ndarray | None) -> None:
        """Write decoded frames ``[m,3,H,W]`` (RGB mean → disparity; raw frames if kept) from frame ``first``."""
        rgb = decoded.permute(0, 2, 3, 1).cpu().numpy()  # [m,H,W,3]
        disparity[first : first + rgb.shape[0]] = rgb.sum(-1) / 3
        if frames is not None:
            frames[first : first + rgb.shape[0]] = rgb


def normalize_minmax(values: np.ndarray, chunk: int = 16) -> np.ndarray:
    """Min–max normalise ``values [T,...]`` in place over the whole array, ``chunk`` frames at a time."""
    lo, hi = np.inf, -np.inf
    for i in range(0, values.shape[0], chunk):
        block = values[i : i + chunk]
        lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
    scale = hi - lo if hi > lo else 1.0
    for i in range(0, values.shape[0], chunk):
        values[i : i + chunk] = (values[i : i + chunk] - np.float32(lo)) / np.float32(scale)
    return values
