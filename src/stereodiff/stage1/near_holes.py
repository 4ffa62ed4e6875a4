"""Large stage-1 holes whose outline moves far faster than their surroundings' parallax: a depth between two bounds.

``GeometricConfig.near_holes`` (issue #20, docs/geometric.md "The near object of close-object"). An object close
to the camera that moves fast — close-object's box or ball, 0.55–1.0 m away, 20–36 px per frame — is a stage-1
hole: no pair has forward–backward-consistent flow on it, the movers' segmentation does not find it, and stage 2
fills it from the background around it, 1.5–3.6× too far; that bends the protocol's one fit per video. Its depth is
not observable from the camera's motion (a rigid object at constant velocity seen from a camera at constant
velocity looks the same at every scale), but it is bounded on both sides:

- *above* by what it hides (occlusion order): ``B``, a low percentile of the stage-1 depth in a ring around it;
- *below* by its outline's static depth: the hole's silhouette is tracked from frame to frame by the shift that
  lays it best on the next frame's holes (:func:`silhouette_shift`); that shift less the camera's rotation is the
  outline's parallax, and ``B · |bound parallax| / |outline parallax|`` is the depth at which a static surface would
  move so — the depth itself for a static textureless surface, and for a mover whose motion relative to the camera
  is at least the camera's own (one not following the camera) a lower bound.

The region takes the geometric mean of the two (the estimate whose worst-case ratio error between the bounds is
least), one value per track of regions. It acts only where the outline moves at least ``near_holes`` times as
fast as the bound's parallax and by at least :data:`MIN_SHIFT_PX` pixels a frame. Measured (close-object, the
object's median given ÷ true depth in the stage-1 scale): the lower bound alone 0.19–0.38× (it bent the fit the
other way: s843 0.206 → 0.291), the geometric mean 0.90–1.55× (18 clips). With ``near_holes=3``, fresh
close-object s844–s859: all-pixel AbsRel −35 … −83 % on the 8 seeds it takes (moving pixels 0.55–0.91 →
0.15–0.43), 2 missed (identical); s900–s902 −57 / −56 / −69 %; fresh indoor-dynamic, driving, static-orbit (14
clips), TUM and 7-Scenes: nothing given (identical).

For an object cut by the image's side (docs/geometric.md "Objects cut by the image side in `near_holes`"):
``end_sweep`` lets a taken track's extension take the shrinking hole of an object leaving or entering
through a side — close-object moving px −5 … −28 % on 6 of 16 seeds (s961 0.264 → 0.190), all px −5.9 … +0.9 %.
``end_carry`` gives the holes past a taken track's ends that the object's moved place covers (the pieces too small
to be regions, or joined to the strip it uncovers; docs/geometric.md "The near object's entering and leaving
frames").

The geometric mean is not unbiased: it is right only when the background is as many times farther than the object as
the object moves faster than the camera. ``along_weight`` weights the lower bound more on tracks whose outline moves
against the static scene's parallax (the object moving the camera's way): close-object given ÷ true 0.80–1.37 →
0.80–1.21 over 14 clips; with ``mover_only`` final all px 12 better / 2 worse (docs/geometric.md "An unbiased depth for
the near object").

The object's depth is not observable from the clip beyond its two bounds: a rigid object at constant velocity seen
from a camera whose velocity hardly changes over the crossing looks the same at every scale (docs/geometric.md "The
near object's occlusion bound over its track"; trajectory triangulation of its track, exact on the renderer's
motions, needs its image positions to ~0.03 px: "The near object's depth from its own motion"). ``track_bound``
uses the one bound that tightens over a track: the object is nearer than what it hides in any of its frames, so
every region takes a low percentile of the track's occlusion bounds instead of its own ring's.

For a mover's own unflagged part (docs/geometric.md "Mover-bordered holes in `near_holes`"): ``mover_ring`` leaves
a track alone whose ring is, median over its regions, at least that share ``movers_given`` — rolled indoor-dynamic
s910 with ``movers_end_offset`` 0.450 (its +416 % becomes −10.5 % against the preset), close-object's near object
0.000–0.210 on 8 clips (taken as before).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from stereodiff.camera import pinhole
from stereodiff.channels import channel_mean
from stereodiff.io.pages import delete_arrays, new_array, release
from stereodiff.masks import shifted
from stereodiff.stage1.fusion import nearest_fill
from stereodiff.stage1.movers.segmentation import rigid_flow
from stereodiff.types import SceneGeometry

__all__ = [
    "MIN_AREA",
    "MIN_SHIFT_PX",
    "NearHolesSettings",
    "before_reach",
    "far_islands",
    "mover_part",
    "near_hole_depth",
    "silhouette_shift",
    "span_translation",
]

#: least area of a hole region (fraction of the frame)
MIN_AREA = 0.01
#: least silhouette parallax (pixels per frame at a 320-pixel long side)
MIN_SHIFT_PX = 8.0
#: least translation parallax of the bound (pixels per frame at 320): below it the camera hardly translates
MIN_BOUND_PX = 0.25
#: largest silhouette shift searched (pixels per frame at a 320-pixel long side)
MAX_SHIFT_PX = 48.0
#: least IoU of a shifted region with the other frame's regions
MIN_IOU = 0.5
#: least number of a track's regions whose parallax agrees with the track's (a motion seen in one frame is noise)
MIN_COHERENT = 3
#: least IoU of a shifted region with the next frame's region for both to be one track
TRACK_IOU = 0.3
#: frames a taken track is followed on past each end, and the least share of a region its predicted place covers
EXTEND_FRAMES, EXTEND_SHARE = 8, 0.5
#: ring around a region whose stage-1 depth bounds it (pixels at 320), and the percentile taken
RING_PX, RING_PERCENTILE = 6, 20.0
#: ``far_islands``: radius (px at a 320-pixel long side) of the closing of a given region that reaches the covered
#: islands inside it (close-object s1410's near object: its far islands lie a median 10–19 px inside its outline)
ISLAND_CLOSE_PX = 16
#: ``far_islands`` with a rim: the largest island, as a share of its region's area (close-object s0: the background
#: the closing bridged in the near object's concave parts, 9–29 % of the region each; the object's own islands ≤ 10 %)
ISLAND_MAX_SHARE = 0.05
#: most frames (spread over the video) whose covered pixels' median confidence the given regions take
CONFIDENCE_FRAMES = 64
#: side of the colour patch ``near_holes_mover_only`` compares (pixels), and the search around the region's shift
PATCH_PX, MOVER_SEARCH_PX = 5, 2
#: frames whose regions are kept at a time (the passes go in order: a frame and its neighbours)
KEPT_FRAMES = 4


#: a taken track's end (:func:`_plan`): its last (or first) frame, +1 (or −1: the way on past it), the track's
#: median shift (px per frame), the depth that frame is given and the track's regions there (indices)
_End = tuple[int, int, tuple[int, int], float, tuple[int, ...]]


class _Found(NamedTuple):
    """A candidate region (:func:`near_hole_depth`)."""

    shift: tuple[int, int]  # its silhouette's shift (px)
    parallax: tuple[float, float]  # its outline's parallax vector (px)
    bound_parallax: float  # its bound's parallax (px)
    lower: float  # its lower bound (the scene's unit)
    upper: float  # its upper bound (the scene's unit)
    bound_vector: tuple[float, float]  # its bound's parallax vector (px)
    lower_one: float  # its lower bound from the one-frame pose (``lower`` unless ``span_along`` or ``span_nearer``)


@dataclasses.dataclass(frozen=True)
class NearHolesSettings:
    """Knobs of :func:`near_hole_depth` (the ``stage1.near_holes*`` settings; pixel values at a 320-pixel long
    side, scaled with the resolution)."""

    ratio: float
    """A track of regions is taken when its outline's parallax is at least this many times the parallax of its
    occlusion bound (medians over the track; > 1; ``stage1.near_holes``)."""
    mover_only: float = 0.0
    """When > 0 (with ``frames``), a taken region gives its depth only to its pixels that move with it
    (:func:`mover_part`, this many shift lengths from its outline); 0 = the whole region
    (``stage1.near_holes_mover_only``)."""
    end_sweep: bool = False
    """When following a taken track on past its ends, a region that touches the same side of the image (first or
    last column) as the track's last region, and is smaller, also joins when at least :data:`EXTEND_SHARE` of it
    lies in the area that region sweeps over from a quarter of the track's median shift to all of it (the object
    leaving or entering through that side, whose cut hole's visible part moves less than the object;
    ``stage1.near_holes_end_sweep``)."""
    local: int = 0
    """0 = each taken track gives one depth, the median of its regions' estimates; else each frame of it takes the
    median of the estimates within this many frames (the nearest ones past the track's ends), so an object nearing
    or leaving the camera is followed, and whether two parts of one crossing are one track or two matters less
    (``stage1.near_holes_local``)."""
    along_weight: float = 0.0
    """0 = every region's estimate is the geometric mean of its two bounds; else a taken track whose outline
    parallax points against its bound's (the median over its regions moving at least :data:`MIN_SHIFT_PX` of the
    dot product of the two vectors is negative: the object moves the camera's way, faster, so its speed relative to
    the camera is the smaller difference and its lower bound lies nearer its depth) takes
    ``lower ** along_weight · bound ** (1 − along_weight)`` for each region instead
    (``stage1.near_holes_along_weight``; docs/geometric.md "An unbiased depth for the near object")."""
    mover_ring: float = 0.0
    """When > 0, a track is not taken when the median over its regions of their ring's share of ``movers_given``
    pixels (the covered pixels within :data:`RING_PX` of the region) is at least this: a hole bordered mostly by
    depth the movers step gave is the unflagged part of a mover, not a near object (``stage1.near_holes_mover_ring``;
    0 = off). Measured median shares: rolled indoor-dynamic s910's person cut by ``movers_end_offset`` 0.450;
    close-object's near object 0.000–0.210 (8 clips)."""
    bridge: int = 0
    """0 = off; else fast tracks at most this many frames apart are joined (:func:`_bridge`) and the frames between
    them take the regions the moved region covers (``stage1.near_holes_bridge``)."""
    track_bound: float = 0.0
    """0 = each region's estimate uses its own occlusion bound (its ring's :data:`RING_PERCENTILE` percentile); else
    every region of a taken track uses this percentile (0…100) of its regions' bounds — within the frames whose
    estimates a frame takes with ``local`` — the object being nearer than what it hides in any frame of the track, at
    a depth that changes slowly along it (``stage1.near_holes_track_bound``)."""
    far_islands: float = 0.0
    """0 = off; else a given region also gives its depth to the covered pixels within its closing by
    :data:`ISLAND_CLOSE_PX` that stage 1 put at least this many times beyond it (:func:`far_islands`): the patches of
    a near object's interior that stage 1 matched with the background behind it (``stage1.near_holes_far_islands``)."""
    islands_enclosed: bool = False
    """With ``far_islands``: take only the islands the given region wholly encloses (its holes, :func:`far_islands`),
    not the covered pixels its closing bridges in a concave part or in the gap to another hole
    (``stage1.near_holes_far_islands_enclosed``)."""
    islands_rim: float = 0.0
    """With ``far_islands``: 0 = off; else take only the islands whose border lies at least this share (0…1) in the
    given region and whose area is at most :data:`ISLAND_MAX_SHARE` of the region's (:func:`_rimmed`;
    ``stage1.near_holes_far_islands_rim``)."""
    mover_track_shift: bool = False
    """With ``mover_only``: a region whose own silhouette shift to a neighbour is under half its track's median
    shift (an object cut by the image's side: the outline stays anchored there while the object moves) is split by
    :func:`mover_part` with the track's shift instead, for the colour match and the border band; off, the band is
    ~0 px wide there and the static holes the region merged with keep the object's depth (close-object held-out
    1426 / 1428: 70 % of the given background farther than 2 px from the object, in 3 / 6 such frames;
    ``stage1.near_holes_mover_track_shift``)."""
    bound_span: int = 0
    """0 = the bound's parallax is the rigid flow of ``B`` under the relative pose of the frame and its neighbour;
    else the pose's translation is the camera's mean translation per frame over the frames within this many of the
    frame (:func:`span_translation`): stage 1's poses jitter from frame to frame (close-object held-out 1426: the
    one-frame translation 0.42–1.47× the truth, sd of its log 0.37; over ±4 frames 0.94–1.00×, sd 0.013), and the
    lower bound is proportional to that parallax (``stage1.near_holes_bound_span``)."""
    span_along: bool = False
    """With ``bound_span``: only a taken track that ``along_weight``'s test finds moving the camera's way takes the
    span's lower bounds; the others take the one-frame pose's (``stage1.near_holes_bound_span_along``; close-object
    check 2300–2309: with the span their geometric mean lost on 4 of 6 such clips, +6 … +17 %)."""
    span_nearer: bool = False
    """With ``bound_span``: a track that would take the span's lower bounds takes them only when the depths they give
    its frames are nearer than the one-frame pose's give (:func:`_nearer_lows`): the span's bound is the better
    measurement, but the along estimate is too far on most clips, and the span's correction lost where it moved the
    object farther (``stage1.near_holes_bound_span_nearer``; close-object 1441: given ÷ true 1.135 → 1.231, final
    +14.8 %)."""
    end_carry: int = 0
    """0 = off; else past each end of a taken track, up to this many frames, the stage-1 holes its object's place
    covers — the place before it moved by the track's median shift — are given the end frame's depth
    (:func:`_carry`): the small pieces of an object entering or leaving through a side (``stage1.near_holes_end_carry``;
    docs/geometric.md "The near object's entering and leaving frames")."""
    ring_ends: int = 0
    """With ``mover_ring``: 0 = the gate judges every track; else only a track with a region in the scene's first
    or last ``ring_ends`` frames (where ``movers_end_offset`` flags: the end frames of the movers step,
    ``min(movers_offsets)``) is judged, the rest are taken as without the gate
    (``stage1.near_holes_mover_ring_ends``). Rolled indoor-dynamic s1120: a near person crossing in frames 50–55,
    median share 0.514, is a true near object (94 % of the pixels taken move; without her, final 0.1237 → 0.1838);
    s910's person cut by the end flags, share 0.450, lies in frames 5–7."""


