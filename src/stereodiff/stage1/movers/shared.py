"""What neighbouring blocks of the moving-object step share (:class:`SharedFindings`), and the typed flow-check
results it stores."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["CutLinks", "FrameCheck", "FrameDepth", "PackedCheck", "SharedFindings"]


class FrameCheck(NamedTuple):
    """One frame's flow check against the other frame of a pair (:func:`~stereodiff.stage1.movers.segment_movers`)."""

    own: int
    """The frame checked (index in its block)."""
    flagged: np.ndarray
    """``[h,w]`` bool: checked pixels whose flow the rigid flow of the static scene does not explain."""
    checked: np.ndarray
    """``[h,w]`` bool: pixels with consistent flow away from the border, where the rigid flow is defined."""
    off_epipolar: np.ndarray | None
    """``[h,w]`` bool: checked pixels whose flow leaves their epipolar line (None: ``epipolar_share`` off)."""


class PackedCheck(NamedTuple):
    """A :class:`FrameCheck` as :class:`SharedFindings` stores it: its masks bit-packed, its frame by video index."""

    frame: int
    """The frame checked (video index)."""
    shape: tuple[int, int, int]
    """``(masks, h, w)``: 2 masks (flagged, checked), 3 with ``off_epipolar``."""
    bits: np.ndarray
    """``[ceil(masks·h·w / 8)]`` uint8: the masks stacked in that order, ``np.packbits``."""


class CutLinks(NamedTuple):
    """The links :func:`~stereodiff.stage1.movers.tracking.track_cut_depth` found between two frames, as
    :class:`SharedFindings` stores them, with the masks they were found on."""

    handled: tuple[np.ndarray, np.ndarray]
    """Both frames' ``[h,w]`` bool handled masks, ``np.packbits`` (the links' regions are their components)."""
    links: list[tuple[tuple[int, int], tuple[int, int], float]]
    """``((video frame a, label), (video frame b, label), log scale ratio)`` per link."""
    motions: tuple[tuple[tuple[int, int], np.ndarray], ...] = ()
    """``((video frame a, label), [6])`` per linked region of frame a with ``cut_sway``: its apparent motion per
    unit depth and the camera's ``t'`` (:mod:`~stereodiff.stage1.movers.sway`); empty without it."""


class FrameDepth(NamedTuple):
    """One frame's mover depth (:func:`~stereodiff.stage1.movers.runner.handle_movers`) as :class:`SharedFindings`
    stores it: what changed in the frame's depth, given its mover mask."""

    moving: np.ndarray
    """The ``[h,w]`` bool mover mask it was computed from, ``np.packbits``."""
    changed: np.ndarray
    """``[N]`` int64 flat indices of the pixels whose depth it changed (bit for bit)."""
    values: np.ndarray
    """``[N]`` float32 their new depth."""
    handled: np.ndarray
    """The ``[h,w]`` bool pixels given a mover depth, ``np.packbits``."""
    reached: np.ndarray | None = None
    """The ``[h,w]`` bool pixels of them ``hole_reach`` joined, ``np.packbits`` (``MoverSettings.reach_mask``)."""


class SharedFindings:
    """What two neighbouring blocks of :func:`~stereodiff.stage1.movers.handle_movers` would both compute, computed
    once: the flow checks of the pairs whose frames are all in the next block too (keyed by video frames; the masks
    bit-packed) and the ground findings of such frames. A pair's check and a frame's finding depend only on its
    frames (every RANSAC is seeded by video frame), so a block gets exactly what it would compute itself. Holds at
    most the overlap of two blocks (``2 · (max offset + 1)`` frames: ≈ 1 MB at 320×240).

    A frame's mover depth and the cut-track links of a pair of frames (:func:`~.tracking.track_cut_depth`) depend on the
    block's mover masks too, which differ near a block's ends (a frame's flow checks there lack their pairs beyond
    the block): they are taken from the earlier block only where the masks they were computed from are the same,
    bit for bit (most of the overlap; stored packed, the depth as its changed pixels: a few MB at 320×240). The
    sway cue's ground normals (:attr:`normals`) are the one cache of them: the current block's fits too."""

    def __init__(self) -> None:
        self.next_first = 0  # what concerns video frames from here on is stored (the next block has them too)
        self.checks: dict[tuple[int, int], list[PackedCheck]] = {}  # (video frame a, video frame b): both checks
        self.ground: dict[int, np.ndarray] = {}  # video frame: [h,w] uint8 regions the ground says move
        self.cut_links: dict[tuple[int, int], CutLinks] = {}  # (video frame a, video frame b): its links
        self.depths: dict[int, FrameDepth] = {}  # video frame: its mover depth
        #: video frame: (its mover mask, packed; the unit normal of the ground fitted on its input depth with that
        #: mask, or None): the sway cue's (:func:`~.tracking.track_cut_depth`). Every fit of the block's runner
        #: (:func:`~.runner.handle_movers`; the normal, not the ``[h,w]`` plane: memory) and the sway cue's own fits
        #: of the overlap: ≈ 10 KB a frame at 320×240, at most a block and its context
        self.normals: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def block(self, first: int, next_first: int) -> None:
        """A block starting at video frame ``first`` begins, the next one will start at ``next_first``: what
        concerns earlier frames is dropped."""
        self.next_first = next_first
        self.checks = {pair: v for pair, v in self.checks.items() if pair[0] >= first}
        self.ground = {k: v for k, v in self.ground.items() if k >= first}
        self.cut_links = {pair: v for pair, v in self.cut_links.items() if pair[0] >= first}
        self.depths = {k: v for k, v in self.depths.items() if k >= first}
        self.normals = {k: v for k, v in self.normals.items() if k >= first}

    def wanted(self, *frames: int) -> bool:
        """Whether the next block needs what concerns these video frames."""
        return min(frames) >= self.next_first

    @staticmethod
    def pack(results: list[FrameCheck], first: int) -> list[PackedCheck]:
        """A pair's checks of a block whose first frame is video frame ``first``, packed."""
        packed = []
        for own, *masks in results:
            present = np.stack([m for m in masks if m is not None])  # [2 or 3,h,w] bool
            packed.append(PackedCheck(own + first, present.shape, np.packbits(present)))
        return packed

    @staticmethod
    def unpack(packed: list[PackedCheck], first: int) -> list[FrameCheck]:
        """The checks of :meth:`pack`, for a block whose first frame is video frame ``first``."""
        results = []
        for frame, shape, bits in packed:
            masks = np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).view(bool)
            results.append(FrameCheck(frame - first, masks[0], masks[1], masks[2] if shape[0] == 3 else None))
        return results
