"""Cross-frame self-attention: the tokens of every frame of a snippet attend to each other (RollingDepth §3.2).

The UNet is a stock ``UNet2DConditionModel``; the snippet's frames are its batch. This processor gathers the
``num_view`` frames of each snippet into one token sequence for self-attention (``attn1``), so every token sees
the whole snippet; cross-attention (``attn2``, the empty-prompt embedding) is per token anyway.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.models.attention_processor import Attention, AttnProcessor2_0

__all__ = ["CrossFrameAttnProcessor", "use_cross_frame_attention"]


class CrossFrameAttnProcessor:
    """Scaled-dot-product attention with the frames of a snippet flattened into one sequence.

    ``num_view`` (frames per snippet) comes through ``cross_attention_kwargs``; ``None`` = per-frame attention.
    """

    def __init__(self) -> None:
        self._inner = AttnProcessor2_0()

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        num_view: int | None = None,
    ) -> torch.Tensor:
        """``hidden_states`` ``[B·N, tokens, C]`` (frames of a snippet consecutive) → same shape.

        Cross-attention runs on the same joint layout (one query sequence per snippet, the snippet's first text
        embedding): the same maths as per frame, in the official implementation's tensor shapes.
        """
        if num_view is None or num_view == 1:
            return self._inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        frames, tokens, channels = hidden_states.shape
        if frames % num_view:
            raise ValueError(f"batch of {frames} frames is not a whole number of {num_view}-frame snippets")
        joint = hidden_states.reshape(frames // num_view, num_view * tokens, channels)
        context = None if encoder_hidden_states is None else encoder_hidden_states[::num_view]
        out = self._inner(attn, joint, context, attention_mask, temb)
        return out.reshape(frames, tokens, channels)


def use_cross_frame_attention(unet: Any) -> None:
    """Give every attention layer of ``unet`` a :class:`CrossFrameAttnProcessor` (in place)."""
    unet.set_attn_processor(CrossFrameAttnProcessor())