def silhouette_shift(region: np.ndarray, other: np.ndarray, reach: int) -> tuple[tuple[int, int], float]:
    """The integer shift ``(dx, dy)`` (pixels, |dx|, |dy| ≤ ``reach``) that lays ``region`` ``[h,w]`` bool best on
    ``other`` ``[h,w]`` bool (the most intersection over union, both cut to the image), and that IoU (0…1).
    Searched on a 4× coarser grid first, then refined by ±3 pixels on a subsample of ``region``'s pixels; of equal
    IoUs the first shift in row order (``dy``, then ``dx``) wins, the coarse one over the refined ones."""
    h, w = region.shape
    ys, xs = np.nonzero(region)
    if not len(ys) or not other.any():
        return (0, 0), 0.0
    step = max(1, len(ys) // 4000)  # an even subsample of the region's pixels
    ys, xs = ys[::step], xs[::step]
    other_count = float(other.sum()) / step
    # other's pixels coded 2 and the rest of the image 1 on a frame of 0s ``reach`` wide: one gather per shift
    # tells both whether a moved pixel hits other and whether it stays in the image
    codes = np.zeros((h + 2 * reach, w + 2 * reach), np.uint8)
    codes[reach : reach + h, reach : reach + w] = np.where(other, 2, 1)
    at = (ys + reach) * codes.shape[1] + (xs + reach)  # [n] the region's pixels in ``codes``, flat

    def ious(dys: range, dxs: range) -> np.ndarray:
        """``[len(dys)·len(dxs)]`` float64 IoUs of the shifts in row order (one row of shifts at a time)."""
        flat, row = codes.ravel(), np.asarray(dxs)[:, None] + at[None, :]  # [len(dxs), n]
        seen = np.stack([flat[row + dy * codes.shape[1]] for dy in dys]).reshape(len(dys) * len(dxs), -1)
        hit = np.count_nonzero(seen == 2, axis=1).astype(np.float64)
        union = np.count_nonzero(seen, axis=1) + other_count - hit
        return np.divide(hit, union, out=np.zeros_like(hit), where=union > 0)

    coarse = range(-reach, reach + 1, 4)
    values = ious(coarse, coarse)
    first = int(np.argmax(values))
    cx, cy = coarse[first % len(coarse)], coarse[first // len(coarse)]
    best, best_iou = (cx, cy), float(values[first])
    near_y = range(max(-reach, cy - 3), min(reach, cy + 3) + 1)
    near_x = range(max(-reach, cx - 3), min(reach, cx + 3) + 1)
    values = ious(near_y, near_x)
    first = int(np.argmax(values))
    if values[first] > best_iou:
        best, best_iou = (near_x[first % len(near_x)], near_y[first // len(near_x)]), float(values[first])
    return best, best_iou


def near_hole_depth(
    scene: SceneGeometry,
    settings: NearHolesSettings,
    out_dir: Path | None = None,
    frames: Any = None,
) -> tuple[SceneGeometry, np.ndarray | None]:
    """``scene`` with the fast-moving hole regions given a depth between their bounds (module docstring), and the
    ``[T,h,w]`` bool mask of the pixels given (``None`` when none is).

    Args:
        scene: the stage-1 scene (``depth`` ``[T,h,w]``, 0 = hole; ``cam_to_world`` and ``focal`` per frame; may
            be memmaps, read one frame at a time).
        settings: the knobs (:class:`NearHolesSettings`).
        out_dir: when given, the new depth, confidence, validity, ``movers_given`` and the mask are memmaps there
            (``near_*.npy``); else in memory. Nothing is allocated when no region is taken.
        frames: ``[T,H,W,3]`` uint8 frames (any indexable), needed only with ``settings.mover_only``.

    Each frame's regions are 8-connected stage-1 holes of at least :data:`MIN_AREA` of the frame (closed by a
    5×5 ellipse, so the few pixels stage 1 triangulated inside a mover join it). A region's shift to the next frame
    (the previous for the last) is :func:`silhouette_shift` onto the regions of that frame within reach, kept when
    their IoU is at least :data:`MIN_IOU`; its parallax is that shift less the rotation's flow, compared with the
    bound's translation parallax (the rigid flow of the ring's depth under the two frames' relative pose from
    ``cam_to_world``, less the rotation's; medians over the region), which must be at least :data:`MIN_BOUND_PX`.
    Regions of consecutive frames whose shifted silhouettes overlap (IoU ≥ :data:`TRACK_IOU`) and whose parallaxes can
    be one motion (:func:`_one_motion`) form a track; a track whose median parallax vector (one motion: an outline
    that only changes shape shifts every way) is at least
    :data:`MIN_SHIFT_PX` long and ``settings.ratio`` times its median bound parallax, and that holds at least
    :data:`MIN_COHERENT` regions whose own parallax lies within half that vector's length of it, gives its
    regions one depth, the median over them of ``sqrt(lower · B)`` (``lower = B · bound parallax / parallax``), at
    the static pixels' median confidence (over at most :data:`CONFIDENCE_FRAMES` frames spread over the video), and
    is followed on past its ends for up to :data:`EXTEND_FRAMES` frames (a region of the next frame at least
    :data:`EXTEND_SHARE` covered by the last region moved by the track's median shift joins it: an object entering
    or leaving through the image's side, whose cut outline does not shift); the given pixels join
    ``movers_given``. Memory does not grow with ``T``: regions are found per frame (a few frames' at a time) and
    the plan keeps region indices and one depth per track.
    """
    import cv2

    t, h, w = scene.depth.shape
    if t < 2:
        return scene, None
    scale = max(h, w) / 320.0
    reach = round(MAX_SHIFT_PX * scale)
    ring_kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(RING_PX * scale) + 1,) * 2)
    reach_kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1,) * 2)
    regions = _Regions(scene.depth, MIN_AREA * h * w)
    # candidates: (frame, region index) -> (shift, parallax, bound parallax, lower bound, upper bound, bound vector)
    found: dict[tuple[int, int], _Found] = {}
    given_share: dict[tuple[int, int], float] = {}  # (frame, region index) -> its ring's share of movers_given
    for k in range(t):
        release(scene.depth, scene.movers_given)  # the frames read so far leave the resident set (flat in T)
        if not regions(k):
            continue
        j = k + 1 if k + 1 < t else k - 1
        if not regions(j):
            continue
        depth = np.asarray(scene.depth[k], np.float32)
        covered = depth > 0
        K = pinhole(float(scene.focal[k]), (h, w))
        own_to_other = np.linalg.inv(scene.cam_to_world[j]) @ scene.cam_to_world[k]
        rotation_only = own_to_other.copy()
        rotation_only[:3, 3] = 0.0
        rotation, _ = rigid_flow(np.ones((h, w), np.float32), K, rotation_only)  # [h,w,2] px
        bound_pose = own_to_other
        if settings.bound_span > 0:
            bound_pose = own_to_other.copy()
            bound_pose[:3, 3] = span_translation(scene.cam_to_world, k, j, settings.bound_span)
        given = None
        if settings.mover_ring > 0 and scene.movers_given is not None:
            given = np.asarray(scene.movers_given[k], bool)
        for i, region in enumerate(regions(k)):
            ring = cv2.dilate(region.view(np.uint8), ring_kernel).view(bool) & ~region & covered
            if ring.sum() < 20:
                continue
            bound = float(np.percentile(depth[ring], RING_PERCENTILE))
            at_bound, defined = rigid_flow(np.where(region, bound, 0.0).astype(np.float32), K, bound_pose)
            inside = region & defined
            if not inside.any():
                continue
            rot = np.median(rotation[inside], axis=0)
            bound_vector = np.median(at_bound[inside], axis=0) - rot  # [2] px, the static scene's parallax there
            bound_parallax = float(np.hypot(*bound_vector))
            if bound_parallax < MIN_BOUND_PX * scale:
                continue  # the camera hardly translates: nothing to measure the silhouette against
            near = cv2.dilate(region.view(np.uint8), reach_kernel).view(bool)
            other = np.zeros((h, w), bool)
            for candidate in regions(j):
                if (candidate & near).any():
                    other |= candidate
            (dx, dy), iou = silhouette_shift(region, other, reach)
            if iou < MIN_IOU:
                continue
            if j < k:  # the previous frame: the shift forward is the opposite one
                dx, dy, rot, bound_vector = -dx, -dy, -rot, -bound_vector
            moved = (dx - float(rot[0]), dy - float(rot[1]))  # the outline's parallax (px)
            parallax = float(np.hypot(*moved))
            lower = bound * bound_parallax / max(parallax, 1e-6)  # the outline's static depth
            along = (float(bound_vector[0]), float(bound_vector[1]))
            lower_one = lower
            if (settings.span_along or settings.span_nearer) and bound_pose is not own_to_other:  # one-frame's too
                at_one, _ = rigid_flow(np.where(region, bound, 0.0).astype(np.float32), K, own_to_other)
                one_vector = np.median(at_one[inside], axis=0) - np.median(rotation[inside], axis=0)
                lower_one = bound * float(np.hypot(*one_vector)) / max(parallax, 1e-6)
            found[(k, i)] = _Found((dx, dy), moved, bound_parallax, lower, bound, along, lower_one)
            if given is not None:
                given_share[(k, i)] = float(given[ring].mean())
    plan, ends, shifts = _plan(found, regions, t, scale, settings, given_share if settings.mover_ring > 0 else None)
    release(scene.depth, scene.movers_given)  # the plan's passes read frames' regions again
    if not plan:
        return scene, None
    part = None
    if settings.mover_only > 0 and frames is not None:

        def part(k: int, mask: np.ndarray) -> np.ndarray:
            track_shift = shifts.get(k) if settings.mover_track_shift else None
            return mover_part(scene, frames, plan, regions, k, mask, settings.mover_only, track_shift)

    islands = (settings.far_islands, settings.islands_enclosed, settings.islands_rim)
    carried = _carry(ends, plan, regions, settings.end_carry)
    return _give(scene, plan, regions, out_dir, part, islands, carried)


