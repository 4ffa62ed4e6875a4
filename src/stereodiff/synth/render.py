"""A scene rendered into a video: the render settings (:class:`RenderSettings`), frame by frame
(:func:`iter_frames`) or into memory (:func:`render_video`), through a simulated camera sensor (blur, noise)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from stereodiff.errors import InputError
from stereodiff.progress import thread_imap
from stereodiff.synth.scene import Scene, SyntheticVideo, intrinsics_for

__all__ = ["RenderSettings", "RenderedFrame", "iter_frames", "render_video"]


@dataclass(frozen=True)
class RenderSettings:
    """How a scene is rendered: the clip's length, image size, frame rate and camera sensor.

    Checked when made: InputError naming the setting when one is out of range. ``num_frames``, ``height`` and
    ``width`` are stored as Python ints (numpy integers are accepted).
    """

    num_frames: int
    """T: frames ``0 .. T-1`` at times ``i / fps`` (>= 1)."""
    height: int
    """Image rows in pixels (>= 8; the field of view is fixed, so K scales with the width)."""
    width: int
    """Image columns in pixels (>= 8)."""
    fps: float = 30.0
    """Frame rate in frames per second (motions are defined in seconds)."""
    noise_std: float = 1.0
    """Gaussian sensor noise, std in 8-bit levels (0 = none)."""
    blur_sigma: float = 0.5
    """Gaussian blur of the image in pixels (0 = none); the depth is never blurred."""
    rolling_shutter: float = 0.0
    """Readout of a rolling shutter in frame intervals, rows top to bottom, in [0, 1] (0 = a global shutter): row
    ``r`` of frame ``i`` is seen at ``(i + rolling_shutter · r / height) / fps`` (:meth:`Scene.render_rolling`)."""

    def __post_init__(self) -> None:
        if not _is_int(self.num_frames) or self.num_frames < 1:
            raise InputError(f"num_frames must be a positive integer, got {self.num_frames!r}")
        for name in ("height", "width"):
            value = getattr(self, name)
            if not _is_int(value) or value < 8:
                raise InputError(f"{name} must be an integer >= 8 pixels, got {value!r}")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise InputError(f"fps must be a positive number, got {self.fps!r}")
        if not (self.noise_std >= 0 and self.blur_sigma >= 0):
            raise InputError(f"noise_std and blur_sigma must be >= 0, got {self.noise_std!r} and {self.blur_sigma!r}")
        if not 0 <= self.rolling_shutter <= 1:
            raise InputError(
                f"rolling_shutter must be a readout in [0, 1] frame intervals, got {self.rolling_shutter!r}"
            )
        for name in ("num_frames", "height", "width"):
            object.__setattr__(self, name, int(getattr(self, name)))

    @property
    def duration_s(self) -> float:
        """The clip's length in seconds, ``num_frames / fps`` (a preset's scene is built for it)."""
        return self.num_frames / self.fps

    def intrinsics(self, scene: Scene) -> np.ndarray:
        """``[3,3]`` K (pixels) of ``scene``'s camera at this image size."""
        return intrinsics_for(scene.hfov_deg, self.height, self.width)

    def info(self, scene: Scene) -> dict:
        """The settings stored in ``SyntheticVideo.info`` and the dataset's ``meta.json`` (``rolling_shutter`` only
        when not 0), with ``scene``'s field of view and moving objects."""
        info = {
            "noise_std": float(self.noise_std),
            "blur_sigma": float(self.blur_sigma),
            "hfov_deg": float(scene.hfov_deg),
            "moving_object_ids": [int(i) for i in scene.moving_ids],
        }
        if self.rolling_shutter:
            info["rolling_shutter"] = float(self.rolling_shutter)
        return info


def _is_int(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


@dataclass(eq=False)
class RenderedFrame:
    """One rendered frame: ``rgb [H,W,3]`` uint8, ``depth [H,W]`` float32 m (0 = invalid), ``object_ids [H,W]``
    int32, ``dynamic_mask [H,W]`` bool, ``cam_to_world [4,4]``; ``index`` is the frame number (time index / fps)."""

    index: int
    rgb: np.ndarray
    depth: np.ndarray
    object_ids: np.ndarray | None
    dynamic_mask: np.ndarray
    cam_to_world: np.ndarray


def _sensor(rgb: np.ndarray, rng: np.random.Generator, noise_std: float, blur_sigma: float) -> np.ndarray:
    """Camera effects on a float frame ``[H,W,3]`` in [0, 1]: Gaussian blur (sigma in pixels), then Gaussian noise
    (std in 8-bit levels), then rounding to uint8."""
    img = rgb * np.float32(255.0)
    if blur_sigma > 0:
        import cv2

        img = cv2.GaussianBlur(img, (0, 0), sigmaX=blur_sigma, borderType=cv2.BORDER_REFLECT)
    if noise_std > 0:
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def iter_frames(scene: Scene, settings: RenderSettings, *, workers: int = 2) -> Iterator[RenderedFrame]:
    """Render frames ``0 .. num_frames-1`` of ``scene`` (at times ``i / fps``) one by one, in order, on ``workers``
    threads; memory stays bounded by a few frames whatever the length. The output does not depend on ``workers``.
    With a ``rolling_shutter`` a frame's ``cam_to_world`` is its first row's."""
    s = settings
    K = s.intrinsics(scene)
    moving = np.array(scene.moving_ids, dtype=np.int32)

    def render(i: int) -> RenderedFrame:
        pose = scene.camera.cam_to_world(i / s.fps)
        if s.rolling_shutter:
            rgb, depth, ids = scene.render_rolling(i / s.fps, 1 / s.fps, s.rolling_shutter, K, s.height, s.width)
        else:
            rgb, depth, ids = scene.render_frame(i / s.fps, pose, K, s.height, s.width)
        image = _sensor(rgb, np.random.default_rng([scene.seed, i]), s.noise_std, s.blur_sigma)
        return RenderedFrame(i, image, depth.astype(np.float32), ids, np.isin(ids, moving), pose)

    # frames are independent and numpy releases the GIL in its kernels: render a few at a time on threads
    yield from thread_imap(render, range(s.num_frames), max(1, min(workers, s.num_frames)))


def render_video(scene: Scene, settings: RenderSettings, *, workers: int = 2) -> SyntheticVideo:
    """Render ``scene`` into memory (see :func:`stereodiff.synth.make_scene`; :func:`iter_frames` streams the same
    frames instead)."""
    from stereodiff.progress import progress

    T, H, W = settings.num_frames, settings.height, settings.width
    frames = np.empty((T, H, W, 3), dtype=np.uint8)
    depth = np.empty((T, H, W), dtype=np.float32)
    object_ids = np.empty((T, H, W), dtype=np.int32)
    dynamic_mask = np.empty((T, H, W), dtype=bool)
    poses = np.empty((T, 4, 4))
    rendered = iter_frames(scene, settings, workers=workers)
    for frame in progress(rendered, desc=f"render {scene.preset}", total=T, unit="frame"):
        i = frame.index
        frames[i], depth[i], object_ids[i] = frame.rgb, frame.depth, frame.object_ids
        dynamic_mask[i], poses[i] = frame.dynamic_mask, frame.cam_to_world
    return SyntheticVideo(
        frames=frames,
        depth=depth,
        K=settings.intrinsics(scene),
        cam_to_world=poses,
        dynamic_mask=dynamic_mask,
        object_ids=object_ids,
        fps=float(settings.fps),
        preset=scene.preset,
        seed=scene.seed,
        scene=scene,
        info=settings.info(scene),
    )
