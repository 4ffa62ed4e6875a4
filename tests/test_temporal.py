"""Weights-free stage 2 (temporal refiner): hole filling, flicker removal, scale preservation, streaming."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.stage2.hole_fill import domain_transform_filter
from stereodiff.stage2.temporal import TemporalRefiner, guided_upsample
from stereodiff.synth.simulated_stage1 import simulate_stage1


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """``[size,size,3]`` float RGB texture in [0,1] with detail at several scales (trackable by optical flow)."""
    import cv2

    tex = np.zeros((size, size, 3), np.float32)
    for cells in (4, 16, 64):
        coarse = rng.random((cells, cells, 3)).astype(np.float32)
        tex += cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC) / 3
    return np.clip(tex, 0, 1)


def _scene(
    num_frames: int = 16, h: int = 48, w: int = 64, seed: int = 0, box_velocity=(0.04, 0.0), box_bright: bool = True
):
    """A panning camera over a slanted textured wall with a textured box moving in front of it (``box_velocity``
    world units per frame, x and y), brighter than the wall (``box_bright``) or coloured like it.

    Returns frames ``[T,h,w,3]`` uint8, depth ``[T,h,w]`` float32 metres (exact), dynamic mask ``[T,h,w]`` bool.
    Textures are sampled bilinearly at about one texel per pixel (no aliasing).
    """
    import cv2

    rng = np.random.default_rng(seed)
    wall, box = _texture(rng, 256), _texture(rng, 64)
    f = 0.9 * w
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    rx, ry = (u - w / 2) / f, (v - h / 2) / f
    texels = f / 4  # texels per world unit: ≈ 1 texel per pixel on the wall
    frames = np.zeros((num_frames, h, w, 3), np.uint8)
    depth = np.zeros((num_frames, h, w), np.float32)
    mask = np.zeros((num_frames, h, w), bool)
    for t in range(num_frames):
        cam_x = 0.02 * t
        z_wall = 4.0 / (1.0 - 0.5 * ry)  # wall z = 4 + 0.5·Y
        wx, wy = cam_x + rx * z_wall, ry * z_wall
        img = cv2.remap(wall, (wx + 2) * texels, (wy + 2) * texels, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        z_box = 2.0
        bx, by = cam_x + rx * z_box, ry * z_box
        left, top = -0.5 + box_velocity[0] * t, -0.3 + box_velocity[1] * t
        hit = (bx > left) & (bx < left + 0.5) & (by > top) & (by < top + 0.5)
        box_x, box_y = (bx - left) * texels, (by - top) * texels
        box_img = cv2.remap(box, box_x, box_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        img = np.where(hit[..., None], 0.5 * box_img + 0.5 if box_bright else box_img, img)
        frames[t] = (img * 255).astype(np.uint8)
        depth[t] = np.where(hit, z_box, z_wall)
        mask[t] = hit
    return frames, depth, mask


def _frame_absrel(pred: np.ndarray, gt: np.ndarray, scale: float) -> np.ndarray:
    """``[T]`` per-frame AbsRel after one video-wide scale."""
    return np.abs(pred * scale - gt).reshape(len(gt), -1).mean(1) / 1.0 / gt.reshape(len(gt), -1).mean(1)


def _median_scale(pred: np.ndarray, gt: np.ndarray) -> float:
    good = pred > 0
    return float(np.median(gt[good] / pred[good]))


def test_constant_scale_input_keeps_its_scale_and_does_not_drift():
    frames, depth, _ = _scene()
    refined = TemporalRefiner(window=8, overlap=4).refine(frames, 2.5 * depth, np.ones_like(depth))
    ratio = np.median((refined / depth).reshape(len(depth), -1), axis=1)  # [T]
    np.testing.assert_allclose(ratio, 2.5, rtol=0.01)
    assert np.median(np.abs(refined / depth - 2.5)) < 0.02 * 2.5


def test_flicker_is_removed_but_the_level_is_kept():
    frames, depth, _ = _scene(num_frames=24)
    rng = np.random.default_rng(1)
    flicker = np.exp(0.08 * rng.standard_normal(len(depth))).astype(np.float32)  # per-frame scale jitter
    noisy = depth * flicker[:, None, None]
    refined = TemporalRefiner().refine(frames, noisy, np.ones_like(depth))
    before = np.log(np.median((noisy / depth).reshape(len(depth), -1), axis=1))
    after = np.log(np.median((refined / depth).reshape(len(depth), -1), axis=1))
    jitter = lambda x: np.std(np.diff(x))  # noqa: E731
    assert jitter(after) < jitter(before) / 3  # frame-to-frame flicker reduction factor ≥ 3
    assert abs(after.mean() - before.mean()) < 0.01  # video-wide level untouched (geometric mean)


def test_hole_filling_does_not_cross_a_depth_edge():
    h, w = 40, 60
    frames = np.zeros((1, h, w, 3), np.uint8)
    frames[0, :, : w // 2] = (200, 40, 40)
    frames[0, :, w // 2 :] = (40, 40, 200)
    depth = np.where(np.arange(w) < w // 2, 1.0, 3.0).astype(np.float32)[None, None].repeat(h, 1)
    conf = np.ones_like(depth)
    holed = depth.copy()
    holed[0, 10:30, 15:45] = 0.0  # a 20×30 hole straddling the edge at column 30
    conf[holed == 0] = 0.0
    refined = TemporalRefiner().refine(frames, holed, conf)
    np.testing.assert_allclose(refined[0, 10:30, 15:29], 1.0, rtol=0.02)
    np.testing.assert_allclose(refined[0, 10:30, 31:45], 3.0, rtol=0.02)


def test_a_moving_object_missing_in_one_frame_gets_its_depth_from_its_past_and_future():
    from scipy.ndimage import binary_erosion

    frames, depth, mask = _scene(num_frames=16)
    holed, conf = depth.copy(), np.ones_like(depth)
    holed[8][mask[8]] = 0.0  # stage 1 lost the whole box (2 m, in front of a 4 m wall) in frame 8
    conf[8][mask[8]] = 0.0
    inner = binary_erosion(mask[8], iterations=1)
    spatial_only = TemporalRefiner(temporal_decay=0.0).refine(frames, holed, conf)
    assert np.median(spatial_only[8][inner]) > 3.5  # space alone can only borrow the wall's depth
    refined = TemporalRefiner().refine(frames, holed, conf)
    assert abs(np.median(refined[8][inner]) / 2.0 - 1) < 0.08
    assert np.abs(refined[8][inner] / 2.0 - 1).max() < 0.15


def test_a_frame_without_depth_takes_it_from_its_neighbours():
    frames, depth, _ = _scene(num_frames=12)
    holed = depth.copy()
    holed[5] = 0.0
    refined = TemporalRefiner().refine(frames, holed, np.ones_like(depth))
    assert np.median(np.abs(refined[5] / depth[5] - 1)) < 0.03
    alone = TemporalRefiner().refine(frames[:1], holed[5:6], np.ones_like(depth[:1]))
    assert np.all(alone == 0)  # nothing is known about a lone frame without depth


def test_fill_frames_fills_holes_from_their_region_and_takes_carried_depth_as_stage_1_depth():
    """The spatial fill of a block: a hole in flat colour takes a depth between its region's two sides; a hole pixel
    given carried depth (``hole_warp_frames``) with trust 1 keeps exactly that depth; confident pixels keep theirs;
    the temporal weight is at least ``fill_weight`` in a frame with depth and 0 in one without; the inputs are not
    changed."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((2, 20, 30, 3), 0.5, np.float32)  # flat colour: one region
    log_d = np.zeros((2, 20, 30), np.float32)
    log_d[0, :, :10], log_d[0, :, 20:] = np.log(2.0), np.log(4.0)
    weight = np.zeros((2, 20, 30), np.float32)  # frame 1: no depth at all
    weight[0, :, :10] = weight[0, :, 20:] = 1.0  # frame 0: a hole in columns 10..19
    carried_log, trust = np.zeros_like(log_d), np.zeros_like(weight)
    carried_log[0, 5, 15], trust[0, 5, 15] = np.log(3.0), 1.0
    inputs = (log_d.copy(), weight.copy())
    config = TemporalConfig(fill_weight=0.3)
    plain, carried = (fill_frames(config, rgb, log_d, weight, carried=given) for given in (None, (carried_log, trust)))
    hole = plain[0].estimate[:, 10:20]
    assert (hole > np.log(2.0)).all() and (hole < np.log(4.0)).all()
    np.testing.assert_array_equal(plain[0].estimate[:, :10], np.log(np.float32(2.0)))
    assert carried[0].estimate[5, 15] == np.log(np.float32(3.0)) != plain[0].estimate[5, 15]
    assert [f.has_data for f in plain] == [True, False]
    assert plain[0].weight.min() == np.float32(0.3) and not plain[1].weight.any()
    np.testing.assert_array_equal(log_d, inputs[0])
    np.testing.assert_array_equal(weight, inputs[1])


def test_fill_frames_gives_the_same_bits_on_any_number_of_threads():
    """Each frame of a block is filled on its own (on ``num_workers`` threads): the cpu preset's fill rules on a
    textured block with holes give the same bits from 1, 2 or 3 threads."""
    import dataclasses

    from stereodiff.config import preset_config
    from stereodiff.stage2.hole_fill import fill_frames

    rng = np.random.default_rng(3)
    n, h, w = 5, 40, 56
    rgb = np.repeat(_texture(rng, w)[None, :h], n, 0)  # [n,h,w,3]
    log_d = np.log(rng.uniform(1.0, 4.0, (n, h, w))).astype(np.float32)
    weight = rng.uniform(0.2, 1.0, (n, h, w)).astype(np.float32)
    weight[:, 10:25, 20:40] = 0.0  # a hole in every frame
    log_d[weight == 0] = 0.0
    motion = (rng.random((n, h, w)).astype(np.float32), rng.random((n, h, w)).astype(np.float32))
    preset = preset_config("cpu").stage2
    results = []
    for workers in (1, 2, 3):
        config = dataclasses.replace(preset, num_workers=workers)
        filled = fill_frames(config, rgb, log_d, weight, motion=motion, lean=np.zeros((h, w), bool), up=True)
        results.append([(f.estimate.tobytes(), f.weight.tobytes(), f.has_data) for f in filled])
    assert results[0] == results[1] == results[2]


def test_domain_transform_filter_keeps_constants_and_stops_at_edges():
    guide = np.zeros((1, 20, 30, 3), np.float32)
    guide[:, :, 15:] = 1.0
    values = np.ones((1, 1, 20, 30), np.float32)
    np.testing.assert_allclose(domain_transform_filter(values, guide, sigma_s=10, sigma_r=0.1), 1.0, rtol=1e-5)
    step = np.where(np.arange(30) < 15, 0.0, 1.0).astype(np.float32)[None, None, None].repeat(20, 2)
    out = domain_transform_filter(step, guide, sigma_s=10, sigma_r=0.1)
    assert np.abs(out - step).max() < 1e-3


def _plain_domain_transform(values, guide, sigma_s, sigma_r, iterations):
    """The filter with numpy's own transposes (the layout the blocked transposes replaced), as a reference."""
    import math

    from stereodiff.stage2.hole_fill import _recursive_pass, colour_l1

    ratio = sigma_s / sigma_r
    dx = 1.0 + ratio * colour_l1(np.diff(guide, axis=2))
    dy = 1.0 + ratio * colour_l1(np.diff(guide, axis=1))
    out = np.ascontiguousarray(values.transpose(3, 0, 1, 2))
    dx = np.ascontiguousarray(dx.transpose(2, 0, 1))[:, :, None, :]
    dy = np.ascontiguousarray(dy.transpose(1, 0, 2))[:, :, None, :]
    for k in range(iterations):
        sigma_k = sigma_s * math.sqrt(3.0) * 2 ** (iterations - k - 1) / math.sqrt(4**iterations - 1)
        a = math.exp(-math.sqrt(2.0) / sigma_k)
        _recursive_pass(out, np.power(a, dx, dtype=np.float32))
        out = np.ascontiguousarray(out.transpose(3, 1, 2, 0))
        _recursive_pass(out, np.power(a, dy, dtype=np.float32))
        out = np.ascontiguousarray(out.transpose(3, 1, 2, 0))
    return out.transpose(1, 2, 3, 0)


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_domain_transform_filter_is_the_plain_transposed_filter_bit_for_bit(iterations):
    rng = np.random.default_rng(iterations)
    guide = rng.random((3, 13, 17, 3), dtype=np.float32)
    values = rng.random((3, 5, 13, 17), dtype=np.float32)
    expected = _plain_domain_transform(values, guide, 6.0, 0.2, iterations)
    for workers in (1, 2, 3, 5):  # each frame on its own: the same bits from any number of threads
        out = domain_transform_filter(
            values, guide, sigma_s=6.0, sigma_r=0.2, iterations=iterations, num_workers=workers
        )
        assert out.shape == values.shape and out.dtype == np.float32 and out.flags.c_contiguous
        assert out.tobytes() == np.ascontiguousarray(expected).tobytes()
    wide = values.astype(np.float64)  # float64: the same filter
    assert domain_transform_filter(wide, guide, sigma_s=6.0, sigma_r=0.2, iterations=iterations).tobytes() == (
        np.ascontiguousarray(_plain_domain_transform(wide, guide, 6.0, 0.2, iterations)).tobytes()
    )


def test_domain_transform_filter_of_channel_planes_is_that_of_their_stack_bit_for_bit():
    """The fill passes its channels as planes (no ``np.stack`` copy): the same bits, in the dtype the stack would
    have (a float64 plane makes the whole block float64), from any number of threads."""
    rng = np.random.default_rng(7)
    guide = rng.random((5, 11, 14, 3), dtype=np.float32)
    for dtypes in ((np.float32,) * 3, (np.float32, np.float64, np.float32)):
        planes = [rng.random((5, 11, 14)).astype(dtype) for dtype in dtypes]
        stacked = np.stack(planes, axis=1)
        for iterations in (0, 2):
            expected = domain_transform_filter(stacked, guide, sigma_s=5.0, sigma_r=0.3, iterations=iterations)
            assert expected.dtype == stacked.dtype
            for workers in (1, 2, 3):
                out = domain_transform_filter(
                    planes, guide, sigma_s=5.0, sigma_r=0.3, iterations=iterations, num_workers=workers
                )
                assert out.shape == stacked.shape and out.dtype == stacked.dtype
                assert out.tobytes() == expected.tobytes()
    np.testing.assert_array_equal(
        domain_transform_filter(stacked, guide, sigma_s=5.0, sigma_r=0.3, iterations=0), stacked
    )


def test_guided_upsample_reproduces_a_smooth_map():
    import cv2

    big = cv2.resize((_texture(np.random.default_rng(0), 64) * 255).astype(np.uint8), (96, 64))
    yy, xx = np.mgrid[0:32, 0:48].astype(np.float32)
    low = 0.01 * xx + 0.02 * yy
    up = guided_upsample(low, big, radius=1, eps=1e-2)
    assert up.shape == (64, 96)
    yb, xb = np.mgrid[0:64, 0:96].astype(np.float32)
    expected = 0.01 * ((xb + 0.5) / 2 - 0.5) + 0.02 * ((yb + 0.5) / 2 - 0.5)
    assert np.abs(up - expected)[4:-4, 4:-4].max() < 0.02


def test_simulated_stage1_dynamic_region_improves_and_flicker_drops():
    frames, depth, mask = _scene(num_frames=24)
    sim = simulate_stage1(depth, mask, seed=3)
    refined = TemporalRefiner().refine(frames, sim.depth, sim.confidence)
    s1, s2 = _median_scale(sim.depth, depth), _median_scale(refined, depth)
    err1 = np.abs(sim.depth * s1 - depth) / depth
    err2 = np.abs(refined * s2 - depth) / depth
    have = sim.depth > 0
    assert err2[mask & have].mean() < 0.7 * err1[mask & have].mean()
    seq1 = np.array([err1[k][have[k]].mean() for k in range(len(depth))])
    seq2 = err2.reshape(len(depth), -1).mean(1)
    assert np.std(np.diff(seq2)) < np.std(np.diff(seq1)) / 2
    assert seq2.mean() <= seq1.mean() * 1.02


def test_windowed_run_matches_single_window_and_resumes_from_cache(tmp_path):
    frames, depth, mask = _scene(num_frames=20)
    sim = simulate_stage1(depth, mask, seed=5)
    single = TemporalRefiner(temporal_decay=0.7, window=20).refine(frames, sim.depth, sim.confidence)
    refiner = TemporalRefiner(temporal_decay=0.7, window=6, overlap=10)
    out = np.lib.format.open_memmap(tmp_path / "out.npy", mode="w+", dtype=np.float32, shape=single.shape)
    streamed = refiner.refine(frames, sim.depth, sim.confidence, out=out, cache_dir=tmp_path / "cache")
    assert streamed is out
    # documented tolerance: what lies beyond the context weighs ≈ temporal_decay ** overlap = 0.7**10 ≈ 3%
    diff = np.abs(np.log(streamed) - np.log(single))
    assert diff.max() < 0.03 and diff.mean() < 1e-3
    assert diff.max() > 0  # the windows really were cut (not one window in disguise)
    assert len(list((tmp_path / "cache").glob("window_*.npy"))) == 4
    again = refiner.refine(frames, sim.depth, sim.confidence, cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again, streamed)
    with pytest.raises(InputError, match="other settings"):
        TemporalRefiner(window=6, overlap=4).refine(frames, sim.depth, sim.confidence, cache_dir=tmp_path / "cache")


def test_a_windowed_run_leaves_its_memory_mapped_inputs_on_disk(tmp_path):
    """Memory flat in the video length: after a windowed run on memory-mapped inputs (as the pipeline passes the
    saved scene), none of their pages stays resident, ``movers_given`` included (read by the outline rule window by
    window, it used to stay resident whole: 23 MB more at 600 frames than at 300 at 320×240)."""
    import sys

    from conftest import resident_kib

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/smaps")
    frames, depth, mask = _scene(num_frames=20)
    sim = simulate_stage1(depth, mask, seed=5)
    inputs = {"frames": frames, "depth": sim.depth, "confidence": sim.confidence, "movers_given": mask}
    for name, array in inputs.items():
        np.save(tmp_path / f"{name}.npy", array)
    mapped = {name: np.load(tmp_path / f"{name}.npy", mmap_mode="r") for name in inputs}
    refiner = TemporalRefiner(window=6, overlap=4, hole_outline_px=6, hole_outline_mover_px=3)
    refined = refiner.refine(
        mapped["frames"], mapped["depth"], mapped["confidence"], movers_given=mapped["movers_given"]
    )
    assert refined.shape == depth.shape and np.isfinite(refined).all() and (refined > 0).all()
    for name in inputs:
        assert resident_kib(tmp_path / f"{name}.npy") == 0, name


def test_resumed_run_fills_the_same_frame_batches(tmp_path, monkeypatch):
    """The batched spatial fill of a resumed run sees only batches (shape and bytes) the uninterrupted run saw, so
    its numbers are bit-identical by construction; the real filter runs, the wrapper only records its inputs."""
    import hashlib

    from stereodiff.stage2 import hole_fill

    frames, depth, mask = _scene(num_frames=20)
    sim = simulate_stage1(depth, mask, seed=5)
    calls: list[tuple] = []

    def recorded(values, guide, **kwargs):
        block = values if isinstance(values, np.ndarray) else np.stack(values, axis=1)  # the fill passes its planes
        calls.append((block.shape, hashlib.sha1(block.tobytes() + guide.tobytes()).hexdigest()))
        return filter_(values, guide, **kwargs)

    filter_ = hole_fill.domain_transform_filter
    monkeypatch.setattr(hole_fill, "domain_transform_filter", recorded)
    refiner = TemporalRefiner(temporal_decay=0.7, window=6, overlap=10)  # windows at 0, 6, 12, 18
    first = refiner.refine(frames, sim.depth, sim.confidence, cache_dir=tmp_path)
    uninterrupted, calls[:] = list(calls), []
    for index in (2, 3):  # killed after window 1: the resumed window 2 needs frames 2..19 at once
        (tmp_path / f"window_{index:05d}.npy").unlink()
    again = refiner.refine(frames, sim.depth, sim.confidence, cache_dir=tmp_path)
    assert calls and all(call in uninterrupted for call in calls)
    np.testing.assert_array_equal(again, first)


def test_bad_inputs_name_the_argument():
    frames, depth, _ = _scene(num_frames=3)
    with pytest.raises(ValueError, match="temporal_decay"):
        TemporalRefiner(temporal_decay=1.0)
    with pytest.raises(ValueError, match="confidence"):
        TemporalRefiner().refine(frames, depth, np.ones((3, 5, 5), np.float32))
    with pytest.raises(ValueError, match="frames"):
        TemporalRefiner().refine(frames[..., 0], depth, np.ones_like(depth))
    with pytest.raises(ValueError, match="depth has 2 frames"):
        TemporalRefiner().refine(frames, depth[:2], np.ones_like(depth[:2]))


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_hole_nearness_fills_holes_from_the_near_side_without_overflow(scale):
    """A hole in a flat-colour frame between a near half and a far half: the soft-min fill (applied to every hole,
    ``hole_motion_px=0``) leans to the near depth; the plain mean does not; any depth unit works (no inf/NaN)."""
    t, h, w = 3, 24, 32
    frames = np.full((t, h, w, 3), 128, np.uint8)
    depth = np.zeros((t, h, w), np.float32)
    depth[:, :, :12] = 1.0 * scale  # near
    depth[:, :, 20:] = 4.0 * scale  # far; columns 12-19 are a hole
    confidence = np.where(depth > 0, 1.0, 0.0).astype(np.float32)
    common = dict(work_long_side=32, temporal_decay=0.0)
    mean_fill = TemporalRefiner(hole_nearness=0.0, **common).refine(frames, depth, confidence)
    near_fill = TemporalRefiner(hole_nearness=20.0, hole_motion_px=0.0, **common).refine(frames, depth, confidence)
    assert np.isfinite(near_fill).all()
    hole = (slice(None), slice(4, -4), slice(14, 18))
    assert np.median(mean_fill[hole]) > 1.6 * scale  # the mean mixes both sides
    assert np.median(near_fill[hole]) < 1.3 * scale  # the soft minimum takes the near side
    np.testing.assert_allclose(near_fill[:, 4:-4, 2:8], 1.0 * scale, rtol=0.05)  # covered pixels keep their depth


def test_camera_motion_fit_predicts_the_depth_change_of_static_points():
    from stereodiff.stage2.temporal import camera_motion

    h, w = 60, 80
    focal = 0.5 * w / np.tan(np.radians(30.0))  # the fit's assumed 60° field of view
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    depth = 3.0 + 0.02 * u + 0.5 * np.sin(v / 7.0)  # this frame's exact depth [h,w]
    here = np.stack([(u - centre[0]) / focal * depth, (v - centre[1]) / focal * depth, depth], -1)
    angle = np.radians(1.5)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    there = here @ rotation.T + np.array([0.03, -0.01, 0.12])  # the same points in the other frame's camera
    other_at = (there[..., :2] / there[..., 2:] * focal + centre).astype(np.float32)  # [h,w,2] what the flow gives
    other_log = np.log(there[..., 2]).astype(np.float32)
    weight = np.ones((h, w), np.float32)
    weight[:, :10] = 0.0  # untrusted matches are not used: make them wrong
    other_log[:, :10] += 1.0
    change = camera_motion(other_log, other_at, weight)
    assert change is not None
    np.testing.assert_allclose(np.exp(change.carry(other_log, other_at))[:, 10:], depth[:, 10:], rtol=1e-4)
    assert camera_motion(other_log, other_at, np.zeros_like(weight)) is None  # nothing trusted: no model


