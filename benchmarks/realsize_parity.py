"""Real-size parity and speed against the official code, on full-size random weights (issue 23).

The official code is NOT part of this repository: fetch naver/dust3r (with naver/croco in its ``croco/`` folder)
and Tencent/DepthCrafter yourself and pass their folders; they need ``einops`` and ``torchvision`` (pass an extra
site folder with ``--site`` if they are not installed). Each side runs in its own process (one real-size model
set at a time keeps the peak RAM at one side's), writing an ``.npz``; ``compare`` prints the relative error.

    python benchmarks/realsize_parity.py croco ours --out ours.npz
    python benchmarks/realsize_parity.py croco official --dust3r ~/dust3r --out official.npz
    python benchmarks/realsize_parity.py compare ours.npz official.npz
    (same with ``depthcrafter ours|official --depthcrafter ~/DepthCrafter``)
    python benchmarks/realsize_parity.py speed ours|official [--dust3r …]   # 8-frame swin-2 clip, 512×288

Inputs are built here, identically for both sides: two/eight frames of a smooth random texture at 1024×576 (the
network case, resized to 512×288 by each side's own preprocessing), and for DepthCrafter 8 frames at 64×64 with a
synthetic stage-1 depth; the refiner's per-frame noise and normalised disparity are computed by stereodiff and
handed to the official components (the one-step refinement has no official code; every network call does).
Models are cached in ``--models`` (default ``~/.cache/stereodiff/realsize``), built by :mod:`stereodiff.realsize`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from stereodiff.realsize import cached_realsize_models, synthetic_stage1, texture_frames

DEFAULT_MODELS = Path(os.environ.get("STEREODIFF_REALSIZE_MODELS", Path.home() / ".cache/stereodiff/realsize"))
PARITY_PAIR = np.array([[0, 1]])
SPEED_FRAMES, SPEED_BATCH = 8, 4


def realsize_models(root: Path, what: str) -> Path | tuple[Path, Path]:
    """The cached full-size random models (built by :func:`stereodiff.realsize.cached_realsize_models`)."""
    folder = cached_realsize_models(root, what)
    return (folder / "unet", folder / "base") if what == "depthcrafter" else folder


# --------------------------------------------------------------------------------------------- DUSt3R family
def croco_ours(models: Path, workdir: Path) -> dict[str, np.ndarray]:
    import torch

    from stereodiff.stage1.croco import load_croco_stereo
    from stereodiff.stage1.network import NetworkMatcher

    torch.manual_seed(0)
    frames = texture_frames(2, 576, 1024)
    matcher = NetworkMatcher(load_croco_stereo(realsize_models(models, "monst3r")), resolution=512, batch_size=1)
    preds = matcher.predict(frames, PARITY_PAIR)
    return {"pts_i": preds.pts_i, "pts_j": preds.pts_j, "conf_i": preds.conf_i, "conf_j": preds.conf_j}


def _official_images(workdir: Path, frames: np.ndarray) -> list[str]:
    from PIL import Image

    paths = []
    for t, frame in enumerate(frames):
        path = workdir / f"frame_{t:03d}.png"
        Image.fromarray(frame).save(path)
        paths.append(str(path))
    return paths


def _official_dust3r(models: Path):
    from dust3r.model import AsymmetricCroCo3DStereo

    return AsymmetricCroCo3DStereo.from_pretrained(str(realsize_models(models, "monst3r"))).eval()


def croco_official(models: Path, workdir: Path) -> dict[str, np.ndarray]:
    import torch
    from dust3r.inference import inference
    from dust3r.utils.image import load_images

    model = _official_dust3r(models)
    images = load_images(_official_images(workdir, texture_frames(2, 576, 1024)), size=512, verbose=False)
    with torch.no_grad():
        out = inference([(images[0], images[1])], model, "cpu", batch_size=1, verbose=False)
    p1, p2 = out["pred1"], out["pred2"]
    return {
        "pts_i": p1["pts3d"].numpy(),
        "pts_j": p2["pts3d_in_other_view"].numpy(),
        "conf_i": p1["conf"].numpy(),
        "conf_j": p2["conf"].numpy(),
    }


# ---------------------------------------------------------------------------------------------- DepthCrafter
REFINE_FRAMES, REFINE_SIZE = 8, (64, 64)


def depthcrafter_ours(models: Path, workdir: Path) -> dict[str, np.ndarray]:
    """Our refiner's window output, plus the inputs the official side needs (noise, normalised disparity)."""
    import torch

    from stereodiff.stage2.depthcrafter import DepthCrafterRefiner, load_depthcrafter
    from stereodiff.stage2.depthcrafter.pipeline import frames_to_tensor
    from stereodiff.stage2.depthcrafter.refine import _seeded_normal, normalized_disparity_range

    unet, base = realsize_models(models, "depthcrafter")
    refiner = DepthCrafterRefiner(load_depthcrafter(unet, base, dtype=torch.float32), window=110, overlap=25)
    frames = texture_frames(REFINE_FRAMES, *REFINE_SIZE)
    depth, confidence = synthetic_stage1(REFINE_FRAMES, 36, 64)
    disparity = refiner.refine(frames, depth, confidence)
    lo, hi = normalized_disparity_range(depth, confidence)
    n, seed = REFINE_FRAMES, refiner.seed
    rgb = frames_to_tensor(frames, 0, n, REFINE_SIZE, torch.device("cpu")) * 2 - 1
    return {
        "disparity": disparity,
        "rgb": rgb.numpy(),
        "aug": torch.stack([_seeded_normal(tuple(rgb.shape[1:]), seed, t, 0) for t in range(n)]).numpy(),
        "disp_in": refiner._normalized_disparity(depth, 0, n, REFINE_SIZE, lo, hi).numpy(),
        "eps": torch.stack([_seeded_normal((4, 8, 8), seed, t, 1) for t in range(n)]).numpy(),
        "sigma_start": np.float64(refiner.sigma_start),
        "step_index": np.int64(refiner.step_index),
        "num_inference_steps": np.int64(refiner.num_inference_steps),
    }


