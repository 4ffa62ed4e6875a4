"""Evaluate a folder of predictions on a dataset: one ``<sequence>.npz`` (or ``<sequence>/`` PNG16/EXR folder of
``stereodiff.io.depth``) per sequence.

Prediction npz files hold ``disparity`` and/or ``depth`` ``[T,H,W]``; the key says what the values are (an
affine-invariant disparity or a depth up to scale/shift), unless ``pred_kind`` overrides it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.errors import InputError
from stereodiff.eval.datasets import EvalSequence, get_preset, load_dataset
from stereodiff.eval.protocol import (
    PROTOCOLS,
    SequenceMetrics,
    aggregate,
    apply_alignment,
    evaluate_sequence,
    protocol_options,
    resize_prediction,
)
from stereodiff.eval.spectrum import band_decomposition, error_sequences
from stereodiff.progress import logger, progress

__all__ = ["DatasetResult", "evaluate_dataset", "evaluate_eval_sequence", "load_prediction"]


def load_prediction(path: Path, pred_kind: str | None = None) -> tuple[np.ndarray, str]:
    """``(pred [T,H,W], kind)`` of a prediction file or folder (``stereodiff.io.depth.load_depth_video``: npz,
    PNG16 or EXR folder; uncompressed npz arrays are memory-mapped).

    Without ``pred_kind`` the disparity is used when present (the protocol's affine-invariant input), else the
    depth. With ``pred_kind`` that array is used, or the only one present, read as ``pred_kind`` (DepthCrafter's
    own npz stores its disparity under ``depth``).
    """
    from stereodiff.io.depth import load_depth_video

    if pred_kind is not None and pred_kind not in ("depth", "disparity"):
        raise InputError(f"pred_kind={pred_kind!r} is not supported", "use 'depth' or 'disparity'")
    video = load_depth_video(Path(path))
    arrays = {k: v for k, v in (("disparity", video.disparity), ("depth", video.depth)) if v is not None}
    if pred_kind is None:
        kind = next(iter(arrays))
        return arrays[kind], kind
    return arrays.get(pred_kind, next(iter(arrays.values()))), pred_kind


def evaluate_eval_sequence(
    pred: np.ndarray, pred_kind: str, seq: EvalSequence, *, protocol: str = "depthcrafter", per_frame: bool = False
) -> SequenceMetrics:
    """``evaluate_sequence`` of one dataset sequence with a named protocol's settings and the preset's cap."""
    return evaluate_sequence(
        pred,
        seq.depth,
        pred_kind=pred_kind,
        max_depth=seq.max_depth,
        per_frame=per_frame,
        valid_mask=seq.valid,
        **protocol_options(protocol),
    )


@dataclass
class DatasetResult:
    """Metrics of every evaluated sequence of a dataset and the dataset-level summary.

    Attributes:
        dataset, preset, protocol: what was run.
        sequences: name -> ``SequenceMetrics``.
        regions: name -> ``{"dynamic", "overall", "static"} -> SequenceMetrics`` (sequences with dynamic masks).
        tae: name -> TAE ×100 (sequences with GT K and poses, when requested).
        summary: metric -> dataset value (protocol's averaging and sequence weighting).
        bands: error sequence (``abs_rel``, ``rmse``, ``one_minus_delta1``) -> ``[11]`` F0…F10 values averaged over
            sequences (the paper's Table 2; F0 is the dataset metric). Sequences with < 2 evaluated frames are skipped.
        missing: sequences without a prediction file (skipped).
        settings: the protocol settings used.
    """

    dataset: str
    preset: str
    protocol: str
    sequences: dict[str, SequenceMetrics] = field(default_factory=dict)
    regions: dict[str, dict[str, SequenceMetrics]] = field(default_factory=dict)
    tae: dict[str, float] = field(default_factory=dict)
    summary: dict[str, float] = field(default_factory=dict)
    bands: dict[str, np.ndarray] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def evaluate_dataset(
    dataset: str,
    root: Path,
    pred_dir: Path,
    *,
    preset: str | None = None,
    protocol: str = "depthcrafter",
    pred_kind: str | None = None,
    per_frame: bool = False,
    sequences: list[str] | None = None,
    tae: bool = False,
    regions: bool = True,
) -> DatasetResult:
    """Evaluate ``pred_dir/<sequence>.npz`` against every sequence of ``dataset`` under ``root``.

    Sequences without a prediction file are skipped and listed in ``missing`` (an ``InputError`` when none has
    one). ``regions``: dynamic/static metrics for sequences with dynamic masks; ``tae``: TAE for sequences with
    GT intrinsics and poses.
    """
    from stereodiff.eval.regions import evaluate_regions
    from stereodiff.eval.temporal import temporal_alignment_error

    protocol_options(protocol)  # validates the name
    settings = PROTOCOLS[protocol]
    p = get_preset(dataset, preset)
    pred_dir = Path(pred_dir)
    if not pred_dir.is_dir():
        raise InputError(f"prediction folder {pred_dir} not found", "pass --pred DIR holding <sequence>.npz files")
    result = DatasetResult(dataset, p.name, protocol, settings={**settings, "per_frame": per_frame, "preset": p.note})
    for seq in progress(load_dataset(dataset, root, p.name, sequences), desc=f"eval {dataset}", unit="seq"):
        path = pred_dir / f"{seq.name}.npz"
        if not path.is_file() and (pred_dir / seq.name).is_dir():
            path = pred_dir / seq.name  # a PNG16 / EXR folder
        if not path.exists():
            result.missing.append(seq.name)
            logger.warning("no prediction for %s (%s)", seq.name, path)
            continue
        pred, kind = load_prediction(path, pred_kind)
        metrics = evaluate_eval_sequence(pred, kind, seq, protocol=protocol, per_frame=per_frame)
        result.sequences[seq.name] = metrics
        if regions and seq.dynamic_mask is not None:
            result.regions[seq.name] = evaluate_regions(
                pred, seq.depth, seq.dynamic_mask, pred_kind=kind, max_depth=seq.max_depth, per_frame=per_frame,
                valid_mask=seq.valid, **protocol_options(protocol),
            )  # fmt: skip
        if tae and seq.K is not None and seq.cam_to_world is not None:
            resized = resize_prediction(pred[: seq.num_frames], seq.depth.shape[1:], str(settings["resize"]))
            depth = apply_alignment(resized, metrics.alignment, kind)
            result.tae[seq.name] = temporal_alignment_error(depth, seq.K, seq.cam_to_world)
    if not result.sequences:
        raise InputError(f"no prediction file matched a {dataset} sequence in {pred_dir}", "name them <sequence>.npz")
    per_sequence = [
        {name: band_decomposition(errors).values for name, errors in error_sequences(m).items()}
        for m in result.sequences.values()
        if len(m.frames) >= 2
    ]
    if per_sequence:
        result.bands = {name: np.mean([b[name] for b in per_sequence], axis=0) for name in per_sequence[0]}
    result.summary = aggregate(
        list(result.sequences.values()), weighting=settings["weighting"], average=settings["average"]
    )
    return result
