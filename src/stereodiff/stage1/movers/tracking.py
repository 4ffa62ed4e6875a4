"""Temporal tracking of the movers' depth over frames (module docstring of :mod:`stereodiff.stage1.movers`, step
3): :func:`track_mover_depth` pools each region's depth with the overlapping regions of the neighbouring frames,
:func:`fill_missed_movers` gives it to frames where nothing of the mover was found."""

from __future__ import annotations

import numpy as np

__all__ = ["fill_missed_movers", "track_mover_depth"]


def track_mover_depth(
    depth: np.ndarray, moving: np.ndarray, handled: np.ndarray, frames: int, beyond: float
) -> np.ndarray:
    """Temporal tracking of each mover region's depth, in place: a region's depth becomes the median of the
    mover depths (``handled``) of the regions overlapping it within ``frames`` frames on each side (its own
    included) — one frame's ground contact is noisy (the ground plane's fit, the region's lowest pixels), a mover's
    depth changes smoothly. A region without a mover depth of its own gets the tracked one when such regions lie on
    both sides in time and stage 1 left it mostly a hole or put it beyond that depth by ``beyond`` (a car whose
    contact was not seen in this frame; a static surface flagged by the flow keeps its depth, as for the contact).
    A region is a connected part of ``moving``; two regions overlap when they are of about one size and their
    bounding boxes' intersection covers half of the smaller box.

    Args:
        depth: ``[n,h,w]`` depth, a handled region holding one value (changed in place).
        moving: ``[n,h,w]`` bool mover mask.
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the half-window (frames).
        beyond: relative margin (``MoverSettings.underground``).

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n = depth.shape[0]
    regions = []  # per frame: (labels, [(label, box and area, mover log-depth or nan, stage-1 depth or nan)])
    for k in range(n):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(moving[k].astype(np.uint8), connectivity=8)
        items = []
        for label in range(1, count):
            x, y, bw, bh = stats[label, :4]
            region = labels == label
            own = depth[k][region & handled[k]]
            seen = depth[k][region & (depth[k] > 0)]  # stage 1's own depth: nan when mostly a hole
            stage1 = float(np.median(seen)) if seen.size >= 0.5 * stats[label, cv2.CC_STAT_AREA] else np.nan
            box = (x, y, x + bw, y + bh, stats[label, cv2.CC_STAT_AREA])
            items.append((label, box, float(np.log(own[0])) if own.size else np.nan, stage1))
        regions.append((labels, items))
    given = np.zeros(moving.shape, bool)
    updates = []
    for k in range(n):
        for label, box, value, stage1 in regions[k][1]:
            times, values = ([k], [value]) if np.isfinite(value) else ([], [])
            for j in range(max(0, k - frames), min(n, k + frames + 1)):
                for _, other, other_value, _ in regions[j][1] if j != k else ():
                    if np.isfinite(other_value) and _boxes_overlap(box, other):
                        times.append(j)
                        values.append(other_value)
            if not times:
                continue
            tracked = float(np.exp(np.median(values)))
            between = min(times) < k < max(times) and not stage1 <= tracked * (1.0 + beyond)  # nan: a hole
            if np.isfinite(value) or between:
                updates.append((k, label, tracked))
    for k, label, value in updates:
        region = regions[k][0] == label
        depth[k][region] = value
        given[k] |= region
    return given


def fill_missed_movers(
    depth: np.ndarray, moving: np.ndarray, handled: np.ndarray, frames: int, beyond: float, shrink_px: int = 2
) -> np.ndarray:
    """Mover depth for frames where nothing of a mover was found, in place (``MoverSettings.track_missed``): a
    region given a mover depth (``handled``) in a frame at most ``frames`` away (the nearest first), shrunk by
    ``shrink_px`` (the mover moves a little in the image), gives that depth to its pixels that stage 1 left a hole
    or put beyond it by ``beyond`` in a frame where no handled pixel lies in it, when those are at least half of it
    (a car ahead triangulated far; a static surface there keeps its depth).

    Args:
        depth: ``[n,h,w]`` depth, a handled region holding one value (changed in place).
        moving: ``[n,h,w]`` bool mover mask.
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the farthest source frame (frames).
        beyond: relative margin (``MoverSettings.underground``).
        shrink_px: erosion of the source regions (pixels).

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n = depth.shape[0]
    given = np.zeros(moving.shape, bool)
    kernel = np.ones((2 * shrink_px + 1, 2 * shrink_px + 1), np.uint8)
    components: dict[int, tuple[int, np.ndarray]] = {}  # source frame: its shrunk handled regions
    for k in range(n):
        for distance in range(1, frames + 1):
            for j in (k - distance, k + distance):
                if not 0 <= j < n or not handled[j].any():
                    continue
                if j not in components:
                    shrunk = cv2.erode(handled[j].astype(np.uint8), kernel)
                    components[j] = cv2.connectedComponents(shrunk, connectivity=8)
                count, labels = components[j]
                for label in range(1, count):
                    region = labels == label
                    if (region & (handled[k] | given[k])).any():
                        continue  # found there, or given from a nearer frame
                    value = float(depth[j][region][0])
                    far = region & ((depth[k] <= 0) | (depth[k] > value * (1.0 + beyond)))
                    if far.sum() >= 0.5 * region.sum():
                        depth[k][far] = value
                        given[k] |= far
    return given


def _boxes_overlap(a: tuple, b: tuple) -> bool:
    """Regions (bounding box and area ``(x0, y0, x1, y1, area)``) of about one size (areas within a factor of 2)
    whose boxes' intersection covers at least half of the smaller box."""
    if max(a[4], b[4]) > 2 * min(a[4], b[4]):
        return False
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return False
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height >= 0.5 * smaller
