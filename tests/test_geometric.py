"""The weights-free stage-1 matcher: geometry helpers on known answers, the matcher on rendered scenes."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
from dataclasses import fields

import cv2
import numpy as np
import pytest

from stereodiff import flow
from stereodiff.camera import AHEAD_SHARE, fit_long_side, pixel_grid
from stereodiff.errors import InputError
from stereodiff.flow import compose_flows, dis_engine, dis_flows, hypot32, motion_boundaries
from stereodiff.stage1 import geometric
from stereodiff.stage1.configs import GeometricConfig
from stereodiff.stage1.epipolar import (
    FocalEstimate,
    PairGeometry,
    focal_from_fundamentals,
    fundamental_from_pose,
    robust_essential,
    sampson_distance,
    triangulate_rays,
)
from stereodiff.stage1.fusion import fuse_pair_depths, untriangulated_mask
from stereodiff.stage1.geometric import GeometricMatcher, failure_summary
from stereodiff.stage1.pair_steps import PairSteps, epipolar_texture, epipole_inside
from stereodiff.stage1.pairs import default_pairs, flow_plan, per_frame_pairs
from stereodiff.stage1.ray_pairs import pair_edges
from stereodiff.types import PairPredictions, SceneGeometry


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    return cv2.Rodrigues(np.asarray(axis, np.float64) * angle)[0]


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = points @ K.T
    return uvw[:, :2] / uvw[:, 2:]


def test_triangulate_rays_recovers_depth_and_angle(rng):
    points = rng.uniform([-1, -1, 2], [1, 1, 6], size=(200, 3))  # camera a
    R, t = _rotation([0, 1, 0], 0.05), np.array([-0.3, 0.05, 0.02])  # X_b = R X_a + t
    rays = points / points[:, 2:]
    in_b = points @ R.T + t
    rays_other = (in_b / in_b[:, 2:]) @ R  # Rᵀ ray_b
    depth, depth_other, angle = triangulate_rays(rays, rays_other, -R.T @ t)
    np.testing.assert_allclose(depth, points[:, 2], rtol=1e-9)
    assert np.all(depth_other > 0)
    centre_b = -R.T @ t
    cos = np.einsum("nk,nk->n", points, points - centre_b)
    cos /= np.linalg.norm(points, axis=1) * np.linalg.norm(points - centre_b, axis=1)
    np.testing.assert_allclose(angle, np.arccos(cos), atol=1e-9)


def test_sampson_distance_zero_on_epipolar_line_and_pixels_off_it(rng):
    K = np.array([[100.0, 0, 80], [0, 100, 60], [0, 0, 1]])
    R, t = _rotation([0.2, 1, 0], 0.04), np.array([1.0, 0.1, 0.0]) / np.hypot(1, 0.1)
    points = rng.uniform([-1, -1, 3], [1, 1, 6], size=(50, 3))
    x_a, x_b = _project(points, K), _project(points @ R.T + t, K)
    F = fundamental_from_pose(R, t, K)
    np.testing.assert_allclose(sampson_distance(x_a, x_b, F), 0, atol=1e-9)
    # move x_b 1 px along the epipolar line's normal: the Sampson distance of a 1-px shift in one image
    line = np.hstack([x_a, np.ones((50, 1))]) @ F.T
    normal = line[:, :2] / np.linalg.norm(line[:, :2], axis=1, keepdims=True)
    d = sampson_distance(x_a, x_b + normal, F)
    assert np.all((d > 0.5) & (d <= 1.0 + 1e-6))


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float64), (np.float32, np.float64)])
def test_in_place_triangulation_and_sampson_are_the_plain_expressions_bit_for_bit(dtypes):
    """triangulate_rays, sampson_distance and the pair views' confidence weight evaluate in place (issue #20); the
    plain expressions give the same bits, for every dtype mix, with zeros, infinities, NaN and extreme values."""
    rng = np.random.default_rng(3)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, 3e38]
    a = (rng.standard_normal((4000, 3)) * 10.0 ** rng.integers(-3, 4, (4000, 1))).astype(dtypes[0])
    b = rng.standard_normal((4000, 3)).astype(dtypes[1])
    a[: len(special), 0], b[len(special) : 2 * len(special), 1] = special, special
    c, F = rng.standard_normal(3), rng.standard_normal((3, 3))

    def dot(p, q):
        return p[..., 0] * q[0] + p[..., 1] * q[1] + p[..., 2] * q[2]

    with np.errstate(all="ignore"):
        aa, bb, ab = dot(a, a.T), dot(b, b.T), dot(a, b.T)
        ac, bc = dot(a, c.tolist()), dot(b, c.tolist())
        den = aa * bb - ab * ab
        plain = ((ac * bb - ab * bc) / den, (ab * ac - aa * bc) / den, np.arccos(np.clip(ab / np.sqrt(aa * bb), -1, 1)))
        found = triangulate_rays(a, b, c)
        Fl = F.tolist()
        fx = [Fl[r][0] * a[:, 0] + Fl[r][1] * a[:, 1] + Fl[r][2] for r in range(3)]
        ftx = [Fl[0][k] * b[:, 0] + Fl[1][k] * b[:, 1] + Fl[2][k] for k in range(2)]
        num = b[:, 0] * fx[0] + b[:, 1] * fx[1] + fx[2]
        sampson = np.abs(num) / np.sqrt(np.maximum(fx[0] ** 2 + fx[1] ** 2 + ftx[0] ** 2 + ftx[1] ** 2, 1e-12))
        steps = PairSteps(1.0, 1, 32, 0.5, 0.08, 0.25, 1.3, 2.0, (0.2, 5.0), 10.0, 0.7)
        fb, angle = np.abs(b[:, 2]), np.abs(a[:, 1]) / 50
        gauss = (fb / 0.35) ** 2 + (sampson / (1.3 * 0.7)) ** 2
        weight = np.exp(-0.5 * gauss) * np.clip(angle / np.radians(2.0), 0.0, 1.0) ** 2
        pairs = [*zip(plain, found), (sampson, sampson_distance(a[:, :2], b[:, :2], F))]
        pairs.append((weight, steps._weight(fb, 0.35, sampson.copy(), angle)))
    for expected, value in pairs:
        assert value.dtype == expected.dtype and value.shape == expected.shape
        np.testing.assert_array_equal(value.view(np.uint8), expected.view(np.uint8))


def test_focal_self_calibration_recovers_focal(rng):
    size, focal = (240, 320), 280.0
    K = np.array([[focal, 0, 159.5], [0, focal, 119.5], [0, 0, 1]])
    fundamentals = []
    for _ in range(5):
        R = _rotation(rng.normal(size=3), 0.15)
        t = rng.normal(size=3)
        fundamentals.append(fundamental_from_pose(R, t / np.linalg.norm(t), K))
    estimate = focal_from_fundamentals(fundamentals, (159.5, 119.5), size)
    assert estimate.focal is not None and abs(estimate.focal / focal - 1) < 0.01
    assert estimate.reason == "" and estimate.contrast > 1.5
    # pure forward translation: every focal fits, so the estimator must decline, and say why
    forward = focal_from_fundamentals(
        [fundamental_from_pose(np.eye(3), np.array([0.0, 0.0, 1.0]), K)], (159.5, 119.5), size
    )
    assert forward.focal is None and forward.reason
    assert focal_from_fundamentals([], (159.5, 119.5), size).reason == "no probe pair gave a fundamental matrix"


def test_focal_self_calibration_needs_halves_that_agree(rng):
    """A decision must be reproducible: one probe pair cannot be cross-checked, and probe pairs whose even and
    odd halves point to different focals are declined, saying why (here two cameras mixed up, 280 and 340 px:
    the mixed cost curve passes the contrast test at one of them)."""
    size = (240, 320)

    def fundamentals(focal: float, count: int) -> list[np.ndarray]:
        K = np.array([[focal, 0, 159.5], [0, focal, 119.5], [0, 0, 1]])
        out = []
        for _ in range(count):
            t = rng.normal(size=3)
            out.append(fundamental_from_pose(_rotation(rng.normal(size=3), 0.15), t / np.linalg.norm(t), K))
        return out

    single = focal_from_fundamentals(fundamentals(280.0, 1), (159.5, 119.5), size)
    assert single.focal is None and single.reason.startswith("a single probe pair")
    assert abs(single.best / 280.0 - 1) < 0.01  # the cost's minimum is still reported
    mixed = [F for pair in zip(fundamentals(280.0, 3), fundamentals(340.0, 3), strict=True) for F in pair]
    declined = focal_from_fundamentals(mixed, (159.5, 119.5), size)
    assert declined.focal is None and declined.reason.startswith("halves of the probe pairs disagree")
    assert focal_from_fundamentals(fundamentals(280.0, 2), (159.5, 119.5), size).focal is not None


def test_focal_self_calibration_from_noisy_small_motions(rng):
    # as on 7-Scenes: 2° rotations, 5 cm baselines at 2-8 m, 0.2 px noise; the cost's floor is the noise (~0.005),
    # so the minimum is judged against its own level (an absolute margin of 0.02 declined all of these)
    size, focal = (240, 320), 280.0
    K = np.array([[focal, 0, 159.5], [0, focal, 119.5], [0, 0, 1]])
    fundamentals = []
    for k in range(8):
        u, v, z = rng.uniform(0, 320, 600), rng.uniform(0, 240, 600), rng.uniform(2, 8, 600)
        points = np.stack([(u - 159.5) / focal * z, (v - 119.5) / focal * z, z], axis=1)
        t = rng.normal(size=3)
        moved = (points @ _rotation(rng.normal(size=3), 0.03).T + 0.05 * t / np.linalg.norm(t)) @ K.T
        x_b = moved[:, :2] / moved[:, 2:] + rng.normal(0, 0.2, (600, 2))
        cv2.setRNGSeed(k)
        F, _ = cv2.findFundamentalMat(np.stack([u, v], axis=1), x_b, cv2.USAC_ACCURATE, 0.5, 0.999)
        fundamentals.append(F)
    estimate = focal_from_fundamentals(fundamentals, (159.5, 119.5), size).focal
    assert estimate is not None and abs(estimate / focal - 1) < 0.03, estimate


def test_focal_self_calibration_must_not_hang_on_one_probe_pair():
    """A minimum that only one probe pair makes stand out is declined, saying which pair: here one pair with a 1.7°
    rotation and 0.2 px noise, five with 0.6° and 0.5 px (as the static orbit of seed 6, whose 8 probe pairs
    passed the contrast test at 1.51× and 1.44× without one, at 0.67× the true focal). The old tests pass: the
    contrast and the halves; without that pair the curve is flat."""
    size, focal = (240, 320), 280.0
    K = np.array([[focal, 0, 159.5], [0, focal, 119.5], [0, 0, 1]])
    rng = np.random.default_rng(42)
    fundamentals = []
    for k in range(6):
        angle, noise = (0.03, 0.2) if k == 0 else (0.01, 0.5)
        u, v, z = rng.uniform(0, 320, 600), rng.uniform(0, 240, 600), rng.uniform(2, 8, 600)
        points = np.stack([(u - 159.5) / focal * z, (v - 119.5) / focal * z, z], axis=1)
        t = rng.normal(size=3)
        moved = (points @ _rotation(rng.normal(size=3), angle).T + 0.05 * t / np.linalg.norm(t)) @ K.T
        x_b = moved[:, :2] / moved[:, 2:] + rng.normal(0, noise, (600, 2))
        cv2.setRNGSeed(k)
        F, _ = cv2.findFundamentalMat(np.stack([u, v], axis=1), x_b, cv2.USAC_ACCURATE, 0.5, 0.999)
        fundamentals.append(F)
    estimate = focal_from_fundamentals(fundamentals, (159.5, 119.5), size)
    assert estimate.focal is None and estimate.contrast >= 1.5, estimate
    assert estimate.reason.startswith("hangs on one probe pair") and "without probe pair 1 of 6" in estimate.reason
    assert focal_from_fundamentals(fundamentals[1:], (159.5, 119.5), size).reason.startswith("cost curve flat")


@pytest.mark.parametrize("seed", range(4))
def test_robust_essential_ignores_objects_moving_along_the_baseline(seed):
    """Low parallax (4 cm baseline, 2-8 m depths) and 20 % of the matches on an object moving almost along the
    baseline: inlier counting at a sub-pixel threshold picks a compromise ~13° off; the median criterion must not."""
    rng = np.random.default_rng(seed)
    cv2.setRNGSeed(seed)
    K = np.array([[280.0, 0, 159.5], [0, 280.0, 119.5], [0, 0, 1]])
    n = 700
    u, v, z = rng.uniform(0, 320, n), rng.uniform(0, 240, n), rng.uniform(2, 8, n)
    points = np.stack([(u - 159.5) / 280 * z, (v - 119.5) / 280 * z, z], axis=1)
    R, t = _rotation([0.0, 1.0, 0.25], 0.004), np.array([0.04, 0.0, 0.005])
    moved = points @ R.T + t
    moving = np.arange(n) < 0.2 * n
    moved[moving] += [0.06, 0.01, 0.03]
    projected = moved @ K.T
    x_a = np.stack([u, v], axis=1)
    x_b = projected[:, :2] / projected[:, 2:] + rng.normal(0, 0.1, (n, 2))
    E = robust_essential(x_a, x_b, K, threshold=0.5, median_threshold=0.08)
    _, R_est, t_est, _ = cv2.recoverPose(E, x_a[~moving], x_b[~moving], K)
    t_error = np.degrees(np.arccos(abs(t_est.ravel() @ t) / np.linalg.norm(t)))
    assert t_error < 4.0, t_error
    assert np.degrees(np.arccos(np.clip((np.trace(R_est.T @ R) - 1) / 2, -1, 1))) < 0.1


def test_default_pairs_symmetric_coprime_and_connected():
    pairs = default_pairs(20, (3, 5, 8))
    half = len(pairs) // 2
    np.testing.assert_array_equal(pairs[half:], pairs[:half, ::-1])
    assert set(np.unique(np.abs(pairs[:, 1] - pairs[:, 0]))) == {3, 5, 8}
    # 5 frames: only offset 3 fits, which leaves frames 2 unconnected → offset 1 is added
    short = default_pairs(5, (3, 5, 8))
    assert {1, 3} <= set(np.unique(np.abs(short[:, 1] - short[:, 0])))
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(short)), (short[:, 0], short[:, 1])), shape=(5, 5))
    assert connected_components(graph, directed=False)[0] == 1


def _connected(pairs: np.ndarray, num_frames: int) -> bool:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(num_frames, num_frames))
    return connected_components(graph, directed=False)[0] == 1


def test_per_frame_pairs_follow_the_local_parallax():
    """Issue #20: each frame reaches as far as its own parallax needs (the fixed offsets used one set for the whole
    video); a constant parallax gives exactly the fixed-offset graph of the whole-video rule."""
    constant = per_frame_pairs(np.full(39, 0.05), 0.144, 3)[0]  # 0.144 / 0.05 = 2.9 frames → {3, 5, 8}
    np.testing.assert_array_equal(constant, default_pairs(40, (3, 5, 8)))
    steps = np.r_[np.full(20, 0.2), np.full(39, 0.02)]  # fast for 20 frames, then barely translating
    pairs, first = per_frame_pairs(steps, 0.144, 3)
    assert list(first[:10]) == [1] * 10 and list(first[24:40]) == [8] * 16, first
    half = len(pairs) // 2
    np.testing.assert_array_equal(pairs[half:], pairs[:half, ::-1])
    assert len(np.unique(pairs[:half], axis=0)) == half and np.all(pairs[:half, 1] > pairs[:half, 0])
    assert half <= 3 * 60 and _connected(pairs, 60)
    reached = [steps[i:j].sum() for i, j in pairs[:half] if j - i == first[i]]
    assert min(reached) >= 0.144 - 1e-12
    np.testing.assert_array_equal(per_frame_pairs(steps, 0.144, 3)[0], pairs)  # deterministic
    # too little parallax for the video's length: the largest offsets that fit, as the whole-video rule
    short, first = per_frame_pairs(np.full(9, 0.001), 0.144, 3)
    assert set(first) == {3} and _connected(short, 10)
    assert set(np.unique(short[:, 1] - short[:, 0])) >= {3, 5, 8}


# ---------------------------------------------------------------------- rendered scene


def _render_scene(
    num_frames: int = 10,
    size: tuple[int, int] = (120, 160),
    seed: int = 0,
    focal_ratio: float = 0.9,
    turn: tuple[float, tuple[float, float, float]] = (0.004, (0.1, 1.0, 0.0)),
    step: tuple[float, float, float] = (0.08, 0.015, 0.02),
    speed: np.ndarray | None = None,
):
    """A textured static scene (slanted wall, floor, a box face in front) and one independently moving textured card,
    seen by a camera of focal ``focal_ratio`` × width (0.9: a 58° horizontal field of view) that turns by
    ``turn = (radians, axis)`` (the angle scales with the axis length) and moves by ``step`` (metres) per frame, or
    by ``speed[t] · step`` from frame ``t`` to ``t + 1`` (``speed [T-1]``).

    Returns frames [T,h,w,3] uint8, depth [T,h,w] metres, K [3,3], dynamic mask [T,h,w] bool.
    """
    rng = np.random.default_rng(seed)
    h, w = size
    focal = focal_ratio * w
    K = np.array([[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]])

    def texture() -> np.ndarray:
        noise = rng.uniform(0, 255, (256, 256)).astype(np.float32)
        fine = cv2.GaussianBlur(noise, (0, 0), 2.5)
        coarse = cv2.GaussianBlur(rng.uniform(0, 255, (256, 256)).astype(np.float32), (0, 0), 6)
        tex = 0.6 * fine + 0.4 * coarse
        return cv2.normalize(tex, None, 20, 235, cv2.NORM_MINMAX).astype(np.float32)

    # planes: (origin, axis u, axis v, extent u, extent v, texture)
    planes = [
        (np.array([-4.0, -3.0, 6.0]), np.array([1.0, 0, 0.25]), np.array([0, 1.0, 0]), 8.0, 6.0, texture()),
        (np.array([-0.8, -0.4, 3.5]), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 1.2, 1.0, texture()),
        (np.array([-4.0, 1.0, 1.5]), np.array([1.0, 0, 0]), np.array([0, 0, 1.0]), 8.0, 5.0, texture()),  # floor
    ]
    card = (np.array([0.6, 0.1, 2.8]), np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), 0.7, 0.6, texture())
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    rays_cam = np.stack([(u - K[0, 2]) / focal, (v - K[1, 2]) / focal, np.ones_like(u)], axis=-1)  # [h,w,3]

    frames, depths, masks = [], [], []
    for t in range(num_frames):
        R_wc = _rotation(turn[1], turn[0] * t)  # camera → world rotation
        centre = np.asarray(step) * (t if speed is None else float(np.sum(speed[:t])))
        rays = rays_cam @ R_wc.T  # world directions with camera-z component 1
        moving = (card[0] + np.array([-0.05 * t, 0.03 * t, 0.0]), *card[1:])
        depth = np.full((h, w), np.inf)
        image = np.zeros((h, w), np.float32)
        dynamic = np.zeros((h, w), bool)
        for index, (origin, ax_u, ax_v, ext_u, ext_v, tex) in enumerate([*planes, moving]):
            normal = np.cross(ax_u, ax_v)
            lam = ((origin - centre) @ normal) / (rays @ normal)  # depth along camera z (ray z = 1 in camera)
            hit = centre + rays * lam[..., None] - origin
            cu = hit @ ax_u / (ax_u @ ax_u)
            cv_ = hit @ ax_v / (ax_v @ ax_v)
            inside = (lam > 0) & (cu >= 0) & (cu <= ext_u) & (cv_ >= 0) & (cv_ <= ext_v) & (lam < depth)
            samples = cv2.remap(tex, (cu / ext_u * 255).astype(np.float32), (cv_ / ext_v * 255).astype(np.float32),
                                cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)  # fmt: skip
            depth = np.where(inside, lam, depth)
            image = np.where(inside, samples, image)
            dynamic = np.where(inside, index == len(planes), dynamic)
        frames.append(np.repeat(image.clip(0, 255).astype(np.uint8)[..., None], 3, axis=-1))
        depths.append(depth.astype(np.float32))
        masks.append(dynamic)
    return np.stack(frames), np.stack(depths), K, np.stack(masks)


@pytest.fixture(scope="module")
def scene():
    return _render_scene()


@pytest.fixture(scope="module")
def scene_predictions(scene):
    frames, _, K, _ = scene
    matcher = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5))
    return matcher, matcher.predict(frames)


def test_matcher_output_layout_and_static_depth(scene, scene_predictions):
    _, depth, _, dynamic = scene
    matcher, preds = scene_predictions
    assert preds.size == (120, 160) and preds.num_frames == 10
    half = preds.num_pairs // 2
    np.testing.assert_array_equal(preds.pairs[half:], preds.pairs[:half, ::-1])
    assert np.all(preds.conf_i >= 1) and np.all(preds.conf_j >= 1)
    assert np.all(np.isfinite(preds.pts_i)) and np.all(np.isfinite(preds.pts_j))
    assert all(g.ok for g in matcher.report.pairs)
    errors = []
    for k, i in enumerate(preds.pairs[:, 0]):
        static = ~dynamic[i] & (preds.conf_i[k] > 3) & np.isfinite(depth[i])
        z = preds.pts_i[k][..., 2]
        scale = np.median(depth[i][static] / z[static])
        errors.append(np.mean(np.abs(scale * z[static] - depth[i][static]) / depth[i][static]))
    assert np.median(errors) < 0.03, errors


def test_pts_j_is_view_j_in_camera_i(scene_predictions):
    _, preds = scene_predictions
    pairs = [tuple(p) for p in preds.pairs.tolist()]
    k = pairs.index((0, 3))
    back = pairs.index((3, 0))
    # pts_j of (0,3) and pts_i of (3,0) are the same points (view 3) in cameras 0 and 3: rigidly related
    a = preds.pts_j[k].reshape(-1, 3).astype(np.float64)
    b = preds.pts_i[back].reshape(-1, 3).astype(np.float64)
    mean_a, mean_b = a.mean(0), b.mean(0)
    u, _, vt = np.linalg.svd((b - mean_b).T @ (a - mean_a))
    R = u @ vt
    residual = np.linalg.norm((a - mean_a) @ R.T - (b - mean_b), axis=1)
    assert np.median(residual) < 1e-4 * np.median(np.linalg.norm(b, axis=1))


def test_moving_object_gets_lower_confidence(scene, scene_predictions):
    _, _, _, dynamic = scene
    _, preds = scene_predictions
    conf_static, conf_dynamic = [], []
    for k, (i, _) in enumerate(preds.pairs):
        conf_static.append(preds.conf_i[k][~dynamic[i]].mean())
        conf_dynamic.append(preds.conf_i[k][dynamic[i]].mean())
    assert np.mean(conf_dynamic) < 0.5 * np.mean(conf_static), (np.mean(conf_dynamic), np.mean(conf_static))


def test_adaptive_pairs(scene):
    frames, _, _, _ = scene
    matcher = GeometricMatcher(resolution=160, min_parallax_deg=1.0, num_offsets=3)
    preds = matcher.predict(frames)
    offsets = matcher.report.offsets
    assert len(offsets) >= 2 and np.gcd.reduce(offsets) == 1
    assert matcher.report.angle_per_frame_deg > 0
    assert preds.num_pairs == len(default_pairs(10, offsets))


@pytest.mark.xfail(
    strict=True,
    reason="known defect: the self-calibration cannot decide on short rendered clips. 2-view criteria are flat: the "
    "Kruppa cost of the 8-frame probe pairs (1.5-3° rotation, cost noise above the ±25 % contrast), and, measured, "
    "the Sampson cost of the calibrated essential matrix swept over the focal (1-4 % higher ±25 % away, even 21 "
    "frames apart on the static orbit); the opt-in bundle adjustment of flow tracks (focal_bundle) is flat here too "
    "(1.00-1.05× ±25 % away). At 85° the single probe pair's Kruppa minimum is 1.31× the truth: declined, since one "
    "pair cannot be cross-checked (test_a_single_probe_pair_is_not_trusted).",
)
@pytest.mark.parametrize("focal_ratio", [1.6, 0.55])  # 35° and 85° horizontal fields of view
def test_focal_estimate_far_from_the_prior(focal_ratio):
    frames, _, K, _ = _render_scene(focal_ratio=focal_ratio, turn=(0.006, (1.0, 1.0, 0.0)), step=(0.05, 0.05, 0.02))
    matcher = GeometricMatcher(resolution=160, min_parallax_deg=1.0, num_offsets=3)
    matcher.predict(frames)
    assert matcher.report.focal_source == "estimated"
    assert abs(matcher.report.focal_px / K[0, 0] - 1) < 0.02, matcher.report.focal_px / K[0, 0]


def test_a_single_probe_pair_is_not_trusted():
    """The rendered 85° clip (10 frames) has one probe pair, whose Kruppa minimum is 1.31× the true focal: the
    matcher used to take it; now it keeps the prior and says why."""
    frames, *_ = _render_scene(focal_ratio=0.55, turn=(0.006, (1.0, 1.0, 0.0)), step=(0.05, 0.05, 0.02))
    matcher = GeometricMatcher(resolution=160, min_parallax_deg=1.0, num_offsets=3)
    matcher.predict(frames)
    assert matcher.report.focal_source == "prior"
    assert matcher.report.focal_reason.startswith("a single probe pair")


def test_focal_cascade_asks_the_cheap_bundle_adjustment_and_reports_it(scene, monkeypatch):
    """``focal_cascade``: where the Kruppa cost declines (this scene: flat), the bundle adjustment's walk with one
    adjustment per window decides, and the report says which method decided and why the first did not."""
    frames, _, _, _ = scene
    asked = []

    def decides(windows, principal_point, prior, px_scale=1.0, **options):
        asked.append(options)
        assert windows and all(len(window.seen) >= 1 for window in windows)  # 8 frames: one window
        return FocalEstimate(150.0, 150.0, 1.3)

    monkeypatch.setattr(geometric, "focal_from_tracks", decides)
    matcher = GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True)
    matcher.predict(frames[:8])
    walk = {"search": "walk", "separate": True, "evaluations": geometric.CASCADE_EVALUATIONS}
    assert asked == [{**walk, "max_noise_rad": geometric.CASCADE_MAX_NOISE_RAD}]  # with the guard
    assert matcher.report.focal_source == "bundle" and matcher.report.focal_px == 150.0
    reason = matcher.report.focal_reason
    assert reason.startswith(("cost curve flat", "least cost at the end", "a single probe pair")), reason
    assert reason.endswith("; decided by bundle adjustment: ±25 % gives 1.30× the least reprojection error")
    given = GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True, focal_px=144.0)
    given.predict(frames[:4])
    assert len(asked) == 1 and given.report.focal_source == "given"
    robust = GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True, focal_cascade_robust=True)
    robust.predict(frames[:8])  # focal_cascade_robust: the walk's adjustments with the Cauchy loss
    assert asked[1] == {**walk, "max_noise_rad": geometric.CASCADE_MAX_NOISE_RAD, "loss": geometric.CASCADE_CAUCHY}


def test_focal_kruppa_check_asks_the_bundle_step_where_the_kruppa_cost_decides(scene, monkeypatch):
    """``focal_kruppa_check``: where the Kruppa cost decides, the cascade's bundle step is asked too (its walk, guard
    and loss), and its focal taken where it decides; off (the class default), the bundle step is not asked."""
    frames, _, _, _ = scene
    asked = []

    def kruppa(fundamentals, principal_point, size):
        return FocalEstimate(140.0, 140.0, 2.0)

    def decides(windows, principal_point, prior, px_scale=1.0, **options):
        asked.append(options)
        return FocalEstimate(150.0, 150.0, 1.3)

    monkeypatch.setattr(geometric, "focal_from_fundamentals", kruppa)
    monkeypatch.setattr(geometric, "focal_from_tracks", decides)
    plain = GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True)
    plain.predict(frames[:8])
    assert not asked and plain.report.focal_source == "estimated" and plain.report.focal_px == 140.0
    checked = GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True, focal_kruppa_check=True)
    checked.predict(frames[:8])
    walk = {"search": "walk", "separate": True, "evaluations": geometric.CASCADE_EVALUATIONS}
    assert asked == [{**walk, "max_noise_rad": geometric.CASCADE_MAX_NOISE_RAD}]
    assert checked.report.focal_source == "bundle" and checked.report.focal_px == 150.0
    assert checked.report.focal_reason.startswith("the Kruppa cost decided 140.0 px")


def test_focal_cascade_is_not_asked_when_the_camera_moves_along_its_view(monkeypatch):
    """Forward motion: a focal change is a change of depth, the bundle adjustment cannot tell it (``driving`` ended
    at the end of its sweep on every seed, at ≈ 2 s of CPU): the cascade keeps the prior without tracking and says
    why."""
    frames, *_ = _render_scene(num_frames=12, turn=(0.0, (0.0, 1.0, 0.0)), step=(0.0, 0.0, 0.12))

    def never(*args, **kwargs):
        raise AssertionError("the bundle adjustment was asked")

    monkeypatch.setattr(geometric, "focal_from_tracks", never)
    matcher = GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True)
    matcher.predict(frames)
    assert matcher.report.focal_source == "prior"
    assert "bundle adjustment not asked: the camera moves along its view" in matcher.report.focal_reason


def test_focal_cascade_declines_the_small_static_orbit_it_used_to_get_wrong():
    """tests/test_pipeline_cpu.py's static orbit (seed 0, 30 frames at 128×96): without the guard the bundle step
    decided 104.5 px, 0.943× the truth (and the final depth broke that test's bound); its tracks' least error is
    0.62 mrad of the focal, over the guard's 0.3, so the cascade keeps the prior and says why."""
    from stereodiff.synth import make_scene

    scene = make_scene("static-orbit", seed=0, num_frames=30, height=96, width=128)
    matcher = GeometricMatcher(resolution=128, focal_cascade=True, offsets=(3,))  # the tracks' step: few pairs
    matcher.predict(scene.frames)
    assert matcher.report.focal_source == "prior", matcher.report.focal_reason
    assert "bundle adjustment: tracks too noisy to tell the focal" in matcher.report.focal_reason


def _counting_dis(monkeypatch) -> list[int]:
    """Count the matcher's DIS flow computations (one per pair: forward and backward)."""
    calls = [0]
    original = geometric.dis_flows

    def counted(*args):
        calls[0] += 1
        return original(*args)

    monkeypatch.setattr(geometric, "dis_flows", counted)
    return calls


def test_focal_cascade_shares_its_track_flows_with_the_pair_run(scene, monkeypatch):
    """The cascade's tracks (10 frames: keyframes 1 frame apart) are the graph's offset-1 pairs: the pair run takes
    their flows instead of computing them again (21 track steps, 9 of them distinct, each computed once), and its
    output is the same bit for bit as without the sharing."""
    frames, _, _, _ = scene
    monkeypatch.setattr(geometric, "focal_from_tracks", lambda *args, **options: FocalEstimate(150.0, 150.0, 1.3))
    outputs, counts = [], []
    for share in (True, False):
        calls = _counting_dis(monkeypatch)
        matcher = GeometricMatcher(resolution=160, offsets=(1, 2), focal_cascade=True, num_workers=1)
        if not share:
            monkeypatch.setattr(matcher, "_graph_direct_pairs", lambda gray, K: set())
        preds = matcher.predict(frames)
        assert matcher.report.focal_source == "bundle"
        outputs.append(np.concatenate([preds.pts_i[e] for e in range(preds.num_pairs)]))
        counts.append(calls[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    # without sharing: 2 probe pairs, the tracks' 9 distinct steps, 9 direct pairs of the graph; with it 9 once
    assert counts == [2 + 9, 2 + 9 + 9], counts


def test_focal_cascade_measures_the_offsets_first_and_prefetches_the_pair_run(monkeypatch):
    """With the adaptive offsets (``rotation_fit``: independent of the focal) the pair graph is known before the
    focal: the offsets are the ones measured without the cascade, and while the adjustments run (here a 0.3 s
    stand-in) a second thread computes the pair run's first flows, which the pair run takes: no flow is computed
    twice and the output is the same as without the prefetch."""
    import time as clock
    from contextlib import nullcontext

    frames, *_ = _render_scene(num_frames=24)
    plain = GeometricMatcher(resolution=160)
    plain.predict(frames[:2])  # (a first predict: the report of the next must not keep anything of it)
    plain.predict(frames)
    ahead = []

    def decides(*args, **options):
        clock.sleep(0.3)
        ahead.append(len(matcher._probe_flows))
        return FocalEstimate(150.0, 150.0, 1.3)

    monkeypatch.setattr(geometric, "focal_from_tracks", decides)
    outputs, counts = [], []
    for prefetch in (True, False):
        calls = _counting_dis(monkeypatch)
        matcher = GeometricMatcher(resolution=160, focal_cascade=True, num_workers=2)
        if not prefetch:
            monkeypatch.setattr(matcher, "_prefetch", lambda gray, direct: nullcontext())
        preds = matcher.predict(frames)
        assert matcher.report.offsets == plain.report.offsets
        assert matcher.report.angle_per_frame_deg == plain.report.angle_per_frame_deg
        outputs.append(np.concatenate([preds.pts_i[e] for e in range(preds.num_pairs)]))
        counts.append(calls[0])
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert counts[0] == counts[1], counts  # every prefetched flow was used
    assert ahead[0] > ahead[1], ahead  # flows computed during the adjustments, beyond the probes' and tracks'


def test_the_rolling_shutter_settings_keep_the_cascades_shared_flows(monkeypatch):
    """The ``cpu`` preset's rolling-shutter settings on a global-shutter clip (declined): the cascade still measures
    the offsets first and shares its flows with the pair run — the same DIS flows, counted, and the same output as
    without the settings (the sharing was off with the settings: +0.5 s on the 64-frame bench video)."""
    frames, *_ = _render_scene(num_frames=24)
    monkeypatch.setattr(geometric, "focal_from_tracks", lambda *args, **options: FocalEstimate(150.0, 150.0, 1.3))
    rolling = {
        "rolling_shutter_readout": "auto",
        "rolling_shutter_detect": True,
        "rolling_shutter_screen": True,
        "rolling_shutter_screen_tracks": True,
    }
    outputs, counts = [], []
    for settings in ({}, rolling):
        calls = _counting_dis(monkeypatch)
        matcher = GeometricMatcher(resolution=160, focal_cascade=True, num_workers=1, **settings)
        preds = matcher.predict(frames)
        outputs.append(np.concatenate([preds.pts_i[e] for e in range(preds.num_pairs)]))
        counts.append(calls[0])
    assert matcher.report.rolling_shutter_readout == 0.0  # declined: a global shutter
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert counts[0] == counts[1], counts


def test_probe_pairs_matches_and_poses_are_computed_once(monkeypatch):
    """The focal (Kruppa), ahead and offset probes share their pairs 8 frames apart: each pair's matches are
    checked once, and its pose at the prior focal (the ahead check's and the offsets' parallax's) is estimated
    once; the matcher decides and outputs exactly what it does with every probe computing its own."""
    frames, *_ = _render_scene(num_frames=24)
    monkeypatch.setattr(geometric, "focal_from_tracks", lambda *args, **options: FocalEstimate(None, reason="test"))
    counts: dict[str, int] = {}
    for name in ("checked_view", "relative_pose"):
        original = getattr(PairSteps, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            counts[_name] = counts.get(_name, 0) + 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(PairSteps, name, counted)
    results = []
    for shared in (True, False):
        matcher = GeometricMatcher(resolution=160, focal_cascade=True, num_workers=2)
        if not shared:  # every probe on its own: nothing kept between them
            steps, engine = matcher._steps, matcher._flow_engine
            monkeypatch.setattr(
                matcher,
                "_probe_matches",
                lambda gray, pair, local, keep, _steps=steps, _engine=engine: _plain_matches(
                    _steps(), _engine(), gray, pair
                ),
            )
            monkeypatch.setattr(
                matcher,
                "_probe_pose",
                lambda a, b, x_a, x_b, K, _steps=steps: _steps().relative_pose(x_a, x_b, K, (a, b)),
            )
        intrinsics = matcher._intrinsics
        seen = {}

        def during_intrinsics(*args, _intrinsics=intrinsics, _seen=seen):
            before = dict(counts)
            found = _intrinsics(*args)
            _seen.update(
                {name: counts.get(name, 0) - before.get(name, 0) for name in ("checked_view", "relative_pose")}
            )
            return found

        monkeypatch.setattr(matcher, "_intrinsics", during_intrinsics)
        preds = matcher.predict(frames)
        report = matcher.report
        results.append((preds, report.offsets, report.angle_per_frame_deg, report.ahead_share, report.focal_px, seen))
    (preds, *decided, shared_calls), (plain, *plain_decided, plain_calls) = results
    assert decided == plain_decided
    np.testing.assert_array_equal(preds.pts_i, plain.pts_i)
    np.testing.assert_array_equal(preds.conf_i, plain.conf_i)
    probes = len(GeometricMatcher._probe_pairs(matcher, len(frames), 8))
    assert plain_calls["checked_view"] == 3 * 2 * probes  # Kruppa, ahead, offsets; both views of each pair
    assert shared_calls["checked_view"] == probes  # one view of each pair, once
    assert plain_calls["relative_pose"] == 2 * shared_calls["relative_pose"] > 0


def _plain_matches(steps: PairSteps, engine: object, gray: np.ndarray, pair: tuple[int, int]) -> tuple | None:
    """A probe pair's matches from fresh flows and both views' checks (no sharing between probes)."""
    return steps.sample_matches(*steps.checked(*dis_flows(engine, gray[pair[0]], gray[pair[1]]))[0])


def test_opencv_usac_assertion_means_no_model(scene, monkeypatch, caplog):
    """OpenCV 5's USAC asserts ("!model.empty()") on some degenerate samples; the matcher treats it as no model."""
    frames, _, _, _ = scene

    def fails(*args, **kwargs):
        raise cv2.error("OpenCV(5.0.0) usac/estimator.cpp:418: error: (-215:Assertion failed) !model.empty()")

    monkeypatch.setattr(cv2, "findFundamentalMat", fails)
    matcher = GeometricMatcher(resolution=160, offsets=(2, 3))
    with caplog.at_level(logging.WARNING):
        matcher.predict(frames)
    assert matcher.report.focal_source == "prior" and "inconclusive" in caplog.text
    assert matcher.report.focal_reason == "no probe pair gave a fundamental matrix"
    assert matcher.report.focal_reason in caplog.text


def test_inconclusive_focal_says_why_with_the_measured_rotation(scene, caplog):
    """The rendered scene turns 0.23° per frame: the prior is used, and the report and the log give the cost
    curve's verdict with the probe pairs' rotation (what a user needs to judge whether to give the focal)."""
    frames, _, _, _ = scene
    matcher = GeometricMatcher(resolution=160, offsets=(2, 3))
    with caplog.at_level(logging.WARNING):
        matcher.predict(frames)
    reason = matcher.report.focal_reason
    assert matcher.report.focal_source == "prior"
    match = re.search(r"median rotation ([0-9.]+)° over (\d) probe pairs? 8 frames apart", reason)
    assert match and 0.5 < float(match.group(1)) < 15 and int(match.group(2)) >= 1, reason
    assert reason.startswith(("cost curve flat", "least cost at the end")), reason
    assert reason in caplog.text
    assert "--focal PX" in caplog.text and "stage1.focal_cascade=true" in caplog.text  # what the user can do
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # (the cascade on: its verdict is in the reason, --focal still named)
        GeometricMatcher(resolution=160, offsets=(2, 3), focal_cascade=True).predict(frames[:6])
    assert "--focal PX" in caplog.text and "stage1.focal_cascade=true" not in caplog.text, caplog.text
    # the opt-in bundle adjustment of flow tracks is asked next, and its verdict is added
    bundled = GeometricMatcher(resolution=160, offsets=(2, 3), focal_bundle=True)
    bundled.predict(frames[:6])
    assert bundled.report.focal_source == "prior" and "; bundle adjustment: " in bundled.report.focal_reason
    given = GeometricMatcher(resolution=160, offsets=(2, 3), focal_px=144.0)
    given.predict(frames[:4])
    assert given.report.focal_source == "given" and given.report.focal_reason == ""


def test_pair_views_are_the_same_from_rays_in_either_memory_layout(scene):
    """The matcher hands the views rays whose axes are contiguous (a [h·w,3] view of a [3,h·w] block) and gathers
    the matched pixels the same way, so the component-wise maths runs on contiguous arrays; the depth, confidence
    and pose are the ones from interleaved [h·w,3] rays, bit for bit."""
    from stereodiff.flow import dis_flows
    from stereodiff.stage1.pair_steps import _gather

    frames, _, K, _ = scene
    matcher = GeometricMatcher(resolution=160, intrinsics=K)
    matcher._long_side = 160
    steps = matcher._steps()
    grey = [cv2.cvtColor(frames[k], cv2.COLOR_RGB2GRAY) for k in (0, 3)]
    flows = dis_flows(matcher._flow_engine(), *grey)
    interleaved = np.ascontiguousarray(steps.rays(120, 160, K))  # [h·w,3]
    planar = np.ascontiguousarray(interleaved.T).T
    one, other = steps.views(*flows, K, interleaved, (0, 3)), steps.views(*flows, K, planar, (0, 3))
    assert one[3].ok and (one[1] > 1).mean() > 0.5  # a real pair: posed, most pixels triangulated
    for a, b in zip(one[:3], other[:3]):
        np.testing.assert_array_equal(a, b)
    idx = np.array([5, 0, 19_199, 7])
    gathered = _gather(interleaved, idx)
    np.testing.assert_array_equal(gathered, interleaved[idx])
    assert all(gathered[:, k].flags.c_contiguous for k in range(3))


def test_probe_flows_are_computed_once_and_reused(scene, monkeypatch):
    frames, _, _, _ = scene
    calls, probes = [], []
    probe_pairs = GeometricMatcher._probe_pairs
    monkeypatch.setattr(geometric, "dis_flows", lambda *args: calls.append(1) or flow.dis_flows(*args))

    def recorded_probe_pairs(*args):
        probes.extend(probe_pairs(*args))
        return probe_pairs(*args)

    monkeypatch.setattr(GeometricMatcher, "_probe_pairs", recorded_probe_pairs)
    matcher = GeometricMatcher(resolution=160, min_parallax_deg=1.0, num_offsets=3)
    preds = matcher.predict(frames)  # the focal probe and the first offset probe share their pairs (offset 8)
    graph = {(int(i), int(j)) for i, j in preds.pairs if i < j}
    direct = graph - set(flow_plan(graph))
    assert len(calls) == len(set(probes) | direct) < len(probes) + len(direct)
    # the reused flows give what computing every flow again gives
    focal = matcher.report.focal_px * frames.shape[2] / preds.size[1]
    fresh = GeometricMatcher(resolution=160, focal_px=focal, offsets=matcher.report.offsets).predict(frames)
    np.testing.assert_array_equal(fresh.pts_i, preds.pts_i)
    np.testing.assert_array_equal(fresh.conf_j, preds.conf_j)


def test_cache_resume_and_memmap_frames(scene, scene_predictions, tmp_path):
    frames, _, K, _ = scene
    _, reference = scene_predictions
    video = np.lib.format.open_memmap(tmp_path / "frames.npy", mode="w+", dtype=np.uint8, shape=frames.shape)
    video[:] = frames
    video.flush()
    video = np.load(tmp_path / "frames.npy", mmap_mode="r")
    matcher = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5))
    first = matcher.predict(video, reference.pairs, cache_dir=tmp_path / "cache")
    assert isinstance(first.pts_i.store.depth, np.memmap)  # rows computed from the cache's depth along rays
    np.testing.assert_array_equal(first.pts_i, reference.pts_i)  # memmapped frames and cache: same output
    # interrupted: a pair with a composed flow (0, 5) = (0, 2) + (2, 5) (both directions: one edge) is missing,
    # its halves done
    edges = pair_edges(reference.pairs)[0].tolist()
    done = np.load(tmp_path / "cache" / "done.npy", mmap_mode="r+")
    done[edges.index([0, 5])] = False
    done.flush()
    del done
    again = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5))
    second = again.predict(video, reference.pairs, cache_dir=tmp_path / "cache")
    assert [g.pair for g in again.report.pairs] == [(0, 5)]  # only the missing pair was computed, identically
    np.testing.assert_array_equal(second.conf_j, reference.conf_j)
    np.testing.assert_array_equal(second.pts_i, reference.pts_i)
    third = GeometricMatcher(resolution=160, intrinsics=K)
    np.testing.assert_array_equal(
        third.predict(video, reference.pairs, cache_dir=tmp_path / "cache").pts_j, reference.pts_j
    )
    assert third.report.pairs == []  # everything was cached: nothing recomputed


