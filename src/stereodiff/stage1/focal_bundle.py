"""Focal self-calibration by bundle adjustment of flow tracks: the focal whose small bundle adjustment over
several frames reprojects the tracks best.

Two-view criteria (the equal singular values of ``Kᵀ F K``, or the Sampson error of the calibrated essential matrix
swept over the focal) are flat on hand-held clips: 8-34 frames apart the cost ±25 % off the true focal differs by
0.1-4 % (measured on TUM fr1/desk, 7-Scenes, the static orbit). Tracks chained over 8 keyframes tie the views
together: a wrong focal cannot make all of them agree on one structure, and the median reprojection error after
adjustment has its minimum near the true focal on TUM fr1/desk (0.98× of 517.3 @640 with windows of 8 keyframes 2
and 3 frames apart, 0.9-1.0× with 1 frame apart). The matcher's ``focal_bundle`` (opt-in) decides 1.04× there and
1.005-1.038× on the static orbit, but the depth gets worse with it, and the rendered 10-frame scenes are flat
(docs/geometric.md, "Focal length").

The matcher's ``focal_cascade`` (on in the ``cpu`` preset) asks this module only where the Kruppa cost declines,
and cheaply (``search="walk"``, ``separate=True``): a downhill walk over the same grid of focals, one adjustment
per window, a contrast that does not depend on where the grid falls, and a decision that must survive dropping any
one window (:func:`focal_from_tracks`); ≈2 s of CPU at 320 px instead of 4-10 s, of which the matcher shares the tracks'
flows with its pair run and runs the adjustments beside the pair run's first flows (docs/geometric.md, "Cheaper").

Model per window (keyframes ``0..K-1``): the points are the rays of the tracks in keyframe 0 at inverse depth
``ρ``; keyframe ``k`` sees ``P = R_k ray + ρ t_k`` at ``f · P_xy / P_z + c``. The windows share the focal only.
Initialisation: two-view relative poses from keyframe 0, inverse depths triangulated from the last keyframe, each
translation scaled by least squares; then scipy's ``least_squares`` (Huber loss, analytic sparse Jacobian).

Conventions (docs/conventions.md): pixel ``(u, v)`` = (column, row); OpenCV camera axes; ``X_k = R_k X_0 + t_k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from stereodiff.flow import forward_backward, sample_flow
from stereodiff.robust import parabola_vertex
from stereodiff.stage1.epipolar import FocalEstimate, relative_pose

_HUBER = ("huber", 0.5)  # the adjustments' robust loss: scipy's name, its scale (pixels at 320 px)
_EVALUATIONS = 30  # most residual evaluations of one adjustment
_STEP = 1.25  # ratio of consecutive focals of the sweep
_SWEEP = 3  # the sweep covers the prior focal × _STEP^-3 … _STEP^3 (0.51-1.95×)
_CONTRAST = 1.15  # least error ratio of the focals ±25 % away to the best one
_GRID_FLAT = 1.10  # the walk: grid neighbours under this × the least error: flat, no half steps (see focal_from_tracks)
_WINDOWS_AGREE = 0.10  # the walk: without any one window the focal must be within 10 % of the decided one
CASCADE_EVALUATIONS = 20  # most residual evaluations per adjustment in the cascade (GeometricConfig.focal_cascade)
CASCADE_MAX_NOISE_RAD = 3e-4
"""The cascade's guard (``GeometricConfig.focal_cascade``): the walk decides only where its least median reprojection
error, as an angle (pixels ÷ the focal in pixels), is at most 0.3 mrad. A focal error shows as an angle (the rays'
perspective over the window), the flow's error is a fraction of a pixel at any image size: on frames of 128-160 px the
decisions that passed the contrast and drop-one tests were at 0.34-1.35 mrad and 19 of 30 more than 5 % off; at
320 px every one of 22 was at 0.09-0.25 mrad and within 4.5 % (docs/geometric.md, "A guard against small frames")."""
CASCADE_CAUCHY = ("cauchy", 0.2)
"""The cascade's loss with ``GeometricConfig.focal_cascade_robust``: scipy's Cauchy loss at 0.2 px (at 320 px) instead
of Huber at 0.5 px. Tracks on an independently moving object (or any track that fits no camera motion) are 0.4-5 px
off after an adjustment, the median track 0.05-0.15 px: in Huber's linear range they still pull the poses, and with
them the focal; the Cauchy loss's influence falls off beyond its scale. ``make demo``'s clip (``close-object`` s0, 90
frames): 1.056× the truth → 1.018× (0.1 px: 1.019×, 0.3 px: 1.020×); the tracks that start on the moving box left
out by hand give 1.019× (docs/geometric.md, "Tracks on moving objects")."""
TRACKS_PER_WINDOW = 300  # tracks started per window (150: TUM fr1/desk decided 1.09× the truth; 300: 1.04×)


@dataclass
class TrackWindow:
    """Flow tracks of one window of keyframes.

    Attributes:
        ref: ``[N,2]`` pixel positions of the tracks in keyframe 0.
        seen: one ``(index [M], uv [M,2])`` per keyframe 1..K-1: the tracks still followed there and their positions.
    """

    ref: np.ndarray
    seen: list[tuple[np.ndarray, np.ndarray]]


def window_keyframes(num_frames: int, count: int = 3, keyframes: int = 8) -> list[list[int]]:
    """The frame indices of the self-calibration's ``count`` track windows over a video of ``num_frames`` frames:
    ``keyframes`` keyframes each, 3 frames apart (less in short videos, and fewer keyframes where the video is too
    short), the windows' starts spread evenly (repeats dropped)."""
    step = max(1, min(3, (num_frames - 1) // (keyframes - 1)))
    keyframes = min(keyframes, (num_frames - 1) // step + 1)
    starts = np.unique(np.linspace(0, num_frames - 1 - step * (keyframes - 1), count).round().astype(int))
    return [[int(start + step * k) for k in range(keyframes)] for start in starts]


def track_window(
    flows: Callable[[int], tuple[np.ndarray, np.ndarray]],
    num_keyframes: int,
    size: tuple[int, int],
    *,
    cells: int,
    fb_threshold_px: float,
    max_tracks: int,
    edge_px: float = 0.0,
    edge_radius: int = 2,
) -> TrackWindow:
    """Tracks from keyframe 0 through ``num_keyframes`` keyframes.

    Args:
        flows: ``flows(k)`` = forward and backward flow ``[h,w,2]`` between keyframes ``k`` and ``k + 1``.
        num_keyframes: keyframes of the window (≥ 2).
        size: ``(h, w)`` of the frames.
        cells: the tracks start at the centres of a grid of ``cells`` cells along the long side.
        fb_threshold_px: a track ends at the first step whose forward–backward error exceeds this (pixels).
        max_tracks: at most this many tracks are kept (evenly spread over the start grid).
        edge_px: when positive, a track also ends at the first step where it lies near a flow edge (an occluding
            edge or a moving object's outline): where the dense forward flow's forward-backward miss exceeds
            ``edge_px`` pixels within ``edge_radius`` pixels of its start (a square), or the backward flow's around
            its end (:func:`flow_edges`, ≈ 7 ms per step at 320×240; ``GeometricConfig.focal_track_edges``).
        edge_radius: see ``edge_px``.
    """
    h, w = size
    cell = max(1, max(h, w) // cells)
    ys, xs = np.mgrid[cell // 2 : h : cell, cell // 2 : w : cell]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    points = points[np.unique(np.linspace(0, len(points) - 1, max_tracks).round().astype(int))]
    ref, alive, seen = points.copy(), np.ones(len(points), bool), []
    for k in range(num_keyframes - 1):
        forward, backward = flows(k)
        moved = points + sample_flow(forward, points[None])[0]
        back = moved + sample_flow(backward, moved[None])[0]
        inside = (moved[:, 0] >= 0) & (moved[:, 0] <= w - 1) & (moved[:, 1] >= 0) & (moved[:, 1] <= h - 1)
        alive &= inside & (np.linalg.norm(back - points, axis=1) < fb_threshold_px)
        if edge_px > 0:  # no flow edge near the start (forward) or the end (backward)
            alive &= sample_flow(flow_edges(forward, backward, edge_radius), points[None], "edge")[0] <= edge_px
            alive &= sample_flow(flow_edges(backward, forward, edge_radius), moved[None], "edge")[0] <= edge_px
        points = np.where(alive[:, None], moved, points)
        index = np.flatnonzero(alive)
        seen.append((index, points[index].astype(np.float64)))
    return TrackWindow(ref.astype(np.float64), seen)


def flow_edges(flow: np.ndarray, back: np.ndarray, radius: int) -> np.ndarray:
    """``[h,w]`` float32: the largest forward-backward miss of the dense flow ``flow [h,w,2]`` (``|flow + back|``,
    ``back [h,w,2]`` the reverse flow sampled at each pixel's target, the border replicated) within the square of
    ``2 radius + 1`` pixels around each pixel. Near an occluding edge (the points that slide behind it have no match)
    or a moving object's outline it is pixels, where the flow is smooth a small fraction of one: a track there can be
    consistent itself (DIS follows the occluder) while its neighbourhood is not."""
    import cv2

    _, _, miss = forward_backward(flow.astype(np.float32), back.astype(np.float32), outside="edge")
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(miss.astype(np.float32), kernel)


def reprojection_error(
    windows: list[TrackWindow],
    focal: float,
    principal_point: tuple[float, float],
    px_scale: float = 1.0,
    *,
    evaluations: int = _EVALUATIONS,
    separate: bool = False,
    loss: tuple[str, float] = _HUBER,
) -> float:
    """Median absolute reprojection residual (pixels) of ``windows`` after a bundle adjustment at ``focal`` (px):
    poses and inverse depths free, the focal and principal point fixed (``px_scale``: working long side / 320, scales
    the Huber threshold). NaN when no window has usable tracks.

    ``evaluations``: most residual evaluations of the adjustment. ``separate``:
    one adjustment per window instead of one for all (the same unknowns, since the focal is fixed: the windows share
    nothing else; smaller problems, and below 10 000 residuals numpy's BLAS stays on one thread, whose wake-ups cost
    up to 24 ms per small product on a loaded machine). ``loss``: the adjustment's robust loss, scipy's name and its
    scale in pixels at 320 px (scaled by ``px_scale``)."""

    return _median_abs(reprojection_residuals(windows, focal, principal_point, px_scale, evaluations, separate, loss))


def _median_abs(residuals: list[np.ndarray]) -> float:
    """Median absolute value over all of ``residuals`` (NaN when there are none)."""
    return float(np.median(np.abs(np.concatenate(residuals)))) if residuals else float("nan")


def reprojection_residuals(
    windows: list[TrackWindow],
    focal: float,
    principal_point: tuple[float, float],
    px_scale: float = 1.0,
    evaluations: int = _EVALUATIONS,
    separate: bool = False,
    loss: tuple[str, float] = _HUBER,
) -> list[np.ndarray]:
    """The reprojection residuals (pixels) of :func:`reprojection_error` before their median: one array per window
    with ``separate`` (the windows without tracks left out), else one for all."""
    windows = [window for window in windows if any(len(index) for index, _ in window.seen)]
    if not windows:
        return []
    return [
        _adjust(group, focal, principal_point, px_scale, evaluations, loss)
        for group in ([[window] for window in windows] if separate else [windows])
    ]


def _adjust(
    windows: list[TrackWindow],
    focal: float,
    principal_point: tuple[float, float],
    px_scale: float,
    evaluations: int,
    loss: tuple[str, float] = _HUBER,
) -> np.ndarray:
    """Reprojection residuals ``[2M]`` (pixels) of ``windows`` after their joint bundle adjustment at ``focal``
    (``loss``: scipy's robust loss and its scale, pixels at 320 px)."""
    from scipy.optimize import least_squares

    problem = _Problem(windows, focal, np.asarray(principal_point, float))
    solution = least_squares(
        problem.residuals,
        problem.initial(),
        jac=problem.jacobian,
        loss=loss[0],
        f_scale=loss[1] * px_scale,
        method="trf",
        tr_solver="lsmr",
        max_nfev=evaluations,
    )
    return solution.fun[: problem.num_reprojections]


def focal_from_tracks(
    windows: list[TrackWindow],
    principal_point: tuple[float, float],
    prior: float,
    px_scale: float = 1.0,
    *,
    search: Literal["sweep", "walk"] = "sweep",
    evaluations: int = _EVALUATIONS,
    separate: bool = False,
    max_noise_rad: float | None = None,
    loss: tuple[str, float] = _HUBER,
    trim_px: float = 0.0,
) -> FocalEstimate:
    """The focal (px) of least :func:`reprojection_error` on a sweep of focals ``prior × 1.25^k``, ``|k| ≤ 3``,
    refined on two focals half a step either side of the best one, by a parabola (in log focal) through the least
    of these five and its two neighbours.

    ``search="walk"`` (the cascade, ``GeometricConfig.focal_cascade``): the same grid, but only ``k = -1, 0, 1`` and
    then downhill one step at a time until the least error has a higher one on either side (or ``|k| = 3``): 3-5
    adjustments before the two half steps instead of 7 (the same answer where the curve has one minimum).
    ``evaluations``, ``separate`` and ``loss`` (the cascade with ``focal_cascade_robust``: ``CASCADE_CAUCHY``): as
    :func:`reprojection_error`. ``max_noise_rad`` (the walk only; the cascade passes ``CASCADE_MAX_NOISE_RAD``):
    undecided, before the two half steps, when the least grid focal's median reprojection error (px) divided by that
    focal (px) exceeds it: the tracks are too noisy, as angles, to tell the focal (``FocalEstimate.noise_rad`` holds
    the measure). The walk also declines before the half steps when both grid neighbours are within ``_GRID_FLAT`` =
    1.10× the least error (the contrast of the fit through the five was at most 1.026× that of the grid's three over
    145 clips: it did not reach 1.15× there).

    Undecided (``focal`` None, with the reason) when no window has tracks, when the best focal is an end of the sweep
    or when the errors ±25 % away are less than ``_CONTRAST`` = 1.15× the least (on TUM fr1/desk 1.19-1.46×; the
    static orbit 1.11× and 7-Scenes 1.08×, both undecided).

    ``trim_px`` (``GeometricConfig.focal_trim_px``; 0: off): after the walk (or sweep), the tracks whose median
    reprojection residual after the adjustment at the least grid focal exceeds ``trim_px`` pixels (at 320 px, scaled
    by ``px_scale``) are left out and the walk is run again on the rest (:func:`_trimmed`); its decision is taken
    where it decides, else the first walk's decision stands. Only where the first walk decided: it makes no new
    decision (where the first walk declines, by the noise guard, the contrast or the drop-one test, the trimmed one
    decided 7 more rendered clips right at 320 px, but ``close-object`` s118 at 1.063× with the grid shifted by
    10 %; and the trimmed tracks of small frames would pass the noise guard).
    """
    options = dict(search=search, evaluations=evaluations, separate=separate, max_noise_rad=max_noise_rad, loss=loss)
    kept: dict = {}
    first = _search(windows, principal_point, prior, px_scale, kept=kept, **options)
    if trim_px <= 0 or first.focal is None or "residuals" not in kept:
        return first  # a second look at a decision only: it makes none where the first walk declined
    trimmed, dropped = _trimmed(windows, kept["residuals"], trim_px * px_scale)
    if not dropped:
        return first
    second = _search(trimmed, principal_point, prior, px_scale, **options)
    if second.focal is None:
        return first
    second.reason = ""
    second.trimmed = f"without {dropped} tracks over {trim_px:g} px at {kept['focal']:.1f} px"
    return second


def _search(
    windows: list[TrackWindow],
    principal_point: tuple[float, float],
    prior: float,
    px_scale: float,
    *,
    search: Literal["sweep", "walk"],
    evaluations: int,
    separate: bool,
    max_noise_rad: float | None,
    loss: tuple[str, float],
    kept: dict | None = None,
) -> FocalEstimate:
    """:func:`focal_from_tracks` on one set of tracks (its sweep or walk and its decision, no ``trim_px``).
    ``kept``: receives the least grid focal (``"focal"``, px) and its residuals (``"residuals"``, as
    :func:`reprojection_residuals`) once a grid focal has a finite error."""
    cache: dict[float, float] = {}
    parts: dict[float, list[np.ndarray]] = {}  # residuals per window (``separate``) or for all

    def error(k: float) -> float:  # k in steps of _STEP from the prior
        if k not in cache:
            focal = prior * _STEP**k
            parts[k] = reprojection_residuals(windows, focal, principal_point, px_scale, evaluations, separate, loss)
            cache[k] = _median_abs(parts[k])
        return cache[k]

    if search == "sweep":
        steps = list(range(-_SWEEP, _SWEEP + 1))
        for k in steps:
            error(k)
    else:
        for k in (-1, 0, 1):
            error(k)
        while True:
            known = sorted(k for k in cache if float(k).is_integer())
            values = [cache[k] for k in known]
            if not np.isfinite(values).any():
                break
            best = known[int(np.nanargmin(values))]
            if best == known[0] and best > -_SWEEP:
                error(best - 1)
            elif best == known[-1] and best < _SWEEP:
                error(best + 1)
            else:
                break
        steps = sorted(k for k in cache if float(k).is_integer())
    focals = prior * _STEP ** np.asarray(steps, float)
    errors = np.array([cache[k] for k in steps])
    if not np.isfinite(errors).any():
        return FocalEstimate(None, reason="no flow tracks")
    best = int(np.nanargmin(errors))
    estimate = FocalEstimate(None, float(focals[best]))
    if kept is not None:
        kept.update(residuals=parts[steps[best]], focal=float(focals[best]))
    if steps[best] in (-_SWEEP, _SWEEP):
        estimate.reason = f"least reprojection error at the end of the sweep ({focals[best] / prior:.2f}× the prior)"
        return estimate
    left, mid, right = errors[best - 1 : best + 2]
    estimate.noise_rad = float(mid / focals[best])
    if search == "walk":
        if max_noise_rad is not None and not estimate.noise_rad <= max_noise_rad:
            estimate.reason = (
                f"tracks too noisy to tell the focal: the least reprojection error, {mid:.3f} px at "
                f"{focals[best]:.0f} px, is {1e3 * estimate.noise_rad:.2f} mrad (at most {1e3 * max_noise_rad:.2f})"
            )
            return estimate
        if max(left, right) < _GRID_FLAT * mid:
            # the fit's contrast was at most 1.026× the grid's over 145 clips: under 1.10× it did not reach 1.15×
            estimate.contrast = float(max(left, right) / max(mid, 1e-12))
            estimate.reason = (
                f"reprojection flat: ±25 % gives at most {estimate.contrast:.2f}× the least error ({mid:.2f} px, "
                f"needs {_CONTRAST:g}×)"
            )
            return estimate
        estimate = _vertex_decision(estimate, error, steps[best], float(focals[best]), (left, mid, right))
        if estimate.focal is not None and separate and len(parts[steps[best]]) > 1:
            estimate = _without_one_window(estimate, parts, steps[best], float(focals[best]))
        return estimate
    estimate.contrast = float(min(left, right) / max(mid, 1e-12))
    if not estimate.contrast >= _CONTRAST:
        estimate.reason = (
            f"reprojection flat: ±25 % gives {estimate.contrast:.2f}× the least error "
            f"({mid:.2f} px, needs {_CONTRAST:g}×)"
        )
        return estimate
    # refine: two more focals half a step either side, then the vertex of the parabola (log focal) through the least
    # of the five and its two neighbours
    k0 = steps[best]
    near_errors = np.array([left, error(k0 - 0.5), mid, error(k0 + 0.5), right])  # best/1.25 … best·1.25
    estimate.focal = estimate.best = _five_point_fit(near_errors, float(focals[best]))[1]
    return estimate


class _Problem:
    """The bundle adjustment of track windows at a fixed focal (see the module docstring)."""

    def __init__(self, windows: list[TrackWindow], focal: float, centre: np.ndarray) -> None:
        self.focal, self.centre, self.windows = focal, centre, windows
        ref, target, track, pose = [], [], [], []
        self.blocks = []  # per window: (first pose, first track, number of tracks)
        num_poses = num_tracks = 0
        for window in windows:
            self.blocks.append((num_poses, num_tracks, len(window.ref)))
            for k, (index, uv) in enumerate(window.seen):
                ref.append(window.ref[index])
                target.append(uv)
                track.append(index + num_tracks)
                pose.append(np.full(len(index), num_poses + k))
            num_poses += len(window.seen)
            num_tracks += len(window.ref)
        self.num_poses, self.num_tracks = num_poses, num_tracks
        self.ref, self.target = np.concatenate(ref), np.concatenate(target)
        self.track, self.pose = np.concatenate(track), np.concatenate(pose)
        self.rays = np.hstack([(self.ref - centre) / focal, np.ones((len(self.ref), 1))])
        self.num_reprojections = 2 * len(self.ref)
        self._structure: tuple | None = None  # the Jacobian's CSR pattern (see :meth:`jacobian`)
        self._last: tuple | None = None  # (x, _project(x)) of the last projection
        # the gauge rows' Jacobian values, the same at every evaluation
        self._gauge_values = np.concatenate([np.full(n, 10.0 / n) for _, _, n in self.blocks])

    def initial(self) -> np.ndarray:
        """Parameters ``[6·poses + tracks]`` (rotation vector, translation per pose; inverse depth per track) from
        two-view geometry (see the module docstring)."""
        import cv2

        K = np.array([[self.focal, 0, self.centre[0]], [0, self.focal, self.centre[1]], [0, 0, 1.0]])
        poses = np.zeros((self.num_poses, 6))
        rho = np.ones(self.num_tracks)
        for window, (first_pose, first_track, count) in zip(self.windows, self.blocks, strict=True):
            rays = np.hstack([(window.ref - self.centre) / self.focal, np.ones((count, 1))])
            motions = []
            for index, uv in window.seen:
                if len(index) >= 8:
                    geom = relative_pose(
                        window.ref[index], uv, K, (0, 1), threshold=1.0, median_threshold=0.1, min_angle_deg=0.0
                    )
                    motions.append((index, uv, geom.R, geom.t))
                else:
                    motions.append((index, uv, np.eye(3), np.zeros(3)))
            # depths from the farthest keyframe that still sees 30 tracks with a pose (the widest baseline)
            usable = [m for m in motions if len(m[0]) >= 30 and np.linalg.norm(m[3]) > 0] or motions
            index, uv, R, t = usable[-1]
            inverse = np.full(count, np.nan)
            inverse[index] = _scale_fit(rays[index] @ R.T, t[None, :], uv, self.centre, self.focal, per_row=True)
            level = np.nanmedian(np.abs(inverse)) if np.isfinite(inverse).any() else 1.0
            level = level if level > 0 else 1.0
            inverse = np.clip(np.nan_to_num(inverse / level, nan=1.0), 0.05, 20.0)
            rho[first_track : first_track + count] = inverse
            for k, (index, uv, R, t) in enumerate(motions):
                scale = _scale_fit(rays[index] @ R.T, inverse[index, None] * t, uv, self.centre, self.focal)
                poses[first_pose + k, :3] = cv2.Rodrigues(R)[0].ravel()
                poses[first_pose + k, 3:] = scale * t
        return np.concatenate([poses.ravel(), rho])

    def _project(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """Poses ``[P,6]``, inverse depths ``[N]``, the points ``[M,3]`` in their keyframes and the rotated rays
        ``[M,3]`` at ``x``; the last call's are reused (scipy asks the Jacobian at the point whose residuals it has
        just evaluated)."""
        import cv2

        if self._last is not None and np.array_equal(self._last[0], x):
            return self._last[1]
        poses = x[: 6 * self.num_poses].reshape(-1, 6)
        rho = x[6 * self.num_poses :]
        rotations = np.stack([cv2.Rodrigues(p[:3])[0] for p in poses])
        rotated = self._rotate(rotations)
        P = rotated + rho[self.track, None] * poses[self.pose, 3:]
        self._last = (x.copy(), (poses, rho, P, rotated))
        return poses, rho, P, rotated

    def _rotate(self, rotations: np.ndarray) -> np.ndarray:
        """``[M,3]`` rays turned by their poses' ``rotations [P,3,3]``."""
        return np.einsum("nij,nj->ni", rotations[self.pose], self.rays)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Reprojection residuals ``[2M]`` (pixels), then one gauge residual per window (mean inverse depth 1)."""
        _, rho, P, _ = self._project(x)
        projected = self.focal * P[:, :2] / P[:, 2:] + self.centre
        gauge = [rho[t0 : t0 + n].mean() - 1.0 for _, t0, n in self.blocks]
        return np.concatenate([(projected - self.target).ravel(), 10.0 * np.asarray(gauge)])

    def _pattern(self, count: int, num_params: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
        """The Jacobian's CSR pattern (the same at every evaluation: built once): the permutation of the values (in
        :meth:`jacobian`'s order: rotation ``[M,2,3]``, translation ``[M,2,3]``, inverse depth ``[M,2]``, gauge)
        into CSR order, the column indices, the row pointers and the shape."""
        from scipy.sparse import csr_matrix

        m = len(self.pose)
        column = 6 * self.pose[:, None]
        rows_of = np.arange(2 * m).reshape(m, 2)
        rows, cols = [], []
        for columns in (column + np.arange(3), column + 3 + np.arange(3), (6 * self.num_poses + self.track)[:, None]):
            q = columns.shape[1]
            rows.append(np.repeat(rows_of[:, :, None], q, axis=2).ravel())
            cols.append(np.repeat(columns[:, None, :], 2, axis=1).ravel())
        for w, (_, t0, n) in enumerate(self.blocks):
            rows.append(np.full(n, 2 * m + w))
            cols.append(6 * self.num_poses + t0 + np.arange(n))
        shape = (2 * m + len(self.blocks), num_params)
        order = np.arange(1, count + 1, dtype=float)  # from 1: no explicit zero to drop
        pattern = csr_matrix((order, (np.concatenate(rows), np.concatenate(cols))), shape=shape)
        return pattern.data.astype(np.int64) - 1, pattern.indices, pattern.indptr, shape

    def jacobian(self, x: np.ndarray) -> object:
        """Sparse Jacobian of :meth:`residuals` (rotation columns by forward differences of the rotation matrix)."""
        import cv2
        from scipy.sparse import csr_matrix

        poses, rho, P, base = self._project(x)
        m, f = len(P), self.focal
        inv_z = 1.0 / P[:, 2]
        d_proj = np.zeros((m, 2, 3))  # d projected / d P
        d_proj[:, 0, 0] = d_proj[:, 1, 1] = f * inv_z
        d_proj[:, :, 2] = -f * P[:, :2] * inv_z[:, None] ** 2
        eps = 1e-6
        d_rot = np.zeros((m, 3, 3))
        for q in range(3):
            nudged = poses[:, :3].copy()
            nudged[:, q] += eps
            rotations = np.stack([cv2.Rodrigues(v)[0] for v in nudged])
            d_rot[:, :, q] = (self._rotate(rotations) - base) / eps
        blocks = [
            np.einsum("nij,njk->nik", d_proj, d_rot),
            d_proj * rho[self.track, None, None],
            np.einsum("nij,nj->ni", d_proj, poses[self.pose, 3:])[..., None],
        ]
        values = np.concatenate([block.ravel() for block in blocks] + [self._gauge_values])
        if self._structure is None:
            self._structure = self._pattern(len(values), len(x))
        permutation, indices, indptr, shape = self._structure
        return csr_matrix((values[permutation], indices, indptr), shape=shape)


def _vertex_decision(
    estimate: FocalEstimate,
    error: Callable[[float], float],
    k0: int,
    focal: float,
    grid: tuple[float, float, float],
) -> FocalEstimate:
    """The walk's decision around its least grid focal ``focal`` (grid step ``k0``, errors ``grid`` at
    ``k0 - 1, k0, k0 + 1``): two more adjustments half a step either side; the contrast is that of a least-squares
    parabola (in log focal) through the five errors: its value one step (±25 %) from its vertex over its value at
    the vertex; the focal is the vertex of the parabola through the least of the five and its two neighbours.

    Why not the sweep's contrast (the least error of the grid neighbours over the least one): it holds only when a
    grid focal is near the minimum. With the grid shifted by 10 % (prior × 0.9 or × 1.1) the minimum falls between
    two grid focals, their errors are alike, and the contrast drops to 1.01-1.08 on every clip that decided."""
    left, mid, right = grid
    errors = np.array([left, error(k0 - 0.5), mid, error(k0 + 0.5), right])
    if not np.isfinite(errors).all():
        estimate.reason = "reprojection error undefined near its least"
        return estimate
    contrast, estimate.best = _five_point_fit(errors, focal)
    estimate.contrast = contrast
    if not contrast >= _CONTRAST:
        estimate.reason = (
            f"reprojection flat: ±25 % gives {contrast:.2f}× the least error ({mid:.2f} px, needs {_CONTRAST:g}×)"
            if np.isfinite(contrast)
            else f"reprojection not convex around its least error ({mid:.2f} px)"
        )
        return estimate
    estimate.focal = estimate.best
    return estimate


def _trimmed(
    windows: list[TrackWindow], residuals: list[np.ndarray], threshold: float
) -> tuple[list[TrackWindow], int]:
    """``windows`` without the tracks whose median reprojection residual (the norm over their observations, pixels)
    in ``residuals`` (:func:`reprojection_residuals` of ``windows``: one array per window with tracks, or one for
    all) exceeds ``threshold``, and how many were left out. A flow mistrack (DIS following another texture, a track
    on a moving object) fits no camera motion: pixels off at any focal, where the median track is 0.05-0.15 px off
    (docs/geometric.md, "Outlier tracks left out after a first walk")."""
    live = [window for window in windows if any(len(index) for index, _ in window.seen)]
    flat = np.concatenate(residuals) if residuals else np.zeros(0)
    counts = [2 * sum(len(index) for index, _ in window.seen) for window in live]
    if len(flat) != sum(counts):  # the residuals do not match the windows: nothing to trim
        return windows, 0
    out, dropped, start = [], 0, 0
    for window, count in zip(live, counts, strict=True):
        part = flat[start : start + count]
        start += count
        track = np.concatenate([index for index, _ in window.seen])
        norm = np.hypot(part[0::2], part[1::2])
        order = np.argsort(track, kind="stable")
        ids, first = np.unique(track[order], return_index=True)
        median = np.array([np.median(group) for group in np.split(norm[order], first[1:])])
        bad = np.zeros(len(window.ref), bool)
        bad[ids[median > threshold]] = True
        dropped += int(bad.sum())
        out.append(TrackWindow(window.ref, [(index[~bad[index]], uv[~bad[index]]) for index, uv in window.seen]))
    return out, dropped


def _five_point_fit(errors: np.ndarray, focal: float) -> tuple[float, float]:
    """Contrast and focal (px) of five errors ``[5]`` at ``focal × 1.25^(-1, -0.5, 0, 0.5, 1)``: the contrast of the
    least-squares parabola in log focal (its value one step from its vertex over its value at the vertex; NaN when
    not convex), the focal at the vertex of the parabola through the least error and its two neighbours (the
    least-squares parabola over all five is pulled by the curve's V shape: TUM 1.07-1.10× with it)."""
    curvature, slope, level = np.polyfit(np.arange(-1.0, 1.5, 0.5), errors, 2)  # in grid steps
    contrast = float("nan")
    if curvature > 0:
        vertex = float(np.clip(-slope / (2 * curvature), -1.0, 1.0))
        contrast = float(1.0 + curvature / max(float(np.polyval([curvature, slope, level], vertex)), 1e-12))
    j = int(np.clip(np.argmin(errors), 1, 3))
    shift = parabola_vertex(*errors[j - 1 : j + 2])  # in half steps
    return contrast, float(focal * _STEP ** (0.5 * (j - 2) + 0.5 * shift))


def _without_one_window(
    estimate: FocalEstimate, parts: dict[float, list[np.ndarray]], k0: int, focal: float
) -> FocalEstimate:
    """The walk's decision must not hang on one window: without each window in turn, the other windows' residuals
    at the same five focals must pass the contrast test too, with a focal within ``_WINDOWS_AGREE`` of the
    decided one."""
    offsets = (k0 - 1, k0 - 0.5, k0, k0 + 0.5, k0 + 1)
    count = len(parts[k0])
    for w in range(count):
        errors = np.array([_median_abs(parts[k][:w] + parts[k][w + 1 :]) for k in offsets])
        contrast, without = _five_point_fit(errors, focal)
        estimate.without.append((contrast, without))
        apart = abs(np.log(without / estimate.focal))
        if not contrast >= _CONTRAST or apart > np.log1p(_WINDOWS_AGREE):
            estimate.reason = (
                f"hangs on one window: without window {w + 1} of {count} ±25 % gives {contrast:.3f}× the least "
                f"error (needs {_CONTRAST:g}×) at {without:.1f} px, {100 * (np.exp(apart) - 1):.0f} % from "
                f"{estimate.focal:.1f} px (at most {100 * _WINDOWS_AGREE:.0f} %)"
            )
            estimate.focal = None
            return estimate
    return estimate


def _scale_fit(
    fixed: np.ndarray, moving: np.ndarray, uv: np.ndarray, centre: np.ndarray, focal: float, *, per_row: bool = False
) -> np.ndarray | float:
    """Least-squares ``s`` with ``fixed + s · moving`` ``[N,3]`` projecting to ``uv [N,2]`` (the two linear
    equations ``P_x − x P_z = 0``, ``P_y − y P_z = 0`` of each point, normalised coordinates); one ``s`` per row
    (``per_row``) or one for all."""
    x = (uv - centre) / focal
    a = moving[:, :2] - x * moving[:, 2:]  # [N,2]
    b = -(fixed[:, :2] - x * fixed[:, 2:])
    if per_row:
        return np.sum(a * b, axis=1) / np.maximum(np.sum(a * a, axis=1), 1e-12)
    return float(np.sum(a * b) / max(float(np.sum(a * a)), 1e-12))


def kruppa_checked(kruppa: FocalEstimate, bundle: FocalEstimate) -> FocalEstimate:
    """A Kruppa decision (``kruppa``, decided) cross-checked by the cascade's bundle step on the same clip
    (``bundle``, :func:`focal_from_tracks`'s walk; ``GeometricConfig.focal_kruppa_check``): the bundle step's
    estimate when it decides (its ``source`` ``"bundle"``, its ``reason`` naming both focals), else the Kruppa
    decision, unchanged. Where both decided (64 frames at 320×240), the bundle step was the nearer to the truth
    every time, the Kruppa cost 0.93-1.00× the truth (docs/geometric.md, "A confident wrong Kruppa decision")."""
    if bundle.focal is None:
        return kruppa
    bundle.source = "bundle"
    bundle.reason = (
        f"the Kruppa cost decided {kruppa.focal:.1f} px (±25 % costs {kruppa.contrast:.2f}× the least), the bundle "
        f"adjustment {bundle.focal:.1f} px (±25 % gives {bundle.contrast:.2f}× the least reprojection error): "
        "the bundle adjustment's taken"
    )
    if bundle.trimmed:  # focal_trim_px: decided by the second walk
        bundle.reason += f" ({bundle.trimmed})"
    return bundle
