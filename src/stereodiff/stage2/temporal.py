"""Weights-free stage 2: edge-aware hole filling + bidirectional flow-guided temporal filtering, in log-depth.

StereoDiff's stage 2 acts as a low-pass filter on the stage-1 error sequence (paper §3.1, §3.3, Fig. 3, Tab. 2):
it keeps the low temporal frequencies (the video-wide scale that stage 1's global alignment fixed) and removes
the high-frequency flicker, mostly on moving objects. This backend does that from first principles:

1. **Confidence.** Stage-1 confidence is mapped to a weight ``w = clip(conf / confidence_ref, 0, 1)`` (invalid depth,
   i.e. 0 or non-finite, gets ``w = 0``).
2. **Edge-aware spatial fill** (per frame, at a working resolution). A confidence-weighted normalised
   domain-transform recursive filter (Gastal & Oliveira 2011) guided by the RGB frame gives, for every pixel, the
   weighted mean log-depth of its surroundings *within the same colour region*: values propagate far across flat
   colour but not across colour edges, so a hole next to a depth edge is filled from its own side. Each pixel
   becomes ``E = w·log(depth) + (1 − w)·fill``: confident pixels keep their value, holes and low-confidence
   pixels (moving objects in MonST3R/geometric stage 1) take the fill (:mod:`stereodiff.stage2.hole_fill`).
3. **Temporal filter along optical flow.** DIS optical flow between consecutive frames (both directions) with a
   forward–backward consistency check and a colour-constancy test marks occlusions and flow errors. A forward
   recursive pass and a backward recursive pass accumulate confidence-weighted log-depth along the flow with decay
   ``temporal_decay`` per frame, stopping at occlusions and where the propagated depth disagrees with the current
   estimate by much more than ``depth_sigma``; the two passes are combined without counting the current frame twice.
   The result is a symmetric (zero-lag) exponential low-pass along motion trajectories: a moving object gets depth
   from its own past and future, and per-frame flicker is averaged out. Because the filter averages log-depth with
   weights that sum to one, a video-wide scale passes through unchanged (the F0 band is not moved).
4. **Guided upsampling** of the log-depth to the source resolution with a fast colour guided filter (He & Sun
   2015) whose guide is the full-resolution frame, so depth edges snap to image edges.

Videos are processed in windows of ``window`` output frames, each read with ``overlap`` extra context frames on
both sides (memory depends on the window, not on the video length). The recursive filter's weight at distance
``overlap`` is ``temporal_decay ** overlap``, which bounds the difference from a single-window run.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from stereodiff.blocks import block_of
from stereodiff.camera import AHEAD_SHARE, fit_long_side, pixel_grid, rotate
from stereodiff.channels import channel_sum
from stereodiff.flow import dis_flows, forward_backward, grey_frame, grey_projection, hypot32, thread_dis_engine
from stereodiff.io.files import atomic_file, stamped_folder
from stereodiff.io.pages import release, trim_heap
from stereodiff.masks import within
from stereodiff.progress import logger, progress, thread_imap, workers_own_the_cores
from stereodiff.stage2.configs import TemporalConfig
from stereodiff.stage2.hole_fill import (
    View,
    colour_l1,
    epipoles,
    fill_frames,
    lower_border,
    moving_ahead,
    near_bound,
    near_motion_boundary,
    wide_outline,
)

__all__ = ["CameraMotion", "TemporalRefiner", "camera_motion", "guided_upsample", "lk_matches"]

#: frames per batch of the spatial fill, in fixed blocks aligned to frame 0 (:mod:`stereodiff.blocks`): every frame
#: is filled in the same batch whichever window needs it first, so a resumed run is bit-identical
_FILL_CHUNK = 8
#: frames whose working-resolution inputs stay cached (a fill chunk and its neighbours need them together)
_RAW_KEPT = 2 * _FILL_CHUNK + 2
#: ``hole_mover_away_px``: how strictly the temporal filter refuses, at a hole beside a mover filled from the
#: background side, a depth the flow brings nearer than that fill (``hole_pull_order``'s factor where that is off;
#: the ``cpu`` preset's ``hole_pull_order``)
MOVER_AWAY_ORDER = 32.0
#: fill blocks whose inputs the workers compute beyond the one being filled (:meth:`TemporalRefiner._prepare`)
_FILL_AHEAD = 1
#: how far (working-resolution pixels per frame of the chain, plus 5 % of the flow's travel) a point carried into
#: a frame's holes by the camera's motion may land from where the optical flow puts it (``hole_warp_frames``)
_WARP_FLOW_PX = 2.0
#: image gradient (grey levels per pixel, 5×5 mean) at which optical flow starts to count as motion evidence
_TEXTURE_GREY = 3.0
#: ``motion_flow_refine="lk"``: the round-trip miss (pixels) a refined match must stay under, and the LK
#: iterations' stopping rule (per pyramid level)
_LK_CHECK_PX = 0.5
_LK_CRITERIA = (3, 20, 0.01)  # cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, iterations, pixels
#: two ``[n,h',w']`` arrays of a fill block (e.g. the carried log-depth and its trust)
_Pair = tuple[np.ndarray, np.ndarray]


@dataclass
class TemporalRefiner(TemporalConfig):
    """Stage-2 backend without learned weights (``output_kind = "depth"``); its fields are those of
    :class:`~stereodiff.stage2.configs.TemporalConfig` (documented there), e.g. ``TemporalRefiner(window=32)``."""

    output_kind: ClassVar[Literal["depth", "disparity"]] = "depth"
    #: ``refine`` takes stage 1's ``intrinsics`` (:class:`~stereodiff.stage2.stages.SceneRefinerStage` passes them)
    uses_camera: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------------------------------------ public API
    def refine(
        self,
        frames: Any,
        depth: np.ndarray,
        confidence: np.ndarray,
        *,
        out: np.ndarray | None = None,
        cache_dir: Path | None = None,
        intrinsics: np.ndarray | None = None,
        cam_to_world: np.ndarray | None = None,
        ahead_share: float | None = None,
        movers_given: np.ndarray | None = None,
    ) -> np.ndarray:
        """Refine stage-1 depth into temporally consistent depth at the source resolution.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB at source resolution (array-like, may be a ``np.memmap``).
            depth: ``[T,h,w]`` float stage-1 depth (any unit; 0 or non-finite = invalid).
            confidence: ``[T,h,w]`` float stage-1 confidence (higher is better; backend scale).
            out: optional ``[T,H,W]`` float32 array (e.g. a memmap) written window by window.
            cache_dir: optional folder; finished windows are saved there and reused on a rerun.
            intrinsics: optional ``[3,3]`` or ``[T,3,3]`` pinhole intrinsics of the camera stage 1 used, at the
                resolution of ``depth`` (e.g. :meth:`~stereodiff.types.SceneGeometry.intrinsics`); the camera-motion
                fits and ``hole_warp_frames`` then lift and project with it (one camera: the median over frames).
                None: a 60° horizontal field of view, principal point at the centre.
            cam_to_world: optional ``[T,4,4]`` camera-to-world poses of stage 1 (OpenCV axes), with ``intrinsics``:
                whether the camera moves along its view (:func:`moving_ahead`) decides ``hole_lean_bottom``.
            ahead_share: optional share of stage 1's probe pairs whose epipole lies inside the image
                (``SceneGeometry.ahead_share``; None or NaN = not measured); with ``ahead_from_stage1`` it decides
                in place of ``cam_to_world``.
            movers_given: optional ``[T,h,w]`` bool pixels whose depth stage 1's mover rules gave
                (``SceneGeometry.movers_given``); ``hole_outline_mover_px`` keeps the outline rule away from them.

        Returns:
            ``[T,H,W]`` float32 depth in the unit/scale of ``depth`` (``out`` itself when given). Every pixel is
            filled; a frame without any valid stage-1 depth takes its depth from its neighbours along the flow
            (it is 0 only when no frame within its window has depth).
        """
        # 1. Check inputs
        t, h, w, big_h, big_w = self._check_inputs(frames, depth, confidence, out)
        if out is None:
            out = np.zeros((t, big_h, big_w), np.float32)
        work_h, work_w = fit_long_side(h, w, self.work_long_side, upscale=False)
        conf_ref = self.confidence_ref or _median_confidence(depth, confidence)
        camera = _working_camera(intrinsics, (h, w), (work_h, work_w))
        lean, warp_frames, farness, order, up = self._ahead_rules(
            cam_to_world, intrinsics, w, (work_h, work_w), ahead_share
        )
        # stage 1 finds the video static: asked once, for the outline rules that depend on it
        wide = self.hole_outline_px > 0 and self.hole_outline_wide_band_px > 0
        asked = wide or (self.hole_outline_nearest > 0 and self.hole_outline_nearest_static)
        asked = asked or (self.hole_warp_static > 0 and warp_frames == 0)
        asked = asked or (self.hole_outline_views > 0 and self.hole_outline_views_static)
        asked = asked or (self.hole_outline_depths > 0 and self.hole_outline_depths_static)
        asked = asked or self.hole_outline_near_px > 0 or self.hole_top_plane_px > 0 or self.hole_floor_plane_px > 0
        asked = asked or self.hole_floor_rim_px > 0
        static = asked and self._static_video(movers_given, cam_to_world, intrinsics, w, ahead_share)
        outline = self._static_outline(static)
        warp_static = self.hole_warp_static > 0 and warp_frames == 0 and static  # carried depth after all
        if warp_static:
            warp_frames = self.hole_warp_static
        # 2. Prepare the window schedule and the cache
        starts = list(range(0, t, self.window))
        meta = {**self._cache_meta(t, (big_h, big_w), (h, w), conf_ref, camera), "lean": lean is not None}
        if self.hole_warp_ahead or self.hole_warp_static > 0:
            meta["warp_frames"] = warp_frames
        if self.hole_farness_ahead > 0:
            meta["farness"] = farness
        if self.hole_pull_order > 0:
            meta["order"] = order is not None
        if self.hole_up_px > 0:
            meta["up"] = up
        if self.hole_outline_wide_band_px > 0:
            meta["outline_wide"] = outline is not None
        nearest = self.hole_outline_nearest > 0 and (not self.hole_outline_nearest_static or static)
        if self.hole_outline_nearest > 0:
            meta["outline_nearest"] = nearest
        views_on = self.hole_outline_px > 0 and self.hole_outline_views > 0
        views_on = views_on and (not self.hole_outline_views_static or static)
        if self.hole_outline_views > 0:
            meta["outline_views"] = views_on
        depths_on = self.hole_outline_px > 0 and self.hole_outline_depths > 0
        depths_on = depths_on and (not self.hole_outline_depths_static or static)
        if self.hole_outline_depths > 0:
            meta["outline_depths"] = depths_on
        near_on = self.hole_outline_near_px > 0 and static
        if self.hole_outline_near_px > 0:
            meta["outline_near"] = near_on
        planes = self.hole_top_plane_px > 0 or self.hole_floor_plane_px > 0 or self.hole_floor_rim_px > 0
        planes_on = planes and static
        if planes:
            meta["floor_planes"] = planes_on
        world_on = planes_on and self.hole_floor_world and cam_to_world is not None
        if self.hole_floor_world:
            meta["floor_world"] = world_on
        capping = self.hole_near_cap > 0 and lean is not None
        if self.hole_near_cap > 0:
            meta["near_cap"] = capping
        cache = _WindowCache(cache_dir, meta) if cache_dir else None
        # 3. Filter window by window; per-frame spatial results and flow links are kept for the next window's
        #    context, so each frame is prepared once
        store: dict[int, _Frame] = {}
        inputs = _Inputs(self, frames, depth, confidence, conf_ref, camera, lean, warp_frames, farness, order, up)
        if warp_static:  # into every hole (``hole_warp_static_min_px``), the farthest confirmed point winning
            inputs.warp_min_px, inputs.warp_farthest = self.hole_warp_static_min_px, True
            inputs.warp_agree = self.hole_warp_static_agree
        mover_rules = (self.hole_outline_px > 0 and self.hole_outline_mover_px > 0) or self.hole_mover_away_px > 0
        if mover_rules or self.given_fill_px > 0 or self.given_upsample_px > 0 or self.given_veto_px > 0:
            inputs.movers_given = movers_given  # only the rules beside a mover read them
        inputs.outline = outline
        inputs.nearest = nearest
        if world_on:  # the video's one floor, seen from each frame
            inputs.seen_floors = self._seen_floors(inputs, np.asarray(cam_to_world, np.float64))
        parallax = self.hole_outline_parallax > 0 or nearest
        if self.hole_outline_px > 0 and parallax and cam_to_world is not None:
            inputs.epipoles = epipoles(cam_to_world, camera.focal, camera.centre)  # [T,3]
        with workers_own_the_cores(self.num_workers):  # OpenCV's own pool would only contend with the workers
            for index, start in enumerate(progress(starts, desc="temporal refine", total=len(starts), unit="window")):
                stop = min(start + self.window, t)
                if cache is not None and cache.has(index):
                    out[start:stop] = cache.load(index)
                    continue
                lo, hi = max(0, start - self.overlap), min(t, stop + self.overlap)
                for k in [k for k in store if k < lo]:
                    del store[k]
                inputs.forget_before(lo)
                self._prepare(inputs, range(lo, hi), store)
                # the workers apply the per-frame passes after the filter and upsample each frame while the filter
                # goes on to the next
                log_depth = self._temporal_filter([store[k] for k in range(lo, hi)], range(start - lo, stop - lo))
                after = [
                    step
                    for on, step in (
                        (self._nearest_after(inputs), self._far_after),  # band holes nearer the far side
                        (views_on, self._views_after),  # band holes the nearby frames show on the far side
                        (depths_on, self._depths_after),  # band holes the nearby frames' own depth shows there
                        (near_on, self._near_after),  # band holes whose colour is the near side's (a top face)
                        (planes_on, self._planes_after),  # an object's top face and the floor: the floor's planes
                    )
                    if on
                ]
                items = (
                    (
                        lo + i,
                        d,
                        frames[lo + i],
                        self._given_mask(inputs, lo + i),
                        self._covered_mask(inputs, lo + i),
                        store[lo + i].estimate if capping else None,  # near holes off the lower border: the fill
                    )
                    for i, d in log_depth
                )
                for k, final in thread_imap(partial(self._after_final, inputs, after), items, self.num_workers):
                    out[k] = final  # [H,W] each, written frame by frame
                if cache is not None:
                    cache.save(index, out[start:stop])
                # memmapped inputs/outputs: only the window stays resident
                release(out, frames, depth, confidence, inputs.movers_given)
                trim_heap()  # the window's freed arrays leave the resident set too (memory flat in the length)
        return out  # a memmapped `out` is not flushed: its pages are in the page cache, for any reader

    # ------------------------------------------------------------------------------------------------- internals
    def _ahead_rules(
        self,
        cam_to_world: np.ndarray | None,
        intrinsics: np.ndarray | None,
        width: int,
        work_hw: tuple[int, int],
        ahead_share: float | None = None,
    ) -> tuple[np.ndarray | None, int, float, np.ndarray | None, bool]:
        """The rules for a camera moving along its view, decided once from stage 1's poses (``[T,4,4]``, with its
        ``intrinsics`` at a depth ``width`` pixels wide; :func:`moving_ahead`): the ``[h',w']`` bool region whose
        holes lean fully to the near side (``hole_lean_bottom``; None = off), the frames on each side carried
        into the holes (``hole_warp_frames``, 0 with ``hole_warp_ahead`` unless the camera moves ahead) and the
        far lean's γ (``hole_farness_ahead`` when the camera moves ahead, else ``hole_farness``) and the ``[h',1]``
        bool rows (the upper half) where the temporal filter keeps nearer depth out of the holes
        (``hole_pull_order``; None = off), and whether the holes take the nearer surface below them
        (``hole_up_px``) or the near object's depth (``hole_near_object``). With ``ahead_from_stage1`` and
        stage 1's ``ahead_share`` measured, that share decides instead of the poses."""
        lean_wanted = self.hole_lean_bottom > 0 and self.hole_nearness > 0
        warp_gated = self.hole_warp_frames > 0 and self.hole_warp_ahead
        order_wanted = self.hole_pull_order > 0
        up_wanted = self.hole_up_px > 0 or self.hole_near_object > 0
        if not (lean_wanted or warp_gated or self.hole_farness_ahead > 0 or order_wanted or up_wanted):
            return None, self.hole_warp_frames, self.hole_farness, None, False
        measured = self._ahead(cam_to_world, intrinsics, width, ahead_share)
        if measured is None:
            return None, 0 if warp_gated else self.hole_warp_frames, self.hole_farness, None, False
        ahead, from_stage1 = measured
        on = ahead >= AHEAD_SHARE  # NaN (one frame): off
        lean = lower_border(work_hw, self.hole_lean_bottom, self.hole_lean_side) if on and lean_wanted else None
        warp_frames = 0 if warp_gated and not on else self.hole_warp_frames
        farness = self.hole_farness_ahead if on and self.hole_farness_ahead > 0 else self.hole_farness
        order = np.arange(work_hw[0])[:, None] < work_hw[0] / 2 if on and order_wanted else None  # [h',1]
        up = bool(on and up_wanted)
        logger.info("stage 2: the camera moves ahead in %.0f %% of the %s: hole_lean_bottom %s, "
                    "hole_warp_frames %d, hole_farness %g, hole_pull_order %s, hole_up_px %s", 100 * ahead,
                    "stage-1 probe pairs" if from_stage1 else "frames", "on" if lean is not None else "off",
                    warp_frames, farness, "on" if order is not None else "off", "on" if up else "off")  # fmt: skip
        return lean, warp_frames, farness, order, up

    def _ahead(
        self,
        cam_to_world: np.ndarray | None,
        intrinsics: np.ndarray | None,
        width: int,
        ahead_share: float | None,
    ) -> tuple[float, bool] | None:
        """How much the camera moves along its view (:func:`moving_ahead` of stage 1's poses, or with
        ``ahead_from_stage1`` stage 1's measured ``ahead_share``; NaN for one frame) and whether stage 1's share
        decided; None when neither is given."""
        from_stage1 = self.ahead_from_stage1 and ahead_share is not None and np.isfinite(ahead_share)
        if (cam_to_world is None or intrinsics is None) and not from_stage1:
            return None
        return (float(ahead_share) if from_stage1 else moving_ahead(cam_to_world, intrinsics, width)), from_stage1

    def _static_outline(self, static: bool) -> TemporalConfig | None:
        """The outline rule's wide settings (:func:`~stereodiff.stage2.hole_fill.wide_outline`) for a video stage 1
        finds ``static`` (:meth:`_static_video`), else None (the rule keeps the refiner's own settings; also with the
        option off)."""
        if self.hole_outline_px <= 0 or self.hole_outline_wide_band_px <= 0:
            return None
        logger.info("stage 2: the outline rule's wide settings %s", "on" if static else "off")
        return wide_outline(self) if static else None

    def _static_video(
        self,
        movers_given: np.ndarray | None,
        cam_to_world: np.ndarray | None,
        intrinsics: np.ndarray | None,
        width: int,
        ahead_share: float | None,
    ) -> bool:
        """Stage 1 finds the video static (the test of the wide outline rule and of ``hole_outline_nearest_static``):
        its mover rules gave depth to less than ``hole_outline_wide_given`` of the ``[T,h,w]`` bool ``movers_given``
        (and, with ``hole_outline_wide_frame_given``, to less than that of every frame, or with
        ``hole_outline_wide_frame_run`` of every run of that many consecutive frames: :func:`held_share`) and the
        camera does not move along its view (:meth:`_ahead`; unmeasured: not ahead). False without the mask."""
        if movers_given is None:
            return False
        pixels = max(int(np.prod(movers_given.shape[1:])), 1)
        # [T] each frame's given share, counted frame by frame (a long video's mask stays on disk)
        per_frame = np.array([np.count_nonzero(m) for m in movers_given]) / pixels
        release(movers_given)  # a memory-mapped mask's pages, read whole here, leave the resident set
        given, largest = float(per_frame.mean()), held_share(per_frame, self.hole_outline_wide_frame_run)
        measured = self._ahead(cam_to_world, intrinsics, width, ahead_share)
        forward = measured is not None and measured[0] >= AHEAD_SHARE
        small = self.hole_outline_wide_frame_given <= 0 or largest < self.hole_outline_wide_frame_given
        static = given < self.hole_outline_wide_given and small and not forward
        logger.info("stage 2: stage 1's mover rules gave depth to %.3f %% of the pixels (%.2f %% in the frame with "
                    "most, held for %d frames), the camera moves ahead: %s; static: %s", 100 * given, 100 * largest,
                    max(self.hole_outline_wide_frame_run, 1), forward, static)  # fmt: skip
        return static

    def _check_inputs(self, frames: Any, depth: Any, confidence: Any, out: Any) -> tuple[int, int, int, int, int]:
        for name, value in (("frames", frames), ("depth", depth), ("confidence", confidence)):
            if not hasattr(value, "shape") or not hasattr(value, "dtype"):
                raise ValueError(f"{name} must be an array-like with shape and dtype, got {type(value).__name__}")
        if len(frames.shape) != 4 or frames.shape[3] != 3 or np.dtype(frames.dtype) != np.uint8:
            raise ValueError(f"frames must be [T,H,W,3] uint8 RGB, got shape {tuple(frames.shape)} {frames.dtype}")
        if len(depth.shape) != 3 or np.dtype(depth.dtype).kind != "f":
            raise ValueError(f"depth must be [T,h,w] float, got shape {tuple(depth.shape)} {depth.dtype}")
        if tuple(confidence.shape) != tuple(depth.shape) or np.dtype(confidence.dtype).kind != "f":
            raise ValueError(
                f"confidence must be float with the shape of depth {tuple(depth.shape)}, "
                f"got {tuple(confidence.shape)} {confidence.dtype}"
            )
        t, big_h, big_w = frames.shape[:3]
        if depth.shape[0] != t:
            raise ValueError(f"depth has {depth.shape[0]} frames but frames has {t}; they must match")
        if t < 1:
            raise ValueError("frames must hold at least one frame, got T=0")
        if out is not None and (tuple(out.shape) != (t, big_h, big_w) or np.dtype(out.dtype) != np.float32):
            raise ValueError(f"out must be float32 of shape {(t, big_h, big_w)}, got {tuple(out.shape)} {out.dtype}")
        return t, depth.shape[1], depth.shape[2], big_h, big_w

    def _cache_meta(
        self, t: int, size: tuple[int, int], depth_size: tuple[int, int], conf_ref: float, camera: _Camera
    ) -> dict:
        return {
            "backend": "temporal",
            "num_frames": t,
            "size": list(size),
            "depth_size": list(depth_size),
            "confidence_ref": float(conf_ref),
            "camera": [camera.focal, *camera.centre],
            "params": {key: value for key, value in asdict(self).items() if key != "num_workers"},  # no effect
        }

    def _prepare(self, inputs: _Inputs, indices: range, store: dict[int, _Frame]) -> None:
        """Spatial fill (:func:`~stereodiff.stage2.hole_fill.fill_frames`) of the frames of ``indices`` not yet in
        ``store`` (with the other frames of their fixed blocks), then the flow links between consecutive frames of
        ``indices``. The fill runs block by block on the calling thread while the workers compute the next blocks'
        inputs (:meth:`_fill_inputs`: their flow links, carried depth and motion evidence), so the fill's serial
        domain transform overlaps the workers' flows; every value depends on its frames only, not on the thread
        or the order that computed it."""
        todo = [k for k in indices if k not in store]
        chunks = list(dict.fromkeys(block_of(k, _FILL_CHUNK, inputs.num_frames) for k in todo))
        blocks = thread_imap(partial(self._fill_inputs, inputs), chunks, self.num_workers, _FILL_AHEAD)
        for chunk, (carried, motion, boundary, views) in zip(chunks, blocks):
            rgb = np.stack([inputs.rgb(k) for k in chunk])  # [n,h',w',3] in [0,1]
            log_d = np.stack([inputs.raw(k)[0] for k in chunk])  # [n,h',w']
            weight = np.stack([inputs.raw(k)[1] for k in chunk])  # [n,h',w']
            filled = fill_frames(
                self,
                rgb,
                log_d,
                weight,
                carried=carried,
                motion=motion,
                lean=inputs.lean,
                farness=inputs.farness,
                boundary=boundary,
                order=inputs.order,
                up=inputs.up,
                movers=inputs.movers(chunk),
                outline=inputs.outline,
                epipole=None if inputs.epipoles is None else inputs.epipoles[chunk],
                views=views,
            )
            for k, frame in zip(chunk, filled):
                if k not in store:  # else kept with its flow links (the same values: the same block)
                    store[k] = _Frame(*frame)
        if self.temporal_decay == 0:
            return
        inputs.build_links(list(indices[:-1]), self.num_workers)  # those the fill's inputs did not need
        for k in indices[:-1]:
            store[k].link_next, store[k + 1].link_prev = inputs.link(k, +1), inputs.link(k + 1, -1)

    def _fill_inputs(
        self, inputs: _Inputs, chunk: range
    ) -> tuple[_Pair | None, _Pair | None, np.ndarray | None, list[list[View]] | None]:
        """The inputs of one fill block that need the flow links (built on demand, each pair once): the depth
        carried into its frames' holes (``hole_warp_frames``) and the independent-motion evidence, each a pair of
        ``[n,h',w']`` arrays for :func:`~stereodiff.stage2.hole_fill.fill_frames` (``None`` when off), the
        ``[n,h',w']`` bool pixels near a motion boundary of the flow (``hole_far_boundary_px``; ``None`` when off) and
        each frame's nearby frames as it sees them (``hole_smooth_track``: :meth:`_Inputs.views`; ``None`` when
        off)."""
        carried = motion = None
        if inputs.warp_frames > 0:  # holes covered in nearby frames: their depth, carried with the camera motion
            warped, trust = zip(*map(inputs.warped, chunk))
            carried = np.stack(warped), np.stack(trust)  # [n,h',w'] each
        if self._motion_evidence:  # how much each pixel moves on its own
            share, counts = zip(*map(inputs.independent_motion, chunk))
            motion = np.stack(share), np.stack(counts)  # [n,h',w'] each
        boundary = None
        if self.hole_far_boundary_px > 0 and inputs.farness > 0:  # the far lean only near the flow's boundaries
            boundary = np.stack([inputs.flow_boundary(k) for k in chunk])  # [n,h',w'] bool
        views = None
        if self.hole_smooth_color > 0 and self.hole_smooth_track > 0:  # do the soft fill's regions move on their own?
            views = [inputs.views(k, self.hole_smooth_track) for k in chunk]
        return carried, motion, boundary, views

    def _link(self, to_other: np.ndarray, from_other: np.ndarray, other: _Raw, own: _Raw, camera: _Camera) -> _Link:
        """How to pull the other frame's state into this one: the sampling map ``[h,w,2]`` (absolute pixel
        coordinates in the other frame), the gate ``[h,w]`` in [0, λ] (decay × forward–backward check × colour
        constancy) and the camera's motion between the two frames (:func:`camera_motion` with ``camera``; with
        ``motion_flow_refine="lk"`` fitted to the flow's matches refined by :func:`lk_matches`)."""
        import cv2

        sample_at, back, miss = forward_backward(to_other, from_other, outside="edge")  # [h,w,2], [h,w,2], [h,w]
        scale = hypot32(to_other[..., 0], to_other[..., 1]) + hypot32(back[..., 0], back[..., 1])
        consistent = miss < self.flow_check_px + 0.05 * scale
        colour_miss = colour_l1(cv2.remap(other.rgb, sample_at, None, cv2.INTER_LINEAR) - own.rgb)
        gate = (self.temporal_decay * consistent * np.exp(-0.5 * (colour_miss / self.colour_sigma) ** 2)).astype(
            np.float32
        )
        motion = None
        if self.motion_compensation or self.hole_motion_px > 0 or self.hole_warp_frames > 0:
            # the other frame's stage-1 log-depth and weight at the targets (normalised, so holes do not leak in)
            den = cv2.remap(other.weight, sample_at, None, cv2.INTER_LINEAR)  # [h,w]
            if self.motion_flow_refine == "lk":
                motion = self._lk_motion(own, other, sample_at, den * consistent, camera)
            else:
                num = cv2.remap(other.weight * other.log_depth, sample_at, None, cv2.INTER_LINEAR)  # [h,w]
                motion = camera_motion(
                    num / np.maximum(den, 1e-6), sample_at, den * consistent, focal=camera.focal, centre=camera.centre
                )
        return _Link(sample_at, gate, motion, consistent if self.hole_warp_seen else None)

    def _lk_motion(
        self, own: _Raw, other: _Raw, fit_at: np.ndarray, weight: np.ndarray, camera: _Camera
    ) -> CameraMotion | None:
        """:func:`camera_motion` fitted to sparse matches refined by Lucas–Kanade (``motion_flow_refine="lk"``):
        the pixels :func:`camera_motion` would use (``weight [h,w]``), their targets ``fit_at [h,w,2]`` in the
        other frame refined by :func:`lk_matches`, the other frame's stage-1 log-depth and weight sampled there."""
        import cv2

        picked = _trusted_pixels(weight, self.motion_lk_points)
        if picked is None:
            return None
        rows, cols = picked
        pixels = np.stack([cols, rows], axis=1).astype(np.float32)  # [N,2] this frame's pixels
        targets, ok = lk_matches(
            own.grey, other.grey, pixels, fit_at[rows, cols], self.motion_lk_window, self.motion_lk_levels
        )
        if not ok.any():  # no refined match (cv2.remap refuses an empty map)
            return None
        pixels, targets = pixels[ok], targets[ok]
        at = targets.reshape(-1, 1, 2)
        num = cv2.remap(other.weight * other.log_depth, at, None, cv2.INTER_LINEAR)[:, 0]  # [n]
        den = cv2.remap(other.weight, at, None, cv2.INTER_LINEAR)[:, 0]  # [n]
        kept = den >= 0.5
        return _pnp(targets[kept], num[kept] / den[kept], pixels[kept], weight.shape, camera.focal, camera.centre)

    def _temporal_filter(self, window: list[_Frame], keep: range) -> Iterator[tuple[int, np.ndarray]]:
        """Zero-lag recursive filter along the flow over consecutive frames: ``(F + B − w·e) / (F_w + B_w − w)``
        of the forward and backward passes ``F``, ``B`` (numerator and weight channels), for the window's frames
        ``keep`` (indices into ``window``). The backward pass (:class:`_BackwardPass`, kept from the window's end
        down to ``keep.start``) runs on a thread of its own while the forward pass streams here; a frame whose
        backward state is not ready yet keeps its forward state until it is (the first half of ``keep``). Yields
        ``(i, [h',w'] float32 log-depth)`` for every frame ``i`` of ``keep``, each as soon as both passes reached it
        (``-inf`` on a frame that has no depth and that no neighbour's depth reached)."""
        filtering = len(window) > 1 and self.temporal_decay > 0
        backward = _BackwardPass(self, window, keep.start) if filtering else None
        waiting: dict[int, np.ndarray] = {}  # [h,w,2] forward states of frames whose backward state is not ready
        with backward.running(self.num_workers > 1) if backward is not None else nullcontext():
            forward: np.ndarray | None = None  # [h,w,2] the forward pass's state, frame by frame
            for i, frame in enumerate(window[: keep.stop]):
                state = _own(frame)
                if filtering and forward is not None:
                    state += self._pull(forward, frame.link_prev, frame)
                forward = state
                if i < keep.start:
                    continue
                if backward is None or backward.ready(i):
                    yield i, self._combine(frame, forward, backward.state(i) if backward is not None else None)
                else:
                    waiting[i] = forward
            for i, forward in waiting.items():
                yield i, self._combine(window[i], forward, backward.state(i))

    @staticmethod
    def _combine(frame: _Frame, forward: np.ndarray, backward: np.ndarray | None) -> np.ndarray:
        """``[h',w']`` float32 log-depth of ``frame`` from its ``[h,w,2]`` forward and backward states (each holds
        the frame's own channels: counted once)."""
        total = forward
        if backward is not None:
            total = forward + backward
            total[..., 0] -= frame.weight * frame.estimate
            total[..., 1] -= frame.weight
        estimate = total[..., 0] / np.maximum(total[..., 1], 1e-12)
        if not frame.has_data:  # no stage-1 depth: what the flow brought from its neighbours, the mean elsewhere
            reached = total[..., 1] > 1e-6
            estimate = np.where(reached, estimate, estimate[reached].mean()) if reached.any() else -np.inf
        result = np.empty(frame.estimate.shape, np.float32)  # [h',w']
        result[...] = estimate
        return result

    def _pull(self, state: np.ndarray, link: _Link, frame: _Frame) -> np.ndarray:
        """The neighbour's accumulated ``[h,w,2]`` state sampled along the flow (its mean log-depth carried into
        this frame's camera by the link's depth change), times the link gate and the agreement of its depth with
        ``frame``'s estimate ``[h,w]``. The agreement test is as strict as the estimate is trusted (its weight
        ``[h,w]``): a filled pixel barely vetoes what the flow brings; its range scale is :meth:`_depth_sigma`'s.
        With the frame's ``floor`` ``[h,w]`` (``hole_pull_order``: the fill of the holes above the image's middle,
        −inf elsewhere) a depth nearer than it is refused as well."""
        import cv2

        pulled = cv2.remap(state, link.sample_at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        mean = pulled[..., 0] / np.maximum(pulled[..., 1], 1e-12)
        if link.motion is not None and self.motion_compensation:
            mean = link.motion.carry(mean, link.sample_at)
            pulled[..., 0] = mean * pulled[..., 1]
        trust = frame.weight if frame.strict is None else np.maximum(frame.weight, frame.strict)
        agree = np.exp(-0.5 * trust * ((frame.estimate - mean) / self._depth_sigma(frame)) ** 2)
        if frame.floor is not None:  # occlusion order: above the horizon, a nearer depth is what hid this point
            below = np.minimum(mean - frame.floor, 0.0)
            order = self.hole_pull_order if self.hole_pull_order > 0 else MOVER_AWAY_ORDER  # hole_mover_away_px's
            agree *= np.exp(-0.5 * order * (below / self.depth_sigma) ** 2)
        return pulled * (link.gate * agree)[..., None]

    def _depth_sigma(self, frame: _Frame) -> float | np.ndarray:
        """The temporal agreement's range scale for ``frame``: ``depth_sigma``, or with ``depth_sigma_static`` a
        ``[h',w']`` map from it (static colour regions) to ``depth_sigma`` (regions moving on their own)."""
        if frame.moving is None:
            return self.depth_sigma
        return self.depth_sigma_static + (self.depth_sigma - self.depth_sigma_static) * frame.moving

    @property
    def _motion_evidence(self) -> bool:
        """The hole fill uses the independent-motion evidence (:meth:`_Inputs.independent_motion`)."""
        return self.hole_nearness > 0 and self.hole_motion_px > 0

    def _nearest_after(self, inputs: _Inputs) -> bool:
        """``hole_outline_nearest`` acts on the temporal filter's output (in this video, and with stage 1's poses)."""
        return self.hole_outline_px > 0 and inputs.nearest and inputs.epipoles is not None

    def _far_after(self, inputs: _Inputs, k: int, log_depth: np.ndarray) -> np.ndarray:
        """Frame ``k``'s ``[h',w']`` output log-depth with :func:`~stereodiff.stage2.hole_fill.nearest_after_filter`
        applied (stage 1's covered pixels at the working resolution: a positive weight)."""
        from stereodiff.stage2.hole_fill import moving_surroundings, nearest_after_filter

        movers = self._outline_movers(inputs, k)
        if self.hole_outline_nearest_motion > 0:  # pixels whose surroundings move on their own: a mover's outline
            share, counts = inputs.independent_motion(k)  # [h',w'] each
            moving = moving_surroundings(share, counts, self.hole_far_edge_px, self.hole_outline_nearest_motion)
            movers = moving if movers is None else movers | moving
        return nearest_after_filter(self, inputs.covered(k), log_depth, inputs.epipoles[k], movers)

    def _views_after(self, inputs: _Inputs, k: int, log_depth: np.ndarray) -> np.ndarray:
        """Frame ``k``'s ``[h',w']`` output log-depth with :func:`~stereodiff.stage2.hole_fill.views_far_side`
        applied (``hole_outline_views`` nearby frames on each side, :meth:`_Inputs.views`)."""
        from stereodiff.stage2.hole_fill import views_far_side

        movers, covered = self._outline_movers(inputs, k), inputs.covered(k)
        views = inputs.views(k, self.hole_outline_views)
        return views_far_side(self, covered, log_depth, inputs.rgb(k), views, movers)

    def _depths_after(self, inputs: _Inputs, k: int, log_depth: np.ndarray) -> np.ndarray:
        """Frame ``k``'s ``[h',w']`` output log-depth with :func:`~stereodiff.stage2.hole_fill.views_depth_far_side`
        applied (``hole_outline_depths`` nearby frames on each side, :meth:`_Inputs.views`, and their trusted stage-1
        depth, :meth:`_Inputs.trusted_depth`)."""
        from stereodiff.stage2.hole_fill import views_depth_far_side

        movers, covered = self._outline_movers(inputs, k), inputs.covered(k)
        sources = inputs.view_sources(k, self.hole_outline_depths)
        views = inputs.views(k, self.hole_outline_depths)
        depths = [inputs.trusted_depth(source, self.hole_outline_depths_rim_px) for source in sources]
        return views_depth_far_side(self, covered, log_depth, views, depths, movers)

    def _near_after(self, inputs: _Inputs, k: int, log_depth: np.ndarray) -> np.ndarray:
        """Frame ``k``'s ``[h',w']`` output log-depth with :func:`~stereodiff.stage2.hole_fill.outline_near_side`
        applied (``hole_outline_near_px``)."""
        from stereodiff.stage2.hole_fill import outline_near_side

        movers, covered = self._outline_movers(inputs, k), inputs.covered(k)
        return outline_near_side(self, covered, log_depth, inputs.rgb(k), movers)

    def _planes_after(self, inputs: _Inputs, k: int, log_depth: np.ndarray) -> np.ndarray:
        """Frame ``k``'s ``[h',w']`` output log-depth with :func:`~stereodiff.stage2.hole_fill.plane_fills`
        (``hole_top_plane_px``, ``hole_floor_plane_px``, ``hole_floor_rim_px``) applied (the tops checked against
        ``hole_top_plane_views`` nearby frames on each side, :meth:`_Inputs.views`)."""
        from stereodiff.stage2.hole_fill import plane_fills

        movers, covered = self._outline_movers(inputs, k), inputs.covered(k)
        seen = None if inputs.seen_floors is None else inputs.seen_floors[k]
        views = inputs.views(k, self.hole_top_plane_views) if self.hole_top_plane_views > 0 else []
        return plane_fills(self, covered, log_depth, inputs.rgb(k), movers, seen, views)

    def _seen_floors(self, inputs: _Inputs, cam_to_world: np.ndarray) -> list[np.ndarray] | None:
        """``hole_floor_world``: the video's one floor (:func:`~stereodiff.stage2.hole_fill.world_floor`, from every
        frame's own :func:`~stereodiff.stage2.hole_fill.floor_plane` on stage 1's log-depth and ``cam_to_world
        [T,4,4]``) seen from each frame, ``[3]`` each (:func:`~stereodiff.stage2.hole_fill.seen_plane`); None where
        the frames agree on none."""
        from stereodiff.stage2.hole_fill import floor_plane, seen_plane, world_floor

        focal, centre = inputs.camera.focal, inputs.camera.centre
        planes = [
            floor_plane(inputs.covered(k), inputs.raw(k)[0], self.hole_top_plane_floor)
            for k in range(len(cam_to_world))
        ]
        world = world_floor(planes, cam_to_world, focal, centre)
        return None if world is None else [seen_plane(world, pose, focal, centre) for pose in cam_to_world]

    def _outline_movers(self, inputs: _Inputs, k: int) -> np.ndarray | None:
        """Frame ``k``'s ``[h',w']`` bool given pixels the outline passes keep away from (``hole_outline_mover_px``),
        or None without them."""
        movers = inputs.movers([k]) if self.hole_outline_mover_px > 0 else None
        return None if movers is None else movers[0]

    def _given_mask(self, inputs: _Inputs, k: int) -> np.ndarray | None:
        """Frame ``k``'s ``[h',w']`` bool given pixels at the working resolution when ``given_upsample_px`` reads
        them (and the frame has some), else None."""
        if self.given_upsample_px <= 0 or inputs.movers_given is None:
            return None
        given = inputs.movers([k])[0]
        return given if given.any() else None

    def _covered_mask(self, inputs: _Inputs, k: int) -> np.ndarray | None:
        """Frame ``k``'s ``[h',w']`` bool pixels stage 1 covers (weight > 0) at the working resolution when
        ``upsample_mode="holes"`` reads them; None otherwise."""
        return inputs.covered(k) if self.upsample_mode == "holes" else None

    def _after_final(
        self,
        inputs: _Inputs,
        after: list[Callable[[_Inputs, int, np.ndarray], np.ndarray]],
        item: tuple[int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None],
    ) -> tuple[int, np.ndarray]:
        """:meth:`_final` of ``item`` = ``(k, log-depth, frame, given, covered, fill)`` after the passes ``after``
        (each ``(inputs, k, [h',w'] log-depth) → [h',w'] log-depth``, in order) on its log-depth, then
        ``hole_near_cap`` when ``fill`` (the spatial fill, ``[h',w']`` log-depth) is given: a frame's passes read
        only ``inputs`` (thread-safe, each value the same whichever thread computes it), so the workers run them
        frame by frame, bit for bit as in order on one thread."""
        k, log_depth, frame, given, covered, fill = item
        for step in after:
            log_depth = step(inputs, k, log_depth)
        capped = None
        if fill is not None:
            log_depth, capped = self._near_capped(inputs, k, fill, log_depth)
        return self._final((k, log_depth, frame, given, covered, capped))

    def _near_capped(
        self, inputs: _Inputs, k: int, fill: np.ndarray, log_depth: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``hole_near_cap`` on frame ``k``: ``(log-depth [h',w'], capped)`` — the filter's ``log_depth`` kept at
        most the spatial ``fill`` (``[h',w']`` log-depth) on the holes off the lower border whose fill is at most the
        quantile of the frame's confident stage-1 log-depth, and those ``[h',w']`` bool pixels (None: none) for the
        guided filter's cap (:meth:`_final`)."""
        raw, weight = inputs.raw(k)
        bound = near_bound(raw, weight, self.hole_near_cap)
        if bound is None or not np.isfinite(log_depth).all():
            return log_depth, None
        border = lower_border(fill.shape, self.hole_lean_bottom, self.hole_near_cap_side)
        capped = (weight <= 0) & (fill <= bound) & ~border  # [h',w']
        if not capped.any():
            return log_depth, None
        return np.where(capped, np.minimum(log_depth, fill), log_depth).astype(np.float32), capped

    def _final(
        self, item: tuple[int, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]
    ) -> tuple[int, np.ndarray]:
        """Frame ``k`` and its ``[H,W]`` float32 output depth from ``(k, log-depth [h',w'], frame [H,W,3], given
        [h',w'] bool or None, covered [h',w'] bool or None, capped [h',w'] bool or None)``: the ``capped`` pixels
        (``hole_near_cap``) take at most the log-depth resized plainly (the guided filter may move them nearer
        only)."""
        k, log_depth, frame, given, covered, capped = item
        result = self._upsample(log_depth, frame, given, covered)
        if capped is not None:
            import cv2

            big = cv2.resize(capped.astype(np.uint8), result.shape[::-1], interpolation=cv2.INTER_NEAREST).view(bool)
            result = np.where(big, np.minimum(result, resize_plain(log_depth, result.shape)), result)
        return k, np.exp(result)

    def _upsample(
        self,
        log_depth: np.ndarray,
        frame: np.ndarray,
        given: np.ndarray | None = None,
        covered: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[h',w']`` log-depth → ``[H,W]`` with the full-resolution frame as guide; ``-inf`` stays ``-inf``. With
        ``given`` (``[h',w']`` bool, ``given_upsample_px``): the pixels not given within that reach of a given one
        take the guided filter fitted over the pixels not given (with ``given_upsample_colour``, only those whose
        colour is not nearer the given pixels' beside them: :func:`given_coloured`). ``upsample_mode="plain"``: no
        guide, the log-depth resized (:func:`resize_plain`); ``"holes"`` with ``covered`` (``[h',w']`` bool): the
        covered pixels take that plain value (moved toward the guided filter's by at most ``upsample_clamp``), the
        others the guided filter's."""
        if not np.isfinite(log_depth).all():
            return np.full(frame.shape[:2], -np.inf, np.float32)
        frame = np.asarray(frame)
        if self.upsample_mode == "plain":
            return resize_plain(log_depth, frame.shape[:2])
        guided = self._guided(log_depth, frame, given)
        if covered is None or not covered.any():
            return guided
        import cv2

        big = cv2.resize(covered.astype(np.uint8), guided.shape[::-1], interpolation=cv2.INTER_NEAREST).view(bool)
        plain = resize_plain(log_depth, guided.shape)
        kept = plain + np.clip(guided - plain, -self.upsample_clamp, self.upsample_clamp)  # [H,W]
        return np.where(big, kept, guided)

    def _guided(self, log_depth: np.ndarray, frame: np.ndarray, given: np.ndarray | None) -> np.ndarray:
        """:meth:`_upsample`'s guided filter: ``[h',w']`` finite log-depth → ``[H,W]`` float32 (``given``: the
        pixels beside a given region fitted without it)."""
        scaled = frame.astype(np.float32) / 255.0  # [H,W,3] the guide in [0, 1], once for every pass below
        guide = working_guide(frame, log_depth.shape, scaled)  # [h',w',3]
        radius, eps = self.upsample_radius, self.upsample_eps
        plain = guided_upsample(log_depth, frame, radius=radius, eps=eps, guides=(scaled, guide))
        if given is None:
            return plain
        import cv2

        beside = within(given, self.given_upsample_px) & ~given  # [h',w']
        if self.given_upsample_colour and beside.any():
            beside &= ~given_coloured(guide, given, math.ceil(self.given_upsample_px))
        beside = beside.astype(np.uint8)
        if not beside.any():
            return plain
        apart = guided_upsample(log_depth, frame, radius=radius, eps=eps, member=~given, guides=(scaled, guide))
        big = cv2.resize(beside, plain.shape[::-1], interpolation=cv2.INTER_NEAREST).view(bool)  # [H,W]
        return np.where(big, apart, plain)


# ---------------------------------------------------------------------------------------------------- filters
def held_share(per_frame: np.ndarray, run: int) -> float:
    """The largest share that ``run`` consecutive frames all reach: the maximum over the runs of the ``[T]`` float
    ``per_frame`` shares (e.g. of the pixels stage 1's mover rules gave depth) of each run's least share; ``run`` ≤ 1
    the largest frame's share, ``run`` ≥ T the least frame's, 0 for no frame. A mover holds its region over many
    frames; a false mover of a static video (a floor patch flagged in a burst of frames) does not."""
    if len(per_frame) == 0:
        return 0.0
    run = min(max(run, 1), len(per_frame))
    return float(np.lib.stride_tricks.sliding_window_view(per_frame, run).min(axis=1).max())


def resize_plain(low: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[h,w]`` float map → ``[H,W]`` float32 at ``size = (H, W)``, bilinear (``low`` itself, as float32, when the
    sizes agree: no filtering)."""
    import cv2

    low = np.asarray(low, np.float32)
    if low.shape == tuple(size):
        return low
    return cv2.resize(low, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def guided_upsample(
    low: np.ndarray,
    guide_rgb: np.ndarray,
    *,
    radius: int,
    eps: float,
    member: np.ndarray | None = None,
    guides: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Fast colour guided-filter upsampling (He, Sun & Tang 2013; He & Sun 2015) of a ``[h,w]`` map to ``[H,W]``.

    The local linear model ``low ≈ a·rgb + b`` (``a`` a 3-vector) is fitted in ``(2r+1)²`` boxes at the low
    resolution with the downscaled colour guide; the box-averaged coefficients are upsampled bilinearly and
    applied to the full-resolution colour guide, so depth edges follow the image edges.

    Args:
        low: ``[h,w]`` float32 map (e.g. log-depth).
        guide_rgb: ``[H,W,3]`` uint8 RGB guide at the target resolution.
        radius: box radius in low-resolution pixels.
        eps: regulariser (colour² units, colour in [0, 1]); larger → smoother, closer to bilinear upsampling.
        member: optional ``[h,w]`` bool pixels the boxes are taken over (box means weighted by it, for the linear
            models and for their averaging); None = every pixel. The result is defined where a member pixel lies
            within ``radius`` (its own box then has one); use it there only.
        guides: optional ``(guide_rgb / 255 [H,W,3], its working_guide [h,w,3])`` float32, when the caller has
            them (several passes over one frame); None = made here.

    Returns:
        ``[H,W]`` float32.
    """
    import cv2

    big_h, big_w = guide_rgb.shape[:2]
    h, w = low.shape
    if guides is None:
        guide_big = guide_rgb.astype(np.float32) / 255.0  # [H,W,3]
        guides = guide_big, working_guide(guide_rgb, (h, w), guide_big)
    guide_big, guide = guides
    low = low.astype(np.float32)
    size = (2 * radius + 1, 2 * radius + 1)

    if member is None:

        def box(x: np.ndarray) -> np.ndarray:
            return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    else:  # means over the member pixels of each box
        weight = np.asarray(member, np.float32)  # [h,w]
        count = np.maximum(cv2.boxFilter(weight, -1, size, borderType=cv2.BORDER_REFLECT), 1e-6)  # [h,w]

        def box(x: np.ndarray) -> np.ndarray:
            w, n = (weight[..., None], count[..., None]) if x.ndim == 3 else (weight, count)
            return cv2.boxFilter(x * w, -1, size, borderType=cv2.BORDER_REFLECT) / n

    mean_i = box(guide)  # [h,w,3]
    mean_p = box(low)  # [h,w]
    cov_ip = box(guide * low[..., None]) - mean_i * mean_p[..., None]  # [h,w,3]
    pairs = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))  # upper triangle of the colour covariance
    second = box(np.dstack([guide[..., i] * guide[..., j] for i, j in pairs]))  # [h,w,6]
    cov_ii = [
        second[..., k] - mean_i[..., i] * mean_i[..., j] + (eps if i == j else 0.0) for k, (i, j) in enumerate(pairs)
    ]
    a = _solve_symmetric3(cov_ii, cov_ip)  # [h,w,3]
    b = mean_p - a[..., 0] * mean_i[..., 0] - a[..., 1] * mean_i[..., 1] - a[..., 2] * mean_i[..., 2]  # [h,w]
    coeffs = np.dstack([box(a), box(b)])  # [h,w,4]
    if (h, w) != (big_h, big_w):
        coeffs = cv2.resize(coeffs, (big_w, big_h), interpolation=cv2.INTER_LINEAR)  # [H,W,4]
    return (
        coeffs[..., 0] * guide_big[..., 0]
        + coeffs[..., 1] * guide_big[..., 1]
        + (coeffs[..., 2] * guide_big[..., 2] + coeffs[..., 3])
    )


def working_guide(rgb: np.ndarray, size: tuple[int, int], scaled: np.ndarray | None = None) -> np.ndarray:
    """The ``[H,W,3]`` uint8 frame ``rgb`` as a ``[h,w,3]`` float32 guide in [0, 1] at ``size = (h, w)`` (area
    downscaling; ``scaled``: ``rgb / 255`` as float32 when the caller has it)."""
    import cv2

    scaled = rgb.astype(np.float32) / 255.0 if scaled is None else scaled
    h, w = size
    return scaled if scaled.shape[:2] == (h, w) else cv2.resize(scaled, (w, h), interpolation=cv2.INTER_AREA)


#: colour² (RGB in [0, 1]) by which :func:`given_coloured` wants the given pixels' mean nearer: a tie (a given region
#: that took in the background beside it, the background's own colour on both sides) is not the mover's
_COLOUR_TIE = 1e-4


def given_coloured(guide: np.ndarray, given: np.ndarray, radius: int) -> np.ndarray:
    """``[h,w]`` bool: the pixels not given whose colour lies nearer (Euclidean, RGB) the mean colour of the given
    pixels in their ``(2·radius + 1)²`` box than the mean colour of the other pixels not given there (the pixel
    itself left out) by more than :data:`_COLOUR_TIE`; False where the box lacks either. A mover's own pixels beside
    its given region (the rule gave depth to part of it) look like it; the background beside it does not.

    Args:
        guide: ``[h,w,3]`` float32 colour in [0, 1].
        given: ``[h,w]`` bool pixels whose depth a rule gave.
        radius: box radius in pixels.
    """
    import cv2

    size = (2 * radius + 1, 2 * radius + 1)

    def sums(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, normalize=False, borderType=cv2.BORDER_CONSTANT)

    inside = given.astype(np.float32)  # [h,w]
    apart = 1.0 - inside
    count_in, count_apart = sums(inside), sums(apart) - apart  # [h,w] each, the pixel itself left out
    colour_in = sums(guide * inside[..., None])  # [h,w,3]
    colour_apart = sums(guide * apart[..., None]) - guide * apart[..., None]
    both = (count_in > 0.5) & (count_apart > 0.5) & ~given
    mean_in = colour_in / np.maximum(count_in, 1.0)[..., None]
    mean_apart = colour_apart / np.maximum(count_apart, 1.0)[..., None]
    nearer = channel_sum((guide - mean_in) ** 2) + _COLOUR_TIE < channel_sum((guide - mean_apart) ** 2)
    return both & nearer


# ---------------------------------------------------------------------------------------------------- camera motion
#: horizontal field of view assumed for the camera-motion fit when stage 1's camera is not given (the geometric
#: stage 1's prior); the fit absorbs most of a wrong focal, since it only predicts the depth change of points
#: between consecutive frames
_FIELD_OF_VIEW_DEG = 60.0


@dataclass(frozen=True)
class _Camera:
    """The pinhole camera of the working resolution: ``focal`` pixels, principal point ``centre``, image ``size``."""

    focal: float
    centre: tuple[float, float]
    size: tuple[int, int]  # (h, w)


def _prior_camera(size: tuple[int, int]) -> _Camera:
    """The camera assumed when none is given: 60° horizontal field of view, principal point at the centre."""
    h, w = size
    return _Camera(0.5 * w / math.tan(math.radians(_FIELD_OF_VIEW_DEG) / 2), ((w - 1) / 2.0, (h - 1) / 2.0), size)


def _working_camera(intrinsics: np.ndarray | None, depth_size: tuple[int, int], size: tuple[int, int]) -> _Camera:
    """Stage 1's ``[3,3]``/``[T,3,3]`` intrinsics at ``depth_size = (h, w)`` (median over frames) rescaled to the
    working ``size``, or the prior camera when None (pixel centres at integer coordinates at both sizes)."""
    if intrinsics is None:
        return _prior_camera(size)
    k = np.asarray(intrinsics, np.float64).reshape(-1, 3, 3)
    if not np.isfinite(k).all() or (k[:, 0, 0] <= 0).any():
        raise ValueError("intrinsics must be finite [3,3] or [T,3,3] pinhole matrices with a positive focal")
    scale_y, scale_x = size[0] / depth_size[0], size[1] / depth_size[1]
    focal = float(np.median(0.5 * (k[:, 0, 0] * scale_x + k[:, 1, 1] * scale_y)))
    centre = (
        float(np.median((k[:, 0, 2] + 0.5) * scale_x - 0.5)),
        float(np.median((k[:, 1, 2] + 0.5) * scale_y - 0.5)),
    )
    return _Camera(focal, centre, size)


@dataclass(frozen=True)
class CameraMotion:
    """The camera's rigid motion from one frame to another, ``X' = R·X + t`` (camera coordinates, the first
    frame's depth unit), with the pinhole camera it was fitted for (``focal`` pixels, principal point ``centre``)."""

    rotation: np.ndarray  # [3,3]
    translation: np.ndarray  # [3]
    focal: float
    centre: tuple[float, float]

    def _rays(self, at: np.ndarray) -> np.ndarray:
        """``[h,w,3]`` normalised rays ``(x̃, ỹ, 1)`` of the pixels ``at [h,w,2]``."""
        return _pixel_rays(at, self.focal, self.centre)

    def carry(self, log_depth: np.ndarray, at: np.ndarray) -> np.ndarray:
        """``[h,w]`` log-depth of static points seen at the pixels ``at [h,w,2]`` of the first frame → their
        log-depth in the second frame's camera, ``Z' = Z·(r₃ · ray) + t_z`` (at least a tenth of ``Z``)."""
        factor = self._rays(at) @ self.rotation[2]  # [h,w]
        depth = np.exp(log_depth)
        return np.log(np.maximum(depth * factor + self.translation[2], 0.1 * depth)).astype(np.float32)

    def epipolar_distance(self, at: np.ndarray) -> np.ndarray:
        """``[h,w]`` Sampson distance (second frame's pixels) of the matches ``(at[y,x] in the first frame) ↔ (x, y)
        in the second`` to the epipolar geometry of this motion: ~0 for static points whatever their depth, large
        for independently moving ones (except those moving along their epipolar line). The translation is
        normalised, so a camera that only rotates gives the distance to the rotated position.

        The second frame's rays are the pixel grid's, the same for every motion of the camera: kept per camera
        (:func:`_grid_rays`, float64: the matrix product casts them anyway); the distance is computed in place (the
        same operations in the same order: bit for bit the expression it replaced, 1.5× faster, issue #20)."""
        h, w = at.shape[:2]
        norm = float(np.linalg.norm(self.translation))
        t = self.translation / norm if norm > 1e-12 else np.zeros(3)
        cross = np.array([[0, -t[2], t[1]], [t[2], 0, -t[0]], [-t[1], t[0], 0]])
        essential = cross @ self.rotation  # x₂ᵀ E x₁ = 0
        first = self._rays(at)  # [h,w,3]
        second = _grid_rays(h, w, self.focal, self.centre)
        if norm <= 1e-12:  # pure rotation: the rotated ray must hit the pixel
            rotated = rotate(first, self.rotation)
            return self.focal * np.hypot(
                rotated[..., 0] / rotated[..., 2] - second[..., 0], rotated[..., 1] / rotated[..., 2] - second[..., 1]
            )
        line_2 = rotate(first, essential)  # E x₁ [h,w,3]
        line_1 = second @ essential  # Eᵀ x₂ [h,w,3]
        # x₂ᵀ E x₁ = x₂ (E x₁)₀ + y₂ (E x₁)₁ + (E x₁)₂
        residual = np.multiply(second[..., 0], line_2[..., 0])
        residual += second[..., 1] * line_2[..., 1]
        residual += line_2[..., 2]
        scale = np.square(line_2[..., 0])
        for part in (line_2[..., 1], line_1[..., 0], line_1[..., 1]):
            scale += np.square(part)
        np.abs(residual, out=residual)
        residual *= self.focal
        np.maximum(scale, 1e-20, out=scale)
        residual /= np.sqrt(scale, out=scale)
        return residual


@functools.lru_cache(maxsize=4)
def _grid_rays(h: int, w: int, focal: float, centre: tuple[float, float]) -> np.ndarray:
    """``[h,w,3]`` float64 normalised rays ``(x̃, ỹ, 1)`` of the pixel grid (:meth:`CameraMotion._rays`'s float32
    values; read-only)."""
    rays = _pixel_rays(pixel_grid(h, w), focal, centre).astype(np.float64)
    rays.flags.writeable = False
    return rays


def _pixel_rays(at: np.ndarray, focal: float, centre: tuple[float, float]) -> np.ndarray:
    """``[h,w,3]`` normalised rays ``(x̃, ỹ, 1)`` of the pixels ``at [h,w,2]`` of a pinhole camera (``focal`` px,
    principal point ``centre``)."""
    x = (at[..., 0] - centre[0]) / focal
    y = (at[..., 1] - centre[1]) / focal
    return np.stack([x, y, np.ones_like(x)], axis=-1)


def camera_motion(
    other_log_depth: np.ndarray,
    other_at: np.ndarray,
    weight: np.ndarray,
    max_points: int = 2000,
    *,
    focal: float | None = None,
    centre: tuple[float, float] | None = None,
) -> CameraMotion | None:
    """The camera's motion from another frame to this one, from the other frame's depth and the flow (PnP).

    The other frame's confident pixels, lifted to 3D with its depth, must project onto this frame's pixels that
    the flow matches them to: a perspective-n-point problem (RANSAC, then Levenberg–Marquardt on the inliers) for
    the pinhole camera ``focal``/``centre`` (default: a 60° horizontal field of view, principal point at the image
    centre). Only the other frame's depth and the images enter, never this frame's depth, so this frame's own depth
    error (flicker) is not mistaken for camera motion.

    Args:
        other_log_depth: ``[h,w]`` the other frame's log-depth at the flow targets of this frame's pixels.
        other_at: ``[h,w,2]`` those targets (pixels of the other frame).
        weight: ``[h,w]`` trust in each match in [0, 1] (confident depth, flow consistent).
        max_points: matches used at most (a regular subsample of those with weight ≥ 0.5).
        focal: focal length in pixels of this resolution, or None for the prior.
        centre: principal point ``(cx, cy)`` in pixels, or None for ``((w − 1)/2, (h − 1)/2)``.

    Returns:
        The motion (other frame → this frame), or ``None`` when fewer than 32 matches are trusted or PnP fails.
    """
    picked = _trusted_pixels(weight, max_points)
    if picked is None:
        return None
    rows, cols = picked
    return _pnp(
        other_at[rows, cols], other_log_depth[rows, cols], np.stack([cols, rows], axis=1), other_log_depth.shape,
        focal, centre,
    )  # fmt: skip


def _trusted_pixels(weight: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Rows and columns ``[N]`` each of a regular subsample (at most ``max_points``, in raster order) of the pixels
    with ``weight [h,w] ≥ 0.5``; ``None`` when fewer than 32."""
    trusted = np.flatnonzero(weight >= 0.5)  # flat indices: np.nonzero of a 2-D mask is ~1.5× slower
    if trusted.size < 32:
        return None
    pick = np.linspace(0, trusted.size - 1, min(max_points, trusted.size)).astype(np.int64)
    return np.divmod(trusted[pick], weight.shape[1])


def _pnp(
    source: np.ndarray,
    log_depth: np.ndarray,
    pixels: np.ndarray,
    size: tuple[int, int],
    focal: float | None,
    centre: tuple[float, float] | None,
) -> CameraMotion | None:
    """:func:`camera_motion` on ``N`` matches: the other frame's pixels ``source [N,2]`` with their log-depth
    ``[N]`` ↔ this frame's pixels ``pixels [N,2]`` (x, y), for an image of ``size`` (h, w)."""
    import cv2

    if len(pixels) < 32:
        return None
    prior = _prior_camera(size)
    focal = prior.focal if focal is None else float(focal)
    centre = prior.centre if centre is None else (float(centre[0]), float(centre[1]))
    camera = np.array([[focal, 0, centre[0]], [0, focal, centre[1]], [0, 0, 1]], np.float64)
    source = source.astype(np.float64)  # [N,2] pixels of the other frame
    depth = np.exp(log_depth.astype(np.float64))  # [N]
    points = np.stack(
        [(source[:, 0] - centre[0]) / focal * depth, (source[:, 1] - centre[1]) / focal * depth, depth], axis=1
    )
    pixels = pixels.astype(np.float64)  # [N,2] this frame's pixels
    found, rvec, tvec, inliers = cv2.solvePnPRansac(
        points, pixels, camera, None, iterationsCount=100, reprojectionError=1.0, confidence=0.999,
        flags=cv2.SOLVEPNP_EPNP,
    )  # fmt: skip
    if not found or inliers is None or len(inliers) < 16:
        return None
    inliers = inliers[:, 0]
    rvec, tvec = cv2.solvePnPRefineLM(points[inliers], pixels[inliers], camera, None, rvec, tvec)
    return CameraMotion(cv2.Rodrigues(rvec)[0], tvec[:, 0].astype(np.float64), float(focal), centre)


def lk_matches(
    own_grey: np.ndarray,
    other_grey: np.ndarray,
    pixels: np.ndarray,
    targets: np.ndarray,
    window: int = 9,
    levels: int = 1,
    check_px: float = _LK_CHECK_PX,
) -> tuple[np.ndarray, np.ndarray]:
    """Matches from this frame into another refined by pyramidal Lucas–Kanade, with a forward–backward check.

    Args:
        own_grey: ``[h,w]`` uint8 grey of this frame.
        other_grey: ``[h,w]`` uint8 grey of the other frame.
        pixels: ``[N,2]`` (x, y) pixels of this frame.
        targets: ``[N,2]`` their initial matches in the other frame (e.g. a dense flow's targets), pixels.
        window: LK window side in pixels (odd).
        levels: pyramid levels above the input the refinement starts from (0 = the input only).
        check_px: the LK from the refined targets back to this frame must land within this many pixels of
            ``pixels``.

    Returns:
        ``[N,2]`` float32 refined targets and ``[N]`` bool: tracked both ways, round trip within ``check_px``,
        target inside the other frame.
    """
    import cv2

    pixels = np.ascontiguousarray(pixels, np.float32).reshape(-1, 1, 2)
    targets = np.ascontiguousarray(targets, np.float32).reshape(-1, 1, 2)
    options = {
        "winSize": (window, window), "maxLevel": levels, "criteria": _LK_CRITERIA, "flags": cv2.OPTFLOW_USE_INITIAL_FLOW
    }  # fmt: skip
    ahead, found, _ = cv2.calcOpticalFlowPyrLK(own_grey, other_grey, pixels, targets.copy(), **options)
    back, returned, _ = cv2.calcOpticalFlowPyrLK(other_grey, own_grey, ahead, pixels.copy(), **options)
    ahead, back, pixels = ahead[:, 0], back[:, 0], pixels[:, 0]  # [N,2] each
    miss = np.hypot(back[:, 0] - pixels[:, 0], back[:, 1] - pixels[:, 1])
    h, w = other_grey.shape
    inside = (ahead[:, 0] >= 0) & (ahead[:, 0] <= w - 1) & (ahead[:, 1] >= 0) & (ahead[:, 1] <= h - 1)
    return ahead, (found[:, 0] == 1) & (returned[:, 0] == 1) & (miss < check_px) & inside


# ---------------------------------------------------------------------------------------------------- helpers
def _solve_symmetric3(m: list[np.ndarray], v: np.ndarray) -> np.ndarray:
    """Solve ``M x = v`` per pixel for symmetric positive-definite 3×3 ``M`` given by its upper triangle
    ``m = [m00, m01, m02, m11, m12, m22]`` (each ``[h,w]``), by cofactors; ``v`` is ``[h,w,3]``."""
    a, b, c, d, e, f = m
    ca, cb, cc = d * f - e * e, c * e - b * f, b * e - c * d
    cd, ce, cf = a * f - c * c, b * c - a * e, a * d - b * b
    inv_det = 1.0 / (a * ca + b * cb + c * cc)
    v0, v1, v2 = v[..., 0], v[..., 1], v[..., 2]
    return (
        np.dstack([ca * v0 + cb * v1 + cc * v2, cb * v0 + cd * v1 + ce * v2, cc * v0 + ce * v1 + cf * v2])
        * inv_det[..., None]
    )


def _median_confidence(depth: Any, confidence: Any, max_frames: int = 16) -> float:
    """Median positive confidence of valid pixels over up to ``max_frames`` evenly spaced frames."""
    t = depth.shape[0]
    samples = []
    for k in np.unique(np.linspace(0, t - 1, min(t, max_frames)).round().astype(int)):
        d, c = np.asarray(depth[k]), np.asarray(confidence[k])
        good = np.isfinite(d) & (d > 0) & np.isfinite(c) & (c > 0)
        samples.append(c[good])
    values = np.concatenate(samples)
    if values.size == 0:
        logger.warning("temporal refine: no valid confident stage-1 pixel in the sampled frames")
        return 1.0
    return float(np.median(values))


def _resize_log_depth(
    depth: Any, confidence: Any, conf_ref: float, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """One frame's ``[h,w]`` depth/confidence → (log-depth, weight in [0, 1]) at ``size`` (weighted area average)."""
    import cv2

    d = np.asarray(depth, dtype=np.float32)
    c = np.asarray(confidence, dtype=np.float32)
    valid = np.isfinite(d) & (d > 0) & np.isfinite(c)
    weight = np.where(valid, np.clip(c / conf_ref, 0.0, 1.0), 0.0).astype(np.float32)
    log_d = np.where(valid, np.log(np.where(valid, d, 1.0)), 0.0).astype(np.float32)
    if d.shape == size:
        return log_d, weight
    h, w = size
    interp = cv2.INTER_AREA if h < d.shape[0] else cv2.INTER_LINEAR
    num = cv2.resize(weight * log_d, (w, h), interpolation=interp)
    den = cv2.resize(weight, (w, h), interpolation=interp)
    return np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0).astype(np.float32), np.clip(den, 0, 1)


@dataclass
class _Frame:
    """One frame prepared at the working resolution (kept while windows need it)."""

    estimate: np.ndarray  # [h',w'] float32 log-depth after the spatial fill
    weight: np.ndarray  # [h',w'] float32 temporal weight
    has_data: bool  # any valid stage-1 depth in this frame
    floor: np.ndarray | None = None  # [h',w'] float32 the upper holes' fill, −inf elsewhere (``hole_pull_order``)
    moving: np.ndarray | None = None  # [h',w'] float32 the colour region's independent motion (``depth_sigma_static``)
    strict: np.ndarray | None = None  # [h',w'] float32 the agreement test's least weight (``given_veto_px``)
    link_prev: _Link | None = None  # how to pull frame k−1's state into this frame
    link_next: _Link | None = None  # same, frame k+1's


@dataclass
class _Link:
    """Pulling a neighbouring frame's state into this frame along the flow."""

    sample_at: np.ndarray  # [h',w',2] float32 absolute pixel coordinates in the neighbour
    gate: np.ndarray  # [h',w'] float32 in [0, λ]
    motion: CameraMotion | None  # the camera's motion from the neighbour to this frame
    consistent: np.ndarray | None  # [h',w'] bool: the flow passes the forward–backward check (``hole_warp_seen``)


def _own(frame: _Frame) -> np.ndarray:
    """``[h,w,2]`` the frame's own numerator and weight channels in the temporal filter's passes."""
    return np.stack([frame.weight * frame.estimate, frame.weight], axis=-1)


class _BackwardPass:
    """The temporal filter's backward pass over a window, from its last frame down to frame ``first``: the state
    of frame ``i`` is its own channels plus frame ``i + 1``'s state pulled along ``link_next``. Run inline, or on a
    thread of its own (:meth:`running`) while the forward pass asks which states are :meth:`ready`."""

    def __init__(self, refiner: TemporalRefiner, window: list[_Frame], first: int) -> None:
        self.refiner, self.window, self.first = refiner, window, first
        self.states = np.empty(0)  # [n - first,h,w,2], set by run
        self._done = len(window)  # the lowest frame whose state is final
        self._error: BaseException | None = None
        self._changed = threading.Condition()

    def run(self) -> None:
        """The pass, frame by frame downwards; each finished state is announced to :meth:`state`'s waiters."""
        try:
            self.states = np.stack([_own(f) for f in self.window[self.first :]])
            with self._changed:
                self._done = len(self.window) - 1  # the last frame's state is its own channels
                self._changed.notify_all()
            for i in range(len(self.window) - 2, self.first - 1, -1):
                frame, above = self.window[i], self.states[i + 1 - self.first]
                self.states[i - self.first] += self.refiner._pull(above, frame.link_next, frame)
                with self._changed:
                    self._done = i
                    self._changed.notify_all()
        except BaseException as error:
            with self._changed:
                self._error = error
                self._changed.notify_all()
            raise

    @contextmanager
    def running(self, threaded: bool) -> Iterator[None]:
        """The pass on its own thread while the block runs (joined at its end), or all of it first."""
        if not threaded:
            self.run()
            yield
            return
        thread = threading.Thread(target=self.run, name="temporal backward pass", daemon=True)
        thread.start()
        try:
            yield
        finally:
            thread.join()

    def ready(self, i: int) -> bool:
        """Frame ``i``'s state is final."""
        return self._done <= i

    def state(self, i: int) -> np.ndarray:
        """Frame ``i``'s final ``[h,w,2]`` state (waits for it)."""
        with self._changed:
            self._changed.wait_for(lambda: self._done <= i or self._error is not None)
            if self._error is not None:
                raise RuntimeError("the temporal filter's backward pass failed") from self._error
        return self.states[i - self.first]


@dataclass
class _Raw:
    """One frame's inputs at the working resolution."""

    rgb: np.ndarray  # [h',w',3] float32 in [0, 1]
    grey: np.ndarray  # [h',w'] uint8 (flow input)
    log_depth: np.ndarray  # [h',w'] float32 stage-1 log-depth (0 on holes)
    weight: np.ndarray  # [h',w'] float32 stage-1 confidence weight in [0, 1] (0 on holes)


class _Inputs:
    """The frames and the stage-1 depth at the working resolution, and the flow links between consecutive frames,
    each computed on demand and depending on its frames only, never on the window that asked first (resumed runs
    are identical). Memory stays bounded: the per-frame inputs are kept for the last ``_RAW_KEPT`` frames asked for
    (recomputed, identically, if asked again), the DIS flows of a pair only until both its links are built, and the
    links while windows need them (:meth:`forget_before`)."""

    def __init__(
        self,
        refiner: TemporalRefiner,
        frames: Any,
        depth: Any,
        confidence: Any,
        conf_ref: float,
        camera: _Camera,
        lean: np.ndarray | None = None,
        warp_frames: int | None = None,
        farness: float | None = None,
        order: np.ndarray | None = None,
        up: bool = False,
    ) -> None:
        self.refiner, self.frames, self.depth, self.confidence = refiner, frames, depth, confidence
        #: the far lean's γ of the fill (``hole_farness``, or ``hole_farness_ahead`` for a camera moving ahead)
        self.farness = refiner.hole_farness if farness is None else farness
        self.lean = lean  # [h',w'] bool: the holes there lean fully to the near side (``hole_lean_bottom``)
        self.order = order  # [h',1] bool rows whose holes refuse nearer pulled depth (``hole_pull_order``), or None
        self.up = up  # the camera moves ahead: ``hole_up_px`` and ``hole_near_object`` apply
        #: frames on each side whose depth is carried into the holes (``hole_warp_frames``, 0 where
        #: ``hole_warp_ahead`` turns it off)
        self.warp_frames = refiner.hole_warp_frames if warp_frames is None else warp_frames
        self.conf_ref, self.camera, self.size, self.num_frames = conf_ref, camera, camera.size, depth.shape[0]
        self._raw: OrderedDict[int, _Raw] = OrderedDict()
        self._links: dict[tuple[int, int], _Link] = {}
        self._building: dict[int, Future] = {}  # the pairs whose links a thread is building, by first frame
        self._local = threading.local()  # .dis: one DIS engine per thread
        self._lock = threading.Lock()  # the per-frame inputs' cache and the links are shared by the threads
        #: the flow's grey conversion (``flow_grey``), one for the whole video
        self._projection = grey_projection(frames, self.size, refiner.flow_grey)

    #: ``[T,h,w]`` bool pixels whose depth stage 1's mover rules gave (``hole_outline_mover_px``), or None
    movers_given: np.ndarray | None = None
    #: ``hole_floor_world``: the video's one floor seen from each frame (``[3]`` each), or None
    seen_floors: list[np.ndarray] | None = None
    #: ``hole_warp_min_px`` as decided for this video (``hole_warp_static_min_px`` in a static one), or None
    warp_min_px: float | None = None
    #: of the points carried to a hole, the farthest wins over every distance (``hole_warp_static``), not the
    #: nearest frame's nearest point
    warp_farthest: bool = False
    #: a carried point counts only where another source frame confirms it within this log tolerance
    #: (``hole_warp_static_agree``; 0 = one source suffices)
    warp_agree: float = 0.0
    #: the outline rule's settings for a static video (``hole_outline_wide_band_px``), or None: the refiner's own
    outline: TemporalConfig | None = None
    #: ``hole_outline_nearest`` acts in this video (with ``hole_outline_nearest_static``: stage 1 finds it static)
    nearest: bool = False
    #: ``[T,3]`` each frame's epipole of the camera's motion at the working resolution (``hole_outline_parallax``),
    #: or None
    epipoles: np.ndarray | None = None

    def movers(self, chunk: list[int]) -> np.ndarray | None:
        """``[n,h',w']`` bool :attr:`movers_given` of the frames ``chunk`` at the working resolution (a working pixel
        is given when any part of it is), or None without them."""
        if self.movers_given is None:
            return None
        import cv2

        h, w = self.size
        given = (np.asarray(self.movers_given[k], np.float32) for k in chunk)
        return np.stack([cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA) > 0 for g in given])

    def forget_before(self, first: int) -> None:
        """Drop the links of frames before ``first``."""
        for key in [key for key in self._links if key[0] < first]:
            del self._links[key]

    def raw(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``k``'s ``[h',w']`` stage-1 log-depth and confidence weight."""
        item = self._get(k)
        return item.log_depth, item.weight

    def covered(self, k: int) -> np.ndarray:
        """``[h',w']`` bool pixels of frame ``k`` stage 1 covers (a positive weight)."""
        return self._get(k).weight > 0

    def rgb(self, k: int) -> np.ndarray:
        """``[h',w',3]`` float32 RGB in [0, 1] of frame ``k``."""
        return self._get(k).rgb

    def _get(self, k: int) -> _Raw:
        import cv2

        with self._lock:
            if k in self._raw:
                self._raw.move_to_end(k)
                return self._raw[k]
        h, w = self.size
        small = cv2.resize(np.asarray(self.frames[k]), (w, h), interpolation=cv2.INTER_AREA)
        log_d, weight = _resize_log_depth(self.depth[k], self.confidence[k], self.conf_ref, self.size)
        grey = grey_frame(small, self.size, self._projection)
        raw = _Raw(small.astype(np.float32) / 255.0, grey, log_d, weight)
        with self._lock:
            self._raw[k] = raw
            if len(self._raw) > _RAW_KEPT:
                self._raw.popitem(last=False)
        return raw

    def link(self, k: int, step: int) -> _Link:
        """How frame ``k`` pulls the state of frame ``k + step`` (``step`` = ±1). Both links of a pair of frames
        are built from one pair of DIS flows (frame ``a`` → ``a+1`` and back), which is then dropped."""
        if (k, step) not in self._links:
            self._ensure_links(min(k, k + step))
        return self._links[k, step]

    def build_links(self, firsts: list[int], num_workers: int) -> None:
        """Build the links of the pairs of consecutive frames ``(a, a + 1)`` for ``a`` in ``firsts`` not built yet,
        on ``num_workers`` threads (each pair once: the same links as :meth:`link` builds on demand)."""
        todo = [a for a in dict.fromkeys(firsts) if (a, +1) not in self._links]
        for _ in thread_imap(self._ensure_links, todo, num_workers):
            pass

    def _ensure_links(self, a: int) -> None:
        """Both links of frames ``a`` and ``a + 1``, built once: a thread that asks for them while another thread
        builds them waits for that thread's."""
        with self._lock:
            if (a, +1) in self._links:
                return
            building = self._building.get(a)
            mine = building is None
            if mine:
                building = self._building[a] = Future()
        if not mine:
            building.result()
            return
        try:
            links = self._build_links(a)
            with self._lock:
                self._links[a, +1], self._links[a + 1, -1] = links
            building.set_result(None)
        except BaseException as error:
            building.set_exception(error)
            raise
        finally:
            with self._lock:
                del self._building[a]

    def _build_links(self, a: int) -> tuple[_Link, _Link]:
        """How frame ``a`` pulls frame ``a + 1`` and how frame ``a + 1`` pulls frame ``a``."""
        first, second = self._get(a), self._get(a + 1)
        refiner = self.refiner
        engine = thread_dis_engine(
            self._local, refiner.flow_preset, refiner.flow_variational_iterations, refiner.flow_finest_scale
        )
        ab, ba = dis_flows(engine, first.grey, second.grey)  # [h',w',2] each, pixels
        return refiner._link(ab, ba, second, first, self.camera), refiner._link(ba, ab, first, second, self.camera)

    def flow_boundary(self, k: int) -> np.ndarray:
        """``[h',w']`` bool: frame ``k``'s pixels within ``hole_far_boundary_px`` of a motion boundary of its flow
        to either neighbouring frame (:func:`~stereodiff.stage2.hole_fill.near_motion_boundary`)."""
        grid = pixel_grid(*self.size)  # [h',w',2]
        steps = [step for step in (-1, +1) if 0 <= k + step < self.num_frames]
        flows = [self.link(k, step).sample_at - grid for step in steps]  # [h',w',2] each, pixels
        return near_motion_boundary(flows, self.refiner.hole_far_boundary_px, self.size)

    def warped(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``k``'s depth as the confident stage-1 depth of the ``hole_warp_frames`` frames on each side sees
        it, for static scenery that stage 1 could not triangulate in this frame (image borders under forward
        motion, surfaces revealed behind a passing object). Each such frame's pixels (weight ≥ ½) are lifted to 3D
        with their depth, moved into frame ``k``'s camera by the chain of fitted camera motions
        (:func:`camera_motion`) and projected to the nearest pixel; the nearest point wins. A point counts only
        where it lands as the optical flow (chained over the same frames) says, within ``_WARP_FLOW_PX`` per frame
        plus 5 % of the flow's travel (an independently moving point does not), and where this frame's colour
        agrees, ``exp(−½ (Δ/colour_sigma)²) ≥ ½`` (a pixel now covered by another object keeps its hole), and
        with ``hole_warp_seen`` only where the chained flow passed every forward–backward check. Nearer
        frames first: a pixel takes the first distance ``j`` that reaches it, trusted as its source pixel times
        that colour agreement. In a video stage 1 finds static (``hole_warp_static``: ``warp_farthest``,
        ``warp_agree``) the farthest point wins instead, over every distance, and with ``warp_agree`` only a point
        another source frame confirms (:func:`_agreed`). Returns ``[h',w']`` log-depth and trust in [0, 1] (0 = not
        reached); a chain stops where a camera motion is unknown."""
        import cv2

        h, w = self.size
        log_depth, trust = np.zeros(h * w, np.float32), np.zeros(h * w, np.float32)
        chains = {step: self.chained(k, step, self.warp_frames) for step in (-1, +1)}  # per side, nearest first
        flows: dict[int, np.ndarray] = {}  # per side, [h,w,2]: where the flow puts frame k's pixels in the source
        seen: dict[int, np.ndarray] = {}  # per side, [h·w] bool: the chained flow passed every forward–backward check
        grid = pixel_grid(h, w).reshape(-1, 2)
        here, sigma = self._get(k).rgb.reshape(-1, 3), self.refiner.colour_sigma
        holes = self._get(k).weight == 0  # [h,w]
        min_px = self.refiner.hole_warp_min_px if self.warp_min_px is None else self.warp_min_px
        if min_px > 0:  # only holes this far from the frame's own depth: not its thin gaps
            holes &= cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3) >= min_px
        farthest = self.warp_farthest  # the farthest carried point wins, over every distance
        tolerance = self.warp_agree  # only points another source frame confirms
        sources: list[tuple[np.ndarray, np.ndarray]] = []  # with tolerance: [h·w] log-depth (NaN: none), trust
        holes = holes.reshape(-1)
        if not holes.any():
            return log_depth.reshape(h, w), trust.reshape(h, w)
        for j in range(1, self.warp_frames + 1):
            level = np.full(h * w, -np.inf if farthest else np.inf, np.float32)  # this distance's winner per pixel
            level_trust = np.zeros(h * w, np.float32)  # and its source pixel's weight
            for step in (-1, +1):
                chained = next(chains[step], None) if step in chains else None
                if chained is None:  # the frame's edge, or a camera motion unknown: this side stops
                    chains.pop(step, None)
                    continue
                source, link, rotation, translation = chained
                motion = link.motion
                if step in flows:  # chained along the flow: k → … → source - step → source
                    if link.consistent is not None:
                        seen_there = cv2.remap(link.consistent.astype(np.float32), flows[step], None, cv2.INTER_NEAREST)
                        seen[step] = seen[step] & (seen_there.reshape(-1) > 0)
                    flows[step] = cv2.remap(link.sample_at, flows[step], None, cv2.INTER_LINEAR)
                else:
                    flows[step] = link.sample_at
                    if link.consistent is not None:
                        seen[step] = link.consistent.reshape(-1)
                raw = self._get(source)
                rows, cols = np.nonzero(raw.weight >= 0.5)
                rays = motion._rays(np.stack([cols, rows], axis=-1).astype(np.float64))  # [N,3]
                points = rotate(rays * np.exp(raw.log_depth[rows, cols, None]), rotation) + translation
                z = np.maximum(points[:, 2], 1e-6)
                u = np.rint(motion.focal * points[:, 0] / z + motion.centre[0]).astype(np.int64)
                v = np.rint(motion.focal * points[:, 1] / z + motion.centre[1]).astype(np.int64)
                keep = np.flatnonzero((points[:, 2] > 1e-6) & (u >= 0) & (u < w) & (v >= 0) & (v < h))
                keep = keep[holes[v[keep] * w + u[keep]]]  # only what lands on a hole matters
                target, depth = v[keep] * w + u[keep], z[keep].astype(np.float32)
                # this frame's colour there must agree (not another object), and static scenery lands where the
                # flow puts it (an independently moving point does not)
                agree = np.exp(-0.5 * (colour_l1(raw.rgb[rows[keep], cols[keep]] - here[target]) / sigma) ** 2)
                expected = flows[step].reshape(-1, 2)[target]  # [n,2] where the flow says it was in the source
                travel = np.hypot(*(expected - grid[target]).T)
                miss = np.hypot(expected[:, 0] - cols[keep], expected[:, 1] - rows[keep])
                good = (agree >= 0.5) & (miss <= _WARP_FLOW_PX * j + 0.05 * travel)
                if step in seen:  # hole_warp_seen: frame k's pixel is visible in the source (not disoccluded)
                    good &= seen[step][target]
                good = np.flatnonzero(good)
                # farthest first: the nearest point is written last and wins (``warp_farthest``: the reverse)
                good = good[np.argsort(depth[good] if farthest else -depth[good])]
                target, depth = target[good], depth[good]
                weight = raw.weight[rows[keep[good]], cols[keep[good]]] * agree[good]
                if tolerance > 0:  # each source frame's own winner per pixel, for the agreement below
                    own = np.full(h * w, np.nan, np.float32)
                    own_trust = np.zeros(h * w, np.float32)
                    own[target], own_trust[target] = np.log(depth), weight  # the sorted order's last write wins
                    sources.append((own, own_trust))
                nearer = depth >= level[target] if farthest else depth <= level[target]
                level[target[nearer]], level_trust[target[nearer]] = depth[nearer], weight[nearer]
            new = np.isfinite(level) & (trust == 0)
            if farthest:  # a farther point from a later distance replaces an earlier one
                new |= np.isfinite(level) & (trust > 0) & (np.log(np.maximum(level, 1e-30)) > log_depth)
            log_depth[new], trust[new] = np.log(level[new]), level_trust[new]
        if tolerance > 0 and sources:
            log_depth, trust = _agreed(sources, tolerance, farthest)
        return log_depth.reshape(h, w), trust.reshape(h, w)

    def view_sources(self, k: int, frames: int) -> list[int]:
        """The frame indices of :meth:`views`, in its order."""
        return [source for step in (-1, +1) for source, *_ in self.chained(k, step, frames)]

    def trusted_depth(self, k: int, rim_px: float) -> np.ndarray:
        """Frame ``k``'s ``[h',w']`` float32 stage-1 log-depth where it is confident (weight ≥ ½) and at least
        ``rim_px`` working-resolution pixels from the frame's own holes (weight 0), NaN elsewhere."""
        import cv2

        log_depth, weight = self.raw(k)
        trusted = weight >= 0.5
        if rim_px > 0:
            trusted &= cv2.distanceTransform((weight > 0).astype(np.uint8), cv2.DIST_L2, 3) >= rim_px
        return np.where(trusted, log_depth, np.nan).astype(np.float32)

    def views(self, k: int, frames: int) -> list[View]:
        """Frame ``k``'s nearby frames, up to ``frames`` on each side, as its camera sees them
        (:class:`~stereodiff.stage2.hole_fill.View`: their colours and the camera's motion from frame ``k`` to them,
        the inverse of :meth:`chained`'s motions); a side stops where a camera motion is unknown."""
        found = []
        for step in (-1, +1):
            for source, link, rotation, translation in self.chained(k, step, frames):
                back = rotation.T  # frame k → source: X' = Rᵀ·X − Rᵀ·t
                found.append(View(self.rgb(source), back, -back @ translation, link.motion.focal, link.motion.centre))
        return found

    def chained(self, k: int, step: int, frames: int) -> Iterator[tuple[int, _Link, np.ndarray, np.ndarray]]:
        """The frames ``k + step·j``, ``j`` = 1 … ``frames`` (``step`` = ±1), nearest first, each as ``(source, link,
        R [3,3], t [3])``: its link towards frame ``k`` (source → its neighbour towards ``k``) and the chain of the
        links' fitted camera motions from it to frame ``k`` (``X_k = R·X_source + t``); stops at the video's edge or
        where a camera motion is unknown. Links are built on demand, one frame at a time."""
        rotation, translation = np.eye(3), np.zeros(3)
        for j in range(1, frames + 1):
            source = k + step * j
            if not 0 <= source < self.num_frames:
                return
            link = self.link(source - step, step)
            motion = link.motion
            if motion is None:
                return
            rotation, translation = rotation @ motion.rotation, rotation @ motion.translation + translation
            yield source, link, rotation, translation

    def independent_motion(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Evidence that frame ``k``'s pixels move unlike a rigid scene seen by the moving camera: ``[h',w']``
        share ``1 − exp(−½ (d/σ)²)`` in [0, 1] of the flow's distance ``d`` (pixels) to its epipolar line, and
        ``[h',w']`` how much that evidence counts in [0, 1]: texture (``1 − exp(−½ (g/g₀)²)`` of the mean image
        gradient ``g``, grey levels per pixel) where the flow passes its forward–backward check, 0 elsewhere and
        where the camera's motion is unknown. σ = ``hole_motion_px``, or 3 × the median distance of the pixels
        with confident stage-1 depth when that is larger (lens distortion, rolling shutter, a wrong focal)."""
        import cv2

        nothing = np.zeros(self.size, np.float32)
        if self.num_frames == 1:
            return nothing, nothing
        shares, consistent = [], np.ones(self.size, bool)
        for step in (-1, +1):  # the motion seen from both neighbours, averaged (the end frames have one)
            if not 0 <= k + step < self.num_frames:
                continue
            link = self.link(k, step)
            if link.motion is None:
                return nothing, nothing
            distance = link.motion.epipolar_distance(link.sample_at)  # [h',w'] pixels
            static = (self._get(k).weight >= 0.5) & (link.gate > 0)  # confident stage-1 depth: mostly static
            noise = float(np.median(distance[static])) if static.any() else 0.0
            sigma = max(self.refiner.hole_motion_px, 3.0 * noise)
            shares.append(1.0 - np.exp(-0.5 * (distance / sigma) ** 2))
            consistent &= link.gate > 0
        share = np.mean(shares, axis=0)
        grey = self._get(k).grey.astype(np.float32)
        grad_x = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
        grad_y = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
        texture = cv2.blur(hypot32(grad_x, grad_y), (5, 5))
        counts = (1.0 - np.exp(-0.5 * (texture / _TEXTURE_GREY) ** 2)) * consistent
        return share.astype(np.float32), counts.astype(np.float32)


class _WindowCache:
    """Finished windows of one refine run: ``meta.json`` (the run's stamp) + ``window_00000.npy`` … (each written
    atomically)."""

    def __init__(self, folder: Path, meta: dict) -> None:
        self.folder = Path(folder)
        what, fix = "temporal-refine windows", "use a new cache folder or delete this one"
        stamped_folder(self.folder, meta, name="meta.json", what=what, fix=fix)

    def _path(self, index: int) -> Path:
        return self.folder / f"window_{index:05d}.npy"

    def has(self, index: int) -> bool:
        return self._path(index).exists()

    def load(self, index: int) -> np.ndarray:
        return np.load(self._path(index))

    def save(self, index: int, data: np.ndarray) -> None:
        with atomic_file(self._path(index)) as tmp:
            np.save(tmp, np.asarray(data, dtype=np.float32))


def _agreed(
    sources: list[tuple[np.ndarray, np.ndarray]], tolerance: float, farthest: bool
) -> tuple[np.ndarray, np.ndarray]:
    """``hole_warp_static_agree``: per pixel, of the source frames' carried log-depths (``[N]`` float32 each, NaN =
    none, with their trust), the farthest (``farthest``) or nearest one that another source frame confirms within
    ``tolerance`` in log; ``(log_depth [N], trust [N])``, trust 0 where no carried point is confirmed."""
    values = np.stack([v for v, _ in sources])  # [S,N]
    trusts = np.stack([t for _, t in sources])
    confirmed = np.zeros(values.shape, bool)
    with np.errstate(invalid="ignore"):
        for i in range(len(sources)):
            for j in range(i + 1, len(sources)):
                close = np.abs(values[i] - values[j]) <= tolerance
                confirmed[i] |= close
                confirmed[j] |= close
    ranked = np.where(confirmed, values, -np.inf if farthest else np.inf)
    best = np.argmax(ranked, axis=0) if farthest else np.argmin(ranked, axis=0)
    columns = np.arange(values.shape[1])
    found = confirmed[best, columns]
    log_depth = np.where(found, values[best, columns], 0.0).astype(np.float32)
    trust = np.where(found, trusts[best, columns], 0.0).astype(np.float32)
    return log_depth, trust
