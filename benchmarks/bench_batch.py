"""Many videos: videos/hour of ``stereodiff batch`` with the local engine and with Ray (1 and 2 workers).

Renders ``N`` synthetic videos (default 6 × 24 frames at 320×240, the four scene presets in turn, seeds 0…N-1;
``--quick``: 4 × 12), then processes the same videos with the ``cpu`` preset, each configuration into a fresh output
folder:

- ``local``: the shard engine (``--shard 0/1``), one process, no Ray — the baseline;
- ``ray 1×1``, ``ray 1×2``, ``ray 2×1``: a fresh local Ray cluster (2 CPUs) with 1 worker of 1 CPU, 1 worker of 2 CPUs,
  2 workers of 1 CPU.

Wall time counts everything the user waits for: Ray start (``ray.init``), worker start-up (process start, imports,
pipeline build), the videos. Per-worker start-up is reported separately. Configurations run in rounds, in reversed
order every other round; the table gives the median over rounds and every ratio is to ``local`` of the same round.
Writes the ``batch`` section of BENCHMARKS.md.

    python benchmarks/bench_batch.py [--quick] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from _common import markdown_table, set_headline, write_section

CONFIGS = {"local": None, "ray 1×1": (1, 1.0), "ray 1×2": (1, 2.0), "ray 2×1": (2, 1.0)}
PRESETS = ("static-orbit", "indoor-dynamic", "driving", "close-object")


def _videos(folder: Path, count: int, frames: int) -> list[str]:
    from stereodiff.io.video import write_video
    from stereodiff.synth import make_scene

    paths = []
    for k in range(count):
        scene = make_scene(PRESETS[k % len(PRESETS)], seed=k, num_frames=frames, height=240, width=320)
        path = folder / f"video{k:02d}.mp4"
        write_video(path, iter(scene.frames), 30.0)
        paths.append(str(path))
    return paths


def _run(name: str, videos: list[str], out: Path) -> dict:
    """One configuration: wall seconds, Ray start seconds, worker start-up seconds."""
    import logging

    import ray

    from stereodiff.batch import run_ray, run_shard

    start = time.perf_counter()
    if CONFIGS[name] is None:
        result = run_shard(videos, out, "cpu", save=("npz",))
        ray_start, workers = 0.0, []
    else:
        count, cpus = CONFIGS[name]
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 2**20, logging_level=logging.WARNING)
        ray_start = time.perf_counter() - start
        try:
            result = run_ray(videos, out, "cpu", workers=count, cpus_per_worker=cpus, save=("npz",))
        finally:
            ray.shutdown()
        workers = result.workers
    wall = time.perf_counter() - start
    assert result.count("done") == len(videos), result.failed
    return {
        "wall": wall,
        "ray_start": ray_start,
        "worker_start": [w["start_s"] for w in workers],
        "build": [w["build_s"] for w in workers],
        "frames": sum(row["frames"] for row in result.rows),
    }


def main() -> int:
    import os

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # the local clusters listen on 127.0.0.1 only
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 videos of 12 frames, one round")
    parser.add_argument("--rounds", type=int, help="rounds over the configurations (default 2; --quick 1)")
    args = parser.parse_args()
    count, frames = (4, 12) if args.quick else (6, 24)
    rounds = args.rounds or (1 if args.quick else 2)
    results: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        videos = _videos(Path(tmp), count, frames)
        for round_index in range(rounds):
            names = list(CONFIGS) if round_index % 2 == 0 else list(reversed(CONFIGS))
            for name in names:
                figures = _run(name, videos, Path(tmp) / f"out-{round_index}-{name.replace(' ', '_')}")
                results[name].append(figures)
                print(f"round {round_index}: {name}: {figures['wall']:.1f} s", flush=True)
    rows = []
    for name, runs in results.items():
        ratios = [run["wall"] / base["wall"] for run, base in zip(runs, results["local"])]
        starts = [s for run in runs for s in run["worker_start"]]
        builds = [s for run in runs for s in run["build"]]
        wall = statistics.median(run["wall"] for run in runs)
        rows.append([
            name,
            f"{wall:.1f}",
            f"{count / wall * 3600:.0f}",
            f"{count / statistics.median(run['wall'] - run['ray_start'] for run in runs) * 3600:.0f}",
            f"{runs[0]['frames'] / wall:.2f}",
            " / ".join(f"{1 / r:.2f}" for r in ratios),
            f"{statistics.median(run['ray_start'] for run in runs):.1f}" if starts else "—",
            f"{statistics.median(starts):.1f}" if starts else "—",
            f"{statistics.median(builds):.3f}" if builds else "—",
        ])  # fmt: skip
    table = markdown_table(
        ["engine", "wall s (median)", "videos/hour", "videos/hour after Ray start", "frames/s",
         "speed vs local, per round", "Ray start s", "worker start-up s", "pipeline build s"],
        rows,
    )  # fmt: skip
    ray2, ray1 = (statistics.median(r["wall"] for r in results[n]) for n in ("ray 2×1", "ray 1×1"))
    per_round = " and ".join(
        f"{one['wall'] / two['wall']:.2f}×" for one, two in zip(results["ray 1×1"], results["ray 2×1"])
    )
    body = (
        f"{count} synthetic videos of {frames} frames at 320×240 (`cpu` preset, `--save npz`), {rounds} round(s). "
        "The machine (2 cores) was shared with other jobs during the run, so absolute times are contended; the "
        "ratios compare configurations of the same round. `worker start-up` = from asking Ray for the actor until it "
        "is ready (process start, imports, pipeline build); `Ray start` = `ray.init` of a local cluster.\n\n"
        f"{table}\n\n2 workers × 1 CPU vs 1 worker × 1 CPU: {ray1 / ray2:.2f}× the videos/hour (median walls; per "
        f"round {per_round})."
    )
    command = "python benchmarks/bench_batch.py" + (" --quick" if args.quick else "")
    write_section("batch", "Many videos: local engine vs Ray workers (videos/hour)", body, command)
    print(body)
    if not args.quick:
        set_headline(
            "batch",
            f"`batch --engine ray`: 2 workers give {ray1 / ray2:.2f}× the videos/hour of 1 worker (per round "
            f"{per_round}) on 2 cores shared with other jobs (BENCHMARKS.md, section batch).",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
