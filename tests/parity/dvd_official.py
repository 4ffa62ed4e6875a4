"""Make the DVD golden outputs pinned in tests/test_dvd.py with the OFFICIAL code.

Not a test: run it by hand in a separate environment with the official repository (EnVision-Research/DVD @ 5501c8b)
on the path, torch 2.13 CPU, diffusers, peft, einops, accelerate, omegaconf, opencv, imageio, matplotlib, pandas,
tabulate. Two imports the inference never uses are stubbed: ``modelscope`` (its downloader; a ``shim`` folder with
a ``modelscope/__init__.py`` defining ``snapshot_download``) and ``torchvision`` (the image encoder of I2V models;
an empty module registered below, after transformers has found that torchvision is not installed)::

    # 1. in the stereodiff venv: the tiny checkpoints (the same weights the test builds)
    .venv/bin/python -c "from stereodiff.stage2.dvd.testing import save_tiny_dvd, save_tiny_wan; \
        save_tiny_wan('/tmp/dvd_tiny/wan'); save_tiny_dvd('/tmp/dvd_tiny/dvd')"
    # 2. in the official venv (float32 and float64 runs)
    PYTHONPATH=DVD:shim:tests/parity python tests/parity/dvd_official.py /tmp/dvd_tiny out.npz float64

The official models are built as its ``ModelManager`` would build them, except that the hyper-parameters come from
the tiny ``config.json`` (the manager only knows the published sizes, by a hash of the tensor names) and the VAE
is ``VideoVAE_(dim=8)`` (the wrapper hard-codes 96). Everything after that is the official code: its state-dict
converters, peft LoRA injection (``DiffusionTrainingModule.add_lora_to_model``), the strict load of ``pipe.dit.*``
and ``WanTrainingModule.merge_lora_layer`` as in ``load_model``; then, per case, the frames go through
``test_single_video``'s ``resize_for_training_scale``, ``generate_depth_sliced`` and ``resize_depth_back`` (the
video file step, ``read_video``, is replaced by the same conversion on decoded frames: /255, ``[1,T,3,H,W]``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import torch
from dvd_cases import CASES
from rollingdepth_cases import synthetic_frames


def stub_torchvision() -> None:
    import diffusers.models.lora  # noqa: F401  (imports transformers' CLIP while torchvision is absent)

    sys.modules["torchvision"] = ModuleType("torchvision")
    sys.modules["torchvision.transforms"] = ModuleType("torchvision.transforms")


def official_model(folder: Path, dtype: torch.dtype) -> SimpleNamespace:
    from diffsynth.models.wan_video_dit import WanModel, WanModelStateDictConverter
    from diffsynth.models.wan_video_vae import VideoVAE_, WanVideoVAE, WanVideoVAEStateDictConverter
    from diffsynth.pipelines.wan_video_new_determine import WanVideoPipeline
    from examples.wanvideo.model_training.DiffusionTrainingModule import DiffusionTrainingModule
    from examples.wanvideo.model_training.WanTrainingModule import WanTrainingModule
    from omegaconf import OmegaConf
    from safetensors.torch import load_file

    wan, dvd = folder / "wan", folder / "dvd"
    config = json.loads((wan / "config.json").read_text())
    pipe = WanVideoPipeline(device="cpu", torch_dtype=dtype)
    pipe.dit = WanModel(
        dim=config["dim"], in_dim=config["in_dim"], ffn_dim=config["ffn_dim"], out_dim=config["out_dim"],
        text_dim=4096, freq_dim=config["freq_dim"], eps=config["eps"], patch_size=(1, 2, 2),
        num_heads=config["num_heads"], num_layers=config["num_layers"], has_image_input=False,
    )  # fmt: skip
    dit_state = load_file(wan / "diffusion_pytorch_model.safetensors")
    pipe.dit.load_state_dict(WanModelStateDictConverter().from_civitai(dit_state)[0], strict=True)
    vae_state = torch.load(wan / "Wan2.1_VAE.pth", map_location="cpu")
    base_dim = int(vae_state["encoder.conv1.weight"].shape[0])
    pipe.vae = WanVideoVAE()
    pipe.vae.model = VideoVAE_(dim=base_dim, z_dim=16).eval().requires_grad_(False)
    pipe.vae.load_state_dict(WanVideoVAEStateDictConverter().from_civitai(vae_state), strict=True)
    pipe.vae = pipe.vae.to(dtype)

    args = OmegaConf.load(dvd / "model_config.yaml")
    pipe.dit = (
        DiffusionTrainingModule()
        .add_lora_to_model(pipe.dit, target_modules=["q", "k", "v", "o", "ffn.0", "ffn.2"], lora_rank=args.lora_rank)
        .to(dtype)
    )
    state = load_file(dvd / "model.safetensors")
    pipe.dit.load_state_dict({k.replace("pipe.dit.", ""): v for k, v in state.items() if "pipe.dit." in k}, strict=True)
    model = SimpleNamespace(pipe=pipe, args=args)
    WanTrainingModule.merge_lora_layer(model)
    pipe.dit.eval()
    return model


def main(folder: str, output: str, dtype_name: str = "float32") -> None:
    stub_torchvision()
    from test_script.test_single_video import generate_depth_sliced, resize_depth_back, resize_for_training_scale

    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    model = official_model(Path(folder), dtype)
    results = {}
    for name, (count, height, width, min_h, min_w, window, overlap, seed) in CASES.items():
        frames = synthetic_frames(count, height, width, seed)
        video = torch.from_numpy(frames).permute(0, 3, 1, 2).float().unsqueeze(0) / 255.0  # read_video's tensor
        video, size = resize_for_training_scale(video, min_h, min_w)
        depth = generate_depth_sliced(model, video.to(dtype), window, overlap)[0]
        results[name] = resize_depth_back(depth.astype(np.float32), size)
        print(name, results[name].shape, results[name][count // 2, 10, :2])
    np.savez(output, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
