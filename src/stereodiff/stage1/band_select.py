"""Photometric depth selection in the bands along object outlines (``band_select``, issue #20).

The motion-boundary check (docs/geometric.md, "Motion boundaries") leaves bands a few pixels wide along the
outlines of the objects untriangulated, and the covered rim of such a band often carries the occluder's depth
(the matcher's foreground fattening). Yet most band pixels are visible in several of the frame's neighbours. Here
each band pixel chooses its depth among a few candidates by multi-view photometric consistency, with the poses and
intrinsics of the aligned scene (a plane sweep restricted to candidates, as in PatchMatch stereo's propagation):

1. **Band.** The holes of a frame (``~valid``; only with ``holes``) and the covered pixels within ``rim_px`` of
   one, minus the pixels flagged as moving independently (they are not static geometry).
2. **Candidates.** The depth of the first *anchor* pixel (covered, static, more than ``rim_px`` from a hole) met in
   each of the 8 directions within ``reach_px``, so both sides of an outline are candidates (with ``extrapolate``
   = g: its inverse depth extrapolated back to the pixel from the anchor g pixels further out, exact on a plane),
   and the pixel's own depth when it has one. Only *contested* pixels go on — candidates more than ``distinct``
   apart in log-depth; the others keep their depth (or stay holes, for stage 2 to fill).
3. **Poses.** The aligned poses put a frame's pixels 1–3 px off in its neighbours (docs/geometric.md, "Photometric
   depth choice in the outline bands"), as much as the parallax between the two sides of an outline, so each
   neighbour's pose is re-estimated against the frame's own anchors (:func:`refine_pose`: Lucas–Kanade tracks and
   PnP); a neighbour whose pose cannot be refined is not used.
4. **Score.** Each candidate places the pixel in the world; it is projected into the frames ``k ± offsets`` and
   the ``(2·patch + 1)²`` patch of RGB around it compared with the pixel's own patch (mean absolute difference in
   [0, 1], the patch translated: fronto-parallel at the scale of a pixel). The score is the mean of the best
   ``best_k`` frames (those where the point is in view), so occlusion in the other frames is tolerated.
5. **Choice.** The best candidate is taken when it beats every candidate of a distinct depth by ``margin``;
   otherwise the pixel is left as it was. A hole that takes a depth becomes valid at the chosen anchor's
   confidence times ``confidence_share``.

Frames are handled one at a time (each reads its own RGB frames at the scene's resolution and its neighbours' poses),
so memory does not grow with the video's length.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.camera import rigid_transform
from stereodiff.flow import area_resized
from stereodiff.io.pages import new_array, release
from stereodiff.progress import thread_map
from stereodiff.types import SceneGeometry

__all__ = ["BandSettings", "band_select", "select_frame", "unit_rgb"]

_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))  # (dy, dx)


@dataclass(frozen=True)
class BandSettings:
    """Knobs of :func:`band_select` (pixels at the scene's resolution; costs are mean absolute RGB differences in
    [0, 1])."""

    rim_px: int = 3
    reach_px: int = 12
    offsets: tuple[int, ...] = (5, 10, 15)
    best_k: int = 3
    patch: int = 1
    margin: float = 0.002
    distinct: float = 0.15
    confidence_share: float = 0.5
    extrapolate: int = 4
    holes: bool = False


def band_select(
    frames: Any,
    scene: SceneGeometry,
    moving: np.ndarray | None,
    settings: BandSettings | None = None,
    out_dir: Path | None = None,
    num_workers: int = 2,
) -> SceneGeometry:
    """The scene with the depth of its outline bands chosen photometrically (module docstring).

    Args:
        frames: ``[T,H,W,3]`` uint8 RGB (array-like, read per frame), any resolution (area-resized to the scene's).
        scene: the aligned stage-1 scene (``[T,h,w]`` depth, confidence, validity, poses, intrinsics; may be
            memmaps).
        moving: ``[T,h,w]`` bool pixels moving independently (left alone), or ``None``.
        settings: knobs; ``None`` = defaults.
        out_dir: when given, the new depth, confidence and validity are memmaps there (``band_*.npy``).
        num_workers: threads over the frames; the output does not depend on it.

    Returns:
        a new ``SceneGeometry`` with the band depth, confidence and validity replaced (cameras unchanged).
    """
    s = settings or BandSettings()
    t, h, w = scene.depth.shape
    depth_out, confidence_out, valid_out = (
        new_array(out_dir, f"band_{name}", (t, h, w), dtype)
        for name, dtype in (("depth", np.float32), ("confidence", np.float32), ("valid", np.bool_))
    )
    intrinsics = scene.intrinsics()  # [T,3,3]
    poses = np.asarray(scene.cam_to_world, dtype=np.float64)

    def work(k: int) -> None:
        others = [j for o in s.offsets for j in (k - o, k + o) if 0 <= j < t]
        images = {j: unit_rgb(frames[j], (h, w)) for j in [k, *others]}
        relative = [np.linalg.inv(poses[j]) @ poses[k] for j in others]
        depth, confidence = select_frame(
            images[k],
            np.asarray(scene.depth[k], np.float32),
            np.asarray(scene.valid[k], bool),
            np.asarray(scene.confidence[k], np.float32),
            np.zeros((h, w), bool) if moving is None else np.asarray(moving[k], bool),
            intrinsics[k],
            [(images[j], intrinsics[j], rel) for j, rel in zip(others, relative, strict=True)],
            s,
        )
        depth_out[k], confidence_out[k], valid_out[k] = depth, confidence, depth > 0
        release(scene.depth, scene.confidence, scene.valid, depth_out, confidence_out, valid_out, moving)

    thread_map(work, range(t), num_workers, "stage 1: band selection")
    # (not flushed: as the fusion's arrays, save_scene flushes what the scene keeps; a killed run redoes the step)
    return dataclasses.replace(scene, depth=depth_out, confidence=confidence_out, valid=valid_out)


def select_frame(
    image: np.ndarray,
    depth: np.ndarray,
    valid: np.ndarray,
    confidence: np.ndarray,
    moving: np.ndarray,
    K: np.ndarray,
    views: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    s: BandSettings,
) -> tuple[np.ndarray, np.ndarray]:
    """Depth and confidence ``[h,w]`` of one frame with its band chosen photometrically.

    Args:
        image: ``[h,w,3]`` float32 RGB in [0, 1] of the frame.
        depth, valid, confidence, moving: ``[h,w]`` the frame's stage-1 depth (0 on holes), validity, confidence
            and mover mask.
        K: ``[3,3]`` intrinsics at ``(h, w)``.
        views: per other frame ``(image [h,w,3], K [3,3], T [4,4])`` with ``T`` mapping this camera's
            coordinates to the other's (``X_j = T X_k``).
        s: knobs.
    """
    import cv2

    valid = valid & (depth > 0)
    depth_new, confidence_new = depth.astype(np.float32), np.where(valid, confidence, 0).astype(np.float32)
    if valid.all() or not valid.any() or len(views) < s.best_k:
        return depth_new, confidence_new
    hole_distance = cv2.distanceTransform(valid.astype(np.uint8), cv2.DIST_L2, 5)  # 0 on holes
    band = (hole_distance <= s.rim_px) & ~moving
    anchor = valid & (hole_distance > s.rim_px) & ~moving
    ys, xs = np.nonzero(band if s.holes else band & valid)
    candidates, sources = _candidates(ys, xs, depth, confidence, anchor, valid, s.reach_px, s.extrapolate)  # [N,C]
    present = candidates > 0
    least = np.min(np.where(present, candidates, np.inf), axis=1)
    spread = np.log(np.max(candidates, axis=1) / np.where(np.isfinite(least), least, np.max(candidates, axis=1) + 1))
    contested = present.any(axis=1) & (spread > s.distinct)  # the others keep their depth (or their hole)
    ys, xs, candidates, sources, present = (a[contested] for a in (ys, xs, candidates, sources, present))
    if len(ys) == 0:
        return depth_new, confidence_new
    refined = [(other, K_j, refine_pose(image, other, depth, anchor, K, K_j, T)) for other, K_j, T in views]
    views = [(other, K_j, T) for other, K_j, T in refined if T is not None]
    if len(views) < s.best_k:
        return depth_new, confidence_new
    cost = _costs(image, ys, xs, candidates, K, views, s)  # [N,C], inf where unscored
    best = np.argmin(cost, axis=1)
    rows = np.arange(len(ys))
    best_cost, best_depth = cost[rows, best], candidates[rows, best]
    scored = np.isfinite(best_cost) & (best_depth > 0)  # a missing candidate costs inf
    ratio = np.where(present, candidates, 1.0) / np.where(scored, best_depth, 1.0)[:, None]
    rival = np.min(np.where((np.abs(np.log(ratio)) > s.distinct) & present, cost, np.inf), axis=1)
    take = scored & (~np.isfinite(rival) | (rival - np.where(scored, best_cost, 0.0) > s.margin))
    ty, tx = ys[take], xs[take]
    depth_new[ty, tx] = best_depth[take]
    was_hole = ~valid[ty, tx]
    confidence_new[ty[was_hole], tx[was_hole]] = s.confidence_share * sources[take][was_hole, best[take][was_hole]]
    return depth_new, confidence_new


def _candidates(
    ys: np.ndarray,
    xs: np.ndarray,
    depth: np.ndarray,
    confidence: np.ndarray,
    anchor: np.ndarray,
    valid: np.ndarray,
    reach: int,
    extrapolate: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``[N, 9]`` candidate depths of the band pixels ``(ys, xs)`` (0 = none) — the first anchor in each of the 8
    directions within ``reach`` pixels, then the pixel's own depth — and ``[N, 9]`` their confidences."""
    h, w = depth.shape
    n = len(ys)
    cand = np.zeros((n, len(_DIRECTIONS) + 1), np.float32)
    conf = np.zeros_like(cand)
    for c, (dy, dx) in enumerate(_DIRECTIONS):
        open_ = np.ones(n, bool)
        for step in range(1, reach + 1):
            y, x = ys + step * dy, xs + step * dx
            inside = open_ & (y >= 0) & (y < h) & (x >= 0) & (x < w)
            hit = np.zeros(n, bool)
            hit[inside] = anchor[y[inside], x[inside]]
            cand[hit, c] = depth[y[hit], x[hit]]
            conf[hit, c] = confidence[y[hit], x[hit]]
            if extrapolate:
                cand[hit, c] = _extrapolated(depth, anchor, y[hit], x[hit], dy, dx, step, cand[hit, c], extrapolate)
            open_ &= ~hit & inside
            if not open_.any():
                break
    own = valid[ys, xs]
    cand[own, -1] = depth[ys[own], xs[own]]
    conf[own, -1] = confidence[ys[own], xs[own]]
    return cand, conf


def _extrapolated(
    depth: np.ndarray,
    anchor: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    dy: int,
    dx: int,
    step: int,
    near: np.ndarray,
    gap: int,
) -> np.ndarray:
    """``[M]`` depth at ``step`` pixels back from the anchors ``(y, x)`` (``near``: their depth) along ``-(dy, dx)``,
    inverse depth extrapolated linearly from the anchor ``gap`` pixels further out (exact on a plane); the anchor's
    own depth where that pixel is no anchor or the extrapolation leaves ``[near / 2, 2 near]``."""
    h, w = depth.shape
    y2, x2 = y + gap * dy, x + gap * dx
    inside = (y2 >= 0) & (y2 < h) & (x2 >= 0) & (x2 < w)
    far = np.zeros(len(y), np.float32)
    far[inside] = np.where(anchor[y2[inside], x2[inside]], depth[y2[inside], x2[inside]], 0)
    ok = far > 0
    inverse = 1 / near + step * (1 / near - 1 / np.where(ok, far, 1)) / gap
    out = np.where(ok & (inverse > 0), 1 / np.where(inverse > 0, inverse, 1), near)
    return np.where((out > near / 2) & (out < 2 * near), out, near).astype(np.float32)


def _costs(
    image: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    candidates: np.ndarray,
    K: np.ndarray,
    views: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    s: BandSettings,
) -> np.ndarray:
    """``[N,C]`` photometric cost of each candidate depth: mean of the ``best_k`` smallest per-view patch costs
    (``inf`` where the point is in view in fewer than ``best_k`` views, or the candidate is missing)."""
    import cv2

    h, w = image.shape[:2]
    n, num_c = candidates.shape
    offsets = [(dy, dx) for dy in range(-s.patch, s.patch + 1) for dx in range(-s.patch, s.patch + 1)]
    ref = np.stack([image[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)] for dy, dx in offsets], 1)
    rays = np.linalg.solve(K, np.stack([xs, ys, np.ones(n)]).astype(np.float64))  # [3,N]
    per_view = np.full((len(views), n, num_c), np.nan, np.float32)
    d = candidates.astype(np.float64)  # [N,C]
    for v, (other, K_j, T) in enumerate(views):
        rotated = T[:3, :3] @ rays  # [3,N]
        points = d[None] * rotated[:, :, None] + T[:3, 3, None, None]  # [3,N,C]
        z = points[2]
        ok = (z > 1e-6) & (d > 0)
        z_safe = np.where(ok, z, 1.0)
        u = K_j[0, 0] * points[0] / z_safe + K_j[0, 2]
        vv = K_j[1, 1] * points[1] / z_safe + K_j[1, 2]
        ok &= (u >= s.patch) & (u <= w - 1 - s.patch) & (vv >= s.patch) & (vv <= h - 1 - s.patch)
        total = np.zeros((n, num_c), np.float32)
        for p, (dy, dx) in enumerate(offsets):
            map_x, map_y = (u + dx).astype(np.float32), (vv + dy).astype(np.float32)  # [N,C]
            sampled = cv2.remap(other, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # [N,C,3]
            total += np.abs(sampled - ref[:, p, None, :]).mean(axis=2)
        per_view[v] = np.where(ok, total / len(offsets), np.nan)
    ranked = np.sort(per_view, axis=0)  # NaN last
    seen = np.isfinite(ranked[: s.best_k]).all(axis=0)
    return np.where(seen, ranked[: s.best_k].mean(axis=0), np.inf)


def refine_pose(
    image: np.ndarray,
    other: np.ndarray,
    depth: np.ndarray,
    anchor: np.ndarray,
    K: np.ndarray,
    K_j: np.ndarray,
    T: np.ndarray,
) -> np.ndarray | None:
    """``T [4,4]`` (this camera → the other's) re-estimated against the frame's own depth, or ``None``.

    The aligned poses of a video reproject a frame's pixels into its neighbours 1–3 px off (their errors compose
    along the alignment's tree), which is as large as the parallax between the two sides of an outline. So
    ``_CORNERS`` corners of the anchor pixels (``anchor [h,w]`` bool) are tracked into ``other`` with pyramidal
    Lucas–Kanade (started at their reprojection by ``T``; forward–backward within 0.5 px), and the pose is solved
    by RANSAC PnP from their 3-D points (``depth [h,w]``, ``K``) and tracked positions (``K_j``), then refined on
    the inliers (Levenberg–Marquardt). ``None`` when fewer than ``_MIN_TRACKS`` corners survive.

    Args:
        image, other: ``[h,w,3]`` float32 RGB in [0, 1] of this frame and the other.
    """
    import cv2

    grey = (cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) * 255).astype(np.uint8)
    grey_j = (cv2.cvtColor(other, cv2.COLOR_RGB2GRAY) * 255).astype(np.uint8)
    corners = cv2.goodFeaturesToTrack(grey, _CORNERS, 0.01, 5, mask=anchor.astype(np.uint8))
    if corners is None or len(corners) < _MIN_TRACKS:
        return None
    xy = corners.reshape(-1, 2).astype(np.float64)
    z = depth[xy[:, 1].round().astype(int), xy[:, 0].round().astype(int)].astype(np.float64)
    points = z[:, None] * np.linalg.solve(K, np.column_stack([xy, np.ones(len(xy))]).T).T  # [N,3]
    moved = rigid_transform(points, T)
    guess = (moved[:, :2] / np.maximum(moved[:, 2:], 1e-6)) * np.diag(K_j)[:2] + K_j[:2, 2]
    lk = {"winSize": (15, 15), "maxLevel": 2, "flags": cv2.OPTFLOW_USE_INITIAL_FLOW}
    start = xy.astype(np.float32).reshape(-1, 1, 2)
    found, ok, _ = cv2.calcOpticalFlowPyrLK(grey, grey_j, start, guess.astype(np.float32).reshape(-1, 1, 2), **lk)
    back, ok_back, _ = cv2.calcOpticalFlowPyrLK(grey_j, grey, found, start.copy(), **lk)
    good = (ok[:, 0] == 1) & (ok_back[:, 0] == 1) & (np.linalg.norm((back - start)[:, 0], axis=1) < 0.5)
    if good.sum() < _MIN_TRACKS:
        return None
    rvec, _ = cv2.Rodrigues(T[:3, :3])
    tvec = T[:3, 3].reshape(3, 1).copy()
    solved, rvec, tvec, inliers = cv2.solvePnPRansac(
        points[good], found[good, 0].astype(np.float64), K_j, None, rvec, tvec, useExtrinsicGuess=True,
        reprojectionError=1.0, iterationsCount=100, flags=cv2.SOLVEPNP_ITERATIVE,
    )  # fmt: skip
    if not solved or inliers is None or len(inliers) < _MIN_TRACKS:
        return None
    inliers = inliers[:, 0]
    rvec, tvec = cv2.solvePnPRefineLM(points[good][inliers], found[good, 0][inliers].astype(np.float64), K_j, None,
                                      rvec, tvec)  # fmt: skip
    refined = np.eye(4)
    refined[:3, :3] = cv2.Rodrigues(rvec)[0]
    refined[:3, 3] = tvec[:, 0]
    return refined


_CORNERS = 400  # corners tracked per view by refine_pose
_MIN_TRACKS = 30  # least tracked corners (and PnP inliers) to trust a refined pose


def unit_rgb(frame: Any, size: tuple[int, int]) -> np.ndarray:
    """``[h,w,3]`` float32 RGB in [0, 1] of an ``[H,W,3]`` uint8 frame, area-resized to ``size = (h, w)``."""
    return area_resized(frame, size).astype(np.float32) / 255.0
