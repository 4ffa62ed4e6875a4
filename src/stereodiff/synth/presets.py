"""Named synthetic scenes: ``static-orbit``, ``indoor-dynamic``, ``driving``, ``close-object``.

Each preset is built from a seed (layout, sizes, textures, motion phases) and the clip duration (only the
``driving`` street's far end depends on it). Camera motion is chosen so that frames a few apart have real parallax
(a median triangulation angle of about 1-2.7 degrees over 8 frames at 30 fps, 4-6 for ``driving``); see
``docs/synthetic.md`` for the measured numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from stereodiff.errors import InputError
from stereodiff.synth.raycast import Primitive
from stereodiff.synth.render import RenderSettings, render_video
from stereodiff.synth.scene import (
    CameraPath,
    RigidMotion,
    Scene,
    SceneObject,
    SyntheticVideo,
    make_pose,
    rotation_about,
)
from stereodiff.synth.texture import Material, make_lattice

__all__ = ["PRESETS", "build_scene", "make_scene", "preset_scene", "with_tremor"]

#: prim z -> world -y: a plane z = 0 in its frame becomes the ground (normal up)
_GROUND = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


class _Builder:
    """Collects objects with consecutive ids and draws random materials from one generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.objects: list[SceneObject] = []

    def material(
        self,
        base: tuple[float, float, float] | None = None,
        pattern: str | None = None,
        scale_m: float | None = None,
        spread: float = 0.35,
    ) -> Material:
        rng = self.rng
        base_rgb = rng.uniform(0.2, 0.9, 3) if base is None else np.asarray(base)
        colour_a = np.clip(base_rgb * rng.uniform(0.45, 0.75), 0, 1)
        colour_b = np.clip(base_rgb + rng.uniform(-spread, spread, 3), 0.05, 1) * rng.uniform(1.0, 1.3)
        return Material(
            color_a=tuple(float(c) for c in colour_a),
            color_b=tuple(float(c) for c in colour_b),
            pattern=pattern or str(rng.choice(["noise", "noise", "checker", "stripes"])),
            scale_m=float(scale_m if scale_m is not None else rng.uniform(0.25, 0.8)),
            octaves=6,
            offset=tuple(float(x) for x in rng.uniform(0, 100, 3)),
            contrast=float(rng.uniform(0.4, 0.8)),
        )

    def add(self, name: str, primitives: list[Primitive], motion: RigidMotion) -> None:
        self.objects.append(SceneObject(len(self.objects) + 1, name, tuple(primitives), motion))

    def prim(
        self,
        kind: str,
        size: tuple[float, float, float],
        material: Material | None = None,
        R: np.ndarray | None = None,
        t: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> Primitive:
        """A primitive placed at rotation ``R`` and offset ``t`` in its object (a random material by default)."""
        pose = make_pose(np.eye(3) if R is None else R, t)
        return Primitive(kind, size, pose, material or self.material())  # type: ignore[arg-type]

    def room(self, half: tuple[float, float, float], centre_xz: tuple[float, float] = (0.0, 0.0)) -> None:
        """A room box standing on the ground (walls + ceiling), and a floor plane just above its bottom face."""
        hx, hy, hz = half
        wall = self.material(pattern="noise", scale_m=0.9)
        self.add("room", [self.prim("room", half, wall)], RigidMotion((centre_xz[0], -hy + 0.01, centre_xz[1])))
        floor = self.material(pattern="checker", scale_m=float(self.rng.uniform(0.35, 0.6)))
        self.add(
            "floor", [self.prim("plane", (hx, hz, 0.0), floor, R=_GROUND)], RigidMotion((centre_xz[0], 0, centre_xz[1]))
        )

    def posters(self, count: int, wall_z: float, half_width: float, height: float) -> None:
        """Textured panels hanging just in front of a wall at z = ``wall_z`` (facing -z)."""
        for k in range(count):
            w, h = self.rng.uniform(0.3, 0.8), self.rng.uniform(0.3, 0.7)
            x = -half_width + (k + 0.5) * 2 * half_width / count + self.rng.uniform(-0.3, 0.3)
            y = -self.rng.uniform(0.8, height - 0.6)
            mat = self.material(scale_m=float(self.rng.uniform(0.1, 0.3)))
            self.add("poster", [self.prim("plane", (w, h, 0.0), mat)], RigidMotion((x, y, wall_z - 0.02)))

    def clutter(self, count: int, centre: tuple[float, float], radius: float, max_size: float) -> None:
        """Static boxes (some tilted), spheres and cylinders resting on the ground around ``centre`` (x, z)."""
        rng = self.rng
        for _ in range(count):
            r = radius * np.sqrt(rng.uniform(0, 1))
            a = rng.uniform(0, 2 * np.pi)
            x, z = centre[0] + r * np.sin(a), centre[1] + r * np.cos(a)
            kind = str(rng.choice(["box", "box", "sphere", "cylinder"]))
            if kind == "box":
                half = tuple(float(s) for s in rng.uniform(0.15, max_size / 2, 3))
                tilt = rotation_about(rng.normal(size=3), rng.uniform(0, 0.5)) if rng.uniform() < 0.4 else np.eye(3)
                motion = RigidMotion((x, -half[1], z), angle=float(rng.uniform(0, np.pi)), base_rotation=tilt)
                self.add("box", [self.prim("box", half)], motion)
            elif kind == "sphere":
                rad = float(rng.uniform(0.15, max_size / 2))
                self.add("sphere", [self.prim("sphere", (rad, 0, 0))], RigidMotion((x, -rad, z)))
            else:
                rad, hh = float(rng.uniform(0.1, max_size / 3)), float(rng.uniform(0.2, max_size * 0.7))
                self.add("cylinder", [self.prim("cylinder", (rad, hh, 0))], RigidMotion((x, -hh, z)))

    def person(self, motion: RigidMotion) -> None:
        """A person-sized mover: a box or cylinder body (1.5-1.8 m) with a sphere head; origin on the ground."""
        rng = self.rng
        height = float(rng.uniform(1.45, 1.65))
        head = 0.12
        if rng.uniform() < 0.5:
            body = self.prim("box", (float(rng.uniform(0.2, 0.27)), height / 2, 0.15), t=(0, -height / 2, 0))
        else:
            body = self.prim("cylinder", (float(rng.uniform(0.18, 0.24)), height / 2, 0), t=(0, -height / 2, 0))
        head_prim = self.prim("sphere", (head, 0, 0), self.material(base=(0.85, 0.65, 0.5)), t=(0, -height - head, 0))
        self.add("person", [body, head_prim], motion)


def _static_orbit(seed: int, duration_s: float) -> Scene:
    b = _Builder(seed)
    b.room((6.0, 2.2, 6.0))
    b.posters(5, 6.0, 5.0, 4.4)
    b.clutter(int(b.rng.integers(7, 11)), (0.0, 0.0), 1.6, 0.9)
    camera = CameraPath(
        eye=(0.0, -1.5, 0.0),
        orbit_radius=3.2,
        orbit_angle=float(b.rng.uniform(0, 2 * np.pi)),
        orbit_rate=0.2,  # rad/s: 0.38 deg of orbit per frame at 30 fps
        sway_amplitude=(0.0, 0.08, 0.0),
        sway_omega=(0.0, 0.9, 0.0),
        target=(0.0, -0.4, 0.0),
        shake_amplitude=(0.002, 0.002, 0.002),
        shake_omega=(3.1, 2.3, 1.7),
        shake_phase=tuple(float(p) for p in b.rng.uniform(0, 2 * np.pi, 3)),
    )
    return Scene("static-orbit", seed, tuple(b.objects), camera, 60.0, _light(b.rng), make_lattice(b.rng))


def _light(rng: np.random.Generator) -> np.ndarray:
    d = np.array([rng.uniform(-0.5, 0.5), -1.0, rng.uniform(-0.8, -0.2)])
    return d / np.linalg.norm(d)


def _hand_held(
    rng: np.random.Generator, eye: tuple[float, float, float], target: tuple[float, float, float]
) -> CameraPath:
    """A hand-held camera: a sideways sweep (0.45-0.68 m/s during the first 3.7 s, +-1.5 m) with a rotational shake."""
    return CameraPath(
        eye=eye,
        sway_amplitude=(1.5, 0.06, 0.25),
        sway_omega=(0.45, 1.3, 0.35),
        sway_phase=(float(rng.uniform(-1.0, -0.8)), float(rng.uniform(0, 6.3)), float(rng.uniform(0, 6.3))),
        target=target,
        shake_amplitude=(0.006, 0.006, 0.004),
        shake_omega=(5.3, 7.1, 4.2),
        shake_phase=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 3)),
    )


