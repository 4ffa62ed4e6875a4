"""Shared helpers of the benchmark scripts: machine info, peak memory, and BENCHMARKS.md sections.

Each script measures one concern, prints a Markdown table and replaces its own section of ``BENCHMARKS.md``
(between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``), so sections can be rerun one at a time.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import resource
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"
SHARED_DATA = Path(os.environ.get("STEREODIFF_SHARED_DATA", ROOT.parent / "shared" / "data"))  # or the env variable


def machine_info() -> str:
    """One Markdown line: CPU model, cores, RAM, versions, date."""
    import numpy
    import psutil

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [
        cpu,
        f"{os.cpu_count()} cores",
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM",
        f"Python {platform.python_version()}",
        f"numpy {numpy.__version__}",
    ]
    if "torch" in sys.modules:
        parts.append(f"torch {sys.modules['torch'].__version__}")
    parts.append(f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}")
    parts.append(datetime.date.today().isoformat())
    return ", ".join(parts)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: ``VmHWM`` of ``/proc/self/status``, which starts afresh at ``exec``. (``ru_maxrss`` does not: a
    subprocess inherits its parent's peak at fork time, which hides a small child's own peak.) Elsewhere:
    ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024


class ResidentPeaks:
    """Peak anonymous and file-backed resident memory of this process while the ``with`` block runs, in MiB.

    ``VmHWM`` (:func:`peak_rss_mib`) counts both kinds: the anonymous memory (heap, arrays) the process holds, and
    the file pages it has mapped and touched (shared libraries, the run directory's memory-mapped arrays), which the
    kernel keeps while memory is free and drops under pressure. A thread reads ``RssAnon`` and ``RssFile`` of
    ``/proc/self/status`` every ``interval`` seconds (Linux; NaN elsewhere), so a spike shorter than that can be
    missed: the peaks are lower bounds, and each may come from a different moment than ``VmHWM``.
    """

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.anon_mib = self.file_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="resident peaks", daemon=True)

    def __enter__(self) -> ResidentPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            anon, file = _resident_kib()
            if anon is None or file is None:  # not Linux
                self.anon_mib = self.file_mib = float("nan")
                return
            self.anon_mib, self.file_mib = max(self.anon_mib, anon / 1024), max(self.file_mib, file / 1024)
            if self._stop.wait(self.interval):
                return


def _resident_kib() -> tuple[int | None, int | None]:
    """``RssAnon`` and ``RssFile`` of ``/proc/self/status`` in KiB (None where not available)."""
    values: dict[str, int] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key = line.split(":", 1)[0]
            if key in ("RssAnon", "RssFile"):
                values[key] = int(line.split()[1])
    except OSError:
        pass
    return values.get("RssAnon"), values.get("RssFile")


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A Markdown table; floats are printed with 4 significant digits."""

    def cell(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, title: str, body: str, command: str) -> None:
    """Replace (or append) section ``name`` of BENCHMARKS.md with ``body``, the command and machine info."""
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else "# Benchmarks\n\nGenerated by `make bench`.\n"
    section = (
        f"<!-- begin {name} -->\n## {title}\n\nCommand: `{command}`  \nMachine: {machine_info()}\n\n"
        f"{body.strip()}\n<!-- end {name} -->"
    )
    pattern = re.compile(rf"<!-- begin {re.escape(name)} -->.*?<!-- end {re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    tmp = BENCHMARKS_MD.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(BENCHMARKS_MD)


README_MD = ROOT / "README.md"


def set_headline(name: str, text: str) -> None:
    """Put one bullet ``text`` (tagged ``name``) in the README's results block, replacing the previous one."""
    readme = README_MD.read_text()
    begin, end = "<!-- begin results -->\n", "<!-- end results -->"
    if begin not in readme or end not in readme:
        return
    head, rest = readme.split(begin, 1)
    block, tail = rest.split(end, 1)
    tag = f"<!-- {name} -->"
    lines = [line for line in block.splitlines() if line and not line.endswith(tag)]
    lines.append(f"- {text} {tag}")
    lines.sort(key=lambda line: line.rsplit("<!--", 1)[-1])
    tmp = README_MD.with_suffix(".md.tmp")
    tmp.write_text(head + begin + "\n".join(lines) + "\n" + end + tail)
    tmp.replace(README_MD)
