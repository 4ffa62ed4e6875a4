"""The DUSt3R-family network on tiny random weights: RoPE, shapes, golden slices, decoder symmetry, checkpoints."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pytest
import torch

from conftest import make_tiny_croco
from stereodiff.errors import InputError
from stereodiff.stage1.croco import AsymmetricCroCo3DStereo, CroCoStereoConfig, load_croco_stereo, save_croco_stereo
from stereodiff.stage1.croco.loading import constructor_string, parse_constructor
from stereodiff.stage1.croco.rope import RoPE2D


def _images(seed: int, batch: int, height: int, width: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 3, height, width, generator=gen) * 2 - 1


def _outputs(model, img1, img2):
    with torch.no_grad():
        out = model(img1, img2)
    return [out.pts1, out.conf1, out.pts2_in_1, out.conf2]


def test_rope_matches_the_rotate_half_formula():
    gen = torch.Generator().manual_seed(1)
    dim = 16  # per head: 8 rotated by the row, 8 by the column; pairs (j, j+4) inside each half
    tokens = torch.randn(2, 3, 5, dim, generator=gen)
    pos = torch.randint(0, 20, (2, 5, 2), generator=gen)
    out = RoPE2D(100.0)(tokens, pos)
    expected = torch.empty_like(tokens)
    for half, axis in ((0, 0), (1, 1)):  # first half: row y; second half: column x
        u = tokens[..., half * 8 : half * 8 + 8]
        for j in range(4):
            theta = pos[:, None, :, axis].double() * 100.0 ** (-j / 4)
            c, s = torch.cos(theta), torch.sin(theta)
            expected[..., half * 8 + j] = (u[..., j] * c - u[..., j + 4] * s).float()
            expected[..., half * 8 + j + 4] = (u[..., j + 4] * c + u[..., j] * s).float()
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_rope_scores_depend_only_on_relative_position():
    gen = torch.Generator().manual_seed(2)
    q, k = torch.randn(1, 1, 1, 16, generator=gen), torch.randn(1, 1, 1, 16, generator=gen)
    rope = RoPE2D(100.0)

    def score(pq, pk):
        return (rope(q, torch.tensor([[pq]])) * rope(k, torch.tensor([[pk]]))).sum().item()

    assert score((3, 7), (1, 2)) == pytest.approx(score((5, 9), (3, 4)), rel=1e-5)
    assert score((3, 7), (1, 2)) != pytest.approx(score((3, 7), (2, 1)), rel=1e-3)


@pytest.mark.parametrize("size", [(48, 64), (64, 48), (80, 48), (48, 80)])
def test_forward_shapes_landscape_portrait_and_odd_grids(tiny_croco, size):
    h, w = size  # (80, 48) and (48, 80) give odd 5x3 / 3x5 token grids: path4 is cropped to layer 3
    pts1, conf1, pts2, conf2 = _outputs(tiny_croco, _images(0, 2, h, w), _images(1, 2, h, w))
    assert pts1.shape == pts2.shape == (2, h, w, 3)
    assert conf1.shape == conf2.shape == (2, h, w)
    for x in (pts1, conf1, pts2, conf2):
        assert x.dtype == torch.float32 and torch.isfinite(x).all()
    assert conf1.min() >= 1 and conf2.min() >= 1  # conf = 1 + exp(raw)
    assert pts1.std() > 1e-3 and pts2.std() > 1e-3


def test_golden_slices(tiny_croco):
    pts1, conf1, pts2, conf2 = _outputs(tiny_croco, _images(10, 1, 48, 80), _images(11, 1, 48, 80))
    torch.testing.assert_close(pts1[0, 20, 30:33], torch.tensor(GOLDEN_PTS1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(conf1[0, 20, 30:33], torch.tensor(GOLDEN_CONF1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(pts2[0, 40, 70:73], torch.tensor(GOLDEN_PTS2), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(conf2[0, 40, 70:73], torch.tensor(GOLDEN_CONF2), rtol=1e-4, atol=1e-5)


# Computed with the official naver/dust3r code (4c24a6e, croco d7de070) on the weights of make_tiny_croco().
GOLDEN_PTS1 = [[-0.1467388, 0.005080951, -0.2046324], [-0.1470014, 0.003579558, -0.2039084],
               [-0.1502168, 0.003370292, -0.2008883]]  # fmt: skip
GOLDEN_CONF1 = [2.042636, 2.046544, 2.044700]
GOLDEN_PTS2 = [[0.4741798, -0.4103563, -0.06446661], [0.4557196, -0.3948112, -0.07449890],
               [0.4314501, -0.3926044, -0.1017881]]  # fmt: skip
GOLDEN_CONF2 = [2.363646, 2.340019, 2.323010]


def test_postprocess_is_exp_depth_and_exp_conf(tiny_croco):
    img1, img2 = _images(3, 1, 32, 48), _images(4, 1, 32, 48)
    with torch.no_grad():
        feat1, pos1 = tiny_croco.encode(img1)
        feat2, pos2 = tiny_croco.encode(img2)
        out = tiny_croco.decode(feat1, pos1, feat2, pos2, ((32, 48), (32, 48)))
        raw = tiny_croco.downstream_head1({0: feat1, **_decoder_layers(tiny_croco, feat1, pos1, feat2, pos2)}, (32, 48))
    xyz, c = raw[0, :3].permute(1, 2, 0), raw[0, 3]
    d = xyz.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(out.pts1[0], xyz / d * torch.expm1(d), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out.conf1[0], 1 + torch.exp(c), rtol=1e-5, atol=1e-6)


def _decoder_layers(model, f1, p1, f2, p2):
    """Decoder layers of view 1, written out as the official loop (both streams read layer l-1)."""
    layers = {}
    x1, x2 = model.decoder_embed(f1), model.decoder_embed(f2)
    for depth, (b1, b2) in enumerate(zip(model.dec_blocks, model.dec_blocks2), start=1):
        x1, x2 = b1(x1, x2, p1, p2), b2(x2, x1, p2, p1)
        layers[depth] = model.dec_norm(x1) if depth == len(model.dec_blocks) else x1
    return layers


def test_simultaneous_decoder_update_makes_a_symmetric_net_symmetric():
    # With identical decoders and heads, swapping the images must swap the outputs; a sequential update
    # (stream 2 reading stream 1's *new* layer) would break this.
    model = make_tiny_croco(seed=5)
    model.dec_blocks2.load_state_dict(model.dec_blocks.state_dict())
    model.downstream_head2.load_state_dict(model.downstream_head1.state_dict())
    a, b = _images(5, 1, 32, 48), _images(6, 1, 32, 48)
    pts1_ab, conf1_ab, pts2_ab, conf2_ab = _outputs(model, a, b)
    pts1_ba, conf1_ba, pts2_ba, conf2_ba = _outputs(model, b, a)
    for ab, ba in ((pts1_ab, pts2_ba), (conf1_ab, conf2_ba), (pts2_ab, pts1_ba), (conf2_ab, conf1_ba)):
        torch.testing.assert_close(ab, ba, rtol=1e-5, atol=1e-6)


def test_encode_decode_equals_forward(tiny_croco):
    img1, img2 = _images(7, 2, 32, 64), _images(8, 2, 32, 64)
    with torch.no_grad():
        f1, p1 = tiny_croco.encode(img1)
        f2, p2 = tiny_croco.encode(img2)
        out = tiny_croco.decode(f1, p1, f2, p2, ((32, 64), (32, 64)))
    for a, b in zip([out.pts1, out.conf1, out.pts2_in_1, out.conf2], _outputs(tiny_croco, img1, img2)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert p1[0, :3].tolist() == [[0, 0], [0, 1], [0, 2]] and p1[0, 4].tolist() == [1, 0]  # integer (row, col)


@pytest.fixture(scope="module")
def linear_model():
    """A tiny model with the small ``linear`` head: cheap to save, for the loader's error paths."""
    return make_tiny_croco(seed=3, head_type="linear", dec_depth=2)


