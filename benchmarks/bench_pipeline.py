"""End to end: the ``cpu`` preset through ``stereodiff run`` on short and long synthetic videos.

Renders the ``indoor-dynamic`` scene streamed into an H.264 file (300 and 3,000 frames at 256×192; ``--quick``:
60 and 300), then runs the real CLI path (``runs.run_video``: decode → stage 1 → alignment → stage 2 → export) in
a fresh subprocess per length, and prints frames/s per stage and the peak RSS of each run. Memory must not grow
with the number of frames. Writes the ``pipeline`` section of BENCHMARKS.md.

    python benchmarks/bench_pipeline.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import markdown_table, peak_rss_mib, write_section

HEIGHT, WIDTH = 192, 256


def _render(path: Path, num_frames: int) -> None:
    from stereodiff.io.video import write_video
    from stereodiff.synth import build_scene
    from stereodiff.synth.scene import iter_frames

    scene = build_scene("indoor-dynamic", seed=0, duration_s=num_frames / 30.0)
    frames = (f.rgb for f in iter_frames(scene, num_frames=num_frames, height=HEIGHT, width=WIDTH))
    write_video(path, frames, 30.0, total=num_frames)


def _child(video: str, out: str) -> None:
    from stereodiff.config import preset_config
    from stereodiff.runs import RunRequest, run_video

    request = RunRequest(input=Path(video), output=Path(out), config=preset_config("cpu"), save=("npz", "mp4"))
    report = run_video(request)
    print(json.dumps({"report": report, "peak_rss_mib": peak_rss_mib()}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 and 300 frames instead of 300 and 3,000")
    parser.add_argument("--child", nargs=2, metavar=("VIDEO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    lengths = (60, 300) if args.quick else (300, 3000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in lengths:
            video = Path(tmp) / f"scene_{count}.mp4"
            _render(video, count)
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(video), str(Path(tmp) / f"out_{count}")],
                capture_output=True,
                text=True,
                check=True,
            )
            data = json.loads(result.stdout.strip().splitlines()[-1])
            timings = data["report"]["timings_s"]

            def fps(key: str, count: int = count, timings: dict = timings) -> float:
                return count / timings[key] if timings.get(key) else float("nan")

            rows.append(
                [
                    count,
                    f"{WIDTH}×{HEIGHT}",
                    fps("decode"),
                    fps("stage1_matching"),
                    fps("stage1_alignment"),
                    fps("stage2"),
                    fps("export"),
                    data["report"]["frames_per_s"],
                    timings["total"] / count * 1000,
                    data["peak_rss_mib"],
                ]
            )
            print(f"{count} frames: {data['report']['frames_per_s']} frames/s, peak RSS {data['peak_rss_mib']:.0f} MiB")
    header = [
        "frames",
        "size",
        "decode f/s",
        "stage 1 f/s",
        "alignment f/s",
        "stage 2 f/s",
        "export f/s",
        "total f/s",
        "ms / frame",
        "peak RSS (MiB)",
    ]
    table = markdown_table(header, rows)
    print(table)
    body = (
        "`cpu` preset (geometric stage 1 + temporal stage 2) through `stereodiff run`'s code path on the synthetic "
        "`indoor-dynamic` scene encoded as H.264, outputs npz + mp4; one fresh process per length.\n\n" + table
    )
    write_section(
        "pipeline",
        "End to end: speed per stage and memory vs video length",
        body,
        f"python benchmarks/bench_pipeline.py{' --quick' if args.quick else ''}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
