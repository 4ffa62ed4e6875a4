"""DepthCrafter stage 2: windows and stitching, scheduler numbers, the per-frame UNet, pipeline and refiner.

Tiny random components (reference §4, CLIP image size 224) are saved in the two hub layouts and loaded back
through ``load_depthcrafter``.
"""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.stage2.windows import (
    WindowStitcher,
    fit_window_affines,
    stitch_weights,
    stitch_windows,
    window_schedule,
)

torch = pytest.importorskip("torch")


# ------------------------------------------------------------------------------------------------------ windows
def test_window_schedule_matches_depthcrafter_loop():
    assert window_schedule(200) == [(0, 110), (85, 195), (170, 200)]
    assert window_schedule(110) == [(0, 110)]
    assert window_schedule(50, 110, 25) == [(0, 50)]  # shorter than a window: one window
    assert window_schedule(1) == [(0, 1)]
    assert window_schedule(30, 12, 4) == [(0, 12), (8, 20), (16, 28), (24, 30)]
    with pytest.raises(ValueError, match="overlap"):
        window_schedule(10, 5, 5)


@pytest.mark.parametrize(("num_frames", "window", "overlap"), [(200, 110, 25), (30, 12, 4), (23, 6, 4), (9, 4, 0)])
@pytest.mark.parametrize("mode", ["crossfade", "none"])
def test_stitch_weights_sum_to_one_and_cover_every_frame(num_frames, window, overlap, mode):
    windows = window_schedule(num_frames, window, overlap)
    total = np.zeros(num_frames)
    for (start, end), w in zip(windows, stitch_weights(windows, mode)):
        assert w.shape == (end - start,) and (w >= 0).all()
        total[start:end] += w
    np.testing.assert_allclose(total, 1.0, atol=1e-12)


def test_stitcher_is_depthcrafters_fold_and_matches_weights(rng):
    windows = window_schedule(30, 12, 4)
    outputs = [torch.from_numpy(rng.standard_normal((e - s, 2, 3)).astype(np.float32)) for s, e in windows]
    # DepthCrafter: latents_all[-ov:] = new[:ov] * w + latents_all[-ov:] * (1 - w); cat(new[ov:])
    ramp = torch.linspace(0, 1, 4).view(4, 1, 1)
    expected = outputs[0].clone()
    for x in outputs[1:]:
        expected[-4:] = x[:4] * ramp + expected[-4:] * (1 - ramp)
        expected = torch.cat([expected, x[4:]])
    assert torch.equal(stitch_windows(outputs, windows), expected)
    by_weights = np.zeros((30, 2, 3))
    for (s, e), x, w in zip(windows, outputs, stitch_weights(windows)):
        by_weights[s:e] += w[:, None, None] * x.numpy()
    np.testing.assert_allclose(by_weights, expected.numpy(), atol=1e-6)
    stitcher = WindowStitcher(windows)
    with pytest.raises(ValueError, match="in order"):
        stitcher.add(1, outputs[1])


@pytest.mark.parametrize("strategy", ["affine", "joint"])
def test_affine_strategies_undo_per_window_affine_maps(rng, strategy):
    windows = window_schedule(40, 12, 4)
    truth = rng.random((40, 5, 6))
    outputs = [truth[s:e] * (1 + 0.5 * k) + 0.2 * k for k, (s, e) in enumerate(windows)]
    stitched = stitch_windows(outputs, windows, strategy=strategy)
    np.testing.assert_allclose(stitched, truth, atol=1e-9)
    params = fit_window_affines(outputs, windows, mode=strategy)
    np.testing.assert_allclose(params[:, 0] * (1 + 0.5 * np.arange(len(windows))), 1.0, atol=1e-9)
    assert np.abs(stitch_windows(outputs, windows, strategy="crossfade") - truth).max() > 0.5


def test_joint_alignment_holds_the_chosen_window_fixed(rng):
    windows = window_schedule(30, 12, 4)
    truth = rng.random((30, 4, 4))
    outputs = [truth[s:e] * (2.0 if k == 2 else 1.0) for k, (s, e) in enumerate(windows)]
    params = fit_window_affines(outputs, windows, mode="joint", fixed=2)
    np.testing.assert_allclose(params[2], [1.0, 0.0])
    np.testing.assert_allclose(params[:, 0], [2.0, 2.0, 1.0, 2.0], atol=1e-9)
    out = np.zeros((30, 4, 4), np.float32)
    assert stitch_windows(outputs, windows, strategy="joint", fixed=2, out=out) is out
    np.testing.assert_allclose(out, 2 * truth, atol=1e-5)