def span_translation(cam_to_world: np.ndarray, k: int, j: int, span: int) -> np.ndarray:
    """``[3]`` the translation of frame ``k``'s camera to frame ``j``'s (``j = k ± 1``; the scene's unit, in the
    later camera's axes) taken as the camera's mean per-frame translation between frames ``k − span`` and
    ``k + span`` (cut to the ``[T,4,4]`` poses ``cam_to_world``), signed by ``j − k``: the camera's jitter from frame
    to frame averages out over the span, its smooth motion does not (the rotation over a few frames is neglected)."""
    first, last = max(0, k - span), min(len(cam_to_world) - 1, k + span)
    first_to_last = np.linalg.inv(cam_to_world[last]) @ cam_to_world[first]
    return first_to_last[:3, 3] * (j - k) / max(last - first, 1)


def far_islands(
    depth: np.ndarray, mask: np.ndarray, value: float, ratio: float, enclosed: bool = False, rim: float = 0.0
) -> np.ndarray:
    """``[h,w]`` bool: the covered pixels of ``depth`` ``[h,w]`` (0 = hole) inside ``mask`` ``[h,w]`` bool closed by
    an ellipse of radius :data:`ISLAND_CLOSE_PX` (at a 320-pixel long side), not in ``mask``, whose depth is at least
    ``ratio`` times the depth ``value`` the mask is given: a near object's hole has islands that stage 1 matched with
    the background it passes (close-object s1410: 4–10× its depth, 2–10 % of its pixels, half of its moving-pixel
    AbsRel), which no background surface inside the object's outline can be. With ``enclosed``, only those in the
    mask's holes (the 4-connected parts of its complement that do not reach the image's border): on close-object s0
    the closing also bridged the mask's concave parts, and 89 % of the pixels it took there were the background.
    With ``rim`` > 0, only the islands :func:`_rimmed` keeps (mostly bordered by the mask, small against it)."""
    import cv2
    from scipy import ndimage

    radius = round(ISLAND_CLOSE_PX * max(depth.shape) / 320.0)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    padded = np.pad(mask.view(np.uint8), radius)  # outside the image is not the region (OpenCV's erosion border is)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[radius:-radius, radius:-radius].view(bool)
    islands = closed & ~mask & (depth >= ratio * value)
    if rim > 0:
        islands = _rimmed(islands, mask, rim)
    return islands & ndimage.binary_fill_holes(mask) if enclosed else islands


