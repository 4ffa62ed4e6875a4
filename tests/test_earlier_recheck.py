"""stage1.earlier_recheck: a near static surface put far in the last frames takes the earlier frames' depth."""

import dataclasses
import warnings

import numpy as np
import pytest

from stereodiff.camera import backproject_pixels
from stereodiff.config import preset_config, set_option
from stereodiff.stage1.earlier_recheck import EarlierRecheck, _median, _splats, recheck_far_from_earlier, splat_depth
from stereodiff.types import SceneGeometry

H, W, FOCAL = 48, 64, 40.0
FAR_Z, NEAR_Z, NEAR_X = 30.0, 4.0, 0.8  # a far wall, and a near wall at the right (world x ≥ NEAR_X)


def _truth(frames: int = 8, step: float = 0.3) -> SceneGeometry:
    """A camera moving ahead (z) by ``step`` per frame past a near wall at the image's right side, in front of a
    far wall: exact depth ``[T,H,W]``, the near wall growing towards the right side frame by frame."""
    u = (np.arange(W) - W / 2) / FOCAL
    depth = np.empty((frames, H, W), np.float32)
    poses = np.tile(np.eye(4), (frames, 1, 1))
    for k in range(frames):
        poses[k, 2, 3] = step * k
        near = NEAR_Z - step * k
        row = np.where(u * near >= NEAR_X, near, FAR_Z - step * k)
        depth[k] = np.broadcast_to(row, (H, W))
    return SceneGeometry(
        depth=depth,
        confidence=np.full(depth.shape, 2.0, np.float32),
        focal=np.full(frames, FOCAL),
        principal_point=np.tile([W / 2, H / 2], (frames, 1)),
        cam_to_world=poses,
        valid=np.ones(depth.shape, bool),
    )


def test_splat_depth_moves_the_points_by_the_pose():
    """The wall of frame 0 seen from frame 2's camera is frame 2's depth wherever a point lands (a z-buffer: the
    near wall hides the far one behind it)."""
    scene = _truth()
    K = scene.intrinsics()
    moved = splat_depth(scene.depth[0], np.ones((H, W), bool), K[0], K[2], np.linalg.inv(scene.cam_to_world[2]))
    landed = np.isfinite(moved)
    assert landed[:, 1:-1].mean() > 0.95
    truth = scene.depth[2]
    inside = landed & (np.abs(np.log(truth / np.where(landed, moved, 1.0))) < 0.02)
    assert inside.sum() >= 0.95 * landed.sum()  # (the walls' shared edge column may take either)


def test_near_far_pixels_take_the_earlier_frames_depth():
    """The near wall put 3× too far in the last two frames takes the earlier frames' depth; the far wall put 3× too
    far does not (the near gate), nor do the near pixels flagged moving; the earlier frames are unchanged."""
    truth = _truth()
    scene = _truth()
    depth = np.array(truth.depth)
    near = depth < 10
    wrong = near.copy()
    wrong[:6] = False
    depth[wrong] *= 3.0
    far_wrong = ~near & (np.arange(W) < 10)[None, None, :]
    far_wrong[:6] = False
    depth[far_wrong] *= 3.0
    scene = dataclasses.replace(truth, depth=depth)
    static = np.ones(depth.shape, bool)
    static[7, :, -4:] = False  # a mover's pixels
    out, changed = recheck_far_from_earlier(scene, [~static], EarlierRecheck(margin=0.3, frames=4, near=0.2))
    fixed = wrong & static
    fixed[:, :, :2] = False  # (no earlier point lands beyond the right side's last splat)
    error = np.abs(np.log(out.depth[fixed] / truth.depth[fixed]))
    assert changed > 0 and np.median(error) < 0.05 and np.mean(error < 0.1) > 0.9
    assert np.array_equal(out.depth[far_wrong], depth[far_wrong])
    assert np.array_equal(out.depth[7, :, -4:], depth[7, :, -4:])
    assert np.array_equal(out.depth[:6], depth[:6])
    assert out.depth is not scene.depth and np.array_equal(scene.depth, depth)  # the input is left as it was


