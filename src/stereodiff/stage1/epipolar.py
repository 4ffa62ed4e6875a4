"""Pure two-view geometry of the weights-free matcher: triangulation, epipolar residuals, the robust essential
matrix, the relative pose of a pair, and focal self-calibration from fundamental matrices.

Conventions (docs/conventions.md): pixel ``(u, v)`` = (column, row), integer ``(u, v)`` at the pixel's position;
OpenCV camera axes; ``X_b = R X_a + t`` for the pose of camera a relative to camera b.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

_MEDIAN_SAMPLES = 125  # most minimal samples of the least-median stage of robust_essential
_FOCAL_CONTRAST = 1.5  # self-calibration: least cost ratio of the focals ±25 % away to the best one
_FOCAL_HALVES = 0.2  # ... and most relative difference of the focals of the even and odd probe pairs
MIN_INLIER_FRACTION = 0.3  # pairs whose essential-matrix inliers (in front of both cameras) are fewer fail
MIN_POSE_INLIERS = 20  # ... and pairs with fewer such inliers in all


@dataclass
class PairGeometry:
    """Two-view geometry of one unordered pair ``(a, b)`` (``X_b = R X_a + t``, ``|t| = 1``).

    Attributes:
        pair: ``(a, b)`` frame indices.
        R: ``[3,3]`` rotation camera a → camera b.
        t: ``[3]`` unit translation camera a → camera b.
        ok: whether the pose is usable (enough consistent matches, inliers and parallax).
        reason: why not, when ``ok`` is False ("" otherwise), with the measured figure.
        failure: the kind of failure, one of ``FAILURES`` ("" when ``ok``): the failure summary groups by it.
        consistent_fraction: fraction of pixels of view a passing the forward–backward check.
        inlier_fraction: fraction of the RANSAC sample that are essential-matrix inliers.
        median_angle_deg: median triangulation angle of the sampled matches, degrees.
        matches: see the field.
    """

    pair: tuple[int, int]
    R: np.ndarray
    t: np.ndarray
    ok: bool
    reason: str = ""
    consistent_fraction: float = 0.0
    inlier_fraction: float = 0.0
    median_angle_deg: float = 0.0
    failure: str = ""
    matches: tuple[np.ndarray, np.ndarray] | None = None
    """With ``stage1.pose_graph_refine``: a few of the pose's inlier matches ``[N,2]`` (pixels in a, in b, as the
    pose was estimated from them), for :func:`~stereodiff.stage1.pose_graph.refine_pose_graph`."""


#: kinds of pair failure (``PairGeometry.failure``)
FAILURES = ("no flow matches", "no essential matrix", "few inliers", "low inlier fraction", "low parallax")


def triangulate_rays(
    rays: np.ndarray, rays_other: np.ndarray, center_other: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Midpoint triangulation of ray pairs, vectorised.

    Args:
        rays: ``[N,3]`` directions of the reference camera's rays (centre at the origin), with ``z = 1``.
        rays_other: ``[N,3]`` directions of the other camera's rays, expressed in the reference frame.
        center_other: ``[3]`` the other camera's centre in the reference frame.

    Returns:
        ``depth`` ``[N]`` along the reference rays (camera z, since ``z = 1``), ``depth_other`` ``[N]`` ray
        parameter along ``rays_other`` (> 0 when the point is in front of the other camera) and the triangulation
        ``angle`` ``[N]`` between the two rays in radians.

    The expressions are evaluated in place into their own temporaries (:func:`reusable`): the same operations in the
    same order as ``den = aa·bb − ab·ab``, ``depth = (ac·bb − ab·bc) / den``, ``depth_other = (ab·ac − aa·bc) /
    den``, ``angle = arccos(clip(ab / √(aa·bb), −1, 1))``, bit for bit, with fewer fresh arrays (the pair views
    call it on ~65 k pixels twice per pair; issue #20).
    """
    a, b = _components(rays), _components(rays_other)
    c = np.asarray(center_other, dtype=np.float64).tolist()  # Python floats keep the rays' dtype
    aa, bb, ab = _dot(a, a), _dot(b, b), _dot(a, b)
    ac, bc = _dot(a, c), _dot(b, c)
    den = _minus_product(aa * bb, ab, ab)
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = _minus_product(ac * bb, ab, bc)
        depth = np.divide(depth, den, out=reusable(depth, den))
        depth_other = _minus_product(ab * ac, aa, bc)
        depth_other = np.divide(depth_other, den, out=reusable(depth_other, den))
        norm = aa * bb
        norm = np.sqrt(norm, out=reusable(norm, norm))
        cos = np.divide(ab, norm, out=reusable(norm, ab))
        cos = np.clip(cos, -1.0, 1.0, out=reusable(cos, cos))
    return depth, depth_other, np.arccos(cos, out=reusable(cos, cos))


