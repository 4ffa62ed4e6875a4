"""Keep memory-mapped arrays and freed heap memory from filling the resident set.

Every page of a shared-file memmap that a process reads or writes stays in its resident set (and in its peak RSS)
until the mapping is closed, so one pass over a cache larger than RAM would be accounted as if it were loaded.
:func:`release` drops those pages from the process after a chunk is done with; the data stays in the file and the
kernel's page cache, and is read back transparently if touched again.

Freed arrays can stay resident too: glibc's ``malloc`` serves a large allocation from its own mapping (returned
to the system by ``free``) only above a threshold that it raises to the size of every such mapping freed (up to
32 MiB), and with it the free space it keeps at the top of each of its heaps (twice that: up to 64 MiB per heap,
one heap per worker thread's arena, up to 8 arenas per core). So after the movers' first block of frames, the next
blocks' arrays (e.g. a uint8 ``[154,240,320]`` stack of planes, 11.8 MB) came from the heaps, and each block left
more freed memory resident there: the process grew by tens of MB per block of a long video. :func:`bound_heap`
fixes both thresholds instead, and caps the arenas at one per core (each thread that frees arrays into an arena of
its own keeps up to a trim threshold of them there; with stage 2's threads overlapping, that raised the peak of a
600-frame run by 30–60 MiB); :func:`trim_heap` also returns the free memory between live objects, which only
``malloc_trim`` does (called between the movers' blocks and stage 2's windows: a few ms each).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import mmap
import os
import sys
from pathlib import Path

import numpy as np

__all__ = [
    "HEAP_ARENAS",
    "HEAP_MMAP_THRESHOLD",
    "HEAP_TRIM_THRESHOLD",
    "bound_heap",
    "delete_arrays",
    "new_array",
    "release",
    "trim_heap",
]

#: allocations of at least this many bytes get their own mapping (:func:`bound_heap`): glibc's own ceiling, so the
#: heap serves what it served before (a lower one costs time: 128 KiB cost the movers step 2.2× its CPU time)
HEAP_MMAP_THRESHOLD = 32 * 2**20
#: free space at the top of a heap beyond this many bytes goes back to the system (:func:`bound_heap`). 8 MiB
#: (before issue #20's speed work) made the per-pair and per-frame temporaries come back as fresh pages again and
#: again (316 k page faults in 48 frames, ≈ 4.5 µs of system time each on this machine; 245 k with 16 MiB); 64 MiB
#: (216 k) let the peak grow from 300 to 600 frames by 22–42 MiB, 16 MiB kept it flat (docs/geometric.md, Speed)
HEAP_TRIM_THRESHOLD = 16 * 2**20
#: glibc's heaps (arenas) at most, one per core (glibc's own limit is 8 per core): the threads share them. Measured
#: on a 600-frame 320×240 run (2 cores): peak RSS 821–834 MiB with glibc's limit, 778 MiB with 2 arenas, no slower
HEAP_ARENAS = max(2, os.cpu_count() or 2)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters


def bound_heap(
    mmap_threshold: int = HEAP_MMAP_THRESHOLD, trim_threshold: int = HEAP_TRIM_THRESHOLD, arenas: int = HEAP_ARENAS
) -> bool:
    """Fix glibc's thresholds for the rest of the process (module docstring): allocations of ``mmap_threshold``
    bytes or more get their own mapping, a heap keeps at most ``trim_threshold`` bytes of free space at its top, and
    threads created from now on share at most ``arenas`` heaps. Returns False where they cannot be set (not Linux,
    or a C library without ``mallopt``, e.g. musl): nothing changes then."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, mmap_threshold), (_M_TRIM_THRESHOLD, trim_threshold), (_M_ARENA_MAX, arenas))
    return all([bool(mallopt(param, int(value))) for param, value in settings])


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


def trim_heap() -> None:
    """glibc: return every heap's free memory to the system, including free pages between live objects
    (``malloc_trim(0)``); nothing elsewhere. Call it between blocks of a long loop, not per frame."""
    trim = _libc_function("malloc_trim")
    if trim is None:
        return
    trim.argtypes, trim.restype = (ctypes.c_size_t,), ctypes.c_int
    trim(0)


@functools.cache
def _libc_function(name: str) -> ctypes._CFuncPtr | None:
    """The C library's function ``name`` on Linux, looked up once per process (``find_library`` runs ``ldconfig``),
    or None (another system, or a C library without it, e.g. musl's ``malloc_trim``)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
