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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from queue import Empty, SimpleQueue
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

_TASK_PIXELS = 1 << 20  # pixels per thread task (whole frames)
_BLOCK_PIXELS = 1 << 16  # pixels per block of a task: its float64 temporaries stay in the L2 cache


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


def _frame_chunks(num_frames: int, frame_pixels: int) -> Iterator[slice]:
    """Consecutive frame ranges of about ``_TASK_PIXELS`` pixels (at least one frame each): the thread tasks."""
    step = max(1, _TASK_PIXELS // max(frame_pixels, 1))
    for start in range(0, num_frames, step):
        yield slice(start, min(start + step, num_frames))


def _blocks(frames: slice, height: int, width: int) -> Iterator[tuple[slice, slice]]:
    """``(frames, rows)`` blocks of about ``_BLOCK_PIXELS`` pixels tiling the frame range ``frames``: several whole
    frames per block when they fit, else bands of rows of one frame (so a block of a C-order video is contiguous)."""
    frame_pixels = height * width
    if frame_pixels <= _BLOCK_PIXELS:
        step = _BLOCK_PIXELS // max(frame_pixels, 1)
        for start in range(frames.start, frames.stop, step):
            yield slice(start, min(start + step, frames.stop)), slice(0, height)
        return
    band = max(1, _BLOCK_PIXELS // width)
    for t in range(frames.start, frames.stop):
        for row in range(0, height, band):
            yield slice(t, t + 1), slice(row, min(row + band, height))


class _Scratch:
    """Work buffers of one thread, grown on demand, so that blocks allocate no large temporaries.

    ``get(n)`` returns five ``[n]`` float64 buffers and one ``[n]`` bool buffer. By convention the callers of
    ``_error_sums`` keep their inputs in buffers 0 and 1, which it leaves alone (it uses 2, 3, 4 and the flags).
    """

    def __init__(self) -> None:
        self._values = np.empty((5, 0))
        self._flags = np.empty(0, dtype=np.bool_)

    def get(self, n: int) -> tuple[np.ndarray, ...]:
        if n > self._flags.size:
            self._values = np.empty((5, n))
            self._flags = np.empty(n, dtype=np.bool_)
        return (*self._values[:, :n], self._flags[:n])


def _map_chunks(fn: Callable[[slice, _Scratch], None], num_frames: int, frame_pixels: int) -> None:
    """Run ``fn(frames_slice, scratch)`` on every frame chunk, in up to 4 threads (numpy releases the GIL), each
    with its own ``_Scratch``. Each call writes its own rows of preallocated outputs, so results do not depend on the
    thread count."""
    chunks: SimpleQueue[slice] = SimpleQueue()
    for sl in _frame_chunks(num_frames, frame_pixels):
        chunks.put(sl)
    workers = min(4, os.cpu_count() or 1, chunks.qsize())

    def work(_: int) -> None:
        scratch = _Scratch()
        while True:
            try:
                sl = chunks.get_nowait()
            except Empty:
                return
            fn(sl, scratch)

    if workers <= 1:
        work(0)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(work, range(workers)):
            pass


def _frame_counts(valid: np.ndarray) -> np.ndarray:
    """``[f]`` int64 count of the true pixels of each frame of a ``[f,...]`` bool array."""
    if len(valid) == 1:  # a plain count is much faster than a count along an axis
        return np.array([np.count_nonzero(valid)], dtype=np.int64)
    return np.count_nonzero(valid.reshape(len(valid), -1), axis=1).astype(np.int64)


def _gather(
    pred: np.ndarray,
    gt: np.ndarray,
    frames: slice,
    rows: slice,
    masks: tuple[np.ndarray | None, ...],
    min_depth: float,
    max_depth: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw ``(p [N], g [N], counts [f])`` of the block ``(frames, rows)`` of ``[T,H,W]`` videos: prediction and GT
    at the valid pixels (``min_depth < gt < max_depth`` and every non-``None`` ``[T,H,W]`` bool mask of ``masks``),
    frame after frame, in their input dtypes, and the valid count of each of the block's ``f`` frames."""
    g = np.asarray(gt[frames, rows])  # [f,r,W]
    valid = g > min_depth
    if max_depth is not None:
        valid &= g < max_depth
    for mask in masks:
        if mask is not None:
            valid &= mask[frames, rows]
    counts = _frame_counts(valid)  # [f]
    p, g = np.asarray(pred[frames, rows]).reshape(-1), g.reshape(-1)
    if counts.sum() == g.size:  # every pixel valid: nothing to gather
        return p, g, counts
    index = np.flatnonzero(valid)  # [N]; gathering by index beats boolean masking on scattered masks
    return p.take(index), g.take(index), counts


def _space_values(raw: np.ndarray, kind: str, space: str, out: np.ndarray) -> np.ndarray:
    """Predictions ``raw`` of ``kind`` as float64 in ``space``, written to ``out`` (same shape) and returned.

    ``1/x`` where ``x > 0`` (else 0) when ``kind`` differs from ``space``; disparity is then clipped below at 1e-3
    (the protocol's ``clip(pred, 1e-3)``).
    """
    src = raw
    if kind != space:
        out.fill(0.0)
        src = np.divide(1.0, raw, out=out, where=raw > 0, dtype=np.float64)
    if space == "disparity":
        return np.maximum(src, 1e-3, out=out, dtype=np.float64)
    if src is not out:
        np.copyto(out, src)
    return out


def _segment_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[f]`` float64 sums of consecutive segments of ``values`` ``[N]`` with lengths ``counts`` ``[f]`` (0 for
    empty ones; booleans are counted)."""
    if len(counts) == 1:
        total = np.count_nonzero(values) if values.dtype == np.bool_ else values.sum()
        return np.array([total], dtype=np.float64)
    out = np.zeros(len(counts))
    filled = counts > 0
    if filled.any():
        starts = (np.cumsum(counts) - counts)[filled]
        out[filled] = np.add.reduceat(values, starts, dtype=np.float64)
    return out


def _segment_dots(a: np.ndarray, b: np.ndarray, counts: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """``[f]`` per-segment ``Σ a·b`` of ``[N]`` float64 arrays (segments as ``_segment_sums``); ``tmp``: ``[N]``
    float64 scratch. ``einsum``, not ``a @ b``: BLAS dots start their own threads, which busy-wait against ours."""
    if len(counts) == 1:
        return np.array([np.einsum("i,i->", a, b)])
    return _segment_sums(np.multiply(a, b, out=tmp), counts)


def _per_frame_sums(
    pred: np.ndarray,
    gt: np.ndarray,
    masks: tuple[np.ndarray | None, ...],
    min_depth: float,
    max_depth: float | None,
    kernel: Callable[[np.ndarray, np.ndarray, np.ndarray, slice, _Scratch], np.ndarray],
    columns: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(sums [T, columns] float64, counts [T] int64)`` over the valid pixels of ``[T,H,W]`` videos.

    Each block's raw valid values (``_gather``) go to ``kernel(p, g, counts, frames, scratch)``, which returns the
    ``[f, columns]`` sums of the block's frames; row bands of one frame add up. Frame chunks run in threads
    (``_map_chunks``), each writing its own rows of the outputs.
    """
    t_frames, h, w = gt.shape
    sums = np.zeros((t_frames, columns))
    counts = np.zeros(t_frames, dtype=np.int64)

    def task(frames: slice, scratch: _Scratch) -> None:
        for block_frames, rows in _blocks(frames, h, w):
            p, g, n = _gather(pred, gt, block_frames, rows, masks, min_depth, max_depth)
            counts[block_frames] += n
            if len(g):
                sums[block_frames] += kernel(p, g, n, block_frames, scratch)

    _map_chunks(task, t_frames, h * w)
    return sums, counts


def _fit_sums(p: np.ndarray, g: np.ndarray, counts: np.ndarray, pred_kind: str, scratch: _Scratch) -> np.ndarray:
    """``[f, 4]`` per-frame ``Σx, Σy, Σx², Σxy`` of the disparity fit from raw block values (``_gather``), with the
    float64 ``x = clip(disparity, 1e-3)`` and ``y = 1 / (gt + 1e-8)``."""
    x, y, tmp, *_ = scratch.get(len(g))
    _space_values(p, pred_kind, "disparity", out=x)
    np.divide(1.0, np.add(g, 1e-8, out=y, dtype=np.float64), out=y)
    sx, sy = _segment_sums(x, counts), _segment_sums(y, counts)
    return np.stack([sx, sy, _segment_dots(x, x, counts, tmp), _segment_dots(x, y, counts, tmp)], axis=1)


def _depth_values(
    pred: np.ndarray,
    gt: np.ndarray,
    frames: slice,
    pred_kind: str,
    min_depth: float,
    max_depth: float | None,
    valid_mask: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(p [N], g [N])``: float64 predicted depth and GT depth at the valid pixels of ``frames``, frame after frame
    (for the depth-space fits, which need all values at once)."""
    parts = [_gather(pred, gt, f, r, (valid_mask,), min_depth, max_depth) for f, r in _blocks(frames, *gt.shape[1:])]
    p = np.concatenate([part[0] for part in parts])
    g = np.concatenate([part[1] for part in parts], dtype=np.float64)
    return _space_values(p, pred_kind, "depth", out=np.empty(len(p))), g


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


def _residual_slope(p: np.ndarray, y: np.ndarray, s: float) -> float:
    """Subgradient ``-Σ sign(r - median(r)) p`` of the L1 profile cost at ``s``, with ``r = y - s p`` ``[N]``."""
    r = y - s * p
    return -float(np.einsum("i,i->", np.sign(r - np.median(r)), p))


def _order_statistic(values: np.ndarray, k: int, work: np.ndarray) -> float:
    """The ``k``-th smallest of ``values`` ``[N]``, partitioning a copy in the ``[N]`` scratch ``work``."""
    np.copyto(work, values)
    work.partition(k)
    return float(work[k])


def _median(values: np.ndarray, work: np.ndarray) -> float:
    """``np.median`` of ``values`` ``[N]``, partitioning a copy in the ``[N]`` scratch ``work``."""
    np.copyto(work, values)
    return float(np.median(work, overwrite_input=True))


class _BracketSlope:
    """``_residual_slope(p, y, s)`` for any ``s`` in ``[lo, hi]``, from the few points whose residual may cross the
    median there (the same value up to summation order).

    Each ``r_i(s) = y_i - s p_i`` lies between ``y_i - lo p_i`` and ``y_i - hi p_i``; order statistics grow with
    every value, so the two middle ones of ``r(s)`` (averaged by the median) lie between the lower middle of the
    interval starts and the upper middle of the interval ends (widened by a rounding bound). A point whose whole
    interval is above (below) that range keeps the sign +1 (-1) and only adds a constant; the median of ``r(s)``
    is an order statistic of the remaining points, shifted by the number of points below.
    """

    def __init__(self, p: np.ndarray, y: np.ndarray, lo: float, hi: float, work: np.ndarray) -> None:
        """``p``, ``y``: ``[N]`` float64; ``work``: ``[3, N]`` float64 scratch (fresh large arrays are slow to get)."""
        middle = np.array([(len(p) - 1) // 2, len(p) // 2])  # equal for an odd count
        high, low, work = work
        # [N] each: the ends of each residual's interval (y + (-lo p) is y - lo p exactly) where p >= 0
        np.add(y, np.multiply(p, -lo, out=high), out=high)
        np.add(y, np.multiply(p, -hi, out=low), out=low)
        flip = p < 0
        if flip.any():
            high[flip], low[flip] = low[flip], high[flip]
        largest = max(y.max(), -y.min()) + max(abs(lo), abs(hi)) * max(p.max(), -p.min())
        margin = 8 * np.finfo(np.float64).eps * largest  # bounds the rounding of y - s p
        below = high < _order_statistic(low, middle[0], work) - margin  # [N] sign -1 throughout the bracket
        above = low > _order_statistic(high, middle[1], work) + margin  # [N] sign +1 throughout
        self.constant = float(np.einsum("i,i->", above, p) - np.einsum("i,i->", below, p))  # (7x a masked sum)
        keep = ~np.logical_or(above, below, out=above)
        self.p, self.y = p[keep], y[keep]
        self.middle = middle - np.count_nonzero(below)

    def __call__(self, s: float) -> float:
        r = self.y - s * self.p
        part = np.partition(r, self.middle)
        median = (part[self.middle[0]] + part[self.middle[1]]) / 2  # as np.median of all the residuals
        return -(self.constant + float(np.einsum("i,i->", np.sign(r - median), self.p)))


_SlopeMaker = Callable[[float, float], Callable[[float], float]]  # (lo, hi) -> subgradient valid on [lo, hi]


def _l1_line(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Exact least-absolute-deviations fit ``y ≈ s p + t`` (float64).

    For a fixed ``s`` the best ``t`` is ``median(y - s p)``; the profile cost is convex in ``s`` with subgradient
    ``-Σ sign(y - s p - t) p``, so ``s`` is found by bisection on the subgradient's sign: first on a strided
    subsample of about 65536 points, then on all points inside a narrow bracket around that estimate, where
    ``_BracketSlope`` only sorts the points whose residual may cross the median.
    """

    def bracket(make_slope: _SlopeMaker, lo: float, hi: float) -> tuple[Callable[[float], float], float, float]:
        width = hi - lo
        for _ in range(60):  # widen until the subgradient changes sign inside
            slope = make_slope(lo, hi)
            if slope(lo) > 0:
                lo -= width
            elif slope(hi) < 0:
                hi += width
            else:
                return slope, lo, hi
            width *= 2
        return make_slope(lo, hi), lo, hi

    def bisect(slope: Callable[[float], float], lo: float, hi: float, steps: int) -> float:
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            if slope(mid) > 0:
                hi = mid
            else:
                lo = mid
        return 0.5 * (lo + hi)

    work = np.empty((3, len(p)))  # scratch for the medians and _BracketSlope
    s0 = _median(y, work[0]) / max(_median(p, work[0]), 1e-12)  # MonST3R's start (median scaling)
    width = max(abs(s0), 1e-6)
    stride = max(1, p.size // 65536)
    sub_p, sub_y = p[::stride], y[::stride]
    s = bisect(*bracket(lambda lo, hi: partial(_residual_slope, sub_p, sub_y), s0 - width, s0 + width), 36)
    if stride > 1:
        width = 1e-3 * max(abs(s), 1e-6)
        s = bisect(*bracket(lambda lo, hi: _BracketSlope(p, y, lo, hi, work), s - width, s + width), 24)
    residuals = np.subtract(y, np.multiply(p, s, out=work[0]), out=work[0])  # [N] y - s p
    return s, float(np.median(residuals, overwrite_input=True))


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
    t_frames = gt.shape[0]
    space = "disparity" if alignment == "lstsq-disparity" else "depth"
    no_valid = InputError(f"no valid ground-truth pixel in ({min_depth}, {max_depth})", "check the depth unit and cap")
    if alignment == "none":
        ones = np.ones(t_frames if per_frame else ())
        return Alignment(alignment, ones, ones * 0.0, space, min_depth, max_depth)

    if alignment == "lstsq-disparity":  # per frame: Σx, Σy, Σx², Σxy with y = 1 / (gt + 1e-8)
        sums, counts = _per_frame_sums(
            pred, gt, (valid_mask,), min_depth, max_depth,
            lambda p, g, n, frames, scratch: _fit_sums(p, g, n, pred_kind, scratch), 4,
        )  # fmt: skip
        if counts.sum() == 0:
            raise no_valid
        if per_frame:
            st = np.array([_lstsq_line(n, *row) if n > 0 else (np.nan, np.nan) for n, row in zip(counts, sums)])
            return Alignment(alignment, st[:, 0], st[:, 1], space, min_depth, max_depth)
        s, t = _lstsq_line(counts.sum(), *sums.sum(0))
        return Alignment(alignment, np.array(s), np.array(t), space, min_depth, max_depth)

    # depth-space fits need all valid pixels at once (per frame: one frame at a time)
    def fit(frames: slice) -> tuple[float, float]:
        p, y = _depth_values(pred, gt, frames, pred_kind, min_depth, max_depth, valid_mask)
        if not len(p):
            return np.nan, np.nan
        if alignment == "median-scale":
            return float(np.median(y) / max(float(np.median(p)), 1e-12)), 0.0
        return _l1_line(p, y)

    st = np.array([fit(slice(t, t + 1)) for t in range(t_frames)] if per_frame else [fit(slice(0, t_frames))])
    if np.all(np.isnan(st[:, 0])):
        raise no_valid
    if per_frame:
        return Alignment(alignment, st[:, 0], st[:, 1], space, min_depth, max_depth)
    return Alignment(alignment, np.array(st[0, 0]), np.array(st[0, 1]), space, min_depth, max_depth)


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
    raw = np.asarray(pred[frames])
    p = _space_values(raw, pred_kind, align.pred_space, out=np.empty(raw.shape))
    s = align.scale if align.scale.ndim == 0 else align.scale[frames][:, None, None]
    t = align.shift if align.shift.ndim == 0 else align.shift[frames][:, None, None]
    return _aligned_depth(p, align, s, t)


def _error_sums(d: np.ndarray, g: np.ndarray, counts: np.ndarray, scratch: _Scratch) -> np.ndarray:
    """``[f, 7]`` per-frame sums behind ``METRICS`` of aligned depth ``d [N]`` vs GT ``g [N]`` (float64, frames
    consecutive with lengths ``counts [f]``): ``Σ|d-g|/g, Σ(d-g)²/g, Σ(d-g)², Σln²(d/g)`` and the counts of
    ``max(d/g, g/d) < 1.25^k`` for k = 1, 2, 3. Uses buffers 2–4 and the flags of ``scratch``."""
    *_, diff, rel, tmp, flags = scratch.get(len(d))
    np.subtract(d, g, out=diff)
    np.divide(diff, g, out=rel)
    sq_rel, sq = _segment_dots(diff, rel, counts, tmp), _segment_dots(diff, diff, counts, tmp)
    abs_rel = _segment_sums(np.abs(rel, out=rel), counts)
    ratio = np.divide(d, g, out=diff)
    worst = np.maximum(ratio, np.divide(g, d, out=rel), out=rel)
    deltas = [_segment_sums(np.less(worst, 1.25**k, out=flags), counts) for k in (1, 2, 3)]
    log_ratio = np.log(ratio, out=ratio)
    return np.stack([abs_rel, sq_rel, sq, _segment_dots(log_ratio, log_ratio, counts, tmp), *deltas], axis=1)


def _metrics_from_sums(sums: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Metric name -> ``[T]`` float64 per-frame value from ``_error_sums`` totals ``[T, 7]`` and valid counts
    ``[T]`` (NaN for frames without a valid pixel)."""
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
    counts = _frame_counts(valid)
    d = np.asarray(depth[valid], dtype=np.float64)  # [N], frames consecutive (C order)
    g = np.asarray(gt[valid], dtype=np.float64)
    return _metrics_from_sums(_error_sums(d, g, counts, _Scratch()), counts), counts


def _aligned_error_sums(
    p: np.ndarray,
    g: np.ndarray,
    counts: np.ndarray,
    frames: slice,
    scratch: _Scratch,
    *,
    align: Alignment,
    pred_kind: str,
) -> np.ndarray:
    """``_error_sums`` of one block from its raw valid values (``_gather``): the prediction aligned by ``align``."""
    d, g64, *_ = scratch.get(len(g))
    _space_values(p, pred_kind, align.pred_space, out=d)
    s, t = align.scale, align.shift
    if s.ndim and len(counts) == 1:  # per-frame alignment, one frame: its factors
        s, t = s[frames.start], t[frames.start]
    elif s.ndim:  # per-frame alignment: the factors of each pixel's frame
        s, t = np.repeat(s[frames], counts), np.repeat(t[frames], counts)
    _aligned_depth(d, align, s, t)
    np.copyto(g64, g)
    return _error_sums(d, g64, counts, scratch)


def _sequence_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    align: Alignment,
    pred_kind: str,
    valid_mask: np.ndarray | None,
    regions: dict[str, np.ndarray | None] | None = None,
) -> dict[str, SequenceMetrics]:
    """Metrics for each region mask ``[T,H,W]`` (``None`` = all valid pixels), with one alignment."""
    regions = regions if regions is not None else {"all": None}
    kernel = partial(_aligned_error_sums, align=align, pred_kind=pred_kind)
    out = {}
    for name, region in regions.items():
        masks = (valid_mask, region)
        sums, counts = _per_frame_sums(pred, gt, masks, align.min_depth, align.max_depth, kernel, len(METRICS))
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
