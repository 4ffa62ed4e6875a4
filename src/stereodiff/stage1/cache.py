"""On-disk caches of pairwise predictions: resumable, memory-mapped, safe against ``kill -9``.

:class:`PairCache` (any backend, e.g. the networks) stores the ``PairPredictions`` layout; every file a ``.npy``
readable by ``np.load(..., mmap_mode="r")``::

    pairs.json  {"pairs": [[i, j], ...]}  the directed pairs: the folder's stamp, written last when it is created
    pts_i.npy   [P,h,w,3] float32
    pts_j.npy   [P,h,w,3] float32
    conf_i.npy  [P,h,w] float32
    conf_j.npy  [P,h,w] float32
    done.npy    [P] bool      True once row p of every data file is on disk

:class:`RayPairCache` (the geometric matcher) stores one row per unordered pair (edge) of the directed pairs, as
depth along the pixel rays (:mod:`stereodiff.stage1.ray_pairs`; 4 float32 per pixel and edge instead of 16)::

    pairs.json  {"pairs": [[i, j], ...], "layout": "rays"}
    rays.npy    [h,w,3] float32  the pixel rays (z = 1), written when the folder is created
    depth.npy   [E,2,h,w] float32
    conf.npy    [E,2,h,w] float32
    pose.npy    [E,3,4] float64  [R | t] a → b, NaN for a failed pair
    done.npy    [E] bool

Rows are written with ``pwrite`` (not through a memory map: flushing a map of a multi-GB file after every pair
rewrote whole page-cache folios around each row, ~12× the data, and stalled long videos). Done flags are set in
batches of ``sync_every`` pairs, after the batch's data has been synced to disk (``fdatasync``), and ``pairs.json``
is renamed into place only after the other files exist (``stereodiff.io.files.stamped_folder``). So an interrupted
run (``kill -9``, OOM, even a power cut) leaves either a valid cache — rows not marked done, at most one batch, are
recomputed — or a folder without ``pairs.json`` (recreated from scratch on the next ``open``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from stereodiff.errors import InputError
from stereodiff.io.files import stamped_folder
from stereodiff.stage1.ray_pairs import RayDepthPairs, pair_edges
from stereodiff.types import PairPredictions

__all__ = ["PairCache", "RayPairCache"]

_WHAT, _FIX = "pairwise predictions", "use another cache folder or delete this one"
_DAMAGED = "delete the folder to start over"


class _RowFiles:
    """Row-wise ``.npy`` data files plus ``done.npy`` in a stamped folder (the mechanics the module docstring
    describes): created sparse, written with ``pwrite``, synced and marked done in batches."""

    def __init__(self, folder: Path, specs: dict[str, tuple[tuple[int, ...], type]], sync_every: int) -> None:
        self.folder, self.specs, self.sync_every = folder, specs, int(sync_every)
        self.arrays: dict[str, np.memmap] = {}  # read-only maps: shapes, header offsets and the done flags
        self._pending: list[int] = []  # rows written but not yet marked done

    @classmethod
    def open(
        cls,
        folder: Path,
        stamp: dict,
        specs: dict[str, tuple[tuple[int, ...], type]],
        sync_every: int,
        create_extra: Callable[[], None] | None = None,
    ) -> _RowFiles:
        """Create the files (``specs``: name → (shape, dtype), ``create_extra`` for more) and the stamp, or check
        the ones there; InputError for another stamp, another shape or damaged files."""
        if sync_every < 1:
            raise ValueError(f"sync_every must be >= 1, got {sync_every}")
        num = next(iter(specs.values()))[0][0]

        def create() -> None:  # data and flags first; the stamp (written last, atomically) marks the folder complete
            needed = sum(int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in specs.values())
            _check_disk_space(folder, needed)  # the files are sparse
            for name, (shape, dtype) in specs.items():
                np.lib.format.open_memmap(folder / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)
            if create_extra is not None:
                create_extra()
            done = np.lib.format.open_memmap(folder / "done.npy", mode="w+", dtype=np.bool_, shape=(num,))
            done[:] = False
            done.flush()

        stamped_folder(folder, stamp, name="pairs.json", what=_WHAT, fix=_FIX, create=create)
        files = cls(folder, specs, sync_every)
        try:
            for name, (shape, dtype) in specs.items():
                files.arrays[name] = np.lib.format.open_memmap(folder / f"{name}.npy", mode="r")
                if files.arrays[name].shape != shape or files.arrays[name].dtype != dtype:
                    raise InputError(
                        f"the pair cache {folder} holds {name} of shape {files.arrays[name].shape}, "
                        f"expected {shape} {np.dtype(dtype)} (another pointmap size?)",
                        _FIX,
                    )
            files.arrays["done"] = np.lib.format.open_memmap(folder / "done.npy", mode="r")
        except (OSError, ValueError) as err:
            if isinstance(err, InputError):
                raise
            raise InputError(f"the pair cache {folder} is damaged ({err})", _DAMAGED) from err
        if files.arrays["done"].shape != (num,) or files.arrays["done"].dtype != np.bool_:
            raise InputError(f"the pair cache {folder} has a damaged done.npy", _DAMAGED)
        return files

    def done(self) -> np.ndarray:
        """``[N]`` bool: rows on disk."""
        return np.asarray(self.arrays["done"])

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Store ``values[name] [n, ...]`` (C-contiguous) as rows ``rows [n]`` (marked done with the next
        :meth:`commit`)."""
        for name, value in values.items():
            row_bytes = value[0].nbytes
            start = self.arrays[name].offset  # the .npy header's length
            with open(self.folder / f"{name}.npy", "r+b") as handle:
                for row, data in zip(rows.tolist(), value):
                    os.pwrite(handle.fileno(), memoryview(data), start + row * row_bytes)  # C-order, no copy
        self._pending.extend(rows.tolist())
        if len(self._pending) >= self.sync_every:
            self.commit()

    def commit(self) -> None:
        """Sync the data written since the last commit to disk, then mark those rows done."""
        if not self._pending:
            return
        for name in self.specs:
            with open(self.folder / f"{name}.npy", "r+b") as handle:
                os.fdatasync(handle.fileno())
        with open(self.folder / "done.npy", "r+b") as handle:
            for row in self._pending:
                os.pwrite(handle.fileno(), b"\x01", self.arrays["done"].offset + row)
        self._pending = []

    def check_complete(self, missing: np.ndarray, pairs: np.ndarray) -> None:
        """InputError when pairs ``missing`` (indices into ``pairs``) have not been written."""
        if len(missing):
            raise InputError(
                f"the pair cache {self.folder} is incomplete: {len(missing)} of {len(pairs)} pairs are missing "
                f"(first: {pairs[missing[0]].tolist()})",
                "run the stage-1 backend on this cache to fill it",
            )

    def views(self) -> dict[str, np.memmap]:
        """Every data file as a read-only memmap."""
        return {name: np.load(self.folder / f"{name}.npy", mmap_mode="r") for name in self.specs}


