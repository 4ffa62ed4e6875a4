"""RollingDepth (Ke et al., CVPR 2025) on diffusers: a multi-frame Marigold LDM over dilated snippets, robust
co-alignment of the snippets, optional snippet-wise diffusion refinement (also usable on a stage-1 depth).

Names load lazily (torch/diffusers are imported on first use)::

    from stereodiff.stage2.rollingdepth import RollingDepthBackend, load_rollingdepth
"""

from __future__ import annotations

from stereodiff.lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "CrossFrameAttnProcessor": "attention",
        "DepthCoAligner": "coalign",
        "load_rollingdepth": "loading",
        "RollingDepthPipeline": "pipeline",
        "RollingDepthSettings": "pipeline",
        "PRESETS": "pipeline",
        "RollingDepthBackend": "backend",
        "RollingDepthRefiner": "backend",
    },
)
