"""Independently moving objects in the geometric stage 1: find them, and give them depth that holds for movers.

Two-view triangulation assumes a static world: a pixel that moves on its own is triangulated with the camera's
motion and gets a depth that is wrong by any amount (a car driving ahead of the camera at its speed comes out
near infinity; a person walking along with a sideways camera lands on the wall behind). This module runs after the
global alignment and fusion, on the aligned scene (depth, poses, intrinsics):

1. **Segmentation** (:func:`segment_movers`), from three kinds of evidence:
   - *flow against the rigid flow of the static scene*: for every frame and its neighbours at ``offsets`` (both
     sides), the DIS flow (forward–backward checked, not near the image border) is compared with the flow the
     aligned scene predicts — the stage-1 depth, holes filled with their nearest triangulated depth, moved by the
     pair's camera pose (PnP on the stage-1 depth and the flow: movers are its outliers) and projected. A pixel
     disagreeing by more than ``residual_px + residual_rel·|rigid flow|`` in most of its checks is flagged;
     pixels flagged by any check join a flagged region they touch (hysteresis); where no pair at ``offsets`` has
     consistent flow and stage 1 left a hole (a fast or deforming mover), the checks at ``short_offsets`` decide;
   - *beyond the ground*: per frame, the ground plane (a plane in inverse depth over the image, RANSAC on the
     lowest third, :func:`ground_depth`); a region that stage 1 put beyond it — impossible for a static surface,
     the ground would hide it — and that stands on it (ground seen under its bottom edge) moves along with the
     camera (:func:`underground`);
   - *contact segments* (``segment_step``): the stage-1 depth cut into smooth segments at depth steps (and, with
     ``ground_cut``, at the ground plane); a segment standing on the ground whose lowest pixels lie beyond the
     ground under them is a mover as a whole — all of a car driving ahead, whose upper body is not beyond the
     ground at its own rows (:func:`contact_segments`);
     with ``floating``, an upright segment nearer than its contact too (an oncoming car);
   - *temporal consistency*: a region is kept only if the neighbouring frames flag pixels near it, and if it
     covers ``min_area`` of the frame.
2. **Depth from constraints that hold for movers** (per region, :func:`_mover_depth`):
   - *ground contact*: an object standing on the ground is as far as the ground under its lowest pixels — the
     ground plane's depth there; given when the ground is seen under the region (or the region reaches the image
     bottom, where the ground at the bottom row bounds its depth) and stage 1 put the region beyond the ground (a
     static surface with a wrong stage-1 depth is flagged by the flow too, but is never beyond the ground: it keeps
     its depth) or left it mostly untriangulated; with ``seen_contact``, the ground where it is first seen under
     them when that is nearer (a car ahead whose body under its found cabin is a hole);
   - *oncoming objects* (``oncoming``): an upright region standing on a road but nearer than the road under it (no
     static object standing there can be) takes that contact, with its unflagged lower part (:func:`_oncoming`;
     with ``oncoming_trim``, its pixels nearer than the ground at their own row alone, when flagged road under it
     set the contact);
   - *a mover merged with flagged static pixels* (``beyond_part``): the region's blob beyond the ground, twice as
     far as its own contact, gives that contact to the region's pixels at or above it that lie beyond it
     (:func:`_beyond_part`);
   - *occlusion order* (``hole_bound``): an occluder is nearer than what it hides — an untriangulated region
     without a contact gets a low percentile of the depth in a ring around it;
   - otherwise stage 1's depth is kept, and a hole stays a hole for stage 2 to fill.
   A region gets one depth (a fronto-parallel plane, the classical stand-in when a mover's shape is unknown) at the
   static pixels' median confidence, so stage 2's flow-guided temporal filter tracks and smooths it over time.
3. **Temporal tracking** (``track_frames``, :func:`track_mover_depth`): each region's depth is pooled with the
   mover depths of the regions overlapping it in the neighbouring frames (one frame's contact is noisy), and a
   region missed in a frame between tracked ones gets the tracked depth.

Limits (measured, docs/geometric.md): an object crossing close to the camera fast (``close-object``, 30 px per
frame) has no consistent flow and no ground contact, and is not found; a mover moving along its epipolar lines at a
steady speed is consistent with the rigid flow at a wrong depth, and is found only through the ground.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.camera import backproject, backproject_pixels, pinhole, pixel_grid
from stereodiff.flow import dis_engine, dis_flows, forward_backward, grey_frame
from stereodiff.io.pages import new_array, release, trim_heap
from stereodiff.progress import logger, thread_imap, thread_map
from stereodiff.stage1.epipolar import fundamental_from_pose, sampson_distance
from stereodiff.types import SceneGeometry

__all__ = [
    "MoverSettings",
    "contact_segments",
    "fill_missed_movers",
    "ground_depth",
    "handle_movers",
    "nearest_fill",
    "rigid_flow",
    "segment_movers",
    "track_mover_depth",
    "underground",
]


@dataclass(frozen=True)
class MoverSettings:
    """Knobs of the moving-object handling (pixel values at a 320-pixel long side, scaled with the resolution)."""

    offsets: tuple[int, ...] = (6, 12)
    """Frames between a frame and the neighbours its flow is checked against (both sides)."""
    short_offsets: tuple[int, ...] = ()
    """Shorter offsets, checked too, whose verdict counts only at stage-1 holes that no pair at ``offsets`` saw
    with consistent flow (a fast or deforming mover, e.g. a walking person close to the camera, left a hole)."""
    residual_px: float = 2.0
    """Absolute part of the flow-residual threshold (pixels)."""
    residual_rel: float = 0.15
    """Relative part of the flow-residual threshold (fraction of the rigid flow's length)."""
    vote_fraction: float = 0.5
    """A pixel moves when more than this fraction of the checks that saw it (consistent flow) flag it."""
    weak_fraction: float = 0.0
    """Hysteresis: pixels flagged by more than this fraction of their checks join a strongly flagged region they
    touch (``vote_fraction`` or more: off)."""
    epipolar_px: float = 1.0
    """Sampson distance (pixels) beyond which a pixel's flow leaves the epipolar line of the camera's motion."""
    epipolar_share: float = 0.0
    """Least share of a flow-flagged region whose pixels leave their epipolar lines (in most checks): a static
    surface with a wrong stage-1 depth is flagged by the flow residual too, but it moves along its epipolar lines."""
    border_px: float = 8.0
    """Pixels this close to the image border, or whose flow ends this close to it, are not checked (DIS's flow
    there is extrapolated)."""
    persist_px: int = 8
    """A flagged pixel is kept only if the neighbouring frames (both) flag a pixel within this distance."""
    pnp_threshold_px: float = 1.0
    """RANSAC inlier threshold (pixels) of the per-pair camera pose, solved by PnP from the stage-1 depth and the
    flow (the aligned scene's poses are not accurate enough to predict flow to a pixel)."""
    min_area: float = 0.002
    """Least area of a mover region (fraction of the frame); smaller regions are flow noise."""
    contact_rows: int = 20
    """Rows under a region's bottom edge searched for its ground contact (10 before issue #20's driving work: the
    road just under a car is often a stage-1 hole)."""
    underground: float = 0.3
    """A region deeper than the ground plane by more than this fraction is a mover (0 = off); see
    :func:`underground`."""
    ground_tolerance: float = 0.05
    """RANSAC inlier tolerance of the ground plane (relative inverse depth)."""
    ground_iterations: int = 200
    """RANSAC samples of the ground plane."""
    ground_min_fraction: float = 0.1
    """Least fraction of the static pixels of the frame's lowest third that the ground plane must hold."""
    beyond_share: float = 0.3
    """A flagged region gets its ground contact's depth when at least this share of its triangulated pixels below
    the horizon lie beyond the ground (a static surface never does; a static surface with a wrong depth is flagged
    too, but stays put)."""
    hole_bound: bool = False
    """Give an untriangulated mover region without a seen ground contact the occlusion bound (else stage 2 fills
    it)."""
    ring_px: int = 6
    """Width of the ring around a region whose static depth bounds the region's depth (occlusion order)."""
    ring_percentile: float = 20.0
    """Percentile of the ring's depth used as the occlusion bound."""
    confidence: float = 1.0
    """Confidence given to mover pixels, as a fraction of the median confidence of the static pixels."""
    segment_step: float = 0.15
    """Contact segments (0 = off): the frame's stage-1 depth is cut into smooth segments where neighbouring depths
    differ by more than this relative step, and a segment standing on the ground whose lowest pixels stage 1 put
    beyond the ground under them (by ``underground``) is a mover (:func:`contact_segments`): the whole body of a
    car driving ahead, not only its pixels beyond the ground at their own row."""
    floating: float = 0.0
    """With ``segment_step``: an upright segment (depth about constant over its rows) standing on the ground whose
    lowest pixels stage 1 put nearer than the ground under them by more than this fraction floats — the signature
    of an oncoming object triangulated too near — and gets its contact's depth (0 = off: 0.3 measured worse on
    driving seeds 0/1, docs/geometric.md)."""
    upright_slope: float = 0.5
    """A segment is upright when its inverse depth grows downwards less than this fraction of the ground's rate
    (a vertical surface: 0; a table top or the floor: about 1 or more)."""
    beyond_part: float = 0.0
    """A flow-flagged region that is not beyond the ground as a whole (static pixels flagged with an object set its
    contact) but holds a blob beyond the ground of at least this fraction of the frame that stands on the ground:
    its part at or above that blob, holes or beyond the blob's contact, takes the blob's contact
    (:func:`_beyond_part`; 0 = off)."""
    part_beyond: float = 1.0
    """With ``beyond_part``: the blob's median depth must lie beyond its own contact by more than this fraction (a
    car following at half the camera's speed or more is triangulated twice too far; stage-1 noise of a static
    surface at its foot, measured 1.4–1.8× on static-orbit and driving, is not taken)."""
    oncoming: float = 0.0
    """A flow-flagged region whose triangulated part off the ground is upright, stands on the ground, and lies
    (median) nearer than the ground under its lowest pixels by more than this fraction gets that contact's depth:
    an object approaching the camera along its epipolar lines is triangulated too near (0 = off)."""
    oncoming_support: float = 0.4
    """With ``oncoming``: least share of the triangulated pixels under the region (``contact_rows``, median over its
    columns) that lie on the ground (a road, not a car body that crosses the ground plane's depth at a few rows)."""
    oncoming_trim: bool = False
    """With ``oncoming``: when the region fails it, its pixels nearer than the ground at their own row by
    ``oncoming`` are tested alone, with the margin applied twice (flagged road under an oncoming car sets its
    contact too near)."""
    ground_cut: bool = False
    """Contact segments: pixels on the ground plane are cut too, so an object's segment does not run into the
    ground around it (and through it into the whole scene)."""
    hole_reach: bool = False
    """A mover region that is mostly a stage-1 hole, does not reach the image bottom and has no ground seen under it,
    but is joined to the image bottom by stage-1 holes under it (a person walking close to the camera whose legs
    deform faster than any flow check follows: the segmentation finds the body, stage 1 triangulates neither), is
    cut by the image bottom like a region that reaches it: it and those holes get the ground's depth under their
    lowest pixels, except a rim of ``rim_px`` (:func:`_hole_reach`)."""
    rim_px: float = 2.0
    """With ``hole_reach``: the rim of the region joined to its holes left to stage 2's fill (the segmentation's
    edge often holds static background the mover uncovers)."""
    seen_contact: float = 0.0
    """The ground contact is the ground plane's depth where the ground is first seen (on the plane, not a mover)
    under the region's lowest pixels, within ``contact_rows``, rather than right under them, when that is nearer by
    more than this fraction (0 = off): a region whose lower part the segmentation missed (the body of a car ahead,
    a stage-1 hole under its found cabin) ends above its true contact."""
    track_frames: int = 0
    """Temporal tracking of each mover's depth (:func:`track_mover_depth`): frames on each side whose overlapping
    mover regions' depths are pooled (0 = off). 16 helps driving and indoor-dynamic (docs/geometric.md) but costs
    static-orbit seed 3 3 %: off here; the ``cpu`` preset turns it on for a camera moving along its view
    (``GeometricConfig.movers_track_ahead``)."""
    track_missed: int = 0
    """A frame where nothing of a mover was found takes the mover depth of a handled region of a frame at most this
    many frames away (:func:`fill_missed_movers`; 0 = off: on driving it brings the moving pixels down but makes the
    final all-pixel AbsRel of seeds 2 and 3 worse by 2 % and 1 %, docs/geometric.md)."""


def rigid_flow(depth: np.ndarray, K: np.ndarray, own_to_other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow ``[h,w,2]`` a static world would show from this frame to another, and where it is defined ``[h,w]``.

    Args:
        depth: ``[h,w]`` camera-z depth of this frame (0 = unknown).
        K: ``[3,3]`` intrinsics at ``depth``'s resolution (both frames).
        own_to_other: ``[4,4]`` transform from this camera's coordinates to the other camera's.
    """
    h, w = depth.shape
    moved = backproject(depth, K) @ own_to_other[:3, :3].T  # [h,w,3]
    moved += own_to_other[:3, 3]
    z = moved[..., 2]
    defined = (depth > 0) & (z > 1e-9)
    safe = np.where(defined, z, 1.0)
    flow = np.empty((h, w, 2), np.float32)
    projected = np.empty((h, w))  # one float64 buffer for both axes, every step in place
    for axis, position in enumerate(_pixel_positions(h, w)):  # projected − pixel position, axis by axis
        np.multiply(moved[..., axis], K[axis, axis], out=projected)
        projected /= safe
        projected += K[axis, 2]
        projected -= position
        flow[..., axis] = projected  # rounded to float32
    flow[~defined] = 0.0
    return flow, defined


@functools.cache
def _pixel_positions(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel columns ``[1,w]`` and rows ``[h,1]`` of an ``(h, w)`` image as float64 (broadcast over the image;
    the values of :func:`~stereodiff.camera.pixel_grid`, whole numbers, exact in either type)."""
    columns, rows = np.arange(w, dtype=np.float64)[None, :], np.arange(h, dtype=np.float64)[:, None]
    columns.flags.writeable = rows.flags.writeable = False
    return columns, rows


#: frames per block of :func:`handle_movers`: memory holds one block and its context, whatever the video's length;
#: a video of at most this many frames is one block (its result does not depend on the blocking)
BLOCK_FRAMES = 128


def handle_movers(
    frames: Any,
    scene: SceneGeometry,
    settings: MoverSettings | None = None,
    out_dir: Path | None = None,
    num_workers: int = 2,
) -> tuple[SceneGeometry, np.ndarray]:
    """Segment independently moving pixels and replace their depth by mover constraints (module docstring).

    The video is handled in blocks of ``BLOCK_FRAMES`` frames, each with ``max(offsets, track_frames) + 1``
    frames of context on both sides (the flow checks, the temporal persistence and the tracking of a frame only
    look that far), so memory does not grow with the video's length; the mover confidence is taken per block.

    Args:
        frames: ``[T,H,W,3]`` uint8 RGB (array-like, read one frame at a time), any resolution (resized to the
            scene's).
        scene: the aligned stage-1 scene (``[T,h,w]`` depth, poses, intrinsics; may be memmaps).
        settings: knobs; ``None`` = defaults.
        out_dir: when given, the new depth, confidence, validity and mover mask are memmaps there
            (``movers_*.npy``); else arrays in memory.
        num_workers: threads for the per-pair flow checks and the per-frame ground fits (OpenCV and numpy
            release the GIL); the output does not depend on it.

    Returns:
        The scene with mover depth and confidence replaced (a new object; inputs untouched), and the ``[T,h,w]``
        bool mover mask.
    """
    s = settings or MoverSettings()
    t, h, w = scene.depth.shape
    depth_out, confidence_out, valid_out, moving_out = (
        new_array(out_dir, f"movers_{name}", (t, h, w), dtype)
        for name, dtype in (("depth", np.float32), ("confidence", np.float32), ("valid", np.bool_), ("mask", np.bool_))
    )
    margin = max((*s.offsets, *s.short_offsets, s.track_frames, s.track_missed)) + 1 if t > BLOCK_FRAMES else t
    moving_px = 0
    shared = _Shared()
    for start in range(0, t, BLOCK_FRAMES):
        stop = min(t, start + BLOCK_FRAMES)
        first, last = max(0, start - margin), min(t, stop + margin)
        shared.block(first, stop - margin if stop < t else t)  # the next block's first frame
        block = _frames_of(scene, first, last)
        depth, confidence, moving = _handle_block(frames, block, first, s, num_workers, (start, stop), shared)
        core = slice(start - first, stop - first)
        depth_out[start:stop], confidence_out[start:stop] = depth[core], confidence[core]
        valid_out[start:stop], moving_out[start:stop] = depth[core] > 0, moving[core]
        moving_px += int(np.count_nonzero(moving[core]))
        del block, depth, confidence, moving  # the next block's arrays replace these, they do not join them
        for array in (depth_out, confidence_out, valid_out, moving_out):
            if isinstance(array, np.memmap):
                array.flush()
        release(depth_out, confidence_out, valid_out, moving_out, scene.depth, scene.confidence)
        trim_heap()  # the block's freed arrays leave the resident set too
    logger.info("movers: %.1f%% of the pixels move independently", 100 * moving_px / max(t * h * w, 1))
    return replace(scene, depth=depth_out, confidence=confidence_out, valid=valid_out), moving_out


class _Shared:
    """What two neighbouring blocks of :func:`handle_movers` would both compute, computed once: the flow checks of
    the pairs whose frames are all in the next block too (keyed by video frames; the masks bit-packed) and the
    ground findings of such frames. A pair's check and a frame's finding depend only on its frames (every RANSAC is
    seeded by video frame), so a block gets exactly what it would compute itself. Holds at most the overlap of two
    blocks (``2 · (max offset + 1)`` frames: ≈ 1 MB at 320×240)."""

    def __init__(self) -> None:
        self.next_first = 0  # what concerns video frames from here on is stored (the next block has them too)
        self.checks: dict[tuple[int, int], list[tuple[int, tuple[int, ...], np.ndarray, int]]] = {}
        self.ground: dict[int, np.ndarray] = {}

    def block(self, first: int, next_first: int) -> None:
        """A block starting at video frame ``first`` begins, the next one will start at ``next_first``: what
        concerns earlier frames is dropped."""
        self.next_first = next_first
        self.checks = {pair: v for pair, v in self.checks.items() if pair[0] >= first}
        self.ground = {k: v for k, v in self.ground.items() if k >= first}

    def wanted(self, *frames: int) -> bool:
        """Whether the next block needs what concerns these video frames."""
        return min(frames) >= self.next_first

    @staticmethod
    def pack(results: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]], first: int) -> list:
        """A pair's check results (block frame, masks) as (video frame, shape, packed masks, number of masks)."""
        packed = []
        for own, *masks in results:
            present = np.stack([m for m in masks if m is not None])  # [2 or 3,h,w] bool
            packed.append((own + first, present.shape, np.packbits(present), len(present)))
        return packed

    @staticmethod
    def unpack(packed: list, first: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
        results = []
        for frame, shape, bits, count in packed:
            masks = np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).view(bool)
            results.append((frame - first, masks[0], masks[1], masks[2] if count == 3 else None))
        return results


