"""The moving-object step over a whole video (:func:`handle_movers`): blocks of frames with their context, the
segmentation, the per-frame mover depth on worker threads and the temporal tracking of each block."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.camera import pinhole
from stereodiff.flow import GreyProjection, dis_engine, grey_frame, grey_projection
from stereodiff.io.pages import new_array, release, trim_heap
from stereodiff.progress import logger, thread_map
from stereodiff.stage1.movers.depth import border_band, cut_rows, mover_depth, side_holes, up_holes
from stereodiff.stage1.movers.ground import FLOATING, contact_segments, ground_depth, ground_pixels, ground_rate
from stereodiff.stage1.movers.path import path_contact
from stereodiff.stage1.movers.segmentation import carry_edge_depth, segment_movers
from stereodiff.stage1.movers.settings import MoverSettings
from stereodiff.stage1.movers.shared import FrameDepth, SharedFindings
from stereodiff.stage1.movers.sway import SwayInputs, ground_normal
from stereodiff.stage1.movers.tracking import (
    STANDING_FOUND,
    carry_cut_depth,
    carry_hole_depth,
    carry_near_depth,
    carry_oncoming_depth,
    fill_missed_movers,
    track_cut_depth,
    track_mover_depth,
)
from stereodiff.types import SceneGeometry

__all__ = ["BLOCK_FRAMES", "handle_movers"]


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
    """Segment independently moving pixels and replace their depth by mover constraints (module docstring of
    :mod:`stereodiff.stage1.movers`).

    The video is handled in blocks of ``BLOCK_FRAMES`` frames, each with :func:`block_margin` frames of
    context on both sides (the flow checks, the temporal persistence and the tracking of a frame only look that
    far), so memory does not grow with the video's length; the mover confidence is taken per block.

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
        The scene with mover depth and confidence replaced and ``movers_given`` set (``[T,h,w]`` bool, the pixels
        whose depth the rules gave; a new object; inputs untouched; with ``reach_mask`` ``movers_reach`` too), and
        the ``[T,h,w]`` bool mover mask.
    """
    s = settings or MoverSettings()
    t, h, w = scene.depth.shape
    depth_out, confidence_out, valid_out, moving_out = (
        new_array(out_dir, f"movers_{name}", (t, h, w), dtype)
        for name, dtype in (("depth", np.float32), ("confidence", np.float32), ("valid", np.bool_), ("mask", np.bool_))
    )
    given_out = new_array(out_dir, "movers_given", (t, h, w), np.bool_)  # the scene's own array (same name)
    reach_out = new_array(out_dir, "movers_reach", (t, h, w), np.bool_) if _records_reach(s) else None
    margin = block_margin(s, t)
    projection = grey_projection(frames, (h, w), s.flow_grey)  # one grey mapping for the whole video
    moving_px = 0
    shared = SharedFindings()
    for start in range(0, t, BLOCK_FRAMES):
        stop = min(t, start + BLOCK_FRAMES)
        first, last = max(0, start - margin), min(t, stop + margin)
        shared.block(first, stop - margin if stop < t else t)  # the next block's first frame
        block = _frames_of(scene, first, last)
        depth, confidence, moving, given, reached = _handle_block(
            frames, block, first, s, num_workers, (start, stop), shared, projection, scene.depth, t, scene.pair_spread
        )
        core = slice(start - first, stop - first)
        depth_out[start:stop], confidence_out[start:stop] = depth[core], confidence[core]
        valid_out[start:stop], moving_out[start:stop] = depth[core] > 0, moving[core]
        given_out[start:stop] = given[core]
        if reach_out is not None:
            reach_out[start:stop] = reached[core]
        moving_px += int(np.count_nonzero(moving[core]))
        del block, depth, confidence, moving, given  # the next block's arrays replace these, they do not join them
        # not flushed (a shared map's dropped pages stay in the page cache; a killed run redoes the step, and the
        # pipeline flushes what it keeps when it saves the scene): no synchronous disk write per block
        release(depth_out, confidence_out, valid_out, moving_out, given_out, scene.depth, scene.confidence)
        trim_heap()  # the block's freed arrays leave the resident set too
    logger.info("movers: %.1f%% of the pixels move independently", 100 * moving_px / max(t * h * w, 1))
    arrays = {"depth": depth_out, "confidence": confidence_out, "valid": valid_out, "movers_given": given_out}
    scene = replace(scene, **arrays, movers_reach=reach_out)
    return scene, moving_out


def _records_reach(s: MoverSettings) -> bool:
    """Whether the movers step records ``movers_reach`` (``reach_mask``): the pixels ``hole_reach`` joined, or those
    ``hole_occluded`` gave with ``hole_occluded_after_near``."""
    return s.reach_mask and (s.hole_reach or (s.hole_occluded and s.hole_occluded_after_near))


def block_margin(s: MoverSettings, num_frames: int) -> int:
    """Frames of context on each side of a block of ``BLOCK_FRAMES`` (the flow checks, the temporal persistence and
    the tracking of a frame look that far); ``num_frames`` when the video is one block."""
    if num_frames <= BLOCK_FRAMES:
        return num_frames
    return (
        max(
            (
                *s.offsets,
                *s.short_offsets,
                s.track_frames,
                s.track_missed,
                s.cut_track,
                s.cut_carry,
                s.carry_standing,
                s.oncoming_carry,
                s.near_carry,
                s.entry_carry + s.entry_chain,
                s.edge_carry,
                s.persist_frames,
            )
        )
        + 1
    )


def _handle_block(
    frames: Any,
    scene: SceneGeometry,
    first: int,
    s: MoverSettings,
    num_workers: int,
    core: tuple[int, int],
    shared: SharedFindings,
    projection: GreyProjection | None = None,
    source: np.ndarray | None = None,
    video_frames: int | None = None,
    spread: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`handle_movers` on one block: ``scene`` holds the block's frames, the first being video frame
    ``first``; ``core``: the video frames ``(start, stop)`` whose depth is wanted (the others are context: without
    ``track_frames`` / ``track_missed`` their mover depth is not computed); ``shared``: see
    :class:`~.shared.SharedFindings`; ``projection``: the grey conversion (:func:`grey_projection`); ``source``:
    the whole video's ``[T,h,w]`` input depth (left untouched; ``scene``'s depth is a copy of its frames), which the
    sway cue compares a frame's depth with to reuse the ground plane fitted on it; ``video_frames``: the video's
    length (``None``: the block is the whole video); ``spread``: the whole video's ``[T,h,w]`` ``pair_spread``
    (``far_spread``; None = none). Returns its ``[n,h,w]`` depth
    and confidence (``scene``'s own arrays, written in place: no second copy of the block), mover mask, the
    ``[n,h,w]`` bool pixels whose depth the rules gave and, with ``reach_mask``, those of them ``hole_reach``
    joined (else None)."""
    n, h, w = scene.depth.shape
    grey = np.stack([grey_frame(frames[k], (h, w), projection) for k in range(first, first + n)])  # [n,h,w]
    moving = segment_movers(grey, scene, s, first, num_workers, shared, video_frames)
    depth, confidence = scene.depth, scene.confidence  # the block's own copies (:func:`_frames_of`): written here
    static_conf = confidence[(depth > 0) & ~moving]
    mover_conf = s.confidence * (float(np.median(static_conf)) if static_conf.size else 1.0)
    handled = np.zeros((n, h, w), bool)
    reached = np.zeros((n, h, w), bool) if _records_reach(s) else None
    splits: dict[int, list[tuple[np.ndarray, float]]] = {}  # frame -> the parts ``split_feet`` split off
    sway_on = s.cut_track > 0 and s.cut_sway > 0 and source is not None
    carry_on = s.oncoming_carry > 0 and s.oncoming > 0
    near_on = s.near_carry > 0 and s.near_contact > 0
    before = depth.copy() if carry_on or near_on else None  # [n,h,w] stage 1's depth, for the carries' phantoms
    oncoming: dict[int, list[tuple[np.ndarray, float]]] = {}  # frame -> the regions the oncoming test gave a contact
    near: dict[int, list[tuple[np.ndarray, float]]] = {}  # frame -> the regions ``near_contact`` gave a contact
    grounds: dict[int, np.ndarray | None] = {}  # frame -> its ground plane's depth (the carries)

    def frame_depth(k: int) -> None:  # writes frame k only
        if not moving[k].any():
            return
        bits = np.packbits(moving[k])
        known = shared.depths.get(first + k)
        if known is not None and np.array_equal(known.moving, bits):  # the earlier block's, from the same mask
            depth[k].reshape(-1)[known.changed] = known.values
            handled[k] = np.unpackbits(known.handled, count=h * w).reshape(h, w).view(bool)
            if reached is not None and known.reached is not None:
                reached[k] = np.unpackbits(known.reached, count=h * w).reshape(h, w).view(bool)
            return
        ground = ground_depth(depth[k], (depth[k] > 0) & ~moving[k], s, seed=first + k)
        if carry_on or near_on:
            grounds[k] = ground
        if carry_on:
            oncoming[k] = []
        if near_on:
            near[k] = []
        if sway_on:  # depth[k] is still the source's frame here: the sway cue takes this fit's normal
            normal = None if ground is None else ground_normal(ground, pinhole(float(scene.focal[k]), (h, w)))
            shared.normals[first + k] = (bits, normal)
        floating = contact_segments(depth[k], ground, s) == FLOATING if s.floating > 0 else None
        splits[k] = []
        pairs = None if spread is None or s.far_spread <= 0 else np.asarray(spread[first + k])
        joined: list[np.ndarray] | None = [] if reached is not None else None
        found, handled[k] = mover_depth(
            depth[k], moving[k], ground, s, floating, splits[k], oncoming.get(k), near.get(k), pairs, joined
        )
        if reached is not None:
            reached[k] = np.logical_or.reduce(joined, axis=0) if joined else False
        found = found.astype(np.float32, copy=False)  # as the assignment rounds it
        if shared.wanted(first + k):
            changed = np.flatnonzero(found.view(np.uint32) != depth[k].view(np.uint32))  # bit for bit (NaN too)
            packed = None if reached is None else np.packbits(reached[k])
            shared.depths[first + k] = FrameDepth(
                bits, changed, found.reshape(-1)[changed], np.packbits(handled[k]), packed
            )
        depth[k] = found

    tracks = (s.track_frames, s.track_missed, s.hole_carry, s.cut_track, s.cut_carry, s.carry_standing)
    tracked = any(v > 0 for v in tracks) or carry_on or near_on
    wanted = range(n) if tracked else range(core[0] - first, core[1] - first)
    thread_map(frame_depth, wanted, num_workers, "movers: depth")
    if s.cut_track > 0:
        sway = (
            SwayInputs(
                moving,
                np.asarray(scene.focal),
                s,
                np.asarray(scene.cam_to_world),
                None if source is None else source[first : first + n],
            )
            if s.cut_sway > 0
            else None
        )
        margin = cut_rows((h, w), s)
        handled |= track_cut_depth(
            grey,
            depth,
            handled,
            s.cut_track,
            margin,
            first,
            num_workers,
            shared,
            variational_iterations=s.flow_variational_iterations,
            sway=sway,
            by_value=s.cut_track_values,
        )
    if s.cut_carry > 0:
        margin = cut_rows((h, w), s)
        handled |= carry_cut_depth(
            grey,
            depth,
            handled,
            s.cut_carry,
            margin,
            s.underground,
            num_workers,
            s.flow_variational_iterations,
            partial=s.cut_carry_partial,
        )
    if s.carry_standing > 0:  # every given region found in its neighbouring frames: the whole image is its band
        handled |= carry_cut_depth(
            grey,
            depth,
            handled,
            s.carry_standing,
            h,
            s.underground,
            num_workers,
            s.flow_variational_iterations,
            found_share=STANDING_FOUND,
            ring=s.carry_standing_ring,
            flagged=moving if s.carry_standing_flagged else None,
        )
    if carry_on or near_on:
        planes: dict[int, tuple[np.ndarray, np.ndarray, float] | None] = {}

        def ground_of(k: int) -> tuple[np.ndarray, np.ndarray, float] | None:
            if k not in planes:
                if k not in grounds:  # a frame without movers: its ground as frame_depth fits it
                    grounds[k] = ground_depth(before[k], (before[k] > 0) & ~moving[k], s, seed=first + k)
                ground = grounds[k]
                planes[k] = (
                    None if ground is None else (ground, ground_pixels(before[k], ground, s), ground_rate(ground))
                )
            return planes[k]

        if carry_on:
            handled |= carry_oncoming_depth(before, depth, moving, handled, oncoming, s.oncoming_carry, s, ground_of)
        if near_on:
            handled |= carry_near_depth(before, depth, handled, near, s.near_carry, s, ground_of)
        del before
    if s.track_frames > 0:
        handled |= track_mover_depth(depth, moving, handled, s.track_frames, s.underground)
    if s.track_missed > 0:
        shrink = round(2 * max(h, w) / 320.0)
        handled |= fill_missed_movers(depth, moving, handled, s.track_missed, s.underground, shrink)
    if s.hole_carry > 0:
        handled |= carry_hole_depth(depth, handled, s.hole_carry, s.min_area)
    for k, parts in splits.items():  # the tracking gave a joined region one value again
        for part, farther in parts:
            depth[k][part] = farther
    if s.up_holes > 0:  # a given region's unflagged head: the bounded hole straight above it, its depth
        _up_holes(depth, moving, handled, grey, s, num_workers)
    if s.border_band:  # a given region cut by the image's side: its depth to the band the flow checks do not reach
        _border_bands(depth, handled, s, border_band)
    if s.side_holes > 0:  # a near person cut by the image bottom at its side: her holes out to the side
        _border_bands(depth, handled, s, side_holes)
    if s.edge_carry > 0:  # her holes where she leaves or enters through the image's border: the rules' depth
        engine = dis_engine("fast", variational_iterations=s.flow_variational_iterations)
        edges = carry_edge_depth(grey, depth, handled, moving, np.asarray(scene.focal), s, engine, first)
        moving |= edges
        handled |= edges
    confidence[handled] = mover_conf
    if s.path_contact > 0 or (s.path_side and s.path_near > 0):
        path = np.zeros((n, h, w), bool)
        _path_contacts(depth, moving, path, scene.principal_point[:, 0], first, core, s, num_workers, handled)
        confidence[path] = mover_conf * s.path_confidence
        handled |= path
    return depth, confidence, moving, handled, reached


