"""The focal self-calibration's decisions without the pipeline: keep the cascade's track windows, replay its walk.

``dump`` runs the ``cpu`` preset's matcher on each clip up to its focal decision (≈ 5 s of CPU at 320×240, 64
frames), then stops; it keeps the Kruppa verdict (focal, contrast, the probe pairs' fundamental matrices), the truth
and the bundle step's track windows and arguments, one pickle per clip. The matcher runs with
``focal_kruppa_check``, so the bundle step's tracks are kept also where the Kruppa cost decides. ``replay`` runs the
cascade's walk again on the kept tracks (≈ 1 s per clip), with the preset's arguments or with ``--robust on/off``
(``GeometricConfig.focal_cascade_robust``), with ``--check`` the Kruppa decisions cross-checked by it
(``focal_kruppa_check``), and prints each clip's decision (focal ÷ truth, the tracks' error in mrad, the contrast;
right = within 5 %) and the counts. Used for docs/geometric.md, "Tracks on moving objects" and "A confident wrong
Kruppa decision".

    python benchmarks/focal_replay.py dump OUT_DIR static-orbit:0:64 close-object:0:90:320x240 7scenes tum
    python benchmarks/focal_replay.py replay OUT_DIR/*.pkl --robust off
    python benchmarks/focal_replay.py replay OUT_DIR/*.pkl --check
"""

from __future__ import annotations

import argparse
import collections
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from _common import SHARED_DATA

REAL = {"7scenes": ("rgbd-7scenes-50", 525.0), "tum": ("tum-fr1-desk-110", 517.3)}  # focal @640: RGB nominal, TUM's


class _Stop(Exception):
    """Raised once the matcher has its focal."""


def dump(out: Path, clip: str) -> dict:
    """Run the ``cpu`` preset's matcher on ``clip`` (``PRESET:SEED:FRAMES[:WxH]``, ``7scenes`` or ``tum``) up to its
    focal and pickle what the cascade saw to ``out``."""
    import stereodiff.stage1.geometric as geometric
    from stereodiff.config import preset_config

    record: dict = {"clip": clip}
    walk, kruppa = geometric.focal_from_tracks, geometric.focal_from_fundamentals

    def fundamentals(matrices, principal_point, size):
        estimate = kruppa(matrices, principal_point, size)
        record.update(kruppa_focal=estimate.focal, kruppa_best=estimate.best, kruppa_contrast=estimate.contrast)
        record.update(fundamentals=matrices, kruppa_size=size)
        return estimate

    def kept(windows, principal_point, prior, px_scale=1.0, **options):
        record.update(windows=windows, principal_point=principal_point, prior=prior, px_scale=px_scale, **options)
        return walk(windows, principal_point, prior, px_scale, **options)

    intrinsics = geometric.GeometricMatcher._intrinsics

    def stop(self, src_size, size, gray):
        K, source = intrinsics(self, src_size, size, gray)
        record.update(focal=float(K[0, 0]), source=source, reason=self._focal_reason)
        raise _Stop

    if clip in REAL:
        from stereodiff.eval.datasets import load_dataset

        folder, focal640 = REAL[clip]
        (sequence,) = load_dataset(clip, SHARED_DATA / folder)
        frames, truth = np.ascontiguousarray(np.asarray(sequence.frames)), focal640
    else:
        from stereodiff.synth import make_scene

        preset, seed, count, *size = clip.split(":")
        width, height = (int(v) for v in (size[0] if size else "320x240").split("x"))
        scene = make_scene(preset, seed=int(seed), num_frames=int(count), height=height, width=width)
        frames, truth = scene.frames, float(scene.K[0, 0]) * 640 / width
    config = preset_config("cpu")
    config.stage1.focal_kruppa_check = True  # the bundle step's tracks also where the Kruppa cost decides
    matcher = geometric.GeometricMatcher(config.stage1, seed=config.seed)
    geometric.focal_from_tracks, geometric.GeometricMatcher._intrinsics = kept, stop
    geometric.focal_from_fundamentals = fundamentals
    try:
        matcher.predict(frames)
    except _Stop:
        pass
    finally:
        geometric.focal_from_tracks, geometric.GeometricMatcher._intrinsics = walk, intrinsics
        geometric.focal_from_fundamentals = kruppa
    record["truth"] = truth * matcher._long_side / 640  # at the working size (landscape frames: the width)
    out.write_bytes(pickle.dumps(record))
    return record


