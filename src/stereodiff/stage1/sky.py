"""Sky: regions at infinity, found by classical cues and kept out of the stage-1 depth (``stage1.sky``, issue #20).

Sky has no parallax and (mostly) no texture: stage 1 leaves it a hole or triangulates noise, and stage 2 fills it
from the structure around it, pulling it near. This step finds it in every frame at stage 1's working resolution
and records the mask as ``SceneGeometry.sky``; the pipeline then gives those pixels one depth beyond the video's
far bound after stage 2 (:func:`paint_sky`), so stage 2's fill of the sky from the structure does not survive.
With ``holes`` (``stage1.sky_holes``) the sky also becomes a hole of the scene before stage 2 (no stage-1 noise of
it in stage 2's fill of the structure's holes); off by default, as it measured no gain (docs).

A pixel is sky when it lies in a connected region (4-neighbours) of *candidate* pixels — smooth (mean grey gradient
below ``max_gradient``), bright (``max(R, G, B) ≥ min_value``) and not warm (``B ≥ R − 0.02``) — that:

- touches the image's top border (sky is above everything), or, with ``through``, has the colour of a top region
  taken in the same frame (the sky seen through a lattice or branches);
- is blue on average (mean ``B − R ≥ min_blue``: colour is one cue of several, never alone; an indoor white
  ceiling is neutral or warm and stops here);
- is a stage-1 hole, or triangulated beyond the ``far_quantile`` of the frame's other covered depths, over at least
  ``min_hole`` of its interior (stage 1's triangulation measures the parallax left after the rotation: nothing to
  triangulate — no texture — or almost no parallax);
- is not triangulated near: at most ``max_near`` of its covered pixels ``near_margin`` or more inside it lie nearer
  than the median of the frame's other covered pixels (a surface with parallax, e.g. a lit wall);
- covers at least ``min_area`` of the frame (then also takes its rim within 4 px of its colour);

and when the video has such a region in at least ``min_frames`` of its frames (sky persists; a lone frame's region
is taken for noise). A second pass then takes, without stage 1's tests, the regions of the video's sky colour
(``video_colour``). Measured (docs/geometric.md, "Sky: regions at infinity (`stage1.sky`)"): on the driving
renders (s490–s499) precision 0.964–1.000 and recall 0.54–0.87 against GT depth 0; nothing flagged on static-orbit,
indoor-dynamic, close-object, TUM, 7-Scenes and lady-running; 62 % of davis_rollercoaster's pixels. Without the
colour test, TUM / 7-Scenes flag 0.99 / 0.84 % (their white walls), 1.53 / 2.52 % without stage 1's test too.

With ``grow`` and ``carry`` (:func:`grow_sky`, off by default; docs "Growing and carrying the sky"), the sky found
also grows into the adjacent pixels of its colour up to colour edges and is carried between frames through the
camera's rotation: driving s540–s549 recall 0.68–0.90 → 0.97–1.00 at unchanged precision (0.9994–1.0000), every
frame with GT sky found (before: none in the last 5–14 such frames of each clip, a strip a few rows high), the
mask's changes between frames that the GT's lack 0.07–0.15 → 0.003–0.02 % of the pixels; davis_rollercoaster
62 → 73 % of the pixels (the rim along the beams and the lattice's cells), its regions that come and go between
frames 3.2 → 0.1 % of the pixels a frame pair; nothing changes in a video without sky.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.channels import channel_mean, channel_norm
from stereodiff.io.pages import delete_arrays, new_array, release
from stereodiff.progress import logger, thread_map
from stereodiff.types import SceneGeometry

__all__ = ["SkySettings", "apply_sky", "detect_sky", "drop_near_regions", "grow_sky", "paint_sky", "sky_frame"]


@dataclass(frozen=True)
class SkySettings:
    """Thresholds of :func:`sky_frame` and :func:`detect_sky` (RGB in [0, 1]; shares of a frame's pixels)."""

    max_gradient: float = 0.015
    """Candidate pixels: mean grey gradient (Sobel of the σ=1 blurred grey, per pixel, 5×5 box mean) below this."""
    min_value: float = 0.6
    """Candidate pixels: ``max(R, G, B)`` at least this (sky is bright)."""
    min_blue: float = 0.08
    """A region's mean ``B − R`` at least this."""
    min_hole: float = 0.6
    """A region's interior (eroded 2 px) is a stage-1 hole, or triangulated beyond the ``far_quantile`` of the
    frame's covered pixels outside it, on at least this share of its pixels."""
    far_quantile: float = 0.75
    """See ``min_hole``."""
    max_near: float = 0.5
    """At most this share of a region's covered pixels deeper than ``near_margin`` inside it lie nearer than the
    median depth of the frame's covered pixels outside it."""
    near_margin: int = 6
    """See ``max_near`` (pixels: the matcher's patches fatten the structure into the sky by about that much)."""
    through: bool = True
    """Also regions not touching the top border, in a frame with top sky, of a top sky region's colour (within
    ``through_colour``) that pass the same tests: the sky seen through a structure (a lattice, branches)."""
    through_colour: float = 0.2
    """See ``through`` (RGB distance of the mean colours; the sky lightens towards the horizon)."""
    min_area: float = 0.002
    """A region covers at least this share of the frame."""
    rim_colour: float = 0.12
    """A region also takes its neighbours within 4 pixels whose RGB lies within this distance of its mean colour."""
    video_colour: float = 0.1
    """When > 0 and the video has sky: a second pass takes, without stage 1's test, the regions whose mean colour lies
    within this RGB distance of the first pass's mean sky colour (stage 1 triangulates noise in a featureless sky,
    often near). 0 = off."""
    min_frames: float = 0.2
    """The video has sky only when at least this share of its frames has a region."""
    grow: int = 0
    """When > 0 and the video has sky: each frame's sky also grows, up to this many pixels (4-neighbour steps), into
    the pixels of the sky's colour (:func:`grow_sky`: within ``grow_colour`` of the frame's sky colour, bright, not
    warm), stopping at colour edges (a step joins a pixel only within ``grow_step`` of the sky pixel beside it): the
    rim the gradient's window leaves out, and a strip too thin for it. 0 = off."""
    grow_colour: float = 0.25
    """See ``grow`` (RGB distance to the frame's mean sky colour, the video's in a frame without sky)."""
    grow_step: float = 0.06
    """See ``grow`` (RGB distance between two 4-neighbours: larger is a colour edge)."""
    grow_blue: float = 0.04
    """See ``grow``: a grown or carried pixel's own ``B − R`` is at least this (a neutral grey facade beside the
    sky lies within ``grow_colour`` of it, driving s546: precision 0.949 without this test)."""
    carry: bool = False
    """With ``grow``: each frame's sky is also seeded by its neighbours' (the previous frame's, then the next
    one's, forward and backward through the video) carried through the camera's rotation, the homography
    ``K R K⁻¹`` of stage 1's poses (sky is at infinity: exact for it), the carried pixels kept where they have the
    sky's colour (as ``grow``), then grown: frames where no region passes the tests (a strip a few rows high) and
    regions that come and go between frames."""
    near_recheck: float = 0.0
    """When > 0: the last step (:func:`drop_near_regions`): a connected region of a frame's final sky is dropped when
    more than this share of its covered pixels (``near_margin`` or more inside it; its 5×5-eroded interior, or all
    of it, when it is thinner) lies nearer than the median depth of the frame's covered pixels outside it: the
    second pass and the growth take regions without stage 1's test (a sky-coloured car beside the road). 0 = off."""
    near_gap: int = 0
    """With ``near_recheck``: a region it would drop is kept when a kept region of the frame's sky lies across a gap
    of at most this many pixels (or a chain of such regions leads to one): the sky seen between the thin structures
    of a lattice, whose stage-1 depth is the structure's own (the matcher's patches fatten it into the small cells).
    0 = off (every region triangulated near is dropped)."""


def brightest(rgb: np.ndarray) -> np.ndarray:
    """``[h,w]`` the largest of the three channels of ``rgb`` ``[h,w,3]``: ``rgb.max(axis=2)``'s values (a maximum
    does not round), taken channel against channel (~8× faster at 320×240 than the reduction over the 3-long axis)."""
    return np.maximum(np.maximum(rgb[..., 0], rgb[..., 1]), rgb[..., 2])


def _gradient(grey: np.ndarray) -> np.ndarray:
    """``[h,w]`` float32 mean grey gradient magnitude (grey in [0, 1]; per pixel) over a 5×5 window."""
    import cv2

    smooth = cv2.GaussianBlur(grey, (0, 0), 1.0)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return cv2.blur(np.hypot(gx, gy), (5, 5))


def _at_infinity(
    region: np.ndarray, box: tuple[slice, slice], depth: np.ndarray, valid: np.ndarray, s: SkySettings
) -> bool:
    """Whether stage 1 puts the ``region`` (``[h',w']`` bool of the frame's window ``box``) at infinity: a hole or
    triangulated far over ``min_hole`` of its interior, not triangulated near (``max_near``) deeper inside."""
    import cv2

    mask = region.astype(np.uint8)
    inner = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)
    inner = inner if inner.any() else region  # a strip a few pixels high: all of it
    deep = cv2.erode(mask, np.ones((2 * s.near_margin + 1,) * 2, np.uint8)).astype(bool)  # past the fattening
    covered = inner & valid[box]
    far = np.zeros_like(covered)
    if covered.any():
        outside = valid.copy()
        outside[box] &= ~cv2.dilate(mask, np.ones((5, 5), np.uint8)).astype(bool)
        if outside.any():
            median, high = np.quantile(depth[outside], [0.5, s.far_quantile])
            seen = deep & valid[box]
            if seen.any() and float(np.mean(depth[box][seen] < median)) > s.max_near:
                return False
            far = covered & (depth[box] >= high)
    return float(np.mean(~covered[inner] | far[inner])) >= s.min_hole


