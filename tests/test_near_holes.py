"""A hole whose silhouette moves far faster than its surroundings' parallax gets a depth between its outline's
static depth and its occlusion bound (``stage1.near_holes``); a hole that moves with the static scene stays a hole."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stereodiff.config import preset_config, set_option
from stereodiff.stage1.configs import GeometricConfig
from stereodiff.stage1.geometric import near_holes_settings
from stereodiff.stage1.near_holes import NearHolesSettings, near_hole_depth, silhouette_shift
from stereodiff.types import SceneGeometry

T, H, W, FOCAL, WALL, STEP = 8, 96, 128, 100.0, 10.0, 0.1  # frames, size, focal (px), wall depth, camera step


def _scene(mover_px: int) -> SceneGeometry:
    """A camera stepping ``STEP`` sideways per frame before a covered wall at depth ``WALL`` (its parallax: 1 px per
    frame, leftwards); two square holes: a 30-px one moving ``mover_px`` pixels per frame to the right (rows 10–39),
    and a 24-px one that moves with the wall (rows 60–83)."""
    depth = np.full((T, H, W), WALL, np.float32)
    for k in range(T):
        depth[k, 10:40, 5 + mover_px * k : 35 + mover_px * k] = 0.0
        depth[k, 60:84, 90 - k : 114 - k] = 0.0
    return _stepping(depth)


def _stepping(depth: np.ndarray) -> SceneGeometry:
    """The scene of ``depth`` ``[T,H,W]`` (0 = hole) seen by a camera stepping ``STEP`` sideways per frame."""
    t = len(depth)
    poses = np.tile(np.eye(4), (t, 1, 1))
    poses[:, 0, 3] = STEP * np.arange(t)
    return SceneGeometry(
        depth=depth,
        confidence=(depth > 0).astype(np.float32),
        focal=np.full(t, FOCAL),
        principal_point=np.tile([W / 2, H / 2], (t, 1)).astype(np.float64),
        cam_to_world=poses,
        valid=depth > 0,
    )


def test_silhouette_shift_finds_the_translation():
    region = np.zeros((H, W), bool)
    region[20:50, 30:60] = True
    other = np.roll(np.roll(region, 13, axis=1), -5, axis=0)
    shift, iou = silhouette_shift(region, other, 19)
    assert shift == (13, -5)
    assert iou == pytest.approx(1.0)


def _loop_shift(region: np.ndarray, other: np.ndarray, reach: int) -> tuple[tuple[int, int], float]:
    """:func:`silhouette_shift` as one IoU per shift in two Python loops (the coarse grid, then ±3 pixels): the
    reference its array form must match bit for bit."""
    h, w = region.shape
    ys, xs = np.nonzero(region)
    step = max(1, len(ys) // 4000)
    ys, xs = ys[::step], xs[::step]
    other_count = float(other.sum()) / step

    def iou(dx: int, dy: int) -> float:
        y, x = ys + dy, xs + dx
        inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
        hit = float(other[y[inside], x[inside]].sum())
        union = inside.sum() + other_count - hit
        return hit / union if union > 0 else 0.0

    best, best_iou = (0, 0), -1.0
    for dy in range(-reach, reach + 1, 4):
        for dx in range(-reach, reach + 1, 4):
            if (value := iou(dx, dy)) > best_iou:
                best, best_iou = (dx, dy), value
    cx, cy = best
    for dy in range(max(-reach, cy - 3), min(reach, cy + 3) + 1):
        for dx in range(max(-reach, cx - 3), min(reach, cx + 3) + 1):
            if (value := iou(dx, dy)) > best_iou:
                best, best_iou = (dx, dy), value
    return best, best_iou


@pytest.mark.parametrize("seed", range(6))
def test_silhouette_shift_is_the_loop_over_shifts_bit_for_bit(seed):
    """Blobs moved and cut by the image border, noise, and a one-pixel region on a stripe or a block (shifts tie):
    the same shift and the same IoU bits as the loop, ties going to the first shift in row order."""
    rng = np.random.default_rng(seed)
    region = np.zeros((H, W), bool)
    y, x = rng.integers(0, H - 20), rng.integers(0, W - 30)
    region[y : y + rng.integers(3, 40), x : x + rng.integers(3, 60)] = True
    moved = np.roll(np.roll(region, rng.integers(-25, 26), axis=1), rng.integers(-25, 26), axis=0)
    noise = rng.random((H, W)) < 0.3
    dot, stripe, block = np.zeros((H, W), bool), np.zeros((H, W), bool), np.zeros((H, W), bool)
    dot[y, x], stripe[rng.integers(0, H)] = True, True
    block[max(0, y - 10) : y + 11, max(0, x - 10) : x + 11] = True  # equal IoUs before the coarse best's shift
    pairs = (
        (region, moved | (noise & moved.any(axis=0))),
        (region, noise),
        (dot, stripe),
        (dot, block),
        (region, moved),
    )
    for a, b in pairs:
        for reach in (5, 19, 48):
            (shift, iou), (loop_shift, loop_iou) = silhouette_shift(a, b, reach), _loop_shift(a, b, reach)
            assert shift == loop_shift and np.float64(iou).tobytes() == np.float64(loop_iou).tobytes()


def test_a_fast_hole_gets_its_outline_depth_and_a_static_hole_stays():
    scene = _scene(12)
    out, given = near_hole_depth(scene, NearHolesSettings(3.0))
    mover = scene.depth <= 0
    mover[:, 60:84] = False
    # the outline moves 12 px per frame, the wall's parallax 1 px: 12 px is parallax at WALL / 12 (the lower bound),
    # the wall is the upper bound; the region takes their geometric mean
    assert given[mover].all()
    np.testing.assert_allclose(out.depth[mover], np.sqrt(WALL / 12.0 * WALL), rtol=1e-3)
    assert out.valid[mover].all() and out.movers_given[mover].all()
    assert (out.confidence[mover] == 1.0).all()  # the covered pixels' median confidence
    # the hole that moves with the wall keeps being a hole; the covered pixels keep their depth
    assert not given[:, 60:84].any() and (out.depth[:, 60:84, 90:114][scene.depth[:, 60:84, 90:114] <= 0] == 0).all()
    covered = scene.depth > 0
    np.testing.assert_array_equal(out.depth[covered], scene.depth[covered])


def test_a_slow_hole_is_left_alone_and_the_ratio_gates():
    scene = _scene(2)
    out, given = near_hole_depth(
        scene, NearHolesSettings(3.0)
    )  # 2 px per frame: under the 8-px (at 320) least parallax
    assert given is None and out is scene
    _, given = near_hole_depth(_scene(12), NearHolesSettings(20.0))  # 12 px against 1 px: under a ratio of 20
    assert given is None


def test_the_cpu_preset_s_settings():
    """The ``cpu`` preset's ``near_holes*`` fields reach :class:`NearHolesSettings` one to one; off by default."""
    assert near_holes_settings(preset_config("cpu").stage1) == NearHolesSettings(
        3.0, mover_only=1.5, local=4, along_weight=0.55, bridge=8, far_islands=2.0, islands_rim=0.7, end_carry=3
    )
    assert near_holes_settings(GeometricConfig()) == NearHolesSettings(0.0)


