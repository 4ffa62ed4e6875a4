"""TUM RGB-D: ``rgbd_dataset_freiburg<N>_<name>/{rgb.txt, depth.txt, groundtruth.txt}`` and the PNGs they list
(depth uint16 / 5000). RGB and depth are paired by timestamp like TUM's ``associate.py`` (greedy nearest, ≤ 0.02 s);
an ``associations.txt`` (``t_rgb rgb/… t_depth depth/…``) in the folder is used as is. Poses: the ground-truth entry
nearest in time to each RGB frame. Intrinsics: the calibrated values of the freiburg1/2/3 sensors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets.base import (
    EvalSequence,
    Frames,
    Preset,
    associate_timestamps,
    nearest_poses,
    read_depth_png,
    require_dir,
)  # fmt: skip
from stereodiff.io.export import read_tum_poses

DEPTH_SCALE = 5000.0
#: fx, fy, cx, cy per sensor (TUM RGB-D "file formats" page); unknown sensors use the ROS default
INTRINSICS = {
    "freiburg1": (517.3, 516.5, 318.6, 255.3),
    "freiburg2": (520.9, 521.0, 325.1, 249.7),
    "freiburg3": (535.4, 539.2, 320.1, 247.6),
    "default": (525.0, 525.0, 319.5, 239.5),
}

PRESETS = {
    "full": Preset("full", None, max_depth=10.0, note="every associated frame, cap 10"),
    "first-270-stride-3": Preset(
        "first-270-stride-3", None, 0, 270, 3, max_depth=10.0, note="90 frames at stride 3 (the ScanNet-style cut)"
    ),
}
DEFAULT_PRESET = "full"


def _read_list(path: Path) -> tuple[np.ndarray, list[str]]:
    stamps, names = [], []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            parts = line.split()
            stamps.append(float(parts[0]))
            names.append(parts[1])
    return np.array(stamps), names


def associated_frames(folder: Path) -> list[tuple[float, str, str]]:
    """``[(rgb_timestamp, rgb_relpath, depth_relpath)]`` sorted by time."""
    if (folder / "associations.txt").is_file():
        rows = [
            line.split() for line in (folder / "associations.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]  # fmt: skip
        return sorted((float(r[0]), r[1], r[3]) for r in rows)
    rgb_t, rgb = _read_list(folder / "rgb.txt")
    depth_t, depth = _read_list(folder / "depth.txt")
    return [(rgb_t[i], rgb[i], depth[j]) for i, j in associate_timestamps(rgb_t, depth_t)]


def _is_sequence(folder: Path) -> bool:
    """A TUM sequence folder: ``rgb.txt`` + ``depth.txt`` lists, or an ``associations.txt`` (associate.py output)."""
    return (folder / "rgb.txt").is_file() or (folder / "associations.txt").is_file()


def list_sequences(root: Path, preset: Preset) -> list[str]:
    root = require_dir(root, "TUM root", "pass the folder holding rgbd_dataset_* sequences")
    if _is_sequence(root):
        return [root.name]
    found = sorted(p.name for p in root.iterdir() if _is_sequence(p))
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    folder = Path(root) if Path(root).name == name and _is_sequence(Path(root)) else Path(root) / name
    rows = preset.select(associated_frames(folder))
    if not rows:
        raise InputError(f"no associated RGB/depth frames in {folder}", "check rgb.txt and depth.txt")
    depth = np.stack([read_depth_png(folder / d, DEPTH_SCALE) for _, _, d in rows])
    sensor = next((k for k in INTRINSICS if k in name), "default")
    fx, fy, cx, cy = INTRINSICS[sensor]
    K = np.tile(np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]]), (len(rows), 1, 1))
    poses = None
    if (folder / "groundtruth.txt").is_file():
        stamps, all_poses = read_tum_poses(folder / "groundtruth.txt")
        poses = nearest_poses(np.array([t for t, _, _ in rows]), stamps, all_poses)
    return EvalSequence(
        name, Frames([folder / r for _, r, _ in rows]), depth, depth > 0, preset.max_depth, K, poses, None,
        [f"{t:.6f}" for t, _, _ in rows], {"dataset": "tum", "preset": preset.name, "sensor": sensor},
    )  # fmt: skip
