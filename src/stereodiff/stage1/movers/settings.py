"""The knobs of the moving-object handling (:class:`MoverSettings`)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MoverSettings"]


@dataclass(frozen=True)
class MoverSettings:
    """Knobs of the moving-object handling (pixel values at a 320-pixel long side, scaled with the resolution)."""

    offsets: tuple[int, ...] = (6, 12)
    """Frames between a frame and the neighbours its flow is checked against (both sides)."""
    flow_grey: str = "luma"
    """The flow's grey conversion (``GeometricConfig.flow_grey``, :func:`~stereodiff.flow.grey_projection`)."""
    flow_variational_iterations: int | None = None
    """DIS variational-refinement iterations per pyramid level of the flow checks' and cut-track links' engines
    (``None``: the presets' 5)."""
    short_offsets: tuple[int, ...] = ()
    """Shorter offsets, checked too, whose verdict counts only at stage-1 holes that no pair at ``offsets`` saw
    with consistent flow (a fast or deforming mover, e.g. a walking person close to the camera, left a hole)."""
    residual_px: float = 2.0
    """Absolute part of the flow-residual threshold (pixels)."""
    residual_rel: float = 0.15
    """Relative part of the flow-residual threshold (fraction of the rigid flow's length)."""
    vote_fraction: float = 0.5
    """A pixel moves when more than this fraction of the checks that saw it (consistent flow) flag it."""
    weak_fraction: float = 0.0
    """Hysteresis: pixels flagged by more than this fraction of their checks join a strongly flagged region they
    touch (``vote_fraction`` or more: off)."""
    epipolar_px: float = 1.0
    """Sampson distance (pixels) beyond which a pixel's flow leaves the epipolar line of the camera's motion."""
    epipolar_share: float = 0.0
    """Least share of a flow-flagged region whose pixels leave their epipolar lines (in most checks): a static
    surface with a wrong stage-1 depth is flagged by the flow residual too, but it moves along its epipolar lines."""
    border_px: float = 8.0
    """Pixels this close to the image border, or whose flow ends this close to it, are not checked (DIS's flow
    there is extrapolated)."""
    persist_px: int = 8
    """A flagged pixel is kept only if the neighbouring frames (both) flag a pixel within this distance."""
    persist_frames: int = 1
    """The persistence test's reach (frames): a flagged pixel is kept when, on each side, one of the nearest this many
    frames flags a pixel within ``persist_px`` (1: the neighbouring frames themselves). A person whose phantom only
    the ground cue flags, in every other frame, is dropped at 1 (docs/geometric.md,
    "The walking person lost after the near object passes: the segmentation per test")."""
    persist_ground: bool = False
    """With ``persist_frames`` > 1: the wider reach keeps a pixel only within ``persist_px`` of the ground cue's
    flags in its frame (:func:`~.segmentation.cue_persistent_regions`); the flow's flags (the near object's, a
    static surface's flicker) keep the neighbouring frames' test. No ground cue (``underground`` and
    ``segment_step`` 0): the reach of 1."""
    pnp_threshold_px: float = 1.0
    """RANSAC inlier threshold (pixels) of the per-pair camera pose, solved by PnP from the stage-1 depth and the
    flow (the aligned scene's poses are not accurate enough to predict flow to a pixel)."""
    entry_carry: int = 0
    """Frames a flagged region is carried backwards along the flow into the band along the image's border where the
    segmentation checks nothing (:func:`~.segmentation.carry_entries`; a mover entering at a side; 0 = off)."""
    edge_carry: int = 0
    """Frames a mover's depth from the rules is carried, along the one-frame flow, to her stage-1 holes in the band
    along the image's border (sides, top and bottom) in the frames after (she leaves) and before (she enters) the
    frames the rules handled her (:func:`~.segmentation.carry_edge_depth`; 0 = off)."""
    entry_chain: int = 0
    """With ``entry_carry``: frames of the chained one-frame flows whose residual decides what moves in the band, the
    band the left and right sides only, the carried pixels grown into the moving band pixels connected to them
    (:func:`~.segmentation.carry_entries`; 0 = off: the one-frame residual)."""
    end_offset: int = 0
    """At the video's first and last ``min(offsets)`` frames (no partner at the least offset on one side), the flow
    checks at this shorter offset (both sides where they exist) flag pixels too (OR'd with the long offsets' verdict,
    before the epipolar share): a mover entering in the clip's last frames has, at the long offsets, only partners
    from before she entered, where the flow gives her the background's motion and she passes as static
    (:func:`~.segmentation.segment_movers`; 0 = off; ``1`` on rolled indoor-dynamic s910: final −13.5 %, moving px
    0.578 → 0.472, measured before ``near_holes`` entered the preset; with it, +393 %: ``near_holes`` takes what the
    end flags leave of a person's hole; fresh clips −3.9 / 0.0 / +1.1 %, docs/geometric.md "Movers at the clip's
    first and last frames")."""
    end_photometric: float = 0.0
    """With ``end_offset``: a pixel an end pair flags stays flagged only where the image says it moves — its
    grey-level error to the pair's other frame along the static scene's rigid flow exceeds ``end_photometric`` times
    its error along the flow (each a 5×5 mean of absolute grey differences, plus one grey level;
    :func:`~.segmentation.flow_explains`). The one-frame checks also take the static pixels next to a mover, whose
    flow DIS drags along with hers: on rolled indoor-dynamic s812 they match their other frame along the rigid flow
    (median 2–5 grey levels against 6–12 along the flow), the mover's pixels the other way round (1–3 against
    6–15). 0 = off. ``1.5`` with ``end_offset=1``, final all px against the preset: 17 fresh clips −10.9 / 0.0 /
    +0.03 % (2 / 15 / 0 at ±0.5 %), rolled s812 +0.8 % (+1.1 % unguarded: the rest is the video's fit following the
    person's changed depth); docs/geometric.md "Movers at the clip's first and last frames: the photometric guard"."""
    min_area: float = 0.002
    """Least area of a mover region (fraction of the frame); smaller regions are flow noise."""
    contact_rows: int = 20
    """Rows under a region's bottom edge searched for its ground contact (10 before issue #20's driving work: the
    road just under a car is often a stage-1 hole)."""
    underground: float = 0.3
    """A region deeper than the ground plane by more than this fraction is a mover (0 = off); see
    :func:`~.ground.underground`."""
    underground_cut: bool = False
    """With ``underground``: a region beyond the ground that reaches the image bottom is a mover too (else only
    regions standing on the ground seen under them are, :func:`~.ground.stands`). A surface seen below the horizon
    hides the ground behind it, so it cannot lie beyond the ground plane at its own pixels, whether its lower edge is
    in the image or not: a person walking close to the camera, cut by the image bottom and triangulated with the
    camera's motion, is. Its depth is then the cut region's (``cut_last_row``, ``cut_track``). Guarded: the plane
    must hold the image's lowest rows beside it (:func:`~.ground._cut_on_ground`), and both neighbouring frames must
    find such a region overlapping it (:func:`~.ground.cut_in_neighbours`)."""
    cut_margin: float = 0.0
    """With ``underground_cut``: the bottom-row columns within this many pixels of the ones a region reaches are not
    counted as beside it when the plane must hold the bottom rows beside it (0 = off): the floor just beside a
    walking person's feet (between them and the image border) is triangulated with her flow, 1.4–1.8× the plane,
    so a plane that holds the rest of the bottom rows fails the 95 % (docs/geometric.md, "A person walking along
    with a sideways camera")."""
    cut_holes: float = 0.0
    """With ``underground_cut``: a region beyond the ground whose lowest pixels in a column lie within this many rows
    (at a 320-pixel long side) of the image bottom, with only stage-1 holes (or pixels beyond the ground) under
    them, reaches the image bottom in that column (0 = off: only a region in the lowest two rows does;
    :func:`~.ground.reached_through_holes`)."""
    cut_skip_beyond: float = 0.0
    """A flagged region that stage 1 triangulated (not mostly a hole) and that reaches the image's lowest this many rows
    (at a 320-pixel long side; at most the rows of ``cut``, :func:`~.depth.cut_rows`: 11 at 320), or ends within them
    in a column with only stage-1 holes and flagged pixels under it, is cut by the image bottom and gets its rule's
    depth (the ground at the last row with ``cut_last_row``; the ground seen under it where there is some) without
    the beyond-the-ground test (``beyond_share``), when that depth is an upper bound that binds (the region's stage-1
    median lies beyond it) and less than half of its triangulated pixels lie on the ground plane (0 = off;
    :func:`~.depth._cut_skips_beyond`). A person walking along with a sideways camera, cut by the image bottom, is
    triangulated too far with a vertical gradient that keeps her nearer than the floor behind her upper body, so the
    test never passes (docs/geometric.md, "A cut region that the beyond-the-ground test leaves at its phantom")."""
    ground_tolerance: float = 0.05
    """RANSAC inlier tolerance of the ground plane (relative inverse depth)."""
    ground_iterations: int = 200
    """RANSAC samples of the ground plane."""
    ground_min_fraction: float = 0.1
    """Least fraction of the static pixels of the frame's lowest third that the ground plane must hold."""
    ground_max_beyond: float = 0.0
    """Most share of the frame's static pixels the ground plane may leave beyond it (by ``underground``; 0 = off):
    nothing static lies beyond the ground, so a plane that does is another surface (:func:`~.ground.ground_depth`)."""
    beyond_share: float = 0.3
    """A flagged region gets its ground contact's depth when at least this share of its triangulated pixels below
    the horizon lie beyond the ground (a static surface never does; a static surface with a wrong depth is flagged
    too, but stays put)."""
    hole_bound: bool = False
    """Give an untriangulated mover region without a seen ground contact the occlusion bound (else stage 2 fills
    it)."""
    ring_px: int = 6
    """Width of the ring around a region whose static depth bounds the region's depth (occlusion order)."""
    ring_percentile: float = 20.0
    """Percentile of the ring's depth used as the occlusion bound."""
    confidence: float = 1.0
    """Confidence given to mover pixels, as a fraction of the median confidence of the static pixels."""
    segment_step: float = 0.15
    """Contact segments (0 = off): the frame's stage-1 depth is cut into smooth segments where neighbouring depths
    differ by more than this relative step, and a segment standing on the ground whose lowest pixels stage 1 put
    beyond the ground under them (by ``underground``) is a mover (:func:`~.ground.contact_segments`): the whole
    body of a car driving ahead, not only its pixels beyond the ground at their own row."""
    floating: float = 0.0
    """With ``segment_step``: an upright segment (depth about constant over its rows) standing on the ground whose
    lowest pixels stage 1 put nearer than the ground under them by more than this fraction floats — the signature
    of an oncoming object triangulated too near — and gets its contact's depth (0 = off: 0.3 measured worse on
    driving seeds 0/1, docs/geometric.md)."""
    upright_slope: float = 0.5
    """A segment is upright when its inverse depth grows downwards less than this fraction of the ground's rate
    (a vertical surface: 0; a table top or the floor: about 1 or more)."""
    beyond_part: float = 0.0
    """A flow-flagged region that is not beyond the ground as a whole (static pixels flagged with an object set its
    contact) but holds a blob beyond the ground of at least this fraction of the frame that stands on the ground:
    its part at or above that blob, holes or beyond the blob's contact, takes the blob's contact
    (:func:`~.depth._beyond_part`; 0 = off)."""
    part_beyond: float = 1.0
    """With ``beyond_part``: the blob's median depth must lie beyond its own contact by more than this fraction (a
    car following at half the camera's speed or more is triangulated twice too far; stage-1 noise of a static
    surface at its foot, measured 1.4–1.8× on static-orbit and driving, is not taken)."""
    oncoming: float = 0.0
    """A flow-flagged region whose triangulated part off the ground is upright, stands on the ground, and lies
    (median) nearer than the ground under its lowest pixels by more than this fraction gets that contact's depth:
    an object approaching the camera along its epipolar lines is triangulated too near (0 = off)."""
    oncoming_support: float = 0.4
    """With ``oncoming``: least share of the triangulated pixels under the region (``contact_rows``, median over its
    columns) that lie on the ground (a road, not a car body that crosses the ground plane's depth at a few rows)."""
    oncoming_carry: int = 0
    """With ``oncoming``: a region given its contact by the oncoming test in a frame is followed, frame by frame, as
    the stage-1 phantom it is (its triangulated off-ground pixels at their too-near depth) into the frames at most
    this many away where no flagged seed gave it a contact, and there takes its own contact when it passes the
    same test (:func:`~.tracking.carry_oncoming_depth`; 0 = off: with 16, fresh indoor-dynamic final −72 … +19 %,
    close-object s760 +1.5 %, ``make demo``'s final above its nearest fill; docs/geometric.md)."""
    oncoming_trim: bool = False
    """With ``oncoming``: when the region fails it, its pixels nearer than the ground at their own row by
    ``oncoming`` are tested alone, with the margin applied twice (flagged road under an oncoming car sets its
    contact too near)."""
    contact_beside: float = 0.0
    """A flow-flagged region that no other rule gives a depth: its pixels nearer than the ground at their own row by
    more than this fraction, joined down their columns through stage-1 holes and flagged pixels to their lowest
    pixels, take the ground's depth at those lowest pixels when ground is seen beside them (left and right, within
    ``contact_rows`` columns) or under them, and the pixels lie (median) nearer than that contact by the same
    fraction: a person walking ahead of the camera is triangulated too near, and her legs are often a stage-1 hole
    (:func:`~.depth._contact_beside`; 0 = off)."""
    beside_low: float = 0.0
    """With ``contact_beside``: the joined body's lowest pixel must lie in the lowest this fraction of the image rows,
    and the body span at least ``beside_height`` of them (0 = off: any body): a person walking close ahead of the
    camera stands low in the image, while a flagged static part whose lowest pixels lie mid-image (the upper part
    of a static object, its lower part triangulated and not flagged) would take the far ground beside it there
    (docs/geometric.md, "A runner rule that keeps to people close ahead")."""
    beside_height: float = 0.25
    """With ``beside_low``: least height of the joined body, as a fraction of the image height."""
    beside_stands: bool = False
    """With ``beside_low``: a body that does not reach the lowest ``beside_low`` of the rows (but spans
    ``beside_height`` of them) is taken too when the ground is seen both beside its lowest pixels and within
    ``contact_rows`` ÷ ``STANDS_DIVISOR`` rows under them (:func:`~.ground.stands`): a person farther away walking
    against a sideways camera, her feet on the floor seen mid-low in the image (close-object s845 / s953: rows
    173–207 of 240), not the flagged top of a static object whose lowest flagged pixels lie mid-object; and when
    stage 1 triangulated at least ``STANDS_SEEN`` of the body (not the near object floating in front of the floor, a
    hole). Measured: close-object s953 final −9.2 %, s845 −1.7 %; 2 of 17 fresh synthetic clips better, none worse."""
    near_contact: float = 0.0
    """A flow-flagged region that no other rule gives a depth: its pixels nearer than the ground at their own row by
    more than this fraction, grown down their columns through triangulated off-ground pixels at their own depth
    (``segment_step``: the unflagged legs), upright, standing on the ground (``contact_rows``) and lying (median)
    nearer than the ground under the grown body's lowest pixels by the same fraction, take that contact — on their
    triangulated pixels only (no hole: ``near_holes`` reads them later): a person walking against a sideways camera is
    triangulated at ``v_c ÷ (v_c − v_p)`` of her depth (0.34–0.47× on close-object s0), and no other rule corrects a
    region put nearer than its contact away from the image bottom. A static object's flagged top is grown down its
    own body to its own foot, where it is not nearer than the ground (:func:`~.depth._near_contact`; 0 = off; off when
    the camera moves along its view, :func:`~stereodiff.stage1.geometric.mover_settings`)."""
    near_carry: int = 0
    """With ``near_contact``: a region given its contact by ``near_contact`` in a frame is followed, frame by frame, as
    the stage-1 phantom it is (as ``oncoming_carry`` follows one) into the frames at most this many away where it was
    not given one — mostly where clutter hides her feet, so no floor is seen under her — and there takes the seed's
    correction, contact ÷ the seed's stage-1 depth (median), times the phantom's own stage-1 depth, at most the ground
    under the phantom's lowest pixels (her feet are at or below them) and only while the phantom lies nearer than that
    by ``near_contact`` (:func:`~.tracking.carry_near_depth`; 0 = off). Stage 1 puts a person walking against a
    sideways camera at ``v_c ÷ (v_c − v_p)`` of her depth, which drifts slowly with the two motions (close-object
    s0: 0.34–0.47× over 64 frames)."""
    near_carry_beside: bool = False
    """With ``near_carry`` and ``contact_beside``: a region ``contact_beside`` gives its contact while stage 1 put it
    nearer than that contact by ``near_contact`` seeds the carry as a ``near_contact`` region does (its triangulated
    pixels off the ground, when they are at least ``STANDS_SEEN`` of it: not the near object, mostly a stage-1 hole;
    :func:`~.depth.mover_depth`): where her feet are seen only in the image's lowest tenth,
    ``contact_beside`` takes her first and ``near_contact`` is never tried, so without it no seed starts the carry."""
    near_occluded: bool = False
    """With ``near_contact``: a flow-flagged region that no other rule gives a depth, put nearer than the ground at
    its own rows by ``near_contact`` and grown down as ``near_contact`` grows it, whose feet a static surface off the
    ground hides (seen under its bottom edge, farther than the region by the same fraction) takes the geometric mean
    of that surface's depth (it is behind it) and the ground's under its lowest pixels (it stands at or below them)
    (:func:`~.depth._near_occluded`), and seeds ``near_carry`` as a ``near_contact`` region does: a person walking
    against a sideways camera behind clutter, whose feet are never seen (close-object s1614)."""
    far_occluded: bool = False
    """A region beyond the ground under its lowest pixels while a static surface off the ground hides its feet
    (:func:`~.ground.occluded_beyond`: it stands at or below its lowest visible pixels, behind that surface) is a
    mover (:func:`~.ground.underground`, which otherwise needs it to stand on the ground seen) and takes the
    geometric mean of that surface's depth and the ground's under its lowest pixels (:func:`~.depth._far_occluded`):
    a person walking along with a sideways camera behind clutter, triangulated 2–5× too far and flagged on 0–8 % of
    her (close-object 1980)."""
    far_spread: float = 0.0
    """With ``far_occluded``: the region it gives a depth grows through the triangulated pixels at about its own
    depth whose pairs disagree by at least this log standard deviation (5×5 median of ``SceneGeometry.pair_spread``;
    0 = off; :func:`~.depth.spread_run`): her upper body, at the wall's depth, which no depth step separates."""
    hole_occluded: bool = False
    """A flagged region stage 1 left mostly untriangulated, without a contact (not seen standing, not cut), whose
    bottom edge rests on a static surface off the ground nearer than the ground under its lowest pixels
    (:func:`~.ground.occluder_depth`) takes the geometric mean of that surface's depth and that ground's on its holes
    and on its pixels beyond that ground (:func:`~.depth._hole_occluded`): a person walking along a sideways camera
    faster than it behind clutter, which stage 1 leaves a hole (close-object 1465, frames 44–63)."""
    hole_occluded_after_near: bool = False
    """With ``hole_occluded`` and ``reach_mask``: the holes that rule gives are recorded with ``hole_reach``'s
    joined pixels (``reached`` of :func:`~.depth.mover_depth`), so ``near_holes`` sees them as holes and takes those
    it follows as the near object (``near_holes_before_reach``): the rule alone took the near object's mostly-hole
    region crossing in front of the clutter."""
    near_occluded_margin: float = 0.0
    """With ``near_occluded``: the fraction by which the region must lie (median) nearer than the static surface
    hiding its feet (0 = ``near_contact``'s). A person triangulated at 0.44× her depth behind a clutter object at
    0.60× (close-object 1981: 0.73–0.80 of the occluder in most frames) passes at 0.15, not at 0.3."""
    ground_cut: bool = False
    """Contact segments: pixels on the ground plane are cut too, so an object's segment does not run into the
    ground around it (and through it into the whole scene)."""
    hole_reach: bool = False
    """A mover region that is mostly a stage-1 hole, does not reach the image bottom and has no ground seen under it,
    but is joined to the image bottom by stage-1 holes under it (a person walking close to the camera whose legs
    deform faster than any flow check follows: the segmentation finds the body, stage 1 triangulates neither), is
    cut by the image bottom like a region that reaches it: it and those holes get the ground's depth under their
    lowest pixels, except a rim of ``rim_px`` (:func:`~.depth._hole_reach`)."""
    reach_mask: bool = False
    """With ``hole_reach``: the runner records the pixels the regions joined through it were given
    (``SceneGeometry.movers_reach``), for ``near_holes_before_reach``; with ``hole_occluded_after_near`` the holes
    ``hole_occluded`` gave too."""
    rim_px: float = 2.0
    """With ``hole_reach``: the rim of the region joined to its holes left to stage 2's fill (the segmentation's
    edge often holds static background the mover uncovers)."""
    cut_last_row: bool = False
    """A region cut by the image bottom (it reaches the lowest rows the segmentation checks, or ``hole_reach``) with
    no ground seen under it takes the ground's depth at the image's last row, not under its lowest pixels: its
    contact is below the image, so the ground at the last row is the nearer (tighter) of the two upper bounds of
    its depth; the segmentation stops ``border_px`` short of the bottom (:func:`~.depth._last_row`)."""
    cut_height: float = 0.0
    """With ``cut_last_row``: a region cut by the image bottom that also reaches the image top (the segmentation's
    top rows, as for the bottom) is no farther than the depth at which its top stands this many camera heights above
    the ground (0 = off): a height prior, ``z ≤ (k − 1) / (−g·p)`` for the plane's inverse depth ``g·p < 0`` at its
    top pixels (:func:`~.depth._height_cap`). The body's own top lies at or above the image's top rows, so only the
    prior can be wrong, not the region's outline (a region whose top is inside the image may hold background above
    the head: measured worse on close-object s3; docs/geometric.md, "A height cap for a mover cut by the image
    bottom")."""
    cut_track: int = 0
    """A region cut by the image bottom takes, instead of its own upper bound, the least bound (or seen contact) of
    the regions of its track within this many frames, carried over by the ratio of their vertical image scales
    (:func:`~.tracking.track_cut_depth`; 0 = off): the bound is tight only where the mover's lowest part is just
    below the image (docs/geometric.md, "A depth for a mover cut by the image bottom")."""
    cut_sway: float = 0.0
    """With ``cut_track``: a track of regions cut by the image bottom whose camera's height (along the ground's
    normal) changed over the track by at least this fraction of the track's depth takes, for its cut regions, the
    depth that motion implies for a mover moving parallel to the ground, when that is nearer by more than
    ``cut_sway_gap`` and the track's least-squares fit holds (R² ≥ ``SWAY_MIN_FIT``) (:mod:`~.sway`; 0 = off;
    docs/geometric.md, "The camera's sway: a depth for a mover cut by the image bottom")."""
    cut_sway_levels: bool = False
    """With ``cut_sway``: the camera's motion comes from stage 1's poses (its rotation derotates the mover's flow,
    its heights above one ground normal, the median of the frames' ground planes, are the levels), and a track's
    depth from its accumulated apparent motion against those levels (:func:`~.sway.fit_sway_levels`), in place of
    each pair's PnP (docs/geometric.md, "The camera's sway, measured against the truth")."""
    cut_sway_gap: float = 0.2
    """With ``cut_sway``: a cut region takes the sway's depth only when that is nearer than its own (its track's
    bound) by more than this fraction. A bound is an upper bound that is often about right (1.00–1.13× the truth
    on indoor-dynamic's cut persons), and the sway's estimate can be biased near by 22 % with a fit that shows
    nothing (``cut_sway_levels``: 0.78–1.11× the truth with R² 0.96–0.99 and a block jackknife's error of 3–21 %;
    stage 1's camera levels come out 0.84–1.14× the true heights, the person's apparent motion along the normal
    0.91–1.15×), so only a gain larger than the estimate's own error tells a far bound from an estimate too near:
    ``1 − 0.78 / 1.2`` = 0.35 keeps a bound up to 1.2× the truth from the worst estimate measured (measured: 0.30
    loses s200 +24 %, 0.35 gains −5 %, 0.4 leaves it untouched). 0.2: the error
    where the PnP gate passed (indoor-dynamic seed 0: the bound 1.03×, the estimate 0.87× of it; docs/geometric.md,
    "The camera's sway: a depth for a mover cut by the image bottom" and "An error budget for the sway's gap")."""
    cut_sway_fit: float = 0.9
    """With ``cut_sway_levels``: the least R² of a track's levels fit (``sway.SWAY_LEVELS_MIN_FIT``, 0.9 = as
    before). A near person cut by the image bottom, whose feet are never seen, is where the sway is the only cue, and
    there the fit can hold less of the levels and still be right: held-out indoor-dynamic s608 (R² 0.81, her
    estimate 0.48 of the bound, the truth 0.52) and s754 (0.85; 0.33 against 0.33); the wrong fits measured below
    0.9 had 0.36–0.70. 0.75: s608 final −68.5 %, s754 −75.1 %, 33 other clips identical (docs/geometric.md, "A
    depth for a near person cut by the image bottom whose feet are never seen")."""
    cut_sway_whole: bool = False
    """With ``cut_sway``: the gap (``cut_sway_gap``) is decided once per track, at the median over its cut regions
    of the sway's depth ÷ their depth after the bound, and a track that passes gives the sway's depth to each of its
    cut regions it is nearer than by more than ``CUT_GAP`` (off: each region is tested against the gap alone). The
    sway's depth is one value per track (its gauge; the regions' relative depths carry it), so a per-region gap cuts
    one person into a part at the sway's depth and a part at the carried bound where the two ratios straddle the gap
    (indoor-dynamic s1326's near person cut by the image top and bottom: 0.84–0.92× her depth in frames 3–13 and
    35–48, 1.50–1.56× in frames 14–34; docs/geometric.md, "One gap per track for the sway")."""
    cut_sway_blend: float = 0.0
    """With ``cut_sway``: a cut region whose track's sway is taken but whose own gap (``cut_sway_gap``) refuses it,
    though the sway's depth is nearer than its depth after the bound, moves this share of the way (in log depth)
    from that depth toward the sway's (:func:`~.tracking._blended_nodes`; 0 = off: it keeps the bound). The bound is
    an upper bound and the sway's estimate is 0.78–1.17× the truth, so with both in hand the truth lies between them
    more often than at the bound: indoor-dynamic s1231's near person, cut by the image bottom in every frame, sits at
    a carried bound 1.5× her depth with a sway estimate of 0.78 of it (1.17× her depth; docs/geometric.md, "Between
    the bound and the sway")."""
    cut_sway_halves: float = 0.0
    """With ``cut_sway_levels``: a track whose levels fit is taken but which explains less than this share of the
    levels (R²) on the first or the second half of its measured frame pairs is *doubtful*
    (:func:`~.tracking._sway_log_depth`): no cut region takes the sway's depth by the gap; those it is nearer than
    move ``cut_sway_blend`` of the way (0 = off: every taken track is trusted). A fit that holds on one half and not
    on the other measured the camera's levels against the person's apparent motion only where they happen to agree:
    fresh indoor-dynamic s1820 (R² 0.95, halves 0.43 / 0.96) and s1832 (0.86, halves 0.06 / 0.89) put the near cut
    person at 0.78× / 0.66× her depth. A right fit can do the same: s754's (0.95× her depth) has a half of 0.29, a
    short track with little sway there (docs/geometric.md, "A sway fit that holds on half its track")."""
    cut_sway_levels_gain: float = 1.0
    """With ``cut_sway_levels``: stage 1's camera levels are multiplied by this before the levels fit
    (:func:`~.tracking._levels_series`), so the sway's depth and its height range scale with it (1 = as measured).
    Stage 1's levels read 0.86–0.99× the true camera heights on indoor-dynamic (0.79–1.14× over the 13 clips traced
    since s28-sway, median 0.90): the two-view estimate trades the camera's vertical translation for pitch, which
    shortens the poses' vertical steps and tilts the ground plane of the depth maps (docs/geometric.md, "Stage 1's
    camera levels against the truth")."""
    cut_sway_levels_plane: bool = False
    """With ``cut_sway_levels``: the levels' normal is that of one plane through the ground pixels of all the
    frames of the movers' block in stage 1's world (:func:`~.sway.ground_points`, :func:`~.sway.camera_levels`), not the
    median of the frames' own ground normals, which the two-view pitch–height trade rolls by 0.1–0.5°
    (docs/geometric.md, "One ground plane for the camera levels")."""
    cut_track_values: bool = False
    """With ``cut_track``: a track's regions are the handled pixels joined (8-connected) only where they hold the same
    depth, so two mover regions the per-frame rules gave different depths stay apart even where they touch (off: a
    connected handled region is one region, and a region cut by the image bottom gives its track's depth to all of
    it). A farther person touching a near person cut by the image bottom, given her own depth by her own region,
    otherwise takes the near person's (indoor-dynamic s1419's person 12, 1.02× → 0.52× in frames 23–33;
    docs/geometric.md, "The phantoms next to the near person cut by the image bottom")."""
    cut_carry: int = 0
    """A mover region cut by the image bottom carries its depth along the flow, scaled by its vertical image scale,
    into the frames where the mover was missed, at most this many frames past the last frame holding a cut region:
    there the carried pixels that are not handled and that stage 1 put beyond that depth by ``underground`` take
    it (:func:`~.tracking.carry_cut_depth`; 0 = off; docs/geometric.md, "Carrying a cut
    mover's depth into the frames where it was missed")."""
    cut_carry_partial: bool = False
    """With ``cut_carry``: a carried region that lands on a region found there in part (its handled pixels cover less
    than ``CARRY_FOUND`` of it) carries on from those found pixels too, with their own depth (False: only its pixels
    not handled carry on, and the found part of a region found in part stops; :func:`~.tracking.carry_cut_depth`;
    docs/geometric.md, "A mover cut by the image's side: the border band and the lost frames of close-object 1447")."""
    carry_standing: int = 0
    """Every mover region given a depth and found in both neighbouring frames (not only a region cut by the image
    bottom) carries its depth along the flow as ``cut_carry`` carries a cut region's, into the frames, at most this
    many away, where the mover was missed and stage 1 put it beyond that depth by ``underground``
    (:func:`~.tracking.carry_cut_depth` with every row as its bottom band; 0 = off; docs/geometric.md, "The walking
    person lost after her found frames: close-object held-out 1451 / 1453 / 1455 traced")."""
    carry_standing_ring: float = 0.0
    """With ``carry_standing``: a carried pixel takes the carried depth only where stage 1 put it beyond the median
    stage-1 depth of the static ring around its landed region by more than this fraction
    (:func:`~.tracking.carry_cut_depth`'s ``ring``; 0 = off): the carried region shifted beside a found person
    covers the wall next to her, at the wall's own depth, while her phantom lies beyond the wall (docs/geometric.md,
    "The standing carry's wall strip: a ring guard")."""
    carry_standing_flagged: bool = False
    """With ``carry_standing``: a carried pixel takes the carried depth only where the segmentation flags it (the
    mover mask; :func:`~.tracking.carry_cut_depth`'s ``flagged``), or, with ``carry_standing_ring``, where it passes
    the ring's test: the wall strip the carried region covers beside a found person moves as its stage-1 depth
    predicts and is not flagged, while a person whose feet went behind a static object stays flagged in the frames
    where the frame rule finds no contact for her (docs/geometric.md,
    "The walking person lost after the near object passes: the segmentation per test")."""
    seen_contact: float = 0.0
    """The ground contact is the ground plane's depth where the ground is first seen (on the plane, not a mover)
    under the region's lowest pixels, within ``contact_rows``, rather than right under them, when that is nearer by
    more than this fraction (0 = off): a region whose lower part the segmentation missed (the body of a car ahead,
    a stage-1 hole under its found cabin) ends above its true contact."""
    up_to_horizon: float = 0.0
    """A region given a contact that stage 1 put (median, and in most of the columns of its lowest pixels) beyond
    more than this factor times that contact (an object moving along with the camera, triangulated too far) also
    gives it to the pixels above it in those columns, up to the ground plane's horizon, that stage 1 left a hole or
    put at the region's wrong depth (:func:`~.depth._up_to_horizon`; 0 = off): the ground tests flag only a car
    ahead's lower rows (its upper rows lie nearer than the ground at their own rows), and an object no taller than
    the camera ends at the horizon; a static surface in front of it (nearer) keeps its depth.
    ``GeometricConfig.movers_up_to_horizon`` applies it to a camera moving along its view only (docs/geometric.md,
    "The car ahead above its flagged rows")."""
    split_feet: float = 0.0
    """A region given a contact also gives, to each run of its columns at least this many pixels wide (at a
    320-pixel long side) whose lowest pixels end above the region's by more than ``contact_rows`` and stand on the
    ground seen within ``contact_rows`` rows under them, the ground's depth there instead, when that lies beyond the
    region's value by ``underground`` (:func:`~.depth._split_feet`; 0 = off): two people one behind the other joined
    in one mover region, the farther one's feet seen above the nearer one's (docs/geometric.md, "Fresh seeds 153 and
    154 traced")."""
    up_run: float = 0.0
    """A region given a contact that stage 1 put (median) beyond more than this factor times that contact also gives
    it, in each of its columns, to the run of pixels straight above it that are holes or beyond the contact by
    ``underground`` with no ``segment_step`` step between neighbours (:func:`~.depth._up_run`; 0 = off): a person
    walking along with a sideways camera is found only where she lies beyond the floor, her lower body; her upper
    body has the same wrong depth, smoothly, and may reach above the horizon. ``GeometricConfig.movers_side_up``
    applies it to a camera that does not move along its view (docs/geometric.md, "A person walking along with a
    sideways camera")."""
    up_beside: float = 0.0
    """A region cut by the image bottom given a depth that stage 1 put (median) beyond it by ``underground`` (a far
    phantom) also gives it, in each of its columns, to the run of pixels straight above it that are beyond it by
    ``underground``, within ``underground`` of the last triangulated one below and away from the static depth beside
    the region in the same row by more than this fraction (log; nearer or farther), holes between them too
    (:func:`~.depth._up_beside`; 0 = off): the upper body of a person walking along with a sideways camera, which
    the ground tests do not flag and ``up_run`` does not reach (the region less than twice as far as its contact,
    or flagged above the horizon). ``GeometricConfig.movers_up_beside`` applies it to a camera that does not move
    along its view (docs/geometric.md, "The phantom upper body above a found region")."""
    up_holes: float = 0.0
    """After the rules and the tracking: each region they gave a depth gives its highest pixel's depth, in each of its
    columns, to the run of unflagged stage-1 holes straight above it when that run ends at a static triangulated
    pixel within this many times the region's height in that column, less its top part coloured like the scene above
    (:func:`~.depth.up_holes`; 0 = off): the head and shoulders of a person the matcher left a hole and the flow
    checks did not flag (docs/geometric.md, "A mover's unflagged head above its found region")."""
    border_band: bool = False
    """After the rules, the tracking and ``up_holes``: each row of a region they gave a depth that reaches the edge of
    the segmentation's band along the image's left or right side (``border_px``) gives that depth to the run of band
    pixels out to the image side that stage 1 left a hole or put beyond it by ``underground``
    (:func:`~.depth.border_band`; False = off): a person cut by the image's side, found up to the band only
    (docs/geometric.md, "A mover cut by the image's side: the border band and the lost frames of close-object
    1447")."""
    side_holes: float = 0.0
    """After the rules, the tracking, ``up_holes`` and ``border_band``: each row of a region they gave a depth that is
    cut by the image bottom and whose given pixel nearest the image's left or right side lies within this many
    columns of it (at a 320-pixel long side) gives that depth to the run of pixels out to the side that are not given
    and that stage 1 left a hole or put beyond it by ``underground``, where the run reaches the side
    (:func:`~.depth.side_holes`; 0 = off): a near person entering or leaving through the image's side, whose holes
    out to the side the stage-2 fill takes from the wall behind her (docs/geometric.md, "A near person entering
    through the image's side")."""
    path_contact: float = 0.0
    """After the other rules: in each frame, an object standing in the camera's path (its columns within this many
    camera heights of the epipole at its contact's depth), whose columns show the road up to its lowest pixels and
    hide it from there up to the horizon, gives the ground's depth where the road is last seen under it to its
    pixels that stage 1 put beyond that by ``underground`` (:func:`~.path.path_contact`; 0 = off): the car ahead of
    a vehicle's camera, triangulated too far at any ratio, found or not by the segmentation.
    ``GeometricConfig.movers_path_contact`` applies it to a camera moving along its view only (docs/geometric.md,
    "The car in the camera's path")."""
    path_confidence: float = 1.0
    """With ``path_contact``: the confidence of the pixels it gives a depth, as a fraction of ``confidence`` (1 = as
    the other mover pixels). Below 1, stage 2's temporal filter and fill weigh the contact's depth (biased 0.6–1.1×
    by the road seen under the car) less than the static scenery it meets along the flow, which it otherwise pulls
    nearer around the car (docs/geometric.md, "Containing the car's corrected depth in stage 2")."""
    path_near: float = 0.0
    """With ``path_contact``: an object beside the camera's path (the other columns below the horizon) whose columns
    show the road up to its lowest pixels and hide it from there up to the horizon, and that stage 1 put (median)
    nearer than the ground where the road is last seen by more than this fraction, gives that depth to its pixels
    nearer than that (:func:`~.path.path_contact`; 0 = off): an oncoming car moves along the camera's epipolar lines,
    so the flow checks cannot see it, and stage 1 triangulates it at about v_cam / (v_cam + v_car) of its depth
    (docs/geometric.md, "Held-out seeds 88-91 of main 153e655")."""
    path_near_foot: bool = False
    """With ``path_near``: an object beside the camera's path is also found from above (:func:`~.path._feet`): in each
    column, the lowest upright run of stage-1 depth under the horizon (restarted where something nearer begins) that
    ends where the depth below steps farther by ``segment_step`` or meets the ground, with the road seen (two
    triangulated pixels in a row on the ground plane) within ``contact_rows`` under it and nothing between standing
    nearer than the ground at its row by ``path_near`` at about its depth; its contact is the ground at its own lowest
    row. The flow of a fast, far oncoming car blends into the road under it (DIS's patches): that road is
    triangulated off the plane, so the road where it is last seen lies 10–15 rows under the car and the car is not
    nearer than it by ``path_near`` (docs/geometric.md, "The far oncoming car: its foot found from above"). Pixels
    the other mover rules gave a depth are left out."""
    path_side: bool = False
    """With ``path_near``: the camera has no path (it does not move along its view): every column is beside it, so
    only the ``path_near`` rules (and ``path_near_foot``) run, whatever ``path_contact`` and the epipole are; the
    step runs with ``path_contact`` 0 (docs/geometric.md, "People triangulated too near beside a sideways
    camera")."""
    side_beside: bool = False
    """With ``path_near``: an object beside the path gives its contact only when the ground is seen left and right
    of its columns in the rows of its lowest pixels (within ``contact_rows`` columns, :func:`~.path._ground_beside`):
    a static surface whose depth steps farther at a noisy row is not taken (docs/geometric.md, "People triangulated
    too near beside a sideways camera")."""
    side_out: float = 0.0
    """With ``path_side``: an object beside the path gives its contact only when the scene beside it stands behind
    it: on at least one side of its columns (a strip ``OUT_REACH`` pixels wide, ``OUT_GAP`` away), over its rows,
    stage 1's depth (median) lies at least this multiple of that contact (:func:`~.path._stands_out`; 0 = off). A
    person standing on the floor has the room behind her, as far as her feet or farther; a patch of a static surface
    whose stage-1 depth steps farther mid-surface (7-Scenes' cabinet fronts) has more of the same surface beside it,
    at its own depth, well nearer than the contact it was given (docs/geometric.md, "A guard for
    `movers_side_near`")."""
    side_bottom: bool = False
    """With ``path_side``: the contact scan up from the ground and the upright runs found from above
    (:func:`~.path.path_contact`, :func:`~.path._feet`) reach the image's last row instead of stopping ``border_px``
    above it: a person standing in that band, the floor seen under her feet there, is found (docs/geometric.md,
    "Feet in the bottom border band")."""
    side_grow: bool = False
    """With ``path_side``: an object given its contact gives it also to the triangulated pixels 8-connected to its
    own through pixels within ``segment_step`` of its median depth and nearer than the contact by ``path_near``
    (:func:`~.path._grown`): the same person over the columns where the floor under her feet is not seen on the
    plane (docs/geometric.md, "Feet in the bottom border band")."""
    side_cut: bool = False
    """With ``path_side``: an object whose pixels, with those 8-connected to them at its depth (as ``side_grow``
    joins them), reach the image's last row takes at most the ground's depth at that row under it
    (:func:`~.path._cut_bound`): it goes on below the image, so it stands nearer than the floor there, and the ground
    found under some of its columns (beside a leg cut off) lies behind it (docs/geometric.md, "People cut by the
    image bottom: `movers_side_cut`")."""
    path_trim: float = 0.0
    """With ``path_contact``: pixels dropped from each side of an object's columns before it gives its depth (0 =
    off). DIS's patches blend the car's flow into the 6–9 pixels of scenery beside it (holes, or far road and
    buildings triangulated like the car), so those columns pass the tests too and their background takes the car's
    depth (docs/geometric.md, "The car ahead's contact and the scenery beside it")."""
    track_frames: int = 0
    """Temporal tracking of each mover's depth (:func:`~.tracking.track_mover_depth`): frames on each side whose
    overlapping mover regions' depths are pooled (0 = off). 16 helps driving and indoor-dynamic (docs/geometric.md)
    but costs static-orbit seed 3 3 %: off here; the ``cpu`` preset turns it on for a camera moving along its view
    (``GeometricConfig.movers_track_ahead``)."""
    track_missed: int = 0
    """A frame where nothing of a mover was found takes the mover depth of a handled region of a frame at most this
    many frames away (:func:`~.tracking.fill_missed_movers`; 0 = off: on driving it brings the moving pixels down
    but makes the final all-pixel AbsRel of seeds 2 and 3 worse by 2 % and 1 %, docs/geometric.md)."""
    hole_carry: int = 0
    """A given mover region followed as a shape over the holes of the frames at most this many away, where stage 1
    left the mover a hole, gives them its depth (:func:`~.tracking.carry_hole_depth`; 0 = off; docs/geometric.md,
    "... traced again: the walking person's holes")."""
