"""Evaluation datasets: each yields ``EvalSequence`` objects with the frame selection and cap of a preset.

``DATASETS[name]`` is the dataset module (``PRESETS``, ``DEFAULT_PRESET``, ``list_sequences(root, preset)``,
``load_sequence(root, name, preset)``); ``load_dataset`` iterates over one dataset's sequences lazily.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from stereodiff.errors import InputError
from stereodiff.eval.datasets import bonn, kitti, scannet, sevenscenes, sintel, synthetic, tum
from stereodiff.eval.datasets.base import EvalSequence, Frames, Preset

__all__ = ["DATASETS", "EvalSequence", "Frames", "Preset", "get_preset", "list_sequences", "load_dataset"]

DATASETS: dict[str, ModuleType] = {
    "sintel": sintel,
    "bonn": bonn,
    "kitti": kitti,
    "scannet": scannet,
    "tum": tum,
    "7scenes": sevenscenes,
    "synthetic": synthetic,
}


def get_preset(dataset: str, preset: str | None = None) -> Preset:
    """The named preset of ``dataset`` (its default when ``None``); ``InputError`` for unknown names."""
    if dataset not in DATASETS:
        raise InputError(f"unknown dataset {dataset!r}", f"choose one of {', '.join(DATASETS)}")
    module = DATASETS[dataset]
    name = preset or module.DEFAULT_PRESET
    if name not in module.PRESETS:
        raise InputError(f"dataset {dataset!r} has no preset {name!r}", f"choose one of {', '.join(module.PRESETS)}")
    return module.PRESETS[name]


def list_sequences(dataset: str, root: Path, preset: str | None = None) -> list[str]:
    """Names of the preset's sequences present under ``root``."""
    return DATASETS[dataset].list_sequences(Path(root), get_preset(dataset, preset))


def load_dataset(
    dataset: str, root: Path, preset: str | None = None, sequences: list[str] | None = None
) -> Iterator[EvalSequence]:
    """Yield the ``EvalSequence`` of each sequence (``sequences`` overrides the preset's list)."""
    p = get_preset(dataset, preset)
    names = sequences or DATASETS[dataset].list_sequences(Path(root), p)
    if not names:
        raise InputError(f"no {dataset} sequence of preset {p.name!r} found under {root}", p.note)
    for name in names:
        yield DATASETS[dataset].load_sequence(Path(root), name, p)
