"""Freed and memory-mapped arrays leave the resident set (stereodiff.io.pages)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# a fresh process (a heap of its own): frees a 12 MB array twice and prints how much of the second stayed resident
_SECOND_FREE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from stereodiff.io.pages import bound_heap

    if sys.argv[1] == "bound":
        assert bound_heap()

    def anon_kib():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1])

    first = np.ones(12 * 2**20, np.uint8)  # its own mapping; freeing it raises glibc's thresholds (default)
    del first
    before = anon_kib()
    second = np.ones(12 * 2**20, np.uint8)  # by default from the heap now, and kept there when freed
    del second
    print(anon_kib() - before)
    """
)


def _kept_kib(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", _SECOND_FREE, mode], capture_output=True, text=True, check=True)
    return int(result.stdout.strip())


def test_bound_heap_returns_a_freed_block_sized_array_to_the_system():
    """glibc's default keeps a freed 12 MB array resident once it has freed one such array (the movers' and stage
    2's block- and window-sized arrays: the process grew block after block); with the pipeline's fixed thresholds
    it goes back to the system."""
    if not sys.platform.startswith("linux") or "glibc" not in " ".join(__import__("platform").libc_ver()):
        pytest.skip("glibc's malloc only")
    assert _kept_kib("default") > 10 * 1024  # the old behaviour: all 12 MB kept
    assert _kept_kib("bound") < 1024


_BETWEEN_LIVE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from stereodiff.io.pages import bound_heap, trim_heap

    assert bound_heap()

    def anon_kib():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1])

    before = anon_kib()
    freed = np.ones(12 * 2**20, np.uint8)
    pinned = [bytearray(200_000) for _ in range(3)]  # live objects above it: not at the heap's top
    del freed
    if sys.argv[1] == "trim":
        trim_heap()
    print(anon_kib() - before)
    """
)


def test_trim_heap_returns_freed_memory_between_live_objects():
    """A freed 12 MB array below live objects stays resident whatever the thresholds (what still grew stage 2's
    windows); ``trim_heap``, called between blocks and windows, returns it."""
    if not sys.platform.startswith("linux") or "glibc" not in " ".join(__import__("platform").libc_ver()):
        pytest.skip("glibc's malloc only")

    def kept_kib(mode: str) -> int:
        result = subprocess.run([sys.executable, "-c", _BETWEEN_LIVE, mode], capture_output=True, text=True, check=True)
        return int(result.stdout.strip())

    assert kept_kib("keep") > 10 * 1024
    assert kept_kib("trim") < 2 * 1024
