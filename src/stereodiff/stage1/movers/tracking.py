"""Temporal tracking of the movers' depth over frames (module docstring of :mod:`stereodiff.stage1.movers`, step
3): :func:`track_mover_depth` pools each region's depth with the overlapping regions of the neighbouring frames,
:func:`fill_missed_movers` gives it to frames where nothing of the mover was found, :func:`track_cut_depth` gives a
region cut by the image bottom the tightest bound of its track (and, with ``cut_sway``, the depth the camera's sway
along the ground normal implies: :mod:`~stereodiff.stage1.movers.sway`), :func:`carry_cut_depth` carries a cut
region's depth along the flow into the frames where the mover was missed."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator

import numpy as np

from stereodiff.camera import pinhole
from stereodiff.flow import dis_flows, forward_backward, inside_image, thread_dis_engine
from stereodiff.masks import shifted
from stereodiff.progress import logger, thread_map
from stereodiff.robust import theil_sen
from stereodiff.stage1.movers.depth import oncoming_contact
from stereodiff.stage1.movers.ground import cut_in_neighbours, ground_depth
from stereodiff.stage1.movers.settings import MoverSettings
from stereodiff.stage1.movers.shared import CutLinks, SharedFindings
from stereodiff.stage1.movers.sway import (
    SWAY_MIN_FIT,
    SWAY_MIN_PAIRS,
    SwayInputs,
    apparent_motion,
    camera_levels,
    camera_motion,
    fit_sway,
    fit_sway_levels,
    ground_normal,
    ground_points,
    halves_fit,
    pose_motion,
)

__all__ = [
    "carry_cut_depth",
    "carry_hole_depth",
    "carry_near_depth",
    "carry_oncoming_depth",
    "fill_missed_movers",
    "track_cut_depth",
    "track_mover_depth",
]

#: frame offsets whose flow links the regions of :func:`track_cut_depth` and measures their scale ratio
CUT_OFFSETS = (1,)
#: a cut region takes its track's bound only when that is nearer than its own by more than this fraction: the least
#: of many carried bounds lies below the truth by their noise (~5 % on indoor-dynamic seed 6's tight bounds), and a
#: bound that is about tight keeps the region's own (docs/geometric.md, "A depth for a mover cut by the image bottom")
CUT_GAP = 0.1
#: least share of a region's flow-consistent pixels landing in a region of the other frame for a link
CUT_LINK_SHARE = 0.25
#: least flow-consistent pixels of a carried region (at 320 px) for :func:`carry_cut_depth` to carry it a frame on
CARRY_MIN_PX = 50
#: a carried region of which the frame's handled pixels cover at least this share is found there: not carried on
#: (carried on, the union of many frames' shifted regions spreads over the background beside the mover; 0.5 also
#: stops it in the frames where a person is found in part: docs/geometric.md, "Carrying a cut mover's depth")
CARRY_FOUND = 0.8
#: ``carry_standing``'s found share: a carried region landing where the frame's handled pixels cover this share of it
#: is found there. A standing person found frame after frame is given only her body's flagged part, and the carry's
#: shifted region covers the wall beside her too: at 0.8 that strip takes her depth (close-object 1453: the wall at
#: 0.58× in frames 27–36); where she is lost, the handled pieces cover at most 13 % of her (1455)
STANDING_FOUND = 0.3
#: ``carry_standing_ring``: the width (px at 320) of the ring of static pixels around a landed region whose median
#: stage-1 depth is the surface the mover stands in front of
RING_PX = 8
#: a landed region with fewer static ring pixels (at 320 px) than this gives no pixel under ``carry_standing_ring``
RING_MIN_PX = 20


#: :func:`carry_oncoming_depth`: the search radius (px at 320) around a phantom's predicted place in the next frame
ONCOMING_REACH = 4
#: the largest change of a carried phantom's median log depth from one frame to the next (a person's phantom keeps
#: its depth: 0.40–0.44× over 31 frames on indoor-dynamic s692; the static background beside it is 2× or more away)
ONCOMING_STEP = 0.25
#: a carried phantom keeps its area within this factor from one frame to the next, or the track is lost
ONCOMING_AREA = 2.0
#: a contact re-measured in a frame is taken only within this factor of the contact the track carries
ONCOMING_AGREE = 1.5
#: least triangulated pixels (at 320 px) of a seed or a carried phantom
ONCOMING_MIN_PX = 20

#: one frame's ground for :func:`carry_oncoming_depth`: ``(depth [h,w] of the plane, its pixels [h,w] bool, its
#: inverse-depth rate)``, or None when the frame has no ground plane
GroundOf = Callable[[int], "tuple[np.ndarray, np.ndarray, float] | None"]


def carry_oncoming_depth(
    source: np.ndarray,
    depth: np.ndarray,
    moving: np.ndarray,
    handled: np.ndarray,
    seeds: dict[int, list[tuple[np.ndarray, float]]],
    frames: int,
    s: MoverSettings,
    ground_of: GroundOf,
) -> np.ndarray:
    """The oncoming contact carried to the frames where no flagged seed gave it (``MoverSettings.oncoming_carry``),
    in place.

    The oncoming test (:func:`~.depth.mover_depth`, ``oncoming``) gives a person walking against a sideways camera
    (triangulated at 0.3–0.5× her depth: a phantom standing nearer than the floor under it) her floor contact only
    in the frames where the flow checks flag part of her; in the others she keeps the phantom (indoor-dynamic s692:
    person 13 in 31 of 64 frames). The phantom itself persists from frame to frame — triangulated pixels off the
    ground at about one too-near depth, 2× or more nearer than the background beside it — so each seed (``seeds``:
    frame → the regions the test gave their contact, ``(triangulated pixels off the ground [h,w] bool, contact
    depth)``) is followed forward and backward, frame by frame. A frame's phantom is the connected parts of its
    triangulated pixels off its ground plane within ``ONCOMING_STEP`` (log) of the track's last median depth that
    reach into the window: the last phantom shifted by its last displacement and grown by ``ONCOMING_REACH``
    pixels (in the seed's own frame, the seed itself). The seed's frame first: its whole phantom (the flow flagged
    a part) is put to the test; when it passes, the track starts from it. The track ends ``frames`` frames away,
    where the phantom's area changes by more than ``ONCOMING_AREA``, where a seed of that frame covers half of it
    (that seed carries it on) or where the frame has no ground plane. In each frame the phantom is put to the
    oncoming test itself (:func:`~.depth.oncoming_contact`: upright, standing on seen floor, nearer than the floor
    under its lowest pixels by ``oncoming``) and, when it passes with a contact within ``ONCOMING_AGREE`` of the one
    the track carries, takes that contact (re-measured in that frame) on its pixels not ``handled`` already, when
    those cover at least ``min_area`` of the frame (the least mover region); the nearest seed's track first. A
    static object standing on the floor at its depth fails the test in every frame; what is taken is what a seed
    was given and what fails as a static object again in the frame itself.

    Measured with ``frames`` 16 (docs/geometric.md, "Carrying the oncoming contact to the frames without a flagged
    seed"): indoor-dynamic s692 261 k px in all 64 frames, moving px 0.432 → 0.121; where traced the carried people
    take 0.99–1.07× (s765), 0.94–1.06× (s777), 0.84–0.98× (close-object s760) and 0.89–1.00× (the demo) of their
    depth, and the static pixels taken (2–11 % of the carry) are the phantom's too-near fringe (0.25–0.43× →
    0.56–0.79×). The final all px: fresh indoor-dynamic −72 … +19.2 %, close-object s760 +1.5 %, the demo's above
    the nearest fill: the protocol's one fit moves once the too-near phantom is gone.

    Args:
        source: ``[n,h,w]`` stage-1 depth (before the movers; read only).
        depth: ``[n,h,w]`` depth after the movers' rules (changed in place).
        moving: ``[n,h,w]`` bool mover mask.
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        seeds: frame → its oncoming regions (above).
        frames: the farthest frame a contact is carried to from its seed (frames).
        s: the mover settings (``oncoming``, ``oncoming_support``, ``oncoming_trim``, ``segment_step``, ...).
        ground_of: frame → its ground (:data:`GroundOf`).

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    least = ONCOMING_MIN_PX * (max(depth.shape[1:]) / 320.0) ** 2
    seeded = {k: np.logical_or.reduce([region for region, _ in items]) for k, items in seeds.items() if items}
    found: dict[int, list[tuple[int, np.ndarray, float]]] = {}  # frame: (distance, region, contact)

    def phantom_in(
        b: int, ground: tuple[np.ndarray, np.ndarray, float], window: np.ndarray, level: float
    ) -> tuple[np.ndarray, float | None, np.ndarray]:
        """Frame ``b``'s phantom reaching into ``window`` at about ``level``, its contact (or None) and region."""
        plane, on_plane, rate = ground
        phantom = _phantom(source[b], on_plane, window, level)
        if not phantom.any():
            return phantom, None, phantom
        grown, contact = oncoming_contact(source[b], phantom, plane, on_plane, moving[b], rate, s)
        return phantom, contact, grown

    def agreeing(contact: float | None, tracked: float) -> float | None:
        """``contact`` when it lies within ``ONCOMING_AGREE`` of ``tracked``, else None."""
        if contact is None or not tracked / ONCOMING_AGREE <= contact <= tracked * ONCOMING_AGREE:
            return None
        return float(contact)

    for j in sorted(seeds):
        seed_ground = ground_of(j)
        for core, value in seeds[j] if seed_ground is not None else ():
            if not (np.isfinite(value) and value > 0) or np.count_nonzero(core) < least:
                continue
            start, tracked = core, value
            whole, contact, grown = phantom_in(j, seed_ground, core, float(np.median(np.log(source[j][core]))))
            taken = agreeing(contact, value)
            if taken is not None:  # the seed's whole phantom (the flow flagged part of it)
                start, tracked = whole, taken
                found.setdefault(j, []).append((0, grown & ~handled[j], taken))
            for step in (1, -1):
                carried = tracked
                for distance, b, phantom, ground in _follow_phantom(source, j, start, step, frames, ground_of, seeded):
                    plane, on_plane, rate = ground
                    grown, contact = oncoming_contact(source[b], phantom, plane, on_plane, moving[b], rate, s)
                    taken = agreeing(contact, carried)
                    if taken is not None:
                        carried = taken
                        found.setdefault(b, []).append((distance, grown & ~handled[b], taken))
    given = _give_found(depth, found, s.min_area)
    if found:
        logger.info(
            "movers: oncoming carry: %d seeds in %d frames gave %d px in %d frames (%s)",
            sum(len(items) for items in seeds.values()), sum(1 for items in seeds.values() if items),
            int(np.count_nonzero(given)), len(found), " ".join(str(b) for b in sorted(found)),
        )  # fmt: skip
    return given


def _phantom(frame: np.ndarray, on_plane: np.ndarray, window: np.ndarray, level: float) -> np.ndarray:
    """``[h,w]`` bool: the connected parts of ``frame``'s (``[h,w]`` stage-1 depth) triangulated pixels off the ground
    (``on_plane`` ``[h,w]`` bool) within ``ONCOMING_STEP`` of the log depth ``level`` that reach into ``window``
    ``[h,w]`` bool."""
    import cv2

    log_depth = np.log(np.where(frame > 0, frame, 1.0))
    near = (frame > 0) & ~on_plane & (np.abs(log_depth - level) < ONCOMING_STEP)
    labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=8)[1]
    touching = np.unique(labels[window & near])
    return np.isin(labels, touching[touching > 0])