def test_camera_motion_hands_pnp_the_regular_subsample_of_the_trusted_pixels(monkeypatch):
    """The matches PnP gets are, bit for bit, every ``k``-th trusted pixel in row-major order (``np.nonzero`` of the
    mask, then the ``linspace`` pick): the flat-index selection that replaced ``np.nonzero`` changes nothing."""
    import cv2

    from stereodiff.stage2 import temporal

    rng = np.random.default_rng(3)
    h, w = 48, 70
    weight = rng.random((h, w)).astype(np.float32)  # ~half trusted (≥ 0.5), scattered
    other_at = (np.stack(np.mgrid[0:h, 0:w][::-1], -1) + rng.normal(0, 2, (h, w, 2))).astype(np.float32)
    other_log = rng.normal(1.0, 0.2, (h, w)).astype(np.float32)
    seen = {}

    def fake_pnp(points, pixels, *args, **kwargs):
        seen["points"], seen["pixels"] = points, pixels
        return False, None, None, None

    monkeypatch.setattr(cv2, "solvePnPRansac", fake_pnp)
    focal, centre = 50.0, (34.5, 23.5)
    assert temporal.camera_motion(other_log, other_at, weight, max_points=500, focal=focal, centre=centre) is None
    rows, cols = np.nonzero(weight >= 0.5)
    pick = np.linspace(0, rows.size - 1, 500).astype(np.int64)
    rows, cols = rows[pick], cols[pick]
    source = other_at[rows, cols].astype(np.float64)
    depth = np.exp(other_log[rows, cols].astype(np.float64))
    points = np.stack(
        [(source[:, 0] - centre[0]) / focal * depth, (source[:, 1] - centre[1]) / focal * depth, depth], axis=1
    )
    np.testing.assert_array_equal(seen["points"], points)
    np.testing.assert_array_equal(seen["pixels"], np.stack([cols, rows], axis=1).astype(np.float64))


def test_camera_motion_uses_the_camera_it_is_given():
    """Frames of a 90° camera with its principal point 3 px off centre: fitted for the 60° prior the carried depth
    is off by up to 3 % (1 % median, measured); with the true camera (e.g. stage 1's) it is exact."""
    from stereodiff.stage2.temporal import camera_motion

    h, w = 60, 80
    focal, centre = 0.5 * w, ((w - 1) / 2 + 3.0, (h - 1) / 2 - 2.0)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    depth = 3.0 + 0.02 * u + 0.5 * np.sin(v / 7.0)
    here = np.stack([(u - centre[0]) / focal * depth, (v - centre[1]) / focal * depth, depth], -1)
    angle = np.radians(3.0)
    rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
    there = here @ rotation.T + np.array([0.1, -0.01, 0.3])
    other_at = (there[..., :2] / there[..., 2:] * focal + np.array(centre)).astype(np.float32)
    other_log = np.log(there[..., 2]).astype(np.float32)
    weight = np.ones((h, w), np.float32)

    def error(**camera) -> float:
        motion = camera_motion(other_log, other_at, weight, **camera)
        return float(np.abs(np.exp(motion.carry(other_log, other_at)) / depth - 1).max())

    assert error(focal=focal, centre=centre) < 1e-5 < 5e-3 < error()


def test_the_refiner_takes_the_camera_stage_1_used(tmp_path):
    """The stage-2 stage hands stage 1's intrinsics to the temporal refiner, rescaled to its working resolution
    (the run's cache stamp records the camera used); without them it assumes the 60° prior."""
    import json

    from stereodiff.stage2.stages import SceneRefinerStage
    from stereodiff.types import SceneGeometry

    frames, depth, _ = _scene(num_frames=4, h=48, w=64)
    t = len(depth)
    centre = np.tile([30.0, 26.0], (t, 1))
    poses = np.tile(np.eye(4), (t, 1, 1))
    scene = SceneGeometry(depth, np.ones_like(depth), np.full(t, 80.0), centre, poses)
    out = np.zeros(depth.shape, np.float32)
    SceneRefinerStage(TemporalRefiner(work_long_side=32)).refine(frames, scene, out, cache_dir=tmp_path / "given")
    TemporalRefiner(work_long_side=32).refine(frames, depth, np.ones_like(depth), cache_dir=tmp_path / "prior")
    given = json.loads((tmp_path / "given" / "meta.json").read_text())["camera"]
    prior = json.loads((tmp_path / "prior" / "meta.json").read_text())["camera"]
    np.testing.assert_allclose(given, [40.0, 14.75, 12.75])  # half the size: (c + ½)/2 − ½
    np.testing.assert_allclose(prior, [16.0 / np.tan(np.radians(30.0)), 15.5, 11.5])


def test_depth_carried_along_the_flow_follows_the_camera():
    """Exact, fully confident depth of a street seen by a camera driving forward: each static point's depth shrinks
    from frame to frame. Averaged along the flow without the camera's motion, the past (farther) and the future
    (nearer) do not cancel at the ends or at edges (median |Δ log d| 0.039 measured); carried into each frame's
    camera they agree (0.016)."""
    from stereodiff.synth import make_scene

    scene = make_scene("driving", seed=0, num_frames=24, height=96, width=128)
    depth = scene.depth.astype(np.float32)
    static = ~scene.dynamic_mask & (depth > 0)

    def error(**options) -> float:
        refined = TemporalRefiner(**options).refine(scene.frames, depth, np.ones_like(depth))
        return float(np.median(np.abs(np.log(refined[static] / depth[static]))))

    assert error(motion_compensation=True) < 0.025 < error(motion_compensation=False)


