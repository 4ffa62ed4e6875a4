"""A near static surface put far by stage 1, checked against the earlier frames moved by the camera's pose.

A camera moving ahead sees a near static object (a parked car beside the road) grow and slide to the image side
before it leaves the picture; its flow then grows past what DIS follows (35–80 px per 3 frames at 2 m) and its
forward pairs look for it beyond the other frame's border, so every view of those frames matches it short and
triangulates it too far (driving s1 frames 57–63: the car's outer columns +0.9 … +1.7 in log; issue #20,
docs/geometric.md "A near car put far as it leaves the image side"). The earlier frames saw the same points nearer
the image centre, with small flows, at their right depth. :func:`recheck_far_from_earlier` moves each earlier
frame's static points into the frame by the poses (a z-buffered splat) and gives the frame's static pixels that lie
far beyond the earlier frames' median prediction, where that prediction is among the frame's near depths, the
predicted depth.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from stereodiff.camera import backproject_pixels, rigid_transform
from stereodiff.io.pages import new_array, release
from stereodiff.progress import thread_imap
from stereodiff.types import SceneGeometry

__all__ = ["EarlierRecheck", "recheck_far_from_earlier", "splat_depth"]


@dataclasses.dataclass(frozen=True)
class EarlierRecheck:
    """Settings of :func:`recheck_far_from_earlier` (``GeometricConfig.earlier_recheck*``).

    Attributes:
        margin: log-depth margin: a pixel farther than the prediction by more than this is rechecked (> 0).
        frames: how many earlier frames predict each frame (≥ 1).
        near: the prediction must be at most this quantile of the frame's covered depths (in (0, 1]).
    """

    margin: float
    frames: int
    near: float


def splat_depth(
    depth: np.ndarray, keep: np.ndarray, K_src: np.ndarray, K_dst: np.ndarray, src_to_dst: np.ndarray
) -> np.ndarray:
    """``[h,w]`` float64 depth of the points of ``depth [h,w]`` at the pixels ``keep [h,w]`` (bool) of a source
    camera (intrinsics ``K_src [3,3]``) seen from a destination camera (``K_dst``; ``src_to_dst [4,4]`` moves source
    camera points into it), the nearest point per pixel (a z-buffer); each point lands on the four pixels around
    its projection, so a surface that grows between the cameras leaves no gaps; ``inf`` where no point lands."""
    rows, cols = np.nonzero(keep)
    out = np.empty(depth.shape)
    _splat_into(out, backproject_pixels(depth, K_src, rows, cols), K_dst, src_to_dst)
    return out


def _splat_into(out: np.ndarray, points: np.ndarray, K_dst: np.ndarray, src_to_dst: np.ndarray) -> None:
    """Write into ``out [h,w]`` (float64) the splat (:func:`splat_depth`) of the source camera points
    ``points [N,3]`` moved by ``src_to_dst [4,4]`` (its rotation made contiguous,
    :func:`~stereodiff.camera.rigid_transform`) into a camera of intrinsics ``K_dst [3,3]``.

    A point ahead of the camera, projected at ``(u, v)``, lands on ``(⌊u⌋ or ⌈u⌉, ⌊v⌋ or ⌈v⌉)``: where neither is
    a whole number, on ``(⌊u⌋, ⌊v⌋) + {0, 1}²``. So one z-buffer of those points at ``(⌊u⌋, ⌊v⌋)`` (with a border
    of two pixels for those outside the image: ``u``, ``v`` clipped to ``[−1.5, w + 0.5]``, ``[−1.5, h + 0.5]``,
    which moves no corner into the image or out of it), each pixel then taking the least of it and its left, upper
    and upper-left neighbours, is the four corners' z-buffer with one scatter instead of four, the same values bit
    for bit; the (rare) points with a whole-number ``u`` or ``v`` land on their own corners
    (:func:`_splat_corners`)."""
    h, w = out.shape
    points = rigid_transform(points, src_to_dst)
    if not np.all(points[:, 2] > 0):
        points = points[points[:, 2] > 0]
    x, y, z = points.T.copy()
    u = _pixel_coordinate(x, z, K_dst[0, 0], K_dst[0, 2], w)
    v = _pixel_coordinate(y, z, K_dst[1, 1], K_dst[1, 2], h)
    left, top = np.floor(u), np.floor(v)
    whole = u == left
    whole |= v == top  # (rare) these land on their own corners, last
    generic = ~whole if whole.any() else slice(None)
    index = top[generic]  # the (⌊u⌋, ⌊v⌋) pixel in the bordered image, in place (whole numbers, exact)
    index += 2
    index *= w + 4
    index += left[generic]
    index += 2
    bordered = np.full((h + 4, w + 4), np.inf)
    np.minimum.at(bordered.reshape(-1), index.astype(np.int64), z[generic])
    np.minimum(bordered[2 : h + 2, 2 : w + 2], bordered[2 : h + 2, 1 : w + 1], out=out)
    np.minimum(out, bordered[1 : h + 1, 2 : w + 2], out=out)
    np.minimum(out, bordered[1 : h + 1, 1 : w + 1], out=out)
    if whole.any():
        _splat_corners(out, u[whole], v[whole], z[whole])


def _pixel_coordinate(along: np.ndarray, z: np.ndarray, focal: float, centre: float, size: int) -> np.ndarray:
    """``[M]`` pixel coordinates ``along / z · focal + centre`` (``along``, ``z``: ``[M]`` camera coordinates) clipped
    to ``[-1.5, size + 0.5]``, computed in ``along`` (the same values as the expression, without its temporaries)."""
    np.divide(along, z, out=along)
    along *= focal
    along += centre
    return np.clip(along, -1.5, size + 0.5, out=along)


def _splat_corners(out: np.ndarray, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> None:
    """Each point at ``(u, v)`` (``[M]`` pixels each) of depth ``z [M]`` on the four pixels ``(⌊u⌋ or ⌈u⌉,
    ⌊v⌋ or ⌈v⌉)`` inside ``out [h,w]`` (float64), where it is nearer than their value."""
    h, w = out.shape
    for col in (np.floor(u), np.ceil(u)):
        for row in (np.floor(v), np.ceil(v)):
            inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
            np.minimum.at(out, (row[inside].astype(np.int64), col[inside].astype(np.int64)), z[inside])


#: one earlier frame of :func:`_splats`: its static covered pixels' camera points ``[N,3]`` (float64,
#: :func:`~stereodiff.camera.backproject_pixels` of its depth as given) and camera-to-world pose ``[4,4]``
Earlier = tuple[np.ndarray, np.ndarray]


def _splats(earlier: Sequence[Earlier], K: np.ndarray, world_to_k: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``[S,h,w]`` float64: the ``S`` earlier frames' points each splat (:func:`splat_depth`) into a frame of
    ``size (h, w)``, intrinsics ``K [3,3]`` and pose ``world_to_k [4,4]``; ``inf`` where none of a frame's lands."""
    splats = np.empty((len(earlier), *size))
    for splat, (points, cam_to_world) in zip(splats, earlier, strict=True):
        _splat_into(splat, points, K, world_to_k @ cam_to_world)
    return splats