def _rimmed(islands: np.ndarray, mask: np.ndarray, rim: float) -> np.ndarray:
    """``islands`` ``[h,w]`` bool less its 8-connected parts whose border (the pixels next to them) lies less than
    ``rim`` (0…1) in ``mask`` ``[h,w]`` bool, or whose area is over :data:`ISLAND_MAX_SHARE` of the mask's: an island
    of the object's interior is mostly bordered by it and small against it, background in a bay of the region is
    not (:func:`far_islands`)."""
    from scipy import ndimage

    labels, count = ndimage.label(islands, np.ones((3, 3), bool))
    if not count:
        return islands
    beside = ndimage.grey_dilation(labels, size=(3, 3))  # each border pixel: the label of a part it touches
    border = (labels == 0) & (beside > 0)
    touching = np.bincount(beside[border], minlength=count + 1)
    in_mask = np.bincount(beside[border & mask], minlength=count + 1)
    area = np.bincount(labels.ravel(), minlength=count + 1)
    keep = (in_mask >= rim * np.maximum(touching, 1)) & (area <= ISLAND_MAX_SHARE * mask.sum())
    keep[0] = False
    return keep[labels]


def _plan(
    found: dict[tuple[int, int], _Found],
    regions: _Regions,
    t: int,
    scale: float,
    settings: NearHolesSettings,
    given_share: dict[tuple[int, int], float] | None = None,
) -> tuple[dict[int, list[tuple[int, float]]], list[_End], dict[int, tuple[int, int]]]:
    """The regions to give depth to, ``{frame: [(region index, depth), ...]}``, from the candidates ``found``
    (:func:`near_hole_depth`): tracks of them, the ``settings.ratio`` / coherence gates, and each taken track
    followed on past its ends. With ``given_share`` (candidate -> its ring's share of ``movers_given``, 0…1), a
    track whose median share is at least ``settings.mover_ring`` is not taken (with ``settings.ring_ends`` > 0,
    only a track with a region in the first or last ``ring_ends`` of the ``t`` frames is judged). Also, with
    ``settings.end_carry``, each taken track's two ends (:data:`_End`, for :func:`_carry`; else none), and each
    given frame's track median shift (px per frame, ``{frame: (dx, dy)}``)."""
    ratio, bridge, ring_ends = settings.ratio, settings.bridge, settings.ring_ends
    parent = {key: key for key in found}  # tracks: a region and the next frame's region its silhouette lands on

    def root(key: tuple[int, int]) -> tuple[int, int]:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for (k, i), ((dx, dy), vector, *_rest) in found.items():
        if k + 1 >= t:
            continue
        moved = shifted(regions(k)[i], dx, dy)
        for n, region in enumerate(regions(k + 1)):
            if (k + 1, n) in found and _one_motion(vector, found[(k + 1, n)].parallax, MIN_SHIFT_PX * scale):
                hit = float((moved & region).sum())
                if hit / max(float((moved | region).sum()), 1.0) >= TRACK_IOU:
                    parent[root((k + 1, n))] = root((k, i))
    tracks: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in found:
        tracks.setdefault(root(key), []).append(key)
    if bridge > 0:
        tracks = _bridge(tracks, found, regions, bridge, scale, ratio)
    plan: dict[int, list[tuple[int, float]]] = {}
    ends: list[_End] = []
    shifts: dict[int, tuple[int, int]] = {}
    for members in tracks.values():
        if not _track_gate(members, found, ratio, scale)[1]:
            continue
        at_ends = ring_ends <= 0 or any(k < ring_ends or k >= t - ring_ends for k, _ in members)
        if given_share is not None and at_ends:
            share = float(np.median([given_share.get(key, 0.0) for key in members]))
            if share >= settings.mover_ring:
                continue  # bordered mostly by depth the movers step gave: a mover's own unflagged part
        at = np.array([k for k, _ in members])  # [n] frames of the members
        fast = [key for key in members if np.hypot(*found[key].parallax) >= MIN_SHIFT_PX * scale]
        # the outline moves against the static scene's parallax: the object moves along with the camera, its
        # speed relative to the camera is the smaller difference, and its lower bound lies nearer its depth
        dots = [np.dot(found[key].parallax, found[key].bound_vector) for key in fast]
        along = bool(fast) and float(np.median(dots)) < 0
        weight = settings.along_weight if along else 0.0  # 0: the geometric mean of the two bounds
        spans = along or not settings.span_along  # the span's lower bounds, or the one-frame pose's
        lows = np.array([found[key].lower if spans else found[key].lower_one for key in members])
        highs = np.array([found[key].upper for key in members])
        if settings.span_nearer and spans:  # the span's lower bounds only where they make the estimate nearer
            ones = np.array([found[key].lower_one for key in members])
            lows = _nearer_lows(lows, ones, highs, at, weight, settings)
        chosen: dict[int, list[int]] = {}
        for k, i in members:
            chosen.setdefault(k, []).append(i)
        moving = [found[key].shift for key in fast]
        shift = (round(float(np.median([m[0] for m in moving]))), round(float(np.median([m[1] for m in moving]))))
        if bridge > 0:  # the frames between bridged tracks: the regions the moved region covers, as past the ends
            for k in sorted(chosen)[:-1]:
                n = k + 1
                while n < t and n not in chosen:
                    last = np.logical_or.reduce([regions(n - 1)[i] for i in chosen[n - 1]])
                    predicted = shifted(last, shift[0], shift[1])
                    joined = [
                        i
                        for i, region in enumerate(regions(n))
                        if (predicted & region).sum() >= EXTEND_SHARE * region.sum()
                    ]
                    if not joined:
                        break
                    chosen[n] = joined
                    n += 1
        for sign in (1, -1):  # on past the track's ends: entering and leaving at the border, the shift is lost
            k = max(chosen) if sign > 0 else min(chosen)
            for _ in range(EXTEND_FRAMES):
                n = k + sign
                if not 0 <= n < t:
                    break
                last = np.logical_or.reduce([regions(k)[i] for i in chosen[k]])
                predicted = shifted(last, sign * shift[0], sign * shift[1])
                sides = (last[:, 0].any(), last[:, -1].any()) if settings.end_sweep else (False, False)
                swept = predicted.copy()
                if any(sides):  # the object leaving or entering through a side: the area its hole sweeps over
                    for part in (0.25, 0.5, 0.75):
                        swept |= shifted(last, round(sign * part * shift[0]), round(sign * part * shift[1]))
                taken = {i for i, _ in plan.get(n, [])}  # regions of a frame are disjoint: given = taken whole
                joined = [
                    i
                    for i, region in enumerate(regions(n))
                    if i not in taken
                    and (
                        (predicted & region).sum() >= EXTEND_SHARE * region.sum()
                        or (
                            ((sides[0] and region[:, 0].any()) or (sides[1] and region[:, -1].any()))
                            and region.sum() < last.sum()  # the visible part shrinks towards the side
                            and (swept & region).sum() >= EXTEND_SHARE * region.sum()
                        )
                    )
                ]
                if n in chosen or not joined:
                    break
                chosen[n] = joined
                k = n
        for k, indices in chosen.items():
            here = _frame_value(lows, highs, at, k, weight, settings)
            plan.setdefault(k, []).extend((i, here) for i in indices)
            shifts[k] = shift
            if settings.end_carry > 0:
                ends.extend(
                    (k, sign, shift, here, tuple(indices))
                    for sign, end in ((1, max(chosen)), (-1, min(chosen)))
                    if k == end
                )
    return plan, ends, shifts


