"""2-D rotary position embedding ("RoPE100") of the CroCo/DUSt3R transformers.

Each head vector of size ``D`` is split into a row half and a column half (``D/2`` each). The row half is rotated by
the token's integer row ``y``, the column half by its integer column ``x``. Inside each half the 1-D RoPE uses the
"rotate half" pairing: element ``j`` pairs with ``j + D/4`` and is rotated by the angle ``pos · base^(-2j/(D/2))``.
"""

from __future__ import annotations

import torch
from torch import nn


class RoPE2D(nn.Module):
    """Rotary embedding on ``[B,heads,N,D]`` tokens with ``[B,N,2]`` integer ``(row, col)`` positions.

    Angles are computed in float32 whatever the token dtype; the result has the token dtype.
    """

    def __init__(self, base: float = 100.0, f0: float = 1.0) -> None:
        super().__init__()
        self.base = float(base)
        self.f0 = float(f0)

    def _cos_sin(self, pos: torch.Tensor, half_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B,1,N,half_dim]`` cos and sin for integer positions ``pos`` ``[B,N]``."""
        exponent = torch.arange(0, half_dim, 2, device=pos.device, dtype=torch.float32) / half_dim
        inv_freq = self.f0 / (self.base**exponent)  # [half_dim/2]
        angle = pos.to(torch.float32)[..., None] * inv_freq  # [B,N,half_dim/2]
        angle = torch.cat((angle, angle), dim=-1)[:, None]  # [B,1,N,half_dim]
        return angle.cos(), angle.sin()

    @staticmethod
    def _rotate(u: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        first, second = u.chunk(2, dim=-1)
        return u * cos + torch.cat((-second, first), dim=-1) * sin

    def forward(self, tokens: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Rotate ``tokens`` ``[B,heads,N,D]`` by ``pos`` ``[B,N,2]`` (row, col); returns ``[B,heads,N,D]``."""
        dim = tokens.shape[-1]
        if dim % 4:
            raise ValueError(f"RoPE2D needs a head dimension divisible by 4, got {dim}")
        dtype = tokens.dtype
        u = tokens.float()
        rows, cols = u.chunk(2, dim=-1)
        cos_y, sin_y = self._cos_sin(pos[..., 0], dim // 2)
        cos_x, sin_x = self._cos_sin(pos[..., 1], dim // 2)
        out = torch.cat((self._rotate(rows, cos_y, sin_y), self._rotate(cols, cos_x, sin_x)), dim=-1)
        return out.to(dtype)
