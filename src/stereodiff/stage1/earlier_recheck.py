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

import numpy as np

from stereodiff.camera import backproject_pixels
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
    its projection, so a surface that grows between the cameras leaves no gaps; ``inf`` where no point lands."""
    h, w = depth.shape
    rows, cols = np.nonzero(keep)
    points = backproject_pixels(depth, K_src, rows, cols) @ src_to_dst[:3, :3].T + src_to_dst[:3, 3]  # [N,3]
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


def _prediction(scene: SceneGeometry, static: np.ndarray, k: int, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """``[h,w]`` median depth of frame ``k`` predicted by its up to ``frames`` earlier frames' static covered pixels
    (NaN where none lands) and ``[h,w]`` how many of them landed there."""
    K = scene.intrinsics()
    world_to_k = np.linalg.inv(scene.cam_to_world[k])
    splats = []
    for s in range(max(0, k - frames), k):
        depth = np.asarray(scene.depth[s])
        keep = static[s] & (depth > 0)
        splats.append(splat_depth(depth, keep, K[s], K[k], world_to_k @ scene.cam_to_world[s]))
    ordered = np.sort(np.stack(splats), axis=0)  # [S,h,w], the inf (nothing landed) last
    count = np.sum(np.isfinite(ordered), axis=0)
    middle = np.take_along_axis(ordered, np.stack([(count - 1) // 2, count // 2]).clip(0), axis=0)
    median = np.where(count > 0, middle.mean(axis=0), np.nan)  # (np.nanmedian goes column by column: 10× slower)
    return median, count


def recheck_far_from_earlier(
    scene: SceneGeometry, static: np.ndarray, settings: EarlierRecheck
) -> tuple[SceneGeometry, int]:
    """The scene with each frame's static covered pixels that lie more than ``settings.margin`` (log) farther than
    the median of the earlier frames' prediction (:func:`splat_depth` of up to ``settings.frames`` earlier frames,
    at least two of them landing, one for frame 1), where that prediction is at most the ``settings.near`` quantile
    of the frame's covered depths, given the predicted depth; and how many pixels changed. Those pixels are opened
    by a 3×3 square: the near points' splat reaches one pixel beyond a near object's outline onto the background
    behind it, a line the opening removes, while the far-put part of a near object is a region.

    Every prediction comes from the earlier frames' depth as it was given (a value taken here never predicts
    another frame). ``static [T,h,w]`` bool: the pixels no mover rule flagged. The depth is a
    new array; confidence, validity and poses are the input's. For a camera moving ahead (the caller's gate)."""
    import cv2

    depth = np.array(scene.depth, dtype=np.float32)
    changed = 0
    for k in range(1, scene.num_frames):
        own = depth[k]
        covered = (own > 0) & static[k]
        if not covered.any():
            continue
        predicted, count = _prediction(scene, static, k, settings.frames)
        near = np.quantile(own[own > 0], settings.near)
        check = covered & (count >= min(2, k)) & (predicted <= near)
        far = np.zeros_like(check)
        far[check] = np.log(own[check]) - np.log(predicted[check]) > settings.margin
        far = cv2.morphologyEx(far.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).view(bool)
        own[far] = predicted[far]
        changed += int(far.sum())
    return dataclasses.replace(scene, depth=depth), changed
