"""Synthetic videos on disk, in a layout that evaluation loaders read like a real RGB-D dataset.

```
DIR/meta.json          preset, seed, num_frames, height, width, fps, depth_unit "m", depth_png_scale 1000, ...
DIR/rgb/000000.png     RGB 8-bit PNG per frame
DIR/depth/000000.png   uint16 PNG, depth in millimetres (0 = invalid / beyond 65.535 m)
DIR/depth.npz          key "depth": float32 [T,H,W] metres (exact; 0 = invalid)
DIR/masks/000000.png   uint8 PNG dynamic mask (255 = moving object, 0 = static)
DIR/object_ids.npz     key "object_ids": int32 [T,H,W] (0 = nothing hit); extra, loaders may ignore it
DIR/intrinsics.txt     3x3 K, 3 rows of 3 numbers (pixels), after one "#" comment line
DIR/poses.txt          TUM: "timestamp tx ty tz qx qy qz qw" per frame, cam_to_world, timestamp = index / fps
                       (after one "#" comment line)
```
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

from stereodiff.errors import InputError
from stereodiff.io.export import read_intrinsics, read_tum_poses, write_intrinsics, write_tum_poses
from stereodiff.io.files import atomic_dir
from stereodiff.synth.render import RenderedFrame, RenderSettings, iter_frames
from stereodiff.synth.scene import Scene, SyntheticVideo

# read_tum_poses / write_tum_poses are re-exported from stereodiff.io.export (the poses.txt format)
__all__ = [
    "DEPTH_PNG_SCALE",
    "check_output_folder",
    "load_synthetic_dataset",
    "read_tum_poses",
    "render_synthetic_dataset",
    "write_synthetic_dataset",
    "write_tum_poses",
]

#: depth PNG units per metre (millimetres)
DEPTH_PNG_SCALE = 1000.0


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    if image.ndim == 3:
        image = image[..., ::-1]  # RGB -> BGR for OpenCV
    if not cv2.imwrite(str(path), np.ascontiguousarray(image)):
        raise OSError(f"could not write {path}")


def check_output_folder(out_dir: Path, *, overwrite: bool) -> None:
    """InputError when ``out_dir`` is a file, or a non-empty folder and not ``overwrite``."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output path {out_dir} exists and is not a folder", "choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise InputError(f"output folder {out_dir} is not empty", "choose another --out or pass --overwrite")


def write_synthetic_dataset(video: SyntheticVideo, out_dir: Path, *, overwrite: bool = False) -> Path:
    """Write an in-memory ``video`` to ``out_dir`` atomically (a temporary sibling folder, renamed when complete).

    Raises InputError when ``out_dir`` exists and is not empty, unless ``overwrite``.
    """
    T, H, W = video.depth.shape
    ids = video.object_ids
    frames = (
        RenderedFrame(
            i,
            video.frames[i],
            video.depth[i],
            None if ids is None else ids[i],
            video.dynamic_mask[i],
            video.cam_to_world[i],
        )
        for i in range(T)
    )
    meta = {"preset": video.preset, "seed": video.seed, "num_frames": T, "height": H, "width": W, "fps": video.fps}
    return _write_dataset(out_dir, frames, meta, video.info, video.K, overwrite=overwrite)


def render_synthetic_dataset(
    scene: Scene, out_dir: Path, settings: RenderSettings, *, workers: int = 2, overwrite: bool = False
) -> Path:
    """Render ``scene`` straight into a dataset folder, frame by frame (memory does not grow with the number of
    frames); the folder equals ``write_synthetic_dataset(render_video(scene, settings))``."""
    frames = iter_frames(scene, settings, workers=workers)
    meta = {
        "preset": scene.preset,
        "seed": scene.seed,
        "num_frames": settings.num_frames,
        "height": settings.height,
        "width": settings.width,
        "fps": float(settings.fps),
    }
    K = settings.intrinsics(scene)
    return _write_dataset(out_dir, frames, meta, settings.info(scene), K, overwrite=overwrite)


