"""Photometric depth selection in the outline bands (``stage1.band_select``, issue #20)."""

from __future__ import annotations

import numpy as np

from stereodiff.stage1.band_select import BandSettings, band_select
from stereodiff.types import SceneGeometry

H, W, F = 96, 128, 80.0  # image size and focal (px)
NEAR, FAR = 2.0, 5.0  # depth of the square and of the wall behind it


def _texture(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """``[..., 3]`` RGB in [0, 1] of a surface at its world coordinates ``(x, y)``: random sinusoids."""
    rng = np.random.default_rng(seed)
    out = np.zeros((*x.shape, 3))
    for _ in range(6):
        fx, fy = rng.uniform(4, 14, 2)
        out += rng.uniform(0.2, 1.0, 3) * np.sin(fx * x + fy * y + rng.uniform(0, 6.3))[..., None]
    return np.clip(0.5 + out / 8, 0, 1)


def _render(cam_x: float) -> tuple[np.ndarray, np.ndarray]:
    """RGB ``[H,W,3]`` uint8 and depth ``[H,W]`` of a camera at ``(cam_x, 0, 0)`` looking along +z: a 1.2 m square
    at ``NEAR`` in front of a wall at ``FAR`` (own textures)."""
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    rx, ry = (u - W / 2) / F, (v - H / 2) / F
    near_x, near_y = cam_x + NEAR * rx, NEAR * ry
    on_square = (np.abs(near_x) < 0.6) & (np.abs(near_y) < 0.6)
    rgb = np.where(on_square[..., None], _texture(near_x, near_y, 1), _texture(cam_x + FAR * rx, FAR * ry, 2))
    return (rgb * 255).round().astype(np.uint8), np.where(on_square, NEAR, FAR)


def _video() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """frames ``[T,H,W,3]``, true depth ``[T,H,W]`` and ``cam_to_world [T,4,4]`` of a camera sliding 2 cm a frame."""
    xs = 0.02 * np.arange(-5, 6)
    frames, depth = zip(*(_render(x) for x in xs), strict=True)
    poses = np.tile(np.eye(4), (len(xs), 1, 1))
    poses[:, 0, 3] = xs
    return np.stack(frames), np.stack(depth), poses


def _stage1(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1-like depth: a 3-px hole band along the square's outline (the motion-boundary check) and a 2-px
    covered rim outside it carrying the square's depth (foreground fattening); the valid mask."""
    import cv2

    out = depth.astype(np.float32).copy()
    valid = np.ones(depth.shape, bool)
    for k, d in enumerate(depth):
        square = (d == NEAR).astype(np.uint8)
        grown = cv2.dilate(square, np.ones((3, 3), np.uint8), iterations=2)
        band = cv2.dilate(grown, np.ones((3, 3), np.uint8), iterations=3) - cv2.erode(grown, np.ones((3, 3), np.uint8))
        out[k][(grown > 0) & (square == 0)] = NEAR  # fattening
        valid[k] = band == 0
        out[k][~valid[k]] = 0
    return out, valid


def _scene(depth: np.ndarray, valid: np.ndarray, poses: np.ndarray) -> SceneGeometry:
    t = len(depth)
    return SceneGeometry(
        depth=depth,
        confidence=np.where(valid, 5.0, 0.0).astype(np.float32),
        focal=np.full(t, F),
        principal_point=np.tile([W / 2, H / 2], (t, 1)).astype(np.float64),
        cam_to_world=poses,
        valid=valid,
    )


def test_band_takes_the_true_side_of_an_outline() -> None:
    frames, truth, poses = _video()
    depth, valid = _stage1(truth)
    settings = BandSettings(offsets=(2, 3, 5), holes=True)  # 11 frames: the default offsets reach 15
    out = band_select(frames, _scene(depth, valid, poses), None, settings, num_workers=1)
    k = 5
    band = ~valid[k] | (depth[k] != truth[k])  # the holes and the fattened rim
    before = np.abs(np.log(np.where(depth[k] > 0, depth[k], NEAR) / truth[k]))[band]
    after_depth = np.asarray(out.depth[k])
    filled = after_depth[band] > 0
    after = np.abs(np.log(np.where(after_depth > 0, after_depth, NEAR) / truth[k]))[band]
    assert np.median(before) > 0.5  # the band starts at the wrong side (or empty)
    assert filled.mean() > 0.8
    assert np.median(after[filled]) < 0.01
    assert (after[filled] < 0.05).mean() > 0.9
    wall = (depth[k] != truth[k]) & valid[k]  # the fattened rim, covered: fixed in place
    assert np.median(np.abs(after_depth[wall] - FAR)) < 0.05
    rim_only = band_select(frames, _scene(depth, valid, poses), None, BandSettings(offsets=(2, 3, 5)), num_workers=1)
    np.testing.assert_array_equal(np.asarray(rim_only.valid), valid)  # the holes are left to stage 2
    assert np.median(np.abs(np.asarray(rim_only.depth[k])[wall] - FAR)) < 0.05


def test_moving_pixels_are_left_alone() -> None:
    frames, truth, poses = _video()
    depth, valid = _stage1(truth)
    moving = np.ones(depth.shape, bool)
    settings = BandSettings(offsets=(2, 3, 5), holes=True)
    out = band_select(frames, _scene(depth, valid, poses), moving, settings, num_workers=1)
    np.testing.assert_array_equal(np.asarray(out.depth), depth)
    np.testing.assert_array_equal(np.asarray(out.valid), valid)


def test_refine_pose_recovers_a_neighbour_pose_off_by_pixels() -> None:
    import cv2

    from stereodiff.stage1.band_select import refine_pose

    frames, truth, poses = _video()
    K = np.array([[F, 0, W / 2], [0, F, H / 2], [0, 0, 1.0]])
    true_T = np.linalg.inv(poses[9]) @ poses[5]
    wrong_T = true_T.copy()
    wrong_T[:3, :3] = cv2.Rodrigues(np.array([0.0, 0.03, 0.01]))[0] @ true_T[:3, :3]  # 2.4 px off at F = 80
    image, other = (frames[k].astype(np.float32) / 255 for k in (5, 9))
    anchor = cv2.erode((truth[5] == FAR).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    refined = refine_pose(image, other, truth[5].astype(np.float32), anchor, K, K, wrong_T)
    assert refined is not None
    assert np.abs(refined[:3, :3] - true_T[:3, :3]).max() < 0.003 < np.abs(wrong_T[:3, :3] - true_T[:3, :3]).max()


def test_band_select_settings_are_validated() -> None:
    import pytest

    from stereodiff.stage1.configs import GeometricConfig

    GeometricConfig(band_select=True, band_select_best_k=6).validate()
    with pytest.raises(ValueError, match="band_select_best_k"):
        GeometricConfig(band_select_best_k=7).validate()
    with pytest.raises(ValueError, match="band_select_offsets"):
        GeometricConfig(band_select_offsets=(0, 2)).validate()
