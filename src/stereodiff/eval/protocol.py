"""Affine-invariant video depth evaluation: alignment to ground truth and the standard metrics.

The default reproduces DepthCrafter's ``benchmark/eval/eval.py`` (also Video-Depth-Anything's ``eval.py``):

1. the prediction is resized to the GT size (``cv2.resize``, bilinear), frame by frame;
2. valid pixels are ``min_depth < gt < max_depth`` (``1e-3 < gt < cap``);
3. the prediction is an affine-invariant *disparity*: ``pred = clip(pred, 1e-3)``;
4. ONE least-squares scale and shift for the whole video, in float64, over every valid pixel of every frame:
   ``s * pred + t ≈ 1 / (gt + 1e-8)``;
5. ``depth = clip(1 / clip(s * pred + t, 1e-3), 1e-3, max_depth)``;
6. metrics per frame over its valid pixels, frames without a valid pixel dropped, then the mean over frames.

Other alignments (``alignment=``): ``"l1-depth"`` (MonST3R: depth-space ``s * pred + t`` minimising the L1 error;
MonST3R approximates the minimiser with 1000 Adam steps from the median-scaling start, we compute the exact
least-absolute-deviations fit by bisection on its subgradient), ``"median-scale"`` (depth-space
``median(gt) / median(pred)``, no shift), ``"none"`` (the prediction is metric depth). ``per_frame=True`` fits one
``(s, t)`` per frame instead of per video (the paper's §4.1.3 counter-example: it hides temporal inconsistency).

Metrics (all on depth in the GT unit, strict ``<`` for the δ thresholds):
``abs_rel = mean(|d - g| / g)``, ``sq_rel = mean((d - g)^2 / g)``, ``rmse = sqrt(mean((d - g)^2))``,
``log_rmse = sqrt(mean((ln d - ln g)^2))``, ``delta_k = mean(max(d / g, g / d) < 1.25^k)``.

``SequenceMetrics`` keeps the per-frame values and valid-pixel counts, so both averages exist without recomputing:
the frame mean (DepthCrafter / VDA) and the pixel-pooled value over the whole video (MonST3R). ``aggregate``
averages sequences unweighted (DepthCrafter) or weighted by valid-pixel count (MonST3R).

This module states each step; the per-frame sums behind them come from ``_fastalign`` (blocks of frames in threads,
no whole-video float64 copies), which the tests check against the formulas written out on whole arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval import _fastalign as engine

__all__ = [
    "ALIGNMENTS",
    "METRICS",
    "PROTOCOLS",
    "Alignment",
    "SequenceMetrics",
    "aggregate",
    "align_sequence",
    "apply_alignment",
    "evaluate_sequence",
    "frame_metrics",
    "protocol_options",
    "region_metrics",
    "resize_prediction",
]

METRICS = ("abs_rel", "sq_rel", "rmse", "log_rmse", "delta1", "delta2", "delta3")
ALIGNMENTS = ("lstsq-disparity", "l1-depth", "median-scale", "none")
RESIZES = {"nearest": 0, "bilinear": 1, "cubic": 2}  # cv2.INTER_NEAREST / INTER_LINEAR / INTER_CUBIC

#: named settings of the published protocols (keyword arguments of ``evaluate_sequence`` + averaging rules)
PROTOCOLS: dict[str, dict[str, object]] = {
    # DepthCrafter / Video-Depth-Anything benchmark code
    "depthcrafter": {
        "alignment": "lstsq-disparity",
        "resize": "bilinear",
        "min_depth": 1e-3,
        "average": "frame",
        "weighting": "sequence",
    },
    # StereoDiff paper §4.1.3: the same fit, predictions resized with nearest interpolation
    "stereodiff": {
        "alignment": "lstsq-disparity",
        "resize": "nearest",
        "min_depth": 1e-3,
        "average": "frame",
        "weighting": "sequence",
    },
    # MonST3R / CUT3R depth_evaluation: depth-space L1 fit, gt > 0 (here > 1e-5), depth clamped at 1e-5,
    # pixels pooled, pixel-weighted over sequences
    "monst3r": {
        "alignment": "l1-depth",
        "resize": "cubic",
        "min_depth": 1e-5,
        "average": "pixel",
        "weighting": "pixel",
    },
}


@dataclass
class Alignment:
    """The fitted map from prediction to GT depth.

    Attributes:
        method: one of ``ALIGNMENTS``.
        scale: ``[]`` (per video) or ``[T]`` (per frame) float64.
        shift: same shape as ``scale``. For ``lstsq-disparity`` the map is ``disparity_gt ≈ s * pred_disp + t``;
            for the depth-space methods ``depth_gt ≈ s * pred_depth + t``.
        pred_space: ``"disparity"`` or ``"depth"``: what the prediction is converted to before ``s``/``t`` apply.
        min_depth, max_depth: clip range of the aligned depth (``max_depth`` may be ``None``: no upper clip).
    """

    method: str
    scale: np.ndarray
    shift: np.ndarray
    pred_space: Literal["disparity", "depth"]
    min_depth: float
    max_depth: float | None


@dataclass
class SequenceMetrics:
    """Metrics of one video.

    Attributes:
        per_frame: metric name (``METRICS``) -> ``[F]`` float64 value of each evaluated frame.
        frames: ``[F]`` int64 indices (into the evaluated video) of the frames that had ≥ 1 valid pixel.
        num_pixels: ``[F]`` int64 valid-pixel count of each evaluated frame.
        num_frames: ``T``, frames in the evaluated video (including dropped ones).
        alignment: the fitted ``Alignment`` (``scale``/``shift`` are the fitted factors).
        abs_rel, sq_rel, rmse, log_rmse, delta1, delta2, delta3: the mean over evaluated frames (DepthCrafter).
    """

    per_frame: dict[str, np.ndarray]
    frames: np.ndarray
    num_pixels: np.ndarray
    num_frames: int
    alignment: Alignment
    abs_rel: float = field(init=False)
    sq_rel: float = field(init=False)
    rmse: float = field(init=False)
    log_rmse: float = field(init=False)
    delta1: float = field(init=False)
    delta2: float = field(init=False)
    delta3: float = field(init=False)

    def __post_init__(self) -> None:
        for name, value in self.frame_mean().items():
            setattr(self, name, value)

    @property
    def scale(self) -> np.ndarray:
        return self.alignment.scale

    @property
    def shift(self) -> np.ndarray:
        return self.alignment.shift

    def frame_mean(self) -> dict[str, float]:
        """Each metric averaged over the evaluated frames (DepthCrafter / VDA); NaN when no frame is valid."""
        if len(self.frames) == 0:
            return dict.fromkeys(METRICS, float("nan"))
        return {name: float(np.mean(values)) for name, values in self.per_frame.items()}

    def pixel_mean(self) -> dict[str, float]:
        """Each metric over all valid pixels of the video pooled (MonST3R); RMSEs pool the squared errors."""
        n = self.num_pixels.astype(np.float64)
        if n.sum() == 0:
            return dict.fromkeys(METRICS, float("nan"))
        out = {}
        for name, values in self.per_frame.items():
            if name in ("rmse", "log_rmse"):
                out[name] = float(np.sqrt(np.sum(n * values**2) / n.sum()))
            else:
                out[name] = float(np.sum(n * values) / n.sum())
        return out

    def summary(self, average: Literal["frame", "pixel"] = "frame") -> dict[str, float]:
        """The sequence's metrics with the chosen averaging (``"frame"`` or ``"pixel"``)."""
        if average == "frame":
            return self.frame_mean()
        if average == "pixel":
            return self.pixel_mean()
        raise ValueError(f"average must be 'frame' or 'pixel', got {average!r}")


