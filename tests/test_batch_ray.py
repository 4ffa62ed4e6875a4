"""``stereodiff batch --engine ray`` on a local Ray cluster (2 CPUs, 127.0.0.1) started and stopped by these tests."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time

import numpy as np
import psutil
import pytest

from stereodiff.batch import run_ray
from stereodiff.config import preset_config
from stereodiff.io.video import write_video
from stereodiff.synth import make_scene

OPTIONS = ["--preset", "cpu", "--stage1-res", "64", "--save", "npz"]


@pytest.fixture(scope="module")
def cluster():
    """A 2-CPU local cluster listening on 127.0.0.1 only (Ray reads the switch when it is imported)."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, logging_level=logging.WARNING)
    assert "node:127.0.0.1" in ray.cluster_resources()
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Three short synthetic videos and one corrupt file."""
    folder = tmp_path_factory.mktemp("videos")
    for k, preset in enumerate(("static-orbit", "close-object", "driving")):
        scene = make_scene(preset, seed=k, num_frames=8, height=48, width=64)
        write_video(folder / f"{preset}.mp4", iter(scene.frames), 30.0)
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    return sorted(str(p) for p in folder.iterdir())


def _summary(out):
    return {row["input"].rsplit("/", 1)[-1]: row for row in map(json.loads, (out / "batch_summary.jsonl").open())}


def _stamps(out, names):
    return {name: [(out / name / f).stat().st_mtime_ns for f in ("run.json", "depth.npz")] for name in names}


def test_ray_batch_failures_rerun_and_same_outputs_as_run(cli, cluster, videos, tmp_path):
    out = tmp_path / "out"
    done = ("static-orbit", "close-object", "driving")
    status, stdout, err = cli("batch", *videos, "-o", out, "--engine", "ray", "--workers", "2", *OPTIONS)
    assert status == 1, err
    assert "3 done, 0 already finished, 1 failed" in stdout and "broken.mp4" in err
    rows = _summary(out)
    assert list(rows) == [v.rsplit("/", 1)[-1] for v in videos]  # one row per input, input order
    assert rows["broken.mp4"]["status"] == "failed" and "cannot read" in rows["broken.mp4"]["error"]
    assert not (out / "broken" / "run.json").exists()
    for name in done:
        row = rows[f"{name}.mp4"]
        assert row["status"] == "done" and row["frames"] == 8 and row["error"] is None
        assert row["timings_s"]["stage1_matching"] > 0 and row["frames_per_s"] > 0
    assert len({rows[f"{name}.mp4"]["worker"] for name in done} | {rows["broken.mp4"]["worker"]}) == 2

    # the same video through `stereodiff run`: the same depth and the same run.json (timings aside)
    status, _, err = cli("run", videos[1], "-o", tmp_path / "single", *OPTIONS)
    assert status == 0, err
    single, batch = (np.load(folder / "depth.npz") for folder in (tmp_path / "single", out / "close-object"))
    np.testing.assert_array_equal(batch["depth"], single["depth"])
    reports = [json.loads((folder / "run.json").read_text()) for folder in (tmp_path / "single", out / "close-object")]
    for report in reports:
        del report["timings_s"], report["frames_per_s"], report["input"]
    assert reports[0] == reports[1]

    # rerun: the finished videos are not touched, the broken one fails again
    before = _stamps(out, done)
    status, stdout, _ = cli("batch", *videos, "-o", out, "--engine", "ray", *OPTIONS)
    assert status == 1 and "0 done, 3 already finished, 1 failed" in stdout
    assert _stamps(out, done) == before
    rows = _summary(out)
    assert [rows[f"{name}.mp4"]["status"] for name in done] == ["skipped"] * 3
    assert rows["static-orbit.mp4"]["frames"] == 8


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    scene = make_scene("static-orbit", seed=3, num_frames=24, height=96, width=128)
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    write_video(path, iter(scene.frames), 30.0)
    return str(path)


def _kill_worker_when(ready) -> int:
    """SIGKILL the Ray worker process running a video as soon as ``ready()``; returns its pid."""
    deadline = time.monotonic() + 30
    while not ready():
        assert time.monotonic() < deadline, "the video never started"
        time.sleep(0.01)
    for child in psutil.Process().children(recursive=True):
        try:
            if "VideoWorker" in " ".join(child.cmdline()):
                child.send_signal(signal.SIGKILL)
                return child.pid
        except psutil.Error:  # a process that ended meanwhile
            continue
    raise AssertionError("no VideoWorker process found")


@pytest.mark.parametrize("retries", [1, 0])
def test_ray_worker_killed_mid_video(cli, cluster, long_video, tmp_path, retries):
    """retries=1: Ray restarts the actor and reruns the video, which resumes from its run cache and gives the
    uninterrupted result; retries=0: the video is reported failed and nothing of it looks finished."""
    out = tmp_path / "out"
    config = preset_config("cpu")
    config.stage1.resolution = 96
    result = {}

    def batch():
        result["value"] = run_ray([long_video], out, config, workers=1, retries=retries, save=("npz",))

    thread = threading.Thread(target=batch)
    thread.start()
    _kill_worker_when(lambda: (out / "long" / ".run" / "frames").is_dir())
    assert not (out / "long" / "run.json").exists()
    thread.join(timeout=300)  # the rerun after the restart: minutes on a loaded 2-core host
    assert not thread.is_alive(), "the batch did not end within 300 s of the kill"
    (row,) = result["value"].rows
    if retries == 0:
        assert row["status"] == "failed" and "worker died" in row["error"]
        assert not (out / "long" / "run.json").exists() and not (out / "long" / "depth.npz").exists()
        return
    assert row["status"] == "done" and row["resumed"], row
    assert not list((out / "long").glob(".*tmp*"))
    status, _, err = cli("run", long_video, "-o", tmp_path / "single", "--preset", "cpu", "--stage1-res", "96",
                         "--save", "npz")  # fmt: skip
    assert status == 0, err
    np.testing.assert_array_equal(
        np.load(out / "long" / "depth.npz")["depth"], np.load(tmp_path / "single" / "depth.npz")["depth"]
    )


def test_ray_bad_usage(cli, cluster, videos, tmp_path, monkeypatch):
    out = tmp_path / "out"
    for extra, message in (
        (["--engine", "ray", "--shard", "0/2"], "--shard is for the local engine"),
        (["--workers", "2"], "--workers needs the Ray engine"),
        (["--engine", "ray", "--workers", "0"], "--workers must be ≥ 1"),
        (["--engine", "ray", "--workers", "3"], "do not fit the cluster's 2 CPUs"),
        (["--engine", "ray", "--device", "cuda"], "--gpus-per-worker"),
        (["--engine", "ray", "-o", "/proc/out"], "cannot write the output folder /proc/out"),
    ):
        status, _, err = cli("batch", videos[0], "-o", out, *extra, *OPTIONS)
        assert status == 2 and err.count("error:") == 1 and message in err.splitlines()[-1], (extra, err)
    assert not out.exists() or not any(out.iterdir())
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed
    status, _, err = cli("batch", videos[0], "-o", out, "--engine", "ray", *OPTIONS)
    assert status == 2 and "pip install 'stereodiff[ray]'" in err