def _handle_block(
    frames: Any,
    scene: SceneGeometry,
    first: int,
    s: MoverSettings,
    num_workers: int = 1,
    core: tuple[int, int] | None = None,
    shared: _Shared | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`handle_movers` on one block: ``scene`` holds the block's frames, the first being video frame
    ``first``; ``core``: the video frames ``(start, stop)`` whose depth is wanted (the others are context: without
    ``track_frames`` / ``track_missed`` their mover depth is not computed); ``shared``: see :class:`_Shared`.
    Returns its ``[n,h,w]`` depth and confidence (``scene``'s own arrays, written in place: no second copy of the
    block) and mover mask."""
    n, h, w = scene.depth.shape
    grey = np.stack([grey_frame(frames[k], (h, w)) for k in range(first, first + n)])  # [n,h,w]
    moving = segment_movers(grey, scene, s, first, num_workers, shared)
    depth, confidence = scene.depth, scene.confidence  # the block's own copies (:func:`_frames_of`): written here
    static_conf = confidence[(depth > 0) & ~moving]
    mover_conf = s.confidence * (float(np.median(static_conf)) if static_conf.size else 1.0)
    handled = np.zeros((n, h, w), bool)

    def frame_depth(k: int) -> None:  # writes frame k only
        if moving[k].any():
            ground = ground_depth(depth[k], (depth[k] > 0) & ~moving[k], s, seed=first + k)
            floating = contact_segments(depth[k], ground, s) == FLOATING if s.floating > 0 else None
            depth[k], handled[k] = _mover_depth(depth[k], moving[k], ground, s, floating)

    tracked = s.track_frames > 0 or s.track_missed > 0  # every frame's mover depth is needed
    wanted = range(n) if core is None or tracked else range(core[0] - first, core[1] - first)
    thread_map(frame_depth, wanted, num_workers, "movers: depth")
    if s.track_frames > 0:
        handled |= track_mover_depth(depth, moving, handled, s.track_frames, s.underground)
    if s.track_missed > 0:
        shrink = round(2 * max(h, w) / 320.0)
        handled |= fill_missed_movers(depth, moving, handled, s.track_missed, s.underground, shrink)
    confidence[handled] = mover_conf
    return depth, confidence, moving


def track_mover_depth(
    depth: np.ndarray, moving: np.ndarray, handled: np.ndarray, frames: int, beyond: float
) -> np.ndarray:
    """Temporal tracking of each mover region's depth, in place: a region's depth becomes the median of the
    mover depths (``handled``) of the regions overlapping it within ``frames`` frames on each side (its own
    included) — one frame's ground contact is noisy (the ground plane's fit, the region's lowest pixels), a mover's
    depth changes smoothly. A region without a mover depth of its own gets the tracked one when such regions lie on
    both sides in time and stage 1 left it mostly a hole or put it beyond that depth by ``beyond`` (a car whose
    contact was not seen in this frame; a static surface flagged by the flow keeps its depth, as for the contact).
    A region is a connected part of ``moving``; two regions overlap when they are of about one size and their
    bounding boxes' intersection covers half of the smaller box.

    Args:
        depth: ``[n,h,w]`` depth, a handled region holding one value (changed in place).
        moving: ``[n,h,w]`` bool mover mask.
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the half-window (frames).
        beyond: relative margin (``MoverSettings.underground``).

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n = depth.shape[0]
    regions = []  # per frame: (labels, [(label, box and area, mover log-depth or nan, stage-1 depth or nan)])
    for k in range(n):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(moving[k].astype(np.uint8), connectivity=8)
        items = []
        for label in range(1, count):
            x, y, bw, bh = stats[label, :4]
            region = labels == label
            own = depth[k][region & handled[k]]
            seen = depth[k][region & (depth[k] > 0)]  # stage 1's own depth: nan when mostly a hole
            stage1 = float(np.median(seen)) if seen.size >= 0.5 * stats[label, cv2.CC_STAT_AREA] else np.nan
            box = (x, y, x + bw, y + bh, stats[label, cv2.CC_STAT_AREA])
            items.append((label, box, float(np.log(own[0])) if own.size else np.nan, stage1))
        regions.append((labels, items))
    given = np.zeros(moving.shape, bool)
    updates = []
    for k in range(n):
        for label, box, value, stage1 in regions[k][1]:
            times, values = ([k], [value]) if np.isfinite(value) else ([], [])
            for j in range(max(0, k - frames), min(n, k + frames + 1)):
                for _, other, other_value, _ in regions[j][1] if j != k else ():
                    if np.isfinite(other_value) and _boxes_overlap(box, other):
                        times.append(j)
                        values.append(other_value)
            if not times:
                continue
            tracked = float(np.exp(np.median(values)))
            between = min(times) < k < max(times) and not stage1 <= tracked * (1.0 + beyond)  # nan: a hole
            if np.isfinite(value) or between:
                updates.append((k, label, tracked))
    for k, label, value in updates:
        region = regions[k][0] == label
        depth[k][region] = value
        given[k] |= region
    return given


def fill_missed_movers(
    depth: np.ndarray, moving: np.ndarray, handled: np.ndarray, frames: int, beyond: float, shrink_px: int = 2
) -> np.ndarray:
    """Mover depth for frames where nothing of a mover was found, in place (``MoverSettings.track_missed``): a
    region given a mover depth (``handled``) in a frame at most ``frames`` away (the nearest first), shrunk by
    ``shrink_px`` (the mover moves a little in the image), gives that depth to its pixels that stage 1 left a hole
    or put beyond it by ``beyond`` in a frame where no handled pixel lies in it, when those are at least half of it
    (a car ahead triangulated far; a static surface there keeps its depth).

    Args:
        depth: ``[n,h,w]`` depth, a handled region holding one value (changed in place).
        moving: ``[n,h,w]`` bool mover mask.
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the farthest source frame (frames).
        beyond: relative margin (``MoverSettings.underground``).
        shrink_px: erosion of the source regions (pixels).

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n = depth.shape[0]
    given = np.zeros(moving.shape, bool)
    kernel = np.ones((2 * shrink_px + 1, 2 * shrink_px + 1), np.uint8)
    components: dict[int, tuple[int, np.ndarray]] = {}  # source frame: its shrunk handled regions
    for k in range(n):
        for distance in range(1, frames + 1):
            for j in (k - distance, k + distance):
                if not 0 <= j < n or not handled[j].any():
                    continue
                if j not in components:
                    shrunk = cv2.erode(handled[j].astype(np.uint8), kernel)
                    components[j] = cv2.connectedComponents(shrunk, connectivity=8)
                count, labels = components[j]
                for label in range(1, count):
                    region = labels == label
                    if (region & (handled[k] | given[k])).any():
                        continue  # found there, or given from a nearer frame
                    value = float(depth[j][region][0])
                    far = region & ((depth[k] <= 0) | (depth[k] > value * (1.0 + beyond)))
                    if far.sum() >= 0.5 * region.sum():
                        depth[k][far] = value
                        given[k] |= far
    return given


def _boxes_overlap(a: tuple, b: tuple) -> bool:
    """Regions (bounding box and area ``(x0, y0, x1, y1, area)``) of about one size (areas within a factor of 2)
    whose boxes' intersection covers at least half of the smaller box."""
    if max(a[4], b[4]) > 2 * min(a[4], b[4]):
        return False
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return False
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return width * height >= 0.5 * smaller


def _frames_of(scene: SceneGeometry, first: int, last: int) -> SceneGeometry:
    """The frames ``first:last`` of ``scene``: depth and confidence read into memory as the block's own float32
    copies (:func:`_handle_block` writes into them), the cameras; not ``valid`` (the movers read ``depth > 0``)."""
    return SceneGeometry(
        depth=np.array(scene.depth[first:last], dtype=np.float32),
        confidence=np.array(scene.confidence[first:last], dtype=np.float32),
        focal=np.asarray(scene.focal[first:last]),
        principal_point=np.asarray(scene.principal_point[first:last]),
        cam_to_world=np.asarray(scene.cam_to_world[first:last]),
    )


def segment_movers(
    grey: np.ndarray,
    scene: SceneGeometry,
    settings: MoverSettings,
    first: int = 0,
    num_workers: int = 1,
    shared: _Shared | None = None,
) -> np.ndarray:
    """``[T,h,w]`` bool: pixels whose flow to the neighbouring frames the aligned static scene does not explain,
    cleaned into regions that persist over time (module docstring, step 1). ``first``: the video index of the first
    frame (seeds the per-frame RANSAC fits by video frame, so a block of a video gives what the whole video does).
    ``num_workers``: threads for the pairs' flow checks and the per-frame steps (the output does not depend on
    it). ``shared``: pair checks and ground findings shared with the neighbouring blocks (:class:`_Shared`)."""
    import threading

    import cv2

    s = settings
    t, h, w = scene.depth.shape
    scale = max(h, w) / 320.0
    local = threading.local()  # one DIS engine per thread
    # per-pixel counts over the pairs (at most 2 per offset): flagged by the flow, off the epipolar line, checked
    votes, off_epipolar, checks = (np.zeros((t, h, w), np.uint8) for _ in range(3))
    grid = pixel_grid(h, w).reshape(-1, 2)
    # holes take the depth of their nearest triangulated pixel: a hole that is static background next to static
    # background moves as the rigid flow of that depth predicts; a mover's hole does not
    static_depth = np.stack(thread_map(nearest_fill, np.asarray(scene.depth), num_workers, "movers: holes"))
    inner = _inside(pixel_grid(h, w), s.border_px * scale)
    pairs = [(a, a + o) for o in sorted({min(o, t - 1) for o in s.offsets if t > 1}) for a in range(t - o)]
    long_pairs = len(pairs)
    pairs += [(a, a + o) for o in sorted({min(o, t - 1) for o in s.short_offsets if t > 1}) for a in range(t - o)]
    # the short offsets' counts (allocated only with short pairs), used where the long offsets saw no consistent flow
    short_votes, short_checks = (np.zeros((t, h, w) if len(pairs) > long_pairs else 0, np.uint8) for _ in range(2))

    def check(pair: tuple[int, int]) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
        """Both frames' flow checks of one pair: ``(own, flagged, checked, off its epipolar line)`` each."""
        key = (first + pair[0], first + pair[1])
        if shared is not None and key in shared.checks:
            return shared.unpack(shared.checks[key], first)
        results = check_pair(pair)
        if shared is not None and shared.wanted(*key):
            shared.checks[key] = shared.pack(results, first)
        return results

    def check_pair(pair: tuple[int, int]) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
        a, b = pair
        if not hasattr(local, "dis"):
            local.dis = dis_engine("fast")
        flow_ab, flow_ba = dis_flows(local.dis, grey[a], grey[b])
        results = []
        for own, fwd, bwd in ((a, flow_ab, flow_ba), (b, flow_ba, flow_ab)):
            target, _, miss = forward_backward(fwd, bwd)
            usable = (miss < 1.0 * scale) & inner & _inside(target, s.border_px * scale)  # DIS is poor at borders
            K = pinhole(float(scene.focal[own]), (h, w))
            pose = _pose_from_flow(scene.depth[own], fwd, usable, K, s.pnp_threshold_px * scale, seed=first + own)
            if pose is None:
                continue
            rigid, defined = rigid_flow(static_depth[own], K, pose)
            residual = np.hypot(*(fwd - rigid).transpose(2, 0, 1))
            limit = s.residual_px * scale + s.residual_rel * np.hypot(*rigid.transpose(2, 0, 1))
            checked = usable & defined
            off = None
            if s.epipolar_share > 0:
                # a static pixel with a wrong depth still moves along its epipolar line; a mover mostly leaves it
                F = fundamental_from_pose(pose[:3, :3], pose[:3, 3] / max(np.linalg.norm(pose[:3, 3]), 1e-12), K)
                epipolar = sampson_distance(grid, target.reshape(-1, 2), F).reshape(h, w)
                off = checked & (epipolar > s.epipolar_px * scale)
            results.append((own, checked & (residual > limit), checked, off))
        return results

    for index, results in enumerate(thread_imap(check, pairs, num_workers)):
        for own, flagged, checked, off in results:
            if index >= long_pairs:
                short_votes[own] += flagged
                short_checks[own] += checked
                continue
            votes[own] += flagged
            checks[own] += checked
            if off is not None:
                off_epipolar[own] += off
    # stage-1 holes with no consistent flow at the long offsets (a fast or deforming mover): the short ones decide
    if len(pairs) > long_pairs:
        unseen = (checks == 0) & (np.asarray(scene.depth) <= 0)
        votes[unseen], checks[unseen] = short_votes[unseen], short_checks[unseen]
    raw = (votes > s.vote_fraction * np.maximum(checks, 1)).astype(np.uint8)
    weak = (votes > s.weak_fraction * np.maximum(checks, 1)) | (raw > 0) if s.weak_fraction < s.vote_fraction else None
    epipolar_flags = off_epipolar > s.vote_fraction * np.maximum(checks, 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * s.persist_px + 1, 2 * s.persist_px + 1))
    opened, grown = np.empty((t, h, w), np.uint8), np.empty((t, h, w), np.uint8)

    def beyond_ground(k: int) -> np.ndarray:  # [h,w] uint8: regions the ground says move
        if shared is not None and first + k in shared.ground:
            return shared.ground[first + k]
        depth_k = np.asarray(scene.depth[k])
        ground = ground_depth(depth_k, depth_k > 0, s, seed=first + k)
        found = np.zeros(depth_k.shape, np.uint8)
        if ground is not None:  # without a ground nothing lies beyond it (`underground` would fit it again)
            if s.underground > 0:
                found |= underground(depth_k, s, ground=ground)
            if s.segment_step > 0:
                found |= contact_segments(depth_k, ground, s) > 0
        if shared is not None and shared.wanted(first + k):
            shared.ground[first + k] = found
        return found

    def flagged(k: int) -> None:  # frame k's flagged regions, opened and grown (writes frame k only)
        if weak is not None:  # hysteresis: weakly flagged pixels connected to strongly flagged ones
            count, labels = cv2.connectedComponents(weak[k].astype(np.uint8), connectivity=8)
            strong = np.bincount(labels.ravel(), weights=raw[k].ravel(), minlength=count) > 0
            strong[0] = False
            raw[k] = strong[labels]
        # a region flagged by the flow must also leave the epipolar lines somewhere (else it is static depth error)
        count, labels = cv2.connectedComponents(raw[k], connectivity=8)
        share = np.bincount(labels.ravel(), weights=epipolar_flags[k].ravel(), minlength=count)
        share /= np.maximum(np.bincount(labels.ravel(), minlength=count), 1)
        raw[k] = (share >= s.epipolar_share)[labels] & (labels > 0)
        if s.underground > 0 or s.segment_step > 0:
            raw[k] |= beyond_ground(k)
        opened[k] = cv2.morphologyEx(raw[k], cv2.MORPH_OPEN, kernel)
        grown[k] = cv2.dilate(opened[k], near)

    out = np.zeros((t, h, w), bool)
    min_px = s.min_area * h * w

    def persistent(k: int) -> None:  # writes out[k] only
        # temporal consistency: a mover seen in frame k is seen near the same place in a neighbouring frame
        before = grown[k - 1] if k > 0 else grown[k + 1] if t > 1 else opened[k]
        after = grown[k + 1] if k + 1 < t else before
        region = cv2.morphologyEx(opened[k] & before & after, cv2.MORPH_CLOSE, kernel)
        _, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= min_px
        keep[0] = False
        out[k] = keep[labels]

    thread_map(flagged, range(t), num_workers, "movers: regions")
    thread_map(persistent, range(t), num_workers, "movers: persistence")
    return out


