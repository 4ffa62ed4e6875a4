"""NetworkMatcher on a tiny random network: preprocessing, per-frame encoder reuse, pair cache, autocast fallback."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from stereodiff.stage1.network import NetworkMatcher, preprocess_frame, working_size
from stereodiff.stage1.pairs import make_pairs


def _video(rng: np.random.Generator, num_frames: int = 4, height: int = 20, width: int = 32) -> np.ndarray:
    """Smooth moving gradients plus noise, ``[T,H,W,3]`` uint8."""
    v, u = np.mgrid[0:height, 0:width]
    frames = [
        np.stack([128 + 100 * np.sin((u + 3 * t) / 9), 128 + 100 * np.cos((v - 2 * t) / 7), (u + v + 5 * t) % 256], -1)
        for t in range(num_frames)
    ]
    noisy = np.asarray(frames) + rng.normal(0, 8, (num_frames, height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _per_pair_reference(model, frames: np.ndarray, pairs: np.ndarray, resolution: int) -> list[np.ndarray]:
    """The official way: both images of every pair through the whole network, one pair at a time."""
    out = {"pts_i": [], "pts_j": [], "conf_i": [], "conf_j": []}
    for i, j in pairs:
        img1 = preprocess_frame(frames[i], resolution)[None]
        img2 = preprocess_frame(frames[j], resolution)[None]
        with torch.no_grad():
            res = model(img1, img2)
        out["pts_i"].append(res.pts1[0].numpy())
        out["pts_j"].append(res.pts2_in_1[0].numpy())
        out["conf_i"].append(res.conf1[0].numpy())
        out["conf_j"].append(res.conf2[0].numpy())
    return [np.stack(v) for v in out.values()]


def _arrays(preds) -> list[np.ndarray]:
    return [np.asarray(preds.pts_i), np.asarray(preds.pts_j), np.asarray(preds.conf_i), np.asarray(preds.conf_j)]


@pytest.mark.parametrize(
    ("height", "width", "expected"),
    [
        (1080, 1920, (288, 512)),
        (480, 854, (288, 512)),
        (480, 640, (384, 512)),
        (436, 1024, (208, 512)),  # Sintel: 13 token rows (odd grid)
        (352, 1216, (144, 512)),  # KITTI
        (640, 640, (384, 512)),  # square -> 4:3, as the official square_ok=False
        (1920, 1080, (512, 288)),  # portrait stays portrait
        (240, 320, (384, 512)),  # upscaled (BICUBIC) to the long side
    ],
)
def test_working_size_follows_monst3r_no_crop(height, width, expected):
    assert working_size(height, width, 512) == expected


def test_preprocess_maps_to_minus_one_one_and_resizes_whole_frame(rng):
    frame = rng.integers(0, 256, (32, 64, 3), dtype=np.uint8)  # already at the working size for resolution 64
    x = preprocess_frame(frame, 64)
    expected = (torch.from_numpy(frame).permute(2, 0, 1).float() / 255 - 0.5) / 0.5
    assert torch.equal(x, expected)
    big = preprocess_frame(rng.integers(0, 256, (436, 1024, 3), dtype=np.uint8), 512)
    assert big.shape == (3, 208, 512) and big.min() >= -1 and big.max() <= 1


def test_each_frame_is_encoded_once_and_outputs_match_per_pair_forward(tiny_croco, rng, tmp_path):
    frames = _video(rng)
    np.save(tmp_path / "frames.npy", frames)
    memmap = np.load(tmp_path / "frames.npy", mmap_mode="r")
    matcher = NetworkMatcher(tiny_croco, resolution=32, batch_size=3)
    preds = matcher.predict(memmap)
    np.testing.assert_array_equal(preds.pairs, make_pairs(4, "swin-2-noncyclic", symmetrize=True))
    assert preds.num_pairs == 10 and preds.size == (16, 32) and preds.num_frames == 4
    assert matcher.encoder_passes == 4  # the official code runs 2 * 10 = 20 encoder passes
    for ours, ref in zip(_arrays(preds), _per_pair_reference(tiny_croco, frames, preds.pairs, 32)):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    assert np.all(preds.conf_i >= 1) and np.std(preds.pts_j) > 1e-3


def test_pair_cache_streams_and_resumes(tiny_croco, rng, tmp_path):
    frames = _video(rng)
    pairs = np.array([[0, 1], [2, 3], [1, 0], [3, 1], [0, 2]])
    matcher = NetworkMatcher(tiny_croco, resolution=32, batch_size=2)
    in_memory = _arrays(matcher.predict(frames, pairs))
    cached = matcher.predict(frames, pairs, cache_dir=tmp_path / "pairs")
    assert isinstance(cached.pts_i, np.memmap)
    for a, b in zip(_arrays(cached), in_memory):
        np.testing.assert_array_equal(a, b)
    # resume: nothing left to do
    again = matcher.predict(frames, pairs, cache_dir=tmp_path / "pairs")
    assert matcher.encoder_passes == 0
    np.testing.assert_array_equal(np.asarray(again.pts_j), in_memory[1])
    # a run killed before pairs 1 and 3 were marked done: only those are recomputed
    for name, value in (("done", False), ("pts_i", 0)):
        stored = np.lib.format.open_memmap(tmp_path / "pairs" / f"{name}.npy", mode="r+")
        stored[[1, 3]] = value
        stored.flush()
        del stored
    resumed = matcher.predict(frames, pairs, cache_dir=tmp_path / "pairs")
    # the batches holding them, [(0,2), (3,1)] and [(2,3)], are recomputed whole: frame blocks [0,1] and [2,3]
    assert matcher.encoder_passes == 4
    for a, b in zip(_arrays(resumed), in_memory):  # the same batches as the uninterrupted run: the same bits
        np.testing.assert_array_equal(a, b)


def test_resumed_matcher_feeds_the_network_the_same_batches(tiny_croco, rng, tmp_path, record_inputs):
    """Encoder and decoder batches of a resumed run are batches of the uninterrupted run (shapes and contents),
    whichever pairs were left: the resumed numbers are bit-identical on any CPU, by construction."""
    frames = _video(rng, num_frames=7)
    matcher = NetworkMatcher(tiny_croco, resolution=32, batch_size=3)
    modules = {"encoder": tiny_croco.patch_embed, "decoder": tiny_croco.decoder_embed}
    with record_inputs(**modules) as uninterrupted:
        first = _arrays(matcher.predict(frames, cache_dir=tmp_path / "pairs"))
    assert {shape[0] for name, ((shape, _),) in uninterrupted if name == "encoder"} == {3, 1}  # blocks 0-2, 3-5, 6
    stored = np.lib.format.open_memmap(tmp_path / "pairs" / "done.npy", mode="r+")
    stored[[4, 11, 12]] = False  # killed with pairs of three different batches not synced
    stored.flush()
    del stored
    with record_inputs(**modules) as resumed:
        again = _arrays(matcher.predict(frames, cache_dir=tmp_path / "pairs"))
    assert resumed and all(call in uninterrupted for call in resumed)
    assert sum(name == "decoder" for name, _ in resumed) < sum(name == "decoder" for name, _ in uninterrupted)
    for a, b in zip(again, first):
        np.testing.assert_array_equal(a, b)


def test_bounded_frame_cache_gives_the_same_result(tiny_croco, rng):
    frames = _video(rng, num_frames=3)
    pairs = make_pairs(3, "complete", symmetrize=True)
    full = NetworkMatcher(tiny_croco, resolution=32, batch_size=1)
    bounded = NetworkMatcher(tiny_croco, resolution=32, batch_size=1, max_cached_frames=1)  # keeps 2 frames at most
    expected = _arrays(full.predict(frames, pairs))
    got = _arrays(bounded.predict(frames, pairs))
    assert full.encoder_passes == 3 and bounded.encoder_passes > 3
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_half_precision_overflow_falls_back_to_float32(tiny_croco, rng):
    model = copy.deepcopy(tiny_croco)
    with torch.no_grad():  # an MLP with hidden activations beyond the float16 range (65504); fine in float32
        mlp = model.enc_blocks[0].mlp
        mlp.fc1.weight.mul_(1e5)
        mlp.fc1.bias.mul_(1e5)
        mlp.fc2.weight.div_(1e5)
    frames = _video(rng, num_frames=3)
    pairs = np.array([[0, 1], [2, 1]])
    img = preprocess_frame(frames[0], 32)[None]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.float16):
        raw = model(img, img)
    assert not torch.isfinite(raw.pts1).all()  # without the fallback the output would be broken
    fp32 = _arrays(NetworkMatcher(model, resolution=32).predict(frames, pairs))
    fp16 = _arrays(NetworkMatcher(model, resolution=32, dtype=torch.float16).predict(frames, pairs))
    assert all(np.isfinite(a).all() for a in fp32)
    for a, b in zip(fp16, fp32):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_bad_inputs_name_the_argument(tiny_croco, rng):
    matcher = NetworkMatcher(tiny_croco, resolution=32)
    frames = _video(rng, num_frames=3)
    with pytest.raises(ValueError, match="frames"):
        matcher.predict(frames.astype(np.float32))
    with pytest.raises(ValueError, match="frames"):
        matcher.predict(frames[:1])
    with pytest.raises(ValueError, match="itself"):
        matcher.predict(frames, np.array([[0, 0]]))
    with pytest.raises(ValueError, match="index frames"):
        matcher.predict(frames, np.array([[0, 3]]))
    with pytest.raises(ValueError, match="resolution"):
        NetworkMatcher(tiny_croco, resolution=50)
    with pytest.raises(ValueError, match="batch_size"):
        NetworkMatcher(tiny_croco, batch_size=0)
    with pytest.raises(ValueError, match="dtype"):
        NetworkMatcher(tiny_croco, dtype=torch.float64)
