"""Radial lens distortion estimated from the flow matches of probe pairs, without a focal (``distortion="auto"``).

The one-parameter **division model** (Fitzgibbon 2001, "Simultaneous linear estimation of multiple view geometry
and lens distortion"): a distorted pixel ``x_d`` is seen by the ideal pinhole camera at

    x_u = c + (x_d − c) / (1 + λ ρ²),      ρ = |x_d − c| / (half-diagonal of the image)

with ``c`` the image centre (the principal point everywhere in stereodiff, docs/conventions.md). ``λ < 0`` is a
barrel lens (the corners are pulled in; undistorting pushes them out), ``λ > 0`` a pincushion one; the corner of the
image moves by ``1 / (1 + λ) − 1`` of its distance to the centre. Measuring ``ρ`` in half-diagonals makes ``λ``
independent of the resolution and of the focal: the model needs neither.

Estimation (:func:`division_from_matches`): for each ``λ`` of a grid, the matches of every probe pair are undistorted
and a fundamental matrix is fitted to them (normalised 8-point solution, reweighted by the Sampson gradient and a
Cauchy loss); a pair's cost is the root mean square of its least 80 % Sampson distances, measured in the
*distorted* image's pixels (the gradient is taken through the undistortion, so shrinking the image does not lower
the cost), and the pairs' costs are summed. A wrong ``λ`` bends the epipolar lines, which a fundamental matrix
cannot follow, except when the epipole is near the distortion centre (forward motion): such pairs are left out
(:func:`informative_pairs`). The decision copies the focal's (``epipolar.focal_from_fundamentals``): the least
cost must not be at the end of the grid, ``λ = 0`` must cost ``_LAMBDA_CONTRAST`` × the least, the even and odd
probe pairs minimised apart must agree, and no single probe pair may carry the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stereodiff.camera import default_principal_point, pixel_grid
from stereodiff.robust import parabola_vertex

LAMBDA_GRID = np.round(np.arange(-0.5, 0.5001, 0.025), 4)  # λ swept (corner displacement −50 % … +33 %)
_LAMBDA_CONTRAST = 1.01  # least ratio of the cost of no distortion (λ = 0) to the least cost
_LAMBDA_HALVES = 0.05  # most difference of the λ of the even and odd probe pairs (corner ~5 %) ...
_LAMBDA_HALVES_RELATIVE = 0.35  # ... or of this fraction of |λ|, whichever is larger
_IRLS_STEPS = 4  # reweighted 8-point solutions per pair and λ
_MIN_MATCHES = 100  # probe pairs with fewer matches are left out
_EPIPOLE_RADIUS = 1.0  # ... and those with an epipole nearer the centre than this many half-diagonals
_TRIM = 0.8  # share of each pair's matches (least Sampson distances) in its cost
_CAUCHY_PX = 1.0  # scale of the Cauchy loss of the fit (distorted pixels at a 320-px long side, scaled)

__all__ = [
    "LAMBDA_GRID",
    "DistortionEstimate",
    "division_cost",
    "division_from_matches",
    "division_grid",
    "informative_pairs",
    "undistort_division",
]


@dataclass
class DistortionEstimate:
    """What :func:`division_from_matches` decided.

    Attributes:
        division: the division-model coefficient ``λ`` (half-diagonal units), or ``None`` when not decided.
        best: the ``λ`` of least cost (also when undecided; NaN without matches).
        contrast: cost of ``λ = 0`` over the least cost (NaN without matches).
        reason: why ``division`` is ``None``, with the measured figures ("" when decided).
    """

    division: float | None
    best: float = float("nan")
    contrast: float = float("nan")
    reason: str = ""


def _centre(size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """``(c [2], half_diagonal)`` of an ``(h, w)`` image: the distortion centre (the default principal point) and
    the unit of ``ρ``."""
    return np.array(default_principal_point(size)), 0.5 * float(np.hypot(*size))


def _radius_sq(x: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, float]:
    """``(d [N,2], ρ² [N], half_diagonal)``: offsets of pixels ``x [N,2]`` from the centre of an ``(h, w)`` image."""
    centre, half_diagonal = _centre(size)
    d = x - centre
    return d, np.einsum("ij,ij->i", d, d) / half_diagonal**2, half_diagonal


def undistort_division(x: np.ndarray, size: tuple[int, int], division: float) -> np.ndarray:
    """``[N,2]`` ideal pinhole positions of distorted pixels ``x [N,2]`` of an ``(h, w)`` image (division model)."""
    d, rho_sq, _ = _radius_sq(np.asarray(x, np.float64), size)
    return _centre(size)[0] + d / (1.0 + division * rho_sq)[:, None]


def division_grid(size: tuple[int, int], division: float) -> np.ndarray:
    """``[h,w,2]`` float32 ideal pinhole position of every pixel ``(u, v)`` of an ``(h, w)`` image (the matcher's
    undistorted grid, as :func:`~stereodiff.stage1.pair_steps.undistorted_grid` for OpenCV's model)."""
    x = pixel_grid(*size).reshape(-1, 2).astype(np.float64)
    return undistort_division(x, size, division).reshape(*size, 2).astype(np.float32)


def _undistort_with_jacobian(x: np.ndarray, size: tuple[int, int], division: float) -> tuple[np.ndarray, np.ndarray]:
    """Undistorted ``x [N,2]`` and the Jacobian ``[N,2,2]`` of the undistortion at each of them."""
    d, rho_sq, half_diagonal = _radius_sq(x, size)
    s = 1.0 / (1.0 + division * rho_sq)  # [N]
    jac = s[:, None, None] * np.eye(2) - (2.0 * division / half_diagonal**2 * s**2)[:, None, None] * (
        d[:, :, None] * d[:, None, :]
    )
    return _centre(size)[0] + d * s[:, None], jac


def _normalise(x: np.ndarray) -> np.ndarray:
    """``[3,3]`` similarity taking ``x [N,2]`` to zero mean and mean distance √2 (Hartley)."""
    mean = x.mean(axis=0)
    scale = np.sqrt(2.0) / max(float(np.mean(np.linalg.norm(x - mean, axis=1))), 1e-9)
    return np.array([[scale, 0, -scale * mean[0]], [0, scale, -scale * mean[1]], [0, 0, 1.0]])


def _pair_fit(
    x_a: np.ndarray, x_b: np.ndarray, size: tuple[int, int], division: float, cauchy_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """``([N], [3,3])``: Sampson distances (distorted pixels) of the matches ``x_a, x_b [N,2]`` to the fundamental
    matrix (of undistorted pixels) fitted to them after undistorting both with ``division``, and that matrix."""
    u_a, jac_a = _undistort_with_jacobian(x_a, size, division)
    u_b, jac_b = _undistort_with_jacobian(x_b, size, division)
    T_a, T_b = _normalise(u_a), _normalise(u_b)
    p_a = u_a @ T_a[:2, :2].T + T_a[:2, 2]  # [N,2] normalised
    p_b = u_b @ T_b[:2, :2].T + T_b[:2, 2]
    h_a = np.c_[p_a, np.ones(len(p_a))]  # [N,3]
    h_b = np.c_[p_b, np.ones(len(p_b))]
    design = (h_b[:, :, None] * h_a[:, None, :]).reshape(-1, 9)  # rows: x_bᵀ F x_a = row · vec(F)
    weights = np.ones(len(x_a))
    for _ in range(_IRLS_STEPS):
        _, _, vt = np.linalg.svd(design * np.sqrt(weights)[:, None], full_matrices=False)
        U, S, Vt = np.linalg.svd(vt[-1].reshape(3, 3))
        F_n = U @ np.diag([S[0], S[1], 0.0]) @ Vt  # rank 2
        F = T_b.T @ F_n @ T_a  # in undistorted pixels
        ha = np.c_[u_a, np.ones(len(u_a))]
        hb = np.c_[u_b, np.ones(len(u_b))]
        line_b = ha @ F.T  # [N,3] F x_a: epipolar lines in image b
        line_a = hb @ F  # [N,3] Fᵀ x_b: in image a
        error = np.einsum("ij,ij->i", hb, line_b)
        grad_a = np.einsum("nji,nj->ni", jac_a, line_a[:, :2])  # ∂e/∂x_d,a = J_aᵀ (Fᵀ x_b)[:2]
        grad_b = np.einsum("nji,nj->ni", jac_b, line_b[:, :2])
        norm_sq = np.einsum("ij,ij->i", grad_a, grad_a) + np.einsum("ij,ij->i", grad_b, grad_b)
        distance = np.abs(error) / np.sqrt(np.maximum(norm_sq, 1e-18))  # Sampson, distorted pixels
        # next solve: algebraic rows scaled to Sampson units, then a Cauchy loss on the distance
        weights = 1.0 / np.maximum(norm_sq, 1e-18) / (1.0 + (distance / cauchy_px) ** 2)
        weights /= weights.max()
    return distance, F


def _cauchy_scale(size: tuple[int, int], cauchy_px: float = _CAUCHY_PX) -> float:
    """The Cauchy loss's scale in pixels of an ``(h, w)`` image (``cauchy_px`` at a 320-pixel long side)."""
    return cauchy_px * max(size) / 320.0


def division_cost(
    matches: list[tuple[np.ndarray, np.ndarray]],
    size: tuple[int, int],
    divisions: np.ndarray,
    cauchy_px: float = _CAUCHY_PX,
) -> np.ndarray:
    """``[P, L]`` root mean square of the least ``_TRIM`` of the Sampson distances (distorted pixels) of each probe
    pair's matches ``(x_a, x_b)`` (``[N,2]`` each, at an ``(h, w)`` image) for each ``λ`` of ``divisions [L]``."""
    cauchy = _cauchy_scale(size, cauchy_px)

    def trimmed_rms(distance: np.ndarray) -> float:
        least = np.partition(distance, int(_TRIM * len(distance)) - 1)[: int(_TRIM * len(distance))]
        return float(np.sqrt(np.mean(least**2)))

    return np.array(
        [[trimmed_rms(_pair_fit(x_a, x_b, size, lam, cauchy)[0]) for lam in divisions] for x_a, x_b in matches]
    ).reshape(len(matches), len(divisions))


def informative_pairs(matches: list[tuple[np.ndarray, np.ndarray]], size: tuple[int, int]) -> list[int]:
    """Indices of the probe pairs that can show a radial distortion: at least ``_MIN_MATCHES`` matches, and both
    epipoles (of the fundamental matrix fitted without distortion) at least ``_EPIPOLE_RADIUS`` half-diagonals from
    the image centre. A translation towards the distortion centre (forward motion) makes radial flow, which a radial
    distortion only rescales: the epipolar lines stay lines through the epipole, and no ``λ`` can be told apart."""
    centre, half_diagonal = _centre(size)
    kept = []
    for k, (x_a, x_b) in enumerate(matches):
        if len(x_a) < _MIN_MATCHES:
            continue
        _, F = _pair_fit(x_a, x_b, size, 0.0, _cauchy_scale(size))
        _, _, vt_a = np.linalg.svd(F)  # F e_a = 0
        _, _, vt_b = np.linalg.svd(F.T)  # Fᵀ e_b = 0
        near = False
        for e in (vt_a[-1], vt_b[-1]):
            if abs(e[2]) > 1e-12 * np.linalg.norm(e):
                near |= bool(np.linalg.norm(e[:2] / e[2] - centre) < _EPIPOLE_RADIUS * half_diagonal)
        if not near:
            kept.append(k)
    return kept


def _least(cost: np.ndarray, divisions: np.ndarray) -> tuple[float, bool]:
    """``λ`` of least summed ``cost [P,L]`` (parabola through the least grid point and its neighbours) and whether
    the least is at the end of the grid."""
    total = cost.sum(axis=0)
    k = int(np.argmin(total))
    if k in (0, len(divisions) - 1):
        return float(divisions[k]), True
    return float(divisions[k] + parabola_vertex(*total[k - 1 : k + 2]) * (divisions[k + 1] - divisions[k])), False


def division_from_matches(
    matches: list[tuple[np.ndarray, np.ndarray]], size: tuple[int, int], divisions: np.ndarray = LAMBDA_GRID
) -> DistortionEstimate:
    """Estimate the division model's ``λ`` from the well-spread flow matches of probe pairs.

    Args:
        matches: per probe pair, ``(x_a, x_b)`` ``[N,2]`` matching pixels (distorted image, working resolution).
        size: ``(h, w)`` of the image the matches are in.
        divisions: the ``λ`` grid swept (must contain 0).

    Returns:
        the estimate; its ``division`` is ``None`` (``reason`` says why) without matches, when the least cost is at
        the end of the grid, when no distortion is not clearly worse (``λ = 0`` costs less than
        ``_LAMBDA_CONTRAST`` × the least), with a single probe pair, when the even and odd probe pairs' minima
        disagree, or when the contrast hangs on one probe pair.
    """
    if len(matches) == 0:
        return DistortionEstimate(None, reason="no probe pair had enough matches")
    kept = informative_pairs(matches, size)
    if not kept:
        return DistortionEstimate(
            None,
            reason=f"none of {len(matches)} probe pairs shows a distortion (fewer than {_MIN_MATCHES} matches, or an "
            f"epipole within {_EPIPOLE_RADIUS:g} half-diagonals of the centre: forward motion)",
        )
    matches = [matches[k] for k in kept]
    cost = division_cost(matches, size, divisions)  # [P,L]
    zero = int(np.argmin(np.abs(divisions)))
    best, at_end = _least(cost, divisions)
    total = cost.sum(axis=0)
    contrast = float(total[zero] / max(total.min(), 1e-12))
    estimate = DistortionEstimate(best, best, contrast)
    corner = f"λ {best:+.3f} (corner {100 * (1 / (1 + best) - 1):+.1f} %)"
    if at_end:
        estimate.division, estimate.reason = None, f"least cost at the end of the λ range ({corner})"
    elif contrast < _LAMBDA_CONTRAST:
        estimate.division = None
        estimate.reason = f"no distortion costs {contrast:.3f}× the least, {corner} (needs {_LAMBDA_CONTRAST:g}×)"
    elif len(matches) < 2:
        estimate.division, estimate.reason = None, "a single probe pair: nothing to cross-check the least cost with"
    else:
        even, odd = (_least(cost[k::2], divisions)[0] for k in (0, 1))
        if abs(even - odd) > max(_LAMBDA_HALVES, _LAMBDA_HALVES_RELATIVE * abs(best)):
            estimate.division = None
            estimate.reason = f"halves of the probe pairs disagree: λ {even:+.3f} vs {odd:+.3f} ({corner})"
        else:
            without = [np.delete(cost, k, axis=0).sum(axis=0) for k in range(len(cost))]
            weakest = min(without, key=lambda t: t[zero] / max(t.min(), 1e-12))
            weakest_contrast = float(weakest[zero] / max(weakest.min(), 1e-12))
            if weakest_contrast < _LAMBDA_CONTRAST:
                estimate.division = None
                estimate.reason = (
                    f"hangs on one probe pair: no distortion costs {contrast:.3f}× the least, {weakest_contrast:.3f}× "
                    f"without one ({corner})"
                )
    return estimate