def test_given_pixels_put_far_are_checked_with_earlier_recheck_given():
    """A near wall the movers step gave a 3× too far depth in the last two frames (flagged in every frame, as a
    parked car taken for a mover): left alone by default, given the earlier frames' depth with ``checked``."""
    truth = _truth()
    depth = np.array(truth.depth)
    wrong = depth < 10
    wrong[:6] = False
    depth[wrong] *= 3.0
    scene = dataclasses.replace(truth, depth=depth)
    given = wrong.copy()  # the far-put near wall, given by a mover rule
    settings = EarlierRecheck(margin=0.3, frames=4, near=0.2)
    alone, unchanged = recheck_far_from_earlier(scene, [given], settings)
    assert unchanged == 0 and np.array_equal(alone.depth, depth)
    out, changed = recheck_far_from_earlier(scene, [given], settings, checked=given)
    fixed = wrong.copy()
    fixed[:, :, :2] = False  # (no earlier point lands beyond the right side's last splat)
    error = np.abs(np.log(out.depth[fixed] / truth.depth[fixed]))
    assert changed > 0 and np.median(error) < 0.05 and np.mean(error < 0.1) > 0.9
    assert np.array_equal(out.depth[~wrong], depth[~wrong])
    assert np.array_equal(out.depth[:6], depth[:6])


def test_earlier_recheck_is_in_the_preset_and_validated():
    config = preset_config("cpu")
    assert config.stage1.earlier_recheck == 0.3
    set_option(config, "stage1.earlier_recheck", "0")
    config.validate()
    assert config.stage1.earlier_recheck_given is True
    for key, value in (
        ("earlier_recheck", "-0.1"),
        ("earlier_recheck_frames", "0"),
        ("earlier_recheck_near", "0"),
    ):
        config = preset_config("cpu")
        set_option(config, f"stage1.{key}", value)
        with pytest.raises(ValueError, match=key):
            config.validate()
    config = preset_config("cpu")
    config.stage1.earlier_recheck_given = 1  # not a bool
    with pytest.raises(ValueError, match="earlier_recheck_given"):
        config.validate()


def test_recheck_frame_by_frame_reads_only_the_earlier_frames_as_given(tmp_path):
    """Each frame's output is that of the video cut to it and its ``frames`` earlier frames (the ring holds their
    given depth, never a rechecked one), bit for bit; the memmap in ``out_dir`` holds the in-memory output."""
    truth = _truth(frames=12, step=0.2)
    depth = np.array(truth.depth)
    depth[4:][depth[4:] < 10] *= 3.0  # the near wall put far from frame 4 on: rechecked frames predict later ones
    scene = dataclasses.replace(truth, depth=depth)
    moving = np.zeros(depth.shape, bool)
    moving[:, :4, :] = True
    settings = EarlierRecheck(margin=0.3, frames=3, near=0.2)
    out, changed = recheck_far_from_earlier(scene, [moving], settings)
    on_disk, _ = recheck_far_from_earlier(scene, [moving], settings, out_dir=tmp_path)
    assert changed > 0 and isinstance(on_disk.depth, np.memmap) and np.array_equal(on_disk.depth, out.depth)
    for k in range(3, 12):
        cut = slice(k - 3, k + 1)
        part = SceneGeometry(
            depth=depth[cut],
            confidence=truth.confidence[cut],
            focal=truth.focal[cut],
            principal_point=truth.principal_point[cut],
            cam_to_world=truth.cam_to_world[cut],
            valid=truth.valid[cut],
        )
        alone, _ = recheck_far_from_earlier(part, [moving[cut]], settings)
        assert np.array_equal(alone.depth[-1], out.depth[k])


def test_splat_depth_is_the_strided_rotations_product_bit_for_bit():
    """The splat of 63,000 points (where OpenBLAS threads the strided product) holds the depths of the strided
    view's product, bit for bit, each point's nearest pixel its depth or a nearer one."""
    rng = np.random.default_rng(3)
    depth = rng.uniform(2.0, 40.0, (250, 280)).astype(np.float32)
    keep = rng.random(depth.shape) < 0.9
    K = np.array([[200.0, 0.0, 140.0], [0.0, 200.0, 125.0], [0.0, 0.0, 1.0]])
    angle = 0.02
    src_to_dst = np.eye(4)
    src_to_dst[:3, :3] = [[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]]
    src_to_dst[:3, 3] = [0.05, 0.01, -0.8]
    rows, cols = np.nonzero(keep)
    points = backproject_pixels(depth, K, rows, cols) @ src_to_dst[:3, :3].T + src_to_dst[:3, 3]
    z = points[:, 2]
    u = np.rint(points[:, 0] / z * K[0, 0] + K[0, 2]).astype(int)
    v = np.rint(points[:, 1] / z * K[1, 1] + K[1, 2]).astype(int)
    moved = splat_depth(depth, keep, K, K, src_to_dst)
    inside = (u >= 0) & (u < 280) & (v >= 0) & (v < 250)
    assert np.all(moved[v[inside], u[inside]] <= z[inside])  # every point's nearest pixel holds it or a nearer one
    assert np.isin(moved[np.isfinite(moved)], z).all()  # every value is one of the strided product's depths


