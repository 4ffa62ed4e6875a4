"""Lazy package exports: names resolve to their submodule on first access, so importing a backend package does not
import torch or diffusers until one of its names is used."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = ["import_in_background", "lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package`` whose public ``name`` lives in submodule ``exports[name]``.

    Use in a package's ``__init__``: ``__all__, __getattr__ = lazy_exports(__name__, {"Name": "module", ...})``.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{exports[name]}"), name)

    return sorted(exports), __getattr__


def import_in_background(*modules: str) -> threading.Thread | None:
    """Import ``modules`` (those not imported yet) on a daemon thread, now, and return it (None when there is
    nothing to import). For a module the caller will import anyway, later, at a moment when one core would do
    nothing else: there the import is a one-core stretch of the run (scipy.sparse.csgraph, 0.11-0.13 s, was one
    in the geometric matcher's self-calibration), here it shares the cores with work already running. A later
    import of the same module waits for this one (Python's module locks); an import that fails here is left to
    that later import, which raises as usual."""
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return None

    def run() -> None:
        for name in missing:
            try:
                import_module(name)
            except Exception:  # the caller's own import raises it, where it is handled
                return

    thread = threading.Thread(target=run, name="stereodiff-import", daemon=True)
    thread.start()
    return thread
