"""Global co-alignment of depth snippets (RollingDepth §3.3): one scale and shift per snippet, found by robust
optimisation, then every frame is the mean of its aligned snippet frames.

The objective (paper eq. 2-5, official defaults): for every frame the current mean of its aligned snippet frames is
the (detached) target; the loss is the L1 distance of each aligned snippet frame to its target, divided by the
target's mean absolute value, in inverse depth and in depth (``1 / clip(x, 1e-3)``), plus soft constraints
``λ2·relu(1 - s)²`` and ``λ3·t²``. Adam (β = 0.5, 0.9) minimises it on the snippets cropped by ``border`` pixels
and subsampled by ``factor``. Unlike :mod:`stereodiff.stage2.windows` (closed-form least squares between
overlapping windows), this is an L1 fit over many short, multi-rate snippets, so it is its own solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["DepthCoAligner", "snippet_frame_indices"]


def snippet_frame_indices(num_frames: int, snippet_len: int, dilation: int) -> torch.Tensor:
    """Frames of every stride-1 snippet with this dilation: ``[S, snippet_len]`` int64, S = T - (L-1)·dilation."""
    count = num_frames - (snippet_len - 1) * dilation
    if count < 1:
        raise ValueError(f"{num_frames} frames hold no {snippet_len}-frame snippet with dilation {dilation}")
    return torch.arange(count)[:, None] + dilation * torch.arange(snippet_len)[None, :]


@dataclass
class DepthCoAligner:
    """Settings of the co-alignment (defaults: the official ones)."""

    factor: int = 10
    """Subsampling step of the pixels that enter the optimisation."""
    border: int = 2
    """Pixels cropped at each image border before subsampling (decoder border artefacts)."""
    lr: float = 1e-3
    """Adam step size."""
    num_iterations: int = 2000
    """Adam iterations."""
    lmda2: float = 1e-1
    """Weight of the soft constraint ``relu(1 - s)²`` (scales stay ≥ 1)."""
    lmda3: float = 1e1
    """Weight of the soft constraint ``t²`` (shifts stay near 0)."""
    depth_loss_weight: float = 1.0
    """Weight of the loss on depth (1 / inverse depth) next to the loss on inverse depth."""
    loss_scale: float = 1.0
    """Factor on the data terms."""

    def fit(
        self, snippets: list[torch.Tensor], indices: list[torch.Tensor], num_frames: int
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Scales and shifts ``[S_i]`` of each snippet set.

        Args:
            snippets: per dilation, ``[S_i, L_i, h, w]`` subsampled inverse depth (already offset to be ≥ 0).
            indices: per dilation, ``[S_i, L_i]`` frame index of each snippet frame.
            num_frames: T.
        """
        dtype = torch.promote_types(snippets[0].dtype, torch.float32)  # float16 snippets: float32 parameters
        flat = [x.reshape(*x.shape[:2], -1) for x in snippets]
        pixels = flat[0].shape[-1]
        device = flat[0].device
        frames = [idx.to(device) for idx in indices]
        count = torch.zeros(num_frames, 1, device=device, dtype=dtype)
        for idx in frames:
            count.index_add_(0, idx.reshape(-1), torch.ones(idx.numel(), 1, device=device, dtype=dtype))
        # the data terms are means over the dense [ΣL_i, T, P] layout of the paper's formulation
        denominator = sum(x.shape[1] for x in flat) * num_frames * pixels
        scales = [torch.ones(x.shape[0], 1, 1, device=device, dtype=dtype, requires_grad=True) for x in flat]
        shifts = [torch.zeros(x.shape[0], 1, 1, device=device, dtype=dtype, requires_grad=True) for x in flat]
        optimizer = torch.optim.Adam(scales + shifts, lr=self.lr, betas=(0.5, 0.9))
        with torch.enable_grad():
            self._descend(flat, frames, count, denominator, scales, shifts, optimizer)
        return [s.detach().reshape(-1) for s in scales], [t.detach().reshape(-1) for t in shifts]

    def _descend(
        self,
        flat: list[torch.Tensor],
        frames: list[torch.Tensor],
        count: torch.Tensor,
        denominator: int,
        scales: list[torch.Tensor],
        shifts: list[torch.Tensor],
        optimizer: torch.optim.Optimizer,
    ) -> None:
        for _ in range(self.num_iterations):
            optimizer.zero_grad()
            aligned = [x * s + t for x, s, t in zip(flat, scales, shifts)]
            inverse = [a.clip(1e-3) ** -1 for a in aligned]
            with torch.no_grad():
                target = _frame_means(aligned, frames, count)
                target_depth = _frame_means(inverse, frames, count)
                norm = target.abs().mean(-1, keepdim=True)
                norm_depth = target_depth.abs().mean(-1, keepdim=True)
            loss = sum(((a - target[f]).abs() / norm[f]).sum() for a, f in zip(aligned, frames)) / denominator
            loss_depth = (
                sum(((a - target_depth[f]).abs() / norm_depth[f]).sum() for a, f in zip(inverse, frames)) / denominator
            )
            soft = sum(
                self.lmda2 * (torch.clamp(1 - s, min=0) ** 2).mean() + self.lmda3 * (t**2).mean()
                for s, t in zip(scales, shifts)
            )
            total = self.loss_scale * (loss + self.depth_loss_weight * loss_depth) + soft
            total.backward()
            optimizer.step()

    def run(self, snippets: list[torch.Tensor], dilations: list[int]) -> torch.Tensor:
        """Co-align stride-1 snippet sets and merge them into one video.

        Args:
            snippets: per dilation, ``[S_i, L_i, H, W]`` inverse depth of every snippet (in any affine range).
            dilations: the frame spacing of each set.

        Returns:
            ``[T, H, W]`` merged inverse depth (each frame: mean of its aligned snippet frames).
        """
        lengths = [x.shape[1] for x in snippets]
        num_frames = snippets[0].shape[0] + (lengths[0] - 1) * dilations[0]
        indices = [snippet_frame_indices(num_frames, n, d) for n, d in zip(lengths, dilations)]
        offset = min(float(x.min()) for x in snippets)
        b, f = self.border, self.factor
        small = [(x[..., b:-b, b:-b] if b else x)[..., ::f, ::f] - offset for x in snippets]
        scales, shifts = self.fit(small, indices, num_frames)
        height, width = snippets[0].shape[-2:]
        dtype = snippets[0].dtype
        total = torch.zeros(num_frames, height, width, dtype=dtype)
        count = torch.zeros(num_frames, dtype=torch.int64)
        for x, idx, s, t in zip(snippets, indices, scales, shifts):
            s, t = s.to("cpu", dtype)[:, None, None], t.to("cpu", dtype)[:, None, None]
            for j in range(x.shape[1]):  # one snippet position at a time: frames in a column are distinct
                total.index_add_(0, idx[:, j], (x[:, j].cpu() - offset) * s + t)
                count[idx[:, j]] += 1
        return total / count[:, None, None]


def _frame_means(values: list[torch.Tensor], frames: list[torch.Tensor], count: torch.Tensor) -> torch.Tensor:
    """Per frame, the mean of the snippet frames ``values[i][s, j]`` (``[S_i, L_i, P]``) at ``frames[i][s, j]``.

    Summed over a dense ``[ΣL_i, T, P]`` stack with ``sum(0)``, the paper's formulation: the fit is sensitive to
    rounding along its nearly free global-scale direction, and torch's reduction order depends on the shape, so
    only the same reduction gives the official result (one ``ΣL_i·T·P`` buffer per iteration).
    """
    rows = sum(v.shape[1] for v in values)
    dense = torch.zeros(rows, count.shape[0], values[0].shape[-1], device=values[0].device, dtype=count.dtype)
    row = 0
    for v, f in zip(values, frames):
        for j in range(v.shape[1]):  # the frames of one snippet position are distinct
            dense[row, f[:, j]] = v[:, j]
            row += 1
    return dense.sum(0) / count