def sampson_distance(x_a: np.ndarray, x_b: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``[N]`` Sampson (first-order geometric) epipolar distance in pixels of matches ``x_a [N,2] ↔ x_b [N,2]``
    under the fundamental matrix ``F`` (``x_bᵀ F x_a = 0``)."""
    F = np.asarray(F, dtype=np.float64).tolist()  # Python floats keep the matches' dtype
    (ua, va), (ub, vb) = _components(x_a), _components(x_b)
    fx = [_affine(ua, va, F[r][0], F[r][1], F[r][2]) for r in range(3)]  # F [x_a; 1]
    ftx = [_affine(ub, vb, F[0][c], F[1][c], F[2][c]) for c in range(2)]  # first two rows of Fᵀ [x_b; 1]
    # num = ub·fx₀ + vb·fx₁ + fx₂ and den = fx₀² + fx₁² + ftx₀² + ftx₁², left to right, in place (reusable)
    num = ub * fx[0]
    for term in (vb * fx[1], fx[2]):
        num = np.add(num, term, out=reusable(num, term))
    den, *squares = (np.square(v, out=reusable(v, v)) for v in (fx[0], fx[1], *ftx))  # (fx was used)
    for square in squares:
        den = np.add(den, square, out=reusable(den, square))
    den = np.maximum(den, 1e-12, out=reusable(den, 1e-12))
    root = np.sqrt(den, out=reusable(den, den))
    num = np.abs(num, out=reusable(num, num))
    return np.divide(num, root, out=reusable(num, root))


def fundamental_from_pose(R: np.ndarray, t: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``[3,3]`` fundamental matrix ``K⁻ᵀ [t]ₓ R K⁻¹`` of ``X_b = R X_a + t`` with shared intrinsics ``K``."""
    tx = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
    K_inv = np.linalg.inv(K)
    return K_inv.T @ tx @ R @ K_inv


@dataclass
class FocalEstimate:
    """What :func:`focal_from_fundamentals` decided.

    Attributes:
        focal: the focal in pixels, or ``None`` when the cost curve does not decide.
        best: the focal of least cost in pixels (also when undecided; NaN without fundamentals).
        contrast: least cost ratio of the focals ±25 % away from ``best`` to the cost at ``best`` (NaN without
            fundamentals); the focal is decided when it reaches ``_FOCAL_CONTRAST``.
        reason: why ``focal`` is ``None``, with the measured figures ("" when decided).
        source: the method, as ``MatcherReport.focal_source`` when decided (``"estimated"``: the Kruppa cost;
            ``"bundle"``: the bundle adjustment of flow tracks).
        without: the bundle adjustment's walk: ``(contrast, focal px)`` without each window in turn (empty otherwise).
        noise_rad: the bundle adjustment's least median reprojection error on the grid of focals, in pixels divided
            by that focal in pixels (radians; NaN otherwise): the cascade's guard (``CASCADE_MAX_NOISE_RAD``).
        trimmed: the bundle adjustment's walk with ``trim_px``: which tracks its decision was made without ("" when
            none, or when the first walk's verdict stands).
    """

    focal: float | None
    best: float = float("nan")
    contrast: float = float("nan")
    reason: str = ""
    source: str = "estimated"
    without: list[tuple[float, float]] = field(default_factory=list)
    noise_rad: float = float("nan")
    trimmed: str = ""


def focal_from_fundamentals(
    fundamentals: list[np.ndarray], principal_point: tuple[float, float], size: tuple[int, int]
) -> FocalEstimate:
    """Self-calibrate a shared focal length from fundamental matrices (Mendonça–Cipolla criterion).

    For the right focal ``f``, ``E = Kᵀ F K`` is an essential matrix: its two non-zero singular values are equal.
    The cost ``Σ (σ₁ − σ₂) / σ₂`` is minimised over a log-spaced grid of fields of view (20°–120° on the long side)
    and refined on a finer grid around the best value. A decision must also be reproducible: the even- and
    odd-numbered fundamentals, minimised apart, must give focals within ``_FOCAL_HALVES`` of each other, and the
    decision must not hang on one fundamental: without any one of them the cost curve must still pass the contrast
    test (the static orbit of seed 6 passed it at 1.51× with all 8 probe pairs, 1.44× without one, and its focal was
    0.67× the truth; docs/geometric.md).

    Returns:
        the estimate; its ``focal`` is ``None`` (and ``reason`` says why) when there are no fundamentals, when the
        least cost is at the end of the range, when the cost curve is too flat to decide (e.g. pure translation
        along the optical axis, where any focal fits), or when there is a single fundamental (nothing to
        cross-check), the two halves disagree or dropping one fundamental flattens the curve.
    """
    if not fundamentals:
        return FocalEstimate(None, reason="no probe pair gave a fundamental matrix")
    long_side = max(size)
    focal, contrast, at_end = _kruppa_contrast(fundamentals, principal_point, long_side)
    estimate = FocalEstimate(focal, focal, contrast)
    if at_end:
        fov = np.degrees(2 * np.arctan(long_side / (2 * focal)))
        estimate.focal, estimate.reason = None, f"least cost at the end of the 20°–120° range ({fov:.0f}°)"
    elif contrast < _FOCAL_CONTRAST:
        estimate.focal = None
        estimate.reason = f"cost curve flat: ±25 % costs {contrast:.2f}× the least (needs {_FOCAL_CONTRAST:g}×)"
    elif len(fundamentals) < 2:
        estimate.focal = None
        estimate.reason = "a single probe pair: nothing to cross-check the cost's minimum with (a longer clip has more)"
    else:
        even, odd = (_least_kruppa_cost(fundamentals[k::2], principal_point, long_side)[0] for k in (0, 1))
        if abs(np.log(even / odd)) > np.log1p(_FOCAL_HALVES):
            estimate.focal = None
            estimate.reason = (
                f"halves of the probe pairs disagree: {even:.0f} vs {odd:.0f} px "
                f"(more than {100 * _FOCAL_HALVES:.0f} % apart)"
            )
        else:
            without = [
                _kruppa_contrast(fundamentals[:k] + fundamentals[k + 1 :], principal_point, long_side)
                for k in range(len(fundamentals))
            ]
            weakest = min(range(len(without)), key=lambda k: (not without[k][2], without[k][1]))
            _, weakest_contrast, weakest_at_end = without[weakest]
            if weakest_at_end or weakest_contrast < _FOCAL_CONTRAST:
                estimate.focal = None
                without_pair = f"without probe pair {weakest + 1} of {len(fundamentals)}"
                estimate.reason = f"hangs on one probe pair: ±25 % costs {contrast:.2f}× the least, " + (
                    f"and {without_pair} the least cost is at the end of the range"
                    if weakest_at_end
                    else f"{weakest_contrast:.2f}× {without_pair} (needs {_FOCAL_CONTRAST:g}×)"
                )
    return estimate


def _kruppa_contrast(
    fundamentals: list[np.ndarray], principal_point: tuple[float, float], long_side: int
) -> tuple[float, float, bool]:
    """The focal (pixels) of least Kruppa cost, its contrast and whether it is at the end of the range.

    Contrast: the least cost at ±25 % of that focal over the cost at it. The minimum must stand out relative to its
    own level: the residual cost at the right focal is the matches' noise, 0.001-0.005 on 7-Scenes and the rendered
    scenes."""
    focal, least, at_end, cost = _least_kruppa_cost(fundamentals, principal_point, long_side)
    contrast = float(cost(np.array([focal / 1.25, focal * 1.25])).min() / max(least, 1e-12))
    return focal, contrast, at_end


def _least_kruppa_cost(
    fundamentals: list[np.ndarray], principal_point: tuple[float, float], long_side: int
) -> tuple[float, float, bool, Callable[[np.ndarray], np.ndarray]]:
    """The focal (pixels) of least mean Kruppa cost over the 20°–120° grid then a finer one around it, that cost,
    whether the coarse minimum is at an end of the grid, and the cost function ``[N] focals → [N] costs``."""
    f_min, f_max = long_side / (2 * np.tan(np.radians(60))), long_side / (2 * np.tan(np.radians(10)))
    cx, cy = principal_point

    def cost(focals: np.ndarray) -> np.ndarray:
        out = np.zeros(len(focals))
        for F in fundamentals:
            K = np.zeros((len(focals), 3, 3))
            K[:, 0, 0] = K[:, 1, 1] = focals
            K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = cx, cy, 1.0
            E = np.transpose(K, (0, 2, 1)) @ F @ K
            s = np.linalg.svd(E, compute_uv=False)
            out += (s[:, 0] - s[:, 1]) / np.maximum(s[:, 1], 1e-12)
        return out / len(fundamentals)

    grid = np.geomspace(f_min, f_max, 81)
    best = int(np.argmin(cost(grid)))
    fine = np.geomspace(grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)], 41)
    fine_values = cost(fine)
    return float(fine[int(np.argmin(fine_values))]), float(fine_values.min()), best in (0, len(grid) - 1), cost


