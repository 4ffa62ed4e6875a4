"""Rolling-shutter-aware relative poses (``GeometricConfig.rolling_shutter_readout``, issue #20)."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stereodiff.stage1.epipolar import (
    fundamental_from_pose,
    relative_pose,
    sampson_distance,
    transform,
    triangulate_rays,
)
from stereodiff.stage1.geometric import GeometricMatcher
from stereodiff.stage1.pair_steps import PairSteps, unroll_stable
from stereodiff.stage1.rolling_shutter import (
    MIRROR_MARGIN,
    MIRROR_READOUT,
    READOUT_GRID,
    SCREEN_MIN_CHANGE_DEG,
    RollingShutter,
    angular_acceleration,
    angular_velocity_changes,
    choose_readout,
    corner_matches,
    corner_tracks,
    detect_readout,
    frame_angular_velocities,
    mirror_asymmetry,
    occam_readout,
    relative_shift,
    rotation_flow,
    screen_pairs,
    screen_runs,
    unroll_pixels,
    unroll_rays,
    unrolling_shift,
)
from stereodiff.types import PairPredictions

H, W, FOCAL = 240, 320, 277.0
K = np.array([[FOCAL, 0, (W - 1) / 2], [0, FOCAL, (H - 1) / 2], [0, 0, 1.0]])
AXIS = np.array([0.26, 0.96, 0.12])  # of the camera's turn (camera axes, ~unit)
TURN = (0.035, 0.012)  # its angle a·s + b·s² (radians, s in frame intervals): 2.0° per frame at frame 0, 4.0° at 3
VELOCITY = np.array([0.02, 0.004, 0.003])  # metres per frame interval


def _camera(s: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera-to-world rotation and centre at time ``s`` (frame intervals): a turn about a fixed axis that speeds
    up (a hand-held camera's angular velocity changes from frame to frame: with a constant one both frames of a
    pair are sheared alike and the pose hardly suffers), constant speed."""
    return Rotation.from_rotvec(_angle(s) * AXIS).as_matrix(), s * VELOCITY


def _angle(s: float) -> float:
    return TURN[0] * s + TURN[1] * s * s


def _omega(frame: int) -> np.ndarray:
    """The true angular velocity ``[3]`` of ``frame`` (radians per frame interval)."""
    return (TURN[0] + 2 * TURN[1] * frame) * AXIS


def _observe(points: np.ndarray, frame: int, readout: float) -> np.ndarray:
    """``[N,2]`` pixels of the world ``points [N,3]`` in ``frame``, each seen at its own row's time."""
    delta = np.zeros(len(points))
    for _ in range(8):  # the row depends on the time and the time on the row: a contraction, converges fast
        x = np.empty((len(points), 2))
        for n, d in enumerate(delta):
            R, c = _camera(frame + d)
            p = K @ (R.T @ (points[n] - c))
            x[n] = p[:2] / p[2]
        delta = (x[:, 1] - (H - 1) / 2) * readout / H
    return x


def _points(rng: np.random.Generator, count: int = 400) -> np.ndarray:
    """World points in front of the cameras of frames 0–5, 1–3 m away."""
    x = rng.uniform([20, 20], [W - 20, H - 20], (count, 2))
    depth = rng.uniform(1.0, 3.0, count)
    rays = np.hstack([x, np.ones((count, 1))]) @ np.linalg.inv(K).T
    R, c = _camera(2.5)
    return (rays * depth[:, None]) @ R.T + c


def _rotation_error_deg(R: np.ndarray, a: int, b: int) -> float:
    truth = Rotation.from_rotvec((_angle(a) - _angle(b)) * AXIS).as_matrix()  # X_b = R X_a, middle rows' cameras
    return float(np.degrees(np.linalg.norm(cv2.Rodrigues(R @ truth.T)[0])))


def _pose(x_a: np.ndarray, x_b: np.ndarray, a: int, b: int):
    cv2.setRNGSeed(a * 7919 + b)
    return relative_pose(x_a, x_b, K, (a, b), threshold=0.5, median_threshold=0.08, min_angle_deg=0.25)


