"""Typed per-backend configs: presets, setting by name, validation, run.json contents, the ``auto`` decision table,
``config show`` and the CLI's config options."""

from __future__ import annotations

import dataclasses
import json

import pytest

from stereodiff import devices
from stereodiff.config import PipelineConfig, apply_options, preset_config, set_option
from stereodiff.stage1.configs import GeometricConfig, NetworkConfig
from stereodiff.stage2.configs import DepthCrafterConfig, DepthCrafterFullConfig, TemporalConfig


@pytest.mark.parametrize("name", ["paper", "fast", "cpu"])
def test_presets_roundtrip_through_json(name):
    config = preset_config(name)
    again = PipelineConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config  # tuples (e.g. depth_range) come back as tuples, not lists
    assert type(again.stage1) is type(config.stage1) and type(again.stage2) is type(config.stage2)


def test_presets_hold_the_paper_settings():
    paper = preset_config("paper")
    assert isinstance(paper.stage1, NetworkConfig) and isinstance(paper.stage2, DepthCrafterConfig)
    assert (paper.stage1.backend, paper.stage1.pair_scheme, paper.stage1.resolution) == (
        "monst3r",
        "swin-2-noncyclic",
        512,
    )
    s2 = paper.stage2
    assert (s2.window, s2.overlap, s2.num_inference_steps, s2.t_start, s2.timestep_spacing) == (
        110,
        25,
        4,
        2,
        "trailing",
    )
    cpu = preset_config("cpu")
    assert cpu.stage1 == GeometricConfig(
        resolution=320,
        movers=True,
        movers_short_offsets=(3,),
        movers_hole_reach=True,
        movers_beyond_part=0.0005,
        movers_oncoming=0.3,
        movers_seen_contact=0.1,
        movers_oncoming_trim=True,
        movers_min_area=0.001,
        movers_track_ahead=16,
        movers_up_to_horizon=3.0,
        movers_contact_beside=0.3,
        movers_beside_low=0.1,
        movers_cut_last_row=True,
        movers_cut_track=32,
        movers_ground_max_beyond=0.25,
        movers_path_contact=0.5,
        movers_path_confidence=0.3,
        movers_path_near=0.3,
        movers_path_near_foot=True,
        forward_near=True,
        focal_cascade=True,
        focal_cascade_robust=True,
        focal_kruppa_check=True,
        focal_track_edges=1.0,
        focal_trim_px=2.0,
        far_parallax_px=1.0,
        depth_range_window=8,
        depth_range_window_area=0.005,
        movers_underground_cut=True,
        movers_cut_margin=10.0,
        movers_cut_holes=8.0,
        movers_cut_skip_beyond=11.0,
        movers_up_beside=0.15,
        movers_cut_sway=0.005,
        movers_cut_sway_levels=True,
        movers_cut_sway_gap=0.4,
        movers_cut_sway_fit=0.75,
        movers_cut_sway_blend=0.5,
        movers_up_holes=0.35,
        movers_near_contact=0.3,
        movers_near_carry=32,
        movers_near_occluded=True,
        near_holes=3.0,
        near_holes_local=4,
        near_holes_along_weight=0.55,
        near_holes_mover_only=1.5,
        near_holes_bridge=8,
        near_holes_far_islands=2.0,
        near_holes_far_islands_rim=0.7,
        near_holes_end_carry=3,
        near_holes_before_reach=True,
        earlier_recheck=0.3,
        earlier_recheck_given=True,
        min_side_offset=2,
        min_side_offset_static=3,
        movers_side_up=2.0,
        poses_from_pairs=True,
        fusion_view_offsets=True,
        fusion_weak_rim=0.5,
        fusion_weak_rim_island=0.005,
        fusion_weak_rim_island_hole=0.1,
        fusion_weak_rim_island_nearer=0.3,
        fusion_weak_rim_keep_given=True,
        fusion_edge_median=3.0,
        fusion_edge_median_movers=True,
        rolling_shutter_readout="auto",
        rolling_shutter_detect=True,
        rolling_shutter_screen=True,
        rolling_shutter_screen_tracks=True,
        rolling_shutter_min_shift=3.5,
        sky=True,
        sky_grow=6,
        sky_carry=True,
        sky_near_recheck=0.9,
        sky_near_recheck_gap=16,
    )  # issue #20
    assert cpu.stage2 == TemporalConfig(
        hole_nearness=100.0,
        hole_lean_bottom=1 / 3,
        hole_warp_frames=6,
        hole_warp_min_px=3.0,
        hole_warp_ahead=True,
        motion_flow_refine="lk",
        hole_skip_rim_px=2.0,
        ahead_from_stage1=True,
        hole_pull_order=32.0,
        fill_min_support=1e-30,
        fill_min_support_area=0.04,
        fill_weak_nearer=True,
        hole_up_px=20,
        hole_up_trust=0.5,
        hole_up_near=0.1,
        hole_up_colour=100.0,
        hole_up_carried=True,
        hole_outline_px=10,
        hole_outline_rim_px=6.0,
        hole_outline_separation=0.8,
        hole_outline_mover_px=8.0,
        hole_mover_away_px=6,
        hole_mover_away_trust=0.5,
        hole_smooth_color=0.64,
        hole_smooth_step=0.3,
        hole_smooth_track=2,
        hole_smooth_min_px=4.0,
        hole_outline_views=8,
        hole_outline_views_static=True,
        hole_outline_views_margin=0.003,
        hole_outline_views_near_margin=0.003,
        hole_top_plane_px=16,
        hole_top_plane_views=8,
        hole_top_plane_views_margin=0.0,
        hole_top_plane_views_gap=0.5,
        hole_floor_plane_px=8,
        hole_floor_rim_px=8,
        hole_floor_world=True,
        hole_floor_refits=20,
        hole_floor_refit_sums=True,
        upsample_mode="holes",
        upsample_clamp=0.05,
        given_upsample_px=3.0,
        given_upsample_colour=True,
        hole_outline_wide_frame_given=0.025,
        hole_outline_wide_given=0.02,
        hole_outline_wide_frame_run=3,
        hole_near_cap=0.1,
        hole_near_cap_side=0.0,
    )
    with pytest.raises(ValueError, match="preset 'nope'"):
        preset_config("nope")


