"""The ground plane of one frame, what stands on it, and what stage 1 put beyond it (module docstring of
:mod:`stereodiff.stage1.movers`, step 1 "beyond the ground" and "contact segments", and the contact geometry of
step 2).

:func:`ground_depth` fits the plane; :func:`underground` and :func:`contact_segments` find the regions no static
surface standing on the ground can be; :func:`ground_pixels`, :func:`ground_rate`, :func:`bottom_edge`,
:func:`lowest_pixels`, :func:`stands` and :func:`upright` are the geometry both those and the mover depth
(:mod:`stereodiff.stage1.movers.depth`) test regions with.
"""

from __future__ import annotations

import numpy as np

from stereodiff.robust import choice_triples
from stereodiff.stage1.fusion import nearest_fill
from stereodiff.stage1.movers.settings import MoverSettings

#: :func:`occluder_depth`: least share of the body's bottom-edge columns with a static surface under them
OCCLUDER_SHARE = 0.5

__all__ = [
    "BEYOND",
    "CUT",
    "FLOATING",
    "bottom_edge",
    "contact_segments",
    "cut_in_neighbours",
    "ground_depth",
    "ground_pixels",
    "ground_rate",
    "lowest_blocking_row",
    "lowest_pixels",
    "occluded_beyond",
    "occluder_depth",
    "plane_coefficients",
    "reached_through_holes",
    "stands",
    "underground",
    "upright",
]


