"""The app's pieces without a browser: progress listeners, PLY/GLB files, run folders, the app's jobs (inputs,
limits, cancel), the viewer's bounded frame cache, HTML reports and the missing-extra message."""

from __future__ import annotations

import io
import threading
import zipfile

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.progress import progress, progress_listener


def test_progress_listener_sees_every_step_and_can_stop_the_loop():
    seen = []
    with progress_listener(lambda desc, done, total: seen.append((desc, done, total))):
        assert list(progress(range(3), desc="stage")) == [0, 1, 2]
    assert seen == [("stage", 0, 3), ("stage", 1, 3), ("stage", 2, 3), ("stage", 3, 3)]
    assert list(progress(range(2), desc="after")) == [0, 1] and len(seen) == 4  # unregistered

    class Stop(Exception):
        pass

    def stop_at_two(desc, done, total):
        if done == 2:
            raise Stop

    consumed = []
    with progress_listener(stop_at_two), pytest.raises(Stop):
        for item in progress(range(10), desc="long"):
            consumed.append(item)
    assert consumed == [0, 1]

    other = []  # a loop in another thread does not report to this thread's listener
    with progress_listener(lambda *a: other.append(a)):
        worker = threading.Thread(target=lambda: list(progress(range(5), desc="elsewhere")))
        worker.start()
        worker.join()
    assert other == []


def test_read_ply_round_trip_and_rejects_other_files(tmp_path, rng):
    from stereodiff.io.export import read_ply, write_ply

    points = rng.normal(size=(50, 3)).astype(np.float32)
    colors = rng.integers(0, 256, (50, 3), dtype=np.uint8)
    got_points, got_colors = read_ply(write_ply(tmp_path / "c.ply", points, colors))
    np.testing.assert_array_equal(got_points, points)
    np.testing.assert_array_equal(got_colors, colors)
    (tmp_path / "ascii.ply").write_text("ply\nformat ascii 1.0\nelement vertex 1\nend_header\n0 0 0\n")
    with pytest.raises(InputError, match="not a point cloud"):
        read_ply(tmp_path / "ascii.ply")
    (tmp_path / "short.ply").write_bytes((tmp_path / "c.ply").read_bytes()[:-30])
    with pytest.raises(InputError, match="truncated"):
        read_ply(tmp_path / "short.ply")


def test_scene_glb_holds_points_path_and_cameras_in_gltf_axes(tmp_path):
    trimesh = pytest.importorskip("trimesh", reason="the 'app' extra is not installed")
    from stereodiff.io.glb import frustum_lines, write_scene_glb

    points = np.array([[0.0, 0.5, 2.0], [1.0, -0.5, 3.0]], np.float32)
    colors = np.array([[255, 0, 0], [0, 255, 0]], np.uint8)
    poses = np.tile(np.eye(4), (3, 1, 1))
    poses[:, 0, 3] = [0.0, 0.1, 0.2]
    k = np.tile(np.array([[50.0, 0, 32], [0, 50, 24], [0, 0, 1]]), (3, 1, 1))
    scene = trimesh.load(write_scene_glb(tmp_path / "s.glb", points, colors, poses, k, (48, 64)))
    cloud = scene.geometry["points"]
    transform = scene.graph.get(scene.graph.nodes_geometry[0])[0]
    world = trimesh.transform_points(cloud.vertices, transform)
    np.testing.assert_allclose(sorted(world[:, 2]), [-3.0, -2.0], atol=1e-6)  # z forward → -z (glTF)
    assert {"path", "cameras"} <= set(scene.geometry)
    lines = frustum_lines(poses[:1], k[:1], (48, 64), scale=1.0)
    assert lines.shape == (8, 2, 3)
    np.testing.assert_allclose(lines[0], [[0, 0, 0], [-32 / 50, -24 / 50, 1.0]])  # centre → top-left corner


def test_run_folder_reads_frames_from_ply_or_depth(small_run, tmp_path):
    import shutil

    from stereodiff.io.runfolder import RunFolder

    run = RunFolder(small_run)
    assert run.num_frames == 16 and run.image_size == (96, 128) and run.has_fused_cloud
    points, colors = run.frame_points(3, max_points=500)
    assert points.shape == (500, 3) and colors.shape == (500, 3)
    assert np.median(run.camera_depth(3, points)) > 0  # points lie in front of their camera
    assert (small_run / "scene.glb").stat().st_size > 0
    no_ply = tmp_path / "no_ply"
    shutil.copytree(small_run, no_ply, ignore=shutil.ignore_patterns("points"))
    fallback = RunFolder(no_ply)
    depth_points, none = fallback.frame_points(3)
    assert none is None and len(depth_points) > 100
    assert np.median(fallback.camera_depth(3, depth_points)) > 0
    with pytest.raises(InputError, match="not a stereodiff run folder"):
        RunFolder(tmp_path)


def test_view_cli_rejects_a_folder_that_is_not_a_run(cli, tmp_path):
    status, _, err = cli("view", tmp_path)
    assert status == 2 and err.count("\n") == 1 and "not a stereodiff run folder" in err


