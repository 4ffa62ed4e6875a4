"""Overlapping temporal windows: the schedule, and stitching per-window results back into one video.

The schedule is DepthCrafter's: windows of ``window`` frames advancing by ``stride = window - overlap`` while
``start < T - overlap``; the last window may be shorter; a video of at most ``window`` frames is one window.

Stitching works on any per-window arrays ``[n_k, ...]`` (latents, disparity, depth), numpy or torch:

* ``"crossfade"`` — DepthCrafter's "mortise-and-tenon" blend: on the frames a window shares with what is already
  stitched, the new window's weight rises linearly from 0 to 1 (``linspace(0, 1, overlap)``);
* ``"none"`` — a hard cut in the middle of each overlap (weights 0/1);
* ``"affine"`` — each window gets a scale and shift fitted by least squares on its overlap with the previous
  (already aligned) window, then cross-faded (Video-Depth-Anything / DVD style, window by window);
* ``"joint"`` — every window's scale and shift at once, in closed form: one sparse linear least-squares problem
  over all overlaps, with one window held fixed; then cross-faded.

The affine strategies only need sums over the overlaps, so they stream over windows without holding them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from stereodiff.progress import progress

__all__ = [
    "STITCH_STRATEGIES",
    "Window",
    "WindowStitcher",
    "fit_window_affines",
    "stitch_weights",
    "stitch_windows",
    "window_schedule",
]

Window = tuple[int, int]
StitchStrategy = Literal["crossfade", "affine", "joint", "none"]
STITCH_STRATEGIES: tuple[str, ...] = ("crossfade", "affine", "joint", "none")


def window_schedule(num_frames: int, window: int = 110, overlap: int = 25) -> list[Window]:
    """The ``(start, end)`` frame ranges of DepthCrafter's sliding windows (end exclusive).

    Args:
        num_frames: ``T`` ≥ 1.
        window: frames per window (≥ 1).
        overlap: frames shared by consecutive windows (``0 <= overlap < window``).

    Returns:
        ``[(0, min(window, T)), (stride, ...), ...]``; one window ``(0, T)`` when ``T <= window``.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must satisfy 0 <= overlap < window ({window}), got {overlap}")
    if num_frames <= window:
        return [(0, num_frames)]
    stride = window - overlap
    windows = []
    start = 0
    while start < num_frames - overlap:
        windows.append((start, min(start + window, num_frames)))
        start += stride
    return windows


def _check_windows(windows: Sequence[Window]) -> int:
    """Validate a schedule (contiguous coverage from 0, increasing starts); returns ``T``."""
    if not windows or windows[0][0] != 0:
        raise ValueError(f"windows must start at frame 0, got {list(windows)[:2]}")
    covered = 0
    for k, (start, end) in enumerate(windows):
        if end <= start or start > covered or end <= covered:
            raise ValueError(
                f"window {k} = ({start}, {end}) must be non-empty, overlap or touch the frames covered so far "
                f"(0..{covered}) and add new frames"
            )
        if k and start <= windows[k - 1][0]:
            raise ValueError(f"window starts must increase, got {windows[k - 1][0]} then {start}")
        covered = end
    return covered


