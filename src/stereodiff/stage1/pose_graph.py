"""Joint refinement of every frame's pose over all ok pairs' sparse inlier matches (``stage1.pose_graph_refine``).

Each pair's essential matrix is fitted to its own matches alone; the frames' poses, refined together over all the
pairs' matches, share their evidence: a pair's relative pose is then that of two frames each constrained by every
pair it is in. The residual of a match is its signed Sampson distance (pixels) under the relative pose of its two
frames, with a Cauchy loss; the parameters are a rotation vector and a centre offset per frame (the first frame
fixed). The translation's scale does not enter the residual (``|t| = 1`` per pair), so the centres only set the
pairs' translation directions.

The Jacobian is block-sparse (each match sees its two frames): its 12 columns are finite differences of one batched
residual evaluation per column, perturbing every pair's first (or second) frame at once (13 evaluations of all the
matches per Jacobian instead of one per parameter group). TUM fr1/desk (312 pairs × 50 matches): 15.8 s CPU at 100
evaluations, 128 s at 1000 (scipy's own grouped differences at 300: 6–8 min); not converged at either. What it
does to the depth: ``GeometricConfig.pose_graph_refine`` and docs/geometric.md, "The pose graph in the pipeline".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PairMatches", "inlier_sample", "refine_pose_graph", "relative_poses"]

_STEP = 1e-6  # finite-difference step of the Jacobian (radians; centres in units of the median frame step)


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
    h_a = np.concatenate([x_a, np.ones((len(x_a), 1))], axis=1)
    h_b = np.concatenate([x_b, np.ones((len(x_b), 1))], axis=1)
    F = np.broadcast_to(F, (len(x_a), 3, 3))
    f_a = np.einsum("nij,nj->ni", F, h_a)
    f_b = np.einsum("nji,nj->ni", F, h_b)
    den = np.sqrt(f_a[:, 0] ** 2 + f_a[:, 1] ** 2 + f_b[:, 0] ** 2 + f_b[:, 1] ** 2) + 1e-12
    return np.einsum("ni,ni->n", h_b, f_a) / den


def inlier_sample(
    x_a: np.ndarray, x_b: np.ndarray, F: np.ndarray, count: int, max_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``count`` of the matches ``x_a``, ``x_b`` ``[N,2]`` whose |signed Sampson distance| under ``F`` is
    below ``max_px`` pixels, evenly spaced in their order (the grid sample's: spread over the image)."""
    idx = np.flatnonzero(np.abs(signed_sampson(x_a, x_b, F)) < max_px)
    if len(idx) > count:
        idx = idx[np.linspace(0, len(idx) - 1, count).astype(np.int64)]
    return x_a[idx].astype(np.float64), x_b[idx].astype(np.float64)