@pytest.mark.parametrize(
    ("option", "good", "bad"),
    [
        ("near_holes", "3", "0.5"),
        ("near_holes_mover_only", "1.5", "-1"),
        ("near_holes_local", "4", "-1"),
        ("near_holes_along_weight", "0.55", "1.5"),
        ("near_holes_mover_ring", "0.3", "1.5"),
        ("near_holes_mover_ring_ends", "6", "-1"),
        ("near_holes_bridge", "8", "-1"),
        ("near_holes_track_bound", "10", "101"),
        ("near_holes_far_islands", "2", "0.5"),
        ("near_holes_far_islands_rim", "0.7", "1.5"),
        ("near_holes_end_carry", "3", "-1"),
        ("near_holes_bound_span", "4", "-1"),
    ],
)
def test_option_validation(option: str, good: str, bad: str):
    config = preset_config("cpu")
    set_option(config, f"stage1.{option}", good)
    config.validate()
    set_option(config, f"stage1.{option}", bad)
    with pytest.raises(ValueError, match=option):
        config.validate()


def test_a_fast_hole_that_stops_is_not_one_motion_with_its_slow_frames():
    """A 30-px hole crossing at 12 px a frame in frames 0–4 that then stays where it is (frames 5–11, a lasting hole
    at 1 px a frame against the wall): linked into one track its median motion is the slow frames', and nothing was
    given (the demo's 90-frame close-object clip); split where the motion changes, the crossing gets its depth."""
    from stereodiff.stage1.near_holes import _one_motion

    frames = 12
    depth = np.full((frames, H, W), WALL, np.float32)
    for k in range(frames):
        x = 5 + 12 * min(k, 5)
        depth[k, 10:40, x : x + 30] = 0.0
    scene = _stepping(depth)
    out, given = near_hole_depth(scene, NearHolesSettings(3.0))
    assert given is not None and given[:5].any(axis=(1, 2)).all()
    np.testing.assert_allclose(out.depth[0][scene.depth[0] <= 0], np.sqrt(WALL / 12.0 * WALL), rtol=1e-3)
    assert _one_motion((12.0, 0.0), (10.0, 1.0), 8.0) and _one_motion((1.0, 0.0), (-1.5, 0.0), 8.0)
    assert not _one_motion((12.0, 0.0), (1.0, 0.0), 8.0)


def test_end_sweep_takes_the_last_frames_of_an_object_leaving_through_a_side():
    """A 30-px hole crossing at 12 px a frame reaches the image's right side in frame 8; leaving, its cut hole's left
    edge moves 2 px a frame (the hole behind the object lags; too slow for a track of its own). The track's 12-px
    shift then overshoots the last region (frame 12: a 19-px strip of which the shifted frame-11 region covers 9 px),
    which is left out; with ``end_sweep`` the area frame 11's region sweeps over from a quarter of the shift to all
    of it holds it, and it is given. A hole at the image's left side in the same frames stays a hole."""
    frames = 13
    depth = np.full((frames, H, W), WALL, np.float32)
    for k in range(frames):
        x = 5 + 12 * k if k <= 8 else 101 + 2 * (k - 8)
        depth[k, 10:40, x : min(W, x + 30)] = 0.0
        if k >= 9:
            depth[k, 60:80, :12] = 0.0  # a static hole at the other side
    scene = _stepping(depth)
    _, given = near_hole_depth(scene, NearHolesSettings(3.0))
    assert given is not None and given[:12, 10:40].any(axis=(1, 2)).all() and not given[12].any()
    out, given = near_hole_depth(scene, NearHolesSettings(3.0, end_sweep=True))
    assert given[12, 10:40].any() and not given[:, 60:80].any()
    np.testing.assert_allclose(out.depth[12][given[12]], np.sqrt(WALL / 12.0 * WALL), rtol=1e-3)


