"""KITTI depth, annotated validation drives: GT PNG uint16 / 256 (0 = invalid), RGB from the raw drives.

Layout (either of)::

    ROOT/data_depth_annotated/val/<drive>/proj_depth/groundtruth/image_02/<frame>.png   (or ROOT/val/<drive>/...)
    ROOT/raw/<date>/<drive>/image_02/data/<frame>.png                                  (or ROOT/<date>/<drive>/...)
    ROOT/raw/<date>/calib_cam_to_cam.txt                                               (optional: K = P_rect_02)

Frames: sorted GT names, the first 110 (shorter drives whole); H and W cut to even numbers (375 → 374), no
Garg/Eigen crop (DepthCrafter).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets.base import EvalSequence, Frames, Preset, crop_slices, read_depth_png

DEPTH_SCALE = 256.0
VAL_DRIVES = (
    "2011_09_26_drive_0002_sync", "2011_09_26_drive_0005_sync", "2011_09_26_drive_0013_sync",
    "2011_09_26_drive_0020_sync", "2011_09_26_drive_0023_sync", "2011_09_26_drive_0036_sync",
    "2011_09_26_drive_0079_sync", "2011_09_26_drive_0095_sync", "2011_09_26_drive_0113_sync",
    "2011_09_28_drive_0037_sync", "2011_09_29_drive_0026_sync", "2011_09_30_drive_0016_sync",
    "2011_10_03_drive_0047_sync",
)  # fmt: skip

PRESETS = {
    "depthcrafter": Preset(
        "depthcrafter", VAL_DRIVES, stop=110, max_depth=80.0, crop="even",
        note="DepthCrafter/VDA: 13 val drives, first 110 annotated frames, cap 80, even crop",
    ),
    "monst3r": Preset(
        "monst3r", VAL_DRIVES, stop=110, max_depth=None,
        note="MonST3R: first 110 frames, full 375×1242, no cap (only gt > 0)",
    ),
    "stereodiff-full": Preset(
        "stereodiff-full", None, max_depth=80.0, crop="even",
        note="StereoDiff paper §4.1.2: val drives, all annotated frames (17-251)",
    ),
}  # fmt: skip
DEFAULT_PRESET = "depthcrafter"


def _val_root(root: Path) -> Path:
    for candidate in (Path(root) / "data_depth_annotated" / "val", Path(root) / "val", Path(root)):
        if candidate.is_dir() and any(candidate.glob("*/proj_depth")):
            return candidate
    raise InputError(f"no KITTI annotated val drives under {root}", "expected <root>/val/<drive>/proj_depth/...")


def _raw_drive(root: Path, drive: str) -> Path:
    for candidate in (Path(root) / "raw" / drive[:10] / drive, Path(root) / drive[:10] / drive):
        if candidate.is_dir():
            return candidate
    raise InputError(f"no raw RGB folder for {drive} under {root}", "expected <root>/raw/<date>/<drive>/image_02")


def read_calib_k(path: Path) -> np.ndarray | None:
    """``[3,3]`` left colour camera matrix (``P_rect_02``) of a raw ``calib_cam_to_cam.txt``, or None."""
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("P_rect_02:"):
            return np.array(line.split()[1:], dtype=np.float64).reshape(3, 4)[:, :3]
    return None


def list_sequences(root: Path, preset: Preset) -> list[str]:
    found = sorted(p.name for p in _val_root(root).iterdir() if (p / "proj_depth").is_dir())
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    gt_dir = _val_root(root) / name / "proj_depth" / "groundtruth" / "image_02"
    files = preset.select(sorted(gt_dir.glob("*.png")))
    if not files:
        raise InputError(f"no GT PNG in {gt_dir}", "check the drive name")
    depth = np.stack([read_depth_png(p, DEPTH_SCALE) for p in files])
    rows, cols = crop_slices(preset.crop, *depth.shape[1:])
    depth = np.ascontiguousarray(depth[:, rows, cols])
    raw = _raw_drive(root, name)
    frames = Frames([raw / "image_02" / "data" / p.name for p in files], crop=(rows, cols))
    k = read_calib_k(raw.parent / "calib_cam_to_cam.txt")
    K = None if k is None else np.tile(k, (len(files), 1, 1))
    return EvalSequence(
        name, frames, depth, depth > 0, preset.max_depth, K, None, None, [p.stem for p in files],
        {"dataset": "kitti", "preset": preset.name},
    )  # fmt: skip
