"""The one sequence type every evaluation dataset yields, presets, and the shared file readers."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.errors import InputError

__all__ = [
    "EvalSequence",
    "Frames",
    "Preset",
    "associate_timestamps",
    "crop_slices",
    "read_depth_png",
    "read_rgb",
]


@dataclass(frozen=True)
class Preset:
    """Frame selection and cap of one published protocol.

    Attributes:
        name: preset name (e.g. ``"depthcrafter"``).
        sequences: the sequence names of the protocol; ``None`` = every sequence found under the root.
        start, stop, step: frame selection ``[start:stop:step]`` of each sequence's sorted frames.
        max_depth: the depth cap (GT unit, metres); ``None`` = no cap.
        crop: ``(top, bottom, left, right)`` crop as slice bounds (``(8, -8, 11, -11)``), ``"even"`` (cut H and W
            down to even numbers) or ``None``.
        options: dataset-specific settings (e.g. Sintel's ``{"pass": "clean"}``).
        note: where the preset comes from.
    """

    name: str
    sequences: tuple[str, ...] | None
    start: int | None = None
    stop: int | None = None
    step: int | None = None
    max_depth: float | None = None
    crop: tuple[int, int, int, int] | str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def select(self, items: list) -> list:
        return items[self.start : self.stop : self.step]


def crop_slices(crop, height: int, width: int) -> tuple[slice, slice]:
    """Row and column slices of a preset crop for an ``height × width`` image."""
    if crop is None:
        return slice(None), slice(None)
    if crop == "even":
        return slice(0, height - height % 2), slice(0, width - width % 2)
    top, bottom, left, right = crop
    return slice(top, bottom or None), slice(left, right or None)


def read_depth_png(path: Path, scale: float, invalid: tuple[int, ...] = (0,)) -> np.ndarray:
    """``[H,W]`` float32 depth of a 16-bit PNG divided by ``scale`` (values in ``invalid`` → 0)."""
    import cv2

    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(f"could not read depth image {path}", "check the dataset folder")
    if raw.dtype != np.uint16 or raw.ndim != 2:
        raise InputError(f"{path} is {raw.dtype} with shape {raw.shape}", "depth PNGs must be 16-bit single-channel")
    depth = raw.astype(np.float32) / np.float32(scale)
    depth[np.isin(raw, invalid)] = 0.0
    return depth


def read_rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """``[H,W,3]`` uint8 RGB of an image file; resized (area) to ``size = (H, W)`` when given and different."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"could not read image {path}", "check the dataset folder")
    if size is not None and image.shape[:2] != tuple(size):
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return image[..., ::-1].copy()


class Frames:
    """Lazily read RGB frames ``[T,H,W,3]`` uint8: indexing reads (and crops) only the frames asked for.

    Args:
        paths: one image file per frame.
        size: ``(H, W)`` to resize each image to before cropping (e.g. ScanNet's 1296×968 colour → 640×480).
        crop: ``(rows, cols)`` slices applied after resizing.
    """

    def __init__(self, paths: list[Path], size: tuple[int, int] | None = None, crop=(slice(None), slice(None))):
        self.paths = list(paths)
        self._size = size
        self._crop = crop
        self._shape: tuple[int, int, int, int] | None = None

    def _read(self, index: int) -> np.ndarray:
        return read_rgb(self.paths[index], self._size)[self._crop[0], self._crop[1]]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        if self._shape is None:
            self._shape = (len(self.paths), *self._read(0).shape)
        return self._shape

    ndim = 4
    dtype = np.dtype(np.uint8)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self._read(int(index) % len(self.paths))
        indices = range(len(self.paths))[index]
        return np.stack([self._read(i) for i in indices])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)


@dataclass
class EvalSequence:
    """One evaluation video with its ground truth.

    Attributes:
        name: sequence name (the prediction file is ``<name>.npz``).
        frames: ``[T,H,W,3]`` uint8 RGB array-like (``Frames`` reads lazily), cropped like the depth.
        depth: ``[T,H,W]`` float32 GT depth in metres; 0 where invalid.
        valid: ``[T,H,W]`` bool, where ``depth`` is a measurement (before the protocol's cap).
        max_depth: the preset's depth cap (metres) or ``None``.
        K: ``[T,3,3]`` float64 intrinsics in pixels of the (cropped) depth image, or ``None``.
        cam_to_world: ``[T,4,4]`` float64 GT camera-to-world poses, or ``None``.
        dynamic_mask: ``[T,H,W]`` bool moving-object mask, or ``None``.
        frame_names: ``[T]`` source name (file stem / timestamp) of each frame.
        info: dataset, preset and any settings worth recording (e.g. which Bonn person_tracking variant).
    """

    name: str
    frames: Any
    depth: np.ndarray
    valid: np.ndarray
    max_depth: float | None
    K: np.ndarray | None = None
    cam_to_world: np.ndarray | None = None
    dynamic_mask: np.ndarray | None = None
    frame_names: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.depth.shape[0])


def associate_timestamps(first: np.ndarray, second: np.ndarray, max_difference: float = 0.02) -> list[tuple[int, int]]:
    """Pair two timestamp lists like TUM's ``associate.py``: greedily by smallest difference (≤ ``max_difference``
    seconds), each stamp used once; returns ``(i, j)`` index pairs sorted by ``first``'s stamp."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    diff = np.abs(first[:, None] - second[None, :])  # [N,M]
    i, j = np.nonzero(diff <= max_difference)
    order = np.lexsort((j, i, diff[i, j]))
    used_a, used_b, pairs = set(), set(), []
    for a, b in zip(i[order], j[order]):
        if a not in used_a and b not in used_b:
            used_a.add(a)
            used_b.add(b)
            pairs.append((int(a), int(b)))
    return sorted(pairs)


def nearest_poses(stamps: np.ndarray, pose_stamps: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """``[T,4,4]`` pose of each stamp: the pose with the nearest timestamp."""
    order = np.argsort(pose_stamps)
    pose_stamps, poses = pose_stamps[order], poses[order]
    right = np.clip(np.searchsorted(pose_stamps, stamps), 1, len(pose_stamps) - 1)
    left = right - 1
    pick = np.where(np.abs(pose_stamps[left] - stamps) <= np.abs(pose_stamps[right] - stamps), left, right)
    return poses[pick]


def require_dir(path: Path, what: str, hint: str) -> Path:
    if not Path(path).is_dir():
        raise InputError(f"{what} {path} not found", hint)
    return Path(path)