def _textured_crossing(seed: int, lefts: list[int], aheads: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A textured 30-px square (rows 10..39) crossing a textured wall, its left edge at ``lefts[k]`` in frame k (cut
    by the image's left side where negative), while the camera steps right (the wall moves 1 px a frame to the
    left): the frames ``[T,H,W,3]`` uint8, stage 1's depth ``[T,H,W]`` (the wall, 0 over the square, 10 px of wall
    behind it and ``aheads[k]`` px ahead of it) and the square's pixels ``[T,H,W]`` bool."""
    rng = np.random.default_rng(seed)
    wall = rng.integers(0, 256, (H, W + T, 3), dtype=np.uint8)
    square = rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)
    frames = np.empty((T, H, W, 3), np.uint8)
    depth = np.full((T, H, W), WALL, np.float32)
    mover = np.zeros((T, H, W), bool)
    for k, (x, ahead) in enumerate(zip(lefts, aheads, strict=True)):
        frames[k] = wall[:, k : k + W]
        frames[k, 10:40, max(0, x) : x + 30] = square[:, max(0, -x) :]
        mover[k, 10:40, max(0, x) : x + 30] = True
        depth[k, 10:40, max(0, x - 10) : x + 30 + ahead] = 0.0
    return frames, depth, mover


def test_mover_only_leaves_the_static_strips_beside_the_object():
    """A textured 30-px square crossing at 10 px a frame before a textured wall (1 px a frame of parallax); its
    stage-1 hole takes in the 10-px strips of wall it uncovers and is about to cover. With
    ``near_holes_mover_only`` the strips stay holes and the square is given; off, the whole hole is."""
    frames, depth, mover = _textured_crossing(0, [15 + 10 * k for k in range(T)], [10] * T)
    scene = _stepping(depth)
    strips = (depth <= 0) & ~mover
    _, whole = near_hole_depth(scene, NearHolesSettings(3.0))
    assert whole[mover].all() and whole[strips].all()
    _, given = near_hole_depth(scene, NearHolesSettings(3.0, mover_only=1.5), None, frames)
    assert given[mover].mean() > 0.95
    assert given[strips].mean() < 0.2  # 0.10: the patches straddling the square's edge
    _, same = near_hole_depth(scene, NearHolesSettings(3.0), None, frames)  # off: the whole hole
    np.testing.assert_array_equal(same, whole)


def test_mover_track_shift_splits_the_object_entering_through_a_side():
    """The textured square of the test above enters through the left side (frames 0 and 1 cut by it) and its
    hole in frames 0–2 takes in 25 px of wall ahead of it: that hole stays anchored at the side, its own silhouette
    shift is 0 and the colour test of ``mover_only`` cannot tell the wall ahead from the square (both matched by
    ~0 px). With ``mover_track_shift`` the track's 10-px shift splits it: the wall ahead is left a hole, the square
    is given."""
    lefts = [10 * k - 20 for k in range(T)]  # the square's left edge: cut by the image's left side in frames 0 and 1
    frames, depth, mover = _textured_crossing(1, lefts, [25 if k <= 2 else 10 for k in range(T)])
    scene = _stepping(depth)
    wall_ahead = (depth <= 0) & ~mover
    wall_ahead[2:] = False  # frames 0 and 1, the square cut by the side
    plain = NearHolesSettings(3.0, mover_only=1.5)
    _, off = near_hole_depth(scene, plain, None, frames)
    _, on = near_hole_depth(scene, dataclasses.replace(plain, mover_track_shift=True), None, frames)
    assert off is not None and on is not None
    assert off[wall_ahead].mean() > 0.6  # 0.74
    assert on[wall_ahead].mean() < 0.25  # 0.16
    assert on[:2][mover[:2]].mean() > 0.95


def test_local_follows_a_track_whose_speed_changes():
    """A 30-px hole moving 10 px a frame, then 14 (frames 3 on): one motion, one track. Off, every frame takes the
    median estimate (14 px of parallax: ``sqrt(WALL / 14 · WALL)``); with ``local=1`` the first frames take the
    10-px estimate and the last the 14-px one."""
    depth = np.full((T, H, W), WALL, np.float32)
    x = 5
    for k in range(T):
        depth[k, 10:40, x : x + 30] = 0.0
        x += 10 if k < 3 else 14
    scene = _stepping(depth)
    out, given = near_hole_depth(scene, NearHolesSettings(3.0))
    assert given is not None and given.any(axis=(1, 2)).all()
    one, slow, fast = np.sqrt(WALL / 14.0 * WALL), np.sqrt(WALL / 10.0 * WALL), np.sqrt(WALL / 14.0 * WALL)
    np.testing.assert_allclose(out.depth[given], one, rtol=1e-3)
    out, given = near_hole_depth(scene, NearHolesSettings(3.0, local=1))
    np.testing.assert_allclose(out.depth[0][given[0]], slow, rtol=1e-3)
    np.testing.assert_allclose(out.depth[T - 1][given[T - 1]], fast, rtol=1e-3)


