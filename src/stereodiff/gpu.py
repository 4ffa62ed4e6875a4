"""GPU defaults: the precision a device runs in unless told otherwise, freeing device memory between stages, and the
optional ``torch.compile`` of the networks.

Half precision follows the official code: DepthCrafter runs its UNet, VAE and CLIP encoder in float16 from the
``fp16`` weight files (the VAE still encodes in float32, ``force_upcast``); the DUSt3R-family encoder and decoder
run under float16 autocast with float32 heads (a batch with a non-finite output is redone in float32). CPUs and MPS
stay in float32: half precision is slower there or lacks kernels.
"""

from __future__ import annotations

import gc
from typing import Any

__all__ = ["compile_module", "default_dtype", "free_device_memory", "resolve_dtype"]


def default_dtype(device: str) -> str:
    """``"float16"`` for CUDA devices, ``"float32"`` for everything else."""
    return "float16" if str(device).startswith("cuda") else "float32"


def resolve_dtype(dtype: str, device: str) -> str:
    """``dtype``, with ``auto`` replaced by :func:`default_dtype` of the (resolved) ``device``."""
    return default_dtype(device) if dtype == "auto" else dtype


def free_device_memory(device: str) -> None:
    """Return cached CUDA blocks to the driver (after a stage's tensors are gone); no-op elsewhere."""
    gc.collect()
    if str(device).startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def compile_module(module: Any) -> Any:
    """``torch.compile`` of a module or a (bound) method, with static shapes (a run's shapes do not change); the
    outputs equal the eager ones within float tolerance (checked on CPU in the tests)."""
    import torch

    return torch.compile(module, dynamic=False)
