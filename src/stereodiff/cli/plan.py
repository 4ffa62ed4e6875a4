"""``stereodiff plan INPUT | --frames T --size WxH``: memory, network calls and disk of a run, before it starts."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from stereodiff.cli.run import add_config_arguments

    parser = subparsers.add_parser(
        "plan",
        help="say whether a run fits in memory, and what it costs",
        description=(
            "Per stage: parameters and their memory in the chosen dtype, peak activation memory from the shapes, "
            "encoder passes, decoder pairs, UNet calls, pair-cache disk; the verdict against --gpu-memory (or "
            "the device's memory) and which settings to change when it does not fit. Takes the options of "
            "`stereodiff run` (default preset: paper)."
        ),
    )
    parser.add_argument("input", nargs="?", metavar="INPUT", help="video file or image folder (frames and size)")
    parser.add_argument("--frames", type=int, help="number of frames (instead of INPUT)")
    parser.add_argument("--size", help="frame size WxH in pixels, e.g. 1920x1080 (instead of INPUT)")
    parser.add_argument("--gpu-memory", help="memory of the device, e.g. 24GB (default: the device's, if present)")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    add_config_arguments(parser, outputs=False)
    parser.set_defaults(func=run, preset="paper")


def _frames_and_size(args: argparse.Namespace) -> tuple[int, int, int]:
    from stereodiff.errors import InputError

    if args.input is not None:
        from stereodiff.io.video import probe_video

        info = probe_video(args.input)
        frames, height, width = info.num_frames, info.height, info.width
    else:
        frames, height, width = args.frames, None, None
        if args.size:
            parts = args.size.lower().split("x")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise InputError(f"--size {args.size!r} is not WxH", "write e.g. --size 1920x1080")
            width, height = (int(p) for p in parts)
    if args.frames is not None:
        frames = args.frames
    if not frames or not height or not width or frames < 1 or height < 1 or width < 1:
        raise InputError(
            "plan needs a video or --frames and --size", "e.g. stereodiff plan --frames 110 --size 1024x576"
        )
    return frames, height, width


def run(args: argparse.Namespace) -> int:
    from stereodiff.cli.run import build_config
    from stereodiff.devices import resolve_device
    from stereodiff.plan import available_memory, parse_bytes, plan_run

    frames, height, width = _frames_and_size(args)
    config = build_config(args)
    budget = parse_bytes(args.gpu_memory) if args.gpu_memory else available_memory(resolve_device(config.device))
    plan = plan_run(config, frames, height, width, budget_bytes=budget)
    print(json.dumps(plan.to_dict(), indent=1) if args.json else plan.format())
    return 0
