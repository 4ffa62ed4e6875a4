"""Vectorised ray casting against analytic primitives: exact hit distances, no rasterisation.

Rays are cast from one pinhole camera (OpenCV axes: x right, y down, z forward; ``cam_to_world`` pose). The ray
of pixel ``(u, v)`` is ``d_cam = K^-1 [u, v, 1]``, whose camera z component is 1, so the ray parameter ``t`` of a
hit IS its depth (camera z) in metres. Rigid transforms preserve ``t``, so every primitive is intersected in its
own frame, where it is axis-aligned and centred (slab method for boxes, quadratics for spheres and cylinders).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from stereodiff.camera import pixel_grid as camera_pixel_grid
from stereodiff.synth.texture import Material

__all__ = [
    "NEAR_M",
    "Hits",
    "PlacedPrimitive",
    "Primitive",
    "cast_pixels",
    "pixel_grid",
    "pixel_rays",
    "surface_normals",
]

PrimitiveKind = Literal["plane", "box", "room", "sphere", "cylinder"]

#: hits closer than this (metres of camera z) are ignored
NEAR_M = 1e-3


@dataclass(frozen=True, eq=False)
class Primitive:
    """One analytic surface, described in its own frame.

    Attributes:
        kind: ``"plane"``: the plane z = 0, limited to ``|x| <= size[0]``, ``|y| <= size[1]`` (``np.inf`` for
            unbounded); ``"box"``: a solid box with half extents ``size``; ``"room"``: the inner faces of a box with
            half extents ``size`` (seen from inside); ``"sphere"``: radius ``size[0]``; ``"cylinder"``: capped,
            axis along y, radius ``size[0]``, half height ``size[1]``.
        size: ``(3,)`` metres, as above (unused entries 0).
        object_from_primitive: ``[4,4]`` placement of the primitive in its object's frame.
        material: the surface texture (evaluated at the hit point in THIS frame, so it moves with the surface).
    """

    kind: PrimitiveKind
    size: tuple[float, float, float]
    object_from_primitive: np.ndarray
    material: Material


@dataclass(frozen=True, eq=False)
class PlacedPrimitive:
    """A primitive at one instant: ``world_from_primitive [4,4]`` and the id of the object it belongs to."""

    primitive: Primitive
    world_from_primitive: np.ndarray
    object_id: int


@dataclass
class Hits:
    """Closest hits of N rays.

    Attributes:
        depth: ``[N]`` float64 camera z of the hit in metres (``np.inf`` where the ray hits nothing).
        index: ``[N]`` int64 index into the primitive list (-1 where the ray hits nothing).
    """

    depth: np.ndarray
    index: np.ndarray


def pixel_rays(K: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Camera-frame rays ``K^-1 [u, v, 1]`` of pixels ``uv [N,2]`` (column, row; pixel centres at integers).

    Returns ``[N,3]`` float64 with z = 1, so a hit at parameter t has depth t.
    """
    uv = np.asarray(uv, dtype=np.float64)
    rays = np.empty((uv.shape[0], 3))
    rays[:, 0] = (uv[:, 0] - K[0, 2] - K[0, 1] * (uv[:, 1] - K[1, 2]) / K[1, 1]) / K[0, 0]
    rays[:, 1] = (uv[:, 1] - K[1, 2]) / K[1, 1]
    rays[:, 2] = 1.0
    return rays


@functools.lru_cache(maxsize=8)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """``[H*W,2]`` float64 (u, v) of every pixel, row-major (cached, read-only): the ray caster's layout of
    :func:`stereodiff.camera.pixel_grid`."""
    uv = camera_pixel_grid(height, width).reshape(-1, 2).astype(np.float64)
    uv.flags.writeable = False
    return uv


@functools.lru_cache(maxsize=8)
def _grid_rays(grid: tuple[int, int], K_bytes: bytes) -> np.ndarray:
    """Cached camera rays ``[H*W,3]`` of the full pixel grid for one K (read-only)."""
    rays = pixel_rays(np.frombuffer(K_bytes, dtype=np.float64).reshape(3, 3), pixel_grid(*grid))
    rays.flags.writeable = False
    return rays


