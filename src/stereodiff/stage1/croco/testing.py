"""Tiny random DUSt3R-family networks for tests and benchmarks (same code and layouts as the real checkpoints)."""

from __future__ import annotations


def make_tiny_croco(seed: int = 0, **overrides):
    """A tiny random DUSt3R-family network (DPT heads; 2 encoder and 10 decoder blocks of width 32), seeded.

    LayerNorm weights are perturbed (they start at 1/0) and the last head convolution is scaled so that the raw
    outputs are O(1): every part of the network then shows in the outputs.
    """
    import torch

    from stereodiff.stage1.croco import AsymmetricCroCo3DStereo, CroCoStereoConfig

    values = dict(
        enc_embed_dim=32, enc_depth=2, enc_num_heads=2, dec_embed_dim=32, dec_depth=10, dec_num_heads=2,
        head_type="dpt", output_mode="pts3d", pos_embed="RoPE100", img_size=(512, 512), landscape_only=False,
    )  # fmt: skip
    values.update(overrides)
    torch.manual_seed(seed)
    model = AsymmetricCroCo3DStereo(CroCoStereoConfig(**values))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name:
                param.add_(0.2 * torch.randn_like(param))
            if name.endswith("dpt.head.4.weight"):
                param.mul_(10.0)
    return model.eval().requires_grad_(False)
