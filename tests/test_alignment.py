import numpy as np
import pytest

from stereodiff.stage1.alignment import estimate_focal, global_alignment, umeyama
from stereodiff.stage1.pairs import make_pairs
from stereodiff.stage1.synthetic import make_synthetic_pairs
from stereodiff.types import PairPredictions


def _random_rotation(rng, n):
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], 1)  # fmt: skip


@pytest.mark.parametrize("estimate_scale", [True, False])
@pytest.mark.parametrize("robust", [False, True])
def test_umeyama_recovers_known_similarity(rng, estimate_scale, robust):
    rot = _random_rotation(rng, 4)
    scale = rng.uniform(0.3, 3, 4) if estimate_scale else np.ones(4)
    shift = rng.normal(size=(4, 3))
    src = rng.normal(size=(4, 50, 3))
    dst = scale[:, None, None] * np.einsum("brc,bnc->bnr", rot, src) + shift[:, None]
    weights = rng.uniform(0, 2, size=(4, 50))
    dst[:, :5] += 10 * (weights[:, :5, None] == 0)  # no effect: all weights are > 0 here
    sim = umeyama(src, dst, weights, estimate_scale=estimate_scale, robust_scale=robust)
    np.testing.assert_allclose(sim.scale, scale, rtol=1e-10)
    np.testing.assert_allclose(sim.rotation, rot, atol=1e-10)
    np.testing.assert_allclose(sim.translation, shift, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(sim.rotation), 1.0)


def test_umeyama_ignores_zero_weight_outliers_and_rejects_degenerate(rng):
    src = rng.normal(size=(30, 3))
    dst = 2.0 * src + 1.0
    dst[:4] = 100.0
    weights = np.ones(30)
    weights[:4] = 0
    sim = umeyama(src, dst, weights)
    assert abs(sim.scale[0] - 2.0) < 1e-10
    with pytest.raises(ValueError, match="weights sum to 0"):
        umeyama(src, dst, np.zeros(30))
    with pytest.raises(ValueError, match="coincide"):
        umeyama(np.ones((5, 3)), dst[:5])


def test_estimate_focal_exact_and_robust(rng):
    h, w, f = 20, 30, 27.0
    v, u = np.mgrid[0:h, 0:w]
    z = rng.uniform(1, 4, size=(h, w))
    pts = np.stack([(u - w / 2) / f * z, (v - h / 2) / f * z, z], -1)
    assert abs(estimate_focal(pts) - f) < 1e-9
    noisy = pts.copy()
    noisy[:1, :, 0] *= 5  # a row of wild outliers: the Weiszfeld L1 fit stays much closer than least squares
    assert abs(estimate_focal(noisy) - f) < 0.3 < abs(estimate_focal(noisy, iterations=0) - f)
    pts[0, 0] = (1.0, 1.0, 0.0)  # z = 0 is ignored (ray set to 0, as in the official code)
    assert abs(estimate_focal(pts) - f) < 0.2


def _check_exact(scene, geometry, tol=1e-5):
    ratio = geometry.depth / scene.depth
    scale = float(np.median(ratio))
    assert geometry.valid.all()
    np.testing.assert_allclose(ratio, scale, rtol=tol)
    np.testing.assert_allclose(geometry.focal, scene.focal, rtol=tol)
    np.testing.assert_allclose(geometry.principal_point[0], [scene.depth.shape[2] / 2, scene.depth.shape[1] / 2])
    ref_gt, ref = np.linalg.inv(scene.cam_to_world[0]), np.linalg.inv(geometry.cam_to_world[0])
    for k in range(len(scene.depth)):
        rel_gt, rel = ref_gt @ scene.cam_to_world[k], ref @ geometry.cam_to_world[k]
        np.testing.assert_allclose(rel[:3, :3], rel_gt[:3, :3], atol=tol)
        np.testing.assert_allclose(rel[:3, 3], scale * rel_gt[:3, 3], atol=tol * scale * 10)
    return scale


@pytest.mark.parametrize("scheme", ["swin-2-noncyclic", "swin-3", "complete", "swinstride-2-noncyclic"])
def test_exact_recovery_up_to_one_global_scale(scheme):
    scene = make_synthetic_pairs(9, 18, 24, make_pairs(9, scheme), seed=3)
    geometry = global_alignment(scene.preds)
    _check_exact(scene, geometry)
    # the scale normalisation: geometric mean of the pair scales maps to base_scale
    assert geometry.alignment.tree.shape == (8, 2)
    log_scales = np.log(geometry.alignment.pair_scales * geometry.alignment.scale_factor)
    assert abs(log_scales.mean() - np.log(0.5)) < 1e-9
    # world points of every frame are the GT world points under one similarity
    pts = np.stack([geometry.world_points(k) for k in range(9)])
    np.testing.assert_allclose(pts, geometry.aligned_pointmaps, atol=1e-4)