def _follow_phantom(
    source: np.ndarray,
    j: int,
    start: np.ndarray,
    step: int,
    frames: int,
    ground_of: GroundOf,
    seeded: dict[int, np.ndarray],
) -> Iterator[tuple[int, int, np.ndarray, tuple[np.ndarray, np.ndarray, float]]]:
    """A stage-1 phantom followed from frame ``j``'s ``start`` ``[h,w]`` bool, frame by frame in the direction
    ``step`` (±1), in the ``[n,h,w]`` stage-1 depth ``source``: each frame's phantom is :func:`_phantom` at the
    track's last median log depth in the last phantom shifted by its last displacement and grown by
    ``ONCOMING_REACH`` pixels. Yields ``(distance, frame, phantom [h,w] bool, its ground)``; the track ends
    ``frames`` frames away, where the phantom's area changes by more than ``ONCOMING_AREA`` (or falls under
    ``ONCOMING_MIN_PX``), where a frame of ``seeded`` (frame → ``[h,w]`` bool) covers half of it (that seed carries it
    on) or where the frame has no ground (``ground_of``)."""
    import cv2

    n, h, w = source.shape
    px = max(h, w) / 320.0
    reach = max(1, round(ONCOMING_REACH * px))
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    least = ONCOMING_MIN_PX * px * px
    region, shift = start, np.zeros(2)
    level = float(np.median(np.log(source[j][start])))
    for distance in range(1, frames + 1):
        b = j + step * distance
        ground = ground_of(b) if 0 <= b < n else None
        if ground is None:
            return
        dy, dx = (round(float(v)) for v in shift)
        window = cv2.dilate(shifted(region, dx, dy).astype(np.uint8), kernel).astype(bool)
        phantom = _phantom(source[b], ground[1], window, level)
        area, before = np.count_nonzero(phantom), np.count_nonzero(region)
        if area < max(least, before / ONCOMING_AREA) or area > before * ONCOMING_AREA:
            return
        if b in seeded and np.count_nonzero(phantom & seeded[b]) >= 0.5 * area:
            return  # that frame's seed carries it on
        shift = _centroid(phantom) - _centroid(region)
        region, level = phantom, float(np.median(np.log(source[b][phantom])))
        yield distance, b, phantom, ground


def _give_found(
    depth: np.ndarray, found: dict[int, list[tuple[int, np.ndarray, float]]], min_area: float
) -> np.ndarray:
    """Gives each frame's found regions (``found``: frame → ``(distance, region [h,w] bool, depth)``) their depth in
    ``depth`` ``[n,h,w]`` (in place), the nearest seed's first, on pixels no nearer seed gave, when those cover at
    least ``min_area`` of the frame (the least mover region). Returns the ``[n,h,w]`` bool pixels given."""
    h, w = depth.shape[1:]
    given = np.zeros(depth.shape, bool)
    for b, items in found.items():
        for _, region, value in sorted(items, key=lambda item: item[0]):
            free = region & ~given[b]
            if np.count_nonzero(free) < min_area * h * w:
                continue  # smaller than a mover region may be (static-orbit s761: 18 static px in one frame)
            depth[b][free] = value
            given[b] |= free
    return given