def ground_depth(depth: np.ndarray, static: np.ndarray, settings: MoverSettings, seed: int = 0) -> np.ndarray | None:
    """``[h,w]`` depth of the ground plane of one frame (``inf`` above its horizon), or None when none is found.

    A 3D plane is a plane in inverse depth over the image, ``1/z = a·v + b·u + c``; the ground is the one that
    holds the most static pixels of the frame's lowest third (RANSAC, relative tolerance ``ground_tolerance``)
    among the planes whose inverse depth grows downwards (``a > 0``) more than sideways (``a ≥ 2 |b|``), with a
    horizon (``1/z = 0``) less than an image height above the image (a fronto-parallel wall has none).

    With ``ground_max_beyond`` > 0 the ground must also leave at most that share of the frame's ``static`` pixels
    beyond it (by ``underground``): nothing static lies beyond the ground. A plane through the faces of objects that
    fill the lowest third (a table top scene) puts the room behind them beyond it; then the plane with the most
    inliers among those that pass is taken (their shares measured on a subsample), or none.
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
    samples = choice_triples(rng, len(pick), settings.ground_iterations)  # [S,3]: rng.choice(len(pick), 3) each
    coef, solved = _solve_planes(design[samples], inverse[samples])  # [S,3], [S]
    with np.errstate(divide="ignore", invalid="ignore"):
        horizon = np.where(coef[:, 0] > 0, -(coef[:, 1] * w / 2 + coef[:, 2]) / coef[:, 0], -np.inf)  # 1/z = 0
    candidates = np.flatnonzero(solved & ~(coef[:, 0] < 2 * np.abs(coef[:, 1])) & ~(horizon < -h))
    counts = _inlier_counts(design, inverse, coef[candidates], settings.ground_tolerance)
    if not candidates.size or counts.max() == 0 or counts.max() < settings.ground_min_fraction * len(pick):
        return None
    plane = _refit(design, inverse, coef[candidates[np.argmax(counts)]], settings, (h, w))  # the first of the most
    if settings.ground_max_beyond <= 0 or _beyond_share(depth, static, plane, settings) <= settings.ground_max_beyond:
        return plane
    passing = _beyond_shares(depth, static, coef[candidates], settings, rng) <= settings.ground_max_beyond
    counts = np.where(passing, counts, 0)
    if counts.max() == 0 or counts.max() < settings.ground_min_fraction * len(pick):
        return None
    plane = _refit(design, inverse, coef[candidates[np.argmax(counts)]], settings, (h, w))
    return plane if _beyond_share(depth, static, plane, settings) <= settings.ground_max_beyond else None


def _refit(
    design: np.ndarray, inverse: np.ndarray, winner: np.ndarray, settings: MoverSettings, shape: tuple[int, int]
) -> np.ndarray:
    """``[h,w]`` depth of the plane fitted (least squares in inverse depth) to the points (``design [N,3]`` rows
    ``(v, u, 1)``, ``inverse [N]``) that the RANSAC plane ``winner`` ``[3]`` holds; ``inf`` above its horizon."""
    h, w = shape
    best = np.abs(design @ winner - inverse) < settings.ground_tolerance * inverse
    coef = np.linalg.lstsq(design[best], inverse[best], rcond=None)[0]
    plane = coef[0] * np.arange(h)[:, None] + coef[1] * np.arange(w)[None, :] + coef[2]  # [h,w]
    return np.where(plane > 1e-12, 1.0 / np.maximum(plane, 1e-12), np.inf)


def _beyond_share(depth: np.ndarray, static: np.ndarray, plane: np.ndarray, settings: MoverSettings) -> float:
    """Share of the ``static`` pixels ``[h,w]`` whose depth lies beyond the ground ``plane`` ``[h,w]`` by more than
    ``underground``."""
    beyond = static & (depth > plane * (1.0 + settings.underground))  # inf above the horizon: never beyond
    return np.count_nonzero(beyond) / max(np.count_nonzero(static), 1)


def _beyond_shares(
    depth: np.ndarray, static: np.ndarray, coef: np.ndarray, settings: MoverSettings, rng: np.random.Generator
) -> np.ndarray:
    """``[S]`` :func:`_beyond_share` of the RANSAC planes ``coef`` ``[S,3]`` (``1/z = a·v + b·u + c``) on up to 4000
    of the ``static`` pixels, drawn by ``rng``: beyond means an inverse depth under the plane's by the factor
    ``1 + underground``."""
    ys, xs = np.nonzero(static)
    if len(xs) > 4000:
        pick = rng.choice(len(xs), 4000, replace=False)
        ys, xs = ys[pick], xs[pick]
    design = np.stack([ys, xs, np.ones(len(xs))], axis=1).astype(np.float64)  # [n,3]
    limit = 1.0 / ((1.0 + settings.underground) * depth[ys, xs].astype(np.float64))  # [n]
    shares = np.zeros(len(coef))
    for start in range(0, len(coef), 32):
        planes = design @ coef[start : start + 32].T  # [n,s] the planes' inverse depth
        shares[start : start + 32] = np.count_nonzero(planes > limit[:, None], axis=0) / max(len(xs), 1)
    return shares


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


def underground(depth: np.ndarray, ground: np.ndarray | None, settings: MoverSettings) -> np.ndarray:
    """``[h,w]`` uint8: regions of one frame whose depth lies beyond the ground plane by more than ``underground``
    (relative) — impossible for a static surface standing on the ground, the signature of an object moving along
    with the camera (triangulated too far) — and that stand on the ground (:func:`stands`), or with
    ``far_occluded`` whose feet a static surface hides (:func:`occluded_beyond`): 1; with ``underground_cut``,
    those that reach the image bottom with the plane along it (:func:`_cut_on_ground`): ``CUT`` (2), a mover only
    where the neighbouring frames find one too (:func:`cut_in_neighbours`). (Beyond a table's far edge the floor is
    "under" the table top too, but that region has the image bottom, not the table, below it.) ``ground``: the
    frame's ground plane depth ``[h,w]`` (:func:`ground_depth`; None = nothing found)."""
    import cv2

    h, w = depth.shape
    out = np.zeros((h, w), np.uint8)
    if ground is None:
        return out
    beyond = (depth > 0) & np.isfinite(ground) & (depth > ground * (1.0 + settings.underground))
    on_ground = ground_pixels(depth, ground, settings)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    # each column's lowest row that is neither a hole nor beyond the ground, before the opening trims its edges
    blocking = lowest_blocking_row(~((depth <= 0) | beyond)) if settings.cut_holes > 0 else None
    passed = beyond  # under a region: its own pixels the opening trims are not what hides its feet
    beyond = cv2.morphologyEx(beyond.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    count, labels = cv2.connectedComponents(beyond, connectivity=8)
    scale = max(h, w) / 320.0
    margin, holes = round(settings.cut_margin * scale), round(settings.cut_holes * scale)
    for label in range(1, count):
        region = labels == label
        if stands(region, on_ground, settings.contact_rows):
            out[region] = 1
        elif settings.far_occluded and occluded_beyond(depth, region, ground, on_ground, passed, settings):
            out[region] = 1  # its feet hidden by a surface in front: it stands at or below its lowest pixels
        elif settings.underground_cut and _cut_on_ground(region, depth, on_ground, margin, holes, blocking):
            out[region] = CUT
    return out


#: label of :func:`underground` for a region found by ``underground_cut``
CUT = 2


def cut_in_neighbours(cut: np.ndarray, neighbours: list[np.ndarray]) -> np.ndarray:
    """``[h,w]`` bool: the regions (8-connected) of ``cut`` ``[h,w]`` bool that overlap every mask of ``neighbours``
    (each ``[h,w]`` bool: here the neighbouring frames' ``CUT`` regions of :func:`underground`; ``carry_cut_depth``
    also asks it for the regions reaching the image bottom and those found again).

    A person cut by the image bottom beyond the ground is found frame after frame (indoor-dynamic: chains of 21–32
    frames); a static surface that a real room's plane fit leaves beyond the plane at the image bottom with the plane
    along it is found in single frames (7-Scenes, TUM: never two in a row): the plane fitted there is another surface
    from one frame to the next (docs/geometric.md, "A guard for `movers_underground_cut`")."""
    import cv2

    count, labels = cv2.connectedComponents(cut.astype(np.uint8), connectivity=8)
    keep = np.ones(count, bool)
    for mask in neighbours:
        keep &= np.bincount(labels[mask], minlength=count) > 0
    keep[0] = False
    return keep[labels]


#: ``underground_cut``: least share of the image's lowest two rows beside a region reaching them (columns the region
#: does not reach, with stage-1 depth) that the ground plane must hold
CUT_GROUND_SHARE = 0.95


def _cut_on_ground(
    region: np.ndarray,
    depth: np.ndarray,
    on_ground: np.ndarray,
    margin: int = 0,
    holes: int = 0,
    blocking: np.ndarray | None = None,
) -> bool:
    """``region`` ``[h,w]`` reaches the image bottom and the ground plane holds at least ``CUT_GROUND_SHARE`` of the
    lowest two rows beside it (``depth`` ``[h,w]`` > 0 there; ``on_ground`` ``[h,w]`` bool): the plane is the
    surface seen along the image bottom, so a region beyond it there is not a static surface past another plane's
    edge (7-Scenes: a plane fitted to part of a room's lower third leaves 0–80 % of the bottom rows on it).
    ``margin`` > 0 (``MoverSettings.cut_margin``, pixels): the columns within that many of the ones the region
    reaches are not beside it (the flow blends a mover into the floor just beside its feet). ``holes`` > 0
    (``MoverSettings.cut_holes``, pixels) with ``blocking`` ``[w]`` (:func:`lowest_blocking_row` of the pixels
    that are neither stage-1 holes nor beyond the ground): a column where the region ends within ``holes`` rows of
    the image bottom with only holes and pixels beyond the ground under it reaches the bottom too
    (:func:`reached_through_holes`)."""
    reached = region[-2:].any(axis=0)  # [w]
    if holes > 0 and blocking is not None:
        reached |= reached_through_holes(region, blocking, holes)
    if not reached.any():
        return False
    near = np.convolve(reached.astype(np.int32), np.ones(2 * margin + 1, np.int32), mode="same") > 0  # 0: reached
    beside = ~near & (depth[-2:] > 0).any(axis=0)
    return bool(beside.any() and on_ground[-2:].any(axis=0)[beside].mean() >= CUT_GROUND_SHARE)


def lowest_blocking_row(blocking: np.ndarray) -> np.ndarray:
    """``[w]`` int: per column, the lowest row where ``blocking`` ``[h,w]`` bool is set (−1 where none is)."""
    h = blocking.shape[0]
    return np.where(blocking.any(axis=0), h - 1 - np.argmax(blocking[::-1], axis=0), -1)


def reached_through_holes(region: np.ndarray, blocking: np.ndarray, rows: int) -> np.ndarray:
    """``[w]`` bool: the columns where ``region`` ``[h,w]`` bool ends within ``rows`` rows of the image bottom and
    nothing under it blocks (``blocking`` ``[w]``: each column's lowest row that is neither a stage-1 hole nor
    beyond the ground, :func:`lowest_blocking_row`): the region is cut by the image bottom there although stage 1
    left the last rows untriangulated (indoor-dynamic s522, frames 61–63: the last frames' pairs leave the lowest
    2–3 rows holes under a person cut by the image bottom)."""
    h, w = region.shape
    out = np.zeros(w, bool)
    bottom, columns = bottom_edge(region)
    out[columns[(bottom >= h - 1 - rows) & (blocking[columns] <= bottom)]] = True
    return out


#: labels of :func:`contact_segments`
BEYOND, FLOATING = 1, 2


def contact_segments(depth: np.ndarray, ground: np.ndarray | None, settings: MoverSettings) -> np.ndarray:
    """``[h,w]`` uint8: smooth segments of one frame's stage-1 depth that stand on the ground at a depth no static
    object can have there (``segment_step``): ``BEYOND`` (1) or ``FLOATING`` (2), else 0.

    An object standing on the ground is as far as the ground under its lowest pixels. The depth is cut into
    segments where neighbouring depths differ by more than ``segment_step`` (the farther pixel of a step is the
    cut); a segment that stands on the ground (:func:`stands`) and whose lowest pixels stage 1 put beyond the
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
    on_ground = ground_pixels(depth, ground, settings)
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
    rate = ground_rate(ground)
    bottom_row = h - 1 - int(settings.border_px * max(h, w) / 320.0)
    for label in np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= settings.min_area * h * w):
        top, height = stats[label, cv2.CC_STAT_TOP], stats[label, cv2.CC_STAT_HEIGHT]
        if label == 0 or top + height - 1 >= bottom_row:
            continue  # reaching the image bottom: no seen contact (the floor past a table's edge)
        region = labels == label
        rows, columns = lowest_pixels(region)
        contact = ground[rows, columns]
        if not np.isfinite(contact).all() or not stands(region, on_ground & ~region, settings.contact_rows):
            continue
        ratio = float(np.median(depth[rows, columns]) / np.median(contact))
        if ratio > 1.0 + settings.underground:
            out[region] = BEYOND
        elif settings.floating > 0 and ratio < 1.0 - settings.floating and upright(depth, region, rate, settings):
            out[region] = FLOATING
    return out


def ground_rate(ground: np.ndarray) -> float:
    """How much the inverse depth of the ground plane ``[h,w]`` grows per row downwards (0 if it never shows)."""
    seen = np.isfinite(ground[:-1]) & np.isfinite(ground[1:])  # both rows below the horizon
    rate = np.diff(1.0 / ground, axis=0)
    return float(np.median(rate[seen])) if seen.any() else 0.0


def upright(depth: np.ndarray, region: np.ndarray, rate: float, settings: MoverSettings) -> bool:
    """``region``'s inverse depth grows downwards less than ``upright_slope`` times the ground's ``rate`` (per row,
    :func:`ground_rate`): a vertical surface, not a horizontal one (a table top) seen from above."""
    ys, _ = np.nonzero(region)
    if np.ptp(ys) < 2 or rate <= 0:
        return False
    slope = np.polyfit(ys.astype(np.float64), 1.0 / depth[region].astype(np.float64), 1)[0]
    return bool(slope < settings.upright_slope * rate)


def plane_coefficients(plane: np.ndarray, stride: int = 4) -> np.ndarray | None:
    """``[3]`` ``g`` with the ground plane's inverse depth ``g · (u, v, 1)`` (negative above its horizon), fitted on
    every ``stride``-th pixel of its ``[h,w]`` depth map (:func:`ground_depth`, ``inf`` above the horizon), or None."""
    rows, cols = np.mgrid[0 : plane.shape[0] : stride, 0 : plane.shape[1] : stride]
    finite = np.isfinite(plane[rows, cols])
    if np.count_nonzero(finite) < 3:
        return None
    design = np.stack([cols[finite], rows[finite], np.ones(np.count_nonzero(finite))], axis=1).astype(np.float64)
    return np.linalg.lstsq(design, 1.0 / plane[rows, cols][finite].astype(np.float64), rcond=None)[0]


def lowest_pixels(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns ``[n]`` of the lowest pixels of ``region`` (its ground contact when it stands on the
    ground): the bottom edge where it lies within a tenth of its own span (at least 2 rows) of its lowest row."""
    bottom, columns = bottom_edge(region)
    top, low = int(bottom.min()), int(bottom.max())
    lowest = bottom >= low - max(2, (low - top) // 10)
    return bottom[lowest], columns[lowest]


def ground_pixels(depth: np.ndarray, ground: np.ndarray, settings: MoverSettings) -> np.ndarray:
    """``[h,w]`` bool: pixels whose depth is the ground plane's ``[h,w]`` (within twice the RANSAC tolerance)."""
    return (depth > 0) & np.isfinite(ground) & (np.abs(depth - ground) < 2 * settings.ground_tolerance * ground)


def bottom_edge(region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest row ``[n]`` of ``region`` in each of its ``n`` columns, and those columns ``[n]``."""
    has = region.any(axis=0)
    columns = np.flatnonzero(has)
    bottom = region.shape[0] - 1 - np.argmax(region[::-1, columns], axis=0)
    return bottom, columns


def stands(region: np.ndarray, on_ground: np.ndarray, rows: int) -> bool:
    """``region`` stands on the ground: it does not touch the image bottom, and the ground holds a pixel among the
    ``rows`` rows under its bottom edge in at least half of its columns."""
    h = region.shape[0]
    bottom, columns = bottom_edge(region)
    if bottom.max() >= h - 2:
        return False
    below = np.clip(bottom[:, None] + np.arange(2, 2 + rows), 0, h - 1)  # [n, rows]
    return bool(on_ground[below, columns[:, None]].any(axis=1).mean() >= 0.5)


def occluder_depth(
    depth: np.ndarray, body: np.ndarray, moving: np.ndarray, ground_px: np.ndarray, rows: int
) -> float | None:
    """The depth (median) of the static surface under ``body`` ``[h,w]`` bool: in each of its bottom-edge columns the
    first triangulated unflagged pixel within ``rows`` rows under it (stage-1 holes and ``moving`` ``[h,w]`` bool
    pixels are passed: stage 1 leaves the occlusion boundary untriangulated), counted when it is neither on the ground
    (``ground_px`` ``[h,w]`` bool: the feet are seen there) nor the body; None unless ``OCCLUDER_SHARE`` of the
    columns have one."""
    h = depth.shape[0]
    bottom, columns = bottom_edge(body)
    below = np.clip(bottom[:, None] + np.arange(1, 1 + rows), 0, h - 1)  # [n, rows]
    under = depth[below, columns[:, None]]
    blocking = (under > 0) & ~moving[below, columns[:, None]]
    first = np.argmax(blocking, axis=1)  # [n]
    at = below[np.arange(columns.size), first], columns
    seen = blocking.any(axis=1) & ~ground_px[at] & ~body[at]
    if seen.mean() < OCCLUDER_SHARE:
        return None
    return float(np.median(depth[at][seen]))


def occluded_beyond(
    depth: np.ndarray,
    body: np.ndarray,
    ground: np.ndarray,
    ground_px: np.ndarray,
    moving: np.ndarray,
    settings: MoverSettings,
) -> tuple[float, float] | None:
    """``(occluder, upper)`` when ``body`` ``[h,w]`` bool lies beyond the ground ``ground`` ``[h,w]`` under its lowest
    pixels by ``underground`` (median over those stage 1 triangulated) while a static surface off the ground
    (:func:`occluder_depth`; ``ground_px``, ``moving`` ``[h,w]`` bool), nearer than that ground, lies under its bottom
    edge: its feet are hidden by that surface, so it stands at or below its lowest visible pixels — no farther than
    the ground there (``upper``) — and behind the surface (``occluder``, a lower bound). A static object standing on
    the ground whose base a nearer object hides is never beyond that ground (its base would show above the
    occluder); a body walking along with a sideways camera is triangulated beyond it (close-object 1980). Else None.
    """
    rows, columns = lowest_pixels(body)
    under, own = ground[rows, columns], depth[rows, columns]
    known = np.isfinite(under) & (own > 0)
    if np.count_nonzero(known) < max(3, 0.5 * rows.size):
        return None
    upper = float(np.median(under[known]))
    if np.median(own[known]) <= (1.0 + settings.underground) * upper:
        return None
    occluder = occluder_depth(depth, body, moving, ground_px, settings.contact_rows)
    return (occluder, upper) if occluder is not None and occluder < upper else None
