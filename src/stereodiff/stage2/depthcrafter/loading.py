"""Load DepthCrafter's UNet and SVD-xt's VAE, CLIP image encoder, feature extractor and scheduler.

Two folders in Hugging Face hub layout (local paths, or repo ids resolved through the HF cache by
:func:`stereodiff.weights.resolve_snapshot`, downloading only when allowed):

* ``unet``: ``config.json`` + ``diffusion_pytorch_model[.fp16].safetensors`` at the root (``tencent/DepthCrafter``);
  a ``unet/`` subfolder is accepted too (an early revision of that repository used one);
* ``base``: ``vae/``, ``image_encoder/``, ``feature_extractor/``, ``scheduler/`` subfolders
  (``stabilityai/stable-video-diffusion-img2vid-xt``; its own ``unet/`` is not used).
"""

from __future__ import annotations

from pathlib import Path

import torch

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage2.depthcrafter.pipeline import DepthCrafterPipeline

__all__ = ["load_depthcrafter"]

_BASE_PARTS = ("vae", "image_encoder", "feature_extractor", "scheduler")


def _weights_variant(folder: Path, stem: str, variant: str | None) -> str | None:
    """``variant`` if ``folder`` holds that variant of the weights, else ``None`` (the plain file)."""
    if variant is None:
        return None
    if any(folder.glob(f"{stem}.{variant}.*")):
        return variant
    logger.info("no %s variant in %s; loading the full-precision weights", variant, folder)
    return None


def load_depthcrafter(
    unet: str | Path = "tencent/DepthCrafter",
    base: str | Path = "stabilityai/stable-video-diffusion-img2vid-xt",
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    variant: str | None = None,
    cpu_offload: bool = False,
    allow_download: bool | None = None,
) -> DepthCrafterPipeline:
    """Build a :class:`DepthCrafterPipeline` from DepthCrafter's UNet and SVD-xt's other components.

    Args:
        unet: folder or hub repo id of the DepthCrafter UNet (root layout, or a ``unet/`` subfolder).
        base: folder or hub repo id in the SVD-xt layout (``vae/``, ``image_encoder/``, ``feature_extractor/``,
            ``scheduler/``).
        device: where the models run (``"cuda"``, ``"cpu"``, ...).
        dtype: weights dtype (``torch.float16`` on GPUs; the VAE still encodes in float32 via ``force_upcast``).
        variant: weight-file variant to prefer (``"fp16"``: SVD-xt ships ``*.fp16.safetensors``); falls back to the
            plain files where a folder has no such variant.
        cpu_offload: keep every model on the CPU and move it to ``device`` only while it runs (small GPUs).
        allow_download: passed to :func:`stereodiff.weights.resolve_snapshot` (``None``: unless ``HF_HUB_OFFLINE``).

    Raises:
        InputError: a folder or a component is missing (naming it), or the weights are not cached offline.
    """
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler
    from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

    from stereodiff.stage2.depthcrafter.unet import DepthCrafterUNet
    from stereodiff.weights import resolve_snapshot

    unet_dir = resolve_snapshot(unet, allow_download=allow_download)
    base_dir = resolve_snapshot(base, allow_download=allow_download)
    if not (unet_dir / "config.json").is_file() and (unet_dir / "unet" / "config.json").is_file():
        unet_dir = unet_dir / "unet"
    if not (unet_dir / "config.json").is_file():
        raise InputError(f"{unet_dir} has no config.json", "pass the DepthCrafter UNet folder (tencent/DepthCrafter)")
    missing = [part for part in _BASE_PARTS if not (base_dir / part).is_dir()]
    if missing:
        raise InputError(
            f"{base_dir} lacks the subfolder(s) {', '.join(missing)}",
            "pass a stable-video-diffusion-img2vid-xt folder (vae/, image_encoder/, feature_extractor/, scheduler/)",
        )

    logger.info("loading DepthCrafter UNet from %s and SVD-xt components from %s", unet_dir, base_dir)
    try:
        unet_model = DepthCrafterUNet.from_pretrained(
            unet_dir,
            torch_dtype=dtype,
            variant=_weights_variant(unet_dir, "diffusion_pytorch_model", variant),
        )
        vae = AutoencoderKLTemporalDecoder.from_pretrained(
            base_dir / "vae",
            torch_dtype=dtype,
            variant=_weights_variant(base_dir / "vae", "diffusion_pytorch_model", variant),
        )
        image_encoder = CLIPVisionModelWithProjection.from_pretrained(
            base_dir / "image_encoder",
            dtype=dtype,
            variant=_weights_variant(base_dir / "image_encoder", "model", variant),
        )
        feature_extractor = CLIPImageProcessor.from_pretrained(base_dir / "feature_extractor")
        scheduler = EulerDiscreteScheduler.from_pretrained(base_dir / "scheduler")
    except (OSError, ValueError) as err:
        raise InputError(
            f"could not load DepthCrafter components ({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            "check the folders, or run `stereodiff weights verify depthcrafter svd-xt`",
        ) from err
    return DepthCrafterPipeline(
        unet_model, vae, image_encoder, feature_extractor, scheduler, device=device, cpu_offload=cpu_offload
    )
