"""Channel-by-channel sums, means and lengths over a last axis of 3: numpy's reductions bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from stereodiff import channels
from stereodiff.channels import channel_mean, channel_norm, channel_sum

REFERENCES = [
    (channel_sum, lambda x: np.sum(x, axis=-1)),
    (channel_mean, lambda x: x.mean(axis=-1)),
    (channel_norm, lambda x: np.linalg.norm(x, axis=-1)),
]


def _bits(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x).tobytes()


def _cases(dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    values = (rng.standard_normal((30, 41, 4)) * 10.0 ** rng.integers(-30, 30, (30, 41, 4))).astype(dtype)
    values[rng.random((30, 41, 4)) < 0.1] = -0.0
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0], dtype)
    corners = np.stack(np.meshgrid(special, special, special, indexing="ij"), axis=-1).reshape(7, 49, 3)
    planes_first = np.moveaxis(np.ascontiguousarray(np.moveaxis(values[..., :3], -1, 0)), 0, -1)
    layouts = [values[..., :3], np.ascontiguousarray(values[..., 1:]), values[5, :, :3], planes_first]
    return [*layouts, corners, np.asfortranarray(corners)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fast, reference", REFERENCES)
def test_channel_reductions_are_numpys_bit_for_bit(dtype, fast, reference):
    assert channels._planes_match()
    for case in _cases(dtype):
        with np.errstate(over="ignore", invalid="ignore"):
            expected, found = reference(case), fast(case)
        assert found.dtype == expected.dtype and found.shape == expected.shape
        assert _bits(found) == _bits(expected)


def test_three_negative_zeros_sum_to_a_positive_zero_as_in_numpy():
    zeros = np.full((2, 5, 3), -0.0, np.float32)
    assert not np.signbit(channel_sum(zeros)).any()
    assert not np.signbit(channel_mean(zeros)).any()


@pytest.mark.parametrize("fast, reference", REFERENCES)
def test_other_dtypes_and_lengths_and_a_failed_check_are_numpys(fast, reference, monkeypatch):
    rng = np.random.default_rng(4)
    for case in (rng.integers(0, 255, (6, 7, 3), dtype=np.uint8), rng.standard_normal((6, 4)), np.ones(3)):
        assert _bits(fast(case)) == _bits(reference(case))
    monkeypatch.setattr(channels, "_planes_match", lambda: False)
    case = rng.standard_normal((6, 7, 3)).astype(np.float32)
    assert _bits(fast(case)) == _bits(reference(case))