def carry_near_depth(
    source: np.ndarray,
    depth: np.ndarray,
    handled: np.ndarray,
    seeds: dict[int, list[tuple[np.ndarray, float]]],
    frames: int,
    s: MoverSettings,
    ground_of: GroundOf,
) -> np.ndarray:
    """The ``near_contact`` correction carried along the phantom's track to the frames where it was not given
    (``MoverSettings.near_carry``), in place.

    ``near_contact`` gives a person walking against a sideways camera (triangulated at ``v_c ÷ (v_c − v_p)`` of her
    depth, 0.34–0.47× on close-object s0) the floor at her feet only where the floor is seen under them; where the
    clutter hides her feet (a third of close-object's frames or more) she keeps the phantom. The factor drifts
    slowly (both motions are slow sways), so each seed (``seeds``: frame → ``(its triangulated pixels [h,w] bool,
    contact depth)``) gives its correction ``contact ÷ median stage-1 depth`` to its whole phantom (the connected
    pixels at about its depth: the flow flags a part of her) and to the phantom that is followed from it
    (:func:`_follow_phantom`, as :func:`carry_oncoming_depth` follows one): in each frame the phantom takes that
    correction times its own median stage-1 depth, at most the ground under its lowest pixels (she stands at or
    below them: what hides her feet is in front of her), when its median lies nearer than that ground by
    ``near_contact`` (a static surface at its depth is not). A frame's regions come from the nearest seed first;
    pixels ``handled`` already keep theirs.

    Args:
        source: ``[n,h,w]`` stage-1 depth (before the movers; read only).
        depth: ``[n,h,w]`` depth after the movers' rules (changed in place).
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        seeds: frame → its ``near_contact`` regions (above).
        frames: the farthest frame a correction is carried to from its seed (frames).
        s: the mover settings (``near_contact``, ``min_area``).
        ground_of: frame → its ground (:data:`GroundOf`).

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    from stereodiff.stage1.movers.ground import lowest_pixels

    seeded = {k: np.logical_or.reduce([region for region, _ in items]) for k, items in seeds.items() if items}
    found: dict[int, list[tuple[int, np.ndarray, float]]] = {}  # frame: (distance, region, depth)

    def take(b: int, distance: int, phantom: np.ndarray, plane: np.ndarray, correction: float) -> None:
        """Frame ``b``'s ``phantom`` takes ``correction`` times its stage-1 depth, at most the ground under it."""
        feet = plane[lowest_pixels(phantom)]
        feet = feet[np.isfinite(feet)]
        own = float(np.median(source[b][phantom]))
        if feet.size and own < (1.0 - s.near_contact) * float(np.median(feet)):
            carried = min(correction * own, float(np.median(feet)))
            found.setdefault(b, []).append((distance, phantom & ~handled[b], carried))

    for j, items in seeds.items():
        seed_ground = ground_of(j) if items else None
        for core, value in items if seed_ground is not None else ():
            if not (np.isfinite(value) and value > 0) or not core.any():
                continue
            level = float(np.median(np.log(source[j][core])))
            correction = value / float(np.exp(level))
            whole = _phantom(source[j], seed_ground[1], core, level)  # the flow flagged a part of it
            start = whole if whole.any() else core
            take(j, 0, start, seed_ground[0], correction)
            for step in (1, -1):
                for distance, b, phantom, ground in _follow_phantom(source, j, start, step, frames, ground_of, seeded):
                    take(b, distance, phantom, ground[0], correction)
    given = _give_found(depth, found, s.min_area)
    if found:
        logger.info(
            "movers: near carry: %d seeds gave %d px in %d frames (%s)",
            sum(len(items) for items in seeds.values()), int(np.count_nonzero(given)), len(found),
            " ".join(str(b) for b in sorted(found)),
        )  # fmt: skip
    return given


def _centroid(region: np.ndarray) -> np.ndarray:
    """``[2]`` the mean (row, column) of ``region`` ``[h,w]`` bool."""
    ys, xs = np.nonzero(region)
    return np.array([ys.mean(), xs.mean()])


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


#: :func:`carry_hole_depth`: the search radius (px at 320) around a carried region's predicted place in the next frame
HOLE_REACH = 4
#: a carried region goes on into a frame only where at least this share of it lands on the frame's holes
HOLE_SHARE = 0.5
#: ... and where the holes it lands on are at most this factor its area (a larger hole is something else's: the near
#: object crossing in front of the mover, a wide disocclusion)
HOLE_AREA = 2.0


def _window(mask: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """``[height,width]`` bool: the part of ``mask`` ``[h,w]`` bool at rows ``top…``, columns ``left…``; False where
    it lies outside the image."""
    h, w = mask.shape
    out = np.zeros((height, width), bool)
    y0, x0, y1, x1 = max(top, 0), max(left, 0), min(top + height, h), min(left + width, w)
    if y0 < y1 and x0 < x1:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = mask[y0:y1, x0:x1]
    return out


def _best_place(shape: np.ndarray, holes: np.ndarray, at: tuple[int, int], reach: int) -> tuple[tuple[int, int], int]:
    """The place (top, left) within ``reach`` px of ``at`` where ``shape`` ``[bh,bw]`` bool covers the most pixels of
    ``holes`` ``[h,w]`` bool, and that count (the first best in row-major order of the offsets): the counts of every
    offset at once, the shape's correlation with the holes around ``at`` (outside the image: no hole; whole numbers,
    rounded from OpenCV's float32 sums)."""
    import cv2

    bh, bw = shape.shape
    around = _window(holes, at[0] - reach, at[1] - reach, bh + 2 * reach, bw + 2 * reach)
    counts = cv2.matchTemplate(around.astype(np.float32), shape.astype(np.float32), cv2.TM_CCORR)
    counts = np.rint(counts).astype(np.int64)  # [2·reach+1, 2·reach+1]: [dy + reach, dx + reach]
    dy, dx = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return (at[0] + int(dy) - reach, at[1] + int(dx) - reach), int(counts[dy, dx])


def _hole_track(
    depth: np.ndarray, handled: np.ndarray, j: int, region: np.ndarray, step: int, frames: int, reach: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Frame ``j``'s given ``region`` ``[h,w]`` bool followed as a shape over the holes of ``depth`` ``[n,h,w]`` (``≤
    0``), frame by frame in the direction ``step`` (±1): in each frame the shape's place within ``reach`` px of its
    last place moved by its last displacement that covers the most holes. Yields ``(distance, frame, pixels [h,w]
    bool)``, the shape's holes there not in ``handled``; ends ``frames`` frames away, where less than
    ``HOLE_SHARE`` of the shape lands on holes (the mover is seen there, or given a depth) or where the holes it
    lands on are more than ``HOLE_AREA`` times its area."""
    import cv2

    n = depth.shape[0]
    ys, xs = np.nonzero(region)
    top0, left0 = int(ys.min()), int(xs.min())  # the shape's box in frame j
    top, left = top0, left0
    shape = region[top : ys.max() + 1, left : xs.max() + 1]
    area, velocity = np.count_nonzero(shape), (0, 0)
    for distance in range(1, frames + 1):
        b = j + step * distance
        if not 0 <= b < n:
            return
        holes = depth[b] <= 0
        (y, x), count = _best_place(shape, holes, (top + velocity[0], left + velocity[1]), reach)
        if count < HOLE_SHARE * area:
            return
        pixels = shifted(region, x - left0, y - top0) & holes  # the shape with its box's corner at (y, x)
        labels = cv2.connectedComponents(holes.astype(np.uint8), connectivity=8)[1]
        touched = np.unique(labels[pixels])
        if np.count_nonzero(np.isin(labels, touched[touched > 0])) > HOLE_AREA * area:
            return
        velocity, top, left = (y - top, x - left), y, x
        yield distance, b, pixels & ~handled[b]


def _reaches(j: int, step: int, frames: int, first: int, stop: int) -> bool:
    """Whether a track from frame ``j`` in the direction ``step`` (±1), at most ``frames`` frames long, can reach a
    frame of ``[first, stop)``."""
    near, far = sorted((j + step, j + step * frames))
    return near < stop and far >= first


def carry_hole_depth(
    depth: np.ndarray, handled: np.ndarray, frames: int, min_area: float, targets: tuple[int, int] | None = None
) -> np.ndarray:
    """A given mover's depth carried over its track into the frames where stage 1 left it a hole
    (``MoverSettings.hole_carry``), in place.

    A person walking across the view at a few metres is given her contact in some frames and left a hole in the
    others (no seed the flow flags, no contact seen): stage 2 fills those holes from the background around her,
    1.2–4.6× too far on close-object 1416 / 1422, and her holes hold the largest share of the final's excess over
    stage 1 there (docs/geometric.md, "... traced again: the walking person's holes"). Each connected region of a
    frame's given pixels (``handled``) of at least ``min_area`` of the frame is followed as a shape
    (:func:`_hole_track`) into the neighbouring frames while it lands on holes, and gives its median depth to those
    holes, the nearest source frame's first (:func:`_give_found`). Only holes are given: a frame where the mover is
    seen (triangulated or given) stops the track.

    Args:
        depth: ``[n,h,w]`` depth after the movers' rules and carries (``≤ 0`` = hole; changed in place).
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the farthest frame a region's depth is carried to (frames).
        min_area: the least share of a frame of a source region and of the pixels a frame takes from it.
        targets: only the frames ``[first, stop)`` are given depth (``None``: all): a block's frames with ``frames``
            frames of context on each side, as :func:`~stereodiff.stage1.hole_carry.hole_carry_after` passes them,
            get what the whole video gives them (a track reaches no farther), and the tracks that never reach them
            are not followed.

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n, h, w = depth.shape
    reach = max(1, round(HOLE_REACH * max(h, w) / 320.0))
    first, stop = targets or (0, n)
    source = depth.copy()  # the tracks read the holes before any carry fills them
    found: dict[int, list[tuple[int, np.ndarray, float]]] = {}
    for j in range(n):
        count, labels, stats, _ = cv2.connectedComponentsWithStats(handled[j].astype(np.uint8), connectivity=8)
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] < min_area * h * w:
                continue
            region = labels == label
            value = float(np.median(source[j][region]))
            for step in (step for step in (1, -1) if _reaches(j, step, frames, first, stop)):
                for distance, b, pixels in _hole_track(source, handled, j, region, step, frames, reach):
                    if first <= b < stop:
                        found.setdefault(b, []).append((distance, pixels, value))
                    elif (b >= stop) == (step > 0):
                        break  # past the targets
    given = _give_found(depth, found, min_area)
    if found:
        logger.info("movers: hole carry: %d px in %d frames", int(np.count_nonzero(given)), len(found))
    return given