def test_viewer_keeps_a_bounded_number_of_frames(small_run):
    viser = pytest.importorskip("viser", reason="the 'app' extra is not installed")
    from stereodiff.app.viewer import RunViewer
    from stereodiff.io.runfolder import RunFolder

    server = viser.ViserServer(host="127.0.0.1", port=0, verbose=False)
    try:
        viewer = RunViewer(RunFolder(small_run), server, max_points=2000, cache_frames=4, prefetch=False)
        for t in range(16):
            viewer.show(t)
            assert len(viewer.loaded_frames()) <= 4 and t in viewer.loaded_frames()
        names = [f"/frames/{t:06d}" for t in range(16)]
        assert sum(server.scene.get_handle_by_name(n) is not None for n in names) == 4
        assert server.scene.get_handle_by_name("/frames/000015").visible
        viewer.coloring.value = "depth"
        viewer.fused.value = True
        assert server.scene.get_handle_by_name("/fused") is not None
        assert not server.scene.get_handle_by_name("/frames/000015").visible
        viewer.close()
    finally:
        server.stop()


# ----------------------------------------------------------------------------------------------- app jobs


def _png(value: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 48, 3), value, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_archive_inputs_are_extracted_flat_and_checked(tmp_path):
    from stereodiff.app.jobs import AppLimits, prepare_input

    archive = tmp_path / "frames.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../../evil/000.png", _png(10))  # archive paths are never used
        zf.writestr("clip/001.png", _png(20))
        zf.writestr("notes.txt", "ignored")
    folder = prepare_input(archive, None, tmp_path / "job", tmp_path / "examples", AppLimits())
    assert sorted(p.name for p in folder.iterdir()) == ["000.png", "001.png"]
    assert not (tmp_path / "evil").exists()
    with pytest.raises(InputError, match="at most 1"):
        prepare_input(archive, None, tmp_path / "job2", tmp_path / "examples", AppLimits(max_archive_files=1))
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(InputError, match="no images"):
        prepare_input(empty, None, tmp_path / "job3", tmp_path / "examples", AppLimits())
    (tmp_path / "big.mp4").write_bytes(b"\0" * 2**20 * 2)
    with pytest.raises(InputError, match="at most 1 MB"):
        prepare_input(tmp_path / "big.mp4", None, tmp_path / "job4", tmp_path / "examples", AppLimits(max_upload_mb=1))
    with pytest.raises(InputError, match="no input"):
        prepare_input(None, None, tmp_path / "job5", tmp_path / "examples", AppLimits())


def test_jobs_reject_bad_or_too_large_inputs_before_work(tmp_path, small_video_file):
    from stereodiff.app.jobs import AppLimits, JobOptions, run_job

    (tmp_path / "notes.mp4").write_text("not a video")
    with pytest.raises(InputError, match="cannot read"):
        run_job(tmp_path / "notes.mp4", JobOptions(), tmp_path / "a", AppLimits())
    with pytest.raises(InputError, match="limit of 10"):
        run_job(small_video_file, JobOptions(), tmp_path / "b", AppLimits(max_frames=10))
    with pytest.raises(InputError, match="1 frame"):
        run_job(small_video_file, JobOptions(frames="3:4"), tmp_path / "c", AppLimits())
    with pytest.raises(InputError, match="cannot run here"):
        run_job(small_video_file, JobOptions(preset="paper"), tmp_path / "d", AppLimits())
    assert not any((tmp_path / name).exists() for name in "abcd")  # nothing written


def test_preset_status_names_why_network_presets_cannot_run():
    from stereodiff.app.jobs import preset_status

    status = preset_status()
    assert status["cpu"] is None and status["auto"] is None
    assert "weights not downloaded" in status["paper"] or "no GPU" in status["paper"]


def test_a_cancelled_job_stops_at_its_next_step(tmp_path, small_video_file):
    from stereodiff.app.jobs import AppLimits, JobCancelled, JobOptions, run_job

    cancel = threading.Event()
    steps = []

    def on_progress(desc, done, total):
        steps.append(desc)
        if len(steps) == 3:
            cancel.set()

    with pytest.raises(JobCancelled):
        run_job(small_video_file, JobOptions(), tmp_path / "out", AppLimits(), on_progress, cancel)
    assert len(steps) == 3 and not (tmp_path / "out" / "run.json").exists()


def test_app_view_serves_only_its_own_job_folders(tmp_path, small_run):
    pytest.importorskip("gradio", reason="the 'app' extra is not installed")
    import shutil

    from stereodiff.app.ui import StereodiffApp

    app = StereodiffApp(tmp_path / "work")
    job = app.jobs_dir / "abc" / "out"
    shutil.copytree(small_run, job)
    assert app.view(0, True, str(job)).endswith("scene.glb")
    assert app.view(5, False, str(job)).endswith("frame_000005.glb")
    with pytest.raises(InputError, match="no longer available"):
        app.view(0, True, str(small_run))


def test_html_report_is_self_contained(tmp_path):
    from stereodiff.eval.html import write_html_report

    page = write_html_report(
        tmp_path / "r.html",
        "# Title\n\n| a | b |\n|---|---|\n| 1 | <x> |\n",
        title="t",
        images=[("plot", _png(0))],
        config={"seed": 0},
    ).read_text()
    assert "<table>" in page and "&lt;x&gt;" in page and "data:image/png;base64," in page
    assert '"seed": 0' in page and "http" not in page.replace("http-equiv", "")


def test_missing_extra_is_one_line_naming_it(cli, monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "viser", None)  # what a base install without the extra looks like
    status, _, err = cli("view", tmp_path)
    assert status == 2 and "stereodiff[app]" in err and err.count("\n") == 1
