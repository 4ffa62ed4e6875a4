"""Baselines that an estimate's post-processing must beat, computed from the estimate itself."""

from __future__ import annotations

import numpy as np

__all__ = ["nearest_valid_fill"]


def nearest_valid_fill(depth: np.ndarray) -> np.ndarray:
    """``[T,h,w]`` depth with every hole (``≤ 0``) replaced by the depth of its nearest valid pixel (Euclidean,
    per frame): what a hole filler must beat. A frame without a valid pixel stays as it is."""
    import cv2

    out = np.array(depth, dtype=np.float32, copy=True)
    for k, frame in enumerate(out):
        holes = frame <= 0
        if holes.any() and not holes.all():
            _, labels = cv2.distanceTransformWithLabels(
                holes.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
            )
            by_label = np.zeros(labels.max() + 1, np.float32)
            by_label[labels[~holes]] = frame[~holes]
            out[k] = by_label[labels]
    return out