# ----------------------------------------------------------------------------------------------- tiny models
@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    from stereodiff.stage2.depthcrafter.testing import save_tiny_depthcrafter

    return save_tiny_depthcrafter(tmp_path_factory.mktemp("depthcrafter"))


@pytest.fixture(scope="module")
def pipe(tiny_dirs):
    from stereodiff.stage2.depthcrafter.loading import load_depthcrafter

    return load_depthcrafter(*tiny_dirs)


def test_loading_reads_the_hub_layouts_and_names_what_is_missing(tiny_dirs, pipe, tmp_path):
    from stereodiff.stage2.depthcrafter.loading import load_depthcrafter
    from stereodiff.stage2.depthcrafter.unet import DepthCrafterUNet

    unet_dir, base_dir = tiny_dirs
    assert (unet_dir / "config.json").is_file() and (base_dir / "vae" / "config.json").is_file()
    assert isinstance(pipe.unet, DepthCrafterUNet)
    assert pipe.image_encoder.config.image_size == 224
    assert pipe.scheduler.config.timestep_spacing == "leading" and pipe.scheduler.config.use_karras_sigmas
    (tmp_path / "base").mkdir()
    with pytest.raises(InputError, match="vae, image_encoder"):
        load_depthcrafter(unet_dir, tmp_path / "base")
    with pytest.raises(InputError, match=r"no config\.json"):
        load_depthcrafter(tmp_path / "base", base_dir)
    with pytest.raises(InputError):
        load_depthcrafter("nobody/no-such-model", base_dir, allow_download=False)


# Reference §5 tables (diffusers 0.42.1): (spacing, karras) → timesteps, sigmas[0..4], init_noise_sigma
SCHEDULES = [
    ("leading", True, [1.6378, 1.0640, 0.2048, -1.5537], [700, 70.5408, 2.2691, 0.0020, 0], 700.0007),
    ("trailing", True, [1.6378, 1.0640, 0.2048, -1.5537], [700, 70.5408, 2.2691, 0.0020, 0], 700.0),
    ("trailing", False, [0.6705, 0.3516, 0.1195, -0.0916], [14.6146, 4.0817, 1.6129, 0.6932, 0], 14.6146),
    ("leading", False, [0.3538, 0.1212, -0.0897, -0.7966], [4.1167, 1.6237, 0.6984, 0.0413, 0], 4.2364),
    ("linspace", False, [0.6705, 0.2678, -0.0175, -0.8837], [14.6146, 2.9183, 0.9324, 0.0292, 0], 14.6146),
]


@pytest.mark.parametrize(("spacing", "karras", "timesteps", "sigmas", "init_sigma"), SCHEDULES)
def test_refiner_schedules_match_the_reference_tables(pipe, spacing, karras, timesteps, sigmas, init_sigma):
    from stereodiff.stage2.depthcrafter.refine import DepthCrafterRefiner

    refiner = DepthCrafterRefiner(pipe, timestep_spacing=spacing, use_karras_sigmas=karras)
    np.testing.assert_allclose(refiner.scheduler.timesteps.numpy(), timesteps, atol=1e-4)
    np.testing.assert_allclose(refiner.scheduler.sigmas.numpy(), sigmas, rtol=1e-4, atol=1e-4)
    assert float(refiner.scheduler.init_noise_sigma) == pytest.approx(init_sigma, abs=1e-4)
    assert (refiner.sigma_start, refiner.sigma_end) == pytest.approx((sigmas[2], sigmas[3]), rel=1e-4, abs=1e-4)


