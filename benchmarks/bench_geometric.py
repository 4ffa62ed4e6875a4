"""Weights-free stage 1 (geometric matcher + global alignment + pair fusion): speed and accuracy on 7-Scenes.

Speed: pairs/s of the matcher and frames/s of stage 1 + alignment + fusion, at a 320- and a 512-pixel long side
(wall clock, and frames per CPU-second of this process, which is less sensitive to other load on the machine; OpenCV
may use both cores, so CPU-seconds can exceed wall seconds), each setting timed after a warm-up run on 16 frames.
Accuracy: the 50 real frames of ``../shared/data/rgbd-7scenes-50`` (Kinect GT depth, fx = fy = 585, cx = 320,
cy = 240) with the standard video protocol (``stereodiff.eval.protocol.evaluate_sequence``: ONE least-squares scale
and shift per video in disparity space against 1/GT over 1e-3 < GT < 10 m, then invert, clip to [1e-3, 10] m,
AbsRel and δ1 per frame, averaged over frames) over the pixels where the prediction is valid; coverage = fraction
of valid GT pixels with a valid prediction (holes count as invalid). Rows cover the
alignment refinements (``robust_scale``, ``global_scale_solve``) on and off, and three depth sources:
``tree`` = the aligned depth of each frame's spanning-tree pair with untriangulated pixels marked invalid, ``fused``
= ``fuse_pair_depths`` over all pairs of each frame. The alignment runs as in the pipeline (the matcher's focal,
``scale_stride=4``). Flows: ``default`` (DIS down to the working resolution with patch stride 4 at 320 px, the
medium preset's finest scale at 512 px; the longest offset's flows composed from the two shorter ones and refined,
``chain_flows``), ``direct`` (``chain_flows=False``: DIS for every pair), ``full-res, stride 3``
(``flow_full_resolution=True, flow_patch_stride=3``: the default before, slower), ``20 descent iterations`` at
320 px (``flow_descent_iterations=20``), ``full-res, stride 4`` at 512 px
(``flow_full_resolution=True``) and ``preset`` at 320 px (``flow_full_resolution=False``: fastest). Synthetic:
static-pixel AbsRel of the fused depth on the rendered ``static-orbit`` and ``indoor-dynamic`` scenes (exact GT,
intrinsics given; the same protocol over the static pixels).

    python benchmarks/bench_geometric.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import SHARED_DATA, markdown_table, peak_rss_mib, write_section

MAX_DEPTH = 10.0


def load_7scenes(folder: Path, num_frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``frames [T,480,640,3]`` uint8 RGB, ``depth [T,480,640]`` metres (0 = invalid), ``K [3,3]`` (the dataset
    loader's reading: 0 and 65535 invalid, the folder's ``camera-intrinsics.txt``)."""
    from stereodiff.eval.datasets import load_dataset

    (sequence,) = load_dataset("7scenes", folder)
    frames = np.stack([sequence.frames[t] for t in range(num_frames)])
    return frames, sequence.depth[:num_frames], sequence.K[0]


def evaluate(pred_depth, valid, gt, max_depth: float = MAX_DEPTH, region: np.ndarray | None = None) -> dict:
    """``stereodiff.eval.protocol.evaluate_sequence`` (one least-squares fit per video in disparity space, metrics
    averaged over frames) over the pixels where the prediction ``[T,h,w]`` is valid (resized nearest) and inside
    ``region`` (``[T,H,W]`` bool, default all); coverage = fraction of the GT pixels in (1e-3, ``max_depth``) inside
    ``region`` that have a prediction."""
    from stereodiff.eval.protocol import evaluate_sequence, resize_prediction

    pred = resize_prediction(np.where(valid, pred_depth, 0).astype(np.float32), gt.shape[1:], "nearest")
    use = pred > 0 if region is None else (pred > 0) & region
    m = evaluate_sequence(pred, gt, pred_kind="depth", max_depth=max_depth, valid_mask=use, resize="nearest")
    gt_ok = (gt > 1e-3) & (gt < max_depth) & (True if region is None else region)
    return {"absrel": m.abs_rel, "delta1": m.delta1, "coverage": float((gt_ok & use).sum() / gt_ok.sum())}