def sky_frame(
    rgb: np.ndarray, depth: np.ndarray, valid: np.ndarray, settings: SkySettings, known: np.ndarray | None = None
) -> np.ndarray:
    """``[h,w]`` bool sky of one frame: ``rgb`` ``[h,w,3]`` float32 in [0, 1], stage 1's ``depth`` ``[h,w]`` and
    ``valid`` ``[h,w]`` bool at the same size (the module docstring's rules, without the video's ``min_frames``).
    ``known``: the video's sky colour (RGB ``[3]``, :func:`detect_sky`'s first pass): a region within
    ``video_colour`` of it needs no stage-1 test."""
    import cv2

    s = settings
    h, w = valid.shape
    red, blue = rgb[..., 0], rgb[..., 2]
    candidate = (_gradient(channel_mean(rgb)) < s.max_gradient) & (brightest(rgb) >= s.min_value)
    candidate &= blue >= red - 0.02
    sky = np.zeros((h, w), bool)
    if not candidate[0].any():
        return sky
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidate.astype(np.uint8), connectivity=4)
    top = set(np.unique(labels[0][labels[0] > 0]).tolist())
    colours: list[np.ndarray] = []  # mean colours of the top regions taken
    order = sorted(top) + [label for label in range(1, count) if label not in top]  # the top regions first
    for label in order:
        if stats[label, cv2.CC_STAT_AREA] < s.min_area * h * w:
            continue
        if label not in top and (not s.through or not colours):
            break  # sky seen through the structure: only in a frame with top sky, when asked
        x, y, bw, bh = (int(v) for v in stats[label, :4])
        box = (slice(max(y - 5, 0), y + bh + 5), slice(max(x - 5, 0), x + bw + 5))
        region = labels[box] == label
        colour = rgb[box][region].mean(axis=0)
        if float(colour[2] - colour[0]) < s.min_blue:
            continue
        if label not in top and min(float(np.linalg.norm(colour - c)) for c in colours) >= s.through_colour:
            continue  # not the colour of the sky above
        seen = known is not None and float(np.linalg.norm(colour - known)) < s.video_colour
        if not seen and not _at_infinity(region, box, depth, valid, s):
            continue
        if label in top:
            colours.append(colour)
        # the rim the gradient's window left out: the region's neighbours within 4 px of its colour
        rim = cv2.dilate(region.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool) & ~region
        rim &= channel_norm(rgb[box] - colour) < s.rim_colour
        sky[box] |= region | rim
    return sky


