"""Moving-object handling of the geometric stage 1: rigid flow, segmentation, depth from mover constraints."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import resident_kib
from stereodiff.camera import pinhole
from stereodiff.config import preset_config
from stereodiff.flow import dis_flows
from stereodiff.stage1.configs import GeometricConfig
from stereodiff.stage1.movers import MoverSettings, handle_movers
from stereodiff.stage1.movers.ground import ground_depth
from stereodiff.stage1.movers.segmentation import rigid_flow
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


def _turn_and_shift(rng: np.random.Generator) -> np.ndarray:
    """``[4,4]`` a small random rotation and translation (own camera → other camera)."""
    import cv2

    pose = np.eye(4)
    pose[:3, :3] = cv2.Rodrigues(rng.normal(0.0, 0.05, 3))[0]
    pose[:3, 3] = rng.normal(0.0, 0.2, 3)
    return pose


def test_rigid_flow_is_the_plain_projection_bit_for_bit():
    """The in-place arithmetic gives exactly the float64 projection of the moved points, rounded to float32."""
    from stereodiff.camera import backproject

    rng = np.random.default_rng(3)
    h, w = 37, 53
    K = np.array([[71.3, 0.0, 25.2], [0.0, 69.8, 18.1], [0.0, 0.0, 1.0]])
    depth = rng.uniform(0.5, 6.0, (h, w)).astype(np.float32)
    depth[rng.random((h, w)) < 0.2] = 0.0
    pose = _turn_and_shift(rng)
    flow, defined = rigid_flow(depth, K, pose)
    moved = backproject(depth, K) @ pose[:3, :3].T + pose[:3, 3]
    expected_defined = (depth > 0) & (moved[..., 2] > 1e-9)
    z = np.where(expected_defined, moved[..., 2], 1.0)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    expected = np.stack([K[0, 0] * moved[..., 0] / z + K[0, 2] - u, K[1, 1] * moved[..., 1] / z + K[1, 2] - v], -1)
    expected[~expected_defined] = 0.0
    np.testing.assert_array_equal(defined, expected_defined)
    np.testing.assert_array_equal(flow, expected.astype(np.float32))


def test_pose_from_flow_recovers_the_pose_of_a_rigid_flow():
    """PnP on the sampled pixels (row-major sample of the usable ones) finds the pose that made the flow."""
    from stereodiff.stage1.movers.segmentation import pose_from_flow

    rng = np.random.default_rng(4)
    h, w = 60, 80
    K = pinhole(70.0, (h, w))
    depth = rng.uniform(1.0, 5.0, (h, w)).astype(np.float32)
    pose = _turn_and_shift(rng)
    flow, defined = rigid_flow(depth, K, pose)
    usable = defined & (rng.random((h, w)) < 0.5)
    found = pose_from_flow(depth, flow, usable, K, threshold=0.5, seed=0)
    assert found is not None
    np.testing.assert_allclose(found, pose, atol=1e-4)
    assert pose_from_flow(depth, flow, np.zeros((h, w), bool), K, threshold=0.5, seed=0) is None


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth random grey texture ``[height,width,3]`` uint8 (two blurs of ``rng``'s uniform noise, stretched)."""
    import cv2

    noise = rng.random((height, width)).astype(np.float32)
    detail = cv2.GaussianBlur(noise, (0, 0), 1.5) + cv2.GaussianBlur(noise, (0, 0), 4.0)
    detail = (detail - detail.min()) / np.ptp(detail)
    return np.repeat((detail * 255).astype(np.uint8)[..., None], 3, axis=2)


def _sliding_square(
    num_frames: int = 16, h: int = 120, w: int = 160, seed: int = 0, speed: int = 1, size: int = 30, top: int = 40
):
    """A camera translating sideways past a textured wall at depth 4 (1 px of flow per frame) and a textured square
    of ``size`` px sliding down it from row ``top`` (``speed`` px per frame, across the horizontal epipolar lines):
    frames ``[T,h,w,3]`` uint8 and the square's mask ``[T,h,w]``."""
    rng = np.random.default_rng(seed)
    wall, square = _texture(rng, h, w + num_frames + 2), _texture(rng, size, size)
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    mask = np.zeros((num_frames, h, w), bool)
    for k in range(num_frames):
        frames[k] = wall[:, k : k + w]
        y = top + speed * k
        frames[k, y : y + size, 65 : 65 + size] = square
        mask[k, y : y + size, 65 : 65 + size] = True
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
    assert fixed.movers_given[inside].all() and not fixed.movers_given[~moving].any()  # the pixels given depth
    left, _ = handle_movers(frames, scene, MoverSettings(offsets=(3, 6)))  # default: no contact, left to stage 2
    assert (left.depth[inside] == 0).all() and not left.movers_given.any()


def test_short_offsets_find_a_mover_whose_flow_the_long_offsets_cannot_follow():
    """A square sliding 2 px per frame moves 12 px over 6 frames: DIS has no forward–backward-consistent flow on it
    at offsets 6 and 12, so the flow checks never see it; the short offset 3 does, and decides at the stage-1 holes
    where they did not."""
    frames, truth = _sliding_square(num_frames=16, h=140, w=180, speed=2, size=40, top=10)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    _, long_only = handle_movers(frames, scene, MoverSettings(offsets=(6, 12)))
    _, with_short = handle_movers(frames, scene, MoverSettings(offsets=(6, 12), short_offsets=(3,)))
    assert (long_only & truth).sum() < 0.1 * truth.sum()  # the old behaviour: missed
    overlap = (with_short & truth).sum()
    assert overlap > 0.15 * truth.sum()  # recall (0.23: the long offsets still see parts of it)
    assert overlap > 0.7 * with_short.sum()  # precision
    # where stage 1 triangulated (consistent pairs), the short offsets do not decide: the long offsets' verdict holds
    triangulated = _wall_scene(np.full(truth.shape, 4.0, np.float32))
    _, kept = handle_movers(frames, triangulated, MoverSettings(offsets=(6, 12), short_offsets=(3,)))
    assert (kept & truth).sum() < 0.02 * truth.sum()


def test_movers_offsets_and_variational_iterations_reach_the_flow_checks_and_cut_links(monkeypatch):
    """Speed options (docs/geometric.md, "Speed: number-changing candidates"): ``movers_offsets`` and
    ``movers_flow_variational_iterations`` reach ``MoverSettings``; the flow checks run one DIS ``fast`` pair per
    pair at the given offsets only, and they and the cut-track links' ``medium`` engines get the iterations."""
    from stereodiff import flow
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers import segmentation, tracking

    s = mover_settings(GeometricConfig(movers_offsets=(6,), movers_flow_variational_iterations=3))
    assert s.offsets == (6,) and s.flow_variational_iterations == 3
    d = mover_settings(GeometricConfig())
    assert d.offsets == MoverSettings().offsets == (6, 12) and d.flow_variational_iterations is None
    calls = []

    def spy(local, preset, variational_iterations=None):
        calls.append((preset, variational_iterations))
        return flow.thread_dis_engine(local, preset, variational_iterations)

    monkeypatch.setattr(segmentation, "thread_dis_engine", spy)
    monkeypatch.setattr(tracking, "thread_dis_engine", spy)
    frames, truth = _sliding_square(num_frames=16, h=90, w=120)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    handle_movers(frames, scene, MoverSettings(offsets=(6, 12)))
    assert calls == [("fast", None)] * (10 + 4)  # pairs (a, a + 6) and (a, a + 12) of 16 frames
    calls.clear()
    handle_movers(frames, scene, MoverSettings(offsets=(6,), flow_variational_iterations=2))
    assert calls == [("fast", 2)] * 10
    calls.clear()
    grey, depth, handled, _ = _approaching_cut_object()
    tracking.track_cut_depth(grey, depth.copy(), handled, frames=8, margin=7, variational_iterations=1)
    assert calls and set(calls) == {("medium", 1)}


def test_movers_in_blocks_give_what_the_whole_video_gives(monkeypatch, tmp_path):
    """Memory is bounded by blocks of BLOCK_FRAMES frames with max(offsets) + 1 frames of context: the depth and the
    mover mask of a blocked run equal the whole-video run's (the mover confidence is a per-block median), whatever
    the number of threads."""
    from stereodiff.stage1.movers import runner

    frames, truth = _sliding_square(num_frames=40)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    settings = MoverSettings(offsets=(3, 6), hole_bound=True)
    whole, whole_moving = handle_movers(frames, scene, settings)
    monkeypatch.setattr(runner, "BLOCK_FRAMES", 12)
    blocked, blocked_moving = handle_movers(frames, scene, settings, out_dir=tmp_path, num_workers=1)
    assert isinstance(blocked.depth, np.memmap) and (tmp_path / "movers_depth.npy").is_file()
    assert whole_moving.sum() > 0.5 * truth.sum()  # the square is found, so the comparison means something
    np.testing.assert_array_equal(blocked_moving, whole_moving)
    np.testing.assert_array_equal(blocked.depth, whole.depth)
    np.testing.assert_array_equal(blocked.valid, whole.valid)
    np.testing.assert_array_equal(blocked.confidence[~whole_moving], whole.confidence[~whole_moving])


def test_blocks_share_their_overlap_and_run_each_flow_check_and_ground_fit_once(monkeypatch):
    """Neighbouring blocks overlap by 2 · (max offset + 1) frames: each pair's flow check and each frame's ground
    fit runs once over the video (the next block takes the earlier one's), each frame's mover depth only in its own
    block, and the output is the whole video's, bit for bit."""
    from stereodiff.stage1.movers import runner, segmentation

    frames, truth = _sliding_square(num_frames=40)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    settings = MoverSettings(offsets=(3, 6), short_offsets=(2,), hole_bound=True)
    calls: dict[str, list] = {"flows": [], "grounds": [], "depths": []}

    def counted(name, original):
        def wrapper(*args, **kwargs):
            calls[name].append(kwargs.get("seed"))
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(segmentation, "dis_flows", counted("flows", segmentation.dis_flows))
    counted_ground = counted("grounds", ground_depth)  # fitted by the segmentation and by the mover depth
    monkeypatch.setattr(segmentation, "ground_depth", counted_ground)
    monkeypatch.setattr(runner, "ground_depth", counted_ground)
    monkeypatch.setattr(runner, "mover_depth", counted("depths", runner.mover_depth))
    whole, whole_moving = handle_movers(frames, scene, settings)
    once = {name: len(seen) for name, seen in calls.items()}
    assert once["flows"] == (40 - 3) + (40 - 6) + (40 - 2)  # every pair of every offset, once
    for seen in calls.values():
        seen.clear()
    monkeypatch.setattr(runner, "BLOCK_FRAMES", 12)
    blocked, blocked_moving = handle_movers(frames, scene, settings, num_workers=2)
    assert len(calls["flows"]) == once["flows"]
    assert len(calls["depths"]) == once["depths"] > 0  # mover depth of the frames with movers, once each
    assert len(calls["grounds"]) == once["grounds"] == 40 + once["depths"]  # one fit per frame, one per mover depth
    assert whole_moving.sum() > 0.5 * truth.sum()
    np.testing.assert_array_equal(blocked_moving, whole_moving)
    np.testing.assert_array_equal(blocked.depth, whole.depth)


def test_blocks_take_the_mover_depth_of_the_overlap_where_the_mask_is_the_earlier_blocks(monkeypatch):
    """With tracking on, a block computes the mover depth of its context frames too; a frame of the overlap whose
    mover mask is the one the earlier block computed its depth from takes that depth (stored as its changed pixels)
    instead: fewer fits, the same output bit for bit as blocks that compute every frame themselves."""
    from stereodiff.stage1.movers import runner
    from stereodiff.stage1.movers.depth import mover_depth
    from stereodiff.stage1.movers.shared import SharedFindings

    class Forgetful(SharedFindings):  # keeps no mover depth: every block computes all of its frames
        depths = property(lambda self: {}, lambda self, value: None)

    frames, truth = _sliding_square(num_frames=40)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    settings = MoverSettings(offsets=(3, 6), hole_bound=True, track_frames=8)
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return mover_depth(*args, **kwargs)

    monkeypatch.setattr(runner, "mover_depth", counted)
    monkeypatch.setattr(runner, "BLOCK_FRAMES", 20)  # blocks [0, 29) and [11, 40): the masks agree mid-overlap
    shared, shared_moving = handle_movers(frames, scene, settings, num_workers=2)
    taken = len(calls)
    calls.clear()
    monkeypatch.setattr(runner, "SharedFindings", Forgetful)
    alone, alone_moving = handle_movers(frames, scene, settings, num_workers=2)
    assert shared_moving.sum() > 0.5 * truth.sum()
    assert 0 < taken < len(calls)  # the overlap's frames were taken, not fitted again
    np.testing.assert_array_equal(shared_moving, alone_moving)
    np.testing.assert_array_equal(shared.depth, alone.depth)
    np.testing.assert_array_equal(shared.confidence, alone.confidence)


def test_shared_findings_pack_a_pairs_checks_and_give_them_back_bit_for_bit():
    """The overlap of two blocks stores a pair's checks bit-packed by video frame: unpacked for a block starting
    elsewhere, each check comes back at its own block index with the same masks (the third only when there was
    one), whatever the number of pixels (not a multiple of 8 here)."""
    from stereodiff.stage1.movers.shared import FrameCheck, SharedFindings

    rng = np.random.default_rng(0)
    a, b, c, d, e = (rng.random((7, 13)) < 0.5 for _ in range(5))
    packed = SharedFindings.pack([FrameCheck(2, a, b, c), FrameCheck(5, d, e, None)], first=10)
    assert [(p.frame, p.shape) for p in packed] == [(12, (3, 7, 13)), (15, (2, 7, 13))]
    assert [p.bits.size for p in packed] == [35, 23]  # ceil(3·7·13 / 8), ceil(2·7·13 / 8)
    first, second = SharedFindings.unpack(packed, first=4)
    assert (first.own, second.own, second.off_epipolar) == (8, 11, None)
    for got, want in ((first.flagged, a), (first.checked, b), (first.off_epipolar, c), (second.flagged, d)):
        assert got.dtype == bool and np.array_equal(got, want)
    assert np.array_equal(second.checked, e)


