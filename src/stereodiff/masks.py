"""Operations on ``[h,w]`` bool pixel masks shared by the stages."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["large_regions", "local_span", "shifted", "within"]


def within(mask: np.ndarray, reach_px: float) -> np.ndarray:
    """``[h,w]`` bool: the pixels within ``reach_px`` (Euclidean, pixels) of a True pixel of ``mask [h,w]`` (bool),
    i.e. an exact Euclidean distance transform of ``~mask`` thresholded at ``reach_px`` (all False without a True
    pixel), as a dilation by the disk of the offsets whose float32 length is at most ``reach_px``: ~ 10× cheaper
    than the distance transform at 320×240."""
    import cv2

    half = math.floor(reach_px)
    dy, dx = np.mgrid[-half : half + 1, -half : half + 1]
    disk = (np.sqrt((dy * dy + dx * dx).astype(np.float32)) <= reach_px).astype(np.uint8)
    return cv2.dilate(mask.astype(np.uint8), disk, borderType=cv2.BORDER_CONSTANT, borderValue=0).view(bool)


def large_regions(mask: np.ndarray, min_area: float) -> np.ndarray:
    """``[h,w]`` bool: the pixels of ``mask`` ``[h,w]`` (bool) in its connected regions (8-neighbour) of at least
    ``min_area`` pixels."""
    import cv2

    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False  # the background label
    return keep[labels]


def local_span(covered: np.ndarray, log_depth: np.ndarray, half: int) -> tuple[np.ndarray, np.ndarray]:
    """``[h,w]`` float32 the farthest and the nearest covered log-depth (``covered [h,w]`` bool, ``log_depth [h,w]``
    float32) in each pixel's square of half-size ``half``: the local far and near side (−1e9 and 1e9 where the square
    holds no covered pixel, so their difference is negative there)."""
    import cv2

    kernel = np.ones((2 * int(half) + 1,) * 2, np.uint8)
    hi = cv2.dilate(np.where(covered, log_depth, -1e9).astype(np.float32), kernel)
    lo = cv2.erode(np.where(covered, log_depth, 1e9).astype(np.float32), kernel)
    return hi, lo


def shifted(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``mask`` ``[h,w]`` bool moved by ``dx`` columns and ``dy`` rows (pixels); what leaves the image is dropped
    (all false when it leaves wholly)."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = mask[
        max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)
    ]
    return out
