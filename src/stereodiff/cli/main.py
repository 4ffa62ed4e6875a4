"""Entry point of the ``stereodiff`` command.

Each subcommand lives in its own module ``stereodiff.cli.<name>`` exposing ``add_parser(subparsers)`` (which
registers the parser and ``set_defaults(func=run)``) and ``run(args) -> int``. Subcommand modules import heavy
libraries inside ``run`` only, so ``stereodiff --help`` stays fast.

Exit status: 0 success; 2 bad input (one line ``stereodiff: error: <what>; <how to fix>`` on stderr, no
traceback); 1 unexpected error (traceback only with ``-v``).
"""

from __future__ import annotations

import os

# libgomp's busy-wait makes 2-thread torch runs on small machines many times slower; numerics are unchanged.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import errno
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence

from stereodiff import __version__
from stereodiff.errors import InputError
from stereodiff.progress import logger, set_progress

#: subcommand name -> module under ``stereodiff.cli``
SUBCOMMANDS: dict[str, str] = {
    "info": "info",
    "weights": "weights",
    "extract": "extract",
    "visualize": "visualize",
    "run": "run",
    "batch": "batch",
    "config": "config",
    "demo": "demo",
    "synth": "synth",
    "eval": "evaluate",
    "analyze": "analyze",
    "plan": "plan",
    "app": "app",
    "view": "view",
}

#: exceptions that mean the user's input is wrong (exit 2, one line)
USER_ERRORS = (
    InputError,
    ValueError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stereodiff",
        description="Temporally consistent depth for monocular videos (StereoDiff).",
    )
    parser.add_argument("--version", action="version", version=f"stereodiff {__version__}")
    _add_verbosity(parser, False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMANDS.values():
        importlib.import_module(f"stereodiff.cli.{module_name}").add_parser(subparsers)
    _add_verbosity_to_subcommands(parser)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="debug logs; tracebacks on errors"
    )
    parser.add_argument("-q", "--quiet", action="store_true", default=default, help="no progress bars, warnings only")


def _add_verbosity_to_subcommands(parser: argparse.ArgumentParser) -> None:
    """``-v``/``-q`` after any subcommand too (``stereodiff run X -o Y -q``); SUPPRESS keeps an earlier one."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in dict.fromkeys(action.choices.values()):
                _add_verbosity(subparser, argparse.SUPPRESS)
                _add_verbosity_to_subcommands(subparser)


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("stereodiff: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
    set_progress(not quiet)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (also used in-process by the tests)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as err:
        if args.verbose:
            traceback.print_exc()
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"stereodiff: error: {message}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            return _unexpected(err, args.verbose)
        where = f" while writing {err.filename}" if err.filename else ""
        print(
            f"stereodiff: error: the disk is full{where}; free some space or write the output (-o) to another disk",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("stereodiff: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        return _unexpected(err, args.verbose)


def _unexpected(err: Exception, verbose: bool) -> int:
    if verbose:
        traceback.print_exc()
    print(f"stereodiff: unexpected error: {type(err).__name__}: {err} (rerun with -v for details)", file=sys.stderr)
    return 1


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
