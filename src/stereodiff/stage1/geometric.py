"""Weights-free stage 1: dense optical flow + two-view epipolar geometry + triangulation.

For every unordered pair of frames ``(a, b)`` the matcher

1. computes DIS optical flow at a working resolution, forward and backward, and keeps the pixels whose
   forward–backward round trip returns within a threshold;
2. estimates the relative pose from the essential matrix (OpenCV USAC, then classic RANSAC if needed, on a
   well-spread subsample of consistent matches, one per grid cell) and ``cv2.recoverPose``;
3. triangulates every consistent pixel of both views (vectorised midpoint method; the point is kept on the
   pixel's own ray, so each pointmap is an exact pinhole depth map), rejects depths outside
   ``[depth_range[0], depth_range[1]]`` times the pair median, and fills the remaining pixels with the pair
   median depth along their ray at confidence 1 so the arrays stay dense;
4. scores each pixel with a confidence on the DUSt3R scale (``1 + (max_confidence - 1) · w``, ``w ∈ [0, 1]``)
   that multiplies three reliability terms: forward–backward error, Sampson epipolar residual (pixels of
   independently moving objects violate the epipolar constraint of the static scene) and triangulation angle
   (too little parallax means an unreliable depth).

Both directed pairs ``(a, b)`` and ``(b, a)`` come from one computation, so the output has the layout of the
network backend: ``pts_i`` = view ``i`` in camera ``i``, ``pts_j`` = view ``j`` in camera ``i``, each pair at its
own arbitrary scale (the essential matrix fixes ``|t| = 1``).

After ``global_alignment``, :func:`~stereodiff.stage1.fusion.fuse_pair_depths` replaces each frame's single-pair
depth by the fusion of all its pairs (re-exported here with :func:`~stereodiff.stage1.fusion.untriangulated_mask`).

This module is the matcher: its settings, focal and offset probes, and the scheduling of the pairs (about 630
lines, a third of them the documentation of its 22 settings). The steps of one pair are in
:mod:`stereodiff.stage1.pair_steps`, the two-view maths in :mod:`stereodiff.stage1.epipolar`, the pair graphs in
:mod:`stereodiff.stage1.pairs`, the optical flow in :mod:`stereodiff.flow`, the fusion in
:mod:`stereodiff.stage1.fusion`.

Conventions (docs/conventions.md, :mod:`stereodiff.camera`): pixel ``(u, v)`` = (column, row), integer ``(u, v)`` at
the pixel's position; principal point ``(w/2, h/2)`` unless ``intrinsics`` are given (scaled to the working
resolution by :func:`~stereodiff.camera.scale_intrinsics`); OpenCV camera axes; ``X_b = R X_a + t``.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.camera import AHEAD_SHARE, fit_long_side, pinhole, prior_focal, scale_intrinsics
from stereodiff.errors import InputError
from stereodiff.flow import compose_flows, dis_engine, dis_flows, grey_frame, grey_projection
from stereodiff.io.pages import delete_arrays, release
from stereodiff.lazy import import_in_background
from stereodiff.progress import logger, progress, thread_imap, thread_map, workers_own_the_cores
from stereodiff.stage1 import PairwiseReconstruction
from stereodiff.stage1.configs import GeometricConfig
from stereodiff.stage1.distortion import division_from_matches, division_grid
from stereodiff.stage1.earlier_recheck import EarlierRecheck, recheck_far_from_earlier
from stereodiff.stage1.epipolar import (
    MIN_INLIER_FRACTION,
    MIN_POSE_INLIERS,
    FocalEstimate,
    PairGeometry,
    focal_from_fundamentals,
    fundamental_from_pose,
    parallax_deg,
    rotation_residual_px,
    sampson_distance,
)
from stereodiff.stage1.focal_bundle import (
    CASCADE_CAUCHY,
    CASCADE_EVALUATIONS,
    CASCADE_MAX_NOISE_RAD,
    TRACKS_PER_WINDOW,
    TrackWindow,
    focal_from_tracks,
    kruppa_checked,
    track_window,
    window_keyframes,
)
from stereodiff.stage1.fusion import (
    WeakRim,
    fuse_pair_depths,
    leave_weak_rim,
    near_regions,
    pair_chain_poses,
    untriangulated_mask,
)
from stereodiff.stage1.hole_carry import hole_carry_after
from stereodiff.stage1.movers import MoverSettings
from stereodiff.stage1.near_holes import NearHolesSettings, before_reach, near_hole_depth
from stereodiff.stage1.pair_steps import PairSteps, epipole_inside, undistorted_grid
from stereodiff.stage1.pairs import FIBONACCI, default_pairs, fibonacci_start, flow_plan, per_frame_pairs
from stereodiff.stage1.ray_pairs import RayDepthPairs
from stereodiff.stage1.rolling_shutter import (
    COARSE_GRID,
    MIRROR_MARGIN,
    READOUT_GRID,
    SCREEN_MIN_CHANGE_DEG,
    SCREEN_WINDOW_FRAMES,
    RollingShutter,
    angular_acceleration,
    angular_velocity_changes,
    choose_readout,
    corner_matches,
    corner_tracks,
    detect_readout,
    frame_angular_velocities,
    median_residual,
    occam_readout,
    screen_pairs,
    screen_runs,
    unroll_pixels,
    unrolling_shift,
)
from stereodiff.types import PairPredictions, SceneGeometry, check_array

__all__ = [
    "GeometricMatcher",
    "MatcherReport",
    "failure_summary",
    "fuse_pair_depths",
    "pair_chain_poses",
    "untriangulated_mask",
    "working_size",
]

FULL_RESOLUTION_FLOW_MAX = 400  # largest working long side (px) that gets full-resolution flow by default
PER_FRAME_PROBE_STRIDE = 4  # frames between the starts of the parallax probes of ``pair_graph="per_frame"``


def working_size(height: int, width: int, resolution: int) -> tuple[int, int]:
    """``(h, w)`` the matcher works at for ``height × width`` frames: long side ``resolution`` pixels, never
    upsampled (it adds cost, not detail), each side at least 8."""
    return fit_long_side(height, width, resolution, upscale=False, minimum=8)


def mover_settings(config: GeometricConfig, ahead: bool = False) -> MoverSettings:
    """The moving-object knobs of ``config`` (its ``movers_*`` fields); ``ahead``: the camera moves along its view
    (``MatcherReport.ahead_share`` ≥ ``AHEAD_SHARE``), which turns on ``movers_track_ahead``,
    ``movers_up_to_horizon`` and ``movers_path_contact`` and off ``movers_side_up``,
    ``movers_cut_skip_beyond``, ``movers_oncoming_carry``, ``movers_near_contact``, ``movers_near_carry``,
    ``movers_near_carry_beside``, ``movers_near_occluded``, ``movers_far_occluded``, ``movers_hole_occluded`` and
    ``movers_hole_carry``."""
    track = int(config.movers_track_frames) or (int(config.movers_track_ahead) if ahead else 0)
    side = 0.0 if ahead else float(config.movers_side_near)  # no path: every column is beside it
    return MoverSettings(
        track_frames=track,
        track_missed=int(config.movers_track_missed),
        offsets=tuple(int(o) for o in config.movers_offsets),
        flow_variational_iterations=config.movers_flow_variational_iterations,
        short_offsets=tuple(int(o) for o in config.movers_short_offsets),
        ground_cut=bool(config.movers_ground_cut),
        flow_grey=str(config.flow_grey),
        beyond_part=float(config.movers_beyond_part),
        oncoming=float(config.movers_oncoming),
        hole_reach=bool(config.movers_hole_reach),
        reach_mask=bool(config.near_holes_before_reach) and config.near_holes > 0,
        cut_last_row=bool(config.movers_cut_last_row),
        underground_cut=bool(config.movers_underground_cut),
        cut_margin=float(config.movers_cut_margin),
        cut_holes=float(config.movers_cut_holes),
        cut_skip_beyond=0.0 if ahead else float(config.movers_cut_skip_beyond),  # road flagged ahead: not a body
        cut_track=int(config.movers_cut_track),
        cut_track_values=bool(config.movers_cut_track_values),
        cut_sway=float(config.movers_cut_sway),
        cut_sway_levels=bool(config.movers_cut_sway_levels),
        cut_sway_gap=float(config.movers_cut_sway_gap),
        cut_sway_fit=float(config.movers_cut_sway_fit),
        cut_sway_whole=bool(config.movers_cut_sway_whole),
        cut_sway_blend=float(config.movers_cut_sway_blend),
        cut_sway_halves=float(config.movers_cut_sway_halves),
        cut_sway_levels_gain=float(config.movers_cut_sway_levels_gain),
        cut_sway_levels_plane=bool(config.movers_cut_sway_levels_plane),
        cut_height=float(config.movers_cut_height),
        cut_carry=int(config.movers_cut_carry),
        cut_carry_partial=bool(config.movers_cut_carry_partial),
        carry_standing=0 if ahead else int(config.movers_carry_standing),  # sideways only
        carry_standing_ring=float(config.movers_carry_standing_ring),
        carry_standing_flagged=bool(config.movers_carry_standing_flagged),
        persist_frames=int(config.movers_persist_frames),
        persist_ground=bool(config.movers_persist_ground),
        seen_contact=float(config.movers_seen_contact),
        oncoming_trim=bool(config.movers_oncoming_trim),
        oncoming_carry=0 if ahead else int(config.movers_oncoming_carry),  # driving s761 +2.4 %
        contact_beside=float(config.movers_contact_beside),
        beside_low=float(config.movers_beside_low),
        beside_stands=bool(config.movers_beside_stands),
        near_contact=0.0 if ahead else float(config.movers_near_contact),  # driving's cars: moving px +7–10 %
        near_carry=0 if ahead else int(config.movers_near_carry),
        hole_carry=0 if ahead or config.movers_hole_carry_after else int(config.movers_hole_carry),  # sideways only
        near_carry_beside=not ahead and bool(config.movers_near_carry_beside),
        near_occluded=not ahead and bool(config.movers_near_occluded),
        near_occluded_margin=float(config.movers_near_occluded_margin),
        far_occluded=not ahead and bool(config.movers_far_occluded),
        far_spread=float(config.movers_far_spread) if not ahead and config.movers_far_occluded else 0.0,
        hole_occluded=not ahead and bool(config.movers_hole_occluded),
        hole_occluded_after_near=bool(config.movers_hole_occluded_after_near),
        entry_carry=int(config.movers_entry_carry),
        edge_carry=int(config.movers_edge_carry),
        entry_chain=int(config.movers_entry_chain),
        end_offset=int(config.movers_end_offset),
        end_photometric=float(config.movers_end_photometric),
        min_area=float(config.movers_min_area),
        ground_max_beyond=float(config.movers_ground_max_beyond),
        up_to_horizon=float(config.movers_up_to_horizon) if ahead else 0.0,
        up_run=0.0 if ahead else float(config.movers_side_up),
        up_beside=0.0 if ahead else float(config.movers_up_beside),
        up_holes=float(config.movers_up_holes),
        border_band=bool(config.movers_border_band),
        side_holes=float(config.movers_side_holes),
        split_feet=float(config.movers_split_feet),
        path_contact=float(config.movers_path_contact) if ahead else 0.0,
        path_confidence=float(config.movers_path_confidence) if ahead else 1.0,  # the car ahead's
        path_trim=float(config.movers_path_trim),
        path_near=float(config.movers_path_near) if ahead else side,
        path_near_foot=bool(config.movers_path_near_foot),
        path_side=side > 0,
        side_beside=side > 0 and bool(config.movers_side_beside),
        side_out=float(config.movers_side_out) if side > 0 else 0.0,
        side_bottom=side > 0 and bool(config.movers_side_bottom),
        side_grow=side > 0 and bool(config.movers_side_grow),
        side_cut=side > 0 and bool(config.movers_side_cut),
    )


def near_holes_settings(config: GeometricConfig) -> NearHolesSettings:
    """The knobs of :func:`~stereodiff.stage1.near_holes.near_hole_depth` in ``config`` (its ``near_holes*``
    fields)."""
    return NearHolesSettings(
        ratio=float(config.near_holes),
        mover_only=float(config.near_holes_mover_only),
        end_sweep=bool(config.near_holes_end_sweep),
        local=int(config.near_holes_local),
        along_weight=float(config.near_holes_along_weight),
        mover_ring=float(config.near_holes_mover_ring),
        bridge=int(config.near_holes_bridge),
        ring_ends=int(config.near_holes_mover_ring_ends),
        track_bound=float(config.near_holes_track_bound),
        far_islands=float(config.near_holes_far_islands),
        islands_enclosed=bool(config.near_holes_far_islands_enclosed),
        islands_rim=float(config.near_holes_far_islands_rim),
        end_carry=int(config.near_holes_end_carry),
        bound_span=int(config.near_holes_bound_span),
        span_along=bool(config.near_holes_bound_span_along),
        span_nearer=bool(config.near_holes_bound_span_nearer),
        mover_track_shift=bool(config.near_holes_mover_track_shift),
    )


_PREFETCH_BYTES = 80e6
"""Most bytes of flows the cascade's prefetch computes ahead of the pair run (:meth:`GeometricMatcher._prefetch`):
65 pairs at 320×240 (1.2 MB each), more than one core computes during the cascade's adjustments (the prefetch stops
when they end). With 40 MB (32 pairs) the prefetch ran out two thirds into the two walks of ``focal_kruppa_check``
and ``focal_trim_px`` on a static clip, and the last third ran on one core (docs/geometric.md, "Speed", s51-focal)."""

_FOCAL_HINT = " (a camera far from 60° loses depth: give the focal with --focal PX if known{})"
"""Appended to the prior's warning, with :data:`_CASCADE_HINT` in it when ``focal_cascade`` is off: on the static orbit
rendered at 45° the prior gives final AbsRel 0.32, the cascade's focal 0.03 (docs/geometric.md, "The cascade")."""
_CASCADE_HINT = ", or try --set stage1.focal_cascade=true, a bundle adjustment of ~1 s that decides more clips"


