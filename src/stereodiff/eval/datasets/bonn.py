"""Bonn RGB-D Dynamic: ``rgbd_bonn_<seq>/{rgb,depth}/<timestamp>.png`` (depth uint16 / 5000), ``groundtruth.txt``.

Frames: RGB and depth lists each sorted by the full timestamp (DepthCrafter sorts by the last 4 digits of the
integer seconds, which gives the same order unless a sequence crosses a multiple of 10⁴ s), then ``[30:140]`` and
paired by index (not by timestamp), as DepthCrafter/MonST3R do. DepthCrafter evaluates ``person_tracking``,
MonST3R and RollingDepth ``person_tracking2``: the preset records which (``info["person_tracking"]``).
Poses: ``groundtruth.txt`` (TUM format, motion-capture frame), the entry nearest in time to each RGB frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets.base import (
    EvalSequence,
    Frames,
    Preset,
    crop_slices,
    nearest_poses,
    read_depth_png,
    require_dir,
)  # fmt: skip
from stereodiff.io.export import read_tum_poses

DEPTH_SCALE = 5000.0
#: Bonn RGB-D Dynamic camera (dataset web page): fx, fy, cx, cy
INTRINSICS = (542.822841, 542.576870, 315.593520, 237.756098)

PRESETS = {
    "depthcrafter": Preset(
        "depthcrafter", ("balloon2", "crowd2", "crowd3", "person_tracking", "synchronous"), 30, 140,
        max_depth=10.0, crop="even", note="DepthCrafter: person_tracking, frames [30:140], cap 10",
    ),
    "monst3r": Preset(
        "monst3r", ("balloon2", "crowd2", "crowd3", "person_tracking2", "synchronous"), 30, 140,
        max_depth=70.0, crop="even", note="MonST3R/RollingDepth: person_tracking2, [30:140], mask cap 70",
    ),
    "stereodiff-full": Preset(
        "stereodiff-full", ("balloon", "balloon2", "crowd2", "crowd3", "person_tracking", "synchronous"),
        max_depth=10.0, crop="even",
        note="StereoDiff paper §4.1.2: 6 dynamic videos, all frames (332-580); the paper does not list them: "
        "the 5 DepthCrafter sequences plus 'balloon' (its Fig. 3)",
    ),
}  # fmt: skip
DEFAULT_PRESET = "depthcrafter"


def _folder(root: Path, name: str) -> Path:
    return Path(root) / f"rgbd_bonn_{name}"


def _stamped(folder: Path) -> list[Path]:
    files = [p for p in folder.glob("*.png")]
    try:
        return sorted(files, key=lambda p: float(p.stem))
    except ValueError as err:
        raise InputError(f"{folder} has a file not named by its timestamp", "Bonn files are <seconds>.png") from err


def list_sequences(root: Path, preset: Preset) -> list[str]:
    root = require_dir(root, "Bonn root", "pass the folder holding rgbd_bonn_* sequences")
    found = sorted(p.name[len("rgbd_bonn_") :] for p in root.glob("rgbd_bonn_*") if p.is_dir())
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    folder = require_dir(_folder(root, name), "Bonn sequence", "check the sequence name")
    rgb = preset.select(_stamped(folder / "rgb"))
    depth_files = preset.select(_stamped(folder / "depth"))
    if not rgb or len(rgb) != len(depth_files):
        raise InputError(f"{folder}: {len(rgb)} RGB and {len(depth_files)} depth frames selected", "need equal")
    depth = np.stack([read_depth_png(p, DEPTH_SCALE) for p in depth_files])
    rows, cols = crop_slices(preset.crop, *depth.shape[1:])
    depth = np.ascontiguousarray(depth[:, rows, cols])
    fx, fy, cx, cy = INTRINSICS
    K = np.tile(np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]]), (len(rgb), 1, 1))
    poses = None
    if (folder / "groundtruth.txt").is_file():
        stamps, all_poses = read_tum_poses(folder / "groundtruth.txt")
        poses = nearest_poses(np.array([float(p.stem) for p in rgb]), stamps, all_poses)
    variant = "person_tracking2" if "person_tracking2" in (preset.sequences or ()) else "person_tracking"
    return EvalSequence(
        name, Frames(rgb, crop=(rows, cols)), depth, depth > 0, preset.max_depth, K, poses, None,
        [p.stem for p in rgb], {"dataset": "bonn", "preset": preset.name, "person_tracking": variant},
    )  # fmt: skip
