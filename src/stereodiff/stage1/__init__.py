"""Stage 1: pairwise stereo matching (network or geometric backends) and the closed-form global alignment.

The contract (what the pipeline may know): a stage-1 backend turns frames into an aligned
:class:`~stereodiff.types.SceneGeometry` with ``reconstruct(frames, run_dir)``. Pair-based backends inherit the
shared default :class:`PairwiseReconstruction` (predict pairs, then
:func:`~stereodiff.stage1.alignment.global_alignment` with the settings of their config) and override its hooks
when they add steps (the geometric matcher: its focal hand-off and the fusion of all pairs).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from stereodiff.stage1.configs import Stage1Config
from stereodiff.types import PairPredictions, SceneGeometry

__all__ = ["PairwiseReconstruction", "Stage1Backend"]


class Stage1Backend(Protocol):
    """A stage-1 backend: frames in, the aligned scene out."""

    timings: dict[str, float]
    """Seconds per step of the last :meth:`reconstruct` (e.g. ``stage1_matching``, ``stage1_alignment``)."""

    def reconstruct(self, frames: Any, run_dir: Path | None = None) -> SceneGeometry:
        """``frames`` ``[T,H,W,3]`` uint8 RGB (array-like, read per frame) → the scene at the working resolution.
        With ``run_dir``, intermediate results go to ``run_dir/stage1/`` (``pairs/``: a resumable pair cache,
        ``scene/``: the scene's memory-mapped arrays)."""
        ...


class PairwiseReconstruction:
    """The shared default ``reconstruct``: pairwise predictions, then the closed-form global alignment.

    A subclass provides ``predict(frames, pairs, *, cache_dir)`` and sets ``settings`` (its
    :class:`~stereodiff.stage1.configs.Stage1Config`) and ``seed``; it may override :meth:`alignment_focal` (the
    focal the alignment uses) and :meth:`finish` (steps after the alignment).
    """

    settings: Stage1Config
    seed: int = 0
    timings: dict[str, float]

    def predict(
        self, frames: Any, pairs: np.ndarray | None = None, *, cache_dir: Path | None = None
    ) -> PairPredictions:
        raise NotImplementedError

    def alignment_focal(self, preds: PairPredictions, frames: Any) -> float | None:
        """Focal in pixels at the pairs' resolution for the alignment: ``settings.focal_px`` (given at the source
        resolution) scaled, or ``None`` (estimated by the alignment)."""
        if self.settings.focal_px is None:
            return None
        return self.settings.focal_px * max(preds.size) / max(frames.shape[1:3])

    def finish(
        self, preds: PairPredictions, scene: SceneGeometry, scene_dir: Path | None, frames: Any
    ) -> SceneGeometry:
        """Steps after the alignment (none by default); ``frames`` are the input frames. ``scene`` is passed without
        any other reference to it, so a step that replaces its arrays can let them (and their memmaps) go."""
        return scene

    def reconstruct(self, frames: Any, run_dir: Path | None = None) -> SceneGeometry:
        from stereodiff.stage1.pairs import make_pairs

        s = self.settings
        self.timings = {}
        start = time.perf_counter()
        pairs = make_pairs(len(frames), scheme=s.pair_scheme) if s.pair_scheme is not None else None
        preds = self.predict(frames, pairs, cache_dir=run_dir / "stage1" / "pairs" if run_dir is not None else None)
        self.timings["stage1_matching"] = time.perf_counter() - start
        start = time.perf_counter()
        scene_dir = run_dir / "stage1" / "scene" if run_dir is not None else None
        # the alignment is passed without a reference here: finish may let it go
        scene = self.finish(preds, self.align(preds, frames, scene_dir), scene_dir, frames)
        self.timings["stage1_alignment"] = time.perf_counter() - start
        return scene

    def align(self, preds: PairPredictions, frames: Any, scene_dir: Path | None = None) -> SceneGeometry:
        """:func:`~stereodiff.stage1.alignment.global_alignment` of ``preds`` with the settings of this backend
        (its arrays in ``scene_dir`` when given)."""
        from stereodiff.stage1.alignment import global_alignment

        s = self.settings
        return global_alignment(
            preds,
            min_conf_thr=s.min_conf_thr,
            shared_focal=s.shared_focal,
            focal=self.alignment_focal(preds, frames),
            seed=self.seed,
            robust_scale=s.robust_scale,
            global_scale_solve=s.global_scale_solve,
            scale_stride=s.scale_stride,
            out_dir=scene_dir,
        )