def _npy_into_npz(npy_path: Path, npz_path: Path, key: str) -> None:
    """Pack one ``.npy`` file into a compressed ``.npz`` under ``key``, streaming (np.load reads it back)."""
    with zipfile.ZipFile(npz_path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.write(npy_path, arcname=f"{key}.npy")
    npy_path.unlink()


def _write_dataset(
    out_dir: Path, frames: Iterable[RenderedFrame], meta: dict, info: dict, K: np.ndarray, *, overwrite: bool
) -> Path:
    """Write frames (in order) and metadata into a temporary sibling of ``out_dir``, then rename it."""
    from stereodiff import __version__
    from stereodiff.progress import progress

    out_dir = Path(out_dir)
    check_output_folder(out_dir, overwrite=overwrite)
    with atomic_dir(out_dir, replaceable=lambda _: overwrite) as tmp:
        T, H, W = meta["num_frames"], meta["height"], meta["width"]
        for sub in ("rgb", "depth", "masks"):
            (tmp / sub).mkdir()
        depth_all = open_memmap(tmp / "depth.npy", mode="w+", dtype=np.float32, shape=(T, H, W))
        ids_all = None
        poses = np.empty((T, 4, 4))
        for frame in progress(frames, desc="write frames", total=T, unit="frame"):
            i, name = frame.index, f"{frame.index:06d}.png"
            depth_mm = np.rint(frame.depth.astype(np.float64) * DEPTH_PNG_SCALE)
            depth_mm[(depth_mm > 65535) | ~np.isfinite(depth_mm)] = 0
            _write_png(tmp / "rgb" / name, frame.rgb)
            _write_png(tmp / "depth" / name, depth_mm.astype(np.uint16))
            _write_png(tmp / "masks" / name, frame.dynamic_mask.astype(np.uint8) * 255)
            depth_all[i] = frame.depth
            if frame.object_ids is not None:
                if ids_all is None:
                    ids_all = open_memmap(tmp / "object_ids.npy", mode="w+", dtype=np.int32, shape=(T, H, W))
                ids_all[i] = frame.object_ids
            poses[i] = frame.cam_to_world
        del depth_all
        _npy_into_npz(tmp / "depth.npy", tmp / "depth.npz", "depth")
        if ids_all is not None:
            del ids_all
            _npy_into_npz(tmp / "object_ids.npy", tmp / "object_ids.npz", "object_ids")
        write_intrinsics(tmp / "intrinsics.txt", K, (H, W))
        write_tum_poses(tmp / "poses.txt", poses, np.arange(T) / meta["fps"])
        meta = {
            **meta,
            "depth_unit": "m",
            "depth_png_scale": DEPTH_PNG_SCALE,
            "depth_invalid": 0,
            "pose_format": "TUM, cam_to_world, OpenCV camera axes (x right, y down, z forward)",
            "generator": f"stereodiff {__version__} synth",
            **info,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out_dir


def _read_png(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"could not read image {path}", "the dataset folder is damaged; write it again")
    return image[..., ::-1] if image.ndim == 3 else image


def load_synthetic_dataset(folder: Path) -> SyntheticVideo:
    """Read a folder written by :func:`write_synthetic_dataset` (or ``stereodiff synth``).

    Depth comes from ``depth.npz`` (exact) when present, else from the millimetre PNGs. ``object_ids`` is None
    when ``object_ids.npz`` is absent. Raises InputError naming the missing or inconsistent file.
    """
    folder = Path(folder)
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise InputError(f"{meta_path} not found", "pass a folder written by `stereodiff synth`")
    meta = json.loads(meta_path.read_text())
    T, H, W = int(meta["num_frames"]), int(meta["height"]), int(meta["width"])
    names = [f"{i:06d}.png" for i in range(T)]
    for sub in ("rgb", "masks"):
        missing = [n for n in names if not (folder / sub / n).is_file()]
        if missing:
            raise InputError(f"{folder / sub} lacks {len(missing)} of {T} frames (first: {missing[0]})")
    frames = np.stack([_read_png(folder / "rgb" / n) for n in names])
    masks = np.stack([_read_png(folder / "masks" / n) for n in names]) > 127
    if (folder / "depth.npz").is_file():
        with np.load(folder / "depth.npz") as data:
            depth = data["depth"].astype(np.float32)
    else:
        depth = np.stack([_read_png(folder / "depth" / n) for n in names]).astype(np.float32) / DEPTH_PNG_SCALE
    object_ids = None
    if (folder / "object_ids.npz").is_file():
        with np.load(folder / "object_ids.npz") as data:
            object_ids = data["object_ids"]
    K = read_intrinsics(folder / "intrinsics.txt")[0]
    _, poses = read_tum_poses(folder / "poses.txt")
    if frames.shape != (T, H, W, 3) or depth.shape != (T, H, W) or len(poses) != T:
        raise InputError(
            f"{folder}: files disagree with meta.json (T={T}, H={H}, W={W}): rgb {frames.shape}, "
            f"depth {depth.shape}, {len(poses)} poses"
        )
    known = {"preset", "seed", "num_frames", "height", "width", "fps"}
    return SyntheticVideo(
        frames=frames,
        depth=depth,
        K=K,
        cam_to_world=poses,
        dynamic_mask=masks,
        object_ids=object_ids,
        fps=float(meta["fps"]),
        preset=str(meta["preset"]),
        seed=int(meta["seed"]),
        info={k: v for k, v in meta.items() if k not in known},
    )
