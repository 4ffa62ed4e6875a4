"""The speed engine behind ``stereodiff.eval.protocol`` (private): the same sums, in blocks and threads.

``protocol.py`` states the evaluation as the official ``eval.py`` does, on whole arrays. Done that way a 110-frame
640×480 video costs several float64 copies of 34 M pixels (~1 GB each); this module computes the same per-frame
sums without them:

- a video is split into frame chunks of about ``_TASK_PIXELS`` pixels, run in up to 4 threads (numpy releases the
  GIL), each chunk into blocks of about ``_BLOCK_PIXELS`` pixels whose float64 temporaries stay in the L2 cache;
- each block gathers its valid pixels once and reduces them to per-frame sums (``Σx, Σy, Σx², Σxy`` for the
  disparity fit; ``Σ|d-g|/g`` … and the δ counts for the metrics), so only ``[T, k]`` sums leave a block;
- the least-absolute-deviations fit (MonST3R's L1 alignment) is an exact bisection on the subgradient that
  partitions only the points whose residual may cross the median (``_BracketSlope``).

Results equal the whole-array formulas up to float64 summation order (``tests/test_eval_protocol.py`` checks both
against each other).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import partial
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from stereodiff.eval.protocol import Alignment

NUM_SUMS = 7  # columns of ``error_sums``: the order of ``protocol.METRICS``


_TASK_PIXELS = 1 << 20  # pixels per thread task (whole frames)
_BLOCK_PIXELS = 1 << 16  # pixels per block of a task: its float64 temporaries stay in the L2 cache


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


def space_values(raw: np.ndarray, kind: str, space: str, out: np.ndarray) -> np.ndarray:
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
    space_values(p, pred_kind, "disparity", out=x)
    np.divide(1.0, np.add(g, 1e-8, out=y, dtype=np.float64), out=y)
    sx, sy = _segment_sums(x, counts), _segment_sums(y, counts)
    return np.stack([sx, sy, _segment_dots(x, x, counts, tmp), _segment_dots(x, y, counts, tmp)], axis=1)


def depth_values(
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
    return space_values(p, pred_kind, "depth", out=np.empty(len(p))), g


def lstsq_line(n: float, sp: float, sy: float, spp: float, spy: float) -> tuple[float, float]:
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


def l1_line(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
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


def aligned_depth(p: np.ndarray, align: Alignment, scale, shift) -> np.ndarray:
    """Aligned depth of float64 predictions ``p`` already in ``align.pred_space`` (in place on ``p``)."""
    np.multiply(p, scale, out=p)
    np.add(p, shift, out=p)
    if align.method == "lstsq-disparity":
        np.maximum(p, 1e-3, out=p)
        np.divide(1.0, p, out=p)
    return np.clip(p, align.min_depth, align.max_depth, out=p)


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
    space_values(p, pred_kind, align.pred_space, out=d)
    s, t = align.scale, align.shift
    if s.ndim and len(counts) == 1:  # per-frame alignment, one frame: its factors
        s, t = s[frames.start], t[frames.start]
    elif s.ndim:  # per-frame alignment: the factors of each pixel's frame
        s, t = np.repeat(s[frames], counts), np.repeat(t[frames], counts)
    aligned_depth(d, align, s, t)
    np.copyto(g64, g)
    return _error_sums(d, g64, counts, scratch)


def disparity_fit_sums(
    pred: np.ndarray,
    gt: np.ndarray,
    valid_mask: np.ndarray | None,
    min_depth: float,
    max_depth: float | None,
    pred_kind: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``(sums [T, 4], counts [T])``: per-frame ``Σx, Σy, Σx², Σxy`` of the disparity fit over the valid pixels of
    ``[T,H,W]`` videos, with ``x = clip(disparity, 1e-3)`` and ``y = 1 / (gt + 1e-8)``, and the valid counts."""
    kernel = lambda p, g, n, frames, scratch: _fit_sums(p, g, n, pred_kind, scratch)  # noqa: E731
    return _per_frame_sums(pred, gt, (valid_mask,), min_depth, max_depth, kernel, 4)


def aligned_error_sums(
    pred: np.ndarray,
    gt: np.ndarray,
    masks: tuple[np.ndarray | None, ...],
    align: Alignment,
    pred_kind: str,
) -> tuple[np.ndarray, np.ndarray]:
    """``(sums [T, 7], counts [T])``: per-frame ``error_sums`` of ``pred`` aligned by ``align`` over the valid
    pixels (``align.min_depth < gt < align.max_depth`` and every ``[T,H,W]`` bool mask of ``masks``)."""
    kernel = partial(_aligned_error_sums, align=align, pred_kind=pred_kind)
    return _per_frame_sums(pred, gt, masks, align.min_depth, align.max_depth, kernel, NUM_SUMS)


def error_sums(d: np.ndarray, g: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``[f, 7]`` per-frame error sums (``_error_sums``) of aligned depth ``d [N]`` vs GT ``g [N]``, frames
    consecutive with lengths ``counts [f]``."""
    return _error_sums(np.asarray(d, dtype=np.float64), np.asarray(g, dtype=np.float64), counts, _Scratch())