def robust_essential(
    x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray, threshold: float, median_threshold: float
) -> np.ndarray | None:
    """``[3,3]`` essential matrix of matches ``x_a ↔ x_b [N,2]`` (pixels, shared intrinsics ``K``), or None.

    Two stages (OpenCV USAC):

    1. **least median of squares**: the 5-point minimal model whose median Sampson distance is lowest (uniform
       sampling, inner local optimisation, least-squares polish), so the motion of the majority of the matches wins.
       ``median_threshold`` (px) only decides when sampling stops and which points the local optimisation uses:
       a tight one makes the sampler draw enough minimal samples for the median to be minimised well, up to
       ``_MEDIAN_SAMPLES`` = 125: an all-inlier sample with probability 0.98 at 50 % outliers (the most a median
       criterion tolerates anyway), 0.99996 at 40 %; the inner local optimisation also polishes near misses (250
       and 1000 samples cost 1.4× and 3.4× the time for the same accuracy, see docs/geometric.md).
    2. **refinement**: USAC_ACCURATE (MSAC + graph-cut local optimisation) on the matches within 2.5 robust
       standard deviations (``1.4826 · median``) of the first model, with the inlier ``threshold`` (px).

    Why not one USAC run: at low parallax a model that also fits independently moving objects (e.g. people walking
    parallel to the camera) explains as many matches within a sub-pixel threshold as the true one, and inlier
    counting then picks a compromise whose translation direction is off by ~15° (measured on the rendered
    ``indoor-dynamic`` scene: 15-18° median error; with the median criterion 1-2°, static depth AbsRel 0.089 →
    0.035). A plain LMedS run (OpenCV's ``LMEDS``) is as robust but 3× slower, and its minimal model is noisier.
    """
    import cv2

    params = cv2.UsacParams()
    params.score = cv2.SCORE_METHOD_LMEDS
    params.sampler = cv2.SAMPLING_UNIFORM
    params.loMethod = cv2.LOCAL_OPTIM_INNER_LO
    params.final_polisher = cv2.LSQ_POLISHER
    params.confidence = 0.999
    params.maxIterations = _MEDIAN_SAMPLES
    params.threshold = float(median_threshold)
    params.isParallel = False  # the matcher runs pairs on its own threads
    no_distortion = np.zeros(5)
    try:  # OpenCV's USAC asserts on some degenerate samples ("!model.empty()"): then there is no model
        E, _ = cv2.findEssentialMat(x_a, x_b, K, K, no_distortion, no_distortion, params)
    except cv2.error:
        return None
    if E is None or E.shape[0] < 3:
        return None
    E = E[:3]
    K_inv = np.linalg.inv(K)
    residual = sampson_distance(x_a, x_b, K_inv.T @ E @ K_inv)
    close = residual < max(2.5 * 1.4826 * float(np.median(residual)), 1e-3)
    if close.sum() >= 20:
        try:
            refined, _ = cv2.findEssentialMat(
                x_a[close], x_b[close], K, method=cv2.USAC_ACCURATE, prob=0.999, threshold=threshold
            )
        except cv2.error:  # keep the first stage's model
            refined = None
        if refined is not None and refined.shape[0] >= 3:
            E = refined[:3]
    return E


