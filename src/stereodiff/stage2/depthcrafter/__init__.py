"""DepthCrafter on diffusers: the full video-depth pipeline (baseline) and StereoDiff's one-step refiner.

Names load lazily (torch/diffusers are imported on first use)::

    from stereodiff.stage2.depthcrafter import DepthCrafterRefiner, load_depthcrafter
"""

from __future__ import annotations

from stereodiff.lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "load_depthcrafter": "loading",
        "DepthCrafterPipeline": "pipeline",
        "DepthCrafterOutput": "pipeline",
        "processing_size": "pipeline",
        "DepthCrafterRefiner": "refine",
        "DepthCrafterUNet": "unet",
    },
)
