"""Typed settings of the stage-1 backends: one dataclass per backend, light to import (no numpy, torch, OpenCV).

Each dataclass is what its backend is built from, what ``PipelineConfig.stage1`` holds, what ``run.json`` records
(nothing else), and what ``--set stage1.<field>=VALUE`` changes. The field docstrings are the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["BackendConfig", "GeometricConfig", "NetworkConfig", "NoStage1Config", "Stage1Config", "field_docs"]


@dataclass
class BackendConfig:
    """Settings of one backend; ``backend`` names it (the registry key in :mod:`stereodiff.backends`)."""

    backend: str = ""
    """Which backend runs."""

    def validate(self) -> None:
        """Check the ranges of the fields; raises ValueError naming the field and the rule."""


def field_docs(cls: type) -> dict[str, str]:
    """``{field: docstring}`` of a config dataclass and its bases (the string literal under each field), for help
    texts: the dataclass source is the one place the settings are documented."""
    import ast
    import inspect
    import itertools
    import textwrap

    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):  # bases first, so a subclass's own docstring wins
        try:
            body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        except (OSError, TypeError):
            continue
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def check_fields(owner: str, checks: list[tuple[str, bool, str]], values: object) -> None:
    """Raise ``ValueError("<owner> <field>=<value> <rule>")`` for the first failed ``(field, ok, rule)``."""
    for name, ok, rule in checks:
        if not ok:
            raise ValueError(f"{owner} {name}={getattr(values, name)!r} {rule}")


@dataclass
class NoStage1Config(BackendConfig):
    """No stage 1 (only with a stage-2 backend that makes depth by itself, e.g. ``depthcrafter-full``)."""

    backend: Literal["none"] = "none"


@dataclass
class Stage1Config(BackendConfig):
    """What every pair-based stage-1 backend has: a working size, a pair graph and the closed-form global alignment
    (:func:`stereodiff.stage1.alignment.global_alignment`) that turns its pairs into one scene."""

    resolution: int = 512
    """Long side of the working resolution in pixels (the paper limits it to 512)."""
    pair_scheme: str | None = None
    """Pair graph, e.g. ``swin-2-noncyclic`` (paper); ``None`` = the backend's default."""
    focal_px: float | None = None
    """Known focal length in pixels at the SOURCE resolution (``None`` = estimated)."""
    min_conf_thr: float = 3.0
    """Alignment: pixels below this raw confidence are not used for PnP (official default 3)."""
    shared_focal: bool = False
    """Alignment: one focal length for the whole video (MonST3R's average)."""
    robust_scale: bool = False
    """Alignment: median log-depth-ratio edge scales instead of least-squares Umeyama scales."""
    global_scale_solve: bool = False
    """Alignment: solve the per-frame scales over every pair at once (one sparse least-squares)."""
    scale_stride: int = 1
    """Alignment: register pairs on every ``scale_stride``-th pixel row and column (1 = every pixel, official)."""

    def validate(self) -> None:
        check_fields(
            f"stage1 ({self.backend})",
            [
                ("resolution", self.resolution >= 32, "must be ≥ 32 px"),
                ("focal_px", self.focal_px is None or self.focal_px > 0, "must be > 0 or None"),
                ("min_conf_thr", self.min_conf_thr >= 0, "must be ≥ 0"),
                ("scale_stride", self.scale_stride >= 1, "must be ≥ 1"),
            ],
            self,
        )


@dataclass
class NetworkConfig(Stage1Config):
    """A DUSt3R-family network (MonST3R, DUSt3R, MASt3R) predicting pairwise pointmaps."""

    backend: Literal["monst3r", "dust3r", "mast3r"] = "monst3r"
    weights: str | None = None
    """Network weights: a folder, a .pth file or a hub repo id (default: the backend's published checkpoint)."""
    batch_size: int = 8
    """Pairs per network batch (memory, not results)."""
    max_cached_frames: int = 64
    """Most encoded frames kept at once (at least ``2 · batch_size``)."""

    def validate(self) -> None:
        super().validate()
        check_fields(
            f"stage1 ({self.backend})",
            [
                ("resolution", self.resolution % 16 == 0, "must be a multiple of 16 (the patch size)"),
                ("batch_size", self.batch_size >= 1, "must be ≥ 1"),
                ("max_cached_frames", self.max_cached_frames >= 1, "must be ≥ 1"),
            ],
            self,
        )


