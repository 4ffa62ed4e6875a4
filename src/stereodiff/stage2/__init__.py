"""Stage 2: local (temporal) consistency on top of the stage-1 depth."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

import numpy as np


class Stage2Backend(Protocol):
    """A refiner: frames + stage-1 depth in, depth or disparity at the source resolution out."""

    output_kind: Literal["depth", "disparity"]

    def refine(
        self,
        frames: np.ndarray,
        depth: np.ndarray,
        confidence: np.ndarray,
        *,
        out: np.ndarray | None = None,
        cache_dir: Path | None = None,
    ) -> np.ndarray:
        """``frames`` ``[T,H,W,3]`` uint8 at the source resolution; ``depth``/``confidence`` ``[T,h,w]`` float32
        stage-1 depth (0 = invalid) and confidence. Returns ``[T,H,W]`` float32 (into ``out`` when given), one
        window at a time; with ``cache_dir`` finished windows are kept there and skipped on resume."""
        ...
