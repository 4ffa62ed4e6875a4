"""Make the RollingDepth golden outputs pinned in tests/test_rollingdepth.py with the OFFICIAL code.

Not a test: run it by hand in an environment with the official repository (prs-eth/RollingDepth @ c233765, its
bundled diffusers 0.30.0 under ``diffusers/src``), torch 2.13 CPU, transformers 4.46, huggingface_hub 0.25, einops,
av. torchvision is only used there for ``resize`` (bilinear, antialias) and was replaced by a stand-in calling
``torch.nn.functional.interpolate(..., antialias=True)``, which is what torchvision does for float tensors::

    # 1. in the stereodiff venv: the tiny checkpoint (same weights the test builds)
    .venv/bin/python -c "from stereodiff.stage2.rollingdepth.testing import save_tiny_rollingdepth as s; \
        s('/tmp/rd_tiny')"
    # 2. in the official venv (float32, then float64: the two golden sets)
    PYTHONPATH=RollingDepth:RollingDepth/diffusers/src:shim \
        python tests/parity/rollingdepth_official.py /tmp/rd_tiny out.npz float64

Frames are fed through the official per-frame preprocessing (``video_io.resize_max_res``, then /255·2-1) instead
of a video file, so no codec enters the comparison; the noise comes from ``torch.Generator().manual_seed(seed)``
inside the official ``forward`` (the same single draw stereodiff makes). The whole run takes about a minute on one core.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from rollingdepth import RollingDepthPipeline
from rollingdepth.depth_aligner import DepthAligner
from rollingdepth.video_io import resize_max_res
from rollingdepth_cases import CASES, synthetic_frames, synthetic_snippets
from torchvision.transforms import InterpolationMode


def official_input(frames: np.ndarray, resolution: int) -> torch.Tensor:
    """``load_video_frames``' per-frame steps on decoded RGB frames → ``[1, N, 3, h, w]``."""
    out = []
    for frame in frames:
        x = torch.from_numpy(frame.copy()).float().permute(2, 0, 1)[None]
        x = resize_max_res(x, max_edge_resolution=resolution, resample_method=InterpolationMode.BILINEAR)
        out.append(x / 255.0 * 2.0 - 1.0)
    return torch.cat(out)[None]


def main(checkpoint: str, output: str, dtype: str = "float32") -> None:
    torch.set_num_threads(1)
    torch.set_default_dtype(getattr(torch, dtype))  # the co-alignment makes its tensors in the default dtype
    pipe = RollingDepthPipeline.from_pretrained(checkpoint, torch_dtype=getattr(torch, dtype))
    results = {}
    for name, (count, height, width, resolution, settings, seed) in CASES.items():
        frames = synthetic_frames(count, height, width, seed)
        out = pipe.forward(
            input_frames=official_input(frames, resolution).to(torch.get_default_dtype()),
            dilations=list(settings["dilations"]),
            cap_dilation=True,
            snippet_lengths=[3],
            init_infer_steps=[1],
            strides=[1],
            coalign_kwargs={"num_iterations": settings["coalign_iterations"]}
            if "coalign_iterations" in settings
            else None,
            refine_step=settings["refine_step"],
            refine_snippet_len=3,
            refine_start_dilation=6,
            generator=torch.Generator().manual_seed(seed),
            verbose=False,
            max_vae_bs=4,
            unload_snippet=False,
        )
        results[f"{name}_depth"] = out.depth_pred.squeeze(1).numpy()
        results[f"{name}_coaligned"] = out.depth_coaligned.squeeze(1).numpy()
        print(name, results[f"{name}_depth"].shape, results[f"{name}_depth"][count // 2, 10, :4])
    snippets = [x.astype(dtype) for x in synthetic_snippets(12, [1, 3], 0)]  # float64: the pinned co-alignment
    aligner = DepthAligner(device=torch.device("cpu"))
    merged = aligner.run(snippet_ls=[torch.from_numpy(x)[:, :, None] for x in snippets], dilations=[1, 3])[0]
    results["coalign_merged"] = merged.detach().squeeze(1).numpy()
    print("coalign", results["coalign_merged"][5, 10, :4])
    np.savez(output, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
