"""Frequency-domain analysis of per-frame error sequences (StereoDiff paper §3.1, Fig. 3, Table 2).

An error sequence ``ε_t`` (``t = 0 … T-1``; e.g. per-frame AbsRel) has the DFT ``F_k = Σ_t ε_t e^{-2πi kt/T}``
(paper Eq. 2, ``numpy.fft.fft``). Its magnitude spectrum is ``|F_k|`` for ``k = 0 … ⌊T/2⌋`` (bins ``k`` and ``T-k``
are complex conjugates for a real sequence, so the other half repeats it); bin ``k`` is ``k/T`` cycles per frame
(``k·fps/T`` Hz). The amplitude ratio of two methods A/B is ``|F^A_k| / |F^B_k|`` (Fig. 3c).

Band decomposition into 11 groups ``F0 … F10`` (Table 2: "the entire frequency range is divided exponentially
into 11 discrete groups"). Our exact reading, since the paper gives no edges:

* every DFT bin ``k`` has the folded frequency index ``f(k) = min(k, T-k)`` (so a real sinusoid's two bins stay
  together), ranging over ``0 … K`` with ``K = T/2`` (the Nyquist index);
* ``F0`` holds the zero frequency ``f = 0`` only;
* ``F_g`` (``g = 1 … 10``) holds ``K^((g-1)/10) ≤ f < K^(g/10)``; ``F10`` also holds ``f = K``. The edges are
  exponentially spaced from 1 to the Nyquist index; for short sequences some low groups can be empty (value 0);
* each group's component is the inverse DFT of the spectrum masked to its bins (Eq. 3), a real sequence
  ``ε^g_t`` with ``Σ_g ε^g_t = ε_t``; the group's value is its mean absolute value ``(1/T) Σ_t |ε^g_t|``.

So ``F0`` equals the mean of the sequence, i.e. the ordinary metric (errors are ≥ 0), and a sinusoid
``A cos(2π f t / T + φ)`` with integer ``f`` lands entirely in the group containing ``f`` with value
``mean_t |A cos(...)|`` (→ ``2A/π`` for long sequences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stereodiff.errors import InputError

__all__ = [
    "NUM_BANDS",
    "BandDecomposition",
    "amplitude_ratio",
    "band_decomposition",
    "band_edges",
    "band_of_bins",
    "error_sequences",
    "magnitude_spectrum",
]

NUM_BANDS = 11


def _check_sequence(name: str, errors) -> np.ndarray:
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 1 or errors.size < 2:
        raise InputError(f"{name} must be a 1-D error sequence of ≥ 2 frames, got shape {errors.shape}", "")
    if not np.all(np.isfinite(errors)):
        raise InputError(f"{name} holds NaN or inf values", "drop frames without valid pixels first")
    return errors


def error_sequences(metrics) -> dict[str, np.ndarray]:
    """The paper's three per-frame error sequences of a ``SequenceMetrics``: AbsRel, RMSE and 1 − δ1 (``[F]``).

    Frames without a valid GT pixel were dropped by the protocol, so ``F`` can be smaller than ``T``.
    """
    return {
        "abs_rel": np.asarray(metrics.per_frame["abs_rel"], dtype=np.float64),
        "rmse": np.asarray(metrics.per_frame["rmse"], dtype=np.float64),
        "one_minus_delta1": 1.0 - np.asarray(metrics.per_frame["delta1"], dtype=np.float64),
    }


def magnitude_spectrum(errors, fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(frequencies [⌊T/2⌋+1], |F_k| [⌊T/2⌋+1])`` of a ``[T]`` error sequence.

    Frequencies are in cycles per frame, or in Hz when ``fps`` is given.
    """
    errors = _check_sequence("errors", errors)
    n = errors.size
    magnitude = np.abs(np.fft.rfft(errors))
    freqs = np.arange(magnitude.size) / n
    return (freqs * fps if fps else freqs), magnitude


def amplitude_ratio(errors_a, errors_b) -> np.ndarray:
    """``|F^A_k| / |F^B_k|`` for ``k = 0 … ⌊T/2⌋`` (inf where B's bin is exactly 0); both sequences ``[T]``."""
    a = _check_sequence("errors_a", errors_a)
    b = _check_sequence("errors_b", errors_b)
    if a.size != b.size:
        raise InputError(f"error sequences differ in length ({a.size} vs {b.size})", "compare the same frames")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(np.fft.rfft(a)) / np.abs(np.fft.rfft(b))


def band_edges(num_frames: int) -> np.ndarray:
    """``[11]`` folded-frequency edges ``e_0 = 1 … e_10 = T/2``: band ``g ≥ 1`` is ``e_{g-1} ≤ f < e_g``."""
    if num_frames < 2:
        raise InputError(f"num_frames={num_frames} is too short for a spectrum", "use ≥ 2 frames")
    nyquist = num_frames / 2.0
    return nyquist ** (np.arange(NUM_BANDS) / (NUM_BANDS - 1))


def band_of_bins(num_frames: int) -> np.ndarray:
    """``[T]`` int band index (0 … 10) of every DFT bin ``k = 0 … T-1``."""
    k = np.arange(num_frames)
    folded = np.minimum(k, num_frames - k).astype(np.float64)  # [T]
    edges = band_edges(num_frames)
    bands = np.searchsorted(edges, folded, side="right")  # f in [e_{g-1}, e_g) -> g; f < 1 -> 0
    return np.clip(bands, 0, NUM_BANDS - 1)  # f = T/2 (Nyquist) joins the last band


@dataclass
class BandDecomposition:
    """The ``F0 … F10`` decomposition of one error sequence.

    Attributes:
        values: ``[11]`` mean absolute value of each band's reconstructed component (``values[0]`` = the mean).
        components: ``[11,T]`` real component of each band (inverse DFT of its bins); they sum to the sequence.
        bins: ``[11]`` number of DFT bins in each band (two per folded frequency, one for f = 0 and Nyquist).
        edges: ``[11]`` folded-frequency edges (see the module docstring).
    """

    values: np.ndarray
    components: np.ndarray
    bins: np.ndarray
    edges: np.ndarray


def band_decomposition(errors) -> BandDecomposition:
    """Split a ``[T]`` error sequence into the 11 exponentially spaced bands ``F0 … F10`` (module docstring)."""
    errors = _check_sequence("errors", errors)
    n = errors.size
    spectrum = np.fft.fft(errors)  # [T] complex, Eq. 2
    bands = band_of_bins(n)  # [T]
    masks = bands[None, :] == np.arange(NUM_BANDS)[:, None]  # [11,T]
    components = np.fft.ifft(spectrum[None, :] * masks, axis=1).real  # [11,T], Eq. 3 per band
    return BandDecomposition(
        values=np.abs(components).mean(axis=1),
        components=components,
        bins=masks.sum(axis=1),
        edges=band_edges(n),
    )
