"""Gradient flow: the probe gradients equal dL_T/dh_t computed by hand, and the plot is written."""

import torch
from torch.nn import functional as F

from rnnkit.models import LanguageModel
from rnnkit.viz import gradient_norms, plot_gradient_flow


def test_probe_gradients_equal_autograd_on_retained_states():
    torch.manual_seed(0)
    lm = LanguageModel(
        20,
        cell="rnn",
        embedding_size=6,
        hidden_size=5,
        num_layers=1,
        tie_weights=False,
        dropout=0.0,
    ).eval()
    tokens = torch.randint(20, (3, 9))  # T = 8
    norms = gradient_norms(lm, tokens)
    assert norms.shape == (7,)
    # by hand: unroll the Elman cell, retain every h_t, backprop L_T
    cell = lm.layers[0].cells[0]
    h = torch.zeros(3, 5)
    hs = []
    for t in range(8):
        h, _ = cell(lm.embed(tokens[:, t]), h)
        h.retain_grad()
        hs.append(h)
    loss = F.cross_entropy(lm.decoder(h), tokens[:, 8])
    loss.backward()
    expected = torch.stack([hs[t].grad.norm(dim=1).mean() for t in range(7)])
    torch.testing.assert_close(norms, expected)
    assert norms[0] < norms[-1]  # further back, smaller


def test_plot_writes_png(tmp_path):
    path = plot_gradient_flow({"rnn": {"fresh": [1e-6, 1e-3, 1e-1]}}, tmp_path / "g.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
