"""Colour-mapped depth previews (mp4), normalised over the WHOLE video, and side-by-side RGB | depth videos.

Near is bright in every preview: disparity is shown as is, depth as its inverse (1/depth). One value range — robust
percentiles over a subsample of frames and pixels — is used for all frames, so brightness changes in the preview
are changes in the depth, not in the normalisation. Frames are coloured and encoded one at a time (memmaps are
fine as input).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.io.video import iter_indexed_frames, write_video
from stereodiff.types import DepthVideo

__all__ = [
    "colorize",
    "colormap_lut",
    "display_values",
    "playback_fps",
    "robust_range",
    "write_depth_preview",
    "write_side_by_side",
]

_ALIASES = {"grey": "gray", "greys": "gray"}


def colormap_lut(name: str) -> np.ndarray:
    """``[256,3]`` uint8 RGB lookup table of a matplotlib colormap (``inferno``, ``turbo``, ``gray``/``grey``, ...)."""
    from matplotlib import colormaps

    key = _ALIASES.get(name.lower(), name)
    if key not in colormaps:
        raise InputError(
            f"unknown colormap {name!r}", "use a matplotlib colormap name such as inferno, turbo, viridis, grey"
        )
    rgba = colormaps[key](np.linspace(0.0, 1.0, 256))  # [256,4] float
    return np.round(rgba[:, :3] * 255).astype(np.uint8)


def display_values(frame: np.ndarray, quantity: str) -> np.ndarray:
    """``[H,W]`` float32 values where larger = nearer: disparity as is, depth inverted; NaN where invalid."""
    frame = np.asarray(frame, np.float32)
    if quantity == "depth":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(np.isfinite(frame) & (frame > 0), 1.0 / frame, np.nan).astype(np.float32)
    return np.where(np.isfinite(frame), frame, np.nan).astype(np.float32)


def robust_range(
    values: np.ndarray,
    quantity: str = "disparity",
    *,
    percentiles: tuple[float, float] = (1.0, 99.0),
    max_frames: int = 32,
    max_samples: int = 1_000_000,
) -> tuple[float, float]:
    """One display range for the whole video ``values`` ``[T,H,W]``.

    Takes ``percentiles`` of the display values (see ``display_values``) over up to ``max_frames`` evenly spaced
    frames, each subsampled on a regular pixel grid so that at most ``max_samples`` values are used in all.
    Returns ``(lo, hi)`` with ``hi > lo``.
    """
    t, h, w = values.shape
    picks = np.unique(np.linspace(0, t - 1, min(t, max_frames)).round().astype(int))
    step = max(1, int(np.ceil(np.sqrt(h * w * len(picks) / max_samples))))
    samples = [display_values(values[i], quantity)[::step, ::step].ravel() for i in picks]
    flat = np.concatenate(samples)
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(flat, percentiles))
    if hi <= lo:
        hi = lo + max(abs(lo) * 1e-6, 1e-12)
    return lo, hi


def colorize(frame: np.ndarray, lo: float, hi: float, lut: np.ndarray, quantity: str = "disparity") -> np.ndarray:
    """Colour one ``[H,W]`` depth/disparity frame with the fixed range ``[lo, hi]`` → ``[H,W,3]`` uint8 RGB.

    Invalid pixels (non-finite, or depth ≤ 0) are black.
    """
    shown = display_values(frame, quantity)
    valid = np.isfinite(shown)
    level = np.clip((np.where(valid, shown, lo) - lo) / (hi - lo), 0.0, 1.0)
    rgb = lut[np.rint(level * 255).astype(np.intp)]  # [H,W,3]
    rgb[~valid] = 0
    return rgb


def playback_fps(fps: float, frame_indices: np.ndarray) -> float:
    """Frame rate at which kept frames play at real speed: ``fps`` divided by the median source-frame step."""
    steps = np.diff(np.asarray(frame_indices))
    step = float(np.median(steps)) if steps.size else 1.0
    return fps / step if step >= 1 else fps


def _pick(video: DepthVideo, quantity: str | None) -> tuple[str, np.ndarray]:
    if quantity is None:
        quantity = "disparity" if video.disparity is not None else "depth"
    values = video.disparity if quantity == "disparity" else video.depth if quantity == "depth" else None
    if values is None:
        raise InputError(f"the depth video has no {quantity!r}", "choose --quantity depth or disparity")
    return quantity, values


#: threads that colour the preview's frames ahead of the encoder (in order; the same frames as one thread)
COLOUR_WORKERS = 2


def _colored(values: np.ndarray, quantity: str, colormap: str) -> Iterator[np.ndarray]:
    from stereodiff.io.pages import release
    from stereodiff.progress import thread_imap

    lut = colormap_lut(colormap)
    lo, hi = robust_range(values, quantity)
    for frame in thread_imap(
        lambda t: colorize(values[t], lo, hi, lut, quantity), range(values.shape[0]), COLOUR_WORKERS
    ):
        yield frame
        release(values)  # a memmapped video: only the frames being coloured stay resident


def write_depth_preview(
    path: str | Path,
    video: DepthVideo,
    *,
    colormap: str = "inferno",
    quantity: str | None = None,
    fps: float | None = None,
) -> Path:
    """Write a colour-mapped H.264 mp4 of ``video`` (disparity if present, else depth), one range for all frames.

    Args:
        quantity: ``"depth"`` or ``"disparity"``; default: disparity when present.
        fps: playback rate; default ``playback_fps(video.fps, video.frame_indices)``.
    """
    quantity, values = _pick(video, quantity)
    fps = fps or playback_fps(video.fps, video.frame_indices)
    return write_video(path, _colored(values, quantity, colormap), fps, total=values.shape[0])


def write_side_by_side(
    path: str | Path,
    video: DepthVideo,
    rgb: str | Path | np.ndarray,
    *,
    colormap: str = "inferno",
    quantity: str | None = None,
    fps: float | None = None,
) -> Path:
    """Write an mp4 with the RGB frame on the left and the coloured depth on the right.

    Args:
        rgb: the source video (any input ``read_video`` takes; the frames ``video.frame_indices`` are picked from
            it, streamed) or an array-like ``[T,H,W,3]`` uint8 (e.g. a FrameStore) already matching the depth
            frames. The depth is resized to the RGB frame size.
    """
    import cv2

    quantity, values = _pick(video, quantity)
    indices = np.asarray(video.frame_indices)
    if not isinstance(rgb, (str, Path)):  # an array or array-like (e.g. a FrameStore)
        if len(rgb.shape) != 4 or rgb.shape[0] != len(indices) or rgb.shape[3] != 3:
            raise ValueError(f"rgb must be [T,H,W,3] with T={len(indices)}, got {rgb.shape}")
        rgb_frames: Iterator[np.ndarray] = (rgb[t] for t in range(len(indices)))
    else:
        rgb_frames = _frames_at(rgb, indices)

    def frames() -> Iterator[np.ndarray]:
        for color, image in zip(_colored(values, quantity, colormap), rgb_frames):
            image = np.asarray(image, np.uint8)
            if color.shape[:2] != image.shape[:2]:
                color = cv2.resize(color, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
            yield np.concatenate([image, color], axis=1)  # [H,2W,3]

    fps = fps or playback_fps(video.fps, indices)
    return write_video(path, frames(), fps, total=len(indices))


def _frames_at(source: str | Path, indices: np.ndarray) -> Iterator[np.ndarray]:
    """Stream the frames of ``source`` at the (increasing) source ``indices``."""
    if indices.size > 1 and np.any(np.diff(indices) <= 0):
        raise InputError("the depth video's frame_indices are not increasing", "cannot match them to video frames")
    pairs = iter_indexed_frames(source, frames=slice(int(indices[0]), int(indices[-1]) + 1))
    wanted = iter(indices.tolist())
    target = next(wanted)
    found = 0
    for index, frame in pairs:
        if index == target:
            yield frame
            found += 1
            target = next(wanted, None)
            if target is None:
                return
    raise InputError(
        f"the depth video refers to frame {target} but {source} ends before it ({found} of {len(indices)} matched)",
        "pass the video the depth was computed from",
    )
