"""``stereodiff batch INPUTS... -o OUT [--shard i/N]``: many videos, skipping finished ones, resumable.

Each input gets ``OUT/<name>/`` (as ``stereodiff run``). Inputs are sorted, then input ``k`` belongs to shard
``k mod N``: any scheduler can start ``--shard 0/N`` … ``--shard N-1/N`` anywhere and together they cover every
input exactly once. A failing input is reported and the batch goes on; the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stereodiff.cli.extract import add_input_arguments
from stereodiff.cli.run import add_config_arguments, build_config, make_request
from stereodiff.errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("batch", help="estimate the depth of many videos (shardable)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="videos, image folders, or .txt lists of them")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder receiving one subfolder per input")
    parser.add_argument("--shard", default="0/1", metavar="I/N", help="process only shard I of N (default 0/1)")
    parser.add_argument("--redo", action="store_true", help="recompute inputs whose output is already finished")
    add_input_arguments(parser)
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` → ``(2, 8)``; InputError unless ``0 ≤ I < N``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index, count = -1, 0
    if not 0 <= index < count:
        raise InputError(f"--shard {text!r} is not I/N with 0 ≤ I < N", "use e.g. --shard 0/4")
    return index, count


def shard_inputs(inputs: list[str], index: int, count: int) -> list[str]:
    """The inputs of shard ``index`` of ``count``: every ``count``-th of the sorted list, starting at ``index``."""
    return sorted(inputs)[index::count]


def expand_inputs(inputs: list[str]) -> list[str]:
    """Inputs with ``.txt`` lists of videos expanded (one path per line, relative to the list), sorted, unique."""
    expanded = []
    for item in inputs:
        path = Path(item)
        if path.suffix == ".txt" and path.is_file():
            lines = [line.strip() for line in path.read_text().splitlines()]
            expanded += [str(path.parent / line) for line in lines if line and not line.startswith("#")]
        else:
            expanded.append(item)
    return sorted(set(expanded))


def output_names(inputs: list[str]) -> dict[str, str]:
    """A distinct output folder name per input (its stem, made unique with the parent folder's name)."""
    names: dict[str, str] = {}
    for item in inputs:
        path = Path(item)
        name = path.stem or path.name
        if name in names.values():
            name = f"{path.parent.name}_{name}"
        suffix = 2
        base = name
        while name in names.values():
            name, suffix = f"{base}_{suffix}", suffix + 1
        names[item] = name
    return names


def run(args: argparse.Namespace) -> int:
    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.progress import logger
    from stereodiff.runs import is_finished, run_video

    index, count = parse_shard(args.shard)
    config = build_config(args)
    inputs = expand_inputs(args.inputs)
    names = output_names(inputs)
    mine = shard_inputs(inputs, index, count)
    todo = [item for item in mine if args.redo or not is_finished(args.output / names[item])]
    logger.info("shard %d/%d: %d of %d inputs, %d to do", index, count, len(mine), len(inputs), len(todo))
    pipeline = StereoDiffPipeline.from_config(config) if todo else None
    failed: list[tuple[str, str]] = []
    for item in todo:
        request = make_request(args, item, args.output / names[item], config)
        request.resume = True  # a half-finished earlier attempt continues
        try:
            report = run_video(request, pipeline)
            logger.info("%s: %d frames, %.2f frames/s", item, report["num_frames"], report["frames_per_s"])
        except (InputError, ValueError, OSError) as err:
            failed.append((item, " ".join(str(err).split())))
            logger.error("%s: failed: %s", item, failed[-1][1])
    done = len(todo) - len(failed)
    print(f"batch: {done} done, {len(mine) - len(todo)} already finished, {len(failed)} failed")
    for item, message in failed:
        print(f"failed: {item}: {message}", file=sys.stderr)
    return 1 if failed else 0
