"""Moving-object handling of the geometric stage 1: rigid flow, segmentation, depth from mover constraints."""

from __future__ import annotations

import numpy as np

from stereodiff.camera import pinhole
from stereodiff.stage1.movers import MoverSettings, ground_depth, handle_movers, rigid_flow
from stereodiff.types import SceneGeometry


def test_rigid_flow_of_a_sideways_translation_is_focal_times_baseline_over_depth():
    K = pinhole(100.0, (30, 40))
    depth = np.full((30, 40), 2.0, np.float32)
    depth[:5] = 0.0  # unknown depth: no flow predicted there
    pose = np.eye(4)
    pose[0, 3] = -0.1  # the other camera sits 0.1 to the right: points move left in it
    flow, defined = rigid_flow(depth, K, pose)
    assert not defined[:5].any() and defined[5:].all()
    np.testing.assert_allclose(flow[5:, :, 0], -5.0, atol=1e-4)
    np.testing.assert_allclose(flow[5:, :, 1], 0.0, atol=1e-4)


def _sliding_square(num_frames: int = 16, h: int = 120, w: int = 160, seed: int = 0):
    """A camera translating sideways past a textured wall at depth 4 (1 px of flow per frame) and a textured square
    sliding down it (1 px per frame, across the horizontal epipolar lines): frames ``[T,h,w,3]`` uint8 and the
    square's mask ``[T,h,w]``."""
    import cv2

    rng = np.random.default_rng(seed)

    def texture(height: int, width: int) -> np.ndarray:
        noise = rng.random((height, width)).astype(np.float32)
        detail = cv2.GaussianBlur(noise, (0, 0), 1.5) + cv2.GaussianBlur(noise, (0, 0), 4.0)
        detail = (detail - detail.min()) / np.ptp(detail)
        return np.repeat((detail * 255).astype(np.uint8)[..., None], 3, axis=2)

    wall, square = texture(h, w + num_frames + 2), texture(30, 30)
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    mask = np.zeros((num_frames, h, w), bool)
    for k in range(num_frames):
        frames[k] = wall[:, k : k + w]
        y = 40 + k
        frames[k, y : y + 30, 65:95] = square
        mask[k, y : y + 30, 65:95] = True
    return frames, mask


def _wall_scene(depth: np.ndarray) -> SceneGeometry:
    """The stage-1 scene of :func:`_sliding_square` (focal 400: 1 px per frame at depth 4) with this depth."""
    t, h, w = depth.shape
    focal = 400.0
    return SceneGeometry(
        depth=depth,
        confidence=np.full((t, h, w), 5.0, np.float32),
        focal=np.full(t, focal),
        principal_point=np.tile([w / 2, h / 2], (t, 1)).astype(np.float64),
        cam_to_world=np.tile(np.eye(4), (t, 1, 1)),
    )


def test_handle_movers_finds_the_mover_and_gives_it_the_depth_of_the_surface_it_occludes():
    frames, truth = _sliding_square()
    depth = np.where(truth, 0.0, 4.0).astype(np.float32)  # stage 1 left the square untriangulated (a hole)
    scene = _wall_scene(depth)
    # a slow mover in a 16-frame clip: short offsets (DIS at 160 px loses the square's texture at offsets ≥ 6)
    fixed, moving = handle_movers(frames, scene, MoverSettings(offsets=(3, 6), hole_bound=True))
    overlap = (moving & truth).sum()
    assert overlap / truth.sum() > 0.7  # recall
    assert overlap / moving.sum() > 0.7  # precision
    inside = truth & moving
    np.testing.assert_allclose(fixed.depth[inside], 4.0, rtol=0.05)  # no ground: the occlusion bound, the wall
    np.testing.assert_allclose(fixed.confidence[inside], 5.0)  # the static pixels' median confidence
    np.testing.assert_array_equal(fixed.depth[~moving], depth[~moving])  # static pixels untouched
    assert scene.depth is depth  # the input scene is not modified
    left, _ = handle_movers(frames, scene, MoverSettings(offsets=(3, 6)))  # default: no contact, left to stage 2
    assert (left.depth[inside] == 0).all()


def test_movers_in_blocks_give_what_the_whole_video_gives(monkeypatch, tmp_path):
    """Memory is bounded by blocks of BLOCK_FRAMES frames with max(offsets) + 1 frames of context: the depth and the
    mover mask of a blocked run equal the whole-video run's (the mover confidence is a per-block median), whatever
    the number of threads."""
    from stereodiff.stage1 import movers

    frames, truth = _sliding_square(num_frames=40)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    settings = MoverSettings(offsets=(3, 6), hole_bound=True)
    whole, whole_moving = handle_movers(frames, scene, settings)
    monkeypatch.setattr(movers, "BLOCK_FRAMES", 12)
    blocked, blocked_moving = handle_movers(frames, scene, settings, out_dir=tmp_path, num_workers=1)
    assert isinstance(blocked.depth, np.memmap) and (tmp_path / "movers_depth.npy").is_file()
    assert whole_moving.sum() > 0.5 * truth.sum()  # the square is found, so the comparison means something
    np.testing.assert_array_equal(blocked_moving, whole_moving)
    np.testing.assert_array_equal(blocked.depth, whole.depth)
    np.testing.assert_array_equal(blocked.valid, whole.valid)
    np.testing.assert_array_equal(blocked.confidence[~whole_moving], whole.confidence[~whole_moving])


