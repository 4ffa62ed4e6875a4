"""Pair graphs: which frames a stage-1 backend matches with which (and, for the geometric matcher, which pairs'
flows are composed from two shorter pairs: :func:`flow_plan`).

A scheme name selects the graph, as in DUSt3R/MonST3R's ``make_pairs``:

- ``swin-N``: every frame with the next ``N`` frames, wrapping around the end (loop closure);
  ``swin-N-noncyclic`` stops at the last frame. StereoDiff uses ``swin-2-noncyclic`` (434 directed pairs for 110
  frames).
- ``swinstride-N[-noncyclic]``: offsets ``1, 3, 5, …, 2N-1`` (MonST3R's default video graph, ``N = 5``).
- ``logwin-N[-noncyclic]``: offsets ``±1, ±2, ±4, …, ±2^(N-1)``.
- ``oneref-r``: frame ``r`` with every other frame.
- ``complete``: every unordered pair.

The forward half is produced in the official order (for the window schemes: the iteration order of a Python set of
``(min, max)`` tuples, which is deterministic for integers), then ``symmetrize`` appends the reversed pairs in the
same order, so pair ``k`` and pair ``k + P/2`` are the two directions of one edge. The order only matters for exact
tie-breaking parity with the official global alignment.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["FIBONACCI", "SCHEMES", "default_pairs", "fibonacci_start", "flow_plan", "make_pairs", "per_frame_pairs"]

SCHEMES = ("swin-N", "swin-N-noncyclic", "swinstride-N", "swinstride-N-noncyclic", "logwin-N", "logwin-N-noncyclic",
           "oneref-r", "complete")  # fmt: skip

_WINDOW = re.compile(r"^(swin|swinstride|logwin)-(\d+)(-noncyclic)?$")
_ONEREF = re.compile(r"^oneref-(\d+)$")


def _window_pairs(num_frames: int, offsets: list[int], cyclic: bool) -> list[tuple[int, int]]:
    """Unordered pairs ``(min, max)`` of every frame with ``frame + offset``, in set-iteration order."""
    edges: set[tuple[int, int]] = set()
    for i in range(num_frames):
        for offset in offsets:
            j = i + offset
            if cyclic:
                j %= num_frames
            if j < 0 or j >= num_frames or j == i:
                continue
            edges.add((i, j) if i < j else (j, i))
    return list(edges)


def make_pairs(num_frames: int, scheme: str = "swin-2-noncyclic", symmetrize: bool = True) -> np.ndarray:
    """The directed frame pairs of a pair-graph scheme.

    Args:
        num_frames: number of frames ``T`` (≥ 1). ``T = 1`` gives no pairs.
        scheme: one of ``swin-N``, ``swin-N-noncyclic``, ``swinstride-N[-noncyclic]``, ``logwin-N[-noncyclic]``,
            ``oneref-r``, ``complete`` (see the module docstring).
        symmetrize: append the reversed pairs ``(j, i)`` after the forward ones.

    Returns:
        ``[P,2]`` int64 frame indices ``(i, j)``, forward half first.

    Raises:
        ValueError: unknown scheme, a window of 0, or a scheme that does not fit ``num_frames`` (a cyclic window
            that wraps onto the frame itself, a reference frame outside the video).
    """
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    num_frames = int(num_frames)
    window = _WINDOW.match(scheme)
    oneref = _ONEREF.match(scheme)
    if window:
        kind, size, noncyclic = window.group(1), int(window.group(2)), window.group(3) is not None
        if size < 1:
            raise ValueError(f"scheme {scheme!r}: the window N must be ≥ 1")
        if kind == "swin":
            offsets = list(range(1, size + 1))
        elif kind == "swinstride":
            offsets = list(range(1, 2 * size, 2))
        else:
            offsets = [-(2**k) for k in range(size)] + [2**k for k in range(size)]
        reach = max(abs(o) for o in offsets)
        if not noncyclic and num_frames > 1 and reach >= num_frames:
            raise ValueError(
                f"scheme {scheme!r} does not fit {num_frames} frames: a cyclic window reaching {reach} frames ahead "
                f"wraps onto the frame itself; use a window < {num_frames} or '{kind}-{size}-noncyclic'"
            )
        forward = _window_pairs(num_frames, offsets, cyclic=not noncyclic)
    elif oneref:
        ref = int(oneref.group(1))
        if ref >= num_frames:
            raise ValueError(f"scheme {scheme!r} does not fit {num_frames} frames: the reference frame must be < T")
        forward = [(ref, j) for j in range(num_frames) if j != ref]
    elif scheme == "complete":
        forward = [(i, j) for i in range(num_frames) for j in range(i)]
    else:
        raise ValueError(f"unknown pair scheme {scheme!r}; expected one of {', '.join(SCHEMES)} (N, r integers)")
    if symmetrize:
        forward = forward + [(j, i) for i, j in forward]
    return np.array(forward, dtype=np.int64).reshape(-1, 2)


#: Fibonacci numbers: consecutive ones are coprime, so any two offsets of a run have no common factor.
FIBONACCI = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)


def default_pairs(num_frames: int, offsets: tuple[int, ...] | list[int]) -> np.ndarray:
    """``[P,2]`` symmetrised pairs ``(i, i+o)`` for every offset ``o < num_frames`` (forward half, then the
    reverses), with offset-1 and -2 pairs added when needed to connect the graph."""
    offsets = sorted({int(o) for o in offsets if 0 < o < num_frames})
    return _connected_pairs(num_frames, [(i, i + o) for o in offsets for i in range(num_frames - o)])


def fibonacci_start(needed: float, num_frames: int, count: int) -> int:
    """Index in :data:`FIBONACCI` of the first of ``count`` consecutive offsets: the first one ``≥ needed`` frames,
    or, when the video is shorter than that run, the run of the largest offsets that fit (``< num_frames``)."""
    start = next((k for k, f in enumerate(FIBONACCI) if f >= needed), len(FIBONACCI) - 1)
    fitting = sum(f < num_frames for f in FIBONACCI)
    if start + 1 > fitting:  # not even the smallest offset fits
        start = max(0, fitting - count)
    return start


def per_frame_pairs(step_parallax: np.ndarray, threshold: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs chosen by parallax frame by frame (local keyframe-style selection).

    Frame ``i`` is paired with ``i + f`` for ``count`` consecutive Fibonacci offsets ``f``, the first being the
    smallest whose accumulated parallax ``Σ_{t=i}^{i+f-1} step_parallax[t]`` reaches ``threshold`` (past the last
    frame the last step's parallax is extended): where the camera barely translates a frame reaches farther, where
    it moves fast nearer. For a constant parallax this is exactly :func:`default_pairs` of the offsets the
    whole-video rule chooses (``threshold / parallax`` frames). Offsets beyond the video are dropped (a frame near
    the end keeps the pairs of earlier frames that reach it); the video shorter than a frame's run gets the largest
    offsets that fit, as the whole-video rule. At most ``count`` forward pairs per frame (cost and disk linear in
    the length), symmetrised, deterministic, connected (offset-1/2 pairs added where needed).

    Args:
        step_parallax: ``[T-1]`` parallax of each step ``t → t+1`` (any unit, ≥ 0, finite).
        threshold: parallax the smallest offset of each frame should reach (same unit).
        count: offsets per frame (≥ 1).

    Returns:
        ``pairs [P,2]`` int64 (forward half sorted, then the reverses) and ``first [T]`` int64, each frame's
        smallest offset (before dropping the ones beyond the video).
    """
    step_parallax = np.asarray(step_parallax, np.float64)
    num_frames = len(step_parallax) + 1
    reach = FIBONACCI[-1]
    steps = np.concatenate([step_parallax, np.full(reach, step_parallax[-1] if len(step_parallax) else 0.0)])
    accumulated = np.concatenate([[0.0], np.cumsum(steps)])  # parallax from frame 0 to frame t
    first = np.zeros(num_frames, np.int64)
    forward = []
    for i in range(num_frames):
        k = next((k for k, f in enumerate(FIBONACCI) if accumulated[i + f] - accumulated[i] >= threshold), None)
        start = fibonacci_start(np.inf if k is None else FIBONACCI[k], num_frames, count)
        first[i] = FIBONACCI[start]
        forward += [(i, i + f) for f in FIBONACCI[start : start + count] if i + f < num_frames]
    return _connected_pairs(num_frames, forward), first


