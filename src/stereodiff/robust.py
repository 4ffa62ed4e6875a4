"""Robust statistics shared by the global alignment and the pair fusion, the RANSAC samples of the movers'
ground plane, the movers' vertical image scales (Theil–Sen), and the sub-step minimum of the self-calibration's cost
sweeps."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["choice_samples", "choice_triples", "parabola_vertex", "streamed_median", "theil_sen", "weighted_median"]


def parabola_vertex(a: float, b: float, c: float) -> float:
    """Where the parabola through three equally spaced values ``a, b, c`` (at −1, 0, +1 steps) has its vertex, in
    steps from the middle one, within ±1; 0 when the three are not convex (no minimum between them)."""
    curvature = a + c - 2 * b
    return float(np.clip(0.5 * (a - c) / curvature, -1.0, 1.0)) if curvature > 0 else 0.0


def _order_keys(values: np.ndarray) -> np.ndarray:
    """``[N]`` uint32 keys of the float32 ``values`` ``[N]`` in their numeric order (the sign bit set on
    non-negative values' bits, every bit flipped on negative ones')."""
    bits = np.ascontiguousarray(values, np.float32).view(np.uint32)
    return np.where(bits >> 31 == 1, ~bits, bits | np.uint32(1 << 31))


def _key_value(key: int) -> np.float32:
    """The float32 whose :func:`_order_keys` key is ``key``."""
    bits = key & 0x7FFFFFFF if key >> 31 else ~key & 0xFFFFFFFF
    return np.array([bits], np.uint32).view(np.float32)[0]


def _ranked(histogram: np.ndarray, rank: int) -> tuple[int, int]:
    """The bin of ``histogram`` ``[B]`` (counts) holding the value of 0-based ``rank`` in bin order, and that
    value's rank inside the bin."""
    cumulative = np.cumsum(histogram)
    index = int(np.searchsorted(cumulative, rank, side="right"))
    return index, rank - (int(cumulative[index - 1]) if index else 0)


