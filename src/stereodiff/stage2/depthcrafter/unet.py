"""DepthCrafter's UNet: diffusers' spatio-temporal UNet with one CLIP token per frame.

DepthCrafter fine-tunes Stable Video Diffusion's UNet without changing its architecture; only the forward pass
differs from diffusers' :class:`~diffusers.UNetSpatioTemporalConditionModel`:

* ``encoder_hidden_states`` is ``[B,T,C]`` (one CLIP image embedding per frame) and frame ``k`` cross-attends to
  its own token only (the stock forward repeats a ``[B,1,C]`` embedding over the frames, and given ``[B,T,C]`` it
  would let every frame attend to all ``T`` tokens);
* inputs are cast to the dtype of the weights, so fp32 latents drive an fp16 UNet.

Unlike DepthCrafter's forward, this one also forwards the up-sampling sizes (as diffusers does), so latent sizes
that are not multiples of ``2**num_upsamplers`` work too; on multiples the results are identical.
"""

from __future__ import annotations

import torch
from diffusers import UNetSpatioTemporalConditionModel
from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionOutput

__all__ = ["DepthCrafterUNet"]


class DepthCrafterUNet(UNetSpatioTemporalConditionModel):
    """SVD's spatio-temporal UNet with per-frame CLIP conditioning (no new parameters; loads DepthCrafter's weights)."""

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        added_time_ids: torch.Tensor,
        return_dict: bool = True,
    ) -> UNetSpatioTemporalConditionOutput | tuple[torch.Tensor]:
        """Predict the v-parametrised output for a window of frames.

        Args:
            sample: ``[B,T,Cin,h,w]`` noisy depth latents (scaled by ``c_in``) concatenated with the frame latents.
            timestep: the continuous noise level ``c_noise = 0.25 ln σ`` (scalar or ``[B]``).
            encoder_hidden_states: ``[B,T,C]`` one CLIP image embedding per frame (``C = cross_attention_dim``).
            added_time_ids: ``[B,3]`` (fps, motion bucket, noise augmentation strength).
            return_dict: return a :class:`UNetSpatioTemporalConditionOutput` rather than a tuple.

        Returns:
            ``sample`` ``[B,T,Cout,h,w]`` in the dtype of the weights.
        """
        dtype = self.conv_in.weight.dtype
        batch_size, num_frames = sample.shape[:2]
        if encoder_hidden_states.shape[:2] != (batch_size, num_frames):
            raise ValueError(
                f"encoder_hidden_states must be [B,T,C] = [{batch_size},{num_frames},C] (one embedding per frame), "
                f"got {tuple(encoder_hidden_states.shape)}"
            )

        # 1. time: sinusoidal projection of c_noise + added ids (fps, motion bucket, noise aug) → [B,E]
        timesteps = timestep
        if not torch.is_tensor(timesteps):
            is_float = isinstance(timestep, float)
            timesteps = torch.tensor([timesteps], dtype=torch.float64 if is_float else torch.int64)
        timesteps = timesteps.reshape(-1).to(sample.device).expand(batch_size)
        emb = self.time_embedding(self.time_proj(timesteps).to(dtype))  # [B,E]
        time_embeds = self.add_time_proj(added_time_ids.flatten()).reshape(batch_size, -1).to(emb.dtype)
        emb = emb + self.add_embedding(time_embeds)
        emb = emb.repeat_interleave(num_frames, dim=0)  # [B*T,E]

        # 2. per-frame conditioning: frame k attends to its own CLIP token only
        context = encoder_hidden_states.flatten(0, 1).unsqueeze(1).to(dtype)  # [B*T,1,C]
        hidden = self.conv_in(sample.flatten(0, 1).to(dtype))  # [B*T,C0,h,w]
        image_only_indicator = torch.zeros(batch_size, num_frames, dtype=hidden.dtype, device=hidden.device)

        # 3. down
        skips: tuple[torch.Tensor, ...] = (hidden,)
        for block in self.down_blocks:
            kwargs = {"encoder_hidden_states": context} if getattr(block, "has_cross_attention", False) else {}
            hidden, res = block(hidden_states=hidden, temb=emb, image_only_indicator=image_only_indicator, **kwargs)
            skips += res

        # 4. mid
        hidden = self.mid_block(
            hidden_states=hidden, temb=emb, encoder_hidden_states=context, image_only_indicator=image_only_indicator
        )

        # 5. up (forwarding the skip sizes makes odd latent sizes work; a no-op on multiples of 2**num_upsamplers)
        for i, block in enumerate(self.up_blocks):
            res = skips[-len(block.resnets) :]
            skips = skips[: -len(block.resnets)]
            upsample_size = skips[-1].shape[2:] if i < len(self.up_blocks) - 1 else None
            kwargs = {"encoder_hidden_states": context} if getattr(block, "has_cross_attention", False) else {}
            hidden = block(
                hidden_states=hidden,
                temb=emb,
                res_hidden_states_tuple=res,
                upsample_size=upsample_size,
                image_only_indicator=image_only_indicator,
                **kwargs,
            )

        # 6. out
        hidden = self.conv_out(self.conv_act(self.conv_norm_out(hidden)))
        out = hidden.reshape(batch_size, num_frames, *hidden.shape[1:])  # [B,T,Cout,h,w]
        return UNetSpatioTemporalConditionOutput(sample=out) if return_dict else (out,)
