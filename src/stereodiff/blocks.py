"""Fixed blocks of absolute indices: how frames and pairs are batched so that a resumed run is bit-identical.

A batched float computation (a GEMM, a convolution, an attention) may round differently with another batch size or
composition: the library picks other kernels and blockings (measured: CLIP embeddings of the same frames differ by
up to 4.8e-7 between a chunk of 6 frames and one of 5 on an AMD EPYC). A resumed run starts in the middle of a
video, so batching "whatever is left to do" would give it other batches than the uninterrupted run, and other
numbers. Every batched step therefore batches by fixed blocks: item ``i`` of ``total`` always belongs to block
``[i // size · size, min(i // size · size + size, total))``, whichever range a caller needs first.
"""

from __future__ import annotations

__all__ = ["block_of", "blocks_covering"]


def block_of(index: int, size: int, total: int) -> range:
    """The fixed block of ``size`` items (the last one shorter) that holds item ``index`` of ``total``."""
    if not 0 <= index < total or size < 1:
        raise ValueError(f"need 0 <= index < total and size >= 1, got index={index}, total={total}, size={size}")
    first = index // size * size
    return range(first, min(first + size, total))


def blocks_covering(start: int, end: int, size: int, total: int) -> list[range]:
    """The fixed blocks (see :func:`block_of`) that together hold items ``[start, end)``, in order."""
    if start >= end:
        return []
    return [block_of(first, size, total) for first in range(start // size * size, end, size)]