def _indoor_dynamic(seed: int, duration_s: float) -> Scene:
    b = _Builder(seed)
    rng = b.rng
    b.room((3.2, 1.4, 3.6), centre_xz=(0.0, 0.6))  # z from -3.0 to 4.2
    b.posters(4, 4.2, 2.8, 2.8)
    # furniture along the side and back walls
    for side in (-1, 1):
        for _ in range(int(rng.integers(1, 3))):
            half = (float(rng.uniform(0.25, 0.5)), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.3, 0.7)))
            x = side * (3.2 - half[0] - 0.05)
            z = float(rng.uniform(-1.0, 3.6))
            b.add("furniture", [b.prim("box", half)], RigidMotion((x, -half[1], z)))
    b.clutter(2, (0.0, 3.4), 0.6, 0.8)
    # 1-3 people walking across the room, back and forth, turning as they go
    for _ in range(int(rng.integers(1, 4))):
        speed = rng.uniform(0.7, 1.2)  # m/s at the middle of the sweep
        span = rng.uniform(1.6, 2.6)  # half width of the walk (m)
        motion = RigidMotion(
            position=(float(rng.uniform(-0.4, 0.4)), 0.0, float(rng.uniform(-1.2, 2.0))),
            amplitude=(float(span), 0.0, float(rng.uniform(-0.5, 0.5))),
            omega=float(speed / span),
            phase=float(rng.uniform(0, 2 * np.pi)),
            angle=float(rng.uniform(0, 2 * np.pi)),
            angular_velocity=float(rng.choice([-1, 1]) * rng.uniform(0.3, 0.9)),
        )
        b.person(motion)
    camera = _hand_held(rng, eye=(0.0, -1.5, -2.4), target=(0.0, -0.6, 2.5))
    return Scene("indoor-dynamic", seed, tuple(b.objects), camera, 60.0, _light(rng), make_lattice(rng))