def test_a_static_scene_has_no_movers_even_with_holes():
    frames, truth = _sliding_square()
    static_frames = np.empty_like(frames)
    for k in range(len(frames)):  # the wall alone (square painted on it): all moves as the camera predicts
        static_frames[k] = np.roll(frames[0], -k, axis=1)
        static_frames[k, :, -k or frames.shape[2] :] = frames[k, :, -k or frames.shape[2] :]
    depth = np.full(truth.shape, 4.0, np.float32)
    depth[:, 50:70, 20:40] = 0.0  # untriangulated static pixels (a textureless patch) are not movers
    fixed, moving = handle_movers(static_frames, _wall_scene(depth), MoverSettings(offsets=(3, 6)))
    assert not moving.any()
    np.testing.assert_array_equal(fixed.depth, depth)


def test_ground_depth_recovers_a_floor_plane_and_refuses_a_wall():
    depth, _ = _floor()
    h, w = depth.shape
    static = (depth > 0) & (depth < 20.0)
    static[100:, 60:90] = False  # a mover standing on it
    found = ground_depth(depth, static, MoverSettings())
    assert found is not None
    np.testing.assert_allclose(found[100:, 60:90], depth[100:, 60:90], rtol=1e-3)  # under the mover too
    wall = np.full((h, w), 4.0, np.float32)  # a fronto-parallel wall is no ground
    assert ground_depth(wall, np.ones((h, w), bool), MoverSettings()) is None


def _floor(h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Depth ``[h,w]`` of a floor 1.5 below a level camera (focal 150; 0 above the horizon) and its intrinsics."""
    from stereodiff.camera import backproject

    K = pinhole(150.0, (h, w))
    rays = backproject(np.ones((h, w)), K)  # camera z = 1
    floor = np.where(rays[..., 1] > 1e-3, 1.5 / np.maximum(rays[..., 1], 1e-3), 0.0)
    return np.where(floor > 0, np.minimum(floor, 20.0), 0.0).astype(np.float32), K


def test_a_region_beyond_the_ground_gets_its_contact_and_a_static_one_keeps_its_depth():
    from stereodiff.stage1.movers import _mover_depth

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0  # a far wall above the horizon row (60)
    person = np.zeros(floor.shape, bool)
    person[40:100, 30:50] = True  # stands on the floor at row 99 (depth 1.5·150/39.5 ≈ 5.7)
    depth[person] = 11.0  # stage 1 put it near the wall's depth: beyond the floor under its lower part
    box = np.zeros(floor.shape, bool)
    box[70:90, 100:130] = True  # a static box standing on the floor, flagged (a depth edge), correct depth
    depth[box] = floor[89, 115]
    ground = ground_depth(depth, ~person & ~box & (depth > 0), MoverSettings())
    assert ground is not None
    out, handled = _mover_depth(depth, person | box, ground, MoverSettings())
    np.testing.assert_allclose(out[person], floor[99, 40], rtol=0.02)
    assert handled[person].all() and not handled[box].any()
    np.testing.assert_array_equal(out[box], depth[box])  # a static surface is never beyond the ground: kept


def test_underground_finds_a_region_standing_beyond_the_ground_but_not_the_floor_past_a_table_edge():
    from stereodiff.stage1.movers import underground

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    depth[70:100, 30:50] = 11.0  # moving with the camera: triangulated far, floor visible under it
    depth[100:, 120:] = 11.0  # "beyond" but reaching the image bottom: no visible contact (the floor past a table)
    found = underground(depth, MoverSettings()).astype(bool)
    assert found[90:98, 35:45].all()  # where the floor is nearer than 11 / 1.3 (rows ≥ 87)
    assert not found[70:80, 30:50].any()  # higher up the floor is farther: not beyond it (the seed is partial)
    assert not found[100:, 120:].any()
    assert not found[:60].any() and not found[100:, :100].any()


def test_movers_are_opt_in_and_run_in_the_geometric_reconstruction():
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import GeometricMatcher

    assert GeometricConfig().movers is False  # off by default: it hurts static clips (docs/geometric.md)
    frames, _ = _sliding_square(num_frames=10, h=90, w=120)
    matcher = GeometricMatcher(GeometricConfig(movers=True, offsets=(3,)))
    scene = matcher.reconstruct(frames)
    assert "stage1_movers" in matcher.timings
    assert 0.0 <= matcher.report.moving_fraction <= 1.0
    assert scene.depth.shape == (10, 90, 120)


def test_ground_planes_solve_in_batch_and_skip_degenerate_samples():
    """The batched RANSAC solve gives each sample's plane as a lone solve does, and marks exactly singular samples
    (three pixels of one row) unsolved instead of failing the batch."""
    from stereodiff.stage1.movers import _solve_planes

    rng = np.random.default_rng(0)
    design = np.concatenate([rng.integers(0, 50, (5, 3, 2)), np.ones((5, 3, 1))], axis=2).astype(np.float64)
    design[2, :, 0] = 7.0  # one row: singular
    inverse = rng.uniform(0.1, 1.0, (5, 3))
    coef, solved = _solve_planes(design, inverse)
    assert solved.tolist() == [True, True, False, True, True]
    for k in (0, 1, 3, 4):
        assert np.array_equal(coef[k], np.linalg.solve(design[k], inverse[k]))