def test_run_config_records_only_the_backends_that_run():
    data = preset_config("cpu").to_dict()
    assert set(data) == {"stage1", "stage2", "device", "dtype", "compile", "seed", "preset"}
    assert set(data["stage2"]) == {f.name for f in dataclasses.fields(TemporalConfig)}
    assert "unet" not in data["stage2"] and "window" in data["stage2"] and data["stage2"]["window"] == 64
    assert set(data["stage1"]) == {f.name for f in dataclasses.fields(GeometricConfig)}
    assert {"flow_patch_stride", "chain_flows", "motion_boundary_margin_px", "fusion_stride"} <= set(data["stage1"])
    assert "weights" not in data["stage1"] and "batch_size" not in data["stage1"]


def test_validation_names_the_field_and_applies_per_backend():
    with pytest.raises(ValueError, match="overlap"):
        PipelineConfig(stage2=DepthCrafterConfig(window=10, overlap=10)).validate()
    # the temporal refiner reads `overlap` frames of context on each side: no overlap < window rule for it
    PipelineConfig(stage2=TemporalConfig(window=8, overlap=32)).validate()
    with pytest.raises(ValueError, match="flow_patch_stride"):
        PipelineConfig(stage1=GeometricConfig(flow_patch_stride=9)).validate()
    with pytest.raises(ValueError, match="multiple of 16"):
        PipelineConfig(stage1=NetworkConfig(resolution=500)).validate()
    with pytest.raises(ValueError, match="stage1 'none' only works"):
        apply_options(PipelineConfig(), {"stage1": {"backend": "none"}}).validate()
    config = apply_options(
        PipelineConfig(), {"stage1": {"backend": "none"}, "stage2": {"backend": "depthcrafter-full"}}
    )
    assert isinstance(config.validate().stage2, DepthCrafterFullConfig) and config.stage2.num_inference_steps == 5
    with pytest.raises(ValueError, match="takes GeometricConfig"):
        PipelineConfig(stage1=NetworkConfig(backend="geometric")).validate()
    with pytest.raises(ValueError, match="device 'gpu'"):
        PipelineConfig(device="gpu").validate()


