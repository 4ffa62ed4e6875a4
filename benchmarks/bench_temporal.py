"""Weights-free stage 2 (``TemporalRefiner``): flicker removal by frequency band, dynamic regions, 7-Scenes, speed.

1. Synthetic presets ``indoor-dynamic`` and ``close-object`` (exact GT): stage 1 is SIMULATED from the GT
   (``stereodiff.synth.simulated_stage1``: one global scale, per-frame scale/shift jitter, smooth noise, noisy
   low-confidence moving objects, holes) — a stand-in for a real stage 1. Standard protocol
   (``evaluate_sequence``, least squares in disparity, one fit per video); the per-frame AbsRel sequence is split
   into F0…F10 (``band_decomposition``). Stage 1 and the refiner are compared on the pixels where stage 1 has depth;
   the refiner also at full coverage.
2. ``rgbd-7scenes-50`` (real, static, hand-held): geometric stage 1 + global alignment, then the refiner.
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

HIGH_BANDS = slice(6, 11)  # F6…F10


def _nearest(depth: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[T,h,w]`` → ``[T,H,W]`` nearest-neighbour (keeps holes as holes)."""
    import cv2

    return np.stack([cv2.resize(d, size[::-1], interpolation=cv2.INTER_NEAREST) for d in depth])


def _evaluate(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, dynamic: np.ndarray, max_depth: float):
    """Standard protocol (one fit per video over all valid pixels): overall metrics, the F0…F10 bands of the
    per-frame AbsRel sequence, and the dynamic-region AbsRel (``evaluate_regions``)."""
    from stereodiff.eval.regions import evaluate_regions
    from stereodiff.eval.spectrum import band_decomposition

    regions = evaluate_regions(pred, gt, dynamic, pred_kind="depth", max_depth=max_depth, valid_mask=mask)
    bands = band_decomposition(regions["overall"].per_frame["abs_rel"]).values  # [11]
    return regions["overall"], bands, regions["dynamic"].abs_rel


def synthetic(quick: bool) -> str:
    from stereodiff.stage2.temporal import TemporalRefiner
    from stereodiff.synth import make_scene
    from stereodiff.synth.simulated_stage1 import simulate_stage1

    num_frames = 32 if quick else 96
    rows, band_rows = [], []
    for preset in ("indoor-dynamic", "close-object"):
        video = make_scene(preset, seed=0, num_frames=num_frames, height=240, width=320)
        gt = video.depth
        sim = simulate_stage1(gt, video.dynamic_mask, seed=1, size=(192, 256))
        refined = TemporalRefiner().refine(video.frames, sim.depth, sim.confidence)
        stage1 = _nearest(sim.depth, gt.shape[1:])
        covered = stage1 > 0
        max_depth = float(gt.max()) + 1.0
        results = {
            "stage 1 (simulated)": _evaluate(stage1, gt, covered, video.dynamic_mask, max_depth),
            "+ temporal": _evaluate(refined, gt, covered, video.dynamic_mask, max_depth),
            "+ temporal, full coverage": _evaluate(refined, gt, np.ones_like(covered), video.dynamic_mask, max_depth),
        }
        base_high = results["stage 1 (simulated)"][1][HIGH_BANDS].sum()
        for name, (metrics, bands, dyn) in results.items():
            rows.append(
                [
                    preset,
                    name,
                    metrics.abs_rel,
                    metrics.delta1,
                    dyn,
                    bands[0],
                    bands[HIGH_BANDS].sum(),
                    base_high / bands[HIGH_BANDS].sum(),
                ]
            )
            band_rows.append([preset, name, *[float(b) for b in bands]])
    table = markdown_table(
        ["preset", "method", "AbsRel", "δ1", "dynamic AbsRel", "F0", "F6…F10", "F6…F10 reduction ×"], rows
    )
    bands = markdown_table(["preset", "method", *[f"F{g}" for g in range(11)]], band_rows)
    return (
        f"Synthetic presets, {num_frames} frames at 320×240, stage 1 SIMULATED at 256×192 from the GT "
        "(`simulate_stage1`, seed 1; not a real stage 1). Standard protocol (least squares in disparity, one fit "
        "per video); bands of the per-frame AbsRel sequence.\n\n" + table + "\n\nAll bands (AbsRel):\n\n" + bands
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
        covered = _nearest(sim.depth, video.depth.shape[1:]) > 0
        cases.append((video, sim, covered, float(video.depth.max()) + 1.0))
    rows = []
    for name, values in SWEEP.items():
        for value in values:
            scores = []
            for video, sim, covered, max_depth in cases:
                refined = TemporalRefiner(**{name: value}).refine(video.frames, sim.depth, sim.confidence)
                metrics, bands, dyn = _evaluate(refined, video.depth, covered, video.dynamic_mask, max_depth)
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
    from stereodiff.stage1.alignment import global_alignment
    from stereodiff.stage1.geometric import GeometricMatcher
    from stereodiff.stage2.temporal import TemporalRefiner

    folder = SHARED_DATA / "rgbd-7scenes-50"
    if not folder.is_dir():
        return f"`{folder}` is absent: skipped."
    frames, gt, k = _read_7scenes(folder)
    start = time.perf_counter()
    matcher = GeometricMatcher(long_side=320, intrinsics=k)
    preds = matcher.predict(frames)
    geometry = global_alignment(preds, focal=585.0 * preds.size[1] / frames.shape[2])
    stage1_s = time.perf_counter() - start
    start = time.perf_counter()
    refined = TemporalRefiner().refine(frames, geometry.depth, geometry.confidence)
    stage2_s = time.perf_counter() - start
    stage1 = _nearest(geometry.depth.astype(np.float32), gt.shape[1:])
    rows = []
    for name, pred in (("geometric stage 1", stage1), ("+ temporal", refined)):
        covered = pred > 0
        m = evaluate_sequence(pred, gt, pred_kind="depth", max_depth=10.0, valid_mask=covered)
        coverage = float((covered & (gt > 0)).sum() / (gt > 0).sum())
        rows.append([name, m.abs_rel, m.delta1, coverage])
    return (
        f"`rgbd-7scenes-50` (50 frames, 640×480), geometric stage 1 at 320 px ({stage1_s:.1f} s) + temporal "
        f"refiner ({stage2_s:.1f} s, {len(frames) / stage2_s:.1f} frames/s incl. guided upsampling to 640×480). "
        "Standard protocol (least squares in disparity, one fit per video), GT < 10 m.\n\n"
        + markdown_table(["method", "AbsRel", "δ1", "coverage"], rows)
    )


def speed(quick: bool) -> str:
    from stereodiff.stage2.temporal import TemporalRefiner
    from stereodiff.synth import make_scene
    from stereodiff.synth.simulated_stage1 import simulate_stage1

    num_frames = 32 if quick else 96
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
        "Frames/s of `TemporalRefiner().refine` (defaults: 320-pixel working resolution, window 48, overlap 16), "
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
