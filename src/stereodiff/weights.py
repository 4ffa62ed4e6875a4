"""Where model weights come from: a local folder, the Hugging Face cache, or (when allowed) a download.

Nothing is downloaded unless the user asked for a model that is not on disk and downloads are allowed
(``HF_HUB_OFFLINE`` unset). Every failure is an :class:`~stereodiff.errors.InputError` that names the repository,
the cache folder and the command that fetches it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stereodiff.errors import InputError

__all__ = ["MODELS", "ModelSpec", "cache_dir", "downloadable", "find_snapshot", "offline", "resolve_snapshot"]


@dataclass(frozen=True)
class ModelSpec:
    """A published checkpoint that stereodiff knows by name.

    Attributes:
        repo_id: Hugging Face hub repository.
        role: what it is used for.
        licence: the licence of the weights, in short (read the model page before use).
        size: approximate download size.
        allow_patterns: the files stereodiff needs (``None`` = the whole repository).
        required: files that must exist in a usable snapshot (relative paths).
    """

    repo_id: str
    role: str
    licence: str
    size: str
    allow_patterns: tuple[str, ...] | None
    required: tuple[str, ...]


_NC = "CC BY-NC-SA 4.0 — non-commercial use only"

MODELS: dict[str, ModelSpec] = {
    "monst3r": ModelSpec(
        "Junyi42/MonST3R_PO-TA-S-W_ViTLarge_BaseDecoder_512_dpt",
        "stage 1 (paper default): pairwise pointmaps",
        f"{_NC} (fine-tuned from DUSt3R)",
        "2.3 GB",
        ("config.json", "model.safetensors"),
        ("config.json", "model.safetensors"),
    ),
    "dust3r": ModelSpec(
        "naver/DUSt3R_ViTLarge_BaseDecoder_512_dpt",
        "stage 1 (ablation): pairwise pointmaps",
        _NC,
        "2.3 GB",
        ("config.json", "model.safetensors"),
        ("config.json", "model.safetensors"),
    ),
    "mast3r": ModelSpec(
        "naver/MASt3R_ViTLarge_BaseDecoder_512_catmlpdpt_metric",
        "stage 1 (ablation): pairwise pointmaps (descriptor head unused)",
        _NC,
        "2.8 GB",
        ("config.json", "model.safetensors"),
        ("config.json", "model.safetensors"),
    ),
    "depthcrafter": ModelSpec(
        "tencent/DepthCrafter",
        "stage 2: the video-diffusion UNet",
        "DepthCrafter licence (Tencent) — non-commercial; see LICENSE in the repository",
        "3.1 GB (fp16)",
        ("config.json", "diffusion_pytorch_model.safetensors", "LICENSE", "NOTICE"),
        ("config.json", "diffusion_pytorch_model.safetensors"),
    ),
    "svd-xt": ModelSpec(
        "stabilityai/stable-video-diffusion-img2vid-xt",
        "stage 2: VAE, CLIP image encoder, scheduler (its UNet is not used)",
        "Stable Video Diffusion community licence (Stability AI) — gated; accept it on the model page",
        "1.5 GB (fp16 VAE + image encoder)",
        (
            "model_index.json",
            "LICENSE*",
            "vae/*",
            "image_encoder/*",
            "feature_extractor/*",
            "scheduler/*",
        ),
        ("vae/config.json", "image_encoder/config.json", "scheduler/scheduler_config.json"),
    ),
    "rollingdepth": ModelSpec(
        "prs-eth/rollingdepth-v1-0",
        "stage 2: RollingDepth alone (--stage2 rollingdepth) or its refinement (rollingdepth-refiner)",
        "CreativeML Open RAIL++-M (use restrictions; see the model page); RollingDepth code Apache-2.0",
        "≈5 GB (SD2-size UNet, VAE, CLIP text encoder)",
        (
            "model_index.json",
            "unet/*",
            "vae/*",
            "scheduler/*",
            "text_encoder/*",
            "tokenizer/*",
            "LICENSE*",
        ),
        ("unet/config.json", "vae/config.json", "scheduler/scheduler_config.json", "text_encoder/config.json"),
    ),
    "dvd": ModelSpec(
        "FayeHongfeiZhang/DVD",
        "stage 2: DVD alone (--stage2 dvd): the Wan2.1 DiT with DVD's LoRA (v1.0 model.safetensors, v1.1 "
        "dvd_1.1.safetensors)",
        "CC BY-NC 4.0 — non-commercial use only; DVD code Apache-2.0",
        "≈2 B parameters (the whole Wan2.1-1.3B DiT plus rank-512 LoRA factors) per version",
        ("model.safetensors", "dvd_1.1.safetensors", "model_config.yaml", "*.md"),
        ("model.safetensors",),
    ),
    "wan2.1-t2v-1.3b": ModelSpec(
        "Wan-AI/Wan2.1-T2V-1.3B",
        "stage 2 (dvd): the Wan2.1 VAE and the DiT's config (DVD's file holds the DiT itself; the T5 text encoder "
        "is not used)",
        "Apache-2.0",
        "0.5 GB (VAE)",
        ("config.json", "Wan2.1_VAE.pth", "LICENSE*"),
        ("config.json", "Wan2.1_VAE.pth"),
    ),
    "wan2.1-t2v-1.3b-diffusers": ModelSpec(
        "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
        "stage 2 (dvd, --set stage2.base=wan2.1-t2v-1.3b-diffusers): the same VAE and DiT config, diffusers layout",
        "Apache-2.0",
        "0.5 GB (VAE)",
        ("model_index.json", "transformer/config.json", "vae/*", "LICENSE*"),
        ("transformer/config.json", "vae/config.json"),
    ),
}


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` forbids downloads."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def cache_dir() -> Path:
    """The Hugging Face hub cache folder (``HF_HUB_CACHE`` / ``HF_HOME`` honoured)."""
    from huggingface_hub import constants

    return Path(os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE)


def _spec_and_repo(name_or_repo: str) -> tuple[ModelSpec | None, str]:
    spec = MODELS.get(name_or_repo)
    return spec, spec.repo_id if spec is not None else name_or_repo


def find_snapshot(name_or_repo: str) -> Path | None:
    """The cached snapshot folder of a known name or repo id, or ``None`` if it is not (completely) cached."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    spec, repo_id = _spec_and_repo(name_or_repo)
    patterns = list(spec.allow_patterns) if spec and spec.allow_patterns else None
    try:
        path = Path(snapshot_download(repo_id, local_files_only=True, allow_patterns=patterns, cache_dir=cache_dir()))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError):
        return None
    if spec is not None and not all(any(path.glob(req)) for req in spec.required):
        return None
    return path