def streamed_median(chunks: Callable[[], Iterable[np.ndarray]]) -> float:
    """``np.median`` of the float32 values of every chunk ``chunks()`` yields (each ``[N_i]``), bit for bit, in
    memory flat in their number: two passes (each a new call of ``chunks``) select the middle values by the high,
    then the low 16 bits of their order keys; NaN when a value is NaN or there is none."""
    high, count = np.zeros(1 << 16, np.int64), 0
    for chunk in chunks():
        if np.isnan(chunk).any():
            return float("nan")
        high += np.bincount(_order_keys(chunk) >> 16, minlength=1 << 16)
        count += chunk.size
    if count == 0:
        return float("nan")
    ranks = sorted({(count - 1) // 2, count // 2})
    bins = [_ranked(high, rank) for rank in ranks]  # (high 16 bits, rank among the values with them)
    low = {top: np.zeros(1 << 16, np.int64) for top, _ in bins}
    for chunk in chunks():
        keys = _order_keys(chunk)
        for top, histogram in low.items():
            histogram += np.bincount(keys[keys >> 16 == top] & 0xFFFF, minlength=1 << 16)
    middle = [_key_value(top << 16 | _ranked(low[top], rank)[0]) for top, rank in bins]
    return float(np.median(np.array(middle, np.float32)))


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``[...]`` weighted median along the last axis of ``values``/``weights`` ``[..., N]`` (weights ≥ 0 with a
    positive sum): the smallest value whose cumulative weight (in value order) reaches half the total."""
    order = np.argsort(values, axis=-1)
    values = np.take_along_axis(values, order, axis=-1)
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=-1), axis=-1)
    index = np.minimum((cumulative < 0.5 * cumulative[..., -1:]).sum(axis=-1), values.shape[-1] - 1)
    return np.take_along_axis(values, index[..., None], axis=-1)[..., 0]


def theil_sen(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, gap: float, samples: int = 3000) -> float:
    """Robust slope of ``y`` against ``x`` ``[N]``: the median of the slopes of random pairs at least ``gap`` apart
    in ``x`` (NaN with fewer than 30 such pairs); tolerates ~30 % outliers (static pixels joined to a mover)."""
    i, j = rng.integers(0, len(x), samples), rng.integers(0, len(x), samples)
    dx = x[i] - x[j]
    apart = np.abs(dx) >= gap
    if np.count_nonzero(apart) < 30:
        return float("nan")
    return float(np.median((y[i] - y[j])[apart] / dx[apart]))


def choice_triples(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """``[count,3]`` int64: ``np.stack([rng.choice(n, 3, replace=False) for _ in range(count)])``, the same values
    and the same generator state afterwards, ~30× faster (the minimal samples of a RANSAC over ``n`` points):
    :func:`choice_samples` of 3."""
    return choice_samples(rng, n, 3, count)


def choice_samples(rng: np.random.Generator, n: int, k: int, count: int) -> np.ndarray:
    """``[count,k]`` int64 (``k`` 2 or 3): ``np.stack([rng.choice(n, k, replace=False) for _ in range(count)])``,
    the same values and the same generator state afterwards (2: ~20× faster for 200 samples).

    ``Generator.choice`` draws ``k`` of ``n`` by Floyd's algorithm (``k`` Lemire-bounded draws from the bit
    generator's 32-bit stream, each replaced by its range's top when already taken), then shuffles them (``k − 1``
    more bounded draws): ``2k − 1`` words of the stream per sample, unless a Lemire draw is rejected (a chance of
    ~``n / 2³²`` per draw). Here the words of all samples are taken at once from a PCG64 generator and those steps
    run on arrays; with another bit generator, a rejected draw, or a numpy whose ``choice`` draws differently
    (checked once per process and ``k``), the loop of ``choice`` calls itself runs."""
    if k not in (2, 3):
        raise ValueError(f"choice_samples draws 2 or 3 of n, got k={k}")
    if not (_vectorised_choice_matches(k) and k < n < 2**32 and count > 0):
        return _choice_loop(rng, n, count, k)
    samples = _choice_arrays(rng, n, count, k)
    return _choice_loop(rng, n, count, k) if samples is None else samples


def _choice_loop(rng: np.random.Generator, n: int, count: int, k: int = 3) -> np.ndarray:
    """``[count,k]``: ``count`` calls of ``rng.choice(n, k, replace=False)`` (what :func:`choice_samples` gives)."""
    return np.stack([rng.choice(n, k, replace=False) for _ in range(count)]).reshape(count, k)


def _choice_arrays(rng: np.random.Generator, n: int, count: int, k: int = 3) -> np.ndarray | None:
    """:func:`choice_samples` on arrays, or None (generator untouched) when the generator is not PCG64 or a draw
    would be rejected."""
    bitgen = rng.bit_generator
    state = bitgen.state
    if state["bit_generator"] != "PCG64":
        return None
    width = 2 * k - 1  # 32-bit words per sample: k for Floyd's draws, k − 1 for the shuffle
    needed = width * count
    buffered = np.array([state["uinteger"]] if state["has_uint32"] else [], np.uint32)  # the upper half kept back
    raw = bitgen.random_raw(-(-(needed - len(buffered)) // 2))  # uint64: lower 32 bits first, then upper
    words = np.concatenate([buffered, raw.astype("<u8").view("<u4")])
    # inclusive upper bounds of the draws: Floyd's n − k … n − 1, then the shuffle's k − 1 … 1
    ranges = np.array([n - k + i for i in range(k)] + list(range(k - 1, 0, -1)), np.uint64)
    scaled = words[:needed].reshape(count, width).astype(np.uint64) * (ranges + 1)
    low = scaled & np.uint64(0xFFFFFFFF)
    if (low < (np.uint64(0xFFFFFFFF) - ranges) % (ranges + 1)).any():  # Lemire's rejection: redrawn by choice
        bitgen.state = state
        return None
    drawn = (scaled >> np.uint64(32)).astype(np.int64)  # [count,2k-1]
    picked: list[np.ndarray] = []
    for i in range(k):  # Floyd: a value already taken is replaced by the draw's bound
        value = drawn[:, i]
        if picked:
            taken = np.zeros(count, bool)
            for earlier in picked:
                taken |= value == earlier
            value = np.where(taken, n - k + i, value)
        picked.append(value)
    samples = np.stack(picked, axis=1)
    rows = np.arange(count)
    for position in range(k - 1, 0, -1):  # the shuffle: position i swapped with a draw in [0, i]
        other = drawn[:, k + (k - 1 - position)]
        taken = samples[rows, other]
        samples[rows, other] = samples[:, position]
        samples[:, position] = taken
    spare = words[needed:]  # an odd word left: the generator keeps it for its next 32-bit draw
    kept = int(spare[0] if spare.size else words[-1])  # numpy leaves the last upper half there when none is kept
    bitgen.state = {**bitgen.state, "has_uint32": int(spare.size), "uinteger": kept}
    return samples


@functools.cache
def _vectorised_choice_matches(k: int = 3) -> bool:
    """Whether :func:`_choice_arrays` reproduces this numpy's ``Generator.choice`` of ``k`` (values and state)."""
    for seed, n in ((0, 100), (1, 4000), (2, 2**20)):
        reference, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        reference.integers(2**31), fast.integers(2**31)  # a 32-bit word kept back for the next draw
        expected = _choice_loop(reference, n, 64, k)
        got = _choice_arrays(fast, n, 64, k)
        if got is None or not np.array_equal(got, expected) or fast.integers(2**62) != reference.integers(2**62):
            return False
    return True
