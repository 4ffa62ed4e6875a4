"""``StereoDiffPipeline``: stage 1 (pairwise matching → closed-form global alignment) → stage 2 (refinement).

A run optionally keeps its intermediate results in a run directory, which is what makes long videos fit in
bounded memory and what ``--resume`` continues from::

    RUN/frames/          the decoded frames (FrameStore: read per frame, never all in RAM)
    RUN/stage1/pairs/    PairCache: pairwise pointmaps, memory-mapped, one done flag per pair
    RUN/stage1/scene/    the aligned scene: depth/confidence memmaps + geometry.npz, ``done`` marker last
    RUN/stage2/windows/  the stage-2 backend's finished windows
    RUN/stage2/out.npy   the final [T,H,W] depth/disparity, written window by window

Every step checks for its finished result first, so an interrupted run (even ``kill -9``) resumes where it
stopped and produces the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.config import PipelineConfig, preset_config
from stereodiff.gpu import free_device_memory
from stereodiff.io.pages import release
from stereodiff.progress import logger, progress
from stereodiff.stage1 import Stage1Backend
from stereodiff.stage2 import Stage2Backend
from stereodiff.types import DepthVideo, PairPredictions, SceneGeometry, Video

__all__ = ["STAGE1_FACTORIES", "STAGE2_FACTORIES", "StereoDiffPipeline", "load_scene", "save_scene"]


def _torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def _network_stage1(config: PipelineConfig) -> Stage1Backend:
    from stereodiff.stage1.croco import load_croco_stereo
    from stereodiff.stage1.network import NetworkMatcher

    model = load_croco_stereo(config.stage1.weights or config.stage1.backend, device=config.device)
    if config.compile:
        from stereodiff.gpu import compile_module

        model.encode, model.decode = compile_module(model.encode), compile_module(model.decode)
    return NetworkMatcher(
        model,
        resolution=config.stage1.resolution,
        batch_size=config.stage1.batch_size,
        device=config.device,
        dtype=_torch_dtype(config.dtype),
        pair_scheme=config.stage1.pair_scheme,
    )


def _geometric_stage1(config: PipelineConfig) -> Stage1Backend:
    from stereodiff.stage1.geometric import GeometricMatcher

    return GeometricMatcher(resolution=config.stage1.resolution, focal_px=config.stage1.focal_px, seed=config.seed)


def _depthcrafter_pipeline(config: PipelineConfig) -> Any:
    from stereodiff.stage2.depthcrafter import load_depthcrafter

    pipeline = load_depthcrafter(
        unet=config.stage2.unet,
        base=config.stage2.base,
        device=config.device,
        dtype=_torch_dtype(config.dtype),
        variant="fp16" if config.dtype == "float16" else None,  # the published half-precision files, as official
    )
    if config.compile:
        from stereodiff.gpu import compile_module

        pipeline.unet = compile_module(pipeline.unet)
    return pipeline


def _depthcrafter_stage2(config: PipelineConfig) -> Stage2Backend:
    from stereodiff.stage2.depthcrafter import DepthCrafterRefiner

    s2 = config.stage2
    return DepthCrafterRefiner(
        _depthcrafter_pipeline(config),
        window=s2.window,
        overlap=s2.overlap,
        max_res=s2.resolution,
        num_inference_steps=s2.num_inference_steps,
        stitching=s2.stitching,
        seed=config.seed,
        **s2.options,
    )


def _temporal_stage2(config: PipelineConfig) -> Stage2Backend:
    from stereodiff.stage2.temporal import TemporalRefiner

    return TemporalRefiner(**config.stage2.options)


#: stage-1 backend name -> factory(config)
STAGE1_FACTORIES: dict[str, Callable[[PipelineConfig], Stage1Backend]] = {
    "monst3r": _network_stage1,
    "dust3r": _network_stage1,
    "mast3r": _network_stage1,
    "geometric": _geometric_stage1,
}

#: stage-2 backend name -> factory(config)
STAGE2_FACTORIES: dict[str, Callable[[PipelineConfig], Stage2Backend]] = {
    "depthcrafter": _depthcrafter_stage2,
    "temporal": _temporal_stage2,
}

_SCENE_ARRAYS = ("depth", "confidence", "valid")


def save_scene(folder: Path, scene: SceneGeometry) -> None:
    """Persist a scene: big ``[T,h,w]`` arrays as ``.npy`` (memory-mappable), the rest in ``geometry.npz``.

    ``done`` is written last, so a partly written scene is never taken as finished.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in _SCENE_ARRAYS:
        array = getattr(scene, name)
        target = folder / f"{name}.npy"
        if isinstance(array, np.memmap) and Path(array.filename).resolve() == target.resolve():
            array.flush()
            continue
        out = np.lib.format.open_memmap(target, mode="w+", dtype=array.dtype, shape=array.shape)
        for t in range(array.shape[0]):
            out[t] = array[t]
            release(out, array)  # only the current frame stays resident
        out.flush()
        del out
    np.savez(
        folder / "geometry.npz",
        focal=scene.focal,
        principal_point=scene.principal_point,
        cam_to_world=scene.cam_to_world,
    )
    (folder / "done").write_text("ok\n")