def test_along_weight_moves_the_depth_toward_the_lower_bound_for_an_object_moving_with_the_camera():
    """``along_weight`` w: a track whose outline moves against the static scene's parallax (the camera steps right,
    the wall moves 1 px a frame left, the hole 12 px a frame right: the object moves the camera's way, faster) gets
    ``lower ** w · bound ** (1 − w)`` (the outline's static depth ``WALL / 12`` and the wall ``WALL``); a hole moving
    12 px a frame left, the static scene's way, keeps the geometric mean; 0 = off; validated to [0, 1]."""
    scene = _scene(12)
    mover = scene.depth <= 0
    mover[:, 60:84] = False
    lower = WALL / 12.0
    out, given = near_hole_depth(scene, NearHolesSettings(3.0, along_weight=0.6))
    assert given[mover].all()
    np.testing.assert_allclose(out.depth[mover], lower**0.6 * WALL**0.4, rtol=1e-3)
    off, _ = near_hole_depth(scene, NearHolesSettings(3.0))
    np.testing.assert_allclose(off.depth[mover], np.sqrt(lower * WALL), rtol=1e-3)
    depth = np.full((T, H, W), WALL, np.float32)
    for k in range(T):
        depth[k, 10:40, 95 - 12 * k : 125 - 12 * k] = 0.0
    against = _stepping(depth)
    out, given = near_hole_depth(against, NearHolesSettings(3.0, along_weight=0.6))
    left = against.depth <= 0
    assert given[left].all()
    np.testing.assert_allclose(out.depth[left], np.sqrt(WALL / 12.0 * WALL), rtol=2e-2)


def test_track_bound_bounds_every_region_by_the_nearest_surface_the_track_hides():
    """``track_bound`` q: the fast hole of ``_scene(12)`` passes a nearer covered surface (depth 6, columns 0–34)
    in its first three frames, whose rings are then bounded by it, the five later ones by the wall. Off, the track
    takes the median of its regions' geometric means (the wall's); with a low q every region is bounded by the near
    surface (the lower bound, ``WALL / 12`` under pure translation, does not depend on the bound); q = 100 is the
    farthest bound, the wall's; with ``local``, a frame far from the near surface keeps the wall's bound."""
    near_depth = 6.0
    scene = _scene(12)
    depth = np.array(scene.depth)
    depth[:, :, :35][depth[:, :, :35] > 0] = near_depth
    scene = dataclasses.replace(scene, depth=depth)
    mover = depth <= 0
    mover[:, 60:84] = False
    lower = WALL / 12.0
    off, given = near_hole_depth(scene, NearHolesSettings(3.0))
    assert given[mover].all()
    np.testing.assert_allclose(off.depth[mover], np.sqrt(lower * WALL), rtol=1e-3)
    low, _ = near_hole_depth(scene, NearHolesSettings(3.0, track_bound=5.0))
    np.testing.assert_allclose(low.depth[mover], np.sqrt(lower * near_depth), rtol=1e-3)
    far, _ = near_hole_depth(scene, NearHolesSettings(3.0, track_bound=100.0))
    np.testing.assert_allclose(far.depth[mover], np.sqrt(lower * WALL), rtol=1e-3)
    local, _ = near_hole_depth(scene, NearHolesSettings(3.0, track_bound=5.0, local=1))
    np.testing.assert_allclose(local.depth[0][mover[0]], np.sqrt(lower * near_depth), rtol=1e-3)
    np.testing.assert_allclose(local.depth[-1][mover[-1]], np.sqrt(lower * WALL), rtol=1e-3)


def _jittered(scene: SceneGeometry) -> SceneGeometry:
    """``scene`` with its camera's positions jittered by ±0.03 along x about its steps, alternately."""
    poses = np.array(scene.cam_to_world)
    poses[:, 0, 3] += 0.03 * (-1.0) ** np.arange(T)
    return dataclasses.replace(scene, cam_to_world=poses)


def _jittered_fast_hole() -> tuple[SceneGeometry, np.ndarray]:
    """The fast hole of ``_scene(12)`` under :func:`_jittered`'s camera, and ``[T,H,W]`` its pixels (the hole
    without the slow one in columns 60–83)."""
    scene = _jittered(_scene(12))
    mover = scene.depth <= 0
    mover[:, 60:84] = False
    return scene, mover