def test_holes_lean_to_the_near_side_only_where_they_move_on_their_own():
    """A box moving vertically (across the epipolar lines of the panning camera) in front of a wall. Stage 1 has
    no depth inside the box (its interior) nor on the static wall in a band around it. The global lean to the near
    side (``hole_motion_px=0``) pulls the wall band toward the box's depth (measured median log-depth 1.157 vs the
    true 1.400); with the independent-motion evidence the band keeps the wall's depth (1.393), since it moves
    like the rigid scene, and the box's interior still takes the box's depth."""
    import cv2

    frames, depth, mask = _scene(num_frames=12, h=60, w=80, box_velocity=(0.0, 0.02))
    kernel = np.ones((5, 5), np.uint8)
    inner = np.stack([cv2.erode(m.astype(np.uint8), kernel) > 0 for m in mask])  # the box minus a 2-pixel rim
    band = np.stack([cv2.dilate(m.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0 for m in mask]) & ~mask
    holed = np.where(inner | band, 0.0, depth).astype(np.float32)

    def fills(**options) -> tuple[float, float]:  # median log-depth in the box's interior and in the wall band
        refined = np.log(TemporalRefiner(temporal_decay=0.0, **options).refine(frames, holed, np.ones_like(depth)))
        return float(np.median(refined[inner])), float(np.median(refined[band]))

    truth = float(np.median(np.log(depth[band])))
    box_plain, band_plain = fills()
    _, band_global = fills(hole_nearness=100.0, hole_motion_px=0.0)
    box_evidence, band_evidence = fills(hole_nearness=100.0, hole_motion_px=1.0)
    assert band_global < truth - 0.15  # the global lean takes the static band for the box's
    assert abs(band_evidence - truth) < 0.03 and abs(band_plain - truth) < 0.03
    assert abs(box_evidence - np.log(2.0)) < 0.03 and box_evidence <= box_plain + 1e-3


def test_memory_is_bounded_by_the_window_not_the_video_length():
    """Traced heap peak (numpy arrays) of a windowed run: the same for a video twice as long, and at most 20
    working-resolution float planes per frame of a window (context included; it was ≈ 29 before the links kept
    one copy of the flows and the forward pass streamed)."""
    import tracemalloc

    def peak_bytes(num_frames: int) -> int:
        frames, depth, mask = _scene(num_frames=num_frames)
        sim = simulate_stage1(depth, mask, seed=5)
        out = np.zeros(depth.shape, np.float32)
        refiner = TemporalRefiner(window=24, overlap=12, hole_nearness=100)
        tracemalloc.start()
        try:
            refiner.refine(frames, sim.depth, sim.confidence, out=out)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak_bytes(4)  # lazy module-level set-up is not the refiner's
    short, long = peak_bytes(72), peak_bytes(144)
    window_frames, plane = 24 + 2 * 12, 48 * 64 * 4
    assert long <= 1.05 * short
    assert long <= 20 * window_frames * plane


@pytest.mark.parametrize("warp", [0, 2])
def test_threads_do_not_change_a_single_bit(warp):
    """Flow links, motion evidence, carried depth (``warp``) and upsampling run on ``num_workers`` threads, the
    fill's inputs of the next blocks while the fill runs, the filter's backward pass beside its forward pass; with
    the cpu preset's evidence-led fill on, in windows, the output is the one-thread output."""
    frames, depth, mask = _scene(num_frames=28)
    sim = simulate_stage1(depth, mask, seed=5)
    options = dict(temporal_decay=0.7, window=10, overlap=9, hole_nearness=100.0, hole_motion_px=1.0)
    options |= dict(hole_warp_frames=warp, hole_warp_ahead=False)
    one = TemporalRefiner(num_workers=1, **options).refine(frames, sim.depth, sim.confidence)
    for workers in (2, 3):
        many = TemporalRefiner(num_workers=workers, **options).refine(frames, sim.depth, sim.confidence)
        np.testing.assert_array_equal(many, one)


def test_the_passes_after_the_filter_run_on_the_workers_bit_for_bit(monkeypatch):
    """The per-frame passes on the filter's output (here ``hole_outline_views``, ``hole_outline_depths`` and the
    floor's planes with ``hole_floor_world``, on the street of ``driving`` with holes, poses moving sideways, stage 1
    finding it static) run on the upsampling workers, frame by frame beside each other: the output is the
    one-thread output, and with two workers no frame's views pass runs on the calling thread."""
    import threading

    from stereodiff.stage2 import hole_fill

    scene, depth, _, holed = _street_with_holes(8)
    sideways = _poses([0.2, 0.0, 0.0], len(depth))
    callers: list[bool] = []  # per call of the views pass: on the calling thread
    views_far_side = hole_fill.views_far_side

    def spy(*args, **kwargs):
        callers.append(threading.current_thread() is threading.main_thread())
        return views_far_side(*args, **kwargs)

    monkeypatch.setattr(hole_fill, "views_far_side", spy)
    options = dict(temporal_decay=0.7, window=5, overlap=2, hole_outline_px=10, hole_outline_views=2)
    options |= dict(hole_outline_depths=2, hole_floor_plane_px=8, hole_floor_world=True)

    def refine(workers: int) -> np.ndarray:
        refiner = TemporalRefiner(num_workers=workers, **options)
        static = dict(cam_to_world=sideways, movers_given=np.zeros(depth.shape, bool))  # stage 1 finds it static
        return refiner.refine(scene.frames, holed, np.ones_like(depth), intrinsics=scene.K, **static)

    one = refine(1)
    assert callers == [True] * len(depth)
    callers.clear()
    np.testing.assert_array_equal(refine(2), one)
    assert callers == [False] * len(depth)


def test_a_pair_of_links_is_built_once_when_threads_ask_for_it_together(monkeypatch):
    """The workers compute neighbouring fill blocks at once, and both blocks need the links of the pair of frames
    at their border: the thread that asks second waits for the first one's links instead of building them again
    (same objects), and an error in the build reaches both."""
    import threading
    import time

    from stereodiff.stage2.temporal import _Inputs, _working_camera

    frames, depth, mask = _scene(num_frames=4)
    sim = simulate_stage1(depth, mask, seed=5)
    inputs = _Inputs(
        TemporalRefiner(), frames, sim.depth, sim.confidence, 1.0, _working_camera(None, (48, 64), (48, 64))
    )
    built, build = [], _Inputs._build_links

    def slow_build(self, a: int):
        built.append(a)
        time.sleep(0.2)  # the other thread asks meanwhile
        if a == 2:
            raise RuntimeError("no flow")
        return build(self, a)

    monkeypatch.setattr(_Inputs, "_build_links", slow_build)
    got: dict[str, object] = {}

    def ask(name: str, k: int, step: int) -> None:
        try:
            got[name] = inputs.link(k, step)
        except RuntimeError as error:
            got[name] = error

    threads = [
        threading.Thread(target=ask, args=args) for args in (("a", 0, 1), ("b", 1, -1), ("c", 2, 1), ("d", 3, -1))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(built) == [0, 2]
    assert got["a"] is inputs.link(0, 1) and got["b"] is inputs.link(1, -1) and got["a"] is not got["b"]
    assert isinstance(got["c"], RuntimeError) and got["d"] is got["c"]


def _street_with_holes(num_frames: int) -> tuple:
    """``driving`` (seed 0, 96×128) with the lower right quarter's static pixels missing on every other frame: the
    scene, its exact ``[T,h,w]`` depth, the hole mask and the depth with the holes at 0."""
    from stereodiff.synth import make_scene

    scene = make_scene("driving", seed=0, num_frames=num_frames, height=96, width=128)
    depth = scene.depth.astype(np.float32)
    hole = np.zeros(depth.shape, bool)
    hole[::2, 40:, 80:] = True
    hole &= ~scene.dynamic_mask
    return scene, depth, hole, np.where(hole, 0.0, depth).astype(np.float32)


def test_holes_take_the_depth_nearby_frames_saw_carried_with_the_camera():
    """Exact depth of a street seen by a camera driving forward, with the lower right quarter (static scenery)
    missing on every other frame. The colour-region fill gives those holes the depth of whatever shares their
    colour (median |Δ log d| 0.116 measured); carried from the neighbouring frames, which saw the same scenery,
    with the fitted camera motions (``hole_warp_frames``) they get it back (0.019; 0.011 without the temporal
    pass)."""
    scene, depth, hole, holed = _street_with_holes(24)

    def error(**options) -> float:
        refined = TemporalRefiner(**options).refine(scene.frames, holed, np.ones_like(depth))
        return float(np.median(np.abs(np.log(refined[hole] / depth[hole]))))

    assert error(hole_warp_frames=1) < 0.03 < 0.08 < error()
    assert error(hole_warp_frames=2, temporal_decay=0.0) < 0.02  # the warp alone, not the temporal pass


def test_a_hole_not_seen_in_the_source_frame_takes_nothing_from_it():
    """``hole_warp_seen``: a carried point counts only where the chained flow from this frame to the source frame
    passes every forward–backward check. Marking the flow of one block of hole pixels as failing that check in the
    first link of each side (as at a region revealed since: the moving ball of ``close-object`` passing a wall)
    takes every carried point from those pixels, and only from them; without the option they keep them."""
    from stereodiff.stage2.temporal import _Inputs, _working_camera
    from stereodiff.synth import make_scene

    scene = make_scene("driving", seed=0, num_frames=8, height=96, width=128)
    depth = scene.depth.astype(np.float32)
    hole = np.zeros(depth.shape, bool)
    hole[4, 40:, 80:] = True
    holed = np.where(hole, 0.0, depth).astype(np.float32)
    block = (slice(60, 80), slice(90, 110))

    def carried(mark: bool, **options) -> np.ndarray:  # [h,w] trust of the depth carried into frame 4's holes
        refiner = TemporalRefiner(hole_warp_frames=2, **options)
        camera = _working_camera(None, (96, 128), (96, 128))
        inputs = _Inputs(refiner, scene.frames, holed, np.ones_like(depth), 1.0, camera)
        if mark:  # frame 4's pixels in the block: not seen in frames 3 and 5
            for step in (-1, +1):
                link = inputs.link(4, step)
                if link.consistent is not None:  # links keep their check only with hole_warp_seen
                    link.consistent[block] = False
        return inputs.warped(4)[1]

    plain, seen, unmarked = carried(True), carried(True, hole_warp_seen=True), carried(False, hole_warp_seen=True)
    assert (plain[block] > 0).mean() > 0.5 and (unmarked[block] > 0).mean() > 0.5
    assert not (seen[block] > 0).any()
    seen[block] = unmarked[block] = 0.0
    np.testing.assert_array_equal(seen, unmarked)  # the check is per pixel


def test_carried_depth_skips_the_thin_gaps_between_covered_pixels():
    """``hole_warp_min_px``: on static-orbit most carried points that are off (a fifth, almost all too near) come
    from confident but wrong stage-1 depth of the source frame (the occluder's depth bled onto the background next
    to it), landing in the thin gaps that stage 1 left at the same place in this frame; there the fill from the
    gap's own covered neighbours does better. Here a 2-pixel gap of frame 4 has the nearby frames' depth 40 %
    too near at the same spot: without the option the gap takes it (fill alone: median |Δ log d| 0.36 on the gap),
    with 4 px it takes nothing and keeps its fill (0.009, as without the warp), while the large block of holes
    still takes the carried depth (0.013; 0.26 without the warp)."""
    from stereodiff.stage2.temporal import _Inputs, _working_camera
    from stereodiff.synth import make_scene

    scene = make_scene("driving", seed=0, num_frames=8, height=96, width=128)
    depth = scene.depth.astype(np.float32)
    gap, block = (4, slice(50, 52), slice(10, 60)), (4, slice(40, None), slice(80, None))
    wrong = depth.copy()
    wrong[:, 48:54, 10:60] *= 0.6  # the other frames: too near around the gap
    wrong[4, 48:54, 10:60] = depth[4, 48:54, 10:60]  # frame 4's own covered pixels are right
    wrong[gap] = wrong[block] = 0.0

    def carried(**options) -> tuple[np.ndarray, np.ndarray]:  # frame 4's carried log-depth and trust
        refiner, camera = TemporalRefiner(hole_warp_frames=2, **options), _working_camera(None, (96, 128), (96, 128))
        return _Inputs(refiner, scene.frames, wrong, np.ones_like(depth), 1.0, camera).warped(4)

    (log_all, trust_all), (_, trust_far) = carried(), carried(hole_warp_min_px=4.0)
    into_gap = trust_all[gap[1:]] > 0
    assert into_gap.mean() > 0.5
    assert np.median(log_all[gap[1:]][into_gap] - np.log(depth[gap][into_gap])) < -0.4  # the wrong depth
    assert not (trust_far[gap[1:]] > 0).any()
    inner = trust_far[44:, 84:] > 0  # the block, 4 px in from its edge
    assert inner.mean() > 0.5
    np.testing.assert_array_equal(trust_far[44:, 84:], trust_all[44:, 84:])

    def gap_error(**options) -> float:
        refiner = TemporalRefiner(hole_warp_frames=2, temporal_decay=0.0, **options)  # the fill alone
        refined = refiner.refine(scene.frames, wrong, np.ones_like(depth))
        return float(np.median(np.abs(np.log(refined[gap] / depth[gap]))))

    assert gap_error(hole_warp_min_px=4.0) < 0.5 * gap_error()


def test_a_static_video_carries_depth_the_farthest_confirmed_point_winning():
    """``hole_warp_static``: a 2-px gap of frame 4 whose nearest frames (3, 5) carry depth 40 % too near there (an
    occluder's fattened depth), frame 7 50 % too far, frames 1, 2 and 6 right. ``hole_warp_frames``'s rule (the
    nearest frame's nearest point) gives the gap the too-near depth; the static video's rule (the farthest point over
    every distance) the too-far one; with ``hole_warp_static_agree`` the farthest point another source frame
    confirms: the right one. The refiner carries depth with these rules only in a video stage 1 finds static (its
    mover mask nearly empty) where ``hole_warp_ahead`` keeps the warp off; without the mask nothing is carried."""
    from stereodiff.stage2.temporal import _Inputs, _working_camera
    from stereodiff.synth import make_scene

    scene = make_scene("driving", seed=0, num_frames=8, height=96, width=128)
    depth = scene.depth.astype(np.float32)
    gap = (4, slice(50, 52), slice(10, 60))
    wrong = depth.copy()
    wrong[[3, 5], 48:54, 10:60] *= 0.6  # the nearest frames: too near around the gap
    wrong[7, 48:54, 10:60] *= 1.5  # one frame too far
    wrong[gap] = 0.0

    def carried(farthest: bool, agree: float) -> tuple[np.ndarray, np.ndarray]:  # frame 4's log-depth, trust
        refiner, camera = TemporalRefiner(hole_warp_frames=3), _working_camera(None, (96, 128), (96, 128))
        inputs = _Inputs(refiner, scene.frames, wrong, np.ones_like(depth), 1.0, camera)
        inputs.warp_farthest, inputs.warp_agree = farthest, agree
        return inputs.warped(4)

    truth = np.log(depth[gap])
    for farthest, agree, low, high in ((False, 0.0, -0.6, -0.4), (True, 0.0, 0.3, 0.5), (True, 0.1, -0.05, 0.05)):
        log_d, trust = carried(farthest, agree)
        into = trust[gap[1:]] > 0
        assert into.mean() > 0.5
        assert low < np.median(log_d[gap[1:]][into] - truth[into]) < high, (farthest, agree)
    short = depth[:4].copy()
    short[1, 40:, 80:] = 0.0  # holes in frame 1
    given = np.zeros(short.shape, bool)
    sideways = _poses(np.array([0.05, 0.0, 0.0]), 4)
    camera = dict(cam_to_world=sideways, ahead_share=0.0)

    static = TemporalRefiner(ahead_from_stage1=True, hole_warp_frames=1, hole_warp_ahead=True, hole_warp_static=1)
    off = TemporalRefiner(ahead_from_stage1=True, hole_warp_frames=1, hole_warp_ahead=True)  # gated off
    frames, ones, hole = scene.frames[:4], np.ones_like(short), (1, slice(40, None), slice(80, None))

    def hole_error(refined: np.ndarray) -> float:
        return float(np.median(np.abs(np.log(refined[hole] / depth[hole]))))

    got = static.refine(frames, short, ones, movers_given=given, **camera)
    assert hole_error(got) < 0.5 * hole_error(off.refine(frames, short, ones, movers_given=given, **camera))
    np.testing.assert_array_equal(
        static.refine(frames, short, ones, **camera), off.refine(frames, short, ones, **camera)
    )  # no mask: not known to be static
    with pytest.raises(ValueError, match="hole_warp_static"):
        TemporalRefiner(hole_warp_static=-1)


def _poses(step: np.ndarray, t: int) -> np.ndarray:
    """``[t,4,4]`` camera-to-world poses of a camera translating by ``step`` (world units) per frame."""
    poses = np.tile(np.eye(4), (t, 1, 1))
    poses[:, :3, 3] = np.arange(t)[:, None] * np.asarray(step, np.float64)
    return poses


def test_moving_ahead_tells_a_camera_driving_forward_from_one_moving_sideways():
    """The share of frames whose later camera lies ahead within the horizontal field of view: 1 for a camera
    driving forward (also when its poses tilt the motion 45° up, as stage 1's poses of driving s1 do), 0 sideways
    or backwards."""
    from stereodiff.stage2.hole_fill import moving_ahead

    K = np.array([[80.0, 0.0, 31.5], [0.0, 80.0, 23.5], [0.0, 0.0, 1.0]])
    assert moving_ahead(_poses([0.0, 0.0, 0.2], 20), K, 64) == 1.0
    assert moving_ahead(_poses([0.02, -0.2, 0.2], 20), K, 64) == 1.0  # row of the epipole far above the image
    assert moving_ahead(_poses([0.2, 0.0, 0.02], 20), K, 64) == 0.0
    assert moving_ahead(_poses([0.0, 0.0, -0.2], 20), K, 64) == 0.0
    assert np.isnan(moving_ahead(_poses([0.0, 0.0, 0.2], 1), K, 64))


def _refine_flat_scene(depth: np.ndarray, step: list[float], **options) -> np.ndarray:
    """The temporal refiner's output for stage-1 ``depth [t,h,w]`` over flat grey frames, focal 40 px, the camera
    moving by ``step`` per frame (:func:`_poses`), with the ``TemporalRefiner`` ``options``."""
    from stereodiff.stage2.stages import SceneRefinerStage
    from stereodiff.types import SceneGeometry

    t, h, w = depth.shape
    frames = np.full((t, h, w, 3), 128, np.uint8)
    centre = np.tile([(w - 1) / 2, (h - 1) / 2], (t, 1))
    scene = SceneGeometry(depth, np.ones_like(depth), np.full(t, 40.0), centre, _poses(step, t))
    out = np.zeros(depth.shape, np.float32)
    SceneRefinerStage(TemporalRefiner(**options)).refine(frames, scene, out)
    return out


def test_lower_border_holes_lean_near_when_the_camera_moves_ahead():
    """Flat colour, a near left part and a far right part, holes between them at the top and at the bottom. The
    motion evidence finds nothing (no texture), so by default every hole takes the mean of both sides. When stage
    1's poses drive forward (``hole_lean_bottom``), the bottom hole — near scenery entering a vehicle's view —
    takes the near side; the top hole keeps the mean; with a sideways camera nothing changes (bit for bit)."""
    depth = np.zeros((3, 24, 32), np.float32)
    depth[:, :, :12], depth[:, :, 20:] = 1.0, 4.0
    depth[:, 8:16, 12:20] = 2.0  # covered middle rows: holes at rows 0-7 (top) and 16-23 (bottom third)
    top, bottom = (slice(None), slice(1, 7), slice(14, 18)), (slice(None), slice(17, 23), slice(14, 18))
    options = dict(work_long_side=32, temporal_decay=0.0, hole_nearness=100.0, hole_motion_px=1.0)

    def refine(step: list[float], **extra) -> np.ndarray:
        return _refine_flat_scene(depth, step, **options, **extra)

    old = refine([0.0, 0.0, 0.2])
    ahead = refine([0.0, 0.0, 0.2], hole_lean_bottom=1 / 3)
    sideways = refine([0.2, 0.0, 0.0], hole_lean_bottom=1 / 3)
    assert np.median(old[bottom]) > 1.5  # the mean of the region: the far side pulls it
    assert np.median(ahead[bottom]) < 1.25  # the near side
    np.testing.assert_allclose(np.median(ahead[top]), np.median(old[top]), rtol=0.02)  # not the lower border
    np.testing.assert_array_equal(sideways, old)


def test_far_lean_only_when_the_camera_moves_ahead():
    """``hole_farness_ahead``: flat colour, a near left part and a far right part, a hole between them in the upper
    rows (the far scenery of a street, beside a nearer object). When stage 1's poses drive forward the hole leans
    to the far side as with ``hole_farness`` at the same γ, bit for bit; with a sideways camera nothing changes
    (bit for bit as without the option), where ``hole_farness`` itself would lean."""
    depth = np.zeros((3, 24, 32), np.float32)
    depth[:, :, :12], depth[:, :, 20:] = 1.0, 4.0  # a hole in columns 12..19, all rows
    hole = (slice(None), slice(1, 7), slice(14, 18))
    options = dict(work_long_side=32, temporal_decay=0.0, hole_nearness=100.0, hole_motion_px=1.0)

    def refine(step: list[float], **extra) -> np.ndarray:
        return _refine_flat_scene(depth, step, **options, **extra)

    plain = refine([0.0, 0.0, 0.2])
    ahead = refine([0.0, 0.0, 0.2], hole_farness_ahead=30.0)
    assert np.median(plain[hole]) < 2.6  # the mean of the region: the near side pulls it
    assert np.median(ahead[hole]) > 3.6  # the far side
    np.testing.assert_array_equal(ahead, refine([0.0, 0.0, 0.2], hole_farness=30.0))
    np.testing.assert_array_equal(refine([0.2, 0.0, 0.0], hole_farness_ahead=30.0), refine([0.2, 0.0, 0.0]))
    assert np.median(refine([0.2, 0.0, 0.0], hole_farness=30.0)[hole]) > 3.6
    with pytest.raises(ValueError, match="hole_farness_ahead"):
        TemporalRefiner(hole_farness_ahead=-1.0)


def test_upper_holes_refuse_nearer_depth_from_the_flow_when_the_camera_moves_ahead():
    """``hole_pull_order``: flat grey frames of far scenery (4.0); the middle frame has two holes, one in the upper
    half and one in the lower, where both neighbouring frames saw a near occluder (1.0). The temporal filter pulls
    the occluder's depth into both holes; with the option and a camera driving forward the upper hole keeps its
    fill (the far scenery it belongs to) and the lower one is pulled as before; a sideways camera changes nothing
    (bit for bit as without the option)."""
    depth = np.full((3, 24, 32), 4.0, np.float32)
    upper, lower = (1, slice(3, 7), slice(13, 19)), (1, slice(16, 20), slice(13, 19))
    depth[0, 2:8, 12:20] = depth[2, 2:8, 12:20] = depth[0, 15:21, 12:20] = depth[2, 15:21, 12:20] = 1.0
    depth[1, 2:8, 12:20] = depth[1, 15:21, 12:20] = 0.0  # the holes of the middle frame
    options = dict(work_long_side=32, temporal_decay=0.9, motion_compensation=False)

    def refine(step: list[float], **extra) -> np.ndarray:
        return _refine_flat_scene(depth, step, **options, **extra)

    plain = refine([0.0, 0.0, 0.2])
    ordered = refine([0.0, 0.0, 0.2], hole_pull_order=32.0)
    assert np.median(plain[upper]) < 2.0 and np.median(plain[lower]) < 2.0  # the occluder's depth pulled in
    assert np.median(ordered[upper]) > 3.5  # the far scenery
    np.testing.assert_allclose(ordered[lower], plain[lower], rtol=1e-6)
    np.testing.assert_array_equal(refine([0.2, 0.0, 0.0], hole_pull_order=32.0), refine([0.2, 0.0, 0.0]))
    with pytest.raises(ValueError, match="hole_pull_order"):
        TemporalRefiner(hole_pull_order=-1.0)


def test_near_holes_off_the_lower_border_keep_their_fill_with_hole_near_cap():
    """``hole_near_cap``: flat grey frames of a near object (1.0); the middle frame has two holes, one in the upper
    half and one in the lower border, where both neighbouring frames saw far scenery (4.0). The temporal filter
    pulls the far depth into both; with the option and a camera driving forward the upper hole (its fill near: the
    object's) keeps at most its fill, the lower border's hole is pulled as before; a sideways camera changes nothing
    (bit for bit as without the option)."""
    depth = np.full((3, 24, 32), 1.0, np.float32)
    upper, lower = (1, slice(3, 7), slice(13, 19)), (1, slice(18, 22), slice(13, 19))
    depth[0, 2:8, 12:20] = depth[2, 2:8, 12:20] = depth[0, 17:23, 12:20] = depth[2, 17:23, 12:20] = 4.0
    depth[1, 2:8, 12:20] = depth[1, 17:23, 12:20] = 0.0  # the holes of the middle frame
    options = dict(work_long_side=32, temporal_decay=0.9, motion_compensation=False, hole_nearness=100.0)
    options.update(hole_lean_bottom=1 / 3)

    def refine(step: list[float], **extra) -> np.ndarray:
        return _refine_flat_scene(depth, step, **options, **extra)

    plain = refine([0.0, 0.0, 0.2])
    capped = refine([0.0, 0.0, 0.2], hole_near_cap=0.3)
    assert np.median(plain[upper]) > 1.5 and np.median(plain[lower]) > 1.5  # the far scenery pulled in
    assert np.max(capped[upper]) <= 1.0 + 1e-5  # the near object's fill
    np.testing.assert_allclose(capped[lower], plain[lower], rtol=1e-6)
    np.testing.assert_array_equal(refine([0.2, 0.0, 0.0], hole_near_cap=0.3), refine([0.2, 0.0, 0.0]))
    with pytest.raises(ValueError, match="hole_near_cap"):
        TemporalRefiner(hole_near_cap=1.0)


def test_static_holes_lean_to_the_far_side_unless_they_move_on_their_own():
    """``hole_farness``: a hole in flat colour between a near and a far side takes the far side's depth (the
    background the motion-boundary check dropped beside an occluder), the plain mean mixes both; a hole whose
    colour region moves on its own (motion share 1) leans to the near side instead, as without the option;
    covered pixels keep their depth."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((1, 20, 30, 3), 0.5, np.float32)
    log_d = np.zeros((1, 20, 30), np.float32)
    log_d[0, :, :10], log_d[0, :, 20:] = np.log(2.0), np.log(4.0)
    weight = np.zeros((1, 20, 30), np.float32)
    weight[0, :, :10] = weight[0, :, 20:] = 1.0  # a hole in columns 10..19
    moving = (np.ones_like(weight), np.ones_like(weight))  # (share, counts): the region moves on its own

    def hole(**options) -> np.ndarray:
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight, motion=options.pop("motion", None))
        np.testing.assert_array_equal(frame.estimate[:, :10], np.log(np.float32(2.0)))
        return frame.estimate[:, 10:20]

    mean, far = hole(), hole(hole_farness=30.0)
    assert (mean < np.log(3.5)).all() and (far > np.log(3.8)).all() and (far <= np.log(4.0) + 1e-5).all()
    near_only = fill_frames(TemporalConfig(hole_nearness=30.0), rgb, log_d, weight, motion=moving)[0].estimate
    both = fill_frames(TemporalConfig(hole_nearness=30.0, hole_farness=30.0), rgb, log_d, weight, motion=moving)
    np.testing.assert_array_equal(both[0].estimate, near_only)
    assert (near_only[:, 10:20] < np.log(2.1)).all()


def test_the_rim_of_a_hole_counts_less_in_the_fill():
    """``hole_rim_px``: the covered pixels next to a hole (here 2 columns 50 % too near: an occluder's depth bled
    onto the background) count as far as they are from the hole, so the hole's fill and the rim itself come
    closer to the depth of the region's interior; pixels farther than the rim keep their depth."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames, rim_trust

    covered = np.zeros((1, 4, 8), bool)
    covered[0, :, :4] = True
    np.testing.assert_allclose(rim_trust(covered, 3.0)[0, 0, :4], [1.0, 0.75, 0.5, 0.25])
    assert (rim_trust(np.ones((1, 4, 8), bool), 3.0) == 1).all()

    rgb = np.full((1, 20, 30, 3), 0.5, np.float32)
    log_d = np.zeros((1, 20, 30), np.float32)
    log_d[0, :, :10], log_d[0, :, 10:12] = np.log(2.0), np.log(1.0)  # the rim: columns 10, 11
    weight = np.zeros((1, 20, 30), np.float32)
    weight[0, :, :12] = 1.0  # a hole in columns 12..29

    def error(**options) -> tuple[float, float]:  # |log-depth − log 2| on the hole and on the rim
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight)
        np.testing.assert_array_equal(frame.estimate[:, :6], np.log(np.float32(2.0)))
        off = np.abs(frame.estimate - np.log(2.0))
        return float(off[:, 12:].mean()), float(off[:, 10:12].mean())

    (hole_plain, rim_plain), (hole_rim, rim_rim) = error(), error(hole_rim_px=3.0)
    assert hole_rim < 0.6 * hole_plain and rim_rim < 0.8 * rim_plain


def test_carried_depth_only_when_the_camera_moves_ahead():
    """``hole_warp_ahead``: the street of ``driving`` with the lower right quarter missing on every other frame (as
    above). With stage 1's poses driving forward the holes take the depth the nearby frames saw, exactly as with
    ``hole_warp_frames`` alone; with poses moving sideways (an orbit, a hand-held pan) nothing is carried, bit for
    bit as without the warp."""
    scene, depth, hole, holed = _street_with_holes(12)
    sideways = _poses([0.2, 0.0, 0.0], len(depth))

    def refine(poses: np.ndarray, **options) -> np.ndarray:
        refiner = TemporalRefiner(temporal_decay=0.0, **options)
        return refiner.refine(scene.frames, holed, np.ones_like(depth), intrinsics=scene.K, cam_to_world=poses)

    def error(refined: np.ndarray) -> float:
        return float(np.median(np.abs(np.log(refined[hole] / depth[hole]))))

    gated = refine(scene.cam_to_world, hole_warp_frames=2, hole_warp_ahead=True)
    np.testing.assert_array_equal(gated, refine(scene.cam_to_world, hole_warp_frames=2))
    plain = refine(sideways)
    np.testing.assert_array_equal(refine(sideways, hole_warp_frames=2, hole_warp_ahead=True), plain)
    assert error(gated) < 0.03 < 0.08 < error(plain)


def test_flow_engine_options_reach_the_links_engines(monkeypatch):
    """``flow_variational_iterations`` (a speed option) and ``flow_finest_scale`` (the flow's length,
    docs/stage2-temporal.md): every link's DIS engine gets them, the defaults keep the preset's, and other settings
    give other flows, hence other depth."""
    from stereodiff import flow
    from stereodiff.stage2 import temporal

    made = []

    def spy(local, preset, variational_iterations=None, finest_scale=None):
        if not hasattr(local, "dis"):
            made.append((variational_iterations, finest_scale))
        return flow.thread_dis_engine(local, preset, variational_iterations, finest_scale)

    monkeypatch.setattr(temporal, "thread_dis_engine", spy)
    frames, depth, _ = _scene(num_frames=8, h=96, w=128)  # at 64×48 level 0 gave the same depth

    def refine(**options) -> np.ndarray:
        made.clear()
        return TemporalRefiner(window=8, overlap=4, **options).refine(frames, depth, np.ones_like(depth))

    default = refine()
    assert made and set(made) == {(None, None)}
    fewer = refine(flow_variational_iterations=0)
    assert made and set(made) == {(0, None)}
    assert not np.array_equal(fewer, default)
    finer = refine(flow_finest_scale=0)
    assert made and set(made) == {(None, 0)}
    assert not np.array_equal(finer, default)
    with pytest.raises(ValueError, match="flow_variational_iterations"):
        TemporalRefiner(flow_variational_iterations=-1).validate()
    with pytest.raises(ValueError, match="flow_finest_scale"):
        TemporalRefiner(flow_finest_scale=5).validate()


def _driving_links(**options) -> tuple[list, float]:
    """Every link of a 6-frame ``driving`` scene at 96×128 with its exact depth and camera, and the median |t|
    fitted ÷ true of the links' camera motions."""
    from stereodiff.stage2.temporal import _Inputs, _working_camera
    from stereodiff.synth import make_scene

    scene = make_scene("driving", seed=0, num_frames=6, height=96, width=128)
    depth = scene.depth.astype(np.float32)
    camera = _working_camera(scene.K, depth.shape[1:], depth.shape[1:])
    inputs = _Inputs(TemporalRefiner(**options), scene.frames, depth, np.ones_like(depth), 1.0, camera)
    links, ratios = [], []
    for k in range(len(depth) - 1):
        for step in (1, -1):
            if k + step >= 0:
                link = inputs.link(k, step)
                true = (np.linalg.inv(scene.cam_to_world[k]) @ scene.cam_to_world[k + step])[:3, 3]
                links.append(link)
                ratios.append(np.linalg.norm(link.motion.translation) / np.linalg.norm(true))
    return links, float(np.median(ratios))


def test_camera_motion_fitted_to_lk_refined_matches_is_not_short():
    """The links' ``fast`` DIS flow comes out short in forward motion, and the PnP translation fitted to it with it
    (exact depth and camera of ``driving``, 96×128: median |t| fitted ÷ true 0.70). Fitted to a sparse set of the
    links' matches refined by pyramidal Lucas–Kanade (``motion_flow_refine="lk"``) it is not. The filter still
    samples along the links' own flow: the sampling maps and gates are the same bit for bit."""
    (plain, plain_ratio), (fitted, fitted_ratio) = _driving_links(), _driving_links(motion_flow_refine="lk")
    assert plain_ratio < 0.8 < 0.9 < fitted_ratio < 1.05
    for a, b in zip(plain, fitted):
        np.testing.assert_array_equal(a.sample_at, b.sample_at)
        np.testing.assert_array_equal(a.gate, b.gate)


def test_lk_motion_without_a_refined_match_is_no_motion(monkeypatch):
    """A link whose Lucas–Kanade refinement keeps no match (e.g. a frame of blur or a wrong stage-1 depth) has no
    camera motion (the filter then carries nothing along it) instead of failing on an empty remap."""
    from stereodiff.stage2 import temporal

    h, w = 48, 64
    rng = np.random.default_rng(1)
    frame = temporal._Raw(
        rgb=rng.random((h, w, 3), dtype=np.float32),
        grey=rng.integers(0, 256, (h, w), dtype=np.uint8),
        log_depth=np.zeros((h, w), np.float32),
        weight=np.ones((h, w), np.float32),
    )
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    fit_at = np.stack([xs, ys], axis=-1)
    monkeypatch.setattr(temporal, "lk_matches", lambda own, other, pixels, *args: (pixels, np.zeros(len(pixels), bool)))
    refiner = TemporalRefiner(motion_flow_refine="lk")
    assert refiner._lk_motion(frame, frame, fit_at, np.ones((h, w)), temporal._prior_camera((h, w))) is None


def test_lk_matches_recover_a_shift_and_drop_an_occluded_match():
    """:func:`lk_matches` recovers a known sub-pixel shift from a 1-pixel-off start and the round trip drops an
    occluded match; the options are validated."""
    import cv2

    from stereodiff.stage2.temporal import lk_matches

    rng = np.random.default_rng(0)
    own = cv2.GaussianBlur(rng.integers(0, 256, (96, 128)).astype(np.uint8), (0, 0), 1.5)
    shift = np.array([2.3, -1.2], np.float32)
    other = cv2.warpAffine(own, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (128, 96), flags=cv2.INTER_CUBIC)
    ys, xs = np.mgrid[20:76:8, 20:108:8]
    pixels = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    other[12:36, 12:36] = rng.integers(0, 256, (24, 24))  # the first point's match occluded by other texture
    targets, ok = lk_matches(own, other, pixels, pixels + shift + np.float32([1.0, -0.7]))
    assert not ok[0] and ok[1:].mean() > 0.9
    np.testing.assert_allclose(np.median(targets[1:][ok[1:]] - pixels[1:][ok[1:]], axis=0), shift, atol=0.05)
    with pytest.raises(ValueError, match="motion_flow_refine"):
        TemporalRefiner(motion_flow_refine="sift").validate()
    with pytest.raises(ValueError, match="motion_lk_window"):
        TemporalRefiner(motion_lk_window=8).validate()


def test_the_holes_own_fill_reaches_across_texture_and_skips_the_rim():
    """``hole_sigma_color`` + ``hole_skip_rim_px``: a surface at depth 2 whose middle stripe (another shade: the
    floor's pattern) is a hole except for a 2-px covered rim carrying an occluder's depth 1 bled onto it. The one
    fill gives the hole its stripe's rim (near); the holes' own pass, with a softer colour edge and the rim left
    out, gives it the surface around the stripe; covered pixels keep their depth."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames, hole_distance

    covered = np.ones((1, 4, 8), bool)
    covered[0, :, 5:] = False
    np.testing.assert_allclose(hole_distance(covered)[0, 0], [5, 4, 3, 2, 1, 0, 0, 0])
    assert np.isinf(hole_distance(np.ones((1, 4, 8), bool))).all()

    rgb = np.full((1, 20, 30, 3), 0.5, np.float32)
    rgb[0, :, 10:20] = 0.53  # the stripe: a colour edge of 0.09 on each side
    log_d = np.full((1, 20, 30), np.log(2.0), np.float32)
    log_d[0, :, 10:12] = 0.0  # the rim: depth 1
    weight = np.ones((1, 20, 30), np.float32)
    weight[0, :, 12:20] = 0.0  # the hole
    log_d[weight == 0] = 0.0

    def error(**options) -> float:  # |log-depth − log 2| on the hole
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight)
        np.testing.assert_array_equal(frame.estimate[:, :10], np.log(np.float32(2.0)))
        return float(np.abs(frame.estimate - np.log(2.0))[:, 12:20].mean())

    plain, own = error(), error(hole_sigma_color=0.12, hole_skip_rim_px=2.0)
    assert own < 0.3 * plain
    assert error(hole_sigma_color=0.12) < plain and error(hole_skip_rim_px=2.0) < plain


def test_a_hole_inside_a_smooth_surface_takes_the_soft_colour_edge_and_a_step_keeps_its_fill():
    """``hole_smooth_color``: a surface at depth 2 holds a brighter patch (a strong colour edge: a label, a shadow)
    whose covered part carries stage 1's biased depth 1.6 next to the patch's hole. The holes' own fill stays in the
    patch (≈ 1.6); the soft pass reaches the surface around it (toward 2). Where the patch's covered depth is a true
    depth step (1.0 against 2: a span above ``hole_smooth_step``) the hole keeps its fill bit for bit."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((1, 20, 40, 3), 0.5, np.float32)
    rgb[0, :, 10:20] = 0.6  # the patch: a colour edge of 0.3 on each side
    weight = np.ones((1, 20, 40), np.float32)
    weight[0, :, 13:20] = 0.0  # the patch's hole

    def estimate(patch_depth: float, motion=None, **options) -> np.ndarray:
        log_d = np.full((1, 20, 40), np.log(2.0), np.float32)
        log_d[0, :, 10:13] = np.log(patch_depth)
        log_d[weight == 0] = 0.0
        config = TemporalConfig(hole_skip_rim_px=2.0, **options)
        (frame,) = fill_frames(config, rgb, log_d, weight, motion=motion)
        np.testing.assert_array_equal(frame.estimate[weight[0] > 0], log_d[0][weight[0] > 0])  # covered: kept
        return frame.estimate

    soft = {"hole_smooth_color": 0.64, "hole_smooth_step": 0.3}
    hole = weight[0] == 0
    off, on = (np.abs(estimate(1.6, **o) - np.log(2.0))[hole].mean() for o in ({}, soft))
    assert on < 0.5 * off
    np.testing.assert_array_equal(estimate(1.0, **soft), estimate(1.0))  # beside a depth step: unchanged
    # ``hole_smooth_static``: only a region with evidence of being static (texture-weighted motion share 0)
    evidence = np.ones((1, 20, 40), np.float32)
    gated = {**soft, "hole_smooth_static": 0.5, "hole_nearness": 100.0}
    static, moving = (np.zeros((1, 20, 40), np.float32), evidence), (evidence, evidence)
    assert np.abs(estimate(1.6, static, **gated) - np.log(2.0))[hole].mean() < 0.5 * off
    np.testing.assert_array_equal(estimate(1.6, moving, **gated), estimate(1.6, moving, hole_nearness=100.0))
    np.testing.assert_array_equal(estimate(1.6, **gated), estimate(1.6, hole_nearness=100.0))  # no evidence
    with pytest.raises(ValueError, match="hole_smooth_px"):
        TemporalRefiner(hole_smooth_px=0).validate()


def test_a_soft_filled_hole_region_that_moves_on_its_own_keeps_its_fill():
    """``hole_smooth_track``: the patch of the soft-fill test above, seen again in a nearby frame by a camera that
    did not move. Where the patch is still in place (a static label, a dark floor) its hole region takes the soft
    fill as without the option; where the patch has moved on by 10 px (an untextured mover: the surface's colour is
    where it was) the region keeps the holes' own fill bit for bit, and so does a region never carried into a view."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import View, fill_frames

    rgb = np.full((1, 20, 40, 3), 0.5, np.float32)
    rgb[0, :, 10:20] = 0.6  # the patch
    weight = np.ones((1, 20, 40), np.float32)
    weight[0, :, 13:20] = 0.0  # its hole
    log_d = np.full((1, 20, 40), np.log(2.0), np.float32)
    log_d[0, :, 10:13] = np.log(1.6)
    log_d[weight == 0] = 0.0
    moved = np.full((20, 40, 3), 0.5, np.float32)
    moved[:, 20:30] = 0.6  # the patch 10 px on
    still = (np.eye(3), np.zeros(3), 20.0, (19.5, 9.5))

    def estimate(views=None, **options) -> np.ndarray:
        config = TemporalConfig(hole_skip_rim_px=2.0, hole_smooth_step=0.3, **options)
        (frame,) = fill_frames(config, rgb, log_d, weight, views=views)
        return frame.estimate

    soft, off = estimate(hole_smooth_color=0.64), estimate()
    assert np.abs(soft - off)[weight[0] == 0].min() > 0.05  # the soft fill moves every hole
    tracked = {"hole_smooth_color": 0.64, "hole_smooth_track": 1}
    np.testing.assert_array_equal(estimate([[View(rgb[0], *still)]], **tracked), soft)  # in place: static
    np.testing.assert_array_equal(estimate([[View(moved, *still)]], **tracked), off)  # moved on: its own fill
    np.testing.assert_array_equal(estimate([[]], **tracked), off)  # no view: no evidence that it is static
    # ``hole_smooth_min_px``: only the holes farther than 2 px from every covered pixel (columns 15–17) take it
    deep = estimate(hole_smooth_color=0.64, hole_smooth_min_px=2.0)
    np.testing.assert_array_equal(deep[:, 15:18], soft[:, 15:18])
    np.testing.assert_array_equal(deep[:, [13, 14, 18, 19]], off[:, [13, 14, 18, 19]])
    with pytest.raises(ValueError, match="hole_smooth_min_px"):
        TemporalRefiner(hole_smooth_min_px=-1.0).validate()
    with pytest.raises(ValueError, match="hole_smooth_track_share"):
        TemporalRefiner(hole_smooth_track_share=1.5).validate()


def test_the_nearby_views_invert_the_chained_link_motions():
    """``_Inputs.views``: the links hold the camera's motion from each neighbour to the frame (``X_k = R·X_j + t``);
    a view must carry frame ``k``'s points into frame ``j``'s camera, the inverse of the chain: a point carried into
    each view and back by the links' motions returns to where it was (both sides, two frames each, none past the
    video's ends)."""
    import cv2

    from stereodiff.stage2.temporal import CameraMotion, _Inputs, _Link, _prior_camera

    rng = np.random.default_rng(5)
    t, h, w = 5, 12, 16
    frames = rng.integers(0, 255, (t, h, w, 3), dtype=np.uint8)
    depth = np.ones((t, h, w), np.float32)
    refiner = TemporalRefiner(hole_smooth_color=0.64, hole_smooth_track=2)
    inputs = _Inputs(refiner, frames, depth, np.ones_like(depth), 1.0, _prior_camera((h, w)))
    grid = np.zeros((h, w, 2), np.float32)
    motions = {}  # (k, step): the motion from frame k + step to frame k
    for a in range(t - 1):
        for k, step in ((a, +1), (a + 1, -1)):
            rotation = cv2.Rodrigues(rng.normal(0, 0.05, 3))[0]
            motions[k, step] = CameraMotion(rotation, rng.normal(0, 0.1, 3), 20.0, (7.5, 5.5))
            inputs._links[k, step] = _Link(grid, grid[..., 0], motions[k, step], None)
    point = np.array([0.3, -0.2, 2.0])
    views = inputs.views(1, 2)
    assert len(views) == 3  # frame 0 on one side, frames 2 and 3 on the other
    sources = [0, 2, 3]
    for view, source in zip(views, sources):
        there = view.rotation @ point + view.translation  # frame 1's point in the source's camera
        step = 1 if source > 1 else -1
        for j in range(source, 1, -step):  # back along the links: source → source - step → … → 1
            motion = motions[j - step, step]
            there = motion.rotation @ there + motion.translation
        np.testing.assert_allclose(there, point, atol=1e-9)
        np.testing.assert_array_equal(view.rgb, inputs.rgb(source))


def test_static_colour_miss_carries_a_pixel_by_the_camera_motion_at_its_depth():
    """:func:`static_colour_miss`: a camera moving 0.1 to the left (``X' = X + (0.1, 0, 0)``, focal 20 px) sees a
    surface at depth 2 one pixel further right; a striped frame shifted so lands on itself at depth 2 and misses on
    the stripes' edges at depth 0.5 (4 px); a pixel carried out of the view is not counted."""
    from stereodiff.stage2.hole_fill import View, static_colour_miss

    rgb = np.zeros((10, 30, 3), np.float32)
    rgb[:, ::6] = rgb[:, 1::6] = 1.0  # two-pixel stripes every 6 px
    there = np.roll(rgb, 1, axis=1)  # [h,w,3] one pixel to the right
    view = View(there, np.eye(3), np.array([0.1, 0.0, 0.0]), 20.0, (14.5, 4.5))
    miss, seen = static_colour_miss(rgb, np.full((10, 30), np.log(2.0), np.float32), [view], 0.15)
    np.testing.assert_array_equal(seen[:, -1], 0.0)  # carried past the right border
    assert seen[:, :-1].all() and not miss[:, 1:-1].any()
    miss, seen = static_colour_miss(rgb, np.full((10, 30), np.log(0.5), np.float32), [view], 0.15)
    assert miss[:, :-4].mean() > 0.5


def test_epipolar_distance_is_the_plain_sampson_expression_bit_for_bit():
    """``CameraMotion.epipolar_distance`` keeps the grid's rays per camera and works in place (speed, issue #20):
    the same bits as the expression it replaced, for a moving camera and for a camera that only rotates (which
    reads the cached rays too), at two sizes sharing the cache."""
    import cv2

    from stereodiff.camera import pixel_grid
    from stereodiff.stage2.temporal import CameraMotion

    def plain(motion: CameraMotion, at: np.ndarray) -> np.ndarray:
        def rays(p: np.ndarray) -> np.ndarray:
            x, y = (p[..., 0] - motion.centre[0]) / motion.focal, (p[..., 1] - motion.centre[1]) / motion.focal
            return np.stack([x, y, np.ones_like(x)], axis=-1)

        t = motion.translation / np.linalg.norm(motion.translation)
        cross = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
        essential = cross @ motion.rotation
        first, second = rays(at), rays(pixel_grid(*at.shape[:2]))
        line_2, line_1 = first @ essential.T, second @ essential
        residual = second[..., 0] * line_2[..., 0] + second[..., 1] * line_2[..., 1] + line_2[..., 2]
        scale = line_2[..., 0] ** 2 + line_2[..., 1] ** 2 + line_1[..., 0] ** 2 + line_1[..., 1] ** 2
        return motion.focal * np.abs(residual) / np.sqrt(np.maximum(scale, 1e-20))

    rng = np.random.default_rng(3)
    rotation = cv2.Rodrigues(np.array([0.01, -0.02, 0.005]))[0]
    for h, w in ((48, 64), (30, 40), (48, 64)):
        at = (pixel_grid(h, w) + rng.normal(0, 2.0, (h, w, 2))).astype(np.float32)
        motion = CameraMotion(rotation, np.array([0.1, -0.02, 0.03]), 55.4, (w / 2, h / 2))
        found = motion.epipolar_distance(at)
        assert found.dtype == np.float64 and found.shape == (h, w)
        assert np.array_equal(found.view(np.int64), plain(motion, at).view(np.int64))
        turning = CameraMotion(rotation, np.zeros(3), 55.4, (w / 2, h / 2))
        rotated = turning._rays(at) @ rotation.T
        second = turning._rays(pixel_grid(h, w))
        expected = 55.4 * np.hypot(
            rotated[..., 0] / rotated[..., 2] - second[..., 0], rotated[..., 1] / rotated[..., 2] - second[..., 1]
        )
        assert np.array_equal(turning.epipolar_distance(at), expected)


def test_a_finely_textured_hole_is_filled_from_its_own_few_covered_pixels():
    """``fill_min_support``: a near square (depth 1) whose surface changes colour at every pixel is a hole but for
    one covered pixel in 64, on a plain far background (depth 4). Inside it the domain transform brings its covered
    pixels' weight down to ~1e-13: with the default floor 1e-6 over 40 % of its holes take the frame's mean (far);
    with 1e-30 they take their own covered pixels' depth; covered pixels and the background are unchanged."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rng = np.random.default_rng(0)
    rgb = np.full((1, 64, 64, 3), 0.8, np.float32)
    rgb[0, 16:48, 16:48] = rng.uniform(0.3, 0.4, (32, 32, 3))  # every step inside the square a colour edge
    log_d = np.full((1, 64, 64), np.log(4.0), np.float32)
    log_d[0, 16:48, 16:48] = 0.0  # depth 1 on its covered pixels (0 on the holes)
    weight = np.ones((1, 64, 64), np.float32)
    weight[0, 16:48, 16:48] = 0.0
    weight[0, 19:48:8, 19:48:8] = 1.0  # its few covered pixels
    square = np.zeros((64, 64), bool)
    square[16:48, 16:48] = True
    hole = square & (weight[0] == 0)

    def fill(**options) -> np.ndarray:
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight)
        np.testing.assert_array_equal(frame.estimate[~square], np.log(np.float32(4.0)))
        np.testing.assert_array_equal(frame.estimate[weight[0] > 0], log_d[0][weight[0] > 0])
        return frame.estimate

    plain, low = fill(), fill(fill_min_support=1e-30)
    assert (plain[hole] > 0.9 * np.log(4.0)).mean() > 0.4  # the frame's mean there: nearly the background
    assert np.abs(low[hole]).max() < 1e-3  # the square's own depth
    with pytest.raises(ValueError, match="fill_min_support"):
        TemporalRefiner(fill_min_support=0.0).validate()


def test_the_lower_fill_floor_only_in_large_weakly_reached_regions():
    """``fill_min_support_area``: two near squares with a per-pixel colour texture, holes but for a few covered pixels,
    on a plain far background — a large one (32×32) and a small one (9×9, one covered pixel). With the lower floor
    1e-30 both take their own depth; gated by a region of at least 2 % of the frame (123 pixels), the large square's
    weakly reached interior (mostly one region of ~500 pixels) still does, the small square's (~50 pixels) takes the
    frame's mean as with 1e-6. ``fill_weak_nearer``: the same squares farther than the frame's mean keep it."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rng = np.random.default_rng(1)
    rgb = np.full((1, 64, 96, 3), 0.8, np.float32)
    log_d = np.full((1, 64, 96), np.log(4.0), np.float32)
    weight = np.ones((1, 64, 96), np.float32)
    large, small = np.zeros((64, 96), bool), np.zeros((64, 96), bool)
    large[16:48, 8:40], small[27:36, 64:73] = True, True
    for square in (large, small):
        rgb[0, square] = rng.uniform(0.3, 0.4, (int(square.sum()), 3))  # every step inside a colour edge
        log_d[0, square], weight[0, square] = 0.0, 0.0  # depth 1 on its covered pixels (0 on the holes)
    weight[0, 19:48:8, 11:40:8] = 1.0  # the large square's few covered pixels
    weight[0, 31, 68] = 1.0  # the small square's one
    holes = weight[0] == 0

    def fill(**options) -> np.ndarray:
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight)
        return frame.estimate

    plain, low = fill(), fill(fill_min_support=1e-30)
    gated = fill(fill_min_support=1e-30, fill_min_support_area=0.02)
    for square in (large, small):
        assert (plain[square & holes] > 0.9 * np.log(4.0)).mean() > 0.2  # the frame's mean: nearly the background
        assert np.abs(low[square & holes]).max() < 1e-3  # the square's own depth
    assert (np.abs(gated[large & holes]) < 1e-3).mean() > 0.9
    assert (plain[large & holes] > 0.9 * np.log(4.0)).mean() > 0.4
    np.testing.assert_array_equal(gated[small], plain[small])
    np.testing.assert_array_equal(gated[~(large | small)], plain[~(large | small)])
    # ``fill_weak_nearer``: the near squares keep their own depth; squares farther than the frame's mean do not
    np.testing.assert_array_equal(fill(fill_min_support=1e-30, fill_weak_nearer=True), low)
    log_d[0, large | small] = np.where(weight[0, large | small] > 0, np.log(16.0), 0.0)
    far_plain, far_low = fill(), fill(fill_min_support=1e-30)
    assert (far_low[large & holes] > np.log(15.0)).mean() > 0.9
    np.testing.assert_array_equal(fill(fill_min_support=1e-30, fill_weak_nearer=True), far_plain)
    with pytest.raises(ValueError, match="fill_min_support_area"):
        TemporalRefiner(fill_min_support_area=1.5).validate()


