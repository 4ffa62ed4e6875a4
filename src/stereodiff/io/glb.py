"""Binary glTF (``.glb``) scenes for 3-D viewers: a coloured point cloud, camera frustums and the camera path.

Written with trimesh (optional extra ``app``). Coordinates are the run's world frame (scene unit) turned from
OpenCV axes (y down, z forward) to glTF's (y up, viewer looks along -z) by a 180° rotation about x, so viewers
show the first camera's view upright; points are glTF ``POINTS`` primitives, frustums and the path ``LINES``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stereodiff.io.files import atomic_file

__all__ = ["frustum_lines", "write_scene_glb"]

PATH_COLOR = (40, 120, 255, 255)
FRUSTUM_COLOR = (255, 80, 40, 255)


def frustum_lines(
    cam_to_world: np.ndarray, intrinsics: np.ndarray, image_size: tuple[int, int], scale: float
) -> np.ndarray:
    """Line segments ``[8*T,2,3]`` of camera frustums: centre → 4 image corners at depth ``scale``, and the rim.

    Args:
        cam_to_world: ``[T,4,4]`` poses; intrinsics: ``[T,3,3]`` at ``image_size`` ``(H, W)``.
    """
    height, width = image_size
    corners_px = np.array([[0, 0, 1], [width, 0, 1], [width, height, 1], [0, height, 1]], np.float64)
    segments = []
    for pose, k in zip(cam_to_world, intrinsics):
        rays = corners_px @ np.linalg.inv(k).T * scale  # [4,3] camera coordinates at z = scale
        world = rays @ pose[:3, :3].T + pose[:3, 3]
        centre = pose[:3, 3]
        segments += [[centre, c] for c in world] + [[world[i], world[(i + 1) % 4]] for i in range(4)]
    return np.asarray(segments, np.float64).reshape(-1, 2, 3)


def write_scene_glb(
    path: str | Path,
    points: np.ndarray,
    colors: np.ndarray | None,
    cam_to_world: np.ndarray,
    intrinsics: np.ndarray,
    image_size: tuple[int, int],
    *,
    max_frustums: int = 60,
) -> Path:
    """Write a ``.glb`` with the point cloud, the camera path and at most ``max_frustums`` evenly spaced frustums.

    Args:
        points: ``[N,3]`` world points; colors: ``[N,3]`` uint8 RGB or ``None`` (grey).
        cam_to_world: ``[T,4,4]``; intrinsics: ``[T,3,3]`` at ``image_size`` ``(H, W)``.
    """
    from stereodiff.backends import require_extra

    require_extra("app", "the .glb export")
    import trimesh

    points = np.asarray(points, np.float32).reshape(-1, 3)
    rgba = np.full((len(points), 4), 255, np.uint8)
    rgba[:, :3] = 128 if colors is None else np.asarray(colors, np.uint8).reshape(-1, 3)
    scene = trimesh.Scene()
    if len(points):
        scene.add_geometry(trimesh.PointCloud(points, colors=rgba), geom_name="points")
    centres = np.asarray(cam_to_world)[:, :3, 3]
    extent = np.ptp(np.concatenate([points, centres]), axis=0).max() if len(points) else 1.0
    if len(centres) > 1:
        scene.add_geometry(_lines(trimesh, np.stack([centres[:-1], centres[1:]], 1), PATH_COLOR), geom_name="path")
    shown = np.unique(np.linspace(0, len(centres) - 1, min(max_frustums, len(centres))).round().astype(int))
    frustums = frustum_lines(cam_to_world[shown], intrinsics[shown], image_size, scale=0.05 * max(extent, 1e-6))
    scene.add_geometry(_lines(trimesh, frustums, FRUSTUM_COLOR), geom_name="cameras")
    scene.apply_transform(np.diag([1.0, -1.0, -1.0, 1.0]))  # OpenCV → glTF axes
    with atomic_file(path) as tmp:
        tmp.write_bytes(scene.export(file_type="glb"))
    return Path(path)


def _lines(trimesh, segments: np.ndarray, color: tuple[int, int, int, int]):
    """A trimesh ``Path3D`` of independent segments ``[S,2,3]`` in one colour."""
    from trimesh.path.entities import Line

    vertices = segments.reshape(-1, 3)
    entities = [Line([2 * i, 2 * i + 1], color=color) for i in range(len(segments))]
    return trimesh.path.Path3D(entities=entities, vertices=vertices)
