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

After ``global_alignment``, :func:`fuse_pair_depths` replaces each frame's single-pair depth by the fusion of all
its pairs (one closed-form log-scale per pair), and :func:`untriangulated_mask` marks the fallback pixels of the
alignment's own depth.

Conventions: pixel ``(u, v)`` = (column, row) at pixel centres; OpenCV camera axes; ``X_b = R X_a + t``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.errors import InputError
from stereodiff.io.pages import release
from stereodiff.progress import logger, progress, thread_map
from stereodiff.types import PairPredictions, SceneGeometry, check_array

# Fibonacci numbers: consecutive ones are coprime, so any two offsets of a run have no common factor.
_FIBONACCI = (1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233)
_MEDIAN_SAMPLES = 125  # most minimal samples of the least-median stage of robust_essential
_FOCAL_CONTRAST = 1.5  # self-calibration: least cost ratio of the focals ±25 % away to the best one
FULL_RESOLUTION_FLOW_MAX = 400  # largest working long side (px) that gets full-resolution flow by default


@dataclass
class PairGeometry:
    """Two-view geometry of one unordered pair ``(a, b)`` (``X_b = R X_a + t``, ``|t| = 1``).

    Attributes:
        pair: ``(a, b)`` frame indices.
        R: ``[3,3]`` rotation camera a → camera b.
        t: ``[3]`` unit translation camera a → camera b.
        ok: whether the pose is usable (enough consistent matches, inliers and parallax).
        reason: why not, when ``ok`` is False ("" otherwise).
        consistent_fraction: fraction of pixels of view a passing the forward–backward check.
        inlier_fraction: fraction of the RANSAC sample that are essential-matrix inliers.
        median_angle_deg: median triangulation angle of the sampled matches, degrees.
    """

    pair: tuple[int, int]
    R: np.ndarray
    t: np.ndarray
    ok: bool
    reason: str = ""
    consistent_fraction: float = 0.0
    inlier_fraction: float = 0.0
    median_angle_deg: float = 0.0


@dataclass
class MatcherReport:
    """What the last ``predict`` measured (also logged).

    Attributes:
        focal_px: focal length used, in pixels at the working resolution.
        focal_source: ``"given"`` or ``"estimated"`` (``"prior"`` when self-calibration was degenerate).
        offsets: frame offsets of the default pair graph (empty when pairs were given).
        angle_per_frame_deg: measured median triangulation angle per frame of offset (pair selection).
        pairs: geometry of every unordered pair computed.
        failed_frames: frames whose every pair failed (their depth is a constant-depth guess at confidence 1).
    """

    focal_px: float = 0.0
    focal_source: str = ""
    offsets: tuple[int, ...] = ()
    angle_per_frame_deg: float = float("nan")
    pairs: list[PairGeometry] = field(default_factory=list)
    failed_frames: list[int] = field(default_factory=list)


def working_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """``(h, w)`` of a ``height × width`` frame resized so that its long side is ``long_side`` pixels."""
    scale = long_side / max(height, width)
    return max(8, round(height * scale)), max(8, round(width * scale))


