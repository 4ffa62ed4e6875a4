"""Joint refinement of every frame's pose over all ok pairs' sparse inlier matches (``stage1.pose_graph_refine``).

Each pair's essential matrix is fitted to its own matches alone; the frames' poses, refined together over all the
pairs' matches, share their evidence: a pair's relative pose is then that of two frames each constrained by every
pair it is in. The residual of a match is its signed Sampson distance (pixels) under the relative pose of its two
frames, with a Cauchy loss; the unknowns are a rotation increment and a centre increment per frame (the first frame
fixed). The translation's scale does not enter the residual (``|t| = 1`` per pair): the centres only set the pairs'
translation directions, the overall scale is a gauge (held: the centres' projection on their former positions is
kept, and a Sherman–Morrison penalty keeps the steps off it), and so is each ``t``'s sign (callers orient it:
:func:`relative_poses` ``like``). Nor do the baselines' lengths: converged, frames bunch (TUM's 1st-percentile pair
baseline shrinks to 0.14×, driving's to 0, and walks along a line swap frames), unless ``baseline_tolerance`` holds
them.

The solver is Levenberg–Marquardt on the analytic Jacobian (each match's 12 derivatives: :class:`MatchGraph`), with
the Cauchy loss as reweighted least squares, the 6(T−1) normal equations summed per pair and solved by a sparse LU.
TUM fr1/desk (312 pairs × 50 matches): converged in 193 evaluations, 10 s CPU on the shared host (the former
finite-difference trf: its whole budget at 100, 300 and 1000 evaluations, 15.8 s at 100). What it does to the depth:
``GeometricConfig.pose_graph_refine`` and docs/geometric.md, "The pose graph in the pipeline".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MatchGraph", "PairMatches", "Refinement", "inlier_sample", "refine_pose_graph", "relative_poses"]


@dataclass(frozen=True)
class PairMatches:
    """A pair's sparse inlier matches: frames ``(a, b)`` and pixels ``x_a``, ``x_b`` ``[N,2]`` float64 (undistorted,
    in the cameras the pair's pose was estimated in)."""

    a: int
    b: int
    x_a: np.ndarray
    x_b: np.ndarray


