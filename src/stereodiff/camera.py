"""Image sizes, pixel grids and pinhole intrinsics across resolutions: the camera conventions of
docs/conventions.md in one place.

Pixel ``(u, v)`` = (column, row); integer ``(u, v)`` is the pixel's position (no +0.5 shift, as in DUSt3R). The
principal point defaults to ``(W/2, H/2)`` (:func:`default_principal_point`), and intrinsics change resolution by
scaling their first two rows (:func:`scale_intrinsics`), which maps ``(W/2, H/2)`` to ``(W'/2, H'/2)``: pixel
``(u, v)`` of an ``H × W`` image and position ``(u·W'/W, v·H'/H)`` of its ``H' × W'`` resize see the same ray.
Every stage, the alignment, the exports and the synthetic renderer use these helpers.
"""

from __future__ import annotations

import functools

import numpy as np

#: A video's camera moves along its view (a vehicle) when at least this share of its samples (stage 1's probe pairs'
#: epipoles, stage 2's poses 8 frames apart) say so: driving gives 1.0 on every seed, a hand-held walk that does so
#: now and then less (lady-running.mp4: 4 of 7 probe pairs, where ``forward_near`` put a near seated man behind the
#: runner; TUM 0.14). The gate of every rule for a camera moving ahead: ``forward_near``, the movers' knobs that
#: ``mover_settings`` turns on only then, and stage 2's ``hole_lean_bottom`` and ``hole_warp_ahead``.
AHEAD_SHARE = 0.75

__all__ = [
    "AHEAD_SHARE",
    "backproject",
    "backproject_pixels",
    "default_principal_point",
    "fit_long_side",
    "pinhole",
    "pixel_grid",
    "prior_focal",
    "rigid_transform",
    "rotate",
    "scale_intrinsics",
]


def fit_long_side(
    height: int, width: int, long_side: int, *, upscale: bool = True, minimum: int = 1
) -> tuple[int, int]:
    """``(h, w)`` of a ``height × width`` image resized so that its long side is ``long_side`` pixels (aspect kept,
    each side rounded and at least ``minimum``); with ``upscale=False`` a smaller image keeps its size."""
    longest = max(height, width)
    if not upscale:
        long_side = min(long_side, longest)
    return max(minimum, round(height * long_side / longest)), max(minimum, round(width * long_side / longest))


@functools.lru_cache(maxsize=8)
def pixel_grid(h: int, w: int) -> np.ndarray:
    """``[h,w,2]`` float32 pixel coordinates ``(u, v)`` (cached, read-only: copy before writing)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([u, v], axis=-1)
    grid.flags.writeable = False
    return grid


def prior_focal(size: tuple[int, int]) -> float:
    """Fallback focal in pixels for ``size=(h, w)``: a 60° field of view on the long side (DUSt3R's focal base)."""
    return max(size) / (2.0 * np.tan(np.radians(30.0)))


def default_principal_point(size: tuple[int, int]) -> tuple[float, float]:
    """``(cx, cy) = (w/2, h/2)`` in pixels: the principal point of an image of ``size=(h, w)`` when none is given."""
    h, w = size
    return w / 2, h / 2


def pinhole(focal: float, size: tuple[int, int]) -> np.ndarray:
    """``[3,3]`` float64 intrinsics with square pixels of ``focal`` pixels and the default principal point of an image
    of ``size=(h, w)``."""
    cx, cy = default_principal_point(size)
    return np.array([[focal, 0.0, cx], [0.0, focal, cy], [0.0, 0.0, 1.0]])


def scale_intrinsics(intrinsics: np.ndarray, from_size: tuple[int, int], to_size: tuple[int, int]) -> np.ndarray:
    """``[...,3,3]`` float64 intrinsics of an image of ``from_size=(H, W)`` resized to ``to_size=(H', W')``: row 0
    scaled by ``W'/W``, row 1 by ``H'/H`` (focal and principal point alike, so ``(W/2, H/2)`` → ``(W'/2, H'/2)``)."""
    k = np.array(intrinsics, np.float64)
    k[..., 0, :] *= to_size[1] / from_size[1]
    k[..., 1, :] *= to_size[0] / from_size[0]
    return k


def backproject(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``[h,w,3]`` float64 camera points (OpenCV axes) of a depth map ``[h,w]`` (camera z) with intrinsics ``K [3,3]``
    at its resolution: ``x = (u − cx) / fx · z``, ``y = (v − cy) / fy · z``."""
    h, w = depth.shape
    z = np.asarray(depth, dtype=np.float64)
    points = np.empty((h, w, 3), np.float64)
    np.multiply(((np.arange(w, dtype=np.float64) - K[0, 2]) / K[0, 0])[None, :], z, out=points[..., 0])
    np.multiply(((np.arange(h, dtype=np.float64) - K[1, 2]) / K[1, 1])[:, None], z, out=points[..., 1])
    points[..., 2] = z
    return points


def rotate(points: np.ndarray, M: np.ndarray) -> np.ndarray:
    """``points [...,3]`` times ``Mᵀ`` (``M [3,3]``, e.g. a rotation or an essential matrix): ``M·p`` for each point,
    float64.

    ``Mᵀ`` is made contiguous before the product: the same values bit for bit as ``points @ M.T``, whose transposed
    (or strided) view makes OpenBLAS spread an ``[N,3]×[3,3]`` product over its threads (≈ 1–15 ms of CPU for
    76,800 points against ≈ 0.1 ms) and numpy loop over the rows of an ``[h,w,3]`` block (≈ 0.32 against 0.12 ms at
    320×240; docs/geometric.md "earlier_recheck at a seventh of its cost" and "The cpu preset's transposed 3×3
    products"). A single point ``[3]`` takes ``points @ M.T`` itself: numpy's vector product (OpenBLAS's gemv) sums
    in another order for a contiguous ``Mᵀ`` on some processors' kernels (1 ulp on an AMD EPYC)."""
    if points.ndim == 1:
        return points @ M.T
    return points @ np.ascontiguousarray(M.T)


def rigid_transform(points: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``points [...,3]`` moved by the rigid (or similarity) transform ``T [4,4]`` (or ``[3,4]``): ``R·p + t``, float64
    (the rotation through :func:`rotate`: the same values bit for bit as ``points @ T[:3, :3].T + T[:3, 3]``).

    The translation is added a coordinate at a time: the same sums as ``+ T[:3, 3]``, whose broadcast over rows of
    three runs numpy's inner loop once per row (70,000 points: ≈ 2.5 vs 0.1 ms of CPU; docs/geometric.md
    "`earlier_recheck` at ≈ no wall time")."""
    moved = rotate(points, T[:3, :3])
    for axis in range(3):
        moved[..., axis] += T[axis, 3]
    return moved


def backproject_pixels(depth: np.ndarray, K: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``[N,3]`` float64 camera points of the pixels ``(cols, rows)`` (``[N]`` integers each) of a depth map
    ``[h,w]``: :func:`backproject` at those pixels only (the same values, bit for bit)."""
    z = np.asarray(depth[rows, cols], dtype=np.float64)
    x = (cols.astype(np.float64) - K[0, 2]) / K[0, 0] * z
    y = (rows.astype(np.float64) - K[1, 2]) / K[1, 1] * z
    return np.stack([x, y, z], axis=-1)