def test_exact_recovery_from_cache_memmaps_with_out_dir(tmp_path):
    pairs = make_pairs(6)
    scene = make_synthetic_pairs(6, 12, 16, pairs, seed=5, cache_dir=tmp_path / "cache")
    assert isinstance(scene.preds.pts_i, np.memmap)
    geometry = global_alignment(scene.preds, out_dir=tmp_path / "out", shared_focal=True)
    assert isinstance(geometry.depth, np.memmap) and isinstance(geometry.valid, np.memmap)
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "depth.npy"), geometry.depth)
    _check_exact(scene, geometry)
    in_ram = make_synthetic_pairs(6, 12, 16, pairs, seed=5)
    np.testing.assert_allclose(global_alignment(in_ram.preds).depth, geometry.depth, rtol=1e-6)


def test_known_and_shared_focal():
    scene = make_synthetic_pairs(5, 12, 16, make_pairs(5), seed=2)
    geometry = global_alignment(scene.preds, focal=scene.focal)
    np.testing.assert_array_equal(geometry.focal, scene.focal)
    _check_exact(scene, geometry)
    wrong = global_alignment(scene.preds, focal=np.full(5, 1.5 * scene.focal))
    np.testing.assert_array_equal(wrong.focal, 1.5 * scene.focal)
    shared = global_alignment(scene.preds, shared_focal=True)
    assert np.ptp(shared.focal) == 0
    np.testing.assert_allclose(shared.focal[0], shared.alignment.per_frame_focal.mean())
    with pytest.raises(ValueError, match="either focal"):
        global_alignment(scene.preds, focal=10.0, shared_focal=True)
    with pytest.raises(ValueError, match="focal must be positive"):
        global_alignment(scene.preds, focal=-1.0)


def test_two_frames_and_one_frame():
    scene = make_synthetic_pairs(2, 12, 16, make_pairs(2), seed=4)
    geometry = global_alignment(scene.preds)
    _check_exact(scene, geometry)
    assert len(geometry.alignment.pnp_frames) == 1  # the second view is a leaf placed by PnP
    one_way = make_synthetic_pairs(2, 12, 16, np.array([[0, 1]]), seed=4)
    geometry = global_alignment(one_way.preds)  # frame 1 has no own-camera pointmap: PnP tries 21 focals
    assert geometry.alignment.pnp_frames == [1]
    assert np.isclose(np.geomspace(8, 48, 21), geometry.focal[1]).any()
    ratio = geometry.depth[0] / one_way.depth[0]
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-6)
    _check_exact(one_way, global_alignment(one_way.preds, focal=one_way.focal))
    single = PairPredictions(np.zeros((0, 2), np.int64), *(np.zeros((0, 6, 8, 3), np.float32),) * 2,
                             *(np.zeros((0, 6, 8), np.float32),) * 2, num_frames=1)  # fmt: skip
    geometry = global_alignment(single, focal=7.0)
    assert geometry.depth.shape == (1, 6, 8) and not geometry.valid.any()
    np.testing.assert_array_equal(geometry.cam_to_world[0], np.eye(4))
    assert geometry.focal[0] == 7.0


def test_depth_behind_camera_is_invalid_or_official_one():
    scene = make_synthetic_pairs(2, 12, 16, np.array([[0, 1]]), seed=4)
    preds = scene.preds
    preds.pts_i[0, 0, 0, 2] = -1.0  # the root's own pointmap: frame 0's depth is its z
    geometry = global_alignment(preds)
    assert not geometry.valid[0, 0, 0] and geometry.depth[0, 0, 0] == 0 and geometry.confidence[0, 0, 0] == 0
    assert geometry.valid[0].sum() == 12 * 16 - 1
    compat = global_alignment(preds, official_compat=True)
    assert compat.depth[0, 0, 0] == 1.0 and not compat.valid[0, 0, 0]


def test_noise_degrades_gracefully():
    scene = make_synthetic_pairs(10, 18, 24, make_pairs(10), seed=6, noise=0.01)
    geometry = global_alignment(scene.preds)
    log_ratio = np.log(geometry.depth / scene.depth)
    log_ratio -= np.median(log_ratio)
    assert np.abs(log_ratio).mean() < 0.012  # 1 % point noise → about 1 % depth error
    assert np.abs(np.median(log_ratio, axis=(1, 2))).max() < 0.01  # per-frame scale drift after up to 9 hops
    np.testing.assert_allclose(geometry.focal, scene.focal, rtol=1e-6)  # depth noise along rays keeps x/z