def detect_sky(
    frames: Any,
    scene: SceneGeometry,
    settings: SkySettings | None = None,
    out_dir: Path | None = None,
    num_workers: int = 1,
) -> np.ndarray | None:
    """``[T,h,w]`` bool sky of the video (:func:`sky_frame` per frame on ``num_workers`` threads), or ``None`` when
    fewer than ``min_frames`` of the frames have sky (its array deleted). ``frames``: ``[T,H,W,3]`` uint8 RGB
    (area-resized to the scene's ``(h, w)``); the mask is the memmap ``out_dir/sky.npy`` when ``out_dir`` is given."""
    from stereodiff.stage1.band_select import unit_rgb

    s = settings or SkySettings()
    t, h, w = scene.depth.shape
    sky = new_array(out_dir, "sky", (t, h, w), np.bool_)

    def one(k: int, known: np.ndarray | None = None) -> np.ndarray:
        rgb = unit_rgb(frames[k], (h, w))
        mask = sky_frame(rgb, np.asarray(scene.depth[k]), np.asarray(scene.valid[k]), s, known)
        sky[k] = mask
        release(scene.depth, scene.valid)
        return np.concatenate([[np.count_nonzero(mask)], rgb[mask].sum(axis=0)])  # pixels, RGB sum

    found = np.asarray(thread_map(one, range(t), num_workers, "stage 1: sky"))
    frames_with = int(np.count_nonzero(found[:, 0]))
    if frames_with == 0 or frames_with < s.min_frames * t:
        logger.info("sky: none (%d of %d frames)", frames_with, t)
        del sky
        delete_arrays(out_dir, "sky")
        return None
    if s.video_colour > 0:  # second pass: the regions of the video's sky colour need no stage-1 test
        known = found[:, 1:].sum(axis=0) / found[:, 0].sum()
        thread_map(lambda k: one(k, known), range(t), num_workers, "stage 1: sky, second pass")
    if s.grow > 0:  # the sky's colour grown into the rim, carried between frames
        grow_sky(frames, sky, scene, found[:, 1:].sum(axis=0) / found[:, 0].sum(), s)
    if s.near_recheck > 0:  # the regions triangulated near are not sky, whichever pass took them
        drop_near_regions(sky, scene, s)
    logger.info("sky: %.2f%% of the pixels (%d of %d frames)", 100 * sky.mean(), frames_with, t)
    return sky