def test_hf_and_pth_round_trips_are_exact(tiny_croco, tmp_path):
    img1, img2 = _images(9, 1, 48, 64), _images(10, 1, 48, 64)
    before = _outputs(tiny_croco, img1, img2)
    folder = save_croco_stereo(tiny_croco, tmp_path / "hf")
    pth = save_croco_stereo(tiny_croco, tmp_path / "model.pth")
    config = json.loads((folder / "config.json").read_text())
    assert config["conf_mode"] == ["exp", 1, math.inf] and "Infinity" in (folder / "config.json").read_text()
    for path in (folder, pth):
        loaded = load_croco_stereo(path)
        assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
        for a, b in zip(_outputs(loaded, img1, img2), before):
            assert torch.equal(a, b)


def test_bfloat16_trunk_keeps_float32_heads(linear_model, tmp_path):
    folder = save_croco_stereo(linear_model, tmp_path / "hf")
    img1, img2 = _images(15, 1, 32, 48), _images(16, 1, 32, 48)
    half = load_croco_stereo(folder, dtype=torch.bfloat16)
    assert half.enc_blocks[0].attn.qkv.weight.dtype == torch.bfloat16
    assert half.downstream_head2.proj.weight.dtype == torch.float32
    for a, b in zip(_outputs(half, img1, img2), _outputs(linear_model, img1, img2)):
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=0.05, atol=0.02 * float(b.abs().max()))


