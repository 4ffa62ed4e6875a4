"""Synthetic scenes: the ground truth is exact (reprojection, analytic planes, masks), deterministic, and the
``stereodiff synth`` dataset round-trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.synth import (
    PRESETS,
    RenderSettings,
    load_synthetic_dataset,
    make_scene,
    render_video,
    triangulation_angles_deg,
    write_synthetic_dataset,
)
from stereodiff.synth.raycast import Primitive
from stereodiff.synth.scene import CameraPath, RigidMotion, Scene, SceneObject, intrinsics_for, rotation_about
from stereodiff.synth.texture import Material, make_lattice

H, W = 48, 64


@pytest.fixture(scope="module")
def videos() -> dict:
    """Every preset rendered once at a small size (frames 0..8 at 30 fps)."""
    return {name: make_scene(name, seed=3, num_frames=9, height=H, width=W) for name in PRESETS}


def _backproject(depth: np.ndarray, K: np.ndarray, cam_to_world: np.ndarray) -> np.ndarray:
    """World points ``[H*W,3]`` of every pixel of a depth map (pixel centres at integers)."""
    v, u = np.mgrid[0 : depth.shape[0], 0 : depth.shape[1]]
    rays = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1) @ np.linalg.inv(K).T
    points_cam = rays * depth.reshape(-1, 1).astype(np.float64)
    return points_cam @ cam_to_world[:3, :3].T + cam_to_world[:3, 3]


def _project(points_world: np.ndarray, K: np.ndarray, cam_to_world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel positions ``[N,2]`` and camera z ``[N]`` of world points in a camera."""
    world_to_cam = np.linalg.inv(cam_to_world)
    points_cam = points_world @ world_to_cam[:3, :3].T + world_to_cam[:3, 3]
    proj = points_cam @ K.T
    return proj[:, :2] / proj[:, 2:3], points_cam[:, 2]


def _check_reprojection(video, source: int, target: int, points_world: np.ndarray, sel: np.ndarray) -> int:
    """Project ``points_world[sel]`` into frame ``target``; where all four neighbouring pixels there show the same
    object as in frame ``source`` at a similar depth (no occlusion boundary), the exact depth queried at the
    sub-pixel position must equal the point's z, unless a nearer sub-pixel occluder hides it (rare). Returns how
    many points were checked."""
    K, poses, scene = video.K, video.cam_to_world, video.scene
    uv, z = _project(points_world[sel], K, poses[target])
    u0, v0 = np.floor(uv[:, 0]).astype(int), np.floor(uv[:, 1]).astype(int)
    inside = (z > 0) & (u0 >= 0) & (v0 >= 0) & (u0 < W - 1) & (v0 < H - 1)
    sel, uv, z, u0, v0 = sel[inside], uv[inside], z[inside], u0[inside], v0[inside]
    src_ids = video.object_ids[source].ravel()[sel]
    ok = np.ones(len(sel), dtype=bool)
    for du in (0, 1):
        for dv in (0, 1):
            ok &= video.object_ids[target][v0 + dv, u0 + du] == src_ids
            ok &= np.abs(video.depth[target][v0 + dv, u0 + du] - z) < 0.1 * z
    depth_exact, ids = scene.cast(target / video.fps, poses[target], K, uv[ok])
    # an occluder thinner than a pixel (a distant pole) can hide a point between pixel centres: it is nearer
    hidden = depth_exact < z[ok] * (1 - 1e-5)
    assert hidden.mean() < 0.01
    np.testing.assert_array_equal(ids[~hidden], src_ids[ok][~hidden])
    np.testing.assert_allclose(depth_exact[~hidden], z[ok][~hidden], rtol=2e-6, atol=0)
    return int((~hidden).sum())


