"""Temporal and camera metrics: TAE (Video-Depth-Anything), ATE and RPE after a Sim(3) Umeyama alignment.

TAE (temporal alignment error, ``benchmark/eval/eval_tae.py`` of Video-Depth-Anything), for aligned predicted
depth ``D_t`` (after the protocol's whole-video fit), GT intrinsics ``K`` and GT poses ``cam_to_world``:
for each consecutive pair (t, t+1) and both directions, back-project every pixel of ``D_t`` with ``K``, move it
into camera t+1 with ``T_{t+1←t} = inv(P_{t+1}) · P_t``, project with ``K``, round to the nearest pixel and write
its camera-z there (later pixels overwrite earlier ones, as the official scatter does; source pixels with depth
0 are skipped, the official code never sees them as its depth is clipped ≥ 1e-3), then take the AbsRel
``mean(|D_{t+1} - proj| / D_{t+1})`` over pixels where both are > 0 (and the optional mask holds); a pair with no
such pixel counts as 0. TAE is the mean over the ``2 (T-1)`` directed pairs, ×100 (the official scale).

ATE / RPE (camera trajectories, as MonST3R reports them with ``evo``): the estimated camera centres are mapped
onto the GT centres by the least-squares similarity (Umeyama, with scale); ATE is the RMSE of the centre
differences (GT unit). RPE compares consecutive relative motions after the same alignment:
``E_t = inv(inv(Q_t) Q_{t+1}) · (inv(P_t) P_{t+1})`` (Q = GT, P = aligned estimate); RPE-trans is the RMSE of
``‖trans(E_t)‖`` (GT unit), RPE-rot the mean rotation angle of ``E_t`` in degrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stereodiff.errors import InputError
from stereodiff.stage1.registration import Similarity, umeyama

__all__ = ["TrajectoryErrors", "align_trajectory", "temporal_alignment_error", "trajectory_errors"]


def _project_depth(depth: np.ndarray, K: np.ndarray, b_from_a: np.ndarray) -> np.ndarray:
    """``[H,W]`` depth of frame a's pixels seen from camera b (nearest pixel, last write wins; 0 = empty)."""
    h, w = depth.shape
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    xn = ((np.arange(w) - cx) / fx)[None, :]  # [1,W] normalised rays
    yn = ((np.arange(h) - cy) / fy)[:, None]  # [H,1]
    r, t = b_from_a[:3, :3], b_from_a[:3, 3]
    # camera-b coordinates of z * (xn, yn, 1): z * (R @ ray) + t, row by row of R  [H,W] each
    x, y, z = (depth * (r[i, 0] * xn + r[i, 1] * yn + r[i, 2]) + t[i] for i in range(3))
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.round(x * fx / z + cx)
        v = np.round(y * fy / z + cy)
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h) & (depth > 0)  # NaN/inf compare False; 0 = no depth
    out = np.zeros((h, w))
    out[v[inside].astype(np.int64), u[inside].astype(np.int64)] = z[inside]
    return out