def test_bound_span_averages_the_camera_s_jitter_out_of_the_lower_bound():
    """The fast hole of ``_scene(12)`` seen by a camera whose positions jitter by ±0.03 about its steady ``STEP``
    steps (one-frame steps 0.16 / 0.04 in turn: the bound's parallax 1.6 / 0.4 px): off, the regions' lower bounds
    jitter with it and the track's median estimate misses ``sqrt(WALL / 12 · WALL)``; with ``bound_span=2`` every
    frame whose span has an even number of steps takes the steady step (6 of the 8), and the median is exact."""
    scene, mover = _jittered_fast_hole()
    steady = np.sqrt(WALL / 12.0 * WALL)
    off, given = near_hole_depth(scene, NearHolesSettings(3.0))
    assert given is not None and given[mover].all()
    assert abs(float(np.median(off.depth[mover])) / steady - 1.0) > 0.02
    spanned, given = near_hole_depth(scene, NearHolesSettings(3.0, bound_span=2))
    assert given is not None and given[mover].all()
    np.testing.assert_allclose(spanned.depth[mover], steady, rtol=1e-3)


def test_bound_span_with_along_weight_weights_the_jitter_free_lower_bound():
    """The pair ``bound_span`` + ``along_weight`` (docs/geometric.md "The near object's weight refitted on the
    span's bounds"): the hole of ``_scene(12)`` moves the camera's way, its camera jittered as in the test above; with
    ``bound_span=2`` and ``along_weight=0.575`` the track gets ``lower ** 0.575 · WALL ** 0.425`` from the steady
    lower bound ``WALL / 12``; the weight alone weights the jittered lower bounds and misses it by > 2 %."""
    scene, mover = _jittered_fast_hole()
    steady = (WALL / 12.0) ** 0.575 * WALL**0.425
    pair, given = near_hole_depth(scene, NearHolesSettings(3.0, along_weight=0.575, bound_span=2))
    assert given is not None and given[mover].all()
    np.testing.assert_allclose(pair.depth[mover], steady, rtol=1e-3)
    alone, _ = near_hole_depth(scene, NearHolesSettings(3.0, along_weight=0.575))
    assert abs(float(np.median(alone.depth[mover])) / steady - 1.0) > 0.02


def test_bound_span_along_keeps_the_one_frame_bounds_on_a_track_moving_the_static_scene_s_way():
    """``span_along``: the jittered camera of the tests above; a hole moving 12 px a frame the static scene's way
    keeps the one-frame pose's lower bounds (its depth as with ``bound_span`` 0), while without ``span_along`` it
    takes the span's (another depth); the hole of ``_scene(12)``, moving the camera's way, takes the span's either
    way."""
    depth = np.full((T, H, W), WALL, np.float32)
    for k in range(T):
        depth[k, 10:40, 95 - 12 * k : 125 - 12 * k] = 0.0
    against = _jittered(_stepping(depth))
    hole = against.depth <= 0
    one, given = near_hole_depth(against, NearHolesSettings(3.0, along_weight=0.6))
    assert given is not None and given[hole].all()
    kept, _ = near_hole_depth(against, NearHolesSettings(3.0, along_weight=0.6, bound_span=2, span_along=True))
    np.testing.assert_allclose(kept.depth[hole], one.depth[hole], rtol=1e-6)
    spanned, _ = near_hole_depth(against, NearHolesSettings(3.0, along_weight=0.6, bound_span=2))
    assert np.abs(spanned.depth[hole] / one.depth[hole] - 1.0).max() > 0.02
    scene, mover = _jittered_fast_hole()
    both = NearHolesSettings(3.0, along_weight=0.6, bound_span=2)
    span_only, _ = near_hole_depth(scene, both)
    along, _ = near_hole_depth(scene, dataclasses.replace(both, span_along=True))
    np.testing.assert_array_equal(along.depth[mover], span_only.depth[mover])


def test_bound_span_nearer_keeps_the_one_frame_bounds_where_the_span_moves_the_track_farther():
    """``span_nearer``: under :func:`_jittered`'s camera (one-frame steps 0.04 / 0.16 in turn) the one-frame
    estimates' median lies nearer than the steady ``sqrt(WALL / 12 · WALL)`` the span gives, so the track keeps the
    one-frame depth; with the camera jittered across its path instead (every one-frame step 0.117 long: the bound's
    parallax too long, the one-frame estimate farther) it takes the span's steady depth."""
    scene, mover = _jittered_fast_hole()
    nearer = NearHolesSettings(3.0, bound_span=2, span_nearer=True)
    one, _ = near_hole_depth(scene, NearHolesSettings(3.0))
    kept, given = near_hole_depth(scene, nearer)
    assert given is not None and given[mover].all()
    np.testing.assert_allclose(kept.depth[mover], one.depth[mover], rtol=1e-6)
    spanned, _ = near_hole_depth(scene, NearHolesSettings(3.0, bound_span=2))
    assert float(np.median(spanned.depth[mover])) > 1.02 * float(np.median(one.depth[mover]))
    across = _scene(12)
    poses = np.array(across.cam_to_world)
    poses[:, 1, 3] += 0.03 * (-1.0) ** np.arange(T)
    across = dataclasses.replace(across, cam_to_world=poses)
    one, _ = near_hole_depth(across, NearHolesSettings(3.0))
    taken, given = near_hole_depth(across, nearer)
    assert given is not None and given[mover].all()
    steady = np.sqrt(WALL / 12.0 * WALL)
    np.testing.assert_allclose(np.median(taken.depth[mover]), steady, rtol=1e-3)
    assert float(np.median(one.depth[mover])) > 1.02 * steady


