"""Prediction heads of the DUSt3R-family network (DPT and linear) and the pointmap/confidence post-processing.

Module names follow the official checkpoints (``dpt.act_postprocess.0.0``, ``dpt.scratch.layer1_rn``,
``dpt.scratch.refinenet4.resConfUnit1.conv1``, ``dpt.head.4``, ``proj`` …). The official ``scratch.layer_rn.k``
list is only an alias of ``scratch.layer{k+1}_rn``; it is not registered here (the loader maps it).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn


def _conv3x3(cin: int, cout: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1, bias=bias)


class Upsample2x(nn.Module):
    """Bilinear ×2 upsampling with ``align_corners=True`` (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class ResidualConvUnit(nn.Module):
    """``x + conv2(relu(conv1(relu(x))))`` with 3×3 convolutions."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = _conv3x3(features, features)
        self.conv2 = _conv3x3(features, features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FeatureFusionBlock(nn.Module):
    """DPT refinenet: ``rcu2(x + rcu1(skip))``, bilinear ×2 (align_corners), 1×1 ``out_conv``."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, kernel_size=1)
        self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        return self.out_conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))


class DPTAdapter(nn.Module):
    """The DPT decoder on four token layers: ``[B,N,C_k]`` ×4 → ``[B,num_channels,H,W]``.

    ``tokens`` maps a layer index of ``[enc_out, dec_1, …, dec_d]`` to its tokens; ``hooks`` picks the four used.

    Layer k is reshaped to the ``h×w`` token grid, resampled to ``4h, 2h, h, ceil(h/2)`` (act_postprocess),
    projected to ``feature_dim`` (scratch.layer{k}_rn) and fused coarse to fine; ``path4`` is cropped to the size of
    layer 3 so odd token grids work. Fixed sizes as in DUSt3R: layer_dims 96/192/384/768, feature_dim 256,
    last_dim 128.
    """

    layer_dims = (96, 192, 384, 768)
    feature_dim = 256
    last_dim = 128

    def __init__(self, dim_tokens: list[int], hooks: list[int], num_channels: int, patch_size: int) -> None:
        super().__init__()
        self.hooks = list(hooks)
        self.patch_size = patch_size
        d0, d1, d2, d3 = self.layer_dims
        self.act_postprocess = nn.ModuleList(
            [
                nn.Sequential(nn.Conv2d(dim_tokens[0], d0, 1), nn.ConvTranspose2d(d0, d0, kernel_size=4, stride=4)),
                nn.Sequential(nn.Conv2d(dim_tokens[1], d1, 1), nn.ConvTranspose2d(d1, d1, kernel_size=2, stride=2)),
                nn.Sequential(nn.Conv2d(dim_tokens[2], d2, 1)),
                nn.Sequential(nn.Conv2d(dim_tokens[3], d3, 1), nn.Conv2d(d3, d3, kernel_size=3, stride=2, padding=1)),
            ]
        )
        self.scratch = nn.Module()
        for k, dim in enumerate(self.layer_dims, start=1):
            setattr(self.scratch, f"layer{k}_rn", _conv3x3(dim, self.feature_dim, bias=False))
        for k in range(1, 5):
            setattr(self.scratch, f"refinenet{k}", FeatureFusionBlock(self.feature_dim))
        self.head = nn.Sequential(
            _conv3x3(self.feature_dim, self.feature_dim // 2),
            Upsample2x(),
            _conv3x3(self.feature_dim // 2, self.last_dim),
            nn.ReLU(),
            nn.Conv2d(self.last_dim, num_channels, kernel_size=1),
        )

    def forward(self, tokens: Mapping[int, torch.Tensor], image_size: tuple[int, int]) -> torch.Tensor:
        h, w = image_size[0] // self.patch_size, image_size[1] // self.patch_size
        layers = []
        for k, hook in enumerate(self.hooks):
            x = tokens[hook]  # [B,h*w,C]
            x = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], h, w)  # [B,C,h,w]
            x = self.act_postprocess[k](x)
            layers.append(getattr(self.scratch, f"layer{k + 1}_rn")(x))  # [B,256,·,·]
        l1, l2, l3, l4 = layers
        path4 = self.scratch.refinenet4(l4)[:, :, : l3.shape[2], : l3.shape[3]]  # crop to l3's h×w
        path3 = self.scratch.refinenet3(path4, l3)
        path2 = self.scratch.refinenet2(path3, l2)
        path1 = self.scratch.refinenet1(path2, l1)  # [B,256,H/2,W/2]
        return self.head(path1)  # [B,num_channels,H,W]


class DPTHead(nn.Module):
    """``downstream_head{1,2}`` with a DPT (``dpt.*``): hooks ``[0, d/2, 3d/4, d]`` over ``[enc, dec_1..dec_d]``."""

    def __init__(self, enc_dim: int, dec_dim: int, dec_depth: int, num_channels: int, patch_size: int) -> None:
        super().__init__()
        hooks = [0, dec_depth * 2 // 4, dec_depth * 3 // 4, dec_depth]
        self.dpt = DPTAdapter([enc_dim, dec_dim, dec_dim, dec_dim], hooks, num_channels, patch_size)

    def forward(self, tokens: Mapping[int, torch.Tensor], image_size: tuple[int, int]) -> torch.Tensor:
        return self.dpt(tokens, image_size)


class LinearHead(nn.Module):
    """``downstream_head{1,2}`` of the ``linear`` checkpoints: one Linear per token, pixel-shuffled to ``H×W``."""

    def __init__(self, dec_dim: int, dec_depth: int, num_channels: int, patch_size: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.hooks = [dec_depth]  # reads the last (normalised) decoder layer only
        self.proj = nn.Linear(dec_dim, num_channels * patch_size**2)

    def forward(self, tokens: Mapping[int, torch.Tensor], image_size: tuple[int, int]) -> torch.Tensor:
        p = self.patch_size
        feat = self.proj(tokens[self.hooks[0]])  # [B,N,c*p*p]
        b = feat.shape[0]
        feat = feat.transpose(1, 2).reshape(b, -1, image_size[0] // p, image_size[1] // p)
        return F.pixel_shuffle(feat, p)  # [B,c,H,W]


def postprocess_points(xyz: torch.Tensor, mode: tuple[str, float, float]) -> torch.Tensor:
    """Map raw head output ``[...,3]`` to points: ``exp``: ``xyz/‖xyz‖ · expm1(‖xyz‖)``; also ``square``, ``linear``."""
    name = mode[0]
    if name == "linear":
        return xyz
    d = xyz.norm(dim=-1, keepdim=True)
    unit = xyz / d.clip(min=1e-8)
    return unit * (torch.expm1(d) if name == "exp" else d.square())


def postprocess_conf(x: torch.Tensor, mode: tuple[str, float, float]) -> torch.Tensor:
    """Map raw head output ``[...]`` to confidence: ``exp``: ``vmin + exp(x)`` (clipped at vmax−vmin); ``sigmoid``."""
    name, vmin, vmax = mode
    if name == "exp":
        return vmin + x.exp().clip(max=vmax - vmin)
    return (vmax - vmin) * torch.sigmoid(x) + vmin
