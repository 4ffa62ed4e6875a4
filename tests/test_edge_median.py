"""The colour-guided weighted median next to stage 1's holes (``fusion_edge_median``)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from stereodiff.stage1.edge_median import EdgeMedian, edge_median
from stereodiff.types import SceneGeometry

EDGE = 40  # the colour edge: columns < EDGE are the (near, red) foreground, the others the (far, blue) background
FAT = 2  # the foreground's depth reaches this many pixels beyond its colour edge (the matcher's fattening)
HOLE = 1  # then this many untriangulated columns (the occluded band)


def _fattened_step(frames: int = 2, h: int = 48, w: int = 80) -> tuple[np.ndarray, SceneGeometry]:
    """``[T,h,w,3]`` uint8 frames of a red / blue colour edge at column ``EDGE`` and a stage-1 scene whose near
    depth (1) runs ``FAT`` pixels into the blue side, then a hole of ``HOLE`` columns, then the far depth (3)."""
    rng = np.random.default_rng(0)
    rgb = np.zeros((frames, h, w, 3), np.uint8)
    rgb[:, :, :EDGE] = (200, 40, 40)
    rgb[:, :, EDGE:] = (40, 40, 200)
    rgb = np.clip(rgb + rng.integers(-8, 9, rgb.shape), 0, 255).astype(np.uint8)  # a little texture
    depth = np.full((frames, h, w), 3.0, np.float32)
    depth[:, :, : EDGE + FAT] = 1.0
    depth[:, :, EDGE + FAT : EDGE + FAT + HOLE] = 0.0
    scene = SceneGeometry(
        depth=depth,
        confidence=(depth > 0).astype(np.float32),
        focal=np.full(frames, 100.0),
        principal_point=np.tile([w / 2, h / 2], (frames, 1)).astype(np.float64),
        cam_to_world=np.tile(np.eye(4), (frames, 1, 1)),
    )
    return rgb, scene


@pytest.mark.parametrize(("half", "stride", "spread"), [(5, 1, 0.0), (5, 2, 0.0), (8, 4, 0.1)])
def test_fattened_foreground_band_goes_back_to_the_colour_edge(half, stride, spread):
    frames, scene = _fattened_step()
    settings = EdgeMedian(6.0, half=half, colour_sigma=0.1, stride=stride, spread=spread)
    out = edge_median(frames, scene, settings, num_workers=2)
    band = out.depth[:, :, EDGE : EDGE + FAT]
    np.testing.assert_allclose(band, 3.0, rtol=1e-5)  # the blue pixels take the far depth
    np.testing.assert_allclose(out.depth[:, :, EDGE - 6 : EDGE], 1.0, rtol=1e-5)  # the red ones keep the near one
    assert not out.valid[:, :, EDGE + FAT : EDGE + FAT + HOLE].any()  # holes stay holes


def test_without_colour_guidance_the_band_stays_near():
    """A colour scale far above the colour difference weighs both sides alike: the fattened band's windows are mostly
    foreground, so it stays near (the colour is what moves it)."""
    frames, scene = _fattened_step()
    out = edge_median(frames, scene, EdgeMedian(6.0, colour_sigma=1e6), num_workers=1)
    np.testing.assert_allclose(out.depth[:, :, EDGE : EDGE + FAT], 1.0, rtol=1e-5)


def test_remove_makes_holes_and_movers_pixels_are_kept():
    frames, scene = _fattened_step()
    given = np.zeros(scene.depth.shape, bool)
    given[:, :10] = True  # the movers step gave the top rows' depth
    scene.movers_given = given
    out = edge_median(frames, scene, EdgeMedian(6.0, remove=0.5), num_workers=1)
    assert not out.valid[:, 10:, EDGE : EDGE + FAT].any()  # 1 against a median of 3: log 3 > 0.5, made holes
    assert (out.depth[:, 10:, EDGE : EDGE + FAT] == 0).all()
    np.testing.assert_allclose(out.depth[:, :10, EDGE : EDGE + FAT], 1.0)  # given: untouched
    assert out.valid[:, :, :EDGE].all()


def test_spread_skips_windows_of_one_depth():
    _, scene = _fattened_step()
    log_depth = np.log(np.maximum(scene.depth[0], 1e-12))
    near = EdgeMedian(9.0, half=3, spread=0.0).targets(log_depth, scene.valid[0])
    steps = EdgeMedian(9.0, half=3, spread=0.5).targets(log_depth, scene.valid[0])
    assert near[:, EDGE - 9 : EDGE + FAT + HOLE + 9].sum() == near.sum() > steps.sum()
    assert steps[:, EDGE : EDGE + FAT].all()  # the fattened band's windows hold both depths
    assert not steps[:, : EDGE - 3].any() and not steps[:, EDGE + FAT + HOLE + 3 :].any()  # one depth: skipped


def test_geometric_matcher_applies_its_settings():
    """``GeometricMatcher._edge_median`` builds :class:`EdgeMedian` from the ``fusion_edge_median*`` fields (a window
    too narrow to reach the background leaves the band near; the default 17×17 moves it)."""
    from stereodiff.stage1.geometric import GeometricMatcher

    frames, scene = _fattened_step()
    narrow = GeometricMatcher(
        resolution=80, fusion_edge_median=3.0, fusion_edge_median_half=1, fusion_edge_median_stride=1
    )
    narrow.timings = {}  # as ``reconstruct`` sets them
    kept = narrow._edge_median(frames, copy.deepcopy(scene), None)
    np.testing.assert_allclose(kept.depth[:, :, EDGE : EDGE + FAT], 1.0, rtol=1e-5)
    matcher = GeometricMatcher(resolution=80, fusion_edge_median=3.0)
    matcher.timings = {}
    moved = matcher._edge_median(frames, scene, None)
    np.testing.assert_allclose(moved.depth[:, :, EDGE : EDGE + FAT], 3.0, rtol=1e-5)
    assert "stage1_edge_median" in matcher.timings


@pytest.mark.parametrize("movers", [False, True])
def test_moving_pixels_are_kept_unless_movers(movers):
    """The movers step's moving pixels and those it gave depth keep it, unless ``fusion_edge_median_movers``."""
    from stereodiff.stage1.geometric import GeometricMatcher

    frames, scene = _fattened_step()
    moving = np.zeros(scene.depth.shape, bool)
    moving[:, :20, EDGE : EDGE + FAT] = True
    scene.movers_given = np.zeros(scene.depth.shape, bool)
    scene.movers_given[:, 20:, EDGE : EDGE + FAT] = True  # the rows the movers step gave depth
    matcher = GeometricMatcher(resolution=80, fusion_edge_median=3.0, fusion_edge_median_movers=movers)
    matcher.timings = {}
    out = matcher._edge_median(frames, scene, moving)
    np.testing.assert_allclose(out.depth[:, :, EDGE : EDGE + FAT], 3.0 if movers else 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("field", "value"),
    [("fusion_edge_median", -1.0), ("fusion_edge_median_half", 0), ("fusion_edge_median_stride", 0),
     ("fusion_edge_median_colour", 0.0), ("fusion_edge_median_spread", -0.1)],
)  # fmt: skip
def test_bad_settings_are_refused_by_name(field, value):
    from stereodiff.stage1.configs import GeometricConfig

    with pytest.raises(ValueError, match=field):
        GeometricConfig(**{field: value}).validate()


def test_the_kept_pixels_masks_stay_on_disk(tmp_path):
    """Memory flat in the video length: the memory-mapped masks of the pixels kept (the movers' mask and
    ``movers_given``), read frame by frame, leave no page resident (they stayed whole: 77 kB a frame each at
    320×240)."""
    import sys

    from conftest import resident_kib

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/smaps")
    frames, scene = _fattened_step(frames=4)
    masks = {}
    for name in ("keep", "given"):
        masks[name] = np.lib.format.open_memmap(tmp_path / f"{name}.npy", "w+", np.bool_, scene.depth.shape)
        masks[name][:, :10] = True
    scene.movers_given = masks["given"]
    edge_median(frames, scene, EdgeMedian(6.0, remove=0.5), keep=masks["keep"], num_workers=1)
    for name in masks:
        assert resident_kib(tmp_path / f"{name}.npy") == 0, name
