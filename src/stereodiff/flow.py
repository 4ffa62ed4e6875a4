"""Dense optical flow shared by the geometric stage 1 and the temporal stage 2: OpenCV DIS, forward–backward
checks, flow composition and motion boundaries.

Flows are ``[h,w,2]`` float32 displacements in pixels, ``(du, dv)`` per pixel ``(u, v)`` = (column, row).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from stereodiff.camera import pixel_grid

__all__ = [
    "DIS_PRESETS",
    "FLOW_GREYS",
    "GreyProjection",
    "area_resized",
    "compose_flows",
    "dis_engine",
    "dis_flows",
    "forward_backward",
    "grey_frame",
    "grey_projection",
    "hypot32",
    "inside_image",
    "motion_boundaries",
    "sample_flow",
    "thread_dis_engine",
]

#: OpenCV DIS presets by name (values: ``cv2.DISOPTICAL_FLOW_PRESET_*``)
DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}
_FAR = 1e6  # flow given to pixels sampled outside the image (takes them out of any image)


def dis_engine(
    preset: str,
    *,
    finest_scale: int | None = None,
    patch_stride: int | None = None,
    descent_iterations: int | None = None,
    variational_iterations: int | None = None,
) -> Any:
    """An OpenCV DIS optical-flow engine with the named preset (``DIS_PRESETS``), optionally refined down to
    pyramid level ``finest_scale`` (0 = the input resolution) with its own patch stride (pixels), gradient-descent
    iterations per patch and variational-refinement iterations per pyramid level (``variational_iterations``; the
    fast and medium presets' 5, the ultrafast preset's 0 = none; ``None`` keeps the preset's). Not thread-safe: one
    engine per thread."""
    import cv2

    dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])
    if finest_scale is not None:
        dis.setFinestScale(finest_scale)
    if patch_stride is not None:
        dis.setPatchStride(patch_stride)
    if descent_iterations is not None:
        dis.setGradientDescentIterations(descent_iterations)
    if variational_iterations is not None:
        dis.setVariationalRefinementIterations(variational_iterations)
    return dis


#: the flow's grey conversions (``GeometricConfig.flow_grey``, ``TemporalConfig.flow_grey``): ``"luma"`` =
#: OpenCV's RGB → grey (ITU-R BT.601 luma); ``"pca"`` = the video's first colour principal component
#: (:func:`grey_projection`)
FLOW_GREYS = ("luma", "pca")
_GREY_SAMPLE_FRAMES = 8  # frames (evenly spread over the video) whose colours estimate the projection
_GREY_SAMPLE_STRIDE = 4  # every this many rows and columns of those frames (at the flow's resolution)
_GREY_PERCENTILES = (0.5, 99.5)  # the sample's projections mapped to grey levels 0 and 255
_LUMA = np.array([0.299, 0.587, 0.114])  # BT.601, cv2.COLOR_RGB2GRAY's weights


@dataclass(frozen=True)
class GreyProjection:
    """One video's grey conversion: grey = (``weights`` · RGB − ``low``) × 255 / (``high`` − ``low``), clipped to
    0–255 and rounded; the same for every frame, so brightness constancy between frames holds as with luma."""

    weights: np.ndarray  # [3] float32 per RGB channel (values 0–255)
    low: float
    high: float

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """``[h,w]`` uint8 grey of the ``[h,w,3]`` uint8 RGB image."""
        value = rgb.reshape(-1, 3).astype(np.float32) @ self.weights
        scale = np.float32(255.0 / (self.high - self.low))
        grey = np.clip((value - np.float32(self.low)) * scale, 0, 255)
        return np.rint(grey).astype(np.uint8).reshape(rgb.shape[:2])


def grey_projection(frames: Any, size: tuple[int, int], mode: str = "luma") -> GreyProjection | None:
    """The grey conversion ``mode`` (``FLOW_GREYS``) of the ``[T,H,W,3]`` uint8 RGB video ``frames`` (read one
    frame at a time) at the flow's ``size = (h, w)``; ``None`` for ``"luma"`` (OpenCV's own conversion).

    ``"pca"``: the projection of RGB onto the first principal component of the video's colours, estimated once
    from every ``_GREY_SAMPLE_STRIDE``-th pixel of ``_GREY_SAMPLE_FRAMES`` frames spread over the video (memory
    flat in its length), its sign chosen so that it correlates positively with luma, and mapped to 0–255 by the
    sample's 0.5 / 99.5 percentiles. Two colours of equal luma (an isoluminant checker) are flat in luma but
    differ along this axis unless their difference is orthogonal to it; on footage whose colours vary mostly in
    brightness the axis is close to luma's. ``None`` (luma) when the sample has no spread along the axis."""
    if mode not in FLOW_GREYS:
        raise ValueError(f"flow grey {mode!r}: expected one of {FLOW_GREYS}")
    if mode == "luma":
        return None
    num = len(frames)
    picks = np.unique(np.linspace(0, num - 1, min(_GREY_SAMPLE_FRAMES, num)).round().astype(int))
    step = _GREY_SAMPLE_STRIDE
    sample = np.concatenate(
        [area_resized(frames[int(k)], size)[::step, ::step].reshape(-1, 3).astype(np.float64) for k in picks]
    )
    centred = sample - sample.mean(axis=0)
    covariance = centred.T @ centred / max(len(sample) - 1, 1)
    values, vectors = np.linalg.eigh(covariance)
    axis = vectors[:, -1]
    if not values[-1] > 0:
        return None
    axis = axis / np.abs(axis).sum()  # unit L1 norm: grey levels of the same order as RGB's
    if axis @ covariance @ _LUMA < 0:  # covariance with luma: positive
        axis = -axis
    projected = sample @ axis
    low, high = np.percentile(projected, _GREY_PERCENTILES)
    if not high - low > 1e-6:
        return None
    return GreyProjection(axis.astype(np.float32), float(low), float(high))


