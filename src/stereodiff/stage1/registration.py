"""Registration primitives of the global alignment: similarity transforms (Umeyama), the focal of a pointmap
(Weiszfeld IRLS) and RANSAC-PnP, as in DUSt3R/MonST3R's closed-form initialisation.

Conventions (as in the official code): OpenCV camera axes; pixel ``(u, v)`` is the integer column and row (no +0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stereodiff.camera import default_principal_point, pinhole, pixel_grid
from stereodiff.robust import weighted_median

__all__ = ["Similarity", "affine_points", "apply_similarity", "estimate_focal", "pose_matrix", "solve_pnp", "umeyama"]


@dataclass
class Similarity:
    """A batch of similarity transforms ``y = scale · R · x + t``.

    Attributes:
        scale: ``[B]`` float64.
        rotation: ``[B,3,3]`` float64 (det +1).
        translation: ``[B,3]`` float64.
    """

    scale: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray


def _squared_distance(points: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """``[B,N]`` squared distances of ``points [B,N,3]`` to ``centre [B,3]`` (component-wise: ~5× faster than
    ``np.linalg.norm`` over the short last axis)."""
    return sum(np.square(points[..., c] - centre[:, c, None]) for c in range(3))


def umeyama(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None, *, estimate_scale: bool = True,
    robust_scale: bool = False,
) -> Similarity:  # fmt: skip
    """Weighted least-squares similarity (Umeyama) mapping ``src`` onto ``dst``: min Σ w‖s·R·x + t − y‖².

    Args:
        src: ``[B,N,3]`` (or ``[N,3]``) source points.
        dst: ``[B,N,3]`` (or ``[N,3]``) target points, same shape.
        weights: ``[B,N]`` (or ``[N]``) non-negative weights (normalised internally); ``None`` = uniform.
        estimate_scale: fit the scale; otherwise ``scale = 1``.
        robust_scale: the scale is the weighted median of ``log(‖y − ȳ‖ / ‖x − x̄‖)`` over the points (insensitive
            to the noise of ``src`` that biases the least-squares scale low); rotation and translation stay the
            weighted least-squares ones (the translation for that scale).

    Returns:
        A :class:`Similarity` with batch size ``B`` (1 for unbatched inputs).

    Raises:
        ValueError: mismatched shapes, or a batch element whose weights sum to 0 or whose source points coincide.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim == 2:
        src, dst = src[None], dst[None]
        weights = None if weights is None else np.asarray(weights)[None]
    if src.shape != dst.shape or src.ndim != 3 or src.shape[-1] != 3:
        raise ValueError(f"src and dst must both be [B,N,3] or [N,3], got {src.shape} and {dst.shape}")
    if weights is None:
        weights = np.ones(src.shape[:2])
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != src.shape[:2]:
        raise ValueError(f"weights must have shape {src.shape[:2]}, got {weights.shape}")
    total = weights.sum(axis=1, keepdims=True)  # [B,1]
    if np.any(total <= 0):
        raise ValueError(f"weights sum to 0 for batch element(s) {np.flatnonzero(total[:, 0] <= 0).tolist()}")
    w = weights / total  # [B,N]
    weighted_src = src * w[..., None]  # [B,N,3]
    src_mean = np.matmul(w[:, None], src)[:, 0]  # [B,3] (a matmul: ~10x faster than a sum over the middle axis)
    dst_mean = np.matmul(w[:, None], dst)[:, 0]
    # second moments from uncentred sums (no centred copies of the N points; float64 keeps the cancellation small)
    cov = np.matmul(dst.transpose(0, 2, 1), weighted_src) - dst_mean[:, :, None] * src_mean[:, None, :]  # Σw(y−ȳ)(x−x̄)ᵀ
    second = np.einsum("bnc,bnc->b", weighted_src, src)  # [B] Σ w ‖x‖²
    var_src = second - (src_mean * src_mean).sum(-1)  # [B] Σ w ‖x − x̄‖²
    u, _, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt))
    sign[sign == 0] = 1.0
    u[:, :, 2] *= sign[:, None]
    rotation = u @ vt  # [B,3,3]
    if np.any(var_src <= 1e-12 * second):
        bad = np.flatnonzero(var_src <= 1e-12 * second).tolist()
        raise ValueError(f"source points coincide for batch element(s) {bad}")
    if not estimate_scale:
        scale = np.ones(len(src))
    elif robust_scale:
        with np.errstate(divide="ignore", invalid="ignore"):  # log distance ratio, from squared distances [B,N]
            log_ratio = 0.5 * (np.log(_squared_distance(dst, dst_mean)) - np.log(_squared_distance(src, src_mean)))
        usable = np.isfinite(log_ratio) & (w > 0)
        scale = np.exp(weighted_median(np.where(usable, log_ratio, 0.0), np.where(usable, w, 0.0)))
    else:
        scale = np.einsum("brc,brc->b", rotation, cov) / var_src  # tr(Rᵀ M) / σ²
    translation = dst_mean - scale[:, None] * np.einsum("brc,bc->br", rotation, src_mean)
    return Similarity(scale, rotation, translation)


