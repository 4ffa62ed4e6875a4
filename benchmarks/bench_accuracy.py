"""Accuracy of the weights-free method, stage by stage, with baselines that show what each stage adds.

Scenes: the synthetic presets (``static-orbit``, ``indoor-dynamic``, ``driving``, ``close-object``; exact GT,
rendered at 320×240; seeds 0 and 1 unless ``--seeds`` says otherwise) and the real RGB-D frames of
``../shared/data/rgbd-7scenes-50`` and ``../shared/data/tum-fr1-desk-110`` (640×480, GT depth, cap 10 m).
Each scene runs the ``cpu`` preset once (geometric stage 1 at 320 px + temporal stage 2; no GT camera is given);
every row is then evaluated with the standard protocol (one least-squares scale & shift per video in disparity
space, DepthCrafter's ``eval.py``):

- ``stage 1``: the aligned stage-1 depth on the pixels it covers (coverage given);
- ``stage 1 + 2``: the final depth on the same pixels, and on all pixels;
- ``stage 1, per-frame scale`` (baseline): stage-1 depth with each frame divided by its own median, i.e. the
  global alignment's one scale replaced by per-frame scales — what global consistency is worth;
- ``stage 2 on a constant input`` (baseline): the temporal refiner fed a constant depth — what stage 2 adds alone;
- ``stage 1, nearest valid neighbour`` (baseline): every stage-1 hole takes the depth of its nearest covered pixel —
  what stage 2's hole filling must beat.

Per row: AbsRel, δ1, the F0 (= the metric) and F6…F10 (high-frequency flicker) bands of the per-frame AbsRel
sequence, AbsRel on dynamic / static pixels where masks exist, and AbsRel on the stage-1 holes (rows that cover
them; the scale and shift are fitted on the row's pixels, the holes are a region of that fit).
Writes the ``accuracy`` section of BENCHMARKS.md. ``--split`` (implies ``--dry``) prints a second table: where the
final loses against stage 1 (:func:`stereodiff.eval.honesty.stage2_split`) — the final on stage 1's covered pixels
under stage 1's own scale and shift (the refinement alone) and under the all-pixel fit (the pull of the filled
holes), and the contributions of covered / hole × static / moving pixels to the final all-pixel AbsRel.

    python benchmarks/bench_accuracy.py [--quick] [--seeds 0 1] [--only NAME…] [--set stage1.movers=true] [--split]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from _common import SHARED_DATA, markdown_table, set_headline, write_section

SYNTHETIC = ("static-orbit", "indoor-dynamic", "driving", "close-object")
#: real RGB-D clips: (row title, dataset loader, folder under ../shared/data)
REAL = (("7-Scenes (real)", "7scenes", "rgbd-7scenes-50"), ("TUM fr1/desk (real)", "tum", "tum-fr1-desk-110"))


def _row(scene: str, label: str, pred, gt, valid, dynamic, max_depth: float, holes=None) -> list:
    from stereodiff.eval.protocol import evaluate_sequence
    from stereodiff.eval.regions import evaluate_regions
    from stereodiff.eval.spectrum import band_decomposition, error_sequences

    coverage = float(valid[gt > 0].mean()) if valid is not None else 1.0
    if dynamic is not None and dynamic.any():
        regions = evaluate_regions(pred, gt, dynamic, pred_kind="depth", max_depth=max_depth, valid_mask=valid)
        overall, dyn, stat = regions["overall"], regions["dynamic"].abs_rel, regions["static"].abs_rel
    else:
        overall = evaluate_sequence(pred, gt, pred_kind="depth", max_depth=max_depth, valid_mask=valid)
        dyn, stat = float("nan"), overall.abs_rel
    bands = band_decomposition(error_sequences(overall)["abs_rel"]).values
    on_holes = float("nan")
    if holes is not None and (holes & (gt > 0)).any():
        on_holes = evaluate_regions(pred, gt, holes, pred_kind="depth", max_depth=max_depth)["dynamic"].abs_rel
    return [scene, label, f"{coverage:.1%}", overall.abs_rel, overall.delta1, bands[0], float(np.sum(bands[6:11])),
            dyn, stat, on_holes]  # fmt: skip


#: columns of the ``--split`` table (keys of :func:`stereodiff.eval.honesty.stage2_split`)
SPLIT_COLUMNS = ("stage 1", "final covered", "stage 1 static", "final covered, stage-1 fit static", "stage 1 moving",
                 "final covered, stage-1 fit moving", "final covered, all-pixel fit", "final all", "covered static",
                 "covered moving", "holes static", "holes moving")  # fmt: skip


def evaluate_scene(
    name: str,
    frames: np.ndarray,
    gt: np.ndarray,
    dynamic,
    max_depth: float,
    fps: float,
    settings: tuple = (),
    split: list | None = None,
) -> list:
    """Run the cpu preset (with ``settings``, ``KEY=VALUE`` strings as ``--set``) on ``frames`` and return the table
    rows of every variant; with ``split`` (a list), append the scene's ``--split`` row to it."""
    from stereodiff.config import preset_config, set_option
    from stereodiff.eval.baselines import nearest_valid_fill
    from stereodiff.eval.protocol import resize_prediction
    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.types import Video

    config = preset_config("cpu")
    for item in settings:
        key, _, value = item.partition("=")
        set_option(config, key.strip(), value)
    pipe = StereoDiffPipeline.from_config(config)
    start = time.perf_counter()
    result = pipe(Video(np.ascontiguousarray(frames), fps=fps))
    seconds = time.perf_counter() - start
    size = gt.shape[1:]
    stage1 = resize_prediction(result.stage1_depth, size, "nearest")  # [T,H,W], 0 = hole
    covered = stage1 > 0
    per_frame = np.stack([d / np.median(d[d > 0]) if (d > 0).any() else d for d in stage1]).astype(np.float32)
    constant = np.full(result.geometry.depth.shape, 1.0, np.float32)
    stage2_alone = pipe.stage2.refiner.refine(frames, constant, np.ones_like(constant))  # the refiner alone
    nearest = resize_prediction(nearest_valid_fill(result.stage1_depth), size, "nearest")
    holes = ~covered
    rows = [
        _row(name, "stage 1", stage1, gt, covered, dynamic, max_depth),
        _row(name, "stage 1 + 2 (stage-1 pixels)", result.depth, gt, covered, dynamic, max_depth),
        _row(name, "stage 1 + 2 (all pixels)", result.depth, gt, None, dynamic, max_depth, holes),
        _row(name, "baseline: stage 1, nearest valid neighbour", nearest, gt, None, dynamic, max_depth, holes),
        _row(name, "baseline: stage 1, per-frame scale", per_frame, gt, covered, dynamic, max_depth),
        _row(name, "baseline: stage 2 on a constant input", stage2_alone, gt, None, dynamic, max_depth, holes),
    ]
    if split is not None:
        from stereodiff.eval.honesty import stage2_split

        parts = stage2_split(result.depth, stage1, gt, dynamic, max_depth=max_depth)
        split.append([name] + [parts[column] for column in SPLIT_COLUMNS])
        print("split: " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in split[-1]), flush=True)
    print(f"{name}: {len(frames)} frames in {seconds:.1f} s ({len(frames) / seconds:.2f} frames/s)", flush=True)
    for row in rows:  # as they come: a later scene's failure does not lose them
        print(" | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row), flush=True)
    return rows


def main() -> int:
    from stereodiff.cli.run import add_settings_argument

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 frames at 160×120, synthetic scenes only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="seeds of the synthetic scenes")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only the scenes whose title contains a NAME")
    parser.add_argument("--dry", action="store_true", help="print the table, leave BENCHMARKS.md unchanged")
    add_settings_argument(parser, "a setting of the cpu preset, as `stereodiff run --set` (repeatable; implies --dry)")
    parser.add_argument("--split", action="store_true", help="also print where the final loses (implies --dry)")
    parser.add_argument(
        "--rolling-shutter",
        type=float,
        default=0.0,
        metavar="READOUT",
        help="render the synthetic scenes through a rolling shutter of this readout (fraction of the frame "
        "interval; default 0: global shutter; implies --dry)",
    )
    parser.add_argument(
        "--tremor",
        type=float,
        default=0.0,
        metavar="DEG",
        help="add a hand tremor of this amplitude (degrees, 3-5 Hz) to the synthetic cameras (default 0; "
        "implies --dry)",
    )
    args = parser.parse_args()
    split: list | None = [] if args.split else None

    def wanted(title: str) -> bool:
        return not args.only or any(name.lower() in title.lower() for name in args.only)

    from stereodiff.synth import make_scene

    num_frames, (height, width) = (24, (120, 160)) if args.quick else (64, (240, 320))
    rows = []
    for preset in filter(wanted, SYNTHETIC):
        for seed in args.seeds:
            scene = make_scene(
                preset,
                seed=seed,
                num_frames=num_frames,
                height=height,
                width=width,
                rolling_shutter=args.rolling_shutter,
                tremor_deg=args.tremor,
            )
            max_depth = float(scene.depth.max()) + 1.0
            label = f"{preset} (seed {seed})" + (f", readout {args.rolling_shutter:g}" if args.rolling_shutter else "")
            label += f", tremor {args.tremor:g}°" if args.tremor else ""
            rows += evaluate_scene(
                label, scene.frames, scene.depth, scene.dynamic_mask, max_depth, scene.fps, args.settings, split
            )
    for title, kind, folder in REAL:
        if not args.quick and wanted(title) and (SHARED_DATA / folder).is_dir():
            from stereodiff.eval.datasets import load_dataset

            (sequence,) = load_dataset(kind, SHARED_DATA / folder)
            gt = np.where(sequence.valid, sequence.depth, 0.0).astype(np.float32)
            rows += evaluate_scene(title, np.asarray(sequence.frames), gt, None, 10.0, 30.0, args.settings, split)
    header = ["scene", "depth", "coverage", "AbsRel", "δ1", "F0", "F6…F10", "AbsRel dynamic", "AbsRel static",
              "AbsRel stage-1 holes"]  # fmt: skip
    table = markdown_table(header, rows)
    print(table)
    if split:
        print(markdown_table(["scene", *SPLIT_COLUMNS], split))
    if args.dry or args.only or args.settings or args.split or args.rolling_shutter or args.tremor:
        return 0
    body = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0] + "\n\n" + f"{num_frames} frames per synthetic scene.\n\n"
    command = "python benchmarks/bench_accuracy.py" + (" --quick" if args.quick else "")
    command += f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != parser.get_default("seeds") else ""
    write_section("accuracy", "Accuracy: what each stage adds (cpu preset)", body + table, command)
    real = [row for row in rows if row[0].startswith("7-Scenes")]
    if real:
        s1, s12 = real[0], real[2]
        set_headline(
            "accuracy",
            f"7-Scenes (real, 50 frames, no GT camera given): `cpu` preset AbsRel {s1[3]:.3f} → {s12[3]:.3f}, "
            f"δ1 {s1[4]:.3f} → {s12[4]:.3f} from stage 1 ({s1[2]} of pixels) to stage 1 + 2 (all pixels), "
            f"standard protocol (BENCHMARKS.md, section accuracy).",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
