"""A near static surface put far by stage 1, checked against the earlier frames moved by the camera's pose.

A camera moving ahead sees a near static object (a parked car beside the road) grow and slide to the image side
before it leaves the picture; its flow then grows past what DIS follows (35–80 px per 3 frames at 2 m) and its
forward pairs look for it beyond the other frame's border, so every view of those frames matches it short and
triangulates it too far (driving s1 frames 57–63: the car's outer columns +0.9 … +1.7 in log; issue #20,
docs/geometric.md "A near car put far as it leaves the image side"). The earlier frames saw the same points nearer
the image centre, with small flows, at their right depth. :func:`recheck_far_from_earlier` moves each earlier
frame's static points into the frame by the poses (a z-buffered splat) and gives the frame's static pixels that lie
far beyond the earlier frames' median prediction, where that prediction is among the frame's near depths, the
predicted depth.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from stereodiff.camera import backproject_pixels, rigid_transform
from stereodiff.io.pages import new_array, release
from stereodiff.types import SceneGeometry

__all__ = ["EarlierRecheck", "recheck_far_from_earlier", "splat_depth"]


@dataclasses.dataclass(frozen=True)
class EarlierRecheck:
    """Settings of :func:`recheck_far_from_earlier` (``GeometricConfig.earlier_recheck*``).

    Attributes:
        margin: log-depth margin: a pixel farther than the prediction by more than this is rechecked (> 0).
        frames: how many earlier frames predict each frame (≥ 1).
        near: the prediction must be at most this quantile of the frame's covered depths (in (0, 1]).
    """

    margin: float
    frames: int
    near: float


def splat_depth(
    depth: np.ndarray, keep: np.ndarray, K_src: np.ndarray, K_dst: np.ndarray, src_to_dst: np.ndarray
) -> np.ndarray:
    """``[h,w]`` float64 depth of the points of ``depth [h,w]`` at the pixels ``keep [h,w]`` (bool) of a source
    camera (intrinsics ``K_src [3,3]``) seen from a destination camera (``K_dst``; ``src_to_dst [4,4]`` moves source
    camera points into it), the nearest point per pixel (a z-buffer); each point lands on the four pixels around
    its projection, so a surface that grows between the cameras leaves no gaps; ``inf`` where no point lands.

    The rotation is made contiguous before the ``[N,3]×[3,3]`` product: the same values bit for bit, but with the
    strided view ``src_to_dst[:3, :3].T`` OpenBLAS spreads the product over its threads from N ≈ 20,000 points on,
    ≈ 40× the CPU (docs/geometric.md "earlier_recheck at a seventh of its cost")."""
    h, w = depth.shape
    rows, cols = np.nonzero(keep)
    points = rigid_transform(backproject_pixels(depth, K_src, rows, cols), src_to_dst)  # [N,3]
    ahead = points[:, 2] > 0
    points = points[ahead]
    z = points[:, 2]
    u = points[:, 0] / z * K_dst[0, 0] + K_dst[0, 2]
    v = points[:, 1] / z * K_dst[1, 1] + K_dst[1, 2]
    out = np.full(h * w, np.inf)
    for col in (np.floor(u), np.ceil(u)):
        for row in (np.floor(v), np.ceil(v)):
            inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
            index = row[inside].astype(np.int64) * w + col[inside].astype(np.int64)
            np.minimum.at(out, index, z[inside])
    return out.reshape(h, w)


#: one earlier frame of :func:`_prediction`: its depth ``[h,w]`` as given, its static covered pixels ``[h,w]`` bool,
#: its intrinsics ``[3,3]`` and camera-to-world pose ``[4,4]``
Earlier = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _prediction(earlier: Iterable[Earlier], K: np.ndarray, world_to_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[h,w]`` median depth of a frame (intrinsics ``K [3,3]``, pose ``world_to_k [4,4]``) predicted by the
    ``earlier`` frames' static covered pixels (NaN where none lands) and ``[h,w]`` how many of them landed there."""
    splats = [splat_depth(depth, keep, K_s, K, world_to_k @ cam_to_world) for depth, keep, K_s, cam_to_world in earlier]
    ordered = np.sort(np.stack(splats), axis=0)  # [S,h,w], the inf (nothing landed) last
    count = np.sum(np.isfinite(ordered), axis=0)
    middle = np.take_along_axis(ordered, np.stack([(count - 1) // 2, count // 2]).clip(0), axis=0)
    median = np.where(count > 0, middle.mean(axis=0), np.nan)  # (np.nanmedian goes column by column: 10× slower)
    return median, count


def recheck_far_from_earlier(
    scene: SceneGeometry,
    flagged: Sequence[np.ndarray],
    settings: EarlierRecheck,
    out_dir: Path | None = None,
) -> tuple[SceneGeometry, int]:
    """The scene with each frame's static covered pixels that lie more than ``settings.margin`` (log) farther than
    the median of the earlier frames' prediction (:func:`splat_depth` of up to ``settings.frames`` earlier frames,
    at least two of them landing, one for frame 1), where that prediction is at most the ``settings.near`` quantile
    of the frame's covered depths, given the predicted depth; and how many pixels changed. Those pixels are opened
    by a 3×3 square: the near points' splat reaches one pixel beyond a near object's outline onto the background
    behind it, a line the opening removes, while the far-put part of a near object is a region.

    Every prediction comes from the earlier frames' depth as it was given (a value taken here never predicts
    another frame). ``flagged``: ``[T,h,w]`` bool masks (any array-like read one frame at a time) of the pixels a
    mover rule flagged, the static pixels being in none. Memory does not grow with ``T``: frame by frame, with a
    ring of the ``settings.frames`` earlier frames' given depth; the depth is a new array (a memmap
    ``out_dir/recheck_depth.npy`` when ``out_dir`` is given); confidence, validity and poses are the input's. For a
    camera moving ahead (the caller's gate)."""
    import cv2

    t = scene.num_frames
    depth = new_array(out_dir, "recheck_depth", scene.depth.shape, np.float32)
    K = scene.intrinsics()
    earlier: deque[Earlier] = deque(maxlen=settings.frames)
    changed = 0
    for k in range(t):
        given = np.array(scene.depth[k])
        static = ~np.logical_or.reduce([np.asarray(mask[k], bool) for mask in flagged], initial=False)
        own = given.astype(np.float32)
        covered = (own > 0) & static
        if k > 0 and covered.any():
            predicted, count = _prediction(earlier, K[k], np.linalg.inv(scene.cam_to_world[k]))
            near = np.quantile(own[own > 0], settings.near)
            check = covered & (count >= min(2, k)) & (predicted <= near)
            far = np.zeros_like(check)
            far[check] = np.log(own[check]) - np.log(predicted[check]) > settings.margin
            far = cv2.morphologyEx(far.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).view(bool)
            own[far] = predicted[far]
            changed += int(far.sum())
        depth[k] = own
        earlier.append((given, static & (given > 0), K[k], scene.cam_to_world[k]))
        release(depth, scene.depth, *flagged)
    return dataclasses.replace(scene, depth=depth), changed