@pytest.mark.parametrize("preset", list(PRESETS))
def test_static_pixels_reproject_exactly(videos, preset):
    video = videos[preset]
    for source, target in ((0, 1), (2, 8)):
        depth = video.depth[source]
        points = _backproject(depth, video.K, video.cam_to_world[source])
        static = np.flatnonzero((depth > 0).ravel() & ~video.dynamic_mask[source].ravel())
        checked = _check_reprojection(video, source, target, points, static)
        assert checked > 0.3 * static.size  # the check covers much of the image, not a few lucky pixels


def test_moving_pixels_follow_their_object_rigidly(videos):
    video = videos["indoor-dynamic"]
    scene = video.scene
    source, target = 1, 5
    points = _backproject(video.depth[source], video.K, video.cam_to_world[source])
    ids = video.object_ids[source].ravel()
    moved = points.copy()
    total = 0
    for obj in scene.objects:
        if obj.object_id not in scene.moving_ids:
            continue
        sel = np.flatnonzero(ids == obj.object_id)
        total += sel.size
        # world -> object at the source time -> world at the target time
        pose_s = obj.motion.world_from_object(source / video.fps)
        pose_t = obj.motion.world_from_object(target / video.fps)
        step = pose_t @ np.linalg.inv(pose_s)
        moved[sel] = points[sel] @ step[:3, :3].T + step[:3, 3]
    assert total > 0
    checked = _check_reprojection(video, source, target, moved, np.flatnonzero(video.dynamic_mask[source].ravel()))
    assert checked > 0.3 * total


def _plane_scene(normal: np.ndarray, offset: float, camera: CameraPath) -> Scene:
    """One unbounded plane {X : normal . X = offset} and nothing else (misses are sky)."""
    z_axis = normal / np.linalg.norm(normal)
    x_axis = np.cross(z_axis, [0.3, 0.5, 0.7])
    x_axis /= np.linalg.norm(x_axis)
    R = np.stack([x_axis, np.cross(z_axis, x_axis), z_axis], axis=1)
    plane = Primitive("plane", (np.inf, np.inf, 0.0), np.eye(4), Material((0.2, 0.3, 0.4), (0.8, 0.7, 0.6)))
    motion = RigidMotion(tuple(z_axis * offset), base_rotation=R)
    rng = np.random.default_rng(0)
    return Scene(
        "plane", 0, (SceneObject(1, "plane", (plane,), motion),), camera, 70.0, z_axis, make_lattice(rng), True
    )


def test_plane_depth_matches_the_analytic_formula():
    normal = np.array([0.2, -1.0, 0.1])
    normal /= np.linalg.norm(normal)
    offset = 0.5  # the plane n . X = 0.5
    camera = CameraPath(eye=(0.3, -1.6, -2.0), forward=(0.1, 0.35, 1.0), shake_amplitude=(0.1, 0.05, 0.2))
    scene = _plane_scene(normal, offset, camera)
    video = render_video(scene, RenderSettings(3, H, W, noise_std=0.0))
    for i in range(3):
        pose = video.cam_to_world[i]
        v, u = np.mgrid[0:H, 0:W]
        rays = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1) @ np.linalg.inv(video.K).T @ pose[:3, :3].T
        t = (offset - normal @ pose[:3, 3]) / (rays @ normal)  # ray parameter = camera z, since ray z_cam = 1
        expected = np.where(t > 0, t, 0.0).reshape(H, W)
        assert (expected > 0).any() and (expected == 0).any()  # the horizon is in view
        np.testing.assert_allclose(video.depth[i], expected.astype(np.float32), rtol=1e-6)
        np.testing.assert_array_equal(video.object_ids[i], (expected > 0).astype(np.int32))


