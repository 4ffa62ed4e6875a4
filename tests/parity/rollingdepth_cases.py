"""Inputs of the RollingDepth parity cases, shared by the official-code script and tests/test_rollingdepth.py."""

from __future__ import annotations

import numpy as np

# name -> (frames, height, width, resolution, official forward() settings, seed); ``coalign_iterations`` goes to
# the official DepthAligner as ``coalign_kwargs={"num_iterations": n}`` (its default, 2000, when absent)
CASES = {
    "fast": (12, 48, 64, 64, {"dilations": [1, 25], "refine_step": 0}, 0),
    "full": (10, 60, 80, 64, {"dilations": [1, 2, 25], "refine_step": 2, "coalign_iterations": 200}, 1),
}


def synthetic_frames(num_frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """The test clip: ``[T,H,W,3]`` uint8, a moving gradient plus noise (seeded)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    frames = []
    for t in range(num_frames):
        base = np.stack([xx + 0.05 * t, yy, 0.5 * (xx + yy)], -1)
        frames.append(np.clip((base % 1.0) * 200 + rng.random((height, width, 3)) * 55, 0, 255))
    return np.stack(frames).astype(np.uint8)


def synthetic_snippets(num_frames: int, dilations: list[int], seed: int) -> list[np.ndarray]:
    """Snippets of a known video with a random affine map per snippet: per dilation ``[S, 3, 24, 32]`` float32."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:24, 0:32] / 32.0
    video = np.stack([1.0 + 0.5 * np.sin(3 * xx + 0.2 * t) + yy for t in range(num_frames)])
    out = []
    for d in dilations:
        count = num_frames - 2 * d
        idx = np.arange(count)[:, None] + d * np.arange(3)[None]
        scale = rng.uniform(0.5, 2.0, (count, 1, 1, 1))
        shift = rng.uniform(-0.3, 0.3, (count, 1, 1, 1))
        out.append((video[idx] * scale + shift + 0.01 * rng.standard_normal(video[idx].shape)).astype(np.float32))
    return out