def test_movers_hold_one_block_and_leave_the_scene_on_disk(monkeypatch, tmp_path):
    """Memory flat in the video length: a block's arrays are the only ones of their size alive (the previous
    block's results are dropped before the next block is read, the block's depth and confidence are not copied a
    second time), and none of the memory-mapped input scene stays resident (``valid``, which the movers do not
    read, used to be read per block and kept)."""
    import sys
    import tracemalloc

    import pytest

    from stereodiff.pipeline import load_scene, save_scene
    from stereodiff.stage1.movers import runner

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/smaps")
    frames, truth = _sliding_square(num_frames=40)
    save_scene(tmp_path / "scene", _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32)))
    scene = load_scene(tmp_path / "scene")  # memory-mapped, as in a run
    monkeypatch.setattr(runner, "BLOCK_FRAMES", 12)
    settings = MoverSettings(offsets=(3, 6), hole_bound=True)
    handle_movers(frames[:8], _wall_scene(np.where(truth[:8], 0.0, 4.0).astype(np.float32)), settings)  # lazy set-up
    tracemalloc.start()
    try:
        handle_movers(frames, scene, settings, out_dir=tmp_path / "out", num_workers=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    block_frames, plane = 12 + 2 * 7, 120 * 160  # a block and its context (max offset + 1 on each side)
    assert peak < 33 * block_frames * plane  # bytes per pixel of a block (was 36: two blocks' arrays at once)
    for name in ("depth", "confidence", "valid"):
        assert resident_kib(tmp_path / "scene" / f"{name}.npy") == 0, name


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


def test_ground_max_beyond_refuses_a_plane_through_object_faces_that_puts_the_room_beyond_it():
    h, w = 60, 80
    rows = np.arange(h, dtype=np.float64)[:, None] * np.ones((1, w))
    floor = 1.0 / np.maximum(0.01 * (rows - 10.0), 1e-9)  # horizon at row 10
    depth = np.where(rows < 25, 1.0 / 0.15, floor)  # a wall standing on the floor at row 25
    faces = (rows >= 40) & (np.arange(w)[None, :] >= 15) & (np.arange(w)[None, :] < 65)  # 62 % of the lowest third
    depth = np.where(faces, 1.0 / (0.01 * (rows + 40.0)), depth).astype(np.float32)  # boxes' faces, nearer
    static = np.ones((h, w), bool)
    off = ground_depth(depth, static, MoverSettings())
    assert off is not None and np.allclose(off[faces], depth[faces], rtol=1e-3)  # the faces hold the most inliers
    assert np.mean(depth > 1.3 * off) > 0.5  # so the room behind them lies beyond that "ground"
    on = ground_depth(depth, static, MoverSettings(ground_max_beyond=0.25))
    assert on is not None and not np.allclose(on[faces], depth[faces], rtol=0.05)  # another plane
    assert np.mean(depth > 1.3 * on) <= 0.25  # one that leaves the room in front of it


def _floor(h: int = 120, w: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Depth ``[h,w]`` of a floor 1.5 below a level camera (focal 150; 0 above the horizon) and its intrinsics."""
    from stereodiff.camera import backproject

    K = pinhole(150.0, (h, w))
    rays = backproject(np.ones((h, w)), K)  # camera z = 1
    floor = np.where(rays[..., 1] > 1e-3, 1.5 / np.maximum(rays[..., 1], 1e-3), 0.0)
    return np.where(floor > 0, np.minimum(floor, 20.0), 0.0).astype(np.float32), K


def _person_near_on_floor(share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_floor` (horizon at row 60, 120×160, floor depth 225 / (row − 59.5)) with a wall at 12 above the
    horizon and a person (rows 40–95, columns 60–74: feet at row 95, floor 6.3) put at ``share`` of the floor's depth
    at her feet. Returns ``[h,w]`` float32 floor, ``[h,w]`` float32 depth and ``[h,w]`` bool person."""
    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros(floor.shape, bool)
    person[40:96, 60:75] = True
    depth[person] = share * floor[95, 67]
    return floor, depth, person


def test_a_region_beyond_the_ground_gets_its_contact_and_a_static_one_keeps_its_depth():
    from stereodiff.stage1.movers.depth import mover_depth

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
    out, handled = mover_depth(depth, person | box, ground, MoverSettings())
    np.testing.assert_allclose(out[person], floor[99, 40], rtol=0.02)
    assert handled[person].all() and not handled[box].any()
    np.testing.assert_array_equal(out[box], depth[box])  # a static surface is never beyond the ground: kept


def test_a_mover_whose_legs_are_a_hole_down_to_the_image_bottom_gets_the_ground_at_the_bottom_row():
    """indoor-dynamic seed 3: a person walking close to the camera is a stage-1 hole; the segmentation finds the body
    but not the legs (they deform faster than the flow checks follow), so the region neither reaches the image
    bottom nor has ground seen under it, and it had no depth. Through the holes under it (the legs), the image
    bottom cuts it: it and the legs take the ground under their lowest pixels, except a rim; a hole region with
    static surface under it keeps its hole."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160
    depth = floor.copy()
    depth[:60] = 12.0  # a far wall above the horizon
    body = np.zeros(floor.shape, bool)
    body[40:90, 60:100] = True  # flagged, untriangulated
    legs = np.zeros(floor.shape, bool)
    legs[90:, 64:96] = True  # untriangulated, not flagged, down to the image bottom: no ground under the body
    sign = np.zeros(floor.shape, bool)
    sign[5:25, 120:150] = True  # flagged, untriangulated, the wall under it: no hole reaches the bottom
    depth[body | legs | sign] = 0.0
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    _, handled = mover_depth(depth, body | sign, ground, MoverSettings())
    assert not handled.any()  # the old behaviour: no contact, left to stage 2 (which gave it the wall behind)
    out, handled = mover_depth(depth, body | sign, ground, MoverSettings(hole_reach=True))
    np.testing.assert_allclose(out[body & handled], floor[119, 80], rtol=0.02)  # the ground at the bottom row
    assert handled[45:85, 65:95].all() and handled[95:115, 70:90].all()  # the body and its legs
    assert not handled[40, 60:100].any() and not handled[:, 60].any()  # the rim (1 px at 160 px) is left to stage 2
    assert not handled[sign].any() and (out[sign] == 0).all()


def test_hole_reach_records_the_regions_it_joins_for_near_holes_before_reach():
    """Rolled indoor-dynamic 1453: a near person leaving at the image's side is a large hole with a flagged sliver
    on it; ``hole_reach`` joins the sliver to the image bottom and gives the hole the last-row bound, 2.4× too far,
    before ``near_holes`` can take it. A body over its legs is joined the same way (fresh rolled 2310: right). Both
    joined regions are recorded in ``reached`` (``near_holes_before_reach`` lets ``near_holes`` take them first);
    a region given its contact otherwise is not."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros(floor.shape, bool)
    person[30:, 4:64] = True  # untriangulated down to the image bottom
    sliver = np.zeros(floor.shape, bool)
    sliver[30:34, 8:60] = True  # the flagged part: 208 px, 4.4 % of her hole in its columns
    body = np.zeros(floor.shape, bool)
    body[40:90, 100:140] = True  # flagged, untriangulated, over its legs
    standing = np.zeros(floor.shape, bool)
    standing[70:95, 75:95] = True  # flagged, untriangulated, floor seen under it: its own contact
    depth[person | body | standing] = 0.0
    depth[90:, 104:136] = 0.0  # the legs
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    reached: list[np.ndarray] = []
    out, handled = mover_depth(depth, sliver | body | standing, ground, MoverSettings(hole_reach=True), reached=reached)
    assert handled[60:110, 12:56].all() and handled[45:85, 105:135].all() and handled[standing].all()
    joined = np.logical_or.reduce(reached)
    assert len(reached) == 2 and joined[60:110, 12:56].all() and joined[95:115, 110:130].all()
    assert not (joined & standing).any()
    np.testing.assert_allclose(out[45:85, 105:135], floor[119, 120], rtol=0.02)


def test_a_mover_cut_by_the_image_bottom_takes_the_ground_at_the_last_row_with_cut_last_row():
    """A mover region cut by the image bottom (it reaches the rows the segmentation stops short of, no ground seen
    under it) has its contact below the image: with ``cut_last_row`` it takes the ground at the image's last row (the
    nearer upper bound), not under its lowest pixels; a region standing on ground seen under it keeps that contact."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160: the segmentation's margin is the lowest 7 rows
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros(floor.shape, bool)
    person[40:116, 60:100] = True  # flagged, untriangulated, down to row 115 (in the margin)
    depth[person] = 0.0
    depth[116:, 60:100] = 0.0  # the rows under it: holes, no ground seen
    standing = np.zeros(floor.shape, bool)
    standing[70:95, 10:40] = True  # flagged, untriangulated, floor seen under it
    depth[standing] = 0.0
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    old, handled = mover_depth(depth, person | standing, ground, MoverSettings())
    np.testing.assert_allclose(old[person], floor[115, 80], rtol=0.02)  # the ground under its lowest pixels
    new, handled_new = mover_depth(depth, person | standing, ground, MoverSettings(cut_last_row=True))
    np.testing.assert_allclose(new[person], floor[119, 80], rtol=0.02)  # the ground at the last row: 7 % nearer
    assert (new[person] < 0.95 * old[person]).all()
    np.testing.assert_array_equal(handled_new, handled)
    np.testing.assert_array_equal(new[standing], old[standing])
    np.testing.assert_allclose(new[standing], floor[95, 25], rtol=0.03)


def test_a_mover_cut_by_the_image_bottom_and_top_is_capped_by_its_height_with_cut_height():
    """With ``cut_height`` a region cut by the image bottom and top is no farther than the depth at which its top
    stands ``cut_height`` camera heights above the ground (a level camera 1.5 above the floor, focal 150, horizon at
    row 60: a top ≈ 56 rows above the horizon at 1.3 camera heights caps it at 0.45 · 150 / 56 ≈ 1.21, where the
    ground at the last row is 3.8); a cut region whose top lies inside the image keeps the last row's ground, even
    above the horizon (its top may be background over the head)."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160: the segmentation's margins are 7 rows
    depth = floor.copy()
    depth[:60] = 12.0
    tall = np.zeros(floor.shape, bool)
    tall[2:116, 40:70] = True  # flagged, untriangulated, from the top margin down into the bottom margin
    inside = np.zeros(floor.shape, bool)
    inside[10:116, 110:140] = True  # cut by the bottom only, its top 50 rows above the horizon
    depth[tall | inside] = 0.0
    depth[116:, 40:70] = depth[116:, 110:140] = 0.0  # no ground seen under them
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    bound, handled = mover_depth(depth, tall | inside, ground, MoverSettings(cut_last_row=True))
    np.testing.assert_allclose(bound[tall], floor[119, 55], rtol=0.02)
    capped, handled_capped = mover_depth(depth, tall | inside, ground, MoverSettings(cut_last_row=True, cut_height=1.3))
    assert (capped[tall] >= 1.18).all() and (capped[tall] <= 1.25).all()  # the top (98th percentile): row ≈ 4
    np.testing.assert_array_equal(capped[inside], bound[inside])
    np.testing.assert_array_equal(handled_capped, handled)
    loose, _ = mover_depth(depth, tall | inside, ground, MoverSettings(cut_last_row=True, cut_height=3.0))
    np.testing.assert_array_equal(loose, bound)  # a cap beyond the bound changes nothing


def test_underground_finds_a_region_standing_beyond_the_ground_but_not_the_floor_past_a_table_edge():
    from stereodiff.stage1.movers.ground import underground

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    depth[70:100, 30:50] = 11.0  # moving with the camera: triangulated far, floor visible under it
    depth[100:, 120:] = 11.0  # "beyond" but reaching the image bottom: no visible contact (the floor past a table)
    found = underground(depth, ground_depth(depth, depth > 0, MoverSettings()), MoverSettings()).astype(bool)
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


def _isolated(depth: np.ndarray, rows: slice, cols: slice, value) -> np.ndarray:
    """Put a region of depth ``value`` (a number or an ``[n,m]`` array) at ``rows, cols`` of ``depth`` with a ring of
    holes around it (stage 1 leaves occlusion boundaries untriangulated); returns its mask ``[h,w]``."""
    ring = np.zeros(depth.shape, bool)
    ring[rows.start - 2 : rows.stop + 2, cols.start - 2 : cols.stop + 2] = True
    depth[ring] = 0.0
    depth[rows, cols] = value
    region = np.zeros(depth.shape, bool)
    region[rows, cols] = True
    return region


def test_contact_segments_find_a_whole_car_driving_ahead_where_underground_finds_only_its_lower_part():
    from dataclasses import replace

    from stereodiff.stage1.movers.ground import BEYOND, contact_segments, underground

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    # triangulated at 16 while it stands at row 99 (floor 5.7): beyond the floor under it, but its upper rows
    # (70-77, where the floor is farther than 16 / 1.3) are not beyond the floor at their own rows
    car = _isolated(depth, slice(70, 100), slice(30, 50), 16.0)
    box = _isolated(depth, slice(80, 100), slice(100, 130), floor[99, 115])  # static, standing at its contact
    settings = replace(MoverSettings(), segment_step=0.15)
    ground = ground_depth(depth, (depth > 0) & ~car & ~box, settings)
    assert ground is not None
    found = contact_segments(depth, ground, settings)
    assert np.mean(found[car] == BEYOND) > 0.99  # (the median over 5 px rounds its bottom corners)
    assert not found[~car].any()
    lower_only = underground(depth, ground, settings).astype(bool)
    assert lower_only[90:98, 35:45].all() and not lower_only[70:76, 30:50].any()  # the old evidence


def test_ground_cut_keeps_a_car_apart_from_the_floor_it_touches_at_its_own_depth():
    from dataclasses import replace

    from stereodiff.stage1.movers.ground import BEYOND, contact_segments

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    car = np.zeros(floor.shape, bool)
    car[70:100, 30:50] = True
    depth[car] = 16.0  # no ring of holes: its sides touch the floor where the floor is as deep (rows 72-75)
    settings = MoverSettings()
    ground = ground_depth(depth, (depth > 0) & ~car, settings)
    assert ground is not None
    joined = contact_segments(depth, ground, settings)  # one segment with the floor, which reaches the image bottom
    assert not joined.any()
    apart = contact_segments(depth, ground, replace(settings, ground_cut=True))
    assert np.mean(apart[car] == BEYOND) > 0.6  # (its pixels at the floor's own depth are cut with the floor)
    assert not apart[~car].any()


def test_contact_segments_float_an_upright_region_in_front_of_its_contact_but_not_a_table_top():
    from dataclasses import replace

    from stereodiff.stage1.movers.ground import FLOATING, contact_segments

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    oncoming = _isolated(depth, slice(80, 100), slice(100, 130), 3.0)  # stands at row 99 (floor 5.7): too near
    rows = np.arange(80, 100, dtype=np.float32)[:, None]
    table = _isolated(depth, slice(80, 100), slice(20, 60), np.repeat(0.5 * 225.0 / (rows - 59.5), 40, axis=1))
    settings = replace(MoverSettings(), segment_step=0.15, floating=0.3)
    ground = ground_depth(depth, (depth > 0) & ~oncoming & ~table, settings)
    found = contact_segments(depth, ground, settings)
    assert np.mean(found[oncoming] == FLOATING) > 0.99
    assert not found[table].any()  # as near, but horizontal: its inverse depth grows downwards like a floor's
    assert not contact_segments(depth, ground, replace(settings, floating=0.0)).any()


def test_beyond_part_gives_a_car_merged_with_flagged_road_the_contact_of_its_own_blob():
    from dataclasses import replace

    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    car = np.zeros(floor.shape, bool)
    car[70:100, 30:50] = True  # stands at row 99 (floor 5.7), triangulated at 16: beyond the floor under it
    depth[car] = 16.0
    road = np.zeros(floor.shape, bool)
    road[100:113, 5:110] = True  # static road flagged with it (correct depth): the merged region's lowest pixels
    settings = MoverSettings()
    ground = ground_depth(depth, (depth > 0) & ~car & ~road, settings)
    assert ground is not None
    kept, handled = mover_depth(depth, car | road, ground, settings)
    assert not handled.any()  # as a whole the region is not beyond the ground: stage 1's depth stays (old rule)
    np.testing.assert_array_equal(kept, depth)
    out, handled = mover_depth(depth, car | road, ground, replace(settings, beyond_part=0.0005))
    np.testing.assert_allclose(out[car], floor[99, 40], rtol=0.02)
    assert handled[car].all() and not handled[road].any()
    np.testing.assert_array_equal(out[road], depth[road])
    depth[car] = 9.5  # beyond the floor at its foot, but less than twice its contact: stage-1 noise, not taken
    _, handled = mover_depth(depth, car | road, ground, replace(settings, beyond_part=0.0005))
    assert not handled.any()
    bottom = np.zeros(floor.shape, bool)
    bottom[90:, 60:80] = True  # a region reaching the image bottom in a frame without a ground plane:
    for hole in (False, True):  # triangulated, or mostly a hole
        depth[bottom] = 0.0 if hole else 3.0
        _, handled = mover_depth(depth, bottom, None, replace(settings, beyond_part=0.0005, oncoming=0.3))
        assert not handled.any()


def test_seen_contact_takes_the_ground_where_it_is_first_seen_under_a_region_whose_lower_part_is_a_hole():
    """driving: the flow finds a car ahead's cabin, triangulated beyond the ground, but its body under it is a stage-1
    hole; the ground right under the cabin's lowest pixels is far behind the car (twice its depth on seed 0). With
    ``seen_contact`` the contact is the ground where it is first seen under the region: the car's own foot."""
    from dataclasses import replace

    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, floor depth 225 / (row - 59.5)
    depth = floor.copy()
    depth[:60] = 30.0  # the street's far end
    cabin = np.zeros(floor.shape, bool)
    cabin[70:86, 100:130] = True
    depth[cabin] = 20.0  # beyond the ground under most of it (8.8 at row 85), as a car ahead is triangulated
    depth[86:96, 98:132] = 0.0  # the body and the road just under it: holes; the car stands at row 95
    settings = MoverSettings()
    ground = ground_depth(depth, (depth > 0) & ~cabin, settings)
    assert ground is not None
    out, handled = mover_depth(depth, cabin, ground, settings)
    np.testing.assert_allclose(out[cabin], floor[85, 115], rtol=0.02)  # old: under its lowest pixels (1.4× too far)
    out, handled = mover_depth(depth, cabin, ground, replace(settings, seen_contact=0.1))
    assert handled[cabin].all()
    np.testing.assert_allclose(out[cabin], floor[96, 115], rtol=0.02)  # the first ground seen under it
    np.testing.assert_allclose(out[~cabin], depth[~cabin])


def test_oncoming_gives_an_upright_region_nearer_than_its_road_contact_that_contact_and_extends_it_down():
    from dataclasses import replace

    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    car = _isolated(depth, slice(75, 100), slice(100, 130), 2.5)  # stands at row 99 (floor 5.7): too near
    flagged = car.copy()
    flagged[88:] = False  # the flow flagged its upper half only
    rows = np.arange(80, 100, dtype=np.float32)[:, None]
    table = _isolated(depth, slice(80, 100), slice(20, 60), np.repeat(0.5 * 225.0 / (rows - 59.5), 40, axis=1))
    settings = MoverSettings()
    ground = ground_depth(depth, (depth > 0) & ~car & ~table, settings)
    assert ground is not None
    _, handled = mover_depth(depth, flagged | table, ground, settings)
    assert not handled.any()  # nearer than the ground: not a mover by the contact rule alone
    out, handled = mover_depth(depth, flagged | table, ground, replace(settings, oncoming=0.3))
    np.testing.assert_allclose(out[car], floor[99, 115], rtol=0.03)  # its unflagged lower half too
    assert handled[car].all() and not handled[table].any()  # a table top is as near, but horizontal


def test_oncoming_trim_cuts_the_flagged_road_under_an_oncoming_car_that_sets_its_contact_too_near():
    """driving seed 0, frames 37-50: the flow flags the road under the oncoming car with it (noisy, off the ground
    plane); the region's lowest pixels are that road's, its median depth too, so it is not nearer than its
    contact. With ``oncoming_trim`` its pixels nearer than the ground at their own row are tested alone."""
    from dataclasses import replace

    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    car = _isolated(depth, slice(80, 91), slice(100, 130), 2.5)  # stands at row 90 (floor 7.4): too near
    road = np.zeros(floor.shape, bool)
    road[91:101, 95:135] = True
    depth[road] = 0.85 * floor[road]  # stage-1 noise: off the ground plane, flagged with the car
    settings = replace(MoverSettings(), oncoming=0.3)
    ground = ground_depth(depth, (depth > 0) & ~car & ~road, settings)
    assert ground is not None
    _, handled = mover_depth(depth, car | road, ground, settings)
    assert not handled.any()  # the road's median and lowest pixels: not nearer than its contact
    out, handled = mover_depth(depth, car | road, ground, replace(settings, oncoming_trim=True))
    assert handled[car].all() and not handled[road].any()
    np.testing.assert_allclose(out[car], floor[90, 115], rtol=0.03)
    np.testing.assert_allclose(out[road], depth[road])


def test_tracking_pools_a_movers_depth_over_time_and_fills_a_missed_frame_but_not_a_static_region():
    from stereodiff.stage1.movers.tracking import track_mover_depth

    n = 9
    depth = np.full((n, 40, 40), 5.0, np.float32)
    moving = np.zeros((n, 40, 40), bool)
    moving[:, 10:20, 10:20] = True
    handled = moving.copy()
    depth[moving] = 10.0
    depth[2][moving[2]] = 14.0  # one frame's contact is off
    handled[4] = handled[6] = False  # two frames without a contact:
    depth[4][moving[4]] = 20.0  # stage 1 put it beyond the tracked depth (a car ahead triangulated far)
    depth[6][moving[6]] = 8.0  # a static surface flagged by the flow, nearer than the tracked depth
    given = track_mover_depth(depth, moving, handled, frames=3, beyond=0.3)
    np.testing.assert_allclose(depth[2][moving[2]], 10.0)
    np.testing.assert_allclose(depth[4][moving[4]], 10.0)
    assert given[4][moving[4]].all()
    np.testing.assert_allclose(depth[6][moving[6]], 8.0)
    assert not given[6].any()
    np.testing.assert_allclose(depth[~moving], 5.0)


def test_underground_cut_finds_a_region_beyond_the_ground_that_reaches_the_image_bottom():
    """indoor-dynamic seed 47: a person close to the camera at the image's left side, cut by the image bottom and
    triangulated with the camera's motion 1.5–9× beyond the floor at its own pixels; no flow check reaches it (the
    image border) and :func:`underground` skips it (no ground seen under it). With ``underground_cut`` it is found;
    the floor, the wall and a region standing on the floor are as before."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.ground import CUT, underground

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    depth[70:100, 30:50] = 11.0  # standing on the floor seen under it: found either way
    depth[80:, :20] = 11.0  # at the left border, down to the image bottom
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    old = underground(depth, ground, MoverSettings()).astype(bool)
    new = underground(depth, ground, MoverSettings(underground_cut=True)).astype(bool)
    assert not old[100:, :20].any() and new[100:, :20].all()  # where the floor is nearer than 11 / 1.3 (rows ≥ 87)
    np.testing.assert_array_equal(new[:, 20:], old[:, 20:])
    assert new[90:98, 35:45].all() and not new[:60].any() and not new[100:, 60:].any()
    assert (underground(depth, ground, MoverSettings(underground_cut=True))[100:, :20] == CUT).all()  # not 1
    assert mover_settings(GeometricConfig(movers_underground_cut=True)).underground_cut
    assert not GeometricConfig().movers_underground_cut and preset_config("cpu").stage1.movers_underground_cut


def test_cut_in_neighbours_keeps_a_cut_region_found_in_both_neighbouring_frames_only():
    """A person cut by the image bottom is found beyond the ground frame after frame; a static surface that a real
    room's plane fit puts beyond the plane is found in single frames (7-Scenes, TUM)."""
    from stereodiff.stage1.movers.ground import cut_in_neighbours

    cut = np.zeros((40, 60), bool)
    cut[20:, :10] = True  # at the left border, down to the bottom
    cut[30:, 30:40] = True  # found in this frame only
    cut[25:, 50:] = True  # in the frame before only
    before, after = np.zeros_like(cut), np.zeros_like(cut)
    before[22:, 3:12] = before[26:, 52:] = True  # the person moved a little
    after[24:, 6:14] = True
    kept = cut_in_neighbours(cut, [before, after])
    np.testing.assert_array_equal(kept[:, :20], cut[:, :20])
    assert not kept[:, 20:].any()
    seen_before = cut.copy()
    seen_before[:, 30:40] = False
    np.testing.assert_array_equal(cut_in_neighbours(cut, [before]), seen_before)  # the last frame: one neighbour
    np.testing.assert_array_equal(cut_in_neighbours(cut, []), cut)  # a one-frame video: nothing to compare


def test_the_movers_options_reach_the_movers_step(monkeypatch):
    import stereodiff.stage1.movers as movers
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import GeometricMatcher

    seen = []
    original = movers.handle_movers

    def spy(frames, scene, settings=None, **kwargs):
        seen.append(settings)
        return original(frames, scene, settings, **kwargs)

    monkeypatch.setattr(movers, "handle_movers", spy)
    frames, _ = _sliding_square(num_frames=10, h=90, w=120)
    config = GeometricConfig(
        movers=True,
        offsets=(3,),
        movers_track_frames=5,
        movers_short_offsets=(2,),
        movers_ground_cut=True,
        movers_hole_reach=True,
        movers_cut_last_row=True,
        movers_cut_track=7,
        movers_cut_carry=9,
        movers_cut_height=1.3,
        movers_beyond_part=0.001,
        movers_oncoming=0.25,
        movers_seen_contact=0.2,
        movers_oncoming_trim=True,
        movers_contact_beside=0.35,
        movers_beside_low=0.15,
        movers_min_area=0.003,
    )
    GeometricMatcher(config).reconstruct(frames)
    knobs = [(s.track_frames, s.short_offsets, s.ground_cut, s.hole_reach, s.beyond_part, s.oncoming) for s in seen]
    assert knobs == [(5, (2,), True, True, 0.001, 0.25)]
    assert [(s.seen_contact, s.oncoming_trim, s.contact_beside, s.min_area) for s in seen] == [(0.2, True, 0.35, 0.003)]
    assert [s.beside_low for s in seen] == [0.15]

    assert [(s.cut_last_row, s.cut_track, s.cut_carry, s.cut_height) for s in seen] == [(True, 7, 9, 1.3)]
    d = GeometricConfig()
    class_defaults = (d.movers_track_frames, d.movers_short_offsets, d.movers_ground_cut, d.movers_hole_reach)
    assert class_defaults == (0, (), False, False)
    assert (d.movers_beyond_part, d.movers_oncoming, d.movers_seen_contact, d.movers_oncoming_trim) == (0, 0, 0, False)
    assert d.movers_contact_beside == 0 and d.movers_cut_last_row is False and d.movers_cut_track == 0
    assert d.movers_cut_carry == 0 and d.movers_cut_height == 0
    from stereodiff.config import PipelineConfig

    for name in ("movers_contact_beside", "movers_beside_low"):
        with pytest.raises(ValueError, match=name):
            PipelineConfig(stage1=GeometricConfig(**{name: 1.0})).validate()
    assert d.movers_min_area == MoverSettings().min_area == 0.002
    cpu = preset_config("cpu").stage1  # on in the cpu preset (docs/geometric.md)
    assert cpu.movers_short_offsets == (3,) and cpu.movers_hole_reach
    assert (cpu.movers_beyond_part, cpu.movers_oncoming) == (0.0005, 0.3)
    assert (cpu.movers_seen_contact, cpu.movers_oncoming_trim, cpu.movers_min_area) == (0.1, True, 0.001)


def test_ground_planes_solve_in_batch_and_skip_degenerate_samples():
    """The batched RANSAC solve gives each sample's plane as a lone solve does, and marks exactly singular samples
    (three pixels of one row) unsolved instead of failing the batch."""
    from stereodiff.stage1.movers.ground import _solve_planes

    rng = np.random.default_rng(0)
    design = np.concatenate([rng.integers(0, 50, (5, 3, 2)), np.ones((5, 3, 1))], axis=2).astype(np.float64)
    design[2, :, 0] = 7.0  # one row: singular
    inverse = rng.uniform(0.1, 1.0, (5, 3))
    coef, solved = _solve_planes(design, inverse)
    assert solved.tolist() == [True, True, False, True, True]
    for k in (0, 1, 3, 4):
        assert np.array_equal(coef[k], np.linalg.solve(design[k], inverse[k]))


@pytest.mark.parametrize("ahead", [True, False])
def test_tracking_follows_a_camera_moving_along_its_view(monkeypatch, ahead):
    """``movers_track_ahead`` tracks the movers only when the probe pairs say the camera moves along its view (a
    vehicle: its movers along the view are found through their contact in some frames only); elsewhere it is off,
    and ``movers_track_frames`` applies to every video."""
    import stereodiff.stage1.movers as movers
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import GeometricMatcher, mover_settings

    seen = []
    original = movers.handle_movers

    def spy(frames, scene, settings=None, **kwargs):
        seen.append(settings.track_frames)
        return original(frames, scene, settings, **kwargs)

    monkeypatch.setattr(movers, "handle_movers", spy)
    probed = []
    monkeypatch.setattr(GeometricMatcher, "_looks_ahead", lambda self, gray, K: probed.append(len(gray)) or ahead)
    frames, _ = _sliding_square(num_frames=10, h=90, w=120)
    GeometricMatcher(GeometricConfig(movers=True, offsets=(3,), movers_track_ahead=7)).reconstruct(frames)
    assert probed == [10] and seen == [7 if ahead else 0]
    cpu = preset_config("cpu").stage1
    assert (mover_settings(cpu, ahead=True).track_frames, mover_settings(cpu, ahead=False).track_frames) == (16, 0)
    assert mover_settings(replace(cpu, movers_track_frames=5), ahead=ahead).track_frames == 5
    assert mover_settings(replace(cpu, movers_up_to_horizon=2.0), ahead=ahead).up_to_horizon == (2.0 if ahead else 0)
    assert GeometricConfig().movers_up_to_horizon == 0 == mover_settings(cpu, ahead=False).up_to_horizon
    assert mover_settings(cpu, ahead=True).up_to_horizon == 3
    with pytest.raises(ValueError, match="movers_up_to_horizon"):
        GeometricConfig(movers_up_to_horizon=0.5).validate()
    assert GeometricConfig().movers_track_ahead == 0
    for name in ("movers_track_ahead", "movers_track_missed"):
        with pytest.raises(ValueError, match=name):
            GeometricConfig(**{name: -1}).validate()


def test_track_missed_gives_a_frame_where_nothing_was_found_the_nearest_frames_mover_depth():
    """``track_missed``: the car ahead handled in frames 0–1 and 4, missed in frames 2–3 (stage 1 put it far or
    left a hole), gets the nearest frame's depth there; a static surface where a handled region was keeps its own."""
    from stereodiff.stage1.movers.tracking import fill_missed_movers

    n = 5
    depth = np.full((n, 40, 40), 5.0, np.float32)
    handled = np.zeros((n, 40, 40), bool)
    handled[[0, 1, 4], 10:20, 10:20] = True
    depth[handled] = 10.0
    depth[4][handled[4]] = 11.0
    depth[2, 10:20, 10:20] = 30.0  # missed: triangulated far, as stage 1 does a car ahead
    depth[2, 10:20, 10:13] = 0.0  # and partly a hole
    depth[3, 10:20, 10:20] = 8.0  # a static surface there, nearer than the mover depth
    before = depth.copy()
    given = fill_missed_movers(depth, np.zeros_like(handled), handled, frames=2, beyond=0.3, shrink_px=1)
    np.testing.assert_allclose(depth[2, 11:19, 11:19], 10.0)  # frame 1 is nearer than frame 4
    assert given[2, 11:19, 11:19].all() and not given[2, 10].any()  # the source region shrunk by 1 px
    np.testing.assert_array_equal(depth[3], before[3])  # nearer than the mover depth: static, kept
    np.testing.assert_array_equal(depth[[0, 1, 4]], before[[0, 1, 4]])  # handled frames untouched
    assert not given[[0, 1, 3, 4]].any()
    assert MoverSettings().track_missed == 0  # an option, off


def test_contact_beside_gives_a_runner_triangulated_too_near_the_ground_beside_her_feet():
    """lady-running frame 32: the runner's flagged body is triangulated at half the floor's depth, nearer at her
    knees than her shoulders (not upright), and her legs are a stage-1 hole, so no ground is seen under the
    flagged region and the oncoming test fails; the floor is seen beside her feet. With ``contact_beside`` the body
    and the holes joined under it take the floor's depth at her feet; a flagged static box at the floor's depth
    keeps its depth."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160
    depth = floor.copy()
    depth[:60] = 12.0
    body = np.zeros(floor.shape, bool)
    body[40:90, 60:80] = True
    rows = np.arange(40, 90, dtype=np.float32)[:, None]
    depth[40:90, 60:80] = 2.4 - 0.01 * (rows - 40)  # too near, nearer downwards
    legs = np.zeros(floor.shape, bool)
    legs[90:111, 64:76] = True  # a hole, not flagged; the floor beside and under them
    depth[legs] = 0.0
    box = np.zeros(floor.shape, bool)
    box[70:90, 110:140] = True  # flagged static box standing on the floor, at its depth
    depth[box] = floor[89, 125]
    settings = replace(MoverSettings(), oncoming=0.3, oncoming_trim=True)
    ground = ground_depth(depth, (depth > 0) & ~body & ~box, settings)
    assert ground is not None
    _, handled = mover_depth(depth, body | box, ground, settings)
    assert not handled.any()  # no ground seen under the flagged body; not upright
    out, handled = mover_depth(depth, body | box, ground, replace(settings, contact_beside=0.3))
    assert handled[body].all() and handled[legs].all() and not handled[box].any()
    np.testing.assert_allclose(out[body | legs], floor[110, 70], rtol=0.03)
    np.testing.assert_array_equal(out[box], depth[box])


def test_up_to_horizon_gives_a_car_aheads_upper_rows_its_contact_but_not_a_nearer_surface_or_the_far_end():
    """driving: the ground tests flag a car ahead's lower rows (beyond the ground there), not its upper rows
    (triangulated as far, but nearer than the ground at their own rows, close to the horizon). ``up_to_horizon``
    gives them the contact too: holes and pixels at the region's wrong depth above it in its columns, up to the
    horizon; a nearer static surface there, the street's far end at another depth and a region triangulated at about
    its contact keep theirs."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, floor depth 225 / (row - 59.5)
    depth = floor.copy()
    depth[:60] = 40.0  # the street's far end
    depth[60:64, 100:130] = 40.0  # ... seen over the car, under the horizon row
    car = np.zeros(floor.shape, bool)
    car[64:80, 100:130] = True  # stands at row 79 (floor 11.5)
    depth[car] = 25.0  # triangulated twice too far: beyond the ground at rows ≥ 69 only (25.6 at row 68)
    depth[64:67, 110:115] = 0.0  # holes in its upper rows
    depth[64:67, 120:124] = 5.0  # a nearer static surface in front of it
    flagged = car & (np.arange(120)[:, None] >= 70)  # the ground tests' part: its lower rows
    settings = MoverSettings()
    ground = ground_depth(depth, (depth > 0) & ~car, settings)
    assert ground is not None
    out, handled = mover_depth(depth, flagged, ground, settings)
    contact = floor[79, 115]
    np.testing.assert_allclose(out[flagged], contact, rtol=0.02)
    assert not handled[car & ~flagged].any()  # old: the upper rows keep stage 1's depth
    out, handled = mover_depth(depth, flagged, ground, replace(settings, up_to_horizon=2.0))
    upper = car & ~flagged
    upper[64:67, 120:124] = False
    assert handled[upper].all()
    np.testing.assert_allclose(out[upper], contact, rtol=0.02)
    np.testing.assert_array_equal(out[64:67, 120:124], 5.0)  # in front of the car: kept
    np.testing.assert_array_equal(out[:64], depth[:64])  # the far end above the car and the horizon: kept
    np.testing.assert_array_equal(out[~car], depth[~car])
    near = depth.copy()
    near[car] = 1.5 * contact  # beyond the ground at its lowest rows, but not twice its contact (static noise)
    out, handled = mover_depth(near, flagged, ground, replace(settings, up_to_horizon=2.0))
    assert handled[flagged].all() and not handled[car & ~flagged].any()


def test_beside_low_keeps_contact_beside_to_a_body_standing_low_in_the_image():
    """``beside_low``: the runner's body, joined through her legs' hole to the floor near the image bottom, still
    takes the floor's depth at her feet; the flagged upper part of a static cabinet (its lower part triangulated and
    not flagged, so its lowest flagged pixels lie mid-image with the far floor beside them: static-orbit's misfires
    of ``contact_beside``) and a short flagged blob at the bottom keep their depth."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160
    depth = floor.copy()
    depth[:60] = 12.0
    body = np.zeros(floor.shape, bool)
    body[40:90, 60:80] = True
    depth[40:90, 60:80] = 2.4 - 0.01 * (np.arange(40, 90, dtype=np.float32)[:, None] - 40)  # too near
    legs = np.zeros(floor.shape, bool)
    legs[90:111, 64:76] = True  # a hole down to her feet at row 110
    depth[legs] = 0.0
    cabinet = np.zeros(floor.shape, bool)
    cabinet[62:101, 100:130] = True  # static, standing on the floor at row 100, at its depth
    depth[cabinet] = floor[100, 115]
    top = cabinet & (np.arange(120)[:, None] <= 80)  # only its upper part is flagged
    blob = np.zeros(floor.shape, bool)
    blob[104:113, 20:28] = True  # short, low, nearer than the floor under it
    depth[blob] = 0.5 * floor[112, 24]
    flagged = body | top | blob
    settings = replace(MoverSettings(), contact_beside=0.3)
    ground = ground_depth(depth, (depth > 0) & ~flagged & ~cabinet, settings)
    assert ground is not None
    out, handled = mover_depth(depth, flagged, ground, settings)
    assert handled[body].all() and handled[top].any() and handled[blob].any()  # contact_beside alone: all three
    assert np.median(out[top]) > 1.5 * floor[100, 115]  # the cabinet's top pushed to the floor beside it
    out, handled = mover_depth(depth, flagged, ground, replace(settings, beside_low=0.1))
    assert handled[body].all() and handled[legs].all() and not handled[top | blob].any()
    np.testing.assert_allclose(out[body | legs], floor[110, 70], rtol=0.03)
    np.testing.assert_array_equal(out[top | blob], depth[top | blob])
    assert MoverSettings().beside_low == 0  # an option, off


def test_path_contact_gives_the_car_in_the_cameras_path_the_road_where_it_is_last_seen():
    """driving: the car ahead, in the camera's path, hides the road from its lowest pixels up to the horizon; stage 1
    put it 2.9–3.1× too far, not flagged by any mover rule. ``path_contact`` gives its pixels beyond the ground where
    the road is last seen under it that depth; its pixels at about that depth, the road, a parked car of the same
    kind beside the path, the far end above the horizon and its holes keep theirs."""
    from stereodiff.stage1.movers.ground import ground_pixels
    from stereodiff.stage1.movers.path import path_contact

    floor, _ = _floor()  # horizon at row 60, floor depth 225 / (row - 59.5), 120×160, heading at column 80
    depth = floor.copy()
    depth[:60] = 40.0  # the street's far end
    car = np.zeros(floor.shape, bool)
    car[60:80, 70:92] = True  # stands at row 79 (floor 11.5), in the path, up to the horizon
    contact = floor[80, 80]  # the road where it is last seen under the car
    rng = np.random.default_rng(0)
    depth[car] = contact * rng.uniform(2.9, 3.1, car.sum())  # too far, noisy
    depth[70:73, 75:80] = contact  # a part stage 1 got right
    depth[64:66, 84:88] = 0.0  # holes
    parked = np.zeros(floor.shape, bool)
    parked[62:90, 120:140] = True  # beside the path (its offset ≈ 1.7 camera heights), same kind of error
    depth[parked] = 3.0 * floor[90, 130]
    settings = MoverSettings()
    ground = ground_depth(depth, (depth > 0) & ~car & ~parked, settings)
    assert ground is not None
    on_ground = ground_pixels(depth, ground, settings)
    _, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert not given.any()  # off
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, path_contact=0.5))
    far = car & (depth > 1.3 * contact)
    # most of the car; not the columns where its wrong depth crosses the ground plane's in too many rows (the road
    # would show there), not row 60 (above the fitted plane's horizon)
    assert given[far].mean() > 0.2 and given[:, 70:92].any(axis=0).sum() >= 5 and not given[~far].any()
    np.testing.assert_allclose(out[given], contact, rtol=0.03)
    np.testing.assert_array_equal(out[~given], depth[~given])  # right part, holes, road, parked car, far end
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, path_contact=2.0))
    assert given[parked].any()  # a path wide enough reaches it: the path's width is what keeps it


def test_path_trim_keeps_the_scenery_beside_the_car_whose_flow_its_flow_blends_into():
    """driving: DIS's patches blend the car ahead's flow into the columns just beside it, so the scenery there (far
    road and buildings between the horizon and the car's contact row) is triangulated like the car and those columns
    pass the path tests too: without ``path_trim`` that scenery takes the car's contact depth; trimmed by 8 pixels a
    side at a 320-pixel long side (4 at this 160) it keeps its depth, and the car's columns still take the contact."""
    from stereodiff.stage1.movers.ground import ground_pixels
    from stereodiff.stage1.movers.path import path_contact

    floor, _ = _floor()  # horizon at row 60, 120×160, heading at column 80
    depth = floor.copy()
    depth[:60] = 40.0
    rng = np.random.default_rng(1)
    car = np.zeros(floor.shape, bool)
    car[60:80, 70:92] = True  # stands at row 79, stage 1 put it 5× too far
    contact = floor[80, 80]
    depth[car] = contact * rng.uniform(4.9, 5.1, car.sum())
    beside = np.zeros(floor.shape, bool)
    beside[60:80, 66:70] = beside[60:80, 92:96] = True  # 4 columns a side: scenery triangulated like the car
    depth[beside] = contact * rng.uniform(4.9, 5.1, beside.sum())
    settings = replace(MoverSettings(), path_contact=1.0)  # a path wide enough for both
    ground = ground_depth(depth, (depth > 0) & ~car & ~beside, settings)
    assert ground is not None
    on_ground = ground_pixels(depth, ground, settings)
    _, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert given[beside].mean() > 0.2  # untrimmed, the blended scenery takes the car's depth
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, path_trim=8.0))
    assert not given[beside].any() and not given[:, :70].any() and not given[:, 92:].any()
    assert given[car].mean() > 0.5 and given[:, 70:92].any(axis=0).all()  # every column of the car
    np.testing.assert_allclose(out[given], contact, rtol=0.03)
    np.testing.assert_array_equal(out[beside], depth[beside])
    assert MoverSettings().path_trim == 0  # an option, off


def test_path_contact_reaches_the_movers_only_for_a_camera_moving_ahead():
    """``movers_path_contact``: off in the class, 0.5 (with ``path_confidence`` 0.3) in the ``cpu`` preset; it
    reaches the movers' settings only for a camera that moves along its view (the probe test of
    ``movers_track_ahead``); negative is refused."""
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings

    cpu = preset_config("cpu").stage1
    assert GeometricConfig().movers_path_contact == 0
    assert (cpu.movers_path_contact, cpu.movers_path_confidence, cpu.movers_path_trim) == (0.5, 0.3, 0.0)
    assert (mover_settings(cpu, ahead=True).path_contact, mover_settings(cpu, ahead=False).path_contact) == (0.5, 0)
    on = replace(cpu, movers_path_confidence=1.0)
    with pytest.raises(ValueError, match="movers_path_contact"):
        GeometricConfig(movers_path_contact=-1.0).validate()
    assert mover_settings(on, ahead=True).path_confidence == 1.0  # as the other mover pixels unless set
    assert mover_settings(replace(on, movers_path_confidence=0.3), ahead=True).path_confidence == 0.3
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="movers_path_confidence"):
            GeometricConfig(movers_path_confidence=bad).validate()
    assert mover_settings(replace(on, movers_path_trim=4.0), ahead=True).path_trim == 4.0
    with pytest.raises(ValueError, match="movers_path_trim"):
        GeometricConfig(movers_path_trim=-1.0).validate()


