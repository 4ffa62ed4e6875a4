"""``stereodiff eval``: evaluate a folder of predicted depth videos on a benchmark dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

DATASET_NAMES = ("sintel", "bonn", "kitti", "scannet", "tum", "7scenes", "synthetic")
PROTOCOL_NAMES = ("depthcrafter", "stereodiff", "monst3r")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate predictions (one <sequence>.npz each) on a dataset",
        description=(
            "Align each predicted video to ground truth (one scale and shift per video) and report AbsRel, SqRel, "
            "RMSE, log-RMSE and δ1-3 per sequence and for the dataset. Predictions: PRED/<sequence>.npz with key "
            "'disparity' or 'depth' holding [T,H,W]. Writes results.json and results.md to --out."
        ),
    )
    parser.add_argument("--dataset", required=True, choices=DATASET_NAMES, help="dataset format")
    parser.add_argument("--root", required=True, type=Path, help="dataset root folder")
    parser.add_argument("--pred", required=True, type=Path, help="folder of <sequence>.npz predictions")
    parser.add_argument("--preset", default=None, help="frame selection and cap (default: the standard protocol's)")
    parser.add_argument(
        "--protocol", default="depthcrafter", choices=PROTOCOL_NAMES,
        help="depthcrafter (default: lstsq in disparity, bilinear resize, frame mean), stereodiff (nearest resize), "
        "monst3r (L1 in depth, cubic resize, pixel-pooled and pixel-weighted)",
    )  # fmt: skip
    parser.add_argument("--pred-kind", choices=("depth", "disparity"), default=None, help="override the npz key")
    parser.add_argument("--per-frame", action="store_true", help="one scale/shift per frame (hides flicker)")
    parser.add_argument("--sequences", default=None, help="comma-separated sequence names (default: the preset's)")
    parser.add_argument("--tae", action="store_true", help="also the temporal alignment error (needs GT poses)")
    parser.add_argument("--out", type=Path, default=None, help="report folder (default PRED/eval_DATASET_PRESET)")
    parser.add_argument(
        "--html", type=Path, nargs="?", const=True, default=None, metavar="REPORT.html",
        help="also write one self-contained HTML page (default name: OUT/results.html)",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stereodiff.eval.report import dataset_markdown, write_dataset_report
    from stereodiff.eval.runner import evaluate_dataset

    result = evaluate_dataset(
        args.dataset,
        args.root,
        args.pred,
        preset=args.preset,
        protocol=args.protocol,
        pred_kind=args.pred_kind,
        per_frame=args.per_frame,
        sequences=[s for s in args.sequences.split(",") if s] if args.sequences else None,
        tae=args.tae,
    )
    out = args.out or args.pred / f"eval_{args.dataset}_{result.preset}"
    json_path, md_path = write_dataset_report(result, out)
    print(dataset_markdown(result))
    print(f"wrote {json_path} and {md_path}")
    if args.html is not None:
        from stereodiff.eval.html import write_html_report
        from stereodiff.eval.report import dataset_plot

        html_path = out / "results.html" if args.html is True else args.html
        plot = [("per-frame and per-sequence errors", dataset_plot(result))] if result.sequences else []
        settings = {"dataset": args.dataset, "root": str(args.root), "pred": str(args.pred), **result.settings}
        write_html_report(html_path, md_path.read_text(), title="stereodiff eval", images=plot, config=settings)
        print(f"wrote {html_path}")
    return 0
