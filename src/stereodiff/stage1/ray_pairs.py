"""The geometric matcher's pairs stored compactly: depth along known rays, one relative pose per unordered pair.

The matcher computes both directions of an unordered pair ``e = (a, b)`` (``a < b``) at once, and its pointmaps
are exact pinhole depth maps: a pixel's point in its own camera is its ray (``z = 1``, the same rays for every
frame) times its depth, and the other view's points in this camera are that view's own points moved by the pair's
relative pose. So one edge stores ``depth [2,h,w]`` and ``conf [2,h,w]`` (side 0 = frame ``a``, side 1 = frame ``b``)
and ``pose [3,4]`` (``[R | t]``, ``X_b = R X_a + t``; NaN for a failed pair, whose points are the rays at unit
depth in both cameras): 4 float32 per pixel and edge, where the ``PairPredictions`` layout of its two directed pairs
holds 16. :class:`RayDepthPairs` gives the usual :class:`~stereodiff.types.PairPredictions` whose arrays compute a
directed pair's rows when indexed (:class:`PairRows`), with the very operations the matcher used, so every value
is bit-identical to storing the points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from stereodiff.io.pages import release
from stereodiff.stage1.epipolar import transform
from stereodiff.types import PairPredictions

__all__ = ["PairRows", "RayDepthPairs", "pair_edges"]

_KINDS = ("pts_i", "pts_j", "conf_i", "conf_j")


def pair_edges(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unordered pairs (edges) of directed ``pairs [P,2]``, in order of first appearance.

    Returns:
        ``(edges [E,2] int64 with a < b, edge [P] int64 index of each pair's edge, side [P] int64: 0 when the
        pair's first frame is the edge's a, else 1)``.
    """
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    index: dict[tuple[int, int], int] = {}
    edge = np.empty(len(pairs), np.int64)
    for p, (i, j) in enumerate(pairs.tolist()):
        edge[p] = index.setdefault((min(i, j), max(i, j)), len(index))
    edges = np.array(list(index), dtype=np.int64).reshape(-1, 2)
    side = (pairs[:, 0] != edges[edge, 0]).astype(np.int64)
    return edges, edge, side


def other_to_own(pose: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """``(R, t)`` (float64) moving the other view's points into the camera of ``side`` of an edge with ``pose
    [3,4]`` (a → b): b → a is ``(Rᵀ, −Rᵀ t)``, a → b is ``(R, t)``."""
    R, t = pose[:, :3], pose[:, 3]
    return (R.T, -R.T @ t) if side == 0 else (R, t)


def view_points(rays: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """``[..., 3]`` points of pixels with rays ``[..., 3]`` (``z = 1``) at ``depth [...]``, in the rays' dtype."""
    return rays * depth[..., None]


@dataclass
class RayDepthPairs:
    """Pairs of the geometric matcher as depth along rays (module docstring); arrays in RAM or memmaps.

    Attributes:
        pairs: ``[P,2]`` int64 directed pairs.
        num_frames: ``T``.
        rays: ``[h,w,3]`` pixel rays (``z = 1``) shared by all frames.
        depth: ``[E,2,h,w]`` float32 depth of each edge's two frames, each in its own camera.
        conf: ``[E,2,h,w]`` float32 raw confidence.
        pose: ``[E,3,4]`` float64 ``[R | t]`` a → b of each edge, NaN where the pair failed.
    """

    pairs: np.ndarray
    num_frames: int
    rays: np.ndarray
    depth: np.ndarray
    conf: np.ndarray
    pose: np.ndarray

    def __post_init__(self) -> None:
        self.edges, self.edge, self.side = pair_edges(self.pairs)

    @classmethod
    def empty(cls, pairs: np.ndarray, num_frames: int, rays: np.ndarray) -> RayDepthPairs:
        """Arrays in RAM for ``pairs``, to be filled edge by edge."""
        num = len(pair_edges(pairs)[0])
        h, w = rays.shape[:2]
        depth, conf = (np.empty((num, 2, h, w), np.float32) for _ in range(2))
        return cls(np.asarray(pairs, np.int64), num_frames, rays, depth, conf, np.full((num, 3, 4), np.nan))

    def predictions(self) -> PairPredictions:
        """The directed pairs as :class:`PairPredictions` of :class:`PairRows` (computed when indexed)."""
        rows = {kind: PairRows(self, kind) for kind in _KINDS}
        return PairPredictions(pairs=self.pairs.copy(), num_frames=self.num_frames, **rows)

    def row(self, kind: str, p: int, pixels: tuple, component: tuple = ()) -> np.ndarray:
        """Row ``p`` of the directed pairs' ``kind`` array (``pts_i``, ``pts_j``, ``conf_i`` or ``conf_j``) at
        ``pixels`` (an index of the ``[h,w]`` grid), then ``component`` (an index of the point's last axis)."""
        e, side = int(self.edge[p]), int(self.side[p])
        own = side if kind.endswith("_i") else 1 - side
        if kind.startswith("conf"):
            value = np.array(self.conf[e, own][pixels])
            release(self.conf)
            return value
        depth = np.asarray(self.depth[e, own][pixels])
        release(self.depth)
        pose = self.pose[e]
        if kind == "pts_j" and np.isfinite(pose).all():  # a failed pair's other view stays at the identity
            points = transform(view_points(self.rays[pixels], depth), *other_to_own(pose, side))
            return points.astype(np.float32, copy=False)[(..., *component)]
        if component:  # one coordinate: the same products, only that coordinate's
            return (self.rays[pixels][(..., *component)] * depth).astype(np.float32, copy=False)
        return view_points(self.rays[pixels], depth).astype(np.float32, copy=False)


class PairRows(NDArrayOperatorsMixin):
    """A read-only ``[P,h,w,3]`` (``pts_*``) or ``[P,h,w]`` (``conf_*``) float32 array of :class:`RayDepthPairs`:
    indexing by pair (an integer, slice or index array first, then an optional index of the pixel grid and, for
    points, of the coordinate) computes just those rows; ``np.asarray``, operators and ufuncs compute all of them
    (as for an array in RAM: read long videos by pair)."""

    dtype = np.dtype(np.float32)

    def __init__(self, store: RayDepthPairs, kind: str) -> None:
        self.store, self.kind = store, kind
        h, w = store.rays.shape[:2]
        self.shape = (len(store.pairs), h, w, 3) if kind.startswith("pts") else (len(store.pairs), h, w)
        self.ndim = len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: object) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        rows = np.arange(self.shape[0])[key[0]]
        rest = key[1:]
        pixels, component = (rest[:2], rest[2:]) if self.ndim == 4 and len(rest) == 3 else (rest, ())
        if np.ndim(rows) == 0:
            return self.store.row(self.kind, int(rows), pixels, component)
        found = [self.store.row(self.kind, int(p), pixels, component) for p in rows]
        if found:
            return np.stack(found)
        return np.empty((0, *np.empty(self.shape[1:], np.float32)[(*pixels, *component)].shape), np.float32)

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        value = self[:]
        return value if dtype is None else value.astype(dtype)

    def copy(self) -> np.ndarray:
        """Every row, as a writable array in RAM."""
        return self[:]

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object, **kwargs: object) -> object:
        inputs = tuple(np.asarray(x) if isinstance(x, PairRows) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)
