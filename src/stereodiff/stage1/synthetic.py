"""Exact (or noisy) pairwise pointmaps of a known scene: a ground truth for alignment tests and benchmarks.

Each frame has its own smooth ground-truth depth map, the pinhole intrinsics ``f, (w/2, h/2)`` and a camera pose on
a gentle path. The prediction of pair ``(i, j)`` is, exactly as a perfect DUSt3R-family network would give it up to
its arbitrary per-pair scale ``s_ij``: ``pts_i = s_ij · X_i`` (frame i's points in camera i) and ``pts_j = s_ij ·
(world→cam i)(world points of frame j)``. Optional noise multiplies every point by ``exp(σ·N(0, 1))`` (depth noise
along the rays of camera ``i``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stereodiff.camera import backproject, pinhole, pixel_grid, rigid_transform
from stereodiff.types import PairPredictions

__all__ = ["SyntheticPairs", "make_synthetic_pairs"]


@dataclass
class SyntheticPairs:
    """Predictions plus the ground truth they were made from.

    Attributes:
        preds: the pairwise predictions (memmaps of a ``PairCache`` when a folder was given).
        depth: ``[T,h,w]`` float64 ground-truth depth.
        focal: the focal length in pixels; the principal point is ``(w/2, h/2)``.
        cam_to_world: ``[T,4,4]`` float64 ground-truth poses.
        pair_scales: ``[P]`` the scale of each pair's prediction.
    """

    preds: PairPredictions
    depth: np.ndarray
    focal: float
    cam_to_world: np.ndarray
    pair_scales: np.ndarray


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def make_synthetic_pairs(
    num_frames: int,
    height: int,
    width: int,
    pairs: np.ndarray,
    *,
    seed: int = 0,
    noise: float = 0.0,
    focal: float | None = None,
    cache_dir: Path | None = None,
) -> SyntheticPairs:
    """Pairwise pointmaps of a random smooth scene (see the module docstring).

    Args:
        num_frames: ``T``.
        height, width: ``(h, w)`` of the pointmaps.
        pairs: ``[P,2]`` directed pairs (e.g. from ``make_pairs``).
        seed: seed of the scene, the pair scales, the confidences and the noise.
        noise: σ of the multiplicative log-normal point noise (0 = exact).
        focal: focal length in pixels (default ``0.8·max(h, w)``).
        cache_dir: write the pairs to a ``PairCache`` there (one pair at a time, bounded RAM) and return memmaps.

    Returns:
        A :class:`SyntheticPairs`; confidences are uniform in [1, 5] per pixel.
    """
    from stereodiff.stage1.cache import PairCache

    rng = np.random.default_rng(seed)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    focal = float(focal if focal is not None else 0.8 * max(height, width))
    grid = pixel_grid(height, width).astype(np.float64)
    u, v = grid[..., 0], grid[..., 1]
    rays = backproject(np.ones((height, width)), pinhole(focal, (height, width)))  # [h,w,3], z = 1
    # per-frame smooth depth: a tilted plane plus two bumps, in [~2, ~6]
    params = rng.uniform(-1, 1, size=(num_frames, 6))
    un, vn = u / width - 0.5, v / height - 0.5
    bump = (un - 0.3 * params[:, 4, None, None]) ** 2 + (vn - 0.3 * params[:, 5, None, None]) ** 2
    depth = (
        4.0
        + params[:, 0, None, None] * un
        + params[:, 1, None, None] * vn
        + 0.8 * np.sin(4 * un + 3 * params[:, 2, None, None]) * np.cos(3 * vn + 3 * params[:, 3, None, None])
        + 0.5 * np.exp(-bump / 0.02)
    )  # [T,h,w]
    step = np.arange(num_frames, dtype=np.float64)
    cam_to_world = np.tile(np.eye(4), (num_frames, 1, 1))
    wobble = rng.uniform(0, 2 * np.pi, size=3)
    for t in range(num_frames):
        cam_to_world[t, :3, :3] = _rotation(0.15 * np.sin(0.3 * step[t] + wobble[0]), 0.05 * np.sin(0.2 * step[t]),
                                            0.03 * np.sin(0.25 * step[t] + wobble[1]))  # fmt: skip
        cam_to_world[t, :3, 3] = [0.1 * step[t], 0.05 * np.sin(0.4 * step[t] + wobble[2]), 0.03 * step[t]]
    pair_scales = np.exp(rng.uniform(np.log(0.2), np.log(5.0), size=len(pairs)))
    size = (height, width)

    def world_points(t: int) -> np.ndarray:
        cam = rays * depth[t][..., None]
        return rigid_transform(cam, cam_to_world[t])

    def predict(p: int) -> tuple[np.ndarray, ...]:
        i, j = pairs[p]
        world_to_cam = np.linalg.inv(cam_to_world[i])
        pts = []
        for t in (i, j):
            cam = rigid_transform(world_points(t), world_to_cam)
            if noise:
                cam = cam * np.exp(noise * rng.standard_normal((*size, 1)))
            pts.append((pair_scales[p] * cam).astype(np.float32))
        conf = rng.uniform(1, 5, size=(2, *size)).astype(np.float32)
        return pts[0], pts[1], conf[0], conf[1]

    if cache_dir is not None:
        cache = PairCache.open(Path(cache_dir), pairs, size, num_frames)
        for p in cache.missing():
            cache.write(int(p), *predict(int(p)))
        preds = cache.predictions()
    else:
        empty = [np.zeros((0, *size, 3), np.float32)] * 2 + [np.zeros((0, *size), np.float32)] * 2
        rows = [predict(p) for p in range(len(pairs))]
        arrays = [np.stack([r[k] for r in rows]) if rows else empty[k] for k in range(4)]
        preds = PairPredictions(pairs, *arrays, num_frames=num_frames)
    return SyntheticPairs(preds, depth, focal, cam_to_world, pair_scales)
