"""3-D exports: PLY point clouds, TUM and COLMAP poses, intrinsics — every file is read back and checked."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stereodiff.io.export import (
    PLY_DTYPE,
    frame_points,
    fused_points,
    quaternion_to_rotation,
    read_intrinsics,
    read_tum_poses,
    rotation_to_quaternion,
    scale_intrinsics,
    world_to_cam,
    write_camera_files,
    write_colmap,
    write_intrinsics,
    write_ply,
    write_point_clouds,
    write_tum_poses,
)
from stereodiff.types import SceneGeometry


def read_ply(path: Path) -> np.ndarray:
    """Minimal reader for the PLY files we write: checks the header, returns the vertex records."""
    data = path.read_bytes()
    end = data.index(b"end_header\n") + len(b"end_header\n")
    header = data[:end].decode("ascii").splitlines()
    assert header[0] == "ply" and header[1] == "format binary_little_endian 1.0"
    count = int(next(line for line in header if line.startswith("element vertex")).split()[-1])
    props = [line.split()[1:] for line in header if line.startswith("property")]
    expected = [("float", "x"), ("float", "y"), ("float", "z"), ("uchar", "red"), ("uchar", "green"), ("uchar", "blue")]
    assert [tuple(p) for p in props] == expected
    assert len(data) - end == count * PLY_DTYPE.itemsize
    return np.frombuffer(data[end:], dtype=PLY_DTYPE)


def _poses(rng, count: int) -> np.ndarray:
    poses = np.tile(np.eye(4), (count, 1, 1))
    poses[:, :3, :3] = Rotation.random(count, random_state=1).as_matrix()
    poses[:, :3, 3] = rng.normal(size=(count, 3))
    return poses


def _geometry(rng, t=3, h=6, w=8, focal=10.0) -> SceneGeometry:
    depth = np.full((t, h, w), 2.0, np.float32)
    depth[:, 0, 0] = 0.0  # invalid
    confidence = np.broadcast_to(np.arange(w, dtype=np.float32), (t, h, w)).copy()  # confidence = column
    return SceneGeometry(
        depth=depth,
        confidence=confidence,
        focal=np.full(t, focal),
        principal_point=np.tile([w / 2, h / 2], (t, 1)).astype(np.float64),
        cam_to_world=_poses(rng, t),
    )


def test_ply_round_trip_is_exact(tmp_path, rng):
    points = rng.normal(size=(50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    vertices = read_ply(write_ply(tmp_path / "c.ply", points, colors))
    np.testing.assert_array_equal(np.stack([vertices["x"], vertices["y"], vertices["z"]], 1), points)
    np.testing.assert_array_equal(np.stack([vertices["red"], vertices["green"], vertices["blue"]], 1), colors)
    assert np.all(read_ply(write_ply(tmp_path / "g.ply", points))["red"] == 128)
    assert read_ply(write_ply(tmp_path / "e.ply", np.zeros((0, 3)))).size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.ply", "e.ply", "g.ply"]  # no temp files left


def test_frame_points_unproject_exactly(rng):
    geometry = _geometry(rng)
    points, colors = frame_points(geometry, 1)
    assert colors is None and points.shape == (6 * 8 - 1, 3)  # the invalid pixel is dropped
    v, u = np.mgrid[0:6, 0:8].astype(np.float64)
    cam = np.stack([(u - 4) / 10 * 2, (v - 3) / 10 * 2, np.full_like(u, 2.0)], -1).reshape(-1, 3)[1:]
    pose = geometry.cam_to_world[1]
    np.testing.assert_allclose(points, cam @ pose[:3, :3].T + pose[:3, 3], atol=1e-6)
    kept, _ = frame_points(geometry, 1, min_conf=5.0)  # columns 5, 6, 7 of 6 rows
    assert kept.shape == (18, 3)
    sub, _ = frame_points(geometry, 1, max_points=10, seed=3)
    assert sub.shape == (10, 3)
    assert all(np.any(np.all(points == p, axis=1)) for p in sub)  # a subset of the full cloud
    np.testing.assert_array_equal(sub, frame_points(geometry, 1, max_points=10, seed=3)[0])  # seeded


def test_point_clouds_leave_out_the_sky(rng):
    geometry = _geometry(rng)
    sky = np.zeros(geometry.depth.shape, bool)
    sky[:, :2] = True  # the top two rows of every frame
    with_sky = dataclasses.replace(geometry, sky=sky)
    points, _ = frame_points(with_sky, 1)
    assert points.shape == (4 * 8, 3)  # rows 2-5 only
    np.testing.assert_array_equal(points, frame_points(geometry, 1)[0][-32:])
    assert fused_points(with_sky, None)[0].shape == (3 * 32, 3)


def test_fused_points_are_a_uniform_subsample_with_colours(rng):
    geometry = _geometry(rng, t=4)
    frames = np.zeros((4, 12, 16, 3), np.uint8)
    frames[..., 0] = np.arange(4)[:, None, None] * 50  # frame t has red = 50 t; 2x the geometry's size
    points, colors = fused_points(geometry, frames, max_points=40)
    assert points.shape == (40, 3) and colors.shape == (40, 3)
    assert np.bincount(colors[:, 0] // 50, minlength=4).tolist() == [10, 10, 10, 10]  # equal quotas
    everything, _ = fused_points(geometry, None, max_points=10_000)
    assert everything.shape == (4 * 47, 3)
    confident, _ = fused_points(geometry, None, min_conf=7.0)
    assert confident.shape == (4 * 6, 3)


def test_write_point_clouds(tmp_path, rng):
    geometry = _geometry(rng, t=3)
    paths = write_point_clouds(tmp_path / "pc", geometry, max_points_per_frame=20, max_points_fused=30)
    assert [p.name for p in paths] == ["frame_000000.ply", "frame_000001.ply", "frame_000002.ply", "fused.ply"]
    assert [read_ply(p).size for p in paths] == [20, 20, 20, 30]


def test_quaternions_known_values():
    quarter_turn_z = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(rotation_to_quaternion(quarter_turn_z), [0, 0, np.sqrt(0.5), np.sqrt(0.5)])
    np.testing.assert_allclose(rotation_to_quaternion(np.eye(3)), [0, 0, 0, 1])
    flip = np.diag([1.0, -1.0, -1.0])  # 180° about x; scalar part 0
    np.testing.assert_allclose(quaternion_to_rotation(rotation_to_quaternion(flip)), flip, atol=1e-15)


def test_tum_round_trip(tmp_path, rng):
    poses = _poses(rng, 5)
    stamps = np.arange(5) / 30.0
    path = write_tum_poses(tmp_path / "poses.txt", poses, stamps)
    rows = np.loadtxt(path)
    assert rows.shape == (5, 8)
    np.testing.assert_array_equal(rows[:, 0], stamps)  # exact: numbers are written with repr()
    np.testing.assert_array_equal(rows[:, 1:4], poses[:, :3, 3])
    np.testing.assert_array_equal(rows[:, 4:], rotation_to_quaternion(poses[:, :3, :3]))
    assert np.all(rows[:, 7] >= 0)
    read_stamps, read_poses = read_tum_poses(path)
    np.testing.assert_array_equal(read_stamps, stamps)
    np.testing.assert_allclose(read_poses, poses, atol=1e-12)


def test_poses_must_be_rigid(tmp_path, rng):
    poses = _poses(rng, 2)
    poses[1, :3, :3] *= 2.0
    with pytest.raises(ValueError, match="orthonormal"):
        write_tum_poses(tmp_path / "p.txt", poses, np.arange(2.0))


def _data_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("shared", [True, False])
def test_colmap_text_model(tmp_path, rng, shared):
    poses = _poses(rng, 3)
    k = np.tile(np.array([[500.0, 0, 320], [0, 510.0, 240], [0, 0, 1]]), (3, 1, 1))
    if not shared:
        k[:, 0, 0] += np.arange(3)
    folder = write_colmap(tmp_path / "colmap", poses, k, (480, 640))
    cameras = [line.split() for line in _data_lines(folder / "cameras.txt")]
    assert len(cameras) == (1 if shared else 3)
    for cam_id, cam in enumerate(cameras, start=1):
        assert cam[:4] == [str(cam_id), "PINHOLE", "640", "480"]
        np.testing.assert_array_equal(
            [float(v) for v in cam[4:]], [500.0 + (0 if shared else cam_id - 1), 510, 320, 240]
        )
    lines = _data_lines(folder / "images.txt")
    assert lines[1::2] == ["", "", ""]  # empty 2-D point lines
    w2c = world_to_cam(poses)
    for t, line in enumerate(lines[0::2]):
        fields = line.split()
        assert fields[0] == str(t + 1) and fields[8] == str(1 if shared else t + 1) and fields[9] == f"{t:06d}.png"
        qw, qx, qy, qz, tx, ty, tz = (float(v) for v in fields[1:8])
        np.testing.assert_allclose(
            quaternion_to_rotation(np.array([qx, qy, qz, qw])) @ poses[t, :3, :3], np.eye(3), atol=1e-12
        )
        np.testing.assert_array_equal([tx, ty, tz], w2c[t, :3, 3])
        np.testing.assert_allclose(w2c[t, :3, :3] @ poses[t, :3, 3] + w2c[t, :3, 3], 0, atol=1e-12)
    assert _data_lines(folder / "points3D.txt") == []


def test_intrinsics_files(tmp_path):
    k = np.array([[500.5, 0, 320.25], [0, 501.0, 240.0], [0, 0, 1]])
    shared = write_intrinsics(tmp_path / "k.txt", np.stack([k, k]), (480, 640))
    assert len(_data_lines(shared)) == 3
    np.testing.assert_array_equal(read_intrinsics(shared), k[None])
    per_frame = np.stack([k, k * [[2], [2], [1]]])
    path = write_intrinsics(tmp_path / "k2.txt", per_frame, (480, 640))
    np.testing.assert_array_equal(read_intrinsics(path), per_frame)
    path = write_intrinsics(tmp_path / "k.json", per_frame, (480, 640))
    data = json.loads(path.read_text())
    assert (data["width"], data["height"], data["fx"]) == (640, 480, [500.5, 1001.0])
    np.testing.assert_array_equal(read_intrinsics(path), per_frame)
    with pytest.raises(ValueError, match=r"\.txt or \.json"):
        write_intrinsics(tmp_path / "k.yaml", k, (480, 640))


def test_scale_intrinsics_keeps_the_centre(rng):
    k = np.array([[100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]])  # principal point (W/2, H/2) of 64x48
    scaled = scale_intrinsics(k, (48, 64), (480, 640))
    np.testing.assert_array_equal(scaled, [[1000.0, 0, 320], [0, 1000.0, 240], [0, 0, 1]])


def test_write_camera_files(tmp_path, rng):
    geometry = _geometry(rng, t=3, h=6, w=8, focal=10.0)
    paths = write_camera_files(tmp_path / "cams", geometry, np.arange(3) / 30.0, image_size=(60, 80))
    assert [p.name for p in paths] == ["poses_tum.txt", "intrinsics.txt", "intrinsics.json", "colmap"]
    np.testing.assert_array_equal(read_intrinsics(paths[1]), [[[100.0, 0, 40], [0, 100.0, 30], [0, 0, 1]]])
    np.testing.assert_allclose(read_tum_poses(paths[0])[1], geometry.cam_to_world, atol=1e-12)
    assert _data_lines(paths[3] / "cameras.txt") == ["1 PINHOLE 80 60 100.0 100.0 40.0 30.0"]
