"""Per-object mover diagnosis (stereodiff.eval.objects) on constructed cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.eval.objects import constant_velocity_parallax_px, object_breakdown


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4 frames 20×30: a static ramp (id 1), a mover (id 7) in frames 0-2, another (id 9) in frame 3 only."""
    t, h, w = 4, 20, 30
    gt = np.broadcast_to(np.linspace(2.0, 6.0, w, dtype=np.float32), (t, h, w)).copy()  # [T,H,W] m
    ids = np.ones((t, h, w), np.int32)
    ids[:3, 5:10, 4:12] = 7  # 40 px per frame
    gt[:3, 5:10, 4:12] = 1.0
    ids[3, 12:16, 20:25] = 9  # 20 px
    gt[3, 12:16, 20:25] = 1.5
    return gt, ids, ids != 1


def test_breakdown_counts_coverage_recall_and_depth_ratio():
    gt, ids, dynamic = _scene()
    pred = gt.copy()
    pred[ids == 7] *= 3.0  # mover 7 three times too far (a hole filled from the background)
    covered = ids != 7  # ... and not triangulated: the fit on the covered pixels is exact
    moving = np.zeros_like(dynamic)
    moving[:3, 5:10, 4:8] = True  # half of mover 7 found
    rows = object_breakdown(pred, gt, ids, dynamic, max_depth=10.0, covered=covered, moving=moving)
    assert [r.object_id for r in rows] == [7, 9]
    seven, nine = rows
    assert (seven.frames, nine.frames) == (3, 1)
    assert seven.share == pytest.approx(120 / 140) and nine.share == pytest.approx(20 / 140)
    assert seven.coverage == 0.0 and np.isnan(seven.ratio) and np.isnan(seven.abs_rel)
    assert seven.recall == pytest.approx(0.5) and nine.recall == 0.0
    assert nine.coverage == 1.0 and nine.ratio == pytest.approx(1.0, abs=1e-5)
    assert nine.abs_rel == pytest.approx(0.0, abs=1e-5) and nine.depth_m == pytest.approx(1.5)
    # over all pixels the mover's error shows (the one fit is pulled a little by it)
    (seven_all, _) = object_breakdown(pred, gt, ids, dynamic, max_depth=10.0)
    assert seven_all.coverage == 1.0 and np.isnan(seven_all.recall)
    assert 2.0 < seven_all.ratio < 3.5 and seven_all.abs_rel > 1.0


def test_breakdown_tells_a_mover_missed_in_whole_frames_from_one_found_in_part():
    """driving seeds 4-7 (docs/geometric.md): the car ahead is re-depthed in a quarter of its frames (seeds 4, 7) or
    in every frame but only in part (seed 5); the share of its pixels alone does not tell them apart."""
    gt, ids, dynamic = _scene()
    whole = np.zeros_like(dynamic)
    whole[0, 5:10, 4:12] = True  # mover 7: all of it in frame 0, nothing in frames 1-2
    part = np.zeros_like(dynamic)
    part[:3, 5:10, 4:7] = True  # mover 7: 3 of its 8 columns in each frame
    part[3, 12:13, 20:25] = True  # mover 9: 5 of its 20 pixels (25 %)
    seven_whole, nine_none = object_breakdown(gt, gt, ids, dynamic, max_depth=10.0, redepthed=whole)
    seven_part, nine_part = object_breakdown(gt, gt, ids, dynamic, max_depth=10.0, redepthed=part)
    assert seven_whole.redepthed == pytest.approx(1 / 3) and seven_whole.redepthed_frames == pytest.approx(1 / 3)
    assert seven_part.redepthed == pytest.approx(3 / 8) and seven_part.redepthed_frames == 1.0
    assert (nine_none.redepthed, nine_none.redepthed_frames) == (0.0, 0.0)
    assert (nine_part.redepthed, nine_part.redepthed_frames) == (0.25, 1.0)
    seven = object_breakdown(gt, gt, ids, dynamic, max_depth=10.0)[0]
    assert np.isnan(seven.redepthed) and np.isnan(seven.redepthed_frames)


def test_breakdown_checks_shapes():
    gt, ids, dynamic = _scene()
    with pytest.raises(InputError, match="covered"):
        object_breakdown(gt, gt, ids, dynamic, max_depth=10.0, covered=np.ones((4, 20, 29), bool))
    with pytest.raises(InputError, match="redepthed"):
        object_breakdown(gt, gt, ids, dynamic, max_depth=10.0, redepthed=np.ones((4, 20, 29), bool))


def test_parallax_is_zero_for_a_constant_velocity_camera():
    centres = np.outer(np.arange(10.0), [0.02, -0.001, 0.003]) + np.array([1.0, 2.0, 3.0])  # [10,3] m, one speed
    assert constant_velocity_parallax_px(centres, 0.8, 300.0) == pytest.approx(0.0, abs=1e-9)


def test_parallax_of_a_known_deviation():
    # three centres with a 3 mm sideways bump in the middle: the best constant-velocity fit leaves 2/3 of it
    centres = np.array([[0.0, 0.0, 0.0], [0.02, 0.003, 0.5], [0.04, 0.0, 0.0]])  # the z bump is along the axis
    assert constant_velocity_parallax_px(centres, 1.0, 300.0) == pytest.approx(300 * 0.002)
    assert constant_velocity_parallax_px(centres, 2.0, 300.0) == pytest.approx(300 * 0.001)
    with pytest.raises(InputError):
        constant_velocity_parallax_px(centres[:2], 1.0, 300.0)
    with pytest.raises(InputError):
        constant_velocity_parallax_px(centres, 0.0, 300.0)