def _close_object(seed: int, duration_s: float) -> Scene:
    b = _Builder(seed)
    rng = b.rng
    b.room((4.0, 1.6, 4.0), centre_xz=(0.0, 0.5))  # z from -3.5 to 4.5
    b.posters(5, 4.5, 3.5, 3.2)
    b.clutter(int(rng.integers(5, 8)), (0.0, 2.2), 1.8, 1.0)
    # the close object: crosses the view 0.55-0.9 m in front of the camera every 3 s, tumbling
    cam_z = -2.6
    depth = float(rng.uniform(0.8, 1.0))
    speed = float(rng.uniform(2.2, 3.0))
    direction = float(rng.choice([-1, 1]))
    if rng.uniform() < 0.5:
        prim = b.prim("box", tuple(float(s) for s in rng.uniform(0.15, 0.25, 3)))
    else:
        prim = b.prim("sphere", (float(rng.uniform(0.18, 0.25)), 0, 0))
    motion = RigidMotion(
        position=(-direction * 1.5 * speed, -1.45, cam_z + depth),
        velocity=(direction * speed, 0.0, 0.0),
        axis=tuple(float(a) for a in rng.normal(size=3)),
        angular_velocity=float(rng.uniform(1.5, 3.0)),
        period_s=3.0,
        t0=-0.3,  # first crossing of the image centre at t = 1.2 s
    )
    b.add("close-object", [prim], motion)
    # and a person walking at mid depth
    b.person(
        RigidMotion(
            position=(0.0, 0.0, float(rng.uniform(1.0, 2.5))),
            amplitude=(2.0, 0.0, 0.3),
            omega=0.45,
            phase=float(rng.uniform(0, 2 * np.pi)),
            angular_velocity=0.5,
        )
    )
    camera = CameraPath(
        eye=(0.0, -1.45, cam_z),
        sway_amplitude=(1.3, 0.04, 0.0),
        sway_omega=(0.45, 1.1, 0.0),
        sway_phase=(float(rng.uniform(-0.9, -0.7)), 0.0, 0.0),
        target=(0.0, -1.2, 3.0),
        shake_amplitude=(0.004, 0.004, 0.003),
        shake_omega=(5.3, 7.1, 4.2),
        shake_phase=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 3)),
    )
    return Scene("close-object", seed, tuple(b.objects), camera, 60.0, _light(rng), make_lattice(rng))


#: driving: camera speed (m/s) and the far end of the street at the start (m)
_DRIVE_SPEED = 8.0
_DRIVE_FAR_M = 60.0


