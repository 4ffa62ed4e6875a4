"""``stereodiff config show``: the full resolved configuration, every setting of the backends that would run.

The output (JSON by default) is what ``run.json`` records and what ``--config FILE`` reads back.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from stereodiff.cli.run import add_config_arguments, build_config


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="show the resolved configuration (preset, --config, --set)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser(
        "show",
        help="print every setting of the backends a run would use",
        description="Print every setting of the backends a run with these options would use (JSON or TOML; "
        "either can be passed back with --config).",
    )
    show.add_argument("--format", choices=("json", "toml"), default="json", help="output format (default json)")
    add_config_arguments(show, outputs=False)
    show.set_defaults(func=run)


def to_toml(data: dict[str, Any]) -> str:
    """``PipelineConfig.to_dict()`` as TOML; ``None`` (which TOML cannot hold) becomes a comment = the default."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(v) for v in item) + "]"
        return json.dumps(item)

    def lines(table: dict[str, Any]) -> list[str]:
        return [
            f"# {k} = none" if v is None else f"{k} = {value(v)}" for k, v in table.items() if not isinstance(v, dict)
        ]

    out = lines(data)
    for key, table in data.items():
        if isinstance(table, dict):
            out += ["", f"[{key}]", *lines(table)]
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    from stereodiff.devices import resolve_device

    config = build_config(args)
    config.device = resolve_device(config.device)  # as the run would record it
    data = config.to_dict()
    print(to_toml(data) if args.format == "toml" else json.dumps(data, indent=2))
    return 0
