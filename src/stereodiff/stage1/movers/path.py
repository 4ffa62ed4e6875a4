"""The object standing in a forward-moving camera's path takes the ground's depth at its contact
(:func:`path_contact`, ``MoverSettings.path_contact``; docs/geometric.md, "The car in the camera's path").

A car driving ahead of a vehicle's camera moves along the camera's translation: its flow is that of a static point
at another depth, so the flow checks cannot see it, and stage 1 triangulates it at a multiple of its depth that may
lie anywhere from inside the static noise (1.1–1.6×) to 3×. What does not depend on its motion is where it stands:
in each image column of the object, the road is seen up to the object's lowest pixels and hidden from there up to
the horizon, and an upright object standing there is as far as the road where it is last seen. This module finds
such columns near the camera's path (the columns within ``path_contact`` camera heights of the epipole at the
contact's depth: the lane ahead, not the parked cars, sidewalks and buildings beside it), groups them into one
object of one depth (a rigid car's back is one depth) and gives that depth to its pixels that stage 1 put beyond it
by ``underground`` — impossible for a static upright surface standing there; pixels at about or nearer than it
(something in front, or stage 1 right) and its holes (stage 2 fills them from the corrected pixels) keep theirs.
"""

from __future__ import annotations

import bisect

import numpy as np

from stereodiff.stage1.movers.ground import cut_in_neighbours
from stereodiff.stage1.movers.settings import MoverSettings

__all__ = ["path_contact"]

#: a run of this many off-ground triangulated pixels (holes between them allowed, no ground pixel) above the road is
#: an object's lowest part (at a 320-pixel long side: fewer are road noise)
RUN_PX = 4
#: above its lowest part, the object hides the road up to the horizon: at most this share of the triangulated pixels
#: there may lie on the ground plane (the car's own pixels crossing the plane's depth near the horizon)
HIDDEN_SHARE = 0.1
#: the contact lies at least this fraction of the image height under the horizon (an object within ≈ 40 m for a
#: 60° camera at a car's height; the farther road is too flat in inverse depth to tell from noise)
MIN_BELOW = 0.05
#: one object spans at least this many columns (pixels at a 320-pixel long side; a car at 40 m spans ≈ 12), with
#: gaps of at most ``GAP_PX`` between its columns
MIN_WIDTH_PX = 8
GAP_PX = 2
#: a column whose contact row lies farther than this share of the object's height above the horizon from the
#: object's median contact row belongs to something else (the road beside it, an object at another depth)
ROW_TOLERANCE = 0.2
#: ``side_out``: the strip beside an object whose depth must stand behind it lies this many pixels (at a 320-pixel
#: long side) beyond its outermost columns (the flow's patches blend the object into the first few) and is this many
#: wide
OUT_GAP = 2
OUT_REACH = 13


