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
least-absolute-deviations fit by iteratively reweighted least squares), ``"median-scale"`` (depth-space
``median(gt) / median(pred)``, no shift), ``"none"`` (the prediction is metric depth). ``per_frame=True`` fits one
``(s, t)`` per frame instead of per video (the paper's §4.1.3 counter-example: it hides temporal inconsistency).

Metrics (all on depth in the GT unit, strict ``<`` for the δ thresholds):
``abs_rel = mean(|d - g| / g)``, ``sq_rel = mean((d - g)^2 / g)``, ``rmse = sqrt(mean((d - g)^2))``,
``log_rmse = sqrt(mean((ln d - ln g)^2))``, ``delta_k = mean(max(d / g, g / d) < 1.25^k)``.

``SequenceMetrics`` keeps the per-frame values and valid-pixel counts, so both averages exist without recomputing:
the frame mean (DepthCrafter / VDA) and the pixel-pooled value over the whole video (MonST3R). ``aggregate``
averages sequences unweighted (DepthCrafter) or weighted by valid-pixel count (MonST3R).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from stereodiff.errors import InputError

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

_CHUNK_PIXELS = 1 << 18  # pixels per processing chunk: bounded memory, cache-friendly


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
        out[t] = cv2.resize(np.asarray(pred[t], dtype=dtype), (size[1], size[0]), interpolation=RESIZES[resize])
    return out


def _frame_chunks(num_frames: int, frame_pixels: int):
    step = max(1, _CHUNK_PIXELS // max(frame_pixels, 1))
    for start in range(0, num_frames, step):
        yield slice(start, min(start + step, num_frames))


def _map_chunks(fn, num_frames: int, frame_pixels: int) -> None:
    """Run ``fn(frames_slice)`` on every frame chunk, in up to 4 threads (numpy releases the GIL); each call writes
    its own rows of preallocated outputs, so results do not depend on the thread count."""
    chunks = list(_frame_chunks(num_frames, frame_pixels))
    workers = min(4, os.cpu_count() or 1, len(chunks))
    if workers <= 1:
        for sl in chunks:
            fn(sl)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(fn, chunks):
            pass


def _valid_mask(gt: np.ndarray, min_depth: float, max_depth: float | None, extra: np.ndarray | None) -> np.ndarray:
    valid = gt > min_depth
    if max_depth is not None:
        valid &= gt < max_depth
    if extra is not None:
        valid &= extra
    return valid


def _to_space(pred: np.ndarray, kind: str, space: str) -> np.ndarray:
    """Convert float64 predictions of ``kind`` to ``space`` (``1/x`` where ``x > 0``, else 0)."""
    if kind == space:
        return pred
    out = np.zeros_like(pred)
    np.divide(1.0, pred, out=out, where=pred > 0)
    return out


def _lstsq_line(n: float, sp: float, sy: float, spp: float, spy: float) -> tuple[float, float]:
    """Least-squares ``y ≈ s p + t`` from the sums ``n, Σp, Σy, Σp², Σpy``; min-norm solution if ``p`` is constant.

    Matches ``np.linalg.lstsq([p, 1], y)`` (which returns the minimum-norm solution for a constant ``p``).
    """
    mp, my = sp / n, sy / n
    var = spp - n * mp * mp
    if var > 1e-12 * spp:
        s = (spy - n * mp * my) / var
        return s, my - s * mp
    return mp * my / (mp * mp + 1.0), my / (mp * mp + 1.0)  # min-norm solution of [c, 1] @ [s, t] = ybar


def _l1_line(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Exact least-absolute-deviations fit ``y ≈ s p + t`` (float64).

    For a fixed ``s`` the best ``t`` is ``median(y - s p)``; the profile cost is convex in ``s`` with subgradient
    ``-Σ sign(y - s p - t) p``, so ``s`` is found by bisection on the subgradient's sign: first on a strided
    1/16 subsample, then on all points inside a narrow bracket around that estimate.
    """

    def slope(q: np.ndarray, z: np.ndarray, s: float) -> float:
        r = z - s * q
        return -float(np.sign(r - np.median(r)) @ q)

    def bracket(q: np.ndarray, z: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
        width = hi - lo
        for _ in range(60):  # widen until the subgradient changes sign inside
            if slope(q, z, lo) > 0:
                lo -= width
            elif slope(q, z, hi) < 0:
                hi += width
            else:
                break
            width *= 2
        return lo, hi

    def bisect(q: np.ndarray, z: np.ndarray, lo: float, hi: float, steps: int) -> float:
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            if slope(q, z, mid) > 0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    s0 = float(np.median(y) / max(float(np.median(p)), 1e-12))  # MonST3R's start (median scaling)
    width = max(abs(s0), 1e-6)
    stride = max(1, p.size // 65536)
    sub_p, sub_y = p[::stride], y[::stride]
    s = bisect(sub_p, sub_y, *bracket(sub_p, sub_y, s0 - width, s0 + width), 36)
    if stride > 1:
        width = 1e-3 * max(abs(s), 1e-6)
        s = bisect(p, y, *bracket(p, y, s - width, s + width), 24)
    return s, float(np.median(y - s * p))


def _valid_values(
    pred: np.ndarray,
    gt: np.ndarray,
    sl: slice,
    pred_kind: str,
    space: str,
    min_depth: float,
    max_depth: float | None,
    extra: tuple[np.ndarray | None, ...] = (),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(p [N], g [N], counts [t])`` of frames ``sl``: float64 prediction in ``space`` (disparity clipped at 1e-3)
    and GT depth at the valid pixels, frame after frame, and the valid count per frame. ``extra``: further
    ``[T,H,W]`` bool masks (``None`` entries ignored)."""
    g_frames = gt[sl]
    valid = _valid_mask(g_frames, min_depth, max_depth, None)
    for mask in extra:
        if mask is not None:
            valid &= mask[sl]
    counts = np.count_nonzero(valid.reshape(valid.shape[0], -1), axis=1).astype(np.int64)
    index = np.flatnonzero(valid)  # [N]; gathering by index beats boolean masking on scattered masks
    p = np.take(np.asarray(pred[sl]).reshape(-1), index).astype(np.float64)
    p = _to_space(p, pred_kind, space)
    if space == "disparity":
        np.maximum(p, 1e-3, out=p)
    return p, np.take(np.asarray(g_frames).reshape(-1), index).astype(np.float64), counts


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
    t_frames, h, w = gt.shape
    space = "disparity" if alignment == "lstsq-disparity" else "depth"
    no_valid = InputError(f"no valid ground-truth pixel in ({min_depth}, {max_depth})", "check the depth unit and cap")
    if alignment == "none":
        ones = np.ones(t_frames if per_frame else ())
        return Alignment(alignment, ones, ones * 0.0, space, min_depth, max_depth)

    def values(sl: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _valid_values(pred, gt, sl, pred_kind, space, min_depth, max_depth, (valid_mask,))

    if alignment == "lstsq-disparity":
        sums = np.zeros((t_frames, 5))  # per frame: n, Σp, Σy, Σp², Σpy  with y = 1 / (gt + 1e-8)

        def chunk_sums(sl: slice) -> None:
            p, g, counts = values(sl)
            y = np.divide(1.0, np.add(g, 1e-8, out=g), out=g)  # [N]
            sums[sl, 0] = counts
            if per_frame:
                for col, v in enumerate((p, y, p * p, p * y), start=1):
                    sums[sl, col] = _segment_sums(v, counts)
            else:  # only the video totals matter: BLAS dots, stored on the chunk's first frame
                sums[sl.start, 1:] = p.sum(), y.sum(), p @ p, p @ y

        _map_chunks(chunk_sums, t_frames, h * w)
        if sums[:, 0].sum() == 0:
            raise no_valid
        if per_frame:
            st = np.array([_lstsq_line(*row) if row[0] > 0 else (np.nan, np.nan) for row in sums])
            return Alignment(alignment, st[:, 0], st[:, 1], space, min_depth, max_depth)
        s, t = _lstsq_line(*sums.sum(0))
        return Alignment(alignment, np.array(s), np.array(t), space, min_depth, max_depth)

    # depth-space fits need all valid pixels at once (per frame: one frame at a time)
    def fit(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        if not len(p):
            return np.nan, np.nan
        if alignment == "median-scale":
            return float(np.median(y) / max(float(np.median(p)), 1e-12)), 0.0
        return _l1_line(p, y)

    if per_frame:
        st = np.array([fit(*values(slice(t, t + 1))[:2]) for t in range(t_frames)])
        if np.all(np.isnan(st[:, 0])):
            raise no_valid
        return Alignment(alignment, st[:, 0], st[:, 1], space, min_depth, max_depth)
    parts = [values(sl)[:2] for sl in _frame_chunks(t_frames, h * w)]  # (median-scale / L1 need all at once)
    p = np.concatenate([a for a, _ in parts])
    if not len(p):
        raise no_valid
    s, t = fit(p, np.concatenate([b for _, b in parts]))
    return Alignment(alignment, np.array(s), np.array(t), space, min_depth, max_depth)


def _aligned_depth(p: np.ndarray, align: Alignment, scale, shift) -> np.ndarray:
    """Aligned depth of float64 predictions ``p`` already in ``align.pred_space`` (in place on ``p``)."""
    np.multiply(p, scale, out=p)
    np.add(p, shift, out=p)
    if align.method == "lstsq-disparity":
        np.maximum(p, 1e-3, out=p)
        np.divide(1.0, p, out=p)
    return np.clip(p, align.min_depth, align.max_depth, out=p)


def apply_alignment(
    pred: np.ndarray, align: Alignment, pred_kind: Literal["disparity", "depth"], frames: slice | None = None
) -> np.ndarray:
    """Aligned float64 depth ``[T',H,W]`` of ``pred`` (frames ``frames`` of the video, default all).

    ``lstsq-disparity``: ``clip(1 / clip(s * clip(disp, 1e-3) + t, 1e-3), min_depth, max_depth)``;
    depth-space methods: ``clip(s * depth + t, min_depth, max_depth)``.
    """
    frames = frames if frames is not None else slice(0, pred.shape[0])
    p = _to_space(np.array(pred[frames], dtype=np.float64), pred_kind, align.pred_space)
    if align.pred_space == "disparity":
        np.maximum(p, 1e-3, out=p)
    s = align.scale if align.scale.ndim == 0 else align.scale[frames][:, None, None]
    t = align.shift if align.shift.ndim == 0 else align.shift[frames][:, None, None]
    return _aligned_depth(p, align, s, t)


def _segment_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[T]`` float64 sums of consecutive segments of ``values`` with lengths ``counts`` (0 for empty ones)."""
    ends = np.cumsum(counts)
    if values.dtype == np.bool_:  # count_nonzero is far faster than a float sum of booleans
        return np.array([np.count_nonzero(values[e - n : e]) for n, e in zip(counts, ends)], dtype=np.float64)
    return np.array([values[e - n : e].sum() for n, e in zip(counts, ends)], dtype=np.float64)


def _metric_values(d: np.ndarray, g: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Per-frame metrics from aligned depth ``d [N]`` and GT ``g [N]`` (frames consecutive, lengths ``counts``)."""
    diff = d - g
    sq = diff * diff
    ratio = d / g
    worst = np.maximum(ratio, g / d)
    log_ratio = np.log(ratio)
    sums = {
        "abs_rel": _segment_sums(np.divide(np.abs(diff, out=diff), g, out=diff), counts),
        "sq_rel": _segment_sums(sq / g, counts),
        "rmse": _segment_sums(sq, counts),
        "log_rmse": _segment_sums(np.square(log_ratio, out=log_ratio), counts),
        "delta1": _segment_sums(worst < 1.25, counts),
        "delta2": _segment_sums(worst < 1.25**2, counts),
        "delta3": _segment_sums(worst < 1.25**3, counts),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        values = {name: v / counts for name, v in sums.items()}
    values["rmse"] = np.sqrt(values["rmse"])
    values["log_rmse"] = np.sqrt(values["log_rmse"])
    return values


def frame_metrics(depth: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-frame metrics of aligned ``depth`` vs ``gt`` (both ``[T,H,W]``, GT unit) over ``valid`` ``[T,H,W]``.

    Returns ``(values, counts)``: metric -> ``[T]`` float64 (NaN for frames without a valid pixel) and ``[T]`` int64
    valid-pixel counts.
    """
    counts = valid.reshape(valid.shape[0], -1).sum(1).astype(np.int64)
    d = np.asarray(depth[valid], dtype=np.float64)  # [N], frames consecutive (C order)
    g = np.asarray(gt[valid], dtype=np.float64)
    return _metric_values(d, g, counts), counts


def _sequence_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    align: Alignment,
    pred_kind: str,
    valid_mask: np.ndarray | None,
    regions: dict[str, np.ndarray | None] | None = None,
) -> dict[str, SequenceMetrics]:
    """Metrics for each region mask ``[T,H,W]`` (``None`` = all valid pixels), in frame chunks; one alignment."""
    regions = regions if regions is not None else {"all": None}
    t_frames, h, w = gt.shape
    values = {name: {m: np.empty(t_frames) for m in METRICS} for name in regions}
    counts = {name: np.zeros(t_frames, dtype=np.int64) for name in regions}

    def chunk_metrics(sl: slice) -> None:
        for name, region in regions.items():
            extra = (valid_mask, region)
            p, g, n = _valid_values(pred, gt, sl, pred_kind, align.pred_space, align.min_depth, align.max_depth, extra)
            s, t = align.scale, align.shift
            if s.ndim:  # per-frame alignment: the factors of each pixel's frame
                s, t = np.repeat(s[sl], n), np.repeat(t[sl], n)
            vals = _metric_values(_aligned_depth(p, align, s, t), g, n)
            for m in METRICS:
                values[name][m][sl] = vals[m]
            counts[name][sl] = n

    _map_chunks(chunk_metrics, t_frames, h * w)
    out = {}
    for name in regions:
        keep = np.flatnonzero(counts[name] > 0)
        out[name] = SequenceMetrics(
            per_frame={m: values[name][m][keep] for m in METRICS},
            frames=keep,
            num_pixels=counts[name][keep],
            num_frames=t_frames,
            alignment=align,
        )
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
    return _sequence_metrics(pred, gt, align, pred_kind, valid_mask)["all"]


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