def _ramp(shared: int, mode: str, like: Any) -> Any:
    """Weights of the new window on ``shared`` frames: ``linspace(0, 1)`` or a mid-overlap step, typed like ``like``."""
    if type(like).__module__.startswith("torch"):
        import torch

        if mode == "crossfade":
            return torch.linspace(0, 1, shared, dtype=like.dtype, device=like.device)
        return (torch.arange(shared, device=like.device) >= shared // 2).to(like.dtype)
    dtype = np.result_type(like.dtype, np.float32)
    if mode == "crossfade":
        return np.linspace(0.0, 1.0, shared, dtype=dtype)
    return (np.arange(shared) >= shared // 2).astype(dtype)


def stitch_weights(windows: Sequence[Window], mode: Literal["crossfade", "none"] = "crossfade") -> list[np.ndarray]:
    """Per-window blending weights ``w_k [n_k]`` (float64) with ``Σ_k w_k[f - start_k] = 1`` on every frame ``f``.

    These are the weights :class:`WindowStitcher` applies implicitly: windows are folded in order, like
    DepthCrafter; on the ``m`` frames a window shares with the frames stitched so far, the new window gets
    ``ramp[j]`` and everything stitched before is multiplied by ``1 - ramp[j]``, with ``ramp = linspace(0, 1, m)``
    (``"crossfade"``) or a step at ``m // 2`` (``"none"``: a hard cut mid-overlap).
    """
    if mode not in ("crossfade", "none"):
        raise ValueError(f"mode must be 'crossfade' or 'none', got {mode!r}")
    _check_windows(windows)
    weights = [np.zeros(end - start) for start, end in windows]
    weights[0][:] = 1.0
    covered = windows[0][1]
    for k in range(1, len(windows)):
        start, end = windows[k]
        shared = covered - start
        ramp = _ramp(shared, mode, np.zeros(0))
        for m in range(k):  # fade out every earlier contribution on the shared frames
            m_start, m_end = windows[m]
            lo, hi = max(start, m_start), min(covered, m_end)
            if lo < hi:
                weights[m][lo - m_start : hi - m_start] *= 1.0 - ramp[lo - start : hi - start]
        weights[k][:shared] = ramp
        weights[k][shared:] = 1.0
        covered = end
    return weights


class WindowStitcher:
    """Stream per-window arrays in schedule order; get back frames as soon as no later window touches them.

    ``add(k, x)`` folds window ``k`` into the running result (the new window's share of the frames stitched so
    far rises along the ramp, see :func:`stitch_weights`) and returns ``(first_frame, frames)``, the frames before
    the next window's start, which are final. ``pending`` holds the stitched frames a later window will blend with
    (DepthCrafter's ``latents_all[:, -overlap:]``). Memory: one window.
    """

    def __init__(self, windows: Sequence[Window], mode: Literal["crossfade", "none"] = "crossfade") -> None:
        if mode not in ("crossfade", "none"):
            raise ValueError(f"mode must be 'crossfade' or 'none', got {mode!r}")
        self.num_frames = _check_windows(windows)
        self.windows = list(windows)
        self.mode = mode
        self.next = 0
        self.pending_start = 0
        self.pending: Any = None  # stitched frames [pending_start, covered)

    def add(self, k: int, x: Any) -> tuple[int, Any]:
        """Fold window ``k`` (``[n_k, ...]``, numpy or torch) in; returns ``(first_frame, final frames [m, ...])``."""
        if k != self.next:
            raise ValueError(f"windows must be added in order: expected window {self.next}, got {k}")
        start, end = self.windows[k]
        if x.shape[0] != end - start:
            raise ValueError(f"window {k} = ({start}, {end}) needs {end - start} frames, got {x.shape[0]}")
        if self.pending is None:
            stitched = x
        else:
            shared = self.pending_start + self.pending.shape[0] - start
            ramp = _ramp(shared, self.mode, x).reshape(-1, *([1] * (x.ndim - 1)))
            blended = x[:shared] * ramp + self.pending[start - self.pending_start :] * (1 - ramp)
            stitched = _concat([self.pending[: start - self.pending_start], blended, x[shared:]])
            start = self.pending_start
        self.next += 1
        final_end = self.windows[k + 1][0] if k + 1 < len(self.windows) else end
        self.pending_start = final_end
        self.pending = stitched[final_end - start :]
        return start, stitched[: final_end - start]


def _concat(parts: list[Any]) -> Any:
    if type(parts[0]).__module__.startswith("torch"):
        import torch

        return torch.cat(parts)
    return np.concatenate(parts)


def _overlap_sums(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``[n, Σa, Σc, Σa², Σc², Σac]`` (float64) of two equally shaped arrays."""
    a = np.asarray(a, np.float64).ravel()
    c = np.asarray(c, np.float64).ravel()
    return np.array([a.size, a.sum(), c.sum(), a @ a, c @ c, a @ c])


def fit_window_affines(
    outputs: Sequence[Any], windows: Sequence[Window], *, mode: Literal["affine", "joint"] = "affine", fixed: int = 0
) -> np.ndarray:
    """Scale and shift per window that make overlapping windows agree, ``[K,2]`` float64 (``s_k``, ``b_k``).

    Args:
        outputs: per-window arrays ``[n_k, ...]`` (e.g. disparity ``[n_k,H,W]``); any array-like (memmap ok).
        windows: the schedule the outputs belong to.
        mode: ``"affine"``: window by window, ``s_k x_k + b_k`` fitted by least squares to the previous aligned
            window on their shared frames; ``"joint"``: all ``(s_k, b_k)`` at once minimising
            ``Σ_{pairs} Σ_{shared} (s_m x_m + b_m - s_k x_k - b_k)²`` with window ``fixed`` at ``(1, 0)``.
        fixed: the window held fixed (``mode="joint"``; ``"affine"`` always starts from window 0).

    Returns:
        ``[K,2]``; windows without any overlap keep ``(1, 0)``.
    """
    if mode not in ("affine", "joint"):
        raise ValueError(f"mode must be 'affine' or 'joint', got {mode!r}")
    _check_windows(windows)
    if len(outputs) != len(windows):
        raise ValueError(f"got {len(outputs)} outputs for {len(windows)} windows")
    num = len(windows)
    if not 0 <= fixed < num:
        raise ValueError(f"fixed must index a window (0..{num - 1}), got {fixed}")
    params = np.tile([1.0, 0.0], (num, 1))
    if num == 1:
        return params
    pairs = []  # (m, k, sums) for every pair of windows sharing frames
    for k in range(1, num):
        for m in range(k):
            lo, hi = windows[k][0], min(windows[m][1], windows[k][1])
            if lo < hi:
                a = outputs[m][lo - windows[m][0] : hi - windows[m][0]]
                c = outputs[k][lo - windows[k][0] : hi - windows[k][0]]
                pairs.append((m, k, _overlap_sums(a, c)))
    if mode == "affine":
        for m, k, (n, sa, sc, _saa, scc, sac) in pairs:
            if m != k - 1:
                continue
            s_m, b_m = params[m]
            # least squares of s·c + b ≈ s_m·a + b_m: normal equations in (s, b)
            lhs = np.array([[scc, sc], [sc, n]])
            rhs = np.array([s_m * sac + b_m * sc, s_m * sa + b_m * n])
            params[k] = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
        return params

    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    # residual r = s_m a + b_m - s_k c - b_k; unknowns u = [s_0, b_0, ..., s_K-1, b_K-1]. Gram blocks of r = g·u:
    rows, cols, vals = [], [], []
    for m, k, (n, sa, sc, saa, scc, sac) in pairs:
        blocks = {
            (m, m): [[saa, sa], [sa, n]],
            (k, k): [[scc, sc], [sc, n]],
            (m, k): [[-sac, -sa], [-sc, -n]],
            (k, m): [[-sac, -sc], [-sa, -n]],
        }
        for (i, j), block in blocks.items():
            for di in range(2):
                for dj in range(2):
                    rows.append(2 * i + di)
                    cols.append(2 * j + dj)
                    vals.append(block[di][dj])
    gram = coo_matrix((vals, (rows, cols)), shape=(2 * num, 2 * num)).tocsr()
    free = np.array([i for i in range(2 * num) if i // 2 != fixed])
    # fix u_fixed = (1, 0): move its column to the right-hand side; windows without overlaps get identity rows
    rhs = -gram[free][:, [2 * fixed]].toarray().ravel()
    system = gram[free][:, free].tolil()
    for i, index in enumerate(free):
        if system[i, i] == 0:  # a window that shares no frame with any other
            system[i, i] = 1.0
            rhs[i] = 1.0 if index % 2 == 0 else 0.0
    params.reshape(-1)[free] = spsolve(system.tocsc(), rhs)
    return params


def stitch_windows(
    outputs: Sequence[Any],
    windows: Sequence[Window],
    *,
    strategy: StitchStrategy = "crossfade",
    out: Any = None,
    fixed: int = 0,
) -> Any:
    """Blend per-window arrays into one ``[T, ...]`` array.

    Args:
        outputs: per-window arrays ``[n_k, ...]`` (numpy, memmap or torch; all of one kind).
        windows: the schedule (:func:`window_schedule`) the outputs belong to.
        strategy: ``"crossfade"`` | ``"affine"`` | ``"joint"`` | ``"none"`` (see the module docstring).
        out: optional preallocated ``[T, ...]`` array to write into (e.g. an ``np.memmap``).
        fixed: the window held fixed by ``"joint"``.

    Returns:
        ``out`` (or a new array) holding ``Σ_k w_k (s_k x_k + b_k)`` frame by frame.
    """
    if strategy not in STITCH_STRATEGIES:
        raise ValueError(f"strategy must be one of {STITCH_STRATEGIES}, got {strategy!r}")
    num_frames = _check_windows(windows)
    if len(outputs) != len(windows):
        raise ValueError(f"got {len(outputs)} outputs for {len(windows)} windows")
    params = (
        fit_window_affines(outputs, windows, mode=strategy, fixed=fixed)
        if strategy in ("affine", "joint")
        else np.tile([1.0, 0.0], (len(windows), 1))
    )
    stitcher = WindowStitcher(windows, "none" if strategy == "none" else "crossfade")
    for k, (x, (scale, shift)) in enumerate(
        progress(zip(outputs, params), desc="stitch windows", total=len(windows), unit="window")
    ):
        if not type(x).__module__.startswith("torch"):
            x = np.asarray(x)
        if scale != 1.0 or shift != 0.0:
            x = x * float(scale) + float(shift)
        first, final = stitcher.add(k, x)
        if out is None:
            out = _zeros_like(final, num_frames)
        out[first : first + final.shape[0]] = final
    return out


def _zeros_like(x: Any, num_frames: int) -> Any:
    if type(x).__module__.startswith("torch"):
        import torch

        return torch.zeros((num_frames, *x.shape[1:]), dtype=x.dtype, device=x.device)
    return np.zeros((num_frames, *x.shape[1:]), x.dtype)