def _official_state(model: AsymmetricCroCo3DStereo) -> dict[str, torch.Tensor]:
    """The state dict as the official class returns it: plus mask_token and the scratch.layer_rn aliases."""
    state = dict(model.state_dict())
    state["mask_token"] = torch.zeros(1, 1, model.config.dec_embed_dim)
    for head in (1, 2):
        for k in range(4):
            state[f"downstream_head{head}.dpt.scratch.layer_rn.{k}.weight"] = state[
                f"downstream_head{head}.dpt.scratch.layer{k + 1}_rn.weight"
            ]
    return state


def _save_pth(path: Path, state: dict, ctor: str) -> Path:
    torch.save({"model": state, "args": argparse.Namespace(model=ctor, lr=1e-4), "epoch": 7}, path)
    return path


def test_official_pth_layout_loads(tiny_croco, linear_model, tmp_path):
    ctor = constructor_string(tiny_croco.config).replace("PatchEmbedDust3R", "ManyAR_PatchEmbed")
    img1, img2 = _images(11, 1, 32, 48), _images(12, 1, 32, 48)
    loaded = load_croco_stereo(_save_pth(tmp_path / "a.pth", _official_state(tiny_croco), ctor))
    for a, b in zip(_outputs(loaded, img1, img2), _outputs(tiny_croco, img1, img2)):
        assert torch.equal(a, b)
    # old CroCo-style checkpoints without dec_blocks2: the first decoder is copied (official load_state_dict)
    state = {k: v for k, v in linear_model.state_dict().items() if not k.startswith("dec_blocks2.")}
    loaded = load_croco_stereo(_save_pth(tmp_path / "b.pth", state, constructor_string(linear_model.config)))
    assert torch.equal(loaded.dec_blocks2[1].mlp.fc1.weight, linear_model.dec_blocks[1].mlp.fc1.weight)


def test_mast3r_checkpoint_loads_its_dpt_part(tiny_croco, tmp_path):
    config = dict(tiny_croco.config.to_dict(), head_type="catmlp+dpt", output_mode="pts3d+desc24", two_confs=True,
                  desc_conf_mode=["exp", 0, math.inf])  # fmt: skip
    state = _official_state(tiny_croco)
    idim = 64
    for head in (1, 2):  # the descriptor MLP of MASt3R, ignored
        state[f"downstream_head{head}.head_local_features.fc1.weight"] = torch.randn(4 * idim, idim)
        state[f"downstream_head{head}.head_local_features.fc1.bias"] = torch.randn(4 * idim)
        state[f"downstream_head{head}.head_local_features.fc2.weight"] = torch.randn(25 * 256, 4 * idim)
        state[f"downstream_head{head}.head_local_features.fc2.bias"] = torch.randn(25 * 256)
    _, kwargs = parse_constructor(constructor_string(CroCoStereoConfig(**config)))
    assert kwargs["head_type"] == "catmlp+dpt" and kwargs["desc_conf_mode"] == ("exp", 0, math.inf)
    loaded = load_croco_stereo(_save_pth(tmp_path / "m.pth", state, constructor_string(CroCoStereoConfig(**config))))
    img1, img2 = _images(13, 1, 32, 48), _images(14, 1, 32, 48)
    for a, b in zip(_outputs(loaded, img1, img2), _outputs(tiny_croco, img1, img2)):
        assert torch.equal(a, b)


def test_constructor_strings_are_parsed_not_evaluated():
    name, kwargs = parse_constructor(
        "AsymmetricCroCo3DStereo(pos_embed='RoPE100', img_size=(512, 512), depth_mode=('exp', -inf, inf), "
        "conf_mode=('exp', 1, inf), enc_embed_dim=1024, landscape_only=False)"
    )
    assert name == "AsymmetricCroCo3DStereo"
    assert kwargs["depth_mode"] == ("exp", -math.inf, math.inf) and kwargs["img_size"] == (512, 512)
    for bad in (
        "__import__('os').system('true')",
        "AsymmetricCroCo3DStereo(enc_depth=__import__('os').getpid())",
        "CroCoNet(enc_depth=2)",
        "AsymmetricCroCo3DStereo(24)",
        "AsymmetricCroCo3DStereo(**{'a': 1})",
        "AsymmetricCroCo3DStereo(",
    ):
        with pytest.raises(InputError):
            parse_constructor(bad)