def _intersect(kind: PrimitiveKind, size: tuple[float, float, float], o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Ray parameters ``[N]`` of the first hit beyond NEAR_M (inf on a miss); origin ``o (3,)``, dirs ``d [N,3]``."""
    inf = np.inf
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "plane":
            t = -o[2] / d[:, 2]
            x = o[0] + t * d[:, 0]
            y = o[1] + t * d[:, 1]
            ok = (t > NEAR_M) & (np.abs(x) <= size[0]) & (np.abs(y) <= size[1])
            return np.where(ok, t, inf)
        if kind in ("box", "room"):
            t_near = np.full(d.shape[0], -inf)
            t_far = np.full(d.shape[0], inf)
            for axis in range(3):
                dk = d[:, axis]
                inv = 1.0 / np.where(dk == 0.0, 1e-300, dk)
                t_lo = (-size[axis] - o[axis]) * inv
                t_hi = (size[axis] - o[axis]) * inv
                np.maximum(t_near, np.minimum(t_lo, t_hi), out=t_near)
                np.minimum(t_far, np.maximum(t_lo, t_hi), out=t_far)
            # a room shows the inner face the ray leaves through; a solid box its entry face (or, seen from
            # inside, its inner faces)
            t = t_far if kind == "room" else np.where(t_near > NEAR_M, t_near, t_far)
            return np.where((t_far >= t_near) & (t > NEAR_M), t, inf)
        if kind == "sphere":
            r = size[0]
            a = np.einsum("ij,ij->i", d, d)
            b = d @ o
            c = float(o @ o) - r * r
            disc = b * b - a * c
            root = np.sqrt(np.maximum(disc, 0.0))
            t0 = (-b - root) / a
            t1 = (-b + root) / a
            t = np.where(t0 > NEAR_M, t0, t1)
            return np.where((disc >= 0) & (t > NEAR_M), t, inf)
        if kind == "cylinder":
            r, hh = size[0], size[1]
            dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
            a = dx * dx + dz * dz
            b = o[0] * dx + o[2] * dz
            c = o[0] * o[0] + o[2] * o[2] - r * r
            disc = b * b - a * c
            root = np.sqrt(np.maximum(disc, 0.0))
            best = np.full(d.shape[0], inf)
            for t_side in ((-b - root) / a, (-b + root) / a):
                y = o[1] + t_side * dy
                ok = (disc >= 0) & (a > 0) & (t_side > NEAR_M) & (np.abs(y) <= hh)
                best = np.where(ok & (t_side < best), t_side, best)
            for cap in (-hh, hh):
                t_cap = (cap - o[1]) / dy
                x = o[0] + t_cap * dx
                z = o[2] + t_cap * dz
                ok = (t_cap > NEAR_M) & (x * x + z * z <= r * r)
                best = np.where(ok & (t_cap < best), t_cap, best)
            return best
    raise ValueError(f"primitive kind must be one of plane, box, room, sphere, cylinder; got {kind!r}")


#: the 12 edges of a box whose corners are listed as (x, y, z) sign triples in binary order
_EDGES = np.array([(a, a | bit) for a in range(8) for bit in (1, 2, 4) if not a & bit])


def _pixel_rect(corners_cam: np.ndarray, K: np.ndarray) -> tuple[float, float, float, float] | None:
    """Pixel rectangle ``(u0, u1, v0, v1)`` holding the projection of the part of a box in front of the camera.

    ``corners_cam [8,3]``: the box corners in the camera frame (binary order). The box is clipped at z = NEAR_M
    (corners in front plus the points where edges cross that plane); None when nothing is in front.
    """
    z = corners_cam[:, 2]
    if z.max() <= NEAR_M:
        return None
    points = [corners_cam[z >= NEAR_M]]
    a, b = corners_cam[_EDGES[:, 0]], corners_cam[_EDGES[:, 1]]
    crossing = (a[:, 2] - NEAR_M) * (b[:, 2] - NEAR_M) < 0
    if crossing.any():
        a, b = a[crossing], b[crossing]
        w = (NEAR_M - a[:, 2]) / (b[:, 2] - a[:, 2])
        points.append(a + w[:, None] * (b - a))
    proj = np.concatenate(points) @ K.T
    u = proj[:, 0] / proj[:, 2]
    v = proj[:, 1] / proj[:, 2]
    return float(u.min()), float(u.max()), float(v.min()), float(v.max())


def _hull_points(primitive: Primitive) -> np.ndarray | None:
    """``[8,3]`` corners of a box around the primitive (its own frame), or None when unbounded."""
    sx, sy, sz = primitive.size
    if primitive.kind == "sphere":
        sy = sz = sx
    elif primitive.kind == "cylinder":
        sx, sy, sz = sx, sy, sx
    elif primitive.kind == "plane":
        if not (np.isfinite(sx) and np.isfinite(sy)):
            return None
        sz = 0.0
    return np.array([[x, y, z] for x in (-sx, sx) for y in (-sy, sy) for z in (-sz, sz)], dtype=np.float64)


def cast_pixels(
    placed: list[PlacedPrimitive],
    cam_to_world: np.ndarray,
    K: np.ndarray,
    uv: np.ndarray,
    grid: tuple[int, int] | None = None,
) -> tuple[Hits, np.ndarray]:
    """Cast the rays of pixels ``uv [N,2]`` (sub-pixel positions allowed) of one camera against primitives.

    Args:
        placed: the scene at one instant.
        cam_to_world: ``[4,4]`` camera pose (OpenCV axes).
        K: ``[3,3]`` intrinsics in pixels.
        uv: ``[N,2]`` pixel coordinates (column, row); pixel centres are at integers.
        grid: ``(H, W)`` when ``uv`` is the full pixel grid in row-major order (faster culling).

    Returns:
        the closest hits (depth = camera z, metres) and the world-frame ray directions ``[N,3]`` (camera z = 1).
    """
    rays_cam = (
        pixel_rays(K, uv) if grid is None else _grid_rays(grid, np.asarray(K, dtype=np.float64).tobytes())
    )  # [N,3]
    R = cam_to_world[:3, :3]
    centre = cam_to_world[:3, 3]
    rays_world = rays_cam @ np.ascontiguousarray(R.T)  # [N,3] (a strided R.T makes OpenBLAS thread the product)
    depth = np.full(len(uv), np.inf)
    index = np.full(len(uv), -1, dtype=np.int64)
    if grid is not None:  # 2-D views: a pixel rectangle is a slice
        H, W = grid
        rays_view, depth_view, index_view = rays_world.reshape(H, W, 3), depth.reshape(H, W), index.reshape(H, W)
    else:
        rays_view, depth_view, index_view = rays_world, depth, index
        u = np.asarray(uv[:, 0], dtype=np.float32)
        v = np.asarray(uv[:, 1], dtype=np.float32)
    world_to_cam = np.linalg.inv(cam_to_world)
    for i, item in enumerate(placed):
        pose = item.world_from_primitive
        # cull: only rays inside the pixel rectangle of the primitive's bounding box
        hull = _hull_points(item.primitive)
        cam_from_prim = world_to_cam @ pose
        rect = None if hull is None else _pixel_rect(hull @ cam_from_prim[:3, :3].T + cam_from_prim[:3, 3], K)
        if hull is not None and rect is None:
            continue
        key: tuple[slice, slice] | slice | np.ndarray = slice(None)
        if rect is not None and grid is not None:
            u0, v0 = max(int(np.ceil(rect[0])), 0), max(int(np.ceil(rect[2])), 0)
            u1, v1 = min(int(np.floor(rect[1])), W - 1), min(int(np.floor(rect[3])), H - 1)
            if u1 < u0 or v1 < v0:
                continue
            key = (slice(v0, v1 + 1), slice(u0, u1 + 1))
        elif rect is not None:
            key = np.flatnonzero((u >= rect[0]) & (u <= rect[1]) & (v >= rect[2]) & (v <= rect[3]))
            if key.size == 0:
                continue
        dirs = rays_view[key].reshape(-1, 3)
        # the rays in the primitive's frame: o' = R^T (c - p), d' = R^T d (t is unchanged)
        Rp = pose[:3, :3]
        o_local = Rp.T @ (centre - pose[:3, 3])
        t = _intersect(item.primitive.kind, item.primitive.size, o_local, dirs @ Rp)
        current = depth_view[key]  # a view for slices, a copy for index arrays
        t = t.reshape(current.shape)
        closer = t < current
        if isinstance(key, np.ndarray):
            depth_view[key[closer]] = t[closer]
            index_view[key[closer]] = i
        else:
            current[closer] = t[closer]
            index_view[key][closer] = i
    return Hits(depth=depth, index=index), rays_world


def surface_normals(kind: PrimitiveKind, size: tuple[float, float, float], p: np.ndarray) -> np.ndarray:
    """Outward unit normals ``[N,3]`` at points ``p [N,3]`` on a primitive's surface, in the primitive's frame."""
    n = np.zeros_like(p)
    if kind == "plane":
        n[:, 2] = 1.0
    elif kind in ("box", "room"):
        axis = np.argmax(np.abs(p) / np.asarray(size), axis=1)
        rows = np.arange(len(p))
        n[rows, axis] = np.sign(p[rows, axis])
    elif kind == "sphere":
        n = p / size[0]
    elif kind == "cylinder":
        radial = np.hypot(p[:, 0], p[:, 2])
        on_cap = np.abs(p[:, 1]) / size[1] > radial / size[0]
        n[:, 0] = np.where(on_cap, 0.0, p[:, 0] / np.maximum(radial, 1e-12))
        n[:, 2] = np.where(on_cap, 0.0, p[:, 2] / np.maximum(radial, 1e-12))
        n[:, 1] = np.where(on_cap, np.sign(p[:, 1]), 0.0)
    return n
