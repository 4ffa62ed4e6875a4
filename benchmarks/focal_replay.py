"""The focal self-calibration's decisions without the pipeline: keep the cascade's track windows, replay its walk.

``dump`` runs the ``cpu`` preset's matcher on each clip up to its focal decision (≈ 5 s of CPU at 320×240, 64
frames), then stops; it keeps the Kruppa verdict (focal, contrast, the probe pairs' fundamental matrices), the truth
and the bundle step's track windows and arguments, one pickle per clip. The matcher runs with
``focal_kruppa_check``, so the bundle step's tracks are kept also where the Kruppa cost decides. ``replay`` runs the
cascade's walk again on the kept tracks (≈ 1 s per clip), with the preset's arguments or with ``--robust on/off``
(``GeometricConfig.focal_cascade_robust``), with ``--check`` the Kruppa decisions cross-checked by it
(``focal_kruppa_check``), and prints each clip's decision (focal ÷ truth, the tracks' error in mrad, the contrast;
right = within 5 %) and the counts. ``truth`` (rendered clips only) replays the walk on the same tracks with their
positions replaced by the renderer's exact projections, and without the tracks that start on a moving object or
that the renderer's depth test hides at a later keyframe: is a decision's error the tracks' or the method's?
``dump --flows`` also keeps the tracks' dense flows, and ``replay --edges T`` then replays the walk on the tracks
that ``GeometricConfig.focal_track_edges = T`` would leave (``dump --edges T`` runs the matcher with it);
``replay --trim T`` the walk with ``GeometricConfig.focal_trim_px = T``. Used for docs/geometric.md, "Tracks on
moving objects", "A confident wrong Kruppa decision", "Why the bundle step is wrong on three clips", "Tracks near
flow edges" and "Outlier tracks left out after a first walk".

    python benchmarks/focal_replay.py dump OUT_DIR static-orbit:0:64 close-object:0:90:320x240 7scenes tum
    python benchmarks/focal_replay.py replay OUT_DIR/*.pkl --robust off
    python benchmarks/focal_replay.py replay OUT_DIR/*.pkl --check
    python benchmarks/focal_replay.py truth OUT_DIR/static-orbit_46_64.pkl
    python benchmarks/focal_replay.py dump OUT_DIR static-orbit:46:64 --flows
    python benchmarks/focal_replay.py replay OUT_DIR/*.pkl --check --edges 1
    python benchmarks/focal_replay.py dump OUT_DIR static-orbit:118:64 --edges 1
    python benchmarks/focal_replay.py replay OUT_DIR/*.pkl --check --trim 1
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


def dump(out: Path, clip: str, keep_flows: bool = False, edges: float = 0.0) -> dict:
    """Run the ``cpu`` preset's matcher on ``clip`` (``PRESET:SEED:FRAMES[:WxH]``, ``7scenes`` or ``tum``) up to its
    focal and pickle what the cascade saw to ``out``; ``keep_flows``: also the tracks' dense flows, per window and
    step (forward and backward, float16; ≈ 13 MB per clip at 320×240), for ``replay --edges``; ``edges``: the
    matcher's ``focal_track_edges``."""
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
    tracked = geometric.track_window
    steps = record.setdefault("flows", [])  # per window, per step: forward and backward flow (float16)

    def window_flows(flows, num_keyframes, size, **options):
        steps.append([tuple(f.astype(np.float16) for f in flows(k)) for k in range(num_keyframes - 1)])
        return tracked(flows, num_keyframes, size, **options)

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
    config.stage1.focal_track_edges = edges
    matcher = geometric.GeometricMatcher(config.stage1, seed=config.seed)
    geometric.focal_from_tracks, geometric.GeometricMatcher._intrinsics = kept, stop
    geometric.focal_from_fundamentals = fundamentals
    if keep_flows:
        geometric.track_window = window_flows
    try:
        matcher.predict(frames)
    except _Stop:
        pass
    finally:
        geometric.focal_from_tracks, geometric.GeometricMatcher._intrinsics = walk, intrinsics
        geometric.focal_from_fundamentals = kruppa
        geometric.track_window = tracked
    if not record["flows"]:
        del record["flows"]
    record["truth"] = truth * matcher._long_side / 640  # at the working size (landscape frames: the width)
    out.write_bytes(pickle.dumps(record))
    return record


