"""Stage 2: local (temporal) consistency on top of the stage-1 scene.

The contract (what the pipeline may know): a stage-2 backend implements :class:`Stage2Backend`, one method
``refine(frames, scene, out, cache_dir) -> kind``. Backends are registered in :mod:`stereodiff.backends` with their
config dataclass; :mod:`stereodiff.stage2.stages` adapts the refiners of this package to the interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from stereodiff.types import SceneGeometry

__all__ = ["OutputKind", "Stage2Backend"]

OutputKind = Literal["depth", "disparity"]


class Stage2Backend(Protocol):
    """Frames (+ the stage-1 scene, when the backend uses one) → depth or disparity at the source size."""

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        """Write the result into ``out``.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB at the source resolution (array-like, e.g. a ``FrameStore``).
            scene: the stage-1 scene (depth/confidence ``[T,h,w]`` at stage-1 resolution); ``None`` only for
                backends registered with ``uses_scene=False``.
            out: ``[T,H,W]`` float32 array (a memmap in the run directory for long videos) to fill.
            cache_dir: folder for finished windows (resume); ``None`` = nothing kept.

        Returns:
            ``"depth"`` (one relative scale for the video) or ``"disparity"`` (one affine map).
        """
        ...
