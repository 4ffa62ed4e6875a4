"""``stereodiff batch``: deterministic shards, finished inputs skipped, a failing input reported at the end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from stereodiff.batch import expand_inputs, output_names, parse_shard, shard_inputs
from stereodiff.errors import InputError
from stereodiff.io.video import write_video
from stereodiff.synth import make_scene


def test_shards_cover_every_input_once(tmp_path):
    names = [str(tmp_path / f"v{k}.mp4") for k in range(7)]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(["# videos", *(f"v{k}.mp4" for k in range(7, 9))]) + "\n")
    inputs = expand_inputs([*reversed(names), str(listing)])
    assert inputs == sorted(inputs) and len(inputs) == 9
    shards = [shard_inputs(inputs[::-1], i, 3) for i in range(3)]  # independent of the given order
    assert sorted(x for shard in shards for x in shard) == inputs and all(len(s) == 3 for s in shards)
    assert shard_inputs(inputs, 1, 3) == [inputs[1], inputs[4], inputs[7]]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "-1/2", "a/b", "1"):
        with pytest.raises(InputError):
            parse_shard(bad)
    clash = output_names(["x/a/clip.mp4", "x/b/clip.mp4", "c/clip.png", "y/b/clip.mkv", "other.mp4"])
    assert clash == {"x/a/clip.mp4": "x_a_clip", "x/b/clip.mp4": "x_b_clip", "c/clip.png": "c_clip",
                     "y/b/clip.mkv": "y_b_clip", "other.mp4": "other"}  # fmt: skip
    assert output_names(list(reversed(clash))) == clash  # independent of the order
    hashed = output_names(["a_b/clip.mp4", "a/b_clip.mp4", "b_clip.mp4", "a/b/clip.mp4"])
    assert len(set(hashed.values())) == 4  # every joined name collides: a hash of the path makes them distinct
    assert hashed == output_names(sorted(hashed)) and hashed["a/b/clip.mp4"].startswith("b_clip_")


@pytest.fixture(scope="module")
def two_videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    for k, preset in enumerate(("static-orbit", "close-object")):
        scene = make_scene(preset, seed=k, num_frames=8, height=48, width=64)
        write_video(folder / f"{preset}.mp4", iter(scene.frames), 30.0)
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    return folder


def test_batch_skips_finished_and_reports_failures(cli, two_videos, tmp_path):
    out = tmp_path / "out"
    args = ["batch", *sorted(map(str, two_videos.iterdir())), "-o", str(out), "--preset", "cpu", "--stage1-res", "64",
            "--save", "npz"]  # fmt: skip
    status, stdout, err = cli(*args)
    assert status == 1  # the broken input failed, the others were done
    assert "2 done, 0 already finished, 1 failed" in stdout and "broken.mp4" in err
    for name in ("static-orbit", "close-object"):
        report = json.loads((out / name / "run.json").read_text())
        assert report["status"] == "done" and report["num_frames"] == 8
    before = np.load(out / "static-orbit" / "depth.npz")["depth"].copy()
    rows = [json.loads(line) for line in (out / "batch_summary.jsonl").read_text().splitlines()]
    assert [(Path(r["input"]).name, r["status"]) for r in rows] == [
        ("broken.mp4", "failed"), ("close-object.mp4", "done"), ("static-orbit.mp4", "done")]  # fmt: skip
    status, stdout, _ = cli(*args[:-2], "--save", "npz", "--shard", "0/1")
    assert status == 1 and "0 done, 2 already finished, 1 failed" in stdout
    np.testing.assert_array_equal(np.load(out / "static-orbit" / "depth.npz")["depth"], before)
    status, _, _ = cli(*args, "--shard", "1/2")  # the second of two shards: its own summary file
    assert status == 0 and (out / "batch_summary.shard-1-of-2.jsonl").is_file()


def test_batch_never_skips_the_outputs_of_another_input(cli, two_videos, tmp_path):
    out = tmp_path / "out"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "static-orbit.mp4").write_bytes((two_videos / "static-orbit.mp4").read_bytes())
    options = ["-o", str(out), "--preset", "cpu", "--stage1-res", "64", "--save", "npz"]
    assert cli("batch", str(two_videos / "static-orbit.mp4"), *options)[0] == 0
    status, _, err = cli("batch", str(elsewhere / "static-orbit.mp4"), *options)
    assert status == 1 and "holds the outputs of another input" in err
