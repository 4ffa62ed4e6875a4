"""The camera's motion along the ground normal as a depth cue for a mover cut by the image bottom
(``MoverSettings.cut_sway``, used by :func:`~stereodiff.stage1.movers.tracking.track_cut_depth`).

A mover that walks or drives on the ground does not move along the ground's normal ``n``; a hand-held camera does
(it sways). Between two frames ``a → b`` with the camera's motion ``X_b = R X_a + t`` (PnP on the static pixels),
a point of the mover at depth ``z`` that moves by ``d`` (in camera ``a``'s axes) shows, once the flow is derotated
by ``R``, the apparent motion per unit depth ``m = (t' + d) / z`` with ``t' = Rᵀ t``: to first order its flow is
``δu = a_u + b (u − c_x)``, ``δv = a_v + b (v − c_y)`` with ``m = (a_u / f, a_v / f, −b)`` (``b``: the looming,
the vertical image scale of the derotated flow). ``n·d = 0`` gives ``z = (n·t') / (n·m)``. One pair's
``n·t'`` is the camera's height change (1–3 mm a frame: noise), so a track's pairs are pooled by least squares with
the track's relative depths, ``(n·m_k) e^{rel_k} z₀ = n·t'_k``, and the estimate is trusted only when the camera's
height changed over the track by a share of the depth and the fit explains the pairs (docs/geometric.md, "The
camera's sway: a depth for a mover cut by the image bottom").

With ``MoverSettings.cut_sway_levels`` the camera's motion is stage 1's (:func:`pose_motion`) and the pooling is
made on the camera's levels above one ground normal (:func:`camera_levels`) against the mover's accumulated
apparent motion (:func:`fit_sway_levels`): the PnP's per-pair height steps correlate 0.24–0.85 with the true ones on
indoor-dynamic's cut persons, stage 1's levels 0.97–0.999 with the true camera heights (docs/geometric.md, "The
camera's sway, measured against the truth").

All lengths are in stage 1's unit (the PnP's translation is in the unit of the depth it is solved on).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from stereodiff.camera import backproject_pixels, rigid_transform
from stereodiff.robust import theil_sen
from stereodiff.stage1.epipolar import transform
from stereodiff.stage1.movers.ground import ground_depth, plane_coefficients
from stereodiff.stage1.movers.segmentation import pose_from_flow
from stereodiff.stage1.movers.settings import MoverSettings

__all__ = [
    "SWAY_LEVELS_MIN_FIT",
    "SWAY_MIN_FIT",
    "SWAY_MIN_PAIRS",
    "SwayFit",
    "SwayInputs",
    "apparent_motion",
    "camera_levels",
    "camera_motion",
    "fit_sway",
    "fit_sway_levels",
    "ground_normal",
    "ground_points",
    "halves_fit",
    "pose_motion",
]

#: least R² of a track's least-squares fit (docs/geometric.md: the failures measured 0.01–0.37, the right fits
#: 0.59–0.97; a prototype's held-out seed 6 track: 0.46)
SWAY_MIN_FIT = 0.5
#: least R² of a track's fit on the camera's levels (``cut_sway_levels``): a level is measured, not a sum of noisy
#: steps, so a fit that holds explains nearly all of it (indoor-dynamic's cut persons whose estimate was 0.78–1.11×
#: the truth: 0.96–0.99); fresh seed 247's track, R² 0.62, put a right bound (1.02×) at 0.70× the truth (its final
#: +153 %; docs/geometric.md, "An error budget for the sway's gap"); the default of ``MoverSettings.cut_sway_fit``,
#: which the fit reads
SWAY_LEVELS_MIN_FIT = 0.9
#: least number of pairs (region measurements) in a track's fit
SWAY_MIN_PAIRS = 8
#: about the most of a frame's ground pixels in the one plane of ``cut_sway_levels_plane`` (a strided sample)
PLANE_POINTS = 400


class SwayInputs(NamedTuple):
    """What the sway cue needs of a block of the movers step besides ``cut_track``'s inputs."""

    moving: np.ndarray
    """``[n,h,w]`` bool mover mask (the PnP and the ground plane use the other pixels)."""
    focal: np.ndarray
    """``[n]`` focal lengths (pixels, at the depth's resolution)."""
    settings: MoverSettings
    """The knobs: ``cut_sway`` (the gate), ``cut_sway_levels``, ``cut_sway_gap``, ``pnp_threshold_px`` and the
    ground plane's."""
    cam_to_world: np.ndarray | None = None
    """``[n,4,4]`` stage 1's camera poses (its unit): with ``settings.cut_sway_levels`` the camera's motion
    (:func:`pose_motion`) and levels (:func:`camera_levels`) come from them in place of the per-pair PnP."""
    source: np.ndarray | None = None
    """``[n,h,w]`` the block's input depth (untouched; the movers' depth is a copy of it): a frame whose static
    pixels (depth > 0, not ``moving``) and their depth are still those has the ground plane fitted there (the fit
    reads nothing else), so its normal is taken from where it was computed (``SharedFindings.normals``: the
    runner's fit for the mover depth, or an earlier block's), not fitted again."""