@dataclass
class GeometricConfig(Stage1Config):
    """The weights-free geometric matcher (:class:`stereodiff.stage1.geometric.GeometricMatcher`): DIS optical flow,
    essential matrix, dense triangulation, then global alignment and the per-frame fusion of all pairs.

    Pixel thresholds are given at a 320-pixel long side and scaled with the working resolution.
    """

    backend: Literal["geometric"] = "geometric"
    resolution: int = 320
    """Working long side in pixels (smaller frames are kept at their size, never upsampled)."""
    robust_scale: bool = True
    global_scale_solve: bool = True
    scale_stride: int = 4
    """Alignment: pair registration on every 4th pixel (the fusion uses all pairs and pixels afterwards anyway)."""
    offsets: tuple[int, ...] | None = None
    """Frame offsets of the default pair graph; ``None`` = adapt them to the measured parallax."""
    num_offsets: int = 3
    """How many consecutive Fibonacci offsets the adaptive graph uses (e.g. 3 → {5, 8, 13}; a 4th offset costs a
    third more pairs for no gain on 7-Scenes, see docs/geometric.md)."""
    pair_graph: Literal["offsets", "per_frame"] = "offsets"
    """The adaptive pair graph (``offsets=None``): ``"offsets"`` (default), the same ``num_offsets`` Fibonacci
    offsets for every frame, chosen from the median parallax of 8 probe pairs; ``"per_frame"``, each frame's own
    ``num_offsets`` Fibonacci offsets, the smallest one whose parallax accumulated along the video (probes 8 frames
    apart every 4 frames, ≈ 1/4 more flows) reaches the same threshold: farther where the camera barely
    translates, nearer where it moves fast (:func:`~stereodiff.stage1.pairs.per_frame_pairs`; measured in
    docs/geometric.md, "Pair graph")."""
    focal_bundle: bool = False
    """Opt-in: when the fundamental-matrix self-calibration is inconclusive, choose the focal by bundle adjustment of
    flow tracks over 3 windows of 8 keyframes (:mod:`stereodiff.stage1.focal_bundle`, 4-20 s at 320 px on a shared
    machine). Off by default: it decides within 5 % on TUM fr1/desk (1.04×) and the static orbit, but the depth got
    worse there (TUM final AbsRel 0.141 → 0.187, static orbit seed 1 0.036 → 0.048); see docs/geometric.md."""
    focal_cascade: bool = False
    """Off in the class, on in the ``cpu`` preset: when the fundamental-matrix (Kruppa) self-calibration is
    inconclusive, decide the focal by a cheap bundle adjustment of flow tracks
    (:func:`~stereodiff.stage1.focal_bundle.focal_from_tracks` with
    ``search="walk"``, ``separate=True``): a downhill walk over the focals instead of the full sweep, one adjustment
    per window, a contrast independent of where the grid of focals falls, and the decision must survive dropping any
    one window. ≈1.0-1.7 s of CPU at 320 px for the adjustments, which run beside the pair run's first DIS flows
    (a prefetch on the second core); the tracks' flows (≈0.9 s) are the pair run's own where offset 3 is a direct
    offset of the graph (``focal_bundle``: 3-10 s).
    ``matcher.report.focal_source`` is ``"bundle"`` when it decided. Takes precedence over ``focal_bundle``. Static
    orbit seeds 0-7, 32-35: all decided, 0.987-1.044× the truth; ``indoor-dynamic`` s2 1.003×, the others and
    TUM fr1/desk declined; see docs/geometric.md, "Focal length". A guard declines where the tracks' least
    reprojection error exceeds 0.3 mrad of the focal (``CASCADE_MAX_NOISE_RAD``: frames of 128-160 px, where the
    bundle step was 6-15 % off), and forward motion (the epipole inside the image) is not asked."""
    focal_cascade_robust: bool = False
    """Off in the class, on in the ``cpu`` preset: the cascade's bundle adjustments (``focal_cascade``) use a Cauchy
    loss at 0.2 px (at 320 px; ``CASCADE_CAUCHY``) instead of Huber at 0.5 px, so that tracks which fit no camera
    motion, such as tracks on an independently moving object (0.4-5 px off after an adjustment, the median track
    0.05-0.15 px), pull the poses, and with them the focal, less. Same cost. ``make demo``'s clip (``close-object``
    s0, 90 frames): 1.056× the truth → 1.018×; at 320×240 / 64 frames (seeds 0-7, 48-51, four presets) 4 more clips
    decided, all within 5 %, no decision lost or made wrong (docs/geometric.md, "Tracks on moving objects")."""
    focal_kruppa_check: bool = False
    """Off in the class, on in the ``cpu`` preset: where the Kruppa cost decides the focal, also ask the cascade's
    bundle step (as ``focal_cascade`` does where the Kruppa cost declines: the same tracks, walk, guard and loss) and
    take its focal when it decides (:func:`~stereodiff.stage1.focal_bundle.kruppa_checked`); where it declines, the
    Kruppa decision stands. Costs the bundle step (≈1-2.5 s of CPU at 320 px) on the clips the Kruppa cost decides
    only (10 of 88 rendered clips at 320×240). There it made ``indoor-dynamic`` s48 0.929× → 0.992× the truth and
    ``close-object`` s44 0.935× → 0.976×, none wrong (docs/geometric.md, "A confident wrong Kruppa decision")."""
    focal_track_edges: float = 0.0
    """0 (off) in the class, 1 in the ``cpu`` preset (since the session of 2026-12-04): the cascade's flow tracks
    (``focal_cascade``, ``focal_kruppa_check``) end at the first step where they lie near a flow edge: where the dense
    forward flow's forward-backward miss exceeds this many pixels (at 320 px) within 2 pixels of the track's start, or
    the backward flow's around its end (:func:`~stereodiff.stage1.focal_bundle.flow_edges`). Tracks that slide behind an
    occluding edge, or lie on a moving object's outline, follow no static point, and their own forward-backward check
    passes (DIS follows the occluder); ≈ 3 % of the tracks biased the bundle step by 5-6 % on four rendered clips. Image
    evidence, not the adjustments' residuals. At 1 px, over 118 dumped clips at 320×240 (the ``cpu`` preset's
    decisions): right / wrong / declined 67 / 5 / 46 → 77 / 1 / 40 (fresh seeds 98-105: 14 / 1 / 9 → 16 / 0 / 8), two
    right decisions declined, none made wrong (docs/geometric.md, "Tracks near flow edges")."""
    focal_trim_px: float = 0.0
    """0 (off): the cascade's bundle step (``focal_cascade``, ``focal_kruppa_check``) walks a second time without the
    tracks whose median reprojection residual, after the first walk's adjustment at its least grid focal, exceeds
    this many pixels (at 320 px), and takes that walk's decision where it decides; where it declines, the first
    walk's decision stands. Only where the first walk decided: no new decision, no decision lost
    (:func:`~stereodiff.stage1.focal_bundle.focal_from_tracks`'s ``trim_px``). Flow mistracks
    that pass the forward-backward and flow-edge checks are pixels off at any focal (static-orbit s118: 31 of 300
    tracks of one window, up to 17 px), the median track 0.05-0.15 px; through the poses they pulled that clip's
    focal 5.8 % low. At 1 or 2 px, over 55 clips at 320×240: right / wrong / declined 29 / 3 / 23 → 31 / 1 / 23 (the
    wrong one left is 7-Scenes' Kruppa decision), none moved outside 5 %; 2 px moves the right ones least. Costs a
    second walk (≈ 1 s of CPU at 320 px) where the first one decides (docs/geometric.md, "Outlier tracks left out
    after a first walk"). 2 in the ``cpu`` preset since the session of 2026-12-04 evening."""
    offset_parallax: Literal["rotation_fit", "essential"] = "rotation_fit"
    """How the adaptive offsets measure the parallax of the probe pairs. ``"rotation_fit"`` (default): the median
    flow left by the best pure rotation, in pixels, as an angle over the 60° prior focal of the working size (does
    not depend on the given or estimated focal: the same offsets at 0.9-1.1× the focal on TUM, 7-Scenes, static
    orbit, indoor-dynamic), compared with ``min_rotation_residual_deg``. ``"essential"``: the flow left by the
    essential matrix's rotation over the focal (:func:`~stereodiff.stage1.epipolar.parallax_deg`), compared with
    ``min_parallax_deg``; its offsets flip with a focal 10 % off (7-Scenes {2,3,5} / {5,8,13} / {8,13,21})."""
    min_rotation_residual_deg: float = 0.144
    """Median rotation-fit residual (``offset_parallax="rotation_fit"``) the smallest offset should reach. 0.144°
    gives, at the true focal, the offsets ``min_parallax_deg=0.4`` gave there on TUM {1,2,3}, 7-Scenes {5,8,13},
    static orbit seeds 0-2 {2,3,5}, indoor-dynamic seed 0 {3,5,8} (the interval that does so is 0.138-0.150°)."""
    min_side_offset: int = 1
    """The adaptive offsets' smallest offset, at least, when the camera does not move along its view (the epipole
    inside the image in fewer than ``AHEAD_SHARE`` of the probe pairs 8 frames apart, at the 60° prior focal: the
    check of the focal cascade). 1 = off (the parallax rule alone), 2 in the ``cpu`` preset. On a sideways camera
    whose near scenery lifts the median parallax over ``min_rotation_residual_deg`` at offset 1 (static orbit seed
    54: {1, 2, 3}, stage 1 0.046; {2, 3, 5} 0.027), the far plain floor's interpolated flow is a larger part of the
    short pairs' parallax (docs/geometric.md, "Held-out seeds 52-55"). A camera that moves along its view keeps
    offset 1 (driving)."""
    min_side_offset_static: int = 1
    """A higher floor than ``min_side_offset`` for a sideways camera over a mostly static scene: the offset probe's
    pairs (8 frames apart) keep, in the median, at least ``min_side_inliers`` of their essential-matrix inliers (at
    the 60° prior focal). 1 = off. 3 ({3, 5, 8} where the parallax rule asks for less): static orbit final −13…−32 % on
    10 of 10 seeds, TUM 0.1269 → 0.1087, indoor-dynamic's {2, 3, 5} seeds −2.6…+2.6 %; without the inlier guard the
    real clip ``lady-running`` (near people fill the view, probe median 0.49) fails 12 of 179 pairs of {3, 5, 8} at the
    30 % inlier floor and its first frames break (docs/geometric.md, "Longer pairs for a sideways camera over a
    static scene")."""
    min_side_inliers: float = 0.6
    """The offset probe's median essential-matrix inlier fraction that ``min_side_offset_static`` needs (below it,
    ``min_side_offset`` alone). Measured: ``lady-running`` 0.49, TUM 0.72, every synthetic clip ≥ 0.86."""
    min_parallax_deg: float = 0.4
    """Median triangulation angle the smallest offset should reach with ``offset_parallax="essential"`` (0.4° tuned
    on 7-Scenes: {5, 8, 13} there with the given focal)."""
    flow_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    """OpenCV DIS preset, ``"ultrafast"``, ``"fast"`` or ``"medium"``."""
    flow_full_resolution: bool | None = None
    """Refine the flow down to the working resolution itself (DIS finest scale 0; the presets stop one or two
    pyramid levels above it, which costs sub-pixel accuracy and thus depth at 320 px). ``None`` (default): full
    resolution up to a working long side of ``FULL_RESOLUTION_FLOW_MAX`` = 400 px, the preset's own finest scale
    above it (at 512 px the medium preset's flow, refined down to 256 px, was as accurate on 7-Scenes and ~1.5×
    faster: docs/geometric.md)."""
    flow_patch_stride: int = 4
    """DIS patch stride in pixels (8-pixel patches) of full-resolution flow: 4 (default) or 3 (the medium preset's:
    DIS ~30 % dearer, for ~0.001 lower AbsRel on 7-Scenes at 320 px and no gain on the rendered scenes; see
    docs/geometric.md)."""
    flow_descent_iterations: int = 12
    """DIS gradient-descent iterations per patch of full-resolution flow (the medium preset: 25). 12 keeps the cost
    of the extra pyramid level down; 20 costs ~6 % more matcher time and gave better flow where it is large (``cpu``
    preset on ``driving``: final AbsRel 0.341 → 0.307; on 7-Scenes 0.127 → 0.119, with self-calibrated focal), but
    no gain on 7-Scenes with the focal given."""
    flow_variational_iterations: int | None = None
    """DIS variational-refinement iterations per pyramid level of the matcher's flow (direct pairs and probes);
    ``None`` (default) keeps the preset's (5 for ``fast`` and ``medium``), 0 = none. Fewer are cheaper and change
    the flow (docs/geometric.md, "Speed": number-changing candidates)."""
    chain_flows: bool = True
    """Compose the flow of a pair ``(a, b)`` from those of two shorter pairs ``(a, m)``, ``(m, b)`` of the graph and
    refine it by a variational pass instead of running DIS (:func:`flow_plan`; on the default graph the longest
    offset is the sum of the other two, so DIS runs for 4 instead of 6 flows per frame; the refined composed flow is
    also more accurate, see docs/geometric.md)."""
    chain_refine_iterations: int | None = None
    """With ``chain_flows``: fixed-point iterations of the composed pairs' variational pass (OpenCV
    ``VariationalRefinement``; ``None`` = its default, 5); 0 uses the composed flow as it is, unrefined."""
    fb_threshold_px: float = 1.0
    """Forward–backward consistency threshold in pixels at a 320-pixel long side (scaled with the working
    resolution); also the scale of the confidence's flow term."""
    fb_relative: float = 0.0
    """The forward–backward threshold grows by this fraction of the pixel's flow length (``fb_threshold_px`` +
    ``fb_relative`` · |flow|; the confidence's flow term uses the same per-pixel scale). A match's depth error is
    its flow error relative to its parallax, so a fixed pixel threshold rejects the large flows of near scenery
    first: on ``driving`` the near static scenery entering at the lower image border (26–30 px of flow per frame)
    fails the 1-pixel check in every earlier pair and becomes a hole (docs/geometric.md, "Why near scenery at the
    lower border is a hole"). 0 (default) = the fixed threshold. 0.05 takes driving seeds 1 / 3 from 0.125 / 0.126
    to 0.118 / 0.122 final AbsRel; with ``depth_range=0.05,5`` as well, seeds 0 / 2 get worse."""
    forward_near: bool = False
    """For a camera moving along its view (decided per video: the epipole, i.e. the focus of expansion, inside the
    image in at least ¾ of the probe pairs 8 frames apart, ``MatcherReport.ahead_share``), in each pair whose
    epipole is inside the image, pixels triangulated at an angle ≥ ``angle_ref_deg`` have no lower depth bound
    (``depth_range[0]``). Such a pair's median depth is the far scenery around the epipole, so a bound relative to
    it drops the near scenery at the image border; the angle keeps the bound for the ill-conditioned pixels near
    the epipole. Elsewhere the bound is what rejects independently moving objects triangulated too near
    (indoor-dynamic) and low-parallax outliers (TUM); no probe pair of those, of static-orbit, close-object or
    7-Scenes qualifies, so their output is unchanged (docs/geometric.md, "Why near scenery at the lower border is
    a hole"). Off here, on in the ``cpu`` preset."""
    forward_fb_relative: float = 0.0
    """With ``forward_near``: the pixels it exempts (pairs looking ahead, angle ≥ ``angle_ref_deg``) may also
    miss the forward–backward check by this fraction of their flow length more (``fb_relative`` for those pixels
    only; 0 = off)."""
    motion_boundary_margin_px: int | None = 1
    """Pixels at motion boundaries (:func:`motion_boundaries`: the flow changes fast for its size) and this many
    pixels around them are not matched; ``None`` turns the check off. DIS spreads a moving object's motion a few
    pixels into its surroundings (8-pixel patches), and static pixels there triangulate to the object's depth; the
    check also drops flows smeared across depth edges. On the rendered scenes (48 frames, 320 px) static AbsRel
    0.035 → 0.026 (``indoor-dynamic``) and 0.025 → 0.017 (static orbit), for 4–5 % of static coverage; see
    docs/geometric.md."""
    flow_grey: Literal["luma", "pca"] = "luma"
    """The grey image the flows run on (DIS takes one channel): ``"luma"`` = OpenCV's RGB → grey; ``"pca"`` = the
    projection of RGB onto the first principal component of the video's colours, one mapping for the whole video
    (:func:`~stereodiff.flow.grey_projection`), for scenes whose texture is in colour rather than brightness (an
    isoluminant checker is flat in luma). Used by the matcher's flows and probes and by the movers step. See
    docs/geometric.md, "A colour-aware grey for the flow"."""
    min_epipolar_texture: float = 0.0
    """Pixels whose image has less texture than this along their epipolar line are not matched (0 = off): the
    root mean square of the grey level's derivative along the line (grey levels of 255 per pixel, Sobel) over the
    5 × 5 pixels around them (:func:`~stereodiff.stage1.pair_steps.epipolar_texture`). DIS fills an untextured
    region with a smooth interpolation of the flow at its borders, and where one border is a nearer occluder the
    region triangulates too near (static-orbit's plain far floor between the wall and the objects: 13–20 % too
    near, with high confidence, in every pair); its depth is then left to stage 2's fill. See docs/geometric.md,
    "The plain far floor"."""
    epipolar_sigma_px: float = 1.0
    """Scale of the Sampson residual in the confidence (pixels at 320, scaled)."""
    angle_ref_deg: float = 2.0
    """Triangulation angle above which the angle term of the confidence is 1."""
    min_angle_deg: float = 0.25
    """Pairs whose median triangulation angle is below this are failed (pure rotation)."""
    accept_focal: Literal["camera", "prior"] = "camera"
    """The focal the ``min_angle_deg`` test measures a pair's median triangulation angle with. ``"camera"``
    (default): the camera's (given or self-calibrated) focal, from the pair's own pose. ``"prior"``: the 60° prior
    focal of the working size, from a second essential matrix of the same matches (only when the camera's focal
    differs from it), so which pairs fail does not depend on the focal given: the essential matrix trades rotation
    for translation at a wrong focal, and at 1.1× the focal 23 of 7-Scenes' 124 pairs fail instead of 3
    (docs/geometric.md, "Pair acceptance and the far bound independent of the focal"). The pose and the depth
    still use the camera's focal."""
    depth_range: tuple[float, float] = (0.2, 5.0)
    """Triangulated depths outside ``[lo, hi]`` times the pair median are rejected. A focal 10 % short stretches the
    far depths past ``hi = 5``: the static orbit's far wall (≈ 4.4× the median) then loses ~40 % of its pixels (final
    AbsRel 0.034 → 0.161 on seed 1); ``hi = 10`` keeps it but costs TUM fr1/desk 0.1345 → 0.1426 at the preset's
    focal (docs/geometric.md, "Offsets and depth with the focal 10 % off")."""
    depth_range_window: int = 0
    """The lower bound ``depth_range[0]`` is also measured against a reference the movers cannot pull: in the fusion
    (:func:`~stereodiff.stage1.fusion.fuse_pair_depths`, ``near_bound``), a pair view's pixels nearer than
    ``depth_range[0]`` times the median, over the frames within this many frames of the view's, of each frame's
    median depth (every pair view's median brought to the fusion's common scale, then the median over the frame's
    views) are left out of that view's contribution. The bound against the view's own median (``PairSteps``) stays, so
    this can only reject more. Why: movers that fill a quarter of the frame pull their views' own median down and
    their static "phantoms" (a mover walking along the epipolar lines looks static at a fraction of its depth) pass
    the bound (indoor-dynamic s520, frames 39–51, docs/geometric.md "indoor-dynamic held-out seed 520 traced");
    the frames around them are not pulled. Off in a video moving ahead with ``forward_near`` (its near border
    scenery has no lower bound there; without that gate driving s564–s567 +1.2 … +19.8 %). 0 (default) = off (the
    own median only). Measured with 8 and ``depth_range_window_area=0.005`` (final all-pixel AbsRel): indoor-dynamic
    s520 0.1966 → 0.0710 (moving px 0.369 → 0.156), s560 0.1560 → 0.1081, s567 0.2175 → 0.1619, s561 0.1674 →
    0.1540, s3 0.0962 → 0.0930, s572 0.0466 → 0.0452; 30 other clips of indoor-dynamic, driving, close-object,
    static-orbit, TUM (0.0846) and 7-Scenes (0.1165) unchanged (docs/geometric.md, "The lower depth bound against
    the frames around")."""
    depth_range_window_area: float = 0.0
    """With ``depth_range_window``: a frame where the window's bound makes holes of fewer than this share of its
    pixels is fused without it (0: always with it). A mover that pulls the median fills a large part of the frame;
    a few pixels at the bound are the bound's own noise (each view's median differs a little from the window's), and
    in close-object they are the near mover's only evidence stage 2's fill leans on: without the floor close-object
    s568–s571 +0.1 … +4.4 % final AbsRel from 79–148 cut pixels over the video; with 0.005 unchanged, s520 the same."""
    depth_range_phantom: float = 0.0
    """With ``depth_range_window``: the window's bound (in the fusion) uses this factor of the window's median
    instead of ``depth_range[0]`` (0 = off; must exceed ``depth_range[0]``); the matcher's bound against each view's
    own median stays at ``depth_range[0]``. Why: a mover walking against a sideways camera is a static "phantom" at
    a fraction of its depth, admitted where that fraction rises past 0.2 (indoor-dynamic s522, s607, s674, s676).
    Per pixel it cuts a phantom straddling the bound in part: measured at 0.3 (final all-pixel AbsRel against the
    ``cpu`` preset) s674 −65.3 %, s676 −60.5 %, s522 −17.9 %, s607 −14.4 %, but s675 +16.0 %, close-object s670
    +11.8 %, s521 +6.1 %; use it with ``depth_range_phantom_reach`` (docs/geometric.md, "Phantoms above the lower
    bound")."""
    depth_range_phantom_reach: float = 0.0
    """With ``depth_range_phantom``: instead of raising the window's bound per view, after the fusion each connected
    region of fused pixels nearer than ``depth_range_phantom × reach`` times the window's median becomes holes when
    its median is nearer than ``depth_range_phantom`` times it (:func:`~stereodiff.stage1.fusion.near_regions`; the
    ``depth_range_window_area`` floor per frame): a phantom is cut whole or kept whole. 0 = off (the per-view bound).
    Measured with 0.3 and 1.2 (final all-pixel AbsRel against the ``cpu`` preset): indoor-dynamic s674 −66.2 %, s673
    −65.4 %, s676 −60.6 %, s607 −24.4 %, s522 −17.1 %, s675 0.0 % (per pixel +16.0 %); close-object s670 +10.7 %,
    s521 +4.8 %, s675 +1.9 %, indoor-dynamic s677 +1.8 %, s520 +1.1 %; 18 of 26 fresh and real clips within ±0.5 %
    (docs/geometric.md, "Phantoms above the lower bound")."""
    far_parallax_px: float = 0.0
    """Triangulated depths beyond ``depth_range[1]`` times the pair median are kept when their parallax, the
    triangulation angle times the focal (pixels at a 320-pixel long side, scaled), is at least this: a
    well-conditioned far pixel (a focal 10 % short stretches a far wall past the bound) is not an outlier.
    0 = off (the bound applies to every pixel). The parallax in pixels hardly depends on the focal: with 1 px the
    static orbit at 0.9× the focal gets its far wall back (seed 1 final AbsRel 0.161 → 0.045; 0.5 px: 0.037 but
    ``indoor-dynamic`` +2 % with no focal given; docs/geometric.md, "Pair acceptance and the far bound independent
    of the focal"). 1 in the ``cpu`` preset since the session of 2026-12-04 evening: driving s125's far road, 5-7×
    the pair median in its first frames, is no longer cut (final 0.0923 → 0.0845), no other clip of 34 moves by
    more than +0.35 %)."""
    distortion: tuple[float, ...] | Literal["auto"] | None = None
    """Lens distortion of the source camera, OpenCV coefficients ``(k1, k2, p1, p2[, k3])`` (e.g. from a
    calibration or a dataset's camera file; they do not depend on the resolution); needs ``focal_px`` (or the
    matcher's ``intrinsics``). The flow matches are undistorted before the epipolar geometry and the triangulation,
    and each pixel's depth is along its own undistorted ray, so the depth stays on the input pixel grid. ``"auto"``:
    estimate a one-parameter division model (centre at the image centre, no focal needed) from the probe pairs'
    flow matches, or keep a pinhole camera when the estimate is not decided
    (:mod:`stereodiff.stage1.distortion`; ``MatcherReport.distortion_division`` / ``distortion_reason``; it
    decides rendered lenses of ≥ 5 % at the corners but declines TUM fr1/desk's, see docs/geometric.md). ``None``:
    a pinhole camera."""
    rolling_shutter_readout: float | Literal["auto"] | None = None
    """Rolling shutter: the time from the first to the last row of a frame, as a fraction of the frame interval
    (rows top to bottom), or ``"auto"`` to choose it from the consecutive pairs (the least median Sampson residual
    over 0, 0.15, …, 0.9; 0 unless it is 5 % below the global shutter's). Each frame's angular velocity comes from
    its consecutive pairs' rotations; every pair's matches are turned into the camera of its frames' middle rows
    before the essential matrix and the triangulation (:mod:`stereodiff.stage1.rolling_shutter`; one more DIS
    flow per frame). ``None`` or 0: a global shutter (off). ``"auto"`` is not reliable: it took 0.15–0.75 on 5 of
    the 32 rendered validation scenes (global shutter; seeds 4–7, 24–27), all with moving objects; give the
    readout when it is known (Kinect v1 clips: ~0.3–0.6), or decide per clip with ``rolling_shutter_detect``. See
    docs/geometric.md, "Rolling shutter"."""
    rolling_shutter_detect: bool = False
    """With ``rolling_shutter_readout`` (a readout or ``"auto"``): decide per clip whether the shutter rolls at all,
    and un-roll only when it does (a declined clip runs as with the option off, bit for bit). Two tests on the
    consecutive pairs (:func:`~stereodiff.stage1.rolling_shutter.detect_readout`): the mirror test (re-estimated
    on matches un-rolled with readout +0.9, rows top to bottom, and −0.9, bottom to top: a global shutter has no
    row order and fits both alike; the median over the pairs of log(residual(+0.9) / residual(−0.9)) must be below
    −0.05) and ``"auto"``'s descent (some readout of the grid 5 % below 0's median Sampson residual). Measured:
    TUM fr1/desk −0.131 and 7-Scenes −0.220 (both Kinect v1: rolls), rendered global-shutter clips −0.031 …
    +0.023 (seeds 0–3 of the four presets and ``"auto"``'s five old false positives: all declined). With 0.9 on
    TUM: final AbsRel 0.1010 → 0.0839; 7-Scenes 0.1211 → 0.1228. Costs the consecutive flows and three pose
    passes on a clip it declines. See docs/geometric.md, "Rolling shutter decided per clip"."""
    rolling_shutter_screen: bool = False
    """With ``rolling_shutter_detect``: screen first, cheaply, and run the detection's consecutive flows and pose
    passes only when the camera's angular velocity changes from frame to frame (without such changes the mirror
    test cannot see a shutter): the median change over 6 runs of 4 consecutive frames matched by sparse corner
    tracking (:func:`~stereodiff.stage1.rolling_shutter.screen_pairs`,
    :func:`~stereodiff.stage1.rolling_shutter.corner_matches`, ``SCREEN_MIN_CHANGE_DEG``). A clip it screens out
    runs as with the option off, bit for bit; one it passes on is decided by the full test as before. Measured: 0.2 s
    CPU on a 64-frame 320×240 clip (the full test ~3.6 s); the same decisions as the full test on TUM fr1/desk,
    7-Scenes, 45 rendered global-shutter clips and 25 rendered rolling-shutter clips; static-orbit and driving
    always screened out, indoor-dynamic and close-object about half (movers). See docs/geometric.md, "Rolling
    shutter on rendered clips, and the detection screened cheaply"."""
    rolling_shutter_screen_tracks: bool = False
    """With ``rolling_shutter_screen``: measure the angular velocity's changes from corner tracks through each run of
    4 frames instead of the consecutive pairs' rotations: the second differences ``x₂ − 2 x₁ + x₀`` of the tracks
    are the depth-independent flow of the change of the rotation (a steady turn or translation, and an object moving
    steadily, leave none), fitted by least median of squares so tracks on moving objects drop out
    (:func:`~stereodiff.stage1.rolling_shutter.corner_tracks`,
    :func:`~stereodiff.stage1.rolling_shutter.angular_acceleration`; no essential matrix). Measured on rendered
    global-shutter clips with movers (indoor-dynamic, close-object; seeds 0–3, 276–287, 310–315): 0.007–0.020
    °/frame, none of 44 passed on (the pairs' screen: 30, each paying the full test, ~4 s CPU); rolled clips with a
    tremor 0.053–1.07 (all 23 passed on and detected), TUM 0.47, 7-Scenes 0.18; ~0.2 s CPU per 64-frame clip. See
    docs/geometric.md, "The rolling-shutter screen from corner tracks"."""
    rolling_shutter_min_shift: float = 0.0
    """With ``rolling_shutter_readout`` (and ``rolling_shutter_detect``): un-roll only when the un-rolling would
    move the matches by more than the matching noise: the largest, over the frame offsets 1, 2, 3, 5, 8, 13, of the
    median over the frames of how far the chosen readout with the frames' angular velocities moves a match relative
    to its partner (:func:`~stereodiff.stage1.rolling_shutter.unrolling_shift`) must be at least this many times
    the consecutive pairs' median Sampson residual at readout 0; otherwise the clip runs as with the option off, bit
    for bit (``MatcherReport.rolling_shutter_shift`` holds the ratio). 0 = off. Measured (with ``"auto"``, detect,
    screen and tracks): TUM fr1/desk 8.55 (un-rolled, final 0.0976 → 0.0859), 7-Scenes 2.58 (un-rolling loses
    +2.1 %); rendered rolled clips with a tremor, fresh seeds 440–451: 2.66 (+0.3 %), 2.96 (−1.6 %), 3.63 (−6.0 %),
    3.13 (−3.5 %), 3.40 (−0.8 %), 3.98 (+4.7 %, stage 1 −10 %), 6.08 (−12.8 %), the others 5–20. 3 declines
    7-Scenes (1.16× below; 3.28 with its focal given 2.3 % off, 585 px: 3.5 is safer there) and keeps TUM; ~0.1 s
    CPU. See
    docs/geometric.md, "Un-roll only when it moves the matches beyond their noise"."""
    rolling_shutter_max_change: float = 0.0
    """With the rolling shutter un-rolled (``rolling_shutter_readout``, a readout chosen): in each pair view, a pixel
    whose un-rolled depth differs from its rolled triangulation (the raw rays) by more than this (absolute log ratio,
    the view's median ratio removed) is treated as ``rolling_shutter_changed`` says
    (:func:`~stereodiff.stage1.pair_steps.unroll_stable`): such a pixel's depth hangs on a sub-pixel change of its
    match or of the pose (little parallax: near the focus of expansion, or a mover along the camera's path
    triangulated as if static). 0 = off; a clip that is not un-rolled is unchanged, bit for bit. Measured on rendered
    rolled driving clips (readout 0.6, tremor 0.3°, fresh seeds 500–505) at 0.2, moving pixels: ``"hole"`` −17.6 /
    +0.1 / +15.9 % against the un-rolled run (min / median / max; s508 +31 %), ``"rolled"`` −6.1 / +6.7 / +19.8 %
    against the rolled run (4 of 6 worse) with most of the static gain lost (final +0.3 … +8.8 %); TUM fr1/desk
    final 0.0846 → 0.0923 / 0.0853. Not for the preset. See docs/geometric.md, "Pair views the un-rolling moves
    too far"."""
    rolling_shutter_changed: Literal["hole", "rolled"] = "hole"
    """With ``rolling_shutter_max_change``: ``"hole"``: the rolled triangulation is the raw rays with the
    un-rolled pose, and a pixel it differs from by more is not triangulated in that view (left to the other pairs and
    stage 2); ``"rolled"``: it is the raw rays with the pose of the raw (rolled) matches (one more essential matrix
    per pair), and such a pixel takes it (the rolled run's depth where the un-rolling moves it most)."""
    rolling_shutter_occam: float = 0.0
    """With ``rolling_shutter_readout="auto"``: once the descent has found the shutter rolling, take the smallest
    non-zero readout of the grid whose median Sampson residual is within this many standard errors of the least
    one, instead of the least one (Occam's choice on a flat minimum; the standard error of each difference from a
    paired bootstrap over the consecutive pairs, :func:`~stereodiff.stage1.rolling_shutter.occam_readout`). 0 =
    off (the least residual, as before). Measured (rolled renders with a 0.3° tremor, fresh seeds 575–589, and the
    brief's s524): at 1, final all px −4.5 / 0 / +1.5 % (min / median / max over 15 seeds; 4 better, 10 same,
    1 worse), s524 0.0445 → 0.0418, but TUM fr1/desk takes 0.45 for 0.6 (0.9 SE) and loses 15 % (0.0846 →
    0.0973); at 0.5 TUM keeps 0.6 and s524 takes 0.6 (0.0374), a threshold set between the clips. With a 0.2°
    tremor (seeds 575–586) it finds the true readout on 5 (z = 1) / 6 (0.5) of 12, the least residual on 8. Not
    for the preset. See docs/geometric.md, "The readout on a flat residual"."""
    rolling_shutter_sharp_velocity: bool = False
    """With ``rolling_shutter_readout``: each frame's angular velocity, the mean of its two consecutive pairs'
    rotations, has the mean's smoothing undone to second order (``ω_k = m_k − (m_{k+1} − 2 m_k + m_{k−1}) / 6``,
    :func:`~stereodiff.stage1.rolling_shutter.frame_angular_velocities`), in the readout search and in the
    un-rolling. The mean damps a tremor's velocity changes (×0.88 at 4 Hz), which the search makes up for with a
    larger readout (the least residual 10–20 % above the true readout on rendered tremors). The search then finds
    the true readout on 9 of 12 fresh rolled renders (7 without), but the un-rolling with the sharpened, noisier
    velocities loses: TUM fr1/desk 0.0846 → 0.0888, indoor-dynamic s524 0.0445 → 0.0542 (stage 1 0.0382 →
    0.0672). Not for the preset; see ``rolling_shutter_sharp_search`` and docs/geometric.md, "The readout on a flat
    residual"."""
    rolling_shutter_sharp_search: bool = False
    """``rolling_shutter_sharp_velocity`` in the readout search only (the mirror test and the descent un-roll with
    the sharpened velocities); the un-rolling keeps the two-sided mean's velocities at the chosen readout.
    Measured: TUM fr1/desk 0.6 → 0.75 (0.1 % ahead of 0.45), final 0.0846 → 0.0772; 7-Scenes still declined
    (2.92×); fresh rolled renders (seeds 575–589, tremor 0.3°) −3.9 / 0 / +5.2 % (3 better, 9 same, 3 worse,
    moves of ±3 % also where the readout stays: the velocities' small changes); s524 0.0445 → 0.0462 at the true
    0.6; seeds 575–586 with a 0.2° tremor: the true readout on 6 of 12 (8 without), −1.2 / +0.25 / +3.0 % (1
    better, 6 same, 5 worse). Not for the preset. See docs/geometric.md, "The readout on a flat residual"."""
    rolling_shutter_search_stride: int = 1
    """With ``rolling_shutter_detect`` (or ``rolling_shutter_readout="auto"``): the mirror test and the readout
    descent re-estimate only the consecutive pairs ``(k, k + 1)`` with ``k`` a multiple of this (1 = all, as
    before). The readout-0 pass (the velocities the passes un-roll with, the min-shift test's noise) and the chosen
    readout's pass (the velocities re-measured for the un-rolling) stay on every pair: a pass is per pair (its own
    matches, velocities and RNG seed), so the chosen readout's pass is completed on the pairs the search skipped
    and, when the search chooses today's readout, the clip's rolling shutter, and so its depth, are the same bit for
    bit. Cost: 2 + 6 / stride pose passes instead of 8 (stride 2: 5). Measured at 2 (process CPU of the test): TUM
    fr1/desk 8.60 → 6.71 s, 7-Scenes 4.01 → 3.13 s, 12 rolled renders 3.89–4.87 → 3.21–3.70 s; but the descent's
    minimum is flat (7-Scenes' three best medians within 0.12 %, TUM's two best 0.9 %), so the readout moved on 5 of
    those 14 clips (TUM 0.6 → 0.75, final 0.0846 → 0.0831; the renders' finals −3.8 … +4.5 %) and one rolled render
    declined today was un-rolled. Not for the preset. See docs/geometric.md, "Fewer pose passes for the
    rolling-shutter decision"."""
    max_confidence: float = 10.0
    """Confidence of a perfect pixel (the minimum, for untriangulated pixels, is 1)."""
    ransac_threshold_px: float = 0.5
    """Essential-matrix inlier threshold in pixels at 320 (scaled)."""
    median_threshold_px: float = 0.08
    """Threshold of the least-median-of-squares stage of :func:`robust_essential` in pixels at 320 (scaled): it sets
    how long that stage samples (tighter = more minimal samples)."""
    grid_cells: int = 32
    """Number of cells along the long side of the well-spread RANSAC subsample (32: ~700 matches at 4:3; 48 doubles
    the RANSAC time for no gain on 7-Scenes)."""
    fusion_stride: int = 2
    """Pixel subsampling of the fusion's pair-scale comparisons."""
    fusion_view_offsets: bool = False
    """The fusion solves, besides one log-scale per pair, a log-scale offset of every pair's later view, smooth along
    the video and seen through the pair graph's loops (:func:`~stereodiff.stage1.fusion._solve_log_scales`): a pair
    with a wrong pose scales its two depth maps differently, and one scale per pair chains that into a scale drift
    across the video. TUM fr1/desk (cpu preset, offsets {3, 5, 8}): stage 1 0.1251 → 0.1194, final 0.1087 → 0.1010
    (the step of the per-frame scale between frames 0–35 and 45–109: 0.147 → 0.113 log); 7-Scenes 0.1213 → 0.1211;
    fresh seeds 220–223 of static-orbit, indoor-dynamic and driving: final −8.2 / −0.02 / +2.5 % (min / median /
    max; driving s222 +2.5 %). docs/geometric.md, "TUM fr1/desk on the main of 2026-12-05". Off: the output is
    unchanged. On in the ``cpu`` preset (30 held-out clips: 14 better, 7 worse by at most 2.5 %, 9 the same;
    docs/geometric.md, "Defaults of the `cpu` preset")."""
    fusion_weak_rim: float = 0.0
    """After the fusion and the movers step, covered pixels within ``fusion_weak_rim_px`` of a hole whose *flow
    support* (Σ over their pairs of the confidence's forward–backward × epipolar factor, the parallax factor divided
    out: pairs' worth of clean matches) is at most this are left as holes for stage 2
    (:func:`~stereodiff.stage1.fusion.leave_weak_rim`). Stage 1's pixels next to its holes on the real clips are
    fused from one or two barely consistent flows and are 2–3× as wrong as the interior (docs/geometric.md,
    "Poorly matched pixels next to the holes"). 0: off (the output is unchanged). Measured with 0.5 (final all-pixel
    AbsRel): TUM fr1/desk 0.1010 → 0.0969, 7-Scenes 0.1211 → 0.1211; fresh seeds 343–348 static-orbit −0.8 / −0.2
    / +1.0 % (min / median / max), indoor-dynamic −5.6 / −2.6 / +2.9 %, driving −3.1 / −2.6 / +4.1 % (s0, s1,
    343–345), close-object 343 / 344 −7.4 / +19.0 % (0.2640 → 0.3141: the box, not flagged by the movers step, has a
    low flow support too): not alone; in the ``cpu`` preset (0.5) with the islands rule and
    ``fusion_weak_rim_keep_given`` (docs/geometric.md, "Defaults of the `cpu` preset")."""
    fusion_weak_rim_px: float = 8.0
    """With ``fusion_weak_rim``: how far (pixels of the working resolution) from an untriangulated pixel a pixel may
    be left out."""
    fusion_weak_rim_island: float = 0.0
    """With ``fusion_weak_rim``: pixels of a covered region (8-connected) smaller than this share of the frame are
    never left out (0: no exception; :attr:`~stereodiff.stage1.fusion.WeakRim.min_island`). An unflagged mover's
    few triangulated pixels are such specks in its untriangulated body, and stage 2's fill leans on them
    (``hole_nearness``): taken, close-object s344's box is filled from the wall. Measured with 0.005,
    ``fusion_weak_rim_island_hole=0.1``, ``fusion_weak_rim_island_nearer=0.3`` and ``fusion_weak_rim=0.5`` against
    the option off (final all-pixel AbsRel): close-object s344 / s349 −4.5 / −0.4 % (the weak rim alone +19.0 /
    +25.1 %), TUM 0.1010 → 0.0986 (alone 0.0969), 7-Scenes 0.1211 → 0.1211; fresh seeds 361–366 static-orbit
    −1.1 / −0.4 / −0.1 % (min / median / max), indoor-dynamic −2.4 / −1.1 / +6.3 %, driving −4.2 / −3.2 / −2.4 %
    (moving pixels up to +5.6 %), close-object −4.0 / −0.5 / +0.1 % (docs/geometric.md, "What the weak rim takes
    on the box, and islands spared"). In the ``cpu`` preset (0.005, with ``fusion_weak_rim_island_hole=0.1``,
    ``fusion_weak_rim_island_nearer=0.3`` and ``fusion_weak_rim_keep_given``)."""
    fusion_weak_rim_island_nearer: float = 0.0
    """With ``fusion_weak_rim_island``: only the island pixels whose log depth is below that of their surroundings
    (the covered pixels within 30 px) by more than this are spared (0: every island pixel;
    :attr:`~stereodiff.stage1.fusion.WeakRim.island_nearer`). 0.3 in the ``cpu`` preset."""
    fusion_weak_rim_island_hole: float = 0.0
    """With ``fusion_weak_rim_island``: only the islands next to a hole of at least this share of the frame are
    spared (0: every island; :attr:`~stereodiff.stage1.fusion.WeakRim.island_hole`). 0.1 in the ``cpu`` preset."""
    fusion_weak_rim_keep_given: bool = False
    """With ``fusion_weak_rim``: the pixels whose depth the movers step gave (``SceneGeometry.movers_given``, beyond
    its moving mask too: e.g. its tracking of a mover's body) are never left out, like the moving pixels: their depth
    is not the pairs' (untriangulated, or replaced), so the pairs' flow support says nothing about it
    (:func:`~stereodiff.stage1.fusion.leave_weak_rim`; docs/geometric.md, "Which weak pixels are right"). Off: the
    output is unchanged. Measured with ``fusion_weak_rim=0.5`` (final all-pixel AbsRel): TUM 0.1010 → 0.0969 and
    with the rolling-shutter settings 0.0894 → 0.0852 (both the weak rim alone's), 7-Scenes 0.1211 → 0.1210,
    indoor-dynamic s361 0.0384 → 0.0398 (alone 0.0409); fresh seeds 393–398 against the option off (min / median /
    max): indoor-dynamic −3.8 / −0.2 / +0.3 % (alone up to +14.9 %), driving −4.9 / −2.4 / −1.5 % (moving pixels
    −2.7 / −0.8 / +4.6 %; alone −2.3 / +2.0 / +6.1 %), static-orbit 393–394 ±0.2 %; close-object +15.3 % median
    like the weak rim alone (the box: the islands rule, ``fusion_weak_rim_island*``, is what fixes it). On in the
    ``cpu`` preset, with the islands rule (docs/geometric.md, "Defaults of the `cpu` preset")."""
    fusion_edge_median: float = 0.0
    """After the fusion, the movers step and ``fusion_weak_rim``, covered pixels within this distance (pixels of the
    working resolution) of a hole, whose window spans a depth step (``fusion_edge_median_spread``), take the
    colour-guided weighted median of the covered log depths in the window around them
    (:func:`~stereodiff.stage1.edge_median.edge_median`): the matcher fattens the foreground beside its holes (AbsRel
    0.047 within 2 px of a hole against 0.0126 inside), and the window's pixels of the pixel's own colour vote for
    their depth. 0: off (the output is unchanged). Measured with 3 and the defaults below (a 17×17 window sampled
    every 4 px, σ 0.1, spread 0.1), final all-pixel AbsRel against off: static-orbit s0–s3 −12.6 / −3.1 / −6.0 /
    −3.7 % (s0 0.02102 → 0.01836, stage 1 0.01963 → 0.01808), indoor-dynamic s0 / s1 −0.8 / −0.7 %, driving −2.6 /
    −2.2 % (moving pixels −8.8 / −16.7 %), close-object +1.1 / +0.1 %, TUM 0.0986 → 0.0976, 7-Scenes 0.1211 →
    0.1188; fresh seeds 413–424 (3 per preset) −5.7 / −1.9 / +3.8 % (min / median / max; 7 better, 3 the same, 2
    worse: close-object s422 +3.8 %, s424 +0.6 %). Better with ``fusion_edge_median_movers``. Cost on the 64-frame
    320×240 bench video: 0.23 s (0.27 s with ``fusion_edge_median_movers``). docs/geometric.md, "Colour-guided
    weighted median next to the holes"."""
    fusion_edge_median_half: int = 8
    """With ``fusion_edge_median``: half-width of the window (pixels; 8: 17×17). Wider is better on static-orbit
    (5: s0 −7.6 %, 8: −12.6 %, 12: −15.3 %) but 12 gains less on the fresh seeds (median −0.1 % against −1.9 %)."""
    fusion_edge_median_stride: int = 4
    """With ``fusion_edge_median``: the window's samples every this many pixels (4: 5×5 of the 17×17; the cost is
    proportional to their count)."""
    fusion_edge_median_colour: float = 0.1
    """With ``fusion_edge_median``: colour scale σ of the samples' weight ``exp(−‖ΔRGB‖ / σ)`` (RGB in [0, 1]; 0.05
    is as good on static-orbit, 0.2 worse, and 10⁶, no colour, leaves the fattening)."""
    fusion_edge_median_spread: float = 0.1
    """With ``fusion_edge_median``: only the pixels whose window's covered log depths span more than this are read
    (0: every pixel within reach): a window of one depth cannot move its pixel by more than its span, and the
    pixels of the depth steps' bands are under half of those within reach of a hole."""
    fusion_edge_median_step: float = 0.0
    """With ``fusion_edge_median``: also the covered pixels within its reach of a log-depth step larger than this
    between 8-neighbours (0: the holes only; 0.1 gains nothing on static-orbit and costs more)."""
    fusion_edge_median_remove: float = 0.0
    """With ``fusion_edge_median``: a pixel whose log depth differs from its weighted median by more than this is
    made a hole for stage 2 instead of replaced (0: always replaced; 0.1 lowers stage 1's covered AbsRel by taking
    pixels away, the final no more than replacing)."""
    fusion_edge_median_movers: bool = False
    """With ``fusion_edge_median``: the movers step's moving pixels and those it gave depth
    (``SceneGeometry.movers_given``) are replaced too: a mover's depth, the matcher's or spread by the step over its
    mask, is fattened like any other, and on a static scene its mask flags outlines (3 % of static-orbit s0's pixels).
    Measured with ``fusion_edge_median=3`` (final all-pixel AbsRel against off): static-orbit s0–s3 −15.0 / −3.1 / −7.0
    / −4.7 % (s0 0.02102 → 0.01787), indoor-dynamic s0 / s1 −4.2 / −2.4 % (kept: −0.8 / −0.7 %), driving −3.7 / −3.2 %,
    close-object +1.3 / +0.2 %, TUM 0.0986 → 0.0976, 7-Scenes 0.1211 → 0.1189; fresh seeds 413–424 −7.2 / −3.0 / +3.6 %
    (min / median / max; 7 better, 4 the same, 1 worse: close-object s422, through the all-pixel fit of its badly filled
    holes), moving pixels −19.0 / −1.1 / +1.6 %. On in the ``cpu`` preset with ``fusion_edge_median=3``
    (docs/geometric.md, "Defaults of the `cpu` preset")."""
    fusion_edge_median_confidence: bool = False
    """With ``fusion_edge_median``: the samples are weighted by stage 1's confidence too (measured: no gain)."""
    poses_from_pairs: bool = False
    """After the fusion, the camera poses (``cam_to_world``) are chained along the spanning tree from each tree pair's
    own relative pose (exact: both directions of a pair share one triangulation) with its translation at the fusion's
    pair scale, instead of the alignment's point-cloud registrations (which drift on forward-moving clips: driving
    s92's poses were thousands of units off). The depth does not change; only what reads the poses (exports, stage
    2's pose-based forward gate, ``band_select``). Off in the class, on in the ``cpu`` preset (since the session of
    2026-12-04): median per-frame rotation error 3–80° → 0.01–0.05° on driving, 33° → 1.2° on 7-Scenes, 9.9° → 0.6°
    on TUM (docs/geometric.md, "Why stage 1's tree poses break")."""
    pose_graph_refine: bool = False
    """Before the pairs are triangulated, every frame's pose is refined jointly over all ok pairs' sparse inlier
    matches (:func:`~stereodiff.stage1.pose_graph.refine_pose_graph`: signed Sampson distance, Cauchy loss of
    0.1 px, frame 0 fixed, Levenberg–Marquardt on the analytic Jacobian, run to convergence), from the poses of a
    first pass (pairs, alignment, fusion, :func:`pair_chain_poses`), and the pairs are triangulated again with the
    relative poses of the refined frames (each ``t`` on the side of the pair's own estimate). Costs a second pair
    run (flows and triangulation), an alignment and a fusion, plus the refinement (TUM fr1/desk: 193 evaluations,
    10 s CPU). Final AbsRel, converged (session s33-lm): TUM 0.1010 → 0.1202, with the rolling-shutter settings
    0.0894 → 0.0856; 7-Scenes 0.1211 → 0.1214, with them 0.1236 → 0.1320; driving s381–s383 −0.3 / +1.5 / −0.1 %;
    fresh seeds 387–389 of indoor-dynamic and driving −4.9 / +0.7 / +17.6 % (min / median / max; 1 better, 4
    worse). The former unconverged solver's gains (TUM 0.0972 at 100 evaluations) came from where it stopped and
    from the reversed pairs it left. Off: unchanged. Not for the preset (docs/geometric.md, "The pose graph in the
    pipeline")."""
    pose_graph_matches: int = 50
    """With ``pose_graph_refine``: inlier matches kept per pair (evenly spread over its grid sample; 2 × 2 float64
    each: 32 bytes)."""
    pose_graph_baseline_tolerance: float = 0.0
    """With ``pose_graph_refine``: each pair's baseline length is held to the first pass's (its pair scale) within
    about this relative change (``refine_pose_graph``'s ``baseline_tolerance``); 0 = free (the Sampson distances
    do not see it: converged, TUM's baselines shrink to 0.14× at the 1st percentile, driving's to 0). At 0.1: no
    reversed pairs, driving converges in 27–32 evaluations, but the depth is no better: TUM 0.1175 (free 0.1202),
    with the rolling-shutter settings 0.0865 (0.0856), 7-Scenes 0.1216 (0.1214), driving s381–s383 +0.2 / +3.2 /
    +0.5 % against off, indoor-dynamic s388 / s389 +1.9 / +20.8 %."""
    pose_graph_max_nfev: int = 500
    """With ``pose_graph_refine``: most residual evaluations of the refinement (each with its analytic Jacobian);
    it stops earlier when converged (TUM fr1/desk: 193 evaluations, 9 s CPU)."""
    num_workers: int = 2
    """Threads for pairs, alignment and fusion (the output does not depend on it)."""
    movers: bool = False
    """After the fusion, find independently moving objects (flow that the camera motion and the static depth do not
    explain; regions that stage 1 put beyond the ground plane) and give them the depth of the ground under them
    (:mod:`stereodiff.stage1.movers`; knobs in its ``MoverSettings``; memory bounded by 128-frame blocks). Off here,
    on in the ``cpu`` preset. Alone (``cpu`` preset otherwise, 64 frames): final all-pixel AbsRel indoor-dynamic
    seeds 0–3 0.252/0.154/0.044/0.161 → 0.077/0.079/0.033/0.159 (moving pixels 0.78/0.55/0.36/0.43 →
    0.23/0.27/0.24/0.43), driving 0.341/0.300/0.161/0.437 → 0.325/0.272/0.157/0.437, close-object about unchanged
    (not found: too fast, floating), static-orbit seeds 0–3 within 1 % except seed 3 0.0388 → 0.0399, TUM fr1/desk
    0.1406 → 0.1411, 7-Scenes 0.1225 → 0.1219; with stage 2's ``hole_nearness``: docs/geometric.md."""
    movers_offsets: tuple[int, ...] = (6, 12)
    """With ``movers``: frame offsets of the movers' flow checks (``MoverSettings.offsets``; each offset costs one
    DIS ``fast`` pair, two PnP poses and two rigid flows per frame)."""
    movers_flow_variational_iterations: int | None = None
    """With ``movers``: DIS variational-refinement iterations per pyramid level of the movers' flows (the flow
    checks' ``fast`` and the cut-track links' ``medium`` engines); ``None`` (default) keeps the presets' 5."""
    movers_short_offsets: tuple[int, ...] = ()
    """With ``movers``: shorter frame offsets whose flow checks decide at the stage-1 holes where the movers' offsets
    saw no consistent flow (``MoverSettings.short_offsets``; a walking person close to the camera deforms too much
    over 6 frames).
    ``3`` takes indoor-dynamic seed 3's moving pixels 0.43 → 0.29 (final 0.159 → 0.129), leaves static-orbit, TUM
    and 7-Scenes unchanged, but costs indoor-dynamic seed 0 2 % and driving seed 1 1 % (docs/geometric.md): off
    here, ``(3,)`` in the ``cpu`` preset."""
    movers_ground_cut: bool = False
    """With ``movers``: contact segments are cut at the ground plane too (``MoverSettings.ground_cut``); helps
    driving seeds 0/2, hurts indoor-dynamic seed 1 (docs/geometric.md): off."""
    movers_beyond_part: float = 0.0
    """With ``movers``: a flagged region that static pixels joined (they set its contact) gives its part beyond the
    ground the contact of that part's own blob (``MoverSettings.beyond_part``: the blob's least area, fraction of
    the frame; 0 = off, ``0.0005`` in the ``cpu`` preset; docs/geometric.md, driving)."""
    movers_oncoming: float = 0.0
    """With ``movers``: an upright flagged region standing on a road but nearer than the road under it by more than
    this fraction (an oncoming car, triangulated too near) takes that contact (``MoverSettings.oncoming``; 0 = off,
    ``0.3`` in the ``cpu`` preset; docs/geometric.md, driving)."""
    movers_oncoming_carry: int = 0
    """With ``movers_oncoming``: a region the oncoming test gave its contact in a frame is followed as its stage-1
    phantom (its triangulated off-ground pixels at their too-near depth, overlap frame to frame) into the frames at
    most this many away where no flagged seed gave it one, and there takes its own contact, re-measured, when it
    passes the same test (``MoverSettings.oncoming_carry``; 0 = off, off for a camera moving along its view).
    Measured at 16 (8 and 32 identical), final all px: indoor-dynamic s692 0.1521 → 0.0775 (moving px 0.432 →
    0.121); fresh indoor-dynamic 760–779 −72.0 … +19.2 % (10 better, 3 worse: s765, s776, s777; 7 identical),
    driving, static-orbit, TUM and 7-Scenes identical, close-object s760 +1.5 % (38 clips: 10 / 24 / 4 at ±0.5 %);
    ``make demo``'s all-pixel row 0.1849 → 0.1917 against the nearest fill's 0.1885 (the protocol's one fit;
    docs/geometric.md, "Carrying the oncoming contact to the frames without a flagged seed")."""
    movers_hole_reach: bool = False
    """With ``movers``: a mover region that is mostly a stage-1 hole and is joined to the image bottom by stage-1
    holes under it gets the ground's depth at their lowest pixels, like a region reaching the image bottom
    (``MoverSettings.hole_reach``: a person walking close to the camera whose legs no flow check follows). Off here,
    on in the ``cpu`` preset: indoor-dynamic seed 3 final 0.129 → 0.105 (docs/geometric.md)."""
    movers_cut_last_row: bool = False
    """With ``movers``: a region cut by the image bottom with no ground seen under it takes the ground's depth at the
    image's last row rather than under its lowest pixels (``MoverSettings.cut_last_row``; both are upper bounds:
    its contact is below the image). Off here, on in the ``cpu`` preset: indoor-dynamic seeds 3–6 final 1.4–6.7 %
    lower, seed 0 0.6 % higher (docs/geometric.md, "A mover cut by the image bottom")."""
    movers_underground_cut: bool = False
    """With ``movers``: a region that stage 1 put beyond the ground plane (by ``MoverSettings.underground``) and
    that reaches the image bottom is a mover too, not only one standing on ground seen under it
    (``MoverSettings.underground_cut``): no surface seen below the horizon lies beyond the ground, so a person
    close to the camera cut by the image bottom (and its side) and triangulated with the camera's motion is found
    where no flow check reaches it; it takes the cut region's depth. Only where the plane holds the bottom rows
    beside it and the neighbouring frames (both) find such a region too (``ground.cut_in_neighbours``: in the real
    rooms the regions a plane fit leaves beyond it are single frames). Off here, on in the ``cpu`` preset
    (docs/geometric.md, "A mover cut by the image bottom beyond the ground", "A guard for
    `movers_underground_cut`")."""
    movers_cut_margin: float = 0.0
    """With ``movers_underground_cut``: the bottom-row columns within this many pixels (at a 320-pixel long side) of
    the ones a region beyond the ground reaches do not count as beside it when the plane must hold the bottom rows
    beside it (``MoverSettings.cut_margin``; 0 = off; 10 in the ``cpu`` preset): the floor just beside a walking
    person's feet is triangulated with her flow, off the plane, so a person cut by the image bottom near the
    image border was never found (docs/geometric.md, "A person walking along with a sideways camera"). 10 changes
    3 of 32 clips measured, all better (indoor-dynamic s125 −24 %, s154 −3.4 %, s0 −1.2 %), and leaves 16 fresh
    seeds, both real clips and the demo clip bit-identical; 20 gains more on s125 (−45 %) but costs TUM +0.24 %
    (docs/geometric.md, "`movers_cut_margin` for the `cpu` preset: held-out check")."""
    movers_cut_holes: float = 0.0
    """With ``movers_underground_cut``: a region beyond the ground that ends within this many rows (at a 320-pixel
    long side) of the image bottom with only stage-1 holes under it counts as reaching the bottom
    (``MoverSettings.cut_holes``; 0 = off): stage 1 may leave the image's lowest rows holes (indoor-dynamic s522,
    the last three frames), and a person cut by the image bottom beyond the ground then ends above it and is lost in
    those frames and, through the neighbour guards, the one or two before. At 8: s522 final all px 0.1551 → 0.1188,
    moving px 0.311 → 0.239 (stage 1 0.1799 → 0.1448); 27 other clips identical to 4 digits (fresh seeds 590–599
    indoor-dynamic, 590–592 of the other presets, s0–s3, s520/521/523, 7-Scenes); TUM 0.08458 → 0.08465 (+0.08 %:
    static floor in two frames) (docs/geometric.md, "A person cut by the image bottom above untriangulated last
    rows")."""
    movers_cut_skip_beyond: float = 0.0
    """With ``movers``, for a camera that does not move along its view: a flagged, triangulated region that reaches the
    image's lowest this many rows (at a 320-pixel long side), directly (at most the segmentation's bottom margin,
    ``border_px`` + 3 = 11 rows: it stops 8 short of the bottom) or in a column with only stage-1 holes and flagged
    pixels under it, takes its cut rule's depth (the ground at the last row with ``movers_cut_last_row``, or the ground
    seen under it) without the beyond-the-ground test, when that bound lies nearer than its stage-1 median and less than
    half of its pixels lie on the ground plane (``MoverSettings.cut_skip_beyond``; 0 = off here; 11 in the ``cpu``
    preset since the session of 2026-12-06). A person walking along with a sideways camera, cut by the image bottom, is
    triangulated too far with a vertical gradient that never passes that test (indoor-dynamic s607). At 11:
    indoor-dynamic s607 final all px 0.0924 → 0.0635 (moving px 0.385 → 0.226), fresh s631 0.2284 → 0.1417 (1.04 →
    0.715; rolled 0.2367 → 0.1663); fresh s642 / s647 −4 / −7 %; the 29 other fresh and real clips within ±0.1 %
    (7-Scenes +0.09 %, TUM −0.01 %, close-object s632 −0.06 %, 26 identical: indoor-dynamic seeds 630–649, driving,
    close-object, static-orbit 630–633); 9 and 24 rows within 0.6 % of it (docs/geometric.md, "A cut region that the
    beyond-the-ground test leaves at its phantom")."""
    movers_split_feet: float = 0.0
    """With ``movers``: the column runs of a mover region, at least this many pixels wide (at 320), whose own feet
    stand on the ground seen above the region's lowest pixels take that ground's depth when it lies beyond the
    region's (``MoverSettings.split_feet``; 0 = off): two people one behind the other joined in one mover region
    (docs/geometric.md, "Fresh seeds 153 and 154 traced")."""
    movers_cut_track_values: bool = False
    """With ``movers_cut_track``: the cut tracks join handled pixels only where they hold the same depth, so a mover
    region the per-frame rules gave its own depth keeps it where it touches a region cut by the image bottom
    (``MoverSettings.cut_track_values``; off: a connected handled region is one region): a farther person beside a
    near person cut by the image bottom took the near one's depth (indoor-dynamic s1419). With
    ``movers_split_feet=12``: s1419 / s1711 / s0 final −35 / −17 / −25 %, but fresh seeds −42.8 … +23.8 % (the cut
    track's sway is refitted on its new regions; docs/geometric.md, "The phantoms next to the near person cut by the
    image bottom")."""
    movers_side_up: float = 0.0
    """With ``movers``, for a camera that does not move along its view: a region given a contact that stage 1 put
    (median) beyond this factor times it gives the contact to the run of pixels above it in its columns at its
    smoothly varying wrong depth (``MoverSettings.up_run``; 0 = off, also in the ``cpu`` preset): the upper body
    of a person walking along with a sideways camera (docs/geometric.md, "A person walking along with a sideways
    camera")."""
    movers_up_beside: float = 0.0
    """With ``movers``, for a camera that does not move along its view: a region cut by the image bottom given a depth
    that stage 1 put (median) beyond it by ``movers``' 30 % (a far phantom) gives it to the run of pixels above it in
    its columns that are beyond it too, continuous with the region's top (within 30 %) and away from the static depth
    beside the region in the same row by more than this fraction (``MoverSettings.up_beside``; 0 = off here; 0.15 in the
    ``cpu`` preset since the session of 2026-12-06): the upper body of a person walking along with a sideways camera
    above her flagged part. At 0.15: indoor-dynamic s522 final all px 0.1075 → 0.0969 (moving px 0.232 → 0.210), s607
    0.0924 → 0.0903; fresh seeds 650–657 (indoor-dynamic), 650–652 (driving, close-object), 650–651 (static-orbit) and
    both real clips: −2.08 / 0.00 / +0.05 % (min / median / max), 2 better / 16 same (±0.5 %) / 0 worse; TUM and
    7-Scenes finals unchanged (docs/geometric.md, "The phantom upper body above a found region")."""
    movers_border_band: bool = False
    """With ``movers``: after the rules, the tracking and ``movers_up_holes``, each row of a region they gave a depth
    that reaches the edge of the segmentation's 8-px band along the image's left or right side (where the flow checks
    nothing) gives it to the band's pixels out to the image side that stage 1 left a hole or put beyond it by 30 %
    (``MoverSettings.border_band``; false = off): a person cut by the image's side keeps her stage-1 depth in the band
    (close-object held-out 1447: a fifth of her, 1.3–5× her depth while the rest of her is given 0.9–1.0×; with
    ``movers_cut_carry=16`` and ``movers_cut_carry_partial`` final all px 0.0673 → 0.0650, moving px 0.255 → 0.206;
    the three together: fresh 2250–2253 0 / 3 / 1 better / same / worse, 2253 +3.8 %, tuning close-object s3 +2.3 %,
    indoor-dynamic s0 +3.0 %; docs/geometric.md, "A mover cut by the image's side: the border band and the lost
    frames of close-object 1447")."""
    movers_side_holes: float = 0.0
    """With ``movers``: after the rules, the tracking, ``movers_up_holes`` and ``movers_border_band``, each row of a
    region they gave a depth that is cut by the image bottom and comes within this many columns (at a 320-pixel long
    side) of the image's left or right side gives its depth to the run of pixels out to that side that stage 1 left
    a hole or put beyond it by 30 %, where the run reaches the side (``MoverSettings.side_holes``; 0 = off): a near
    person entering or leaving through the image's side, found in a patch while the rest of her out to the side is a
    hole that stage 2 fills from the wall behind her. Measured at 24: rolled indoor-dynamic 1471 final all px −5.2 %,
    1470 the same, but fresh rolled 2656 +4.1 % and tuning s0 +10.2 %: it spreads the background depth the tracking
    gave near the side too (docs/geometric.md, "A near person entering through the image's side")."""
    movers_up_holes: float = 0.0
    """With ``movers``: after the rules and the tracking, each region they gave a depth gives it (its highest pixel's,
    per column) to the unflagged stage-1 holes straight above it in its columns, where that run of holes ends at a
    static triangulated pixel within this many times the region's height in the column, less its top part coloured like
    the scene above (``MoverSettings.up_holes``; 0 = off; 0.35 in the ``cpu`` preset since the session of 2026-12-06
    evening, with ``stage2.hole_mover_away_px=6`` and ``hole_mover_away_trust=0.5``, held out by the coordinator on
    seeds 1100–1109 (close-object, indoor-dynamic, driving, static-orbit, rolled indoor-dynamic; 24 clips): −1.44 /
    −0.01 / +0.47 %, 3 better / 21 same / 0 worse; before, with the first ``near_holes`` it cost close-object s917 /
    s918 +4.8 / +5.6 %, through the near object's one depth, which the changed holes moved +1.1 / +1.6 %; with the
    one-motion ``near_holes`` s917 / s918 +1.1 / −11.7 %, the pair +0.8 / −12.3 %, fresh close-object 936–939 and
    950–951 −0.61 … +0.18 %: docs/geometric.md "The head pair on close-object with ``near_holes``"): the head and
    shoulders of a walking person that the matcher left a hole and the flow checks did not flag, which the stage-2 fill
    takes from the wall behind her. At 0.35: indoor-dynamic s690 final all px 0.0447 → 0.0424 (moving px 0.105 → 0.083;
    with ``stage2.hole_mover_away_px=6`` 0.0412, under its stage 1's 0.0418); fresh seeds 720–725 (indoor-dynamic),
    720–721 (driving, close-object, static-orbit) and both real clips: −0.47 / 0.00 / +0.19 % (min / median / max), 0
    better / 14 same (±0.5 %) / 0 worse; with indoor-dynamic 726–729 (18 clips) −2.20 / 0.00 / +0.91 %, 1 / 16 / 1; with
    ``hole_mover_away_px=6`` too −4.18 / −0.06 / +0.10 %, 4 / 14 / 0 (docs/geometric.md, "A mover's unflagged head above
    its found region")."""
    movers_cut_track: int = 0
    """With ``movers``: a region cut by the image bottom takes the least bound (or seen contact) of the regions of its
    track within this many frames, carried over by the ratio of their vertical image scales, when that is nearer
    than its own bound (``MoverSettings.cut_track``; 0 = off here; 32 in the ``cpu`` preset: indoor-dynamic seeds
    4–6 final 4–15 % lower; docs/geometric.md, "A depth for a mover cut by the image bottom")."""
    movers_cut_carry: int = 0
    """With ``movers``: a region cut by the image bottom carries its depth along the flow (scaled by its vertical
    image scale) into the frames, at most this many away, where the mover was missed and stage 1 put it beyond that
    depth (``MoverSettings.cut_carry``; 0 = off: docs/geometric.md, "Carrying a cut mover's depth into the frames
    where it was missed")."""
    movers_cut_carry_partial: bool = False
    """With ``movers_cut_carry``: a carried region landing on a region found there in part carries on from its found
    pixels too, with their own depth (``MoverSettings.cut_carry_partial``; false = off: the found part of a region
    found in part stops the carry). close-object held-out 1447: the walking person found in part (46 %) in frame 31,
    then lost for 16 frames, took the carry on 5–11 % of her in frames 32–42 without it and 42–63 % with it; end to
    end with ``movers_cut_carry=16`` final all px 0.0790 → 0.0673 (moving px 0.292 → 0.255), but fresh 2253 +2.8 %
    against the carry alone (docs/geometric.md, "A mover cut by the image's side: the border band and the lost
    frames of close-object 1447")."""
    movers_carry_standing: int = 0
    """With ``movers``: every given mover region found in both neighbouring frames (not only a region cut by the image
    bottom, as ``movers_cut_carry``) carries its depth along the flow into the frames, at most this many away, where
    the mover was missed and stage 1 put it beyond that depth (``MoverSettings.carry_standing``; 0 = off; a sideways
    camera only). close-object held-out 1455: the walking person, her feet seen, is given her contact (0.8–0.9×) in
    frames 46–48 and lost by the segmentation in 49–63, where stage 1 puts her 1.75×. At 16: final 1455 −5.9 %
    (moving px 0.449 → 0.321), 1453 −0.8 % (0.345 → 0.292), 1447 −14.7 %, but tuning s0 +4.2 % (a wall strip beside
    the person takes her depth and moves the one disparity fit; docs/geometric.md, "The walking person lost after
    her found frames: close-object held-out 1451 / 1453 / 1455 traced")."""
    movers_carry_standing_ring: float = 0.0
    """With ``movers_carry_standing``: a carried pixel takes the carried depth only where stage 1 put it beyond the
    median stage-1 depth of the static ring (8 px at 320) around its landed region by more than this fraction
    (``MoverSettings.carry_standing_ring``; 0 = off). The carry's wall strip beside a found person lies at the
    wall's depth, the lost person's phantom 1.22–1.25× beyond it (close-object 1453 / 1455). At 0.1 with
    ``movers_carry_standing=16``: tuning s0 +4.2 → +1.3 %, 1453 / 1455 kept (−0.8 / −5.9 %), but 1447 −14.7 → −1.1 %
    (her phantom, wider than the carried region, is its own ring) and fresh 2422 still +3.2 % (docs/geometric.md,
    "The standing carry's wall strip: a ring guard")."""
    movers_carry_standing_flagged: bool = False
    """With ``movers_carry_standing``: a carried pixel takes the carried depth only where the segmentation flags it,
    or, with ``movers_carry_standing_ring``, where it passes the ring's test (``MoverSettings.carry_standing_flagged``;
    off). close-object 1453: the walking person stays flagged on 38–84 % of her in frames 40–51 but is given no depth
    (her feet behind a static object: no contact), while the carry's wall strip beside a found person (tuning s0)
    moves as its stage-1 depth predicts and is not flagged. With ``movers_carry_standing=16``: s0 +4.2 → +0.2 %, but
    1447 / 1455 / 1453 only −3.5 / −1.2 / −0.2 % (her unflagged phantom frames refused) and fresh 2521 +4.3 %
    (docs/geometric.md, "The walking person lost after the near object passes: the segmentation per test")."""
    movers_persist_frames: int = 1
    """With ``movers``: the segmentation keeps a flagged pixel when, on each side, one of the nearest this many frames
    flags a pixel within 8 px (``MoverSettings.persist_frames``; 1 = the neighbouring frames, as before).
    close-object 1455: after the near object has passed, the walking person's flow matches her phantom (0–2 % of her
    voted in frames 49–63) and the ground cue flags her phantom in every other frame (73–94 % of her in 52, 54, 55,
    57, 59, 60, 62), which the two-neighbour test drops. At 2: 1455 −11.2 % (moving px 0.334 → 0.271), 1447 −20.7 %,
    but tuning s0 +16.8 % and fresh 2521 +28.0 % (flickering static flags kept; docs/geometric.md,
    "The walking person lost after the near object passes: the segmentation per test")."""
    movers_persist_ground: bool = False
    """With ``movers_persist_frames`` > 1: the wider reach keeps a pixel only within 8 px of the ground cue's flags in
    its frame; elsewhere the neighbouring frames' test decides, as at 1 (``MoverSettings.persist_ground``; off).
    The reach of 2 alone keeps the near object's flow flags (17 k px on tuning s0 and fresh 2521) and static ones
    (14 k / 9 k px): s0 +16.8 %, 2521 +28.0 %. With this guard (and ``movers_persist_frames=2``): s0 / 2521
    0.0 %, held-out 1455 −7.0 % (moving px 0.334 → 0.262), 1447 0.0 % (its gain at 2 is from flow flags), fresh
    2650–2655 0 better / 6 same / 0 worse (docs/geometric.md, "The walking person lost after the near object passes:
    the segmentation per test")."""
    movers_cut_sway: float = 0.0
    """With ``movers_cut_track``: a track of regions cut by the image bottom whose camera's height changed over the
    track by at least this fraction of its depth takes the depth the camera's motion along the ground normal
    implies for a mover moving parallel to the ground, when that is nearer and its fit holds
    (``MoverSettings.cut_sway``; 0 = off here; 0.01 in the ``cpu`` preset with ``movers_cut_sway_levels`` and
    ``movers_cut_sway_gap=0.4``, 0.005 since the session of 2026-12-07: s44-cut's s1559 final −79 % and s753 take
    their right estimate, no other clip changed by the logs, held out by the coordinator on indoor-dynamic 1408–1411
    and rolled 1412–1415 identical; docs/geometric.md, "The camera's sway: a depth for a mover cut by the image
    bottom", "One gap per track for the sway" and "Defaults of the `cpu` preset")."""
    movers_cut_sway_levels: bool = False
    """With ``movers_cut_sway``: the camera's rotation and heights from stage 1's poses (its levels above one ground
    normal), fitted against a track's accumulated apparent motion, in place of each pair's PnP
    (``MoverSettings.cut_sway_levels``; off. With ``movers_cut_sway=0.01``, indoor-dynamic final: tuning seeds s107
    −69 %, s151 −55 %, s154 −30 %, s148 −29 %; fresh s196–s207 s206 −23 %, s197 −6 %, **s200 +67 %** (a right
    bound taken to 0.78× her depth), 9 identical; the other scenes and both real clips identical; on in the ``cpu``
    preset with ``movers_cut_sway_gap=0.4``, which removes that loss; docs/geometric.md, "The camera's sway, measured
    against the truth")."""
    movers_cut_sway_gap: float = 0.2
    """With ``movers_cut_sway``: a cut region takes the sway's depth only when that is nearer than its track's bound
    by more than this fraction (``MoverSettings.cut_sway_gap``; 0.2 = as before). The sway's estimate can be biased
    near by 22 % with a fit that cannot show it (indoor-dynamic s200: stage 1's levels 0.90×, her apparent motion
    1.15×, R² 0.99) while a bound is often about right. With ``movers_cut_sway=0.01`` and
    ``movers_cut_sway_levels``, indoor-dynamic final: 0.35 — s107 −69 %, s151 −55 %, s200 −5 % (was +67 %), s206
    −6 %, fresh s255 −53 %, s246 −30 %, 26 other clips identical (0.30: s200 +24 %); 0.4 — s107, s151 as with 0.35,
    s255 −10 %, the rest identical; 0.4 in the ``cpu`` preset (held out: indoor-dynamic s264–s275, s275 −23 %, 11
    identical; docs/geometric.md, "An error budget for the sway's gap")."""
    movers_cut_sway_fit: float = 0.9
    """With ``movers_cut_sway_levels``: the least R² of a track's levels fit (``MoverSettings.cut_sway_fit``; 0.9 =
    as before). Lower lets the sway give its depth to a near person cut by the image bottom whose fit holds less of
    the camera's levels (held-out indoor-dynamic s608: R² 0.81, s754: 0.85, both estimates within 8 % of the truth
    where the last-row floor is 1.9× / 3.0×). 0.75 measured: s608 final −68.5 % (rolled −80.6 %), fresh s754
    −75.1 % (moving px 0.661 → 0.241), the 33 other fresh, rolled and real clips identical (driving, close-object,
    static-orbit, TUM, 7-Scenes included); the wrong fits measured under 0.9 had R² 0.36–0.70 (docs/geometric.md,
    "A depth for a near person cut by the image bottom whose feet are never seen"). 0.75 in the ``cpu`` preset since
    the session of 2026-12-06 midday (held out: 23 fresh clips identical to every printed digit)."""
    movers_cut_sway_whole: bool = False
    """With ``movers_cut_sway``: the sway's gap (``movers_cut_sway_gap``) is decided once per track, at the median
    of its cut regions, and a track that passes gives its depth to every cut region it is nearer than by more than
    10 % (``MoverSettings.cut_sway_whole``; off: each region is tested alone, which can leave part of one person at
    the carried bound, 1.5× her depth, next to the sway's right depth: indoor-dynamic s1326; docs/geometric.md,
    "One gap per track for the sway")."""
    movers_cut_sway_blend: float = 0.0
    """With ``movers_cut_sway``: a cut region whose track's sway is taken but whose gap (``movers_cut_sway_gap``)
    refuses it, though the sway's depth is nearer than its bound, moves this share of the way (in log depth) from
    the bound toward the sway's depth (``MoverSettings.cut_sway_blend``; 0 = off: it keeps the bound). The bound is
    never nearer than the truth, the sway's estimate mostly 0.78–1.17× it. 0.5 measured (indoor-dynamic final): s1231
    −22.6 % (her carried bound 1.5× her depth, the sway 0.78 of it), s200 −16.9 %, fresh s1712 −52.7 %, s1717
    −20.5 %, s1723 −17.6 %, s1728 −17.9 %, **s1711 +20.8 %** (rolled +15.6 %), **s0 +10.0 %** (a phantom
    the cut person's too-far depth balanced in the one fit); held out on indoor-dynamic 1416–1419 and rolled
    1420–1423: 3 better / 5 same / 0 worse (1416 −33 %). 0 here; 0.5 in the ``cpu`` preset (docs/geometric.md,
    "Between the bound and the sway")."""
    movers_cut_sway_halves: float = 0.0
    """With ``movers_cut_sway_levels``: the least R² of the levels fit over each half of a track's measured frame
    pairs (``MoverSettings.cut_sway_halves``; 0 = off). A track whose whole fit is taken but one half of whose pairs
    the fit explains less than this gives no cut region the sway's depth outright: each one the sway is nearer than
    moves ``movers_cut_sway_blend`` of the way toward it (none with the blend at 0). Fresh indoor-dynamic s1820 and
    s1832: a whole fit of R² 0.95 / 0.86 with a half of 0.43 / 0.06, the cut person taken at 0.78× / 0.66× her
    depth; 0.6 measured: final −25.2 % / −51.9 %, but s754's right fit (0.95×) has a half of 0.29 and loses +285 %:
    not a cue that separates them; off (docs/geometric.md, "A sway fit that holds on half its track")."""
    movers_cut_sway_levels_gain: float = 1.0
    """With ``movers_cut_sway_levels``: a factor on stage 1's camera levels in the sway's levels fit
    (``MoverSettings.cut_sway_levels_gain``; 1 = off). The levels read 0.86–0.99× the true camera heights on the
    indoor-dynamic clips traced (median 0.90 over 13 since s28-sway): the pairs' two-view poses trade the camera's
    vertical steps for pitch (0.90–0.92 of their length on 1820 / 1832), and the ground normal of the depth maps
    tilts 0.1–0.5° with them while the sideways sweep is 11–25× the sway; the gain divides the median bias out
    (docs/geometric.md, "Stage 1's camera levels against the truth"). Must lie in [0.5, 2]."""
    movers_cut_sway_levels_plane: bool = False
    """With ``movers_cut_sway_levels``: the camera levels are taken along the normal of ONE plane through the ground
    pixels of every frame of the movers' block in stage 1's world, in place of the median of the frames' own ground
    normals (``MoverSettings.cut_sway_levels_plane``; off = the median). Each frame's plane is rolled 0.1–0.5° by the
    two-view pitch–height trade, which leaks the sideways sweep into the levels. Measured on the truth it only
    subtracts the part of the poses' vertical errors that follows the sweep (levels 0.87 → 0.99 on s1820, 0.97 → 0.93
    on rolled s1436); on fresh indoor-dynamic 2190–2202 and 2205: 1 better / 9 same / 4 worse (s2190 +73.7 %, s2205
    +20.1 %): off (docs/geometric.md, "One ground plane for the camera levels")."""
    movers_cut_height: float = 0.0
    """With ``movers_cut_last_row``: a region cut by the image bottom and top is no farther than the depth at which
    its top stands this many camera heights above the ground — a height prior, for a camera at about eye height
    (``MoverSettings.cut_height``; 0 = off; 1.3 measured: indoor-dynamic final −5.9 … −42.5 % on 3 of 10 tuning
    clips, −4.3 / −8.3 % on 2 of 16 fresh ones, every other clip measured identical, the real ones included;
    docs/geometric.md, "A height cap for a mover cut by the image bottom")."""
    movers_seen_contact: float = 0.0
    """With ``movers``: a region's ground contact is the ground where it is first seen under the region's lowest
    pixels when that is nearer than the ground right under them by more than this fraction
    (``MoverSettings.seen_contact``; 0 = off, ``0.1`` in the ``cpu`` preset: a car ahead whose cabin is found and
    whose body under it is a stage-1 hole; docs/geometric.md, driving)."""
    movers_oncoming_trim: bool = False
    """With ``movers_oncoming``: a region that fails the oncoming test is tested again on its pixels nearer than the
    ground at their own row, with the margin applied twice (``MoverSettings.oncoming_trim``: flagged road under an
    oncoming car; off here, on in the ``cpu`` preset; docs/geometric.md, driving)."""
    movers_contact_beside: float = 0.0
    """With ``movers``: a flagged region no other rule gives a depth, whose pixels nearer than the ground at their
    own row by more than this fraction reach (through stage-1 holes) lowest pixels with ground seen beside or under
    them, takes the ground's depth there (``MoverSettings.contact_beside``: a person walking ahead of the camera,
    triangulated too near; 0 = off here, 0.3 in the ``cpu`` preset together with ``movers_beside_low=0.1``: alone
    it costs static-orbit seeds 2/3 1 % and driving seed 1's moving pixels 6 %, with ``beside_low`` it takes none of
    those; docs/geometric.md, "The runner of lady-running")."""
    movers_beside_low: float = 0.0
    """With ``movers_contact_beside``: the body it joins must reach the lowest this fraction of the image rows and
    span at least ``MoverSettings.beside_height`` of them (``MoverSettings.beside_low``: a person walking close
    ahead of the camera, her feet low in the image; flagged static parts whose lowest pixels lie mid-image do not
    take a contact there; 0 = off here, 0.1 in the ``cpu`` preset; docs/geometric.md, "A runner rule that keeps to
    people close ahead")."""
    movers_beside_stands: bool = False
    """With ``movers_contact_beside`` and ``movers_beside_low``: a joined body above the lowest ``beside_low`` rows
    is taken too when its feet stand on the ground seen both beside and just under its lowest pixels
    and stage 1 triangulated at least half of the body (``MoverSettings.beside_stands``; off): a person walking against
    a sideways camera, triangulated 0.33–0.56× too near with her feet at rows 173–207 of 240 (close-object s845 /
    s846 / s953). Final all px: s953 −9.2 %, s845 −1.7 %, s846 0 %; fresh s1020–s1027 / indoor-dynamic s1020–s1025 /
    driving s1020–s1022: −8.7 / 0.0 / +0.4 % (2 better, 15 same, 0 worse at ±0.5 %), TUM / 7-Scenes unchanged; held
    out by the coordinator (close-object and indoor-dynamic 1100–1105, with the head pair): −0.85 / 0.0 / +0.20 %, 2
    better, 10 same, 0 worse; but with ``near_holes_local=4`` tuning close-object s0 0.0665 → 0.0742 (+11.6 %): off,
    also in the ``cpu`` preset (docs/geometric.md, "The walking person of close-object, 2–3× too near", "Defaults of
    the ``cpu`` preset")."""
    movers_near_contact: float = 0.0
    """With ``movers``: a flagged region put nearer than the ground at its own rows by more than this fraction, grown
    down through its own depth to its feet, upright and standing on the ground, takes the ground's depth at its feet
    (``MoverSettings.near_contact``; 0 = off here, 0.3 in the ``cpu`` preset; off when the camera moves along its view):
    a person walking against a sideways camera, 0.34–0.47× too near mid-image (close-object s0). Measured with 0.3,
    final all px: tuning close-object s0–s3 −3.07 / −0.34 / +0.47 % (min / median / max; 2 better, 2 same, 0 worse at
    ±0.5 %; s2 moving px 0.295 → 0.226); fresh close-object 1050–1059, indoor-dynamic 1050–1053, driving 1050–1051:
    −2.06 / 0.00 / 0.00 % (4 better, 12 same, 0 worse); TUM +0.08 %, 7-Scenes 0 % (docs/geometric.md, "What
    ``movers_beside_stands`` cost close-object s0 with ``near_holes_local=4``, and a mover put nearer than the ground
    at its feet"). Held out by the coordinator: close-object and indoor-dynamic 1114–1117, close-object 1118–1119
    2 better / 8 same / 0 worse (−1.57 … +0.20 %); with the ``near_holes_along_weight`` pair, close-object 1114–1119
    1 / 5 / 0 (s1118 −0.72 %), tuning s0 / s1 / s2 / s3 −1.1 / −0.5 / −4.9 / 0.0 %."""
    movers_near_carry: int = 0
    """With ``movers_near_contact``: a region given its contact by it is followed as its stage-1 phantom into the
    frames at most this many away where it was not given one (her feet hidden by clutter), and there takes the seed's
    correction (contact ÷ stage-1 depth) times its own stage-1 depth, at most the ground under its lowest pixels
    (``MoverSettings.near_carry``; 0 = off; off when the camera moves along its view). Measured at 32, final all px:
    close-object s0 0.0531 → 0.0330 (moving px 0.397 → 0.103), s1 −0.8 % (0.425 → 0.282), s2 −13.6 %, s3 +0.5 %;
    fresh close-object 1230–1235 / 1240–1243 −23.0 … 0.0 % (4 better, 6 same, 0 worse), indoor-dynamic s1230
    identical but s1231 +21.6 % (docs/geometric.md, "Carrying the near contact along the walking person's track").
    Held out by the coordinator (close-object 1400–1407, indoor-dynamic 1400–1403, rolled indoor-dynamic
    1404–1407): 4 better / 11 same / 1 worse (indoor-dynamic s1401 −71.9 %, close-object s1400 −7.0 %, rolled s1406
    −4.2 %, rolled s1407 +5.0 % with its moving px 0.259 → 0.141); TUM 0.08473 → 0.0847, 7-Scenes identical. s1231
    and s1407 traced: the carried person is right (0.46× / 0.37× → 0.90× / 1.00× of her depth) and the loss is the
    protocol's one fit, where her phantom had balanced a near person cut by the image bottom whom stage 1 puts
    1.1–1.55× too far (docs/geometric.md, "Where ``movers_near_carry`` loses"). 0 here, 32 in the ``cpu`` preset
    (session of 2026-12-06 late)."""
    movers_hole_carry: int = 0
    """With ``movers``: a region the mover rules gave a depth is followed as a shape over the holes of the frames at
    most this many away, where stage 1 left the mover a hole (no seed flagged, no contact seen), and gives them its
    depth (``MoverSettings.hole_carry``; 0 = off; off when the camera moves along its view). The walking person of
    close-object is a hole in a third to half of the frames of 1416 / 1422, which stage 2 fills 1.2–4.6× too far.
    Measured at 16, final all px: held-out close-object 1416 −11.7 % (moving px 0.293 → 0.190), 1422 −7.6 % (0.318 →
    0.265), 1419 −0.4 %; tuning s3 −1.0 %, s0–s2 and indoor-dynamic s0 identical; fresh close-object 1850–1859 /
    1860–1869 1 / 9 / 0 and 2 / 6 / 2 better / same / worse, but 1866 +18.9 % (the filled holes beside the walking
    person changed what ``near_holes`` gives the near object crossing there): off (docs/geometric.md, "... traced
    again: the walking person's holes")."""
    movers_hole_carry_after: bool = False
    """With ``movers_hole_carry``: the carry runs after ``near_holes`` instead of in the movers step, on the holes
    that step left, from the movers' given regions only (not ``near_holes``' own), so the holes it fills cannot
    change the regions, bounds and tracks ``near_holes`` reads (:func:`~stereodiff.stage1.hole_carry.hole_carry_after`;
    off; docs/geometric.md "The walking person's hole carry after `near_holes`"). At 16 on fresh close-object 1866
    the carry in the movers step lost +18.9 % through ``near_holes``' near object; after it, at 32 frames: 1866
    identical, held-out 1430 / 1422 / 1416 −25.7 / −20.9 / −12.6 % (moving px 0.346 / 0.313 / 0.279 → 0.176 / 0.172
    / 0.173), fresh close-object 1870–1889 within −0.2 … +1.2 % (2 worse at ±0.5 %)."""
    movers_hole_carry_colour: float = 0.0
    """With ``movers_hole_carry_after``: the carried pixels whose colour the static scene matches better than the
    person's motion are taken back, within this many of her per-frame shift lengths of her region's outline (the
    ``near_holes_mover_only`` test on her region; :func:`~stereodiff.stage1.hole_carry.hole_carry_after`; 0 = off).
    The carried shape comes from other frames and can be wider than she is in the frame it lands in: on close-object
    1437 24 % of the carried pixels are static background given her depth. Measured with ``movers_hole_carry=32``
    (final all px against the carry without the guard, at 0.5 / 1.5 / 4): 1437 −2.6 / −3.0 / −3.0 %, but 1430 +1.5
    / +3.1 / +2.9 % and 1422 +2.6 / +3.2 / +5.0 % (it takes back some of her own pixels too): off
    (docs/geometric.md "A colour guard for the walking person's hole carry")."""
    movers_near_carry_beside: bool = False
    """With ``movers_near_carry`` and ``movers_contact_beside``: a region ``contact_beside`` gives the ground at its
    feet while stage 1 put it nearer than that contact seeds the carry too, as a ``movers_near_contact`` region does
    (``MoverSettings.near_carry_beside``; off; off when the camera moves along its view). A person walking against a
    sideways camera whose feet are seen only in the image's lowest tenth (where ``contact_beside`` takes her before
    ``near_contact`` is tried) otherwise keeps her 0.4× phantom in the frames where clutter hides her feet
    (close-object s1610: the beside rule takes frames 58–63, no frame gives a ``near_contact`` seed; docs/geometric.md,
    "Seeding the near carry from the beside contact")."""
    movers_near_occluded: bool = False
    """With ``movers_near_contact``: a flagged region put nearer than the ground by that fraction whose feet a static
    surface hides (seen under its bottom edge, farther than the region by the same fraction: a contradiction unless
    the region is behind it) takes the geometric mean of that surface's depth and the ground's under its lowest
    pixels, and seeds ``movers_near_carry`` (``MoverSettings.near_occluded``; off; off when the camera moves along its
    view). Close-object s1614: the walking person 0.34–0.51× her depth in all 64 frames, her feet hidden by a clutter
    object (0.69× her depth) in every frame (docs/geometric.md, "Seeding the near carry from the beside contact").
    Held out on close-object 1480–1487: 2 better / 6 same / 0 worse (1484 / 1487 −9.0 %, moving px 0.165 → 0.069 /
    0.328 → 0.176), indoor-dynamic 1480–1483 and rolled 1484–1487: 1 / 7 / 0 (1483 0.1265 → 0.0287). False here; true
    in the ``cpu`` preset."""
    movers_far_occluded: bool = False
    """With ``movers``: a region put beyond the ground (at its own rows, or under its lowest pixels) while a
    static surface off the ground hides its feet (it stands at or below them, behind that surface: the ground there
    is an upper bound, the surface a lower one) is a mover and takes the geometric mean of the two bounds
    (``MoverSettings.far_occluded``; off; off when the camera moves along its view). Close-object 1980: the walking
    person walks along with the camera's sweep behind the clutter, triangulated 2–5× too far in frames 0–33, flagged
    on 0–8 % of her (docs/geometric.md, "The walking person behind the clutter: which cues hold")."""
    movers_far_spread: float = 0.0
    """With ``movers_far_occluded``: the region that rule gives its bounds' mean grows through the triangulated
    pixels whose pairs disagree (``SceneGeometry.pair_spread``, 5×5 median, at least this standard deviation of
    log depth) at about its depth, and they take that depth too (``MoverSettings.far_spread``; 0 = off; off when the
    camera moves along its view). The rule finds the lower body of close-object 1980's walking person; her upper body
    has the wall's depth, but its pairs disagree (log spread 0.06–0.22 against the wall's 0.006–0.08: her speed
    against the camera's changes between the pairs' frames) (docs/geometric.md, "The walking person along the sweep:
    her pairs disagree")."""
    movers_hole_occluded: bool = False
    """With ``movers``: a flagged region stage 1 left mostly untriangulated that no other rule gives a depth (not
    seen standing on the ground, not cut by the image bottom) whose lowest pixels rest on a static surface off the
    ground, nearer than the ground under them (that surface hides its feet: it stands at or below its lowest visible
    pixels, behind that surface), takes the geometric mean of the two bounds on its holes and on its pixels stage 1
    put beyond that ground (``MoverSettings.hole_occluded``; off; off when the camera moves along its view).
    Close-object 1465: the walking person, faster than the camera's sweep along it in frames 44–63, is a stage-1 hole
    behind a clutter object and stage 2 fills her from the wall (1.4–2.1× her depth) (docs/geometric.md, "The walking
    person a hole behind the clutter: close-object held-out 1465 traced")."""
    movers_hole_occluded_after_near: bool = False
    """With ``movers_hole_occluded`` and ``near_holes_before_reach``: the holes that rule gives a depth are recorded
    with ``movers_hole_reach``'s (``SceneGeometry.movers_reach``), so ``near_holes`` sees them as holes and takes
    those it follows as the near object; the rest keep the rule's depth (``MoverSettings.hole_occluded_after_near``;
    off). The rule alone took the near object's mostly-hole region where it crosses in front of the clutter
    (close-object 2611, 5.5–7.7× its depth) (docs/geometric.md, "The hidden walking person after `near_holes`")."""
    movers_near_occluded_margin: float = 0.0
    """With ``movers_near_occluded``: the fraction by which a region must lie nearer than the static surface hiding
    its feet (``MoverSettings.near_occluded_margin``; 0 = off: ``movers_near_contact``'s fraction, 0.3 in the ``cpu``
    preset). Close-object 1981's walking person is triangulated at 0.40–0.49× her depth behind a clutter object that
    stage 1 puts at 0.55–0.63× (her phantom 0.73–0.80 of it): at 0.3 the rule takes her in few frames
    (docs/geometric.md, "The walking person behind the clutter: which cues hold")."""
    movers_ground_max_beyond: float = 0.0
    """With ``movers``: the ground plane of a frame must leave at most this share of its static pixels beyond it
    (``MoverSettings.ground_max_beyond``; 0 = off here, 0.25 in the ``cpu`` preset): a plane through the faces of
    objects that fill the lowest third of the image puts the room behind them beyond it, and the movers step then
    took half a static frame for a mover (static-orbit seed 8, close-object seed 1; docs/geometric.md, "A ground
    plane with the room beyond it")."""
    movers_entry_carry: int = 0
    """Frames a flagged mover is carried backwards along the flow into the band along the image's border that the
    segmentation does not check (``MoverSettings.entry_carry``; a person entering at a side, issue #20; 0 = off).
    8 measured, final all px: held-out indoor-dynamic s900 −2.4 % (moving px 0.485 → 0.398), s692 −1.0 %; fresh
    indoor-dynamic s783 −4.1 %, s782 +0.55 %, s780 / s781 / driving / close-object / static-orbit s785 within
    ±0.3 %; it takes static pixels next to an entering person too (docs/geometric.md, "movers_entry_carry")."""
    movers_edge_carry: int = 0
    """With ``movers``: frames a mover's depth from the rules is carried along the one-frame flow to her stage-1 holes
    in the band along the image's border (sides, top, bottom) in the frames after and before those the rules
    handled her, where she leaves or enters and the segmentation checks nothing (``MoverSettings.edge_carry``;
    issue #20; 0 = off). The carried holes must move against the static scene's rigid flow. 8 measured, final all
    px against off on rolled indoor-dynamic: held-out 1422 −13.9 % (moving px 0.197 → 0.113), 1429 −1.4 % (0.263 →
    0.194); fresh 1910–1913 and 1920–1921 −4.8 … +0.25 % (docs/geometric.md, "A near person cut by the image bottom
    where she enters or leaves")."""
    movers_entry_chain: int = 0
    """With ``movers_entry_carry``: frames of chained one-frame flows whose residual decides which band pixels move
    (``MoverSettings.entry_chain``; 0 = off: the one-frame residual); the band is then the left and right sides
    only, a pixel seen static in the frame before is never taken, and the carried pixels grow into the band's
    moving stage-1 holes that move with them (docs/geometric.md, "Entering movers"). 6 with
    ``movers_entry_carry=8``, final all px against off: held-out indoor-dynamic s900 0.03685 → 0.03605 (moving px
    0.4853 → 0.3712; the carry alone 0.03597, 0.3977), fresh indoor-dynamic s883 −7.3 %, s881 −3.6 %,
    close-object s894 +1.7 %; not recommended for the preset."""
    movers_end_offset: int = 0
    """With ``movers``: at the video's first and last ``min(movers_offsets)`` frames (no partner at the least offset
    on one side), the flow checks at this shorter offset flag pixels too (``MoverSettings.end_offset``; a person
    entering in the clip's last frames passes as static against partners from before she entered; 0 = off).
    ``1`` measured, final all px: rolled indoor-dynamic s910 −13.5 % (moving px 0.578 → 0.472); 16 fresh clips
    (s810–s819: 7 rolled and 2 plain indoor-dynamic, driving, close-object, static-orbit, TUM, 7-Scenes) min / median /
    max −3.9 / 0.0 / +1.1 %, 4 / 11 / 1 better / same / worse at ±0.5 % (worse: rolled s812, static pixels taken at
    the ends); close-object, static-orbit and the real clips unchanged. Since ``near_holes`` entered the preset
    (main aa014bc) it breaks rolled s910: final 0.0195 → 0.096 (+393 %; ``near_holes`` gives what the end flags leave
    of a person's hole 0.16–0.41× her depth; s41-ends) — not for the preset (docs/geometric.md, "Movers at the
    clip's first and last frames")."""
    movers_end_photometric: float = 0.0
    """With ``movers_end_offset``: a pixel the end pairs flag stays flagged only where its grey-level error to the
    pair's other frame along the static scene's rigid flow exceeds this factor times its error along the flow
    (``MoverSettings.end_photometric``; 0 = off, else ≥ 1): the one-frame checks also take the static pixels next
    to a mover, whose flow DIS drags along with hers. ``1.5`` with ``movers_end_offset=1`` against the preset (main
    aa014bc), final all px: 17 fresh clips (s968–s982: 7 rolled and 3 plain indoor-dynamic, driving, close-object,
    static-orbit, TUM, 7-Scenes) min / median / max −10.9 / 0.0 / +0.03 %, 2 / 15 / 0 better / same / worse at
    ±0.5 % (rolled s975 +2.0 % without the guard → −0.6 %); rolled s812 +1.1 → +0.8 %; rolled s910 +393 → +321 %
    (``near_holes`` takes the person the end flags cut up): not for the preset (docs/geometric.md, "Movers at the
    clip's first and last frames: the photometric guard")."""
    movers_min_area: float = 0.002
    """With ``movers``: least area of a mover region, fraction of the frame (``MoverSettings.min_area``; ``0.001`` in
    the ``cpu`` preset: a car ahead at 13–15 m is 0.7 % of the frame and the part the ground tests flag 0.15–0.3 %,
    driving held-out seeds 4/7 moving px 0.471 → 0.407, 0.614 → 0.473; docs/geometric.md)."""
    movers_track_frames: int = 0
    """With ``movers``: pool each mover region's depth with the overlapping mover regions of this many frames on
    each side, and give it to the region in frames where it was missed (``MoverSettings.track_frames``). 0 = off
    (16 improves driving's and indoor-dynamic's moving pixels but costs static-orbit seed 3 3 %,
    docs/geometric.md)."""
    movers_track_missed: int = 0
    """With ``movers``: a frame where nothing of a mover was found takes the mover depth of a handled region at most
    this many frames away (``MoverSettings.track_missed``). 0 = off (driving's moving pixels improve, its final
    all-pixel AbsRel gets worse on seeds 2/3, docs/geometric.md)."""
    movers_track_ahead: int = 0
    """With ``movers``: the tracking's half-window (frames) for a camera moving along its view (the video-wide probe
    test of ``forward_near``, ``MatcherReport.ahead_share``; ``movers_track_frames`` when set applies to every video).
    There the movers moving along the camera's translation are found only through their ground contact, in some
    frames; on other videos the tracking is off. 0 = off here, 16 in the ``cpu`` preset (docs/geometric.md,
    "Tracking the movers of a forward-moving camera")."""
    movers_up_to_horizon: float = 0.0
    """With ``movers``, for a camera moving along its view (as ``movers_track_ahead``): a mover region given a
    contact that stage 1 put beyond more than this factor times that contact also gives it to the holes and pixels
    at its wrong depth above it in its columns, up to the ground plane's horizon (``MoverSettings.up_to_horizon``:
    the upper rows of a car ahead, which the ground tests cannot flag). 0 = off here, 3 in the ``cpu`` preset
    (driving's moving pixels −2…−13 % on 7 of 8 seeds, final all pixels within ±0.05 %; 2 gains more on the moving
    pixels but takes static pixels: docs/geometric.md, "The car ahead above its flagged rows")."""
    movers_path_contact: float = 0.0
    """With ``movers``, for a camera moving along its view (as ``movers_track_ahead``): the object standing in the
    camera's path (columns within this many camera heights of the heading) that hides the road from its lowest
    pixels up to the horizon gives the ground's depth where the road is last seen under it to its pixels stage 1 put
    beyond that (``MoverSettings.path_contact``: the car ahead, whatever ratio stage 1 triangulated it at). 0 = off
    (docs/geometric.md, "The car in the camera's path"); 0.5 in the ``cpu`` preset, with ``movers_path_confidence``
    0.3."""
    movers_path_confidence: float = 1.0
    """With ``movers_path_contact``: the confidence of the pixels it re-depths, as a fraction of the other mover
    pixels' (``MoverSettings.path_confidence``; 1 = the same). Below 1, stage 2 pulls the static scenery around the
    car less toward the car's contact depth (docs/geometric.md, "Containing the car's corrected depth in stage
    2")."""
    movers_path_near: float = 0.0
    """With ``movers_path_contact``: an object beside the camera's path that stands on the road (seen up to its lowest
    pixels, hidden from there up to the horizon) and that stage 1 put (median) nearer than the road where it is last
    seen by more than this fraction gives that depth to its pixels nearer than that (``MoverSettings.path_near``; 0 =
    off, 0.3 in the ``cpu`` preset): the oncoming car, whose flow runs along the camera's epipolar lines
    (docs/geometric.md, "Held-out seeds 88-91 of main 153e655")."""
    movers_path_near_foot: bool = False
    """With ``movers_path_near``: an object beside the path is also found from above — the lowest upright run of
    depth under the horizon in each column, whose foot stands on the road seen just under it — and its contact is the
    ground at its own lowest row (``MoverSettings.path_near_foot``; off): the far oncoming car, whose flow blends into
    the road under it so that the road is seen only 10–15 rows lower (docs/geometric.md, "The far oncoming car: its
    foot found from above"). On in the ``cpu`` preset since the session of 2026-12-04 evening."""
    movers_side_near: float = 0.0
    """With ``movers``, for a camera that does not move along its view (``movers_path_near`` and
    ``movers_path_near_foot`` act only on one that does): every column is beside the path, and an object standing on
    the ground (seen up to its lowest pixels and hidden above them, or found from above with
    ``movers_path_near_foot``) that stage 1 put (median) nearer than the ground where it stands by more than this
    fraction takes that ground's depth (``MoverSettings.path_side``; 0 = off, also in the ``cpu`` preset): a person
    walking against a sideways camera moves along its epipolar lines, so the flow checks do not flag it and stage 1
    triangulates it too near. Its pixels get the mover confidence (``movers_path_confidence`` is the car ahead's)
    (docs/geometric.md, "People triangulated too near beside a sideways camera")."""
    movers_side_beside: bool = False
    """With ``movers_side_near``: an object it takes must show the ground left and right of its columns in the rows
    of its lowest pixels (``MoverSettings.side_beside``; off): a person stands on a floor seen beside her feet
    (docs/geometric.md, "People triangulated too near beside a sideways camera")."""
    movers_side_out: float = 0.0
    """With ``movers_side_near``: an object it takes must have the scene beside it stand behind it: stage 1's depth
    in a strip beside its columns, over its rows (the farther side's median), at least this multiple of the ground
    where it stands (``MoverSettings.side_out``; 0 = off): a person has the room behind her, a patch of a static
    surface has the same surface beside it, nearer (docs/geometric.md, "A guard for `movers_side_near`")."""
    movers_side_bottom: bool = False
    """With ``movers_side_near``: its two finders scan down to the image's last row, not ``border_px`` (8 at 320)
    above it (``MoverSettings.side_bottom``; off): a person whose feet stand in that band, the floor seen under them
    there, gets the floor's depth too. Measured with ``movers_side_out=1``, alone: indoor-dynamic s165 final 0.1430 →
    0.0971, s3 0.0976 → 0.0945, s170 0.3380 → 0.3371; with ``movers_side_grow`` see there (docs/geometric.md, "Feet
    in the bottom border band")."""
    movers_side_grow: bool = False
    """With ``movers_side_near``: an object it takes gives the floor's depth also to the pixels connected to it at
    its own depth (``MoverSettings.side_grow``; off): the same person over the columns where the floor under her
    feet is not seen on the plane. With ``movers_side_out=1`` and ``movers_side_bottom``, against ``movers_side_near``
    + ``movers_side_out`` alone: fresh indoor-dynamic s208–s219 final −37.1 / −5.9 / 0.0 % (min / median / max, 9
    better, none worse), s3 0.0976 → 0.0673, s165 0.1430 → 0.0869; TUM +0.4 %, close-object +0.9 / +1.7 %
    (docs/geometric.md, "Feet in the bottom border band")."""
    movers_side_cut: bool = False
    """With ``movers_side_near``: an object it takes that, with the pixels connected to it at its own depth, reaches
    the image's last row takes at most the floor's depth at that row under it (``MoverSettings.side_cut``; off): a
    person cut by the image bottom stands nearer than that floor, and the floor seen beside her cut-off leg lies
    behind her. With the four other ``movers_side_*`` options: indoor-dynamic s239 (0.35× → 1.5–2.7× raw without,
    1.2–1.6× with) final +4.4 → +2.9 % against the preset, s3 −32.9 → −32.5 %, the other clips measured unchanged
    (docs/geometric.md, "People cut by the image bottom: `movers_side_cut`")."""
    movers_path_trim: float = 0.0
    """With ``movers_path_contact``: pixels (at a 320-pixel long side) dropped from each side of an object's columns
    before it gives its depth (``MoverSettings.path_trim``; 0 = off): the flow's patches blend the car's flow into
    the scenery just beside it, so the object's columns reach past the car (docs/geometric.md, "The car ahead's
    contact and the scenery beside it")."""
    sky: bool = False
    """Last step of the geometric matcher: find the sky (regions at infinity: touching the top border or of its sky's
    colour, smooth, bright, blue on average, a stage-1 hole or triangulated far and not near;
    :mod:`stereodiff.stage1.sky`), record it (``SceneGeometry.sky``) and, after stage 2, give it ``sky_far`` × the
    video's far bound (the other pixels bit-identical unless ``sky_holes``). Off (issue #20, docs/geometric.md "Sky:
    regions at infinity (`stage1.sky`)"): driving's sky (GT depth 0) found at precision 0.964–1.000, recall
    0.54–0.87 (s490–s499), the share of its pixels at or beyond the frame's non-sky 99th percentile 0.02–0.56 →
    0.56–0.89; non-sky final AbsRel identical; static-orbit, indoor-dynamic, close-object, TUM, 7-Scenes and
    lady-running flag nothing (identical output); davis_rollercoaster 62 % of the pixels. CPU 0.6–0.8 s per 64
    frames at 320×240 with sky, 0.3 s without."""
    sky_max_gradient: float = 0.015
    """With ``sky``: candidate pixels' mean grey gradient (grey in [0, 1], per pixel at the working resolution, 5×5
    mean) is below this (``SkySettings.max_gradient``)."""
    sky_min_value: float = 0.6
    """With ``sky``: candidate pixels' ``max(R, G, B)`` (in [0, 1]) is at least this."""
    sky_min_blue: float = 0.08
    """With ``sky``: a region's mean ``B − R`` (in [0, 1]) is at least this (an indoor white ceiling is not blue)."""
    sky_min_hole: float = 0.6
    """With ``sky``: a region's interior is a stage-1 hole on at least this share of its pixels."""
    sky_max_near: float = 0.5
    """With ``sky``: at most this share of a region's covered pixels (6 px or more inside it) lies nearer than the
    median depth of the frame's other covered pixels."""
    sky_through: bool = True
    """With ``sky``: also the regions not touching the top border, of the colour of a frame's top sky, that pass the
    same tests (the sky seen through a lattice or branches)."""
    sky_video_colour: float = 0.1
    """With ``sky``: in a video with sky, a second pass takes without stage 1's test the regions within this RGB
    distance of the first pass's mean sky colour (``SkySettings.video_colour``; 0 = off): stage 1 triangulates noise
    in a featureless sky, often near. davis_rollercoaster 41 → 62 % of the pixels (the structure untouched by eye),
    driving s493 recall 0.743 → 0.823, the other driving seeds, TUM and 7-Scenes unchanged."""
    sky_min_frames: float = 0.2
    """With ``sky``: the video has sky only when at least this share of its frames has a region."""
    sky_grow: int = 0
    """With ``sky``: in a video with sky, each frame's sky also grows up to this many pixels into the adjacent pixels
    of its colour (``SkySettings.grow``: within ``sky_grow_colour`` of the frame's sky colour, bright, not warm),
    stopping at colour edges (``sky_grow_step``); 0 = off (issue #20, docs/geometric.md "Growing and carrying the
    sky"). With ``sky_carry``, driving s540–s549 recall 0.68–0.90 → 0.97–1.00 at precision 0.9994–1.0000 (as
    before), every frame with GT sky found (23–30 → 34–37 of 64), the mask's changes between frames that the GT's do
    not have 0.07–0.15 → 0.003–0.02 % of the pixels; davis_rollercoaster 62 → 73 % of the pixels, the pockets that
    come and go between frames 3.2 → 0.1 % of the pixels; nothing changes in a video without sky."""
    sky_grow_colour: float = 0.25
    """With ``sky_grow``: RGB distance (in [0, 1]) to the frame's mean sky colour (the video's in a frame without)."""
    sky_grow_step: float = 0.06
    """With ``sky_grow``: RGB distance between 4-neighbours above which the growth stops (a colour edge)."""
    sky_grow_blue: float = 0.04
    """With ``sky_grow``: a grown or carried pixel's own ``B − R`` (in [0, 1]) is at least this (a neutral grey
    facade beside the sky: driving s546 precision 0.949 without it, 0.9994 with it, as without ``sky_grow``)."""
    sky_carry: bool = False
    """With ``sky_grow``: each frame's sky is also seeded by its neighbours' carried through the camera's rotation
    (``K R K⁻¹`` of stage 1's poses, exact at infinity), kept where it has the sky's colour, then grown."""
    sky_near_recheck: float = 0.0
    """With ``sky``: when > 0, the last step of the sky: every connected region of a frame's final sky (after the
    second pass and the growth, which take regions without stage 1's test) is dropped when more than this share of
    its covered pixels (6 px or more inside it; its interior, or all of it, when it is thinner) lies nearer than the
    median depth of the frame's covered pixels outside it (``SkySettings.near_recheck``; 0 = off). The growth and
    carry took a sky-coloured parked car at 2–3 m and the paint put it at the far value (driving s1091: 7,365 sky px
    on GT-valid pixels, 6,679 on the car, 0.034 of the final AbsRel 0.1052). Measured (issue #20, docs/geometric.md
    "A sky-coloured car painted as sky (`sky_near_recheck`)"): at 0.9, s1091 final all px 0.1052 → 0.0709 (stage 1
    0.0679; moving px 0.185 → 0.197), the sky's precision 0.854 → 0.984 at unchanged recall; the other 13 driving
    clips (s0–s3, s1090, s1092–s1099) identical (no region dropped: the same mask); no sky on indoor-dynamic,
    close-object, static-orbit s1090 / s1091, TUM and 7-Scenes (identical). At 0.5 a real sky region of s1096 goes.
    Held out by the coordinator (driving 1114–1117): identical; but on ``davis_rollercoaster`` it drops real sky
    between the beams that stage 1 triangulated near (the frame grid's depth column changed on a quarter of its
    pixels): 0 here; 0.9 in the ``cpu`` preset with ``sky_near_recheck_gap=16``, which keeps that sky (session of
    2026-12-06 late; held out on driving 1400–1403: identical)."""
    sky_near_recheck_gap: int = 0
    """With ``sky_near_recheck``: a region it would drop is kept when a kept region of the frame's sky lies across a
    gap of at most this many pixels (at stage 1's working resolution), directly or through a chain of such regions
    (``SkySettings.near_gap``; 0 = off): the sky seen between a lattice's beams, whose stage-1 depth is the beams'
    own. Measured (issue #20, docs/geometric.md "Real sky between structures (`sky_near_recheck_gap`)"): on
    ``davis_rollercoaster`` the recheck alone drops 12.5 % of the sky (370,025 px, 2,817 regions, the final changed
    on 73 % of its pixels); with a gap of 4 / 8 / 12 / 16 px 17,183 / 4,582 / 0 / 0 px (at 12 and 16 the final is
    the preset's without the recheck); s1091's car lies 115 px or more from kept sky: dropped as without the gap
    (final 0.1050 → 0.0708 either way). 0 here, 16 in the ``cpu`` preset."""
    sky_holes: bool = False
    """With ``sky``: the sky's pixels also become stage-1 holes before stage 2 (its stage-1 noise then reaches neither
    stage 2's fill nor its filter). Off: stage 2 gets stage 1's depth unchanged, only the paint after stage 2 acts,
    and every other pixel's final is bit-identical. Measured on driving s490–s499 with it on: final AbsRel −0.3 …
    +0.7 % (9 of 10 within ±0.5 %), moving pixels −0.7 … +0.2 %, moved alike far from the sky and near it (s494: the
    band within 15 px of the sky 0.1086 → 0.1083): no gain found for the change."""
    sky_far: float = 2.0
    """With ``sky``: sky's depth after stage 2, as a multiple (> 1) of the largest per-frame 99th percentile of the
    depth outside the sky (one value for the video)."""
    band_select: bool = False
    """After the fusion (and the movers): the holes along object outlines and the covered pixels within
    ``band_select_rim_px`` of them choose their depth among the nearest confident pixels in 8 directions (both sides
    of the outline) by multi-view photometric consistency with the frames ``± band_select_offsets``
    (:mod:`stereodiff.stage1.band_select`; issue #20, docs/geometric.md "Photometric depth choice in the outline
    bands"). Off here and in the ``cpu`` preset: static-orbit's final −0.6…−6.5 % on 7 of 8 seeds (+0.3 % on one),
    at about +37 % of stage 1's CPU."""
    band_select_rim_px: int = 3
    """With ``band_select``: covered pixels within this many pixels of a hole are re-decided too."""
    band_select_offsets: tuple[int, ...] = (5, 10, 15)
    """With ``band_select``: the frames ``k ± offset`` a candidate is checked in."""
    band_select_best_k: int = 3
    """With ``band_select``: a candidate's cost is the mean of its best this many frames (occlusion elsewhere)."""
    band_select_patch: int = 1
    """With ``band_select``: patch radius (pixels) of the photometric comparison (0 = the pixel alone)."""
    band_select_holes: bool = False
    """With ``band_select``: holes take the chosen depth too (else, as measured best, only the covered rim is
    re-decided and stage 2 fills the holes)."""
    band_select_extrapolate_px: int = 4
    """With ``band_select``: each directional candidate is the anchor's inverse depth extrapolated linearly back to
    the pixel from the anchor this many pixels further out (exact on a plane; 0 = the anchor's depth)."""
    band_select_margin: float = 0.002
    """With ``band_select``: the cost (mean absolute RGB difference in [0, 1]) by which the best candidate must beat
    every candidate of a distinct depth; else the pixel is left as it was."""
    near_holes: float = 0.0
    """After the movers and the outline steps, before the sky: a large stage-1 hole region whose silhouette moves from
    frame to frame at least this many times as fast as the translation parallax of its occlusion bound (what
    surrounds it) gets the depth that parallax implies for its outline, one per track of regions
    (:func:`~stereodiff.stage1.near_holes.near_hole_depth`; 0 = off, else > 1). For an object crossing close to
    the camera that stage 1 leaves as a hole (close-object's box or ball): stage 2 fills it from the background,
    1.5–3.6× too far, and that bends the protocol's one fit. Measured with 3: fresh close-object s844–s859 all px
    −35 … −83 % on the 8 seeds it takes (moving px 0.55–0.91 → 0.15–0.43; s847 0.251 → 0.042), 2 missed (identical);
    held-out s900–s902 0.222 / 0.326 / 0.233 → 0.096 / 0.143 / 0.074; 14 fresh indoor-dynamic / driving /
    static-orbit clips, TUM and 7-Scenes: nothing given (bit-identical). 1.6–2.1 s CPU per 64 frames at 320×240.
    Off here; 3 in the ``cpu`` preset since the session of 2026-12-06 afternoon (held out: close-object s914–s919
    −45 … −67 % on 5, 1 identical; issue #20, docs/geometric.md "The near object of close-object", "Defaults of the
    ``cpu`` preset")."""
    near_holes_end_sweep: bool = False
    """With ``near_holes``: a taken track followed on past its ends also takes a region that touches the same side of
    the image as the track's last region, and is smaller, when at least half of it lies in the area that region sweeps
    over from a quarter of the track's median shift to all of it (the object leaving or entering through that side:
    its cut hole's visible part moves less than the object, so the shifted prediction overshoots it; off). Measured
    (final all px; close-object s845, s846, s952–s965): 7 of 16 change, moving px 0.541 → 0.479 (s846), 0.264 →
    0.190 (s961), 0.259 → 0.241 (s957), 0.266 → 0.242 (s960), 0.172 → 0.160 (s958), 0.106 → 0.100 (s959), 0.384 →
    0.384 (s955); all px −5.9 … +0.9 % (4 better, 11 same, 1 worse at ±0.5 %: s957, static hole pixels taken with the
    object's last frames); other presets, TUM and 7-Scenes: nothing given (identical). Off (issue #20,
    docs/geometric.md "Objects cut by the image side in `near_holes`")."""

    near_holes_local: int = 0
    """With ``near_holes``: 0 = a taken track gives one depth, the median of its regions' estimates; else each of its
    frames takes the median of the estimates within this many frames (the nearest ones past the track's ends:
    :func:`~stereodiff.stage1.near_holes.near_hole_depth`). One value per track made close-object's results swing
    with how a crossing splits into tracks: on tuning s2 the head pair's ``movers_up_holes`` changed one region of
    frame 37 and two tracks (4.67 / 5.99, stage-1 units) became one (5.51): final all px 0.1243 → 0.1663. With 4:
    s2 0.1663 → 0.1238 (without ``movers_up_holes`` 0.1248: the split no longer matters), s0 / s1 / s3 0.0697 /
    0.1028 / 0.1090 → 0.0665 / 0.1005 / 0.1092; held out close-object 1100–1105 and 1110–1113: −28.0 / −6.5 / +0.7 %,
    8 better / 1 same / 1 worse (docs/geometric.md "The near object of close-object", ``near_holes_local``). 0 here,
    4 in the ``cpu`` preset since the session of 2026-12-06 evening."""
    near_holes_bridge: int = 0
    """With ``near_holes``: 0 = off; else fast tracks (median parallax at least the least shift) that would not be
    taken on their own (the ``ratio`` and coherence gates) are one track when their motions agree, they are at most
    this many frames apart, and the first's last regions, moved by its median shift times the gap, land on the
    second's first regions (IoU at least the tracking one); the gap's frames take the regions the moved region covers,
    as the frames past a track's ends do (:func:`~stereodiff.stage1.near_holes.near_hole_depth`). For a crossing
    object whose hole merges, mid-crossing, with a walking person's and the background's holes (that region's best
    silhouette shift is 0): close-object held-out s1060 had tracks of 2 / 2 / 1 regions (3 needed), nothing given.
    Measured with 8 (stage 1 covered / final all px / moving px): s1060 0.0591 / 0.2932 / 0.7154 → 0.0780 / 0.0856 /
    0.4529 (−70.8 %); close-object s0–s3 and s1000–s1003, indoor-dynamic and driving s0 / s1, TUM and 7-Scenes
    identical. Joining taken tracks too (the first version) cost s1000 +7.8 % (its exit frames' far estimates).
    docs/geometric.md "close-object held-out seed 1060 traced". Held out by the coordinator with the night's
    preset (the ``near_holes_along_weight`` pair on): close-object 1114–1119 and tuning s0–s3 identical. 0 here, 8 in
    the ``cpu`` preset (session of 2026-12-06 night)."""
    near_holes_mover_only: float = 0.0
    """With ``near_holes``: a taken region gives its depth only to the pixels whose colour patch moves with it, not to
    the static strips beside the object that the hole takes in (what it uncovers or is about to cover: 15–23 % of
    the given pixels on close-object, given ~1 m against a true ~6 m); pixels within this many shift lengths of the
    region's outline can be left out (:func:`~stereodiff.stage1.near_holes.mover_part`; 0 = off, the whole region).
    Measured with 1.5 (close-object 64 frames): the given pixels' background share 0.12–0.24 → 0.03–0.11 (8 clips),
    keeping 88–98 % of the mover's given pixels; but final all px better / same / worse 3 / 0 / 9 (s0–s3, s1000–s1007:
    −25.0 … +23.6 %, median +12.1 %; the 8 fresh seeds all worse) and the demo 0.0670 → 0.0721: the strips' too-near
    depth was cancelling the box's own too-far depth in the one fit. Not for the preset alone (issue #20,
    docs/geometric.md "The near object of close-object", ``near_holes_mover_only``); with
    ``near_holes_along_weight=0.55`` close-object s0–s3, s1040–s1049 12 better / 2 worse (docs/geometric.md "An
    unbiased depth for the near object"). 0 here, 1.5 in the ``cpu`` preset with ``near_holes_along_weight=0.55``
    (session of 2026-12-06 night)."""

    near_holes_along_weight: float = 0.0
    """With ``near_holes``: a taken track whose outline moves against the static scene's parallax (the object moves
    the camera's way, faster: its speed relative to the camera is the smaller difference, so its lower bound lies
    nearer its depth) gives its regions ``lower ** w · bound ** (1 − w)`` for this ``w`` instead of the geometric mean
    of the two bounds (:func:`~stereodiff.stage1.near_holes.near_hole_depth`; 0 = off). With 0.55 (chosen on
    close-object s0–s3, s1040, s1042–s1045): the object's given ÷ true depth 0.80–1.37 → 0.80–1.21 over 14 clips
    (check half s1041, s1046–s1049: 0.91–1.17 → 0.91–1.01). Alone, final all px mixed (2 better / 7 same / 5 worse,
    −34.9 … +27.1 %: the strips beside the box take its depth); with ``near_holes_mover_only=1.5`` 12 / 0 / 2 against
    the preset (−39.1 / −23.5 / +21.8 %; check half 5 / 0 / 0), the demo's clip 0.0648 → 0.0537; held out by the
    coordinator with ``near_holes_mover_only=1.5`` on close-object 1114–1119: 5 better / 0 same / 1 worse (−30.9 /
    −20.0 / +4.2 %), rolled indoor-dynamic 1118–1121 0 / 4 / 0 (issue #20,
    docs/geometric.md "An unbiased depth for the near object"). 0 here, 0.55 in the ``cpu`` preset with
    ``near_holes_mover_only=1.5`` (session of 2026-12-06 night). On fresh close-object s1210–s1224 the along tracks
    are given 1.15× their depth at the median with 0.55, 0.99× with 0.6; but 0.6 against the preset, final all px:
    s1210–s1219 and s2 4 better / 4 same / 3 worse, s1220–s1224 3 / 1 / 1, s0 +49 % (−53 … +49 %): one weight cannot
    set the depth per clip (docs/geometric.md "close-object: the final above stage 1 with the night's preset,
    traced")."""
    near_holes_track_bound: float = 0.0
    """With ``near_holes``: 0 = each region of a taken track is bounded above by its own ring (the 20th percentile of
    the covered depth around it, :func:`~stereodiff.stage1.near_holes.near_hole_depth`); else every region of the
    track takes this percentile (in (0, 100]) of its regions' bounds — over the frames whose estimates
    ``near_holes_local`` pools, or the whole track — as its occlusion bound: the object is nearer than what it hides in
    any frame of its track, and its depth changes slowly along it (``track_bound``). It can only move the estimate
    nearer (by 0–9 % of the given depth on close-object): with 10, against the preset, final all px on fresh
    close-object s1520–s1529 9 better / 0 same / 1 worse (−20.4 / −4.0 / +5.4 %), s1530–s1539 6 / 0 / 4 (−10.4 /
    −2.9 / +31.1 %), tuning s0–s3 2 / 0 / 2 (s2 −18.9 %, s0 +7.4 %): it wins where the object was given too far
    and loses where it was not, which the clip does not tell (issue #20, docs/geometric.md "The near object's
    occlusion bound over its track"). 0 = off."""
    near_holes_far_islands: float = 0.0
    """With ``near_holes``: 0 = off; else a region it gives a depth also gives it to the covered pixels within the
    region closed by 16 px (at 320) that stage 1 put at least this many times beyond that depth (> 1;
    :func:`~stereodiff.stage1.near_holes.far_islands`): the patches of the near object's interior stage 1 matched with
    the background it passes. On held-out close-object s1410 they are 2–10 % of the object's pixels at 4–10× its
    depth and carry 0.165 of its 0.365 moving-pixel AbsRel (issue #20, docs/geometric.md "close-object held-out
    1410 / 1412 traced: the near object's far islands"). With 2, final all px on fresh close-object 1650–1664 8 better /
    2 worse (−14.1 … +7.7 %), held-out 1410 / 1412 −13.6 / −9.7 %, but tuning s0 +63.8 %, s1 +32.3 % (the closing
    bridges concave parts: ``near_holes_far_islands_rim``). 0 here; 2 in the ``cpu`` preset (with the rim's guard)."""
    near_holes_far_islands_enclosed: bool = False
    """With ``near_holes_far_islands``: true = take only the islands the given region wholly encloses (the parts of
    its complement that do not reach the image's border), not the covered pixels its 16-px closing bridges in a
    concave part of the region (:func:`~stereodiff.stage1.near_holes.far_islands`). On tuning close-object s0, 89 %
    of the pixels ``far_islands=2`` took were the background (4–8× the object's true depth), almost all of them not
    enclosed; the enclosed ones were the object's own. With ``far_islands=2``: s0 −0.6 %, but s1 +4.5 % (its given
    mask itself holds background) and held-out 1410 / 1412 only −2.4 / −1.2 %; ``near_holes_far_islands_rim`` does
    better (issue #20, docs/geometric.md "close-object held-out 1410 / 1412 traced: the near object's far islands").
    False here and in the ``cpu`` preset."""
    near_holes_far_islands_rim: float = 0.0
    """With ``near_holes_far_islands``: 0 = off; else take only the islands (8-connected) whose border lies at least
    this share (in (0, 1]) in the given region and whose area is at most 5 % of the region's
    (:func:`~stereodiff.stage1.near_holes.far_islands`): the object's interior patches are bordered by it and small,
    the background its closing bridges in a concave part is not. With 0.7 and ``far_islands=2``, final all px on
    close-object: tuning s0 / s1 −0.8 / +0.2 % (unguarded +63.8 / +32.3 %), held-out 1410 / 1412 −3.6 / −4.8 %
    (unguarded −13.6 / −9.7 %), fresh 1650–1654, 1660–1664, 1750–1754 13 better / 1 same / 1 worse (−8.2 … +1.0 %)
    (issue #20, docs/geometric.md "close-object held-out 1410 / 1412 traced: the near object's far islands"); held out
    on close-object 1416–1423: 6 better / 2 same / 0 worse (−2.3 … +0.1 %). 0 here; 0.7 in the ``cpu`` preset."""
    near_holes_bound_span: int = 0
    """With ``near_holes``: 0 = a region's bound parallax (the lower bound's scale) comes from the relative pose of
    its frame and the next one; else from the camera's mean per-frame translation over the frames within this many
    of it (:func:`~stereodiff.stage1.near_holes.span_translation`). Stage 1's one-frame translations jitter (close-
    object held-out 1426: 0.42–1.47× the truth, over ±4 frames 0.94–1.00×), and the lower bound — so the near
    object's depth — scales with that parallax: the median of the jittered ratios put 1426's lower bound 1.17× its
    true-input value, the object 1.17× too far (issue #20, docs/geometric.md "The near object given too far:
    the bound parallax's jitter"). With 4, final all px on close-object: held-out 1425 / 1426 / 1428 / 1432 / 1437
    −5.9 / −25.8 / −6.4 / −4.0 / −8.5 %, tuning s0–s3 −15.1 / −3.6 / +19.0 / −4.4 %, fresh 2040–2042 and
    2050–2052 4 better / 2 worse (−48.8 … +19.6 %): the estimator on top of the bounds is not unbiased, so the
    better measurement wins or loses by clip. With it ``near_holes_along_weight`` refitted (0.6, chosen on the
    regions' bounds of fresh close-object 2290–2299; docs/geometric.md "The near object's weight refitted on the
    span's bounds"): the along tracks' given ÷ true depth on check 2300–2309 1.16–1.36 → 1.06–1.15. 0 = off."""
    near_holes_bound_span_along: bool = False
    """With ``near_holes_bound_span``: true = only a taken track moving the camera's way (``near_holes_along_weight``'s
    direction test) takes the span's lower bounds; a track moving the static scene's way keeps the one-frame pose's
    for its geometric mean (:func:`~stereodiff.stage1.near_holes.near_hole_depth`). With the span on every track
    (and ``near_holes_along_weight=0.6``) close-object check 2300–2309 won on every clip whose track moves the
    camera's way (−19 … −55 %) and lost on 4 of 6 whose track moves the static scene's way (+6 … +17 %; −4.5 / −10.3 %
    on the two others; named 2051 / 2052 +19.7 / −48.9 %). With it, span 4 and weight 0.6 against main, final all px:
    fresh close-object 2290–2309 9 better / 8 same / 2 worse (−55 … +20 %; issue #20, docs/geometric.md "The near
    object's weight refitted on the span's bounds"). Held out by the coordinator (with the span 4 and the weight 0.6)
    on close-object 1448–1455: 4 better / 4 same / 0 worse (−53.7 / −39.9 / −24.8 / −1.2 %), on 1440–1447: 3 / 4 / 1
    (−26.8 / −9.3 / −5.2 %; **1446 +76.3 %**, its stage 1 covered 0.0311 → 0.0559), and ``make demo``'s clip
    (close-object, 90 frames) all px 0.0385 → 0.0620 (+61 %; stage 1 0.0322 → 0.0632): kept off until those two
    losses are understood. False = off here and in the ``cpu`` preset."""
    near_holes_bound_span_nearer: bool = False
    """With ``near_holes_bound_span``: true = a track that would take the span's lower bounds takes them only when the
    depths they give its frames are nearer than the one-frame pose's bounds give (the median over its frames of the
    two depths' ratio below 1); else it keeps the one-frame bounds
    (:func:`~stereodiff.stage1.near_holes.near_hole_depth`).
    The span's bound parallax is the better measurement on every traced clip (one-frame 0.85–1.33× the true-pose
    parallax at a track's median, the span's 0.94–1.04×), but the along estimate at weight 0.55 is itself too far
    (1.07–1.33× the truth with the span's bounds on 10 along clips), so the span lost where it moved the object
    farther (close-object 1441 1.135 → 1.231×, final +14.8 %; 1444 +15.6 %) and won where it moved it nearer. With
    span 4 + ``near_holes_bound_span_along``, final all px against the preset: 1441 / 1444 back to the preset's,
    1450 / 1451 / 1452 and ``make demo`` keep the span's gains (−10.9 / −17.7 / −38.2 / −7.8 %), 1455 gives its gain
    back (the span's −15.7 %); fresh close-object 2330–2339 3 better / 6 same / 1 worse, 2340–2345 3 / 2 / 1
    (issue #20, docs/geometric.md "The span's bound by clip"). False = off here and in the ``cpu`` preset."""
    near_holes_mover_track_shift: bool = False
    """With ``near_holes_mover_only``: true = a taken region whose own silhouette shift to a neighbouring frame is under
    half its track's median shift — the object cut by the image's side, its outline anchored there — is split into
    the object and the static strips with the track's shift (:func:`~stereodiff.stage1.near_holes.mover_part`), not
    its own ~0 px one, under which the colour test's band is empty and the static holes the region merged with keep
    the object's depth. On close-object held-out 1426 / 1428 the near object's given mask holds 6.0 / 5.0 %
    background; 40 / 60 % of it a 1–2 px rim of stage-1 holes around the object, most of the rest in the 3 / 6 frames
    whose outline is anchored at a side (issue #20, docs/geometric.md "The near object given too far: the bound
    parallax's jitter"). With ``near_holes_bound_span=4`` on 1426: final all px 0.0515 → 0.0565 (+9.7 %): the
    too-near background balanced the too-far object in the one fit. False = off."""
    near_holes_before_reach: bool = False
    """With ``near_holes`` and ``movers_hole_reach``: ``near_holes`` sees the pixels the movers step gave through
    ``hole_reach`` as holes, and those it takes get its depth; the rest keep the movers step's
    (:func:`~stereodiff.stage1.near_holes.before_reach`). A near person leaving at the image's side is a large hole
    with a flagged sliver on it that ``hole_reach`` joins to the image bottom and gives the floor's last-row bound,
    2.2–2.7× too far on rolled indoor-dynamic 1453, where ``near_holes`` gives her 1.0–1.2×; the flagged share of
    the joined hole does not tell the two apart (fresh rolled 2310: 4–77 %, right at 0.9–1.2×, ``near_holes`` takes
    none of it). Off here; on in the ``cpu`` preset (held out: indoor-dynamic 1456–1463 and close-object 1456–1463
    1456 −52.7 % / −31.7 %, the rest within ±0.5 % (co 1462 −0.3 %); driving 1456–1463 identical;
    docs/geometric.md "`hole_reach` ahead of `near_holes`: the order")."""
    near_holes_end_carry: int = 0
    """With ``near_holes``: 0 = off; else past each end of a taken track, for up to this many frames, the stage-1
    holes (of any size) that its object's place covers — the place in the frame before, moved by the track's median
    shift — are given the end frame's depth (:func:`~stereodiff.stage1.near_holes.near_hole_depth`): the pieces of an
    object entering or leaving through the image's side, too small to be regions, that stage 2 filled from the
    background (close-object held-out 1423 frame 42: 384 px at 9.6× the object's depth, 0.022 of its moving-pixel
    AbsRel 0.366; issue #20, docs/geometric.md "The near object's entering and leaving frames"). With 3, close-object
    final all px 10 better / 8 same / 0 worse on 18 clips (held-out 1410 / 1412 / 1422 / 1423, fresh 1800–1804 and
    1810–1814, tuning s0–s3; −10.9 … +0.3 %), held-out 1412's moving px 0.352 → 0.223; held out by the
    coordinator on close-object 1424–1431: 2 better / 6 same / 0 worse (−1.27 … −0.06 %), moving px lower on 6 of 8.
    0 here; 3 in the ``cpu`` preset."""
    near_holes_mover_ring: float = 0.0
    """With ``near_holes``: a track whose regions' rings (the covered pixels around them) are, median over the track, at
    least this share ``movers_given`` is not taken (0 = off, else in (0, 1]): a hole bordered mostly by the depth
    the movers step gave is the unflagged rest of a mover, not a near object
    (:func:`~stereodiff.stage1.near_holes.near_hole_depth`, ``mover_ring``). Measured median shares: rolled
    indoor-dynamic s910's person cut by ``movers_end_offset=1`` 0.450, close-object's near object 0.000–0.210
    (tuning s0–s3, s974, s1070–s1072), so every clip measured decides alike for any value in (0.210, 0.450]. With
    ``movers_end_offset=1`` + ``movers_end_photometric=1.5``, against the preset (main a7aec2d), final all px:
    rolled s910 0.01912 → 0.01711 (−10.5 %; without the gate 0.09872, +416 %); close-object s0–s3 identical; 15
    fresh clips (seeds 1070–1078: 6 rolled and 3 plain indoor-dynamic, close-object, driving) + TUM, 7-Scenes min /
    median / max −0.78 / 0.0 / +0.05 %, 1 / 16 / 0 better / same / worse at ±0.5 %; rolled s979 −11.1 %, s812 +1.04 %
    (docs/geometric.md "Mover-bordered holes in `near_holes`")."""
    near_holes_mover_ring_ends: int = 0
    """With ``near_holes_mover_ring``: 0 = the gate judges every track; else only a track with a region in the
    video's first or last this many frames (the end frames where ``movers_end_offset`` flags, ``min(movers_offsets)``:
    6 in the preset) is judged, the others are taken as without the gate
    (:func:`~stereodiff.stage1.near_holes.near_hole_depth`, ``ring_ends``). Held-out rolled indoor-dynamic s1120:
    the gate refused a true near person crossing in frames 50–55 (median ring share 0.514, above s910's cut person's
    0.450; 94 % of the 193 k px the preset gives her move), final 0.1237 → 0.1838 (+48.6 %) with the gate alone,
    0.1844 with the end offset and guard; with this at 6 the three give 0.1238 (+0.08 %) and s910 keeps its
    0.01912 → 0.01711 (−10.5 %); fresh rolled indoor-dynamic 1200–1209 min / median / max −4.85 / 0.0 / +0.17 %,
    2 / 8 / 0 better / same / worse at ±0.5 % (the trio without this: the same), TUM and 7-Scenes identical
    (issue #20, docs/geometric.md "rolled indoor-dynamic held-out seed 1120 with the end offset traced"). 0 here
    and in the ``cpu`` preset."""
    earlier_recheck: float = 0.0
    """With a camera moving ahead (``forward_near`` and the probe pairs looking ahead), after ``near_holes``: 0 =
    off; else a log-depth margin: each frame's static covered pixels (no mover rule flagged them) lying more than
    this farther than the median depth the ``earlier_recheck_frames`` earlier frames predict for them (their
    static points moved by the poses, z-buffered), where that prediction is among the frame's near depths
    (``earlier_recheck_near``), take the predicted depth
    (:func:`~stereodiff.stage1.earlier_recheck.recheck_far_from_earlier`). A near parked car sliding out at the
    image side has flows DIS no longer follows and forward pairs that look for it beyond the border: every view puts
    it too far (driving s1 frames 57–63, +0.9 … +1.7 log at its outer columns), while the earlier frames saw it at
    its depth (issue #20, docs/geometric.md "A near car put far as it leaves the image side"). With 0.3, driving
    final all px against the option off: s1 −0.56 % (stage 1 0.0730 → 0.0726; 3,798 px changed, 3,790 of them
    brought nearer the truth), fresh seeds 1950–1955 and 1960 4 better / 3 same / 0 worse (−2.96 … 0.00 %; s1960
    1.013 → 0.996× stage 1), moving px within −0.6 … +0.7 %. Only for a camera moving ahead: close-object and
    static-orbit s0 / s1 and indoor-dynamic s0 do not pass the gate (checked at 24 frames, 160×120); ≈ 2.3 s of
    CPU per 64 frames at 320×240 where it runs. Held out on driving 1432–1439: 3 better / 5 same / 0 worse (−2.53 …
    +0.02 %), but its z-buffer splats (≈ 4.7 ms each on a quiet host, six per frame) cost ≈ 2.9 s per 64 frames at
    320×240, run serially (≈ 15 % of a driving clip). Since s48-recheck the splats move their points by a contiguous
    rotation (the pose's strided view made OpenBLAS thread the product): the same output bit for bit at ≈ 1/7 of the
    CPU (driving s1 13.6 → 2.0 s on a loaded host; docs/geometric.md "earlier_recheck at a seventh of its cost");
    s48-recheck's fresh 2060–2064 / 2070–2074 7 better / 3 same / 0 worse, held out on driving 1440–1447: 5 / 3 / 0
    (−4.59 … 0.00 %). Still serial on the main thread: a 64-frame driving clip at 320×240 on a quiet host 18.6 / 19.3
    → 20.3 / 21.0 s of wall (+8.8 %), 31.7 / 32.9 → 33.2 / 34.3 s of CPU (+4.6 %), so 0 here and in the ``cpu``
    preset. Since s49-recheck the same output bit for bit at ≈ 1/3 of the CPU and on the stage's ``num_workers``
    threads (one scatter per point, the translation added a coordinate at a time, the median only where the near
    gate can pass): its own wall in a driving run ≈ 4× lower (docs/geometric.md "`earlier_recheck` at ≈ no wall
    time"), ≈ 2.4 % of a driving run's wall on the loaded host, none measurable on a quiet one (driving s1, 64 frames
    at 320×240, off / on interleaved twice: 20.27 / 19.46 against 20.48 / 18.68 s of wall); held out on driving
    1448–1455: 5 better / 3 same / 0 worse (−3.04 … 0.00 %; 24 held-out clips 13 / 11 / 0). 0 here; 0.3 in the ``cpu``
    preset."""
    earlier_recheck_frames: int = 6
    """With ``earlier_recheck``: how many earlier frames predict each frame (their median where two or more land)."""
    earlier_recheck_near: float = 0.2
    """With ``earlier_recheck``: the prediction must be at most this quantile of the frame's covered depths (in
    (0, 1]): the rule is for near surfaces, whose flows are large; far points' depth is too noisy to recheck."""
    earlier_recheck_given: bool = False
    """With ``earlier_recheck``: the pixels the movers step gave a depth (``movers_given``) are checked too (they
    still never predict). A static point the earlier frames saw on a pixel's ray bounds what the pixel shows, moving
    or not; a near parked car flagged as a mover as it passes the image side gets a given depth 3–5× too far
    (driving 1459 frames 41 / 44 / 45: +1.3 … +1.7 in log on 8–9 k pixels, its earlier frames right). False here;
    true in the ``cpu`` preset (held out: driving 1464–1471 1 better / 7 same / 0 worse); docs/geometric.md "Driving
    1459 / 1458 / s1 traced"."""

    def validate(self) -> None:
        super().validate()
        lo, hi = self.depth_range
        check_fields(
            "stage1 (geometric)",
            [
                ("offsets", self.offsets is None or (len(self.offsets) > 0 and min(self.offsets) >= 1),
                 "must be positive frame offsets or None"),
                ("num_offsets", self.num_offsets >= 1, "must be ≥ 1"),
                ("pair_graph", self.pair_graph in ("offsets", "per_frame"), "must be offsets/per_frame"),
                ("offset_parallax", self.offset_parallax in ("rotation_fit", "essential"),
                 "must be rotation_fit/essential"),
                ("min_rotation_residual_deg", self.min_rotation_residual_deg > 0, "must be > 0"),
                ("min_side_offset", self.min_side_offset >= 1, "must be ≥ 1 frame"),
                ("min_side_offset_static", self.min_side_offset_static >= 1, "must be ≥ 1 frame"),
                ("min_side_inliers", 0.0 <= self.min_side_inliers <= 1.0, "must lie in 0..1"),
                ("flow_preset", self.flow_preset in ("ultrafast", "fast", "medium"), "must be ultrafast/fast/medium"),
                ("flow_patch_stride", 1 <= self.flow_patch_stride <= 8, "must lie in 1..8 pixels (the patch size)"),
                ("flow_descent_iterations", self.flow_descent_iterations >= 1, "must be ≥ 1"),
                ("flow_variational_iterations", self.flow_variational_iterations is None
                 or self.flow_variational_iterations >= 0, "must be ≥ 0 or None"),
                ("chain_refine_iterations", self.chain_refine_iterations is None or self.chain_refine_iterations >= 0,
                 "must be ≥ 0 or None"),
                ("movers_flow_variational_iterations", self.movers_flow_variational_iterations is None
                 or self.movers_flow_variational_iterations >= 0, "must be ≥ 0 or None"),
                ("movers_offsets", len(self.movers_offsets) > 0 and min(self.movers_offsets) >= 1,
                 "must be positive frame offsets"),
                ("fb_relative", self.fb_relative >= 0, "must be ≥ 0"),
                ("forward_fb_relative", self.forward_fb_relative >= 0, "must be ≥ 0"),
                ("motion_boundary_margin_px", self.motion_boundary_margin_px is None
                 or self.motion_boundary_margin_px >= 0, "must be ≥ 0 or None"),
                ("flow_grey", self.flow_grey in ("luma", "pca"), "must be luma/pca"),
                ("min_epipolar_texture", self.min_epipolar_texture >= 0, "must be ≥ 0 grey levels per pixel (0 = off)"),
                ("depth_range", 0 < lo < 1 < hi, "must be (lo, hi) with 0 < lo < 1 < hi"),
                ("depth_range_window", self.depth_range_window >= 0, "must be ≥ 0 frames (0 = off)"),
                ("depth_range_window_area", 0 <= self.depth_range_window_area < 1, "must lie in [0, 1)"),
                ("depth_range_phantom", self.depth_range_phantom == 0
                 or (lo < self.depth_range_phantom < 1 and self.depth_range_window > 0),
                 "must be 0 (off) or lie in (depth_range[0], 1), with depth_range_window > 0"),
                ("depth_range_phantom_reach", self.depth_range_phantom_reach == 0
                 or (self.depth_range_phantom_reach >= 1 and self.depth_range_phantom > 0),
                 "must be 0 (off) or ≥ 1, with depth_range_phantom"),
                ("accept_focal", self.accept_focal in ("camera", "prior"), "must be camera/prior"),
                ("far_parallax_px", self.far_parallax_px >= 0, "must be ≥ 0 pixels (0 = off)"),
                ("max_confidence", self.max_confidence > 1, "must be > 1"),
                ("distortion", self.distortion in (None, "auto")
                 or (not isinstance(self.distortion, str) and len(self.distortion) in (4, 5)),
                 "must be OpenCV's (k1, k2, p1, p2) or (k1, k2, p1, p2, k3), \"auto\" or None"),
                ("rolling_shutter_readout", self.rolling_shutter_readout in (None, "auto")
                 or (not isinstance(self.rolling_shutter_readout, str) and 0 <= self.rolling_shutter_readout <= 2),
                 "must be a fraction of the frame interval in [0, 2], \"auto\" or None"),
                ("rolling_shutter_min_shift", self.rolling_shutter_min_shift >= 0, "must be ≥ 0 (0 = off)"),
                ("rolling_shutter_max_change", self.rolling_shutter_max_change >= 0, "must be ≥ 0 (0 = off)"),
                ("rolling_shutter_changed", self.rolling_shutter_changed in ("hole", "rolled"), "must be hole/rolled"),
                ("rolling_shutter_search_stride", self.rolling_shutter_search_stride >= 1, "must be ≥ 1 (1 = all)"),
                ("rolling_shutter_occam", self.rolling_shutter_occam >= 0, "must be ≥ 0 standard errors (0 = off)"),
                ("fusion_stride", self.fusion_stride >= 1, "must be ≥ 1"),
                ("fusion_weak_rim", self.fusion_weak_rim >= 0, "must be ≥ 0"),
                ("fusion_weak_rim_px", self.fusion_weak_rim_px >= 0, "must be ≥ 0"),
                ("fusion_weak_rim_island", 0 <= self.fusion_weak_rim_island <= 1, "must be in [0, 1]"),
                ("fusion_weak_rim_island_nearer", self.fusion_weak_rim_island_nearer >= 0, "must be ≥ 0"),
                ("fusion_weak_rim_island_hole", 0 <= self.fusion_weak_rim_island_hole <= 1, "must be in [0, 1]"),
                ("fusion_edge_median", self.fusion_edge_median >= 0, "must be ≥ 0 pixels (0 = off)"),
                ("fusion_edge_median_half", self.fusion_edge_median_half >= 1, "must be ≥ 1 pixel"),
                ("fusion_edge_median_stride", self.fusion_edge_median_stride >= 1, "must be ≥ 1 pixel"),
                ("fusion_edge_median_colour", self.fusion_edge_median_colour > 0, "must be > 0"),
                ("fusion_edge_median_spread", self.fusion_edge_median_spread >= 0, "must be ≥ 0"),
                ("fusion_edge_median_step", self.fusion_edge_median_step >= 0, "must be ≥ 0"),
                ("fusion_edge_median_remove", self.fusion_edge_median_remove >= 0, "must be ≥ 0"),
                ("num_workers", self.num_workers >= 1, "must be ≥ 1"),
                ("movers_track_frames", self.movers_track_frames >= 0, "must be ≥ 0 frames"),
                ("movers_track_ahead", self.movers_track_ahead >= 0, "must be ≥ 0 frames"),
                ("movers_track_missed", self.movers_track_missed >= 0, "must be ≥ 0 frames"),
                ("movers_cut_track", self.movers_cut_track >= 0, "must be ≥ 0 frames"),
                ("movers_cut_carry", self.movers_cut_carry >= 0, "must be ≥ 0 frames"),
                ("movers_cut_carry_partial", isinstance(self.movers_cut_carry_partial, bool), "must be true or false"),
                ("movers_carry_standing", self.movers_carry_standing >= 0, "must be ≥ 0 frames"),
                ("movers_carry_standing_ring", 0 <= self.movers_carry_standing_ring < 1, "must lie in [0, 1)"),
                ("movers_persist_frames", self.movers_persist_frames >= 1, "must be ≥ 1 frame"),
                ("movers_persist_ground", isinstance(self.movers_persist_ground, bool), "must be true or false"),
                (
                    "movers_carry_standing_flagged",
                    isinstance(self.movers_carry_standing_flagged, bool),
                    "must be true or false",
                ),
                ("movers_oncoming_carry", self.movers_oncoming_carry >= 0, "must be ≥ 0 frames"),
                ("movers_split_feet", self.movers_split_feet >= 0, "must be ≥ 0 (0 = off)"),
                ("movers_cut_sway", 0 <= self.movers_cut_sway < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_cut_sway_gap", 0 <= self.movers_cut_sway_gap < 1, "must lie in [0, 1)"),
                ("movers_cut_sway_fit", 0 < self.movers_cut_sway_fit <= 1, "must lie in (0, 1]"),
                ("movers_cut_sway_whole", isinstance(self.movers_cut_sway_whole, bool), "must be true or false"),
                ("movers_cut_track_values", isinstance(self.movers_cut_track_values, bool), "must be true or false"),
                ("movers_cut_sway_blend", 0 <= self.movers_cut_sway_blend < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_cut_sway_halves", 0 <= self.movers_cut_sway_halves < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_cut_sway_levels_gain", 0.5 <= self.movers_cut_sway_levels_gain <= 2, "must lie in [0.5, 2]"),
                ("movers_cut_sway_levels_plane", isinstance(self.movers_cut_sway_levels_plane, bool),
                 "must be true or false"),
                ("movers_cut_height", self.movers_cut_height == 0 or self.movers_cut_height > 1, "must be 0 or > 1"),
                ("movers_beyond_part", 0 <= self.movers_beyond_part < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_oncoming", 0 <= self.movers_oncoming < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_seen_contact", 0 <= self.movers_seen_contact < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_contact_beside", 0 <= self.movers_contact_beside < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_beside_stands", isinstance(self.movers_beside_stands, bool), "must be true or false"),
                ("movers_beside_low", 0 <= self.movers_beside_low < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_near_contact", 0 <= self.movers_near_contact < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_near_carry", self.movers_near_carry >= 0, "must be ≥ 0 frames"),
                ("movers_hole_carry", self.movers_hole_carry >= 0, "must be ≥ 0 frames"),
                ("movers_hole_carry_after", isinstance(self.movers_hole_carry_after, bool), "must be true or false"),
                ("movers_hole_carry_colour", self.movers_hole_carry_colour >= 0, "must be ≥ 0 (0 = off)"),
                ("movers_near_carry_beside", isinstance(self.movers_near_carry_beside, bool), "must be true or false"),
                ("movers_near_occluded", isinstance(self.movers_near_occluded, bool), "must be true or false"),
                ("movers_far_occluded", isinstance(self.movers_far_occluded, bool), "must be true or false"),
                ("movers_far_spread", 0 <= self.movers_far_spread < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_hole_occluded", isinstance(self.movers_hole_occluded, bool), "must be true or false"),
                (
                    "movers_hole_occluded_after_near",
                    isinstance(self.movers_hole_occluded_after_near, bool),
                    "must be true or false",
                ),
                (
                    "movers_near_occluded_margin",
                    0 <= self.movers_near_occluded_margin < 1,
                    "must lie in [0, 1) (0 = off)",
                ),
                ("movers_min_area", 0 < self.movers_min_area < 1, "must lie in (0, 1)"),
                ("movers_entry_carry", self.movers_entry_carry >= 0, "must be ≥ 0 frames"),
                ("movers_edge_carry", self.movers_edge_carry >= 0, "must be ≥ 0 frames"),
                ("movers_entry_chain", self.movers_entry_chain >= 0, "must be ≥ 0 frames"),
                ("movers_end_offset", self.movers_end_offset >= 0, "must be ≥ 0 frames (0 = off)"),
                ("movers_end_photometric", self.movers_end_photometric == 0 or self.movers_end_photometric >= 1,
                 "must be 0 (off) or a factor ≥ 1"),
                ("movers_ground_max_beyond", 0 <= self.movers_ground_max_beyond < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_up_to_horizon", self.movers_up_to_horizon == 0 or self.movers_up_to_horizon > 1,
                 "must be 0 (off) or a factor > 1"),
                ("movers_path_contact", self.movers_path_contact >= 0, "must be ≥ 0 camera heights (0 = off)"),
                ("movers_path_confidence", 0 < self.movers_path_confidence <= 1, "must lie in (0, 1]"),
                ("movers_path_near", 0 <= self.movers_path_near < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_path_trim", self.movers_path_trim >= 0, "must be ≥ 0 pixels (0 = off)"),
                ("movers_side_near", 0 <= self.movers_side_near < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_side_out", self.movers_side_out >= 0, "must be ≥ 0 (0 = off)"),
                ("movers_side_up", self.movers_side_up == 0 or self.movers_side_up > 1,
                 "must be 0 (off) or a factor > 1"),
                ("movers_cut_margin", self.movers_cut_margin >= 0, "must be ≥ 0 pixels (0 = off)"),
                ("movers_cut_holes", self.movers_cut_holes >= 0, "must be ≥ 0 rows (0 = off)"),
                ("movers_cut_skip_beyond", self.movers_cut_skip_beyond >= 0, "must be ≥ 0 rows (0 = off)"),
                ("movers_up_beside", 0 <= self.movers_up_beside < 1, "must lie in [0, 1) (0 = off)"),
                ("movers_up_holes", 0 <= self.movers_up_holes <= 1, "must lie in [0, 1] (0 = off)"),
                ("movers_border_band", isinstance(self.movers_border_band, bool), "must be true or false"),
                ("movers_side_holes", 0 <= self.movers_side_holes <= 160, "must lie in [0, 160] columns (0 = off)"),
                ("movers_short_offsets", all(o >= 1 for o in self.movers_short_offsets),
                 "must be positive frame offsets (or empty)"),
                ("sky_max_gradient", self.sky_max_gradient > 0, "must be > 0"),
                ("sky_min_value", 0 <= self.sky_min_value <= 1, "must lie in [0, 1]"),
                ("sky_min_blue", -1 <= self.sky_min_blue <= 1, "must lie in [-1, 1]"),
                ("sky_min_hole", 0 <= self.sky_min_hole <= 1, "must lie in [0, 1]"),
                ("sky_max_near", 0 <= self.sky_max_near <= 1, "must lie in [0, 1]"),
                ("sky_near_recheck", 0 <= self.sky_near_recheck <= 1, "must lie in [0, 1] (0 = off)"),
                ("sky_near_recheck_gap", self.sky_near_recheck_gap >= 0, "must be ≥ 0 pixels (0 = off)"),
                ("sky_min_frames", 0 <= self.sky_min_frames <= 1, "must lie in [0, 1]"),
                ("sky_video_colour", self.sky_video_colour >= 0, "must be ≥ 0 (0 = off)"),
                ("sky_far", self.sky_far > 1, "must be > 1"),
                ("near_holes", self.near_holes == 0 or self.near_holes > 1, "must be 0 (off) or > 1"),
                ("near_holes_end_sweep", isinstance(self.near_holes_end_sweep, bool), "must be true or false"),
                ("near_holes_mover_only", self.near_holes_mover_only >= 0, "must be ≥ 0 (0 = off)"),
                ("near_holes_local", self.near_holes_local >= 0, "must be ≥ 0 frames (0 = off)"),
                ("near_holes_along_weight", 0 <= self.near_holes_along_weight <= 1, "must be in [0, 1] (0 = off)"),
                ("near_holes_mover_ring", 0 <= self.near_holes_mover_ring <= 1, "must be in [0, 1] (0 = off)"),
                ("near_holes_track_bound", 0 <= self.near_holes_track_bound <= 100, "must be in [0, 100] (0 = off)"),
                ("near_holes_far_islands", self.near_holes_far_islands == 0 or self.near_holes_far_islands > 1,
                 "must be 0 (off) or > 1"),
                ("near_holes_far_islands_enclosed", isinstance(self.near_holes_far_islands_enclosed, bool),
                 "must be true or false"),
                ("near_holes_far_islands_rim", 0 <= self.near_holes_far_islands_rim <= 1,
                 "must be in [0, 1] (0 = off)"),
                ("near_holes_end_carry", self.near_holes_end_carry >= 0, "must be ≥ 0 frames (0 = off)"),
                ("near_holes_before_reach", isinstance(self.near_holes_before_reach, bool), "must be true or false"),
                ("near_holes_bound_span", self.near_holes_bound_span >= 0, "must be ≥ 0 frames (0 = off)"),
                ("near_holes_bound_span_along", isinstance(self.near_holes_bound_span_along, bool),
                 "must be true or false"),
                ("near_holes_bound_span_nearer", isinstance(self.near_holes_bound_span_nearer, bool),
                 "must be true or false"),
                ("near_holes_mover_track_shift", isinstance(self.near_holes_mover_track_shift, bool),
                 "must be true or false"),
                ("near_holes_bridge", self.near_holes_bridge >= 0, "must be ≥ 0 frames (0 = off)"),
                ("near_holes_mover_ring_ends", self.near_holes_mover_ring_ends >= 0, "must be ≥ 0 frames (0 = off)"),
                ("earlier_recheck", self.earlier_recheck >= 0, "must be ≥ 0 (0 = off)"),
                ("earlier_recheck_frames", self.earlier_recheck_frames >= 1, "must be ≥ 1 frames"),
                ("earlier_recheck_near", 0 < self.earlier_recheck_near <= 1, "must lie in (0, 1]"),
                ("earlier_recheck_given", isinstance(self.earlier_recheck_given, bool), "must be true or false"),
                ("sky_grow", self.sky_grow >= 0, "must be ≥ 0 pixels (0 = off)"),
                ("sky_grow_colour", self.sky_grow_colour > 0, "must be > 0"),
                ("sky_grow_step", self.sky_grow_step > 0, "must be > 0"),
                ("sky_grow_blue", -1 <= self.sky_grow_blue <= 1, "must lie in [-1, 1]"),
                ("band_select_rim_px", self.band_select_rim_px >= 0, "must be ≥ 0 pixels"),
                ("band_select_offsets", len(self.band_select_offsets) > 0 and min(self.band_select_offsets) >= 1,
                 "must be positive frame offsets"),
                ("band_select_best_k", 1 <= self.band_select_best_k <= 2 * len(self.band_select_offsets),
                 "must lie in 1..2·len(band_select_offsets)"),
                ("band_select_patch", self.band_select_patch >= 0, "must be ≥ 0 pixels"),
                ("band_select_margin", self.band_select_margin >= 0, "must be ≥ 0"),
                ("band_select_extrapolate_px", self.band_select_extrapolate_px >= 0, "must be ≥ 0 pixels"),
            ],
            self,
        )  # fmt: skip