def area_resized(rgb: Any, size: tuple[int, int]) -> np.ndarray:
    """The ``[H,W,3]`` uint8 RGB frame area-resized to ``size = (h, w)``."""
    import cv2

    rgb = np.ascontiguousarray(rgb)
    h, w = size
    return rgb if rgb.shape[:2] == (h, w) else cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)


def grey_frame(rgb: Any, size: tuple[int, int], projection: GreyProjection | None = None) -> np.ndarray:
    """``[h,w]`` uint8 grey flow input: the ``[H,W,3]`` uint8 RGB frame area-resized to ``size = (h, w)``, then
    converted by ``projection`` (:func:`grey_projection`; ``None`` = OpenCV's RGB → grey, luma)."""
    import cv2

    small = area_resized(rgb, size)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if projection is None else projection(small)


def thread_dis_engine(
    local: threading.local,
    preset: str,
    variational_iterations: int | None = None,
    finest_scale: int | None = None,
) -> Any:
    """The calling thread's DIS engine of ``preset`` with ``variational_iterations`` and ``finest_scale``
    (:func:`dis_engine`), made on first use and kept in ``local`` (a ``threading.local`` shared by the threads of
    one step, which asks for one setting): DIS is not thread-safe, and a fresh engine per pair gives the same
    flows, slower."""
    if not hasattr(local, "dis"):
        local.dis = dis_engine(preset, finest_scale=finest_scale, variational_iterations=variational_iterations)
    return local.dis


