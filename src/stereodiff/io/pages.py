"""Keep memory-mapped arrays from filling the resident set.

Every page of a shared-file memmap that a process reads or writes stays in its resident set (and in its peak RSS)
until the mapping is closed, so one pass over a cache larger than RAM would be accounted as if it were loaded.
:func:`release` drops those pages from the process after a chunk is done with; the data stays in the file and the
kernel's page cache, and is read back transparently if touched again.
"""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

__all__ = ["delete_arrays", "new_array", "release"]


def new_array(folder: str | Path | None, name: str, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    """A zero-filled output array: the memmap ``folder/<name>.npy`` (folder created), or in memory without a folder."""
    if folder is None:
        return np.zeros(shape, dtype=dtype)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(Path(folder) / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)


def delete_arrays(folder: str | Path | None, *names: str) -> None:
    """Delete the arrays ``folder/<name>.npy`` made by :func:`new_array` (nothing without a folder, or when absent).

    Their disk space is freed once no memmap of them is left (a mapping keeps a deleted file's data readable).
    """
    if folder is None:
        return
    for name in names:
        (Path(folder) / f"{name}.npy").unlink(missing_ok=True)


def release(*arrays: object) -> None:
    """Drop the resident pages of each shared-file ``np.memmap`` in ``arrays`` (others are ignored).

    Written pages must have been flushed first (``array.flush()``) when they should reach the file before a crash;
    dropping a shared mapping's pages never loses data. Private (copy-on-write) maps are left alone: dropping their
    pages would discard their changes.
    """
    if not hasattr(mmap, "MADV_DONTNEED"):  # e.g. Windows: nothing to do
        return
    for array in arrays:
        handle = getattr(array, "_mmap", None)
        if isinstance(array, np.memmap) and handle is not None and array.mode in ("r", "r+", "w+"):
            handle.madvise(mmap.MADV_DONTNEED)
