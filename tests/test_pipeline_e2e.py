"""End to end through ``stereodiff run``'s code path: the paper preset's wiring on tiny random models, outputs
written and re-read, run directory reuse, and bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import assert_same_scene, make_tiny_croco
from stereodiff.config import preset_config, set_option
from stereodiff.io.depth import load_depth_video
from stereodiff.io.export import read_intrinsics, read_tum_poses
from stereodiff.io.video import write_video
from stereodiff.runs import SAVE_CHOICES, RunRequest, run_video


@pytest.fixture(scope="module")
def tiny_paper_config(tmp_path_factory):
    """The ``paper`` preset with its three models replaced by tiny random ones saved in the published layouts."""
    from stereodiff.stage1.croco.loading import save_croco_stereo
    from stereodiff.stage2.depthcrafter.testing import save_tiny_depthcrafter

    folder = tmp_path_factory.mktemp("models")
    save_croco_stereo(make_tiny_croco(), folder / "monst3r")
    unet, base = save_tiny_depthcrafter(folder / "depthcrafter")
    config = preset_config("paper")
    config.stage1.weights = str(folder / "monst3r")
    config.stage1.resolution = 64
    config.stage1.min_conf_thr = 1.0  # a random network is not confident: keep its points
    config.stage2.unet, config.stage2.base = str(unet), str(base)
    config.stage2.window, config.stage2.overlap, config.stage2.resolution = 6, 2, 64
    return config


@pytest.fixture(scope="module")
def small_video(tmp_path_factory):
    from stereodiff.synth import make_scene

    scene = make_scene("static-orbit", seed=0, num_frames=10, height=48, width=64)
    path = tmp_path_factory.mktemp("video") / "orbit.mp4"
    write_video(path, iter(scene.frames), 30.0)
    return path


def _read_ply(path):
    data = path.read_bytes()
    header, body = data.split(b"end_header\n", 1)
    count = int(next(line for line in header.decode().splitlines() if line.startswith("element vertex")).split()[-1])
    vertex = np.dtype([("xyz", "<f4", 3), ("rgb", "u1", 3)])
    return np.frombuffer(body, vertex, count=count)


def test_paper_preset_wiring_writes_every_output(tiny_paper_config, small_video, tmp_path):
    out = tmp_path / "out"
    report = run_video(RunRequest(small_video, out, tiny_paper_config, save=SAVE_CHOICES))
    assert report["status"] == "done" and report["num_frames"] == 10 and report["output_kind"] == "disparity"
    assert json.loads((out / "run.json").read_text())["config"]["stage1"]["backend"] == "monst3r"
    assert set(report["timings_s"]) >= {"decode", "stage1_matching", "stage1_alignment", "stage2", "export"}
    video = load_depth_video(out / "depth.npz")
    assert video.disparity.shape == (10, 48, 64) and np.isfinite(video.disparity).all()
    assert video.disparity.min() >= 0 and video.disparity.max() <= 1  # DepthCrafter's normalised disparity
    png = load_depth_video(out / "depth_png16")
    np.testing.assert_allclose(png.disparity, video.disparity, atol=1.0 / 60000)
    exr = load_depth_video(out / "depth_exr")
    np.testing.assert_array_equal(exr.disparity, video.disparity)
    for name in ("depth.mp4", "side_by_side.mp4"):
        assert (out / name).stat().st_size > 1000
    _, poses = read_tum_poses(out / "poses_tum.txt")
    assert poses.shape == (10, 4, 4)
    np.testing.assert_allclose(poses[:, :3, :3] @ poses[:, :3, :3].transpose(0, 2, 1), np.eye(3)[None].repeat(10, 0),
                               atol=1e-6)  # fmt: skip
    k = read_intrinsics(out / "intrinsics.txt")
    assert k.shape[-2:] == (3, 3) and np.all(k[..., 0, 2] == 32.0)  # principal point at W/2 of the 64-px input
    # the point clouds, poses and intrinsics agree: every frame's points project back, in front of its camera, onto
    # the pixel grid of the 64×48 frame (the geometry's size); the fused cloud is all of them (no subsampling here)
    frames = [_read_ply(out / "points" / f"frame_{t:06d}.ply") for t in range(10)]
    for t, points in enumerate(frames):
        if not len(points):
            continue
        camera = (points["xyz"].astype(np.float64) - poses[t, :3, 3]) @ poses[t, :3, :3]  # R^T (X - c)
        assert (camera[:, 2] > 0).all()
        pixels = camera @ k[min(t, len(k) - 1)].T
        pixels = pixels[:, :2] / pixels[:, 2:]
        np.testing.assert_allclose(pixels, np.round(pixels), atol=0.02)  # pixel centres (float32 PLY, text poses)
        assert np.round(pixels).min() >= 0 and (np.round(pixels).max(0) <= [63, 47]).all()
    fused = _read_ply(out / "points" / "fused.ply")
    np.testing.assert_array_equal(fused, np.concatenate(frames))
    assert len(fused) > 100  # a random network is confident on few pixels (some frames have none)
    assert not (out / ".run").exists()  # cache removed after success


def test_depthcrafter_full_through_the_pipeline_is_depthcrafter_with_the_configured_windows(tiny_paper_config):
    """``--stage2 depthcrafter-full`` (no stage 1): the pipeline's output is DepthCrafter's own estimate with the
    configured window, overlap, resolution and seed (10 frames, windows of 6: two windows stitched)."""
    import copy

    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.stage2.depthcrafter import load_depthcrafter
    from stereodiff.synth import make_scene
    from stereodiff.types import Video

    config = copy.deepcopy(tiny_paper_config)
    set_option(config, "stage1.backend", "none")
    set_option(config, "stage2.backend", "depthcrafter-full")  # its own defaults: copy the tiny models and windows
    for key in ("unet", "base", "window", "overlap", "resolution"):
        set_option(config, f"stage2.{key}", getattr(tiny_paper_config.stage2, key))
    frames = make_scene("indoor-dynamic", seed=2, num_frames=10, height=48, width=64).frames
    result = StereoDiffPipeline.from_config(config)(Video(frames, fps=30.0))
    assert result.depth is None and result.disparity.shape == (10, 48, 64)
    s2 = config.stage2
    direct = load_depthcrafter(unet=s2.unet, base=s2.base).estimate(
        frames, seed=config.seed, window_size=s2.window, overlap=s2.overlap, max_res=s2.resolution
    )
    np.testing.assert_allclose(result.disparity, direct, atol=1e-6)
    one_window = load_depthcrafter(unet=s2.unet, base=s2.base).estimate(frames, seed=config.seed, max_res=64)
    assert np.abs(one_window - direct).max() > 1e-3  # the windows matter: the defaults would give another output


def test_run_directory_is_reused_on_resume(tiny_paper_config, small_video, tmp_path):
    out = tmp_path / "out"
    request = RunRequest(small_video, out, tiny_paper_config, save=("npz",), keep_cache=True)
    run_video(request)
    first = load_depth_video(out / "depth.npz").disparity.copy()
    assert (out / ".run" / "stage1" / "scene" / "done").is_file()
    assert not (out / ".run" / "stage1" / "pairs").exists()  # consumed by the alignment: deleted with the scene saved
    request.resume = True
    run_video(request)
    np.testing.assert_array_equal(load_depth_video(out / "depth.npz").disparity, first)
    # as if killed mid-run: no aligned scene yet (its pairs are computed again, in the same batches), the last
    # stage-2 window missing (a pair cache killed half-way: tests/test_network.py, tests/test_pipeline_cpu.py)
    (out / ".run" / "stage1" / "scene" / "done").unlink()
    sorted((out / ".run" / "stage2" / "windows").glob("window_*.npy"))[-1].unlink()
    run_video(request)
    np.testing.assert_array_equal(load_depth_video(out / "depth.npz").disparity, first)
    request.config.seed = 1  # another configuration may not reuse the cache
    with pytest.raises(ValueError, match="other settings"):
        run_video(request)


def test_cli_bad_inputs_are_one_line(cli, tmp_path, small_video, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    video, out = str(small_video), str(tmp_path / "out")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (["run", str(tmp_path / "missing.mp4"), "-o", out], "does not exist"),
        (["run", str(empty), "-o", out, "--preset", "cpu"], "no image"),
        (["run", video, "-o", out, "--preset", "cpu", "--frames", "50:60"], "selects no frames"),
        (["run", video, "-o", out, "--save", "npz,gif"], "unknown outputs"),
        (["run", video, "-o", "/proc/nope"], "cannot write"),
        (["run", video, "-o", out, "--preset", "paper"], "HF_HUB_OFFLINE"),
        (["batch", video, "-o", out, "--shard", "3/2"], "shard"),
    ]
    for args, message in cases:
        status, _, err = cli(*args)
        assert status == 2, (args, err)
        assert err.count("\n") == 1 and message in err and "Traceback" not in err, (args, err)
    assert not (tmp_path / "out" / "run.json").exists()  # nothing half-written


def test_disk_full_during_export_is_one_line_and_leaves_nothing(cli, tmp_path, small_video, monkeypatch):
    import errno

    import stereodiff.io.depth as depth_io

    def fill_disk(path, arrays):  # the npz writer runs out of space half-way through its temporary file
        with open(path, "wb") as handle:
            handle.write(b"PK" + bytes(1000))
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(depth_io, "_write_npz", fill_disk)
    out = tmp_path / "out"
    status, _, err = cli("run", str(small_video), "-o", str(out), "--preset", "cpu", "--stage1-res", "64")
    assert status == 2, err
    errors = [line for line in err.splitlines() if line.startswith("stereodiff: error")]
    assert "Traceback" not in err and len(errors) == 1, err  # (warnings may mention a "reprojection error")
    assert err.splitlines()[-1].startswith("stereodiff: error: the disk is full while writing"), err
    assert not (out / "depth.npz").exists() and not list(out.glob(".*tmp*")), sorted(p.name for p in out.iterdir())
    assert (out / ".run" / "stage2" / "out.npy").is_file()  # the finished stages are kept for --resume


def test_frame_range_keeps_source_indices(small_video, tmp_path):
    config = preset_config("cpu")
    config.stage1.resolution = 64
    out = tmp_path / "out"
    report = run_video(RunRequest(small_video, out, config, save=("npz",), frames="1:10:2"))
    assert report["num_frames"] == 5
    video = load_depth_video(out / "depth.npz")
    np.testing.assert_array_equal(video.frame_indices, [1, 3, 5, 7, 9])
    assert video.depth.shape == (5, 48, 64) and (video.depth > 0).all()


def test_network_scene_is_the_same_from_api_and_run_directory(tiny_paper_config, tmp_path):
    """The network path (shared default ``reconstruct``): the alignment record and pointmaps survive save/load."""
    import copy

    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.stage2.configs import NoStage2Config
    from stereodiff.synth import make_scene
    from stereodiff.types import Video

    config = copy.deepcopy(tiny_paper_config)
    config.stage2 = NoStage2Config()
    frames = make_scene("static-orbit", seed=0, num_frames=6, height=48, width=64).frames
    pipeline = StereoDiffPipeline.from_config(config)
    in_memory, on_disk = pipeline(Video(frames)), pipeline(Video(frames), run_dir=tmp_path / "run")
    assert in_memory.geometry.aligned_pointmaps is not None and in_memory.geometry.alignment.tree.shape == (5, 2)
    assert_same_scene(in_memory.geometry, on_disk.geometry)
    np.testing.assert_array_equal(in_memory.depth, on_disk.depth)


def test_a_preview_run_imports_matplotlib_before_the_pipeline_not_at_the_export(small_video, tmp_path, monkeypatch):
    """With an mp4 / sbs preview asked, matplotlib (its colour maps, ~0.1 s of CPU) is imported in the background
    when the pipeline starts, not on the export's critical path at the end; without a preview it is not asked for."""
    import stereodiff.pipeline
    import stereodiff.runs

    events: list[str] = []
    background = stereodiff.runs.import_in_background
    monkeypatch.setattr(
        stereodiff.runs, "import_in_background", lambda *names: events.append(names) or background(*names)
    )
    call = stereodiff.pipeline.StereoDiffPipeline.__call__
    monkeypatch.setattr(
        stereodiff.pipeline.StereoDiffPipeline, "__call__", lambda *a, **k: events.append("pipeline") or call(*a, **k)
    )
    config = preset_config("cpu")
    config.stage1.resolution = 64
    for save, expected in ((("npz",), ["pipeline"]), (("npz", "mp4"), [("matplotlib",), "pipeline"])):
        events.clear()
        run_video(RunRequest(small_video, tmp_path / "-".join(save), config, save=save, frames="0:6"))
        assert events == expected