def dis_flows(dis: Any, img_a: np.ndarray, img_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward flow ``[h,w,2]`` (pixels) of grey frames ``img_a``, ``img_b`` ``[h,w]`` uint8."""
    return dis.calc(img_a, img_b, None), dis.calc(img_b, img_a, None)


def sample_flow(flow: np.ndarray, at: np.ndarray, outside: Literal["far", "edge"] = "far") -> np.ndarray:
    """``flow [h,w,2]`` sampled bilinearly at the positions ``at [h',w',2]`` (pixels); positions outside the image
    get a flow of 10⁶ pixels (``"far"``: it takes them out of any image) or the nearest edge value (``"edge"``)."""
    import cv2

    if outside == "edge":
        return cv2.remap(flow, at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(flow, at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(_FAR, _FAR))


def forward_backward(
    flow_ab: np.ndarray, flow_ba: np.ndarray, outside: Literal["far", "edge"] = "far"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The forward–backward check of the flows ``a → b`` and ``b → a`` ``[h,w,2]``: the targets ``[h,w,2]`` of a's
    pixels in b, the backward flow there ``[h,w,2]`` (:func:`sample_flow` with ``outside``) and the round trip's
    miss ``[h,w]`` in pixels, ``|flow_ab + backward|`` (huge where a target leaves b's image, with ``"far"``)."""
    h, w = flow_ab.shape[:2]
    target = pixel_grid(h, w) + flow_ab
    back = sample_flow(flow_ba, target, outside)
    return target, back, np.sqrt(_squared_norm(flow_ab + back))


def inside_image(target: np.ndarray, margin: float = 0) -> np.ndarray:
    """``[h,w]`` bool: the positions ``target [h,w,2]`` (pixels) lie in an image of the same ``h × w``, at least
    ``margin`` pixels inside its border.

    A contiguous float32 / float64 ``target`` with a Python number as ``margin`` is tested by OpenCV's ``inRange``
    in one pass (the same four comparisons, each bound rounded to the array's type as numpy rounds a Python scalar;
    NaN is outside): 0.19 → 0.08 ms at 320×240 against numpy's seven passes over strided components (issue #20)."""
    h, w = target.shape[:2]
    if (
        type(margin) in (int, float)  # not a numpy scalar: numpy compares with those in their own precision
        and target.dtype in (np.float32, np.float64)
        and target.shape[2:] == (2,)
        and target.flags.c_contiguous
    ):
        import cv2

        return cv2.inRange(target, (margin, margin), (w - 1 - margin, h - 1 - margin)) != 0
    u, v = target[..., 0], target[..., 1]
    return (u >= margin) & (u <= w - 1 - margin) & (v >= margin) & (v <= h - 1 - margin)


def compose_flows(flow_am: np.ndarray, flow_mb: np.ndarray) -> np.ndarray:
    """``[h,w,2]`` flow ``a → b`` of the flows ``a → m`` and ``m → b`` ``[h,w,2]`` (pixels): ``flow_am`` plus
    ``flow_mb`` sampled bilinearly at the targets in ``m``. Pixels whose target leaves ``m``'s image get a flow
    of 10⁶ pixels, which takes them out of ``b``'s image too (so the in-image check drops them)."""
    h, w = flow_am.shape[:2]
    return flow_am + sample_flow(flow_mb, pixel_grid(h, w) + flow_am)


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


def _squared_norm(x: np.ndarray) -> np.ndarray:
    """``[...]`` squared length of the 2-vectors ``x [...,2]`` (component-wise: ~6× faster than an einsum and ~20×
    than ``np.linalg.norm`` over such a short last axis)."""
    return np.square(x[..., 0]) + np.square(x[..., 1])


def hypot32(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``np.hypot(x, y)`` of float32 arrays ``x``, ``y`` (same shape; e.g. a flow's two components), bit for bit,
    1.15× (strided components) to 1.45× (contiguous ones) faster at 320×240: the square root of the float64 sum of
    the float64 squares, rounded to float32 — glibc's ``hypotf`` (2.35 and later), which ``np.hypot`` calls element
    by element. The squares of float32 values are exact in float64, so only the sum, the root and the final
    rounding round, as in ``hypotf``. Where that is not what ``np.hypot`` gives (another C library; checked once
    per process), for other dtypes, and at non-finite results (an infinite component with a NaN: ``hypot`` is
    infinite), ``np.hypot`` itself answers."""
    if x.dtype != np.float32 or y.dtype != np.float32 or not _hypot32_matches():
        return np.hypot(x, y)
    return _hypot32(x, y)


def _hypot32(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`hypot32` by the float64 formula (non-finite results by ``np.hypot``)."""
    total = np.square(x, dtype=np.float64)
    total += np.square(y, dtype=np.float64)
    result = np.sqrt(total, out=total).astype(np.float32)
    if not np.isfinite(result).all():
        odd = ~np.isfinite(result)
        result[odd] = np.hypot(x[odd], y[odd])
    return result


@functools.cache
def _hypot32_matches() -> bool:
    """Whether :func:`_hypot32` is ``np.hypot`` on float32 here, over seeded values of every magnitude (from
    subnormals to overflow) and the corner cases."""
    rng = np.random.default_rng(0)
    x, y = (
        (rng.standard_normal(1 << 14) * 10.0 ** rng.integers(-45, 39, 1 << 14)).astype(np.float32) for _ in range(2)
    )
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, 1.0], np.float32)
    x, y = np.concatenate([x, np.repeat(special, 8)]), np.concatenate([y, np.tile(special, 8)])
    with np.errstate(over="ignore", invalid="ignore"):
        expected, found = np.hypot(x, y), _hypot32(x, y)
    return bool(np.array_equal(expected.view(np.uint32), found.view(np.uint32)))