def relative_pose(
    x_a: np.ndarray,
    x_b: np.ndarray,
    K: np.ndarray,
    pair: tuple[int, int],
    *,
    threshold: float,
    median_threshold: float,
    min_angle_deg: float,
) -> PairGeometry:
    """Relative pose of matches ``x_a ↔ x_b [N,2]`` (pixels, shared intrinsics ``K [3,3]``): essential matrix
    (:func:`robust_essential` with the inlier ``threshold`` and ``median_threshold``, px) + ``cv2.recoverPose``;
    median triangulation angle of the inliers. Failed (``ok`` False, with the reason) when fewer than
    ``MIN_POSE_INLIERS`` inliers lie in front of both cameras, when they are fewer than ``MIN_INLIER_FRACTION`` of
    the matches, or when the median angle is below ``min_angle_deg`` (pure rotation or no motion)."""
    import cv2

    eye = np.eye(3)
    zero = np.zeros(3)
    K_inv = np.linalg.inv(K)
    E = robust_essential(x_a, x_b, K, threshold, median_threshold)
    if E is None:
        return PairGeometry(pair, eye, zero, False, "essential matrix estimation failed", failure="no essential matrix")
    inliers = np.flatnonzero(sampson_distance(x_a, x_b, K_inv.T @ E @ K_inv) < threshold)
    # cheirality test on at most 200 inliers, evenly spread (recoverPose triangulates every point it gets 4 times)
    sub = inliers[:: max(1, -(-len(inliers) // 200))]
    # distanceThresh: keep far points (with |t| = 1 and a small baseline every depth is large)
    _, R, t, pose_mask, _ = cv2.recoverPose(E, x_a[sub], x_b[sub], K, distanceThresh=1e9)
    t = t.ravel() / max(np.linalg.norm(t), 1e-12)
    in_front = pose_mask.ravel() > 0
    inlier_fraction = float(len(inliers) / len(x_a) * in_front.mean()) if len(sub) else 0.0
    good = sub[in_front]
    if len(good) < MIN_POSE_INLIERS:
        reason = f"only {len(good)} essential-matrix inliers in front of both cameras"
        return PairGeometry(pair, eye, zero, False, reason, 0.0, inlier_fraction, failure="few inliers")
    rays_a = pixel_rays(x_a[good], K_inv)
    rays_b = pixel_rays(x_b[good], K_inv) @ R  # = Rᵀ ray_b, in camera a
    _, _, angle = triangulate_rays(rays_a, rays_b, -R.T @ t)
    median_angle = float(np.degrees(np.median(angle)))
    geom = PairGeometry(pair, R, t, True, "", 0.0, inlier_fraction, median_angle)
    if inlier_fraction < MIN_INLIER_FRACTION:
        geom.ok, geom.failure = False, "low inlier fraction"
        geom.reason = f"only {inlier_fraction:.0%} essential-matrix inliers"
    elif median_angle < min_angle_deg:
        geom.ok, geom.failure = False, "low parallax"
        geom.reason = f"median parallax {median_angle:.2f}° (pure rotation or no motion)"
    return geom


def parallax_deg(x_a: np.ndarray, x_b: np.ndarray, R: np.ndarray, K: np.ndarray) -> float:
    """Median parallax of matches ``x_a ↔ x_b [N,2]`` in degrees: the displacement left after removing the rotation
    ``R`` (the homography ``K R K⁻¹``), divided by the focal; ≈ the triangulation angle for sideways motion."""
    warped = np.hstack([x_a, np.ones((len(x_a), 1))]) @ (K @ R @ np.linalg.inv(K)).T
    residual = np.linalg.norm(x_b - warped[:, :2] / warped[:, 2:], axis=1)
    return float(np.degrees(np.median(residual) / K[0, 0]))


def rotation_residual_px(x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray) -> float:
    """Median displacement in pixels of matches ``x_a ↔ x_b [N,2]`` that the best pure rotation leaves (the rotation
    fitted to the bearing vectors by SVD, Kabsch): the flow that a rotation cannot explain, i.e. the parallax.

    Unlike :func:`parallax_deg` with the essential matrix's rotation it hardly depends on the focal in ``K``: a
    wrong focal bends the rotation's flow only to second order, while the essential matrix trades rotation for
    translation (7-Scenes: 0.20 / 0.096 / 0.054° per frame at 0.9 / 1.0 / 1.1× the focal with ``parallax_deg``,
    0.031 / 0.030 / 0.031° with this in pixels over a fixed focal). It absorbs the part of a sideways translation's
    flow that looks like a pan, so it reads 2.4-3.4× lower than ``parallax_deg`` (the depth-varying part remains).
    """
    K_inv = np.linalg.inv(K)
    rays = [np.hstack([x, np.ones((len(x), 1))]) @ K_inv.T for x in (x_a, x_b)]
    rays = [r / np.linalg.norm(r, axis=1, keepdims=True) for r in rays]
    U, _, Vt = np.linalg.svd(rays[1].T @ rays[0])
    R = U @ np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt))]) @ Vt  # rays_b ≈ R rays_a
    warped = np.hstack([x_a, np.ones((len(x_a), 1))]) @ (K @ R @ K_inv).T
    return float(np.median(np.linalg.norm(x_b - warped[:, :2] / warped[:, 2:], axis=1)))


