"""Closed-form global alignment: seconds and peak RSS vs video length (pairs read from an on-disk PairCache).

Synthetic exact pairwise pointmaps (``stereodiff.stage1.synthetic``) of swin-2-noncyclic symmetrised graphs are
written to a temporary PairCache by one process, then ``global_alignment(..., out_dir=...)`` runs in a fresh process
per size, so the peak RSS is that of the alignment alone ("RSS before" = after imports and opening the cache).
The "per-pair Umeyama loop" column times the all-pair scale registration done one pair at a time instead of in
batched chunks, on the first ``RATIO_PAIRS`` pairs (the ratio does not depend on the count).

    python benchmarks/bench_alignment.py [--quick]
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

FULL = [(110, 288, 512), (250, 144, 256), (1000, 144, 256)]
RATIO_PAIRS = 400
QUICK = [(110, 36, 64), (220, 36, 64)]


def worker(num_frames: int, height: int, width: int, folder: str) -> None:
    """Align one cached scene in this process and print a JSON line of figures."""
    import cv2  # noqa: F401  (imported before timing: a one-off cost, not part of the scaling)
    import numpy as np
    import scipy.sparse.csgraph
    import scipy.sparse.linalg  # noqa: F401

    from stereodiff.stage1.alignment import _chunks, global_alignment, umeyama
    from stereodiff.stage1.cache import PairCache
    from stereodiff.stage1.pairs import make_pairs

    folder = Path(folder)
    pairs = make_pairs(num_frames)
    preds = PairCache.open(folder / "cache", pairs, (height, width), num_frames).predictions()
    rss_before = peak_rss_mib()
    start = time.perf_counter()
    geometry = global_alignment(preds, out_dir=folder / "out")
    seconds = time.perf_counter() - start
    rss = peak_rss_mib()
    # naive: the all-pair scale registration one pair at a time (the alignment batches small pairs in ~65k-point chunks)
    world = geometry.aligned_pointmaps
    pairs = pairs[:RATIO_PAIRS]
    start = time.perf_counter()
    for p, (i, _) in enumerate(pairs):
        umeyama(np.asarray(preds.pts_i[p]).reshape(-1, 3), world[i].reshape(-1, 3), preds.conf_i[p].reshape(-1))
    naive = time.perf_counter() - start
    start = time.perf_counter()
    for chunk in _chunks(len(pairs), height * width):
        umeyama(
            np.asarray(preds.pts_i[chunk]).reshape(len(chunk), -1, 3),
            world[pairs[chunk, 0]].reshape(len(chunk), -1, 3),
            preds.conf_i[chunk].reshape(len(chunk), -1),
        )
    batched = time.perf_counter() - start
    figures = dict(frames=num_frames, size=f"{width}×{height}", pairs=len(preds.pairs), seconds=seconds, rss=rss,
                   rss_before=rss_before, naive=naive, batched=batched)  # fmt: skip
    print(json.dumps(figures))


def generate(num_frames: int, height: int, width: int, folder: str) -> None:
    """Write the synthetic scene's pairs to ``folder/cache`` (in its own process: its RSS is not measured)."""
    from stereodiff.stage1.pairs import make_pairs
    from stereodiff.stage1.synthetic import make_synthetic_pairs

    make_synthetic_pairs(num_frames, height, width, make_pairs(num_frames), seed=0, cache_dir=Path(folder) / "cache")


def main() -> int:
    if sys.argv[1:2] in (["--worker"], ["--generate"]):
        run = worker if sys.argv[1] == "--worker" else generate
        run(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return 0
    quick = "--quick" in sys.argv[1:]
    rows = []
    for num_frames, height, width in QUICK if quick else FULL:
        with tempfile.TemporaryDirectory(prefix="bench_alignment_") as folder:
            args = [str(num_frames), str(height), str(width), folder]
            subprocess.run([sys.executable, __file__, "--generate", *args], check=True)
            result = subprocess.run([sys.executable, __file__, "--worker", *args], check=True, capture_output=True,
                                    text=True)  # fmt: skip
            figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(figures, flush=True)
        rows.append([
            figures["frames"], figures["size"], figures["pairs"], figures["seconds"],
            figures["seconds"] / figures["frames"] * 1000, figures["rss"], figures["rss_before"],
            figures["naive"], figures["batched"],
        ])  # fmt: skip
    table = markdown_table(
        ["T", "size", "pairs", "alignment s", "ms/frame", "peak RSS MiB", "RSS before MiB",
         f"per-pair Umeyama loop s ({RATIO_PAIRS} pairs)", f"batched s ({RATIO_PAIRS} pairs)"],
        rows,
    )  # fmt: skip
    print(table)
    command = "python benchmarks/bench_alignment.py" + (" --quick" if quick else "")
    write_section("alignment", "Stage-1 global alignment (closed form, pairs from a memmapped PairCache)", table,
                  command)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