def test_flow_plan_composes_long_pairs_from_two_direct_ones():
    pairs = {(i, i + o) for o in (5, 8, 13) for i in range(30 - o)}
    plan = flow_plan(pairs)
    assert set(plan) == {(i, i + 13) for i in range(17)}  # 13 = 5 + 8; 5 and 8 have no split in the graph
    assert plan[(0, 13)] == 5 and plan[(3, 16)] == 8  # the most balanced split, then the smallest middle frame
    # two hops at most: with offsets {1, 2, 3}, 2 = 1 + 1 is composed, so 3 = 1 + 2 is not (and 3 = 2 + 1 neither)
    plan = flow_plan({(i, i + o) for o in (1, 2, 3) for i in range(10 - o)})
    assert set(plan) == {(i, i + 2) for i in range(8)}
    assert flow_plan({(0, 4), (0, 8)}) == {}  # (4, 8) is missing


def test_hypot32_is_np_hypot_bit_for_bit(rng, monkeypatch):
    import stereodiff.flow as flow

    flows = (rng.standard_normal((48, 64, 2)) * 10.0 ** rng.integers(-40, 30, (48, 64, 2))).astype(np.float32)
    flows[0, :4] = [[np.inf, np.nan], [-np.inf, 1.0], [0.0, -0.0], [3.4e38, 3.4e38]]
    with np.errstate(over="ignore", invalid="ignore"):
        expected = np.hypot(flows[..., 0], flows[..., 1])
        found = hypot32(*flows.transpose(2, 0, 1))  # strided components, as the callers pass them
    assert found.dtype == np.float32 and found.shape == (48, 64)
    assert np.array_equal(found.view(np.uint32), expected.view(np.uint32))
    assert found[0, 0] == np.inf  # hypot(inf, NaN) is infinite, not the formula's NaN
    wide = flows.astype(np.float64)  # not float32: np.hypot itself, in float64
    assert np.array_equal(hypot32(wide[..., 0], wide[..., 1]), np.hypot(wide[..., 0], wide[..., 1]), equal_nan=True)
    monkeypatch.setattr(flow, "_hypot32_matches", lambda: False)  # a C library whose hypotf differs: np.hypot
    calls = []
    monkeypatch.setattr(flow, "_hypot32", lambda x, y: calls.append(1))
    small = flows[1:]
    assert np.array_equal(hypot32(small[..., 0], small[..., 1]), np.hypot(small[..., 0], small[..., 1])) and not calls


