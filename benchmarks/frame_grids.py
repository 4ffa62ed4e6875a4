"""Before/after frame grids of the ``cpu`` preset on the real dynamic videos (docs figures, no ground truth).

For ``../shared/data/videos/lady-running.mp4`` and ``davis_rollercoaster.mp4``: three evenly spaced frames, each row
``RGB | depth before | depth after`` (inverse depth, one colour range per video and variant, near = bright), where
*before* is the ``cpu`` preset of the git revision ``--before`` (default ``e55d299``, main when issue #20's second
session began: the defaults of the issue's "before" table), run from a temporary worktree of that revision, and
*after* the ``cpu`` preset of this working tree (``--set KEY=VALUE`` overrides, as ``stereodiff run --set``).
Writes ``docs/img/grid-<video>.png`` (frames at 135 px high).

    python benchmarks/frame_grids.py [--before REV] [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import ROOT, SHARED_DATA

VIDEOS = ("lady-running.mp4", "davis_rollercoaster.mp4")
ROWS = 3
HEIGHT = 135
BEFORE = "e55d299"


def cpu_depth(video_path: Path, overrides: list[str]) -> np.ndarray:
    """``[T,H,W]`` final depth of the ``cpu`` preset of the importable ``stereodiff`` on the video."""
    from stereodiff.config import preset_config, set_option
    from stereodiff.io.video import read_video
    from stereodiff.pipeline import StereoDiffPipeline

    config = preset_config("cpu")
    for item in overrides:
        key, _, value = item.partition("=")
        set_option(config, key, value)
    return np.asarray(StereoDiffPipeline.from_config(config)(read_video(video_path)).depth)


def depth_at_revision(revision: str, video_path: Path) -> np.ndarray:
    """``cpu_depth`` computed by the code of git ``revision`` (a temporary worktree; this script runs there as a
    child with that revision's ``src`` first on the path)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree, out = Path(tmp) / "tree", Path(tmp) / "depth.npy"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), revision], check=True,
                       capture_output=True)  # fmt: skip
        try:
            env = {**os.environ, "PYTHONPATH": str(tree / "src")}
            subprocess.run([sys.executable, __file__, "--child", str(video_path), str(out)], check=True, env=env)
            return np.load(out)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)


def grid(frames: np.ndarray, depths: dict[str, np.ndarray]) -> np.ndarray:
    """``[ROWS·HEIGHT, 3·W', 3]`` uint8: per picked frame, RGB | each depth variant, coloured with one range each."""
    import cv2

    from stereodiff.io.visualize import colorize, colormap_lut, robust_range

    lut = colormap_lut("inferno")
    picks = np.linspace(0, len(frames) - 1, ROWS).round().astype(int)
    width = round(frames.shape[2] * HEIGHT / frames.shape[1])
    ranges = {k: robust_range(v, "depth") for k, v in depths.items()}
    rows = []
    for k in picks:
        tiles = [frames[k]] + [colorize(v[k], *ranges[name], lut, "depth") for name, v in depths.items()]
        rows.append(np.hstack([cv2.resize(t, (width, HEIGHT), interpolation=cv2.INTER_AREA) for t in tiles]))
    return np.vstack(rows)


def main() -> int:
    import cv2

    from stereodiff.io.video import read_video

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help=f"git revision of the 'before' column (default {BEFORE})")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--child", nargs=2, metavar=("VIDEO", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        np.save(args.child[1], cpu_depth(Path(args.child[0]), []))
        return 0
    out_dir = ROOT / "docs" / "img"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in VIDEOS:
        path = SHARED_DATA / "videos" / name
        if not path.is_file():
            print(f"skipped {name}: {path} is absent")
            continue
        frames = np.ascontiguousarray(read_video(path).frames)
        depths = {"before": depth_at_revision(args.before, path), "after": cpu_depth(path, args.overrides)}
        image = grid(frames, depths)
        target = out_dir / f"grid-{path.stem}.png"
        cv2.imwrite(str(target), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {target} ({image.shape[1]}×{image.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
