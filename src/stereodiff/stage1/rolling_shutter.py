"""Rolling-shutter-aware relative poses for the geometric matcher (``GeometricConfig.rolling_shutter_readout``).

A rolling-shutter camera (e.g. the Kinect v1 of TUM RGB-D and 7-Scenes) exposes its rows one after the other: row
``v`` of an ``h``-row frame is taken at ``t₀ + (v − (h − 1)/2) / h · ρ`` frame intervals, ``ρ`` the readout time
as a fraction of the frame interval. While the camera turns at ``ω`` (radians per frame interval, in camera axes)
each row sees the scene from another orientation, which a two-view essential matrix cannot fit: it bends its
rotation and translation to absorb the shear. First order (rotation only, the translation during the readout is
neglected): a bearing ``x`` seen in row ``v`` is, in the camera of the frame's middle row,
``exp([ω]× · Δ(v)) x`` with ``Δ(v)`` the row's time offset (:func:`unroll_rays`). The matcher un-rolls the matches
of every pair with its two frames' angular velocities before the essential matrix, and the rays of every pixel
before the triangulation; each pixel's depth stays along its own ray (a rotation about the camera centre keeps the
distance).

The angular velocity of frame ``k`` comes from the relative rotations of the consecutive pairs ``(k − 1, k)`` and
``(k, k + 1)`` (:func:`frame_angular_velocities`), re-estimated once on un-rolled matches; the readout, when not
given, minimises the median Sampson residual of those pairs over :data:`READOUT_GRID`
(:func:`choose_readout`). Conventions: ``X_b = R X_a + t``; pixel ``(u, v)`` = (column, row); see docs/geometric.md,
"Rolling shutter".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from stereodiff.robust import choice_samples

__all__ = [
    "COARSE_GRID",
    "MIRROR_MARGIN",
    "MIRROR_READOUT",
    "OCCAM_SAMPLES",
    "READOUT_GRID",
    "READOUT_MARGIN",
    "SCREEN_CORNERS",
    "SCREEN_MIN_CHANGE_DEG",
    "SCREEN_SAMPLES",
    "SCREEN_WINDOWS",
    "SCREEN_WINDOW_FRAMES",
    "SHIFT_LAGS",
    "RollingShutter",
    "angular_acceleration",
    "angular_velocity_changes",
    "choose_readout",
    "corner_matches",
    "corner_tracks",
    "detect_readout",
    "frame_angular_velocities",
    "median_residual",
    "mirror_asymmetry",
    "occam_readout",
    "relative_shift",
    "rotation_flow",
    "row_offsets",
    "screen_pairs",
    "screen_runs",
    "unroll_pixels",
    "unroll_rays",
    "unrolling_shift",
]

#: readouts (fractions of the frame interval) tried by ``rolling_shutter_readout="auto"``
READOUT_GRID = (0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9)
#: ... every other one: the descent test of ``rolling_shutter_detect`` with a given readout (3 pose passes fewer)
COARSE_GRID = READOUT_GRID[::2]
#: ... a non-zero readout is chosen only when its median Sampson residual is this much (relative) below the global
#: shutter's (ties and noise keep a global-shutter camera at 0)
READOUT_MARGIN = 0.05
#: readout of the mirror test (``rolling_shutter_detect``): the consecutive pairs are re-estimated on matches
#: un-rolled with ``+MIRROR_READOUT`` (rows top to bottom) and ``−MIRROR_READOUT`` (bottom to top)
MIRROR_READOUT = 0.9
#: ... and the shutter may roll when :func:`mirror_asymmetry` is below ``−MIRROR_MARGIN`` (TUM fr1/desk −0.13,
#: 7-Scenes −0.22; rendered global-shutter clips −0.019 … +0.008, docs/geometric.md)
MIRROR_MARGIN = 0.05
#: the screen of ``rolling_shutter_screen``: the angular velocity's change between consecutive frames on
#: ``SCREEN_WINDOWS`` runs of ``SCREEN_WINDOW_FRAMES`` consecutive frames spread over the clip (:func:`screen_pairs`),
#: matched by :func:`corner_matches` (``SCREEN_CORNERS`` corners per pair) ...
SCREEN_WINDOWS = 6
SCREEN_WINDOW_FRAMES = 4
SCREEN_CORNERS = 400
#: ... and the full test (all consecutive pairs, the matcher's flows) runs only when its median is at least this
#: (degrees per frame): a camera turning steadily shears both frames of a pair alike and the essential matrix absorbs
#: it, so the mirror test cannot see the shutter (rendered clips read out over 0.9 frames: screen 0.007, mirror
#: −0.004, declined; with a 0.1° tremor: screen 0.051, mirror −0.42, rolls; rendered global-shutter clips 0.005 …
#: 0.09, TUM fr1/desk 0.90, 7-Scenes 0.27; docs/geometric.md, "Rolling shutter on rendered clips")
SCREEN_MIN_CHANGE_DEG = 0.025
#: least-median-of-squares samples of :func:`angular_acceleration` (``rolling_shutter_screen_tracks``)
SCREEN_SAMPLES = 200
#: bootstrap resamples of the consecutive pairs by which ``rolling_shutter_occam`` measures the noise of the
#: descent's median residuals (:func:`occam_readout`)
OCCAM_SAMPLES = 200
#: frame offsets over which ``rolling_shutter_min_shift`` measures the un-rolling's shift (:func:`unrolling_shift`):
#: the pair graph's Fibonacci offsets up to 13 (the ``cpu`` preset's pairs are 1–13 frames apart)
SHIFT_LAGS = (1, 2, 3, 5, 8, 13)


@dataclass(frozen=True)
class RollingShutter:
    """The rolling shutter of one video: ``readout`` (fraction of the frame interval, rows top to bottom),
    ``omega [T,3]`` each frame's angular velocity (radians per frame interval, camera axes) and the working
    image's ``height`` (rows)."""

    readout: float
    omega: np.ndarray
    height: int

    def rays(self, rays: np.ndarray, rows: np.ndarray, frame: int) -> np.ndarray:
        """:func:`unroll_rays` of ``rays [N,3]`` seen in ``rows [N]`` (pixels of the captured image) of ``frame``."""
        return unroll_rays(rays, rows, self.omega[frame], self.readout, self.height)

    def pixels(self, x: np.ndarray, rows: np.ndarray, K: np.ndarray, frame: int) -> np.ndarray:
        """:func:`unroll_pixels` of the undistorted pixels ``x [N,2]`` seen in ``rows [N]`` of ``frame``."""
        return unroll_pixels(x, rows, K, self.omega[frame], self.readout, self.height)