def _carry(
    ends: list[_End], plan: dict[int, list[tuple[int, float]]], regions: _Regions, frames: int
) -> dict[int, list[tuple[np.ndarray, float]]]:
    """The holes past each taken track's ends that its object's place covers, ``{frame: [([h,w] bool, depth), ...]}``:
    from each end (:data:`_End`), up to ``frames`` frames on, the object's place is the place before it (the end
    frame's taken regions, then what was carried) moved by the track's median shift, and its stage-1 holes (closed
    as :class:`_Regions` closes them, of any size, not taken by another track) are given the end frame's depth.
    It stops at the first frame where nothing is carried: the object has left the image, or stage 1 covers it. The
    pieces of an object entering or leaving through a side are too small to be regions (close-object held-out 1423
    frame 42: 384 px, 9.6× too far from stage 2's fill)."""
    t = regions.depth.shape[0]
    carried: dict[int, list[tuple[np.ndarray, float]]] = {}
    for end, sign, shift, value, indices in ends:
        place = np.logical_or.reduce([regions(end)[i] for i in indices])
        for n in range(end + sign, end + sign * (frames + 1), sign):
            if not 0 <= n < t:
                break
            taken = [regions(n)[i] for i, _ in plan.get(n, [])]
            place = shifted(place, sign * shift[0], sign * shift[1]) & regions.holes(n)
            if taken:
                place &= ~np.logical_or.reduce(taken)
            if not place.any():
                break
            carried.setdefault(n, []).append((place, value))
    return carried