def run(
    long_side: int,
    frames: np.ndarray,
    gt: np.ndarray,
    K: np.ndarray,
    variants: list[tuple[bool, bool]],
    flow: str = "default",
):
    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.geometric import GeometricMatcher, fuse_pair_depths, untriangulated_mask

    options = {
        "default": {},
        "direct": {"chain_flows": False},
        "full-res, stride 3": {"flow_full_resolution": True, "flow_patch_stride": 3},
        "20 descent iterations": {"flow_descent_iterations": 20},
        "full-res, stride 4": {"flow_full_resolution": True},
        "preset": {"flow_full_resolution": False},
    }
    matcher = GeometricMatcher(resolution=long_side, intrinsics=K, **options[flow])
    matcher.predict(frames[:16])  # warm-up: one-time costs (imports, thread pools, first-touch memory) not timed
    start, cpu_start = time.perf_counter(), time.process_time()
    preds = matcher.predict(frames)
    t_match, cpu_match = time.perf_counter() - start, time.process_time() - cpu_start
    speed, accuracy = [], []
    for robust, solve in variants:
        start, cpu_start = time.perf_counter(), time.process_time()
        geometry = global_alignment(  # as the pipeline: the matcher's focal, strided pair-scale registration
            preds, robust_scale=robust, global_scale_solve=solve, focal=matcher.report.focal_px, scale_stride=4
        )
        t_align = time.perf_counter() - start
        start = time.perf_counter()
        fused = fuse_pair_depths(preds, geometry)
        t_fuse = time.perf_counter() - start
        cpu_total = cpu_match + time.process_time() - cpu_start
        holes = untriangulated_mask(preds, geometry)
        total = t_match + t_align + t_fuse
        speed.append([long_side, flow, robust, solve, len(preds.pairs), round(len(preds.pairs) / t_match, 2),
                      round(t_match, 2), round(t_align, 2), round(t_fuse, 2),
                      round(len(frames) / total, 2), round(len(frames) / cpu_total, 2)])  # fmt: skip
        for name, depth, valid in (
            ("tree, all pixels", geometry.depth, geometry.valid),
            ("tree, holes invalid", geometry.depth, geometry.valid & ~holes),
            ("fused", fused.depth, fused.valid),
        ):
            m = evaluate(depth, valid, gt)
            accuracy.append([long_side, flow, robust, solve, name, round(m["absrel"], 4), round(m["delta1"], 3),
                             round(m["coverage"], 3)])  # fmt: skip
    info = f"offsets {matcher.report.offsets}, {sum(not g.ok for g in matcher.report.pairs)} failed pairs"
    return speed, accuracy, info


def synthetic_static(num_frames: int) -> str:
    """Static-pixel AbsRel of the fused stage-1 depth on rendered scenes (exact GT, camera intrinsics given): the
    standard protocol over the static pixels that have a prediction (cap: the scene's farthest GT + 1 m)."""
    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.geometric import GeometricMatcher, fuse_pair_depths
    from stereodiff.synth import make_scene

    rows = []
    cases = [("static-orbit", {}), ("indoor-dynamic", {}), ("indoor-dynamic", {"min_parallax_deg": 0.6})]
    cases += [("indoor-dynamic", {"chain_flows": False})]
    cases += [(scene, {"flow_patch_stride": 3}) for scene in ("static-orbit", "indoor-dynamic")]
    for preset, options in cases:
        video = make_scene(preset, seed=0, num_frames=num_frames, height=240, width=320)
        matcher = GeometricMatcher(resolution=320, intrinsics=video.K, **options)
        preds = matcher.predict(video.frames)
        geometry = global_alignment(
            preds, robust_scale=True, global_scale_solve=True, focal=matcher.report.focal_px, scale_stride=4
        )
        fused = fuse_pair_depths(preds, geometry)
        m = evaluate(fused.depth, fused.valid, video.depth, float(video.depth.max()) + 1.0, ~video.dynamic_mask)
        setting = ", ".join(f"{k}={v}" for k, v in options.items()) or "default"
        rows.append([preset, setting, str(matcher.report.offsets), round(m["absrel"], 4), f"{m['coverage']:.1%}"])
    table = markdown_table(["scene", "setting", "offsets", "static AbsRel", "static coverage"], rows)
    return (
        f"Rendered scenes (seed 0, {num_frames} frames at 320×240, intrinsics given), fused depth after alignment, "
        "standard protocol (`evaluate_sequence`: one least-squares fit per video in disparity space, frame mean) "
        f"over the static pixels that have a prediction:\n\n{table}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 frames, 320 px, refinements on only")
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder (default: %(default)s)")
    args = parser.parse_args()
    folder = args.data / "rgbd-7scenes-50"
    if not folder.is_dir():
        print(f"skipped: {folder} is absent")
        return
    frames, gt, K = load_7scenes(folder, 20 if args.quick else 50)
    sizes = [320] if args.quick else [320, 512]
    variants = [(True, True)] if args.quick else [(False, False), (True, False), (False, True), (True, True)]
    speed_rows, accuracy_rows, notes = [], [], []
    settings = [(long_side, variants, "default") for long_side in sizes]
    if not args.quick:  # DIS for every pair; the other flow resolutions and patch strides
        flows = {
            320: ("direct", "full-res, stride 3", "20 descent iterations", "preset"),
            512: ("direct", "full-res, stride 3", "full-res, stride 4"),
        }
        settings += [(size, [(True, True)], flow) for size in sizes for flow in flows[size]]
    for long_side, settings_variants, flow in settings:
        speed, accuracy, info = run(long_side, frames, gt, K, settings_variants, flow)
        speed_rows += speed
        accuracy_rows += accuracy
        notes.append(f"{long_side} px ({flow} flow): {info}")
    speed_table = markdown_table(
        ["long side", "flow", "robust_scale", "global_scale_solve", "pairs", "pairs/s (matcher)", "matcher s",
         "alignment s", "fusion s", "frames/s (stage 1 total)", "frames per CPU-s"], speed_rows)  # fmt: skip
    accuracy_table = markdown_table(
        ["long side", "flow", "robust_scale", "global_scale_solve", "depth", "AbsRel", "δ1", "coverage"], accuracy_rows
    )
    body = (
        f"7-Scenes, {len(frames)} frames 640×480, focal given (585 px); {'; '.join(notes)}; "
        f"peak RSS {peak_rss_mib():.0f} MiB.\n\n{speed_table}\n\n{accuracy_table}\n\n"
        + synthetic_static(24 if args.quick else 48)
    )
    print(body)
    command = "python benchmarks/bench_geometric.py" + (" --quick" if args.quick else "")
    write_section("geometric", "Stage 1 without weights (geometric matcher)", body, command)


if __name__ == "__main__":
    main()
