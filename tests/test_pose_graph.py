"""The pose-graph refinement (stereodiff.stage1.pose_graph) on a synthetic walk: noisy poses get closer to the truth."""

import numpy as np

from stereodiff.stage1.epipolar import fundamental_from_pose
from stereodiff.stage1.pose_graph import (
    MatchGraph,
    PairMatches,
    inlier_sample,
    refine_pose_graph,
    relative_poses,
    signed_sampson,
)

K = np.array([[250.0, 0, 160], [0, 250.0, 120], [0, 0, 1]])


def _rotation(rotvec: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(rotvec).as_matrix()


def _scene(seed: int = 0, frames: int = 8, bob: float = 0.04) -> tuple[np.ndarray, list[PairMatches]]:
    """True camera-to-world poses [T,4,4] of a sideways walk with a yaw, and the pairs' (offsets 1–3) matches of
    points 3–8 units ahead, with 0.1 px noise. The walk bobs by ``bob`` units: along a line (0) the translation
    directions do not fix the frames' spacing."""
    rng = np.random.default_rng(seed)
    poses = np.tile(np.eye(4), (frames, 1, 1))
    for k in range(frames):
        poses[k, :3, :3] = _rotation(np.array([0.0, 0.02 * k, 0.005 * k]))
        poses[k, :3, 3] = [0.1 * k, bob * np.sin(k), 0.03 * k]
    points = np.c_[rng.uniform(-3, 3, 400), rng.uniform(-2, 2, 400), rng.uniform(3, 8, 400)]
    matches = []
    for a in range(frames):
        for b in range(a + 1, min(a + 4, frames)):
            pix = []
            for k in (a, b):
                cam = (points - poses[k, :3, 3]) @ poses[k, :3, :3]
                pix.append((cam[:, :2] / cam[:, 2:]) * 250.0 + [160, 120] + rng.normal(0, 0.1, (len(cam), 2)))
            matches.append(PairMatches(a, b, pix[0][:60], pix[1][:60]))
    return poses, matches


def _errors(poses: np.ndarray, truth: np.ndarray, pairs: list[tuple[int, int]]) -> tuple[float, float]:
    """Median rotation error and translation-direction error (degrees) of the pairs' relative poses."""
    got, want = relative_poses(poses, pairs), relative_poses(truth, pairs)
    rot, direction = [], []
    for p in pairs:
        R = got[p][0] @ want[p][0].T
        rot.append(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))
        direction.append(np.degrees(np.arccos(np.clip(got[p][1] @ want[p][1], -1, 1))))
    return float(np.median(rot)), float(np.median(direction))


def _noisy(truth: np.ndarray, rotation_deg: float, centre: float, seed: int = 1) -> np.ndarray:
    """``truth`` [T,4,4] with every frame but the first turned by ~``rotation_deg`` and moved by ~``centre``."""
    rng = np.random.default_rng(seed)
    noisy = truth.copy()
    for k in range(1, len(noisy)):
        noisy[k, :3, :3] = _rotation(rng.normal(0, np.radians(rotation_deg), 3)) @ noisy[k, :3, :3]
        noisy[k, :3, 3] += rng.normal(0, centre, 3)
    return noisy


