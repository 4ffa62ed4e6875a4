"""Hole filling of the weights-free stage 2 (:class:`~stereodiff.stage2.temporal.TemporalRefiner`, step 2 of its
module docstring): the edge-aware spatial fill of a block of frames (:func:`fill_frames`), the domain-transform
filter it runs (:func:`domain_transform_filter`), and where holes lean to the near side when the camera moves
ahead (:func:`moving_ahead`, :func:`lower_border`).

The fill's inputs that need the flow links between frames — the depth carried into a frame's holes from nearby
frames (``hole_warp_frames``), the independent-motion evidence (``hole_motion_px``) and the nearby frames as each
frame's camera sees them (``hole_smooth_track``, :class:`View`) — are computed by the refiner's per-frame inputs
(``_Inputs.warped``, ``_Inputs.independent_motion``, ``_Inputs.views``) and passed in.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from stereodiff.flow import motion_boundaries
from stereodiff.masks import large_regions, local_span, within
from stereodiff.progress import thread_imap
from stereodiff.stage2.configs import TemporalConfig

__all__ = [
    "FilledFrame",
    "View",
    "background_coloured",
    "box_sums",
    "colour_l1",
    "colour_planes",
    "colour_separation",
    "colour_side",
    "domain_transform_filter",
    "epipoles",
    "far_gate",
    "fill_frames",
    "hole_distance",
    "lower_border",
    "moving_ahead",
    "near_bound",
    "near_motion_boundary",
    "near_pixels",
    "outline_fill",
    "region_motion",
    "region_share",
    "side_likelihood",
    "static_colour_miss",
    "step_direction",
    "step_holes",
    "surface_below",
    "views_colour_cost",
    "views_depth_far_side",
    "views_depth_score",
    "views_far_side",
    "weak_far_points",
    "wide_outline",
]


#: the fill's support above which a pixel always counts as reached (``fill_min_support``'s default; the floor of the
#: holes' own pass)
_SUPPORT_FLOOR = np.float32(1e-6)


class FilledFrame(NamedTuple):
    """One frame after the spatial fill, at the working resolution."""

    estimate: np.ndarray
    """``[h',w']`` float32 log-depth: stage 1's where it is confident, the fill where it is not."""
    weight: np.ndarray
    """``[h',w']`` float32 weight of the estimate in the temporal filter (0 everywhere without stage-1 depth)."""
    has_data: bool
    """The frame has any valid stage-1 depth."""
    floor: np.ndarray | None = None
    """``[h',w']`` float32 log-depth: with ``order``, the holes' fill in its rows (nearer depth than this is refused
    by the temporal filter, ``hole_pull_order``), −inf elsewhere; None without."""
    moving: np.ndarray | None = None
    """``[h',w']`` float32 in [0, 1]: with ``depth_sigma_static`` and ``motion``, each pixel's colour region's share
    of independent motion (1 where the region has no evidence); None otherwise."""
    strict: np.ndarray | None = None
    """``[h',w']`` float32 in [0, 1]: with ``given_veto_px``, the least weight of the temporal filter's agreement
    test (1 on the covered pixels beside a given region, 0 elsewhere); None otherwise."""


class View(NamedTuple):
    """A nearby frame as a frame of the block sees it (``hole_smooth_track``): its colours and the camera's motion
    from the block frame's camera to its own, ``X' = R·X + t`` (the stage-1 depth unit), with the pinhole camera of
    the working resolution."""

    rgb: np.ndarray
    """``[h',w',3]`` float32 RGB in [0, 1] of the nearby frame."""
    rotation: np.ndarray
    """``[3,3]`` float64 ``R``."""
    translation: np.ndarray
    """``[3]`` float64 ``t``."""
    focal: float
    """Focal length (working-resolution pixels)."""
    centre: tuple[float, float]
    """Principal point ``(cx, cy)`` (working-resolution pixels)."""


def fill_frames(
    config: TemporalConfig,
    rgb: np.ndarray,
    log_depth: np.ndarray,
    weight: np.ndarray,
    *,
    carried: tuple[np.ndarray, np.ndarray] | None = None,
    motion: tuple[np.ndarray, np.ndarray] | None = None,
    lean: np.ndarray | None = None,
    farness: float | None = None,
    boundary: np.ndarray | None = None,
    order: np.ndarray | None = None,
    up: bool = False,
    movers: np.ndarray | None = None,
    outline: TemporalConfig | None = None,
    epipole: np.ndarray | None = None,
    views: Sequence[Sequence[View]] | None = None,
) -> list[FilledFrame]:
    """Edge-aware fill of a block of frames in log-depth: each pixel becomes ``w·log d + (1 − w)·fill``, the fill
    being the weighted mean log-depth of its colour region (:func:`domain_transform_filter`); with
    ``hole_nearness``, holes lean toward the soft minimum of their region as far as ``motion`` (or ``lean``) says;
    with ``hole_farness``, toward its soft maximum by the rest; with ``hole_rim_px``, the covered pixels next to a
    hole count less (:func:`rim_trust`); with ``hole_sigma_color`` / ``hole_skip_rim_px`` a
    hole's base is, as far as it does not lean near, the mean of a second pass with its own colour scale and without
    the covered rim (:func:`hole_distance`).

    Args:
        config: the refiner's settings (``fill_*``, ``hole_nearness``, ``fill_weight``; ``fill_min_support``: where a
            pixel counts as unreached and takes the frame's mean; ``fill_min_support_area``: the lower floor only in
            large weakly reached regions, :func:`~stereodiff.masks.large_regions`).
        rgb: ``[n,h',w',3]`` float32 RGB in [0, 1] (the guide).
        log_depth: ``[n,h',w']`` float32 stage-1 log-depth (0 on holes).
        weight: ``[n,h',w']`` float32 stage-1 confidence weight in [0, 1] (0 on holes).
        carried: ``hole_warp_frames``: ``[n,h',w']`` log-depth and trust in [0, 1] carried into the frames' holes
            from nearby frames (trust 0 = nothing); a hole that got some takes it as its stage-1 depth.
        motion: ``hole_motion_px`` (with ``hole_nearness``): ``[n,h',w']`` share of independent motion in [0, 1] and
            ``[n,h',w']`` how much it counts, averaged over each colour region.
        lean: ``[h',w']`` bool where the holes lean fully to the near side (``hole_lean_bottom``), or None.
        farness: the ``hole_farness`` γ to use (``hole_farness_ahead`` for a camera moving ahead); None =
            ``config.hole_farness``.
        boundary: ``hole_far_boundary_px``: ``[n,h',w']`` bool pixels near a motion boundary of the flow (only
            those holes lean far), or None.
        order: ``[h',1]`` bool rows whose holes refuse nearer depth from the temporal filter (``hole_pull_order``
            for a camera moving ahead: the upper half), or None: each frame's ``floor`` is set there.
        up: the camera moves ahead: with ``hole_up_px`` a hole takes the depth of the nearer covered surface
            below it in its column (:func:`surface_below`); with ``hole_near_object`` the depth of the near pixels
            that hold most of its colour region's covered weight (:func:`near_pixels`).
        movers: ``[n,h',w']`` bool the pixels whose depth stage 1's mover rules gave (``hole_outline_mover_px``
            keeps the outline rule away from them; ``hole_mover_away_px`` fills the holes beside them from the
            covered pixels not in it, of a weight ≥ ``hole_mover_away_trust`` when that is set; ``given_fill_px``
            fills the covered pixels beside them from the covered pixels not in it), or None.
        outline: the outline rule's settings (``hole_outline_*``, ``hole_far_edge_px``; :func:`wide_outline` for a
            static video), or None: ``config``'s.
        epipole: ``hole_outline_parallax``: ``[n,3]`` each frame's epipole of the camera's motion (:func:`epipoles`),
            or None (the outline rule without the parallax test).
        views: ``hole_smooth_track``: each frame's nearby frames (:class:`View`, up to ``2·hole_smooth_track`` of
            them), or None (no region of the soft fill is tested).

    Returns:
        One :class:`FilledFrame` per frame. The block's smoothing and then each frame's fill run on
        ``config.num_workers`` threads (each frame on its own: the same values from any number).
    """
    farness = config.hole_farness if farness is None else farness
    outline = config if outline is None else outline
    log_d = log_depth
    took: np.ndarray | None = None  # [n,h',w'] bool the holes that took carried depth (``hole_up_carried``)
    if carried is not None:  # holes seen (covered) in nearby frames: their depth, carried with the camera's motion
        log_d, weight = log_depth.copy(), weight.copy()
        took = np.zeros(weight.shape, bool) if config.hole_up_carried else None
        for i, (warped, trust) in enumerate(zip(*carried)):
            take = (weight[i] == 0) & (trust > 0)
            log_d[i], weight[i] = np.where(take, warped, log_d[i]), np.where(take, trust, weight[i])
            if took is not None:
                took[i] = take
    if up and config.fill_weak_far > 0:  # weak far points on a nearer confident surface: holes of the fill
        drop = weak_far_points(config, rgb, log_d, weight)  # [n,h',w']
        log_d, weight = np.where(drop, 0.0, log_d).astype(np.float32), np.where(drop, 0.0, weight).astype(np.float32)
        if took is not None:
            took &= ~drop
    # edge-aware fill in log-depth: weighted mean of the colour region around each pixel
    fill_w = np.where(weight > 0, np.maximum(weight, config.fill_floor), 0.0).astype(np.float32)
    if config.hole_rim_px > 0:  # the covered rim of the holes: trusted as far as it is from them
        rim = rim_trust(weight > 0, config.hole_rim_px)  # [n,h',w']
        fill_w, weight = fill_w * rim, weight * rim
    channels = [fill_w * log_d, fill_w]
    if config.hole_nearness > 0:  # soft-min channel, shifted by the block's nearest log-depth (no overflow)
        bottom = float(log_d[weight > 0].min()) if (weight > 0).any() else 0.0
        # invalid pixels hold log_d = 0, possibly below `bottom`: clamp so that 0 · exp(…) stays 0
        channels.append(fill_w * np.exp(-config.hole_nearness * np.maximum(log_d - bottom, 0.0)))
        if motion is not None:  # independent-motion evidence, averaged over each colour region
            share, counts = motion
            channels += [counts * share, counts]
    away_at = len(channels)
    scene: np.ndarray | None = None  # [n,h',w'] bool the background side beside a mover (``hole_mover_away_px``)
    if config.hole_mover_away_px > 0 and movers is not None:  # the fill without the given movers' pixels
        # with ``hole_mover_away_trust``, nor a mover's own unflagged pixels: stage 1 barely trusts their depth
        trust = config.hole_mover_away_trust
        scene = ((weight >= trust) if trust > 0 else (weight > 0)) & ~movers
        behind = fill_w * scene
        channels += [behind * log_d, behind]
    apart_at = len(channels)
    apart_on = config.given_fill_px > 0 and movers is not None
    if apart_on:  # the fill of the covered pixels not given
        apart = fill_w * ~movers
        channels += [apart * log_d, apart]
    near_at = len(channels)
    near_on = up and config.hole_near_object > 0
    near_planes: list[np.ndarray] = []  # the near covered pixels' weighted sum and weight, and every covered one's
    if near_on:  # the fill of the near covered pixels alone (``hole_near_object``)
        near_w = fill_w * near_pixels(log_d, weight, config.hole_near_object)
        near_planes = [near_w * log_d, near_w, fill_w]
        if not config.hole_near_object_colour:  # two more channels of the one pass
            channels += near_planes[:2]
    far_at = len(channels)
    if farness > 0:  # soft-max channel, shifted by the block's farthest log-depth (no overflow)
        top = float(log_d[weight > 0].max()) if (weight > 0).any() else 0.0
        channels.append(fill_w * np.exp(farness * np.minimum(log_d - top, 0.0)))

    def smooth(planes: list[np.ndarray], sigma_color: float) -> np.ndarray:  # [n,C,h',w'], rgb as the guide
        return domain_transform_filter(
            planes,
            rgb,
            sigma_s=config.fill_sigma_px,
            sigma_r=sigma_color,
            iterations=config.fill_iterations,
            num_workers=config.num_workers,
        )

    # [n,h',w'] each covered pixel's distance to its frame's nearest hole: the far side test's
    to_hole = hole_distance(weight > 0) if config.hole_far_side else None
    own_planes = None  # the holes' own fill: a softer colour edge, the covered rim left out
    if config.hole_sigma_color > 0 or config.hole_skip_rim_px > 0 or config.hole_smooth_color > 0:
        own_w = fill_w
        if config.hole_skip_rim_px > 0:  # farther than the rim from every hole
            own_w = fill_w * ~np.stack([within(~covered, config.hole_skip_rim_px) for covered in weight > 0])
        own_planes = [own_w * log_d, own_w]
    own_sigma = config.hole_sigma_color or config.fill_sigma_color
    folded = own_planes is not None and own_sigma == config.fill_sigma_color  # two more channels of the one pass
    smoothed = smooth((channels + own_planes) if folded else channels, config.fill_sigma_color)
    own = None  # [n,2,h',w'] the holes' own weighted sum and weight
    if own_planes is not None:
        own = smoothed[:, -2:] if folded else smooth(own_planes, own_sigma)
    soft = smooth(own_planes, config.hole_smooth_color) if config.hole_smooth_color > 0 else None  # [n,2,h',w']
    if near_on:  # [n,3,h',w'] the near pixels' sum and weight, the covered weight of the hole's colour region
        near_smoothed = (
            smooth(near_planes, config.hole_near_object_colour)
            if config.hole_near_object_colour
            else np.concatenate([smoothed[:, near_at : near_at + 2], smoothed[:, 1:2]], axis=1)
        )
    reach = np.float32(config.fill_min_support)
    weak = reach < _SUPPORT_FLOOR  # pixels reached only under the usual floor count (``fill_min_support``)

    def fill_one(i: int) -> FilledFrame:  # frame i of the block (reads its own planes only)
        has_data = bool(weight[i].max() > 0)
        mean = float((weight[i] * log_d[i]).sum() / max(float(weight[i].sum()), 1e-12))
        reached = smoothed[i, 1] > reach  # the colour region brought some covered pixel's weight here
        if weak:
            strong = smoothed[i, 1] > _SUPPORT_FLOOR
            if config.fill_min_support_area > 0:  # the lower floor only in large weakly reached regions
                reached = strong | large_regions(reached & ~strong, config.fill_min_support_area * reached.size)
        norm = np.maximum(smoothed[i, 1], reach)
        fill = np.where(reached, smoothed[i, 0] / norm, mean)  # unreached: the frame's mean
        if weak and config.fill_weak_nearer:  # weakly reached: never farther than the mean
            fill = np.where(reached & ~strong, np.minimum(fill, mean), fill)
        if apart_on and movers[i].any():  # covered pixels beside a given region: the fill without it
            beside = (weight[i] > 0) & ~movers[i] & within(movers[i], config.given_fill_px)
            beside &= smoothed[i, apart_at + 1] > reach  # the colour region brought a pixel not given here
            fill = np.where(beside, smoothed[i, apart_at] / np.maximum(smoothed[i, apart_at + 1], reach), fill)
        share = np.float32(0.0)  # how far each hole leans to the near side
        if config.hole_nearness > 0:  # holes: toward the soft minimum of their region (never farther)
            near = bottom - np.log(np.maximum(smoothed[i, 2] / norm, 1e-30)) / config.hole_nearness
            share = np.float32(1.0)
            if motion is not None:  # as much as the hole's colour region moves on its own
                share = smoothed[i, 3] / np.maximum(smoothed[i, 4], 1e-6)
            if lean is not None:  # near scenery entering at the lower border: fully
                share = np.maximum(share, lean)
        region = None  # [h',w'] the colour regions' share of independent motion, where a rule reads it
        if own is not None:  # static holes: the mean of their own fill where it reached covered pixels
            hole = (weight[i] == 0) & (own[i, 1] > _SUPPORT_FLOOR)  # below it only leaks across edges
            own_fill = own[i, 0] / np.maximum(own[i, 1], _SUPPORT_FLOOR)
            if soft is not None:  # inside a smooth surface: the soft colour edge's mean
                evidence = config.hole_smooth_static > 0 and config.hole_nearness > 0 and motion is not None
                region = region_motion(smoothed[i, 3], smoothed[i, 4]) if evidence else None  # channels 3 and 4
                tracked = None if views is None else (rgb[i], views[i])
                own_fill, hole = smooth_surface_fill(
                    config, weight[i] > 0, log_d[i], soft[i], own_fill, hole, region, tracked
                )
            fill = np.where(hole, fill + (1 - share) * (own_fill - fill), fill)
        own_weight = weight[i]  # [h',w'] the weight of stage 1's depth in the estimate
        if config.hole_outline_px > 0:  # an outline band's holes: the side their colour belongs to
            away = None if movers is None else movers[i]
            toward = None if epipole is None else epipole[i]
            fill, moved = outline_fill(outline, weight[i] > 0, log_d[i], rgb[i], fill, away, toward)
            own_weight = np.where(moved, np.float32(0.0), own_weight)  # a fattened rim pixel: a hole now
        if config.hole_nearness > 0:
            fill = np.where((weight[i] == 0) & reached, fill + share * np.minimum(near - fill, 0.0), fill)
        away_floor = None  # [h',w'] the background fill of the holes beside a mover, −inf elsewhere
        if scene is not None and movers[i].any():  # static holes beside a given mover: from the background side
            holes = (weight[i] == 0) & ~movers[i]
            outside = holes & within(movers[i], config.hole_mover_away_px)
            at = np.nonzero(outside)
            outside[at] = background_coloured(rgb[i], movers[i], scene[i], config.hole_mover_away_px, at)
            if config.hole_mover_away_step > 0:  # beside a far nearer given region: the background's
                outside |= step_holes(config, rgb[i], log_d[i], movers[i], scene[i], holes)
            behind = smoothed[i, away_at + 1] > reach  # the colour region brought a background pixel's weight here
            background = smoothed[i, away_at] / np.maximum(smoothed[i, away_at + 1], reach)
            fill = np.where(outside & behind, background, fill)
            away_floor = np.where(outside & behind, background, -np.inf).astype(np.float32)  # [h',w']
        if farness > 0:  # static holes: toward the soft maximum of their region (never nearer)
            far = top + np.log(np.maximum(smoothed[i, far_at] / norm, 1e-30)) / farness
            gate, cap = far_gate(config, weight[i] > 0, log_d[i], None if to_hole is None else to_hole[i], rgb[i])
            far = np.minimum(far, cap)
            leans = (weight[i] == 0) & reached & gate
            if boundary is not None:  # only near a motion boundary of the flow (``hole_far_boundary_px``)
                leans &= boundary[i]
            fill = np.where(leans, fill + (1 - share) * np.maximum(far - fill, 0.0), fill)
        if up and config.hole_up_px > 0:  # the nearer surface below continues upward through its own colour
            guess = took[i] if took is not None else np.zeros(weight[i].shape, bool)  # carried: not a stop
            if config.hole_up_trust > 0:
                trusted = (weight[i] >= config.hole_up_trust) & ~guess
                stops = trusted | ((weight[i] == 0) & lean) if lean is not None else trusted
                source = np.where(trusted, log_d[i], fill).astype(np.float32)
                eligible = ~trusted
            else:
                stops = (weight[i] > 0) & ~guess
                source, eligible = log_d[i], ~stops
            below, reached_below = surface_below(source, stops, rgb[i], config.hole_up_px, config.hole_up_colour)
            upward = eligible & reached_below & (below < np.where(guess, log_d[i], fill))
            bound = near_bound(log_d[i], weight[i], config.hole_up_near) if config.hole_up_near < 1 else None
            if bound is not None:  # only a near surface below
                upward &= below <= bound
            fill = np.where(upward, below, fill)
            own_weight = np.where(upward & guess, np.float32(0.0), own_weight)  # the carried depth gives way
        if near_on:  # a hole whose colour region is mostly a near object's covered pixels takes their depth
            near_sum, near_weight, covered_weight = near_smoothed[i]
            object_depth = near_sum / np.maximum(near_weight, _SUPPORT_FLOOR)
            mostly = near_weight >= config.hole_near_object_share * np.maximum(covered_weight, reach)
            seen = reached if not config.hole_near_object_colour else covered_weight > _SUPPORT_FLOOR
            take = (weight[i] == 0) & seen & mostly & (object_depth < fill)
            fill = np.where(take if lean is None else take & ~lean, object_depth, fill)
        moving = None
        if config.depth_sigma_static > 0 and motion is not None:  # the temporal filter's strictness, per region
            moving = region if region is not None else region_motion(smoothed[i, 3], smoothed[i, 4])
        floor = None
        if order is not None:  # the flow may bring farther depth to these rows' holes, not nearer
            floor = np.where((weight[i] == 0) & order, fill, -np.inf).astype(np.float32)  # [h',w']
        if away_floor is not None:  # nor a nearer depth (the mover's, along the flow) to the holes beside a mover
            floor = away_floor if floor is None else np.maximum(floor, away_floor)
        strict = None
        if config.given_veto_px > 0 and movers is not None and movers[i].any():  # the filter's test: strict there
            strict = ((weight[i] > 0) & ~movers[i] & within(movers[i], config.given_veto_px)).astype(np.float32)
        return FilledFrame(
            estimate=(own_weight * log_d[i] + (1 - own_weight) * fill).astype(np.float32),  # [h',w']
            weight=np.maximum(own_weight, config.fill_weight) * np.float32(has_data),  # [h',w']
            has_data=has_data,
            floor=floor,
            moving=moving,
            strict=strict,
        )

    return list(thread_imap(fill_one, range(len(log_d)), config.num_workers))


