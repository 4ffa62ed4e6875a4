import numpy as np
import pytest

from stereodiff.types import DepthVideo, PairPredictions, SceneGeometry, Video


def _pairs(p=3, h=4, w=5):
    pairs = np.array([[0, 1], [1, 2], [1, 0]][:p])
    pts = np.ones((p, h, w, 3), np.float32)
    conf = np.ones((p, h, w), np.float32)
    return dict(pairs=pairs, pts_i=pts, pts_j=pts.copy(), conf_i=conf, conf_j=conf.copy())


def test_video_defaults_and_validation():
    video = Video(np.zeros((2, 4, 6, 3), np.uint8), fps=25)
    assert video.num_frames == 2 and video.size == (4, 6)
    np.testing.assert_array_equal(video.frame_indices, [0, 1])
    with pytest.raises(ValueError, match="frames must have dtype uint8"):
        Video(np.zeros((2, 4, 6, 3), np.float32))
    with pytest.raises(ValueError, match="frames has shape"):
        Video(np.zeros((2, 4, 6, 4), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        Video(np.zeros((1, 4, 6, 3), np.uint8), fps=0)


def test_pair_predictions_validation():
    preds = PairPredictions(**_pairs())
    assert preds.num_pairs == 3 and preds.num_frames == 3 and preds.size == (4, 5)
    bad = _pairs()
    bad["conf_j"] = np.ones((3, 4, 6), np.float32)
    with pytest.raises(ValueError, match="conf_j"):
        PairPredictions(**bad)
    with pytest.raises(ValueError, match="num_frames"):
        PairPredictions(**_pairs(), num_frames=2)
    self_pair = _pairs()
    self_pair["pairs"] = np.array([[0, 0], [1, 2], [2, 1]])
    with pytest.raises(ValueError, match="itself"):
        PairPredictions(**self_pair)


def test_scene_geometry_world_points_roundtrip():
    t, h, w = 2, 3, 4
    depth = np.full((t, h, w), 2.0, np.float32)
    pose = np.tile(np.eye(4), (t, 1, 1))
    pose[1, :3, 3] = [1.0, 0.0, 0.0]
    geom = SceneGeometry(
        depth=depth,
        confidence=np.ones_like(depth),
        focal=np.array([10.0, 10.0]),
        principal_point=np.array([[2.0, 1.5]] * 2),
        cam_to_world=pose,
    )
    assert geom.valid.all()
    pts = geom.world_points(1)
    # pixel (u=2, v=1.5) is the principal point: straight ahead at z=2, shifted by the pose's translation
    np.testing.assert_allclose(pts[0, 0], [1.0 + (0 - 2.0) / 10 * 2, (0 - 1.5) / 10 * 2, 2.0], rtol=1e-6)
    k = geom.intrinsics()
    assert k.shape == (2, 3, 3) and k[0, 0, 0] == 10.0 and k[0, 1, 2] == 1.5
    with pytest.raises(ValueError, match="focal"):
        SceneGeometry(
            depth=depth,
            confidence=depth,
            focal=np.ones(3),
            principal_point=np.zeros((2, 2)),
            cam_to_world=pose,
        )


def test_depth_video_needs_one_map():
    with pytest.raises(ValueError, match="depth or disparity"):
        DepthVideo()
    with pytest.raises(ValueError, match="disparity"):
        DepthVideo(depth=np.ones((2, 3, 4), np.float32), disparity=np.ones((2, 3, 5), np.float32))
    video = DepthVideo(disparity=np.ones((2, 3, 4), np.float32))
    assert video.num_frames == 2 and video.size == (3, 4)
