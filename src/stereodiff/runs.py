"""One video in, one output folder out: what ``stereodiff run``, ``batch`` and ``demo`` share.

Output folder layout (``OUT``)::

    OUT/run.json             configuration, versions, input, frame count, timings per stage, outputs
    OUT/depth.npz            float32 depth and/or disparity [T,H,W] + metadata      (--save npz)
    OUT/depth_png16/         16-bit PNGs, one range for the video, JSON sidecar      (--save png16)
    OUT/depth_exr/           32-bit float EXR per frame                              (--save exr)
    OUT/depth.mp4            colour-mapped preview, one normalisation for the video  (--save mp4)
    OUT/side_by_side.mp4     RGB | depth preview                                     (--save sbs)
    OUT/points/              per-frame coloured PLY + fused.ply                      (--save ply)
    OUT/poses_tum.txt, OUT/colmap/, OUT/intrinsics.json                              (--save poses)
    OUT/scene.glb            fused cloud + camera path and frustums (glTF)           (--save glb, extra `app`)
    OUT/.run/                the resumable run directory (removed after success unless keep_cache)
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.config import PipelineConfig
from stereodiff.errors import InputError
from stereodiff.io.files import stamped_folder
from stereodiff.lazy import import_in_background
from stereodiff.progress import logger, with_listeners

__all__ = ["SAVE_CHOICES", "RunRequest", "check_paths", "is_finished", "parse_save", "run_video", "write_outputs"]

SAVE_CHOICES = ("npz", "png16", "exr", "mp4", "sbs", "ply", "poses", "glb")
#: points in ``scene.glb`` (a web viewer stays responsive with a few hundred thousand)
GLB_MAX_POINTS = 300_000
DEFAULT_SAVE = ("npz", "mp4", "poses")


def parse_save(text: str) -> tuple[str, ...]:
    """``"npz,mp4"`` → ``("npz", "mp4")``; ``all`` = every output. Unknown names are an InputError."""
    names = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if names == ("all",):
        return SAVE_CHOICES
    unknown = [n for n in names if n not in SAVE_CHOICES]
    if unknown or not names:
        raise InputError(f"--save {text!r} names unknown outputs {unknown}", f"choose from {','.join(SAVE_CHOICES)}")
    if "glb" in names:
        from stereodiff.backends import require_extra

        require_extra("app", "--save glb")
    return names


@dataclass
class RunRequest:
    """What to run on which input, and what to write."""

    input: Path
    output: Path
    config: PipelineConfig
    save: tuple[str, ...] = DEFAULT_SAVE
    frames: str | None = None
    """Frame range ``start:stop:step`` of the source."""
    stride: int = 1
    """Keep every ``stride``-th frame of the range."""
    max_frames: int | None = None
    """Keep at most this many frames."""
    max_res: int | None = None
    """Shrink the input so that its long side is at most this (pixels)."""
    fps: float | None = None
    """Frame rate for image folders (default 30)."""
    resume: bool = False
    keep_cache: bool = False
    colormap: str = "inferno"
    extra_info: dict[str, Any] = field(default_factory=dict)


MAX_PIXELS_WITHOUT_MAX_RES = 1920 * 1088


def is_finished(output: Path) -> bool:
    """True when ``output`` holds a completed run (``run.json`` with status ``done``)."""
    try:
        return json.loads((Path(output) / "run.json").read_text()).get("status") == "done"
    except (OSError, ValueError):
        return False


def _versions() -> dict[str, str]:
    import importlib.metadata

    from stereodiff import __version__

    versions = {"stereodiff": __version__, "python": platform.python_version()}
    for package in ("numpy", "torch", "opencv-python-headless", "diffusers", "transformers"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def _prepare_run_dir(request: RunRequest) -> Path:
    """The run directory, checked against the request when resuming, or fresh otherwise."""
    run_dir = request.output / ".run"
    stamp = {
        "config": request.config.to_dict(),
        "input": str(request.input),
        "frames": request.frames,
        "stride": request.stride,
        "max_frames": request.max_frames,
        "max_res": request.max_res,
        "fps": request.fps,
    }
    resumed = stamped_folder(
        run_dir,
        stamp,
        name="request.json",
        what="a run",
        fix="rerun with the same options, or drop --resume to start over",
        fresh=not request.resume,
    )
    if resumed:
        logger.info("resuming from %s", run_dir)
    return run_dir


def _decode(request: RunRequest, run_dir: Path) -> Any:
    """Decode the input once into a FrameStore in the run directory (streamed; reused on resume)."""
    from stereodiff.io.framestore import FrameStore
    from stereodiff.io.video import iter_indexed_frames, probe_video

    folder = run_dir / "frames"
    if FrameStore.exists(folder):
        return FrameStore(folder)
    info = probe_video(request.input, fps=request.fps)
    if request.max_res is None and info.height * info.width > MAX_PIXELS_WITHOUT_MAX_RES:
        raise InputError(
            f"{request.input} is {info.width}×{info.height}, larger than 1920×1080",
            "pass --max-res (e.g. --max-res 1024) to shrink it first",
        )
    indices: list[int] = []

    def frames():
        for index, frame in iter_indexed_frames(
            request.input,
            frames=request.frames,
            stride=request.stride,
            max_frames=request.max_frames,
            max_res=request.max_res,
        ):
            indices.append(index)
            yield frame

    # the source indices are known only while decoding: the list fills up before the store writes its metadata
    return FrameStore.write(folder, frames(), fps=info.fps, frame_indices=indices)


def write_outputs(
    result: Any,
    frames: Any,
    output: Path,
    save: tuple[str, ...],
    *,
    colormap: str = "inferno",
    min_conf: float | None = None,
) -> list[Path]:
    """Write the chosen outputs of a finished run into ``output`` (each one atomically); returns the paths.

    Point clouds and cameras come from the stage-1 scene (the only part with intrinsics and poses); previews and
    depth files from the final depth/disparity.
    """
    from stereodiff.io.depth import save_depth_video
    from stereodiff.io.visualize import write_depth_preview

    written: list[Path] = []
    with ThreadPoolExecutor(1) as pool:  # the preview (colouring, the encoder's threads) beside the other outputs
        preview = (
            pool.submit(with_listeners(write_depth_preview), output / "depth.mp4", result, colormap=colormap)
            if "mp4" in save
            else None
        )
        if "npz" in save:
            written.append(save_depth_video(output / "depth.npz", result))
        if "png16" in save:
            written.append(save_depth_video(output / "depth_png16", result, format="png16"))
        if "exr" in save:
            written.append(save_depth_video(output / "depth_exr", result, format="exr"))
        written += _written_after(preview, lambda: _write_rest(result, frames, output, save, colormap, min_conf))
    return written


def _written_after(preview: Future | None, rest: Callable[[], list[Path]]) -> list[Path]:
    """``[preview's path] + rest()``: ``rest`` runs while the preview is written; the preview's error, if any, first."""
    try:
        later = rest()
    except BaseException:
        if preview is not None:
            preview.result()  # its error is the first one
        raise
    return ([preview.result()] if preview is not None else []) + later


def _write_rest(
    result: Any, frames: Any, output: Path, save: tuple[str, ...], colormap: str, min_conf: float | None
) -> list[Path]:
    """The outputs of :func:`write_outputs` after the depth files and the preview, in its order."""
    from stereodiff.io.export import write_camera_files, write_point_clouds
    from stereodiff.io.visualize import write_side_by_side

    written: list[Path] = []
    if "sbs" in save:
        written.append(write_side_by_side(output / "side_by_side.mp4", result, frames, colormap=colormap))
    geometry = result.geometry
    if geometry is None and ({"ply", "poses", "glb"} & set(save)):
        logger.warning("no stage 1 ran, so there are no cameras or point clouds to save")
        return written
    if "ply" in save:
        written += write_point_clouds(output / "points", geometry, frames, min_conf=min_conf)
    if "poses" in save:
        timestamps = np.asarray(result.frame_indices, np.float64) / result.fps
        written += write_camera_files(output, geometry, timestamps, image_size=tuple(frames.shape[1:3]))
    if "glb" in save:
        from stereodiff.io.export import fused_points
        from stereodiff.io.glb import write_scene_glb

        points, colors = fused_points(geometry, frames, min_conf=min_conf, max_points=GLB_MAX_POINTS)
        k = geometry.intrinsics()
        written.append(write_scene_glb(output / "scene.glb", points, colors, geometry.cam_to_world, k, geometry.size))
    return written


def check_paths(input_path: str | Path, output: Path) -> None:
    """Fail early (InputError) when the input does not exist or the output folder cannot be written."""
    from stereodiff.io.files import ensure_writable_dir

    if not Path(input_path).exists() and not any(ch in str(input_path) for ch in "*?["):
        raise InputError(f"input {input_path} does not exist", "check the path")
    ensure_writable_dir(output)


def run_video(request: RunRequest, pipeline: Any | None = None) -> dict[str, Any]:
    """Run the pipeline on one input and write the requested outputs; returns the ``run.json`` content.

    Args:
        request: input, output folder, configuration and outputs.
        pipeline: a ready :class:`~stereodiff.pipeline.StereoDiffPipeline` to reuse (batch mode); default: built
            from ``request.config``.
    """
    from stereodiff.io.files import atomic_file
    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.plan import warn_if_too_big

    check_paths(request.input, request.output)
    started = time.perf_counter()
    pipe = pipeline or StereoDiffPipeline.from_config(request.config)  # missing weights fail before any work
    load_s = time.perf_counter() - started
    run_dir = _prepare_run_dir(request)
    store = _decode(request, run_dir)
    decode_s = time.perf_counter() - started - load_s
    warn_if_too_big(pipe.config, len(store), *store.shape[1:3])  # before the long part starts
    if {"mp4", "sbs"} & set(request.save):  # the previews' colour maps: matplotlib (~0.1 s of CPU) is imported
        import_in_background("matplotlib")  # while the pipeline runs, not on the export's critical path at the end
    result = pipe(store, run_dir=run_dir)
    result.source = str(request.input)
    export_start = time.perf_counter()
    outputs = write_outputs(
        result,
        store,
        request.output,
        request.save,
        colormap=request.colormap,
        min_conf=getattr(pipe.config.stage1, "min_conf_thr", None),
    )
    timings = {"load_models": load_s, "decode": decode_s, **pipe.timings, "export": time.perf_counter() - export_start}
    timings["total"] = time.perf_counter() - started
    report = {
        "status": "done",
        "input": str(request.input),
        "num_frames": len(store),
        "size_hw": list(store.shape[1:3]),
        "fps": store.fps,
        "output_kind": "depth" if result.depth is not None else "disparity",
        "units": "relative: one unknown scale for the whole video (depth) / one affine map (disparity)",
        "config": pipe.config.to_dict(),  # every setting of the backends that ran (device resolved)
        "frames": request.frames,
        "max_res": request.max_res,
        "versions": _versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "frames_per_s": round(len(store) / max(timings["total"], 1e-9), 3),
        "outputs": [str(Path(p).relative_to(request.output)) for p in outputs],
        **request.extra_info,
    }
    with atomic_file(request.output / "run.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2))
    del result, store
    if not request.keep_cache:
        shutil.rmtree(run_dir, ignore_errors=True)
    return report
