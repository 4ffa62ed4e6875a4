"""Evaluation protocol: hand-computed tiny cases, alignment variants, aggregation, input errors."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.eval._fastalign import _BracketSlope, _residual_slope, l1_line
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


def test_large_frames_match_direct_computation(rng):
    # 300×400 frames are split into row bands; the result equals the protocol written out on whole arrays
    gt = rng.uniform(0.3, 12.0, (3, 300, 400)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.3] = 0.0
    pred = (0.5 / np.maximum(gt, 0.3) + 0.05 + rng.normal(0, 0.02, gt.shape)).astype(np.float32)
    m = evaluate_sequence(pred, gt, max_depth=10)
    valid = (gt > 1e-3) & (gt < 10)
    disp = np.maximum(pred.astype(np.float64), 1e-3)
    a = np.stack([disp[valid], np.ones(valid.sum())], axis=1)
    (s, t), *_ = np.linalg.lstsq(a, 1.0 / (gt[valid].astype(np.float64) + 1e-8), rcond=None)
    depth = np.clip(1.0 / np.maximum(s * disp + t, 1e-3), 1e-3, 10)
    g = gt.astype(np.float64)
    assert float(m.scale) == pytest.approx(s, rel=1e-9)
    for k, frame in enumerate(valid):
        d, gk = depth[k][frame], g[k][frame]
        assert m.per_frame["abs_rel"][k] == pytest.approx(np.mean(np.abs(d - gk) / gk), rel=1e-9)
        assert m.per_frame["rmse"][k] == pytest.approx(np.sqrt(np.mean((d - gk) ** 2)), rel=1e-9)
        assert m.per_frame["log_rmse"][k] == pytest.approx(np.sqrt(np.mean(np.log(d / gk) ** 2)), rel=1e-9)
        assert m.per_frame["delta1"][k] == np.mean(np.maximum(d / gk, gk / d) < 1.25)
    np.testing.assert_array_equal(m.num_pixels, valid.sum((1, 2)))


def _whole_array_protocol(pred, gt, kind, alignment, per_frame, mask, s_t=None, max_depth=10.0, min_depth=1e-3):
    """The protocol written out on whole float64 arrays, as the official eval.py does: ``[T]`` metrics per frame
    (NaN where a frame has no valid pixel). ``s_t``: the L1 fit's factors (checked for optimality separately)."""
    valid = (gt > min_depth) & (gt < max_depth) & mask
    p = pred.astype(np.float64)
    inverse = np.divide(1.0, p, out=np.zeros_like(p), where=p > 0)
    disparity = alignment == "lstsq-disparity"
    x = np.maximum(p if kind == "disparity" else inverse, 1e-3) if disparity else (p if kind == "depth" else inverse)
    y = 1.0 / (gt.astype(np.float64) + 1e-8) if disparity else gt.astype(np.float64)
    groups = [[t] for t in range(len(gt))] if per_frame else [list(range(len(gt)))]
    depth = np.zeros_like(p)
    for frames in groups:
        v, xs, ys = valid[frames], x[frames], y[frames]
        if not v.any():
            continue
        if alignment == "lstsq-disparity":
            (s, t), *_ = np.linalg.lstsq(np.stack([xs[v], np.ones(v.sum())], 1), ys[v], rcond=None)
            depth[frames] = np.clip(1.0 / np.maximum(s * xs + t, 1e-3), min_depth, max_depth)
        else:
            s, t = (np.median(ys[v]) / np.median(xs[v]), 0.0) if alignment == "median-scale" else s_t
            depth[frames] = np.clip(s * xs + t, min_depth, max_depth)
    out = {name: np.full(len(gt), np.nan) for name in ("abs_rel", "sq_rel", "rmse", "log_rmse", "delta1", "delta3")}
    for k in range(len(gt)):
        d, g = depth[k][valid[k]], gt[k][valid[k]].astype(np.float64)
        if len(g):
            ratio = np.maximum(d / g, g / d)
            out["abs_rel"][k], out["sq_rel"][k] = np.mean(np.abs(d - g) / g), np.mean((d - g) ** 2 / g)
            out["rmse"][k], out["log_rmse"][k] = np.sqrt(np.mean((d - g) ** 2)), np.sqrt(np.mean(np.log(d / g) ** 2))
            out["delta1"][k], out["delta3"][k] = np.mean(ratio < 1.25), np.mean(ratio < 1.25**3)
    return out


