"""Procedural solid textures and Lambertian shading for the synthetic scenes.

Textures are functions of the hit point in the primitive's own frame (metres), so they move rigidly with the
surface: a textured point has the same colour in every frame that sees it (up to shading), which is what optical
flow and stereo matchers need. Octaves finer than about two pixels at the hit's distance fade out, so distant
surfaces do not alias into flicker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["LATTICE_SIZE", "Material", "make_lattice", "shade", "sky_colour", "surface_colour", "value_noise"]

#: value-noise lattice period (cells per axis)
LATTICE_SIZE = 64
_MASK = LATTICE_SIZE - 1

#: wavelength ratio between successive noise octaves (not a power of two, so octaves do not line up)
_OCTAVE_RATIO = 0.37


@dataclass(frozen=True)
class Material:
    """A procedural surface.

    Attributes:
        color_a, color_b: RGB in [0, 1]; the texture mixes between them.
        pattern: ``"noise"`` (multi-octave value noise), ``"checker"`` (3-D checkerboard over noise),
            ``"stripes"`` (bands along the primitive's x axis over noise).
        scale_m: the pattern's cell size / the coarsest noise wavelength, metres.
        octaves: number of noise octaves (each ``0.37`` times the previous wavelength; the first two give the
            colour variation, the rest the fine detail).
        offset: ``(3,)`` metres added to the coordinates, so materials with equal settings still differ.
        contrast: weight of the pattern against the noise, in [0, 1].
    """

    color_a: tuple[float, float, float]
    color_b: tuple[float, float, float]
    pattern: Literal["noise", "checker", "stripes"] = "noise"
    scale_m: float = 0.5
    octaves: int = 6
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    contrast: float = 0.5


def make_lattice(rng: np.random.Generator) -> np.ndarray:
    """The value-noise lattice: ``LATTICE_SIZE**3`` uniform values in [0, 1) on a periodic grid, stored for fast
    lookups as a flat complex64 table whose entry (x, y, z) holds the values at z (real) and z + 1 (imaginary),
    with x and y padded by one period row; ``[(L+1) * (L+1) * L]``."""
    n = LATTICE_SIZE
    values = rng.random(n**3, dtype=np.float32).reshape(n, n, n)
    padded = np.pad(values, ((0, 1), (0, 1), (0, 1)), mode="wrap")  # [L+1,L+1,L+1]
    return (padded[:, :, :-1] + 1j * padded[:, :, 1:]).astype(np.complex64).ravel()


def value_noise(p: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Smooth 3-D value noise at points ``p [N,3]`` (lattice units), values in [0, 1]; ``[N]`` float32."""
    n = LATTICE_SIZE
    f = np.floor(p)
    w = p - f
    w = (w * w * (3.0 - 2.0 * w)).astype(np.float32)  # smoothstep weights
    i = f.astype(np.int32) & _MASK
    base = i[:, 0] * ((n + 1) * n) + i[:, 1] * n + i[:, 2]  # [N] index of corner (x0, y0, z0)
    wz = w[:, 2]

    def lerp_z(offset: int) -> np.ndarray:
        pair = lattice.take(base + offset)  # values at z0 (real) and z1 (imaginary)
        return pair.real + wz * (pair.imag - pair.real)

    a = lerp_z(0)
    a += w[:, 1] * (lerp_z(n) - a)
    b = lerp_z((n + 1) * n)
    b += w[:, 1] * (lerp_z((n + 1) * n + n) - b)
    return a + w[:, 0] * (b - a)


def _fbm(
    p: np.ndarray, wavelength_m: float, octaves: range, half_inv_footprint: np.ndarray, lattice: np.ndarray
) -> np.ndarray:
    """Multi-octave noise ``[N]``, contrast-stretched to about [0, 1]: octave k has wavelength
    ``wavelength_m * 0.37**k`` and weight ``0.6**k``; octaves shorter than ~2 pixels fade out
    (``half_inv_footprint [N]`` = 1 / (2 * pixel footprint in metres)), and where all fade the result is 0.5."""
    total = np.zeros(len(p), dtype=np.float32)
    weight_sum = np.zeros(len(p), dtype=np.float32)
    for octave in octaves:
        wavelength = wavelength_m * _OCTAVE_RATIO**octave
        fade = np.clip(np.float32(wavelength) * half_inv_footprint - np.float32(1.0), 0.0, 1.0)
        weight = np.float32(0.6**octave) * fade
        shift = np.float32(17.31 * (octave + 1))
        if fade.min() > 0:  # every point needs this octave
            total += weight * value_noise(p * np.float32(1.0 / wavelength) + shift, lattice)
            weight_sum += weight
            continue
        active = np.flatnonzero(fade)
        if active.size == 0:
            break
        total[active] += weight[active] * value_noise(p[active] * np.float32(1.0 / wavelength) + shift, lattice)
        weight_sum += weight
    mean = np.where(weight_sum > 0, total / np.maximum(weight_sum, 1e-6), 0.5)
    return np.clip(0.5 + (mean - 0.5) * np.float32(2.5), 0.0, 1.0).astype(np.float32)


def surface_colour(material: Material, p_local: np.ndarray, footprint_m: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Albedo ``[N,3]`` float32 in [0, 1] of a material at points ``p_local [N,3]`` (primitive frame, metres).

    The two coarsest noise octaves and the pattern mix ``color_a`` and ``color_b``; the finer octaves modulate
    the brightness (x0.55 to x1.45), which gives matchers texture at every distance.
    ``footprint_m [N]``: size of one pixel on the surface at each point (metres), used to fade fine detail.
    """
    p = p_local.astype(np.float32) + np.asarray(material.offset, dtype=np.float32)  # [N,3]
    half_inv_footprint = np.float32(0.5) / np.maximum(footprint_m, np.float32(1e-9))  # [N]
    coarse = _fbm(p, material.scale_m, range(2), half_inv_footprint, lattice)  # [N]
    detail = _fbm(p, material.scale_m, range(2, material.octaves), half_inv_footprint, lattice)  # [N]
    if material.pattern == "checker":
        cells = np.floor(p / np.float32(material.scale_m) + np.float32(0.37)).astype(np.int64).sum(axis=1)
        pattern = (cells & 1).astype(np.float32)
        # a checker finer than ~3 pixels turns into its mean
        sharp = np.clip(np.float32(material.scale_m * 2 / 3) * half_inv_footprint - np.float32(1.0), 0.0, 1.0)
        pattern = 0.5 + (pattern - 0.5) * sharp
    elif material.pattern == "stripes":
        pattern = 0.5 + 0.5 * np.sin(np.float32(2 * np.pi / material.scale_m) * p[:, 0] + 3.0 * coarse)
    else:
        pattern = coarse
    c = np.float32(material.contrast)
    mix = (c * pattern + (1 - c) * coarse)[:, None]  # [N,1]
    a = np.asarray(material.color_a, dtype=np.float32)
    b = np.asarray(material.color_b, dtype=np.float32)
    brightness = (np.float32(0.55) + np.float32(0.9) * detail)[:, None]
    return np.clip((a + mix * (b - a)) * brightness, 0.0, 1.0)


def shade(normals_world: np.ndarray, light_dir: np.ndarray, ambient: float = 0.35) -> np.ndarray:
    """Lambertian shading ``[N]`` float32: ``ambient + (1 - ambient) * max(0, n . l)``.

    ``normals_world [N,3]`` face the camera; ``light_dir (3,)`` points from the surface towards the light.
    """
    lambert = np.maximum(normals_world @ np.asarray(light_dir, dtype=normals_world.dtype), 0.0)
    return (np.float32(ambient) + np.float32(1.0 - ambient) * lambert).astype(np.float32)


def sky_colour(rays_world: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """Sky colour ``[N,3]`` float32 from world ray directions ``[N,3]`` only (a backdrop at infinity, y down).

    A vertical gradient with soft clouds: it depends on the direction alone, so it has no parallax.
    """
    d = rays_world / np.linalg.norm(rays_world, axis=1, keepdims=True)
    up = np.clip(-d[:, 1], 0.0, 1.0).astype(np.float32)[:, None]  # elevation above the horizon
    horizon = np.array([0.80, 0.86, 0.93], dtype=np.float32)
    zenith = np.array([0.35, 0.55, 0.85], dtype=np.float32)
    base = horizon + np.sqrt(up) * (zenith - horizon)
    clouds = value_noise(d * 6.0 + 3.3, lattice) * 0.6 + value_noise(d * 17.0 + 9.1, lattice) * 0.4
    cloud = np.clip((clouds - 0.45) * 2.5, 0.0, 1.0)[:, None]
    return base + cloud * (np.float32(0.97) - base)
