"""Shared fixtures: seeded RNG, the real data folder (skipped cleanly when absent), the CLI runner, a recorder of
the tensors that reach a model's modules."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from stereodiff.stage1.croco.testing import make_tiny_croco
from stereodiff.types import AlignmentRecord, SceneGeometry

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never download

# ``../shared/data`` beside the checkout, or $STEREODIFF_SHARED_DATA (for checkouts elsewhere, e.g. git worktrees)
SHARED_DATA = Path(os.environ.get("STEREODIFF_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def shared_data() -> Path:
    """The real data folder (``SHARED_DATA``); tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture
def cli(capsys):
    """Run ``stereodiff ARGS`` in-process; returns ``(exit_status, stdout, stderr)``."""
    from stereodiff.cli.main import main

    def run(*args: str) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


@pytest.fixture(scope="session")
def tiny_croco():
    """A session-wide :func:`make_tiny_croco` model (do not modify it in tests)."""
    return make_tiny_croco()


@pytest.fixture(scope="session")
def small_video_file(tmp_path_factory) -> Path:
    """A 16-frame 128×96 synthetic orbit as an mp4."""
    from stereodiff.io.video import write_video
    from stereodiff.synth import make_scene

    scene = make_scene("static-orbit", seed=0, num_frames=16, height=96, width=128)
    path = tmp_path_factory.mktemp("small-video") / "orbit.mp4"
    write_video(path, iter(scene.frames), 30.0)
    return path


@pytest.fixture(scope="session")
def small_run(tmp_path_factory, small_video_file) -> Path:
    """``stereodiff run`` of :func:`small_video_file` (cpu preset) with npz, previews, poses, PLY and GLB."""
    from stereodiff.cli.main import main

    pytest.importorskip("trimesh", reason="the 'app' extra (trimesh) is not installed")
    out = tmp_path_factory.mktemp("small-run") / "run"
    save = "npz,mp4,sbs,poses,ply,glb"
    status = main(["-q", "run", str(small_video_file), "-o", str(out), "--preset", "cpu", "--save", save])
    assert status == 0
    return out


def resident_kib(path: str | Path) -> int:
    """Resident KiB of this process's mappings of the file ``path`` (``/proc/self/smaps``)."""
    name, total, inside = str(Path(path).resolve()), 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if line[:1].isalnum() and "-" in line.split()[0] and ":" not in line.split()[0]:  # a mapping's header
            inside = line.endswith(name)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def assert_same_scene(a: SceneGeometry, b: SceneGeometry) -> None:
    """Every field equal (arrays exactly), the alignment record included."""
    for item in dataclasses.fields(SceneGeometry):
        x, y = getattr(a, item.name), getattr(b, item.name)
        if isinstance(x, AlignmentRecord):
            assert isinstance(y, AlignmentRecord), item.name
            for sub in dataclasses.fields(AlignmentRecord):
                u, v = getattr(x, sub.name), getattr(y, sub.name)
                if isinstance(u, np.ndarray):
                    np.testing.assert_array_equal(u, v, err_msg=sub.name)
                else:
                    assert u == v, (sub.name, u, v)
        elif x is None or y is None:
            assert x is None and y is None, item.name
        else:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y), err_msg=item.name)


@pytest.fixture
def record_inputs():
    """``with record_inputs(name=module, ...) as calls:`` appends one ``(name, inputs)`` per forward call of each
    module, ``inputs`` = ``(shape, sha1 of the bytes)`` of every tensor argument: the batch shapes and the exact
    batch composition (which frames or pairs, in which order) that reached the model, without changing it."""

    def fingerprint(value) -> tuple:
        data = value.detach().float().contiguous().cpu().numpy().tobytes()
        return tuple(value.shape), hashlib.sha1(data).hexdigest()

    @contextmanager
    def record(**modules) -> Iterator[list]:
        import torch

        calls: list = []

        def hook_for(name: str):
            def hook(_module, args, kwargs):
                tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
                calls.append((name, tuple(fingerprint(t) for t in tensors)))

            return hook

        handles = [m.register_forward_pre_hook(hook_for(n), with_kwargs=True) for n, m in modules.items()]
        try:
            yield calls
        finally:
            for handle in handles:
                handle.remove()

    return record