def test_tree_reaches_weak_frame_through_better_pairs():
    pairs = make_pairs(6)
    scene = make_synthetic_pairs(6, 12, 16, pairs, seed=7)
    conf_i, conf_j = np.array(scene.preds.conf_i), np.array(scene.preds.conf_j)
    weak = (pairs == 3).any(1) & (np.abs(pairs[:, 0] - pairs[:, 1]) == 1)  # the 1-apart pairs of frame 3
    conf_i[weak] = conf_j[weak] = 1.0
    strong = (pairs == [[1, 3]]).all(1)  # the best pair of all: the root
    conf_i[strong] = conf_j[strong] = 9.0
    preds = PairPredictions(pairs, scene.preds.pts_i, scene.preds.pts_j, conf_i, conf_j)
    geometry = global_alignment(preds)
    tree = {tuple(e) for e in geometry.alignment.tree.tolist()}
    assert geometry.alignment.root == (1, 3)
    assert not any(3 in e and abs(e[0] - e[1]) == 1 for e in tree)
    assert len({frozenset(e) for e in tree}) == 5
    _check_exact(scene, geometry)


def _preds(scene, **changes):
    fields = {k: np.array(getattr(scene.preds, k)) for k in ("pairs", "pts_i", "pts_j", "conf_i", "conf_j")}
    fields.update(changes)
    return PairPredictions(**fields)


