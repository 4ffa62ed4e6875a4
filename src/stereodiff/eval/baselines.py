"""Baselines that an estimate's post-processing must beat, computed from the estimate itself."""

from __future__ import annotations

import numpy as np

__all__ = ["nearest_valid_fill"]


def nearest_valid_fill(depth: np.ndarray) -> np.ndarray:
    """``[T,h,w]`` depth with every hole (``≤ 0``) replaced by the depth of its nearest valid pixel (Euclidean,
    per frame): what a hole filler must beat. A frame without a valid pixel stays as it is."""
    from stereodiff.stage1.fusion import nearest_fill

    return np.stack([nearest_fill(frame) for frame in np.asarray(depth)]).astype(np.float32)