def protocol_options(name: str) -> dict[str, object]:
    """``evaluate_sequence`` keyword arguments (alignment, resize, min_depth) of a named protocol."""
    _check_choice("protocol", name, PROTOCOLS)
    return {k: PROTOCOLS[name][k] for k in ("alignment", "resize", "min_depth")}


def _check_choice(name: str, value: object, choices) -> None:
    if value not in choices:
        raise InputError(f"{name}={value!r} is not supported", f"choose one of {', '.join(map(repr, choices))}")


def resize_prediction(pred: np.ndarray, size: tuple[int, int], resize: str = "bilinear") -> np.ndarray:
    """Resize ``[T,h,w]`` predictions to ``size = (H, W)`` frame by frame with OpenCV (as the benchmarks do).

    float32/float64 keep their dtype (OpenCV resizes in it); other dtypes are resized as float32. Returns the input
    unchanged when it already has the size.
    """
    _check_choice("resize", resize, RESIZES)
    pred = np.asarray(pred) if not isinstance(pred, np.ndarray) else pred
    if tuple(pred.shape[1:]) == tuple(size):
        return pred
    import cv2

    dtype = pred.dtype if pred.dtype in (np.float32, np.float64) else np.float32
    out = np.empty((pred.shape[0], *size), dtype=dtype)
    for t in range(pred.shape[0]):
        cv2.resize(np.asarray(pred[t], dtype=dtype), (size[1], size[0]), dst=out[t], interpolation=RESIZES[resize])
    return out


