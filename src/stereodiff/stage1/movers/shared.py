"""What neighbouring blocks of the moving-object step share (:class:`SharedFindings`)."""

from __future__ import annotations

import numpy as np

__all__ = ["SharedFindings"]


class SharedFindings:
    """What two neighbouring blocks of :func:`handle_movers` would both compute, computed once: the flow checks of
    the pairs whose frames are all in the next block too (keyed by video frames; the masks bit-packed) and the
    ground findings of such frames. A pair's check and a frame's finding depend only on its frames (every RANSAC is
    seeded by video frame), so a block gets exactly what it would compute itself. Holds at most the overlap of two
    blocks (``2 · (max offset + 1)`` frames: ≈ 1 MB at 320×240)."""

    def __init__(self) -> None:
        self.next_first = 0  # what concerns video frames from here on is stored (the next block has them too)
        self.checks: dict[tuple[int, int], list[tuple[int, tuple[int, ...], np.ndarray, int]]] = {}
        self.ground: dict[int, np.ndarray] = {}

    def block(self, first: int, next_first: int) -> None:
        """A block starting at video frame ``first`` begins, the next one will start at ``next_first``: what
        concerns earlier frames is dropped."""
        self.next_first = next_first
        self.checks = {pair: v for pair, v in self.checks.items() if pair[0] >= first}
        self.ground = {k: v for k, v in self.ground.items() if k >= first}

    def wanted(self, *frames: int) -> bool:
        """Whether the next block needs what concerns these video frames."""
        return min(frames) >= self.next_first

    @staticmethod
    def pack(results: list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]], first: int) -> list:
        """A pair's check results (block frame, masks) as (video frame, shape, packed masks, number of masks)."""
        packed = []
        for own, *masks in results:
            present = np.stack([m for m in masks if m is not None])  # [2 or 3,h,w] bool
            packed.append((own + first, present.shape, np.packbits(present), len(present)))
        return packed

    @staticmethod
    def unpack(packed: list, first: int) -> list[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
        results = []
        for frame, shape, bits, count in packed:
            masks = np.unpackbits(bits, count=int(np.prod(shape))).reshape(shape).view(bool)
            results.append((frame - first, masks[0], masks[1], masks[2] if count == 3 else None))
        return results
