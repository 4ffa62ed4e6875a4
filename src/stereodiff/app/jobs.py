"""What the web app does for one request, without any web UI: check the input against the limits, run the video
through the same code path as ``stereodiff run``, and package the results for download.

Every job works in its own folder under the app's working folder; nothing outside the working folder is read
(uploads arrive in Gradio's upload folder, which the app places inside it too).
"""

from __future__ import annotations

import json
import shutil
import tarfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stereodiff.errors import InputError
from stereodiff.io.files import atomic_file

__all__ = [
    "AppLimits",
    "JobCancelled",
    "JobOptions",
    "JobResult",
    "example_video",
    "frame_glb",
    "job_listener",
    "prepare_input",
    "preset_status",
    "run_job",
]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
EXAMPLES = ("close-object", "indoor-dynamic", "static-orbit", "driving")
#: outputs every app run writes (the downloads, the previews and the 3-D view)
APP_SAVE = "npz,png16,mp4,sbs,ply,poses,glb"


class JobCancelled(Exception):
    """The user cancelled the running job."""


@dataclass(frozen=True)
class AppLimits:
    """What one request may ask for (``stereodiff app`` options)."""

    max_upload_mb: int = 200
    """Largest accepted upload (video or archive), MB."""
    max_frames: int = 300
    """Most frames one job may process."""
    max_res: int = 1024
    """Largest working resolution (long side, px); larger inputs are shrunk to the job's max resolution."""
    max_archive_files: int = 2000
    """Most files in an image-folder archive."""


@dataclass(frozen=True)
class JobOptions:
    """The page's settings for one job."""

    preset: str = "cpu"
    frames: str = ""
    """Source frame range ``start:stop:step`` (empty = all)."""
    max_frames: int | None = None
    stride: int = 1
    max_res: int = 512
    colormap: str = "inferno"


@dataclass
class JobResult:
    """A finished job: its run folder and the files the page shows or offers."""

    output: Path
    report: dict[str, Any]
    side_by_side: Path
    depth_video: Path
    scene_glb: Path
    downloads: list[Path]

    @property
    def num_frames(self) -> int:
        return int(self.report["num_frames"])


# ----------------------------------------------------------------------------------------------- presets


def preset_status() -> dict[str, str | None]:
    """Preset name → ``None`` when it can run here, else the reason it cannot (weights not on disk, no GPU).

    Only local facts are checked (the weights cache, the device), so the page opens instantly even offline;
    ``auto`` is whichever of ``paper`` / ``cpu`` can run.
    """
    import importlib.util

    from stereodiff.backends import EXTRAS
    from stereodiff.devices import PAPER_MODELS

    reasons = []
    if any(importlib.util.find_spec(module) is None for module in EXTRAS["paper"]):
        reasons.append("the 'paper' extra is not installed (pip install 'stereodiff[paper]')")
    else:
        from stereodiff.weights import find_snapshot

        missing = [name for name in PAPER_MODELS if find_snapshot(name) is None]
        if missing:
            reasons.append(f"weights not downloaded ({', '.join(missing)}: `stereodiff weights download`)")
    if not _has_gpu():
        reasons.append("no GPU (a CPU run of the networks takes hours)")
    network = "; ".join(reasons) or None
    return {"auto": None, "cpu": None, "fast": network, "paper": network}


def _has_gpu() -> bool:
    """A CUDA/ROCm device or Apple's MPS (:func:`stereodiff.devices.accelerator`). On Linux without a GPU device
    node torch is not even imported (that import takes seconds of the app's startup)."""
    import sys

    from stereodiff.devices import accelerator

    if sys.platform.startswith("linux") and not any(Path(p).exists() for p in ("/dev/nvidia0", "/dev/kfd")):
        return False
    return accelerator() is not None


def _resolved_preset(name: str) -> str:
    status = preset_status()
    if name not in status:
        raise InputError(f"preset {name!r} is unknown", f"choose one of {', '.join(status)}")
    if name == "auto":
        return "paper" if status["paper"] is None else "cpu"
    if status[name] is not None:
        raise InputError(f"preset {name} cannot run here: {status[name]}", "choose cpu (or auto)")
    return name


