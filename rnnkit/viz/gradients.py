"""The vanishing/exploding gradient made visible: ||dL_T / dh_t|| for t = T .. 1.

Backpropagation through time multiplies one Jacobian per step,

    dL_T/dh_t = dL_T/dh_T * prod_{k=t+1..T} dh_k/dh_{k-1},

so the norm shrinks (or grows) geometrically with T - t when the Jacobians' norms stay below
(or above) one: Elman RNNs lose the signal within tens of steps; the LSTM's additive cell state
and the GRU's interpolation keep it longer (Hochreiter 1991; Bengio et al. 1994; Pascanu et al.
2013).

Measurement: the model is unrolled one token at a time through its public ``step`` and a zero
tensor p_t is added to the top layer's hidden state after step t. Since h_t' = h_t + p_t, the
gradient of L_T with respect to p_t is exactly dL_T/dh_t, through every later step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.viz.backend import pyplot, save_figure


def _with_probe(state: list, probe: Tensor) -> list:
    """Add ``probe`` to the top layer's h (the first part of a multi-part state)."""
    top = state[-1]
    if isinstance(top, tuple):
        return [*state[:-1], (top[0] + probe, *top[1:])]
    return [*state[:-1], top + probe]


def gradient_norms(model: torch.nn.Module, tokens: Tensor) -> Tensor:
    """||dL_T/dh_t||, mean over the batch, for t = 1 .. T.

    Args:
        model: a language model with ``step(tokens (N,), state) -> (logits (N, V), state)`` and
            a per-layer state list (``rnnkit.models.LanguageModel``).
        tokens: (N, T + 1) token ids; the loss L_T is the cross-entropy of predicting
            ``tokens[:, T]`` after reading ``tokens[:, :T]``.

    Shape:
        returns (T - 1,): entry t-1 is the norm at step t = 1 .. T-1, so the last entry is one
        step back from the loss (dL_T/dh_T itself needs no recurrence and is left out).
    """
    was_training = model.training
    model.eval()  # no dropout: measure the model, not the noise
    probes, state = [], None
    steps = tokens.shape[1] - 1
    with torch.enable_grad():
        for t in range(steps):
            logits, state = model.step(tokens[:, t], state)
            if t == steps - 1:
                break  # logits now predict tokens[:, T]; a probe here would not reach them
            top = state[-1][0] if isinstance(state[-1], tuple) else state[-1]
            probe = torch.zeros_like(top, requires_grad=True)
            state = _with_probe(state, probe)
            probes.append(probe)
        loss = F.cross_entropy(logits, tokens[:, steps])
        grads = torch.autograd.grad(loss, probes, allow_unused=True)
    model.train(was_training)
    # probes have the layer-state layout (K, N, H): one norm per sequence, then the batch mean
    norms = [
        torch.zeros(()) if g is None else g.transpose(0, 1).flatten(1).norm(dim=1).mean()
        for g in grads
    ]
    return torch.stack(norms).detach()


def plot_gradient_flow(
    curves: Mapping[str, Mapping[str, Sequence[float]]], path: Path, title: str | None = None
) -> Path:
    """Save a PNG with one panel per phase (e.g. ``fresh``, ``trained``), one line per model.

    Args:
        curves: ``{model label: {phase: norms for t = 1..T}}``.
        path: where the PNG goes.
    """
    plt = pyplot()
    phases = list(dict.fromkeys(p for per_model in curves.values() for p in per_model))
    fig, axes = plt.subplots(1, len(phases), figsize=(5.5 * len(phases), 4), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        for label, per_model in curves.items():
            norms = torch.as_tensor(per_model[phase], dtype=torch.float64)
            distance = torch.arange(len(norms), 0, -1)  # T - t for t = 1 .. T-1
            ax.semilogy(distance.numpy(), norms.clamp_min(1e-30).numpy(), label=label)
        ax.set_xlabel("steps back from the loss, T - t")
        ax.set_ylabel("||dL_T / dh_t||")
        ax.set_title(phase)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