def test_path_contact_pixels_get_their_own_share_of_the_mover_confidence(monkeypatch):
    """``path_confidence``: the pixels ``path_contact`` gives a depth get that fraction of the confidence of the other
    mover pixels (stage 2 then weighs the contact's depth less than the static scenery it meets); the rest of the
    frame keeps what it had, and 1 gives them the mover confidence as before."""
    from stereodiff.stage1.movers import runner

    frames, truth = _sliding_square(num_frames=16)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    block = np.zeros(truth.shape, bool)
    block[:, 95:105, 10:30] = True  # what the (stubbed) path rule gives the contact's depth, away from the square

    def path_rule(depth, moving, given, *args):
        depth[block], given[block] = 2.0, True

    monkeypatch.setattr(runner, "_path_contacts", path_rule)
    out = {}
    settings = MoverSettings(offsets=(3, 6), hole_bound=True, confidence=0.5, path_contact=0.5)
    for share in (1.0, 0.25):
        result, _ = handle_movers(frames, scene, replace(settings, path_confidence=share))
        out[share] = np.asarray(result.confidence)
        np.testing.assert_array_equal(result.depth[block], 2.0)
    np.testing.assert_array_equal(out[1.0][block], 0.5 * 5.0)  # the mover confidence: half the static pixels' 5
    np.testing.assert_array_equal(out[0.25][block], 0.25 * 0.5 * 5.0)
    np.testing.assert_array_equal(out[0.25][~block], out[1.0][~block])


def test_a_cut_mover_takes_the_tightest_bound_of_its_track_carried_by_its_vertical_scale():
    """``cut_track``: a textured object approaching the camera, cut by the image bottom in every frame, holds the
    bottom row's ground depth (one upper bound, 10) in every frame; it is tight only in the first frame, where the
    object is 10 away. Its vertical image scale grows as its depth falls, so each frame whose bound is loose by more
    than ``CUT_GAP`` takes the first frame's bound times the depth ratio the flow measures; the second frame (bound
    7 % too far) and a second object, static and alone in its track, keep their bound."""
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, handled, truth = _approaching_cut_object()
    n, _, w = depth.shape
    out = depth.copy()
    given = track_cut_depth(grey, out, handled, frames=8, margin=7)
    obj = handled & (np.arange(w) < 100)
    for k in range(2, n):
        np.testing.assert_allclose(out[k][obj[k]], truth[k], rtol=0.04)  # was 10: up to 49 % too far
    np.testing.assert_array_equal(out[:2][obj[:2]], 10.0)
    assert given[2:][obj[2:]].all() and not given[:2].any() and not given[:, :, 110:].any()
    np.testing.assert_array_equal(out[:, :, 110:], depth[:, :, 110:])


def test_cut_track_values_keeps_a_touching_region_given_its_own_depth_out_of_the_cut_track():
    """``cut_track_values``: a farther region (depth 20, not cut) touching the approaching object cut by the image
    bottom is one handled region with it when pixels join by connectivity alone, and takes the object's carried depth
    from frame 2 on; joined only where the depth is the same, it keeps its 20 and the object takes the same carried
    depths as alone. The option reaches ``MoverSettings`` from the config, off by default and in the preset."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, handled, truth = _approaching_cut_object()
    n, _, w = depth.shape
    piece = np.zeros(handled.shape, bool)
    piece[:, 40:100, 80:95] = True  # touches the object's right edge (columns 20-79), above the image's last rows
    handled |= piece
    depth[piece] = 20.0
    joined, apart = depth.copy(), depth.copy()
    track_cut_depth(grey, joined, handled, frames=8, margin=7)
    given = track_cut_depth(grey, apart, handled, frames=8, margin=7, by_value=True)
    assert (joined[2:][piece[2:]] < 10.0).all()  # the object's carried depth, half of its own
    np.testing.assert_array_equal(apart[piece], 20.0)
    assert not given[piece].any()
    obj = handled & ~piece & (np.arange(w) < 100)
    for k in range(2, n):
        np.testing.assert_allclose(apart[k][obj[k]], truth[k], rtol=0.04)
    assert not MoverSettings().cut_track_values and not preset_config("cpu").stage1.movers_cut_track_values
    assert mover_settings(GeometricConfig(movers_cut_track_values=True)).cut_track_values
    with pytest.raises(ValueError, match="movers_cut_track_values"):
        GeometricConfig(movers_cut_track_values=1).validate()


def test_a_block_takes_the_cut_links_of_the_overlap_where_its_masks_are_the_earlier_blocks(monkeypatch):
    """Neighbouring blocks of the movers step share ``cut_track``'s links of the pairs in their overlap
    (:class:`SharedFindings`): the second block computes the flows only of the pairs whose handled masks differ from
    the ones the first block found the links on, and its depth is what it computes alone, bit for bit."""
    from stereodiff.stage1.movers import tracking
    from stereodiff.stage1.movers.shared import SharedFindings

    grey, depth, handled, _ = _approaching_cut_object()
    flows = []

    def counted(engine, a, b):
        flows.append(1)
        return dis_flows(engine, a, b)

    monkeypatch.setattr(tracking, "dis_flows", counted)
    shared = SharedFindings()
    shared.block(0, 3)  # the next block starts at frame 3: the pairs (3, 4) … (6, 7) are kept for it
    tracking.track_cut_depth(grey, depth.copy(), handled, 8, 7, first=0, shared=shared)
    assert len(flows) == 7 and sorted(shared.cut_links) == [(3, 4), (4, 5), (5, 6), (6, 7)]
    later, later_depth = handled[3:].copy(), depth[3:].copy()
    later[3, :4, 150:], later_depth[3, :4, 150:] = True, 10.0  # frame 6's mask differs: (5, 6), (6, 7) found again
    for block_handled, block_depth, computed in ((handled[3:], depth[3:], 0), (later, later_depth, 2)):
        alone, with_shared = block_depth.copy(), block_depth.copy()
        flows.clear()
        given = tracking.track_cut_depth(grey[3:], with_shared, block_handled, 8, 7, first=3, shared=shared)
        assert len(flows) == computed
        expected = tracking.track_cut_depth(grey[3:], alone, block_handled, 8, 7, first=3)
        assert given.any()  # the links matter: the approaching object's cut regions take their track's bound
        np.testing.assert_array_equal(given, expected)
        np.testing.assert_array_equal(with_shared, alone)


@pytest.mark.parametrize("frames", [8, 2])
def test_a_cut_mover_carries_its_depth_along_the_flow_into_the_frames_where_it_was_missed(frames):
    """``cut_carry``: a textured object approaching the camera, cut by the image bottom, is handled (at its true
    depth) in the first four frames and missed in the last four, where stage 1 put it 5× too far, in front of a wall
    at 20. Its depth, carried along the flow and scaled by its vertical image scale, reaches the missed frames within
    4 % of the truth — only ``frames`` frames past the last one holding it — and the wall away from its outline, the
    handled frames and a static handled object keep their depth."""
    import cv2

    from stereodiff.stage1.movers.tracking import carry_cut_depth

    grey, _, handled, truth = _approaching_cut_object()
    n, _, w = handled.shape
    obj = handled & (np.arange(w) < 100)
    depth = np.where(handled, 10.0, 20.0).astype(np.float32)
    depth[obj] = np.repeat(truth, obj.sum(axis=(1, 2)))  # frame by frame: the true depth where handled
    depth[4:][obj[4:]] = 5 * np.repeat(truth[4:], obj[4:].sum(axis=(1, 2)))
    handled[4:] &= ~obj[4:]  # missed there
    out = depth.copy()
    given = carry_cut_depth(grey, out, handled, frames, margin=7, beyond=0.3)

    inner = np.stack([cv2.erode(o.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) for o in obj])
    outer = ~np.stack([cv2.dilate(o.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) for o in obj])
    reached = range(4, min(n, 4 + frames))
    for k in reached:  # the rows the object grows into at its top are not carried (nothing was there before)
        ratio = out[k][inner[k]] / truth[k]
        assert np.mean(np.abs(ratio - 1) < 0.04) > 0.9 and np.all((np.abs(ratio - 1) < 0.04) | np.isclose(ratio, 5))
    for k in set(range(4, n)) - set(reached):
        np.testing.assert_array_equal(out[k], depth[k])
    np.testing.assert_array_equal(out[:4], depth[:4])
    np.testing.assert_array_equal(out[outer], depth[outer])
    assert not given[:, :, 110:].any()


def test_cut_carry_partial_carries_on_from_the_found_part_of_a_region_found_in_part():
    """close-object held-out 1447: the walking person is found in part (46 %) in the last frame before the
    segmentation loses her; ``cut_carry`` carries on only from her pixels not found there, so the lost frames take
    the carry on a tenth of her. With ``cut_carry_partial`` the found part carries on too: the approaching object,
    found in frames 0–3, only its lowest rows (under ``CARRY_FOUND``) in frame 4 and missed in 5–7 (5× too far),
    takes its depth within 4 % in its lower rows of frames 5–7, which without it keep stage 1's; the option reaches
    ``MoverSettings``."""
    import cv2

    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import carry_cut_depth

    grey, _, handled, truth = _approaching_cut_object()
    n, h, w = handled.shape
    obj = handled & (np.arange(w) < 100)
    depth = np.where(handled, 10.0, 20.0).astype(np.float32)
    depth[obj] = np.repeat(truth, obj.sum(axis=(1, 2)))
    depth[5:][obj[5:]] = 5 * np.repeat(truth[5:], obj[5:].sum(axis=(1, 2)))  # missed in frames 5–7
    upper = obj[4] & (np.arange(h)[:, None] < 95)  # frame 4: found only below row 95 (a quarter of it)
    depth[4][upper] = 5 * truth[4]
    handled[4] &= ~upper
    handled[5:] &= ~obj[5:]
    plain, partial = depth.copy(), depth.copy()
    carry_cut_depth(grey, plain, handled, 8, margin=7, beyond=0.3)
    carry_cut_depth(grey, partial, handled, 8, margin=7, beyond=0.3, partial=True)
    inner = np.stack([cv2.erode(o.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) for o in obj])
    low = np.arange(h)[:, None] >= 100  # rows found in frame 4 (the object moves down a few rows a frame)
    for k in range(5, n):
        lower = inner[k] & low
        assert np.mean(np.abs(partial[k][lower] / truth[k] - 1) < 0.04) > 0.9
        assert np.mean(np.isclose(plain[k][lower], depth[k][lower])) > 0.9  # not carried without the option
    np.testing.assert_array_equal(partial[:4], depth[:4])
    assert mover_settings(GeometricConfig(movers_cut_carry=8, movers_cut_carry_partial=True)).cut_carry_partial
    assert not MoverSettings().cut_carry_partial and not preset_config("cpu").stage1.movers_cut_carry_partial
    with pytest.raises(ValueError, match="movers_cut_carry_partial"):
        GeometricConfig(movers_cut_carry_partial=1).validate()


def test_carry_standing_carries_a_standing_persons_depth_into_the_frames_where_she_was_missed():
    """close-object held-out 1453 / 1455: the walking person, her feet seen, is given her contact while the
    segmentation finds her, then lost for the rest of the clip, where stage 1 puts her about 2× too far, beyond the
    wall behind her. With ``carry_standing`` (``carry_cut_depth`` with the whole image as its band) her depth from
    the frames she was found in follows her along the flow: a person sliding sideways in front of a wall at 1.5× her
    depth, found in frames 0–3 and missed in 4–7 (2× too far), takes her depth within 5 % there; the wall beside her
    keeps its depth, and the cut carry alone (she does not reach the image bottom) leaves her. A frame where she is
    found on half of her (``STANDING_FOUND``) is hers: her unfound half keeps its depth there, where ``CARRY_FOUND``
    would give it the carry (1453: the carry's strip beside a found person is the wall). The option reaches
    ``MoverSettings`` for a sideways camera only."""
    import cv2

    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import CARRY_FOUND, STANDING_FOUND, carry_cut_depth

    h, w, n = 120, 160, 8
    grey, person = _sliding_person(30)
    depth = np.where(person, 4.0, 6.0).astype(np.float32)  # the wall behind her at 1.5× her depth
    depth[4:][person[4:]] = 8.0  # missed in frames 4–7: stage 1's phantom, beyond the wall
    handled = person.copy()
    handled[4:] = False
    standing, cut = depth.copy(), depth.copy()
    carry_cut_depth(grey, standing, handled, 8, margin=h, beyond=0.3)
    carry_cut_depth(grey, cut, handled, 8, margin=7, beyond=0.3)
    inner = np.stack([cv2.erode(p.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) for p in person])
    away = np.ones((h, w), bool)
    away[:, 30:110] = False  # the wall's columns she never comes near
    for k in range(4, n):
        assert np.mean(np.abs(standing[k][inner[k]] / 4.0 - 1) < 0.05) > 0.9
        np.testing.assert_array_equal(standing[k][away], depth[k][away])
    np.testing.assert_array_equal(cut, depth)  # she is not cut by the image bottom: no carry
    np.testing.assert_array_equal(standing[:4], depth[:4])
    half = handled.copy()
    half[4] = person[4] & (np.arange(w) >= 55 + 3 * 4)  # frame 4: found on her right half only
    depth[4][half[4]] = 4.0
    left = inner[4] & ~half[4]
    for share, carried in ((STANDING_FOUND, False), (CARRY_FOUND, True)):
        out = depth.copy()
        carry_cut_depth(grey, out, half, 8, margin=h, beyond=0.3, found_share=share)
        assert np.mean(np.isclose(out[4][left], 4.0, rtol=0.05)) > 0.75 if carried else np.all(out[4][left] == 8.0)
    assert mover_settings(GeometricConfig(movers_carry_standing=16)).carry_standing == 16
    assert mover_settings(GeometricConfig(movers_carry_standing=16), ahead=True).carry_standing == 0
    assert MoverSettings().carry_standing == 0 and preset_config("cpu").stage1.movers_carry_standing == 0
    with pytest.raises(ValueError, match="movers_carry_standing"):
        GeometricConfig(movers_carry_standing=-1).validate()


def _sliding_person(width: int) -> tuple[np.ndarray, np.ndarray]:
    """A textured block ``width`` px wide sliding right 3 px a frame in front of a textured wall, far above the
    image bottom: grey frames ``[8,120,160]`` uint8 and its mask ``[8,120,160]`` bool."""
    import cv2

    rng = np.random.default_rng(5)
    h, w, n = 120, 160, 8
    wall = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 1.5)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 1.5)
    grey = np.empty((n, h, w), np.uint8)
    block = np.zeros((n, h, w), bool)
    for k in range(n):
        block[k, 20:90, 40 + 3 * k : 40 + width + 3 * k] = True
        grey[k] = np.clip(np.where(block[k], np.roll(texture, 3 * k, axis=1), wall), 0, 255).astype(np.uint8)
    return grey, block


def test_carry_standing_ring_gives_the_lost_persons_phantom_and_not_the_wall_strip_beside_her():
    """close-object tuning s0 with ``carry_standing=16``: the carried region lands on a 10–20-column strip beside
    the walking person that stage 1 put at the wall's depth, the strip takes her depth (0.63× its own) and moves the
    protocol's one disparity fit (+4.2 %); her phantom where she is lost lies 1.22–1.25× beyond the wall (1453 /
    1455). With ``ring`` a carried pixel is given only where stage 1 put it beyond the median depth of the static
    ring around its landed region by more than that fraction: a region found in frames 0–3 (depth 4, the wall 6),
    which the flow carries 40 columns wide into frames 4–7, where its left 30 columns are her phantom (8) and its
    right 10 a strip at the wall's depth, gives her phantom her depth with and without the ring, and the strip only
    without it. The setting reaches ``MoverSettings`` and is validated."""
    import cv2

    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import STANDING_FOUND, carry_cut_depth

    h, n = 120, 8
    grey, block = _sliding_person(40)
    person = block & (np.arange(160) < 70 + 3 * np.arange(n)[:, None, None])  # her left 30 columns
    strip = block & ~person
    depth = np.full(block.shape, 6.0, np.float32)  # the wall, and the strip at the wall's depth
    depth[block] = 4.0
    depth[4:][person[4:]] = 8.0  # missed in frames 4–7: her phantom, 1.33× beyond the wall
    depth[4:][strip[4:]] = 6.0
    handled = block.copy()
    handled[4:] = False
    inner = np.stack([cv2.erode(p.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) for p in person])
    core = np.stack([cv2.erode(p.astype(np.uint8), np.ones((9, 5), np.uint8)).astype(bool) for p in strip])
    for ring in (0.0, 0.1):
        out = depth.copy()
        carry_cut_depth(grey, out, handled, 8, margin=h, beyond=0.3, found_share=STANDING_FOUND, ring=ring)
        for k in range(4, n):
            assert np.mean(np.isclose(out[k][inner[k]], 4.0, rtol=0.05)) > 0.9  # her phantom: her depth
            taken = np.mean(np.isclose(out[k][core[k]], 4.0, rtol=0.05))
            assert taken == 0.0 if ring > 0 else taken > 0.5  # the strip: the wall's depth kept with the ring
    assert mover_settings(GeometricConfig(movers_carry_standing_ring=0.1)).carry_standing_ring == 0.1
    assert MoverSettings().carry_standing_ring == 0.0 and preset_config("cpu").stage1.movers_carry_standing_ring == 0
    with pytest.raises(ValueError, match="movers_carry_standing_ring"):
        GeometricConfig(movers_carry_standing_ring=1.0).validate()


def test_carry_standing_flagged_gives_the_flagged_person_and_not_the_unflagged_wall_strip():
    """close-object 1453: the walking person's feet go behind a static object after frame 40; the segmentation still
    flags her upper body in frames 40–51, but the frame rule finds no contact and she keeps stage 1's phantom. The
    carry's wall strip beside a found person (tuning s0) moves as its stage-1 depth predicts and is not flagged.
    With ``flagged`` (the mover mask) a carried pixel is given only where it is flagged: a region found in frames
    0–3, carried 40 columns wide into frames 4–7 where its left 30 columns are her flagged phantom and its right
    10 an unflagged strip at the wall's depth, gives her phantom her depth with and without the mask, the strip
    only without it; an unflagged phantom keeps its depth under the mask alone and takes hers where it passes the
    ring's test (``ring``, 1.33× beyond the wall). The setting reaches ``MoverSettings`` and is validated."""
    import cv2

    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import STANDING_FOUND, carry_cut_depth

    h, n = 120, 8
    grey, block = _sliding_person(40)
    person = block & (np.arange(160) < 70 + 3 * np.arange(n)[:, None, None])  # her left 30 columns
    strip = block & ~person
    depth = np.full(block.shape, 6.0, np.float32)
    depth[block] = 4.0
    depth[4:][person[4:]] = 8.0  # missed in frames 4–7: her phantom
    depth[4:][strip[4:]] = 6.0  # the strip at the wall's depth
    handled = block.copy()
    handled[4:] = False
    inner = np.stack([cv2.erode(p.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) for p in person])
    core = np.stack([cv2.erode(p.astype(np.uint8), np.ones((9, 5), np.uint8)).astype(bool) for p in strip])
    none = np.zeros_like(person)
    for flagged, ring in ((None, 0.0), (person, 0.0), (none, 0.0), (none, 0.1)):
        out = depth.copy()
        carry_cut_depth(grey, out, handled, 8, h, 0.3, found_share=STANDING_FOUND, ring=ring, flagged=flagged)
        for k in range(4, n):
            mine = np.mean(np.isclose(out[k][inner[k]], 4.0, rtol=0.05))
            assert mine == 0.0 if flagged is none and ring == 0 else mine > 0.9  # unflagged: the ring's test
            taken = np.mean(np.isclose(out[k][core[k]], 4.0, rtol=0.05))
            assert taken == 0.0 if flagged is not None else taken > 0.5
    config = GeometricConfig(movers_carry_standing=16, movers_carry_standing_flagged=True)
    assert mover_settings(config).carry_standing_flagged
    assert not MoverSettings().carry_standing_flagged
    assert not preset_config("cpu").stage1.movers_carry_standing_flagged
    with pytest.raises(ValueError, match="movers_carry_standing_flagged"):
        GeometricConfig(movers_carry_standing_flagged=1).validate()


def test_persist_frames_keeps_a_mover_flagged_in_every_other_frame():
    """close-object 1455: after the near object has passed, the walking person's flow matches her phantom and only
    the ground cue flags her, in every other frame; the persistence test (a flag near the same place in both
    neighbouring frames) drops her. With ``persist_frames=2`` a region flagged in frames 0, 2, 4 (then 5, 6) is kept
    in frame 2 (flagged two frames away on both sides), which the reach of 1 drops; a region flagged in frame 3 alone
    is dropped at any reach, one flagged in three frames in a row (4–6) kept in the middle one at any reach. The
    setting reaches ``MoverSettings`` and is validated."""
    import cv2

    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.segmentation import persistent_regions

    t, h, w = 7, 60, 80
    opened = np.zeros((t, h, w), np.uint8)
    opened[0::2, 10:40, 10:30] = 1  # flagged in every other frame
    opened[3, 20:40, 50:70] = 1  # a static patch flagged in one frame
    opened[5:7, 10:40, 10:30] = 1  # and in three frames in a row: 4, 5, 6
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (17, 17))
    grown = np.stack([cv2.dilate(o, near) for o in opened])
    alternating = np.zeros((h, w), bool)
    alternating[10:40, 10:30] = True
    for frames in (1, 2):
        kept = np.stack([persistent_regions(opened, grown, k, frames, 50) for k in range(t)])
        assert not kept[3].any()  # one frame alone: never
        assert np.array_equal(kept[5], alternating)  # three frames in a row: at any reach
        assert np.array_equal(kept[2], alternating if frames == 2 else np.zeros((h, w), bool))
    assert mover_settings(GeometricConfig(movers_persist_frames=2)).persist_frames == 2
    assert MoverSettings().persist_frames == 1 and preset_config("cpu").stage1.movers_persist_frames == 1
    with pytest.raises(ValueError, match="movers_persist_frames"):
        GeometricConfig(movers_persist_frames=0).validate()


def test_persist_ground_keeps_the_wider_reach_only_on_the_ground_cue():
    """``persist_frames=2`` keeps a region flagged in every other frame wherever it is: the person whose phantom
    only the ground cue flags (1455), but also the near object's and static surfaces' flow flags (tuning s0, fresh
    2521). With ``persist_ground`` the wider reach applies only within the frame's ground-cue flags: the person is
    kept in frame 2, the flow-flagged patch is dropped there as at the reach of 1, and a region flagged in three
    frames in a row is kept at any reach. The setting reaches ``MoverSettings`` and is validated."""
    import cv2

    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.segmentation import cue_persistent_regions, persistent_regions

    t, h, w = 7, 60, 80
    opened = np.zeros((t, h, w), np.uint8)
    opened[0::2, 10:40, 10:30] = 1  # the person, flagged by the ground cue in every other frame
    opened[0::2, 20:40, 50:70] = 1  # a patch the flow flags in every other frame
    opened[3:6, 20:40, 50:70] = 1  # and in three frames in a row (3–5)
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (17, 17))
    grown = np.stack([cv2.dilate(o, near) for o in opened])
    person, patch = np.zeros((h, w), bool), np.zeros((h, w), bool)
    person[10:40, 10:30], patch[20:40, 50:70] = True, True
    cue = cv2.dilate(person.astype(np.uint8), near) > 0
    assert np.array_equal(persistent_regions(opened, grown, 2, 2, 50), person | patch)  # the reach alone: both
    assert not persistent_regions(opened, grown, 2, 1, 50).any()  # the neighbouring frames: neither
    assert np.array_equal(cue_persistent_regions(opened, grown, cue, 2, 2, 50), person)
    assert np.array_equal(cue_persistent_regions(opened, grown, cue, 4, 2, 50), person | patch)  # 3–5 in a row
    assert mover_settings(GeometricConfig(movers_persist_frames=2, movers_persist_ground=True)).persist_ground
    assert not MoverSettings().persist_ground and not preset_config("cpu").stage1.movers_persist_ground
    with pytest.raises(ValueError, match="movers_persist_ground"):
        GeometricConfig(movers_persist_ground=1).validate()


