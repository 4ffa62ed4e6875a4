"""Depth video files (npz, PNG16, EXR), whole-video colour previews, side-by-side videos, `stereodiff visualize`."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.io.depth import SIDECAR, load_depth_video, save_depth_video, save_exr, save_npz, save_png16
from stereodiff.io.video import probe_video, read_video
from stereodiff.io.visualize import colormap_lut, playback_fps, robust_range, write_depth_preview, write_side_by_side
from stereodiff.types import DepthVideo


@pytest.fixture
def video(rng) -> DepthVideo:
    depth = rng.uniform(0.5, 10.0, (5, 12, 16)).astype(np.float32)
    depth[1] *= 3.0  # frames have different ranges: one range for the whole video must cover all
    depth[0, 0, :4] = 0.0  # invalid pixels
    return DepthVideo(
        depth=depth,
        disparity=(1.0 / np.maximum(depth, 0.25)).astype(np.float32),
        fps=24.0,
        source="clip.mp4",
        frame_indices=np.array([0, 2, 4, 6, 8]),
        kind="metric",
        unit="m",
    )


def _no_temp_files(folder) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_npz_round_trip_is_exact_and_memory_mapped(tmp_path, video):
    path = save_npz(tmp_path / "d.npz", video)
    loaded = load_depth_video(path)
    assert isinstance(loaded.depth, np.memmap) and isinstance(loaded.disparity, np.memmap)
    np.testing.assert_array_equal(loaded.depth, video.depth)
    np.testing.assert_array_equal(loaded.disparity, video.disparity)
    np.testing.assert_array_equal(loaded.frame_indices, video.frame_indices)
    assert (loaded.fps, loaded.kind, loaded.unit, loaded.source) == (24.0, "metric", "m", "clip.mp4")
    np.testing.assert_array_equal(load_depth_video(path, mmap=False).depth, video.depth)
    assert _no_temp_files(tmp_path)


@pytest.mark.parametrize(
    ("key", "shape", "compressed"),
    [
        ("arr_0", (4, 1, 6, 8), False),
        ("depth", (4, 6, 8, 1), True),
        ("disparity", (4, 6, 8), False),
        ("x", (6, 8), True),
    ],
)
def test_other_tools_npz(tmp_path, rng, key, shape, compressed):
    values = rng.uniform(1, 2, shape)  # float64, as other tools often save
    (np.savez_compressed if compressed else np.savez)(tmp_path / "other.npz", **{key: values})
    loaded = load_depth_video(tmp_path / "other.npz")
    got = loaded.disparity if key == "disparity" else loaded.depth
    expected = values.reshape(-1, 6, 8).astype(np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(loaded.frame_indices, np.arange(expected.shape[0]))


def test_bad_npz_inputs(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((2, 3, 3)), b=np.ones((2, 3, 3)))
    with pytest.raises(InputError, match="none is named 'depth'"):
        load_depth_video(tmp_path / "two.npz")
    np.savez(tmp_path / "five.npz", depth=np.ones((2, 2, 3, 3, 3)))
    with pytest.raises(InputError, match="shape"):
        load_depth_video(tmp_path / "five.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(InputError, match="cannot read"):
        load_depth_video(tmp_path / "junk.npz")
    with pytest.raises(InputError, match="does not exist"):
        load_depth_video(tmp_path / "missing.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no depth frames"):
        load_depth_video(tmp_path / "empty")


def test_png16_round_trip_with_one_range(tmp_path, video):
    folder = save_png16(tmp_path / "png", video)
    meta = json.loads((folder / SIDECAR).read_text())
    valid = video.depth[video.depth > 0]
    lo, hi = float(valid.min()), float(valid.max())
    assert meta["range"] == [lo, hi] and meta["quantity"] == "depth" and meta["frame_indices"] == [0, 2, 4, 6, 8]
    loaded = load_depth_video(folder)
    step = (hi - lo) / 65534
    error = np.abs(loaded.depth - video.depth)
    assert error.max() <= step / 2 + 1e-6 * hi  # half a quantisation step (+ float32 rounding)
    assert np.all(loaded.depth[0, 0, :4] == 0)  # invalid stays invalid
    assert loaded.fps == 24.0 and loaded.unit == "m" and loaded.kind == "metric"
    # ONE range for the whole video: frame 0 (values ≤ 10) uses only the lower part of the codes of frame 1 (≤ 30)
    codes0 = cv2.imread(str(folder / "000000.png"), cv2.IMREAD_UNCHANGED)
    codes1 = cv2.imread(str(folder / "000001.png"), cv2.IMREAD_UNCHANGED)
    assert codes0.dtype == np.uint16 and codes1.max() == 65535 and codes0.max() < 65535 * 10.5 / 29.5
    assert _no_temp_files(tmp_path)


def test_png16_disparity_and_overwrite_rules(tmp_path, video):
    folder = save_depth_video(tmp_path / "disp", video, format="png16", quantity="disparity")
    loaded = load_depth_video(folder)
    assert loaded.depth is None
    span = float(video.disparity.max() - video.disparity.min())
    assert np.abs(loaded.disparity - video.disparity).max() <= span / 65534 / 2 + 1e-6
    save_png16(folder, video)  # an earlier output of the same writer is replaced
    assert load_depth_video(folder).depth is not None
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds other files"):
        save_png16(folder, video)
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "000000.png").exists()


def test_png_folder_without_sidecar_loads_raw_codes(tmp_path):
    (tmp_path / "mm").mkdir()
    codes = np.arange(2 * 4 * 5, dtype=np.uint16).reshape(2, 4, 5) * 1000
    for t in range(2):
        cv2.imwrite(str(tmp_path / "mm" / f"{t}.png"), codes[t])
    np.testing.assert_array_equal(load_depth_video(tmp_path / "mm").depth, codes.astype(np.float32))


def test_exr_round_trip_is_exact(tmp_path, video):
    pytest.importorskip("OpenEXR")
    folder = save_exr(tmp_path / "exr", video)
    loaded = load_depth_video(folder)
    np.testing.assert_array_equal(loaded.depth, video.depth)
    np.testing.assert_array_equal(loaded.frame_indices, video.frame_indices)
    disp = load_depth_video(save_depth_video(tmp_path / "exr_disp", video, format="exr", quantity="disparity"))
    assert disp.depth is None
    np.testing.assert_array_equal(disp.disparity, video.disparity)
    assert _no_temp_files(tmp_path)


def test_exr_without_openexr_says_how_to_install(tmp_path):
    code = (
        "import sys; sys.modules['OpenEXR'] = None\n"
        "import numpy as np\n"
        "from stereodiff.types import DepthVideo\n"
        "from stereodiff.io.depth import save_exr\n"
        "try:\n"
        f"    save_exr({str(tmp_path / 'e')!r}, DepthVideo(depth=np.ones((1, 2, 2), np.float32)))\n"
        "except Exception as err:\n"
        "    print(type(err).__name__, err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("InputError") and "pip install 'stereodiff[exr]'" in out
    assert not (tmp_path / "e").exists()


# ------------------------------------------------------------------------------- previews


def test_colormaps():
    grey = colormap_lut("grey")
    assert grey.shape == (256, 3) and tuple(grey[0]) == (0, 0, 0) and tuple(grey[255]) == (255, 255, 255)
    assert colormap_lut("turbo").shape == (256, 3)
    with pytest.raises(InputError, match="unknown colormap"):
        colormap_lut("no-such-map")


def test_robust_range_covers_the_whole_video():
    values = np.stack([np.full((10, 10), t, np.float32) for t in range(1, 11)])  # disparity 1..10
    lo, hi = robust_range(values, "disparity", percentiles=(0, 100))
    assert (lo, hi) == (1.0, 10.0)
    lo, hi = robust_range(values, "depth", percentiles=(0, 100))  # shown as 1/depth
    assert lo == pytest.approx(0.1) and hi == pytest.approx(1.0)


def test_preview_is_normalised_over_the_whole_video(tmp_path):
    # each frame is constant: per-frame normalisation would make every frame the same grey
    disparity = np.stack([np.full((32, 48), t, np.float32) for t in range(8)])
    preview = write_depth_preview(tmp_path / "p.mp4", DepthVideo(disparity=disparity, fps=10), colormap="grey")
    decoded = read_video(preview).frames.astype(float).mean(axis=(1, 2, 3))  # [T]
    lo, hi = robust_range(disparity, "disparity")
    expected = 255 * np.clip((np.arange(8) - lo) / (hi - lo), 0, 1)
    assert np.all(np.diff(decoded) > 20)
    np.testing.assert_allclose(decoded, expected, atol=4)


def test_depth_preview_shows_near_as_bright(tmp_path):
    depth = np.ones((2, 16, 32), np.float32)
    depth[:, :, 16:] = 10.0  # right half far
    depth[:, 0, :] = 0.0  # invalid row → black
    frame = read_video(write_depth_preview(tmp_path / "d.mp4", DepthVideo(depth=depth), colormap="grey")).frames[0]
    assert frame[8, 4].mean() > 200 and frame[8, 28].mean() < 50


def test_side_by_side_picks_the_depth_frames_from_the_source(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    colours = np.array([[t * 20, 200 - t * 15, 90] for t in range(12)], np.uint8)
    for t in range(12):
        cv2.imwrite(str(source / f"{t}.png"), np.full((32, 48, 3), colours[t][::-1], np.uint8))  # BGR on disk
    indices = np.arange(0, 12, 2)
    depth = DepthVideo(depth=np.ones((6, 16, 24), np.float32), fps=30.0, frame_indices=indices)
    path = write_side_by_side(tmp_path / "sbs.mp4", depth, source)
    info = probe_video(path)
    assert (info.num_frames, info.height, info.width, info.fps) == (6, 32, 96, 15.0)  # 30 fps / step 2
    left = read_video(path).frames[:, 4:-4, 4:44].astype(float).mean(axis=(1, 2))  # [T,3]
    np.testing.assert_allclose(left, colours[indices], atol=4)
    too_long = DepthVideo(depth=np.ones((2, 16, 24), np.float32), frame_indices=np.array([4, 20]))
    with pytest.raises(InputError, match="refers to frame 20"):
        write_side_by_side(tmp_path / "bad.mp4", too_long, source)
    assert not (tmp_path / "bad.mp4").exists()


def test_playback_fps():
    assert playback_fps(30.0, np.arange(0, 20, 3)) == 10.0
    assert playback_fps(24.0, np.array([5])) == 24.0


def test_cli_visualize(cli, tmp_path, video):
    save_npz(tmp_path / "d.npz", video)
    status, out, _ = cli("-q", "visualize", tmp_path / "d.npz", "-o", tmp_path / "out" / "p.mp4", "--colormap", "turbo")
    assert status == 0 and out.strip() == str(tmp_path / "out" / "p.mp4")
    info = probe_video(tmp_path / "out" / "p.mp4")
    assert (info.num_frames, info.height, info.width, info.fps) == (5, 12, 16, 12.0)
    save_png16(tmp_path / "png", video)
    status, _, _ = cli("-q", "visualize", tmp_path / "png", "-o", tmp_path / "q.mp4", "--fps", "5")
    assert status == 0 and probe_video(tmp_path / "q.mp4").fps == 5.0


def test_cli_visualize_bad_inputs(cli, tmp_path, video):
    save_npz(tmp_path / "d.npz", video)
    (tmp_path / "afile").write_text("x")
    cases = {
        "missing depth": ([tmp_path / "nope.npz", "-o", tmp_path / "p.mp4"], "does not exist"),
        "bad colormap": ([tmp_path / "d.npz", "-o", tmp_path / "p.mp4", "--colormap", "rainbowz"], "colormap"),
        "bad suffix": ([tmp_path / "d.npz", "-o", tmp_path / "p.gif"], "must end in"),
        "unwritable": ([tmp_path / "d.npz", "-o", tmp_path / "afile" / "p.mp4"], "cannot write"),
        "missing rgb video": (
            [tmp_path / "d.npz", "-o", tmp_path / "p.mp4", "--side-by-side", tmp_path / "no"],
            "exist",
        ),
    }
    for name, (args, needle) in cases.items():
        status, _, err = cli("visualize", *args)
        lines = err.strip().splitlines()
        assert status == 2 and len(lines) == 1 and needle in lines[0], (name, err)
    assert not (tmp_path / "p.mp4").exists()


def test_write_outputs_writes_the_preview_beside_the_npz_and_reports_it_to_the_callers_listeners(tmp_path):
    from stereodiff.io.visualize import _colored, colorize
    from stereodiff.progress import progress_listener
    from stereodiff.runs import write_outputs

    rng = np.random.default_rng(0)
    depth = rng.uniform(1.0, 5.0, (5, 16, 24)).astype(np.float32)
    depth[1, :3] = 0.0  # invalid pixels are black
    seen: list[str] = []
    with progress_listener(lambda desc, done, total: seen.append(desc)):  # the preview runs on another thread
        written = write_outputs(DepthVideo(depth=depth, fps=10), None, tmp_path, ("npz", "mp4"))
    assert [p.name for p in written] == ["depth.npz", "depth.mp4"]
    assert "writing depth.mp4" in seen
    np.testing.assert_array_equal(load_depth_video(tmp_path / "depth.npz").depth, depth)
    assert read_video(tmp_path / "depth.mp4").frames.shape[0] == 5
    # the frames coloured on threads are the ones coloured one by one, in order
    lo, hi = robust_range(depth, "depth")
    lut = colormap_lut("inferno")
    for frame, expected in zip(_colored(depth, "depth", "inferno"), depth, strict=True):
        np.testing.assert_array_equal(frame, colorize(expected, lo, hi, lut, "depth"))