def _rotations(rotvec: np.ndarray) -> np.ndarray:
    """``[N,3,3]`` rotation matrices of rotation vectors ``[N,3]`` (Rodrigues)."""
    angle = np.linalg.norm(rotvec, axis=1)[:, None, None]
    axis = rotvec / np.maximum(angle[:, :, 0], 1e-300)
    k = np.zeros((len(rotvec), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k -= k.transpose(0, 2, 1)
    small = angle < 1e-12
    sin = np.where(small, 0.0, np.sin(angle))
    cos1 = np.where(small, 0.0, 1.0 - np.cos(angle))
    return np.eye(3) + sin * k + cos1 * (k @ k)


def _pair_fundamentals(
    W_a: np.ndarray, c_a: np.ndarray, W_b: np.ndarray, c_b: np.ndarray, K_inv: np.ndarray
) -> np.ndarray:
    """``[N,3,3]`` fundamental matrices a → b of the frames' world → camera rotations ``W [N,3,3]`` and centres
    ``c [N,3]`` (``X_b = R X_a + t``, ``R = W_b W_aᵀ``, ``t = W_b (c_a − c_b)``, ``|t|`` normalised)."""
    R = W_b @ W_a.transpose(0, 2, 1)
    t = np.einsum("nij,nj->ni", W_b, c_a - c_b)
    t /= np.linalg.norm(t, axis=1, keepdims=True) + 1e-300
    tx = np.zeros_like(R)
    tx[:, 0, 1], tx[:, 0, 2], tx[:, 1, 2] = -t[:, 2], t[:, 1], -t[:, 0]
    tx -= tx.transpose(0, 2, 1)
    return K_inv.T @ (tx @ R) @ K_inv


def relative_poses(cam_to_world: np.ndarray, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], tuple]:
    """``{(a, b): (R [3,3], t [3])}``: each pair's relative pose a → b (``X_b = R X_a + t``, ``|t| = 1``) from the
    camera-to-world poses ``[T,4,4]``."""
    out = {}
    for a, b in pairs:
        rel = np.linalg.inv(cam_to_world[b]) @ cam_to_world[a]
        t = rel[:3, 3]
        out[(a, b)] = (rel[:3, :3].copy(), t / max(float(np.linalg.norm(t)), 1e-300))
    return out


def refine_pose_graph(
    cam_to_world: np.ndarray,
    matches: list[PairMatches],
    K: np.ndarray,
    f_scale_px: float = 0.1,
    max_nfev: int = 100,
) -> np.ndarray:
    """``[T,4,4]`` camera-to-world poses refined from ``cam_to_world`` ``[T,4,4]`` (any scale; frame 0 fixed) over
    the matches of the pairs ``matches`` (pixels of camera ``K`` ``[3,3]``): least squares of the signed Sampson
    distances (Cauchy loss of scale ``f_scale_px`` pixels), ``scipy.optimize.least_squares`` (trf, sparse
    Jacobian, at most ``max_nfev`` evaluations). Frames in no pair keep their pose."""
    from scipy.optimize import least_squares
    from scipy.sparse import csr_matrix

    poses = np.asarray(cam_to_world, np.float64)
    matches = [m for m in matches if len(m.x_a)]
    if not matches:
        return poses.copy()
    T = len(poses)
    W0 = poses[:, :3, :3].transpose(0, 2, 1).copy()  # world → camera
    c0 = poses[:, :3, 3].copy()
    unit = float(np.median(np.linalg.norm(np.diff(c0, axis=0), axis=1))) or 1.0
    frame_a = np.concatenate([np.full(len(m.x_a), m.a) for m in matches])
    frame_b = np.concatenate([np.full(len(m.x_a), m.b) for m in matches])
    x_a = np.concatenate([m.x_a for m in matches])
    x_b = np.concatenate([m.x_b for m in matches])
    K_inv = np.linalg.inv(K)

    def frames(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = np.vstack([np.zeros((1, 6)), p.reshape(T - 1, 6)])
        return _rotations(d[:, :3]) @ W0, c0 + d[:, 3:] * unit

    def residual(W_a: np.ndarray, c_a: np.ndarray, W_b: np.ndarray, c_b: np.ndarray) -> np.ndarray:
        return signed_sampson(x_a, x_b, _pair_fundamentals(W_a, c_a, W_b, c_b, K_inv))

    def fun(p: np.ndarray) -> np.ndarray:
        W, c = frames(p)
        return residual(W[frame_a], c[frame_a], W[frame_b], c[frame_b])

    rows = np.arange(len(x_a))

    def jac(p: np.ndarray) -> csr_matrix:
        d = np.vstack([np.zeros((1, 6)), p.reshape(T - 1, 6)])
        W, c = frames(p)
        base = residual(W[frame_a], c[frame_a], W[frame_b], c[frame_b])
        values, cols, rr = [], [], []
        for side, frame in ((0, frame_a), (1, frame_b)):
            for j in range(6):
                step = d[frame].copy()
                step[:, j] += _STEP
                W_s = _rotations(step[:, :3]) @ W0[frame]
                c_s = c0[frame] + step[:, 3:] * unit
                args = (W_s, c_s, W[frame_b], c[frame_b]) if side == 0 else (W[frame_a], c[frame_a], W_s, c_s)
                keep = frame > 0
                values.append(((residual(*args) - base) / _STEP)[keep])
                cols.append(6 * (frame[keep] - 1) + j)
                rr.append(rows[keep])
        return csr_matrix(
            (np.concatenate(values), (np.concatenate(rr), np.concatenate(cols))), shape=(len(x_a), 6 * (T - 1))
        )

    result = least_squares(
        fun,
        np.zeros(6 * (T - 1)),
        jac=jac,
        loss="cauchy",
        f_scale=f_scale_px,
        x_scale="jac",
        method="trf",
        tr_solver="lsmr",
        max_nfev=max_nfev,
    )
    W, c = frames(result.x)
    out = poses.copy()
    out[:, :3, :3] = W.transpose(0, 2, 1)
    out[:, :3, 3] = c
    return out