def test_mover_ring_leaves_a_hole_bordered_by_depth_the_movers_step_gave():
    """The fast 30-px hole of ``_scene(12)`` with ``movers_given`` on a 4-px band all around it (the given rest of a
    mover whose unflagged part is the hole): with ``mover_ring=0.5`` it is not taken; given on the left side only
    (under a third of its ring) it is taken as without the option, and the option off takes it either way."""
    scene = _scene(12)
    band = np.zeros((T, H, W), bool)
    left = np.zeros((T, H, W), bool)
    for k in range(T):
        x = 5 + 12 * k
        band[k, 6:44, max(0, x - 4) : x + 34] = True
        left[k, 6:44, max(0, x - 4) : x] = True
    hole = scene.depth <= 0
    ringed = dataclasses.replace(scene, movers_given=band & ~hole)
    _, given = near_hole_depth(ringed, NearHolesSettings(3.0, mover_ring=0.5))
    assert given is None
    _, off = near_hole_depth(ringed, NearHolesSettings(3.0))
    _, plain = near_hole_depth(scene, NearHolesSettings(3.0))
    assert off is not None and off.any(axis=(1, 2)).all()
    np.testing.assert_array_equal(off, plain)
    _, side = near_hole_depth(
        dataclasses.replace(scene, movers_given=left & ~hole), NearHolesSettings(3.0, mover_ring=0.5)
    )
    np.testing.assert_array_equal(side, plain)


def test_before_reach_lets_near_holes_take_the_pixels_hole_reach_gave():
    """``near_holes_before_reach``: the fast hole's lower half was given a depth by the movers step through
    ``hole_reach`` (3.0, the floor's last-row bound), so ``near_holes`` alone takes only its upper half; with
    :func:`before_reach` those pixels count as holes, the whole hole takes the outline's depth, and the pixels it
    does not take (a reach region on the slow hole) keep the movers step's depth as given pixels."""
    from stereodiff.stage1.geometric import mover_settings
    from stereodiff.stage1.near_holes import before_reach

    scene = _scene(12)
    hole = scene.depth <= 0
    reach = np.zeros((T, H, W), bool)
    reach[:, 25:40] = hole[:, 25:40]  # the fast hole's lower half
    reach[:, 60:84] = hole[:, 60:84]  # the slow hole, all of it
    depth = np.where(reach, 3.0, scene.depth).astype(np.float32)
    reached = dataclasses.replace(
        scene, depth=depth, valid=depth > 0, confidence=(depth > 0).astype(np.float32), movers_given=reach
    )
    value = np.sqrt(WALL / 12.0 * WALL)
    old, old_given = near_hole_depth(reached, NearHolesSettings(3.0))
    assert old_given[:, 10:25].any() and not old_given[reach].any()
    np.testing.assert_array_equal(old.depth[reach], 3.0)
    out, given = before_reach(dataclasses.replace(reached, movers_reach=reach), NearHolesSettings(3.0))
    fast = hole.copy()
    fast[:, 60:] = False
    assert given[fast].all() and not given[:, 60:].any()
    np.testing.assert_allclose(out.depth[fast], value, rtol=1e-3)
    slow = reach & ~fast
    np.testing.assert_array_equal(out.depth[slow], 3.0)
    assert out.valid[slow].all() and out.movers_given[slow].all() and (out.confidence[slow] == 1.0).all()
    covered = scene.depth > 0
    np.testing.assert_array_equal(out.depth[covered], scene.depth[covered])
    untaken = dataclasses.replace(reached, movers_reach=reach)
    same, none = before_reach(untaken, NearHolesSettings(20.0))  # nothing taken: the scene as it was
    assert none is None and same is untaken
    assert not mover_settings(GeometricConfig(near_holes_before_reach=True)).reach_mask  # needs near_holes
    assert mover_settings(GeometricConfig(near_holes=3.0, near_holes_before_reach=True)).reach_mask
    assert preset_config("cpu").stage1.near_holes_before_reach
    with pytest.raises(ValueError, match="near_holes_before_reach"):
        GeometricConfig(near_holes_before_reach=1).validate()


def test_mover_ring_ends_judges_only_the_tracks_at_the_clip_ends():
    """The fast 30-px hole of ``_scene(12)`` only in frames 2–5 (covered before and after), ringed all around by
    ``movers_given``: the gate (``mover_ring=0.5``) refuses it; with ``ring_ends=2`` (frames 0–1 and 6–7 judged) it
    is taken exactly as without the gate, with ``ring_ends=3`` (frame 2 judged) refused again."""
    scene = _scene(12)
    depth = np.array(scene.depth)
    band = np.zeros((T, H, W), bool)
    for k in range(T):
        x = 5 + 12 * k
        if k < 2 or k > 5:
            depth[k, 10:40, x : x + 30] = WALL  # the near object only crosses in frames 2–5
        band[k, 6:44, max(0, x - 4) : x + 34] = True
    middle = _stepping(depth)
    ringed = dataclasses.replace(middle, movers_given=band & (depth > 0))
    _, plain = near_hole_depth(ringed, NearHolesSettings(3.0))
    assert plain is not None and plain[2:5].any(axis=(1, 2)).all()
    _, gated = near_hole_depth(ringed, NearHolesSettings(3.0, mover_ring=0.5))
    assert gated is None
    _, inner = near_hole_depth(ringed, NearHolesSettings(3.0, mover_ring=0.5, ring_ends=2))
    np.testing.assert_array_equal(inner, plain)
    _, wide = near_hole_depth(ringed, NearHolesSettings(3.0, mover_ring=0.5, ring_ends=3))
    assert wide is None


