"""Scenes (objects, rigid motions, a camera path), their ray-cast frames with exact ground truth, and the rendered
video (:class:`SyntheticVideo`; :mod:`stereodiff.synth.render` renders a clip).

World frame: metres, y DOWN (gravity +y), the ground at y = 0, so "up" is -y; cameras use OpenCV axes and
``cam_to_world`` poses. Every motion is a function of time in seconds, so a scene renders at any frame rate, size
and length: changing ``height``/``width`` keeps the field of view, changing ``num_frames`` extends the same motions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from stereodiff.camera import pinhole, rigid_transform
from stereodiff.synth.raycast import PlacedPrimitive, Primitive, cast_pixels, pixel_grid, surface_normals
from stereodiff.synth.texture import shade, sky_colour, surface_colour
from stereodiff.types import Video, check_array

__all__ = [
    "ROLLING_BAND_ROWS",
    "CameraPath",
    "RigidMotion",
    "Scene",
    "SceneObject",
    "SyntheticVideo",
    "intrinsics_for",
    "look_at",
    "make_pose",
    "rotation_about",
    "triangulation_angles_deg",
]


#: rows rendered at one instant by :meth:`Scene.render_rolling` (at 240 rows and a 0.9 readout a band spans 0.015
#: frame intervals: ~0.04 px of image motion for a camera turning 1.4° per frame at a 277 px focal)
ROLLING_BAND_ROWS = 4


def rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    """``[3,3]`` rotation by ``angle`` radians about unit-normalised ``axis (3,)`` (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]])
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def look_at(forward: np.ndarray, down: np.ndarray = (0.0, 1.0, 0.0)) -> np.ndarray:
    """``[3,3]`` camera-to-world rotation of a camera looking along ``forward (3,)`` with image rows along ``down``.

    Columns are the camera x (right), y (down), z (forward) axes in world coordinates.
    """
    z = np.asarray(forward, dtype=np.float64)
    z = z / np.linalg.norm(z)
    x = np.cross(np.asarray(down, dtype=np.float64), z)
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