def underground(
    depth: np.ndarray, settings: MoverSettings, seed: int = 0, ground: np.ndarray | None = None
) -> np.ndarray:
    """``[h,w]`` uint8: regions of one frame whose depth lies beyond the ground plane (:func:`ground_depth`) by more
    than ``underground`` (relative) — impossible for a static surface standing on the ground, the signature of an
    object moving along with the camera (triangulated too far) — and that stand on the ground (:func:`_stands`).
    (Beyond a table's far edge the floor is "under" the table top too, but that region has the image bottom, not
    the table, below it.) ``ground``: the frame's ground plane depth when already fitted (else fitted here)."""
    import cv2

    h, w = depth.shape
    ground = ground if ground is not None else ground_depth(depth, depth > 0, settings, seed)
    out = np.zeros((h, w), np.uint8)
    if ground is None:
        return out
    beyond = (depth > 0) & np.isfinite(ground) & (depth > ground * (1.0 + settings.underground))
    on_ground = _on_ground(depth, ground, settings)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    beyond = cv2.morphologyEx(beyond.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    count, labels = cv2.connectedComponents(beyond, connectivity=8)
    for label in range(1, count):
        region = labels == label
        if _stands(region, on_ground, settings.contact_rows):
            out[region] = 1
    return out


#: labels of :func:`contact_segments`
BEYOND, FLOATING = 1, 2


def contact_segments(depth: np.ndarray, ground: np.ndarray | None, settings: MoverSettings) -> np.ndarray:
    """``[h,w]`` uint8: smooth segments of one frame's stage-1 depth that stand on the ground at a depth no static
    object can have there (``segment_step``): ``BEYOND`` (1) or ``FLOATING`` (2), else 0.

    An object standing on the ground is as far as the ground under its lowest pixels. The depth is cut into
    segments where neighbouring depths differ by more than ``segment_step`` (the farther pixel of a step is the
    cut); a segment that stands on the ground (:func:`_stands`) and whose lowest pixels stage 1 put beyond the
    ground under them by ``underground`` moves with the camera (a car driving ahead: all of its body, where
    :func:`underground` only finds its pixels beyond the ground at their own rows); with ``floating``, an upright
    one whose lowest pixels stage 1 put nearer than that by ``floating`` moves towards the camera (an oncoming
    car, triangulated as if static and too near). ``ground``: the frame's ground plane depth ``[h,w]``
    (:func:`ground_depth`; None = nothing found).
    """
    import cv2

    h, w = depth.shape
    out = np.zeros((h, w), np.uint8)
    if ground is None:
        return out
    filled = nearest_fill(depth)  # holes take their nearest depth, so the median below does not mix them in
    log_depth = cv2.medianBlur(np.log(np.where(filled > 0, filled, 1.0)).astype(np.float32), 5)  # stage-1 noise
    on_ground = _on_ground(depth, ground, settings)
    cut = depth <= 0
    if settings.ground_cut:
        cut |= on_ground
    step = np.log1p(settings.segment_step)
    across = np.diff(log_depth, axis=1)  # [h,w-1]: the farther pixel of a step is cut, the nearer keeps its edge
    cut[:, :-1] |= across < -step
    cut[:, 1:] |= across > step
    down = np.diff(log_depth, axis=0)
    cut[:-1] |= down < -step
    cut[1:] |= down > step
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~cut).astype(np.uint8), connectivity=4)
    rate = _ground_rate(ground)
    bottom_row = h - 1 - int(settings.border_px * max(h, w) / 320.0)
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= settings.min_area * h * w):
        top, height = stats[label, cv2.CC_STAT_TOP], stats[label, cv2.CC_STAT_HEIGHT]
        if label == 0 or top + height - 1 >= bottom_row:
            continue  # reaching the image bottom: no seen contact (the floor past a table's edge)
        region = labels == label
        rows, columns = _lowest(region)
        contact = ground[rows, columns]
        if not np.isfinite(contact).all() or not _stands(region, on_ground & ~region, settings.contact_rows):
            continue
        ratio = float(np.median(depth[rows, columns]) / np.median(contact))
        if ratio > 1.0 + settings.underground:
            out[region] = BEYOND
        elif settings.floating > 0 and ratio < 1.0 - settings.floating and _upright(depth, region, rate, settings):
            out[region] = FLOATING
    return out


