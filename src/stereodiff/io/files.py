"""Atomic output files and folders: write under a temporary name in the same folder, then rename.

A reader (or a resumed run) never sees a half-written output: either the old file/folder or the complete new
one exists under the final name. Temporary names start with ``.`` and end with the final suffix (PyAV and
``np.savez`` pick the format from the suffix).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from stereodiff.errors import InputError

__all__ = ["atomic_dir", "atomic_file", "ensure_writable_dir", "stamped_folder"]


def ensure_writable_dir(folder: str | Path, *, what: str = "output") -> Path:
    """Create ``folder`` (with parents) and check that a file can be created in it.

    Raises:
        InputError: when the folder cannot be created or written (checked by creating a file, so it also holds
            for root and read-only file systems).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise InputError(
            f"cannot write the {what} folder {folder} ({reason})",
            "choose a folder you can write to with -o",
        ) from None
    return folder


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds, else delete it."""
    path = Path(path)
    ensure_writable_dir(path.parent)
    tmp = _temp_name(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_dir(path: str | Path, *, replaceable: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; when the block succeeds it becomes ``path``.

    An existing ``path`` is replaced only if every file in it passes ``replaceable`` (i.e. it is an earlier
    output of the same writer); otherwise nothing is touched and ``InputError`` is raised before writing.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"output {path} exists and is not a folder", "choose a new folder name")
        strangers = [p for p in path.iterdir() if not replaceable(p)]
        if strangers:
            raise InputError(
                f"output folder {path} exists and holds other files (e.g. {strangers[0].name})",
                "choose a new or empty folder",
            )
    ensure_writable_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    try:
        yield tmp
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def stamped_folder(
    folder: str | Path,
    stamp: dict,
    *,
    name: str,
    what: str,
    fix: str,
    fresh: bool = False,
    create: Callable[[], None] | None = None,
) -> bool:
    """Make ``folder`` the home of the results of one run, stamped with its settings and inputs.

    The stamp (``stamp``, JSON-able) is kept in ``folder/name``, written atomically and last: a folder whose stamp
    exists was fully set up. An existing stamp must equal ``stamp``, so a resumed run never mixes in results made
    with other settings.

    Args:
        folder: the folder (created with its parents).
        stamp: the settings and inputs the results depend on.
        name: the stamp's file name, e.g. ``"meta.json"``.
        what: what the folder holds, for the error message (e.g. ``"temporal-refine windows"``).
        fix: the error message's fix.
        fresh: delete the folder first (a new run).
        create: called before the stamp is written when the folder has none (e.g. to create its data files).

    Returns:
        True when the folder was already stamped with ``stamp`` (resume), False when it has just been stamped.

    Raises:
        InputError: the folder's stamp differs from ``stamp`` (the message names the differing keys).
    """
    folder = Path(folder)
    path = folder / name
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    expected = json.loads(json.dumps(stamp))  # tuples → lists, as they read back
    if path.is_file():
        found = json.loads(path.read_text())
        if found != expected:
            keys = sorted(k for k in {*found, *expected} if found.get(k) != expected.get(k))
            raise InputError(f"{folder} holds {what} made with other settings (they differ in: {', '.join(keys)})", fix)
        return True
    if create is not None:
        create()
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(expected, indent=1))
    return False
