"""The shard engine: this process runs its share of the videos one after the other (``--shard i/N``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stereodiff.batch.inputs import expand_inputs, shard_inputs
from stereodiff.batch.jobs import SUMMARY_NAME, BatchResult, SummaryWriter, make_template, plan_batch, process_video
from stereodiff.progress import logger

__all__ = ["run_shard"]


def run_shard(
    inputs: list[str],
    output: str | Path,
    config: Any = "auto",
    *,
    shard: tuple[int, int] = (0, 1),
    redo: bool = False,
    **options: Any,
) -> BatchResult:
    """Process shard ``i`` of ``N`` of ``inputs`` in this process, one video after the other.

    Inputs are sorted, then input ``k`` belongs to shard ``k mod N``: any scheduler can start the N shards anywhere
    and together they cover every input exactly once. Each input gets ``output/<name>/`` as with ``stereodiff
    run``; finished ones are skipped (unless ``redo``), interrupted ones resume. The summary is
    ``output/batch_summary.jsonl`` (``batch_summary.shard-I-of-N.jsonl`` for N > 1, so shards never share a file).

    Args:
        inputs: videos, image folders, or ``.txt`` lists of them.
        output: folder receiving one subfolder per input.
        config: a PipelineConfig or a preset name.
        shard: ``(i, N)``.
        redo: recompute inputs whose output is already finished.
        **options: per-video RunRequest fields: ``save``, ``frames``, ``stride``, ``max_frames``, ``max_res``,
            ``fps``, ``keep_cache``, ``colormap``.
    """
    from stereodiff.pipeline import StereoDiffPipeline

    index, count = shard
    output = Path(output)
    template = make_template(config, options)
    everything = expand_inputs(inputs)
    mine = shard_inputs(everything, index, count)
    todo, skipped = plan_batch(everything, output, template, redo=redo, mine=mine)
    logger.info("shard %d/%d: %d of %d inputs, %d to do", index, count, len(mine), len(everything), len(todo))
    name = SUMMARY_NAME if count == 1 else f"batch_summary.shard-{index}-of-{count}.jsonl"
    summary = SummaryWriter(output / name, [Path(item).absolute() for item in mine], skipped)
    try:
        pipeline = StereoDiffPipeline.from_config(template.config) if todo else None
        for request in todo:
            summary.add(process_video(request, pipeline))
    finally:
        rows = summary.close()
    return BatchResult(rows, summary.path)