def _near_region(region: np.ndarray, depth: np.ndarray, valid: np.ndarray, s: SkySettings) -> bool:
    """Whether the ``region`` (``[h,w]`` uint8 0/1 of one frame) is triangulated near: its covered pixels (stage 1's
    ``valid`` ``[h,w]`` bool; those ``near_margin`` px or more inside it, else its 5×5-eroded interior, else all of
    it) lie nearer than the median ``depth`` (``[h,w]``, stage-1 units) of the frame's covered pixels outside it
    (beyond 2 px of it) on more than ``s.near_recheck`` of them."""
    import cv2

    rim_kernel = np.ones((5, 5), np.uint8)
    outside = valid & ~cv2.dilate(region, rim_kernel).astype(bool)
    seen = cv2.erode(region, np.ones((2 * s.near_margin + 1,) * 2, np.uint8)).astype(bool) & valid
    if not seen.any():  # a region thinner than the fattening: its interior, or all of it
        inner = cv2.erode(region, rim_kernel).astype(bool)
        seen = (inner if inner.any() else region.astype(bool)) & valid
    if not (seen.any() and outside.any()):
        return False
    return bool(np.mean(depth[seen] < np.median(depth[outside])) > s.near_recheck)


def _across_gap(labels: np.ndarray, near: np.ndarray, gap: int) -> np.ndarray:
    """``[count]`` bool: the regions of ``labels`` (``[h,w]`` int32 of 4-connected regions, 0 = not sky) that a
    kept region (``~near``, ``near`` ``[count]`` bool, index 0 unused) reaches across gaps of at most ``gap`` pixels,
    directly or through other regions: each region grown by half the gap (a disc), the grown regions joined."""
    import cv2

    radius = (gap + 1) // 2
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    _, joined = cv2.connectedComponents(cv2.dilate((labels > 0).astype(np.uint8), disc), connectivity=4)
    kept = (labels > 0) & ~near[labels]
    anchored = np.zeros(int(joined.max()) + 1, bool)
    anchored[np.unique(joined[kept])] = True
    group = np.zeros(len(near), np.int64)  # each region's joined group (one pixel of it tells)
    group[labels.ravel()] = joined.ravel()
    return anchored[group] & (np.arange(len(near)) > 0)


