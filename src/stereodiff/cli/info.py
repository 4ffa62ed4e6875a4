"""``stereodiff info``: versions, compute devices and where model weights are looked for."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform

PACKAGES = (
    "numpy",
    "scipy",
    "torch",
    "opencv-python-headless",
    "av",
    "pillow",
    "diffusers",
    "transformers",
    "huggingface_hub",
    "safetensors",
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "info", help="print versions, devices, the weights cache, and what --device/--preset auto would pick"
    )
    parser.set_defaults(func=run)


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def collect_info() -> dict[str, str]:
    """Versions, devices and the Hugging Face cache folder, as ``{label: value}``."""
    from stereodiff import __version__
    from stereodiff.devices import choose_preset, resolve_device

    info = {"stereodiff": __version__, "python": platform.python_version(), "platform": platform.platform()}
    info.update({name: _version(name) for name in PACKAGES})
    try:
        import torch

        info["torch threads"] = str(torch.get_num_threads())
        info["cuda"] = f"{torch.cuda.device_count()} device(s)" if torch.cuda.is_available() else "not available"
        mps = getattr(torch.backends, "mps", None)
        info["mps"] = "available" if mps is not None and mps.is_available() else "not available"
    except ImportError:
        info["cuda"] = "torch not installed (pip install 'stereodiff[paper]')"
    try:
        from huggingface_hub import constants

        info["weights cache (HF_HUB_CACHE)"] = str(constants.HF_HUB_CACHE)
        info["offline (HF_HUB_OFFLINE)"] = "yes" if constants.HF_HUB_OFFLINE else "no"
    except ImportError:
        info["weights cache (HF_HUB_CACHE)"] = "huggingface_hub not installed (pip install 'stereodiff[paper]')"
    choice = choose_preset("auto")
    info["--device auto"] = resolve_device("auto")
    info["--preset auto"] = f"{choice.preset} on {choice.device} ({choice.reason})"
    info["OMP_WAIT_POLICY"] = os.environ.get("OMP_WAIT_POLICY", "(unset)")
    return info


def run(args: argparse.Namespace) -> int:
    info = collect_info()
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return 0