def weak_far_points(config: TemporalConfig, rgb: np.ndarray, log_depth: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``fill_weak_far``: ``[n,h',w']`` bool the pixels of a weight in (0, ``fill_weak_far``) whose log-depth lies
    more than ``fill_weak_far_margin`` beyond the weighted mean log-depth of their colour region's pixels of a weight
    at least ``fill_weak_far`` (the fill's domain transform, ``rgb`` ``[n,h',w',3]`` in [0, 1] as the guide;
    ``log_depth``, ``weight`` ``[n,h',w']``, 0 on holes), that mean being near: at most the ``fill_weak_far_near``
    quantile of the frame's confident log-depth (:func:`near_bound`); False where the region reaches no such
    pixel."""
    strong = np.where(weight >= config.fill_weak_far, weight, 0.0).astype(np.float32)
    sums = domain_transform_filter(
        [strong * log_depth, strong],
        rgb,
        sigma_s=config.fill_sigma_px,
        sigma_r=config.fill_sigma_color,
        iterations=config.fill_iterations,
        num_workers=config.num_workers,
    )  # [n,2,h',w']
    mean = sums[:, 0] / np.maximum(sums[:, 1], _SUPPORT_FLOOR)
    weak = (weight > 0) & (weight < config.fill_weak_far) & (sums[:, 1] > _SUPPORT_FLOOR)
    if config.fill_weak_far_near < 1:  # only on a near surface
        bounds = [near_bound(d, w, config.fill_weak_far_near) for d, w in zip(log_depth, weight)]
        weak &= mean <= np.array([np.inf if b is None else b for b in bounds], np.float32)[:, None, None]
    return weak & (log_depth > mean + config.fill_weak_far_margin)


def near_bound(log_depth: np.ndarray, weight: np.ndarray, quantile: float) -> float | None:
    """The ``quantile`` of a frame's confident (weight ≥ ½) log-depth (``log_depth``, ``weight`` ``[h',w']``): how
    far a surface among the frame's nearest may be (``hole_up_near``, ``hole_near_object``); None without confident
    pixels."""
    confident = weight >= 0.5
    return float(np.quantile(log_depth[confident], quantile)) if confident.any() else None


def near_pixels(log_depth: np.ndarray, weight: np.ndarray, quantile: float) -> np.ndarray:
    """``[n,h',w']`` float32 1 on each frame's near covered pixels: at most as far as its :func:`near_bound`
    (``log_depth``, ``weight`` ``[n,h',w']``; ``hole_near_object``); 0 elsewhere and in a frame without confident
    pixels."""
    near = np.zeros(log_depth.shape, np.float32)
    for i, (frame, w) in enumerate(zip(log_depth, weight)):
        bound = near_bound(frame, w, quantile)
        if bound is not None:
            near[i] = (w > 0) & (frame <= bound)
    return near


#: evidence weight (texture-weighted pixels of a colour region) of the prior that a region moves on its own:
#: a region without evidence counts as moving (the temporal filter stays as loose as ``depth_sigma``)
_MOTION_PRIOR = np.float32(0.01)


#: ``hole_mover_away_px``: a hole beside a mover is the background's when its colour lies nearer the background's
#: local mean than this times its distance to the mover's (indoor-dynamic s690 with ``movers_up_holes``: 1.0 takes
#: 13 % of her own unflagged holes within 10 px of her given pixels to the background, final 0.0421; 0.5: 0.0413)
AWAY_COLOUR_RATIO = 0.5


def background_coloured(
    rgb: np.ndarray,
    movers: np.ndarray,
    background: np.ndarray,
    reach_px: float,
    at: tuple[np.ndarray, np.ndarray],
    ratio: float = AWAY_COLOUR_RATIO,
) -> np.ndarray:
    """``[n]`` bool (``hole_mover_away_px``) at the pixels ``at`` (``(rows, cols)``, ``[n]`` each): their ``rgb``
    ``[h,w,3]`` lies nearer (L1) the mean colour of the ``background`` ``[h,w]`` bool pixels within a square of
    half-size ``reach_px`` than ``ratio`` times its distance to that of the ``movers`` ``[h,w]`` bool pixels there
    (or they have background pixels and no mover pixels around): a hole beside a mover that clearly looks like the
    scene behind it rather than like the mover's own unflagged part."""
    planes = colour_planes(rgb)[..., :4]  # [h,w,4] 1, rgb
    radius = math.floor(reach_px)
    colour = rgb[at]  # [n,3]

    def distance(member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # [n] L1 to member's mean colour, [n] any
        sums = box_sums(planes, member.astype(np.float32), radius, at)  # [n,4]
        return colour_l1(colour - sums[:, 1:] / np.maximum(sums[:, :1], 1e-6)), sums[:, 0] > 0.5

    to_mover, has_mover = distance(movers)
    to_scene, has_scene = distance(background)
    return has_scene & (~has_mover | (to_scene < ratio * to_mover))


def depth_step(
    log_depth: np.ndarray,
    movers: np.ndarray,
    background: np.ndarray,
    reach_px: float,
    at: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """``[n]`` float32 (``hole_mover_away_step``) at the pixels ``at`` (``(rows, cols)``, ``[n]`` each): the mean
    ``log_depth`` ``[h,w]`` of the ``background`` ``[h,w]`` bool pixels within a square of half-size ``reach_px``
    minus that of the ``movers`` ``[h,w]`` bool pixels there (log units: how far the scene beside a given mover lies
    beyond it); −inf where the square holds no pixel of one of the two."""
    planes = np.stack([np.ones_like(log_depth), log_depth], axis=-1).astype(np.float32)  # [h,w,2] 1, log-depth
    radius = math.floor(reach_px)
    scene = box_sums(planes, background.astype(np.float32), radius, at)  # [n,2]
    mover = box_sums(planes, movers.astype(np.float32), radius, at)
    both = (scene[:, 0] > 0.5) & (mover[:, 0] > 0.5)
    step = scene[:, 1] / np.maximum(scene[:, 0], 1e-6) - mover[:, 1] / np.maximum(mover[:, 0], 1e-6)
    return np.where(both, step, -np.inf).astype(np.float32)


def step_holes(
    config: TemporalConfig,
    rgb: np.ndarray,
    log_depth: np.ndarray,
    movers: np.ndarray,
    background: np.ndarray,
    holes: np.ndarray,
) -> np.ndarray:
    """``[h,w]`` bool (``hole_mover_away_step``): the ``holes`` ``[h,w]`` bool within ``hole_mover_away_step_px``
    (else ``hole_mover_away_px``) of a ``movers`` ``[h,w]`` bool pixel where the mean ``log_depth`` ``[h,w]`` of the
    ``background`` ``[h,w]`` bool pixels in their square of that half-size lies at least ``hole_mover_away_step``
    beyond the movers' there (:func:`depth_step`), and, with ``hole_mover_away_step_colour``, whose ``rgb``
    ``[h,w,3]`` colour is nearer the background's there by that ratio (:func:`background_coloured`)."""
    reach = config.hole_mover_away_step_px or config.hole_mover_away_px
    taken = holes & within(movers, reach)
    at = np.nonzero(taken)
    far = depth_step(log_depth, movers, background, reach, at) >= config.hole_mover_away_step
    if config.hole_mover_away_step_colour > 0:  # ... unless coloured like the given region
        far &= background_coloured(rgb, movers, background, reach, at, config.hole_mover_away_step_colour)
    taken[at] = far
    return taken


def region_motion(moving_evidence: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    """``[h,w]`` float32 share of independent motion in [0, 1] of each pixel's colour region, from the region's
    smoothed ``moving_evidence`` (Σ counts·share) and ``evidence`` (Σ counts), both ``[h,w]``: their ratio, pulled
    toward 1 (moving) by a prior of :data:`_MOTION_PRIOR` counts where the evidence is thin."""
    share = (moving_evidence + _MOTION_PRIOR) / (evidence + _MOTION_PRIOR)
    return np.clip(share, 0.0, 1.0).astype(np.float32)


def far_gate(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    to_hole: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
) -> tuple[np.ndarray | bool, np.ndarray]:
    """The pixels of one frame whose holes may lean far (``hole_far_band_px``, ``hole_far_edge``,
    ``hole_far_side``, ``hole_far_colour_px``; ``[h,w]`` bool, True when no gate is set) and the cap of their far
    target (``hole_far_local``: ``[h,w]`` float32 the farthest covered log-depth in the square of half-size
    ``hole_far_edge_px``; +inf without), from ``covered [h,w]`` bool and stage 1's ``log_depth [h,w]`` float32;
    ``to_hole`` ``[h,w]``: :func:`hole_distance` of ``covered`` when the caller has it (computed here otherwise);
    ``rgb`` ``[h,w,3]`` float32 in [0, 1]: the frame (needed by ``hole_far_colour_px``)."""

    from stereodiff.stage1.fusion import nearest_values

    gate: np.ndarray | bool = True
    cap = np.full(covered.shape, np.inf, np.float32)
    if not covered.any():
        return gate, cap
    if config.hole_far_band_px > 0:  # a thin band beside covered pixels, not a wide hole's interior
        gate = gate & within(covered, config.hole_far_band_px)  # near a covered pixel
    sided = config.hole_far_side or config.hole_far_colour_px > 0
    if config.hole_far_edge > 0 or config.hole_far_local or sided:  # the covered depth around it
        hi, lo = local_span(covered, log_depth, config.hole_far_edge_px)
        if config.hole_far_edge > 0:  # a depth step of the covered depth
            gate = gate & (hi - lo >= config.hole_far_edge) & (hi > -1e8)
        if config.hole_far_local:  # no farther than the local far side
            cap = np.where(hi > -1e8, hi, np.inf).astype(np.float32)
        if config.hole_far_side:  # the nearest covered pixel beyond the rim lies on the far half of the step
            to_hole = hole_distance(covered[None])[0] if to_hole is None else to_hole
            beyond_rim = covered & (to_hole > config.hole_skip_rim_px)
            gate = gate & (nearest_values(beyond_rim, log_depth, empty=-np.inf) > (hi + lo) / 2)
        if config.hole_far_colour_px > 0:  # the hole's colour is the far half's, not the near half's
            if rgb is None:
                raise ValueError("hole_far_colour_px needs the frame's colours")
            rows, cols = np.nonzero(~covered & gate & (hi > -1e8))
            far = np.zeros(covered.shape, bool)
            far[rows, cols] = colour_side(
                rgb,
                covered,
                log_depth,
                (hi[rows, cols] + lo[rows, cols]) / 2,
                (rows, cols),
                config.hole_far_colour_px,
                config.hole_far_colour_model,
            )
            gate = gate & far
    return gate, cap


def smooth_surface_fill(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    soft: np.ndarray,
    own_fill: np.ndarray,
    own_hole: np.ndarray,
    moving: np.ndarray | None = None,
    tracked: tuple[np.ndarray, Sequence[View]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``hole_smooth_color`` in one frame: the holes' own fill ``own_fill [h,w]`` float32 (log-depth) with the soft
    pass's mean (``soft [2,h,w]``: its weighted sum and weight) where a hole lies inside a smooth surface — the
    covered log-depth (``covered [h,w]`` bool, ``log_depth [h,w]`` float32) in its square of half-size
    ``hole_smooth_px`` spans less than ``hole_smooth_step`` and the soft pass reached a covered pixel — and, with
    ``hole_smooth_static``, its colour region's share of independent motion (``moving [h,w]`` float32 in [0, 1],
    :func:`region_motion`; None = no evidence: every region counts as moving) is below that; with
    ``hole_smooth_track`` and ``tracked`` (the frame's ``[h,w,3]`` float32 RGB in [0, 1] and its nearby frames,
    :class:`View`), each connected region of those holes takes it only when at most ``hole_smooth_track_share`` of
    its pixels carried into the nearby frames as a static surface at the soft fill's depth land on another colour
    (:func:`static_colour_miss`, :func:`region_share`); and the holes that take the own fill (``own_hole [h,w]``
    bool, widened by those). Returns both."""
    hi, lo = local_span(covered, log_depth, config.hole_smooth_px)
    step = (hi > -1e8) & (hi - lo >= config.hole_smooth_step)  # beside a depth step of the covered depth
    inside = ~covered & ~step & (soft[1] > _SUPPORT_FLOOR)
    if config.hole_smooth_min_px > 0:  # a deep hole, not a thin band beside covered pixels
        inside &= ~within(covered, config.hole_smooth_min_px)
    if config.hole_smooth_static > 0:  # evidence that the hole's colour region is static, not a mover's
        inside &= moving < config.hole_smooth_static if moving is not None else False
    soft_fill = soft[0] / np.maximum(soft[1], _SUPPORT_FLOOR)
    if config.hole_smooth_track > 0 and tracked is not None and inside.any():  # does the region move on its own?
        rgb, views = tracked
        miss, seen = static_colour_miss(rgb, soft_fill, views, config.hole_smooth_track_colour, inside)
        inside &= region_share(inside, miss, seen) <= config.hole_smooth_track_share
    return np.where(inside, soft_fill, own_fill).astype(np.float32), own_hole | inside


#: points per row of the image of points :func:`static_colour_miss` samples (cv2.remap takes fewer than 2¹⁵ rows)
_REMAP_ROW = 256


def static_colour_miss(
    rgb: np.ndarray, log_depth: np.ndarray, views: Sequence[View], colour: float, at: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each pixel of a frame is where the camera's motion would carry it if it were a static surface at
    ``log_depth``: the pixel (``rgb [h,w,3]`` float32 in [0, 1], ``log_depth [h,w]`` float32 in the views' depth
    unit) lifted to 3D, moved into each nearby frame's camera (:class:`View`) and projected; its colour there
    (bilinear) differs by more than ``colour`` (RGB summed over channels) or not. A static region lands on itself
    (only its rim can miss, by the depth's or the motion's error); a region that moves on its own — an untextured
    mover, whose outline does not follow the camera — leaves the background's colour at its carried place.

    Returns ``[h,w]`` float32 the number of views in which the pixel lands on another colour and ``[h,w]`` float32
    the number in which it lands inside the view (in front of its camera); with ``at`` (``[h,w]`` bool) only those
    pixels are carried (0 elsewhere)."""
    import cv2

    h, w = log_depth.shape
    miss = np.zeros((h, w), np.float32)
    seen = np.zeros((h, w), np.float32)
    rows, cols = np.nonzero(np.ones((h, w), bool) if at is None else at)
    if not len(rows) or not views:
        return miss, seen
    depth = np.exp(log_depth[rows, cols].astype(np.float32))  # [N]
    own = rgb[rows, cols]  # [N,3]
    col_px, row_px = cols.astype(np.float32), rows.astype(np.float32)
    pad = -(-len(rows) // _REMAP_ROW) * _REMAP_ROW
    missed = np.zeros(len(rows), np.float32)
    landed = np.zeros(len(rows), np.float32)
    for view in views:
        x = (col_px - np.float32(view.centre[0])) * (depth / np.float32(view.focal))  # [N] the frame's camera
        y = (row_px - np.float32(view.centre[1])) * (depth / np.float32(view.focal))
        r, t = view.rotation.astype(np.float32), view.translation.astype(np.float32)
        z_there = r[2, 0] * x + r[2, 1] * y + r[2, 2] * depth + t[2]  # [N] in the view's camera
        ahead = z_there > 1e-6 * depth
        scale = np.float32(view.focal) / np.where(ahead, z_there, np.float32(1.0))
        u = (r[0, 0] * x + r[0, 1] * y + r[0, 2] * depth + t[0]) * scale + np.float32(view.centre[0])
        v = (r[1, 0] * x + r[1, 1] * y + r[1, 2] * depth + t[1]) * scale + np.float32(view.centre[1])
        lands = ahead & (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
        maps = np.zeros((2, pad), np.float32)  # the points as a [pad/_REMAP_ROW, _REMAP_ROW] image (cv2's limits)
        maps[0, : len(u)], maps[1, : len(v)] = u, v
        there = cv2.remap(view.rgb, *(m.reshape(-1, _REMAP_ROW) for m in maps), cv2.INTER_LINEAR)
        missed += lands & (colour_l1(there.reshape(-1, 3)[: len(u)] - own) > colour)  # [N]
        landed += lands
    miss[rows, cols], seen[rows, cols] = missed, landed
    return miss, seen


def region_share(region: np.ndarray, miss: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """``[h,w]`` float32: each pixel of ``region`` (``[h,w]`` bool) given its connected region's (8-connected)
    ``Σ miss / Σ seen`` (``[h,w]`` float32 each, :func:`static_colour_miss`); 1 where the region's ``seen`` sums to
    0 (never carried into a view: no evidence that it is static) and outside ``region``."""
    import cv2

    count, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    at = labels[region]
    missed = np.bincount(at, weights=miss[region], minlength=count)
    landed = np.bincount(at, weights=seen[region], minlength=count)
    share = np.where(landed > 0, missed / np.maximum(landed, 1e-12), 1.0).astype(np.float32)  # [count]
    share[0] = 1.0  # outside the region
    return share[labels]


def wide_outline(config: TemporalConfig) -> TemporalConfig:
    """``config`` with the outline rule's band, square and step set to their wide values for a static video
    (``hole_outline_wide_band_px``, ``hole_outline_wide_edge_px``, ``hole_outline_wide_step``; 0 keeps a value) —
    the settings :func:`outline_fill` then reads; ``config`` itself when the option is off."""
    if config.hole_outline_wide_band_px <= 0:
        return config
    return dataclasses.replace(
        config,
        hole_outline_band_px=config.hole_outline_wide_band_px,
        hole_far_edge_px=config.hole_outline_wide_edge_px or config.hole_far_edge_px,
        hole_outline_step=config.hole_outline_wide_step or config.hole_outline_step,
    )


def outline_fill(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    rgb: np.ndarray,
    fill: np.ndarray,
    movers: np.ndarray | None = None,
    epipole: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The fill of one frame with its outline bands' holes moved to the side their colour belongs to
    (``hole_outline_px``), from ``covered [h,w]`` bool, stage 1's ``log_depth [h,w]`` float32, the frame's
    ``rgb [h,w,3]`` float32 in [0, 1] and the ``fill [h,w]`` float32 log-depth. The outline band: the holes within
    ``hole_outline_band_px`` of a covered pixel whose square of half-size ``hole_far_edge_px`` holds covered
    log-depth spanning at least ``hole_outline_step``. Each covered pixel in such a square belongs to the far side
    when its log-depth lies above the middle of its own square's span, else to the near side; each side's colour is
    a Gaussian per channel (:func:`side_likelihood`) over the square of half-size ``hole_outline_px``. A band hole
    whose colour is likelier under the far side's model than under the near side's and whose fill lies on the near
    half of its square's span takes the square's farthest covered log-depth (the local far side,
    :func:`local_span`). With ``hole_outline_rim_px``, the covered pixels that close to a hole on the near half of
    the span whose colour is the far side's are taken as the matcher's fattened foreground: they take the local far
    side too, as holes. With ``hole_outline_mover_px`` and ``movers`` (``[h,w]`` bool, the pixels whose depth stage
    1's mover rules gave), nothing within that distance of them moves. With ``hole_outline_span_px``, the band holes'
    square, step, sides and far target are of that half-size (the rim keeps ``hole_far_edge_px``'s); with
    ``hole_outline_far_mean``, a moved pixel takes its side's mean covered log-depth in its colour square instead of
    the span's farthest. With ``hole_outline_parallax`` and the frame's ``epipole`` (``[3]``, :func:`epipoles`), only
    the pixels whose step runs along the parallax (:func:`step_direction`) move. Returns ``[h,w]`` float32 the fill
    and ``[h,w]`` bool the covered pixels so moved."""
    import cv2

    moved = np.zeros(covered.shape, bool)
    if not covered.any() or covered.all():
        return fill, moved
    hi, step, middle = _step_span(covered, log_depth, config.hole_far_edge_px, config.hole_outline_step)
    band_hi, band_step, band_middle = hi, step, middle  # the band holes' span: a wider square with the option
    if config.hole_outline_span_px > 0:
        band_hi, band_step, band_middle = _step_span(
            covered, log_depth, config.hole_outline_span_px, config.hole_outline_step
        )
    band = ~covered & band_step & within(covered, config.hole_outline_band_px) & (fill < band_middle)
    rim = np.zeros(covered.shape, bool)
    if config.hole_outline_rim_px > 0:  # the covered rim's near-half pixels: the matcher's fattened foreground?
        rim = covered & step & (log_depth <= middle) & within(~covered, config.hole_outline_rim_px)
    if not (band.any() or rim.any()):
        return fill, moved
    far_side, near_side = _sides(covered, log_depth, step, middle)
    at = np.nonzero(band | rim)
    h, w = covered.shape
    small = (max(w // _OUTLINE_SCALE, 1), max(h // _OUTLINE_SCALE, 1))  # the colour models' grid (cv2's w, h)
    planes = colour_planes(cv2.resize(rgb, small, interpolation=cv2.INTER_AREA))  # [h/s,w/s,7]
    there = tuple(np.minimum(a // _OUTLINE_SCALE, n - 1) for a, n in zip(at, small[::-1]))
    radius = max(round(config.hole_outline_px / _OUTLINE_SCALE), 1)

    def sums(member: np.ndarray) -> np.ndarray:  # [n,7] box sums of member's colour planes
        share = cv2.resize(member.astype(np.float32), small, interpolation=cv2.INTER_AREA)  # [h/s,w/s]
        return box_sums(planes, share, radius, there)

    far_sums, near_sums = sums(far_side), sums(near_side)  # [n,7] each
    if config.hole_outline_span_px > 0:  # the band holes' sides: of the wider square's span
        wide_far, wide_near = _sides(covered, log_depth, band_step, band_middle)
        on_band = band[at][:, None]  # [n,1]
        far_sums = np.where(on_band, sums(wide_far), far_sums)
        near_sums = np.where(on_band, sums(wide_near), near_sums)
    far_model, near_model = _side_gaussian(far_sums), _side_gaussian(near_sums)
    if config.hole_outline_separation > 0:  # the frame's two sides must differ in colour
        separation = colour_separation(far_model, near_model)
        separation = separation[~np.isnan(separation)]  # np.nanmedian's value, without its masked-array path
        if not (separation.size and np.median(separation) >= config.hole_outline_separation):  # no pixel: off
            return fill, moved
    far_side_colour = np.zeros(covered.shape, bool)  # [h,w] the far side's model explains the colour better
    far_side_colour[at] = side_likelihood(far_model, rgb[at]) > side_likelihood(near_model, rgb[at])  # NaN: False
    far, moved = band & far_side_colour, rim & far_side_colour
    if config.hole_outline_mover_px > 0 and movers is not None and movers.any():  # a mover's outline: not static
        static = ~within(movers, config.hole_outline_mover_px)  # farther than that from a given pixel
        far, moved = far & static, moved & static  # after the frame's separation test: it judges all its outlines
    if config.hole_outline_parallax > 0 and epipole is not None:  # a step a disocclusion can open
        across = step_direction(far_side, near_side, at, config.hole_far_edge_px)  # [n,2]
        if config.hole_outline_span_px > 0:
            across = np.where(on_band, step_direction(wide_far, wide_near, at, config.hole_outline_span_px), across)
        along = np.zeros(covered.shape, bool)
        along[at] = parallax_cosine(across, epipole, at) >= config.hole_outline_parallax  # NaN: False
        far, moved = far & along, moved & along
    target = np.where(band, band_hi, hi)
    if config.hole_outline_far_mean:  # the far side's mean log-depth in the colour square, not the span's farthest
        depth_sum = side_depth_sum(far_side, log_depth, small, radius, there)  # [n]
        if config.hole_outline_span_px > 0:
            depth_sum = np.where(on_band[:, 0], side_depth_sum(wide_far, log_depth, small, radius, there), depth_sum)
        count = far_sums[:, 0]  # [n] the far side's pixels (at the models' grid) in the square
        target[at] = np.where(count > 0.25, depth_sum / np.maximum(count, 0.25), target[at])
    return np.where(far | moved, target, fill).astype(np.float32), moved


def nearest_after_filter(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    epipole: np.ndarray,
    movers: np.ndarray | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the temporal filter's output log-depth (``log_depth [h,w]``) with :func:`nearest_far_side`'s
    band holes given the far side (``hole_outline_nearest``): the band, its steps, sides and far target read from the
    output's own depth on stage 1's ``covered [h,w]`` pixels (refined, and
    the fattened rim already moved by the outline rule), never nearer than before; nothing within
    ``hole_outline_mover_px`` of ``movers [h,w]`` (bool) moves."""
    if not covered.any() or covered.all():
        return log_depth
    hi, step, middle = _step_span(covered, log_depth, config.hole_far_edge_px, config.hole_outline_step)
    band = ~covered & step & within(covered, config.hole_outline_band_px) & (log_depth < hi)
    far_side, near_side = _sides(covered, log_depth, step, middle)
    nearest = nearest_far_side(config, band, far_side, near_side, epipole)
    if config.hole_outline_mover_px > 0 and movers is not None and movers.any():
        nearest &= ~within(movers, config.hole_outline_mover_px)
    return np.where(nearest, np.maximum(hi, log_depth), log_depth).astype(np.float32)


def _far_side_band(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    movers: np.ndarray | None,
    both_sides: bool = False,
) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray, np.ndarray] | None:
    """The outline band's holes nearer the far side, as :func:`views_far_side` and :func:`views_depth_far_side`
    choose them (``covered [h,w]`` bool stage 1's pixels, ``log_depth [h,w]`` the output's, ``movers [h,w]`` bool or
    None), with their two candidate depths: ``(at, far, near, nearer_far)``, ``at`` the ``(rows, cols)`` of ``n``
    holes, ``far`` and ``near`` ``[n]`` log-depths (the square's farthest covered one, the near side's mean),
    ``nearer_far`` ``[n]`` bool the holes nearer the far side's covered pixels (all of them unless ``both_sides``:
    then the band's holes nearer the near side are in ``at`` too); None when there is none."""
    import cv2

    if not covered.any() or covered.all():
        return None
    half = config.hole_far_edge_px
    hi, step, middle = _step_span(covered, log_depth, half, config.hole_outline_step)
    band = ~covered & step & within(covered, config.hole_outline_views_band_px) & (log_depth < hi)
    far_side, near_side = _sides(covered, log_depth, step, middle)
    if not (band.any() and far_side.any() and near_side.any()):
        return None
    to_far = cv2.distanceTransform((~far_side).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)  # [h,w] px
    to_near = cv2.distanceTransform((~near_side).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    candidate = band if both_sides else band & (to_far < to_near)
    if config.hole_outline_mover_px > 0 and movers is not None and movers.any():
        candidate &= ~within(movers, config.hole_outline_mover_px)
    at = np.nonzero(candidate)
    if not len(at[0]):
        return None
    sums = box_sums(np.stack([log_depth, np.ones_like(log_depth)], axis=-1), near_side.astype(np.float32), half, at)
    near = np.where(sums[:, 1] > 0.5, sums[:, 0] / np.maximum(sums[:, 1], 1e-6), log_depth[at])  # [n]
    return at, hi[at], near, to_far[at] < to_near[at]


def views_far_side(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    rgb: np.ndarray,
    views: Sequence[View],
    movers: np.ndarray | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the temporal filter's output log-depth (``log_depth [h,w]``) with the outline band's holes
    that the nearby frames show on the far side given it (``hole_outline_views``): a hole within
    ``hole_outline_views_band_px`` of stage 1's ``covered [h,w]`` pixels, whose square of half-size
    ``hole_far_edge_px`` spans at least ``hole_outline_step`` of the output's covered log-depth, nearer (Euclidean)
    to the step's far-side covered pixels than to its near side's, is lifted to 3D at two depths — the square's
    farthest covered log-depth and the mean of its near side's — and projected into each nearby frame (``views``,
    :class:`View`); where its colour patch there (:func:`views_colour_cost`, the median over the frames it lands in)
    matches at the far depth better by more than ``hole_outline_views_margin`` than at the near one, it takes the far
    depth (never nearer than it was). A strip of background beside an object lands on the background's own colours
    in the other frames only at the background's depth; the object's own rim, filled the same, does not. Nothing
    within ``hole_outline_mover_px`` of ``movers [h,w]`` (bool) moves. ``rgb [h,w,3]`` float32 in [0, 1].

    Measured offline on static-orbit s860 (every 6th frame, band 6 px, 8 frames each side, margin 0.01): of the
    band's truly far holes it moves 41 % (to a median log error −0.011, from −0.072), of its truly near ones 1.6 %
    (the nearer-side distance alone: 69 % / 25 %; the colour test alone: 51 % / 3.8 %). End to end (8 frames):
    static-orbit s860–s879 final all-pixel AbsRel −3.9 % median, 19 of 20 better."""
    if not views:
        return log_depth
    near_margin = config.hole_outline_views_near_margin
    found = _far_side_band(config, covered, log_depth, movers, both_sides=near_margin > 0)
    if found is None:
        return log_depth
    at, far, near, nearer_far = found
    margin = np.where(nearer_far, config.hole_outline_views_margin, near_margin)  # [n]
    with np.errstate(invalid="ignore"):
        move = views_colour_cost(rgb, views, far, at) < views_colour_cost(rgb, views, near, at) - margin
    return _take_far(log_depth, at, far, move)  # NaN costs (lands nowhere): no move


def _take_far(
    log_depth: np.ndarray, at: tuple[np.ndarray, np.ndarray], far: np.ndarray, move: np.ndarray
) -> np.ndarray:
    """``[h,w]`` float32 ``log_depth`` with the band's holes ``at`` (rows, cols) where ``move`` given their far
    depth ``far`` (never nearer than they were)."""
    out = log_depth.astype(np.float32, copy=True)
    rows, cols = at[0][move], at[1][move]
    out[rows, cols] = np.maximum(far[move], log_depth[rows, cols])
    return out


def views_depth_far_side(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    views: Sequence[View],
    depths: Sequence[np.ndarray],
    movers: np.ndarray | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the output log-depth (``log_depth [h,w]``) with the outline band's holes that the nearby
    frames' own depth shows on the far side given it (``hole_outline_depths``): the band and the two candidate depths
    of :func:`views_far_side` (a hole within ``hole_outline_views_band_px`` of stage 1's ``covered [h,w]`` pixels
    whose ``hole_far_edge_px`` square spans ``hole_outline_step``, filled nearer than the square's farthest covered
    log-depth, nearer to the far side's covered pixels than to the near side's; the far depth = that farthest, the
    near = the near side's mean), each scored by :func:`views_depth_score` against ``depths`` (``[h',w']`` float32
    log-depth of each of ``views``, NaN where not trusted); a hole takes the far depth (never nearer than it was)
    where at least ``hole_outline_depths_min`` frames agree with it and its score (agreeing frames minus violated
    ones) beats the near depth's. Nothing within ``hole_outline_mover_px`` of ``movers [h,w]`` (bool) moves.

    Measured end to end (8 frames each side, tolerance 0.1, one frame): static-orbit s984–s991 final all-pixel AbsRel
    −1.1 … +0.4 %, median −0.6 %; on s990 it moves 4.3 % of the holes, 77 % of them truly the background side."""
    if not views:
        return log_depth
    found = _far_side_band(config, covered, log_depth, movers)
    if found is None:
        return log_depth
    at, far, near, _ = found
    tolerance = config.hole_outline_depths_tolerance
    agree_far, violate_far = views_depth_score(views, depths, far, at, tolerance)
    agree_near, violate_near = views_depth_score(views, depths, near, at, tolerance)
    move = (agree_far >= config.hole_outline_depths_min) & (agree_far - violate_far > agree_near - violate_near)
    return _take_far(log_depth, at, far, move)


#: ``hole_outline_near_px``: half-size (pixels) of the square over which each side's mean chromaticity and log-depth
#: are taken (static-orbit s1408 / s1670, offline on the preset's final: 8 moved 90 % truly occluder-side holes, 12
#: 70–75 %)
_NEAR_COLOUR_PX = 8


def outline_near_side(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    rgb: np.ndarray,
    movers: np.ndarray | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the output log-depth (``log_depth [h,w]``) with the outline holes whose colour is the near
    side's given the near side's depth (``hole_outline_near_px``): a hole within that reach of stage 1's ``covered
    [h,w]`` pixels whose square of that half-size spans at least ``hole_outline_step`` of covered log-depth (the
    sides split at the span's middle, :func:`_sides`), whose chromaticity (:func:`chromaticity` of ``rgb [h,w,3]``
    float32 in [0, 1]) lies nearer (L1) the near side's mean over the square of half-size :data:`_NEAR_COLOUR_PX`
    than ``hole_outline_near_ratio`` times its distance to the far side's, takes the near side's mean log-depth there
    plus ``hole_outline_near_lift`` of the step to the span's farthest (never farther than it was). Nothing within
    ``hole_outline_mover_px`` of ``movers [h,w]`` (bool) moves.

    The occluder side of a static video's outline holes: an object's top face seen at a grazing angle is a hole in
    every frame between the object's front (near) and the wall above it (far), and the fill gives it the wall's
    depth; the face has the front's hue in another shade, the wall another hue."""
    half = config.hole_outline_near_px
    if half <= 0 or not covered.any() or covered.all():
        return log_depth
    hi, step, middle = _step_span(covered, log_depth, half, config.hole_outline_step)
    band = ~covered & step & within(covered, half)
    if config.hole_outline_mover_px > 0 and movers is not None and movers.any():
        band &= ~within(movers, config.hole_outline_mover_px)
    far_side, near_side = _sides(covered, log_depth, step, middle)
    at = np.nonzero(band)
    if not (len(at[0]) and far_side.any() and near_side.any()):
        return log_depth
    share = chromaticity(rgb)  # [h,w,3]
    planes = np.concatenate([share, np.ones_like(log_depth)[..., None], log_depth[..., None]], axis=-1)  # [h,w,5]
    far_sums, near_sums = (
        box_sums(planes, side.astype(np.float32), _NEAR_COLOUR_PX, at) for side in (far_side, near_side)
    )
    both = (far_sums[:, 3] > 0.5) & (near_sums[:, 3] > 0.5)
    far_mean, near_mean = (sums / np.maximum(sums[:, 3:4], 1e-6) for sums in (far_sums, near_sums))  # [n,5] each
    own = share[at]  # [n,3]
    to_near, to_far = (np.abs(own - mean[:, :3]).sum(-1) for mean in (near_mean, far_mean))
    target = near_mean[:, 4] + config.hole_outline_near_lift * (hi[at] - near_mean[:, 4])  # [n]
    move = both & (to_near < config.hole_outline_near_ratio * to_far) & (log_depth[at] > target)
    out = log_depth.astype(np.float32, copy=True)
    out[at[0][move], at[1][move]] = target[move]
    return out


#: half-size of the squares whose mean chromaticity :func:`top_plane_fill` compares a hole with (5×5)
_TOP_COLOUR_PX = 2
#: a covered pixel of the lowest third fits the floor plane within this share of its inverse depth
_FLOOR_TOLERANCE = 0.05
#: :func:`floor_rim_fill`: the least L1 distance of the floor's mean chromaticity from the object's for a rim pixel
#: to be told between them (a wall's pixels by the floor meet its plane too: the same colour on both sides)
_RIM_SEPARATION = 0.05
#: three-pixel plane hypotheses :func:`floor_plane` scores, and the pixels it scores them on (at most)
_FLOOR_TRIES, _FLOOR_SAMPLE = 128, 2000


def floor_plane(covered: np.ndarray, log_depth: np.ndarray, min_share: float) -> np.ndarray | None:
    """``[3]`` float64 ``(a, b, c)`` of the floor's inverse depth ``a·col + b·row + c`` (``log_depth [h,w]``'s
    unit⁻¹) among the ``covered [h,w]`` pixels of the image's lowest third: of :data:`_FLOOR_TRIES` planes through
    three of them (a fixed draw) whose inverse depth grows down the image, the one most of them fit within
    :data:`_FLOOR_TOLERANCE`, refitted by least squares to those; None where fewer than 50 such pixels, or where
    fewer than ``min_share`` of them fit it (no floor in view). A box's front fills as much of the lowest third as
    the floor on a static orbit: it is a plane too, but its inverse depth does not change down the image. Planes
    parallel to the floor share its vanishing line: their inverse depth is this function times a constant."""
    h = covered.shape[0]
    rows, cols = np.nonzero(covered[2 * h // 3 :])
    if len(rows) < 50:
        return None
    design = _pixel_design(cols, rows + 2 * h // 3)  # [n,3]
    inverse = np.exp(-log_depth[2 * h // 3 :][rows, cols].astype(np.float64))  # [n]
    sample = np.linspace(0, len(rows) - 1, min(len(rows), _FLOOR_SAMPLE)).astype(np.int64)
    picks = np.random.default_rng(0).integers(0, len(rows), (_FLOOR_TRIES, 3))
    systems = design[picks]  # [m,3,3]
    solvable = np.abs(np.linalg.det(systems)) > 1e-6
    if not solvable.any():
        return None
    planes = np.linalg.solve(systems[solvable], inverse[picks[solvable]][..., None])[..., 0]  # [m',3]
    residual = np.abs(design[sample] @ planes.T - inverse[sample, None])  # [s,m']
    fits = (residual <= _FLOOR_TOLERANCE * inverse[sample, None]).sum(0) * (planes[:, 1] > 0)
    inliers = _on_plane(design, inverse, planes[np.argmax(fits)])
    if inliers.sum() < 3:
        return None
    coef = np.linalg.lstsq(design[inliers], inverse[inliers], rcond=None)[0]
    share = float(np.mean(_on_plane(design, inverse, coef)))
    return coef if coef[1] > 0 and share >= min_share else None


def _pixel_design(cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``[n,3]`` float64 rows ``(col, row, 1)`` of the pixels ``cols [n]``, ``rows [n]`` (whole numbers: the values
    ``np.stack(…).astype(np.float64)`` gives, filled column by column without the int64 stack, ≈ 6× faster)."""
    design = np.empty((len(cols), 3))
    design[:, 0], design[:, 1], design[:, 2] = cols, rows, 1.0
    return design


def _on_plane(design: np.ndarray, inverse: np.ndarray, plane: np.ndarray) -> np.ndarray:
    """``[n]`` bool: the pixels (``design [n,3]`` rows ``(col, row, 1)``, inverse depth ``inverse [n]``) whose inverse
    depth the plane ``plane [3]`` gives within :data:`_FLOOR_TOLERANCE` of it."""
    return np.abs(design @ plane - inverse) <= _FLOOR_TOLERANCE * inverse


#: :func:`world_floor`: frames' floors agree when their world normals lie within this angle (degrees) and their
#: offsets within :data:`_FLOOR_TOLERANCE` of the camera's distance to the plane
_WORLD_FLOOR_ANGLE = 5.0
#: :func:`world_floor`: a frame's floor is a floor candidate only where its normal lies within this angle (degrees)
#: of the cameras' mean down direction (a wall's or a box front's normal lies near 90° from it)
_WORLD_FLOOR_UP = 45.0


def world_floor(
    planes: Sequence[np.ndarray | None], cam_to_world: np.ndarray, focal: float, centre: tuple[float, float]
) -> np.ndarray | None:
    """``[4]`` float64 ``(n, e)``: the video's one floor, the world plane ``n·X = e`` (unit ``n``, ``X`` in the poses'
    unit) that most frames' own floors (``planes``, ``[3]`` each or None, :func:`floor_plane`'s at the pinhole camera
    ``focal``/``centre``) agree with — normals within :data:`_WORLD_FLOOR_ANGLE`, offsets within
    :data:`_FLOOR_TOLERANCE` of the camera's distance — among those whose normal lies within :data:`_WORLD_FLOOR_UP`
    of the cameras' mean down direction (``cam_to_world [T,4,4]``, OpenCV axes: a camera's y); the agreeing frames'
    mean. None where fewer than a quarter of the frames agree.

    A frame's lowest third is a box front or the wall as the camera turns to the objects (static-orbit 1432: 11 of
    16 sampled frames, 62–73° from the floor's normal); the floor is the one plane the frames that do see it share."""
    down = cam_to_world[:, :3, 1].mean(0)  # OpenCV axes: a camera's y points down
    down /= max(float(np.linalg.norm(down)), 1e-12)
    seen = [(k, world_plane(p, cam_to_world[k], focal, centre)) for k, p in enumerate(planes) if p is not None]
    seen = [(k, plane) for k, plane in seen if plane[:3] @ down >= math.cos(math.radians(_WORLD_FLOOR_UP))]
    if not seen:
        return None
    normals = np.stack([plane[:3] for _, plane in seen])  # [m,3]
    offsets = np.array([plane[3] for _, plane in seen])  # [m]
    distance = offsets - np.einsum("mi,mi->m", normals, np.stack([cam_to_world[k, :3, 3] for k, _ in seen]))
    agree = normals @ normals.T >= math.cos(math.radians(_WORLD_FLOOR_ANGLE))  # [m,m]
    agree &= np.abs(offsets[:, None] - offsets[None, :]) <= _FLOOR_TOLERANCE * distance[None, :]
    best = agree[np.argmax(agree.sum(1))]  # [m] the frames agreeing with the most agreed-with frame
    if best.sum() < 0.25 * len(planes):
        return None
    normal = normals[best].mean(0)
    return np.append(normal, offsets[best].mean()) / np.linalg.norm(normal)


def world_plane(plane: np.ndarray, cam_to_world: np.ndarray, focal: float, centre: tuple[float, float]) -> np.ndarray:
    """``[4]`` float64 ``(n, e)``: the world plane ``n·X = e`` (unit ``n`` pointing from the camera to it, ``X``
    in the poses' unit) whose inverse depth in the frame seen from ``cam_to_world [4,4]`` (OpenCV axes, pinhole camera
    ``focal`` pixels, principal point ``centre``) is ``plane [3]`` (``a·col + b·row + c``). :func:`seen_plane`'s
    inverse."""
    a, b, c = plane
    m = np.array([a * focal, b * focal, c + a * centre[0] + b * centre[1]])  # m·X_cam = 1 on the plane
    n = cam_to_world[:3, :3] @ m
    e = 1.0 + n @ cam_to_world[:3, 3]
    length = float(np.linalg.norm(n))
    return np.append(n, e) / length


def seen_plane(world: np.ndarray, cam_to_world: np.ndarray, focal: float, centre: tuple[float, float]) -> np.ndarray:
    """``[3]`` float64 ``(a, b, c)``: the inverse depth ``a·col + b·row + c`` of the world plane ``world [4]``
    (``n·X = e``) in the frame seen from ``cam_to_world [4,4]`` (OpenCV axes, pinhole camera ``focal`` pixels,
    principal point ``centre``); zeros where the camera lies on the plane."""
    distance = world[3] - world[:3] @ cam_to_world[:3, 3]
    if abs(distance) < 1e-12:
        return np.zeros(3)
    m = cam_to_world[:3, :3].T @ world[:3] / distance
    a, b = m[0] / focal, m[1] / focal
    return np.array([a, b, m[2] - a * centre[0] - b * centre[1]])


def floor_near(
    covered: np.ndarray, log_depth: np.ndarray, prior: np.ndarray, refits: int = 1, sums: bool = False
) -> np.ndarray | None:
    """``[3]`` float64 the frame's floor near ``prior [3]`` (the video's floor seen from it, :func:`seen_plane`'s):
    refitted by least squares to the ``covered [h,w]`` pixels below its vanishing line whose inverse depth
    (``log_depth [h,w]``'s) lies within :data:`_FLOOR_TOLERANCE` of it (``prior`` itself where fewer than 50; None
    where its inverse depth does not grow down the image). The frame's own scale of the floor, not another plane's.

    ``refits`` (``hole_floor_refits``): up to this many such refits, each on the pixels within the tolerance of the
    last fit, stopping once they are the same pixels. A prior tilted a few degrees leaves the far floor (its
    pixels beyond the tolerance there) out of one refit, which then keeps much of the tilt (static-orbit 1432: one
    refit 13 % too near at the 10th percentile of the floor, twenty 1.5–3 %).

    ``sums`` (``hole_floor_refit_sums``): each refit solves the normal equations kept by :class:`_FloorSums`, updated
    with the pixels that enter or leave the fit, instead of a least-squares solve over all of its pixels."""
    if prior[1] <= 0:
        return None
    rows, cols = np.nonzero(covered)
    inverse = np.exp(-log_depth[rows, cols].astype(np.float64))
    design = _pixel_design(cols, rows)  # [n,3]
    if sums:
        refit = _FloorSums(design, inverse, covered.shape).refit
    else:

        def refit(fit: np.ndarray) -> np.ndarray:  # np.compress: the rows design[fit] selects, ≈ 3× faster here
            return np.linalg.lstsq(np.compress(fit, design, axis=0), np.compress(fit, inverse), rcond=None)[0]

    plane, last = prior, None
    for _ in range(refits):
        fit = _on_plane(design, inverse, plane)
        if fit.sum() < 50 or (last is not None and np.array_equal(fit, last)):
            break
        coef = refit(fit)
        if coef[1] <= 0:
            break
        plane, last = coef, fit
    return plane


class _FloorSums:
    """:func:`floor_near`'s refits by normal equations: the sums over a fit's pixels (``design [n,3]`` rows ``(col,
    row, 1)``, inverse depth ``inverse [n]``, in a frame of ``shape`` ``(h, w)``) of ``x xᵀ`` and ``x · inverse``,
    ``x`` the row with the frame's centre ``(w // 2, h // 2)`` taken from its pixel, updated with the pixels that enter
    or leave the fit. ``x xᵀ``'s sums are of whole numbers below 2⁵³, so exact in any order; the centring keeps the
    3×3 system well conditioned (the planes of static-orbit 2600's 64 frames within 2.4e-11 of the least-squares
    solve's, relative; without it 1.3e-9). A refit costs the changed pixels (a few to a few hundred) instead of a
    copy and a QR of every fitted pixel (≈ 70 000 at 320×240)."""

    def __init__(self, design: np.ndarray, inverse: np.ndarray, shape: tuple[int, int]) -> None:
        self.centre = np.array([shape[1] // 2, shape[0] // 2, 0.0])
        self.centred = design - self.centre  # [n,3] whole numbers: exact
        self.inverse = inverse
        self.fit = np.zeros(len(inverse), bool)
        self.gram = np.zeros((3, 3))
        self.rhs = np.zeros(3)

    def refit(self, fit: np.ndarray) -> np.ndarray:
        """``[3]`` float64 ``(a, b, c)``: the least-squares plane ``a·col + b·row + c`` of the pixels ``fit [n]``
        (bool)."""
        moved = np.flatnonzero(fit != self.fit)
        part = self.centred[moved] * np.where(fit[moved], 1.0, -1.0)[:, None]  # [m,3] entering +, leaving −
        self.gram += part.T @ self.centred[moved]
        self.rhs += part.T @ self.inverse[moved]
        self.fit = fit
        a, b, c = np.linalg.lstsq(self.gram, self.rhs, rcond=None)[0]
        return np.array([a, b, c - a * self.centre[0] - b * self.centre[1]])


def column_neighbours(covered: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """``[h,w]`` int64 each: the row of the nearest ``covered [h,w]`` pixel below each pixel (``below``) and above
    it (``above``) in its column, itself excluded; -1 where none lies within ``reach`` rows."""
    h, w = covered.shape
    rows = np.broadcast_to(np.arange(h)[:, None], (h, w))
    big = np.where(covered, rows, h + reach + 1)  # covered: own row; else beyond any reach
    below = np.minimum.accumulate(big[::-1], axis=0)[::-1]  # nearest covered at or below
    below = np.concatenate([below[1:], np.full((1, w), h + reach + 1)], axis=0)  # strictly below
    small = np.where(covered, rows, -reach - 2)
    above = np.maximum.accumulate(small, axis=0)
    above = np.concatenate([np.full((1, w), -reach - 2), above[:-1]], axis=0)  # strictly above
    below = np.where(below - rows <= reach, below, -1)
    above = np.where(rows - above <= reach, above, -1)
    return below, above


def plane_fills(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    rgb: np.ndarray,
    movers: np.ndarray | None = None,
    seen_floor: np.ndarray | None = None,
    views: Sequence[View] = (),
) -> np.ndarray:
    """``[h,w]`` the output log-depth (``log_depth [h,w]``) with :func:`top_plane_fill` (``hole_top_plane_px``;
    its moves checked against the nearby frames ``views`` with :func:`top_views_check` where given),
    :func:`floor_plane_fill` (``hole_floor_plane_px``) and then :func:`floor_rim_fill` (``hole_floor_rim_px``)
    applied, all on the frame's one floor (fitted to the ``covered [h,w]`` pixels before the rim's move: the video's
    floor seen from the frame, ``seen_floor [3]`` (``hole_floor_world``), refitted by :func:`floor_near`, or else
    the frame's own :func:`floor_plane`); unchanged with all three off, with no hole or no covered pixel, or without
    a floor in view. ``rgb [h,w,3]`` float32 in [0, 1]; ``movers [h,w]`` bool or None."""
    passes = (config.hole_top_plane_px, config.hole_floor_plane_px, config.hole_floor_rim_px)
    if max(passes) <= 0 or not covered.any() or covered.all():
        return log_depth
    if seen_floor is not None:
        floor = floor_near(covered, log_depth, seen_floor, config.hole_floor_refits, config.hole_floor_refit_sums)
    else:
        floor = floor_plane(covered, log_depth, config.hole_top_plane_floor)
    if floor is None:
        return log_depth
    share = chromaticity(rgb)  # [h,w,3]
    topped = top_plane_fill(config, covered, log_depth, share, floor, movers)
    if views and config.hole_top_plane_views_ratio > 0:
        every = top_plane_fill(config, covered, log_depth, share, floor, movers, colour=np.inf)
    margin, gap = config.hole_top_plane_views_margin, config.hole_top_plane_views_gap
    log_depth = top_views_check(rgb, views, log_depth, topped, floor, margin, gap)
    if views and config.hole_top_plane_views_ratio > 0:
        log_depth = top_views_rescue(rgb, views, log_depth, every, floor, config.hole_top_plane_views_ratio)
    log_depth = floor_plane_fill(config, covered, log_depth, share, floor, movers)
    return floor_rim_fill(config, covered, log_depth, share, floor, movers)  # the holes' moves change no covered pixel


def top_plane_fill(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    share: np.ndarray,
    floor: np.ndarray,
    movers: np.ndarray | None = None,
    colour: float | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the output log-depth (``log_depth [h,w]``) with the holes of an object's top face given the
    depth of the plane parallel to the floor (``floor`` ``[3]``, :func:`floor_plane`'s) through the covered pixel below
    them (``hole_top_plane_px``): a hole (not ``covered [h,w]``) whose column has covered pixels within that reach below
    and above (:func:`column_neighbours`), the one above farther by ``hole_outline_step`` or more, whose chromaticity
    (``share [h,w,3]``, :func:`chromaticity`'s) is nearer the 5×5 mean at the pixel below than ``colour`` (None:
    ``hole_top_plane_colour``; ``np.inf``: no colour test) times its distance to the one above, takes the log-depth
    where that plane meets its ray, when nearer than both its fill and the pixel above. Nothing within
    ``hole_outline_mover_px`` of ``movers [h,w]`` (bool) moves.

    A box's or cylinder's top is a hole in every frame of a static orbit between its front (near) and the wall
    above (far), which the fill gives the wall's depth; the front's upper edge is on the top's plane, and the top
    is parallel to the floor."""
    import cv2

    reach = config.hole_top_plane_px
    if reach <= 0:
        return log_depth
    below, above = column_neighbours(covered, reach)
    band = ~covered & (below >= 0) & (above >= 0)
    if config.hole_outline_mover_px > 0 and movers is not None and movers.any():
        band &= ~within(movers, config.hole_outline_mover_px)
    rows, cols = np.nonzero(band)
    low, high = below[rows, cols], above[rows, cols]  # [n] each
    near, far = log_depth[low, cols], log_depth[high, cols]
    mean = cv2.blur(share, (2 * _TOP_COLOUR_PX + 1,) * 2)  # [h,w,3]
    own = share[rows, cols]
    to_near = np.abs(own - mean[low, cols]).sum(-1)
    to_far = np.abs(own - mean[high, cols]).sum(-1)
    plane = floor[0] * cols + floor[1] * rows + floor[2]  # [n] the floor's inverse depth, up to the top's factor
    edge = floor[0] * cols + floor[1] * low + floor[2]
    ratio = plane / edge  # ≤ 1: the top recedes up the column
    target = near - np.log(np.clip(ratio, 1e-6, None))
    colour = config.hole_top_plane_colour if colour is None else colour
    with np.errstate(invalid="ignore"):  # np.inf · 0: NaN, no move (the hole's colour is the far side's)
        move = (far - near >= config.hole_outline_step) & (to_near < colour * to_far)
    move &= (ratio > 0) & (edge > 0) & (target < far) & (target < log_depth[rows, cols])
    out = log_depth.astype(np.float32, copy=True)
    out[rows[move], cols[move]] = target[move]
    return out


def top_views_check(
    rgb: np.ndarray,
    views: Sequence[View],
    before: np.ndarray,
    after: np.ndarray,
    floor: np.ndarray,
    margin: float = 0.0,
    gap: float = 0.0,
) -> np.ndarray:
    """``[h,w]`` float32 ``after`` (:func:`top_plane_fill`'s output log-depth) with the top moves the nearby frames
    do not confirm undone (``hole_top_plane_views``; ``after`` itself without ``views``): each moved pixel (where it
    differs from ``before [h,w]``) is scored as a static point at three depths with :func:`views_colour_cost` (the
    frame's ``rgb [h,w,3]`` float32 in [0, 1] against ``views``, :class:`View`) — the top's plane (its ``after``), the
    floor's plane (``floor [3]``, :func:`floor_plane`'s; where the pixel lies below its vanishing line) and its fill
    before the move (``before``); it keeps the top's depth unless another depth matches better by more than
    ``margin`` (NaN costs: no verdict), and, with ``gap`` > 0, only where the top's log-depth lies within ``gap`` of
    the floor plane's (a low plane; a high top stays). A floor hole behind an object sits in a top's column (the
    front below, a farther pixel above) and takes the top's plane, too near, where its colour is nearer the front's;
    in the other frames of the orbit it lands on the floor's colours only at the floor's depth."""
    at = np.nonzero(after != before)
    if not views or not len(at[0]):
        return after
    top, other, on_floor = _top_costs(rgb, views, before, after, floor, at)
    undo = other < top - margin  # NaN: no verdict, the move stays
    if gap > 0:
        undo &= on_floor - after[at] < gap
    out = after.astype(np.float32, copy=True)
    out[at[0][undo], at[1][undo]] = before[at][undo]
    return out


def top_views_rescue(
    rgb: np.ndarray, views: Sequence[View], log_depth: np.ndarray, every: np.ndarray, floor: np.ndarray, ratio: float
) -> np.ndarray:
    """``[h,w]`` float32 ``log_depth`` (the top pass's output, :func:`top_views_check`'s) with the holes the pass
    left for their colour alone given the top's depth where the nearby frames confirm it
    (``hole_top_plane_views_ratio``): ``every [h,w]`` is the pass's output without its colour test; each hole where
    the two differ is scored as in :func:`top_views_check` (the frame's ``rgb [h,w,3]`` against ``views``) at the
    top's depth, the floor's plane (``floor [3]``) and its fill, and takes the top's where its cost times ``ratio``
    is below the other two's (NaN: no move). A top shaded like the wall above it fails the colour test and keeps the
    wall's depth; in the other frames of the orbit its texture lands on itself only at its own depth."""
    at = np.nonzero(every != log_depth)
    if not views or not len(at[0]):
        return log_depth
    top, other, _ = _top_costs(rgb, views, log_depth, every, floor, at)
    take = ratio * top < other  # NaN: no verdict, no move
    out = log_depth.astype(np.float32, copy=True)
    out[at[0][take], at[1][take]] = every[at][take]
    return out


def _top_costs(
    rgb: np.ndarray,
    views: Sequence[View],
    fill: np.ndarray,
    top: np.ndarray,
    floor: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`views_colour_cost` of the pixels ``at`` (``[n]`` rows, cols) of ``rgb [h,w,3]`` against ``views`` at
    the top's log-depth (``top [h,w]``) and the better of the floor plane's (``floor [3]``; NaN above its vanishing
    line) and the fill's (``fill [h,w]``): ``[n]`` float32 each, with ``[n]`` the floor plane's log-depth."""
    plane = floor[0] * at[1] + floor[1] * at[0] + floor[2]  # [n] the floor's inverse depth (≤ 0: above its horizon)
    on_floor = -np.log(np.where(plane > 0, plane, np.nan))
    cost = views_colour_cost(rgb, views, top[at], at)
    other = np.fmin(views_colour_cost(rgb, views, on_floor, at), views_colour_cost(rgb, views, fill[at], at))
    return cost, other, on_floor


def floor_plane_fill(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    share: np.ndarray,
    floor: np.ndarray,
    movers: np.ndarray | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the output log-depth (``log_depth [h,w]``) with the holes coloured like the floor given the
    floor's depth (``hole_floor_plane_px``): the floor is ``floor`` ``[3]`` (:func:`floor_plane`'s), its pixels the
    ``covered [h,w]`` ones whose inverse depth lies within :data:`_FLOOR_TOLERANCE` of it; a hole below its vanishing
    line, filled nearer than the floor along its ray, whose chromaticity (``share [h,w,3]``, :func:`chromaticity`'s)
    lies nearer (L1) the floor pixels' mean over the square of half-size ``hole_floor_plane_px`` than
    ``hole_floor_plane_colour`` times its distance to the other covered pixels' mean there, takes the floor's log-depth.
    Nothing within ``hole_outline_mover_px`` of ``movers [h,w]`` (bool) moves.

    The background side of a static orbit's outline holes: beside and behind an object the camera looks down on,
    the hole is mostly floor (69–75 % of the background-side holes on static-orbit s1 / s3), which the fill gives
    the object's depth."""
    half = config.hole_floor_plane_px
    if half <= 0:
        return log_depth
    plane, _, on_floor = _floor_terms(log_depth, covered, floor)
    band = ~covered & (plane > 0) & (-np.log(np.maximum(plane, 1e-12)) > log_depth)
    at = np.nonzero(_away_from_movers(config, band, movers))
    if not len(at[0]) or not on_floor.any():
        return log_depth
    move = floor_coloured(share, on_floor, covered & ~on_floor, at, half, config.hole_floor_plane_colour)
    return _given_floor(log_depth, plane, at, move)


def floor_rim_fill(
    config: TemporalConfig,
    covered: np.ndarray,
    log_depth: np.ndarray,
    share: np.ndarray,
    floor: np.ndarray,
    movers: np.ndarray | None = None,
) -> np.ndarray:
    """``[h,w]`` float32 the output log-depth (``log_depth [h,w]``) with stage 1's covered rim on the floor given the
    floor's depth (``hole_floor_rim_px``; ``log_depth`` itself with the option off): a ``covered [h,w]`` pixel within
    that many pixels of the floor's own covered pixels, below the floor's vanishing line (``floor`` ``[3]``,
    :func:`floor_plane`'s) and nearer than the floor along its ray by more than :data:`_FLOOR_TOLERANCE` in inverse
    depth, whose chromaticity (``share [h,w,3]``) lies nearer the floor pixels' mean over the square of the same
    half-size than ``hole_floor_rim_colour`` times its distance to the mean of the covered pixels there in front of
    the floor (the object's; :func:`floor_coloured`, the two means at least :data:`_RIM_SEPARATION` apart), takes
    the floor's log-depth. Nothing within ``hole_outline_mover_px`` of
    ``movers [h,w]`` (bool) moves.

    At an object's silhouette stage 1 gives the floor beside and behind it the object's nearer depth (static-orbit
    1432: a tenth of these rim pixels more than 0.1 too near in log, none too far); nothing seen below the vanishing
    line lies beyond the floor, and an object's rim has the colour of the object's pixels nearer than the floor
    beside it. (An object's lowest rows lie within the tolerance of the floor: its colour is on both sides then, and
    nothing moves.)"""
    half = config.hole_floor_rim_px
    if half <= 0:
        return log_depth
    plane, inverse, on_floor = _floor_terms(log_depth, covered, floor)
    nearer = covered & (plane > 0) & (inverse - plane > _FLOOR_TOLERANCE * inverse)  # [h,w] in front of the floor
    band = nearer & within(on_floor, half)
    at = np.nonzero(_away_from_movers(config, band, movers))
    if not len(at[0]) or not on_floor.any():
        return log_depth
    move = floor_coloured(share, on_floor, nearer, at, half, config.hole_floor_rim_colour, _RIM_SEPARATION)
    return _given_floor(log_depth, plane, at, move)


def _floor_terms(
    log_depth: np.ndarray, covered: np.ndarray, floor: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The floor plane ``floor [3]`` (:func:`floor_plane`'s) at every pixel of ``log_depth [h,w]``: its inverse depth
    ``[h,w]`` float64 (≤ 0 above its horizon), the pixels' own inverse depth ``[h,w]`` float64, and the ``covered
    [h,w]`` pixels on it (within :data:`_FLOOR_TOLERANCE` of it, bool ``[h,w]``)."""
    h, w = log_depth.shape
    rows, cols = np.mgrid[0:h, 0:w]
    plane = floor[0] * cols + floor[1] * rows + floor[2]
    inverse = np.exp(-log_depth.astype(np.float64))
    return plane, inverse, covered & (np.abs(plane - inverse) <= _FLOOR_TOLERANCE * inverse)


def _away_from_movers(config: TemporalConfig, band: np.ndarray, movers: np.ndarray | None) -> np.ndarray:
    """``band [h,w]`` (bool) without the pixels within ``hole_outline_mover_px`` of ``movers [h,w]`` (bool)."""
    if config.hole_outline_mover_px > 0 and movers is not None and movers.any():
        return band & ~within(movers, config.hole_outline_mover_px)
    return band


def _given_floor(
    log_depth: np.ndarray, plane: np.ndarray, at: tuple[np.ndarray, np.ndarray], move: np.ndarray
) -> np.ndarray:
    """``[h,w]`` float32 copy of ``log_depth`` where the pixels ``at`` selected by ``move [n]`` (bool) take the floor's
    log-depth (``plane [h,w]``, its inverse depth)."""
    out = log_depth.astype(np.float32, copy=True)
    out[at[0][move], at[1][move]] = -np.log(plane[at][move])
    return out


def floor_coloured(
    share: np.ndarray,
    on_floor: np.ndarray,
    other: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
    half: int,
    ratio: float,
    separation: float = 0.0,
) -> np.ndarray:
    """``[n]`` bool: the pixels ``at`` (rows, columns ``[n]`` each) whose chromaticity (``share [h,w,3]``,
    :func:`chromaticity`'s) lies nearer (L1) the mean of the ``on_floor [h,w]`` pixels in the square of half-size
    ``half`` around them than ``ratio`` times its distance to the mean of the ``other [h,w]`` pixels there (False
    where either is absent from the square, or where the two means lie less than ``separation`` apart)."""
    planes = np.concatenate([share, np.ones_like(share[..., :1])], axis=-1)  # [h,w,4]
    floor_sums, other_sums = (box_sums(planes, side.astype(np.float32), half, at) for side in (on_floor, other))
    both = (floor_sums[:, 3] > 0.5) & (other_sums[:, 3] > 0.5)
    floor_mean, other_mean = (sums[:, :3] / np.maximum(sums[:, 3:4], 1e-6) for sums in (floor_sums, other_sums))
    own = share[at]  # [n,3]
    to_floor, to_other = (np.abs(own - mean).sum(-1) for mean in (floor_mean, other_mean))
    apart = np.abs(floor_mean - other_mean).sum(-1) >= separation
    return both & apart & (to_floor < ratio * to_other)


def chromaticity(rgb: np.ndarray) -> np.ndarray:
    """``[h,w,3]`` float32 each channel's share of the sum (floored at 0.05) of ``rgb [h,w,3]`` in [0, 1]: the
    colour without its brightness (a face's shading)."""
    return (rgb / np.maximum(rgb.sum(-1, keepdims=True), 0.05)).astype(np.float32)


def views_depth_score(
    views: Sequence[View],
    depths: Sequence[np.ndarray],
    log_depth: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """How many nearby frames agree with, and how many contradict, the pixels ``at`` (``(rows, cols)``, ``[n]``
    each) of a frame being static points at ``log_depth [n]`` (the views' unit): each lifted to 3D, moved into each
    view's camera (:class:`View`) and projected to the nearest pixel, where that frame's own log-depth (``depths``,
    ``[h',w']`` float32 per view, NaN where not trusted) is compared with the point's: within ``tolerance`` it
    agrees; farther by more, the point would hide what the frame sees there (free space violated); nearer, the point
    is hidden there and counts neither way. Returns ``[n]`` int32 agreeing and ``[n]`` int32 violated counts."""
    rows, cols = at
    depth = np.exp(log_depth.astype(np.float64))  # [n]
    agree = np.zeros(len(rows), np.int32)
    violate = np.zeros(len(rows), np.int32)
    for view, there in zip(views, depths):
        h, w = there.shape
        x = (cols - view.centre[0]) * depth / view.focal  # [n] in the frame's camera
        y = (rows - view.centre[1]) * depth / view.focal
        r, t = view.rotation, view.translation
        z = r[2, 0] * x + r[2, 1] * y + r[2, 2] * depth + t[2]
        ahead = z > 1e-6 * depth
        scale = view.focal / np.where(ahead, z, 1.0)
        u = np.rint((r[0, 0] * x + r[0, 1] * y + r[0, 2] * depth + t[0]) * scale + view.centre[0])
        v = np.rint((r[1, 0] * x + r[1, 1] * y + r[1, 2] * depth + t[1]) * scale + view.centre[1])
        lands = ahead & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        seen = np.full(len(rows), np.nan, np.float32)
        seen[lands] = there[v[lands].astype(np.int64), u[lands].astype(np.int64)]
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = seen - np.log(np.where(ahead, z, 1.0))  # NaN: not landed or not trusted
        agree += np.abs(delta) <= tolerance
        violate += delta > tolerance
    return agree, violate


#: the colour patch of :func:`views_colour_cost`: the pixel and its four neighbours (row, column offsets)
_PATCH = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def views_colour_cost(
    rgb: np.ndarray, views: Sequence[View], log_depth: np.ndarray, at: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """``[n]`` float32 how badly the pixels ``at`` (``(rows, cols)``, ``[n]`` each) of a frame (``rgb [h,w,3]``
    float32 in [0, 1]) match the nearby frames (``views``, :class:`View`) if they were static points at
    ``log_depth [n]`` (the views' unit): each lifted to 3D, moved into each view's camera and projected; the mean
    colour L1 (:func:`colour_l1`) of its 5-pixel cross against the same cross there (bilinear, fronto-parallel, the
    image's edge repeated),
    then the median over the views it lands in (NaN where none)."""
    import cv2

    h, w = rgb.shape[:2]
    rows, cols = at
    depth = np.exp(log_depth.astype(np.float64))  # [n]
    own = [rgb[np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)] for dr, dc in _PATCH]  # [n,3] each
    costs = np.full((len(views), len(rows)), np.nan, np.float32)  # [V,n]
    pad = -(-len(rows) // _REMAP_ROW) * _REMAP_ROW
    for i, view in enumerate(views):
        x = (cols - view.centre[0]) * depth / view.focal  # [n] in the frame's camera
        y = (rows - view.centre[1]) * depth / view.focal
        r, t = view.rotation, view.translation
        z = r[2, 0] * x + r[2, 1] * y + r[2, 2] * depth + t[2]
        ahead = z > 1e-6 * depth
        scale = view.focal / np.where(ahead, z, 1.0)
        u = (r[0, 0] * x + r[0, 1] * y + r[0, 2] * depth + t[0]) * scale + view.centre[0]
        v = (r[1, 0] * x + r[1, 1] * y + r[1, 2] * depth + t[1]) * scale + view.centre[1]
        lands = ahead & (u > -0.5) & (u < w - 0.5) & (v > -0.5) & (v < h - 0.5)
        cost = np.zeros(len(rows), np.float32)
        for (dr, dc), colour in zip(_PATCH, own):
            maps = np.zeros((2, pad), np.float32)  # the points as a [pad/_REMAP_ROW, _REMAP_ROW] image
            maps[0, : len(u)], maps[1, : len(v)] = u + dc, v + dr
            grid = (m.reshape(-1, _REMAP_ROW) for m in maps)
            there = cv2.remap(view.rgb, *grid, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            cost += colour_l1(there.reshape(-1, 3)[: len(u)] - colour)
        costs[i] = np.where(lands, cost / len(_PATCH), np.nan)
    landed = np.isfinite(costs).any(axis=0)
    out = np.full(len(rows), np.nan, np.float32)
    if landed.any():
        out[landed] = np.nanmedian(costs[:, landed], axis=0)
    return out


def moving_surroundings(share: np.ndarray, counts: np.ndarray, half: int, threshold: float) -> np.ndarray:
    """``[h,w]`` bool pixels whose square of half-size ``half`` shows independent motion: the mean of the evidence
    ``share [h,w]`` (in [0, 1], :meth:`~stereodiff.stage2.temporal._Inputs.independent_motion`) weighted by how much
    it counts (``counts [h,w]``, texture where the flow is consistent) above ``threshold``
    (``hole_outline_nearest_motion``); False where nothing counts."""
    import cv2

    size = (2 * half + 1,) * 2
    weight = cv2.blur(counts.astype(np.float32), size)  # [h,w]
    evidence = cv2.blur((share * counts).astype(np.float32), size) / np.maximum(weight, 1e-6)
    return (evidence > threshold) & (weight > 1e-6)


def nearest_far_side(
    config: TemporalConfig, band: np.ndarray, far_side: np.ndarray, near_side: np.ndarray, epipole: np.ndarray
) -> np.ndarray:
    """``[h,w]`` bool the outline band's holes (``band [h,w]`` bool, :func:`outline_fill`) that
    ``hole_outline_nearest`` sends to the far side whatever their colour: nearer (Euclidean) to a covered pixel of the
    step's far side (``far_side [h,w]`` bool) than to one of its near side (``near_side``), where the direction across
    the step (:func:`step_direction`, square of half-size ``hole_far_edge_px``) lies along the parallax at the pixel
    (|cos| ≥ ``hole_outline_nearest``, :func:`parallax_cosine` with the frame's ``epipole`` ``[3]``)."""
    import cv2

    out = np.zeros(band.shape, bool)
    if not (band.any() and far_side.any() and near_side.any()):
        return out
    to_far = cv2.distanceTransform((~far_side).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)  # [h,w] px
    to_near = cv2.distanceTransform((~near_side).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    candidate = band & (to_far < to_near)
    if not candidate.any():
        return out
    at = np.nonzero(candidate)
    across = step_direction(far_side, near_side, at, config.hole_far_edge_px)  # [n,2]
    out[at] = parallax_cosine(across, epipole, at) >= config.hole_outline_nearest  # NaN: False
    return out


def step_direction(
    far_side: np.ndarray, near_side: np.ndarray, at: tuple[np.ndarray, np.ndarray], half: int
) -> np.ndarray:
    """``[n,2]`` float32 the direction across the depth step at the pixels ``at`` (``(rows, cols)``, ``[n]`` each):
    from the centroid of the near side's covered pixels (``near_side [h,w]`` bool) to the far side's (``far_side``)
    in each pixel's square of half-size ``half``, as (row, column) pixels; NaN where a side is empty."""
    h, w = far_side.shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = np.stack([np.ones((h, w), np.float32), rows, cols], axis=-1)  # [h,w,3]
    centroids = []
    for side in (far_side, near_side):
        sums = box_sums(planes, side.astype(np.float32), half, at)  # [n,3]
        with np.errstate(divide="ignore", invalid="ignore"):
            centroids.append(np.where(sums[:, :1] > 0.5, sums[:, 1:] / sums[:, :1], np.nan))
    return (centroids[0] - centroids[1]).astype(np.float32)


def parallax_cosine(across: np.ndarray, epipole: np.ndarray, at: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``[n]`` float32 |cos| of the angle between the directions ``across`` (``[n,2]`` (row, column), e.g.
    :func:`step_direction`) and the parallax at the pixels ``at``: the line through the pixel and the frame's
    ``epipole`` (``[3]`` homogeneous (x, y, w), :func:`epipoles`), along which a static point's image moves with its
    depth. NaN where either direction is undefined (no step, the pixel at the epipole, a camera that does not
    translate)."""
    x, y, w = (float(c) for c in epipole)
    parallax = np.stack([y - at[0] * w, x - at[1] * w], axis=-1)  # [n,2] (row, column), either sign
    norms = np.linalg.norm(across, axis=-1) * np.linalg.norm(parallax, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.abs((across * parallax).sum(-1)) / norms
    return np.where(norms > 1e-9, cosine, np.nan).astype(np.float32)


def epipoles(cam_to_world: np.ndarray, focal: float, centre: tuple[float, float], frames: int = 4) -> np.ndarray:
    """``[T,3]`` float64 each frame's epipole of the camera's motion (``hole_outline_parallax``): the homogeneous image
    point ``K·c`` (pinhole of ``focal`` pixels, principal point ``centre`` (x, y)) of the camera's displacement ``c``
    from ``frames`` frames before to ``frames`` after (fewer at the ends), in the frame's own camera axes (OpenCV:
    x right, y down, z ahead), scaled to unit length; poses ``cam_to_world [T,4,4]``. A sideways camera has its
    epipole at infinity (w = 0), one moving ahead inside the image. All zero for a single frame."""
    poses = np.asarray(cam_to_world, np.float64)
    t = len(poses)
    out = np.zeros((t, 3))
    for k in range(t):
        before, after = poses[max(k - frames, 0)], poses[min(k + frames, t - 1)]
        c = poses[k][:3, :3].T @ (after[:3, 3] - before[:3, 3])  # [3] in frame k's camera axes
        e = np.array([focal * c[0] + centre[0] * c[2], focal * c[1] + centre[1] * c[2], c[2]])
        norm = np.linalg.norm(e)
        out[k] = e / norm if norm > 1e-12 else 0.0
    return out


def _step_span(
    covered: np.ndarray, log_depth: np.ndarray, half: int, min_step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The covered log-depth span of the square of half-size ``half`` around each pixel (:func:`local_span`;
    ``covered``, ``log_depth`` ``[h,w]``): ``[h,w]`` its farthest, bool whether it spans at least ``min_step`` (a
    depth step there), and its middle."""
    hi, lo = local_span(covered, log_depth, half)
    return hi, (hi - lo >= min_step) & (hi > -1e8), (hi + lo) / 2


def _sides(
    covered: np.ndarray, log_depth: np.ndarray, step: np.ndarray, middle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``[h,w]`` bool the far and the near side of the steps (:func:`_step_span`'s ``step``, ``middle``): the
    covered pixels beyond the middle, and the others."""
    far = covered & step & (log_depth > middle)
    return far, covered & step & ~far


#: the colour models of :func:`outline_fill` are summed at 1 / this of the working resolution (4× less work; the
#: models are local means and variances, the decision stays per pixel)
_OUTLINE_SCALE = 2


def side_depth_sum(
    side: np.ndarray, log_depth: np.ndarray, small: tuple[int, int], radius: int, at: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """``[n]`` float32 the summed log-depth (``log_depth [h,w]`` float32) of a side's covered pixels (``side [h,w]``
    bool) over the square of half-size ``radius`` around the pixels ``at`` of the colour models' grid ``small``
    (cv2's ``(w, h)``), in the units of :func:`box_sums`' count of ``side`` (divided by it: the side's mean)."""
    import cv2

    depth = cv2.resize(np.where(side, log_depth, 0).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    ones = np.ones(depth.shape, np.float32)
    return box_sums(np.stack([depth, ones], axis=-1), ones, radius, at)[:, 0]


def box_sums(planes: np.ndarray, member: np.ndarray, radius: int, at: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``[n,C]`` float32 sums of ``planes [h,w,C]`` (float32) weighted by ``member [h,w]`` (float32 share in [0, 1])
    over the square of half-size ``radius`` around the pixels ``at`` (``(rows, cols)``, ``[n]`` each; a box filter
    of the whole frame: O(1) per pixel)."""
    import cv2

    size = (2 * radius + 1, 2 * radius + 1)
    return cv2.boxFilter(planes * member[..., None], -1, size, normalize=False, borderType=cv2.BORDER_CONSTANT)[at]


def side_likelihood(model: tuple[np.ndarray, np.ndarray], colour: np.ndarray) -> np.ndarray:
    """``[n]`` float32 log-likelihood (up to a constant) of ``colour [n,3]`` (RGB in [0, 1]) under a side's colour
    Gaussian ``model`` (``([n,3], [n,3])`` per-channel mean and variance, :func:`_side_gaussian`); NaN where the
    side is empty."""
    mean, var = model
    return -0.5 * ((colour - mean) ** 2 / var + np.log(var)).sum(-1)


def colour_separation(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``[n]`` float32 how far apart two sides' colour Gaussians (``([n,3], [n,3])`` each, :func:`_side_gaussian`)
    are, ``Σ_c (μ₁ − μ₂)² / (σ₁² + σ₂²)`` over the channels; NaN where a side is empty."""
    (mean_1, var_1), (mean_2, var_2) = first, second
    return ((mean_1 - mean_2) ** 2 / (var_1 + var_2)).sum(-1)


def _side_gaussian(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``([n,3], [n,3])`` float32 per-channel mean and variance (floored at :data:`_SIDE_COLOUR_VAR`) of a side's
    colour from its ``[n,≥7]`` :func:`box_sums` of :func:`colour_planes` (count, colour, squared colour); NaN where
    the count is 0."""
    count = sums[:, :1]  # [n,1]
    norm = np.where(count > 0.25, 1.0 / np.maximum(count, 0.25), np.nan).astype(np.float32)
    mean = sums[:, 1:4] * norm  # [n,3]
    return mean, np.maximum(sums[:, 4:7] * norm - mean * mean, 0.0) + _SIDE_COLOUR_VAR


def colour_planes(rgb: np.ndarray) -> np.ndarray:
    """``[h,w,7]`` float32: 1, ``rgb [h,w,3]`` (float32 in [0, 1]) and its square per channel."""
    return np.concatenate([np.ones((*rgb.shape[:2], 1), np.float32), rgb, rgb * rgb], axis=-1)


#: pixels per gather of :func:`colour_side` (its ``[m, (2·radius + 1)², 3]`` arrays stay ~ 20 MB at radius 10)
_SIDE_CHUNK = 4096
#: the floor of the per-channel colour variance of :func:`colour_side`'s models (RGB in [0, 1]; ~ 5/255 per channel)
_SIDE_COLOUR_VAR = np.float32(0.02**2)


def colour_side(
    rgb: np.ndarray,
    covered: np.ndarray,
    log_depth: np.ndarray,
    split: np.ndarray,
    at: tuple[np.ndarray, np.ndarray],
    radius: int,
    model: str = "gauss",
) -> np.ndarray:
    """Which side of a depth step the pixels ``at`` (``(rows, cols)``, ``[n]`` each) belong to by colour
    (``hole_far_colour_px``): True where the pixel's colour in ``rgb [h,w,3]`` (float32 in [0, 1]) is likelier under
    a Gaussian (per-channel mean and variance, floored at :data:`_SIDE_COLOUR_VAR`) of the far side than under that
    of the near side. The sides: the covered pixels (``covered [h,w]`` bool) in the pixel's square of half-size
    ``radius`` (every second row and column of it) whose ``log_depth [h,w]`` lies above the pixel's ``split [n]``
    (far) or at or below it (near). ``model="nearest"``: True where the far side's nearest colour (L1) is closer
    than the near side's. False where either side has no pixel in the square. Returns ``[n]`` bool.

    Measured on static-orbit's outline bands (docs/stage2-temporal.md, "Which side of an outline band a hole belongs
    to"; radius 10, ``split`` the middle of the 13×13 square's covered log-depth): precision / recall of "far"
    against the truth 0.949 / 0.886 (s0) and 0.781 / 0.753 (s1), against 0.892 / 0.652 and 0.806 / 0.666 for the
    nearest covered pixel beyond the rim (``hole_far_side``); ``"nearest"`` 0.948 / 0.717 and 0.898 / 0.758."""
    h, w = covered.shape
    span = np.arange(-radius, radius + 1, 2)  # every second row and column of the square
    dy, dx = (a.reshape(1, -1) for a in np.meshgrid(span, span, indexing="ij"))  # [1,K] offsets of the square
    flat_rgb = rgb.reshape(-1, 3)
    far = np.zeros(len(at[0]), bool)
    for lo in range(0, len(far), _SIDE_CHUNK):  # [m,K] gathers of at most _SIDE_CHUNK pixels at a time
        rows, cols = (a[lo : lo + _SIDE_CHUNK, None] for a in at)
        r, c = rows + dy, cols + dx
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        index = np.clip(r, 0, h - 1) * w + np.clip(c, 0, w - 1)  # [m,K]
        there = inside & covered.reshape(-1)[index]
        above = log_depth.reshape(-1)[index] > split[lo : lo + _SIDE_CHUNK, None]
        colour = flat_rgb[index]  # [m,K,3]
        own = flat_rgb[rows[:, 0] * w + cols[:, 0]]  # [m,3]
        if model == "nearest":
            distance = colour_l1(colour - own[:, None])  # [m,K]
            far_d = np.where(there & above, distance, np.inf).min(1)
            near_d = np.where(there & ~above, distance, np.inf).min(1)
            far[lo : lo + _SIDE_CHUNK] = np.isfinite(far_d) & np.isfinite(near_d) & (far_d < near_d)
            continue
        moments = np.concatenate([colour, colour * colour], axis=-1)  # [m,K,6]
        log_likelihood, counts = [], []
        for member in (there & above, there & ~above):  # the far side, then the near side
            count = member.sum(1, dtype=np.float32)[:, None]  # [m,1]
            sums = np.matmul(member[:, None, :].astype(np.float32), moments)[:, 0] / np.maximum(count, 1.0)  # [m,6]
            mean = sums[:, :3]
            var = sums[:, 3:] - mean**2
            var = np.maximum(var, 0.0) + _SIDE_COLOUR_VAR
            log_likelihood.append(side_likelihood((mean, var), own))  # [m]
            counts.append(count[:, 0])
        both = (counts[0] > 0) & (counts[1] > 0)
        far[lo : lo + _SIDE_CHUNK] = both & (log_likelihood[0] > log_likelihood[1])
    return far


def near_motion_boundary(flows: list[np.ndarray], reach_px: float, size: tuple[int, int]) -> np.ndarray:
    """``[h,w]`` bool (``size``): the pixels within ``reach_px`` (Euclidean) of a motion boundary
    (:func:`~stereodiff.flow.motion_boundaries`) of any of ``flows`` (``[h,w,2]`` pixels each, e.g. a frame's flows
    to its two neighbours); all False without flows or boundaries."""
    boundary = np.zeros(size, bool)
    for flow in flows:
        boundary |= motion_boundaries(flow)
    if not boundary.any():
        return boundary
    return within(boundary, reach_px)


def surface_below(
    log_depth: np.ndarray, covered: np.ndarray, rgb: np.ndarray, max_px: int, max_colour: float
) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel, the log-depth of the first covered pixel below it in its column and whether that pixel is
    reached: at most ``max_px`` rows down, the summed colour change between consecutive rows on the way at most
    ``max_colour`` (``log_depth`` ``[h,w]`` float32, ``covered`` ``[h,w]`` bool, ``rgb`` ``[h,w,3]`` in [0, 1]).
    Returns ``[h,w]`` float32 log-depth (0 where nothing is below) and ``[h,w]`` bool."""
    h, w = covered.shape
    edge = colour_l1(np.diff(rgb, axis=0))  # [h-1,w]: between row r and r + 1
    below = np.zeros((h, w), np.float32)
    rows = np.full((h, w), np.inf, np.float32)  # rows down to the covered pixel
    path = np.full((h, w), np.inf, np.float32)  # summed colour change on the way
    for r in range(h - 2, -1, -1):
        hit = covered[r + 1]
        below[r] = np.where(hit, log_depth[r + 1], below[r + 1])
        rows[r] = np.where(hit, 1.0, rows[r + 1] + 1.0)
        path[r] = np.where(hit, edge[r], path[r + 1] + edge[r])
    return below, (rows <= max_px) & (path <= max_colour)


def hole_distance(covered: np.ndarray) -> np.ndarray:
    """``[n,h,w]`` float32 Euclidean distance (pixels) of each pixel to its frame's nearest hole (``covered``
    ``[n,h,w]`` bool; 0 on holes, +inf in a frame without holes)."""
    import cv2

    distance = np.full(covered.shape, np.inf, np.float32)
    for i, frame in enumerate(covered):
        if not frame.all():
            distance[i] = cv2.distanceTransform(frame.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance


def rim_trust(covered: np.ndarray, rim_px: float) -> np.ndarray:
    """``[n,h,w]`` float32 trust in [0, 1] of the covered pixels ``covered [n,h,w]`` (bool) by their distance ``d``
    to the frame's nearest hole (Euclidean, pixels): ``min(1, d / (rim_px + 1))`` (1 everywhere in a frame without
    holes; holes keep 0 weight whatever this says)."""
    return np.minimum(hole_distance(covered) / np.float32(rim_px + 1.0), 1.0)


def domain_transform_filter(
    values: np.ndarray | Sequence[np.ndarray],
    guide: np.ndarray,
    *,
    sigma_s: float,
    sigma_r: float,
    iterations: int = 2,
    num_workers: int = 1,
) -> np.ndarray:
    """Edge-aware smoothing by the domain-transform recursive filter (Gastal & Oliveira 2011), batched.

    Args:
        values: ``[n,C,h,w]`` float32 (or float64) channels to filter (e.g. ``w·x`` and ``w`` for normalised
            convolution), or the ``C`` channel planes ``[n,h,w]`` each (filtered as their ``np.stack(axis=1)``,
            without that copy).
        guide: ``[n,h,w,3]`` float32 guide image in [0, 1]; its edges stop the smoothing.
        sigma_s: spatial standard deviation in pixels.
        sigma_r: range standard deviation (sum of absolute channel differences).
        iterations: horizontal+vertical rounds.
        num_workers: threads, each filtering a share of the frames, its feedback included (each frame is filtered
            on its own: the same result with any number).

    Returns:
        ``[n,C,h,w]`` float32 filtered channels.
    """
    planes = list(values.transpose(1, 0, 2, 3)) if isinstance(values, np.ndarray) else list(values)
    n, h, w = planes[0].shape
    shape = (n, len(planes), h, w)
    # the two layouts take turns in two buffers (no fresh pages per layout change), each share of the frames in its
    # own part of them
    dtype = np.result_type(*planes)
    size = math.prod(shape)
    buffers = (np.empty(size, dtype), np.empty(size, dtype))
    frame_size = size // n if n else 0
    bounds = np.linspace(0, n, min(max(int(num_workers), 1), max(n, 1)) + 1).round().astype(int)
    shares = [(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds) if hi > lo]

    def run(share: tuple[int, int]) -> int:
        lo, hi = share
        parts = tuple(buffer[lo * frame_size : hi * frame_size] for buffer in buffers)
        feedback = _feedback(guide[lo:hi], sigma_s, sigma_r, iterations)
        return _filter_frames([plane[lo:hi] for plane in planes], feedback, parts)

    held = list(thread_imap(run, shares, len(shares)))
    return buffers[held[0] if held else 0].reshape(shape)


def _feedback(
    guide: np.ndarray, sigma_s: float, sigma_r: float, iterations: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each round's feedback ``a^d`` of :func:`domain_transform_filter` along x ``[w-1,n,1,h]`` and y ``[h-1,n,1,w]``
    (float32) of the frames of ``guide [n,h,w,3]``, from the domain-transform derivatives between neighbours,
    ``d = 1 + σs/σr · Σ|ΔI|`` (per frame: a share of the frames gets its own frames' values)."""
    ratio = sigma_s / sigma_r
    dx = 1.0 + ratio * colour_l1(np.diff(guide, axis=2))  # [n,h,w-1]
    dy = 1.0 + ratio * colour_l1(np.diff(guide, axis=1))  # [n,h-1,w]
    dx = np.ascontiguousarray(dx.transpose(2, 0, 1))[:, :, None, :]  # [w-1,n,1,h]
    dy = np.ascontiguousarray(dy.transpose(1, 0, 2))[:, :, None, :]  # [h-1,n,1,w]
    feedback = []
    for k in range(iterations):
        sigma_k = sigma_s * math.sqrt(3.0) * 2 ** (iterations - k - 1) / math.sqrt(4**iterations - 1)
        a = math.exp(-math.sqrt(2.0) / sigma_k)
        feedback.append((np.power(a, dx, dtype=np.float32), np.power(a, dy, dtype=np.float32)))
    return feedback


def _filter_frames(
    planes: list[np.ndarray], feedback: list[tuple[np.ndarray, np.ndarray]], buffers: tuple[np.ndarray, np.ndarray]
) -> int:
    """:func:`domain_transform_filter` of the channel planes ``[n,h,w]`` each (``C`` of them) with each round's
    feedback along x ``[w-1,n,1,h]`` and y ``[h-1,n,1,w]``, in the two flat ``buffers`` of ``n·C·h·w`` elements;
    returns which of them holds the result ``[n,C,h,w]``. The layout changes are plain copies
    (:func:`_swap_scan_axis`: a blocked transpose per channel, ~10× numpy's strided copy of the whole block), with
    the scan axis first and the rest contiguous."""
    held = 0
    out = _planes_to_front(planes, buffers[held])  # C × [n,h,w] → [w,n,C,h]
    for k, (fx, fy) in enumerate(feedback):
        _recursive_pass(out, fx)
        held = 1 - held
        out = _swap_scan_axis(out, buffers[held])  # [w,n,C,h] → [h,n,C,w]
        _recursive_pass(out, fy)
        if k + 1 < len(feedback):
            held = 1 - held
            out = _swap_scan_axis(out, buffers[held])  # [h,n,C,w] → [w,n,C,h]
    held = 1 - held  # into the free buffer: [h,n,C,w] → [n,C,h,w] (rows of w stay contiguous), or without any round
    n, (h, w) = len(planes[0]), planes[0].shape[1:]
    result = buffers[held].reshape(n, len(planes), h, w)
    if feedback:
        np.copyto(result, out.transpose(1, 2, 0, 3))
    else:
        for c, plane in enumerate(planes):
            result[:, c] = plane
    return held


def _planes_to_front(planes: list[np.ndarray], buffer: np.ndarray) -> np.ndarray:
    """The channel planes ``[n,L,M]`` each (``C`` of them) as one ``[M,n,C,L]`` block (a copy into ``buffer``, flat,
    in its dtype), each ``[L,M]`` frame of a plane transposed by OpenCV's blocked transpose."""
    import cv2

    n, length, m = planes[0].shape
    out = buffer.reshape(m, n, len(planes), length)
    for i in range(n):
        for c, plane in enumerate(planes):
            out[:, i, c, :] = cv2.transpose(plane[i])
    return out


def _swap_scan_axis(block: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """``block [L,n,C,M]`` as ``[M,n,C,L]`` (a copy into ``buffer``, flat, of ``block.size`` elements): each
    channel's ``[n,L,M]`` view through :func:`_planes_to_front`."""
    return _planes_to_front([block[:, :, c, :].transpose(1, 0, 2) for c in range(block.shape[2])], buffer)


def _recursive_pass(signal: np.ndarray, feedback: np.ndarray) -> None:
    """In place, causal then anti-causal first-order recursion along axis 0: ``J[i] += a[i-1]·(J[i-1] − J[i])``."""
    length = signal.shape[0]
    for i in range(1, length):
        signal[i] += feedback[i - 1] * (signal[i - 1] - signal[i])
    for i in range(length - 2, -1, -1):
        signal[i] += feedback[i] * (signal[i + 1] - signal[i])


def moving_ahead(cam_to_world: np.ndarray, intrinsics: np.ndarray, width: int, step: int = 8) -> float:
    """Share of the frames ``k`` whose camera centre ``step`` frames on (fewer in short videos) lies ahead of them
    within their horizontal field of view (its projection's column inside an image ``width`` pixels wide): the
    camera moves along its view, the focus of expansion is in the image (aligned poses ``cam_to_world [T,4,4]``,
    ``intrinsics [T,3,3]`` or ``[3,3]``). Only the column counts: the stage-1 poses of a forward-moving camera put
    the epipole's row far off (driving s1: rows −179…204 against 112…119 by the true poses; columns 140…227 against
    157). NaN for a single frame."""
    poses = np.asarray(cam_to_world, np.float64)
    ks = np.broadcast_to(np.asarray(intrinsics, np.float64), (len(poses), 3, 3))
    step = min(step, len(poses) - 1)
    if step < 1:
        return float("nan")
    ahead = []
    for k in range(len(poses) - step):
        # the later camera's centre in this camera's frame
        centre = np.linalg.inv(poses[k])[:3] @ np.append(poses[k + step][:3, 3], 1.0)
        column = ks[k, 0, 0] * centre[0] / centre[2] + ks[k, 0, 2] if centre[2] > 1e-12 * np.linalg.norm(centre) else -1
        ahead.append(0 <= column <= width - 1)
    return float(np.mean(ahead))


def lower_border(size: tuple[int, int], bottom: float, side: float) -> np.ndarray:
    """``[h,w]`` bool: the lower border of an ``(h, w)`` image, where near scenery enters the view of a camera moving
    along it — the ``bottom`` fraction of the rows, and in the lower half the ``side`` fraction of the columns at
    each side."""
    h, w = size
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    sides = (np.minimum(cols, w - 1 - cols) < side * w) & (rows >= h / 2)
    return (rows >= (1 - bottom) * h) | sides


def colour_l1(x: np.ndarray) -> np.ndarray:
    """Sum of absolute values over a last axis of length 3 (faster than ``np.abs(x).sum(-1)``)."""
    return np.abs(x[..., 0]) + np.abs(x[..., 1]) + np.abs(x[..., 2])