def row_offsets(rows: np.ndarray, height: int, readout: float) -> np.ndarray:
    """``[N]`` time of the rows ``rows [N]`` (pixels, float) after the middle row, in frame intervals, for a readout
    of ``readout`` frame intervals over ``height`` rows."""
    return (np.asarray(rows, np.float64) - (height - 1) / 2) * (readout / height)


def unroll_rays(rays: np.ndarray, rows: np.ndarray, omega: np.ndarray, readout: float, height: int) -> np.ndarray:
    """``[N,3]`` rays (``z = 1``, ``rays``' dtype) of ``rays [N,3]`` seen in ``rows [N]`` of a frame, turned into the
    camera of the frame's middle row: ``exp([ω]× Δ(v)) x`` (``omega [3]`` radians per frame interval, camera
    axes; :func:`row_offsets`). Rodrigues' formula about the one axis ``ω / |ω|`` by the angle ``|ω| Δ(v)`` of each
    row, column by column in float64 (~7× faster than a rotation object per ray; the same rays to float32's last
    bit on TUM-sized input)."""
    omega = np.asarray(omega, np.float64)
    speed = float(np.linalg.norm(omega))
    out = np.empty(np.shape(rays), rays.dtype)
    x, y, z = (np.asarray(rays[:, i], np.float64) for i in range(3))
    if speed == 0 or readout == 0:
        out[:, 0], out[:, 1], out[:, 2] = x / z, y / z, 1
        return out
    k_x, k_y, k_z = omega / speed
    angle = row_offsets(rows, height, readout) * speed
    cos, sin = np.cos(angle), np.sin(angle)
    along = (k_x * x + k_y * y + k_z * z) * (1 - cos)  # (k·x)(1 − cos θ)
    turned_z = z * cos + (k_x * y - k_y * x) * sin + k_z * along
    out[:, 0] = (x * cos + (k_y * z - k_z * y) * sin + k_x * along) / turned_z
    out[:, 1] = (y * cos + (k_z * x - k_x * z) * sin + k_y * along) / turned_z
    out[:, 2] = 1
    return out


