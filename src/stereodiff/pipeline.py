"""``StereoDiffPipeline``: stage 1 (pairwise matching → closed-form global alignment) → stage 2 (refinement).

A run optionally keeps its intermediate results in a run directory, which is what makes long videos fit in
bounded memory and what ``--resume`` continues from::

    RUN/frames/          the decoded frames (FrameStore: read per frame, never all in RAM)
    RUN/stage1/pairs/    the pair cache (PairCache, or the geometric matcher's RayPairCache: depth along rays),
                         memory-mapped, one done flag per pair; removed once the scene is saved
    RUN/stage1/scene/    the aligned scene: depth/confidence/valid (+ aligned_pointmaps) memmaps + geometry.npz,
                         ``done`` marker last; the steps' intermediate arrays (world_points, fused_*, movers_*)
                         live here until the scene is saved, then only the scene's own files are kept
    RUN/stage2/windows/  the stage-2 backend's finished windows
    RUN/stage2/out.npy   the final [T,H,W] depth/disparity, written window by window

Every step checks for its finished result first, so an interrupted run (even ``kill -9``) resumes where it
stopped and produces the same numbers as an uninterrupted one. Nothing reads the pair cache or the intermediate
arrays once the scene is saved (a resumed run reuses the scene), so they are deleted then: the run directory
keeps ``frames/``, the scene and stage 2's files (benchmarks/bench_disk.py measures it).
"""

from __future__ import annotations

import copy
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.backends import require_extra
from stereodiff.config import PipelineConfig, preset_config
from stereodiff.devices import resolve_device
from stereodiff.gpu import free_device_memory, resolve_dtype
from stereodiff.io.pages import bound_heap, release
from stereodiff.progress import logger
from stereodiff.stage1 import Stage1Backend
from stereodiff.stage2 import Stage2Backend
from stereodiff.types import AlignmentRecord, DepthVideo, SceneGeometry, Video

__all__ = ["StereoDiffPipeline", "drop_intermediates", "load_scene", "save_scene"]

_SCENE_ARRAYS = ("depth", "confidence", "valid", "aligned_pointmaps", "movers_given", "sky")
_RECORD_ARRAYS = ("tree", "edge_scores", "pair_scales", "per_frame_focal", "frame_log_scales", "pair_log_scales")


def _save_array(target: Path, array: np.ndarray) -> None:
    """``array`` ``[T,...]`` as the ``.npy`` file ``target``, one frame at a time (a memmap of it is flushed; a
    memmap of a whole ``.npy`` file in the same folder, e.g. a step's output, is flushed and renamed: no copy)."""
    if isinstance(array, np.memmap) and Path(array.filename).resolve() == target.resolve():
        array.flush()
        return
    if _whole_npy_memmap(array, target.parent):
        array.flush()
        Path(array.filename).replace(target)  # the map stays valid: it follows the file, not its name
        return
    out = np.lib.format.open_memmap(target, mode="w+", dtype=array.dtype, shape=array.shape)
    for t in range(array.shape[0]):
        out[t] = array[t]
        release(out, array)  # only the current frame stays resident
    out.flush()


def _whole_npy_memmap(array: np.ndarray, folder: Path) -> bool:
    """True when ``array`` is a memmap of all of a ``.npy`` file in ``folder`` (not a view of part of it)."""
    if not isinstance(array, np.memmap) or array.filename is None:
        return False
    path = Path(array.filename)
    if path.parent.resolve() != folder.resolve() or path.suffix != ".npy" or not path.is_file():
        return False
    whole = np.load(path, mmap_mode="r")
    return (
        array.offset == whole.offset and array.shape == whole.shape and array.dtype == whole.dtype
        and array.flags.c_contiguous
    )  # fmt: skip


def drop_intermediates(run_dir: Path) -> None:
    """Delete what nothing reads once ``run_dir``'s stage-1 scene is saved: the pair cache and the scene folder's
    arrays that are not the scene's own (the steps' intermediate results)."""
    import shutil

    shutil.rmtree(run_dir / "stage1" / "pairs", ignore_errors=True)
    kept = {f"{name}.npy" for name in _SCENE_ARRAYS}
    for path in (run_dir / "stage1" / "scene").glob("*.npy"):
        if path.name not in kept:
            path.unlink(missing_ok=True)