def _centred_pixels(h: int, w: int, principal_point: tuple[float, float]) -> np.ndarray:
    """``[h,w,2]`` float64 integer pixel coordinates ``(u, v)`` minus the principal point."""
    return pixel_grid(h, w) - np.asarray(principal_point, dtype=np.float64)


def estimate_focal(pts: np.ndarray, principal_point: tuple[float, float] | None = None, iterations: int = 10) -> float:
    """Focal length (pixels) of a pointmap in its own camera: min Σ ‖p − f·(x/z, y/z)‖ by Weiszfeld IRLS.

    Args:
        pts: ``[h,w,3]`` points of pixel ``(u, v)`` in the camera (OpenCV axes).
        principal_point: ``(cx, cy)``; default ``(w/2, h/2)``.
        iterations: IRLS iterations after the least-squares start (10 as in DUSt3R).

    Returns:
        The focal length in pixels (every pixel is used, unweighted; points with z = 0 are ignored).
    """
    h, w = pts.shape[:2]
    pixels = _centred_pixels(h, w, principal_point or default_principal_point((h, w))).reshape(-1, 2)  # [N,2]
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        rays = np.nan_to_num(pts[:, :2] / pts[:, 2:3], nan=0.0, posinf=0.0, neginf=0.0)  # [N,2]
    dot_rp = (rays * pixels).sum(-1)  # [N]
    dot_rr = (rays * rays).sum(-1)
    dot_pp = (pixels * pixels).sum(-1)
    focal = dot_rp.mean() / dot_rr.mean()
    for _ in range(iterations):
        residual_sq = dot_pp - 2 * focal * dot_rp + focal * focal * dot_rr  # ‖p − f·r‖², expanded
        weight = 1.0 / np.sqrt(np.maximum(residual_sq, 1e-16))
        focal = (weight * dot_rp).sum() / (weight * dot_rr).sum()  # (not a BLAS dot: slow on busy cores)
    return float(max(focal, 0.0))


def solve_pnp(
    world: np.ndarray, focal: float | None, mask: np.ndarray, *, seed: int, iterations: int
) -> tuple[float, np.ndarray] | None:
    """RANSAC-PnP (SQPNP) of a pointmap ``[h,w,3]``: ``(focal, cam_to_world [4,4])`` or ``None`` on failure.

    With ``focal=None`` 21 focals in ``geomspace(S/2, 3S)`` (``S = max(h, w)``) are tried; the most inliers win.
    """
    import cv2

    h, w = world.shape[:2]
    if mask.sum() < 4:
        return None
    pixels = pixel_grid(h, w)[mask]  # [M,2] float32
    points = world[mask].astype(np.float32)  # [M,3]
    size = max(w, h)
    candidates = np.geomspace(size / 2, size * 3, 21) if focal is None else [focal]
    best: tuple[int, np.ndarray, np.ndarray, float] | None = None
    for f in candidates:
        k = pinhole(f, (h, w)).astype(np.float32)
        cv2.setRNGSeed(seed)
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            points, pixels, k, None, iterationsCount=iterations, reprojectionError=5, flags=cv2.SOLVEPNP_SQPNP
        )
        if ok and inliers is not None and (best is None or len(inliers) > best[0]):
            best = (len(inliers), rvec, tvec, float(f))
    if best is None:
        return None
    _, rvec, tvec, f = best
    world_to_cam = np.eye(4)
    world_to_cam[:3, :3] = cv2.Rodrigues(rvec)[0]
    world_to_cam[:3, 3] = tvec.ravel()
    return f, np.linalg.inv(world_to_cam)


def apply_similarity(sim: Similarity, points: np.ndarray) -> np.ndarray:
    """``[h,w,3]`` float64 points mapped by the single similarity ``sim``."""
    return affine_points(points, np.hstack([sim.scale[0] * sim.rotation[0], sim.translation[0][:, None]]))


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``[h,w,m]`` float64 ``matrix [m,4] @ [x; 1]`` of the points ``[h,w,3]`` (``cv2.transform``: ~14× faster than
    numpy's matmul on such thin arrays, which goes to the multithreaded BLAS; the same values to ~1e-15)."""
    import cv2

    matrix = np.asarray(matrix, dtype=np.float64)
    out = cv2.transform(np.asarray(points, dtype=np.float64), matrix)  # [h,w] for one output channel
    return out.reshape(*points.shape[:-1], len(matrix))


def pose_matrix(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    pose = np.eye(4)
    pose[:3, :3] = rotation
    pose[:3, 3] = translation
    return pose
