"""GPU defaults, checked on CPU: device dtypes, fused attention, torch.compile, the fp16 weight variants."""

from __future__ import annotations

import pytest
import torch

from stereodiff.gpu import compile_module, default_dtype


def _images(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.rand(2, 3, 64, 96, generator=generator) * 2 - 1 for _ in range(2))


def _close(a, b, tol: float) -> bool:
    return all(
        float((x - y).abs().max()) <= tol * float(y.abs().max())
        for x, y in zip((a.pts1, a.conf1, a.pts2_in_1, a.conf2), (b.pts1, b.conf1, b.pts2_in_1, b.conf2))
    )


def test_default_dtype_per_device():
    assert default_dtype("cuda") == default_dtype("cuda:1") == "float16"
    assert default_dtype("cpu") == default_dtype("mps") == "float32"


@pytest.mark.parametrize(("argv", "dtype"), [(["--device", "cuda"], "float16"), (["--device", "cpu"], "float32"),
                                             (["--device", "cuda", "--dtype", "bfloat16"], "bfloat16")])  # fmt: skip
def test_dtype_auto_follows_the_device(argv, dtype):
    """`--dtype` defaults to auto, resolved with the device when the pipeline is built (and recorded so)."""
    from stereodiff.cli.main import build_parser
    from stereodiff.cli.run import build_config
    from stereodiff.pipeline import StereoDiffPipeline

    args = build_parser().parse_args(["run", "clip.mp4", "--preset", "cpu", *argv])
    config = build_config(args)
    assert config.dtype == ("auto" if "--dtype" not in argv else dtype)
    assert StereoDiffPipeline.from_config(config).config.dtype == dtype  # weights-free backends: nothing loaded


def test_fused_attention_matches_the_explicit_product(tiny_croco):
    img1, img2 = _images()
    with torch.inference_mode():
        fused = tiny_croco(img1, img2)
        try:
            explicit = tiny_croco.set_fused_attention(False)(img1, img2)
        finally:
            tiny_croco.set_fused_attention(True)
    assert _close(fused, explicit, 1e-5)


@pytest.mark.slow  # inductor compiles two graphs: minutes on a shared 2-core machine
def test_compiled_network_gives_the_same_outputs():
    from stereodiff.stage1.croco.testing import make_tiny_croco

    model = make_tiny_croco()
    img1, img2 = _images(1)
    with torch.inference_mode():
        eager = model(img1, img2)
        model.encode, model.decode = compile_module(model.encode), compile_module(model.decode)
        compiled = model(img1, img2)
    assert _close(compiled, eager, 1e-5)


def test_half_precision_loads_the_fp16_files(tmp_path):
    """`dtype float16` reads the published ``*.fp16.safetensors`` files (as the official DepthCrafter) — here a
    variant deliberately different from the full-precision file, to tell which one was read."""
    from diffusers import AutoencoderKLTemporalDecoder

    from stereodiff.backends import _load_depthcrafter
    from stereodiff.config import preset_config, set_option
    from stereodiff.stage2.depthcrafter.testing import save_tiny_depthcrafter

    unet_dir, base_dir = save_tiny_depthcrafter(tmp_path)
    vae = AutoencoderKLTemporalDecoder.from_pretrained(base_dir / "vae")
    with torch.no_grad():
        for param in vae.parameters():
            param.mul_(0.5)
    vae.half().save_pretrained(base_dir / "vae", variant="fp16")
    config = preset_config("paper", device="cpu")
    for key, value in (("stage2.unet", unet_dir), ("stage2.base", base_dir), ("dtype", "float16")):
        set_option(config, key, str(value))
    pipeline = _load_depthcrafter(config)
    assert pipeline.unet.dtype == torch.float16 and pipeline.vae.dtype == torch.float16
    name, expected = next(iter(vae.state_dict().items()))
    assert torch.equal(pipeline.vae.state_dict()[name], expected)
