"""One principal-point convention (docs/conventions.md): renderer, matcher, alignment and exports agree."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.camera import (
    backproject,
    backproject_pixels,
    default_principal_point,
    fit_long_side,
    pinhole,
    rigid_transform,
    rotate,
    scale_intrinsics,
)
from stereodiff.io.export import read_intrinsics, read_tum_poses, write_camera_files
from stereodiff.stage1.alignment import global_alignment
from stereodiff.stage1.geometric import GeometricMatcher
from stereodiff.synth import make_scene
from stereodiff.synth.dataset import load_synthetic_dataset, write_synthetic_dataset
from stereodiff.types import PairPredictions, SceneGeometry

SOURCE, WORKING = (96, 128), (48, 64)  # an exact factor 2: working pixel (u, v) is source pixel (2u, 2v)


def _world(depth: np.ndarray, K: np.ndarray, cam_to_world: np.ndarray) -> np.ndarray:
    """``[h,w,3]`` world points of a depth map."""
    return backproject(depth, K) @ cam_to_world[:3, :3].T + cam_to_world[:3, 3]


@pytest.mark.parametrize(
    ("size", "long_side", "kwargs", "expected"),
    [((480, 640), 320, {}, (240, 320)), ((436, 1024), 512, {}, (218, 512)), ((100, 50), 320, {}, (320, 160)),
     ((100, 50), 320, {"upscale": False}, (100, 50)), ((10, 1000), 32, {"minimum": 8}, (8, 32))],
)  # fmt: skip
def test_fit_long_side(size, long_side, kwargs, expected):
    assert fit_long_side(*size, long_side, **kwargs) == expected


def test_scaling_intrinsics_keeps_the_default_principal_point():
    K = pinhole(100.0, SOURCE)
    np.testing.assert_array_equal(K[:2, 2], [64.0, 48.0])
    scaled = scale_intrinsics(K, SOURCE, WORKING)
    np.testing.assert_array_equal(scaled, pinhole(50.0, WORKING))
    np.testing.assert_array_equal(scale_intrinsics(scaled, WORKING, SOURCE), K)


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """The same 3-frame scene rendered at the source and at the working size, written and read back."""
    out = {}
    for size in (SOURCE, WORKING):
        video = make_scene("static-orbit", seed=0, num_frames=3, height=size[0], width=size[1])
        folder = write_synthetic_dataset(video, tmp_path_factory.mktemp("synth") / f"{size[0]}x{size[1]}")
        out[size] = load_synthetic_dataset(folder)  # the exported intrinsics.txt, poses.txt and depth.npz
    return out


def test_rendered_scene_gives_the_same_world_points_at_two_resolutions(renders):
    big, small = renders[SOURCE], renders[WORKING]
    for size, video in renders.items():
        np.testing.assert_array_equal(video.K[:2, 2], default_principal_point(size))
    np.testing.assert_allclose(small.K, scale_intrinsics(big.K, SOURCE, WORKING), rtol=1e-9)
    np.testing.assert_array_equal(small.cam_to_world, big.cam_to_world)
    for t in range(3):
        world_big = _world(big.depth[t], big.K, big.cam_to_world[t])
        world_small = _world(small.depth[t], small.K, small.cam_to_world[t])
        hit = small.depth[t] > 0
        assert hit.mean() > 0.9
        np.testing.assert_allclose(world_small[hit], world_big[::2, ::2][hit], rtol=0, atol=1e-5)


def test_stage1_scene_at_a_working_resolution_exports_the_source_intrinsics(renders, tmp_path):
    # a stage-1 scene at the working resolution with exact depth, the pipeline's focal and principal point
    big = renders[SOURCE]
    K_work = scale_intrinsics(big.K, SOURCE, WORKING)
    geometry = SceneGeometry(
        depth=np.ascontiguousarray(big.depth[:, ::2, ::2]),
        confidence=np.ones((3, *WORKING), np.float32),
        focal=np.full(3, K_work[0, 0]),
        principal_point=np.tile(default_principal_point(WORKING), (3, 1)),
        cam_to_world=big.cam_to_world,
        valid=big.depth[:, ::2, ::2] > 0,
    )
    write_camera_files(tmp_path, geometry, np.arange(3) / 30.0, image_size=SOURCE)
    K_exported = read_intrinsics(tmp_path / "intrinsics.txt")[0]
    _, poses = read_tum_poses(tmp_path / "poses_tum.txt")
    np.testing.assert_allclose(K_exported, big.K, rtol=1e-9)
    for t in range(3):
        expected = _world(big.depth[t], big.K, big.cam_to_world[t])
        np.testing.assert_allclose(geometry.world_points(t), expected[::2, ::2], atol=1e-5)
        # the exported source-size intrinsics and poses with the depth upsampled to the source size (nearest)
        upsampled = np.repeat(np.repeat(geometry.depth[t], 2, axis=0), 2, axis=1)
        exported = _world(upsampled, K_exported, poses[t])
        np.testing.assert_allclose(exported[::2, ::2], expected[::2, ::2], atol=1e-5)


def test_matcher_and_alignment_use_the_same_principal_point():
    K = pinhole(120.0, SOURCE)
    given = GeometricMatcher(resolution=64, intrinsics=K)._intrinsics(SOURCE, WORKING, None)
    np.testing.assert_array_equal(given[0], scale_intrinsics(K, SOURCE, WORKING))
    focal = GeometricMatcher(resolution=64, focal_px=120.0)._intrinsics(SOURCE, WORKING, None)
    np.testing.assert_array_equal(focal[0], pinhole(60.0, WORKING))
    slanted = 2.0 + np.linspace(0, 1, WORKING[1])[None, :] + np.zeros((WORKING[0], 1))  # a plane, depth 2-3
    pts = np.repeat(backproject(slanted, pinhole(60.0, WORKING))[None], 2, axis=0).astype(np.float32)  # no motion
    conf = np.full((2, *WORKING), 5.0, np.float32)
    preds = PairPredictions(pairs=np.array([[0, 1], [1, 0]]), pts_i=pts, pts_j=pts, conf_i=conf, conf_j=conf,
                            num_frames=2)  # fmt: skip
    scene = global_alignment(preds)
    np.testing.assert_array_equal(scene.principal_point, np.tile(default_principal_point(WORKING), (2, 1)))
    np.testing.assert_allclose(scene.focal, 60.0, rtol=1e-6)  # the focal fits with that principal point only


def test_backproject_pixels_is_backproject_at_those_pixels_bit_for_bit():
    rng = np.random.default_rng(3)
    depth = rng.uniform(0.5, 9.0, (24, 32)).astype(np.float32)
    K = pinhole(27.3, (24, 32))
    rows, cols = rng.integers(0, 24, 50), rng.integers(0, 32, 50)
    assert np.array_equal(backproject_pixels(depth, K, rows, cols), backproject(depth, K)[rows, cols])


@pytest.mark.parametrize("shape", [(70_000, 3), (24, 32, 3), (3,)])
def test_rigid_transform_is_the_strided_rotations_product_bit_for_bit(shape):
    rng = np.random.default_rng(5)
    points = rng.normal(0.0, 3.0, shape).astype(np.float32)
    angle = 0.3
    T = np.eye(4)
    T[:3, :3] = [[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]]
    T[:3, 3] = [0.2, -0.1, 1.5]
    moved = rigid_transform(points, T)
    assert moved.shape == shape and moved.dtype == np.float64
    assert np.array_equal(moved, points @ T[:3, :3].T + T[:3, 3])
    assert not np.array_equal(moved, points @ T[:3, :3] + T[:3, 3])  # the rotation's transpose matters


@pytest.mark.parametrize("shape", [(70_000, 3), (240, 320, 3), (24, 32, 3)])
@pytest.mark.parametrize("matrix", ["rotation of a pose", "essential (transposed view)"])
def test_rotate_is_the_transposed_views_product_bit_for_bit(shape, matrix):
    rng = np.random.default_rng(6)
    points = rng.normal(0.0, 3.0, shape)
    if matrix == "rotation of a pose":  # a strided view of a [4,4] pose
        T = np.eye(4)
        T[:3, :3] = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        M = T[:3, :3]
    else:  # contiguous [3,3]: its transpose is a Fortran-ordered view
        M = rng.normal(size=(3, 3))
    turned = rotate(points, M)
    assert turned.shape == shape and turned.dtype == np.float64
    assert np.array_equal(turned, points @ M.T)
    assert not np.array_equal(turned, points @ M)  # the transpose matters
