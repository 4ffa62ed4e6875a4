"""``stereodiff app``: the local web app (Gradio; extra ``app``)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app",
        help="local web app: upload a video, get depth videos, a 3-D view and downloads",
        description="Serve the stereodiff web app (Gradio) on HOST:PORT; localhost only unless --host says otherwise.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link (off by default)")
    parser.add_argument("--workdir", type=Path, help="working folder for uploads and results (default: a temp folder)")
    parser.add_argument("--max-upload-mb", type=int, default=200, help="largest upload (default 200 MB)")
    parser.add_argument("--max-frames", type=int, default=300, help="most frames per job (default 300)")
    parser.add_argument("--max-res", type=int, default=1024, help="largest working resolution (default 1024 px)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stereodiff.backends import require_extra
    from stereodiff.errors import InputError

    require_extra("app", "stereodiff app")
    from stereodiff.app.jobs import AppLimits
    from stereodiff.app.ui import StereodiffApp
    from stereodiff.cli.view import stop_on_sigterm

    if min(args.max_upload_mb, args.max_frames, args.max_res) < 1:
        raise InputError("--max-upload-mb, --max-frames and --max-res must be ≥ 1", "pass positive limits")
    limits = AppLimits(max_upload_mb=args.max_upload_mb, max_frames=args.max_frames, max_res=args.max_res)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="stereodiff-app-"))
    stop_on_sigterm()
    try:
        app = StereodiffApp(workdir, limits)
        print(f"stereodiff app: http://{args.host}:{args.port} (working folder {app.workdir}; Ctrl+C stops)")
        app.launch(args.host, args.port, share=args.share, block=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0