def test_inside_image_is_the_four_numpy_comparisons_bit_for_bit(rng, monkeypatch):
    """OpenCV's one-pass test of the positions gives numpy's comparisons exactly: bounds, NaN, infinities, margins
    that round in float32, both float types; other inputs take the comparisons themselves."""
    import cv2

    h, w = 24, 32
    calls = []
    in_range = cv2.inRange
    monkeypatch.setattr(cv2, "inRange", lambda *args: calls.append(1) or in_range(*args))

    def plain(target, margin):
        u, v = target[..., 0], target[..., 1]
        return (u >= margin) & (u <= w - 1 - margin) & (v >= margin) & (v <= h - 1 - margin)

    grid = pixel_grid(h, w)  # read-only, as the movers pass it
    target = grid + rng.normal(0.0, 4.0, (h, w, 2)).astype(np.float32)
    target[0, :6] = [[np.nan, 3.0], [3.0, np.nan], [np.inf, 3.0], [-np.inf, 3.0], [1e6, 1e6], [0.0, -0.0]]
    target[1, :4] = [[w - 1, h - 1], [w - 1 + 1e-5, 2.0], [2.1, 2.1], [np.nextafter(np.float32(2.1), 0), 4.0]]
    for array in (target, target.astype(np.float64), grid):
        for margin in (0, 2, 2.1, 1 / 3, 0.0):
            found = flow.inside_image(array, margin)
            assert found.dtype == bool and found.shape == (h, w)
            assert np.array_equal(found, plain(array, margin)), (array.dtype, margin)
    assert len(calls) == 15  # every contiguous float array with a Python margin took OpenCV's pass
    strided = np.concatenate([target, target], axis=-1)[..., 1:3]  # not contiguous: numpy's comparisons
    assert np.array_equal(flow.inside_image(strided, 1.5), plain(strided, 1.5))
    assert np.array_equal(flow.inside_image(target, np.float64(2.1)), plain(target, np.float64(2.1)))


