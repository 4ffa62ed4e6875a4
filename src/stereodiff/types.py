"""The data types that flow between the stages (see ``docs/conventions.md``).

Every array is a numpy array (``np.memmap`` counts): stages take these types and return them, so the pipeline
never needs to know which backend ran. Validation happens once, in ``__post_init__``; a mismatch raises
``ValueError`` naming the field, its shape/dtype and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["AlignmentRecord", "DepthVideo", "PairPredictions", "SceneGeometry", "Video", "check_array"]


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    kinds: str | None = None,
    dtype: np.dtype | type | None = None,
    row_views: bool = False,
) -> np.ndarray:
    """Validate one array field and return it.

    Args:
        name: the field name used in the error message.
        value: the value to check; must already be a ``np.ndarray``.
        ndim: required number of dimensions.
        shape: required shape; ``None`` entries match any size.
        kinds: allowed ``dtype.kind`` letters (``"f"`` float, ``"u"`` unsigned, ``"i"`` int, ``"b"`` bool).
        dtype: exact required dtype.
        row_views: also accept a read-only array-like computed row by row when indexed (an object with ``shape``,
            ``ndim``, ``dtype`` and ``__getitem__``, e.g. :class:`~stereodiff.stage1.ray_pairs.PairRows`).

    Raises:
        ValueError: naming ``name`` and the broken rule.
    """
    row_view = row_views and all(hasattr(value, a) for a in ("shape", "ndim", "dtype", "__getitem__"))
    if not (isinstance(value, np.ndarray) or row_view):
        raise ValueError(f"{name} must be a numpy array, got {type(value).__name__}")
    if shape is not None:
        ndim = len(shape)
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(value.shape)}")
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, value.shape)):
            if want is not None and want != got:
                raise ValueError(
                    f"{name} has shape {tuple(value.shape)}; axis {axis} must be {want} "
                    f"(expected {tuple('*' if s is None else s for s in shape)})"
                )
    if dtype is not None and value.dtype != np.dtype(dtype):
        raise ValueError(f"{name} must have dtype {np.dtype(dtype)}, got {value.dtype}")
    if kinds is not None and value.dtype.kind not in kinds:
        raise ValueError(f"{name} has dtype {value.dtype}; allowed kinds are {kinds!r}")
    return value


@dataclass
class Video:
    """A decoded video clip.

    Attributes:
        frames: ``[T,H,W,3]`` uint8 RGB.
        fps: frames per second of the source (for image folders: the user's ``--fps``, default 30).
        source: where the frames came from (path, glob or list file), for metadata.
        frame_indices: ``[T]`` int64 index of each frame in the source (after ``start:stop:step``).
    """

    frames: np.ndarray
    fps: float = 30.0
    source: str = ""
    frame_indices: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_array("frames", self.frames, shape=(None, None, None, 3), dtype=np.uint8)
        if self.frames.shape[0] < 1:
            raise ValueError("frames must hold at least one frame, got T=0")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"fps must be a positive number, got {self.fps}")
        if self.frame_indices is None:
            self.frame_indices = np.arange(self.num_frames, dtype=np.int64)
        check_array("frame_indices", self.frame_indices, shape=(self.num_frames,), kinds="iu")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        return int(self.frames.shape[1]), int(self.frames.shape[2])


@dataclass
class PairPredictions:
    """Pairwise pointmaps of a stage-1 backend, one entry per directed pair ``(i, j)``.

    All pointmaps of a pair are in the coordinates of camera ``i`` (OpenCV axes), in the backend's own
    (arbitrary, per-pair) scale. Arrays may be ``np.memmap`` views of an on-disk cache, or read-only row views that
    compute a pair's rows when indexed (the geometric matcher's depth along rays:
    :class:`~stereodiff.stage1.ray_pairs.PairRows`); read them by pair (``pts_i[p]``, ``pts_i[a:b]``).

    Attributes:
        pairs: ``[P,2]`` int64 frame indices ``(i, j)``.
        pts_i: ``[P,h,w,3]`` float32, view ``i``'s pixels in camera ``i``.
        pts_j: ``[P,h,w,3]`` float32, view ``j``'s pixels in camera ``i``.
        conf_i: ``[P,h,w]`` float32 raw confidence of ``pts_i`` (≥ 1 for DUSt3R-family networks; higher is better).
        conf_j: ``[P,h,w]`` float32 raw confidence of ``pts_j``.
        num_frames: number of frames ``T`` of the video the pairs index into (default: ``max(pairs) + 1``).
    """

    pairs: np.ndarray
    pts_i: np.ndarray
    pts_j: np.ndarray
    conf_i: np.ndarray
    conf_j: np.ndarray
    num_frames: int | None = None

    def __post_init__(self) -> None:
        check_array("pairs", self.pairs, shape=(None, 2), kinds="iu")
        num_pairs = self.pairs.shape[0]
        check_array("pts_i", self.pts_i, row_views=True, shape=(num_pairs, None, None, 3), kinds="f")
        h, w = self.pts_i.shape[1:3]
        check_array("pts_j", self.pts_j, row_views=True, shape=(num_pairs, h, w, 3), kinds="f")
        check_array("conf_i", self.conf_i, row_views=True, shape=(num_pairs, h, w), kinds="f")
        check_array("conf_j", self.conf_j, row_views=True, shape=(num_pairs, h, w), kinds="f")
        if num_pairs and int(self.pairs.min()) < 0:
            raise ValueError("pairs must hold non-negative frame indices")
        if np.any(self.pairs[:, 0] == self.pairs[:, 1]):
            raise ValueError("pairs must not pair a frame with itself")
        needed = int(self.pairs.max()) + 1 if num_pairs else 1
        if self.num_frames is None:
            self.num_frames = needed
        elif self.num_frames < needed:
            raise ValueError(
                f"pairs refer to frame {needed - 1} but num_frames is {self.num_frames}; "
                "every pair index must be < num_frames"
            )

    @property
    def num_pairs(self) -> int:
        return int(self.pairs.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(h, w)`` of the pointmaps."""
        return int(self.pts_i.shape[1]), int(self.pts_i.shape[2])


