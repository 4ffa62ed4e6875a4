"""The library logger and progress bars (one switch silences every bar)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import TypeVar

logger = logging.getLogger("stereodiff")

_T = TypeVar("_T")
_enabled = True


def set_progress(enabled: bool) -> None:
    """Turn every stereodiff progress bar on or off (the CLI's ``--quiet`` turns them off)."""
    global _enabled
    _enabled = enabled


def progress(iterable: Iterable[_T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[_T]:
    """Wrap ``iterable`` in a tqdm bar labelled ``desc`` (no bar when progress is off or stderr is not a tty)."""
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, desc=desc, total=total, unit=unit, disable=not _enabled or None, leave=False))
