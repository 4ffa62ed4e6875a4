"""Focal self-calibration by bundle adjustment of tracks (stereodiff.stage1.focal_bundle)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from stereodiff.stage1.epipolar import FocalEstimate
from stereodiff.stage1.focal_bundle import (
    CASCADE_CAUCHY,
    CASCADE_EVALUATIONS,
    CASCADE_MAX_NOISE_RAD,
    TrackWindow,
    flow_edges,
    focal_from_tracks,
    kruppa_checked,
    reprojection_error,
    reprojection_residuals,
    track_window,
    window_keyframes,
)


def _windows(
    rng, focal: float, *, rotation_deg: float, noise_px: float, count: int = 2, size: tuple[int, int] = (240, 320)
) -> list[TrackWindow]:
    """``count`` windows of 8 views of 150 random points 3-8 m away (``size`` (h, w) px, principal point at the
    centre): the camera turns ``rotation_deg`` per view about a random axis and moves 4 cm per view sideways."""
    centre = np.array([size[1] / 2, size[0] / 2])
    windows = []
    for _ in range(count):
        u, v, z = rng.uniform(0, size[1], 150), rng.uniform(0, size[0], 150), rng.uniform(3, 8, 150)
        points = np.stack([(u - centre[0]) / focal * z, (v - centre[1]) / focal * z, z], axis=1)
        axis = rng.normal(size=3)
        axis *= np.radians(rotation_deg) / np.linalg.norm(axis)
        direction = np.array([1.0, rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2)])
        seen = []
        for k in range(1, 8):
            R = cv2.Rodrigues(axis * k)[0]
            moved = points @ R.T + 0.04 * k * direction
            uv = focal * moved[:, :2] / moved[:, 2:] + centre + rng.normal(0, noise_px, (150, 2))
            inside = np.flatnonzero((uv[:, 0] >= 0) & (uv[:, 0] < size[1]) & (uv[:, 1] >= 0) & (uv[:, 1] < size[0]))
            seen.append((inside, uv[inside]))
        windows.append(TrackWindow(np.stack([u, v], axis=1), seen))
    return windows


@pytest.mark.parametrize("focal", [240.0, 280.0, 400.0])  # 67°, 60° and 44° horizontal fields of view
def test_focal_from_tracks_recovers_the_focal(focal):
    rng = np.random.default_rng(int(focal))
    windows = _windows(rng, focal, rotation_deg=3.0, noise_px=0.1)
    estimate = focal_from_tracks(windows, (160.0, 120.0), prior=277.1)
    assert estimate.focal is not None, estimate.reason
    assert abs(estimate.focal / focal - 1) < 0.05, estimate.focal / focal
    assert estimate.contrast >= 1.15 and estimate.reason == ""
    # the adjustment at the true focal explains the tracks to their noise; 25 % off it cannot
    at_truth = reprojection_error(windows, focal, (160.0, 120.0))
    assert at_truth < 0.15 and reprojection_error(windows, 1.25 * focal, (160.0, 120.0)) > 1.3 * at_truth


def test_focal_from_tracks_declines_without_rotation_and_says_why():
    """Pure sideways translation: a focal change is a change of depth scale, the reprojection cannot tell."""
    rng = np.random.default_rng(1)
    estimate = focal_from_tracks(_windows(rng, 280.0, rotation_deg=0.0, noise_px=0.1), (160.0, 120.0), prior=277.1)
    assert estimate.focal is None and estimate.reason.startswith(("reprojection flat", "least reprojection error"))
    assert focal_from_tracks([], (160.0, 120.0), prior=277.1).reason == "no flow tracks"


def test_track_window_follows_a_translating_image_and_drops_inconsistent_tracks():
    h, w = 60, 80
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0] = 2.0  # every pixel moves 2 px right
    back = -flow
    back[:, :20] = 5.0  # the backward flow disagrees on the left quarter of the target frame
    window = track_window(lambda k: (flow, back), 3, (h, w), cells=8, fb_threshold_px=1.0, max_tracks=40)
    assert len(window.seen) == 2 and len(window.ref) <= 40
    (index1, uv1), (index2, uv2) = window.seen
    np.testing.assert_allclose(uv1, window.ref[index1] + [2.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(uv2, window.ref[index2] + [4.0, 0.0], atol=1e-4)
    assert np.all(uv1[:, 0] >= 20) and set(index2) <= set(index1)  # inconsistent tracks end, and stay ended
    assert len(index1) < len(window.ref)


def test_track_window_with_edge_px_ends_the_tracks_near_a_flow_edge():
    """A square moves 3 px right over a background moving 1 px right, each track's own forward-backward check
    consistent (as DIS on an occluder): with ``edge_px`` the tracks near the square's left and right edges (where
    the dense flow's forward-backward miss is 2 px) end, those inside the square and on the open background go on;
    without it they all go on (but those that leave the image)."""
    h, w = 60, 80
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0] = 1.0
    flow[20:40, 30:50, 0] = 3.0  # the square
    back = -flow
    miss = flow_edges(flow, back, radius=0)
    assert miss[30, 29] == pytest.approx(2.0) and miss[30, 10] == 0.0 and miss[30, 40] == 0.0
    options = {"cells": 16, "fb_threshold_px": 1.0, "max_tracks": 400}
    plain = track_window(lambda k: (flow, back), 2, (h, w), **options)
    edged = track_window(lambda k: (flow, back), 2, (h, w), edge_px=1.0, edge_radius=2, **options)
    x, y = edged.ref.T
    ended = np.isin(np.arange(len(x)), plain.seen[0][0]) & ~np.isin(np.arange(len(x)), edged.seen[0][0])
    near = (y >= 18) & (y <= 41) & ((np.abs(x - 29.5) <= 6) | (np.abs(x - 49.5) <= 6))
    assert ended[near].sum() >= 4 and not ended[~near].any()
    assert not (set(edged.seen[0][0]) - set(plain.seen[0][0]))


@pytest.mark.parametrize("focal", [240.0, 400.0])  # 0.87× and 1.44× the prior: the walk must go 1 and 2 steps
def test_the_cascade_walk_finds_the_focal_with_separate_windows(focal):
    """The cascade's cheap search (``search="walk"``, one adjustment per window, 20 evaluations) on clean tracks:
    the same focal as the full sweep (the tracks of test_focal_from_tracks_recovers_the_focal), within 5 %, and
    fewer adjustments. (With other random tracks the sweep itself can be 5.3 % off at 400 px, or flat.)"""
    windows = _windows(np.random.default_rng(int(focal)), focal, rotation_deg=3.0, noise_px=0.1)
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[1])
        return reprojection_residuals(*args, **kwargs)

    import stereodiff.stage1.focal_bundle as module

    fast = dict(search="walk", separate=True, evaluations=CASCADE_EVALUATIONS)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "reprojection_residuals", counted)
        estimate = focal_from_tracks(windows, (160.0, 120.0), prior=277.1, **fast)
    assert estimate.focal is not None and estimate.source == "estimated", estimate.reason
    assert abs(estimate.focal / focal - 1) < 0.05, estimate.focal / focal
    assert len(calls) <= 7 and len(set(calls)) == len(calls)  # 3-5 grid focals (sweep: 7) + 2 half steps, none twice
    sweep = focal_from_tracks(windows, (160.0, 120.0), prior=277.1)
    assert abs(np.log(estimate.focal / sweep.focal)) < 0.03
    # one adjustment per window fits the tracks as well as the joint one at the true focal
    separate = reprojection_error(windows, focal, (160.0, 120.0), separate=True)
    assert separate < 0.15 and separate <= 1.05 * reprojection_error(windows, focal, (160.0, 120.0))


def test_the_cascade_walk_declines_without_rotation():
    rng = np.random.default_rng(2)
    windows = _windows(rng, 280.0, rotation_deg=0.0, noise_px=0.1, count=3)
    estimate = focal_from_tracks(windows, (160.0, 120.0), prior=277.1, search="walk", separate=True)
    assert estimate.focal is None and estimate.reason.startswith(("reprojection flat", "least reprojection error"))


def test_the_cascade_walk_decides_between_grid_focals():
    """The truth halfway between two grid focals (prior × 1.25^k): their errors are alike, so the sweep's contrast
    (the grid neighbours' least error over the least one) is near 1; the walk's least-squares parabola is not."""
    windows = _windows(np.random.default_rng(7), 280.0, rotation_deg=3.0, noise_px=0.1, count=3)
    prior = 280.0 / 1.25**0.5
    estimate = focal_from_tracks(windows, (160.0, 120.0), prior=prior, search="walk", separate=True)
    assert estimate.focal is not None, estimate.reason
    assert abs(estimate.focal / 280.0 - 1) < 0.05 and estimate.contrast >= 1.15
    assert len(estimate.without) == 3 and all(abs(f / estimate.focal - 1) < 0.1 for _, f in estimate.without)


def test_the_cascade_walk_declines_when_the_decision_hangs_on_one_window():
    """Three windows seen at 300, 250 and 200 px (as windows that movers fill differently): without one window the
    focal moves by more than 10 %, or the contrast falls, so the walk declines and says why. (One odd window of three
    does not: the median of the residuals follows the other two.)"""
    rng = np.random.default_rng(3)
    windows = [_windows(rng, f, rotation_deg=3.0, noise_px=0.1, count=1)[0] for f in (300.0, 250.0, 200.0)]
    estimate = focal_from_tracks(windows, (160.0, 120.0), prior=277.1, search="walk", separate=True)
    assert estimate.focal is None and estimate.reason.startswith(("hangs on one window", "reprojection flat"))


def test_the_cascade_guard_declines_tracks_too_noisy_for_their_focal():
    """The same 0.1 px of track noise is 0.25 mrad of a 280-px focal (320 px frames) and 0.6 mrad of a 112-px one
    (128 px frames): with the guard (``CASCADE_MAX_NOISE_RAD``, 0.3 mrad) the walk decides the first and declines the
    second before its half steps, and says why (without it the walk goes on to its half steps and other tests)."""
    fast = dict(search="walk", separate=True, evaluations=CASCADE_EVALUATIONS)
    large = _windows(np.random.default_rng(11), 280.0, rotation_deg=3.0, noise_px=0.1, count=3)
    estimate = focal_from_tracks(large, (160.0, 120.0), 277.1, max_noise_rad=CASCADE_MAX_NOISE_RAD, **fast)
    assert estimate.focal is not None and abs(estimate.focal / 280.0 - 1) < 0.05, estimate.reason
    assert estimate.noise_rad < CASCADE_MAX_NOISE_RAD
    small = _windows(np.random.default_rng(11), 112.0, rotation_deg=3.0, noise_px=0.1, count=3, size=(96, 128))
    unguarded = focal_from_tracks(small, (64.0, 48.0), 110.9, **fast)
    assert np.isfinite(unguarded.contrast) and not unguarded.reason.startswith("tracks too noisy")
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[1])
        return reprojection_residuals(*args, **kwargs)

    import stereodiff.stage1.focal_bundle as module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "reprojection_residuals", counted)
        guarded = focal_from_tracks(small, (64.0, 48.0), 110.9, max_noise_rad=CASCADE_MAX_NOISE_RAD, **fast)
    assert guarded.focal is None and guarded.noise_rad > 1.5 * CASCADE_MAX_NOISE_RAD
    assert guarded.reason.startswith("tracks too noisy to tell the focal") and "mrad" in guarded.reason
    assert all(np.log(f / 110.9) / np.log(1.25) % 1 < 1e-9 for f in calls)  # grid focals only: no half steps


def test_the_adjustment_jacobian_matches_finite_differences_of_the_residuals():
    """The bundle adjustment's sparse Jacobian against central differences of its residuals, every column, at the
    initial point and after moving it, on two windows with a keyframe of few tracks (its rotation columns are forward
    differences: within 1e-4 px per unit here)."""
    import stereodiff.stage1.focal_bundle as module

    windows = _windows(np.random.default_rng(5), 280.0, rotation_deg=3.0, noise_px=0.2)
    windows[1].seen[2] = (windows[1].seen[2][0][:5], windows[1].seen[2][1][:5])
    problem = module._Problem(windows, 265.0, np.array([160.0, 120.0]))
    x = problem.initial()
    for point in (x, x + np.random.default_rng(6).normal(0, 1e-3, x.shape)):
        jacobian = problem.jacobian(point).toarray()
        for c in range(len(point)):
            step = np.zeros_like(point)
            step[c] = 1e-6
            numeric = (problem.residuals(point + step) - problem.residuals(point - step)) / 2e-6
            assert np.allclose(jacobian[:, c], numeric, rtol=1e-3, atol=1e-3)  # px per unit


def test_the_robust_cascade_decides_with_tracks_on_a_moving_object():
    """``focal_cascade_robust``: 15 % of each window's tracks drift 1.5 px per view across the epipolar lines (an
    object moving on its own). With Huber at 0.5 px (the plain cascade) they pull the poses: the least error is over
    the guard and the walk declines; with the Cauchy loss (``CASCADE_CAUCHY``) it decides within 1 %, and the moving
    tracks keep their large residuals instead of being absorbed."""
    rng = np.random.default_rng(1)
    windows = []
    for window in _windows(rng, 280.0, rotation_deg=3.0, noise_px=0.05, count=3):
        mover = np.zeros(len(window.ref), bool)
        mover[rng.choice(len(window.ref), len(window.ref) * 15 // 100, replace=False)] = True
        seen = [(index, uv + [0.0, 1.5 * (k + 1)] * mover[index, None]) for k, (index, uv) in enumerate(window.seen)]
        windows.append(TrackWindow(window.ref, seen))
    fast = dict(search="walk", separate=True, evaluations=CASCADE_EVALUATIONS, max_noise_rad=CASCADE_MAX_NOISE_RAD)
    plain = focal_from_tracks(windows, (160.0, 120.0), 277.1, **fast)
    assert plain.focal is None and plain.reason.startswith("tracks too noisy"), plain.reason
    robust = focal_from_tracks(windows, (160.0, 120.0), 277.1, loss=CASCADE_CAUCHY, **fast)
    assert robust.focal is not None and abs(robust.focal / 280.0 - 1) < 0.01, robust.reason
    assert robust.noise_rad < 0.6 * plain.noise_rad


def test_a_kruppa_decision_gives_way_to_the_bundle_step_only_where_that_decides():
    """``focal_kruppa_check``'s rule, on ``indoor-dynamic`` s48's figures (the Kruppa cost 257.5 px at contrast 2.05,
    0.929× the truth; the bundle step 274.9 px at 1.47): the bundle step's focal is taken and the reason names both;
    where the bundle step declines (7-Scenes: tracks too noisy) the Kruppa decision stands, unchanged."""
    kruppa = FocalEstimate(257.5, 257.5, 2.05)
    checked = kruppa_checked(kruppa, FocalEstimate(274.9, 274.9, 1.47))
    assert checked.focal == 274.9 and checked.source == "bundle"
    assert checked.reason == (
        "the Kruppa cost decided 257.5 px (±25 % costs 2.05× the least), the bundle adjustment 274.9 px (±25 % gives "
        "1.47× the least reprojection error): the bundle adjustment's taken"
    )
    declined = FocalEstimate(None, 276.0, reason="tracks too noisy to tell the focal")
    assert kruppa_checked(kruppa, declined) is kruppa and kruppa.focal == 257.5 and kruppa.source == "estimated"


def _mistracked(seed: int, share: float = 0.1) -> tuple[list[TrackWindow], list[np.ndarray]]:
    """Three windows of clean tracks at 280 px (3° per view, 0.05 px noise), of which ``share`` of the first window's
    jump by 5-17 px at keyframe 1-3 and stay off by that much (a flow mistrack on another texture, as on static-orbit
    s118's checker floor); and per window which tracks are mistracks."""
    rng = np.random.default_rng(seed)
    windows, bad = [], []
    for w, window in enumerate(_windows(rng, 280.0, rotation_deg=3.0, noise_px=0.05, count=3)):
        n = len(window.ref)
        off = np.zeros(n, bool)
        if w == 0:
            off[rng.choice(n, int(share * n), replace=False)] = True
        jump = rng.normal(size=(n, 2))
        jump *= rng.uniform(5, 17, (n, 1)) / np.linalg.norm(jump, axis=1, keepdims=True)
        first = rng.integers(0, 3, n)
        seen = [
            (index, uv + jump[index] * (off[index] & (k >= first[index]))[:, None])
            for k, (index, uv) in enumerate(window.seen)
        ]
        windows.append(TrackWindow(window.ref, seen))
        bad.append(off)
    return windows, bad


def test_the_trimmed_walk_decides_without_the_mistracks():
    """``focal_trim_px`` (``trim_px``): after the first walk, the tracks whose median residual at its least grid
    focal exceeds 1 px are left out (most mistracks among them) and the walk decides again on the rest; its estimate
    says how many were left out. Without the option nothing is left out."""
    import stereodiff.stage1.focal_bundle as module

    windows, bad = _mistracked(4)
    fast = dict(search="walk", separate=True, evaluations=CASCADE_EVALUATIONS, loss=CASCADE_CAUCHY)
    guarded = dict(fast, max_noise_rad=CASCADE_MAX_NOISE_RAD)
    plain = focal_from_tracks(windows, (160.0, 120.0), 277.1, **guarded)
    assert plain.trimmed == ""
    trimmed = focal_from_tracks(windows, (160.0, 120.0), 277.1, trim_px=1.0, **guarded)
    assert trimmed.focal is not None and abs(trimmed.focal / 280.0 - 1) < 0.05, trimmed.reason
    assert trimmed.trimmed.startswith("without ") and "tracks over 1 px at 277.1 px" in trimmed.trimmed
    residuals = reprojection_residuals(windows, 277.1, (160.0, 120.0), 1.0, CASCADE_EVALUATIONS, True, CASCADE_CAUCHY)
    kept, dropped = module._trimmed(windows, residuals, 1.0)
    assert f"without {dropped} tracks" in trimmed.trimmed
    left = np.zeros(len(windows[0].ref), bool)
    for index, _ in kept[0].seen:
        left[index] = True
    assert (left & bad[0]).sum() <= 0.2 * bad[0].sum()  # the mistracks left out (here 13 of 15)
    assert dropped < 0.3 * sum(len(window.ref) for window in windows)


def test_the_trimmed_walk_keeps_the_first_verdict_where_it_cannot_decide():
    """Where the second walk declines (here: ``trim_px`` so low that nearly every track is left out) the first walk's
    decision stands, unchanged; and a first walk declined by the noise guard is not walked again (small frames:
    trimmed, their tracks would pass the guard)."""
    windows, _ = _mistracked(4)
    fast = dict(search="walk", separate=True, evaluations=CASCADE_EVALUATIONS, loss=CASCADE_CAUCHY)
    plain = focal_from_tracks(windows, (160.0, 120.0), 277.1, max_noise_rad=CASCADE_MAX_NOISE_RAD, **fast)
    kept = focal_from_tracks(windows, (160.0, 120.0), 277.1, max_noise_rad=CASCADE_MAX_NOISE_RAD, trim_px=1e-3, **fast)
    assert kept.focal == plain.focal and kept.trimmed == "" and plain.focal is not None
    small = _windows(np.random.default_rng(11), 112.0, rotation_deg=3.0, noise_px=0.1, count=3, size=(96, 128))
    noisy = focal_from_tracks(small, (64.0, 48.0), 110.9, max_noise_rad=CASCADE_MAX_NOISE_RAD, trim_px=1.0, **fast)
    assert noisy.focal is None and noisy.reason.startswith("tracks too noisy to tell the focal")


def test_the_track_windows_are_spread_over_the_video_three_frames_apart():
    assert window_keyframes(64) == [list(range(s, s + 22, 3)) for s in (0, 21, 42)]
    assert window_keyframes(10) == [list(range(s, s + 8)) for s in (0, 1, 2)]  # short: steps of 1
    assert window_keyframes(10, keyframes=4) == [[0, 3, 6, 9]]
    for frames in window_keyframes(9, count=2, keyframes=8):
        assert frames[-1] <= 8 and np.all(np.diff(frames) == 1)
