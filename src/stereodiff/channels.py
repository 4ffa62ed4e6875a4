"""Sums, means and lengths over a last axis of 3 (colour channels, 3-D points), channel by channel.

numpy reduces such a short last axis element by element through its reduction machinery: ~1.2 ms for a
``[240,320,3]`` float32 array, against ~0.06 ms for two additions of whole channel planes (issue #20, s46-speed).
The values are the same as numpy's when numpy adds the three in order from a zero start, ``((0 + x₀) + x₁) + x₂``,
which the planes give as ``((x₀ + x₁) + x₂) + 0`` (the start only turns a sum of three negative zeros into a
positive one). That is checked once per process on seeded values, layouts and corner cases; where it does not hold
(another numpy), for other dtypes or a last axis other than 3, numpy itself answers.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["channel_mean", "channel_norm", "channel_sum"]


def channel_sum(x: np.ndarray) -> np.ndarray:
    """``[...]``: ``np.sum(x, axis=-1)`` of ``x [...,3]``, bit for bit."""
    return _planes_sum(x[..., 0], x[..., 1], x[..., 2]) if _fast(x) else np.sum(x, axis=-1)


def channel_mean(x: np.ndarray) -> np.ndarray:
    """``[...]``: ``x.mean(axis=-1)`` of ``x [...,3]``, bit for bit."""
    return _planes_mean(x) if _fast(x) else x.mean(axis=-1)


def channel_norm(x: np.ndarray) -> np.ndarray:
    """``[...]``: ``np.linalg.norm(x, axis=-1)`` of ``x [...,3]`` (the root of the sum of the squares), bit for bit."""
    return _planes_norm(x) if _fast(x) else np.linalg.norm(x, axis=-1)


def _fast(x: np.ndarray) -> bool:
    """Whether ``x`` takes the channel-by-channel path: float32 / float64 with a last axis of 3, on a numpy whose
    reductions it matches."""
    return x.ndim >= 2 and x.shape[-1] == 3 and x.dtype in (np.float32, np.float64) and _planes_match()


def _planes_sum(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``((a + b) + c) + 0`` (a new array): numpy's reduction order from its zero start."""
    total = np.add(a, b)
    total += c
    total += 0.0
    return total


def _planes_mean(x: np.ndarray) -> np.ndarray:
    """The channel sum of ``x [...,3]`` divided by 3 (in its dtype, correctly rounded as numpy's float64 quotient
    rounded back)."""
    total = _planes_sum(x[..., 0], x[..., 1], x[..., 2])
    total /= 3
    return total


def _planes_norm(x: np.ndarray) -> np.ndarray:
    """The root of the channel sum of the squares of ``x [...,3]``."""
    total = _planes_sum(*(np.square(x[..., c]) for c in range(3)))
    return np.sqrt(total, out=total)


@functools.cache
def _planes_match() -> bool:
    """Whether the channel-by-channel sum, mean and length equal numpy's reductions here, bit for bit, on seeded
    float32 and float64 values of every magnitude, contiguous, strided, Fortran-ordered and channel-planes-first, with
    signed zeros, infinities and NaN."""
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, 1.0])
    corners = np.stack(np.meshgrid(special, special, special, indexing="ij"), axis=-1).reshape(-1, 3)
    for dtype in (np.float32, np.float64):
        values = rng.standard_normal((48, 64, 4)) * 10.0 ** rng.integers(-40, 38, (48, 64, 4))
        planes_first = np.ascontiguousarray(np.moveaxis(values[..., :3], -1, 0), dtype)  # [3,h,w] memory
        cases = [corners.astype(dtype), np.asfortranarray(corners, dtype), values.astype(dtype)[..., :3]]
        cases += [np.ascontiguousarray(values[..., 1:], dtype), np.moveaxis(planes_first, 0, -1)]
        for case in cases:
            with np.errstate(over="ignore", invalid="ignore"):
                pairs = [
                    (np.sum(case, axis=-1), _planes_sum(case[..., 0], case[..., 1], case[..., 2])),
                    (case.mean(axis=-1), _planes_mean(case)),
                    (np.linalg.norm(case, axis=-1), _planes_norm(case)),
                ]
            if not all(found.dtype == expected.dtype and _same_bits(expected, found) for expected, found in pairs):
                return False
    return True


def _same_bits(expected: np.ndarray, found: np.ndarray) -> bool:
    """The same values bit for bit (NaN payloads included)."""
    return expected.shape == found.shape and expected.tobytes() == np.ascontiguousarray(found).tobytes()