def test_primitive_depths_match_closed_forms():
    """Primitives on the optical axis (pixel (W/2, H/2)): the depth of the nearest point is known in closed form."""
    lattice = make_lattice(np.random.default_rng(1))
    mat = Material((0.5, 0.2, 0.2), (0.9, 0.8, 0.1))
    camera = CameraPath(eye=(0.0, 0.0, 0.0))
    K = intrinsics_for(60.0, 40, 40)
    axis_pixel = np.array([[20.0, 20.0]])
    turn = rotation_about((0, 1, 0), np.pi / 4)
    cases = [
        (Primitive("sphere", (0.5, 0.0, 0.0), np.eye(4), mat), RigidMotion((0.0, 0.0, 3.0)), 2.5),
        (Primitive("box", (0.4, 0.3, 0.2), np.eye(4), mat), RigidMotion((0.0, 0.0, 4.0)), 3.8),
        # a cube turned 45 degrees about y shows its vertical edge, 0.3 * sqrt(2) in front of its centre
        (
            Primitive("box", (0.3, 0.3, 0.3), np.eye(4), mat),
            RigidMotion((0, 0, 4.0), base_rotation=turn),
            4 - 0.3 * 2**0.5,
        ),
        # a cylinder (axis y) seen from the side, and one lying along z seen end-on (its cap)
        (Primitive("cylinder", (0.25, 1.0, 0.0), np.eye(4), mat), RigidMotion((0.0, 0.0, 2.0)), 1.75),
        (
            Primitive("cylinder", (0.25, 1.0, 0.0), np.eye(4), mat),
            RigidMotion((0, 0, 5.0), axis=(1, 0, 0), angle=np.pi / 2),
            4.0,
        ),
        # the inside of a room: the far wall
        (Primitive("room", (3.0, 2.0, 6.0), np.eye(4), mat), RigidMotion((0.0, 0.0, 1.0)), 7.0),
    ]
    for prim, motion, expected in cases:
        objects = (SceneObject(1, "o", (prim,), motion),)
        scene = Scene("t", 0, objects, camera, 60.0, np.array([0, -1.0, 0]), lattice)
        depth, ids = scene.cast(0.0, camera.cam_to_world(0.0), K, axis_pixel)
        assert ids[0] == 1, prim.kind
        np.testing.assert_allclose(depth[0], expected, rtol=1e-12, err_msg=prim.kind)


@pytest.mark.parametrize("preset", ["indoor-dynamic", "driving", "close-object"])
def test_dynamic_mask_is_exactly_the_moving_objects(videos, preset):
    video = videos[preset]
    scene = video.scene
    static = render_video(scene.without_moving_objects(), RenderSettings(9, H, W))
    changed = (static.depth != video.depth) | (static.object_ids != video.object_ids)
    np.testing.assert_array_equal(video.dynamic_mask, changed)
    assert video.dynamic_mask.any() and not video.dynamic_mask.all()
    assert set(np.unique(video.object_ids[video.dynamic_mask])) <= set(scene.moving_ids)
    assert not static.dynamic_mask.any()


def test_static_orbit_has_no_moving_objects(videos):
    assert not videos["static-orbit"].dynamic_mask.any()
    assert videos["static-orbit"].scene.moving_ids == ()


