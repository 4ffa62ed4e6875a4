"""DepthCrafter on diffusers: the full video-depth pipeline (baseline) and StereoDiff's one-step refiner.

Names load lazily (torch/diffusers are imported on first use)::

    from stereodiff.stage2.depthcrafter import DepthCrafterRefiner, load_depthcrafter
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_depthcrafter": "loading",
    "DepthCrafterPipeline": "pipeline",
    "DepthCrafterOutput": "pipeline",
    "processing_size": "pipeline",
    "DepthCrafterRefiner": "refine",
    "DepthCrafterUNet": "unet",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
