"""Freed and memory-mapped arrays leave the resident set (stereodiff.io.pages)."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "glibc" not in " ".join(platform.libc_ver()), reason="glibc's malloc only"
)

# the start of each script below, run in a fresh process (a heap of its own)
_PRELUDE = textwrap.dedent(
    """
    import sys
    import numpy as np
    from stereodiff.io.pages import bound_heap, trim_heap

    def anon_kib():
        for line in open("/proc/self/status"):
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    """
)

# frees a 12 MB array twice and prints how much of the second stayed resident
_SECOND_FREE = textwrap.dedent(
    """
    if sys.argv[1] == "bound":
        assert bound_heap()
    first = np.ones(12 * 2**20, np.uint8)  # its own mapping; freeing it raises glibc's thresholds (default)
    del first
    before = anon_kib()
    second = np.ones(12 * 2**20, np.uint8)  # by default from the heap now, and kept there when freed
    del second
    print(anon_kib() - before)
    """
)

# frees a 12 MB array below live objects and prints how much of it stayed resident
_BETWEEN_LIVE = textwrap.dedent(
    """
    assert bound_heap()
    before = anon_kib()
    freed = np.ones(12 * 2**20, np.uint8)
    pinned = [bytearray(200_000) for _ in range(3)]  # live objects above it: not at the heap's top
    del freed
    if sys.argv[1] == "trim":
        trim_heap()
    print(anon_kib() - before)
    """
)


def _kept_kib(script: str, mode: str) -> int:
    """KiB of anonymous memory the ``script`` (after :data:`_PRELUDE`) reports kept, run with argument ``mode``."""
    command = [sys.executable, "-c", _PRELUDE + script, mode]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip())


def test_bound_heap_returns_a_freed_block_sized_array_to_the_system():
    """glibc's default keeps a freed 12 MB array resident once it has freed one such array (the movers' and stage
    2's block- and window-sized arrays: the process grew block after block); with the pipeline's fixed thresholds
    it goes back to the system."""
    assert _kept_kib(_SECOND_FREE, "default") > 10 * 1024  # the old behaviour: all 12 MB kept
    assert _kept_kib(_SECOND_FREE, "bound") < 1024


def test_trim_heap_returns_freed_memory_between_live_objects():
    """A freed 12 MB array below live objects stays resident whatever the thresholds (what still grew stage 2's
    windows); ``trim_heap``, called between blocks and windows, returns it."""
    assert _kept_kib(_BETWEEN_LIVE, "keep") > 10 * 1024
    assert _kept_kib(_BETWEEN_LIVE, "trim") < 2 * 1024
