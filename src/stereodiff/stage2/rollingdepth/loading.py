"""Load the published RollingDepth checkpoint (``prs-eth/rollingdepth-v1-0``, diffusers pipeline layout).

The folder holds ``model_index.json`` and the subfolders ``unet/`` (SD2-style ``UNet2DConditionModel``, 8 input
channels), ``vae/`` (``AutoencoderKL``), ``scheduler/`` (``DDIMScheduler``: v-prediction, trailing, zero-SNR),
``text_encoder/`` + ``tokenizer/`` (CLIP). The text encoder only embeds the empty prompt once at load time and is
released afterwards (the official pipeline uses that embedding for every UNet call).
"""

from __future__ import annotations

from pathlib import Path

import torch

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage2.rollingdepth.pipeline import RollingDepthPipeline

__all__ = ["empty_prompt_embedding", "load_rollingdepth"]

PARTS = ("unet", "vae", "scheduler", "text_encoder", "tokenizer")


@torch.no_grad()
def empty_prompt_embedding(text_encoder: torch.nn.Module, tokenizer: object) -> torch.Tensor:
    """The text encoder's last hidden state for ``""`` (BOS, EOS; no padding): ``[1, 2, C]``."""
    ids = tokenizer("", padding="do_not_pad", truncation=True, return_tensors="pt").input_ids  # type: ignore[operator]
    return text_encoder(ids.to(text_encoder.device))[0]


def load_rollingdepth(
    checkpoint: str | Path = "prs-eth/rollingdepth-v1-0",
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    allow_download: bool | None = None,
) -> RollingDepthPipeline:
    """Build a :class:`RollingDepthPipeline` from a checkpoint folder or hub repo id.

    Args:
        checkpoint: folder in the diffusers layout, a hub repo id, or ``rollingdepth`` (the published weights).
        device: where the models run.
        dtype: weights dtype (the official presets use float16 on GPUs, float32 for ``paper``).
        allow_download: passed to :func:`stereodiff.weights.resolve_snapshot` (``None``: unless ``HF_HUB_OFFLINE``).

    Raises:
        InputError: a subfolder is missing (naming it), a component does not load, or offline and not cached.
    """
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    from stereodiff.weights import resolve_snapshot

    folder = resolve_snapshot(str(checkpoint), allow_download=allow_download)
    missing = [part for part in PARTS if not (folder / part).is_dir()]
    if missing:
        raise InputError(
            f"{folder} lacks the subfolder(s) {', '.join(missing)}",
            "pass a RollingDepth checkpoint folder (prs-eth/rollingdepth-v1-0: unet/, vae/, scheduler/, "
            "text_encoder/, tokenizer/)",
        )
    logger.info("loading RollingDepth from %s", folder)
    try:
        unet = UNet2DConditionModel.from_pretrained(folder / "unet", torch_dtype=dtype)
        vae = AutoencoderKL.from_pretrained(folder / "vae", torch_dtype=dtype)
        scheduler = DDIMScheduler.from_pretrained(folder / "scheduler")
        text_encoder = CLIPTextModel.from_pretrained(folder / "text_encoder", dtype=dtype)
        tokenizer = CLIPTokenizer.from_pretrained(folder / "tokenizer")
    except (OSError, ValueError) as err:
        raise InputError(
            f"could not load RollingDepth components ({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            "check the folder, or run `stereodiff weights verify rollingdepth`",
        ) from err
    if unet.config.in_channels != 8:
        raise InputError(
            f"{folder / 'unet'} takes {unet.config.in_channels} input channels, RollingDepth's takes 8",
            "pass a RollingDepth checkpoint (prs-eth/rollingdepth-v1-0)",
        )
    embedding = empty_prompt_embedding(text_encoder, tokenizer)
    del text_encoder
    return RollingDepthPipeline(unet, vae, scheduler, embedding, device=device)
