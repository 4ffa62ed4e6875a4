"""TAE on a plane with known answers; ATE/RPE recover a known Sim(3)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stereodiff.errors import InputError
from stereodiff.eval.temporal import align_trajectory, temporal_alignment_error, trajectory_errors


def _poses(rng, t=12):
    poses = np.tile(np.eye(4), (t, 1, 1))
    poses[:, :3, :3] = Rotation.from_rotvec(rng.normal(0, 0.3, (t, 3))).as_matrix()
    poses[:, :3, 3] = np.cumsum(rng.normal(0, 0.5, (t, 3)), axis=0)
    return poses


def test_tae_of_a_plane_with_known_flicker():
    K = np.array([[50.0, 0, 16], [0, 50.0, 12], [0, 0, 1]])
    poses = np.tile(np.eye(4), (3, 1, 1))
    poses[:, 0, 3] = [0.0, 0.1, 0.2]  # sideways motion: a fronto-parallel plane keeps its depth
    depth = np.full((3, 24, 32), 2.0)
    assert temporal_alignment_error(depth, K, poses) == pytest.approx(0.0, abs=1e-12)
    depth[1] *= 1.1  # frame 1 flickers by 10 %
    # pairs (0,1) and (1,2), both directions: |2.2-2|/2.2 and |2-2.2|/2 each, twice
    expected = 100 * (0.2 / 2.2 + 0.2 / 2.0) * 2 / 4
    assert temporal_alignment_error(depth, K, poses) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(InputError, match="cam_to_world"):
        temporal_alignment_error(depth, K, poses[:2])


def test_ate_rpe_recover_a_known_similarity(rng):
    gt = _poses(rng)
    scale, rot, trans = 0.37, Rotation.from_rotvec([0.2, -1.0, 0.4]).as_matrix(), np.array([1.0, -2.0, 0.5])
    # estimate = GT seen through the inverse similarity (another gauge): x_est = R^T (x_gt - τ) / s
    est = gt.copy()
    est[:, :3, :3] = rot.T @ gt[:, :3, :3]
    est[:, :3, 3] = (gt[:, :3, 3] - trans) @ rot / scale
    errs = trajectory_errors(est, gt)
    assert errs.ate == pytest.approx(0.0, abs=1e-9)
    assert errs.rpe_trans == pytest.approx(0.0, abs=1e-9)
    assert errs.rpe_rot == pytest.approx(0.0, abs=1e-5)
    assert errs.similarity.scale[0] == pytest.approx(scale)
    np.testing.assert_allclose(errs.similarity.rotation[0], rot, atol=1e-9)
    np.testing.assert_allclose(errs.similarity.translation[0], trans, atol=1e-9)
    aligned, _ = align_trajectory(est, gt)
    np.testing.assert_allclose(aligned, gt, atol=1e-9)


def test_ate_rpe_of_a_known_displacement_in_closed_form():
    # cameras at the 8 corners of a cube (centred, covariance I), no rotation; two antipodal pairs displaced by +d
    # and -d: the displacements sum to 0 and do not correlate with the positions, so the Sim(3) fit keeps R = I and
    # the mean, and only shrinks the scale: s = tr C / (tr C + v), v = mean |δ|², ATE² = v tr C / (tr C + v)
    corners = np.array(list(itertools.product([-1.0, 1.0], repeat=3)))  # [8,3]
    gt = np.tile(np.eye(4), (8, 1, 1))
    gt[:, :3, 3] = corners
    d = np.array([0.0, 0.3, 0.0])
    delta = np.zeros((8, 3))
    delta[[0, 7]], delta[[2, 5]] = d, -d  # (-1,-1,-1) & (1,1,1); (-1,1,-1) & (1,-1,1)
    est = gt.copy()
    est[:, :3, 3] += delta
    errs = trajectory_errors(est, gt)
    trace_c, v = 3.0, 4 * 0.3**2 / 8
    scale = trace_c / (trace_c + v)
    assert errs.similarity.scale[0] == pytest.approx(scale, rel=1e-12)
    np.testing.assert_allclose(errs.similarity.rotation[0], np.eye(3), atol=1e-12)
    assert errs.ate == pytest.approx(np.sqrt(v * trace_c / (trace_c + v)), rel=1e-12)  # 0.21056 m
    residual = scale * delta - (1 - scale) * corners  # aligned - GT centres
    assert errs.rpe_trans == pytest.approx(np.sqrt(np.mean(np.sum(np.diff(residual, axis=0) ** 2, 1))), rel=1e-12)
    assert errs.rpe_rot == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(InputError, match="T ≥ 3"):
        trajectory_errors(est[:2], gt[:2])


def test_tae_on_real_7scenes_depth(shared_data):
    from stereodiff.eval.datasets import load_dataset

    seq = next(load_dataset("7scenes", shared_data / "rgbd-7scenes-50"))
    depth, K, poses = seq.depth[:8], seq.K[0], seq.cam_to_world[:8]
    good = temporal_alignment_error(depth, K, poses)
    wrong = temporal_alignment_error(depth, K, np.linalg.inv(poses))  # world_to_cam mistaken for cam_to_world
    frozen = temporal_alignment_error(depth, K, np.tile(np.eye(4), (8, 1, 1)))
    assert good < 1.5 and good < 0.5 * min(wrong, frozen)  # GT depth with GT poses is consistent
