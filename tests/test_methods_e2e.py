"""Every method on one synthetic video through the CLI, with tiny random models found in a Hugging Face cache
laid out as the hub does (offline), then ``stereodiff eval`` and ``stereodiff analyze`` comparing them.

The methods: StereoDiff (``paper``: MonST3R + DepthCrafter refiner), DepthCrafter alone, MonST3R alone,
RollingDepth alone, DVD alone, the weights-free ``cpu`` preset, and MonST3R + RollingDepth's refinement.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import make_tiny_croco
from stereodiff.io.depth import load_depth_video
from stereodiff.io.video import write_video

pytest.importorskip("torch")

REVISION = "0123456789abcdef0123456789abcdef01234567"


def _cache_snapshot(cache, repo_id, source):
    """Copy ``source`` into ``cache`` as huggingface_hub lays out a snapshot (refs/main + snapshots/<rev>)."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(REVISION)
    shutil.copytree(source, repo_dir / "snapshots" / REVISION)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(hub cache with tiny RollingDepth / DepthCrafter / SVD-xt / DVD / Wan2.1, MonST3R folder, video, dataset
    root)."""
    from stereodiff.stage1.croco.loading import save_croco_stereo
    from stereodiff.stage2.depthcrafter.testing import save_tiny_depthcrafter
    from stereodiff.stage2.dvd.testing import save_tiny_dvd, save_tiny_wan
    from stereodiff.stage2.rollingdepth.testing import save_tiny_rollingdepth
    from stereodiff.synth import make_scene, write_synthetic_dataset
    from stereodiff.weights import MODELS

    folder = tmp_path_factory.mktemp("methods")
    cache = folder / "hub"
    _cache_snapshot(cache, MODELS["rollingdepth"].repo_id, save_tiny_rollingdepth(folder / "rd"))
    unet, base = save_tiny_depthcrafter(folder / "dc")
    _cache_snapshot(cache, MODELS["depthcrafter"].repo_id, unet)
    _cache_snapshot(cache, MODELS["svd-xt"].repo_id, base)
    _cache_snapshot(cache, MODELS["dvd"].repo_id, save_tiny_dvd(folder / "dvd"))
    _cache_snapshot(cache, MODELS["wan2.1-t2v-1.3b"].repo_id, save_tiny_wan(folder / "wan"))
    save_croco_stereo(make_tiny_croco(), folder / "monst3r")
    scene = make_scene("indoor-dynamic", seed=3, num_frames=10, height=48, width=64)
    write_synthetic_dataset(scene, folder / "data" / "scene_a")
    video = folder / "scene_a.mp4"
    write_video(video, iter(scene.frames), 30.0)
    return cache, folder / "monst3r", video, folder / "data"


METHODS = {
    "stereodiff": ["--preset", "paper", "--stage1-res", "64"],
    "depthcrafter": ["--preset", "paper", "--stage1", "none", "--stage2", "depthcrafter-full"],
    "monst3r": ["--preset", "paper", "--stage2", "none", "--stage1-res", "64"],
    "rollingdepth": ["--preset", "paper", "--stage1", "none", "--stage2", "rollingdepth",
                     "--set", "stage2.resolution=64", "--set", "stage2.coalign_iterations=50"],
    "dvd": ["--preset", "paper", "--stage1", "none", "--stage2", "dvd", "--set", "stage2.height=32",
            "--set", "stage2.width=48", "--set", "stage2.window=9", "--set", "stage2.overlap=3"],
    "cpu": ["--preset", "cpu", "--stage1-res", "64"],
    "stereodiff+rollingdepth": ["--preset", "paper", "--stage1-res", "64", "--stage2", "rollingdepth-refiner",
                                "--set", "stage2.resolution=64", "--set", "stage2.refine_step=2"],
}  # fmt: skip


def test_all_methods_run_and_compare_on_one_video(cli, setup, tmp_path, monkeypatch):
    cache, monst3r, video, data = setup
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    preds = tmp_path / "preds"
    for name, args in METHODS.items():
        extra = ["--stage1-weights", str(monst3r)] if "--stage1" not in args and "cpu" not in args else []
        status, _, err = cli("run", video, "-o", tmp_path / name, "--save", "npz", *args, *extra)
        assert status == 0, (name, err)
        result = load_depth_video(tmp_path / name / "depth.npz")
        values = result.disparity if result.disparity is not None else result.depth
        assert values.shape == (10, 48, 64) and np.isfinite(values).all(), name
        (preds / name).mkdir(parents=True)
        shutil.copy(tmp_path / name / "depth.npz", preds / name / "scene_a.npz")
    for name in ("rollingdepth", "dvd"):
        run = json.loads((tmp_path / name / "run.json").read_text())
        assert run["config"]["stage2"]["backend"] == name and run["config"]["stage1"]["backend"] == "none"
        assert load_depth_video(tmp_path / name / "depth.npz").disparity is not None  # inverse depth
    assert json.loads((tmp_path / "dvd" / "run.json").read_text())["config"]["stage2"]["window"] == 9

    for name in METHODS:  # one protocol for all: the same evaluation of each method's folder
        status, _, err = cli("eval", "--dataset", "synthetic", "--root", data, "--pred", preds / name)
        assert status == 0, (name, err)
        results = json.loads(next((preds / name).glob("eval_synthetic_*/results.json")).read_text())
        assert 0 <= results["summary"]["abs_rel"] < 10, name

    status, out, err = cli(
        "analyze", *(preds / n / "scene_a.npz" for n in METHODS), "--gt", data / "scene_a",
        "--labels", *METHODS, "--out", tmp_path / "analysis",
    )  # fmt: skip
    assert status == 0, err
    report = json.loads((tmp_path / "analysis" / "analysis.json").read_text())
    assert list(report["methods"]) == list(METHODS)
    for name in METHODS:
        assert len(report["methods"][name]["bands"]["abs_rel"]) == 11, name
    assert "| rollingdepth |" in out and "| dvd |" in out


BAD_OPTIONS = {
    "rollingdepth": [
        (["--set", "stage2.preset=slow"], "preset='slow' must be one of"),
        (["--set", "stage2.window=3"], "has no setting 'window'"),
        (["--set", "stage2.dilations=2,5"], "must include 1"),
        (["--set", "stage2.checkpoint=nobody/nothing"], "HF_HUB_OFFLINE"),
    ],
    "dvd": [
        (["--set", "stage2.overlap=81"], "must be ≥ 0 and < window"),
        (["--set", "stage2.preset=fast"], "has no setting 'preset'"),
        (["--set", "stage2.base=nobody/nothing"], "HF_HUB_OFFLINE"),
        (["--set", "stage2.weights=dvd_1.1.safetensors"], "has no dvd_1.1.safetensors"),
    ],
}


@pytest.mark.parametrize("backend", list(BAD_OPTIONS))
def test_bad_options_are_one_line(cli, setup, tmp_path, monkeypatch, backend):
    cache, _, video, _ = setup
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    base = ["run", video, "-o", tmp_path / "out", "--stage1", "none", "--stage2", backend]
    for extra, message in BAD_OPTIONS[backend]:
        status, _, err = cli(*base, *extra)
        assert status == 2 and message in err and "Traceback" not in err, (extra, err)
