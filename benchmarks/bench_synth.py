"""Synthetic scene rendering speed: 110 frames at 320x240 per preset (target: under ~10 s on 2 cores).

Prints wall time, CPU time, frames per second and the depth range / dynamic fraction / parallax of each preset,
and writes the ``synth`` section of BENCHMARKS.md. ``--quick``: 20 frames at 160x120.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from _common import markdown_table, peak_rss_mib, write_section


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 frames at 160x120")
    parser.add_argument("--workers", type=int, default=2, help="render threads (default 2)")
    args = parser.parse_args()

    from stereodiff.progress import set_progress
    from stereodiff.synth import PRESETS, RenderSettings, build_scene, render_video, triangulation_angles_deg

    set_progress(False)
    frames, width, height = (20, 160, 120) if args.quick else (110, 320, 240)
    render_video(build_scene("static-orbit"), RenderSettings(1, 16, 16))  # warm-up: imports, cv2
    rows = []
    for preset in PRESETS:
        scene = build_scene(preset, seed=0, duration_s=frames / 30)
        wall, cpu = time.perf_counter(), time.process_time()
        video = render_video(scene, RenderSettings(frames, height, width), workers=args.workers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        valid = video.depth[video.depth > 0]
        angle8 = np.median(triangulation_angles_deg(video, 0, min(8, frames - 1)))
        rows.append(
            [
                preset,
                f"{frames} x {width}x{height}",
                len(scene.placed(0.0)),
                wall,
                cpu,
                frames / wall,
                f"{valid.min():.2f}-{valid.max():.2f}",
                100.0 * float(video.dynamic_mask.mean()),
                float(angle8),
            ]
        )
        print(f"{preset}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    header = ["preset", "frames", "primitives", "wall s", "CPU s", "frames/s", "depth m", "dynamic %", "angle 0-8 deg"]
    table = markdown_table(header, rows)
    body = f"{table}\n\nworkers={args.workers}; peak RSS {peak_rss_mib():.0f} MiB."
    print(body)
    command = "python benchmarks/bench_synth.py" + (" --quick" if args.quick else "")
    write_section("synth", "Synthetic scene rendering", body, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
