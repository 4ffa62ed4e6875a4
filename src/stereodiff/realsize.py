"""The published architectures at full size with seeded random weights, saved in the exact hub layouts.

No pretrained weights can be downloaded on test machines, but shapes, configs, dtypes and memory only show up at the
real size. These builders write folders that look like the published checkpoints down to the file names, config
keys and dtypes, so the loaders users run (:func:`~stereodiff.stage1.croco.load_croco_stereo`,
:func:`~stereodiff.stage2.depthcrafter.load_depthcrafter`) and the official code both read them:

* ``Junyi42/MonST3R_PO-TA-S-W_ViTLarge_BaseDecoder_512_dpt``, ``naver/DUSt3R_ViTLarge_BaseDecoder_512_dpt`` and
  ``naver/MASt3R_ViTLarge_BaseDecoder_512_catmlpdpt_metric``: ``config.json`` (the constructor arguments,
  ``sort_keys=True, indent=2`` as ``PyTorchModelHubMixin`` writes them) + ``model.safetensors`` (float32, the
  official state-dict keys including ``mask_token``; MASt3R with its descriptor head ``head_local_features``);
* ``tencent/DepthCrafter``: ``config.json`` + ``diffusion_pytorch_model.safetensors`` at the root, in float16 (as
  published: there is no float32 file);
* ``stabilityai/stable-video-diffusion-img2vid-xt``: ``model_index.json``, ``vae/`` and ``image_encoder/`` with
  both the float32 files and the ``fp16`` variants, ``feature_extractor/`` and ``scheduler/``.

Weights are a pure function of ``(seed, parameter name, shape)`` (see :func:`fill_random_`), independent of the
libraries' own initialisers, so golden values computed once stay valid.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import torch

__all__ = [
    "CLIP_VIT_H_CONFIG",
    "CROCO_HUB_CONFIGS",
    "DEPTHCRAFTER_UNET_CONFIG",
    "HUB_REPOS",
    "SVD_XT_VAE_CONFIG",
    "cached_realsize_models",
    "constructor_kwargs",
    "fill_random_",
    "link_into_hub_cache",
    "save_realsize_croco",
    "save_realsize_depthcrafter",
    "synthetic_stage1",
    "texture_frames",
]

_INF = math.inf
_DUST3R_512_DPT = {
    "conf_mode": ["exp", 1, _INF],
    "dec_depth": 12,
    "dec_embed_dim": 768,
    "dec_num_heads": 12,
    "depth_mode": ["exp", -_INF, _INF],
    "enc_depth": 24,
    "enc_embed_dim": 1024,
    "enc_num_heads": 16,
    "freeze": "none",
    "head_type": "dpt",
    "img_size": [512, 512],
    "landscape_only": False,
    "output_mode": "pts3d",
    "patch_embed_cls": "PatchEmbedDust3R",
    "pos_embed": "RoPE100",
}

#: ``config.json`` of the published DUSt3R-family checkpoints (450 / 453 bytes as serialised by the hub mixin).
CROCO_HUB_CONFIGS: dict[str, dict[str, Any]] = {
    "dust3r": _DUST3R_512_DPT,
    "monst3r": {**_DUST3R_512_DPT, "freeze": "encoder"},
    "mast3r": {
        **_DUST3R_512_DPT,
        "head_type": "catmlp+dpt",
        "output_mode": "pts3d+desc24",
        "two_confs": True,
        "desc_conf_mode": ["exp", 0, _INF],
    },
}

#: ``config.json`` of tencent/DepthCrafter (identical to SVD-xt's ``unet/`` apart from the class name).
DEPTHCRAFTER_UNET_CONFIG: dict[str, Any] = {
    "_class_name": "DiffusersUNetSpatioTemporalConditionModelDepthCrafter",
    "_diffusers_version": "0.29.2",
    "addition_time_embed_dim": 256,
    "block_out_channels": [320, 640, 1280, 1280],
    "cross_attention_dim": 1024,
    "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
    "in_channels": 8,
    "layers_per_block": 2,
    "num_attention_heads": [5, 10, 20, 20],
    "num_frames": 25,
    "out_channels": 4,
    "projection_class_embeddings_input_dim": 768,
    "sample_size": 96,
    "transformer_layers_per_block": 1,
    "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
}

#: ``vae/config.json`` of SVD-xt (``AutoencoderKLTemporalDecoder``).
SVD_XT_VAE_CONFIG: dict[str, Any] = {
    "_class_name": "AutoencoderKLTemporalDecoder",
    "_diffusers_version": "0.24.0.dev0",
    "block_out_channels": [128, 256, 512, 512],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "force_upcast": True,
    "in_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 2,
    "out_channels": 3,
    "sample_size": 768,
    "scaling_factor": 0.18215,
}

#: ``image_encoder/config.json`` of SVD-xt: OpenCLIP ViT-H/14 as ``CLIPVisionModelWithProjection``.
CLIP_VIT_H_CONFIG: dict[str, Any] = {
    "architectures": ["CLIPVisionModelWithProjection"],
    "attention_dropout": 0.0,
    "dropout": 0.0,
    "hidden_act": "gelu",
    "hidden_size": 1280,
    "image_size": 224,
    "initializer_factor": 1.0,
    "initializer_range": 0.02,
    "intermediate_size": 5120,
    "layer_norm_eps": 1e-05,
    "model_type": "clip_vision_model",
    "num_attention_heads": 16,
    "num_channels": 3,
    "num_hidden_layers": 32,
    "patch_size": 14,
    "projection_dim": 1024,
    "torch_dtype": "float32",
}

_CLIP_PREPROCESSOR = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_processor_type": "CLIPImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 224},
}

_MODEL_INDEX = {
    "_class_name": "StableVideoDiffusionPipeline",
    "_diffusers_version": "0.24.0.dev0",
    "feature_extractor": ["transformers", "CLIPImageProcessor"],
    "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
    "scheduler": ["diffusers", "EulerDiscreteScheduler"],
    "unet": ["diffusers", "UNetSpatioTemporalConditionModel"],
    "vae": ["diffusers", "AutoencoderKLTemporalDecoder"],
}


def constructor_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """A hub ``config.json`` without its bookkeeping keys (``_class_name``, ``architectures``, ``model_type`` …):
    the keyword arguments of the diffusers class or of ``transformers.CLIPVisionConfig``."""
    bookkeeping = ("architectures", "model_type", "torch_dtype", "transformers_version")
    return {k: v for k, v in config.items() if not k.startswith("_") and k not in bookkeeping}


def _random_tensor(name: str, shape: torch.Size, seed: int) -> torch.Tensor:
    """Seeded float32 values for one parameter: ``N(0, 1/fan_in)`` for matrices and kernels, ``1 + N(0, 0.1²)`` for
    normalisation weights, ``N(0, 0.1²)`` for biases and other vectors."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    generator = torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
    values = torch.randn(tuple(shape), generator=generator)
    if len(shape) >= 2:
        return values.mul_(1.0 / math.sqrt(max(math.prod(shape[1:]), 1)))
    leaf = name.rsplit(".", 2)
    if leaf[-1] == "weight" and len(leaf) > 1 and "norm" in leaf[-2]:
        return values.mul_(0.1).add_(1.0)
    return values.mul_(0.1)