def test_same_seed_same_output_and_seed_changes_it():
    a = make_scene("indoor-dynamic", seed=5, num_frames=3, height=24, width=32)
    b = make_scene("indoor-dynamic", seed=5, num_frames=3, height=24, width=32)
    c = make_scene("indoor-dynamic", seed=6, num_frames=3, height=24, width=32)
    for name in ("frames", "depth", "cam_to_world", "dynamic_mask", "object_ids", "K"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert not np.array_equal(a.frames, c.frames) and not np.array_equal(a.depth, c.depth)
    one_thread = render_video(a.scene, RenderSettings(3, 24, 32), workers=1)
    np.testing.assert_array_equal(one_thread.frames, a.frames)


def test_same_scene_at_any_size_and_length():
    small = make_scene("close-object", seed=2, num_frames=3, height=24, width=32, noise_std=0.0)
    large = make_scene("close-object", seed=2, num_frames=5, height=48, width=64, noise_std=0.0)
    # pixel (u, v) of the small image and (2u, 2v) of the large one share a ray (K scales about (W/2, H/2))
    np.testing.assert_allclose(large.depth[:3, ::2, ::2], small.depth, rtol=1e-6)
    np.testing.assert_array_equal(large.cam_to_world[:3], small.cam_to_world)


def test_depth_ranges_and_parallax_per_preset(videos):
    """The documented depth ranges, and real parallax: over 8 frames the median triangulation angle is >= ~1 deg."""
    ranges = {
        "static-orbit": (1.0, 12.0),
        "indoor-dynamic": (0.8, 8.0),
        "driving": (2.0, 65.5),
        "close-object": (0.3, 8.0),
    }
    for name, video in videos.items():
        valid = video.depth[video.depth > 0]
        lo, hi = ranges[name]
        assert lo <= valid.min() and valid.max() <= hi, (name, valid.min(), valid.max())
        angle = np.median(triangulation_angles_deg(video, 0, 8))
        assert 0.8 < angle < 10.0, (name, angle)
    assert (videos["driving"].depth == 0).any()  # the sky is marked invalid


def test_close_object_comes_close():
    video = make_scene("close-object", seed=0, num_frames=4, height=24, width=32, fps=30 / 12)  # t = 0, 0.4 ... 1.2 s
    nearest = [video.depth[i][video.depth[i] > 0].min() for i in range(4)]
    assert min(nearest) < 1.0 < max(nearest)


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError, match="unknown synthetic preset"):
        make_scene("nope", seed=0, num_frames=2, height=16, width=16)
    with pytest.raises(InputError, match="num_frames"):
        make_scene("driving", seed=0, num_frames=0, height=16, width=16)
    with pytest.raises(InputError, match="width"):
        make_scene("driving", seed=0, num_frames=1, height=16, width=4)


def test_cli_writes_and_reloads_a_dataset(cli, tmp_path):
    out = tmp_path / "scene"
    status, _, err = cli(
        "synth", "--preset", "indoor-dynamic", "--frames", "3", "--size", "40x30", "--seed", "4", "--out", out
    )
    assert status == 0, err
    meta = json.loads((out / "meta.json").read_text())
    assert (meta["preset"], meta["num_frames"], meta["height"], meta["width"], meta["depth_unit"]) == (
        "indoor-dynamic",
        3,
        30,
        40,
        "m",
    )
    assert sorted(p.name for p in (out / "rgb").iterdir()) == ["000000.png", "000001.png", "000002.png"]
    assert [p.name for p in tmp_path.iterdir()] == ["scene"]  # no temporary folder left behind

    loaded = load_synthetic_dataset(out)
    expected = make_scene("indoor-dynamic", seed=4, num_frames=3, height=30, width=40)
    np.testing.assert_array_equal(loaded.frames, expected.frames)
    np.testing.assert_array_equal(loaded.depth, expected.depth)
    np.testing.assert_array_equal(loaded.dynamic_mask, expected.dynamic_mask)
    np.testing.assert_array_equal(loaded.object_ids, expected.object_ids)
    np.testing.assert_allclose(loaded.K, expected.K, rtol=1e-15)
    np.testing.assert_allclose(loaded.cam_to_world, expected.cam_to_world, atol=1e-12)
    import cv2

    png = cv2.imread(str(out / "depth" / "000001.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint16
    np.testing.assert_array_equal(png, np.rint(expected.depth[1] * 1000).astype(np.uint16))
    rows = np.loadtxt(out / "poses.txt", comments="#")  # plain TUM lines, "#" comments
    assert rows.shape == (3, 8) and rows[:, 0] == pytest.approx([0.0, 1 / 30, 2 / 30])
    assert np.loadtxt(out / "intrinsics.txt", comments="#").shape == (3, 3)
    # the CLI streams frames to disk; writing the in-memory video gives the same files
    memory = write_synthetic_dataset(expected, tmp_path / "memory")
    for name in ("rgb/000002.png", "depth/000002.png", "masks/000002.png", "poses.txt", "intrinsics.txt", "meta.json"):
        assert (memory / name).read_bytes() == (out / name).read_bytes(), name

    # a non-empty --out is refused unless --overwrite
    status, _, err = cli("synth", "--preset", "driving", "--frames", "1", "--size", "16x16", "--out", out)
    assert status == 2 and "not empty" in err and err.count("\n") == 1
    status, _, err = cli(
        "synth", "--preset", "driving", "--frames", "1", "--size", "16x16", "--out", out, "--overwrite"
    )
    assert status == 0, err
    assert load_synthetic_dataset(out).preset == "driving"


def test_cli_rolling_shutter_and_tremor_equal_the_library(cli, tmp_path):
    """``--rolling-shutter`` and ``--tremor`` write what ``make_scene(rolling_shutter=, tremor_deg=)`` renders."""
    out = tmp_path / "rolled"
    args = ("--preset", "static-orbit", "--frames", "2", "--size", "32x24", "--seed", "2")
    status, _, err = cli("synth", *args, "--rolling-shutter", "0.6", "--tremor", "0.5", "--out", out)
    assert status == 0, err
    loaded = load_synthetic_dataset(out)
    expected = make_scene(
        "static-orbit", seed=2, num_frames=2, height=24, width=32, rolling_shutter=0.6, tremor_deg=0.5
    )
    np.testing.assert_array_equal(loaded.frames, expected.frames)
    np.testing.assert_array_equal(loaded.depth, expected.depth)
    assert loaded.info["rolling_shutter"] == 0.6
    plain = make_scene("static-orbit", seed=2, num_frames=2, height=24, width=32, rolling_shutter=0.6)
    assert not np.array_equal(plain.cam_to_world, expected.cam_to_world)  # the tremor turns the camera


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--preset", "moon"], "unknown synthetic preset"),
        (["--preset", "driving", "--size", "320by240"], "--size"),
        (["--preset", "driving", "--size", "4x4"], "at least 8x8"),
        (["--preset", "driving", "--frames", "0"], "num_frames"),
    ],
)
def test_cli_bad_arguments_exit_2(cli, tmp_path, args, message):
    status, _, err = cli("synth", *args, "--out", tmp_path / "x")
    assert status == 2 and message in err
    assert not (tmp_path / "x").exists()


