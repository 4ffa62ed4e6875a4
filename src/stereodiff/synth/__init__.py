"""Synthetic dynamic scenes with exact ground truth: depth, cameras, moving-object masks.

``make_scene(preset, seed=..., num_frames=..., height=..., width=...)`` renders a :class:`SyntheticVideo` with a
vectorised numpy ray caster over analytic primitives; ``write_synthetic_dataset`` / ``load_synthetic_dataset``
store it in the dataset folder layout of ``docs/synthetic.md``.
"""

from stereodiff.synth.dataset import load_synthetic_dataset, render_synthetic_dataset, write_synthetic_dataset
from stereodiff.synth.presets import PRESETS, build_scene, make_scene, preset_scene, with_tremor
from stereodiff.synth.render import RenderSettings, iter_frames, render_video
from stereodiff.synth.scene import Scene, SyntheticVideo, triangulation_angles_deg

__all__ = [
    "PRESETS",
    "RenderSettings",
    "Scene",
    "SyntheticVideo",
    "build_scene",
    "iter_frames",
    "load_synthetic_dataset",
    "make_scene",
    "preset_scene",
    "render_synthetic_dataset",
    "render_video",
    "triangulation_angles_deg",
    "with_tremor",
    "write_synthetic_dataset",
]
