"""MPI Sintel depth (training set): ``.dpt`` float depth, ``.cam`` cameras, ``clean`` / ``final`` RGB passes.

Layout (the MPI-Sintel depth/camera training download, with the RGB passes of MPI-Sintel-complete)::

    ROOT/training/depth/<seq>/frame_0001.dpt          float32 tag 202021.25, int32 W, int32 H, float32 H×W
    ROOT/training/camdata_left/<seq>/frame_0001.cam   float32 tag, float64 3×3 K, float64 3×4 world→camera
    ROOT/training/{clean,final}/<seq>/frame_0001.png  RGB

(``ROOT`` may also be the ``training`` folder itself.) The raw ``.dpt`` float is the depth (DepthCrafter reads it
directly; VDA's uint16 PNG round trip is not reproduced).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets.base import EvalSequence, Frames, Preset, require_dir

TAG_FLOAT = 202021.25

SEQUENCES = (
    "alley_1", "alley_2", "ambush_2", "ambush_4", "ambush_5", "ambush_6", "ambush_7", "bamboo_1", "bamboo_2",
    "bandage_1", "bandage_2", "cave_2", "cave_4", "market_2", "market_5", "market_6", "mountain_1", "shaman_2",
    "shaman_3", "sleeping_1", "sleeping_2", "temple_2", "temple_3",
)  # fmt: skip

PRESETS = {
    "depthcrafter": Preset(
        "depthcrafter", SEQUENCES, stop=50, max_depth=70.0, options={"pass": "clean"},
        note="DepthCrafter/VDA: 23 training sequences, all frames (≤ 50), clean pass, cap 70",
    ),
    "monst3r": Preset(
        "monst3r", SEQUENCES, max_depth=70.0, options={"pass": "final"},
        note="MonST3R --full_seq: final pass, cap 70 (use with the monst3r protocol)",
    ),
}  # fmt: skip
DEFAULT_PRESET = "depthcrafter"


def read_dpt(path: Path) -> np.ndarray:
    """``[H,W]`` float32 depth of a Sintel ``.dpt`` file (little-endian)."""
    with open(path, "rb") as f:
        tag = np.fromfile(f, dtype="<f4", count=1)
        if tag.size != 1 or tag[0] != TAG_FLOAT:
            raise InputError(f"{path} is not a Sintel .dpt file (tag {tag})", f"the first 4 bytes must be {TAG_FLOAT}")
        width, height = (int(v) for v in np.fromfile(f, dtype="<i4", count=2))
        if not (0 < width * height < 100_000_000):
            raise InputError(f"{path}: bad size {width}×{height}", "the file is damaged")
        depth = np.fromfile(f, dtype="<f4", count=width * height)
    if depth.size != width * height:
        raise InputError(f"{path}: {depth.size} depth values for {width}×{height}", "the file is truncated")
    return depth.reshape(height, width)


def read_cam(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(K [3,3], world_to_cam [3,4])`` float64 of a Sintel ``.cam`` file."""
    with open(path, "rb") as f:
        tag = np.fromfile(f, dtype="<f4", count=1)
        if tag.size != 1 or tag[0] != TAG_FLOAT:
            raise InputError(f"{path} is not a Sintel .cam file", f"the first 4 bytes must be {TAG_FLOAT}")
        K = np.fromfile(f, dtype="<f8", count=9)
        extrinsic = np.fromfile(f, dtype="<f8", count=12)
    if K.size != 9 or extrinsic.size != 12:
        raise InputError(f"{path} is truncated", "a .cam file holds 21 float64 after the tag")
    return K.reshape(3, 3), extrinsic.reshape(3, 4)


def _training(root: Path) -> Path:
    root = Path(root)
    return root / "training" if (root / "training").is_dir() else root


def list_sequences(root: Path, preset: Preset) -> list[str]:
    depth_root = require_dir(_training(root) / "depth", "Sintel depth folder", "pass the MPI-Sintel training root")
    found = sorted(p.name for p in depth_root.iterdir() if p.is_dir())
    return [s for s in preset.sequences if s in found] if preset.sequences else found


def load_sequence(root: Path, name: str, preset: Preset) -> EvalSequence:
    training = _training(root)
    dpts = preset.select(sorted((training / "depth" / name).glob("*.dpt")))
    if not dpts:
        raise InputError(f"no .dpt file in {training / 'depth' / name}", "check the sequence name")
    stems = [p.stem for p in dpts]
    depth = np.stack([read_dpt(p) for p in dpts])  # [T,H,W]
    valid = np.isfinite(depth) & (depth > 0)
    depth = np.where(valid, depth, 0.0).astype(np.float32)
    rgb_pass = preset.options.get("pass", "clean")
    frames = Frames([training / rgb_pass / name / f"{s}.png" for s in stems])
    K = poses = None
    cams = [training / "camdata_left" / name / f"{s}.cam" for s in stems]
    if all(c.is_file() for c in cams):
        parsed = [read_cam(c) for c in cams]
        K = np.stack([k for k, _ in parsed])
        world_to_cam = np.tile(np.eye(4), (len(parsed), 1, 1))
        world_to_cam[:, :3] = np.stack([e for _, e in parsed])
        poses = np.linalg.inv(world_to_cam)
    return EvalSequence(
        name, frames, depth, valid, preset.max_depth, K, poses, None, stems,
        {"dataset": "sintel", "preset": preset.name, "pass": rgb_pass},
    )  # fmt: skip