def test_set_option_parses_by_field_type():
    config = preset_config("cpu")
    set_option(config, "stage1.flow_patch_stride", "3")
    set_option(config, "stage1.depth_range", "0.1, 8")
    set_option(config, "stage1.offsets", "3,5")
    set_option(config, "stage1.motion_boundary_margin_px", "none")
    set_option(config, "stage1.chain_flows", "false")
    set_option(config, "stage1.focal_px", "500")
    set_option(config, "stage2.temporal_decay", "0.8")
    set_option(config, "seed", "7")
    s1 = config.stage1
    assert (s1.flow_patch_stride, s1.depth_range, s1.offsets) == (3, (0.1, 8.0), (3, 5))
    assert s1.motion_boundary_margin_px is None and s1.chain_flows is False and s1.focal_px == 500.0
    assert config.stage2.temporal_decay == 0.8 and config.seed == 7
    assert isinstance(s1.flow_patch_stride, int) and isinstance(s1.focal_px, float)
    with pytest.raises(
        ValueError, match=r"stage1 \(geometric\) has no setting 'weights'; its settings are: resolution"
    ):
        set_option(config, "stage1.weights", "x")
    with pytest.raises(ValueError, match=r"stage1\.flow_patch_stride='three' must be int"):
        set_option(config, "stage1.flow_patch_stride", "three")
    with pytest.raises(ValueError, match="must be one of ultrafast, fast, medium"):
        set_option(config, "stage1.flow_preset", "slow")
    with pytest.raises(ValueError, match="chain_flows='maybe'"):
        set_option(config, "stage1.chain_flows", "maybe")
    with pytest.raises(ValueError, match="stage2 backend 'magic' is unknown"):
        set_option(config, "stage2.backend", "magic")
    with pytest.raises(ValueError, match=r"setting 'stage3\.x' is unknown"):
        set_option(config, "stage3.x", "1")


def test_switching_backend_starts_from_its_defaults():
    config = preset_config("fast")
    set_option(config, "stage1.backend", "dust3r")  # same config class: the preset's settings stay
    assert (config.stage1.backend, config.stage1.resolution, config.stage1.pair_scheme) == (
        "dust3r",
        384,
        "swin-1-noncyclic",
    )
    set_option(config, "stage2.backend", "temporal")  # another class: the temporal refiner's defaults
    assert config.stage2 == TemporalConfig()


# ------------------------------------------------------------------------------------------------ auto decisions


@pytest.fixture
def probes(monkeypatch):
    """Patch the device probe and the weights probe; returns a setter ``(accelerator, missing_weights)``."""
    state = {"accelerator": None, "missing": ([], ""), "weights_probed": 0}

    def missing():
        state["weights_probed"] += 1
        return state["missing"]

    monkeypatch.setattr(devices, "accelerator", lambda: state["accelerator"])
    monkeypatch.setattr(devices, "missing_paper_weights", missing)

    def set_probes(accelerator, missing_weights=(), why=""):
        state.update(accelerator=accelerator, missing=(list(missing_weights), why), weights_probed=0)
        return state

    return set_probes


@pytest.mark.parametrize("accelerator", [None, "cuda", "mps"])
def test_resolve_device(probes, accelerator):
    probes(accelerator)
    assert devices.resolve_device("auto") == (accelerator or "cpu")
    assert devices.resolve_device("cpu") == "cpu" and devices.resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(ValueError, match="device 'gpu' is unknown"):
        devices.resolve_device("gpu")


