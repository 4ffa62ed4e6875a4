"""Frequency bands on analytic signals; dynamic/static region metrics on a synthetic case with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.eval.regions import evaluate_regions, region_differences
from stereodiff.eval.spectrum import (
    NUM_BANDS,
    amplitude_ratio,
    band_decomposition,
    band_edges,
    band_of_bins,
    magnitude_spectrum,
)


def test_band_edges_are_exponential_and_cover_every_bin():
    edges = band_edges(110)
    assert edges[0] == 1.0 and edges[-1] == pytest.approx(55.0)
    np.testing.assert_allclose(edges[1:] / edges[:-1], 55.0 ** (1 / 10))
    bands = band_of_bins(110)
    assert bands[0] == 0 and (bands[1:] >= 1).all()
    assert bands[55] == 10  # Nyquist joins the last band
    np.testing.assert_array_equal(bands[1:], bands[1:][::-1])  # bins k and T-k share a band
    assert bands[1] == 1 and bands[2] == 2 and bands[5] == 5 and bands[30] == 9


def test_constant_has_only_f0():
    dec = band_decomposition(np.full(64, 0.08))
    assert dec.values[0] == pytest.approx(0.08)
    np.testing.assert_allclose(dec.values[1:], 0.0, atol=1e-15)
    freqs, mag = magnitude_spectrum(np.full(64, 0.08), fps=30)
    assert mag[0] == pytest.approx(0.08 * 64) and np.allclose(mag[1:], 0, atol=1e-12)
    assert freqs[-1] == pytest.approx(15.0)  # Nyquist in Hz


@pytest.mark.parametrize("f", [1, 3, 7, 20, 40, 55])
def test_sinusoid_lands_in_its_band_with_its_amplitude(f):
    t = np.arange(110)
    amplitude, mean = 0.03, 0.1
    wave = amplitude * np.cos(2 * np.pi * f * t / 110 + 0.4)
    if f == 55:
        wave = amplitude * np.cos(np.pi * t)  # the Nyquist bin carries no phase
    dec = band_decomposition(mean + wave)
    g = band_of_bins(110)[f]
    assert dec.values[0] == pytest.approx(mean)
    np.testing.assert_allclose(dec.components[g], wave, atol=1e-14)
    assert dec.values[g] == pytest.approx(np.mean(np.abs(wave)))
    assert dec.values[g] == pytest.approx(2 * amplitude / np.pi, rel=0.02 if f != 55 else 0.6)
    others = [b for b in range(1, NUM_BANDS) if b != g]
    np.testing.assert_allclose(dec.values[others], 0.0, atol=1e-14)
    np.testing.assert_allclose(dec.components.sum(0), mean + wave, atol=1e-14)


def test_amplitude_ratio_of_two_methods():
    t = np.arange(50)
    a = 0.1 + 0.02 * np.sin(2 * np.pi * 5 * t / 50)
    b = 0.1 + 0.01 * np.sin(2 * np.pi * 5 * t / 50)
    ratio = amplitude_ratio(a, b)
    assert ratio.shape == (26,)
    assert ratio[0] == pytest.approx(1.0) and ratio[5] == pytest.approx(2.0)
    with pytest.raises(InputError, match="length"):
        amplitude_ratio(a, b[:-1])
    with pytest.raises(InputError, match="NaN"):
        band_decomposition(np.array([0.1, np.nan, 0.2]))


def test_region_metrics_known_answers():
    # 2 frames of 2x4 pixels, GT = 2 m; the prediction is exact on static pixels, 2.5 m on the dynamic column.
    t, h, w = 2, 2, 4
    gt = np.full((t, h, w), 2.0)
    dynamic = np.zeros((t, h, w), dtype=bool)
    dynamic[:, :, 0] = True
    depth = np.where(dynamic, 2.5, 2.0)
    out = evaluate_regions(depth, gt, dynamic, pred_kind="depth", max_depth=10, alignment="none")
    assert out["dynamic"].abs_rel == pytest.approx(0.25)
    assert out["dynamic"].rmse == pytest.approx(0.5)
    assert out["dynamic"].delta1 == 0.0  # 2.5/2 = 1.25 is not < 1.25
    assert out["static"].abs_rel == pytest.approx(0.0) and out["static"].delta1 == 1.0
    assert out["overall"].abs_rel == pytest.approx(0.25 * 2 / 8)
    assert out["overall"].rmse == pytest.approx(np.sqrt(0.25 * 2 / 8))
    worse = evaluate_regions(
        np.where(dynamic, 3.0, 2.0), gt, dynamic, pred_kind="depth", max_depth=10, alignment="none"
    )
    diff = region_differences(out, worse)
    assert diff["dynamic"]["abs_rel"] == pytest.approx(0.25 - 0.5)
    assert diff["static"]["abs_rel"] == pytest.approx(0.0)


def test_region_alignment_is_shared_and_empty_regions_drop_frames(rng):
    gt = rng.uniform(1, 5, (3, 6, 6))
    dynamic = np.zeros(gt.shape, dtype=bool)
    dynamic[1, 2:4, 2:4] = True  # only frame 1 has moving pixels
    out = evaluate_regions(2.0 / gt + 0.1, gt, dynamic, max_depth=10)
    assert out["dynamic"].frames.tolist() == [1]
    assert out["static"].frames.tolist() == [0, 1, 2]
    assert float(out["dynamic"].scale) == float(out["static"].scale) == pytest.approx(0.5)
    with pytest.raises(InputError, match="dynamic_mask"):
        evaluate_regions(gt, gt, dynamic[:2], max_depth=10)
