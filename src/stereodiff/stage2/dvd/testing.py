"""Tiny random DVD checkpoints in the published layouts (tests, benchmarks, parity; no downloads).

- :func:`save_tiny_wan` writes what stereodiff reads of ``Wan-AI/Wan2.1-T2V-1.3B`` (the original, non-diffusers
  layout): ``config.json`` (the ``WanModel`` hyper-parameters), ``diffusion_pytorch_model.safetensors`` (the DiT
  under its original tensor names) and ``Wan2.1_VAE.pth`` (a ``torch.save`` of the VAE state dict, original names).
- :func:`save_tiny_dvd` writes ``FayeHongfeiZhang/DVD``: ``model.safetensors``, the state dict of the official
  training module, i.e. the whole DiT under ``pipe.dit.`` with peft's LoRA names on ``q, k, v, o, ffn.0, ffn.2``
  (``<layer>.base_layer.weight``, ``<layer>.lora_A.default.weight`` ``[r, in]``, ``<layer>.lora_B.default.weight``
  ``[out, r]``), and ``model_config.yaml``.

Sizes are the smallest that keep the real structure: head dim 24 (Wan's rotary split needs a multiple of 6 whose
third is even), the real 4096-wide text input (the official inference feeds zeros of that width), the real VAE
layout (×8 space, ×4 time) at base width 8 instead of 96.
"""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any

__all__ = ["TINY_WAN_CONFIG", "save_tiny_dvd", "save_tiny_wan", "tiny_wan_vae_state"]

#: ``config.json`` of the tiny DiT (the published 1.3B one: dim 1536, ffn_dim 8960, num_heads 12, num_layers 30)
TINY_WAN_CONFIG: dict[str, Any] = {
    "_class_name": "WanModel",
    "_diffusers_version": "0.30.0",
    "dim": 48,
    "eps": 1e-06,
    "ffn_dim": 64,
    "freq_dim": 256,
    "in_dim": 16,
    "model_type": "t2v",
    "num_heads": 2,
    "num_layers": 2,
    "out_dim": 16,
    "text_len": 512,
}

#: the Linear layers of every DiT block that carry DVD's LoRA (official ``lora_target_modules``)
LORA_LAYERS = (*(f"{a}.{p}" for a in ("self_attn", "cross_attn") for p in "qkvo"), "ffn.0", "ffn.2")


def _linear(out_dim: int, in_dim: int, generator: Any) -> tuple[Any, Any]:
    import torch

    weight = torch.randn(out_dim, in_dim, generator=generator) / in_dim**0.5
    return weight, 0.1 * torch.randn(out_dim, generator=generator)