def test_forward_gate_from_stage_1s_probe_pairs_when_asked():
    """``ahead_from_stage1``: the street of ``driving`` with holes, and stage 1's aligned poses scrambled (moving
    sideways, as a broken spanning tree can leave them) while stage 1's probe pairs said the camera moves along its
    view (``ahead_share`` 1): the carried depth comes back, bit for bit as with the true poses; stage 1's share
    saying "not ahead" turns it off whatever the poses; without a share (NaN, None) or with the option off, the
    poses decide as before."""
    scene, depth, _, holed = _street_with_holes(12)
    sideways = _poses([0.2, 0.0, 0.0], len(depth))

    def refine(poses: np.ndarray, share: float | None, **options) -> np.ndarray:
        refiner = TemporalRefiner(temporal_decay=0.0, hole_warp_frames=2, hole_warp_ahead=True, **options)
        return refiner.refine(
            scene.frames, holed, np.ones_like(depth), intrinsics=scene.K, cam_to_world=poses, ahead_share=share
        )

    forward, plain = refine(scene.cam_to_world, None), refine(sideways, None)
    assert not np.array_equal(forward, plain)
    np.testing.assert_array_equal(refine(sideways, 1.0, ahead_from_stage1=True), forward)
    np.testing.assert_array_equal(refine(scene.cam_to_world, 0.5, ahead_from_stage1=True), plain)
    np.testing.assert_array_equal(refine(sideways, float("nan"), ahead_from_stage1=True), plain)
    np.testing.assert_array_equal(refine(sideways, 1.0), plain)


def test_scene_keeps_stage_1s_ahead_share_through_save_and_load(tmp_path):
    """``SceneGeometry.ahead_share`` and ``movers_given`` survive :func:`save_scene` / :func:`load_scene`; NaN /
    None when not measured."""
    from stereodiff.pipeline import load_scene, save_scene
    from stereodiff.types import SceneGeometry

    def scene(**extra) -> SceneGeometry:
        return SceneGeometry(
            depth=np.ones((2, 4, 5), np.float32), confidence=np.ones((2, 4, 5), np.float32), focal=np.full(2, 5.0),
            principal_point=np.full((2, 2), 2.0), cam_to_world=np.tile(np.eye(4), (2, 1, 1)), **extra,
        )  # fmt: skip

    given = np.zeros((2, 4, 5), bool)
    given[1, 2, 3] = True
    save_scene(tmp_path / "a", scene(ahead_share=0.875, movers_given=given))
    loaded = load_scene(tmp_path / "a")
    assert loaded.ahead_share == 0.875
    np.testing.assert_array_equal(loaded.movers_given, given)
    save_scene(tmp_path / "b", scene())
    assert np.isnan(load_scene(tmp_path / "b").ahead_share) and load_scene(tmp_path / "b").movers_given is None


