"""One batch, whatever runs it: the per-video requests, what to skip, one summary row per video, the summary file.

Both engines (:mod:`stereodiff.batch.local` for ``--shard i/N`` and :mod:`stereodiff.batch.ray_engine`) plan with
:func:`plan_batch`, process each video with :func:`process_video` (the same :func:`~stereodiff.runs.run_video`
as ``stereodiff run``) and record rows with :class:`SummaryWriter`.

A summary row (one JSON object per line of ``batch_summary.jsonl``)::

    input        the input path (absolute)
    output       its output folder (absolute)
    status       done | skipped (finished by an earlier run) | failed
    frames       number of frames processed (null when failed)
    timings_s    seconds per stage, as in run.json: load_models, decode, stage1, stage2, export, total
    frames_per_s frames / total seconds of the run that made the output
    resumed      true when an interrupted earlier attempt's run cache was reused
    worker       host:pid of the process that ran it (null when skipped)
    error        one-line error message (null unless failed)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stereodiff.batch.inputs import output_names
from stereodiff.errors import InputError
from stereodiff.progress import logger
from stereodiff.runs import RunRequest, is_finished

__all__ = ["BatchResult", "SummaryWriter", "failed_row", "plan_batch", "process_video"]

SUMMARY_NAME = "batch_summary.jsonl"


@dataclass
class BatchResult:
    """What a batch did: one summary row per input it was given (in input order) and where the summary is."""

    rows: list[dict[str, Any]]
    summary_path: Path
    workers: list[dict[str, Any]] = field(default_factory=list)
    """Ray engine, per worker that came up: ``worker`` (host:pid), ``start_s`` (from asking for it until it was
    ready: process start + imports + pipeline build) and ``build_s`` (the pipeline build alone)."""

    def count(self, status: str) -> int:
        return sum(row["status"] == status for row in self.rows)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if row["status"] == "failed"]


def make_template(config: Any, options: dict[str, Any]) -> RunRequest:
    """A RunRequest carrying ``config`` and the per-video options (``save``, ``max_res``, ...) of every video."""
    from stereodiff.config import PipelineConfig, preset_config

    if isinstance(config, str):
        config = preset_config(config)
    if not isinstance(config, PipelineConfig):
        raise TypeError(f"config must be a PipelineConfig or a preset name, got {type(config).__name__}")
    allowed = {f.name for f in dataclasses.fields(RunRequest)} - {"input", "output", "config", "resume"}
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unknown per-video options {sorted(unknown)}")
    return RunRequest(input=Path(), output=Path(), config=config.validate(), **options)


def plan_batch(
    inputs: list[str], output: Path, template: RunRequest, *, redo: bool = False, mine: list[str] | None = None
) -> tuple[list[RunRequest], list[dict[str, Any]]]:
    """The requests still to run, and the rows of inputs finished by an earlier run (skipped).

    Output folder names come from all of ``inputs`` (so every shard agrees on them); ``mine`` restricts the work
    to a subset (a shard). Paths become absolute, so workers on other machines find them on shared storage.
    Every request has ``resume=True``: an interrupted earlier attempt continues from its run cache.

    Raises:
        InputError: when ``output`` cannot be created or written.
    """
    from stereodiff.io.files import ensure_writable_dir

    ensure_writable_dir(output)
    names = output_names(inputs)
    todo: list[RunRequest] = []
    skipped: list[dict[str, Any]] = []
    for item in inputs if mine is None else mine:
        request = dataclasses.replace(
            template, input=Path(item).absolute(), output=(output / names[item]).absolute(), resume=True
        )
        if redo or not is_finished(request.output):
            todo.append(request)
            continue
        report = json.loads((request.output / "run.json").read_text())
        made_from = Path(report.get("input", "")).absolute()
        if made_from == request.input:
            skipped.append(_row(request, "skipped", report=report))
        else:
            message = f"{request.output} holds the outputs of another input ({made_from})"
            skipped.append(failed_row(request, f"{message}; write to another -o folder, or pass --redo"))
    return todo, skipped


def process_video(request: RunRequest, pipeline: Any) -> dict[str, Any]:
    """Run one video with ``pipeline`` (as ``stereodiff run`` does); its summary row, failed when anything raised.

    Any exception is caught and recorded: one video never stops the others. Outputs are atomic and ``run.json``
    (status ``done``) is written last, so a video whose run fails or is killed is never taken as finished.
    """
    from stereodiff.runs import run_video

    resumed = (request.output / ".run" / "request.json").is_file()
    if resumed:  # temporary files of an attempt that was killed (only one process works on an output at a time)
        for stale in request.output.glob(".*.tmp-*"):
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    try:
        report = run_video(request, pipeline)
    except Exception as err:
        return failed_row(request, _one_line(err), resumed=resumed)
    return _row(request, "done", report=report, resumed=resumed)


def failed_row(request: RunRequest, error: str, *, resumed: bool = False) -> dict[str, Any]:
    """The summary row of a video that failed with ``error``."""
    return _row(request, "failed", resumed=resumed, error=error)


def this_worker() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _row(
    request: RunRequest,
    status: str,
    *,
    report: dict[str, Any] | None = None,
    resumed: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    report = report or {}
    return {
        "input": str(request.input),
        "output": str(request.output),
        "status": status,
        "frames": report.get("num_frames"),
        "timings_s": report.get("timings_s"),
        "frames_per_s": report.get("frames_per_s"),
        "resumed": resumed,
        "worker": this_worker() if status != "skipped" else None,
        "error": error,
    }


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text if isinstance(err, InputError) else f"{type(err).__name__}: {text}" if text else type(err).__name__


class SummaryWriter:
    """Collects summary rows as videos finish, logs progress with an ETA, writes ``batch_summary.jsonl``.

    Rows are appended to a hidden ``.part`` file as they come (``tail -f`` it to watch a long batch); :meth:`close`
    writes the final file atomically, in input order, and removes the ``.part``.
    """

    def __init__(self, path: Path, inputs: list[Path], skipped: list[dict[str, Any]]) -> None:
        self.path = Path(path)
        self.order = {str(p): k for k, p in enumerate(inputs)}
        self.part = self.path.with_name(f".{self.path.name}.part")
        self.rows: list[dict[str, Any]] = []
        self.total = len(inputs) - len(skipped)
        self.finished = 0
        self.failures = 0
        self.started = time.perf_counter()
        self.part.parent.mkdir(parents=True, exist_ok=True)
        self.part.write_text("")
        for row in skipped:
            self.add(row, counts=False)

    def add(self, row: dict[str, Any], *, counts: bool = True) -> None:
        """Record ``row``; for a video processed by this batch, log ``[done/total]`` with the ETA."""
        self.rows.append(row)
        with self.part.open("a") as part:
            part.write(json.dumps(row) + "\n")
        if not counts:
            return
        self.finished += 1
        self.failures += row["status"] == "failed"
        elapsed = time.perf_counter() - self.started
        eta = elapsed / self.finished * (self.total - self.finished)
        what = f"failed: {row['error']}" if row["status"] == "failed" else f"{row['frames']} frames"
        logger.info(
            "[%d/%d videos, %d failed, ETA %s] %s: %s",
            self.finished,
            self.total,
            self.failures,
            _clock(eta),
            Path(row["input"]).name,
            what,
        )

    def close(self) -> list[dict[str, Any]]:
        """Write the summary (input order) atomically; returns its rows."""
        from stereodiff.io.files import atomic_file

        rows = sorted(self.rows, key=lambda row: self.order.get(row["input"], len(self.order)))
        with atomic_file(self.path) as tmp:
            tmp.write_text("".join(json.dumps(row) + "\n" for row in rows))
        self.part.unlink(missing_ok=True)
        return rows


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
