"""End to end: speed per stage and peak memory of ``stereodiff run`` on short and long synthetic videos.

Renders the ``indoor-dynamic`` scene streamed into an H.264 file (T = 50, 200, 1,000 frames at 256×192 by default;
``--lengths`` for others, e.g. ``--lengths 300 3000``; ``--quick``: 20 and 60; ``--size 320x240`` for another
frame size), then runs the real CLI code path (``runs.run_video``: decode → stage 1 → alignment → stage 2 →
export) in a fresh subprocess per run, and prints frames/s per stage, CPU seconds per frame (user + system, all
threads: on a shared machine the wall-clock figures are contended, the CPU time much less), peak RSS with its
anonymous and file-backed parts, and what ``stereodiff plan`` predicted for it. Rows: the ``cpu`` preset at every
length (time per frame and memory must stay flat), and the ``paper`` preset's code path (MonST3R + DepthCrafter
wiring) with tiny random weights on 24 frames (or the shortest length). Writes the ``pipeline`` section of
BENCHMARKS.md (``pipeline-LENGTHS[-WxH]`` for other lengths or sizes).

    python benchmarks/bench_pipeline.py [--quick] [--lengths N ...] [--size WxH]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ResidentPeaks, markdown_table, peak_rss_mib, set_headline, write_section

DEFAULT_SIZE = "256x192"  # width x height
PAPER_TINY_FRAMES = 24  # the paper preset's code path with tiny random weights: wiring and overheads, not speed


def _render(path: Path, num_frames: int, width: int, height: int) -> None:
    from stereodiff.io.video import write_video
    from stereodiff.synth import RenderSettings, iter_frames, preset_scene

    settings = RenderSettings(num_frames, height, width)
    frames = (f.rgb for f in iter_frames(preset_scene("indoor-dynamic", 0, settings), settings))
    write_video(path, frames, 30.0, total=num_frames)


def _tiny_paper_config(folder: Path):
    """The ``paper`` preset with tiny random MonST3R / DepthCrafter / SVD components saved in the hub layouts."""
    from stereodiff.config import preset_config
    from stereodiff.stage1.croco.loading import save_croco_stereo
    from stereodiff.stage1.croco.testing import make_tiny_croco
    from stereodiff.stage2.depthcrafter.testing import save_tiny_depthcrafter

    save_croco_stereo(make_tiny_croco(), folder / "monst3r")
    unet, base = save_tiny_depthcrafter(folder / "depthcrafter")
    config = preset_config("paper")
    config.stage1.weights, config.stage1.resolution = str(folder / "monst3r"), 256
    config.stage2.unet, config.stage2.base, config.stage2.resolution = str(unet), str(base), 256
    return config


def _child(video: str, out: str, preset: str) -> None:
    from stereodiff.config import preset_config
    from stereodiff.plan import plan_run
    from stereodiff.runs import RunRequest, run_video

    config = _tiny_paper_config(Path(out + "-models")) if preset == "paper-tiny" else preset_config(preset)
    request = RunRequest(input=Path(video), output=Path(out), config=config, save=("npz", "mp4"))
    with ResidentPeaks() as peaks:
        report = run_video(request)
    times = os.times()
    # the planner models the real checkpoints, not the tiny ones: only the weights-free rows are comparable
    planned = plan_run(config, report["num_frames"], *report["size_hw"]).peak_bytes / 2**20 if preset == "cpu" else None
    cpu_s = times.user + times.system
    memory = {"peak_rss_mib": peak_rss_mib(), "peak_anon_mib": peaks.anon_mib, "peak_file_mib": peaks.file_mib}
    print(json.dumps({"report": report, **memory, "planned_mib": planned, "cpu_s": cpu_s}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 60 frames")
    parser.add_argument("--lengths", type=int, nargs="+", help="video lengths in frames (default 50 200 1000)")
    parser.add_argument("--size", default=DEFAULT_SIZE, help=f"frame size WxH (default {DEFAULT_SIZE})")
    parser.add_argument("--child", nargs=3, metavar=("VIDEO", "OUT", "PRESET"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0
    lengths = tuple(args.lengths or ((20, 60) if args.quick else (50, 200, 1000)))
    width, height = (int(v) for v in args.size.lower().split("x"))
    runs = [("cpu", count) for count in lengths] + [("paper-tiny", min(lengths[0], PAPER_TINY_FRAMES))]
    rows = []
    # Byte-compile the package once, as a regular `pip install` does: an editable install run with
    # PYTHONDONTWRITEBYTECODE=1 recompiles every module it imports in each fresh child (~0.13 s of CPU a run).
    compileall.compile_dir(Path(__file__).resolve().parents[1] / "src" / "stereodiff", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        for preset, count in runs:
            video = Path(tmp) / f"scene_{count}.mp4"
            if not video.exists():
                _render(video, count, width, height)
            result = subprocess.run(
                [sys.executable, __file__, "--child", str(video), str(Path(tmp) / f"out_{preset}_{count}"), preset],
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
                    preset,
                    count,
                    f"{width}×{height}",
                    fps("decode"),
                    fps("stage1_matching"),
                    fps("stage1_alignment"),
                    fps("stage2"),
                    fps("export"),
                    data["report"]["frames_per_s"],
                    timings["total"] / count * 1000,
                    data["cpu_s"] / count,
                    data["peak_rss_mib"],
                    data["peak_anon_mib"],
                    data["peak_file_mib"],
                    data["planned_mib"] if data["planned_mib"] is not None else float("nan"),
                ]
            )
            speed, rss, anon = data["report"]["frames_per_s"], data["peak_rss_mib"], data["peak_anon_mib"]
            print(f"{preset} {count} frames: {speed} frames/s, peak RSS {rss:.0f} MiB (anonymous {anon:.0f})")
    header = [
        "preset",
        "frames",
        "size",
        "decode f/s",
        "stage 1 f/s",
        "alignment f/s",
        "stage 2 f/s",
        "export f/s",
        "total f/s",
        "ms / frame",
        "CPU s / frame",
        "peak RSS (MiB)",
        "peak anon (MiB)",
        "peak file-backed (MiB)",
        "planned peak (MiB)",
    ]
    table = markdown_table(header, rows)
    print(table)
    body = (
        "Through `stereodiff run`'s code path (decode → stage 1 → alignment → stage 2 → export npz + mp4) on the "
        "synthetic `indoor-dynamic` scene encoded as H.264, one fresh process per row. `cpu` = geometric stage 1 + "
        "temporal stage 2 (the real backends); `paper-tiny` = the paper preset's code path (MonST3R network, "
        "closed-form alignment, one-step DepthCrafter) with tiny random weights, so its speed says nothing about "
        "the real models. Peak RSS is the process's VmHWM: anonymous memory and the file pages it has mapped and "
        "touched (shared libraries, the run directory's memory-mapped arrays: the kernel drops those under "
        "pressure); the anon and file-backed columns are each one's peak, sampled every 20 ms (they need not "
        "coincide, nor add up to the VmHWM). Planned peak: `stereodiff plan` for the same run "
        "(cpu rows only: the planner models the real checkpoints, not the tiny ones)."
        "\n\n" + table
    )
    default = args.lengths is None and not args.quick and args.size == DEFAULT_SIZE
    name = "pipeline" if default else "pipeline-" + "-".join(map(str, lengths))
    name += "" if args.size == DEFAULT_SIZE else f"-{width}x{height}"
    command = "python benchmarks/bench_pipeline.py" + (" --quick" if args.quick else "")
    command += "" if args.lengths is None else " --lengths " + " ".join(map(str, lengths))
    command += "" if args.size == DEFAULT_SIZE else f" --size {width}x{height}"
    title = f"End to end: speed per stage and memory vs video length ({', '.join(map(str, lengths))}; {width}×{height})"
    write_section(name, title, body, command)
    cpu = [row for row in rows if row[0] == "cpu"]
    if cpu and not args.quick:
        speed, rss = header.index("total f/s"), header.index("peak RSS (MiB)")
        memory = f"peak RSS {cpu[0][rss]:.0f} MiB"
        if len(cpu) > 1:  # memory against the video's length
            memory += f" at {cpu[0][1]} frames vs {cpu[-1][rss]:.0f} MiB at {cpu[-1][1]} frames"
        set_headline(
            name,
            f"`cpu` preset end to end at {width}×{height}: {cpu[-1][speed]:.2f} frames/s on a {cpu[-1][1]}-frame "
            f"video; {memory} (BENCHMARKS.md, section {name}).",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
