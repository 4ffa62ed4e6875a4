"""StereoDiff stage 2: one denoising step of DepthCrafter's UNet starting from the stage-1 depth.

Per the paper (§3.3, §4.1.1) and ``docs/reference/stage2-depthcrafter.md`` §5:

1. stage-1 depth → resized to the frame size (nearest) → disparity, normalised to [0, 1] ONCE over the whole
   video (min–max over valid, confident pixels; holes are filled from the nearest valid pixel first);
2. per window (110 frames, 25 overlap, no latent sharing): DepthCrafter's conditioning (per-frame CLIP, noise-
   augmented frame latents, ids ``[7, 127, 0.02]``); the disparity, replicated to RGB, is VAE-encoded and scaled,
   noised to ``σ_start = sigmas[T - t_start]`` with per-frame seeded noise (the same frame gets the same noise in
   every window) and denoised by ONE UNet call; the result is the clean estimate ``x̂0`` (default) or the literal
   Euler step to ``sigmas[T - t_end]``;
3. windows are stitched (by default ``stitching="latent"``: DepthCrafter's latent cross-fade; or affine/joint
   alignment of the decoded disparity), decoded in chunks, RGB-averaged, min–max normalised over the video and
   resized to the source size.

Device memory is one window; host memory is one window plus the ``[T,H,W]`` output (pass a memmap as ``out``).
With ``cache_dir`` each finished window's latents are saved and skipped when the run is resumed.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from stereodiff.errors import InputError
from stereodiff.io.files import stamped_folder
from stereodiff.io.pages import release
from stereodiff.progress import logger, progress
from stereodiff.stage2.configs import STITCHING
from stereodiff.stage2.depthcrafter.pipeline import (
    BlockEncodings,
    DepthCrafterPipeline,
    frames_to_tensor,
    normalize_minmax,
    processing_size,
)
from stereodiff.stage2.windows import WindowStitcher, stitch_windows, window_schedule

__all__ = ["STITCHING", "DepthCrafterRefiner", "normalized_disparity", "normalized_disparity_range"]


def _seeded_normal(shape: tuple[int, ...], seed: int, frame: int, stream: int) -> torch.Tensor:
    """``N(0, I)`` noise of one frame, fixed by ``(seed, frame, stream)`` whatever the windowing."""
    state = np.random.SeedSequence([seed, frame, stream]).generate_state(1, dtype=np.uint64)[0]
    generator = torch.Generator().manual_seed(int(state) & (2**63 - 1))
    return torch.randn(shape, generator=generator)


def normalized_disparity_range(depth: Any, confidence: Any, min_confidence: float = 0.0) -> tuple[float, float]:
    """``(min, max)`` of ``1/depth`` over pixels with finite depth > 0 and confidence > ``min_confidence``.

    ``depth``/``confidence`` are ``[T,h,w]`` array-likes read frame by frame. Raises :class:`InputError` when no
    pixel qualifies.
    """
    lo, hi = np.inf, -np.inf
    for t in range(depth.shape[0]):
        d = np.asarray(depth[t], np.float64)
        ok = np.isfinite(d) & (d > 0) & (np.asarray(confidence[t]) > min_confidence)
        if ok.any():
            disp = 1.0 / d[ok]
            lo, hi = min(lo, float(disp.min())), max(hi, float(disp.max()))
    if not np.isfinite(lo):
        raise InputError(
            f"stage-1 depth has no valid pixel with confidence > {min_confidence}",
            "check the stage-1 result or lower min_confidence",
        )
    return lo, hi


def _fill_holes(depth: np.ndarray) -> np.ndarray:
    """Depth ``[h,w]`` with invalid pixels (≤ 0 or non-finite) set to their nearest valid neighbour."""
    valid = np.isfinite(depth) & (depth > 0)
    if valid.all() or not valid.any():
        return depth
    from scipy.ndimage import distance_transform_edt

    _, (rows, cols) = distance_transform_edt(~valid, return_indices=True)
    return depth[rows, cols]


def normalized_disparity(depth: Any, start: int, end: int, size: tuple[int, int], lo: float, hi: float) -> np.ndarray:
    """Frames ``[start, end)`` of stage-1 depth → ``[n,H,W]`` float32 disparity in [0, 1] at ``size`` (H, W).

    Holes are filled from the nearest valid pixel, the depth resized (nearest), inverted and mapped by the video's
    range ``(lo, hi)`` (:func:`normalized_disparity_range`), clipped to [0, 1].
    """
    import cv2

    frames = []
    for t in range(start, end):
        d = _fill_holes(np.asarray(depth[t], np.float32))
        d = cv2.resize(d, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
        with np.errstate(divide="ignore"):
            disp = np.where(d > 0, 1.0 / np.maximum(d, 1e-30), lo)
        frames.append(np.clip((disp - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0).astype(np.float32))
    return np.stack(frames)


class DepthCrafterRefiner:
    """The StereoDiff stage-2 backend: one-step DepthCrafter refinement of stage-1 depth (returns disparity).

    Args:
        pipeline: a loaded :class:`DepthCrafterPipeline` (its models are shared, its scheduler config reused).
        num_inference_steps: ``T``, the number of steps of the schedule the step is taken from (paper: 4).
        t_start: the step starts at ``sigmas[T - t_start]`` (paper: t = 2).
        t_end: where the Euler step lands, ``sigmas[T - t_end]``; must be ``t_start - 1`` (paper: t = 1).
        timestep_spacing: ``"trailing"`` (the paper's "ZeroSNR"), ``"leading"`` or ``"linspace"``.
        use_karras_sigmas: Karras sigmas replace the spacing (then ``timestep_spacing`` changes nothing).
        output: ``"pred_x0"`` (the model's clean estimate; default) or ``"prev_sample"`` (literal Euler step).
        window, overlap: temporal windows (paper: 110 / 25; a shorter video is one window).
        stitching: ``"latent"`` (DepthCrafter's cross-fade of the latents) | ``"affine"`` | ``"joint"`` (scale and
            shift per window fitted on the decoded disparity, then cross-faded) | ``"none"`` (hard cut mid-overlap).
        noise_aug_strength: noise added to the frames before VAE encoding (DepthCrafter: 0.02).
        guidance_scale: > 1 enables DepthCrafter's classifier-free guidance (a second UNet pass).
        seed: seed of the per-frame noise.
        max_res, dataset: processing size rules of :func:`processing_size`.
        chunk_size: frames per CLIP / VAE chunk (fixed blocks aligned to frame 0: bit-identical resume).
        min_confidence: stage-1 pixels with confidence ≤ this do not enter the disparity normalisation.
    """

    output_kind: Literal["disparity"] = "disparity"

    def __init__(
        self,
        pipeline: DepthCrafterPipeline,
        *,
        num_inference_steps: int = 4,
        t_start: int = 2,
        t_end: int = 1,
        timestep_spacing: Literal["trailing", "leading", "linspace"] = "trailing",
        use_karras_sigmas: bool = False,
        output: Literal["pred_x0", "prev_sample"] = "pred_x0",
        window: int = 110,
        overlap: int = 25,
        stitching: str = "latent",
        noise_aug_strength: float = 0.02,
        guidance_scale: float = 1.0,
        seed: int = 0,
        max_res: int = 1024,
        dataset: str = "open",
        chunk_size: int = 8,
        min_confidence: float = 0.0,
    ) -> None:
        from diffusers import EulerDiscreteScheduler

        if not 1 <= t_start <= num_inference_steps:
            raise ValueError(f"t_start must be in 1..num_inference_steps ({num_inference_steps}), got {t_start}")
        if t_end != t_start - 1:
            raise ValueError(f"one Euler step needs t_end = t_start - 1 = {t_start - 1}, got {t_end}")
        if output not in ("pred_x0", "prev_sample"):
            raise ValueError(f"output must be 'pred_x0' or 'prev_sample', got {output!r}")
        if stitching not in STITCHING:
            raise ValueError(f"stitching must be one of {STITCHING}, got {stitching!r}")
        if timestep_spacing not in ("trailing", "leading", "linspace"):
            raise ValueError(f"timestep_spacing must be trailing, leading or linspace, got {timestep_spacing!r}")
        window_schedule(1, window, overlap)  # validates window/overlap
        self.pipeline = pipeline
        self.scheduler = EulerDiscreteScheduler.from_config(
            pipeline.scheduler.config, timestep_spacing=timestep_spacing, use_karras_sigmas=use_karras_sigmas
        )
        self.num_inference_steps, self.t_start, self.output = num_inference_steps, t_start, output
        self.window, self.overlap, self.stitching = window, overlap, stitching
        self.noise_aug_strength, self.guidance_scale, self.seed = noise_aug_strength, guidance_scale, seed
        self.max_res, self.dataset, self.chunk_size = max_res, dataset, chunk_size
        self.min_confidence = min_confidence
        self.scheduler.set_timesteps(num_inference_steps)
        self.step_index = num_inference_steps - t_start
        self.sigma_start = float(self.scheduler.sigmas[self.step_index])
        self.sigma_end = float(self.scheduler.sigmas[self.step_index + 1])

    # -------------------------------------------------------------------------------------------------- steps
    def _normalized_disparity(self, depth: Any, start: int, end: int, size: tuple[int, int], lo: float, hi: float):
        """Frames ``[start, end)`` of stage-1 depth → disparity in [0, 1] at ``size``, ``[n,3,H,W]`` in [-1, 1]."""
        x = torch.from_numpy(normalized_disparity(depth, start, end, size, lo, hi)).to(self.pipeline.device)[:, None]
        return x.expand(-1, 3, -1, -1) * 2.0 - 1.0

    @torch.no_grad()
    def _encode_inputs(
        self, frames: Any, depth: Any, start: int, end: int, size: tuple[int, int], lo: float, hi: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-frame UNet inputs of frames ``[start, end)``: CLIP ``[n,C]``, frame latents and noised depth latents.

        Called on one fixed block of ``chunk_size`` frames at a time (:class:`BlockEncodings`). Every frame's
        inputs depend on that frame and its block only (its noise is seeded by its index), so windows reuse the
        inputs of the frames they share and a resumed run recomputes them identically.
        """
        pipe, device = self.pipeline, self.pipeline.device
        # conditioning: per-frame CLIP and noise-augmented frame latents (DepthCrafter steps 1-4)
        rgb = frames_to_tensor(frames, start, end, size, device) * 2.0 - 1.0  # [n,3,H,W]
        aug = torch.stack([_seeded_normal(tuple(rgb.shape[1:]), self.seed, t, 0) for t in range(start, end)])
        embeddings = pipe.encode_clip(rgb.to(pipe.dtype), self.chunk_size)  # [n,C]
        frame_latents = pipe.encode_vae(rgb + self.noise_aug_strength * aug.to(device), self.chunk_size)
        # stage-1 disparity → scaled latent z0, noised to sigma_start
        disp = self._normalized_disparity(depth, start, end, size, lo, hi)  # [n,3,H,W]
        z0 = pipe.encode_vae(disp, self.chunk_size).float() * pipe.vae.config.scaling_factor  # [n,4,h,w]
        eps = torch.stack([_seeded_normal(tuple(z0.shape[1:]), self.seed, t, 1) for t in range(start, end)])
        return embeddings, frame_latents, z0 + self.sigma_start * eps.to(device)

    @torch.no_grad()
    def _denoise(self, embeddings: torch.Tensor, frame_latents: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
        """ONE UNet call and Euler step on a window's inputs; refined latents ``[n,4,h,w]`` float32 on the CPU."""
        pipe, scheduler = self.pipeline, self.scheduler
        scheduler.set_timesteps(self.num_inference_steps, device=pipe.device)
        scheduler.set_begin_index(self.step_index)
        timestep = scheduler.timesteps[self.step_index]
        z = noisy[None]  # [1,n,4,h,w]
        z_in = scheduler.scale_model_input(z, timestep).to(pipe.dtype)
        velocity = pipe.predict_velocity(
            z_in,
            timestep,
            frame_latents[None],
            embeddings[None],
            pipe.added_time_ids(self.noise_aug_strength),
            self.guidance_scale,
        )
        step = scheduler.step(velocity.float(), timestep, z)
        result = step.pred_original_sample if self.output == "pred_x0" else step.prev_sample
        return result[0].float().cpu()

    # ------------------------------------------------------------------------------------------------ refine
    def refine(
        self,
        frames: Any,
        depth: np.ndarray,
        confidence: np.ndarray,
        *,
        out: np.ndarray | None = None,
        cache_dir: Path | None = None,
    ) -> np.ndarray:
        """Refine stage-1 depth into relative disparity.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB at source resolution (array-like, may be a memmap).
            depth: ``[T,h,w]`` float32 stage-1 depth (0 = invalid) at stage-1 resolution.
            confidence: ``[T,h,w]`` float32 stage-1 confidence.
            out: optional ``[T,H,W]`` float32 array (e.g. a memmap) to write into.
            cache_dir: folder for finished windows (resume: windows found there are not recomputed).

        Returns:
            ``[T,H,W]`` float32 disparity in [0, 1] (min–max over the video), larger = nearer.
        """
        import cv2

        # 1. Check inputs, sizes, windows, and the one global disparity range
        if not hasattr(frames, "shape") or len(frames.shape) != 4 or frames.shape[-1] != 3:
            raise InputError(f"frames must be [T,H,W,3], got {getattr(frames, 'shape', None)}", "pass RGB frames")
        num_frames, height, width = (int(s) for s in frames.shape[:3])
        if len(depth.shape) != 3 or depth.shape[0] != num_frames or tuple(confidence.shape) != tuple(depth.shape):
            raise InputError(
                f"depth {tuple(depth.shape)} and confidence {tuple(confidence.shape)} must both be [T,h,w] "
                f"with T = {num_frames} frames",
                "pass the stage-1 depth and confidence of these frames",
            )
        if out is not None and tuple(out.shape) != (num_frames, height, width):
            raise InputError(f"out must be [T,H,W] = {(num_frames, height, width)}, got {tuple(out.shape)}", "")
        size = processing_size(
            height, width, max_res=self.max_res, dataset=self.dataset, multiple=self.pipeline.size_multiple
        )
        windows = window_schedule(num_frames, self.window, self.overlap)
        lo, hi = normalized_disparity_range(depth, confidence, self.min_confidence)
        result = out if out is not None else np.empty((num_frames, height, width), np.float32)
        store = self._open_cache(cache_dir, num_frames, size, windows)
        logger.info(
            "DepthCrafter refinement: %d frames at %dx%d, %d window(s), sigma %.4f -> %.4f (%s), stitch=%s",
            num_frames, *size, len(windows), self.sigma_start, self.sigma_end, self.output, self.stitching,
        )  # fmt: skip

        # UNet inputs, encoded in fixed blocks of chunk_size frames (the same batches whichever window resumes)
        inputs = BlockEncodings(
            lambda first, last: self._encode_inputs(frames, depth, first, last, size, lo, hi),
            self.chunk_size,
            num_frames,
        )

        def window_latents(k: int) -> torch.Tensor:
            path = store / f"window_{k:05d}.npy" if store is not None else None
            if path is not None and path.exists():
                return torch.from_numpy(np.load(path))
            latents = self._denoise(*inputs.window(*windows[k]))
            if path is not None:
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, latents.numpy())
                tmp.replace(path)
            return latents

        def write(decoded: torch.Tensor, first: int, target: Any) -> None:
            disp = (decoded.sum(1) / 3).cpu().numpy()  # [m,h,w] RGB mean, as DepthCrafter
            for i, frame in enumerate(disp):
                target[first + i] = cv2.resize(
                    frame, (target.shape[2], target.shape[1]), interpolation=cv2.INTER_LINEAR
                )

        # 2. Windows: one UNet call each; then stitch in latent space or in disparity space
        if self.stitching in ("latent", "none"):
            stitcher = WindowStitcher(windows, "crossfade" if self.stitching == "latent" else "none")
            pending_start, pending = 0, None
            for k in progress(range(len(windows)), desc="DepthCrafter refine", total=len(windows), unit="window"):
                _, final = stitcher.add(k, window_latents(k))
                pending = final if pending is None else torch.cat([pending, final])
                last = k == len(windows) - 1
                ready = pending.shape[0] if last else pending.shape[0] // self.chunk_size * self.chunk_size
                if ready:
                    write(self.pipeline.decode_vae(pending[:ready], self.chunk_size), pending_start, result)
                    pending, pending_start = pending[ready:], pending_start + ready
                release(result, frames, depth, confidence)  # memmapped arrays: only the window stays resident
        else:
            with tempfile.TemporaryDirectory(dir=store) as scratch:
                outputs = []
                for k in progress(range(len(windows)), desc="DepthCrafter refine", total=len(windows), unit="window"):
                    start, end = windows[k]
                    disp = np.lib.format.open_memmap(
                        Path(scratch) / f"disparity_{k:05d}.npy", "w+", np.float32, (end - start, *size)
                    )
                    write(self.pipeline.decode_vae(window_latents(k), self.chunk_size), 0, disp)
                    outputs.append(disp)
                stitched = np.lib.format.open_memmap(
                    Path(scratch) / "stitched.npy", "w+", np.float32, (num_frames, *size)
                )
                stitch_windows(outputs, windows, strategy=self.stitching, out=stitched)
                for t in range(num_frames):
                    result[t] = cv2.resize(stitched[t], (width, height), interpolation=cv2.INTER_LINEAR)
                del outputs, stitched

        # 3. Relative disparity over the whole video
        return normalize_minmax(result)

    def _open_cache(
        self, cache_dir: Path | None, num_frames: int, size: tuple[int, int], windows: list[tuple[int, int]]
    ) -> Path | None:
        """Create or reopen ``cache_dir``; refuse one written by a run with other settings."""
        if cache_dir is None:
            return None
        cache_dir = Path(cache_dir)
        meta = {
            "num_frames": num_frames,
            "size": list(size),
            "windows": [list(w) for w in windows],
            "sigma_start": self.sigma_start,
            "sigma_end": self.sigma_end,
            "output": self.output,
            "seed": self.seed,
            "noise_aug_strength": self.noise_aug_strength,
            "guidance_scale": self.guidance_scale,
        }
        what, fix = "DepthCrafter windows", "delete that folder or use another cache folder"
        stamped_folder(cache_dir, meta, name="depthcrafter_refine.json", what=what, fix=fix)
        return cache_dir
