"""Attention heatmaps: which source tokens each target token looked at.

Row t of the matrix is the attention distribution alpha_t over the source (each row sums to
one); the plot puts the source along x and the target along y, as in Bahdanau et al. 2015,
figure 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from rnnkit.viz.backend import pyplot, save_figure


def plot_attention(
    weights: Tensor,
    source_tokens: Sequence[str],
    target_tokens: Sequence[str],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Save a source-by-target heatmap of ``weights`` as a PNG; returns the path.

    Shape:
        weights (T, S): T = len(target_tokens), S = len(source_tokens).
    """
    weights = torch.as_tensor(weights, dtype=torch.float32).detach().cpu()
    t, s = len(target_tokens), len(source_tokens)
    if tuple(weights.shape) != (t, s):
        raise ValueError(
            f"plot_attention: expected weights ({t}, {s}) for {t} target and {s} source "
            f"tokens, got {tuple(weights.shape)}"
        )
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * s + 1.5), max(3.0, 0.4 * t + 1.5)))
    image = ax.imshow(weights.numpy(), cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(s), labels=list(source_tokens), rotation=60, ha="right")
    ax.set_yticks(range(t), labels=list(target_tokens))
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.04)
    return save_figure(fig, path)