def test_a_dis_engine_reused_across_pairs_gives_a_fresh_engines_flows(rng):
    """The movers' cut-track flows keep one engine per thread: DIS carries nothing from one call to the next."""
    base = (rng.random((60, 80)) * 255).astype(np.uint8)
    frames = [np.roll(base, (k, 2 * k), axis=(0, 1)) for k in range(4)]
    reused = dis_engine("medium")
    for a, b in ((0, 1), (2, 3), (1, 3), (0, 1)):
        kept, fresh = dis_flows(reused, frames[a], frames[b]), dis_flows(dis_engine("medium"), frames[a], frames[b])
        assert all(np.array_equal(x, y) for x, y in zip(kept, fresh))


def test_dis_engines_take_their_variational_iterations():
    """``variational_iterations`` (speed options) sets the engine's refinement iterations; ``None`` keeps the
    preset's, and a thread keeps the engine it made first."""
    import threading

    assert dis_engine("medium").getVariationalRefinementIterations() == 5
    assert dis_engine("medium", variational_iterations=3).getVariationalRefinementIterations() == 3
    assert dis_engine("fast", variational_iterations=0).getVariationalRefinementIterations() == 0
    local = threading.local()
    engine = flow.thread_dis_engine(local, "fast", 2)
    assert engine.getVariationalRefinementIterations() == 2 and flow.thread_dis_engine(local, "fast", 2) is engine


def test_matcher_speed_options_fewer_variational_iterations_and_unrefined_composed_flows(
    scene, scene_predictions, monkeypatch
):
    """``flow_variational_iterations`` reaches every DIS engine of the matcher and changes the depth;
    ``chain_refine_iterations=0`` uses the composed flows of the long pairs as they are (no variational pass),
    leaving the direct pairs as they were (docs/geometric.md, "Speed: number-changing candidates")."""
    frames, _, K, _ = scene
    _, reference = scene_predictions  # offsets (2, 3, 5): (a, a + 5) composed from (a, a + 2) and (a + 2, a + 5)
    made = []
    real_engine = geometric.dis_engine
    monkeypatch.setattr(geometric, "dis_engine", lambda *a, **k: made.append(k) or real_engine(*a, **k))
    fewer = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5), flow_variational_iterations=3)
    fewer_preds = fewer.predict(frames)
    assert made and all(k["variational_iterations"] == 3 for k in made)
    assert not np.array_equal(fewer_preds.pts_i, reference.pts_i)

    def refinement_made():
        raise AssertionError("a variational refinement was made")

    monkeypatch.setattr(cv2, "VariationalRefinement_create", refinement_made)
    plain = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5), chain_refine_iterations=0)
    plain_preds = plain.predict(frames)
    assert np.array_equal(plain_preds.pairs, reference.pairs)
    composed = np.abs(plain_preds.pairs[:, 1] - plain_preds.pairs[:, 0]) == 5
    assert composed.any() and (~composed).any()
    np.testing.assert_array_equal(plain_preds.pts_i[~composed], reference.pts_i[~composed])
    assert not np.array_equal(plain_preds.pts_i[composed], reference.pts_i[composed])
    with pytest.raises(ValueError, match="chain_refine_iterations"):
        GeometricMatcher(resolution=160, chain_refine_iterations=-1)


def test_motion_boundaries_flag_flow_steps_not_smooth_flow():
    h, w = 40, 60
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    # camera rotation + parallax on a slanted plane: large but smooth flow (gradient 0.05 px/px)
    smooth = np.stack([8.0 + 0.05 * u, -3.0 + 0.05 * v], axis=-1)
    assert not motion_boundaries(smooth).any()
    assert not motion_boundaries(smooth, margin_px=2).any()
    # an object moving 4 px right over a static background: its two edge columns are boundaries
    step = smooth.copy()
    step[10:30, 20:40, 0] += 4.0
    boundary = motion_boundaries(step)
    row = np.flatnonzero(boundary[20])
    np.testing.assert_array_equal(row, [19, 20, 39, 40])
    assert not boundary[:8].any() and not boundary[20, 22:38].any()  # away from the edges: smooth
    wide = motion_boundaries(step, margin_px=1)
    np.testing.assert_array_equal(np.flatnonzero(wide[20]), [18, 19, 20, 21, 38, 39, 40, 41])
    assert np.all(wide >= boundary)


def test_motion_boundary_check_keeps_static_pixels_off_moving_people():
    """indoor-dynamic: DIS drags the people's motion into the static pixels around them, which then triangulate to
    the people's depth. The motion-boundary check leaves most of them unmatched (confidence 1) and lowers the
    per-pair static error (measured at 160×120, 24 frames: ring matched 0.75 → 0.27, static AbsRel 0.133 → 0.081)."""
    from stereodiff.synth import make_scene

    video = make_scene("indoor-dynamic", seed=0, num_frames=24, height=120, width=160)
    ring_matched, static_error = {}, {}
    for margin in (None, 1):
        matcher = GeometricMatcher(
            resolution=160, intrinsics=video.K, offsets=(3, 5, 8), motion_boundary_margin_px=margin
        )
        preds = matcher.predict(video.frames)
        matched, errors = [], []
        for k, i in enumerate(preds.pairs[:, 0]):
            dynamic, gt = video.dynamic_mask[i], video.depth[i]
            ring = cv2.dilate(dynamic.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~dynamic & (gt > 0)
            static = ~dynamic & (gt > 0) & (preds.conf_i[k] > 1)
            if static.sum() < 100:  # a failed pair (too little parallax)
                continue
            z = preds.pts_i[k][..., 2]
            scale = np.median(gt[static] / z[static])
            matched.append(np.mean(preds.conf_i[k][ring] > 1) if ring.any() else np.nan)
            errors.append(np.mean(np.abs(scale * z[static] - gt[static]) / gt[static]))
        ring_matched[margin], static_error[margin] = np.nanmean(matched), np.median(errors)
    assert ring_matched[1] < 0.5 * ring_matched[None], ring_matched
    assert static_error[1] < 0.8 * static_error[None], static_error


def test_composed_flow_matches_a_known_motion():
    h, w = 40, 50
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    flow_am = np.stack([np.full_like(u, 3.0), 0.1 * v], axis=-1)  # a → m: 3 px right, shear down
    flow_mb = np.stack([0.05 * u, np.full_like(v, -2.0)], axis=-1)  # m → b: stretch right, 2 px up
    flow_ab = compose_flows(flow_am, flow_mb)
    mid_u, mid_v = u + 3.0, 1.1 * v
    inside = (mid_u <= w - 1) & (mid_v <= h - 1)
    expected = np.stack([mid_u + 0.05 * mid_u - u, mid_v - 2.0 - v], axis=-1)
    np.testing.assert_allclose(flow_ab[inside], expected[inside], atol=1e-3)
    assert np.all(np.abs(flow_ab[~inside]).max(axis=-1) > 1e5)  # left m's image: pushed out of b's image too


def test_static_camera_fails_gracefully(scene, caplog):
    frames, _, K, _ = scene
    still = np.repeat(frames[:1], 4, axis=0)
    matcher = GeometricMatcher(resolution=160, intrinsics=K, offsets=(1,))
    with caplog.at_level(logging.INFO, logger="stereodiff"):
        preds = matcher.predict(still)
    assert not any(g.ok for g in matcher.report.pairs)
    assert matcher.report.failed_frames == [0, 1, 2, 3]
    assert np.all(preds.conf_i == 1) and np.all(np.isfinite(preds.pts_j))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "failed" in r.message]
    assert warnings and not re.search(r"\bx°|\bx\b", warnings[0])  # the real figures, no placeholder
    assert re.search(r"\d+ of \d+ pairs failed \(\d+× ", warnings[0])


def test_failure_summary_prints_measured_figures_and_thresholds():
    eye, zero = np.eye(3), np.zeros(3)
    failed = [
        PairGeometry((k, k + 1), eye, zero, False, "", median_angle_deg=angle, failure="low parallax")
        for k, angle in enumerate([0.031, 0.12, 0.209])
    ]
    failed += [PairGeometry((9, 10), eye, zero, False, "", inlier_fraction=0.123, failure="low inlier fraction")]
    failed += [PairGeometry((11, 12), eye, zero, False, "", failure="no flow matches")] * 2
    text = failure_summary(failed, min_angle_deg=0.25)
    assert text == (
        "3× median parallax 0.03–0.21° (median 0.12°) < 0.25°; 2× too few consistent flow matches (no texture?); "
        "1× essential-matrix inliers 12 % < 30 %"
    )


def test_input_validation(scene):
    frames, _, K, _ = scene
    matcher = GeometricMatcher(resolution=160, intrinsics=K)
    with pytest.raises(InputError, match="uint8"):
        matcher.predict(frames.astype(np.float32))
    with pytest.raises(InputError, match="at least 2 frames"):
        matcher.predict(frames[:1])
    with pytest.raises(InputError, match="pairs must index frames"):
        matcher.predict(frames, np.array([[0, 10]]))
    with pytest.raises(InputError, match="itself"):
        matcher.predict(frames, np.array([[2, 2]]))
    with pytest.raises(ValueError, match="resolution"):
        GeometricMatcher(resolution=8)
    with pytest.raises(ValueError, match="flow_preset"):
        GeometricMatcher(flow_preset="slow")
    with pytest.raises(ValueError, match="flow_patch_stride"):
        GeometricMatcher(flow_patch_stride=0)
    with pytest.raises(ValueError, match="flow_descent_iterations"):
        GeometricMatcher(flow_descent_iterations=0)
    with pytest.raises(ValueError, match="motion_boundary_margin_px"):
        GeometricMatcher(motion_boundary_margin_px=-1)
    assert fit_long_side(480, 640, 320) == (240, 320)


@pytest.mark.parametrize(
    ("long_side", "full_resolution", "finest_scale", "patch_stride"),
    [(320, None, 0, 4), (400, None, 0, 4), (512, None, 1, 3), (512, True, 0, 4), (320, False, 1, 3)],
)
def test_flow_resolution_follows_the_working_size(long_side, full_resolution, finest_scale, patch_stride):
    # default: DIS refined down to the working resolution up to 400 px, the medium preset (finest scale 1) above
    matcher = GeometricMatcher(resolution=long_side, flow_full_resolution=full_resolution)
    matcher._long_side = long_side  # as predict sets it for frames at least this large
    dis = matcher._flow_engine()
    assert (dis.getFinestScale(), dis.getPatchStride()) == (finest_scale, patch_stride)
    assert dis.getGradientDescentIterations() == (12 if finest_scale == 0 else 25)  # the medium preset's: 25