def test_loader_names_a_missing_folder(tmp_path):
    with pytest.raises(InputError, match=r"meta\.json not found"):
        load_synthetic_dataset(tmp_path)


def test_cli_preset_list_matches_the_library():
    from stereodiff.cli.synth import PRESET_NAMES

    assert tuple(PRESETS) == PRESET_NAMES


def _pole_scene(step_m: float, fps: float) -> Scene:
    """A vertical pole 2 m ahead of a camera moving sideways by ``step_m`` per frame (frames 0 and 1 on either side
    of the pole), a wall 6 m ahead."""
    mat = Material((0.5, 0.2, 0.2), (0.9, 0.8, 0.1))
    pole = SceneObject(1, "pole", (Primitive("box", (0.1, 5.0, 0.01), np.eye(4), mat),), RigidMotion((0.0, 0.0, 2.0)))
    wall = SceneObject(2, "wall", (Primitive("plane", (np.inf, np.inf, 0.0), np.eye(4), mat),), RigidMotion((0, 0, 6)))
    camera = CameraPath(eye=(-step_m / 2, 0.0, 0.0), velocity=(step_m * fps, 0.0, 0.0))
    return Scene("pole", 0, (pole, wall), camera, 60.0, np.array([0, -1.0, 0]), make_lattice(np.random.default_rng(0)))