def test_unrolled_matches_give_the_rotation_and_the_depth_back():
    """Points seen through a rolling shutter (readout 0.6 frame) by a camera turning ~2.3° per frame: the essential
    matrix of the raw matches is off in rotation; un-rolled with the frames' angular velocity (the true one, or the
    one measured from the consecutive pairs' rotations) it is right, and so is the triangulated depth."""
    rng = np.random.default_rng(0)
    points = _points(rng)
    readout = 0.6
    seen = [_observe(points, k, readout) + rng.normal(0, 0.05, (len(points), 2)) for k in range(4)]
    raw = _pose(seen[1], seen[2], 1, 2)
    rolling = RollingShutter(readout, np.array([_omega(k) for k in range(4)]), H)
    u = [rolling.pixels(seen[k], seen[k][:, 1], K, k) for k in range(4)]
    fixed = _pose(u[1], u[2], 1, 2)
    raw_error, fixed_error = _rotation_error_deg(raw.R, 1, 2), _rotation_error_deg(fixed.R, 1, 2)
    # measured: 0.22° raw, 0.01° un-rolled
    assert fixed_error < 0.05 and raw_error > 5 * fixed_error, (raw_error, fixed_error)

    # the angular velocities from the consecutive pairs' (raw) rotations, then once more on un-rolled matches
    first = frame_angular_velocities({k: _pose(seen[k], seen[k + 1], k, k + 1).R for k in range(3)}, 4)
    once = RollingShutter(readout, first, H)
    again = {
        k: _pose(once.pixels(seen[k], seen[k][:, 1], K, k), once.pixels(seen[k + 1], seen[k + 1][:, 1], K, k + 1),
                 k, k + 1).R
        for k in range(3)
    }  # fmt: skip
    measured = RollingShutter(readout, frame_angular_velocities(again, 4), H)
    assert np.degrees(np.abs(measured.omega[1:3] - rolling.omega[1:3]).max()) < 0.1, np.degrees(measured.omega)
    x_a, x_b = (measured.pixels(seen[k], seen[k][:, 1], K, k) for k in (1, 2))
    assert _rotation_error_deg(_pose(x_a, x_b, 1, 2).R, 1, 2) < 0.05

    # the depth along each pixel's own ray (frame 1's camera at the pixel's row time), from noise-free matches
    clean = [_observe(points, k, readout) for k in (1, 2)]
    rays_a, rays_b = (np.hstack([x, np.ones((len(points), 1))]) @ np.linalg.inv(K).T for x in clean)
    R1, c1 = _camera(1.0)
    R2, c2 = _camera(2.0)
    R_true, t_true = R2.T @ R1, R2.T @ (c1 - c2)  # X_2 = R X_1 + t of the middle rows' cameras
    steps = PairSteps(0.5, None, 32, 0.5, 0.08, 0.25, 1.0, 2.0, (0.2, 5.0), 10.0, 1.0, rolling_shutter=rolling)
    depth, _, _, x_a, x_b = steps._unrolled(rays_a, clean[0][:, 1], rays_b, clean[1][:, 1], K, R_true, t_true, (1, 2))
    for x, rays, seen_in, frame in ((x_a, rays_a, clean[0], 1), (x_b, rays_b, clean[1], 2)):  # K's first two rows:
        projected = transform(rolling.rays(rays, seen_in[:, 1], frame), K)[:, :2]  # the full projection's, bit for bit
        assert x.shape == projected.shape and x.tobytes() == np.ascontiguousarray(projected).tobytes()
    truth = np.empty(len(points))
    for n in range(len(points)):  # the point in frame 1's camera at its own row's time, along the pixel's ray
        R, c = _camera(1.0 + (clean[0][n, 1] - (H - 1) / 2) * readout / H)
        truth[n] = np.linalg.norm(R.T @ (points[n] - c)) / np.linalg.norm(rays_a[n])
    plain = triangulate_rays(rays_a, rays_b @ R_true, -R_true.T @ t_true)[0]
    error, error_plain = np.median(np.abs(depth / truth - 1)), np.median(np.abs(plain / truth - 1))
    # measured: 0.9 % with the shutter (first order: a point's rows differ by ~4 px between the frames, so its two
    # views' times differ by 1 % of the baseline's; neglected), 24 % without
    assert error < 0.015 and error_plain > 5 * error, (error, error_plain)
    F = fundamental_from_pose(R_true, t_true, K)
    assert np.median(sampson_distance(x_a, x_b, F)) < 0.02  # the un-rolled pixels fit the middle rows' pose


@pytest.mark.parametrize("readout", [0.0, 0.6])
def test_auto_readout_follows_the_shutter(readout):
    """The readout of least median Sampson residual over the consecutive pairs is the camera's: 0.6 for a rolling
    shutter, 0 (the global shutter's) when every row is exposed at once."""
    rng = np.random.default_rng(1)
    points = _points(rng)
    seen = [_observe(points, k, readout) + rng.normal(0, 0.05, (len(points), 2)) for k in range(6)]
    base = frame_angular_velocities({k: _pose(seen[k], seen[k + 1], k, k + 1).R for k in range(5)}, 6)

    def residual(r: float) -> float:
        values = []
        for k in range(5):
            x_a = unroll_pixels(seen[k], seen[k][:, 1], K, base[k], r, H)
            x_b = unroll_pixels(seen[k + 1], seen[k + 1][:, 1], K, base[k + 1], r, H)
            g = _pose(x_a, x_b, k, k + 1)
            values.append(np.median(sampson_distance(x_a, x_b, fundamental_from_pose(g.R, g.t, K))))
        return float(np.median(values))

    chosen, costs = choose_readout(residual)
    assert abs(chosen - readout) <= 0.15 + 1e-9, costs


def _consecutive_residuals(seen: list[np.ndarray], omega: np.ndarray, readout: float) -> dict[int, float]:
    """``{k: median Sampson residual}`` of the consecutive pairs of ``seen`` on matches un-rolled at ``readout``."""
    residuals = {}
    for k in range(len(seen) - 1):
        x_a = unroll_pixels(seen[k], seen[k][:, 1], K, omega[k], readout, H)
        x_b = unroll_pixels(seen[k + 1], seen[k + 1][:, 1], K, omega[k + 1], readout, H)
        g = _pose(x_a, x_b, k, k + 1)
        residuals[k] = float(np.median(sampson_distance(x_a, x_b, fundamental_from_pose(g.R, g.t, K))))
    return residuals