def check_inputs(pred, gt, pred_kind: str, max_depth: float | None, min_depth: float, valid_mask) -> None:
    """Validate ``evaluate_sequence`` arguments; ``InputError`` naming the argument and the rule."""
    _check_choice("pred_kind", pred_kind, ("disparity", "depth"))
    if getattr(pred, "ndim", None) != 3:
        raise InputError(f"pred must be [T,H,W], got shape {getattr(pred, 'shape', None)}", "one map per frame")
    if getattr(gt, "ndim", None) != 3:
        raise InputError(f"gt must be [T,H,W], got shape {getattr(gt, 'shape', None)}", "one depth map per frame")
    if pred.shape[0] < gt.shape[0]:
        raise InputError(
            f"pred has {pred.shape[0]} frames but gt has {gt.shape[0]}", "predict every ground-truth frame"
        )
    if max_depth is not None and not max_depth > min_depth:
        raise InputError(f"max_depth={max_depth} must be > min_depth={min_depth}", "use the dataset's depth cap")
    if valid_mask is not None and (valid_mask.shape != gt.shape or valid_mask.dtype != np.bool_):
        raise InputError(
            f"valid_mask must be a bool array of shape {gt.shape}, got {valid_mask.dtype} {valid_mask.shape}",
            "pass one mask per GT pixel",
        )


def align_sequence(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    pred_kind: Literal["disparity", "depth"] = "disparity",
    max_depth: float | None,
    min_depth: float = 1e-3,
    alignment: str = "lstsq-disparity",
    per_frame: bool = False,
    valid_mask: np.ndarray | None = None,
) -> Alignment:
    """Fit the map from ``pred`` ``[T,H,W]`` (already at GT size) to ``gt`` ``[T,H,W]`` depth over valid pixels.

    Valid pixels: ``min_depth < gt < max_depth`` (and ``valid_mask`` when given). Returns an ``Alignment``; apply
    it with ``apply_alignment``. Raises ``InputError`` when no pixel of the video is valid.
    """
    _check_choice("alignment", alignment, ALIGNMENTS)
    _check_choice("pred_kind", pred_kind, ("disparity", "depth"))
    space = "disparity" if alignment == "lstsq-disparity" else "depth"
    no_valid = InputError(f"no valid ground-truth pixel in ({min_depth}, {max_depth})", "check the depth unit and cap")

    def result(st: np.ndarray) -> Alignment:  # [F, 2] (s, t) rows: one per frame, or one for the video
        s, t = (st[:, 0], st[:, 1]) if per_frame else (np.array(st[0, 0]), np.array(st[0, 1]))
        return Alignment(alignment, s, t, space, min_depth, max_depth)

    if alignment == "none":
        return result(np.tile([1.0, 0.0], (gt.shape[0], 1)))
    if alignment == "lstsq-disparity":
        # least squares of [x, 1] · [s, t] ≈ y, x = clip(disparity, 1e-3), y = 1 / (gt + 1e-8), from its sums
        sums, counts = engine.disparity_fit_sums(pred, gt, valid_mask, min_depth, max_depth, pred_kind)  # [T,4], [T]
        if counts.sum() == 0:
            raise no_valid
        if per_frame:
            return result(
                np.array([engine.lstsq_line(n, *row) if n else (np.nan, np.nan) for n, row in zip(counts, sums)])
            )
        return result(np.array([engine.lstsq_line(counts.sum(), *sums.sum(0))]))

    def fit(frames: slice) -> tuple[float, float]:  # depth-space fits: all valid pixels of ``frames`` at once
        p, y = engine.depth_values(pred, gt, frames, pred_kind, min_depth, max_depth, valid_mask)
        if not len(p):
            return np.nan, np.nan
        if alignment == "median-scale":
            return float(np.median(y) / max(float(np.median(p)), 1e-12)), 0.0
        return engine.l1_line(p, y)  # exact argmin Σ|s p + t - y|

    frame_ranges = [slice(t, t + 1) for t in range(gt.shape[0])] if per_frame else [slice(0, gt.shape[0])]
    st = np.array([fit(frames) for frames in frame_ranges])
    if np.all(np.isnan(st[:, 0])):
        raise no_valid
    return result(st)


