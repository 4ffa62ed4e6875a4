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


def thread_imap(
    fn: Callable[[_T], _R], items: Iterable[_T], num_workers: int, ahead: int | None = None
) -> Iterator[_R]:
    """``fn(item)`` for every item, yielded in order, computed on ``num_workers`` threads (for work that releases
    the GIL: numpy on large arrays, OpenCV). At most ``ahead`` items (default ``2 · num_workers``) are submitted
    beyond the one being waited for: memory stays bounded on long inputs, and no worker waits for the slowest item
    of a batch."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    if num_workers <= 1:
        yield from map(fn, items)
        return
    ahead = 2 * num_workers if ahead is None else ahead
    with ThreadPoolExecutor(num_workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def thread_map(fn: Callable[[_T], _R], items: Sequence[_T], num_workers: int, desc: str) -> list[_R]:
    """``[fn(item) for item in items]`` on ``num_workers`` threads (:func:`thread_imap`), with a progress bar."""
    workers = num_workers if len(items) >= 2 else 1
    return list(progress(thread_imap(fn, items, workers), desc=desc, total=len(items)))
