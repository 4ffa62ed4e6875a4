"""3-D exports: coloured point clouds (PLY), camera poses (TUM, COLMAP text) and intrinsics (txt, json).

Pure functions of arrays / ``SceneGeometry``; every file is written atomically. Conventions
(``docs/conventions.md``): ``cam_to_world`` 4×4 with OpenCV camera axes (x right, y down, z forward), pixel
``(u, v) = (column, row)``, intrinsics in pixels at the resolution named next to them.

- PLY: ``binary_little_endian 1.0``, one ``vertex`` element with ``float x, y, z`` and ``uchar red, green, blue``.
- TUM: one line per frame ``timestamp tx ty tz qx qy qz qw`` (camera-to-world; quaternion scalar last).
- COLMAP text model: ``cameras.txt`` (``PINHOLE`` ``fx fy cx cy``; one camera when all frames share K, else one
  per frame), ``images.txt`` (``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` = world-to-camera rotation and
  translation, then an empty 2-D point line), empty ``points3D.txt``.
- intrinsics ``.txt``: the 3×3 K (3 rows) when all frames share it, else T stacked 3×3 blocks —
  ``np.loadtxt(path).reshape(-1, 3, 3)`` reads both. ``.json``: size and per-frame ``fx, fy, cx, cy``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stereodiff.camera import scale_intrinsics
from stereodiff.io.files import atomic_dir, atomic_file
from stereodiff.progress import logger, progress
from stereodiff.types import SceneGeometry, check_array

__all__ = [
    "PLY_DTYPE",
    "frame_points",
    "fused_points",
    "quaternion_to_rotation",
    "read_intrinsics",
    "read_ply",
    "read_tum_poses",
    "rotation_to_quaternion",
    "scale_intrinsics",
    "world_to_cam",
    "write_camera_files",
    "write_colmap",
    "write_intrinsics",
    "write_ply",
    "write_point_clouds",
    "write_tum_poses",
]

#: one PLY vertex as written by ``write_ply``
PLY_DTYPE = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])


def _num(value: float) -> str:
    """Shortest text that reads back to the same float64."""
    return repr(float(value))


# ----------------------------------------------------------------------------------------------- point clouds


def write_ply(path: str | Path, points: np.ndarray, colors: np.ndarray | None = None) -> Path:
    """Write a binary little-endian PLY point cloud.

    Args:
        points: ``[N,3]`` positions (stored as float32).
        colors: ``[N,3]`` uint8 RGB, or ``None`` for grey (128).
    """
    points = check_array("points", np.asarray(points), shape=(None, 3), kinds="fiu")
    if colors is None:
        colors = np.full(points.shape, 128, np.uint8)
    check_array("colors", np.asarray(colors), shape=(points.shape[0], 3), dtype=np.uint8)
    vertices = np.empty(points.shape[0], PLY_DTYPE)
    for axis, name in enumerate("xyz"):
        vertices[name] = points[:, axis]
    for axis, name in enumerate(("red", "green", "blue")):
        vertices[name] = colors[:, axis]
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment written by stereodiff\n"
        f"element vertex {points.shape[0]}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n"
    )
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        vertices.tofile(f)
    return Path(path)


def _keep_mask(geometry: SceneGeometry, t: int, min_conf: float | None) -> np.ndarray:
    """``[h,w]`` bool: valid pixels of frame ``t`` whose confidence is ≥ ``min_conf``, outside the sky stage 1 found
    (``SceneGeometry.sky``, ``stage1.sky``: its triangulated noise is not a surface)."""
    keep = np.asarray(geometry.valid[t]).copy()
    if geometry.sky is not None:
        keep &= ~np.asarray(geometry.sky[t])
    if min_conf is not None:
        keep &= np.asarray(geometry.confidence[t]) >= min_conf
    return keep


def _frame_colors(image: np.ndarray | None, size: tuple[int, int]) -> np.ndarray | None:
    """``[h,w,3]`` uint8 colours: ``image`` (any size, RGB) resized to the geometry's ``size`` with INTER_AREA."""
    if image is None:
        return None
    image = np.asarray(image, np.uint8)
    if image.shape[:2] != size:
        import cv2

        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return image


