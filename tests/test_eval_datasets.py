"""Dataset loaders on tiny files written in each exact byte format, and on ../shared/data when present."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from stereodiff.errors import InputError
from stereodiff.eval.datasets import DATASETS, get_preset, list_sequences, load_dataset
from stereodiff.eval.datasets.base import Preset, associate_timestamps
from stereodiff.eval.datasets.sintel import read_cam, read_dpt


def _png16(path: Path, values: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), values.astype(np.uint16))


def _rgb(path: Path, value: int, h: int, w: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.zeros((h, w, 3), np.uint8)
    image[..., 0] = value  # red channel in RGB; written as BGR
    assert cv2.imwrite(str(path), image[..., ::-1])


def test_sintel_dpt_and_cam_bytes(tmp_path):
    depth = np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5 + 1.0
    root = tmp_path / "training"
    for i in range(3):
        path = root / "depth" / "alley_1" / f"frame_{i + 1:04d}.dpt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(struct.pack("<f", 202021.25) + struct.pack("<ii", 4, 3) + (depth + i).astype("<f4").tobytes())
        K = np.array([[100.0, 0, 2], [0, 100.0, 1.5], [0, 0, 1]])
        world_to_cam = np.hstack([np.eye(3), [[i], [0], [0]]])
        cam = root / "camdata_left" / "alley_1" / f"frame_{i + 1:04d}.cam"
        cam.parent.mkdir(parents=True, exist_ok=True)
        cam.write_bytes(struct.pack("<f", 202021.25) + K.astype("<f8").tobytes() + world_to_cam.astype("<f8").tobytes())
        _rgb(root / "clean" / "alley_1" / f"frame_{i + 1:04d}.png", 10 * i, 3, 4)
        _rgb(root / "final" / "alley_1" / f"frame_{i + 1:04d}.png", 10 * i + 5, 3, 4)
    np.testing.assert_array_equal(read_dpt(root / "depth" / "alley_1" / "frame_0001.dpt"), depth)
    k, e = read_cam(root / "camdata_left" / "alley_1" / "frame_0002.cam")
    assert k[0, 0] == 100.0 and e[0, 3] == 1.0
    assert list_sequences("sintel", tmp_path) == ["alley_1"]
    seq = next(load_dataset("sintel", tmp_path))
    assert seq.depth.shape == (3, 3, 4) and seq.max_depth == 70.0
    np.testing.assert_array_equal(seq.depth[2], depth + 2)
    assert seq.frames[1][0, 0, 0] == 10  # clean pass, RGB order
    assert next(load_dataset("sintel", tmp_path, "monst3r")).frames[1][0, 0, 0] == 15  # final pass
    np.testing.assert_allclose(seq.cam_to_world[2][:3, 3], [-2, 0, 0])  # inverse of world->camera
    bad = tmp_path / "bad.dpt"
    bad.write_bytes(struct.pack("<f", 1.0) + b"\0" * 8)
    with pytest.raises(InputError, match="not a Sintel"):
        read_dpt(bad)


def test_bonn_frames_30_140_and_variants(tmp_path):
    for seq in ("balloon2", "person_tracking", "person_tracking2"):
        folder = tmp_path / f"rgbd_bonn_{seq}"
        stamps = 1548266531.0 + np.arange(150) * 0.04
        for i, ts in enumerate(stamps):
            _png16(folder / "depth" / f"{ts + 0.005:.5f}.png", np.full((5, 7), 5000 + i))  # 1 m + i/5000
            _rgb(folder / "rgb" / f"{ts:.5f}.png", i % 256, 5, 7)
        (folder / "groundtruth.txt").write_text(
            "# timestamp tx ty tz qx qy qz qw\n" + "".join(f"{ts:.4f} {i} 0 0 0 0 0 1\n" for i, ts in enumerate(stamps))
        )
    assert list_sequences("bonn", tmp_path) == ["balloon2", "person_tracking"]
    assert list_sequences("bonn", tmp_path, "monst3r") == ["balloon2", "person_tracking2"]
    seq = next(load_dataset("bonn", tmp_path, sequences=["person_tracking"]))
    assert seq.depth.shape == (110, 4, 6)  # [30:140], even crop of 5×7
    assert seq.depth[0, 0, 0] == pytest.approx((5000 + 30) / 5000)
    assert seq.frames[0][0, 0, 0] == 30 and seq.frames.shape == (110, 4, 6, 3)
    assert seq.cam_to_world[0][0, 3] == 30.0
    assert seq.info["person_tracking"] == "person_tracking" and seq.max_depth == 10.0
    assert next(load_dataset("bonn", tmp_path, "monst3r")).max_depth == 70.0


def test_kitti_png_256_first_110_even_crop(tmp_path):
    drive = "2011_09_26_drive_0002_sync"
    gt_dir = tmp_path / "val" / drive / "proj_depth" / "groundtruth" / "image_02"
    raw = tmp_path / "raw" / drive[:10] / drive / "image_02" / "data"
    for i in range(115):
        values = np.full((5, 9), 256 * 10 + i)
        values[0, 0] = 0
        _png16(gt_dir / f"{i + 5:010d}.png", values)
        _rgb(raw / f"{i + 5:010d}.png", i, 5, 9)
    (tmp_path / "raw" / drive[:10] / "calib_cam_to_cam.txt").write_text(
        "P_rect_02: 721.5 0 609.5 44.8 0 721.5 172.8 0.2 0 0 1 0.003\n"
    )
    seq = next(load_dataset("kitti", tmp_path))
    assert seq.depth.shape == (110, 4, 8)
    assert seq.depth[3, 1, 1] == pytest.approx(10 + 3 / 256) and seq.depth[0, 0, 0] == 0 and not seq.valid[0, 0, 0]
    assert seq.K[0, 0, 0] == 721.5 and seq.max_depth == 80.0
    assert seq.frame_names[0] == "0000000005"
    full = next(load_dataset("kitti", tmp_path, "monst3r"))
    assert full.depth.shape == (110, 5, 9) and full.max_depth is None
    assert next(load_dataset("kitti", tmp_path, "stereodiff-full")).num_frames == 115


def test_scannet_stride_3_crop_and_color_resize(tmp_path):
    scene = tmp_path / "scene0707_00"
    values = np.arange(30 * 40).reshape(30, 40) + 1  # a small stand-in for the 480×640 depth
    for i in range(272):
        _png16(scene / "depth" / f"{i}.png", values + i)
        (scene / "color").mkdir(parents=True, exist_ok=True)
        if i % 3 == 0 and i < 9:  # colour at another resolution (like the 1296×968 export)
            assert cv2.imwrite(str(scene / "color" / f"{i}.jpg"), np.full((60, 80, 3), 128, np.uint8))
        (scene / "pose").mkdir(exist_ok=True)
        np.savetxt(scene / "pose" / f"{i}.txt", np.eye(4) + np.eye(4, k=3) * i)
    (scene / "intrinsic").mkdir()
    np.savetxt(scene / "intrinsic" / "intrinsic_depth.txt", np.diag([577.0, 577.0, 1.0, 1.0]) + np.eye(4, k=2) * 0)
    seq = next(load_dataset("scannet", tmp_path, sequences=["scene0707_00"]))
    assert seq.num_frames == 90 and seq.frame_names[:3] == ["0", "3", "6"]
    assert seq.depth.shape == (90, 14, 18)
    assert seq.depth[1, 0, 0] == pytest.approx((8 * 40 + 11 + 1 + 3) / 1000)
    assert seq.frames[2].shape == (14, 18, 3)
    assert seq.cam_to_world[1][0, 3] == 3.0
    assert seq.K[0, 0, 2] == -11 and seq.K[0, 1, 2] == -8  # principal point shifted by the crop


def test_tum_association_and_poses(tmp_path):
    folder = tmp_path / "rgbd_dataset_freiburg3_walking_xyz"
    rgb_t = 100.0 + np.arange(6) / 30
    depth_t = rgb_t + np.array([0.004, -0.003, 0.05, 0.001, 0.0, 0.01])  # frame 2 has no partner within 0.02 s
    (folder / "rgb").mkdir(parents=True)
    lines_rgb, lines_depth = ["# rgb"], ["# depth"]
    for i, (a, b) in enumerate(zip(rgb_t, depth_t)):
        _rgb(folder / "rgb" / f"{a:.6f}.png", i, 4, 6)
        _png16(folder / "depth" / f"{b:.6f}.png", np.full((4, 6), 5000 * (i + 1)))
        lines_rgb.append(f"{a:.6f} rgb/{a:.6f}.png")
        lines_depth.append(f"{b:.6f} depth/{b:.6f}.png")
    (folder / "rgb.txt").write_text("\n".join(lines_rgb) + "\n")
    (folder / "depth.txt").write_text("\n".join(lines_depth) + "\n")
    (folder / "groundtruth.txt").write_text("".join(f"{t:.4f} {k} 0 0 0 0 0 1\n" for k, t in enumerate(rgb_t - 0.002)))
    seq = next(load_dataset("tum", tmp_path))
    assert seq.num_frames == 5
    np.testing.assert_allclose(seq.depth[:, 0, 0], [1, 2, 4, 5, 6])
    assert seq.cam_to_world[2][0, 3] == 3.0
    assert seq.K[0, 0, 0] == 535.4  # freiburg3
    assert associate_timestamps([1.0, 2.0], [1.01, 1.015, 2.5]) == [(0, 0)]


def test_synthetic_folder_roundtrip(tmp_path):
    from stereodiff.synth import make_scene, write_synthetic_dataset

    video = make_scene(
        sorted(__import__("stereodiff.synth", fromlist=["PRESETS"]).PRESETS)[0],
        seed=1,
        num_frames=4,
        height=24,
        width=32,
    )
    write_synthetic_dataset(video, tmp_path / "scene_a")
    seq = next(load_dataset("synthetic", tmp_path))
    np.testing.assert_array_equal(seq.depth, video.depth)
    np.testing.assert_array_equal(seq.dynamic_mask, video.dynamic_mask)
    np.testing.assert_allclose(seq.cam_to_world, video.cam_to_world, atol=1e-9)
    np.testing.assert_array_equal(np.asarray(seq.frames), video.frames)
    meta = json.loads((tmp_path / "scene_a" / "meta.json").read_text())
    assert meta["num_frames"] == 4


def test_presets_and_errors(tmp_path):
    for name, module in DATASETS.items():
        assert module.DEFAULT_PRESET in module.PRESETS, name
        assert all(isinstance(p, Preset) for p in module.PRESETS.values())
    assert get_preset("scannet").crop == (8, -8, 11, -11)
    assert get_preset("sintel").options["pass"] == "clean"
    with pytest.raises(InputError, match="unknown dataset"):
        get_preset("nyu2")
    with pytest.raises(InputError, match="no preset"):
        get_preset("bonn", "fast")
    with pytest.raises(InputError, match="not found"):
        list_sequences("bonn", tmp_path / "missing")


def test_shared_7scenes(shared_data):
    seq = next(load_dataset("7scenes", shared_data / "rgbd-7scenes-50"))
    assert seq.num_frames == 50 and seq.depth.shape == (50, 480, 640)
    raw = cv2.imread(str(shared_data / "rgbd-7scenes-50" / "frame-000150.depth.png"), cv2.IMREAD_UNCHANGED)
    expected = np.where((raw == 0) | (raw == 65535), 0, raw / 1000.0)
    np.testing.assert_allclose(seq.depth[0], expected, rtol=1e-6)
    assert seq.depth.max() < 10 and 0.5 < seq.valid.mean() < 1
    assert seq.K[0, 0, 0] == 585.0
    np.testing.assert_allclose(
        seq.cam_to_world[0], np.loadtxt(shared_data / "rgbd-7scenes-50" / "frame-000150.pose.txt")
    )
    np.testing.assert_allclose(seq.cam_to_world[:, 3], [[0, 0, 0, 1]] * 50)
    assert seq.frames[0].shape == (480, 640, 3)
    # the protocol on real GT: an affine disparity of the GT aligns back exactly, noise costs accuracy
    from stereodiff.eval.protocol import evaluate_sequence

    disparity = np.where(seq.valid, 1.0 / np.maximum(seq.depth, 1e-3), 0.0)[:10]
    exact = evaluate_sequence(3.0 * disparity + 0.2, seq.depth[:10], max_depth=seq.max_depth)
    assert exact.abs_rel < 1e-6 and exact.delta1 == 1.0
    noisy = evaluate_sequence(
        disparity * np.random.default_rng(0).uniform(0.8, 1.2, disparity.shape), seq.depth[:10], max_depth=seq.max_depth
    )
    assert 0.02 < noisy.abs_rel < 0.2


def test_shared_kitti_samples(shared_data, tmp_path):
    src = shared_data / "kitti-nyu-samples" / "kitti"
    drive = "2011_09_26_drive_0002_sync"
    gt_dir = tmp_path / "val" / drive / "proj_depth" / "groundtruth" / "image_02"
    raw = tmp_path / "raw" / drive[:10] / drive / "image_02" / "data"
    gt_dir.mkdir(parents=True)
    raw.mkdir(parents=True)
    for p in sorted((src / "depth").glob("*.png")):
        (gt_dir / p.name).symlink_to(p)
        (raw / p.name).symlink_to(src / "rgb" / p.name)
    seq = next(load_dataset("kitti", tmp_path))
    assert seq.depth.shape == (3, 374, 1242)
    raw0 = cv2.imread(str(src / "depth" / "0000000005.png"), cv2.IMREAD_UNCHANGED)
    np.testing.assert_allclose(seq.depth[0], raw0[:374] / 256.0, rtol=1e-6)
    assert 0 < seq.valid.mean() < 0.5 and seq.depth.max() < 90