def test_weights_free_pipeline_runs_on_the_cpu_without_probing(probes):
    """Device ``auto`` with only weights-free backends is the CPU, whatever accelerator is there (no torch import)."""
    from stereodiff.pipeline import StereoDiffPipeline

    probes("cuda")
    assert StereoDiffPipeline.from_config(preset_config("cpu")).config.device == "cpu"
    config = preset_config("cpu", device="cuda")
    assert StereoDiffPipeline.from_config(config).config.device == "cuda"  # an explicit device is kept


def test_auto_preset_decision_table(probes):
    state = probes(None)
    choice = devices.choose_preset("auto")
    assert (choice.preset, choice.device) == ("cpu", "cpu")
    assert "no CUDA or MPS device" in choice.reason and "--preset paper" in choice.reason
    assert state["weights_probed"] == 0  # no accelerator: nothing is probed, no network

    probes("cuda")
    choice = devices.choose_preset("auto")
    assert (choice.preset, choice.device) == ("paper", "cuda")

    probes("mps")
    assert (devices.choose_preset("auto").preset, devices.choose_preset("auto").device) == ("paper", "mps")

    probes("cuda", ["monst3r", "svd-xt"], "they are not cached and HF_HUB_OFFLINE is set")
    choice = devices.choose_preset("auto")
    assert (choice.preset, choice.device) == ("cpu", "cuda")
    assert "weights for monst3r, svd-xt: they are not cached and HF_HUB_OFFLINE is set" in choice.reason
    assert "stereodiff weights download monst3r svd-xt" in choice.reason and "--preset paper" in choice.reason

    state = probes("cuda")
    choice = devices.choose_preset("cpu")  # the user asked for the CPU: the accelerator does not count
    assert choice.preset == "cpu" and "--device cpu was requested" in choice.reason and state["weights_probed"] == 0


def test_auto_preset_without_the_paper_extra(probes, monkeypatch):
    probes("cuda")
    real = devices.importlib.util.find_spec
    monkeypatch.setattr(devices.importlib.util, "find_spec", lambda name: None if name == "diffusers" else real(name))
    choice = devices.choose_preset("auto")
    assert choice.preset == "cpu" and "pip install 'stereodiff[paper]'" in choice.reason


def test_auto_preset_logs_one_notice(probes, caplog):
    probes(None)
    with caplog.at_level("WARNING", logger="stereodiff"):
        config = preset_config("auto")
    assert config.preset == "auto:cpu" and isinstance(config.stage1, GeometricConfig) and config.device == "cpu"
    assert [r.getMessage() for r in caplog.records].count(
        "preset auto: " + devices.choose_preset().reason
    ) == 1 and len(caplog.records) == 1
    probes("cuda")
    caplog.clear()
    with caplog.at_level("INFO", logger="stereodiff"):
        config = preset_config("auto")
    assert (config.preset, config.device, config.stage1.backend) == ("auto:paper", "cuda", "monst3r")
    assert [r.levelname for r in caplog.records] == ["INFO"] and "--preset cpu forces" in caplog.text


def test_weights_probe_offline_does_not_touch_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("stereodiff.weights.downloadable", lambda name: pytest.fail("probed the hub offline"))
    missing, why = devices.missing_paper_weights()
    assert missing == ["monst3r", "depthcrafter", "svd-xt"] and "HF_HUB_OFFLINE" in why


# ------------------------------------------------------------------------------------------------------- the CLI