def test_errors():
    scene = make_synthetic_pairs(6, 8, 10, make_pairs(6), seed=8)
    keep = ~(((scene.preds.pairs == [[2, 3]]).all(1)) | ((scene.preds.pairs == [[3, 2]]).all(1))
             | (scene.preds.pairs == [[1, 3]]).all(1) | (scene.preds.pairs == [[3, 1]]).all(1)
             | (scene.preds.pairs == [[2, 4]]).all(1) | (scene.preds.pairs == [[4, 2]]).all(1))  # fmt: skip
    split = _preds(scene, **{k: np.array(getattr(scene.preds, k))[keep] for k in
                             ("pairs", "pts_i", "pts_j", "conf_i", "conf_j")})  # fmt: skip
    with pytest.raises(ValueError, match=r"disconnected: 2 components of frames \(frames 0-2; frames 3-5\)"):
        global_alignment(split)
    lonely = _preds(scene)
    lonely.num_frames = 8
    with pytest.raises(ValueError, match="frames 0-5; frames 6; frames 7"):
        global_alignment(lonely)
    nan = np.array(scene.preds.pts_j)
    nan[4, 1, 1, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        global_alignment(_preds(scene, pts_i=nan, pts_j=nan))
    bad_conf = np.array(scene.preds.conf_i)
    bad_conf[0, 0, 0] = -1
    with pytest.raises(ValueError, match="must be ≥ 0"):
        global_alignment(_preds(scene, conf_i=bad_conf))
    missing = _preds(scene)
    missing.pairs = missing.pairs.copy()
    missing.pairs[0] = (0, 9)
    with pytest.raises(ValueError, match="missing frame"):
        global_alignment(missing)
    dup = _preds(scene)
    dup.pairs = dup.pairs.copy()
    dup.pairs[1] = dup.pairs[0]
    with pytest.raises(ValueError, match="duplicated"):
        global_alignment(dup)
    shape = _preds(scene)
    shape.conf_j = shape.conf_j[:, :, :5]
    with pytest.raises(ValueError, match="conf_j has shape"):
        global_alignment(shape)
    with pytest.raises(ValueError, match="base_scale"):
        global_alignment(scene.preds, base_scale=0)


@pytest.mark.parametrize("options", [dict(robust_scale=True), dict(global_scale_solve=True),
                                     dict(robust_scale=True, global_scale_solve=True),
                                     dict(robust_scale=True, global_scale_solve=True, scale_stride=3),
                                     dict(scale_stride=4)])  # fmt: skip
def test_refinements_keep_exact_recovery(options):
    """Also with strided registrations (tree, other pairs): exact points give the exact scene from any subset."""
    scene = make_synthetic_pairs(7, 12, 16, make_pairs(7), seed=9)
    geometry = global_alignment(scene.preds, **options)
    _check_exact(scene, geometry)
    if options.get("global_scale_solve"):
        np.testing.assert_allclose(geometry.alignment.frame_log_scales, 0, atol=1e-6)


def test_refinements_reduce_scale_drift():
    scene = make_synthetic_pairs(20, 12, 16, make_pairs(20), seed=0, noise=0.05)

    def drift(**options):
        geometry = global_alignment(scene.preds, **options)
        if options.get("global_scale_solve"):  # the gauge: per-frame corrections have mean 0 in log
            assert abs(geometry.alignment.frame_log_scales.mean()) < 1e-9
            assert np.ptp(geometry.alignment.frame_log_scales) > 0.02
        per_frame = np.median(np.log(geometry.depth / scene.depth), axis=(1, 2))  # [T] log scale of each frame
        return np.ptp(per_frame)

    plain = drift()
    robust = drift(robust_scale=True)
    solved = drift(global_scale_solve=True)
    both = drift(robust_scale=True, global_scale_solve=True)
    assert plain > 0.1  # least-squares scales are biased low by the noise; the bias compounds hop after hop
    assert robust < 0.5 * plain and solved < 0.3 * plain and both < 0.15 * plain  # measured: 0.40, 0.19, 0.08


def test_zero_confidence_bridge_pair_is_named():
    pairs = np.array([[0, 1], [1, 0], [1, 2], [2, 1]])
    scene = make_synthetic_pairs(3, 8, 10, pairs, seed=1)
    conf_i, conf_j = np.array(scene.preds.conf_i), np.array(scene.preds.conf_j)
    conf_i[2:] = conf_j[2:] = 0.0  # frame 2 is linked only by pairs without any confidence
    with pytest.raises(ValueError, match=r"cannot register pair \d \((1, 2|2, 1)\) of the spanning tree"):
        global_alignment(PairPredictions(pairs, scene.preds.pts_i, scene.preds.pts_j, conf_i, conf_j))


def test_threads_do_not_change_the_output():
    # 64×48 pairs: the pair-scale registrations run in several chunks, on 2 threads by default
    scene = make_synthetic_pairs(20, 48, 64, make_pairs(20), seed=2, noise=0.05)
    options = dict(robust_scale=True, global_scale_solve=True)
    threaded = global_alignment(scene.preds, **options)
    single = global_alignment(scene.preds, num_workers=1, **options)
    assert len(scene.preds.pairs) - 19 > (1 << 16) // (48 * 64)  # more pairs outside the tree than one chunk holds
    np.testing.assert_array_equal(threaded.depth, single.depth)
    np.testing.assert_array_equal(threaded.alignment.pair_scales, single.alignment.pair_scales)
    np.testing.assert_array_equal(threaded.alignment.frame_log_scales, single.alignment.frame_log_scales)
    np.testing.assert_array_equal(threaded.alignment.tree, single.alignment.tree)
    np.testing.assert_array_equal(threaded.cam_to_world, single.cam_to_world)
    np.testing.assert_array_equal(threaded.alignment.edge_scores, single.alignment.edge_scores)


def test_tree_order_retries_an_edge_with_no_placed_frame_later():
    """The traversal's pops, known before any registration (so the placing edges' pointmaps are read ahead on the
    workers): best edge first; one touching no placed frame goes back to the far end and is retried (the official
    order), and ``from_i`` says which view is registered onto placed points."""
    from collections import deque

    from stereodiff.stage1.alignment import _tree_order

    todo = deque([(0.1, 3, 4), (0.2, 1, 2), (0.5, 3, 2)])  # ascending scores: pop() takes the best
    placed = np.array([True, True, False, False, False])  # the root pair (0, 1)
    pops = _tree_order(todo, placed)
    assert pops == [(3, 2, None), (1, 2, True), (3, 4, None), (3, 2, False), (3, 4, True)]
    assert len(todo) == 3 and placed.sum() == 2  # the caller's deque and flags are left alone


def test_edge_scores_release_the_memmapped_confidence_per_run_of_frames_not_per_pair(tmp_path, monkeypatch):
    """The per-frame maximum confidence in a memmap is released once its touched frames reach ``_RESIDENT_BYTES``
    (here 4 frames), not after every pair (each release faults the frames in again): the same scores and maxima as
    in RAM, with far fewer releases than pairs."""
    from stereodiff.io.pages import new_array
    from stereodiff.stage1 import alignment

    pairs = make_pairs(12, "swin-3")
    scene = make_synthetic_pairs(12, 12, 16, pairs, seed=2)
    in_ram = np.zeros((12, 12, 16), np.float32)
    expected = alignment._edge_scores(scene.preds, np.asarray(pairs), in_ram)
    mapped = new_array(tmp_path, "confidence", (12, 12, 16), np.float32)
    released = []

    def counted(*arrays):
        released.extend(1 for a in arrays if a is mapped)
        return release(*arrays)

    release = alignment.release
    monkeypatch.setattr(alignment, "release", counted)
    monkeypatch.setattr(alignment, "_RESIDENT_BYTES", 4 * mapped[0].nbytes)
    np.testing.assert_array_equal(alignment._edge_scores(scene.preds, np.asarray(pairs), mapped), expected)
    np.testing.assert_array_equal(mapped, in_ram)
    assert in_ram.min() > 0 and 2 <= len(released) <= len(pairs) // 2