def _estimates(lows: np.ndarray, highs: np.ndarray, weight: float, track_bound: float) -> np.ndarray:
    """The ``[n]`` depth estimates of a track's ``n`` regions from their lower bounds ``lows`` ``[n]`` (the outline's
    static depth) and occlusion bounds ``highs`` ``[n]`` (the scene's unit): ``lows ** weight · highs ** (1 − weight)``,
    the geometric mean when ``weight`` is 0. With ``track_bound`` > 0 every region takes that percentile (0…100) of
    ``highs`` as its occlusion bound (:attr:`NearHolesSettings.track_bound`)."""
    if track_bound > 0:
        highs = np.full_like(highs, np.percentile(highs, track_bound))
    if weight > 0:
        return lows**weight * highs ** (1.0 - weight)
    return np.sqrt(lows * highs)


def _frame_value(
    lows: np.ndarray, highs: np.ndarray, at: np.ndarray, k: int, weight: float, settings: NearHolesSettings
) -> float:
    """The depth a taken track gives frame ``k`` from its regions' ``[n]`` lower and occlusion bounds ``lows`` /
    ``highs`` (the scene's unit) in frames ``at`` ``[n]``: the median of their estimates (:func:`_estimates`), with
    ``settings.local`` > 0 of those within ``local`` frames of ``k`` (or the nearest ones)."""
    near = np.ones(len(at), bool)
    if settings.local > 0:
        gap = np.abs(at - k)
        near = gap <= max(settings.local, int(gap.min()))
    return float(np.median(_estimates(lows[near], highs[near], weight, settings.track_bound)))


def _nearer_lows(
    spans: np.ndarray, ones: np.ndarray, highs: np.ndarray, at: np.ndarray, weight: float, settings: NearHolesSettings
) -> np.ndarray:
    """Of a track's ``[n]`` lower bounds from the span's pose ``spans`` and from the one-frame pose ``ones`` (the
    scene's unit; occlusion bounds ``highs`` ``[n]``, regions in frames ``at`` ``[n]``), ``ones`` when the depths
    they give the track's frames (:func:`_frame_value`) are nearer, the median over the frames of the two depths'
    ratio below 1; else ``spans``."""
    ratios = [
        _frame_value(ones, highs, at, k, weight, settings) / _frame_value(spans, highs, at, k, weight, settings)
        for k in at
    ]
    return ones if float(np.median(ratios)) < 1.0 else spans


def _track_gate(
    members: list[tuple[int, int]], found: dict[tuple[int, int], _Found], ratio: float, scale: float
) -> tuple[np.ndarray, bool]:
    """A track's ``[2]`` median parallax vector (px) and whether it passes :func:`_plan`'s gates: one motion (the
    median vector, as an outline that only changes shape shifts every way) at least :data:`MIN_SHIFT_PX` long and
    ``ratio`` times its bound's parallax, with at least :data:`MIN_COHERENT` regions whose own parallax lies within
    half its length of it (a motion persists)."""
    vectors = np.array([found[key].parallax for key in members])  # [n,2] px
    median = np.median(vectors, axis=0)
    parallax = float(np.hypot(*median))
    bound_parallax = float(np.median([found[key].bound_parallax for key in members]))
    coherent = int((np.hypot(*(vectors - median).T) <= 0.5 * parallax).sum())
    passes = parallax >= MIN_SHIFT_PX * scale and parallax >= ratio * bound_parallax and coherent >= MIN_COHERENT
    return median, passes


def _bridge(
    tracks: dict[tuple[int, int], list[tuple[int, int]]],
    found: dict[tuple[int, int], _Found],
    regions: _Regions,
    bridge: int,
    scale: float,
    ratio: float,
) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """``tracks`` (root → members, :func:`_plan`) with fast ones joined across gaps of at most ``bridge`` frames:
    a track (median parallax at least :data:`MIN_SHIFT_PX`) joins the next one starting within ``bridge`` frames of
    its end whose median parallax is one motion with its own (:func:`_one_motion`) when its last frame's regions,
    moved by its median shift times the gap, land on the other's first frame's regions with an IoU of at least
    :data:`TRACK_IOU`. Only tracks that would not be taken on their own (:func:`_plan`'s ``ratio`` and coherence
    gates) join: a taken track keeps its own estimates (joining it to short parts, such as an object's last frames
    cut by the image side, moved close-object s1000's final +7.8 %). A crossing object whose hole merges for a few
    frames with a slower hole (a walking person's, the background's) shifts by 0 there and breaks its track into
    parts too short to be taken."""
    slow = MIN_SHIFT_PX * scale
    out: dict[tuple[int, int], list[tuple[int, int]]] = {}
    fast = []  # (members by frame, median parallax vector, median shift) of each fast track
    for key, members in tracks.items():
        median, taken = _track_gate(members, found, ratio, scale)
        if float(np.hypot(*median)) < slow or taken:  # slow, or taken on its own
            out[key] = members
            continue
        shift = np.median(np.array([found[m].shift for m in members], float), axis=0)  # [2] px
        fast.append((sorted(members), (float(median[0]), float(median[1])), (float(shift[0]), float(shift[1]))))
    fast.sort(key=lambda item: item[0][0][0])
    joined: dict[int, int] = {}  # index in fast -> the index it joins
    for a, (members, vector, shift) in enumerate(fast):
        end = members[-1][0]
        last = np.logical_or.reduce([regions(end)[i] for k, i in members if k == end])
        for b in range(a + 1, len(fast)):
            other, other_vector, _ = fast[b]
            start = other[0][0]
            gap = start - end
            if gap < 1 or gap > bridge or b in joined.values() or not _one_motion(vector, other_vector, slow):
                continue
            first = np.logical_or.reduce([regions(start)[i] for k, i in other if k == start])
            moved = shifted(last, round(gap * shift[0]), round(gap * shift[1]))
            if (moved & first).sum() >= TRACK_IOU * max(float((moved | first).sum()), 1.0):
                joined[a] = b
                break
    merged = {a: list(fast[a][0]) for a in range(len(fast))}
    for a in sorted(joined, reverse=True):  # from the last: a chain a → b → c collects c into b first
        merged[a] += merged.pop(joined[a])
    for members in merged.values():
        out[members[0]] = members
    return out


