"""Load (and save) DUSt3R-family checkpoints: Hugging Face folders, hub repo ids / known names, official ``.pth``.

Formats:

- Hugging Face layout (``PyTorchModelHubMixin``): ``config.json`` (the constructor keyword arguments; may hold JSON
  ``Infinity``) and ``model.safetensors``.
- Official training checkpoint (``.pth``): ``ckpt["model"]`` (state dict) and ``ckpt["args"].model`` (the
  constructor string, e.g. ``AsymmetricCroCo3DStereo(enc_depth=24, ...)``). The pickle is read with
  ``torch.load(weights_only=True)`` allowing only ``argparse.Namespace`` besides tensors, and the string is parsed
  with :mod:`ast` (literals only); nothing is evaluated.

State-dict keys are the official ones. The only differences handled: ``mask_token`` (a pre-training parameter) is
dropped; ``…dpt.scratch.layer_rn.k`` is an alias of ``…dpt.scratch.layer{k+1}_rn``; old checkpoints without
``dec_blocks2`` get a copy of ``dec_blocks`` (as the official ``load_state_dict``); MASt3R's descriptor head
(``head_local_features``) is dropped. Anything else missing, unexpected or of the wrong shape is an
:class:`~stereodiff.errors.InputError` — never a partial load.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
from pathlib import Path
from typing import Any

import torch

from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.stage1.croco.model import ARCHITECTURES, AsymmetricCroCo3DStereo, CroCoStereoConfig

__all__ = ["constructor_string", "load_croco_stereo", "parse_constructor", "save_croco_stereo"]

_HF_FILES = ["config.json", "model.safetensors"]
_ALIAS = re.compile(r"^(downstream_head[12]\.dpt\.scratch\.)layer_rn\.(\d)\.weight$")


def load_croco_stereo(
    name_or_path: str | Path, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> AsymmetricCroCo3DStereo:
    """Load a DUSt3R-family network (MonST3R, DUSt3R, MASt3R) ready for inference.

    Args:
        name_or_path: a folder in the Hugging Face layout, an official ``.pth`` checkpoint, a known model name
            (``monst3r``, ``dust3r``, ``mast3r``) or a hub repo id. Names and repo ids are looked up in the
            Hugging Face cache first and downloaded only when allowed (never with ``HF_HUB_OFFLINE`` set).
        device: where the weights go.
        dtype: dtype of the encoder/decoder weights; the heads always stay float32.

    Returns:
        The model in eval mode, gradients off.

    Raises:
        InputError: weights not found (offline), unreadable or truncated files, a foreign architecture, missing or
            unexpected parameters.
    """
    from stereodiff.weights import resolve_snapshot

    path = resolve_snapshot(name_or_path, allow_patterns=_HF_FILES)
    if path.is_file() and path.suffix == ".safetensors":  # model.safetensors given: its folder has config.json
        path = path.parent
    if path.is_dir():
        config, state = _read_hf_folder(path)
    else:
        config, state = _read_pth(path)
    model = _build(config, state, str(path))
    model.to(device=device, dtype=dtype)
    model.downstream_head1.float()
    model.downstream_head2.float()
    logger.info("loaded %s (%s, %d parameters)", path, config.head_type, sum(p.numel() for p in model.parameters()))
    return model.eval().requires_grad_(False)


def _read_hf_folder(folder: Path) -> tuple[CroCoStereoConfig, dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    config_path, weights_path = folder / "config.json", folder / "model.safetensors"
    for needed in (config_path, weights_path):
        if not needed.is_file():
            present = sorted(p.name for p in folder.iterdir())[:10]
            raise InputError(
                f"{folder} has no {needed.name} (found: {present})",
                "give a Hugging Face model folder with config.json and model.safetensors, or an official .pth",
            )
    try:
        values = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"cannot parse {config_path} ({err})", "the file is damaged; download it again") from err
    if not isinstance(values, dict):
        raise InputError(f"{config_path} does not hold a JSON object", "the file is damaged; download it again")
    config = CroCoStereoConfig.from_dict(values, source=str(config_path))
    try:
        state = load_file(str(weights_path))
    except Exception as err:  # safetensors raises its own error type for bad headers / short files
        raise InputError(
            f"cannot read {weights_path} ({type(err).__name__}: {err})",
            "the file is truncated or damaged; download it again",
        ) from err
    return config, state


def _read_pth(path: Path) -> tuple[CroCoStereoConfig, dict[str, torch.Tensor]]:
    import pickle
    import zipfile

    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"{path} holds objects other than tensors and argparse.Namespace, which are not unpickled for safety "
            f"({first})",
            "convert it to the Hugging Face layout with the official code (model.save_pretrained) and pass the folder",
        ) from err
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as err:
        raise InputError(
            f"cannot read the checkpoint {path} ({type(err).__name__}: {' '.join(str(err).split())[:200]})",
            "the file is truncated or not a torch checkpoint; download it again",
        ) from err
    if not isinstance(ckpt, dict) or "model" not in ckpt or not isinstance(ckpt["model"], dict):
        raise InputError(
            f"{path} is not an official training checkpoint (no 'model' state dict)",
            "give a DUSt3R/MonST3R/MASt3R .pth or a Hugging Face folder",
        )
    ctor = getattr(ckpt.get("args"), "model", None)
    if not isinstance(ctor, str):
        raise InputError(
            f"{path} has no constructor string (ckpt['args'].model), so its architecture is unknown",
            "give the official .pth (with its training args) or a Hugging Face folder with config.json",
        )
    _, kwargs = parse_constructor(ctor, source=f"{path} args.model")
    return CroCoStereoConfig.from_dict(kwargs, source=f"{path} args.model"), ckpt["model"]


def parse_constructor(text: str, *, source: str = "constructor") -> tuple[str, dict[str, Any]]:
    """Parse an official constructor string such as ``AsymmetricCroCo3DStereo(enc_depth=24, depth_mode=('exp',
    -inf, inf))`` without evaluating it.

    Only keyword arguments with literal values (numbers, strings, booleans, ``None``, tuples/lists, ``inf``,
    unary minus) are accepted.

    Returns:
        The class name and the keyword arguments.

    Raises:
        InputError: not a call of a supported class, positional arguments, or a non-literal value.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise InputError(f"{source}: cannot parse {text!r} ({err.msg})", "the checkpoint args are damaged") from err
    call = tree.body
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in ARCHITECTURES):
        raise InputError(
            f"{source}: {text[:80]!r} does not construct one of {list(ARCHITECTURES)}",
            "only DUSt3R-family checkpoints (DUSt3R, MonST3R, MASt3R) can be loaded",
        )
    if call.args or any(kw.arg is None for kw in call.keywords):
        raise InputError(f"{source}: {text[:80]!r} must use keyword arguments only", "the checkpoint args are damaged")
    return call.func.id, {kw.arg: _literal(kw.value, source) for kw in call.keywords}