def test_alignment_and_fusion_recover_static_depth(scene, scene_predictions):
    from stereodiff.stage1.alignment import global_alignment

    _, depth, _, dynamic = scene
    _, preds = scene_predictions
    static = ~dynamic & np.isfinite(depth)

    def static_absrel(pred: np.ndarray, valid: np.ndarray) -> float:
        use = static & valid
        scale = np.exp(np.median(np.log(depth[use] / pred[use])))  # one scale for the whole video
        return float(np.mean(np.abs(scale * pred[use] - depth[use]) / depth[use]))

    plain = global_alignment(preds)
    geometry = global_alignment(preds, robust_scale=True, global_scale_solve=True)
    holes = untriangulated_mask(preds, geometry)
    fused = fuse_pair_depths(preds, geometry)
    tree_plain = static_absrel(plain.depth, plain.valid & ~untriangulated_mask(preds, plain))
    tree_refined = static_absrel(geometry.depth, geometry.valid & ~holes)
    fused_error = static_absrel(fused.depth, fused.valid)
    # measured: 0.16 (official-style chain), 0.04 (robust scale + global scale solve), 0.027 (fused)
    assert tree_refined < 0.6 * tree_plain, (tree_refined, tree_plain)
    assert fused_error < 0.03, fused_error
    assert (fused.valid & static).sum() > 0.9 * static.sum()
    assert (fused.valid & static).sum() > (geometry.valid & ~holes & static).sum()
    np.testing.assert_array_equal(fused.cam_to_world, geometry.cam_to_world)
    # the fused depth keeps the alignment's global scale
    both = fused.valid & geometry.valid & ~holes
    assert abs(np.median(fused.depth[both] / geometry.depth[both]) - 1) < 0.05
    single = fuse_pair_depths(preds, geometry, num_workers=1)  # frames run on 2 threads by default: same output
    np.testing.assert_array_equal(single.depth, fused.depth)
    np.testing.assert_array_equal(single.confidence, fused.confidence)
    assert fused.pair_spread is None  # asked for by movers_far_spread only
    spread = fuse_pair_depths(preds, geometry, spread=True)
    np.testing.assert_array_equal(spread.depth, fused.depth)
    pairs = spread.pair_spread
    assert pairs.shape == fused.depth.shape and not pairs[~spread.valid].any() and (pairs >= 0).all()
    seen = static & spread.valid & (pairs > 0)  # pixels at least two pairs triangulated
    assert seen.sum() > 0.5 * static.sum()
    # a static point has one depth in every pair: the log depths' spread is the matching noise, a few %
    assert np.median(pairs[seen]) < 0.03, np.median(pairs[seen])


@pytest.mark.slow
def test_7scenes_stage1_accuracy(shared_data):
    """The issue's real-data target: AbsRel ≤ 0.13, δ1 ≥ 0.85, coverage ≥ 90 % at 320 px (the standard protocol,
    ``evaluate_sequence``, over the pixels with a fused depth)."""
    from stereodiff.eval.datasets import load_dataset
    from stereodiff.eval.protocol import evaluate_sequence, resize_prediction
    from stereodiff.stage1.alignment import global_alignment

    (sequence,) = load_dataset("7scenes", shared_data / "rgbd-7scenes-50")
    frames = np.stack([sequence.frames[t] for t in range(len(sequence.depth))])
    preds = GeometricMatcher(resolution=320, intrinsics=sequence.K[0]).predict(frames)
    geometry = global_alignment(preds, robust_scale=True, global_scale_solve=True)
    fused = fuse_pair_depths(preds, geometry)
    pred = resize_prediction(np.where(fused.valid, fused.depth, 0), sequence.depth.shape[1:], "nearest")
    m = evaluate_sequence(pred, sequence.depth, pred_kind="depth", max_depth=10, valid_mask=pred > 0)
    gt_ok = (sequence.depth > 1e-3) & (sequence.depth < 10)
    coverage = (gt_ok & (pred > 0)).sum() / gt_ok.sum()
    assert m.abs_rel <= 0.13 and m.delta1 >= 0.85 and coverage >= 0.9, (m.abs_rel, m.delta1, coverage)


@pytest.mark.slow
def test_synthetic_presets_static_depth_and_dynamic_confidence():
    """issue 3's scenes at 320 px (the fast tests above use a 160-px plane scene): static AbsRel < 0.03 after
    alignment + fusion on the orbiting camera; people walking in the room get clearly lower confidence."""
    from stereodiff.eval.protocol import evaluate_sequence
    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.synth import make_scene

    video = make_scene("static-orbit", seed=0, num_frames=24, height=240, width=320)
    preds = GeometricMatcher(resolution=320, intrinsics=video.K).predict(video.frames)
    geometry = global_alignment(preds, robust_scale=True, global_scale_solve=True)
    fused = fuse_pair_depths(preds, geometry)
    use = fused.valid & (video.depth > 0)
    max_depth = float(video.depth.max()) + 1
    m = evaluate_sequence(fused.depth, video.depth, pred_kind="depth", max_depth=max_depth, valid_mask=use)
    assert m.abs_rel < 0.03, m.abs_rel
    assert use.sum() > 0.9 * (video.depth > 0).sum()  # measured 94.6 % (depth edges are motion boundaries)

    video = make_scene("indoor-dynamic", seed=0, num_frames=24, height=240, width=320)
    preds = GeometricMatcher(resolution=320, intrinsics=video.K).predict(video.frames)
    static = ~video.dynamic_mask & (video.depth > 0)
    conf_static = np.mean([preds.conf_i[k][static[i]].mean() for k, i in enumerate(preds.pairs[:, 0])])
    conf_dynamic = np.mean(
        [
            preds.conf_i[k][video.dynamic_mask[i]].mean()
            for k, i in enumerate(preds.pairs[:, 0])
            if video.dynamic_mask[i].any()
        ]
    )
    assert conf_dynamic < 0.6 * conf_static, (conf_dynamic, conf_static)


def test_fusion_with_one_direction_only(scene, scene_predictions):
    from stereodiff.stage1.alignment import global_alignment

    _, preds = scene_predictions
    half = preds.num_pairs // 2
    forward = PairPredictions(
        pairs=preds.pairs[:half], pts_i=preds.pts_i[:half], pts_j=preds.pts_j[:half],
        conf_i=preds.conf_i[:half], conf_j=preds.conf_j[:half], num_frames=preds.num_frames,
    )  # fmt: skip
    geometry = global_alignment(forward)
    fused = fuse_pair_depths(forward, geometry)
    last = preds.num_frames - 1  # never a first frame: keeps the aligned depth, holes invalid
    holes = untriangulated_mask(forward, geometry)
    np.testing.assert_array_equal(fused.valid[last], geometry.valid[last] & ~holes[last])
    np.testing.assert_allclose(fused.depth[last][fused.valid[last]], geometry.depth[last][fused.valid[last]])
    assert fused.valid[0].mean() > 0.8


def test_fusion_weak_rim_leaves_poorly_matched_pixels_next_to_holes_as_holes(scene, scene_predictions):
    """``weak_rim``: fused pixels near the holes whose flow support (Σ w_flow, the parallax factor divided out) is at
    most ``min_support`` become holes, the others keep their depth; the flow weight undoes the confidence's angle
    factor; a weak pixel far from every hole stays."""
    import copy

    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.fusion import WeakRim, leave_weak_rim, other_centres

    _, preds = scene_predictions
    geometry = global_alignment(preds, robust_scale=True, global_scale_solve=True)
    plain = fuse_pair_depths(preds, geometry)
    cut = leave_weak_rim(preds, copy.deepcopy(plain), WeakRim(min_support=1.5, rim_px=8))
    dropped = plain.valid & ~cut.valid
    assert 0 < dropped.sum() < 0.2 * plain.valid.sum()
    assert not (cut.valid & ~plain.valid).any() and np.all(cut.depth[dropped] == 0)
    assert np.all(cut.confidence[dropped] == 0)
    np.testing.assert_array_equal(cut.depth[cut.valid], plain.depth[cut.valid])
    none = leave_weak_rim(preds, copy.deepcopy(plain), WeakRim(min_support=0.0))
    np.testing.assert_array_equal(none.valid, plain.valid)
    # the other camera's centre: pair (i, j) and its reverse (j, i) see each other at the same distance
    centres = other_centres(preds)
    half = preds.num_pairs // 2
    np.testing.assert_allclose(np.linalg.norm(centres[:half], axis=1), np.linalg.norm(centres[half:], axis=1))
    # w_flow undoes the angle factor: a point seen at 1° (w_angle 0.25) with c − 1 = 9 · 0.8 · 0.25 has w_flow 0.8
    rim = WeakRim(min_support=1.0, rim_px=2)
    angle = np.radians(1.0)
    point = np.array([[[0.0, 0.0, 1.0]]])
    centre = np.array([np.tan(angle), 0.0, 0.0])
    np.testing.assert_allclose(rim.flow_weight(point, centre, np.array([[9 * 0.8 * 0.25]])), [[0.8]], rtol=1e-3)
    valid = np.ones((9, 12), bool)
    valid[:, :3] = False  # no pair triangulated these
    support = np.full((9, 12), 3.0)
    support[4, 3] = support[4, 10] = 0.5
    expected = np.zeros((9, 12), bool)
    expected[4, 3] = True  # next to the hole; (4, 10) is 7 px away
    np.testing.assert_array_equal(rim.weak(valid, support), expected)


def test_fusion_weak_rim_keep_given_spares_the_movers_steps_pixels(scene_predictions):
    """``keep_given``: the pixels whose depth the movers step gave (``movers_given``) stay, whatever their flow
    support; the other weak pixels still go; without it they go like the rest."""
    import copy
    import dataclasses

    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.fusion import WeakRim, leave_weak_rim

    _, preds = scene_predictions
    plain = fuse_pair_depths(preds, global_alignment(preds, robust_scale=True, global_scale_solve=True))
    rim = WeakRim(min_support=1.5, rim_px=8)
    dropped = plain.valid & ~leave_weak_rim(preds, copy.deepcopy(plain), rim).valid
    given = np.zeros_like(dropped)
    k = int(np.argmax(dropped.sum(axis=(1, 2))))
    given[k] = dropped[k]  # one frame's weak pixels: given by the movers step
    assert given.any() and (dropped & ~given).any()
    with_given = dataclasses.replace(copy.deepcopy(plain), movers_given=given)
    kept = leave_weak_rim(preds, copy.deepcopy(with_given), rim, keep_given=True)
    np.testing.assert_array_equal(plain.valid & ~kept.valid, dropped & ~given)
    np.testing.assert_array_equal(kept.depth[given], plain.depth[given])
    not_kept = leave_weak_rim(preds, copy.deepcopy(with_given), rim)
    np.testing.assert_array_equal(plain.valid & ~not_kept.valid, dropped)


def test_fusion_weak_rim_spares_small_islands_and_nearer_pixels():
    """``min_island``: weak pixels of a small covered island inside a hole (e.g. an unflagged mover's few triangulated
    pixels) stay, the main region's weak rim goes; with ``island_nearer`` only an island nearer than its surroundings
    stays, with ``island_hole`` only an island in a hole of at least that share of the frame."""
    from stereodiff.stage1.fusion import WeakRim

    valid = np.ones((20, 40), bool)
    valid[:, :20] = False  # a large hole (half the frame)
    valid[8:11, 8:11] = True  # a 9-pixel island inside it
    valid[15:17, 30:32] = False  # a small hole in the covered half
    support = np.full(valid.shape, 0.1)  # every pixel weak
    flat = np.full(valid.shape, 4.0)
    near = flat.copy()
    near[8:11, 8:11] = 1.0  # the island is an occluder
    plain = WeakRim(min_support=0.5, rim_px=2).weak(valid, support)
    assert plain[9, 9] and plain[5, 20] and plain[14, 30]
    island = WeakRim(min_support=0.5, rim_px=2, min_island=0.02).weak(valid, support)  # 0.02 · 800 = 16 px
    assert not island[8:11, 8:11].any() and island[5, 20] and island[14, 30]
    np.testing.assert_array_equal(island & ~plain, False)
    island_near = WeakRim(min_support=0.5, rim_px=2, min_island=0.02, island_nearer=0.3)
    np.testing.assert_array_equal(island_near.weak(valid, support, near), island)
    np.testing.assert_array_equal(island_near.weak(valid, support, flat), plain)  # an island as far: noise
    in_large_hole = WeakRim(min_support=0.5, rim_px=2, min_island=0.02, island_hole=0.4)  # its hole: 391 px
    np.testing.assert_array_equal(in_large_hole.weak(valid, support), island)
    in_small_hole = WeakRim(min_support=0.5, rim_px=2, min_island=0.02, island_hole=0.6)  # 480 px: it is not
    np.testing.assert_array_equal(in_small_hole.weak(valid, support), plain)
    with pytest.raises(ValueError, match="depth"):
        island_near.weak(valid, support)


def test_pipeline_geometric_stage1_fuses_pairs(scene, tmp_path):
    from stereodiff.config import PipelineConfig
    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage2.configs import NoStage2Config
    from stereodiff.types import Video

    frames, depth, K, dynamic = scene
    config = PipelineConfig(
        stage1=GeometricConfig(resolution=160, focal_px=float(K[0, 0])), stage2=NoStage2Config(), device="cpu"
    )
    pipeline = StereoDiffPipeline.from_config(config)
    assert pipeline.stage1.focal_px == K[0, 0]
    for run_dir in (None, tmp_path / "run"):
        result = pipeline(Video(frames), run_dir=run_dir)
        geometry = result.geometry
        static = ~dynamic & np.isfinite(depth) & geometry.valid
        assert static.sum() > 0.85 * (~dynamic & np.isfinite(depth)).sum()  # fused: few holes
        scale = np.exp(np.median(np.log(depth[static] / geometry.depth[static])))
        assert np.mean(np.abs(scale * geometry.depth[static] - depth[static]) / depth[static]) < 0.04


def test_threads_do_not_change_the_output(scene, scene_predictions):
    frames, _, K, _ = scene
    _, reference = scene_predictions  # computed with the default 2 workers (composed flows wait for their halves)
    single = GeometricMatcher(resolution=160, intrinsics=K, num_workers=1).predict(frames, reference.pairs)
    np.testing.assert_array_equal(single.pts_i, reference.pts_i)
    np.testing.assert_array_equal(single.conf_j, reference.conf_j)


def _static_frame_log_scales(depth: np.ndarray, valid: np.ndarray, gt: np.ndarray, static: np.ndarray) -> np.ndarray:
    """``[T]`` median log(gt / depth) of each frame over its valid static pixels."""
    return np.array([np.median(np.log(gt[k][use] / depth[k][use])) for k, use in enumerate(valid & static)])


