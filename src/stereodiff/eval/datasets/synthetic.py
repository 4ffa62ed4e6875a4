"""Synthetic datasets written by ``stereodiff synth`` (layout: ``stereodiff.synth.dataset``).

ROOT is one dataset folder (with ``meta.json``) or a folder of them. Depth is the exact float ``depth.npz``
(the millimetre PNGs when it is absent); dynamic masks, K and poses are exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.eval.datasets.base import EvalSequence, Frames, Preset, require_dir

PRESETS = {"full": Preset("full", None, max_depth=80.0, note="every frame, cap 80 m")}
DEFAULT_PRESET = "full"


def list_sequences(root: Path, preset: Preset) -> list[str]:
    root = require_dir(root, "synthetic dataset folder", "pass a folder written by `stereodiff synth`")
    if (root / "meta.json").is_file():
        return [root.name]
    found = sorted(p.name for p in root.iterdir() if (p / "meta.json").is_file())
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    from stereodiff.synth.dataset import load_synthetic_dataset

    folder = Path(root) if (Path(root) / "meta.json").is_file() and Path(root).name == name else Path(root) / name
    video = load_synthetic_dataset(folder)
    keep = preset.select(list(range(video.depth.shape[0])))
    depth = np.ascontiguousarray(video.depth[keep], dtype=np.float32)
    frames = Frames([folder / "rgb" / f"{i:06d}.png" for i in keep])
    return EvalSequence(
        name, frames, depth, depth > 0, preset.max_depth, np.tile(video.K, (len(keep), 1, 1)),
        video.cam_to_world[keep], video.dynamic_mask[keep], [f"{i:06d}" for i in keep],
        {"dataset": "synthetic", "preset": preset.name, "scene_preset": video.preset, "seed": video.seed},
    )  # fmt: skip
