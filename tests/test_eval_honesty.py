"""Where a refined video loses against its stage 1 (``stereodiff.eval.honesty``)."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.eval.honesty import SPLIT_PARTS, stage2_split


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GT ``[3,8,10]`` (1–5 m), a moving block and stage 1 with holes (exact where it covers)."""
    rng = np.random.default_rng(0)
    gt = rng.uniform(1.0, 5.0, (3, 8, 10)).astype(np.float32)
    moving = np.zeros(gt.shape, bool)
    moving[:, 2:5, 2:5] = True
    stage1 = gt.copy()
    stage1[:, 5:, 6:] = 0.0  # static holes
    stage1[:, 4, 2:5] = 0.0  # moving holes
    return gt, moving, stage1


def test_the_parts_add_up_and_the_refit_is_told_from_the_refinement():
    """Holes filled 3× too far: the final is exact on stage 1's pixels under its own fit (and under stage 1's),
    but the all-pixel fit, pulled by the holes, makes those pixels worse; the four parts add up to the final's
    all-pixel AbsRel and the holes carry most of it."""
    gt, moving, stage1 = _scene()
    final = np.where(stage1 > 0, gt, 3.0 * gt).astype(np.float32)
    split = stage2_split(final, stage1, gt, moving, max_depth=10.0)
    assert split["stage 1"] == pytest.approx(0.0, abs=1e-6)
    assert split["final covered"] == pytest.approx(0.0, abs=1e-6)
    assert split["final covered, stage-1 fit"] == pytest.approx(0.0, abs=1e-6)
    assert split["final covered, all-pixel fit"] > 0.05  # the fit's pull
    assert sum(split[part] for part in SPLIT_PARTS) == pytest.approx(split["final all"], rel=1e-9)
    assert split["holes static"] + split["holes moving"] > split["covered static"] + split["covered moving"]


def test_a_refinement_that_moves_only_the_moving_pixels_shows_there():
    """The final is stage 1 with its moving pixels 20 % too far: under stage 1's fit the static covered pixels are
    unchanged and the moving ones 0.2 off; without a dynamic mask nothing is called moving."""
    gt, moving, stage1 = _scene()
    final = np.where(moving, 1.2 * gt, gt).astype(np.float32)
    split = stage2_split(final, stage1, gt, moving, max_depth=10.0)
    assert split["final covered, stage-1 fit static"] == pytest.approx(0.0, abs=1e-6)
    assert split["final covered, stage-1 fit moving"] == pytest.approx(0.2, rel=1e-4)
    assert split["stage 1 moving"] == pytest.approx(0.0, abs=1e-6)
    still = stage2_split(final, stage1, gt, None, max_depth=10.0)
    assert np.isnan(still["stage 1 moving"]) and still["covered moving"] == 0.0