@pytest.mark.parametrize("readout", [0.0, 0.6])
def test_detect_readout_tells_a_rolling_shutter_from_a_global_one(readout):
    """The consecutive pairs of a rolling shutter (readout 0.6) fit much better un-rolled top to bottom (+0.9) than
    bottom to top (−0.9), and some readout of the grid beats 0: the shutter rolls. With a global shutter the camera
    of this scene (turning 2–4° per frame, unevenly, while it moves) makes the mirror test fire too (−0.40: the
    shear of ±0.9 mimics parallax one way better than the other), but every readout is worse than 0: no rolling
    shutter."""
    rng = np.random.default_rng(2)
    points = _points(rng)
    seen = [_observe(points, k, readout) + rng.normal(0, 0.05, (len(points), 2)) for k in range(6)]
    omega = frame_angular_velocities({k: _pose(seen[k], seen[k + 1], k, k + 1).R for k in range(5)}, 6)
    chosen, asymmetry, costs = detect_readout(lambda r: _consecutive_residuals(seen, omega, r))
    assert asymmetry < -4 * MIRROR_MARGIN, asymmetry  # measured: −1.54 rolling, −0.40 global
    if readout:
        assert abs(chosen - readout) <= 0.15 + 1e-9, costs
    else:
        assert chosen == 0.0 and min(costs.values()) == costs[0.0], costs
    assert np.isnan(mirror_asymmetry({0: 1.0}, {}))


def test_detect_readout_declines_without_the_mirror_asymmetry():
    """Residuals that fall alike on both sides of 0 (as moving objects can make them) are no rolling shutter: the
    grid is not even tried."""
    asked = []

    def residuals(readout: float) -> dict[int, float]:
        asked.append(readout)
        return {k: 1.0 - 0.1 * abs(readout) for k in range(10)}

    assert detect_readout(residuals) == (0.0, 0.0, {}) and asked == [MIRROR_READOUT, -MIRROR_READOUT]


def _flat_residuals(spread: float) -> dict[float, dict[int, float]]:
    """Per-pair residuals of 60 pairs at every readout of the grid: falling to 0.6 and flat beyond (medians 1 %,
    0.5 % apart at 0.6 / 0.75 against 0.9), each pair scattered by ``spread`` (log) independently per readout, as
    a pose's RANSAC makes them."""
    rng = np.random.default_rng(3)
    level = {0.0: 1.4, 0.15: 1.3, 0.3: 1.2, 0.45: 1.1, 0.6: 1.01, 0.75: 1.005, 0.9: 1.0}
    noise = rng.normal(0, 1, (len(level), 60))
    noise -= np.median(noise, axis=1, keepdims=True)  # the medians are exactly the levels
    return {r: {k: level[r] * float(np.exp(spread * n)) for k, n in enumerate(row)} for (r, row) in zip(level, noise)}


@pytest.mark.parametrize("spread", [0.3, 0.003])
def test_occam_readout_takes_the_smallest_readout_within_the_noise(spread):
    """A flat minimum (0.6 / 0.75 / 0.9 within 1 %) whose pairs scatter by 30 %: 0.6 is within one bootstrap
    standard error of 0.9 and is taken (0.45, 10 % above, is not); the same curve measured to 0.3 % per pair
    keeps the least residual's 0.9. 0 is never taken, and a tolerance of 0 or a global shutter change nothing."""
    per_pair = _flat_residuals(spread)
    costs = {r: float(np.median(list(found.values()))) for r, found in per_pair.items()}
    best, _ = choose_readout(lambda r: costs[r])
    assert best == 0.9
    chosen, errors = occam_readout(per_pair.__getitem__, costs, best, 1.0)
    if spread > 0.1:
        assert chosen == 0.6 and errors[0.6] > costs[0.6] - costs[0.9], errors
        assert occam_readout(per_pair.__getitem__, costs, best, 1e-9)[0] == 0.9
        assert occam_readout(per_pair.__getitem__, costs, best, 100.0)[0] == 0.15
    else:
        assert chosen == 0.9 and set(errors) == {0.15, 0.3, 0.45, 0.6, 0.75}, errors
    assert occam_readout(per_pair.__getitem__, costs, best, 0.0) == (0.9, {})
    assert occam_readout(per_pair.__getitem__, costs, 0.0, 1.0) == (0.0, {})
    mirrored = {k: 2 * v for k, v in per_pair[0.9].items()}  # bottom to top fits worse: the shutter rolls
    assert detect_readout(lambda r: per_pair[r] if r >= 0 else mirrored, occam=1.0)[0] == chosen
    with pytest.raises(ValueError, match="rolling_shutter_occam"):
        GeometricMatcher(rolling_shutter_occam=-1.0)