def _approaching_cut_object() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A textured object approaching the camera, cut by the image bottom in every frame, and a static one: grey
    frames ``[8,120,160]`` uint8, their depth (10 on the handled regions), handled mask and the approaching object's
    true depth ``[8]``."""
    import cv2

    rng = np.random.default_rng(3)
    h, w, n = 120, 160, 8
    background = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 1.5)
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (h, w)).astype(np.float32), (0, 0), 1.5)
    truth = 10.0 / (1.0 + 0.07 * np.arange(n))  # the object's depth: 10 → 6.7 over the frames
    grey = np.empty((n, h, w), np.uint8)
    depth = np.zeros((n, h, w), np.float32)
    handled = np.zeros((n, h, w), bool)
    for k in range(n):
        zoom = truth[0] / truth[k]  # image scale about the point (50, 140) below the object's centre
        warp = np.array([[zoom, 0.0, 50.0 * (1 - zoom)], [0.0, zoom, 140.0 * (1 - zoom)]])
        grown = cv2.warpAffine(texture, warp, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        inside = np.zeros((h, w), bool)
        inside[:, 20:80] = np.arange(h)[:, None] >= 140 - zoom * 90  # a tall object, cut by the bottom
        grey[k] = np.clip(np.where(inside, grown, background), 0, 255).astype(np.uint8)
        handled[k] = inside
        handled[k, 60:, 110:140] = True  # the other one: static
        depth[k][handled[k]] = 10.0
    return grey, depth, handled, truth


@pytest.mark.parametrize("sway_m", [0.1, 0.0])
def test_a_cut_mover_takes_the_depth_of_the_cameras_sway_along_the_ground_normal(sway_m):
    """``cut_sway``: a hand-held camera sways up and down (amplitude ``sway_m``) while a textured box slides
    sideways on the floor 2 m away, cut by the image bottom; every frame's bound says 3 m (1.5× too far), and the
    box's vertical scale does not change (``cut_track`` keeps the bound). With a sway of 10 % of the depth, the
    camera's motion along the ground normal against the box's apparent motion gives its depth within 5 %; without
    a sway the gate refuses and the bound stays."""
    from stereodiff.stage1.movers.sway import SwayInputs
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, truth, focal = _swaying_camera_and_sliding_box(sway_m)
    out = depth.copy()
    settings = MoverSettings(cut_track=32, cut_sway=0.04)
    sway = SwayInputs(moving, np.full(len(grey), focal), settings)
    given = track_cut_depth(grey, out, moving, frames=32, margin=7, sway=sway)
    if sway_m > 0:
        assert given[moving].all()
        np.testing.assert_allclose(np.median(out[moving]), truth, rtol=0.05)  # was 3.0 (the bound)
        np.testing.assert_allclose(out[moving], truth, rtol=0.1)
    else:
        assert not given.any()
        np.testing.assert_array_equal(out, depth)
    without = depth.copy()  # without the option: the bound, whatever the camera did
    assert not track_cut_depth(grey, without, moving, frames=32, margin=7).any()


def test_a_block_takes_the_sway_measurements_of_the_overlap_with_its_cut_links():
    """With ``cut_sway``, the links a block takes from the earlier block (:class:`SharedFindings`) carry their pairs'
    motions: the later block gives its cut regions the depth it computes alone, bit for bit."""
    from stereodiff.stage1.movers import tracking
    from stereodiff.stage1.movers.shared import SharedFindings
    from stereodiff.stage1.movers.sway import SwayInputs

    grey, depth, moving, _, focal = _swaying_camera_and_sliding_box(0.1)
    settings = MoverSettings(cut_track=32, cut_sway=0.04)
    shared = SharedFindings()
    shared.block(0, 4)
    sway = SwayInputs(moving, np.full(len(grey), focal), settings)
    tracking.track_cut_depth(grey, depth.copy(), moving, 32, 7, first=0, shared=shared, sway=sway)
    assert all(len(links.motions) == 1 for links in shared.cut_links.values()) and len(shared.cut_links) == 11
    later = SwayInputs(moving[4:], np.full(len(grey) - 4, focal), settings)
    alone, with_shared = depth[4:].copy(), depth[4:].copy()
    given = tracking.track_cut_depth(grey[4:], with_shared, moving[4:], 32, 7, first=4, shared=shared, sway=later)
    expected = tracking.track_cut_depth(grey[4:], alone, moving[4:], 32, 7, first=4, sway=later)
    assert given.any()  # the sway gave the box its depth (the bound is 3)
    np.testing.assert_array_equal(given, expected)
    np.testing.assert_array_equal(with_shared, alone)


def test_the_sway_from_stage_1s_camera_levels_gives_a_cut_mover_its_depth():
    """``cut_sway_levels``: the camera's heights come from stage 1's poses (here the true centres, the camera
    swaying ±0.1 m) above one ground normal; the box's accumulated apparent motion against them gives its depth
    within 10 % (2.15; the bound says 3, the truth 2). ``fit_sway_levels`` alone: each run of consecutive pairs has
    its own intercept, so a constant added to one run's levels changes nothing, and a camera that does not move
    along the normal leaves no fit."""
    from stereodiff.stage1.movers.sway import SwayInputs, camera_levels, fit_sway_levels
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, truth, focal = _swaying_camera_and_sliding_box(0.1)
    poses = np.tile(np.eye(4), (len(grey), 1, 1))
    poses[:, 0, 3] = 0.01 * np.arange(len(grey))
    poses[:, 1, 3] = 0.1 * np.sin(2 * np.pi * np.arange(len(grey)) / 12)  # y down: the centre's level is −y
    out = depth.copy()
    settings = MoverSettings(cut_track=32, cut_sway=0.04, cut_sway_levels=True)
    given = track_cut_depth(
        grey, out, moving, 32, 7, sway=SwayInputs(moving, np.full(len(grey), focal), settings, poses)
    )
    assert given[moving].all()
    np.testing.assert_allclose(np.median(out[moving]), truth, rtol=0.1)  # 2.15; was 3.0 (the bound)

    levels = camera_levels(poses, {k: np.array([0.0, 1.0, 0.0]) for k in range(0, 16, 3)})
    np.testing.assert_allclose(levels, -poses[:, 1, 3])
    frames = np.array([0, 1, 2, 3, 6, 7, 8, 9, 10])
    along = (levels[frames + 1] - levels[frames]) / 2.0  # a mover 2 away, no other motion along the normal
    fit = fit_sway_levels(frames, along, levels)
    np.testing.assert_allclose([fit.depth, fit.fit], [2.0, 1.0], rtol=1e-9)
    shifted = levels.copy()
    shifted[6:] += 5.0  # the second run (frames 6–11) on another intercept
    np.testing.assert_allclose(fit_sway_levels(frames, along, shifted).depth, 2.0, rtol=1e-9)
    assert np.isnan(fit_sway_levels(frames, along, np.zeros(16)).depth)


@pytest.mark.parametrize("bound", [3.0, 4.0])
def test_the_sways_gap_keeps_a_bound_the_estimate_is_not_far_enough_under(bound):
    """``cut_sway_gap``: the sway's depth (levels, 2.15 for a box 2 away) replaces the track's bound only when it is
    nearer by more than the gap. With 0.35, a bound of 3 (the estimate 0.72 of it: within the estimate's own error
    of a right bound) stays; a bound of 4 (0.54) takes it; with the former gap, 0.2, both take it."""
    from stereodiff.stage1.movers.sway import SwayInputs
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, truth, focal = _swaying_camera_and_sliding_box(0.1)
    depth = np.where(moving, bound, depth).astype(np.float32)
    poses = np.tile(np.eye(4), (len(grey), 1, 1))
    poses[:, 0, 3] = 0.01 * np.arange(len(grey))
    poses[:, 1, 3] = 0.1 * np.sin(2 * np.pi * np.arange(len(grey)) / 12)
    for gap, kept in ((0.35, bound < 3.5), (0.2, False)):
        out = depth.copy()
        settings = MoverSettings(cut_track=32, cut_sway=0.04, cut_sway_levels=True, cut_sway_gap=gap)
        given = track_cut_depth(
            grey, out, moving, 32, 7, sway=SwayInputs(moving, np.full(len(grey), focal), settings, poses)
        )
        if kept:
            assert not given.any()
            np.testing.assert_array_equal(out, depth)
        else:
            assert given[moving].all()
            np.testing.assert_allclose(np.median(out[moving]), truth, rtol=0.1)


def test_a_levels_fit_that_explains_too_little_of_the_levels_is_refused():
    """``cut_sway_fit`` (``SWAY_LEVELS_MIN_FIT``, 0.9, by default): stage 1's levels of the swaying camera hold a
    wobble of ±0.05 the frames do not show (a level error); the box's motion explains 78 % of them (R² 0.78: over
    ``SWAY_MIN_FIT``, under 0.9), so the levels fit is refused and the bound stays; with a least R² of 0.75 (the
    option) or the PnP fit's least R² it is taken, with 0.8 it is not."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers import tracking
    from stereodiff.stage1.movers.sway import SWAY_LEVELS_MIN_FIT, SWAY_MIN_FIT, SwayInputs

    grey, depth, moving, _, focal = _swaying_camera_and_sliding_box(0.1)
    k = np.arange(len(grey))
    poses = np.tile(np.eye(4), (len(grey), 1, 1))
    poses[:, 0, 3] = 0.01 * k
    poses[:, 1, 3] = 0.1 * np.sin(2 * np.pi * k / 12) + 0.05 * np.cos(2 * np.pi * k / 3.1)
    settings = MoverSettings(cut_track=32, cut_sway=0.04, cut_sway_levels=True)
    assert settings.cut_sway_fit == SWAY_LEVELS_MIN_FIT
    for least, taken in ((SWAY_LEVELS_MIN_FIT, False), (0.8, False), (0.75, True), (SWAY_MIN_FIT, True)):
        sway = SwayInputs(moving, np.full(len(grey), focal), replace(settings, cut_sway_fit=least), poses)
        out = depth.copy()
        changed = tracking.track_cut_depth(grey, out, moving, 32, 7, sway=sway)
        if taken:
            assert changed[moving].all(), least
            assert (out[moving] < 0.8 * depth[moving]).all(), least
        else:
            assert not changed.any(), least
            np.testing.assert_array_equal(out, depth)
    cpu = preset_config("cpu").stage1
    assert GeometricConfig().movers_cut_sway_fit == SWAY_LEVELS_MIN_FIT and cpu.movers_cut_sway_fit == 0.75
    assert mover_settings(cpu, ahead=False).cut_sway_fit == 0.75
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match="movers_cut_sway_fit"):
            GeometricConfig(movers_cut_sway_fit=bad).validate()


@pytest.mark.parametrize("wobble", [0.0, 0.05])
def test_a_sway_fit_that_holds_on_one_half_of_its_track_only_gives_no_depth_outright(wobble):
    """``cut_sway_halves``: stage 1's levels of the swaying camera hold a wobble of ±``wobble`` in the first 8
    frames only (the frames do not show it). Without it both halves of the track's pairs fit (R² 1.00) and the box
    takes the sway's depth (2.05, the bound 3) with or without the option; with it the whole fit still holds (R²
    0.80, over the least 0.5 set here) but its first half does not (0.52): with the option at 0.75 the track is
    doubtful, so the bound stays (blend 0) or the box moves half the way to the sway (blend 0.5, √(3 × 2.08)); off,
    it takes 2.08. ``halves_fit`` alone: the lesser half's R², 0 for a half without a fit. Off by default and in the
    ``cpu`` preset; validated in [0, 1)."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.sway import SwayInputs, camera_levels, halves_fit
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, _, focal = _swaying_camera_and_sliding_box(0.1)
    k = np.arange(len(grey))
    poses = np.tile(np.eye(4), (len(grey), 1, 1))
    poses[:, 0, 3] = 0.01 * k
    poses[:, 1, 3] = 0.1 * np.sin(2 * np.pi * k / 12) + np.where(k < 8, wobble * np.cos(np.pi * k), 0.0)
    results = {}
    for halves, blend in ((0.0, 0.0), (0.75, 0.0), (0.75, 0.5)):
        settings = MoverSettings(
            cut_track=32, cut_sway=0.04, cut_sway_levels=True, cut_sway_fit=0.5, cut_sway_halves=halves,
            cut_sway_blend=blend,
        )  # fmt: skip
        out = depth.copy()
        given = track_cut_depth(
            grey, out, moving, 32, 7, sway=SwayInputs(moving, np.full(len(grey), focal), settings, poses)
        )
        results[halves, blend] = (given[moving].all(), float(np.median(out[moving])))
    sway_depth = results[0.0, 0.0][1]
    assert results[0.0, 0.0][0] and sway_depth < 2.2
    if wobble == 0:
        assert results[0.75, 0.0] == results[0.0, 0.0] == results[0.75, 0.5]
    else:
        assert results[0.75, 0.0] == (False, 3.0)  # the bound stays
        assert results[0.75, 0.5][0]
        np.testing.assert_allclose(results[0.75, 0.5][1], np.sqrt(3.0 * sway_depth), rtol=0.01)

    levels = camera_levels(poses, {f: np.array([0.0, 1.0, 0.0]) for f in range(0, 16, 3)})
    frames = np.arange(12)
    along = (levels[frames + 1] - levels[frames]) / 2.0  # a mover 2 away
    np.testing.assert_allclose(halves_fit(frames, along, levels), 1.0)
    assert halves_fit(frames[:3], along[:3], levels) == 0.0  # a half of one pair: no fit
    cpu = preset_config("cpu").stage1
    assert GeometricConfig().movers_cut_sway_halves == 0 and cpu.movers_cut_sway_halves == 0
    assert mover_settings(GeometricConfig(movers_cut_sway_halves=0.75), ahead=False).cut_sway_halves == 0.75
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="movers_cut_sway_halves"):
            GeometricConfig(movers_cut_sway_halves=bad).validate()


def _sway_on_the_swaying_box(**options) -> tuple[bool, float]:
    """The sway fit of ``track_cut_depth`` on :func:`_swaying_camera_and_sliding_box` (0.1 m of sway, the camera's
    poses exact) with the mover settings ``options`` on top of the sway's own: (every moving pixel given, their
    median depth)."""
    from stereodiff.stage1.movers.sway import SwayInputs
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, _, focal = _swaying_camera_and_sliding_box(0.1)
    k = np.arange(len(grey))
    poses = np.tile(np.eye(4), (len(grey), 1, 1))
    poses[:, 0, 3] = 0.01 * k
    poses[:, 1, 3] = 0.1 * np.sin(2 * np.pi * k / 12)
    settings = MoverSettings(cut_track=32, cut_sway=0.04, cut_sway_levels=True, cut_sway_fit=0.5, **options)
    out = depth.copy()
    given = track_cut_depth(
        grey, out, moving, 32, 7, sway=SwayInputs(moving, np.full(len(grey), focal), settings, poses)
    )
    return bool(given[moving].all()), float(np.median(out[moving]))


def test_the_levels_gain_scales_the_sways_depth():
    """``cut_sway_levels_gain``: stage 1's levels of the swaying camera multiplied by the gain before the levels fit
    give the sliding box a sway depth that many times farther (2.05 → 2.26 with 1.1, under the bound 3 by more than
    the gap); 1 takes the levels as they are. Default and ``cpu`` preset 1; validated in [0.5, 2]."""
    from stereodiff.stage1.geometric import mover_settings

    results = {gain: _sway_on_the_swaying_box(cut_sway_levels_gain=gain) for gain in (1.0, 1.1)}
    assert results[1.0][0] and results[1.1][0]
    assert results[1.0][1] < 2.2
    np.testing.assert_allclose(results[1.1][1], 1.1 * results[1.0][1], rtol=1e-3)
    cpu = preset_config("cpu").stage1
    assert GeometricConfig().movers_cut_sway_levels_gain == 1 and cpu.movers_cut_sway_levels_gain == 1
    assert mover_settings(GeometricConfig(movers_cut_sway_levels_gain=1.1), ahead=False).cut_sway_levels_gain == 1.1
    for bad in (0.4, 2.5):
        with pytest.raises(ValueError, match="movers_cut_sway_levels_gain"):
            GeometricConfig(movers_cut_sway_levels_gain=bad).validate()


def test_one_ground_plane_takes_the_levels_off_the_frames_rolled_normals():
    """``cut_sway_levels_plane``: a camera sweeping 1 m sideways and swaying 0.1 m over a floor 1.2 m under it, whose
    frames' own ground normals are rolled 2° toward the sweep (as the two-view pitch–height trade rolls them): the
    median normal leaks the sweep into the levels (their slope on the true heights off by far more than 5 %), the one
    plane through the frames' ground points (:func:`ground_points` of their depth) gives the heights. Then the sway
    on the swaying-box scene, whose frames' normals are right, is the same with and without it; default and ``cpu``
    preset off, validated as a bool."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.sway import camera_levels, ground_points

    k = np.arange(24)
    heights = 1.2 + 0.1 * np.sin(2 * np.pi * k / 12)  # [24] camera height above the floor (y down, floor y = 1.2)
    poses = np.tile(np.eye(4), (len(k), 1, 1))
    poses[:, 0, 3] = k / 23.0
    poses[:, 1, 3] = 1.2 - heights
    h, w, focal = 48, 64, 60.0
    K = pinhole(focal, (h, w))
    rows = np.mgrid[0:h, 0:w][0]
    below = rows > K[1, 2] + 2
    settings = MoverSettings(ground_tolerance=0.05)
    rolled = np.array([np.sin(np.radians(2.0)), np.cos(np.radians(2.0)), 0.0])  # [3] the floor's normal, rolled
    points, normals = {}, {}
    for f in k:
        depth = np.where(below, heights[f] * focal / np.maximum(rows - K[1, 2], 1e-6), 0.0).astype(np.float32)
        found = ground_points(depth, depth > 0, settings, K, seed=int(f))
        assert found is not None and len(found) > 100
        np.testing.assert_allclose(found[:, 1], heights[f], rtol=1e-5)  # on the floor, in the camera's axes
        points[int(f)], normals[int(f)] = found, rolled
    truth = heights - heights.mean()
    median = camera_levels(poses, normals)
    one = camera_levels(poses, normals, points)
    slope = float(truth @ (median - median.mean()) / (truth @ truth))
    assert abs(slope - 1) > 0.05  # the sweep leaks in: the rolled normal's 3.5 cm per metre
    np.testing.assert_allclose(one - one.mean(), truth, atol=1e-4)
    assert ground_points(np.zeros((h, w), np.float32), np.zeros((h, w), bool), settings, K, seed=0) is None

    results = {plane: _sway_on_the_swaying_box(cut_sway_levels_plane=plane) for plane in (False, True)}
    assert results[False][0] and results[True][0] and results[False][1] < 2.2
    np.testing.assert_allclose(results[True][1], results[False][1], rtol=0.02)
    cpu = preset_config("cpu").stage1
    assert not GeometricConfig().movers_cut_sway_levels_plane and not cpu.movers_cut_sway_levels_plane
    assert mover_settings(GeometricConfig(movers_cut_sway_levels_plane=True), ahead=False).cut_sway_levels_plane
    with pytest.raises(ValueError, match="movers_cut_sway_levels_plane"):
        GeometricConfig(movers_cut_sway_levels_plane=1).validate()


def _swaying_camera_and_sliding_box(sway_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Ray-cast frames of a room (floor 1.2 m under the camera, a wall 6 m ahead, both textured) and a textured box
    face 2 m ahead standing on the floor and sliding sideways (0.03 m a frame), cut by the image bottom; the camera
    drifts sideways (0.01 m a frame) and sways vertically by ``sway_m`` (period 12 frames). Returns grey frames
    ``[16,120,160]`` uint8, the stage-1 depth (true on the static pixels, the bound 3 on the box), the box's mask,
    its true depth and the focal length (pixels)."""
    import cv2

    rng = np.random.default_rng(5)
    h, w, n, focal = 120, 160, 16, 150.0
    textures = [cv2.GaussianBlur(rng.uniform(0, 255, (600, 600)).astype(np.float32), (0, 0), 2.0) for _ in range(3)]
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    ray_x, ray_y = (u - w / 2) / focal, (v - h / 2) / focal  # [h,w] the rays' direction (x, y, 1)
    grey = np.empty((n, h, w), np.uint8)
    depth = np.zeros((n, h, w), np.float32)
    moving = np.zeros((n, h, w), bool)
    for k in range(n):
        cx, cy = 0.01 * k, sway_m * np.sin(2 * np.pi * k / 12)  # the camera's centre (x right, y down)
        left = -0.6 + 0.03 * k  # the box's left edge (x)
        z_floor = np.where(ray_y > 1e-6, (1.2 - cy) / np.maximum(ray_y, 1e-6), np.inf)
        z = np.minimum(z_floor, 6.0)  # [h,w] the floor or the wall
        bx, by = cx + 2.0 * ray_x, cy + 2.0 * ray_y
        box = (bx >= left) & (bx <= left + 0.7) & (by >= -0.3)
        z = np.where(box, 2.0, z)
        x, y = cx + z * ray_x, cy + z * ray_y  # [h,w] the points seen (z: their depth, the camera looking along z)
        surface = np.where(box, 0, np.where(z < 6.0, 1, 2))  # box, floor, wall
        coords = {  # texture pixels (100 per metre) of each surface
            0: ((x - left) * 100 + 50, y * 100 + 100),
            1: (x * 100 + 300, z * 100),
            2: (x * 100 + 300, y * 100 + 300),
        }
        image = np.zeros((h, w), np.float32)
        for index, (tx, ty) in coords.items():
            seen = cv2.remap(textures[index], tx.astype(np.float32), ty.astype(np.float32), cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REFLECT)  # fmt: skip
            image = np.where(surface == index, seen, image)
        grey[k] = np.clip(image, 0, 255).astype(np.uint8)
        moving[k] = box
        depth[k] = np.where(box, 3.0, z)
    return grey, depth, moving, 2.0, focal


def test_path_near_gives_the_oncoming_car_beside_the_path_the_road_where_it_is_last_seen():
    """driving: an oncoming car moves along the camera's epipolar lines, so no flow check flags it, and stage 1
    triangulates it at about v_cam / (v_cam + v_car) ≈ 0.5 of its depth. Beside the camera's path it hides the road
    from its lowest pixels up to the horizon; ``path_near`` gives its pixels nearer than that road by 30 % the road's
    depth there. A parked car at its contact's depth, the car ahead in the path (right) and the road keep theirs."""
    from stereodiff.stage1.movers.ground import ground_pixels
    from stereodiff.stage1.movers.path import path_contact

    floor, _ = _floor()  # horizon at row 60, floor depth 225 / (row - 59.5), 120×160, heading at column 80
    depth = floor.copy()
    depth[:60] = 40.0  # the street's far end
    rng = np.random.default_rng(2)
    oncoming = np.zeros(floor.shape, bool)
    oncoming[60:85, 20:45] = True  # stands at row 84, beside the path (offset ≈ 1.5 camera heights)
    contact = floor[85, 32]
    depth[oncoming] = contact * rng.uniform(0.45, 0.55, oncoming.sum())  # too near, noisy
    depth[66:68, 30:34] = 0.0  # holes
    parked = np.zeros(floor.shape, bool)
    parked[62:90, 120:140] = True  # beside the path, at its contact's depth (static)
    depth[parked] = floor[90, 130] * rng.uniform(0.95, 1.05, parked.sum())
    ahead = np.zeros(floor.shape, bool)
    ahead[60:78, 72:88] = True  # in the path, at its contact's depth
    depth[ahead] = floor[78, 80]
    settings = replace(MoverSettings(), path_contact=0.5)
    ground = ground_depth(depth, (depth > 0) & ~oncoming & ~parked & ~ahead, settings)
    assert ground is not None
    on_ground = ground_pixels(depth, ground, settings)
    _, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert not given.any()  # off: nothing beyond the ground in the path
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, path_near=0.3))
    assert given[oncoming].mean() > 0.8 and not given[~oncoming].any()
    np.testing.assert_allclose(out[given], contact, rtol=0.03)
    np.testing.assert_array_equal(out[~given], depth[~given])  # holes, road, parked car, car ahead, far end
    assert MoverSettings().path_near == 0  # an option, off


def test_path_near_foot_finds_the_far_oncoming_car_whose_flow_blends_into_the_road_under_it():
    """driving, a far oncoming car: DIS blends its flow into the road under it, so 12 rows of road under the car are
    triangulated off the ground plane and the road is last seen only below them; ``path_near`` alone compares the
    car (0.5× its depth) with that nearer road and the blended band and gives nothing. ``path_near_foot`` finds the
    car from above — an upright run whose depth steps farther at its lowest row, with the road seen within
    ``contact_rows`` under it — and gives it the ground at its lowest row. A parked car at its contact's depth, a near
    static wall whose depth is noisy over a band of rows (the same wall goes on below it), the road, the blended band
    and the far end keep their depth."""
    from stereodiff.stage1.movers.ground import ground_pixels
    from stereodiff.stage1.movers.path import path_contact

    floor, _ = _floor()  # horizon at row 60, floor depth 225 / (row - 59.5), 120×160, heading at column 80
    depth = floor.copy()
    depth[:60] = 40.0  # the street's far end
    rng = np.random.default_rng(3)
    car = np.zeros(floor.shape, bool)
    car[62:79, 20:45] = True  # lowest row 78, beside the path
    truth = floor[78, 32]
    depth[car] = 0.5 * truth * rng.uniform(0.95, 1.05, car.sum())  # triangulated too near
    band = np.zeros(floor.shape, bool)
    band[79:91, 20:45] = True  # the road under it, blended with the car's flow: off the plane, nearer
    depth[band] = 0.75 * floor[band]
    parked = np.zeros(floor.shape, bool)
    parked[62:91, 120:141] = True  # beside the path, at its contact's depth (static)
    depth[parked] = floor[90, 130] * rng.uniform(0.95, 1.05, parked.sum())
    wall = np.zeros(floor.shape, bool)
    wall[62:111, 100:116] = True  # a near static wall standing at row 110, right
    depth[wall] = floor[110, 108]
    depth[80:86, 100:116] *= 1.4  # a noisy band of rows: its depth steps farther there, the wall goes on below
    settings = replace(MoverSettings(), path_contact=0.5, path_near=0.3)
    static = (depth > 0) & ~car & ~band & ~parked & ~wall
    ground = ground_depth(depth, static, settings)
    assert ground is not None
    on_ground = ground_pixels(depth, ground, settings)
    out, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert not given[car].any()  # path_near alone: the car is not nearer than the road below the band by 30 %
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, path_near_foot=True))
    assert given[car].mean() > 0.9 and not given[~car].any()
    np.testing.assert_allclose(out[given], truth, rtol=0.07)  # was 0.5× (the run ends a row early: LOOK_PX)
    np.testing.assert_array_equal(out[~given], depth[~given])
    handled = np.zeros(floor.shape, bool)
    handled[62:79, 20:33] = True  # another mover rule gave these a depth: left out
    _, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, path_near_foot=True), handled)
    assert not given[handled].any() and given[car & ~handled].mean() > 0.9
    assert not MoverSettings().path_near_foot and not GeometricConfig().movers_path_near_foot  # an option, off


def test_side_near_gives_a_person_triangulated_too_near_beside_a_sideways_camera_the_floor_where_she_stands():
    """indoor-dynamic s120: a person walking against a sideways camera moves along its epipolar lines, so the flow
    checks do not flag her and stage 1 puts her at ~0.6 of her depth. ``path_near`` / ``path_near_foot`` reach the
    movers only for a camera moving along its view; ``movers_side_near`` runs them for one that does not, with every
    column beside the (absent) path: the person standing on the floor, 0.5× the floor at her feet, takes that floor's
    depth, while a static box at its contact's depth, the floor and the far wall keep theirs."""
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings

    floor, _ = _floor()  # horizon at row 60, 120×160
    t = 6
    rng = np.random.default_rng(5)
    frames = np.repeat(rng.integers(0, 255, (1, 120, 160, 3), dtype=np.uint8), t, axis=0)  # a still camera
    depth = floor.copy()
    depth[:60] = 12.0  # the far wall
    person = np.zeros(floor.shape, bool)
    person[62:95, 72:92] = True  # stands at row 94 across the principal point's column (80)
    depth[person] = 0.5 * floor[94, 82] * rng.uniform(0.97, 1.03, person.sum())
    box = np.zeros(floor.shape, bool)
    box[70:100, 20:40] = True  # static, at its contact's depth
    depth[box] = floor[99, 30]
    scene = _wall_scene(np.repeat(depth[None], t, axis=0))
    cpu = preset_config("cpu").stage1
    off, on = mover_settings(cpu, ahead=False), mover_settings(replace(cpu, movers_side_near=0.3), ahead=False)
    assert (off.path_near, off.path_side, on.path_near, on.path_side, on.path_contact) == (0, False, 0.3, True, 0)
    assert on.path_confidence == 1.0  # as the other mover pixels (``movers_path_confidence``: the car ahead's)
    assert mover_settings(replace(cpu, movers_side_near=0.3), ahead=True) == mover_settings(cpu, ahead=True)
    assert GeometricConfig().movers_side_near == 0 and cpu.movers_side_near == 0  # an option, off
    with pytest.raises(ValueError, match="movers_side_near"):
        GeometricConfig(movers_side_near=1.0).validate()
    base = replace(MoverSettings(), path_near_foot=True)
    before, _ = handle_movers(frames, scene, replace(base, path_near=0.3))  # no path step for a still camera
    np.testing.assert_array_equal(before.depth, scene.depth)
    after, _ = handle_movers(frames, scene, replace(base, path_near=0.3, path_side=True))
    given = np.asarray(after.depth) != scene.depth
    assert given[:, person].mean() > 0.9 and not given[:, ~person].any()
    np.testing.assert_allclose(np.asarray(after.depth)[given], floor[94, 82], rtol=0.07)


