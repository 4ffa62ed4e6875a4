"""DVD as a stereodiff stage-2 backend (``--stage1 none --stage2 dvd``): like ``depthcrafter-full`` and
``rollingdepth`` it ignores a stage-1 scene.

The stitched windows stream into the output (a frame is written once no later window overlaps it), so memory is
bounded by one window. The output is the mean of DVD's three decoded channels (the official evaluation takes the
same mean), min–max normalised over the clip: affine-invariant inverse depth in [0, 1].
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage2 import OutputKind
from stereodiff.stage2.depthcrafter.pipeline import normalize_minmax
from stereodiff.stage2.dvd.pipeline import DVDPipeline, DVDSettings
from stereodiff.types import SceneGeometry

__all__ = ["DVDBackend"]


class DVDBackend:
    """Frames in, DVD's affine-invariant inverse depth at the source size out (min–max to [0, 1])."""

    name = "dvd"

    def __init__(self, pipeline: DVDPipeline, settings: DVDSettings | None = None) -> None:
        self.pipeline = pipeline
        self.settings = settings or DVDSettings()

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        """``frames`` ``[T,H,W,3]`` uint8 → ``out`` ``[T,H,W]`` float32 disparity in [0, 1]. ``scene`` and
        ``cache_dir`` are not used (DVD is deterministic; a resumed run recomputes it)."""
        if tuple(out.shape) != tuple(frames.shape[:3]):
            raise InputError(f"out must be [T,H,W] = {tuple(frames.shape[:3])}, got {tuple(out.shape)}", "")
        calls = self.pipeline.dit_calls
        for first, block in self.pipeline(frames, self.settings):
            out[first : first + block.shape[0]] = block.mean(axis=-1)
        logger.info("dvd: %d DiT calls", self.pipeline.dit_calls - calls)
        normalize_minmax(out)
        return "disparity"
