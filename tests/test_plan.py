"""The resource planner (`stereodiff plan`): parameter counts, call counts, memory from shapes, verdicts."""

from __future__ import annotations

import json
import logging

import pytest

from stereodiff.config import preset_config
from stereodiff.plan import parse_bytes, plan_run, warn_if_too_big

GIB = 2**30


def _paper(device: str = "cuda", dtype: str = "float16"):
    config = preset_config("paper", device=device)
    config.dtype = dtype
    return config


@pytest.mark.parametrize(
    ("text", "expected"),
    [("24GB", 24 * GIB), ("24 GiB", 24 * GIB), ("16g", 16 * GIB), ("512MB", 512 * 2**20), ("1.5G", int(1.5 * GIB))],
)
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "24 GBs", "-3GB"])
def test_parse_bytes_rejects_nonsense(text):
    with pytest.raises(ValueError, match="not understood"):
        parse_bytes(text)


def test_paper_plan_counts_the_published_architectures():
    plan = plan_run(_paper(), 110, 576, 1024)
    stage1, stage2 = plan.stages
    # MonST3R/DUSt3R ViT-L 512-DPT: 571,171,208 in the official class, minus the unused mask_token (768)
    assert stage1.parameters == 571_171_208 - 768
    assert stage1.weights_bytes == stage1.parameters * 4  # float32 weights, half precision as autocast
    # swin-2 symmetrised: 2·(109 + 108) directed pairs; every frame encoded once
    assert stage1.calls == {"encoder passes": 110, "decoder pairs": 434}
    assert stage1.disk_bytes == 434 * 288 * 512 * 8 * 4
    # DepthCrafter UNet (SVD-xt size) + SVD VAE + CLIP ViT-H/14 image encoder
    assert 2.2e9 < stage2.parameters < 2.3e9
    assert stage2.calls["UNet calls"] == 1  # one window of 110 frames, one step
    assert stage2.calls["VAE encodes"] == 220  # frames and stage-1 disparity
    # both models stay loaded; activations are freed between the stages
    expected = stage1.weights_bytes + stage2.weights_bytes + max(stage1.activation_bytes, stage2.activation_bytes)
    assert plan.peak_bytes == expected + plan.overhead_bytes
    assert plan.fits is None and plan.suggestions == []


def test_activation_memory_follows_the_shapes():
    small = plan_run(_paper(), 110, 288, 512).stages[1].activation_bytes
    large = plan_run(_paper(), 110, 576, 1024).stages[1].activation_bytes
    assert 3.5 < large / small < 4.5  # 4× the pixels (latents and VAE maps scale with the area)
    config = _paper()
    config.stage2.window, config.stage2.overlap = 32, 8
    windowed = plan_run(config, 110, 576, 1024).stages[1]
    assert windowed.calls["UNet calls"] == 5  # windows of 32 with stride 24 over 110 frames
    config.stage1.batch_size = 2
    assert plan_run(config, 110, 576, 1024).stages[0].activation_bytes < small
    fp32 = plan_run(_paper(dtype="float32"), 110, 576, 1024).stages[1]
    assert fp32.weights_bytes > 1.9 * plan_run(_paper(), 110, 576, 1024).stages[1].weights_bytes


def test_verdict_and_suggestions():
    roomy = plan_run(_paper(), 110, 576, 1024, budget_bytes=80 * GIB)
    assert roomy.fits is True and roomy.suggestions == []
    tight = plan_run(_paper(dtype="float32"), 110, 576, 1024, budget_bytes=16 * GIB)
    assert tight.fits is False
    text = "\n".join(tight.suggestions)
    assert "--dtype float16" in text and "stage2.resolution" in text
    assert "WILL NOT FIT" in tight.format()


def test_weights_free_presets_have_nothing_to_load():
    plan = plan_run(preset_config("cpu", device="cpu"), 300, 1080, 1920)
    assert [s.parameters for s in plan.stages] == [0, 0]


def test_unmodelled_neural_stage_makes_the_verdict_unknown():
    weights_free = plan_run(preset_config("cpu", device="cpu"), 60, 128, 192, budget_bytes=GIB)
    assert weights_free.fits is True and weights_free.stages[1].detail.startswith("weights-free, CPU")
    from stereodiff.config import PipelineConfig
    from stereodiff.stage1.configs import NoStage1Config
    from stereodiff.stage2.configs import DVDConfig

    neural = plan_run(PipelineConfig(stage1=NoStage1Config(), stage2=DVDConfig()), 60, 128, 192, budget_bytes=GIB)
    assert neural.fits is None and not neural.stages[0].modelled
    assert "whether it fits is unknown" in neural.format()


