"""Weight resolution against a real Hugging Face cache layout built in tmp_path (no network)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from stereodiff.cli.weights import check_safetensors
from stereodiff.errors import InputError
from stereodiff.weights import MODELS, find_snapshot, resolve_snapshot


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def _populate(cache, repo_id, files, revision="0123456789abcdef0123456789abcdef01234567"):
    """Write a snapshot exactly as huggingface_hub lays it out: refs/main + snapshots/<rev>/<files>."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(revision)
    snap = repo_dir / "snapshots" / revision
    for rel, writer in files.items():
        target = snap / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        writer(target)
    return snap


def test_local_path_is_returned_as_is(tmp_path):
    assert resolve_snapshot(tmp_path) == tmp_path


def test_cached_known_model_is_found(hf_cache):
    tensors = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    snap = _populate(
        hf_cache,
        MODELS["monst3r"].repo_id,
        {
            "config.json": lambda p: p.write_text(json.dumps({"conf_mode": ["exp", 1, float("inf")]})),
            "model.safetensors": lambda p: save_file(tensors, str(p)),
        },
    )
    assert find_snapshot("monst3r") == snap
    assert resolve_snapshot("monst3r") == snap
    assert check_safetensors(snap / "model.safetensors") == 1


def test_incomplete_cache_counts_as_missing(hf_cache):
    _populate(hf_cache, MODELS["dust3r"].repo_id, {"config.json": lambda p: p.write_text("{}")})
    assert find_snapshot("dust3r") is None
    with pytest.raises(InputError, match=r"naver/DUSt3R.*HF_HUB_OFFLINE.*stereodiff weights download dust3r"):
        resolve_snapshot("dust3r")


def test_unknown_name_is_a_clear_error(hf_cache):
    with pytest.raises(InputError, match="neither an existing path nor a known model name"):
        resolve_snapshot("no-such-model")


def test_truncated_safetensors_is_detected(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"w": np.ones((64, 64), np.float32)}, str(path))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated"):
        check_safetensors(path)


def test_cli_offline_missing_weights_is_one_line(hf_cache, cli):
    status, out, err = cli("weights", "verify", "monst3r")
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("stereodiff: error: weights Junyi42/MonST3R")
    status, out, _ = cli("weights", "list")
    assert status == 0 and "non-commercial" in out and "not downloaded" in out


def test_cli_subprocess_offline_error(hf_cache, tmp_path):
    env = {"HF_HUB_CACHE": str(hf_cache), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "stereodiff", "weights", "verify", "depthcrafter"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "tencent/DepthCrafter" in result.stderr
    assert "Traceback" not in result.stderr
