"""Recorded gates equal the cells' equations written out here, independently, in plain torch."""

import pytest
import torch
from torch.nn import functional as F

from rnnkit.cells import ElmanCell, GRUCell, LSTMCell
from rnnkit.inspect import trace_cell
from tests.harness import assert_states_close

N, L, IN, H = 3, 5, 4, 6


def _randomise(cell):
    """Every parameter random (layer-norm gains included), so no term can hide."""
    with torch.no_grad():
        for p in cell.parameters():
            p.uniform_(-0.8, 0.8)
    return cell


def _lstm_reference(cell, x, h, c):
    """The LSTM of the lecture notes, gate by gate (peephole, layer norm, projection)."""

    def ln(part, v):
        w = getattr(cell, f"layer_norm_{part}_weight")
        b = getattr(cell, f"layer_norm_{part}_bias")
        mu, var = v.mean(-1, keepdim=True), v.var(-1, unbiased=False, keepdim=True)
        return (v - mu) / torch.sqrt(var + 1e-5) * w + b

    sig = {"sigmoid": torch.sigmoid, "hard_sigmoid": F.hardsigmoid}[cell.recurrent_activation]
    out = {k: [] for k in "ifgoch"}
    for t in range(x.shape[1]):
        wx, wh = x[:, t] @ cell.weight_ih.T, h @ cell.weight_hh.T
        if cell.layer_norm:
            wx, wh = ln("ih", wx), ln("hh", wh)
        a = wx + cell.bias_ih + wh + cell.bias_hh
        ai, af, ag, ao = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        if cell.peephole:
            ai, af = ai + cell.weight_ci * c, af + cell.weight_cf * c
        i, f, g = sig(ai), sig(af), torch.tanh(ag)
        c = f * c + i * g
        if cell.peephole:
            ao = ao + cell.weight_co * c
        o = sig(ao)
        h = o * torch.tanh(ln("c", c) if cell.layer_norm else c)
        if cell.proj_size:
            h = h @ cell.weight_hr.T
        for k, v in zip("ifgoch", (i, f, g, o, c, h)):
            out[k].append(v)
    return {k: torch.stack(v, 1) for k, v in out.items()}


def _gru_reference(cell, x, h):
    out = {k: [] for k in "rznh"}
    wi, wh, bi, bh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = torch.sigmoid(xt @ wi[:H].T + bi[:H] + h @ wh[:H].T + bh[:H])
        z = torch.sigmoid(
            xt @ wi[H : 2 * H].T + bi[H : 2 * H] + h @ wh[H : 2 * H].T + bh[H : 2 * H]
        )
        if cell.reset_after:  # r scales the whole hidden term, bias included
            hn = r * (h @ wh[2 * H :].T + bh[2 * H :])
        else:  # r scales h before the product (the original paper's placement)
            hn = (r * h) @ wh[2 * H :].T + bh[2 * H :]
        n = torch.tanh(xt @ wi[2 * H :].T + bi[2 * H :] + hn)
        h = (1 - z) * n + z * h
        for k, v in zip("rznh", (r, z, n, h)):
            out[k].append(v)
    return {k: torch.stack(v, 1) for k, v in out.items()}


def _elman_reference(cell, x, h):
    act = {"tanh": torch.tanh, "relu": torch.relu}[cell.activation]
    hs = []
    for t in range(x.shape[1]):
        h = act(x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
        hs.append(h)
    return {"h": torch.stack(hs, 1)}


LSTMS = {
    "standard": {},
    "peephole": {"peephole": True},
    "layer_norm": {"layer_norm": True},
    "projection": {"proj_size": 3},
    "peephole+layer_norm": {"peephole": True, "layer_norm": True},
    "hard_sigmoid": {"recurrent_activation": "hard_sigmoid"},
}


@pytest.mark.parametrize("options", LSTMS.values(), ids=LSTMS.keys())
def test_lstm_gates_equal_the_equations(options):
    cell = _randomise(LSTMCell(IN, H, **options))
    x = torch.randn(N, L, IN)
    h0, c0 = torch.randn(N, cell.output_size), torch.randn(N, H)
    signals, final = trace_cell(cell, x, (h0, c0))
    with torch.no_grad():
        expected = _lstm_reference(cell, x, h0, c0)
    assert set(signals) == set("ifgoch")
    for k in "ifgoch":
        assert_states_close(signals[k], expected[k])
    assert_states_close(final, (expected["h"][:, -1], expected["c"][:, -1]))


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_gates_equal_the_equations_for_both_reset_placements(reset_after):
    cell = _randomise(GRUCell(IN, H, reset_after=reset_after))
    x, h0 = torch.randn(N, L, IN), torch.randn(N, H)
    signals, _ = trace_cell(cell, x, (h0,))
    with torch.no_grad():
        expected = _gru_reference(cell, x, h0)
    for k in "rznh":
        assert_states_close(signals[k], expected[k])


def test_reset_placement_changes_the_candidate():
    """The two GRU variants differ on the same weights, so the test above can tell them apart."""
    a = _randomise(GRUCell(IN, H, reset_after=True))
    b = GRUCell(IN, H, reset_after=False)
    b.load_state_dict(a.state_dict())
    x = torch.randn(N, L, IN)
    na, nb = trace_cell(a, x)[0]["n"], trace_cell(b, x)[0]["n"]
    assert (na - nb).abs().max() > 1e-3


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_elman_equals_the_equation(activation):
    cell = _randomise(ElmanCell(IN, H, activation=activation))
    x, h0 = torch.randn(N, L, IN), torch.randn(N, H)
    signals, _ = trace_cell(cell, x, (h0,))
    with torch.no_grad():
        assert_states_close(signals["h"], _elman_reference(cell, x, h0)["h"])


def test_lengths_freeze_the_state_and_zero_the_padding():
    cell = _randomise(LSTMCell(IN, H))
    x, lengths = torch.randn(N, L, IN), torch.tensor([5, 2, 1])
    signals, (h, c) = trace_cell(cell, x, lengths=lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, (h1, c1) = trace_cell(cell, x[n : n + 1, :length])
        for k in signals:
            assert_states_close(signals[k][n : n + 1, :length], alone[k])
            assert torch.all(signals[k][n, length:] == 0)
        assert_states_close((h[n : n + 1], c[n : n + 1]), (h1, c1))


def test_reverse_reads_each_sequence_from_its_own_end():
    cell = _randomise(GRUCell(IN, H))
    x, lengths = torch.randn(2, L, IN), torch.tensor([5, 3])
    signals, _ = trace_cell(cell, x, lengths=lengths, reverse=True)
    alone, _ = trace_cell(cell, x[1:, :3].flip(1))
    assert_states_close(signals["h"][1:, :3], alone["h"].flip(1))