class SwayFit(NamedTuple):
    """A track's least-squares fit of :func:`fit_sway`."""

    depth: float
    """``z₀``: the depth of the track's gauge node (relative log depth 0), stage 1's unit (NaN: none)."""
    fit: float
    """R² of the fit through the origin (uncentred: ``1 − Σ residual² / Σ (n·t')²``, as the gate was measured)."""
    height_range: float
    """The range of the camera's accumulated height change over the track's frame pairs, stage 1's unit."""


def camera_motion(
    depth: np.ndarray, flow: np.ndarray, usable: np.ndarray, K: np.ndarray, threshold_px: float, seed: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The camera's motion between two frames from the static pixels: ``(R [3,3], t' [3])`` with ``X_b = R X_a + t``
    and ``t' = Rᵀ t`` (stage 1's unit), or None.

    Args:
        depth: ``[h,w]`` frame ``a``'s depth with the movers at 0 (only static pixels are used).
        flow: ``[h,w,2]`` the flow ``a → b`` (pixels).
        usable: ``[h,w]`` bool pixels whose flow is consistent.
        K: ``[3,3]`` intrinsics of ``depth``'s resolution.
        threshold_px: RANSAC inlier threshold of the PnP (pixels).
        seed: the RANSAC's seed.
    """
    pose = pose_from_flow(depth, flow, usable, K, threshold_px, seed)  # the segmentation's PnP: movers are outliers
    if pose is None:
        return None
    rotation = pose[:3, :3]
    return rotation, rotation.T @ pose[:3, 3]


def pose_motion(a_to_world: np.ndarray, b_to_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera's motion between two frames from stage 1's poses ``[4,4]`` (camera-to-world): ``(R [3,3], t' [3])``
    with ``X_b = R X_a + t`` and ``t' = Rᵀ t``, as :func:`camera_motion` gives from the flow (``cut_sway_levels``:
    indoor-dynamic's cut persons' ``n·m`` derotated with stage 1's rotations fit the truth as well as or better than
    with the PnP's; docs/geometric.md, "The camera's sway, measured against the truth")."""
    relative = np.linalg.inv(b_to_world) @ a_to_world  # [4,4] frame a's camera to frame b's
    rotation = relative[:3, :3]
    return rotation, rotation.T @ relative[:3, 3]


def apparent_motion(
    pixels: np.ndarray, target: np.ndarray, rotation: np.ndarray, K: np.ndarray, rng: np.random.Generator, gap: float
) -> np.ndarray | None:
    """``[3]`` a mover region's apparent motion per unit depth ``m = (a_u / f, a_v / f, −b)`` between two frames, or
    None when the derotated flow leaves no finite slope or intercept.

    The flow's end points are derotated (the homography ``K Rᵀ K⁻¹``); ``b`` is the Theil–Sen slope of the
    *derotated* vertical flow against the rows, and the intercepts are the medians of the derotated flow minus the
    looming ``b (p − c)``. (The slope of the raw flow, which ``cut_track``'s links use, holds the rotation's own
    vertical scale, ``2 ω_x y − ω_y x`` per frame in normalised coordinates: on indoor-dynamic's panning camera as
    large as the looming itself; with it the person's ``n·m`` came out 1.55× the truth on s107 from the exact flow,
    0.96× with this slope; docs/geometric.md, "The camera's sway, measured against the truth".)

    Args:
        pixels: ``[N,2]`` the region's pixels ``(u, v)`` in frame ``a``.
        target: ``[N,2]`` where the flow takes them in frame ``b``.
        rotation: ``[3,3]`` the camera's rotation ``R`` of :func:`camera_motion`.
        K: ``[3,3]`` intrinsics (square pixels).
        rng: the slope's random pairs.
        gap: the least row distance of a pair (pixels).
    """
    derotated = transform(target, K @ rotation.T @ np.linalg.inv(K))  # [N,3] homogeneous
    with np.errstate(divide="ignore", invalid="ignore"):
        moved = derotated[:, :2] / derotated[:, 2:]  # [N,2] pixels
    rows = pixels[:, 1]
    finite = np.isfinite(moved).all(axis=1)
    slope = theil_sen(rows[finite], moved[finite, 1] - rows[finite], rng, gap) if finite.any() else float("nan")
    if not np.isfinite(slope) or slope <= -1.0:
        return None
    centre = K[:2, 2]
    intercepts = np.median(moved - pixels - slope * (pixels - centre), axis=0)  # [2] (a_u, a_v) pixels
    if not np.all(np.isfinite(intercepts)):
        return None
    return np.array([intercepts[0] / K[0, 0], intercepts[1] / K[1, 1], -slope])