def tiny_wan_dit_state(config: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Random DiT weights under the original Wan tensor names (``blocks.N.self_attn.q.weight`` …)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    dim, ffn, text, freq = config["dim"], config["ffn_dim"], 4096, config["freq_dim"]
    state: dict[str, Any] = {}

    def linear(name: str, out_dim: int, in_dim: int) -> None:
        state[f"{name}.weight"], state[f"{name}.bias"] = _linear(out_dim, in_dim, g)

    state["patch_embedding.weight"] = torch.randn(dim, config["in_dim"], 1, 2, 2, generator=g) / 8.0
    state["patch_embedding.bias"] = 0.1 * torch.randn(dim, generator=g)
    linear("text_embedding.0", dim, text)
    linear("text_embedding.2", dim, dim)
    linear("time_embedding.0", dim, freq)
    linear("time_embedding.2", dim, dim)
    linear("time_projection.1", 6 * dim, dim)
    for i in range(config["num_layers"]):
        block = f"blocks.{i}"
        for attn in ("self_attn", "cross_attn"):
            for proj in "qkvo":
                linear(f"{block}.{attn}.{proj}", dim, dim)
            for norm in ("norm_q", "norm_k"):
                state[f"{block}.{attn}.{norm}.weight"] = 1.0 + 0.1 * torch.randn(dim, generator=g)
        state[f"{block}.norm3.weight"] = 1.0 + 0.1 * torch.randn(dim, generator=g)
        state[f"{block}.norm3.bias"] = 0.1 * torch.randn(dim, generator=g)
        linear(f"{block}.ffn.0", ffn, dim)
        linear(f"{block}.ffn.2", dim, ffn)
        state[f"{block}.modulation"] = torch.randn(1, 6, dim, generator=g) / dim**0.5
    linear("head.head", config["out_dim"] * 4, dim)
    state["head.modulation"] = torch.randn(1, 2, dim, generator=g) / dim**0.5
    return state


def tiny_wan_vae_state(base_dim: int = 8, seed: int = 0) -> dict[str, Any]:
    """Random Wan2.1 VAE weights under the original names (``encoder.downsamples.0.residual.0.gamma`` …): the
    published architecture (width multipliers 1, 2, 4, 4; two residual blocks per level; temporal down-sampling
    in the last two levels; 16 latent channels) at ``base_dim`` channels (published: 96)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    state: dict[str, Any] = {}

    def conv(name: str, out_dim: int, in_dim: int, kernel: tuple[int, ...]) -> None:
        fan_in = in_dim * int(torch.tensor(kernel).prod())
        state[f"{name}.weight"] = torch.randn(out_dim, in_dim, *kernel, generator=g) / fan_in**0.5
        state[f"{name}.bias"] = 0.05 * torch.randn(out_dim, generator=g)

    def gamma(name: str, dim: int, image: bool = False) -> None:
        shape = (dim, 1, 1) if image else (dim, 1, 1, 1)
        state[f"{name}.gamma"] = 1.0 + 0.1 * torch.randn(shape, generator=g)

    def residual(name: str, in_dim: int, out_dim: int) -> None:
        gamma(f"{name}.residual.0", in_dim)
        conv(f"{name}.residual.2", out_dim, in_dim, (3, 3, 3))
        gamma(f"{name}.residual.3", out_dim)
        conv(f"{name}.residual.6", out_dim, out_dim, (3, 3, 3))
        if in_dim != out_dim:
            conv(f"{name}.shortcut", out_dim, in_dim, (1, 1, 1))

    def middle(name: str, dim: int) -> None:
        residual(f"{name}.middle.0", dim, dim)
        gamma(f"{name}.middle.1.norm", dim, image=True)
        conv(f"{name}.middle.1.to_qkv", 3 * dim, dim, (1, 1))
        conv(f"{name}.middle.1.proj", dim, dim, (1, 1))
        residual(f"{name}.middle.2", dim, dim)

    z_dim, mult = 16, (1, 2, 4, 4)
    dims = [base_dim * m for m in (1, *mult)]
    conv("encoder.conv1", dims[0], 3, (3, 3, 3))
    index = 0
    for level, (in_dim, out_dim) in enumerate(pairwise(dims)):
        for _ in range(2):
            residual(f"encoder.downsamples.{index}", in_dim, out_dim)
            in_dim, index = out_dim, index + 1
        if level < 3:
            conv(f"encoder.downsamples.{index}.resample.1", out_dim, out_dim, (3, 3))
            if level > 0:  # downsample3d
                conv(f"encoder.downsamples.{index}.time_conv", out_dim, out_dim, (3, 1, 1))
            index += 1
    middle("encoder", dims[-1])
    gamma("encoder.head.0", dims[-1])
    conv("encoder.head.2", 2 * z_dim, dims[-1], (3, 3, 3))
    conv("conv1", 2 * z_dim, 2 * z_dim, (1, 1, 1))
    conv("conv2", z_dim, z_dim, (1, 1, 1))

    dims = [base_dim * m for m in (mult[-1], *mult[::-1])]
    conv("decoder.conv1", dims[0], z_dim, (3, 3, 3))
    middle("decoder", dims[0])
    index = 0
    for level, (in_dim, out_dim) in enumerate(pairwise(dims)):
        if level > 0:
            in_dim //= 2
        for _ in range(3):
            residual(f"decoder.upsamples.{index}", in_dim, out_dim)
            in_dim, index = out_dim, index + 1
        if level < 3:
            conv(f"decoder.upsamples.{index}.resample.1", out_dim // 2, out_dim, (3, 3))
            if level < 2:  # upsample3d
                conv(f"decoder.upsamples.{index}.time_conv", 2 * out_dim, out_dim, (3, 1, 1))
            index += 1
    gamma("decoder.head.0", dims[-1])
    conv("decoder.head.2", 3, dims[-1], (3, 3, 3))
    return state


def save_tiny_wan(folder: Path, *, seed: int = 0) -> Path:
    """Write a tiny ``Wan-AI/Wan2.1-T2V-1.3B`` (config, DiT, VAE; original layout) to ``folder``; returns it."""
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(TINY_WAN_CONFIG, indent=2) + "\n")
    save_file(tiny_wan_dit_state(TINY_WAN_CONFIG, seed), folder / "diffusion_pytorch_model.safetensors")
    torch.save(tiny_wan_vae_state(8, seed), folder / "Wan2.1_VAE.pth")
    return folder


def save_tiny_dvd(folder: Path, *, seed: int = 0, rank: int = 4, base_seed: int = 0) -> Path:
    """Write a tiny ``FayeHongfeiZhang/DVD`` to ``folder``: the tiny Wan DiT (``base_seed``, as
    :func:`save_tiny_wan` makes it) plus random rank-``rank`` LoRA factors, under the training module's names."""
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed + 1000)
    base = tiny_wan_dit_state(TINY_WAN_CONFIG, base_seed)
    state: dict[str, Any] = {}
    for key, value in base.items():
        layer, _, param = key.rpartition(".")
        if layer.split(".", 2)[-1] in LORA_LAYERS:
            out_dim, in_dim = base[f"{layer}.weight"].shape
            state[f"pipe.dit.{layer}.base_layer.{param}"] = value
            if param == "weight":
                state[f"pipe.dit.{layer}.lora_A.default.weight"] = torch.randn(rank, in_dim, generator=g) / in_dim**0.5
                state[f"pipe.dit.{layer}.lora_B.default.weight"] = 0.3 * torch.randn(out_dim, rank, generator=g)
        else:
            state[f"pipe.dit.{key}"] = value
    save_file(state, folder / "model.safetensors")
    (folder / "model_config.yaml").write_text(
        "model_id_with_origin_paths: Wan-AI/Wan2.1-T2V-1.3B:diffusion_pytorch_model*.safetensors,"
        "Wan-AI/Wan2.1-T2V-1.3B:Wan2.1_VAE.pth\ntrainable_models: dit\nmode: regression\ndenoise_step: 0.5\n"
        f"training_target: x\nlora_base_model: dit\nlora_rank: {rank}\n"
    )
    return folder