def _give(
    scene: SceneGeometry,
    plan: dict[int, list[tuple[int, float]]],
    regions: _Regions,
    out_dir: Path | None,
    part: Callable[[int, np.ndarray], np.ndarray] | None = None,
    islands: tuple[float, bool, float] = (0.0, False, 0.0),
    carried: dict[int, list[tuple[np.ndarray, float]]] | None = None,
) -> tuple[SceneGeometry, np.ndarray]:
    """The scene with ``plan``'s regions (:func:`_plan`) given their depth at the static pixels' median
    confidence, written frame by frame into new arrays (memmaps in ``out_dir`` when given), and the given mask;
    with ``part``, only ``part(frame, region)`` of each region (``[h,w]`` bool) is given; with ``islands``' ratio
    > 0, :func:`far_islands` of each given mask too (``islands``: its ratio, ``enclosed`` and ``rim``); then the
    ``carried`` masks (:func:`_carry`), each given its depth."""
    t, h, w = scene.depth.shape
    sampled = np.unique(np.linspace(0, t - 1, min(t, CONFIDENCE_FRAMES)).round().astype(int))
    values = [np.asarray(scene.confidence[k])[np.asarray(scene.depth[k]) > 0] for k in sampled]
    values = np.concatenate(values) if values else np.zeros(0, np.float32)
    static_confidence = float(np.median(values)) if len(values) else 1.0
    depth, confidence, valid, movers_given, given = (
        new_array(out_dir, f"near_{name}", (t, h, w), dtype)
        for name, dtype in (
            ("depth", np.float32),
            ("confidence", np.float32),
            ("valid", np.bool_),
            ("movers_given", np.bool_),
            ("given", np.bool_),
        )
    )
    for k in range(t):
        depth[k], confidence[k], valid[k] = scene.depth[k], scene.confidence[k], scene.valid[k]
        if scene.movers_given is not None:
            movers_given[k] = scene.movers_given[k]
        masks = []
        for i, value in plan.get(k, []):
            mask = regions(k)[i] if part is None else part(k, regions(k)[i])
            if islands[0] > 0:
                mask = mask | far_islands(np.asarray(scene.depth[k]), mask, value, *islands)
            masks.append((mask, value))
        for mask, value in masks + (carried or {}).get(k, []):
            depth[k][mask] = value
            confidence[k][mask] = static_confidence
            valid[k] |= mask
            movers_given[k] |= mask
            given[k] |= mask
        release(scene.depth, scene.confidence, scene.valid, scene.movers_given)  # the input scene's pages
        release(depth, confidence, valid, movers_given, given)
    replaced = dataclasses.replace(scene, depth=depth, confidence=confidence, valid=valid, movers_given=movers_given)
    return replaced, given


def before_reach(
    scene: SceneGeometry,
    settings: NearHolesSettings,
    out_dir: Path | None = None,
    frames: Any = None,
) -> tuple[SceneGeometry, np.ndarray | None]:
    """``near_holes_before_reach``: :func:`near_hole_depth` on ``scene`` with the pixels the movers step gave through
    ``hole_reach`` (``scene.movers_reach`` ``[T,h,w]`` bool) taken for holes; of those, the pixels it does not give
    keep the movers step's depth. A near person's large hole with a flagged sliver on it (rolled indoor-dynamic
    1453: the last-row bound 2.2–2.7× too far) is a near object whose track ``near_holes`` follows; a body over its
    legs, which ``near_holes`` does not take, keeps its ground contact. Returns as :func:`near_hole_depth`
    (``scene`` itself when nothing is given); the temporary arrays ``reach_*.npy`` in ``out_dir`` are deleted."""
    reach = scene.movers_reach
    t, h, w = scene.depth.shape
    depth, valid, given_in = (
        new_array(out_dir, f"reach_{name}", (t, h, w), dtype)
        for name, dtype in (("depth", np.float32), ("valid", np.bool_), ("movers_given", np.bool_))
    )
    for k in range(t):
        hole = np.asarray(reach[k], bool)
        depth[k] = np.where(hole, 0.0, scene.depth[k])
        valid[k] = np.asarray(scene.valid[k]) & ~hole
        if scene.movers_given is not None:
            given_in[k] = np.asarray(scene.movers_given[k]) & ~hole
        release(scene.depth, scene.valid, scene.movers_given, reach, depth, valid, given_in)
    reverted = dataclasses.replace(scene, depth=depth, valid=valid, movers_given=given_in)
    out, given = near_hole_depth(reverted, settings, out_dir, frames)
    if given is not None:
        for k in range(t):
            back = np.asarray(reach[k], bool) & ~given[k]  # not taken: the movers step's depth again
            out.depth[k][back] = scene.depth[k][back]
            out.confidence[k][back] = scene.confidence[k][back]
            out.valid[k][back] = scene.valid[k][back]
            out.movers_given[k][back] = True
            release(scene.depth, scene.confidence, scene.valid, reach, out.depth, out.confidence, out.valid)
    del depth, valid, given_in, reverted
    delete_arrays(out_dir, "reach_depth", "reach_valid", "reach_movers_given")
    return (out, given) if given is not None else (scene, None)