def _cabinet_scene(left: int, rng: np.random.Generator) -> tuple:
    """A still camera's frame over ``_floor`` (120×160, horizon at row 60; a far wall above it): a person standing at
    row 94 in columns ``left``…``left + 19`` at 0.5× the floor there, a static cabinet front standing at row 100
    (columns 90–149) at its contact's depth, and a patch of it (rows 70–85, columns 110–129) 0.8× nearer (noise).
    Returns the floor, the depth, the person's and the patch's masks, the ground plane and its pixels, and
    ``path_side`` settings."""
    from stereodiff.stage1.movers.ground import ground_pixels

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros(floor.shape, bool)
    person[62:95, left : left + 20] = True
    depth[person] = 0.5 * floor[94, left + 10] * rng.uniform(0.97, 1.03, person.sum())
    cabinet = np.zeros(floor.shape, bool)
    cabinet[62:101, 90:150] = True
    depth[cabinet] = floor[100, 120]
    patch = np.zeros(floor.shape, bool)
    patch[70:86, 110:130] = True
    depth[patch] = 0.8 * floor[100, 120]
    settings = replace(MoverSettings(), path_near=0.3, path_near_foot=True, path_side=True)
    ground = ground_depth(depth, (depth > 0) & ~person & ~cabinet, settings)
    assert ground is not None
    return floor, depth, person, patch, ground, ground_pixels(depth, ground, settings), settings


def test_side_beside_keeps_a_static_surface_whose_depth_steps_farther_mid_surface():
    """7-Scenes: on a static cabinet front, a patch stage 1 put nearer than the front (noise) ends where the depth
    steps farther, and the floor shows within ``contact_rows`` under the cabinet: ``path_side`` takes it as an object
    standing there and pushes it to the floor at its lowest row, twice too far. With ``side_beside`` an object must
    show the floor left and right of its lowest pixels: the patch (cabinet beside it) keeps its depth, the person
    (floor beside her feet) still takes the floor's."""
    from stereodiff.stage1.movers.path import path_contact

    floor, depth, person, patch, ground, on_ground, settings = _cabinet_scene(20, np.random.default_rng(6))
    _, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert given[person].mean() > 0.9 and given[patch].mean() > 0.9  # path_side alone: both
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, side_beside=True))
    assert given[person].mean() > 0.9 and not given[~person].any()
    np.testing.assert_allclose(out[given], floor[94, 30], rtol=0.07)
    assert not MoverSettings().side_beside and not preset_config("cpu").stage1.movers_side_beside  # an option, off


def test_side_out_keeps_a_static_surface_patch_whose_neighbours_are_as_near_as_it():
    """7-Scenes: a patch of a cabinet front that stage 1 put nearer than the front, ending where the depth steps
    farther, reads to ``path_side`` as an object standing on the floor seen under the cabinet, and takes the floor's
    depth there. With ``side_out`` an object gives its contact only when the scene beside it (a strip on either
    side, over its rows) lies at least that multiple of the contact: the person (the farther floor and the wall beside
    her) still takes the floor's depth, the patch (the cabinet beside it, nearer than the contact) keeps its own,
    also with the person moved next to the cabinet (one side standing out is enough)."""
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.path import path_contact

    rng = np.random.default_rng(7)
    for left in (20, 68):  # the person alone, and right beside the cabinet
        floor, depth, person, patch, ground, on_ground, settings = _cabinet_scene(left, rng)
        _, given = path_contact(depth, ground, on_ground, 80.0, settings)
        assert given[person].mean() > 0.9 and given[patch].mean() > 0.9  # path_side alone: both
        out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, side_out=1.0))
        assert given[person].mean() > 0.9 and not given[~person].any()
        np.testing.assert_allclose(out[given], floor[94, left + 10], rtol=0.07)
    cpu = preset_config("cpu").stage1
    assert GeometricConfig().movers_side_out == 0 and cpu.movers_side_out == 0  # an option, off
    assert mover_settings(cpu).side_out == 0 and not MoverSettings().side_out
    guarded = replace(cpu, movers_side_near=0.3, movers_side_out=1.0)
    assert mover_settings(guarded).side_out == 1.0 and mover_settings(guarded, ahead=True) == mover_settings(
        cpu, ahead=True
    )
    assert mover_settings(replace(cpu, movers_side_out=1.0)).side_out == 0  # only with movers_side_near
    with pytest.raises(ValueError, match="movers_side_out"):
        GeometricConfig(movers_side_out=-1.0).validate()


def _standing_person(feet: int, blended: int, rng: np.random.Generator) -> tuple:
    """A still camera's frame over ``_floor`` (120×160, horizon at row 60, a far wall above it): a person in columns
    60–79 from row 62 down to row ``feet`` at 0.5× the floor there; under her first ``blended`` columns the floor
    down to the image bottom at her depth (her flow blended into it, off the plane). Returns the floor, the depth,
    her mask, the ground plane and its pixels, and ``path_side`` settings (``side_out`` 1)."""
    from stereodiff.stage1.movers.ground import ground_pixels

    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros(floor.shape, bool)
    person[62 : feet + 1, 60:80] = True
    value = 0.5 * floor[feet, 70]
    depth[person] = value * rng.uniform(0.97, 1.03, person.sum())
    depth[feet + 1 :, 60 : 60 + blended] = value * rng.uniform(0.97, 1.03, (119 - feet, blended))
    settings = replace(MoverSettings(), path_near=0.3, path_near_foot=True, path_side=True, side_out=1.0)
    ground = ground_depth(depth, (depth > 0) & ~person, settings)
    assert ground is not None
    return floor, depth, person, ground, ground_pixels(depth, ground, settings), settings


def test_side_bottom_finds_a_person_whose_feet_stand_in_the_bottom_border_band():
    """indoor-dynamic s170: a person triangulated at 0.32–0.44× her depth stands with her feet at rows 231–235 of
    240, the floor seen under them in the last rows; ``path_side``'s two finders stop ``border_px`` (8 at 320) above
    the image bottom, so neither finds her. With ``side_bottom`` they scan to the last row: she takes the floor's
    depth at her feet; a person standing above the band is found either way."""
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.path import path_contact

    rng = np.random.default_rng(8)
    floor, depth, person, ground, on_ground, settings = _standing_person(116, 0, rng)  # band: rows 116-119 at 160
    _, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert not given.any()
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, side_bottom=True))
    assert given[person].mean() > 0.9 and not given[~person].any()
    np.testing.assert_allclose(out[given], floor[117, 70], rtol=0.07)
    floor, depth, person, ground, on_ground, settings = _standing_person(100, 0, rng)
    for bottom in (False, True):
        out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, side_bottom=bottom))
        assert given[person].mean() > 0.9 and not given[~person].any()
    cpu = preset_config("cpu").stage1
    assert not GeometricConfig().movers_side_bottom and not cpu.movers_side_bottom  # an option, off
    on = replace(cpu, movers_side_near=0.3, movers_side_bottom=True)
    assert mover_settings(on).side_bottom and not mover_settings(replace(cpu, movers_side_bottom=True)).side_bottom
    assert mover_settings(on, ahead=True) == mover_settings(cpu, ahead=True)  # a camera with a path: unchanged


def test_side_grow_gives_the_floor_to_the_whole_person_when_only_some_columns_see_it_under_her_feet():
    """indoor-dynamic s170: the floor under half of a too-near person's feet is triangulated with her flow, off the
    plane, so ``path_side`` finds her contact only in the other half of her columns and gives the floor's depth to
    those alone. With ``side_grow`` the pixels connected to them at her depth take it too; the wall and the floor
    keep theirs, and so do pixels the other mover rules gave a depth (a cut person joined with her in one mover region
    holds the region's value, about hers: indoor-dynamic s153)."""
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.ground import ground_pixels
    from stereodiff.stage1.movers.path import path_contact

    floor, depth, person, ground, on_ground, settings = _standing_person(100, 10, np.random.default_rng(9))
    _, given = path_contact(depth, ground, on_ground, 80.0, settings)
    assert 0.3 < given[person].mean() < 0.7
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, side_grow=True))
    assert given[person].mean() > 0.95
    assert not given[:, :60].any() and not given[:, 80:].any() and not given[:60].any()
    np.testing.assert_allclose(out[person], floor[101, 75], rtol=0.07)
    joined = np.zeros(person.shape, bool)  # a region at her depth beside her, no floor seen under it
    joined[62:101, 55:60] = True
    depth[62:101, 55:60], depth[101:, 55:60] = depth[62:101, 70:75], 0.0
    on_ground = ground_pixels(depth, ground, settings)
    grown = replace(settings, side_grow=True)
    _, given = path_contact(depth, ground, on_ground, 80.0, grown)
    assert given[person].mean() > 0.95 and given[joined].all()
    _, given = path_contact(depth, ground, on_ground, 80.0, grown, handled=joined)  # other rules gave it a depth
    assert given[person].mean() > 0.95 and not given[joined].any()
    cpu = preset_config("cpu").stage1
    assert not GeometricConfig().movers_side_grow and not cpu.movers_side_grow  # an option, off
    assert mover_settings(replace(cpu, movers_side_near=0.3, movers_side_grow=True)).side_grow
    assert not mover_settings(replace(cpu, movers_side_grow=True)).side_grow  # only with movers_side_near


def test_side_cut_bounds_a_person_cut_by_the_image_bottom_by_the_floor_at_the_last_row():
    """Fresh indoor-dynamic s239: a near person walking against a sideways camera, triangulated at 0.35× her depth,
    runs off the image bottom; the floor seen beside her cut-off leg lies behind her, and ``path_side`` with
    ``side_grow`` gives that floor's depth to all of her (1.5–2.7× raw). With ``side_cut`` an object that, with the
    pixels connected to it at its depth, reaches the image's last row takes at most the floor at that row under it
    (she stands nearer than it); a person whose feet stand above the last row still takes the floor at her feet."""
    from stereodiff.stage1.configs import GeometricConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.ground import ground_pixels
    from stereodiff.stage1.movers.path import path_contact

    rng = np.random.default_rng(10)
    floor, _ = _floor()
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros(floor.shape, bool)
    person[62:100, 60:80] = True
    person[100:, 60:67] = True  # one leg down to the last row: her feet are below the image
    value = 0.5 * floor[119, 63]  # nearer than any floor seen in her columns
    depth[person] = value * rng.uniform(0.97, 1.03, person.sum())
    settings = replace(MoverSettings(), path_near=0.3, path_near_foot=True, path_side=True, side_out=1.0)
    ground = ground_depth(depth, (depth > 0) & ~person, settings)
    assert ground is not None
    on_ground = ground_pixels(depth, ground, settings)
    grown = replace(settings, side_grow=True, side_bottom=True)
    out, given = path_contact(depth, ground, on_ground, 80.0, grown)
    assert given[person].mean() > 0.9 and np.median(out[person]) > 1.4 * floor[119, 63]  # behind the last row
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(grown, side_cut=True))
    assert given[person].mean() > 0.9 and not given[~person].any()
    np.testing.assert_allclose(out[given], floor[119, 63], rtol=0.07)  # the floor at the last row under her leg
    floor, depth, person, ground, on_ground, settings = _standing_person(100, 0, rng)  # her feet seen at row 100
    out, given = path_contact(depth, ground, on_ground, 80.0, replace(settings, side_grow=True, side_cut=True))
    assert given[person].mean() > 0.9 and not given[~person].any()
    np.testing.assert_allclose(out[given], floor[101, 70], rtol=0.07)
    cpu = preset_config("cpu").stage1
    assert not GeometricConfig().movers_side_cut and not cpu.movers_side_cut  # an option, off
    assert mover_settings(replace(cpu, movers_side_near=0.3, movers_side_cut=True)).side_cut
    assert not mover_settings(replace(cpu, movers_side_cut=True)).side_cut  # only with movers_side_near


def test_cut_margin_finds_a_person_cut_by_the_image_bottom_beside_off_plane_floor_at_the_border():
    """indoor-dynamic s125: a person walking along with a sideways camera at the image's left border, cut by the
    image bottom and triangulated beyond the floor; the floor between her legs and the image border is triangulated
    with her flow, off the plane (1.4–1.8×), so the plane holds less than ``CUT_GROUND_SHARE`` of the bottom rows
    beside her and ``underground_cut`` never finds her. With ``cut_margin`` the columns next to the ones she reaches
    are not counted; a region beyond the ground with off-plane floor far from it is still not found."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.ground import CUT, underground

    floor, _ = _floor()  # 120×160, horizon at row 60
    depth = floor.copy()
    depth[:60] = 12.0
    depth[80:, 10:31] = 11.0  # the person, cut by the image bottom, beyond the floor at her rows ≥ 87
    depth[100:, 8:10] = 0.0  # holes beside her legs
    depth[100:, :8] = 1.6 * floor[100:, :8]  # the floor at the border, dragged off the plane by her flow
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    cut = MoverSettings(underground_cut=True)
    person = np.zeros(floor.shape, bool)
    person[100:, 12:29] = True
    assert not (underground(depth, ground, cut) == CUT)[person].any()  # 129 of 137 columns beside her: < 95 %
    assert (underground(depth, ground, replace(cut, cut_margin=20.0)) == CUT)[person].all()
    far = depth.copy()
    far[100:, 120:128] = 1.6 * floor[100:, 120:128]  # off-plane floor 90 columns away: not the person's doing
    far[100:, :10] = floor[100:, :10]
    assert not (underground(far, ground, replace(cut, cut_margin=20.0)) == CUT)[person].any()
    assert mover_settings(GeometricConfig(movers_cut_margin=20.0)).cut_margin == 20.0
    assert GeometricConfig().movers_cut_margin == 0 and preset_config("cpu").stage1.movers_cut_margin == 10
    preset = replace(cut, cut_margin=preset_config("cpu").stage1.movers_cut_margin)  # 5 px at 160: cols 5–9 left out
    assert (underground(depth, ground, preset) == CUT)[person].all()
    assert not (underground(far, ground, preset) == CUT)[person].any()
    with pytest.raises(ValueError, match="movers_cut_margin"):
        GeometricConfig(movers_cut_margin=-1.0).validate()


def test_cut_holes_finds_a_person_cut_by_the_image_bottom_above_untriangulated_last_rows():
    """indoor-dynamic s522, frames 61–63: a person walking along with the sideways camera, cut by the image bottom
    and triangulated beyond the floor, but stage 1 left the image's lowest rows holes (the last frames' pairs), so her
    region beyond the ground ends a few rows above the bottom and ``underground_cut`` no longer finds her (in frames
    46–60 it did). With ``cut_holes`` a column where she ends within that many rows of the bottom with only holes
    under her reaches it; a region with triangulated floor under it, or ending higher, is still not found."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.ground import CUT, underground

    floor, _ = _floor()  # 120×160, horizon at row 60
    depth = floor.copy()
    depth[:60] = 12.0
    depth[80:, 30:51] = 11.0  # the person, cut by the image bottom, beyond the floor at her rows ≥ 87
    depth[117:, :100] = 0.0  # the lowest 3 rows untriangulated under and beside her (the plane holds the rest)
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    cut = MoverSettings(underground_cut=True)
    person = np.zeros(floor.shape, bool)
    person[90:117, 32:49] = True
    assert not (underground(depth, ground, cut) == CUT)[person].any()  # ends 3 rows above the bottom: not found
    holes = replace(cut, cut_holes=8.0)  # 4 rows at 160
    assert (underground(depth, ground, holes) == CUT)[person].all()
    assert not (underground(depth, ground, replace(cut, cut_holes=2.0)) == CUT)[person].any()  # 1 row: too short
    seen = depth.copy()
    seen[117:, 28:53] = floor[117:, 28:53]  # the floor triangulated under her: she ends above it, standing
    assert not (underground(seen, ground, holes) == CUT)[person].any()
    high = depth.copy()
    high[105:117, 30:51] = 0.0  # her legs a hole too: she ends 15 rows above the bottom
    assert not (underground(high, ground, holes) == CUT)[:105][person[:105]].any()
    assert mover_settings(GeometricConfig(movers_cut_holes=8.0)).cut_holes == 8.0
    assert GeometricConfig().movers_cut_holes == 0 and preset_config("cpu").stage1.movers_cut_holes == 8
    with pytest.raises(ValueError, match="movers_cut_holes"):
        GeometricConfig(movers_cut_holes=-1.0).validate()


def test_cut_skip_beyond_gives_a_cut_person_triangulated_too_far_with_a_gradient_the_last_row_bound():
    """indoor-dynamic s607: a person walking along with a sideways camera, cut by the image bottom, is triangulated
    too far with a vertical gradient (near her true depth at her lowest rows, farther up), nearer than the floor
    behind her at every row, so the beyond-the-ground test never passes and her flagged region kept its phantom.
    With ``cut_skip_beyond`` a triangulated cut region skips that test and takes the floor at the last row when
    that bound binds and it is not mostly floor; a region standing on seen floor, one nearer than the bound, and
    flagged floor keep their depth; a region ending above the bottom over holes is cut when the rows reach it."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # 120×160, horizon at row 60; the ground at the last row ≈ 3.8, at row 100 ≈ 5.6
    depth = floor.copy()
    depth[:60] = 12.0
    rows = np.arange(120, dtype=np.float32)[:, None]
    phantom = np.broadcast_to(3.3 + 6.0 * (116.0 - rows) / 76.0, (120, 160))  # 9.3 at row 40 → 3.3 at row 116
    person = np.zeros(floor.shape, bool)
    person[40:116, 60:90] = True  # flagged, triangulated, down into the segmentation's bottom margin (7 rows)
    depth[person] = phantom[person]
    depth[116:, 60:90] = 0.0  # the rows under her: holes
    standing = np.zeros(floor.shape, bool)
    standing[40:95, 110:130] = True  # the same gradient, floor seen under it: its contact, not the last row
    depth[standing] = phantom[standing]
    near = np.zeros(floor.shape, bool)
    near[70:116, 10:30] = True  # cut, but stage 1 put it nearer than the floor at the last row: nothing to bound
    depth[near] = 2.5
    depth[116:, 10:30] = 0.0
    mat = np.zeros(floor.shape, bool)
    mat[100:, 135:155] = True  # flagged floor down to the last row, at the floor's depth
    flagged = person | standing | near | mat
    ground = ground_depth(depth, (depth > 0) & ~flagged, MoverSettings())
    assert ground is not None
    base = MoverSettings(cut_last_row=True)
    old, handled = mover_depth(depth, flagged, ground, base)
    assert not handled.any()  # no region lies beyond the ground by 30 %: all kept their depth
    new, handled_new = mover_depth(depth, flagged, ground, replace(base, cut_skip_beyond=11.0))  # 6 rows at 160
    assert handled_new[person].all()
    np.testing.assert_allclose(new[person], floor[119, 75], rtol=0.02)  # the ground at the last row
    assert not handled_new[standing | near | mat].any()
    np.testing.assert_array_equal(new[~person], old[~person])
    # a person ending 11 rows above the bottom over holes: cut through them when the rows reach that far
    high = depth.copy()
    high[109:116, 60:90] = 0.0
    person_high = person & (rows < 109)
    moving = person_high | standing | near | mat
    _, short = mover_depth(high, moving, ground, replace(base, cut_skip_beyond=11.0))
    assert not short[person_high].any()
    _, reach = mover_depth(high, moving, ground, replace(base, cut_skip_beyond=24.0))  # 12 rows at 160
    assert reach[person_high].all() and not reach[standing | near | mat].any()
    assert mover_settings(GeometricConfig(movers_cut_skip_beyond=11.0)).cut_skip_beyond == 11.0
    assert mover_settings(GeometricConfig(movers_cut_skip_beyond=11.0), ahead=True).cut_skip_beyond == 0.0
    assert GeometricConfig().movers_cut_skip_beyond == 0 and preset_config("cpu").stage1.movers_cut_skip_beyond == 11
    with pytest.raises(ValueError, match="movers_cut_skip_beyond"):
        GeometricConfig(movers_cut_skip_beyond=-1.0).validate()


def test_up_run_gives_a_person_walking_with_a_sideways_camera_her_contact_up_to_her_head():
    """indoor-dynamic s125: the person walks along with the sideways camera, so stage 1 puts all of her ~2.5× too
    far, smoothly up her body; the ground tests find only her lower body (beyond the floor at its rows), which gets
    its contact. ``up_run`` gives the contact to her upper body too (but for a few columns at her sides), above the
    horizon up to her head, and stops at the far wall above her head (a depth step), at ``UP_RUN_HEIGHT`` camera
    heights, and in columns where the region holds floor flagged beside her; a region about at its contact's depth
    is not extended, nor one the flow found above the horizon."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # 120×160, the plane from row 61: 40 rows a camera height at row 100
    depth = floor.copy()
    depth[:60] = 30.0  # the far wall
    person = np.zeros(floor.shape, bool)
    person[48:101, 60:80] = True  # stands at row 100, 1.3 camera heights tall
    contact = float(floor[100, 70])
    rows = np.arange(120, dtype=np.float32)[:, None]
    depth[48:101, 60:80] = (2.5 - 0.004 * (100 - rows[48:101])) * contact  # 2.5× at her feet, 2.3× at her head
    depth[60:70, 66:70] = 0.0  # holes in her body
    tall = np.zeros(floor.shape, bool)
    tall[10:101, 100:110] = True  # a far surface running smoothly up to the image top above a found blob
    depth[tall] = 2.4 * float(floor[100, 105])
    flagged = (person | tall) & (rows >= 88)  # beyond the floor at their own rows
    flagged[95:101, 80:86] = True  # floor flagged beside her feet
    ground = ground_depth(depth, (depth > 0) & ~person & ~tall, MoverSettings())
    assert ground is not None
    settings = MoverSettings()
    out, handled = mover_depth(depth, flagged, ground, settings)
    assert handled[flagged].all() and not handled[person & ~flagged].any()  # old: the upper body keeps 2.3–2.5×
    out, handled = mover_depth(depth, flagged, ground, replace(settings, up_run=2.0))
    inner = person.copy()
    inner[:, 60:63] = inner[:, 77:80] = False  # UP_RUN_TRIM_PX (3 px at 160) at her sides: blended with the scenery
    np.testing.assert_allclose(out[inner], contact, rtol=0.03)  # all of her, holes and head above the horizon too
    np.testing.assert_array_equal(out[(person & ~inner) & (rows < 88)], depth[(person & ~inner) & (rows < 88)])
    np.testing.assert_array_equal(out[:48, 60:80], 30.0)  # the wall above her head
    column = tall.copy()
    column[:, 100:103] = column[:, 107:110] = False
    assert handled[column & (rows > 41)].all() and not handled[column & (rows <= 41)].any()  # 1.5 camera heights
    np.testing.assert_array_equal(out[:95, 80:86], depth[:95, 80:86])  # above the flagged floor: kept
    np.testing.assert_array_equal(out[~(person | tall | flagged)], depth[~(person | tall | flagged)])
    near = depth.copy()
    near[person] = 1.5 * contact  # beyond the ground at her feet, but not twice her contact
    out, handled = mover_depth(near, flagged, ground, replace(settings, up_run=2.0))
    assert handled[person & flagged].all() and not handled[person & ~flagged].any()
    whole = flagged | person  # the flow found all of her, up above the horizon: nothing above her to take
    out, handled = mover_depth(depth, whole, ground, replace(settings, up_run=2.0))
    assert not handled[:48, 60:80].any()
    config = GeometricConfig(movers_side_up=2.0)
    assert mover_settings(config).up_run == 2.0 and mover_settings(config, ahead=True).up_run == 0
    assert GeometricConfig().movers_side_up == 0 and preset_config("cpu").stage1.movers_side_up == 2.0  # cpu: on
    with pytest.raises(ValueError, match="movers_side_up"):
        GeometricConfig(movers_side_up=0.5).validate()


