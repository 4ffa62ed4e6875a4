"""On-disk tensors of a RollingDepth run: latents, decoded snippets, co-aligned and refined videos.

RollingDepth's steps each need the whole clip (the co-alignment fits every snippet, the refinement averages
overlapping snippets), so their inputs and outputs live in ``.npy`` files memory-mapped from the run folder and are
read and written a block at a time; after every access the block's pages are dropped from the process
(:func:`stereodiff.io.pages.release`), so the resident set holds one block, not the clip. Values round-trip
exactly: bfloat16 tensors are stored as float32 (lossless both ways), the other float dtypes as themselves. A
file remembers the memory format its 4-D blocks are read in (the VAE encoder returns channels-last latents, and
a UNet rounds differently on channels-last inputs, so reading them back in the format they had keeps the
results identical to holding them in memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from stereodiff.io.pages import release

__all__ = ["DiskTensor"]

_STORED = {torch.float16: np.float16, torch.bfloat16: np.float32, torch.float32: np.float32, torch.float64: np.float64}


class DiskTensor:
    """A tensor of fixed shape and dtype in an ``.npy`` file, read and written by index (numpy indexing)."""

    def __init__(
        self,
        path: Path,
        shape: tuple[int, ...],
        dtype: torch.dtype,
        *,
        create: bool,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        if dtype not in _STORED:
            raise ValueError(f"cannot store {dtype} tensors (float16/bfloat16/float32/float64 only)")
        self.path, self.shape, self.dtype = Path(path), tuple(int(s) for s in shape), dtype
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            np.lib.format.open_memmap(self.path, mode="w+", dtype=_STORED[dtype], shape=self.shape).flush()
        self.created, self.memory_format = create, memory_format
        self._map = np.load(self.path, mmap_mode="r+")
        if self._map.shape != self.shape or self._map.dtype != _STORED[dtype]:
            raise ValueError(f"{self.path} holds {self._map.dtype} {self._map.shape}, expected {self.shape}")

    @classmethod
    def open_or_create(cls, path: Path, shape: tuple[int, ...], dtype: torch.dtype) -> DiskTensor:
        """The existing file when it has this shape and dtype (a resumed run), else a new zero-filled one
        (``created`` tells which)."""
        if Path(path).is_file():
            try:
                return cls(path, shape, dtype, create=False)
            except ValueError:
                pass
        return cls(path, shape, dtype, create=True)

    def __getitem__(self, index: Any) -> torch.Tensor:
        """A copy of ``self[index]`` as a tensor of this dtype (CPU; 4-D blocks in this file's memory format)."""
        block = torch.from_numpy(np.array(self._map[index])).to(self.dtype)
        release(self._map)
        return block.contiguous(memory_format=self.memory_format) if block.ndim == 4 else block

    def __setitem__(self, index: Any, value: torch.Tensor) -> None:
        self._map[index] = value.detach().cpu().to(torch.float32 if self.dtype == torch.bfloat16 else self.dtype)
        release(self._map)

    def flush(self) -> None:
        """Write what was set to the file (before recording it as done)."""
        self._map.flush()

    def load(self) -> torch.Tensor:
        """The whole tensor in memory (small clips, tests)."""
        return self[:]