def _upright(depth: np.ndarray, region: np.ndarray, ground_rate: float, settings: MoverSettings) -> bool:
    """``region``'s inverse depth grows downwards less than ``upright_slope`` times the ground's rate
    ``ground_rate`` (per row): a vertical surface, not a horizontal one (a table top) seen from above."""
    ys, _ = np.nonzero(region)
    if np.ptp(ys) < 2 or ground_rate <= 0:
        return False
    slope = np.polyfit(ys.astype(np.float64), 1.0 / depth[region].astype(np.float64), 1)[0]
    return bool(slope < settings.upright_slope * ground_rate)


def _lowest(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns ``[n]`` of the lowest pixels of ``region`` (its ground contact when it stands on the
    ground): the bottom edge where it lies within a tenth of its own span (at least 2 rows) of its lowest row."""
    bottom, columns = _bottom_edge(region)
    top, low = int(bottom.min()), int(bottom.max())
    lowest = bottom >= low - max(2, (low - top) // 10)
    return bottom[lowest], columns[lowest]


def _on_ground(depth: np.ndarray, ground: np.ndarray, settings: MoverSettings) -> np.ndarray:
    """``[h,w]`` bool: pixels whose depth is the ground plane's ``[h,w]`` (within twice the RANSAC tolerance)."""
    return (depth > 0) & np.isfinite(ground) & (np.abs(depth - ground) < 2 * settings.ground_tolerance * ground)


def _bottom_edge(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest row ``[n]`` of ``region`` in each of its ``n`` columns, and those columns ``[n]``."""
    has = region.any(axis=0)
    columns = np.flatnonzero(has)
    bottom = region.shape[0] - 1 - np.argmax(region[::-1, columns], axis=0)
    return bottom, columns


def _stands(region: np.ndarray, on_ground: np.ndarray, rows: int) -> bool:
    """``region`` stands on the ground: it does not touch the image bottom, and the ground holds a pixel among the
    ``rows`` rows under its bottom edge in at least half of its columns."""
    h = region.shape[0]
    bottom, columns = _bottom_edge(region)
    if bottom.max() >= h - 2:
        return False
    below = np.clip(bottom[:, None] + np.arange(2, 2 + rows), 0, h - 1)  # [n, rows]
    return bool(on_ground[below, columns[:, None]].any(axis=1).mean() >= 0.5)


def _inside(positions: np.ndarray, margin: float) -> np.ndarray:
    """``[h,w]`` bool: the positions ``[h,w,2]`` lie at least ``margin`` pixels inside an image of the same size."""
    h, w = positions.shape[:2]
    u, v = positions[..., 0], positions[..., 1]
    return (u >= margin) & (u <= w - 1 - margin) & (v >= margin) & (v <= h - 1 - margin)


def nearest_fill(depth: np.ndarray) -> np.ndarray:
    """``[h,w]`` depth with every hole (0) taking the depth of its nearest valid pixel (all holes if none)."""
    import cv2

    holes = depth <= 0
    if not holes.any() or holes.all():
        return np.asarray(depth, np.float32)
    _, labels = cv2.distanceTransformWithLabels(holes.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    by_label = np.zeros(labels.max() + 1, np.float32)
    by_label[labels[~holes]] = depth[~holes]
    return by_label[labels]


def ground_depth(depth: np.ndarray, static: np.ndarray, settings: MoverSettings, seed: int = 0) -> np.ndarray | None:
    """``[h,w]`` depth of the ground plane of one frame (``inf`` above its horizon), or None when none is found.

    A 3D plane is a plane in inverse depth over the image, ``1/z = a·v + b·u + c``; the ground is the one that
    holds the most static pixels of the frame's lowest third (RANSAC, relative tolerance ``ground_tolerance``)
    among the planes whose inverse depth grows downwards (``a > 0``) more than sideways (``a ≥ 2 |b|``), with a
    horizon (``1/z = 0``) less than an image height above the image (a fronto-parallel wall has none).
    """
    h, w = depth.shape
    ys, xs = np.nonzero(static[2 * h // 3 :])
    ys = ys + 2 * h // 3
    if len(xs) < 100:
        return None
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(xs), min(len(xs), 4000), replace=False)
    design = np.stack([ys[pick], xs[pick], np.ones(len(pick))], axis=1).astype(np.float64)  # [N,3] (v, u, 1)
    inverse = 1.0 / depth[ys[pick], xs[pick]].astype(np.float64)
    samples = np.stack([rng.choice(len(pick), 3, replace=False) for _ in range(settings.ground_iterations)])  # [S,3]
    coef, solved = _solve_planes(design[samples], inverse[samples])  # [S,3], [S]
    with np.errstate(divide="ignore", invalid="ignore"):
        horizon = np.where(coef[:, 0] > 0, -(coef[:, 1] * w / 2 + coef[:, 2]) / coef[:, 0], -np.inf)  # 1/z = 0
    candidates = np.flatnonzero(solved & ~(coef[:, 0] < 2 * np.abs(coef[:, 1])) & ~(horizon < -h))
    counts = _inlier_counts(design, inverse, coef[candidates], settings.ground_tolerance)
    if not candidates.size or counts.max() == 0 or counts.max() < settings.ground_min_fraction * len(pick):
        return None
    winner = coef[candidates[np.argmax(counts)]]  # the first hypothesis with the most inliers
    best = np.abs(design @ winner - inverse) < settings.ground_tolerance * inverse
    coef = np.linalg.lstsq(design[best], inverse[best], rcond=None)[0]
    plane = coef[0] * np.arange(h)[:, None] + coef[1] * np.arange(w)[None, :] + coef[2]  # [h,w]
    return np.where(plane > 1e-12, 1.0 / np.maximum(plane, 1e-12), np.inf)


def _solve_planes(design: np.ndarray, inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The planes ``[S,3]`` through the RANSAC samples (``design [S,3,3]`` rows ``(v, u, 1)``, ``inverse [S,3]``),
    and ``[S]`` bool whether each sample's system was solvable (an exactly singular one is not: its plane is 0)."""
    try:
        return np.linalg.solve(design, inverse[..., None])[..., 0], np.ones(len(design), bool)
    except np.linalg.LinAlgError:  # some sample is degenerate (e.g. three pixels of one row): solve one by one
        coef, solved = np.zeros((len(design), 3)), np.ones(len(design), bool)
        for k in range(len(design)):
            try:
                coef[k] = np.linalg.solve(design[k], inverse[k])
            except np.linalg.LinAlgError:
                solved[k] = False
        return coef, solved


def _inlier_counts(design: np.ndarray, inverse: np.ndarray, coef: np.ndarray, tolerance: float) -> np.ndarray:
    """``[S]`` how many of the points (``design [N,3]`` rows ``(v, u, 1)``, ``inverse [N]``) each plane ``coef
    [S,3]`` holds within ``tolerance`` (relative); in chunks of planes (cache-sized), each plane's prediction the
    matrix-vector product of a lone plane (the same rounding)."""
    counts = np.zeros(len(coef), np.int64)
    limit = tolerance * inverse
    for start in range(0, len(coef), 32):
        chunk = coef[start : start + 32]
        residual = np.matmul(design, chunk[:, :, None])[..., 0]  # [s,N]
        residual -= inverse
        np.abs(residual, out=residual)
        counts[start : start + 32] = np.count_nonzero(residual < limit, axis=1)
    return counts


def _mover_depth(
    depth: np.ndarray,
    moving: np.ndarray,
    ground: np.ndarray | None,
    s: MoverSettings,
    floating: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One frame: the mover regions that stand on the ground (``ground``, the ground plane's depth ``[h,w]``; seen
    under them, or they reach the image bottom) and that stage 1 left mostly untriangulated or put beyond the ground
    (``beyond_share`` of their pixels by more than ``underground``) get the ground's depth under their lowest pixels
    (their ground contact); untriangulated ones without a contact, with ``hole_bound``, the occlusion bound (a low
    percentile of the ring around them); the rest keep stage 1's depth (a static surface with a wrong depth may be
    flagged too, and a static surface is never beyond the ground). ``floating`` ``[h,w]`` bool: the segments that
    float in front of their contact (:func:`contact_segments`); a region they cover by ``beyond_share`` gets its
    contact too. Returns the depth ``[h,w]`` and where it was replaced ``[h,w]`` bool."""
    import cv2

    static = (depth > 0) & ~moving
    out = np.array(depth, dtype=np.float32, copy=True)
    handled = np.zeros(depth.shape, bool)
    # the same for every region: the pixels on the ground plane [h,w] bool and the plane's inverse-depth rate
    ground_px = _on_ground(depth, ground, s) if ground is not None else None
    on_ground = ground_px & ~moving if ground_px is not None else None
    rate = _ground_rate(ground) if ground is not None and (s.oncoming > 0 or floating is not None) else 0.0
    margin = int(s.border_px * max(depth.shape) / 320.0) + 3  # the segmentation does not reach closer to the border
    rim = round(s.rim_px * max(depth.shape) / 320.0)
    rim_kernel = np.ones((2 * rim + 1, 2 * rim + 1), np.uint8)
    count, labels = cv2.connectedComponents(moving.astype(np.uint8), connectivity=8)
    ring_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * s.ring_px + 1, 2 * s.ring_px + 1))
    for label in range(1, count):
        region = labels == label
        own = depth[region & (depth > 0)]
        mostly_hole = own.size < 0.5 * region.sum()
        contact = _contact_depth(region, ground) if ground is not None else None
        if contact is not None and s.seen_contact > 0:  # the region's lower part may be missing (a hole)
            seen_at = _seen_contact(region, ground, on_ground, s.contact_rows)
            contact = seen_at if seen_at is not None and seen_at < (1.0 - s.seen_contact) * contact else contact
        ring = cv2.dilate(region.astype(np.uint8), ring_kernel).astype(bool) & static
        bound = float(np.percentile(depth[ring], s.ring_percentile)) if ring.any() else np.inf
        # a static surface is never beyond the ground under it: only a region stage 1 put beyond its contact moves
        seen = contact is not None and _stands(region, on_ground, s.contact_rows)
        cut = bool(region[-margin:].any())  # its contact is below the image: the ground at the bottom row bounds it
        if s.hole_reach and mostly_hole and not (cut or seen) and ground is not None:
            reach = _hole_reach(region, (depth <= 0) | moving, margin)
            if reach is not None:  # its lower part is a hole down to the image bottom: cut there too
                cut, contact = True, _contact_depth(reach, ground)
                region = cv2.erode(reach.astype(np.uint8), rim_kernel).astype(bool) if rim else reach
        # an upright segment floating in front of its contact (contact_segments) covers a share of the region
        floats = floating is not None and (
            np.mean(floating[region]) >= s.beyond_share or _floats(depth, region, ground, ground_px, rate, s)
        )
        if ground is not None and (seen or cut) and (mostly_hole or floats or _beyond_ground(depth, region, ground, s)):
            value = contact
        elif mostly_hole and s.hole_bound:
            value = bound
        else:
            value = None
        if value is None and s.oncoming > 0 and ground is not None:
            region, value = _oncoming(depth, region, ground, ground_px, moving, rate, s)
        if value is None and s.beyond_part > 0 and ground is not None and (seen or cut):  # ground: a cut region
            region, value = _beyond_part(depth, region, ground, on_ground, s)
        if value is not None and np.isfinite(value) and value > 0:
            out[region] = value
            handled |= region
    return out, handled


def _beyond_part(
    depth: np.ndarray, region: np.ndarray, ground: np.ndarray, on_ground: np.ndarray, s: MoverSettings
) -> tuple[np.ndarray, float | None]:
    """The part of a mover ``region`` that is an object beyond the ground, when static pixels flagged with it set
    the region's own contact: the largest blob of its pixels beyond the ground (by ``underground``; opened, at
    least ``beyond_part`` of the frame, beyond its own contact by ``part_beyond``) that stands on the ground gives
    the contact, and the region's pixels not
    below that blob that stage 1 left a hole or put beyond the contact (by ``underground``) take it. Returns that
    part ``[h,w]`` bool and the contact depth (None: no such blob)."""
    import cv2

    h, w = depth.shape
    beyond = region & (depth > 0) & np.isfinite(ground) & (depth > ground * (1.0 + s.underground))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    beyond = cv2.morphologyEx(beyond.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(beyond, connectivity=8)
    if count < 2:
        return region, None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    blob = labels == largest
    if stats[largest, cv2.CC_STAT_AREA] < s.beyond_part * h * w or not _stands(blob, on_ground, s.contact_rows):
        return region, None
    contact = _contact_depth(blob, ground)
    if contact is None or np.median(depth[blob]) < (1.0 + s.part_beyond) * contact:
        return region, None
    above = np.arange(h)[:, None] <= int(np.nonzero(blob)[0].max())
    part = region & above & ((depth <= 0) | (depth > contact * (1.0 + s.underground)))
    return part, contact


def _hole_reach(region: np.ndarray, passable: np.ndarray, margin: int) -> np.ndarray | None:
    """``region`` ``[h,w]`` bool joined to the image bottom through ``passable`` pixels ``[h,w]`` bool (stage-1 holes
    and flagged pixels) in its own columns, no higher than its top (8-connected): that joined region ``[h,w]`` bool,
    or None when it does not reach the lowest ``margin`` rows."""
    import cv2

    ys, xs = np.nonzero(region)
    window = np.zeros_like(passable)
    window[ys.min() :, xs.min() : xs.max() + 1] = True
    _, labels = cv2.connectedComponents((passable & window).astype(np.uint8), connectivity=8)
    joined = np.intersect1d(labels[region], labels[-margin:])
    joined = joined[joined > 0]
    return np.isin(labels, joined) if joined.size else None


def _beyond_ground(depth: np.ndarray, region: np.ndarray, ground: np.ndarray, s: MoverSettings) -> bool:
    """At least ``beyond_share`` of ``region``'s triangulated pixels whose ray meets the ground lie beyond it (by
    ``underground``): impossible for a static surface (the ground would hide it), so the region moves and its depth
    is wrong."""
    tested = region & (depth > 0) & np.isfinite(ground)
    if not tested.any():
        return False
    return bool(np.mean(depth[tested] > ground[tested] * (1.0 + s.underground)) >= s.beyond_share)


def _floats(
    depth: np.ndarray, region: np.ndarray, ground: np.ndarray, on_ground: np.ndarray, rate: float, s: MoverSettings
) -> bool:
    """The triangulated part of ``region`` off the ground plane stands on the ground (seen under it), is upright,
    and stage 1 put its lowest pixels nearer than the ground under them by more than ``floating``: an object
    standing on the ground cannot be (an oncoming car triangulated as if static). ``on_ground``: the frame's pixels
    on the ground plane ``[h,w]`` bool (:func:`_on_ground`); ``rate``: the plane's :func:`_ground_rate`."""
    core = region & (depth > 0) & ~on_ground
    if core.sum() < 20 or not _stands(core, on_ground & ~core, s.contact_rows):
        return False
    rows, columns = _lowest(core)
    contact = ground[rows, columns]
    contact = contact[np.isfinite(contact)]
    if not contact.size or np.median(depth[rows, columns]) >= (1.0 - s.floating) * np.median(contact):
        return False
    return _upright(depth, core, rate, s)


