"""Memory of video input: streaming ``iter_frames`` keeps peak RSS flat in the video length; ``read_video`` does not.

Generates two H.264 videos (200 and 2,000 frames, 320×240; ``--quick``: 50 and 500), then decodes each in a fresh
subprocess — so every peak RSS is that run's own — with ``iter_frames`` (streaming) and ``read_video`` (everything
in RAM), and prints peak RSS and frames/s. Writes the ``io`` section of BENCHMARKS.md.

    python benchmarks/bench_io.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import markdown_table, peak_rss_mib, write_section

HEIGHT, WIDTH, FPS = 240, 320, 30


def _frames(count: int):
    """A moving pattern, generated one frame at a time (the generator itself holds one frame)."""
    v, u = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    for t in range(count):
        r = 128 + 100 * np.sin((u + 4 * t) / 17.0)
        g = 128 + 100 * np.cos((v - 3 * t) / 13.0)
        b = (u + v + 5 * t) % 256
        yield np.stack([r, g, b], axis=-1).astype(np.uint8)


def _child(mode: str, path: str) -> None:
    """Decode ``path`` with ``mode`` and print one JSON line with the figures."""
    import av  # noqa: F401  (decoder libraries count in the baseline, not in the decoding)
    import cv2  # noqa: F401

    from stereodiff.io.video import iter_frames, read_video

    baseline = peak_rss_mib()
    start = time.perf_counter()
    if mode == "iter_frames":
        count = sum(1 for frame in iter_frames(path) if frame.shape[2] == 3)
    else:
        count = read_video(path).num_frames
    seconds = time.perf_counter() - start
    print(json.dumps({"frames": count, "seconds": seconds, "peak_rss_mib": peak_rss_mib(), "import_mib": baseline}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 and 500 frames instead of 200 and 2,000")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "VIDEO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0

    from stereodiff.io.video import write_video

    lengths = (50, 500) if args.quick else (200, 2000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_io_") as tmp:
        for length in lengths:
            path = Path(tmp) / f"clip_{length}.mp4"
            start = time.perf_counter()
            write_video(path, _frames(length), FPS, crf=23, total=length)
            print(f"encoded {length} frames in {time.perf_counter() - start:.1f} s", flush=True)
            for mode in ("iter_frames", "read_video"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True
                ).stdout
                result = json.loads(out.strip().splitlines()[-1])
                assert result["frames"] == length, result
                rows.append(
                    [
                        mode,
                        length,
                        f"{WIDTH}x{HEIGHT}",
                        round(result["import_mib"], 1),
                        round(result["peak_rss_mib"], 1),
                        round(result["frames"] / result["seconds"], 1),
                    ]
                )
                print(rows[-1], flush=True)
    table = markdown_table(["reader", "frames", "size", "RSS after imports (MiB)", "peak RSS (MiB)", "frames/s"], rows)
    print(table)
    body = (
        "Decoding an H.264 mp4 (one fresh process per row). `iter_frames` streams: its peak RSS must not grow with "
        "the number of frames. `read_video` holds the whole clip in RAM (shown for contrast; "
        f"{WIDTH * HEIGHT * 3 / 2**20:.2f} MiB per frame).\n\n" + table
    )
    command = "python benchmarks/bench_io.py" + (" --quick" if args.quick else "")
    write_section("io", "Video input memory (iter_frames vs read_video)", body, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
