"""Where a refined video loses against its stage 1 under the standard protocol (issue #20, "keep stage 2's job
honest"): the final depth's all-pixel AbsRel split into stage 1's covered pixels and holes × moving and static
pixels, the refinement on covered pixels under stage 1's own scale and shift (what stage 2 did to those pixels)
against the refit the protocol makes (what the one least-squares fit per video makes of it), and how much the
filled holes pull that fit.

Every figure uses the protocol of :mod:`stereodiff.eval.protocol` (one least-squares scale & shift per video in
disparity space, per-frame AbsRel averaged over frames); predictions are depth at the GT size.
"""

from __future__ import annotations

import numpy as np

from stereodiff.eval.protocol import Alignment, align_sequence, region_metrics

__all__ = ["SPLIT_PARTS", "stage2_split"]

#: the four parts whose contributions add up to the final all-pixel AbsRel
SPLIT_PARTS = ("covered static", "covered moving", "holes static", "holes moving")


def stage2_split(
    final: np.ndarray,
    stage1: np.ndarray,
    gt: np.ndarray,
    dynamic: np.ndarray | None,
    *,
    max_depth: float,
    min_depth: float = 1e-3,
) -> dict[str, float]:
    """The final depth against stage 1's, part by part.

    Args:
        final: ``[T,H,W]`` final depth (every pixel filled), at the GT size.
        stage1: ``[T,H,W]`` stage-1 depth at the GT size, ``≤ 0`` on its holes.
        gt: ``[T,H,W]`` GT depth (invalid ``≤ min_depth`` or ``≥ max_depth``).
        dynamic: ``[T,H,W]`` bool moving pixels, or None (all static).
        max_depth, min_depth: the protocol's valid range.

    Returns:
        ``"stage 1"`` (its covered pixels, its own fit), ``"final covered"`` (same pixels, the final's own fit: the
        issue's "never worse than stage 1"), ``"final all"`` (all pixels); ``"final covered, stage-1 fit"`` (the
        final on the covered pixels under stage 1's scale and shift: the refinement without the refit) and the same
        split into ``"... static"`` / ``"... moving"`` for both depths; ``"final covered, all-pixel fit"`` (the
        covered pixels under the fit of ``"final all"``: minus ``"final covered"``, the pull of the filled holes on
        the fit); and the contributions of :data:`SPLIT_PARTS` to ``"final all"`` (per frame, the part's summed
        AbsRel over the frame's valid pixels, averaged over frames: they add up to it). NaN where a part is empty.
    """
    covered = stage1 > 0
    moving = np.zeros(gt.shape, bool) if dynamic is None else np.asarray(dynamic, bool)

    def fit(pred: np.ndarray, mask: np.ndarray | None) -> Alignment:
        return align_sequence(pred, gt, pred_kind="depth", max_depth=max_depth, min_depth=min_depth, valid_mask=mask)

    def abs_rel(pred: np.ndarray, align: Alignment, regions: dict[str, np.ndarray | None]) -> dict[str, float]:
        metrics = region_metrics(pred, gt, align, "depth", None, regions)
        return {name: float(m.abs_rel) if len(m.frames) else float("nan") for name, m in metrics.items()}

    stage1_fit, all_fit = fit(stage1, covered), fit(final, None)
    on_covered = {"": covered, " static": covered & ~moving, " moving": covered & moving}
    split = {f"stage 1{name}": value for name, value in abs_rel(stage1, stage1_fit, on_covered).items()}
    split["final covered"] = abs_rel(final, fit(final, covered), {"": covered})[""]
    for name, value in abs_rel(final, stage1_fit, on_covered).items():
        split[f"final covered, stage-1 fit{name}"] = value
    parts = dict(zip(SPLIT_PARTS, (covered & ~moving, covered & moving, ~covered & ~moving, ~covered & moving)))
    metrics = region_metrics(final, gt, all_fit, "depth", None, {"all": None, **parts})
    split["final all"] = float(metrics["all"].abs_rel)
    split["final covered, all-pixel fit"] = abs_rel(final, all_fit, {"": covered})[""]
    total = dict(zip(metrics["all"].frames.tolist(), metrics["all"].num_pixels))  # frame → its valid pixels
    for name in SPLIT_PARTS:
        m = metrics[name]
        shares = {int(f): v * n / total[int(f)] for f, v, n in zip(m.frames, m.per_frame["abs_rel"], m.num_pixels)}
        split[name] = float(sum(shares.values()) / len(total)) if total else float("nan")
    return split
