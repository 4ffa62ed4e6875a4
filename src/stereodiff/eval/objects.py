"""Per-object diagnosis of moving objects on rendered scenes (issue #20): where the moving-pixel error comes from.

The dynamic-pixel AbsRel of ``evaluate_regions`` mixes every moving object of a video and every cause of error. For
each independently moving object of a synthetic video (its ``object_ids``), :func:`object_breakdown` separates

- how much of it stage 1 triangulated (``coverage``) and how much of it the mover segmentation found (``recall``);
- how far its depth is, after the video's one alignment, from the truth (``ratio``: median of aligned / true depth;
  1 = right, 3 = three times too far, e.g. a hole filled from the background behind it);
- its own AbsRel, frame-averaged over the frames it is seen in (the protocol's rule);
- given the pixels the movers step re-depthed, how much of it got a mover depth and in how many of its frames:
  a mover missed in whole frames and one found in every frame but only in part call for different fixes.

:func:`constant_velocity_parallax_px` says whether a floating mover's depth is observable at all from the camera's
motion (docstring of the package ``stereodiff.stage1.movers``, docs/geometric.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.protocol import apply_alignment, region_metrics, resize_and_align

__all__ = ["REDEPTHED_SHARE", "ObjectRow", "constant_velocity_parallax_px", "object_breakdown"]


@dataclass(frozen=True)
class ObjectRow:
    """One moving object of a video (fractions in [0, 1]; NaN where undefined)."""

    object_id: int
    frames: int
    """Frames it is seen in (at least one valid GT pixel)."""
    depth_m: float
    """Median true depth of its pixels (m)."""
    share: float
    """Its share of the video's moving pixels."""
    coverage: float
    """Share of its pixels with a prediction in ``covered`` (1 when none given)."""
    recall: float
    """Share of its pixels in the segmentation ``moving`` (NaN when none given)."""
    ratio: float
    """Median of aligned predicted / true depth over its covered pixels."""
    abs_rel: float
    """AbsRel over its covered pixels, averaged over the frames it is seen in."""
    redepthed: float = float("nan")
    """Share of its pixels in ``redepthed`` (NaN when none given)."""
    redepthed_frames: float = float("nan")
    """Share of its frames in which at least ``REDEPTHED_SHARE`` of its pixels are in ``redepthed`` (NaN when none
    given)."""


#: least share of a mover's pixels in a frame the movers step must re-depth for :attr:`ObjectRow.redepthed_frames`
REDEPTHED_SHARE = 0.05


