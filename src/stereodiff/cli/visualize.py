"""``stereodiff visualize DEPTH -o preview.mp4``: colour-mapped mp4 of a saved depth video."""

from __future__ import annotations

import argparse
from pathlib import Path

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "visualize",
        help="turn a saved depth video (npz, PNG16 or EXR folder) into a colour-mapped mp4",
        description="Colour-map a depth video with ONE range for the whole video (near = bright) and encode it "
        "as H.264. DEPTH is an .npz (ours or another tool's: an array 'depth', 'disparity' or a single array), "
        "or a folder written by stereodiff as PNG16 or EXR.",
    )
    parser.add_argument("depth", metavar="DEPTH", help=".npz file, PNG16 folder or EXR folder")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output video (.mp4, .mkv or .mov)")
    parser.add_argument("--colormap", default="inferno", help="matplotlib colormap: inferno, turbo, grey, ...")
    parser.add_argument("--side-by-side", metavar="VIDEO", help="put the source video's RGB frames on the left")
    parser.add_argument(
        "--quantity", choices=("depth", "disparity"), help="what to show (default: disparity when saved)"
    )
    parser.add_argument("--fps", type=float, help="playback frame rate (default: the depth video's own)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stereodiff.errors import InputError
    from stereodiff.io.depth import load_depth_video
    from stereodiff.io.files import ensure_writable_dir
    from stereodiff.io.visualize import colormap_lut, write_depth_preview, write_side_by_side

    if args.output.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"output {args.output} must end in {', '.join(VIDEO_SUFFIXES)}", "e.g. -o preview.mp4")
    if args.fps is not None and not args.fps > 0:
        raise InputError(f"--fps must be positive, got {args.fps}", "e.g. --fps 30")
    colormap_lut(args.colormap)  # fail on a bad name before any work
    ensure_writable_dir(args.output.parent)
    video = load_depth_video(args.depth)
    options = {"colormap": args.colormap, "quantity": args.quantity, "fps": args.fps}
    if args.side_by_side:
        write_side_by_side(args.output, video, args.side_by_side, **options)
    else:
        write_depth_preview(args.output, video, **options)
    print(args.output)
    return 0