def test_plan_cli(cli):
    status, out, _ = cli("plan", "--frames", "110", "--size", "1024x576", "--device", "cuda", "--gpu-memory", "24GB")
    assert status == 0
    assert "stage 1 (monst3r)" in out and "434 decoder pairs" in out and "in float16" in out and "fits" in out
    status, out, _ = cli("plan", "--frames", "110", "--size", "1024x576", "--device", "cuda", "--gpu-memory", "8GB",
                         "--set", "stage2.window=32")  # fmt: skip
    assert status == 0 and "WILL NOT FIT" in out and "window(s) of up to 32 frames" in out
    status, out, _ = cli("plan", "--frames", "8", "--size", "640x360", "--device", "cpu", "--json")
    assert status == 0
    data = json.loads(out)
    assert data["dtype"] == "float32" and data["num_frames"] == 8 and data["peak_bytes"] > 0
    status, _, err = cli("plan", "--frames", "8", "--size", "640by360")
    assert status == 2 and "WxH" in err
    status, _, err = cli("plan", "--size", "640x360")
    assert status == 2 and "--frames" in err


def test_run_warns_when_the_plan_does_not_fit(monkeypatch, caplog):
    import stereodiff.plan as plan_module

    monkeypatch.setattr(plan_module, "available_memory", lambda device: 4 * GIB)
    caplog.set_level(logging.WARNING, logger="stereodiff")
    plan = warn_if_too_big(_paper(), 110, 576, 1024)
    assert plan is not None and plan.fits is False
    assert "will probably run out of memory" in caplog.text
    caplog.clear()
    assert warn_if_too_big(preset_config("cpu", device="cpu"), 110, 576, 1024) is None
    assert caplog.text == ""


def test_plan_reads_frames_and_size_from_the_input(cli, tmp_path):
    import numpy as np
    from PIL import Image

    for t in range(3):
        Image.fromarray(np.zeros((90, 160, 3), np.uint8)).save(tmp_path / f"{t:03d}.png")
    status, out, err = cli("plan", tmp_path, "--device", "cpu")
    assert status == 0, err
    assert out.startswith("plan: 3 frames of 160x90 on cpu in float32")


def test_weights_free_plan_is_bounded_in_memory_and_linear_in_disk():
    """The cpu preset's memory is one movers block / one stage-2 window whatever the length; its disk (ray pairs,
    scene, stage-2 output) grows with it. At 320×240 the planned peak is within 10 % of the measured peak
    (300 frames, BENCHMARKS.md; 895 MiB since the session of 2026-12-06, 905–949 over three runs)."""
    config = preset_config("cpu", device="cpu")
    short, long, longer = (plan_run(config, t, 240, 320, budget_bytes=GIB) for t in (64, 300, 3000))
    assert short.peak_bytes < long.peak_bytes == longer.peak_bytes
    assert all(s.activation_bytes > 0 and s.disk_bytes > 0 for s in long.stages)
    for mine, ten_times in zip(long.stages, longer.stages, strict=True):
        assert ten_times.disk_bytes == 10 * mine.disk_bytes
    assert abs(long.peak_bytes / (895 * 2**20) - 1) < 0.1
    assert long.fits is True and "runtime overhead 0.36 GB" in long.format()
    with_short = plan_run(config, 300, 240, 320).stages[0].activation_bytes
    config.stage1.movers_short_offsets = ()
    block = 128 + 2 * (32 + 1)  # BLOCK_FRAMES with movers_cut_track's context on both sides
    assert with_short - plan_run(config, 300, 240, 320).stages[0].activation_bytes == 2 * block * 240 * 320
    config.stage1.movers_cut_track = 0  # the context of the widest other look: movers_track_ahead (16)
    assert f"blocks of {128 + 2 * (16 + 1)} frames" in plan_run(config, 300, 240, 320).stages[0].detail
    config.stage1.movers = False
    assert plan_run(config, 300, 240, 320).stages[0].activation_bytes == 0


def test_weights_free_disk_counts_the_frames_at_the_source_size():
    """The matcher's pairs and scene are at its working size (320×240 from 640×480 frames), but the run keeps the
    decoded frames at the source size: 3 bytes per source pixel more (measured 0.92 MB per frame at 640×480)."""
    config = preset_config("cpu", device="cpu")
    small, large = (plan_run(config, 40, h, w).stages[0] for h, w in ((240, 320), (480, 640)))
    assert "320x240 working size" in large.detail
    assert large.disk_bytes - small.disk_bytes == 40 * 3 * (480 * 640 - 240 * 320)
    assert abs(large.disk_bytes / (40 * 5.78e6) - 1) < 0.1


def test_temporal_stage_is_planned_at_its_stage_1_depth_resolution():
    """The temporal refiner works at most at the stage-1 depth's resolution: the geometric matcher's (aspect kept)
    or the network's (sides multiples of its 16-px patch), e.g. 1000×1280 frames at 256 px: 256×200 vs 256×192."""
    from stereodiff.stage1.configs import NetworkConfig

    config = preset_config("cpu", device="cpu")
    config.stage1.resolution = 256
    assert "256x200 working size" in plan_run(config, 100, 1000, 1280).stages[1].detail
    config.stage1 = NetworkConfig(backend="monst3r", resolution=256)
    assert "256x192 working size" in plan_run(config, 100, 1000, 1280).stages[1].detail