def unroll_pixels(
    x: np.ndarray, rows: np.ndarray, K: np.ndarray, omega: np.ndarray, readout: float, height: int
) -> np.ndarray:
    """``[N,2]`` pixels (camera ``K [3,3]``) where the middle row's camera sees the undistorted pixels ``x [N,2]``
    of ``rows [N]`` (the captured rows; ``x[:, 1]`` for a pinhole camera): :func:`unroll_rays` projected."""
    K_inv = np.linalg.inv(K)
    rays = np.hstack([x, np.ones((len(x), 1))]) @ K_inv.T
    turned = unroll_rays(rays, rows, omega, readout, height) @ np.asarray(K, np.float64).T
    return (turned[:, :2] / turned[:, 2:3]).astype(x.dtype, copy=False)


def relative_shift(
    x_a: np.ndarray,
    x_b: np.ndarray,
    rows_a: np.ndarray,
    rows_b: np.ndarray,
    K: np.ndarray,
    omega_a: np.ndarray,
    omega_b: np.ndarray,
    readout: float,
    height: int,
) -> float:
    """Pixels: the median over the matches ``x_a [N,2]`` ↔ ``x_b [N,2]`` (undistorted pixels of two frames, seen in
    the captured ``rows_a`` / ``rows_b`` ``[N]``; camera ``K [3,3]``) of how far un-rolling (:func:`unroll_pixels`
    with the frames' angular velocities ``omega_a`` / ``omega_b`` ``[3]`` at ``readout``) moves each match relative
    to its partner, ``|(x_b' − x_b) − (x_a' − x_a)|``. A turn that is the same in both frames shifts both alike and
    changes nothing a pair's pose sees (0); what a pair's fit sees is the change of the turn between its frames."""
    moved_a = _unrolling_moves(x_a, rows_a, K, omega_a, readout, height)
    return _median_relative(moved_a, _unrolling_moves(x_b, rows_b, K, omega_b, readout, height))


def _unrolling_moves(
    x: np.ndarray, rows: np.ndarray, K: np.ndarray, omega: np.ndarray, readout: float, height: int
) -> np.ndarray:
    """``[N,2]`` pixels: how far :func:`unroll_pixels` moves each of the undistorted pixels ``x [N,2]``."""
    return unroll_pixels(x, rows, K, omega, readout, height) - x


def _median_relative(moved_a: np.ndarray, moved_b: np.ndarray) -> float:
    """Pixels: the median length of ``moved_b − moved_a`` (``[N,2]`` each)."""
    return float(np.median(np.linalg.norm(moved_b - moved_a, axis=1)))


def unrolling_shift(
    matches: Sequence[tuple[int, np.ndarray, np.ndarray]],
    K: np.ndarray,
    omega: np.ndarray,
    readout: float,
    height: int,
    lags: Sequence[int] = SHIFT_LAGS,
) -> float:
    """Pixels: how far un-rolling at ``readout`` with the frames' angular velocities ``omega [T,3]`` would move the
    matches of a pair relative to each other, for the pairs the graph may form: for each frame offset ``L`` of
    ``lags`` the median over the frames ``k`` of ``matches`` (``(k, x [N,2], rows [N])``: undistorted pixels of frame
    ``k`` and their captured rows, e.g. its consecutive pair's matches) of :func:`relative_shift` between frame
    ``k`` and ``k + L`` (the pixels taken where they are in frame ``k``: the flow between them changes the shear
    to second order only), and the largest of these medians (0 when no frame has a partner)."""
    shifts: dict[int, list[float]] = {lag: [] for lag in lags}
    for k, x, rows in matches:
        own = _unrolling_moves(x, rows, K, omega[k], readout, height)  # frame k's side: once for every lag
        for lag in lags:
            if k + lag < len(omega):
                other = _unrolling_moves(x, rows, K, omega[k + lag], readout, height)
                shifts[lag].append(_median_relative(own, other))
    return max((float(np.median(found)) for found in shifts.values() if found), default=0.0)


