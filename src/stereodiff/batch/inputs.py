"""Which videos a batch processes and where each one's outputs go: input lists, shards, output folder names."""

from __future__ import annotations

import hashlib
from pathlib import Path

from stereodiff.errors import InputError

__all__ = ["expand_inputs", "output_names", "parse_shard", "shard_inputs"]


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` → ``(2, 8)``; InputError unless ``0 ≤ I < N``."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index, count = -1, 0
    if not 0 <= index < count:
        raise InputError(f"--shard {text!r} is not I/N with 0 ≤ I < N", "use e.g. --shard 0/4")
    return index, count


def shard_inputs(inputs: list[str], index: int, count: int) -> list[str]:
    """The inputs of shard ``index`` of ``count``: every ``count``-th of the sorted list, starting at ``index``."""
    return sorted(inputs)[index::count]


def expand_inputs(inputs: list[str]) -> list[str]:
    """Inputs with ``.txt`` lists of videos expanded (one path per line, relative to the list), sorted, unique."""
    expanded = []
    for item in inputs:
        path = Path(item)
        if path.suffix == ".txt" and path.is_file():
            lines = [line.strip() for line in path.read_text().splitlines()]
            expanded += [str(path.parent / line) for line in lines if line and not line.startswith("#")]
        else:
            expanded.append(item)
    return sorted(set(expanded))


def output_names(inputs: list[str]) -> dict[str, str]:
    """A distinct output folder name per input, independent of the order of ``inputs``.

    An input whose stem no other input shares is named by its stem (``videos/clip.mp4`` → ``clip``). Inputs that
    share a stem are all named by their last path parts joined with ``_``, as few as make them distinct
    (``a/clip.mp4``, ``b/clip.mp4`` → ``a_clip``, ``b_clip``); should those still collide with another name, a
    short hash of the input path is appended. The name of an input changes only when another input with its
    stem joins or leaves the batch.
    """
    parts = {item: _name_parts(item) for item in inputs}
    by_stem: dict[str, list[str]] = {}
    for item in inputs:
        by_stem.setdefault(parts[item][-1], []).append(item)
    names: dict[str, str] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            names[group[0]] = stem
            continue
        depth = 2
        while depth < max(len(parts[item]) for item in group) and len({_join(parts[i], depth) for i in group}) < len(
            group
        ):
            depth += 1
        for item in group:
            names[item] = _join(parts[item], depth)
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    for item, name in names.items():
        if counts[name] > 1:
            names[item] = f"{name}_{hashlib.sha1(item.encode()).hexdigest()[:8]}"
    return names


def _name_parts(item: str) -> list[str]:
    """``"data/a/clip.mp4"`` → ``["data", "a", "clip"]`` (the stem last)."""
    path = Path(item)
    stem = path.stem or path.name or "video"
    return [*(p for p in path.parent.parts if p not in ("/", ".", "..")), stem]


def _join(parts: list[str], depth: int) -> str:
    return "_".join(parts[-depth:])
