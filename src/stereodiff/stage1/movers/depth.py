"""Depth for the mover regions of one frame from constraints that hold for movers (module docstring of
:mod:`stereodiff.stage1.movers`, step 2): ground contact, oncoming objects, a mover merged with flagged static
pixels, occlusion order (:func:`mover_depth`)."""

from __future__ import annotations

import numpy as np

from stereodiff.stage1.movers.ground import (
    bottom_edge,
    ground_pixels,
    ground_rate,
    lowest_blocking_row,
    lowest_pixels,
    occluded_beyond,
    occluder_depth,
    plane_coefficients,
    reached_through_holes,
    stands,
    upright,
)
from stereodiff.stage1.movers.settings import MoverSettings

__all__ = ["border_band", "cut_rows", "mover_depth", "oncoming_contact", "side_holes", "spread_run", "up_holes"]

#: ``beside_stands``: the floor must be seen within ``contact_rows`` ÷ this many rows under the body's lowest pixels
#: (5 at 320: feet on the floor, not the flagged top of a static object with the floor seen farther down)
STANDS_DIVISOR = 4
#: ``beside_stands``: least share of the body stage 1 triangulated (close-object's near object, 94–99 % a hole,
#: floats in front of the floor seen under it and took that floor, 5–7× too far, on s846 / s1022)
STANDS_SEEN = 0.5

#: ``far_spread``: the pixels a region grows through lie within this factor of its median depth (either way): her
#: upper body's phantom, not the clutter in front of her (0.4–0.5 of it on close-object 1980)
SPREAD_DEPTH = 1.5
#: ``hole_occluded``: least height, in camera heights above the ground, the given region's top must reach at its
#: given depth (98th percentile of its pixels): a standing person's head is about the camera's height (close-object
#: 1465: 0.90–1.11; the flagged wall holes above the clutter 0.24–0.56)
HOLE_TOP = 0.75
#: ``hole_occluded``: most width, in camera heights, of the given region at its given depth: a person, not the
#: disocclusion hole beside the near object crossing (close-object 2610: 0.97–1.56; 1465's person with the wall holes
#: beside her 0.32–0.79)
HOLE_WIDTH = 0.9

#: the percentile of a cut region's pixels' height above the horizon taken as its top (``cut_height``)
CUT_HEIGHT_TOP = 98.0


def _mostly_triangulated(depth: np.ndarray, region: np.ndarray) -> bool:
    """Whether stage 1 triangulated (``depth`` ``[h,w]`` > 0) at least ``STANDS_SEEN`` of ``region`` ``[h,w]`` bool."""
    return np.count_nonzero(region & (depth > 0)) >= STANDS_SEEN * np.count_nonzero(region)


def cut_rows(shape: tuple[int, int], s: MoverSettings) -> int:
    """The lowest rows of an ``(h, w)`` image a region cut by the image bottom reaches: the segmentation does not
    reach closer to the border than ``border_px``."""
    return int(s.border_px * max(shape) / 320.0) + 3