@pytest.mark.parametrize(
    ("spacing", "karras", "index", "sigma", "c_noise", "c_in", "c_skip", "c_out"),
    [
        ("leading", True, 2, 2.2691, 0.2048, 0.4033, 0.1626, -0.9151),
        ("trailing", False, 2, 1.6129, 0.1195, 0.5269, 0.2777, -0.8499),
        ("trailing", False, 3, 0.6932, -0.0916, 0.8218, 0.6754, -0.5697),
        ("leading", False, 2, 0.6984, -0.0897, 0.8198, 0.6722, -0.5726),
        ("leading", True, 3, 0.0020, -1.5537, 1.0000, 1.0000, -0.0020),
    ],
)
def test_euler_preconditioning_matches_the_reference_table(
    pipe, spacing, karras, index, sigma, c_noise, c_in, c_skip, c_out
):
    from diffusers import EulerDiscreteScheduler

    def scheduler_at_index():
        scheduler = EulerDiscreteScheduler.from_config(
            pipe.scheduler.config, timestep_spacing=spacing, use_karras_sigmas=karras
        )
        scheduler.set_timesteps(4)
        scheduler.set_begin_index(index)
        return scheduler, scheduler.timesteps[index]

    scheduler, t = scheduler_at_index()
    assert float(scheduler.sigmas[index]) == pytest.approx(sigma, abs=1e-4)
    assert float(t) == pytest.approx(c_noise, abs=1e-4)
    assert float(scheduler.scale_model_input(torch.ones(1), t)) == pytest.approx(c_in, abs=1e-4)
    x0_skip = scheduler.step(torch.zeros(1), t, torch.ones(1)).pred_original_sample  # c_skip·1 + c_out·0
    scheduler, t = scheduler_at_index()
    scheduler.scale_model_input(torch.zeros(1), t)
    x0_out = scheduler.step(torch.ones(1), t, torch.zeros(1)).pred_original_sample  # c_skip·0 + c_out·1
    assert (float(x0_skip), float(x0_out)) == pytest.approx((c_skip, c_out), abs=1e-4)


def test_per_frame_conditioning_vs_stock_forward(pipe):
    from diffusers import UNetSpatioTemporalConditionModel

    unet = pipe.unet
    gen = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 3, 8, 8, 8, generator=gen)
    ids = torch.tensor([[7.0, 127.0, 0.02]])
    one = torch.randn(1, 1, 32, generator=gen)
    with torch.no_grad():
        stock = UNetSpatioTemporalConditionModel.forward(unet, sample, 0.12, one, ids).sample
        ours_equal = unet(sample, 0.12, one.expand(1, 3, 32), ids).sample
        different = torch.cat([one, torch.randn(1, 2, 32, generator=gen)], dim=1)
        ours_different = unet(sample, 0.12, different, ids).sample
    torch.testing.assert_close(ours_equal, stock, rtol=0, atol=1e-6)
    assert (ours_different[:, 1:] - stock[:, 1:]).abs().max() > 1e-4
    with pytest.raises(ValueError, match="one embedding per frame"):
        unet(sample, 0.12, one, ids)


# ---------------------------------------------------------------------------------------------------- pipeline
def test_fp16_variant_and_cpu_offload_loading(tiny_dirs, tmp_path):
    from diffusers import AutoencoderKLTemporalDecoder

    from stereodiff.stage2.depthcrafter.loading import load_depthcrafter

    unet_dir, base_dir = tiny_dirs
    vae = AutoencoderKLTemporalDecoder.from_pretrained(base_dir / "vae")
    vae.to(torch.float16).save_pretrained(tmp_path / "vae", variant="fp16")
    assert (tmp_path / "vae" / "diffusion_pytorch_model.fp16.safetensors").is_file()
    for part in ("image_encoder", "feature_extractor", "scheduler"):
        (tmp_path / part).symlink_to(base_dir / part)
    half = load_depthcrafter(unet_dir, tmp_path, dtype=torch.float16, variant="fp16", cpu_offload=True)
    assert half.unet.dtype == torch.float16 and half.vae.dtype == torch.float16 and half.cpu_offload
    assert half.vae.config.force_upcast
    images = torch.rand(2, 3, 16, 24) * 2 - 1
    latents = half.encode_vae(images)  # force_upcast: encodes in float32, the VAE goes back to float16
    assert latents.dtype == torch.float32 and half.vae.dtype == torch.float16
    full = load_depthcrafter(unet_dir, base_dir)
    torch.testing.assert_close(latents, full.encode_vae(images), atol=2e-3, rtol=0)