def _up_holes(
    depth: np.ndarray, moving: np.ndarray, handled: np.ndarray, grey: np.ndarray, s: MoverSettings, num_workers: int
) -> None:
    """``up_holes`` on every frame of a block, in place: ``depth`` ``[n,h,w]`` (after the rules and the tracking)
    takes, in the holes :func:`~.depth.up_holes` finds above each given region, the depth of the region's highest
    pixel in their column, and ``handled`` ``[n,h,w]`` bool is set there; ``grey`` ``[n,h,w]`` uint8."""

    def frame(k: int) -> None:  # writes frame k only
        if not handled[k].any():
            return
        taken = up_holes(depth[k], moving[k], handled[k], grey[k], s)
        if taken.any():
            top = np.argmax(handled[k], axis=0)  # [w] the given pixels' highest row per column
            column_depth = depth[k][top, np.arange(depth.shape[2])]  # [w]
            depth[k][taken] = np.broadcast_to(column_depth, taken.shape)[taken]
            handled[k] |= taken

    thread_map(frame, range(depth.shape[0]), num_workers, "movers: up holes")


def _border_bands(depth: np.ndarray, handled: np.ndarray, s: MoverSettings, rule: Callable) -> None:
    """``border_band`` (or ``side_holes``: ``rule``, :func:`~.depth.border_band` or :func:`~.depth.side_holes`) on
    every frame of a block, in place: ``depth`` ``[n,h,w]`` (after the rules, the tracking and ``up_holes``) takes the
    depth ``rule`` gives towards the image's sides, and ``handled`` ``[n,h,w]`` bool is set there."""
    for k in range(depth.shape[0]):
        if handled[k].any():
            band = rule(depth[k], handled[k], s)
            taken = band > 0
            depth[k][taken] = band[taken]
            handled[k] |= taken