#: least flow-consistent pixels of a region of :func:`track_cut_depth` for a link, and least span of their rows (at
#: 320 px)
LINK_MIN_PX, LINK_MIN_ROWS = 50, 20


def _handled_regions(handled: np.ndarray, depth: np.ndarray, by_value: bool) -> tuple[np.ndarray, np.ndarray]:
    """A frame's handled regions: ``[h,w]`` int32 labels (0 = not handled) and their ``[count,5]`` stats as
    ``cv2.connectedComponentsWithStats`` gives them (row 0 the background), of the ``handled`` ``[h,w]`` bool pixels
    8-connected; with ``by_value``, joined only where they hold the same ``depth`` ``[h,w]`` (each per-frame rule
    gives its region one value, so touching regions given different depths stay apart)."""
    import cv2

    if not by_value:
        _, labels, stats, _ = cv2.connectedComponentsWithStats(handled.astype(np.uint8), connectivity=8)
        return labels, stats
    labels = np.zeros(handled.shape, np.int32)
    rows = [np.zeros((1, 5), np.int32)]  # the background's row (not read)
    for value in np.unique(depth[handled]):
        _, part, stats, _ = cv2.connectedComponentsWithStats((handled & (depth == value)).astype(np.uint8), 8)
        inside = part > 0
        labels[inside] = part[inside] + (sum(len(r) for r in rows) - 1)
        rows.append(stats[1:].astype(np.int32))
    return labels, np.concatenate(rows)


def _may_link(stats: np.ndarray, scale: float) -> bool:
    """Whether some region of a frame (``stats`` ``[count,5]`` of ``cv2.connectedComponentsWithStats``, row 0 the
    background) is large enough to be linked by :func:`track_cut_depth` (``scale``: the image's long side / 320):
    its flow-consistent pixels are at most its area and span at most its bounding box's rows."""
    import cv2

    area, height = stats[1:, cv2.CC_STAT_AREA], stats[1:, cv2.CC_STAT_HEIGHT]
    return bool(np.any((area >= LINK_MIN_PX) & (height - 1 >= LINK_MIN_ROWS * scale)))


def _unchanged(depth: np.ndarray, static: np.ndarray, source: np.ndarray, moving: np.ndarray) -> bool:
    """Whether a frame's ``static`` ``[h,w]`` bool pixels (``depth`` ``[h,w]`` > 0, not ``moving``) are those of its
    input depth ``source`` ``[h,w]``, with the same values: a ground fit on it is then the fit on the input, bit
    for bit (it reads nothing else)."""
    source = np.asarray(source)
    return np.array_equal(static, (source > 0) & ~moving) and np.array_equal(depth[static], source[static])


def _region_in_box(labels: np.ndarray, stats: np.ndarray, label: int) -> tuple[tuple[slice, slice], np.ndarray]:
    """The bounding box of region ``label`` of ``labels`` ``[h,w]`` (``stats`` ``[count,5]`` of
    ``cv2.connectedComponentsWithStats``) as slices, and the region ``[bh,bw]`` bool inside it: ``array[box][region]``
    is ``array[labels == label]`` (the same pixels in the same order) without a pass over the whole image per
    region."""
    import cv2

    x, y = int(stats[label, cv2.CC_STAT_LEFT]), int(stats[label, cv2.CC_STAT_TOP])
    box = (slice(y, y + int(stats[label, cv2.CC_STAT_HEIGHT])), slice(x, x + int(stats[label, cv2.CC_STAT_WIDTH])))
    return box, labels[box] == label


def _reaches_bottom(stats: np.ndarray, height: int, margin: int) -> bool:
    """Whether a region (its ``[5]`` row of ``cv2.connectedComponentsWithStats``) of an image ``height`` rows high
    has a pixel in the lowest ``margin`` rows: ``region[-margin:].any()`` (all rows for ``margin`` 0)."""
    import cv2

    return margin <= 0 or int(stats[cv2.CC_STAT_TOP]) + int(stats[cv2.CC_STAT_HEIGHT]) > height - margin


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


