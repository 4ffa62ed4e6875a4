"""Reports of evaluations and frequency analyses: JSON, a Markdown table, PNG plots (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stereodiff.eval.protocol import METRICS, SequenceMetrics
from stereodiff.eval.spectrum import NUM_BANDS, amplitude_ratio, band_decomposition, error_sequences, magnitude_spectrum

__all__ = [
    "analysis_report",
    "dataset_markdown",
    "dataset_plot",
    "metrics_json",
    "write_analysis",
    "write_dataset_report",
]

LABELS = {
    "abs_rel": "AbsRel",
    "sq_rel": "SqRel",
    "rmse": "RMSE (m)",
    "log_rmse": "log-RMSE",
    "delta1": "δ1",
    "delta2": "δ2",
    "delta3": "δ3",
    "one_minus_delta1": "1 − δ1",
}


def _clean(value: Any) -> Any:
    """JSON-safe values (numpy → Python, NaN → None)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


def metrics_json(m: SequenceMetrics) -> dict[str, Any]:
    """One sequence's metrics as a JSON-ready dict (frame and pixel averages, per-frame values, fit)."""
    return {
        "frame_mean": m.frame_mean(),
        "pixel_mean": m.pixel_mean(),
        "num_frames": m.num_frames,
        "evaluated_frames": m.frames,
        "num_pixels": m.num_pixels,
        "alignment": {"method": m.alignment.method, "scale": m.scale, "shift": m.shift},
        "per_frame": m.per_frame,
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows])


def dataset_markdown(result) -> str:
    """Markdown tables of a ``DatasetResult``: per sequence, the dataset mean, regions and TAE."""
    average = result.settings.get("average", "frame")
    header = ["sequence", *(LABELS[m] for m in METRICS)]
    rows = [[name, *(m.summary(average)[k] for k in METRICS)] for name, m in result.sequences.items()]
    rows.append(["**mean**", *(result.summary[k] for k in METRICS)])
    text = (
        f"# {result.dataset} ({result.preset}), protocol {result.protocol}\n\n"
        f"{len(result.sequences)} sequences; alignment {result.settings.get('alignment')}, "
        f"resize {result.settings.get('resize')}, {average}-averaged, {result.settings.get('weighting')}-weighted.\n\n"
        + _table(header, rows)
    )
    if result.bands:
        rows = [[LABELS[name], *values] for name, values in result.bands.items()]
        text += "\n\n## Frequency bands F0…F10 (mean over sequences)\n\n" + _table(
            ["metric", *(f"F{g}" for g in range(NUM_BANDS))], rows
        )
    if result.regions:
        keys = ("abs_rel", "rmse", "delta1", "delta2")
        rows = [
            [name, region, *(getattr(r[region], k) for k in keys)]
            for name, r in result.regions.items()
            for region in ("dynamic", "overall", "static")
        ]
        text += "\n\n## Dynamic / static regions\n\n" + _table(["sequence", "region", *(LABELS[k] for k in keys)], rows)
    if result.tae:
        rows = [[name, v] for name, v in result.tae.items()] + [["**mean**", float(np.mean(list(result.tae.values())))]]
        text += "\n\n## TAE (×100)\n\n" + _table(["sequence", "TAE"], rows)
    if result.missing:
        text += f"\n\nNo prediction for: {', '.join(result.missing)}."
    return text + "\n"


def write_dataset_report(result, out_dir: Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` of a ``DatasetResult`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "dataset": result.dataset,
        "preset": result.preset,
        "protocol": result.protocol,
        "settings": result.settings,
        "summary": result.summary,
        "sequences": {name: metrics_json(m) for name, m in result.sequences.items()},
        "regions": {
            n: {r: metrics_json(m)["frame_mean"] for r, m in regs.items()} for n, regs in result.regions.items()
        },
        "tae": result.tae,
        "bands": result.bands,
        "missing": result.missing,
    }
    json_path, md_path = out_dir / "results.json", out_dir / "results.md"
    json_path.write_text(json.dumps(_clean(data), indent=2) + "\n")
    md_path.write_text(dataset_markdown(result))
    return json_path, md_path


