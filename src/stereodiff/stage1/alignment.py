"""Closed-form global alignment of pairwise pointmaps (DUSt3R/MonST3R ``compute_global_alignment(init='mst',
niter=0)``), without any iterative optimisation.

Conventions (as in the official code): pointmaps use OpenCV camera axes; pixel ``(u, v)`` is the integer column and
row (no +0.5); the principal point is ``(w/2, h/2)``; poses are camera-to-world; depth is the z of a frame's world
points in its own camera.

Steps of :func:`global_alignment`:

1. Edge scores: ``score(i, j) = mean(conf_i) · mean(conf_j)`` of each directed pair (one pass over the confidences).
2. Maximum spanning tree of the pair graph (Kruskal, ``scipy.sparse.csgraph.minimum_spanning_tree`` on the negated
   scores); of the two directions of a pair the better one is kept, with its orientation.
3. Traversal from the strongest tree edge ``(i, j)``: camera ``i`` is the world frame. Every next tree edge is
   registered to the frame already placed with a confidence-weighted Umeyama similarity (:func:`umeyama`), which
   places the new frame's points; a frame placed through its own-camera pointmap gets its pose from that
   registration.
4. Focal lengths by Weiszfeld IRLS on a frame's own-camera pointmap (:func:`estimate_focal`, best outgoing edge).
5. Frames placed only as the second view of a pair (leaves) get their pose by RANSAC-PnP (OpenCV SQPNP) on their
   world points, with the pixels whose confidence exceeds ``min_conf_thr``.
6. Scale: every pair is registered to its first frame; the scene is scaled so that the geometric mean of these pair
   scales is ``base_scale``.
7. Depth of frame ``k`` = z of its world points in camera ``k``. Depth ≤ 0 or non-finite is invalid (depth 0).

Optional refinements (off by default, so the default reproduces the official result):

- ``robust_scale``: the scale of each registration is the weighted median, over the pixels of the shared frame, of
  the log ratio of their distances to the weighted centroid, instead of Umeyama's least-squares scale, which noise
  in the source pointmap biases low (and the bias compounds along the tree).
- ``global_scale_solve``: after the tree, every pair ``(i, j)`` is registered to both of its frames; the two scales
  differ by the ratio of the scale errors of frames ``i`` and ``j``. One sparse least-squares over all pairs gives a
  log-scale per frame (gauge: mean 0), and each frame's depth (and world points, about its camera centre) is
  corrected by it. Loop-closing pairs that are not in the tree thus remove scale drift.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stereodiff.camera import default_principal_point, prior_focal
from stereodiff.io.pages import new_array, release
from stereodiff.progress import logger, progress, thread_imap, thread_map
from stereodiff.stage1.registration import (
    Similarity,
    affine_points,
    apply_similarity,
    estimate_focal,
    pose_matrix,
    solve_pnp,
    umeyama,
)
from stereodiff.types import AlignmentRecord, PairPredictions, SceneGeometry

__all__ = ["Similarity", "estimate_focal", "global_alignment", "umeyama"]

#: bytes of a memmapped output the edge scores keep resident between releases (:func:`_edge_scores`): 8 MiB, 27
#: frames of confidence at 320×240, so a frame's pages are faulted in about once per half of the pair graph rather
#: than once per pair (60 k of the 300 k page faults of a 64-frame run before)
_RESIDENT_BYTES = 8 * 2**20


def _check_predictions(preds: PairPredictions) -> tuple[np.ndarray, int]:
    """Re-validate ``preds`` (fields may have been replaced after construction); returns ``(pairs, T)``."""
    if not isinstance(preds, PairPredictions):
        raise TypeError(f"preds must be a PairPredictions, got {type(preds).__name__}")
    pairs = np.asarray(preds.pairs)
    num = pairs.shape[0] if pairs.ndim == 2 else -1
    if num < 0 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
        raise ValueError(f"preds.pairs must be an integer array [P,2], got {pairs.dtype} {pairs.shape}")
    h, w = preds.pts_i.shape[1:3] if preds.pts_i.ndim == 4 else (-1, -1)
    for name, shape in (("pts_i", (num, h, w, 3)), ("pts_j", (num, h, w, 3)), ("conf_i", (num, h, w)),
                        ("conf_j", (num, h, w))):  # fmt: skip
        got = getattr(preds, name).shape
        if got != shape:
            raise ValueError(f"preds.{name} has shape {got}, expected {shape} (P={num} pairs of {h}×{w})")
    pairs = pairs.astype(np.int64)
    num_frames = int(preds.num_frames) if preds.num_frames is not None else int(pairs.max(initial=-1)) + 1
    if num and (pairs.min() < 0 or pairs.max() >= num_frames):
        bad = pairs[(pairs < 0).any(1) | (pairs >= num_frames).any(1)][0].tolist()
        raise ValueError(f"pair {bad} refers to a missing frame: frame indices must lie in 0..{num_frames - 1}")
    if np.any(pairs[:, 0] == pairs[:, 1]):
        raise ValueError(f"pair {pairs[pairs[:, 0] == pairs[:, 1]][0].tolist()} pairs a frame with itself")
    unique = np.unique(pairs, axis=0)
    if len(unique) != num:
        raise ValueError(f"preds.pairs holds {num - len(unique)} duplicated directed pair(s); each (i, j) once")
    return pairs, max(num_frames, 1)


def _check_connected(pairs: np.ndarray, num_frames: int) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(num_frames, num_frames))
    count, labels = connected_components(graph, directed=False)
    if count > 1:
        groups = [np.flatnonzero(labels == c) for c in range(count)]
        shown = "; ".join(_frame_list(g) for g in groups[:6]) + ("; …" if count > 6 else "")
        raise ValueError(
            f"the pair graph is disconnected: {count} components of frames ({shown}); every frame must be linked "
            "to every other through pairs (use a pair scheme such as swin-2-noncyclic)"
        )


def _frame_list(frames: np.ndarray) -> str:
    """``'0-4, 7, 9-12'`` for a sorted frame index array."""
    runs, start = [], frames[0]
    for a, b in zip(frames, [*frames[1:], None]):
        if b is None or b != a + 1:
            runs.append(f"{start}" if start == a else f"{start}-{a}")
            start = b
    return "frames " + ", ".join(runs)


def _load(array: np.ndarray, index: int | np.ndarray, name: str, pairs: np.ndarray, stride: int = 1) -> np.ndarray:
    """Rows of a (possibly memmapped) prediction array as float64, checked finite; ``stride`` keeps every
    ``stride``-th pixel row and column of each row (taken before the float64 copy)."""
    rows = index
    if isinstance(index, np.ndarray) and len(index) and index[-1] - index[0] == len(index) - 1:
        rows = slice(int(index[0]), int(index[-1]) + 1)  # contiguous: a plain read of the memmap
    pixels = (slice(None, None, stride),) * 2  # (rows, columns) of one pair's map, indexed with the pairs: row
    value = np.asarray(array[(rows, *pixels)], dtype=np.float64)  # views (PairRows) then compute just those pixels
    release(array)
    if not np.isfinite(value).all():
        rows = np.atleast_1d(index)
        bad = next(int(p) for p in rows if not np.isfinite(np.asarray(array[p])).all())
        raise ValueError(f"preds.{name} of pair {bad} {pairs[bad].tolist()} holds non-finite values (NaN or inf)")
    return value


def _chunks(num: int, per_item: int, budget: int = 1 << 16) -> list[np.ndarray]:
    """Index chunks of ``range(num)`` holding about ``budget`` points each."""
    size = max(1, budget // max(per_item, 1))
    return [np.arange(a, min(a + size, num)) for a in range(0, num, size)]


def global_alignment(
    preds: PairPredictions,
    *,
    min_conf_thr: float = 3.0,
    base_scale: float = 0.5,
    shared_focal: bool = False,
    focal: float | np.ndarray | None = None,
    seed: int = 0,
    official_compat: bool = False,
    robust_scale: bool = False,
    global_scale_solve: bool = False,
    pnp_iterations: int = 10,
    scale_stride: int = 1,
    out_dir: Path | None = None,
    num_workers: int = 2,
) -> SceneGeometry:
    """Fuse pairwise pointmaps into one scene in closed form (see the module docstring for the steps).

    Pairs are read one at a time (or in chunks of about 65k points), so ``preds`` may be memmaps of a ``PairCache``
    larger than RAM: one pass over the confidences, the tree's pairs, one own-camera pointmap per frame (focal), and
    one pass over ``pts_i`` of the pairs outside the tree (plus ``pts_j`` with ``global_scale_solve``).

    Args:
        preds: pairwise predictions ``[P,...]`` of ``T = preds.num_frames`` frames at ``(h, w)``; the pair graph must
            be connected. ``T = 1`` (no pairs) gives an all-invalid depth (nothing is known about a single frame),
            the identity pose and ``focal`` (or the 60° field-of-view default ``max(h, w) / (2·tan 30°)``). ``T = 2``
            works with one or both directions of the pair (the second frame is a leaf placed by PnP).
        min_conf_thr: raw confidence above which a pixel is used for PnP (the per-frame confidence is the maximum
            over all pairs containing the frame).
        base_scale: the geometric mean of the pair scales after normalisation (fixes the arbitrary global scale).
        shared_focal: return one focal for all frames, the mean of the per-frame estimates (MonST3R).
        focal: known focal length(s) in pixels at ``(h, w)``: a scalar or ``[T]``; used for PnP and returned.
            Mutually exclusive with ``shared_focal``.
        seed: OpenCV RNG seed for RANSAC-PnP.
        official_compat: reproduce the official code exactly: depth ≤ 0 becomes 1.0 (it is still marked invalid in
            ``valid``), a non-leaf frame's focal comes from the previously processed tree edge (a stale-variable
            quirk of the official code), and a failed PnP leaves the identity pose. Otherwise a failed PnP falls
            back to registering the frame's best own-camera pointmap.
        robust_scale: median log-ratio scales instead of least-squares Umeyama scales (see the module docstring).
        global_scale_solve: per-frame scale correction from all pairs by one sparse least-squares.
        pnp_iterations: RANSAC iterations of PnP (10 as in the official code).
        scale_stride: register pairs (the spanning tree's, the pairs outside it for the global scale normalisation
            and ``global_scale_solve``, and the PnP fallback) on every ``scale_stride``-th pixel row and column only:
            the same estimates from ``1/stride²`` of the work. 1 (default) = every pixel, as the official code.
        out_dir: when given, ``depth``, ``confidence``, ``valid`` and the world pointmaps are ``.npy`` memmaps there
            (``depth.npy``, ``confidence.npy``, ``valid.npy``, ``world_points.npy``), so RAM stays bounded.
        num_workers: threads for the pair-scale registrations and the per-frame depth (numpy and OpenCV release
            the GIL); the output does not depend on it.

    Returns:
        ``SceneGeometry``: depth ``[T,h,w]`` (0 where invalid), confidence ``[T,h,w]`` (per-frame maximum raw
        confidence, 0 where invalid), focal ``[T]``, principal point ``[T,2] = (w/2, h/2)``, ``cam_to_world
        [T,4,4]``, ``aligned_pointmaps [T,h,w,3]`` (the propagated pointmaps, scaled) and ``alignment`` (an
        :class:`~stereodiff.types.AlignmentRecord`: the tree in traversal order, root, edge scores, pair scales,
        scale factor, PnP frames, per-frame focal before ``shared_focal``, and with ``global_scale_solve`` the
        per-frame log scales).

    Raises:
        ValueError: shape mismatches, pairs referring to missing frames, self or duplicated pairs, non-finite
            values, negative confidences, a disconnected pair graph (the components are named), bad arguments.
    """
    # 1. Check inputs; the output arrays
    pairs, num_frames, known_focal = _check_inputs(preds, base_scale, min_conf_thr, scale_stride, focal, shared_focal)
    h, w = preds.pts_i.shape[1:3]
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
    principal_point = np.tile(default_principal_point((h, w)), (num_frames, 1)).astype(np.float64)
    depth = new_array(out_dir, "depth", (num_frames, h, w), np.float32)
    confidence = new_array(out_dir, "confidence", (num_frames, h, w), np.float32)
    valid = new_array(out_dir, "valid", (num_frames, h, w), np.bool_)
    world = new_array(out_dir, "world_points", (num_frames, h, w, 3), np.float32)
    if len(pairs) == 0:  # a single frame: nothing is known
        logger.warning("global_alignment: a single frame has no pairs; its depth is unknown (all invalid)")
        return SceneGeometry(
            depth=depth, confidence=confidence, valid=valid, principal_point=principal_point,
            focal=known_focal if known_focal is not None else np.full(1, prior_focal((h, w))),
            cam_to_world=np.eye(4)[None],
            alignment=AlignmentRecord(tree=np.zeros((0, 2), np.int64)), aligned_pointmaps=world,
        )  # fmt: skip
    register = _Registrar(preds, pairs, scale_stride, robust_scale)

    # 2. Edge scores and per-frame confidence (one pass over the confidences)
    scores = _edge_scores(preds, pairs, confidence, num_workers)
    # 3. Maximum spanning tree; 4. its traversal places every frame's points in the world
    todo = _spanning_tree(scores, pairs, num_frames)
    tree = _traverse(preds, pairs, todo, world, register, official_compat, num_workers)
    # 5. Focal lengths: from each frame's best outgoing pair (own-camera pointmap)
    best_first = np.argsort(-scores, kind="stable")
    if known_focal is None:
        _estimate_focals(preds, pairs, best_first, tree.focals)
    else:
        tree.focals[:] = [float(f) for f in known_focal]
    # 6. Poses of the leaves by RANSAC-PnP
    pnp_frames, pnp_failed = _leaf_poses(
        pairs, best_first, world, confidence, tree, register, min_conf_thr, seed, pnp_iterations, official_compat
    )
    cam_to_world = np.stack(tree.poses)  # [T,4,4]
    # 7. Pair scales → global scale normalisation; 8. optional per-frame scale correction from all pairs
    second_scales = _pair_registration_scales(preds, pairs, world, tree.pair_scales, register, global_scale_solve,
                                              num_workers)  # fmt: skip
    usable = tree.pair_scales > 0
    scale_factor = float(base_scale / np.exp(np.log(tree.pair_scales[usable]).mean()))
    frame_log_scales = None
    if second_scales is not None:
        frame_log_scales = _solve_frame_log_scales(pairs, tree.pair_scales, second_scales, scores, num_frames)
    # 9. Depth = z of the (scaled) world points in each frame's camera
    cam_to_world[:, :3, 3] *= scale_factor
    _frame_depths(world, cam_to_world, scale_factor, frame_log_scales, depth, confidence, valid, official_compat,
                  num_workers)  # fmt: skip
    # 10. Focals: a fallback where none could be estimated, then shared if asked
    focal_out = np.asarray(tree.focals, dtype=np.float64)
    bad = ~(np.isfinite(focal_out) & (focal_out > 0))
    if bad.any() and not official_compat:  # degenerate pointmaps (e.g. all points at z = 0) give no focal
        fallback = np.median(focal_out[~bad]) if (~bad).any() else prior_focal((h, w))
        logger.warning(
            "global_alignment: no focal length for frames %s; using %.1f px", _frame_list(np.flatnonzero(bad)), fallback
        )
        focal_out[bad] = fallback
    per_frame_focal = focal_out.copy()
    if shared_focal:
        focal_out = np.full(num_frames, focal_out.mean())
    # (memmaps in out_dir are not flushed: the page cache holds their data for any reader, a killed run redoes the
    # alignment from the pairs, and the pipeline flushes the arrays it keeps when it saves the scene; the world
    # points, deleted before the fusion, never need to reach the disk)
    record = AlignmentRecord(
        tree=np.array(tree.edges, dtype=np.int64), root=tuple(int(k) for k in tree.root), edge_scores=scores,
        pair_scales=tree.pair_scales, scale_factor=scale_factor, pnp_frames=[int(k) for k in pnp_frames],
        pnp_failed=[int(k) for k in pnp_failed], per_frame_focal=per_frame_focal, frame_log_scales=frame_log_scales,
    )  # fmt: skip
    return SceneGeometry(
        depth=depth, confidence=confidence, valid=valid, focal=focal_out, principal_point=principal_point,
        cam_to_world=cam_to_world, alignment=record, aligned_pointmaps=world,
    )  # fmt: skip


def _check_inputs(
    preds: PairPredictions,
    base_scale: float,
    min_conf_thr: float,
    scale_stride: int,
    focal: float | np.ndarray | None,
    shared_focal: bool,
) -> tuple[np.ndarray, int, np.ndarray | None]:
    """Step 1: ``(pairs [P,2] int64, T, known focal [T] or None)``; ValueError on bad predictions or arguments."""
    pairs, num_frames = _check_predictions(preds)
    if not (np.isfinite(base_scale) and base_scale > 0):
        raise ValueError(f"base_scale must be a positive number, got {base_scale}")
    if not np.isfinite(min_conf_thr):
        raise ValueError(f"min_conf_thr must be finite, got {min_conf_thr}")
    if isinstance(scale_stride, bool) or not isinstance(scale_stride, (int, np.integer)) or scale_stride < 1:
        raise ValueError(f"scale_stride must be an integer ≥ 1, got {scale_stride!r}")
    known_focal = None
    if focal is not None:
        if shared_focal:
            raise ValueError("give either focal (known focal lengths) or shared_focal=True, not both")
        known_focal = np.broadcast_to(np.asarray(focal, dtype=np.float64), (num_frames,)).copy()
        if not (np.isfinite(known_focal).all() and (known_focal > 0).all()):
            raise ValueError(f"focal must be positive and finite (a scalar or [T={num_frames}]), got {focal!r}")
    if num_frames > 1:
        _check_connected(pairs, num_frames)
    return pairs, num_frames, known_focal


class _Registrar:
    """Registers one pair's points onto placed world points (:func:`umeyama`), on every ``scale_stride``-th pixel."""

    def __init__(self, preds: PairPredictions, pairs: np.ndarray, scale_stride: int, robust_scale: bool) -> None:
        self.preds, self.pairs, self.stride, self.robust = preds, pairs, scale_stride, robust_scale

    def own_points(self, p: int) -> np.ndarray:
        """``[h,w,3]`` float64 ``pts_i`` of pair ``p`` (view i in its own camera)."""
        return _load(self.preds.pts_i, p, "pts_i", self.pairs)

    def weight(self, conf_name: str, p: int) -> np.ndarray:
        """``[N]`` float64 confidence ``conf_name`` of pair ``p`` on the registration's pixels."""
        return _load(getattr(self.preds, conf_name), p, conf_name, self.pairs, self.stride).reshape(-1)

    def registered_points(self, name: str, p: int) -> np.ndarray:
        """``[h',w',3]`` float64 ``name`` (``pts_i`` or ``pts_j``) of pair ``p`` on the registration's pixels only:
        the values of the whole map there (each pixel's point is computed on its own)."""
        return _load(getattr(self.preds, name), p, name, self.pairs, self.stride)

    def __call__(
        self,
        points: np.ndarray,
        target: np.ndarray,
        conf_name: str,
        p: int,
        weight: np.ndarray | None = None,
        strided: bool = False,
    ) -> Similarity:
        """Similarity of pair ``p``'s ``[h,w,3]`` points (``strided``: on the registration's pixels already,
        :meth:`registered_points`) onto ``target [h,w,3]``, weighted by its ``conf_name`` (:meth:`weight`, unless
        given)."""
        step = (slice(None, None, self.stride),) * 2
        weight = self.weight(conf_name, p) if weight is None else weight
        # C order either way, as the strided view's copy was: the BLAS products of umeyama round differently on a
        # transposed layout (a loaded pts_j is one)
        points = np.ascontiguousarray(points) if strided else points[step]
        return umeyama(points.reshape(-1, 3), target[step].reshape(-1, 3), weight, robust_scale=self.robust)