def ground_normal(plane: np.ndarray, K: np.ndarray, stride: int = 4) -> np.ndarray | None:
    """``[3]`` unit normal of a ground plane in camera axes, pointing from the camera to the ground, or None.

    ``plane`` is the ``[h,w]`` depth map of :func:`~stereodiff.stage1.movers.ground.ground_depth` (``inf`` above its
    horizon): its inverse is ``g · (u, v, 1)``, fitted on every ``stride``-th pixel, and the plane is
    ``(Kᵀ g) · X = 1``.
    """
    g = plane_coefficients(plane, stride)  # [3]
    if g is None:
        return None
    normal = K.T @ g
    length = float(np.linalg.norm(normal))
    return normal / length if length > 0 else None


def fit_sway(along_motion: np.ndarray, heights: np.ndarray, relative: np.ndarray, steps: np.ndarray) -> SwayFit:
    """The least-squares depth of a track from its pairs, ``(n·m_k) e^{rel_k} z₀ = n·t'_k``.

    Args:
        along_motion: ``[K]`` ``n·m_k``: each measurement's apparent motion per unit depth along the ground normal.
        heights: ``[K]`` ``n·t'_k``: the camera's motion along the normal in that pair (stage 1's unit).
        relative: ``[K]`` the measured region's log depth relative to the track's gauge.
        steps: ``[P]`` the camera's height change of each of the track's frame pairs, in frame order (one per pair,
            whatever the number of the track's regions in it), accumulated for ``height_range``.
    """
    depth, fit = _through_origin(along_motion * np.exp(relative), heights)
    if not np.isfinite(depth):
        return SwayFit(depth, 0.0, 0.0)
    accumulated = np.concatenate([[0.0], np.cumsum(steps)])
    return SwayFit(depth, fit, float(np.ptp(accumulated)))


def _through_origin(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The least-squares ``z`` of ``y ≈ z x`` (``[K]`` each) and its R² about 0 (``1 − |y − z x|² / |y|²``):
    ``(NaN, 0)`` when ``x`` is empty or all 0, R² 0 when ``y`` is."""
    energy = float(x @ x)
    if len(x) == 0 or energy <= 0:
        return float("nan"), 0.0
    depth = float(x @ y) / energy
    spread = float(y @ y)
    return depth, 1.0 - float(np.sum((y - depth * x) ** 2)) / spread if spread > 0 else 0.0


def camera_levels(
    cam_to_world: np.ndarray, normals: dict[int, np.ndarray], points: dict[int, np.ndarray] | None = None
) -> np.ndarray:
    """``[n]`` the camera's level along one ground normal for every frame (stage 1's unit; larger is higher up):
    ``−n_w · C_k``, with ``C_k`` the camera centres of ``cam_to_world`` ``[n,4,4]`` and ``n_w`` the normalised
    median of the frames' ground normals ``normals`` (frame → ``[3]`` unit normal in its camera's axes, pointing to
    the ground) taken into the world. One plane for all frames: a per-frame plane's distance carries that frame's
    depth noise, the poses' centres do not (indoor-dynamic: the levels correlate 0.97–0.999 with the true camera
    heights, the per-pair PnP steps 0.24–0.85 with the true steps; docs/geometric.md, "The camera's sway, measured
    against the truth").

    ``points`` (``cut_sway_levels_plane``; frame → ``[N,3]`` its ground pixels in its camera's axes, stage 1's
    unit, :func:`ground_points`): ``n_w`` is instead the normal of the one plane through all of them taken into the
    world (total least squares), turned to point like the median: the ground seen over the whole sweep, not the
    frames' own planes, each of which the two-view pitch–height trade rolls by 0.1–0.5° (docs/geometric.md, "One
    ground plane for the camera levels")."""
    world = np.array([cam_to_world[k][:3, :3] @ n for k, n in sorted(normals.items())])  # [F,3]
    normal = np.median(world, axis=0)
    if points:
        normal = _one_plane_normal(cam_to_world, points, normal)
    normal /= max(float(np.linalg.norm(normal)), 1e-12)
    return -(cam_to_world[:, :3, 3] @ normal)