def temporal_alignment_error(
    depth: np.ndarray, K: np.ndarray, cam_to_world: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """TAE ×100 of aligned depth ``[T,H,W]`` with GT intrinsics ``[3,3]`` or ``[T,3,3]`` and poses ``[T,4,4]``.

    ``mask``: optional ``[T,H,W]`` bool restricting the target pixels (VDA's ``--mask``). See the module docstring.
    """
    depth = np.asarray(depth, dtype=np.float64)
    t_frames = depth.shape[0]
    if depth.ndim != 3 or t_frames < 2:
        raise InputError(f"depth must be [T,H,W] with T ≥ 2, got {depth.shape}", "TAE needs consecutive frames")
    K = np.asarray(K, dtype=np.float64)
    Ks = np.broadcast_to(K, (t_frames, 3, 3)) if K.shape == (3, 3) else K
    if Ks.shape != (t_frames, 3, 3):
        raise InputError(f"K must be [3,3] or [{t_frames},3,3], got {K.shape}", "give the GT intrinsics")
    if np.shape(cam_to_world) != (t_frames, 4, 4):
        raise InputError(f"cam_to_world must be [{t_frames},4,4], got {np.shape(cam_to_world)}", "give GT poses")
    total = 0.0
    for t in range(t_frames - 1):
        b_from_a = np.linalg.inv(cam_to_world[t + 1]) @ cam_to_world[t]
        for src, dst, transform, k in (
            (t, t + 1, b_from_a, Ks[t]),
            (t + 1, t, np.linalg.inv(b_from_a), Ks[t]),  # the official code uses frame t's K both ways
        ):
            proj = _project_depth(depth[src], k, transform)
            valid = (proj > 0) & (depth[dst] > 0)
            if mask is not None:
                valid &= mask[dst]
            if valid.any():
                total += float(np.mean(np.abs(depth[dst][valid] - proj[valid]) / depth[dst][valid]))
    return 100.0 * total / (2 * (t_frames - 1))


@dataclass
class TrajectoryErrors:
    """Camera trajectory errors after Sim(3) alignment.

    Attributes:
        ate: RMSE of camera-centre differences (GT unit).
        rpe_trans: RMSE of the relative-motion translation errors between consecutive frames (GT unit).
        rpe_rot: mean relative-motion rotation error between consecutive frames (degrees).
        similarity: the fitted ``Similarity`` (batch of 1) mapping estimated centres onto GT centres.
    """

    ate: float
    rpe_trans: float
    rpe_rot: float
    similarity: Similarity


def align_trajectory(est_cam_to_world: np.ndarray, gt_cam_to_world: np.ndarray) -> tuple[np.ndarray, Similarity]:
    """``([T,4,4] aligned estimated poses, Similarity)``: Umeyama Sim(3) of estimated onto GT camera centres.

    The aligned pose is ``[s R R_t | s R c_t + τ]`` for the estimate ``[R_t | c_t]``.
    """
    est = np.asarray(est_cam_to_world, dtype=np.float64)
    gt = np.asarray(gt_cam_to_world, dtype=np.float64)
    if est.shape != gt.shape or est.ndim != 3 or est.shape[1:] != (4, 4) or est.shape[0] < 3:
        raise InputError(
            f"trajectories must be [T,4,4] of equal shape with T ≥ 3, got {est.shape} and {gt.shape}",
            "give one camera-to-world pose per frame",
        )
    sim = umeyama(est[:, :3, 3], gt[:, :3, 3])
    s, r, tau = sim.scale[0], sim.rotation[0], sim.translation[0]
    aligned = est.copy()
    aligned[:, :3, :3] = r @ est[:, :3, :3]
    aligned[:, :3, 3] = s * est[:, :3, 3] @ r.T + tau
    return aligned, sim


def trajectory_errors(est_cam_to_world: np.ndarray, gt_cam_to_world: np.ndarray) -> TrajectoryErrors:
    """ATE and RPE (consecutive frames) of an estimated trajectory ``[T,4,4]`` vs GT ``[T,4,4]`` (cam_to_world)."""
    aligned, sim = align_trajectory(est_cam_to_world, gt_cam_to_world)
    gt = np.asarray(gt_cam_to_world, dtype=np.float64)
    ate = float(np.sqrt(np.mean(np.sum((aligned[:, :3, 3] - gt[:, :3, 3]) ** 2, axis=1))))
    rel_est = np.linalg.inv(aligned[:-1]) @ aligned[1:]  # [T-1,4,4]
    rel_gt = np.linalg.inv(gt[:-1]) @ gt[1:]
    err = np.linalg.inv(rel_gt) @ rel_est
    rpe_trans = float(np.sqrt(np.mean(np.sum(err[:, :3, 3] ** 2, axis=1))))
    cos = np.clip((np.trace(err[:, :3, :3], axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    rpe_rot = float(np.degrees(np.arccos(cos)).mean())
    return TrajectoryErrors(ate, rpe_trans, rpe_rot, sim)
