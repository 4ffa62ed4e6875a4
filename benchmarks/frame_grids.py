"""Before/after frame grids of the ``cpu`` preset on the real dynamic videos (docs figures, no ground truth).

For ``../shared/data/videos/lady-running.mp4`` and ``davis_rollercoaster.mp4``: three evenly spaced frames, each row
``RGB | depth before | depth after`` (inverse depth, one colour range per video and variant, near = bright), where
*before* is the ``cpu`` preset without the moving-object handling and with the plain-mean hole fill
(``stage1.movers=false``, ``stage2.hole_nearness=0``) and *after* the ``cpu`` preset with the moving-object
handling and the occlusion-aware fill switched on (``stage1.movers=true``, ``stage2.hole_nearness=10``). Writes
``docs/img/grid-<video>.png`` (frames at 135 px high).

    python benchmarks/frame_grids.py
"""

from __future__ import annotations

import sys

import numpy as np

from _common import ROOT, SHARED_DATA

VIDEOS = ("lady-running.mp4", "davis_rollercoaster.mp4")
ROWS = 3
HEIGHT = 135


def depth_variants(frames: np.ndarray, fps: float) -> dict[str, np.ndarray]:
    """``[T,H,W]`` final depth of the ``cpu`` preset before / after the moving-object and hole-fill changes."""
    import dataclasses

    from stereodiff.config import preset_config
    from stereodiff.pipeline import StereoDiffPipeline
    from stereodiff.types import Video

    out = {}
    for label, movers, nearness in (("before", False, 0.0), ("after", True, 10.0)):  # after: both opted in
        config = preset_config("cpu")
        config.stage1 = dataclasses.replace(config.stage1, movers=movers)
        config.stage2 = dataclasses.replace(config.stage2, hole_nearness=nearness)
        result = StereoDiffPipeline.from_config(config)(Video(frames, fps=fps))
        out[label] = np.asarray(result.depth)
    return out


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

    out_dir = ROOT / "docs" / "img"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in VIDEOS:
        path = SHARED_DATA / "videos" / name
        if not path.is_file():
            print(f"skipped {name}: {path} is absent")
            continue
        video = read_video(path)
        frames = np.ascontiguousarray(video.frames)
        image = grid(frames, depth_variants(frames, video.fps))
        target = out_dir / f"grid-{path.stem}.png"
        cv2.imwrite(str(target), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        print(f"wrote {target} ({image.shape[1]}×{image.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