def test_fusion_discounts_a_pair_whose_views_disagree_with_the_others(scene, scene_predictions):
    """A pair with a wrong pose (as TUM fr1/desk's fast-rotating, rolling-shutter frames give) has depth maps of
    another shape than the other pairs of its frames, and the two views at inconsistent scales: its scale equations
    spread widely and must not pull the frames' relative scales (before: they counted as much as a good pair's)."""
    from stereodiff.stage1.alignment import global_alignment

    _, depth, _, dynamic = scene
    _, preds = scene_predictions
    static = ~dynamic & np.isfinite(depth)
    rng = np.random.default_rng(0)
    corrupted = PairPredictions(
        pairs=preds.pairs, pts_i=preds.pts_i.copy(), pts_j=preds.pts_j, conf_i=preds.conf_i,
        conf_j=preds.conf_j, num_frames=preds.num_frames,
    )  # fmt: skip
    pairs = [tuple(p) for p in preds.pairs.tolist()]
    for a, b in [(2, 5), (4, 7)]:  # offset-3 pairs: each frame keeps other pairs
        for p, factor in ((pairs.index((a, b)), 1.0), (pairs.index((b, a)), 1.6)):  # views 60 % apart in scale
            shape = np.exp(rng.normal(0.0, 0.4, preds.size))  # a depth of another shape
            corrupted.pts_i[p] *= (factor * shape)[..., None]
    geometry = global_alignment(corrupted, robust_scale=True, global_scale_solve=True)
    fused = fuse_pair_depths(corrupted, geometry)
    scales = _static_frame_log_scales(fused.depth, fused.valid, depth, static)
    clean = [0, 1, 3, 6, 8, 9]  # the frames of the corrupted pairs also average their depth: a local error
    # measured: spread 0.001 (0.044 with unweighted scale equations)
    assert np.ptp(scales[clean]) < 0.02, scales


def _fused_frame_log_scales(bias: float, view_offsets: bool) -> np.ndarray:
    """``[40]`` log-scale error of each frame fused from pairs of offsets 3, 5, 8 (each at an unknown scale) whose
    later view is off by ``bias`` (log) when the pair's middle frame is in 10–24, as the fusion's equations see it
    (every pair of a frame against its first one)."""
    from stereodiff.stage1.fusion import _solve_log_scales

    rng = np.random.default_rng(0)
    num_frames = 40
    edges = [(a, a + o) for o in (3, 5, 8) for a in range(num_frames - o)]
    own = rng.normal(0.0, 0.5, len(edges))
    biased = np.array([bias if 10 <= (a + b) // 2 < 25 else 0.0 for a, b in edges])
    views: dict[int, list[tuple[int, int]]] = {}
    for e, (a, b) in enumerate(edges):
        views.setdefault(a, []).append((e, 0))
        views.setdefault(b, []).append((e, 1))

    def error(e: int, second: int) -> float:  # log depth of the view minus the frame's true log depth
        return own[e] + second * biased[e]

    eqs = [
        (e, vs[0][0], error(*vs[0]) - error(e, sec), 2500.0, sec, vs[0][1])
        for vs in views.values()
        for e, sec in vs[1:]
    ]
    middle = np.array([(a + b) // 2 for a, b in edges])
    scales, tau = _solve_log_scales(*(np.array(c) for c in zip(*eqs)), len(edges), num_frames,
                                    middle if view_offsets else None)  # fmt: skip
    offset = np.zeros(len(edges)) if tau is None else tau[middle]
    return np.array([np.mean([error(e, s) + scales[e] + s * offset[e] for e, s in views[k]]) for k in range(40)])


def test_fusion_view_offsets_remove_a_scale_drift_the_loops_see():
    """TUM fr1/desk's frames 20–46: a pair's later view is off by about the same log-scale whatever its offset,
    which one scale per pair chains into a step of the per-frame scale; the loops (3 + 5 against 8) see it, and
    ``view_offsets`` removes it; without such a bias it adds nothing."""
    # measured: step 0.151 without the offsets, 0.016 with them; 0 without a bias either way
    assert np.ptp(_fused_frame_log_scales(-0.05, False)) > 0.12
    assert np.ptp(_fused_frame_log_scales(-0.05, True)) < 0.03
    assert np.ptp(_fused_frame_log_scales(0.0, True)) < 1e-6


def _phantom_in_frames_4_5(preds: PairPredictions, fraction: float) -> tuple[PairPredictions, np.ndarray, dict]:
    """A copy of ``preds`` with a confident phantom filling the left 64 columns (40 % of the frame) of the views of
    frames 4 and 5, moved along the pixels' rays to ``fraction`` × each view's static median depth; returns it, the
    region ``[h,w]`` bool and those medians by pair index."""
    phantom = PairPredictions(
        pairs=preds.pairs, pts_i=preds.pts_i.copy(), pts_j=preds.pts_j, conf_i=preds.conf_i.copy(),
        conf_j=preds.conf_j, num_frames=preds.num_frames,
    )  # fmt: skip
    region = np.zeros(preds.size, bool)
    region[:, :64] = True
    medians = {}
    for p, k in enumerate(preds.pairs[:, 0].tolist()):
        if k in (4, 5):
            z = phantom.pts_i[p][..., 2]
            medians[p] = np.median(z[phantom.conf_i[p] > 1])
            phantom.pts_i[p][region] *= (fraction * medians[p] / z[region])[..., None]
            phantom.conf_i[p][region] = 5.0
    return phantom, region, medians


def test_depth_range_window_rejects_phantoms_that_pull_their_frames_median(scene_predictions):
    """Issue #20 (s37-range): a mover walking along the epipolar lines looks static at a fraction of its depth; in
    frames 4–5 it fills 40 % of every view, 0.17× the static median, which pulls the views' own medians down so it
    passes a bound of 0.2× them (indoor-dynamic s520, frames 39–51). ``near_bound`` measures the bound against the
    median of the frames around instead: the phantom becomes a hole, the static pixels stay; against the frame's own
    median (a window of 0) it passes; a frame where the bound would make fewer holes than ``min_area`` is left as
    it was."""
    from stereodiff.stage1.alignment import global_alignment

    _, preds = scene_predictions
    pulled, region, static_median = _phantom_in_frames_4_5(preds, 0.17)
    for p, median in static_median.items():  # the own median's bound lets the phantom pass
        assert 0.17 * median > 0.2 * np.median(pulled.pts_i[p][..., 2][pulled.conf_i[p] > 1])
    geometry = global_alignment(pulled, robust_scale=True, global_scale_solve=True)
    off = fuse_pair_depths(pulled, geometry)
    on = fuse_pair_depths(pulled, geometry, near_bound=(0.2, 3, 0.3))
    for k in (4, 5):
        assert off.valid[k][region].mean() > 0.99
        assert on.valid[k][region].mean() < 0.01, on.valid[k][region].mean()
        np.testing.assert_array_equal(on.valid[k][~region], off.valid[k][~region])
    others = [k for k in range(preds.num_frames) if k not in (4, 5)]
    np.testing.assert_array_equal(on.valid[others], off.valid[others])  # no static pixel is that near
    own = fuse_pair_depths(pulled, geometry, near_bound=(0.2, 0, 0.3))  # the frame's own median: pulled, it passes
    assert own.valid[4][region].mean() > 0.99 and own.valid[5][region].mean() > 0.99
    # a frame where the bound would make holes of less than min_area (here 50 %: the phantom is 40 %) is left as it was
    small = fuse_pair_depths(pulled, geometry, near_bound=(0.2, 3, 0.5))
    np.testing.assert_array_equal(small.valid, off.valid)
    np.testing.assert_allclose(small.depth, off.depth, rtol=1e-6)
    with pytest.raises(ValueError, match="depth_range_window"):
        GeometricConfig(depth_range_window=-1).validate()
    with pytest.raises(ValueError, match="depth_range_window_area"):
        GeometricConfig(depth_range_window_area=1.0).validate()


def test_depth_range_phantom_raises_only_the_window_bound(scene_predictions):
    """Issue #20 (s38-phantom): a mover walking against a sideways camera looks static at a fraction of its depth;
    where that fraction rises past ``depth_range[0]`` of the median (indoor-dynamic s522 frames 22–34, 0.21–0.30×;
    s607 person 12 frames 20–26, 0.21–0.25×) the bound of 0.2 admits it. ``depth_range_phantom`` raises the fusion's
    window bound (``near_bound``) only: a phantom at 0.25× the static median filling 40 % of frames 4–5 becomes a
    hole at 0.3, is kept at the matcher's 0.2, and is kept by the area floor when it is smaller than it; the
    static pixels stay."""
    from stereodiff.stage1.alignment import global_alignment

    matcher, preds = scene_predictions
    phantom, region, _ = _phantom_in_frames_4_5(preds, 0.25)
    geometry = global_alignment(phantom, robust_scale=True, global_scale_solve=True)
    # the matcher's setting reaches the fusion: its window bound at 0.3, the view's own bound unchanged
    on = GeometricMatcher(matcher.settings, depth_range_window=3, depth_range_window_area=0.3, depth_range_phantom=0.3)
    assert on._near_bound() == (0.3, 3, 0.3) and on.depth_range == matcher.depth_range
    assert GeometricMatcher(matcher.settings, depth_range_window=3)._near_bound()[0] == matcher.depth_range[0]
    usual = fuse_pair_depths(phantom, geometry, near_bound=(0.2, 3, 0.3))
    raised = fuse_pair_depths(phantom, geometry, near_bound=on._near_bound())
    for k in (4, 5):
        assert usual.valid[k][region].mean() > 0.99  # 0.25× passes the bound of 0.2
        assert raised.valid[k][region].mean() < 0.01, raised.valid[k][region].mean()
        np.testing.assert_array_equal(raised.valid[k][~region], usual.valid[k][~region])
    others = [k for k in range(preds.num_frames) if k not in (4, 5)]
    np.testing.assert_array_equal(raised.valid[others], usual.valid[others])  # no static pixel is that near
    small = fuse_pair_depths(phantom, geometry, near_bound=(0.3, 3, 0.5))  # the area floor (50 %) keeps it
    np.testing.assert_array_equal(small.valid, usual.valid)
    with pytest.raises(ValueError, match="depth_range_phantom"):
        GeometricConfig(depth_range_phantom=0.3).validate()  # needs the window
    with pytest.raises(ValueError, match="depth_range_phantom"):
        GeometricConfig(depth_range_window=8, depth_range_phantom=0.15).validate()  # not above depth_range[0]
    GeometricConfig(depth_range_window=8, depth_range_phantom=0.3).validate()


def test_near_regions_cut_a_phantom_whole_or_not_at_all():
    """``depth_range_phantom_reach`` (s38-phantom): after the fusion, each region nearer than ``lo × reach`` times
    the window's median is cut whole when its median is nearer than ``lo``: a phantom at 0.25× the median (wall at 4,
    patch at 1) goes, including its pixels just above the bound; a region straddling the bound with its median
    above it (0.33×: indoor-dynamic s675, close-object s670) stays whole, where a per-pixel bound cut part of it."""
    from stereodiff.stage1.fusion import near_regions

    num_frames, h, w = 12, 60, 80
    depth = np.full((num_frames, h, w), 4.0, np.float32)
    depth[:, 10:30, 10:30] = 1.0  # a phantom at 0.25× the median
    depth[:, 12:14, 12:30] = 1.25  # a stripe of it just above 0.3× (1.2)
    depth[:, 40:55, 40:70] = np.where(np.arange(30) % 3 == 0, 1.1, 1.35)  # straddles 0.3×, median 1.35 above
    scene = SceneGeometry(
        depth=depth, confidence=np.full_like(depth, 5.0), focal=np.full(num_frames, 50.0),
        principal_point=np.tile([40.0, 30.0], (num_frames, 1)), cam_to_world=np.tile(np.eye(4), (num_frames, 1, 1)),
        valid=np.ones(depth.shape, bool),
    )  # fmt: skip
    frames = dict(near_regions(scene, 0.3, 3, 0.01, 1.2))
    assert sorted(frames) == list(range(num_frames))
    marked = np.stack([frames[k] for k in range(num_frames)])
    assert marked[:, 10:30, 10:30].all()  # the phantom and its stripe above the bound
    assert not marked[:, 40:55, 40:70].any()  # kept whole, not in part
    assert marked.sum() == num_frames * 400
    assert not list(near_regions(scene, 0.2, 3, 0.01, 1.2))  # 0.25× is above a bound of 0.2
    assert not list(near_regions(scene, 0.3, 3, 0.1, 1.2))  # 400 px = 8 % of the frame: under an area floor of 10 %
    with pytest.raises(ValueError, match="depth_range_phantom_reach"):
        GeometricConfig(depth_range_window=8, depth_range_phantom=0.3, depth_range_phantom_reach=0.5).validate()


def test_lens_distortion_is_removed_before_the_geometry(scene):
    """Frames rendered through a barrel-distorted lens: with the distortion given, each pixel's depth (on the
    input pixel grid) matches the distorted ground truth as well as on a pinhole camera; without it, much worse."""
    from stereodiff.stage1.pair_steps import undistorted_grid

    frames, depth, K, dynamic = scene
    coefficients = (-0.3, 0.08, 0.0, 0.0, 0.0)
    grid = undistorted_grid(depth.shape[1:], K, coefficients)  # distorted pixel → where the pinhole image has it
    # the grid is OpenCV's inverse of the distortion: distorting it again gives the pixel grid back
    rays = np.concatenate([(grid.reshape(-1, 2) - K[:2, 2]) / np.diag(K)[:2], np.ones((grid[..., 0].size, 1))], 1)
    back, _ = cv2.projectPoints(rays, np.zeros(3), np.zeros(3), K, np.asarray(coefficients))
    v, u = np.mgrid[0 : depth.shape[1], 0 : depth.shape[2]]
    np.testing.assert_allclose(back.reshape(grid.shape), np.stack([u, v], -1), atol=1e-3)

    remap = [grid[..., 0], grid[..., 1]]
    distorted = np.stack([cv2.remap(f, *remap, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT) for f in frames])
    gt = np.stack([cv2.remap(d, *remap, cv2.INTER_NEAREST, borderValue=np.inf) for d in depth])
    static = np.stack([cv2.remap(m.astype(np.uint8), *remap, cv2.INTER_NEAREST) == 0 for m in dynamic])
    static &= np.isfinite(gt)

    def pair_error(**settings) -> float:
        matcher = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5), **settings)
        preds = matcher.predict(distorted)
        errors = []
        for k, i in enumerate(preds.pairs[:, 0]):
            use = static[i] & (preds.conf_i[k] > 3)
            z = preds.pts_i[k][..., 2][use]
            scale = np.median(gt[i][use] / z)
            errors.append(np.mean(np.abs(scale * z - gt[i][use]) / gt[i][use]))
        return float(np.median(errors))

    given, ignored = pair_error(distortion=coefficients), pair_error()
    # measured: 0.022 with the distortion given, 0.152 without
    assert given < 0.03 and given < 0.5 * ignored, (given, ignored)
    with pytest.raises(InputError, match="focal"):
        GeometricMatcher(distortion=coefficients)


def test_per_frame_pair_graph_reaches_farther_where_the_camera_slows_down():
    """Issue #20: a camera that moves fast for 10 frames, then at 12 % of that speed. The fixed offsets of the
    whole video ({2, 3, 5} here) leave the slow part's pairs below the parallax floor (13 pairs failed); per frame,
    the slow part is paired 5-13 frames apart and the fast part 1-3 (5 failed, at the change of speed)."""
    frames, _, _, _ = _render_scene(num_frames=24, speed=np.r_[np.full(10, 1.0), np.full(13, 0.12)])
    fixed = GeometricMatcher(resolution=160)
    fixed.predict(frames)
    local = GeometricMatcher(resolution=160, pair_graph="per_frame")
    preds = local.predict(frames)
    first = local.report.frame_offsets
    assert fixed.report.frame_offsets == [] and len(first) == 24
    assert max(first[:8]) == 1 and min(first[16:]) >= 5, first
    assert preds.num_pairs <= 2 * 3 * 24 and set(local.report.offsets) >= {1, 5, 8}
    failed = [sum(not g.ok for g in m.report.pairs) for m in (fixed, local)]
    assert failed[1] < 0.5 * failed[0], failed  # measured 5 vs 13


def _offsets_at_focal(frames: np.ndarray, focal_px: float, **settings) -> tuple[tuple[int, ...], float]:
    """The adaptive offsets (and the measured parallax per frame) with the focal given as ``focal_px``."""
    matcher = GeometricMatcher(resolution=160, focal_px=focal_px, **settings)
    matcher.predict(frames[:2])  # sets up the run's state (report, undistortion); offsets are then probed alone
    gray = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames])
    offsets = matcher._adaptive_offsets(gray, matcher._intrinsics(frames.shape[1:3], gray.shape[1:], gray)[0])
    return offsets, matcher.report.angle_per_frame_deg


