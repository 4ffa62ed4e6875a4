"""Tiny random DepthCrafter components (for tests, benchmarks and parity checks; no downloads).

:func:`save_tiny_depthcrafter` writes two folders in the real hub layouts — a DepthCrafter-style UNet folder
(weights at the root) and an SVD-xt-style base folder — so the real loading code runs on them. The sizes are the
smallest valid ones: channel counts are multiples of 32 (GroupNorm(32)), the CLIP encoder takes 224-pixel images
(DepthCrafter's resize size) with 32-pixel patches, and the scheduler is SVD-xt's exact config.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SVD_XT_SCHEDULER_CONFIG", "save_tiny_depthcrafter"]

#: ``scheduler/scheduler_config.json`` of stabilityai/stable-video-diffusion-img2vid-xt (the keys that matter).
SVD_XT_SCHEDULER_CONFIG = {
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "interpolation_type": "linear",
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "sigma_max": 700.0,
    "sigma_min": 0.002,
    "steps_offset": 1,
    "timestep_spacing": "leading",
    "timestep_type": "continuous",
    "trained_betas": None,
    "use_karras_sigmas": True,
}


def save_tiny_depthcrafter(folder: Path, *, levels: int = 2, seed: int = 0) -> tuple[Path, Path]:
    """Build tiny random components under ``torch.manual_seed(seed)`` and save them; returns ``(unet, base)``.

    Args:
        folder: output folder; ``folder/unet`` (root layout) and ``folder/base`` (SVD-xt layout) are written.
        levels: 2 → UNet (32, 64) and VAE ×2 (pixel sizes multiple of 4); 4 → the real model's down-sampling
            factors (VAE ×8, UNet ×8, pixel sizes multiple of 64).
        seed: random seed of the weights.
    """
    import torch
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    from stereodiff.stage2.depthcrafter.unet import DepthCrafterUNet

    if levels == 2:
        unet_kwargs = {
            "block_out_channels": (32, 64),
            "down_block_types": ("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
            "up_block_types": ("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
            "num_attention_heads": (2, 4),
            "addition_time_embed_dim": 16,
            "projection_class_embeddings_input_dim": 48,
        }
        vae_channels = (32, 32)
    elif levels == 4:
        unet_kwargs = {
            "block_out_channels": (32, 32, 64, 64),
            "down_block_types": ("CrossAttnDownBlockSpatioTemporal",) * 3 + ("DownBlockSpatioTemporal",),
            "up_block_types": ("UpBlockSpatioTemporal",) + ("CrossAttnUpBlockSpatioTemporal",) * 3,
            "num_attention_heads": (1, 1, 2, 2),
            "addition_time_embed_dim": 8,
            "projection_class_embeddings_input_dim": 24,
        }
        vae_channels = (32, 32, 32, 32)
    else:
        raise ValueError(f"levels must be 2 or 4, got {levels}")
    folder = Path(folder)
    unet_dir, base_dir = folder / "unet", folder / "base"
    torch.manual_seed(seed)
    unet = DepthCrafterUNet(in_channels=8, out_channels=4, layers_per_block=1, cross_attention_dim=32, **unet_kwargs)
    torch.manual_seed(seed)
    vae = AutoencoderKLTemporalDecoder(
        in_channels=3,
        out_channels=3,
        block_out_channels=vae_channels,
        down_block_types=("DownEncoderBlock2D",) * len(vae_channels),
        layers_per_block=1,
        latent_channels=4,
    )
    torch.manual_seed(seed)
    clip_config = CLIPVisionConfig(
        hidden_size=32,
        projection_dim=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        image_size=224,
        patch_size=32,
    )
    image_encoder = CLIPVisionModelWithProjection(clip_config)
    unet.save_pretrained(unet_dir)
    vae.save_pretrained(base_dir / "vae")
    image_encoder.save_pretrained(base_dir / "image_encoder")
    CLIPImageProcessor(crop_size=224, size={"shortest_edge": 224}).save_pretrained(base_dir / "feature_extractor")
    EulerDiscreteScheduler(**SVD_XT_SCHEDULER_CONFIG).save_pretrained(base_dir / "scheduler")
    return unet_dir, base_dir
