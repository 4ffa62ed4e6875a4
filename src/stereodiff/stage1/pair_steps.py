"""The geometric matcher's steps for one pair of frames: forward–backward-checked flow → well-spread matches →
relative pose → both views triangulated densely, with a confidence per pixel.

:class:`PairSteps` holds the matcher's settings that these steps use (pixel thresholds given at a 320-pixel long
side, scaled by ``px_scale`` to the working resolution); see :class:`~stereodiff.stage1.geometric.GeometricMatcher`
for what each one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stereodiff.camera import pixel_grid
from stereodiff.flow import forward_backward, inside_image, motion_boundaries
from stereodiff.progress import logger
from stereodiff.stage1.epipolar import (
    PairGeometry,
    fundamental_from_pose,
    pixel_rays,
    relative_pose,
    reusable,
    sampson_distance,
    transform,
    triangulate_rays,
)
from stereodiff.stage1.rolling_shutter import RollingShutter

__all__ = ["PairSteps", "epipolar_texture", "epipole_inside", "undistorted_grid", "unroll_stable"]

_TEXTURE_WINDOW = 5  # pixels: the square over which epipolar_texture averages (about DIS's 8-pixel patch, centred)


@dataclass(frozen=True)
class PairSteps:
    """The per-pair steps with the matcher's settings (``GeometricMatcher`` documents each)."""

    fb_threshold_px: float
    motion_boundary_margin_px: int | None
    grid_cells: int
    ransac_threshold_px: float
    median_threshold_px: float
    min_angle_deg: float
    epipolar_sigma_px: float
    angle_ref_deg: float
    depth_range: tuple[float, float]
    max_confidence: float
    px_scale: float
    """Working long side / 320: scales the pixel thresholds."""
    fb_relative: float = 0.0
    """The forward–backward threshold's growth per pixel of flow length (``GeometricConfig.fb_relative``)."""
    forward_near: bool = False
    """In a pair that looks along its translation, well-conditioned pixels have no lower depth bound
    (``GeometricConfig.forward_near``)."""
    forward_fb_relative: float = 0.0
    """With ``forward_near``: the forward–backward threshold's further growth per pixel of flow length for those
    pixels (``GeometricConfig.forward_fb_relative``)."""
    min_epipolar_texture: float = 0.0
    """Pixels with less texture along their epipolar line (:func:`epipolar_texture`, grey levels per pixel) are
    not matched; 0 = off (``GeometricConfig.min_epipolar_texture``)."""
    undistorted: np.ndarray | None = None
    """``[h,w,2]`` undistorted position of every pixel of the working grid (:func:`undistorted_grid`), or None
    for a pinhole camera."""
    rolling_shutter: RollingShutter | None = None
    """The video's rolling shutter (readout, each frame's angular velocity): matches and rays are turned into the
    camera of their frame's middle row before the pose and the triangulation; None for a global shutter."""
    accept_focal_px: float | None = None
    """The focal (pixels, working resolution) with which the ``min_angle_deg`` test measures a pair's median
    triangulation angle, from a second essential matrix of the same matches (``GeometricConfig.accept_focal``:
    the 60° prior); None = the camera's own, from the pair's pose."""
    keep_matches: int = 0
    """At most this many of each ok pair's inlier matches (Sampson distance below ``ransac_threshold_px``) are kept
    in its :class:`~stereodiff.stage1.epipolar.PairGeometry` (``matches``) for the pose-graph refinement; 0 = none."""
    given_poses: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None
    """``{(a, b): (R [3,3], t [3])}``: poses a → b that replace the estimated ones of the ok pairs listed before the
    triangulation (the refined poses, :mod:`~stereodiff.stage1.pose_graph`); the acceptance tests stay the
    estimate's."""
    unroll_max_change: float = 0.0
    """With a ``rolling_shutter``: a pixel whose un-rolled depth differs from its rolled triangulation (raw rays)
    by more than this (absolute log ratio, the view's median ratio removed) is not triangulated in this view, or
    takes the rolled triangulation with ``unroll_rolled`` (:func:`unroll_stable`;
    ``GeometricConfig.rolling_shutter_max_change``); 0 = off."""
    unroll_rolled: bool = False
    """With ``unroll_max_change``: the rolled triangulation is the raw rays with the pose of the raw matches (one
    more essential matrix per pair), and a changed pixel takes it; False: the raw rays with the un-rolled pose,
    and a changed pixel is not triangulated (``GeometricConfig.rolling_shutter_changed``)."""
    far_parallax_px: float = 0.0
    """Pixels beyond ``depth_range[1]`` times the pair median whose parallax (triangulation angle × focal, pixels
    at 320 px, scaled) is at least this are kept (``GeometricConfig.far_parallax_px``); 0 = off."""

    def undistort(self, x: np.ndarray) -> np.ndarray:
        """``[N,2]`` pixels ``x`` (float, inside the image) as the ideal pinhole camera sees them: the
        ``undistorted`` grid interpolated bilinearly (the distortion is smooth; OpenCV's iterative inverse on
        every match would cost more than the rest of the pair); ``x`` itself for a pinhole camera."""
        if self.undistorted is None:
            return x
        h, w = self.undistorted.shape[:2]
        u = np.clip(x[:, 0], 0, w - 1.001)
        v = np.clip(x[:, 1], 0, h - 1.001)
        u0, v0 = u.astype(np.int64), v.astype(np.int64)
        fu, fv = (u - u0)[:, None], (v - v0)[:, None]
        grid = self.undistorted
        top = grid[v0, u0] * (1 - fu) + grid[v0, u0 + 1] * fu
        bottom = grid[v0 + 1, u0] * (1 - fu) + grid[v0 + 1, u0 + 1] * fu
        return (top * (1 - fv) + bottom * fv).astype(x.dtype, copy=False)

    def rays(self, h: int, w: int, K: np.ndarray) -> np.ndarray:
        """``[h*w,3]`` rays (``z = 1``) of the pixel grid of an ``(h, w)`` image through camera ``K``, distortion
        removed: a pixel's depth is along its own, undistorted ray (the depth stays on the input pixel grid)."""
        grid = pixel_grid(h, w) if self.undistorted is None else self.undistorted
        return pixel_rays(grid.reshape(-1, 2), np.linalg.inv(K))

    def checked(
        self, flow_ab: np.ndarray, flow_ba: np.ndarray, extra_relative: float = 0.0
    ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each view of a pair, from its forward and backward flows ``[h,w,2]``: targets ``[h,w,2]`` in the
        other view, forward–backward error ``[h,w]`` and the consistency mask ``[h,w]`` (in the image, error <
        :meth:`fb_threshold` + ``extra_relative`` · |flow|, not at a motion boundary)."""
        return self.checked_view(flow_ab, flow_ba, extra_relative), self.checked_view(flow_ba, flow_ab, extra_relative)

    def checked_view(
        self, forward: np.ndarray, backward: np.ndarray, extra_relative: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`checked` of the view whose flow is ``forward`` (``backward`` the other view's): its targets
        ``[h,w,2]``, forward–backward error ``[h,w]`` and consistency mask ``[h,w]``."""
        target, _, fb_err = forward_backward(forward, backward)
        threshold = self.fb_threshold(forward)
        if extra_relative:
            threshold = threshold + extra_relative * _length(forward)
        valid = inside_image(target) & (fb_err < threshold)
        if self.motion_boundary_margin_px is not None:
            valid &= ~motion_boundaries(forward, self.motion_boundary_margin_px)
        return target, fb_err, valid

    @property
    def fixed_fb_px(self) -> float:
        """The fixed forward–backward threshold in pixels of the working resolution (``fb_threshold_px`` scaled)."""
        return self.fb_threshold_px * self.px_scale

    def fb_threshold(self, flow: np.ndarray) -> float | np.ndarray:
        """Forward–backward threshold in pixels for flows ``flow [...,2]``: ``fb_threshold_px`` (scaled to the
        working resolution) plus ``fb_relative`` times each flow's length (``[...]``), or the fixed threshold alone
        (a float) when ``fb_relative`` is 0."""
        if not self.fb_relative:
            return self.fixed_fb_px
        return self.fixed_fb_px + self.fb_relative * _length(flow)

    def sample_matches(
        self, target: np.ndarray, fb_err: np.ndarray, valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Well-spread consistent matches ``[N,2]`` (pixels in a, in b), one per grid cell, or None if < 30."""
        sample = _spread_sample(valid, fb_err, self.grid_cells)
        if len(sample) < 30:
            return None
        grid = pixel_grid(*valid.shape).reshape(-1, 2)
        return grid[sample].astype(np.float64), target.reshape(-1, 2)[sample].astype(np.float64)

    def relative_pose(self, x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray, pair: tuple[int, int]) -> PairGeometry:
        """:func:`~stereodiff.stage1.epipolar.relative_pose` of matches ``[N,2]`` with these thresholds. With
        ``accept_focal_px`` (other than the camera's focal) the ``min_angle_deg`` test takes the median angle of a
        second pose estimated with that focal (the pose returned stays the camera's; when the second estimate has
        no angle, e.g. too few inliers, the camera's angle is tested). The pose estimates do not depend on OpenCV's
        RNG (USAC seeds its own), so with the same matches a pair's decision is exactly that of a run at that focal."""
        thresholds = {
            "threshold": self.ransac_threshold_px * self.px_scale,
            "median_threshold": self.median_threshold_px * self.px_scale,
        }
        K_accept = self._accept_camera(K)
        if K_accept is None:
            return relative_pose(x_a, x_b, K, pair, min_angle_deg=self.min_angle_deg, **thresholds)
        geom = relative_pose(x_a, x_b, K, pair, min_angle_deg=0.0, **thresholds)
        if geom.failure:
            return geom
        measured = relative_pose(x_a, x_b, K_accept, pair, min_angle_deg=0.0, **thresholds).median_angle_deg
        angle = measured if measured > 0 else geom.median_angle_deg
        if angle < self.min_angle_deg:
            geom.ok, geom.failure = False, "low parallax"
            geom.reason = f"median parallax {angle:.2f}° at {K_accept[0, 0]:.1f} px (pure rotation or no motion)"
            geom.median_angle_deg = angle
        return geom

    def _accept_camera(self, K: np.ndarray) -> np.ndarray | None:
        """``K [3,3]`` with the focal ``accept_focal_px`` (the principal point kept), or None when the acceptance
        test uses the camera's own focal (off, or equal to it)."""
        f = self.accept_focal_px
        if f is None or (abs(K[0, 0] - f) <= 1e-9 * f and abs(K[1, 1] - f) <= 1e-9 * f):
            return None
        K_accept = np.array(K, dtype=np.float64)
        K_accept[0, 0] = K_accept[1, 1] = f
        return K_accept

    def views(
        self,
        flow_ab: np.ndarray,
        flow_ba: np.ndarray,
        K: np.ndarray,
        rays_all: np.ndarray,
        pair: tuple[int, int],
        grey: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, PairGeometry]:
        """Both views of an unordered pair ``(a, b)``, from its forward and backward flows ``[h,w,2]``, as the
        pair's row of :class:`~stereodiff.stage1.ray_pairs.RayDepthPairs`: ``depth [2,h,w]`` float32 along the
        pixel rays ``rays_all [h*w,3]`` (``z = 1``) and ``conf [2,h,w]`` float32 of frames a and b, each in its own
        camera, the pose ``[3,4]`` ``[R | t]`` a → b (NaN when the pair failed: unit depth, confidence 1) and the
        pair's geometry. ``grey``: the two ``[h,w]`` uint8 flow inputs, needed with ``min_epipolar_texture``."""
        h, w = flow_ab.shape[:2]
        extra = self.forward_fb_relative if self.forward_near else 0.0
        rolled: tuple[np.ndarray, np.ndarray] | None = None  # the pose a → b of the raw matches (unroll_max_change)
        (target_a, fb_a, valid_a), (target_b, fb_b, valid_b) = self.checked(flow_ab, flow_ba, extra)
        # the pixels of the usual threshold (the looser one's only count in a pair looking ahead)
        usual_a = valid_a & (fb_a < self.fb_threshold(target_a - pixel_grid(h, w))) if extra else valid_a
        consistent = float(usual_a.mean())
        strict = usual_a & (fb_a < self.fixed_fb_px) if self.fb_relative else usual_a
        matches = self.sample_matches(target_a, fb_a, strict)  # the pose from the fixed threshold's matches
        if matches is None:
            reason = "too few consistent flow matches (no texture?)"
            geom = PairGeometry(pair, np.eye(3), np.zeros(3), False, reason, failure="no flow matches")
        else:
            x_a, x_b = map(self.undistort, matches)
            raw_a, raw_b = x_a, x_b
            if self.rolling_shutter is not None:  # each match into the camera of its frame's middle row
                x_a = self.rolling_shutter.pixels(x_a, matches[0][:, 1], K, pair[0])
                x_b = self.rolling_shutter.pixels(x_b, matches[1][:, 1], K, pair[1])
            geom = self.relative_pose(x_a, x_b, K, pair)
            self._given_or_kept(geom, x_a, x_b, K)
            if geom.ok and self.rolling_shutter is not None and self.unroll_max_change and self.unroll_rolled:
                raw_geom = self.relative_pose(raw_a, raw_b, K, pair)  # the pose the rolled matches give
                rolled = (raw_geom.R, raw_geom.t) if raw_geom.ok else None
        geom.consistent_fraction = consistent
        if not geom.ok:
            logger.info("geometric matcher: pair %s failed: %s", pair, geom.reason)
            ones = np.ones((2, h, w), np.float32)
            return ones, ones.copy(), np.full((3, 4), np.nan), geom

        R, t = geom.R, geom.t  # a → b
        F = fundamental_from_pose(R, t, K)
        if self.min_epipolar_texture:
            if grey is None:
                raise ValueError("min_epipolar_texture needs the pair's grey frames")
            valid_a = valid_a & (epipolar_texture(grey[0], K, R, t) >= self.min_epipolar_texture)
            valid_b = valid_b & (epipolar_texture(grey[1], K, R.T, -R.T @ t) >= self.min_epipolar_texture)
        rolled_b = None if rolled is None else (rolled[0].T, -rolled[0].T @ rolled[1])
        depth_a, conf_a = self._view(target_a, fb_a, valid_a, K, rays_all, R, t, F, pair, rolled)
        depth_b, conf_b = self._view(target_b, fb_b, valid_b, K, rays_all, R.T, -R.T @ t, F.T, pair[::-1], rolled_b)
        pose = np.hstack([R, np.asarray(t, np.float64).reshape(3, 1)])
        return np.stack([depth_a, depth_b]), np.stack([conf_a, conf_b]), pose, geom

    def _given_or_kept(self, geom: PairGeometry, x_a: np.ndarray, x_b: np.ndarray, K: np.ndarray) -> None:
        """An ok pair's pose replaced by its ``given_poses`` entry, or (``keep_matches``) a sample of its inlier
        matches ``x_a``, ``x_b`` ``[N,2]`` kept in ``geom.matches``."""
        from stereodiff.stage1.pose_graph import inlier_sample

        if not geom.ok:
            return
        if self.given_poses is not None and geom.pair in self.given_poses:
            geom.R, geom.t = (np.asarray(v, np.float64) for v in self.given_poses[geom.pair])
        elif self.keep_matches:
            F = fundamental_from_pose(geom.R, geom.t, K)
            geom.matches = inlier_sample(x_a, x_b, F, self.keep_matches, self.ransac_threshold_px * self.px_scale)

    def _view(
        self,
        target: np.ndarray,
        fb_err: np.ndarray,
        valid: np.ndarray,
        K: np.ndarray,
        rays_all: np.ndarray,
        R: np.ndarray,
        t: np.ndarray,
        F: np.ndarray,
        frames: tuple[int, int],
        rolled: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Dense depth map ``[h,w]`` (along the pixel rays ``rays_all [h*w,3]``, own camera) and confidence
        ``[h,w]`` of one view, given the pose own → other (``X_other = R X + t``) and the fundamental matrix own →
        other (of undistorted pixels; with a ``rolling_shutter``, of the middle rows' cameras, whose frame indices
        are ``frames`` = (own, other)). ``rolled``: with ``unroll_max_change``, the pose own → other ``(R [3,3],
        t [3])`` of the raw (rolled) matches (None: ``R``, ``t``)."""
        h, w = valid.shape
        idx = np.flatnonzero(valid)
        K_inv = np.linalg.inv(K)
        rays_self = _gather(rays_all, idx)
        pixels = _gather(pixel_grid(h, w).reshape(-1, 2), idx)  # [N,2]
        # the undistorted pixels, for the epipolar residual
        x_self = pixels if self.undistorted is None else _gather(self.undistorted.reshape(-1, 2), idx)
        target_px = _gather(target.reshape(-1, 2), idx)
        fb = fb_err.reshape(-1)[idx]
        x_other = self.undistort(target_px)
        rays_seen = pixel_rays(x_other, K_inv)  # in the other camera
        if self.rolling_shutter is not None:
            depth, depth_other, angle, x_self, x_other = self._unrolled(
                rays_self, pixels[:, 1], rays_seen, target_px[:, 1], K, R, t, frames, rolled
            )
        else:
            rays_other = transform(rays_seen, R.T)  # Rᵀ ray_other, in own camera
            depth, depth_other, angle = triangulate_rays(rays_self, rays_other, -R.T @ t)
        ok = np.isfinite(depth)
        ok &= depth > 0
        ok &= depth_other > 0
        # the threshold of each pixel's own flow (half of it: the confidence's flow scale)
        fb_scale = self.fb_threshold(target_px - pixels) if self.fb_relative else self.fixed_fb_px
        loose = self.forward_near and self.forward_fb_relative > 0  # ``valid`` holds the looser threshold's pixels
        usual = fb < fb_scale if loose else True  # the pixels of the usual forward–backward threshold
        ahead = self.forward_near and epipole_inside(K, R, t, (h, w))
        # well-conditioned pixels of a pair looking ahead
        exempt = angle >= np.radians(self.angle_ref_deg) if ahead else False
        if loose:
            ok &= usual | exempt
            fb_scale = np.where(usual, fb_scale, fb_scale + self.forward_fb_relative * _length(target_px - pixels))
        counted = depth[ok & usual if loose else ok]  # a copy: the median may reorder it
        median = float(np.median(counted, overwrite_input=True)) if len(counted) else 1.0
        lo, hi = self.depth_range
        far_ok = depth < hi * median
        if self.far_parallax_px:  # well-conditioned far pixels are kept (the parallax in pixels, not the focal's depth)
            far_ok |= angle * K[0, 0] >= self.far_parallax_px * self.px_scale
        near_ok = depth > lo * median
        if ahead:
            near_ok |= exempt
        ok &= near_ok
        ok &= far_ok
        fb_scale = fb_scale / 2

        # confidence: 1 + (max − 1) · w_fb · w_epi · w_angle, with the exponents of the two Gaussians summed
        depth_map = np.full(h * w, median, np.float32)  # fallback: pair median along the ray
        conf = np.ones(h * w, np.float32)
        keep = idx[ok]
        depth_map[keep] = depth[ok]
        weight = self._weight(fb, fb_scale, sampson_distance(x_self, x_other, F), angle)
        conf[keep] = 1.0 + (self.max_confidence - 1.0) * weight[ok]
        return depth_map.reshape(h, w), conf.reshape(h, w)

    def _weight(
        self, fb: np.ndarray, fb_scale: float | np.ndarray, sampson: np.ndarray, angle: np.ndarray
    ) -> np.ndarray:
        """``[N]`` confidence weight of :meth:`_view`'s pixels, ``exp(−½ ((fb / fb_scale)² + (sampson / σ)²)) ·
        clip(angle / angle_ref, 0, 1)²``, from their forward–backward errors, Sampson distances (px) and
        triangulation angles (rad) ``[N]`` (``sampson`` is overwritten). Evaluated in place (:func:`reusable`): the same
        operations in the same order as that expression, bit for bit."""
        sigma = self.epipolar_sigma_px * self.px_scale
        gauss = fb / fb_scale
        gauss = np.square(gauss, out=reusable(gauss, gauss))
        epipolar = np.divide(sampson, sigma, out=reusable(sampson, sigma))
        epipolar = np.square(epipolar, out=reusable(epipolar, epipolar))
        gauss = np.add(gauss, epipolar, out=reusable(gauss, epipolar))
        gauss = np.multiply(gauss, -0.5, out=reusable(gauss, -0.5))
        gauss = np.exp(gauss, out=reusable(gauss, gauss))
        w_ang = angle / np.radians(self.angle_ref_deg)
        w_ang = np.clip(w_ang, 0.0, 1.0, out=reusable(w_ang, w_ang))
        w_ang = np.square(w_ang, out=reusable(w_ang, w_ang))
        return np.multiply(gauss, w_ang, out=reusable(w_ang, gauss))

    def _unrolled(
        self,
        rays_self: np.ndarray,
        rows_self: np.ndarray,
        rays_other: np.ndarray,
        rows_other: np.ndarray,
        K: np.ndarray,
        R: np.ndarray,
        t: np.ndarray,
        frames: tuple[int, int],
        rolled: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The triangulation of :meth:`_view` through the rolling shutter: the rays ``[N,3]`` (``z = 1``) of own
        pixels and of their matches in the other camera, seen in rows ``rows_self`` / ``rows_other`` ``[N]``, are
        turned into the middle rows' cameras of ``frames`` = (own, other), where the pose ``R``, ``t`` holds.
        Returns the depth ``[N]`` along the pixels' own rays (the turn keeps the distance to the camera centre),
        the other ray's parameter ``[N]``, the triangulation angle ``[N]`` and the un-rolled pixels ``[N,2]`` of
        both views (for the Sampson residual)."""
        rolling = self.rolling_shutter
        assert rolling is not None
        own, other = frames
        turned_self = rolling.rays(rays_self, rows_self, own)
        turned_other = rolling.rays(rays_other, rows_other, other)
        depth, depth_other, angle = triangulate_rays(turned_self, transform(turned_other, R.T), -R.T @ t)
        depth = depth * np.sqrt(_dot3(turned_self, turned_self) / _dot3(rays_self, rays_self))
        if self.unroll_max_change:
            R0, t0 = (R, t) if rolled is None else rolled
            raw = triangulate_rays(rays_self, transform(rays_other, R0.T), -R0.T @ t0)
            changed = unroll_stable((depth, depth_other, angle), raw, self.unroll_max_change, self.unroll_rolled)
            depth, depth_other, angle = changed
        x_self = transform(turned_self, K[:2])  # the pixels' rows of K only (its third row gives z = 1)
        x_other = transform(turned_other, K[:2])
        return depth, depth_other, angle, x_self, x_other


def unroll_stable(
    unrolled: tuple[np.ndarray, np.ndarray, np.ndarray],
    rolled: tuple[np.ndarray, np.ndarray, np.ndarray],
    max_change: float,
    keep_rolled: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A view's un-rolled triangulation ``unrolled`` = (depth along the pixels' raw rays, the other ray's
    parameter, the triangulation angle), each ``[N]``, where the un-rolling changed the depth by more than
    ``max_change`` against the rolled triangulation ``rolled`` (the same three, of the pixels' raw rays):
    ``|log(depth / rolled depth) − median|`` over the pixels both put in front of the camera (a pixel only the
    un-rolling puts there counts as changed). Those pixels' depth is NaN (not triangulated), or with
    ``keep_rolled`` the rolled triangulation's three values. A static pixel moves by the shear the un-rolling
    removes, a few per cent; a pixel whose depth hangs on a sub-pixel change of its match or of the pose (little
    parallax: near the focus of expansion, or a mover along the camera's path triangulated as if static, whose
    depth means nothing) moves by far more. Neither use helps rendered rolled driving clips' moving pixels
    (docs/geometric.md, "Pair views the un-rolling moves too far")."""

    depth, raw = unrolled[0], rolled[0]
    both = np.isfinite(depth) & np.isfinite(raw) & (depth > 0) & (raw > 0)
    if not both.any():
        return unrolled
    log_ratio = np.log(depth[both] / raw[both])
    change = np.full(len(depth), np.inf)
    change[both] = np.abs(log_ratio - float(np.median(log_ratio)))
    moved = change > max_change
    if not keep_rolled:
        return np.where(moved, np.nan, depth).astype(depth.dtype, copy=False), unrolled[1], unrolled[2]
    return tuple(np.where(moved, r, u).astype(u.dtype, copy=False) for u, r in zip(unrolled, rolled, strict=True))


def _dot3(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise dot products ``[N]`` of ``x``, ``y`` ``[N,3]``."""
    return x[:, 0] * y[:, 0] + x[:, 1] * y[:, 1] + x[:, 2] * y[:, 2]


def epipolar_texture(grey: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``[h,w]`` float32: how much texture each pixel of the grey frame ``grey [h,w]`` (uint8) has along its
    epipolar line, in grey levels per pixel — the root mean square over the 5 × 5 pixels around it of the
    derivative along the line (Sobel, the structure tensor's quadratic form), for the pose own → other ``X_other =
    R X + t`` (``R [3,3]``, ``t [3]``) and camera ``K [3,3]``. The line through a pixel runs from the epipole (the
    other camera's centre projected; lens distortion ignored), so this is the texture that fixes the flow along the
    line, i.e. the depth: where it is low, DIS's flow is interpolated from the region's borders."""
    import cv2

    h, w = grey.shape
    image = np.asarray(grey, np.float32)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    size = (_TEXTURE_WINDOW, _TEXTURE_WINDOW)
    sxx, syy, sxy = (cv2.boxFilter(p, -1, size) for p in (gx * gx, gy * gy, gx * gy))
    ex, ey, ez = K @ (-R.T @ np.asarray(t, np.float64).reshape(3))  # the epipole, homogeneous
    grid = pixel_grid(h, w)
    dx = (ez * grid[..., 0] - ex).astype(np.float32)  # along the line, away from the epipole (sign irrelevant)
    dy = (ez * grid[..., 1] - ey).astype(np.float32)
    norm2 = np.maximum(dx * dx + dy * dy, np.float32(1e-30))
    energy = (dx * dx * sxx + 2 * dx * dy * sxy + dy * dy * syy) / norm2
    return np.sqrt(np.maximum(energy, 0))


def epipole_inside(K: np.ndarray, R: np.ndarray, t: np.ndarray, size: tuple[int, int]) -> bool:
    """Whether the other camera's centre projects into this ``(h, w)`` image (through ``K [3,3]``, the pose own →
    other ``X_other = R X + t``): the pair looks along its translation (forward or backward motion), its epipole is
    the focus of expansion and its scenery spans depths from the image border to the far centre."""
    centre = -R.T @ np.asarray(t, np.float64).reshape(3)  # the other camera's centre in this camera
    if abs(centre[2]) < 1e-12 * max(float(np.linalg.norm(centre)), 1e-300):
        return False
    u, v = (K @ (centre / centre[2]))[:2]
    h, w = size
    return bool(0 <= u <= w - 1 and 0 <= v <= h - 1)


def undistorted_grid(size: tuple[int, int], K: np.ndarray, distortion: tuple[float, ...]) -> np.ndarray:
    """``[h,w,2]`` float32: where each pixel of an ``(h, w)`` image taken through camera ``K`` with OpenCV lens
    ``distortion`` (k1, k2, p1, p2[, k3]) lies in the ideal pinhole image of the same ``K``."""
    import cv2

    h, w = size
    points = pixel_grid(h, w).reshape(-1, 1, 2).astype(np.float64)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-9)  # OpenCV's default 5 steps: ~0.03 px off
    out = cv2.undistortPoints(points, K, np.asarray(distortion, np.float64), None, None, K, criteria)
    return out.reshape(h, w, 2).astype(np.float32)


def _length(flow: np.ndarray) -> np.ndarray:
    """``[...]`` length of the flow vectors ``flow [...,2]``."""
    return np.sqrt(np.square(flow[..., 0]) + np.square(flow[..., 1]))


def _gather(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Rows ``idx [N]`` of ``x [M,k]`` as an ``[N,k]`` view of a ``[k,N]`` block, each component contiguous: the
    component-wise maths of the views (triangulation, Sampson distance, confidences) runs on contiguous arrays
    instead of every k-th element (the same values and the same arithmetic: the output does not change).
    ``np.take``, ~15× faster than ``x[idx]`` on ``[N,k]``."""
    return np.take(x.T, idx, axis=1).T


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
