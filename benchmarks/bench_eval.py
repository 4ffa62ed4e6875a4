"""Speed of the evaluation protocol: one 110-frame 640×480 sequence (the Bonn / KITTI standard length).

CPU seconds are summed over threads. The "reference" row times one chunked float64 pass over the same pixels in
the same process, so runs on a loaded machine can be compared: the default protocol costs about 20 such passes
(two block-wise passes over the valid pixels: the fit's sums, then the metrics).

Run: ``python benchmarks/bench_eval.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import markdown_table, peak_rss_mib, write_section
from stereodiff.eval.protocol import evaluate_sequence
from stereodiff.eval.spectrum import band_decomposition


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    rng = np.random.default_rng(0)
    t, h, w = 110, 480, 640
    gt = rng.uniform(0.5, 9.5, (t, h, w)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.1] = 0.0
    pred_same = (0.4 / np.maximum(gt, 0.5) + 0.1 + rng.normal(0, 0.01, gt.shape)).astype(np.float32)
    pred_half = pred_same[:, ::2, ::2].copy()
    rows = []
    for label, pred, kwargs in [
        ("lstsq-disparity, pred at GT size", pred_same, {}),
        ("lstsq-disparity, pred 320×240 → bilinear", pred_half, {}),
        ("lstsq-disparity, per-frame fit", pred_same, {"per_frame": True}),
        ("l1-depth (MonST3R)", 1.0 / pred_same, {"alignment": "l1-depth", "pred_kind": "depth"}),
    ]:
        times, cpu = [], []
        for _ in range(1 if "l1" in label else repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            m = evaluate_sequence(pred, gt, max_depth=10, **kwargs)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
        rows.append([label, min(times), float(np.median(times)), min(cpu), m.abs_rel])
    # machine reference under the same load: one chunked float64 multiply-add pass over the same pixels
    start_cpu = time.process_time()
    for t0 in range(t):
        np.multiply(gt[t0], 2.0, dtype=np.float64).sum()
    reference = time.process_time() - start_cpu
    rows.append(
        ["reference: one float64 pass over the 33.8 M pixels", float("nan"), float("nan"), reference, float("nan")]
    )
    start = time.perf_counter()
    band_decomposition(m.per_frame["abs_rel"])
    elapsed = time.perf_counter() - start
    rows.append(["spectrum bands of one error sequence", elapsed, elapsed, float("nan"), float("nan")])
    table = markdown_table(["case (110×480×640)", "best wall s", "median wall s", "best CPU s", "AbsRel"], rows)
    table += f"\n\nPeak RSS: {peak_rss_mib():.0f} MiB (includes the synthetic inputs, ~270 MiB)."
    print(table)
    write_section("eval", "Evaluation protocol speed", table, "python benchmarks/bench_eval.py")


if __name__ == "__main__":
    main()