def _oncoming(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    on_ground: np.ndarray,
    moving: np.ndarray,
    rate: float,
    s: MoverSettings,
) -> tuple[np.ndarray, float | None]:
    """An object approaching the camera (``oncoming``): the triangulated part of the mover ``region`` off the
    ground, extended down its columns through the off-ground pixels at its depth (the object's unflagged lower
    part), is upright, stands on a road (at least ``oncoming_support`` of the pixels under it on the ground, none
    of them a mover) and lies (median) nearer than the ground under its lowest pixels by more than ``oncoming``:
    no static object standing there can. ``on_ground``: the frame's pixels on the ground plane ``[h,w]`` bool
    (:func:`_on_ground`); ``rate``: the plane's :func:`_ground_rate`. Returns the region with that extension
    ``[h,w]`` bool and the contact depth, or ``region`` and None."""
    core = _extend_down(depth, region & (depth > 0) & ~on_ground, (depth > 0) & ~on_ground, s.segment_step)
    contact = _approaching(depth, core, ground, on_ground & ~moving & ~core, 1.0 - s.oncoming, rate, s)
    if contact is not None:
        return region | core, contact
    if not s.oncoming_trim:
        return region, None
    # flagged road under the object (its flow drags the road's) sets a contact too near: only the pixels nearer
    # than the ground at their own row by ``oncoming`` count, and the margin is applied twice
    near = region & (depth > 0) & (depth < (1.0 - s.oncoming) * ground)
    contact = _approaching(depth, near, ground, on_ground & ~moving & ~near, (1.0 - s.oncoming) ** 2, rate, s)
    if contact is None:
        return region, None
    return (region & (np.arange(region.shape[0])[:, None] <= int(np.nonzero(near)[0].max()))) | near, contact


