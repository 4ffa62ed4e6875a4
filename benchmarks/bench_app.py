"""Startup of ``stereodiff app`` and ``stereodiff view``, and the viewer's memory over a whole 1,000-frame run.

The run folders are made by the exporters of ``stereodiff run`` (per-frame PLY, fused PLY, TUM poses, intrinsics,
``run.json``) from the exact geometry of a rendered synthetic scene (``indoor-dynamic``, 320×240, 76,800 points per
frame): 50 rendered frames cycled to the wanted length, since the viewer's cost depends on the number and size of
the frames, not on their content. Each measurement runs in a fresh subprocess:

- viewer startup: from process start to the printed address (the server answers and frame 0 is in the scene);
- viewer memory: RunViewer steps through every frame (as playback does, prefetch off) and the child prints its
  RSS after 10 %, 50 % and 100 % of the frames, and its peak RSS;
- app startup: from process start to the first HTTP 200 of the page.

    python benchmarks/bench_app.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from _common import markdown_table, peak_rss_mib, write_section

BASE_FRAMES, HEIGHT, WIDTH = 50, 240, 320


def make_run_folder(out: Path, num_frames: int) -> Path:
    """A finished run folder of ``num_frames`` frames (see the module docstring)."""
    from stereodiff.io.export import fused_points, write_intrinsics, write_ply, write_tum_poses
    from stereodiff.synth import make_scene
    from stereodiff.types import SceneGeometry

    scene = make_scene("indoor-dynamic", seed=0, num_frames=BASE_FRAMES, height=HEIGHT, width=WIDTH)
    t = BASE_FRAMES
    geometry = SceneGeometry(
        depth=scene.depth,
        confidence=np.full(scene.depth.shape, 10.0, np.float32),
        focal=np.full(t, scene.K[0, 0]),
        principal_point=np.tile(scene.K[:2, 2], (t, 1)),
        cam_to_world=scene.cam_to_world,
    )
    points_dir = out / "points"
    from stereodiff.io.export import frame_points

    for i in range(BASE_FRAMES):
        write_ply(points_dir / f"frame_{i:06d}.ply", *frame_points(geometry, i, scene.frames[i]))
    for i in range(BASE_FRAMES, num_frames):
        shutil.copyfile(points_dir / f"frame_{i % BASE_FRAMES:06d}.ply", points_dir / f"frame_{i:06d}.ply")
    write_ply(points_dir / "fused.ply", *fused_points(geometry, scene.frames, max_points=2_000_000))
    cycle = np.arange(num_frames) % BASE_FRAMES
    write_tum_poses(out / "poses_tum.txt", scene.cam_to_world[cycle], np.arange(num_frames) / 30.0)
    write_intrinsics(out / "intrinsics.json", np.tile(scene.K, (num_frames, 1, 1)), (HEIGHT, WIDTH))
    report = {"status": "done", "num_frames": num_frames, "size_hw": [HEIGHT, WIDTH], "fps": 30.0}
    (out / "run.json").write_text(json.dumps(report))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def viewer_startup_s(run: Path) -> float:
    """Seconds from ``stereodiff view RUN`` starting to its printed address (server up, frame 0 shown)."""
    command = [sys.executable, "-m", "stereodiff", "view", str(run), "--port", str(_free_port())]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in process.stdout:
            if line.startswith("stereodiff view:"):
                return time.perf_counter() - started
        raise RuntimeError(f"stereodiff view exited with {process.wait()}")
    finally:
        _stop(process)


def app_startup_s(workdir: Path) -> float:
    """Seconds from ``stereodiff app`` starting to the first HTTP 200 of its page."""
    port = _free_port()
    command = [sys.executable, "-m", "stereodiff", "app", "--port", str(port), "--workdir", str(workdir)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"stereodiff app exited with {process.returncode}")
    finally:
        _stop(process)


def import_gradio_s() -> float:
    """Seconds for a fresh Python to ``import gradio`` (the floor of the app's startup)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import gradio"], check=True, capture_output=True)
    return time.perf_counter() - started


def _memory_child(run: str) -> None:
    """Step the viewer through every frame; print RSS (MiB) after 10 %, 50 %, 100 % and the peak, as JSON."""
    import psutil
    import viser

    from stereodiff.app.viewer import RunViewer
    from stereodiff.io.runfolder import RunFolder

    server = viser.ViserServer(host="127.0.0.1", port=_free_port(), verbose=False)
    opened = time.perf_counter()
    folder = RunFolder(run)
    viewer = RunViewer(folder, server, prefetch=False)
    open_s = time.perf_counter() - opened
    marks = {max(1, folder.num_frames // 10): "rss_10", folder.num_frames // 2: "rss_50", folder.num_frames: "rss_100"}
    result, started = {}, time.perf_counter()
    for t in range(folder.num_frames):
        viewer.show(t)
        if t + 1 in marks:
            result[marks[t + 1]] = psutil.Process().memory_info().rss / 2**20
    result["frames_per_s"] = folder.num_frames / (time.perf_counter() - started)
    result["open_s"] = open_s
    result["peak"] = peak_rss_mib()
    result["loaded"] = len(viewer.loaded_frames())
    viewer.close()
    server.stop()
    print(json.dumps(result))


def viewer_memory(run: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(run)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 and 300 frames instead of 100 and 1,000")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        _memory_child(args.memory_child)
        return
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    lengths = (100, 300) if args.quick else (100, 1000)
    rows_view, rows_mem = [], []
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        runs = {n: make_run_folder(Path(tmp) / f"run{n}", n) for n in lengths}
        startups: dict[int, list[float]] = {n: [] for n in lengths}
        for _ in range(3):  # interleaved, so a burst of load on the shared machine hits both lengths alike
            for n in lengths:
                startups[n].append(viewer_startup_s(runs[n]))
        for n in lengths:
            mem = viewer_memory(runs[n])
            rows_view.append([f"{n} frames", float(np.median(startups[n])), min(startups[n]), mem["open_s"]])
            rows_mem.append([f"{n} frames", mem["rss_10"], mem["rss_50"], mem["rss_100"], mem["peak"], mem["loaded"],
                             mem["frames_per_s"]])  # fmt: skip
            print(rows_view[-1], rows_mem[-1], flush=True)
        app = [app_startup_s(Path(tmp) / f"app{i}") for i in range(3)]
        gradio = [import_gradio_s() for _ in range(3)]
    body = (
        "The machine was shared by up to 8 helpers running tests and benchmarks at the same time, so absolute "
        "times are contended; compare the rows of one run. Run folders: exporter output from a rendered scene "
        "(320×240, 76,800 points per frame, see `benchmarks/bench_app.py`).\n\n"
        "### Startup (process start → serving; median and best of 3, interleaved)\n\n"
        "`open` is the part that could grow with the run: reading the run folder and putting frame 0, the cameras "
        "and the trajectory in the scene (in-process, imports excluded).\n\n"
        + markdown_table(["stereodiff view", "median (s)", "best (s)", "open (s)"], rows_view)
        + "\n\n"
        + markdown_table(
            ["stereodiff app", "median (s)", "best (s)"],
            [
                ["page answers", float(np.median(app)), min(app)],
                ["`import gradio` alone (floor)", float(np.median(gradio)), min(gradio)],
            ],
        )
        + "\n\nThe app's startup does not depend on any run (it opens no run folder until a job finishes)."
        + "\n\n### Viewer memory over a whole playthrough (50,000 points per frame, 64 frames cached)\n\n"
        "Memory stops growing once the cache holds its 64 frames: the 1,000-frame run ends where the 100-frame run "
        "does. `frames/s`: frames shown per second when stepping through (read PLY, subsample, send to the scene), "
        "contended.\n\n"
        + markdown_table(
            ["run", "RSS at 10 % (MiB)", "at 50 %", "at 100 %", "peak (MiB)", "frames in scene", "frames/s"], rows_mem
        )
    )
    write_section("app", "Web app and 4-D viewer: startup and memory", body, "python benchmarks/bench_app.py")
    print(body)


if __name__ == "__main__":
    main()