def save_scene(folder: Path, scene: SceneGeometry) -> None:
    """Persist a scene: big ``[T,h,w(,3)]`` arrays as ``.npy`` (memory-mappable), the rest in ``geometry.npz``
    (the :class:`~stereodiff.types.AlignmentRecord` included).

    ``done`` is written last, so a partly written scene is never taken as finished.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in _SCENE_ARRAYS:
        array = getattr(scene, name)
        if array is None:
            (folder / f"{name}.npy").unlink(missing_ok=True)  # e.g. the alignment's pointmaps, replaced by a fusion
        else:
            _save_array(folder / f"{name}.npy", array)
    small = {"focal": scene.focal, "principal_point": scene.principal_point, "cam_to_world": scene.cam_to_world}
    if np.isfinite(scene.ahead_share):
        small["ahead_share"] = np.float64(scene.ahead_share)
    record = scene.alignment
    if record is not None:
        small |= {f"alignment.{name}": getattr(record, name) for name in _RECORD_ARRAYS}
        small |= {
            f"alignment.{name}": np.asarray(getattr(record, name), np.int64) for name in ("pnp_frames", "pnp_failed")
        }
        small["alignment.root"] = np.asarray(record.root if record.root is not None else (), np.int64)
        small["alignment.scale_factor"] = np.float64(record.scale_factor)
    np.savez(folder / "geometry.npz", **{k: v for k, v in small.items() if v is not None})
    (folder / "done").write_text("ok\n")


def load_scene(folder: Path) -> SceneGeometry | None:
    """The scene saved by :func:`save_scene` (big arrays memory-mapped), or ``None`` if it is not finished."""
    folder = Path(folder)
    if not (folder / "done").is_file():
        return None
    arrays = {
        name: np.load(folder / f"{name}.npy", mmap_mode="r") if (folder / f"{name}.npy").is_file() else None
        for name in _SCENE_ARRAYS
    }
    with np.load(folder / "geometry.npz") as small:
        record = None
        if "alignment.tree" in small:
            root = small["alignment.root"].tolist()
            record = AlignmentRecord(
                root=tuple(root) if root else None,
                scale_factor=float(small["alignment.scale_factor"]),
                pnp_frames=small["alignment.pnp_frames"].tolist(),
                pnp_failed=small["alignment.pnp_failed"].tolist(),
                **{name: small[f"alignment.{name}"] for name in _RECORD_ARRAYS if f"alignment.{name}" in small},
            )
        return SceneGeometry(
            focal=small["focal"],
            principal_point=small["principal_point"],
            cam_to_world=small["cam_to_world"],
            alignment=record,
            ahead_share=float(small["ahead_share"]) if "ahead_share" in small else float("nan"),
            **arrays,
        )


class StereoDiffPipeline:
    """Stage 1 → stage 2, for one video; the backends come from the registry (:mod:`stereodiff.backends`).

    Build it with :meth:`from_config` (a :class:`PipelineConfig` or a preset name), then call it on a
    :class:`Video` (or a ``FrameStore`` for long videos). Backends are created once and reused across calls.
    """

    def __init__(self, config: PipelineConfig, stage1: Stage1Backend | None, stage2: Stage2Backend) -> None:
        self.config = config.validate()
        self.stage1 = stage1
        self.stage2 = stage2
        self.timings: dict[str, float] = {}
        self._dropping: Future | None = None  # the deletion run_stage1 left running (background_cleanup)

    @classmethod
    def from_config(cls, config: PipelineConfig | str) -> StereoDiffPipeline:
        """Create the pipeline and load the backends' models (weights are resolved here, once).

        ``device="auto"`` is resolved here (:func:`stereodiff.devices.resolve_device`; ``cpu`` without probing when
        every backend is weights-free, as they all run on the CPU), then ``dtype="auto"``
        (:func:`stereodiff.gpu.resolve_dtype`); ``pipeline.config`` holds what runs, so ``run.json`` records it.
        """
        config = preset_config(config) if isinstance(config, str) else copy.deepcopy(config.validate())
        entries = config.backends()
        weights_free = all(entry.extra is None for entry in entries)
        config.device = "cpu" if weights_free and config.device == "auto" else resolve_device(config.device)
        config.dtype = resolve_dtype(config.dtype, config.device)
        built = []
        for entry in entries:
            if entry.extra is not None:
                require_extra(entry.extra, f"the {entry.name!r} backend")
            built.append(entry.build(config) if entry.build is not None else None)
        return cls(config, *built)

    def _timed(self, name: str, start: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def run_stage1(
        self, frames: Any, run_dir: Path | None = None, *, background_cleanup: bool = False
    ) -> SceneGeometry | None:
        """The stage-1 scene at stage-1 resolution (``None`` without a stage 1); reused from ``run_dir`` when done.

        ``background_cleanup``: the intermediates (:func:`drop_intermediates`: the pair cache, hundreds of MB, whose
        pages the kernel frees in the calls; nothing reads them once the scene is saved) are still being deleted on
        a thread of its own when this returns; :meth:`wait_for_cleanup` waits for it (``__call__`` does, after
        stage 2). Otherwise they are deleted before this returns."""
        self.wait_for_cleanup()  # an earlier run's, if any
        scene, self._dropping = self._stage1(frames, run_dir)
        if not background_cleanup:
            self.wait_for_cleanup()
        return scene

    def wait_for_cleanup(self) -> None:
        """Wait for the deletion :meth:`run_stage1` left running (its error, if any, is raised here)."""
        dropping, self._dropping = self._dropping, None
        if dropping is not None:
            dropping.result()

    def _stage1(self, frames: Any, run_dir: Path | None) -> tuple[SceneGeometry | None, Future | None]:
        """:meth:`run_stage1`: the scene, and the future of the deletion of the intermediates (None: nothing to
        delete)."""
        if self.stage1 is None:
            return None, None
        scene_dir = run_dir / "stage1" / "scene" if run_dir is not None else None
        if scene_dir is not None and (scene := load_scene(scene_dir)) is not None:
            logger.info("stage 1: reusing the aligned scene in %s", scene_dir)
            return scene, None
        scene = self.stage1.reconstruct(frames, run_dir)
        for name, seconds in self.stage1.timings.items():
            self.timings[name] = self.timings.get(name, 0.0) + seconds
        dropping = None
        if scene_dir is not None:
            save_scene(scene_dir, scene)
            scene = load_scene(scene_dir)
            pool = ThreadPoolExecutor(1)
            dropping = pool.submit(drop_intermediates, run_dir)
            pool.shutdown(wait=False)  # its thread ends with the task
        return scene, dropping

    def __call__(self, video: Video | Any, *, run_dir: Path | None = None) -> DepthVideo:
        """Estimate the depth of ``video``.

        Args:
            video: a :class:`Video`, or a ``FrameStore`` / array-like ``[T,H,W,3]`` uint8 (long videos).
            run_dir: keep intermediate results there (bounded memory, resumable); ``None`` = all in memory.

        Returns:
            :class:`DepthVideo` at the source resolution and frame count: ``depth`` (one relative scale for the
            whole video) or ``disparity`` (one affine map), as the stage-2 backend returns, with the stage-1 scene
            (depth, confidence, intrinsics, poses) attached.
        """
        # 1. Check inputs
        frames = video.frames if isinstance(video, Video) else video
        num_frames = frames.shape[0]
        if num_frames < 1:
            raise ValueError("the video has no frames")
        run_dir = Path(run_dir) if run_dir is not None else None
        self.timings = {}
        bound_heap()  # freed block-sized arrays go back to the system: memory flat in the video length

        # 2. Stage 1: the aligned scene; its cached device memory is released before stage 2's window
        scene = self.run_stage1(frames, run_dir, background_cleanup=True)  # the intermediates go while stage 2 runs
        try:
            result = self._stage2(video, frames, scene, run_dir)
        except BaseException:
            dropping, self._dropping = self._dropping, None
            if dropping is not None:
                dropping.exception()  # waited for; stage 2's error is the one raised
            raise
        self.wait_for_cleanup()
        return result

    def _stage2(self, video: Video | Any, frames: Any, scene: SceneGeometry | None, run_dir: Path | None) -> DepthVideo:
        """Steps 3 and 4 of :meth:`__call__`."""
        num_frames, height, width = frames.shape[:3]
        free_device_memory(self.config.device)

        # 3. Stage 2 writes [T,H,W] float32 into `out` (a memmap in the run directory for long videos)
        start = time.perf_counter()
        if run_dir is not None:
            (run_dir / "stage2").mkdir(parents=True, exist_ok=True)
            out = np.lib.format.open_memmap(
                run_dir / "stage2" / "out.npy", mode="w+", dtype=np.float32, shape=(num_frames, height, width)
            )
        else:
            out = np.empty((num_frames, height, width), np.float32)
        # `out` is not flushed: the export reads it through this map, a resumed run rebuilds it from stage 2's saved
        # windows, and the run directory is deleted after the export (a synchronous write of the whole video saved)
        kind = self.stage2.refine(frames, scene, out, run_dir / "stage2" / "windows" if run_dir is not None else None)
        self._timed("stage2", start)
        if scene is not None and scene.sky is not None:  # stage 1's sky step (``stage1.sky``): beyond the far bound
            from stereodiff.stage1.sky import paint_sky

            start = time.perf_counter()
            paint_sky(out, scene.sky, kind, float(self.config.stage1.sky_far))
            self._timed("sky_paint", start)

        # 4. The result
        return DepthVideo(
            depth=out if kind == "depth" else None,
            disparity=out if kind == "disparity" else None,
            fps=float(getattr(video, "fps", 30.0)),
            source=str(getattr(video, "source", "")),
            frame_indices=getattr(video, "frame_indices", None),
            stage1_depth=scene.depth if scene is not None else None,
            geometry=scene,
            info={"config": self.config.to_dict(), "timings_s": dict(self.timings)},
        )
