"""Sky: regions at infinity (``stage1.sky``): found above a textured plane, not on an indoor ceiling."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.config import preset_config, set_option
from stereodiff.stage1.sky import SkySettings, apply_sky, brightest, detect_sky, paint_sky, sky_frame
from stereodiff.types import SceneGeometry

H, W, HORIZON = 48, 64, 16  # rows < HORIZON are the sky (or the ceiling), the others a textured plane


def _clip(top: tuple[int, int, int], top_depth: float = 0.0, frames: int = 4) -> tuple[np.ndarray, SceneGeometry]:
    """``[T,H,W,3]`` uint8 frames: a smooth band of colour ``top`` above a textured plane (noise), and a stage-1
    scene covering the plane (depth 2 at the bottom to 6 at the horizon) and the band at ``top_depth`` (0 = a
    hole)."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(20, 140, (frames, H, W, 3)).astype(np.uint8)  # the plane: texture
    rows = np.linspace(0.0, 1.0, HORIZON, dtype=np.float32)[:, None, None]
    rgb[:, :HORIZON] = np.clip(np.asarray(top, np.float32) * (1.0 - 0.05 * rows), 0, 255).astype(np.uint8)
    depth = np.repeat(np.linspace(6.0, 2.0, H - HORIZON, dtype=np.float32)[:, None], W, axis=1)
    depth = np.concatenate([np.full((HORIZON, W), top_depth, np.float32), depth])
    depth = np.repeat(depth[None], frames, axis=0)
    scene = SceneGeometry(
        depth=depth,
        confidence=(depth > 0).astype(np.float32),
        focal=np.full(frames, 60.0),
        principal_point=np.tile([W / 2, H / 2], (frames, 1)).astype(np.float64),
        cam_to_world=np.tile(np.eye(4), (frames, 1, 1)),
    )
    return rgb, scene


SKY_BLUE = (110, 160, 235)


def test_blue_sky_above_a_textured_plane_is_found_and_made_a_hole():
    frames, scene = _clip(SKY_BLUE)
    sky = detect_sky(frames, scene, num_workers=2)
    truth = np.zeros(sky.shape, bool)
    truth[:, :HORIZON] = True
    assert (sky & truth).sum() >= 0.95 * truth.sum()  # recall
    assert not (sky & ~truth).any()  # precision: nothing of the plane
    scene = apply_sky(scene, sky, holes=True)
    assert scene.sky is sky and not scene.valid[:, :HORIZON].any() and (scene.depth[:, :HORIZON] == 0).all()
    assert scene.valid[:, HORIZON:].all()  # the plane keeps its depth


def test_sky_triangulated_far_is_found_near_is_not():
    """Stage 1's noise in the sky lies far (beyond the plane's 3rd quartile): still sky; a blue band triangulated
    as near as the plane's nearest rows is a surface with parallax."""
    assert detect_sky(*_clip(SKY_BLUE, top_depth=8.0)).all(axis=0)[:HORIZON].mean() > 0.95
    assert detect_sky(*_clip(SKY_BLUE, top_depth=2.5)) is None


@pytest.mark.parametrize("ceiling", [(235, 235, 235), (240, 228, 210), (30, 45, 95)])
def test_indoor_white_or_warm_ceiling_or_dark_blue_wall_is_not_sky(ceiling):
    """An untextured white / warm-white ceiling (a stage-1 hole, touching the top) is not blue; a dark blue wall is
    not bright: neither is sky."""
    assert detect_sky(*_clip(ceiling)) is None