def replay(record: dict, robust: str, check: bool = False) -> tuple[str, float | None, float, float, float]:
    """(kind, focal ÷ truth, noise mrad, contrast, CPU s): ``kind`` is ``Kruppa``, ``bundle`` or ``declined``.
    ``check``: where the Kruppa cost decided, its decision cross-checked by the bundle step
    (``GeometricConfig.focal_kruppa_check``; needs a dump with the Kruppa fields)."""
    from stereodiff.stage1.epipolar import FocalEstimate
    from stereodiff.stage1.focal_bundle import CASCADE_CAUCHY, focal_from_tracks, kruppa_checked

    if check and "kruppa_focal" not in record:
        raise SystemExit(f"{record['clip']}: --check needs a dump with the Kruppa verdict (dump it again)")
    decided = record["source"] == "estimated" if "kruppa_focal" not in record else record["kruppa_focal"] is not None
    if decided and not check:
        focal = record.get("kruppa_focal", record["focal"])
        return "Kruppa", focal / record["truth"], float("nan"), record.get("kruppa_contrast", float("nan")), 0.0
    if "windows" not in record:
        return "declined", None, float("nan"), float("nan"), 0.0
    options = {k: record[k] for k in ("search", "separate", "evaluations", "max_noise_rad", "loss") if k in record}
    if robust != "preset":
        options.pop("loss", None)
        if robust == "on":
            options["loss"] = CASCADE_CAUCHY
    start = time.process_time()
    estimate = focal_from_tracks(
        record["windows"], record["principal_point"], record["prior"], record["px_scale"], **options
    )
    seconds = time.process_time() - start
    if decided:
        kruppa = FocalEstimate(record["kruppa_focal"], record["kruppa_best"], record["kruppa_contrast"])
        estimate = kruppa_checked(kruppa, estimate)
        kind = "Kruppa" if estimate is kruppa else "bundle"
    else:
        kind = "declined" if estimate.focal is None else "bundle"
    ratio = None if estimate.focal is None else estimate.focal / record["truth"]
    return kind, ratio, 1e3 * estimate.noise_rad, estimate.contrast, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dumping = sub.add_parser("dump", help="keep the cascade's tracks of each clip")
    dumping.add_argument("out", type=Path)
    dumping.add_argument("clips", nargs="+", help="PRESET:SEED:FRAMES[:WxH], 7scenes or tum")
    replaying = sub.add_parser("replay", help="the walk again on kept tracks")
    replaying.add_argument("files", nargs="+", type=Path)
    replaying.add_argument("--robust", choices=("preset", "on", "off"), default="preset")
    replaying.add_argument("--check", action="store_true", help="Kruppa decisions cross-checked by the bundle step")
    args = parser.parse_args()
    if args.command == "dump":
        args.out.mkdir(parents=True, exist_ok=True)
        for clip in args.clips:
            record = dump(args.out / f"{clip.replace(':', '_')}.pkl", clip)
            print(f"{clip}: {record['source']} {record['focal'] / record['truth']:.3f}× the truth", flush=True)
        return 0
    counts = collections.Counter()
    for path in args.files:
        kind, ratio, noise, contrast, seconds = replay(pickle.loads(path.read_bytes()), args.robust, args.check)
        verdict = "declined" if ratio is None else "right" if abs(ratio - 1) <= 0.05 else "wrong"
        counts[verdict] += 1
        shown = "" if ratio is None else f" {ratio:.3f}×"
        print(f"{path.stem}: {kind}{shown} ({verdict}), {noise:.2f} mrad, contrast {contrast:.2f}, {seconds:.2f} s")
    print(f"right {counts['right']}, wrong {counts['wrong']}, declined {counts['declined']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