def test_processing_size_rules():
    from stereodiff.stage2.depthcrafter.pipeline import processing_size

    assert processing_size(480, 640) == (512, 640)
    assert processing_size(1080, 1920) == (576, 1024)
    assert processing_size(376, 1241) == (320, 1024)  # max_res cap: 1024/1241 scale, then multiples of 64
    assert processing_size(10, 10, dataset="KITTI") == (384, 1280)
    assert processing_size(10, 10, dataset="nyu") == (448, 640)
    with pytest.raises(InputError, match="preset"):
        processing_size(10, 10, dataset="middlebury")


def _video(num_frames: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((num_frames, 16, 24, 3)).astype(np.float32)


def test_pipeline_reproducible_windows_and_golden_slice(pipe):
    video = _video(10)
    gen = torch.Generator().manual_seed(3)
    frame_noise = torch.randn((10, 3, 16, 24), generator=gen).numpy()
    latents = torch.randn((1, 6, 4, 8, 12), generator=gen)
    kwargs = {"num_inference_steps": 2, "window_size": 6, "overlap": 2, "latents": latents, "frame_noise": frame_noise}
    out = pipe(video, **kwargs)
    again = pipe(video, **kwargs)
    assert out.disparity.shape == (10, 16, 24) and out.frames.shape == (10, 16, 24, 3)
    np.testing.assert_array_equal(out.disparity, again.disparity)
    assert out.disparity.min() == 0.0 and out.disparity.max() == 1.0
    golden = np.array([0.30425808, 0.4595366, 0.46728906, 0.37597346])
    np.testing.assert_allclose(out.disparity[7, 8, :4], golden, atol=1e-4)
    with pytest.raises(InputError, match="latents"):
        pipe(video, num_inference_steps=1, window_size=6, overlap=2, latents=latents[:, :5])


def test_pipeline_single_frame_and_source_size_estimate(pipe):
    out = pipe(_video(1), num_inference_steps=1, generator=torch.Generator().manual_seed(0))
    assert out.disparity.shape == (1, 16, 24) and np.isfinite(out.disparity).all()
    frames = (_video(3)[:, :15, :22] * 255).astype(np.uint8)  # processed at 16x24, returned at 15x22
    disparity = pipe.estimate(frames, num_inference_steps=1, seed=0)
    import cv2

    from stereodiff.stage2.depthcrafter.pipeline import normalize_minmax

    processed = pipe(frames, num_inference_steps=1, generator=torch.Generator().manual_seed(0), output_frames=False)
    assert processed.disparity.shape == (3, 16, 24)  # by hand: bilinear to the source size, then min-max again
    resized = np.stack([cv2.resize(d, (22, 15), interpolation=cv2.INTER_LINEAR) for d in processed.disparity])
    np.testing.assert_allclose(disparity, normalize_minmax(resized), atol=1e-6)
    np.testing.assert_array_equal(disparity, pipe.estimate(frames, num_inference_steps=1, seed=0))
    with pytest.raises(InputError, match="multiples"):
        pipe(_video(2), height=15, width=24)


# ----------------------------------------------------------------------------------------------------- refiner
def _stage1(num_frames: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = (rng.random((num_frames, 16, 24, 3)) * 255).astype(np.uint8)
    depth = (1.0 + rng.random((num_frames, 8, 12))).astype(np.float32)
    return frames, depth, np.ones_like(depth)


def test_refiner_at_sigma_min_returns_the_vae_round_trip(pipe):
    import copy

    from diffusers import EulerDiscreteScheduler

    from stereodiff.stage2.depthcrafter.pipeline import normalize_minmax
    from stereodiff.stage2.depthcrafter.refine import DepthCrafterRefiner

    frames, _, _ = _stage1(5)
    depth = (1.0 + np.random.default_rng(4).random((5, 16, 24))).astype(np.float32)  # at frame size
    refiner = DepthCrafterRefiner(pipe, use_karras_sigmas=True, t_start=1, t_end=0)
    assert refiner.sigma_start == pytest.approx(0.002) and refiner.sigma_end == 0.0
    # the limit σ → 0: the same Karras schedule ending at a smaller σ_min (x̂0 = c_skip z + c_out v → z)
    near_clean = copy.copy(pipe)
    near_clean.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config, sigma_min=1e-7)
    refiner = DepthCrafterRefiner(near_clean, use_karras_sigmas=True, t_start=1, t_end=0)
    assert refiner.sigma_start == pytest.approx(1e-7)
    result = refiner.refine(frames, depth, np.ones_like(depth))
    disp = 1.0 / depth
    normalised = torch.from_numpy((disp - disp.min()) / (disp.max() - disp.min()))[:, None].expand(-1, 3, -1, -1)
    latents = pipe.encode_vae(normalised * 2 - 1) * pipe.vae.config.scaling_factor
    expected = normalize_minmax((pipe.decode_vae(latents).sum(1) / 3).numpy())
    np.testing.assert_allclose(result, expected, atol=1e-4)


def test_refiner_reproducible_golden_and_seed_dependent(pipe):
    from stereodiff.stage2.depthcrafter.refine import DepthCrafterRefiner

    frames, depth, conf = _stage1(10)
    refiner = DepthCrafterRefiner(pipe, window=6, overlap=2, seed=0)
    out = refiner.refine(frames, depth, conf)
    assert out.shape == (10, 16, 24) and out.dtype == np.float32
    np.testing.assert_array_equal(out, refiner.refine(frames, depth, conf))
    other = DepthCrafterRefiner(pipe, window=6, overlap=2, seed=1).refine(frames, depth, conf)
    assert np.abs(other - out).max() > 1e-4
    golden = np.array([0.30851737, 0.1051161, 0.23047096, 0.44064757])
    np.testing.assert_allclose(out[7, 8, :4], golden, atol=1e-4)


# T = 9, window 6, overlap 3: windows (0, 6), (3, 9) share frames 3-5; the second window's weight on them is the
# ramp linspace(0, 1, 3) (cross-fade) or a cut mid-overlap (none)
_SEAM_WEIGHTS = {"crossfade": [0.0, 0.5, 1.0], "none": [0.0, 1.0, 1.0]}


@pytest.mark.parametrize("stitching", ["latent", "affine", "joint", "none"])
def test_refiner_stitch_strategies_equal_the_hand_computed_blend(pipe, stitching, tmp_path):
    from stereodiff.stage2.depthcrafter.pipeline import normalize_minmax
    from stereodiff.stage2.depthcrafter.refine import DepthCrafterRefiner
    from stereodiff.stage2.windows import fit_window_affines

    frames, depth, conf = _stage1(9)
    refiner = DepthCrafterRefiner(pipe, window=6, overlap=3, stitching=stitching)
    out = refiner.refine(frames, depth, conf, cache_dir=tmp_path)  # the cache keeps each window's latents
    z = [torch.from_numpy(np.load(tmp_path / f"window_{k:05d}.npy")) for k in (0, 1)]  # [6,4,h,w] each
    ramp = np.array(_SEAM_WEIGHTS["none" if stitching == "none" else "crossfade"])
    weights = [np.r_[1, 1, 1, 1 - ramp], np.r_[ramp, 1, 1, 1]]  # per frame of each window; they sum to 1
    np.testing.assert_array_equal(weights[0][3:] + weights[1][:3], 1.0)

    def disparity(latents: torch.Tensor) -> np.ndarray:  # decoded RGB mean, as DepthCrafter
        return (pipe.decode_vae(latents, refiner.chunk_size).sum(1) / 3).numpy()

    if stitching in ("latent", "none"):  # blend the latents, then decode
        blended = torch.zeros((9, *z[0].shape[1:]))
        for k, start in enumerate((0, 3)):
            blended[start : start + 6] += torch.from_numpy(weights[k]).float()[:, None, None, None] * z[k]
        expected = disparity(blended)
    else:  # decode each window, map it by its fitted scale and shift, then cross-fade
        decoded = [disparity(latents) for latents in z]
        (s0, t0), (s1, t1) = fit_window_affines(decoded, [(0, 6), (3, 9)], mode=stitching)
        assert (s0, t0) == (1.0, 0.0) and abs(s1 - 1) + abs(t1) > 1e-3  # window 0 is the reference
        expected = np.zeros((9, 16, 24))
        expected[:6] += weights[0][:, None, None] * (s0 * decoded[0] + t0)
        expected[3:] += weights[1][:, None, None] * (s1 * decoded[1] + t1)
    np.testing.assert_allclose(out, normalize_minmax(expected.astype(np.float32)), atol=2e-5)
    single = DepthCrafterRefiner(pipe, stitching=stitching).refine(frames[:1], depth[:1], conf[:1])
    assert single.shape == (1, 16, 24) and np.isfinite(single).all()


def test_holes_and_low_confidence_do_not_enter_the_normalisation():
    from stereodiff.stage2.depthcrafter.refine import normalized_disparity_range

    depth = np.full((2, 4, 4), 2.0, np.float32)
    depth[0, 1, 1] = 4.0
    conf = np.ones_like(depth)
    depth[1, 0, 0] = 0.0  # hole
    depth[1, 2, 2] = 1e-6  # absurdly near outlier...
    conf[1, 2, 2] = 0.0  # ...with no confidence
    assert normalized_disparity_range(depth, conf) == (0.25, 0.5)
    with pytest.raises(InputError, match="no valid pixel"):
        normalized_disparity_range(np.zeros((1, 2, 2)), np.ones((1, 2, 2)))


def test_resumed_refiner_feeds_the_models_the_same_batches(pipe, tmp_path, record_inputs):
    """By construction, not by luck of the CPU: every batch that reaches the VAE, CLIP or the UNet in a resumed run
    is one the uninterrupted run computed too, with the same shape and the same frames (hashes of the bytes)."""
    from stereodiff.stage2.depthcrafter.refine import DepthCrafterRefiner

    frames, depth, conf = _stage1(20)
    refiner = DepthCrafterRefiner(pipe, window=6, overlap=2, chunk_size=4)  # windows start at 0, 4, 8, 12, 16
    models = {
        "vae_encoder": pipe.vae.encoder,
        "clip": pipe.image_encoder,
        "unet": pipe.unet,
        "vae_decoder": pipe.vae.decoder,
    }
    with record_inputs(**models) as uninterrupted:
        first = refiner.refine(frames, depth, conf, cache_dir=tmp_path)
    for k in (3, 4):  # as if killed after window 2: windows 3 and 4 start mid-block (frames 12 and 16 reused)
        (tmp_path / f"window_{k:05d}.npy").unlink()
    with record_inputs(**models) as resumed:
        again = refiner.refine(frames, depth, conf, cache_dir=tmp_path)

    def calls(record, name):
        return [inputs for model, inputs in record if model == name]

    for name in ("vae_encoder", "clip"):
        done = calls(uninterrupted, name)
        assert {shape for (shape, _), *_ in done} == {(4, 3, 16, 24) if name == "vae_encoder" else (4, 3, 224, 224)}
        assert calls(resumed, name) and all(batch in done for batch in calls(resumed, name)), name
    assert len(calls(uninterrupted, "unet")) == 5 and calls(resumed, "unet") == calls(uninterrupted, "unet")[3:]
    assert calls(resumed, "vae_decoder") == calls(uninterrupted, "vae_decoder")
    np.testing.assert_array_equal(again, first)


def test_refiner_cache_resumes_and_refuses_other_settings(pipe, tmp_path):
    from stereodiff.stage2.depthcrafter.refine import DepthCrafterRefiner

    frames, depth, conf = _stage1(9)
    depth[:, 0, 0] = 0.0
    refiner = DepthCrafterRefiner(pipe, window=6, overlap=2)
    first = refiner.refine(frames, depth, conf, cache_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.glob("window_*.npy")) == ["window_00000.npy", "window_00001.npy"]
    (tmp_path / "window_00001.npy").unlink()  # as if killed before the last window
    out = np.lib.format.open_memmap(tmp_path / "out.npy", "w+", np.float32, (9, 16, 24))
    assert refiner.refine(frames, depth, conf, out=out, cache_dir=tmp_path) is out
    np.testing.assert_array_equal(out, first)
    with pytest.raises(InputError, match="other settings"):
        DepthCrafterRefiner(pipe, window=6, overlap=2, seed=5).refine(frames, depth, conf, cache_dir=tmp_path)
    with pytest.raises(InputError, match="depth"):
        refiner.refine(frames, depth[:3], conf[:3])