def depthcrafter_official(models: Path, workdir: Path, inputs: Path) -> dict[str, np.ndarray]:
    """The same window through DepthCrafter's own pipeline class and UNet, from ``inputs`` (our side's npz)."""
    import torch
    from depthcrafter.depth_crafter_ppl import DepthCrafterPipeline
    from depthcrafter.unet import DiffusersUNetSpatioTemporalConditionModelDepthCrafter
    from diffusers import EulerDiscreteScheduler

    data = np.load(inputs)
    unet_dir, base_dir = realsize_models(models, "depthcrafter")
    unet = DiffusersUNetSpatioTemporalConditionModelDepthCrafter.from_pretrained(unet_dir, torch_dtype=torch.float32)
    pipe = DepthCrafterPipeline.from_pretrained(base_dir, unet=unet, torch_dtype=torch.float32)
    rgb, aug = torch.from_numpy(data["rgb"]), torch.from_numpy(data["aug"])
    n = rgb.shape[0]
    with torch.no_grad():
        embeddings = pipe.encode_video(rgb, chunk_size=8)[None]  # [1,n,1024]
        frame_latents = pipe.encode_vae_video(rgb + 0.02 * aug, chunk_size=8)[None]
        z0 = pipe.encode_vae_video(torch.from_numpy(data["disp_in"]), chunk_size=8) * pipe.vae.config.scaling_factor
        noisy = (z0 + float(data["sigma_start"]) * torch.from_numpy(data["eps"]))[None]
        scheduler = EulerDiscreteScheduler.from_config(
            pipe.scheduler.config, timestep_spacing="trailing", use_karras_sigmas=False
        )
        scheduler.set_timesteps(int(data["num_inference_steps"]))
        scheduler.set_begin_index(int(data["step_index"]))
        t = scheduler.timesteps[int(data["step_index"])]
        model_input = torch.cat([scheduler.scale_model_input(noisy, t), frame_latents], dim=2)
        time_ids = pipe._get_add_time_ids(7, 127, 0.02, embeddings.dtype, 1, 1, False)
        velocity = pipe.unet(model_input, t, encoder_hidden_states=embeddings, added_time_ids=time_ids)[0]
        x0 = scheduler.step(velocity, t, noisy).pred_original_sample
        decoded = pipe.decode_latents(x0, n, 8)  # [1,3,n,h,w]
        video = pipe.video_processor.postprocess_video(video=decoded, output_type="np")[0]  # [n,h,w,3]
    disparity = video.sum(-1) / video.shape[-1]  # as DepthCrafter's run.py
    disparity = (disparity - disparity.min()) / (disparity.max() - disparity.min())
    return {"disparity": disparity.astype(np.float32), "velocity": velocity.numpy()}


