"""``stereodiff batch INPUTS... -o OUT [--shard i/N | --engine ray ...]``: many videos, skipping finished ones.

Each input gets ``OUT/<name>/`` (as ``stereodiff run``) and a row in ``OUT/batch_summary.jsonl``. The local engine
runs this process's shard of the inputs (``--shard i/N``, for any scheduler); ``--engine ray`` spreads them over
the actors of a Ray cluster. A failing input is recorded and the batch goes on; the exit status is 1 if any
failed. See docs/batch.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stereodiff.cli.extract import add_input_arguments
from stereodiff.cli.run import add_config_arguments, build_config, request_options
from stereodiff.errors import InputError

RAY_OPTIONS = ("address", "workers", "cpus_per_worker", "gpus_per_worker", "retries")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("batch", help="estimate the depth of many videos (shards or a Ray cluster)")
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="videos, image folders, or .txt lists of them")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder receiving one subfolder per input")
    parser.add_argument("--redo", action="store_true", help="recompute inputs whose output is already finished")
    parser.add_argument(
        "--engine", default="local", choices=("local", "ray"), help="local: this process (default); ray: a cluster"
    )
    parser.add_argument("--shard", metavar="I/N", help="local engine: process only shard I of N (default 0/1)")
    ray = parser.add_argument_group("Ray engine (pip install 'stereodiff[ray]')")
    ray.add_argument("--address", help="join a running cluster: auto or HOST:PORT (default: start a local one)")
    ray.add_argument("--workers", type=int, help="actors (default: as many as the cluster's CPUs/GPUs hold)")
    ray.add_argument("--cpus-per-worker", type=float, help="CPUs per actor (default 1)")
    ray.add_argument("--gpus-per-worker", type=float, help="GPUs per actor; default 1 for --device cuda, else 0")
    ray.add_argument("--retries", type=int, help="re-runs of a video whose worker process died (default 2)")
    add_input_arguments(parser)
    add_config_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stereodiff.batch import parse_shard, run_ray, run_shard

    ray_options = {name: getattr(args, name) for name in RAY_OPTIONS if getattr(args, name) is not None}
    if args.engine == "ray" and args.shard is not None:
        raise InputError("--shard is for the local engine", "leave it out with --engine ray (Ray spreads the work)")
    if args.engine == "local" and ray_options:
        flag = "--" + next(iter(ray_options)).replace("_", "-")
        raise InputError(f"{flag} needs the Ray engine", "add --engine ray")
    shard = parse_shard(args.shard or "0/1")
    options = request_options(args)
    config = build_config(args)
    if args.engine == "ray":
        result = run_ray(args.inputs, args.output, config, redo=args.redo, **ray_options, **options)
    else:
        result = run_shard(args.inputs, args.output, config, shard=shard, redo=args.redo, **options)
    failed = result.failed
    print(
        f"batch: {result.count('done')} done, {result.count('skipped')} already finished, {len(failed)} failed "
        f"(summary: {result.summary_path})"
    )
    for row in failed:
        print(f"failed: {row['input']}: {row['error']}", file=sys.stderr)
    return 1 if failed else 0
