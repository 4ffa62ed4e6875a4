"""Microsoft 7-Scenes: ``seq-XX/frame-XXXXXX.{color.png, depth.png, pose.txt}``.

Depth is uint16 millimetres with both 0 and 65535 marking invalid pixels; the pose file is a 4×4 camera-to-world
matrix. Intrinsics: ``camera-intrinsics.txt`` in the sequence or its parent when present, else fx = fy = 585,
(cx, cy) = (320, 240) (the depth camera; RGB and depth are not perfectly registered). ROOT may be one sequence
folder or a scene folder holding ``seq-*`` folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets.base import EvalSequence, Frames, Preset, read_depth_png, require_dir

DEPTH_SCALE = 1000.0
DEFAULT_K = np.array([[585.0, 0, 320.0], [0, 585.0, 240.0], [0, 0, 1.0]])

PRESETS = {"full": Preset("full", None, max_depth=10.0, note="every frame, cap 10 m")}
DEFAULT_PRESET = "full"


def list_sequences(root: Path, preset: Preset) -> list[str]:
    root = require_dir(root, "7-Scenes folder", "pass a seq-XX folder or a scene folder")
    if any(root.glob("frame-*.depth.png")):
        return [root.name]
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("frame-*.depth.png")))
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    folder = Path(root) if Path(root).name == name and any(Path(root).glob("frame-*")) else Path(root) / name
    depth_files = preset.select(sorted(folder.glob("frame-*.depth.png")))
    if not depth_files:
        raise InputError(f"no frame-*.depth.png in {folder}", "check the sequence folder")
    stems = [p.name[: -len(".depth.png")] for p in depth_files]
    depth = np.stack([read_depth_png(p, DEPTH_SCALE, invalid=(0, 65535)) for p in depth_files])
    K = DEFAULT_K
    for candidate in (folder / "camera-intrinsics.txt", folder.parent / "camera-intrinsics.txt"):
        if candidate.is_file():
            K = np.loadtxt(candidate).reshape(3, 3)
            break
    poses = None
    pose_files = [folder / f"{s}.pose.txt" for s in stems]
    if all(p.is_file() for p in pose_files):
        poses = np.stack([np.loadtxt(p).reshape(4, 4) for p in pose_files])
    return EvalSequence(
        name, Frames([folder / f"{s}.color.png" for s in stems]), depth, depth > 0, preset.max_depth,
        np.tile(K, (len(stems), 1, 1)), poses, None, stems, {"dataset": "7scenes", "preset": preset.name},
    )  # fmt: skip