def _driving(seed: int, duration_s: float) -> Scene:
    b = _Builder(seed)
    rng = b.rng
    far_z = _DRIVE_FAR_M + _DRIVE_SPEED * max(0.0, duration_s - 110 / 30)
    road_half = 5.0
    # ground: asphalt with lane bands, then the far end of the street (a hill-like wall)
    asphalt = Material((0.18, 0.18, 0.2), (0.42, 0.42, 0.44), "stripes", 3.5, 8, (0.3, 0.0, 0.0), 0.35)
    b.add(
        "road",
        [b.prim("plane", (60.0, (far_z + 20) / 2, 0.0), asphalt, R=_GROUND)],
        RigidMotion((0, 0, (far_z - 20) / 2)),
    )
    b.add(
        "far-end", [b.prim("box", (80.0, 15.0, 5.0), b.material(scale_m=6.0))], RigidMotion((0, -15.0 + 0.5, far_z + 5))
    )
    for side in (-1, 1):
        # sidewalk
        walk = b.material(base=(0.55, 0.53, 0.5), pattern="checker", scale_m=1.0)
        b.add(
            "sidewalk",
            [b.prim("box", (1.5, 0.08, (far_z + 20) / 2), walk)],
            RigidMotion((side * (road_half + 1.5), -0.08, (far_z - 20) / 2)),
        )
        # buildings in blocks along the street
        z = -15.0
        while z < far_z:
            length = float(rng.uniform(7, 18))
            half = (float(rng.uniform(3, 6)), float(rng.uniform(3, 10)), length / 2 - 0.5)
            x = side * (road_half + 3.2 + half[0] + rng.uniform(0, 2))
            mat = b.material(pattern=str(rng.choice(["noise", "checker", "stripes"])), scale_m=float(rng.uniform(1, 3)))
            yaw = float(rng.uniform(-0.06, 0.06))
            b.add("building", [b.prim("box", half, mat)], RigidMotion((x, -half[1], z + length / 2), angle=yaw))
            z += length
        # poles and trees on the sidewalk
        z = float(rng.uniform(-10, 0))
        while z < far_z - 5:
            x = side * (road_half + 0.6)
            pole = b.prim("cylinder", (0.12, 2.2, 0), b.material(base=(0.4, 0.3, 0.2)), t=(0, -2.2, 0))
            crown = b.prim(
                "sphere", (float(rng.uniform(1.0, 1.6)), 0, 0), b.material(base=(0.2, 0.5, 0.2)), t=(0, -5.0, 0)
            )
            b.add("tree", [pole, crown], RigidMotion((x, 0.0, z)))
            z += float(rng.uniform(9, 16))
        # parked cars by the curb
        for _ in range(int(rng.integers(2, 5))):
            _car(b, RigidMotion((side * (road_half - 1.1), 0.0, float(rng.uniform(5, far_z - 10)))))
    # 1-3 moving cars: always a car ahead in our lane, plus maybe an oncoming car and one overtaking on the left
    kinds = ["ahead", *rng.permutation(["oncoming", "overtaking"])[: int(rng.integers(0, 3))]]
    for kind in kinds:
        if kind == "oncoming":
            motion = RigidMotion(
                (-1.9, 0.0, float(rng.uniform(35, 55))), velocity=(0.0, 0.0, -float(rng.uniform(8, 12)))
            )
        elif kind == "ahead":
            motion = RigidMotion((1.9, 0.0, float(rng.uniform(12, 20))), velocity=(0.0, 0.0, float(rng.uniform(6, 9))))
        else:
            motion = RigidMotion(
                (-1.9, 0.0, float(rng.uniform(-14, -8))), velocity=(0.0, 0.0, float(rng.uniform(12, 15)))
            )
        _car(b, motion)
    camera = CameraPath(
        eye=(1.9, -1.65, 0.0),
        velocity=(0.0, 0.0, _DRIVE_SPEED),
        sway_amplitude=(0.15, 0.02, 0.0),
        sway_omega=(0.6, 9.0, 0.0),
        sway_phase=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 3)),
        forward=(0.0, 0.02, 1.0),
        shake_amplitude=(0.004, 0.004, 0.002),
        shake_omega=(0.8, 7.0, 5.0),
        shake_phase=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 3)),
    )
    return Scene("driving", seed, tuple(b.objects), camera, 75.0, _light(rng), make_lattice(rng), sky=True)


def _car(b: _Builder, motion: RigidMotion) -> None:
    """A car (body + cabin boxes, 4.3 x 1.8 m, origin on the ground) with the given motion."""
    paint = b.material(pattern="noise", scale_m=0.6, spread=0.15)
    body = b.prim("box", (0.9, 0.4, 2.15), paint, t=(0, -0.75, 0))
    cabin = b.prim("box", (0.8, 0.3, 1.1), b.material(base=(0.2, 0.25, 0.3), scale_m=0.3), t=(0, -1.45, -0.2))
    b.add("car", [body, cabin], motion)