def test_config_show_prints_the_full_config_and_reads_back(cli, tmp_path):
    status, out, err = cli("config", "show", "--preset", "cpu", "--set", "stage1.flow_patch_stride=3")
    assert status == 0, err
    data = json.loads(out)
    assert data["stage1"]["flow_patch_stride"] == 3 and data["preset"] == "cpu+overrides"
    assert data["device"] == devices.resolve_device() and len(data["stage1"]) == len(
        dataclasses.fields(GeometricConfig)
    )
    (tmp_path / "c.json").write_text(out)
    status, again, _ = cli("config", "show", "--config", tmp_path / "c.json")
    assert status == 0 and json.loads(again) == data
    status, toml, _ = cli("config", "show", "--preset", "cpu", "--format", "toml", "--set", "stage1.offsets=5,8")
    assert status == 0 and "[stage1]" in toml and "offsets = [5, 8]" in toml and "# focal_px = none" in toml
    assert "# DIS patch stride in pixels" in toml.split("flow_patch_stride = 4")[0].splitlines()[-2]
    (tmp_path / "c.toml").write_text(toml)
    status, from_toml, _ = cli("config", "show", "--config", tmp_path / "c.toml")
    assert status == 0 and json.loads(from_toml)["stage1"]["offsets"] == [5, 8]


def test_config_errors_are_one_line(cli, tmp_path):
    status, _, err = cli("config", "show", "--preset", "cpu", "--set", "stage1.nope=1")
    assert status == 2 and err.count("\n") == 1 and "stage1 (geometric) has no setting 'nope'" in err
    status, _, err = cli("config", "show", "--preset", "cpu", "--set", "stage1.resolution")
    assert status == 2 and "is not KEY=VALUE" in err
    (tmp_path / "bad.toml").write_text("[stage1\n")
    status, _, err = cli("config", "show", "--config", tmp_path / "bad.toml")
    assert status == 2 and "cannot read the config file" in err and "Traceback" not in err


def test_demo_takes_settings_and_refuses_a_bad_one_before_rendering(cli, tmp_path):
    from stereodiff.cli.main import build_parser

    args = build_parser().parse_args(["demo", "--set", "stage2.upsample_mode=plain", "--set", "stage2.window=32"])
    assert args.settings == ["stage2.upsample_mode=plain", "stage2.window=32"]
    status, _, err = cli("demo", "-o", tmp_path / "demo", "--set", "stage2.upsample_mode=nearest")
    assert status == 2 and err.count("\n") == 1 and "upsample_mode" in err
    status, _, err = cli("demo", "-o", tmp_path / "demo", "--set", "stage2.window")
    assert status == 2 and "is not KEY=VALUE" in err
    assert not (tmp_path / "demo" / "scene").exists()  # nothing rendered


def test_run_help_lists_presets_and_device_auto(cli):
    from stereodiff.cli.main import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    for name in ("paper", "fast", "cpu", "auto"):
        assert f"{name}:" in text
    assert "--device" in text and "auto (default" in text and "--set KEY=VALUE" in text and "--config FILE" in text


def test_quiet_and_verbose_after_every_subcommand():
    import argparse

    from stereodiff.cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["run", "video.mp4", "-o", "out", "-q"])
    assert args.quiet is True and args.verbose is False
    args = parser.parse_args(["-v", "run", "video.mp4"])
    assert args.verbose is True and args.quiet is False  # a flag before the subcommand is not reset

    def parsers(p):
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield sub
                    yield from parsers(sub)

    subcommands = list(parsers(parser))
    assert len(subcommands) > 10
    for sub in subcommands:
        assert {"-q", "--quiet", "-v", "--verbose"} <= set(sub._option_string_actions), sub.prog


def test_every_setting_is_documented():
    """The field docstrings are the documentation (``config show --format toml`` prints them): none may be missing."""
    from stereodiff.backends import STAGE1, STAGE2
    from stereodiff.stage1.configs import field_docs

    for cls in {entry.config for entry in (*STAGE1.values(), *STAGE2.values())} | {PipelineConfig}:
        docs = field_docs(cls)
        assert all(len(docs.get(f.name, "")) > 10 for f in dataclasses.fields(cls)), cls.__name__
    assert field_docs(GeometricConfig)["scale_stride"].startswith("Alignment: pair registration on every 4th pixel")
    assert field_docs(NetworkConfig)["scale_stride"].startswith("Alignment: register pairs on every")
