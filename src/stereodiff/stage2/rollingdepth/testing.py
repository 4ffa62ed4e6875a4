"""Tiny random RollingDepth checkpoint in the published diffusers layout (tests, benchmarks, parity; no downloads).

:func:`save_tiny_rollingdepth` writes ``model_index.json``, ``unet/``, ``vae/``, ``scheduler/``, ``text_encoder/`` and
``tokenizer/`` as ``prs-eth/rollingdepth-v1-0`` has them, so the real loader (and the official pipeline's
``from_pretrained``) reads them. Sizes are the smallest valid ones (GroupNorm(32) channel counts); the VAE has the
real ×8 down-sampling (pixel sizes multiple of 8); the scheduler is the published config.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["ROLLINGDEPTH_SCHEDULER_CONFIG", "save_tiny_rollingdepth"]

#: ``scheduler/scheduler_config.json`` of prs-eth/rollingdepth-v1-0.
ROLLINGDEPTH_SCHEDULER_CONFIG = {
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "set_alpha_to_one": False,
    "steps_offset": 1,
    "trained_betas": None,
    "timestep_spacing": "trailing",
    "rescale_betas_zero_snr": True,
}


def _save_tiny_tokenizer(folder: Path) -> None:
    """A CLIP BPE tokenizer with a handful of tokens (the empty prompt only needs BOS and EOS)."""
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = {token: i for i, token in enumerate([*letters, *(f"{c}</w>" for c in letters)])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)
    tokenizer.save_pretrained(folder)


def save_tiny_rollingdepth(folder: Path, *, seed: int = 0) -> Path:
    """Build tiny random components under ``torch.manual_seed(seed)`` and save them in ``folder``; returns it."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from safetensors.torch import load_file, save_file
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=8,
        in_channels=8,
        out_channels=4,
        block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        layers_per_block=1,
        cross_attention_dim=32,
        attention_head_dim=(2, 4),
        use_linear_projection=True,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        block_out_channels=(32, 32, 32, 32),
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=1,
        latent_channels=4,
        sample_size=32,
    )
    torch.manual_seed(seed)
    text_config = CLIPTextConfig(
        vocab_size=54,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        bos_token_id=52,
        eos_token_id=53,
        pad_token_id=53,
    )
    text_encoder = CLIPTextModel(text_config)
    unet.save_pretrained(folder / "unet")
    vae.save_pretrained(folder / "vae")
    text_encoder.save_pretrained(folder / "text_encoder")
    # the published file names its tensors ``text_model.*`` (as every Stable Diffusion text encoder does)
    weights = folder / "text_encoder" / "model.safetensors"
    state = {f"text_model.{k.removeprefix('text_model.')}": v.contiguous() for k, v in load_file(weights).items()}
    save_file(state, weights, metadata={"format": "pt"})
    _save_tiny_tokenizer(folder / "tokenizer")
    DDIMScheduler(**ROLLINGDEPTH_SCHEDULER_CONFIG).save_pretrained(folder / "scheduler")
    index = {
        "_class_name": "RollingDepthPipeline",
        "_diffusers_version": "0.30.0.dev0",
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    }
    (folder / "model_index.json").write_text(json.dumps(index, indent=2) + "\n")
    return folder