#: preset name -> builder(seed, duration_s)
PRESETS: dict[str, Callable[[int, float], Scene]] = {
    "static-orbit": _static_orbit,
    "indoor-dynamic": _indoor_dynamic,
    "driving": _driving,
    "close-object": _close_object,
}


def build_scene(preset: str, *, seed: int = 0, duration_s: float = 110 / 30) -> Scene:
    """The scene of a preset (see :data:`PRESETS`); the same ``(preset, seed, duration_s)`` gives the same scene."""
    if preset not in PRESETS:
        raise InputError(f"unknown synthetic preset {preset!r}", f"choose one of {', '.join(PRESETS)}")
    return PRESETS[preset](int(seed), float(duration_s))


def with_tremor(scene: Scene, amplitude_deg: float) -> Scene:
    """``scene`` with a hand tremor added to its camera (``CameraPath.tremor_*``): yaw, pitch and roll of
    ``amplitude_deg``, ``amplitude_deg``, ``amplitude_deg / 2`` at 3-5 Hz with phases from the scene's seed (a
    0.5° tremor changes the angular velocity by ~0.2-0.6° per frame at 30 fps, a hand-held phone's order;
    the presets' own shake ~0.02°). ``amplitude_deg`` 0 returns ``scene`` itself."""
    if not amplitude_deg:
        return scene
    rng = np.random.default_rng([scene.seed, 7])
    amplitude = np.radians(amplitude_deg) * np.array([1.0, 1.0, 0.5])
    camera = replace(
        scene.camera,
        tremor_amplitude=tuple(float(a) for a in amplitude),
        tremor_omega=tuple(float(w) for w in 2 * np.pi * rng.uniform(3.0, 5.0, 3)),
        tremor_phase=tuple(float(p) for p in rng.uniform(0, 2 * np.pi, 3)),
    )
    return replace(scene, camera=camera)


def preset_scene(preset: str, seed: int, settings: RenderSettings, tremor_deg: float = 0.0) -> Scene:
    """The scene of ``preset`` and ``seed`` built for ``settings``' clip length (:func:`build_scene`), with a hand
    tremor of ``tremor_deg`` degrees added to its camera (:func:`with_tremor`; 0 = none)."""
    return with_tremor(build_scene(preset, seed=seed, duration_s=settings.duration_s), tremor_deg)


def make_scene(
    preset: str,
    *,
    seed: int = 0,
    num_frames: int = 110,
    height: int = 240,
    width: int = 320,
    fps: float = 30.0,
    noise_std: float = 1.0,
    blur_sigma: float = 0.5,
    rolling_shutter: float = 0.0,
    tremor_deg: float = 0.0,
) -> SyntheticVideo:
    """Render a synthetic video with exact ground truth.

    Args:
        preset: ``static-orbit`` (no moving objects, orbiting camera), ``indoor-dynamic`` (room, 1-3 walking
            people, hand-held camera; depth ~2-7.6 m), ``driving`` (street, forward motion at 8 m/s, 1-3 moving cars;
            depth up to ~65 m, sky = depth 0) or ``close-object`` (an object crosses 0.5-1 m in front of the camera).
        seed: layout, textures, motion phases and sensor noise all follow from it: same seed, same output.
        num_frames, height, width, fps, noise_std, blur_sigma, rolling_shutter: the
            :class:`~stereodiff.synth.render.RenderSettings` (T frames at times ``i / fps``, image size in pixels,
            sensor noise and blur, the rolling shutter's readout; InputError naming one out of range). With a rolling
            shutter each row is seen by the camera and the objects of its instant; the depth is what each pixel
            sees, ``cam_to_world`` the first row's pose.
        tremor_deg: a hand tremor added to the camera (:func:`with_tremor`; 0 = none, the preset's camera).

    Returns:
        a :class:`SyntheticVideo` (frames ``[T,H,W,3]`` uint8, depth ``[T,H,W]`` float32 m, K ``[3,3]``,
        cam_to_world ``[T,4,4]``, dynamic_mask ``[T,H,W]`` bool, object_ids ``[T,H,W]`` int32).
    """
    settings = RenderSettings(num_frames, height, width, fps, noise_std, blur_sigma, rolling_shutter)
    return render_video(preset_scene(preset, seed, settings, tremor_deg), settings)