def make_pose(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``[4,4]`` rigid transform from a rotation ``R [3,3]`` and a translation ``t (3,)``."""
    pose = np.eye(4)
    pose[:3, :3] = R
    pose[:3, 3] = t
    return pose


def intrinsics_for(hfov_deg: float, height: int, width: int) -> np.ndarray:
    """``[3,3]`` pinhole K with square pixels, horizontal field of view ``hfov_deg`` and principal point (W/2, H/2)."""
    focal = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    return pinhole(focal, (height, width))


@dataclass(frozen=True, eq=False)
class RigidMotion:
    """A rigid pose over time, ``world_from_object(t)`` (t in seconds).

    position(t) = ``position + velocity * s + amplitude * sin(omega * t + phase)``, with ``s = t`` or, when
    ``period_s`` is set, ``s = (t - t0) mod period_s`` (the object restarts its path; used for objects that cross
    the view again and again). Rotation: ``rotation_about(axis, angle + angular_velocity * t) @ base_rotation``.
    A motion with zero velocity, amplitude and angular velocity is static.
    """

    position: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    amplitude: tuple[float, float, float] = (0.0, 0.0, 0.0)
    omega: float = 0.0
    phase: float = 0.0
    axis: tuple[float, float, float] = (0.0, -1.0, 0.0)
    angle: float = 0.0
    angular_velocity: float = 0.0
    period_s: float | None = None
    t0: float = 0.0
    base_rotation: np.ndarray = field(default_factory=lambda: np.eye(3))

    @property
    def is_moving(self) -> bool:
        return bool(np.any(self.velocity) or (np.any(self.amplitude) and self.omega) or self.angular_velocity)

    def world_from_object(self, time_s: float) -> np.ndarray:
        """``[4,4]`` pose of the object at ``time_s`` seconds."""
        s = time_s if self.period_s is None else (time_s - self.t0) % self.period_s
        t = np.asarray(self.position) + np.asarray(self.velocity) * s
        t = t + np.asarray(self.amplitude) * np.sin(self.omega * time_s + self.phase)
        R = rotation_about(self.axis, self.angle + self.angular_velocity * time_s) @ self.base_rotation
        return make_pose(R, t)


@dataclass(frozen=True, eq=False)
class SceneObject:
    """Primitives that move together; ``object_id`` >= 1 labels their pixels (0 = nothing hit)."""

    object_id: int
    name: str
    primitives: tuple[Primitive, ...]
    motion: RigidMotion


@dataclass(frozen=True)
class CameraPath:
    """A camera trajectory, ``cam_to_world(t)`` (t in seconds).

    The eye moves on a line (``eye + velocity * t``) or, when ``orbit_radius > 0``, on a horizontal circle around
    ``orbit_centre`` (angle ``orbit_angle + orbit_rate * t``, radians); plus a sway
    ``sway_amplitude * sin(sway_omega * t + sway_phase)`` per axis. It looks at ``target`` (or along ``forward``
    when ``target`` is None); then a rotational shake (yaw, pitch, roll in radians, camera frame) is applied:
    ``shake_amplitude * sin(shake_omega * t + shake_phase)``, and after it a hand tremor of the same form
    (``tremor_*``; none by default: a faster shake, whose changing angular velocity a rolling shutter shows).
    """

    eye: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orbit_centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    orbit_radius: float = 0.0
    orbit_angle: float = 0.0
    orbit_rate: float = 0.0
    sway_amplitude: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sway_omega: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sway_phase: tuple[float, float, float] = (0.0, 0.0, 0.0)
    target: tuple[float, float, float] | None = None
    forward: tuple[float, float, float] = (0.0, 0.0, 1.0)
    shake_amplitude: tuple[float, float, float] = (0.0, 0.0, 0.0)
    shake_omega: tuple[float, float, float] = (0.0, 0.0, 0.0)
    shake_phase: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tremor_amplitude: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tremor_omega: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tremor_phase: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def cam_to_world(self, time_s: float) -> np.ndarray:
        """``[4,4]`` camera pose at ``time_s`` seconds (OpenCV axes)."""
        if self.orbit_radius > 0:
            a = self.orbit_angle + self.orbit_rate * time_s
            eye = np.asarray(self.orbit_centre) + self.orbit_radius * np.array([np.sin(a), 0.0, -np.cos(a)])
            eye = eye + np.array([0.0, self.eye[1], 0.0])
        else:
            eye = np.asarray(self.eye) + np.asarray(self.velocity) * time_s
        eye = eye + np.asarray(self.sway_amplitude) * np.sin(np.asarray(self.sway_omega) * time_s + self.sway_phase)
        forward = np.asarray(self.target) - eye if self.target is not None else np.asarray(self.forward)
        yaw, pitch, roll = np.asarray(self.shake_amplitude) * np.sin(
            np.asarray(self.shake_omega) * time_s + self.shake_phase
        )
        shake = _yaw_pitch_roll(yaw, pitch, roll)
        if any(self.tremor_amplitude):
            tremor = np.asarray(self.tremor_amplitude) * np.sin(
                np.asarray(self.tremor_omega) * time_s + self.tremor_phase
            )
            shake = shake @ _yaw_pitch_roll(*tremor)
        return make_pose(look_at(forward) @ shake, eye)


def _yaw_pitch_roll(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``[3,3]`` camera-frame rotation: ``yaw`` about y, then ``pitch`` about x, then ``roll`` about z (radians)."""
    return rotation_about((0, 1, 0), yaw) @ rotation_about((1, 0, 0), pitch) @ rotation_about((0, 0, 1), roll)


@dataclass(frozen=True, eq=False)
class Scene:
    """A synthetic world: objects, a camera path, a light and the texture lattice.

    Attributes:
        preset: the preset name that built it.
        seed: the seed that built it.
        objects: every object; ids are unique and >= 1.
        camera: the camera path.
        hfov_deg: horizontal field of view of the camera (degrees); K follows from it and the image size.
        light_dir: ``(3,)`` unit vector from surfaces towards the (directional) light, world frame.
        lattice: the value-noise table of the textures.
        sky: rays that hit nothing see a sky (depth 0 = invalid, object id 0).
    """

    preset: str
    seed: int
    objects: tuple[SceneObject, ...]
    camera: CameraPath
    hfov_deg: float
    light_dir: np.ndarray
    lattice: np.ndarray
    sky: bool = False

    @property
    def moving_ids(self) -> tuple[int, ...]:
        """Ids of the objects that move (their pixels make ``dynamic_mask``)."""
        return tuple(obj.object_id for obj in self.objects if obj.motion.is_moving)

    def without_moving_objects(self) -> Scene:
        """The same scene with every moving object removed."""
        return replace(self, objects=tuple(obj for obj in self.objects if not obj.motion.is_moving))

    def placed(self, time_s: float) -> list[PlacedPrimitive]:
        """Every primitive with its world pose at ``time_s``."""
        out = []
        for obj in self.objects:
            world_from_object = obj.motion.world_from_object(time_s)
            for prim in obj.primitives:
                out.append(PlacedPrimitive(prim, world_from_object @ prim.object_from_primitive, obj.object_id))
        return out

    def cast(
        self, time_s: float, cam_to_world: np.ndarray, K: np.ndarray, uv: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact depth and object id seen through sub-pixel positions ``uv [N,2]`` (column, row) of a camera.

        Returns ``depth [N]`` float64 metres (camera z; 0 where nothing is hit) and ``object_ids [N]`` int32.
        """
        placed = self.placed(time_s)
        hits, _ = cast_pixels(placed, np.asarray(cam_to_world, dtype=np.float64), K, np.asarray(uv))
        ids = np.array([p.object_id for p in placed] + [0], dtype=np.int32)[hits.index]
        return np.where(hits.index >= 0, hits.depth, 0.0), ids

    def render_frame(
        self, time_s: float, cam_to_world: np.ndarray, K: np.ndarray, height: int, width: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render one noise-free frame.

        Returns ``rgb [H,W,3]`` float32 in [0, 1], ``depth [H,W]`` float64 metres (0 = nothing hit) and
        ``object_ids [H,W]`` int32 (0 = nothing hit).
        """
        placed = self.placed(time_s)
        uv = pixel_grid(height, width)  # [N,2], pixel centres
        hits, rays = cast_pixels(placed, cam_to_world, K, uv, grid=(height, width))  # rays: [N,3] world, camera z = 1
        centre = cam_to_world[:3, 3]
        rays32 = rays.astype(np.float32)  # shading needs no more than float32
        rgb = np.zeros((len(uv), 3), dtype=np.float32)
        focal = K[0, 0]
        # pixels grouped by the primitive they hit (int16 keys: numpy sorts them by radix)
        keys = hits.index.astype(np.int16) if len(placed) < 2**15 else hits.index
        order = np.argsort(keys, kind="stable")
        starts = np.searchsorted(hits.index[order], np.arange(-1, len(placed) + 1))
        for i in range(-1, len(placed)):
            sel = order[starts[i + 1] : starts[i + 2]]
            if sel.size == 0:
                continue
            if i < 0:
                rgb[sel] = sky_colour(rays32[sel], self.lattice) if self.sky else 0.0
                continue
            item = placed[i]
            prim = item.primitive
            R = item.world_from_primitive[:3, :3].astype(np.float32)
            t = hits.depth[sel].astype(np.float32)[:, None]  # [n,1]
            d = rays32[sel]  # [n,3]
            offset = (centre - item.world_from_primitive[:3, 3]).astype(np.float32)
            p_local = (t * d + offset) @ R  # [n,3] hit in the primitive frame
            n_world = surface_normals(prim.kind, prim.size, p_local) @ R.T  # [n,3]
            d_norm = np.sqrt(np.einsum("ij,ij->i", d, d))  # [n]
            cos = np.einsum("ij,ij->i", n_world, d) / d_norm
            n_world *= np.where(cos > 0, np.float32(-1.0), np.float32(1.0))[:, None]  # face the camera
            # pixel footprint on the surface (metres): range per pixel over the foreshortening
            footprint = t[:, 0] * d_norm / np.float32(focal) / np.maximum(np.abs(cos), np.float32(0.2))
            albedo = surface_colour(prim.material, p_local, footprint, self.lattice)
            rgb[sel] = albedo * shade(n_world, self.light_dir)[:, None]
        depth = np.where(hits.index >= 0, hits.depth, 0.0).reshape(height, width)
        ids = np.array([p.object_id for p in placed] + [0], dtype=np.int32)[hits.index].reshape(height, width)
        return rgb.reshape(height, width, 3), depth, ids

    def render_rolling(
        self,
        time_s: float,
        frame_interval_s: float,
        readout: float,
        K: np.ndarray,
        height: int,
        width: int,
        band_rows: int = ROLLING_BAND_ROWS,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Render one noise-free frame through a rolling shutter: row ``r`` (top to bottom) is seen at
        ``time_s + readout · r / height · frame_interval_s`` (``readout`` a fraction of the frame interval), by the
        camera and the objects of that instant. Rows go in bands of ``band_rows`` (each a :meth:`render_frame` of
        a ``band_rows``-row image whose principal point is shifted to the band) seen at the band's middle row's
        time. Returns what :meth:`render_frame` returns; ``depth`` is each row's own camera z (what the pixel
        sees)."""
        rgb = np.empty((height, width, 3), np.float32)
        depth = np.empty((height, width))
        ids = np.empty((height, width), np.int32)
        for top in range(0, height, band_rows):
            rows = min(band_rows, height - top)
            band_time = time_s + readout * (top + (rows - 1) / 2) / height * frame_interval_s
            K_band = np.array(K, dtype=np.float64)
            K_band[1, 2] -= top  # the band's first row becomes row 0 of a ``rows``-row image
            band = self.render_frame(band_time, self.camera.cam_to_world(band_time), K_band, rows, width)
            rgb[top : top + rows], depth[top : top + rows], ids[top : top + rows] = band
        return rgb, depth, ids


@dataclass(eq=False)
class SyntheticVideo:
    """A rendered synthetic video with exact ground truth.

    Attributes:
        frames: ``[T,H,W,3]`` uint8 RGB.
        depth: ``[T,H,W]`` float32 camera z in metres; 0 = invalid (sky: nothing hit).
        K: ``[3,3]`` float64 intrinsics in pixels (pixel centres at integers, principal point (W/2, H/2)).
        cam_to_world: ``[T,4,4]`` float64 camera poses (OpenCV axes: x right, y down, z forward).
        dynamic_mask: ``[T,H,W]`` bool, True where the visible surface belongs to a moving object.
        object_ids: ``[T,H,W]`` int32 id of the visible object (0 = nothing hit); None when not stored.
        fps: frames per second (frame i is at time i / fps).
        preset: the preset name.
        seed: the seed.
        scene: the scene that was rendered (None when loaded from disk); ``scene.cast`` queries exact depth at
            any sub-pixel position.
        info: render settings and extra metadata (``noise_std``, ``blur_sigma``, ``hfov_deg``,
            ``moving_object_ids``), stored in the dataset's ``meta.json``.
    """

    frames: np.ndarray
    depth: np.ndarray
    K: np.ndarray
    cam_to_world: np.ndarray
    dynamic_mask: np.ndarray
    object_ids: np.ndarray | None
    fps: float
    preset: str
    seed: int
    scene: Scene | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_array("frames", self.frames, shape=(None, None, None, 3), dtype=np.uint8)
        T, H, W = self.frames.shape[:3]
        check_array("depth", self.depth, shape=(T, H, W), dtype=np.float32)
        check_array("K", self.K, shape=(3, 3), kinds="f")
        check_array("cam_to_world", self.cam_to_world, shape=(T, 4, 4), kinds="f")
        check_array("dynamic_mask", self.dynamic_mask, shape=(T, H, W), dtype=np.bool_)
        if self.object_ids is not None:
            check_array("object_ids", self.object_ids, shape=(T, H, W), kinds="iu")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    def to_video(self) -> Video:
        """The RGB frames as a :class:`stereodiff.types.Video`."""
        return Video(frames=self.frames, fps=self.fps, source=f"synthetic:{self.preset}:seed={self.seed}")


def triangulation_angles_deg(video: SyntheticVideo, i: int, j: int) -> np.ndarray:
    """Triangulation angles (degrees) between frames ``i`` and ``j`` at the static, valid pixels of frame ``i``.

    For each such pixel's 3-D point X: the angle between the rays from both camera centres to X. Returns ``[M]``.
    """
    depth = video.depth[i]
    v, u = np.nonzero((depth > 0) & ~video.dynamic_mask[i])
    rays = np.stack([u, v, np.ones_like(u)], axis=1) @ np.linalg.inv(video.K).T  # [M,3], camera z = 1
    pose_i, pose_j = video.cam_to_world[i], video.cam_to_world[j]
    points = rigid_transform(rays * depth[v, u, None], pose_i)  # [M,3] world
    a = points - pose_i[:3, 3]
    b = points - pose_j[:3, 3]
    cos = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
