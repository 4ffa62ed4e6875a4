"""Lazy package exports: names resolve to their submodule on first access, so importing a backend package does not
import torch or diffusers until one of its names is used."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package`` whose public ``name`` lives in submodule ``exports[name]``.

    Use in a package's ``__init__``: ``__all__, __getattr__ = lazy_exports(__name__, {"Name": "module", ...})``.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{exports[name]}"), name)

    return sorted(exports), __getattr__