def drop_near_regions(sky: np.ndarray, scene: SceneGeometry, settings: SkySettings) -> int:
    """Drop from ``sky`` (``[T,h,w]`` bool, changed in place, frame by frame) each 4-connected region of a frame
    triangulated near (:func:`_near_region`, ``settings.near_recheck``), except, with ``near_gap``, those a kept
    region reaches across gaps of at most ``near_gap`` pixels (:func:`_across_gap`). Returns the number of regions
    dropped."""
    import cv2

    s, dropped = settings, 0
    for k in range(sky.shape[0]):
        mask = np.asarray(sky[k])
        if not mask.any():
            continue
        depth, valid = np.asarray(scene.depth[k]), np.asarray(scene.valid[k])
        count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=4)
        near = np.zeros(count, bool)
        for label in range(1, count):
            near[label] = _near_region((labels == label).astype(np.uint8), depth, valid, s)
        if s.near_gap > 0 and near.any():
            near &= ~_across_gap(labels, near, s.near_gap)
        if near.any():
            sky[k] = mask & ~near[labels]
            dropped += int(np.count_nonzero(near))
        release(sky, scene.depth, scene.valid)
    logger.info("sky: %d regions triangulated near dropped", dropped)
    return dropped


def _rotation(scene: SceneGeometry, K: np.ndarray, src: int, dst: int) -> np.ndarray:
    """``[3,3]`` homography ``K_dst R K_src⁻¹`` taking frame ``src``'s pixels at infinity to frame ``dst``'s
    (``R`` the rotation from camera ``src`` to camera ``dst`` of ``scene.cam_to_world``; ``K`` ``[T,3,3]``:
    ``scene.intrinsics()``)."""
    rotation = scene.cam_to_world[dst][:3, :3].T @ scene.cam_to_world[src][:3, :3]
    return K[dst] @ rotation @ np.linalg.inv(K[src])


def _grow_frame(seed: np.ndarray, extra: np.ndarray, rgb: np.ndarray, colour: np.ndarray, s: SkySettings) -> np.ndarray:
    """``[h,w]`` bool: ``seed`` and the pixels of ``extra`` (``[h,w]`` bool both; ``extra`` carried from another
    frame, kept where it has the sky's colour as below) grown ``s.grow`` 4-neighbour steps into the pixels of ``rgb``
    (``[h,w,3]`` in [0, 1]) within ``s.grow_colour`` of ``colour`` (RGB ``[3]``), bright (``min_value``) and blue
    (``grow_blue``), each step only from a neighbour within ``s.grow_step`` of the pixel's colour (a colour edge
    stops it)."""
    fits = (channel_norm(rgb - colour) < s.grow_colour) & (brightest(rgb) >= s.min_value)
    fits &= rgb[..., 2] >= rgb[..., 0] + s.grow_blue
    # close[d]: the pixel's colour within grow_step of its neighbour in direction d (up, down, left, right)
    up = channel_norm(rgb[1:] - rgb[:-1]) < s.grow_step  # [h-1,w]: rows y and y-1 alike
    side = channel_norm(rgb[:, 1:] - rgb[:, :-1]) < s.grow_step  # [h,w-1]: columns x and x-1 alike
    mask = seed | (extra & fits)
    for _ in range(int(s.grow)):
        add = np.zeros_like(mask)
        add[1:] |= mask[:-1] & up
        add[:-1] |= mask[1:] & up
        add[:, 1:] |= mask[:, :-1] & side
        add[:, :-1] |= mask[:, 1:] & side
        add &= fits & ~mask
        if not add.any():
            break
        mask |= add
    return mask


