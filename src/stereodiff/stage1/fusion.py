"""Per-frame depth of the geometric matcher fused from all its pairs, and the holes of the aligned depth.

After ``global_alignment``, :func:`fuse_pair_depths` replaces each frame's single-pair depth by the fusion of all
its pairs (one closed-form log-scale per pair), and :func:`untriangulated_mask` marks the fallback pixels of the
alignment's own depth. :func:`nearest_fill` gives a frame's holes the depth of their nearest valid pixel (the
movers' stand-in for a hole's depth, and the baseline a hole filler must beat).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from stereodiff.channels import channel_norm, channel_sum
from stereodiff.io.pages import new_array, release
from stereodiff.masks import large_regions, within
from stereodiff.progress import thread_map
from stereodiff.robust import weighted_median
from stereodiff.types import PairPredictions, SceneGeometry

__all__ = [
    "WeakRim",
    "fuse_pair_depths",
    "kept_pixels",
    "leave_weak_rim",
    "near_regions",
    "nearest_fill",
    "nearest_values",
    "other_centres",
    "pair_chain_poses",
    "untriangulated_mask",
]


def fuse_pair_depths(
    preds: PairPredictions,
    geometry: SceneGeometry,
    *,
    stride: int = 2,
    out_dir: Path | None = None,
    num_workers: int = 2,
    view_offsets: bool = False,
    near_bound: tuple[float, int, float] | None = None,
    spread: bool = False,
) -> SceneGeometry:
    """Per-frame depth fused from every pair of this matcher, with one log-scale per pair solved over all pairs.

    ``global_alignment`` takes each frame's depth from ONE pair of its spanning tree: pixels that pair could not
    triangulate are holes, the depth carries that single pair's noise, and a wrong tree registration or PnP pose
    shows as a per-frame scale error. Here every pair is used instead. This matcher computes both directions of an
    unordered pair ``e = {k, j}`` at one scale ``exp(a_e)``, and its own-camera pointmaps are exact pinhole depth
    maps ``z_e^k`` (``pts_i[..., 2]`` of the directed pair ``(k, j)``). So, in closed form:

    1. for every frame ``k``, each pair ``e ∋ k`` is compared with the pair of ``k`` that triangulated the most
       pixels, ``e*``: ``a_e − a_e* = weighted median of (log z_e*^k − log z_e^k)`` over the pixels both
       triangulated (confidence > 1; weights ``sqrt((c − 1)(c* − 1))``; every ``stride``-th pixel);
    2. one sparse least-squares problem over all these equations gives the pair log-scales ``a`` (gauge: mean 0),
       each equation weighted by the inverse variance of its log-ratios (:func:`_agreement_weight`: a pair with a
       wrong pose disagrees in shape with the frame's best pair and counts for little);
    3. fused log-depth of frame ``k`` = the ``(c − 1)``-weighted mean of ``log z_e^k + a_e`` over its pairs; the
       fused confidence is ``1 + Σ (c − 1)``; pixels no pair triangulated stay invalid (depth 0); a frame that is
       never the first frame of a pair keeps its aligned depth;
    4. the result is brought to the alignment's global scale (median log-ratio to the tree depth at triangulated
       pixels), so poses, focals and world scale of ``geometry`` still apply.

    Args:
        preds: this matcher's pair predictions (may be memmaps; read one pair at a time).
        geometry: ``global_alignment(preds, ...)`` of the same predictions (for the global scale and the poses).
        stride: pixel subsampling of the scale comparisons of step 1.
        out_dir: when given, ``fused_depth.npy``, ``fused_confidence.npy`` and ``fused_valid.npy`` are memmaps there.
        num_workers: threads for the per-frame steps 1 and 3 (numpy releases the GIL); the output does not depend
            on it.
        view_offsets: also solve a log-scale offset ``τ`` of each pair's second view (a smooth function of the
            pair's middle frame, observable through the graph's loops): :func:`_solve_log_scales`.
        near_bound: ``(lo, window, min_area)``: in step 3, each view leaves out its pixels nearer than ``lo`` times
            the frame's reference depth, the median over the frames within ``window`` frames of its own of
            :func:`_reference_log_depths`'s frame medians (every view's median log depth at the scales of step 2,
            then the median over the frame's views), unless that makes holes of fewer than ``min_area`` of the
            frame's pixels (then the frame is fused without it). A lower depth bound the movers of a few frames
            cannot pull (``GeometricConfig.depth_range_window``); the matcher's bound against the view's own median
            stays, so this only rejects more (the views whose median the movers pulled below the window's).
            ``None`` = off.
        spread: also return each pixel's weighted standard deviation of the scaled log depths of step 3
            (``SceneGeometry.pair_spread``; ``fused_spread.npy`` in ``out_dir`` when given).

    Returns:
        a ``SceneGeometry`` with the fused ``depth [T,h,w]``, ``confidence`` and ``valid`` (and with ``spread``
        its ``pair_spread``) and the input's focal, principal point and poses; ``alignment`` is the input's with
        ``pair_log_scales`` (``[P]``, per directed pair).
    """
    num_frames = preds.num_frames
    h, w = preds.size
    pairs = preds.pairs
    edge_of = {}
    for i, j in pairs.tolist():
        edge_of.setdefault((min(i, j), max(i, j)), len(edge_of))
    pair_edge = np.array([edge_of[(min(i, j), max(i, j))] for i, j in pairs.tolist()], dtype=np.int64)
    second = (pairs[:, 0] > pairs[:, 1]).astype(np.int64)  # [P] 1 where the pair's own frame is its edge's later one
    by_frame: dict[int, list[int]] = {}
    for p, k in enumerate(pairs[:, 0].tolist()):
        by_frame.setdefault(k, []).append(p)

    def view(p: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """log depth and weight (confidence − 1, 0 where untriangulated) of frame pairs[p, 0] in pair p."""
        z = np.asarray(preds.pts_i[p, ::step, ::step, 2], dtype=np.float64)
        weight = np.asarray(preds.conf_i[p, ::step, ::step], dtype=np.float64) - 1.0
        weight = np.where(z > 0, np.maximum(weight, 0.0), 0.0)
        return np.log(np.where(weight > 0, z, 1.0)), weight

    view_median = np.full(len(pairs), np.nan)  # [P] median log depth of each view's triangulated pixels (near_bound)

    # 1. Scale equations a_e − a_e* = r between the pairs of each frame, weighted by their agreement
    def equations(k: int) -> list[tuple[int, int, float, float]]:
        """``(e, e*, r, weight)`` of the pairs of frame ``k``."""
        views = [(p, *view(p, stride)) for p in by_frame.get(k, [])]
        release(preds.pts_i, preds.conf_i)  # pages read from the pair cache leave the RSS
        views = [v for v in views if (v[2] > 0).sum() >= 50]
        if near_bound is not None:
            for p, log_z, weight in views:
                view_median[p] = np.median(log_z[weight > 0])
        if len(views) < 2:
            return []
        best_p, best_log_z, best_weight = max(views, key=lambda v: (v[2] > 0).sum())
        found = []
        for p, log_z, weight in views:
            both = (weight > 0) & (best_weight > 0)
            if p != best_p and both.sum() >= 50:
                ratio, pixel_weight = best_log_z[both] - log_z[both], np.sqrt(weight[both] * best_weight[both])
                median = float(weighted_median(ratio, pixel_weight))
                weight_e = _agreement_weight(ratio - median, pixel_weight)
                found.append((pair_edge[p], pair_edge[best_p], median, weight_e, second[p], second[best_p]))
        return found

    found = [eq for eqs in thread_map(equations, range(num_frames), num_workers, "fusion: pair scales") for eq in eqs]
    columns = [np.array([eq[n] for eq in found]) for n in range(6)]
    edge_frames = np.array(list(edge_of), dtype=np.int64).reshape(-1, 2)
    middle = (edge_frames.sum(1) // 2) if view_offsets else None  # [E] the frame of each pair's view offset

    # 2. Weighted sparse least squares for the pair log-scales (gauge row: their mean is 0)
    edge_log_scales, offsets = _solve_log_scales(*columns, len(edge_of), num_frames, middle)
    view_offset = np.zeros(len(pairs)) if offsets is None else second * offsets[middle[pair_edge]]  # [P]
    view_log_scale = edge_log_scales[pair_edge] + view_offset  # [P] each view's log-scale to the common scale
    floor = np.full(len(pairs), -np.inf)  # [P] log depth (the view's own scale) at or below which pixels are left out
    if near_bound is not None:
        lo, window, min_area = near_bound
        reference = _reference_log_depths(view_median + view_log_scale, pairs[:, 0], num_frames, window)[pairs[:, 0]]
        floor = np.where(np.isfinite(reference), np.log(lo) + reference - view_log_scale, -np.inf)

    # 3. Weighted mean of the scaled log depths of each frame
    shape = (num_frames, h, w)
    depth = new_array(out_dir, "fused_depth", shape, np.float32)
    confidence = new_array(out_dir, "fused_confidence", shape, np.float32)
    valid = new_array(out_dir, "fused_valid", shape, np.bool_)
    pair_spread = new_array(out_dir, "fused_spread", shape, np.float32) if spread else None
    sources = _tree_sources(preds, geometry)  # holes are read one frame at a time: memory flat in T
    near_holes = np.zeros(num_frames, np.int64)  # [T] pixels near_bound left without any view

    def fuse(k: int) -> float | None:
        """Fused depth of frame ``k`` (at the pairs' scale); its median log-ratio to the tree depth, if any."""
        acc = np.zeros((h, w))
        weight_sum = np.zeros((h, w))
        square = np.zeros((h, w)) if spread else None  # Σ weight × log depth², for pair_spread
        cut = np.zeros((h, w), bool)  # pixels near_bound left out of a view
        kept: list[tuple[np.ndarray, np.ndarray]] = []  # what near_bound left out: (log depth, weight) of each view
        for p in by_frame.get(k, []):
            log_z, weight = view(p)
            scaled = log_z + edge_log_scales[pair_edge[p]] + view_offset[p]
            if floor[p] > -np.inf:
                below = (log_z <= floor[p]) & (weight > 0)
                if below.any():
                    kept.append((scaled, np.where(below, weight, 0.0)))
                    weight[below] = 0.0
                    cut |= below
            acc += weight * scaled
            weight_sum += weight
            if square is not None:
                square += weight * scaled**2
        ok = weight_sum > 0
        made = int((cut & ~ok).sum())  # pixels the bound made holes
        if kept and made < min_area * h * w:  # a sliver at the bound, not a mover that pulled the median: undone
            for log_z, weight in kept:
                acc += weight * log_z
                weight_sum += weight
                if square is not None:
                    square += weight * log_z**2
            ok, made = weight_sum > 0, 0
        near_holes[k] = made
        log_depth = acc / np.maximum(weight_sum, 1e-12)
        ref = ok & ~_frame_holes(preds, sources, k) & np.asarray(geometry.valid[k])
        depth[k] = np.where(ok, np.exp(log_depth), 0.0)
        confidence[k] = np.where(ok, 1.0 + weight_sum, 0.0)
        valid[k] = ok
        if pair_spread is not None:
            variance = square / np.maximum(weight_sum, 1e-12) - log_depth**2
            pair_spread[k] = np.where(ok, np.sqrt(np.maximum(variance, 0.0)), 0.0)
        release(preds.pts_i, preds.conf_i, geometry.depth, geometry.valid, depth, confidence, valid)
        return np.median(np.log(np.asarray(geometry.depth[k])[ref]) - log_depth[ref]) if ref.sum() >= 50 else None

    gauge = [g for g in thread_map(fuse, range(num_frames), num_workers, "fusion: depth") if g is not None]
    if near_bound is not None:
        from stereodiff.progress import logger

        logger.info(
            "fusion: the near bound against the %d-frame window's median made %.2f %% of the pixels holes "
            "(%d frames with ≥ 1 %%)",
            2 * near_bound[1] + 1,
            100 * near_holes.sum() / (num_frames * h * w),
            int((near_holes >= 0.01 * h * w).sum()),
        )

    # 4. The alignment's global scale
    scale = float(np.exp(np.median(gauge))) if gauge else 1.0
    for k in range(num_frames):
        if k in by_frame:
            depth[k] *= scale
        else:  # a frame that is never the first of a pair keeps its aligned depth (holes invalid)
            ok = np.asarray(geometry.valid[k]) & ~_frame_holes(preds, sources, k)
            depth[k] = np.where(ok, geometry.depth[k], 0.0)
            confidence[k] = np.where(ok, geometry.confidence[k], 0.0)
            valid[k] = ok
        release(depth, geometry.depth, geometry.valid, geometry.confidence, confidence, valid)
    # (not flushed: the page cache holds the memmaps' data for every reader, a killed run redoes the fusion from the
    # pairs, the movers step deletes these files, and save_scene flushes the arrays it keeps before its done marker)
    record = dataclasses.replace(geometry.alignment, pair_log_scales=edge_log_scales[pair_edge] + np.log(scale))
    return SceneGeometry(
        depth=depth,
        confidence=confidence,
        focal=geometry.focal,
        principal_point=geometry.principal_point,
        cam_to_world=geometry.cam_to_world,
        valid=valid,
        alignment=record,
        pair_spread=pair_spread,
    )


def _reference_log_depths(
    view_log_depths: np.ndarray, own_frames: np.ndarray, num_frames: int, window: int
) -> np.ndarray:
    """``[T]`` reference log depth of every frame for ``near_bound``: each frame's median over its views of
    ``view_log_depths [P]`` (a view's median log depth at the common scale; NaN: no median), then the median of those
    over the frames within ``window`` frames of it (NaN where the window has none). ``own_frames [P]``: each view's
    frame. A mover that fills a large part of a few frames pulls their own medians, not the window's."""
    frame = np.full(num_frames, np.nan)
    for k in range(num_frames):
        values = view_log_depths[(own_frames == k) & np.isfinite(view_log_depths)]
        if len(values):
            frame[k] = np.median(values)
    reference = np.full(num_frames, np.nan)
    for k in range(num_frames):
        values = frame[max(0, k - window) : k + window + 1]
        values = values[np.isfinite(values)]
        if len(values):
            reference[k] = np.median(values)
    return reference


def near_regions(
    geometry: SceneGeometry, lo: float, window: int, min_area: float, reach: float
) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame, [h,w] bool)`` for each frame of the fused ``geometry`` with regions that lie nearer than ``lo``
    times its reference depth (the median, over the frames within ``window`` of it, of each frame's median log depth)
    as a whole: each 8-connected region of pixels nearer than ``lo × reach`` is marked when its median depth is
    nearer than ``lo``. A region decides for all of its pixels, so a mover's phantom whose depth straddles the bound
    is cut whole or kept whole, never in part. A frame where fewer than ``min_area`` of its pixels would be marked
    marks none (a few pixels at the bound are its noise, not a mover). One frame's mask at a time: memory flat in the
    video's length."""
    import cv2
    from scipy import ndimage

    depth, valid = geometry.depth, geometry.valid
    num_frames, h, w = depth.shape
    medians = np.full(num_frames, np.nan)
    for k in range(num_frames):
        ok = np.asarray(valid[k])
        if ok.any():
            medians[k] = np.median(np.log(np.asarray(depth[k])[ok]))
    reference = _reference_log_depths(medians, np.arange(num_frames), num_frames, window)
    floor = max(min_area * h * w, 1)
    for k in np.flatnonzero(np.isfinite(reference)):
        log_z = np.log(np.where(np.asarray(valid[k]), np.asarray(depth[k], np.float64), np.inf))
        near = log_z < np.log(lo * reach) + reference[k]
        if near.sum() < floor:
            continue
        count, labels = cv2.connectedComponents(near.astype(np.uint8), connectivity=8)
        cut = np.zeros(count, bool)
        cut[1:] = np.asarray(ndimage.median(log_z, labels, np.arange(1, count))) < np.log(lo) + reference[k]
        frame = cut[labels]
        if frame.sum() >= floor:
            yield int(k), frame


#: row weights of the view offsets' smoothness (between consecutive frames) and ridge (towards 0), against scale
#: equations of weight ``sqrt(1 / (s² + 0.02²))`` (≈ 3–50); 10 / 100 and ridge 0.1 gave the same TUM figure ±0.0005
_VIEW_SMOOTH, _VIEW_RIDGE = 30.0, 1.0


def _solve_log_scales(
    eq_plus: np.ndarray,
    eq_minus: np.ndarray,
    rhs: np.ndarray,
    eq_weight: np.ndarray,
    second_plus: np.ndarray,
    second_minus: np.ndarray,
    num_edges: int,
    num_frames: int,
    middle: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Pair log-scales ``a [E]`` from the equations ``a_+ − a_− = rhs`` (each ``[N]``, weights ``eq_weight``),
    weighted sparse least squares with the gauge ``mean(a) = 0``.

    With ``middle`` (``[E]`` int frame of each edge), each edge's LATER view gets its own log-scale ``a_e + τ_f``,
    ``f = middle[e]``, and the equation reads ``a_+ + second_+ τ_f+ − a_− − second_− τ_f− = rhs``
    (``second_± [N]`` 1 where the equation's view is its edge's later frame); ``τ [T]`` is tied between consecutive
    frames (row weight ``_VIEW_SMOOTH``) and towards 0 (``_VIEW_RIDGE``). Why: a wrong relative pose scales a pair's
    two depth maps differently against the truth (TUM fr1/desk, frames 20–46: view a vs view b by a median −0.011
    to −0.015 log per pair whatever its offset 3, 5 or 8), and one scale per pair chains that into a per-frame scale
    drift; as the offset does not matter, the graph's loops (3 + 5 against 8) see it, where a drift proportional to
    the baseline would be invisible. Returns ``(a, τ or None)``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import lsqr

    num_eq = len(rhs)
    if num_eq == 0:
        return np.zeros(num_edges), None if middle is None else np.zeros(num_frames)
    eq = np.arange(num_eq)
    w = np.sqrt(eq_weight)
    rows = [eq, eq, np.full(num_edges, num_eq)]
    cols = [eq_plus, eq_minus, np.arange(num_edges)]
    values = [w, -w, np.full(num_edges, 1.0 / num_edges)]
    num_rows, num_unknowns = num_eq + 1, num_edges
    if middle is not None:
        plus, minus = middle[eq_plus.astype(np.int64)], middle[eq_minus.astype(np.int64)]
        steps, frames = np.arange(num_frames - 1), np.arange(num_frames)
        rows += [eq, eq, num_rows + steps, num_rows + steps, num_rows + num_frames - 1 + frames]
        cols += [num_edges + plus, num_edges + minus, num_edges + steps, num_edges + steps + 1, num_edges + frames]
        values += [w * second_plus, -w * second_minus, np.full(num_frames - 1, _VIEW_SMOOTH),
                   np.full(num_frames - 1, -_VIEW_SMOOTH), np.full(num_frames, _VIEW_RIDGE)]  # fmt: skip
        num_rows, num_unknowns = num_rows + 2 * num_frames - 1, num_edges + num_frames
    r, c, v = (np.concatenate(x) for x in (rows, cols, values))
    system = coo_matrix((v, (r, c.astype(np.int64))), shape=(num_rows, num_unknowns)).tocsr()
    target = np.zeros(num_rows)
    target[:num_eq] = rhs * w
    solution = lsqr(system, target, atol=1e-12, btol=1e-12)[0]
    return solution[:num_edges], None if middle is None else solution[num_edges:]


def pair_chain_poses(preds: PairPredictions, geometry: SceneGeometry, stride: int = 4) -> np.ndarray:
    """``[T,4,4]`` camera-to-world poses chained along the spanning tree from the tree pairs' own relative poses.

    ``global_alignment`` poses a frame by registering (Umeyama similarity) one pair's noisy triangulated points onto
    another pair's; on a forward-moving camera these registrations drift (driving s92: rotation errors of several
    degrees and scale factors of 1.5–2 per tree edge, camera centres thousands of scene units off). This matcher's
    two directed pairs ``(i, j)`` and ``(j, i)`` hold the same triangulation: ``pts_j`` of ``(i, j)`` (view j in
    camera i) is ``pts_i`` of ``(j, i)`` (view j in camera j) moved by the pair's relative pose, exactly, so a rigid
    fit (no scale) of the two gives that pose. Chained from the tree's root (identity) in traversal order, each
    translation at the pair's scale of the fusion (``geometry.alignment.pair_log_scales``, the scale of the fused
    depth), the poses describe the fused depth. ``geometry`` must be :func:`fuse_pair_depths`'s output. Without
    both directions of every tree pair, or without pair scales, ``geometry.cam_to_world`` is returned unchanged.
    """
    from stereodiff.progress import logger
    from stereodiff.stage1.registration import umeyama

    record = geometry.alignment
    current = np.asarray(geometry.cam_to_world, dtype=np.float64)
    if record is None or record.pair_log_scales is None or len(record.tree) == 0:
        return current
    index = {(int(i), int(j)): p for p, (i, j) in enumerate(np.asarray(preds.pairs).tolist())}
    tree = [tuple(int(k) for k in edge) for edge in np.asarray(record.tree).tolist()]
    if any((j, i) not in index for i, j in tree):
        logger.warning("pair_chain_poses: a tree pair lacks its reverse direction; the alignment's poses are kept")
        return current
    poses: list = [None] * len(current)
    poses[tree[0][0]] = np.eye(4)
    for i, j in tree:  # traversal order (``AlignmentRecord.tree``): one end of every edge is placed before it
        p, q = index[(i, j)], index[(j, i)]
        in_i = np.asarray(preds.pts_j[p, ::stride, ::stride], np.float64).reshape(-1, 3)  # view j in camera i
        in_j = np.asarray(preds.pts_i[q, ::stride, ::stride], np.float64).reshape(-1, 3)  # view j in camera j
        release(preds.pts_i, preds.pts_j)
        rigid = umeyama(in_j, in_i, estimate_scale=False)  # camera j → camera i, at the pair's scale
        j_to_i = np.eye(4)
        j_to_i[:3, :3] = rigid.rotation[0]
        j_to_i[:3, 3] = rigid.translation[0] * np.exp(record.pair_log_scales[p])
        if poses[j] is None:
            poses[j] = poses[i] @ j_to_i
        else:
            poses[i] = poses[j] @ np.linalg.inv(j_to_i)
    return np.stack([current[k] if pose is None else pose for k, pose in enumerate(poses)])


def nearest_fill(depth: np.ndarray) -> np.ndarray:
    """``[h,w]`` depth with every hole (0) taking the depth of its nearest valid pixel (all holes if none)."""
    holes = depth <= 0
    if not holes.any() or holes.all():
        return np.asarray(depth, np.float32)
    return nearest_values(~holes, depth)


def nearest_values(valid: np.ndarray, values: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """``[h,w]`` float32: at every pixel, ``values [h,w]`` at its nearest (Euclidean) pixel of ``valid [h,w]`` bool
    (its own value on a valid pixel); ``empty`` everywhere when no pixel is valid."""
    import cv2

    if not valid.any():
        return np.full(valid.shape, empty, np.float32)
    _, labels = cv2.distanceTransformWithLabels(
        (~valid).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    by_label = np.zeros(labels.max() + 1, np.float32)
    by_label[labels[valid]] = values[valid]
    return by_label[labels]


def untriangulated_mask(preds: PairPredictions, geometry: SceneGeometry) -> np.ndarray:
    """``[T,h,w]`` bool: pixels whose aligned depth comes from a fallback point (confidence ≤ 1) of this matcher.

    ``global_alignment`` places each frame's points from one pair of its spanning tree (``geometry.alignment.tree``,
    in traversal order: the root pair places both frames, every later pair the frame not placed yet). Pixels that
    the matcher could not triangulate in that pair hold a constant-depth guess at confidence 1: they are holes, to
    be marked invalid (``geometry.valid & ~mask``) and filled by stage 2. (Long videos: :func:`_frame_holes` gives
    one frame at a time.)
    """
    sources = _tree_sources(preds, geometry)
    return np.stack([_frame_holes(preds, sources, k) for k in range(preds.num_frames)])


def _tree_sources(preds: PairPredictions, geometry: SceneGeometry) -> dict[int, tuple[int, str]]:
    """frame -> (pair index, ``"conf_i"`` or ``"conf_j"``): the tree pair (and side) that placed the frame."""
    index = {(int(i), int(j)): p for p, (i, j) in enumerate(preds.pairs)}
    sources: dict[int, tuple[int, str]] = {}
    placed: set[int] = set()
    for n, (i, j) in enumerate(geometry.alignment.tree.tolist()):
        p = index[(i, j)]
        if n == 0 or i not in placed:
            sources[i] = (p, "conf_i")
        if n == 0 or i in placed:
            sources[j] = (p, "conf_j")
        placed.update((i, j))
    return sources


def _frame_holes(preds: PairPredictions, sources: dict[int, tuple[int, str]], k: int) -> np.ndarray:
    """``[h,w]`` bool untriangulated pixels of frame ``k`` (see :func:`untriangulated_mask`)."""
    if k not in sources:
        return np.zeros(preds.size, bool)
    p, side = sources[k]
    confidence = getattr(preds, side)
    mask = np.asarray(confidence[p]) <= 1.0
    release(confidence)
    return mask


@dataclasses.dataclass(frozen=True)
class WeakRim:
    """Which fused pixels next to the holes are too poorly matched to keep (``fusion_weak_rim``).

    A pair's confidence is ``c = 1 + (max_confidence − 1) · w_flow · w_angle`` (``PairSteps._weight``): ``w_flow``
    = the forward–backward and epipolar Gaussians, ``w_angle = min(1, angle / angle_ref)²``. A pixel's *flow
    support* is ``Σ w_flow`` over the pairs that triangulated it (``(c − 1) / ((max_confidence − 1) · w_angle)``, the
    angle recomputed from the pair's point and the other camera's centre): how many pairs matched it cleanly,
    whatever their parallax. A triangulated pixel within ``rim_px`` pixels of a pixel no pair triangulated whose
    flow support is at most ``min_support`` is left out. Why: on the real clips stage 1's covered pixels next to
    its holes are fused from one or two pairs whose flows barely pass the forward–backward check (texture-less
    surroundings) and are two to three times as wrong as the interior, without a sign; stage 2's fill spreads their
    error into the holes (docs/geometric.md, "Poorly matched pixels next to the holes"). The summed confidence
    alone (``Σ (c − 1)``) also counts small parallax as weak and takes the low-parallax rims of forward-moving and
    orbiting clips (measured: driving +54…+105 %, static-orbit +2…+10 %)."""

    min_support: float
    """Greatest flow support (pairs' worth of clean matches) of a pixel that is left out."""
    rim_px: float = 8.0
    """Only pixels within this many pixels (Euclidean) of an untriangulated pixel are left out."""
    max_confidence: float = 10.0
    """The matcher's ``max_confidence``."""
    angle_ref_deg: float = 2.0
    """The matcher's ``angle_ref_deg``."""
    min_island: float = 0.0
    """Pixels of a covered region (8-connected) smaller than this share of the frame are never left out (0: no
    exception): a small island of covered pixels inside a hole is the hole's only depth, e.g. the few triangulated
    pixels of an unflagged mover, which stage 2's fill leans on (``hole_nearness``)."""
    island_nearer: float = 0.0
    """With ``min_island``: only the island pixels nearer than their surroundings (log depth below the mean log depth
    of the covered pixels within ``NEARNESS_PX``) by more than this are spared (0: every island pixel). An unflagged
    mover's island is the occluder's only evidence; a static island in a texture-less hole is noise."""
    island_hole: float = 0.0
    """With ``min_island``: only the islands next to a hole (8-connected untriangulated region) of at least this share
    of the frame are spared (0: every island): an unflagged mover's few triangulated pixels are specks in its large
    untriangulated body; the islands of the real clips' texture-less holes sit mostly in small holes."""

    def flow_weight(self, points: np.ndarray, centre: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """``[...]`` ``w_flow`` in [0, 1] of one pair's view: its points ``[...,3]`` in its own camera (e.g. ``[h,w,3]``
        or some pixels' ``[n,3]``), the other camera's centre ``[3]`` there and its weights ``c − 1`` ``[...]`` (0
        where untriangulated)."""
        other = points - centre
        cosine = channel_sum(points * other) / np.maximum(channel_norm(points) * channel_norm(other), 1e-12)
        w_angle = np.square(np.clip(np.arccos(np.clip(cosine, -1.0, 1.0)) / np.radians(self.angle_ref_deg), 0, 1))
        flow = weight / ((self.max_confidence - 1.0) * np.maximum(w_angle, 1e-6))
        return np.where(weight > 0, np.clip(flow, 0.0, 1.0), 0.0)

    def rim(self, valid: np.ndarray) -> np.ndarray:
        """``[h,w]`` bool pixels of ``valid [h,w]`` within ``rim_px`` of an untriangulated pixel: the only ones
        :meth:`weak` can leave out (so their flow support is the only one needed)."""
        if valid.all():
            return np.zeros_like(valid)
        return valid & within(~valid, self.rim_px)

    def weak(
        self,
        valid: np.ndarray,
        support: np.ndarray,
        depth: np.ndarray | None = None,
        rim: np.ndarray | None = None,
    ) -> np.ndarray:
        """``[h,w]`` bool pixels of ``valid [h,w]`` to leave out, given their flow support ``[h,w]`` (read on
        :meth:`rim` only), (for ``island_nearer``) their depth ``[h,w]`` and ``rim``, :meth:`rim` of ``valid`` if
        already computed."""
        weak = (self.rim(valid) if rim is None else rim) & (support <= self.min_support)
        if not weak.any():
            return weak
        if self.min_island > 0:
            weak &= ~self._spared_islands(valid, depth)
        return weak

    def _spared_islands(self, valid: np.ndarray, depth: np.ndarray | None) -> np.ndarray:
        """``[h,w]`` bool covered pixels of ``valid [h,w]`` never left out: those of the small islands
        (``min_island``) next to a large hole (``island_hole``) and nearer than their surroundings
        (``island_nearer``; ``depth [h,w]``)."""
        spared = valid & ~large_regions(valid, self.min_island * valid.size)  # the small islands
        if self.island_hole > 0 and spared.any():
            spared &= _next_to_large_hole(valid, self.island_hole)
        if self.island_nearer > 0 and spared.any():
            if depth is None:
                raise ValueError("island_nearer needs the depth")
            spared &= _nearness(depth, valid) < -self.island_nearer
        return spared


NEARNESS_PX = 30
"""Half-width (pixels of the working resolution) of the square whose covered pixels are an island's surroundings."""


def _nearness(depth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``[h,w]`` log depth of each pixel minus the mean log depth of the ``valid`` pixels in the ``2·NEARNESS_PX + 1``
    square around it (0 where not valid; negative = nearer than its surroundings); ``depth``, ``valid`` ``[h,w]``."""
    import cv2

    size = (2 * NEARNESS_PX + 1,) * 2
    log_depth = np.where(valid, np.log(np.maximum(depth, 1e-12)), 0.0).astype(np.float32)
    count = cv2.blur(valid.astype(np.float32), size, borderType=cv2.BORDER_CONSTANT)
    mean = cv2.blur(log_depth, size, borderType=cv2.BORDER_CONSTANT) / np.maximum(count, 1e-6)
    return np.where(valid, log_depth - mean, 0.0)


def _next_to_large_hole(valid: np.ndarray, share: float) -> np.ndarray:
    """``[h,w]`` bool: the pixels of the 8-connected regions of ``valid [h,w]`` (bool) that touch an 8-connected
    region of ``~valid`` of at least ``share`` × h·w pixels."""
    import cv2

    large = large_regions(~valid, share * valid.size)
    touching = cv2.dilate(large.astype(np.uint8), np.ones((3, 3), np.uint8)).view(bool) & valid
    count, regions = cv2.connectedComponents(valid.astype(np.uint8), connectivity=8)
    hit = np.zeros(count, bool)
    hit[regions[touching]] = True
    return hit[regions] & valid


def other_centres(preds: PairPredictions) -> np.ndarray:
    """``[P,3]`` centre of each directed pair's other camera in its own camera, at the pair's scale (NaN for a failed
    pair), from the relative poses of the geometric matcher's pairs (:class:`~stereodiff.stage1.ray_pairs.PairRows`).

    Raises:
        ValueError: the predictions hold no relative poses (not the geometric matcher's pairs)."""
    store = getattr(preds.pts_i, "store", None)
    if store is None or not hasattr(store, "pose"):
        raise ValueError("fusion_weak_rim needs the geometric matcher's pairs (depth along rays with their poses)")
    pose = np.asarray(store.pose, np.float64)[store.edge]  # [P,3,4] a → b of each directed pair's edge
    R, t = pose[:, :, :3], pose[:, :, 3]
    centre_of_b = -np.einsum("pji,pj->pi", R, t)  # −Rᵀ t: camera b in camera a
    return np.where((np.asarray(store.side) == 0)[:, None], centre_of_b, t)  # own = b: camera a at t


def leave_weak_rim(
    preds: PairPredictions,
    scene: SceneGeometry,
    weak_rim: WeakRim,
    keep: np.ndarray | None = None,
    keep_given: bool = False,
    num_workers: int = 1,
) -> SceneGeometry:
    """``scene`` with the pixels :class:`WeakRim` finds (flow support from this matcher's ``preds``, next to the
    scene's own holes) made holes: depth and confidence 0, ``valid`` False; its arrays are changed in place, frame by
    frame. Run on the stage-1 scene's final depth (after the movers step), so the rim is that of the holes stage 2
    sees. ``keep``: ``[T,h,w]`` bool pixels never left out (the movers step's moving pixels: their depth comes from
    mover constraints, and their flows violate the static epipolar geometry, so their flow support is low).
    ``keep_given``: nor are the pixels whose depth the movers step gave (``scene.movers_given``, e.g. its tracking of
    a mover's body beyond the moving mask): their depth is not the pairs' (no pair triangulated most of them, the
    others' triangulated depth was replaced), so the pairs' flow support says nothing about it
    (``fusion_weak_rim_keep_given``). Frames on ``num_workers`` threads (each frame's result is the same)."""
    centres = other_centres(preds)
    pairs = np.asarray(preds.pairs)

    def leave(k: int) -> None:
        valid = np.asarray(scene.valid[k]).copy()
        rim = weak_rim.rim(valid)  # [h,w] the only pixels whose support is read
        at = np.nonzero(rim)
        support = np.zeros(valid.shape)
        own = np.flatnonzero(pairs[:, 0] == k) if rim.any() else []  # the pairs of frame k's view
        for p in own:
            if not np.isfinite(centres[p]).all():
                continue
            confidence = np.asarray(preds.conf_i[(p, *at)]).astype(np.float64)  # [n] only the rim's rows computed
            matched = confidence > 1.0  # the others add no support
            there = (at[0][matched], at[1][matched])
            points = np.asarray(preds.pts_i[(p, *there)]).astype(np.float64)  # [m,3]
            weight = np.where(points[..., 2] > 0, confidence[matched] - 1.0, 0.0)
            support[there] += weak_rim.flow_weight(points, centres[p], weight)
        release(preds.pts_i, preds.conf_i)
        drop = weak_rim.weak(valid, support, np.asarray(scene.depth[k]), rim) & ~kept_pixels(scene, keep, k, keep_given)
        if drop.any():
            scene.valid[k] = valid & ~drop
            scene.depth[k] = np.where(drop, 0.0, scene.depth[k])
            scene.confidence[k] = np.where(drop, 0.0, scene.confidence[k])
        release(scene.valid, scene.depth, scene.confidence, keep, scene.movers_given)

    thread_map(leave, range(preds.num_frames), num_workers, "fusion: weak rim")
    return scene


def kept_pixels(scene: SceneGeometry, keep: np.ndarray | None, k: int, given: bool) -> np.ndarray:
    """``[h,w]`` bool pixels of frame ``k`` that :func:`leave_weak_rim` (and the edge median) never change: ``keep[k]``
    (``keep`` ``[T,h,w]`` bool or None) and, with ``given``, ``scene.movers_given[k]``."""
    kept = np.zeros(scene.depth.shape[1:], bool)
    if keep is not None:
        kept |= np.asarray(keep[k], bool)
    if given and scene.movers_given is not None:
        kept |= np.asarray(scene.movers_given[k], bool)
    return kept


_AGREEMENT_FLOOR = 0.02  # log-depth spread below which two pairs count as agreeing perfectly (noise level)


def _agreement_weight(residual: np.ndarray, weight: np.ndarray) -> float:
    """Inverse-variance weight ``1 / (s² + floor²)`` of a scale equation whose log-ratios have the residuals
    ``residual [N]`` (``weight [N]``) about their median; ``s`` = 1.4826 · weighted median absolute residual. A pair
    whose pose is wrong (e.g. a flipped translation at low parallax) has a depth map of another shape than its
    frame's other pairs: its ratios spread widely and its equation counts for little."""
    spread = 1.4826 * float(weighted_median(np.abs(residual), weight))
    return 1.0 / (spread**2 + _AGREEMENT_FLOOR**2)
