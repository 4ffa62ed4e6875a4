"""Segmentation of the independently moving pixels (module docstring of :mod:`stereodiff.stage1.movers`, step 1):
the flow against the rigid flow of the aligned static scene (:func:`rigid_flow`, a per-pair pose by PnP), the
ground evidence of :mod:`stereodiff.stage1.movers.ground`, and the temporal persistence of the regions
(:func:`segment_movers`)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from stereodiff.camera import backproject, backproject_pixels, pinhole, pixel_grid, rotate
from stereodiff.flow import dis_flows, forward_backward, hypot32, inside_image, sample_flow, thread_dis_engine
from stereodiff.progress import thread_imap, thread_map
from stereodiff.stage1.epipolar import fundamental_from_pose, sampson_distance
from stereodiff.stage1.fusion import nearest_fill
from stereodiff.stage1.movers.ground import CUT, contact_segments, cut_in_neighbours, ground_depth, underground
from stereodiff.stage1.movers.settings import MoverSettings
from stereodiff.stage1.movers.shared import FrameCheck, SharedFindings
from stereodiff.types import SceneGeometry

__all__ = [
    "carry_edge_depth",
    "cue_persistent_regions",
    "flow_explains",
    "persistent_regions",
    "pose_from_flow",
    "rigid_flow",
    "segment_movers",
]


def rigid_flow(depth: np.ndarray, K: np.ndarray, own_to_other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flow ``[h,w,2]`` a static world would show from this frame to another, and where it is defined ``[h,w]``.

    Args:
        depth: ``[h,w]`` camera-z depth of this frame (0 = unknown).
        K: ``[3,3]`` intrinsics at ``depth``'s resolution (both frames).
        own_to_other: ``[4,4]`` transform from this camera's coordinates to the other camera's.
    """
    h, w = depth.shape
    rotated = rotate(backproject(depth, K), own_to_other[:3, :3])  # [h,w,3]
    shift = own_to_other[:3, 3]  # added axis by axis (one broadcast add over the 3-long last axis is ~3× slower)
    z = np.add(rotated[..., 2], shift[2])
    defined = (depth > 0) & (z > 1e-9)
    undefined = ~defined
    safe = np.where(defined, z, 1.0)
    flow = np.empty((h, w, 2), np.float32)
    projected = np.empty((h, w))  # one float64 buffer for both axes, every step in place
    for axis, position in enumerate(_pixel_positions(h, w)):  # projected − pixel position, axis by axis
        np.add(rotated[..., axis], shift[axis], out=projected)
        projected *= K[axis, axis]
        projected /= safe
        projected += K[axis, 2]
        projected -= position
        projected[undefined] = 0.0
        flow[..., axis] = projected  # rounded to float32
    return flow, defined