def apply_alignment(
    pred: np.ndarray, align: Alignment, pred_kind: Literal["disparity", "depth"], frames: slice | None = None
) -> np.ndarray:
    """Aligned float64 depth ``[T',H,W]`` of ``pred`` (frames ``frames`` of the video, default all).

    ``lstsq-disparity``: ``clip(1 / clip(s * clip(disp, 1e-3) + t, 1e-3), min_depth, max_depth)``;
    depth-space methods: ``clip(s * depth + t, min_depth, max_depth)``.
    """
    frames = frames if frames is not None else slice(0, pred.shape[0])
    raw = np.asarray(pred[frames])
    p = engine.space_values(raw, pred_kind, align.pred_space, out=np.empty(raw.shape))
    s = align.scale if align.scale.ndim == 0 else align.scale[frames][:, None, None]
    t = align.shift if align.shift.ndim == 0 else align.shift[frames][:, None, None]
    return engine.aligned_depth(p, align, s, t)


def _metrics_from_sums(sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Metric name -> ``[T]`` float64 per-frame value from the per-frame sums ``[T, 7]`` of ``Σ|d-g|/g``,
    ``Σ(d-g)²/g``, ``Σ(d-g)²``, ``Σln²(d/g)`` and the counts of ``max(d/g, g/d) < 1.25^k`` (k = 1, 2, 3), and the
    valid counts ``[T]``: each sum over its count, the square root for the RMSEs (NaN for frames without a pixel)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]  # [T,7]
    values = {name: np.ascontiguousarray(means[:, i]) for i, name in enumerate(METRICS)}
    values["rmse"] = np.sqrt(values["rmse"])
    values["log_rmse"] = np.sqrt(values["log_rmse"])
    return values


