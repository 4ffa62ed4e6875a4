"""RollingDepth (Ke et al., CVPR 2025) on diffusers: a multi-frame Marigold LDM over dilated snippets, robust
co-alignment of the snippets, optional snippet-wise diffusion refinement (also usable on a stage-1 depth).

Names load lazily (torch/diffusers are imported on first use)::

    from stereodiff.stage2.rollingdepth import RollingDepthBackend, load_rollingdepth
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CrossFrameAttnProcessor": "attention",
    "DepthCoAligner": "coalign",
    "load_rollingdepth": "loading",
    "RollingDepthPipeline": "pipeline",
    "RollingDepthSettings": "pipeline",
    "PRESETS": "pipeline",
    "RollingDepthBackend": "backend",
    "RollingDepthRefiner": "backend",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
