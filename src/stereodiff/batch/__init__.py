"""Many videos: shards for any scheduler (:func:`run_shard`) and the Ray engine (:func:`run_ray`).

Both write ``OUT/<name>/`` per input exactly as ``stereodiff run`` does, skip finished inputs, resume interrupted
ones, record failures without stopping, and write ``OUT/batch_summary.jsonl``. See ``docs/batch.md``.
"""

from stereodiff.batch.inputs import expand_inputs, output_names, parse_shard, shard_inputs
from stereodiff.batch.jobs import BatchResult
from stereodiff.batch.local import run_shard
from stereodiff.batch.ray_engine import run_ray

__all__ = ["BatchResult", "expand_inputs", "output_names", "parse_shard", "run_ray", "run_shard", "shard_inputs"]
