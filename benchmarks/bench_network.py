"""Stage-1 network matcher speed on CPU: per-frame encoder reuse vs the official per-pair encoding.

Random weights (speed does not depend on them). Measures, for a small DUSt3R-family config:

- pairs/s of ``NetworkMatcher`` (each frame encoded once) and of the official scheme (both images of every pair
  through the encoder), on the same swin-2-noncyclic symmetrised pairs;
- encoder passes for T = 110 frames with swin-2 (official: 2 per pair = 868; ours: 110), counted by running the
  matcher with a tiny network at a tiny resolution.

``--full-size`` also times one pair of the real ViT-L/BaseDecoder 512-DPT architecture at 512×288 (slow, ~2.3 GB).
Usage: ``python benchmarks/bench_network.py [--quick] [--full-size]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from _common import markdown_table, peak_rss_mib, write_section
from stereodiff.progress import set_progress
from stereodiff.stage1.croco import AsymmetricCroCo3DStereo, CroCoStereoConfig
from stereodiff.stage1.network import NetworkMatcher, preprocess_frame
from stereodiff.stage1.pairs import make_pairs

INF = float("inf")
BASE = dict(pos_embed="RoPE100", img_size=(512, 512), head_type="dpt", output_mode="pts3d", landscape_only=False,
            depth_mode=("exp", -INF, INF), conf_mode=("exp", 1, INF))  # fmt: skip
SMALL = dict(BASE, enc_embed_dim=192, enc_depth=6, enc_num_heads=3, dec_embed_dim=128, dec_depth=10, dec_num_heads=2)
TINY = dict(BASE, enc_embed_dim=32, enc_depth=2, enc_num_heads=2, dec_embed_dim=32, dec_depth=10, dec_num_heads=2)
LARGE = dict(
    BASE, enc_embed_dim=1024, enc_depth=24, enc_num_heads=16, dec_embed_dim=768, dec_depth=12, dec_num_heads=12
)


def _model(values: dict) -> AsymmetricCroCo3DStereo:
    torch.manual_seed(0)
    model = AsymmetricCroCo3DStereo(CroCoStereoConfig(**values)).eval().requires_grad_(False)
    with torch.no_grad():  # keep the raw outputs small so exp/expm1 stay finite
        for head in (model.downstream_head1, model.downstream_head2):
            head.dpt.head[4].weight.mul_(1e-2)
    return model


def _video(num_frames: int, height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)


@torch.inference_mode()
def _per_pair(model: AsymmetricCroCo3DStereo, frames: np.ndarray, pairs: np.ndarray, resolution: int, batch: int):
    """The official scheme: every pair's two images go through the encoder."""
    for start in range(0, len(pairs), batch):
        chunk = pairs[start : start + batch]
        img1 = torch.stack([preprocess_frame(frames[i], resolution) for i in chunk[:, 0]])
        img2 = torch.stack([preprocess_frame(frames[j], resolution) for j in chunk[:, 1]])
        model(img1, img2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames")
    parser.add_argument("--full-size", action="store_true", help="also time the real ViT-L architecture")
    args = parser.parse_args()
    set_progress(False)
    torch.set_num_threads(max(1, torch.get_num_threads()))

    # 1. Speed on a small config
    num_frames, resolution, batch = (6, 128, 4) if args.quick else (12, 256, 4)
    frames = _video(num_frames, 1080 * resolution // 1920, resolution)
    pairs = make_pairs(num_frames, "swin-2-noncyclic", symmetrize=True)
    model = _model(SMALL)
    matcher = NetworkMatcher(model, resolution=resolution, batch_size=batch)
    matcher.predict(frames[:3], np.array([[0, 1], [1, 2]]))  # warm-up
    start = time.perf_counter()
    preds = matcher.predict(frames, pairs)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    _per_pair(model, frames, pairs, resolution, batch)
    official = time.perf_counter() - start
    h, w = preds.size
    rows = [
        ["NetworkMatcher (encode each frame once)", len(pairs), f"{w}x{h}", matcher.encoder_passes, ours,
         len(pairs) / ours],
        ["per-pair encoding (official scheme)", len(pairs), f"{w}x{h}", 2 * len(pairs), official,
         len(pairs) / official],
    ]  # fmt: skip
    params = sum(p.numel() for p in model.parameters()) / 1e6
    body = (
        f"Small config: encoder {SMALL['enc_depth']}x{SMALL['enc_embed_dim']}, decoders "
        f"{SMALL['dec_depth']}x{SMALL['dec_embed_dim']}, DPT heads ({params:.1f} M parameters); T = {num_frames}, "
        f"swin-2-noncyclic symmetrised, batch {batch}, float32 CPU.\n\n"
        + markdown_table(["scheme", "pairs", "size", "encoder passes", "seconds", "pairs/s"], rows)
        + f"\n\nSpeed-up of encoder reuse: {official / ours:.2f}x (same outputs up to float summation order).\n"
    )

    # 2. Encoder passes for T = 110 with swin-2
    long_t = 30 if args.quick else 110
    tiny = NetworkMatcher(_model(TINY), resolution=32, batch_size=8)
    long_pairs = make_pairs(long_t, "swin-2-noncyclic", symmetrize=True)
    tiny.predict(_video(long_t, 18, 32), long_pairs)
    body += (
        f"\nT = {long_t}, swin-2-noncyclic symmetrised: {len(long_pairs)} directed pairs; encoder passes "
        f"official {2 * len(long_pairs)} → NetworkMatcher {tiny.encoder_passes}.\n"
    )

    # 3. Optional: the real architecture
    if args.full_size:
        big = _model(LARGE)
        img = torch.stack([preprocess_frame(f, 512) for f in _video(2, 1080, 1920)])
        with torch.inference_mode():
            start = time.perf_counter()
            feat, pos = big.encode(img)
            enc = (time.perf_counter() - start) / 2
            start = time.perf_counter()
            big.decode(feat[:1], pos[:1], feat[1:], pos[1:], ((288, 512), (288, 512)))
            dec = time.perf_counter() - start
        body += (
            f"\nViT-L/BaseDecoder 512-DPT ({sum(p.numel() for p in big.parameters()) / 1e6:.0f} M parameters), "
            f"512x288, CPU float32: encoder {enc:.2f} s per frame, decoder + heads {dec:.2f} s per pair. "
            f"For T = 110 with swin-2 (434 pairs): official {868 * enc + 434 * dec:.0f} s, with encoder reuse "
            f"{110 * enc + 434 * dec:.0f} s ({(868 * enc + 434 * dec) / (110 * enc + 434 * dec):.2f}x).\n"
        )
    body += f"\nPeak RSS: {peak_rss_mib():.0f} MiB.\n"
    print(body)
    command = "python benchmarks/bench_network.py" + (" --quick" if args.quick else "")
    write_section(
        "network", "Stage-1 network matcher (CPU)", body, command + (" --full-size" if args.full_size else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
