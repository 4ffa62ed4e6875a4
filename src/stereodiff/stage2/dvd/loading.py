"""Load DVD (``FayeHongfeiZhang/DVD``) on the Wan2.1-T2V-1.3B VAE (``Wan-AI/Wan2.1-T2V-1.3B``).

The DVD file (``model.safetensors`` for v1.0, ``dvd_1.1.safetensors`` for v1.1) is the state dict of the official
training module: the whole Wan DiT under ``pipe.dit.``, with peft's names on the LoRA layers (``q, k, v, o`` of both
attentions and ``ffn.0, ffn.2`` of every block): ``<layer>.base_layer.{weight,bias}``,
``<layer>.lora_A.default.weight`` ``[r, in]`` and ``<layer>.lora_B.default.weight`` ``[out, r]``. The official
inference loads it over the Wan DiT (strictly: every tensor of the DiT is in the file) and merges the LoRA with
peft; its ``lora_alpha`` is the rank, so the merge is ``W + B·A``. The Wan DiT file itself is therefore not needed.

From the Wan repository stereodiff reads the DiT's hyper-parameters and the VAE: ``config.json`` and
``Wan2.1_VAE.pth`` in the original layout (``Wan-AI/Wan2.1-T2V-1.3B``, what the official DVD code loads), converted
with diffusers' own converters of the original checkpoints; or ``transformer/config.json`` and ``vae/`` in the
``-Diffusers`` layout (``Wan-AI/Wan2.1-T2V-1.3B-Diffusers``). The models are diffusers' ``WanTransformer3DModel``
and ``AutoencoderKLWan``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage2.dvd.pipeline import DVDPipeline

__all__ = ["load_dvd", "load_dvd_transformer", "load_merging_lora", "load_wan_vae", "wan_transformer_config"]

DIT_PREFIX = "pipe.dit."
#: ``AutoencoderKLWan``'s latent statistics: the normalisation of the official Wan VAE wrapper
WAN_LATENTS_MEAN = (-0.7571, -0.7089, -0.9113, 0.1075, -0.1745, 0.9653, -0.1517, 1.5508,
                    0.4134, -0.0715, 0.5517, -0.3632, -0.1922, -0.9497, 0.2503, -0.2921)  # fmt: skip
WAN_LATENTS_STD = (2.8184, 1.4541, 2.3275, 2.6558, 1.2196, 1.7708, 2.6052, 2.0743,
                   3.2687, 2.1526, 2.8652, 1.5579, 1.6382, 1.1253, 2.8251, 1.9160)  # fmt: skip


def load_merging_lora(model: torch.nn.Module, state: dict[str, torch.Tensor], what: str, scale: float = 1.0) -> int:
    """Load ``state`` (peft names) into ``model``, folding every LoRA into its layer: ``W ← W + scale·(B @ A)``,
    the product in float32 (peft's ``merge``). Entries are popped from ``state`` as they are used, so the peak
    memory is the file plus the model.

    Args:
        model: the target, its parameters named as ``state`` without ``.base_layer``.
        state: ``x.base_layer.weight``, ``x.lora_A.default.weight`` ``[r, in]``, ``x.lora_B.default.weight``
            ``[out, r]`` and plain tensors (without LoRA: a strict load).
        what: the file, for the messages.
        scale: ``lora_alpha / r`` (DVD: 1).

    Returns:
        The number of merged layers.

    Raises:
        InputError: a tensor is missing, extra, of another shape, or a LoRA layer lacks a factor.
    """
    targets = model.state_dict(keep_vars=True)
    loaded, problems, count = set(), [], 0
    for key in [k for k in state if ".lora_A." not in k and ".lora_B." not in k]:
        value, name = state.pop(key), key.replace(".base_layer.", ".")
        target = targets.get(name)
        if target is None or target.shape != value.shape:
            problems.append(f"{key} {tuple(value.shape)}")
            continue
        with torch.no_grad():
            target.copy_(value)
            if key.endswith(".base_layer.weight"):
                layer = key.removesuffix(".base_layer.weight")
                down = state.pop(f"{layer}.lora_A.default.weight", None)
                up = state.pop(f"{layer}.lora_B.default.weight", None)
                if down is None or up is None:
                    raise InputError(f"{what}: LoRA layer {layer} lacks lora_A or lora_B", "pass an unmodified file")
                target.add_((up.float() @ down.float()).mul_(scale).to(target.dtype))
                count += 1
        loaded.add(name)
    missing = sorted(set(targets) - loaded)
    problems += sorted(state)  # LoRA factors without a base layer
    if missing or problems:
        raise InputError(
            f"{what} does not fit the model ({len(missing)} missing, e.g. {missing[:2]}; "
            f"{len(problems)} extra or of another shape, e.g. {problems[:2]})",
            "pass the published files (FayeHongfeiZhang/DVD, Wan-AI/Wan2.1-T2V-1.3B)",
        )
    return count


def load_dvd_transformer(path: Path, config: dict[str, Any]) -> Any:
    """``WanTransformer3DModel`` (float32) with the DiT of a DVD file, its LoRA merged."""
    from diffusers import WanTransformer3DModel
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers
    from safetensors.torch import load_file

    state = {k.removeprefix(DIT_PREFIX): v for k, v in load_file(path).items() if k.startswith(DIT_PREFIX)}
    if not state:
        raise InputError(
            f"{path} holds no {DIT_PREFIX}* tensors", "pass DVD's model.safetensors (FayeHongfeiZhang/DVD)"
        )
    ranks = sorted({int(v.shape[0]) for k, v in state.items() if ".lora_A." in k})
    if len(ranks) != 1:
        raise InputError(f"{path} has LoRA ranks {ranks} (DVD has one)", "pass an unmodified DVD file")
    transformer = WanTransformer3DModel(**config)
    count = load_merging_lora(transformer, convert_wan_transformer_to_diffusers(state), str(path))
    logger.info("dvd: merged %d LoRA layers of rank %d", count, ranks[0])
    return transformer


def wan_transformer_config(wan_config: dict[str, Any]) -> dict[str, Any]:
    """``WanTransformer3DModel`` arguments of an original Wan ``config.json`` (text-to-video models only)."""
    if wan_config.get("model_type", "t2v") != "t2v":
        raise InputError(f"the Wan model is {wan_config['model_type']!r}, DVD uses Wan2.1-T2V", "")
    return {
        "patch_size": (1, 2, 2),
        "num_attention_heads": wan_config["num_heads"],
        "attention_head_dim": wan_config["dim"] // wan_config["num_heads"],
        "in_channels": wan_config["in_dim"],
        "out_channels": wan_config["out_dim"],
        "text_dim": 4096,
        "freq_dim": wan_config["freq_dim"],
        "ffn_dim": wan_config["ffn_dim"],
        "num_layers": wan_config["num_layers"],
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": wan_config["eps"],
    }


def _cast(model: torch.nn.Module, dtype: torch.dtype) -> Any:
    """Frozen, in ``dtype`` (models are built in float32: no cast, and no diffusers warning, for float32)."""
    if dtype != torch.float32:
        model = model.to(dtype)
    return model.eval().requires_grad_(False)


def load_wan_vae(path: Path, dtype: torch.dtype = torch.float32) -> Any:
    """``AutoencoderKLWan`` from the original ``Wan2.1_VAE.pth`` (its width read from the weights)."""
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    state = torch.load(path, map_location="cpu", weights_only=True)
    state = state.get("model_state", state)
    if "encoder.conv1.weight" not in state:
        raise InputError(f"{path} is not a Wan2.1 VAE (no encoder.conv1.weight)", "pass Wan2.1_VAE.pth")
    base_dim = int(state["encoder.conv1.weight"].shape[0])
    vae = AutoencoderKLWan(
        base_dim=base_dim, z_dim=16, latents_mean=list(WAN_LATENTS_MEAN), latents_std=list(WAN_LATENTS_STD)
    )
    load_merging_lora(vae, convert_wan_vae_to_diffusers(state), str(path))
    return _cast(vae, dtype)


def _wan_parts(wan: Path, dtype: torch.dtype) -> tuple[dict[str, Any], Any]:
    """The DiT's ``WanTransformer3DModel`` arguments and the VAE from a Wan2.1-T2V-1.3B folder: the original layout
    (``config.json``, ``Wan2.1_VAE.pth``) or the ``-Diffusers`` one (``transformer/config.json``, ``vae/``)."""
    from diffusers import AutoencoderKLWan

    if (wan / "transformer" / "config.json").is_file() and (wan / "vae" / "config.json").is_file():
        config = json.loads((wan / "transformer" / "config.json").read_text())
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        return config, _cast(AutoencoderKLWan.from_pretrained(wan / "vae"), dtype)
    config_file = _resolve_file(wan, "config.json", "Wan2.1-T2V-1.3B")
    vae_file = _resolve_file(wan, "Wan2.1_VAE.pth", "Wan2.1-T2V-1.3B")
    return wan_transformer_config(json.loads(config_file.read_text())), load_wan_vae(vae_file, dtype)


def _resolve_file(folder: Path, name: str, model: str) -> Path:
    path = folder / name if folder.is_dir() else folder
    if not path.is_file():
        raise InputError(f"{folder} has no {name}", f"pass the {model} folder, or run `stereodiff weights verify`")
    return path


def load_dvd(
    checkpoint: str | Path = "dvd",
    base: str | Path = "wan2.1-t2v-1.3b",
    *,
    weights: str = "model.safetensors",
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    allow_download: bool | None = None,
) -> DVDPipeline:
    """Build a :class:`DVDPipeline`.

    Args:
        checkpoint: DVD folder, hub repo id or ``dvd`` (FayeHongfeiZhang/DVD); or the DVD file itself.
        base: Wan2.1-T2V-1.3B folder (original or ``-Diffusers`` layout), hub repo id, ``wan2.1-t2v-1.3b`` or
            ``wan2.1-t2v-1.3b-diffusers``.
        weights: the DVD file in ``checkpoint``: ``model.safetensors`` (v1.0) or ``dvd_1.1.safetensors`` (v1.1).
        device: where the models run.
        dtype: weights dtype (the official inference runs bfloat16 on GPUs).
        allow_download: passed to :func:`stereodiff.weights.resolve_snapshot` (``None``: unless ``HF_HUB_OFFLINE``).

    Raises:
        InputError: a file is missing or does not fit, or offline and not cached.
    """
    from stereodiff.weights import resolve_snapshot

    dvd_file = _resolve_file(resolve_snapshot(str(checkpoint), allow_download=allow_download), weights, "DVD")
    wan = resolve_snapshot(str(base), allow_download=allow_download)
    logger.info("loading DVD from %s on the Wan2.1 VAE of %s", dvd_file, wan)
    try:
        config, vae = _wan_parts(wan, dtype)
        transformer = load_dvd_transformer(dvd_file, config)
    except InputError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as err:
        raise InputError(
            f"could not load DVD ({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            "check the folders, or run `stereodiff weights verify dvd` and `... wan2.1-t2v-1.3b`",
        ) from err
    return DVDPipeline(_cast(transformer, dtype), vae, device=device)