def test_adaptive_offsets_do_not_flip_with_a_focal_10_percent_off():
    """Issue #20: with the essential matrix's rotation the measured parallax swung ±10-60 % with a focal 10 % off
    (7-Scenes {2,3,5} / {5,8,13} / {8,13,21}); the best pure rotation's residual in pixels does not depend on it."""
    frames, _, K, _ = _render_scene(num_frames=12, turn=(0.006, (0.3, 1.0, 0.0)), step=(0.04, 0.01, 0.01))
    runs = [_offsets_at_focal(frames, ratio * K[0, 0]) for ratio in (0.9, 1.0, 1.1)]
    (offsets, angle), others = runs[1], runs[::2]
    assert all(o == offsets for o, _ in others), runs
    assert all(abs(a / angle - 1) < 0.03 for _, a in others), runs
    # the essential matrix's rotation (the old measure) flips here
    old = [_offsets_at_focal(frames, ratio * K[0, 0], offset_parallax="essential")[0] for ratio in (0.9, 1.0, 1.1)]
    assert len(set(old)) > 1, old


def test_min_side_offset_lengthens_the_short_pairs_of_a_sideways_camera_only():
    """Issue #20: ``min_side_offset=2`` moves the adaptive offsets {1, 2, 3} to {2, 3, 5} when the camera moves
    sideways (the epipole outside the image), and leaves those of a camera moving along its view at {1, 2, 3}."""
    sideways, _, K, _ = _render_scene(num_frames=12)
    ahead, _, _, _ = _render_scene(num_frames=12, step=(0.01, 0.0, 0.15))
    assert _offsets_at_focal(sideways, K[0, 0])[0] == (1, 2, 3)
    assert _offsets_at_focal(sideways, K[0, 0], min_side_offset=2)[0] == (2, 3, 5)
    assert _offsets_at_focal(ahead, K[0, 0])[0] == (1, 2, 3)
    assert _offsets_at_focal(ahead, K[0, 0], min_side_offset=2)[0] == (1, 2, 3)


def test_min_side_offset_static_needs_the_probe_pairs_to_keep_their_inliers():
    """Issue #20: ``min_side_offset_static`` raises the sideways floor only where the offset probe's pairs keep a
    median ``min_side_inliers`` of essential-matrix inliers (lady-running, where near people fill the view: 0.49; its
    longer pairs of {3, 5, 8} fail). The rendered sideways scene's probe pairs keep 0.29 / 0.35 / 0.48 (its moving
    card, its short span): 0.3 lets the higher floor through, 0.4 leaves ``min_side_offset``'s; a camera moving along
    its view keeps offset 1 either way."""
    sideways, _, K, _ = _render_scene(num_frames=12)
    ahead, _, _, _ = _render_scene(num_frames=12, step=(0.01, 0.0, 0.15))
    static = {"min_side_offset": 2, "min_side_offset_static": 3}
    assert _offsets_at_focal(sideways, K[0, 0], **static, min_side_inliers=0.3)[0] == (3, 5, 8)
    assert _offsets_at_focal(sideways, K[0, 0], **static, min_side_inliers=0.4)[0] == (2, 3, 5)
    assert _offsets_at_focal(sideways, K[0, 0], min_side_offset_static=3, min_side_inliers=0.4)[0] == (1, 2, 3)
    assert _offsets_at_focal(ahead, K[0, 0], **static, min_side_inliers=0.3)[0] == (1, 2, 3)


def _road_depth(h: int, w: int, focal: float, camera_height: float, wall_z: float) -> np.ndarray:
    """``[h,w]`` depth of a flat road ``camera_height`` below the camera up to a wall ``wall_z`` ahead."""
    v = np.arange(h, dtype=np.float64)[:, None] - (h - 1) / 2
    ground = np.where(v > 0, focal * camera_height / np.maximum(v, 1e-9), np.inf)
    return np.broadcast_to(np.minimum(ground, wall_z), (h, w))


def _forward_flow(depth: np.ndarray, K: np.ndarray, dz: float) -> np.ndarray:
    """``[h,w,2]`` exact flow of a camera moving ``-dz`` along its axis (points ``dz`` farther) over ``depth``."""
    return _translation_flow(depth, K, (0.0, 0.0, dz))


def _translation_flow(depth: np.ndarray, K: np.ndarray, shift: tuple[float, float, float]) -> np.ndarray:
    """``[h,w,2]`` exact flow over ``depth`` of a camera translated by ``-shift`` (the points move by ``shift``)."""
    h, w = depth.shape
    grid = pixel_grid(h, w).astype(np.float64)
    points = np.dstack([(grid - K[:2, 2]) / K[0, 0], np.ones((h, w))]) * depth[..., None] + np.asarray(shift)
    return (points[..., :2] / points[..., 2:] * K[0, 0] + K[:2, 2] - grid).astype(np.float32)


def test_relative_fb_threshold_keeps_the_large_flows_of_near_scenery():
    """Near road at the lower border, seen from an earlier frame of a forward-moving camera: its flow (25–34 px)
    carries a 4 % round-trip error (DIS's error grows with the flow), over the fixed 1-px threshold, so the fixed
    check leaves it a hole; with ``fb_relative`` it is triangulated, exactly (the forward flow is exact)."""
    h, w, focal, back = 160, 200, 100.0, 1.0
    K = np.array([[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]])
    depth_a = _road_depth(h, w, focal, 1.5, 8.0)
    flow_ab = _forward_flow(depth_a, K, back)
    flow_ba = _forward_flow(_road_depth(h, w, focal, 1.5, 8.0 + back), K, -back) * np.float32(1.04)
    near = np.linalg.norm(flow_ab, axis=-1) > 25  # the last rows: road 1.9–2.3 m away
    defaults = GeometricConfig()
    settings = {f.name: getattr(defaults, f.name) for f in fields(PairSteps) if hasattr(defaults, f.name)}
    covered = {}
    for relative in (0.0, 0.05):
        steps = PairSteps(**{**settings, "fb_relative": relative}, px_scale=1.0)
        depth, conf, _, geom = steps.views(flow_ab, flow_ba, K, steps.rays(h, w, K), (0, 1))
        assert geom.ok
        covered[relative] = float((conf[0][near] > 1).mean())
        ok = conf[0] > 1
        ratio = depth[0][ok] / depth_a[ok]
        np.testing.assert_allclose(ratio / np.median(ratio), 1.0, atol=1e-3)  # whatever is kept is exact
    assert covered[0.0] < 0.05 and covered[0.05] == 1.0
    with pytest.raises(ValueError, match="fb_relative"):
        GeometricConfig(fb_relative=-0.1).validate()


def _near_coverage(flows: tuple, K: np.ndarray, truth: np.ndarray, near: np.ndarray, **changes) -> tuple:
    """Coverage of the pixels ``near [h,w]`` in view a of a pair with ``flows`` (forward, backward), the default
    matcher settings with ``changes``; checks that what is triangulated is exact (ratio to ``truth [h,w]``; the
    far wall's small angles within 1 %). Returns the coverage, the view's depth and confidence."""
    h, w = truth.shape
    defaults = GeometricConfig()
    settings = {f.name: getattr(defaults, f.name) for f in fields(PairSteps) if hasattr(defaults, f.name)}
    steps = PairSteps(**{**settings, **changes}, px_scale=1.0)
    depth, conf, _, geom = steps.views(*flows, K, steps.rays(h, w, K), (0, 1))
    assert geom.ok
    ok = conf[0] > 1
    ratio = depth[0] / truth / np.median(depth[0][ok] / truth[ok])
    np.testing.assert_allclose(ratio[ok], 1.0, atol=1e-2)
    np.testing.assert_allclose(ratio[ok & near], 1.0, atol=1e-3)
    return float(ok[near].mean()), depth[0], conf[0]


def test_forward_near_keeps_near_scenery_of_a_camera_moving_ahead():
    """A street: road up to a far wall 40 m ahead (the pair's median depth), seen from a camera that moved 2 m
    forward. The road within 4 m at the lower border is under 0.2 × the median: the lower depth bound leaves it a
    hole; ``forward_near`` (the epipole is inside the image, their angles large) triangulates it, exactly. Seen
    from a camera moving sideways (epipole outside the image), the same near road keeps the bound."""
    h, w, focal, back = 160, 200, 100.0, 2.0
    K = np.array([[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]])
    truth = _road_depth(h, w, focal, 1.5, 40.0)
    near = truth < 4.0
    ahead = (_forward_flow(truth, K, back), _forward_flow(_road_depth(h, w, focal, 1.5, 40.0 + back), K, -back))
    before, _, _ = _near_coverage(ahead, K, truth, near)
    after, _, conf = _near_coverage(ahead, K, truth, near, forward_near=True)
    assert before == 0.0 and after == 1.0
    assert (conf[truth > 30] > 1).mean() > 0.5  # the far wall is still there
    sideways = (_translation_flow(truth, K, (0.5, 0, 0)), _translation_flow(truth, K, (-0.5, 0, 0)))
    off, depth_off, conf_off = _near_coverage(sideways, K, truth, near)
    on, depth_on, conf_on = _near_coverage(sideways, K, truth, near, forward_near=True)
    assert off == on == 0.0
    np.testing.assert_array_equal(conf_on, conf_off)
    np.testing.assert_array_equal(depth_on, depth_off)


def test_forward_fb_relative_only_loosens_the_exempt_pixels():
    """The same street with a 4 % round-trip error on the backward flow (DIS's error grows with the flow): the
    near road's 20–40 px flows fail the fixed 1-px check, so ``forward_near`` alone leaves most of it (> 75 %) a
    hole; with ``forward_fb_relative`` it is triangulated, exactly. Far pixels (small angles) keep the fixed
    check."""
    h, w, focal, back = 160, 200, 100.0, 2.0
    K = np.array([[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]])
    truth = _road_depth(h, w, focal, 1.5, 40.0)
    near = truth < 4.0
    backward = _forward_flow(_road_depth(h, w, focal, 1.5, 40.0 + back), K, -back) * np.float32(1.04)
    flows = (_forward_flow(truth, K, back), backward)
    alone, _, _ = _near_coverage(flows, K, truth, near, forward_near=True)
    loose, _, conf = _near_coverage(flows, K, truth, near, forward_near=True, forward_fb_relative=0.05)
    assert alone < 0.25 and loose == 1.0
    fb_err = flow.forward_backward(*flows)[2]
    assert not (conf[(truth > 10) & (fb_err >= 1.0)] > 1).any()  # far pixels: the fixed threshold as before
    with pytest.raises(ValueError, match="forward_fb_relative"):
        GeometricConfig(forward_fb_relative=-0.1).validate()


def test_epipole_inside():
    K = np.array([[100.0, 0, 99.5], [0, 100.0, 79.5], [0, 0, 1]])
    eye = np.eye(3)
    assert epipole_inside(K, eye, np.array([0.0, 0.0, -1.0]), (160, 200))  # forward
    assert epipole_inside(K, eye, np.array([0.1, 0.0, 1.0]), (160, 200))  # backward, slightly sideways
    assert not epipole_inside(K, eye, np.array([1.0, 0.0, 0.1]), (160, 200))  # sideways
    assert not epipole_inside(K, eye, np.array([1.0, 0.0, 0.0]), (160, 200))  # purely sideways: at infinity


@pytest.mark.parametrize(("preset", "ahead"), [("driving", True), ("static-orbit", False)])
def test_forward_near_is_decided_by_the_video_motion(preset, ahead):
    """``forward_near`` applies only when the probe pairs see the epipole inside the image: a forward-driving
    camera (its near scenery at the lower border gains depth), not an orbiting one (its pairs are unchanged)."""
    from stereodiff.synth import make_scene

    video = make_scene(preset, seed=3, num_frames=28, height=120, width=160)  # driving: a planter at frames 16-27
    runs = {}
    for near in (False, True):
        matcher = GeometricMatcher(resolution=160, offsets=(2, 3), forward_near=near, focal_px=float(video.K[0, 0]))
        runs[near] = (matcher.predict(video.frames[16:]), matcher.report)
    assert (runs[True][1].ahead_share >= AHEAD_SHARE) == ahead and np.isnan(runs[False][1].ahead_share)
    (off, _), (on, _) = runs[False], runs[True]
    gained = (on.conf_i > 1) & (off.conf_i <= 1)
    if ahead:
        assert gained.mean() > 0.001
        rows = np.nonzero(gained)[1]
        assert np.median(rows) > 75  # in the lower third of the image
    else:
        np.testing.assert_array_equal(on.conf_i, off.conf_i)
        np.testing.assert_array_equal(on.pts_i, off.pts_i)


