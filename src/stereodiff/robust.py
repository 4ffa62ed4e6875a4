"""Robust statistics shared by the global alignment and the pair fusion."""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_median"]


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``[...]`` weighted median along the last axis of ``values``/``weights`` ``[..., N]`` (weights ≥ 0 with a
    positive sum): the smallest value whose cumulative weight (in value order) reaches half the total."""
    order = np.argsort(values, axis=-1)
    values = np.take_along_axis(values, order, axis=-1)
    cumulative = np.cumsum(np.take_along_axis(weights, order, axis=-1), axis=-1)
    index = np.minimum((cumulative < 0.5 * cumulative[..., -1:]).sum(axis=-1), values.shape[-1] - 1)
    return np.take_along_axis(values, index[..., None], axis=-1)[..., 0]
