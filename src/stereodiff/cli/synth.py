"""``stereodiff synth``: render a synthetic video with exact ground truth into a dataset folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from stereodiff.errors import InputError

#: the presets of ``stereodiff.synth.PRESETS`` (listed here so ``--help`` does not import the renderer)
PRESET_NAMES = ("static-orbit", "indoor-dynamic", "driving", "close-object")


def parse_size(text: str) -> tuple[int, int]:
    """``"WxH"`` -> ``(width, height)`` in pixels; InputError naming the rule otherwise."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"--size must look like WIDTHxHEIGHT (e.g. 320x240), got {text!r}")
    width, height = (int(p) for p in parts)
    if width < 8 or height < 8:
        raise InputError(f"--size must be at least 8x8 pixels, got {text!r}")
    return width, height


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="render a synthetic video with exact depth, poses and moving-object masks",
        description=(
            "Render a synthetic scene (analytic ray casting, exact depth) and write RGB PNGs, depth (npz in metres "
            "and 16-bit PNG in millimetres), dynamic masks, intrinsics.txt, TUM poses.txt and meta.json to --out."
        ),
    )
    parser.add_argument("--preset", required=True, help=f"scene preset: {', '.join(PRESET_NAMES)}")
    parser.add_argument("--frames", type=int, default=110, help="number of frames (default 110)")
    parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT in pixels (default 320x240)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate; motions are in seconds (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="scene seed: same seed, same output (default 0)")
    parser.add_argument("--noise", type=float, default=1.0, help="sensor noise std in 8-bit levels (default 1)")
    parser.add_argument("--blur", type=float, default=0.5, help="image blur sigma in pixels (default 0.5)")
    parser.add_argument(
        "--rolling-shutter",
        type=float,
        default=0.0,
        metavar="READOUT",
        help="rolling-shutter readout as a fraction of the frame interval, rows top to bottom (default 0: global)",
    )
    parser.add_argument(
        "--tremor",
        type=float,
        default=0.0,
        metavar="DEG",
        help="add a hand tremor of this amplitude (degrees, 3-5 Hz) to the camera (default 0: the preset's camera)",
    )
    parser.add_argument("--out", required=True, type=Path, help="output folder (written atomically)")
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stereodiff.progress import logger
    from stereodiff.synth import RenderSettings, preset_scene
    from stereodiff.synth.dataset import check_output_folder, render_synthetic_dataset

    width, height = parse_size(args.size)
    settings = RenderSettings(args.frames, height, width, args.fps, args.noise, args.blur, args.rolling_shutter)
    check_output_folder(args.out, overwrite=args.overwrite)  # before rendering, not after
    scene = preset_scene(args.preset, args.seed, settings, args.tremor)
    render_synthetic_dataset(scene, args.out, settings, overwrite=args.overwrite)
    logger.info(
        "wrote %d frames of %s (seed %d, %dx%d, moving objects %s) to %s",
        args.frames,
        args.preset,
        args.seed,
        width,
        height,
        list(scene.moving_ids) or "none",
        args.out,
    )
    return 0