def test_analytic_jacobian_matches_finite_differences():
    truth, matches = _scene(frames=5)
    poses = _noisy(truth, 0.5, 0.01)
    W, c = poses[:, :3, :3].transpose(0, 2, 1).copy(), poses[:, :3, 3].copy()
    graph = MatchGraph(matches, K, unit=0.1)
    r, J = graph.residuals(W, c)
    step = 1e-7
    for p, m in enumerate(matches):
        rows = graph.pair == p
        for k in range(12):
            frame, d = (m.a, m.b)[k // 6], np.zeros(6)
            d[k % 6] = step
            W_s, c_s = W.copy(), c.copy()
            W_s[frame] = _rotation(d[:3]) @ W_s[frame]
            c_s[frame] += 0.1 * d[3:]
            numeric = (graph.residuals(W_s, c_s)[0][rows] - r[rows]) / step
            np.testing.assert_allclose(J[rows, k], numeric, rtol=1e-4, atol=1e-3 * np.abs(J).max())


def test_refinement_converges_and_brings_noisy_poses_closer_to_the_truth():
    truth, matches = _scene()
    pairs = [(m.a, m.b) for m in matches]
    for rotation_deg, centre in ((0.05, 0.003), (0.5, 0.02)):
        noisy = _noisy(truth, rotation_deg, centre)
        refined = refine_pose_graph(noisy, matches, K)
        assert refined.converged and refined.evaluations < 100
        assert refined.cost_after < refined.cost_before
        rot0, dir0 = _errors(noisy, truth, pairs)
        rot1, dir1 = _errors(refined.poses, truth, pairs)
        assert rot1 < 0.3 * rot0
        assert dir1 < 0.5 * dir0
        np.testing.assert_allclose(refined.poses[0], noisy[0])  # the first frame is fixed


def test_held_baselines_keep_a_walk_along_a_line_in_order():
    truth, matches = _scene(bob=0.0)
    pairs = [(m.a, m.b) for m in matches]
    noisy = _noisy(truth, 0.3, 0.01)
    free = refine_pose_graph(noisy, matches, K)
    held = refine_pose_graph(noisy, matches, K, baseline_tolerance=0.1)
    assert _errors(free.poses, truth, pairs)[1] > 30  # frames swapped: many pairs reversed
    assert held.converged
    rot, direction = _errors(held.poses, truth, pairs)
    assert rot < 0.3 * _errors(noisy, truth, pairs)[0] and direction < 2.0


def test_pairs_keep_their_estimates_side():
    truth, matches = _scene(frames=4)
    pairs = [(m.a, m.b) for m in matches]
    want = relative_poses(truth, pairs)
    like = {p: (-1.0 if k % 2 else 1.0) * want[p][1] for k, p in enumerate(pairs)}
    got = relative_poses(truth, pairs, like=like)
    for p in pairs:
        np.testing.assert_allclose(got[p][1], like[p], atol=1e-12)
        np.testing.assert_allclose(got[p][0], want[p][0])


def test_exact_poses_stay_and_inlier_sample_keeps_the_consistent_matches():
    truth, matches = _scene(frames=4)
    refined = refine_pose_graph(truth, matches, K)
    assert _errors(refined.poses, truth, [(m.a, m.b) for m in matches])[0] < 0.05
    m = matches[0]
    R, t = relative_poses(truth, [(m.a, m.b)])[(m.a, m.b)]
    F = fundamental_from_pose(R, t, K)
    x_b = m.x_b.copy()
    x_b[:10] += 5.0  # ten outliers
    a, b = inlier_sample(m.x_a, x_b, F, 20, 0.5)
    assert len(a) == 20
    assert np.all(np.abs(signed_sampson(a, b, F)) < 0.5)


def test_matcher_triangulates_the_pairs_with_the_refined_poses(monkeypatch):
    import stereodiff.stage1.pose_graph as pose_graph
    from stereodiff.stage1.geometric import GeometricMatcher
    from stereodiff.synth import make_scene

    scene = make_scene("static-orbit", seed=0, num_frames=10, height=96, width=128)
    seen = {}

    def spy(poses, matches, K, **kw):
        seen["matches"] = matches
        seen["estimated"] = {tuple(g.pair): g.t for g in matcher.report.pairs if g.ok}
        refined = pose_graph_refine(poses, matches, K, **kw)
        seen["poses"] = refined.poses
        return refined

    pose_graph_refine = pose_graph.refine_pose_graph
    monkeypatch.setattr(pose_graph, "refine_pose_graph", spy)
    matcher = GeometricMatcher(resolution=128, offsets=(2, 3), pose_graph_refine=True, pose_graph_matches=20)
    preds = matcher.predict(scene.frames)
    ok = [g for g in matcher.report.pairs if g.ok]
    assert len(seen["matches"]) == len(ok) > 0
    assert all(0 < len(m.x_a) <= 20 for m in seen["matches"])
    want = relative_poses(seen["poses"], [tuple(g.pair) for g in ok], like=seen["estimated"])
    for g in ok:  # the second run's pairs: poses of the refined frames, no matches kept
        np.testing.assert_allclose(g.R, want[tuple(g.pair)][0], atol=1e-12)
        np.testing.assert_allclose(g.t, want[tuple(g.pair)][1], atol=1e-12)
        assert g.matches is None
    assert np.all(np.isfinite(preds.pts_i))
    assert matcher.report.pose_graph.startswith("converged in ")
