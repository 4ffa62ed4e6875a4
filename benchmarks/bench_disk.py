"""Disk footprint of a run: the run directory (``OUT/.run``) of the ``cpu`` preset, peak during the run and final.

Renders the ``indoor-dynamic`` scene (as ``bench_pipeline.py``) at each length, runs the real CLI code path
(``runs.run_video`` with ``keep_cache``) in a subprocess, and samples the disk space the run directory holds (blocks
allocated, so sparse files count what is written) every ``--interval`` seconds, per part (``frames``,
``stage1/pairs``, ``stage1/scene``, ``stage2``). Prints MB per frame at the peak and at the end; the slope between
two lengths is what a longer video adds per frame. Writes the ``disk`` section of BENCHMARKS.md unless ``--no-write``.

    python benchmarks/bench_disk.py [--lengths 60 120] [--size 320x240]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import markdown_table, write_section

PARTS = ("frames", "stage1/pairs", "stage1/scene", "stage2")


def allocated_bytes(folder: Path) -> int:
    """Bytes of disk the files under ``folder`` occupy (allocated blocks; files vanishing meanwhile are skipped)."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def usage(run_dir: Path) -> dict[str, int]:
    """Allocated bytes of the run directory (``total``) and of each of its ``PARTS``."""
    sizes = {part: allocated_bytes(run_dir / part) for part in PARTS}
    sizes["total"] = allocated_bytes(run_dir)
    return sizes


def _child(video: str, out: str) -> None:
    from stereodiff.config import preset_config
    from stereodiff.runs import RunRequest, run_video

    request = RunRequest(input=Path(video), output=Path(out), config=preset_config("cpu"), save=("npz",))
    request.keep_cache = True
    report = run_video(request)
    print(json.dumps({"seconds": report["timings_s"]["total"]}))


def measure(video: Path, out: Path, interval: float) -> tuple[dict[str, int], dict[str, int], float]:
    """Run the cpu preset on ``video`` into ``out``: ``(usage at the peak, usage at the end, seconds)``."""
    run_dir = out / ".run"
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", str(video), str(out)], stdout=subprocess.PIPE, text=True
    )
    peak = {"total": 0}
    while child.poll() is None:
        now = usage(run_dir) if run_dir.is_dir() else {"total": 0}
        if now["total"] > peak["total"]:
            peak = now
        time.sleep(interval)
    stdout, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"the run failed (exit {child.returncode})")
    final = usage(run_dir)
    peak = final if final["total"] > peak["total"] else peak
    return peak, final, json.loads(stdout.strip().splitlines()[-1])["seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[60, 120], help="video lengths in frames")
    parser.add_argument("--size", default="320x240", help="frame size WxH (default 320x240)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    parser.add_argument("--no-write", action="store_true", help="print only (no BENCHMARKS.md section)")
    parser.add_argument("--child", nargs=2, metavar=("VIDEO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    from bench_pipeline import _render

    width, height = (int(v) for v in args.size.lower().split("x"))
    mb = 1e6
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_disk_") as tmp:
        for count in args.lengths:
            video = Path(tmp) / f"video{count}.mp4"
            _render(video, count, width, height)
            peak, final, seconds = measure(video, Path(tmp) / f"out{count}", args.interval)
            row = [count, f"{peak['total'] / mb / count:.2f}", f"{final['total'] / mb / count:.2f}"]
            row += [f"{peak[p] / mb / count:.2f} / {final[p] / mb / count:.2f}" for p in PARTS]
            rows.append([*row, f"{seconds:.0f}"])
            print(rows[-1], flush=True)
    header = ["frames", "peak MB/frame", "final MB/frame", *(f"{p} peak / final" for p in PARTS), "run s"]
    table = markdown_table(header, rows)
    print(table)
    if not args.no_write:
        text = (
            f"Run directory (`OUT/.run`, kept with `keep_cache`) of the `cpu` preset on `indoor-dynamic` at "
            f"{args.size}: allocated disk in MB per frame, sampled every {args.interval} s during the run (peak) "
            f"and at its end (final); each part's figures are at the moment of the total's peak / at the end.\n\n"
            + table
        )
        write_section(
            "disk", "Disk footprint of a run", text, "python benchmarks/bench_disk.py " + " ".join(sys.argv[1:])
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