def mover_part(
    scene: SceneGeometry,
    frames: Any,
    plan: dict[int, list[tuple[int, float]]],
    regions: Callable[[int], list[np.ndarray]],
    k: int,
    region: np.ndarray,
    border: float,
    track_shift: tuple[int, int] | None = None,
) -> np.ndarray:
    """The part ``[h,w]`` bool of frame ``k``'s taken ``region`` ``[h,w]`` bool that moves with it, not the static
    strips beside the object that the hole takes in (what the object uncovers or is about to cover).

    A pixel is left out when its colour patch (:data:`PATCH_PX` square, mean absolute RGB difference) is matched
    better by the static scene than by the region's motion, in either neighbouring frame that has taken regions:
    the static match warps the neighbour by the rigid flow (``cam_to_world``) of the nearest covered stage-1 depth;
    the region's match by the silhouette's shift to the neighbour's taken regions (:func:`silhouette_shift`), the
    best of ±:data:`MOVER_SEARCH_PX` pixels around it (a turning or approaching object). Only pixels within
    ``border`` shift lengths of the region's outline can be left out (the strips lie there; inside, a weak texture
    would make noise). With ``track_shift`` (the region's track median shift, px per frame), a silhouette shift
    shorter than half of it — the outline of an object cut by the image's side, anchored there — is replaced by
    it (signed by the neighbour's side) for the match and the border (``near_holes_mover_track_shift``).
    Measured (close-object 64 frames, ``border=1.5``): the given pixels' share of static
    background 0.12–0.24 → 0.03–0.11 on 8 clips (s0 0.200 → 0.079), keeping 88–98 % of the given mover pixels; but
    the final all-pixel AbsRel is worse on 9 of 12 clips (−25.0 … +23.6 %; better on s0 / s1 / s3, whose box is given
    1.05 / 0.81 / 0.81× its true depth) and on the demo (0.0670 → 0.0721): the strips were cancelling the box's
    too-far depth in the protocol's one fit (docs/geometric.md, ``near_holes_mover_only``).
    """
    import cv2

    from stereodiff.stage1.band_select import unit_rgb

    t, h, w = scene.depth.shape

    def taken(j: int) -> np.ndarray | None:
        if j not in plan:
            return None
        return np.logical_or.reduce([regions(j)[i] for i, _ in plan[j]])

    depth = np.asarray(scene.depth[k], np.float32)
    if not (depth > 0).any():
        return region
    nearest = nearest_fill(depth)  # [h,w] the nearest covered pixel's depth
    own = unit_rgb(frames[k], (h, w))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    patch = (PATCH_PX, PATCH_PX)

    def patch_cost(warped: np.ndarray) -> np.ndarray:
        """``[h,w]`` mean absolute RGB difference over a patch between ``own`` and ``warped`` ``[h,w,3]``."""
        return cv2.blur(channel_mean(np.abs(own - warped)), patch)

    K = pinhole(float(scene.focal[k]), (h, w))
    reach = round(MAX_SHIFT_PX * max(h, w) / 320.0)
    moving_cost = np.full((h, w), np.inf, np.float32)
    static_cost = np.full((h, w), np.inf, np.float32)
    lengths = []
    for j in (k - 1, k + 1):
        other = taken(j) if 0 <= j < t else None
        if other is None:
            continue
        (dx, dy), _ = silhouette_shift(region, other, reach)
        if track_shift is not None and np.hypot(dx, dy) < 0.5 * np.hypot(*track_shift):
            dx, dy = (j - k) * track_shift[0], (j - k) * track_shift[1]  # the outline is anchored at the side
        lengths.append(float(np.hypot(dx, dy)))
        image = unit_rgb(frames[j], (h, w))
        shift = whole_pixel_shifts(image, max(abs(int(dx)), abs(int(dy))) + MOVER_SEARCH_PX)  # one pad per neighbour
        for oy in range(-MOVER_SEARCH_PX, MOVER_SEARCH_PX + 1):
            for ox in range(-MOVER_SEARCH_PX, MOVER_SEARCH_PX + 1):
                np.minimum(moving_cost, patch_cost(shift(dx + ox, dy + oy)), out=moving_cost)
        flow, _ = rigid_flow(nearest, K, np.linalg.inv(scene.cam_to_world[j]) @ scene.cam_to_world[k])
        warped = cv2.remap(
            image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        np.minimum(static_cost, patch_cost(warped), out=static_cost)
    if not lengths:
        return region
    static = region & (static_cost < moving_cost)
    steps = int(border * max(lengths))
    if steps > 0:
        inner = cv2.erode(region.view(np.uint8), np.ones((3, 3), np.uint8), iterations=steps).view(bool)
        static &= ~inner
    return region & ~static


def whole_pixel_shifts(image: np.ndarray, reach: int) -> Callable[[int, int], np.ndarray]:
    """``shift(dx, dy)``: ``image [h,w,C]`` moved by a whole-pixel shift with ``|dx|, |dy| ≤ reach``: pixel ``(y, x)``
    takes ``image`` at ``(y + dy, x + dx)``, clamped to the image — what ``cv2.remap`` with ``INTER_LINEAR`` and
    ``BORDER_REPLICATE`` gives at whole-pixel coordinates (bilinear weights 1, 0, 0, 0: the same values), as a view of
    the image edge-padded once by ``reach`` (one pad for every shift instead of a map and a resampling each)."""
    import cv2

    h, w = image.shape[:2]
    padded = cv2.copyMakeBorder(image, reach, reach, reach, reach, cv2.BORDER_REPLICATE) if reach > 0 else image

    def shift(dx: int, dy: int) -> np.ndarray:
        if max(abs(dx), abs(dy)) > reach:
            raise ValueError(f"shift ({dx}, {dy}) beyond the padding's reach {reach}")
        return padded[reach + dy : reach + dy + h, reach + dx : reach + dx + w]

    return shift


class _Regions:
    """Each frame's big hole regions (:func:`near_hole_depth`), found on demand; the last :data:`KEPT_FRAMES`
    frames' are kept (the passes go through the frames in order)."""

    def __init__(self, depth: np.ndarray, min_area: float) -> None:
        import cv2

        self.depth, self.min_area = depth, min_area
        self.shape = depth.shape[1:]
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.kept: dict[int, list[np.ndarray]] = {}

    def holes(self, k: int) -> np.ndarray:
        """Frame ``k``'s stage-1 holes ``[h,w]`` bool, closed by a 5×5 ellipse."""
        import cv2

        holes = (np.asarray(self.depth[k]) <= 0).view(np.uint8)
        return cv2.morphologyEx(holes, cv2.MORPH_CLOSE, self.kernel).view(bool)

    def __call__(self, k: int) -> list[np.ndarray]:
        """Frame ``k``'s regions, ``[h,w]`` bool each, in label order."""
        import cv2

        if k not in self.kept:
            closed = self.holes(k).view(np.uint8)
            count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
            areas = stats[:, cv2.CC_STAT_AREA]
            self.kept[k] = [labels == i for i in range(1, count) if areas[i] >= self.min_area]
            while len(self.kept) > KEPT_FRAMES:
                del self.kept[next(iter(self.kept))]
        return self.kept[k]


def _one_motion(a: tuple[float, float], b: tuple[float, float], slow: float) -> bool:
    """Whether two consecutive regions' outline parallaxes ``a``, ``b`` (px) can be one object's motion: within half
    the longer one's length of each other, or both under ``slow`` px (neither moves on its own). A fast crossing
    object's hole that merges with a lasting slow hole (the demo's 90-frame close-object clip: frames 29–37 at 13–26
    px a frame, then 38–88 at 1–2 px) would otherwise make one track whose median motion is the slow one's."""
    length = max(float(np.hypot(*a)), float(np.hypot(*b)))
    return length < slow or float(np.hypot(a[0] - b[0], a[1] - b[1])) <= 0.5 * length
