"""``stereodiff analyze``: frequency-domain analysis of one or more predictions of the same video."""

from __future__ import annotations

import argparse
from pathlib import Path

from stereodiff.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="per-frame errors, error spectra, F0…F10 bands of one or more predictions (amplitude ratio of two)",
        description=(
            "Evaluate each PRED.npz (e.g. the five methods' outputs on one video) against the ground truth --gt, then "
            "decompose the per-frame error sequences (AbsRel, RMSE, 1-δ1) into 11 exponentially spaced frequency "
            "bands (StereoDiff §3.1); with exactly two predictions also their amplitude ratio. Writes "
            "analysis.json, analysis.md and PNG plots to --out. --gt is an npz with key 'depth' [T,H,W] in metres "
            "(optional 'dynamic_mask'), or a dataset sequence folder (with --dataset; or --gt ROOT --sequence NAME)."
        ),
    )
    parser.add_argument("pred", type=Path, nargs="+", metavar="PRED.npz", help="one or more prediction files")
    parser.add_argument("--gt", required=True, type=Path, help="GT npz or dataset sequence folder / root")
    parser.add_argument("--dataset", default=None, help="dataset format of --gt (default: guessed from the folder)")
    parser.add_argument("--preset", default=None, help="dataset preset (frame selection and cap)")
    parser.add_argument("--sequence", default=None, help="sequence name when --gt is a dataset root")
    parser.add_argument("--max-depth", type=float, default=None, help="depth cap in metres (default: the preset's)")
    parser.add_argument("--protocol", default="depthcrafter", choices=("depthcrafter", "stereodiff", "monst3r"))
    parser.add_argument("--labels", nargs="+", default=None, help="names of the methods (default: file stems)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate, for frequencies in Hz")
    parser.add_argument("--out", type=Path, default=Path("analysis"), help="report folder (default ./analysis)")
    parser.add_argument(
        "--html", type=Path, nargs="?", const=True, default=None, metavar="REPORT.html",
        help="also write one self-contained HTML page (default name: OUT/analysis.html)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _load_gt(args: argparse.Namespace):
    """``(depth [T,H,W], valid or None, dynamic mask or None, max_depth)`` of ``--gt``."""
    import numpy as np

    gt = args.gt
    if gt.suffix == ".npz":
        if not gt.is_file():
            raise InputError(f"--gt file {gt} not found", "pass an npz with key 'depth' or a sequence folder")
        with np.load(gt) as data:
            if "depth" not in data.files:
                raise InputError(f"{gt} has keys {data.files}", "the GT npz needs 'depth' [T,H,W] in metres")
            depth = data["depth"].astype(np.float32)
            dynamic = data["dynamic_mask"].astype(bool) if "dynamic_mask" in data.files else None
        return depth, None, dynamic, args.max_depth
    from stereodiff.eval.datasets import DATASETS, get_preset

    if not gt.is_dir():
        raise InputError(f"--gt {gt} is neither an npz file nor a folder", "pass a GT npz or a sequence folder")
    dataset = args.dataset
    if dataset is None:
        if (gt / "meta.json").is_file():
            dataset = "synthetic"
        elif any(gt.glob("frame-*.depth.png")):
            dataset = "7scenes"
        elif (gt / "rgb.txt").is_file():
            dataset = "tum"
        else:
            raise InputError(f"cannot tell the dataset format of {gt}", f"pass --dataset ({', '.join(DATASETS)})")
    preset = get_preset(dataset, args.preset)
    root, name = (gt, args.sequence) if args.sequence else (gt.parent, gt.name)
    seq = DATASETS[dataset].load_sequence(root, name, preset)
    max_depth = args.max_depth if args.max_depth is not None else seq.max_depth
    return seq.depth, seq.valid, seq.dynamic_mask, max_depth


def run(args: argparse.Namespace) -> int:
    from stereodiff.eval.protocol import evaluate_sequence, protocol_options
    from stereodiff.eval.regions import evaluate_regions
    from stereodiff.eval.report import analysis_report, write_analysis
    from stereodiff.eval.runner import load_prediction

    labels = args.labels or [p.stem for p in args.pred]
    if len(labels) != len(args.pred) or len(set(labels)) != len(labels):
        raise InputError(f"--labels {labels} must name each prediction once", "give one distinct label per file")
    depth, valid, dynamic, max_depth = _load_gt(args)
    methods, regions = {}, {}
    for label, path in zip(labels, args.pred):
        pred, kind = load_prediction(path)
        options = {"pred_kind": kind, "max_depth": max_depth, "valid_mask": valid, **protocol_options(args.protocol)}
        if dynamic is None:
            methods[label] = evaluate_sequence(pred, depth, **options)
        else:
            regions[label] = evaluate_regions(pred, depth, dynamic, **options)
            methods[label] = regions[label]["overall"]
    report = analysis_report(methods, fps=args.fps, regions=regions or None)
    paths = write_analysis(report, args.out)
    if args.html is not None:
        from stereodiff.eval.html import write_html_report

        html_path = args.out / "analysis.html" if args.html is True else args.html
        settings = {"predictions": [str(p) for p in args.pred], "labels": labels, "gt": str(args.gt)}
        settings |= {"dataset": args.dataset, "protocol": args.protocol, "max_depth": max_depth, "fps": args.fps}
        plots = [p for p in paths if p.suffix == ".png"]
        md = (args.out / "analysis.md").read_text()
        paths.append(write_html_report(html_path, md, title="stereodiff analysis", images=plots, config=settings))
    print((args.out / "analysis.md").read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0
