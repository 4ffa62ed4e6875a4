"""``stereodiff config show``: the full resolved configuration, every setting of the backends that would run.

The output (JSON by default) is what ``run.json`` records and what ``--config FILE`` reads back.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from stereodiff.cli.run import add_config_arguments, build_config
from stereodiff.config import PipelineConfig


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


def to_toml(config: PipelineConfig) -> str:
    """The config as TOML, each setting under its documentation (the field docstring); ``None`` (which TOML cannot
    hold) is written as a comment, i.e. the field's default."""
    import textwrap

    from stereodiff.stage1.configs import field_docs

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(v) for v in item) + "]"
        return json.dumps(item)

    def table(obj: Any) -> list[str]:
        docs, lines = field_docs(type(obj)), []
        for item in dataclasses.fields(obj):
            current = getattr(obj, item.name)
            if dataclasses.is_dataclass(current):
                continue
            doc = docs.get(item.name, "")
            lines += textwrap.wrap(doc, 118, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)
            lines.append(f"# {item.name} = none" if current is None else f"{item.name} = {value(current)}")
        return lines

    out = table(config)
    for name in ("stage1", "stage2"):
        out += ["", f"[{name}]", *table(getattr(config, name))]
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    from stereodiff.devices import resolve_device

    config = build_config(args)
    config.device = resolve_device(config.device)  # as the run would record it
    print(to_toml(config) if args.format == "toml" else json.dumps(config.to_dict(), indent=2))
    return 0