def _along_view(inside: list[bool]) -> bool:
    """Whether the camera moves along its view: the epipole lies inside the image in at least ``AHEAD_SHARE`` of
    the probe pairs (``inside``: one bool per probe pair with a pose; none: no)."""
    return bool(inside) and float(np.mean(inside)) >= AHEAD_SHARE


@dataclass
class MatcherReport:
    """What the last ``predict`` measured (also logged).

    Attributes:
        focal_px: focal length used, in pixels at the working resolution.
        focal_source: ``"given"``, ``"estimated"`` (the Kruppa cost of the fundamental matrices decided), ``"bundle"``
            (it did not, the bundle adjustment of flow tracks did: ``focal_cascade`` or ``focal_bundle``) or
            ``"prior"`` (neither decided: the 60° field of view).
        focal_reason: why the focal is the prior, with the measured figures ("" when given or decided by the Kruppa
            cost), e.g. ``"cost curve flat: ±25 % costs 1.08× the least (needs 1.5×); median rotation 2.1° over 8
            probe pairs 8 frames apart"``, then ``"; bundle adjustment: …"`` with that method's verdict; with
            ``"bundle"``, why the Kruppa cost declined and ``"; decided by bundle adjustment: ±25 % gives 1.25× the
            least reprojection error"``.
        offsets: frame offsets of the default pair graph (empty when pairs were given; with
            ``pair_graph="per_frame"`` every offset some frame uses).
        frame_offsets: ``pair_graph="per_frame"``: each frame's smallest offset (empty otherwise).
        angle_per_frame_deg: measured median parallax per frame of offset (pair selection; see ``offset_parallax``).
        pairs: geometry of every unordered pair computed.
        failed_frames: frames whose every pair failed (their depth is a constant-depth guess at confidence 1).
        moving_fraction: fraction of the pixels found moving independently (``movers``; NaN when off).
        ahead_share: ``forward_near``: share of the probe pairs whose epipole is inside the image (NaN when off or
            no probe pair had a pose); ``forward_near`` applies when it is at least ``AHEAD_SHARE``.
        rolling_shutter_readout: the readout used (fraction of the frame interval; the one chosen with
            ``rolling_shutter_readout="auto"``), 0 for a global shutter (NaN when the option is off).
        rolling_shutter_asymmetry: ``rolling_shutter_detect``: the mirror test's median log residual ratio of the
            consecutive pairs un-rolled top to bottom against bottom to top (< ``−MIRROR_MARGIN``: the shutter rolls;
            :func:`~stereodiff.stage1.rolling_shutter.mirror_asymmetry`; NaN when off).
        rolling_shutter_screen: ``rolling_shutter_screen``: the screen's median change of the angular velocity
            between consecutive frames (degrees per frame; the full test runs from ``SCREEN_MIN_CHANGE_DEG``; NaN
            when off).
        rolling_shutter_shift: ``rolling_shutter_min_shift``: how far the un-rolling at the chosen readout would move
            the pairs' matches, in units of the consecutive pairs' median Sampson residual at readout 0
            (:func:`~stereodiff.stage1.rolling_shutter.unrolling_shift`; NaN when off or no readout was chosen).
        distortion_division: ``distortion="auto"``: the division model's ``λ`` used (half-diagonal units,
            :mod:`~stereodiff.stage1.distortion`), 0 when the estimate was not decided (NaN when the option is off).
        distortion_reason: ``distortion="auto"``: why no distortion was used, with the measured figures ("" when
            decided), e.g. ``"no distortion costs 1.000× the least, λ -0.012 (corner +1.2 %) (needs 1.01×)"``.
        pose_graph: ``pose_graph_refine``: the refinement's outcome, e.g. ``"converged in 37 iterations, 52
            evaluations; cost 31.37 → 27.1 px²"`` ("" when off).
    """

    focal_px: float = 0.0
    focal_source: str = ""
    focal_reason: str = ""
    offsets: tuple[int, ...] = ()
    frame_offsets: list[int] = field(default_factory=list)
    angle_per_frame_deg: float = float("nan")
    pairs: list[PairGeometry] = field(default_factory=list)
    failed_frames: list[int] = field(default_factory=list)
    moving_fraction: float = float("nan")
    ahead_share: float = float("nan")
    rolling_shutter_readout: float = float("nan")
    rolling_shutter_asymmetry: float = float("nan")
    rolling_shutter_screen: float = float("nan")
    rolling_shutter_shift: float = float("nan")
    pose_graph: str = ""
    distortion_division: float = float("nan")
    distortion_reason: str = ""