# ----------------------------------------------------------------------------------------------- inputs


def example_video(name: str, examples_dir: Path) -> Path:
    """A built-in example: synthetic scene ``name`` rendered once (64 frames, 320×240) into ``examples_dir``."""
    from stereodiff.io.video import write_video
    from stereodiff.synth import make_scene

    if name not in EXAMPLES:
        raise InputError(f"example {name!r} is unknown", f"choose one of {', '.join(EXAMPLES)}")
    path = Path(examples_dir) / f"{name}.mp4"
    if not path.is_file():
        scene = make_scene(name, seed=0, num_frames=64, height=240, width=320)
        with atomic_file(path) as tmp:
            write_video(tmp, iter(scene.frames), fps=scene.fps, total=len(scene.frames))
    return path


def _archive_name(path: Path) -> str | None:
    name = path.name.lower()
    return next((s for s in ARCHIVE_SUFFIXES if name.endswith(s)), None)


def _extract_images(archive: Path, target: Path, limits: AppLimits) -> Path:
    """Extract the images of a zip/tar archive into ``target`` (flat, no paths from the archive are used)."""
    budget = limits.max_upload_mb * 4 * 2**20  # uncompressed bytes: guards against archive bombs
    target.mkdir(parents=True)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                members = [(m.filename, m.file_size, m) for m in zf.infolist() if not m.is_dir()]
                opener = zf.open
                _copy_members(members, opener, target, budget, limits)
        else:
            with tarfile.open(archive) as tf:
                members = [(m.name, m.size, m) for m in tf.getmembers() if m.isfile()]
                _copy_members(members, tf.extractfile, target, budget, limits)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as err:
        raise InputError(f"the archive cannot be read ({err})", "upload a valid .zip or .tar of images") from None
    if not any(target.iterdir()):
        raise InputError("the archive holds no images", f"put {', '.join(IMAGE_SUFFIXES)} frames in the archive")
    return target


def _copy_members(members: list, opener: Callable, target: Path, budget: int, limits: AppLimits) -> None:
    images = [(name, size, m) for name, size, m in members if Path(name).suffix.lower() in IMAGE_SUFFIXES]
    if len(images) > limits.max_archive_files:
        raise InputError(f"the archive has {len(images)} images", f"upload at most {limits.max_archive_files}")
    if sum(size for _, size, _ in images) > budget:
        raise InputError("the archive's images are too large uncompressed", "upload fewer or smaller frames")
    names = [Path(name).name for name, _, _ in images]
    if len(set(names)) != len(names):
        raise InputError("the archive has two images with the same file name", "put the frames in one folder")
    for (_, _, member), name in zip(images, names):
        with opener(member) as src, open(target / name, "wb") as dst:
            shutil.copyfileobj(src, dst)


def prepare_input(
    upload: str | Path | None, example: str | None, job_dir: Path, examples_dir: Path, limits: AppLimits
) -> Path:
    """The job's input: the uploaded video, the image folder of an uploaded archive, or a built-in example."""
    if upload:
        upload = Path(upload)
        if not upload.is_file():
            raise InputError("the upload did not arrive", "upload the file again")
        size_mb = upload.stat().st_size / 2**20
        if size_mb > limits.max_upload_mb:
            raise InputError(f"the upload is {size_mb:.0f} MB", f"this app accepts at most {limits.max_upload_mb} MB")
        if upload.stat().st_size == 0:
            raise InputError("the uploaded file is empty", "upload a video or an archive of images")
        if _archive_name(upload):
            return _extract_images(upload, job_dir / "input", limits)
        return upload
    if example:
        return example_video(example, examples_dir)
    raise InputError("no input", "upload a video (or a .zip of frames) or pick an example")


