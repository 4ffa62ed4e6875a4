"""``stereodiff run INPUT -o OUT``: depth for one video, with the chosen outputs and a resumable run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from stereodiff.cli.extract import add_input_arguments


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that build the PipelineConfig and the outputs (shared by ``run`` and ``batch``)."""
    from stereodiff.config import PRESETS, STAGE1_BACKENDS, STAGE2_BACKENDS
    from stereodiff.runs import DEFAULT_SAVE, SAVE_CHOICES

    group = parser.add_argument_group("method")
    group.add_argument("--preset", default="auto", choices=PRESETS, help="paper, fast, cpu or auto (default)")
    group.add_argument("--stage1", choices=STAGE1_BACKENDS, help="override the preset's stage-1 backend")
    group.add_argument("--stage2", choices=STAGE2_BACKENDS, help="override the preset's stage-2 backend")
    group.add_argument("--stage1-weights", help="folder, .pth or hub repo id of the stage-1 network")
    group.add_argument("--pairs", help="pair scheme, e.g. swin-2-noncyclic (default: the backend's)")
    group.add_argument("--stage1-res", type=int, help="stage-1 working resolution (long side, px)")
    group.add_argument("--focal", type=float, help="known focal length in pixels at the input resolution")
    group.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps (default cpu)")
    group.add_argument(
        "--dtype",
        choices=("float32", "float16", "bfloat16"),
        help="network precision (default: float16 on CUDA, as the official code; float32 elsewhere)",
    )
    group.add_argument("--compile", action="store_true", help="torch.compile the networks (slow start, faster GPU)")
    group.add_argument("--seed", type=int, default=0)
    out = parser.add_argument_group("outputs")
    out.add_argument(
        "--save",
        default=",".join(DEFAULT_SAVE),
        help=f"comma list of {','.join(SAVE_CHOICES)} or 'all' (default {','.join(DEFAULT_SAVE)})",
    )
    out.add_argument("--colormap", default="inferno", help="preview colour map (matplotlib name)")
    out.add_argument("--fps", type=float, help="frame rate of image folders (default 30)")
    out.add_argument("--keep-cache", action="store_true", help="keep OUT/.run (pairs, scene, windows) after success")


def build_config(args: argparse.Namespace):
    """The PipelineConfig of the preset with the command line's overrides."""
    from stereodiff.config import preset_config

    config = preset_config(args.preset)
    if args.stage1:
        config.stage1.backend = args.stage1
    if args.stage2:
        config.stage2.backend = args.stage2
    if args.stage1_weights:
        config.stage1.weights = args.stage1_weights
    if args.pairs:
        config.stage1.pair_scheme = args.pairs
    if args.stage1_res:
        config.stage1.resolution = args.stage1_res
    if args.focal:
        config.stage1.focal_px = args.focal
    from stereodiff.gpu import default_dtype

    config.device, config.seed = args.device, args.seed
    config.dtype = args.dtype or default_dtype(args.device)
    config.compile = bool(getattr(args, "compile", False))
    if args.stage1 or args.stage2 or args.stage1_weights or args.pairs or args.stage1_res:
        config.preset = f"{config.preset}+overrides"
    return config.validate()


def make_request(args: argparse.Namespace, input_path: str, output: Path, config):
    from stereodiff.runs import RunRequest, parse_save

    return RunRequest(
        input=Path(input_path),
        output=output,
        config=config,
        save=parse_save(args.save),
        frames=args.frames,
        stride=args.stride,
        max_frames=args.max_frames,
        max_res=args.max_res,
        fps=args.fps,
        resume=getattr(args, "resume", False),
        keep_cache=args.keep_cache,
        colormap=args.colormap,
    )


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="estimate the depth of one video",
        description="Estimate temporally consistent depth for INPUT and write the chosen outputs to OUT.",
    )
    parser.add_argument("input", metavar="INPUT", help="video file, image folder, glob pattern or list file")
    parser.add_argument("-o", "--output", type=Path, help="output folder (default: INPUT's name + _depth)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run in the same folder")
    add_input_arguments(parser)
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def default_output(input_path: str) -> Path:
    path = Path(input_path)
    return path.with_name(f"{path.stem or 'video'}_depth")


def run(args: argparse.Namespace) -> int:
    from stereodiff.progress import logger
    from stereodiff.runs import check_paths, parse_save, run_video

    output = args.output or default_output(args.input)
    check_paths(args.input, output)
    parse_save(args.save)
    config = build_config(args)
    report = run_video(make_request(args, args.input, output, config))
    logger.info(
        "%d frames in %.1f s (%.2f frames/s), preset %s",
        report["num_frames"],
        report["timings_s"]["total"],
        report["frames_per_s"],
        config.preset,
    )
    print(output)
    return 0