def frame_metrics(depth: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-frame metrics of aligned ``depth`` vs ``gt`` (both ``[T,H,W]``, GT unit) over ``valid`` ``[T,H,W]``.

    Returns ``(values, counts)``: metric -> ``[T]`` float64 (NaN for frames without a valid pixel) and ``[T]`` int64
    valid-pixel counts.
    """
    counts = np.count_nonzero(valid.reshape(len(valid), -1), axis=1).astype(np.int64)
    sums = engine.error_sums(depth[valid], gt[valid], counts)  # [N] values, frames consecutive (C order)
    return _metrics_from_sums(sums, counts), counts


def region_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    align: Alignment,
    pred_kind: Literal["disparity", "depth"],
    valid_mask: np.ndarray | None,
    regions: dict[str, np.ndarray | None] | None = None,
) -> dict[str, SequenceMetrics]:
    """Steps 5–6 for each region mask ``[T,H,W]`` (``None`` = all valid pixels), with one alignment: per-frame
    metrics of the aligned ``pred`` (at GT size) over the valid pixels inside the region; frames without one are
    dropped."""
    out = {}
    for name, region in (regions if regions is not None else {"all": None}).items():
        sums, counts = engine.aligned_error_sums(pred, gt, (valid_mask, region), align, pred_kind)  # [T,7], [T]
        values = _metrics_from_sums(sums, counts)
        keep = np.flatnonzero(counts > 0)
        out[name] = SequenceMetrics(
            per_frame={m: values[m][keep] for m in METRICS},
            frames=keep,
            num_pixels=counts[keep],
            num_frames=gt.shape[0],
            alignment=align,
        )
    return out


def evaluate_sequence(
    pred: np.ndarray,
    gt: np.ndarray,
    *,
    pred_kind: Literal["disparity", "depth"] = "disparity",
    max_depth: float | None,
    min_depth: float = 1e-3,
    alignment: str = "lstsq-disparity",
    per_frame: bool = False,
    resize: Literal["nearest", "bilinear", "cubic"] = "bilinear",
    valid_mask: np.ndarray | None = None,
) -> SequenceMetrics:
    """Align one predicted video to GT and compute the standard metrics (DepthCrafter protocol by default).

    Args:
        pred: ``[T',h,w]`` prediction (affine-invariant disparity or depth, see ``pred_kind``); resized to the GT
            size; only the first ``T`` frames are used (``T' ≥ T``). May be a ``np.memmap``.
        gt: ``[T,H,W]`` GT depth (metres or the dataset's unit; invalid pixels ≤ ``min_depth``).
        pred_kind: what ``pred`` holds; depth is converted to disparity (``1/x``) for ``lstsq-disparity`` and
            disparity to depth for the depth-space alignments.
        max_depth: the dataset cap: valid pixels are ``gt < max_depth``, aligned depth is clipped to it;
            ``None`` = no cap (MonST3R on KITTI).
        min_depth: valid pixels are ``gt > min_depth``; aligned depth is clipped below at it.
        alignment: ``"lstsq-disparity"`` (DepthCrafter), ``"l1-depth"`` (MonST3R), ``"median-scale"``, ``"none"``.
        per_frame: one fit per frame instead of one per video.
        resize: interpolation of the prediction to the GT size (DepthCrafter: bilinear; the StereoDiff paper:
            nearest; MonST3R: cubic).
        valid_mask: optional ``[T,H,W]`` bool further restricting the pixels used for the fit and the metrics.

    Returns:
        ``SequenceMetrics``: frame-averaged fields, per-frame arrays, valid counts, and the fitted scale/shift.
    """
    check_inputs(pred, gt, pred_kind, max_depth, min_depth, valid_mask)
    pred, align = resize_and_align(pred, gt, pred_kind, max_depth, min_depth, alignment, per_frame, resize, valid_mask)
    # 3. per-frame metrics over the valid pixels
    return region_metrics(pred, gt, align, pred_kind, valid_mask)["all"]


def resize_and_align(
    pred, gt, pred_kind, max_depth, min_depth, alignment, per_frame, resize, valid_mask
) -> tuple[np.ndarray, Alignment]:
    """Steps 1–2 of the protocol: ``pred`` resized to the GT size (first ``T`` frames) and its fitted alignment."""
    _check_choice("resize", resize, RESIZES)
    # 1. resize to the GT size, keep the first T frames (DepthCrafter resizes, then cuts)
    pred = resize_prediction(pred[: gt.shape[0]], gt.shape[1:], resize)  # [T,H,W]
    # 2. one fit per video (or per frame)
    options = {"max_depth": max_depth, "min_depth": min_depth, "alignment": alignment, "per_frame": per_frame}
    return pred, align_sequence(pred, gt, pred_kind=pred_kind, valid_mask=valid_mask, **options)


def aggregate(
    results: list[SequenceMetrics],
    *,
    weighting: Literal["sequence", "pixel"] = "sequence",
    average: Literal["frame", "pixel"] = "frame",
) -> dict[str, float]:
    """Dataset-level metrics: the mean over sequences of each sequence's summary.

    ``weighting="sequence"``: unweighted (DepthCrafter / VDA); ``"pixel"``: weighted by each sequence's valid-pixel
    count (MonST3R). ``average`` chooses each sequence's own averaging (``SequenceMetrics.summary``).
    """
    _check_choice("weighting", weighting, ("sequence", "pixel"))
    if not results:
        raise InputError("no sequence to aggregate", "evaluate at least one sequence")
    summaries = [r.summary(average) for r in results]
    if weighting == "sequence":
        weights = np.ones(len(results))
    else:
        weights = np.array([r.num_pixels.sum() for r in results], dtype=np.float64)
    return {m: float(np.sum(weights * [s[m] for s in summaries]) / weights.sum()) for m in METRICS}