@functools.cache
def _pixel_positions(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """The pixel columns ``[1,w]`` and rows ``[h,1]`` of an ``(h, w)`` image as float64 (broadcast over the image;
    the values of :func:`~stereodiff.camera.pixel_grid`, whole numbers, exact in either type)."""
    columns, rows = np.arange(w, dtype=np.float64)[None, :], np.arange(h, dtype=np.float64)[:, None]
    columns.flags.writeable = rows.flags.writeable = False
    return columns, rows


def segment_movers(
    grey: np.ndarray,
    scene: SceneGeometry,
    settings: MoverSettings,
    first: int = 0,
    num_workers: int = 1,
    shared: SharedFindings | None = None,
    video_frames: int | None = None,
) -> np.ndarray:
    """``[T,h,w]`` bool: pixels whose flow to the neighbouring frames the aligned static scene does not explain,
    cleaned into regions that persist over time (:mod:`stereodiff.stage1.movers`, step 1). ``first``: the video
    index of the first frame (seeds the per-frame RANSAC fits by video frame, so a block of a video gives what the
    whole video does). ``num_workers``: threads for the pairs' flow checks and the per-frame steps (the output does
    not depend on it). ``shared``: pair checks and ground findings shared with the neighbouring blocks
    (:class:`~stereodiff.stage1.movers.shared.SharedFindings`). ``video_frames``: the video's length (``None``: the
    block is the whole video; ``end_offset`` acts at the video's first and last frames, not a block's)."""
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
    inner = inside_image(pixel_grid(h, w), s.border_px * scale)
    pairs = [(a, a + o) for o in sorted({min(o, t - 1) for o in s.offsets if t > 1}) for a in range(t - o)]
    long_pairs = len(pairs)
    pairs += [(a, a + o) for o in sorted({min(o, t - 1) for o in s.short_offsets if t > 1}) for a in range(t - o)]
    # the short offsets' counts (allocated only with short pairs), used where the long offsets saw no consistent flow
    short_votes, short_checks = (np.zeros((t, h, w) if len(pairs) > long_pairs else 0, np.uint8) for _ in range(2))
    short_pairs = len(pairs)
    # the clip's end frames (no partner at the least long offset on one side): checked at ``end_offset`` too
    ends = _end_frames(t, first, s, video_frames)
    if ends:
        o = s.end_offset
        pairs += sorted({(a, a + o) for k in ends for a in (k - o, k) if a >= 0 and a + o < t} - set(pairs))
    # the pairs that exist only for the end frames, where ``end_photometric`` guards the flags (a short offset's
    # pair is checked as such)
    guarded = bool(ends) and s.end_photometric > 0 and s.end_offset not in {min(o, t - 1) for o in s.short_offsets}
    end_counts = {k: np.zeros((3, h, w), np.uint8) for k in ends}  # per end frame: votes, checks, off the epipolar
    ends_video = {first + k for k in ends}

    def check(pair: tuple[int, int]) -> list[FrameCheck]:
        """Both frames' flow checks of one pair (a frame without a pose for the pair has none)."""
        key = (first + pair[0], first + pair[1])
        if shared is not None and key in shared.checks:
            return shared.unpack(shared.checks[key], first)
        results = check_pair(pair)
        if shared is not None and shared.wanted(*key):
            shared.checks[key] = shared.pack(results, first)
        return results

    def check_pair(pair: tuple[int, int]) -> list[FrameCheck]:
        a, b = pair
        flow_ab, flow_ba = dis_flows(thread_dis_engine(local, "fast", s.flow_variational_iterations), grey[a], grey[b])
        results = []
        for own, fwd, bwd in ((a, flow_ab, flow_ba), (b, flow_ba, flow_ab)):
            target, _, miss = forward_backward(fwd, bwd)
            usable = (miss < 1.0 * scale) & inner & inside_image(target, s.border_px * scale)  # DIS: poor at borders
            K = pinhole(float(scene.focal[own]), (h, w))
            fit = _flow_residual(scene.depth[own], static_depth[own], fwd, usable, K, s, scale, first + own)
            if fit is None:
                continue
            pose, residual, rigid_px, defined = fit
            limit = s.residual_px * scale + s.residual_rel * rigid_px
            checked = usable & defined
            off = None
            if s.epipolar_share > 0:
                # a static pixel with a wrong depth still moves along its epipolar line; a mover mostly leaves it
                F = fundamental_from_pose(pose[:3, :3], pose[:3, 3] / max(np.linalg.norm(pose[:3, 3]), 1e-12), K)
                epipolar = sampson_distance(grid, target.reshape(-1, 2), F).reshape(h, w)
                off = checked & (epipolar > s.epipolar_px * scale)
            moved = checked & (residual > limit)
            if guarded and b - a == s.end_offset and first + own in ends_video:
                rigid, _ = rigid_flow(static_depth[own], K, pose)
                other = b if own == a else a
                moved &= flow_explains(grey[own], grey[other], fwd, rigid, s.end_photometric, scale)
            results.append(FrameCheck(own, moved, checked, off))
        return results

    for index, results in enumerate(thread_imap(check, pairs, num_workers)):
        for own, flagged, checked, off in results:  # bool masks added as their 0/1 bytes (no cast to uint8)
            if index >= short_pairs or (own in end_counts and pairs[index][1] - pairs[index][0] == s.end_offset):
                if own in end_counts:
                    end_counts[own][0] += flagged.view(np.uint8)
                    end_counts[own][1] += checked.view(np.uint8)
                    if off is not None:
                        end_counts[own][2] += off.view(np.uint8)
                if index >= short_pairs:
                    continue
            if index >= long_pairs:
                short_votes[own] += flagged.view(np.uint8)
                short_checks[own] += checked.view(np.uint8)
                continue
            votes[own] += flagged.view(np.uint8)
            checks[own] += checked.view(np.uint8)
            if off is not None:
                off_epipolar[own] += off.view(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * s.persist_px + 1, 2 * s.persist_px + 1))
    opened, grown = np.empty((t, h, w), np.uint8), np.empty((t, h, w), np.uint8)
    # with ``persist_ground``: each frame's ground-cue flags grown by ``persist_px``, where the wider reach applies
    cue = np.zeros((t, h, w), bool) if s.persist_ground and s.persist_frames > 1 else None

    def beyond_ground(k: int) -> np.ndarray:  # [h,w] uint8: regions the ground says move (| CUT: if neighbours too)
        if shared is not None and first + k in shared.ground:
            return shared.ground[first + k]
        depth_k = np.asarray(scene.depth[k])
        ground = ground_depth(depth_k, depth_k > 0, s, seed=first + k)
        found = np.zeros(depth_k.shape, np.uint8)  # without a ground (None) nothing lies beyond it
        if s.underground > 0:
            found |= underground(depth_k, ground, s)
        if s.segment_step > 0:
            found |= contact_segments(depth_k, ground, s) > 0
        if shared is not None and shared.wanted(first + k):
            shared.ground[first + k] = found
        return found

    def flagged(k: int) -> None:  # frame k's flagged regions, opened and grown (writes frame k only)
        votes_k, checks_k = votes[k], checks[k]
        # stage-1 holes with no consistent flow at the long offsets (a fast or deforming mover): the short ones decide
        if short_pairs > long_pairs:
            unseen = (checks_k == 0) & (np.asarray(scene.depth[k]) <= 0)
            votes_k[unseen], checks_k[unseen] = short_votes[k][unseen], short_checks[k][unseen]
        raw = (votes_k > s.vote_fraction * np.maximum(checks_k, 1)).astype(np.uint8)
        if s.weak_fraction < s.vote_fraction:  # hysteresis: weakly flagged pixels connected to strongly flagged ones
            weak = (votes_k > s.weak_fraction * np.maximum(checks_k, 1)) | (raw > 0)
            count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
            strong = np.bincount(labels.ravel(), weights=raw.ravel(), minlength=count) > 0
            strong[0] = False
            raw = strong[labels].astype(np.uint8)
        # a region flagged by the flow must also leave the epipolar lines somewhere (else it is static depth error)
        epipolar_flags = off_epipolar[k] > s.vote_fraction * np.maximum(checks_k, 1)
        if k in end_counts:  # an end frame: what its pairs at ``end_offset`` flag is flagged too
            end_votes, end_checks, end_off = end_counts[k]
            raw |= (end_votes > s.vote_fraction * np.maximum(end_checks, 1)).view(np.uint8)
            epipolar_flags |= end_off > s.vote_fraction * np.maximum(end_checks, 1)
        count, labels = cv2.connectedComponents(raw, connectivity=8)
        share = np.bincount(labels.ravel(), weights=epipolar_flags.ravel(), minlength=count)
        share /= np.maximum(np.bincount(labels.ravel(), minlength=count), 1)
        raw = ((share >= s.epipolar_share)[labels] & (labels > 0)).astype(np.uint8)
        if s.underground > 0 or s.segment_step > 0:
            found = grounds[k] if grounds is not None else beyond_ground(k)
            raw |= found & 1
            if cue is not None:
                cue[k] = cv2.dilate(found & 1, near) > 0
            if grounds is not None:  # a cut region counts where both neighbouring frames find one too
                around = [grounds[j] & CUT > 0 for j in (k - 1, k + 1) if 0 <= j < t]
                raw |= cut_in_neighbours(found & CUT > 0, around)
        opened[k] = cv2.morphologyEx(raw, cv2.MORPH_OPEN, kernel)
        grown[k] = cv2.dilate(opened[k], near)

    out = np.zeros((t, h, w), bool)
    min_px = s.min_area * h * w

    def persistent(k: int) -> None:  # writes out[k] only
        if cue is None:
            out[k] = persistent_regions(opened, grown, k, s.persist_frames, min_px)
        else:
            out[k] = cue_persistent_regions(opened, grown, cue[k], k, s.persist_frames, min_px)

    grounds = None  # every frame's ground findings, first, only where a frame's verdict reads its neighbours'
    if s.underground_cut and s.underground > 0:
        grounds = thread_map(beyond_ground, range(t), num_workers, "movers: ground")
    thread_map(flagged, range(t), num_workers, "movers: regions")
    thread_map(persistent, range(t), num_workers, "movers: persistence")
    if s.entry_carry > 0 and t > 1:
        engine = thread_dis_engine(local, "fast", s.flow_variational_iterations)
        carry_entries(out, grey, scene, static_depth, s, engine, first)
    return out