class _Payload:
    """Unpickling this would create a file: the loader must refuse it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_bad_checkpoints_raise_input_errors(linear_model, tmp_path):
    folder = save_croco_stereo(linear_model, tmp_path / "hf")
    good_state = dict(linear_model.state_dict(), mask_token=torch.zeros(1, 1, 32))
    ctor = constructor_string(linear_model.config)

    # truncated safetensors
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated"):
        load_croco_stereo(folder)
    # truncated .pth
    pth = _save_pth(tmp_path / "t.pth", good_state, ctor)
    pth.write_bytes(pth.read_bytes()[:-5000])
    with pytest.raises(InputError, match="truncated"):
        load_croco_stereo(pth)
    # missing / unexpected parameters: never a partial load
    state = {k: v for k, v in good_state.items() if k != "enc_blocks.1.mlp.fc2.weight"}
    with pytest.raises(InputError, match=r"1 missing .*enc_blocks\.1\.mlp\.fc2\.weight"):
        load_croco_stereo(_save_pth(tmp_path / "m.pth", state, ctor))
    state = dict(good_state, **{"enc_blocks.2.norm1.weight": torch.ones(32)})
    with pytest.raises(InputError, match="unexpected"):
        load_croco_stereo(_save_pth(tmp_path / "u.pth", state, ctor))
    # weights of another size than the config says
    with pytest.raises(InputError):
        load_croco_stereo(_save_pth(tmp_path / "w.pth", good_state, ctor.replace("dec_depth=2", "dec_depth=3")))
    with pytest.raises(InputError, match="wrong shape"):
        load_croco_stereo(_save_pth(tmp_path / "s.pth", good_state, ctor.replace("dec_num_heads=2", "dec_num_heads=4")
                                    .replace("dec_embed_dim=32", "dec_embed_dim=64")))  # fmt: skip
    # foreign architectures
    with pytest.raises(InputError, match="dec_depth > 9"):
        load_croco_stereo(_save_pth(tmp_path / "d.pth", good_state, ctor.replace("'linear'", "'dpt'")))
    with pytest.raises(InputError, match="pos_embed"):
        load_croco_stereo(_save_pth(tmp_path / "c.pth", good_state, ctor.replace("'RoPE100'", "'cosine'")))
    bad_config = dict(linear_model.config.to_dict(), some_new_option=3)
    (folder / "config.json").write_text(json.dumps(bad_config))
    with pytest.raises(InputError, match="some_new_option"):
        load_croco_stereo(folder)
    # arbitrary pickled objects are refused, not executed
    marker = tmp_path / "executed"
    torch.save({"model": good_state, "args": argparse.Namespace(model=ctor), "x": _Payload(marker)}, tmp_path / "p.pth")
    with pytest.raises(InputError, match="not unpickled"):
        load_croco_stereo(tmp_path / "p.pth")
    assert not marker.exists()
    # a bare state dict has no architecture
    torch.save(good_state, tmp_path / "bare.pth")
    with pytest.raises(InputError, match="not an official training checkpoint"):
        load_croco_stereo(tmp_path / "bare.pth")


def test_missing_named_model_offline_is_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(InputError) as err:
        load_croco_stereo("monst3r")
    message = str(err.value)
    assert "\n" not in message
    assert "Junyi42/MonST3R_PO-TA-S-W_ViTLarge_BaseDecoder_512_dpt" in message
    assert "stereodiff weights download monst3r" in message and str(tmp_path / "hub") in message


def test_published_architecture_has_the_official_parameter_count():
    # DUSt3R/MonST3R ViT-L/BaseDecoder 512-DPT: 571,171,208 parameters in the official class, of which mask_token
    # (768, pre-training only) is not built here; 1009 state-dict entries minus mask_token and 8 layer_rn aliases.
    values = dict(
        enc_embed_dim=1024, enc_depth=24, enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12,
        head_type="dpt", pos_embed="RoPE100", img_size=(512, 512), landscape_only=False,
    )  # fmt: skip
    with torch.device("meta"):
        model = AsymmetricCroCo3DStereo(CroCoStereoConfig(**values))
    assert sum(p.numel() for p in model.parameters()) == 571_171_208 - 768
    assert len(model.state_dict()) == 1009 - 1 - 8
    assert model.head_layers == [0, 6, 9, 12]
