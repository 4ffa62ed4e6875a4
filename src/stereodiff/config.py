"""Pipeline configuration: one typed config per backend, nested in :class:`PipelineConfig`, and the named presets.

``config.stage1`` / ``config.stage2`` are the settings dataclasses of the backends that run
(:mod:`stereodiff.stage1.configs`, :mod:`stereodiff.stage2.configs`; the registry :mod:`stereodiff.backends` maps
names to them). ``run.json`` records :meth:`PipelineConfig.to_dict` — every setting of those backends and nothing
else — and ``--config run.json`` reads it back, so a run can be repeated exactly. Any field can be set by name
(:func:`set_option`: ``stage1.flow_patch_stride=3``). Changing a stage's backend starts from the new backend's
defaults (settings are kept only when both backends share a config class, e.g. ``monst3r`` → ``dust3r``).

Presets:
    ``paper``: MonST3R (swin-2 pairs, 512 px) + DepthCrafter one-step refinement (windows 110 / overlap 25,
        trailing spacing, T=4, t=2→1), exactly the StereoDiff paper's settings.
    ``fast``: the same backends with fewer pairs (swin-1) and lower resolutions (384 px stage 1, 512 px stage 2).
    ``cpu``: the weights-free pair: geometric stereo matching + temporal refiner. Runs anywhere.
    ``auto``: ``paper`` when an accelerator is present and its weights are cached or downloadable, else ``cpu``
        with one notice (decided in :func:`stereodiff.devices.choose_preset`).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

from stereodiff.backends import STAGE1, STAGE2, Backend
from stereodiff.devices import check_device
from stereodiff.errors import InputError
from stereodiff.stage1.configs import BackendConfig, GeometricConfig, NetworkConfig
from stereodiff.stage2.configs import DepthCrafterConfig, TemporalConfig

__all__ = [
    "PRESETS",
    "PRESET_SUMMARIES",
    "PipelineConfig",
    "apply_options",
    "load_config_file",
    "preset_config",
    "set_option",
]

PRESET_SUMMARIES: dict[str, str] = {
    "paper": "MonST3R + one-step DepthCrafter, the paper's settings (weights, a GPU advised)",
    "fast": "the paper's backends with fewer pairs and lower resolutions",
    "cpu": "weights-free geometric stereo matching + temporal refiner; runs anywhere",
    "auto": "paper when a GPU (CUDA/MPS) and its weights are there, else cpu with a notice",
}
PRESETS = tuple(PRESET_SUMMARIES)
DTYPES = ("float32", "float16", "bfloat16")


@dataclass
class PipelineConfig:
    """Everything a run needs; ``run.json`` stores it so a run can be repeated exactly."""

    stage1: BackendConfig = field(default_factory=GeometricConfig)
    """The stage-1 backend's settings (``backend`` names it)."""
    stage2: BackendConfig = field(default_factory=TemporalConfig)
    """The stage-2 backend's settings (``backend`` names it)."""
    device: str = "auto"
    """``auto`` (CUDA, then MPS, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ``mps``."""
    dtype: str = "auto"
    """Network dtype: ``auto`` (the device's, :func:`stereodiff.gpu.default_dtype`: ``float16`` on CUDA as the
    official code, ``float32`` elsewhere), ``float32``, ``float16`` or ``bfloat16``. DUSt3R-family heads and the
    VAE encoding stay float32."""
    compile: bool = False
    """``torch.compile`` the networks (the DUSt3R-family encoder/decoder and the DepthCrafter UNet)."""
    seed: int = 0
    """Seed of every random draw (noise, RANSAC)."""
    preset: str = "custom"
    """Name of the preset this config came from (a record; it changes nothing)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        """Rebuild a config from :meth:`to_dict` output (or a ``run.json``); unknown keys are an error."""
        return apply_options(cls(), data).validate()

    def backends(self) -> tuple[Backend, Backend]:
        """The registry entries of the two stages (ValueError naming the stage when a name is unknown)."""
        return _backend(STAGE1, "stage1", self.stage1.backend), _backend(STAGE2, "stage2", self.stage2.backend)

    def validate(self) -> PipelineConfig:
        """Check names, types and ranges once; returns self. Raises ValueError naming the field."""
        for (stage, settings), entry in zip((("stage1", self.stage1), ("stage2", self.stage2)), self.backends()):
            if type(settings) is not entry.config:
                raise ValueError(
                    f"{stage} backend {entry.name!r} takes {entry.config.__name__}, got {type(settings).__name__}"
                )
            settings.validate()
        stage1, stage2 = self.backends()
        if stage1.build is None and stage2.uses_scene:
            users = [name for name, entry in STAGE2.items() if not entry.uses_scene]
            raise ValueError(f"stage1 'none' only works with a stage 2 that makes depth by itself ({', '.join(users)})")
        if self.dtype not in ("auto", *DTYPES):
            raise ValueError(f"dtype must be auto, float32, float16 or bfloat16, got {self.dtype!r}")
        check_device(self.device)
        return self


def _backend(registry: dict[str, Backend], stage: str, name: str) -> Backend:
    if name not in registry:
        raise ValueError(f"{stage} backend {name!r} is unknown; choose one of {', '.join(registry)}")
    return registry[name]


def preset_config(name: str, *, device: str = "auto") -> PipelineConfig:
    """The named preset's config. ``auto`` is decided here, for ``device`` (:func:`stereodiff.devices.choose_preset`:
    it logs one notice when it falls back to ``cpu``)."""
    if name == "paper":
        return PipelineConfig(
            stage1=NetworkConfig(backend="monst3r", pair_scheme="swin-2-noncyclic", resolution=512),
            stage2=DepthCrafterConfig(window=110, overlap=25, num_inference_steps=4),
            device=device,
            preset="paper",
        )
    if name == "fast":
        return PipelineConfig(
            stage1=NetworkConfig(backend="monst3r", pair_scheme="swin-1-noncyclic", resolution=384),
            stage2=DepthCrafterConfig(resolution=512),
            device=device,
            preset="fast",
        )
    if name == "cpu":  # moving objects on: made for dynamic video (issue #20, docs/geometric.md "Defaults")
        return PipelineConfig(
            stage1=GeometricConfig(
                resolution=320,
                movers=True,
                movers_short_offsets=(3,),
                movers_hole_reach=True,
                movers_beyond_part=0.0005,
                movers_oncoming=0.3,
                movers_seen_contact=0.1,
                movers_oncoming_trim=True,
                movers_min_area=0.001,
                movers_track_ahead=16,
                movers_up_to_horizon=3.0,
                movers_contact_beside=0.3,
                movers_beside_low=0.1,
                movers_cut_last_row=True,
                movers_cut_track=32,
                movers_ground_max_beyond=0.25,
                movers_path_contact=0.5,
                movers_path_confidence=0.3,
                movers_path_near=0.3,
                movers_path_near_foot=True,
                forward_near=True,
                focal_cascade=True,
                focal_cascade_robust=True,
                focal_kruppa_check=True,
                focal_track_edges=1.0,
                focal_trim_px=2.0,
                far_parallax_px=1.0,
                depth_range_window=8,
                depth_range_window_area=0.005,
                movers_underground_cut=True,
                movers_cut_margin=10.0,
                movers_cut_holes=8.0,
                movers_cut_skip_beyond=11.0,
                movers_up_beside=0.15,
                movers_cut_sway=0.005,
                movers_cut_sway_levels=True,
                movers_cut_sway_gap=0.4,
                movers_cut_sway_fit=0.75,
                movers_cut_sway_blend=0.5,
                movers_up_holes=0.35,
                movers_near_contact=0.3,
                movers_near_carry=32,
                movers_near_occluded=True,
                near_holes=3.0,
                near_holes_local=4,
                near_holes_along_weight=0.55,
                near_holes_mover_only=1.5,
                near_holes_bridge=8,
                near_holes_far_islands=2.0,
                near_holes_far_islands_rim=0.7,
                near_holes_end_carry=3,
                near_holes_before_reach=True,
                earlier_recheck=0.3,
                earlier_recheck_given=True,
                min_side_offset=2,
                min_side_offset_static=3,
                movers_side_up=2.0,
                poses_from_pairs=True,
                fusion_view_offsets=True,
                fusion_weak_rim=0.5,
                fusion_weak_rim_island=0.005,
                fusion_weak_rim_island_hole=0.1,
                fusion_weak_rim_island_nearer=0.3,
                fusion_weak_rim_keep_given=True,
                fusion_edge_median=3.0,
                fusion_edge_median_movers=True,
                rolling_shutter_readout="auto",
                rolling_shutter_detect=True,
                rolling_shutter_screen=True,
                rolling_shutter_screen_tracks=True,
                rolling_shutter_min_shift=3.5,
                sky=True,
                sky_grow=6,
                sky_carry=True,
                sky_near_recheck=0.9,
                sky_near_recheck_gap=16,
            ),
            stage2=TemporalConfig(
                hole_nearness=100.0,
                hole_lean_bottom=1 / 3,
                hole_warp_frames=6,
                hole_warp_min_px=3.0,
                hole_warp_ahead=True,
                motion_flow_refine="lk",
                hole_skip_rim_px=2.0,
                ahead_from_stage1=True,
                hole_pull_order=32.0,
                fill_min_support=1e-30,
                fill_min_support_area=0.04,
                fill_weak_nearer=True,
                hole_up_px=20,
                hole_up_trust=0.5,
                hole_up_near=0.1,
                hole_up_colour=100.0,
                hole_up_carried=True,
                hole_outline_px=10,
                hole_outline_rim_px=6.0,
                hole_outline_separation=0.8,
                hole_outline_mover_px=8.0,
                hole_mover_away_px=6,
                hole_mover_away_trust=0.5,
                hole_smooth_color=0.64,
                hole_smooth_step=0.3,
                hole_smooth_track=2,
                hole_smooth_min_px=4.0,
                hole_outline_views=8,
                hole_outline_views_static=True,
                hole_outline_views_margin=0.003,
                hole_outline_views_near_margin=0.003,
                hole_top_plane_px=16,
                hole_top_plane_views=8,
                hole_top_plane_views_margin=0.0,
                hole_top_plane_views_gap=0.5,
                hole_floor_plane_px=8,
                hole_floor_rim_px=8,
                hole_floor_world=True,
                hole_floor_refits=20,
                hole_floor_refit_sums=True,
                upsample_mode="holes",
                upsample_clamp=0.05,
                given_upsample_px=3.0,
                given_upsample_colour=True,
                hole_outline_wide_given=0.02,
                hole_outline_wide_frame_given=0.025,
                hole_outline_wide_frame_run=3,
                hole_near_cap=0.1,
                hole_near_cap_side=0.0,
            ),
            device=device,
            preset="cpu",
        )
    if name == "auto":
        from stereodiff.devices import choose_preset
        from stereodiff.progress import logger

        choice = choose_preset(device)
        if choice.preset == "cpu":
            logger.warning("preset auto: %s", choice.reason)
        else:
            logger.info(
                "preset auto: paper on %s (%s; --preset cpu forces the weights-free path)", choice.device, choice.reason
            )
        config = preset_config(choice.preset, device=choice.device)
        config.preset = f"auto:{choice.preset}"
        return config
    raise ValueError(f"preset {name!r} is unknown; choose one of {', '.join(PRESETS)}")


# ------------------------------------------------------------------------------------------- setting by name


def apply_options(config: PipelineConfig, data: dict[str, Any]) -> PipelineConfig:
    """Apply nested settings (a config file, ``run.json`` or its ``"config"``) onto ``config``; returns it.

    A stage's ``backend`` is applied before its other fields. Values are checked against the field types (strings
    are parsed, so ``{"stage1": {"resolution": "256"}}`` works too); unknown names are a ValueError.
    """
    if "config" in data and "stage1" not in data:  # a whole run.json
        data = data["config"]
    for key, value in data.items():
        if key in ("stage1", "stage2"):
            if not isinstance(value, dict):
                raise ValueError(f"{key} must be a table of settings, got {value!r}")
            for name, item in sorted(value.items(), key=lambda kv: kv[0] != "backend"):
                set_option(config, f"{key}.{name}", item)
        else:
            set_option(config, key, value)
    return config


def set_option(config: PipelineConfig, key: str, value: Any) -> None:
    """Set one setting by its dotted name: ``stage1.flow_patch_stride`` ← ``3`` or ``"3"``; ``device`` ← ``"cuda"``.

    ``stageN.backend`` switches the stage's backend (its defaults, unless both share a config class).
    Raises ValueError naming the setting when it does not exist or the value does not fit its type.
    """
    stage, _, name = key.rpartition(".")
    if stage in ("stage1", "stage2"):
        registry = STAGE1 if stage == "stage1" else STAGE2
        current = getattr(config, stage)
        if name == "backend":
            entry = _backend(registry, stage, str(value))
            new = dataclasses.replace(current, backend=entry.name) if type(current) is entry.config else entry.config()
            setattr(config, stage, new)
            return
        target, where = current, f"{stage} ({current.backend})"
    elif stage == "" and name not in ("stage1", "stage2"):
        target, where = config, "the pipeline"
    else:
        raise ValueError(f"setting {key!r} is unknown; use stage1.<field>, stage2.<field>, device, dtype or seed")
    hints = typing.get_type_hints(type(target))
    names = [f.name for f in dataclasses.fields(target) if f.name != "backend"]
    if name not in names:
        raise ValueError(f"{where} has no setting {name!r}; its settings are: {', '.join(names)}")
    setattr(target, name, _coerce(value, hints[name], key))


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """``value`` (native or a string from the command line) as the type ``hint``; ValueError naming ``key``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    text = value.strip() if isinstance(value, str) else None
    if origin in (Union, types.UnionType):
        if type(None) in args and (value is None or (text is not None and text.lower() in ("none", "null", ""))):
            return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, key)
            except ValueError:
                continue
        raise ValueError(f"{key}={value!r} does not fit {_type_name(hint)}")
    if origin is Literal:
        if value in args:
            return value
        raise ValueError(f"{key}={value!r} must be one of {', '.join(map(str, args))}")
    if origin is tuple:
        items = value if isinstance(value, list | tuple) else [v for v in text.strip("()[] ").split(",") if v.strip()]
        kinds = [args[0]] * len(items) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(kinds) != len(items):
            raise ValueError(f"{key}={value!r} needs {len(kinds)} comma-separated values")
        return tuple(_coerce(item, kind, key) for item, kind in zip(items, kinds))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
    elif hint is int and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        try:
            return int(text if text is not None else value)
        except (TypeError, ValueError):
            pass
    elif hint is float and not isinstance(value, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            pass
    elif hint is str and isinstance(value, str):
        return value
    raise ValueError(f"{key}={value!r} must be {_type_name(hint)}")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The settings in a ``.toml`` or ``.json`` file (of a ``run.json``: its ``"config"``); InputError if unreadable."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_text()
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    except (OSError, ValueError) as err:
        raise InputError(
            f"cannot read the config file {path}: {' '.join(str(err).split())}",
            "pass a .toml or .json file (e.g. a run.json)",
        ) from err
    if not isinstance(data, dict):
        raise InputError(f"{path} does not hold a table of settings", "see `stereodiff config show`")
    return data["config"] if "config" in data and "stage1" not in data else data
