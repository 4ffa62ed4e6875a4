"""DVD (Zhang et al., 2026) on diffusers: Wan2.1-T2V-1.3B's DiT with DVD's LoRA merged, one deterministic pass per
81-frame window at timestep 500, windows stitched by least-squares scale and shift on their overlap.

Names load lazily (torch/diffusers are imported on first use)::

    from stereodiff.stage2.dvd import DVDBackend, load_dvd
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AffineStitcher": "pipeline",
    "DVDBackend": "backend",
    "DVDPipeline": "pipeline",
    "DVDSettings": "pipeline",
    "load_dvd": "loading",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