def path_contact(
    depth: np.ndarray,
    ground: np.ndarray,
    on_ground: np.ndarray,
    epipole_u: float,
    s: MoverSettings,
    handled: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One frame: the objects in the camera's path that stage 1 put beyond the ground where they stand take that
    ground's depth.

    Args:
        depth: ``[h,w]`` stage-1 depth (0 = hole), after the other mover rules.
        ground: ``[h,w]`` the ground plane's depth (``inf`` above its horizon, :func:`~.ground.ground_depth`).
        on_ground: ``[h,w]`` bool, the pixels on that plane (:func:`~.ground.ground_pixels`).
        epipole_u: the column of the epipole (the camera's heading).
        s: ``path_contact`` (half-width of the path in camera heights: a column ``|u − epipole_u|`` from the
            heading is in the path when that is at most ``path_contact`` times the contact's rows under the horizon,
            i.e. the object's lateral offset is at most ``path_contact`` camera heights), ``underground``,
            ``contact_rows``, ``border_px``, ``path_trim`` (pixels dropped from each side of an object's columns),
            ``path_near``, ``path_near_foot``, ``segment_step``, ``side_bottom`` (the scans reach the last row),
            ``side_grow`` (:func:`_grown`), ``side_cut`` (:func:`_cut_bound`).
        handled: ``[h,w]`` bool, the pixels the other mover rules gave a depth (``path_near_foot`` leaves them out;
            None = none).

    Returns:
        The new depth ``[h,w]`` (a copy) and the pixels given a depth here ``[h,w]`` bool.
    """
    h, w = depth.shape
    px = max(h, w) / 320.0
    finite = np.isfinite(ground)
    obstacle = (depth > 0) & finite & ~on_ground
    horizon = np.where(finite.any(axis=0), np.argmax(finite, axis=0), h)  # [w] first row under the horizon
    bottom = _scan_bottom(h, px, s)
    contact_row, lowest = np.full(w, -1), np.full(w, -1)  # [w] the road's last row, the object's lowest row
    run = max(2, round(RUN_PX * px))
    trim = round(s.path_trim * px)
    path = np.abs(np.arange(w) - epipole_u) <= s.path_contact * (bottom - horizon)  # [w] the widest path
    path &= not s.path_side  # no path: every column is beside it
    for u in np.flatnonzero(path | (s.path_near > 0)):
        found = _column_contact(on_ground[:, u], obstacle[:, u], int(horizon[u]), bottom, run)
        if found is None:
            continue
        road, low = found
        below_horizon = road - horizon[u]
        if road - low > s.contact_rows or below_horizon < MIN_BELOW * h:
            continue
        path[u] = not s.path_side and abs(u - epipole_u) <= s.path_contact * below_horizon
        seen = np.count_nonzero(depth[horizon[u] : low + 1, u] > 0)
        if seen < run or np.count_nonzero(on_ground[horizon[u] : low + 1, u]) > HIDDEN_SHARE * seen:
            continue  # the road shows above it: not an upright object hiding it
        contact_row[u], lowest[u] = road, low
    out = np.array(depth, dtype=np.float32, copy=True)
    given = np.zeros((h, w), bool)
    grid = np.arange(h)[:, None]
    width, gap = round(MIN_WIDTH_PX * px), round(GAP_PX * px)
    objects = [(columns, False) for columns in _objects(np.where(path, contact_row, -1), width, gap)]
    if s.path_near > 0:  # the objects beside the path, standing on the road
        objects += [(columns, True) for columns in _standing(np.where(path, -1, contact_row), horizon, width, gap)]
    for columns, nearer in objects:
        rows = contact_row[columns]
        value = float(np.median(ground[rows, columns]))
        middle = float(np.median(rows))
        columns = columns[np.abs(rows - middle) <= ROW_TOLERANCE * (middle - horizon[columns])]
        if trim and columns.size:  # the scenery beside the object, whose flow its flow blends into
            columns = columns[(columns >= columns[0] + trim) & (columns <= columns[-1] - trim)]
        if nearer and s.side_beside and not _ground_beside(on_ground, lowest[columns], columns, s.contact_rows):
            continue
        span = np.zeros((h, w), bool)
        span[:, columns] = (grid >= horizon[columns]) & (grid <= lowest[columns])
        if nearer:
            take = _nearer(depth, span & ~on_ground, (1.0 - s.path_near) * value)
            if s.side_out > 0 and take.any() and not _stands_out(depth, take, value, s.side_out):
                continue
            if (s.side_grow or s.side_cut) and take.any():
                keep = on_ground | given if handled is None else on_ground | given | handled
                take, value = _extended(depth, take, keep, ground, value, s)
        else:
            take = span & ~on_ground & (depth > (1.0 + s.underground) * value)
        out[take] = value
        given |= take
    if s.path_near > 0 and s.path_near_foot:
        skip = given if handled is None else given | handled
        _near_feet(out, given, ground, on_ground, horizon, epipole_u, skip, s, depth)
    return out, given


def _near_feet(
    out: np.ndarray,
    given: np.ndarray,
    ground: np.ndarray,
    on_ground: np.ndarray,
    horizon: np.ndarray,
    epipole_u: float,
    skip: np.ndarray,
    s: MoverSettings,
    before: np.ndarray,
) -> None:
    """``path_near_foot``, in place on ``out`` and ``given`` ``[h,w]``: the objects beside the path found from above
    (:func:`_feet`, ``skip`` ``[h,w]`` bool left out) that lie nearer than the ground at their own lowest row by more
    than ``path_near`` (per column, and as a whole: the median of their pixels) take that ground's depth (median over
    their columns) on their pixels nearer than that by ``path_near`` (with ``side_out``: when the scene beside them
    stands behind them in ``before`` ``[h,w]``, the frame's depth before this step). A static upright
    object standing on the road is as far as the ground at its lowest row (a box with a clearance under it 1/1.27 of
    that, for a camera 1.65 m high over a gap of 0.35 m: inside the margin)."""
    h, w = out.shape
    px = max(h, w) / 320.0
    top, low, median = _feet(out, ground, on_ground, horizon, skip, s)
    below = low - horizon
    columns = np.arange(w)
    beside = (
        (low >= 0) & (below >= MIN_BELOW * h) & (s.path_side | (np.abs(columns - epipole_u) > s.path_contact * below))
    )
    contact = np.full(w, np.inf)
    contact[beside] = ground[low[beside], columns[beside]]
    nearer = beside & (median < (1.0 - s.path_near) * contact)
    grid = np.arange(h)[:, None]
    for group in _objects(np.where(nearer, low, -1), round(MIN_WIDTH_PX * px), round(GAP_PX * px)):
        if s.side_beside and not _ground_beside(on_ground, low[group], group, s.contact_rows):
            continue
        value = float(np.median(contact[group]))
        span = np.zeros((h, w), bool)
        span[:, group] = (grid >= top[group]) & (grid <= low[group])
        span &= (out > 0) & ~on_ground & ~skip
        limit = (1.0 - s.path_near) * value
        if not span.any() or float(np.median(out[span])) >= limit:
            continue
        take = span & (out < limit)
        if s.side_out > 0 and not _stands_out(before, take, value, s.side_out):
            continue
        if s.side_grow or s.side_cut:
            take, value = _extended(out, take, on_ground | skip, ground, value, s)
        out[take] = value
        given |= take


#: ``path_near_foot``: an upright run's end is decided on the median of this many triangulated pixels from there
#: down (one noisy pixel does not end it; :func:`_ahead_median` is written for 3)
LOOK_PX = 3


def _feet(
    depth: np.ndarray,
    ground: np.ndarray,
    on_ground: np.ndarray,
    horizon: np.ndarray,
    skip: np.ndarray,
    s: MoverSettings,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``path_near_foot``: per column of ``depth`` ``[h,w]`` (0 = hole; ``skip`` ``[h,w]`` bool counted as holes),
    scanning its triangulated pixels down from the ground plane's ``horizon`` ``[w]`` to ``border_px`` above the
    image bottom: the lowest upright run (at least ``RUN_PX`` pixels within ``segment_step`` of the run's median,
    restarted where the depth from there down, the median of ``LOOK_PX`` pixels, is nearer by that step: something in
    front begins) that ends where the depth steps farther by that step or meets the ground (``on_ground``
    ``[h,w]``), and whose foot is confirmed: two triangulated pixels in a row on the ground within ``contact_rows``
    rows under it, and no off-ground pixel there at about the run's depth or nearer (within the step, on the median
    of ``LOOK_PX``) that lies nearer than the ground at its own row by ``path_near`` (the same object going on below
    a noisy band, which may cross the plane at a few pixels). Columns within ``border_px`` of the image's sides are
    not scanned. Returns ``[w]`` int the run's top and lowest row (-1: none) and ``[w]`` float its median depth."""
    h, w = depth.shape
    bottom = _scan_bottom(h, max(h, w) / 320.0, s)
    run = max(2, round(RUN_PX * max(h, w) / 320.0))
    step = 1.0 + s.segment_step
    top, low, median = np.full(w, -1), np.full(w, -1), np.full(w, np.inf)
    usable = (depth > 0) & ~skip
    side = int(s.border_px * max(h, w) / 320.0)  # the flow is extrapolated at the image's sides
    for u in range(side, w - side):
        hz = int(horizon[u])
        if hz >= bottom:
            continue
        rows = hz + np.flatnonzero(usable[hz : bottom + 1, u])
        n = rows.size
        if n < run or on_ground[rows[0], u]:
            continue  # the road right under the horizon: nothing stands there
        values = depth[rows, u]
        ahead = _ahead_median(values).tolist()  # [n]
        on, floor, values = on_ground[rows, u].tolist(), ground[rows, u].tolist(), values.tolist()
        start, ordered, end = 0, [values[0]], -1
        for i in range(1, n):
            half = len(ordered) // 2
            ref = ordered[half] if len(ordered) % 2 else 0.5 * (ordered[half - 1] + ordered[half])
            if on[i] or (ahead[i] > step * ref and ahead[i] > step * _median3(values, start, max(start + 1, i - 1))):
                end = i - 1  # the ground, or a step farther (against the run and its last pixels: not a drift)
                break
            if ahead[i] * step < ref:
                start, ordered = i, [values[i]]
            else:
                bisect.insort(ordered, values[i])
        if end < 0 or end - start + 1 < run:
            continue
        half = len(ordered) // 2  # the run's median, as np.median of its float32 values
        ref = (
            ordered[half]
            if len(ordered) % 2
            else float((np.float32(ordered[half - 1]) + np.float32(ordered[half])) / 2)
        )
        seen, alone = False, True
        for j in range(end + 1, n):
            if rows[j] - rows[end] > s.contact_rows:
                break
            seen |= on[j] and j + 1 < n and on[j + 1]
            if not on[j] and ahead[j] <= step * ref and values[j] < (1.0 - s.path_near) * floor[j]:
                alone = False  # the same object goes on below a noisy band
                break
        if seen and alone:
            top[u], low[u], median[u] = rows[start], rows[end], ref
    return top, low, median


def _grown(depth: np.ndarray, take: np.ndarray, keep: np.ndarray, limit: float, step: float) -> np.ndarray:
    """``side_grow``: ``take`` ``[h,w]`` bool (an object's pixels given its contact) and the triangulated pixels of
    ``depth`` ``[h,w]`` (0 = hole) 8-connected to it through pixels within ``1 + step`` of its median depth and
    nearer than ``limit``, not in ``keep`` ``[h,w]`` bool (the ground, the pixels other rules gave a depth: a cut
    person joined with her in one mover region holds the region's value, within the step of hers): the same upright
    object over columns where the floor under its feet is not seen on the plane (the flow's patches blend her feet
    into it)."""
    ref = float(np.median(depth[take]))
    same = (depth > ref / (1.0 + step)) & (depth < ref * (1.0 + step)) & (depth < limit) & ~keep
    return take | (cut_in_neighbours(same | take, [take]) & same)


def _extended(
    depth: np.ndarray, take: np.ndarray, keep: np.ndarray, ground: np.ndarray, value: float, s: MoverSettings
) -> tuple[np.ndarray, float]:
    """``side_grow`` / ``side_cut`` on an object the side rules take: its pixels ``take`` ``[h,w]`` bool, grown
    (:func:`_grown`, ``keep`` ``[h,w]`` bool left out) with ``side_grow``, and its contact depth ``value`` bounded by
    :func:`_cut_bound` with ``side_cut``; only pixels of ``depth`` ``[h,w]`` nearer than the bounded value by
    ``path_near`` are taken. Returns the pixels to give the depth and that depth."""
    grown = _grown(depth, take, keep, (1.0 - s.path_near) * value, s.segment_step)
    if s.side_cut:
        value = _cut_bound(ground, grown, value)
    return (grown if s.side_grow else take) & (depth < (1.0 - s.path_near) * value), value


def _cut_bound(ground: np.ndarray, region: np.ndarray, value: float) -> float:
    """``side_cut``: the depth an object may take, ``value`` (m, the ground at its contact) or, when its ``region``
    ``[h,w]`` bool (its pixels with those connected to them at its depth, :func:`_grown`) reaches the image's last
    row, at most the ``ground`` ``[h,w]`` plane's depth there under it (median over those columns): it goes on below
    the image, its feet unseen, so it stands nearer than the floor at the last row, and the ground found under some
    of its columns (beside a leg cut off) lies behind it."""
    bottom = region[-1]
    return min(value, float(np.median(ground[-1, bottom]))) if bottom.any() else value


def _scan_bottom(h: int, px: float, s: MoverSettings) -> int:
    """The lowest row the scans of :func:`path_contact` and :func:`_feet` reach in an image ``h`` rows high (``px``:
    its long side ÷ 320): ``border_px`` above the last row, or the last row itself with ``side_bottom`` (a camera with
    no path only)."""
    return h - 1 if s.side_bottom and s.path_side else h - 1 - int(s.border_px * px)


def _ground_beside(on_ground: np.ndarray, lowest: np.ndarray, columns: np.ndarray, reach: int) -> bool:
    """``side_beside``: the ground (``on_ground`` ``[h,w]`` bool) is seen both left and right of an object's
    ``columns`` ``[n]`` (within ``reach`` columns) in the rows of its lowest pixels ``lowest`` ``[n]`` (±2): a person
    stands on a floor that shows beside her feet; a static surface whose depth steps farther at a noisy row (a
    cabinet door on 7-Scenes) has more of itself beside that row."""
    if not columns.size:
        return False
    h = on_ground.shape[0]
    band = on_ground[max(0, int(lowest.min()) - 2) : min(h, int(lowest.max()) + 3)]
    left, right = int(columns.min()), int(columns.max())
    return bool(band[:, max(0, left - reach) : left].any() and band[:, right + 1 : right + 1 + reach].any())


def _stands_out(depth: np.ndarray, take: np.ndarray, value: float, ratio: float) -> bool:
    """``side_out``: the scene beside an object stands behind it. Over the rows of its pixels ``take`` ``[h,w]`` bool
    (not empty), in a strip ``OUT_REACH`` columns wide ``OUT_GAP`` columns beyond its outermost ones on each side,
    the median of the triangulated pixels of ``depth`` ``[h,w]`` (0 = hole) on the farther side is at least ``ratio``
    × ``value`` (the ground where it stands). A person standing on the floor has the room behind her, as far as her
    feet or farther; a patch of a static surface whose depth steps farther mid-surface has the same surface beside
    it, at its own depth. No triangulated pixel on either side (the image's borders): not shown."""
    h, w = depth.shape
    px = max(h, w) / 320.0
    gap, reach = round(OUT_GAP * px), round(OUT_REACH * px)
    rows = np.flatnonzero(take.any(axis=1))
    columns = np.flatnonzero(take.any(axis=0))
    band = depth[rows[0] : rows[-1] + 1]
    left, right = int(columns[0]), int(columns[-1])
    farther = 0.0
    for strip in (
        band[:, max(0, left - gap - reach) : max(0, left - gap)],
        band[:, right + 1 + gap : right + 1 + gap + reach],
    ):
        seen = strip[strip > 0]
        if seen.size:
            farther = max(farther, float(np.median(seen)))
    return farther >= ratio * value


def _median3(values: list[float], start: int, stop: int) -> float:
    """The median of ``values[max(start, stop - 3) : stop]`` (a run's last pixels before ``stop``)."""
    last = sorted(values[max(start, stop - 3) : stop])
    return last[1] if len(last) == 3 else sum(last) / len(last)


def _ahead_median(values: np.ndarray) -> np.ndarray:
    """``[n]`` the median of ``values[i : i + LOOK_PX]`` for each ``i`` (fewer at the end), in ``values``' dtype."""
    out = values.copy()
    if values.size >= 3:
        a, b, c = values[:-2], values[1:-1], values[2:]
        out[:-2] = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    if values.size >= 2:
        out[-2] = (values[-2] + values[-1]) / values.dtype.type(2)
    return out


def _nearer(depth: np.ndarray, span: np.ndarray, limit: float) -> np.ndarray:
    """``path_near``: the pixels of an object's ``span`` ``[h,w]`` bool (its columns from the horizon down to its
    lowest pixels, off the ground) that stage 1 put nearer than ``limit`` (m), when its triangulated pixels do
    (median); else none. An upright object standing on the road is as far as the road where it is last seen; an
    oncoming car, whose flow runs along the camera's epipolar lines, is triangulated at about v_cam / (v_cam +
    v_car) of that."""
    own = depth[span & (depth > 0)]
    if not own.size or float(np.median(own)) >= limit:
        return np.zeros(depth.shape, bool)
    return span & (depth > 0) & (depth < limit)


def _standing(contact_row: np.ndarray, horizon: np.ndarray, min_width: int, gap: int) -> list[np.ndarray]:
    """``path_near``: :func:`_objects`, each also split where the contact row of neighbouring columns jumps by more
    than ``ROW_TOLERANCE`` of its rows under the ``horizon`` ``[w]`` (beside the path, the far road's noise above
    the horizon's rows and the objects standing nearer are side by side), keeping the parts ``min_width`` wide."""
    out = []
    for columns in _objects(contact_row, min_width, gap):
        rows = contact_row[columns]
        jumps = np.abs(np.diff(rows)) > ROW_TOLERANCE * (np.minimum(rows[1:], rows[:-1]) - horizon[columns[1:]])
        out += [c for c in np.split(columns, np.flatnonzero(jumps) + 1) if c[-1] - c[0] + 1 >= min_width]
    return out


def _column_contact(
    on: np.ndarray, obstacle: np.ndarray, horizon: int, bottom: int, run: int
) -> tuple[int, int] | None:
    """Scanning one column up from ``bottom`` to ``horizon``: the lowest ``run`` off-ground pixels (``obstacle``
    ``[h]`` bool; holes between them allowed, no ground pixel, ``on`` ``[h]`` bool) above a seen ground pixel.
    Returns (the row of that last ground pixel, the row of the lowest of them), or None."""
    rows = np.arange(bottom, horizon - 1, -1)
    if rows.size == 0:
        return None
    g, o = on[rows], obstacle[rows]
    last_ground = np.maximum.accumulate(np.where(g, np.arange(rows.size), -1))  # [n] index of the last ground
    counted = np.cumsum(o)
    since = counted - np.where(last_ground >= 0, counted[np.maximum(last_ground, 0)], 0)
    hits = np.flatnonzero(since >= run)
    if not hits.size or last_ground[hits[0]] < 0:
        return None
    road = int(last_ground[hits[0]])
    low = road + 1 + int(np.argmax(o[road + 1 :]))  # the first off-ground pixel above the road
    return int(rows[road]), int(rows[low])


def _objects(contact_row: np.ndarray, min_width: int, gap: int) -> list[np.ndarray]:
    """The columns ``[n]`` of each group of columns with a contact (``contact_row`` ≥ 0), neighbours at most ``gap``
    columns apart, that spans at least ``min_width`` columns (one upright object each)."""
    columns = np.flatnonzero(contact_row >= 0)
    if not columns.size:
        return []
    groups = np.split(columns, np.flatnonzero(np.diff(columns) > gap + 1) + 1)
    return [g for g in groups if g[-1] - g[0] + 1 >= min_width]