class GeometricMatcher(PairwiseReconstruction):
    """Weights-free stage-1 backend (``Stage1Backend``): DIS flow, essential matrix, dense triangulation;
    ``reconstruct`` then aligns the pairs with the focal the matcher used and fuses every pair of each frame.

    Args:
        config: every setting (:class:`~stereodiff.stage1.configs.GeometricConfig`, documented field by field there;
            thresholds in pixels are given at a 320-pixel long side and scaled with the working resolution).
        intrinsics: ``[3,3]`` pinhole matrix at the source resolution (overrides ``config.focal_px``; principal point
            used as given). Without either, the focal is self-calibrated (``focal_from_fundamentals``) and falls
            back to a 60° field of view; the principal point is the image centre.
        seed: seed of OpenCV's RNG (RANSAC), for reproducible output.
        **settings: fields of ``config`` to override, e.g. ``GeometricMatcher(resolution=160, chain_flows=False)``.

    After ``predict``, ``report`` holds the focal used, the offsets and per-pair geometry (``MatcherReport``).
    """

    def __init__(
        self,
        config: GeometricConfig | None = None,
        *,
        intrinsics: np.ndarray | None = None,
        seed: int = 0,
        **settings: Any,
    ) -> None:
        config = dataclasses.replace(config or GeometricConfig(), **settings)
        config.validate()
        self.settings = config
        if intrinsics is not None:
            intrinsics = np.asarray(intrinsics, dtype=np.float64)
            check_array("intrinsics", intrinsics, shape=(3, 3), kinds="f")
        self.resolution = int(config.resolution)
        self._long_side = self.resolution  # working long side of the current video: ≤ resolution, ≤ the source's
        self.focal_px = config.focal_px
        self.intrinsics = intrinsics
        self.offsets = tuple(int(o) for o in config.offsets) if config.offsets is not None else None
        self.num_offsets = int(config.num_offsets)
        self.min_parallax_deg = float(config.min_parallax_deg)
        self.offset_parallax = config.offset_parallax
        self.min_rotation_residual_deg = float(config.min_rotation_residual_deg)
        self.flow_preset = config.flow_preset
        self.flow_full_resolution = config.flow_full_resolution
        self.flow_patch_stride = int(config.flow_patch_stride)
        self.flow_descent_iterations = int(config.flow_descent_iterations)
        self.flow_variational_iterations = config.flow_variational_iterations
        self.chain_refine_iterations = config.chain_refine_iterations
        self.chain_flows = bool(config.chain_flows)
        self.fb_threshold_px = float(config.fb_threshold_px)
        self.fb_relative = float(config.fb_relative)
        self.forward_near = bool(config.forward_near)
        self.forward_fb_relative = float(config.forward_fb_relative)
        self.motion_boundary_margin_px = config.motion_boundary_margin_px
        self.min_epipolar_texture = float(config.min_epipolar_texture)
        self.flow_grey = str(config.flow_grey)
        self.epipolar_sigma_px = float(config.epipolar_sigma_px)
        self.angle_ref_deg = float(config.angle_ref_deg)
        self.min_angle_deg = float(config.min_angle_deg)
        self.depth_range = (float(config.depth_range[0]), float(config.depth_range[1]))
        self.far_parallax_px = float(config.far_parallax_px)
        self.unroll_max_change = float(config.rolling_shutter_max_change)
        self.unroll_rolled = config.rolling_shutter_changed == "rolled"
        self.distortion: tuple[float, ...] | str | None = config.distortion
        if isinstance(config.distortion, (tuple, list)):
            self.distortion = tuple(float(d) for d in config.distortion)
        if isinstance(self.distortion, tuple) and intrinsics is None and config.focal_px is None:
            raise InputError(
                "stage1 distortion needs the camera's focal length",
                "give focal_px (or intrinsics) with the distortion coefficients",
            )
        self.max_confidence = float(config.max_confidence)
        self.ransac_threshold_px = float(config.ransac_threshold_px)
        self.median_threshold_px = float(config.median_threshold_px)
        self.grid_cells = int(config.grid_cells)
        self.num_workers = int(config.num_workers)
        self.seed = int(seed)
        self.report = MatcherReport()
        # flows [h,w,2] (forward, backward) of the probe pairs of the current ``predict``, taken by the pair run
        self._probe_flows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._undistorted: np.ndarray | None = None  # [h,w,2] undistorted pixel grid of the current ``predict``
        self._rolling: RollingShutter | None = None  # the rolling shutter of the current ``predict`` (None: off)
        self._ahead = False  # the camera of the current ``predict`` moves along its view (``_looks_ahead``)
        self._moving_ahead = False  # ``forward_near`` applies to the current ``predict``
        self._focal_reason = ""  # of the current ``predict`` (MatcherReport.focal_reason)
        self._probe_inliers: list[float] = []  # the offset probe's essential-matrix inlier fractions (min_side_inliers)
        self._size: tuple[int, int] | None = None  # working (h, w) of the current ``predict``
        # the refined pair poses of the current ``predict``'s second pair run (pose_graph_refine), None otherwise
        self._given_poses: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None
        self._inside: dict[tuple[float, bool], list[bool]] = {}  # (focal px, global shutter) -> _epipoles_inside
        # the kept probe pairs' matches (pixels in a, in b) and poses of the current ``predict`` (_probe_matches)
        self._matches: dict[tuple[int, int], tuple[np.ndarray, np.ndarray] | None] = {}
        self._poses: dict[tuple[int, int, bytes], tuple[np.ndarray, np.ndarray, PairGeometry]] = {}

    # ------------------------------------------------------------------ public API

    def alignment_focal(self, preds: PairPredictions, frames: Any) -> float | None:
        """The focal the matcher triangulated with (given or self-calibrated), at the pairs' resolution."""
        focal = super().alignment_focal(preds, frames)
        return self.report.focal_px if focal is None else focal

    def finish(
        self, preds: PairPredictions, scene: SceneGeometry, scene_dir: Path | None, frames: Any
    ) -> SceneGeometry:
        """Every pair of each frame, fused (:func:`fuse_pair_depths`): the tree alone leaves holes and one pair's
        noise; then, with ``movers``, independently moving objects get depth from mover constraints
        (:func:`~stereodiff.stage1.movers.handle_movers`); then, with ``band_select``, the bands along the
        outlines choose their depth photometrically (:func:`~stereodiff.stage1.band_select.band_select`).

        Each step's input arrays in ``scene_dir`` are deleted as soon as the next step has replaced them (the
        alignment's world points before the fusion, which does not read them; its depth after the fusion; the
        fused depth after the movers), so the disk holds at most two steps' arrays besides the pairs. (An
        interrupted run redoes the alignment from the pairs: nothing is read back.)"""
        scene = dataclasses.replace(scene, aligned_pointmaps=None)  # the caller passed the only reference
        delete_arrays(scene_dir, "world_points")
        scene = self._fuse(preds, scene, scene_dir)
        delete_arrays(scene_dir, "depth", "confidence", "valid")
        if self.settings.depth_range_phantom_reach and self._near_bound() is not None:
            self._near_phantoms(scene)
        if self.settings.poses_from_pairs:
            scene = dataclasses.replace(scene, cam_to_world=pair_chain_poses(preds, scene))
        moving = None
        if self.settings.movers:
            from stereodiff.stage1.movers import handle_movers

            start = time.perf_counter()
            settings = mover_settings(self.settings, self._ahead)
            with workers_own_the_cores(self.num_workers):
                scene, moving = handle_movers(frames, scene, settings, out_dir=scene_dir, num_workers=self.num_workers)
            scene = dataclasses.replace(scene, pair_spread=None)  # read by the movers step alone
            delete_arrays(scene_dir, "fused_depth", "fused_confidence", "fused_valid", "fused_spread")
            self.timings["stage1_movers"] = time.perf_counter() - start
            self.report.moving_fraction = float(moving.mean())
            release(moving)  # read whole just now: its pages leave the resident set (memory flat in T)
        if self.settings.fusion_weak_rim:
            with workers_own_the_cores(self.num_workers):  # OpenCV's own pool would only contend with the workers
                weak_rim, keep_given = self._weak_rim(), self.settings.fusion_weak_rim_keep_given
                scene = leave_weak_rim(preds, scene, weak_rim, moving, keep_given, self.num_workers)
        if self.settings.fusion_edge_median:
            scene = self._edge_median(frames, scene, moving)
        if self.settings.band_select:
            scene = self._band_select(frames, scene, moving, scene_dir)
        near_given = None
        if self.settings.near_holes:  # the holes no earlier step gave depth to
            start = time.perf_counter()
            first = before_reach if scene.movers_reach is not None else near_hole_depth  # near_holes_before_reach
            scene, near_given = first(scene, near_holes_settings(self.settings), scene_dir, frames)
            self.timings["stage1_near_holes"] = time.perf_counter() - start
        if scene.movers_reach is not None:
            scene = dataclasses.replace(scene, movers_reach=None)  # read by near_holes alone
            delete_arrays(scene_dir, "movers_reach")
        if self.settings.movers and self.settings.movers_hole_carry_after and not self._ahead:
            c = self.settings
            carry, colour = int(c.movers_hole_carry), float(c.movers_hole_carry_colour)
            scene = hole_carry_after(scene, near_given, carry, float(c.movers_min_area), scene_dir, frames, colour)
        if self.settings.earlier_recheck and self._moving_ahead:
            scene = self._earlier_recheck(scene, moving, scene_dir)
        if self.settings.sky:  # last: on the final stage-1 holes, and no later step reads the sky's depth
            scene = self._sky(frames, scene, scene_dir)
        release(moving)
        # what the probe pairs said about the camera's motion, for stage 2 (``stage2.ahead_from_stage1``)
        return dataclasses.replace(scene, ahead_share=self.report.ahead_share)

    def _earlier_recheck(
        self, scene: SceneGeometry, moving: np.ndarray | None, scene_dir: Path | None
    ) -> SceneGeometry:
        """``earlier_recheck``: near static pixels far beyond the earlier frames' prediction take it
        (:func:`~stereodiff.stage1.earlier_recheck.recheck_far_from_earlier`, its depth a memmap in ``scene_dir``
        when given, its frames on ``num_workers`` threads); ``moving [T,h,w]`` (None: no movers step) and the movers'
        given pixels are left alone (with ``earlier_recheck_given``, the given ones are checked too)."""
        flagged = [mask for mask in (moving, scene.movers_given) if mask is not None]
        checked = scene.movers_given if self.settings.earlier_recheck_given else None
        s = self.settings
        settings = EarlierRecheck(
            float(s.earlier_recheck), int(s.earlier_recheck_frames), float(s.earlier_recheck_near)
        )
        start = time.perf_counter()
        with workers_own_the_cores(self.num_workers):  # its frames on the workers (each opens with OpenCV)
            scene, changed = recheck_far_from_earlier(scene, flagged, settings, scene_dir, self.num_workers, checked)
        self.timings["stage1_earlier_recheck"] = time.perf_counter() - start
        logger.info("earlier recheck: %d pixels took the earlier frames' depth", changed)
        return scene

    def _sky(self, frames: Any, scene: SceneGeometry, scene_dir: Path | None) -> SceneGeometry:
        """The scene with its sky made holes and recorded (:mod:`stereodiff.stage1.sky`, ``sky*`` settings), timed
        as ``stage1_sky``."""
        from stereodiff.stage1.sky import SkySettings, apply_sky, detect_sky

        c = self.settings
        settings = SkySettings(
            max_gradient=float(c.sky_max_gradient),
            min_value=float(c.sky_min_value),
            min_blue=float(c.sky_min_blue),
            min_hole=float(c.sky_min_hole),
            max_near=float(c.sky_max_near),
            through=bool(c.sky_through),
            video_colour=float(c.sky_video_colour),
            min_frames=float(c.sky_min_frames),
            grow=int(c.sky_grow),
            grow_colour=float(c.sky_grow_colour),
            grow_step=float(c.sky_grow_step),
            grow_blue=float(c.sky_grow_blue),
            carry=bool(c.sky_carry),
            near_recheck=float(c.sky_near_recheck),
            near_gap=int(c.sky_near_recheck_gap),
        )
        start = time.perf_counter()
        with workers_own_the_cores(self.num_workers):
            sky = detect_sky(frames, scene, settings, scene_dir, self.num_workers)
        if sky is not None:
            scene = apply_sky(scene, sky, bool(c.sky_holes))
        self.timings["stage1_sky"] = time.perf_counter() - start
        return scene

    def _fuse(self, preds: PairPredictions, scene: SceneGeometry, out_dir: Path | None = None) -> SceneGeometry:
        """:func:`fuse_pair_depths` of ``preds`` into the aligned ``scene`` with this matcher's fusion settings (its
        arrays in ``out_dir`` when given), the workers owning the cores."""
        with workers_own_the_cores(self.num_workers):
            return fuse_pair_depths(
                preds,
                scene,
                stride=self.settings.fusion_stride,
                out_dir=out_dir,
                num_workers=self.num_workers,
                view_offsets=self.settings.fusion_view_offsets,
                near_bound=self._near_bound(),
                spread=self._far_spread(),
            )

    def _far_spread(self) -> bool:
        """Whether the movers step reads the fusion's ``pair_spread`` (``movers_far_spread`` with
        ``movers_far_occluded``, a sideways camera)."""
        return bool(self.settings.movers) and mover_settings(self.settings, self._ahead).far_spread > 0

    def _near_bound(self) -> tuple[float, int, float] | None:
        """The fusion's ``near_bound`` (``depth_range_window``): ``(depth_range[0], window,
        depth_range_window_area)``, or None when off or
        when the video moves ahead with ``forward_near`` (its pairs looking ahead have no lower bound for their
        well-conditioned pixels, and a bound against the window's median cut the near scenery at the image border:
        driving seeds 564–567 +1.2 … +19.8 % final AbsRel)."""
        window = int(self.settings.depth_range_window)
        if not window or self._moving_ahead:
            return None
        lo = float(self.depth_range[0])
        if not self.settings.depth_range_phantom_reach:  # else by regions after the fusion (_near_phantoms)
            lo = max(lo, float(self.settings.depth_range_phantom))
        return lo, window, float(self.settings.depth_range_window_area)

    def _near_phantoms(self, scene: SceneGeometry) -> None:
        """``depth_range_phantom`` with ``depth_range_phantom_reach``: the fused regions nearer than it times the
        window's median (:func:`near_regions`) become holes, in place."""
        from stereodiff.progress import logger

        c = self.settings
        lo, window = float(c.depth_range_phantom), int(c.depth_range_window)
        area, reach = float(c.depth_range_window_area), float(c.depth_range_phantom_reach)
        pixels = frames = 0
        for k, marked in near_regions(scene, lo, window, area, reach):
            scene.depth[k][marked] = 0.0
            scene.confidence[k][marked] = 0.0
            scene.valid[k][marked] = False
            pixels, frames = pixels + int(marked.sum()), frames + 1
        logger.info(
            "fusion: %.2f %% of the pixels (regions nearer than %.2f× the window's median) made holes in %d frames",
            100 * pixels / scene.depth.size,
            lo,
            frames,
        )

    def _weak_rim(self) -> WeakRim:
        """The :class:`WeakRim` of the ``fusion_weak_rim*`` settings."""
        c = self.settings
        return WeakRim(
            float(c.fusion_weak_rim),
            float(c.fusion_weak_rim_px),
            self.max_confidence,
            self.angle_ref_deg,
            min_island=float(c.fusion_weak_rim_island),
            island_nearer=float(c.fusion_weak_rim_island_nearer),
            island_hole=float(c.fusion_weak_rim_island_hole),
        )

    def _edge_median(self, frames: Any, scene: SceneGeometry, moving: np.ndarray | None) -> SceneGeometry:
        """:func:`~stereodiff.stage1.edge_median.edge_median` with this matcher's ``fusion_edge_median*`` settings
        (the movers step's ``moving [T,h,w]`` pixels and those it gave depth kept unless
        ``fusion_edge_median_movers``), timed as ``stage1_edge_median``."""
        from stereodiff.stage1.edge_median import EdgeMedian, edge_median

        c = self.settings
        start = time.perf_counter()
        settings = EdgeMedian(
            float(c.fusion_edge_median),
            half=int(c.fusion_edge_median_half),
            colour_sigma=float(c.fusion_edge_median_colour),
            step=float(c.fusion_edge_median_step),
            remove=float(c.fusion_edge_median_remove),
            stride=int(c.fusion_edge_median_stride),
            spread=float(c.fusion_edge_median_spread),
            confidence=bool(c.fusion_edge_median_confidence),
        )
        movers = bool(c.fusion_edge_median_movers)
        with workers_own_the_cores(self.num_workers):
            scene = edge_median(frames, scene, settings, None if movers else moving, not movers, self.num_workers)
        self.timings["stage1_edge_median"] = time.perf_counter() - start
        return scene

    def _band_select(
        self, frames: Any, scene: SceneGeometry, moving: np.ndarray | None, scene_dir: Path | None
    ) -> SceneGeometry:
        """:func:`~stereodiff.stage1.band_select.band_select` with this matcher's ``band_select_*`` settings; the
        arrays it replaced are deleted from ``scene_dir``."""
        from stereodiff.stage1.band_select import BandSettings, band_select

        c = self.settings
        start = time.perf_counter()
        settings = BandSettings(
            rim_px=int(c.band_select_rim_px),
            offsets=tuple(int(o) for o in c.band_select_offsets),
            best_k=int(c.band_select_best_k),
            patch=int(c.band_select_patch),
            margin=float(c.band_select_margin),
            holes=bool(c.band_select_holes),
            extrapolate=int(c.band_select_extrapolate_px),
        )
        with workers_own_the_cores(self.num_workers):
            scene = band_select(frames, scene, moving, settings, out_dir=scene_dir, num_workers=self.num_workers)
        delete_arrays(scene_dir, "fused_depth", "fused_confidence", "fused_valid", "movers_depth", "movers_confidence")
        delete_arrays(scene_dir, "movers_valid")
        self.timings["stage1_band_select"] = time.perf_counter() - start
        return scene

    def predict(
        self, frames: Any, pairs: np.ndarray | None = None, *, cache_dir: Path | None = None
    ) -> PairPredictions:
        """Pairwise pointmaps of ``frames``.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB array-like (may be a ``np.memmap``; read one frame at a time).
            pairs: ``[P,2]`` directed frame pairs, or ``None`` for the adaptive default graph (Fibonacci offsets
                chosen from the measured parallax, symmetrised: forward pairs first, then their reverses).
            cache_dir: when given, results go to a ``RayPairCache`` there; pairs already done are skipped.

        Returns:
            ``PairPredictions`` at the working resolution ``(h, w)``: ``pts_i``/``pts_j`` ``[P,h,w,3]`` float32 in
            camera ``i`` (arbitrary per-pair scale), ``conf_i``/``conf_j`` ``[P,h,w]`` float32 ≥ 1; row views of
            depth along the pixel rays (:class:`~stereodiff.stage1.ray_pairs.RayDepthPairs`, memory-mapped from
            the cache when there is one), computed pair by pair when indexed.
        """
        import cv2

        # 1. Check inputs
        shape = getattr(frames, "shape", None)
        if shape is None or len(shape) != 4 or shape[3] != 3:
            raise InputError(f"frames must be a [T,H,W,3] array, got shape {shape}", "pass RGB frames")
        if np.dtype(getattr(frames, "dtype", None)) != np.uint8:
            raise InputError(f"frames must be uint8 RGB, got dtype {frames.dtype}", "convert frames to uint8")
        num_frames, height, width = int(shape[0]), int(shape[1]), int(shape[2])
        if num_frames < 2:
            raise InputError(f"the geometric matcher needs at least 2 frames, got {num_frames}")
        if pairs is not None:
            pairs = self._check_pairs(pairs, num_frames)
        cv2.setRNGSeed(self.seed)
        self._probe_flows = {}
        try:
            with workers_own_the_cores(self.num_workers):
                return self._predict(frames, pairs, num_frames, height, width, cache_dir)
        finally:
            self._probe_flows, self._matches, self._poses = {}, {}, {}

    def _predict(
        self, frames: Any, pairs: np.ndarray | None, num_frames: int, height: int, width: int, cache_dir: Path | None
    ) -> PairPredictions:
        """``predict`` after its input checks."""
        # the pair graph's connectivity check needs scipy.sparse (0.11-0.13 s to import): imported while the
        # grey frames and the probes run, not alone between two probe steps (docs/geometric.md, s18-speed)
        import_in_background("scipy.sparse.csgraph")
        # 2. Working-resolution grayscale frames (the only per-frame data; memory-mapped next to the pair cache)
        self._long_side = min(self.resolution, max(height, width))  # never upsample: it adds cost, not detail
        size = working_size(height, width, self.resolution)  # (h, w)
        self._size = size
        gray = self._grayscale(frames, size, None if cache_dir is None else Path(cache_dir) / "gray.npy")  # [T,h,w]
        self._rolling = None  # (self-calibration runs on a global shutter)
        # a given distortion needs the focal; an estimated one (division model) does not, and the self-calibration
        # then runs on its undistorted matches
        division, division_reason = self._estimate_distortion(gray) if self.distortion == "auto" else (None, "")
        self._undistorted = None if not division else division_grid(size, division)
        self._given_pairs, self._early_offsets = pairs, None  # for the cascade's shared flows (_graph_direct_pairs)
        self._inside, self._matches, self._poses = {}, {}, {}
        self.report = MatcherReport()  # of this predict (the cascade's early offsets write to it)
        K, focal_source = self._intrinsics((height, width), size, gray)
        if isinstance(self.distortion, tuple):
            self._undistorted = undistorted_grid(size, K, self.distortion)
        if self.settings.rolling_shutter_readout is not None:
            self._rolling = self._rolling_shutter(gray, K)
        self.report.focal_px, self.report.focal_source = float(K[0, 0]), focal_source
        self.report.focal_reason = self._focal_reason
        if self.settings.rolling_shutter_readout is not None:
            self.report.rolling_shutter_readout = 0.0 if self._rolling is None else self._rolling.readout
        if self.distortion == "auto":
            self.report.distortion_division, self.report.distortion_reason = division or 0.0, division_reason
        logger.info(
            "geometric matcher: %dx%d working resolution, focal %.1f px (%s)", size[1], size[0], K[0, 0], focal_source
        )

        # 3. Pair graph
        if pairs is None and self.offsets is None and self.settings.pair_graph == "per_frame":
            pairs = self._per_frame_pairs(gray, K)
            forward = pairs[: len(pairs) // 2]
            self.report.offsets = tuple(int(o) for o in np.unique(forward[:, 1] - forward[:, 0]))
            logger.info(
                "geometric matcher: per-frame pairs, smallest offsets %s, %d directed pairs (%.2f per frame)",
                dict(Counter(self.report.frame_offsets)),
                len(pairs),
                len(pairs) / num_frames,
            )
        elif pairs is None:
            if self._early_offsets is not None and self._rolling is None:  # measured before the focal, global
                # shutter (the cascade: _graph_direct_pairs)
                offsets = self._early_offsets
            else:
                offsets = self.offsets or self._adaptive_offsets(gray, K)
            pairs = default_pairs(num_frames, offsets)
            self.report.offsets = tuple(offsets)
            logger.info("geometric matcher: offsets %s, %d directed pairs", tuple(offsets), len(pairs))

        # probe only where the answer changes something: forward_near, or a mover knob gated on it (mover_settings)
        gated = self.settings.movers and mover_settings(self.settings, True) != mover_settings(self.settings, False)
        self._ahead = (self.forward_near or gated) and self._looks_ahead(gray, K)
        self._moving_ahead = self.forward_near and self._ahead

        self._given_poses = None
        if not self.settings.pose_graph_refine:
            return self._pair_run(pairs, gray, K, num_frames, cache_dir)
        # the first run's arrays are referenced by the callee alone: it lets them go before the second run
        return self._refined_pair_run(self._pair_run(pairs, gray, K, num_frames, cache_dir), frames, gray, K, cache_dir)

    def _pair_run(
        self, pairs: np.ndarray, gray: np.ndarray, K: np.ndarray, num_frames: int, cache_dir: Path | None
    ) -> PairPredictions:
        """Steps 4–5 of :meth:`_predict`: every pair of ``pairs`` ``[P,2]`` matched and triangulated (with
        ``_given_poses`` when set), from the grey frames ``[T,h,w]`` and camera ``K``."""
        size = gray.shape[1:]
        # 4. Output arrays: depth along the pixel rays per unordered pair (a RayPairCache when resuming)
        rays = np.ascontiguousarray(self._steps().rays(*size, K).reshape(*size, 3))  # [h,w,3], z = 1
        todo = np.arange(len(pairs))
        if cache_dir is not None:
            from stereodiff.stage1.cache import RayPairCache

            store: Any = RayPairCache.open(Path(cache_dir), pairs, rays, num_frames)
            todo = store.missing()
        else:
            store = RayDepthPairs.empty(pairs, num_frames, rays)
        edge_of = {(int(a), int(b)): e for e, (a, b) in enumerate(store.edges.tolist())}

        # 5. One computation per unordered pair serves both directions; long pairs compose the flows of two short ones
        unordered: dict[tuple[int, int], list[int]] = {}
        for k in todo:
            i, j = int(pairs[k, 0]), int(pairs[k, 1])
            unordered.setdefault((min(i, j), max(i, j)), []).append(int(k))
        plan = flow_plan({(int(min(i, j)), int(max(i, j))) for i, j in pairs}) if self.chain_flows else {}
        self._probe_flows = {ab: f for ab, f in self._probe_flows.items() if ab in unordered and ab not in plan}
        for ((a, b), _rows), (depth, conf, pose, geom) in progress(
            self._map_pairs(list(unordered.items()), gray, K, plan), desc="geometric pairs", total=len(unordered)
        ):
            self.report.pairs.append(geom)
            if len(self.report.pairs) % 256 == 0:
                release(gray)  # frames already matched leave the resident set (memory flat in T)
            e = edge_of[(a, b)]
            if cache_dir is not None:
                store.write(e, depth, conf, pose)
            else:
                store.depth[e], store.conf[e], store.pose[e] = depth, conf, pose

        self._report_failures(pairs)
        return store.predictions()

    def _refined_pair_run(
        self, preds: PairPredictions, frames: Any, gray: np.ndarray, K: np.ndarray, cache_dir: Path | None
    ) -> PairPredictions:
        """``pose_graph_refine``: the poses of the first pair run ``preds`` (aligned, fused, chained:
        :func:`pair_chain_poses`) refined over the ok pairs' kept matches (:func:`refine_pose_graph`), then the pair
        run again with each ok pair's relative pose from the refined frames (its cache in ``cache_dir/refined``).
        The matches are those of the pairs matched in this call: a run resumed from a cache refines over the pairs
        it computed (none: ``preds`` is returned as it is). Memory: 32 bytes per kept match (TUM fr1/desk, 312 ok
        pairs × 50: 0.5 MB) besides the second run's pair arrays (the first run's are let go before it)."""
        from stereodiff.stage1.pose_graph import PairMatches, refine_pose_graph, relative_poses

        start = time.perf_counter()
        kept = [g for g in self.report.pairs if g.ok and g.matches is not None]
        if not kept:
            return preds
        matches = [PairMatches(int(g.pair[0]), int(g.pair[1]), *g.matches) for g in kept]
        scene = self._fuse(preds, self.align(preds, frames))
        refined = refine_pose_graph(
            pair_chain_poses(preds, scene),
            matches,
            K,
            max_nfev=int(self.settings.pose_graph_max_nfev),
            baseline_tolerance=float(self.settings.pose_graph_baseline_tolerance),
        )
        pairs = np.asarray(preds.pairs)
        del scene, preds
        seconds = time.perf_counter() - start
        self.report.pose_graph = (
            f"{'converged' if refined.converged else 'not converged'} in {refined.iterations} iterations, "
            f"{refined.evaluations} evaluations; cost {refined.cost_before:.4g} → {refined.cost_after:.4g} px²"
        )
        logger.info(
            "geometric matcher: pose graph of %d pairs %s (%.1f s)", len(matches), self.report.pose_graph, seconds
        )
        if hasattr(self, "timings"):  # set by reconstruct
            self.timings["stage1_pose_graph"] = seconds
        estimated = {tuple(g.pair): g.t for g in kept}  # t's side: the Sampson residuals do not see it
        self._given_poses = relative_poses(refined.poses, list(estimated), like=estimated)
        self.report.pairs = []
        try:
            refined_dir = None if cache_dir is None else Path(cache_dir) / "refined"
            return self._pair_run(pairs, gray, K, len(gray), refined_dir)
        finally:
            self._given_poses = None

    # ------------------------------------------------------------------ steps

    def _map_pairs(
        self,
        items: list[tuple[tuple[int, int], list[int]]],
        gray: np.ndarray,
        K: np.ndarray,
        plan: dict[tuple[int, int], int],
    ) -> Iterator[Any]:
        """``(item, _pair(...))`` for every ``((a, b), rows)`` item, on ``num_workers`` threads (OpenCV and large
        numpy operations release the GIL). The pairs in ``plan`` (:func:`flow_plan`) compose the flows of their two
        halves, refined by one variational pass (the last step of DIS, a quarter of its cost). Items run by last
        frame (composed pairs ``num_workers`` frames later), then first frame descending, so both halves always
        come first, and a half's flows are kept only until the pairs composed from it are done (memory flat in
        T). At most ``2 · num_workers + 1`` pairs are in flight. Each pair seeds OpenCV's (thread-local) RNG from
        its frame indices, and a half done in an earlier run (resume) is computed again, identically, so the
        output depends neither on the threads nor on the cache."""
        import threading
        from concurrent.futures import Future

        import cv2

        local = threading.local()
        lock = threading.Lock()
        steps = self._steps()
        rays_all = np.ascontiguousarray(steps.rays(*gray.shape[1:], K).T).T  # [h*w,3], z = 1 (each axis contiguous)
        # by last frame; a composed pair goes num_workers frames later, so its halves (same or earlier last frame)
        # are finished rather than running when a worker takes it (no worker idles waiting for the other)
        lag = self.num_workers
        items = sorted(items, key=lambda item: (item[0][1] + (lag if item[0] in plan else 0), -item[0][0]))
        todo = {a_b for a_b, _ in items}
        users: Counter = Counter()  # composed pairs of this run still needing a directly computed half
        for (a, b), _ in items:
            if (a, b) in plan:
                users.update(half for half in ((a, plan[(a, b)]), (plan[(a, b)], b)) if half in todo)
        halves: dict[tuple[int, int], Future] = {half: Future() for half in users}

        def direct(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            probed = self._probe_flows.pop((a, b), None)  # a probe pair of the graph: its flows are known
            return probed or dis_flows(self._thread_engine(local), gray[a], gray[b])

        def composed(a: int, m: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            (flow_am, flow_ma), (flow_mb, flow_bm) = half_flows((a, m)), half_flows((m, b))
            forward, backward = compose_flows(flow_am, flow_mb), compose_flows(flow_bm, flow_ma)
            if self.chain_refine_iterations == 0:
                return forward, backward  # the composed flows as they are
            if not hasattr(local, "refine"):
                local.refine = cv2.VariationalRefinement_create()  # DIS's own refinement, at the working resolution
                if self.chain_refine_iterations is not None:
                    local.refine.setFixedPointIterations(self.chain_refine_iterations)
            return local.refine.calc(gray[a], gray[b], forward), local.refine.calc(gray[b], gray[a], backward)

        def half_flows(half: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
            if half not in halves:  # done in an earlier run (resume): computed again, identically
                return direct(*half)
            flows = halves[half].result()
            with lock:
                users[half] -= 1
                if users[half] == 0:
                    del halves[half]
            return flows

        def work(item: tuple[tuple[int, int], list[int]]) -> Any:
            (a, b), _ = item
            if (a, b) in plan:
                flows = composed(a, plan[(a, b)], b)
            else:
                try:
                    flows = direct(a, b)
                except BaseException as error:
                    if (a, b) in halves:
                        halves[(a, b)].set_exception(error)
                    raise
                if (a, b) in halves:
                    halves[(a, b)].set_result(flows)
            self._seed_rng(a, b)
            grey = (gray[a], gray[b]) if self.min_epipolar_texture else None
            return item, steps.views(*flows, K, rays_all, (a, b), grey)

        return thread_imap(work, items, self.num_workers)

    @staticmethod
    def _check_pairs(pairs: np.ndarray, num_frames: int) -> np.ndarray:
        pairs = np.asarray(pairs)
        if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
            raise InputError(f"pairs must be an integer [P,2] array, got shape {pairs.shape} dtype {pairs.dtype}")
        if len(pairs) == 0:
            raise InputError("pairs is empty", "pass at least one (i, j) pair or None for the default graph")
        if pairs.min() < 0 or pairs.max() >= num_frames:
            raise InputError(f"pairs must index frames 0..{num_frames - 1}, got values {pairs.min()}..{pairs.max()}")
        if np.any(pairs[:, 0] == pairs[:, 1]):
            raise InputError("pairs must not pair a frame with itself")
        return pairs.astype(np.int64)

    def _grayscale(self, frames: Any, size: tuple[int, int], path: Path | None) -> np.ndarray:
        """``[T,h,w]`` uint8 grey frames at ``size`` (``flow_grey``): in RAM, or a memmap at ``path`` (rebuilt on
        every call)."""
        projection = grey_projection(frames, size, self.flow_grey)
        h, w = size
        if path is None:
            gray = np.empty((len(frames), h, w), np.uint8)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            gray = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(len(frames), h, w))
        for t in range(len(frames)):
            gray[t] = grey_frame(frames[t], size, projection)  # one frame from the (mem-mapped) video
        release(gray)
        return gray

    def _flow_engine(self) -> Any:
        full_resolution = self.flow_full_resolution
        if full_resolution is None:
            full_resolution = self._long_side <= FULL_RESOLUTION_FLOW_MAX
        if not full_resolution:
            return dis_engine(self.flow_preset, variational_iterations=self.flow_variational_iterations)
        # finest scale 0 (the presets stop at 1 or 2): on rendered scenes this halves the depth error of the preset
        return dis_engine(
            self.flow_preset,
            finest_scale=0,
            patch_stride=self.flow_patch_stride,
            descent_iterations=self.flow_descent_iterations,
            variational_iterations=self.flow_variational_iterations,
        )

    def _seed_rng(self, a: int, b: int) -> None:
        """Seed OpenCV's (thread-local) RNG for the pair ``(a, b)``: RANSAC results do not depend on the threads."""
        import cv2

        cv2.setRNGSeed(self.seed * 1_000_003 + a * 7919 + b)

    def _thread_engine(self, local: Any) -> Any:
        """The calling thread's DIS engine, kept in ``local`` (a ``threading.local``; DIS is not thread-safe)."""
        if not hasattr(local, "dis"):
            local.dis = self._flow_engine()
        return local.dis

    def _steps(self) -> PairSteps:
        """The per-pair steps with this matcher's settings at the current working resolution (``forward_near``
        only when the video moves ahead, :meth:`_looks_ahead`)."""
        own = {"px_scale", "undistorted", "forward_near", "rolling_shutter", "accept_focal_px"}
        own |= {"keep_matches", "given_poses"}
        settings = {f.name: getattr(self, f.name) for f in fields(PairSteps) if f.name not in own}
        prior = self.settings.accept_focal == "prior" and self._size is not None
        keep = int(self.settings.pose_graph_matches) if self.settings.pose_graph_refine else 0
        return PairSteps(
            **settings,
            keep_matches=0 if self._given_poses is not None else keep,
            given_poses=self._given_poses,
            forward_near=self._moving_ahead,
            px_scale=self._px_scale,
            undistorted=self._undistorted,
            rolling_shutter=self._rolling,
            accept_focal_px=prior_focal(self._size) if prior else None,
        )

    def _rolling_shutter(self, gray: np.ndarray, K: np.ndarray) -> RollingShutter | None:
        """The video's rolling shutter (``rolling_shutter_readout``), or None for a global shutter (readout 0).

        The consecutive pairs ``(k, k + 1)`` get their well-spread matches (DIS flows, one more per frame) and
        relative rotations (essential matrix; a low-parallax pair's rotation counts too); each frame's angular
        velocity is the mean of its two sides' (:func:`frame_angular_velocities`). With ``"auto"`` every readout of
        :data:`~stereodiff.stage1.rolling_shutter.READOUT_GRID` re-estimates those pairs on the matches un-rolled
        with these velocities and the least median Sampson residual wins (:func:`choose_readout`). The velocities
        are then measured once more on the un-rolled matches of the chosen readout. With ``rolling_shutter_detect``
        the readout (given or chosen) is used only when :func:`detect_readout` finds the shutter rolling; with
        ``rolling_shutter_min_shift`` only when the un-rolling would move the pairs' matches by that many times the
        consecutive pairs' median Sampson residual at readout 0 (:func:`unrolling_shift`). With
        ``rolling_shutter_search_stride`` ``s`` the mirror test and the descent read the pairs ``k ≡ 0 (mod s)``
        only; the readout-0 pass and the chosen readout's (completed on the other pairs) stay on every pair. With
        ``rolling_shutter_occam`` ``z`` (and ``"auto"``) the descent takes the smallest readout whose median residual
        is within ``z`` bootstrap standard errors of the least one (:func:`occam_readout`)."""
        import threading

        num_frames, h = len(gray), gray.shape[1]
        local = threading.local()
        steps = self._steps()

        def matches(k: int) -> tuple[int, np.ndarray, np.ndarray] | None:
            flows = dis_flows(self._thread_engine(local), gray[k], gray[k + 1])
            found = steps.sample_matches(*steps.checked_view(*flows))
            return None if found is None else (k, *found)

        if self.settings.rolling_shutter_detect and self.settings.rolling_shutter_screen:
            screened = self._screen_rolling_shutter(gray, K, steps)
            self.report.rolling_shutter_screen = screened
            if not screened >= SCREEN_MIN_CHANGE_DEG:
                logger.info(
                    "geometric matcher: rolling-shutter screen: angular velocity changes %.3f°/frame (needs %.3f): "
                    "no correction",
                    screened,
                    SCREEN_MIN_CHANGE_DEG,
                )
                return None
        found = [m for m in thread_map(matches, list(range(num_frames - 1)), self.num_workers, "shutter flows") if m]

        every = {k for k, _, _ in found}
        stride = self.settings.rolling_shutter_search_stride
        searched = {k for k in every if k % stride == 0}  # the mirror test's and the descent's pairs
        base = self._pair_rotations(found, K, steps, 0.0, None)
        sharpen = self.settings.rolling_shutter_sharp_velocity  # the un-rolling's velocities
        search_sharpen = sharpen or self.settings.rolling_shutter_sharp_search  # the search's
        base_omega = frame_angular_velocities({k: R for k, (R, _) in base.items()}, num_frames, search_sharpen)
        # per readout: the pairs re-estimated so far and their results (failed pairs left out); a pass is per pair,
        # so one completed later on the other pairs is the pass over all of them
        refined: dict[float, tuple[set[int], dict[int, tuple[np.ndarray, float]]]] = {0.0: (every, base)}

        def at(readout: float, pairs: set[int] = every) -> dict[int, tuple[np.ndarray, float]]:
            tried, done = refined.setdefault(readout, (set(), {}))
            todo = [m for m in found if m[0] in pairs and m[0] not in tried]
            if todo:
                done.update(self._pair_rotations(todo, K, steps, readout, base_omega))
                tried.update(m[0] for m in todo)
            return {k: done[k] for k in sorted(done) if k in pairs}

        def residuals(readout: float) -> dict[int, float]:
            return {k: r for k, (_, r) in at(readout, searched).items()}

        setting = self.settings.rolling_shutter_readout
        if self.settings.rolling_shutter_detect:  # a given readout needs the descent only: every other readout
            occam = self.settings.rolling_shutter_occam if setting == "auto" else 0.0
            grid = READOUT_GRID if setting == "auto" else COARSE_GRID
            readout, asymmetry, costs = detect_readout(residuals, grid, occam=occam)
            self.report.rolling_shutter_asymmetry = asymmetry
            logger.info(
                "geometric matcher: rolling-shutter mirror test %+.3f (needs < %+.3f), readout %.2f frame by the "
                "median Sampson residual (%s): %s",
                asymmetry,
                -MIRROR_MARGIN,
                readout,
                ", ".join(f"{r:g}: {c:.4f}" for r, c in costs.items()),
                "rolling shutter" if readout else "global shutter, no correction",
            )
            if readout and setting != "auto":
                readout = float(setting)
        elif setting == "auto":
            readout, costs = choose_readout(lambda r: median_residual(residuals(r)))
            if self.settings.rolling_shutter_occam > 0:
                readout = occam_readout(residuals, costs, readout, self.settings.rolling_shutter_occam)[0]
            logger.info(
                "geometric matcher: rolling-shutter readout %.2f frame (median Sampson residual %s)",
                readout,
                ", ".join(f"{r:g}: {c:.4f}" for r, c in costs.items()),
            )
        else:
            readout = float(setting)
        if readout == 0:
            return None
        omega = frame_angular_velocities({k: R for k, (R, _) in at(readout).items()}, num_frames, sharpen)  # again
        min_shift = self.settings.rolling_shutter_min_shift
        if min_shift > 0:
            frames = [(k, steps.undistort(x_a), x_a[:, 1]) for k, x_a, _ in found]
            noise = median_residual({k: r for k, (_, r) in base.items()})
            ratio = unrolling_shift(frames, K, omega, readout, h) / noise if noise > 0 else float("nan")
            self.report.rolling_shutter_shift = ratio
            if not ratio >= min_shift:
                logger.info(
                    "geometric matcher: un-rolling at readout %.2f would move the pairs' matches by %.2f× the "
                    "consecutive pairs' median Sampson residual (needs %.2f×): no correction",
                    readout,
                    ratio,
                    min_shift,
                )
                return None
        return RollingShutter(readout, omega, h)

    def _pair_rotations(
        self,
        found: list[tuple[int, np.ndarray, np.ndarray]],
        K: np.ndarray,
        steps: PairSteps,
        readout: float,
        omega: np.ndarray | None,
    ) -> dict[int, tuple[np.ndarray, float]]:
        """``{k: (R [3,3], residual)}``: each consecutive pair ``(k, k + 1)`` of ``found`` (``(k, x_a [N,2],
        x_b [N,2])``, raw pixels) re-estimated on its matches un-rolled with ``omega [T,3]`` at ``readout`` (as
        captured when ``omega`` is None): its rotation and median Sampson residual (pixels); failed pairs left
        out."""
        h = self._size[0]

        def one(item: tuple[int, np.ndarray, np.ndarray]) -> tuple[int, np.ndarray, float] | None:
            k, x_a, x_b = item
            u_a, u_b = steps.undistort(x_a), steps.undistort(x_b)
            if omega is not None:
                u_a = unroll_pixels(u_a, x_a[:, 1], K, omega[k], readout, h)
                u_b = unroll_pixels(u_b, x_b[:, 1], K, omega[k + 1], readout, h)
            self._seed_rng(k, k + 1)
            geom = steps.relative_pose(u_a, u_b, K, (k, k + 1))
            if geom.failure not in ("", "low parallax"):
                return None
            F = fundamental_from_pose(geom.R, geom.t, K)
            return k, geom.R, float(np.median(sampson_distance(u_a, u_b, F)))

        done = thread_map(one, found, self.num_workers, "shutter poses")
        return {r[0]: (r[1], r[2]) for r in done if r is not None}

    def _screen_rolling_shutter(self, gray: np.ndarray, K: np.ndarray, steps: PairSteps) -> float:
        """The statistic of ``rolling_shutter_screen``: the median change of the angular velocity between
        consecutive frames (degrees per frame; NaN when none is known) over the runs of :func:`screen_runs` (a few
        consecutive frames spread over the clip), matched sparsely (~7 ms a pair) instead of by the matcher's dense
        flows. Without such changes un-rolling cannot change a pair's fit. By default from the consecutive pairs'
        rotations (:meth:`_screen_pairs`); with ``rolling_shutter_screen_tracks`` from the second differences of each
        run's corner tracks (:meth:`_screen_tracks`)."""
        screen = self._screen_tracks if self.settings.rolling_shutter_screen_tracks else self._screen_pairs
        changes = screen(gray, K, steps)
        return float(np.degrees(np.median(changes))) if len(changes) else float("nan")

    def _screen_pairs(self, gray: np.ndarray, K: np.ndarray, steps: PairSteps) -> np.ndarray:
        """``[M]`` radians per frame: the changes of the angular velocity of ``rolling_shutter_screen`` from the
        relative rotations of the consecutive pairs of :func:`screen_pairs`, matched by :func:`corner_matches`
        (:func:`angular_velocity_changes`)."""

        def matches(k: int) -> tuple[int, np.ndarray, np.ndarray] | None:
            found = corner_matches(gray[k], gray[k + 1])
            return None if found is None else (k, *found)

        found = [m for m in thread_map(matches, screen_pairs(len(gray)), self.num_workers, "shutter screen") if m]
        rotations = {k: R for k, (R, _) in self._pair_rotations(found, K, steps, 0.0, None).items()}
        return angular_velocity_changes(rotations)

    def _screen_tracks(self, gray: np.ndarray, K: np.ndarray, steps: PairSteps) -> np.ndarray:
        """``[M]`` radians per frame: the changes of the angular velocity of ``rolling_shutter_screen_tracks``, one
        per three consecutive frames of each run of :func:`screen_runs`: :func:`corner_tracks` through the run,
        undistorted, and :func:`angular_acceleration` of each three frames (robust to tracks on moving objects; no
        essential matrix)."""
        length = min(SCREEN_WINDOW_FRAMES, len(gray))

        def run(start: int) -> list[float]:
            tracks = corner_tracks(gray[start : start + length])
            if tracks is None:
                return []
            x = np.stack([steps.undistort(t) for t in tracks])
            seeds = (self.seed * 1_000_003 + (start + i) * 7919 for i in range(len(x) - 2))
            return [float(np.linalg.norm(angular_acceleration(x[i : i + 3], K, seed))) for i, seed in enumerate(seeds)]

        runs = thread_map(run, screen_runs(len(gray)), self.num_workers, "shutter screen")
        return np.array([change for changes in runs for change in changes])

    def _estimate_distortion(self, gray: np.ndarray) -> tuple[float | None, str]:
        """``(λ, reason)``: the division model of ``distortion="auto"`` (:func:`division_from_matches`) from the
        probe pairs 8 frames apart (the focal probes' pairs: their flows are kept for the rest of the run), or
        ``(None, why not)``."""
        offset = min(8, len(gray) - 1)
        matches = self._probe(gray, self._probe_pairs(len(gray), offset), lambda a, b, x_a, x_b: (x_a, x_b))
        estimate = division_from_matches(matches, gray.shape[1:])
        if estimate.division is None:
            logger.info("geometric matcher: no lens distortion estimated (%s)", estimate.reason)
            return None, estimate.reason
        logger.info(
            "geometric matcher: lens distortion λ %+.3f (corner %+.1f %%; no distortion costs %.3f× the least)",
            estimate.division,
            100 * (1 / (1 + estimate.division) - 1),
            estimate.contrast,
        )
        return estimate.division, ""

    def _looks_ahead(self, gray: np.ndarray, K: np.ndarray) -> bool:
        """Whether the camera moves along its view (``forward_near``, the movers' ``ahead``): the epipole of at
        least ``AHEAD_SHARE`` of the probe pairs 8 frames apart (the focal probes' pairs, whose flows are known) lies
        inside the image. A video-wide decision: the translation of a short hand-held pair is too poorly determined
        to trust its epipole alone (TUM fr1/desk: 24 of 616 pair views with the epipole inside, near its low-parallax
        start)."""
        found = self._epipoles_inside(gray, K)
        self.report.ahead_share = float(np.mean(found)) if found else float("nan")
        ahead = _along_view(found)
        logger.info(
            "geometric matcher: epipole inside the image in %d of %d probe pairs: the camera %s along its view",
            sum(found),
            len(found),
            "moves" if ahead else "does not move",
        )
        return ahead

    def _epipoles_inside(self, gray: np.ndarray, K: np.ndarray) -> list[bool]:
        """Whether the epipole of each probe pair 8 frames apart (that has a pose at ``K``) lies inside the image;
        kept for the current ``predict`` per focal and shutter (the cascade asks first, at the prior focal,
        :meth:`_self_calibrate`; ``forward_near`` and the movers later, at the focal used)."""
        key = (float(K[0, 0]), self._rolling is None)
        if key not in self._inside:
            size = gray.shape[1:]

            def inside(a: int, b: int, x_a: np.ndarray, x_b: np.ndarray) -> bool | None:
                geom = self._probe_pose(a, b, x_a, x_b, K)
                return epipole_inside(K, geom.R, geom.t, size) if geom.ok else None

            pairs = self._probe_pairs(len(gray), min(8, len(gray) - 1))
            self._inside[key] = [v for v in self._probe(gray, pairs, inside) if v is not None]
        return self._inside[key]

    @property
    def _px_scale(self) -> float:
        """Pixel thresholds are given at a 320-pixel long side; this scales them to the working resolution."""
        return self._long_side / 320.0

    def _intrinsics(self, src_size: tuple[int, int], size: tuple[int, int], gray: np.ndarray) -> tuple[np.ndarray, str]:
        h, w = size
        self._focal_reason = ""
        if self.intrinsics is not None:
            return scale_intrinsics(self.intrinsics, src_size, size), "given"
        K = pinhole(1.0, size)
        if self.focal_px is not None:
            K[0, 0] = self.focal_px * w / src_size[1]
            K[1, 1] = self.focal_px * h / src_size[0]
            return K, "given"
        estimate = self._self_calibrate(gray, K)
        self._focal_reason = estimate.reason
        if estimate.focal is None:
            K[0, 0] = K[1, 1] = prior_focal(size)
            logger.warning(
                "geometric matcher: focal self-calibration was inconclusive (%s); using a 60° field of view%s",
                estimate.reason,
                _FOCAL_HINT.format("" if self.settings.focal_cascade else _CASCADE_HINT),
            )
            return K, "prior"
        K[0, 0] = K[1, 1] = estimate.focal
        return K, estimate.source

    def _probe_pairs(self, num_frames: int, offset: int, count: int = 8) -> list[tuple[int, int]]:
        offset = max(1, min(offset, num_frames - 1))
        starts = np.unique(np.linspace(0, num_frames - 1 - offset, count).round().astype(int))
        return [(int(s), int(s) + offset) for s in starts]

    def _self_calibrate(self, gray: np.ndarray, K: np.ndarray) -> FocalEstimate:
        """:func:`focal_from_fundamentals` of the probe pairs 8 frames apart; when undecided, its reason also gives
        the median rotation of the probe pairs (at the 60° prior focal): too little rotation is the usual cause."""
        import cv2

        K_prior = K.copy()
        K_prior[0, 0] = K_prior[1, 1] = prior_focal(gray.shape[1:])

        def fundamental(a: int, b: int, x_a: np.ndarray, x_b: np.ndarray) -> tuple[np.ndarray, float] | None:
            try:
                F, mask = cv2.findFundamentalMat(
                    x_a, x_b, cv2.USAC_ACCURATE, self.ransac_threshold_px * self._px_scale, 0.999
                )
            except cv2.error:  # OpenCV's USAC asserts on some degenerate samples ("!model.empty()"): no model
                return None
            if F is None or F.shape != (3, 3) or mask is None or mask.sum() < 30:
                return None
            inliers = np.flatnonzero(mask.ravel())
            inliers = inliers[:: max(1, -(-len(inliers) // 200))]  # recoverPose triangulates each point 4 times
            _, R, _, _ = cv2.recoverPose(K_prior.T @ F @ K_prior, x_a[inliers], x_b[inliers], K_prior)
            return F, float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1.0, 1.0))))

        offset = min(8, len(gray) - 1)
        measured = self._probe(gray, self._probe_pairs(len(gray), offset), fundamental)
        h, w = gray.shape[1:]
        estimate = focal_from_fundamentals([F for F, _ in measured], (K[0, 2], K[1, 2]), (h, w))
        if estimate.focal is None and measured:
            rotation = float(np.median([angle for _, angle in measured]))
            pairs = f"{len(measured)} probe pair{'s' if len(measured) > 1 else ''}"
            estimate.reason += f"; median rotation {rotation:.1f}° over {pairs} {offset} frames apart"
        cascade = self.settings.focal_cascade
        if estimate.focal is None and cascade:
            ahead = self._epipoles_inside(gray, K_prior)
            if _along_view(ahead):  # forward motion: tracks cannot tell the focal
                estimate.reason += (
                    f"; bundle adjustment not asked: the camera moves along its view (the epipole inside the image in "
                    f"{sum(ahead)} of {len(ahead)} probe pairs), where a focal change is a change of depth"
                )
                return estimate
        if estimate.focal is not None and self.settings.focal_kruppa_check:
            return kruppa_checked(estimate, self._bundle_step(gray, K, K_prior, True, estimate.reason))
        if estimate.focal is None and (cascade or self.settings.focal_bundle):
            tracked = self._bundle_step(gray, K, K_prior, cascade, estimate.reason)
            if tracked.focal is None:
                tracked.reason = f"{estimate.reason}; bundle adjustment: {tracked.reason}"
            else:
                tracked.source = "bundle"
                tracked.reason = (
                    f"{estimate.reason}; decided by bundle adjustment: ±25 % gives {tracked.contrast:.2f}× the least "
                    "reprojection error"
                )
                if tracked.trimmed:  # focal_trim_px: decided by the second walk
                    tracked.reason += f" ({tracked.trimmed})"
            estimate = tracked
        return estimate

    def _bundle_step(
        self, gray: np.ndarray, K: np.ndarray, K_prior: np.ndarray, walk: bool, fundamentals: str
    ) -> FocalEstimate:
        """:func:`focal_from_tracks` on the flow tracks of ``gray`` (``[T,H,W]``; ``K`` the working size's, ``K_prior``
        with the 60° prior focal, the centre of its grid of focals); ``walk``: the cascade's walk, one adjustment per
        window and its guard (``focal_cascade``, ``focal_kruppa_check``), else ``focal_bundle``'s sweep.
        ``fundamentals``: the Kruppa cost's verdict, for the log."""
        start = time.perf_counter()
        direct = self._graph_direct_pairs(gray, K)
        windows = self._track_windows(gray, keep=direct)
        fast: dict[str, Any] = {}
        if walk:  # the walk, one adjustment per window, and the guard: no decision from noisy tracks
            fast = {
                "search": "walk",
                "separate": True,
                "evaluations": CASCADE_EVALUATIONS,
                "max_noise_rad": CASCADE_MAX_NOISE_RAD,
            }
            if self.settings.focal_cascade_robust:  # tracks on moving objects pull the poses less
                fast["loss"] = CASCADE_CAUCHY
            if self.settings.focal_trim_px > 0:  # a second walk without the tracks that fit no camera motion
                fast["trim_px"] = self.settings.focal_trim_px
        with self._prefetch(gray, direct):
            tracked = focal_from_tracks(windows, (K[0, 2], K[1, 2]), K_prior[0, 0], self._px_scale, **fast)
        logger.info(
            "geometric matcher: focal by bundle adjustment %s in %.1f s (fundamentals: %s)",
            f"{tracked.focal:.1f} px" if tracked.focal else f"inconclusive ({tracked.reason})",
            time.perf_counter() - start,
            fundamentals or "decided",
        )
        return tracked

    def _graph_direct_pairs(self, gray: np.ndarray, K: np.ndarray) -> set[tuple[int, int]]:
        """The unordered pairs ``(a, b)``, ``a < b``, whose flows the coming pair run computes by DIS (not composed,
        :func:`flow_plan`), when they are known before the focal: pairs given, ``offsets`` given, or the adaptive
        offsets with ``offset_parallax="rotation_fit"`` (measured with the prior focal: independent of the focal;
        then measured here, once, and kept in ``_early_offsets`` for the pair graph). Empty otherwise
        (``pair_graph="per_frame"``, ``offset_parallax="essential"``: they need the focal). The early offsets are a
        global shutter's: a clip the rolling-shutter settings then un-roll measures its offsets again, un-rolled (its
        shared flows of other pairs are dropped unused).
        The cascade keeps the flows of its tracks that are such pairs, for the pair run (:meth:`_track_windows`)."""
        pairs = self._given_pairs
        if pairs is None:
            if self.settings.pair_graph != "offsets":
                return set()
            offsets = self.offsets
            if offsets is None:
                if self.offset_parallax != "rotation_fit":
                    return set()
                offsets = self._adaptive_offsets(gray, K)
                self._early_offsets = offsets
            pairs = default_pairs(len(gray), offsets)
        unordered = {(int(min(a, b)), int(max(a, b))) for a, b in np.asarray(pairs).tolist()}
        return unordered - set(flow_plan(unordered) if self.chain_flows else {})

    @contextmanager
    def _prefetch(self, gray: np.ndarray, direct: set[tuple[int, int]]) -> Iterator[None]:
        """While the block runs (the cascade's bundle adjustments, on one core), a thread computes the DIS flows of
        the pair run's first direct pairs (``direct``, in the pair run's order: by last frame, then first frame
        descending), at most ``_PREFETCH_BYTES`` of them, into ``_probe_flows``, where the pair run takes them (the
        same flows it would compute: DIS is deterministic). Stops after the pair it is on when the block ends; off
        with ``num_workers=1``. The adjustments hold the GIL most of the time and DIS releases it: the two share the
        cores instead of one idling."""
        import threading

        if self.num_workers < 2 or not direct:
            yield
            return
        order = sorted(direct, key=lambda ab: (ab[1], -ab[0]))
        most = max(1, int(_PREFETCH_BYTES // (16 * gray.shape[1] * gray.shape[2])))  # two [h,w,2] float32 flows
        todo = [ab for ab in order if ab not in self._probe_flows][:most]
        stop = threading.Event()
        flows = self._probe_flows

        def run() -> None:
            try:
                engine = self._flow_engine()
                for a, b in todo:
                    if stop.is_set():
                        return
                    flows[(a, b)] = dis_flows(engine, gray[a], gray[b])
            except Exception as error:  # the pair run computes what is missing
                logger.debug("geometric matcher: flow prefetch stopped (%s)", error)

        thread = threading.Thread(target=run, name="stereodiff-prefetch", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _track_windows(
        self, gray: np.ndarray, count: int = 3, keyframes: int = 8, keep: set[tuple[int, int]] | None = None
    ) -> list[TrackWindow]:
        """Flow tracks (:func:`track_window`) of ``count`` windows of ``keyframes`` keyframes 3 frames apart (less
        in short videos), spread over the video. The flows of the windows' distinct steps are computed first, on
        ``num_workers`` threads (21 pairs over the workers: no core idles while the third window is alone). The
        flows of the steps in ``keep`` (pairs ``(a, b)``, ``a < b``, of the coming pair run) are kept in
        ``_probe_flows`` for it, and steps already there are not computed again."""
        import threading

        windows = window_keyframes(len(gray), count, keyframes)
        steps = sorted({(frames[k], frames[k + 1]) for frames in windows for k in range(len(frames) - 1)})
        local = threading.local()

        def pair_flows(pair: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
            # a pair of the graph: the pair run takes its flows (at most 21 pairs)
            return self._kept_flows(gray, pair, local, keep=bool(keep) and pair in keep)

        known = dict(zip(steps, thread_map(pair_flows, steps, self.num_workers, "focal tracks"), strict=True))

        def window(frames: list[int]) -> TrackWindow:
            return track_window(
                lambda k: known[(frames[k], frames[k + 1])],
                len(frames),
                gray.shape[1:],
                cells=self.grid_cells,
                fb_threshold_px=self.fb_threshold_px * self._px_scale,
                max_tracks=TRACKS_PER_WINDOW,
                edge_px=float(self.settings.focal_track_edges) * self._px_scale,
                edge_radius=max(1, round(2 * self._px_scale)),
            )

        return [window(frames) for frames in windows]

    def _kept_flows(
        self, gray: np.ndarray, pair: tuple[int, int], local: Any, keep: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """The forward and backward DIS flows ``[h,w,2]`` of ``pair`` ``(a, b)``: those kept in ``_probe_flows``,
        else computed with the thread's engine (``local``: a ``threading.local``) and, with ``keep``, kept there for
        the pair run."""
        flows = self._probe_flows.get(pair) or dis_flows(self._thread_engine(local), gray[pair[0]], gray[pair[1]])
        if keep:
            self._probe_flows[pair] = flows
        return flows

    def _probe(
        self, gray: np.ndarray, pairs: list[tuple[int, int]], measure: Callable[..., Any], keep: bool = True
    ) -> list[Any]:
        """``measure(a, b, x_a, x_b)`` on the well-spread consistent matches ``[N,2]`` of each probe pair ``(a, b)``
        that has enough of them, on ``num_workers`` threads; the results in pair order, ``None`` ones left out.
        OpenCV's RNG is seeded per pair, so the results do not depend on the threads. The flows are kept in
        ``_probe_flows`` (the focal and offset probes share pairs, and most probe pairs are pairs of the graph)."""
        import threading

        local = threading.local()
        steps = self._steps()

        def one(pair: tuple[int, int]) -> Any:
            a, b = pair
            matches = self._probe_matches(gray, pair, local, keep)
            if matches is None:
                return None
            self._seed_rng(a, b)
            return measure(a, b, *map(steps.undistort, matches))

        return [result for result in thread_map(one, pairs, self.num_workers, "geometric probes") if result is not None]

    def _probe_matches(
        self, gray: np.ndarray, pair: tuple[int, int], local: Any, keep: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The well-spread consistent matches ``[N,2]`` (pixels in a, in b, distortion not removed) of the probe
        pair ``(a, b)`` from its flows (:meth:`_kept_flows`), or None when it has too few. With ``keep`` they are
        kept for the current ``predict``: the focal, ahead, offset and distortion probes ask for the same pairs
        8 frames apart (``keep=False``, the per-frame graph's many probes, keeps nothing: memory flat in T)."""
        if keep and pair in self._matches:
            return self._matches[pair]
        flows = self._kept_flows(gray, pair, local, keep)  # kept for the pair run (≤ 8 probe pairs per offset)
        steps = self._steps()
        matches = steps.sample_matches(*steps.checked_view(*flows))
        if keep:
            self._matches[pair] = matches
        return matches

    def _probe_pose(self, a: int, b: int, x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray) -> PairGeometry:
        """The relative pose of a probe pair's matches ``x_a``, ``x_b`` ``[N,2]`` at ``K`` (``PairSteps.relative_pose``;
        read, not changed, by its callers). A kept probe pair's is computed once per camera and matches: the ahead
        check at the prior focal and the offsets' parallax (also at the prior focal) ask for the same pose."""
        if (a, b) not in self._matches:
            return self._steps().relative_pose(x_a, x_b, K, (a, b))
        key = (a, b, np.asarray(K, np.float64).tobytes())
        found = self._poses.get(key)
        if found is not None and np.array_equal(found[0], x_a) and np.array_equal(found[1], x_b):
            return found[2]
        geom = self._steps().relative_pose(x_a, x_b, K, (a, b))
        self._poses[key] = (x_a, x_b, geom)
        return geom

    def _parallax_measure(self, K: np.ndarray, size: tuple[int, int]) -> tuple[Callable[..., float | None], float]:
        """``(measure, threshold)`` at the working size ``(h, w)``: ``measure(a, b, x_a, x_b)`` is the parallax of a
        probe pair in degrees (``None`` when its essential matrix has too few inliers, e.g. a moving object fills
        the view), as ``offset_parallax`` says: the best pure rotation's residual
        (:func:`~stereodiff.stage1.epipolar.rotation_residual_px` with the 60° prior focal in place of the camera's,
        also for the inlier check; independent of the focal), compared with ``min_rotation_residual_deg``, or the
        essential matrix's (:func:`~stereodiff.stage1.epipolar.parallax_deg`, ``min_parallax_deg``; flips with a
        focal 10 % off)."""
        rotation_fit = self.offset_parallax == "rotation_fit"
        threshold = self.min_rotation_residual_deg if rotation_fit else self.min_parallax_deg
        if rotation_fit:  # the prior focal in place of the camera's: the choice does not depend on the focal at all
            K = K.copy()
            K[0, 0] = K[1, 1] = prior_focal(size)
        px_to_deg = np.degrees(1.0 / K[0, 0])

        def parallax(a: int, b: int, x_a: np.ndarray, x_b: np.ndarray) -> float | None:
            geom = self._probe_pose(a, b, x_a, x_b, K)
            self._probe_inliers.append(float(geom.inlier_fraction))  # for min_side_inliers (list.append: thread-safe)
            if geom.inlier_fraction < MIN_INLIER_FRACTION:
                return None
            return rotation_residual_px(x_a, x_b, K) * px_to_deg if rotation_fit else parallax_deg(x_a, x_b, geom.R, K)

        return parallax, threshold

    def _adaptive_offsets(self, gray: np.ndarray, K: np.ndarray) -> tuple[int, ...]:
        """Consecutive Fibonacci offsets whose smallest reaches the threshold of median parallax.

        The parallax per frame of offset is measured on up to 8 probe pairs at offset 8 (then 4, 2, 1 if no probe
        pair has usable geometry, e.g. a fast camera that leaves the view) as the median rotation-compensated flow:
        unlike the triangulation angle it does not depend on the translation direction, which the essential matrix
        determines poorly when the parallax is small (``_parallax_measure``). With ``min_side_offset`` the smallest
        offset is at least that when the camera does not move along its view; with ``min_side_offset_static`` at least
        that where the probe pairs also keep a median ``min_side_inliers`` of essential-matrix inliers.
        """
        num_frames = len(gray)
        parallax, threshold = self._parallax_measure(K, gray.shape[1:])
        per_frame = float("nan")
        for probe in sorted({min(o, num_frames - 1) for o in (8, 4, 2, 1)}, reverse=True):
            self._probe_inliers = []
            angles = self._probe(gray, self._probe_pairs(num_frames, probe), parallax)
            if angles:
                per_frame = float(np.median(angles)) / probe
                break
        self.report.angle_per_frame_deg = per_frame
        needed = threshold / per_frame if np.isfinite(per_frame) and per_frame > 0 else 1.0
        floor = self.settings.min_side_offset
        if self.settings.min_side_offset_static > floor and needed < self.settings.min_side_offset_static:
            inliers = float(np.median(self._probe_inliers)) if self._probe_inliers else 0.0
            if inliers >= self.settings.min_side_inliers:  # a mostly static scene: longer pairs hold
                floor = self.settings.min_side_offset_static
            else:
                logger.info(
                    "geometric matcher: min_side_offset_static not applied: the offset probe's pairs keep a median "
                    "%.2f of essential-matrix inliers (min_side_inliers %.2f)",
                    inliers,
                    self.settings.min_side_inliers,
                )
        if floor > 1 and needed < floor:
            prior = K.copy()  # the cascade's check, at the prior focal: independent of the focal, as the parallax
            prior[0, 0] = prior[1, 1] = prior_focal(gray.shape[1:])
            if not _along_view(self._epipoles_inside(gray, prior)):
                needed = float(floor)
        start = fibonacci_start(needed, num_frames, self.num_offsets)
        offsets = [f for f in FIBONACCI[start : start + self.num_offsets] if f < num_frames]
        logger.info("geometric matcher: %.3f° median parallax per frame → offsets %s", per_frame, offsets)
        return tuple(offsets)

    def _per_frame_pairs(self, gray: np.ndarray, K: np.ndarray) -> np.ndarray:
        """``[P,2]`` pairs chosen by the parallax along the video (``pair_graph="per_frame"``, :func:`per_frame_pairs`).

        The parallax (``_parallax_measure``) is measured on probe pairs 8 frames apart (then 4, 2, 1 if none has
        usable geometry) starting every ``PER_FRAME_PROBE_STRIDE`` frames; each step ``t → t+1`` gets the mean per
        frame of offset of the probes spanning it, the nearest measured step's where none did. The probes' flows
        are not kept (memory flat in the length): ≈ 1/4 more DIS flows per frame."""
        num_frames = len(gray)
        parallax, threshold = self._parallax_measure(K, gray.shape[1:])
        steps = np.full(num_frames - 1, np.nan)
        for probe in sorted({min(o, num_frames - 1) for o in (8, 4, 2, 1)}, reverse=True):
            last = num_frames - 1 - probe
            starts = np.unique(np.r_[np.arange(0, last + 1, PER_FRAME_PROBE_STRIDE), last])
            probes = [(int(s), int(s) + probe) for s in starts]
            measured = self._probe(gray, probes, lambda a, b, *x: (a, parallax(a, b, *x)), keep=False)
            measured = [(a, angle) for a, angle in measured if angle is not None]
            if measured:
                total, count = np.zeros(num_frames - 1), np.zeros(num_frames - 1)
                for a, angle in measured:
                    total[a : a + probe] += angle / probe
                    count[a : a + probe] += 1
                known = np.flatnonzero(count)
                nearest = known[np.abs(np.arange(num_frames - 1)[:, None] - known[None, :]).argmin(axis=1)]
                steps = total[nearest] / count[nearest]
                break
        if not np.isfinite(steps).all():  # no probe pair had usable geometry: offset 1 throughout
            steps = np.full(num_frames - 1, threshold)
        self.report.angle_per_frame_deg = float(np.median(steps))
        pairs, first = per_frame_pairs(steps, threshold, self.num_offsets)
        self.report.frame_offsets = first.tolist()
        return pairs

    def _report_failures(self, pairs: np.ndarray) -> None:
        ok_frames = set()
        failed = [g for g in self.report.pairs if not g.ok]
        for g in self.report.pairs:
            if g.ok:
                ok_frames.update(g.pair)
        touched = {int(f) for f in np.unique(pairs)}
        done = {f for g in self.report.pairs for f in g.pair}
        self.report.failed_frames = sorted(f for f in touched & done if f not in ok_frames)
        if failed:
            frames = self.report.failed_frames
            logger.warning(
                "geometric matcher: %d of %d pairs failed (%s); %d frames with no usable pair%s",
                len(failed),
                len(self.report.pairs),
                failure_summary(failed, self.min_angle_deg),
                len(frames),
                f": {frames[:20]}{' …' if len(frames) > 20 else ''}" if frames else "",
            )


_FAILURE_TEXT = {  # the failure summary's words for the kinds without a measured figure
    "no flow matches": "too few consistent flow matches (no texture?)",
    "no essential matrix": "essential matrix estimation failed",
    "few inliers": f"fewer than {MIN_POSE_INLIERS} essential-matrix inliers in front of both cameras",
}


def failure_summary(failed: list[PairGeometry], min_angle_deg: float) -> str:
    """One clause per kind of failure, most frequent first, with the measured figures and the threshold they
    missed, e.g. ``"10× median parallax 0.03–0.21° (median 0.12°) < 0.25°; 2× too few consistent flow matches"``."""

    def spread(values: list[float], unit: str, scale: float = 1.0, digits: int = 2) -> str:
        lo, mid, hi = (scale * float(q) for q in np.quantile(values, [0.0, 0.5, 1.0]))
        if lo == hi:
            return f"{lo:.{digits}f}{unit}"
        return f"{lo:.{digits}f}–{hi:.{digits}f}{unit} (median {mid:.{digits}f}{unit})"

    groups: dict[str, list[PairGeometry]] = {}
    for g in failed:
        groups.setdefault(g.failure, []).append(g)
    clauses = []
    for kind, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        if kind == "low parallax":
            figures = spread([g.median_angle_deg for g in members], "°")
            text = f"median parallax {figures} < {min_angle_deg:.2f}°"
        elif kind == "low inlier fraction":
            figures = spread([g.inlier_fraction for g in members], " %", 100.0, 0)
            text = f"essential-matrix inliers {figures} < {100 * MIN_INLIER_FRACTION:.0f} %"
        else:
            text = _FAILURE_TEXT[kind]
        clauses.append(f"{len(members)}× {text}")
    return "; ".join(clauses)