def _approaching(
    depth: np.ndarray,
    core: np.ndarray,
    ground: np.ndarray,
    support: np.ndarray,
    factor: float,
    rate: float,
    s: MoverSettings,
) -> float | None:
    """The contact depth of ``core`` ``[h,w]`` bool when it is upright (against the ground's inverse-depth
    ``rate``), stands on a road (``support`` ``[h,w]`` bool, ``oncoming_support``) and lies (median) nearer than
    ``factor`` times the ground under its lowest pixels; else None."""
    if core.sum() < 20 or not _stands(core, support, s.contact_rows):
        return None
    if _ground_share(depth, core, support, s.contact_rows) < s.oncoming_support:
        return None
    contact = _contact_depth(core, ground)
    if contact is None or np.median(depth[core]) >= factor * contact:
        return None
    if not _upright(depth, core, rate, s):
        return None
    return contact


def _extend_down(depth: np.ndarray, seed: np.ndarray, allowed: np.ndarray, step: float) -> np.ndarray:
    """``seed [h,w]`` bool grown down its columns, row by row, into ``allowed`` pixels whose depth differs from the
    pixel above by less than the relative ``step``."""
    grown = seed.copy()
    limit = np.log1p(step)
    log_depth = np.log(np.where(depth > 0, depth, 1.0))
    rows = np.flatnonzero(seed.any(axis=1))
    for row in range(int(rows[0]) if rows.size else depth.shape[0], depth.shape[0] - 1):
        grown[row + 1] |= grown[row] & allowed[row + 1] & (np.abs(log_depth[row + 1] - log_depth[row]) < limit)
    return grown


