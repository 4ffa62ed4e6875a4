"""Where the moving-pixel error comes from: a per-object diagnosis of the `cpu` preset on the dynamic presets.

For every independently moving object of a rendered scene (64 frames, 320×240): the frames it is seen in, its true
depth, its share of the moving pixels, how much of it stage 1 triangulated (coverage), how much the mover
segmentation found (recall), how much of it the movers step gave a mover depth (re-depthed) and in what share of
its frames (at least 5 % of it; a mover missed in whole frames against one found in part), and its depth after the
video's one alignment as a ratio to the truth (median aligned
/ true; 1 = right) at three points: stage 1 before the movers step (covered pixels), after it, and the final depth
(all pixels), with its final AbsRel. ``scale px``: the image-plane signal that separates the object at its true
depth from the same object infinitely far, when it moves at constant velocity
(``stereodiff.eval.objects.constant_velocity_parallax_px``; the camera's deviation from constant velocity over the
frames the object is seen in) — under ~2 px its depth is not observable from the camera's motion.

Stage 1 runs once with ``stage1.movers=false``; the movers step and stage 2 then run on its scene,
exactly as the `cpu` preset chains them (so "final" is the preset's output). Writes the ``movers`` section of
BENCHMARKS.md.

    python benchmarks/bench_movers.py [--quick] [--only close-object] [--seeds 0 1 2 3] [--set KEY=VALUE]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import markdown_table, write_section

DYNAMIC = ("indoor-dynamic", "driving", "close-object")


def diagnose(preset: str, seed: int, size: tuple[int, int, int], settings: tuple = ()) -> list[list]:
    """Table rows (one per moving object) of one rendered scene of ``size`` = (frames, height, width)."""
    from stereodiff.config import preset_config, set_option
    from stereodiff.eval.objects import constant_velocity_parallax_px, object_breakdown
    from stereodiff.eval.protocol import resize_prediction
    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.stage1.geometric import AHEAD_SHARE, mover_settings
    from stereodiff.stage1.movers import handle_movers
    from stereodiff.synth import make_scene

    num_frames, height, width = size
    video = make_scene(preset, seed=seed, num_frames=num_frames, height=height, width=width)
    config = preset_config("cpu")
    for item in (*settings, "stage1.movers=false"):
        key, _, value = item.partition("=")
        set_option(config, key.strip(), value)
    pipe = StereoDiffPipeline.from_config(config)
    frames = np.ascontiguousarray(video.frames)
    before = pipe.run_stage1(frames)  # the fused, aligned stage 1, movers not applied
    ahead = bool(pipe.stage1.report.ahead_share >= AHEAD_SHARE)  # NaN (not probed): False
    after, moving = handle_movers(frames, before, mover_settings(config.stage1, ahead))  # the preset's knobs
    final = pipe.stage2.refiner.refine(frames, np.asarray(after.depth), np.asarray(after.confidence))
    gt_size, max_depth = video.depth.shape[1:], float(video.depth.max()) + 1.0
    given = (np.asarray(after.depth) != np.asarray(before.depth)) & (np.asarray(after.depth) > 0)  # [T,h,w]
    common = {"max_depth": max_depth, "moving": resize_prediction(moving, gt_size, "nearest"),
              "redepthed": resize_prediction(given, gt_size, "nearest")}  # fmt: skip
    stages = []
    for depth in (before.depth, after.depth):
        depth = resize_prediction(np.asarray(depth), gt_size, "nearest")
        stages.append(object_breakdown(depth, video.depth, video.object_ids, video.dynamic_mask, covered=depth > 0,
                                       **common))  # fmt: skip
    stages.append(object_breakdown(final, video.depth, video.object_ids, video.dynamic_mask, **common))
    rotation = video.cam_to_world[len(video.cam_to_world) // 2, :3, :3]  # camera axes at the middle frame
    rows = []
    for s1, moved, out in zip(*stages):
        seen = np.flatnonzero((video.object_ids == out.object_id).any(axis=(1, 2)))
        centres = video.cam_to_world[seen[0] : seen[-1] + 1, :3, 3] @ rotation  # [n,3] in camera axes
        signal = constant_velocity_parallax_px(centres, out.depth_m, float(video.K[0, 0])) if len(seen) > 2 else np.nan
        rows.append([f"{preset} (seed {seed})", out.object_id, out.frames, out.depth_m, f"{out.share:.0%}",
                     f"{s1.coverage:.0%}", f"{out.recall:.0%}", f"{out.redepthed:.0%}", f"{out.redepthed_frames:.0%}",
                     s1.ratio, moved.ratio, out.ratio, out.abs_rel, signal])  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 frames at 160×120, seed 0")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=DYNAMIC, help="presets (default: all dynamic)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds (default 0 1 2 3)")
    parser.add_argument("--dry", action="store_true", help="print the table, leave BENCHMARKS.md unchanged")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting of the cpu preset, as `stereodiff run --set` (repeatable)")  # fmt: skip
    args = parser.parse_args()
    size = (24, 120, 160) if args.quick else (64, 240, 320)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2, 3])
    rows = []
    for preset in args.only or DYNAMIC:
        for seed in seeds:
            scene_rows = diagnose(preset, seed, size, tuple(args.settings))
            for row in scene_rows:  # as they come: a later scene's failure does not lose them
                print(" | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row), flush=True)
            rows += scene_rows
    header = ["scene", "object", "frames", "depth (m)", "share of moving px", "stage-1 coverage", "recall",
              "re-depthed", "frames re-depthed", "ratio stage 1", "ratio after movers", "ratio final", "AbsRel final",
              "scale px"]  # fmt: skip
    table = markdown_table(header, rows)
    print(table)
    if args.dry or args.only or args.seeds or args.settings:
        return 0
    body = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0] + f"\n\n{size[0]} frames, {size[2]}×{size[1]}.\n\n"
    write_section("movers", "Moving objects, per object (cpu preset)", body + table,
                  "python benchmarks/bench_movers.py" + (" --quick" if args.quick else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
