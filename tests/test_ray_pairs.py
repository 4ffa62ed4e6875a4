"""The geometric matcher's compact pairs: depth along rays + one pose per unordered pair (RayDepthPairs,
RayPairCache) give exactly the PairPredictions layout, on disk in a quarter of its bytes, and resume."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.stage1.cache import PairCache, RayPairCache
from stereodiff.stage1.epipolar import transform
from stereodiff.stage1.ray_pairs import RayDepthPairs, pair_edges

H, W = 6, 8
PAIRS = np.array([[0, 1], [1, 2], [0, 2], [1, 0], [2, 1], [2, 0]], np.int64)


def _rays() -> np.ndarray:
    v, u = np.mgrid[0:H, 0:W].astype(np.float32)
    return np.stack([(u - W / 2) / 9.0, (v - H / 2) / 9.0, np.ones_like(u)], axis=-1).astype(np.float32)


def _rotation(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _edges(rng: np.random.Generator, num: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(depth [2,h,w], conf [2,h,w], pose [3,4])`` per edge; the last edge failed (NaN pose, unit depth)."""
    edges = []
    for e in range(num):
        depth = rng.uniform(1.0, 5.0, (2, H, W)).astype(np.float32)
        conf = rng.uniform(1.0, 3.0, (2, H, W)).astype(np.float32)
        pose = np.hstack([_rotation(0.1 * (e + 1)), rng.normal(size=(3, 1))])
        edges.append((depth, conf, pose))
    edges[-1] = (np.ones((2, H, W), np.float32), np.ones((2, H, W), np.float32), np.full((3, 4), np.nan))
    return edges


def _expected(edges, rays: np.ndarray) -> dict[str, np.ndarray]:
    """The PairPredictions layout of ``edges``, written out directly."""
    out = {k: [] for k in ("pts_i", "pts_j", "conf_i", "conf_j")}
    index = {tuple(e): n for n, e in enumerate(pair_edges(PAIRS)[0].tolist())}
    for i, j in PAIRS.tolist():
        depth, conf, pose = edges[index[(min(i, j), max(i, j))]]
        own, other = (0, 1) if i < j else (1, 0)
        R, t = pose[:, :3], pose[:, 3]
        pts_other = rays * depth[other][..., None]
        if np.isfinite(pose).all():  # into camera i: b → a is (Rᵀ, −Rᵀt), a → b is (R, t)
            pts_other = transform(pts_other, R.T, -R.T @ t) if own == 0 else transform(pts_other, R, t)
        out["pts_i"].append(rays * depth[own][..., None])
        out["pts_j"].append(pts_other)
        out["conf_i"].append(conf[own])
        out["conf_j"].append(conf[other])
    return {k: np.stack(v).astype(np.float32) for k, v in out.items()}


def test_pair_edges_groups_both_directions():
    edges, edge, side = pair_edges(PAIRS)
    assert edges.tolist() == [[0, 1], [1, 2], [0, 2]]
    assert edge.tolist() == [0, 1, 2, 0, 1, 2] and side.tolist() == [0, 0, 0, 1, 1, 1]


def test_rows_are_the_pair_layout_bit_for_bit(rng):
    rays = _rays()
    edges = _edges(rng, 3)
    store = RayDepthPairs.empty(PAIRS, 3, rays)
    for e, (depth, conf, pose) in enumerate(edges):
        store.depth[e], store.conf[e], store.pose[e] = depth, conf, pose
    preds = store.predictions()
    expected = _expected(edges, rays)
    for name, value in expected.items():
        got = getattr(preds, name)
        assert got.shape == value.shape and got.dtype == np.float32
        assert np.asarray(got).tobytes() == value.tobytes(), name
    # indexing by pair then pixels / coordinate reads only those rows, with the same values
    np.testing.assert_array_equal(preds.pts_i[3, ::2, ::3, 2], expected["pts_i"][3, ::2, ::3, 2])
    np.testing.assert_array_equal(preds.pts_j[1:4], expected["pts_j"][1:4])
    np.testing.assert_array_equal(preds.conf_j[np.array([5, 0])], expected["conf_j"][[5, 0]])
    assert preds.pts_i[2:2].shape == (0, H, W, 3)
    np.testing.assert_array_equal(preds.pts_j[2], rays)  # a failed pair: unit depth, no pose (as the matcher)
    assert bool(np.all(preds.conf_i >= 1))  # operators and ufuncs see the whole array


def test_ray_cache_is_a_quarter_of_the_point_cache_and_resumes(tmp_path, rng):
    rays = _rays()
    edges = _edges(rng, 3)
    cache = RayPairCache.open(tmp_path / "rays", PAIRS, rays, 3, sync_every=1)
    assert cache.missing().tolist() == list(range(6))
    cache.write(0, *edges[0])
    assert sorted(cache.missing().tolist()) == [1, 2, 4, 5]  # both directions of edge (0, 1) are done
    with pytest.raises(InputError, match="incomplete"):
        cache.predictions()
    again = RayPairCache.open(tmp_path / "rays", PAIRS, rays, 3)  # resume: edge 0 kept
    assert sorted(again.missing().tolist()) == [1, 2, 4, 5]
    for e in (1, 2):
        again.write(e, *edges[e])
    preds = again.predictions()
    for name, value in _expected(edges, rays).items():
        assert np.asarray(getattr(preds, name)).tobytes() == value.tobytes(), name
    with pytest.raises(InputError, match="other pixel rays"):
        RayPairCache.open(tmp_path / "rays", PAIRS, rays * 1.01, 3)

    points = PairCache.open(tmp_path / "points", PAIRS, (H, W), 3)
    for k in range(len(PAIRS)):
        points.write(k, *(getattr(preds, n)[k] for n in ("pts_i", "pts_j", "conf_i", "conf_j")))
    points.predictions()

    def data_bytes(folder) -> int:
        files = [p for p in folder.glob("*.npy") if p.name not in ("done.npy", "rays.npy")]
        return sum(np.load(p, mmap_mode="r").nbytes for p in files)

    # per unordered pair: depth + conf of both views (4 float32 per pixel) + a pose, against 16 float32 per pixel
    assert data_bytes(tmp_path / "rays") == 3 * (4 * H * W * 4 + 12 * 8)
    assert data_bytes(tmp_path / "points") == 6 * 8 * H * W * 4