@pytest.mark.parametrize(
    ("alignment", "kind", "per_frame"),
    [
        ("lstsq-disparity", "disparity", False),
        ("lstsq-disparity", "depth", False),
        ("lstsq-disparity", "disparity", True),
        ("median-scale", "depth", False),
        ("median-scale", "disparity", True),
        ("l1-depth", "depth", False),
    ],
)
def test_fast_engine_agrees_with_the_whole_array_protocol(rng, alignment, kind, per_frame):
    # 12 frames of 300×400: two thread tasks of row-band blocks; one frame has no valid pixel, masks are scattered
    gt = rng.uniform(0.3, 12.0, (12, 300, 400)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.2] = 0.0
    gt[5] = 0.0
    disparity = 0.5 / np.maximum(gt, 0.3) + 0.05 + rng.normal(0, 0.02, gt.shape)
    pred = (np.maximum(disparity, 1e-2) if kind == "disparity" else 1.0 / np.maximum(disparity, 1e-2)).astype("f4")
    mask = rng.random(gt.shape) < 0.7
    m = evaluate_sequence(pred, gt, pred_kind=kind, max_depth=10, alignment=alignment, per_frame=per_frame,
                          valid_mask=mask)  # fmt: skip
    s_t = (float(m.scale), float(m.shift)) if alignment == "l1-depth" else None
    expected = _whole_array_protocol(pred, gt, kind, alignment, per_frame, mask, s_t)
    np.testing.assert_array_equal(m.frames, [k for k in range(12) if k != 5])
    for name, values in expected.items():
        np.testing.assert_allclose(m.per_frame[name], values[m.frames], rtol=1e-9, err_msg=name)
    if alignment == "l1-depth":  # the factors minimise the L1 cost (no better scale nearby, each with its best shift)
        valid = (gt > 1e-3) & (gt < 10) & mask
        x, y = pred[valid].astype(np.float64), gt[valid].astype(np.float64)
        cost = lambda a: np.abs(y - a * x - np.median(y - a * x)).sum()  # noqa: E731
        assert np.abs(y - s_t[0] * x - s_t[1]).sum() <= min(cost(s_t[0] * (1 + e)) for e in (-1e-6, 1e-6))


@pytest.mark.parametrize("n", [20000, 20001])
def test_l1_bracket_slope_equals_full_subgradient(rng, n):
    # the L1 fit's bisection sorts only the points that may cross the median inside the bracket
    p = rng.uniform(0.5, 10.0, n)
    y = 1.5 * p + 0.2 + 0.1 * rng.standard_cauchy(n)
    y[::50] = np.round(y[::50], 1)  # ties
    slope = _BracketSlope(p, y, 1.499, 1.501, np.empty((3, n)))
    assert len(slope.p) < n / 4
    for s in np.linspace(1.499, 1.501, 9):
        assert slope(s) == pytest.approx(_residual_slope(p, y, s), rel=1e-9, abs=1e-6)


def test_l1_line_on_many_points_recovers_line_despite_outliers(rng):
    p = rng.uniform(0.5, 10.0, 300_000)  # > 2 × 65536: subsample, then the bracketed full-data stage
    y = 2.0 * p + 0.5 + rng.laplace(0, 0.05, p.shape)
    y[::20] = rng.uniform(0, 30, y[::20].shape)  # 5 % outliers
    s, t = l1_line(p, y)
    assert s == pytest.approx(2.0, abs=2e-3) and t == pytest.approx(0.5, abs=1e-2)
    cost = lambda a, b: np.abs(y - a * p - b).sum()  # noqa: E731
    assert cost(s, t) <= min(cost(s * (1 + e), np.median(y - s * (1 + e) * p)) for e in (-1e-6, 1e-6))


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
