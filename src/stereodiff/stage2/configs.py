"""Typed settings of the stage-2 backends: one dataclass per backend, light to import (no numpy, torch, OpenCV).

Each dataclass is what its backend is built from, what ``PipelineConfig.stage2`` holds, what ``run.json`` records
(nothing else), and what ``--set stage2.<field>=VALUE`` changes. The field docstrings are the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stereodiff.stage1.configs import BackendConfig, check_fields

__all__ = [
    "DVDConfig",
    "DepthCrafterConfig",
    "DepthCrafterFullConfig",
    "NoStage2Config",
    "RollingDepthConfig",
    "RollingDepthRefinerConfig",
    "TemporalConfig",
]

#: how windows are merged: in latent space (``latent``, ``none``) or on decoded disparity (``affine``, ``joint``)
STITCHING = ("latent", "affine", "joint", "none")
#: which output pixels the weights-free refiner's guided upsampling reaches (``TemporalConfig.upsample_mode``)
UPSAMPLE_MODES = ("guided", "holes", "plain")


@dataclass
class NoStage2Config(BackendConfig):
    """No refinement: the stage-1 depth resized to the source size (nearest, so holes stay holes)."""

    backend: Literal["none"] = "none"


@dataclass
class TemporalConfig(BackendConfig):
    """The weights-free refiner (:class:`stereodiff.stage2.temporal.TemporalRefiner`). Every field is a tuning knob
    with a measured default (synthetic presets only; see ``benchmarks/bench_temporal.py``)."""

    backend: Literal["temporal"] = "temporal"
    work_long_side: int = 320
    """Long side (pixels) of the working resolution for flow and filtering; the stage-1 depth resolution is used
    when it is smaller. Larger: finer flow and edges, proportionally slower (cost ∝ pixels)."""
    window: int = 64
    """Output frames per window. Memory ∝ ``window + 2·overlap`` frames at the working resolution (measured heap
    peak ≈ 4.3 MiB per frame at 320×240, i.e. ≈ 560 MiB with the defaults, independent of the video length)."""
    overlap: int = 32
    """Context frames read on each side of a window (not output by it). The recursive filter reaches
    ``temporal_decay ** overlap`` of a frame's weight that far, so windowed and single-window runs differ by
    about that fraction. More: closer to a single-window run, slower (each window recomputes its context)."""
    temporal_decay: float = 0.9
    """Weight kept per frame by the recursive passes along the flow (0 ≤ λ < 1). The zero-lag filter's response
    at temporal frequency ω is ``(1−λ)² / (1 − 2λ cos ω + λ²)`` (1 at ω = 0, so the global scale is kept):
    larger λ removes more flicker but smears fast depth changes that the flow does not explain."""
    depth_sigma: float = 0.5
    """Range scale (log-depth, ≈ relative depth) of the temporal filter: a depth propagated along the flow that
    differs from the current frame's estimate by Δ gets weight ``exp(−½ w (Δ/σ)²)``, ``w`` the current pixel's
    temporal weight (1 when confident, ``fill_weight`` when filled). Smaller: safer at flow errors
    and depth edges, but large flicker survives; larger: removes larger flicker, risks mixing surfaces."""
    depth_sigma_static: float = 0.0
    """The temporal filter's range scale (``depth_sigma``) where the scene does not move on its own (0 = off:
    ``depth_sigma`` everywhere). Needs the independent-motion evidence of ``hole_motion_px`` (with
    ``hole_nearness``): each pixel gets ``σ = depth_sigma_static + (depth_sigma − depth_sigma_static)·m``, ``m`` in
    [0, 1] its colour region's share of independent motion (the share the holes lean by; 1 where the region has no
    evidence). A static scene's covered pixels then refuse depth the flow brings from across a depth edge while a
    moving object keeps the loose scale it needs. Measured (docs/stage2-temporal.md, "The covered pixels of a static
    orbit"), final all-pixel AbsRel: 0.25 takes static-orbit s0–s3 0.0236 / 0.0276 / 0.0259 / 0.0278 → 0.0235 /
    0.0269 / 0.0257 / 0.0278 and fresh s258–s262 0.2–3.9 % lower, but TUM 0.1010 → 0.1046, 7-Scenes 0.1211 →
    0.1223, indoor-dynamic s0 0.0669 → 0.0763 (the evidence calls too much static): 0 here and in the preset."""
    colour_sigma: float = 0.2
    """Colour-constancy scale of the temporal filter (RGB in [0, 1], summed over channels): a pixel whose colour
    differs by Δ from the colour the flow brings from the neighbouring frame gets weight ``exp(−½ (Δ/σ)²)``, which
    catches occlusions and flow errors at object boundaries that the forward–backward check misses."""
    motion_compensation: bool = True
    """Carry depth along the flow into the next frame's camera: per pair of consecutive frames, the camera's depth
    change ``Z' = Z·(1 + a·u + b·v) + c`` of a rigid scene is fitted (robustly) on confident matched pixels and
    applied to what the flow brings. Without it, a static point whose depth changes as the camera moves is
    averaged with its own past and future depths (on exact input depth: AbsRel 0.008 of bias on static-orbit)."""
    fill_sigma_px: float = 30.0
    """Spatial reach (working-resolution pixels) of the edge-aware fill. Larger fills bigger holes; the colour
    edges still stop it."""
    fill_sigma_color: float = 0.04
    """Colour difference (RGB in [0, 1], summed over channels) at which the fill's propagation is cut by e^-1 per
    unit of ``fill_sigma_px``. Smaller: stricter edge stopping (also at texture); larger: more bleeding."""
    fill_iterations: int = 2
    """Horizontal+vertical rounds of the domain-transform filter (2–3 removes its directional artefacts)."""
    fill_floor: float = 0.5
    """Least weight of a *valid* stage-1 pixel in the spatial fill, whatever its confidence. Low-confidence regions
    (moving objects) then take their fill mostly from their own depth inside their colour region instead of from
    the confident background across the edge; holes (no depth) still take it from their surroundings."""
    hole_nearness: float = 0.0
    """Occlusion-aware hole filling: a hole (no stage-1 depth) leans toward the soft minimum
    ``−log(Σ w·exp(−β·x)) / β`` of the log-depth ``x`` reachable in its colour region instead of the weighted mean
    (β = this value; never farther than the mean; 0 = the plain mean): untriangulated pixels of a
    moving object are its own, and an occluder is nearer than what it hides. How far each hole leans is decided by
    the motion evidence of ``hole_motion_px``. Measured (docs/stage2-temporal.md): with β = 100 and the evidence,
    final all-pixel AbsRel close-object 0.292 → 0.221, driving 0.344 → 0.335, 7-Scenes 0.123 → 0.122,
    static-orbit unchanged, but TUM fr1/desk 0.142 → 0.144. 0 here; 100 in the ``cpu`` preset (with ``movers``)."""
    hole_motion_px: float = 1.0
    """Motion evidence for ``hole_nearness`` (flow pixels at the working resolution; 0 = none: every hole leans
    fully, the behaviour before issue #20, which costs static scenes). Per pair of consecutive frames the camera's
    motion is fitted (PnP on confident stage-1 depth and the flow); a pixel whose flow misses its epipolar line by
    ``d`` pixels moves on its own by ``1 − exp(−½ (d/σ)²)`` (σ = this value, or 3 × the median miss of confident
    pixels when larger), averaged over both neighbours and, weighted by texture, over the hole's colour region: the
    hole leans to the near side by that share."""
    hole_lean_bottom: float = 0.0
    """In a video whose camera moves along its view (stage 1's poses: the camera 8 frames on lies ahead within the
    horizontal field of view for at least ¾ of the frames; a vehicle), the holes in this bottom fraction of the
    image (and at its sides, ``hole_lean_side``) lean fully to the near side (``hole_nearness``) whatever the
    motion evidence says: there, they are near scenery entering the view, nearer than the far street their colour
    region reaches (0 = off; needs stage 1's poses). Measured (docs/stage2-temporal.md "Holes at the lower border
    of a forward-moving camera"): ⅓ with sides 0.1 takes driving s1 / s3 final AbsRel 0.1148 → 0.0861 /
    0.0786 → 0.0760; the other scenes are not forward-moving (unchanged). 0 here; ⅓ in the ``cpu`` preset."""
    hole_lean_side: float = 0.1
    """With ``hole_lean_bottom``: the fraction of the columns at each side of the image's lower half whose holes
    lean fully too (parked cars, walls passing at the sides)."""
    hole_warp_frames: int = 0
    """Depth carried into the holes from nearby frames (0 = off): a hole pixel that stage 1 covered in one of this
    many frames on each side takes that frame's confident depth, moved with the chain of fitted camera motions and
    projected, where it lands as the optical flow says and the colour agrees (static scenery), before the spatial
    fill. Measured with 2 (docs/stage2-temporal.md): final all-pixel AbsRel driving s3 0.154 → 0.091, s1 0.129 →
    0.121, indoor-dynamic better on all four seeds, both real clips ≈ unchanged, but close-object +0.005…0.011 and
    static-orbit +0.0004…0.001 worse: off by default; 6 in the ``cpu`` preset, with ``hole_warp_ahead``.
    Safeguards measured for a default (docs/stage2-temporal.md, "Safe enough for a default?"): none keeps
    static-orbit and close-object level without losing the gain; the wrong carried points are the source frames'
    own wrong stage-1 depth (``hole_warp_min_px``)."""
    hole_warp_seen: bool = False
    """With ``hole_warp_frames``: a carried point counts only where the chained flow from this frame to its source
    passes every forward–backward check (the hole is visible in the source frame, not revealed since: the wall
    behind a passing object takes nothing from the frames where the object covered it). Measured with 2: close-object's
    loss +0.005…0.011 → −0.0003…+0.0034, indoor-dynamic's gain kept, driving s3 0.091 → 0.115 (base 0.154),
    static-orbit unchanged (still +0.0004…0.001)."""
    hole_warp_ahead: bool = False
    """With ``hole_warp_frames``: carry depth only in a video whose camera moves along its view (stage 1's poses,
    the gate of ``hole_lean_bottom``: the camera 8 frames on lies ahead within the horizontal field of view for at
    least ¾ of the frames; a vehicle), where the holes are mostly static scenery that the neighbouring frames saw
    (entering at the image border, the background strips beside nearer objects); elsewhere nothing is carried, as
    with 0 (needs stage 1's poses). Measured (docs/stage2-temporal.md, "Carried depth only for a camera moving
    ahead"): with ``hole_warp_frames=6 hole_warp_min_px=3``, driving's final all-pixel AbsRel −0.0002 … −0.0046 on
    all 12 seeds, at or under stage 1's covered on 9 of 12 (6 before); every other scene bit-identical (the warp
    alone costs static-orbit and close-object). Off here, on in the ``cpu`` preset."""
    hole_warp_min_px: float = 0.0
    """With ``hole_warp_frames``: carried depth only into holes at least this far (working-resolution pixels,
    Euclidean distance transform) from this frame's own stage-1 depth; the thin gaps between covered pixels, where
    the neighbouring frames' stage-1 errors sit (an occluder's depth bled onto the background), keep the fill
    (0 = every hole). Measured with 3 and ``hole_warp_frames=2`` (docs/stage2-temporal.md): static-orbit level
    on seeds 0–3 (+0.0001 at most), driving s3 0.154 → 0.096, but close-object still +2 % and driving s1's
    gain gone: off by default; 3 in the ``cpu`` preset, with ``hole_warp_ahead``."""
    hole_warp_static: int = 0
    """Frames on each side whose depth is carried into the holes in a video stage 1 finds static (the per-video
    test of ``hole_outline_nearest_static``: ``hole_outline_wide_given``, ``hole_outline_wide_frame_given``, the
    camera not moving ahead) where ``hole_warp_ahead`` keeps the warp off (0 = off; needs stage 1's poses and mover
    mask). Carried as ``hole_warp_frames`` carries (the same flow and colour tests), into every hole at least
    ``hole_warp_static_min_px`` from the frame's own depth, but of the points carried to a hole from all the nearby
    frames the **farthest** wins (``hole_warp_frames``: the nearest frame's nearest point): a static scene's holes
    lie mostly on the background side of an occluder's outline, where the neighbouring frames' stage-1 depth
    carries the occluder's fattened depth, and what an occluder hides is farther than it, never nearer. With
    ``hole_warp_static_agree`` only points another source frame confirms count. Measured (docs/stage2-temporal.md,
    "Static-orbit's holes on today's preset, and carried depth in a static video"), 10 with agreement 0.1 and
    ``hole_outline_wide_frame_given=0.025``: static-orbit final all-pixel AbsRel −0.3 … −8.4 % on seeds 700–705
    (tuning), −0.6 … −3.9 % on 706–711 (held out; none under stage 1), with ``hole_outline_nearest``'s four settings
    −3.0 … −13.4 % (3 of 12 under stage 1, as that rule alone); 7-Scenes −0.3 %; TUM and 14 fresh dynamic clips
    bit-identical (the gate is off there); stage 2's CPU time ×2.6 on static-orbit, ×5.6 on 7-Scenes where it
    acts. Off here and in the ``cpu`` preset."""
    hole_warp_static_min_px: float = 0.0
    """With ``hole_warp_static``: its ``hole_warp_min_px`` (0 = every hole, thin gaps too: static-orbit's holes
    are bands a few px wide)."""
    hole_warp_static_agree: float = 0.0
    """With ``hole_warp_static``: a carried point counts only where another source frame carries one within this
    tolerance in log-depth to the same pixel; of the confirmed points the farthest wins (0 = one source suffices).
    Measured with 0.1 and 6 frames (docs/stage2-temporal.md, "Static-orbit's holes on today's preset, and carried
    depth in a static video"): on static-orbit s700's background-side holes the carried points' median log error
    −0.025 → −0.006, near tail (< −0.2) 23 → 14 %, reach 34 → 22 % of those holes; seeds 700–705 −6.9 … +1.3 %
    without it, −5.6 … +0.1 % with it (s705 +1.3 → +0.1 %: the objects' tops no longer take the wall behind)."""
    ahead_from_stage1: bool = False
    """Decide whether the camera moves along its view (the gate of ``hole_lean_bottom``, ``hole_warp_ahead`` and
    ``hole_farness_ahead``) from stage 1's own test when it made one — the share of its probe pairs, 8 frames apart,
    whose epipole lies inside the image (``SceneGeometry.ahead_share``, measured on each pair's relative pose) —
    instead of from stage 1's aligned poses, which a broken spanning tree can scramble (driving s92: the camera 8
    frames on lies *behind* it in frames 32–48 by the aligned poses, so the gate reads 0.73 and every rule for a
    forward-moving camera is off while the probe pairs say 8 of 8). Without stage 1's share (NaN) the poses decide
    as before. Off here; on in the ``cpu`` preset since the session of 2026-12-04 (measured on 19 clips: driving s92
    0.0832 → 0.0694, every other clip bit-identical; docs/stage2-temporal.md, "The gate from stage 1's probe
    pairs")."""
    hole_farness: float = 0.0
    """A hole leans toward the *soft maximum* ``log(Σ w·exp(γ·x)) / γ`` of its colour region's log-depth ``x``
    (γ = this value; never nearer than the mean; 0 = off) as far as it does not lean to the near side
    (``hole_nearness``'s share, from the motion evidence and ``hole_lean_bottom``): a static hole beside a depth
    edge is the background the motion-boundary check dropped, and its colour region holds the occluder's depth
    bled onto the background by the flow (the matcher's foreground fattening) and across the colour edge.
    Measured (docs/stage2-temporal.md, "The holes of a static orbit"): 30 with ``hole_rim_px=3`` lowers
    static-orbit's final AbsRel on 11 of 12 seeds (s0 0.0324 → 0.0265), but holes on a mover or on an object
    coloured like its background lean to the background too (close-object s0 0.219 → 0.278, 7-Scenes 0.1205 →
    0.1272): 0 here and in the ``cpu`` preset; for static scenes. The per-hole gates below (``hole_far_*``) decide
    which holes lean."""
    hole_far_band_px: float = 0.0
    """With ``hole_farness``: only the holes within this many working-resolution pixels (Euclidean) of a covered
    pixel lean far (0 = every hole): the thin bands the motion-boundary check leaves along outlines, not the
    interior of a wide hole (an untextured mover's: close-object's ball). One of the per-hole gates of
    docs/stage2-temporal.md, "The far lean decided per hole": with ``hole_farness=30 hole_rim_px=3``, 3,
    ``hole_far_boundary_px=10``, ``hole_far_edge=0.15``, ``hole_far_side`` and ``hole_far_local`` lower the final
    all-pixel AbsRel on all 12 static-orbit seeds measured (fresh s172–s179 −1.0 … −3.7 %, with γ = 60 −2.0 …
    −5.9 %; s0 0.0236 → 0.0223), 7-Scenes 0.1213 → 0.1210 and TUM 0.1087 → 0.1083; the dynamic presets move
    −9.5 … +2.6 % (close-object s173 +2.6 %, indoor-dynamic s174 +1.6 %) and driving's moving pixels get worse on
    every seed (s0 0.118 → 0.143); no static-orbit seed reaches its stage 1. 0 here and in the ``cpu`` preset."""
    hole_far_edge: float = 0.0
    """With ``hole_farness``: the far lean only where stage 1's covered log-depth spans at least this (log units)
    in the square of half-size ``hole_far_edge_px`` around the hole (0 = off): a band beside a depth step, not a
    hole on a smooth surface (see ``hole_far_band_px``)."""
    hole_far_edge_px: int = 6
    """With ``hole_far_edge``: the half-size of the square (working-resolution pixels)."""
    hole_far_side: bool = False
    """With ``hole_farness``: only a hole whose nearest covered pixel farther than ``hole_skip_rim_px`` from a hole
    lies on the far half of the covered log-depth in the square of half-size ``hole_far_edge_px`` leans far: the
    background side of an outline band, not the object's side (a mover's, which the motion evidence misses inside
    an untextured object)."""
    hole_far_local: bool = False
    """With ``hole_farness``: the far target capped at the farthest covered log-depth in the square of half-size
    ``hole_far_edge_px`` around the hole (the local far side, not a farther surface or a far outlier elsewhere in
    the colour region)."""
    hole_far_colour_px: int = 0
    """With ``hole_farness``: only a hole whose colour is likelier under a Gaussian colour model (per-channel mean
    and variance) of the covered pixels on the far half of the local depth step (log-depth above the middle of the
    covered log-depth in the square of half-size ``hole_far_edge_px``) within the square of this half-size
    (working-resolution pixels) than under that of the near half leans far (0 = off;
    :func:`~stereodiff.stage2.hole_fill.colour_side`): the side of an outline band the hole's own colour belongs
    to; with ``hole_far_side`` both must say far. Measured (docs/stage2-temporal.md, "Which side of an outline band
    a hole belongs to"; 10 with the gated set ``hole_farness=30 hole_rim_px=3 hole_far_band_px=3
    hole_far_boundary_px=10 hole_far_edge=0.15 hole_far_local``): on static-orbit's band pixels precision / recall of
    "far" 0.949 / 0.886 (s0) and 0.781 / 0.753 (s1), against 0.892 / 0.652 and 0.806 / 0.666 for ``hole_far_side``.
    In place of ``hole_far_side``: final all-pixel AbsRel on fresh static-orbit s224–s231 −1.5 … −4.8 % (median −3.1
    %, the side test −2.6 %; s0 0.0236 → 0.0218, stage 1 0.0200), 7-Scenes 0.1213 → 0.1210, TUM 0.1087 → 0.1082,
    driving s224–s227 −2.2 … −5.0 %, indoor-dynamic s224–s227 −11.4 … +0.8 %, but driving's moving pixels worse on
    every seed (s0 0.118 → 0.147, s227 0.284 → 0.324). With ``hole_far_side``: driving's moving pixels s0 0.118 →
    0.129 (the side test alone 0.143), s227 0.284 → 0.308, static-orbit fresh median −2.3 %. 0 here and in the
    ``cpu`` preset."""
    hole_far_colour_model: str = "gauss"
    """With ``hole_far_colour_px``: the colour model of each side, ``"gauss"`` (per-channel mean and variance) or
    ``"nearest"`` (the side's nearest colour, L1: more precise on static-orbit s1's band pixels, 0.898 against 0.781,
    recalls less on s0, 0.717 against 0.886; final s0 0.0222 against 0.0218, driving s0 moving 0.135 against
    0.147)."""
    hole_outline_px: int = 0
    """The holes of an outline band filled from the near side move to the far side where their colour belongs
    there (0 = off; :func:`~stereodiff.stage2.hole_fill.outline_fill`): a hole within ``hole_outline_band_px`` of a
    covered pixel, where stage 1's covered log-depth spans at least ``hole_outline_step`` in the square of half-size
    ``hole_far_edge_px``, filled nearer than the middle of that span, whose colour is likelier under a Gaussian
    colour model (per-channel mean and variance) of the far side's covered pixels in the square of this half-size
    than under the near side's, takes the square's farthest covered log-depth. Any nearness lean acts after it.
    Measured (docs/stage2-temporal.md, "An outline band's side from its colour, and the fattened rim"; 10, final
    all-pixel AbsRel): static-orbit s0–s3 0.0236 / 0.0276 / 0.0259 / 0.0278 → 0.0227 / 0.0265 / 0.0254 / 0.0274
    (with ``hole_outline_rim_px=6``: 0.0200 / 0.0238 / 0.0235 / 0.0254, stage 1 0.0200 / 0.0219 / 0.0223 / 0.0247),
    but indoor-dynamic s1 0.0474 → 0.0509 (rim 6: 0.0584), fresh indoor-dynamic s288 0.0541 → 0.0689 (rim 6),
    7-Scenes 0.1211 → 0.1249 (rim 6) and driving's moving pixels worse (s288 0.158 → 0.248, rim 3): the colour
    evidence holds on static-orbit's textured objects, not on the other scenes (``hole_outline_separation`` tests
    that per frame: with 0.8 every clip measured is level or better but driving's movers). ≈ 5 ms CPU per frame
    at 320×240 (at a load of 29 on 2 cores; the preset's whole spatial fill 14–15 ms there; the whole 64-frame
    run +2 % wall on a quiet host with the preset's four settings; 2.3–2.7 ms at a load of 2.5 since s30-outspeed,
    same output). 0 here; 10 in the ``cpu`` preset with ``hole_outline_rim_px=6``, ``hole_outline_separation=0.8``
    and ``hole_outline_mover_px=8`` (2026-12-05 midday)."""
    hole_outline_rim_px: float = 0.0
    """With ``hole_outline_px``: covered pixels within this many working-resolution pixels (Euclidean) of a hole, on
    the near half of the span, whose colour the far side's model explains better, become holes with the local far
    side's log-depth (the matcher's foreground fattening along an outline; 0 = off). On static-orbit s0 / s1 the
    covered pixels within 2 px of a hole on the near half of a step are 1.3 % / 1.9 % of the covered pixels, 47 % /
    36 % of them truly far; the colour test moves 36 % / 33 % of them with precision 0.87 / 0.68 (indoor-dynamic s1:
    2.6 %, 23 % far, precision 0.31). See ``hole_outline_px`` for the figures. 0 here; 6 in the ``cpu`` preset."""
    hole_mover_away_px: float = 0.0
    """The stage-1 holes within this many working-resolution pixels (Euclidean) of a pixel whose depth stage 1's mover
    rules gave (``SceneGeometry.movers_given``), not given themselves and coloured clearly like the background around
    them (:func:`~stereodiff.stage2.hole_fill.background_coloured`), take the fill of their colour region without the
    given pixels (the background side), and the temporal filter refuses a nearer depth there (0 = off; a refiner given
    no such mask changes nothing): the given region is where the flow checks found a mover, a motion boundary, and the
    static holes outside it beside a walking person are the background she hides or uncovers, not her. At 6:
    indoor-dynamic s690 final all px 0.0447 → 0.0442 (with ``stage1.movers_up_holes=0.35`` 0.0424 → 0.0412, under its
    stage 1's 0.0418), s692 0.1521 → 0.1517; fresh seeds 720–725 (indoor-dynamic), 720–721 (driving, close-object,
    static-orbit), 726–729 (indoor-dynamic) and both real clips: −1.05 / −0.10 / +0.20 % (min / median / max), 4 better
    / 14 same (±0.5 %) / 0 worse; driving s721's moving px +1.3 % (docs/stage2-temporal.md, "The static holes beside a
    mover from the background side"). 0 here; 6 in the ``cpu`` preset since the session of 2026-12-06 evening (with
    ``hole_mover_away_trust=0.5`` and ``stage1.movers_up_holes=0.35``; see ``hole_mover_away_trust``)."""
    hole_mover_away_trust: float = 0.0
    """With ``hole_mover_away_px``: the background side of the holes beside a mover (the pixels whose local mean colour
    the hole's colour is compared with, and whose depth the background fill takes) is the covered pixels not given of a
    stage-1 weight of at least this, instead of every covered pixel not given (0 = every one). A mover's own unflagged
    pixels that stage 1 triangulated (a phantom, 0.67–4.7× her depth) have a low weight (indoor-dynamic s904 within 8 px
    of her given pixels: median 0.22, the static pixels there 0.79); beside them her unflagged holes looked like "the
    background" and took the phantom's depth (s904: 7.5 k of the 26.5 k holes the option took were hers, final all px
    0.0761 → 0.0786). At 0.5 with ``hole_mover_away_px=6`` (stage 2 rerun on the captured stage 1): s904 0.07613 →
    0.07587 (moving px 0.2354 → 0.2351; 0.8 k of 16.0 k taken are hers), with ``stage1.movers_up_holes=0.35`` 0.07618 →
    0.07593 (the old rule 0.07863); s690 with it 0.04241 → 0.04164 (the old rule 0.04125); driving s721 moving px 0.2009
    → 0.2014 (the old rule 0.2035) (docs/stage2-temporal.md, "Why ``hole_mover_away_px`` lost on indoor-dynamic s904").
    Held out, the pair with 0.5 against the ``cpu`` preset (fresh seeds 820–839: indoor-dynamic, driving, close-object,
    static-orbit; both real clips): −2.33 / −0.02 / +0.65 % (min / median / max), 5 better / 16 same (±0.5 %) / 1 worse
    (indoor-dynamic s820: a trusted, nearer unflagged part of the person, which the old rule lost too). 0 here; 0.5 in
    the ``cpu`` preset since the session of 2026-12-06 evening, with the pair (held out by the coordinator on seeds
    1100–1109 (close-object, indoor-dynamic, driving, static-orbit, rolled indoor-dynamic; 24 clips): −1.44 / −0.01 /
    +0.47 %, 3 better / 21 same / 0 worse). Before, with ``stage1.near_holes`` the pair cost close-object s917 / s918
    +4.8 / +5.6 %: docs/geometric.md, "Defaults of the ``cpu`` preset"; that was ``movers_up_holes``' shift of the near
    object's depth, not this rule: with ``near_holes``' given pixels kept out of the movers the finals are identical to
    four digits, and with the one-motion ``near_holes`` the pair is 18 fresh clips −1.03 / −0.24 / +0.33 %, 6 / 12 / 0:
    docs/geometric.md, "The head pair on close-object with ``near_holes``")."""
    hole_mover_away_step: float = 0.0
    """With ``hole_mover_away_px``: a hole beside a given mover is also the background's, whatever its colour, when
    the mean stage-1 log-depth of the background side's pixels in its square (half-size ``hole_mover_away_px``) lies
    at least this far beyond that of the given pixels there (0 = off: the colour test alone). Beside a very near
    given region (close-object's near object, 0.7 m against a wall 8× farther; indoor-dynamic's near person cut by
    the image bottom, 4× nearer) the ring of static holes is the background it hides or uncovers, often in colours
    the colour test cannot tell apart: the preset fills them toward the given depth (median log −0.14 … −0.29 under
    the final's fit on close-object held-out 1458 / 1461 / 1463 and indoor-dynamic 1459; docs/geometric.md, "Held-out
    close-object 1458 / 1459 / 1461 / 1463 and indoor-dynamic 1459 traced"). 1.0 (2.7×) keeps a walking person's
    ring (1.3–2.2× her depth) to the colour test. Measured at 1.0: the static holes fall, but the near object's own
    holes go to the wall too (moving px up): 18 clips −1.5 … +2.2 %, 3 better / 8 same / 7 worse (±0.5 %); see
    ``hole_mover_away_step_colour``. Off (0) here and in the ``cpu`` preset."""
    hole_mover_away_step_colour: float = 0.0
    """With ``hole_mover_away_step``: the holes it takes must still lie nearer (L1) the background side's mean colour
    in their square than this times their distance to the given pixels' (0 = any colour): the near object's own
    holes outside its given mask, coloured like it, stay on its side (``hole_mover_away_step`` alone took them to the
    wall: close-object held-out 1461 moving holes 0.0020 → 0.0043). 1.0: nearer the background's colour at all.
    With the step at 1.0: close-object 1461 / 1458 / 2592 +0.1 / −0.6 / −0.1 % against the preset. Off (0)."""
    hole_mover_away_step_px: float = 0.0
    """With ``hole_mover_away_step``: how far (working-resolution pixels, Euclidean) from a given pixel the step rule
    takes holes, and the half-size of the square its depth step and colour test read (0 = ``hole_mover_away_px``).
    Beside close-object's near object (0.7–0.8 m against a wall 8–10× farther) the ring of static holes filled too near
    reaches past the colour rule's 6 px: on named clips 1464 / 1466 / 1467 / 1471 the static holes 8–16 px from it
    are 0.02–0.17 % of the pixels at mean log −0.19 … −0.48 under the final's fit (docs/stage2-temporal.md, "The ring
    of static holes beside close-object's near object"). Measured at 10 with ``hole_mover_away_step=1.0``
    ``hole_mover_away_step_colour=1.0`` against the ``cpu`` preset: the ring's share halves on 1467 / 1471 (final
    −1.2 / −2.6 %), tuning seeds 0–3 −0.6 … −1.9 %, fresh seeds 2716–2721 −0.6 … +0.3 %, but moving px up on all but
    one clip (−0.1 … +7.5 %: the near object's own holes beside its given pixels go to the wall too). Off (0)."""
    hole_outline_separation: float = 0.0
    """With ``hole_outline_px``: a frame's outline rule acts only when the median, over its band and rim pixels, of
    the separation of the two sides' colour models ``Σ_c (μ_far − μ_near)² / (σ²_far + σ²_near)`` is at least this
    (0 = always): colour tells the sides apart only where they differ. Per-frame medians: static-orbit ~1.0–1.3,
    indoor-dynamic ~0.45, driving 0.61, close-object 0.49, 7-Scenes 0.26, TUM 0.14. Measured with 0.8 and
    ``hole_outline_px=10 hole_outline_rim_px=6`` (docs/stage2-temporal.md, "An outline band's side from its colour"):
    static-orbit better on all 10 seeds (fresh s288–s293 −4.5 … −18.6 %, median −10.4 %; s288 / s289 / s291 under
    their stage 1), 7-Scenes and TUM identical, indoor-dynamic and close-object within ±0.5 %, driving s288–s292
    −0.2 … −2.8 % but its moving pixels +0.4 … +8 % on 4 of 5 (s289 0.133 → 0.144; ``hole_outline_mover_px``
    mends it); the demo 0.1885 → 0.1880. 0 here; 0.8 in the ``cpu`` preset."""
    hole_outline_mover_px: float = 0.0
    """With ``hole_outline_px``: no band hole or rim pixel within this many working-resolution pixels (Euclidean) of
    a pixel whose depth stage 1's mover rules gave (``SceneGeometry.movers_given``: contact, tracking, the car
    ahead's path rules) moves (0 = off; a refiner given no such mask gates nothing); applied after the frame's
    ``hole_outline_separation`` test. A mover's outline is not a static depth step: on driving the rule took the
    car ahead's covered rim and the holes under it to the far side (s289 moving pixels 0.133 → 0.144 with
    ``hole_outline_separation=0.8``; with 8: 0.133). Not stage 1's mover mask: on a static orbit the mask flags the
    outlines themselves (2.4–2.9 % of the pixels; as a gate it costs static-orbit s0 0.0210 → 0.0225) while the
    rules give depth to 0.01–0.2 % of them. Measured with 8 (docs/stage2-temporal.md, "Keeping the rule off a
    mover's outline"): static-orbit as without it (10 seeds −0.3 … −15.2 % against the rule off), driving's and
    indoor-dynamic's all and moving pixels at most +0.5 % above the rule off on 16 seeds, 7-Scenes / TUM
    identical; a mover stage 1 left as holes without giving it depth is not protected (close-object s304 moving
    +1.1 %). Held out (seeds 328–330 of the four presets, the four settings against the rule off): static-orbit
    −7.7 … −12.0 %, the other nine clips −0.6 … 0.0 % (moving pixels −0.4 … +0.2 %). 0 here; 8 in the ``cpu``
    preset."""
    hole_outline_band_px: float = 3.0
    """With ``hole_outline_px``: the band's width (working-resolution pixels, Euclidean distance to a covered
    pixel)."""
    hole_outline_step: float = 0.15
    """With ``hole_outline_px``: the least span of the covered log-depth around a hole that makes it an outline."""
    hole_outline_far_mean: bool = False
    """With ``hole_outline_px``: a moved band hole or rim pixel takes the mean log-depth of its far side's covered
    pixels in its colour square (half-size ``hole_outline_px``) instead of the span's farthest covered log-depth: a
    bound on how far a wrong move goes when the square is wide (``hole_outline_span_px``). Measured
    (docs/stage2-temporal.md, "Wide outline holes"), alone: static-orbit s1 / s3 / s306 0.0239 / 0.0259 / 0.0777 →
    0.0247 / 0.0264 / 0.0777. False here and in the ``cpu`` preset."""
    hole_outline_parallax: float = 0.0
    """With ``hole_outline_px`` and stage 1's poses: a band hole or rim pixel moves to the far side only where the
    direction across its step (near side's centroid → far side's in its square,
    :func:`~stereodiff.stage2.hole_fill.step_direction`) lies along the parallax at the pixel — |cos| of the angle to
    the line through the pixel and the epipole of the camera's motion over ±4 frames
    (:func:`~stereodiff.stage2.hole_fill.epipoles`) at least this (0 = off). A disocclusion opens a strip of the far
    side only across an occluder's edge crossed by the parallax; an edge along it (an object's top under a camera
    moving sideways) leaves holes where matching fails, whose truth is as often the occluder. Without poses the rule
    acts as without the option. Measured (docs/stage2-temporal.md, "Which outline holes show the far floor"; 0.5 with
    the wide settings ``hole_outline_band_px=6 hole_far_edge_px=9 hole_outline_step=0.3``): it takes out gains and
    losses alike — static-orbit tuning −8.9 … +1.8 % against the wide settings' −18.6 … +0.8 %, indoor-dynamic s374
    +3.8 % (+5.8 %), driving s338 +2.3 % (+4.2 %); fresh static-orbit s399–s402 −6.6 … +2.9 % (−12.5 … −3.1 %).
    0 here and in the ``cpu`` preset."""
    hole_outline_nearest: float = 0.0
    """With ``hole_outline_px`` and stage 1's poses: after the temporal filter, an outline band's hole
    (``hole_outline_band_px`` from stage 1's covered pixels, whose square of half-size ``hole_far_edge_px`` spans at
    least ``hole_outline_step`` of the output's covered log-depth) nearer to the step's far-side covered pixels than
    to its near side's takes the far side (the square's farthest covered log-depth; never nearer than it was) whatever
    its colour, where the direction across the step lies along the parallax at the pixel (|cos| to the line through
    the pixel and the epipole of the camera's motion at least this; 0 = off;
    :func:`~stereodiff.stage2.hole_fill.nearest_after_filter`). Across an edge the parallax crosses, the hole next to
    the far side is the strip of background the matcher's smeared flow left unmatched; the colour rule misses it where
    the two sides look alike, and the fill and the filter give it the occluder's depth, which pulls the protocol's
    one fit. Measured (docs/stage2-temporal.md, "The background side of the outline bands"; 0.5, final all-pixel
    AbsRel): static-orbit s0–s3 −3.4 … −4.8 % (s0 0.01787 → 0.01700, under its stage 1's 0.01767), fresh s464–s466
    −5.8 … −8.6 %; the other presets (15 clips) −1.1 … +1.9 %, median −0.1 % (driving s470 +1.9 %), their moving
    pixels worse on 14 of 15 (+0.1 … +1.9 %); TUM −0.05 %, 7-Scenes +0.2 %. ~5–8 ms of CPU per 320×240 frame. 0 here
    and in the ``cpu`` preset."""
    hole_outline_nearest_motion: float = 0.0
    """With ``hole_outline_nearest``: no band hole within ``hole_outline_mover_px`` of a pixel whose square of
    half-size ``hole_far_edge_px`` shows independent motion (the texture-weighted mean of ``hole_motion_px``'s
    evidence above this; 0 = off; :func:`~stereodiff.stage2.hole_fill.moving_surroundings`). Measured
    (docs/stage2-temporal.md, "The background side of the outline bands"; 0.3, chosen on close-object s473 / s475):
    close-object's moving pixels +0.3 / −0.1 / +0.8 / +0.5 / +1.9 % → −0.2 / −0.2 / +0.4 / +0.2 / +0.8 % (s0, s1,
    s473–s475), static-orbit's gain unchanged, indoor-dynamic unchanged, driving −1.2 … +1.5 %. 0 here and in the
    ``cpu`` preset."""
    hole_outline_nearest_static: bool = False
    """With ``hole_outline_nearest``: only in a video stage 1 finds static (the test of the wide outline settings:
    ``hole_outline_wide_given``, ``hole_outline_wide_frame_given``, the camera not moving ahead). Measured with
    ``hole_outline_wide_frame_given=0.025``: on for every static-orbit clip, 7-Scenes (+0.2 %) and close-object s1 /
    s473 / s475 (−0.4 / −0.5 / +0.8 %, moving pixels −0.1 / +0.8 / +1.9 %), off (the preset's output) on 10
    indoor-dynamic and driving clips, close-object s0 / s474 and TUM. False here and in the ``cpu`` preset."""
    hole_outline_views: int = 0
    """With ``hole_outline_px``: after the temporal filter (and after ``hole_outline_nearest``), an outline band's
    hole nearer to the step's far side than to its near side takes the far side where the nearby frames, up to this
    many on each side, show its colour patch at the far depth better than at the near side's
    (:func:`~stereodiff.stage2.hole_fill.views_far_side`; 0 = off): the multi-view colour test decides which side a
    hole belongs to, in place of ``hole_outline_nearest``'s parallax direction. The nearby frames are the flow
    links' fitted camera motions (no stage-1 poses needed). Measured (docs/stage2-temporal.md, "Outline holes on the
    background side"; 8, final all-pixel AbsRel): static-orbit s860–s879 −6.8 … +1.1 %, median −3.9 %, 19 of 20
    better (held out s866–s879 −6.8 … −1.1 %), 5 of 20 under stage 1 (the preset: 3); on the dynamic presets (11
    clips) −1.0 … +2.0 % but their moving pixels worse on all 11 (+0.05 … +4.2 %): use it with
    ``hole_outline_views_static``. TUM −0.1 %, 7-Scenes level. ~12 ms of CPU per 320×240 frame. 0 here; 8 in the
    ``cpu`` preset since the session of 2026-12-06 afternoon, with ``hole_outline_views_static`` and
    ``hole_outline_wide_frame_given=0.025`` (held out: static-orbit s900–s905 0.0 / −3.6 / −4.3 / −4.6 / −5.3 /
    −6.3 %)."""
    hole_outline_views_margin: float = 0.01
    """With ``hole_outline_views``: the far depth must match by this much better (median over the frames of the
    mean colour L1 of the 5-pixel cross, RGB in [0, 1] summed over channels). 0.003 with
    ``hole_outline_views_near_margin=0.003`` in the ``cpu`` preset since the session of 2026-12-07 (s44-orbit; final
    all-pixel AbsRel against 0.01 / 0.01: static-orbit fresh 1560–1564 + s1–s3 7 better / 0 same / 1 worse, 1570–1576
    7 / 0 / 0, median −1.65 %; held out by the coordinator on static-orbit 1408–1411 +1.1 / −1.8 / −2.4 / −1.8 %,
    TUM identical, 7-Scenes 0.1165 → 0.1167; docs/stage2-temporal.md, "Static-orbit with the background-side
    margin")."""
    hole_outline_views_near_margin: float = 0.0
    """With ``hole_outline_views``: the band's holes nearer the near side's covered pixels are tested too, and take
    the far depth where it matches by this much better (the margin of ``hole_outline_views_margin``; 0 = they are not
    tested). The background halo beside an object's fattened rim lies nearer the object's pixels than the wall's:
    on static-orbit it is the background side's remaining too-near fill. Measured (docs/stage2-temporal.md, "The
    background side's remaining holes"; 0.01, final all-pixel AbsRel): static-orbit s1250–s1255 −3.0 / −1.1 / +0.8 %
    (min / median / max; 5 better / 0 same / 1 worse at ±0.5 %), held out s1260–s1265 −2.8 / −1.3 / −0.4 % (4 / 2 /
    0); close-object and indoor-dynamic s1250 identical (``hole_outline_views_static``), 7-Scenes −0.1 %; held out
    by the coordinator on static-orbit 1400–1403 −3.6 / −0.6 / −1.7 / −2.0 % (4 / 0 / 0), TUM identical (0.08473).
    0 here, 0.01 in the ``cpu`` preset (session of 2026-12-06 late), 0.003 since the session of 2026-12-07 (with
    ``hole_outline_views_margin=0.003``)."""
    hole_outline_views_band_px: float = 6.0
    """With ``hole_outline_views``: the band's reach from stage 1's covered pixels (working-resolution pixels)."""
    hole_outline_views_static: bool = False
    """With ``hole_outline_views``: only in a video stage 1 finds static (the test of
    ``hole_outline_nearest_static``). With ``hole_outline_wide_frame_given=0.025``: on for 17 of 20 static-orbit
    clips (s861 / s872 / s879 have a frame with 2.5–4.4 % given) and 7-Scenes, off (the preset's output) on every
    indoor-dynamic, driving and close-object clip measured (11) and TUM. True in the ``cpu`` preset."""
    hole_outline_depths: int = 0
    """With ``hole_outline_px``: after the temporal filter (and after ``hole_outline_views``), an outline band's hole
    nearer to the step's far side than to its near side, still filled nearer than the square's farthest covered
    log-depth, takes that far depth where the nearby frames' own stage-1 depth, up to this many frames on each side,
    agrees with it better than with the near side's (:func:`~stereodiff.stage2.hole_fill.views_depth_far_side`;
    0 = off): the hole lifted to 3D at each depth and projected into each frame lands on a confident pixel of that
    frame whose depth is the carried point's (agreement) or farther (the point would hide what the frame sees: a
    violation). A geometric side test that needs no colour difference between the two sides (the colour test of
    ``hole_outline_views`` leaves the holes whose sides look alike). Measured (docs/stage2-temporal.md, "Both sides
    of the outline bands on today's preset"; 8, final all-pixel AbsRel): static-orbit s984–s991 −1.1 / −0.6 / +0.4 %
    (min / median / max), 5 better / 3 same / 0 worse at ±0.5 %, none brought under its stage 1; 7-Scenes +0.05 %,
    TUM −0.05 % (with ``hole_outline_depths_static`` identical there and on the dynamic clips).
    It reaches few holes (s990: 4.3 %, 77 % of them rightly): the other frames have no trustworthy depth where the
    band's points land (their own bands). ~8 ms of CPU per 320×240 frame. 0 here and in the ``cpu`` preset."""
    hole_outline_depths_tolerance: float = 0.1
    """With ``hole_outline_depths``: a frame agrees with a carried point within this much log-depth."""
    hole_outline_depths_rim_px: float = 0.0
    """With ``hole_outline_depths``: a nearby frame's stage-1 pixel counts only this far (working-resolution pixels)
    from that frame's own holes (its fattened rim carries the occluder's depth onto the background; 0 = every
    confident pixel, weight ≥ ½)."""
    hole_outline_depths_min: int = 1
    """With ``hole_outline_depths``: the far depth needs at least this many agreeing frames."""
    hole_outline_depths_static: bool = False
    """With ``hole_outline_depths``: only in a video stage 1 finds static (the test of
    ``hole_outline_views_static``)."""
    hole_outline_near_px: int = 0
    """In a video stage 1 finds static (the test of ``hole_outline_views_static``), after the temporal filter (and
    after ``hole_outline_views`` / ``hole_outline_depths``): a hole within this many working-resolution pixels of
    stage 1's covered pixels, whose square of this half-size spans at least ``hole_outline_step`` of covered
    log-depth, whose chromaticity (each channel's share of the sum: a face's shading does not count) is nearer the
    step's near side's mean in the square of half-size 8 than ``hole_outline_near_ratio`` times its distance to
    the far side's, and which is filled farther than the near side's mean log-depth plus ``hole_outline_near_lift``
    of the step, takes that depth (:func:`~stereodiff.stage2.hole_fill.outline_near_side`; 0 = off). The occluder
    side of static-orbit's outline holes: the top faces of boxes and cylinders seen at a grazing angle, a hole in
    every frame, filled with the wall's depth above them; their square must reach the front below (a face 5–15 px
    tall), hence a wider square than the far-side rules'. Measured (docs/stage2-temporal.md, "Both sides of the
    outline holes: the oracle, and the occluder's side from its chromaticity"; 14, final all-pixel AbsRel): named
    static-orbit s1408 / s1411 −10.1 / −4.9 %, tuning 1670–1674 + s1–s3 −5.7 / −0.2 / +2.3 % (min / median / max;
    3 better / 4 same / 1 worse at ±0.5 %, s3 the loss), check 1680–1683 −5.3 / −0.4 / +0.4 % (1 / 3 / 0);
    7-Scenes −0.1 %, TUM identical.
    0 here and in the ``cpu`` preset."""
    hole_outline_near_ratio: float = 0.5
    """With ``hole_outline_near_px``: a hole moves to the near side only where its chromaticity's L1 distance to the
    near side's mean is below this share of its distance to the far side's."""
    hole_outline_near_lift: float = 0.1
    """With ``hole_outline_near_px``: the moved holes' log-depth, as a share of the step from the near side's mean
    toward the square's farthest covered log-depth (a top face recedes from the front)."""
    hole_top_plane_px: int = 0
    """In a video stage 1 finds static (the test of ``hole_outline_views_static``), after the temporal filter (and
    after ``hole_outline_near_px``): a hole between a covered pixel at most this many working-resolution pixels
    below it in its column and one at most as far above, the one above farther by at least ``hole_outline_step``
    in log-depth, whose chromaticity is nearer the one below's than ``hole_top_plane_colour`` times its distance to
    the one above's (5×5 means), takes the depth of the plane through the pixel below that is parallel to the floor
    (:func:`~stereodiff.stage2.hole_fill.top_plane_fill`; never farther than it was, and only nearer than the pixel
    above; 0 = off). An object's top face: the spatial fill gives it the wall's depth above; its inverse depth is
    the floor's affine function of the pixel scaled to pass through the front's upper edge (exact on the rendered
    tops: docs/stage2-temporal.md "The tops as the floor's parallel plane"). The floor: a plane fitted to the
    inverse depth of the covered pixels in the image's lowest third, a three-pixel consensus
    (:func:`~stereodiff.stage2.hole_fill.floor_plane`; no move in a frame where fewer than ``hole_top_plane_floor``
    of them fit it). 0 here; 16 in the ``cpu`` preset, with ``hole_floor_plane_px=8`` (held out static-orbit
    1432–1439: 6 better / 2 same / 0 worse, −8.4 … −0.1 %)."""
    hole_top_plane_colour: float = 0.5
    """With ``hole_top_plane_px``: a hole is a top only where its chromaticity's L1 distance to the covered pixel's
    below (5×5 mean) is below this share of its distance to the covered pixel's above."""
    hole_top_plane_floor: float = 0.25
    """With ``hole_top_plane_px``: the share of the lowest third's covered pixels whose inverse depth lies within
    5 % of the fitted floor plane, at least, for the frame's tops to move (a frame without a floor in view; on
    static-orbit the floor is about half of the lowest third, the objects' fronts the rest)."""
    hole_top_plane_views: int = 0
    """With ``hole_top_plane_px``: the top pass's moves are checked against this many nearby frames on each side
    (0 = off; :func:`~stereodiff.stage2.hole_fill.top_views_check`): a moved hole, lifted to 3D at the top's depth,
    at the floor plane's and at its fill before the move, keeps the top's depth unless another of the three matches
    the nearby frames' colours better (:func:`~stereodiff.stage2.hole_fill.views_colour_cost`, as
    ``hole_outline_views``). A floor hole behind an object lies in the top's column configuration (the front below,
    a farther pixel above) and takes the top's plane, too near, where its colour is nearer the front's (static-orbit
    2397: 29 000 floor hole pixel-frames moved, median log error −0.26 after the move; docs/stage2-temporal.md
    "Static-orbit 1462 / 1463 / 2380 / 2397 traced"). Measured (8, margin 0.01; final all-pixel AbsRel against the
    preset): static-orbit 1462 / 1463 / 2397 +0.45 / −1.6 / −1.4 %, fresh 2540–2546 3 better / 4 same / 0 worse,
    2550–2555 2 / 4 / 0 (−1.7 … +0.5 %). Off here; 8 in the ``cpu`` preset, with margin 0 and
    ``hole_top_plane_views_gap=0.5`` (held out static-orbit 1472–1476 and 1480–1487: 6 better / 7 same / 0 worse)."""
    hole_top_plane_views_margin: float = 0.01
    """With ``hole_top_plane_views``: a top move is undone only where the floor's or the fill's depth matches the
    nearby frames by this much better than the top's (the cost of ``hole_outline_views_margin``: median over the
    frames of the mean colour L1 of the 5-pixel cross, RGB in [0, 1] summed over channels); a top of one flat colour
    matches about as well at several depths. 0.01 here; 0 in the ``cpu`` preset."""
    hole_top_plane_views_gap: float = 0.0
    """With ``hole_top_plane_views``: only a top move whose plane lies within this log-depth of the floor's plane
    along the pixel's ray (a plane less than 1 − e^−gap of the camera's height above the floor: 0.5 = 39 %) can be
    undone; 0 = any. The floor holes the pass moves onto a top's plane are behind low objects (floor's minus top's
    log-depth: median 0.05–0.40 on static-orbit 1466 / 1469 / 2397), the true tops it moves are higher (median
    0.84–0.90, < 0.3 for 0–3 %), and the nearby frames' colours undo 10–14 % of the true tops (a flat-coloured
    top matches its fill, the wall's depth, about as well): static-orbit 1466 / 1469 +1.6 / +1.1 % without the
    limit. Measured (``hole_top_plane_views=8``, margin 0, gap 0.5, against the preset): 2397 / 1466 / 1469 −1.71 /
    −0.08 / −0.07 %, fresh 2696–2698 −0.61 / −0.98 / −0.55 %, tuning 0 / 1 −0.39 / −0.70 % (docs/stage2-temporal.md
    "The top check's losses on static-orbit 1466 / 1469 traced"). Held out (with views 8, margin 0): static-orbit
    1472–1476 2 better / 3 same / 0 worse (1473 −1.95 %), 1480–1487 4 / 4 / 0 (−0.33 … −1.00 %). Off here; 0.5 in
    the ``cpu`` preset."""
    hole_top_plane_views_ratio: float = 0.0
    """With ``hole_top_plane_views``: a hole the top pass leaves for its colour test alone (``hole_top_plane_colour``)
    takes the top's plane where the nearby frames' colours match it this many times better than the floor's plane
    and its fill (:func:`~stereodiff.stage2.hole_fill.top_views_rescue`; the cost of ``hole_top_plane_views``); 0 =
    off. A top shaded like the wall above it fails the colour test and keeps the wall's depth (static-orbit 1462:
    28 % of the true top holes, their fill a median +1.04 in log too far). Measured (2, with ``views=8``, margin 0,
    gap 0.5): 1462 −13.1 %, but tuning 0 +3.9 % (floor and wall holes moved too near; 3: +1.3 %);
    docs/stage2-temporal.md "The top check's losses on static-orbit 1466 / 1469 traced". Off here and in the
    ``cpu`` preset."""
    hole_floor_plane_px: int = 0
    """In a video stage 1 finds static, after ``hole_top_plane_px``: a hole below the vanishing line of the floor
    (the plane of ``hole_top_plane_px``'s fit), filled nearer than the floor along its ray, whose chromaticity lies
    nearer the mean of the floor's covered pixels (those within 5 % of the plane in inverse depth) in the square of
    this half-size (working-resolution pixels) than ``hole_floor_plane_colour`` times its distance to the other
    covered pixels' mean there, takes the floor's depth (:func:`~stereodiff.stage2.hole_fill.floor_plane_fill`;
    0 = off). The background side of static-orbit's outline holes is mostly floor (69–75 % on s1 / s3), filled with
    the object's depth. Measured with ``hole_top_plane_px=16`` (8; docs/stage2-temporal.md "The tops as the floor's
    parallel plane"; final all-pixel AbsRel against the preset): static-orbit s1–s3 −4.9 / −2.2 / −2.5 %, fresh
    1930–1934 3 better / 1 same / 1 worse (+1.9 %), check 1940–1944 5 / 0 / 0 (−5.1 … −2.0 %), 1418 / 1419 −5.0 /
    −6.8 %; 7-Scenes 0.1167 as before. Either pass alone is held back by the all-pixel fit (the tops alone −1.8 …
    +0.4 %). 0 here; 8 in the ``cpu`` preset, with ``hole_top_plane_px=16``."""
    hole_floor_plane_colour: float = 0.5
    """With ``hole_floor_plane_px``: a hole is floor only where its chromaticity's L1 distance to the floor's mean
    is below this share of its distance to the other covered pixels' mean."""
    hole_floor_rim_px: int = 0
    """In a video stage 1 finds static, with the floor plane of ``hole_top_plane_px`` (fitted whatever that pass's
    reach): a pixel stage 1 covers within this many working-resolution pixels of a hole, below the floor's vanishing
    line and nearer than the floor along its ray by more than 5 % in inverse depth, whose chromaticity lies nearer
    the mean of the floor's covered pixels in the square of this half-size than ``hole_floor_rim_colour`` times its
    distance to the other covered pixels' mean there, takes the floor's depth
    (:func:`~stereodiff.stage2.hole_fill.floor_rim_fill`; 0 = off). Stage 1's covered rim beside an object's
    silhouette: the floor there takes the object's nearer depth (docs/stage2-temporal.md "Stage 1's covered rim on
    the floor"). Measured (8, final all-pixel AbsRel against the preset): static-orbit fresh 2080–2085 5 better /
    1 same / 0 worse, 2090–2095 5 / 1 / 0 (−4.8 … −0.5 %), held-out 1432 / 1435 / 1436 −0.4 / −5.8 / −1.0 %;
    7-Scenes 0.1167 as before; held out on static-orbit 1440–1447: 8 better / 0 same / 0 worse (−5.3 … −0.5 %), TUM
    0.0847 as before. 0 here; 8 in the ``cpu`` preset."""
    hole_floor_rim_colour: float = 0.5
    """With ``hole_floor_rim_px``: a covered rim pixel is floor only where its chromaticity's L1 distance to the
    floor's mean is below this share of its distance to the other covered pixels' mean."""
    hole_floor_world: bool = False
    """With the floor passes (``hole_top_plane_px``, ``hole_floor_plane_px``, ``hole_floor_rim_px``) and stage 1's
    poses: the floor of every frame is the video's one floor seen from it — the world plane most frames' own floor
    fits agree on (normals within 5°, offsets within 5 % of the camera's distance, among the fits whose normal lies
    within 45° of the cameras' mean down direction; :func:`~stereodiff.stage2.hole_fill.world_floor`), refitted to the
    frame's covered pixels within 5 % of it (:func:`~stereodiff.stage2.hole_fill.floor_near`) — instead of the
    frame's own fit, which is a box front or the wall where they fill the lowest third (static-orbit 1432: 11 of 16
    sampled frames; with it all 16 within 3.1° of the true floor's normal). Frames keep their own fit where fewer
    than a quarter of the frames agree. Measured (final all-pixel AbsRel against the preset): static-orbit held-out
    1432 −6.8 % (1.119 → 1.042× stage 1), 1436 / 1440 / 1446 −0.3 / −0.0 / −0.3 %; fresh 2270–2275 1 better / 5 same /
    0 worse, 2280–2285 3 / 3 / 0 (2282 −3.5 %; −3.5 … +0.5 % over both); held out on static-orbit 1448–1455: 3 better /
    5 same / 0 worse (−4.1 … +0.05 %). Off here; on in the ``cpu`` preset (docs/stage2-temporal.md "The video's one
    floor")."""
    hole_floor_refits: int = 1
    """With ``hole_floor_world``: how many times a frame's floor is refitted to its covered pixels within 5 % of the
    last fit (:func:`~stereodiff.stage2.hole_fill.floor_near`; it stops once those pixels no longer change; 1 = one
    refit, as before this option). The video's floor seen from a frame is tilted by a few degrees (the frames' own
    fits on the lowest third, extrapolated up the image): one refit keeps much of the tilt, because the far floor
    lies beyond the 5 % there. Static-orbit 1432 (every 8th frame, against the truth under stage 1's scale): the
    plane's median / 10th-percentile log error on the floor −0.03 … −0.05 / −0.13 … −0.14 with one refit, −0.007 …
    −0.012 / −0.014 … −0.030 with 20 (a fit to the true floor's own pixels: −0.010 … −0.020 / −0.015 … −0.058); the
    share of stage 1's floor within 5 % of the plane 0.52–0.65 → 0.83–0.91. Measured (20, final all-pixel AbsRel
    against the preset): static-orbit held-out 1432 −8.8 % (1.043 → 0.951× stage 1); fresh 2380–2389 7 better / 3
    same / 0 worse, 2390–2399 7 / 2 / 1 (−4.3 … +1.1 %); 7-Scenes the same to five digits (docs/geometric.md "Stage
    1's covered floor under the boxes traced"). 1 here; 20 in the ``cpu`` preset (held out: static-orbit 1456–1463 8
    better / 0 same / 0 worse, −6.5 … −0.75 %)."""
    hole_floor_refit_sums: bool = False
    """With ``hole_floor_world``: each of :func:`~stereodiff.stage2.hole_fill.floor_near`'s refits solves 3×3 normal
    equations updated with the pixels that enter or leave the fit (a few to a few hundred a refit) instead of a
    least-squares solve over all of its ≈ 70 000 pixels (a copy and a QR each, up to ``hole_floor_refits`` times a
    frame). The planes agree with the least-squares ones to ≈ 1e-11 (relative); static-orbit 2600 (64 frames at
    320×240): the floor refits 1.8 → 0.6 s of CPU, stage 2 −10 %, the output depth the same but for 14 pixels of one
    frame (≤ 7.9e-7 relative); docs/geometric.md "The cpu preset at 64 frames, session 51". Off here: the least-squares
    solve; on in the ``cpu`` preset (held out: static-orbit 1464–1471 the same to every printed digit)."""
    hole_outline_span_px: int = 0
    """With ``hole_outline_px``: the half-size (working-resolution pixels) of the square whose covered log-depth gives
    the band holes their step, their two sides (the colour models) and their far target (0 = ``hole_far_edge_px``,
    the rim's square, which this leaves as it is). With a band as wide (``hole_outline_band_px``) the rule reaches
    the whole of a wide hole beside an occluder, not only its first 3 px: on a static orbit the far floor behind an
    object, left as a hole tens of pixels wide and filled with the object's depth (the holes' too-near tail, the
    dominant loss of static-orbit's final). Measured (docs/stage2-temporal.md, "Wide outline holes"; with
    ``hole_outline_band_px=24`` and ``hole_outline_far_mean``): static-orbit tuning seeds −14.5 … +5.8 % (7 of 10
    better, s1 / s3 +5 / +6 %), fresh s337–s342 −4.2 … +1.6 % (median −2.0 %, 4 of 6 better), 7-Scenes / TUM
    identical, the dynamic presets' all pixels −0.5 … +0.4 % but close-object's moving pixels +1.0 / +2.9 %. The
    wide square's colour decision fails where the far side is the hole's own surface (a floor's depth ramp across the
    square): the same widening through ``hole_far_edge_px=24`` gains up to −24 % on some seeds and costs s1 +44 %,
    s3 +67 %. 0 here and in the ``cpu`` preset."""
    hole_outline_wide_band_px: float = 0.0
    """With ``hole_outline_px``: in a video stage 1 finds static (stage 1's mover rules gave depth to less than
    ``hole_outline_wide_given`` of its pixels, and the camera does not move along its view: the gate of
    ``hole_lean_bottom``, from stage 1's probe pairs with ``ahead_from_stage1``), the outline rule's band is this
    wide in place of ``hole_outline_band_px``, its square and step ``hole_outline_wide_edge_px`` /
    ``hole_outline_wide_step`` (0 = off; :func:`~stereodiff.stage2.hole_fill.wide_outline`). The wider rule reaches
    more of the far floor a static occluder hides (static-orbit's holes filled too near), but on a dynamic video it
    moves a mover's outline (close-object: a mover stage 1 leaves mostly as holes, pushed far) and on a camera moving
    ahead the road's ramp at the lower border (driving s338 +4.2 %). Measured with 6 / 9 / 0.3
    (docs/stage2-temporal.md, "The wide outline rule for a static video only"): static-orbit tuning −18.6 … +0.8 %
    (median −5.5 %), fresh s367–s372 −19.1 … +0.4 % (median −3.4 %), final ≤ stage 1 on 2 of 16 (base none); every
    driving / indoor-dynamic clip gated off (+0.0 %, 20 clips); close-object fresh s371 (0.45 % given) passes the
    gate and loses 2.5 % (moving +2.0 %; ``hole_outline_wide_frame_given`` catches it); 7-Scenes +0.0 %, TUM identical.
    0 here and in the ``cpu`` preset."""
    hole_outline_wide_edge_px: int = 0
    """With ``hole_outline_wide_band_px`` in a static video: the outline rule's square's half-size (band and rim) in
    place of ``hole_far_edge_px`` (0 = ``hole_far_edge_px``); the far lean's square stays ``hole_far_edge_px``."""
    hole_outline_wide_step: float = 0.0
    """With ``hole_outline_wide_band_px`` in a static video: the outline rule's least span of the covered log-depth
    in place of ``hole_outline_step`` (0 = ``hole_outline_step``)."""
    hole_outline_wide_given: float = 0.005
    """With ``hole_outline_wide_band_px``: the share of the video's stage-1 pixels whose depth the mover rules gave
    (``SceneGeometry.movers_given``) from which on the video counts as dynamic and the outline rule keeps its own
    settings (without the mask, e.g. ``movers`` off: dynamic). Static-orbit's clips: 0.005–0.24 % (false movers on
    a few outlines); the dynamic presets': ≥ 0.6 %. 0.02 in the ``cpu`` preset since session 51 (s51-orbit: static-orbit
    2380's false floor mover, 0.961 % of its pixels, closed the gate there, final 1.449× stage 1, −14 % with 0.02;
    static-orbit 41 clips ≤ 0.36 % but 2380; held out 1464–1471 on the four presets, 32 clips, the same to every printed
    digit): ``hole_outline_wide_frame_given`` then closes the dynamic videos."""
    hole_outline_wide_frame_given: float = 0.0
    """With ``hole_outline_wide_band_px``: the share of one frame's stage-1 pixels whose depth the mover rules gave
    from which on (in any frame) the video counts as dynamic (0 = no such test): a mover is a large region in some
    frame, static-orbit's false movers are slivers (largest frame 0.0–1.9 % against ≥ 3.6 % on the dynamic clips
    measured except close-object s1, 0.8 %). Found after the validation of ``hole_outline_wide_given`` failed on
    close-object s371 (0.45 % of its pixels given, a frame 3.9 %). Held out (close-object / indoor-dynamic
    s373–s380): off on the 14 clips with a mover, on for two static rooms (indoor-dynamic s374 / s377), where the
    wide settings lose +5.8 / +1.8 %: the gain is static-orbit's, so not in the preset. 0.025 in the ``cpu`` preset
    since the session of 2026-12-06 afternoon, where it is the static test of ``hole_outline_views_static`` (the wide
    settings stay off)."""
    hole_outline_wide_frame_run: int = 0
    """With ``hole_outline_wide_frame_given``: the frame test reads the largest share that this many consecutive
    frames all reach (each run of frames counts with its least share; :func:`~stereodiff.stage2.temporal.held_share`)
    in place of the largest frame's (0 or 1 = each frame alone). A mover holds its region over many frames; stage 1's
    false movers in a static video flicker: static-orbit 1453's floor patch (2.77 / 2.05 / 1.93 / 1.48 % of frames
    51, 52, 54, 55, frame 53 empty) closes the test at 0.025 and keeps stage 2's static-only passes off (final 1.45×
    stage 1). Held for 3 frames (docs/stage2-temporal.md, "The static gate over runs of frames"): static-orbit
    ≤ 1.05 % (1453; fresh 2350–2369 ≤ 0.88 %), every dynamic clip measured ≥ 6.2 % (and ≥ 3.4 % of its pixels, far
    above ``hole_outline_wide_given``); 1453 0.02486 → 0.01952 (−21.5 %), fresh 2367 0.04247 → 0.03970 (−6.5 %),
    every other clip measured identical. 0 here; 3 in the ``cpu`` preset (held out: static-orbit 1456–1463 identical,
    none of them closed by a flickering patch)."""
    hole_far_boundary_px: float = 0.0
    """With ``hole_farness``: the far lean only within this many working-resolution pixels (Euclidean) of a motion
    boundary (:func:`~stereodiff.flow.motion_boundaries`, the criterion of stage 1's motion-boundary check) of the
    refiner's own flow to either neighbouring frame (0 = off): a hole the check left along an outline lies on such
    a boundary, a real clip's holes at the image border, in blur or on plain walls do not (7-Scenes: the far lean
    alone 0.1213 → 0.1280, with this gate 0.1210; see ``hole_far_band_px``)."""
    hole_farness_ahead: float = 0.0
    """``hole_farness`` (γ) for a video whose camera moves along its view only (stage 1's poses, the gate of
    ``hole_lean_bottom``: the camera 8 frames on lies ahead within the horizontal field of view for at least ¾ of
    the frames; a vehicle), in place of ``hole_farness`` there; elsewhere ``hole_farness`` as set (0 = off; needs
    stage 1's poses). A forward-moving camera sees the far scenery around the focus of expansion through thin gaps
    beside nearer objects (trees, poles, cars), which the motion-boundary check leaves as holes and the colour-region
    fill gives the occluder's depth; the lower-border lean keeps its near side there. Measured
    (docs/stage2-temporal.md, "The far scenery of a forward-moving camera"): γ = 10 lowers driving's final all-pixel
    AbsRel on 10 of 12 seeds (s0 0.0800 → 0.0769, s2 0.0762 → 0.0716, both then under stage 1) but through the
    protocol's fit: the holes' own depth gets worse on 11 of 12 and the moving pixels pass 0.30 on s4, s7, s23.
    0 here and in the ``cpu`` preset."""
    flow_grey: Literal["luma", "pca"] = "luma"
    """The grey image the temporal filter's flows run on: ``"luma"`` = OpenCV's RGB → grey; ``"pca"`` = the video's
    first colour principal component (:func:`~stereodiff.flow.grey_projection`, the same conversion as
    ``GeometricConfig.flow_grey``). See docs/geometric.md, "A colour-aware grey for the flow"."""
    hole_pull_order: float = 0.0
    """In a video whose camera moves along its view (the gate of ``hole_lean_bottom``), how strictly the temporal
    filter refuses, at a stage-1 hole in the upper half of the image, a depth the flow brings that is *nearer* than
    the hole's own fill: the factor ``exp(−½ a (min(Δ, 0)/depth_sigma)²)`` on the pull, Δ = pulled − filled in
    log-depth, a = this value (0 = off). Occlusion order: above the horizon of a forward-moving (vehicle) camera
    there is no ground, and the holes are the far scenery in the thin gaps beside trees, poles and façade edges,
    which the nearer occluder disoccludes or covers from frame to frame; a nearer depth the flow brings there is
    that occluder's (its sample lands on it in the neighbouring frame, or the bilinear sample of a one-pixel gap
    mixes in the covered occluder's ten-times heavier state). Below the horizon the holes of the movers (the car
    ahead) need what their own covered pixels bring, and the lower-border rules decide. Measured
    (docs/geometric.md, "Far scenery pulled near by the temporal filter"): 32 lowers driving's final all-pixel
    AbsRel on 16 of 17 seeds (s98 0.0903 → 0.0876, s101 0.0804 → 0.0779; s95 0.1006 → 0.1025) and its holes'
    AbsRel on all 17; the other presets and both real clips are bit-identical (no camera moving ahead). 0 here;
    32 in the ``cpu`` preset since the session of 2026-12-04 afternoon (fresh driving seeds 110-115: final lower on 5
    of 6; ``--set stage2.hole_pull_order=0`` gives the previous preset)."""
    hole_up_px: int = 0
    """In a video whose camera moves along its view (the gate of ``hole_lean_bottom``), a stage-1 hole whose column,
    walked down through holes for at most this many pixels (working resolution; 0 = off), reaches a covered pixel
    with no colour edge on the way (the summed colour change ≤ ``hole_up_colour``) and nearer than the hole's fill
    takes that pixel's depth: the surface below continues upward (a parked car's dark cabin above the lower-border
    lean band), where the fill's colour region reaches the far scenery and stage 1's far outliers beside it.
    Measured (docs/stage2-temporal.md, "A hole continues the surface below it"): with ``hole_up_trust=0.5`` and
    ``hole_up_near=0.1``, 20 lowers driving's final all-pixel AbsRel on all 15 held-out seeds (−0.1 … −8.8 %; s98
    0.0875 → 0.0871); without the gates the repaired near holes move the protocol's fit and the final rises. 0 here;
    20 in the ``cpu`` preset since the session of 2026-12-04 evening (with ``hole_up_trust=0.5``,
    ``hole_up_near=0.1``; ``--set stage2.hole_up_px=0`` gives the previous preset)."""
    hole_up_colour: float = 0.15
    """With ``hole_up_px``: the summed colour change (L1 of RGB in [0, 1], between consecutive rows) the walk down
    from a hole to the covered pixel may cross. A parked car's dark cabin and the façade behind it share one colour
    region, so the fill gives the cabin's holes the façade's depth, and 0.15 stops the walk down at the cabin / body
    edge (driving 1481: one car carries .0071 of the holes' .0175; docs/stage2-temporal.md, s53-d1481). 100 (no colour
    test while it is above 3 × ``hole_up_px``, the most a walk can sum: a row's change is at most 3): driving 1481 /
    1486 −7.3 / −2.5 %, fresh 2764–2769 2 better / 4 same / 0 worse, tuning 3 / 1 / 0; held out
    on driving 1488–1495: 5 / 3 / 0 (−0.02 … −6.19 %). 0.15 here; 100 in the ``cpu`` preset."""
    hole_up_near: float = 1.0
    """With ``hole_up_px``: only a surface below at most as far as this quantile of the frame's confident stage-1
    log-depth (weight ≥ ½) continues upward (1 = any)."""
    hole_up_trust: float = 0.0
    """With ``hole_up_px``: the walk down passes covered pixels of a weight under this (and they take the surface
    below as the holes do), and stops at the lower-border lean band's holes (their leaned fill); 0 = it stops at
    any covered pixel."""
    hole_up_carried: bool = False
    """With ``hole_up_px`` and ``hole_warp_frames``: depth carried into a hole from nearby frames does not stop the
    walk down, and the hole takes the surface below (its carried depth's weight then 0) when that surface is nearer
    than the carried depth and passes ``hole_up_near``: a carried point is a guess from other frames, the covered
    surface below in this frame is a measurement. A parked car passing the camera's side in a forward-moving video
    gets far points carried onto its dark cabin (stage 1's far outliers there, or the scenery behind it) with full
    trust, which otherwise stop the walk from its body below (docs/geometric.md, "Driving's final above stage 1:
    the split"); held out on driving 1416–1419: 1 better / 3 same / 0 worse). False here; true in the ``cpu`` preset."""
    hole_near_cap: float = 0.0
    """In a video whose camera moves along its view (the gate of ``hole_lean_bottom``), a stage-1 hole outside the
    lower border (``hole_near_cap_side``) whose spatial fill is near — at most this quantile of the frame's
    confident stage-1 log-depth (weight ≥ ½) — keeps at most its fill's log-depth through the temporal filter and
    the guided filter (both may move it nearer, neither farther): away from the lower border, a near fill is the
    near object the hole lies on (a parked car passing close at the camera's side, whose top and side holes the
    flow otherwise fills from the far scenery behind its edge), while the lower border's near holes are the road
    and the sidewalk, whose fill leans near and which the filters' farther pull corrects (docs/stage2-temporal.md,
    "A near parked car's holes kept at their fill"): 0.1 on driving named / fresh / tuning clips −0.0 … −1.1 %,
    none worse; with ``hole_near_cap_side=0`` −0.4 … −2.6 % but held-out 1459 +1.2 % (mostly through the one
    disparity fit); held out on driving 1472–1479 (0.1 / with side 0): 3 better / 5 same / 0 worse each, −0.5 …
    −1.2 % / −0.5 … −2.7 %. 0 = off; in (0, 1). 0 here; 0.1 in the ``cpu`` preset (with ``hole_near_cap_side=0``)."""
    hole_near_cap_side: float = 0.1
    """With ``hole_near_cap``: the lower border left alone is the ``hole_lean_bottom`` fraction of the rows and, in
    the image's lower half, this fraction of the columns at each side (``hole_lean_side``'s shape; 0 = the rows
    only). 0.1 here; 0 in the ``cpu`` preset."""
    hole_near_object: float = 0.0
    """In a video whose camera moves along its view (the gate of ``hole_lean_bottom``), a stage-1 hole outside the
    lower-border lean band whose colour region's covered weight lies mostly on near pixels — at most as far as this
    quantile of the frame's confident stage-1 log-depth (weight ≥ ½) — takes the weighted mean log-depth of those
    near pixels when it is nearer than its fill: the hole belongs to the near static object it shares its colour
    with (a parked car's top and side passing the camera), not to the far scenery the region also reaches
    (0 = off; in (0, 1)). Two more channels of the fill's domain-transform pass. Measured (docs/geometric.md,
    "The parked cars' holes from the near object's side"): 0.3 with ``hole_near_object_share=0.2`` and
    ``hole_near_object_colour=0.12`` on fresh driving seeds: none worse beyond ±0.5 %, −0.5 … −1.9 % where the
    cars' holes are reached (s1273 0.0902 → 0.0885), no clip above stage 1 brought under it. 0 here and in the
    ``cpu`` preset."""
    hole_near_object_share: float = 0.5
    """With ``hole_near_object``: the least share of the colour region's covered weight (the fill's) that the near
    pixels must hold for a hole to take their depth (in (0, 1])."""
    hole_near_object_colour: float = 0.0
    """With ``hole_near_object``: the colour scale (``fill_sigma_color``'s unit) of a pass of its own for the near
    pixels' fill and the share (three channels), so that a hole whose strict colour region does not reach the near
    object's covered pixels (a dark car side whose region reaches only far dark scenery) is tested too; 0 = the
    fill's one pass and colour scale."""
    fill_weak_far: float = 0.0
    """In a video whose camera moves along its view (the gate of ``hole_lean_bottom``), a stage-1 pixel of a weight
    under this (0 = off; in (0, 1)) — a covered pixel, or a hole's depth carried from nearby frames — whose log-depth
    lies more than ``fill_weak_far_margin`` beyond the weighted mean of its colour region's pixels of a weight at
    least this (one more two-channel pass of the fill's domain transform), that mean near (at most the
    ``fill_weak_far_near`` quantile of the frame's confident log-depth), is left out of the fill and filled as a hole: a
    weak far point on a near surface whose confident pixels are nearer (a parked car's dark cabin passing the
    camera's side, whose low-weight stage-1 pixels and carried points are far outliers and otherwise pull the
    cabin's holes far; docs/geometric.md, "The cabin's feeders"). 0 here and in the ``cpu`` preset."""
    fill_weak_far_margin: float = 0.2
    """With ``fill_weak_far``: how far (log-depth, > 0) beyond its colour region's confident mean a weak pixel must
    lie to be left out."""
    fill_weak_far_near: float = 0.1
    """With ``fill_weak_far``: only where the colour region's confident mean is at most this quantile of the frame's
    confident (weight ≥ ½) stage-1 log-depth (in (0, 1]; 1 = any): the near surface the weak far points lie on.
    Without it most of the points left out are right (buildings' weak pixels beyond their region's mean)."""
    hole_sigma_color: float = 0.0
    """The holes' own fill (0 = off: holes take the one fill of every pixel): a second domain-transform pass of two
    channels gives the holes the weighted mean log-depth with this colour scale (``fill_sigma_color``'s unit) and
    without the covered pixels within ``hole_skip_rim_px`` of a hole, as far as the hole does not lean to the near
    side (``1 −`` the ``hole_nearness`` share: a mover's holes keep the one fill, its covered rim is what they are
    filled from); the leans act on it. A softer colour edge
    than ``fill_sigma_color`` lets a hole reach its own surface across texture (the floor's pattern), and the
    covered rim carries the occluder's depth bled onto the background (docs/stage2-temporal.md, "A locally
    planar fill": with the true depth on the covered pixels the mean fill's holes are 4–5× better than with stage
    1's; the order of the fill is not what they lack). Measured with 0.12 and ``hole_skip_rim_px=2``: final
    all-pixel AbsRel lower on static-orbit, driving, indoor-dynamic and both real clips (static-orbit s0 0.0322 →
    0.0281, driving s0 0.0783 → 0.0758, 7-Scenes 0.1216 → 0.1197) but close-object worse (s1 0.261 → 0.279):
    0 here and in the ``cpu`` preset. ≈ +8 ms CPU per frame at 320×240."""
    hole_skip_rim_px: float = 0.0
    """With ``hole_sigma_color`` (or alone, at ``fill_sigma_color``): the covered pixels this close (working-resolution
    pixels, Euclidean) to a hole do not count in the holes' fill (0 = all count). Measured alone with 2
    (docs/stage2-temporal.md, "A locally planar fill"): final all-pixel AbsRel static-orbit −2…−8 % on seeds
    0–7 (s0 0.0322 → 0.0295), driving −1…−2 %, indoor-dynamic 0…−3 %, both real clips slightly better,
    close-object −0.4…+0.5 %; unseen seeds 40–43 the same pattern. 0 here; 2 in the ``cpu`` preset (since the
    session of 2026-12-03 afternoon; ``--set stage2.hole_skip_rim_px=0`` gives the previous preset)."""
    hole_smooth_color: float = 0.0
    """The fill of a hole inside a smooth surface (0 = off): a further domain-transform pass of two channels with
    this colour scale (``fill_sigma_color``'s unit; larger = softer colour edges), without the covered pixels within
    ``hole_skip_rim_px`` of a hole, gives its mean log-depth to the holes whose covered log-depth around them (the
    square of half-size ``hole_smooth_px``; one without any covered pixel counts) spans less than
    ``hole_smooth_step`` — inside a surface, not beside a depth step, where the colour edges are texture, shadow and
    noise rather than outlines — in place of the holes' own fill (``hole_sigma_color`` / ``hole_skip_rim_px``), as
    far as the hole does not lean to the near side; ``hole_smooth_track`` keeps untextured movers out
    (``hole_smooth_static`` does not). On the real
    clips the colour-region fill keeps a hole in a small region whose covered pixels are stage 1's worst (its rim).
    Measured (docs/stage2-temporal.md, "The real clips' holes"): with 0.64, ``hole_smooth_step=0.3`` and
    ``hole_smooth_static=0.5`` final all-pixel AbsRel TUM 0.0986 → 0.0976, 7-Scenes 0.1211 → 0.1190; without the
    motion gate close-object's moving pixels lose up to +58 % (fresh s436 0.663 → 1.049). 0 here and in the ``cpu``
    preset. ≈ +0.3 s CPU per 64 frames at 320×240 (one more two-channel pass)."""
    hole_smooth_step: float = 0.1
    """With ``hole_smooth_color``: the largest span (log-depth units) of the covered log-depth in the square of
    half-size ``hole_smooth_px`` around a hole for the hole to count as inside a smooth surface."""
    hole_smooth_static: float = 0.0
    """With ``hole_smooth_color``: only the holes whose colour region's share of independent motion is below this
    take the soft fill (0 = no such gate): the region's texture-weighted motion evidence of ``hole_motion_px``,
    pulled toward moving where it is thin (:func:`~stereodiff.stage2.hole_fill.region_motion`), so an untextured
    mover stage 1 left as a hole (close-object's ball, whose soft fill is the background's) keeps its fill; without
    the evidence (``hole_motion_px=0`` or ``hole_nearness=0``) no hole takes it. Measured with 0.5 / 0.2 on fresh
    seeds 425–436: close-object's moving pixels +8.8 / +21.1 / +0.8 % and +4.6 / +20.3 / +0.3 % (without the gate +14 /
    +45 / +58 %): it does not stop the untextured ball, whose region shows no motion evidence. 0 here."""
    hole_smooth_track: int = 0
    """With ``hole_smooth_color``: frames on each side (0 = off) in which a hole region's colours are looked for
    where the camera's motion carries them as a static surface at the soft fill's depth (the chained camera motions
    of the temporal filter's links, :func:`~stereodiff.stage2.hole_fill.static_colour_miss`). A static region — a
    dark floor, a black monitor — is found there (its outline moves with the camera); an untextured mover stage 1
    left as a hole — close-object's ball — is not (it has moved on, and the background's colour is there). Each
    connected region of the holes that would take the soft fill keeps it only when at most ``hole_smooth_track_share``
    of its carried pixels land on another colour (``hole_smooth_track_colour``), else it keeps the holes' own fill
    (a region that lands in no frame keeps it too). Measured with 2 (docs/stage2-temporal.md, "Telling an untextured
    mover's hole from a static one"; with ``hole_smooth_color=0.64``, ``hole_smooth_step=0.3``, against the ``cpu``
    preset): TUM 0.0976 → 0.0957, 7-Scenes 0.1189 → 0.1163 (without the gate 0.0956 / 0.1163); close-object's moving
    pixels the preset's on seeds 0, 1, 461–463 (0.854, 0.903, 0.850, 0.623, 0.778; without the gate +8 … +47 %);
    static-orbit +0.5 … +1.5 % as without the gate; with 1, s462's moving pixels +16 %. 0 here and in the ``cpu``
    preset. ≈ +0.1 s CPU per 64 frames at 320×240 (only the candidate holes are carried)."""
    hole_smooth_track_colour: float = 0.15
    """With ``hole_smooth_track``: the colour difference (RGB in [0, 1], summed over channels) above which a carried
    pixel lands on another colour."""
    hole_smooth_track_share: float = 0.3
    """With ``hole_smooth_track``: the largest share of a hole region's carried pixels (over every frame they land
    in) that may land on another colour for the region to take the soft fill."""
    hole_smooth_min_px: float = 0.0
    """With ``hole_smooth_color``: only the holes farther than this (working-resolution pixels) from every covered
    pixel take the soft fill (0 = every hole): the deep holes, where the real clips' gain is, not the thin outline
    bands beside depth steps smaller than ``hole_smooth_step``, where static-orbit loses. Measured with 4
    (docs/stage2-temporal.md, "Telling an untextured mover's hole from a static one"; with
    ``hole_smooth_color=0.64``, ``hole_smooth_step=0.3``, ``hole_smooth_track=2``, against the ``cpu`` preset): TUM
    0.0976 → 0.0960, 7-Scenes 0.1189 → 0.1165 (0.0957 / 0.1163 with 0), static-orbit s453 / s454 +1.5 / +1.3 % → +0.4
    / 0.0 %; no synthetic clip of 20 (seeds 0, 1 and 452–463) worse by more than 0.5 %. 0 here."""
    hole_smooth_px: int = 8
    """With ``hole_smooth_color``: the half-size (working-resolution pixels) of the square whose covered log-depth
    span decides."""
    fill_min_support: float = 1e-6
    """The fill's support (the domain transform's normalised sum of the covered weights that reach a pixel; ~1 inside
    a covered region) at or under which a pixel counts as unreached: it takes the frame's weighted mean log-depth
    instead of its colour region's, and its hole does not lean (``hole_nearness``, ``hole_farness``). The holes'
    own pass (``hole_skip_rim_px``) keeps 1e-6. The untriangulated interior of a large, finely textured object (every
    pixel step a colour edge: close-object's box) is reached by its own few covered pixels with weights of
    1e-30…1e-6; with 1e-6 over half of it takes the frame's mean, the far background around it. The weighted mean
    is exact in float32 down to ~1e-37. Measured (docs/geometric.md, "Holes no colour region reaches"): 1e-30 lowers
    the stage-1 holes' AbsRel on every close-object seed measured (s89 0.827 → 0.696, under the nearest valid
    neighbour's 0.811), driving s0, static-orbit s0 and both real clips; the final all-pixel AbsRel moves both ways
    through the protocol's one fit (close-object s3 0.204 → 0.233, s89 0.386 → 0.284; TUM 0.1269 → 0.1288).
    1e-6 here; 1e-30 in the ``cpu`` preset (since the session of 2026-12-04 afternoon), gated by
    ``fill_min_support_area`` and ``fill_weak_nearer``."""
    fill_min_support_area: float = 0.0
    """With ``fill_min_support`` under 1e-6: the lower floor holds only in the large weakly reached regions — each
    frame's connected regions (8-neighbour) of pixels whose support lies between ``fill_min_support`` and 1e-6 that
    cover at least this share of the frame; the other such pixels keep 1e-6 (take the frame's mean). 0 = the lower
    floor everywhere. The interior of a large finely textured object is one such region of thousands of
    working-resolution pixels (close-object's box, 4–21 k of 76.8 k); a real room's weakly reached pixels are thin
    strips along the image border and small dark patches (TUM's largest 1.5 k, 7-Scenes' 2.1 k), where the lower
    floor brings the value of a region across a colour edge. Measured (docs/geometric.md, "The lower fill floor
    only in large weakly reached regions"): with 1e-30, 0.04 and ``fill_weak_nearer``, TUM, 7-Scenes, driving s0 /
    s110, static-orbit s0 / s110, indoor-dynamic s0 / s110 / s113 identical, indoor-dynamic s1 / s111 / s112
    slightly better, close-object's holes −15…−41 % on 9 seeds (all pixels s89 0.386 → 0.266, s3 0.204 → 0.225
    through the protocol's fit).
    0 here; 0.04 in the ``cpu`` preset (since the session of 2026-12-04 afternoon; ``--set
    stage2.fill_min_support=1e-6`` gives the previous preset)."""
    fill_weak_nearer: bool = False
    """With ``fill_min_support`` under 1e-6: a pixel reached only under 1e-6 takes its colour region's value only as
    far as it is nearer than the frame's mean (the minimum of the two; an object whose interior its few covered
    pixels barely reach is in front of the room around it): indoor-dynamic's walking person, weakly reached too, took
    a value farther than the mean from its few covered pixels (s1 0.0517 → 0.0534 with 1e-30 alone). Measured with
    ``fill_min_support_area`` (see there). False here; true in the
    ``cpu`` preset (since the session of 2026-12-04 afternoon)."""
    hole_rim_px: float = 0.0
    """Covered pixels within this many working-resolution pixels of a stage-1 hole are trusted as far as they are
    from it (weight × distance / (this + 1), in the fill after ``fill_floor``, in the estimate and in the temporal
    filter; 0 = off): the holes of a static scene are the bands the motion-boundary check leaves along depth
    edges, and the covered pixels around them carry the occluder's depth bled onto the background (the matcher's
    foreground fattening), which the fill would spread into the band. Measured (docs/stage2-temporal.md, "The
    holes of a static orbit"): 3 takes static-orbit s0–s2 0.0324 / 0.0347 / 0.0374 → 0.0315 / 0.0338 / 0.0366,
    but close-object s0 0.219 → 0.231 (a mover's covered rim is what its untriangulated interior is filled from):
    0 here and in the ``cpu`` preset."""
    fill_weight: float = 0.3
    """Temporal weight of a pixel whose depth came only from the spatial fill (a confident pixel has 1). Small: a
    hole or moving object takes its depth from its own past/future along the flow where that was observed."""
    confidence_ref: float | None = None
    """Stage-1 confidence that counts as fully reliable (weight 1). None: the median positive confidence over up
    to 16 evenly spaced frames of the video (computed once, before the first window)."""
    flow_preset: str = "fast"
    """OpenCV DIS optical-flow preset: "ultrafast", "fast" or "medium" (slower, more accurate)."""
    flow_variational_iterations: int | None = None
    """DIS variational-refinement iterations per pyramid level of the links' flow (``None``: the preset's, 5 for
    ``fast``; 0 = none)."""
    flow_finest_scale: int | None = None
    """Finest pyramid level of the links' DIS flow (0 = the working resolution; ``None``: the preset's, 2 for
    ``fast``, 1 for ``medium``). The presets stop above the input and their flow comes out short in forward
    motion — on rendered driving frames (static pixels away from depth edges, true flow from the exact depth and
    camera) 3.5–4 % short at 2–10 px and 9 % above 10 px with ``fast``, ≤ 1.2 % with ``fast`` at level 0 — which
    shortens the links' PnP camera motions (docs/stage2-temporal.md, "The far scenery of a forward-moving camera")."""
    motion_flow_refine: Literal["lk"] | None = None
    """``"lk"``: fit the link's camera motion (PnP) to sparse matches refined by pyramidal Lucas–Kanade instead of
    the dense flow's own vectors: ``motion_lk_points`` of the pixels the fit trusts, their flow targets as the
    initial guess (``motion_lk_window``, ``motion_lk_levels``), kept where LK tracks them back to within 0.5 px of
    their pixel, the other frame's depth sampled at the refined targets (``temporal.lk_matches``). The temporal
    filter keeps the links' own flow. ``None`` = off (the ``fast`` flow's own targets, ~5 % short in forward
    motion). Measured (docs/stage2-temporal.md, "The same fit from sparse Lucas–Kanade matches"): |t| fitted ÷
    true on driving s0 / s2 / s5 1.003 / 1.004 / 0.998 (a second DIS flow refined to level 0: 0.997 / 0.996 /
    0.992, +42 ms per pair of links) at the preset's CPU (+0.2 ms per pair of links); driving's final all px
    better than without on 10 of 12 seeds (s0 .0800 → .0783, s5 .0798 → .0762), s26 .0878 → .0898."""
    motion_lk_points: int = 500
    """With ``motion_flow_refine="lk"``: matches refined and fitted at most (a regular subsample, raster order)."""
    motion_lk_window: int = 9
    """With ``motion_flow_refine="lk"``: Lucas–Kanade window side (working-resolution pixels, odd, ≥ 3)."""
    motion_lk_levels: int = 1
    """With ``motion_flow_refine="lk"``: pyramid levels above the working resolution the LK refinement starts
    from (0 = the working resolution only)."""
    flow_check_px: float = 0.5
    """Forward–backward check: a flow vector is kept if the round trip misses by less than
    ``flow_check_px + 0.05·(|f|+|b|)`` pixels; else the pixel counts as occluded (the temporal chain restarts)."""
    upsample_radius: int = 1
    """Box radius (working-resolution pixels) of the guided upsampling filter."""
    upsample_eps: float = 1e-3
    """Guided-filter regulariser (colour² with RGB in [0, 1]): smaller snaps depth edges harder to image edges but
    copies more texture into the depth; larger tends to plain bilinear upsampling."""
    upsample_mode: str = "guided"
    """Which output pixels take the guided upsampling filter (``upsample_radius``, ``upsample_eps``): ``"guided"``
    every pixel; ``"holes"`` only stage 1's holes (pixels whose working-resolution weight is 0), its covered pixels
    taking the filtered log-depth resized plainly (bilinear; the working resolution's own values when it is the
    source's); ``"plain"`` no pixel. At the source size the guided filter is no upsampling but a ``(2r+1)²``
    smoothing that blends a depth edge wherever the colours on its two sides are alike, and the protocol's one
    disparity fit per video follows the blended near pixels: on the demo clip (close-object seed 0, 90 frames) it
    is the step of stage 2 that takes stage 1's covered
    pixels 0.0281 (stage 1's own fit) → 0.0367 (their own fit; stage 1 0.0324), and without it 0.0305. ``"plain"``
    on fresh seeds: close-object all px −3.8 … −13.5 % (8 clips), indoor-dynamic / driving / static-orbit
    −1.5 … +1.6 %, moving px up to +4 %, TUM 0.0847 → 0.0851; see ``upsample_clamp`` for the safer form. Measured
    in docs/stage2-temporal.md, "Stage 1's covered pixels through stage 2, step by step" (issue #20,
    session of 2026-12-06 night, s44-covered)."""
    upsample_clamp: float = 0.0
    """With ``upsample_mode="holes"``: how far (log-depth) the guided filter may move a covered pixel off its plain
    value — the covered pixels take ``plain + clip(guided − plain, −upsample_clamp, upsample_clamp)``; 0 = not at
    all (the plain value). A small clamp keeps the filter's small corrections and cuts its blends across a depth
    edge (a background pixel pulled toward a near object by log 1–2). ``upsample_mode="holes"`` with 0.05 against
    the preset: TUM, 7-Scenes identical, close-object −3.2 … −7.0 % (4 fresh clips; demo all px 0.0430 → 0.0388,
    stage 1's pixels 0.0317 against stage 1's 0.0324), indoor-dynamic / driving +0.3 … +0.7 % (s44-covered). Held
    out by the coordinator (seeds 1408–1415): close-object 7 better / 0 same / 1 worse (−6.8 … −2.8 %, s1409 +15.3 %
    while still under its stage 1), indoor-dynamic 0 / 4 / 0, rolled 0 / 3 / 1 (+1.3 %), static-orbit 0 / 4 / 0,
    driving 0 / 3 / 1 (+0.6 %). 0 here, 0.05 with ``upsample_mode="holes"`` in the ``cpu`` preset since the session
    of 2026-12-07 (docs/geometric.md, "Defaults of the `cpu` preset")."""
    given_fill_px: float = 0.0
    """Stage 1's covered pixels that are not given (``SceneGeometry.movers_given``) within this many
    working-resolution pixels (Euclidean) of a given pixel take, for their ``(1 − w)`` share, the spatial fill of the
    covered pixels that are not given, instead of the fill of every covered pixel (0 = off; a refiner given no such
    mask changes nothing). The given region's depth is a rule's constant per track, at full confidence; beside it
    the colour-region fill carried it onto the background's weakly trusted covered pixels (the demo's static
    covered pixels within 3 px of a given one: AbsRel under stage 1's fit 0.070 in stage 1, 0.122 after the fill,
    0.068 with 3). With 3, on top of ``given_upsample_px=3``: close-object (9 clips) final all −1.7 … +0.4 %, 5 better,
    none worse; indoor-dynamic, driving, TUM, 7-Scenes within ±0.5 %, but moving pixels +2.1 % on driving s1086.
    Measured in docs/stage2-temporal.md, "The bleed beside a given region" (issue #20, session of 2026-12-06,
    s42-bleed)."""
    given_veto_px: float = 0.0
    """The temporal filter's agreement test is as strict as for a fully trusted pixel (weight 1) on stage 1's
    covered pixels that are not given (``SceneGeometry.movers_given``) within this many working-resolution pixels
    (Euclidean) of a given pixel (0 = off; a refiner given no such mask changes nothing): the flow at the given
    region's edge brings the given depth to its weakly trusted neighbours, which barely veto it (the demo's static
    covered pixels within 3 px of a given one: 0.068 after the mended fill, 0.085 after the filter; 0.074 with 3).
    With 3 and the two other ``given_*`` options at 3 the demo's report shows stage 2 ahead of stage 1 on its
    pixels (0.0565 against 0.0568; the preset 0.0599), but the moving pixels lose up to 4 % (driving s1086 0.3026 →
    0.3148) and indoor-dynamic s1085 0.6 % on top of the other two. Measured in docs/stage2-temporal.md, "The
    bleed beside a given region" (issue #20, session of 2026-12-06, s42-bleed)."""
    given_upsample_px: float = 0.0
    """The guided upsampling of the pixels that are not given (``SceneGeometry.movers_given``) within this many
    working-resolution pixels (Euclidean) of a given pixel fits its local linear models (and averages them) over
    the pixels that are not given (0 = off; a refiner given no such mask changes nothing). The given region's edge
    is not a colour edge where the region takes in the background beside the mover, so the plain guided filter
    smeared its depth 1–2 px onto the background (the demo's static covered pixels within 1 px of a given one:
    median log error −0.14 before the upsampling, −0.57 after). With 3: final all pixels better or within ±0.5 % on
    all 16 clips measured (close-object s0–s3, s1080–s1083, s1088 −4.2 … −0.1 %, indoor-dynamic s1084 / s1085 / s1089,
    driving s1086 / s1087 −0.6 … +0.2 %, TUM and 7-Scenes within 0.01 %), moving pixels −0.3 … +1.4 %; the demo's row on
    stage 1's pixels 0.0599 → 0.0578 (stage 1 0.0568). Measured in docs/stage2-temporal.md, "The bleed beside a
    given region" (issue #20, session of 2026-12-06, s42-bleed). 0 here, 3 in the ``cpu`` preset with
    ``given_upsample_colour`` (session of 2026-12-06 late)."""
    given_upsample_colour: bool = False
    """With ``given_upsample_px``: of the pixels within its reach, only those whose colour is not nearer the mean
    colour of the given pixels in their ``(2⌈given_upsample_px⌉ + 1)²`` box than the mean colour of the other pixels
    not given there take the filter fitted without the given pixels; the others keep the plain filter (a local
    colour test, :func:`~stereodiff.stage2.temporal.given_coloured`). The mover's own covered rim beside its given
    region (the rule gave depth to part of a person; stage 1 triangulated the rest at a phantom depth) looks like the
    given region and keeps the plain filter's pull toward its depth; the background beside it does not. No effect
    without ``given_upsample_px``. With ``given_upsample_px=3``, against the preset on 18 fresh clips (close-object
    and indoor-dynamic, rolled indoor-dynamic): final all 7 better / 11 same / 0 worse (worst +0.45 %;
    ``given_upsample_px=3`` alone 8 / 7 / 3, indoor-dynamic up to +1.0 %), moving pixels at most +0.7 % (alone
    +2.2 %). Measured in
    docs/stage2-temporal.md, "The bleed beside a given region on the new preset" (issue #20, session of 2026-12-06,
    s43-bleed). Held out by the coordinator with ``given_upsample_px=3`` (close-object 1400–1407, indoor-dynamic
    1400–1403, rolled indoor-dynamic 1404–1407): 5 better / 11 same / 0 worse (−0.96 … +0.31 %). False here, true
    in the ``cpu`` preset (session of 2026-12-06 late)."""
    num_workers: int = 2
    """Threads for the flows and flow links, the motion evidence and the upsampling (the output does not depend on
    it)."""

    def validate(self) -> None:
        checks = [
            ("work_long_side", self.work_long_side >= 16, "must be ≥ 16"),
            ("window", self.window >= 1, "must be ≥ 1"),
            ("overlap", self.overlap >= 0, "must be ≥ 0"),
            ("temporal_decay", 0.0 <= self.temporal_decay < 1.0, "must be in [0, 1)"),
            ("depth_sigma", self.depth_sigma > 0, "must be > 0"),
            ("depth_sigma_static", self.depth_sigma_static >= 0, "must be ≥ 0"),
            ("colour_sigma", self.colour_sigma > 0, "must be > 0"),
            ("fill_sigma_px", self.fill_sigma_px > 0, "must be > 0"),
            ("fill_sigma_color", self.fill_sigma_color > 0, "must be > 0"),
            ("fill_iterations", self.fill_iterations >= 1, "must be ≥ 1"),
            ("fill_floor", 0 <= self.fill_floor <= 1, "must be in [0, 1]"),
            ("fill_weight", 0 < self.fill_weight <= 1, "must be in (0, 1]"),
            ("hole_nearness", 0 <= self.hole_nearness <= 100, "must be in [0, 100]"),
            ("hole_motion_px", self.hole_motion_px >= 0, "must be ≥ 0"),
            ("hole_lean_bottom", 0 <= self.hole_lean_bottom <= 1, "must be in [0, 1]"),
            ("hole_lean_side", 0 <= self.hole_lean_side <= 0.5, "must be in [0, 0.5]"),
            ("hole_warp_frames", self.hole_warp_frames >= 0, "must be ≥ 0"),
            ("hole_warp_min_px", self.hole_warp_min_px >= 0, "must be ≥ 0"),
            ("hole_warp_static", self.hole_warp_static >= 0, "must be ≥ 0"),
            ("hole_warp_static_min_px", self.hole_warp_static_min_px >= 0, "must be ≥ 0"),
            ("hole_warp_static_agree", self.hole_warp_static_agree >= 0, "must be ≥ 0"),
            ("hole_rim_px", self.hole_rim_px >= 0, "must be ≥ 0"),
            ("hole_sigma_color", self.hole_sigma_color >= 0, "must be ≥ 0"),
            ("hole_skip_rim_px", self.hole_skip_rim_px >= 0, "must be ≥ 0"),
            ("hole_smooth_color", self.hole_smooth_color >= 0, "must be ≥ 0"),
            ("hole_smooth_step", self.hole_smooth_step >= 0, "must be ≥ 0"),
            ("hole_smooth_px", self.hole_smooth_px >= 1, "must be ≥ 1"),
            ("hole_smooth_static", 0 <= self.hole_smooth_static <= 1, "must be in [0, 1]"),
            ("hole_smooth_track", self.hole_smooth_track >= 0, "must be ≥ 0"),
            ("hole_smooth_min_px", self.hole_smooth_min_px >= 0, "must be ≥ 0"),
            ("hole_smooth_track_colour", self.hole_smooth_track_colour > 0, "must be > 0"),
            ("hole_smooth_track_share", 0 <= self.hole_smooth_track_share <= 1, "must be in [0, 1]"),
            ("fill_min_support", 0 < self.fill_min_support < 1, "must be in (0, 1)"),
            ("fill_min_support_area", 0 <= self.fill_min_support_area <= 1, "must be in [0, 1]"),
            ("hole_farness", 0 <= self.hole_farness <= 100, "must be in [0, 100]"),
            ("hole_farness_ahead", 0 <= self.hole_farness_ahead <= 100, "must be in [0, 100]"),
            ("hole_far_band_px", self.hole_far_band_px >= 0, "must be ≥ 0"),
            ("hole_far_edge", self.hole_far_edge >= 0, "must be ≥ 0"),
            ("hole_far_edge_px", self.hole_far_edge_px >= 1, "must be ≥ 1"),
            ("hole_far_boundary_px", self.hole_far_boundary_px >= 0, "must be ≥ 0"),
            ("hole_outline_px", self.hole_outline_px >= 0, "must be ≥ 0"),
            ("hole_outline_band_px", self.hole_outline_band_px >= 0, "must be ≥ 0"),
            ("hole_outline_separation", self.hole_outline_separation >= 0, "must be ≥ 0"),
            ("hole_outline_rim_px", self.hole_outline_rim_px >= 0, "must be ≥ 0"),
            ("hole_outline_mover_px", self.hole_outline_mover_px >= 0, "must be ≥ 0"),
            ("hole_mover_away_px", self.hole_mover_away_px >= 0, "must be ≥ 0"),
            ("hole_mover_away_trust", 0 <= self.hole_mover_away_trust <= 1, "must be in [0, 1]"),
            ("hole_mover_away_step", self.hole_mover_away_step >= 0, "must be ≥ 0"),
            ("hole_mover_away_step_colour", self.hole_mover_away_step_colour >= 0, "must be ≥ 0"),
            ("hole_mover_away_step_px", self.hole_mover_away_step_px >= 0, "must be ≥ 0"),
            ("hole_outline_step", self.hole_outline_step >= 0, "must be ≥ 0"),
            ("hole_outline_span_px", self.hole_outline_span_px >= 0, "must be ≥ 0"),
            ("hole_outline_parallax", 0 <= self.hole_outline_parallax <= 1, "must be in [0, 1]"),
            ("hole_outline_nearest", 0 <= self.hole_outline_nearest <= 1, "must be in [0, 1]"),
            ("hole_outline_nearest_motion", 0 <= self.hole_outline_nearest_motion <= 1, "must be in [0, 1]"),
            ("hole_outline_views", self.hole_outline_views >= 0, "must be ≥ 0"),
            ("hole_outline_views_margin", self.hole_outline_views_margin >= 0, "must be ≥ 0"),
            ("hole_outline_views_band_px", self.hole_outline_views_band_px >= 0, "must be ≥ 0"),
            ("hole_outline_views_near_margin", self.hole_outline_views_near_margin >= 0, "must be ≥ 0"),
            ("hole_outline_depths", self.hole_outline_depths >= 0, "must be ≥ 0"),
            ("hole_outline_depths_tolerance", self.hole_outline_depths_tolerance > 0, "must be > 0"),
            ("hole_outline_depths_rim_px", self.hole_outline_depths_rim_px >= 0, "must be ≥ 0"),
            ("hole_outline_depths_min", self.hole_outline_depths_min >= 1, "must be ≥ 1"),
            ("hole_outline_near_px", self.hole_outline_near_px >= 0, "must be ≥ 0"),
            ("hole_outline_near_ratio", self.hole_outline_near_ratio > 0, "must be > 0"),
            ("hole_outline_near_lift", 0 <= self.hole_outline_near_lift <= 1, "must be in [0, 1]"),
            ("hole_top_plane_px", self.hole_top_plane_px >= 0, "must be ≥ 0"),
            ("hole_top_plane_colour", self.hole_top_plane_colour > 0, "must be > 0"),
            ("hole_top_plane_floor", 0 <= self.hole_top_plane_floor <= 1, "must be in [0, 1]"),
            ("hole_top_plane_views", self.hole_top_plane_views >= 0, "must be ≥ 0"),
            ("hole_top_plane_views_margin", self.hole_top_plane_views_margin >= 0, "must be ≥ 0"),
            ("hole_top_plane_views_gap", self.hole_top_plane_views_gap >= 0, "must be ≥ 0"),
            ("hole_top_plane_views_ratio", self.hole_top_plane_views_ratio >= 0, "must be ≥ 0"),
            ("hole_floor_plane_px", self.hole_floor_plane_px >= 0, "must be ≥ 0"),
            ("hole_floor_plane_colour", self.hole_floor_plane_colour > 0, "must be > 0"),
            ("hole_floor_rim_px", self.hole_floor_rim_px >= 0, "must be ≥ 0"),
            ("hole_floor_rim_colour", self.hole_floor_rim_colour > 0, "must be > 0"),
            ("hole_floor_refits", self.hole_floor_refits >= 1, "must be ≥ 1 refits"),
            ("hole_outline_wide_band_px", self.hole_outline_wide_band_px >= 0, "must be ≥ 0"),
            ("hole_outline_wide_edge_px", self.hole_outline_wide_edge_px >= 0, "must be ≥ 0"),
            ("hole_outline_wide_step", self.hole_outline_wide_step >= 0, "must be ≥ 0"),
            ("hole_outline_wide_given", 0 <= self.hole_outline_wide_given <= 1, "must be in [0, 1]"),
            ("hole_outline_wide_frame_given", 0 <= self.hole_outline_wide_frame_given <= 1, "must be in [0, 1]"),
            ("hole_outline_wide_frame_run", self.hole_outline_wide_frame_run >= 0, "must be ≥ 0"),
            ("hole_far_colour_px", self.hole_far_colour_px >= 0, "must be ≥ 0"),
            ("hole_far_colour_model", self.hole_far_colour_model in ("gauss", "nearest"), "must be gauss or nearest"),
            ("hole_pull_order", self.hole_pull_order >= 0, "must be ≥ 0"),
            ("hole_up_px", self.hole_up_px >= 0, "must be ≥ 0"),
            ("hole_up_colour", self.hole_up_colour >= 0, "must be ≥ 0"),
            ("hole_up_trust", 0 <= self.hole_up_trust <= 1, "must be in [0, 1]"),
            ("hole_up_near", 0 < self.hole_up_near <= 1, "must be in (0, 1]"),
            ("hole_near_cap", 0 <= self.hole_near_cap < 1, "must be in [0, 1)"),
            ("hole_near_cap_side", 0 <= self.hole_near_cap_side <= 0.5, "must be in [0, 0.5]"),
            ("hole_near_object", 0 <= self.hole_near_object < 1, "must be in [0, 1)"),
            ("hole_near_object_share", 0 < self.hole_near_object_share <= 1, "must be in (0, 1]"),
            ("hole_near_object_colour", self.hole_near_object_colour >= 0, "must be ≥ 0"),
            ("fill_weak_far", 0 <= self.fill_weak_far < 1, "must be in [0, 1)"),
            ("fill_weak_far_margin", self.fill_weak_far_margin > 0, "must be > 0"),
            ("fill_weak_far_near", 0 < self.fill_weak_far_near <= 1, "must be in (0, 1]"),
            ("flow_grey", self.flow_grey in ("luma", "pca"), "must be luma/pca"),
            ("confidence_ref", self.confidence_ref is None or self.confidence_ref > 0, "must be > 0 or None"),
            ("flow_preset", self.flow_preset in ("ultrafast", "fast", "medium"), "must be ultrafast, fast or medium"),
            (
                "flow_variational_iterations",
                self.flow_variational_iterations is None or self.flow_variational_iterations >= 0,
                "must be ≥ 0 or None",
            ),
            (
                "flow_finest_scale",
                self.flow_finest_scale is None or 0 <= self.flow_finest_scale <= 4,
                "must lie in 0..4 or be None",
            ),
            ("motion_flow_refine", self.motion_flow_refine in (None, "lk"), "must be lk or None"),
            ("motion_lk_points", self.motion_lk_points >= 32, "must be ≥ 32"),
            ("motion_lk_window", self.motion_lk_window >= 3 and self.motion_lk_window % 2 == 1, "must be odd, ≥ 3"),
            ("motion_lk_levels", 0 <= self.motion_lk_levels <= 4, "must lie in 0..4"),
            ("flow_check_px", self.flow_check_px > 0, "must be > 0"),
            ("upsample_radius", self.upsample_radius >= 1, "must be ≥ 1"),
            ("upsample_eps", self.upsample_eps > 0, "must be > 0"),
            ("upsample_mode", self.upsample_mode in UPSAMPLE_MODES, "must be guided, holes or plain"),
            ("upsample_clamp", self.upsample_clamp >= 0, "must be ≥ 0"),
            ("given_fill_px", self.given_fill_px >= 0, "must be ≥ 0"),
            ("given_upsample_px", self.given_upsample_px >= 0, "must be ≥ 0"),
            ("given_veto_px", self.given_veto_px >= 0, "must be ≥ 0"),
            ("num_workers", self.num_workers >= 1, "must be ≥ 1"),
        ]
        check_fields("TemporalRefiner", checks, self)


@dataclass
class DepthCrafterModelConfig(BackendConfig):
    """What both DepthCrafter backends share: the models and the temporal windows."""

    unet: str = "depthcrafter"
    """DepthCrafter UNet: folder or hub repo id (``depthcrafter`` = tencent/DepthCrafter)."""
    base: str = "svd-xt"
    """SVD-xt components (VAE, CLIP image encoder, feature extractor, scheduler): folder or hub repo id."""
    cpu_offload: bool = False
    """Keep every model on the CPU and move it to the device only while it runs (small GPUs)."""
    window: int = 110
    """Frames per window (paper / DepthCrafter: 110)."""
    overlap: int = 25
    """Frames shared by consecutive windows (paper / DepthCrafter: 25)."""
    resolution: int = 1024
    """DepthCrafter's ``max_res``: long side cap, rounded to multiples of 64."""
    dataset: str = "open"
    """Processing size rule: ``open`` (``resolution`` cap) or a benchmark's fixed size (``sintel``, ``scannet``,
    ``kitti``, ``bonn``, ``nyuv2``)."""
    noise_aug_strength: float = 0.02
    """Noise added to the frames before VAE encoding (DepthCrafter: 0.02)."""
    guidance_scale: float = 1.0
    """> 1 enables DepthCrafter's classifier-free guidance (a second UNet pass)."""
    chunk_size: int = 8
    """Frames per CLIP / VAE chunk."""

    def validate(self) -> None:
        check_fields(
            f"stage2 ({self.backend})",
            [
                ("window", self.window >= 1, "must be ≥ 1"),
                ("overlap", 0 <= self.overlap < self.window, f"must be in [0, window={self.window})"),
                ("resolution", self.resolution >= 64, "must be ≥ 64 px"),
                ("noise_aug_strength", self.noise_aug_strength >= 0, "must be ≥ 0"),
                ("guidance_scale", self.guidance_scale >= 1, "must be ≥ 1"),
                ("chunk_size", self.chunk_size >= 1, "must be ≥ 1"),
            ],
            self,
        )


@dataclass
class DepthCrafterConfig(DepthCrafterModelConfig):
    """StereoDiff's stage 2 (:class:`stereodiff.stage2.depthcrafter.DepthCrafterRefiner`): one DepthCrafter step
    from the noised stage-1 disparity (paper: T = 4, t = 2 → 1, trailing spacing)."""

    backend: Literal["depthcrafter"] = "depthcrafter"
    num_inference_steps: int = 4
    """Total steps ``T`` of the schedule the step is taken from (paper: 4)."""
    t_start: int = 2
    """The step starts at ``sigmas[T - t_start]`` and lands at ``t_start - 1`` (paper: t = 2 → 1)."""
    timestep_spacing: Literal["trailing", "leading", "linspace"] = "trailing"
    """Timestep spacing of the schedule (``trailing`` = the paper's "ZeroSNR")."""
    use_karras_sigmas: bool = False
    """Karras sigmas replace the spacing."""
    output: Literal["pred_x0", "prev_sample"] = "pred_x0"
    """``pred_x0``: the model's clean estimate; ``prev_sample``: the literal Euler step."""
    stitching: Literal["latent", "affine", "joint", "none"] = "latent"
    """How windows are merged: ``latent`` (cross-fade), ``affine``, ``joint`` or ``none`` (hard cut)."""
    min_confidence: float = 0.0
    """Stage-1 pixels with confidence ≤ this do not enter the disparity normalisation."""

    def validate(self) -> None:
        super().validate()
        check_fields(
            "stage2 (depthcrafter)",
            [
                ("t_start", 1 <= self.t_start <= self.num_inference_steps,
                 f"must be in 1..num_inference_steps ({self.num_inference_steps})"),
                ("timestep_spacing", self.timestep_spacing in ("trailing", "leading", "linspace"),
                 "must be trailing, leading or linspace"),
                ("output", self.output in ("pred_x0", "prev_sample"), "must be pred_x0 or prev_sample"),
                ("stitching", self.stitching in STITCHING, f"must be one of {STITCHING}"),
            ],
            self,
        )  # fmt: skip


@dataclass
class DepthCrafterFullConfig(DepthCrafterModelConfig):
    """DepthCrafter alone (the baseline; ignores stage 1): the full denoising of every window."""

    backend: Literal["depthcrafter-full"] = "depthcrafter-full"
    num_inference_steps: int = 5
    """Euler steps per window (5 = DepthCrafter v1.0.1; v1.0 used 25)."""

    def validate(self) -> None:
        super().validate()
        check_fields(
            "stage2 (depthcrafter-full)", [("num_inference_steps", self.num_inference_steps >= 1, "must be ≥ 1")], self
        )


#: RollingDepth's official inference presets (``run_video.py``)
ROLLINGDEPTH_PRESETS = ("fast", "fast1024", "full", "paper")


@dataclass
class RollingDepthConfig(BackendConfig):
    """RollingDepth alone (:mod:`stereodiff.stage2.rollingdepth`; baseline, ignores stage 1). The fields left at
    ``None`` take the values of ``preset``; docs/rollingdepth.md lists the presets."""

    backend: Literal["rollingdepth"] = "rollingdepth"
    checkpoint: str = "rollingdepth"
    """Checkpoint: folder in the diffusers layout or hub repo id (``rollingdepth`` = prs-eth/rollingdepth-v1-0)."""
    preset: str = "fast"
    """Official preset: ``fast`` (768 px, dilations 1, 25), ``fast1024``, ``full`` (1024 px, dilations 1, 10, 25,
    10 refinement steps) or ``paper`` (768 px, dilations 1, 10, 25 not capped, 10 refinement steps)."""
    resolution: int | None = None
    """Long side of the processing resolution in pixels (0 = the source size); None = the preset's."""
    dilations: tuple[int, ...] | None = None
    """Frame spacing of each snippet set, must include 1; None = the preset's."""
    cap_dilation: bool | None = None
    """Shrink dilations that do not fit the video to ``T // 3 - 1``; None = the preset's."""
    refine_step: int | None = None
    """Diffusion refinement steps after the co-alignment (0 = none); None = the preset's."""
    snippet_length: int = 3
    """Frames per snippet (the published model is trained on 2–4)."""
    refine_start_dilation: int = 6
    """Dilation of the first refinement step; it shrinks to 1 by the last."""
    coalign_iterations: int = 2000
    """Adam iterations of the co-alignment (official: 2000). Fewer: faster, snippets less well aligned."""
    vae_batch: int = 4
    """Frames per VAE encoder/decoder batch."""

    def validate(self) -> None:
        checks = [
            ("preset", self.preset in ROLLINGDEPTH_PRESETS, f"must be one of {', '.join(ROLLINGDEPTH_PRESETS)}"),
            ("resolution", self.resolution is None or self.resolution >= 0, "must be ≥ 0 or None"),
            ("dilations", self.dilations is None or (1 in self.dilations and min(self.dilations) >= 1),
             "must include 1, all ≥ 1"),
            ("refine_step", self.refine_step is None or self.refine_step >= 0, "must be ≥ 0 or None"),
            ("snippet_length", self.snippet_length >= 2, "must be ≥ 2"),
            ("refine_start_dilation", self.refine_start_dilation >= 1, "must be ≥ 1"),
            ("coalign_iterations", self.coalign_iterations >= 1, "must be ≥ 1"),
            ("vae_batch", self.vae_batch >= 1, "must be ≥ 1"),
        ]  # fmt: skip
        check_fields("RollingDepth", checks, self)


@dataclass
class RollingDepthRefinerConfig(BackendConfig):
    """RollingDepth's diffusion refinement on top of the stage-1 scene (:class:`RollingDepthRefiner`): the stage-1
    inverse depth, normalised over the video, takes the place of RollingDepth's snippets and co-alignment."""

    backend: Literal["rollingdepth-refiner"] = "rollingdepth-refiner"
    checkpoint: str = "rollingdepth"
    """Checkpoint: folder in the diffusers layout or hub repo id (``rollingdepth`` = prs-eth/rollingdepth-v1-0)."""
    resolution: int = 768
    """Long side of the processing resolution in pixels (0 = the source size); RollingDepth's default 768."""
    refine_step: int = 10
    """Denoising steps from the middle of a ``2·refine_step`` schedule (RollingDepth ``full``/``paper``: 10)."""
    refine_start_dilation: int = 6
    """Dilation of the first step's snippets; it shrinks to 1 by the last (RollingDepth: 6)."""
    snippet_length: int = 3
    """Frames per snippet."""
    vae_batch: int = 4
    """Frames per VAE encoder/decoder batch."""
    min_confidence: float = 0.0
    """Stage-1 pixels at or below this confidence do not set the video's disparity range."""

    def validate(self) -> None:
        checks = [
            ("resolution", self.resolution >= 0, "must be ≥ 0"),
            ("refine_step", self.refine_step >= 1, "must be ≥ 1"),
            ("refine_start_dilation", self.refine_start_dilation >= 1, "must be ≥ 1"),
            ("snippet_length", self.snippet_length >= 2, "must be ≥ 2"),
            ("vae_batch", self.vae_batch >= 1, "must be ≥ 1"),
            ("min_confidence", self.min_confidence >= 0, "must be ≥ 0"),
        ]
        check_fields("RollingDepthRefiner", checks, self)


@dataclass
class DVDConfig(BackendConfig):
    """DVD alone (:mod:`stereodiff.stage2.dvd`; baseline, ignores stage 1): Wan2.1's DiT with DVD's LoRA, one
    pass per window, windows stitched by least squares on their overlap. Defaults: the official inference."""

    backend: Literal["dvd"] = "dvd"
    checkpoint: str = "dvd"
    """DVD folder or hub repo id (``dvd`` = FayeHongfeiZhang/DVD)."""
    weights: str = "model.safetensors"
    """DVD file in the checkpoint: ``model.safetensors`` (v1.0) or ``dvd_1.1.safetensors`` (v1.1)."""
    base: str = "wan2.1-t2v-1.3b"
    """Wan2.1-T2V-1.3B: folder (original layout: ``config.json``, ``Wan2.1_VAE.pth``; or ``-Diffusers``), hub repo
    id, ``wan2.1-t2v-1.3b`` or ``wan2.1-t2v-1.3b-diffusers``."""
    height: int = 480
    """Minimum processing height: frames are resized to cover ``height × width`` (sides rounded up to 16)."""
    width: int = 640
    """Minimum processing width."""
    window: int = 81
    """Frames per DiT pass (official: 81). Memory and time per pass grow with it."""
    overlap: int = 21
    """Frames shared by consecutive windows (official ``openworld.sh``: 21; its script default: 9). More: steadier
    scale across windows, more DiT work."""
    denoise_step: float = 0.5
    """DiT timestep / 1000 (DVD is trained at 0.5)."""

    def validate(self) -> None:
        checks = [
            ("height", self.height >= 16, "must be ≥ 16"),
            ("width", self.width >= 16, "must be ≥ 16"),
            ("window", self.window >= 1, "must be ≥ 1"),
            ("overlap", 0 <= self.overlap < self.window, "must be ≥ 0 and < window"),
            ("denoise_step", 0 < self.denoise_step <= 1, "must be in (0, 1]"),
        ]
        check_fields("DVD", checks, self)
