import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.stage1.cache import PairCache
from stereodiff.stage1.pairs import make_pairs

SRC = Path(__file__).resolve().parent.parent / "src"


def _as_set(pairs):
    return {tuple(p) for p in pairs.tolist()}


def test_swin2_noncyclic_matches_stereodiff_graph():
    pairs = make_pairs(110)
    assert pairs.shape == (434, 2) and pairs.dtype == np.int64
    forward, backward = pairs[:217], pairs[217:]
    np.testing.assert_array_equal(backward, forward[:, ::-1])  # pair k and k + P/2 are one edge
    assert _as_set(forward) == {(i, i + d) for i in range(110) for d in (1, 2) if i + d < 110}
    # official order: the iteration order of the set of (min, max) tuples built frame by frame
    official = set()
    for i in range(110):
        for d in (1, 2):
            if i + d < 110:
                official.add((i, i + d))
    assert [tuple(p) for p in forward.tolist()] == list(official)


def test_cyclic_strided_log_oneref_complete():
    cyclic = {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4), (3, 5), (4, 5), (0, 4), (0, 5), (1, 5)}
    assert _as_set(make_pairs(6, "swin-2", symmetrize=False)) == cyclic
    assert _as_set(make_pairs(8, "swinstride-2-noncyclic", symmetrize=False)) == {
        (i, i + d) for i in range(8) for d in (1, 3) if i + d < 8
    }
    assert _as_set(make_pairs(9, "logwin-3-noncyclic", symmetrize=False)) == {
        (i, i + d) for i in range(9) for d in (1, 2, 4) if i + d < 9
    }
    assert len(make_pairs(9, "logwin-3")) == 2 * 27
    np.testing.assert_array_equal(make_pairs(4, "oneref-2", symmetrize=False), [[2, 0], [2, 1], [2, 3]])
    np.testing.assert_array_equal(make_pairs(3, "complete"), [[1, 0], [2, 0], [2, 1], [0, 1], [0, 2], [1, 2]])
    assert make_pairs(1).shape == (0, 2)
    np.testing.assert_array_equal(make_pairs(2), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("num_frames", "scheme", "match"),
    [
        (3, "swin-3", "wraps onto the frame itself"),
        (3, "swinstride-2", "wraps"),
        (3, "oneref-3", "reference frame"),
        (5, "swin-0-noncyclic", "window N must be"),
        (5, "swin", "unknown pair scheme"),
        (5, "sliding-2", "unknown pair scheme"),
        (0, "complete", "num_frames"),
    ],
)
def test_make_pairs_errors(num_frames, scheme, match):
    with pytest.raises(ValueError, match=match):
        make_pairs(num_frames, scheme)


def _rows(rng, n, h=3, w=4):
    return (
        rng.normal(size=(n, h, w, 3)).astype(np.float32),
        rng.normal(size=(n, h, w, 3)).astype(np.float32),
        rng.uniform(1, 5, size=(n, h, w)).astype(np.float32),
        rng.uniform(1, 5, size=(n, h, w)).astype(np.float32),
    )


def test_cache_write_resume_and_predictions(tmp_path, rng):
    pairs = make_pairs(3)
    cache = PairCache.open(tmp_path / "c", pairs, (3, 4), 4)
    assert cache.size == (3, 4)
    np.testing.assert_array_equal(cache.missing(), np.arange(6))
    rows = _rows(rng, 6)
    cache.write(np.array([0, 2]), *(r[[0, 2]] for r in rows))
    cache.write(5, *(r[5] for r in rows))
    with pytest.raises(InputError, match="3 of 6 pairs are missing"):
        cache.predictions()
    again = PairCache.open(tmp_path / "c", pairs, (3, 4), 4)
    np.testing.assert_array_equal(again.missing(), [1, 3, 4])
    again.write(np.array([1, 3]), *(r[[1, 3]] for r in rows))
    strided = [np.asfortranarray(r[4]) for r in rows]  # not C-contiguous (and float64 for the points)
    again.write(4, strided[0].astype(np.float64), *strided[1:])
    preds = again.predictions()
    assert isinstance(preds.pts_i, np.memmap) and not preds.pts_i.flags.writeable
    assert preds.num_frames == 4
    for got, want in zip((preds.pts_i, preds.pts_j, preds.conf_i, preds.conf_j), rows):
        np.testing.assert_array_equal(got, want)


def test_cache_rejects_other_pairs_size_and_bad_rows(tmp_path, rng):
    pairs = make_pairs(4)[[0, 1, 2, 5, 6, 7]]
    cache = PairCache.open(tmp_path, pairs, (3, 4), 4)
    with pytest.raises(InputError, match="differ in: pairs"):
        PairCache.open(tmp_path, make_pairs(5), (3, 4), 5)
    with pytest.raises(InputError, match="another pointmap size"):
        PairCache.open(tmp_path, pairs, (3, 5), 4)
    with pytest.raises(ValueError, match="pairs must index frames"):
        PairCache.open(tmp_path / "x", pairs, (3, 4), 2)
    rows = _rows(rng, 1, 3, 5)
    with pytest.raises(ValueError, match="pts_i must have shape"):
        cache.write(0, *(r[0] for r in rows))
    with pytest.raises(ValueError, match="index must lie"):
        cache.write(6, *(r[0] for r in _rows(rng, 1)))
    assert len(cache.missing()) == 6


def test_cache_survives_kill_9(tmp_path, rng):
    folder = tmp_path / "cache"
    script = f"""
import os, signal, numpy as np
from stereodiff.stage1.cache import PairCache
from stereodiff.stage1.pairs import make_pairs
cache = PairCache.open({str(folder)!r}, make_pairs(5), (6, 7), 5, sync_every=2)
rng = np.random.default_rng(1)
for p in range(len(cache.pairs)):
    rows = [rng.normal(size=s).astype(np.float32) for s in [(6, 7, 3), (6, 7, 3), (6, 7), (6, 7)]]
    if p == 5:  # pairs 0-3 are committed (two batches of 2), pair 4 is written but not marked done
        os.kill(os.getpid(), signal.SIGKILL)
    cache.write(p, *rows)
"""
    env = dict(os.environ, PYTHONPATH=str(SRC))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert result.returncode == -signal.SIGKILL
    cache = PairCache.open(folder, make_pairs(5), (6, 7), 5)
    np.testing.assert_array_equal(cache.missing(), np.arange(4, 14))
    rng1 = np.random.default_rng(1)
    for p in range(4):
        want = [rng1.normal(size=s).astype(np.float32) for s in [(6, 7, 3), (6, 7, 3), (6, 7), (6, 7)]]
        for name, value in zip(("pts_i", "pts_j", "conf_i", "conf_j"), want):
            np.testing.assert_array_equal(np.load(folder / f"{name}.npy", mmap_mode="r")[p], value)


def test_half_created_cache_is_recreated(tmp_path):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "pts_i.npy").write_bytes(b"garbage")  # killed while creating: no pairs.json yet
    cache = PairCache.open(folder, make_pairs(3), (2, 2), 3)
    assert len(cache.missing()) == 6


def test_pair_cache_refuses_to_start_without_disk_space(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    from stereodiff.errors import InputError
    from stereodiff.stage1.cache import PairCache
    from stereodiff.stage1.pairs import make_pairs

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(InputError, match=r"needs .* GiB of disk but only 0\.0 GiB is free"):
        PairCache.open(tmp_path / "cache", make_pairs(4), (8, 8), 4)
    assert not (tmp_path / "cache" / "pairs.json").exists()
