"""Weights-free stage 2 (``TemporalRefiner``): flicker removal by frequency band, dynamic regions, 7-Scenes, speed.

1. Synthetic presets ``indoor-dynamic`` and ``close-object`` (exact GT): stage 1 is SIMULATED from the GT
   (``stereodiff.synth.simulated_stage1``: one global scale, per-frame scale/shift jitter, smooth noise, noisy
   low-confidence moving objects, holes) — a stand-in for a real stage 1. Standard protocol
   (``evaluate_sequence``, least squares in disparity, one fit per video); the per-frame AbsRel sequence is split
   into F0…F10 (``band_decomposition``). Stage 1 and the refiner are compared on the pixels where stage 1 has depth;
   the refiner also at full coverage.
2. ``rgbd-7scenes-50`` (real, static, hand-held): geometric stage 1 + global alignment, then the refiner (data
   folder: ``../shared/data`` beside the checkout, or ``$STEREODIFF_SHARED_DATA``).
3. Speed: frames/s of ``refine`` at a 320-pixel working resolution.

    python benchmarks/bench_temporal.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, markdown_table, peak_rss_mib, write_section
from stereodiff.eval.protocol import resize_prediction

HIGH_BANDS = slice(6, 11)  # F6…F10


def _evaluate(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, dynamic: np.ndarray, max_depth: float):
    """Standard protocol (one fit per video over all valid pixels, ``evaluate_regions``): overall metrics, the
    F0…F10 bands of the per-frame AbsRel sequence, the dynamic-region AbsRel, and the F6…F10 sums of the static-
    and dynamic-region per-frame AbsRel sequences."""
    from stereodiff.eval.regions import evaluate_regions
    from stereodiff.eval.spectrum import band_decomposition

    regions = evaluate_regions(pred, gt, dynamic, pred_kind="depth", max_depth=max_depth, valid_mask=mask)
    bands = band_decomposition(regions["overall"].per_frame["abs_rel"]).values  # [11]
    high = [band_decomposition(regions[r].per_frame["abs_rel"]).values[HIGH_BANDS].sum() for r in ("static", "dynamic")]
    return regions["overall"], bands, regions["dynamic"].abs_rel, *high


def geometric_stage1(frames: np.ndarray, k: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The weights-free stage 1 (matcher at 320 px + alignment + pair fusion): ``name -> (depth, confidence)``
    ``[T,h,w]`` float32 with 0 = no depth: ``"fused"`` (all pairs), ``"tree"`` (each frame's spanning-tree pair,
    untriangulated pixels invalid) and ``"tree, all pixels"`` (fallback guesses kept: full coverage)."""
    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.geometric import GeometricMatcher, fuse_pair_depths, untriangulated_mask

    preds = GeometricMatcher(resolution=320, intrinsics=k).predict(frames)
    geometry = global_alignment(preds, robust_scale=True, global_scale_solve=True)
    fused = fuse_pair_depths(preds, geometry)
    tree_valid = geometry.valid & ~untriangulated_mask(preds, geometry)

    def masked(depth: np.ndarray, conf: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.where(valid, depth, 0).astype(np.float32), np.where(valid, conf, 0).astype(np.float32)

    return {
        "fused": masked(fused.depth, fused.confidence, fused.valid),
        "tree": masked(geometry.depth, geometry.confidence, tree_valid),
        "tree, all pixels": masked(geometry.depth, geometry.confidence, geometry.valid),
    }


def synthetic(quick: bool) -> str:
    from stereodiff.stage2.temporal import TemporalRefiner
    from stereodiff.synth import make_scene
    from stereodiff.synth.simulated_stage1 import simulate_stage1

    num_frames = 32 if quick else 64
    rows, band_rows = [], []
    for preset in ("indoor-dynamic", "close-object"):
        video = make_scene(preset, seed=0, num_frames=num_frames, height=240, width=320)
        gt, dynamic, full = video.depth, video.dynamic_mask, np.ones(video.depth.shape, bool)
        max_depth = float(gt.max()) + 1.0
        sim = simulate_stage1(gt, dynamic, seed=1, size=(192, 256))
        inputs = {"simulated": (sim.depth, sim.confidence)}
        if not quick:
            geometric = geometric_stage1(video.frames, video.K)
            inputs["geometric"] = geometric["fused"]
            tree_all = resize_prediction(geometric["tree, all pixels"][0], gt.shape[1:], "nearest")
        for source, (depth, confidence) in inputs.items():
            refined = TemporalRefiner().refine(video.frames, depth, confidence)
            stage1 = resize_prediction(depth, gt.shape[1:], "nearest")
            covered = stage1 > 0
            cov = f"{covered.mean():.0%}"
            base = _evaluate(stage1, gt, covered, dynamic, max_depth)
            results = [("stage 1", cov, base, base), ("+ temporal", cov, None, base)]
            if source == "geometric":  # stage 1 alone at full coverage: the tree depth with its fallback guesses
                base = _evaluate(tree_all, gt, full, dynamic, max_depth)
                results.append(("stage 1, all pixels", "100%", base, base))
            results.append(("+ temporal", "100%", None, base))
            for method, pixels, evaluation, reference in results:
                mask = full if pixels == "100%" else covered
                metrics, bands, dyn, high_static, high_dynamic = evaluation or _evaluate(
                    refined, gt, mask, dynamic, max_depth
                )
                high = bands[HIGH_BANDS].sum()
                ratio = reference[1][HIGH_BANDS].sum() / high
                values = [metrics.abs_rel, metrics.delta1, dyn, bands[0], high, ratio, high_static, high_dynamic]
                rows.append([preset, source, method, pixels, *values])
                band_rows.append([preset, source, method, pixels, *[float(b) for b in bands]])
    header = ["preset", "stage 1", "method", "pixels", "AbsRel", "δ1", "dynamic AbsRel", "F0", "F6…F10"]
    header += ["F6…F10 reduction × (vs stage 1)", "static F6…F10", "dynamic F6…F10"]
    table = markdown_table(header, rows)
    bands = markdown_table(["preset", "stage 1", "method", "pixels", *[f"F{g}" for g in range(11)]], band_rows)
    return (
        f"Synthetic presets (seed 0), {num_frames} frames at 320×240. Stage 1 `simulated` = GT corrupted by "
        "`simulate_stage1` at 256×192 (seed 1; a stand-in, not a real stage 1); `geometric` = the weights-free "
        "stage 1 (matcher at 320 px, alignment with robust_scale + global_scale_solve, pair fusion; holes = "
        "untriangulated). Standard protocol (least squares in disparity, one fit per video over the listed "
        "pixels); bands of the per-frame AbsRel sequence; dynamic AbsRel over the dynamic mask (same fit); "
        "static/dynamic F6…F10 = high bands of the per-frame AbsRel over each region alone.\n\n"
        + table
        + "\n\nAll bands (AbsRel):\n\n"
        + bands
    )


SWEEP = {
    "temporal_decay": (0.0, 0.7, 0.8, 0.85, 0.9, 0.95),
    "depth_sigma": (0.2, 0.5, 1.0),
    "colour_sigma": (0.1, 0.2, 0.4),
    "fill_weight": (0.1, 0.3, 0.6),
    "fill_sigma_color": (0.02, 0.04, 0.08),
    "upsample_eps": (1e-4, 1e-3, 1e-2),
}


def sweep() -> str:
    """One parameter at a time around the defaults, on both synthetic presets (how the defaults were chosen)."""
    from stereodiff.stage2.temporal import TemporalRefiner
    from stereodiff.synth import make_scene
    from stereodiff.synth.simulated_stage1 import simulate_stage1

    cases = []
    for preset in ("indoor-dynamic", "close-object"):
        video = make_scene(preset, seed=3, num_frames=40, height=240, width=320)
        sim = simulate_stage1(video.depth, video.dynamic_mask, seed=4, size=(192, 256))
        covered = resize_prediction(sim.depth, video.depth.shape[1:], "nearest") > 0
        cases.append((video, sim, covered, float(video.depth.max()) + 1.0))
    rows = []
    for name, values in SWEEP.items():
        for value in values:
            scores = []
            for video, sim, covered, max_depth in cases:
                refined = TemporalRefiner(**{name: value}).refine(video.frames, sim.depth, sim.confidence)
                metrics, bands, dyn, _, _ = _evaluate(refined, video.depth, covered, video.dynamic_mask, max_depth)
                scores.append([metrics.abs_rel, dyn, bands[HIGH_BANDS].sum()])
            default = getattr(TemporalRefiner(), name) == value
            rows.append([f"{name}={value}" + (" (default)" if default else ""), *np.mean(scores, axis=0).tolist()])
    return (
        "One parameter varied at a time (others at their defaults); mean over `indoor-dynamic` and `close-object` "
        "(seed 3, 40 frames, 320×240, simulated stage 1 seed 4 — not the frames of the tables above).\n\n"
        + markdown_table(["setting", "AbsRel", "dynamic AbsRel", "F6…F10"], rows)
    )


def _read_7scenes(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import cv2

    files = sorted(folder.glob("frame-*.color.png"))
    frames = np.stack([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files])  # [T,480,640,3]
    gt = np.stack([cv2.imread(str(f).replace(".color.", ".depth."), cv2.IMREAD_UNCHANGED) for f in files])
    gt = np.where(gt == 65535, 0, gt).astype(np.float32) / 1000.0  # [T,480,640] metres
    k = np.array([[585.0, 0, 320], [0, 585, 240], [0, 0, 1]])
    return frames, gt, k


def seven_scenes() -> str:
    from stereodiff.eval.protocol import evaluate_sequence
    from stereodiff.stage2.temporal import TemporalRefiner

    folder = SHARED_DATA / "rgbd-7scenes-50"
    if not folder.is_dir():
        return f"`{folder}` is absent: skipped."
    frames, gt, k = _read_7scenes(folder)
    start = time.perf_counter()
    stage1 = geometric_stage1(frames, k)
    stage1_s = time.perf_counter() - start
    valid_gt = (gt > 1e-3) & (gt < 10.0)
    rows, speeds = [], []

    def row(name: str, pred: np.ndarray, mask: np.ndarray) -> list[object]:
        m = evaluate_sequence(pred, gt, pred_kind="depth", max_depth=10.0, valid_mask=mask, resize="nearest")
        return [name, m.abs_rel, m.delta1, f"{(mask & valid_gt).sum() / valid_gt.sum():.0%}"]

    full = np.ones(gt.shape, bool)
    rows.append(row("geometric stage 1, tree, all pixels", stage1["tree, all pixels"][0], full))
    for name in ("tree", "fused"):
        depth, confidence = stage1[name]
        covered = resize_prediction(depth, gt.shape[1:], "nearest") > 0
        start = time.perf_counter()
        refined = TemporalRefiner().refine(frames, depth, confidence)
        speeds.append(len(frames) / (time.perf_counter() - start))
        rows.append(row(f"geometric stage 1, {name}", depth, covered))
        rows.append(row("  + temporal (same pixels)", refined, covered))
        rows.append(row("  + temporal (all pixels)", refined, full))
    return (
        f"`rgbd-7scenes-50` (50 frames, 640×480, static scene), geometric stage 1 at 320 px ({stage1_s:.0f} s) + "
        f"temporal refiner ({np.mean(speeds):.1f} frames/s incl. guided upsampling to 640×480). Standard protocol "
        "(least squares in disparity, one fit per video), 1e-3 < GT < 10 m; stage-1 holes are excluded from "
        "its rows (coverage column).\n\n" + markdown_table(["method", "AbsRel", "δ1", "coverage"], rows)
    )


def speed(quick: bool) -> str:
    from stereodiff.stage2.temporal import TemporalRefiner
    from stereodiff.synth import make_scene
    from stereodiff.synth.simulated_stage1 import simulate_stage1

    num_frames = 32 if quick else 64
    defaults = TemporalRefiner()
    rows = []
    for source, stage1_size in (((240, 320), (240, 320)), ((480, 640), (240, 320))):
        video = make_scene("indoor-dynamic", seed=2, num_frames=num_frames, height=source[0], width=source[1])
        sim = simulate_stage1(video.depth, video.dynamic_mask, seed=0, size=stage1_size)
        refiner = TemporalRefiner()
        refiner.refine(video.frames[:4], sim.depth[:4], sim.confidence[:4])  # warm-up (OpenCV, allocations)
        start = time.perf_counter()
        refiner.refine(video.frames, sim.depth, sim.confidence)
        seconds = time.perf_counter() - start
        rows.append(
            [f"{source[1]}×{source[0]}", f"{stage1_size[1]}×{stage1_size[0]}", num_frames, num_frames / seconds]
        )
    return (
        f"Frames/s of `TemporalRefiner().refine` (defaults: {defaults.work_long_side}-pixel working resolution, "
        f"window {defaults.window}, overlap {defaults.overlap}), "
        f"peak RSS {peak_rss_mib():.0f} MiB for the whole script.\n\n"
        + markdown_table(["source", "stage-1 depth", "frames", "frames/s"], rows)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames, no 7-Scenes run")
    parser.add_argument("--sweep", action="store_true", help="only print the parameter sweep behind the defaults")
    args = parser.parse_args()
    if args.sweep:
        print(sweep())
        return 0
    parts = ["### Synthetic presets (simulated stage 1)\n\n" + synthetic(args.quick)]
    if not args.quick:
        parts.append("### 7-Scenes, geometric stage 1\n\n" + seven_scenes())
    parts.append("### Speed\n\n" + speed(args.quick))
    body = "\n\n".join(parts)
    print(body)
    command = "python benchmarks/bench_temporal.py" + (" --quick" if args.quick else "")
    write_section("temporal", "Stage 2: temporal refiner (weights-free)", body, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
