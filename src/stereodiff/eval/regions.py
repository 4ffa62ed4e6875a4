"""Metrics on dynamic vs static pixels (StereoDiff paper Table 3).

One alignment is fitted over all valid pixels of the video (exactly as ``evaluate_sequence``); the per-frame
metrics are then computed three times: over all valid pixels ("overall"), over the valid pixels inside the
dynamic mask ("dynamic") and outside it ("static"). Frames without a valid pixel in a region are dropped from
that region's frame average (the protocol's rule).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.protocol import SequenceMetrics, check_inputs, region_metrics, resize_and_align

__all__ = ["REGIONS", "evaluate_regions", "region_differences"]

REGIONS = ("dynamic", "overall", "static")


def evaluate_regions(
    pred: np.ndarray,
    gt: np.ndarray,
    dynamic_mask: np.ndarray,
    *,
    pred_kind: Literal["disparity", "depth"] = "disparity",
    max_depth: float | None,
    min_depth: float = 1e-3,
    alignment: str = "lstsq-disparity",
    per_frame: bool = False,
    resize: Literal["nearest", "bilinear", "cubic"] = "bilinear",
    valid_mask: np.ndarray | None = None,
) -> dict[str, SequenceMetrics]:
    """``{"dynamic", "overall", "static"} -> SequenceMetrics`` for one video.

    Args:
        pred, gt, pred_kind, max_depth, min_depth, alignment, per_frame, resize, valid_mask: as
            ``stereodiff.eval.protocol.evaluate_sequence``.
        dynamic_mask: ``[T,H,W]`` bool (or 0/255 uint8), True on moving objects, at the GT size.
    """
    check_inputs(pred, gt, pred_kind, max_depth, min_depth, valid_mask)
    dynamic_mask = np.asarray(dynamic_mask)
    if dynamic_mask.shape != gt.shape:
        raise InputError(
            f"dynamic_mask has shape {dynamic_mask.shape} but gt has {gt.shape}", "give one mask per GT frame"
        )
    dynamic = dynamic_mask.astype(bool)
    pred, align = resize_and_align(pred, gt, pred_kind, max_depth, min_depth, alignment, per_frame, resize, valid_mask)
    regions = {"dynamic": dynamic, "overall": None, "static": ~dynamic}
    return region_metrics(pred, gt, align, pred_kind, valid_mask, regions)


def region_differences(
    a: dict[str, SequenceMetrics], b: dict[str, SequenceMetrics], metrics=("abs_rel", "rmse", "delta1", "delta2")
) -> dict[str, dict[str, float]]:
    """Table 3 entries: ``region -> metric -> value(a) - value(b)`` of the frame-averaged metrics."""
    return {r: {m: float(getattr(a[r], m) - getattr(b[r], m)) for m in metrics} for r in REGIONS if r in a and r in b}
