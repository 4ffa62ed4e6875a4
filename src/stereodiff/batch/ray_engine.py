"""The Ray engine: videos spread over the actors of a Ray cluster (``stereodiff batch --engine ray``).

Each worker is a Ray actor that builds the :class:`~stereodiff.pipeline.StereoDiffPipeline` once (weights load
once per worker) and then processes whole videos, one at a time, with :func:`~stereodiff.batch.jobs.process_video`
— the code path of ``stereodiff run``. Ray places the actors on the nodes that have the CPUs/GPUs asked for,
restarts an actor whose process dies (``max_restarts=-1``) and re-runs the video it held (``max_task_retries``),
which then resumes from its run cache. The driver (this process) only hands out input paths and collects summary
rows: frames never travel through Ray, every worker reads its input and writes ``OUT/<name>/`` itself, so OUT must
be on storage every node sees under the same path.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from stereodiff.batch.inputs import expand_inputs
from stereodiff.batch.jobs import (
    SUMMARY_NAME,
    BatchResult,
    SummaryWriter,
    failed_row,
    make_template,
    plan_batch,
    process_video,
    this_worker,
)
from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.runs import RunRequest

__all__ = ["VideoWorker", "run_ray"]

LOCAL_OBJECT_STORE_BYTES = 128 * 2**20
"""Object store of a local cluster: only paths and summary rows go through it, never frames."""


def import_ray(local: bool = False) -> Any:
    """The ``ray`` module, or a one-line InputError naming the extra to install.

    ``local``: a cluster will be started in this process; if Ray is not imported yet, it is told to listen on the
    loopback interface only (Ray's single-node switch, read when Ray is imported, inherited by its processes).
    """
    if local and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray, which is not installed", "pip install 'stereodiff[ray]'") from None
    return ray


class VideoWorker:
    """A Ray actor body: one pipeline, built once, then whole videos one after the other."""

    def __init__(self, config: Any) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads; see cli.main
        import logging

        from stereodiff.pipeline import StereoDiffPipeline
        from stereodiff.progress import set_progress

        set_progress(False)  # the driver reports progress; bars from many workers would interleave
        logging.getLogger("stereodiff").setLevel(logging.WARNING)
        started = time.perf_counter()
        self.pipeline = None
        self.error: str | None = None
        self.input_error = False
        try:
            self.pipeline = StereoDiffPipeline.from_config(config)
        except Exception as err:  # reported by ready(); the driver stops this worker
            self.error = " ".join(str(err).split()) or type(err).__name__
            self.input_error = isinstance(err, (InputError, ValueError))
        self.build_s = time.perf_counter() - started

    def ready(self) -> dict[str, Any]:
        """Where this worker runs, how long the pipeline took to build, and the build error if any."""
        return {"worker": this_worker(), "build_s": self.build_s, "error": self.error, "input_error": self.input_error}

    def process(self, request: RunRequest) -> dict[str, Any]:
        """Run one video; its summary row (status failed, with the error, when the video raised)."""
        return process_video(request, self.pipeline)


def run_ray(
    inputs: list[str],
    output: str | Path,
    config: Any = "auto",
    *,
    address: str | None = None,
    workers: int | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float | None = None,
    retries: int = 2,
    redo: bool = False,
    **options: Any,
) -> BatchResult:
    """Process ``inputs`` on a Ray cluster, one video per task, on ``workers`` actors.

    Finished videos are skipped (unless ``redo``), interrupted ones resume from their run cache; a video that
    fails is recorded with its error and the others go on. The driver writes ``output/batch_summary.jsonl`` (one
    row per input, see :mod:`stereodiff.batch.jobs`) and logs ``[done/total videos, ETA]`` as videos finish.

    Args:
        inputs: videos, image folders, or ``.txt`` lists of them (same paths on every node).
        output: folder receiving one subfolder per input (shared storage on a multi-node cluster).
        config: a PipelineConfig or a preset name (``auto`` is resolved here, on the driver).
        address: ``None`` → join the cluster of ``ray.init`` already called in this process, or of
            ``$RAY_ADDRESS``, else start a local one (on 127.0.0.1 unless Ray was imported before); ``"auto"`` or
            ``"HOST:PORT"`` → join that running cluster (``ray start --head``).
        workers: number of actors; default: as many as the cluster's CPUs/GPUs hold, at most one per video.
        cpus_per_worker: CPUs reserved per actor (also its torch/OpenMP thread count).
        gpus_per_worker: GPUs per actor (fractions share a GPU); default 1 when the device is ``cuda``, 0 for
            ``cpu``, and for ``auto`` 1 if the cluster has GPUs.
        retries: times a video is re-run after its worker process died (the actor is restarted each time).
        redo: recompute inputs whose output is already finished.
        **options: per-video RunRequest fields: ``save``, ``frames``, ``stride``, ``max_frames``, ``max_res``,
            ``fps``, ``keep_cache``, ``colormap``.

    Returns:
        The summary rows (input order), the summary path, and each worker's start-up times.

    Raises:
        InputError: Ray missing, bad sizes, an unreachable cluster, workers that do not fit, or a pipeline that no
            worker could build (e.g. missing weights).
    """
    ray = import_ray(local=address is None and not os.environ.get("RAY_ADDRESS"))
    _check_sizes(workers, cpus_per_worker, gpus_per_worker, retries)
    output = Path(output)
    template = make_template(config, options)
    everything = expand_inputs(inputs)
    todo, skipped = plan_batch(everything, output, template, redo=redo)
    logger.info("ray: %d inputs, %d to do", len(everything), len(todo))
    workers_up: list[dict[str, Any]] = []
    with _cluster(ray, address) if todo else nullcontext():
        if todo:  # sizes are checked before anything is written
            gpus = _gpus_per_worker(ray, template.config.device, gpus_per_worker)
            count = _worker_count(ray, workers, cpus_per_worker, gpus, len(todo))
        summary = SummaryWriter(output / SUMMARY_NAME, [Path(item).absolute() for item in everything], skipped)
        try:
            if todo:
                workers_up = _run(ray, todo, summary, template.config, count, cpus_per_worker, gpus, retries)
        finally:
            rows = summary.close()
    return BatchResult(rows, summary.path, workers_up)


def _check_sizes(workers: int | None, cpus: float, gpus: float | None, retries: int) -> None:
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be ≥ 1, got {workers}", "e.g. --workers 4, or leave it out")
    if cpus <= 0:
        raise InputError(f"--cpus-per-worker must be > 0, got {cpus}", "e.g. --cpus-per-worker 4")
    if gpus is not None and gpus < 0:
        raise InputError(f"--gpus-per-worker must be ≥ 0, got {gpus}", "e.g. --gpus-per-worker 1 (or 0.5 to share)")
    if retries < 0:
        raise InputError(f"--retries must be ≥ 0, got {retries}", "e.g. --retries 2")


@contextmanager
def _cluster(ray: Any, address: str | None) -> Iterator[None]:
    """Connected to the cluster for the block; a local cluster started here is shut down after it."""
    import logging

    if address is None and ray.is_initialized():
        yield
        return
    address = address or os.environ.get("RAY_ADDRESS")
    quiet = {"logging_level": logging.WARNING, "include_dashboard": False}
    try:
        if address:
            ray.init(address=address, **quiet)
        else:
            ray.init(object_store_memory=LOCAL_OBJECT_STORE_BYTES, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise InputError(
            f"cannot connect to {where} ({' '.join(str(err).split())[:200]})",
            "start one with `ray start --head` (see docs/batch.md), or leave out --address for a local cluster",
        ) from None
    try:
        yield
    finally:
        ray.shutdown()


def _gpus_per_worker(ray: Any, device: str, requested: float | None) -> float:
    """GPUs each actor reserves; a CUDA device needs at least a fraction of one (Ray sets CUDA_VISIBLE_DEVICES)."""
    if device.startswith("cuda:"):
        raise InputError(
            f"--device {device} names a GPU, but Ray assigns each worker its own",
            "pass --device cuda and size workers with --gpus-per-worker",
        )
    if requested is not None:
        gpus = requested
    elif device == "cuda" or (device == "auto" and ray.cluster_resources().get("GPU", 0) > 0):
        gpus = 1.0
    else:
        gpus = 0.0
    if device == "cuda" and gpus == 0:
        raise InputError("--device cuda with --gpus-per-worker 0 gives the workers no GPU", "pass --gpus-per-worker 1")
    return gpus


def _worker_count(ray: Any, requested: int | None, cpus: float, gpus: float, videos: int) -> int:
    """The number of actors: ``requested`` if the cluster holds them, else as many as fit (≤ one per video)."""
    resources = ray.cluster_resources()
    fit = int(resources.get("CPU", 0) // cpus)
    if gpus > 0:
        fit = min(fit, int(resources.get("GPU", 0) // gpus))
    if (requested is not None and requested > fit) or fit == 0:
        have = f"{resources.get('CPU', 0):g} CPUs and {resources.get('GPU', 0):g} GPUs"
        raise InputError(
            f"{requested or 1} workers × ({cpus:g} CPUs, {gpus:g} GPUs) do not fit the cluster's {have}",
            f"use --workers {max(fit, 1)} or smaller --cpus-per-worker / --gpus-per-worker",
        )
    return min(requested or fit, videos)


def _run(
    ray: Any,
    todo: list[RunRequest],
    summary: SummaryWriter,
    config: Any,
    count: int,
    cpus: float,
    gpus: float,
    retries: int,
) -> list[dict[str, Any]]:
    """Start ``count`` actors, give each a video whenever it is free, record every row; returns the workers that
    came up, with their start-up times."""
    actor_class = ray.remote(VideoWorker).options(
        num_cpus=cpus, num_gpus=gpus, max_restarts=-1, max_task_retries=retries
    )
    asked = time.perf_counter()
    actors = [actor_class.remote(config) for _ in range(count)]
    logger.info("ray: starting %d workers (%g CPUs, %g GPUs each)", count, cpus, gpus)
    queue = deque(todo)
    pending: dict[Any, tuple[Any, RunRequest | None]] = {actor.ready.remote(): (actor, None) for actor in actors}
    workers_up: list[dict[str, Any]] = []
    build_errors: list[dict[str, Any]] = []
    try:
        while pending and (queue or any(request is not None for _, request in pending.values())):
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            actor, request = pending.pop(ref)
            if request is None:  # a worker came up (or could not build the pipeline)
                info = _collect_ready(ray, ref)
                if info["error"]:
                    logger.warning("ray: worker %s could not build the pipeline: %s", info["worker"], info["error"])
                    build_errors.append(info)
                    ray.kill(actor)
                    continue
                workers_up.append(
                    {"worker": info["worker"], "start_s": time.perf_counter() - asked, "build_s": info["build_s"]}
                )
                logger.info("ray: worker %s ready after %.1f s", info["worker"], workers_up[-1]["start_s"])
            else:
                summary.add(_collect(ray, ref, request, retries))
            if queue:
                next_request = queue.popleft()
                pending[actor.process.remote(next_request)] = (actor, next_request)
    finally:
        for actor in actors:
            ray.kill(actor)
    if queue:  # no worker could take them
        first = build_errors[0] if build_errors else {"error": "no worker started", "input_error": False}
        error = InputError if first["input_error"] else RuntimeError
        raise error(f"no Ray worker could build the pipeline: {first['error']}")
    return workers_up


def _collect(ray: Any, ref: Any, request: RunRequest, retries: int) -> dict[str, Any]:
    """The row a worker returned, or a failed row when its process died on every attempt."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        reason = " ".join(str(err).split())[:300]
        attempts = f"{retries + 1} attempt{'s' if retries else ''}"
        row = failed_row(request, f"the worker died while processing it ({attempts}): {reason}")
        row["worker"] = None
        return row


def _collect_ready(ray: Any, ref: Any) -> dict[str, Any]:
    """What :meth:`VideoWorker.ready` returned, or the reason the actor never came up."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as err:
        return {"worker": "?", "error": " ".join(str(err).split())[:300], "input_error": False}