def edge_filtered(record: dict, edge_px: float) -> list:
    """The dumped track windows as ``GeometricConfig.focal_track_edges`` = ``edge_px`` would have left them (needs a
    dump with ``--flows``): a track ends at the first step where :func:`flow_edges` of the forward flow at its start,
    or of the backward flow at its end, exceeds ``edge_px`` × the working size's scale (the flows as dumped, float16;
    :func:`~stereodiff.stage1.focal_bundle.track_window` does the same on the float32 flows)."""
    from stereodiff.stage1.focal_bundle import TrackWindow, _sample, flow_edges

    if "flows" not in record:
        raise SystemExit(f"{record['clip']}: --edges needs a dump with --flows (dump it again)")
    threshold, radius = edge_px * record["px_scale"], max(1, round(2 * record["px_scale"]))
    windows = []
    for window, steps in zip(record["windows"], record["flows"], strict=True):
        ended, seen = np.zeros(len(window.ref), bool), []
        start = window.ref
        for (index, uv), (forward, backward) in zip(window.seen, steps, strict=True):
            edge = _sample(flow_edges(forward, backward, radius), start[index]) > threshold
            edge |= _sample(flow_edges(backward, forward, radius), uv) > threshold
            ended[index[edge]] = True
            keep = ~ended[index]
            seen.append((index[keep], uv[keep]))
            start = np.zeros_like(window.ref)
            start[index] = uv
        windows.append(TrackWindow(window.ref, seen))
    return windows


def replay(
    record: dict, robust: str, check: bool = False, edges: float = 0.0, trim: float = 0.0
) -> tuple[str, float | None, float, float, float]:
    """(kind, focal ÷ truth, noise mrad, contrast, CPU s): ``kind`` is ``Kruppa``, ``bundle`` or ``declined``.
    ``check``: where the Kruppa cost decided, its decision cross-checked by the bundle step
    (``GeometricConfig.focal_kruppa_check``; needs a dump with the Kruppa fields). ``edges``: the tracks filtered
    as ``GeometricConfig.focal_track_edges`` would (:func:`edge_filtered`). ``trim``: the walk with
    ``GeometricConfig.focal_trim_px`` = ``trim`` (a second walk without the tracks over ``trim`` px)."""
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
    options["trim_px"] = trim
    if robust != "preset":
        options.pop("loss", None)
        if robust == "on":
            options["loss"] = CASCADE_CAUCHY
    start = time.process_time()
    windows = edge_filtered(record, edges) if edges > 0 else record["windows"]
    estimate = focal_from_tracks(windows, record["principal_point"], record["prior"], record["px_scale"], **options)
    seconds = time.process_time() - start
    if decided:
        kruppa = FocalEstimate(record["kruppa_focal"], record["kruppa_best"], record["kruppa_contrast"])
        estimate = kruppa_checked(kruppa, estimate)
        kind = "Kruppa" if estimate is kruppa else "bundle"
    else:
        kind = "declined" if estimate.focal is None else "bundle"
    ratio = None if estimate.focal is None else estimate.focal / record["truth"]
    return kind, ratio, 1e3 * estimate.noise_rad, estimate.contrast, seconds


def _exact_tracks(record: dict) -> list[tuple[list[np.ndarray], np.ndarray, np.ndarray]]:
    """Per window of a rendered clip's dump: the exact positions ``[N,2]`` of its tracks' start points at each later
    keyframe (NaN where the renderer's depth test hides the point), and which tracks start on a moving object (or on
    nothing) and which are still followed at a keyframe where their point is hidden (bool ``[N]`` each)."""
    from stereodiff.stage1.focal_bundle import window_keyframes
    from stereodiff.synth import make_scene

    preset, seed, count, *size = record["clip"].split(":")
    width, height = (int(v) for v in (size[0] if size else "320x240").split("x"))
    video = make_scene(preset, seed=int(seed), num_frames=int(count), height=height, width=width)
    scene, K, c2w, fps = video.scene, video.K, video.cam_to_world, video.fps
    movers = list(video.info.get("moving_object_ids", []))
    result = []
    for window, frames in zip(record["windows"], window_keyframes(len(video.frames)), strict=True):
        depth, ids = scene.cast(frames[0] / fps, c2w[frames[0]], K, window.ref)
        rays = np.hstack([(window.ref - K[:2, 2]) / K[0, 0], np.ones((len(window.ref), 1))])
        world = (rays * depth[:, None]) @ c2w[frames[0]][:3, :3].T + c2w[frames[0]][:3, 3]
        mover = np.isin(ids, movers) | (depth <= 0)
        hidden, positions = np.zeros(len(window.ref), bool), []
        for frame, (index, _) in zip(frames[1:], window.seen, strict=True):
            to_camera = np.linalg.inv(c2w[frame])
            points = world @ to_camera[:3, :3].T + to_camera[:3, 3]
            uv = points[:, :2] / points[:, 2:] * K[0, 0] + K[:2, 2]
            seen_depth, _ = scene.cast(frame / fps, c2w[frame], K, uv)
            gone = mover | ~(np.abs(seen_depth - points[:, 2]) < 0.01 * points[:, 2])
            hidden[index] |= gone[index] & ~mover[index]  # still followed there: the track went onto something else
            positions.append(np.where(gone[:, None], np.nan, uv))
        result.append((positions, mover, hidden))
    return result


