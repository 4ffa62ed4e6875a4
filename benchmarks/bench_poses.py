"""Camera poses of the weights-free stage 1: ATE and RPE against the ground-truth trajectory.

Scenes: the synthetic presets (``static-orbit``, ``indoor-dynamic``, ``driving``, ``close-object``; 64 frames at
320×240 (``--quick``: 24 at 160×120, no real clips), the renderer's exact cameras; seed 0 unless ``--seeds`` says
otherwise) and the real RGB-D clips of ``../shared/data`` whose loader gives GT poses (7-Scenes: KinectFusion;
TUM fr1/desk: motion capture). Each scene runs the ``cpu`` preset's stage 1 (movers off: they change depth only,
never the cameras) twice: with its poses chained from the tree pairs' own relative poses
(``stage1.poses_from_pairs``, the preset) and with the global alignment's registrations (the previous preset), and
reports ATE / RPE after the Umeyama Sim(3) fit of the camera centres
(:func:`stereodiff.eval.temporal.trajectory_errors`, as MonST3R reports them; GT unit: metres for the real clips),
ATE also as a share of the GT path length, and the median rotation error of consecutive frames.

    python benchmarks/bench_poses.py [--quick] [--seeds 0 1] [--only NAME…] [--dry]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import SHARED_DATA, markdown_table, set_headline, write_section

SYNTHETIC = ("static-orbit", "indoor-dynamic", "driving", "close-object")
REAL = (("7-Scenes (real)", "7scenes", "rgbd-7scenes-50"), ("TUM fr1/desk (real)", "tum", "tum-fr1-desk-110"))
VARIANTS = (("chained pair poses (preset)", "true"), ("alignment's registrations", "false"))


def stage1_poses(frames: np.ndarray, chained: str) -> np.ndarray:
    """``[T,4,4]`` camera-to-world poses of the ``cpu`` preset's stage 1 on ``frames`` ``[T,H,W,3]`` uint8."""
    from stereodiff.config import preset_config, set_option
    from stereodiff.pipeline import StereoDiffPipeline

    config = preset_config("cpu")
    set_option(config, "stage1.movers", "false")
    set_option(config, "stage1.poses_from_pairs", chained)
    scene = StereoDiffPipeline.from_config(config).run_stage1(np.ascontiguousarray(frames))
    return np.asarray(scene.cam_to_world, np.float64)


def pose_row(name: str, label: str, estimate: np.ndarray, truth: np.ndarray) -> list:
    """One table row: ATE, ATE ÷ path length, RPE-trans, RPE-rot and the median consecutive rotation error."""
    from stereodiff.eval.temporal import align_trajectory, trajectory_errors

    errors = trajectory_errors(estimate, truth)
    path = float(np.linalg.norm(np.diff(truth[:, :3, 3], axis=0), axis=1).sum())
    aligned, _ = align_trajectory(estimate, truth)
    step_est = np.linalg.inv(aligned[:-1, :3, :3]) @ aligned[1:, :3, :3]
    step_gt = np.linalg.inv(truth[:-1, :3, :3]) @ truth[1:, :3, :3]
    miss = np.swapaxes(step_gt, 1, 2) @ step_est
    angle = np.degrees(np.arccos(np.clip((np.trace(miss, axis1=1, axis2=2) - 1) / 2, -1, 1)))
    return [name, label, errors.ate, errors.ate / max(path, 1e-12), errors.rpe_trans, errors.rpe_rot,
            float(np.median(angle))]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="24 frames at 160×120, synthetic scenes only")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the synthetic scenes")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only the scenes whose title contains a NAME")
    parser.add_argument("--dry", action="store_true", help="print the table, leave BENCHMARKS.md unchanged")
    args = parser.parse_args()

    def wanted(title: str) -> bool:
        return not args.only or any(name.lower() in title.lower() for name in args.only)

    from stereodiff.synth import make_scene

    num_frames, (height, width) = (24, (120, 160)) if args.quick else (64, (240, 320))
    clips = []  # (title, frames, GT poses)
    for preset in filter(wanted, SYNTHETIC):
        for seed in args.seeds:
            scene = make_scene(preset, seed=seed, num_frames=num_frames, height=height, width=width)
            clips.append((f"{preset} (seed {seed})", scene.frames, scene.cam_to_world))
    for title, kind, folder in REAL:
        if not args.quick and wanted(title) and (SHARED_DATA / folder).is_dir():
            from stereodiff.eval.datasets import load_dataset

            (sequence,) = load_dataset(kind, SHARED_DATA / folder)
            if sequence.cam_to_world is not None:
                clips.append((title, np.asarray(sequence.frames), sequence.cam_to_world))
    rows = []
    for title, frames, truth in clips:
        for label, chained in VARIANTS:
            rows.append(pose_row(title, label, stage1_poses(frames, chained), np.asarray(truth, np.float64)))
            print(markdown_table(["scene", "poses"], [rows[-1][:2]]).splitlines()[-1], rows[-1][2:], flush=True)
    header = ["scene", "poses", "ATE (GT unit)", "ATE ÷ path", "RPE trans", "RPE rot (°)", "median step rot. error (°)"]
    table = markdown_table(header, rows)
    print(table)
    if args.dry or args.only:
        return 0
    intro = __doc__.split("\n\n", 1)[1].rsplit("\n\n", 1)[0]
    body = f"{intro}\n\n{num_frames} frames per synthetic scene.\n\n{table}"
    write_section("poses", "Camera poses: ATE and RPE (cpu preset, stage 1)", body,
                  "python benchmarks/bench_poses.py" + (" --quick" if args.quick else ""))  # fmt: skip
    real = [row for row in rows if row[0].endswith("(real)") and row[1] == VARIANTS[0][0]]
    if real:
        parts = [f"{row[0].split(' (')[0]} ATE {row[2] * 100:.1f} cm, RPE rot {row[5]:.2f}°" for row in real]
        set_headline("poses", f"`cpu` preset camera poses (real clips, no GT camera given): {'; '.join(parts)} "
                     "after a Sim(3) fit (BENCHMARKS.md, section poses).")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