def test_up_beside_gives_a_phantom_upper_body_her_depth_up_to_where_it_looks_like_the_scene_beside_her():
    """indoor-dynamic s522 / s607: a person cut by the image bottom walks along with the sideways camera, so stage 1
    puts her at a far phantom (here 1.8× her contact: ``up_run`` wants 2×), smooth up her body; only her lower body,
    beyond the floor, is flagged and given her contact. ``up_beside`` gives it to the run above her flagged part in
    her columns (but for a few at her sides) while stage 1 puts it beyond the contact, continuous with the pixel
    below and away from the static depth beside her in that row by more than the fraction: up to her head, not the
    wall above it (continuous with her head, but what lies beside her there). An upper body 10 % off the wall beside
    it, a region about at its contact's depth, one not cut by the image bottom (TUM's static false flags) and the
    option off take nothing above the flagged part."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # 120×160, the plane from row 61
    depth = floor.copy()
    person = np.zeros(floor.shape, bool)
    person[30:, 60:80] = True  # cut by the image bottom
    contact = float(floor[119, 70])
    rows = np.arange(120, dtype=np.float32)[:, None]
    depth[30:, 60:80] = (1.8 - 0.001 * (119 - rows[30:])) * contact  # 1.8× at the bottom row, 1.71× at her head
    head = float(depth[30, 70])
    depth[:60] = np.where(person[:60], depth[:60], 1.25 * head)  # the far wall: continuous with her head (< 30 %)
    depth[50:55, 66:70] = 0.0  # holes in her body
    flagged = person & (rows >= 75)  # beyond the floor at their own rows
    ground = ground_depth(depth, (depth > 0) & ~person, MoverSettings())
    assert ground is not None
    settings = MoverSettings()
    out, handled = mover_depth(depth, flagged, ground, settings)
    assert handled[flagged].all() and not handled[person & ~flagged].any()  # off: the upper body keeps 1.7–1.8×
    on = replace(settings, up_beside=0.15)
    out, handled = mover_depth(depth, flagged, ground, on)
    inner = person.copy()
    inner[:, 60:63] = inner[:, 77:80] = False  # UP_RUN_TRIM_PX (3 px at 160) at her sides
    np.testing.assert_allclose(out[inner], contact, rtol=0.03)  # all of her, the holes and her head too
    np.testing.assert_array_equal(out[(person & ~inner) & (rows < 75)], depth[(person & ~inner) & (rows < 75)])
    np.testing.assert_array_equal(out[:30], depth[:30])  # the wall above her head: what lies beside her there
    np.testing.assert_array_equal(out[~(person | flagged)], depth[~(person | flagged)])
    alike = depth.copy()
    alike[:60] = np.where(person[:60], alike[:60], 1.1 * head)  # the wall beside her upper body only 10 % off it
    out, handled = mover_depth(alike, flagged, ground, on)
    assert handled[inner & (rows >= 60)].all() and not handled[person & (rows < 60)].any()
    near = depth.copy()
    near[person] = 1.2 * contact  # about at its contact: no phantom
    assert not mover_depth(near, flagged, ground, on)[1][person & ~flagged].any()
    standing = np.where(rows < 60, 1.25 * head, floor)  # standing on the floor seen under her: not cut
    standing[30:101, 60:80] = 1.8 * float(floor[100, 70])
    ground = ground_depth(standing, (standing > 0) & ~person, MoverSettings())
    out, handled = mover_depth(standing, flagged & (rows <= 100), ground, on)
    assert handled[flagged & (rows <= 100)].all() and not handled[person & (rows < 75)].any()
    config = GeometricConfig(movers_up_beside=0.15)
    assert mover_settings(config).up_beside == 0.15 and mover_settings(config, ahead=True).up_beside == 0
    assert GeometricConfig().movers_up_beside == 0 and preset_config("cpu").stage1.movers_up_beside == 0.15
    with pytest.raises(ValueError, match="movers_up_beside"):
        GeometricConfig(movers_up_beside=1.5).validate()


def test_split_feet_gives_the_farther_of_two_joined_people_the_ground_under_her_own_feet():
    """Two people one behind the other, flagged and untriangulated, joined in one mover region: the region takes the
    ground under its lowest pixels, the nearer one's feet. With ``split_feet`` the columns of the farther one, whose
    feet stand on ground seen well above the region's lowest row, take the ground there; the nearer one keeps its
    contact, and a gap between one person's legs (floor seen under it, lower columns on both sides) is not split."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()  # horizon at row 60, 120×160
    depth = floor.copy()
    depth[:60] = 12.0
    near = np.zeros(floor.shape, bool)
    near[30:100, 40:70] = True  # feet at row 99
    far = np.zeros(floor.shape, bool)
    far[45:75, 70:100] = True  # beside and behind it, feet at row 74, floor seen under them
    legs = np.zeros(floor.shape, bool)
    legs[30:100, 120:150] = True
    legs[70:100, 130:140] = False  # one person whose legs stand apart: floor seen between them
    for flagged in (near, far, legs):
        depth[flagged] = 0.0
    ground = ground_depth(depth, depth > 0, MoverSettings())
    assert ground is not None
    moving = near | far | legs
    old, handled = mover_depth(depth, moving, ground, MoverSettings())
    np.testing.assert_allclose(old[far], floor[99, 85], rtol=0.03)  # the nearer one's contact
    splits: list = []
    new, handled_new = mover_depth(depth, moving, ground, MoverSettings(split_feet=12.0), splits=splits)
    np.testing.assert_allclose(new[far], floor[75, 85], rtol=0.05)  # the ground under her own feet
    assert (new[far] > 1.5 * old[far]).all()
    np.testing.assert_array_equal(new[near], old[near])
    np.testing.assert_array_equal(new[legs], old[legs])  # the gap between the legs is flanked: not split
    np.testing.assert_array_equal(handled_new, handled)
    assert len(splits) == 1 and splits[0][0].sum() == far.sum()


def test_the_sway_cues_apparent_motion_takes_the_looming_of_the_derotated_flow():
    """``cut_sway``'s ``m = (a_u / f, a_v / f, −b)`` holds for the derotated flow: a panning, tilting camera (yaw
    1°, pitch 0.5° a frame) adds its own vertical image scale to the raw flow (``2 ω_x y − ω_y x``), as large as the
    looming of a mover 2 m away. The exact flow of a mover region cut by the image bottom, right of the image centre,
    moving parallel to the ground (the camera looks 10° down) while the camera sways 4 mm along the ground's normal:
    ``n·m`` comes out within 2 % of ``n·t' / z`` with the slope of the derotated flow; with the raw flow's slope (the
    measurement before) it is off by more than a third."""
    from stereodiff.camera import pinhole
    from stereodiff.robust import theil_sen
    from stereodiff.stage1.movers.sway import apparent_motion

    K = pinhole(150.0, (120, 160))
    v, u = np.mgrid[50:120, 100:150].astype(np.float64)
    pixels = np.stack([u.ravel(), v.ravel()], axis=1)  # [N,2]
    points = 2.0 * (np.linalg.inv(K) @ np.concatenate([pixels.T, np.ones((1, len(pixels)))]))  # [3,N] at z = 2
    yaw, pitch, tilt = np.radians(1.0), np.radians(0.5), np.radians(10.0)
    R = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]]) @ np.array(
        [[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]]
    )
    normal = np.array([0.0, np.cos(tilt), np.sin(tilt)])  # the ground's normal in camera a's axes
    ahead = np.array([0.0, -np.sin(tilt), np.cos(tilt)])  # along the ground, away from the camera
    sideways = np.array([1.0, 0.0, 0.0])
    shift = 0.01 * sideways + 0.004 * ahead + 0.004 * normal  # t' = Rᵀ t, frame a's axes
    motion = 0.03 * sideways + 0.012 * ahead  # the mover's, along the ground
    moved = R @ (points + (motion + shift)[:, None])  # [3,N] in camera b
    target = ((K @ moved)[:2] / (K @ moved)[2:]).T  # [N,2]
    m = apparent_motion(pixels, target, R, K, np.random.default_rng(0), 10.0)
    assert m is not None
    np.testing.assert_allclose(normal @ m, 0.004 / 2.0, rtol=0.02)
    rows = pixels[:, 1]  # the measurement before: the slope of the raw vertical flow
    raw = theil_sen(rows, target[:, 1] - rows, np.random.default_rng(0), 10.0)
    derotated = (K @ R.T @ np.linalg.inv(K) @ np.concatenate([target.T, np.ones((1, len(target)))])).T
    derotated = derotated[:, :2] / derotated[:, 2:]
    a_u, a_v = np.median(derotated - pixels - raw * (pixels - K[:2, 2]), axis=0)
    before = normal @ np.array([a_u / K[0, 0], a_v / K[1, 1], -raw])
    assert abs(before / (0.004 / 2.0) - 1.0) > 1 / 3


def test_the_sway_cue_takes_the_ground_fitted_on_an_unchanged_frame_and_only_there():
    """``SwayInputs.source`` / ``SharedFindings.normals``: a frame whose static pixels and their depth are still the
    input's takes the normal of the plane the runner fitted there with the same mover mask (bit for bit what
    fitting again gives); a normal given for it is taken as is (None: no sway depth), but not for a frame whose
    static depth changed since, nor one fitted with another mover mask."""
    from stereodiff.stage1.movers.shared import SharedFindings
    from stereodiff.stage1.movers.sway import SwayInputs, ground_normal
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, _, focal = _swaying_camera_and_sliding_box(0.1)
    settings = MoverSettings(cut_track=32, cut_sway=0.04)
    focals = np.full(len(grey), focal)

    def run(source=None, shared=None, first=0, frames=slice(None)):
        out = depth[frames].copy()
        sway = SwayInputs(moving[frames], focals[frames], settings, None, source)
        given = track_cut_depth(grey[frames], out, moving[frames], 32, 7, first=first, shared=shared, sway=sway)
        return given, out

    def fitted(normals, masks=moving):  # the runner's fits, as it stores them
        shared = SharedFindings()
        shared.normals = {k: (np.packbits(masks[k]), normal) for k, normal in normals.items()}
        return shared

    plain = run()
    assert plain[0].any()  # the sway gave the box its depth
    K = pinhole(focal, depth.shape[1:])
    planes = [ground_depth(depth[k], (depth[k] > 0) & ~moving[k], settings, seed=k) for k in range(len(grey))]
    fits = {k: None if plane is None else ground_normal(plane, K) for k, plane in enumerate(planes)}
    for got, expected in zip(run(depth.copy(), fitted(fits)), plain):
        np.testing.assert_array_equal(got, expected)
    nothing = dict.fromkeys(fits)  # taken as is: no ground, no normal, the bound stays
    assert not run(depth.copy(), fitted(nothing))[0].any()
    for got, expected in zip(run(depth.copy(), fitted(nothing, ~moving)), plain):  # another mask: fitted again
        np.testing.assert_array_equal(got, expected)
    changed = depth.copy()
    for k in range(len(grey)):
        y, x = np.argwhere((depth[k] > 0) & ~moving[k])[0]
        changed[k, y, x] *= 1.5  # one static pixel differs from the frame's depth: fitted again
    for got, expected in zip(run(changed, fitted(nothing)), plain):
        np.testing.assert_array_equal(got, expected)
    shared = SharedFindings()  # the next block takes the normals of the overlap's unchanged frames
    shared.block(0, 4)
    run(depth.copy(), shared)
    assert len(shared.normals) >= 8 and min(shared.normals) == 4  # the measured frames from the overlap on
    later = slice(4, None)
    shared.block(4, len(grey))
    for got, expected in zip(run(depth[4:].copy(), shared, 4, later), run(frames=later, first=4)):
        np.testing.assert_array_equal(got, expected)
    shared.normals = {k: (bits, None) for k, (bits, _) in shared.normals.items()}  # taken as is: no sway depth
    assert not run(depth[4:].copy(), shared, 4, later)[0].any()


def test_a_regions_box_gives_its_pixels_in_order_and_whether_it_reaches_the_bottom():
    """``_region_in_box`` / ``_reaches_bottom`` / ``_may_link`` (track_cut_depth's per-region steps) against the
    whole-image masks they replace."""
    import cv2

    from stereodiff.stage1.movers.tracking import _may_link, _reaches_bottom, _region_in_box

    rng = np.random.default_rng(3)
    mask = cv2.dilate((rng.random((48, 64)) > 0.985).astype(np.uint8), np.ones((5, 3), np.uint8))
    mask[40:, 10:14] = 1  # one region reaching the bottom rows
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    values = rng.random((48, 64))
    assert len(stats) > 5
    for label in range(1, len(stats)):
        box, region = _region_in_box(labels, stats, label)
        np.testing.assert_array_equal(values[box][region], values[labels == label])
        for margin in (0, 1, 3, 8, 60):
            assert _reaches_bottom(stats[label], 48, margin) == bool((labels == label)[-margin:].any())
    assert not _may_link(stats, 1.0)  # every region under 50 px or 21 rows
    assert _may_link(np.array([[0, 0, 64, 48, 0], [0, 0, 10, 21, 60]]), 1.0)
    assert not _may_link(np.array([[0, 0, 64, 48, 0], [0, 0, 10, 20, 60]]), 1.0)


def test_up_holes_gives_a_given_persons_unflagged_head_her_depth_not_a_doorway_or_the_wall():
    """indoor-dynamic s690: a walking person is a stage-1 hole; the flow checks flag her body and the rules give it a
    depth, but not her head and shoulders above it, which stay a hole the stage-2 fill takes from the wall. With
    ``up_holes`` the run of unflagged holes straight above the given region in its columns (but for a few at its
    sides) takes the region's depth when it ends at the static wall within the fraction of the region's height, less
    its top rows coloured like the wall (the holes the flow leaves around a mover). A hole that reaches the image top,
    one taller than the fraction (a doorway above her), one ending at another mover, and the option off take
    nothing."""
    from stereodiff.stage1.movers.depth import up_holes

    h, w = 120, 160
    depth = np.full((h, w), 5.0, np.float32)  # the wall
    grey = np.full((h, w), 200, np.uint8)
    given = np.zeros((h, w), bool)
    given[60:, 40:80] = True  # her body, flagged and given 2.0
    depth[given] = 2.0
    depth[30:60, 50:70] = 0.0  # her head and shoulders: untriangulated, unflagged
    grey[33:60, 50:70] = 90  # her colour
    # rows 30–32: wall-coloured holes around her head (the flow's blend)
    moving = given.copy()
    settings = replace(MoverSettings(), up_holes=0.6)
    taken = up_holes(depth, moving, given, grey, settings)
    assert taken[33:60, 50:70].all()  # her head, not the wall-coloured top rows
    assert not taken[:33].any() and not taken[:, :50].any() and not taken[:, 70:].any()
    assert not up_holes(depth, moving, given, grey, replace(settings, up_holes=0.0)).any()  # off
    assert not up_holes(depth, moving, given, grey, replace(settings, up_holes=0.3)).any()  # 30 rows > 0.3 × 60
    open_top = depth.copy()
    open_top[:60, 50:70] = 0.0  # the hole reaches the image top: unbounded, not her head
    assert not up_holes(open_top, moving, given, grey, replace(settings, up_holes=1.0)).any()  # even as tall
    other = moving.copy()
    other[20:30, 40:80] = True  # another mover above: the run does not end at the static scene
    assert not up_holes(depth, other, given, grey, settings).any()
    door = depth.copy()
    door[:60, 44:76] = 0.0
    door[:5, 44:76] = 5.0  # a doorway above her, taller than her head could be
    grey_door = grey.copy()
    grey_door[:60, 44:76] = 60
    assert not up_holes(door, moving, given, grey_door, settings).any()
    config = GeometricConfig(movers_up_holes=0.35)
    from stereodiff.stage1.geometric import mover_settings

    assert mover_settings(config).up_holes == 0.35 and GeometricConfig().movers_up_holes == 0
    assert preset_config("cpu").stage1.movers_up_holes == 0.35
    with pytest.raises(ValueError, match="movers_up_holes"):
        GeometricConfig(movers_up_holes=1.5).validate()


def test_border_band_gives_a_side_cut_persons_band_her_depth_not_a_nearer_occluder_or_an_unreached_row():
    """close-object held-out 1447: a person cut by the image's left side is flagged and given her depth up to the
    segmentation's 8-px band, and the band keeps her far phantom. With ``border_band`` each row whose given pixel lies
    at the band's edge gives its depth to the band's pixels out to the side that are holes or beyond it by
    ``underground``; a nearer pixel ends the run (an occluder in front of her), a row whose given pixel stops short of
    the band gives nothing, pixels at her depth keep theirs, and the right side works as the left."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import border_band

    h, w = 60, 320  # the band is 8 px at a 320-pixel long side
    depth = np.full((h, w), 5.0, np.float32)  # the wall
    given = np.zeros((h, w), bool)
    given[10:50, 8:20] = True  # her found part, from the band's edge (column 8) inward
    depth[given] = 2.0
    depth[10:50, :8] = 4.0  # the band: her far phantom (2× her depth)
    depth[20, 3] = 0.0  # a hole in it
    depth[30, 2] = 1.0  # a nearer occluder: ends the run there
    depth[40, :8] = 2.2  # about her depth already: kept
    given[45:50, 8] = False  # rows whose given pixels start at column 9: within the reach
    given[47:50, 8:10] = False  # ... and at column 10: beyond it, nothing
    s = replace(MoverSettings(), border_px=8.0)
    band = border_band(depth, given, s)
    taken = band > 0
    assert np.all(band[taken] == 2.0)
    assert taken[10:47, :8].sum() == 37 * 8 - 3 - 8  # all but the occluder's row beyond it and the row at her depth
    assert taken[20, 3] and not taken[30, :3].any() and taken[30, 3:8].all() and not taken[40].any()
    assert taken[45:47, :8].all() and not taken[47:].any() and not taken[:10].any()
    assert not taken[:, 8:].any()  # only the band
    mirrored = border_band(depth[:, ::-1].copy(), given[:, ::-1].copy(), s)[:, ::-1]
    np.testing.assert_array_equal(mirrored, band)
    config = GeometricConfig(movers_border_band=True)
    assert mover_settings(config).border_band and not mover_settings(GeometricConfig()).border_band
    assert not preset_config("cpu").stage1.movers_border_band
    with pytest.raises(ValueError, match="movers_border_band"):
        GeometricConfig(movers_border_band=1).validate()


def test_side_holes_give_a_near_cut_persons_holes_out_to_the_side_her_depth_not_a_blocked_or_uncut_run():
    """Rolled indoor-dynamic 1471: a near person entering through the image's left side, cut by the image bottom, is
    given her depth in a patch (columns 12–19) while the rest of her out to the side is a stage-1 hole. With
    ``side_holes`` (24 columns at 320) each row of a region cut by the image bottom whose given pixel nearest the
    side lies within the reach gives its depth to the run out to the side of holes or pixels beyond it by
    ``underground``, when that run reaches the side: a pixel not beyond her (a nearer occluder) in between ends it
    and the row gives nothing; a region not cut by the bottom, or farther from the side, gives nothing; the right
    side works as the left; off (0) gives nothing."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import side_holes

    h, w = 120, 320
    depth = np.full((h, w), 5.0, np.float32)  # the wall
    given = np.zeros((h, w), bool)
    given[60:, 12:20] = True  # her found patch, cut by the image bottom
    depth[given] = 2.0
    depth[60:, :12] = 0.0  # her holes out to the side
    depth[70, 4] = 1.0  # a nearer occluder between her and the side: the row gives nothing
    depth[80, :12] = 4.0  # her far phantom (beyond 1.3 × 2.0): taken
    given[10:40, 12:20] = True  # a region not cut by the bottom
    depth[10:40, :20] = np.where(given[10:40, :20], 2.0, 0.0)
    given[60:, 40:48] = True  # a cut region beyond the reach (column 40)
    depth[60:, 30:40] = 0.0
    depth[60:, 40:48] = 2.0
    s = replace(MoverSettings(), side_holes=24.0)
    out = side_holes(depth, given, s)
    taken = out > 0
    assert np.all(out[taken] == 2.0)
    assert taken[60:, :12].sum() == 59 * 12 and not taken[70].any() and taken[80, :12].all()
    assert not taken[:60].any() and not taken[:, 12:].any()
    mirrored = side_holes(depth[:, ::-1].copy(), given[:, ::-1].copy(), s)[:, ::-1]
    np.testing.assert_array_equal(mirrored, out)
    assert not side_holes(depth, given, MoverSettings()).any()
    assert mover_settings(GeometricConfig(movers_side_holes=24.0)).side_holes == 24.0
    assert mover_settings(GeometricConfig()).side_holes == 0.0 and preset_config("cpu").stage1.movers_side_holes == 0
    with pytest.raises(ValueError, match="movers_side_holes"):
        GeometricConfig(movers_side_holes=-1.0).validate()


