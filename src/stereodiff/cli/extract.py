"""``stereodiff extract INPUT -o DIR``: decode the selected frames of a video (or image set) to PNG files."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The frame-selection options every command that reads a video shares."""
    parser.add_argument("--frames", metavar="START:STOP:STEP", help="source frame range, e.g. 0:100:2 or 10:")
    parser.add_argument("--stride", type=int, default=1, help="keep every N-th frame of the range")
    parser.add_argument("--max-frames", type=int, help="keep at most N frames")
    parser.add_argument("--max-res", type=int, help="shrink frames so the long side is at most N pixels")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="decode frames of a video, image folder, glob or list file to PNGs",
        description="Write the selected frames as DIR/NNNNNN.png (NNNNNN = source frame index, RGB 8-bit). "
        "Shows what stereodiff reads from an input: frame order, range, size.",
    )
    parser.add_argument("input", metavar="INPUT", help="video file, image folder, glob pattern or list file")
    parser.add_argument("-o", "--output", required=True, type=Path, help="output folder (created)")
    add_input_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import cv2

    from stereodiff.io.files import atomic_dir, ensure_writable_dir
    from stereodiff.io.video import iter_indexed_frames
    from stereodiff.progress import logger, progress

    frames = iter_indexed_frames(
        args.input, frames=args.frames, max_frames=args.max_frames, stride=args.stride, max_res=args.max_res
    )
    ensure_writable_dir(args.output.parent)
    count = 0
    with atomic_dir(args.output, replaceable=lambda p: p.suffix == ".png" and p.stem.isdigit()) as tmp:
        for index, frame in progress(frames, desc="extracting frames", unit="frame"):
            ok, data = cv2.imencode(".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            if not ok:
                raise RuntimeError(f"OpenCV failed to encode frame {index}")
            (tmp / f"{index:06d}.png").write_bytes(data.tobytes())
            count += 1
    logger.info("wrote %d frames to %s", count, args.output)
    print(args.output)
    return 0
