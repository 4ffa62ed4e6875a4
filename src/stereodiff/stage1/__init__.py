"""Stage 1: pairwise stereo matching (network or geometric backends) and the closed-form global alignment."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from stereodiff.types import PairPredictions


class Stage1Backend(Protocol):
    """A pairwise matcher: frames in, :class:`PairPredictions` out."""

    def predict(
        self, frames: np.ndarray, pairs: np.ndarray | None = None, *, cache_dir: Path | None = None
    ) -> PairPredictions:
        """``frames`` ``[T,H,W,3]`` uint8 RGB (array-like, read per frame); ``pairs`` ``[P,2]`` or the backend's
        default; with ``cache_dir`` results go to a :class:`~stereodiff.stage1.cache.PairCache` there and pairs
        already done are skipped."""
        ...