def test_bridge_joins_two_short_parts_of_one_crossing():
    """A 30-px hole moving 10 px a frame, covered (no hole) in frames 3–5: two parts of two regions each (frames 0–1
    and 6–7; frame 2 has no next region to shift onto), each too short to be taken (3 needed). Off, nothing is
    given; with ``bridge=8`` the parts are one track, frames 0–2 and 6–7 take the depth; a gap longer than
    ``bridge`` (3) is not bridged."""
    depth = np.full((T, H, W), WALL, np.float32)
    for k in (0, 1, 2, 6, 7):
        depth[k, 10:40, 5 + 10 * k : 35 + 10 * k] = 0.0
    scene = _stepping(depth)
    _, given = near_hole_depth(scene, NearHolesSettings(3.0))
    assert given is None
    _, given = near_hole_depth(scene, NearHolesSettings(3.0, bridge=3))
    assert given is None
    out, given = near_hole_depth(scene, NearHolesSettings(3.0, bridge=8))
    assert given is not None
    assert given.any(axis=(1, 2)).tolist() == [True, True, True, False, False, False, True, True]
    np.testing.assert_allclose(out.depth[given], np.sqrt(WALL / 10.0 * WALL), rtol=1e-3)


@pytest.mark.parametrize("mover_px", [2, 12])
def test_the_memory_mapped_scene_stays_on_disk(tmp_path, mover_px):
    """Memory flat in the video length: the pass over every frame for candidate regions (slow holes: nothing is
    taken) and the copy into the new arrays (a fast hole is taken) read the memory-mapped scene's depth and
    ``movers_given`` frame by frame and leave none of their pages resident (they kept them all: ~0.4 MB a frame at
    320×240)."""
    import sys

    from conftest import resident_kib
    from stereodiff.pipeline import load_scene, save_scene

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/smaps")
    scene = _scene(mover_px)
    save_scene(tmp_path / "scene", dataclasses.replace(scene, movers_given=np.zeros(scene.depth.shape, bool)))
    mapped = load_scene(tmp_path / "scene")
    assert isinstance(mapped.depth, np.memmap) and isinstance(mapped.movers_given, np.memmap)
    _, given = near_hole_depth(mapped, NearHolesSettings(3.0, mover_ring=0.5), tmp_path / "out")
    assert (given is None) == (mover_px == 2)
    for name in ("depth", "movers_given"):
        assert resident_kib(tmp_path / "scene" / f"{name}.npy") == 0, name


def test_far_islands_gives_the_region_s_depth_to_background_islands_inside_it_only():
    """``far_islands`` r: the fast hole of ``_scene(12)`` holds an 8×8 patch that stage 1 matched with the wall
    behind it (close-object's near object), and an 8×8 patch at a depth near the given one. Off, the wall patch keeps
    the wall's depth (but for the corners the regions' closing takes); with r = 2 it takes the region's depth (the
    wall is ~3.5× that), the near patch keeps its own, and the wall around the hole (also between the hole and the
    image's side) and the static hole stay as they were."""
    scene = _scene(12)
    depth = np.array(scene.depth)
    wall_patch = np.zeros(depth.shape, bool)
    near_patch = np.zeros(depth.shape, bool)
    for k in range(T):
        wall_patch[k, 16:24, 12 + 12 * k : 20 + 12 * k] = True
        near_patch[k, 26:34, 23 + 12 * k : 31 + 12 * k] = True
    given_depth = np.sqrt(WALL / 12.0 * WALL)
    depth[wall_patch] = WALL
    depth[near_patch] = 1.2 * given_depth
    scene = dataclasses.replace(scene, depth=depth, valid=depth > 0)
    off, _ = near_hole_depth(scene, NearHolesSettings(3.0))
    on, given = near_hole_depth(scene, NearHolesSettings(3.0, far_islands=2.0))
    assert np.mean(off.depth[wall_patch] == WALL) > 0.5  # the regions' 5×5 closing takes only its corners
    np.testing.assert_allclose(on.depth[wall_patch], given_depth, rtol=1e-3)  # the region's depth
    assert given[wall_patch].all()
    np.testing.assert_array_equal(on.depth[near_patch], off.depth[near_patch])  # but for its corners, its own
    assert np.mean(on.depth[near_patch] == depth[near_patch]) > 0.5
    outside = ~wall_patch & (depth > 0)
    np.testing.assert_array_equal(on.depth[outside], off.depth[outside])