def mover_depth(
    depth: np.ndarray,
    moving: np.ndarray,
    ground: np.ndarray | None,
    s: MoverSettings,
    floating: np.ndarray | None = None,
    splits: list[tuple[np.ndarray, float]] | None = None,
    oncoming: list[tuple[np.ndarray, float]] | None = None,
    near: list[tuple[np.ndarray, float]] | None = None,
    spread: np.ndarray | None = None,
    reached: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One frame: the mover regions that stand on the ground (``ground``, the ground plane's depth ``[h,w]``; seen
    under them, or they reach the image bottom) and that stage 1 left mostly untriangulated or put beyond the ground
    (``beyond_share`` of their pixels by more than ``underground``) get the ground's depth under their lowest pixels
    (their ground contact); untriangulated ones without a contact, with ``hole_bound``, the occlusion bound (a low
    percentile of the ring around them); the rest keep stage 1's depth (a static surface with a wrong depth may be
    flagged too, and a static surface is never beyond the ground). ``floating`` ``[h,w]`` bool: the segments that
    float in front of their contact (:func:`~.ground.contact_segments`); a region they cover by ``beyond_share``
    gets its contact too. With ``split_feet``, the parts it splits off are appended to ``splits`` as ``(part [h,w]
    bool, depth)`` (the tracking that follows treats a handled region as holding one value: the runner gives them
    their depth again after it). The regions the oncoming test gives their contact are appended to ``oncoming`` as
    ``(its triangulated pixels off the ground [h,w] bool, contact depth)`` (the seeds of ``oncoming_carry``).
    Those ``near_contact`` gives its contact are appended to ``near`` the same way (the seeds of ``near_carry``), and
    with ``near_carry_beside`` those ``contact_beside`` gives its contact too. ``spread`` ``[h,w]``: the fusion's
    ``pair_spread`` of the frame (``far_spread``; None = not grown). The regions given a depth after ``hole_reach``
    joined them to the image bottom are appended to ``reached`` (``[h,w]`` bool each; None = not recorded), and with
    ``hole_occluded_after_near`` the holes ``hole_occluded`` gave too.
    Returns the depth ``[h,w]`` and where it was replaced ``[h,w]`` bool."""
    import cv2

    static = (depth > 0) & ~moving
    out = np.array(depth, dtype=np.float32, copy=True)
    handled = np.zeros(depth.shape, bool)
    # the same for every region: the pixels on the ground plane [h,w] bool and the plane's inverse-depth rate
    ground_px = ground_pixels(depth, ground, s) if ground is not None else None
    on_ground = ground_px & ~moving if ground_px is not None else None
    rate = (
        ground_rate(ground)
        if ground is not None and (s.oncoming > 0 or s.near_contact > 0 or floating is not None)
        else 0.0
    )
    plane = plane_coefficients(ground) if ground is not None and s.cut_height > 0 else None  # [3] or None
    margin = cut_rows(depth.shape, s)
    skip_rows = round(s.cut_skip_beyond * max(depth.shape) / 320.0)
    # cut_skip_beyond: each column's lowest row that is neither a stage-1 hole nor flagged [w] (-1: none)
    blocking = lowest_blocking_row((depth > 0) & ~moving) if skip_rows > 0 and ground is not None else None
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
        seen = contact is not None and stands(region, on_ground, s.contact_rows)
        cut = bool(region[-margin:].any())  # its contact is below the image: the ground at the bottom row bounds it
        joined = False  # hole_reach joined it to the image bottom
        if s.hole_reach and mostly_hole and not (cut or seen) and ground is not None:
            reach = _hole_reach(region, (depth <= 0) | moving, margin)
            if reach is not None:  # its lower part is a hole down to the image bottom: cut there too
                cut, contact, joined = True, _contact_depth(reach, ground), True
                eroded = cv2.erode(reach.astype(np.uint8), rim_kernel).astype(bool) if rim else reach
                region = eroded if eroded.any() else reach  # a sliver the rim would empty: kept whole
        # an upright segment floating in front of its contact (contact_segments) covers a share of the region
        floats = floating is not None and (
            np.mean(floating[region]) >= s.beyond_share or _floats(depth, region, ground, ground_px, rate, s)
        )
        skip = False  # cut_skip_beyond: a cut region its bound pulls nearer, not the floor itself
        if blocking is not None and not mostly_hole:  # blocking: only with a ground
            reach = min(skip_rows, margin)
            bound = contact if seen else None
            skip = _cut_skips_beyond(depth, region, ground, ground_px, blocking, reach, skip_rows, s, bound)
            cut |= skip
        if (
            ground is not None
            and (seen or cut)
            and (mostly_hole or floats or skip or _beyond_ground(depth, region, ground, s))
        ):
            value = _last_row(region, ground) if s.cut_last_row and cut and not seen else contact
            if value is not None and s.cut_height > 0 and cut and not seen and region[:margin].any():
                value = min(value, _height_cap(region, plane, s.cut_height))  # cut by the image top too
        elif mostly_hole and s.hole_bound:
            value = bound
        else:
            value = None
        if value is None and s.oncoming > 0 and ground is not None:
            region, value = oncoming_contact(depth, region, ground, ground_px, moving, rate, s)
            if value is not None and oncoming is not None:
                oncoming.append((region & (depth > 0) & ~ground_px, value))
        if value is None and s.beyond_part > 0 and ground is not None and (seen or cut):  # ground: a cut region
            region, value = _beyond_part(depth, region, ground, on_ground, s)
        if value is None and s.contact_beside > 0 and ground is not None:
            region, value = _contact_beside(depth, region, ground, on_ground, moving, s)
            seen = _mostly_triangulated(depth, region)
            if value is not None and s.near_carry_beside and near is not None and seen:  # not the near object
                near.append((region & (depth > 0) & ~ground_px, value))  # a seed of the near carry too
        if value is None and s.near_contact > 0 and ground is not None:
            region, value = _near_contact(depth, region, ground, ground_px, on_ground, rate, s)
            if value is not None and near is not None:
                near.append((region & ~ground_px, value))  # its pixels are triangulated
        if value is None and s.near_occluded and s.near_contact > 0 and ground is not None:
            region, value = _near_occluded(depth, region, ground, ground_px, moving, rate, s)
            if value is not None and near is not None:
                near.append((region & ~ground_px, value))  # its pixels are triangulated
        if value is None and s.far_occluded and ground is not None:
            region, value = _far_occluded(depth, region, ground, ground_px, moving, s)
            if value is not None and s.far_spread > 0 and spread is not None:
                region = region | spread_run(depth, region, spread, handled, s.far_spread)
        hidden = False  # hole_occluded gave it
        if value is None and s.hole_occluded and ground is not None and mostly_hole and not (seen or cut):
            region, value = _hole_occluded(depth, region, ground, ground_px, moving, s)
            hidden = value is not None and s.hole_occluded_after_near
        if value is not None and np.isfinite(value) and value > 0:
            if s.up_to_horizon > 0 and ground is not None:
                region = region | _up_to_horizon(depth, region, ground, moving | handled, value, s)
            if s.up_run > 0 and ground is not None:
                region = region | _up_run(depth, region, moving | handled, value, s, ground)
            if s.up_beside > 0 and cut:  # it goes on below the image: an object, not a patch of a static surface
                region = region | _up_beside(depth, region, moving | handled, value, s)
            out[region] = value
            handled |= region
            if joined and reached is not None:
                reached.append(region)
            elif hidden and reached is not None:  # its holes: near_holes takes the near object's first
                reached.append(region & (depth <= 0))
            if s.split_feet > 0 and on_ground is not None:
                for part, farther in _split_feet(region, ground, on_ground, value, s):
                    out[part] = farther
                    if splits is not None:
                        splits.append((part, farther))
    return out, handled


def _split_feet(
    region: np.ndarray, ground: np.ndarray, on_ground: np.ndarray, value: float, s: MoverSettings
) -> list[tuple[np.ndarray, float]]:
    """``split_feet``: the parts of ``region`` ``[h,w]`` bool (given ``value``) whose own feet stand on the ground
    ``on_ground`` ``[h,w]`` bool, seen above the region's lowest pixels, farther than ``value``: per run of columns (at
    least ``split_feet`` px wide at 320, gaps of at most 2 px, reaching one side of the region's columns: a run
    flanked on both sides is the gap between a person's legs) whose bottom edge lies more than ``contact_rows`` above
    the region's lowest row and has the ground within ``contact_rows`` rows under it, the run's region pixels and the
    ground's depth ``ground`` ``[h,w]`` there (median over the run), when beyond ``value`` by ``underground``."""
    h, w = region.shape
    bottom, columns = bottom_edge(region)
    below = np.clip(bottom[:, None] + np.arange(1, 1 + s.contact_rows), 0, h - 1)  # [n, rows]
    hit = on_ground[below, columns[:, None]] & ~region[below, columns[:, None]]
    feet = (bottom < bottom.max() - s.contact_rows) & hit.any(axis=1)
    px = max(h, w) / 320.0
    width, gap = max(1, round(s.split_feet * px)), round(2 * px)
    parts = []
    candidates = columns[feet]
    if candidates.size == 0:
        return parts
    breaks = np.flatnonzero(np.diff(candidates) > gap + 1) + 1
    for run in np.split(np.arange(candidates.size), breaks):
        cols = candidates[run]
        if cols[-1] - cols[0] + 1 < width or (cols[0] > columns[0] + gap and cols[-1] < columns[-1] - gap):
            continue  # narrow, or flanked by lower columns on both sides: the gap between a person's legs
        rows = bottom[feet][run]
        contact = ground[np.minimum(rows + 1, h - 1), cols]
        contact = contact[np.isfinite(contact)]
        if contact.size == 0:
            continue
        farther = float(np.median(contact))
        if farther <= (1.0 + s.underground) * value:
            continue
        part = np.zeros((h, w), bool)
        part[:, cols] = region[:, cols]
        parts.append((part, farther))
    return parts