def persistent_regions(opened: np.ndarray, grown: np.ndarray, k: int, frames: int, min_px: float) -> np.ndarray:
    """``[h,w]`` bool: frame ``k``'s flagged regions that persist in time — a mover seen in frame ``k`` is seen near
    the same place on both sides: the pixels of ``opened[k]`` that ``grown`` flags in one of the nearest ``frames``
    frames before and in one of those after (one side only at the clip's ends), closed by a 5 × 5 kernel, in
    connected regions of at least ``min_px`` pixels. ``opened``: ``[T,h,w]`` uint8 (0/1) the opened flags;
    ``grown``: the same dilated by ``persist_px`` (``MoverSettings.persist_frames``: ``frames``)."""
    import cv2

    t = opened.shape[0]

    def side(step: int) -> np.ndarray:  # [h,w] uint8: grown over the nearest ``frames`` frames that way
        return np.bitwise_or.reduce(grown[k + 1 : k + 1 + frames] if step > 0 else grown[max(0, k - frames) : k])

    before = side(-1) if k > 0 else side(1) if t > 1 else opened[k]
    after = side(1) if k + 1 < t else before
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    region = cv2.morphologyEx(opened[k] & before & after, cv2.MORPH_CLOSE, kernel)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(region, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_px
    keep[0] = False
    return keep[labels]


def cue_persistent_regions(
    opened: np.ndarray, grown: np.ndarray, cue: np.ndarray, k: int, frames: int, min_px: float
) -> np.ndarray:
    """``[h,w]`` bool: :func:`persistent_regions` at the reach of 1 (the neighbouring frames), plus what the reach of
    ``frames`` keeps where ``cue`` (``[h,w]`` bool: frame ``k``'s ground-cue flags grown by ``persist_px``) is set
    (``MoverSettings.persist_ground``): a person whose phantom only the ground cue flags, in every other frame, is
    kept; the near object's and the static surfaces' flow flags keep the neighbouring frames' test."""
    strict = persistent_regions(opened, grown, k, 1, min_px)
    return strict | (persistent_regions(opened, grown, k, frames, min_px) & cue)


def flow_explains(
    own: np.ndarray, other: np.ndarray, flow: np.ndarray, rigid: np.ndarray, ratio: float, scale: float = 1.0
) -> np.ndarray:
    """``[h,w]`` bool: pixels of the ``own`` frame that the ``flow`` to the ``other`` frame explains better than
    the static scene's ``rigid`` flow (``MoverSettings.end_photometric``): the grey-level error along the rigid
    flow exceeds ``ratio`` times the error along the flow, each the mean absolute difference of the other frame
    sampled there (bilinear, border replicated) and this one over a box of ``5 × scale`` px, plus one grey level
    (flat regions, where neither error tells, stay unflagged). ``own``, ``other``: ``[h,w]`` uint8 grey;
    ``flow``, ``rigid``: ``[h,w,2]`` px from ``own`` to ``other``. A static pixel next to a mover, whose flow DIS
    drags along with hers, matches along the rigid flow; the mover's pixels along the flow."""
    import cv2

    h, w = own.shape
    columns, rows = _pixel_positions(h, w)
    box = 2 * round(2 * scale) + 1
    base = own.astype(np.float32)
    errors = []
    for field in (flow, rigid):
        sampled = cv2.remap(
            other, (columns + field[..., 0]).astype(np.float32), (rows + field[..., 1]).astype(np.float32),
            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        errors.append(cv2.blur(np.abs(sampled.astype(np.float32) - base), (box, box)) + 1.0)
    return errors[1] > ratio * errors[0]


def _end_frames(t: int, first: int, s: MoverSettings, video_frames: int | None) -> list[int]:
    """The frames (block indices) of a block of ``t`` frames starting at video frame ``first`` that have no partner
    at the least of ``s.offsets`` on one side of the video (its first and last ``min(offsets)`` frames), when
    ``s.end_offset`` is on and shorter than that offset; else none."""
    if s.end_offset <= 0 or not s.offsets or t < 2:
        return []
    total = first + t if video_frames is None else video_frames
    least = min(s.offsets)
    if s.end_offset >= least:
        return []
    return [k for k in range(t) if first + k < least or first + k + least >= total]


def carry_entries(
    out: np.ndarray,
    grey: np.ndarray,
    scene: SceneGeometry,
    static_depth: np.ndarray,
    s: MoverSettings,
    engine: object,
    first: int = 0,
) -> None:
    """Flags, in place in ``out [T,h,w]``, a mover while she enters (or leaves) through a side of the image, where
    the segmentation checks nothing (``border_px``): the flagged pixels of frame ``k`` are carried backwards along
    the flow ``k−1 → k`` into frame ``k−1`` (then on from there, at most ``entry_carry`` frames from a flagged
    frame), keeping only the carried pixels within ``ENTRY_BAND × border_px`` of the image's border, whose round
    trip holds (``1 px``), in connected regions most of whose pixels' flow ``k−1 → k`` the static scene's rigid flow
    does not explain (residual over the segmentation's limit ÷ ``o``, ``o`` the least of ``offsets``: DIS's flow
    over ``o`` frames is lost at the border): a static object at the border moves as its own depth predicts and is
    never taken. ``grey``: ``[T,h,w]`` uint8 frames; ``static_depth``: ``[T,h,w]`` the
    stage-1 depth with its holes filled by the nearest pixel; ``engine``: a DIS engine (``calc``).

    With ``entry_chain`` (``n`` frames, 0 = off) the band is the left and right sides only, and a pixel of frame
    ``a = k−1`` moves when its residual over the ``n`` one-frame flows ``a → a+1 → … → a+n`` chained
    (:func:`_chained_moves`; each link's round trip within ``ENTRY_CHAIN_MISS`` px) exceeds the segmentation's
    limit over ``n`` frames, and it is not seen static in the frame before (:func:`_seen_static`: the wall just
    ahead of an entering person, which she covers in frame ``a+1``, is seen in ``a−1`` where it moves as its depth
    predicts); the carried pixels then grow into the stage-1 holes of the band that move with them and connect to
    them, within regions the segmentation left almost unflagged (:func:`_grow_entry`). s900 (indoor-dynamic
    held-out, person 13 entering at the right border, offline on the preset's mask): of her, flagged in frames
    47–50 11 / 79 / 120 / 331 px (the one-frame carry) → 37 / 252 / 330 / 1030 px (of 68 / 399 / 1057 / 2076),
    static pixels taken in those frames 144–351 → 6–50 a frame; end to end the moving px 0.3977 → 0.3712, final
    0.03597 → 0.03605 (docs/geometric.md, "Entering movers")."""
    import cv2

    t, h, w = out.shape
    scale = max(h, w) / 320.0
    band = ENTRY_BAND * s.border_px * scale
    rows, columns = np.arange(h)[:, None], np.arange(w)[None, :]
    sides = np.broadcast_to(np.minimum(columns, w - 1 - columns) < band, (h, w))
    near_border = sides if s.entry_chain > 0 else (np.minimum(rows, h - 1 - rows) < band) | sides  # [h,w]
    inner = inside_image(pixel_grid(h, w), s.border_px * scale)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    age = np.where(out, 0, s.entry_carry + 1).astype(np.int32)  # frames since the flagged frame carried from
    segmented = out.copy() if s.entry_chain > 0 else out  # the segmentation's own flags
    flows: dict[tuple[int, int], np.ndarray] = {}

    def flow(a: int, b: int) -> np.ndarray:  # DIS's one-frame flow a → b [h,w,2], kept while the chains need it
        if (a, b) not in flows:
            flows[(a, b)], flows[(b, a)] = dis_flows(engine, grey[a], grey[b])
        return flows[(a, b)]

    for k in range(t - 1, 0, -1):
        for pair in [p for p in flows if min(p) > k + s.entry_chain]:
            del flows[pair]
        source = out[k] & (age[k] < s.entry_carry)
        if not source.any():
            continue
        a = k - 1
        fwd, bwd = flow(a, k), flow(k, a)
        target, _, miss = forward_backward(fwd, bwd, "edge")
        xs = np.clip(np.rint(target[..., 0]), 0, w - 1).astype(np.intp)
        ys = np.clip(np.rint(target[..., 1]), 0, h - 1).astype(np.intp)
        carried = near_border & ~out[a] & (miss < 1.0 * scale) & inside_image(target) & source[ys, xs]
        if not carried.any():
            continue
        K = pinhole(float(scene.focal[a]), (h, w))
        if s.entry_chain > 0:
            chained = _chained_moves(a, min(s.entry_chain, t - 1 - a), flow, scene, static_depth, K, s, first)
            if chained is None:
                continue
            moves, motion = chained
            if a > 0:
                moves &= ~_seen_static(a, flow, scene, static_depth, K, s, first)
            open_band = near_border & ~out[a] & (np.asarray(scene.depth[a]) <= 0)  # the growth: holes only
            carried = _grow_entry(carried, moves, open_band, near_border & out[a], segmented[a], motion)
        else:
            usable = (miss < 1.0 * scale) & inside_image(target, s.border_px * scale) & inner
            moves = _one_frame_moves(scene.depth[a], static_depth[a], fwd, usable, K, s, first + a)
            if moves is None:
                continue
            carried &= _mostly(carried, moves) & moves
        carried = cv2.morphologyEx(carried.view(np.uint8), cv2.MORPH_OPEN, kernel).view(bool)  # as the segmentation
        out[a] |= carried
        age[a][carried] = np.minimum(age[a][carried], age[k][ys, xs][carried] + 1)


def _one_frame_moves(
    depth: np.ndarray,
    static_depth: np.ndarray,
    flow: np.ndarray,
    usable: np.ndarray,
    K: np.ndarray,
    s: MoverSettings,
    seed: int,
) -> np.ndarray | None:
    """``[h,w]`` bool: the pixels whose one-frame ``flow`` ``[h,w,2]`` px the static scene's rigid flow does not
    explain (:func:`_flow_residual` on ``depth`` / ``static_depth`` ``[h,w]`` and the ``usable`` ``[h,w]`` bool
    pixels' pose): residual above the segmentation's limit over the least of ``offsets`` frames, per frame
    (``residual_px × scale ÷ o + residual_rel × |rigid|``). None when PnP finds no pose."""
    h, w = depth.shape
    scale = max(h, w) / 320.0
    fit = _flow_residual(depth, static_depth, flow, usable, K, s, scale, seed)
    if fit is None:
        return None
    _, residual, rigid_px, defined = fit
    offset = max(1, min(s.offsets)) if s.offsets else 1
    return defined & (residual > s.residual_px * scale / offset + s.residual_rel * rigid_px)


def _mostly(region: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``[h,w]`` bool: the 8-connected regions of ``region`` more than half of whose pixels are ``inside``."""
    import cv2

    count, labels = cv2.connectedComponents(region.view(np.uint8), connectivity=8)
    share = np.bincount(labels.ravel(), weights=inside.ravel(), minlength=count)
    share /= np.maximum(np.bincount(labels.ravel(), minlength=count), 1)
    return (share > 0.5)[labels] & (labels > 0)


def carry_edge_depth(
    grey: np.ndarray,
    depth: np.ndarray,
    handled: np.ndarray,
    moving: np.ndarray,
    focal: np.ndarray,
    s: MoverSettings,
    engine: object,
    first: int = 0,
) -> np.ndarray:
    """Gives, in place in ``depth [T,h,w]``, the depth of a mover the rules handled in one frame to her stage-1 holes
    in the next frames (then the frames before) while she leaves (enters) through a side, the top or the bottom of
    the image, where the segmentation checks nothing (``MoverSettings.edge_carry``): a hole of frame ``k`` within
    ``ENTRY_BAND × border_px`` of the image's border, neither handled nor given depth, whose one-frame flow to the
    frame carried from (``k − 1``, then ``k + 1``) lands, round trip within 1 px, on a pixel handled there (by the
    rules, at most ``edge_carry − 1`` carries before), takes that pixel's depth — where the static scene's rigid
    flow does not explain the flow (:func:`_one_frame_moves`, with movers out of the pose and the rigid flow) in
    most of its connected region, after the segmentation's 5 × 5 opening. ``grey``: ``[T,h,w]`` uint8 frames;
    ``handled``, ``moving``: ``[T,h,w]`` bool, the rules' pixels and the mover mask; ``focal``: ``[T]`` px;
    ``engine``: a DIS engine (``calc``). Returns the ``[T,h,w]`` bool pixels given depth (not in ``handled``).
    Rolled indoor-dynamic s1429: the near cut person leaving at the bottom-left corner in frames 27–30 is all
    stage-1 holes, unflagged, filled from the wall at 1.5–2.0× her depth; frame 26 has her at 1.20×."""
    import cv2

    from stereodiff.stage1.fusion import nearest_fill

    t, h, w = depth.shape
    scale = max(h, w) / 320.0
    rows, columns = np.arange(h)[:, None], np.arange(w)[None, :]
    edge = np.minimum(np.minimum(rows, h - 1 - rows), np.minimum(columns, w - 1 - columns))
    near_border = edge < ENTRY_BAND * s.border_px * scale  # [h,w]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    given = np.zeros((t, h, w), bool)
    for step in (1, -1):  # leaving: carried forwards; entering: backwards
        age = np.where(handled, 0, s.edge_carry).astype(np.int32)  # carries since a handled frame
        for k in range(1, t) if step == 1 else range(t - 2, -1, -1):
            src = k - step
            source = (handled[src] | given[src]) & (age[src] < s.edge_carry) & (depth[src] > 0)
            open_band = near_border & ~handled[k] & ~given[k] & (depth[k] <= 0)
            if not (source.any() and open_band.any()):
                continue
            to_src, back = dis_flows(engine, grey[k], grey[src])
            target, _, miss = forward_backward(to_src, back, "edge")
            xs = np.clip(np.rint(target[..., 0]), 0, w - 1).astype(np.intp)
            ys = np.clip(np.rint(target[..., 1]), 0, h - 1).astype(np.intp)
            carried = open_band & (miss < 1.0 * scale) & inside_image(target) & source[ys, xs]
            if not carried.any():
                continue
            static = np.where(moving[k] | given[k], 0.0, depth[k]).astype(np.float32)
            usable = (miss < 1.0 * scale) & inside_image(target, s.border_px * scale) & ~moving[k]
            K = pinhole(float(focal[k]), (h, w))
            moves = _one_frame_moves(static, nearest_fill(static), to_src, usable, K, s, first + k)
            if moves is None:
                continue
            carried &= _mostly(carried, moves) & moves
            carried = cv2.morphologyEx(carried.view(np.uint8), cv2.MORPH_OPEN, kernel).view(bool)
            depth[k][carried] = depth[src][ys, xs][carried]
            age[k][carried] = age[src][ys, xs][carried] + 1
            given[k] |= carried
    return given


#: The band along the image's border (in ``border_px``) that :func:`carry_entries` carries a mover into.
ENTRY_BAND = 3.0
#: With ``entry_chain``: the round trip (px at 320) each link of the chained one-frame flows must hold.
ENTRY_CHAIN_MISS = 1.5
#: With ``entry_chain``: the carried pixels grow only in band regions the segmentation flagged less of than this.
ENTRY_FRESH = 0.05
#: With ``entry_chain``: a grown pixel's chained flow lies within this share of the carried pixels' median flow.
ENTRY_WITH = 0.5


def _chained_moves(
    a: int,
    n: int,
    flow: Callable[[int, int], np.ndarray],
    scene: SceneGeometry,
    static_depth: np.ndarray,
    K: np.ndarray,
    s: MoverSettings,
    first: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """``([h,w] bool, [h,w,2] px)``: frame ``a``'s pixels that move by themselves over the ``n`` one-frame flows ``a →
    a+1 → … → a+n`` chained (``flow(i, j)``: DIS's flow ``[h,w,2]`` px of frame ``i`` to ``j``; each link's round
    trip within ``ENTRY_CHAIN_MISS`` px, every position inside the image): the residual against the rigid flow of
    the static scene over the chain (pose by PnP, as the segmentation's) exceeds the segmentation's limit over ``n``
    frames (``residual_px × n ÷ o + residual_rel × |rigid|``, ``o`` the least of ``offsets``). The direct flow over
    ``o`` frames is lost at the border (a square entering at 4 px a frame: 0.19 px median residual for 12 px of
    motion); the chain of one-frame flows keeps it (s900, person 13 in frames 47–50: 98–100 % of the chains end on
    her), and the chained flow. None when PnP finds no pose."""
    h, w = static_depth.shape[1:]
    scale = max(h, w) / 320.0
    grid = pixel_grid(h, w)
    position = grid + flow(a, a + 1)
    _, _, miss = forward_backward(flow(a, a + 1), flow(a + 1, a), "far")
    good = (miss < ENTRY_CHAIN_MISS * scale) & inside_image(position)
    for j in range(a + 1, a + n):
        step = sample_flow(flow(j, j + 1), position, "far")
        position = position + step
        back = sample_flow(flow(j + 1, j), position, "far")
        good &= (hypot32(*(step + back).transpose(2, 0, 1)) < ENTRY_CHAIN_MISS * scale) & inside_image(position)
    usable = good & inside_image(grid, s.border_px * scale) & inside_image(position, s.border_px * scale)
    fit = _flow_residual(scene.depth[a], static_depth[a], position - grid, usable, K, s, scale, first + a)
    if fit is None:
        return None
    _, residual, rigid_px, defined = fit
    offset = max(1, min(s.offsets)) if s.offsets else 1
    return good & defined & (residual > s.residual_px * scale * n / offset + s.residual_rel * rigid_px), position - grid


def _seen_static(
    a: int,
    flow: Callable[[int, int], np.ndarray],
    scene: SceneGeometry,
    static_depth: np.ndarray,
    K: np.ndarray,
    s: MoverSettings,
    first: int,
) -> np.ndarray:
    """``[h,w]`` bool: frame ``a``'s pixels seen in frame ``a−1`` (round trip within 1 px, inside the image) whose
    flow ``a → a−1`` the static scene's rigid flow explains (within the segmentation's limit per frame): static,
    whatever their flow to ``a+1`` says (a wall that a mover covers in ``a+1`` takes her flow there). An
    entering mover's pixels were outside the image in ``a−1`` or moved. All False when PnP finds no pose."""
    h, w = static_depth.shape[1:]
    scale = max(h, w) / 320.0
    back_flow = flow(a, a - 1)
    target, _, miss = forward_backward(back_flow, flow(a - 1, a), "far")
    seen = (miss < 1.0 * scale) & inside_image(target)
    usable = seen & inside_image(pixel_grid(h, w), s.border_px * scale) & inside_image(target, s.border_px * scale)
    fit = _flow_residual(scene.depth[a], static_depth[a], back_flow, usable, K, s, scale, first + a)
    if fit is None:
        return np.zeros((h, w), bool)
    _, residual, rigid_px, defined = fit
    offset = max(1, min(s.offsets)) if s.offsets else 1
    return seen & defined & (residual <= s.residual_px * scale / offset + s.residual_rel * rigid_px)


def _grow_entry(
    carried: np.ndarray,
    moves: np.ndarray,
    open_band: np.ndarray,
    flagged: np.ndarray,
    segmented: np.ndarray,
    motion: np.ndarray,
) -> np.ndarray:
    """``[h,w]`` bool: the ``carried`` pixels that move, grown into the connected moving pixels of ``open_band``
    (the band's stage-1 holes not flagged yet) that move with them (their chained flow ``motion`` ``[h,w,2]`` px within
    ``ENTRY_WITH`` × the median's length of the median chained flow of the carried pixels they connect to), where
    the band's moving region holding them (its ``flagged`` pixels included) has under ``ENTRY_FRESH`` of its pixels
    flagged by the segmentation (``segmented``): the carry reaches the whole of an entering mover, not only where
    her later flagged part lands; it does not spread along a person the segmentation already found (the wall behind
    her takes her smeared flow), nor into a static object beside her (indoor-dynamic s881: static pixels taken by
    the growth over all band pixels 18 667, by the growth into holes 4 694; the one-frame carry 9 144). Masks
    ``[h,w]`` bool."""
    import cv2

    seed = carried & moves
    count, labels = cv2.connectedComponents((open_band & moves | seed).view(np.uint8), connectivity=8)
    reached = np.zeros(count, bool)
    with_seed = np.zeros(labels.shape, bool)
    for label in np.unique(labels[seed]):
        inside = labels == label
        median = np.median(motion[inside & seed], axis=0)  # [2]
        gap = hypot32(*(motion - median).transpose(2, 0, 1))
        with_seed |= inside & (gap <= ENTRY_WITH * max(float(np.hypot(*median)), 1.0))
        reached[label] = True
    whole = moves & (open_band | flagged) | seed
    whole_count, whole_labels = cv2.connectedComponents(whole.view(np.uint8), connectivity=8)
    share = np.bincount(whole_labels.ravel(), weights=segmented.ravel(), minlength=whole_count)
    share /= np.maximum(np.bincount(whole_labels.ravel(), minlength=whole_count), 1)
    fresh = (share < ENTRY_FRESH)[whole_labels] & (whole_labels > 0)
    return reached[labels] & with_seed & fresh | seed


def _flow_residual(
    depth: np.ndarray,
    static_depth: np.ndarray,
    flow: np.ndarray,
    usable: np.ndarray,
    K: np.ndarray,
    s: MoverSettings,
    scale: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """What the static scene leaves of a frame's ``flow`` ``[h,w,2]`` (px) to another frame: the relative pose from
    the flow on the ``usable`` ``[h,w]`` bool pixels and the stage-1 ``depth`` ``[h,w]`` (:func:`pose_from_flow`,
    threshold ``pnp_threshold_px`` × ``scale``), the rigid flow of ``static_depth`` ``[h,w]`` (holes filled) under
    it (:func:`rigid_flow`), and ``(pose [4,4], |flow − rigid| [h,w] px, |rigid| [h,w] px, defined [h,w] bool)``;
    None when PnP finds no pose."""
    pose = pose_from_flow(depth, flow, usable, K, s.pnp_threshold_px * scale, seed=seed)
    if pose is None:
        return None
    rigid, defined = rigid_flow(static_depth, K, pose)
    return pose, hypot32(*(flow - rigid).transpose(2, 0, 1)), hypot32(*rigid.transpose(2, 0, 1)), defined


def pose_from_flow(
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
