"""The stage-2 backends of this package as :class:`~stereodiff.stage2.Stage2Backend` (one ``refine`` each).

- :class:`SceneRefinerStage`: a refiner of stage-1 depth (``refine(frames, depth, confidence, *, out, cache_dir)``
  returning ``[T,H,W]``, with an ``output_kind``): the temporal refiner and StereoDiff's DepthCrafter step.
- :class:`VideoDepthStage`: a video-depth model that ignores stage 1 (``estimate(frames, *, seed, out, ...)``):
  DepthCrafter alone.
- :class:`ResizeStage`: no refinement (``none``): the stage-1 depth at the source size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.io.pages import release
from stereodiff.progress import progress
from stereodiff.stage2 import OutputKind
from stereodiff.types import SceneGeometry

__all__ = ["ResizeStage", "SceneRefinerStage", "VideoDepthStage"]


class SceneRefinerStage:
    """A refiner of the stage-1 depth and confidence (e.g. ``TemporalRefiner``, ``DepthCrafterRefiner``); one whose
    class sets ``uses_camera = True`` also gets stage 1's camera (``refine(..., intrinsics=[T,3,3],
    cam_to_world=[T,4,4], ahead_share=float)``, :class:`~stereodiff.types.SceneGeometry`'s fields) and the pixels
    whose depth its mover rules gave (``movers_given=[T,h,w]`` bool or None)."""

    def __init__(self, refiner: Any) -> None:
        self.refiner = refiner

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        if scene is None:
            raise ValueError(f"{type(self.refiner).__name__} refines a stage-1 scene; run a stage-1 backend first")
        uses_camera = getattr(self.refiner, "uses_camera", False)
        camera = {}
        if uses_camera:
            camera = {
                "intrinsics": scene.intrinsics(),
                "cam_to_world": scene.cam_to_world,
                "ahead_share": scene.ahead_share,
                "movers_given": scene.movers_given,
            }
        self.refiner.refine(frames, scene.depth, scene.confidence, out=out, cache_dir=cache_dir, **camera)
        return self.refiner.output_kind


class VideoDepthStage:
    """A video-depth model that does not use stage 1 (``estimate``; disparity), with its keyword arguments."""

    def __init__(self, model: Any, seed: int, **options: Any) -> None:
        self.model, self.seed, self.options = model, seed, options

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        self.model.estimate(frames, seed=self.seed, out=out, **self.options)
        return "disparity"


class ResizeStage:
    """No refinement: the stage-1 depth at the source resolution (nearest, so holes stay holes)."""

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        import cv2

        if scene is None:
            raise ValueError("stage 2 'none' passes the stage-1 depth on; run a stage-1 backend first")
        height, width = frames.shape[1:3]
        depth = scene.depth
        for t in progress(range(depth.shape[0]), desc="resize depth", total=depth.shape[0]):
            out[t] = cv2.resize(np.asarray(depth[t]), (width, height), interpolation=cv2.INTER_NEAREST)
            release(out, depth)
        return "depth"