def test_far_islands_enclosed_takes_the_region_s_holes_not_its_bays():
    """A 60×100 region with a 10×10 hole and a 6-px-wide bay cut from its right side, both covered at 10× the given
    depth: ``far_islands`` takes both (its 16-px closing bridges the bay's mouth); with ``enclosed`` only the hole (the
    bay reaches the image's border around the region: close-object s0's background in its near object's concave
    parts). Neither is taken where it is not far enough."""
    from stereodiff.stage1.near_holes import far_islands

    depth = np.full((100, 320), 10.0, np.float32)
    mask = np.zeros(depth.shape, bool)
    mask[20:80, 20:120] = True
    hole, bay = np.zeros_like(mask), np.zeros_like(mask)
    hole[45:55, 60:70] = True
    bay[65:71, 80:120] = True
    mask &= ~hole & ~bay
    depth[mask] = 0.0  # the region is a stage-1 hole
    both = far_islands(depth, mask, 1.0, 2.0)
    assert both[hole].all() and both[bay].mean() > 0.9
    only = far_islands(depth, mask, 1.0, 2.0, enclosed=True)
    np.testing.assert_array_equal(only, both & hole)
    assert not far_islands(depth, mask, 4.0, 3.0, enclosed=True).any()  # 10 < 3 × 4: not far


def test_far_islands_enclosed_validation():
    config = preset_config("cpu")
    set_option(config, "stage1.near_holes_far_islands_enclosed", "true")
    config.validate()
    config.stage1.near_holes_far_islands_enclosed = 2  # not a bool (the command line refuses it before)
    with pytest.raises(ValueError, match="near_holes_far_islands_enclosed"):
        config.validate()


def test_far_islands_rim_keeps_small_islands_mostly_bordered_by_the_region():
    """A 60×100 region with a 10×10 hole (bordered by it all round), a 10×10 notch in its top edge (bordered by it on
    three sides: ~0.7 of its border) and a 12-px-wide bay in its right side (480 px: over 5 % of the region), all
    covered at 10× the given depth. Without a rim all three are taken (but the notch's top row and the bay's mouth,
    which the closing leaves); rim 0.8 takes only the hole, rim 0.6 the hole and the notch: the bay is too large
    against the region either way."""
    from stereodiff.stage1.near_holes import far_islands

    depth = np.full((100, 320), 10.0, np.float32)
    mask = np.zeros(depth.shape, bool)
    mask[20:80, 20:120] = True
    hole, notch, bay = np.zeros_like(mask), np.zeros_like(mask), np.zeros_like(mask)
    hole[40:50, 40:50] = True
    notch[20:30, 60:70] = True
    bay[55:67, 80:120] = True
    mask &= ~hole & ~notch & ~bay
    depth[mask] = 0.0
    every = far_islands(depth, mask, 1.0, 2.0)
    assert every[hole].all() and every[notch].mean() == 0.9 and every[bay].mean() > 0.9
    np.testing.assert_array_equal(far_islands(depth, mask, 1.0, 2.0, rim=0.8), hole)
    np.testing.assert_array_equal(far_islands(depth, mask, 1.0, 2.0, rim=0.6), every & (hole | notch))


def test_end_carry_gives_the_piece_of_an_object_too_small_to_be_a_region():
    """A 22-px disc crossing at 12 px a frame enters through the image's left side: its 81-px piece in frame 0 is
    under :data:`MIN_AREA` (a hole, no region) and stays a hole; with ``end_carry`` the first taken frame's regions
    moved back by the track's shift cover it and it is given that frame's depth. A static hole at the left side,
    below the disc's path, is never given."""
    frames = 12
    ys, xs = np.mgrid[0:H, 0:W]
    depth = np.full((frames, H, W), WALL, np.float32)
    for k in range(frames):
        depth[k][(ys - 40) ** 2 + (xs + 18 - 12 * k) ** 2 <= 22**2] = 0.0
    depth[:, 70:90, :10] = 0.0
    scene = _stepping(depth)
    piece = scene.depth[0] <= 0
    piece[64:] = False
    settings = NearHolesSettings(3.0)
    _, given = near_hole_depth(scene, settings)
    assert given is not None and not given[0].any() and given[1:].any(axis=(1, 2)).all()
    out, given = near_hole_depth(scene, dataclasses.replace(settings, end_carry=3))
    assert given[0][piece].all() and not given[:, 70:90].any()
    np.testing.assert_allclose(out.depth[0][piece], out.depth[1][given[1]].mean(), rtol=1e-6)


def test_whole_pixel_shifts_are_the_linear_remap_at_whole_pixels_bit_for_bit():
    """``mover_part``'s region shifts: the edge-padded slice gives ``cv2.remap``'s values (weights 1, 0, 0, 0),
    inside the image and beyond its sides (the replicated edge), for shifts up to past the image's size, with a pad
    just as wide as the shift and with one pad for every shift."""
    import cv2

    from stereodiff.stage1.near_holes import whole_pixel_shifts

    rng = np.random.default_rng(3)
    image = rng.random((23, 31, 3), dtype=np.float32)
    ys, xs = np.mgrid[0:23, 0:31].astype(np.float32)
    shifts = [(0, 0), (1, 0), (0, -1), (-3, 2), (7, -5), (30, 0), (-40, 25), (2, 60)]
    shared = whole_pixel_shifts(image, 60)
    for dx, dy in shifts:
        expected = cv2.remap(image, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        for warped in (whole_pixel_shifts(image, max(abs(dx), abs(dy)))(dx, dy), shared(dx, dy)):
            assert warped.shape == image.shape
            assert np.ascontiguousarray(warped).tobytes() == expected.tobytes()
    with pytest.raises(ValueError, match="reach"):
        whole_pixel_shifts(image, 3)(4, 0)
