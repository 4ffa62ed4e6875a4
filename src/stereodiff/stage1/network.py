"""Stage-1 matcher with a DUSt3R-family network (MonST3R, DUSt3R, MASt3R): frames → :class:`PairPredictions`.

Steps of :meth:`NetworkMatcher.predict`:

1. Working size, as MonST3R with ``crop=False``: the long side is resized to ``resolution`` (LANCZOS when shrinking,
   BICUBIC otherwise), then the image is resized (LANCZOS) to the nearest-below multiples of 16 — the whole field
   of view is kept. Square frames become 4:3, as in the official code. Pixels are mapped to [-1, 1].
2. Pairs: the given ``[P,2]`` list, or ``pair_scheme`` (default ``swin-2-noncyclic``, symmetrised).
3. Pairs are processed sorted by their later frame, in batches of ``batch_size``. Every frame is encoded ONCE and
   its encoder tokens are reused by every pair it appears in (the official code encodes both images of every
   pair: 868 encoder passes instead of 110 for 110 frames with swin-2). Tokens are dropped after their last use
   and at most ``max_cached_frames`` are kept, so memory does not grow with the video length.
   Batches are fixed by construction (:mod:`stereodiff.blocks`), so a resumed run computes exactly what the
   uninterrupted one did: decoder batches are slices of the schedule of ALL pairs (a resumed run recomputes every
   batch with a missing pair, whole), and frames are encoded in blocks of ``batch_size`` frames aligned to frame 0.
4. Decoder and heads run batched; with ``dtype`` float16/bfloat16 the encoder and decoder run under autocast (the
   heads always in float32) and a batch with a non-finite output is recomputed in float32.
5. Results go to a :class:`~stereodiff.stage1.cache.PairCache` when ``cache_dir`` is given (pairs already there
   are skipped: resume), otherwise to in-memory arrays.
"""

from __future__ import annotations

from collections import OrderedDict
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stereodiff.blocks import block_of
from stereodiff.camera import fit_long_side
from stereodiff.errors import InputError
from stereodiff.progress import logger, progress
from stereodiff.stage1 import PairwiseReconstruction
from stereodiff.stage1.configs import NetworkConfig
from stereodiff.stage1.croco.model import AsymmetricCroCo3DStereo, StereoOutput
from stereodiff.types import PairPredictions

__all__ = ["NetworkMatcher", "working_size"]

DEFAULT_PAIR_SCHEME = "swin-2-noncyclic"