def grow_sky(frames: Any, sky: np.ndarray, scene: SceneGeometry, colour: np.ndarray, settings: SkySettings) -> None:
    """Grow the sky ``sky`` (``[T,h,w]`` bool, changed in place) into the pixels of its colour (``grow``), seeded
    with ``carry`` by the neighbouring frames' sky through the rotation homography (forward, then backward).
    ``frames``: ``[T,H,W,3]`` uint8 RGB; ``colour``: the video's mean sky colour (RGB ``[3]`` in [0, 1]), the
    reference of the frames without a sky of their own."""
    import cv2

    from stereodiff.stage1.band_select import unit_rgb

    s = settings
    t, h, w = sky.shape
    K = scene.intrinsics()  # [T,3,3]
    refs = []  # each frame's sky colour (RGB [3]), from its own sky before any growth

    def carried(src: np.ndarray, a: int, b: int) -> np.ndarray:
        return cv2.warpPerspective(
            np.asarray(src, np.uint8), _rotation(scene, K, a, b), (w, h), flags=cv2.INTER_NEAREST
        ).astype(bool)

    # in place, one frame at a time (memory flat in the video's length): frame k - 1 is final for the forward pass
    # when frame k reads it (frame k itself still its own sky), frame k + 1 for the backward pass
    for k in range(t):  # forward: the frame's own sky, and the previous frame's carried
        own = np.asarray(sky[k])
        rgb = unit_rgb(frames[k], (h, w))
        refs.append(rgb[own].mean(axis=0) if own.sum() >= s.min_area * h * w else colour)
        extra = carried(sky[k - 1], k - 1, k) if s.carry and k > 0 else np.zeros((h, w), bool)
        if own.any() or extra.any():
            sky[k] = _grow_frame(own, extra, rgb, refs[k], s)
        release(sky)
    for k in range(t - 2, -1, -1) if s.carry else ():  # backward: the next frame's carried
        extra = carried(sky[k + 1], k + 1, k) & ~np.asarray(sky[k])
        if extra.any():
            sky[k] = _grow_frame(np.asarray(sky[k]), extra, unit_rgb(frames[k], (h, w)), refs[k], s)
        release(sky)


def apply_sky(scene: SceneGeometry, sky: np.ndarray, holes: bool = False) -> SceneGeometry:
    """``scene`` with ``sky`` (``[T,h,w]`` bool) recorded (``SceneGeometry.sky``) and, with ``holes``, its pixels
    made holes (depth and confidence 0, not valid; the arrays changed in place, frame by frame). Without ``holes``
    (the default, ``stage1.sky_holes``) stage 2 gets stage 1's depth unchanged and only the paint after it
    (:func:`paint_sky`) acts."""
    for k in range(sky.shape[0] if holes else 0):
        mask = np.asarray(sky[k])
        if mask.any():
            scene.depth[k] = np.where(mask, 0.0, scene.depth[k])
            scene.confidence[k] = np.where(mask, 0.0, scene.confidence[k])
            scene.valid[k] = np.asarray(scene.valid[k]) & ~mask
        release(scene.depth, scene.confidence, scene.valid, sky)
    return replace(scene, sky=sky)


def paint_sky(out: np.ndarray, sky: np.ndarray, kind: str, far: float = 2.0) -> float:
    """Give the sky of a stage-2 result its far value, in place: ``out`` ``[T,H,W]`` float32 depth or disparity
    (``kind``), ``sky`` ``[T,h,w]`` bool (nearest-resized to ``(H, W)``). The value is one for the whole video:
    ``far`` × the largest per-frame 99th percentile of the depth outside the sky (its inverse for a disparity).
    Returns it (NaN when nothing is sky). Two passes of one frame each (memory flat in the video's length)."""
    high = 0.0
    for k in range(out.shape[0]):
        mask = _sky_at(sky, k, out.shape[1:])
        if mask.any():
            rest = np.asarray(out[k])[~mask]
            rest = rest[np.isfinite(rest) & (rest > 0)]
            if rest.size:
                depth = 1.0 / rest if kind == "disparity" else rest
                high = max(high, float(np.percentile(depth, 99)))
        release(out, sky)
    if high <= 0:
        return float("nan")
    value = far * high
    for k in range(out.shape[0]):
        mask = _sky_at(sky, k, out.shape[1:])
        if mask.any():
            out[k] = np.where(mask, np.float32(1.0 / value if kind == "disparity" else value), out[k])
        release(out, sky)
    return value


def _sky_at(sky: np.ndarray, k: int, size: tuple[int, int]) -> np.ndarray:
    """``[H,W]`` bool: frame ``k`` of ``sky`` nearest-resized to ``size`` ``(H, W)``."""
    import cv2

    mask = np.asarray(sky[k], np.uint8)
    if mask.shape != size:
        mask = cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_NEAREST)
    return mask.astype(bool)
