"""The Gradio page of ``stereodiff app``: video in; side-by-side and depth videos, a 3-D view and downloads out.

One job runs at a time (Gradio queue, concurrency 1); the page shows the pipeline's own per-stage progress, a
job can be cancelled, bad input gives a message in the page and the app keeps serving. Everything the app writes
(uploads, examples, job folders) lives in its working folder; finished job folders beyond the last few are
deleted, cancelled or failed ones at once, and a temporary working folder is removed when the app stops.
"""

# no `from __future__ import annotations`: Gradio reads the handlers' annotations (gr.Request) at run time
import os
import shutil
import threading
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from stereodiff.app.jobs import (
    EXAMPLES,
    AppLimits,
    JobCancelled,
    JobOptions,
    frame_glb,
    job_listener,
    prepare_input,
    run_job,
)
from stereodiff.errors import InputError
from stereodiff.progress import logger, progress_listener

__all__ = ["StereodiffApp"]

COLORMAPS = ("inferno", "turbo", "viridis", "magma", "gray")
STATUS_ID = "status"


class StereodiffApp:
    """The web app over one working folder.

    Args:
        workdir: where uploads, examples and job folders go (created); nothing outside it is read or served.
        limits: upload size, frames and resolution a request may use.
        keep_jobs: finished job folders kept for their downloads (older ones are deleted).
    """

    def __init__(self, workdir: Path, limits: AppLimits | None = None, keep_jobs: int = 4) -> None:
        self.workdir = Path(workdir).resolve()
        self.limits = limits or AppLimits()
        self.jobs_dir = self.workdir / "jobs"
        self.examples_dir = self.workdir / "examples"
        for folder in (self.jobs_dir, self.examples_dir, self.workdir / "uploads"):
            folder.mkdir(parents=True, exist_ok=True)
        # Gradio keeps uploads and its file cache here, so every file the server touches is in the working folder
        os.environ["GRADIO_TEMP_DIR"] = str(self.workdir / "uploads")
        os.environ["GRADIO_EXAMPLES_CACHE"] = str(self.workdir / "uploads" / "examples-cache")
        self._finished: deque[Path] = deque()
        self._keep_jobs = keep_jobs
        self._lock = threading.Lock()
        self._running: dict[str, threading.Event] = {}  # session → cancel flag of its running job
        self._one_job = threading.Lock()  # a cancelled job's thread finishes its step before the next job starts

    # ------------------------------------------------------------------------------------------- handlers

    def run(
        self,
        upload: str | None,
        example: str | None,
        preset: str,
        frames: str,
        max_frames: float | None,
        stride: float,
        max_res: float,
        colormap: str,
        request: Any = None,
        progress: Any = None,
    ) -> tuple:
        """One job; returns (status, side-by-side, depth video, 3-D view, frame slider, downloads, run folder)."""
        import gradio as gr

        session = getattr(request, "session_hash", None) or "local"
        job_dir = self.jobs_dir / uuid.uuid4().hex[:12]
        cancel = threading.Event()
        with self._lock:
            self._running[session] = cancel

        def on_progress(desc: str, done: int, total: int | None) -> None:
            if progress is not None:
                progress((done, total) if total else None, desc=desc)

        try:
            self._one_job.acquire()
            job_dir.mkdir(parents=True)
            with progress_listener(job_listener(on_progress, cancel)):  # rendering an example reports too
                source = prepare_input(upload, example, job_dir, self.examples_dir, self.limits)
            options = JobOptions(
                preset=preset,
                frames=(frames or "").strip(),
                max_frames=int(max_frames) if max_frames else None,
                stride=int(stride or 1),
                max_res=int(max_res or 512),
                colormap=colormap,
            )
            result = run_job(source, options, job_dir / "out", self.limits, on_progress, cancel)
        except JobCancelled:
            shutil.rmtree(job_dir, ignore_errors=True)
            return self._failed(gr, "Cancelled. Nothing was kept; start a new run when ready.")
        except (InputError, ValueError, FileNotFoundError) as err:
            shutil.rmtree(job_dir, ignore_errors=True)
            return self._failed(gr, f"Error: {' '.join(str(err).split())}")
        except Exception as err:  # the app keeps serving whatever one job does
            logger.exception("job failed")
            shutil.rmtree(job_dir, ignore_errors=True)
            return self._failed(gr, f"Unexpected error: {type(err).__name__}: {err}")
        finally:
            self._one_job.release()
            with self._lock:
                self._running.pop(session, None)
        self._keep(job_dir)
        report = result.report
        status = (
            f"Done: {result.num_frames} frames at {report['size_hw'][1]}×{report['size_hw'][0]}, preset "
            f"`{report['config']['preset']}`, {report['timings_s']['total']:.1f} s ({report['frames_per_s']} frames/s)."
        )
        slider = gr.update(minimum=0, maximum=result.num_frames - 1, value=0, step=1, interactive=True)
        return (
            status,
            str(result.side_by_side),
            str(result.depth_video),
            str(result.scene_glb),
            slider,
            [str(p) for p in result.downloads],
            str(result.output),
        )

    def _failed(self, gr, message: str) -> tuple:
        return message, None, None, None, gr.update(interactive=False), None, None

    def _keep(self, job_dir: Path) -> None:
        """Remember a finished job; delete the oldest beyond ``keep_jobs``."""
        with self._lock:
            self._finished.append(job_dir)
            while len(self._finished) > self._keep_jobs:
                shutil.rmtree(self._finished.popleft(), ignore_errors=True)

    def cancel(self, request: Any = None) -> str:
        session = getattr(request, "session_hash", None) or "local"
        with self._lock:
            flag = self._running.get(session)
        if flag is None:
            return "Nothing is running."
        flag.set()
        return "Cancelled: the job stops at its next step and its files are removed."

    def view(self, frame: float, fused: bool, output: str | None) -> str | None:
        """The 3-D view: the fused cloud, or frame ``frame``'s points, each with the camera path."""
        if not output:
            return None
        folder = self._job_output(output)
        return str(folder / "scene.glb") if fused else str(frame_glb(folder, int(frame)))

    def _job_output(self, output: str) -> Path:
        """``output`` if it is a job's run folder inside this app's working folder (never any other path)."""
        folder = Path(output).resolve()
        if folder.parent.parent != self.jobs_dir or folder.name != "out" or not folder.is_dir():
            raise InputError("that result is no longer available", "run the video again")
        return folder

    # ------------------------------------------------------------------------------------------- page

    def build(self):
        """The ``gr.Blocks`` page."""
        import gradio as gr

        from stereodiff.app.jobs import preset_status

        status = preset_status()
        usable = [name for name, reason in status.items() if reason is None]
        blocked = "\n".join(f"- `{name}` unavailable: {reason}" for name, reason in status.items() if reason)
        with gr.Blocks(title="stereodiff", delete_cache=(600, 3600)) as page:
            gr.Markdown(
                "# stereodiff\nTemporally consistent video depth (StereoDiff). Upload a video or a .zip of "
                f"frames (≤ {self.limits.max_upload_mb} MB, ≤ {self.limits.max_frames} frames), or pick an example."
            )
            output_state = gr.State(None)
            with gr.Row():
                with gr.Column(scale=1):
                    upload = gr.File(
                        label="Video or image archive",
                        file_types=[".mp4", ".mov", ".avi", ".mkv", ".webm", ".zip", ".tar", ".tgz", ".gz"],
                        type="filepath",
                        elem_id="upload",
                    )
                    example = gr.Dropdown([None, *EXAMPLES], value=None, label="…or a built-in example (synthetic)")
                    preset = gr.Dropdown(usable, value="cpu", label="Preset", elem_id="preset")
                    if blocked:
                        gr.Markdown(blocked)
                    with gr.Accordion("Frames and size", open=False):
                        frames = gr.Textbox(label="Frame range start:stop:step (empty = all)", value="")
                        max_frames = gr.Number(label="Max frames (empty = app limit)", value=None, precision=0,
                                               elem_id="max-frames")  # fmt: skip
                        stride = gr.Number(label="Stride", value=1, precision=0, minimum=1)
                        max_res = gr.Slider(64, self.limits.max_res, value=min(512, self.limits.max_res), step=32,
                                            label="Max resolution (long side, px)")  # fmt: skip
                    colormap = gr.Dropdown(list(COLORMAPS), value="inferno", label="Colour map")
                    with gr.Row():
                        run_button = gr.Button("Run", variant="primary", elem_id="run")
                        cancel_button = gr.Button("Cancel", elem_id="cancel")
                    message = gr.Markdown("Ready.", elem_id=STATUS_ID)
                with gr.Column(scale=2):
                    side_by_side = gr.Video(label="RGB | depth", elem_id="sbs", interactive=False, height=320)
                    depth_video = gr.Video(label="Depth", elem_id="depth", interactive=False, height=320)
            with gr.Row():
                with gr.Column(scale=2):
                    model = gr.Model3D(label="3-D view (points + camera path)", elem_id="model3d", height=420)
                with gr.Column(scale=1):
                    frame = gr.Slider(0, 1, value=0, step=1, label="Frame", interactive=False, elem_id="frame")
                    fused = gr.Checkbox(value=True, label="Fused cloud (all frames)", elem_id="fused")
                    downloads = gr.File(label="Downloads", file_count="multiple", elem_id="downloads")
            inputs = [upload, example, preset, frames, max_frames, stride, max_res, colormap]
            outputs = [message, side_by_side, depth_video, model, frame, downloads, output_state]
            job = run_button.click(self._run_handler(gr), inputs, outputs, concurrency_limit=1, concurrency_id="job")
            cancel_button.click(self._cancel_handler(gr), None, message, cancels=[job], queue=False)
            frame.release(self.view, [frame, fused, output_state], model, concurrency_id="view")
            fused.change(self.view, [frame, fused, output_state], model, concurrency_id="view")
        return page

    def _run_handler(self, gr):
        def handler(
            upload, example, preset, frames, max_frames, stride, max_res, colormap,
            request: gr.Request, progress=gr.Progress(),  # noqa: B008 (Gradio injects these by annotation)
        ):  # fmt: skip
            return self.run(upload, example, preset, frames, max_frames, stride, max_res, colormap, request, progress)

        return handler

    def _cancel_handler(self, gr):
        def handler(request: gr.Request):
            return self.cancel(request)

        return handler

    def launch(self, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True):
        """Start serving (one job at a time, a queue of 16); returns the Gradio app triple when not blocking."""
        page = self.build()
        page.queue(default_concurrency_limit=1, max_size=16)
        return page.launch(
            server_name=host,
            server_port=port,
            share=share,
            max_file_size=f"{self.limits.max_upload_mb}mb",
            allowed_paths=[str(self.jobs_dir)],
            prevent_thread_lock=not block,
            quiet=True,
            footer_links=[],
        )