def test_epipolar_texture_is_the_texture_along_the_line():
    """Vertical stripes (grey level changing along the rows only): a sideways baseline (horizontal epipolar
    lines) sees their full texture, a vertical one none; a forward baseline (lines radiating from the image centre)
    sees it where the lines run across the stripes, not along them (left/right of the centre vs above/below)."""
    h, w = 60, 80
    K = np.array([[80.0, 0, (w - 1) / 2], [0, 80.0, (h - 1) / 2], [0, 0, 1]])
    stripes = np.broadcast_to((128 + 60 * np.sin(np.arange(w) * 2 * np.pi / 8)).astype(np.uint8), (h, w))
    inner = (slice(4, -4), slice(4, -4))
    sideways = epipolar_texture(stripes, K, np.eye(3), np.array([1.0, 0.0, 0.0]))
    vertical = epipolar_texture(stripes, K, np.eye(3), np.array([0.0, 1.0, 0.0]))
    ahead = epipolar_texture(stripes, K, np.eye(3), np.array([0.0, 0.0, -1.0]))
    assert sideways.shape == (h, w) and sideways.dtype == np.float32
    assert sideways[inner].min() > 20 and vertical[inner].max() < 1e-3
    assert ahead[h // 2, 10] > 20 and ahead[5, w // 2] < 1.0  # left of the centre across, above it along


def test_texture_gate_leaves_a_plain_region_unmatched():
    """A textured, bumpy wall ~4 m away with a plain rectangle on it, seen from a camera moved sideways (exact flows):
    with ``min_epipolar_texture`` the rectangle's inside is left unmatched (confidence 1) and the textured rest is
    still triangulated exactly; without it, the rectangle is matched too (its exact flow here is what DIS cannot
    give it)."""
    h, w, focal = 96, 128, 110.0
    K = np.array([[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]])
    rows, cols = np.mgrid[0:h, 0:w]
    depth = 4.0 + 0.8 * np.sin(cols / 15) * np.cos(rows / 12)  # not a plane: the pose is well defined
    flow_ab = _translation_flow(depth, K, (-0.3, 0.0, 0.0))
    flow_ba = _translation_flow(depth, K, (0.3, 0.0, 0.0))
    texture = np.random.default_rng(3).integers(40, 220, (h // 4, w // 4)).astype(np.uint8)
    grey = cv2.resize(texture, (w, h), interpolation=cv2.INTER_CUBIC)
    plain = np.zeros((h, w), bool)
    plain[30:70, 40:100] = True
    grey[plain] = 128
    inside = np.zeros((h, w), bool)
    inside[34:66, 44:96] = True  # more than the 5-pixel window's half inside the rectangle
    defaults = GeometricConfig()
    settings = {f.name: getattr(defaults, f.name) for f in fields(PairSteps) if hasattr(defaults, f.name)}
    covered = {}
    for threshold in (0.0, 1.0):
        steps = PairSteps(**{**settings, "min_epipolar_texture": threshold}, px_scale=1.0)
        depth_out, conf, _, geom = steps.views(flow_ab, flow_ba, K, steps.rays(h, w, K), (0, 1), (grey, grey))
        assert geom.ok
        ok = conf[0] > 1
        ratio = depth_out[0][ok] / depth[ok]
        np.testing.assert_allclose(ratio / np.median(ratio), 1.0, atol=1e-3)
        covered[threshold] = (float(ok[inside].mean()), float(ok[~plain].mean()))
    assert covered[0.0][0] > 0.9 and covered[1.0][0] == 0.0
    assert covered[1.0][1] > 0.8 * covered[0.0][1]  # the textured wall keeps its matches
    steps = PairSteps(**{**settings, "min_epipolar_texture": 1.0}, px_scale=1.0)
    with pytest.raises(ValueError, match="grey frames"):
        steps.views(flow_ab, flow_ba, K, steps.rays(h, w, K), (0, 1))
    with pytest.raises(ValueError, match="min_epipolar_texture"):
        GeometricConfig(min_epipolar_texture=-1.0).validate()


def test_matcher_texture_gate_only_removes_pixels(scene, scene_predictions):
    """The matcher with ``min_epipolar_texture``: every pair keeps its pose, a pixel it still triangulates has
    exactly the depth it had without the gate, and the pixels it drops are those of little texture (the rendered
    textures are blurred: a threshold of 4 grey levels per pixel drops a visible share, not all)."""
    frames, _, K, _ = scene
    _, plain = scene_predictions
    gated = GeometricMatcher(resolution=160, intrinsics=K, offsets=(2, 3, 5), min_epipolar_texture=4.0)
    preds = gated.predict(frames)
    np.testing.assert_array_equal(preds.pairs, plain.pairs)
    np.testing.assert_allclose(preds.pts_i.store.pose, plain.pts_i.store.pose)
    before, after = np.asarray(plain.conf_i) > 1, np.asarray(preds.conf_i) > 1
    assert not (after & ~before).any()
    assert 0.05 < 1 - after.sum() / before.sum() < 0.9
    both = after & before
    np.testing.assert_array_equal(np.asarray(preds.pts_i)[..., 2][both], np.asarray(plain.pts_i)[..., 2][both])


def test_far_parallax_keeps_a_well_conditioned_far_wall():
    """A camera moving sideways over a near floor (the pair's median depth ≈ 2), a wall 6× farther and a sky 500×
    farther: the upper bound ``depth_range[1] = 5`` × the median cuts both. With ``far_parallax_px=1`` the wall
    (4 px of parallax) is triangulated, exactly, while the sky (0.1 px: no depth to be had) stays cut and the
    near pixels do not change."""
    h, w, focal = 160, 200, 100.0
    K = np.array([[focal, 0, (w - 1) / 2], [0, focal, (h - 1) / 2], [0, 0, 1]])
    truth = np.empty((h, w))
    truth[:25], truth[25:60] = 1000.0, 12.0
    truth[60:] = 2.0 + 0.5 * np.arange(w)[None, :] / w  # the floor, slanted across the image
    sky, wall = truth > 100, truth == 12.0
    flows = (_translation_flow(truth, K, (0.4, 0, 0)), _translation_flow(truth, K, (-0.4, 0, 0)))
    defaults = GeometricConfig()
    settings = {f.name: getattr(defaults, f.name) for f in fields(PairSteps) if hasattr(defaults, f.name)}
    views = {}
    for far in (0.0, 1.0):
        steps = PairSteps(**{**settings, "far_parallax_px": far}, px_scale=1.0)
        depth, conf, _, geom = steps.views(*flows, K, steps.rays(h, w, K), (0, 1))
        assert geom.ok
        views[far] = depth[0], conf[0] > 1
    (depth_off, ok_off), (depth_on, ok_on) = views[0.0], views[1.0]
    assert ok_off[~wall & ~sky].mean() > 0.85  # (the right border's flow leaves the image)
    assert not ok_off[wall].any() and not ok_off[sky].any()
    assert ok_on[wall].mean() > 0.85 and not ok_on[sky].any()
    np.testing.assert_array_equal(depth_on[~wall], depth_off[~wall])
    np.testing.assert_array_equal(ok_on[~wall], ok_off[~wall])
    ratio = depth_on[ok_on] / truth[ok_on]  # the wall's depth is right (float32 flows: 4 px of parallax ± 0.2 %)
    np.testing.assert_allclose(ratio / np.median(ratio), 1.0, atol=2e-3)
    with pytest.raises(ValueError, match="far_parallax_px"):
        GeometricConfig(far_parallax_px=-1.0).validate()


def test_accept_focal_prior_makes_pair_acceptance_independent_of_the_focal(rng):
    """A pure rotation of 2.9° and a pair with the same rotation and 0.4–1.1° of parallax (the translation 1 % of
    the depths), given to the acceptance test at 0.9 / 1 / 1.1× the true focal (277 px, the 60° prior of 320 × 240).
    With the camera's focal the essential matrix trades rotation for translation: the parallax pair reads 1.08 /
    0.49 / 0.09° and fails ``min_angle_deg=0.25`` at 1.1×. With ``accept_focal_px`` at the prior the decisions
    are the true focal's at every focal (the pure rotation fails, the parallax pair passes), and the returned pose
    is still the camera's."""
    f = 277.128  # the 60° prior of 320 × 240
    K = np.array([[f, 0, 160], [0, f, 120], [0, 0, 1.0]])
    points = rng.uniform([-3, -2, 3], [3, 2, 9], size=(600, 3))
    defaults = GeometricConfig()
    settings = {f.name: getattr(defaults, f.name) for f in fields(PairSteps) if hasattr(defaults, f.name)}
    decisions: dict = {}
    for name, shift in (("rotation", 0.0), ("parallax", 0.06)):
        R, t = _rotation([0.2, 1, 0.1], 0.05), np.array([shift, 0.003, 0.002])
        x_a, x_b = _project(points, K), _project(points @ R.T + t, K)
        inside = np.all((x_a > 0) & (x_a < (320, 240)) & (x_b > 0) & (x_b < (320, 240)), axis=1)
        x_a, x_b = x_a[inside], x_b[inside] + rng.normal(0, 0.05, (inside.sum(), 2))
        for accept in (None, f):
            steps = PairSteps(**{**settings, "accept_focal_px": accept}, px_scale=1.0)
            for scale in (0.9, 1.0, 1.1):
                K_given = K.copy()
                K_given[0, 0] = K_given[1, 1] = f * scale
                cv2.setRNGSeed(7)
                geom = steps.relative_pose(x_a, x_b, K_given, (0, 1))
                decisions[name, accept, scale] = geom.ok
                if accept is not None:
                    cv2.setRNGSeed(7)
                    own = PairSteps(**settings, px_scale=1.0).relative_pose(x_a, x_b, K_given, (0, 1))
                    np.testing.assert_array_equal(geom.R, own.R)
                    assert geom.ok or geom.failure == "low parallax"
    assert decisions["parallax", None, 1.0] and not decisions["parallax", None, 1.1]
    assert not any(decisions["rotation", f, s] for s in (0.9, 1.0, 1.1))
    assert all(decisions["parallax", f, s] for s in (0.9, 1.0, 1.1))
    with pytest.raises(ValueError, match="accept_focal"):
        GeometricConfig(accept_focal="given").validate()


def test_the_scene_carries_the_probe_pairs_ahead_share():
    """``reconstruct`` hands stage 1's forward-motion test (``MatcherReport.ahead_share``) to stage 2 in
    ``SceneGeometry.ahead_share`` (``stage2.ahead_from_stage1``); NaN when the test was not made."""
    from stereodiff.synth import make_scene

    video = make_scene("driving", seed=3, num_frames=20, height=60, width=80)
    for near in (True, False):
        matcher = GeometricMatcher(resolution=80, offsets=(2,), forward_near=near, focal_px=float(video.K[0, 0]))
        scene = matcher.reconstruct(video.frames[8:])
        share = matcher.report.ahead_share
        assert (scene.ahead_share == share >= AHEAD_SHARE) if near else np.isnan(scene.ahead_share)


def test_poses_chained_from_the_tree_pairs_follow_the_camera(scene_predictions):
    # the camera steps by (0.08, 0.015, 0.02) per frame at constant speed, turning by ~0.004 rad a frame
    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.fusion import pair_chain_poses

    _, preds = scene_predictions
    fused = fuse_pair_depths(preds, global_alignment(preds, robust_scale=True, global_scale_solve=True))
    chained = pair_chain_poses(preds, fused)
    root = int(fused.alignment.tree[0, 0])
    np.testing.assert_allclose(chained[root], np.eye(4), atol=1e-12)
    steps = np.diff(chained[:, :3, 3], axis=0)  # [T-1,3] camera centre steps, world = root camera
    truth = np.array([0.08, 0.015, 0.02]) / np.linalg.norm([0.08, 0.015, 0.02])
    cosines = steps @ truth / np.linalg.norm(steps, axis=1)
    lengths = np.linalg.norm(steps, axis=1)
    turns = [np.degrees(np.arccos(np.clip((np.trace(a[:3, :3].T @ b[:3, :3]) - 1) / 2, -1, 1)))
             for a, b in itertools.pairwise(chained)]  # fmt: skip
    assert cosines.min() > 0.99, cosines  # every step along the true direction
    assert lengths.max() < 1.35 * lengths.min(), lengths  # one speed (measured 0.154-0.193: the pair scales)
    assert max(turns) < 0.6, turns  # 0.23° a frame
    # a pair without its reverse direction: the alignment's poses are kept
    half = preds.num_pairs // 2
    one_way = dataclasses.replace(preds, pairs=preds.pairs.copy())
    one_way.pairs[half:] = -1
    np.testing.assert_array_equal(pair_chain_poses(one_way, fused), fused.cam_to_world)


def _isoluminant_video(shift_px: int = 2, frames: int = 3, size: int = 64) -> np.ndarray:
    """``[frames,size,size,3]`` uint8: a checker of two colours of equal BT.601 luma, seeded random cell sizes,
    shifted right by ``shift_px`` per frame."""
    rng = np.random.default_rng(7)
    a, b = np.array([51, 92, 69]), np.array([13, 89, 185])  # OpenCV grey 77 / 77 (as synthetic s120's floor)
    cols = np.repeat(rng.integers(0, 2, 24), rng.integers(3, 7, 24))[: size + shift_px * frames]
    rows = np.repeat(rng.integers(0, 2, 24), rng.integers(3, 7, 24))[:size]
    cells = (rows[:, None] ^ cols[None, :]).astype(bool)
    image = np.where(cells[..., None], a, b).astype(np.uint8)
    return np.stack([image[:, shift_px * (frames - k) : shift_px * (frames - k) + size] for k in range(frames)])


def test_pca_flow_grey_gives_an_isoluminant_checker_texture_and_its_flow():
    video = _isoluminant_video()
    size = video.shape[1:3]
    luma = flow.grey_frame(video[0], size)
    assert np.array_equal(luma, cv2.cvtColor(video[0], cv2.COLOR_RGB2GRAY))  # "luma": OpenCV's own grey
    assert flow.grey_projection(video, size, "luma") is None
    assert luma.std() < 1.0  # flat in luma
    projection = flow.grey_projection(video, size, "pca")
    greys = [flow.grey_frame(frame, size, projection) for frame in video]
    assert greys[0].std() > 60  # the two colours far apart in grey
    dis = dis_engine("fast")
    for grey, name in ((greys, "pca"), ([flow.grey_frame(f, size) for f in video], "luma")):
        forward, _ = dis_flows(dis, grey[0], grey[1])
        error = float(np.median(np.abs(forward[16:48, 16:48, 0] - 2.0)))
        if name == "pca":
            assert error < 0.4
        else:
            assert error > 1.0  # luma gives DIS nothing to match


def test_pca_flow_grey_follows_luma_on_a_brightness_only_video():
    ramp = np.linspace(10, 240, 48)[None, :, None] * np.array([1.0, 0.9, 0.8])  # one hue, brightness varies
    video = np.repeat(np.broadcast_to(ramp, (32, 48, 3)).astype(np.uint8)[None], 4, axis=0)
    projection = flow.grey_projection(video, (32, 48), "pca")
    assert np.all(projection.weights > 0)  # the sign correlates with luma
    grey = flow.grey_frame(video[0], (32, 48), projection).astype(float)
    assert np.corrcoef(grey.ravel(), cv2.cvtColor(video[0], cv2.COLOR_RGB2GRAY).ravel())[0, 1] > 0.999
    with pytest.raises(ValueError):
        flow.grey_projection(video, (32, 48), "hsv")


def test_matcher_flow_grey_pca_changes_its_grey_frames():
    video = _isoluminant_video(frames=4)
    luma = GeometricMatcher(resolution=64)._grayscale(video, (64, 64), None)
    pca = GeometricMatcher(resolution=64, flow_grey="pca")._grayscale(video, (64, 64), None)
    assert luma.std() < 1.0 < 60 < pca.std()
    with pytest.raises(ValueError, match="flow_grey"):
        GeometricConfig(flow_grey="hsv").validate()