def _sample(candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` of the flat pixel indices ``candidates`` without replacement, in increasing order."""
    if count >= candidates.size:
        return candidates
    return np.sort(rng.choice(candidates, size=count, replace=False))


def frame_points(
    geometry: SceneGeometry,
    t: int,
    image: np.ndarray | None = None,
    *,
    min_conf: float | None = None,
    max_points: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """World points of frame ``t``: valid pixels with confidence ≥ ``min_conf``, at most ``max_points``.

    Args:
        image: ``[H,W,3]`` uint8 RGB frame for the colours (resized to the geometry's ``(h, w)``), or ``None``.
        max_points: random subsample (seeded by ``(seed, t)``) down to this many points.

    Returns:
        ``points [N,3]`` float32 in world coordinates (scene unit) and ``colors [N,3]`` uint8 (or ``None``).
    """
    h, w = geometry.size
    chosen = np.flatnonzero(_keep_mask(geometry, t, min_conf))
    if max_points is not None:
        chosen = _sample(chosen, max_points, np.random.default_rng([seed, t]))
    points = geometry.world_points(t).reshape(-1, 3)[chosen]
    colors = _frame_colors(image, (h, w))
    return points, None if colors is None else colors.reshape(-1, 3)[chosen]


def fused_points(
    geometry: SceneGeometry,
    frames: np.ndarray | None = None,
    *,
    min_conf: float | None = None,
    max_points: int = 2_000_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray | None]:
    """One point cloud of all frames, confidence-filtered and subsampled to at most ``max_points``.

    Every frame contributes in proportion to its number of kept pixels (quotas by largest remainder), so the
    result is a uniform subsample of the kept pixels of the whole video. Memory: the output plus one frame.

    Args:
        frames: ``[T,H,W,3]`` uint8 RGB array-like (may be a memmap) for the colours, or ``None``.
    """
    if frames is not None and len(frames) != geometry.num_frames:
        raise ValueError(f"frames has {len(frames)} frames but the geometry has {geometry.num_frames}")
    counts = np.array([_keep_mask(geometry, t, min_conf).sum() for t in range(geometry.num_frames)], np.int64)
    total = int(counts.sum())
    if total > max_points:
        share = counts * (max_points / total)
        quotas = np.floor(share).astype(np.int64)
        leftover = max_points - int(quotas.sum())
        quotas[np.argsort(-(share - quotas), kind="stable")[:leftover]] += 1
    else:
        quotas = counts
    parts, colors = [], []
    for t in progress(range(geometry.num_frames), desc="fusing points", total=geometry.num_frames, unit="frame"):
        pts, col = frame_points(
            geometry, t, None if frames is None else frames[t], min_conf=min_conf, max_points=int(quotas[t]), seed=seed
        )
        parts.append(pts)
        colors.append(col)
    points = np.concatenate(parts) if parts else np.zeros((0, 3), np.float32)
    return points, None if frames is None else np.concatenate(colors)


def write_point_clouds(
    folder: str | Path,
    geometry: SceneGeometry,
    frames: np.ndarray | None = None,
    *,
    min_conf: float | None = None,
    max_points_per_frame: int | None = 200_000,
    max_points_fused: int = 2_000_000,
    per_frame: bool = True,
    seed: int = 0,
) -> list[Path]:
    """Write ``folder/frame_000000.ply``, ... (per frame, if ``per_frame``) and ``folder/fused.ply``.

    Frames are processed one at a time. Returns the written paths.
    """
    folder = Path(folder)
    written = []
    if per_frame:
        for t in progress(range(geometry.num_frames), desc="writing point clouds", unit="frame"):
            image = None if frames is None else frames[t]
            pts, col = frame_points(geometry, t, image, min_conf=min_conf, max_points=max_points_per_frame, seed=seed)
            written.append(write_ply(folder / f"frame_{t:06d}.ply", pts, col))
    pts, col = fused_points(geometry, frames, min_conf=min_conf, max_points=max_points_fused, seed=seed)
    written.append(write_ply(folder / "fused.ply", pts, col))
    logger.info("wrote %d point clouds to %s (fused: %d points)", len(written), folder, len(pts))
    return written


# ----------------------------------------------------------------------------------------------- poses


def _check_poses(cam_to_world: np.ndarray) -> np.ndarray:
    poses = check_array("cam_to_world", np.asarray(cam_to_world, np.float64), shape=(None, 4, 4))
    rot = poses[:, :3, :3]
    error = np.abs(rot @ rot.transpose(0, 2, 1) - np.eye(3)).max(initial=0.0)
    if error > 1e-4 or np.any(np.linalg.det(rot) < 0):
        raise ValueError(
            f"cam_to_world rotations must be orthonormal with det +1 (max |R Rᵀ - I| = {error:.3g}); "
            "a scale belongs in the translation, not the rotation"
        )
    return poses


def rotation_to_quaternion(rotation: np.ndarray) -> np.ndarray:
    """``[...,3,3]`` rotation matrices → ``[...,4]`` unit quaternions ``(qx, qy, qz, qw)`` with ``qw ≥ 0``."""
    from scipy.spatial.transform import Rotation

    rotation = np.asarray(rotation, np.float64)
    quat = Rotation.from_matrix(rotation.reshape(-1, 3, 3)).as_quat()  # [N,4] (x, y, z, w)
    quat *= np.where(quat[:, 3:] < 0, -1.0, 1.0)
    return quat.reshape(*rotation.shape[:-2], 4)


def quaternion_to_rotation(quat: np.ndarray) -> np.ndarray:
    """``[...,4]`` quaternions ``(qx, qy, qz, qw)`` → ``[...,3,3]`` rotation matrices."""
    from scipy.spatial.transform import Rotation

    quat = np.asarray(quat, np.float64)
    return Rotation.from_quat(quat.reshape(-1, 4)).as_matrix().reshape(*quat.shape[:-1], 3, 3)


def world_to_cam(cam_to_world: np.ndarray) -> np.ndarray:
    """Invert rigid ``[...,4,4]`` camera-to-world poses: ``[R | t]`` → ``[Rᵀ | -Rᵀ t]``."""
    cam_to_world = np.asarray(cam_to_world, np.float64)
    out = np.zeros_like(cam_to_world)
    rot_t = np.swapaxes(cam_to_world[..., :3, :3], -1, -2)
    out[..., :3, :3] = rot_t
    out[..., :3, 3] = -(rot_t @ cam_to_world[..., :3, 3:4])[..., 0]
    out[..., 3, 3] = 1.0
    return out


def write_tum_poses(path: str | Path, cam_to_world: np.ndarray, timestamps: np.ndarray) -> Path:
    """Write ``[T,4,4]`` camera-to-world poses in TUM format (``timestamp tx ty tz qx qy qz qw``, seconds)."""
    poses = _check_poses(cam_to_world)
    timestamps = check_array("timestamps", np.asarray(timestamps, np.float64), shape=(poses.shape[0],))
    quats = rotation_to_quaternion(poses[:, :3, :3])
    lines = ["# timestamp tx ty tz qx qy qz qw (camera-to-world, OpenCV axes; written by stereodiff)"]
    for stamp, pose, quat in zip(timestamps, poses, quats):
        lines.append(" ".join(_num(v) for v in (stamp, *pose[:3, 3], *quat)))
    with atomic_file(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return Path(path)


def read_tum_poses(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a TUM trajectory: ``timestamps [T]`` float64 and ``cam_to_world [T,4,4]`` float64."""
    rows = np.loadtxt(path, comments="#", ndmin=2)
    if rows.shape[1] != 8:
        raise ValueError(f"{path}: TUM lines have 8 numbers (timestamp tx ty tz qx qy qz qw), found {rows.shape[1]}")
    poses = np.tile(np.eye(4), (rows.shape[0], 1, 1))
    poses[:, :3, :3] = quaternion_to_rotation(rows[:, 4:8])
    poses[:, :3, 3] = rows[:, 1:4]
    return rows[:, 0], poses


def _per_frame_k(intrinsics: np.ndarray, num_frames: int) -> np.ndarray:
    k = np.asarray(intrinsics, np.float64)
    if k.shape == (3, 3):
        k = np.broadcast_to(k, (num_frames, 3, 3))
    return check_array("intrinsics", k, shape=(num_frames, 3, 3))


def write_colmap(
    folder: str | Path,
    cam_to_world: np.ndarray,
    intrinsics: np.ndarray,
    size: tuple[int, int],
    image_names: Sequence[str] | None = None,
) -> Path:
    """Write a COLMAP text model (``cameras.txt``, ``images.txt``, empty ``points3D.txt``) into ``folder``.

    Args:
        cam_to_world: ``[T,4,4]`` rigid poses.
        intrinsics: ``[3,3]`` or ``[T,3,3]`` pinhole K in pixels at ``size``.
        size: ``(H, W)`` of the images the intrinsics refer to.
        image_names: one file name per frame (default ``000000.png``, ...).
    """
    poses = _check_poses(cam_to_world)
    num = poses.shape[0]
    k = _per_frame_k(intrinsics, num)
    names = list(image_names) if image_names is not None else [f"{t:06d}.png" for t in range(num)]
    if len(names) != num:
        raise ValueError(f"image_names has {len(names)} names for {num} poses")
    shared = bool(np.all(k == k[0]))
    cams = k[:1] if shared else k
    height, width = size
    camera_lines = [
        "# Camera list with one line of data per camera:",
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
        f"# Number of cameras: {len(cams)}",
    ]
    for cam_id, kk in enumerate(cams, start=1):
        params = (kk[0, 0], kk[1, 1], kk[0, 2], kk[1, 2])
        camera_lines.append(f"{cam_id} PINHOLE {width} {height} " + " ".join(_num(v) for v in params))
    w2c = world_to_cam(poses)
    quats = rotation_to_quaternion(w2c[:, :3, :3])  # (x, y, z, w)
    image_lines = [
        "# Image list with two lines of data per image:",
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
        "#   POINTS2D[] as (X, Y, POINT3D_ID)",
        f"# Number of images: {num}, mean observations per image: 0",
    ]
    for t in range(num):
        qx, qy, qz, qw = quats[t]
        numbers = " ".join(_num(v) for v in (qw, qx, qy, qz, *w2c[t, :3, 3]))
        image_lines += [f"{t + 1} {numbers} {1 if shared else t + 1} {names[t]}", ""]
    folder = Path(folder)
    known = {"cameras.txt", "images.txt", "points3D.txt"}
    with atomic_dir(folder, replaceable=lambda p: p.name in known) as tmp:
        (tmp / "cameras.txt").write_text("\n".join(camera_lines) + "\n")
        (tmp / "images.txt").write_text("\n".join(image_lines) + "\n")
        (tmp / "points3D.txt").write_text(
            "# 3D point list with one line of data per point:\n"
            "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n"
            "# Number of points: 0, mean track length: 0\n"
        )
    return folder


# ----------------------------------------------------------------------------------------------- intrinsics


def write_intrinsics(path: str | Path, intrinsics: np.ndarray, size: tuple[int, int]) -> Path:
    """Write K (``[3,3]`` or ``[T,3,3]``, pixels at image size ``(H, W)``) as ``.txt`` or ``.json``."""
    path = Path(path)
    k = np.asarray(intrinsics, np.float64)
    k = k[None] if k.shape == (3, 3) else check_array("intrinsics", k, shape=(None, 3, 3))
    height, width = size
    if path.suffix == ".json":
        data = {
            "width": width,
            "height": height,
            "fx": k[:, 0, 0].tolist(),
            "fy": k[:, 1, 1].tolist(),
            "cx": k[:, 0, 2].tolist(),
            "cy": k[:, 1, 2].tolist(),
        }
        text = json.dumps(data, indent=1) + "\n"
    elif path.suffix == ".txt":
        rows = k[:1] if np.all(k == k[0]) else k
        lines = [f"# pinhole K in pixels for {width}x{height} images ({len(rows)} matrix/matrices)"]
        lines += [" ".join(_num(v) for v in row) for mat in rows for row in mat]
        text = "\n".join(lines) + "\n"
    else:
        raise ValueError(f"intrinsics path {path} must end in .txt or .json")
    with atomic_file(path) as tmp:
        tmp.write_text(text)
    return path


def read_intrinsics(path: str | Path) -> np.ndarray:
    """Read ``write_intrinsics`` output (or any file of 3×3 blocks): ``[N,3,3]`` float64 (N = 1 when shared)."""
    path = Path(path)
    if path.suffix == ".json":
        data = json.loads(path.read_text())
        n = len(data["fx"])
        k = np.zeros((n, 3, 3))
        k[:, 0, 0], k[:, 1, 1], k[:, 0, 2], k[:, 1, 2], k[:, 2, 2] = data["fx"], data["fy"], data["cx"], data["cy"], 1
        return k
    return np.loadtxt(path, comments="#").reshape(-1, 3, 3)


def write_camera_files(
    folder: str | Path,
    geometry: SceneGeometry,
    timestamps: np.ndarray,
    *,
    image_size: tuple[int, int] | None = None,
    image_names: Sequence[str] | None = None,
) -> list[Path]:
    """Write ``poses_tum.txt``, ``intrinsics.txt``, ``intrinsics.json`` and ``colmap/`` for ``geometry``.

    Args:
        timestamps: ``[T]`` seconds of each frame (e.g. ``frame_indices / fps``).
        image_size: ``(H, W)`` the intrinsics should refer to (e.g. the source video); default the geometry's.
    """
    folder = Path(folder)
    size = image_size or geometry.size
    k = scale_intrinsics(geometry.intrinsics(), geometry.size, size)
    return [
        write_tum_poses(folder / "poses_tum.txt", geometry.cam_to_world, timestamps),
        write_intrinsics(folder / "intrinsics.txt", k, size),
        write_intrinsics(folder / "intrinsics.json", k, size),
        write_colmap(folder / "colmap", geometry.cam_to_world, k, size, image_names),
    ]


def read_ply(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a PLY written by :func:`write_ply`: ``points [N,3]`` float32 and ``colors [N,3]`` uint8.

    Raises:
        InputError: when the file is not a binary little-endian PLY with exactly ``write_ply``'s vertex layout.
    """
    from stereodiff.errors import InputError

    path = Path(path)
    with open(path, "rb") as f:
        header = []
        while (line := f.readline()) and line.strip() != b"end_header":
            header.append(line.decode("ascii", "replace").strip())
        expected = [f"property {'float' if n in 'xyz' else 'uchar'} {n}" for n in PLY_DTYPE.names]
        count = next((int(h.split()[2]) for h in header if h.startswith("element vertex")), None)
        properties = [h for h in header if h.startswith("property")]
        binary = "format binary_little_endian 1.0" in header
        if not header or header[0] != "ply" or not binary or count is None or properties != expected or not line:
            raise InputError(f"{path} is not a point cloud written by stereodiff", "pass a PLY from `stereodiff run`")
        vertices = np.fromfile(f, dtype=PLY_DTYPE, count=count)
    if vertices.size != count:
        raise InputError(f"{path} is truncated ({vertices.size} of {count} points)", "rerun to rewrite it")
    points = np.stack([vertices[n] for n in "xyz"], axis=1)
    colors = np.stack([vertices[n] for n in ("red", "green", "blue")], axis=1)
    return points, colors
