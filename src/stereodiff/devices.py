"""What ``auto`` means, decided in this one place: the compute device, and the preset (which depends on it).

- ``--device auto`` (the default of ``run``, ``batch`` and the Python API): CUDA if available, then MPS, else CPU
  (:func:`resolve_device`); a pipeline of weights-free backends only runs on the CPU without probing (torch is
  not imported).
- ``--preset auto`` (the default): ``paper`` only when an accelerator is present AND its weights are cached or
  downloadable; otherwise ``cpu``, with one notice naming the condition that failed and how to force the other
  choice (:func:`choose_preset`). Nothing touches the network unless an accelerator is present and a model is not
  cached.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass

__all__ = ["AutoChoice", "accelerator", "check_device", "choose_preset", "resolve_device"]

#: the models of the ``paper`` preset (names of :data:`stereodiff.weights.MODELS`)
PAPER_MODELS = ("monst3r", "depthcrafter", "svd-xt")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def accelerator() -> str | None:
    """``"cuda"`` or ``"mps"`` when torch is installed and sees one (in that order), else ``None``."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return None


def check_device(device: str) -> str:
    """``device`` if it is ``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N`` (nothing is probed), else ValueError."""
    if not isinstance(device, str) or not _DEVICE.match(device):
        raise ValueError(f"device {device!r} is unknown; use auto, cpu, cuda, cuda:N or mps")
    return device


def resolve_device(device: str = "auto") -> str:
    """The device to run on: ``auto`` → ``cuda``, then ``mps``, else ``cpu``; any other name is returned as is.

    Raises:
        ValueError: ``device`` is not ``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N``.
    """
    check_device(device)
    return (accelerator() or "cpu") if device == "auto" else device


def missing_paper_weights() -> tuple[list[str], str]:
    """The paper preset's models that are neither cached nor downloadable now, and why (``""`` when none)."""
    from stereodiff.weights import downloadable, find_snapshot, offline

    uncached = [name for name in PAPER_MODELS if find_snapshot(name) is None]
    if not uncached:
        return [], ""
    if offline():
        return uncached, "they are not cached and HF_HUB_OFFLINE is set"
    missing = [name for name in uncached if not downloadable(name)]
    return missing, "they are not cached and the Hugging Face hub does not answer" if missing else ""


@dataclass(frozen=True)
class AutoChoice:
    """The outcome of ``--preset auto``."""

    preset: str
    """``paper`` or ``cpu``."""
    device: str
    """The device it runs on."""
    reason: str
    """Why (the notice when ``cpu`` was chosen)."""


def choose_preset(device: str = "auto") -> AutoChoice:
    """Decide ``--preset auto`` for the requested ``device`` (see the module docstring)."""
    resolved = resolve_device(device)
    force_paper = "force the paper method with --preset paper"
    if resolved == "cpu":
        why = "no CUDA or MPS device was found" if device == "auto" else "--device cpu was requested"
        return AutoChoice("cpu", resolved, f"{why}, so the weights-free 'cpu' preset runs ({force_paper})")
    from stereodiff.backends import EXTRAS

    if any(importlib.util.find_spec(module) is None for module in EXTRAS["paper"]):
        return AutoChoice(
            "cpu",
            resolved,
            f"the 'paper' extra is not installed, so the weights-free 'cpu' preset runs on {resolved} "
            "(pip install 'stereodiff[paper]' for the paper method)",
        )
    missing, why = missing_paper_weights()
    if missing:
        return AutoChoice(
            "cpu",
            resolved,
            f"weights for {', '.join(missing)}: {why}, so the weights-free 'cpu' preset runs on {resolved} "
            f"(get them with `stereodiff weights download {' '.join(missing)}`, then {force_paper})",
        )
    return AutoChoice("paper", resolved, f"{resolved} and the paper weights are available")
