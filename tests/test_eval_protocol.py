"""Evaluation protocol: hand-computed tiny cases, alignment variants, aggregation, input errors."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.eval.protocol import aggregate, evaluate_sequence, frame_metrics


def _hand_case():
    # frame 0: two valid pixels (gt 1, 2); frame 1: gt 4 valid, gt 12 beyond the cap of 10
    gt = np.array([[[1.0, 2.0]], [[4.0, 12.0]]])
    pred = np.array([[[1.0, 2.0]], [[3.0, 0.0]]])  # disparity; the invalid pixel's value must not matter
    return pred, gt


def test_depthcrafter_protocol_matches_hand_computation():
    pred, gt = _hand_case()
    m = evaluate_sequence(pred, gt, pred_kind="disparity", max_depth=10)
    # least squares of 1/gt = [1, 1/2, 1/4] on p = [1, 2, 3]: s = -3/8, t = 4/3
    assert float(m.scale) == pytest.approx(-3 / 8, abs=1e-7)
    assert float(m.shift) == pytest.approx(4 / 3, abs=1e-7)
    # aligned disparities 23/24, 7/12, 5/24 -> depths 24/23, 12/7, 24/5
    e00, e01, e10 = 24 / 23 - 1, 12 / 7 - 2, 24 / 5 - 4
    abs_rel = [(abs(e00) / 1 + abs(e01) / 2) / 2, abs(e10) / 4]
    rmse = [np.sqrt((e00**2 + e01**2) / 2), abs(e10)]
    sq_rel = [(e00**2 / 1 + e01**2 / 2) / 2, e10**2 / 4]
    log_rmse = [np.sqrt((np.log(24 / 23) ** 2 + np.log(6 / 7) ** 2) / 2), abs(np.log(1.2))]
    np.testing.assert_allclose(m.per_frame["abs_rel"], abs_rel, rtol=1e-6)
    np.testing.assert_allclose(m.per_frame["rmse"], rmse, rtol=1e-6)
    np.testing.assert_allclose(m.per_frame["sq_rel"], sq_rel, rtol=1e-6)
    np.testing.assert_allclose(m.per_frame["log_rmse"], log_rmse, rtol=1e-6)
    assert m.abs_rel == pytest.approx(np.mean(abs_rel), rel=1e-6)
    assert m.rmse == pytest.approx(np.mean(rmse), rel=1e-6)
    assert m.delta1 == 1.0  # ratios 24/23, 7/6, 1.2 are all < 1.25
    np.testing.assert_array_equal(m.num_pixels, [2, 1])
    # pixel-pooled (MonST3R averaging): 3 pixels
    pooled = m.pixel_mean()
    assert pooled["abs_rel"] == pytest.approx((abs(e00) + abs(e01) / 2 + abs(e10) / 4) / 3, rel=1e-6)
    assert pooled["rmse"] == pytest.approx(np.sqrt((e00**2 + e01**2 + e10**2) / 3), rel=1e-6)


def test_delta_thresholds_are_strict_and_clip_applies():
    depth = np.array([[[1.25, 1.0, 1.0 / 1.3, 1.9]]])
    gt = np.ones((1, 1, 4))
    values, counts = frame_metrics(depth, gt, np.ones_like(gt, dtype=bool))
    assert counts.tolist() == [4]
    assert values["delta1"][0] == 0.25  # 1.25 is not < 1.25; 1.3 and 1.9 fail
    assert values["delta2"][0] == 0.75
    assert values["delta3"][0] == 1.0
    # the aligned depth is clipped to the cap: a perfect disparity of a 20 m pixel under a 10 m cap gives 10 m
    gt2 = np.array([[[2.0, 4.0, 8.0, 20.0]]])
    m = evaluate_sequence(1.0 / gt2, np.where(gt2 < 10, gt2, 0.0), max_depth=10)
    assert m.abs_rel == pytest.approx(0.0, abs=1e-7)


def test_frames_without_valid_pixels_are_dropped(rng):
    gt = rng.uniform(1, 5, (4, 6, 7))
    gt[2] = 0.0
    m = evaluate_sequence(1.0 / np.maximum(gt, 1.0), gt, max_depth=10)
    assert m.frames.tolist() == [0, 1, 3]
    assert m.num_frames == 4
    assert m.abs_rel == pytest.approx(0.0, abs=1e-7)
    assert m.delta1 == 1.0


@pytest.mark.parametrize("alignment", ["lstsq-disparity", "l1-depth", "median-scale"])
def test_alignments_recover_affine_and_scale(rng, alignment):
    gt = rng.uniform(1, 8, (5, 8, 9))
    if alignment == "lstsq-disparity":
        pred, kind = 3.0 / gt + 0.2, "disparity"
    elif alignment == "l1-depth":
        pred, kind = (gt - 0.5) / 2.0, "depth"
        pred.flat[::17] = rng.uniform(pred.min(), pred.max(), pred.flat[::17].shape)  # outliers: L1 ignores them
    else:
        pred, kind = gt / 4.0, "depth"
    m = evaluate_sequence(pred, gt, pred_kind=kind, max_depth=10, alignment=alignment)
    if alignment == "l1-depth":
        assert float(m.scale) == pytest.approx(2.0, rel=1e-4)
        assert float(m.shift) == pytest.approx(0.5, abs=1e-3)
        assert np.median(m.per_frame["abs_rel"]) < 0.2
    else:
        assert m.abs_rel < 1e-7


def test_per_frame_alignment_hides_temporal_flicker(rng):
    gt = rng.uniform(1, 8, (6, 5, 5))
    gains = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 3.0])[:, None, None]
    pred = gains / gt  # per-frame scale flicker
    video = evaluate_sequence(pred, gt, max_depth=10)
    frame = evaluate_sequence(pred, gt, max_depth=10, per_frame=True)
    assert frame.abs_rel < 1e-7 < video.abs_rel
    np.testing.assert_allclose(frame.scale, 1.0 / gains.ravel(), rtol=1e-6)
    assert frame.scale.shape == (6,)


def test_depth_prediction_and_resize(rng):
    gt = rng.uniform(1, 8, (3, 8, 12))
    pred_depth = np.repeat(np.repeat(gt[:, ::2, ::2], 2, 1), 2, 2)  # equal to gt on the even grid
    m = evaluate_sequence(gt[:, ::2, ::2] * 2.0, gt, pred_kind="depth", max_depth=10, resize="nearest")
    assert m.per_frame["abs_rel"].shape == (3,)
    m2 = evaluate_sequence(pred_depth, gt, pred_kind="depth", max_depth=10)
    assert m.abs_rel == pytest.approx(m2.abs_rel, rel=1e-9)


def test_aggregate_sequence_and_pixel_weighting(rng):
    gt_a = rng.uniform(1, 8, (2, 4, 4))
    gt_b = rng.uniform(1, 8, (2, 8, 8))
    a = evaluate_sequence(1.0 / gt_a + rng.normal(0, 0.02, gt_a.shape), gt_a, max_depth=10)
    b = evaluate_sequence(1.0 / gt_b, gt_b, max_depth=10)
    assert aggregate([a, b])["abs_rel"] == pytest.approx((a.abs_rel + b.abs_rel) / 2)
    w = aggregate([a, b], weighting="pixel", average="pixel")["abs_rel"]
    assert w == pytest.approx((32 * a.pixel_mean()["abs_rel"] + 128 * b.pixel_mean()["abs_rel"]) / 160)


def test_bad_inputs_raise_input_error():
    gt = np.ones((2, 3, 3))
    with pytest.raises(InputError, match="pred_kind"):
        evaluate_sequence(gt, gt, pred_kind="inverse", max_depth=10)
    with pytest.raises(InputError, match="frames"):
        evaluate_sequence(gt[:1], gt, max_depth=10)
    with pytest.raises(InputError, match="alignment"):
        evaluate_sequence(gt, gt, max_depth=10, alignment="magic")
    with pytest.raises(InputError, match="no valid"):
        evaluate_sequence(gt, np.zeros_like(gt), max_depth=10)
    with pytest.raises(InputError, match="valid_mask"):
        evaluate_sequence(gt, gt, max_depth=10, valid_mask=np.ones((2, 3, 3)))
