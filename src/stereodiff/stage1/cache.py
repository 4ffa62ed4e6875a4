"""An on-disk cache of pairwise predictions: resumable, memory-mapped, safe against ``kill -9``.

Layout of a cache folder (every file a ``.npy`` readable by ``np.load(..., mmap_mode="r")``)::

    pairs.json  {"pairs": [[i, j], ...]}  the directed pairs: the folder's stamp, written last when it is created
    pts_i.npy   [P,h,w,3] float32
    pts_j.npy   [P,h,w,3] float32
    conf_i.npy  [P,h,w] float32
    conf_j.npy  [P,h,w] float32
    done.npy    [P] bool      True once row p of every data file is on disk

Rows are written with ``pwrite`` (not through a memory map: flushing a map of a multi-GB file after every pair
rewrote whole page-cache folios around each row, ~12× the data, and stalled long videos). Done flags are set in
batches of ``sync_every`` pairs, after the batch's data has been synced to disk (``fdatasync``), and ``pairs.json``
is renamed into place only after the other files exist (``stereodiff.io.files.stamped_folder``). So an interrupted
run (``kill -9``, OOM, even a power cut) leaves either a valid cache — rows not marked done, at most one batch, are
recomputed — or a folder without ``pairs.json`` (recreated from scratch on the next ``open``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.io.files import stamped_folder
from stereodiff.types import PairPredictions

__all__ = ["PairCache"]

_DATA = ("pts_i", "pts_j", "conf_i", "conf_j")


class PairCache:
    """Pairwise predictions stored as ``.npy`` memmaps in one folder (see the module docstring).

    Use :meth:`open`, then :meth:`missing` to know which pairs to compute, :meth:`write` for each result, and
    :meth:`predictions` for the finished ``PairPredictions`` (read-only memmap views). :meth:`commit` marks the
    pairs written so far as done (``write`` does it every ``sync_every`` pairs, ``predictions`` at the end).
    """

    def __init__(
        self, folder: Path, pairs: np.ndarray, num_frames: int, arrays: dict[str, np.memmap], sync_every: int = 32
    ) -> None:
        self.folder = folder
        self.pairs = pairs
        self.num_frames = num_frames
        self.sync_every = int(sync_every)
        self._arrays = arrays  # read-only maps: shapes, header offsets and the done flags
        self._done = arrays["done"]
        self._pending: list[int] = []  # rows written but not yet marked done

    @classmethod
    def open(
        cls, folder: Path, pairs: np.ndarray, size: tuple[int, int], num_frames: int, sync_every: int = 32
    ) -> PairCache:
        """Create the cache in ``folder``, or reopen the one already there.

        Args:
            folder: the cache folder (created if needed).
            pairs: ``[P,2]`` integer directed pairs ``(i, j)``.
            size: ``(h, w)`` of the pointmaps, in pixels.
            num_frames: number of frames ``T`` of the video (every pair index must be < T).
            sync_every: pairs per durable batch (data synced, then marked done); at most this many are lost to
                an interruption.

        Raises:
            ValueError: bad ``pairs``, ``size`` or ``num_frames``.
            InputError: the folder holds a cache of other pairs or another size (or a damaged one).
        """
        pairs = np.asarray(pairs)
        if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
            raise ValueError(f"pairs must be an integer array of shape [P,2], got {pairs.dtype} {pairs.shape}")
        pairs = pairs.astype(np.int64)
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= num_frames):
            raise ValueError(f"pairs must index frames 0..{num_frames - 1} (num_frames={num_frames})")
        h, w = (int(v) for v in size)
        if h < 1 or w < 1:
            raise ValueError(f"size must be (h, w) with positive entries, got {size}")
        if sync_every < 1:
            raise ValueError(f"sync_every must be >= 1, got {sync_every}")
        folder = Path(folder)
        shapes = {"pts_i": (h, w, 3), "pts_j": (h, w, 3), "conf_i": (h, w), "conf_j": (h, w)}
        num = len(pairs)

        def create() -> None:  # data and flags first; the stamp (written last, atomically) marks the folder complete
            _check_disk_space(folder, num * 8 * h * w * 4)  # 8 float32 per pixel and pair (files are sparse)
            for name, shape in shapes.items():
                np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=np.float32, shape=(num, *shape))
            done = np.lib.format.open_memmap(folder / "done.npy", mode="w+", dtype=np.bool_, shape=(num,))
            done[:] = False
            done.flush()

        what, fix = "pairwise predictions", "use another cache folder or delete this one"
        stamped_folder(folder, {"pairs": pairs.tolist()}, name="pairs.json", what=what, fix=fix, create=create)
        arrays: dict[str, np.memmap] = {}
        try:
            for name, shape in shapes.items():
                arrays[name] = np.lib.format.open_memmap(folder / f"{name}.npy", mode="r")
                if arrays[name].shape != (num, *shape) or arrays[name].dtype != np.float32:
                    raise InputError(
                        f"the pair cache {folder} holds {name} of shape {arrays[name].shape}, "
                        f"expected {(num, *shape)} float32 (another pointmap size?)",
                        "use another cache folder or delete this one",
                    )
            arrays["done"] = np.lib.format.open_memmap(folder / "done.npy", mode="r")
        except (OSError, ValueError) as err:
            if isinstance(err, InputError):
                raise
            raise InputError(f"the pair cache {folder} is damaged ({err})", "delete the folder to start over") from err
        if arrays["done"].shape != (num,) or arrays["done"].dtype != np.bool_:
            raise InputError(f"the pair cache {folder} has a damaged done.npy", "delete the folder to start over")
        return cls(folder, pairs, int(num_frames), arrays, sync_every)

    @property
    def size(self) -> tuple[int, int]:
        """``(h, w)`` of the pointmaps."""
        return int(self._arrays["conf_i"].shape[1]), int(self._arrays["conf_i"].shape[2])

    def missing(self) -> np.ndarray:
        """``[M]`` int64 indices into ``pairs`` of the pairs not written yet."""
        return np.flatnonzero(~np.asarray(self._done)).astype(np.int64)

    def write(self, index: np.ndarray | int, pts_i, pts_j, conf_i, conf_j) -> None:
        """Store the results of pairs ``index`` (marked done with the next :meth:`commit`).

        Args:
            index: one pair index, or ``[n]`` indices into ``pairs``.
            pts_i, pts_j: ``[h,w,3]`` (one index) or ``[n,h,w,3]`` pointmaps in camera ``i``.
            conf_i, conf_j: ``[h,w]`` or ``[n,h,w]`` raw confidences.
        """
        scalar = np.ndim(index) == 0
        rows = np.atleast_1d(np.asarray(index))
        if rows.dtype.kind not in "iu" or rows.ndim != 1:
            raise ValueError(f"index must be an integer or a 1-D integer array, got {index!r}")
        num = len(self.pairs)
        if len(rows) and (rows.min() < 0 or rows.max() >= num):
            raise ValueError(f"index must lie in 0..{num - 1}, got {rows.tolist()}")
        values = {}
        for name, value in {"pts_i": pts_i, "pts_j": pts_j, "conf_i": conf_i, "conf_j": conf_j}.items():
            value = np.ascontiguousarray(value, dtype=np.float32)  # rows written as they lie in memory
            if scalar:
                value = value[None]
            expected = (len(rows), *self._arrays[name].shape[1:])
            if value.shape != expected:
                raise ValueError(f"{name} must have shape {expected[scalar:]}, got {value.shape[scalar:]}")
            values[name] = value
        for name, value in values.items():
            row_bytes = value[0].nbytes
            start = self._arrays[name].offset  # the .npy header's length
            with open(self.folder / f"{name}.npy", "r+b") as handle:
                for row, data in zip(rows.tolist(), value):
                    os.pwrite(handle.fileno(), memoryview(data), start + row * row_bytes)  # C-order, no copy
        self._pending.extend(rows.tolist())
        if len(self._pending) >= self.sync_every:
            self.commit()

    def commit(self) -> None:
        """Sync the data written since the last commit to disk, then mark those pairs done."""
        if not self._pending:
            return
        for name in _DATA:
            with open(self.folder / f"{name}.npy", "r+b") as handle:
                os.fdatasync(handle.fileno())
        with open(self.folder / "done.npy", "r+b") as handle:
            for row in self._pending:
                os.pwrite(handle.fileno(), b"\x01", self._done.offset + row)
        self._pending = []

    def predictions(self) -> PairPredictions:
        """Every pair as read-only memmap views.

        Raises:
            InputError: some pairs have not been written yet.
        """
        self.commit()
        missing = self.missing()
        if len(missing):
            raise InputError(
                f"the pair cache {self.folder} is incomplete: {len(missing)} of {len(self.pairs)} pairs are missing "
                f"(first: {self.pairs[missing[0]].tolist()})",
                "run the stage-1 backend on this cache to fill it",
            )
        views = {name: np.load(self.folder / f"{name}.npy", mmap_mode="r") for name in _DATA}
        return PairPredictions(pairs=self.pairs.copy(), num_frames=self.num_frames, **views)


def _check_disk_space(folder: Path, needed: int) -> None:
    """InputError when ``folder``'s file system has less free space than ``needed`` bytes.

    The cache files are created sparse and filled as pairs finish; running out of space half-way would kill the
    process with SIGBUS (a write into a memory map cannot fail politely), so the space is checked up front.
    """
    import shutil

    free = shutil.disk_usage(folder).free
    if free < needed:
        raise InputError(
            f"the pair cache in {folder} needs {needed / 2**30:.1f} GiB of disk "
            f"but only {free / 2**30:.1f} GiB is free",
            "free disk space, write the output (-o) to a larger disk, or lower --stage1-res / the number of frames",
        )
