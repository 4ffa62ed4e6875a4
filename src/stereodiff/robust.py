"""Robust statistics shared by the global alignment and the pair fusion, the RANSAC samples of the movers'
ground plane, the movers' vertical image scales (Theil–Sen), and the sub-step minimum of the self-calibration's cost
sweeps."""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["choice_triples", "parabola_vertex", "theil_sen", "weighted_median"]


def parabola_vertex(a: float, b: float, c: float) -> float:
    """Where the parabola through three equally spaced values ``a, b, c`` (at −1, 0, +1 steps) has its vertex, in
    steps from the middle one, within ±1; 0 when the three are not convex (no minimum between them)."""
    curvature = a + c - 2 * b
    return float(np.clip(0.5 * (a - c) / curvature, -1.0, 1.0)) if curvature > 0 else 0.0


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
    and the same generator state afterwards, ~30× faster (the minimal samples of a RANSAC over ``n`` points).

    ``Generator.choice`` draws 3 of ``n`` by Floyd's algorithm (3 Lemire-bounded draws from the bit generator's
    32-bit stream, each replaced by its range's top when already taken), then shuffles them (2 more bounded draws):
    5 words of the stream per sample, unless a Lemire draw is rejected (a chance of ~``n / 2³²`` per draw). Here the
    words of all samples are taken at once from a PCG64 generator and those steps run on arrays; with another bit
    generator, a rejected draw, or a numpy whose ``choice`` draws differently (checked once per process), the
    loop of ``choice`` calls itself runs."""
    if not (_vectorised_choice_matches() and 3 < n < 2**32 and count > 0):
        return _choice_loop(rng, n, count)
    triples = _choice_triples(rng, n, count)
    return _choice_loop(rng, n, count) if triples is None else triples


def _choice_loop(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """``[count,3]``: ``count`` calls of ``rng.choice(n, 3, replace=False)`` (what :func:`choice_triples` gives)."""
    return np.stack([rng.choice(n, 3, replace=False) for _ in range(count)]).reshape(count, 3)


def _choice_triples(rng: np.random.Generator, n: int, count: int) -> np.ndarray | None:
    """:func:`choice_triples` on arrays, or None (generator untouched) when the generator is not PCG64 or a draw
    would be rejected."""
    bitgen = rng.bit_generator
    state = bitgen.state
    if state["bit_generator"] != "PCG64":
        return None
    needed = 5 * count  # 32-bit words: 3 for Floyd's draws, 2 for the shuffle
    buffered = np.array([state["uinteger"]] if state["has_uint32"] else [], np.uint32)  # the upper half kept back
    raw = bitgen.random_raw(-(-(needed - len(buffered)) // 2))  # [k] uint64: lower 32 bits first, then upper
    words = np.concatenate([buffered, raw.astype("<u8").view("<u4")])
    ranges = np.array([n - 3, n - 2, n - 1, 2, 1], np.uint64)  # inclusive upper bounds of the 5 draws
    scaled = words[:needed].reshape(count, 5).astype(np.uint64) * (ranges + 1)
    low = scaled & np.uint64(0xFFFFFFFF)
    if (low < (np.uint64(0xFFFFFFFF) - ranges) % (ranges + 1)).any():  # Lemire's rejection: redrawn by choice
        bitgen.state = state
        return None
    drawn = (scaled >> np.uint64(32)).astype(np.int64)  # [count,5]
    first, second, third = drawn[:, 0], drawn[:, 1], drawn[:, 2]
    second = np.where(second == first, n - 2, second)  # Floyd: a value already taken is replaced by the bound
    third = np.where((third == first) | (third == second), n - 1, third)
    triples = np.stack([first, second, third], axis=1)
    rows = np.arange(count)
    for position, column in ((2, 3), (1, 4)):  # the shuffle: position i swapped with a draw in [0, i]
        other = drawn[:, column]
        taken = triples[rows, other]
        triples[rows, other] = triples[:, position]
        triples[:, position] = taken
    spare = words[needed:]  # an odd word left: the generator keeps it for its next 32-bit draw
    kept = int(spare[0] if spare.size else words[-1])  # numpy leaves the last upper half there when none is kept
    bitgen.state = {**bitgen.state, "has_uint32": int(spare.size), "uinteger": kept}
    return triples


@functools.cache
def _vectorised_choice_matches() -> bool:
    """Whether :func:`_choice_triples` reproduces this numpy's ``Generator.choice`` (values and state)."""
    for seed, n in ((0, 100), (1, 4000), (2, 2**20)):
        reference, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        reference.integers(2**31), fast.integers(2**31)  # a 32-bit word kept back for the next draw
        expected = _choice_loop(reference, n, 64)
        got = _choice_triples(fast, n, 64)
        if got is None or not np.array_equal(got, expected) or fast.integers(2**62) != reference.integers(2**62):
            return False
    return True