def scale_intrinsics(K: np.ndarray, src_size: tuple[int, int], dst_size: tuple[int, int]) -> np.ndarray:
    """``[3,3]`` intrinsics of a ``src_size=(H, W)`` image resized to ``dst_size=(h, w)`` (pixel-centre convention)."""
    sy, sx = dst_size[0] / src_size[0], dst_size[1] / src_size[1]
    out = np.array(K, dtype=np.float64, copy=True)
    out[0, 0] *= sx
    out[1, 1] *= sy
    out[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
    out[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
    return out


def prior_focal(size: tuple[int, int]) -> float:
    """Fallback focal in pixels for ``size=(h, w)``: a 60° field of view on the long side (DUSt3R's focal base)."""
    return max(size) / (2.0 * np.tan(np.radians(30.0)))


def triangulate_rays(
    rays: np.ndarray, rays_other: np.ndarray, center_other: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Midpoint triangulation of ray pairs, vectorised.

    Args:
        rays: ``[N,3]`` directions of the reference camera's rays (centre at the origin), with ``z = 1``.
        rays_other: ``[N,3]`` directions of the other camera's rays, expressed in the reference frame.
        center_other: ``[3]`` the other camera's centre in the reference frame.

    Returns:
        ``depth`` ``[N]`` along the reference rays (camera z, since ``z = 1``), ``depth_other`` ``[N]`` ray
        parameter along ``rays_other`` (> 0 when the point is in front of the other camera) and the triangulation
        ``angle`` ``[N]`` between the two rays in radians.
    """
    a, b = _components(rays), _components(rays_other)
    c = np.asarray(center_other, dtype=np.float64).tolist()  # Python floats keep the rays' dtype
    aa, bb, ab = _dot(a, a), _dot(b, b), _dot(a, b)
    ac, bc = _dot(a, c), _dot(b, c)
    den = aa * bb - ab * ab
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = (ac * bb - ab * bc) / den
        depth_other = (ab * ac - aa * bc) / den
        cos = np.clip(ab / np.sqrt(aa * bb), -1.0, 1.0)
    return depth, depth_other, np.arccos(cos)


def sampson_distance(x_a: np.ndarray, x_b: np.ndarray, F: np.ndarray) -> np.ndarray:
    """``[N]`` Sampson (first-order geometric) epipolar distance in pixels of matches ``x_a [N,2] ↔ x_b [N,2]``
    under the fundamental matrix ``F`` (``x_bᵀ F x_a = 0``)."""
    F = np.asarray(F, dtype=np.float64).tolist()  # Python floats keep the matches' dtype
    (ua, va), (ub, vb) = _components(x_a), _components(x_b)
    fx = [F[r][0] * ua + F[r][1] * va + F[r][2] for r in range(3)]  # F [x_a; 1]
    ftx = [F[0][c] * ub + F[1][c] * vb + F[2][c] for c in range(2)]  # first two rows of Fᵀ [x_b; 1]
    num = ub * fx[0] + vb * fx[1] + fx[2]
    den = fx[0] ** 2 + fx[1] ** 2 + ftx[0] ** 2 + ftx[1] ** 2
    return np.abs(num) / np.sqrt(np.maximum(den, 1e-12))


def fundamental_from_pose(R: np.ndarray, t: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``[3,3]`` fundamental matrix ``K⁻ᵀ [t]ₓ R K⁻¹`` of ``X_b = R X_a + t`` with shared intrinsics ``K``."""
    tx = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
    K_inv = np.linalg.inv(K)
    return K_inv.T @ tx @ R @ K_inv


def focal_from_fundamentals(
    fundamentals: list[np.ndarray], principal_point: tuple[float, float], size: tuple[int, int]
) -> float | None:
    """Self-calibrate a shared focal length from fundamental matrices (Mendonça–Cipolla criterion).

    For the right focal ``f``, ``E = Kᵀ F K`` is an essential matrix: its two non-zero singular values are equal.
    The cost ``Σ (σ₁ − σ₂) / σ₂`` is minimised over a log-spaced grid of fields of view (20°–120° on the long side)
    and refined on a finer grid around the best value.

    Returns:
        the focal in pixels, or ``None`` when the cost curve is too flat to decide (e.g. pure translation along the
        optical axis, where any focal fits).
    """
    if not fundamentals:
        return None
    long_side = max(size)
    f_min, f_max = long_side / (2 * np.tan(np.radians(60))), long_side / (2 * np.tan(np.radians(10)))
    cx, cy = principal_point

    def cost(focals: np.ndarray) -> np.ndarray:
        out = np.zeros(len(focals))
        for F in fundamentals:
            K = np.zeros((len(focals), 3, 3))
            K[:, 0, 0] = K[:, 1, 1] = focals
            K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = cx, cy, 1.0
            E = np.transpose(K, (0, 2, 1)) @ F @ K
            s = np.linalg.svd(E, compute_uv=False)
            out += (s[:, 0] - s[:, 1]) / np.maximum(s[:, 1], 1e-12)
        return out / len(fundamentals)

    grid = np.geomspace(f_min, f_max, 81)
    values = cost(grid)
    best = int(np.argmin(values))
    fine = np.geomspace(grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)], 41)
    fine_values = cost(fine)
    focal = float(fine[int(np.argmin(fine_values))])
    # Flatness: the minimum must stand out from the costs at ±25 % of the focal, relative to its own level (the
    # residual cost at the right focal is the matches' noise, 0.001-0.005 on 7-Scenes and the rendered scenes)
    contrast = cost(np.array([focal / 1.25, focal * 1.25])).min() / max(fine_values.min(), 1e-12)
    if best in (0, len(grid) - 1) or contrast < _FOCAL_CONTRAST:
        return None
    return focal


class GeometricMatcher:
    """Weights-free stage-1 backend (``Stage1Backend``): DIS flow, essential matrix, dense triangulation.

    Args:
        resolution: working resolution: frames are resized so that their long side has this many pixels (smaller
            frames are kept at their size, never upsampled); the pointmaps have this size.
        focal_px: focal length in pixels at the SOURCE resolution, if known (e.g. from the dataset).
        intrinsics: ``[3,3]`` pinhole matrix at the source resolution (overrides ``focal_px``; principal point
            used as given). Without either, the focal is self-calibrated (``focal_from_fundamentals``) and falls
            back to a 60° field of view; the principal point is the image centre.
        offsets: frame offsets of the default pair graph; ``None`` = adapt them to the measured parallax.
        num_offsets: how many consecutive Fibonacci offsets the adaptive graph uses (e.g. 3 → {5, 8, 13}; a 4th
            offset costs a third more pairs for no gain on 7-Scenes, see docs/geometric.md).
        min_parallax_deg: median triangulation angle the smallest offset should reach (0.4° tuned on 7-Scenes:
            {5, 8, 13} there with the given focal).
        flow_preset: OpenCV DIS preset, ``"ultrafast"``, ``"fast"`` or ``"medium"``.
        flow_full_resolution: refine the flow down to the working resolution itself (DIS finest scale 0; the
            presets stop one or two pyramid levels above it, which costs sub-pixel accuracy and thus depth at
            320 px). ``None`` (default): full resolution up to a working long side of ``FULL_RESOLUTION_FLOW_MAX`` =
            400 px, the preset's own finest scale above it (at 512 px the medium preset's flow, refined down to
            256 px, was as accurate on 7-Scenes and ~1.5× faster: docs/geometric.md).
        chain_flows: compose the flow of a pair ``(a, b)`` from those of two shorter pairs ``(a, m)``, ``(m, b)`` of
            the graph and refine it by a variational pass instead of running DIS (:func:`flow_plan`; on the default
            graph the longest offset is the sum of the other two, so DIS runs for 4 instead of 6 flows per frame;
            the refined composed flow is also more accurate, see docs/geometric.md).
        flow_patch_stride: DIS patch stride in pixels (8-pixel patches) of full-resolution flow: 4 (default) or 3
            (the medium preset's: DIS ~30 % dearer, for ~0.001 lower AbsRel on 7-Scenes at 320 px and no gain on the
            rendered scenes; see docs/geometric.md).
        flow_descent_iterations: DIS gradient-descent iterations per patch of full-resolution flow (the medium
            preset: 25). 12 keeps the cost of the extra pyramid level down; 20 costs ~6 % more matcher time and
            gave better flow where it is large (``cpu`` preset on ``driving``: final AbsRel 0.341 → 0.307; on
            7-Scenes 0.127 → 0.119, with self-calibrated focal), but no gain on 7-Scenes with the focal given.
        fb_threshold_px: forward–backward consistency threshold in pixels at a 320-pixel long side (scaled with
            the working resolution); also the scale of the confidence's flow term.
        motion_boundary_margin_px: pixels at motion boundaries (:func:`motion_boundaries`: the flow changes fast for
            its size) and this many pixels around them are not matched; ``None`` turns the check off. DIS spreads
            a moving object's motion a few pixels into its surroundings (8-pixel patches), and static pixels
            there triangulate to the object's depth; the check also drops flows smeared across depth edges. On the
            rendered scenes (48 frames, 320 px) static AbsRel 0.035 → 0.026 (``indoor-dynamic``) and 0.025 →
            0.017 (static orbit), for 4–5 % of static coverage; see docs/geometric.md.
        epipolar_sigma_px: scale of the Sampson residual in the confidence (pixels at 320, scaled).
        angle_ref_deg: triangulation angle above which the angle term of the confidence is 1.
        min_angle_deg: pairs whose median triangulation angle is below this are failed (pure rotation).
        depth_range: triangulated depths outside ``[lo, hi]`` times the pair median are rejected.
        max_confidence: confidence of a perfect pixel (the minimum, for untriangulated pixels, is 1).
        ransac_threshold_px: essential-matrix inlier threshold in pixels at 320 (scaled).
        median_threshold_px: threshold of the least-median-of-squares stage of :func:`robust_essential` in pixels
            at 320 (scaled): it sets how long that stage samples (tighter = more minimal samples).
        grid_cells: number of cells along the long side of the well-spread RANSAC subsample (32: ~700 matches
            at 4:3; 48 doubles the RANSAC time for no gain on 7-Scenes).
        num_workers: threads computing pairs in parallel (OpenCV and numpy release the GIL); the output does not
            depend on it.
        seed: seed of OpenCV's RNG (RANSAC), for reproducible output.

    After ``predict``, ``report`` holds the focal used, the offsets and per-pair geometry (``MatcherReport``).
    """

    def __init__(
        self,
        *,
        resolution: int = 320,
        focal_px: float | None = None,
        intrinsics: np.ndarray | None = None,
        offsets: tuple[int, ...] | None = None,
        num_offsets: int = 3,
        min_parallax_deg: float = 0.4,
        flow_preset: str = "medium",
        flow_full_resolution: bool | None = None,
        flow_patch_stride: int = 4,
        flow_descent_iterations: int = 12,
        chain_flows: bool = True,
        fb_threshold_px: float = 1.0,
        motion_boundary_margin_px: int | None = 1,
        epipolar_sigma_px: float = 1.0,
        angle_ref_deg: float = 2.0,
        min_angle_deg: float = 0.25,
        depth_range: tuple[float, float] = (0.2, 5.0),
        max_confidence: float = 10.0,
        ransac_threshold_px: float = 0.5,
        median_threshold_px: float = 0.08,
        grid_cells: int = 32,
        num_workers: int = 2,
        seed: int = 0,
    ) -> None:
        if resolution < 32:
            raise ValueError(f"resolution must be >= 32 pixels (long side), got {resolution}")
        if focal_px is not None and not (np.isfinite(focal_px) and focal_px > 0):
            raise ValueError(f"focal_px must be a positive number of pixels, got {focal_px}")
        if intrinsics is not None:
            intrinsics = np.asarray(intrinsics, dtype=np.float64)
            check_array("intrinsics", intrinsics, shape=(3, 3), kinds="f")
        if offsets is not None and (len(offsets) == 0 or min(offsets) < 1):
            raise ValueError(f"offsets must be positive frame offsets, got {offsets}")
        if num_offsets < 1:
            raise ValueError(f"num_offsets must be >= 1, got {num_offsets}")
        presets = ("ultrafast", "fast", "medium")
        if flow_preset not in presets:
            raise ValueError(f"flow_preset must be one of {presets}, got {flow_preset!r}")
        if not 1 <= flow_patch_stride <= 8:
            raise ValueError(f"flow_patch_stride must lie in 1..8 pixels (the patch size), got {flow_patch_stride}")
        if flow_descent_iterations < 1:
            raise ValueError(f"flow_descent_iterations must be >= 1, got {flow_descent_iterations}")
        if not 0 < depth_range[0] < 1 < depth_range[1]:
            raise ValueError(f"depth_range must be (lo, hi) with 0 < lo < 1 < hi, got {depth_range}")
        if num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {num_workers}")
        if motion_boundary_margin_px is not None and motion_boundary_margin_px < 0:
            raise ValueError(f"motion_boundary_margin_px must be >= 0 or None, got {motion_boundary_margin_px}")
        if max_confidence <= 1:
            raise ValueError(f"max_confidence must be > 1, got {max_confidence}")
        self.resolution = int(resolution)
        self._long_side = self.resolution  # working long side of the current video: ≤ resolution, ≤ the source's
        self.focal_px = focal_px
        self.intrinsics = intrinsics
        self.offsets = tuple(int(o) for o in offsets) if offsets is not None else None
        self.num_offsets = int(num_offsets)
        self.min_parallax_deg = float(min_parallax_deg)
        self.flow_preset = flow_preset
        self.flow_full_resolution = flow_full_resolution
        self.flow_patch_stride = int(flow_patch_stride)
        self.flow_descent_iterations = int(flow_descent_iterations)
        self.chain_flows = bool(chain_flows)
        self.fb_threshold_px = float(fb_threshold_px)
        self.motion_boundary_margin_px = motion_boundary_margin_px
        self.epipolar_sigma_px = float(epipolar_sigma_px)
        self.angle_ref_deg = float(angle_ref_deg)
        self.min_angle_deg = float(min_angle_deg)
        self.depth_range = (float(depth_range[0]), float(depth_range[1]))
        self.max_confidence = float(max_confidence)
        self.ransac_threshold_px = float(ransac_threshold_px)
        self.median_threshold_px = float(median_threshold_px)
        self.grid_cells = int(grid_cells)
        self.num_workers = int(num_workers)
        self.seed = int(seed)
        self.report = MatcherReport()
        # flows [h,w,2] (forward, backward) of the probe pairs of the current ``predict``, taken by the pair run
        self._probe_flows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ public API

    def predict(
        self, frames: Any, pairs: np.ndarray | None = None, *, cache_dir: Path | None = None
    ) -> PairPredictions:
        """Pairwise pointmaps of ``frames``.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB array-like (may be a ``np.memmap``; read one frame at a time).
            pairs: ``[P,2]`` directed frame pairs, or ``None`` for the adaptive default graph (Fibonacci offsets
                chosen from the measured parallax, symmetrised: forward pairs first, then their reverses).
            cache_dir: when given, results go to a ``PairCache`` there; pairs already done are skipped.

        Returns:
            ``PairPredictions`` at the working resolution ``(h, w)``: ``pts_i``/``pts_j`` ``[P,h,w,3]`` float32 in
            camera ``i`` (arbitrary per-pair scale), ``conf_i``/``conf_j`` ``[P,h,w]`` float32 ≥ 1.
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
        opencv_threads = cv2.getNumThreads()
        if self.num_workers > 1:  # the workers use the cores; OpenCV's own pool would only contend with them
            cv2.setNumThreads(1)
        self._probe_flows = {}
        try:
            return self._predict(frames, pairs, num_frames, height, width, cache_dir)
        finally:
            cv2.setNumThreads(opencv_threads)
            self._probe_flows = {}

    def _predict(
        self, frames: Any, pairs: np.ndarray | None, num_frames: int, height: int, width: int, cache_dir: Path | None
    ) -> PairPredictions:
        """``predict`` after its input checks."""
        # 2. Working-resolution grayscale frames (the only per-frame data; memory-mapped next to the pair cache)
        self._long_side = min(self.resolution, max(height, width))  # never upsample: it adds cost, not detail
        size = working_size(height, width, self._long_side)  # (h, w)
        gray = self._grayscale(frames, size, None if cache_dir is None else Path(cache_dir) / "gray.npy")  # [T,h,w]
        K, focal_source = self._intrinsics((height, width), size, gray)
        self.report = MatcherReport(focal_px=float(K[0, 0]), focal_source=focal_source)
        logger.info(
            "geometric matcher: %dx%d working resolution, focal %.1f px (%s)", size[1], size[0], K[0, 0], focal_source
        )

        # 3. Pair graph
        if pairs is None:
            offsets = self.offsets or self._adaptive_offsets(gray, K)
            pairs = default_pairs(num_frames, offsets)
            self.report.offsets = tuple(offsets)
            logger.info("geometric matcher: offsets %s, %d directed pairs", tuple(offsets), len(pairs))

        # 4. Output arrays (a PairCache when resuming)
        todo = np.arange(len(pairs))
        cache = None
        if cache_dir is not None:
            from stereodiff.stage1.cache import PairCache

            cache = PairCache.open(Path(cache_dir), pairs, size, num_frames)
            todo = cache.missing()
            out = None
        else:
            num_pairs = len(pairs)
            out = {
                "pts_i": np.empty((num_pairs, *size, 3), np.float32),
                "pts_j": np.empty((num_pairs, *size, 3), np.float32),
                "conf_i": np.empty((num_pairs, *size), np.float32),
                "conf_j": np.empty((num_pairs, *size), np.float32),
            }

        # 5. One computation per unordered pair serves both directions; long pairs compose the flows of two short ones
        unordered: dict[tuple[int, int], list[int]] = {}
        for k in todo:
            i, j = int(pairs[k, 0]), int(pairs[k, 1])
            unordered.setdefault((min(i, j), max(i, j)), []).append(int(k))
        plan = flow_plan({(int(min(i, j)), int(max(i, j))) for i, j in pairs}) if self.chain_flows else {}
        self._probe_flows = {ab: f for ab, f in self._probe_flows.items() if ab in unordered and ab not in plan}
        for ((a, _b), rows), (view_a, view_b, geom) in progress(
            self._map_pairs(list(unordered.items()), gray, K, plan), desc="geometric pairs", total=len(unordered)
        ):
            self.report.pairs.append(geom)
            if len(self.report.pairs) % 256 == 0:
                release(gray)  # frames already matched leave the resident set (memory flat in T)
            for k in rows:
                first, second = (view_a, view_b) if pairs[k, 0] == a else (view_b, view_a)
                pts_i, conf_i = first[0], first[2]
                pts_j, conf_j = second[1], second[2]
                if cache is not None:
                    cache.write(k, pts_i, pts_j, conf_i, conf_j)
                else:
                    out["pts_i"][k], out["pts_j"][k] = pts_i, pts_j
                    out["conf_i"][k], out["conf_j"][k] = conf_i, conf_j

        self._report_failures(pairs)
        if cache is not None:
            return cache.predictions()
        return PairPredictions(pairs=pairs, num_frames=num_frames, **out)

    # ------------------------------------------------------------------ steps

    def _map_pairs(
        self,
        items: list[tuple[tuple[int, int], list[int]]],
        gray: np.ndarray,
        K: np.ndarray,
        plan: dict[tuple[int, int], int],
    ) -> Any:
        """``(item, _pair(...))`` for every ``((a, b), rows)`` item, on ``num_workers`` threads (OpenCV and large
        numpy operations release the GIL). The pairs in ``plan`` (:func:`flow_plan`) compose the flows of their two
        halves, refined by one variational pass (the last step of DIS, a quarter of its cost). Items run by last
        frame (composed pairs ``num_workers`` frames later), then first frame descending, so both halves always
        come first, and a half's flows are kept only until the pairs composed from it are done (memory flat in
        T). At most ``2 · num_workers + 1`` pairs are in flight. Each pair seeds OpenCV's (thread-local) RNG from
        its frame indices, and a half done in an earlier run (resume) is computed again, identically, so the
        output depends neither on the threads nor on the cache."""
        import threading
        from concurrent.futures import Future, ThreadPoolExecutor

        import cv2

        local = threading.local()
        lock = threading.Lock()
        h, w = gray.shape[1:]
        rays_all = _rays(_pixel_grid(h, w).reshape(-1, 2), np.linalg.inv(K))  # [h*w,3], z = 1
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
            return probed or self._dis_flows(gray[a], gray[b], self._thread_engine(local))

        def composed(a: int, m: int, b: int) -> tuple[np.ndarray, np.ndarray]:
            (flow_am, flow_ma), (flow_mb, flow_bm) = half_flows((a, m)), half_flows((m, b))
            if not hasattr(local, "refine"):
                local.refine = cv2.VariationalRefinement_create()  # DIS's own refinement, at the working resolution
            forward = local.refine.calc(gray[a], gray[b], compose_flows(flow_am, flow_mb))
            backward = local.refine.calc(gray[b], gray[a], compose_flows(flow_bm, flow_ma))
            return forward, backward

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
            return item, self._pair(*flows, K, rays_all, (a, b))

        if self.num_workers == 1:
            yield from map(work, items)
            return
        with ThreadPoolExecutor(self.num_workers) as pool:
            pending: deque = deque()
            for item in items:  # a sliding window: a worker never waits for the slowest pair of a batch
                pending.append(pool.submit(work, item))
                if len(pending) > 2 * self.num_workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

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

    @staticmethod
    def _grayscale(frames: Any, size: tuple[int, int], path: Path | None) -> np.ndarray:
        """``[T,h,w]`` uint8 grey frames at ``size``: in RAM, or a memmap at ``path`` (rebuilt on every call)."""
        import cv2

        h, w = size
        if path is None:
            gray = np.empty((len(frames), h, w), np.uint8)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            gray = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(len(frames), h, w))
        for t in range(len(frames)):
            frame = np.ascontiguousarray(frames[t])  # one frame from the (mem-mapped) video
            small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
            gray[t] = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        release(gray)
        return gray

    def _flow_engine(self) -> Any:
        import cv2

        preset = {
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
        }[self.flow_preset]
        dis = cv2.DISOpticalFlow_create(preset)
        full_resolution = self.flow_full_resolution
        if full_resolution is None:
            full_resolution = self._long_side <= FULL_RESOLUTION_FLOW_MAX
        if full_resolution:
            # finest scale 0 (the presets stop at 1 or 2): on rendered scenes this halves the depth error of the preset
            dis.setFinestScale(0)
            dis.setPatchStride(self.flow_patch_stride)
            dis.setGradientDescentIterations(self.flow_descent_iterations)
        return dis

    def _seed_rng(self, a: int, b: int) -> None:
        """Seed OpenCV's (thread-local) RNG for the pair ``(a, b)``: RANSAC results do not depend on the threads."""
        import cv2

        cv2.setRNGSeed(self.seed * 1_000_003 + a * 7919 + b)

    def _thread_engine(self, local: Any) -> Any:
        """The calling thread's DIS engine, kept in ``local`` (a ``threading.local``; DIS is not thread-safe)."""
        if not hasattr(local, "dis"):
            local.dis = self._flow_engine()
        return local.dis

    @property
    def _px_scale(self) -> float:
        """Pixel thresholds are given at a 320-pixel long side; this scales them to the working resolution."""
        return self._long_side / 320.0

    def _intrinsics(self, src_size: tuple[int, int], size: tuple[int, int], gray: np.ndarray) -> tuple[np.ndarray, str]:
        h, w = size
        if self.intrinsics is not None:
            return scale_intrinsics(self.intrinsics, src_size, size), "given"
        K = np.array([[1.0, 0.0, (w - 1) / 2], [0.0, 1.0, (h - 1) / 2], [0.0, 0.0, 1.0]])
        if self.focal_px is not None:
            K[0, 0] = self.focal_px * w / src_size[1]
            K[1, 1] = self.focal_px * h / src_size[0]
            return K, "given"
        focal = self._self_calibrate(gray, K)
        if focal is None:
            K[0, 0] = K[1, 1] = prior_focal(size)
            logger.warning("geometric matcher: focal self-calibration was inconclusive; using a 60° field of view")
            return K, "prior"
        K[0, 0] = K[1, 1] = focal
        return K, "estimated"

    def _probe_pairs(self, num_frames: int, offset: int, count: int = 8) -> list[tuple[int, int]]:
        offset = max(1, min(offset, num_frames - 1))
        starts = np.unique(np.linspace(0, num_frames - 1 - offset, count).round().astype(int))
        return [(int(s), int(s) + offset) for s in starts]

    def _self_calibrate(self, gray: np.ndarray, K: np.ndarray) -> float | None:
        import cv2

        def fundamental(a: int, b: int, x_a: np.ndarray, x_b: np.ndarray) -> np.ndarray | None:
            try:
                F, mask = cv2.findFundamentalMat(
                    x_a, x_b, cv2.USAC_ACCURATE, self.ransac_threshold_px * self._px_scale, 0.999
                )
            except cv2.error:  # OpenCV's USAC asserts on some degenerate samples ("!model.empty()"): no model
                return None
            usable = F is not None and F.shape == (3, 3) and mask is not None and mask.sum() >= 30
            return F if usable else None

        fundamentals = self._probe(gray, self._probe_pairs(len(gray), min(8, len(gray) - 1)), fundamental)
        h, w = gray.shape[1:]
        return focal_from_fundamentals(fundamentals, (K[0, 2], K[1, 2]), (h, w))

    def _probe(self, gray: np.ndarray, pairs: list[tuple[int, int]], measure: Callable[..., Any]) -> list[Any]:
        """``measure(a, b, x_a, x_b)`` on the well-spread consistent matches ``[N,2]`` of each probe pair ``(a, b)``
        that has enough of them, on ``num_workers`` threads; the results in pair order, ``None`` ones left out.
        OpenCV's RNG is seeded per pair, so the results do not depend on the threads. The flows are kept in
        ``_probe_flows`` (the focal and offset probes share pairs, and most probe pairs are pairs of the graph)."""
        import threading

        local = threading.local()

        def one(pair: tuple[int, int]) -> Any:
            a, b = pair
            flows = self._probe_flows.get(pair) or self._dis_flows(gray[a], gray[b], self._thread_engine(local))
            self._probe_flows[pair] = flows  # kept for the pair run (the probes are at most 8 pairs per offset)
            matches = self._sample_matches(*self._checked(*flows)[0])
            if matches is None:
                return None
            self._seed_rng(a, b)
            return measure(a, b, *matches)

        return [result for result in thread_map(one, pairs, self.num_workers, "geometric probes") if result is not None]

    @staticmethod
    def _dis_flows(img_a: np.ndarray, img_b: np.ndarray, dis: Any) -> tuple[np.ndarray, np.ndarray]:
        """Forward and backward DIS flow ``[h,w,2]`` (pixels) of grey frames ``img_a``, ``img_b`` ``[h,w]``."""
        return dis.calc(img_a, img_b, None), dis.calc(img_b, img_a, None)

    def _checked(
        self, flow_ab: np.ndarray, flow_ba: np.ndarray
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each view of a pair, from its forward and backward flows ``[h,w,2]``: targets ``[h,w,2]`` in the
        other view, forward–backward error ``[h,w]`` and the consistency mask ``[h,w]`` (in the image, error <
        threshold, not at a motion boundary)."""
        threshold = self.fb_threshold_px * self._px_scale
        views = []
        for forward, backward in ((flow_ab, flow_ba), (flow_ba, flow_ab)):
            target, fb_err, valid = _flow_check(forward, backward)
            valid &= fb_err < threshold
            if self.motion_boundary_margin_px is not None:
                valid &= ~motion_boundaries(forward, self.motion_boundary_margin_px)
            views.append((target, fb_err, valid))
        return views[0], views[1]

    def _sample_matches(
        self, target: np.ndarray, fb_err: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Well-spread consistent matches ``[N,2]`` (pixels in a, in b), one per grid cell, or None if < 30."""
        sample = _spread_sample(valid, fb_err, self.grid_cells)
        if len(sample) < 30:
            return None
        grid = _pixel_grid(*valid.shape).reshape(-1, 2)
        return grid[sample].astype(np.float64), target.reshape(-1, 2)[sample].astype(np.float64)

    def _adaptive_offsets(self, gray: np.ndarray, K: np.ndarray) -> tuple[int, ...]:
        """Consecutive Fibonacci offsets whose smallest reaches ``min_parallax_deg`` of median parallax.

        The parallax per frame of offset is measured on up to 8 probe pairs at offset 8 (then 4, 2, 1 if no probe
        pair has usable geometry, e.g. a fast camera that leaves the view) as the median rotation-compensated flow
        (``_parallax_deg``): unlike the triangulation angle it does not depend on the translation direction, which
        the essential matrix determines poorly when the parallax is small.
        """
        num_frames = len(gray)

        def parallax(a: int, b: int, x_a: np.ndarray, x_b: np.ndarray) -> float | None:
            geom = self._relative_pose(x_a, x_b, K, (a, b))
            return _parallax_deg(x_a, x_b, geom.R, K) if geom.inlier_fraction >= 0.3 else None

        per_frame = float("nan")
        for probe in sorted({min(o, num_frames - 1) for o in (8, 4, 2, 1)}, reverse=True):
            angles = self._probe(gray, self._probe_pairs(num_frames, probe), parallax)
            if angles:
                per_frame = float(np.median(angles)) / probe
                break
        self.report.angle_per_frame_deg = per_frame
        needed = self.min_parallax_deg / per_frame if np.isfinite(per_frame) and per_frame > 0 else 1.0
        start = next((k for k, f in enumerate(_FIBONACCI) if f >= needed), len(_FIBONACCI) - 1)
        offsets = [f for f in _FIBONACCI[start : start + self.num_offsets] if f < num_frames]
        if not offsets:  # the video is shorter than the parallax wants: use the largest offsets that fit
            offsets = [f for f in _FIBONACCI if f < num_frames][-self.num_offsets :]
        logger.info("geometric matcher: %.3f° median parallax per frame → offsets %s", per_frame, offsets)
        return tuple(offsets)

    def _relative_pose(self, x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray, pair: tuple[int, int]) -> PairGeometry:
        """Essential matrix (:func:`robust_essential`) + recoverPose on matches ``[N,2]``; median triangulation angle
        of the inliers."""
        import cv2

        eye = np.eye(3)
        zero = np.zeros(3)
        threshold = self.ransac_threshold_px * self._px_scale
        K_inv = np.linalg.inv(K)
        E = robust_essential(x_a, x_b, K, threshold, self.median_threshold_px * self._px_scale)
        if E is None:
            return PairGeometry(pair, eye, zero, False, "essential matrix estimation failed")
        inliers = np.flatnonzero(sampson_distance(x_a, x_b, K_inv.T @ E @ K_inv) < threshold)
        # cheirality test on at most 200 inliers, evenly spread (recoverPose triangulates every point it gets 4 times)
        sub = inliers[:: max(1, -(-len(inliers) // 200))]
        # distanceThresh: keep far points (with |t| = 1 and a small baseline every depth is large)
        _, R, t, pose_mask, _ = cv2.recoverPose(E, x_a[sub], x_b[sub], K, distanceThresh=1e9)
        t = t.ravel() / max(np.linalg.norm(t), 1e-12)
        in_front = pose_mask.ravel() > 0
        inlier_fraction = float(len(inliers) / len(x_a) * in_front.mean()) if len(sub) else 0.0
        good = sub[in_front]
        if len(good) < 20:
            return PairGeometry(pair, eye, zero, False, "too few essential-matrix inliers", 0.0, inlier_fraction)
        rays_a = _rays(x_a[good], K_inv)
        rays_b = _rays(x_b[good], K_inv) @ R  # = Rᵀ ray_b, in camera a
        _, _, angle = triangulate_rays(rays_a, rays_b, -R.T @ t)
        median_angle = float(np.degrees(np.median(angle)))
        geom = PairGeometry(pair, R, t, True, "", 0.0, inlier_fraction, median_angle)
        if inlier_fraction < 0.3:
            geom.ok, geom.reason = False, f"only {inlier_fraction:.0%} essential-matrix inliers"
        elif median_angle < self.min_angle_deg:
            geom.ok, geom.reason = False, f"median parallax {median_angle:.2f}° (pure rotation or no motion)"
        return geom

    def _pair(
        self,
        flow_ab: np.ndarray,
        flow_ba: np.ndarray,
        K: np.ndarray,
        rays_all: np.ndarray,
        pair: tuple[int, int],
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray], PairGeometry]:
        """Both views of an unordered pair, from its forward and backward flows ``[h,w,2]``: for each ``(pts [h,w,3]
        in its own camera, the same points in the other camera [h,w,3], conf [h,w])``; ``rays_all`` ``[h*w,3]`` are
        the pixel rays (``z = 1``)."""
        h, w = flow_ab.shape[:2]
        (target_a, fb_a, valid_a), (target_b, fb_b, valid_b) = self._checked(flow_ab, flow_ba)
        consistent = float(valid_a.mean())
        matches = self._sample_matches(target_a, fb_a, valid_a)
        if matches is None:
            geom = PairGeometry(pair, np.eye(3), np.zeros(3), False, "too few consistent flow matches (no texture?)")
        else:
            geom = self._relative_pose(*matches, K, pair)
        geom.consistent_fraction = consistent
        if not geom.ok:
            logger.info("geometric matcher: pair %s failed: %s", pair, geom.reason)
            return _failed_view(rays_all, h, w), _failed_view(rays_all, h, w), geom

        R, t = geom.R, geom.t  # a → b
        F = fundamental_from_pose(R, t, K)
        K_inv = np.linalg.inv(K)
        depth_a, conf_a = self._view(target_a, fb_a, valid_a, K_inv, R, t, F)
        depth_b, conf_b = self._view(target_b, fb_b, valid_b, K_inv, R.T, -R.T @ t, F.T)
        pts_a = (rays_all * depth_a.reshape(-1, 1)).reshape(h, w, 3)
        pts_b = (rays_all * depth_b.reshape(-1, 1)).reshape(h, w, 3)
        view_a = (pts_a, _transform(pts_a, R, t), conf_a)
        view_b = (pts_b, _transform(pts_b, R.T, -R.T @ t), conf_b)
        return view_a, view_b, geom

    def _view(
        self,
        target: np.ndarray,
        fb_err: np.ndarray,
        valid: np.ndarray,
        K_inv: np.ndarray,
        R: np.ndarray,
        t: np.ndarray,
        F: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dense depth map ``[h,w]`` (along the pixel rays, own camera) and confidence ``[h,w]`` of one view, given
        the pose own → other (``X_other = R X + t``) and the fundamental matrix own → other."""
        h, w = valid.shape
        idx = np.flatnonzero(valid)
        x_self = np.take(_pixel_grid(h, w).reshape(-1, 2), idx, axis=0)  # take: ~15× faster than x[idx] on [N,2]
        x_other = np.take(target.reshape(-1, 2), idx, axis=0)
        rays_other = _transform(_rays(x_other, K_inv), R.T)  # Rᵀ ray_other, in own camera
        depth, depth_other, angle = triangulate_rays(_rays(x_self, K_inv), rays_other, -R.T @ t)
        ok = np.isfinite(depth) & (depth > 0) & (depth_other > 0)
        median = float(np.median(depth[ok])) if ok.any() else 1.0
        lo, hi = self.depth_range
        ok &= (depth > lo * median) & (depth < hi * median)

        # confidence: 1 + (max − 1) · w_fb · w_epi · w_angle, with the exponents of the two Gaussians summed
        scale = self._px_scale
        sampson = sampson_distance(x_self, x_other, F)
        fb = fb_err.reshape(-1)[idx]
        gauss = (fb / (self.fb_threshold_px * scale / 2)) ** 2 + (sampson / (self.epipolar_sigma_px * scale)) ** 2
        w_ang = np.clip(angle / np.radians(self.angle_ref_deg), 0.0, 1.0) ** 2
        weight = np.exp(-0.5 * gauss) * w_ang

        depth_map = np.full(h * w, median, np.float32)  # fallback: pair median along the ray
        conf = np.ones(h * w, np.float32)
        keep = idx[ok]
        depth_map[keep] = depth[ok]
        conf[keep] = 1.0 + (self.max_confidence - 1.0) * weight[ok]
        return depth_map.reshape(h, w), conf.reshape(h, w)

    def _report_failures(self, pairs: np.ndarray) -> None:
        ok_frames = set()
        failed = [g for g in self.report.pairs if not g.ok]
        for g in self.report.pairs:
            if g.ok:
                ok_frames.update(g.pair)
        touched = {int(f) for f in np.unique(pairs)}
        done = {f for g in self.report.pairs for f in g.pair}
        self.report.failed_frames = sorted(f for f in touched & done if f not in ok_frames)
        if failed:  # one count per kind of failure: the reason with its numbers and explanation taken out
            kinds = Counter(re.sub(r"\d+(\.\d+)?", "x", g.reason.split(" (")[0]) for g in failed)
            frames = self.report.failed_frames
            logger.warning(
                "geometric matcher: %d of %d pairs failed (%s; threshold %.2f° of parallax); %d frames with no usable "
                "pair%s",
                len(failed),
                len(self.report.pairs),
                ", ".join(f"{count}× {kind}" for kind, count in kinds.most_common()),
                self.min_angle_deg,
                len(frames),
                f": {frames[:20]}{' …' if len(frames) > 20 else ''}" if frames else "",
            )


# ---------------------------------------------------------------------- helpers


def default_pairs(num_frames: int, offsets: tuple[int, ...] | list[int]) -> np.ndarray:
    """``[P,2]`` symmetrised pairs ``(i, i+o)`` for every offset ``o < num_frames`` (forward half, then the
    reverses), with offset-1 and -2 pairs added when needed to connect the graph."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    offsets = sorted({int(o) for o in offsets if 0 < o < num_frames})
    forward = [(i, i + o) for o in offsets for i in range(num_frames - o)]
    for extra in (1, 2):
        edges = np.array(forward, dtype=np.int64).reshape(-1, 2)
        graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(num_frames, num_frames))
        if connected_components(graph, directed=False)[0] == 1:
            break
        if extra not in offsets:
            forward += [(i, i + extra) for i in range(num_frames - extra)]
    forward = sorted(set(forward))
    pairs = np.array(forward + [(j, i) for i, j in forward], dtype=np.int64)
    return pairs


def robust_essential(
    x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray, threshold: float, median_threshold: float
) -> np.ndarray | None:
    """``[3,3]`` essential matrix of matches ``x_a ↔ x_b [N,2]`` (pixels, shared intrinsics ``K``), or None.

    Two stages (OpenCV USAC):

    1. **least median of squares**: the 5-point minimal model whose median Sampson distance is lowest (uniform
       sampling, inner local optimisation, least-squares polish), so the motion of the majority of the matches wins.
       ``median_threshold`` (px) only decides when sampling stops and which points the local optimisation uses:
       a tight one makes the sampler draw enough minimal samples for the median to be minimised well, up to
       ``_MEDIAN_SAMPLES`` = 125: an all-inlier sample with probability 0.98 at 50 % outliers (the most a median
       criterion tolerates anyway), 0.99996 at 40 %; the inner local optimisation also polishes near misses (250
       and 1000 samples cost 1.4× and 3.4× the time for the same accuracy, see docs/geometric.md).
    2. **refinement**: USAC_ACCURATE (MSAC + graph-cut local optimisation) on the matches within 2.5 robust
       standard deviations (``1.4826 · median``) of the first model, with the inlier ``threshold`` (px).

    Why not one USAC run: at low parallax a model that also fits independently moving objects (e.g. people walking
    parallel to the camera) explains as many matches within a sub-pixel threshold as the true one, and inlier
    counting then picks a compromise whose translation direction is off by ~15° (measured on the rendered
    ``indoor-dynamic`` scene: 15-18° median error; with the median criterion 1-2°, static depth AbsRel 0.089 →
    0.035). A plain LMedS run (OpenCV's ``LMEDS``) is as robust but 3× slower, and its minimal model is noisier.
    """
    import cv2

    params = cv2.UsacParams()
    params.score = cv2.SCORE_METHOD_LMEDS
    params.sampler = cv2.SAMPLING_UNIFORM
    params.loMethod = cv2.LOCAL_OPTIM_INNER_LO
    params.final_polisher = cv2.LSQ_POLISHER
    params.confidence = 0.999
    params.maxIterations = _MEDIAN_SAMPLES
    params.threshold = float(median_threshold)
    params.isParallel = False  # the matcher runs pairs on its own threads
    no_distortion = np.zeros(5)
    try:  # OpenCV's USAC asserts on some degenerate samples ("!model.empty()"): then there is no model
        E, _ = cv2.findEssentialMat(x_a, x_b, K, K, no_distortion, no_distortion, params)
    except cv2.error:
        return None
    if E is None or E.shape[0] < 3:
        return None
    E = E[:3]
    K_inv = np.linalg.inv(K)
    residual = sampson_distance(x_a, x_b, K_inv.T @ E @ K_inv)
    close = residual < max(2.5 * 1.4826 * float(np.median(residual)), 1e-3)
    if close.sum() >= 20:
        try:
            refined, _ = cv2.findEssentialMat(
                x_a[close], x_b[close], K, method=cv2.USAC_ACCURATE, prob=0.999, threshold=threshold
            )
        except cv2.error:  # keep the first stage's model
            refined = None
        if refined is not None and refined.shape[0] >= 3:
            E = refined[:3]
    return E


def flow_plan(unordered: set[tuple[int, int]] | list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Which pairs get a composed flow: ``{(a, b): m}`` for each unordered pair ``(a, b)`` (``a < b``) whose flow
    is ``a → m → b`` through two pairs ``(a, m)``, ``(m, b)`` of the set that are computed directly.

    Pairs are taken by increasing length ``b − a``; a pair is composed when such a split exists (two hops only:
    the halves are never composed themselves), with the most balanced split (then the smallest ``m``). On the
    default Fibonacci graph every third offset is the sum of the two before it ({5, 8, 13}: 13 = 5 + 8), so DIS
    runs for 4 instead of 6 flows per frame. The matcher refines a composed flow by a variational pass, after which
    it was more accurate than the direct DIS flow on the rendered orbit (DIS's error grows with the displacement;
    see docs/geometric.md).
    """
    pairs = sorted({(int(a), int(b)) for a, b in unordered}, key=lambda p: (p[1] - p[0], p))
    direct: set[tuple[int, int]] = set()
    lengths: set[int] = set()
    plan: dict[tuple[int, int], int] = {}
    for a, b in pairs:
        splits = [a + d for d in lengths if d < b - a and (a, a + d) in direct and (a + d, b) in direct]
        if splits:
            plan[(a, b)] = min(splits, key=lambda m: (max(m - a, b - m), m))
        else:
            direct.add((a, b))
            lengths.add(b - a)
    return plan


def compose_flows(flow_am: np.ndarray, flow_mb: np.ndarray) -> np.ndarray:
    """``[h,w,2]`` flow ``a → b`` of the flows ``a → m`` and ``m → b`` ``[h,w,2]`` (pixels): ``flow_am`` plus
    ``flow_mb`` sampled bilinearly at the targets in ``m``. Pixels whose target leaves ``m``'s image get a flow
    of 10⁶ pixels, which takes them out of ``b``'s image too (so the in-image check drops them)."""

    h, w = flow_am.shape[:2]
    return flow_am + _onward(flow_mb, _pixel_grid(h, w) + flow_am)


def _onward(flow_mb: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``flow_mb [h,w,2]`` sampled bilinearly at ``target [h,w,2]`` (pixels in m); 10⁶ outside m's image."""
    import cv2

    return cv2.remap(flow_mb, target, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(1e6, 1e6))


def motion_boundaries(flow: np.ndarray, margin_px: int = 0) -> np.ndarray:
    """``[h,w]`` bool: pixels where the flow ``[h,w,2]`` (pixels) changes fast for its size, and ``margin_px`` pixels
    around them (a square neighbourhood).

    The criterion of Sundaram, Brox & Keutzer (ECCV 2010, "Dense point trajectories by GPU-accelerated large
    displacement optical flow"): ``|∇u|² + |∇v|² > 0.01 |w|² + 0.002`` (central differences, pixels per pixel).
    Such pixels lie on the boundaries of independently moving objects and on depth edges, where a patch-based flow
    mixes the two sides.
    """
    import cv2

    flow = np.asarray(flow, np.float32)
    grad_x = cv2.Sobel(flow, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)  # (f[x+1] − f[x−1]) / 2
    grad_y = cv2.Sobel(flow, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)
    change = _squared_norm(grad_x) + _squared_norm(grad_y)
    boundary = change > 0.01 * _squared_norm(flow) + 0.002
    if margin_px:
        size = 2 * int(margin_px) + 1
        boundary = cv2.dilate(boundary.view(np.uint8), np.ones((size, size), np.uint8)).view(bool)
    return boundary


def _parallax_deg(x_a: np.ndarray, x_b: np.ndarray, R: np.ndarray, K: np.ndarray) -> float:
    """Median parallax of matches ``x_a ↔ x_b [N,2]`` in degrees: the displacement left after removing the rotation
    ``R`` (the homography ``K R K⁻¹``), divided by the focal; ≈ the triangulation angle for sideways motion."""
    warped = np.hstack([x_a, np.ones((len(x_a), 1))]) @ (K @ R @ np.linalg.inv(K)).T
    residual = np.linalg.norm(x_b - warped[:, :2] / warped[:, 2:], axis=1)
    return float(np.degrees(np.median(residual) / K[0, 0]))


@functools.lru_cache(maxsize=4)
def _pixel_grid(h: int, w: int) -> np.ndarray:
    """``[h,w,2]`` float32 pixel coordinates ``(u, v)`` (cached, read-only)."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([u, v], axis=-1)
    grid.flags.writeable = False
    return grid


def _components(x: np.ndarray) -> list[np.ndarray]:
    """The coordinate columns ``x[..., k]`` of ``x [..., k]`` (views)."""
    return [x[..., k] for k in range(x.shape[-1])]


def _squared_norm(x: np.ndarray) -> np.ndarray:
    """``[...]`` squared length of the 2-vectors ``x [...,2]`` (component-wise: ~6× faster than an einsum and ~20×
    than ``np.linalg.norm`` over such a short last axis)."""
    return np.square(x[..., 0]) + np.square(x[..., 1])


def _dot(p: list, q: list) -> np.ndarray:
    """Component-wise dot product of two 3-vectors given as lists of arrays (or of floats)."""
    return p[0] * q[0] + p[1] * q[1] + p[2] * q[2]


def _transform(x: np.ndarray, M: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    """``x @ M.T + t`` for ``x [..., k]`` and ``M [m, k]``, or ``x @ M[:, :k].T + M[:, k] + t`` for an affine
    ``M [m, k+1]`` (``t [m]`` optional), in x's dtype.

    Computed component by component into a ``[m, ...]`` block (returned as a ``[..., m]`` view): numpy's matmul on
    such thin arrays goes to the (multithreaded) BLAS and was erratic, up to ~10× slower, in profiles of the matcher
    on a busy 2-core machine.
    """
    M = np.asarray(M, dtype=np.float64)
    affine = M.shape[1] == x.shape[-1] + 1
    shift = np.zeros(len(M)) if t is None else np.asarray(t, dtype=np.float64)
    if affine:
        shift = shift + M[:, -1]
    cols, m, shift = _components(x), M.tolist(), shift.tolist()
    out = np.empty((len(M), *x.shape[:-1]), x.dtype)
    for r, row in enumerate(m):
        np.multiply(cols[0], row[0], out=out[r])
        for c in range(1, len(cols)):
            out[r] += cols[c] * row[c]
        if shift[r]:
            out[r] += shift[r]
    return np.moveaxis(out, 0, -1)


def _rays(x: np.ndarray, K_inv: np.ndarray) -> np.ndarray:
    """``[N,3]`` camera rays with ``z = 1`` of pixels ``x [N,2]`` (``K_inv`` [3,3]), in x's dtype."""
    return _transform(x, K_inv)


def _flow_check(flow_ab: np.ndarray, flow_ba: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets ``[h,w,2]`` of a's pixels in b, forward–backward error ``[h,w]`` (pixels; the length of the round
    trip a → b → a, huge where the target leaves b's image) and in-image mask."""
    h, w = flow_ab.shape[:2]
    target = _pixel_grid(h, w) + flow_ab
    fb_err = np.sqrt(_squared_norm(flow_ab + _onward(flow_ba, target)))
    inside = (target[..., 0] >= 0) & (target[..., 0] <= w - 1) & (target[..., 1] >= 0) & (target[..., 1] <= h - 1)
    return target, fb_err, inside


def _spread_sample(valid: np.ndarray, score: np.ndarray, cells: int) -> np.ndarray:
    """Flat indices of one valid pixel per square grid cell (the one with the lowest ``score``); ``cells`` cells
    along the long side (pixels beyond the last whole cell are not sampled)."""
    h, w = valid.shape
    cell = max(1, max(h, w) // cells)
    rows, cols = h // cell, w // cell
    masked = np.where(valid, score, np.inf)[: rows * cell, : cols * cell]
    blocks = masked.reshape(rows, cell, cols, cell).transpose(0, 2, 1, 3).reshape(rows, cols, cell * cell)
    best = blocks.argmin(axis=-1)  # [rows,cols] index inside the cell
    found = np.isfinite(np.take_along_axis(blocks, best[..., None], axis=-1)[..., 0])
    dy, dx = np.divmod(best, cell)
    y = np.arange(rows)[:, None] * cell + dy
    x = np.arange(cols)[None, :] * cell + dx
    return (y * w + x)[found]


def _failed_view(rays_all: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A view whose geometry failed: unit depth along every ray (``rays_all [h*w,3]``), confidence 1; the pose to
    the other camera is unknown, so its points there are the same (identity)."""
    pts = np.ascontiguousarray(rays_all.reshape(h, w, 3))
    return pts, pts, np.ones((h, w), np.float32)


def fuse_pair_depths(
    preds: PairPredictions,
    geometry: SceneGeometry,
    *,
    stride: int = 2,
    out_dir: Path | None = None,
    num_workers: int = 2,
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
    2. one sparse least-squares problem over all these equations gives the pair log-scales ``a`` (gauge: mean 0);
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

    Returns:
        a ``SceneGeometry`` with the fused ``depth [T,h,w]``, ``confidence`` and ``valid`` and the input's focal,
        principal point and poses; ``info`` is the input's plus ``pair_log_scales`` (``[P]``, per directed pair).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import lsqr

    num_frames = preds.num_frames
    h, w = preds.size
    pairs = preds.pairs
    edge_of = {}
    for i, j in pairs.tolist():
        edge_of.setdefault((min(i, j), max(i, j)), len(edge_of))
    pair_edge = np.array([edge_of[(min(i, j), max(i, j))] for i, j in pairs.tolist()], dtype=np.int64)
    by_frame: dict[int, list[int]] = {}
    for p, k in enumerate(pairs[:, 0].tolist()):
        by_frame.setdefault(k, []).append(p)

    def view(p: int, step: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """log depth and weight (confidence − 1, 0 where untriangulated) of frame pairs[p, 0] in pair p."""
        z = np.asarray(preds.pts_i[p, ::step, ::step, 2], dtype=np.float64)
        weight = np.asarray(preds.conf_i[p, ::step, ::step], dtype=np.float64) - 1.0
        weight = np.where(z > 0, np.maximum(weight, 0.0), 0.0)
        return np.log(np.where(weight > 0, z, 1.0)), weight

    # 1. Scale equations a_e − a_e* = r between the pairs of each frame
    def equations(k: int) -> list[tuple[int, int, float]]:
        """``(e, e*, r)`` of the pairs of frame ``k``."""
        views = [(p, *view(p, stride)) for p in by_frame.get(k, [])]
        release(preds.pts_i, preds.conf_i)  # pages read from the pair cache leave the RSS
        views = [v for v in views if (v[2] > 0).sum() >= 50]
        if len(views) < 2:
            return []
        best_p, best_log_z, best_weight = max(views, key=lambda v: (v[2] > 0).sum())
        found = []
        for p, log_z, weight in views:
            both = (weight > 0) & (best_weight > 0)
            if p != best_p and both.sum() >= 50:
                median = _weighted_median(best_log_z[both] - log_z[both], np.sqrt(weight[both] * best_weight[both]))
                found.append((pair_edge[p], pair_edge[best_p], median))
        return found

    found = [eq for eqs in thread_map(equations, range(num_frames), num_workers, "fusion: pair scales") for eq in eqs]
    eq_plus, eq_minus, rhs = ([eq[n] for eq in found] for n in range(3))

    # 2. Sparse least squares for the pair log-scales (gauge row: their mean is 0)
    num_edges, num_eq = len(edge_of), len(rhs)
    r = np.concatenate([np.arange(num_eq), np.arange(num_eq), np.full(num_edges, num_eq)])
    c = np.concatenate([eq_plus, eq_minus, np.arange(num_edges)]).astype(np.int64)
    v = np.concatenate([np.ones(num_eq), -np.ones(num_eq), np.full(num_edges, 1.0 / num_edges)])
    system = coo_matrix((v, (r, c)), shape=(num_eq + 1, num_edges)).tocsr()
    edge_log_scales = lsqr(system, np.append(rhs, 0.0), atol=1e-12, btol=1e-12)[0] if num_eq else np.zeros(num_edges)

    # 3. Weighted mean of the scaled log depths of each frame
    shape = (num_frames, h, w)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        depth = np.lib.format.open_memmap(out_dir / "fused_depth.npy", mode="w+", dtype=np.float32, shape=shape)
        confidence = np.lib.format.open_memmap(out_dir / "fused_confidence.npy", "w+", np.float32, shape)
        valid = np.lib.format.open_memmap(out_dir / "fused_valid.npy", mode="w+", dtype=np.bool_, shape=shape)
    else:
        depth, confidence, valid = np.zeros(shape, np.float32), np.zeros(shape, np.float32), np.zeros(shape, bool)
    sources = _tree_sources(preds, geometry)  # holes are read one frame at a time: memory flat in T

    def fuse(k: int) -> float | None:
        """Fused depth of frame ``k`` (at the pairs' scale); its median log-ratio to the tree depth, if any."""
        acc = np.zeros((h, w))
        weight_sum = np.zeros((h, w))
        for p in by_frame.get(k, []):
            log_z, weight = view(p)
            acc += weight * (log_z + edge_log_scales[pair_edge[p]])
            weight_sum += weight
        ok = weight_sum > 0
        log_depth = acc / np.maximum(weight_sum, 1e-12)
        ref = ok & ~_frame_holes(preds, sources, k) & np.asarray(geometry.valid[k])
        depth[k] = np.where(ok, np.exp(log_depth), 0.0)
        confidence[k] = np.where(ok, 1.0 + weight_sum, 0.0)
        valid[k] = ok
        release(preds.pts_i, preds.conf_i, geometry.depth, geometry.valid, depth, confidence, valid)
        return np.median(np.log(np.asarray(geometry.depth[k])[ref]) - log_depth[ref]) if ref.sum() >= 50 else None

    gauge = [g for g in thread_map(fuse, range(num_frames), num_workers, "fusion: depth") if g is not None]

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
    if out_dir is not None:
        for array in (depth, confidence, valid):
            array.flush()
    info = {**geometry.info, "pair_log_scales": edge_log_scales[pair_edge] + np.log(scale)}
    return SceneGeometry(
        depth=depth,
        confidence=confidence,
        focal=geometry.focal,
        principal_point=geometry.principal_point,
        cam_to_world=geometry.cam_to_world,
        valid=valid,
        info=info,
    )


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """Weighted median of ``values [N]`` with ``weights [N] > 0``."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def untriangulated_mask(preds: PairPredictions, geometry: SceneGeometry) -> np.ndarray:
    """``[T,h,w]`` bool: pixels whose aligned depth comes from a fallback point (confidence ≤ 1) of this matcher.

    ``global_alignment`` places each frame's points from one pair of its spanning tree (``geometry.info["tree"]``,
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
    for n, (i, j) in enumerate(np.asarray(geometry.info["tree"]).tolist()):
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
