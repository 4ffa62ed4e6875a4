"""The DUSt3R-family two-view network (``AsymmetricCroCo3DStereo``; MonST3R, DUSt3R and MASt3R weights).

Two images share a ViT encoder (RoPE2D, no absolute position embedding); two decoders — one per view — update both
token streams simultaneously with self- and cross-attention; a head per view (DPT or linear, in float32) maps the
encoder output and the decoder layers to a pointmap and a confidence per pixel. View 2's pointmap is in view 1's
camera. Parameter names are those of the official state dicts.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from stereodiff.errors import InputError
from stereodiff.stage1.croco.blocks import Attention, Block, CrossAttention, DecoderBlock, PatchEmbed, layer_norm
from stereodiff.stage1.croco.dpt import DPTHead, LinearHead, postprocess_conf, postprocess_points
from stereodiff.stage1.croco.rope import RoPE2D

INF = math.inf

#: Model classes of the official constructor strings that this module reproduces.
ARCHITECTURES = ("AsymmetricCroCo3DStereo", "AsymmetricMASt3R")
_MAST3R_KEYS = ("desc_mode", "two_confs", "desc_conf_mode")


@dataclass
class CroCoStereoConfig:
    """Constructor arguments of the official ``AsymmetricCroCo3DStereo`` / ``AsymmetricMASt3R`` (the keys of the
    Hugging Face ``config.json``), with the official defaults.

    Only inference matters here: ``freeze`` and ``mask_ratio`` are accepted and ignored; ``landscape_only`` and
    ``patch_embed_cls`` are accepted and ignored because inference always runs in the image's native orientation
    (as the official ``load_model`` forces). MASt3R's descriptor settings are kept for the record; the descriptor
    head is not built.
    """

    enc_embed_dim: int = 768
    enc_depth: int = 12
    enc_num_heads: int = 12
    dec_embed_dim: int = 512
    dec_depth: int = 8
    dec_num_heads: int = 16
    mlp_ratio: float = 4.0
    norm_im2_in_dec: bool = True
    pos_embed: str = "cosine"
    patch_size: int = 16
    img_size: Any = 224
    head_type: str = "linear"
    output_mode: str = "pts3d"
    depth_mode: tuple = ("exp", -INF, INF)
    conf_mode: tuple = ("exp", 1, INF)
    freeze: str = "none"
    landscape_only: bool = True
    patch_embed_cls: str = "PatchEmbedDust3R"
    mask_ratio: float = 0.9
    desc_mode: Any = "norm"
    two_confs: bool = False
    desc_conf_mode: Any = None

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> CroCoStereoConfig:
        """Build from ``config.json`` / constructor keyword arguments; unknown keys or bad values → ``InputError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(
                f"{source} has keys {unknown} that AsymmetricCroCo3DStereo does not take",
                "this is not a DUSt3R/MonST3R/MASt3R checkpoint (or a variant this loader does not reproduce)",
            )
        config = cls(**values)
        config.validate(source)
        return config

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready keyword arguments (tuples become lists), as the official ``config.json``; MASt3R's
        descriptor settings only for a ``catmlp+dpt`` model (the DUSt3R class does not take them)."""
        values = asdict(self)
        if self.head_type != "catmlp+dpt":
            for key in _MAST3R_KEYS:
                del values[key]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def validate(self, source: str = "config") -> None:
        def bad(what: str) -> InputError:
            return InputError(f"{source}: {what}", "the checkpoint's architecture is not supported by this loader")

        for name in ("enc_embed_dim", "enc_depth", "enc_num_heads", "dec_embed_dim", "dec_depth", "dec_num_heads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise bad(f"{name} must be a positive integer, got {value!r}")
        for dim, heads, part in (
            (self.enc_embed_dim, self.enc_num_heads, "enc"),
            (self.dec_embed_dim, self.dec_num_heads, "dec"),
        ):
            if dim % heads or (dim // heads) % 4:
                raise bad(f"{part}_embed_dim {dim} must split into {heads} heads of a size divisible by 4")
        if not (isinstance(self.pos_embed, str) and self.pos_embed.startswith("RoPE")):
            raise bad(f"pos_embed must be 'RoPE<base>' (e.g. 'RoPE100'), got {self.pos_embed!r}")
        try:
            float(self.pos_embed[4:])
        except ValueError:
            raise bad(f"pos_embed {self.pos_embed!r} has no numeric RoPE base") from None
        if self.patch_size != 16:
            raise bad(f"patch_size must be 16, got {self.patch_size!r}")
        self.depth_mode = tuple(self.depth_mode)
        self.conf_mode = tuple(self.conf_mode) if self.conf_mode is not None else None
        if len(self.depth_mode) != 3 or self.depth_mode[0] not in ("exp", "square", "linear"):
            raise bad(f"depth_mode must be ('exp'|'square'|'linear', vmin, vmax), got {self.depth_mode!r}")
        if self.depth_mode[1] != -INF or self.depth_mode[2] != INF:
            raise bad(f"depth_mode bounds must be (-inf, inf) as in the official code, got {self.depth_mode!r}")
        if self.conf_mode is None or len(self.conf_mode) != 3 or self.conf_mode[0] not in ("exp", "sigmoid"):
            raise bad(f"conf_mode must be ('exp'|'sigmoid', vmin, vmax), got {self.conf_mode!r}")
        heads = {("dpt", False), ("linear", False), ("catmlp+dpt", True)}
        is_desc = isinstance(self.output_mode, str) and self.output_mode.startswith("pts3d+desc")
        if self.output_mode != "pts3d" and not is_desc:
            raise bad(f"output_mode must be 'pts3d' or 'pts3d+desc<N>', got {self.output_mode!r}")
        if (self.head_type, is_desc) not in heads:
            raise bad(f"head_type {self.head_type!r} with output_mode {self.output_mode!r} is not supported")
        if "dpt" in self.head_type and self.dec_depth <= 9:
            raise bad(f"a DPT head needs dec_depth > 9 (as the official create_dpt_head), got {self.dec_depth}")

    @property
    def rope_base(self) -> float:
        return float(self.pos_embed[4:])


@dataclass
class StereoOutput:
    """Network output for a batch of image pairs (float32).

    Attributes:
        pts1: ``[B,H,W,3]`` view-1 pixels in camera 1 (relative units).
        conf1: ``[B,H,W]`` confidence of ``pts1`` (≥ 1 with the ``exp`` mode).
        pts2_in_1: ``[B,H,W,3]`` view-2 pixels in camera 1.
        conf2: ``[B,H,W]`` confidence of ``pts2_in_1``.
    """

    pts1: torch.Tensor
    conf1: torch.Tensor
    pts2_in_1: torch.Tensor
    conf2: torch.Tensor


class AsymmetricCroCo3DStereo(nn.Module):
    """The two-view network; build it from a :class:`CroCoStereoConfig` (any size, same code)."""

    def __init__(self, config: CroCoStereoConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        rope = RoPE2D(config.rope_base)
        enc, dec = config.enc_embed_dim, config.dec_embed_dim
        self.patch_embed = PatchEmbed(config.patch_size, enc)
        self.enc_blocks = nn.ModuleList(
            [Block(enc, config.enc_num_heads, config.mlp_ratio, rope) for _ in range(config.enc_depth)]
        )
        self.enc_norm = layer_norm(enc)
        self.decoder_embed = nn.Linear(enc, dec)
        self.dec_blocks = nn.ModuleList(
            [
                DecoderBlock(dec, config.dec_num_heads, config.mlp_ratio, rope, config.norm_im2_in_dec)
                for _ in range(config.dec_depth)
            ]
        )
        self.dec_blocks2 = nn.ModuleList(
            [
                DecoderBlock(dec, config.dec_num_heads, config.mlp_ratio, rope, config.norm_im2_in_dec)
                for _ in range(config.dec_depth)
            ]
        )
        self.dec_norm = layer_norm(dec)
        self.downstream_head1 = self._make_head()
        self.downstream_head2 = self._make_head()

    def set_fused_attention(self, enabled: bool = True) -> AsymmetricCroCo3DStereo:
        """Fused scaled-dot-product attention (default) or the official explicit product in every block."""
        for module in self.modules():
            if isinstance(module, (Attention, CrossAttention)):
                module.fused = enabled
        return self

    def _make_head(self) -> nn.Module:
        c = self.config
        if c.head_type == "linear":
            return LinearHead(c.dec_embed_dim, c.dec_depth, 4, c.patch_size)
        return DPTHead(c.enc_embed_dim, c.dec_embed_dim, c.dec_depth, 4, c.patch_size)

    @property
    def head_layers(self) -> list[int]:
        """Indices into ``[enc_out, dec_1, …, dec_d]`` that the heads read."""
        head = self.downstream_head1
        return head.hooks if isinstance(head, LinearHead) else head.dpt.hooks

    def encode(self, img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode images ``[B,3,H,W]`` in [-1,1] (H, W multiples of 16).

        Returns:
            tokens ``[B,N,enc_embed_dim]`` after ``enc_norm`` (N = H/16·W/16, row-major) and their integer
            ``(row, col)`` positions ``[B,N,2]``.
        """
        x, pos = self.patch_embed(img.to(self.patch_embed.proj.weight.dtype))
        for block in self.enc_blocks:
            x = block(x, pos)
        return self.enc_norm(x), pos

    def decode(
        self,
        feat1: torch.Tensor,
        pos1: torch.Tensor,
        feat2: torch.Tensor,
        pos2: torch.Tensor,
        shapes: tuple[tuple[int, int], tuple[int, int]],
    ) -> StereoOutput:
        """Decode encoder tokens of view 1 and view 2 (from :meth:`encode`) into pointmaps.

        ``shapes`` gives the ``(H, W)`` of view 1 and view 2 in pixels. The two decoder streams are updated
        simultaneously: layer l of each reads layer l−1 of both. Heads run in float32 with autocast off.
        """
        p = self.config.patch_size
        for name, feat, (h, w) in (("feat1", feat1, shapes[0]), ("feat2", feat2, shapes[1])):
            num_tokens = (h // p) * (w // p)
            if feat.shape[1] != num_tokens:
                raise ValueError(f"{name} has {feat.shape[1]} tokens but an image of {h}x{w} px has {num_tokens}")
        keep = set(self.head_layers)
        layers1: dict[int, torch.Tensor] = {0: feat1}
        layers2: dict[int, torch.Tensor] = {0: feat2}
        f1, f2 = self.decoder_embed(feat1), self.decoder_embed(feat2)
        last = self.config.dec_depth
        for depth, (block1, block2) in enumerate(zip(self.dec_blocks, self.dec_blocks2), start=1):
            f1, f2 = block1(f1, f2, pos1, pos2), block2(f2, f1, pos2, pos1)
            if depth == last:
                f1, f2 = self.dec_norm(f1), self.dec_norm(f2)
            if depth in keep:
                layers1[depth], layers2[depth] = f1, f2
        with torch.autocast(device_type=feat1.device.type, enabled=False):
            out1 = self.downstream_head1({k: v.float() for k, v in layers1.items()}, shapes[0])  # [B,4,H,W]
            out2 = self.downstream_head2({k: v.float() for k, v in layers2.items()}, shapes[1])
            pts1, conf1 = self._postprocess(out1)
            pts2, conf2 = self._postprocess(out2)
        return StereoOutput(pts1=pts1, conf1=conf1, pts2_in_1=pts2, conf2=conf2)

    def _postprocess(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = out.permute(0, 2, 3, 1)  # [B,H,W,4]
        return postprocess_points(fmap[..., :3], self.config.depth_mode), postprocess_conf(
            fmap[..., 3], self.config.conf_mode
        )

    def forward(self, img1: torch.Tensor, img2: torch.Tensor) -> StereoOutput:
        """Predict both pointmaps for image pairs ``img1``, ``img2`` ``[B,3,H,W]`` in [-1,1]."""
        if img1.shape[-2:] == img2.shape[-2:]:
            feat, pos = self.encode(torch.cat((img1, img2)))
            (feat1, feat2), (pos1, pos2) = feat.chunk(2), pos.chunk(2)
        else:
            (feat1, pos1), (feat2, pos2) = self.encode(img1), self.encode(img2)
        shapes = (tuple(img1.shape[-2:]), tuple(img2.shape[-2:]))
        return self.decode(feat1, pos1, feat2, pos2, shapes)