def test_sharpened_angular_velocities_undo_the_mean_of_a_tremor():
    """A 4 Hz tremor at 30 frames/s (0.3° amplitude, about one axis): each consecutive pair's rotation is the
    velocity integrated over its interval, and the mean of a frame's two sides damps the velocity to ×0.88
    (measured 0.885; Taylor ``ω + ω''/6``: 0.883); ``sharpen`` brings it back to the frame's own velocity within
    2 % of the amplitude (the first two and last two frames keep the mean)."""
    amplitude, rate = np.radians(0.3) * 2 * np.pi * 4 / 30, 2 * np.pi * 4 / 30  # rad per frame, rad per frame
    axis = np.array([0.3, 0.9, 0.3]) / np.linalg.norm([0.3, 0.9, 0.3])
    turned = {k: amplitude / rate * (np.cos(rate * k) - np.cos(rate * (k + 1))) for k in range(39)}  # ∫ sin
    rotations = {k: Rotation.from_rotvec(-a * axis).as_matrix() for k, a in turned.items()}
    truth = amplitude * np.sin(rate * np.arange(40))[:, None] * axis
    mean = frame_angular_velocities(rotations, 40)
    sharp = frame_angular_velocities(rotations, 40, sharpen=True)
    inner = slice(2, -2)
    gain = float(np.sum(mean[inner] * truth[inner]) / np.sum(truth[inner] ** 2))
    assert 0.87 < gain < 0.90, gain
    assert np.abs(sharp[inner] - truth[inner]).max() < 0.02 * amplitude  # measured 1.4 %: the next order
    assert np.abs(mean[inner] - truth[inner]).max() > 0.1 * amplitude
    np.testing.assert_array_equal(sharp[[0, 1, -2, -1]], mean[[0, 1, -2, -1]])


@pytest.mark.parametrize(
    ("setting", "expected"), [({}, [False, False]), ({"rolling_shutter_sharp_search": True}, [True, False]),
                              ({"rolling_shutter_sharp_velocity": True}, [True, True])]
)  # fmt: skip
def test_sharp_settings_reach_the_search_and_the_unrolling(monkeypatch, setting, expected):
    """``rolling_shutter_sharp_search`` sharpens the velocities the search un-rolls with (the readout-0 pass's),
    not those of the un-rolling (the chosen readout's); ``rolling_shutter_sharp_velocity`` both."""
    import stereodiff.stage1.geometric as geometric

    monkeypatch.setattr(geometric, "choose_readout", lambda residual, grid=READOUT_GRID, margin=0.05: (0.45, {}))
    asked: list[bool] = []

    def recorded(rotations, num_frames, sharpen=False):
        asked.append(sharpen)
        return frame_angular_velocities(rotations, num_frames, sharpen)

    monkeypatch.setattr(geometric, "frame_angular_velocities", recorded)
    matcher, _ = _match_rendered(rolling_shutter_readout="auto", **setting)
    assert matcher._rolling is not None and asked == expected