def test_holes_take_the_nearer_surface_below_them_when_the_camera_moves_ahead():
    """``hole_up_px``: one flat colour region (a dark car and the far scenery beside it look alike to the fill),
    far scenery (depth 20) covered everywhere but a near object (2) covered in rows 15-19 of columns 10-19, an
    object at 8 in columns 0-5, and holes right above both: the fill mixes the depths into the holes; with the
    option the holes take the surface below them (with ``hole_up_near`` only a surface among the frame's nearest).
    A hole above the far scenery keeps its fill; a colour edge on the way stops the walk; covered pixels keep their
    depth. With ``hole_up_trust`` the walk passes a low-weight far outlier on the object and the outlier's fill is
    the object's depth too. At the refiner: a forward camera turns it on, a sideways camera leaves the output bit
    for bit as without it."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((1, 24, 32, 3), 0.5, np.float32)
    log_d = np.full((1, 24, 32), np.log(20.0), np.float32)
    weight = np.ones((1, 24, 32), np.float32)
    log_d[0, 15:20, 10:20] = np.log(2.0)
    log_d[0, 15:20, 0:6] = np.log(8.0)  # a nearer object, but not among the frame's nearest
    weight[0, 8:15, 10:20] = weight[0, 10:15, 0:6] = 0.0  # holes above the objects
    weight[0, 2:6, 24:28] = 0.0  # holes above far scenery
    log_d[weight == 0] = 0.0
    cabin, sky = (slice(8, 15), slice(10, 20)), (slice(2, 6), slice(24, 28))

    def fill(up: bool, image: np.ndarray = rgb, w: np.ndarray = weight, d: np.ndarray = log_d, **options):
        (frame,) = fill_frames(TemporalConfig(**options), image, d, w, up=up)
        return frame.estimate

    plain, upward = fill(False, hole_up_px=10), fill(True, hole_up_px=10)
    np.testing.assert_array_equal(fill(True), plain)  # off by default
    assert (plain[cabin] > np.log(3.0)).all()  # the region's mean
    np.testing.assert_allclose(upward[cabin], np.log(2.0), atol=1e-6)
    np.testing.assert_allclose(upward[10:15, 0:6], np.log(8.0), atol=1e-6)
    near_only = fill(True, hole_up_px=10, hole_up_near=0.05)  # the frame's nearest 5 %: the depth of 2 only
    np.testing.assert_array_equal(near_only[10:15, 0:6], plain[10:15, 0:6])
    np.testing.assert_allclose(near_only[cabin], np.log(2.0), atol=1e-6)
    np.testing.assert_array_equal(upward[sky], plain[sky])
    np.testing.assert_array_equal(upward[weight[0] > 0], plain[weight[0] > 0])
    edged = rgb.copy()
    edged[0, :12, :, :] = 0.1  # a colour edge between rows 11 and 12
    np.testing.assert_array_equal(fill(True, edged, hole_up_px=10)[8:11], fill(False, edged)[8:11])
    outlier_w, outlier_d = weight.copy(), log_d.copy()
    outlier_w[0, 12, 10:20], outlier_d[0, 12, 10:20] = 0.2, np.log(20.0)  # a far outlier, little trusted
    stops = fill(True, w=outlier_w, d=outlier_d, hole_up_px=10)
    trusts = fill(True, w=outlier_w, d=outlier_d, hole_up_px=10, hole_up_trust=0.5)
    assert (stops[8:12, 10:20] > np.log(10.0)).all()  # the walk stops at the outlier
    np.testing.assert_allclose(trusts[np.r_[8:12, 13:15], 10:20], np.log(2.0), atol=1e-6)
    np.testing.assert_allclose(trusts[12, 10:20], 0.2 * np.log(20.0) + 0.8 * np.log(2.0), atol=1e-5)  # its weight
    with pytest.raises(ValueError, match="hole_up_px"):
        TemporalRefiner(hole_up_px=-1)

    depth = np.full((3, 24, 32), 20.0, np.float32)
    depth[:, 15:20, 10:20] = 2.0
    depth[:, 8:15, 10:20] = 0.0
    options = dict(work_long_side=32, temporal_decay=0.0)
    ahead = _refine_flat_scene(depth, [0.0, 0.0, 0.2], hole_up_px=10, **options)
    assert np.median(ahead[:, 8:15, 12:18]) < 2.1
    assert np.median(_refine_flat_scene(depth, [0.0, 0.0, 0.2], **options)[:, 8:15, 12:18]) > 3.0
    np.testing.assert_array_equal(
        _refine_flat_scene(depth, [0.2, 0.0, 0.0], hole_up_px=10, **options),
        _refine_flat_scene(depth, [0.2, 0.0, 0.0], **options),
    )


def test_carried_depth_gives_way_to_the_nearer_surface_below_with_hole_up_carried():
    """``hole_up_carried``: a near object (depth 2) covered in rows 15-19, holes above it in rows 8-14, far depth
    (20) carried into rows 12-13 of them with full trust (a far point landing on the object's cabin): without the
    option the carried rows keep their far depth and stop the walk, so the holes above them take it too; with it
    the carried rows and the holes above take the surface below. A far surface below does not replace carried
    depth (``hole_up_near``), and without carried depth the option changes nothing."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((1, 24, 32, 3), 0.5, np.float32)
    log_d = np.full((1, 24, 32), np.log(20.0), np.float32)
    weight = np.ones((1, 24, 32), np.float32)
    log_d[0, 15:20, 10:20] = np.log(2.0)
    weight[0, 8:15, 10:20] = weight[0, 2:6, 24:28] = 0.0  # holes above the object and above far scenery
    log_d[weight == 0] = 0.0
    warped, trust = np.zeros_like(log_d), np.zeros_like(weight)
    warped[0, 12:14, 10:20], trust[0, 12:14, 10:20] = np.log(20.0), 1.0  # far depth carried onto the object
    warped[0, 3, 24:28], trust[0, 3, 24:28] = np.log(30.0), 1.0  # carried above far scenery: not nearer below

    def fill(**options) -> np.ndarray:
        config = TemporalConfig(hole_up_px=10, hole_up_near=0.05, **options)
        (frame,) = fill_frames(config, rgb, log_d, weight, carried=(warped, trust), up=True)
        return frame.estimate

    plain, gives_way = fill(), fill(hole_up_carried=True)
    np.testing.assert_allclose(plain[12:14, 10:20], np.log(20.0), atol=1e-6)  # the carried depth stays
    assert (plain[8:12, 10:20] > np.log(10.0)).all()  # and stops the walk from below
    np.testing.assert_allclose(gives_way[8:15, 10:20], np.log(2.0), atol=1e-6)
    np.testing.assert_array_equal(gives_way[3, 24:28], plain[3, 24:28])
    np.testing.assert_array_equal(gives_way[weight[0] > 0], plain[weight[0] > 0])
    no_carry = TemporalConfig(hole_up_px=10, hole_up_carried=True)
    (frame,) = fill_frames(no_carry, rgb, log_d, weight, up=True)
    (off,) = fill_frames(TemporalConfig(hole_up_px=10), rgb, log_d, weight, up=True)
    np.testing.assert_array_equal(frame.estimate, off.estimate)


def test_flow_grey_pca_gives_the_temporal_flows_an_isoluminant_checker():
    from stereodiff.stage2.temporal import _Inputs, _prior_camera

    rng = np.random.default_rng(3)
    a, b = np.array([51, 92, 69]), np.array([13, 89, 185])  # OpenCV grey 77 / 77: flat in luma
    cells = np.kron(rng.integers(0, 2, (8, 12)), np.ones((6, 6), int)).astype(bool)  # [48,72]
    frames = np.stack([np.where(cells[:, k : k + 64, None], a, b).astype(np.uint8) for k in (4, 2, 0)])
    depth = np.full((3, 48, 64), 2.0, np.float32)
    greys = {}
    for mode in ("luma", "pca"):
        refiner = TemporalRefiner(flow_grey=mode)
        inputs = _Inputs(refiner, frames, depth, np.ones_like(depth), 1.0, _prior_camera((48, 64)))
        greys[mode] = inputs._get(0).grey
    assert greys["luma"].std() < 0.5 < 60 < greys["pca"].std()
    with pytest.raises((ValueError, InputError)):
        TemporalRefiner(flow_grey="hsv").validate()


def test_the_far_lean_gated_per_hole():
    """``hole_far_band_px`` / ``hole_far_edge`` / ``hole_far_side`` / the ``boundary`` mask
    (``hole_far_boundary_px``): a hole between a near (2) and a far (4) side of one colour leans far only where the
    gates let it — a thin band beside covered pixels, not a wide hole's middle; beside a step of the covered depth;
    on the band's far half; near a motion boundary of the flow — and keeps the plain fill elsewhere;
    ``hole_far_local`` caps the target at the local far side."""
    from stereodiff.stage1.fusion import nearest_values
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import far_gate, fill_frames, near_motion_boundary

    rgb = np.full((1, 30, 40, 3), 0.5, np.float32)
    log_d = np.zeros((1, 30, 40), np.float32)
    log_d[0, :, :10], log_d[0, :, 30:] = np.log(2.0), np.log(4.0)
    weight = np.zeros((1, 30, 40), np.float32)
    weight[0, :, :10] = weight[0, :, 30:] = 1.0  # a hole in columns 10..29

    def hole(boundary=None, **options) -> np.ndarray:
        config = TemporalConfig(hole_farness=30.0, **options)
        return fill_frames(config, rgb, log_d, weight, boundary=boundary)[0].estimate

    plain = fill_frames(TemporalConfig(), rgb, log_d, weight)[0].estimate
    far = hole()
    assert (far[10:20, 10:30] > plain[10:20, 10:30] + 0.1).all()
    band = hole(hole_far_band_px=3.0)  # the columns within 3 px of a covered pixel lean, the middle does not
    np.testing.assert_array_equal(band[:, 14:26], plain[:, 14:26])
    np.testing.assert_array_equal(band[:, 27:30], far[:, 27:30])
    covered = np.zeros((30, 40), bool)
    covered[:, :10] = covered[:, 16:] = True  # a 6-px band between a near and a far side
    step = np.where(np.arange(40) < 10, np.log(2.0), np.log(4.0)).astype(np.float32)[None].repeat(30, 0)
    gate, cap = far_gate(TemporalConfig(hole_far_edge=0.3, hole_far_edge_px=6), covered, step)
    assert np.isinf(cap).all()
    assert gate[:, 10:16].all()
    assert not far_gate(TemporalConfig(hole_far_edge=0.3), covered, np.full_like(step, np.log(2.0)))[0].any()
    side, cap = far_gate(TemporalConfig(hole_far_side=True, hole_far_local=True), covered, step)
    assert not side[:, 10:13].any() and side[:, 13:16].all()  # the band's half next to the far side
    np.testing.assert_allclose(cap[:, 10:16], np.log(4.0))  # the local far side
    np.testing.assert_allclose(
        nearest_values(covered, step, empty=-np.inf)[0, 8:18], np.log([2, 2, 2, 2, 2, 4, 4, 4, 4, 4])
    )
    assert far_gate(TemporalConfig(), covered, log_d[0])[0] is True
    # a flow that jumps between columns 19 and 20 (an outline): only the columns near it lean
    flow = np.zeros((30, 40, 2), np.float32)
    flow[:, 20:, 0] = 3.0
    near = near_motion_boundary([flow], 2.0, (30, 40))
    assert near[:, 18:22].all() and not near[:, :16].any() and not near[:, 24:].any()
    assert not near_motion_boundary([], 2.0, (30, 40)).any()
    gated = hole(boundary=near[None])
    np.testing.assert_array_equal(gated[:, 10:16], plain[:, 10:16])
    np.testing.assert_array_equal(gated[:, 18:22], far[:, 18:22])
    with pytest.raises(ValueError, match="hole_far_boundary_px"):
        TemporalRefiner(hole_far_boundary_px=-1.0)


def test_the_far_lean_sided_by_colour():
    """``hole_far_colour_px``: in a 6-px band between a near (red, log 2) and a far (blue, log 4) side, only the
    band pixels coloured like the far side lean far — whichever half of the band they lie in (the nearest covered
    pixel would say the other half) — and a pixel coloured like neither side but closer to the near side does not;
    :func:`colour_side` says False without pixels on both sides."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import colour_side, far_gate

    red, blue = np.array([0.8, 0.1, 0.1], np.float32), np.array([0.1, 0.1, 0.8], np.float32)
    rgb = np.empty((30, 40, 3), np.float32)
    rgb[:, :13], rgb[:, 13:] = red, blue  # the band's colours follow its halves ...
    rgb[:, 10:12] = blue  # ... except two columns next to the near side that show the far side's colour
    rgb[5, 14] = [0.7, 0.2, 0.2]  # a reddish pixel next to the far side
    covered = np.zeros((30, 40), bool)
    covered[:, :10] = covered[:, 16:] = True
    step = np.where(np.arange(40) < 10, np.log(2.0), np.log(4.0)).astype(np.float32)[None].repeat(30, 0)
    gate, _ = far_gate(TemporalConfig(hole_far_colour_px=6, hole_far_edge_px=6), covered, step, rgb=rgb)
    assert gate[:, 10:12].all() and not gate[:, 12].any()  # blue on the near half leans, red does not
    assert gate[:, 13:16].sum() == 30 * 3 - 1 and not gate[5, 14]  # the reddish pixel stays near
    side, _ = far_gate(TemporalConfig(hole_far_side=True), covered, step)
    assert not side[:, 10:12].any()  # the nearest-pixel test puts the blue columns on the near side
    split = np.full(2, np.log(3.0), np.float32)
    only_near = np.zeros((30, 40), bool)
    only_near[:, :10] = True
    assert not colour_side(rgb, only_near, step, split, (np.array([5, 6]), np.array([11, 12])), 6).any()
    with pytest.raises(ValueError, match="colours"):
        far_gate(TemporalConfig(hole_far_colour_px=6), covered, step)
    with pytest.raises(ValueError, match="hole_far_colour_px"):
        TemporalRefiner(hole_far_colour_px=-1)


def _outline_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The outline of the outline-rule tests, ``[30,40]``: a near side (log 2; red, but its two columns next to the
    band blue), a 3-px band of holes (columns 10-12: one red column, then two blue) and a blue far side (log 4).
    Returns ``rgb [h,w,3]``, ``covered [h,w]``, stage 1's ``log_d [h,w]`` (0 on the holes) and a fill from the near
    side ``[h,w]``."""
    red, blue = np.array([0.8, 0.1, 0.1], np.float32), np.array([0.1, 0.1, 0.8], np.float32)
    rgb = np.empty((30, 40, 3), np.float32)
    rgb[:, :8], rgb[:, 8:10], rgb[:, 10], rgb[:, 11:] = red, blue, red, blue
    covered = np.ones((30, 40), bool)
    covered[:, 10:13] = False
    log_d = np.where(np.arange(40) < 11, np.log(2.0), np.log(4.0)).astype(np.float32)[None].repeat(30, 0)
    log_d[~covered] = 0.0
    return rgb, covered, log_d, np.full((30, 40), np.log(2.0), np.float32)


def test_an_outline_band_takes_the_side_its_colour_belongs_to():
    """``hole_outline_px``: a near side (log 2; red, but its two columns next to the band blue — the matcher's
    foreground fattened onto the blue background), a 3-px band of holes (one red column, then two blue) and a blue
    far side (log 4). Filled from the near side, the blue holes move to the far side, the red one stays; with
    ``hole_outline_rim_px`` the two blue covered columns become holes on the far side too, the red rim does not.
    Off, the covered blue columns keep stage 1's near depth; ``hole_outline_separation`` above the sides' colour
    separation turns the rule off in the frame."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames, outline_fill

    rgb, covered, log_d, near_fill = _outline_scene()
    fill, moved = outline_fill(TemporalConfig(hole_outline_px=6), covered, log_d, rgb, near_fill)
    assert np.allclose(fill[:, 11:13], np.log(4.0)) and np.allclose(fill[:, 10], np.log(2.0)) and not moved.any()
    fill, moved = outline_fill(TemporalConfig(hole_outline_px=6, hole_outline_rim_px=2), covered, log_d, rgb, near_fill)
    assert moved[:, 8:10].all() and moved.sum() == 60 and np.allclose(fill[:, 8:10], np.log(4.0))
    for separation, moves in ((0.5, True), (2.0, False)):  # the near side's blue rim widens its model: ~ 0.9
        gated = TemporalConfig(hole_outline_px=6, hole_outline_rim_px=2, hole_outline_separation=separation)
        assert outline_fill(gated, covered, log_d, rgb, near_fill)[1].any() == moves

    def estimate(**options) -> np.ndarray:  # [h,w] the spatial fill's log-depth
        weight = covered.astype(np.float32)[None]
        return fill_frames(TemporalConfig(**options), rgb[None], log_d[None], weight)[0].estimate

    assert np.allclose(estimate()[:, 8:10], np.log(2.0))  # off: stage 1's fattened depth stays
    assert np.allclose(estimate(hole_outline_px=6, hole_outline_rim_px=2)[:, 8:10], np.log(4.0), atol=0.01)
    with pytest.raises(ValueError, match="hole_outline_rim_px"):
        TemporalRefiner(hole_outline_rim_px=-1)


def test_an_outline_band_can_take_the_far_sides_mean():
    """``hole_outline_far_mean``: the outline of the outline-rule tests with a farther covered strip (log 5) on
    the far side 5 px beyond the band. The blue band holes take the span's farthest covered log-depth (5) without
    the option, the mean of the far side's covered log-depth in their colour square (between 4 and 5, nearer 4)
    with it; the rim (whose span does not reach the strip) takes 4 either way."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import outline_fill

    rgb, covered, log_d, near_fill = _outline_scene()
    log_d[:, 17:19] = np.log(5.0)
    options = dict(hole_outline_px=6, hole_outline_rim_px=2)
    fill, _ = outline_fill(TemporalConfig(**options), covered, log_d, rgb, near_fill)
    assert np.allclose(fill[:, 11:13], np.log(5.0)) and np.allclose(fill[:, 8:10], np.log(4.0))
    fill, _ = outline_fill(TemporalConfig(hole_outline_far_mean=True, **options), covered, log_d, rgb, near_fill)
    assert np.all(fill[:, 11:13] > np.log(4.0)) and np.all(fill[:, 11:13] < np.log(4.5))
    assert np.allclose(fill[:, 8:10], np.log(4.0))


def _red_blue_hole(hole_stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 30×40 frame for the wide outline tests: red columns 0-10, blue from 11; covered but for the hole columns
    10 … ``hole_stop`` − 1; log-depth 2 on the near (red) side, 4 on the far (blue) side, 0 in the hole; the hole's
    fill from the near side (log 2 everywhere). Returns ``rgb, covered, log_depth, near_fill``."""
    red, blue = np.array([0.8, 0.1, 0.1], np.float32), np.array([0.1, 0.1, 0.8], np.float32)
    rgb = np.empty((30, 40, 3), np.float32)
    rgb[:, :11], rgb[:, 11:] = red, blue
    covered = np.ones((30, 40), bool)
    covered[:, 10:hole_stop] = False
    log_d = np.where(np.arange(40) < 10, np.log(2.0), np.log(4.0)).astype(np.float32)[None].repeat(30, 0)
    log_d[~covered] = 0.0
    return rgb, covered, log_d, np.full((30, 40), np.log(2.0), np.float32)


def test_a_wide_outline_hole_takes_its_side_with_a_wide_span():
    """``hole_outline_span_px``: a red near side (log 2, columns 0-9), a hole 16 px wide (one red column, then 15
    blue) and a blue far side (log 4, columns 26-39), the hole filled from the near side. With the default square
    (half-size ``hole_far_edge_px`` = 6) no hole sees both sides, so even a 16-px band moves nothing; with a 20-px
    span the blue hole columns take the far side, the red one stays near."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import outline_fill

    rgb, covered, log_d, near_fill = _red_blue_hole(26)
    options = dict(hole_outline_px=16, hole_outline_band_px=16)
    fill, _ = outline_fill(TemporalConfig(**options), covered, log_d, rgb, near_fill)
    assert np.allclose(fill, near_fill)  # the 13-px square: no hole between two sides
    fill, moved = outline_fill(TemporalConfig(hole_outline_span_px=20, **options), covered, log_d, rgb, near_fill)
    assert np.allclose(fill[:, 11:26], np.log(4.0)) and np.allclose(fill[:, 10], np.log(2.0)) and not moved.any()
    with pytest.raises(ValueError, match="hole_outline_span_px"):
        TemporalRefiner(hole_outline_span_px=-1)


def test_the_wide_outline_rule_only_in_a_video_stage_1_finds_static():
    """``hole_outline_wide_band_px``: a red near side (log 2, columns 0-9), a hole 8 px wide (one red column, then
    seven blue) and a blue far side (log 4, from column 18), the hole filled from the near side. The rule's own
    settings (a 3-px band, a 13-px square that sees one side only) leave the hole's middle (columns 12-15) near; its
    wide settings (a 6-px band, a 19-px square) move it to the far side, the red column stays near. ``fill_frames``
    reads the outline settings it is given (a wide step above the outline's span: the fattened rim of the
    outline-rule tests stays). The refiner uses them only when stage 1's mover rules gave depth to less than
    ``hole_outline_wide_given`` of the pixels (0.08 %: yes; 2.2 %: no), with ``hole_outline_wide_frame_given`` to
    less than that of every frame (one frame at 8.3 %), and the camera does not move ahead; not without the mask."""
    import dataclasses

    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames, outline_fill, wide_outline

    rgb, covered, log_d, near_fill = _red_blue_hole(18)
    options = dict(hole_outline_px=10, hole_outline_wide_band_px=6, hole_outline_wide_edge_px=9)
    config = TemporalConfig(**options)
    assert wide_outline(TemporalConfig(hole_outline_px=10)) == TemporalConfig(hole_outline_px=10)  # off: as it is
    fill, _ = outline_fill(config, covered, log_d, rgb, near_fill)
    assert np.allclose(fill[:, 12:16], np.log(2.0))  # the rule's own band: the middle stays near
    fill, _ = outline_fill(wide_outline(config), covered, log_d, rgb, near_fill)
    assert np.allclose(fill[:, 12:16], np.log(4.0)) and np.allclose(fill[:, 10], np.log(2.0))  # wide: far
    rgb, covered, log_d, _ = _outline_scene()
    rim = TemporalConfig(
        hole_outline_px=6, hole_outline_rim_px=2, hole_outline_wide_band_px=3, hole_outline_wide_step=1
    )
    weight = covered.astype(np.float32)[None]
    assert np.allclose(fill_frames(rim, rgb[None], log_d[None], weight)[0].estimate[:, 8:10], np.log(4.0))
    kept = fill_frames(rim, rgb[None], log_d[None], weight, outline=wide_outline(rim))[0].estimate[:, 8:10]
    assert np.allclose(kept, np.log(2.0))  # a step of 0.69 < 1: no outline under the wide settings
    refiner = TemporalRefiner(ahead_from_stage1=True, **options)
    given = np.zeros((4, 30, 40), bool)
    given[0, :2, :2] = True  # 4 pixels of 4 800: 0.08 %
    wide = refiner._static_outline(refiner._static_video(given, None, None, 40, 0.0))
    assert wide is not None and (wide.hole_outline_band_px, wide.hole_far_edge_px) == (6, 9)
    assert dataclasses.replace(wide, hole_outline_band_px=3, hole_far_edge_px=6) == refiner  # nothing else changes
    given[1, :10, :10] = True  # 104 pixels: 2.2 %, a dynamic video
    assert refiner._static_outline(refiner._static_video(given, None, None, 40, 0.0)) is None
    lax = TemporalRefiner(ahead_from_stage1=True, hole_outline_wide_given=0.05, **options)  # 2.2 % < 5 %: static
    assert lax._static_outline(lax._static_video(given, None, None, 40, 0.0)) is not None
    for frame_given, wide in ((0.05, False), (0.1, True)):  # frame 1: 8.3 % of its pixels given
        strict = dataclasses.replace(lax, hole_outline_wide_frame_given=frame_given)
        assert (strict._static_outline(strict._static_video(given, None, None, 40, 0.0)) is not None) == wide
    assert (
        refiner._static_outline(refiner._static_video(given[:1], None, None, 40, 1.0)) is None
    )  # a camera moving ahead
    assert (
        refiner._static_outline(refiner._static_video(None, None, None, 40, 0.0)) is None
    )  # no mask: not known to be static
    with pytest.raises(ValueError, match="hole_outline_wide_given"):
        TemporalRefiner(hole_outline_wide_given=2.0)


def test_the_static_gate_reads_the_share_a_run_of_frames_holds():
    """``hole_outline_wide_frame_run``: :func:`held_share` is the largest share that a run of consecutive frames
    all reach (a burst broken by an empty frame holds nothing over three frames; the whole video holds its least
    frame's). The refiner's frame test (``hole_outline_wide_frame_given=0.025``) with it: two frames at 5 %
    with an empty frame between them (a flickering false mover) no longer close the gate with runs of 2; a region at
    5 % of eight consecutive frames (a mover) still does with runs of 8, not with runs of 9 (no run of 9 holds it)."""
    from stereodiff.stage2.temporal import held_share

    shares = np.array([0.01, 0.03, 0.02, 0.0, 0.02, 0.015, 0.01])
    assert [held_share(shares, run) for run in (0, 1, 2, 3, 7, 70)] == [0.03, 0.03, 0.02, 0.01, 0.0, 0.0]
    assert held_share(np.zeros(0), 3) == 0.0
    options = dict(hole_outline_px=10, hole_outline_wide_band_px=6, hole_outline_wide_given=1.0)
    flicker = np.zeros((12, 30, 40), bool)
    flicker[[4, 6], :6, :10] = True  # 60 of 1 200 pixels: 5 % of frames 4 and 6, frame 5 empty
    mover = np.zeros((12, 30, 40), bool)
    for k in range(2, 10):  # 5 % of frames 2-9, moving one column a frame
        mover[k, :6, k : k + 10] = True
    for run, static in ((0, (False, False)), (1, (False, False)), (2, (True, False)), (8, (True, False))):
        refiner = TemporalRefiner(hole_outline_wide_frame_given=0.025, hole_outline_wide_frame_run=run, **options)
        assert tuple(refiner._static_video(given, None, None, 40, None) for given in (flicker, mover)) == static
    refiner = TemporalRefiner(hole_outline_wide_frame_given=0.025, hole_outline_wide_frame_run=9, **options)
    assert refiner._static_video(mover, None, None, 40, None)  # no run of 9 frames holds the mover
    with pytest.raises(ValueError, match="hole_outline_wide_frame_run"):
        TemporalRefiner(hole_outline_wide_frame_run=-1)


def test_an_outline_moves_only_across_an_edge_the_parallax_crosses(monkeypatch):
    """``hole_outline_parallax``: the wide outline of the wide-rule test (a red near side, an 8-px hole, a blue far
    side; the step runs along the rows). A camera moving sideways (epipole at infinity along x) crosses that edge:
    the blue hole columns move to the far side as without the option; a camera moving up or down (epipole at
    infinity along y) runs along it: nothing moves. :func:`epipoles` puts a sideways camera's epipole at infinity
    along x and a forward one's at the principal point; ``fill_frames`` reads each frame's epipole."""
    from stereodiff.stage2 import hole_fill
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import epipoles, outline_fill, wide_outline

    rgb, covered, log_d, near_fill = _red_blue_hole(18)
    config = wide_outline(TemporalConfig(hole_outline_px=10, hole_outline_wide_band_px=6, hole_outline_wide_edge_px=9))
    gated = TemporalConfig(**{**config.__dict__, "hole_outline_parallax": 0.5})
    sideways, vertical = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    fill, _ = outline_fill(config, covered, log_d, rgb, near_fill, epipole=vertical)
    assert np.allclose(fill[:, 12:16], np.log(4.0))  # off: the epipole is not read
    fill, _ = outline_fill(gated, covered, log_d, rgb, near_fill, epipole=sideways)
    assert np.allclose(fill[:, 12:16], np.log(4.0)) and np.allclose(fill[:, 10], np.log(2.0))
    fill, _ = outline_fill(gated, covered, log_d, rgb, near_fill, epipole=vertical)
    assert np.allclose(fill, near_fill)  # an edge along the parallax: no disocclusion strip
    fill, _ = outline_fill(gated, covered, log_d, rgb, near_fill)
    assert np.allclose(fill[:, 12:16], np.log(4.0))  # no poses: as without the option
    seen = []  # the epipoles fill_frames hands to the outline rule, frame by frame

    def spy(*args, **kwargs):
        seen.append(args[-1])
        return outline_fill(*args, **kwargs)

    monkeypatch.setattr(hole_fill, "outline_fill", spy)
    weight = np.repeat(covered.astype(np.float32)[None], 2, axis=0)
    in_order = TemporalConfig(**{**gated.__dict__, "num_workers": 1})  # one thread: the frames' calls in order
    hole_fill.fill_frames(
        in_order, np.stack([rgb] * 2), np.stack([log_d] * 2), weight, epipole=np.stack([sideways, vertical])
    )
    assert np.array_equal(np.stack(seen), np.stack([sideways, vertical]))
    poses = np.repeat(np.eye(4)[None], 9, axis=0)
    poses[:, 0, 3] = np.arange(9) * 0.1  # moving along x
    assert np.allclose(epipoles(poses, 100.0, (20.0, 15.0))[4], [1.0, 0.0, 0.0])
    poses[:, 0, 3], poses[:, 2, 3] = 0.0, np.arange(9) * 0.1  # moving ahead: the epipole at the principal point
    e = epipoles(poses, 100.0, (20.0, 15.0))[4]
    assert np.allclose(e[:2] / e[2], [20.0, 15.0])
    with pytest.raises(ValueError, match="hole_outline_parallax"):
        TemporalRefiner(hole_outline_parallax=1.5)


def test_a_band_hole_next_to_the_far_side_takes_it_whatever_its_colour():
    """``hole_outline_nearest``: one grey colour everywhere (the colour rule cannot
    tell the sides), a near side (log-depth 0) left of a 4-px hole band, a far side (log-depth 1) right of it; the
    temporal filter's output filled the whole band near. With a camera moving sideways (the parallax crosses the
    step) the band's columns nearer the far side take it, those nearer the near side stay; moving up or down (along
    the step) nothing moves; a hole already farther than the far side stays; nothing moves next to a given pixel;
    ``hole_outline_nearest_motion``'s evidence of independent motion around a pixel; the refiner's gate
    ``hole_outline_nearest_static`` decides per video."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import moving_surroundings, nearest_after_filter
    from stereodiff.stage2.temporal import TemporalRefiner

    h, w = 24, 40
    covered = np.ones((h, w), bool)
    covered[:, 18:22] = False  # the band: columns 18..21
    log_d = np.where(np.arange(w)[None, :] < 20, 0.0, 1.0).astype(np.float32) * np.ones((h, 1), np.float32)
    output = np.where(covered, log_d, 0.0).astype(np.float32)  # [h,w] the band filled near
    output[:, 21] = 1.5  # a hole already farther than the far side
    config = TemporalConfig(hole_outline_px=10, hole_outline_nearest=0.5)
    sideways, vertical = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    moved = nearest_after_filter(config, covered, output, sideways)
    assert np.allclose(moved[:, 20], 1.0) and np.allclose(moved[:, 18:20], 0.0)  # nearer the far / near side
    assert np.allclose(moved[:, 21], 1.5) and np.array_equal(moved[covered], output[covered])
    assert np.array_equal(nearest_after_filter(config, covered, output, vertical), output)
    given = np.zeros((h, w), bool)
    given[:, 25] = True  # a mover's given pixels 4 px from the band
    gated = TemporalConfig(**{**config.__dict__, "hole_outline_mover_px": 8.0})
    assert np.allclose(nearest_after_filter(gated, covered, output, sideways, given)[:, 20], 0.0)
    share, counts = np.zeros((h, w), np.float32), np.ones((h, w), np.float32)
    share[:, 30:] = 1.0  # independent motion right of column 30, all of it textured
    near_motion = moving_surroundings(share, counts, 6, 0.3)  # the squares holding > 30 % of it
    assert near_motion[:, 28:].all() and not near_motion[:, :26].any()
    assert not moving_surroundings(share, np.zeros_like(counts), 6, 0.3).any()  # no texture: no evidence
    refiner = TemporalRefiner(hole_outline_px=10, hole_outline_nearest=0.5, hole_outline_nearest_static=True)
    movers_given = np.zeros((2, h, w), bool)
    assert refiner._static_video(movers_given, None, None, w, 0.0)  # nothing given, not ahead: static
    movers_given[1, :10, :10] = True  # 100 of 1920 pixels: 2.6 %
    assert not refiner._static_video(movers_given, None, None, w, 0.0)
    assert not refiner._static_video(None, None, None, w, 0.0)  # no mask: not known to be static
    with pytest.raises(ValueError, match="hole_outline_nearest"):
        TemporalRefiner(hole_outline_nearest=1.5)
    with pytest.raises(ValueError, match="hole_outline_nearest_motion"):
        TemporalRefiner(hole_outline_nearest_motion=-0.1)


def test_within_is_the_thresholded_distance_transform():
    """:func:`within` (a disk dilation, the outline rule's band, rim and mover reach) is exactly
    ``hole_distance(~mask) <= reach`` for whole and fractional reaches, sparse, dense, border-touching and empty
    masks."""
    from stereodiff.masks import within
    from stereodiff.stage2.hole_fill import hole_distance

    rng = np.random.default_rng(3)
    masks = [rng.random((40, 50)) < p for p in (0.002, 0.02, 0.3)] + [np.zeros((40, 50), bool)]
    masks[0][0, 0] = masks[0][39, 49] = True
    for mask in masks:
        for reach in (0.0, 0.7, 1.0, 1.5, 3.0, 5.9, 6.0, 8.0):
            assert np.array_equal(within(mask, reach), hole_distance(~mask[None])[0] <= reach), reach


def test_the_outline_rule_leaves_a_movers_outline_alone():
    """``hole_outline_mover_px``: the outline of the previous test where the near side's upper half is a mover
    whose depth stage 1's mover rules gave (``movers_given``). Within 3 px of it neither the band holes nor the
    fattened rim move to the far side; the lower half, farther than that from it, still does; without the option,
    or without the mask, the whole outline moves."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames, outline_fill

    rgb, covered, log_d, near_fill = _outline_scene()
    given = np.zeros((30, 40), bool)
    given[:12, :10] = True  # the mover: the near side's upper rows
    config = TemporalConfig(hole_outline_px=6, hole_outline_rim_px=2, hole_outline_mover_px=3)
    fill, moved = outline_fill(config, covered, log_d, rgb, near_fill, given)
    assert np.allclose(fill[:12, 8:13], np.log(2.0)) and not moved[:12].any()  # beside the mover: kept near
    assert np.allclose(fill[16:, 11:13], np.log(4.0)) and moved[16:, 8:10].all()  # > 3 px away: far
    for options, mask in ((dict(hole_outline_mover_px=0), given), ({}, None)):  # off, or no mask: all of it moves
        fill, moved = outline_fill(
            TemporalConfig(**{"hole_outline_px": 6, "hole_outline_rim_px": 2, **options}),
            covered,
            log_d,
            rgb,
            near_fill,
            mask,
        )
        assert np.allclose(fill[:, 11:13], np.log(4.0)) and moved[:, 8:10].all()
    estimate = fill_frames(config, rgb[None], log_d[None], covered.astype(np.float32)[None], movers=given[None])
    assert np.allclose(estimate[0].estimate[:12, 8:10], np.log(2.0))  # fill_frames passes the mask on
    with pytest.raises(ValueError, match="hole_outline_mover_px"):
        TemporalRefiner(hole_outline_mover_px=-1)


def test_a_stricter_temporal_agreement_only_where_the_scene_is_static():
    """A panning camera over a wall, a box moving across the epipolar lines (stage 1's box is weak, as a mover's
    is). One frame carries a wrong depth (+0.4 in log): on a wall patch (as when the flow brings another surface's
    depth) or on the box (a mover's flicker). By default the wall's neighbouring frames take up the wrong depth
    (measured 0.042); with ``depth_sigma_static`` they refuse it (0.001), and the box's flicker is still averaged
    out (median 0.065 against 0.064), which a strict ``depth_sigma`` everywhere would not do (0.26)."""
    frames, depth, mask = (a[::3] for a in _scene(num_frames=36, h=60, w=80, box_velocity=(0.0, 0.03)))
    confidence = np.where(mask, 0.3, 1.0).astype(np.float32)
    k = 6
    patch = np.zeros(mask.shape[1:], bool)
    patch[5:25, 50:75] = True
    patch &= ~mask[k]

    def errors(region: np.ndarray, **options) -> np.ndarray:  # [T,h,w] |log error| with frame k's region biased
        biased = depth.copy()
        biased[k][region] *= np.exp(0.4)
        refiner = TemporalRefiner(hole_nearness=100.0, hole_motion_px=1.0, **options)
        return np.abs(np.log(refiner.refine(frames, biased, confidence)) - np.log(depth))

    def wall_bleed(**options) -> float:  # the neighbouring frames' error on the wall patch
        err = errors(patch, **options)
        return float(np.mean([err[j][patch & ~mask[j]].mean() for j in (k - 1, k + 1)]))

    def box_flicker(**options) -> float:  # the biased frame's error on the box
        return float(np.median(errors(mask[k], **options)[k][mask[k]]))

    assert wall_bleed() > 0.03
    assert wall_bleed(depth_sigma_static=0.1) < 0.005
    assert box_flicker(depth_sigma_static=0.1) < box_flicker() + 0.01 < 0.1
    assert box_flicker(depth_sigma=0.1) > 0.2


def test_static_holes_beside_a_given_mover_take_the_background_side():
    """``hole_mover_away_px`` (indoor-dynamic s690: the static holes in a ring beside a walking person take her
    depth). A mover whose depth stage 1's rules gave (log 2, dark) beside a wall (log 4, light), with holes between:
    two columns coloured like the mover (her own unflagged edge) and four like the wall. With the near lean (full
    here) the wall-coloured holes are pulled toward the mover's depth; with the option they take the wall's, the
    mover-coloured ones keep hers (a dark strip of wall along the top would give them the wall's without the colour
    test), and the temporal filter refuses a nearer depth there (the frame's ``floor``); without the mask nothing
    changes."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    h, w = 30, 40
    rgb = np.full((h, w, 3), 0.7, np.float32)
    rgb[:, :14] = 0.3  # the mover and its own unflagged edge (columns 12–13)
    rgb[:3, 14:] = 0.3  # a dark strip of the wall along the top, as dark as the mover
    log_d = np.full((h, w), np.log(4.0), np.float32)
    log_d[:, :12] = np.log(2.0)
    covered = np.ones((h, w), bool)
    covered[3:, 12:18] = False
    log_d[~covered] = 0.0
    weight = covered.astype(np.float32)
    given = np.zeros((h, w), bool)
    given[:, :12] = True
    lean = np.ones((h, w), bool)  # every hole leans fully to the near side of its colour region

    def estimate(config: TemporalConfig, movers: np.ndarray | None) -> np.ndarray:
        return fill_frames(config, rgb[None], log_d[None], weight[None], lean=lean, movers=movers)[0].estimate

    off = estimate(TemporalConfig(hole_nearness=100.0), given[None])
    assert np.allclose(off[3:, 12:14], np.log(2.0), atol=0.05)
    assert (off[3:, 14:18] < np.log(4.0) - 0.2).all()  # the wall-coloured holes pulled toward the mover: too near
    config = TemporalConfig(hole_nearness=100.0, hole_mover_away_px=8)
    on = estimate(config, given[None])
    assert np.allclose(on[3:, 14:18], np.log(4.0), atol=0.05)  # the wall's side
    assert np.allclose(on[3:, 12:14], np.log(2.0), atol=0.05)  # the mover's own unflagged edge
    np.testing.assert_array_equal(estimate(config, None), off)  # no mask: nothing changes
    floor = fill_frames(config, rgb[None], log_d[None], weight[None], lean=lean, movers=given[None])[0].floor
    assert floor is not None and np.allclose(floor[3:, 14:18], np.log(4.0), atol=0.05)  # the filter refuses nearer
    assert np.isneginf(floor[:, :14]).all() and np.isneginf(floor[:, 18:]).all()
    with pytest.raises(ValueError, match="hole_mover_away_px"):
        TemporalRefiner(hole_mover_away_px=-1)


def test_mover_away_step_takes_the_holes_beside_a_far_nearer_given_region_whatever_their_colour():
    """``hole_mover_away_step`` (close-object held-out 1458 / 1461 / 1463: the static holes in a ring beside the near
    object, 8× nearer than the wall, filled toward its depth). A given region (dark) beside a wall (light) with
    holes between, two columns coloured like the region (a dark strip of the wall along the top brings the wall's
    depth into their colour region): the colour test leaves them the region's depth. With the
    step at 1.0 they take the wall's side when the region lies at log 0.5 against the wall's 2.5 (step 2); with the
    region at log 2 (step 0.5, a walking person's ring) they keep the region's depth, as with the option off."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    h, w = 30, 40
    rgb = np.full((h, w, 3), 0.7, np.float32)
    rgb[:, :14] = 0.3  # the given region and the dark holes beside it (columns 12–13)
    rgb[:3, 14:] = 0.3  # a dark strip of the wall along the top: the dark holes' colour region reaches the wall
    covered = np.ones((h, w), bool)
    covered[3:, 12:18] = False
    weight = covered.astype(np.float32)
    given = np.zeros((h, w), bool)
    given[:, :12] = True
    lean = np.ones((h, w), bool)
    dark = np.s_[3:, 12:14]

    def estimate(step: float, near: float) -> np.ndarray:
        log_d = np.where(given, np.float32(near), np.float32(2.5)) * covered
        config = TemporalConfig(hole_nearness=100.0, hole_mover_away_px=8, hole_mover_away_step=step)
        return fill_frames(config, rgb[None], log_d[None], weight[None], lean=lean, movers=given[None])[0].estimate

    assert np.allclose(estimate(0.0, 0.5)[dark], 0.5, atol=0.05)  # off: the colour test keeps the region's depth
    assert (estimate(1.0, 0.5)[dark] > 2.0).all()  # on, 2 beyond: the wall's side
    np.testing.assert_array_equal(estimate(1.0, 2.0), estimate(0.0, 2.0))  # 0.5 beyond: unchanged
    coloured = TemporalConfig(
        hole_nearness=100.0, hole_mover_away_px=8, hole_mover_away_step=1.0, hole_mover_away_step_colour=1.0
    )
    log_d = np.where(given, np.float32(0.5), np.float32(2.5)) * covered
    kept = fill_frames(coloured, rgb[None], log_d[None], weight[None], lean=lean, movers=given[None])[0].estimate
    assert np.allclose(kept[dark], 0.5, atol=0.05)  # with the colour guard: coloured like the region, kept
    with pytest.raises(ValueError, match="hole_mover_away_step"):
        TemporalRefiner(hole_mover_away_step=-1.0)
    with pytest.raises(ValueError, match="hole_mover_away_step_colour"):
        TemporalRefiner(hole_mover_away_step_colour=-1.0)


def test_mover_away_step_px_reaches_the_ring_past_the_colour_rule():
    """``hole_mover_away_step_px`` (close-object named clips 1464 / 1466 / 1467 / 1471: static holes 8–16 px from the
    near object still filled toward its depth). A given region at log 0.5 (dark) beside a wall at log 2.5 (light),
    with a 14-column band of holes between, of a colour between the two but nearer the wall's: with the near lean
    they take the region's depth. The rules' square (4 px) holds no wall pixel: the whole band stays near; with the
    step rule's reach at 14 it takes the wall's side; the rule leaves a band coloured like the region on its side."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    h, w = 30, 48
    rgb = np.full((h, w, 3), 0.7, np.float32)
    rgb[:, :12] = 0.3  # the given region
    rgb[:, 12:26] = 0.55  # the holes: nearer the wall's colour than the region's
    covered = np.ones((h, w), bool)
    covered[:, 12:26] = False
    weight = covered.astype(np.float32)
    given = np.zeros((h, w), bool)
    given[:, :12] = True
    log_d = np.where(given, np.float32(0.5), np.float32(2.5)) * covered
    lean = np.ones((h, w), bool)
    ring = np.s_[:, 12:26]

    def estimate(reach: float, colour: np.ndarray = rgb) -> np.ndarray:
        config = TemporalConfig(
            hole_nearness=100.0,
            hole_mover_away_px=4,
            hole_mover_away_step=1.0,
            hole_mover_away_step_colour=1.0,
            hole_mover_away_step_px=reach,
            fill_min_support=1e-30,  # the cpu preset's: the faint reach across the band counts
        )
        return fill_frames(config, colour[None], log_d[None], weight[None], lean=lean, movers=given[None])[0].estimate

    off = estimate(0.0)
    assert (off[ring] < 1.0).all()  # past the rules' 4 px (no wall pixel in their square): the region's depth
    on = estimate(14.0)
    assert np.allclose(on[ring], 2.5, atol=0.05)  # the wall's side
    np.testing.assert_array_equal(on[:, :12], off[:, :12])
    dark = rgb.copy()
    dark[:, 12:26] = 0.35  # coloured like the region: kept on its side
    np.testing.assert_array_equal(estimate(14.0, dark), estimate(0.0, dark))
    with pytest.raises(ValueError, match="hole_mover_away_step_px"):
        TemporalRefiner(hole_mover_away_step_px=-1.0)


def _strip_scene(
    object_cols: tuple[int, int], shifts: tuple[float, ...], w: int = 60, h: int = 8, focal: float = 50.0
) -> tuple[np.ndarray, list, np.ndarray]:
    """A textured object strip at depth 1 in front of a textured wall at depth e, seen by a camera moving sideways:
    frame 0's ``[h,w,3]`` RGB, the :class:`View` s of the camera shifted by ``shifts`` (world units along x) and frame
    0's ``[h,w]`` true log-depth. The object spans frame 0's columns ``object_cols`` (first, last)."""
    from stereodiff.stage2.hole_fill import View

    rng = np.random.default_rng(3)
    centre = (w - 1) / 2.0
    near_tex, far_tex = rng.uniform(0, 1, (400, 3)), rng.uniform(0, 1, (400, 3))  # colour per 1 / focal of x
    x_lo, x_hi = (object_cols[0] - 0.5 - centre) / focal, (object_cols[1] + 0.5 - centre) / focal

    def texture(tex: np.ndarray, x: np.ndarray) -> np.ndarray:
        at = x * focal + 200.0
        return np.stack([np.interp(at, np.arange(400), tex[:, c]) for c in range(3)], axis=-1)

    def render(shift: float) -> tuple[np.ndarray, np.ndarray]:
        ray = (np.arange(w) - centre) / focal  # [w]
        on_object = (ray + shift >= x_lo) & (ray + shift <= x_hi)
        colour = np.where(on_object[:, None], texture(near_tex, ray + shift), texture(far_tex, ray * np.e + shift))
        return np.repeat(colour[None], h, 0).astype(np.float32), np.where(on_object, 0.0, 1.0) * np.ones((h, 1))

    rgb, truth = render(0.0)
    views = [View(render(s)[0], np.eye(3), np.array([-s, 0.0, 0.0]), focal, (centre, (h - 1) / 2.0)) for s in shifts]
    return rgb, views, truth.astype(np.float32)


def test_an_outline_hole_goes_to_the_far_side_where_the_nearby_frames_show_it_there():
    """``hole_outline_views``: a band of 5 holes right of an object's edge, filled with the object's depth; the wall
    behind and the object are both textured. Where the band is truly the wall (the object ends at its first
    column), the band holes nearer the wall's covered pixels than the object's take the wall's depth — the nearby
    frames show their colours there only at that depth; the holes nearer the object stay. Where the object truly
    covers the whole band (same band, same depths, only the colours differ), nothing moves; without views nothing
    moves; the refiner validates the options."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import views_far_side

    config = TemporalConfig(hole_outline_px=10, hole_outline_views=3)
    shifts = (-0.15, -0.1, -0.05, 0.05, 0.1, 0.15)
    band = slice(30, 35)  # columns 30..34 are holes, 29 the object's last covered column, 35 the wall's first
    for last, wall in ((30, True), (34, False)):  # the object's last column: the band's first, or its last
        rgb, views, truth = _strip_scene((10, last), shifts)
        covered = np.ones(truth.shape, bool)
        covered[:, band] = False
        output = np.where(covered, truth, 0.0).astype(np.float32)  # the band filled with the object's depth
        moved = views_far_side(config, covered, output, rgb, views)
        assert np.array_equal(moved[covered], output[covered])
        assert np.allclose(moved[:, 30:33], 0.0)  # nearer the object's covered pixels: never a candidate
        if wall:
            assert np.allclose(moved[:, 33:35], 1.0)  # the wall: seen there in the other frames
        else:
            assert np.allclose(moved[:, 33:35], 0.0)  # the object: its colours match only at its depth
        assert np.array_equal(views_far_side(config, covered, output, rgb, []), output)
    with pytest.raises(ValueError, match="hole_outline_views"):
        TemporalRefiner(hole_outline_views=-1)
    with pytest.raises(ValueError, match="hole_outline_views_margin"):
        TemporalRefiner(hole_outline_views_margin=-0.1)


def test_an_outline_hole_nearer_the_object_goes_to_the_far_side_with_near_margin():
    """``hole_outline_views_near_margin``: the strip scene's band of 5 holes (columns 30..34) right of the object's
    edge, filled with the object's depth. Where the object ends at the band's first column, the holes nearer the
    object's covered pixels (31, 32) are truly the wall: tested too, they take its depth; the object's own column
    (30) stays. Where the object covers the whole band, nothing moves; at 0 (the default) the holes nearer the object
    are never tested."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import views_far_side

    shifts = (-0.15, -0.1, -0.05, 0.05, 0.1, 0.15)
    for last, wall in ((30, True), (34, False)):
        rgb, views, truth = _strip_scene((10, last), shifts)
        covered = np.ones(truth.shape, bool)
        covered[:, 30:35] = False
        output = np.where(covered, truth, 0.0).astype(np.float32)
        base = views_far_side(TemporalConfig(hole_outline_px=10, hole_outline_views=3), covered, output, rgb, views)
        config = TemporalConfig(hole_outline_px=10, hole_outline_views=3, hole_outline_views_near_margin=0.01)
        moved = views_far_side(config, covered, output, rgb, views)
        assert np.allclose(base[:, 30:33], 0.0) and np.array_equal(moved[:, 33:], base[:, 33:])
        assert np.allclose(moved[:, 30], 0.0)
        assert np.allclose(moved[:, 31:33], 1.0 if wall else 0.0)
    with pytest.raises(ValueError, match="hole_outline_views_near_margin"):
        TemporalRefiner(hole_outline_views_near_margin=-0.1)


def test_an_outline_hole_goes_to_the_far_side_where_the_nearby_frames_own_depth_shows_it_there():
    """``hole_outline_depths``: the strip scene's band of 5 holes right of the object's edge, filled with the object's
    depth, tested against the nearby frames' own depth instead of their colours. Where the band is truly the wall,
    its holes nearer the wall take the wall's depth (the frames see the wall where the far point lands, and farther
    than the near point where it would float); where the object covers the band, nothing moves (the near point lands
    on the object in every frame); with the frames' depth unknown (NaN) or without views nothing moves."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import views_depth_far_side

    config = TemporalConfig(hole_outline_px=10, hole_outline_depths=3)
    shifts = (-0.15, -0.1, -0.05, 0.05, 0.1, 0.15)
    band = slice(30, 35)
    w, focal = 60, 50.0
    for last, wall in ((30, True), (34, False)):
        _rgb, views, truth = _strip_scene((10, last), shifts)
        centre = (w - 1) / 2.0
        x_lo, x_hi = (10 - 0.5 - centre) / focal, (last + 0.5 - centre) / focal
        ray = (np.arange(w) - centre) / focal
        depths = [
            np.where((ray + s >= x_lo) & (ray + s <= x_hi), 0.0, 1.0) * np.ones((truth.shape[0], 1), np.float32)
            for s in shifts
        ]  # each frame's own log-depth
        depths = [d.astype(np.float32) for d in depths]
        covered = np.ones(truth.shape, bool)
        covered[:, band] = False
        output = np.where(covered, truth, 0.0).astype(np.float32)
        moved = views_depth_far_side(config, covered, output, views, depths)
        assert np.array_equal(moved[covered], output[covered])
        assert np.allclose(moved[:, 30:33], 0.0)  # nearer the object's covered pixels: never a candidate
        assert np.allclose(moved[:, 33:35], 1.0 if wall else 0.0)
        unknown = [np.full_like(d, np.nan) for d in depths]
        assert np.array_equal(views_depth_far_side(config, covered, output, views, unknown), output)
        assert np.array_equal(views_depth_far_side(config, covered, output, [], []), output)
    with pytest.raises(ValueError, match="hole_outline_depths_min"):
        TemporalRefiner(hole_outline_depths_min=0)


def test_mover_away_trust_keeps_a_movers_own_holes_beside_her_low_weight_phantom():
    """``hole_mover_away_trust`` (indoor-dynamic s904: ``hole_mover_away_px`` gave 7.5 k of a walking person's own
    unflagged hole pixel-frames the depth of her unflagged triangulated pixels, a phantom at 0.7–4.7× hers). A given
    mover (log 2, dark). In the upper half an unflagged strip of her own (a lighter part) beside her: covered at a
    phantom depth (log 4.6) with a low stage-1 weight (0.1) in every other column, holes between, then the wall
    (log 4, light, weight 1); in the lower half wall-coloured static holes between her and the wall. Without the
    trust her strip's holes are "the background" (their colour lies near the phantom's, far from her given part's)
    and take the phantom's depth as fill and floor; with 0.5 they keep the plain fill and get no floor, while the
    wall-coloured holes still take the wall's depth and floor."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    h, w = 30, 40
    rgb = np.full((h, w, 3), 0.7, np.float32)  # the wall, and the static holes beside her (lower half)
    rgb[:, :12] = 0.1  # her given part
    rgb[:15, 12:20] = 0.45  # her unflagged strip (upper half)
    log_d = np.full((h, w), np.log(4.0), np.float32)
    log_d[:, :12] = np.log(2.0)
    log_d[:15, 12:20:2] = np.log(4.6)  # the phantom: her strip triangulated too far ...
    weight = np.ones((h, w), np.float32)
    weight[:15, 12:20:2] = 0.1  # ... and barely trusted
    weight[:15, 13:20:2] = 0.0  # her strip's holes
    weight[15:, 12:16] = 0.0  # the static holes beside her
    log_d[weight == 0] = 0.0
    given = np.zeros((h, w), bool)
    given[:, :12] = True
    lean = np.ones((h, w), bool)
    strip, ring = np.s_[:7, 13:20:2], np.s_[23:, 12:16]  # rows whose squares (half-size 8) stay in their half

    def filled(trust: float):
        config = TemporalConfig(hole_nearness=100.0, hole_mover_away_px=8, hole_mover_away_trust=trust)
        return fill_frames(config, rgb[None], log_d[None], weight[None], lean=lean, movers=given[None])[0]

    off = fill_frames(TemporalConfig(hole_nearness=100.0), rgb[None], log_d[None], weight[None], lean=lean)[0]
    before, after = filled(0.0), filled(0.5)
    assert before.floor is not None and after.floor is not None
    assert np.isfinite(before.floor[strip]).all()  # the trust off: her holes count as the background's ...
    assert (before.estimate[strip] > off.estimate[strip] + 0.3).all()  # ... and take the phantom's depth
    assert np.isneginf(after.floor[strip]).all()  # with it: not the background's
    np.testing.assert_allclose(after.estimate[strip], off.estimate[strip], atol=1e-5)  # the plain fill
    assert np.allclose(after.estimate[ring], np.log(4.0), atol=0.05)  # the static holes: still the wall's
    assert np.allclose(after.floor[ring], np.log(4.0), atol=0.05)
    with pytest.raises(ValueError, match="hole_mover_away_trust"):
        TemporalRefiner(hole_mover_away_trust=1.5)


def _given_edge(h: int = 24, w: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A given region (columns 0–11, log-depth 0) that takes in three columns of the background beside its mover
    (columns 9–11 coloured like the wall), and the wall (log-depth 2) from column 12 on: ``[h,w,3]`` RGB in [0, 1],
    ``[h,w]`` log-depth, ``[h,w]`` bool given."""
    rgb = np.full((h, w, 3), 0.7, np.float32)
    rgb[:, :9] = 0.3  # the mover; columns 9–11 are the wall, given the mover's depth by the rule
    log_d = np.full((h, w), 2.0, np.float32)
    log_d[:, :12] = 0.0
    given = np.zeros((h, w), bool)
    given[:, :12] = True
    return rgb, log_d, given


def test_given_fill_keeps_the_given_depth_off_the_weak_covered_pixels_beside_it():
    """``given_fill_px`` (the demo's bleed beside a given region): the wall's weakly trusted covered pixels beside
    the given region take the fill of their colour region, which holds the given wall columns at the mover's depth;
    with the option they take the fill of the pixels not given (the wall's depth); far pixels, fully trusted
    pixels and a refiner without the mask are unchanged."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb, log_d, given = _given_edge()
    weight = np.ones(log_d.shape, np.float32)
    weight[:, 12:15] = 0.2  # the wall's covered pixels beside the given region, weakly trusted

    def estimate(config: TemporalConfig, movers: np.ndarray | None) -> np.ndarray:
        return fill_frames(config, rgb[None], log_d[None], weight[None], movers=movers)[0].estimate

    off = estimate(TemporalConfig(), given[None])
    assert (off[:, 12:15] < 2.0 - 0.3).all()  # pulled toward the given depth
    config = TemporalConfig(given_fill_px=4)
    on = estimate(config, given[None])
    assert np.allclose(on[:, 12:15], 2.0, atol=0.02)
    np.testing.assert_array_equal(on[:, :12], off[:, :12])  # the given pixels themselves
    np.testing.assert_array_equal(on[:, 20:], off[:, 20:])  # beyond the reach
    np.testing.assert_array_equal(estimate(config, None), off)  # no mask: nothing changes
    with pytest.raises(ValueError, match="given_fill_px"):
        TemporalRefiner(given_fill_px=-1)


def test_given_upsample_fits_the_pixels_beside_a_given_region_without_it():
    """``given_upsample_px``: the guided filter's boxes straddle the given region's edge where it is no colour edge
    (the wall columns given the mover's depth), so the plain filter smears the given depth onto the wall beside
    it; with the option the wall's pixels within the reach are fitted over the pixels not given. The given
    pixels and the pixels beyond the reach are unchanged, and ``member`` all True is the plain filter."""
    rgb, log_d, given = _given_edge()
    frame = (rgb * 255).astype(np.uint8)
    plain = guided_upsample(log_d, frame, radius=1, eps=1e-3)
    assert plain[:, 12].max() < 2.0 - 0.5  # the wall's first column: smeared toward the given depth
    np.testing.assert_allclose(guided_upsample(log_d, frame, radius=1, eps=1e-3, member=np.ones_like(given)), plain)
    refiner = TemporalRefiner(given_upsample_px=3)
    on = refiner._upsample(log_d, frame, given)
    np.testing.assert_allclose(on[:, 12:16], 2.0, atol=1e-3)
    np.testing.assert_array_equal(on[:, :12], plain[:, :12])
    np.testing.assert_array_equal(on[:, 16:], plain[:, 16:])
    np.testing.assert_array_equal(refiner._upsample(log_d, frame, None), plain)
    with pytest.raises(ValueError, match="given_upsample_px"):
        TemporalRefiner(given_upsample_px=-1)


def test_guided_upsample_with_the_callers_guides_is_the_same_bits():
    """``guides``: the frame's [0, 1] guide and its working-size one handed in (``_upsample``'s passes over a frame
    share them) give the bits the filter gives when it makes them, at the source size and from a smaller working
    size, with and without ``member``."""
    from stereodiff.stage2.temporal import working_guide

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    scaled = frame.astype(np.float32) / 255.0
    for size in ((48, 64), (24, 32)):
        low, member = rng.random(size, dtype=np.float32), rng.random(size) < 0.8
        guides = scaled, working_guide(frame, size, scaled)
        for kept in (None, member):
            made = guided_upsample(low, frame, radius=2, eps=1e-3, member=kept)
            handed = guided_upsample(low, frame, radius=2, eps=1e-3, member=kept, guides=guides)
            assert made.shape == (48, 64) and made.tobytes() == handed.tobytes()


def test_given_upsample_colour_keeps_the_plain_filter_on_the_movers_own_rim():
    """``given_upsample_colour``: the rule gave depth to part of a mover (columns 0–5); its rim (columns 6–8, the
    mover's colour) stage 1 put at the wall's depth. The pixels beside the given region that look like it keep the
    plain filter (its pull toward the given depth), the wall beside it still takes the filter fitted without the
    given pixels; the wall beside a given region that took in wall columns (``_given_edge``) is not the mover's."""
    from stereodiff.stage2.temporal import given_coloured, working_guide

    h, w = 24, 32
    rgb = np.full((h, w, 3), 0.7, np.float32)
    rgb[:, :9] = 0.3  # the mover; the wall from column 9
    log_d = np.full((h, w), 2.0, np.float32)
    log_d[:, :6] = 0.0
    given = np.zeros((h, w), bool)
    given[:, :6] = True
    frame = (rgb * 255).astype(np.uint8)
    coloured = given_coloured(working_guide(frame, (h, w)), given, 3)
    assert coloured[:, 6:9].all() and not coloured[:, 9:].any() and not coloured[:, :6].any()
    plain = guided_upsample(log_d, frame, radius=1, eps=1e-3)
    apart = TemporalRefiner(given_upsample_px=3)._upsample(log_d, frame, given)
    on = TemporalRefiner(given_upsample_px=3, given_upsample_colour=True)._upsample(log_d, frame, given)
    assert plain[:, 6].max() < 2.0 - 0.5 and np.allclose(apart[:, 6], 2.0, atol=1e-3)  # the pull, taken away
    np.testing.assert_array_equal(on[:, :9], plain[:, :9])  # the mover's rim keeps it
    np.testing.assert_array_equal(on[:, 9:], apart[:, 9:])  # the wall beside it does not
    rgb, log_d, given = _given_edge()
    frame = (rgb * 255).astype(np.uint8)
    np.testing.assert_array_equal(
        TemporalRefiner(given_upsample_px=3, given_upsample_colour=True)._upsample(log_d, frame, given),
        TemporalRefiner(given_upsample_px=3)._upsample(log_d, frame, given),
    )
    off = TemporalRefiner(given_upsample_colour=True)._upsample(log_d, frame, given)  # without the reach: nothing
    np.testing.assert_array_equal(off, guided_upsample(log_d, frame, radius=1, eps=1e-3))


def test_upsample_mode_keeps_the_covered_pixels_off_the_guided_filter():
    """``upsample_mode``: at the source size the guided filter blends the depth edge at columns 11 / 12, whose two
    sides are alike in colour (``_given_edge``: the wall columns 9–11 given the mover's depth); ``"plain"`` returns
    the working log-depth itself there, ``"holes"`` keeps it on the covered pixels and the guided filter's value on
    the holes (columns 20 on); at twice the size the plain value is the bilinear resize. ``"guided"`` (the default)
    is the filter, and an unknown mode is refused."""
    rgb, log_d, _ = _given_edge()
    frame = (rgb * 255).astype(np.uint8)
    guided = guided_upsample(log_d, frame, radius=1, eps=1e-3)
    assert np.abs(guided - log_d).max() > 0.5  # the edge blended
    np.testing.assert_array_equal(TemporalRefiner()._upsample(log_d, frame), guided)
    np.testing.assert_array_equal(TemporalRefiner(upsample_mode="plain")._upsample(log_d, frame), log_d)
    covered = np.ones(log_d.shape, bool)
    covered[:, 20:] = False
    holes = TemporalRefiner(upsample_mode="holes")._upsample(log_d, frame, None, covered)
    np.testing.assert_array_equal(holes[:, :20], log_d[:, :20])
    np.testing.assert_array_equal(holes[:, 20:], guided[:, 20:])
    clamped = TemporalRefiner(upsample_mode="holes", upsample_clamp=0.1)._upsample(log_d, frame, None, covered)
    np.testing.assert_allclose(clamped[:, :20], log_d[:, :20] + np.clip(guided - log_d, -0.1, 0.1)[:, :20], atol=1e-6)
    assert np.abs(clamped - log_d).max() > 0.09  # the blend at the edge, cut to the clamp
    np.testing.assert_array_equal(clamped[:, 20:], guided[:, 20:])
    big = np.repeat(np.repeat(frame, 2, axis=0), 2, axis=1)  # [2h,2w,3]
    plain_big = TemporalRefiner(upsample_mode="plain")._upsample(log_d, big)
    assert plain_big.shape == big.shape[:2]
    np.testing.assert_allclose(plain_big[:, :20], 0.0, atol=1e-6)  # bilinear: exact away from the edge
    np.testing.assert_allclose(plain_big[:, 28:], 2.0, atol=1e-6)
    with pytest.raises(ValueError, match="upsample_mode"):
        TemporalRefiner(upsample_mode="nearest")
    with pytest.raises(ValueError, match="upsample_clamp"):
        TemporalRefiner(upsample_clamp=-0.1)


def test_upsample_mode_holes_reads_stage1s_covered_pixels():
    """``upsample_mode="holes"`` on a whole run: stage 1's covered pixels keep the temporal filter's working-size
    log-depth (the output differs from the default's only there, and equals ``"plain"``'s there); the holes keep
    the guided filter's value (equal to the default's)."""
    frames, depth, _ = _scene(num_frames=6)
    depth[:, :, 40:] = 0.0  # holes on the right
    conf = np.ones_like(depth)
    base = TemporalRefiner().refine(frames, depth, conf)
    plain = TemporalRefiner(upsample_mode="plain").refine(frames, depth, conf)
    holes = TemporalRefiner(upsample_mode="holes").refine(frames, depth, conf)
    np.testing.assert_array_equal(holes[:, :, 40:], base[:, :, 40:])
    np.testing.assert_array_equal(holes[:, :, :40], plain[:, :, :40])
    assert not np.array_equal(holes[:, :, :40], base[:, :, :40])


def test_given_veto_makes_the_filter_strict_beside_a_given_region():
    """``given_veto_px``: the covered pixels not given within the reach of a given one get the least agreement
    weight 1 (``FilledFrame.strict``), so a far-off depth the flow brings (the given one) is refused there even
    when their own weight is low; elsewhere, and without the option, the test is unchanged."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames
    from stereodiff.stage2.temporal import _Frame, _Link

    rgb, log_d, given = _given_edge()
    weight = np.ones(log_d.shape, np.float32)
    weight[:, 20:] = 0.0  # holes far from the given region
    filled = fill_frames(TemporalConfig(given_veto_px=3), rgb[None], log_d[None], weight[None], movers=given[None])[0]
    assert filled.strict is not None
    assert (filled.strict[:, 12:15] == 1).all() and (filled.strict[:, :12] == 0).all()
    assert (filled.strict[:, 15:] == 0).all()
    assert fill_frames(TemporalConfig(), rgb[None], log_d[None], weight[None], movers=given[None])[0].strict is None

    h, w = log_d.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    link = _Link(sample_at=np.dstack([xx, yy]), gate=np.full((h, w), 0.9, np.float32), motion=None, consistent=None)
    state = np.stack([np.zeros((h, w)), np.ones((h, w))], axis=-1).astype(np.float32)  # brings log-depth 0
    estimate, low = np.full((h, w), 2.0, np.float32), np.full((h, w), 0.3, np.float32)
    refiner = TemporalRefiner(given_veto_px=3)
    loose = refiner._pull(state, link, _Frame(estimate, low, True))
    strict = refiner._pull(state, link, _Frame(estimate, low, True, strict=filled.strict))
    assert (loose[:, 12:15, 1] > 0.05).all()  # a weak pixel barely vetoes
    assert (strict[:, 12:15, 1] < 1e-3).all()
    np.testing.assert_array_equal(strict[:, 15:], loose[:, 15:])
    with pytest.raises(ValueError, match="given_veto_px"):
        TemporalRefiner(given_veto_px=-1)


def test_holes_whose_colour_region_is_mostly_a_near_object_take_its_depth_when_the_camera_moves_ahead():
    """``hole_near_object``: a near object (depth 2, one colour) with far outliers on it (20, a fifth of its covered
    pixels) and a hole at its top, beside far scenery (20) of another colour that holds a small near object of its
    own colour and a hole: the fill gives the object's hole the mix of the object's depths; with the option (a camera
    moving ahead) the hole takes the near pixels' depth, while the far scenery's hole (its region's covered weight is
    mostly far) and every covered pixel keep theirs. Off by default and without a camera moving ahead; a share
    above what the object's region holds leaves it too. At the refiner: a sideways camera gives the same output."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((1, 24, 40, 3), 0.7, np.float32)
    rgb[0, :, :16] = 0.2  # the object's colour
    log_d = np.full((1, 24, 40), np.log(20.0), np.float32)
    log_d[0, :, :16], log_d[0, 16:, 16:] = np.log(2.0), np.log(40.0)  # the scenery: 20 and 40
    log_d[0, 12:16, :16] = np.log(20.0)  # far outliers on the object
    log_d[0, 18:24, 30:34] = np.log(2.0)  # a small near object in the far scenery's colour region
    weight = np.ones((1, 24, 40), np.float32)
    top, far = (slice(2, 8), slice(2, 14)), (slice(2, 7), slice(25, 36))
    weight[0][top] = weight[0][far] = 0.0
    log_d[weight == 0] = 0.0

    def fill(up: bool, **options) -> np.ndarray:
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight, up=up)
        return frame.estimate

    plain, near = fill(True), fill(True, hole_near_object=0.25)
    assert (plain[top] > np.log(2.3)).all()  # the object's depths mixed
    np.testing.assert_allclose(near[top], np.log(2.0), atol=1e-5)
    np.testing.assert_array_equal(near[far], plain[far])
    np.testing.assert_array_equal(near[weight[0] > 0], plain[weight[0] > 0])
    np.testing.assert_array_equal(fill(False, hole_near_object=0.25), plain)  # the camera does not move ahead
    np.testing.assert_array_equal(fill(True, hole_near_object=0.25, hole_near_object_share=0.95), plain)
    own_pass = fill(True, hole_near_object=0.25, hole_near_object_colour=0.2)  # the near channels' own looser pass
    np.testing.assert_allclose(own_pass[top], np.log(2.0), atol=1e-5)
    np.testing.assert_array_equal(own_pass[weight[0] > 0], plain[weight[0] > 0])
    bads = ({"hole_near_object": 1.0}, {"hole_near_object": -0.1}, {"hole_near_object_share": 0.0})
    for bad in (*bads, {"hole_near_object_colour": -0.1}):
        with pytest.raises(ValueError, match="hole_near_object"):
            TemporalRefiner(**bad)

    depth = np.full((3, 24, 32), 20.0, np.float32)
    depth[:, 15:20, 10:20] = 2.0
    depth[:, 8:15, 10:20] = 0.0
    options = dict(work_long_side=32, temporal_decay=0.0)
    np.testing.assert_array_equal(
        _refine_flat_scene(depth, [0.2, 0.0, 0.0], hole_near_object=0.25, **options),
        _refine_flat_scene(depth, [0.2, 0.0, 0.0], **options),
    )


def test_an_outline_hole_with_the_near_sides_colour_takes_the_near_depth():
    """``hole_outline_near_px``: a strip of holes (rows 16..23) between a far wall above (log-depth 1, blue) and an
    object's front below (log-depth 0, red), filled with the wall's depth. Shaded like the front (the same hue,
    darker: an object's top face), it takes the front's depth plus the lift's share of the step; coloured like the
    wall, within ``hole_outline_mover_px`` of a mover, or with the option at 0, nothing moves."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import outline_near_side

    covered = np.ones((40, 40), bool)
    covered[16:24] = False
    log_depth = np.zeros((40, 40), np.float32)
    log_depth[:24] = 1.0  # the holes filled with the wall's depth
    wall, front = np.array([0.2, 0.3, 0.6], np.float32), np.array([0.6, 0.2, 0.2], np.float32)
    rgb = np.empty((40, 40, 3), np.float32)
    rgb[:16], rgb[24:] = wall, front
    config = TemporalConfig(hole_outline_near_px=14, hole_outline_near_lift=0.1)
    for strip, moves in ((front * 0.5, True), (wall * 0.5, False)):
        rgb[16:24] = strip
        out = outline_near_side(config, covered, log_depth, rgb)
        assert np.array_equal(out[covered], log_depth[covered])
        assert np.allclose(out[16:24], 0.1 if moves else 1.0)
    rgb[16:24] = front * 0.5
    movers = np.zeros((40, 40), bool)
    movers[30:, :] = True
    near_mover = TemporalConfig(hole_outline_near_px=14, hole_outline_near_lift=0.1, hole_outline_mover_px=8.0)
    beside = outline_near_side(near_mover, covered, log_depth, rgb, movers)  # rows ≥ 22 within 8 px of the mover
    assert np.allclose(beside[16:22], 0.1) and np.allclose(beside[22:24], 1.0)
    off = TemporalConfig(hole_outline_near_px=0)
    assert np.array_equal(outline_near_side(off, covered, log_depth, rgb), log_depth)
    with pytest.raises(ValueError, match="hole_outline_near_lift"):
        TemporalRefiner(hole_outline_near_lift=1.5)
    with pytest.raises(ValueError, match="hole_outline_near_ratio"):
        TemporalRefiner(hole_outline_near_ratio=0.0)


_FLOOR_COLOUR, _WALL_COLOUR, _FRONT_COLOUR = ((0.3, 0.5, 0.2), (0.2, 0.3, 0.6), (0.6, 0.2, 0.2))


def _box_on_a_floor() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 60×40 frame: a floor (rows 40..59, inverse depth 0.01·(row − 10), green), a box's front (rows 30..39,
    columns 10..29, depth 1 / 0.3, red) and a wall (depth 10, blue) elsewhere; a strip of holes above the front (rows
    22..29, columns 10..29) filled with the wall's depth. Returns ``[60,40]`` float32 row numbers, log-depth, bool
    covered and ``[60,40,3]`` float32 RGB."""
    rows = np.arange(60, dtype=np.float32)[:, None] * np.ones((1, 40), np.float32)
    log_depth = np.full((60, 40), np.log(10.0), np.float32)  # the wall, and the holes' fill
    log_depth[40:] = -np.log(0.01 * (rows[40:] - 10))  # the floor
    log_depth[30:40, 10:30] = -np.log(0.015 * 20)  # the front: its upper edge (row 30) on the top's plane
    covered = np.ones((60, 40), bool)
    covered[22:30, 10:30] = False
    rgb = np.empty((60, 40, 3), np.float32)
    rgb[:] = _WALL_COLOUR
    rgb[40:] = _FLOOR_COLOUR
    rgb[30:40, 10:30] = _FRONT_COLOUR
    return rows, log_depth, covered, rgb


def test_a_top_face_hole_takes_the_floors_parallel_plane_through_the_front_below():
    """``hole_top_plane_px`` on :func:`_box_on_a_floor`: shaded like the front, the strip takes the plane parallel to
    the floor through the front's upper edge (inverse depth 0.015·(row − 10)) — but for its outer column on each side,
    whose 5×5 colour means mix in the wall; coloured like the wall, without a floor in view, within
    ``hole_outline_mover_px`` of a mover or with the option at 0, nothing moves."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import column_neighbours, plane_fills

    rows, log_depth, covered, rgb = _box_on_a_floor()
    wall, front = np.array(_WALL_COLOUR, np.float32), np.array(_FRONT_COLOUR, np.float32)
    config = TemporalConfig(hole_top_plane_px=10)
    expected = -np.log(0.015 * (rows[22:30, 11:29] - 10))
    for strip, moves in ((front * 0.5, True), (wall * 0.5, False)):
        rgb[22:30, 10:30] = strip
        out = plane_fills(config, covered, log_depth, rgb)
        assert np.array_equal(out[covered], log_depth[covered])
        np.testing.assert_allclose(out[22:30, 11:29], expected if moves else np.log(10.0), rtol=1e-5)
        assert np.allclose(out[22:30, [10, 29]], np.log(10.0))
    rgb[22:30, 10:30] = front * 0.5
    no_floor = log_depth.copy()
    no_floor[40:] = np.log(10.0) + 0.01 * rows[40:]  # farther down the image: no floor
    assert np.array_equal(plane_fills(config, covered, no_floor, rgb), no_floor)
    movers = np.zeros((60, 40), bool)
    movers[:, 35:] = True
    near_mover = TemporalConfig(hole_top_plane_px=10, hole_outline_mover_px=8.0)  # columns ≥ 27 within 8 px
    beside = plane_fills(near_mover, covered, log_depth, rgb, movers)
    np.testing.assert_allclose(beside[22:30, 11:27], expected[:, :16], rtol=1e-5)
    assert np.allclose(beside[22:30, 27:30], np.log(10.0))
    assert np.array_equal(plane_fills(TemporalConfig(), covered, log_depth, rgb), log_depth)
    below, above = column_neighbours(covered, 10)
    assert (below[22:30, 10:30] == 30).all() and (above[22:30, 10:30] == 21).all()
    assert below[59, 0] == -1 and above[0, 0] == -1 and below[10, 0] == 11
    assert (column_neighbours(covered, 5)[0][22:25, 10:30] == -1).all()  # the front is 6..8 rows below
    for bad in ({"hole_top_plane_px": -1}, {"hole_top_plane_colour": 0.0}, {"hole_top_plane_floor": 1.5}):
        with pytest.raises(ValueError, match="hole_top_plane"):
            TemporalRefiner(**bad)


def test_a_hole_coloured_like_the_floor_takes_the_floor_plane():
    """``hole_floor_plane_px`` on :func:`_box_on_a_floor` with a hole in the floor (rows 42..47, columns 30..35)
    filled nearer (depth 1): coloured like the floor (darker), it takes the floor's depth; coloured like the
    front, filled farther than the floor, or with the option at 0, nothing moves; the top strip is never touched."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import plane_fills

    rows, log_depth, covered, rgb = _box_on_a_floor()
    hole = (slice(42, 48), slice(30, 36))
    covered[hole] = False
    log_depth[hole] = 0.0  # filled nearer than the floor
    config = TemporalConfig(hole_floor_plane_px=8)
    for colour, moves in ((np.array(_FLOOR_COLOUR) * 0.7, True), (np.array(_FRONT_COLOUR) * 0.7, False)):
        rgb[hole] = colour
        out = plane_fills(config, covered, log_depth, rgb)
        assert np.array_equal(out[covered], log_depth[covered])
        assert np.array_equal(out[22:30, 10:30], log_depth[22:30, 10:30])
        expected = -np.log(0.01 * (rows[hole] - 10)) if moves else log_depth[hole]
        np.testing.assert_allclose(out[hole], expected, rtol=1e-5)
    rgb[hole] = np.array(_FLOOR_COLOUR) * 0.7
    farther = log_depth.copy()
    farther[hole] = np.log(20.0)  # already beyond the floor: stays
    assert np.array_equal(plane_fills(config, covered, farther, rgb), farther)
    assert np.array_equal(plane_fills(TemporalConfig(), covered, log_depth, rgb), log_depth)
    for bad in ({"hole_floor_plane_px": -1}, {"hole_floor_plane_colour": 0.0}):
        with pytest.raises(ValueError, match="hole_floor_plane"):
            TemporalRefiner(**bad)


def test_the_covered_rim_coloured_like_the_floor_takes_the_floor_plane():
    """``hole_floor_rim_px`` on :func:`_box_on_a_floor` with a hole in the floor under the box (rows 44..47, columns
    24..29) and a covered rim above it (rows 42..43) given a nearer depth: coloured like the floor, the rim
    takes the floor's depth; coloured like the front, beyond the floor, with a reach whose squares hold none of the
    front's pixels nearer than the floor, or with the option at 0, nothing moves; nothing else moves (the front, the
    wall beside the top strip, the holes)."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import plane_fills

    rows, log_depth, covered, rgb = _box_on_a_floor()
    covered[44:48, 24:30] = False
    rim = (slice(42, 44), slice(24, 30))
    log_depth[rim] = 0.0  # nearer than the floor (depth 1 against 3)
    config = TemporalConfig(hole_floor_rim_px=5)
    others = covered.copy()
    others[rim] = False
    for colour, moves in ((np.array(_FLOOR_COLOUR) * 0.7, True), (np.array(_FRONT_COLOUR) * 0.7, False)):
        rgb[rim] = colour
        out = plane_fills(config, covered, log_depth, rgb)
        expected = -np.log(0.01 * (rows[rim] - 10)) if moves else log_depth[rim]
        np.testing.assert_allclose(out[rim], expected, rtol=1e-5)
        assert np.array_equal(out[others], log_depth[others]) and np.array_equal(out[~covered], log_depth[~covered])
    rgb[rim] = np.array(_FLOOR_COLOUR) * 0.7
    short = TemporalConfig(hole_floor_rim_px=3)  # the squares reach row 39 at most: on the floor's plane
    assert np.array_equal(plane_fills(short, covered, log_depth, rgb), log_depth)
    farther = log_depth.copy()
    farther[rim] = np.log(20.0)  # beyond the floor: stays
    assert np.array_equal(plane_fills(config, covered, farther, rgb), farther)
    assert np.array_equal(plane_fills(TemporalConfig(), covered, log_depth, rgb), log_depth)
    for bad in ({"hole_floor_rim_px": -1}, {"hole_floor_rim_colour": 0.0}):
        with pytest.raises(ValueError, match="hole_floor_rim"):
            TemporalRefiner(**bad)


def _orbit_poses(count: int) -> np.ndarray:
    """``[count,4,4]`` cameras (OpenCV axes) 1.5 above the floor ``y = 0`` (world y down: the floor is below at
    larger y), on a circle of radius 3 around the origin, looking 20° down towards it."""
    poses = np.tile(np.eye(4), (count, 1, 1))
    pitch = np.radians(20.0)
    for k, angle in enumerate(np.linspace(0.0, 1.0, count)):
        forward = np.array([-np.sin(angle) * np.cos(pitch), np.sin(pitch), -np.cos(angle) * np.cos(pitch)])
        right = np.cross(forward, [0.0, -1.0, 0.0])
        right /= np.linalg.norm(right)
        poses[k, :3, :3] = np.stack([right, np.cross(forward, right), forward], axis=1)  # columns x, y (down), z
        poses[k, :3, 3] = [3 * np.sin(angle), -1.5, 3 * np.cos(angle)]
    return poses


def test_the_videos_one_floor_is_the_plane_most_frames_agree_on():
    """:func:`world_floor` on eight orbiting cameras: five frames' own fits are the floor ``y = 0`` (seen through
    :func:`seen_plane`, which :func:`world_plane` inverts), three a wall (vertical): the floor comes back; with only
    one frame of floor the walls' fits (their normals 90° from the cameras' down direction) give none."""
    from stereodiff.stage2.hole_fill import seen_plane, world_floor, world_plane

    poses, focal, centre = _orbit_poses(8), 200.0, (40.0, 30.0)
    floor, wall = np.array([0.0, 1.0, 0.0, 0.0]), np.array([0.0, 0.0, -1.0, 4.0])  # a wall z = −4, behind the origin
    for pose in poses:
        seen = seen_plane(floor, pose, focal, centre)
        assert seen[1] > 0  # the floor's inverse depth grows down the image
        np.testing.assert_allclose(world_plane(seen, pose, focal, centre), floor, atol=1e-9)
    planes = [seen_plane(floor if k % 3 else wall, pose, focal, centre) for k, pose in enumerate(poses)]
    found = world_floor(planes, poses, focal, centre)
    assert found is not None
    np.testing.assert_allclose(found, floor, atol=1e-9)
    walls = [seen_plane(wall if k else floor, pose, focal, centre) for k, pose in enumerate(poses)]
    assert world_floor(walls, poses, focal, centre) is None
    assert world_floor([None] * 8, poses, focal, centre) is None


def test_the_videos_floor_decides_a_frame_whose_lowest_third_is_a_box_front():
    """``plane_fills`` with ``seen_floor`` (``hole_floor_world``): in a frame whose lowest third is mostly a box's
    front (its inverse depth barely growing down the image: the frame's own fit takes it for the floor), a hole in
    the floor beside it, coloured like the floor and filled nearer, takes the floor's depth only with the video's
    floor given; :func:`floor_near` refits it to the frame's own floor pixels (a prior 2 % off comes back exact)."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import floor_near, floor_plane, plane_fills

    rows = np.arange(60, dtype=np.float64)[:, None] * np.ones((1, 40))
    cols = np.ones((60, 1)) * np.arange(40, dtype=np.float64)[None, :]
    floor = np.array([0.0, 0.01, -0.1])  # inverse depth 0.01·(row − 10)
    log_depth = np.full((60, 40), np.log(10.0))
    log_depth[30:] = -np.log(floor[1] * rows[30:] + floor[2])
    front = (slice(30, 60), slice(0, 30))
    log_depth[front] = -np.log(1.0 + 1e-4 * rows[front] + 1e-4 * cols[front])  # a near front, barely sloped
    covered = np.ones((60, 40), bool)
    hole = (slice(44, 50), slice(32, 38))
    covered[hole] = False
    log_depth[hole] = 0.0  # filled nearer than the floor
    log_depth = log_depth.astype(np.float32)
    rgb = np.empty((60, 40, 3), np.float32)
    rgb[:] = _WALL_COLOUR
    rgb[30:] = _FLOOR_COLOUR
    rgb[front] = _FRONT_COLOUR
    rgb[hole] = np.array(_FLOOR_COLOUR) * 0.7
    config = TemporalConfig(hole_floor_plane_px=8)
    own = floor_plane(covered, log_depth, config.hole_top_plane_floor)
    assert own is not None and own[1] < 1e-3  # the front, not the floor
    assert np.array_equal(plane_fills(config, covered, log_depth, rgb), log_depth)
    out = plane_fills(config, covered, log_depth, rgb, seen_floor=floor * 1.02)
    np.testing.assert_allclose(out[hole], -np.log(floor[1] * rows[hole] + floor[2]), rtol=1e-4)
    assert np.array_equal(out[covered], log_depth[covered])
    np.testing.assert_allclose(floor_near(covered, log_depth, floor * 1.02), floor, atol=1e-6)
    assert floor_near(covered, log_depth, np.array([0.0, -0.01, 1.0])) is None  # not a floor: no move
    assert TemporalConfig().hole_floor_world is False


def test_a_top_move_the_nearby_frames_show_on_the_floor_is_undone():
    """:func:`top_views_check`: a block of holes the top pass moved from the fill's depth 10 to the top's 2, with
    the floor's plane at depth 5, seen by a nearby frame one unit to the side (focal 20: the block lands 10 / 4 / 2
    columns over at the three depths). Where that frame shows the block's colour at the top's landing, the move
    stays; where at the floor's, it is undone (the fill's depth back); without views, or where nothing moved,
    nothing changes."""
    from stereodiff.stage2.hole_fill import View, top_views_check

    own, other = (0.8, 0.3, 0.2), (0.1, 0.2, 0.7)
    rgb = np.empty((20, 40, 3), np.float32)
    rgb[:] = own
    before = np.full((20, 40), np.log(10.0), np.float32)
    after = before.copy()
    block = (slice(9, 12), slice(19, 22))
    after[block] = np.log(2.0)
    floor = np.array([0.0, 0.0, 0.2])  # inverse depth 0.2 everywhere: depth 5

    def view(columns: slice) -> View:
        seen = np.empty((20, 40, 3), np.float32)
        seen[:] = other
        seen[8:13, columns] = own
        return View(seen, np.eye(3), np.array([1.0, 0.0, 0.0]), 20.0, (20.0, 10.0))

    kept = top_views_check(rgb, [view(slice(28, 33))], before, after, floor)  # the top's landing: columns 29..31
    np.testing.assert_array_equal(kept, after)
    undone = top_views_check(rgb, [view(slice(22, 27))], before, after, floor)  # the floor's: columns 23..25
    np.testing.assert_array_equal(undone, before)
    far_apart = 2 * float(np.abs(np.subtract(own, other)).sum())  # beyond the top's whole cost there (1.3)
    np.testing.assert_array_equal(top_views_check(rgb, [view(slice(22, 27))], before, after, floor, far_apart), after)
    assert top_views_check(rgb, [], before, after, floor) is after
    assert top_views_check(rgb, [view(slice(22, 27))], before, before, floor) is before
    for bad in ({"hole_top_plane_views": -1}, {"hole_top_plane_views_margin": -0.1}):
        with pytest.raises(ValueError, match="hole_top_plane_views"):
            TemporalRefiner(**bad)


_TOP_OWN, _TOP_OTHER = (0.8, 0.3, 0.2), (0.1, 0.2, 0.7)


def _top_block() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 20×40 frame of one colour (``rgb``), its fill at depth 10 (``fill``), the same with a 3×3 block at the top's
    depth 2 (``top``), and a floor plane at depth 5 (``floor [3]``)."""
    rgb = np.empty((20, 40, 3), np.float32)
    rgb[:] = _TOP_OWN
    fill = np.full((20, 40), np.log(10.0), np.float32)
    top = fill.copy()
    top[9:12, 19:22] = np.log(2.0)
    return rgb, fill, top, np.array([0.0, 0.0, 0.2])


def _top_view(columns: slice, colour: tuple[float, float, float] = _TOP_OWN) -> list:
    """One nearby frame one unit to the side (focal 20) showing ``colour`` in ``columns`` of rows 8..12, the other
    colour elsewhere: the block lands 10 / 4 / 2 columns over at depths 2 / 5 / 10."""
    from stereodiff.stage2.hole_fill import View

    seen = np.empty((20, 40, 3), np.float32)
    seen[:] = _TOP_OTHER
    seen[8:13, columns] = colour
    return [View(seen, np.eye(3), np.array([1.0, 0.0, 0.0]), 20.0, (20.0, 10.0))]


def test_a_top_move_high_above_the_floor_is_kept_under_the_gap():
    """``hole_top_plane_views_gap``: a block moved from its fill's depth 10 to the top's 2 with the floor's plane at
    depth 5 along its rays (log-depth gap 0.92) and a nearby frame that shows its colour at the floor's landing:
    undone with no gap limit or a gap of 1, kept (the top's depth) under a gap of 0.5, a plane too high above the
    floor for a floor hole."""
    from stereodiff.stage2.hole_fill import top_views_check

    rgb, before, after, floor = _top_block()
    views = _top_view(slice(22, 27))  # the floor's landing: columns 23..25
    np.testing.assert_array_equal(top_views_check(rgb, views, before, after, floor, 0.01), before)
    np.testing.assert_array_equal(top_views_check(rgb, views, before, after, floor, 0.01, 1.0), before)
    np.testing.assert_array_equal(top_views_check(rgb, views, before, after, floor, 0.01, 0.5), after)
    with pytest.raises(ValueError, match="hole_top_plane_views_gap"):
        TemporalRefiner(hole_top_plane_views_gap=-0.1)


def test_a_top_left_by_its_colour_takes_the_plane_the_nearby_frames_confirm():
    """:func:`top_views_rescue` (``hole_top_plane_views_ratio``): a 3×3 block the top pass left at the fill's depth 10
    for its colour alone, whose top plane is at depth 2 (the pass without its colour test) and the floor's at 5.
    Where a nearby frame shows a colour 0.1 off the block's at the top's landing (the floor's and the fill's landings
    1.3 off), the block takes the top's depth under a ratio of 2, not of 20; where it shows the block at the floor's
    landing, nothing moves; without views nothing changes."""
    from stereodiff.stage2.hole_fill import top_views_rescue

    rgb, left, every, floor = _top_block()
    at_top = _top_view(slice(28, 33), (0.7, 0.3, 0.2))  # the top's landing: columns 29..31
    np.testing.assert_array_equal(top_views_rescue(rgb, at_top, left, every, floor, 2.0), every)
    np.testing.assert_array_equal(top_views_rescue(rgb, at_top, left, every, floor, 20.0), left)
    np.testing.assert_array_equal(top_views_rescue(rgb, _top_view(slice(22, 27)), left, every, floor, 2.0), left)
    assert top_views_rescue(rgb, [], left, every, floor, 2.0) is left
    with pytest.raises(ValueError, match="hole_top_plane_views_ratio"):
        TemporalRefiner(hole_top_plane_views_ratio=-1.0)


def test_repeated_refits_take_a_tilted_floor_prior_to_the_frames_floor():
    """``hole_floor_refits``: :func:`floor_near` from a prior tilted up the image (right at the bottom, 5 % nearer
    at the top) on a floor with ±4 % noise: one refit on the pixels within 5 % of the prior keeps part of the tilt
    (the far floor's pixels beyond the prior's band are those on its far side); repeated refits, stopping once the
    pixels no longer change, reach the floor."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import floor_near

    rows = np.arange(80, dtype=np.float64)[:, None] * np.ones((1, 60))
    cols = np.ones((80, 1)) * np.arange(60, dtype=np.float64)[None, :]
    floor = np.array([0.0, 0.01, -0.1])  # inverse depth 0.01·(row − 10)
    true = floor[1] * rows + floor[2]
    covered = rows >= 20
    noise = 0.04 * np.sin(0.9 * rows + 1.7 * cols)
    log_depth = np.where(covered, -np.log(np.maximum(true * (1 + noise), 1e-3)), 0.0).astype(np.float32)
    prior = np.array([0.0, 0.0094, -0.086])

    def worst(plane: np.ndarray) -> float:  # the largest relative error of the plane's inverse depth on the floor
        return float(np.max(np.abs(plane[1] * rows[20:, 0] + plane[2] - true[20:, 0]) / true[20:, 0]))

    assert worst(prior) > 0.04
    assert worst(floor_near(covered, log_depth, prior)) > 0.02  # one refit: half the tilt kept
    assert worst(floor_near(covered, log_depth, prior, 20)) < 0.001
    np.testing.assert_array_equal(floor_near(covered, log_depth, prior, 20), floor_near(covered, log_depth, prior, 50))
    assert TemporalConfig().hole_floor_refits == 1
    with pytest.raises(ValueError, match="hole_floor_refits"):
        TemporalConfig(hole_floor_refits=0).validate()


def test_floor_refits_by_updated_normal_equations_are_the_least_squares_planes():
    """``hole_floor_refit_sums``: :class:`_FloorSums` kept over sets of pixels that gain and lose pixels gives each
    set's least-squares plane (to 1e-9, relative) with its whole-number sums exact; :func:`floor_near` with it takes
    the tilted prior of the repeated-refits test to the same plane at every number of refits."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import _FloorSums, floor_near

    rng = np.random.default_rng(5)
    rows, cols = np.nonzero(np.ones((48, 64), bool))
    inverse = 0.02 * rows + 0.001 * cols + 0.1 + 0.01 * rng.standard_normal(len(rows))
    design = np.stack([cols, rows, np.ones(len(rows))], axis=1).astype(np.float64)
    sums = _FloorSums(design, inverse, (48, 64))
    fit = rng.random(len(rows)) < 0.5
    for _ in range(6):  # each set swaps a tenth of the pixels in and out of the last
        plane = sums.refit(fit)
        expected = np.linalg.lstsq(design[fit], inverse[fit], rcond=None)[0]
        np.testing.assert_allclose(plane, expected, rtol=1e-9)
        centred = design[fit] - np.array([32, 24, 0])
        assert np.array_equal(sums.gram, centred.T @ centred)
        fit = fit ^ (rng.random(len(rows)) < 0.1)

    grid_rows = np.arange(80, dtype=np.float64)[:, None] * np.ones((1, 60))
    grid_cols = np.ones((80, 1)) * np.arange(60, dtype=np.float64)[None, :]
    true = 0.01 * grid_rows - 0.1
    covered = grid_rows >= 20
    noise = 0.04 * np.sin(0.9 * grid_rows + 1.7 * grid_cols)
    log_depth = np.where(covered, -np.log(np.maximum(true * (1 + noise), 1e-3)), 0.0).astype(np.float32)
    prior = np.array([0.0, 0.0094, -0.086])
    for refits in (1, 2, 5, 20):
        np.testing.assert_allclose(
            floor_near(covered, log_depth, prior, refits, sums=True),
            floor_near(covered, log_depth, prior, refits),
            rtol=1e-9,
            atol=1e-12,
        )
    assert TemporalConfig().hole_floor_refit_sums is False


def test_weak_far_points_on_a_nearer_confident_surface_leave_the_fill_with_fill_weak_far():
    """``fill_weak_far``: a near object (depth 2, one colour) confident in rows 12-19, weak far outliers (depth 20,
    weight 0.3) on it in rows 6-9 and holes in rows 2-5: without the option the outliers pull the holes far; with it
    they are left out (filled as holes) and the holes take the object's depth. Weak far outliers of the far scenery
    (another colour, depth 100 on its confident 20 and 40) stay under ``fill_weak_far_near`` (its region is not
    near) and are left out without it; a camera not moving ahead is bit-identical to off."""
    from stereodiff.stage2.configs import TemporalConfig
    from stereodiff.stage2.hole_fill import fill_frames

    rgb = np.full((1, 24, 32, 3), 0.8, np.float32)
    rgb[0, :, :16] = 0.2  # the near object's colour on the left half
    log_d = np.full((1, 24, 32), np.log(20.0), np.float32)
    weight = np.ones((1, 24, 32), np.float32)
    log_d[0, :, :16] = np.log(2.0)
    log_d[0, 6:10, :16], weight[0, 6:10, :16] = np.log(20.0), 0.3  # far outliers of low weight on the object
    log_d[0, 6:10, 16:], weight[0, 6:10, 16:] = np.log(100.0), 0.3  # weak far outliers of the far scenery
    weight[0, 2:6, :] = 0.0  # holes
    log_d[weight == 0] = 0.0

    def fill(up: bool = True, **options) -> np.ndarray:
        (frame,) = fill_frames(TemporalConfig(**options), rgb, log_d, weight, up=up)
        return frame.estimate

    plain, left_out = fill(), fill(fill_weak_far=0.5, fill_weak_far_near=0.6)  # near: up to 20
    assert (plain[2:6, :16] > np.log(2.0) + 0.1).all()  # pulled far by the outliers
    np.testing.assert_allclose(left_out[2:10, :16], np.log(2.0), atol=0.02)  # holes and outliers: the object's
    np.testing.assert_array_equal(left_out[:, 16:], plain[:, 16:])  # the far scenery keeps its weak pixels
    np.testing.assert_array_equal(left_out[10:, :16], plain[10:, :16])
    anywhere = fill(fill_weak_far=0.5, fill_weak_far_near=1.0)  # no near gate: the far scenery's outliers too
    assert (anywhere[6:10, 16:] < plain[6:10, 16:] - 0.3).all()
    np.testing.assert_array_equal(fill(up=False, fill_weak_far=0.5), fill(up=False))
    with pytest.raises((ValueError, InputError)):
        TemporalConfig(fill_weak_far=1.0).validate()
    with pytest.raises((ValueError, InputError)):
        TemporalConfig(fill_weak_far=0.5, fill_weak_far_margin=0.0).validate()
    with pytest.raises((ValueError, InputError)):
        TemporalConfig(fill_weak_far=0.5, fill_weak_far_near=0.0).validate()
