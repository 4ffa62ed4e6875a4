"""RollingDepth as stereodiff stage-2 backends.

- :class:`RollingDepthBackend` (``--stage1 none --stage2 rollingdepth``): the whole method on the frames alone; like
  ``depthcrafter-full`` it ignores a stage-1 scene.
- :class:`RollingDepthRefiner` (``--stage2 rollingdepth-refiner`` after a stage 1): the stage-1 inverse depth,
  normalised over the video as StereoDiff's DepthCrafter step does it, takes the place of RollingDepth's snippets and
  co-alignment (global consistency from stereo matching); RollingDepth's snippet-wise diffusion refinement then
  adds the local detail. It is RollingDepth's step 4 alone; with the co-aligned video as input it is RollingDepth.

RollingDepth works on the whole clip at once (its co-alignment fits every snippet together, its refinement
averages overlapping snippets after every step), so host memory holds the latents of the whole clip (and, for
the full method, the decoded snippets), as in the official code. With ``cache_dir`` the finished result is kept
there and reused on resume when the settings match.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage2 import OutputKind
from stereodiff.stage2.depthcrafter.pipeline import normalize_minmax
from stereodiff.stage2.rollingdepth.pipeline import RollingDepthPipeline, RollingDepthSettings
from stereodiff.types import SceneGeometry

__all__ = ["RollingDepthBackend", "RollingDepthRefiner"]


class _WholeClipStage:
    """Shared by both backends: run once on the clip, keep the result in ``cache_dir``, write it at source size."""

    name = "rollingdepth"

    def __init__(self, pipeline: RollingDepthPipeline, settings: RollingDepthSettings, seed: int = 0) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.seed = seed
        self.unet_calls = 0

    def _compute(self, frames: Any, scene: SceneGeometry | None, generator: torch.Generator) -> np.ndarray:
        """``[T,h,w]`` inverse depth at the processing size (sets ``unet_calls``)."""
        raise NotImplementedError

    def _signature(self, frames: Any) -> dict[str, Any]:
        return {"settings": dataclasses.asdict(self.settings), "seed": self.seed, "shape": list(frames.shape)}

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        """``frames`` ``[T,H,W,3]`` uint8 → ``out`` ``[T,H,W]`` float32 disparity in [0, 1] (min–max over the clip,
        resized bilinearly from the processing size)."""
        import cv2

        num_frames, height, width = (int(s) for s in frames.shape[:3])
        if tuple(out.shape) != (num_frames, height, width):
            raise InputError(f"out must be [T,H,W] = {(num_frames, height, width)}, got {tuple(out.shape)}", "")
        result = self._cached(cache_dir, frames)
        if result is None:
            generator = torch.Generator(device=self.pipeline.device).manual_seed(self.seed)
            result = self._compute(frames, scene, generator)
            logger.info("%s: %d UNet calls", self.name, self.unet_calls)
            if cache_dir is not None:
                self._store(cache_dir, frames, result)
        for t in range(num_frames):
            out[t] = cv2.resize(result[t], (width, height), interpolation=cv2.INTER_LINEAR)
        normalize_minmax(out)
        return "disparity"

    def _cached(self, cache_dir: Path | None, frames: Any) -> np.ndarray | None:
        if cache_dir is None or not (Path(cache_dir) / f"{self.name}.json").is_file():
            return None
        stored = json.loads((Path(cache_dir) / f"{self.name}.json").read_text())
        if stored != json.loads(json.dumps(self._signature(frames))):
            raise InputError(
                f"{cache_dir} holds a {self.name} result made with other settings",
                "use another output folder or run without --resume",
            )
        logger.info("%s: reusing the result in %s", self.name, cache_dir)
        return np.load(Path(cache_dir) / f"{self.name}.npy")

    def _store(self, cache_dir: Path, frames: Any, result: np.ndarray) -> None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{self.name}.tmp.npy", result)
        (folder / f"{self.name}.tmp.npy").replace(folder / f"{self.name}.npy")
        (folder / f"{self.name}.json").write_text(json.dumps(self._signature(frames)))  # written last


class RollingDepthBackend(_WholeClipStage):
    """Frames in, RollingDepth's affine-invariant inverse depth at the source size out (min–max to [0, 1])."""

    def __init__(self, pipeline: RollingDepthPipeline, settings: RollingDepthSettings | None = None, seed: int = 0):
        super().__init__(pipeline, settings or RollingDepthSettings(), seed)

    def _compute(self, frames: Any, scene: SceneGeometry | None, generator: torch.Generator) -> np.ndarray:
        output = self.pipeline(frames, self.settings, generator=generator)
        self.unet_calls = output.unet_calls
        logger.info("rollingdepth: dilations %s", output.dilations)
        return output.depth.numpy()


class RollingDepthRefiner(_WholeClipStage):
    """Stage-1 depth + frames in, RollingDepth-refined inverse depth at the source size out (min–max to [0, 1])."""

    name = "rollingdepth-refiner"

    def __init__(
        self,
        pipeline: RollingDepthPipeline,
        settings: RollingDepthSettings | None = None,
        seed: int = 0,
        min_confidence: float = 0.0,
    ) -> None:
        super().__init__(pipeline, settings or RollingDepthSettings(refine_step=10), seed)
        self.min_confidence = min_confidence

    def _signature(self, frames: Any) -> dict[str, Any]:
        return {**super()._signature(frames), "min_confidence": self.min_confidence}

    def _compute(self, frames: Any, scene: SceneGeometry | None, generator: torch.Generator) -> np.ndarray:
        from stereodiff.stage2.depthcrafter.refine import normalized_disparity, normalized_disparity_range

        if scene is None:
            raise ValueError("RollingDepthRefiner refines a stage-1 scene; run a stage-1 backend first")
        num_frames = int(frames.shape[0])
        size = self.pipeline.processing_size(*(int(s) for s in frames.shape[1:3]), self.settings.resolution)
        lo, hi = normalized_disparity_range(scene.depth, scene.confidence, self.min_confidence)
        disparity = torch.from_numpy(normalized_disparity(scene.depth, 0, num_frames, size, lo, hi))
        depth, self.unet_calls = self.pipeline.refine_video(frames, disparity, self.settings, generator=generator)
        return depth.numpy()
