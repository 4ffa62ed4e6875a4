"""``stereodiff view OUT/``: the 4-D viewer of a run folder (viser; extra ``app``)."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "view",
        help="4-D viewer of a run folder: point clouds over time, cameras, trajectory (in the browser)",
        description="Serve a viser viewer of OUT (a `stereodiff run` output folder). Frames load on demand, so long "
        "runs open quickly and in bounded memory. Open the printed address in a browser.",
    )
    parser.add_argument("run_folder", type=Path, metavar="OUT", help="run folder (stereodiff run -o OUT)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    parser.add_argument("--max-points", type=int, default=50_000, help="points per frame shown (default 50000)")
    parser.add_argument("--cache-frames", type=int, default=64, help="frames kept loaded at once (default 64)")
    parser.set_defaults(func=run)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Let SIGTERM (``kill``, service managers) stop a server like Ctrl+C does, so its clean-up runs."""
    signal.signal(signal.SIGTERM, _interrupt)


def run(args: argparse.Namespace) -> int:
    from stereodiff.backends import require_extra
    from stereodiff.errors import InputError
    from stereodiff.io.runfolder import RunFolder

    require_extra("app", "stereodiff view")
    if args.max_points < 1 or args.cache_frames < 2:
        raise InputError("--max-points must be ≥ 1 and --cache-frames ≥ 2", "pass larger values")
    run_folder = RunFolder(args.run_folder)  # bad folders fail before the server starts
    import viser

    from stereodiff.app.viewer import RunViewer

    server = viser.ViserServer(host=args.host, port=args.port, verbose=False)
    viewer = RunViewer(run_folder, server, max_points=args.max_points, cache_frames=args.cache_frames)
    print(f"stereodiff view: http://{args.host}:{server.get_port()} ({run_folder.num_frames} frames; Ctrl+C stops)")
    stop_on_sigterm()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        viewer.close()
        server.stop()
    return 0
