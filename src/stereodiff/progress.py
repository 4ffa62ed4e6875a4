"""The library logger, progress bars (one switch silences every bar) and a threaded map with a bar."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

logger = logging.getLogger("stereodiff")

_T = TypeVar("_T")
_R = TypeVar("_R")
_enabled = True


def set_progress(enabled: bool) -> None:
    """Turn every stereodiff progress bar on or off (the CLI's ``--quiet`` turns them off)."""
    global _enabled
    _enabled = enabled


def progress(iterable: Iterable[_T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[_T]:
    """Wrap ``iterable`` in a tqdm bar labelled ``desc`` (no bar when progress is off or stderr is not a tty)."""
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, desc=desc, total=total, unit=unit, disable=not _enabled or None, leave=False))


def thread_map(fn: Callable[[_T], _R], items: Sequence[_T], num_workers: int, desc: str) -> list[_R]:
    """``[fn(item) for item in items]`` on ``num_workers`` threads (results in order), with a progress bar; for work
    that releases the GIL (numpy on large arrays, OpenCV)."""
    from concurrent.futures import ThreadPoolExecutor

    if num_workers == 1 or len(items) < 2:
        return [fn(item) for item in progress(items, desc=desc, total=len(items))]
    with ThreadPoolExecutor(num_workers) as pool:
        return list(progress(pool.map(fn, items), desc=desc, total=len(items)))
