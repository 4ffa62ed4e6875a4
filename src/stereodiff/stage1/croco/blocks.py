"""Transformer pieces of the CroCo/DUSt3R network: patch embedding, attention, encoder and decoder blocks.

Attribute names follow the official checkpoints (``norm1``, ``attn.qkv``, ``cross_attn.projq``, ``norm_y`` …), so
state dicts load without renaming. Every LayerNorm uses ``eps=1e-6``; activations are exact GELU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from stereodiff.stage1.croco.rope import RoPE2D


def layer_norm(dim: int) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=1e-6)


def grid_positions(batch: int, rows: int, cols: int, device: torch.device | str) -> torch.Tensor:
    """``[B,rows*cols,2]`` int64 integer ``(row, col)`` of each token, row-major."""
    pos = torch.cartesian_prod(torch.arange(rows, device=device), torch.arange(cols, device=device))
    return pos[None].expand(batch, -1, -1).clone()


class PatchEmbed(nn.Module):
    """Non-overlapping ``patch_size`` convolution: ``[B,3,H,W]`` → tokens ``[B,N,C]`` and positions ``[B,N,2]``."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, _, h, w = img.shape
        p = self.patch_size
        if h % p or w % p:
            raise ValueError(f"image size {h}x{w} must be a multiple of the patch size {p} in both dimensions")
        x = self.proj(img)  # [B,C,h/p,w/p]
        pos = grid_positions(b, x.shape[2], x.shape[3], img.device)
        return x.flatten(2).transpose(1, 2), pos  # [B,N,C], [B,N,2]


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, out_dim: int | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out_dim or dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def _heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    b, n, c = x.shape
    return x.view(b, n, num_heads, c // num_heads).transpose(1, 2)  # [B,heads,N,D]


def _merge(x: torch.Tensor) -> torch.Tensor:
    b, h, n, d = x.shape
    return x.transpose(1, 2).reshape(b, n, h * d)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, fused: bool = True) -> torch.Tensor:
    """``softmax(q kᵀ / √d) v`` for ``[B,heads,N,D]`` inputs.

    ``fused``: PyTorch's scaled-dot-product attention (flash / memory-efficient kernels on CUDA and CPU, no
    ``N×M`` matrix in memory); otherwise the explicit product of the official code (same numbers within float
    tolerance; kept to reproduce the official outputs operation by operation).
    """
    if fused:
        return F.scaled_dot_product_attention(q, k, v)
    return ((q @ k.transpose(-2, -1)) * q.shape[-1] ** -0.5).softmax(dim=-1) @ v


class Attention(nn.Module):
    """Self-attention with one ``qkv`` linear ([q|k|v], heads contiguous) and RoPE on q and k."""

    fused = True
    """Use :func:`attend`'s fused kernel (set through ``AsymmetricCroCo3DStereo.set_fused_attention``)."""

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rope = rope

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # [B,heads,N,D] each
        q, k = self.rope(q, pos), self.rope(k, pos)
        return self.proj(_merge(attend(q, k, v, self.fused)))


class CrossAttention(nn.Module):
    """Cross-attention from ``query`` tokens to ``key``/``value`` tokens, RoPE with each side's own positions."""

    fused = True

    def __init__(self, dim: int, num_heads: int, rope: RoPE2D) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.projq = nn.Linear(dim, dim)
        self.projk = nn.Linear(dim, dim)
        self.projv = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.rope = rope

    def forward(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, qpos: torch.Tensor, kpos: torch.Tensor
    ) -> torch.Tensor:
        q = self.rope(_heads(self.projq(query), self.num_heads), qpos)
        k = self.rope(_heads(self.projk(key), self.num_heads), kpos)
        v = _heads(self.projv(value), self.num_heads)
        return self.proj(_merge(attend(q, k, v, self.fused)))


class Block(nn.Module):
    """Encoder block: ``x += attn(norm1(x))``; ``x += mlp(norm2(x))``."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D) -> None:
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = Attention(dim, num_heads, rope)
        self.norm2 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), pos)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    """Decoder block: self-attention, cross-attention to the other view (normalised by ``norm_y``), MLP."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, rope: RoPE2D, norm_mem: bool = True) -> None:
        super().__init__()
        self.norm1 = layer_norm(dim)
        self.attn = Attention(dim, num_heads, rope)
        self.cross_attn = CrossAttention(dim, num_heads, rope)
        self.norm2 = layer_norm(dim)
        self.norm3 = layer_norm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.norm_y = layer_norm(dim) if norm_mem else nn.Identity()

    def forward(self, x: torch.Tensor, y: torch.Tensor, xpos: torch.Tensor, ypos: torch.Tensor) -> torch.Tensor:
        """Update ``x`` ``[B,N,C]`` given the other view's tokens ``y`` ``[B,M,C]``; returns the new ``x``."""
        x = x + self.attn(self.norm1(x), xpos)
        y_ = self.norm_y(y)
        x = x + self.cross_attn(self.norm2(x), y_, y_, xpos, ypos)
        return x + self.mlp(self.norm3(x))
