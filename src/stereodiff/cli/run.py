"""``stereodiff run INPUT -o OUT``: depth for one video, with the chosen outputs and a resumable run directory."""

from __future__ import annotations

import argparse
from pathlib import Path

from stereodiff.cli.extract import add_input_arguments

#: command-line shortcuts -> the setting they change (``--stage1-res 256`` = ``--set stage1.resolution=256``)
SHORTCUTS = {
    "stage1": "stage1.backend",
    "stage2": "stage2.backend",
    "stage1_weights": "stage1.weights",
    "pairs": "stage1.pair_scheme",
    "stage1_res": "stage1.resolution",
    "focal": "stage1.focal_px",
    "device": "device",
    "dtype": "dtype",
    "compile": "compile",
    "seed": "seed",
}


def preset_help() -> str:
    """The presets and what they run, for ``--help``."""
    from stereodiff.config import PRESET_SUMMARIES

    return "; ".join(f"{name}: {summary}" for name, summary in PRESET_SUMMARIES.items())


def add_config_arguments(parser: argparse.ArgumentParser, *, outputs: bool = True) -> None:
    """Options that build the PipelineConfig (shared by ``run``, ``batch`` and ``config show``) and the outputs."""
    from stereodiff.backends import STAGE1, STAGE2
    from stereodiff.config import PRESETS

    group = parser.add_argument_group(
        "method",
        "A preset, then --config, then the shortcuts, then --set (later wins). Every setting: "
        "`stereodiff config show --preset cpu`.",
    )
    group.add_argument("--preset", choices=PRESETS, help=f"{preset_help()} (default: auto; with --config: the file)")
    group.add_argument(
        "--config", metavar="FILE", help="settings from a .toml/.json file or a run.json (repeats that run)"
    )
    add_settings_argument(
        group, "any setting, e.g. --set stage1.flow_patch_stride=3 --set stage2.window=32 (repeatable)"
    )
    group.add_argument("--stage1", choices=tuple(STAGE1), help="stage-1 backend (= --set stage1.backend=…)")
    group.add_argument("--stage2", choices=tuple(STAGE2), help="stage-2 backend (= --set stage2.backend=…)")
    group.add_argument("--stage1-weights", help="folder, .pth or hub repo id of the stage-1 network")
    group.add_argument("--pairs", help="pair scheme, e.g. swin-2-noncyclic (default: the backend's)")
    group.add_argument("--stage1-res", type=int, help="stage-1 working resolution (long side, px)")
    group.add_argument("--focal", type=float, help="known focal length in pixels at the input resolution")
    group.add_argument("--device", help="auto (default: CUDA, then MPS, else CPU), cpu, cuda, cuda:1, mps")
    group.add_argument(
        "--dtype",
        choices=("auto", "float32", "float16", "bfloat16"),
        help="network dtype (default auto: float16 on CUDA, as the official code; float32 elsewhere)",
    )
    group.add_argument(
        "--compile", action="store_true", default=None, help="torch.compile the networks (slow start; for GPUs)"
    )
    group.add_argument("--seed", type=int, help="seed of every random draw (default 0)")
    if not outputs:
        return
    from stereodiff.runs import DEFAULT_SAVE, SAVE_CHOICES

    out = parser.add_argument_group("outputs")
    out.add_argument(
        "--save",
        default=",".join(DEFAULT_SAVE),
        help=f"comma list of {','.join(SAVE_CHOICES)} or 'all' (default {','.join(DEFAULT_SAVE)})",
    )
    out.add_argument("--colormap", default="inferno", help="preview colour map (matplotlib name)")
    out.add_argument("--fps", type=float, help="frame rate of image folders (default 30)")
    out.add_argument("--keep-cache", action="store_true", help="keep OUT/.run (pairs, scene, windows) after success")


def add_settings_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup, help_text: str) -> None:
    """The repeatable ``--set KEY=VALUE`` option (into ``args.settings``, a list of strings) of ``parser``, read by
    :func:`apply_settings`."""
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE", help=help_text)


def apply_settings(config, settings: list[str]) -> bool:
    """Apply ``--set`` items (``KEY=VALUE`` strings) to the PipelineConfig ``config`` in order; whether any was
    given."""
    from stereodiff.config import set_option
    from stereodiff.errors import InputError

    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {item!r} is not KEY=VALUE", "use e.g. --set stage1.flow_patch_stride=3")
        set_option(config, key.strip(), value)
    return bool(settings)


def build_config(args: argparse.Namespace):
    """The PipelineConfig of the command line: preset (or the ``--config`` file's settings), shortcuts, ``--set``."""
    from stereodiff.config import PipelineConfig, apply_options, load_config_file, preset_config, set_option

    file_settings = load_config_file(args.config) if args.config else None
    if file_settings is not None and args.preset is None:
        config = PipelineConfig()
    else:  # `auto` is decided for the requested device
        device = args.device or (file_settings or {}).get("device", "auto")
        config = preset_config(args.preset or "auto", device=device)
    if file_settings is not None:
        apply_options(config, file_settings)
    changed = False
    for attribute, key in SHORTCUTS.items():
        value = getattr(args, attribute)
        if value is not None:
            set_option(config, key, value)
            changed |= key.startswith("stage")
    changed |= apply_settings(config, args.settings)
    if changed and not config.preset.endswith("+overrides"):
        config.preset = f"{config.preset}+overrides"
    return config.validate()


def request_options(args: argparse.Namespace) -> dict:
    """The per-video RunRequest fields set by the command line (outputs, frame range, size)."""
    from stereodiff.runs import parse_save

    return {
        "save": parse_save(args.save),
        "frames": args.frames,
        "stride": args.stride,
        "max_frames": args.max_frames,
        "max_res": args.max_res,
        "fps": args.fps,
        "keep_cache": args.keep_cache,
        "colormap": args.colormap,
    }


def make_request(args: argparse.Namespace, input_path: str, output: Path, config):
    from stereodiff.runs import RunRequest

    return RunRequest(
        input=Path(input_path),
        output=output,
        config=config,
        resume=getattr(args, "resume", False),
        **request_options(args),
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
