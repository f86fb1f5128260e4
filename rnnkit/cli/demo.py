"""``rnnkit demo``: what the layers do, shown on the spot.

1. Which backend each configuration runs, and why.
2. ``rnnkit.LSTM`` loading a ``torch.nn.LSTM`` state dict and giving the same outputs.
3. The vanishing gradient made visible: how much the last step's loss still depends on inputs
   further and further back, for freshly initialised Elman, LSTM and GRU layers.
"""

from __future__ import annotations

import torch
from torch import nn

import rnnkit


def _backends() -> None:
    print("1. Backends chosen per configuration (layer.backend)")
    configs = {
        "LSTM(2 layers, bidirectional)": rnnkit.LSTM(16, 32, num_layers=2, bidirectional=True),
        "GRU(reset_after=True)": rnnkit.GRU(16, 32),
        "RNN(activation='relu')": rnnkit.RNN(16, 32, activation="relu"),
        "LSTM(peephole=True)": rnnkit.LSTM(16, 32, peephole=True),
        "LSTM(layer_norm=True)": rnnkit.LSTM(16, 32, layer_norm=True),
        "GRU(reset_after=False)": rnnkit.GRU(16, 32, reset_after=False),
        "LSTM(recurrent_dropout=0.2)": rnnkit.LSTM(16, 32, recurrent_dropout=0.2),
    }
    for name, layer in configs.items():
        print(f"   {name:32s} {layer.backend}")


def _parity() -> None:
    print("\n2. rnnkit.LSTM with torch.nn.LSTM's weights (2 layers, bidirectional, lengths)")
    ref = nn.LSTM(16, 32, num_layers=2, bidirectional=True, batch_first=True)
    ours = rnnkit.LSTM(16, 32, num_layers=2, bidirectional=True)
    ours.load_state_dict(ref.state_dict())
    x, lengths = torch.randn(4, 12, 16), torch.tensor([12, 9, 5, 1])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, _ = nn.utils.rnn.pad_packed_sequence(ref(packed)[0], batch_first=True)
    out, _ = ours(x, lengths=lengths)
    print(f"   max |rnnkit - torch| over outputs: {(out - ref_out).abs().max().item():.2e}")


def _gradient_flow(steps: int, seed: int) -> None:
    print(
        f"\n3. Vanishing gradient: ||dL_T/dx_t|| / ||dL_T/dx_T|| over {steps} steps, fresh layers"
    )
    gaps = [g for g in (1, 5, 10, 25, 50, 100, 200) if g < steps]
    print("   " + " " * 12 + "".join(f"{'T-' + str(g):>10s}" for g in gaps))
    for name, make in (
        ("RNN (Elman)", lambda: rnnkit.RNN(32, 64)),
        ("LSTM", lambda: rnnkit.LSTM(32, 64)),
        ("LSTM +1 f", lambda: rnnkit.LSTM(32, 64, unit_forget_bias=True)),
        ("GRU", lambda: rnnkit.GRU(32, 64)),
    ):
        torch.manual_seed(seed)
        layer = make()
        x = torch.randn(16, steps, 32, requires_grad=True)
        out, _ = layer(x)
        out[:, -1].sum().backward()  # L_T depends on x_t only through the recurrence
        norms = x.grad.norm(dim=(0, 2))  # (L,)
        ratios = [norms[steps - 1 - g] / norms[-1] for g in gaps]
        print(f"   {name:12s}" + "".join(f"{r.item():10.1e}" for r in ratios))


def run_demo(steps: int = 300, seed: int = 0) -> None:
    """Print the three parts of the demo."""
    torch.manual_seed(seed)
    print(f"rnnkit {rnnkit.__version__} on torch {torch.__version__}\n")
    _backends()
    _parity()
    _gradient_flow(steps, seed)
