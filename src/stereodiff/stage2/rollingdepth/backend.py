"""RollingDepth as a stereodiff stage-2 backend: the whole method on the frames alone (``--stage1 none``; like
``depthcrafter-full`` it ignores a stage-1 scene).

RollingDepth's co-alignment is global (every snippet of the video is fitted at once), so the video runs in one
piece: host memory holds the frame latents and the decoded snippets of the whole clip at the processing resolution
(as in the official code). With ``cache_dir`` the finished result is kept there and reused on resume when the
settings match.
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

__all__ = ["RollingDepthBackend"]


class RollingDepthBackend:
    """Frames in, RollingDepth's affine-invariant inverse depth at the source size out (min–max to [0, 1])."""

    def __init__(self, pipeline: RollingDepthPipeline, settings: RollingDepthSettings | None = None, seed: int = 0):
        self.pipeline = pipeline
        self.settings = settings or RollingDepthSettings()
        self.seed = seed
        self.unet_calls = 0

    def _signature(self, frames: Any) -> dict[str, Any]:
        return {"settings": dataclasses.asdict(self.settings), "seed": self.seed, "shape": list(frames.shape)}

    def refine(
        self, frames: Any, scene: SceneGeometry | None, out: np.ndarray, cache_dir: Path | None = None
    ) -> OutputKind:
        """``frames`` ``[T,H,W,3]`` uint8 → ``out`` ``[T,H,W]`` float32 disparity in [0, 1]; ``scene`` is not used."""
        import cv2

        num_frames, height, width = (int(s) for s in frames.shape[:3])
        target = out
        if tuple(target.shape) != (num_frames, height, width):
            raise InputError(f"out must be [T,H,W] = {(num_frames, height, width)}, got {tuple(target.shape)}", "")
        result = self._cached(cache_dir, frames)
        if result is None:
            generator = torch.Generator(device=self.pipeline.device).manual_seed(self.seed)
            output = self.pipeline(frames, self.settings, generator=generator)
            self.unet_calls = output.unet_calls
            result = output.depth.numpy()
            logger.info("rollingdepth: %d UNet calls, dilations %s", output.unet_calls, output.dilations)
            if cache_dir is not None:
                self._store(cache_dir, frames, result)
        for t in range(num_frames):
            target[t] = cv2.resize(result[t], (width, height), interpolation=cv2.INTER_LINEAR)
        normalize_minmax(target)
        return "disparity"

    def _cached(self, cache_dir: Path | None, frames: Any) -> np.ndarray | None:
        if cache_dir is None or not (Path(cache_dir) / "rollingdepth.json").is_file():
            return None
        stored = json.loads((Path(cache_dir) / "rollingdepth.json").read_text())
        if stored != json.loads(json.dumps(self._signature(frames))):
            raise InputError(
                f"{cache_dir} holds a RollingDepth result made with other settings",
                "use another output folder or run without --resume",
            )
        logger.info("rollingdepth: reusing the result in %s", cache_dir)
        return np.load(Path(cache_dir) / "rollingdepth.npy")

    def _store(self, cache_dir: Path, frames: Any, result: np.ndarray) -> None:
        folder = Path(cache_dir)
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "rollingdepth.tmp.npy", result)
        (folder / "rollingdepth.tmp.npy").replace(folder / "rollingdepth.npy")
        (folder / "rollingdepth.json").write_text(json.dumps(self._signature(frames)))  # written last