def test_oncoming_carry_follows_the_phantom_of_a_seeded_region_into_frames_without_a_flag_and_no_static_one():
    """``oncoming_carry``: a person walking against a sideways camera is triangulated at a phantom depth (2.5,
    standing where the floor is 5.7) in every frame but flagged (and given her contact by the oncoming test) in
    frame 0 only. The carry follows the phantom (3 px a frame to the right) into frames 1–4 and gives it the
    contact there, re-measured; frame 5 is beyond ``frames``. A second phantom-like object that no seed reached,
    a table top and a box standing at its right depth keep stage 1's depth; a track whose phantom jumps by more
    than the reach is lost."""
    from stereodiff.stage1.movers.depth import mover_depth
    from stereodiff.stage1.movers.ground import ground_pixels, ground_rate
    from stereodiff.stage1.movers.tracking import carry_oncoming_depth

    floor, _ = _floor()
    n, (h, w) = 6, floor.shape
    source = np.repeat(floor[None], n, axis=0)
    source[:, :60] = 12.0
    people, ghosts = np.zeros((n, h, w), bool), np.zeros((n, h, w), bool)
    rows = np.arange(80, 100, dtype=np.float32)[:, None]
    for k in range(n):
        people[k] = _isolated(source[k], slice(75, 100), slice(40 + 3 * k, 60 + 3 * k), 2.5)
        ghosts[k] = _isolated(source[k], slice(75, 100), slice(120, 140), 2.4)  # never flagged: no seed
        _isolated(source[k], slice(80, 100), slice(5, 30), np.repeat(0.5 * 225.0 / (rows - 59.5), 25, axis=1))
        _isolated(source[k], slice(82, 100), slice(85, 105), floor[99, 95])  # a box at its contact's depth
    moving = np.zeros((n, h, w), bool)
    moving[0] = people[0] & (np.arange(h)[:, None] < 88)  # the flow flags her upper half in frame 0 only
    settings = replace(MoverSettings(), oncoming=0.3)
    depth, handled, seeds, grounds = source.copy(), np.zeros((n, h, w), bool), {}, {}
    for k in range(n):
        grounds[k] = ground_depth(source[k], (source[k] > 0) & ~moving[k] & ~people[k] & ~ghosts[k], settings)
        seeds[k] = []
        depth[k], handled[k] = mover_depth(source[k], moving[k], grounds[k], settings, oncoming=seeds[k])
    assert len(seeds[0]) == 1 and not any(seeds[k] for k in range(1, n))
    np.testing.assert_allclose(depth[0][people[0]], floor[99, 50], rtol=0.03)  # the oncoming test's contact

    def ground_of(k: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        return grounds[k], ground_pixels(source[k], grounds[k], settings), ground_rate(grounds[k])

    out = depth.copy()
    given = carry_oncoming_depth(source, out, moving, handled, seeds, 4, settings, ground_of)
    for k in range(1, 5):
        assert given[k][people[k]].all()
        np.testing.assert_allclose(out[k][people[k]], floor[99, 50], rtol=0.03)  # her own contact, re-measured
    assert not given[0].any() and not given[5].any()  # the seed's frame keeps its own; frame 5 is too far
    assert not (given & ~people).any()  # the ghost, the table and the box keep stage 1's depth
    np.testing.assert_array_equal(out[~given], depth[~given])
    # without a seed nothing is carried; a phantom that jumps farther than the reach in a frame is lost there
    assert not carry_oncoming_depth(source, depth.copy(), moving, handled, {}, 4, settings, ground_of).any()
    jumped = source.copy()
    for k in range(2, n):
        jumped[k][people[k]] = floor[people[k]]  # she is gone from where she was
        _isolated(jumped[k], slice(75, 100), slice(100 + 3 * k, 112 + 3 * k), 2.5)
    given = carry_oncoming_depth(jumped, depth.copy(), moving, handled, seeds, 4, settings, ground_of)
    assert given[1][people[1]].all() and not given[2:].any()


def test_oncoming_carry_is_validated_and_reaches_the_mover_settings():
    from stereodiff.stage1.geometric import mover_settings

    with pytest.raises(ValueError, match="movers_oncoming_carry"):
        GeometricConfig(movers_oncoming_carry=-1).validate()
    config = GeometricConfig(movers=True, movers_oncoming=0.3, movers_oncoming_carry=8)
    config.validate()
    assert mover_settings(config).oncoming_carry == 8
    assert mover_settings(config, ahead=True).oncoming_carry == 0  # a camera moving along its view: off
    assert MoverSettings().oncoming_carry == 0


def test_near_carry_gives_a_person_whose_feet_a_box_hides_the_correction_of_the_frame_where_they_are_seen():
    """``near_carry`` (close-object s0): a person walking against a sideways camera is triangulated at 0.4× her
    depth in every frame (a phantom at 2.5, her feet on the floor at row 95, 6.3 there), 2 px a frame to the right.
    In frame 0 her feet are seen and ``near_contact`` gives her the floor there; in frames 1–5 a static box in front
    of her (rows 70–115, at its own contact, 4.0) hides her legs: no floor is seen under her, ``near_contact`` leaves
    her. The carry follows her phantom and gives her the seed's correction (6.3 ÷ 2.5) times her own stage-1 depth
    in frames 1–4 (frame 5 is beyond ``frames``); the box, and a phantom-like object no seed reached, keep theirs;
    a phantom carried farther than the ground under its lowest pixels takes that ground instead."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth
    from stereodiff.stage1.movers.ground import ground_pixels, ground_rate
    from stereodiff.stage1.movers.tracking import carry_near_depth

    floor, _ = _floor()
    n, (h, w) = 6, floor.shape
    feet = float(floor[95, 67])
    source = np.repeat(floor[None], n, axis=0)
    source[:, :60] = 12.0
    people, ghosts = np.zeros((n, h, w), bool), np.zeros((n, h, w), bool)
    box = np.zeros((h, w), bool)
    box[70:116, 40:100] = True
    for k in range(n):
        people[k, 40:96, 60 + 2 * k : 75 + 2 * k] = True
        source[k][people[k]] = 0.4 * feet
        ghosts[k] = _isolated(source[k], slice(45, 70), slice(130, 145), 0.4 * feet)  # never seeded
        if k:
            source[k][box] = floor[115, 70]  # in front of her legs, standing on the floor at row 115
            people[k] &= ~box
    moving = people & (np.arange(h)[None, :, None] <= 66)  # her upper body flagged in every frame
    settings = replace(MoverSettings(), near_contact=0.3)
    depth, handled, seeds, grounds = source.copy(), np.zeros((n, h, w), bool), {}, {}
    for k in range(n):
        static = (source[k] > 0) & ~people[k] & ~ghosts[k] & ~box
        grounds[k] = ground_depth(source[k], static, settings)
        seeds[k] = []
        depth[k], handled[k] = mover_depth(source[k], moving[k], grounds[k], settings, near=seeds[k])
    assert len(seeds[0]) == 1 and not any(seeds[k] for k in range(1, n))  # her feet are seen in frame 0 only
    np.testing.assert_allclose(depth[0][people[0]], feet, rtol=0.03)

    def ground_of(k: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        return grounds[k], ground_pixels(source[k], grounds[k], settings), ground_rate(grounds[k])

    out = depth.copy()
    given = carry_near_depth(source, out, handled, seeds, 4, settings, ground_of)
    for k in range(1, 5):
        assert given[k][people[k]].all()
        np.testing.assert_allclose(out[k][people[k]], feet, rtol=0.03)  # the seed's correction × her phantom
    assert not given[0].any() and not given[5].any()  # the seed's own frame; frame 5 is too far
    assert not (given & ~people).any()  # the box and the ghost keep stage 1's depth
    np.testing.assert_array_equal(out[~given], depth[~given])
    assert not carry_near_depth(source, depth.copy(), handled, {}, 4, settings, ground_of).any()  # no seed
    far = {0: [(seeds[0][0][0], 5.0 * feet)]}  # a correction that would put her beyond the floor at her lowest row
    capped = depth.copy()
    carry_near_depth(source, capped, handled, far, 4, settings, ground_of)
    np.testing.assert_allclose(capped[1][people[1]], np.median(grounds[1][69, 62:77]), rtol=0.03)
    assert MoverSettings().near_carry == 0 == GeometricConfig().movers_near_carry  # off
    assert mover_settings(GeometricConfig(movers_near_carry=32)).near_carry == 32
    assert mover_settings(GeometricConfig(movers_near_carry=32), ahead=True).near_carry == 0
    with pytest.raises(ValueError, match="movers_near_carry"):
        PipelineConfig(stage1=GeometricConfig(movers_near_carry=-1)).validate()


def test_near_carry_beside_seeds_the_carry_from_a_person_contact_beside_took():
    """``near_carry_beside`` (close-object s1610): a person walking against a sideways camera, triangulated too near,
    her feet seen only in the image's lowest rows (frame 0: legs a hole down to row 110, the floor beside them):
    ``contact_beside`` gives her the floor at her feet, so ``near_contact`` is never tried and no seed starts the near
    carry. In frame 1 a static box (at its own contact) hides her legs and no rule takes her. With the option the
    beside region's triangulated pixels seed the carry, and frame 1's phantom takes the seed's correction; a flagged
    static box standing on the floor at its depth seeds nothing, nor a region that is mostly a stage-1 hole (the near
    object crossing close, which ``contact_beside`` may take: close-object s1621)."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth
    from stereodiff.stage1.movers.ground import ground_pixels, ground_rate
    from stereodiff.stage1.movers.tracking import carry_near_depth

    floor, _ = _floor()  # horizon at row 60, 120×160
    n, (h, w) = 2, floor.shape
    source = np.repeat(floor[None], n, axis=0)
    source[:, :60] = 12.0
    body, legs = np.zeros((n, h, w), bool), np.zeros((h, w), bool)
    rows = np.arange(40, 90, dtype=np.float32)[:, None]
    for k in range(n):
        body[k, 40:90, 60 + 2 * k : 80 + 2 * k] = True
        source[k, 40:90, 60 + 2 * k : 80 + 2 * k] = 2.4 - 0.01 * (rows - 40)  # too near, nearer downwards
    legs[90:111, 64:76] = True  # frame 0: a hole, not flagged; the floor beside and under them
    source[0][legs] = 0.0
    box = np.zeros((h, w), bool)
    box[86:116, 50:95] = True  # frame 1: a static box in front of her legs, standing on the floor at row 115
    source[1][box] = floor[115, 70]
    body[1] &= ~box
    static = np.zeros((h, w), bool)
    static[70:90, 110:140] = True  # flagged static box standing on the floor, at its depth (both frames)
    source[:, 70:90, 110:140] = floor[89, 125]
    moving = body | static
    settings = replace(
        MoverSettings(), oncoming=0.3, oncoming_trim=True, contact_beside=0.3, beside_low=0.1, near_contact=0.3
    )  # the cpu preset's: contact_beside keeps to feet in the lowest tenth of the rows
    feet = float(floor[110, 70])

    def run(option: bool) -> tuple[np.ndarray, np.ndarray, dict, dict]:
        s = replace(settings, near_carry_beside=option)
        depth, handled, seeds, grounds = source.copy(), np.zeros((n, h, w), bool), {}, {}
        for k in range(n):
            grounds[k] = ground_depth(source[k], (source[k] > 0) & ~moving[k] & ~(box if k else legs), s)
            seeds[k] = []
            depth[k], handled[k] = mover_depth(source[k], moving[k], grounds[k], s, near=seeds[k])
        return depth, handled, seeds, grounds

    depth, handled, seeds, grounds = run(False)
    assert handled[0][body[0]].all() and not handled[1].any()  # contact_beside takes frame 0 only
    np.testing.assert_allclose(depth[0][body[0]], feet, rtol=0.03)
    assert not any(seeds.values())  # near_contact is never tried on her: nothing seeds the carry
    depth, handled, seeds, grounds = run(True)
    assert len(seeds[0]) == 1 and not seeds[1]  # the beside region, not the static box
    region, value = seeds[0][0]
    assert value == pytest.approx(feet, rel=0.03)
    assert not (region & ~body[0]).any() and not (region & legs).any()  # her triangulated pixels only
    holey = source[0].copy()
    holey[40:70, 60:80] = 0.0  # mostly a hole, as the near object crossing close: taken, but no seed
    near: list = []
    _, taken = mover_depth(holey, moving[0], grounds[0], replace(settings, near_carry_beside=True), near=near)
    assert taken[70:90, 60:80].all() and not near

    def ground_of(k: int) -> tuple[np.ndarray, np.ndarray, float] | None:
        return grounds[k], ground_pixels(source[k], grounds[k], settings), ground_rate(grounds[k])

    out = depth.copy()
    given = carry_near_depth(source, out, handled, seeds, 4, settings, ground_of)
    assert given[1][body[1]].all() and not (given[1] & ~body[1]).any()
    np.testing.assert_allclose(out[1][body[1]], feet, rtol=0.03)  # the correction times her own phantom
    assert not GeometricConfig().movers_near_carry_beside and not MoverSettings().near_carry_beside  # off
    assert mover_settings(GeometricConfig(movers_near_carry_beside=True)).near_carry_beside
    assert not mover_settings(GeometricConfig(movers_near_carry_beside=True), ahead=True).near_carry_beside
    with pytest.raises(ValueError, match="movers_near_carry_beside"):
        PipelineConfig(stage1=GeometricConfig(movers_near_carry_beside=1)).validate()


def _person_behind_box(ratio: float) -> tuple[np.ndarray, ...]:
    """A 120×160 frame (horizon at row 60, floor depth 225 / (row − 59.5)): a flagged person (rows 40–69, cols 60–74)
    triangulated at ``ratio`` × the floor at row 95, behind a static box (rows 70–115, standing on the floor at row
    115) that hides her legs, and a static cabinet standing on the floor at row 99, flagged in its top rows. Returns
    the floor, the depth ``[h,w]``, the person, box and cabinet masks, the flagged mask and the fitted ground."""
    floor, _ = _floor()
    h, w = floor.shape
    depth = floor.copy()
    depth[:60] = 12.0
    person = np.zeros((h, w), bool)
    person[40:96, 60:75] = True
    depth[person] = ratio * floor[95, 67]
    box = np.zeros((h, w), bool)
    box[70:116, 40:100] = True
    depth[box] = floor[115, 70]  # in front of her legs, standing on the floor at row 115
    person &= ~box
    cabinet = np.zeros((h, w), bool)
    cabinet[50:100, 120:140] = True
    depth[cabinet] = floor[99, 130]  # a static cabinet standing on the floor at row 99, flagged in its top rows
    flagged = person | (cabinet & (np.arange(h)[:, None] < 70))
    ground = ground_depth(depth, (depth > 0) & ~person & ~cabinet, replace(MoverSettings(), near_contact=0.3))
    assert ground is not None
    return floor, depth, person, box, cabinet, flagged, ground


def test_near_occluded_gives_a_person_nearer_than_the_box_hiding_her_feet_a_depth_between_box_and_floor():
    """``near_occluded`` (close-object s1614): a person walking against a sideways camera is triangulated at 0.4× her
    depth (2.5; feet at row 95, floor 6.3 there) behind a static box (rows 70–115, 4.05) that hides her legs in every
    frame: no floor is seen under her and no rule takes her. Nearer than the box hiding her, she must be behind it
    (lower bound 4.05) and stand at or below her lowest visible row (the floor there, upper bound): with the option
    she takes the geometric mean of the two and seeds the near carry. A flagged static cabinet top standing on the
    floor at its depth, and a phantom-like region with nothing under it but holes, keep theirs."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, depth, person, box, cabinet, flagged, ground = _person_behind_box(0.4)
    settings = replace(MoverSettings(), near_contact=0.3)
    _, handled = mover_depth(depth, flagged, ground, settings, near=[])
    assert not handled.any()  # no floor under her: near_contact leaves her
    seeds: list = []
    out, handled = mover_depth(depth, flagged, ground, replace(settings, near_occluded=True), near=seeds)
    lower, upper = float(floor[115, 70]), float(np.median(ground[69, 60:75]))
    assert handled[person].all() and not handled[cabinet].any() and not handled[box].any()
    np.testing.assert_allclose(out[person], np.sqrt(lower * upper), rtol=0.03)
    assert lower < out[person][0] < upper
    assert len(seeds) == 1 and not (seeds[0][0] & ~person).any()  # her triangulated pixels seed the carry
    holes = depth.copy()
    holes[70:116, 40:100] = 0.0  # nothing triangulated under her: no occluder, no depth
    _, handled = mover_depth(holes, flagged, ground, replace(settings, near_occluded=True), near=[])
    assert not handled[person].any()
    assert not GeometricConfig().movers_near_occluded and not MoverSettings().near_occluded  # off
    assert mover_settings(GeometricConfig(movers_near_occluded=True)).near_occluded
    assert not mover_settings(GeometricConfig(movers_near_occluded=True), ahead=True).near_occluded
    with pytest.raises(ValueError, match="movers_near_occluded"):
        PipelineConfig(stage1=GeometricConfig(movers_near_occluded=1)).validate()


def test_near_occluded_margin_takes_a_person_only_a_little_nearer_than_the_box_hiding_her_feet():
    """``near_occluded_margin`` (close-object 1981): the person's phantom lies at 0.73–0.80 of the clutter object
    hiding her feet, not nearer than 0.7 of it, so ``near_occluded`` at ``near_contact``'s 0.3 leaves her; with the
    margin 0.15 she takes the geometric mean of the box's depth and the floor's under her lowest row. A margin
    that her phantom does not pass (0.1 with her at 0.95 of the box) leaves her too."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.movers.depth import mover_depth

    floor, _ = _floor()
    of_box = float(floor[115, 70] / floor[95, 67])  # her phantom's depth ÷ the box's, per unit of ``ratio``
    floor, depth, person, box, cabinet, flagged, ground = _person_behind_box(0.8 * of_box)
    settings = replace(MoverSettings(), near_contact=0.3, near_occluded=True)
    _, handled = mover_depth(depth, flagged, ground, settings, near=[])
    assert not handled[person].any()  # at 0.3 of the box: not nearer than 0.7 × the box
    seeds: list = []
    out, handled = mover_depth(depth, flagged, ground, replace(settings, near_occluded_margin=0.15), near=seeds)
    lower, upper = float(floor[115, 70]), float(np.median(ground[69, 60:75]))
    assert handled[person].all() and not handled[cabinet].any() and not handled[box].any()
    np.testing.assert_allclose(out[person], np.sqrt(lower * upper), rtol=0.03)
    assert len(seeds) == 1
    _, depth, person, _, _, flagged, ground = _person_behind_box(0.95 * of_box)
    _, handled = mover_depth(depth, flagged, ground, replace(settings, near_occluded_margin=0.1), near=[])
    assert not handled[person].any()
    assert GeometricConfig().movers_near_occluded_margin == 0 and MoverSettings().near_occluded_margin == 0  # off
    with pytest.raises(ValueError, match="movers_near_occluded_margin"):
        PipelineConfig(stage1=GeometricConfig(movers_near_occluded_margin=1.0)).validate()


def test_far_occluded_finds_and_places_a_person_beyond_the_ground_at_her_hidden_feet():
    """``far_occluded`` (close-object 1980): a person walking along with a sideways camera behind a box is
    triangulated beyond the ground at her lowest visible row (80 against the ground's 25–60 at rows 64–69) and barely
    flagged: she does not stand (the box, not the floor, is under her), so ``underground`` does not find her. With
    the option her pixels beyond the ground at their own rows are found, and as a flagged region she takes the
    geometric mean of the box's depth and the ground's under her lowest pixels; the box, a static cabinet standing
    on the floor and a static crate behind the box at its true depth (its base hidden too, nearer than that ground)
    are neither found nor moved."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth
    from stereodiff.stage1.movers.ground import underground

    floor, depth, person, _, _, _, ground = _person_behind_box(1.0)
    depth[person] = 80.0
    crate = np.zeros(depth.shape, bool)
    crate[62:70, 85:100] = True
    depth[crate] = floor[72, 90]  # standing on the floor at row 72, behind the box's top (row 70)
    settings = replace(MoverSettings(), near_contact=0.3)
    assert not underground(depth, ground, settings)[person].any()
    far = replace(settings, far_occluded=True)
    found = underground(depth, ground, far) > 0
    beyond = person & (depth > 1.3 * ground)  # her rows where the ground is nearer than 80 ÷ 1.3
    assert found[beyond].mean() > 0.75 and not (found & ~person).any()
    out, handled = mover_depth(depth, person, ground, far, near=[])
    lower, upper = float(floor[115, 70]), float(np.median(ground[69, 60:75]))
    assert handled[person].all() and not (handled & ~person).any()
    np.testing.assert_allclose(out[person], np.sqrt(lower * upper), rtol=0.03)
    _, handled = mover_depth(depth, person, ground, settings, near=[])
    assert not handled.any()
    on_floor = depth.copy()
    on_floor[person] = 0.9 * upper  # nearer than the ground at her lowest row: no contradiction, kept
    assert not mover_depth(on_floor, person, ground, far, near=[])[1].any()
    assert not underground(on_floor, ground, far)[person].any()
    assert not GeometricConfig().movers_far_occluded and not MoverSettings().far_occluded  # off
    assert mover_settings(GeometricConfig(movers_far_occluded=True)).far_occluded
    assert not mover_settings(GeometricConfig(movers_far_occluded=True), ahead=True).far_occluded
    with pytest.raises(ValueError, match="movers_far_occluded"):
        PipelineConfig(stage1=GeometricConfig(movers_far_occluded=1)).validate()


def _hole_behind_box() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``hole_occluded``'s scene: the floor ``[h,w]``, the stage-1 depth ``[h,w]`` (a box standing on the floor at
    row 115; a person behind it a hole at rows 40–79 with a phantom beyond the ground in her top rows; a low hole on
    the box), the person's and the low hole's ``[h,w]`` bool masks, the ground plane's depth ``[h,w]``."""
    floor, _ = _floor()
    h, w = floor.shape
    depth = floor.copy()
    depth[:60] = 12.0
    depth[80:116, 40:100] = floor[115, 70]  # the box: standing on the floor at row 115, in front of her legs
    person = np.zeros((h, w), bool)
    person[40:80, 60:75] = True
    depth[person] = 0.0  # a stage-1 hole
    depth[40:50, 60:75] = 40.0  # her top rows: a phantom beyond the ground under her lowest row
    low = np.zeros((h, w), bool)
    low[74:80, 80:95] = True
    depth[low] = 0.0
    ground = ground_depth(depth, (depth > 0) & ~(person | low), replace(MoverSettings(), near_contact=0.3))
    assert ground is not None
    return floor, depth, person, low, ground


def test_hole_occluded_places_a_tall_hole_behind_the_box_and_leaves_a_low_one():
    """``hole_occluded`` (close-object 1465, frames 44–63): a person walking along a sideways camera faster than it
    is a stage-1 hole behind a static box that hides her legs, flagged; no rule gives her a depth (no floor seen
    under her, not cut). With the option her holes take the geometric mean of the box's depth and the ground's under
    her lowest row, and her pixels stage 1 put beyond that ground take it too. A low flagged hole resting on the box
    (the wall above the clutter: its top stays below ``HOLE_TOP`` camera heights at that depth), a hole too wide for a
    person (``HOLE_WIDTH``), the same person with nothing triangulated under her, and the option off or with the
    camera moving along its view leave them."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, depth, person, low, ground = _hole_behind_box()
    h, w = floor.shape
    flagged = person | low
    settings = replace(MoverSettings(), near_contact=0.3)
    assert not mover_depth(depth, flagged, ground, settings, near=[])[1].any()  # off: no rule takes them
    on = replace(settings, hole_occluded=True)
    out, handled = mover_depth(depth, flagged, ground, on, near=[])
    lower, upper = float(floor[115, 70]), float(np.median(ground[79, 60:75]))
    assert handled[person].all() and not (handled & ~person).any()
    np.testing.assert_allclose(out[person], np.sqrt(lower * upper), rtol=0.03)
    np.testing.assert_array_equal(out[low], 0.0)
    bare = depth.copy()
    bare[80:120, 40:100] = 0.0  # nothing triangulated under her: no occluder, no depth
    assert not mover_depth(bare, flagged, ground, on, near=[])[1].any()
    crossing = np.zeros((h, w), bool)
    crossing[40:80, 45:95] = True  # 1.5 camera heights wide at that depth: the hole beside a near object crossing
    wide = np.where(crossing, 0.0, depth).astype(np.float32)
    assert not mover_depth(wide, crossing, ground, on, near=[])[1].any()
    assert not GeometricConfig().movers_hole_occluded and not MoverSettings().hole_occluded  # off
    assert mover_settings(GeometricConfig(movers_hole_occluded=True)).hole_occluded
    assert not mover_settings(GeometricConfig(movers_hole_occluded=True), ahead=True).hole_occluded
    with pytest.raises(ValueError, match="movers_hole_occluded"):
        PipelineConfig(stage1=GeometricConfig(movers_hole_occluded=1)).validate()


def test_hole_occluded_after_near_records_its_holes_for_near_holes():
    """``hole_occluded_after_near``: the holes ``hole_occluded`` gives the person behind the box are recorded with
    ``hole_reach``'s joined pixels (``reached``, the runner's ``movers_reach``), so ``near_holes_before_reach`` sees
    them as holes and takes them first where it follows a near object; her phantom top rows (triangulated) are not
    recorded. Without the option, or without ``hole_occluded``, nothing is recorded and the depth is the same."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth
    from stereodiff.stage1.movers.runner import _records_reach

    _, depth, person, low, ground = _hole_behind_box()
    flagged = person | low
    on = replace(MoverSettings(), near_contact=0.3, hole_occluded=True, reach_mask=True)
    plain: list = []
    out, _ = mover_depth(depth, flagged, ground, on, near=[], reached=plain)
    assert plain == [] and not _records_reach(replace(on, hole_reach=False))
    after = replace(on, hole_occluded_after_near=True)
    recorded: list = []
    same, _ = mover_depth(depth, flagged, ground, after, near=[], reached=recorded)
    np.testing.assert_array_equal(same, out)
    assert len(recorded) == 1
    holes = person & (depth <= 0)
    np.testing.assert_array_equal(recorded[0], holes)
    assert int(recorded[0].sum()) == 30 * 15  # rows 50–79: rows 40–49 are her phantom, triangulated
    assert _records_reach(replace(after, hole_reach=False))
    assert not _records_reach(replace(after, hole_reach=False, hole_occluded=False))
    none: list = []
    mover_depth(depth, flagged, ground, replace(after, hole_occluded=False), near=[], reached=none)
    assert none == []
    assert not GeometricConfig().movers_hole_occluded_after_near and not MoverSettings().hole_occluded_after_near
    assert mover_settings(GeometricConfig(movers_hole_occluded_after_near=True)).hole_occluded_after_near
    with pytest.raises(ValueError, match="movers_hole_occluded_after_near"):
        PipelineConfig(stage1=GeometricConfig(movers_hole_occluded_after_near=1)).validate()


