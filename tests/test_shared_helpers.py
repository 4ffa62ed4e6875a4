"""Helpers the stages share: the bounded thread pool, folders stamped with their settings, weighted median, the
RANSAC triples drawn on arrays."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.io.files import stamped_folder
from stereodiff.progress import thread_imap, thread_map
from stereodiff.robust import (
    _choice_arrays,
    _choice_loop,
    choice_samples,
    choice_triples,
    streamed_median,
    weighted_median,
)


def test_thread_imap_keeps_order_and_bounds_the_work_in_flight():
    lock, started, done, most_ahead = threading.Lock(), [0], [0], [0]

    def work(k: int) -> int:
        with lock:
            started[0] += 1
            most_ahead[0] = max(most_ahead[0], started[0] - done[0])
        time.sleep(0.002 * (k % 3))  # uneven items: later ones may finish first
        with lock:
            done[0] += 1
        return k * k

    results = []
    for value in thread_imap(work, range(40), num_workers=2, ahead=3):
        results.append(value)
        time.sleep(0.001)  # a slow consumer: the pool must not run ahead of it without bound
    assert results == [k * k for k in range(40)]
    assert most_ahead[0] <= 4  # the item waited for + ``ahead``
    assert thread_map(lambda k: -k, [3, 1, 2], 2, "test") == [-3, -1, -2]
    assert thread_map(lambda k: -k, [5], 2, "test") == [-5]


def test_stamped_folder_reuses_refuses_and_starts_fresh(tmp_path):
    folder = tmp_path / "cache"
    created = []
    stamp = {"size": (4, 6), "seed": 0}
    assert not stamped_folder(
        folder, stamp, name="meta.json", what="windows", fix="f", create=lambda: created.append(1)
    )
    (folder / "result.npy").write_bytes(b"x")
    assert stamped_folder(folder, stamp, name="meta.json", what="windows", fix="f", create=lambda: created.append(1))
    assert created == [1] and (folder / "result.npy").exists()  # resumed: nothing recreated
    with pytest.raises(InputError, match=r"holds windows made with other settings \(they differ in: seed\)"):
        stamped_folder(folder, {"size": (4, 6), "seed": 1}, name="meta.json", what="windows", fix="f")
    assert not stamped_folder(folder, {"seed": 1}, name="meta.json", what="windows", fix="f", fresh=True)
    assert not (folder / "result.npy").exists()  # a fresh run starts from an empty folder


def test_stamped_folder_is_not_stamped_when_creation_fails(tmp_path):
    def fail() -> None:
        raise InputError("no space", "free some")

    with pytest.raises(InputError, match="no space"):
        stamped_folder(tmp_path / "c", {"a": 1}, name="stamp.json", what="x", fix="f", create=fail)
    assert not (tmp_path / "c" / "stamp.json").exists()


def test_streamed_median_is_numpys_median_bit_for_bit():
    """Over chunks, odd and even counts, negative values, ties (most values equal: one bin holds them), values
    differing in the last bits only, huge ones; NaN for a NaN or no value."""
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(1, 3000))
        values = (
            rng.normal(size=n),
            rng.choice([0.5, 0.25, -1.0, 3.0], n),
            0.3 + 1e-4 * rng.random(n),
            1e30 * rng.normal(size=n),
        )[trial % 4].astype(np.float32)
        chunks = np.split(values, np.sort(rng.integers(0, n, 3)))
        expected = float(np.median(values))
        assert np.float64(streamed_median(chunks.__iter__)).tobytes() == np.float64(expected).tobytes()
    assert np.isnan(streamed_median(lambda: iter([np.float32([1.0, np.nan])])))
    assert np.isnan(streamed_median(lambda: iter([])))


def test_weighted_median_batched_and_single(rng):
    values, weights = rng.normal(size=(5, 101)), rng.uniform(0.1, 1.0, size=(5, 101))
    for row in range(5):
        order = np.argsort(values[row])
        cumulative = np.cumsum(weights[row][order])
        expected = values[row][order][np.searchsorted(cumulative, 0.5 * cumulative[-1])]
        assert float(weighted_median(values[row], weights[row])) == expected
        assert weighted_median(values, weights)[row] == expected
    assert float(weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 1.0, 5.0]))) == 10.0


@pytest.mark.parametrize("n", [3, 4, 30, 100, 400, 3999, 4000, 70_000])
@pytest.mark.parametrize("before", ["fresh", "odd word kept back", "choice of many"])
@pytest.mark.parametrize("k", [2, 3])
def test_choice_samples_is_the_loop_of_choice_calls_bit_for_bit(k, n, before):
    """The movers' ground RANSAC (triples, :func:`choice_triples`) and the rolling-shutter screen's track pairs
    (``angular_acceleration``) rely on it: the same samples, and the generator left in the same state."""
    draw = choice_triples if k == 3 else (lambda rng, n, count: choice_samples(rng, n, 2, count))
    for seed in range(12):
        reference, fast = np.random.default_rng(seed), np.random.default_rng(seed)
        for rng in (reference, fast):
            if before == "odd word kept back":
                rng.integers(2**31)
            elif before == "choice of many":
                rng.choice(50_000, 1_500, replace=False)
        expected = np.stack([reference.choice(n, k, replace=False) for _ in range(200)])
        got = draw(fast, n, 200)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
        assert fast.bit_generator.state == reference.bit_generator.state
    assert _choice_arrays(np.random.default_rng(0), 100, 200, k) is not None  # the arrays ran, not the fallback
    with pytest.raises(ValueError, match="2 or 3"):
        choice_samples(np.random.default_rng(0), 30, 4, 10)


def test_choice_triples_falls_back_to_the_loop_for_other_generators():
    reference, other = np.random.Generator(np.random.MT19937(5)), np.random.Generator(np.random.MT19937(5))
    assert _choice_arrays(np.random.Generator(np.random.MT19937(5)), 100, 10) is None
    assert np.array_equal(choice_triples(other, 100, 10), _choice_loop(reference, 100, 10))


def test_import_in_background_imports_what_is_missing_on_a_thread_and_leaves_failures_to_the_caller():
    """``stereodiff.lazy.import_in_background`` (the matcher imports scipy.sparse.csgraph that way while its
    probes run): the missing modules are imported on a daemon thread, a module already imported starts no thread,
    and a module that cannot be imported ends the thread quietly (the caller's own import raises it)."""
    import sys

    from stereodiff.lazy import import_in_background

    sys.modules.pop("colorsys", None)
    thread = import_in_background("colorsys", "stereodiff_no_such_module")
    assert thread is not None and thread.daemon
    thread.join(10)
    assert not thread.is_alive() and "colorsys" in sys.modules and "stereodiff_no_such_module" not in sys.modules
    assert import_in_background("numpy", "colorsys") is None
    with pytest.raises(ImportError):
        import stereodiff_no_such_module  # noqa: F401


def test_progress_imports_tqdm_only_where_a_bar_would_show():
    """Without a tty on stderr (and outside Jupyter) tqdm's ``disable=None`` shows no bar, so ``progress`` does not
    import tqdm (~50 ms of CPU on the calling thread); with a tty it wraps the loop in tqdm as before. Either way
    every item comes through and the listeners hear every step."""
    code = (
        "import io, sys\n"
        "from stereodiff.progress import progress, progress_listener\n"
        "class Tty(io.StringIO):\n"
        "    def isatty(self):\n"
        "        return True\n"
        "heard = []\n"
        "sys.stderr = io.StringIO()\n"
        "with progress_listener(lambda desc, done, total: heard.append(done)):\n"
        "    items = list(progress(range(3), 'quiet'))\n"
        "print(items, heard, 'tqdm' in sys.modules)\n"
        "sys.stderr = Tty()\n"
        "print(list(progress(range(3), 'shown')), 'tqdm' in sys.modules, 'shown' in sys.stderr.getvalue())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[0, 1, 2] [0, 1, 2, 3] False", "[0, 1, 2] True True"]