@torch.no_grad()
def fill_random_(module: torch.nn.Module, seed: int = 0, scale: dict[str, float] | None = None) -> torch.nn.Module:
    """Overwrite every floating-point parameter and persistent buffer of ``module`` in place (see
    :func:`_random_tensor`); each value depends only on ``(seed, name, shape)``. ``scale`` multiplies the entries
    whose name ends with a key. Returns ``module``."""
    for name, tensor in module.state_dict(keep_vars=True).items():
        if not tensor.is_floating_point():
            continue
        value = _random_tensor(name, tensor.shape, seed)
        for suffix, factor in (scale or {}).items():
            if name.endswith(suffix):
                value.mul_(factor)
        tensor.data.copy_(value)
    return module


def _hub_json(path: Path, values: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values, sort_keys=True, indent=2))


def save_realsize_croco(folder: Path, name: str = "monst3r", *, seed: int = 0) -> Path:
    """Write a full-size random DUSt3R-family checkpoint in the hub layout; returns ``folder``.

    Args:
        folder: output folder (``config.json`` + ``model.safetensors``).
        name: ``monst3r``, ``dust3r`` or ``mast3r`` (MASt3R with its descriptor MLP, 688,638,856 parameters).
        seed: weight seed (the final DPT convolution is scaled by 0.1 so that ``exp`` of the raw outputs stays
            moderate, as in a trained model).

    Peak memory is about twice the float32 model (2.3 GB for DUSt3R/MonST3R).
    """
    from safetensors.torch import save_file

    from stereodiff.stage1.croco import AsymmetricCroCo3DStereo, CroCoStereoConfig

    if name not in CROCO_HUB_CONFIGS:
        raise ValueError(f"name must be one of {sorted(CROCO_HUB_CONFIGS)}, got {name!r}")
    values = CROCO_HUB_CONFIGS[name]
    model = AsymmetricCroCo3DStereo(CroCoStereoConfig.from_dict(values))
    fill_random_(model, seed, scale={"dpt.head.4.weight": 0.1, "dpt.head.4.bias": 0.1})
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    del model
    dec, enc = values["dec_embed_dim"], values["enc_embed_dim"]
    extra = {"mask_token": (1, 1, dec)}  # a pre-training parameter the official class still holds
    if values["head_type"] == "catmlp+dpt":  # MASt3R's local-feature MLP: (enc+dec) → 4·(enc+dec) → (desc+1)·16²
        idim, desc = enc + dec, int(values["output_mode"][len("pts3d+desc") :])
        for head in ("downstream_head1", "downstream_head2"):
            extra |= {
                f"{head}.head_local_features.fc1.weight": (4 * idim, idim),
                f"{head}.head_local_features.fc1.bias": (4 * idim,),
                f"{head}.head_local_features.fc2.weight": ((desc + 1) * 16**2, 4 * idim),
                f"{head}.head_local_features.fc2.bias": ((desc + 1) * 16**2,),
            }
    for key, shape in extra.items():
        state[key] = _random_tensor(key, torch.Size(shape), seed)
    folder = Path(folder)
    _hub_json(folder / "config.json", values)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def save_realsize_depthcrafter(folder: Path, *, seed: int = 0) -> tuple[Path, Path]:
    """Write a full-size random DepthCrafter UNet and SVD-xt base in the hub layouts; returns ``(unet, base)``.

    ``folder/unet`` holds the UNet as tencent/DepthCrafter (float16 only), ``folder/base`` the SVD-xt components
    (float32 + ``fp16`` variants). Peak memory about 7 GB (the float32 UNet while it is filled); disk 7.5 GB.
    """
    from diffusers import AutoencoderKLTemporalDecoder, EulerDiscreteScheduler
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    from stereodiff.stage2.depthcrafter.testing import SVD_XT_SCHEDULER_CONFIG
    from stereodiff.stage2.depthcrafter.unet import DepthCrafterUNet

    folder = Path(folder)
    unet_dir, base_dir = folder / "unet", folder / "base"

    def save_both(module: torch.nn.Module, sub: Path, stem: str, config: dict[str, Any]) -> None:
        sub.mkdir(parents=True, exist_ok=True)
        state = {k: v.contiguous() for k, v in module.state_dict().items()}
        save_file(state, str(sub / f"{stem}.safetensors"), metadata={"format": "pt"})
        half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
        save_file(half, str(sub / f"{stem}.fp16.safetensors"), metadata={"format": "pt"})
        _hub_json(sub / "config.json", config)

    unet = fill_random_(DepthCrafterUNet(**constructor_kwargs(DEPTHCRAFTER_UNET_CONFIG)), seed).half()
    _hub_json(unet_dir / "config.json", DEPTHCRAFTER_UNET_CONFIG)
    save_file(
        {k: v.contiguous() for k, v in unet.state_dict().items()},
        str(unet_dir / "diffusion_pytorch_model.safetensors"),
        metadata={"format": "pt"},
    )
    del unet

    vae = fill_random_(AutoencoderKLTemporalDecoder(**constructor_kwargs(SVD_XT_VAE_CONFIG)), seed)
    save_both(vae, base_dir / "vae", "diffusion_pytorch_model", SVD_XT_VAE_CONFIG)
    del vae

    clip_kwargs = {
        k: v for k, v in CLIP_VIT_H_CONFIG.items() if k not in ("architectures", "model_type", "torch_dtype")
    }
    clip = fill_random_(CLIPVisionModelWithProjection(CLIPVisionConfig(**clip_kwargs)), seed)
    save_both(clip, base_dir / "image_encoder", "model", CLIP_VIT_H_CONFIG)
    del clip

    _hub_json(base_dir / "feature_extractor" / "preprocessor_config.json", _CLIP_PREPROCESSOR)
    scheduler = {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0"}
    _hub_json(base_dir / "scheduler" / "scheduler_config.json", scheduler | SVD_XT_SCHEDULER_CONFIG)
    _hub_json(base_dir / "model_index.json", _MODEL_INDEX)
    EulerDiscreteScheduler.from_pretrained(base_dir / "scheduler")  # the written config must load
    return unet_dir, base_dir


#: the hub repository each cached model stands for (see :func:`link_into_hub_cache`)
HUB_REPOS = {
    "monst3r": "Junyi42/MonST3R_PO-TA-S-W_ViTLarge_BaseDecoder_512_dpt",
    "dust3r": "naver/DUSt3R_ViTLarge_BaseDecoder_512_dpt",
    "mast3r": "naver/MASt3R_ViTLarge_BaseDecoder_512_catmlpdpt_metric",
    "depthcrafter": "tencent/DepthCrafter",
    "svd-xt": "stabilityai/stable-video-diffusion-img2vid-xt",
}


def cached_realsize_models(root: Path, name: str, *, seed: int = 0) -> Path:
    """``root/<name>`` built on first use (``name``: a DUSt3R-family name or ``depthcrafter``, which holds
    ``unet/`` and ``base/``); a ``done`` marker written last guards against half-written folders."""
    folder = Path(root) / name
    if not (folder / "done").is_file():
        if name == "depthcrafter":
            save_realsize_depthcrafter(folder, seed=seed)
        else:
            save_realsize_croco(folder, name, seed=seed)
        (folder / "done").write_text("ok\n")
    return folder


def link_into_hub_cache(cache: Path, repo_id: str, folder: Path, revision: str = "0" * 40) -> Path:
    """Make ``folder``'s files a snapshot of ``repo_id`` in a Hugging Face hub cache (symlinks, as the hub's own
    blobs are); returns the snapshot folder. ``HF_HUB_CACHE=cache`` then finds it offline."""
    repo_dir = Path(cache) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / revision
    for source in Path(folder).rglob("*"):
        if source.is_file() and source.name != "done":
            target = snapshot / source.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(source.resolve())
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(revision)
    return snapshot


def texture_frames(num_frames: int, height: int, width: int, seed: int = 0) -> Any:
    """``[T,H,W,3]`` uint8 test frames: a smooth random colour texture panning by 6 px per frame, plus grain."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (height // 16 + 2, (width + 6 * num_frames) // 16 + 2, 3)).astype(np.float32)
    big = cv2.resize(coarse, (coarse.shape[1] * 16, coarse.shape[0] * 16), interpolation=cv2.INTER_CUBIC)
    big += rng.normal(0, 8, big.shape).astype(np.float32)
    frames = [big[:height, 6 * t : 6 * t + width] for t in range(num_frames)]
    return np.clip(np.stack(frames), 0, 255).astype(np.uint8)


def synthetic_stage1(num_frames: int, height: int, width: int) -> tuple[Any, Any]:
    """A synthetic stage-1 result ``[T,h,w]``: a tilted plane with a moving box, confidence 5 (1 on the border)."""
    import numpy as np

    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    depth = np.empty((num_frames, height, width), np.float32)
    for t in range(num_frames):
        d = 2.0 + 2.0 * rows / height + 0.3 * cols / width
        box = (abs(rows - height / 2) < height / 5) & (abs(cols - (0.3 + 0.05 * t) * width) < width / 6)
        depth[t] = np.where(box, 1.2, d)
    confidence = np.full_like(depth, 5.0)
    confidence[:, :2], confidence[:, -2:] = 1.0, 1.0
    return depth, confidence
