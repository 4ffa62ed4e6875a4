"""A stand-in for stage-1 output on synthetic scenes: ground truth corrupted the way stage 1 fails.

Used to measure stage-2 backends before (or without) running a real stage 1. The corruption follows the
paper's account of stage-1 errors (§3.1): one video-wide scale (global consistency is good), per-frame jitter
of scale and shift from camera-motion errors, spatially smooth per-frame noise, and moving objects that are
inconsistent from frame to frame (stage 1 only sees them pairwise) and flagged with low confidence, plus holes.
It is a simulation, not a substitute for measuring with the real geometric or network stage 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Stage1Simulation", "simulate_stage1"]


@dataclass
class Stage1Simulation:
    """Simulated stage-1 output.

    Attributes:
        depth: ``[T,h,w]`` float32 depth in the simulated scale (0 = hole).
        confidence: ``[T,h,w]`` float32 confidence (≈ 1 on static pixels, ``dynamic_confidence`` on moving ones,
            0 in holes).
    """

    depth: np.ndarray
    confidence: np.ndarray


def simulate_stage1(
    depth: np.ndarray,
    dynamic_mask: np.ndarray,
    *,
    seed: int = 0,
    size: tuple[int, int] | None = None,
    global_scale: float = 0.37,
    frame_log_scale_std: float = 0.04,
    frame_log_slope_std: float = 0.03,
    smooth_noise_std: float = 0.03,
    dynamic_offset_std: float = 0.15,
    dynamic_noise_std: float = 0.1,
    dynamic_confidence: float = 0.05,
    hole_fraction: float = 0.03,
) -> Stage1Simulation:
    """Corrupt ground-truth depth like a stage-1 backend (see the module docstring).

    Args:
        depth: ``[T,H,W]`` float ground-truth depth (metres; 0 = invalid).
        dynamic_mask: ``[T,H,W]`` bool, moving-object pixels.
        seed: random seed.
        size: ``(h, w)`` of the simulated stage-1 output (nearest-neighbour resampling); None keeps ``(H, W)``.
        global_scale: the one video-wide scale factor (stage 1 is only defined up to scale).
        frame_log_scale_std: std of a per-frame offset of log-depth (per-frame scale jitter).
        frame_log_slope_std: std of a per-frame gain on centred log-depth (per-frame shift/shape jitter).
        smooth_noise_std: std of per-frame, spatially smooth (≈ 1/8 of the image) log-depth noise.
        dynamic_offset_std: std of a per-frame log-depth offset of the moving pixels.
        dynamic_noise_std: std of per-pixel log-depth noise on moving pixels.
        dynamic_confidence: confidence given to moving pixels (static pixels get ≈ 1).
        hole_fraction: approximate fraction of each frame turned into blob-shaped holes (depth 0).

    Returns:
        A :class:`Stage1Simulation` at ``size``.
    """
    import cv2

    t, big_h, big_w = depth.shape
    if dynamic_mask.shape != depth.shape:
        raise ValueError(f"dynamic_mask shape {dynamic_mask.shape} must equal depth shape {depth.shape}")
    h, w = size if size is not None else (big_h, big_w)
    rng = np.random.default_rng(seed)
    rows = (np.arange(h) * big_h // h)[:, None]
    cols = (np.arange(w) * big_w // w)[None, :]
    valid_all = depth > 0
    centre = float(np.log(depth[valid_all]).mean()) if valid_all.any() else 0.0
    out_depth = np.zeros((t, h, w), np.float32)
    out_conf = np.zeros((t, h, w), np.float32)

    def smooth_field(cells: int) -> np.ndarray:
        coarse = rng.standard_normal((cells, max(2, cells * w // h))).astype(np.float32)
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        return field / max(float(field.std()), 1e-6)

    for k in range(t):
        d = depth[k][rows, cols].astype(np.float64)  # [h,w]
        dyn = dynamic_mask[k][rows, cols]
        valid = d > 0
        log_d = np.log(np.where(valid, d, 1.0))
        log_d = centre + (1 + frame_log_slope_std * rng.standard_normal()) * (log_d - centre)
        log_d += np.log(global_scale) + frame_log_scale_std * rng.standard_normal()
        log_d += smooth_noise_std * smooth_field(8)
        log_d += dyn * (dynamic_offset_std * rng.standard_normal() + dynamic_noise_std * rng.standard_normal((h, w)))
        holes = smooth_field(12) > _normal_quantile(1 - hole_fraction) if hole_fraction > 0 else np.zeros_like(valid)
        keep = valid & ~holes
        out_depth[k] = np.where(keep, np.exp(log_d), 0.0)
        conf = np.where(dyn, dynamic_confidence, 1.0 + 0.2 * rng.random((h, w)))
        out_conf[k] = np.where(keep, conf, 0.0)
    return Stage1Simulation(depth=out_depth, confidence=out_conf)


def _normal_quantile(p: float) -> float:
    """Standard-normal quantile (the hole threshold of a unit-variance smooth field)."""
    from scipy.stats import norm

    return float(norm.ppf(p))