def _components(x: np.ndarray) -> list[np.ndarray]:
    """The coordinate columns ``x[..., k]`` of ``x [..., k]`` (views)."""
    return [x[..., k] for k in range(x.shape[-1])]


def _dot(p: list, q: list) -> np.ndarray:
    """Component-wise dot product of two 3-vectors given as lists of arrays (or of floats): ``p₀q₀ + p₁q₁ + p₂q₂``
    (left to right), summed into the first product where it is an array (:func:`reusable`)."""
    total = p[0] * q[0]
    for k in (1, 2):
        term = p[k] * q[k]
        total = np.add(total, term, out=reusable(total, term))
    return total


def _affine(u: np.ndarray, v: np.ndarray, cu: float, cv: float, c: float) -> np.ndarray:
    """``cu·u + cv·v + c`` (left to right; Python floats keep the arrays' dtype), summed in place (:func:`reusable`)."""
    total = cu * u
    term = cv * v
    total = np.add(total, term, out=reusable(total, term))
    return np.add(total, c, out=reusable(total, c))


def _minus_product(total: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``total − x·y`` for a fresh array ``total``, written into it where the result fits (:func:`reusable`)."""
    product = x * y
    return np.subtract(total, product, out=reusable(total, product))


def reusable(first: object, second: object) -> np.ndarray | None:
    """``first`` when a binary ufunc of ``first`` and ``second`` may write its result into ``first`` (an array of
    the result's dtype and shape, e.g. a fresh temporary of the caller), else None (a new array): in-place
    arithmetic with exactly the plain expression's result."""
    if not isinstance(first, np.ndarray) or first.dtype.kind != "f":
        return None
    same_shape = np.shape(second) == () or np.shape(second) == first.shape
    return first if same_shape and np.result_type(first, second) == first.dtype else None


def transform(x: np.ndarray, M: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    """``x @ M.T + t`` for ``x [..., k]`` and ``M [m, k]``, or ``x @ M[:, :k].T + M[:, k] + t`` for an affine
    ``M [m, k+1]`` (``t [m]`` optional), in x's dtype.

    Computed component by component into a ``[m, ...]`` block (returned as a ``[..., m]`` view): numpy's matmul on
    such thin arrays goes to the (multithreaded) BLAS and was erratic, up to ~10× slower, in profiles of the matcher
    on a busy 2-core machine.
    """
    M = np.asarray(M, dtype=np.float64)
    affine = M.shape[1] == x.shape[-1] + 1
    shift = np.zeros(len(M)) if t is None else np.asarray(t, dtype=np.float64)
    if affine:
        shift = shift + M[:, -1]
    cols, m, shift = _components(x), M.tolist(), shift.tolist()
    out = np.empty((len(M), *x.shape[:-1]), x.dtype)
    for r, row in enumerate(m):
        np.multiply(cols[0], row[0], out=out[r])
        for c in range(1, len(cols)):
            out[r] += cols[c] * row[c]
        if shift[r]:
            out[r] += shift[r]
    return np.moveaxis(out, 0, -1)


def pixel_rays(x: np.ndarray, K_inv: np.ndarray) -> np.ndarray:
    """``[N,3]`` camera rays with ``z = 1`` of pixels ``x [N,2]`` (``K_inv`` [3,3]), in x's dtype."""
    return transform(x, K_inv)
