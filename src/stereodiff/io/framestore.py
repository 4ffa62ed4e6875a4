"""Frames kept on disk and read back with ordinary file reads.

A long video does not fit in RAM, and a memory map would not help: every mapped page a stage touches stays in the
process's resident set. ``FrameStore`` reads only the frames asked for (``os.pread``), so peak memory depends on
the window a stage works on, not on the video length. It quacks like a read-only ``[T,H,W,3]`` uint8 array for
the stages (``shape``, ``len``, integer / slice / index-array indexing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = ["FrameStore"]


class FrameStore:
    """Read-only ``[T,H,W,3]`` uint8 frames in a raw file ``frames.u8`` + ``frames.json`` (shape, fps)."""

    def __init__(self, folder: Path) -> None:
        folder = Path(folder)
        meta = json.loads((folder / "frames.json").read_text())
        self.folder = folder
        self.shape: tuple[int, int, int, int] = tuple(meta["shape"])  # type: ignore[assignment]
        self.fps = float(meta["fps"])
        self.frame_indices = np.asarray(meta["frame_indices"], dtype=np.int64)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 4
        self._frame_bytes = int(np.prod(self.shape[1:]))
        self._fd = os.open(folder / "frames.u8", os.O_RDONLY)

    @staticmethod
    def exists(folder: Path) -> bool:
        """True when ``folder`` holds a complete store (the metadata is written last)."""
        return (Path(folder) / "frames.json").is_file()

    @classmethod
    def write(
        cls,
        folder: Path,
        frames: Iterable[np.ndarray],
        *,
        fps: float,
        frame_indices: Iterable[int] | None = None,
    ) -> FrameStore:
        """Stream ``frames`` (each ``[H,W,3]`` uint8, all the same size) into ``folder``; returns the store.

        The metadata file is written (atomically) after the data, so an interrupted write leaves no store;
        ``frame_indices`` is read only then, so it may be a list that the ``frames`` generator fills as it goes.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        size = None
        count = 0
        with open(folder / "frames.u8", "wb") as handle:
            for frame in frames:
                frame = np.ascontiguousarray(frame, dtype=np.uint8)
                if size is None:
                    size = frame.shape
                if frame.shape != size or frame.ndim != 3 or frame.shape[2] != 3:
                    raise ValueError(f"frame {count} has shape {frame.shape}; every frame must be {size} RGB")
                handle.write(frame.tobytes())
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        if size is None:
            raise ValueError("the video has no frames")
        indices = list(range(count)) if frame_indices is None else [int(i) for i in frame_indices]
        meta = {"shape": [count, *size], "fps": fps, "frame_indices": indices[:count]}
        tmp = folder / "frames.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(folder / "frames.json")
        return cls(folder)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, index: int) -> np.ndarray:
        if not -len(self) <= index < len(self):
            raise IndexError(f"frame {index} is out of range for {len(self)} frames")
        index %= len(self)
        raw = os.pread(self._fd, self._frame_bytes, index * self._frame_bytes)
        return np.frombuffer(raw, dtype=np.uint8).reshape(self.shape[1:])

    def __getitem__(self, key: int | slice | np.ndarray | list[int]) -> np.ndarray:
        """``[H,W,3]`` for an integer, ``[N,H,W,3]`` for a slice or an index array (a fresh, writable copy)."""
        if isinstance(key, (int, np.integer)):
            return self._read(int(key)).copy()
        indices = range(len(self))[key] if isinstance(key, slice) else np.asarray(key).reshape(-1)
        out = np.empty((len(indices), *self.shape[1:]), np.uint8)
        for n, index in enumerate(indices):
            out[n] = self._read(int(index))
        return out

    def __array__(self, dtype: np.dtype | None = None, copy: bool | None = None) -> np.ndarray:
        frames = self[:]
        return frames if dtype is None else frames.astype(dtype)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:
        self.close()