def _literal(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_literal(elt, source) for elt in node.elts]
        return tuple(values) if isinstance(node, ast.Tuple) else values
    if isinstance(node, ast.Name) and node.id == "inf":
        return math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, source)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    raise InputError(f"{source}: {ast.unparse(node)!r} is not a literal value", "the checkpoint args are not supported")


def constructor_string(config: CroCoStereoConfig) -> str:
    """The official-style constructor string of ``config`` (what ``ckpt["args"].model`` holds)."""
    cls = "AsymmetricMASt3R" if config.head_type == "catmlp+dpt" else "AsymmetricCroCo3DStereo"
    args = ", ".join(f"{k}={v!r}" for k, v in config.to_dict().items() if k not in ("mask_ratio", "freeze"))
    return f"{cls}({args})".replace("[", "(").replace("]", ")")


def _canonical_state(state: dict[str, Any], config: CroCoStereoConfig, source: str) -> dict[str, torch.Tensor]:
    """Apply the documented key differences (see the module docstring) to an official state dict."""
    out: dict[str, torch.Tensor] = {}
    aliases: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise InputError(f"{source}: entry {key!r} is not a tensor", "the checkpoint is damaged")
        if key == "mask_token":
            continue
        if config.head_type == "catmlp+dpt" and re.match(r"^downstream_head[12]\.head_local_features\.", key):
            continue
        alias = _ALIAS.match(key)
        if alias:
            aliases[f"{alias.group(1)}layer{int(alias.group(2)) + 1}_rn.weight"] = value
            continue
        out[key] = value
    for key, value in aliases.items():
        if key not in out:
            out[key] = value
        elif out[key].shape != value.shape or not torch.equal(out[key], value):
            raise InputError(f"{source}: {key} differs from its alias scratch.layer_rn", "the checkpoint is damaged")
    if not any(k.startswith("dec_blocks2.") for k in out):
        first = {k[len("dec_blocks.") :]: v for k, v in out.items() if k.startswith("dec_blocks.")}
        out.update({"dec_blocks2." + k: v.clone() for k, v in first.items()})
    return out


def _build(config: CroCoStereoConfig, state: dict[str, Any], source: str) -> AsymmetricCroCo3DStereo:
    state = _canonical_state(state, config, source)
    with torch.device("meta"):
        model = AsymmetricCroCo3DStereo(config)
    expected = {k: v.shape for k, v in model.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
        raise InputError(
            f"{source}: the weights do not match the {config.head_type} architecture of its config: "
            + "; ".join(parts),
            "the config and the weights belong to different models, or the file is damaged",
        )
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(s)}" for k, s in expected.items() if state[k].shape != s]
    if wrong:
        raise InputError(
            f"{source}: {len(wrong)} parameters have the wrong shape (e.g. {wrong[:2]})",
            "the config and the weights belong to different models",
        )
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    return model


def save_croco_stereo(model: AsymmetricCroCo3DStereo, path: str | Path) -> Path:
    """Save ``model`` in the Hugging Face layout (a folder) or, for a path ending in ``.pth``, as an official-style
    training checkpoint (``{"model": state_dict, "args": Namespace(model=constructor string)}``).

    Both load back with :func:`load_croco_stereo` (and with the official code). Returns ``path``.
    """
    from safetensors.torch import save_file

    path = Path(path)
    state = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    if path.suffix == ".pth":
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": state, "args": argparse.Namespace(model=constructor_string(model.config))}, path)
        return path
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(model.config.to_dict(), sort_keys=True, indent=2))
    save_file(state, str(path / "model.safetensors"))
    return path
