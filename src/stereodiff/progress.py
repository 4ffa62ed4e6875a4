"""The library logger, progress bars (one switch silences every bar), progress listeners and a threaded map.

Every long loop of the library goes through :func:`progress`; besides the terminal bar it tells the callbacks
registered with :func:`progress_listener` (e.g. the web app's per-stage progress bar) how far it is. A listener
may raise (e.g. a cancellation) to stop the run at the next step.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

logger = logging.getLogger("stereodiff")

_T = TypeVar("_T")
_R = TypeVar("_R")
_enabled = True

#: ``callback(desc, done, total)``: ``done`` steps of the loop ``desc`` are finished (``total`` may be ``None``)
ProgressCallback = Callable[[str, int, "int | None"], None]
_local = threading.local()  # .listeners: the callbacks registered by this thread


def _listeners() -> list[ProgressCallback]:
    if not hasattr(_local, "listeners"):
        _local.listeners = []
    return _local.listeners


def set_progress(enabled: bool) -> None:
    """Turn every stereodiff progress bar on or off (the CLI's ``--quiet`` turns them off)."""
    global _enabled
    _enabled = enabled


@contextmanager
def progress_listener(callback: ProgressCallback) -> Iterator[None]:
    """Call ``callback(desc, done, total)`` at the start of every progress loop and after each of its steps,
    while the block runs. Per thread: only loops driven by the calling thread report (the pipeline drives all of
    its loops from the thread that runs it), so concurrent runs in other threads do not mix."""
    _listeners().append(callback)
    try:
        yield
    finally:
        _listeners().remove(callback)


def with_listeners(fn: Callable[..., _R]) -> Callable[..., _R]:
    """``fn`` to run on another thread with the calling thread's progress listeners (e.g. a step of the pipeline
    handed to a helper thread still reports to the web app, and its cancellation still stops it)."""
    callbacks = list(_listeners())

    def run(*args: object, **kwargs: object) -> _R:
        saved = list(_listeners())
        _local.listeners = list(callbacks)
        try:
            return fn(*args, **kwargs)
        finally:
            _local.listeners = saved

    return run


def _notify(iterable: Iterable[_T], desc: str, total: int | None, callbacks: list[ProgressCallback]) -> Iterator[_T]:
    for callback in callbacks:
        callback(desc, 0, total)
    for done, item in enumerate(iterable, 1):
        yield item
        for callback in callbacks:
            callback(desc, done, total)


def progress(iterable: Iterable[_T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[_T]:
    """Wrap ``iterable`` in a tqdm bar labelled ``desc`` (no bar when progress is off or stderr is not a tty);
    listeners registered with :func:`progress_listener` are told about every step."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    if _enabled and _terminal():
        from tqdm.auto import tqdm  # (not imported at all without a bar: ~50 ms of CPU on a run's calling thread)

        bar: Iterable[_T] = tqdm(iterable, desc=desc, total=total, unit=unit, disable=None, leave=False)
    else:
        bar = iterable
    callbacks = list(_listeners())
    return _notify(bar, desc, total, callbacks) if callbacks else iter(bar)


def _terminal() -> bool:
    """Whether ``tqdm.auto``'s bar would show: in a Jupyter kernel always (its notebook bars ignore ``disable=None``),
    else only where stderr is a tty (``disable=None`` hides it when stderr says it is not one; a stream without
    ``isatty`` counts as one, as in tqdm). Without a bar tqdm is not imported at all (e.g. batch runs, benchmarks)."""
    if "ipykernel" in sys.modules:
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return isatty is None or bool(isatty())


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


@contextmanager
def workers_own_the_cores(num_workers: int) -> Iterator[None]:
    """While the block runs OpenCV on ``num_workers`` threads of ours (more than one), OpenCV's own thread pool is
    off: it would only contend with them. Its thread count is restored afterwards."""
    import cv2

    opencv_threads = cv2.getNumThreads()
    if num_workers > 1:
        cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(opencv_threads)