def test_earlier_frames_splats_and_their_median():
    """The earlier frames' points splat into a frame as :func:`splat_depth` of their depth does, bit for bit; their
    median at the pixels asked is ``np.nanmedian``'s of the splats (NaN where none lands), with how many landed."""
    scene = _truth(frames=6, step=0.2)
    depth = np.array(scene.depth) * np.random.default_rng(5).uniform(0.9, 1.1, scene.depth.shape).astype(np.float32)
    K = scene.intrinsics()
    world_to_5 = np.linalg.inv(scene.cam_to_world[5])
    keep = np.ones((H, W), bool)
    keep[:, :5] = False  # (fewer points land on the left side: counts from 0 to 5)
    expected = [splat_depth(depth[s], keep, K[s], K[5], world_to_5 @ scene.cam_to_world[s]) for s in range(5)]
    rows, cols = np.nonzero(keep)
    earlier = [(backproject_pixels(depth[s], K[s], rows, cols), scene.cam_to_world[s]) for s in range(5)]
    splats = _splats(earlier, K[5], world_to_5, (H, W))
    assert np.array_equal(splats, np.stack(expected))
    where = np.random.default_rng(6).random((H, W)) < 0.7
    median, count = _median(splats[:, where])
    assert np.array_equal(count, np.isfinite(splats).sum(axis=0)[where]) and set(count) >= {0, 5}
    with warnings.catch_warnings():  # (nanmedian warns of the pixels where nothing landed)
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(median, np.nanmedian(np.where(np.isfinite(splats), splats, np.nan)[:, where], 0))


def test_recheck_on_threads_is_the_serial_output_bit_for_bit(tmp_path):
    """The frames on two threads give each frame's serial output, bit for bit, and the same count."""
    truth = _truth(frames=12, step=0.2)
    depth = np.array(truth.depth)
    depth[4:][depth[4:] < 10] *= 3.0
    scene = dataclasses.replace(truth, depth=depth)
    moving = np.zeros(depth.shape, bool)
    moving[:, :4, :] = True
    settings = EarlierRecheck(margin=0.3, frames=3, near=0.2)
    serial, changed = recheck_far_from_earlier(scene, [moving], settings)
    threaded, changed_threaded = recheck_far_from_earlier(scene, [moving], settings, tmp_path, num_workers=2)
    assert changed > 0 and changed_threaded == changed and np.array_equal(threaded.depth, serial.depth)


def _four_corner_splat(
    depth: np.ndarray, keep: np.ndarray, K_src: np.ndarray, K_dst: np.ndarray, src_to_dst: np.ndarray
) -> np.ndarray:
    """The splat by its definition: each point ahead of the camera on its four corners, a z-buffer per corner."""
    h, w = depth.shape
    rows, cols = np.nonzero(keep)
    points = backproject_pixels(depth, K_src, rows, cols) @ src_to_dst[:3, :3].T + src_to_dst[:3, 3]
    points = points[points[:, 2] > 0]
    z = points[:, 2]
    u = points[:, 0] / z * K_dst[0, 0] + K_dst[0, 2]
    v = points[:, 1] / z * K_dst[1, 1] + K_dst[1, 2]
    out = np.full(h * w, np.inf)
    for col in (np.floor(u), np.ceil(u)):
        for row in (np.floor(v), np.ceil(v)):
            inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
            np.minimum.at(out, row[inside].astype(np.int64) * w + col[inside].astype(np.int64), z[inside])
    return out.reshape(h, w)


@pytest.mark.parametrize("angle", [0.0, 0.03])
def test_splat_depth_is_each_points_four_corners_bit_for_bit(angle):
    """One z-buffer of the points' upper-left corner and the least of each pixel's four neighbours is the splat's
    definition, bit for bit: points leaving the image on every side, points behind the camera, and (without a
    rotation) points on the principal row and column, projected onto whole pixels, which land on their own."""
    rng = np.random.default_rng(7)
    depth = rng.uniform(0.2, 30.0, (50, 60)).astype(np.float32)
    keep = rng.random(depth.shape) < 0.8
    K = np.array([[45.0, 0.0, 30.0], [0.0, 45.0, 25.0], [0.0, 0.0, 1.0]])
    src_to_dst = np.eye(4)
    src_to_dst[:3, :3] = [[np.cos(angle), 0.0, np.sin(angle)], [0.0, 1.0, 0.0], [-np.sin(angle), 0.0, np.cos(angle)]]
    src_to_dst[:3, 3] = [0.0, 0.0, -1.0]  # ahead: the near points leave the image or go behind the camera
    expected = _four_corner_splat(depth, keep, K, K, src_to_dst)
    assert np.isfinite(expected).mean() > 0.5 and np.array_equal(splat_depth(depth, keep, K, K, src_to_dst), expected)