def load_scene(folder: Path) -> SceneGeometry | None:
    """The scene saved by :func:`save_scene` (big arrays memory-mapped), or ``None`` if it is not finished."""
    folder = Path(folder)
    if not (folder / "done").is_file():
        return None
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _SCENE_ARRAYS}
    with np.load(folder / "geometry.npz") as small:
        return SceneGeometry(
            focal=small["focal"],
            principal_point=small["principal_point"],
            cam_to_world=small["cam_to_world"],
            **arrays,
        )


class StereoDiffPipeline:
    """Stage 1 → global alignment → stage 2, for one video.

    Build it with :meth:`from_config` (a :class:`PipelineConfig` or a preset name), then call it on a
    :class:`Video` (or a ``FrameStore`` for long videos). Backends are created once and reused across calls.
    """

    def __init__(
        self,
        config: PipelineConfig,
        stage1: Stage1Backend | None = None,
        stage2: Stage2Backend | Any | None = None,
    ) -> None:
        self.config = config.validate()
        self.stage1 = stage1
        self.stage2 = stage2
        self.timings: dict[str, float] = {}

    @classmethod
    def from_config(cls, config: PipelineConfig | str) -> StereoDiffPipeline:
        """Create the pipeline and load the backends' models (weights are resolved here, once)."""
        if isinstance(config, str):
            config = preset_config(config)
        config.validate()
        stage1 = STAGE1_FACTORIES[config.stage1.backend](config) if config.stage1.backend != "none" else None
        if config.stage2.backend == "depthcrafter-full":
            stage2 = _depthcrafter_pipeline(config)
        elif config.stage2.backend == "none":
            stage2 = None
        else:
            stage2 = STAGE2_FACTORIES[config.stage2.backend](config)
        return cls(config, stage1, stage2)

    # ------------------------------------------------------------------------------------------------ stages

    def _timed(self, name: str, start: float) -> None:
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def run_stage1(self, frames: Any, run_dir: Path | None = None) -> SceneGeometry:
        """Pairwise predictions + global alignment → the scene at stage-1 resolution (cached in ``run_dir``)."""
        from stereodiff.stage1.alignment import global_alignment

        scene_dir = run_dir / "stage1" / "scene" if run_dir is not None else None
        if scene_dir is not None and (scene := load_scene(scene_dir)) is not None:
            logger.info("stage 1: reusing the aligned scene in %s", scene_dir)
            return scene
        assert self.stage1 is not None  # validate() guarantees a stage 1 unless depthcrafter-full
        start = time.perf_counter()
        pairs = None
        if self.config.stage1.pair_scheme is not None:
            from stereodiff.stage1.pairs import make_pairs

            pairs = make_pairs(len(frames), scheme=self.config.stage1.pair_scheme)
        preds: PairPredictions = self.stage1.predict(
            frames, pairs, cache_dir=run_dir / "stage1" / "pairs" if run_dir is not None else None
        )
        self._timed("stage1_matching", start)
        start = time.perf_counter()
        s1 = self.config.stage1
        h, w = preds.size
        focal = None if s1.focal_px is None else s1.focal_px * max(h, w) / max(frames.shape[1:3])
        geometric = s1.backend == "geometric"
        if geometric and focal is None:  # the focal the matcher triangulated with (prior or self-calibrated)
            focal = self.stage1.report.focal_px
        robust = geometric if s1.robust_scale is None else s1.robust_scale
        scene = global_alignment(
            preds,
            min_conf_thr=s1.min_conf_thr,
            shared_focal=s1.shared_focal,
            focal=focal,
            seed=self.config.seed,
            robust_scale=robust,
            global_scale_solve=robust if s1.global_scale_solve is None else s1.global_scale_solve,
            scale_stride=4 if geometric else 1,  # the geometric path fuses all pairs afterwards anyway
            out_dir=scene_dir,
        )
        if geometric:  # every pair of each frame, fused (the tree alone leaves holes and one pair's noise)
            from stereodiff.stage1.geometric import fuse_pair_depths

            scene = fuse_pair_depths(preds, scene, out_dir=scene_dir)
        if scene_dir is not None:
            save_scene(scene_dir, scene)
            scene = load_scene(scene_dir)
        self._timed("stage1_alignment", start)
        return scene

    def _resize_stage1(self, frames: Any, depth: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Stage 2 ``none``: the stage-1 depth at the source resolution (nearest, so holes stay holes)."""
        import cv2

        height, width = frames.shape[1:3]
        for t in progress(range(depth.shape[0]), desc="resize depth", total=depth.shape[0]):
            out[t] = cv2.resize(np.asarray(depth[t]), (width, height), interpolation=cv2.INTER_NEAREST)
            release(out, depth)
        return out

    def __call__(self, video: Video | Any, *, run_dir: Path | None = None) -> DepthVideo:
        """Estimate the depth of ``video``.

        Args:
            video: a :class:`Video`, or a ``FrameStore`` / array-like ``[T,H,W,3]`` uint8 (long videos).
            run_dir: keep intermediate results there (bounded memory, resumable); ``None`` = all in memory.

        Returns:
            :class:`DepthVideo` at the source resolution and frame count: ``depth`` (one relative scale for the
            whole video) or, for DepthCrafter stage 2, ``disparity`` (one affine map), with the stage-1 scene
            (depth, confidence, intrinsics, poses) attached.
        """
        frames = video.frames if isinstance(video, Video) else video
        fps = float(getattr(video, "fps", 30.0))
        source = str(getattr(video, "source", ""))
        indices = getattr(video, "frame_indices", None)
        num_frames, height, width = frames.shape[:3]
        if num_frames < 1:
            raise ValueError("the video has no frames")
        run_dir = Path(run_dir) if run_dir is not None else None
        self.timings = {}

        scene = self.run_stage1(frames, run_dir) if self.config.stage1.backend != "none" else None
        free_device_memory(self.config.device)  # stage 1's cached activations, before stage 2's window

        # stage 2 writes [T,H,W] float32 into `out` (a memmap in the run directory for long videos)
        if run_dir is not None:
            (run_dir / "stage2").mkdir(parents=True, exist_ok=True)
            out = np.lib.format.open_memmap(
                run_dir / "stage2" / "out.npy", mode="w+", dtype=np.float32, shape=(num_frames, height, width)
            )
            window_dir = run_dir / "stage2" / "windows"
        else:
            out = np.empty((num_frames, height, width), np.float32)
            window_dir = None
        start = time.perf_counter()
        kind = "depth"
        if self.config.stage2.backend == "none":
            assert scene is not None
            self._resize_stage1(frames, scene.depth, out)
        elif self.config.stage2.backend == "depthcrafter-full":
            kind = "disparity"
            self.stage2.estimate(frames, seed=self.config.seed, out=out)
        else:
            assert scene is not None
            kind = self.stage2.output_kind
            self.stage2.refine(frames, scene.depth, scene.confidence, out=out, cache_dir=window_dir)
        if isinstance(out, np.memmap):
            out.flush()
        self._timed("stage2", start)

        return DepthVideo(
            depth=out if kind == "depth" else None,
            disparity=out if kind == "disparity" else None,
            fps=fps,
            source=source,
            frame_indices=indices,
            stage1_depth=scene.depth if scene is not None else None,
            geometry=scene,
            info={"config": self.config.to_dict(), "timings_s": dict(self.timings)},
        )