def _check_selection(source: Path, options: JobOptions, limits: AppLimits) -> None:
    """Bad or too large inputs fail here, before any work: unreadable, no frames, too many frames or pixels."""
    from stereodiff.io.video import parse_frame_range, probe_video

    if not 1 <= options.max_res <= limits.max_res:
        raise InputError(f"max resolution {options.max_res} px is outside 1..{limits.max_res}", "lower it")
    if options.stride < 1:
        raise InputError(f"stride must be ≥ 1, got {options.stride}", "use 1 for every frame")
    if options.max_frames is not None and not 2 <= options.max_frames <= limits.max_frames:
        raise InputError(f"max frames {options.max_frames} is outside 2..{limits.max_frames}", "change it")
    info = probe_video(source)
    if info.num_frames == 0:
        raise InputError("the video has no frames", "upload another video")
    if info.num_frames is None:
        return
    selected = len(range(*parse_frame_range(options.frames or None).indices(info.num_frames))[:: options.stride])
    if options.max_frames is not None:
        selected = min(selected, options.max_frames)
    if selected < 2:
        raise InputError(f"the selection holds {selected} frame(s)", "depth from motion needs at least 2 frames")
    if selected > limits.max_frames:
        raise InputError(
            f"the selection has {selected} frames, more than this app's limit of {limits.max_frames}",
            "set max frames, a stride or a frame range",
        )


# ----------------------------------------------------------------------------------------------- one job


def job_listener(
    on_progress: Callable[[str, int, int | None], None] | None, cancel: threading.Event | None
) -> Callable[[str, int, int | None], None]:
    """A :func:`~stereodiff.progress.progress_listener` callback: forwards to ``on_progress`` and raises
    :class:`JobCancelled` at the next step once ``cancel`` is set."""

    def listener(desc: str, done: int, total: int | None) -> None:
        if cancel is not None and cancel.is_set():
            raise JobCancelled(desc)
        if on_progress is not None:
            on_progress(desc, done, total)

    return listener


def run_job(
    source: Path,
    options: JobOptions,
    output: Path,
    limits: AppLimits,
    on_progress: Callable[[str, int, int | None], None] | None = None,
    cancel: threading.Event | None = None,
) -> JobResult:
    """Run ``source`` into the run folder ``output`` exactly as ``stereodiff run`` would, then package downloads.

    ``on_progress(desc, done, total)`` is fed by the pipeline's own progress loops; setting ``cancel`` stops the
    run at its next step (raises :class:`JobCancelled`; the caller removes the job folder).
    """
    from stereodiff.cli.main import build_parser
    from stereodiff.progress import progress_listener

    _check_selection(source, options, limits)
    argv = ["run", str(source), "-o", str(output), "--preset", _resolved_preset(options.preset)]
    argv += ["--save", APP_SAVE, "--colormap", options.colormap, "--max-res", str(options.max_res)]
    argv += ["--stride", str(options.stride), "--max-frames", str(options.max_frames or limits.max_frames)]
    if options.frames:
        argv += ["--frames", options.frames]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit:
        raise InputError(f"the settings {argv[5:]} are not valid", "check the frame range and numbers") from None

    with progress_listener(job_listener(on_progress, cancel)):
        args.func(args)
    report = json.loads((output / "run.json").read_text())
    downloads = [
        output / "depth.npz",
        _zip_folder(output / "depth_png16", output / "depth_png16.zip"),
        output / "points" / "fused.ply",
        _zip_files(output, ["poses_tum.txt", "intrinsics.json", "intrinsics.txt", "colmap"], output / "cameras.zip"),
        output / "run.json",
    ]
    return JobResult(output, report, output / "side_by_side.mp4", output / "depth.mp4", output / "scene.glb", downloads)


def _zip_files(root: Path, names: list[str], target: Path) -> Path:
    with atomic_file(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in names:
            path = root / name
            for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
                if file.is_file():
                    zf.write(file, file.relative_to(root))
    return target


def _zip_folder(folder: Path, target: Path) -> Path:
    return _zip_files(folder.parent, [folder.name], target)


def frame_glb(output: Path, t: int, max_points: int = 100_000) -> Path:
    """``OUT/view/frame_NNNNNN.glb``: frame ``t``'s coloured points with the whole camera path (made once)."""
    from stereodiff.io.glb import write_scene_glb
    from stereodiff.io.runfolder import RunFolder

    path = output / "view" / f"frame_{t:06d}.glb"
    if not path.is_file():
        run = RunFolder(output)
        points, colors = run.frame_points(t, max_points=max_points)
        write_scene_glb(path, points, colors, run.cam_to_world, run.intrinsics, run.image_size)
    return path