def _check_pairs(pairs: np.ndarray, size: tuple[int, int], num_frames: int) -> tuple[np.ndarray, int, int]:
    """``(pairs [P,2] int64, h, w)``; ValueError on bad ``pairs``, ``size`` or ``num_frames``."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
        raise ValueError(f"pairs must be an integer array of shape [P,2], got {pairs.dtype} {pairs.shape}")
    pairs = pairs.astype(np.int64)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= num_frames):
        raise ValueError(f"pairs must index frames 0..{num_frames - 1} (num_frames={num_frames})")
    h, w = (int(v) for v in size)
    if h < 1 or w < 1:
        raise ValueError(f"size must be (h, w) with positive entries, got {size}")
    return pairs, h, w


def _row_index(index: np.ndarray | int, num: int) -> np.ndarray:
    """``[n]`` int64 rows of ``index`` (one integer or a 1-D integer array), checked to lie in ``0..num-1``."""
    rows = np.atleast_1d(np.asarray(index))
    if rows.dtype.kind not in "iu" or rows.ndim != 1:
        raise ValueError(f"index must be an integer or a 1-D integer array, got {index!r}")
    if len(rows) and (rows.min() < 0 or rows.max() >= num):
        raise ValueError(f"index must lie in 0..{num - 1}, got {rows.tolist()}")
    return rows.astype(np.int64)


class PairCache:
    """Pairwise predictions stored as ``.npy`` memmaps in one folder (see the module docstring).

    Use :meth:`open`, then :meth:`missing` to know which pairs to compute, :meth:`write` for each result, and
    :meth:`predictions` for the finished ``PairPredictions`` (read-only memmap views). :meth:`commit` marks the
    pairs written so far as done (``write`` does it every ``sync_every`` pairs, ``predictions`` at the end).
    """

    def __init__(self, files: _RowFiles, pairs: np.ndarray, num_frames: int) -> None:
        self.folder = files.folder
        self.pairs = pairs
        self.num_frames = num_frames
        self.sync_every = files.sync_every
        self._files = files

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
        pairs, h, w = _check_pairs(pairs, size, num_frames)
        num = len(pairs)
        specs = {
            "pts_i": ((num, h, w, 3), np.float32),
            "pts_j": ((num, h, w, 3), np.float32),
            "conf_i": ((num, h, w), np.float32),
            "conf_j": ((num, h, w), np.float32),
        }
        files = _RowFiles.open(Path(folder), {"pairs": pairs.tolist()}, specs, sync_every)
        return cls(files, pairs, int(num_frames))

    @property
    def size(self) -> tuple[int, int]:
        """``(h, w)`` of the pointmaps."""
        return int(self._files.arrays["conf_i"].shape[1]), int(self._files.arrays["conf_i"].shape[2])

    def missing(self) -> np.ndarray:
        """``[M]`` int64 indices into ``pairs`` of the pairs not written yet."""
        return np.flatnonzero(~self._files.done()).astype(np.int64)

    def write(self, index: np.ndarray | int, pts_i, pts_j, conf_i, conf_j) -> None:
        """Store the results of pairs ``index`` (marked done with the next :meth:`commit`).

        Args:
            index: one pair index, or ``[n]`` indices into ``pairs``.
            pts_i, pts_j: ``[h,w,3]`` (one index) or ``[n,h,w,3]`` pointmaps in camera ``i``.
            conf_i, conf_j: ``[h,w]`` or ``[n,h,w]`` raw confidences.
        """
        scalar = np.ndim(index) == 0
        rows = _row_index(index, len(self.pairs))
        values = {}
        for name, value in {"pts_i": pts_i, "pts_j": pts_j, "conf_i": conf_i, "conf_j": conf_j}.items():
            value = np.ascontiguousarray(value, dtype=np.float32)  # rows written as they lie in memory
            if scalar:
                value = value[None]
            expected = (len(rows), *self._files.arrays[name].shape[1:])
            if value.shape != expected:
                raise ValueError(f"{name} must have shape {expected[scalar:]}, got {value.shape[scalar:]}")
            values[name] = value
        self._files.write(rows, values)

    def commit(self) -> None:
        """Sync the data written since the last commit to disk, then mark those pairs done."""
        self._files.commit()

    def predictions(self) -> PairPredictions:
        """Every pair as read-only memmap views.

        Raises:
            InputError: some pairs have not been written yet.
        """
        self.commit()
        self._files.check_complete(self.missing(), self.pairs)
        return PairPredictions(pairs=self.pairs.copy(), num_frames=self.num_frames, **self._files.views())


class RayPairCache:
    """The geometric matcher's pairs as depth along rays, one row per unordered pair (module docstring).

    Use :meth:`open`, :meth:`missing` (directed pairs whose edge is not stored), :meth:`write` per edge, and
    :meth:`predictions` (``PairPredictions`` computed from read-only memmaps when indexed).
    """

    def __init__(self, files: _RowFiles, pairs: np.ndarray, num_frames: int, rays: np.ndarray) -> None:
        self.folder = files.folder
        self.pairs = pairs
        self.num_frames = num_frames
        self.rays = rays
        self.edges, self.edge, _ = pair_edges(pairs)
        self._files = files

    @classmethod
    def open(
        cls, folder: Path, pairs: np.ndarray, rays: np.ndarray, num_frames: int, sync_every: int = 32
    ) -> RayPairCache:
        """Create the cache in ``folder``, or reopen the one already there.

        Args:
            folder: the cache folder (created if needed).
            pairs: ``[P,2]`` integer directed pairs ``(i, j)``.
            rays: ``[h,w,3]`` float32 pixel rays (``z = 1``) of the matcher's camera.
            num_frames: number of frames ``T`` of the video (every pair index must be < T).
            sync_every: edges per durable batch.

        Raises:
            ValueError: bad ``pairs``, ``rays`` or ``num_frames``.
            InputError: the folder holds a cache of other pairs, another size or other rays (another focal), or a
                damaged one.
        """
        rays = np.asarray(rays)
        if rays.ndim != 3 or rays.shape[2] != 3 or rays.dtype != np.float32:
            raise ValueError(f"rays must be a float32 [h,w,3] array, got {rays.dtype} {rays.shape}")
        pairs, h, w = _check_pairs(pairs, rays.shape[:2], num_frames)
        num = len(pair_edges(pairs)[0])
        folder = Path(folder)
        specs = {
            "depth": ((num, 2, h, w), np.float32),
            "conf": ((num, 2, h, w), np.float32),
            "pose": ((num, 3, 4), np.float64),
        }
        files = _RowFiles.open(
            folder,
            {"pairs": pairs.tolist(), "layout": "rays"},
            specs,
            sync_every,
            create_extra=lambda: np.save(folder / "rays.npy", rays),
        )
        try:
            stored = np.load(folder / "rays.npy")
        except (OSError, ValueError) as err:
            raise InputError(f"the pair cache {folder} is damaged ({err})", _DAMAGED) from err
        if stored.shape != rays.shape or stored.tobytes() != rays.tobytes():
            raise InputError(f"the pair cache {folder} was made with other pixel rays (another focal?)", _FIX)
        return cls(files, pairs, int(num_frames), rays)

    def missing(self) -> np.ndarray:
        """``[M]`` int64 indices into ``pairs`` of the directed pairs whose edge is not written yet."""
        return np.flatnonzero(~self._files.done()[self.edge]).astype(np.int64)

    def write(self, edge: int, depth: np.ndarray, conf: np.ndarray, pose: np.ndarray) -> None:
        """Store edge ``edge`` (an index into ``edges``): ``depth``, ``conf`` ``[2,h,w]`` (frame a, frame b) and
        ``pose [3,4]`` (a → b, NaN if the pair failed); marked done with the next :meth:`commit`."""
        rows = _row_index(edge, len(self.edges))
        values = {"depth": depth, "conf": conf, "pose": pose}
        for name, value in values.items():
            shape, dtype = self._files.specs[name]
            values[name] = np.ascontiguousarray(value, dtype=dtype)[None]  # rows written as they lie in memory
            if values[name].shape[1:] != shape[1:]:
                raise ValueError(f"{name} must have shape {shape[1:]}, got {np.shape(value)}")
        self._files.write(rows, values)

    def commit(self) -> None:
        """Sync the edges written since the last commit to disk, then mark them done."""
        self._files.commit()

    def predictions(self) -> PairPredictions:
        """Every directed pair, computed from read-only memmaps when indexed.

        Raises:
            InputError: some edges have not been written yet.
        """
        self.commit()
        self._files.check_complete(self.missing(), self.pairs)
        views = self._files.views()
        pose = np.array(views.pop("pose"))
        return RayDepthPairs(self.pairs.copy(), self.num_frames, self.rays, pose=pose, **views).predictions()


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