def frame_angular_velocities(rotations: dict[int, np.ndarray], num_frames: int, sharpen: bool = False) -> np.ndarray:
    """``[T,3]`` angular velocity of each frame (radians per frame interval, camera axes) from the relative rotations
    ``rotations[k]`` ``[3,3]`` of the consecutive pairs ``(k, k + 1)`` (``X_{k+1} = R X_k``): the mean of the
    velocities of the pairs on either side, ``−log(R)`` each (a pair's rotation vector is the same in both of its
    cameras); the nearest frame's where neither pair is known, 0 when none is.

    With ``sharpen`` (``rolling_shutter_sharp_velocity``) the mean's smoothing is undone to second order on every
    frame but the first two and the last two (whose neighbours are one-sided): a pair's rotation is the velocity
    integrated over its interval, so the mean ``m_k`` of the two sides is ``ω(k) + ω''(k) / 6`` (Taylor), i.e. a
    hand tremor's velocity changes come out damped (×0.88 at 4 Hz, 30 frames/s);
    ``ω(k) = m_k − (m_{k+1} − 2 m_k + m_{k−1}) / 6``."""
    from scipy.spatial.transform import Rotation

    steps = {k: -Rotation.from_matrix(R).as_rotvec() for k, R in rotations.items()}
    omega = np.zeros((num_frames, 3))
    known = []
    for k in range(num_frames):
        sides = [steps[j] for j in (k - 1, k) if j in steps]
        if sides:
            omega[k] = np.mean(sides, axis=0)
            known.append(k)
    if known and len(known) < num_frames:
        known_arr = np.array(known)
        for k in range(num_frames):
            if k not in steps and k - 1 not in steps:
                omega[k] = omega[known_arr[np.abs(known_arr - k).argmin()]]
    if sharpen and num_frames >= 5:  # the frames whose neighbours are means of two sides
        omega[2:-2] -= (omega[3:-1] - 2 * omega[2:-2] + omega[1:-3]) / 6
    return omega


def screen_runs(num_frames: int, windows: int = SCREEN_WINDOWS, length: int = SCREEN_WINDOW_FRAMES) -> list[int]:
    """The first frames of ``windows`` runs of ``length`` consecutive frames spread evenly over ``num_frames``
    frames (fewer when the clip is short; sorted, no repeats; a run is the whole clip when it is shorter)."""
    length = min(length, num_frames)
    return [int(s) for s in np.unique(np.round(np.linspace(0, num_frames - length, windows)).astype(int))]


def screen_pairs(num_frames: int, windows: int = SCREEN_WINDOWS, length: int = SCREEN_WINDOW_FRAMES) -> list[int]:
    """The first frames ``k`` of the consecutive pairs ``(k, k + 1)`` of the runs of :func:`screen_runs` (sorted, no
    repeats)."""
    length = min(length, num_frames)
    return sorted({k for start in screen_runs(num_frames, windows, length) for k in range(start, start + length - 1)})


#: pyramidal Lucas–Kanade window of :func:`corner_matches` and :func:`corner_tracks`
_LK_WINDOW = dict(winSize=(15, 15), maxLevel=3)


def _corners(gray: np.ndarray, corners: int) -> np.ndarray | None:
    """``[N,1,2]`` float32 Shi–Tomasi corners of ``gray [h,w]`` uint8 (at most ``corners``, spaced over the image),
    None when fewer than 30."""
    import cv2

    spacing = max(4.0, 0.5 * float(np.sqrt(gray.size / max(corners, 1))))
    found = cv2.goodFeaturesToTrack(gray, corners, 0.01, spacing)
    return None if found is None or len(found) < 30 else found


