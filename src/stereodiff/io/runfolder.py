"""Read a finished run folder (``stereodiff run`` output) frame by frame, for viewers.

Nothing is loaded up front except ``run.json``, the poses and the intrinsics (a few numbers per frame); frame
point clouds come from ``points/frame_NNNNNN.ply`` (``--save ply``) or, without them, are unprojected from
``depth.npz`` (memory-mapped) with the run's cameras. Memory therefore does not grow with the video length.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.camera import rigid_transform
from stereodiff.errors import InputError
from stereodiff.io.export import read_intrinsics, read_ply, read_tum_poses

__all__ = ["RunFolder"]


class RunFolder:
    """A finished run folder: cameras, per-frame and fused point clouds, loaded on demand.

    Attributes:
        path: the folder; report: its ``run.json``; num_frames: T; image_size: ``(H, W)`` of the source.
        cam_to_world: ``[T,4,4]`` float64 poses (OpenCV axes, scene unit).
        intrinsics: ``[T,3,3]`` float64 at ``image_size``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        run_json = self.path / "run.json"
        try:
            self.report: dict[str, Any] = json.loads(run_json.read_text())
        except (OSError, ValueError):
            raise InputError(
                f"{self.path} is not a stereodiff run folder (no readable run.json)",
                "pass the output folder (-o) of `stereodiff run`",
            ) from None
        if self.report.get("status") != "done":
            raise InputError(f"the run in {self.path} did not finish", "rerun it (stereodiff run --resume)")
        self.num_frames = int(self.report["num_frames"])
        self.image_size = (int(self.report["size_hw"][0]), int(self.report["size_hw"][1]))
        self.fps = float(self.report.get("fps") or 30.0)
        if not (self.path / "poses_tum.txt").is_file() or not (self.path / "intrinsics.json").is_file():
            raise InputError(
                f"{self.path} has no cameras (poses_tum.txt, intrinsics.json)",
                "rerun with --save including poses (and ply for coloured points)",
            )
        _, self.cam_to_world = read_tum_poses(self.path / "poses_tum.txt")
        self.intrinsics = read_intrinsics(self.path / "intrinsics.json")
        if len(self.cam_to_world) != self.num_frames or len(self.intrinsics) != self.num_frames:
            raise InputError(f"{self.path}: cameras and run.json disagree on the frame count", "rerun the video")
        self._depth: np.ndarray | None = None
        if not self.has_frame_clouds and not (self.path / "depth.npz").is_file():
            raise InputError(
                f"{self.path} has neither point clouds (points/) nor depth.npz",
                "rerun with --save ply (or npz) to view it",
            )

    @property
    def has_frame_clouds(self) -> bool:
        """True when the run saved per-frame coloured point clouds (``--save ply``)."""
        return (self.path / "points" / "frame_000000.ply").is_file()

    @property
    def has_fused_cloud(self) -> bool:
        return (self.path / "points" / "fused.ply").is_file()

    def frame_points(
        self, t: int, max_points: int | None = None, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Frame ``t``'s world points ``[N,3]`` float32 and colours ``[N,3]`` uint8 (``None`` when the run kept no
        colours), at most ``max_points`` (seeded random subsample)."""
        if not 0 <= t < self.num_frames:
            raise IndexError(f"frame {t} is outside 0..{self.num_frames - 1}")
        if self.has_frame_clouds:
            points, colors = read_ply(self.path / "points" / f"frame_{t:06d}.ply")
        else:
            points, colors = self._unproject(t), None
        if max_points is not None and len(points) > max_points:
            keep = np.sort(np.random.default_rng([seed, t]).choice(len(points), max_points, replace=False))
            points, colors = points[keep], None if colors is None else colors[keep]
        return points, colors

    def fused_points(self) -> tuple[np.ndarray, np.ndarray]:
        """The run's fused cloud ``points/fused.ply``: ``[N,3]`` float32 and ``[N,3]`` uint8."""
        if not self.has_fused_cloud:
            raise InputError(f"{self.path} has no fused cloud (points/fused.ply)", "rerun with --save ply")
        return read_ply(self.path / "points" / "fused.ply")

    def camera_depth(self, t: int, points: np.ndarray) -> np.ndarray:
        """Camera-z depth ``[N]`` of world ``points`` ``[N,3]`` in frame ``t``'s camera."""
        pose = self.cam_to_world[t]
        return ((points - pose[:3, 3]) @ pose[:3, :3])[:, 2]

    def _unproject(self, t: int) -> np.ndarray:
        """World points of the valid pixels of ``depth.npz`` frame ``t`` (depth runs only), every 2nd pixel."""
        if self._depth is None:
            from stereodiff.io.depth import load_depth_video

            video = load_depth_video(self.path / "depth.npz", mmap=True)
            if video.depth is None:
                raise InputError(
                    f"{self.path}/depth.npz holds disparity only (no metric-free 3-D)", "rerun with --save ply"
                )
            self._depth = video.depth
        z = np.asarray(self._depth[t, ::2, ::2], np.float64)
        v, u = np.mgrid[0 : self.image_size[0] : 2, 0 : self.image_size[1] : 2].astype(np.float64)
        k, pose = self.intrinsics[t], self.cam_to_world[t]
        keep = np.isfinite(z) & (z > 0)
        cam = np.stack([(u - k[0, 2]) / k[0, 0] * z, (v - k[1, 2]) / k[1, 1] * z, z], -1)[keep]
        return rigid_transform(cam, pose).astype(np.float32)