def _median(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[n]`` median of the finite values of each column of ``values [S,n]`` (NaN where none) and ``[n]`` how many
    there are."""
    ordered = np.sort(values.T, axis=1)  # [n,S], the inf (nothing landed) last
    count = np.sum(np.isfinite(ordered), axis=1)
    middle = np.take_along_axis(ordered, np.stack([(count - 1) // 2, count // 2], axis=1).clip(0), axis=1)
    median = np.where(count > 0, middle.mean(axis=1), np.nan)  # (np.nanmedian goes column by column: 10× slower)
    return median, count


@dataclasses.dataclass(frozen=True)
class _Frame:
    """One frame of :func:`recheck_far_from_earlier`: its index ``k``, its depth as given ``[h,w]``, its
    static pixels ``[h,w]`` (bool, the points that predict later frames), the pixels it checks ``[h,w]`` (bool),
    intrinsics ``[3,3]``, world-to-camera pose ``[4,4]`` and earlier frames."""

    k: int
    given: np.ndarray
    static: np.ndarray
    checked: np.ndarray
    K: np.ndarray
    world_to_k: np.ndarray
    earlier: tuple[Earlier, ...]


def _frames(
    scene: SceneGeometry, flagged: Sequence[np.ndarray], lookback: int, checked: np.ndarray | None
) -> Iterator[_Frame]:
    """Each frame of ``scene`` with its ``lookback`` earlier frames' points (a ring of their given depth); the
    pixels it checks are its static ones and those of ``checked`` (``[T,h,w]`` bool or None)."""
    K = scene.intrinsics()
    earlier: deque[Earlier] = deque(maxlen=lookback)
    for k in range(scene.num_frames):
        given = np.array(scene.depth[k])
        static = ~np.logical_or.reduce([np.asarray(mask[k], bool) for mask in flagged], initial=False)
        check = static if checked is None else static | np.asarray(checked[k], bool)
        yield _Frame(k, given, static, check, K[k], np.linalg.inv(scene.cam_to_world[k]), tuple(earlier))
        rows, cols = np.nonzero(static & (given > 0))
        earlier.append((backproject_pixels(given, K[k], rows, cols), scene.cam_to_world[k]))


def _recheck_frame(frame: _Frame, settings: EarlierRecheck) -> tuple[np.ndarray, int]:
    """``[h,w]`` float32: the frame's depth with its far checked pixels given the prediction, and how many."""
    import cv2

    own = frame.given.astype(np.float32)
    covered = (own > 0) & frame.checked
    if frame.k == 0 or not covered.any():
        return own, 0
    splats = _splats(frame.earlier, frame.K, frame.world_to_k, own.shape)
    near = np.quantile(own[own > 0], settings.near)
    # a median at most ``near`` has its lower middle value, so the pixel's least splat, at most ``near`` (two values
    # above it have a mean above it, in floats too): the pixels whose least splat is farther are never checked
    candidate = covered & (splats.min(axis=0) <= near)
    predicted, count = _median(splats[:, candidate])
    check = (count >= min(2, frame.k)) & (predicted <= near)
    far = np.zeros_like(covered)
    far[candidate] = check & (np.log(own[candidate]) - np.log(predicted) > settings.margin)
    far = cv2.morphologyEx(far.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).view(bool)
    on_candidate = np.full(own.shape, np.nan)
    on_candidate[candidate] = predicted
    own[far] = on_candidate[far]
    return own, int(far.sum())


def recheck_far_from_earlier(
    scene: SceneGeometry,
    flagged: Sequence[np.ndarray],
    settings: EarlierRecheck,
    out_dir: Path | None = None,
    num_workers: int = 1,
    checked: np.ndarray | None = None,
) -> tuple[SceneGeometry, int]:
    """The scene with each frame's static covered pixels that lie more than ``settings.margin`` (log) farther than
    the median of the earlier frames' prediction (:func:`splat_depth` of up to ``settings.frames`` earlier frames,
    at least two of them landing, one for frame 1), where that prediction is at most the ``settings.near`` quantile
    of the frame's covered depths, given the predicted depth; and how many pixels changed. Those pixels are opened
    by a 3×3 square: the near points' splat reaches one pixel beyond a near object's outline onto the background
    behind it, a line the opening removes, while the far-put part of a near object is a region.

    Every prediction comes from the earlier frames' depth as it was given (a value taken here never predicts
    another frame), so the frames are independent: they run on ``num_workers`` threads (numpy's sort and
    arithmetic release the GIL), each frame's output the same bit for bit. ``flagged``: ``[T,h,w]`` bool masks
    (any array-like read one frame at a time) of the pixels a mover rule flagged, the static pixels being in none.
    Memory does not grow with ``T``: frame by frame, with a ring of the ``settings.frames`` earlier frames' given
    depth's points; the depth is a new array (a memmap ``out_dir/recheck_depth.npy`` when ``out_dir`` is given);
    confidence, validity and poses are the input's. For a camera moving ahead (the caller's gate).

    ``checked``: ``[T,h,w]`` bool pixels checked as well although flagged (``earlier_recheck_given``: the movers
    step's given pixels), or None. They never predict: the earlier frames' points are their static pixels only. A
    static point the earlier frames saw on a pixel's ray bounds what the pixel shows, moving or not: nothing
    farther than it can be seen there."""
    depth = new_array(out_dir, "recheck_depth", scene.depth.shape, np.float32)
    frames = _frames(scene, flagged, settings.frames, checked)
    changed = 0
    for k, (own, n) in enumerate(thread_imap(partial(_recheck_frame, settings=settings), frames, num_workers)):
        depth[k] = own
        changed += n
        release(depth, scene.depth, *flagged)
    return dataclasses.replace(scene, depth=depth), changed
