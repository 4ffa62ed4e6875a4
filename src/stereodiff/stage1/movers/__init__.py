"""Independently moving objects in the geometric stage 1: find them, and give them depth that holds for movers.

Two-view triangulation assumes a static world: a pixel that moves on its own is triangulated with the camera's
motion and gets a depth that is wrong by any amount (a car driving ahead of the camera at its speed comes out
near infinity; a person walking along with a sideways camera lands on the wall behind). This package runs after the
global alignment and fusion, on the aligned scene (depth, poses, intrinsics):

1. **Segmentation** (:func:`~.segmentation.segment_movers`), from three kinds of evidence:
   - *flow against the rigid flow of the static scene*: for every frame and its neighbours at ``offsets`` (both
     sides), the DIS flow (forward–backward checked, not near the image border) is compared with the flow the
     aligned scene predicts — the stage-1 depth, holes filled with their nearest triangulated depth, moved by the
     pair's camera pose (PnP on the stage-1 depth and the flow: movers are its outliers) and projected. A pixel
     disagreeing by more than ``residual_px + residual_rel·|rigid flow|`` in most of its checks is flagged;
     pixels flagged by any check join a flagged region they touch (hysteresis); where no pair at ``offsets`` has
     consistent flow and stage 1 left a hole (a fast or deforming mover), the checks at ``short_offsets`` decide;
   - *beyond the ground*: per frame, the ground plane (a plane in inverse depth over the image, RANSAC on the
     lowest third, :func:`~.ground.ground_depth`); a region that stage 1 put beyond it — impossible for a static
     surface, the ground would hide it — and that stands on it (ground seen under its bottom edge) moves along
     with the camera (:func:`~.ground.underground`);
   - *contact segments* (``segment_step``): the stage-1 depth cut into smooth segments at depth steps (and, with
     ``ground_cut``, at the ground plane); a segment standing on the ground whose lowest pixels lie beyond the
     ground under them is a mover as a whole — all of a car driving ahead, whose upper body is not beyond the
     ground at its own rows (:func:`~.ground.contact_segments`);
     with ``floating``, an upright segment nearer than its contact too (an oncoming car);
   - *temporal consistency*: a region is kept only if the neighbouring frames flag pixels near it, and if it
     covers ``min_area`` of the frame.
2. **Depth from constraints that hold for movers** (per region, :func:`~.depth.mover_depth`):
   - *ground contact*: an object standing on the ground is as far as the ground under its lowest pixels — the
     ground plane's depth there; given when the ground is seen under the region (or the region reaches the image
     bottom, where the ground at the bottom row bounds its depth) and stage 1 put the region beyond the ground (a
     static surface with a wrong stage-1 depth is flagged by the flow too, but is never beyond the ground: it keeps
     its depth) or left it mostly untriangulated; with ``seen_contact``, the ground where it is first seen under
     them when that is nearer (a car ahead whose body under its found cabin is a hole);
   - *oncoming objects* (``oncoming``): an upright region standing on a road but nearer than the road under it (no
     static object standing there can be) takes that contact, with its unflagged lower part
     (:func:`~.depth.oncoming_contact`; with ``oncoming_trim``, its pixels nearer than the ground at their own row
     alone, when flagged road under it set the contact);
   - *a mover merged with flagged static pixels* (``beyond_part``): the region's blob beyond the ground, twice as
     far as its own contact, gives that contact to the region's pixels at or above it that lie beyond it
     (:func:`~.depth._beyond_part`);
   - *occlusion order* (``hole_bound``): an occluder is nearer than what it hides — an untriangulated region
     without a contact gets a low percentile of the depth in a ring around it;
   - otherwise stage 1's depth is kept, and a hole stays a hole for stage 2 to fill.
   A region gets one depth (a fronto-parallel plane, the classical stand-in when a mover's shape is unknown) at the
   static pixels' median confidence, so stage 2's flow-guided temporal filter tracks and smooths it over time.
3. **Temporal tracking** (``track_frames``, :func:`~.tracking.track_mover_depth`): each region's depth is pooled
   with the mover depths of the regions overlapping it in the neighbouring frames (one frame's contact is noisy),
   and a region missed in a frame between tracked ones gets the tracked depth.
   With ``cut_track`` (:func:`~.tracking.track_cut_depth`), a region cut by the image bottom, whose ground contact is
   only an upper bound, takes the tightest bound of its track (regions linked by the flow), carried to its frame by
   the ratio of their vertical image scales; with ``cut_sway`` (:mod:`~.sway`), a track whose camera swayed along
   the ground normal takes the depth that motion implies for a mover moving parallel to the ground, when nearer.
   With ``oncoming_carry`` (:func:`~.tracking.carry_oncoming_depth`), a region the oncoming test gave its contact is
   followed as its stage-1 phantom into the frames where nothing of it was flagged, and takes its own contact there
   when it passes the same test.

Limits (measured, docs/geometric.md): an object crossing close to the camera fast (``close-object``, 30 px per
frame) has no consistent flow and no ground contact, and is not found; a mover moving along its epipolar lines at a
steady speed is consistent with the rigid flow at a wrong depth, and is found only through the ground.

Modules, one step each: ``settings`` (:class:`MoverSettings`, the knobs), ``segmentation`` (step 1: flow checks
and the regions), ``ground`` (the ground plane, what stands on it and what lies beyond it: evidence for step 1,
contact geometry for step 2), ``depth`` (step 2, one frame), ``tracking`` (step 3) and ``sway`` (its depth cue from
the camera's motion along the ground normal), ``runner``
(:func:`handle_movers`: the video in blocks of frames, on worker threads) and ``shared`` (what neighbouring blocks
share).
"""

from stereodiff.stage1.movers.runner import handle_movers
from stereodiff.stage1.movers.settings import MoverSettings

__all__ = ["MoverSettings", "handle_movers"]
