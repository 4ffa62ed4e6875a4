"""``stereodiff.masks.shifted``: a mask moved by whole pixels, what leaves the image dropped."""

import numpy as np

from stereodiff.masks import shifted


def test_shifted_moves_by_columns_and_rows_and_drops_what_leaves():
    mask = np.zeros((4, 5), bool)
    mask[1, 1] = mask[3, 4] = True
    moved = shifted(mask, 1, -1)  # one column right, one row up
    assert np.argwhere(moved).tolist() == [[0, 2]]  # (3, 4) left through the right side
    np.testing.assert_array_equal(shifted(mask, 0, 0), mask)
    assert np.argwhere(shifted(shifted(mask, -1, 1), 1, -1)).tolist() == [[1, 1]]  # back again, less what left


def test_a_mask_shifted_past_the_image_border_is_empty():
    """What leaves the image is dropped, also when the shift is longer than the image (``near_holes_bridge`` moves a
    track's last region by its shift times the gap: a crash in the pipeline test before the fix)."""
    mask = np.zeros((6, 8), bool)
    mask[1:3, 2:5] = True
    np.testing.assert_array_equal(shifted(mask, 1, 2)[3:5, 3:6], np.ones((2, 3), bool))
    assert shifted(mask, 1, 2).sum() == mask.sum()
    for dx, dy in ((0, 6), (0, -9), (8, 0), (-20, 3)):
        assert not shifted(mask, dx, dy).any()