def _path_contacts(
    depth: np.ndarray,
    moving: np.ndarray,
    given: np.ndarray,
    epipole_u: np.ndarray,
    first: int,
    core: tuple[int, int],
    s: MoverSettings,
    num_workers: int,
    handled: np.ndarray,
) -> None:
    """``path_contact`` on the ``core`` frames of a block (video frame ``first`` first), in place: ``depth``
    ``[n,h,w]`` (after the other rules; each frame's ground plane is fitted again on it, the movers excluded) and
    ``given`` ``[n,h,w]`` bool (set where it gave a depth); ``epipole_u`` ``[n]``: the heading's column per frame —
    the principal point's, for a camera that moves along its view (:func:`~.path.path_contact`); ``handled``
    ``[n,h,w]`` bool: the pixels the other rules gave a depth (``path_near_foot`` leaves them out)."""

    def frame(k: int) -> None:  # writes frame k only
        ground = ground_depth(depth[k], (depth[k] > 0) & ~moving[k], s, seed=first + k)
        if ground is not None:
            on_ground = ground_pixels(depth[k], ground, s)
            depth[k], given[k] = path_contact(depth[k], ground, on_ground, epipole_u[k], s, handled[k])

    thread_map(frame, range(core[0] - first, core[1] - first), num_workers, "movers: path")


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