def object_breakdown(
    pred: np.ndarray,
    gt: np.ndarray,
    object_ids: np.ndarray,
    dynamic_mask: np.ndarray,
    *,
    pred_kind: Literal["disparity", "depth"] = "depth",
    max_depth: float | None,
    min_depth: float = 1e-3,
    covered: np.ndarray | None = None,
    moving: np.ndarray | None = None,
    redepthed: np.ndarray | None = None,
) -> list[ObjectRow]:
    """Per moving object: coverage, segmentation recall, depth ratio and AbsRel, under the standard protocol.

    One least-squares scale and shift in disparity is fitted over the video's valid pixels (``covered`` ones when
    given, exactly as ``evaluate_regions`` with ``valid_mask=covered``); each object is then a region of that fit.

    Args:
        pred: ``[T,h,w]`` predicted depth (or disparity, ``pred_kind``), resized to the GT size by nearest neighbour.
        gt: ``[T,H,W]`` true depth (m).
        object_ids: ``[T,H,W]`` int, the object each pixel sees.
        dynamic_mask: ``[T,H,W]`` bool, True on independently moving objects: an object is listed when it holds
            such pixels.
        pred_kind, max_depth, min_depth: as ``evaluate_sequence``.
        covered: ``[T,H,W]`` bool, the pixels the prediction covers (e.g. stage 1's triangulated ones); None = all.
        moving: ``[T,H,W]`` bool, a segmentation of the moving pixels (its recall is reported); None = none.
        redepthed: ``[T,H,W]`` bool, the pixels the movers step gave a mover depth (e.g. where its output differs
            from its input); None = none.

    Returns:
        One :class:`ObjectRow` per moving object, by increasing id.
    """
    for name, array in (("object_ids", object_ids), ("dynamic_mask", dynamic_mask), ("covered", covered),
                        ("moving", moving), ("redepthed", redepthed)):  # fmt: skip
        if array is not None and np.shape(array) != gt.shape:
            raise InputError(f"{name} has shape {np.shape(array)} but gt has {gt.shape}", "give one per GT pixel")
    pred, align = resize_and_align(pred, gt, pred_kind, max_depth, min_depth, "lstsq-disparity", False, "nearest",
                                   covered)  # fmt: skip
    object_ids, dynamic = np.asarray(object_ids), np.asarray(dynamic_mask, bool)
    in_range = (gt > min_depth) & (gt < max_depth if max_depth is not None else True)
    aligned = apply_alignment(pred, align, pred_kind)  # [T,H,W] float64 depth
    ids = np.unique(object_ids[dynamic])
    regions = {int(i): object_ids == i for i in ids}
    metrics = region_metrics(pred, gt, align, pred_kind, covered, regions)
    total = max(int(np.count_nonzero(dynamic & in_range)), 1)
    rows = []
    for i, region in regions.items():
        seen = region & in_range  # [T,H,W]
        scored = seen & (covered if covered is not None else True)
        n = int(np.count_nonzero(seen))
        given, given_frames = np.nan, np.nan
        if n and redepthed is not None:
            per_frame = np.count_nonzero(seen & redepthed, axis=(1, 2))  # [T]
            in_frame = np.count_nonzero(seen, axis=(1, 2))  # [T]
            shown = in_frame > 0
            given = float(per_frame.sum()) / n
            given_frames = float(np.mean(per_frame[shown] >= REDEPTHED_SHARE * in_frame[shown]))
        rows.append(
            ObjectRow(
                object_id=i,
                frames=int(np.count_nonzero(seen.any(axis=(1, 2)))),
                depth_m=float(np.median(gt[seen])) if n else float("nan"),
                share=n / total,
                coverage=float(np.count_nonzero(scored)) / n if n else float("nan"),
                recall=float(np.count_nonzero(seen & moving)) / n if n and moving is not None else float("nan"),
                ratio=float(np.median(aligned[scored] / gt[scored])) if scored.any() else float("nan"),
                abs_rel=metrics[i].abs_rel,
                redepthed=given,
                redepthed_frames=given_frames,
            )
        )
    return rows


def constant_velocity_parallax_px(cam_centres: np.ndarray, depth: float, focal_px: float) -> float:
    """Largest image-plane signal (pixels) that tells a mover at ``depth`` from the same mover infinitely far.

    A rigid mover at constant velocity, seen by a camera moving at constant velocity, looks the same at every
    scale about the camera (its world track ``c(t) + λ·(p(t) − c(t))`` is a straight line at constant speed for
    every ``λ`` when ``c`` and ``p`` are): its depth is not observable. Only the camera's deviation from constant
    velocity over the frames the mover is seen in separates the scales: that deviation ``r(t)`` (m, from the best
    constant-velocity fit), seen at ``depth``, is ``focal_px · max|r_xy| / depth`` pixels between the true depth and
    ``λ → ∞`` (``1 − 1/λ`` of it at ``λ``). Only the components across the optical axis (camera x, y) are counted;
    ``cam_centres`` should be in the camera's axes at the middle frame (for a camera that keeps its orientation,
    world axes are fine).

    Args:
        cam_centres: ``[n,3]`` camera centres (m) at evenly spaced times, n ≥ 3.
        depth: the mover's depth (m).
        focal_px: focal length (pixels).
    """
    centres = np.asarray(cam_centres, np.float64)
    if centres.ndim != 2 or centres.shape[1] != 3 or len(centres) < 3:
        raise InputError(f"cam_centres must be [n,3] with n >= 3, got {centres.shape}", "give three or more centres")
    if not depth > 0 or not focal_px > 0:
        raise InputError(f"depth and focal_px must be > 0, got {depth} and {focal_px}")
    t = np.arange(len(centres), dtype=np.float64)
    design = np.stack([t, np.ones_like(t)], axis=1)  # [n,2]
    residual = centres - design @ np.linalg.lstsq(design, centres, rcond=None)[0]  # [n,3] m
    return float(focal_px * np.abs(residual[:, :2]).max() / depth)