@dataclass
class AlignmentRecord:
    """How the global alignment built a scene from its pairs (``P`` pairs, ``T`` frames); later steps (e.g. the
    geometric matcher's fusion) and diagnostics read it. Saved and loaded with the scene.

    Attributes:
        tree: ``[T-1,2]`` int64 directed pairs of the spanning tree, in traversal order (the first pair places both
            of its frames, every later pair the frame not placed yet).
        root: the root pair ``(i, j)`` of the tree, or ``None`` for a single frame.
        edge_scores: ``[P]`` float64 score of each pair (mean confidence product).
        pair_scales: ``[P]`` float64 registration scale of each pair (before ``scale_factor``).
        scale_factor: float, the normalisation of the pair scales (their geometric mean becomes ``base_scale``).
        pnp_frames: frames whose pose PnP estimated; ``pnp_failed``: those where it failed.
        per_frame_focal: ``[T]`` float64 focal estimates before ``shared_focal`` averaging.
        frame_log_scales: ``[T]`` float64 per-frame log-scale corrections of ``global_scale_solve``, or ``None``.
        pair_log_scales: ``[P]`` float64 log-scale of each pair's depth in the scene, when a fusion of all pairs
            made the depth (geometric matcher), else ``None``.
    """

    tree: np.ndarray
    root: tuple[int, int] | None = None
    edge_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pair_scales: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale_factor: float = 1.0
    pnp_frames: list[int] = field(default_factory=list)
    pnp_failed: list[int] = field(default_factory=list)
    per_frame_focal: np.ndarray = field(default_factory=lambda: np.zeros(0))
    frame_log_scales: np.ndarray | None = None
    pair_log_scales: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_array("tree", self.tree, shape=(None, 2), kinds="iu")