def dataset_plot(result) -> bytes:
    """PNG of a ``DatasetResult``: per-frame AbsRel of every sequence, and AbsRel / δ1 per sequence."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    names = list(result.sequences)
    for name, m in result.sequences.items():
        ax1.plot(m.frames, m.per_frame["abs_rel"], label=name)
    ax1.set_xlabel("frame index")
    ax1.set_ylabel("AbsRel")
    ax1.set_title("Per-frame AbsRel")
    ax1.grid(alpha=0.3)
    if len(names) <= 10:
        ax1.legend(fontsize=8)
    x = np.arange(len(names))
    ax2.bar(x - 0.2, [result.sequences[n].abs_rel for n in names], 0.4, label="AbsRel")
    ax2.bar(x + 0.2, [result.sequences[n].delta1 for n in names], 0.4, label="δ1")
    ax2.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax2.set_title("Per sequence")
    ax2.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def analysis_report(
    methods: dict[str, SequenceMetrics], fps: float | None = None, regions: dict[str, dict] | None = None
) -> dict[str, Any]:
    """Frequency analysis of one or two methods on the same GT: error sequences, spectra, bands, amplitude ratio.

    ``methods``: label -> ``SequenceMetrics`` (the first is A, the second B). Returns a JSON-ready dict.
    """
    out: dict[str, Any] = {"fps": fps, "methods": {}}
    for label, m in methods.items():
        entry: dict[str, Any] = {"metrics": metrics_json(m), "errors": {}, "bands": {}, "spectrum": {}}
        for name, errors in error_sequences(m).items():
            dec = band_decomposition(errors)
            freqs, magnitude = magnitude_spectrum(errors, fps)
            entry["errors"][name] = errors
            entry["bands"][name] = dec.values
            entry["spectrum"][name] = {"frequency": freqs, "magnitude": magnitude}
            out["band_edges"] = dec.edges
            out["band_bins"] = dec.bins
        if regions and label in regions:
            entry["regions"] = {r: s.frame_mean() for r, s in regions[label].items()}
        out["methods"][label] = entry
    labels = list(methods)
    if len(labels) == 2:
        a, b = (error_sequences(methods[k]) for k in labels)
        if all(len(a[k]) == len(b[k]) for k in a):
            out["amplitude_ratio"] = {
                "label": f"{labels[0]} / {labels[1]}",
                **{k: amplitude_ratio(a[k], b[k]) for k in a},
            }
    return out


def _analysis_markdown(report: dict[str, Any]) -> str:
    labels = list(report["methods"])
    metric_rows = [
        [label, *(report["methods"][label]["metrics"]["frame_mean"][k] for k in METRICS)] for label in labels
    ]
    text = "# Frequency analysis\n\n## Metrics (frame mean)\n\n"
    text += _table(["method", *(LABELS[m] for m in METRICS)], metric_rows)
    text += "\n\n## Bands F0…F10 (mean |component|; F0 = the metric)\n\n"
    edges = report.get("band_edges", [])
    text += "Band edges (folded DFT index f, band g ≥ 1 is e[g-1] ≤ f < e[g]): " + ", ".join(f"{e:.2f}" for e in edges)
    rows = [
        [LABELS[name], label, *report["methods"][label]["bands"][name]]
        for name in ("abs_rel", "rmse", "one_minus_delta1")
        for label in labels
    ]
    text += "\n\n" + _table(["metric", "method", *(f"F{g}" for g in range(NUM_BANDS))], rows)
    for label in labels:
        if "regions" in report["methods"][label]:
            regs = report["methods"][label]["regions"]
            rows = [[r, *(regs[r][k] for k in ("abs_rel", "rmse", "delta1", "delta2"))] for r in regs]
            text += f"\n\n## Regions: {label}\n\n" + _table(["region", "AbsRel", "RMSE (m)", "δ1", "δ2"], rows)
    return text + "\n"


def _plots(report: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ("abs_rel", "rmse", "one_minus_delta1")
    labels = list(report["methods"])
    unit = "Hz" if report.get("fps") else "cycles / frame"
    paths = []

    fig, axes = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    for ax, name in zip(axes, names):
        for label in labels:
            frames = report["methods"][label]["metrics"]["evaluated_frames"]
            ax.plot(frames, report["methods"][label]["errors"][name], label=label)
        ax.set_ylabel(LABELS[name])
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[-1].set_xlabel("frame index")
    fig.suptitle("Per-frame error")
    paths.append(out_dir / "errors.png")

    fig2, axes2 = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    for ax, name in zip(axes2, names):
        for label in labels:
            spec = report["methods"][label]["spectrum"][name]
            ax.semilogy(spec["frequency"][1:], np.maximum(spec["magnitude"][1:], 1e-12), label=label)
        ax.set_ylabel(f"|DFT| of {LABELS[name]}")
        ax.grid(alpha=0.3, which="both")
    axes2[0].legend()
    axes2[-1].set_xlabel(f"frequency ({unit})")
    fig2.suptitle("Magnitude spectrum of the error sequence (zero frequency omitted)")
    paths.append(out_dir / "spectrum.png")

    fig3, axes3 = plt.subplots(1, 3, figsize=(14, 4))
    width = 0.8 / len(labels)
    for ax, name in zip(axes3, names):
        for i, label in enumerate(labels):
            ax.bar(np.arange(NUM_BANDS) + i * width, report["methods"][label]["bands"][name], width, label=label)
        ax.set_xticks(np.arange(NUM_BANDS) + 0.4 - width / 2, [f"F{g}" for g in range(NUM_BANDS)])
        if any(np.max(report["methods"][label]["bands"][name]) > 0 for label in labels):
            ax.set_yscale("log")
        ax.set_xlabel("frequency band (low → high)")
        ax.set_ylabel(f"mean |component| of {LABELS[name]}")
    axes3[0].legend()
    fig3.suptitle("Band decomposition F0…F10")
    fig3.tight_layout()
    paths.append(out_dir / "bands.png")
    figures = [fig, fig2, fig3]

    if "amplitude_ratio" in report:
        fig4, ax = plt.subplots(figsize=(8, 4))
        ratio = report["amplitude_ratio"]
        freqs = report["methods"][labels[0]]["spectrum"]["abs_rel"]["frequency"]
        for name in ("abs_rel", "one_minus_delta1"):
            ax.semilogy(freqs[1:], ratio[name][1:], label=LABELS[name])
        ax.axhline(1.0, color="red", linestyle=":", label="ratio = 1")
        ax.set_xlabel(f"frequency ({unit})")
        ax.set_ylabel(f"amplitude ratio {ratio['label']}")
        ax.legend()
        ax.grid(alpha=0.3, which="both")
        fig4.suptitle("Amplitude ratio of the error spectra")
        paths.append(out_dir / "amplitude_ratio.png")
        figures.append(fig4)
    for figure, path in zip(figures, paths):
        figure.savefig(path, dpi=100)
        plt.close(figure)
    return paths


def write_analysis(report: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``analysis.json``, ``analysis.md`` and the PNG plots into ``out_dir``; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "analysis.json").write_text(json.dumps(_clean(report), indent=2) + "\n")
    (out_dir / "analysis.md").write_text(_analysis_markdown(report))
    return [out_dir / "analysis.json", out_dir / "analysis.md", *_plots(report, out_dir)]
