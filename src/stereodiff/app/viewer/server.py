"""A viser 4-D viewer of a run folder: per-frame point clouds over time, camera frustums and trajectory.

Frames load on demand: only the current frame and at most ``cache_frames`` recent or prefetched frames are in
the scene (and in memory), each subsampled to ``max_points``; a background thread prefetches the frames after the
current one. A 3,000-frame run therefore opens as fast as a 30-frame one and in the same memory.

Scene nodes (viser names): ``/frames/NNNNNN`` one point cloud per loaded frame (only the current one visible),
``/fused`` the fused cloud, ``/cameras/NNNNNN`` frustums of at most ``max_frustums`` frames, ``/trajectory``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import numpy as np

from stereodiff.io.runfolder import RunFolder
from stereodiff.progress import logger

__all__ = ["RunViewer"]


class RunViewer:
    """Show ``run`` in a viser server.

    Args:
        run: the run folder; server: a ``viser.ViserServer``.
        max_points: points per frame cloud (random subsample).
        cache_frames: frame clouds kept in the scene at once (bounded memory); ≥ 2.
        max_frustums: camera frustums drawn (evenly spaced; the trajectory line has every camera).
        prefetch: load the next frames in the background.
    """

    def __init__(
        self,
        run: RunFolder,
        server: Any,
        *,
        max_points: int = 50_000,
        cache_frames: int = 64,
        max_frustums: int = 100,
        prefetch: bool = True,
    ) -> None:
        from stereodiff.io.visualize import colormap_lut

        self.run, self.server = run, server
        self.max_points, self.cache_frames = max_points, max(2, cache_frames)
        self._lut = colormap_lut("turbo")
        self._nodes: OrderedDict[int, Any] = OrderedDict()  # frame → point cloud handle, least recent first
        self._sources: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # frame → its points and RGB
        self._fused_handle: Any = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wanted = threading.Event()
        self._current = 0
        self._depth_range = self._estimate_depth_range()
        server.scene.set_up_direction("-y")  # OpenCV world: y points down
        server.on_client_connect(self._look_from_first_camera)
        self._build_gui()
        self._add_cameras(max_frustums)
        self.show(0)
        self._threads = [threading.Thread(target=self._play_loop, daemon=True, name="viewer-play")]
        if prefetch:
            self._threads.append(threading.Thread(target=self._prefetch_loop, daemon=True, name="viewer-prefetch"))
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------------------------------- GUI

    def _build_gui(self) -> None:
        gui = self.server.gui
        last = self.run.num_frames - 1
        self.frame_slider = gui.add_slider("Frame", min=0, max=max(last, 1), step=1, initial_value=0, disabled=last < 1)
        self.play = gui.add_checkbox("Play", initial_value=False)
        self.speed = gui.add_slider(
            "Speed (frames/s)", min=1, max=60, step=1, initial_value=min(30, round(self.run.fps))
        )
        size = self._size()
        self.point_size = gui.add_slider("Point size", min=size / 10, max=size * 10, step=size / 10, initial_value=size)
        self.coloring = gui.add_dropdown("Colour", ("rgb", "depth"), initial_value="rgb")
        self.fused = gui.add_checkbox("Fused cloud", initial_value=False, disabled=not self.run.has_fused_cloud)
        self.cameras = gui.add_checkbox("Cameras", initial_value=True)
        gui.add_markdown(f"{self.run.num_frames} frames · `{self.run.path.name}`")

        self.frame_slider.on_update(lambda _: self.show(int(self.frame_slider.value)))
        self.point_size.on_update(lambda _: self._restyle())
        self.coloring.on_update(lambda _: self._recolor())
        self.fused.on_update(lambda _: self._toggle_fused())
        self.cameras.on_update(lambda _: self._toggle_cameras())

    def _size(self) -> float:
        """A point about 1.5 source pixels wide at the typical depth (scene units)."""
        return float(1.5 * self._median_depth / self.run.intrinsics[0, 0, 0])

    def _look_from_first_camera(self, client: Any) -> None:
        """Open each browser at the first camera, a little behind it, looking where it looks."""
        pose = self.run.cam_to_world[0]
        forward, down = pose[:3, 2], pose[:3, 1]
        client.camera.up_direction = -down
        client.camera.position = pose[:3, 3] - 0.3 * self._median_depth * forward
        client.camera.look_at = pose[:3, 3] + self._median_depth * forward

    # ------------------------------------------------------------------------------------------- scene

    def _add_cameras(self, max_frustums: int) -> None:
        import viser.transforms as vtf

        run = self.run
        height, width = run.image_size
        shown = np.unique(np.linspace(0, run.num_frames - 1, min(max_frustums, run.num_frames)).round().astype(int))
        self._frustums = []
        for t in shown:
            k, pose = run.intrinsics[t], run.cam_to_world[t]
            self._frustums.append(
                self.server.scene.add_camera_frustum(
                    f"/cameras/{t:06d}",
                    fov=float(2 * np.arctan2(height / 2, k[1, 1])),
                    aspect=width / height,
                    scale=0.1 * self._median_depth,
                    color=(255, 80, 40),
                    thickness=1.5,
                    thickness_units="screen",
                    wxyz=vtf.SO3.from_matrix(pose[:3, :3]).wxyz,
                    position=pose[:3, 3],
                )
            )
        centres = run.cam_to_world[:, :3, 3]
        if len(centres) > 1:
            segments = np.stack([centres[:-1], centres[1:]], axis=1).astype(np.float32)
            self._trajectory = self.server.scene.add_line_segments(
                "/trajectory", points=segments, colors=(40, 120, 255), thickness=2.0, thickness_units="screen"
            )

    def _colors(self, t: int, points: np.ndarray, colors: np.ndarray | None) -> np.ndarray:
        if self.coloring.value == "rgb" and colors is not None:
            return colors
        lo, hi = self._depth_range
        z = self.run.camera_depth(t, points)
        index = np.clip((1.0 / np.maximum(z, 1e-9) - 1.0 / hi) / (1.0 / lo - 1.0 / hi), 0, 1) * 255
        return self._lut[index.astype(np.uint8)]

    def _estimate_depth_range(self) -> tuple[float, float]:
        """Depth colour range (2nd-98th percentile of camera z) from the first frame; sets the median depth."""
        points, _ = self.run.frame_points(0, max_points=20_000)
        z = self.run.camera_depth(0, points)
        z = z[np.isfinite(z) & (z > 0)]
        if z.size < 10:
            self._median_depth = 1.0
            return 0.1, 10.0
        self._median_depth = float(np.median(z))
        lo, hi = np.percentile(z, [2, 98])
        return float(lo), float(max(hi, lo * 1.01))

    def load(self, t: int) -> Any:
        """Frame ``t``'s cloud in the scene (loaded now if needed), hidden; evicts the least recent frames."""
        with self._lock:
            if t in self._nodes:
                self._nodes.move_to_end(t)
                return self._nodes[t]
        points, colors = self.run.frame_points(t, max_points=self.max_points)
        with self._lock:
            if t in self._nodes:
                return self._nodes[t]
            handle = self.server.scene.add_point_cloud(
                f"/frames/{t:06d}",
                points=points,
                colors=self._colors(t, points, colors),
                point_size=self.point_size.value,
                visible=False,
            )
            self._nodes[t] = handle
            self._sources[t] = (points, colors)  # kept for recolouring without a reload
            while len(self._nodes) > self.cache_frames:
                old, old_handle = next(iter(self._nodes.items()))
                if old == self._current:
                    self._nodes.move_to_end(old)
                    continue
                self._nodes.pop(old)
                self._sources.pop(old)
                old_handle.remove()
            return handle

    def show(self, t: int) -> None:
        """Make frame ``t`` the visible one."""
        t = int(np.clip(t, 0, self.run.num_frames - 1))
        handle = self.load(t)
        with self._lock:
            previous = self._nodes.get(self._current)
            self._current = t
            handle.visible = not self.fused.value
            if previous is not None and previous is not handle:
                previous.visible = False
        self._wanted.set()

    def loaded_frames(self) -> list[int]:
        """Frames whose clouds are in the scene now."""
        with self._lock:
            return sorted(self._nodes)

    def _restyle(self) -> None:
        with self._lock:
            for handle in self._nodes.values():
                handle.point_size = self.point_size.value
            if self._fused_handle is not None:
                self._fused_handle.point_size = self.point_size.value

    def _recolor(self) -> None:
        with self._lock:
            for t, handle in self._nodes.items():
                points, colors = self._sources[t]
                handle.colors = self._colors(t, points, colors)

    def _toggle_fused(self) -> None:
        with self._lock:
            if self.fused.value and self._fused_handle is None:
                points, colors = self.run.fused_points()
                self._fused_handle = self.server.scene.add_point_cloud(
                    "/fused", points=points, colors=colors, point_size=self.point_size.value
                )
            if self._fused_handle is not None:
                self._fused_handle.visible = bool(self.fused.value)
            if self._current in self._nodes:
                self._nodes[self._current].visible = not self.fused.value

    def _toggle_cameras(self) -> None:
        for handle in self._frustums:
            handle.visible = bool(self.cameras.value)

    # ------------------------------------------------------------------------------------------- threads

    def _play_loop(self) -> None:
        while not self._stop.is_set():
            if self.play.value and self.run.num_frames > 1:
                started = time.perf_counter()
                self.frame_slider.value = (self._current + 1) % self.run.num_frames  # on_update shows it
                self._stop.wait(max(0.0, 1.0 / self.speed.value - (time.perf_counter() - started)))
            else:
                self._stop.wait(0.05)

    def _prefetch_loop(self) -> None:
        """Fill the cache with the frames after the current one (wrapping around), then wait for a move."""
        while not self._stop.is_set():
            self._wanted.clear()
            start = self._current
            for step in range(1, min(self.cache_frames, self.run.num_frames)):
                if self._stop.is_set() or self._wanted.is_set():
                    break
                try:
                    self.load((start + step) % self.run.num_frames)
                except Exception:  # a broken frame file must not stop the viewer
                    logger.exception("viewer: cannot load frame %d", (start + step) % self.run.num_frames)
            self._wanted.wait(0.5)

    def close(self) -> None:
        """Stop the background threads (the caller stops the server)."""
        self._stop.set()
        self._wanted.set()
        for thread in self._threads:
            thread.join(timeout=2)
