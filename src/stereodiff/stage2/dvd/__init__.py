"""DVD (Zhang et al., 2026) on diffusers: Wan2.1-T2V-1.3B's DiT with DVD's LoRA merged, one deterministic pass per
81-frame window at timestep 500, windows stitched by least-squares scale and shift on their overlap.

Names load lazily (torch/diffusers are imported on first use)::

    from stereodiff.stage2.dvd import DVDBackend, load_dvd
"""

from __future__ import annotations

from stereodiff.lazy import lazy_exports

__all__, __getattr__ = lazy_exports(
    __name__,
    {
        "AffineStitcher": "pipeline",
        "DVDBackend": "backend",
        "DVDPipeline": "pipeline",
        "DVDSettings": "pipeline",
        "load_dvd": "loading",
    },
)