# ----------------------------------------------------------------------------------------------------- speed
def speed(side: str, models: Path, workdir: Path) -> dict[str, np.ndarray]:
    """Stage-1 time on the 8-frame swin-2-noncyclic symmetrised clip at 512×288 (batch 4, one repetition): wall
    seconds and CPU seconds of the process (the CPU time is what to compare on a shared machine)."""
    import torch

    from stereodiff.stage1.pairs import make_pairs

    frames = texture_frames(SPEED_FRAMES, 576, 1024)
    if side == "ours":
        from stereodiff.stage1.croco import load_croco_stereo
        from stereodiff.stage1.network import NetworkMatcher

        matcher = NetworkMatcher(load_croco_stereo(realsize_models(models, "monst3r")), batch_size=SPEED_BATCH)
        pairs = make_pairs(SPEED_FRAMES, "swin-2-noncyclic", symmetrize=True)
        start, cpu = time.perf_counter(), time.process_time()
        matcher.predict(frames, pairs)
        seconds, cpu, passes = time.perf_counter() - start, time.process_time() - cpu, matcher.encoder_passes
    else:
        from dust3r.image_pairs import make_pairs as official_pairs
        from dust3r.inference import inference
        from dust3r.utils.image import load_images

        model = _official_dust3r(models)
        images = load_images(_official_images(workdir, frames), size=512, verbose=False)
        pairs = official_pairs(images, scene_graph="swin-2-noncyclic", symmetrize=True)
        start, cpu = time.perf_counter(), time.process_time()
        with torch.no_grad():
            inference(pairs, model, "cpu", batch_size=SPEED_BATCH, verbose=False)
        seconds, cpu, passes = time.perf_counter() - start, time.process_time() - cpu, 2 * len(pairs)
    return {
        "seconds": np.float64(seconds),
        "cpu_seconds": np.float64(cpu),  # all threads: robust to other processes sharing the cores
        "pairs": np.int64(len(pairs)),
        "encoder_passes": np.int64(passes),
    }


def peak_rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def compare(a: Path, b: Path) -> None:
    """Max |a − b| / max |b| for every array both files hold."""
    left, right = np.load(a), np.load(b)
    for key in sorted(set(left.files) & set(right.files)):
        x, y = left[key].astype(np.float64), right[key].astype(np.float64)
        if x.shape != y.shape:
            print(f"{key}: shapes differ {x.shape} vs {y.shape}")
            continue
        scale = max(float(np.abs(y).max()), 1e-30)
        print(f"{key}: shape {x.shape}, max |diff| / max |ref| = {float(np.abs(x - y).max()) / scale:.3g}")