def test_textured_blue_band_is_not_sky():
    frames, scene = _clip(SKY_BLUE)
    rng = np.random.default_rng(1)  # grey blotches of 2×2 pixels, as a real texture (pixel noise the blur hides)
    noise = np.kron(rng.integers(-60, 61, (len(frames), HORIZON // 2, W // 2, 1)), np.ones((1, 2, 2, 3), int))
    frames[:, :HORIZON] = np.clip(frames[:, :HORIZON].astype(int) + noise, 0, 255).astype(np.uint8)
    assert detect_sky(frames, scene) is None


def test_a_region_in_too_few_frames_is_dropped():
    frames, scene = _clip(SKY_BLUE, frames=10)
    frames[1:, :HORIZON] = (235, 235, 235)  # sky in one frame of ten (10 % < min_frames 20 %)
    assert detect_sky(frames, scene) is None
    assert detect_sky(frames, scene, SkySettings(min_frames=0.1)).any()


def test_sky_frame_needs_the_top_border():
    """The same blue band one row below the top, under a textured row, touches no top pixel: not sky."""
    frames, scene = _clip(SKY_BLUE)
    rgb = frames[0].astype(np.float32) / 255
    rgb[:2] = np.random.default_rng(2).random((2, W, 3))
    assert not sky_frame(rgb, scene.depth[0], scene.valid[0], SkySettings()).any()


@pytest.mark.parametrize("kind", ["depth", "disparity"])
def test_paint_sky_puts_it_beyond_the_far_bound(kind):
    rng = np.random.default_rng(3)
    out = rng.uniform(1.0, 5.0, (3, 2 * H, 2 * W)).astype(np.float32)  # twice the mask's size
    sky = np.zeros((3, H, W), bool)
    sky[:2, :HORIZON] = True
    rest = out[:, 2 * HORIZON :].copy()
    value = paint_sky(out, sky, kind, far=2.0)
    painted = out[:2, : 2 * HORIZON]
    high = np.percentile(out[0, 2 * HORIZON :], 99) if kind == "depth" else np.percentile(1 / rest, 99)
    assert value >= 2.0 * high * 0.99
    np.testing.assert_allclose(painted, value if kind == "depth" else 1 / value, rtol=1e-6)
    np.testing.assert_array_equal(out[:, 2 * HORIZON :], rest)  # nothing else changes
    np.testing.assert_array_equal(out[2, : 2 * HORIZON], out[2, : 2 * HORIZON])


def test_config_validates_the_sky_options():
    config = preset_config("cpu")
    assert config.stage1.sky is True  # on in the cpu preset (off in the class)
    set_option(config, "stage1.sky", "true")
    config.validate()
    set_option(config, "stage1.sky_far", "0.5")
    with pytest.raises(ValueError, match="sky_far"):
        config.validate()
    config = preset_config("cpu")
    set_option(config, "stage1.sky_grow", "-1")
    with pytest.raises(ValueError, match="sky_grow"):
        config.validate()


def test_sky_seen_through_a_structure_needs_sky_above():
    """A blue window of sky below a textured beam (rows 24-39 of the plane) is taken with the top sky it matches,
    and not in a frame whose top is a white ceiling."""
    frames, scene = _clip(SKY_BLUE)
    window = (slice(None), slice(24, 40), slice(8, 56))
    frames[window] = SKY_BLUE
    scene.depth[window], scene.valid[window] = 0.0, False
    assert detect_sky(frames, scene)[window].mean() > 0.9
    assert not detect_sky(frames, scene, SkySettings(through=False))[window].any()
    frames[:, :HORIZON] = (235, 235, 235)
    assert detect_sky(frames, scene) is None


def test_scene_keeps_its_sky_through_save_and_load(tmp_path):
    from stereodiff.pipeline import load_scene, save_scene

    frames, scene = _clip(SKY_BLUE)
    scene = apply_sky(scene, detect_sky(frames, scene))
    save_scene(tmp_path, scene)
    loaded = load_scene(tmp_path)
    np.testing.assert_array_equal(loaded.sky, scene.sky)


def test_without_holes_the_scene_keeps_its_depth():
    frames, scene = _clip(SKY_BLUE, top_depth=8.0)
    depth = scene.depth.copy()
    sky = detect_sky(frames, scene)
    kept = apply_sky(scene, sky)  # the default: stage 1's depth kept
    assert kept.sky is sky and sky.any()
    np.testing.assert_array_equal(kept.depth, depth)
    assert kept.valid.all()


def test_second_pass_takes_the_video_sky_colour_where_stage_1_put_it_near():
    """Frames 0-4: the sky a stage-1 hole (taken); frames 5-9: the same sky triangulated near (stage 1's noise; its
    own test refuses it): the second pass takes it by the video's sky colour, and without it (0) it stays."""
    frames, scene = _clip(SKY_BLUE, frames=10)
    scene.depth[5:, :HORIZON], scene.valid[5:, :HORIZON] = 2.5, True
    assert detect_sky(frames, scene).all(axis=0)[: HORIZON - 1].all()
    without = detect_sky(frames, scene, SkySettings(video_colour=0.0))
    assert without[:5].any() and not without[5:].any()


def test_grow_takes_the_sky_rim_lightening_towards_the_horizon():
    """The sky's last 6 rows lighten towards the horizon (0.02 a row: too steep for the candidates' gradient, too far
    for the 4 px rim): the default leaves them, ``grow`` takes them up to the colour edge of the plane."""
    frames, scene = _clip(SKY_BLUE)
    for i, row in enumerate(range(HORIZON - 6, HORIZON)):
        frames[:, row, :, :] = np.clip(np.asarray(SKY_BLUE) + 5 * (i + 1), 0, 255).astype(np.uint8)
    truth = np.zeros(frames.shape[:3], bool)
    truth[:, :HORIZON] = True
    before = detect_sky(frames, scene)
    after = detect_sky(frames, scene, SkySettings(grow=6))
    assert (before & truth).sum() < 0.95 * truth.sum()
    assert (after & truth).sum() == truth.sum() and not (after & ~truth).any()


def test_carry_seeds_a_thin_strip_from_the_previous_frames():
    """Frames 0-5: the sky band; frames 6-9: only a 2-row strip of it at the top (too thin for the tests): the
    carried sky (identity rotation) takes the strip with ``carry``, not without, and nothing of the plane."""
    frames, scene = _clip(SKY_BLUE, frames=10)
    frames[6:, 2:HORIZON] = frames[6:, HORIZON : 2 * HORIZON - 2]  # the plane's texture up to row 2
    scene.depth[6:, 2:HORIZON], scene.valid[6:, 2:HORIZON] = 6.0, True
    without = detect_sky(frames, scene, SkySettings(grow=6))
    carried = detect_sky(frames, scene, SkySettings(grow=6, carry=True))
    assert not without[6:].any()
    assert carried[6:, :2].all() and not carried[6:, 2:].any()
    assert carried[:6, : HORIZON - 1].all()


def test_carry_follows_the_rotation_at_infinity():
    """Camera 1 turned by 5° about its y axis (cam-to-world): the direction seen at the centre of frame 0 lies at
    ``cx − f tan 5°`` in frame 1."""
    from stereodiff.stage1.sky import _rotation

    _, scene = _clip(SKY_BLUE, frames=2)
    angle = np.radians(5.0)
    c, s = np.cos(angle), np.sin(angle)
    scene.cam_to_world[1][:3, :3] = [[c, 0, s], [0, 1, 0], [-s, 0, c]]
    point = _rotation(scene, scene.intrinsics(), 0, 1) @ [W / 2, H / 2, 1.0]
    assert np.allclose(point[:2] / point[2], [W / 2 - 60.0 * np.tan(angle), H / 2])


@pytest.mark.parametrize("ceiling", [(235, 235, 235), (240, 228, 210)])
def test_grow_and_carry_take_nothing_in_a_video_without_sky(ceiling):
    assert detect_sky(*_clip(ceiling), SkySettings(grow=6, carry=True)) is None


def test_grow_stops_at_a_neutral_grey_beside_the_sky():
    """A pale sky (driving's) fading in steps of 0.03 into a neutral grey facade (within ``grow_colour`` of the sky,
    B − R = 0): ``grow_blue`` keeps the grey out; without it (-1) the growth runs into it."""
    from stereodiff.stage1.sky import _grow_frame

    sky_rgb, grey = np.array([0.59, 0.69, 0.84], np.float32), np.full(3, 0.72, np.float32)
    rgb = np.tile(sky_rgb, (H, W, 1))
    for i in range(6):  # rows 8-13: the fade; rows 14-: the grey
        rgb[8 + i] = sky_rgb + (grey - sky_rgb) * (i + 1) / 6
    rgb[14:] = grey
    seed = np.zeros((H, W), bool)
    seed[:8] = True
    none = np.zeros_like(seed)
    kept = _grow_frame(seed, none, rgb, sky_rgb, SkySettings(grow=20))
    assert kept[:8].all() and not kept[14:].any()
    assert _grow_frame(seed, none, rgb, sky_rgb, SkySettings(grow=20, grow_blue=-1.0))[14:20].all()


def test_near_recheck_drops_a_sky_coloured_region_triangulated_near():
    """A sky-coloured smooth patch in the plane (a parked car's side), triangulated nearer than the plane's median:
    the second pass takes it by the video's sky colour without stage 1's test; ``near_recheck`` drops it again and
    keeps the sky above (a stage-1 hole)."""
    frames, scene = _clip(SKY_BLUE, frames=6)
    car = (slice(30, 42), slice(36, 60))
    frames[:, car[0], car[1]] = SKY_BLUE
    scene.depth[:, car[0], car[1]], scene.valid[:, car[0], car[1]] = 2.2, True
    taken = detect_sky(frames, scene)
    assert taken[:, car[0], car[1]].all()  # off: painted at the far value after stage 2
    sky = detect_sky(frames, scene, SkySettings(near_recheck=0.9))
    assert not sky[:, car[0], car[1]].any()
    assert sky.all(axis=0)[: HORIZON - 1].all() and np.array_equal(sky[:, :HORIZON], taken[:, :HORIZON])
    config = preset_config("cpu")
    assert config.stage1.sky_near_recheck == 0.9  # with sky_near_recheck_gap=16 (alone it drops real sky)
    set_option(config, "stage1.sky_near_recheck", "1.5")
    with pytest.raises(ValueError, match="sky_near_recheck"):
        config.validate()


def _lattice(frames: int = 4) -> tuple[np.ndarray, SceneGeometry, np.ndarray]:
    """:func:`_clip` with the top band a lattice over the sky: two textured beams 4 px thick (columns 20-23 and
    40-43, rows 0-15) in front of it, triangulated at 2; the sky a hole except its middle cell (columns 24-39),
    which stage 1 triangulates at the beams' depth (the patches fatten them into it). Returns the frames, the scene
    and the cell (``[H,W]`` bool)."""
    frames, scene = _clip(SKY_BLUE, frames=frames)
    rng = np.random.default_rng(1)
    for left in (20, 40):
        frames[:, :HORIZON, left : left + 4] = rng.integers(20, 90, (frames.shape[0], HORIZON, 4, 3))
        scene.depth[:, :HORIZON, left : left + 4], scene.valid[:, :HORIZON, left : left + 4] = 2.0, True
    cell = np.zeros((H, W), bool)
    cell[:HORIZON, 24:40] = True
    scene.depth[:, cell], scene.valid[:, cell] = 2.0, True
    return frames, scene, cell


def test_near_recheck_gap_keeps_sky_between_thin_beams():
    """The lattice's middle cell, triangulated near as the beams are, is dropped by ``near_recheck`` alone; with a gap
    wider than the beams (4 px) it is kept, as the cells beside it are; with a narrower one it is dropped again."""
    frames, scene, cell = _lattice()
    taken = detect_sky(frames, scene)
    assert taken[:, cell].mean() > 0.9
    alone = detect_sky(frames, scene, SkySettings(near_recheck=0.9))
    assert not alone[:, cell].any() and alone[:, :HORIZON, :20].mean() > 0.9
    kept = detect_sky(frames, scene, SkySettings(near_recheck=0.9, near_gap=8))
    assert np.array_equal(kept, taken)
    assert not detect_sky(frames, scene, SkySettings(near_recheck=0.9, near_gap=2))[:, cell].any()


def test_near_recheck_gap_still_drops_a_car_far_from_the_sky():
    """The sky-coloured car of ``test_near_recheck_drops_a_sky_coloured_region_triangulated_near`` lies 14 px below
    the sky: a gap of 8 px keeps nothing of it; one of 16 px reaches it (the option's limit); the config validates the
    gap."""
    frames, scene = _clip(SKY_BLUE, frames=6)
    car = (slice(30, 42), slice(36, 60))
    frames[:, car[0], car[1]] = SKY_BLUE
    scene.depth[:, car[0], car[1]], scene.valid[:, car[0], car[1]] = 2.2, True
    assert not detect_sky(frames, scene, SkySettings(near_recheck=0.9, near_gap=8))[:, car[0], car[1]].any()
    assert detect_sky(frames, scene, SkySettings(near_recheck=0.9, near_gap=16))[:, car[0], car[1]].all()
    config = preset_config("cpu")
    assert config.stage1.sky_near_recheck_gap == 16
    set_option(config, "stage1.sky_near_recheck_gap", "-1")
    with pytest.raises(ValueError, match="sky_near_recheck_gap"):
        config.validate()


def test_brightest_is_the_channel_maximum_bit_for_bit():
    """``brightest``: the largest channel, the same bits as ``rgb.max(axis=2)`` on colours in [0, 1] (ties between
    channels, a channel at 0 or 1 included) and on a strided view of a frame."""
    rng = np.random.default_rng(0)
    rgb = rng.random((24, 32, 3), dtype=np.float32)
    rgb[:4] = rgb[:4, :, :1]  # grey rows: three equal channels
    rgb[4:8, :, 1], rgb[8:12, :, 2] = 0.0, 1.0
    for colours in (rgb, rgb[::2, 1::3]):
        assert brightest(colours).tobytes() == colours.max(axis=2).tobytes()