def test_far_spread_grows_the_far_occluded_person_through_the_pixels_whose_pairs_disagree():
    """``far_spread`` (close-object 1980): ``far_occluded`` finds the lower body of a person triangulated far beyond
    the ground at her hidden feet; her upper body has the depth of the wall behind her head (no depth step separates
    them) and is not flagged. Her pairs disagree (log spread 0.15: her speed against the camera's changes between
    the pairs' frames), the wall's do not (0.01): with the option her upper body takes the lower body's depth, the
    wall keeps its own; without it, or where her pairs agree, her upper body keeps the phantom."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, depth, person, _, _, _, ground = _person_behind_box(1.0)
    depth[person] = 80.0
    wall = np.zeros(depth.shape, bool)
    wall[10:45, 30:110] = True
    wall &= ~person
    depth[wall] = 80.0  # her phantom's depth, above the horizon: nothing to contradict
    lower = person & (np.arange(depth.shape[0])[:, None] >= 60)  # flagged: beyond the ground at its own rows
    spread = np.zeros(depth.shape, np.float32)
    spread[person], spread[wall] = 0.15, 0.01
    far = replace(MoverSettings(), near_contact=0.3, far_occluded=True)
    value = np.sqrt(float(floor[115, 70]) * float(np.median(ground[69, 60:75])))
    out, handled = mover_depth(depth, lower, ground, far, near=[], spread=spread)
    assert handled[lower].all() and not handled[person & ~lower].any()  # off: her upper body keeps the phantom
    grown = replace(far, far_spread=0.05)
    out, handled = mover_depth(depth, lower, ground, grown, near=[], spread=spread)
    assert handled[person].mean() > 0.95 and not (handled & ~person).any()  # the median leaves her top corners
    np.testing.assert_allclose(out[handled], value, rtol=0.03)
    np.testing.assert_array_equal(out[wall], 80.0)
    agree = np.where(person, 0.01, spread).astype(np.float32)  # her pairs agree: nothing to grow through
    _, handled = mover_depth(depth, lower, ground, grown, near=[], spread=agree)
    assert not handled[person & ~lower].any()
    assert GeometricConfig().movers_far_spread == 0 and MoverSettings().far_spread == 0  # off
    config = GeometricConfig(movers_far_occluded=True, movers_far_spread=0.05)
    assert mover_settings(config).far_spread == 0.05
    assert mover_settings(config, ahead=True).far_spread == 0
    assert mover_settings(replace(config, movers_far_occluded=False)).far_spread == 0
    with pytest.raises(ValueError, match="movers_far_spread"):
        PipelineConfig(stage1=GeometricConfig(movers_far_spread=1.5)).validate()


def _entering_square(moving: bool) -> tuple[np.ndarray, np.ndarray, SceneGeometry]:
    """A 40-px textured square entering a static wall through the right border, 4 px a frame leftwards (or, with
    ``moving`` False, a static one at the border): ``[16,240,320]`` uint8 frames, its ``[16,240,320]`` mask and
    the stage-1 scene (the wall's depth everywhere, the square included: it is given the wall's depth)."""
    import cv2

    rng = np.random.default_rng(780)
    t, h, w, size = 16, 240, 320, 40
    wall = cv2.GaussianBlur(rng.integers(0, 256, (h, w)).astype(np.uint8), (5, 5), 1.5)
    square = cv2.GaussianBlur(rng.integers(0, 256, (size, size)).astype(np.uint8), (5, 5), 1.5)
    frames, mask = np.repeat(wall[None], t, 0), np.zeros((t, h, w), bool)
    for k in range(t):
        left = w - 4 * (k + 1) if moving else w - 16
        cols = slice(max(left, 0), min(left + size, w))
        frames[k, 100 : 100 + size, cols] = square[:, cols.start - left : cols.stop - left]
        mask[k, 100 : 100 + size, cols] = True
    return frames, mask, _wall_scene(np.full((t, h, w), 4.0, np.float32))


@pytest.mark.parametrize("moving", [True, False])
def test_carry_entries_flags_a_mover_entering_at_the_border_and_never_a_static_object(moving: bool):
    from stereodiff.flow import dis_engine
    from stereodiff.stage1.movers.segmentation import carry_entries

    frames, truth, scene = _entering_square(moving)
    out = truth.copy()
    out[:10] = False  # flagged only from frame 10 on (the square 40 px inside), as the segmentation finds it
    s = MoverSettings(entry_carry=8, offsets=(3,))
    carry_entries(out, frames, scene, np.asarray(scene.depth), s, dis_engine("fast"))
    band = np.zeros(truth.shape[1:], bool)
    band[:, -24:] = True
    if not moving:  # a static object at the border moves as its depth predicts: never taken
        assert not out[:10].any()
        return
    for k in range(2, 10):  # frames 2-9 are within 8 frames of frame 10; what lies in the band is flagged
        wanted = truth[k] & band
        assert out[k][wanted].mean() > 0.4, k
        assert not (out[k] & ~truth[k]).sum() > 0.05 * wanted.sum(), k
    assert not out[:2].any()  # beyond entry_carry frames: nothing


@pytest.mark.parametrize("moving", [True, False])
def test_entry_chain_reaches_the_whole_entering_mover_and_not_the_wall_it_covers(moving: bool):
    """``entry_chain``, the entering square a stage-1 hole: the chained one-frame residual and the growth into the
    band's holes take 86–100 % of its band part in frames 2–9 (without the growth 56–94 %, as the one-frame carry
    45–94 %), nothing off it; a static square is never taken."""
    from stereodiff.flow import dis_engine
    from stereodiff.stage1.fusion import nearest_fill
    from stereodiff.stage1.movers.segmentation import carry_entries

    frames, truth, _ = _entering_square(moving)
    depth = np.where(truth, 0.0, 4.0).astype(np.float32)  # stage 1 left the square untriangulated
    out = truth.copy()
    out[:10] = False
    s = MoverSettings(entry_carry=8, entry_chain=6, offsets=(3,))
    carry_entries(out, frames, _wall_scene(depth), np.stack([nearest_fill(d) for d in depth]), s, dis_engine("fast"))
    if not moving:
        assert not out[:10].any()
        return
    band = np.zeros(truth.shape[1:], bool)
    band[:, -24:] = True
    for k in range(2, 10):
        assert out[k][truth[k] & band].mean() > 0.8, k
    assert not (out & ~truth).any()
    assert not out[:2].any()


@pytest.mark.parametrize("moving", [True, False])
def test_carry_edge_depth_gives_the_entering_mover_its_later_depth_and_never_a_static_object(moving: bool):
    """``edge_carry``: the square entering at the right border at 4 px a frame, handled by the rules (depth 2) from
    frame 10 on and a stage-1 hole before: 45–94 % of its band part in frames 2–9 takes the depth 2 (the test asks
    > 40 %; DIS's one-frame flow at the border),
    nothing off it, nothing beyond ``edge_carry`` frames; a static square at the border is never given depth."""
    from stereodiff.flow import dis_engine
    from stereodiff.stage1.movers.segmentation import carry_edge_depth

    frames, truth, _ = _entering_square(moving)
    handled = truth.copy()
    handled[:10] = False  # the rules gave it depth from frame 10 on
    depth = np.where(truth, 0.0, 4.0).astype(np.float32)
    depth[handled] = 2.0
    s = MoverSettings(edge_carry=8, offsets=(3,))
    given = carry_edge_depth(frames, depth, handled, handled.copy(), np.full(16, 400.0), s, dis_engine("fast"))
    assert not (given & handled).any()
    if not moving:  # the static square's holes move as the wall: never taken
        assert not given.any()
        return
    band = np.zeros(truth.shape[1:], bool)
    band[:, -24:] = True
    for k in range(2, 10):
        wanted = truth[k] & band
        assert given[k][wanted].mean() > 0.4, k
        assert np.all(depth[k][given[k]] == 2.0), k
    assert not (given & ~truth).any()
    assert not given[:2].any()  # beyond edge_carry frames: nothing


def test_entry_carry_is_off_by_default_reaches_the_settings_and_is_validated():
    from stereodiff.stage1.geometric import mover_settings

    assert GeometricConfig().movers_entry_carry == 0 == preset_config("cpu").stage1.movers_entry_carry
    assert mover_settings(GeometricConfig(movers_entry_carry=8), ahead=False).entry_carry == 8
    with pytest.raises(ValueError, match="movers_entry_carry"):
        GeometricConfig(movers_entry_carry=-1).validate()
    assert GeometricConfig().movers_entry_chain == 0 == preset_config("cpu").stage1.movers_entry_chain
    assert GeometricConfig().movers_edge_carry == 0 == preset_config("cpu").stage1.movers_edge_carry
    assert mover_settings(GeometricConfig(movers_edge_carry=8), ahead=False).edge_carry == 8
    with pytest.raises(ValueError, match="movers_edge_carry"):
        GeometricConfig(movers_edge_carry=-1).validate()
    assert mover_settings(GeometricConfig(movers_entry_chain=6), ahead=False).entry_chain == 6
    with pytest.raises(ValueError, match="movers_entry_chain"):
        GeometricConfig(movers_entry_chain=-1).validate()


def _square_from_frame(
    num_frames: int, enter: int, speed: int = 2, size: int = 30, top: int = 30, h: int = 120, w: int = 160
):
    """:func:`_sliding_square`'s wall and camera with the square there only from frame ``enter`` on (it enters the
    clip's last frames in the middle of the image): frames ``[T,h,w,3]`` uint8 and its mask ``[T,h,w]``."""
    rng = np.random.default_rng(0)
    wall, square = _texture(rng, h, w + num_frames + 2), _texture(rng, size, size)
    frames = np.stack([wall[:, k : k + w] for k in range(num_frames)])
    mask = np.zeros((num_frames, h, w), bool)
    for k in range(enter, num_frames):
        y = top + speed * (k - enter)
        frames[k, y : y + size, 65 : 65 + size] = square
        mask[k, y : y + size, 65 : 65 + size] = True
    return frames, mask


def test_end_offset_flags_a_mover_that_enters_in_the_clip_last_frames():
    """A square appearing in frame 10 of 16 and sliding 2 px a frame: its only partners at offsets 6 and 12 are
    frames from before it appeared, where the flow gives its pixels the wall's motion, so the long offsets never
    flag it; ``end_offset=2`` checks the clip's last 6 frames against their 2-frame neighbours as well and finds it
    in frames 13–15 (measured recall 0.73 / 0.82 / 0.63, precision 0.68)."""
    from stereodiff.stage1.movers.segmentation import _end_frames

    frames, truth = _square_from_frame(num_frames=16, enter=10)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    _, before = handle_movers(frames, scene, MoverSettings(offsets=(6, 12)), num_workers=1)
    _, after = handle_movers(frames, scene, MoverSettings(offsets=(6, 12), end_offset=2), num_workers=1)
    last = slice(13, 16)
    assert (before[last] & truth[last]).sum() < 0.05 * truth[last].sum()  # the old behaviour: missed
    assert (after[last] & truth[last]).sum() > 0.5 * truth[last].sum()
    assert (after & truth).sum() > 0.6 * after.sum()  # precision
    # only the video's ends: a block in the middle of a longer video has none, the last block its last frames
    assert _end_frames(16, 0, MoverSettings(offsets=(6, 12), end_offset=2), None) == [0, 1, 2, 3, 4, 5, *range(10, 16)]
    assert _end_frames(40, 100, MoverSettings(offsets=(6, 12), end_offset=2), 300) == []
    assert _end_frames(40, 100, MoverSettings(offsets=(6, 12), end_offset=2), 136) == list(range(30, 40))
    assert _end_frames(16, 0, MoverSettings(offsets=(6, 12)), None) == []  # off


def test_end_photometric_keeps_the_static_pixels_next_to_the_mover_unflagged_at_the_clip_ends():
    """The end pairs of :func:`test_end_offset_flags_a_mover_that_enters_in_the_clip_last_frames` also flag the wall
    next to the square (DIS drags its flow along with the square's: 145 / 200 / 169 static px in frames 13–15);
    with ``end_photometric=1.5`` a flag stands only where the image follows the flow rather than the wall's rigid
    flow: measured 0 / 0 / 0 static px, recall 0.28 / 0.39 / 0.37 (a 2-frame step of this smooth texture leaves
    part of the square as well matched by the wall's motion)."""
    frames, truth = _square_from_frame(num_frames=16, enter=10)
    scene = _wall_scene(np.where(truth, 0.0, 4.0).astype(np.float32))
    plain, guarded = (
        handle_movers(frames, scene, MoverSettings(offsets=(6, 12), end_offset=2, end_photometric=r), num_workers=1)[1]
        for r in (0.0, 1.5)
    )
    last = slice(13, 16)
    assert (plain[last] & ~truth[last]).sum() > 300  # the flaw: static pixels taken at the ends
    assert (guarded[last] & ~truth[last]).sum() < 30
    assert (guarded[last] & truth[last]).sum() > 0.2 * truth[last].sum()  # the square is still found
    np.testing.assert_array_equal(guarded[:13], plain[:13])  # the frames with long partners on both sides: untouched


def test_end_photometric_is_off_by_default_reaches_the_settings_and_is_validated():
    from stereodiff.stage1.geometric import mover_settings

    assert GeometricConfig().movers_end_photometric == 0 == preset_config("cpu").stage1.movers_end_photometric
    assert mover_settings(GeometricConfig(movers_end_photometric=1.5)).end_photometric == 1.5
    with pytest.raises(ValueError, match="movers_end_photometric"):
        GeometricConfig(movers_end_photometric=0.5).validate()


def test_flow_explains_tells_a_mover_from_static_pixels_its_flow_drags_along():
    """A square shifted 3 px between two frames on a still wall: along its true flow the square's pixels match the
    other frame, along the rigid flow (zero) they do not; the wall beside it, given the square's flow (what DIS
    does next to a mover), matches along the rigid flow; a flat region matches along both and is never taken."""
    from stereodiff.stage1.movers.segmentation import flow_explains

    rng = np.random.default_rng(1)
    wall = _texture(rng, 80, 100)[..., 0]
    wall[:, 80:] = 128  # flat
    own, other = wall.copy(), wall.copy()
    square = _texture(rng, 30, 30)[..., 0]
    own[20:50, 20:50] = square
    other[20:50, 23:53] = square  # moved 3 px right
    flow, rigid = np.zeros((80, 100, 2), np.float32), np.zeros((80, 100, 2), np.float32)
    flow[20:50, 20:62, 0] = 3.0  # the square and, dragged along, the 12 px of wall to its right
    flow[:, 80:, 0] = 3.0  # the flat region: any flow matches
    explained = flow_explains(own, other, flow, rigid, ratio=1.5)
    assert explained[25:45, 25:45].mean() > 0.9
    assert explained[20:50, 56:62].mean() < 0.1
    assert not explained[:, 84:].any()
    assert not explained[60:, :80].any()  # flow = rigid flow: never taken


def test_beside_stands_gives_a_person_standing_mid_image_the_floor_at_her_feet_but_not_a_cabinets_top():
    """``beside_stands`` (close-object s845 / s846): a person walking against a sideways camera, triangulated at
    0.45× her depth, her feet on the floor seen at row 95 of 120 — above the lowest ``beside_low`` rows, so
    ``contact_beside`` with ``beside_low`` leaves her; with ``beside_stands`` she takes the floor's depth at her
    feet (seen under and beside them). The flagged upper part of a tall static cabinet, as tall as she is and as
    near against the floor beside its lowest flagged pixels, keeps its depth: the cabinet, not the floor, lies under
    them."""
    from stereodiff.stage1.movers.depth import mover_depth

    floor, depth, person = _person_near_on_floor(0.45)
    cabinet = np.zeros(floor.shape, bool)
    cabinet[40:113, 110:140] = True  # static, standing on the floor at row 112, at its depth
    depth[cabinet] = floor[112, 125]
    top = cabinet & (np.arange(120)[:, None] <= 95)  # its upper part flagged, down to row 95 as she is
    near_object = np.zeros(floor.shape, bool)
    near_object[62:100, 20:45] = True  # floats close in front of the floor, mostly a stage-1 hole
    depth[near_object] = 0.0
    depth[62:66, 20:45] = 0.45 * floor[99, 32]  # its few triangulated pixels, too near for the floor under it
    flagged = person | top
    settings = replace(MoverSettings(), contact_beside=0.3, beside_low=0.1)
    ground = ground_depth(depth, (depth > 0) & ~flagged & ~cabinet, settings)
    assert ground is not None
    out, handled = mover_depth(depth, flagged, ground, settings)
    assert not handled.any()  # beside_low: her feet are not in the lowest tenth of the rows
    out, handled = mover_depth(depth, flagged, ground, replace(settings, beside_stands=True))
    assert handled[person].all() and not handled[top].any()
    from stereodiff.stage1.movers.depth import _contact_beside
    from stereodiff.stage1.movers.ground import ground_pixels

    stands_on = replace(settings, beside_stands=True)
    moving = flagged | near_object
    on_ground = ground_pixels(depth, ground, stands_on) & ~moving
    assert _contact_beside(depth, person, ground, on_ground, moving, stands_on)[1] is not None
    assert _contact_beside(depth, near_object, ground, on_ground, moving, stands_on)[1] is None  # near_holes'
    np.testing.assert_allclose(out[person], floor[95, 67], rtol=0.03)
    np.testing.assert_array_equal(out[cabinet], depth[cabinet])
    assert MoverSettings().beside_stands is False and GeometricConfig().movers_beside_stands is False  # off
    from stereodiff.config import PipelineConfig

    with pytest.raises(ValueError, match="movers_beside_stands"):
        PipelineConfig(stage1=GeometricConfig(movers_beside_stands=1)).validate()  # type: ignore[arg-type]


def test_near_contact_gives_a_person_nearer_than_her_feet_the_floor_there_but_not_a_cabinets_top():
    """``near_contact`` (close-object s0): a person walking against a sideways camera is triangulated at 0.4× her
    depth; the segmentation flags her upper body (rows 40–80 of 120) and not her legs, which stage 1 puts as near;
    her feet stand on the floor at row 95, mid-image (``contact_beside`` with ``beside_low`` leaves her). With the
    option her flagged part, grown down her legs at her own depth, takes the floor's depth at her feet. The flagged
    upper part of a static cabinet, as near against the floor at its own rows, is grown down its own body to its
    foot, where it is not nearer than the floor: it keeps its depth (it would not without the growth: the floor is
    seen within ``contact_rows`` under its flagged part)."""
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.depth import mover_depth

    floor, depth, person = _person_near_on_floor(0.4)
    upper = person & (np.arange(120)[:, None] <= 80)  # flagged; her legs below are not
    cabinet = np.zeros(floor.shape, bool)
    cabinet[40:113, 110:140] = True  # static, standing on the floor at row 112, at its depth
    depth[cabinet] = floor[112, 125]
    top = cabinet & (np.arange(120)[:, None] <= 95)  # its upper part flagged
    flagged = upper | top
    settings = replace(MoverSettings(), contact_beside=0.3, beside_low=0.1)
    ground = ground_depth(depth, (depth > 0) & ~flagged & ~cabinet & ~person, settings)
    assert ground is not None
    out, handled = mover_depth(depth, flagged, ground, settings)
    assert not handled.any()  # no rule: nearer than the ground, feet mid-image
    out, handled = mover_depth(depth, flagged, ground, replace(settings, near_contact=0.3))
    assert handled[upper].all() and handled[person].mean() > 0.95  # her legs too (grown down)
    np.testing.assert_allclose(out[person], floor[95, 67], rtol=0.03)
    assert not handled[cabinet].any()
    np.testing.assert_array_equal(out[cabinet], depth[cabinet])
    assert MoverSettings().near_contact == 0 == GeometricConfig().movers_near_contact  # off
    assert preset_config("cpu").stage1.movers_near_contact == 0.3  # on in the cpu preset
    assert mover_settings(GeometricConfig(movers_near_contact=0.3)).near_contact == 0.3
    assert mover_settings(GeometricConfig(movers_near_contact=0.3), ahead=True).near_contact == 0  # driving's
    with pytest.raises(ValueError, match="movers_near_contact"):
        PipelineConfig(stage1=GeometricConfig(movers_near_contact=1.0)).validate()


def test_one_sway_gap_per_track_gives_its_depth_to_every_cut_region_it_is_nearer_than():
    """``cut_sway_whole``: a track's sway depth (gauge log 0) is 0.55, 0.62, 0.45 and 0.95 of its cut regions' depths
    after the bound (an uncut region too): alone, the gap of 0.4 takes the 0.55 and 0.45 regions and leaves the 0.62
    one at its bound; with one gap per track (the median, 0.58, passes) it takes the 0.62 one too but not the 0.95
    one (nearer by less than ``CUT_GAP``), and a track whose median fails (0.625) keeps the per-region test. Off by
    default and in the ``cpu`` preset; validated as a bool."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import _swayed_nodes

    nodes = [(0, 1, 0.0, True), (1, 1, 0.0, True), (2, 1, 0.0, True), (3, 1, 0.0, False), (4, 1, 0.0, True)]
    relative = dict.fromkeys(range(5), 0.0)
    ratios = {0: 0.55, 1: 0.62, 2: 0.45, 3: 0.3, 4: 0.95}  # the sway's depth ÷ each region's current depth
    current = {i: -float(np.log(r)) for i, r in ratios.items()}
    settings = MoverSettings(cut_track=32, cut_sway=0.01, cut_sway_gap=0.4)
    assert not settings.cut_sway_whole
    assert _swayed_nodes(list(range(5)), nodes, relative, current, 0.0, settings) == [0, 2]
    whole = replace(settings, cut_sway_whole=True)
    assert _swayed_nodes(list(range(5)), nodes, relative, current, 0.0, whole) == [0, 1, 2]
    far = {i: -float(np.log(r)) for i, r in {0: 0.62, 1: 0.63, 2: 0.45, 3: 0.3, 4: 0.95}.items()}
    assert _swayed_nodes(list(range(5)), nodes, relative, far, 0.0, whole) == [2]
    cpu = preset_config("cpu").stage1
    assert not GeometricConfig().movers_cut_sway_whole and not cpu.movers_cut_sway_whole
    assert mover_settings(replace(cpu, movers_cut_sway_whole=True), ahead=False).cut_sway_whole
    with pytest.raises(ValueError, match="movers_cut_sway_whole"):
        GeometricConfig(movers_cut_sway_whole=1).validate()


def test_a_cut_region_the_sways_gap_refuses_moves_the_blends_share_of_the_way_to_the_sway():
    """``cut_sway_blend``: a track's sway depth (gauge log 0) is 0.55, 0.78, 0.95, 1.2 and 0.3 of its regions' depths
    after the bound (the last one uncut): the gap of 0.4 takes the 0.55 region whole; with the blend of 0.5 the 0.78
    and 0.95 ones move half the way in log depth (to √0.78 and √0.95 of their bound), the one the sway puts beyond
    its bound and the uncut one keep theirs; the blend of 0 moves nothing. Off by default, 0.5 in the ``cpu`` preset;
    validated in [0, 1)."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.movers.tracking import _blended_nodes, _swayed_nodes

    nodes = [(k, 1, 0.0, k != 4) for k in range(5)]
    relative = dict.fromkeys(range(5), 0.0)
    ratios = {0: 0.55, 1: 0.78, 2: 0.95, 3: 1.2, 4: 0.3}  # the sway's depth ÷ each region's current depth
    current = {i: -float(np.log(r)) for i, r in ratios.items()}
    settings = MoverSettings(cut_track=32, cut_sway=0.01, cut_sway_gap=0.4)
    taken = _swayed_nodes(list(range(5)), nodes, relative, current, 0.0, settings)
    assert taken == [0]
    assert _blended_nodes(list(range(5)), nodes, relative, current, 0.0, taken, settings.cut_sway_blend) == {}
    blended = _blended_nodes(list(range(5)), nodes, relative, current, 0.0, taken, 0.5)
    assert sorted(blended) == [1, 2]
    for i in (1, 2):
        np.testing.assert_allclose(np.exp(blended[i] - current[i]), np.sqrt(ratios[i]))
    from stereodiff.stage1.movers.sway import SwayInputs
    from stereodiff.stage1.movers.tracking import track_cut_depth

    grey, depth, moving, truth, focal = _swaying_camera_and_sliding_box(0.1)  # the sway's estimate 2.15, truth 2
    depth = np.where(moving, 3.0, depth).astype(np.float32)  # a bound of 3: the estimate 0.72 of it, refused by 0.35
    poses = np.tile(np.eye(4), (len(grey), 1, 1))
    poses[:, 0, 3] = 0.01 * np.arange(len(grey))
    poses[:, 1, 3] = 0.1 * np.sin(2 * np.pi * np.arange(len(grey)) / 12)
    swaying = MoverSettings(cut_track=32, cut_sway=0.04, cut_sway_levels=True, cut_sway_gap=0.35, cut_sway_blend=0.5)
    out = depth.copy()
    sway = SwayInputs(moving, np.full(len(grey), focal), swaying, poses)
    given = track_cut_depth(grey, out, moving, 32, 7, sway=sway)
    assert given[moving].all() and truth < np.median(out[moving]) < 3.0
    np.testing.assert_allclose(np.median(out[moving]), np.sqrt(3.0 * 2.15), rtol=0.03)  # halfway, in log depth
    cpu = preset_config("cpu").stage1
    assert GeometricConfig().movers_cut_sway_blend == 0 and cpu.movers_cut_sway_blend == 0.5
    assert mover_settings(cpu, ahead=False).cut_sway_blend == 0.5
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="movers_cut_sway_blend"):
            GeometricConfig(movers_cut_sway_blend=bad).validate()


def test_hole_carry_follows_a_given_person_over_the_frames_where_she_is_a_hole():
    """A person given 4.0 in frame 0 walks right 3 px a frame; stage 1 leaves her a hole in frames 1–3 and sees her
    in frame 4 (triangulated 3.9): the carry gives 4.0 to her holes in frames 1–3 only. A frame where the hole she
    lands on is a wide one (the near object crossing in front) ends the track, and a static wall is never given."""
    from stereodiff.stage1.movers.tracking import carry_hole_depth

    n, h, w = 7, 60, 320  # 320 wide: the search reaches 4 px a frame
    depth = np.full((n, h, w), 8.0, np.float32)  # the wall
    handled = np.zeros((n, h, w), bool)
    person = np.zeros((n, h, w), bool)
    for k in range(n):
        person[k, 15:50, 100 + 3 * k : 112 + 3 * k] = True
    depth[0][person[0]], handled[0] = 4.0, person[0]
    for k in (1, 2, 3):
        depth[k][person[k]] = 0.0  # a hole
    depth[4][person[4]] = 3.9  # seen: the track ends there
    depth[5][person[5]] = 0.0
    depth[6][:, 60:200] = 0.0  # a wide hole covering her
    before = depth.copy()
    given = carry_hole_depth(depth, handled, frames=6, min_area=0.001)
    for k in (1, 2, 3):
        assert np.array_equal(given[k], person[k]) and np.all(depth[k][person[k]] == 4.0)
    assert not given[4:].any() and np.array_equal(depth[4:], before[4:])  # seen in 4: 5 and 6 not reached
    assert not given[0].any() and np.all(depth[~given] == before[~given])
    # frame 4 a hole too: the track goes on to 5 and stops at 6's wide hole
    depth, handled5 = before.copy(), handled.copy()
    depth[4][person[4]] = 0.0
    given = carry_hole_depth(depth, handled5, frames=6, min_area=0.001)
    assert all(np.array_equal(given[k], person[k]) for k in (1, 2, 3, 4, 5)) and not given[6].any()
    assert np.all(depth[6] == before[6])
    # off within reach: frames beyond ``frames`` keep their holes
    depth = before.copy()
    given = carry_hole_depth(depth, handled, frames=2, min_area=0.001)
    assert given[1].any() and given[2].any() and not given[3].any() and np.all(depth[3][person[3]] == 0.0)


def test_hole_carry_place_search_counts_every_offset_as_the_loop_over_offsets():
    """The shape's place (the most holes covered, the first best in row-major order of the offsets, nothing outside
    the image) is the one a loop over every offset finds, near the image's sides and on ties too."""
    from stereodiff.stage1.movers.tracking import _best_place

    def by_loop(shape: np.ndarray, holes: np.ndarray, at: tuple[int, int], reach: int) -> tuple:
        (bh, bw), (h, w) = shape.shape, holes.shape
        padded = np.zeros((h + 2 * (bh + reach + 40), w + 2 * (bw + reach + 40)), bool)
        pad = bh + reach + 40, bw + reach + 40
        padded[pad[0] : pad[0] + h, pad[1] : pad[1] + w] = holes
        best = (at, -1)
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                y, x = at[0] + dy + pad[0], at[1] + dx + pad[1]
                count = int(np.count_nonzero(padded[y : y + bh, x : x + bw] & shape))
                if count > best[1]:
                    best = ((at[0] + dy, at[1] + dx), count)
        return best

    rng = np.random.default_rng(3)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(8, 40, 2))
        holes = rng.random((h, w)) < rng.random()
        shape = rng.random(tuple(int(v) for v in rng.integers(1, 12, 2))) < rng.random()
        at, reach = (int(rng.integers(-15, h + 3)), int(rng.integers(-15, w + 3))), int(rng.integers(1, 5))
        assert _best_place(shape, holes, at, reach) == by_loop(shape, holes, at, reach)
    assert _best_place(np.ones((2, 2), bool), np.zeros((9, 9), bool), (4, 4), 2) == ((2, 2), 0)  # a tie: the first


def test_hole_carry_after_near_holes_carries_the_movers_regions_only():
    """After ``near_holes``: the person given 4.0 in frame 0 is carried over her holes in frames 1–2 (depth, valid,
    ``movers_given``, the sources' median confidence); the near object ``near_holes`` gave 1.0 in frame 0 is no
    source (its holes in frames 1–2 stay holes); 0 frames or no ``movers_given`` leave the scene as it is."""
    from stereodiff.stage1.hole_carry import hole_carry_after

    n, h, w = 3, 60, 320
    depth = np.full((n, h, w), 8.0, np.float32)
    person, box = np.zeros((n, h, w), bool), np.zeros((n, h, w), bool)
    for k in range(n):
        person[k, 15:50, 100 + 3 * k : 112 + 3 * k] = True
        box[k, 10:40, 200 + 3 * k : 230 + 3 * k] = True
    depth[person | box] = 0.0
    depth[0][person[0]], depth[0][box[0]] = 4.0, 1.0
    given = np.zeros((n, h, w), bool)
    given[0] = person[0] | box[0]
    near = np.zeros((n, h, w), bool)
    near[0] = box[0]
    confidence = np.where(depth > 0, 0.5, 0.0).astype(np.float32)
    confidence[0][person[0]] = 0.25
    scene = _still_camera_scene(depth, confidence, given)
    out = hole_carry_after(scene, near, frames=4, min_area=0.001)
    carried = person.copy()
    carried[0] = False
    assert np.all(out.depth[carried] == 4.0) and np.all(out.confidence[carried] == 0.25)
    assert np.array_equal(out.movers_given, given | carried) and np.array_equal(out.valid, (depth > 0) | carried)
    assert np.all(out.depth[1:][box[1:]] == 0.0) and np.array_equal(out.depth[~carried], depth[~carried])
    with_box = hole_carry_after(scene, None, frames=4, min_area=0.001)  # no near_holes mask: the box is a source
    assert np.all(with_box.depth[1:][box[1:]] == 1.0)
    assert hole_carry_after(scene, near, frames=0, min_area=0.001) is scene
    assert hole_carry_after(replace(scene, movers_given=None), near, frames=4, min_area=0.001).movers_given is None


def test_hole_carry_colour_guard_takes_back_the_static_strips_beside_her():
    """A person (a red texture moving 3 px a frame) given with a 4-px strip of the static wall on each side in frames
    0 and 2 is carried over her hole in frame 1: with the colour guard the strips (static texture, matched in place by
    the still camera's neighbours) go back to holes, her own pixels keep the carried depth; off, the strips stay."""
    from stereodiff.stage1.hole_carry import hole_carry_after

    n, h, w = 3, 60, 160
    rng = np.random.default_rng(3)
    wall = rng.integers(0, 256, (h, w, 3), np.uint8)
    texture = rng.integers(0, 256, (36, 14, 3), np.uint8)
    texture[..., 0] = 255
    images = np.repeat(wall[None], n, axis=0)
    depth = np.full((n, h, w), 8.0, np.float32)
    given, her, strips = np.zeros((n, h, w), bool), np.zeros((n, h, w), bool), np.zeros((n, h, w), bool)
    for k in range(n):
        left = 60 + 3 * k
        images[k, 12:48, left : left + 14] = texture
        her[k, 12:48, left : left + 14] = True
        strips[k, 12:48, left - 4 : left + 18] = True
    strips &= ~her
    depth[her | strips] = 0.0
    for k in (0, 2):
        depth[k][her[k] | strips[k]], given[k] = 4.0, her[k] | strips[k]
    scene = _still_camera_scene(depth, np.where(depth > 0, 0.5, 0.0).astype(np.float32), given)
    off = hole_carry_after(scene, None, frames=2, min_area=0.001, images=images)
    assert np.all(off.depth[1][her[1] | strips[1]] == 4.0)  # no colour: the strips are carried
    out = hole_carry_after(scene, None, frames=2, min_area=0.001, images=images, colour=3.0)
    assert np.mean(out.depth[1][her[1]] == 4.0) > 0.95 and np.all(out.movers_given[1][out.depth[1] == 4.0])
    back = out.depth[1][strips[1]] == 0.0
    assert back.mean() > 0.9 and not np.any(out.movers_given[1][strips[1]][back])
    assert not np.any(out.valid[1][strips[1]][back])
    assert np.array_equal(out.depth[[0, 2]], depth[[0, 2]])


def _still_camera_scene(depth: np.ndarray, confidence: np.ndarray, given: np.ndarray) -> SceneGeometry:
    """A scene of ``depth`` / ``confidence`` ``[n,h,w]`` float32 and ``movers_given`` ``given`` ``[n,h,w]`` bool seen
    by a still camera (focal 300 px, centred), valid where the depth is positive."""
    n, h, w = depth.shape
    return SceneGeometry(
        depth=depth,
        confidence=confidence,
        focal=np.full(n, 300.0),
        principal_point=np.tile([w / 2, h / 2], (n, 1)).astype(np.float64),
        cam_to_world=np.tile(np.eye(4), (n, 1, 1)),
        valid=depth > 0,
        movers_given=given,
    )


def _random_movers_scene(n: int, h: int, w: int, seed: int) -> tuple[SceneGeometry, np.ndarray]:
    """A random scene of ``n`` frames: boxes sliding a few px a frame over a wall, holes in most frames, given
    (``movers_given``) in some, a few near-holes regions; and its ``near_given`` mask."""
    rng = np.random.default_rng(seed)
    depth = np.full((n, h, w), 8.0, np.float32) + rng.random((n, h, w), np.float32)
    given, near = np.zeros((n, h, w), bool), np.zeros((n, h, w), bool)
    for _ in range(6):
        top, left, bh, bw = int(rng.integers(0, h - 12)), int(rng.integers(0, w - 20)), 10, 14
        dy, dx, value = int(rng.integers(-1, 2)), int(rng.integers(-2, 3)), float(rng.uniform(1, 6))
        for k in range(n):
            y, x = (top + dy * k) % (h - bh), (left + dx * k) % (w - bw)
            box = (slice(k, k + 1), slice(y, y + bh), slice(x, x + bw))
            state = rng.random()
            depth[box] = value if state < 0.2 else (value * 0.9 if state < 0.3 else 0.0)
            given[box] = state < 0.2
            near[box] = state < 0.04
    return _still_camera_scene(depth, rng.random((n, h, w), np.float32), given), near


def test_hole_carry_after_in_blocks_gives_the_whole_videos_carry_bit_for_bit(monkeypatch, tmp_path):
    """Blocks of 16 frames (each with ``frames`` of context, written to memmaps) give the depth, confidence,
    validity and ``movers_given`` of one carry over the whole video, bit for bit, tracks crossing the blocks."""
    from stereodiff.stage1 import hole_carry
    from stereodiff.stage1.movers.tracking import carry_hole_depth

    scene, near = _random_movers_scene(70, 30, 60, seed=5)
    handled = scene.movers_given & ~near
    depth = scene.depth.copy()
    given = carry_hole_depth(depth, handled, frames=6, min_area=0.01)
    confidence = scene.confidence.copy()
    confidence[given] = float(np.median(scene.confidence[handled]))
    assert given[:16].any() and given[16:32].any() and given[48:].any()
    monkeypatch.setattr(hole_carry, "HOLE_CARRY_BLOCK", 16)
    for out_dir in (None, tmp_path):
        out = hole_carry.hole_carry_after(scene, near, frames=6, min_area=0.01, out_dir=out_dir)
        assert np.array_equal(out.depth, depth) and np.array_equal(out.confidence, confidence)
        assert np.array_equal(out.valid, scene.valid | given)
        assert np.array_equal(out.movers_given, scene.movers_given | given)
    assert (tmp_path / "carry_depth.npy").exists()


def test_hole_carry_setting_reaches_the_movers_and_is_off_by_default():
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.geometric import mover_settings

    assert MoverSettings().hole_carry == 0 == GeometricConfig().movers_hole_carry  # off
    assert preset_config("cpu").stage1.movers_hole_carry == 0
    assert mover_settings(GeometricConfig(movers_hole_carry=16)).hole_carry == 16
    assert mover_settings(GeometricConfig(movers_hole_carry=16), ahead=True).hole_carry == 0
    after = GeometricConfig(movers_hole_carry=16, movers_hole_carry_after=True)
    assert not GeometricConfig().movers_hole_carry_after and not preset_config("cpu").stage1.movers_hole_carry_after
    assert mover_settings(after).hole_carry == 0  # the geometric matcher carries after near_holes instead
    with pytest.raises(ValueError, match="movers_hole_carry_after"):
        PipelineConfig(stage1=GeometricConfig(movers_hole_carry_after=1)).validate()  # type: ignore[arg-type]
    assert GeometricConfig().movers_hole_carry_colour == 0 == preset_config("cpu").stage1.movers_hole_carry_colour
    with pytest.raises(ValueError, match="movers_hole_carry_colour"):
        PipelineConfig(stage1=GeometricConfig(movers_hole_carry_colour=-1.0)).validate()
    with pytest.raises(ValueError, match="movers_hole_carry"):
        PipelineConfig(stage1=GeometricConfig(movers_hole_carry=-1)).validate()
