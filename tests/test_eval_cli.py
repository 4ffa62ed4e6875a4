"""`stereodiff eval` and `stereodiff analyze` end to end on a tiny synthetic dataset; bad inputs exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stereodiff.eval.protocol import apply_alignment, evaluate_sequence, protocol_options
from stereodiff.eval.temporal import temporal_alignment_error


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    from stereodiff.synth import make_scene, write_synthetic_dataset

    root = tmp_path_factory.mktemp("synth")
    video = make_scene("indoor-dynamic", seed=3, num_frames=12, height=32, width=48)
    write_synthetic_dataset(video, root / "scene_a")
    return root, video


def _eval_args(root, pred) -> tuple:
    """``stereodiff eval`` of the synthetic dataset at ``root`` against the predictions in folder ``pred``."""
    return ("eval", "--dataset", "synthetic", "--root", root, "--pred", pred)


def test_eval_cli_writes_reports_matching_the_protocol(cli, synth_root, tmp_path):
    root, video = synth_root
    rng = np.random.default_rng(0)
    disp = np.where(video.depth > 0, 1.0 / np.maximum(video.depth, 1e-3), 0)
    pred = (0.5 * disp + 0.1 + rng.normal(0, 0.002, disp.shape)).astype(np.float32)
    (tmp_path / "pred").mkdir()
    np.savez(tmp_path / "pred" / "scene_a.npz", disparity=pred)
    status, out, err = cli(*_eval_args(root, tmp_path / "pred"), "--out", tmp_path / "report", "--tae", "--html")
    assert status == 0, err
    page = (tmp_path / "report" / "results.html").read_text()
    assert "<table>" in page and "scene_a" in page and page.count("data:image/png;base64,") == 1
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    expected = evaluate_sequence(pred, video.depth, max_depth=80.0, valid_mask=video.depth > 0)
    assert data["summary"]["abs_rel"] == pytest.approx(expected.abs_rel)
    assert data["sequences"]["scene_a"]["frame_mean"]["delta1"] == pytest.approx(expected.delta1)
    assert set(data["regions"]["scene_a"]) == {"dynamic", "overall", "static"}
    aligned = apply_alignment(pred, expected.alignment, "disparity")  # TAE of the protocol-aligned depth
    tae = temporal_alignment_error(aligned, video.K, video.cam_to_world)
    assert data["tae"]["scene_a"] == pytest.approx(tae, rel=1e-9) and tae > 0.1  # a noisy prediction flickers
    assert data["bands"]["abs_rel"][0] == pytest.approx(expected.abs_rel)  # F0 is the metric
    assert "| scene_a |" in (tmp_path / "report" / "results.md").read_text() and "AbsRel" in out
    # MonST3R protocol: pixel-pooled L1 fit runs too
    status, _, err = cli(*_eval_args(root, tmp_path / "pred"), "--protocol", "monst3r", "--out", tmp_path / "report2")
    assert status == 0, err
    pooled = evaluate_sequence(
        pred, video.depth, max_depth=80.0, valid_mask=video.depth > 0, **protocol_options("monst3r")
    ).pixel_mean()  # one sequence: the pixel-weighted dataset value is its pixel-pooled value
    summary = json.loads((tmp_path / "report2" / "results.json").read_text())["summary"]
    for name in ("abs_rel", "rmse", "delta1"):
        assert summary[name] == pytest.approx(pooled[name], rel=1e-9), name
    assert abs(summary["abs_rel"] - data["summary"]["abs_rel"]) > 1e-4  # another fit and averaging


def test_analyze_cli_two_methods(cli, synth_root, tmp_path):
    root, video = synth_root
    a = tmp_path / "a.npz"
    b = tmp_path / "b.npz"
    noise = np.exp(np.random.default_rng(1).normal(0, 0.2, video.depth.shape))
    flicker = np.where((np.arange(12) % 2 == 1)[:, None, None], noise, 1.0)  # noisy odd frames: Nyquist
    np.savez(a, depth=video.depth * 2.0)
    np.savez(b, depth=(video.depth * flicker).astype(np.float32))
    status, out, err = cli(
        "analyze",
        a,
        b,
        "--gt",
        root / "scene_a",
        "--out",
        tmp_path / "an",
        "--labels",
        "steady",
        "flicker",
        "--fps",
        "30",
        "--html",
        tmp_path / "report.html",
    )
    assert status == 0, err
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4 and "<th>F10</th>" in page and '"protocol": "depthcrafter"' in page
    for name in ("analysis.json", "analysis.md", "errors.png", "spectrum.png", "bands.png", "amplitude_ratio.png"):
        assert (tmp_path / "an" / name).stat().st_size > 0, name
    report = json.loads((tmp_path / "an" / "analysis.json").read_text())
    steady = report["methods"]["steady"]["bands"]["abs_rel"]
    flick = report["methods"]["flicker"]["bands"]["abs_rel"]
    assert steady[0] == pytest.approx(0.0, abs=1e-6)  # a scaled exact depth aligns perfectly
    assert np.argmax(flick[1:]) + 1 == 10  # the alternating error sits in the Nyquist band
    assert report["methods"]["flicker"]["spectrum"]["abs_rel"]["frequency"][-1] == pytest.approx(15.0)
    assert "regions" in report["methods"]["steady"] and "F10" in out


def test_bad_inputs_exit_2(cli, synth_root, tmp_path):
    root, _ = synth_root
    bad = tmp_path / "bad.npz"
    np.savez(bad, weights=np.zeros(3), bias=np.zeros(2))
    status, _, err = cli("analyze", bad, "--gt", root / "scene_a", "--out", tmp_path / "x")
    assert status == 2 and "'depth' or 'disparity'" in err
    status, _, err = cli(*_eval_args(root, tmp_path / "nothing"))
    assert status == 2 and "not found" in err
    (tmp_path / "empty").mkdir()
    status, _, err = cli(*_eval_args(root, tmp_path / "empty"))
    assert status == 2 and "no prediction file" in err
    status, _, err = cli("analyze", bad, "--gt", tmp_path / "missing.npz")
    assert status == 2 and "not found" in err