def truth(record: dict) -> tuple[list[tuple[int, int]], list[tuple[str, float | None, float, float]]]:
    """The walk (the preset's arguments) on a rendered clip's tracks: as dumped, with the renderer's exact positions
    (the tracks the renderer hides or that start on a mover left out where they are), and as dumped without the
    tracks that start on a moving object, without those hidden at a later keyframe, and without both. The counts of
    those two kinds per window, and rows of (variant, focal ÷ truth or None, noise mrad, contrast)."""
    from stereodiff.stage1.focal_bundle import TrackWindow, focal_from_tracks

    exact = _exact_tracks(record)
    options = {k: record[k] for k in ("search", "separate", "evaluations", "max_noise_rad", "loss") if k in record}

    def variant(pick) -> list[TrackWindow]:  # pick(window, keyframe, index, uv) -> (index, uv)
        return [
            TrackWindow(window.ref, [pick(w, k, index, uv) for k, (index, uv) in enumerate(window.seen)])
            for w, window in enumerate(record["windows"])
        ]

    def exact_uv(w, k, index, uv):
        true = exact[w][0][k][index]
        keep = np.isfinite(true).all(axis=1)
        return index[keep], true[keep]

    def without(which):
        def pick(w, k, index, uv):
            drop = which(exact[w][1], exact[w][2])[index]
            return index[~drop], uv[~drop]

        return pick

    variants = {
        "as dumped": record["windows"],
        "exact positions": variant(exact_uv),
        "without movers": variant(without(lambda mover, hidden: mover)),
        "without hidden": variant(without(lambda mover, hidden: hidden)),
        "without both": variant(without(lambda mover, hidden: mover | hidden)),
    }
    rows = []
    for name, windows in variants.items():
        estimate = focal_from_tracks(windows, record["principal_point"], record["prior"], record["px_scale"], **options)
        ratio = None if estimate.focal is None else estimate.focal / record["truth"]
        rows.append((name, ratio, 1e3 * estimate.noise_rad, estimate.contrast))
    return [(int(mover.sum()), int(hidden.sum())) for _, mover, hidden in exact], rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dumping = sub.add_parser("dump", help="keep the cascade's tracks of each clip")
    dumping.add_argument("out", type=Path)
    dumping.add_argument("clips", nargs="+", help="PRESET:SEED:FRAMES[:WxH], 7scenes or tum")
    dumping.add_argument("--flows", action="store_true", help="keep the tracks' dense flows too")
    dumping.add_argument("--edges", type=float, default=0.0, help="the matcher's focal_track_edges (px at 320 px)")
    replaying = sub.add_parser("replay", help="the walk again on kept tracks")
    replaying.add_argument("files", nargs="+", type=Path)
    replaying.add_argument("--robust", choices=("preset", "on", "off"), default="preset")
    replaying.add_argument("--check", action="store_true", help="Kruppa decisions cross-checked by the bundle step")
    replaying.add_argument("--edges", type=float, default=0.0, help="focal_track_edges (px at 320 px; --flows dumps)")
    replaying.add_argument("--trim", type=float, default=0.0, help="focal_trim_px (px at 320 px)")
    exact = sub.add_parser("truth", help="the walk on the renderer's exact tracks, and without movers / hidden tracks")
    exact.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    if args.command == "truth":
        for path in args.files:
            counts, rows = truth(pickle.loads(path.read_bytes()))
            print(f"{path.stem}: tracks on movers / hidden later, per window: {counts}")
            for name, ratio, noise, contrast in rows:
                shown = "declined" if ratio is None else f"{ratio:.3f}×"
                print(f"  {name}: {shown}, {noise:.2f} mrad, contrast {contrast:.2f}")
        return 0
    if args.command == "dump":
        args.out.mkdir(parents=True, exist_ok=True)
        for clip in args.clips:
            record = dump(args.out / f"{clip.replace(':', '_')}.pkl", clip, args.flows, args.edges)
            print(f"{clip}: {record['source']} {record['focal'] / record['truth']:.3f}× the truth", flush=True)
        return 0
    counts = collections.Counter()
    for path in args.files:
        record = pickle.loads(path.read_bytes())
        kind, ratio, noise, contrast, seconds = replay(record, args.robust, args.check, args.edges, args.trim)
        verdict = "declined" if ratio is None else "right" if abs(ratio - 1) <= 0.05 else "wrong"
        counts[verdict] += 1
        shown = "" if ratio is None else f" {ratio:.3f}×"
        print(f"{path.stem}: {kind}{shown} ({verdict}), {noise:.2f} mrad, contrast {contrast:.2f}, {seconds:.2f} s")
    print(f"right {counts['right']}, wrong {counts['wrong']}, declined {counts['declined']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