def working_size(height: int, width: int, resolution: int = 512) -> tuple[int, int]:
    """``(h, w)`` in pixels at which a ``height×width`` frame is processed (MonST3R ``crop=False``).

    Example: 1920×1080 → 512×288; Sintel 1024×436 → 512×208; 640×640 → 512×384 (square frames become 4:3 as
    intended by the official ``square_ok=False``; the official ``crop=False`` path itself fails on them with
    current Pillow because it passes a float height).
    """
    h1, w1 = fit_long_side(height, width, resolution)
    half_w, half_h = (w1 // 2 * 2 // 16) * 8, (h1 // 2 * 2 // 16) * 8
    if w1 == h1:  # square_ok=False: square images become 4:3
        half_h = (3 * half_w // 4) // 8 * 8
    if half_w < 8 or half_h < 8:
        raise InputError(
            f"frames of {width}x{height} px are too small for the network at resolution {resolution}",
            "use a larger --resolution or larger frames (each side must reach 16 px)",
        )
    return 2 * half_h, 2 * half_w


def preprocess_frame(frame: np.ndarray, resolution: int = 512) -> torch.Tensor:
    """One RGB uint8 frame ``[H,W,3]`` → ``[3,h,w]`` float32 in [-1, 1] at :func:`working_size`."""
    from PIL import Image

    height, width = frame.shape[:2]
    image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    h1, w1 = fit_long_side(height, width, resolution)
    resample = Image.Resampling.LANCZOS if max(height, width) > resolution else Image.Resampling.BICUBIC
    image = image.resize((w1, h1), resample)
    h, w = working_size(height, width, resolution)
    image = image.resize((w, h), Image.Resampling.LANCZOS)
    x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255  # [3,h,w] in [0,1]
    return (x - 0.5) / 0.5


def _check_frames(frames: Any) -> None:
    shape = getattr(frames, "shape", None)
    dtype = getattr(frames, "dtype", None)
    if shape is None or len(shape) != 4 or shape[-1] != 3 or np.dtype(dtype) != np.uint8:
        raise ValueError(f"frames must be a [T,H,W,3] uint8 RGB array, got shape {shape} dtype {dtype}")
    if shape[0] < 2:
        raise ValueError(f"frames must hold at least 2 frames to form pairs, got T={shape[0]}")


def _check_pairs(pairs: Any, num_frames: int) -> np.ndarray:
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu" or len(pairs) == 0:
        raise ValueError(f"pairs must be a non-empty integer array of shape [P,2], got {pairs.dtype} {pairs.shape}")
    if pairs.min() < 0 or pairs.max() >= num_frames:
        raise ValueError(f"pairs must index frames 0..{num_frames - 1}, got values {pairs.min()}..{pairs.max()}")
    if np.any(pairs[:, 0] == pairs[:, 1]):
        raise ValueError("pairs must not pair a frame with itself")
    return pairs.astype(np.int64)


class NetworkMatcher(PairwiseReconstruction):
    """Stage-1 backend around an :class:`AsymmetricCroCo3DStereo` (see the module docstring).

    Args:
        model: the network, or a name/path for :func:`~stereodiff.stage1.croco.load_croco_stereo`.
        resolution: long side of the working size in pixels (512 for the published 512 checkpoints).
        batch_size: pairs per decoder batch.
        device: torch device.
        dtype: ``torch.float32`` (default, as the official inference), or ``torch.float16``/``torch.bfloat16``
            autocast for the encoder and decoder (heads stay float32; non-finite batches are redone in float32).
        pair_scheme: pair graph used when ``predict`` gets no pairs (default ``swin-2-noncyclic``, symmetrised).
        max_cached_frames: most encoded frames kept at once (at least ``2·batch_size`` are always allowed).

    ``reconstruct`` is the shared default (:class:`~stereodiff.stage1.PairwiseReconstruction`) with the alignment
    settings of ``settings`` (:meth:`from_config` sets them; a directly built matcher uses the defaults).
    """

    def __init__(
        self,
        model: AsymmetricCroCo3DStereo | str | Path,
        *,
        resolution: int = 512,
        batch_size: int = 8,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        pair_scheme: str | None = None,
        max_cached_frames: int = 64,
    ) -> None:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 32 or resolution % 16:
            raise ValueError(f"resolution must be a multiple of 16 and at least 32, got {resolution!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if dtype not in (torch.float32, torch.float16, torch.bfloat16):
            raise ValueError(f"dtype must be torch.float32, torch.float16 or torch.bfloat16, got {dtype!r}")
        if isinstance(max_cached_frames, bool) or not isinstance(max_cached_frames, int) or max_cached_frames < 1:
            raise ValueError(f"max_cached_frames must be a positive integer, got {max_cached_frames!r}")
        self.device = torch.device(device)
        if not isinstance(model, torch.nn.Module):
            from stereodiff.stage1.croco.loading import load_croco_stereo

            model = load_croco_stereo(model, device=self.device)
        self.model = model.to(self.device).eval()
        self.resolution = resolution
        self.batch_size = batch_size
        self.dtype = dtype
        self.pair_scheme = pair_scheme or DEFAULT_PAIR_SCHEME
        self.max_cached_frames = max(max_cached_frames, 2 * batch_size)
        self.encoder_passes = 0
        """Frames encoded during the last :meth:`predict` (for the benchmark)."""
        self.settings = NetworkConfig(
            resolution=resolution, batch_size=batch_size, pair_scheme=pair_scheme, max_cached_frames=max_cached_frames
        )

    @classmethod
    def from_config(
        cls,
        config: NetworkConfig,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        seed: int = 0,
    ) -> NetworkMatcher:
        """The matcher of ``config`` (weights: ``config.weights`` or the backend's published checkpoint)."""
        matcher = cls(
            config.weights or config.backend,
            resolution=config.resolution,
            batch_size=config.batch_size,
            device=device,
            dtype=dtype,
            pair_scheme=config.pair_scheme,
            max_cached_frames=config.max_cached_frames,
        )
        matcher.settings, matcher.seed = config, seed
        return matcher

    # -- steps -----------------------------------------------------------------------------------------------

    def _autocast(self) -> Any:
        if self.dtype == torch.float32:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _encode(self, frames: Any, indices: list[int], autocast: bool) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Encoder tokens ``[N,C]`` and positions ``[N,2]`` of frames ``indices`` and of the other frames of their
        fixed blocks (:func:`~stereodiff.blocks.block_of`, ``batch_size`` frames), one encoder batch per block, under
        autocast if asked: a frame's tokens never depend on which other frames were needed at the time."""
        num_frames = int(frames.shape[0])
        blocks = dict.fromkeys(block_of(t, self.batch_size, num_frames) for t in indices)
        encoded = {}
        for block in blocks:
            images = torch.stack([preprocess_frame(np.asarray(frames[t]), self.resolution) for t in block])
            with self._autocast() if autocast else nullcontext():
                tokens, pos = self.model.encode(images.to(self.device))  # [F,N,C], [F,N,2]
            self.encoder_passes += len(block)
            encoded.update({t: (tokens[k], pos[k]) for k, t in enumerate(block)})
        return encoded

    def _decode(
        self, encoded: dict[int, tuple[torch.Tensor, torch.Tensor]], batch: np.ndarray, size: tuple[int, int]
    ) -> StereoOutput:
        feat1 = torch.stack([encoded[int(i)][0] for i in batch[:, 0]])  # [B,N,C]
        feat2 = torch.stack([encoded[int(j)][0] for j in batch[:, 1]])
        pos1 = torch.stack([encoded[int(i)][1] for i in batch[:, 0]])  # [B,N,2]
        pos2 = torch.stack([encoded[int(j)][1] for j in batch[:, 1]])
        return self.model.decode(feat1, pos1, feat2, pos2, (size, size))

    def _run_batch(self, frames: Any, cache: OrderedDict, batch: np.ndarray, size: tuple[int, int]) -> StereoOutput:
        needed = list(dict.fromkeys(int(t) for t in batch.ravel()))
        new = [t for t in needed if t not in cache]
        if new:
            cache.update(self._encode(frames, new, autocast=True))
        for t in needed:
            cache.move_to_end(t)
        with self._autocast():
            out = self._decode(cache, batch, size)
        if self.dtype != torch.float32 and not all(
            bool(torch.isfinite(x).all()) for x in (out.pts1, out.conf1, out.pts2_in_1, out.conf2)
        ):
            logger.warning("non-finite %s network output for pairs %s: recomputing in float32", self.dtype,
                           batch.tolist())  # fmt: skip
            encoded = self._encode(frames, needed, autocast=False)
            out = self._decode(encoded, batch, size)
        return out

    @staticmethod
    def _schedule(pairs: np.ndarray, todo: np.ndarray) -> np.ndarray:
        """``todo`` (indices into ``pairs``) sorted by (later frame, earlier frame): frames are met in order."""
        sub = pairs[todo]
        order = np.lexsort((sub.min(axis=1), sub.max(axis=1)))
        return todo[order]

    # -- public ----------------------------------------------------------------------------------------------

    @torch.inference_mode()
    def predict(
        self, frames: Any, pairs: np.ndarray | None = None, *, cache_dir: Path | None = None
    ) -> PairPredictions:
        """Pointmaps and confidences for every directed pair.

        Args:
            frames: ``[T,H,W,3]`` uint8 RGB array-like (may be a ``np.memmap``; read one frame at a time).
            pairs: ``[P,2]`` frame indices ``(i, j)``; default: ``pair_scheme``, symmetrised.
            cache_dir: folder of a :class:`~stereodiff.stage1.cache.PairCache`; pairs already stored are skipped
                and the result holds read-only memmap views of the cache.

        Returns:
            ``PairPredictions`` at the working size ``(h, w)`` (see :func:`working_size`), all in camera ``i``.
        """
        # 1. Check inputs
        _check_frames(frames)
        num_frames, height, width = (int(v) for v in frames.shape[:3])
        if pairs is None:
            from stereodiff.stage1.pairs import make_pairs

            pairs = make_pairs(num_frames, self.pair_scheme, symmetrize=True)
        pairs = _check_pairs(pairs, num_frames)
        size = working_size(height, width, self.resolution)
        h, w = size

        # 2. Prepare the outputs: the cache on disk, or arrays in memory
        cache = None
        if cache_dir is not None:
            from stereodiff.stage1.cache import PairCache

            cache = PairCache.open(Path(cache_dir), pairs, size, num_frames)
            todo = cache.missing()
        else:
            num = len(pairs)
            arrays = {
                "pts_i": np.empty((num, h, w, 3), np.float32),
                "pts_j": np.empty((num, h, w, 3), np.float32),
                "conf_i": np.empty((num, h, w), np.float32),
                "conf_j": np.empty((num, h, w), np.float32),
            }
            todo = np.arange(num, dtype=np.int64)

        # 3. Run the batches; each frame is encoded once and dropped after its last use
        order = self._schedule(pairs, np.arange(len(pairs)))
        batches = [order[k : k + self.batch_size] for k in range(0, len(order), self.batch_size)]
        missing = np.zeros(len(pairs), bool)
        missing[todo] = True
        batches = [batch for batch in batches if missing[batch].any()]  # resume: whole batches, never a remainder
        last_use: dict[int, int] = {}
        for b, batch in enumerate(batches):
            for t in pairs[batch].ravel():
                last_use[int(t)] = b
        encoded: OrderedDict[int, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self.encoder_passes = 0
        for b, batch in enumerate(progress(batches, desc="stage 1: network pairs", unit="batch")):
            out = self._run_batch(frames, encoded, pairs[batch], size)
            results = [x.float().cpu().numpy() for x in (out.pts1, out.pts2_in_1, out.conf1, out.conf2)]
            if cache is not None:
                cache.write(batch, *results)
            else:
                for name, value in zip(("pts_i", "pts_j", "conf_i", "conf_j"), results):
                    arrays[name][batch] = value
            for t in [t for t in encoded if last_use.get(t, -1) <= b]:
                del encoded[t]
            while len(encoded) > self.max_cached_frames:
                encoded.popitem(last=False)

        # 4. Return
        if cache is not None:
            return cache.predictions()
        return PairPredictions(pairs=pairs, num_frames=num_frames, **arrays)