def _track_step(
    gray_a: np.ndarray, gray_b: np.ndarray, points: np.ndarray, fb_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(ahead [N,1,2] float32, keep [N] bool)``: ``points [N,1,2]`` float32 of ``gray_a`` tracked into ``gray_b``
    by pyramidal Lucas–Kanade, kept where both directions converge, the point lands inside the image and the
    forward–backward error is below ``fb_px`` pixels."""
    import cv2

    ahead, ok_ab, _ = cv2.calcOpticalFlowPyrLK(gray_a, gray_b, points, None, **_LK_WINDOW)
    back, ok_ba, _ = cv2.calcOpticalFlowPyrLK(gray_b, gray_a, ahead, None, **_LK_WINDOW)
    h, w = gray_a.shape
    x_a, x_b, x_r = (np.asarray(p, np.float64).reshape(-1, 2) for p in (points, ahead, back))
    inside = (x_b[:, 0] >= 0) & (x_b[:, 0] <= w - 1) & (x_b[:, 1] >= 0) & (x_b[:, 1] <= h - 1)
    keep = ok_ab.ravel().astype(bool) & ok_ba.ravel().astype(bool) & inside
    keep &= np.linalg.norm(x_a - x_r, axis=1) < fb_px
    return ahead, keep


def corner_matches(
    gray_a: np.ndarray, gray_b: np.ndarray, corners: int = SCREEN_CORNERS, fb_px: float = 0.5
) -> tuple[np.ndarray, np.ndarray] | None:
    """Sparse matches ``([N,2], [N,2])`` (float64 pixels, column, row) from grey frame ``gray_a [h,w]`` uint8 to
    ``gray_b``: up to ``corners`` Shi–Tomasi corners tracked by pyramidal Lucas–Kanade both ways, kept when the
    forward–backward error is below ``fb_px`` pixels; None when fewer than 30 remain. ~7 ms a pair at 320×240
    against ~40–60 ms for the matcher's two dense DIS flows (:func:`corner_tracks` of the two frames)."""
    tracks = corner_tracks((gray_a, gray_b), corners, fb_px)
    return None if tracks is None else (tracks[0], tracks[1])


def corner_tracks(
    gray: np.ndarray | Sequence[np.ndarray], corners: int = SCREEN_CORNERS, fb_px: float = 0.5
) -> np.ndarray | None:
    """``[L,N,2]`` float64 pixels (column, row): up to ``corners`` Shi–Tomasi corners of the first of the
    consecutive grey frames ``gray [L,h,w]`` uint8 tracked through all of them (pyramidal Lucas–Kanade from each
    frame to the next, both ways: a step passes when both directions converge, the point lands inside the image and
    the forward–backward error is below ``fb_px`` pixels), the tracks kept where every step passed; None when fewer
    than 30 remain."""
    found = _corners(gray[0], corners)
    if found is None:
        return None
    points, keep = [found], np.ones(len(found), bool)
    for k in range(len(gray) - 1):
        ahead, kept = _track_step(gray[k], gray[k + 1], points[-1], fb_px)
        points.append(ahead)
        keep &= kept
    tracks = np.stack([np.asarray(p, np.float64).reshape(-1, 2) for p in points])
    return tracks[:, keep] if keep.sum() >= 30 else None


def rotation_flow(x: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``[N,2,3]``: the flow (pixels) of the undistorted pixels ``x [N,2]`` (camera ``K [3,3]``) per radian of a
    small rotation of the scene about each camera axis, ``X' = X + w × X`` (first order; depth-independent):
    ``f · [[−xy, 1 + x², −y], [−(1 + y²), xy, x]]`` at the normalised coordinates ``(x, y)``."""
    f = np.array([K[0, 0], K[1, 1]], np.float64)
    n = (np.asarray(x, np.float64) - np.asarray(K, np.float64)[:2, 2]) / f
    u, v = n[:, 0], n[:, 1]
    flow = np.empty((len(n), 2, 3))
    flow[:, 0] = np.stack([-u * v, 1 + u * u, -v], axis=1) * f[0]
    flow[:, 1] = np.stack([-(1 + v * v), u * v, u], axis=1) * f[1]
    return flow


def angular_acceleration(
    x: np.ndarray, K: np.ndarray, seed: int = 0, samples: int = SCREEN_SAMPLES, min_px: float = 0.05
) -> np.ndarray:
    """``[3]`` radians per frame: the change of the angular velocity between the pairs ``(0, 1)`` and ``(1, 2)`` of
    three frames, from the second differences ``x₂ − 2 x₁ + x₀`` of tracks ``x [3,N,2]`` (undistorted pixels,
    camera ``K``). A steady turn and a steady translation leave no second difference; a change of the rotation
    leaves the depth-independent :func:`rotation_flow` of that change (first order; a changing translation leaves
    a depth-dependent rest). Fitted by least median of squares over ``samples`` two-track samples (seeded by
    ``seed``), then by least squares on the tracks within ``max(2.5 σ, min_px)`` of that fit (σ from the median):
    tracks on moving objects, whose second differences are their own, are outliers when they are a minority."""
    second = x[2] - 2 * x[1] + x[0]  # [N,2]
    flow = rotation_flow(x[1], K)  # [N,2,3]
    # [S,2]: rng.choice(N, 2, replace=False) each, drawn on arrays (the same samples)
    picks = choice_samples(np.random.default_rng(seed), len(second), 2, samples)
    fits = (np.linalg.pinv(flow[picks].reshape(samples, 4, 3)) @ second[picks].reshape(samples, 4, 1))[..., 0]
    rest = second[None] - np.einsum("nij,sj->sni", flow, fits)  # [S,N,2]
    misfit = np.sqrt(np.square(rest[..., 0]) + np.square(rest[..., 1]))  # [S,N]: np.linalg.norm's sum of 2 squares
    medians = np.median(misfit, axis=1)
    best = int(np.argmin(medians))
    inliers = misfit[best] < max(2.5 * 1.4826 * float(medians[best]), min_px)
    return np.linalg.lstsq(flow[inliers].reshape(-1, 3), second[inliers].reshape(-1), rcond=None)[0]


def angular_velocity_changes(rotations: dict[int, np.ndarray]) -> np.ndarray:
    """``[M]`` radians per frame: ``|ω_{k+1} − ω_k|`` for every two consecutive pairs ``(k, k + 1)``,
    ``(k + 1, k + 2)`` whose relative rotations ``rotations[k]`` ``[3,3]`` are both known, ``ω_k = −log R_k``
    (:func:`frame_angular_velocities`' per-pair velocity)."""
    from scipy.spatial.transform import Rotation

    steps = {k: -Rotation.from_matrix(R).as_rotvec() for k, R in rotations.items()}
    return np.array([np.linalg.norm(steps[k + 1] - steps[k]) for k in sorted(steps) if k + 1 in steps])


def median_residual(residuals: dict[int, float]) -> float:
    """The median of the pairs' ``residuals`` (``{pair: residual}``; inf when there is none)."""
    return float(np.median(list(residuals.values()))) if residuals else float("inf")


def mirror_asymmetry(forward: dict[int, float], backward: dict[int, float]) -> float:
    """The median over the pairs ``k`` of both of ``log(forward[k] / backward[k])`` (NaN when none): each pair's
    residual (e.g. its median Sampson residual, pixels) on matches un-rolled with a readout ``+ρ`` against ``−ρ``.
    A global shutter has no row order, so turning the rows one way or the other fits equally well (≈ 0, whatever
    else changes the residual: moving objects, noise); a rolling shutter reading top to bottom fits better with
    ``+ρ`` (< 0). A paired test: each pair is its own reference."""
    common = sorted(set(forward) & set(backward))
    ratios = [np.log(forward[k] / backward[k]) for k in common if forward[k] > 0 and backward[k] > 0]
    return float(np.median(ratios)) if ratios else float("nan")


def choose_readout(
    residual: Callable[[float], float], grid: tuple[float, ...] = READOUT_GRID, margin: float = READOUT_MARGIN
) -> tuple[float, dict[float, float]]:
    """The readout of ``grid`` with the least ``residual(readout)`` (e.g. the median Sampson residual of the
    consecutive pairs re-estimated on un-rolled matches), and every readout's residual; 0 unless the least one is
    ``margin`` (relative) below the residual at 0."""
    costs = {float(r): float(residual(float(r))) for r in grid}
    best = min(costs, key=lambda r: costs[r])
    if 0.0 in costs and costs[best] > (1 - margin) * costs[0.0]:
        best = 0.0
    return best, costs


def occam_readout(
    residuals: Callable[[float], dict[int, float]],
    costs: dict[float, float],
    best: float,
    tolerance: float,
    samples: int = OCCAM_SAMPLES,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """``(readout, errors)``: the smallest non-zero readout of ``costs`` (``{readout: median residual}``, the
    descent's, :func:`choose_readout`) whose median residual is within ``tolerance`` standard errors of the
    readout ``best``'s — the simplest shutter the residuals cannot tell from the best fit (Occam's choice; ``best``
    when none below it is). ``residuals(readout)`` gives each pair's residual (``{pair: residual}``, the pairs the
    medians are taken over); the standard error of ``median(r) − median(best)`` is the spread of that difference
    over ``samples`` bootstrap resamples of the pairs both readouts re-estimated (the same resamples for every
    readout, seeded by ``seed``: paired, so what both readouts share, the scene and the pairs' own noise, cancels).
    ``errors`` holds each tried readout's standard error (pixels). 0 and readouts above ``best`` are never taken:
    whether the shutter rolls is the descent's and the mirror test's decision. Measured (docs/geometric.md, "The
    readout on a flat residual"): at ``tolerance`` 1 the true readout on 8 of 12 rolled renders (the least
    residual: 7), TUM fr1/desk 0.45 for 0.6 and its final +15 %."""
    if not best or tolerance <= 0:
        return best, {}
    at_best = residuals(best)
    errors: dict[float, float] = {}
    for readout in sorted(r for r in costs if 0 < r < best):
        found = residuals(readout)
        common = sorted(set(found) & set(at_best))
        if len(common) < 2:
            continue
        a = np.array([found[k] for k in common])
        b = np.array([at_best[k] for k in common])
        picks = np.random.default_rng(seed).integers(0, len(common), (samples, len(common)))
        differences = np.median(a[picks], axis=1) - np.median(b[picks], axis=1)
        errors[readout] = float(np.std(differences))
        if costs[readout] - costs[best] <= tolerance * errors[readout]:
            return readout, errors
    return best, errors


def detect_readout(
    residuals: Callable[[float], dict[int, float]],
    grid: tuple[float, ...] = READOUT_GRID,
    margin: float = READOUT_MARGIN,
    mirror: float = MIRROR_READOUT,
    mirror_margin: float = MIRROR_MARGIN,
    occam: float = 0.0,
) -> tuple[float, float, dict[float, float]]:
    """``(readout, asymmetry, costs)``: whether the shutter rolls, decided per clip from ``residuals(readout)``
    (``{pair: residual}``, e.g. each consecutive pair's median Sampson residual on matches un-rolled at
    ``readout``, which may be negative: rows bottom to top). Two tests, both needed: the mirror test
    (:func:`mirror_asymmetry` of ``±mirror`` below ``−mirror_margin``: top to bottom fits better than bottom to
    top) and the descent (:func:`choose_readout` over ``grid`` of the median residuals: some readout ``margin``
    below the global shutter's). The mirror test alone is fooled by a global shutter whose camera turns unevenly
    while it moves (the shear of ``±ρ`` mimics parallax one way better than the other; both sides are worse than
    0, unit test); the descent alone by moving objects (docs/geometric.md). ``readout`` is the grid's choice, 0
    when either test fails (with ``occam`` > 0, :func:`occam_readout`'s smallest readout within ``occam``
    standard errors of the grid's choice); ``costs`` the grid's median residuals (empty when the mirror test
    failed)."""
    asymmetry = mirror_asymmetry(residuals(mirror), residuals(-mirror))
    if not asymmetry < -mirror_margin:
        return 0.0, asymmetry, {}

    readout, costs = choose_readout(lambda r: median_residual(residuals(r)), grid, margin)
    if occam > 0:
        readout = occam_readout(residuals, costs, readout, occam)[0]
    return readout, asymmetry, costs