def downloadable(name_or_repo: str, timeout: float = 5.0) -> bool:
    """True when the hub answers for this model within ``timeout`` seconds (never when offline)."""
    from huggingface_hub import HfApi

    if offline():
        return False
    try:
        HfApi().model_info(_spec_and_repo(name_or_repo)[1], timeout=timeout)
    except Exception:  # any failure (network, auth, gating) means "not downloadable now"
        return False
    return True


def resolve_snapshot(
    name_or_path: str | Path,
    *,
    allow_download: bool | None = None,
    allow_patterns: list[str] | None = None,
) -> Path:
    """A local folder holding the model.

    Args:
        name_or_path: an existing folder or file (returned as is), a known name (a key of :data:`MODELS`) or a
            Hugging Face repo id (``owner/name``).
        allow_download: ``None`` = download when not cached unless ``HF_HUB_OFFLINE`` is set; ``False`` = cache
            only; ``True`` = download when needed (still refused offline).
        allow_patterns: files to fetch (default: the model's own list, or the whole repository).

    Returns:
        The folder (for a file path: the file).

    Raises:
        InputError: not a folder, not cached and not downloadable, or the download failed.
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path
    text = str(name_or_path)
    spec, repo_id = _spec_and_repo(text)
    if spec is None and (text.count("/") != 1 or text.startswith((".", "/", "~"))):
        known = ", ".join(MODELS)
        raise InputError(
            f"model {text!r} is neither an existing path nor a known model name",
            f"give a folder, a Hugging Face repo id (owner/name) or one of: {known}",
        )
    cached = find_snapshot(text)
    if cached is not None:
        return cached
    name = text if spec is not None else repo_id
    how = f"run `stereodiff weights download {name}` on a machine with network access (cache: {cache_dir()})"
    if allow_download is False or offline():
        reason = "HF_HUB_OFFLINE is set" if offline() else "downloads are disabled"
        raise InputError(f"weights {repo_id} are not in the Hugging Face cache and {reason}", how)
    return download(text, allow_patterns=allow_patterns)


def download(name_or_repo: str, *, allow_patterns: list[str] | None = None) -> Path:
    """Download a known model or repo id into the Hugging Face cache; returns its snapshot folder."""
    from huggingface_hub import snapshot_download

    spec, repo_id = _spec_and_repo(name_or_repo)
    if allow_patterns is None and spec is not None and spec.allow_patterns:
        allow_patterns = list(spec.allow_patterns)
    if offline():
        raise InputError(
            f"cannot download {repo_id}: HF_HUB_OFFLINE is set",
            "unset HF_HUB_OFFLINE, or copy the model folder here and pass its path",
        )
    try:
        return Path(snapshot_download(repo_id, allow_patterns=allow_patterns, cache_dir=cache_dir()))
    except Exception as err:  # network, auth (gated repos), disk: all user-fixable
        raise InputError(
            f"downloading {repo_id} failed ({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            "check the network, log in with `huggingface-cli login` for gated models, or pass a local folder",
        ) from err