def _ground_share(depth: np.ndarray, region: np.ndarray, on_ground: np.ndarray, rows: int) -> float:
    """Median over ``region``'s columns of the share of the triangulated pixels among the ``rows`` rows under its
    bottom edge that lie on the ground (``on_ground [h,w]``): about 1 over a road, low under a car's cabin whose
    body below only crosses the ground plane's depth at a few rows."""
    h = region.shape[0]
    bottom, columns = _bottom_edge(region)
    below = np.clip(bottom[:, None] + np.arange(2, 2 + rows), 0, h - 1)  # [n, rows]
    seen = np.count_nonzero(depth[below, columns[:, None]] > 0, axis=1)
    return float(np.median(np.count_nonzero(on_ground[below, columns[:, None]], axis=1) / np.maximum(seen, 1)))


def _ground_rate(ground: np.ndarray) -> float:
    """How much the inverse depth of the ground plane ``[h,w]`` grows per row downwards (0 if it never shows)."""
    seen = np.isfinite(ground[:-1]) & np.isfinite(ground[1:])  # both rows below the horizon
    rate = np.diff(1.0 / ground, axis=0)
    return float(np.median(rate[seen])) if seen.any() else 0.0


def _seen_contact(region: np.ndarray, ground: np.ndarray, on_ground: np.ndarray, rows: int) -> float | None:
    """Ground depth ``ground [h,w]`` where the ground (``on_ground [h,w]`` bool) is first seen under the lowest
    pixels of ``region`` (within ``rows`` rows; median over the columns where it is), or None where it is seen under
    none of them."""
    h = region.shape[0]
    bottom, columns = _lowest(region)
    below = np.clip(bottom[:, None] + np.arange(1, 1 + rows), 0, h - 1)  # [n, rows]
    hit = on_ground[below, columns[:, None]] & ~region[below, columns[:, None]]
    has = hit.any(axis=1)
    if not has.any():
        return None
    values = ground[below[has, np.argmax(hit[has], axis=1)], columns[has]]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _contact_depth(region: np.ndarray, contact: np.ndarray) -> float | None:
    """Ground depth ``contact [h,w]`` under the lowest pixels of ``region`` (its ground contact), or None when
    their rays miss the ground."""
    values = contact[_lowest(region)]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _pose_from_flow(
    depth: np.ndarray, flow: np.ndarray, usable: np.ndarray, K: np.ndarray, threshold: float, seed: int
) -> np.ndarray | None:
    """``[4,4]`` pose of the other camera relative to this one from the stage-1 depth ``[h,w]`` and the flow
    ``[h,w,2]`` (PnP + RANSAC on an even subsample of the usable pixels; movers are its outliers), or None."""
    import cv2

    good = usable & (depth > 0)
    flat = np.flatnonzero(good)  # row-major, as np.nonzero (~5× faster than its row and column arrays)
    if len(flat) < 30:
        return None
    ys, xs = np.divmod(flat[:: max(1, len(flat) // 1500)], good.shape[1])
    pts = backproject_pixels(depth, K, ys, xs)  # [N,3]
    img = np.stack([xs + flow[ys, xs, 0], ys + flow[ys, xs, 1]], axis=1).astype(np.float64)
    cv2.setRNGSeed(seed)
    ok, rvec, tvec, inliers = cv2.solvePnPRansac(
        pts, img, K, None, iterationsCount=200, reprojectionError=threshold, confidence=0.999,
        flags=cv2.SOLVEPNP_SQPNP,
    )  # fmt: skip
    if not ok or inliers is None or len(inliers) < 20:
        return None
    inl = inliers.ravel()
    ok, rvec, tvec = cv2.solvePnP(pts[inl], img[inl], K, None, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
    pose = np.eye(4)
    pose[:3, :3] = cv2.Rodrigues(rvec)[0]
    pose[:3, 3] = tvec.ravel()
    return pose
