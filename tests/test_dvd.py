"""DVD stage 2: window rules, the streaming affine stitching, the LoRA merge, loading the published layouts, the
pipeline against the official code on tiny random checkpoints, the backend and the weights registry.

Golden numbers come from the official code (EnVision-Research/DVD @ 5501c8b: diffsynth's Wan DiT and VAE, peft's
LoRA merge, ``test_single_video.generate_depth_sliced``) on the same tiny checkpoints and clips:
``tests/parity/dvd_official.py`` says how they were made. Over the whole output arrays (not only the pinned
values) our float32 pipeline is within 1.6e-6 of the official float32 run on all three cases and our float64 one
within 4.8e-7 of the official float64 run (its post-processing is float32 in both). Measured before the fix of the
timestep embedding (diffusers computes the sinusoid in float32, Wan in float64) the gap was 9e-6.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from parity.dvd_cases import CASES
from parity.rollingdepth_cases import synthetic_frames
from stereodiff.errors import InputError

torch = pytest.importorskip("torch")

# official outputs [T,H,W,3] at the source size: depth[T // 2, 10, :2], depth[-1, -3, -2:], depth.mean()
GOLDEN = {
    ("two_windows", "float32"): ([[0.580051303, 0.632174432, 0.480327308], [0.554033935, 0.754419446, 0.44104591]],
        [[0.860591352, 0.495344698, 0.551111877], [0.742275059, 0.654456496, 0.497610033]], 0.461792431),
    ("three_windows", "float32"): ([[0.461094379, 0.558018804, 0.647188783], [0.388772219, 0.536411762, 0.574520707]],
        [[1.119477034, 0.590449691, 0.851823211], [0.94592607, 0.919199467, 0.780717492]], 0.569670778),
    ("one_window", "float32"): ([[0.638797343, 0.469500393, 0.386032015], [0.601825237, 0.501515865, 0.308189511]],
        [[0.519287407, 0.474840432, 0.322193235], [0.64275974, 0.412259758, 0.486796886]], 0.390334105),
    ("two_windows", "float64"): ([[0.580051363, 0.632174551, 0.480327398], [0.554033935, 0.754419446, 0.44104597]],
        [[0.860591471, 0.495344758, 0.551111639], [0.742275119, 0.654456258, 0.497610033]], 0.461792471),
}  # fmt: skip


def _check(values: np.ndarray, golden: tuple, atol: float) -> None:
    t = values.shape[0]
    np.testing.assert_allclose(values[t // 2, 10, :2], golden[0], atol=atol, rtol=0)
    np.testing.assert_allclose(values[-1, -3, -2:], golden[1], atol=atol, rtol=0)
    assert float(values.astype(np.float64).mean()) == pytest.approx(golden[2], abs=atol)


# ------------------------------------------------------------------------------------------------ window rules
def test_processing_size_and_window_bounds():
    from stereodiff.stage2.dvd.pipeline import processing_size, window_bounds

    assert processing_size(1080, 1920, 480, 640) == (480, 864)  # covers 480×640: 853.3 → 854 → 864
    assert processing_size(480, 640, 480, 640) == (480, 640)
    assert processing_size(100, 100, 480, 640) == (640, 640)
    assert window_bounds(50, 81, 21) == [(0, 50)]
    assert window_bounds(200, 81, 21) == [(0, 81), (60, 141), (119, 200)]  # the last one ends at the last frame
    assert window_bounds(141, 81, 21) == [(0, 81), (60, 141)]
    assert window_bounds(20, 10, 0) == [(0, 10), (10, 20)]


def _windows(video: np.ndarray, bounds, maps):
    """Each window of ``video`` seen through its own inverse affine map (what a window-wise predictor returns)."""
    return [(video[s:e] - shift) / scale for (s, e), (scale, shift) in zip(bounds, maps, strict=True)]


def test_stitching_undoes_per_window_affine_maps_and_streams():
    from stereodiff.stage2.dvd.pipeline import AffineStitcher, window_bounds

    rng = np.random.default_rng(0)
    video = (0.2 + rng.random((30, 6, 7, 3))).astype(np.float32)
    bounds = window_bounds(30, 9, 3)  # (0,9) (6,15) (12,21) (18,27) (21,30)
    maps = [(1.0, 0.0), (1.3, 0.1), (0.8, -0.05), (1.1, 0.2), (0.9, 0.0)]
    stitcher = AffineStitcher(bounds)
    emitted = []
    for window in _windows(video, bounds, maps):
        first, done = stitcher.push(window.astype(np.float32))
        emitted.append((first, done.shape[0]))
        assert stitcher.tail.shape[0] <= 9  # never more than one window held
        if done.shape[0]:
            np.testing.assert_allclose(done, video[first : first + done.shape[0]], atol=2e-6)
    assert emitted == [(0, 6), (6, 6), (12, 6), (18, 3), (21, 9)]  # every frame once, in order
    np.testing.assert_allclose([s for s, _ in stitcher.scales], [1.3, 0.8, 1.1, 0.9], atol=1e-5)


def test_stitching_clips_the_scale_zeroes_negatives_and_cross_fades():
    from stereodiff.stage2.dvd.pipeline import AffineStitcher

    rng = np.random.default_rng(1)
    video = (0.5 + rng.random((8, 4, 4, 1))).astype(np.float32)
    stitcher = AffineStitcher([(0, 5), (3, 8)])
    stitcher.push(video[:5])
    second = video[3:] / 3.0 - 0.4  # needs scale 3 (clipped to 1.5) and a positive shift
    first, done = stitcher.push(second)
    scale, shift = stitcher.scales[0]
    assert scale == 1.5 and first == 3
    aligned = np.maximum(second * np.float32(scale) + np.float32(shift), 0)
    alpha = np.array([0.0, 1.0], np.float32).reshape(2, 1, 1, 1)  # linspace(0, 1, overlap)
    np.testing.assert_allclose(done[:2], (1 - alpha) * video[3:5] + alpha * aligned[:2], atol=1e-6)
    np.testing.assert_allclose(done[2:], aligned[2:], atol=1e-6)
    with pytest.raises(ValueError, match="expected 5"):
        AffineStitcher([(0, 5)]).push(video[:4])


# ------------------------------------------------------------------------------------------------- LoRA + loading
def test_lora_merge_is_w_plus_b_a_and_the_load_is_strict():
    from stereodiff.stage2.dvd.loading import load_merging_lora

    g = torch.Generator().manual_seed(0)
    w, b = torch.randn(5, 3, generator=g), torch.randn(5, generator=g)
    down, up = torch.randn(2, 3, generator=g), torch.randn(5, 2, generator=g)
    state = {"0.base_layer.weight": w, "0.base_layer.bias": b, "0.lora_A.default.weight": down,
             "0.lora_B.default.weight": up, "1.weight": w.T, "1.bias": b[:3]}  # fmt: skip
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 3))
    assert load_merging_lora(model, dict(state), "f") == 1
    torch.testing.assert_close(model[0].weight.detach(), w + up @ down)
    torch.testing.assert_close(model[0].bias.detach(), b)
    torch.testing.assert_close(model[1].weight.detach(), w.T)
    with pytest.raises(InputError, match="lacks lora_A or lora_B"):
        load_merging_lora(model, {k: v for k, v in state.items() if "lora_B" not in k}, "f")
    with pytest.raises(InputError, match=r"f does not fit the model \(2 missing.*1 extra"):
        load_merging_lora(model, {**{k: v for k, v in state.items() if k[0] == "0"}, "2.weight": w}, "f")
    with pytest.raises(InputError, match="1 extra or of another shape"):
        load_merging_lora(model, {**state, "1.bias": b}, "f")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    from stereodiff.stage2.dvd.testing import save_tiny_dvd, save_tiny_wan

    folder = tmp_path_factory.mktemp("dvd")
    save_tiny_wan(folder / "wan")
    save_tiny_dvd(folder / "dvd")
    return folder


@pytest.fixture(scope="module")
def pipe(tiny_dir):
    from stereodiff.stage2.dvd import load_dvd

    return load_dvd(tiny_dir / "dvd", tiny_dir / "wan")


def test_loading_reads_the_published_layouts_and_names_what_is_wrong(tiny_dir, pipe, tmp_path):
    from safetensors.torch import load_file, save_file

    from stereodiff.stage2.dvd import load_dvd

    assert pipe.transformer.config.num_layers == 2 and pipe.transformer.config.attention_head_dim == 24
    assert pipe.vae.config.base_dim == 8
    # the merged LoRA changed the DiT: the Wan base weights alone give another layer
    base = load_file(tiny_dir / "wan" / "diffusion_pytorch_model.safetensors")["blocks.0.ffn.0.weight"]
    assert (pipe.transformer.blocks[0].ffn.net[0].proj.weight - base).abs().max() > 0.05
    (tmp_path / "wan").mkdir()
    (tmp_path / "wan" / "config.json").write_text((tiny_dir / "wan" / "config.json").read_text())
    with pytest.raises(InputError, match=r"has no Wan2\.1_VAE\.pth"):
        load_dvd(tiny_dir / "dvd", tmp_path / "wan")
    state = load_file(tiny_dir / "dvd" / "model.safetensors")
    save_file({k: v for k, v in state.items() if "blocks.1." not in k}, tmp_path / "model.safetensors")
    with pytest.raises(InputError, match="does not fit the model"):
        load_dvd(tmp_path / "model.safetensors", tiny_dir / "wan")
    with pytest.raises(InputError, match=r"no pipe\.dit"):
        load_dvd(tiny_dir / "wan" / "diffusion_pytorch_model.safetensors", tiny_dir / "wan")
    with pytest.raises(InputError, match="not in the Hugging Face cache"):
        load_dvd("nobody/no-such-model", tiny_dir / "wan", allow_download=False)


def test_the_diffusers_layout_of_wan_gives_the_same_model(tiny_dir, pipe, tmp_path):
    from stereodiff.stage2.dvd import load_dvd
    from stereodiff.stage2.dvd.loading import load_wan_vae, wan_transformer_config
    from stereodiff.stage2.dvd.testing import TINY_WAN_CONFIG

    # Wan-AI/Wan2.1-T2V-1.3B-Diffusers holds transformer/config.json and vae/ (config + safetensors)
    load_wan_vae(tiny_dir / "wan" / "Wan2.1_VAE.pth").save_pretrained(tmp_path / "vae")
    (tmp_path / "transformer").mkdir()
    config = {"_class_name": "WanTransformer3DModel", **wan_transformer_config(TINY_WAN_CONFIG)}
    (tmp_path / "transformer" / "config.json").write_text(json.dumps(config))
    other = load_dvd(tiny_dir / "dvd", tmp_path)
    np.testing.assert_array_equal(_run(other, "one_window"), _run(pipe, "one_window"))


# ------------------------------------------------------------------------------------------- official parity
def _run(pipe, case: str) -> np.ndarray:
    from stereodiff.stage2.dvd import DVDSettings

    count, height, width, min_h, min_w, window, overlap, seed = CASES[case]
    settings = DVDSettings(height=min_h, width=min_w, window=window, overlap=overlap)
    blocks = list(pipe(synthetic_frames(count, height, width, seed), settings))
    assert [first for first, _ in blocks] == sorted(first for first, _ in blocks)
    return np.concatenate([block for _, block in blocks])


@pytest.mark.parametrize("case", list(CASES))
def test_pipeline_matches_the_official_code(pipe, case):
    depth = _run(pipe, case)
    count, height, width = CASES[case][:3]
    assert depth.shape == (count, height, width, 3)
    _check(depth, GOLDEN[(case, "float32")], atol=1e-5)  # the target is 1e-4; measured: 1.6e-6


def test_pipeline_in_float64_matches_the_official_code_closely(tiny_dir):
    from stereodiff.stage2.dvd import load_dvd

    pipe = load_dvd(tiny_dir / "dvd", tiny_dir / "wan", dtype=torch.float64)
    _check(_run(pipe, "two_windows"), GOLDEN[("two_windows", "float64")], atol=2e-6)  # measured: 4.8e-7


# ------------------------------------------------------------------------------------------------------ backend
def test_backend_writes_the_channel_mean_normalised(pipe):
    from stereodiff.stage2.dvd import DVDBackend, DVDSettings

    count, height, width, min_h, min_w, window, overlap, seed = CASES["three_windows"]
    frames = synthetic_frames(count, height, width, seed)
    backend = DVDBackend(pipe, DVDSettings(height=min_h, width=min_w, window=window, overlap=overlap))
    out = np.zeros((count, height, width), np.float32)
    calls = pipe.dit_calls
    assert backend.refine(frames, None, out) == "disparity"
    assert pipe.dit_calls - calls == 3  # one DiT pass per window
    assert (out.min(), out.max()) == (0.0, 1.0)
    mean = _run(pipe, "three_windows").mean(axis=-1)
    np.testing.assert_allclose(out, (mean - mean.min()) / (mean.max() - mean.min()), atol=1e-5)
    with pytest.raises(InputError, match="out must be"):
        backend.refine(frames, None, out[:, :10])
    with pytest.raises(InputError, match="frames must be"):
        list(pipe(frames[..., :2]))


def test_weights_registry_lists_verifies_and_refuses_offline(cli, tiny_dir, tmp_path, monkeypatch):
    import shutil

    from stereodiff.weights import MODELS, find_snapshot, resolve_snapshot

    assert MODELS["dvd"].repo_id == "FayeHongfeiZhang/DVD" and "CC BY-NC 4.0" in MODELS["dvd"].licence
    assert MODELS["wan2.1-t2v-1.3b"].repo_id == "Wan-AI/Wan2.1-T2V-1.3B"
    assert MODELS["wan2.1-t2v-1.3b"].licence == "Apache-2.0"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError, match="stereodiff weights download dvd"):
        resolve_snapshot("dvd")
    revision = "0" * 40
    for name, folder in (("dvd", "dvd"), ("wan2.1-t2v-1.3b", "wan")):
        repo = tmp_path / "hub" / f"models--{MODELS[name].repo_id.replace('/', '--')}"
        (repo / "refs").mkdir(parents=True)
        (repo / "refs" / "main").write_text(revision)
        shutil.copytree(tiny_dir / folder, repo / "snapshots" / revision)
        assert find_snapshot(name) == repo / "snapshots" / revision
    status, out, err = cli("weights", "verify", "dvd", "wan2.1-t2v-1.3b")
    assert status == 0 and "model.safetensors" in out and "Wan2.1_VAE.pth" in out and "records" in out, err
    pth = tmp_path / "hub" / "models--Wan-AI--Wan2.1-T2V-1.3B" / "snapshots" / revision / "Wan2.1_VAE.pth"
    pth.write_bytes(pth.read_bytes()[:-100])  # truncated download
    status, _, err = cli("weights", "verify", "wan2.1-t2v-1.3b")
    assert status == 2 and "Wan2.1_VAE.pth" in err
    status, out, _ = cli("weights", "list")
    assert "FayeHongfeiZhang/DVD" in out and "CC BY-NC 4.0" in out and "Wan-AI/Wan2.1-T2V-1.3B" in out
