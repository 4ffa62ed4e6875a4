"""Real-size runs with random weights (issue 23); skipped by default, ``make test-realsize`` runs them.

The published architectures are built at full size with seeded random weights (:mod:`stereodiff.realsize`; seed 0,
each value a function of the seed, the parameter name and its shape), saved in the exact hub layouts and loaded
through the loaders users run. Models are cached in ``$STEREODIFF_REALSIZE_MODELS`` (default
``~/.cache/stereodiff/realsize``: 10 GB of disk; about 3 minutes to build the first time).

Golden values were computed with the OFFICIAL code — naver/dust3r 4c24a6e with naver/croco d7de070, and
Tencent/DepthCrafter e518612 — on the same weights and inputs, in float32 on CPU, each side in its own process::

    python benchmarks/realsize_parity.py croco official --dust3r DUST3R --site SITE --out croco.npz
    python benchmarks/realsize_parity.py depthcrafter ours --out ours.npz   # inputs for the official side
    python benchmarks/realsize_parity.py depthcrafter official --depthcrafter DEPTHCRAFTER --inputs ours.npz \\
        --site SITE --out depthcrafter.npz

and sliced as in each test (``SITE`` holds einops and torchvision.transforms). On the full outputs our code
differed from the official one by at most 5.8e-06 (MonST3R pair) and 3.6e-06 (DepthCrafter
window) of the output scale; the tests allow 1e-4.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from stereodiff.realsize import (
    HUB_REPOS,
    cached_realsize_models,
    link_into_hub_cache,
    synthetic_stage1,
    texture_frames,
)

pytestmark = pytest.mark.realsize

MODELS = Path(os.environ.get("STEREODIFF_REALSIZE_MODELS", Path.home() / ".cache" / "stereodiff" / "realsize"))
TOLERANCE = 1e-4

# fmt: off
# MonST3R pair (0, 1) of texture_frames(2, 576, 1024) at 512x288; arrays [1,288,512,...][0, ::72, ::128]
GOLDEN_CROCO_SCALE = {
    "pts_i": 1.3340814113616943, "pts_j": 0.9313798546791077,
    "conf_i": 2.6709609031677246, "conf_j": 2.5465197563171387,
}
GOLDEN_CROCO = {
    "pts_i": [[[-0.15685004,  0.17356601, -0.04638843],
      [-0.24481194, -0.0903542 ,  0.01215318],
      [-0.27754101, -0.05531915, -0.00896497],
      [-0.30670166, -0.01681586, -0.05296853]],
     [[-0.10576214,  0.43476439, -0.18464999],
      [-0.60156244,  0.67145503, -0.50490981],
      [-0.69449663,  0.75347906, -0.51683164],
      [-0.71346813,  0.73594332, -0.49262238]],
     [[-0.12538256,  0.43083954, -0.18098131],
      [-0.66548395,  0.71817607, -0.50592828],
      [-0.68049687,  0.69535011, -0.48198128],
      [-0.68252057,  0.7000196 , -0.48225975]],
     [[-0.03092718,  0.40638137, -0.16661237],
      [-0.45454398,  0.60439205, -0.38559997],
      [-0.53029925,  0.65922743, -0.435442  ],
      [-0.58915293,  0.63848811, -0.46295816]]],
    "pts_j": [[[-0.1619222 ,  0.01881999, -0.09165698],
      [-0.68832368,  0.23106724, -0.28059965],
      [-0.661852  ,  0.21121743, -0.23468173],
      [-0.69254929,  0.1709979 , -0.19579963]],
     [[-0.04447553, -0.28452054, -0.48122185],
      [-0.30296975, -0.28377098, -0.15294927],
      [-0.3298052 , -0.21821533, -0.14911458],
      [-0.36508843, -0.21331429, -0.15255244]],
     [[-0.14543839, -0.36738917, -0.45035109],
      [-0.34692204, -0.31479383, -0.11863089],
      [-0.35826138, -0.31059968, -0.13925472],
      [-0.33301443, -0.26727515, -0.15653799]],
     [[-0.05606912, -0.27780432, -0.48166621],
      [-0.29717606, -0.11447366, -0.19056433],
      [-0.37217635, -0.14496359, -0.18271737],
      [-0.3370983 , -0.11800955, -0.19732609]]],
    "conf_i": [[2.14871526, 1.94402766, 1.94223857, 1.97987032],
     [2.47090483, 2.21555138, 2.21854591, 2.24573278],
     [2.35330057, 2.1393857 , 2.23611116, 2.28783703],
     [2.39941859, 2.17888641, 2.19457746, 2.2868011 ]],
    "conf_j": [[2.01121807, 1.99558675, 1.99668264, 1.99678326],
     [2.25773335, 2.10402155, 2.0210681 , 1.95999229],
     [2.18907499, 2.05473709, 2.00714207, 1.97563589],
     [2.26452112, 2.08409119, 1.99598503, 1.98032498]],
}
# DepthCrafter refiner window: 8 frames of texture_frames(8, 64, 64), synthetic_stage1(8, 36, 64);
# disparity [8,64,64][:, ::16, ::16] (min-max normalised over the window, as DepthCrafter's run.py)
GOLDEN_DEPTHCRAFTER = [[[0.61042899, 0.57636607, 0.68716335, 0.50333834],
      [0.6052146 , 0.57472306, 0.42158717, 0.70916015],
      [0.67850316, 0.67619956, 0.79637164, 0.5030579 ],
      [0.6014595 , 0.59789675, 0.34357765, 0.43928465]],
     [[0.57013535, 0.57449841, 0.52027285, 0.64026338],
      [0.61580604, 0.40944678, 0.72815496, 0.20354612],
      [0.63040382, 0.49893644, 0.43629202, 0.40226436],
      [0.60498124, 0.3934333 , 0.27217588, 0.47639614]],
     [[0.59967971, 0.51481247, 0.44558072, 0.52455902],
      [0.58674896, 0.75580513, 0.76642787, 0.63836807],
      [0.47885647, 0.54055369, 0.43316144, 0.56549722],
      [0.64929134, 0.49140733, 0.60664219, 0.48549077]],
     [[0.58294952, 0.52292788, 0.49419937, 0.46889532],
      [0.62448764, 0.39704689, 0.22550079, 0.4310101 ],
      [0.58488566, 0.4112668 , 0.81429201, 0.57111984],
      [0.49651593, 0.35840127, 0.66523236, 0.30876678]],
     [[0.57754785, 0.57189924, 0.65795302, 0.56598389],
      [0.51597458, 0.46584415, 0.57518691, 0.51077014],
      [0.6376574 , 0.69680601, 0.78517324, 0.08722338],
      [0.63559258, 0.6293937 , 0.57436961, 0.59886265]],
     [[0.55459309, 0.57123011, 0.57872289, 0.57497704],
      [0.56479806, 0.58697194, 0.59987444, 0.51424426],
      [0.52436346, 0.35330743, 0.63208073, 0.5128516 ],
      [0.58527607, 0.70540071, 0.72957718, 0.42886055]],
     [[0.55798304, 0.47709197, 0.59186143, 0.53372133],
      [0.56236345, 0.36803228, 0.20612404, 0.33318797],
      [0.46795517, 0.72562695, 0.66510683, 0.56860965],
      [0.5186556 , 0.42769191, 0.43410897, 0.45870343]],
     [[0.57115465, 0.6636228 , 0.53027636, 0.57089835],
      [0.60660559, 0.51497388, 0.95908469, 0.69535029],
      [0.56539166, 0.67425084, 0.39024889, 0.77433336],
      [0.46781489, 0.54189116, 0.40599573, 0.7759099 ]]]
# fmt: on


def _relative_error(got: np.ndarray, golden: list, scale: float) -> float:
    return float(np.abs(np.asarray(got, np.float64) - np.asarray(golden, np.float64)).max()) / scale


def test_monst3r_pair_matches_the_official_code():
    import torch

    from stereodiff.stage1.croco import load_croco_stereo
    from stereodiff.stage1.network import NetworkMatcher

    model = load_croco_stereo(cached_realsize_models(MODELS, "monst3r"))
    assert sum(p.numel() for p in model.parameters()) == 571_171_208 - 768  # official count minus mask_token
    matcher = NetworkMatcher(model, resolution=512, batch_size=1, dtype=torch.float32)
    preds = matcher.predict(texture_frames(2, 576, 1024), np.array([[0, 1]]))
    assert preds.size == (288, 512)
    for name, golden in GOLDEN_CROCO.items():
        got = getattr(preds, name)[0, ::72, ::128]
        assert _relative_error(got, golden, GOLDEN_CROCO_SCALE[name]) <= TOLERANCE, name


def test_mast3r_checkpoint_with_its_descriptor_head_loads():
    from safetensors import safe_open

    from stereodiff.stage1.croco import load_croco_stereo
    from stereodiff.stage1.network import NetworkMatcher

    folder = cached_realsize_models(MODELS, "mast3r")
    with safe_open(folder / "model.safetensors", "pt") as f:
        stored = sum(np.prod(f.get_slice(k).get_shape()) for k in f.keys())  # noqa: SIM118
        descriptor = sum(np.prod(f.get_slice(k).get_shape()) for k in f.keys() if "head_local_features" in k)  # noqa: SIM118
    assert stored == 688_638_856  # the official AsymmetricMASt3R
    model = load_croco_stereo(folder)  # the descriptor MLP is dropped, the DPT part kept
    assert sum(p.numel() for p in model.parameters()) == stored - descriptor - 768
    preds = NetworkMatcher(model, resolution=224, batch_size=2).predict(texture_frames(3, 126, 224))
    assert preds.size == (112, 224) and np.isfinite(preds.pts_i).all() and (preds.conf_i >= 1).all()


def test_depthcrafter_window_matches_the_official_code():
    import torch

    from stereodiff.stage2.depthcrafter import DepthCrafterRefiner, load_depthcrafter

    folder = cached_realsize_models(MODELS, "depthcrafter")
    pipeline = load_depthcrafter(folder / "unet", folder / "base", dtype=torch.float32)
    assert sum(p.numel() for p in pipeline.unet.parameters()) > 1.5e9  # the SVD-xt UNet
    refiner = DepthCrafterRefiner(pipeline, window=110, overlap=25)
    depth, confidence = synthetic_stage1(8, 36, 64)
    disparity = refiner.refine(texture_frames(8, 64, 64), depth, confidence)
    assert disparity.shape == (8, 64, 64)
    assert _relative_error(disparity[:, ::16, ::16], GOLDEN_DEPTHCRAFTER, 1.0) <= TOLERANCE


def test_depthcrafter_fp16_variants_load_as_published():
    import torch
    from safetensors.torch import load_file

    from stereodiff.stage2.depthcrafter import load_depthcrafter

    folder = cached_realsize_models(MODELS, "depthcrafter")
    pipeline = load_depthcrafter(folder / "unet", folder / "base", dtype=torch.float16, variant="fp16")
    for module in (pipeline.unet, pipeline.vae, pipeline.image_encoder):
        assert next(module.parameters()).dtype == torch.float16
    stored = load_file(folder / "base" / "vae" / "diffusion_pytorch_model.fp16.safetensors")
    name, value = next(iter(stored.items()))
    assert torch.equal(pipeline.vae.state_dict()[name], value)  # read from the fp16 file itself


def test_paper_preset_end_to_end(tmp_path, monkeypatch, cli):
    """`stereodiff run --preset paper` with the real-size models found in a Hugging Face cache, offline."""
    from PIL import Image

    cache = tmp_path / "hub"
    depthcrafter = cached_realsize_models(MODELS, "depthcrafter")
    link_into_hub_cache(cache, HUB_REPOS["monst3r"], cached_realsize_models(MODELS, "monst3r"))
    link_into_hub_cache(cache, HUB_REPOS["depthcrafter"], depthcrafter / "unet")
    link_into_hub_cache(cache, HUB_REPOS["svd-xt"], depthcrafter / "base")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clip = tmp_path / "clip"
    clip.mkdir()
    for t, frame in enumerate(texture_frames(4, 64, 128)):  # the smallest legal sizes: 64-px multiples for stage 2
        Image.fromarray(frame).save(clip / f"{t:03d}.png")
    out = tmp_path / "out"
    status, _, err = cli("run", clip, "-o", out, "--preset", "paper", "--stage1-res", "32", "--save", "all")
    assert status == 0, err
    report = json.loads((out / "run.json").read_text())
    assert report["status"] == "done" and report["num_frames"] == 4 and report["size_hw"] == [64, 128]
    assert report["output_kind"] == "disparity"
    stages = report["config"]["stage1"]["backend"], report["config"]["stage2"]["backend"]
    assert stages == ("monst3r", "depthcrafter")
    assert report["config"]["preset"].startswith("paper")
    for name in report["outputs"]:
        assert (out / name).exists(), name
    with np.load(out / "depth.npz") as data:
        disparity = data["disparity"]
    assert disparity.shape == (4, 64, 128) and np.isfinite(disparity).all()
