"""Colour-guided weighted median of stage 1's log depth next to its holes (``fusion_edge_median``).

The matcher fattens the foreground: the covered pixels beside stage 1's holes (the occlusion bands along the
outlines) carry the occluder's depth a few pixels beyond its colour edge, too near in every frame, so no temporal
filter removes it. Each such pixel takes the weighted median of the log depth of the covered pixels in a square
window around it, weighted by their colour likeness (``exp(−‖ΔRGB‖ / σ)``): a background pixel's window holds
both sides, and the pixels of its own colour vote for their depth. Only the pixels within a reach of a hole (and,
optionally, of a log-depth step) are read, gathered as an ``[N, w²]`` array, so the cost is that of the band.
docs/geometric.md, "Colour-guided weighted median next to the holes".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stereodiff.io.pages import release
from stereodiff.masks import local_span, within
from stereodiff.progress import thread_map
from stereodiff.robust import weighted_median
from stereodiff.types import SceneGeometry

__all__ = ["EdgeMedian", "edge_median", "edge_median_frame"]


@dataclass(frozen=True)
class EdgeMedian:
    """Settings of :func:`edge_median` (the ``fusion_edge_median*`` fields of the geometric config).

    Attributes:
        reach_px: covered pixels within this distance (pixels of the working resolution) of a hole are replaced.
        half: half-width of the square window (pixels; ``2·half + 1`` on a side).
        colour_sigma: scale of the colour weight ``exp(−‖ΔRGB‖ / colour_sigma)`` (RGB in [0, 1]).
        step: also the covered pixels within ``reach_px`` of a log-depth step larger than this between 8-neighbours
            (0: the holes only).
        remove: a pixel whose own log depth differs from its weighted median by more than this is made a hole
            instead of replaced (0: always replaced).
        stride: the window's samples are taken every ``stride`` pixels from its corner (1: all ``(2·half + 1)²``;
            ``2·half`` a multiple of ``stride`` keeps them symmetric about the pixel).
        spread: only the pixels whose window's covered log depths span more than this are read (a window of one
            depth has its median within that span of the pixel's own: the cost is that of the steps' bands).
        confidence: the samples are weighted by stage 1's confidence too."""

    reach_px: float
    half: int = 8
    colour_sigma: float = 0.1
    step: float = 0.0
    remove: float = 0.0
    stride: int = 4
    spread: float = 0.1
    confidence: bool = False

    def targets(self, log_depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """``[h,w]`` bool covered pixels to replace: within ``reach_px`` of a hole of ``valid [h,w]`` (bool) or, with
        ``step``, of a log-depth step of ``log_depth [h,w]``; with ``spread``, only where the window spans a step."""
        near = within(~valid, self.reach_px) if not valid.all() else np.zeros_like(valid)
        if self.step > 0:
            near |= within(depth_steps(log_depth, valid, self.step), self.reach_px)
        near &= valid
        if self.spread > 0 and near.any():
            near &= _span(log_depth, valid, self.half) > self.spread
        return near

    def offsets(self) -> tuple[np.ndarray, np.ndarray]:
        """``([S], [S])`` int row and column offsets of the window's samples."""
        span = np.arange(-self.half, self.half + 1, self.stride)
        dy, dx = np.meshgrid(span, span, indexing="ij")
        return dy.ravel(), dx.ravel()


def depth_steps(log_depth: np.ndarray, valid: np.ndarray, step: float) -> np.ndarray:
    """``[h,w]`` bool covered pixels of ``valid [h,w]`` whose 3×3 covered neighbours' log depth (``[h,w]``) spans
    more than ``step``."""
    return valid & (_span(log_depth, valid, 1) > step)


def _span(log_depth: np.ndarray, valid: np.ndarray, half: int) -> np.ndarray:
    """``[h,w]`` float32 max − min of the covered (``valid [h,w]``) log depths (``[h,w]``) in the square of half-size
    ``half`` around each pixel (:func:`~stereodiff.masks.local_span`; negative where it holds none)."""
    high, low = local_span(valid, log_depth, half)
    return high - low


def edge_median_frame(
    log_depth: np.ndarray,
    valid: np.ndarray,
    rgb: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
    settings: EdgeMedian,
    confidence: np.ndarray | None = None,
) -> np.ndarray:
    """``[N]`` colour-weighted median of the covered log depths in the window around each pixel ``at`` (``([N],
    [N])`` rows, columns); ``log_depth [h,w]``, ``valid [h,w]`` bool (holes are no samples), ``rgb [h,w,3]`` float32
    in [0, 1]; ``confidence [h,w]`` (optional) multiplies the samples' weights. A pixel without a weighted sample
    keeps its own log depth."""
    half = settings.half
    width = valid.shape[1] + 2 * half
    pad = ((half, half), (half, half))
    values = np.pad(log_depth.astype(np.float32), pad).ravel()
    covered = np.pad(valid if confidence is None else np.where(valid, confidence, 0.0), pad).ravel()
    centre = (at[0] + half) * width + (at[1] + half)  # [N] flat index in the padded frame
    dy, dx = settings.offsets()
    index = centre[:, None] + (dy * width + dx)[None, :]  # [N,S]
    squared = np.zeros(index.shape, np.float32)
    for c in range(3):  # one plane at a time: ~8× cheaper than gathering [N,S,3] and a norm over the last axis
        plane = np.pad(rgb[..., c], pad).ravel()
        squared += np.square(plane[index] - plane[centre][:, None])
    weight = np.exp(np.sqrt(squared) / -settings.colour_sigma) * covered[index]
    median = weighted_median(values[index], weight)
    return np.where(weight.sum(axis=1) > 0, median, values[centre])


def edge_median(
    frames: Any,
    scene: SceneGeometry,
    settings: EdgeMedian,
    keep: np.ndarray | None = None,
    keep_given: bool = True,
    num_workers: int = 1,
) -> SceneGeometry:
    """``scene`` with the covered pixels next to its holes (:meth:`EdgeMedian.targets`) given the colour-weighted
    median of their window's log depth (:func:`edge_median_frame`), or made holes where that median disagrees with
    their own by more than ``settings.remove``; its arrays are changed in place, frame by frame. ``frames``:
    ``[T,H,W,3]`` uint8 RGB (any resolution; area-resized to the scene's). ``keep``: ``[T,h,w]`` bool pixels never
    changed (the movers step's moving pixels); ``keep_given``: nor are the pixels whose depth the movers step gave
    (``scene.movers_given``). Frames on ``num_workers`` threads (each frame's result is the same)."""
    from stereodiff.stage1.band_select import unit_rgb
    from stereodiff.stage1.fusion import kept_pixels

    h, w = scene.depth.shape[1:]

    def replace_frame(k: int) -> None:
        valid = np.asarray(scene.valid[k], bool)
        depth = np.asarray(scene.depth[k])
        log_depth = np.log(np.maximum(depth, 1e-12))
        target = settings.targets(log_depth, valid) & ~kept_pixels(scene, keep, k, keep_given)
        if target.any():
            at = np.nonzero(target)
            confidence = np.asarray(scene.confidence[k], np.float32) if settings.confidence else None
            median = edge_median_frame(log_depth, valid, unit_rgb(frames[k], (h, w)), at, settings, confidence)
            new = depth.copy()
            new[at] = np.exp(median)
            if settings.remove > 0:
                drop = np.zeros_like(valid)
                drop[at] = np.abs(median - log_depth[at]) > settings.remove
                scene.valid[k] = valid & ~drop
                scene.confidence[k] = np.where(drop, 0.0, scene.confidence[k])
                new[drop] = 0.0
            scene.depth[k] = new
        # a memory-mapped scene's pages of this frame, and of the kept pixels' masks (memory flat in T)
        release(scene.valid, scene.depth, scene.confidence, keep, scene.movers_given)

    thread_map(replace_frame, range(scene.depth.shape[0]), num_workers, "fusion: edge median")
    return scene
