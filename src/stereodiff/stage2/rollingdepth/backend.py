"""RollingDepth as stereodiff stage-2 backends.

- :class:`RollingDepthBackend` (``--stage1 none --stage2 rollingdepth``): the whole method on the frames alone; like
  ``depthcrafter-full`` it ignores a stage-1 scene.
- :class:`RollingDepthRefiner` (``--stage2 rollingdepth-refiner`` after a stage 1): the stage-1 inverse depth,
  normalised over the video as StereoDiff's DepthCrafter step does it, takes the place of RollingDepth's snippets and
  co-alignment (global consistency from stereo matching); RollingDepth's snippet-wise diffusion refinement then
  adds the local detail. It is RollingDepth's step 4 alone; with the co-aligned video as input it is RollingDepth.

RollingDepth works on the whole clip at once (its co-alignment fits every snippet together, its refinement
averages overlapping snippets after every step). Unlike the official code, which holds the latents and decoded
snippets of the whole clip in memory, every per-clip tensor lives in files in ``cache_dir`` (the run folder; a
temporary folder without one) and is streamed (:mod:`stereodiff.stage2.rollingdepth.store`). With ``cache_dir``,
the decoded snippets of an interrupted run are reused on resume and the finished result is kept and reused, when
the settings match.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stereodiff.errors import InputError
from stereodiff.io.pages import release
from stereodiff.progress import logger
from stereodiff.stage2 import OutputKind
from stereodiff.stage2.depthcrafter.pipeline import normalize_minmax
from stereodiff.stage2.rollingdepth.pipeline import RollingDepthPipeline, RollingDepthSettings
from stereodiff.stage2.rollingdepth.store import DiskTensor
from stereodiff.types import SceneGeometry

__all__ = ["RollingDepthBackend", "RollingDepthRefiner"]


class _WholeClipStage:
    """Shared by both backends: run once on the clip with its working files in ``cache_dir`` (or a temporary
    folder), keep the result there, write it at source size frame by frame."""

    name = "rollingdepth"

    def __init__(self, pipeline: RollingDepthPipeline, settings: RollingDepthSettings, seed: int = 0) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self.seed = seed
        self.unet_calls = 0

    def _compute(self, frames: Any, scene: SceneGeometry | None, generator: torch.Generator, work: Path) -> DiskTensor:
        """``[T,h,w]`` inverse depth at the processing size, in ``work`` (sets ``unet_calls``)."""
        raise NotImplementedError

    def _signature(self, frames: Any) -> dict[str, Any]:
        return {"settings": dataclasses.asdict(self.settings), "seed": self.seed, "shape": list(frames.shape)}

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        """``frames`` ``[T,H,W,3]`` uint8 → ``out`` ``[T,H,W]`` float32 disparity in [0, 1] (min–max over the clip,
        resized bilinearly from the processing size)."""
        num_frames, height, width = (int(s) for s in frames.shape[:3])
        if tuple(out.shape) != (num_frames, height, width):
            raise InputError(f"out must be [T,H,W] = {(num_frames, height, width)}, got {tuple(out.shape)}", "")
        with tempfile.TemporaryDirectory(prefix=f"{self.name}-") as tmp:
            folder = Path(cache_dir) if cache_dir is not None else Path(tmp)
            result = folder / f"{self.name}.npy"
            if self._matches(folder / f"{self.name}.json", frames):
                logger.info("%s: reusing the result in %s", self.name, folder)
            else:
                work = folder / f"{self.name}-work"
                self._matches(work / "signature.json", frames)  # finished snippets of an interrupted run are reused
                _write_json(work / "signature.json", self._signature(frames))
                generator = torch.Generator(device=self.pipeline.device).manual_seed(self.seed)
                depth = self._compute(frames, scene, generator, work)
                logger.info("%s: %d UNet calls", self.name, self.unet_calls)
                depth.path.replace(result)
                _write_json(folder / f"{self.name}.json", self._signature(frames))  # written last
                shutil.rmtree(work)
            _resize_into(np.load(result, mmap_mode="r"), out)
        normalize_minmax(out)
        return "disparity"

    def _matches(self, path: Path, frames: Any) -> bool:
        """Whether ``path`` records this run's settings (False when absent; refused when it records others)."""
        if not path.is_file():
            return False
        if json.loads(path.read_text()) != json.loads(json.dumps(self._signature(frames))):
            raise InputError(
                f"{path.parent} holds a {self.name} result made with other settings",
                "use another output folder or run without --resume",
            )
        return True


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".tmp").write_text(json.dumps(value))
    path.with_suffix(".tmp").replace(path)


def _resize_into(depth: np.ndarray, out: np.ndarray) -> None:
    """``[T,h,w]`` (a memory map) → ``out`` ``[T,H,W]`` float32, bilinear, one frame at a time."""
    import cv2

    height, width = out.shape[1:]
    for t in range(depth.shape[0]):
        out[t] = cv2.resize(np.asarray(depth[t], np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        release(depth, out)


class RollingDepthBackend(_WholeClipStage):
    """Frames in, RollingDepth's affine-invariant inverse depth at the source size out (min–max to [0, 1])."""

    def __init__(self, pipeline: RollingDepthPipeline, settings: RollingDepthSettings | None = None, seed: int = 0):
        super().__init__(pipeline, settings or RollingDepthSettings(), seed)

    def _compute(self, frames: Any, scene: SceneGeometry | None, generator: torch.Generator, work: Path) -> DiskTensor:
        output = self.pipeline.run(frames, self.settings, work, generator=generator)
        self.unet_calls = output.unet_calls
        logger.info("rollingdepth: dilations %s", output.dilations)
        return output.depth


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

    def _compute(self, frames: Any, scene: SceneGeometry | None, generator: torch.Generator, work: Path) -> DiskTensor:
        from stereodiff.stage2.depthcrafter.refine import normalized_disparity_range

        if scene is None:
            raise ValueError("RollingDepthRefiner refines a stage-1 scene; run a stage-1 backend first")
        size = self.pipeline.processing_size(*(int(s) for s in frames.shape[1:3]), self.settings.resolution)
        lo, hi = normalized_disparity_range(scene.depth, scene.confidence, self.min_confidence)
        disparity = _StageOneDisparity(scene.depth, size, lo, hi)
        depth, self.unet_calls = self.pipeline.refine_video(frames, disparity, self.settings, work, generator=generator)
        return depth


class _StageOneDisparity:
    """Stage-1 depth as ``[T,h,w]`` normalised disparity, made on demand for the frames a slice asks for."""

    def __init__(self, depth: Any, size: tuple[int, int], lo: float, hi: float) -> None:
        self.depth, self.size, self.lo, self.hi = depth, size, lo, hi
        self.shape = (int(depth.shape[0]), *size)

    def __getitem__(self, frames: slice) -> np.ndarray:
        from stereodiff.stage2.depthcrafter.refine import normalized_disparity

        start, stop, _ = frames.indices(self.shape[0])
        return normalized_disparity(self.depth, start, stop, self.size, self.lo, self.hi)