def report(folder: Path) -> None:
    """BENCHMARKS.md section from the ``.npz`` files of a full run in ``folder`` (names as in the module docstring:
    croco_ours/croco_official, dc_ours/dc_official, speed_ours/speed_official)."""
    from _common import markdown_table, write_section

    def load(name: str) -> dict | None:
        path = folder / f"{name}.npz"
        return dict(np.load(path)) if path.is_file() else None

    rows = []
    for what, ours, official, keys in (
        ("MonST3R pair at 512×288 (pts_i, pts_j, conf_i, conf_j)", "croco_ours", "croco_official",
         ("pts_i", "pts_j", "conf_i", "conf_j")),
        ("DepthCrafter refiner window, 8 frames at 64×64 (disparity)", "dc_ours", "dc_official", ("disparity",)),
    ):  # fmt: skip
        a, b = load(ours), load(official)
        if a is None or b is None:
            continue
        error = max(float(np.abs(a[k] - b[k]).max()) / float(np.abs(b[k]).max()) for k in keys)
        peaks = f"{float(a['peak_rss_gib']):.1f} / {float(b['peak_rss_gib']):.1f}"
        rows.append([what, f"{error:.1e}", peaks])
    text = markdown_table(
        ["real-size random weights, CPU float32", "max relative difference", "peak GiB ours / official"], rows
    )
    a, b = load("speed_ours"), load("speed_official")
    if a is not None and b is not None:
        speed_rows = [
            [
                name,
                int(d["pairs"]),
                int(d["encoder_passes"]),
                f"{float(d['cpu_seconds']):.0f}",
                f"{float(d['seconds']):.0f}",
            ]
            for name, d in (("stereodiff NetworkMatcher", a), ("official inference()", b))
        ]
        ratio = float(b["cpu_seconds"]) / float(a["cpu_seconds"])
        text += (
            "\n\nStage-1 speed, 8-frame swin-2-noncyclic symmetrised clip at 512×288, MonST3R size, batch 4, ONE "
            "repetition each (the 2 cores were shared with other jobs: CPU seconds of each process are the fair "
            "measure, wall seconds are shown for the record):\n\n"
            + markdown_table(["stage 1", "pairs", "encoder passes", "CPU s", "wall s"], speed_rows)
            + f"\n\nNetworkMatcher is **{ratio:.2f}×** faster than the official `inference()` in CPU time."
        )
    command = "python benchmarks/realsize_parity.py croco|depthcrafter|speed ours|official …; … report DIR"
    write_section("realsize", "Real-size parity and speed vs the official code", text, command)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("croco", "depthcrafter", "speed", "compare", "report"))
    parser.add_argument("side", help="ours | official (compare: the first .npz; report: the folder of the .npz)")
    parser.add_argument("other", nargs="?", help="compare: the second .npz")
    parser.add_argument("--out", type=Path, help="output .npz")
    parser.add_argument("--inputs", type=Path, help="depthcrafter official: our side's .npz (noise, disparity)")
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/stereodiff-realsize-parity"))
    parser.add_argument("--dust3r", type=Path, help="naver/dust3r checkout (with croco/)")
    parser.add_argument("--depthcrafter", type=Path, help="Tencent/DepthCrafter checkout")
    parser.add_argument("--site", type=Path, help="extra site-packages folder for the official code")
    args = parser.parse_args()
    if args.what == "compare":
        compare(Path(args.side), Path(args.other))
        return 0
    if args.what == "report":
        report(Path(args.side))
        return 0
    for extra in (args.site, args.dust3r, args.depthcrafter):
        if extra is not None:
            sys.path.insert(0, str(extra))
    from stereodiff.progress import set_progress

    set_progress(False)
    args.workdir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if args.what == "speed":
        result = speed(args.side, args.models, args.workdir)
    elif args.what == "croco":
        result = (croco_ours if args.side == "ours" else croco_official)(args.models, args.workdir)
    elif args.side == "ours":
        result = depthcrafter_ours(args.models, args.workdir)
    else:
        result = depthcrafter_official(args.models, args.workdir, args.inputs)
    result["peak_rss_gib"] = np.float64(peak_rss_gib())
    result["wall_seconds"] = np.float64(time.perf_counter() - start)
    if args.out is not None:
        np.savez(args.out, **result)
    print({k: float(v) for k, v in result.items() if np.ndim(v) == 0})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