def _far_columns(depth: np.ndarray, region: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """``[h,w]`` bool: the pixels of ``region`` whose ``depth`` ``[h,w]`` lies beyond ``limit``; ``[w]`` bool: the
    columns where these are at least half of the region's triangulated pixels (the region's own far columns, not
    static pixels flagged with it at their own depth)."""
    far = region & (depth > limit)
    half = 0.5 * np.count_nonzero(region & (depth > 0), axis=0)  # [w]
    return far, far.any(axis=0) & (np.count_nonzero(far, axis=0) >= half)


def _up_to_horizon(
    depth: np.ndarray, region: np.ndarray, ground: np.ndarray, taken: np.ndarray, value: float, s: MoverSettings
) -> np.ndarray:
    """``[h,w]`` bool: the pixels above ``region`` up to the horizon of the ground plane ``ground`` ``[h,w]`` (``inf``
    above it) that stage 1 left a hole or put at the region's wrong depth (its far pixels' median, within
    ``underground``; beyond ``value`` by ``underground``), not ``taken`` (other mover regions), in the columns of its
    lowest pixels (whose ground gave the contact depth ``value``) where most of its triangulated pixels lie beyond
    ``up_to_horizon`` times ``value``, when the region does (median): a car following the camera at half its speed
    or more is triangulated twice too far; stage-1 noise of a static surface at its foot (1.4–1.8×) and static
    pixels flagged with the car are not. The ground tests flag only the lower rows of a car ahead; an object
    standing on the ground no taller than the camera ends at the horizon."""
    limit = s.up_to_horizon * value
    far, columns = _far_columns(depth, region, limit)
    footing = np.zeros_like(columns)
    footing[lowest_pixels(region)[1]] = True  # the columns of the pixels whose ground gave ``value``
    columns &= footing
    own = depth[region & (depth > 0)]
    if not columns.any() or np.median(own) <= limit:
        return np.zeros(region.shape, bool)
    stage1, step = float(np.median(depth[far & columns[None, :]])), 1.0 + s.underground
    rows = np.arange(region.shape[0])[:, None]
    top = np.argmax(region, axis=0)  # [w] the region's highest row per column
    horizon = np.argmax(np.isfinite(ground), axis=0)  # [w] the first row below the horizon
    above = columns[None, :] & (rows >= horizon[None, :]) & (rows < top[None, :])
    alike = (depth > step * value) & (depth > stage1 / step) & (depth < stage1 * step)
    return above & ~taken & ((depth <= 0) | alike)


#: ``up_run``: the tallest object standing on the ground whose upper part it extends, in camera heights above the
#: ground (a person by a hand-held camera: 1.7–1.9 m against 1.3–1.6 m); its run stops that high
UP_RUN_HEIGHT = 1.5
#: ``up_run``: columns (at a 320-pixel long side) left out at each side of the ones it extends: the stage-1 depth of
#: the scenery beside a mover is blended with the mover's over a few pixels (``path_trim``: 6–9)
UP_RUN_TRIM_PX = 6
#: ``up_run``: least height of a column of the region it extends, as a fraction of the region's tallest column (a
#: flagged swath of floor is a low band beside a standing body)
UP_RUN_TALL = 0.5


def _inner_columns(columns: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``[w]`` bool: ``columns`` ``[w]`` bool less ``UP_RUN_TRIM_PX`` (at a 320-pixel long side of ``shape``) at each
    side of every run (the image border is no side): the flow blends a mover's depth into the scenery beside it."""
    trim = round(UP_RUN_TRIM_PX * max(shape) / 320.0)
    padded = np.pad(columns, trim, constant_values=True).astype(np.int32)
    return columns & (np.convolve(padded, np.ones(2 * trim + 1, np.int32), mode="valid") == 2 * trim + 1)


def _up_run(
    depth: np.ndarray, region: np.ndarray, taken: np.ndarray, value: float, s: MoverSettings, ground: np.ndarray
) -> np.ndarray:
    """``[h,w]`` bool: in each column of ``region`` whose triangulated pixels lie mostly beyond ``up_run`` times its
    contact ``value`` (its own columns, not static floor flagged beside it), at least ``UP_RUN_TALL`` of its tallest
    column high, and whose highest pixel lies below the horizon (found by the ground tests alone: a region the flow
    found above the horizon is all there), but for
    ``UP_RUN_TRIM_PX`` columns at each side, the run of pixels straight above it that stage 1 left a hole or put
    beyond the contact by ``underground`` and no nearer than the region's highest pixel by ``underground``, each
    triangulated one within ``segment_step`` of the one below it (holes pass), not ``taken`` (other mover regions),
    no higher than ``UP_RUN_HEIGHT`` camera heights above the ground at ``value`` (from the ground plane ``ground``
    ``[h,w]``: the horizon is one camera height above the contact), when the region lies (median) beyond ``up_run``
    times ``value``. The upper body of a person walking along with a sideways camera is triangulated with the same
    wrong depth as her found lower body, smoothly up to her head, which may be above the horizon."""
    out = np.zeros(region.shape, bool)
    limit = s.up_run * value
    own = depth[region & (depth > 0)]
    rate = ground_rate(ground)
    if not own.size or np.median(own) <= limit or rate <= 0:
        return out
    _, columns = _far_columns(depth, region, limit)
    top = np.argmax(region, axis=0)  # [w] the region's highest row per column
    horizon = np.argmax(np.isfinite(ground), axis=0)  # [w] the first row below the horizon
    columns &= top >= horizon  # found by the ground alone: a region the flow found above the horizon is all there
    height = np.count_nonzero(region, axis=0)  # [w]
    columns &= height >= UP_RUN_TALL * height.max()  # her body's columns, not a swath of floor flagged with her
    columns = _inner_columns(columns, region.shape)
    if not columns.any():
        return out
    step, floor = np.log1p(s.segment_step), (1.0 + s.underground) * value
    log_depth = np.log(np.where(depth > 0, depth, 1.0))
    width = np.arange(region.shape[1])
    # rows from the contact to the horizon: one camera height at ``value`` (1/z grows by ``rate`` a row)
    stop = np.floor(horizon - (UP_RUN_HEIGHT - 1.0) / (value * rate))  # [w]
    last = np.where(columns & (depth[top, width] > 0), log_depth[top, width], np.nan)  # [w] the run's last depth
    seam = last - np.log1p(s.underground)  # [w] no nearer than the region's top by ``underground``: the wall behind
    active = columns.copy()
    for row in range(int(top[columns].max()) - 1, -1, -1):
        here = active & (row < top) & (row > stop)
        if not here.any():
            continue
        hole = depth[row] <= 0
        seen = ~hole & (depth[row] > floor) & ~(np.abs(log_depth[row] - last) >= step)  # a NaN last: any depth
        seen &= ~(log_depth[row] < seam)
        go = here & ~taken[row] & (hole | seen)
        out[row] = go
        active &= ~(here & ~go)
        last = np.where(go & ~hole, log_depth[row], last)
        if not active.any():
            break
    return out


#: ``up_beside``: pixels (at a 320-pixel long side) between a region's columns and the strips beside it whose static
#: depth each row's pixels are compared with (the flow blends a mover into the 6–9 px of scenery beside it)
UP_BESIDE_GAP_PX = 4
#: ``up_beside``: width (at 320) of each strip beside a region's columns
UP_BESIDE_STRIP_PX = 16


def _beside_depth(depth: np.ndarray, columns: np.ndarray, static: np.ndarray) -> np.ndarray:
    """``[h]``: per row, the median stage-1 depth of the ``static`` ``[h,w]`` bool pixels in the two strips beside the
    span of ``columns`` ``[w]`` bool (``UP_BESIDE_STRIP_PX`` wide, ``UP_BESIDE_GAP_PX`` away; one at the image
    border): the scene beside the object in the same rows. A row where neither holds one takes the nearest rows'
    (interpolated); all NaN when no row does."""
    h, w = static.shape
    px = max(h, w) / 320.0
    gap, width = round(UP_BESIDE_GAP_PX * px), max(1, round(UP_BESIDE_STRIP_PX * px))
    span = np.flatnonzero(columns)
    x0, x1 = int(span[0]), int(span[-1])
    left = slice(max(0, x0 - gap - width), max(0, x0 - gap))
    right = slice(min(w, x1 + 1 + gap), min(w, x1 + 1 + gap + width))
    values = np.concatenate([np.where(static[:, cut], depth[:, cut], np.nan) for cut in (left, right)], axis=1)  # [h,n]
    rows = np.flatnonzero(np.isfinite(values).any(axis=1))
    if not rows.size:
        return np.full(h, np.nan)
    return np.interp(np.arange(h), rows, np.nanmedian(values[rows], axis=1))  # a row of holes: the nearest rows'


def _up_beside(depth: np.ndarray, region: np.ndarray, taken: np.ndarray, value: float, s: MoverSettings) -> np.ndarray:
    """``[h,w]`` bool: in each column of ``region`` ``[h,w]`` bool (given the depth ``value``), the run of pixels
    straight above its highest pixel whose stage-1 ``depth`` ``[h,w]`` is a phantom of the same object: beyond
    ``value`` by ``underground`` (as the region, median, must be), within ``underground`` of the last triangulated
    pixel below it (continuous with the region's top), and away from the static scene beside the region in the same
    row (:func:`_beside_depth`) by more than ``up_beside`` (log), nearer or farther: the wall behind a person's head
    is what lies beside her at that row, so the run stops there. Stage-1 holes join only below a pixel that joins;
    ``taken`` ``[h,w]`` bool (other mover regions) and the first pixel that fails end the run. Only the region's
    columns whose pixels lie mostly beyond ``value`` by ``underground`` (:func:`_far_columns`) but for
    ``UP_RUN_TRIM_PX`` at each side; :func:`mover_depth` calls it for regions cut by the image bottom only. Stage 1
    triangulates a person walking along with a sideways camera at a phantom depth that continues smoothly up her
    body; the ground tests find only her part beyond the floor, and ``up_run`` needs the region twice as far as its
    contact, with its top below the horizon. Measured (``up_beside`` 0.15, final all px): indoor-dynamic s522
    0.1075 → 0.0969, s607 0.0924 → 0.0903; 18 fresh and real clips 2 better, 16 within ±0.5 %, none worse
    (docs/geometric.md, "The phantom upper body above a found region")."""
    floor = (1.0 + s.underground) * value
    own = depth[region & (depth > 0)]
    if not own.size or np.median(own) <= floor:
        return np.zeros(region.shape, bool)
    h, w = region.shape
    _, columns = _far_columns(depth, region, floor)  # [w] its own far columns, not static pixels flagged with it
    columns = _inner_columns(columns, region.shape)
    if not columns.any():
        return np.zeros(region.shape, bool)
    beside = np.log(_beside_depth(depth, region.any(axis=0), (depth > 0) & ~taken))  # [h] NaN: nothing beside
    log_depth = np.log(np.where(depth > 0, depth, 1.0))
    top = np.argmax(region, axis=0)  # [w] the region's highest row per column
    width = np.arange(w)
    step, margin = np.log1p(s.underground), np.log1p(s.up_beside)
    last = np.where(columns & (depth[top, width] > 0), log_depth[top, width], np.nan)  # [w] the run's last depth
    highest = np.full(w, h)  # [w] the highest row of a triangulated pixel that joined
    active = columns & (top > 0)
    for row in range(int(top[active].max()) - 1 if active.any() else -1, -1, -1):
        here = active & (row < top)
        if not here.any():
            continue
        hole = depth[row] <= 0
        seen = ~hole & (depth[row] > floor) & ~(np.abs(log_depth[row] - last) >= step)  # a NaN last: any depth
        seen &= np.abs(log_depth[row] - beside[row]) > margin  # NaN: nothing to tell it from, stop
        go = here & ~taken[row] & (hole | seen)
        active &= ~(here & ~go)
        joined = go & ~hole
        highest = np.where(joined, row, highest)
        last = np.where(joined, log_depth[row], last)
        if not active.any():
            break
    rows = np.arange(h)[:, None]
    return (rows >= highest[None, :]) & (rows < top[None, :]) & columns[None, :] & ~taken


#: ``up_holes``: least pixels (at a 320-pixel long side, scaled by the area) of a given region whose columns it extends
UP_HOLES_MIN_PX = 200
#: ``up_holes``: grey levels within which a hole pixel continues the colour of the static scene that ends its column's
#: run above (the flow blends the scenery into a few pixels of holes around a mover: the top of the run is the wall's)
UP_HOLES_GREY = 20
#: ``up_holes``: the static triangulated pixels above a run whose grey is the scene's there
UP_HOLES_SCENE_PX = 3


def up_holes(
    depth: np.ndarray, moving: np.ndarray, given: np.ndarray, grey: np.ndarray, s: MoverSettings
) -> np.ndarray:
    """``[h,w]`` bool: after the rules, the stage-1 holes straight above each region the rules gave a depth (a
    connected part of ``given`` ``[h,w]`` bool of at least ``UP_HOLES_MIN_PX``) that continue it upward: in each of
    its columns but for ``UP_RUN_TRIM_PX`` at each side, the run of pixels above its highest pixel that stage 1 left a
    hole (``depth`` ``[h,w]`` ≤ 0), unflagged (``moving`` ``[h,w]`` bool) and not given, when the run **ends** at a
    static triangulated pixel (a bounded hole: not a hole reaching the image top, nor one ending at another mover)
    within ``up_holes`` times the region's height in that column (a head and shoulders above a found torso; a
    doorway or an untextured wall above a person is taller, or unbounded), less its top part whose ``grey``
    ``[h,w]`` uint8 stays within ``UP_HOLES_GREY`` of the scene's just above it (the few pixels of static holes the
    flow leaves around a mover). The caller gives them the depth of the region's highest pixel in their column. The
    matcher does not triangulate a moving person, and the flow checks flag her lower part only, so her head and
    shoulders are a hole the stage-2 fill takes from the wall behind her. Measured (``up_holes`` 0.35, final all px):
    indoor-dynamic s690 0.0447 → 0.0424; 18 fresh and real clips 1 better, 16 within ±0.5 %, 1 worse (+0.91 %)
    (docs/geometric.md, "A mover's unflagged head above its found region")."""
    import cv2

    h, w = depth.shape
    out = np.zeros((h, w), bool)
    if not given.any():
        return out
    px = max(h, w) / 320.0
    least = UP_HOLES_MIN_PX * px * px
    hole = (depth <= 0) & ~moving & ~given
    scene = (depth > 0) & ~moving & ~given
    signed = grey.astype(np.int16)
    count, labels = cv2.connectedComponents(given.astype(np.uint8), connectivity=8)
    for label in range(1, count):
        region = labels == label
        height = np.count_nonzero(region, axis=0)  # [w]
        if height.sum() < least:
            continue
        columns = _inner_columns(height > 0, region.shape)
        top = np.argmax(region, axis=0)  # [w] the region's highest row per column
        for x in np.flatnonzero(columns & (top > 0)):
            y = int(top[x]) - 1
            while y >= 0 and hole[y, x]:
                y -= 1
            length = int(top[x]) - 1 - y
            if length == 0 or y < 0 or not scene[y, x] or length > s.up_holes * height[x]:
                continue  # no run, unbounded, ending at a mover, or taller than a head above this body
            above = [r for r in range(y, max(-1, y - 4 * UP_HOLES_SCENE_PX), -1) if scene[r, x]][:UP_HOLES_SCENE_PX]
            wall = float(np.median(signed[above, x]))
            first = y + 1  # the run's top row; its part coloured like the scene above it is the scene's
            while first < top[x] and abs(signed[first, x] - wall) <= UP_HOLES_GREY:
                first += 1
            out[first : top[x], x] = True
    return out


#: ``border_band``: columns (at a 320-pixel long side) inward of the segmentation's side band in which a row's given
#: pixel is looked for (the 5 × 5 opening of the flagged regions rounds their corners off the band's edge)
BORDER_BAND_REACH_PX = 2


def border_band(depth: np.ndarray, given: np.ndarray, s: MoverSettings) -> np.ndarray:
    """``[h,w]`` float32: the depth (0 = none) that the regions the rules gave a depth (``given`` ``[h,w]`` bool) give,
    row by row, to the segmentation's band along the image's left and right sides (``border_px`` at a 320-pixel long
    side, where the flow checks nothing): in each row whose given pixel lies at the band's edge (the first of
    ``BORDER_BAND_REACH_PX`` columns inward), the run of band pixels from there out to the image side that are not given
    and that stage 1 (``depth`` ``[h,w]``) left a hole or put beyond that pixel's depth by ``underground`` takes it
    (the first pixel that fails ends the run). A person cut by the image's side is found only up to the band, and the
    band keeps her stage-1 depth: a far phantom where she walks with a sideways camera (close-object held-out 1447:
    columns 0–7, a fifth of her, 1.3–5× her depth in frames 12–47 while the rest of her is given 0.9–1.0×)."""
    h, w = depth.shape
    px = max(h, w) / 320.0
    band, reach = round(s.border_px * px), max(1, round(BORDER_BAND_REACH_PX * px))
    if band < 1 or 2 * (band + reach) > w:
        return np.zeros((h, w), np.float32)
    return _runs_to_sides(depth, given, given, (band, band + reach), True, s)


def side_holes(depth: np.ndarray, given: np.ndarray, s: MoverSettings) -> np.ndarray:
    """``[h,w]`` float32: the depth (0 = none) that each region the rules gave a depth (a connected part of ``given``
    ``[h,w]`` bool) **cut by the image bottom** (it reaches the lowest ``cut_rows``) gives, row by row, towards the
    image's left and right sides (``side_holes``): in each row whose given pixel nearest the side lies within
    ``side_holes`` columns (at a 320-pixel long side) of it, the run of pixels from there out to the side that are not
    given and that stage 1 (``depth`` ``[h,w]``) left a hole or put beyond that pixel's depth by ``underground``
    takes it, when the run reaches the side (a pixel not beyond it in between ends the run and the row gives
    nothing). A near person entering or leaving through the image's side is found in a patch (the rules give her the
    last-row floor there) while the rest of her, out to the side, is a stage-1 hole the stage-2 fill takes from the
    wall behind her, farther still (rolled indoor-dynamic 1471, frames 57–63: the patch 1.4–1.5× her depth, the
    fill 1.7–1.9× with a tail of 3×; docs/geometric.md, "A near person entering through the image's side")."""
    import cv2

    h, w = depth.shape
    reach = min(round(s.side_holes * max(h, w) / 320.0), w // 2)
    margin = cut_rows((h, w), s)
    if reach < 2 or not given[-margin:].any():
        return np.zeros((h, w), np.float32)
    _, labels = cv2.connectedComponents(given.astype(np.uint8), connectivity=8)
    cut = np.unique(labels[-margin:])
    own = np.isin(labels, cut[cut > 0])  # [h,w] the given regions cut by the image bottom
    return _runs_to_sides(depth, own, given, (1, reach), False, s)


def _runs_to_sides(
    depth: np.ndarray, own: np.ndarray, given: np.ndarray, columns: tuple[int, int], fixed: bool, s: MoverSettings
) -> np.ndarray:
    """``[h,w]`` float32 (0 = none): for the left side, then the right one (mirrored), in each row the first pixel of
    ``own`` ``[h,w]`` bool within the columns ``columns`` ``(first, stop)`` counted from the side gives its ``depth``
    ``[h,w]`` to the run of pixels out to the side (from column ``first`` when ``fixed``, else from its own column)
    that are not ``given`` ``[h,w]`` bool and that stage 1 left a hole or put beyond it by ``underground``; the
    first pixel that fails ends the run (``border_band``); unless ``fixed``, a run that does not reach the side gives
    nothing (``side_holes``)."""
    h, w = depth.shape
    first, stop = columns
    out = np.zeros((h, w), np.float32)
    step = 1.0 + s.underground
    rows = np.arange(h)
    for side in (1, -1):  # the left side, then the right one (mirrored)
        mine, taken, values = own[:, ::side], given[:, ::side], depth[:, ::side]
        inner = mine[:, first:stop]  # [h,stop-first]
        at = first + np.argmax(inner, axis=1)  # [h] the first own column within the columns
        value = np.where(inner.any(axis=1), values[rows, at], 0.0)  # [h]
        ends = np.full(h, first) if fixed else at  # [h] the run covers the columns before this one
        strip = values[:, :stop]
        free = ~taken[:, :stop] & ((strip <= 0) | (strip > step * value[:, None])) & (value[:, None] > 0)
        inside = np.arange(stop)[None, :] < ends[:, None]  # [h,stop]
        blocked = inside & ~free
        last = np.where(blocked.any(axis=1), stop - 1 - np.argmax(blocked[:, ::-1], axis=1), -1)  # [h] -1: none
        run = inside & (np.arange(stop)[None, :] > last[:, None])
        if not fixed:
            run &= (last < 0)[:, None] & (ends > 0)[:, None]
        out[:, ::side][:, :stop] = np.where(run, value[:, None], out[:, ::side][:, :stop])
    return out


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
    if stats[largest, cv2.CC_STAT_AREA] < s.beyond_part * h * w or not stands(blob, on_ground, s.contact_rows):
        return region, None
    contact = _contact_depth(blob, ground)
    if contact is None or np.median(depth[blob]) < (1.0 + s.part_beyond) * contact:
        return region, None
    above = np.arange(h)[:, None] <= int(np.nonzero(blob)[0].max())
    part = region & above & ((depth <= 0) | (depth > contact * (1.0 + s.underground)))
    return part, contact


def _contact_beside(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    on_ground: np.ndarray,
    moving: np.ndarray,
    s: MoverSettings,
) -> tuple[np.ndarray, float | None]:
    """A mover ``region`` triangulated too near (``contact_beside``): its pixels nearer than the ground at their own
    row by ``contact_beside`` (``near``), joined down their columns through stage-1 holes and flagged pixels
    (``moving [h,w]`` bool) to their lowest pixels, stand where ground (``on_ground [h,w]`` bool, not flagged) is
    seen left and right of those lowest pixels (within ``contact_rows`` columns, their rows ±2) or under them, and
    lie (median) nearer than the ground there by the same fraction: no static object standing there can. Returns
    the region's holes and pixels nearer than the contact by the same fraction in their columns, no lower than them
    (her head above the horizon too), with the joined ones (the rest of the region, e.g. static background flagged
    with it, keeps its depth) ``[h,w]`` bool, and the ground's depth at the lowest pixels; or ``region`` and
    None."""
    h, w = depth.shape
    near = region & (depth > 0) & np.isfinite(ground) & (depth < (1.0 - s.contact_beside) * ground)
    if near.sum() < 20:
        return region, None
    ys, xs = np.nonzero(near)
    labels = _components_below(near, (depth <= 0) | moving)
    joined = np.intersect1d(labels[near], labels[(labels > 0) & ~near])
    body = near | (np.isin(labels, joined[joined > 0]) & (np.arange(h)[:, None] > ys.max()))
    support = on_ground & ~moving
    low = s.beside_low <= 0 or _low_and_tall(body, s.beside_low, s.beside_height)
    if not low and not (s.beside_stands and _low_and_tall(body, 1.0, s.beside_height)):
        return region, None
    value = _contact_depth(body, ground)
    if value is None or np.median(depth[near]) >= (1.0 - s.contact_beside) * value:
        return region, None
    rows, columns = lowest_pixels(body)
    band = slice(max(0, int(rows.min()) - 2), min(h, int(rows.max()) + 3))
    left, right = int(columns.min()), int(columns.max())
    reach = s.contact_rows
    beside = support[band, max(0, left - reach) : left].any() and support[band, right + 1 : right + 1 + reach].any()
    if not (beside or stands(body, support, s.contact_rows)):
        return region, None
    if not low and not (beside and stands(body, support, max(1, s.contact_rows // STANDS_DIVISOR))):
        return region, None  # beside_stands: above the lowest rows, only feet on the floor seen under and beside
    if not low and not _mostly_triangulated(depth, body):
        return region, None  # beside_stands: not a floating object crossing close, a stage-1 hole (near_holes')
    box = np.zeros((h, w), bool)
    box[: ys.max() + 1, xs.min() : xs.max() + 1] = True
    nearer = (depth > 0) & (depth < (1.0 - s.contact_beside) * value)  # not a far wall nearer than the far floor
    return (body & ((depth <= 0) | nearer)) | (region & box & ((depth <= 0) | nearer)), value


def _near_contact(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    ground_px: np.ndarray,
    on_ground: np.ndarray,
    rate: float,
    s: MoverSettings,
) -> tuple[np.ndarray, float | None]:
    """A mover ``region`` ``[h,w]`` bool put nearer than its ground contact (``near_contact``): its pixels nearer than
    the ground ``ground`` ``[h,w]`` at their own row by ``near_contact`` (``near``), grown down through triangulated
    pixels off the ground (``ground_px`` ``[h,w]`` bool) at their own depth (``segment_step``: the legs stage 1 put
    as near and the segmentation did not flag), upright against the ground's inverse-depth ``rate``, standing on the
    ground (``on_ground`` ``[h,w]`` bool, unflagged; ``contact_rows``) and triangulated on at least ``STANDS_SEEN`` of
    the region, and lying (median) nearer than the ground under the grown body's lowest pixels by the same
    fraction. Returns the triangulated pixels of the grown body and of the region nearer than that contact by the
    fraction ``[h,w]`` bool, and the contact depth; or ``region`` and None."""
    factor = 1.0 - s.near_contact
    near = region & (depth > 0) & np.isfinite(ground) & (depth < factor * ground)
    if near.sum() < 20 or not _mostly_triangulated(depth, region):
        return region, None
    body = _extend_down(depth, near, (depth > 0) & ~ground_px, s.segment_step)
    if not stands(body, on_ground & ~body, s.contact_rows) or not upright(depth, body, rate, s):
        return region, None
    contact = _contact_depth(body, ground)
    if contact is None or np.median(depth[near]) >= factor * contact:
        return region, None
    nearer = (depth > 0) & (depth < factor * contact)
    return (body | region) & nearer, contact


def _near_occluded(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    ground_px: np.ndarray,
    moving: np.ndarray,
    rate: float,
    s: MoverSettings,
) -> tuple[np.ndarray, float | None]:
    """A mover ``region`` ``[h,w]`` bool put nearer than the static surface that hides its feet (``near_occluded``):
    its pixels nearer than the ground ``ground`` ``[h,w]`` at their own row by ``near_contact`` (``near``), grown down
    as :func:`_near_contact` grows them (``ground_px`` ``[h,w]`` bool: the pixels on the ground plane), upright against
    the ground's inverse-depth ``rate``, lie (median) nearer by the same fraction (``near_occluded_margin`` when
    set) than the static surface under the grown body's bottom edge (:func:`~.ground.occluder_depth`; ``moving``
    ``[h,w]`` bool): that surface hides the body's lower part, so the body lies behind it (its depth is a lower
    bound) and stands at or below its lowest pixels (the ground under them is an upper bound). Returns the
    triangulated pixels of the grown body and of the region nearer than the given depth by the fraction ``[h,w]``
    bool, and that depth, the geometric mean of the two bounds (the occluder's depth when the ground is not beyond
    it); or ``region`` and None."""
    factor = 1.0 - s.near_contact
    near = region & (depth > 0) & np.isfinite(ground) & (depth < factor * ground)
    if near.sum() < 20 or not _mostly_triangulated(depth, region):
        return region, None
    body = _extend_down(depth, near, (depth > 0) & ~ground_px, s.segment_step)
    if not upright(depth, body, rate, s):
        return region, None
    occluder = occluder_depth(depth, body, moving, ground_px, s.contact_rows)
    if occluder is None:
        return region, None
    upper = _contact_depth(body, ground)
    behind = 1.0 - (s.near_occluded_margin or s.near_contact)  # the body must lie nearer than this × the occluder
    if upper is None or np.median(depth[near]) >= behind * occluder:
        return region, None
    value = float(np.sqrt(occluder * upper)) if upper > occluder else occluder
    nearer = (depth > 0) & (depth < factor * value)
    return (body | region) & nearer, value


def _far_occluded(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    ground_px: np.ndarray,
    moving: np.ndarray,
    s: MoverSettings,
) -> tuple[np.ndarray, float | None]:
    """A mover ``region`` ``[h,w]`` bool put beyond the ground at its hidden feet (``far_occluded``): its triangulated
    pixels within ``underground`` (log) of their median depth (the body, not the flagged rim on the surface in front)
    lie beyond the ground ``ground`` ``[h,w]`` under their lowest pixels while a static surface hides their feet
    (:func:`~.ground.occluded_beyond`; ``ground_px``, ``moving`` ``[h,w]`` bool). Returns the region's holes and body
    ``[h,w]`` bool and the geometric mean of the two bounds; or ``region`` and None."""
    seen = region & (depth > 0)
    if not _mostly_triangulated(depth, region) or np.count_nonzero(seen) < 20:
        return region, None
    log_depth = np.log(np.where(seen, depth, 1.0))
    body = seen & (np.abs(log_depth - np.median(log_depth[seen])) < np.log1p(s.underground))
    bounds = occluded_beyond(depth, body, ground, ground_px, moving, s)
    if bounds is None:
        return region, None
    return (region & (depth <= 0)) | body, float(np.sqrt(bounds[0] * bounds[1]))


def _hole_occluded(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    ground_px: np.ndarray,
    moving: np.ndarray,
    s: MoverSettings,
) -> tuple[np.ndarray, float | None]:
    """A mover ``region`` ``[h,w]`` bool stage 1 left mostly untriangulated, without a contact (``hole_occluded``):
    a static surface off the ground (:func:`~.ground.occluder_depth`; ``ground_px``, ``moving`` ``[h,w]`` bool) under
    its bottom edge, nearer than the ground ``ground`` ``[h,w]`` under its lowest pixels, hides its feet, so it lies
    behind that surface (a lower bound) and stands at or below its lowest pixels (that ground: an upper bound).
    At that depth its top must reach ``HOLE_TOP`` camera heights above the ground (a standing person's head; a flagged
    hole of the wall just above the clutter, whose lowest pixels are the clutter's own rim, stays low) and its width
    be at most ``HOLE_WIDTH`` camera heights (the disocclusion hole beside the near object crossing is wider).
    Returns the region's holes and its pixels stage 1 put beyond that ground ``[h,w]`` bool (the surface's flagged
    rim keeps its depth) and the geometric mean of the two bounds; or ``region`` and None."""
    upper = _contact_depth(region, ground)
    if upper is None:
        return region, None
    occluder = occluder_depth(depth, region, moving, ground_px, s.contact_rows)
    if occluder is None or occluder >= upper:
        return region, None
    plane = plane_coefficients(ground)
    if plane is None:
        return region, None
    value = float(np.sqrt(occluder * upper))
    if not _person_sized(region, plane, value):
        return region, None
    return region & ((depth <= 0) | (depth > upper)), value


def _person_sized(region: np.ndarray, plane: np.ndarray, depth: float) -> bool:
    """``region`` ``[h,w]`` bool at ``depth`` (the ground plane's units; ``plane`` ``[3]``: its inverse depth
    :func:`~.ground.plane_coefficients`, whose gradient is 1 ÷ (focal × camera height) px⁻¹) is a standing person's
    size: its top reaches ``HOLE_TOP`` camera heights above the ground (98th percentile of its pixels) and its
    columns span at most ``HOLE_WIDTH`` camera heights."""
    rows, columns = np.nonzero(region)
    heights = 1.0 - depth * (plane[0] * columns + plane[1] * rows + plane[2])  # camera heights above the ground
    width = (np.ptp(columns) + 1) * depth * float(np.hypot(plane[0], plane[1]))
    return bool(np.percentile(heights, 98) >= HOLE_TOP and width <= HOLE_WIDTH)


def spread_run(
    depth: np.ndarray, region: np.ndarray, spread: np.ndarray, taken: np.ndarray, threshold: float
) -> np.ndarray:
    """``[h,w]`` bool (``far_spread``): the triangulated pixels joined (8-connected) to ``region`` ``[h,w]`` bool
    through pixels whose pairs disagree — the 5×5 median of ``spread`` ``[h,w]`` (the fusion's log-depth standard
    deviation over the frame's pairs) at least ``threshold`` — within ``SPREAD_DEPTH`` of the region's median
    ``depth`` ``[h,w]``, not ``taken`` (other regions' given pixels). A static surface has one depth in every pair;
    a person walking along the camera's sweep at a changing speed against it has a different one in each."""
    import cv2

    own = depth[region & (depth > 0)]
    if not own.size:
        return np.zeros(region.shape, bool)
    ratio = depth / float(np.median(own))
    near = (ratio > 1.0 / SPREAD_DEPTH) & (ratio < SPREAD_DEPTH)
    spread = np.ascontiguousarray(spread, dtype=np.float32)
    passable = near & ~taken & (cv2.medianBlur(spread, 5) >= threshold)
    _, labels = cv2.connectedComponents((passable | region).astype(np.uint8), connectivity=8)
    joined = np.unique(labels[region])
    return np.isin(labels, joined[joined > 0]) & passable


def _low_and_tall(body: np.ndarray, low: float, height: float) -> bool:
    """``body`` ``[h,w]`` bool reaches the lowest ``low`` fraction of the image rows and spans at least ``height`` of
    them."""
    rows = np.flatnonzero(body.any(axis=1))
    h = body.shape[0]
    return bool(rows[-1] >= (1.0 - low) * h - 1 and rows[-1] - rows[0] + 1 >= height * h)


def _last_row(region: np.ndarray, ground: np.ndarray) -> float | None:
    """The depth of a ``region`` ``[h,w]`` bool cut by the image bottom (``cut_last_row``): the ground plane's depth
    ``ground`` ``[h,w]`` at the image's last row in the columns of its lowest pixels (median), or None where those
    rays miss the ground."""
    values = ground[-1, lowest_pixels(region)[1]]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _height_cap(region: np.ndarray, plane: np.ndarray | None, ratio: float) -> float:
    """The farthest depth at which ``region``'s top stands at most ``ratio`` camera heights above the ground
    (``cut_height``), ``inf`` when its top is not above the horizon or there is no plane.

    The ground plane ``plane`` ``[3]`` (:func:`~.ground.plane_coefficients`) has the inverse depth ``g·(u, v, 1)``;
    a point at depth ``z`` on the ray of pixel ``p`` lies ``(1 − z g·p)`` camera heights above it, so a body whose top
    reaches ``p`` with ``g·p < 0`` (above the horizon) and is no taller than ``ratio`` camera heights stands no
    farther than ``(ratio − 1) / (−g·p)``. The top is the ``CUT_HEIGHT_TOP`` percentile of ``−g·p`` over the region's
    pixels (a few stray pixels above the body do not set it).
    """
    if plane is None:
        return float("inf")
    rows, cols = np.nonzero(region)
    above = -float(np.percentile(cols * plane[0] + rows * plane[1] + plane[2], 100.0 - CUT_HEIGHT_TOP))  # −g·p, top
    return (ratio - 1.0) / above if above > 0 else float("inf")


def _hole_reach(region: np.ndarray, passable: np.ndarray, margin: int) -> np.ndarray | None:
    """``region`` ``[h,w]`` bool joined to the image bottom through ``passable`` pixels ``[h,w]`` bool (stage-1 holes
    and flagged pixels) in its own columns, no higher than its top (8-connected): that joined region ``[h,w]`` bool,
    or None when it does not reach the lowest ``margin`` rows."""
    labels = _components_below(region, passable)
    joined = np.intersect1d(labels[region], labels[-margin:])
    joined = joined[joined > 0]
    return np.isin(labels, joined) if joined.size else None


def _components_below(seed: np.ndarray, passable: np.ndarray) -> np.ndarray:
    """``[h,w]`` int32 labels (0 = none) of the 8-connected components of the ``passable [h,w]`` bool pixels in the
    columns of ``seed [h,w]`` bool (non-empty), no higher than its top row."""
    import cv2

    ys, xs = np.nonzero(seed)
    window = np.zeros_like(passable)
    window[ys.min() :, xs.min() : xs.max() + 1] = True
    return cv2.connectedComponents((passable & window).astype(np.uint8), connectivity=8)[1]


#: ``cut_skip_beyond``: most share of a region's triangulated pixels (below the horizon) that may lie on the ground
#: plane (:func:`~.ground.ground_pixels`): a region mostly on it is flagged floor, which the last-row bound would
#: pull to the floor's depth at the image bottom
CUT_SKIP_FLOOR = 0.5


def _cut_skips_beyond(
    depth: np.ndarray,
    region: np.ndarray,
    ground: np.ndarray,
    ground_px: np.ndarray,
    blocking: np.ndarray,
    direct: int,
    rows: int,
    s: MoverSettings,
    seen_at: float | None = None,
) -> bool:
    """``cut_skip_beyond``: the triangulated ``region`` ``[h,w]`` bool reaches the image's lowest ``direct`` rows, or
    ends within ``rows`` rows of the bottom in a column where nothing under it blocks (``blocking`` ``[w]``: each
    column's lowest row that is neither a stage-1 hole nor flagged, :func:`~.ground.lowest_blocking_row`), so it is
    cut by the image bottom; less than ``CUT_SKIP_FLOOR`` of its triangulated pixels below the horizon lie on the
    ground plane (``ground_px`` ``[h,w]`` bool; flagged floor is not a body); and its stage-1 median ``depth``
    ``[h,w]`` lies beyond the depth its cut rule gives (the ground plane ``ground`` ``[h,w]`` at the last row with
    ``cut_last_row``, else under its lowest pixels; ``seen_at``, the ground seen under it, when there is one): that
    depth is an upper bound for a body cut by the image bottom, and it binds. Such a region gets that depth without
    :func:`_beyond_ground`: a person walking along with a sideways camera is triangulated too far with a vertical
    gradient (indoor-dynamic s607: 0.7–1.7× at her lowest rows, 2.5–4× at her top), nearer than the floor behind her
    upper body, so the beyond test never passes."""
    if not (region[-direct:].any() or reached_through_holes(region, blocking, rows).any()):
        return False
    own = region & (depth > 0)
    below = own & np.isfinite(ground)
    if below.any() and np.mean(ground_px[below]) >= CUT_SKIP_FLOOR:
        return False
    if seen_at is not None:  # ground seen under it: its contact, as the rule gives it
        bound: float | None = seen_at
    else:
        bound = _last_row(region, ground) if s.cut_last_row else _contact_depth(region, ground)
    return bound is not None and bool(np.median(depth[own]) > bound)


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
    on the ground plane ``[h,w]`` bool (:func:`~.ground.ground_pixels`); ``rate``: the plane's
    :func:`~.ground.ground_rate`."""
    core = region & (depth > 0) & ~on_ground
    if core.sum() < 20 or not stands(core, on_ground & ~core, s.contact_rows):
        return False
    rows, columns = lowest_pixels(core)
    contact = ground[rows, columns]
    contact = contact[np.isfinite(contact)]
    if not contact.size or np.median(depth[rows, columns]) >= (1.0 - s.floating) * np.median(contact):
        return False
    return upright(depth, core, rate, s)


def oncoming_contact(
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
    no static object standing there can (:func:`mover_depth`'s test; the oncoming carry puts any phantom region
    through it). ``depth`` ``[h,w]`` stage-1 depth, ``ground`` ``[h,w]`` the ground plane's depth, ``on_ground``:
    the frame's pixels on the ground plane ``[h,w]`` bool (:func:`~.ground.ground_pixels`), ``moving`` ``[h,w]``
    bool the mover mask; ``rate``: the plane's :func:`~.ground.ground_rate`. Returns the region with that extension
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
    if core.sum() < 20 or not stands(core, support, s.contact_rows):
        return None
    if _ground_share(depth, core, support, s.contact_rows) < s.oncoming_support:
        return None
    contact = _contact_depth(core, ground)
    if contact is None or np.median(depth[core]) >= factor * contact:
        return None
    if not upright(depth, core, rate, s):
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
    bottom, columns = bottom_edge(region)
    below = np.clip(bottom[:, None] + np.arange(2, 2 + rows), 0, h - 1)  # [n, rows]
    seen = np.count_nonzero(depth[below, columns[:, None]] > 0, axis=1)
    return float(np.median(np.count_nonzero(on_ground[below, columns[:, None]], axis=1) / np.maximum(seen, 1)))


def _seen_contact(region: np.ndarray, ground: np.ndarray, on_ground: np.ndarray, rows: int) -> float | None:
    """Ground depth ``ground [h,w]`` where the ground (``on_ground [h,w]`` bool) is first seen under the lowest
    pixels of ``region`` (within ``rows`` rows; median over the columns where it is), or None where it is seen under
    none of them."""
    h = region.shape[0]
    bottom, columns = lowest_pixels(region)
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
    values = contact[lowest_pixels(region)]
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None