def test_rolling_shutter_leans_a_vertical_edge_and_keeps_each_rows_depth():
    """Row r is seen at (i + readout · r / H) / fps: under sideways camera motion a vertical pole leans (lower rows
    later, the camera further right, the pole further left) by readout · (its motion per frame) over the frame;
    a global shutter (and readout 0) keeps it vertical, bit for bit the same as before the option existed."""
    height, width, fps = 60, 80, 30.0
    K = intrinsics_for(60.0, height, width)
    per_frame = 20.0  # px of pole motion per frame interval (leftwards)
    scene = _pole_scene(per_frame * 2.0 / K[0, 0], fps)

    def left_edge(ids: np.ndarray) -> np.ndarray:
        return np.array([np.flatnonzero(row == 1)[0] for row in ids], dtype=float)  # [H] first pole column

    for readout in (0.0, 0.5, 0.9):
        video = render_video(scene, RenderSettings(2, height, width, noise_std=0.0, rolling_shutter=readout))
        edge = left_edge(video.object_ids[1])
        lean = edge[-1] - edge[0]
        expected = -readout * per_frame * (height - 4) / height  # band centres: rows 1.5 and H - 2.5
        assert abs(lean - expected) <= 1.0, (readout, lean, expected)
        assert abs(edge[0] - left_edge(video.object_ids[0])[0] + per_frame) <= 1.0  # the first row at t = i / fps
        np.testing.assert_array_equal(video.cam_to_world[1], scene.camera.cam_to_world(1 / fps))
        assert ("rolling_shutter" in video.info) == (readout > 0)
    # readout 0 is the global render, bit for bit; one row per band: each row's depth is what its own camera sees
    global_video = render_video(scene, RenderSettings(2, height, width))
    default = render_video(scene, RenderSettings(2, height, width, rolling_shutter=0.0))
    for name in ("frames", "depth", "object_ids", "cam_to_world"):
        np.testing.assert_array_equal(getattr(default, name), getattr(global_video, name), err_msg=name)
    _, depth, ids = scene.render_rolling(1 / fps, 1 / fps, 0.9, K, height, width, band_rows=1)
    for row in (0, 17, height - 1):
        row_time = (1 + 0.9 * row / height) / fps
        uv = np.stack([np.arange(width, dtype=float), np.full(width, float(row))], axis=1)
        expected_depth, expected_ids = scene.cast(row_time, scene.camera.cam_to_world(row_time), K, uv)
        np.testing.assert_allclose(depth[row], expected_depth, rtol=1e-12)
        np.testing.assert_array_equal(ids[row], expected_ids)


def test_rolling_shutter_render_of_a_preset_differs_only_by_it():
    """A preset at readout 0 equals the default render; at 0.6 the frames and depth change, the poses do not."""
    base = make_scene("static-orbit", seed=1, num_frames=2, height=24, width=32)
    zero = make_scene("static-orbit", seed=1, num_frames=2, height=24, width=32, rolling_shutter=0.0)
    rolled = make_scene("static-orbit", seed=1, num_frames=2, height=24, width=32, rolling_shutter=0.6)
    for name in ("frames", "depth", "object_ids", "cam_to_world"):
        np.testing.assert_array_equal(getattr(zero, name), getattr(base, name), err_msg=name)
    np.testing.assert_array_equal(rolled.cam_to_world, base.cam_to_world)
    assert not np.array_equal(rolled.depth, base.depth) and not np.array_equal(rolled.frames, base.frames)
    assert rolled.info["rolling_shutter"] == 0.6 and "rolling_shutter" not in base.info
    with pytest.raises(InputError, match="rolling_shutter"):
        make_scene("static-orbit", seed=1, num_frames=1, height=24, width=32, rolling_shutter=1.5)


def test_render_settings_are_checked_when_made_and_store_python_ints():
    """``RenderSettings`` names the setting out of range; numpy integer sizes are stored as ints (``meta.json``)."""
    settings = RenderSettings(np.int64(3), np.int32(24), 32)
    assert (settings.num_frames, settings.height, settings.width) == (3, 24, 32)
    assert all(type(v) is int for v in (settings.num_frames, settings.height, settings.width))
    assert settings.duration_s == 3 / 30.0
    for bad, name in [
        (dict(num_frames=True), "num_frames"),
        (dict(height=7), "height"),
        (dict(width=32.0), "width"),
        (dict(fps=0.0), "fps"),
        (dict(blur_sigma=-1.0), "blur_sigma"),
        (dict(rolling_shutter=1.5), "rolling_shutter"),
    ]:
        with pytest.raises(InputError, match=name):
            RenderSettings(**{"num_frames": 2, "height": 24, "width": 32, **bad})
