"""The camera's motion along the ground normal as a depth cue for a mover cut by the image bottom
(``MoverSettings.cut_sway``, used by :func:`~stereodiff.stage1.movers.tracking.track_cut_depth`).

A mover that walks or drives on the ground does not move along the ground's normal ``n``; a hand-held camera does
(it sways). Between two frames ``a → b`` with the camera's motion ``X_b = R X_a + t`` (PnP on the static pixels),
a point of the mover at depth ``z`` that moves by ``d`` (in camera ``a``'s axes) shows, once the flow is derotated
by ``R``, the apparent motion per unit depth ``m = (t' + d) / z`` with ``t' = Rᵀ t``: to first order its flow is
``δu = a_u + b (u − c_x)``, ``δv = a_v + b (v − c_y)`` with ``m = (a_u / f, a_v / f, −b)`` (``b``: the looming,
the vertical image scale that ``cut_track`` measures). ``n·d = 0`` gives ``z = (n·t') / (n·m)``. One pair's
``n·t'`` is the camera's height change (1–3 mm a frame: noise), so a track's pairs are pooled by least squares with
the track's relative depths, ``(n·m_k) e^{rel_k} z₀ = n·t'_k``, and the estimate is trusted only when the camera's
height changed over the track by a share of the depth and the fit explains the pairs (docs/geometric.md, "The
camera's sway: a depth for a mover cut by the image bottom").

All lengths are in stage 1's unit (the PnP's translation is in the unit of the depth it is solved on).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from stereodiff.stage1.epipolar import transform
from stereodiff.stage1.movers.ground import plane_coefficients
from stereodiff.stage1.movers.segmentation import pose_from_flow
from stereodiff.stage1.movers.settings import MoverSettings

__all__ = [
    "SWAY_GAP",
    "SWAY_MIN_FIT",
    "SWAY_MIN_PAIRS",
    "SwayFit",
    "SwayInputs",
    "apparent_motion",
    "camera_motion",
    "fit_sway",
    "ground_normal",
]

#: least R² of a track's least-squares fit (docs/geometric.md: the failures measured 0.01–0.37, the right fits
#: 0.59–0.97; a prototype's held-out seed 6 track: 0.46)
SWAY_MIN_FIT = 0.5
#: least number of pairs (region measurements) in a track's fit
SWAY_MIN_PAIRS = 8
#: a cut region takes the sway's depth only when that is nearer than its own by more than this fraction: where the
#: gate passes, the estimate is right to ~20 % (0.87–1.18× the truth measured), so a smaller gain is its noise
#: (indoor-dynamic seed 0: the bound right, 1.03×, the estimate 0.87× of it; docs/geometric.md)
SWAY_GAP = 0.2


class SwayInputs(NamedTuple):
    """What the sway cue needs of a block of the movers step besides ``cut_track``'s inputs."""

    moving: np.ndarray
    """``[n,h,w]`` bool mover mask (the PnP and the ground plane use the other pixels)."""
    focal: np.ndarray
    """``[n]`` focal lengths (pixels, at the depth's resolution)."""
    settings: MoverSettings
    """The knobs: ``cut_sway`` (the gate), ``pnp_threshold_px`` and the ground plane's."""


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


def apparent_motion(
    pixels: np.ndarray, target: np.ndarray, rotation: np.ndarray, K: np.ndarray, slope: float
) -> np.ndarray | None:
    """``[3]`` a mover region's apparent motion per unit depth ``m = (a_u / f, a_v / f, −b)`` between two frames, or
    None when the derotated flow leaves no finite intercept.

    The flow's end points are derotated (the homography ``K Rᵀ K⁻¹``); the intercepts are the medians of the
    derotated flow minus the looming ``b (p − c)``.

    Args:
        pixels: ``[N,2]`` the region's pixels ``(u, v)`` in frame ``a``.
        target: ``[N,2]`` where the flow takes them in frame ``b``.
        rotation: ``[3,3]`` the camera's rotation ``R`` of :func:`camera_motion`.
        K: ``[3,3]`` intrinsics (square pixels).
        slope: ``b``, the region's vertical flow slope against its rows (``z_a / z_b − 1``).
    """
    derotated = transform(target, K @ rotation.T @ np.linalg.inv(K))  # [N,3] homogeneous
    with np.errstate(divide="ignore", invalid="ignore"):
        moved = derotated[:, :2] / derotated[:, 2:]  # [N,2] pixels
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
    x = along_motion * np.exp(relative)  # [K]
    energy = float(x @ x)
    if len(x) == 0 or energy <= 0:
        return SwayFit(float("nan"), 0.0, 0.0)
    depth = float(x @ heights) / energy
    spread = float(heights @ heights)
    fit = 1.0 - float(np.sum((heights - depth * x) ** 2)) / spread if spread > 0 else 0.0
    accumulated = np.concatenate([[0.0], np.cumsum(steps)])
    return SwayFit(depth, fit, float(np.ptp(accumulated)))
