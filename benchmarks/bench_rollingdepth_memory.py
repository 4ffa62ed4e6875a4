"""RollingDepth backend: peak RSS vs video length (tiny random checkpoint, ``full`` preset with refinement).

One fresh process per length runs ``RollingDepthBackend.refine`` on a synthetic clip read from a uint8 memory map
(the frames are not held in memory by the caller) and writes into an on-disk output, so the peak RSS is that of the
backend: model, working set, and whatever grows with the clip. "RSS before" = after imports and loading the model.

    python benchmarks/bench_rollingdepth_memory.py [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import markdown_table, peak_rss_mib, write_section

HEIGHT, WIDTH = 128, 192
FULL = [60, 240, 960]
QUICK = [60, 240]


def worker(num_frames: int, folder: str) -> None:
    """Run the backend once in this process and print a JSON line of figures."""
    import numpy as np
    import torch

    from stereodiff.stage2.configs import RollingDepthConfig
    from stereodiff.stage2.rollingdepth import RollingDepthBackend, load_rollingdepth
    from stereodiff.stage2.rollingdepth.pipeline import settings_from_config, unet_calls

    torch.set_num_threads(1)
    folder = Path(folder)
    frames = np.lib.format.open_memmap(folder / f"frames{num_frames}.npy", mode="w+", dtype=np.uint8,
                                       shape=(num_frames, HEIGHT, WIDTH, 3))  # fmt: skip
    rng = np.random.default_rng(0)
    for t in range(num_frames):
        frames[t] = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    frames.flush()
    del frames
    frames = np.load(folder / f"frames{num_frames}.npy", mmap_mode="r")
    config = RollingDepthConfig(preset="full", resolution=WIDTH, coalign_iterations=20, refine_step=2)
    settings = settings_from_config(config)
    backend = RollingDepthBackend(load_rollingdepth(folder / "model"), settings, seed=0)
    out = np.lib.format.open_memmap(folder / f"out{num_frames}.npy", mode="w+", dtype=np.float32,
                                    shape=(num_frames, HEIGHT, WIDTH))  # fmt: skip
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    backend.refine(frames, None, out)
    seconds = time.perf_counter() - start
    checksum = float(np.asarray(out, dtype=np.float64).sum())
    print(json.dumps({"frames": num_frames, "rss_before": rss_before, "peak": peak_rss_mib(), "seconds": seconds,
                      "unet_calls": unet_calls(num_frames, settings), "checksum": checksum}))  # fmt: skip


def main() -> None:
    quick = "--quick" in sys.argv
    from stereodiff.stage2.rollingdepth.testing import save_tiny_rollingdepth

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        save_tiny_rollingdepth(Path(tmp) / "model")
        for num_frames in QUICK if quick else FULL:
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", str(num_frames), tmp], capture_output=True, text=True, check=True
            )
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            print(result)
            rows.append([num_frames, result["unet_calls"], result["rss_before"], result["peak"]])
    table = markdown_table(["frames", "UNet calls", "RSS before (MiB)", "peak RSS (MiB)"], rows)
    print(table)
    body = (
        f"Tiny random RollingDepth checkpoint, `full` preset (dilations 1, 10, 25; 2 refinement steps, 20 "
        f"co-alignment iterations), {WIDTH}x{HEIGHT} frames processed at their own size, one process per length, "
        '1 torch thread; "RSS before" = after imports and loading the model. The machine is shared by several jobs: '
        "no timings are given.\n\n" + table
    )
    write_section("rollingdepth-memory", "RollingDepth: peak RSS vs video length", body,
                  "python benchmarks/bench_rollingdepth_memory.py" + (" --quick" if quick else ""))  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]), sys.argv[3])
    else:
        main()