def track_cut_depth(
    grey: np.ndarray,
    depth: np.ndarray,
    handled: np.ndarray,
    frames: int,
    margin: int,
    first: int = 0,
    num_workers: int = 1,
    shared: SharedFindings | None = None,
    variational_iterations: int | None = None,
    sway: SwayInputs | None = None,
    by_value: bool = False,
) -> np.ndarray:
    """Depth for the mover regions cut by the image bottom that is not the bound (``MoverSettings.cut_track``), in
    place.

    A region cut by the image bottom (a handled region reaching its lowest ``margin`` rows) gets an *upper bound* of
    its depth from the ground (its contact is below the image), tight only in the frames where its lowest part is
    just below the image. Along a mover's track the ratio of its depths between two frames is observable: the
    vertical image scale of a rigid object is inversely proportional to its depth (``v' − v₀' = (z / z') (v − v₀)``
    for a translation; a person's height does not change when she turns, her width does), measured by a robust
    slope (Theil–Sen) of the region's vertical flow against its rows. So every handled region ``j`` of the track
    bounds a cut region ``k``'s depth by ``depth_j · z_k / z_j``, and a region whose contact is seen gives an
    estimate the same way: the cut region takes the least of these over the regions within ``frames`` frames, when
    that is nearer than its own bound by more than ``CUT_GAP``.

    Tracks are the regions joined by the flow: a region is linked to a region of the frame ``d`` later
    (``CUT_OFFSETS``) that receives at least ``CUT_LINK_SHARE`` of its forward–backward consistent pixels; the
    relative log depths of a track are the least-squares solution of its links' log scale ratios. (On a video longer
    than a block of :func:`~.runner.handle_movers`, a track is solved over the block and its ``frames + 1`` frames of
    context: the same bounds, the relative depths over the links there — the whole video's where the track is a
    chain, up to rounding.)

    Args:
        grey: ``[n,h,w]`` uint8 grey frames (flow input).
        depth: ``[n,h,w]`` depth, a handled region holding one value (changed in place).
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the half-window (frames) of the regions that bound a cut region.
        margin: rows at the image bottom that a cut region reaches.
        first: the video index of the first frame (seeds the slope's samples by video frame).
        num_workers: threads for the flows (the output does not depend on it).
        shared: the links of the pairs in the overlap with the neighbouring blocks
            (:class:`~stereodiff.stage1.movers.shared.SharedFindings`): a pair's links are taken from there when both
            its frames' ``handled`` masks are the ones they were found on.
        variational_iterations: DIS variational-refinement iterations per pyramid level of the links' flow
            (``MoverSettings.flow_variational_iterations``; ``None``: the medium preset's 5).
        sway: with it (``MoverSettings.cut_sway``), each linked pair also measures the camera's motion and the
            region's apparent motion, and a track whose camera swayed along the ground normal gives its cut regions
            the depth that motion implies when that is nearer by more than ``cut_sway_gap`` (:func:`_sway_log_depth`).
        by_value: a region is the handled pixels joined where they hold the same depth
            (``MoverSettings.cut_track_values``; :func:`_handled_regions`), not every connected handled pixel.

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n, h, w = depth.shape
    local = threading.local()  # .dis: one DIS engine per thread
    given = np.zeros(depth.shape, bool)
    labels, boxes, nodes = [], [], []  # per frame: [h,w] labels, [count,5] stats; nodes: (frame, label, log depth, cut)
    for k in range(n):
        lab, stats = _handled_regions(handled[k], depth[k], by_value)
        labels.append(lab)
        boxes.append(stats)
        for label in range(1, len(stats)):
            box, region = _region_in_box(lab, stats, label)  # the region's pixels in row-major order, as lab == label
            value = float(np.log(np.median(depth[k][box][region])))
            nodes.append((k, label, value, _reaches_bottom(stats[label], h, margin)))
    if by_value:
        connected = sum(cv2.connectedComponents(frame.astype(np.uint8), connectivity=8)[0] - 1 for frame in handled)
        logger.info("movers: cut tracks: %d handled regions by depth, %d by connectivity", len(nodes), connected)
    if not any(node[3] for node in nodes):
        return given
    index = {(k, label): i for i, (k, label, _, _) in enumerate(nodes)}
    pairs = [(k, k + d) for d in CUT_OFFSETS for k in range(n - d) if handled[k].any() and handled[k + d].any()]
    scale = max(h, w) / 320.0

    Found = tuple[list[tuple[int, int, float]], list[tuple[int, np.ndarray]]]  # links, motions (node, [6])

    def links_of(pair: tuple[int, int]) -> Found:
        if shared is None:
            return find_links(pair)
        a, b = pair
        key, masks = (first + a, first + b), (np.packbits(handled[a]), np.packbits(handled[b]))
        known = shared.cut_links.get(key)
        if known is not None and all(np.array_equal(x, y) for x, y in zip(known.handled, masks)):
            links = [(index[(i - first, li)], index[(j - first, lj)], value) for (i, li), (j, lj), value in known.links]
            return links, [(index[(i - first, li)], motion) for (i, li), motion in known.motions]
        out, motions = find_links(pair)
        if shared.wanted(*key):
            video = [((nodes[i][0] + first, nodes[i][1]), (nodes[j][0] + first, nodes[j][1]), v) for i, j, v in out]
            moved = tuple(((nodes[i][0] + first, nodes[i][1]), motion) for i, motion in motions)
            shared.cut_links[key] = CutLinks(masks, video, moved)
        return out, motions

    def find_links(pair: tuple[int, int]) -> Found:
        a, b = pair
        if not _may_link(boxes[a], scale):  # no region of frame a can pass the tests below: no flow needed
            return [], []
        flow_ab, flow_ba = dis_flows(thread_dis_engine(local, "medium", variational_iterations), grey[a], grey[b])
        target, _, miss = forward_backward(flow_ab, flow_ba)
        usable = (miss < scale) & inside_image(target)
        rng = np.random.default_rng(first + a)
        out, linked = [], {}  # linked: label → its pixels' (ys, xs), for the sway cue
        for label in range(1, len(boxes[a])):
            box, region = _region_in_box(labels[a], boxes[a], label)
            ys, xs = np.nonzero(region & usable[box])
            ys, xs = ys + box[0].start, xs + box[1].start  # the full image's rows and columns, in the same order
            if len(ys) < LINK_MIN_PX or np.ptp(ys) < LINK_MIN_ROWS * scale:
                continue
            landed = labels[b][np.rint(target[ys, xs, 1]).astype(int), np.rint(target[ys, xs, 0]).astype(int)]
            slope = theil_sen(ys.astype(np.float64), flow_ab[ys, xs, 1].astype(np.float64), rng, 10 * scale)
            if not np.isfinite(slope) or slope <= -1.0:
                continue
            for other in np.unique(landed[landed > 0]):
                if np.count_nonzero(landed == other) >= CUT_LINK_SHARE * len(ys):
                    out.append((index[(a, label)], index[(b, int(other))], -float(np.log1p(slope))))
                    linked[label] = (ys, xs)
        if sway is None or not linked:
            return out, []
        return out, pair_motions(pair, flow_ab, target, usable, linked)

    def pair_motions(
        pair: tuple[int, int], flow: np.ndarray, target: np.ndarray, usable: np.ndarray, linked: dict[int, tuple]
    ) -> list[tuple[int, np.ndarray]]:
        """Per linked region of frame ``a``: ``[6]`` its apparent motion per unit depth ``m`` and the camera's
        ``t'`` (:mod:`~stereodiff.stage1.movers.sway`; with ``cut_sway_levels`` the camera's motion is stage 1's)."""
        a, b = pair
        K = pinhole(float(sway.focal[a]), (h, w))
        if sway.settings.cut_sway_levels and sway.cam_to_world is not None:
            motion = pose_motion(sway.cam_to_world[a], sway.cam_to_world[b])
        else:
            static = np.where(sway.moving[a], 0.0, depth[a])  # [h,w] the movers out of the PnP
            motion = camera_motion(static, flow, usable, K, sway.settings.pnp_threshold_px * scale, seed=first + a)
        if motion is None:
            return []
        rotation, shift = motion
        rng = np.random.default_rng(first + a)
        found = []
        for label, (ys, xs) in linked.items():
            pixels = np.stack([xs, ys], axis=1).astype(np.float64)  # [N,2] (u, v)
            m = apparent_motion(pixels, target[ys, xs].astype(np.float64), rotation, K, rng, 10 * scale)
            if m is not None:
                found.append((index[(a, label)], np.concatenate([m, shift])))
        return found

    found = thread_map(links_of, pairs, num_workers, "movers: cut tracks")
    links = [link for pair_links, _ in found for link in pair_links]
    motions = {node: motion for _, measured in found for node, motion in measured}  # node: [6]
    normals: dict[int, np.ndarray | None] = {}  # frame: its ground's unit normal (sway)

    def normal_of(k: int) -> np.ndarray | None:
        if k not in normals:
            normals[k] = ground_normal_of(k)
        return normals[k]

    def ground_normal_of(k: int) -> np.ndarray | None:
        """Frame ``k``'s ground normal: taken from where it was fitted on the same input with the same mover mask
        (``shared.normals``: the runner's fit or an earlier block's), else fitted here (and kept for the next block
        when fitted on the frame's input)."""
        static = (depth[k] > 0) & ~sway.moving[k]
        unchanged = sway.source is not None and _unchanged(depth[k], static, sway.source[k], sway.moving[k])
        bits = np.packbits(sway.moving[k]) if unchanged and shared is not None else None
        known = None if bits is None else shared.normals.get(first + k)
        if known is not None and np.array_equal(known[0], bits):
            return known[1]
        plane = ground_depth(depth[k], static, sway.settings, seed=first + k)
        normal = None if plane is None else ground_normal(plane, pinhole(float(sway.focal[k]), (h, w)))
        if bits is not None and shared.wanted(first + k):
            shared.normals[first + k] = (bits, normal)
        return normal

    @functools.cache
    def block_ground() -> dict[int, np.ndarray]:
        """Every frame's ground pixels in its camera's axes (``cut_sway_levels_plane``; frames without a ground left
        out), fitted once: the one plane spans the block's whole sweep, not a track's few frames."""
        points: dict[int, np.ndarray] = {}
        for k in range(n):
            static = (depth[k] > 0) & ~sway.moving[k]
            found = ground_points(depth[k], static, sway.settings, pinhole(float(sway.focal[k]), (h, w)), first + k)
            if found is not None:
                points[k] = found
        return points

    plane_of = block_ground if sway is not None and sway.settings.cut_sway_levels_plane else None
    for track in _components(len(nodes), links):
        if not any(nodes[i][3] for i in track):
            continue
        relative = _relative_log_depth(track, links)  # node: log depth up to the track's constant
        current = {i: nodes[i][2] for i in track}  # node: log depth after the bound of the track
        for i in track:
            k, label, own, cut = nodes[i]
            if not cut:
                continue
            bounds = [nodes[j][2] - relative[j] for j in track if abs(nodes[j][0] - k) <= frames]
            value = min(bounds) + relative[i]
            if value < own + np.log1p(-CUT_GAP):
                current[i] = value
                region = labels[k] == label
                depth[k][region] = float(np.exp(value))
                given[k] |= region
        found = (
            None
            if sway is None
            else _sway_log_depth(track, nodes, relative, current, motions, normal_of, sway, plane_of)
        )
        if found is None:
            continue
        swayed, doubtful = found
        taken = [] if doubtful else _swayed_nodes(track, nodes, relative, current, swayed, sway.settings)
        values = {i: swayed + relative[i] for i in taken}
        values.update(_blended_nodes(track, nodes, relative, current, swayed, taken, sway.settings.cut_sway_blend))
        for i, value in values.items():
            k, label = nodes[i][:2]
            region = labels[k] == label
            depth[k][region] = float(np.exp(value))
            given[k] |= region
    return given