def _connected_pairs(num_frames: int, forward: list[tuple[int, int]]) -> np.ndarray:
    """``forward`` pairs ``(i, j)``, ``i < j``, sorted, with offset-1 then offset-2 pairs added when the graph is
    not connected, then their reverses: ``[P,2]`` int64."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    for extra in (1, 2):
        edges = np.array(forward, dtype=np.int64).reshape(-1, 2)
        graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(num_frames, num_frames))
        if connected_components(graph, directed=False)[0] == 1:
            break
        forward = forward + [(i, i + extra) for i in range(num_frames - extra)]
    forward = sorted(set(forward))
    return np.array(forward + [(j, i) for i, j in forward], dtype=np.int64).reshape(-1, 2)


def flow_plan(unordered: set[tuple[int, int]] | list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Which pairs get a composed flow: ``{(a, b): m}`` for each unordered pair ``(a, b)`` (``a < b``) whose flow
    is ``a → m → b`` through two pairs ``(a, m)``, ``(m, b)`` of the set that are computed directly.

    Pairs are taken by increasing length ``b − a``; a pair is composed when such a split exists (two hops only:
    the halves are never composed themselves), with the most balanced split (then the smallest ``m``). On the
    default Fibonacci graph every third offset is the sum of the two before it ({5, 8, 13}: 13 = 5 + 8), so DIS
    runs for 4 instead of 6 flows per frame. The matcher refines a composed flow by a variational pass, after which
    it was more accurate than the direct DIS flow on the rendered orbit (DIS's error grows with the displacement;
    see docs/geometric.md).
    """
    pairs = sorted({(int(a), int(b)) for a, b in unordered}, key=lambda p: (p[1] - p[0], p))
    direct: set[tuple[int, int]] = set()
    lengths: set[int] = set()
    plan: dict[tuple[int, int], int] = {}
    for a, b in pairs:
        splits = [a + d for d in lengths if d < b - a and (a, a + d) in direct and (a + d, b) in direct]
        if splits:
            plan[(a, b)] = min(splits, key=lambda m: (max(m - a, b - m), m))
        else:
            direct.add((a, b))
            lengths.add(b - a)
    return plan