def test_unroll_rays_is_the_rotation_of_each_row():
    """The rays turned by Rodrigues' formula are those of a rotation object per ray (float32: to the last bit)."""
    rng = np.random.default_rng(3)
    rays = np.hstack([rng.uniform(-0.7, 0.7, (500, 2)), np.ones((500, 1))]).astype(np.float32)
    rows, omega = rng.uniform(0, H - 1, 500), np.array([0.02, -0.03, 0.01])
    delta = (rows - (H - 1) / 2) * 0.6 / H
    turned = Rotation.from_rotvec(delta[:, None] * omega[None]).apply(rays.astype(np.float64))
    np.testing.assert_allclose(unroll_rays(rays, rows, omega, 0.6, H), turned / turned[:, 2:3], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(unroll_rays(rays, rows, np.zeros(3), 0.6, H), rays)


@functools.cache
def _rendered_frames() -> tuple[np.ndarray, np.ndarray]:
    """Six rendered (global-shutter) frames ``[6,H,W,3]`` uint8 and their camera's ``[3,3]`` intrinsics."""
    from test_geometric import _render_scene

    frames, _, K_scene, _ = _render_scene()
    return frames[:6], K_scene


def _match_rendered(**settings) -> tuple[GeometricMatcher, PairPredictions]:
    """The matcher (160 px, offsets 1 and 2, the scene's intrinsics, ``settings``) and its pair predictions on
    :func:`_rendered_frames`."""
    frames, K_scene = _rendered_frames()
    matcher = GeometricMatcher(resolution=160, intrinsics=K_scene, offsets=(1, 2), **settings)
    return matcher, matcher.predict(frames)


def test_matcher_with_auto_readout_keeps_a_global_shutter_video_unchanged():
    """On rendered (global-shutter) frames the automatic readout comes out 0 and the pairs are those of the matcher
    without the option, bit for bit; a given readout changes them."""
    _, off = _match_rendered()
    auto_matcher, auto = _match_rendered(rolling_shutter_readout="auto")
    assert auto_matcher._rolling is None and auto_matcher.report.rolling_shutter_readout == 0.0
    np.testing.assert_array_equal(auto.pts_i, off.pts_i)
    np.testing.assert_array_equal(auto.conf_i, off.conf_i)
    # the detection declines: no change
    detect_matcher, detect = _match_rendered(rolling_shutter_readout=0.6, rolling_shutter_detect=True)
    assert detect_matcher._rolling is None and np.isfinite(detect_matcher.report.rolling_shutter_asymmetry)
    np.testing.assert_array_equal(detect.pts_i, off.pts_i)
    given_matcher, given = _match_rendered(rolling_shutter_readout=0.6)
    assert given_matcher._rolling is not None and given_matcher._rolling.readout == 0.6
    assert not np.array_equal(given.pts_i, off.pts_i)
    with pytest.raises(ValueError, match="rolling_shutter_readout"):
        GeometricMatcher(rolling_shutter_readout=-0.1)


def test_relative_shift_sees_only_the_change_of_the_turn():
    """``relative_shift``: matches turned alike in both frames (the same angular velocity, the same rows) move 0
    relative to each other; a change ``Δω`` of the turn between the frames moves them by ~``f · |Δ(v)| · |Δω|``
    (first order; ``Δ(v)`` the row's time), linear in the readout."""
    rng = np.random.default_rng(5)
    x = rng.uniform([20, 20], [W - 20, H - 20], (300, 2))
    omega = np.array([0.004, 0.02, 0.002])
    assert relative_shift(x, x, x[:, 1], x[:, 1], K, omega, omega, 0.6, H) < 1e-9
    change = np.array([0.0, 0.004, 0.0])  # 0.23° per frame more yaw in the second frame
    shift = relative_shift(x, x, x[:, 1], x[:, 1], K, omega, omega + change, 0.6, H)
    expected = FOCAL * np.median(np.abs(x[:, 1] - (H - 1) / 2)) * 0.6 / H * 0.004
    assert abs(shift / expected - 1) < 0.1, (shift, expected)
    doubled = relative_shift(x, x, x[:, 1], x[:, 1], K, omega, omega + change, 1.2, H)
    assert abs(doubled / shift - 2) < 0.05

    # unrolling_shift: the largest median over the lags; a steady turn moves nothing, one that speeds up by Δω per
    # frame moves the pairs 13 frames apart most (13 Δω), a jitter that alternates moves the odd lags' pairs (Δω)
    frames = [(k, x, x[:, 1]) for k in range(20)]
    steady = np.tile(omega, (20, 1))
    assert unrolling_shift(frames, K, steady, 0.6, H) < 1e-9
    speeding = omega + np.arange(20)[:, None] * change
    assert abs(unrolling_shift(frames, K, speeding, 0.6, H) / (13 * shift) - 1) < 0.05
    jitter = omega + (np.arange(20) % 2)[:, None] * change
    assert abs(unrolling_shift(frames, K, jitter, 0.6, H) / shift - 1) < 1e-6
    assert unrolling_shift(frames[:1], K, steady[:1], 0.6, H) == 0.0


def test_matcher_min_shift_declines_an_unrolling_below_the_matching_noise():
    """``rolling_shutter_min_shift`` on rendered frames with a given readout (a camera turning steadily: the
    un-rolling moves the consecutive pairs' matches by a fraction of their Sampson residual): a high threshold
    declines the correction and the pairs are those of the matcher without the option, bit for bit; a low one
    keeps it; the ratio is reported either way."""
    _, off = _match_rendered()
    kept_matcher, kept = _match_rendered(rolling_shutter_readout=0.6, rolling_shutter_min_shift=1e-6)
    ratio = kept_matcher.report.rolling_shutter_shift
    assert kept_matcher._rolling is not None and 0 < ratio < 1e3, ratio
    assert not np.array_equal(kept.pts_i, off.pts_i)
    gated_matcher, gated = _match_rendered(rolling_shutter_readout=0.6, rolling_shutter_min_shift=2 * ratio)
    assert gated_matcher._rolling is None and gated_matcher.report.rolling_shutter_readout == 0.0
    assert gated_matcher.report.rolling_shutter_shift == ratio
    np.testing.assert_array_equal(gated.pts_i, off.pts_i)
    np.testing.assert_array_equal(gated.conf_i, off.conf_i)
    assert np.isnan(_match_rendered()[0].report.rolling_shutter_shift)
    with pytest.raises(ValueError, match="rolling_shutter_min_shift"):
        GeometricMatcher(rolling_shutter_min_shift=-1.0)


def test_search_stride_searches_every_other_pair_and_completes_the_chosen_readout(monkeypatch):
    """``rolling_shutter_search_stride=2``: the readouts of the search re-estimate the even consecutive pairs only;
    the chosen readout's pass is completed on the odd ones, so with the same readout chosen the velocities, the
    rolling shutter and the pairs are those of the search over every pair, bit for bit (a pass is per pair)."""
    import stereodiff.stage1.geometric as geometric

    def fake_choice(residual, grid=READOUT_GRID, margin=0.05):  # every readout searched, 0.45 chosen
        return 0.45, {r: residual(r) for r in grid}

    monkeypatch.setattr(geometric, "choose_readout", fake_choice)
    original = GeometricMatcher._pair_rotations
    calls: list[tuple[float, list[int]]] = []

    def recorded(self, found, K, steps, readout, omega):
        calls.append((readout, [k for k, _, _ in found]))
        return original(self, found, K, steps, readout, omega)

    monkeypatch.setattr(GeometricMatcher, "_pair_rotations", recorded)
    every_matcher, every = _match_rendered(rolling_shutter_readout="auto")
    every_calls, calls[:] = list(calls), []
    strided_matcher, strided = _match_rendered(rolling_shutter_readout="auto", rolling_shutter_search_stride=2)
    pairs = every_calls[0][1]
    assert len(pairs) == 5 and every_calls == [(r, pairs) for r in READOUT_GRID]
    even, odd = [k for k in pairs if k % 2 == 0], [k for k in pairs if k % 2]
    assert calls == [(0.0, pairs), *((r, even) for r in READOUT_GRID[1:]), (0.45, odd)]
    assert strided_matcher._rolling is not None and strided_matcher._rolling.readout == 0.45
    np.testing.assert_array_equal(strided_matcher._rolling.omega, every_matcher._rolling.omega)
    np.testing.assert_array_equal(strided.pts_i, every.pts_i)
    np.testing.assert_array_equal(strided.conf_i, every.conf_i)
    with pytest.raises(ValueError, match="rolling_shutter_search_stride"):
        GeometricMatcher(rolling_shutter_search_stride=0)


def test_angular_velocity_changes_of_a_speeding_turn():
    """Consecutive pairs of the test camera (its turn speeds up by 2 · 0.012 rad per frame): the change of the
    angular velocity is that, per frame; a steady turn has none."""
    rotations = {k: Rotation.from_rotvec((_angle(k) - _angle(k + 1)) * AXIS).as_matrix() for k in (0, 1, 2, 4)}
    changes = angular_velocity_changes(rotations)  # pairs 0-1 and 1-2 (3 is missing)
    np.testing.assert_allclose(changes, [2 * TURN[1] * np.linalg.norm(AXIS)] * 2, rtol=1e-9)
    steady = {k: Rotation.from_rotvec(-0.03 * AXIS).as_matrix() for k in range(4)}
    np.testing.assert_allclose(angular_velocity_changes(steady), 0, atol=1e-12)
    assert angular_velocity_changes({0: np.eye(3), 2: np.eye(3)}).shape == (0,)


def test_screen_pairs_are_runs_spread_over_the_clip():
    assert screen_pairs(64, 6, 4) == [0, 1, 2, 12, 13, 14, 24, 25, 26, 36, 37, 38, 48, 49, 50, 60, 61, 62]
    assert screen_pairs(5, 6, 4) == [0, 1, 2, 3]  # a short clip: its every pair once
    assert screen_pairs(3, 6, 4) == [0, 1]


def test_corner_matches_follow_a_known_shift():
    """A textured frame and the same frame shifted by (2.5, -1.25) px: every kept corner moves by that."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (H, W)).astype(np.float32), (0, 0), 2.0)
    image = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    shift = np.float32([[1, 0, 2.5], [0, 1, -1.25]])
    moved = cv2.warpAffine(image, shift, (W, H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    x_a, x_b = corner_matches(image, moved)
    assert len(x_a) > 200
    inner = (x_a[:, 0] > 10) & (x_a[:, 0] < W - 10) & (x_a[:, 1] > 10) & (x_a[:, 1] < H - 10)
    np.testing.assert_allclose(np.median(x_b[inner] - x_a[inner], axis=0), [2.5, -1.25], atol=0.05)
    assert corner_matches(np.full((H, W), 128, np.uint8), moved) is None  # no corners


@pytest.mark.parametrize("tracks", [False, True])
def test_matcher_screen_declines_a_steady_rendered_camera_without_the_full_test(tracks):
    """``rolling_shutter_screen`` on rendered frames (the camera turns steadily), from the pairs' rotations or
    (``rolling_shutter_screen_tracks``) from corner tracks: the screen's angular velocity changes stay below the
    threshold, the full test never runs (its statistic stays NaN) and the pairs are those of the matcher without
    the option, bit for bit."""
    from test_geometric import _render_scene

    frames, _, K_scene, _ = _render_scene()
    frames = frames[:8]
    off = GeometricMatcher(resolution=160, intrinsics=K_scene, offsets=(1, 2)).predict(frames)
    settings = dict(rolling_shutter_readout=0.6, rolling_shutter_detect=True, rolling_shutter_screen=True)
    settings["rolling_shutter_screen_tracks"] = tracks
    matcher = GeometricMatcher(resolution=160, intrinsics=K_scene, offsets=(1, 2), **settings)
    screened = matcher.predict(frames)
    assert 0 <= matcher.report.rolling_shutter_screen < SCREEN_MIN_CHANGE_DEG
    assert np.isnan(matcher.report.rolling_shutter_asymmetry) and matcher._rolling is None
    np.testing.assert_array_equal(screened.pts_i, off.pts_i)
    np.testing.assert_array_equal(screened.conf_i, off.conf_i)


def _hand_held_tracks(rng: np.random.Generator, speed: float, change: float) -> np.ndarray:
    """``[3,400,2]`` pixels of points 1–3 m away seen in frames 0–2 by a camera that turns about ``AXIS`` by
    ``speed`` radians in the first pair and ``speed + change`` in the second while it moves by ``VELOCITY`` (its own
    axes) in each: ``X_{k+1} = R_k X_k − VELOCITY``."""
    rays = np.hstack([rng.uniform([20, 20], [W - 20, H - 20], (400, 2)), np.ones((400, 1))]) @ np.linalg.inv(K).T
    points = rays * rng.uniform(1.0, 3.0, (400, 1))
    tracks = []
    for k in range(3):
        p = points @ K.T
        tracks.append(p[:, :2] / p[:, 2:])
        points = points @ Rotation.from_rotvec(-(speed + k * change) * AXIS).as_matrix().T - VELOCITY
    return np.stack(tracks)


def test_angular_acceleration_of_tracks_drops_moving_points():
    """Tracks over three frames of a hand-held camera turning ~1° per frame, 0.1° per frame faster in the second
    pair, while it translates: the second differences give that change, also with a third of the tracks on objects
    accelerating on their own (a least-squares fit is pulled off by them); a steady turn gives almost none."""
    rng = np.random.default_rng(3)
    change = np.radians(0.1) / np.linalg.norm(AXIS)
    tracks = _hand_held_tracks(rng, np.radians(1.0), change)
    truth = change * np.linalg.norm(AXIS)
    fitted = angular_acceleration(tracks, K)
    np.testing.assert_allclose(np.linalg.norm(fitted), truth, rtol=0.1)  # first order
    axis = -AXIS / np.linalg.norm(AXIS)  # the scene turns against the camera
    np.testing.assert_allclose(fitted / np.linalg.norm(fitted), axis, atol=0.05)
    movers = tracks.copy()
    moving = rng.random(tracks.shape[1]) < 1 / 3
    movers[2, moving] += rng.normal([1.0, 0.3], 0.3, (moving.sum(), 2))  # their own acceleration, px per frame²
    np.testing.assert_allclose(np.linalg.norm(angular_acceleration(movers, K)), truth, rtol=0.1)
    second = (movers[2] - 2 * movers[1] + movers[0]).reshape(-1)
    least_squares = np.linalg.lstsq(rotation_flow(movers[1], K).reshape(-1, 3), second, rcond=None)[0]
    assert abs(np.linalg.norm(least_squares) - truth) > 0.3 * truth
    steady = angular_acceleration(_hand_held_tracks(rng, np.radians(1.0), 0.0), K)
    assert np.linalg.norm(steady) < 0.1 * truth  # the translation's second-order rest


def test_angular_acceleration_is_the_loop_of_choice_calls_and_norm_bit_for_bit():
    """The screen's fit draws its 200 track pairs on arrays (``robust.choice_samples``) and takes the misfits'
    lengths component by component: the same result as the loop of ``Generator.choice`` calls and
    ``np.linalg.norm`` it replaced, to the last bit (clean, noisy and outlier-ridden tracks, several seeds)."""

    def reference(x: np.ndarray, seed: int, samples: int = 200, min_px: float = 0.05) -> np.ndarray:
        second = x[2] - 2 * x[1] + x[0]
        flow = rotation_flow(x[1], K)
        rng = np.random.default_rng(seed)
        picks = np.stack([rng.choice(len(second), 2, replace=False) for _ in range(samples)])
        fits = (np.linalg.pinv(flow[picks].reshape(samples, 4, 3)) @ second[picks].reshape(samples, 4, 1))[..., 0]
        misfit = np.linalg.norm(second[None] - np.einsum("nij,sj->sni", flow, fits), axis=2)
        medians = np.median(misfit, axis=1)
        best = int(np.argmin(medians))
        inliers = misfit[best] < max(2.5 * 1.4826 * float(medians[best]), min_px)
        return np.linalg.lstsq(flow[inliers].reshape(-1, 3), second[inliers].reshape(-1), rcond=None)[0]

    rng = np.random.default_rng(11)
    for trial in range(6):
        tracks = _hand_held_tracks(rng, np.radians(1.0), np.radians(0.1) * trial / 5)
        tracks = tracks + rng.normal(0, 0.05 * trial, tracks.shape)
        tracks[2, : trial * 20] += rng.normal(0, 2.0, (trial * 20, 2))  # tracks accelerating on their own
        for seed in (0, 7919 * trial + 5):
            assert angular_acceleration(tracks, K, seed).tobytes() == reference(tracks, seed).tobytes()


def test_corner_tracks_follow_a_steady_shift():
    """Four frames shifted by (1.5, -0.75) px each: every track moves by that per frame; no corners: None."""
    rng = np.random.default_rng(0)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (H, W)).astype(np.float32), (0, 0), 2.0)
    image = cv2.normalize(texture, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    frames = np.stack([
        cv2.warpAffine(image, np.float32([[1, 0, 1.5 * k], [0, 1, -0.75 * k]]), (W, H), flags=cv2.INTER_CUBIC,
                       borderMode=cv2.BORDER_REFLECT)
        for k in range(4)
    ])  # fmt: skip
    tracks = corner_tracks(frames)
    assert tracks.shape[0] == 4 and tracks.shape[1] > 200
    inner = (tracks[0, :, 0] > 15) & (tracks[0, :, 0] < W - 15) & (tracks[0, :, 1] > 15) & (tracks[0, :, 1] < H - 15)
    steps = np.median(np.diff(tracks[:, inner], axis=0), axis=1)  # [3,2]
    np.testing.assert_allclose(steps, [[1.5, -0.75]] * 3, atol=0.05)
    assert corner_tracks(np.full((4, H, W), 128, np.uint8)) is None


def test_screen_runs_start_the_runs_of_screen_pairs():
    assert screen_runs(64, 6, 4) == [0, 12, 24, 36, 48, 60]
    assert screen_runs(3, 6, 4) == [0]


def _observe_moving(start: np.ndarray, velocity: np.ndarray, frame: int, readout: float) -> np.ndarray:
    """``[N,2]`` pixels in ``frame`` of points at ``start [N,3] + s · velocity [3]`` (world, s in frame intervals),
    each seen at its own row's time (as :func:`_observe`)."""
    delta = np.zeros(len(start))
    for _ in range(8):
        x = np.empty((len(start), 2))
        for n, d in enumerate(delta):
            R, c = _camera(frame + d)
            p = K @ (R.T @ (start[n] + (frame + d) * velocity - c))
            x[n] = p[:2] / p[2]
        delta = (x[:, 1] - (H - 1) / 2) * readout / H
    return x


def test_unroll_max_change_keeps_a_mover_along_the_camera_path_rolled_and_the_scene_unrolled():
    """A rolled pair (readout 0.1) of 400 static points and 100 points moving with 95 % of the camera's velocity
    (a car ahead: triangulated as static, its parallax is a twentieth of the truth's), the pose given: un-rolling
    changes the static points' depth by at most 0.14 (absolute log, the median removed; median 0.04) and the
    movers' by 0.21 or more on 90 % of them (median 0.71), so ``unroll_max_change = 0.2`` gives most movers their
    rolled triangulation (the raw rays; ``unroll_rolled``) or leaves them untriangulated (NaN) and keeps every
    static point's un-rolled one; 0 (off) un-rolls all."""
    rng = np.random.default_rng(0)
    readout = 0.1
    static, moving = _points(rng), _points(rng, 100)
    velocity = 0.95 * VELOCITY
    x_a, x_b = (
        np.vstack([_observe(static, k, readout), _observe_moving(moving, velocity, k, readout)]) for k in (1, 2)
    )
    rays_a, rays_b = (np.hstack([x, np.ones((len(x), 1))]) @ np.linalg.inv(K).T for x in (x_a, x_b))
    R1, c1 = _camera(1.0)
    R2, c2 = _camera(2.0)
    R_true, t_true = R2.T @ R1, R2.T @ (c1 - c2)
    rolling = RollingShutter(readout, np.array([_omega(k) for k in range(4)]), H)
    depth = {}
    for change, keep in ((0.0, False), (0.2, True), (0.2, False)):
        steps = PairSteps(0.5, None, 32, 0.5, 0.08, 0.25, 1.0, 2.0, (0.2, 5.0), 10.0, 1.0, rolling_shutter=rolling,
                          unroll_max_change=change, unroll_rolled=keep)  # fmt: skip
        depth[change, keep] = steps._unrolled(rays_a, x_a[:, 1], rays_b, x_b[:, 1], K, R_true, t_true, (1, 2))[0]
    raw = triangulate_rays(rays_a, rays_b @ R_true, -R_true.T @ t_true)[0]
    off = depth[0.0, False]
    assert np.array_equal(depth[0.2, True][:400], off[:400])  # the scene stays un-rolled
    assert np.array_equal(depth[0.2, False][:400], off[:400])
    rolled = depth[0.2, True][400:] == raw[400:].astype(off.dtype)
    assert rolled.mean() >= 0.85, rolled.mean()  # measured: 0.9 and more
    holes = np.isnan(depth[0.2, False][400:])
    assert np.array_equal(holes, depth[0.2, True][400:] != off[400:])  # "hole": the same pixels, not triangulated
    # a rolled triangulation the un-rolling moved by little is not taken
    for keep in (False, True):
        same = unroll_stable((off, off, off), (1.05 * off,) * 3, 0.2, keep)
        assert all(np.array_equal(d, off) for d in same)


def test_rolling_shutter_max_change_is_validated_and_reaches_the_pair_steps():
    with pytest.raises(ValueError, match="rolling_shutter_max_change"):
        GeometricMatcher(rolling_shutter_max_change=-0.1)
    assert GeometricMatcher(rolling_shutter_max_change=0.25)._steps().unroll_max_change == 0.25
    assert GeometricMatcher()._steps().unroll_max_change == 0.0
    assert GeometricMatcher(rolling_shutter_changed="rolled")._steps().unroll_rolled
    with pytest.raises(ValueError, match="rolling_shutter_changed"):
        GeometricMatcher(rolling_shutter_changed="nearest")
