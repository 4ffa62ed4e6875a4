"""ScanNet v2 (exported ``.sens``): ``<scene>/color/<i>.jpg``, ``depth/<i>.png`` (uint16 / 1000), ``pose/<i>.txt``
(4×4 camera-to-world), ``intrinsic/intrinsic_depth.txt`` (4×4).

Frames: sorted by index, ``[0:270:3]`` = 90 frames; GT and RGB cropped ``[8:-8, 11:-11]`` in the 640×480 depth
frame (DepthCrafter). The colour export is 1296×968: it is resized to the depth size before the crop so pixels
correspond. K is shifted by the crop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets.base import EvalSequence, Frames, Preset, crop_slices, read_depth_png, require_dir

DEPTH_SCALE = 1000.0
TEST_SCENES = tuple(f"scene{i:04d}_00" for i in range(707, 807))

PRESETS = {
    "depthcrafter": Preset(
        "depthcrafter", TEST_SCENES, 0, 270, 3, max_depth=10.0, crop=(8, -8, 11, -11),
        note="DepthCrafter/VDA: scans_test scene0707_00-0806_00, frames 0,3,…,267, crop [8:-8,11:-11], cap 10",
    ),
    "stereodiff-full": Preset(
        "stereodiff-full", ("scene0078_00", "scene0192_01", "scene0348_00", "scene0556_01"), max_depth=10.0,
        crop=(8, -8, 11, -11), note="StereoDiff paper §4.1.2: 4 scenes, all frames (frame use not stated)",
    ),
}  # fmt: skip
DEFAULT_PRESET = "depthcrafter"


def list_sequences(root: Path, preset: Preset) -> list[str]:
    root = require_dir(root, "ScanNet root", "pass the folder holding scene*_* folders")
    found = sorted(p.name for p in root.glob("scene*") if (p / "depth").is_dir())
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    scene = Path(root) / name
    files = sorted((scene / "depth").glob("*.png"), key=lambda p: int(p.stem))
    files = preset.select(files)
    if not files:
        raise InputError(f"no depth PNG in {scene / 'depth'}", "check the scene name")
    depth = np.stack([read_depth_png(p, DEPTH_SCALE) for p in files])
    h, w = depth.shape[1:]
    rows, cols = crop_slices(preset.crop, h, w)
    depth = np.ascontiguousarray(depth[:, rows, cols])
    color = [scene / "color" / f"{p.stem}.jpg" for p in files]
    frames = Frames(color, size=(h, w), crop=(rows, cols))
    K = None
    if (scene / "intrinsic" / "intrinsic_depth.txt").is_file():
        k = np.loadtxt(scene / "intrinsic" / "intrinsic_depth.txt")[:3, :3].copy()
        k[0, 2] -= cols.start or 0
        k[1, 2] -= rows.start or 0
        K = np.tile(k, (len(files), 1, 1))
    poses = None
    pose_files = [scene / "pose" / f"{p.stem}.txt" for p in files]
    if all(p.is_file() for p in pose_files):
        poses = np.stack([np.loadtxt(p).reshape(4, 4) for p in pose_files])
    return EvalSequence(
        name, frames, depth, depth > 0, preset.max_depth, K, poses, None, [p.stem for p in files],
        {"dataset": "scannet", "preset": preset.name},
    )  # fmt: skip