def carry_cut_depth(
    grey: np.ndarray,
    depth: np.ndarray,
    handled: np.ndarray,
    frames: int,
    margin: int,
    beyond: float,
    num_workers: int = 1,
    variational_iterations: int | None = None,
    partial: bool = False,
    found_share: float = CARRY_FOUND,
    ring: float = 0.0,
    flagged: np.ndarray | None = None,
) -> np.ndarray:
    """Carry the depth of the mover regions cut by the image bottom along the flow into the frames where the mover
    was missed, in place (``MoverSettings.cut_carry``).

    A person walking close to the camera, cut by the image bottom, is found (and given a depth) in most frames, but
    in some the segmentation misses it, and there stage 1's depth — the camera-motion depth of a moving point —
    lies 1.5–9× beyond it. A mover does not vanish between frames: its pixels move with the flow, and its depth
    changes by its vertical image scale (``z' = z / (1 + b)``, as in :func:`track_cut_depth`). So, frame after
    frame, forward and then backward, the pixels of the cut regions (handled regions reaching the lowest ``margin``
    rows that overlap such regions in both neighbouring frames, :func:`~.ground.cut_in_neighbours`: a person close
    to the camera is found frame after frame, a real room's static regions flagged at the image bottom in one or
    two) and those carried into the frame are moved to the next frame, each region as a whole by its translation
    and vertical image scale (:func:`_carry_frame`). A moved region of which the next frame's handled pixels cover
    at least ``found_share`` is found there (the regions found carry on instead); in the others, the pixels that are
    not handled and that stage 1 put beyond the carried depth by ``beyond`` take it (shrunk by two pixels: the
    region's outline is where the flow blends into the background; a hole is left to stage 2's fill). A carry stops
    ``frames`` frames after the cut region it came from. A pixel carried in both directions takes the nearer value
    (a cut region's depth is an upper bound).

    Args:
        grey: ``[n,h,w]`` uint8 grey frames (flow input).
        depth: ``[n,h,w]`` depth after the cut regions' rules (changed in place).
        handled: ``[n,h,w]`` bool pixels whose depth came from a mover constraint.
        frames: the farthest frame a depth is carried to from the cut region it came from (frames).
        margin: rows at the image bottom that a cut region reaches (the image height: every given region,
            ``MoverSettings.carry_standing``).
        beyond: relative margin (``MoverSettings.underground``).
        num_workers: threads for the flows (the output does not depend on it).
        variational_iterations: DIS variational-refinement iterations per pyramid level (``None``: the medium
            preset's 5).
        partial: a moved region found there in part (less than ``found_share``) carries on from its handled
            pixels too, with their own depth (``MoverSettings.cut_carry_partial``); else only from the others.
        found_share: the share of a moved region the handled pixels cover where it is found (``CARRY_FOUND``;
            ``STANDING_FOUND`` for ``MoverSettings.carry_standing``).
        ring: a carried pixel is given only where stage 1 put it beyond the median stage-1 depth of the static ring
            around its landed region by more than this fraction (:func:`_beyond_ring`;
            ``MoverSettings.carry_standing_ring``; 0 = off).
        flagged: ``[n,h,w]`` bool: a carried pixel is given only where this holds (the segmentation's mover mask,
            ``MoverSettings.carry_standing_flagged``; None = everywhere) — or, with ``ring``, where it passes the
            ring's test.

    Returns:
        ``[n,h,w]`` bool: the pixels given a depth here.
    """
    import cv2

    n = depth.shape[0]
    bottom = np.zeros(depth.shape[1:], bool)
    bottom[-margin:] = True
    reach = np.stack([cut_in_neighbours(handled[k], [bottom]) for k in range(n)])  # [n,h,w] regions at the bottom
    sides = [[reach[i] for i in (k - 1, k + 1) if 0 <= i < n] for k in range(n)]
    cut = np.stack([cut_in_neighbours(reach[k], sides[k]) if sides[k] else reach[k] & False for k in range(n)])
    has_cut = np.flatnonzero(cut.any(axis=(1, 2)))
    given = np.zeros(depth.shape, bool)
    if has_cut.size == 0:
        return given
    first, last = max(0, int(has_cut[0]) - frames), min(n - 1, int(has_cut[-1]) + frames)
    local = threading.local()

    def flows(k: int) -> tuple[np.ndarray, np.ndarray]:
        return dis_flows(thread_dis_engine(local, "medium", variational_iterations), grey[k], grey[k + 1])

    pair_flows = dict(zip(range(first, last), thread_map(flows, range(first, last), num_workers, "movers: carry")))
    original = depth.copy()
    best = np.full(depth.shape, np.inf, np.float32)
    refused: list[np.ndarray] = []  # the ring's ratios of the pixels it refused (logged)
    for step in (1, -1):
        carried = np.where(cut, original, 0.0).astype(np.float32)  # [n,h,w] the depth carried (or own), 0 = none
        age = np.zeros(depth.shape, np.float32)  # [n,h,w] frames since the pixel's depth left a cut region
        for k in range(first, last) if step == 1 else range(last, first, -1):
            j = k + step
            source = np.where(age[k] < frames, carried[k], 0.0)
            if not source.any():
                continue
            forward, backward = pair_flows[min(k, j)][::step]
            landed = _carry_frame(source, age[k] + 1, forward, backward, seed=k)
            if landed is None:
                continue
            value, older = landed
            found = _found(value > 0, handled[j], found_share)  # the mover was found there: its region carries on
            own = cut_in_neighbours(reach[j], [found & reach[j]])
            carried[j][own], age[j][own] = original[j][own], 0.0
            value[found] = 0.0
            free = (value > 0) & ~handled[j]
            if partial:  # found there in part: the found pixels carry on too, with their own depth
                kept = (value > 0) & handled[j]
                carried[j][kept], age[j][kept] = original[j][kept], 0.0
            carried[j][free], age[j][free] = value[free], older[free]
            shrunk = cv2.erode(free.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            far = shrunk & (original[j] > value * (1.0 + beyond))  # a hole is stage 2's to fill
            # the wall beside a found person moves as its depth predicts (not flagged) and lies at the ring's
            # depth, her phantom beyond it: a pixel passes either guard that is on
            keep = None if flagged is None else flagged[j]
            if ring > 0:
                ratio = _beyond_ring(original[j], handled[j], value > 0, free)
                keep = ratio > 1.0 + ring if keep is None else keep | (ratio > 1.0 + ring)
                refused.append(ratio[far & ~keep])
            if keep is not None:
                far &= keep
            best[j][far] = np.minimum(best[j][far], value[far])
            given[j] |= far
    depth[given] = best[given]
    if ring > 0:
        ratios = np.concatenate(refused) if refused else np.zeros(0)
        logger.info(
            "movers: carry ring: %d px given, %d refused (median %.2f× their ring)",
            int(np.count_nonzero(given)), ratios.size, float(np.median(ratios)) if ratios.size else float("nan"),
        )  # fmt: skip
    return given


def _beyond_ring(depth: np.ndarray, handled: np.ndarray, landed: np.ndarray, free: np.ndarray) -> np.ndarray:
    """``[h,w]`` float: ``depth`` ``[h,w]`` (stage 1's, 0 = hole) of the pixels of ``free`` ``[h,w]`` bool divided by
    the median depth of the static ring around their connected part: the pixels within ``RING_PX`` of the part,
    outside ``landed`` ``[h,w]`` bool (every carried pixel), not ``handled`` ``[h,w]`` bool and not holes; 0 where a
    part's ring has fewer than ``RING_MIN_PX`` pixels, and outside ``free``.

    A carried region shifted beside a found person covers the wall next to her, which stage 1 put at the wall's
    depth (about 1× its ring), while her phantom where she was lost lies beyond the wall behind her (close-object
    1453 / 1455: 1.22–1.25×)."""
    import cv2

    h, w = depth.shape
    scale = max(h, w) / 320.0
    width = max(1, round(RING_PX * scale))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    static = ~landed & ~handled & (depth > 0)
    count, labels = cv2.connectedComponents(free.astype(np.uint8), connectivity=8)
    out = np.zeros((h, w), np.float32)
    for label in range(1, count):
        part = labels == label
        around = cv2.dilate(part.astype(np.uint8), kernel).astype(bool) & static
        if np.count_nonzero(around) < RING_MIN_PX * scale * scale:
            continue
        out[part] = depth[part] / float(np.median(depth[around]))
    return out


def _found(landed: np.ndarray, handled: np.ndarray, share: float) -> np.ndarray:
    """``[h,w]`` bool: the connected parts of ``landed`` ``[h,w]`` bool of which ``handled`` ``[h,w]`` bool covers at
    least ``share``."""
    import cv2

    count, labels = cv2.connectedComponents(landed.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel(), minlength=count)
    covered = np.bincount(labels.ravel(), weights=handled.ravel(), minlength=count)
    found = covered >= share * np.maximum(sizes, 1)
    found[0] = False
    return found[labels]


def _carry_frame(
    carried: np.ndarray, age: np.ndarray, forward: np.ndarray, backward: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The regions of ``carried`` ``[h,w]`` (depth, 0 = none) moved to the next frame: ``[h,w]`` their depth there
    (0 = none) and the ``age`` ``[h,w]`` of the pixels they came from; None when no region has ``CARRY_MIN_PX``
    flow-consistent pixels.

    Each region moves as a whole, by a translation and its vertical image scale ``b`` fitted to its consistent
    pixels of ``forward`` (``[h,w,2]`` pixels, checked against ``backward``): ``p' = p + a + b (p − c)`` (``c``: its
    centroid; ``b``: the Theil–Sen slope of the vertical flow against the rows, ``a``: the median of the rest), its
    depth divided by ``1 + b``. Its own flow would carry the background beside it along (DIS smooths the flow over
    the outline): a landed pixel is kept only where ``backward`` (the next frame's flow back) agrees with that motion
    within ``2·scale`` pixels. The kept pixels are closed by a 5×5 kernel (a gap takes its neighbours' largest
    depth and age)."""
    import cv2

    h, w = carried.shape
    scale = max(h, w) / 320.0
    target, _, miss = forward_backward(forward, backward)
    usable = (miss < scale) & inside_image(target)
    count, labels = cv2.connectedComponents((carried > 0).astype(np.uint8), connectivity=8)
    rng = np.random.default_rng(seed)
    landed, ages = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    for label in range(1, count):
        region = labels == label
        ys, xs = np.nonzero(region & usable)
        if len(ys) < CARRY_MIN_PX * scale * scale:
            continue
        slope = theil_sen(ys.astype(np.float64), forward[ys, xs, 1].astype(np.float64), rng, 10 * scale)
        if not np.isfinite(slope) or slope <= -0.5:
            continue
        centre = np.array([xs.mean(), ys.mean()])
        points = np.stack([xs, ys], axis=1).astype(np.float64)  # [N,2] (u, v)
        shift = np.median(forward[ys, xs].astype(np.float64) - slope * (points - centre), axis=0)
        ys, xs = np.nonzero(region)
        moved = np.stack([xs, ys], axis=1) + shift + slope * (np.stack([xs, ys], axis=1) - centre)  # [M,2]
        u, v = np.rint(moved[:, 0]).astype(int), np.rint(moved[:, 1]).astype(int)
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        u, v, source = u[inside], v[inside], (ys[inside], xs[inside])
        back = backward[v, u].astype(np.float64)  # [M,2] the flow back from where they land
        agrees = np.hypot(*(np.stack([u, v], axis=1) + back - np.stack(source[::-1], axis=1)).T) < 2 * scale
        landed[v[agrees], u[agrees]] = carried[source][agrees] / (1.0 + slope)
        ages[v[agrees], u[agrees]] = age[source][agrees]
    if not landed.any():
        return None
    kernel = np.ones((5, 5), np.uint8)
    closed = cv2.morphologyEx((landed > 0).astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
    hit = landed > 0
    value = np.where(closed, np.where(hit, landed, cv2.dilate(landed, kernel)), 0.0).astype(np.float32)
    return value, np.where(hit, ages, cv2.dilate(ages, kernel)).astype(np.float32)


def _sway_log_depth(
    track: list[int],
    nodes: list[tuple[int, int, float, bool]],
    relative: dict[int, float],
    current: dict[int, float],
    motions: dict[int, np.ndarray],
    normal_of: Callable[[int], np.ndarray | None],
    sway: SwayInputs,
    ground_of: Callable[[], dict[int, np.ndarray]] | None = None,
) -> tuple[float, bool] | None:
    """The log depth of a track's gauge node that the camera's sway along the ground normal implies
    (:func:`~stereodiff.stage1.movers.sway.fit_sway` over the track's measured regions) and whether it is doubtful
    (``cut_sway_halves``: a half of the track's pairs that the levels fit explains less than that), or None when the
    gate refuses it: fewer than ``SWAY_MIN_PAIRS`` measurements, R² under ``SWAY_MIN_FIT`` (``cut_sway_fit`` with
    ``cut_sway_levels``), or the camera's accumulated height range under ``cut_sway`` times the track's median depth
    (``current``: node → log depth, after the bound).

    ``nodes``: ``(frame, label, log depth, cut)``; ``relative``: node → log depth relative to the gauge; ``motions``:
    node → ``[6]`` ``(m, t')``; ``normal_of``: frame → ``[3]`` unit ground normal or None; ``ground_of``
    (``cut_sway_levels_plane``, else None): the block's frames' ground pixels (frame → ``[N,3]`` camera axes), the
    levels then taken along the one plane through them (:func:`~stereodiff.stage1.movers.sway.camera_levels`).
    """
    measured = [(i, normal_of(nodes[i][0])) for i in track if i in motions]
    measured = [(i, n) for i, n in measured if n is not None]
    if len(measured) < SWAY_MIN_PAIRS:
        return None
    along = np.array([n @ motions[i][:3] for i, n in measured])  # [K] n·m
    least, halves = SWAY_MIN_FIT, 1.0
    if sway.settings.cut_sway_levels and sway.cam_to_world is not None:
        gain = sway.settings.cut_sway_levels_gain
        ground = None if ground_of is None else ground_of()
        series = _levels_series(measured, nodes, relative, along, sway.cam_to_world, gain, ground)
        fit, least = fit_sway_levels(*series), sway.settings.cut_sway_fit
        halves = halves_fit(*series) if sway.settings.cut_sway_halves > 0 else 1.0
    else:
        heights = np.array([n @ motions[i][3:] for i, n in measured])  # [K] n·t'
        steps = dict(sorted((nodes[i][0], float(h)) for (i, _), h in zip(measured, heights)))  # frame: n·t'
        fit = fit_sway(along, heights, np.array([relative[i] for i, _ in measured]), np.array(list(steps.values())))
    reference = float(np.exp(np.median([current[i] for i, _ in measured])))
    signal = fit.height_range / reference
    taken = fit.depth > 0 and fit.fit >= least and signal >= sway.settings.cut_sway
    logger.info(
        "movers: cut sway: track of %d regions (%d measured), camera height range %.1f%% of the depth, R² %.2f, "
        "estimate ÷ bound %.2f: %s", len(track), len(measured), 100 * signal, fit.fit,
        fit.depth * np.exp(np.median([relative[i] - current[i] for i, _ in measured])), "taken" if taken else "refused",
    )  # fmt: skip
    if not taken:
        return None
    doubtful = halves < sway.settings.cut_sway_halves
    if doubtful:
        logger.info("movers: cut sway: a half of the track's pairs fitted with R² %.2f: doubtful", halves)
    return float(np.log(fit.depth)), doubtful


def _swayed_nodes(
    track: list[int],
    nodes: list[tuple[int, int, float, bool]],
    relative: dict[int, float],
    current: dict[int, float],
    swayed: float,
    settings: MoverSettings,
) -> list[int]:
    """The cut nodes of ``track`` that take the sway's log depth ``swayed`` (of the track's gauge): those it is
    nearer than by more than ``cut_sway_gap`` (``current``: node → log depth after the bound; ``relative``: node →
    log depth relative to the gauge; ``nodes``: ``(frame, label, log depth, cut)``). With ``cut_sway_whole`` the gap
    is tested once, at the median over the cut nodes, and a track that passes gives it to every cut node it is
    nearer than by more than ``CUT_GAP``."""
    cut = [i for i in track if nodes[i][3]]
    alone = [i for i in cut if swayed + relative[i] < current[i] + np.log1p(-settings.cut_sway_gap)]
    if not (settings.cut_sway_whole and cut):
        return alone
    if np.median([swayed + relative[i] - current[i] for i in cut]) >= np.log1p(-settings.cut_sway_gap):
        return alone
    whole = [i for i in cut if swayed + relative[i] < current[i] + np.log1p(-CUT_GAP)]
    logger.info("movers: cut sway: one gap for the track: %d of its %d cut regions (alone %d)", len(whole), len(cut),
                len(alone))  # fmt: skip
    return whole


def _blended_nodes(
    track: list[int],
    nodes: list[tuple[int, int, float, bool]],
    relative: dict[int, float],
    current: dict[int, float],
    swayed: float,
    taken: list[int],
    blend: float,
) -> dict[int, float]:
    """node → log depth for the cut nodes of ``track`` that the gap refused (not in ``taken``) though the sway's
    depth is nearer than their depth after the bound: moved the share ``blend`` of the way (in log depth) from that
    depth toward the sway's (``MoverSettings.cut_sway_blend``; 0 = none). A bound is never nearer than the truth and
    the sway's estimate lies 0.78–1.17× it, so where the two disagree by less than the gap the truth lies between
    them more often than at either (docs/geometric.md, "Between the bound and the sway"). ``swayed``: the sway's
    log depth of the track's gauge; ``relative``, ``current``, ``nodes``: as :func:`_swayed_nodes`."""
    if blend <= 0:
        return {}
    refused = [i for i in track if nodes[i][3] and i not in taken and swayed + relative[i] < current[i]]
    if refused:
        logger.info("movers: cut sway: %d of the track's cut regions moved %.2f of the way to the sway", len(refused),
                    blend)  # fmt: skip
    return {i: current[i] + blend * (swayed + relative[i] - current[i]) for i in refused}


def _levels_series(
    measured: list[tuple[int, np.ndarray]],
    nodes: list[tuple[int, int, float, bool]],
    relative: dict[int, float],
    along: np.ndarray,
    cam_to_world: np.ndarray,
    gain: float = 1.0,
    ground: dict[int, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inputs of :func:`~stereodiff.stage1.movers.sway.fit_sway_levels` for a track's ``measured`` regions
    (node, ``[3]`` its frame's ground normal), ``along`` ``[K]`` their ``n·m``, on the camera levels of stage 1's
    poses ``cam_to_world`` ``[n,4,4]`` (:func:`~stereodiff.stage1.movers.sway.camera_levels`) times ``gain``
    (``cut_sway_levels_gain``), along the one plane through ``ground`` (frame → ``[N,3]`` its ground pixels in its
    camera's axes; ``cut_sway_levels_plane``) when given: the measured frames ``[F]`` ascending, one value per frame
    pair ``[F]`` (the mean of its regions' ``(n·m) e^{rel}``) and the levels ``[n]``."""
    per_frame: dict[int, list[float]] = {}
    for (i, _), value in zip(measured, along):
        per_frame.setdefault(nodes[i][0], []).append(float(value) * float(np.exp(relative[i])))
    frames = np.array(sorted(per_frame))
    levels = gain * camera_levels(cam_to_world, {nodes[i][0]: n for i, n in measured}, ground)
    return frames, np.array([np.mean(per_frame[k]) for k in frames]), levels


def _components(count: int, links: list[tuple[int, int, float]]) -> list[list[int]]:
    """The connected components (lists of nodes, ascending; ordered by their first node) of ``count`` nodes joined
    by ``links`` ``(a, b, value)``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    ends = np.array([(a, b) for a, b, _ in links], np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(count, count))
    groups: dict[int, list[int]] = {}
    for node, label in enumerate(connected_components(graph, directed=False)[1]):
        groups.setdefault(int(label), []).append(node)
    return list(groups.values())


def _relative_log_depth(track: list[int], links: list[tuple[int, int, float]]) -> dict[int, float]:
    """Per node of ``track`` (connected by ``links`` ``(a, b, log z_b − log z_a)``): its log depth relative to the
    track's first node, the least-squares solution of the links."""
    position = {node: p for p, node in enumerate(track)}
    rows = [(position[a], position[b], value) for a, b, value in links if a in position]
    system = np.zeros((len(rows) + 1, len(track)))
    target = np.zeros(len(rows) + 1)
    for r, (a, b, value) in enumerate(rows):
        system[r, a], system[r, b], target[r] = -1.0, 1.0, value
    system[-1, 0] = 1.0  # the gauge: the first node at 0
    solution = np.linalg.lstsq(system, target, rcond=None)[0]
    return {node: float(solution[p]) for node, p in position.items()}
