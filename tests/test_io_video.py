"""Video input: image folders, globs, list files, video files (PyAV), frame ranges, resizing, bad inputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.io.video import (
    iter_frames,
    iter_indexed_frames,
    natural_key,
    probe_video,
    read_video,
    resize_max_res,
    write_video,
)


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    """Write an RGB (or grey / RGBA / 16-bit) array with OpenCV, converting RGB(A) to BGR(A)."""
    image = rgb
    if rgb.ndim == 3 and rgb.shape[2] == 3:
        image = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif rgb.ndim == 3 and rgb.shape[2] == 4:
        image = cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA)
    assert cv2.imwrite(str(path), image)
    return path


def _numbered_frames(folder: Path, count: int, size=(12, 16), name="frame{}.png") -> np.ndarray:
    """Write ``count`` frames whose pixels encode their index; returns them ``[T,H,W,3]``."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = np.zeros((count, *size, 3), np.uint8)
    for t in range(count):
        frames[t] = (t * 10, 255 - t * 10, (t * 37) % 256)
        frames[t, t % size[0], :, 0] = 255  # a per-frame row marker
        _write_png(folder / name.format(t), frames[t])
    return frames


def _clip(count: int = 12, height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth moving pattern that H.264 reproduces closely: ``[T,H,W,3]`` uint8."""
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = []
    for t in range(count):
        r = 128 + 100 * np.sin((u + 3 * t) / 20.0)
        g = 128 + 100 * np.cos((v - 2 * t) / 16.0)
        b = np.full_like(u, 40 + 15 * t)
        frames.append(np.stack([r, g, b], axis=-1))
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def test_natural_key_puts_2_before_10():
    names = ["f10.png", "f2.png", "F1.png", "f2b.png", "f100.png"]
    assert sorted(names, key=natural_key) == ["F1.png", "f2.png", "f2b.png", "f10.png", "f100.png"]


def test_folder_is_read_in_natural_order(tmp_path):
    frames = _numbered_frames(tmp_path / "seq", 12)
    video = read_video(tmp_path / "seq")
    assert video.frames.shape == (12, 12, 16, 3) and video.fps == 30.0
    np.testing.assert_array_equal(video.frames, frames)  # PNG is lossless
    np.testing.assert_array_equal(video.frame_indices, np.arange(12))
    assert read_video(tmp_path / "seq", fps=12.5).fps == 12.5


def test_image_formats_become_rgb_uint8(tmp_path, rng):
    h, w = 10, 14
    rgb16 = rng.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    rgb16[0, :3, 0] = (65535, 257, 129)
    gray16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    gray8 = rng.integers(0, 256, (h, w), dtype=np.uint8)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    rgb8 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    smooth = np.dstack([np.tile(np.linspace(0, 255, w), (h, 1)).astype(np.uint8)] * 3)
    files = [
        _write_png(tmp_path / "a_rgb16.png", rgb16),
        _write_png(tmp_path / "b_gray16.png", gray16),
        _write_png(tmp_path / "c_gray8.png", gray8),
        _write_png(tmp_path / "d_rgba.png", rgba),
        _write_png(tmp_path / "e_rgb16.tif", rgb16),
        _write_png(tmp_path / "f_smooth.jpg", smooth),
        _write_png(tmp_path / "g_rgb8.png", rgb8),
    ]
    (tmp_path / "list.txt").write_text("\n".join(p.name for p in files) + "\n")
    video = read_video(tmp_path / "list.txt")

    def to8(x):  # x * 255 / 65535, rounded to nearest
        return ((x.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)

    np.testing.assert_array_equal(video.frames[0], to8(rgb16))
    assert tuple(video.frames[0, 0, :3, 0]) == (255, 1, 1)  # 16-bit is scaled, not truncated to the high byte
    np.testing.assert_array_equal(video.frames[1], np.dstack([to8(gray16)] * 3))
    np.testing.assert_array_equal(video.frames[2], np.dstack([gray8] * 3))
    np.testing.assert_array_equal(video.frames[3], rgba[:, :, :3])
    np.testing.assert_array_equal(video.frames[4], to8(rgb16))
    assert np.abs(video.frames[5].astype(int) - smooth).max() <= 8  # JPEG
    np.testing.assert_array_equal(video.frames[6], rgb8)


def test_glob_and_list_file(tmp_path):
    frames = _numbered_frames(tmp_path / "imgs", 11, name="img_{}.png")
    video = read_video(str(tmp_path / "imgs" / "img_*.png"))
    np.testing.assert_array_equal(video.frames, frames)
    lists = tmp_path / "lists"
    lists.mkdir()
    # paths are relative to the list file; listed order is kept; comments and blank lines are skipped
    (lists / "frames.txt").write_text("# my frames\n../imgs/img_3.png\n\n../imgs/img_10.png\n../imgs/img_0.png\n")
    listed = read_video(lists / "frames.txt")
    np.testing.assert_array_equal(listed.frames, frames[[3, 10, 0]])


@pytest.mark.parametrize(
    ("frames", "stride", "max_frames", "expected"),
    [
        (None, 1, None, list(range(12))),
        ("2:10:3", 1, None, [2, 5, 8]),
        ("::2", 2, None, [0, 4, 8]),
        (slice(1, None), 1, 3, [1, 2, 3]),
        ("-3:", 1, None, [9, 10, 11]),
        ("7:", 1, None, [7, 8, 9, 10, 11]),
        (":100", 5, None, [0, 5, 10]),
    ],
)
def test_frame_selection(tmp_path, frames, stride, max_frames, expected):
    all_frames = _numbered_frames(tmp_path / "seq", 12)
    video = read_video(tmp_path / "seq", frames=frames, stride=stride, max_frames=max_frames)
    np.testing.assert_array_equal(video.frame_indices, expected)
    np.testing.assert_array_equal(video.frames, all_frames[expected])
    streamed = list(iter_frames(tmp_path / "seq", frames=frames, stride=stride, max_frames=max_frames))
    np.testing.assert_array_equal(np.stack(streamed), all_frames[expected])


def test_max_res_shrinks_the_long_side(tmp_path, rng):
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    _write_png(tmp_path / "x.png", image)
    video = read_video(tmp_path / "x.png", max_res=30)
    expected = cv2.resize(image, (30, 20), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(video.frames[0], expected)
    assert resize_max_res(image, 100) is image


def test_mp4_round_trip(tmp_path):
    clip = _clip()
    path = write_video(tmp_path / "clip.mp4", iter(clip), fps=24, crf=12)
    info = probe_video(path)
    assert (info.kind, info.num_frames, info.height, info.width, info.fps) == ("video", 12, 48, 64, 24.0)
    video = read_video(path)
    assert video.frames.shape == clip.shape and video.fps == 24.0
    error = np.abs(video.frames.astype(int) - clip)
    assert error.mean() < 2.5 and np.percentile(error, 99) < 10  # 4:2:0 chroma + limited range
    # a range on a video file: only the selected frames are returned, with their source indices
    part = read_video(path, frames="3:11:4")
    np.testing.assert_array_equal(part.frame_indices, [3, 7])
    np.testing.assert_array_equal(part.frames, video.frames[[3, 7]])
    assert [i for i, _ in iter_indexed_frames(path, frames="10:")] == [10, 11]


def test_odd_sizes_are_padded_to_even(tmp_path):
    clip = _clip(count=3, height=47, width=63)
    video = read_video(write_video(tmp_path / "odd.mp4", clip, fps=10, crf=12))
    assert video.frames.shape == (3, 48, 64, 3)
    assert np.abs(video.frames[:, :47, :63].astype(int) - clip).mean() < 2.5


def test_mkv_without_frame_count_supports_ranges_from_the_end(tmp_path):
    clip = _clip(count=6)
    path = write_video(tmp_path / "clip.mkv", clip, fps=30)
    assert probe_video(path).num_frames is None  # Matroska stores no frame count
    np.testing.assert_array_equal(read_video(path, frames="-2:").frame_indices, [4, 5])
    np.testing.assert_array_equal(read_video(path, frames="1::2").frame_indices, [1, 3, 5])
    with pytest.raises(InputError, match="has only 6 frames"):
        read_video(path, frames="10:")


def test_10bit_hevc_is_converted_to_rgb24(tmp_path):
    import av

    if "libx265" not in av.codecs_available:
        pytest.skip("this FFmpeg build has no libx265 encoder")
    clip = _clip(count=4)
    path = write_video(tmp_path / "clip10.mp4", clip, fps=25, codec="libx265", pix_fmt="yuv420p10le", crf=8)
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p10le"
    video = read_video(path)
    assert video.frames.dtype == np.uint8 and video.frames.shape == clip.shape
    assert np.abs(video.frames.astype(int) - clip).mean() < 2.5


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "suffix"),
    [
        ("libvpx-vp9", "yuv420p", ".webm"),
        ("libsvtav1", "yuv420p", ".mkv"),
        ("prores", "yuv422p10le", ".mov"),
        ("mjpeg", "yuvj420p", ".avi"),
        ("ffv1", "yuv444p", ".mkv"),
    ],
)
def test_other_codecs_and_containers_decode(tmp_path, codec, pix_fmt, suffix):
    import av

    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    clip = _clip(count=6)
    video = read_video(write_video(tmp_path / f"clip{suffix}", clip, fps=24, codec=codec, pix_fmt=pix_fmt))
    assert video.frames.shape == clip.shape and video.fps == 24.0
    assert np.abs(video.frames.astype(int) - clip).mean() < 4.0


def test_iter_frames_is_lazy_and_validates_up_front(tmp_path):
    path = write_video(tmp_path / "clip.mp4", _clip(count=5), fps=30)
    stream = iter_frames(path)
    assert not isinstance(stream, list | tuple)
    assert next(stream).shape == (48, 64, 3)
    with pytest.raises(InputError, match="selects no frames"):
        iter_frames(path, frames="9:")  # raised when called, before any frame is consumed


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_video(tmp_path / "missing.mp4")
    _numbered_frames(tmp_path / "s", 3)
    with pytest.raises(InputError, match="step must be"):
        read_video(tmp_path / "s", frames="0:3:0")
    with pytest.raises(InputError, match="stride"):
        read_video(tmp_path / "s", stride=0)
    with pytest.raises(InputError, match="max_res"):
        read_video(tmp_path / "s", max_res=0)
    (tmp_path / "bad.txt").write_text("s/frame0.png\nnot_there.png\n")
    with pytest.raises(InputError, match=r"line 2 .* missing file"):
        read_video(tmp_path / "bad.txt")


# ------------------------------------------------------------------------------- CLI: one line, exit 2


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    _numbered_frames(tmp_path / "ok", 4)
    (tmp_path / "empty").mkdir()
    (tmp_path / "garbage.mp4").write_bytes(b"this is not a video" * 50)
    mixed = tmp_path / "mixed"
    _numbered_frames(mixed, 3)
    _write_png(mixed / "frame3.png", np.zeros((20, 16, 3), np.uint8))
    (tmp_path / "afile").write_text("x")
    out = str(tmp_path / "out")
    return {
        "missing": (["extract", str(tmp_path / "nope.mp4"), "-o", out], "does not exist"),
        "unreadable video": (["extract", str(tmp_path / "garbage.mp4"), "-o", out], "cannot read"),
        "empty folder": (["extract", str(tmp_path / "empty"), "-o", out], "holds no images"),
        "bad range text": (["extract", str(tmp_path / "ok"), "-o", out, "--frames", "1:x"], "bad frame range"),
        "single number": (["extract", str(tmp_path / "ok"), "-o", out, "--frames", "3"], "ambiguous"),
        "zero step": (["extract", str(tmp_path / "ok"), "-o", out, "--frames", "0:4:0"], "step must be"),
        "empty range": (["extract", str(tmp_path / "ok"), "-o", out, "--frames", "10:"], "selects no frames"),
        "mixed sizes": (["extract", str(mixed), "-o", out], "frame3.png is 16x20"),
        "unwritable output": (["extract", str(tmp_path / "ok"), "-o", str(tmp_path / "afile" / "o")], "cannot write"),
    }


def test_cli_bad_inputs_exit_2_with_one_line(cli, tmp_path):
    for name, (args, needle) in _bad_inputs(tmp_path).items():
        status, _, err = cli(*args)
        lines = err.strip().splitlines()
        assert status == 2, name
        assert len(lines) == 1 and lines[0].startswith("stereodiff: error: "), (name, err)
        assert needle in lines[0] and "; " in lines[0], (name, lines[0])
        assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_cli_extract_writes_selected_frames(cli, tmp_path):
    frames = _numbered_frames(tmp_path / "seq", 9)
    status, out, _ = cli("-q", "extract", tmp_path / "seq", "-o", tmp_path / "x", "--frames", "1:9:3")
    assert status == 0 and out.strip() == str(tmp_path / "x")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["000001.png", "000004.png", "000007.png"]
    np.testing.assert_array_equal(read_video(tmp_path / "x").frames, frames[[1, 4, 7]])


def test_subprocess_bad_input_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "stereodiff", "extract", str(tmp_path / "missing.mp4"), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("stereodiff: error: input ")


def test_real_videos_frame_counts(shared_data):
    videos = shared_data / "videos"
    for name, count, size in (("lady-running.mp4", 65, (480, 854)), ("davis_rollercoaster.mp4", 70, (540, 960))):
        info = probe_video(videos / name)
        assert (info.num_frames, (info.height, info.width)) == (count, size)
        decoded = sum(1 for frame in iter_frames(videos / name, max_res=96) if frame.shape[2] == 3)
        assert decoded == count, name
    assert probe_video(videos / "lady-running-frames").num_frames == 65
