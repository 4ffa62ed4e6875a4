"""Image sizes, pixel grids and pinhole intrinsics across resolutions: the camera conventions of
docs/conventions.md in one place.

Pixel ``(u, v)`` = (column, row); integer ``(u, v)`` is the pixel's position (no +0.5 shift, as in DUSt3R).
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["fit_long_side", "pixel_grid", "prior_focal"]


def fit_long_side(
    height: int, width: int, long_side: int, *, upscale: bool = True, minimum: int = 1
) -> tuple[int, int]:
    """``(h, w)`` of a ``height × width`` image resized so that its long side is ``long_side`` pixels (aspect kept,
    each side rounded and at least ``minimum``); with ``upscale=False`` a smaller image keeps its size."""
    longest = max(height, width)
    if not upscale:
        long_side = min(long_side, longest)
    return max(minimum, round(height * long_side / longest)), max(minimum, round(width * long_side / longest))


@functools.lru_cache(maxsize=8)
def pixel_grid(h: int, w: int) -> np.ndarray:
    """``[h,w,2]`` float32 pixel coordinates ``(u, v)`` (cached, read-only: copy before writing)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([u, v], axis=-1)
    grid.flags.writeable = False
    return grid


def prior_focal(size: tuple[int, int]) -> float:
    """Fallback focal in pixels for ``size=(h, w)``: a 60° field of view on the long side (DUSt3R's focal base)."""
    return max(size) / (2.0 * np.tan(np.radians(30.0)))