@dataclass
class SceneGeometry:
    """The globally aligned scene from stage 1: one scale for the whole video.

    Attributes:
        depth: ``[T,h,w]`` float32 camera-z depth in the scene's (relative) unit; invalid pixels hold 0.
        confidence: ``[T,h,w]`` float32 confidence of each depth pixel (backend scale; 0 where invalid).
        focal: ``[T]`` float64 focal length in pixels at resolution ``(h, w)``.
        principal_point: ``[T,2]`` float64 ``(cx, cy)`` in pixels at resolution ``(h, w)``.
        cam_to_world: ``[T,4,4]`` float64 camera-to-world poses (OpenCV axes), in the scene's unit.
        valid: ``[T,h,w]`` bool, where ``depth`` is usable (finite and > 0).
        alignment: how the global alignment built the scene (:class:`AlignmentRecord`), if it did.
        aligned_pointmaps: ``[T,h,w,3]`` float32 pointmaps the alignment placed in the world (fallback points
            included), or ``None`` when the depth was made otherwise (e.g. fused from all pairs); :meth:`world_points`
            back-projects ``depth`` instead.
        ahead_share: share of stage 1's probe pairs whose epipole lies inside the image (the camera moves along its
            view when it is at least :data:`~stereodiff.camera.AHEAD_SHARE`), measured on the pairs' own relative
            poses, not on ``cam_to_world``; NaN when not measured (the geometric matcher measures it with
            ``forward_near`` or a mover rule that needs it).
        movers_given: ``[T,h,w]`` bool, the pixels whose depth stage 1's mover rules gave (the ``movers`` step's
            contact, tracking and path rules), or ``None`` (no ``movers`` step). Not the mover mask: on a static
            scene the mask flags outlines, while the rules give depth to almost nothing (0.01 % of static-orbit's
            pixels against 1.6 % of driving's and 13 % of indoor-dynamic's).
        sky: ``[T,h,w]`` bool, the pixels stage 1's sky step (``stage1.sky``, :mod:`stereodiff.stage1.sky`) found
            at infinity (the pipeline gives them a far depth after stage 2; holes of ``depth`` only with
            ``stage1.sky_holes``), or ``None`` (no sky step, or no sky in the video).
        pair_spread: ``[T,h,w]`` float32, per pixel the weighted standard deviation of the log depths its frame's
            pairs triangulated (at their fused scales; 0 where one pair or none saw it), or ``None`` (not asked:
            the fusion gives it for ``stage1.movers_far_spread``, and the movers step drops it). A static point
            has one depth in every pair; a mover walking along a sideways camera's sweep does not, once its speed
            against the camera's changes between the pairs' frames.
        movers_reach: ``[T,h,w]`` bool, the pixels the movers step gave through ``hole_reach`` (a region joined to
            the image bottom through the holes under it), or ``None`` (not asked: the movers step records them for
            ``stage1.near_holes_before_reach``, and ``near_holes`` drops them).
    """

    depth: np.ndarray
    confidence: np.ndarray
    focal: np.ndarray
    principal_point: np.ndarray
    cam_to_world: np.ndarray
    valid: np.ndarray | None = None
    alignment: AlignmentRecord | None = None
    aligned_pointmaps: np.ndarray | None = None
    ahead_share: float = float("nan")
    movers_given: np.ndarray | None = None
    sky: np.ndarray | None = None
    pair_spread: np.ndarray | None = None
    movers_reach: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_array("depth", self.depth, shape=(None, None, None), kinds="f")
        t, h, w = self.depth.shape
        check_array("confidence", self.confidence, shape=(t, h, w), kinds="f")
        check_array("focal", self.focal, shape=(t,), kinds="f")
        check_array("principal_point", self.principal_point, shape=(t, 2), kinds="f")
        check_array("cam_to_world", self.cam_to_world, shape=(t, 4, 4), kinds="f")
        if self.valid is None:
            self.valid = np.isfinite(self.depth) & (self.depth > 0)
        check_array("valid", self.valid, shape=(t, h, w), dtype=np.bool_)
        if self.aligned_pointmaps is not None:
            check_array("aligned_pointmaps", self.aligned_pointmaps, shape=(t, h, w, 3), kinds="f")
        if self.movers_given is not None:
            check_array("movers_given", self.movers_given, shape=(t, h, w), dtype=np.bool_)
        if self.sky is not None:
            check_array("sky", self.sky, shape=(t, h, w), dtype=np.bool_)
        if self.pair_spread is not None:
            check_array("pair_spread", self.pair_spread, shape=(t, h, w), kinds="f")
        if self.movers_reach is not None:
            check_array("movers_reach", self.movers_reach, shape=(t, h, w), dtype=np.bool_)

    @property
    def num_frames(self) -> int:
        return int(self.depth.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(h, w)`` of the depth maps."""
        return int(self.depth.shape[1]), int(self.depth.shape[2])

    def intrinsics(self) -> np.ndarray:
        """``[T,3,3]`` float64 pinhole intrinsics at resolution ``(h, w)``."""
        k = np.zeros((self.num_frames, 3, 3))
        k[:, 0, 0] = self.focal
        k[:, 1, 1] = self.focal
        k[:, :2, 2] = self.principal_point
        k[:, 2, 2] = 1.0
        return k

    def world_points(self, t: int) -> np.ndarray:
        """``[h,w,3]`` float32 points of frame ``t`` in world coordinates (computed on demand, not stored)."""
        from stereodiff.camera import backproject, rigid_transform

        cam = backproject(np.asarray(self.depth[t]), self.intrinsics()[t])  # [h,w,3]
        return rigid_transform(cam, self.cam_to_world[t]).astype(np.float32)


@dataclass
class DepthVideo:
    """The final per-frame depth of a video, at the source resolution and frame count.

    At least one of ``depth`` and ``disparity`` is given. Both are *relative*: one unknown scale (depth) or one
    unknown affine map (disparity) for the whole video, never per frame — unless ``kind == "metric"``.

    Attributes:
        depth: ``[T,H,W]`` float32 camera-z depth (0 where unknown), or ``None``.
        disparity: ``[T,H,W]`` float32 disparity (∝ 1/depth up to an affine map), or ``None``.
        fps: frames per second of the source.
        source: the input the video came from.
        frame_indices: ``[T]`` int64 source index of each frame.
        kind: ``"relative"`` or ``"metric"``; ``unit`` names the unit of metric depth (e.g. ``"m"``).
        stage1_depth: ``[T,h,w]`` float32 stage-1 depth at stage-1 resolution, if a stage 1 ran.
        geometry: the stage-1 ``SceneGeometry`` (confidence, intrinsics, poses), if a stage 1 ran.
        info: free-form metadata (backends, settings, timings).
    """

    depth: np.ndarray | None = None
    disparity: np.ndarray | None = None
    fps: float = 30.0
    source: str = ""
    frame_indices: np.ndarray | None = None
    kind: Literal["relative", "metric"] = "relative"
    unit: str = "relative"
    stage1_depth: np.ndarray | None = None
    geometry: SceneGeometry | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.depth is None and self.disparity is None:
            raise ValueError("DepthVideo needs depth or disparity (both are None)")
        ref_name, ref = ("depth", self.depth) if self.depth is not None else ("disparity", self.disparity)
        check_array(ref_name, ref, shape=(None, None, None), kinds="f")
        if self.depth is not None and self.disparity is not None:
            check_array("disparity", self.disparity, shape=self.depth.shape, kinds="f")
        if self.kind not in ("relative", "metric"):
            raise ValueError(f"kind must be 'relative' or 'metric', got {self.kind!r}")
        t = ref.shape[0]
        if self.frame_indices is None:
            self.frame_indices = np.arange(t, dtype=np.int64)
        check_array("frame_indices", self.frame_indices, shape=(t,), kinds="iu")
        if self.stage1_depth is not None:
            check_array("stage1_depth", self.stage1_depth, shape=(t, None, None), kinds="f")
        if self.geometry is not None and self.geometry.num_frames != t:
            raise ValueError(f"geometry has {self.geometry.num_frames} frames but the depth video has {t}")

    @property
    def num_frames(self) -> int:
        ref = self.depth if self.depth is not None else self.disparity
        return int(ref.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` in pixels."""
        ref = self.depth if self.depth is not None else self.disparity
        return int(ref.shape[1]), int(ref.shape[2])