def signed_sampson(x_a: np.ndarray, x_b: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``[N]`` signed Sampson distances (pixels) of matches ``x_a``, ``x_b`` ``[N,2]`` under ``F`` ``[3,3]`` (a → b)
    or ``[N,3,3]`` (one per match)."""
    _, _, num, den = _sampson_terms(_homogeneous(x_a), _homogeneous(x_b), np.broadcast_to(F, (len(x_a), 3, 3)))
    return num / den


def _homogeneous(x: np.ndarray) -> np.ndarray:
    """``[N,3]`` pixels ``x`` ``[N,2]`` with a third coordinate 1."""
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def _sampson_terms(
    h_a: np.ndarray, h_b: np.ndarray, F: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The parts of the signed Sampson distance ``num / den`` of homogeneous pixels ``h_a``, ``h_b`` ``[N,3]`` under
    ``F`` ``[N,3,3]``: ``F h_a`` and ``Fᵀ h_b`` ``[N,3]``, ``num = h_bᵀ F h_a`` ``[N]`` and ``den`` ``[N]`` (the norm of
    the epipolar lines' first two coordinates)."""
    f_a = np.einsum("nij,nj->ni", F, h_a)
    f_b = np.einsum("nji,nj->ni", F, h_b)
    den = np.sqrt(f_a[:, 0] ** 2 + f_a[:, 1] ** 2 + f_b[:, 0] ** 2 + f_b[:, 1] ** 2) + 1e-12
    return f_a, f_b, np.einsum("ni,ni->n", h_b, f_a), den


def inlier_sample(
    x_a: np.ndarray, x_b: np.ndarray, F: np.ndarray, count: int, max_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``count`` of the matches ``x_a``, ``x_b`` ``[N,2]`` whose |signed Sampson distance| under ``F`` is
    below ``max_px`` pixels, evenly spaced in their order (the grid sample's: spread over the image)."""
    idx = np.flatnonzero(np.abs(signed_sampson(x_a, x_b, F)) < max_px)
    if len(idx) > count:
        idx = idx[np.linspace(0, len(idx) - 1, count).astype(np.int64)]
    return x_a[idx].astype(np.float64), x_b[idx].astype(np.float64)


def _skew(v: np.ndarray) -> np.ndarray:
    """``[...,3,3]`` cross-product matrices of vectors ``[...,3]``."""
    out = np.zeros((*v.shape[:-1], 3, 3))
    out[..., 0, 1], out[..., 0, 2], out[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    return out - np.swapaxes(out, -1, -2)


_GENERATORS = _skew(np.eye(3))  # [3,3,3]: [e_j]×


def _pair_essentials(
    W_a: np.ndarray, c_a: np.ndarray, W_b: np.ndarray, c_b: np.ndarray, unit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Essential matrices ``E = [t]× R`` ``[P,3,3]`` a → b of the frames' world → camera rotations ``W [P,3,3]`` and
    centres ``c [P,3]`` (``X_b = R X_a + t``, ``R = W_b W_aᵀ``, ``t = W_b (c_a − c_b) / |·|``), and their derivatives
    ``[P,12,3,3]`` w.r.t. the increments ``(ω_a, δ_a, ω_b, δ_b)`` of the two frames (``W ← exp([ω]×) W`` radians,
    ``c ← c + unit · δ``)."""
    R = W_b @ W_a.transpose(0, 2, 1)
    u = np.einsum("pij,pj->pi", W_b, c_a - c_b)
    norm = np.linalg.norm(u, axis=1)[:, None] + 1e-300
    t = u / norm
    dR = np.zeros((len(R), 12, 3, 3))
    dR[:, 0:3] = -R[:, None] @ _GENERATORS  # R exp(−[ω_a]×)
    dR[:, 6:9] = _GENERATORS @ R[:, None]  # exp([ω_b]×) R
    du = np.zeros((len(R), 12, 3))
    du[:, 3:6] = unit * W_b.transpose(0, 2, 1)  # column j of W_b, for each j
    du[:, 6:9] = np.cross(np.eye(3)[None], u[:, None])  # e_j × u
    du[:, 9:12] = -du[:, 3:6]
    dt = (du - np.einsum("pkj,pj,pi->pki", du, t, t)) / norm[:, None]
    E = _skew(t) @ R
    dE = _skew(dt) @ R[:, None] + _skew(t)[:, None] @ dR
    return E, dE


def _sampson_with_jacobian(
    h_a: np.ndarray, h_b: np.ndarray, F: np.ndarray, dF: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Signed Sampson distances ``[N]`` (as :func:`signed_sampson`) of homogeneous pixels ``h_a``, ``h_b`` ``[N,3]``
    under ``F`` ``[N,3,3]``, and their derivatives ``[N,K]`` given those of ``F``, ``dF`` ``[N,K,3,3]``."""
    f_a, f_b, num, den = _sampson_terms(h_a, h_b, F)
    df_a = np.einsum("nkij,nj->nki", dF, h_a)
    df_b = np.einsum("nkji,nj->nki", dF, h_b)
    d_num = np.einsum("ni,nki->nk", h_b, df_a)
    d_den = np.einsum("ni,nki->nk", f_a[:, :2], df_a[:, :, :2]) + np.einsum("ni,nki->nk", f_b[:, :2], df_b[:, :, :2])
    d_den /= den[:, None]
    r = num / den
    return r, d_num / den[:, None] - r[:, None] * d_den / den[:, None]


def relative_poses(
    cam_to_world: np.ndarray, pairs: list[tuple[int, int]], like: dict[tuple[int, int], np.ndarray] | None = None
) -> dict[tuple[int, int], tuple]:
    """``{(a, b): (R [3,3], t [3])}``: each pair's relative pose a → b (``X_b = R X_a + t``, ``|t| = 1``) from the
    camera-to-world poses ``[T,4,4]``; with ``like`` (``{(a, b): t [3]}``), each ``t`` turned to the side of the
    pair's ``like[(a, b)]``: the Sampson residuals do not see ``t``'s sign (a walk along a line lets the refinement
    swap frames: driving s381–s383 had 13–35 of ~190 pairs reversed), the pair's own estimate passed the cheirality
    test."""
    out = {}
    for a, b in pairs:
        rel = np.linalg.inv(cam_to_world[b]) @ cam_to_world[a]
        t = rel[:3, 3] / max(float(np.linalg.norm(rel[:3, 3])), 1e-300)
        if like is not None and float(t @ like[(a, b)]) < 0.0:
            t = -t
        out[(a, b)] = (rel[:3, :3].copy(), t)
    return out


class MatchGraph:
    """The kept matches of the pairs ``matches`` (pixels of camera ``K`` ``[3,3]``) and their signed Sampson
    residuals under the frames' poses; centre increments in units of ``unit`` (scene units)."""

    def __init__(
        self, matches: list[PairMatches], K: np.ndarray, unit: float, baselines: np.ndarray | None = None
    ) -> None:
        self.pair_a = np.array([m.a for m in matches])
        self.pair_b = np.array([m.b for m in matches])
        self.pair = np.concatenate([np.full(len(m.x_a), p) for p, m in enumerate(matches)])  # [N] pair of a match
        self.h_a = _homogeneous(np.concatenate([m.x_a for m in matches]))
        self.h_b = _homogeneous(np.concatenate([m.x_b for m in matches]))
        self.K_inv = np.linalg.inv(K)
        self.unit = unit
        self.baselines = baselines  # [P] the pairs' baseline lengths to hold (scene units), None: free

    def residuals(self, W: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Signed Sampson distances ``[N]`` (pixels) of the matches under the frames' world → camera rotations
        ``W [T,3,3]`` and centres ``c [T,3]``, and their derivatives ``[N,12]`` w.r.t. the increments of the match's
        two frames (``ω_a, δ_a, ω_b, δ_b``: ``W ← exp([ω]×) W`` radians, ``c ← c + unit · δ``)."""
        a, b = self.pair_a, self.pair_b
        E, dE = _pair_essentials(W[a], c[a], W[b], c[b], self.unit)
        F = self.K_inv.T @ E @ self.K_inv
        dF = self.K_inv.T @ dE @ self.K_inv
        return _sampson_with_jacobian(self.h_a, self.h_b, F[self.pair], dF[self.pair])

    def lengths(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``log(|c_a − c_b| / baseline)`` ``[P]`` of every pair from the frames' centres ``c [T,3]`` (zeros without
        ``baselines``), and its derivatives ``[P,12]`` w.r.t. the two frames' increments (as :meth:`residuals`)."""
        J = np.zeros((len(self.pair_a), 12))
        if self.baselines is None:
            return np.zeros(len(self.pair_a)), J
        d = c[self.pair_a] - c[self.pair_b]
        squared = np.sum(d * d, axis=1)
        J[:, 3:6] = self.unit * d / squared[:, None]
        J[:, 9:12] = -J[:, 3:6]
        return 0.5 * np.log(squared / self.baselines**2), J


@dataclass(frozen=True)
class Refinement:
    """What :func:`refine_pose_graph` returns: camera-to-world ``poses`` ``[T,4,4]``, whether the solver met its
    convergence test (``converged``), its ``iterations`` (Jacobians) and ``evaluations`` (residual evaluations), and
    the robust cost (px²) before and after."""

    poses: np.ndarray
    converged: bool
    iterations: int
    evaluations: int
    cost_before: float
    cost_after: float


@dataclass(frozen=True)
class _Evaluation:
    """The residuals at some poses: Sampson ``r`` ``[N]`` (px) and ``J`` ``[N,12]``, weighted log baseline ratios
    ``length`` ``[P]`` (px-equivalent) and ``length_J`` ``[P,12]``, and the ``cost`` (px²)."""

    r: np.ndarray
    J: np.ndarray
    length: np.ndarray
    length_J: np.ndarray
    cost: float


def _evaluate(graph: MatchGraph, W: np.ndarray, c: np.ndarray, scale: float, length_weight: float) -> _Evaluation:
    """The residuals and cost at rotations ``W [T,3,3]``, centres ``c [T,3]``: the Cauchy cost ``½ s² Σ log(1 +
    (r/s)²)`` of the Sampson distances at scale ``s`` px, plus ``½ Σ (length_weight · log(L/L₀))²`` of the pairs'
    baselines (px per unit of log ratio)."""
    r, J = graph.residuals(W, c)
    length, length_J = graph.lengths(c)
    length, length_J = length_weight * length, length_weight * length_J
    cost = 0.5 * scale**2 * float(np.sum(np.log1p((r / scale) ** 2))) + 0.5 * float(length @ length)
    return _Evaluation(r, J, length, length_J, cost)


def _normal_equations(
    graph: MatchGraph, e: _Evaluation, column: np.ndarray, scale: float, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ``[size]`` and Gauss–Newton matrix ``[size,size]`` of the cost at ``e`` (the Cauchy part as
    reweighted least squares: weight ``1 / (1 + (r/s)²)``), each frame's first column ``column`` ``[T]`` (−1:
    fixed). Summed per pair (its matches are consecutive), then each pair's 12 × 12 block added where its two
    frames' columns meet."""
    w = 1.0 / (1.0 + (e.r / scale) ** 2)
    starts = np.flatnonzero(np.r_[True, np.diff(graph.pair) != 0])
    g_pair = np.add.reduceat(e.J * (w * e.r)[:, None], starts, axis=0) + e.length_J * e.length[:, None]  # [P,12]
    H_pair = np.add.reduceat(np.einsum("ni,nj->nij", e.J * w[:, None], e.J), starts, axis=0)  # [P,12,12]
    H_pair += np.einsum("pi,pj->pij", e.length_J, e.length_J)
    cols = np.stack([column[graph.pair_a], column[graph.pair_b]], axis=1)  # [P,2]
    cols = np.where(cols[:, :, None] >= 0, cols[:, :, None] + np.arange(6), size).reshape(-1, 12)  # size: fixed
    g = np.zeros(size + 1)
    H = np.zeros((size + 1, size + 1))
    np.add.at(g, cols, g_pair)
    np.add.at(H, (cols[:, :, None], cols[:, None, :]), H_pair)
    return g[:size], H[:size, :size]


def _solve_gauged(A: np.ndarray, v: np.ndarray, weight: float, b: np.ndarray) -> np.ndarray:
    """``(A + weight · v vᵀ)⁻¹ b`` of a symmetric positive definite ``A`` ``[n,n]`` and a unit vector ``v`` ``[n]``
    (the gauge's penalty; Sherman–Morrison), by a sparse LU of ``A`` (the pairs join frames a few apart: a band of
    TUM's 654 unknowns 53 wide): 20 ms, where a dense or banded LAPACK Cholesky runs in threaded BLAS, 0.3–2 s on a
    shared 2-core host."""
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    x, y = splu(csc_matrix(A)).solve(np.stack([b, v], axis=1)).T
    return x - y * (weight * (v @ x) / (1.0 + weight * (v @ y)))


def _step(
    W: np.ndarray, c: np.ndarray, delta: np.ndarray, free: np.ndarray, fixed: int, unit: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The frames' rotations ``W [T,3,3]`` and centres ``c [T,3]`` moved by the increments ``delta [6F]`` of the
    frames ``free`` ``[F]`` (``ω`` radians, ``δ`` in ``unit``), the centres then rescaled about the ``fixed`` frame's
    so that their projection on the former centres is kept (the gauge: the residuals see neither the scale nor its
    sign). None when that projection is not positive (the step mirrors the walk)."""
    from scipy.spatial.transform import Rotation

    d = delta.reshape(-1, 6)
    W, c = W.copy(), c.copy()
    before = c[free] - c[fixed]
    after = before + unit * d[:, 3:]
    along = float(np.sum(after * before))
    if along <= 0.0:
        return None
    W[free] = Rotation.from_rotvec(d[:, :3]).as_matrix() @ W[free]
    c[free] = c[fixed] + after * (float(np.sum(before * before)) / along)
    return W, c


def _scale_direction(c: np.ndarray, free: np.ndarray, fixed: int, unit: float) -> np.ndarray:
    """``[6F]`` unit vector of the increments that scale the centres about the ``fixed`` frame's (the gauge)."""
    v = np.zeros((len(free), 6))
    v[:, 3:] = (c[free] - c[fixed]) / unit
    return v.ravel() / max(float(np.linalg.norm(v)), 1e-300)


def refine_pose_graph(
    cam_to_world: np.ndarray,
    matches: list[PairMatches],
    K: np.ndarray,
    f_scale_px: float = 0.1,
    max_nfev: int = 500,
    ftol: float = 1e-8,
    baseline_tolerance: float = 0.0,
) -> Refinement:
    """Camera-to-world poses ``[T,4,4]`` refined from ``cam_to_world`` ``[T,4,4]`` (any scale) over the matches of
    the pairs ``matches`` (pixels of camera ``K`` ``[3,3]``): the Cauchy cost (scale ``f_scale_px`` pixels) of the
    signed Sampson distances, minimised by Levenberg–Marquardt on the analytic Jacobian (reweighted Gauss–Newton
    normal equations, 6 unknowns a frame; the first frame in a pair fixed, the centres' scale held), at most
    ``max_nfev`` residual evaluations; converged when an accepted step lowers the cost by less than ``ftol`` of it.
    With ``baseline_tolerance`` > 0, each pair's baseline length is held to its length in ``cam_to_world`` (the
    pair scales' evidence, which the Sampson distances lack) within about that relative change: a change by that
    much costs as a match ``f_scale_px`` off. Frames in no pair keep their pose."""
    poses = np.asarray(cam_to_world, np.float64)
    matches = [m for m in matches if len(m.x_a)]
    W, c = poses[:, :3, :3].transpose(0, 2, 1).copy(), poses[:, :3, 3].copy()  # world → camera, centres
    if not matches:
        return Refinement(poses.copy(), True, 0, 0, 0.0, 0.0)
    unit = float(np.median(np.linalg.norm(np.diff(c, axis=0), axis=1))) or 1.0
    baselines = np.array([np.linalg.norm(c[m.a] - c[m.b]) for m in matches]) if baseline_tolerance > 0 else None
    graph = MatchGraph(matches, K, unit, baselines)
    length_weight = f_scale_px / baseline_tolerance if baseline_tolerance > 0 else 0.0
    used = np.unique(np.concatenate([graph.pair_a, graph.pair_b]))
    fixed, free = int(used[0]), used[1:]
    column = np.full(len(poses), -1)
    column[free] = 6 * np.arange(len(free))
    e = _evaluate(graph, W, c, f_scale_px, length_weight)
    before = e.cost
    evaluations, iterations, converged, damping = 1, 0, False, 1e-3
    while evaluations < max_nfev and not converged:
        iterations += 1
        g, H = _normal_equations(graph, e, column, f_scale_px, 6 * len(free))
        diag = np.diag(H).copy()
        v = _scale_direction(c, free, fixed, unit)
        while evaluations < max_nfev:
            A = H + np.diag(damping * diag + 1e-12 * np.max(diag))
            moved = _step(W, c, _solve_gauged(A, v, float(np.mean(diag)), -g), free, fixed, unit)
            if moved is not None:
                trial = _evaluate(graph, *moved, f_scale_px, length_weight)
                evaluations += 1
            if moved is not None and trial.cost < e.cost:
                converged = e.cost - trial.cost < ftol * e.cost
                (W, c), e = moved, trial
                damping = max(damping / 10, 1e-9)
                break
            damping *= 10
            if damping > 1e12:
                converged = True  # no step lowers the cost: a minimum to numerical precision
                break
    out = poses.copy()
    out[:, :3, :3] = W.transpose(0, 2, 1)
    out[:, :3, 3] = c
    return Refinement(out, converged, iterations, evaluations, before, e.cost)