def _one_plane_normal(cam_to_world: np.ndarray, points: dict[int, np.ndarray], towards: np.ndarray) -> np.ndarray:
    """``[3]`` unit normal of the one plane through every frame's ground ``points`` (frame → ``[N,3]`` camera axes)
    moved into the world by ``cam_to_world`` ``[n,4,4]`` (the least singular vector of the centred points), with the
    sign of ``towards`` ``[3]``."""
    world = np.concatenate([rigid_transform(p, cam_to_world[k]) for k, p in sorted(points.items())])  # [N,3]
    normal = np.linalg.svd(world - world.mean(axis=0), full_matrices=False)[2][-1]
    return normal if float(normal @ towards) >= 0 else -normal


def ground_points(
    depth: np.ndarray, static: np.ndarray, settings: MoverSettings, K: np.ndarray, seed: int
) -> np.ndarray | None:
    """``[N,3]`` a frame's ground pixels in its camera's axes (stage 1's unit; ``cut_sway_levels_plane``), or None:
    the ``static`` pixels of ``depth`` ``[h,w]`` within ``ground_tolerance`` of its ground plane
    (:func:`~stereodiff.stage1.movers.ground.ground_depth`, the same fit as the frame's normal), every pixel of a
    strided sample of about ``PLANE_POINTS``, back-projected through ``K`` ``[3,3]`` with their own depth."""
    plane = ground_depth(depth, static, settings, seed=seed)
    if plane is None:
        return None
    with np.errstate(invalid="ignore"):
        on = static & np.isfinite(plane) & (np.abs(depth - plane) < settings.ground_tolerance * plane)
    rows, cols = np.nonzero(on)
    if len(rows) < 3:
        return None
    step = max(1, len(rows) // PLANE_POINTS)
    return backproject_pixels(depth, K, rows[::step], cols[::step])


def fit_sway_levels(frames: np.ndarray, along: np.ndarray, levels: np.ndarray) -> SwayFit:
    """The depth of a track from the camera's levels, ``L_k − L̄ = z₀ (S_k − S̄)`` over each run of consecutive
    frame pairs, ``S_k = Σ_{j<k} (n·m_j) e^{rel_j}`` the mover's accumulated apparent motion along the normal per
    unit depth (the same model as :func:`fit_sway`, summed: a level is measured, not accumulated, so its noise does
    not grow along the run).

    Args:
        frames: ``[K]`` ascending distinct frames ``k`` of the track's measured pairs ``(k, k + 1)``.
        along: ``[K]`` ``(n·m) e^{rel}`` of each pair (the mean over the track's regions measured in it).
        levels: ``[n]`` the camera's level of every frame (:func:`camera_levels`).

    Returns:
        ``z₀`` (NaN: no run of at least two pairs), the R² of the fit over the runs' centred levels, and the range
        of the levels of the frames fitted.
    """
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    sums, heights, used = [], [], []
    for run_frames, run_along in zip(np.split(frames, breaks), np.split(along, breaks)):
        if len(run_frames) < 2:
            continue
        accumulated = np.concatenate([[0.0], np.cumsum(run_along)])  # [R+1]
        level = levels[run_frames[0] : run_frames[-1] + 2]  # [R+1]
        sums.append(accumulated - accumulated.mean())
        heights.append(level - level.mean())
        used.append(level)
    if not sums:
        return SwayFit(float("nan"), 0.0, 0.0)
    y = np.concatenate(heights)
    depth, fit = _through_origin(np.concatenate(sums), y)
    if not np.isfinite(depth) or not y.any():
        return SwayFit(float("nan"), 0.0, 0.0)
    return SwayFit(depth, fit, float(np.ptp(np.concatenate(used))))


def halves_fit(frames: np.ndarray, along: np.ndarray, levels: np.ndarray) -> float:
    """The lesser R² of :func:`fit_sway_levels` on the first and on the second half of a track's measured pairs
    (``frames`` ``[K]``, ``along`` ``[K]``, ``levels`` ``[n]``: as there; the halves split the pairs by count, the
    first takes ``K // 2``); 0 when a half leaves no fit. A fit whose whole R² is high but one half's is not matched
    the person's apparent motion to the camera's levels only over part of the track (``MoverSettings.cut_sway_halves``).
    """
    half = len(frames) // 2
    fits = [fit_sway_levels(frames[part], along[part], levels) for part in (slice(None, half), slice(half, None))]
    return min(fit.fit if np.isfinite(fit.depth) else 0.0 for fit in fits)