def _edge_scores(preds: PairPredictions, pairs: np.ndarray, confidence: np.ndarray, num_workers: int = 1) -> np.ndarray:
    """Step 2: ``[P]`` edge scores ``mean(conf_i) · mean(conf_j)``; fills ``confidence [T,h,w]`` with each frame's
    maximum raw confidence over its pairs. The pairs' confidences are read (computed, for depth along rays) on
    ``num_workers`` threads, chunk by chunk in order. A memmapped ``confidence`` keeps the frames of consecutive
    pairs resident up to ``_RESIDENT_BYTES`` (the pairs of a frame come close together: each page is faulted in
    once per such run of pairs, not once per pair)."""
    h, w = preds.pts_i.shape[1:3]
    scores = np.zeros(len(pairs))
    touched: set[int] = set()  # frames of confidence resident since the last release

    def load(chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # [C,h,w] each, and [C] scores
        conf_i, conf_j = _load(preds.conf_i, chunk, "conf_i", pairs), _load(preds.conf_j, chunk, "conf_j", pairs)
        # checked, scored and rounded to the output's type here, on the worker: the calling thread only takes the
        # maxima (it ran alone), in that type (rounding is monotonic: the maximum of a value of that type and the
        # rounded one is the rounded maximum, so the same as in float64; without a float64 pass per pair)
        if conf_i.min() < 0 or conf_j.min() < 0:
            raise ValueError("preds.conf_i / conf_j must be ≥ 0 (raw confidences)")
        scores = conf_i.mean(axis=(1, 2)) * conf_j.mean(axis=(1, 2))
        return conf_i.astype(confidence.dtype), conf_j.astype(confidence.dtype), scores

    chunks = _chunks(len(pairs), h * w)
    loaded = progress(thread_imap(load, chunks, num_workers), desc="alignment: edge scores", total=len(chunks))
    for chunk, (conf_i, conf_j, chunk_scores) in zip(chunks, loaded):
        scores[chunk] = chunk_scores
        for row, p in enumerate(chunk):
            i, j = pairs[p]
            np.maximum(confidence[i], conf_i[row], out=confidence[i])
            np.maximum(confidence[j], conf_j[row], out=confidence[j])
            touched.update((int(i), int(j)))
            if len(touched) * confidence[0].nbytes >= _RESIDENT_BYTES:
                release(confidence)
                touched.clear()
    release(confidence)
    return scores


def _spanning_tree(scores: np.ndarray, pairs: np.ndarray, num_frames: int) -> deque:
    """Step 3: the maximum spanning tree's edges ``(score, i, j)`` in ascending score order (Kruskal on the negated
    scores; of the two directions of a pair the better one is kept)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import minimum_spanning_tree

    weights = np.where(scores > 0, -scores, -np.finfo(np.float64).tiny)  # an explicit 0 would mean "no edge"
    tree = minimum_spanning_tree(csr_matrix((weights, (pairs[:, 0], pairs[:, 1])), shape=(num_frames,) * 2))
    tree = tree.tocoo()
    return deque(sorted(zip(-tree.data, tree.row.tolist(), tree.col.tolist())))  # ascending; pop() = best


@dataclass
class _Tree:
    """What the traversal of the spanning tree found (step 4), completed by steps 5 and 6."""

    poses: list  # [T] cam_to_world [4,4] or None (leaves, posed by PnP)
    focals: list  # [T] focal in pixels or None
    edges: list[tuple[int, int]]  # directed tree pairs in traversal order
    pair_scales: np.ndarray  # [P] the traversal's registration scale of each tree pair, NaN for the others
    root: tuple[int, int]


def _traverse(
    preds: PairPredictions,
    pairs: np.ndarray,
    todo: deque,
    world: np.ndarray,
    register: _Registrar,
    official_compat: bool,
    num_workers: int = 1,
) -> _Tree:
    """Step 4: traversal from the strongest edge (official order: edges with no placed endpoint are retried
    later); fills ``world [T,h,w,3]``. A frame placed through its own-camera pointmap gets its pose. The pairs'
    pointmaps are read on ``num_workers`` threads ahead of the registrations (the output does not depend on it)."""
    num_frames = len(world)
    pair_index = {(int(i), int(j)): p for p, (i, j) in enumerate(pairs)}
    tree = _Tree([None] * num_frames, [None] * num_frames, [], np.full(len(pairs), np.nan), (-1, -1))
    placed = np.zeros(num_frames, dtype=bool)
    _, root_i, root_j = todo.pop()
    p = pair_index[(root_i, root_j)]
    last_pts_i = register.own_points(p)
    world[root_i] = last_pts_i
    world[root_j] = _load(preds.pts_j, p, "pts_j", pairs)
    placed[[root_i, root_j]] = True
    tree.poses[root_i] = np.eye(4)
    tree.pair_scales[p] = 1.0
    tree.focals[root_i] = estimate_focal(last_pts_i)
    tree.edges.append((root_i, root_j))
    tree.root = (root_i, root_j)
    pops = _tree_order(todo, placed)

    def read(pop: tuple[int, int, bool | None]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pair ``(i, j)``'s ``[h,w,3]`` points of both views (the view registered on the registration's pixels
        only, unless ``official_compat`` keeps view i whole for its focal) and the weights of the view registered."""
        i, j, from_i = pop
        p = pair_index[(i, j)]
        if from_i:
            own_i = register.own_points(p) if official_compat else register.registered_points("pts_i", p)
            own_j = _load(preds.pts_j, p, "pts_j", pairs)
        else:
            own_i, own_j = register.own_points(p), register.registered_points("pts_j", p)
        return own_i, own_j, register.weight("conf_i" if from_i else "conf_j", p)

    # the placing edges' pointmaps are read (computed, for depth along rays) on the workers, ahead of their turn
    reads = thread_imap(read, [pop for pop in pops if pop[2] is not None], num_workers, num_workers)
    bar = iter(progress(range(num_frames - 2), desc="alignment: spanning tree", total=num_frames - 2))
    for i, j, from_i in pops:
        if official_compat and tree.focals[i] is None:
            tree.focals[i] = estimate_focal(last_pts_i)  # the official code uses the previous edge here
        if from_i is None:  # neither frame placed yet: retried later
            continue
        p = pair_index[(i, j)]
        pts_i, pts_j, weight = next(reads)
        try:
            if from_i:  # register view i onto its placed points, then place view j
                sim = register(pts_i, world[i], "conf_i", p, weight, strided=not official_compat)
                world[j] = apply_similarity(sim, pts_j)
            else:  # register view j onto its placed points, then place view i (in its own camera)
                sim = register(pts_j, world[j], "conf_j", p, weight, strided=True)
                world[i] = apply_similarity(sim, pts_i)
        except ValueError as err:
            raise ValueError(f"cannot register pair {p} ({i}, {j}) of the spanning tree: {err}") from err
        if tree.poses[i] is None:
            tree.poses[i] = pose_matrix(sim.rotation[0], sim.translation[0])
        tree.pair_scales[p] = sim.scale[0]
        release(world)
        last_pts_i = pts_i
        tree.edges.append((i, j))
        next(bar, None)
    deque(bar, maxlen=0)  # close the bar
    return tree


def _tree_order(todo: deque, placed: np.ndarray) -> list[tuple[int, int, bool | None]]:
    """The traversal's pops of the tree edges ``todo`` ``(score, i, j)`` (best last), with frames ``placed [T]``
    already placed: ``(i, j, from_i)`` per pop, ``from_i`` True when frame ``i`` is placed (view i is registered,
    frame j placed), False when only frame ``j`` is, None when neither is (the edge goes back to the far end of
    ``todo``, the official order). It depends on the tree only, so the placing edges can be read ahead."""
    todo, placed = deque(todo), placed.copy()
    pops: list[tuple[int, int, bool | None]] = []
    while todo:
        score, i, j = todo.pop()
        from_i = bool(placed[i]) if placed[i] or placed[j] else None
        if from_i is None:
            todo.appendleft((score, i, j))
        placed[[i, j]] |= from_i is not None
        pops.append((i, j, from_i))
    return pops


def _estimate_focals(preds: PairPredictions, pairs: np.ndarray, best_first: np.ndarray, focals: list) -> None:
    """Step 5: the missing ``focals`` from each frame's best outgoing pair (own-camera pointmap, Weiszfeld)."""
    for p in best_first:
        i = int(pairs[p, 0])
        if focals[i] is None:
            focals[i] = estimate_focal(_load(preds.pts_i, p, "pts_i", pairs))


def _leaf_poses(
    pairs: np.ndarray,
    best_first: np.ndarray,
    world: np.ndarray,
    confidence: np.ndarray,
    tree: _Tree,
    register: _Registrar,
    min_conf_thr: float,
    seed: int,
    pnp_iterations: int,
    official_compat: bool,
) -> tuple[list[int], list[int]]:
    """Step 6: poses (and focals) of the frames without one by RANSAC-PnP on their world points (fallback: register
    the frame's best own-camera pointmap); returns ``(pnp_frames, pnp_failed)``."""
    pnp_frames = [k for k in range(len(world)) if tree.poses[k] is None]
    pnp_failed = []
    for k in progress(pnp_frames, desc="alignment: PnP", total=len(pnp_frames)):
        mask = confidence[k] > min_conf_thr
        result = solve_pnp(world[k], tree.focals[k], mask, seed=seed, iterations=pnp_iterations)
        release(world, confidence)
        if result is not None:
            tree.focals[k], tree.poses[k] = result
            continue
        pnp_failed.append(k)
        outgoing = [p for p in best_first if pairs[p, 0] == k]
        if official_compat or not outgoing:
            logger.warning("global_alignment: PnP failed for frame %d; its pose is the identity", k)
            tree.poses[k] = np.eye(4)
        else:
            p = outgoing[0]
            sim = register(register.own_points(p), world[k], "conf_i", p)
            tree.poses[k] = pose_matrix(sim.rotation[0], sim.translation[0])
            logger.warning("global_alignment: PnP failed for frame %d; pose from pair %s", k, pairs[p].tolist())
    return pnp_frames, pnp_failed


def _pair_registration_scales(
    preds: PairPredictions,
    pairs: np.ndarray,
    world: np.ndarray,
    pair_scales: np.ndarray,
    register: _Registrar,
    both_frames: bool,
    num_workers: int,
) -> np.ndarray | None:
    """Step 7: every pair registered to its first frame's world points, into ``pair_scales [P]`` (a tree pair maps
    both of its frames exactly with the traversal's scale, so only the other pairs are registered); with
    ``both_frames`` also to its second frame: those scales ``[P]`` are returned (else None)."""
    h, w = preds.pts_i.shape[1:3]
    stride = register.stride
    in_tree = np.isfinite(pair_scales)
    second_scales = pair_scales.copy() if both_frames else None
    others = np.flatnonzero(~in_tree)
    points_per_pair = len(range(0, h, stride)) * len(range(0, w, stride))
    sides = [("pts_i", "conf_i", 0, pair_scales)]  # (pointmap, confidence, frame column of pairs, output)
    if second_scales is not None:
        sides.append(("pts_j", "conf_j", 1, second_scales))

    def register_chunk(chunk: np.ndarray) -> None:
        chunk = others[chunk]
        for pts, conf, side, scales in sides:
            src = _load(getattr(preds, pts), chunk, pts, pairs, stride).reshape(len(chunk), -1, 3)
            dst = world[pairs[chunk, side], ::stride, ::stride].reshape(len(chunk), -1, 3)
            weight = _load(getattr(preds, conf), chunk, conf, pairs, stride).reshape(len(chunk), -1)
            scales[chunk] = _pair_scales(src, dst, weight, register.robust)
        release(world)

    thread_map(register_chunk, _chunks(len(others), points_per_pair), num_workers, "alignment: pair scales")
    return second_scales


def _frame_depths(
    world: np.ndarray,
    cam_to_world: np.ndarray,
    scale_factor: float,
    frame_log_scales: np.ndarray | None,
    depth: np.ndarray,
    confidence: np.ndarray,
    valid: np.ndarray,
    official_compat: bool,
    num_workers: int,
) -> None:
    """Step 9: scale the world points (and correct each frame's scale about its camera centre), then depth = their
    z in each frame's camera (``cam_to_world`` already scaled); invalid where ≤ 0 or non-finite."""

    def frame_depth(k: int) -> None:
        correction = 1.0 if frame_log_scales is None else float(np.exp(-frame_log_scales[k]))
        rotation, centre = cam_to_world[k, :3, :3], cam_to_world[k, :3, 3]
        # points = centre + correction · (scale_factor · world − centre); z = (points − centre) · optical axis
        rescale = np.hstack([correction * scale_factor * np.eye(3), (1 - correction) * centre[:, None]])
        points = affine_points(world[k], rescale)
        world[k] = points
        axis = rotation[:, 2]
        z = affine_points(points, np.append(axis, -centre @ axis)[None])[..., 0]  # [h,w]
        ok = np.isfinite(z) & (z > 0)
        valid[k] = ok
        depth[k] = np.where(ok, z, 1.0 if official_compat else 0.0)
        confidence[k] = np.where(ok, confidence[k], 0.0)
        release(depth, confidence, valid, world)

    thread_map(frame_depth, range(len(world)), num_workers, "alignment: depth")


def _pair_scales(src: np.ndarray, dst: np.ndarray, weight: np.ndarray, robust: bool) -> np.ndarray:
    """``[C]`` registration scales of a chunk; 0 for pairs whose weights sum to 0 (left out of the mean)."""
    ok = weight.sum(axis=1) > 0
    if ok.all():
        return umeyama(src, dst, weight, robust_scale=robust).scale
    scales = np.zeros(len(src))
    if ok.any():
        scales[ok] = umeyama(src[ok], dst[ok], weight[ok], robust_scale=robust).scale
    return scales


def _solve_frame_log_scales(
    pairs: np.ndarray, first: np.ndarray, second: np.ndarray, scores: np.ndarray, num_frames: int
) -> np.ndarray:
    """``[T]`` per-frame log scale errors ``l`` from ``l_i − l_j = log s_i − log s_j`` over all pairs (mean 0).

    ``first``/``second`` are the scales registering a pair onto the world points of its first/second frame; each
    equation is weighted by the pair's normalised edge score.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import lsqr

    ok = (first > 0) & (second > 0)
    rows = np.flatnonzero(ok)
    weight = np.sqrt(scores[rows] / scores[rows].max())
    num = len(rows)
    r = np.concatenate([np.arange(num), np.arange(num), np.full(num_frames, num)])
    c = np.concatenate([pairs[rows, 0], pairs[rows, 1], np.arange(num_frames)])
    v = np.concatenate([weight, -weight, np.full(num_frames, 1.0 / num_frames)])
    a = coo_matrix((v, (r, c)), shape=(num + 1, num_frames)).tocsr()
    b = np.append(weight * (np.log(first[rows]) - np.log(second[rows])), 0.0)
    return lsqr(a, b, atol=1e-12, btol=1e-12)[0]
