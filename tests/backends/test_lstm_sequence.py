"""The peephole-LSTM sequence function equals the generic path (the cell's own equations)."""

import pytest
import torch

import rnnkit
from rnnkit.backends.lstm_sequence import LSTMSequence
from tests.harness import assert_states_close, grads_of


def _pair(layer, x, state, lengths):
    """The layer's output on its own backend and forced onto the generic path."""

    def ours(m, inp):
        return m(inp, state, lengths=lengths)

    def generic(m, inp):
        with rnnkit.backends.force("generic"):
            return m(inp, state, lengths=lengths)

    return ours, generic


def _check_equal(layer, x, k, lengths):
    """Outputs and gradients (float64) on the layer's backend equal the generic path's, from a
    random (h, c) state of k layer-directions of 6 units."""
    state = (torch.randn(k, 3, 6, dtype=torch.double), torch.randn(k, 3, 6, dtype=torch.double))
    ours, generic = _pair(layer, x, state, lengths)
    assert_states_close(ours(layer, x), generic(layer, x), atol=1e-12)
    for a, b in zip(grads_of(layer, x, ours), grads_of(layer, x, generic)):
        assert_states_close(a, b, atol=1e-10)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_equals_the_generic_path(bidirectional, go_backwards, with_lengths):
    torch.manual_seed(0)
    layer = rnnkit.LSTM(4, 6, num_layers=2, peephole=True, bidirectional=bidirectional,
                        go_backwards=go_backwards, unit_forget_bias=True).double()  # fmt: skip
    assert layer.backend.kind == "sequence" and "LSTMSequence" in layer.backend.reason
    x = torch.randn(3, 7, 4, dtype=torch.double)
    lengths = torch.tensor([7, 4, 1]) if with_lengths else None
    k = 2 * (2 if bidirectional else 1)
    _check_equal(layer, x, k, lengths)


def test_float32_and_the_final_cell_state_gradient():
    torch.manual_seed(1)
    layer = rnnkit.LSTM(5, 8, peephole=True)
    x = torch.randn(2, 9, 5, requires_grad=True)
    out, (h, c) = layer(x)
    with rnnkit.backends.force("generic"):
        out2, (h2, c2) = layer(x)
    assert_states_close((out, h, c), (out2, h2, c2), atol=1e-5)
    # a loss on c alone reaches x and the peepholes only through the final cell state
    g1 = torch.autograd.grad(c.pow(2).sum(), (x, layer.cells[0].weight_co))
    g2 = torch.autograd.grad(c2.pow(2).sum(), (x, layer.cells[0].weight_co))
    for a, b in zip(g1, g2):
        assert_states_close(a, b, atol=1e-4)


@pytest.mark.parametrize("block_bytes", [1 << 20, 2 * 2 * 12 * 8])  # one block; 2 steps each
@pytest.mark.parametrize("bias_ih", [True, False])
def test_gradcheck_of_the_function(monkeypatch, block_bytes, bias_ih):
    from rnnkit.kernels import blocks

    monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)
    torch.manual_seed(2)
    x = torch.randn(2, 5, 4, dtype=torch.double, requires_grad=True)
    w_ih = torch.randn(12, 4, dtype=torch.double, requires_grad=True)
    b_ih = torch.randn(12, dtype=torch.double, requires_grad=True) if bias_ih else None
    h0, c0 = (torch.randn(2, 3, dtype=torch.double, requires_grad=True) for _ in range(2))
    w = torch.randn(12, 3, dtype=torch.double, requires_grad=True)
    b = torch.randn(12, dtype=torch.double, requires_grad=True)
    peep = torch.randn(3, 3, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    assert blocks.block_steps(5, 2, 12, 8) == (5 if block_bytes == 1 << 20 else 2)

    def function(x, w_ih, h0, c0, w, b, peep, *b_ih):
        return LSTMSequence.apply(x, w_ih, *(b_ih or [None]), h0, c0, w, b, peep, mask)

    args = (x, w_ih, h0, c0, w, b, peep) + ((b_ih,) if bias_ih else ())
    assert torch.autograd.gradcheck(function, args)


def test_other_variants_stay_generic():
    assert rnnkit.LSTM(4, 6, layer_norm=True, proj_size=3).backend.kind == "generic"
    assert rnnkit.LSTM(4, 6, peephole=True, activation="relu").backend.kind == "generic"
    training = rnnkit.LSTM(4, 6, peephole=True, recurrent_dropout=0.2)
    assert training.backend.kind == "generic"
    assert training.eval().backend.kind == "sequence"


@pytest.mark.parametrize("peephole", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_norm_lstm_equals_the_generic_path(peephole, bidirectional):
    torch.manual_seed(5)
    layer = rnnkit.LSTM(4, 6, num_layers=2, layer_norm=True, peephole=peephole,
                        bidirectional=bidirectional).double()  # fmt: skip
    with torch.no_grad():  # move the norms' gains and biases away from 1 and 0
        for p in layer.parameters():
            p.add_(0.2 * torch.randn_like(p))
    assert "LayerNormLSTMSequence" in layer.backend.reason
    x = torch.randn(3, 7, 4, dtype=torch.double)
    k = 2 * (2 if bidirectional else 1)
    _check_equal(layer, x, k, torch.tensor([7, 5, 2]))


def test_layer_norm_lstm_float32():
    torch.manual_seed(6)
    layer = rnnkit.LSTM(5, 8, layer_norm=True)
    x = torch.randn(2, 9, 5)
    out = layer(x)
    with rnnkit.backends.force("generic"):
        ref = layer(x)
    assert_states_close(out, ref, atol=1e-5)


def test_layer_norm_lstm_without_an_input_gradient(monkeypatch):
    """x not requiring grad (a first layer over fixed features): no dx is computed, and W_ih's
    gradient, accumulated block by block (blocks of 2 steps over 7 here), is unchanged."""
    from rnnkit.kernels import blocks

    monkeypatch.setattr(blocks, "BLOCK_BYTES", 2 * 3 * 24 * 8)  # 2 steps of 3 rows of 4H = 24
    assert blocks.block_steps(7, 3, 24, 8) == 2
    torch.manual_seed(8)
    layer = rnnkit.LSTM(4, 6, layer_norm=True).double()
    x = torch.randn(3, 7, 4, dtype=torch.double)
    grads = []
    for mode in ("sequence", "generic"):
        with rnnkit.backends.force(mode) if mode == "generic" else torch.enable_grad():
            out, (_, c) = layer(x)
        grads.append(torch.autograd.grad((out.sin().sum() + c.sum()), list(layer.parameters())))
    for a, b in zip(*grads):
        assert_states_close(a, b, atol=1e-10)


def test_gradcheck_of_the_layer_norm_function(monkeypatch):
    from rnnkit.backends.lstm_sequence import LayerNormLSTMSequence
    from rnnkit.kernels import blocks

    monkeypatch.setattr(blocks, "BLOCK_BYTES", 2 * 2 * 12 * 8)  # 2 steps of 2 rows, over 5
    assert blocks.block_steps(5, 2, 12, 8) == 2
    torch.manual_seed(9)

    def t(*shape, scale=1.0):
        return (scale * torch.randn(*shape, dtype=torch.double)).requires_grad_(True)

    hs = 3
    args = (t(2, 5, 4), t(4 * hs, 4), t(2, hs), t(2, hs), t(4 * hs, hs), t(4 * hs),
            t(4 * hs), t(4 * hs), t(hs), t(hs), t(3, hs))  # fmt: skip
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    assert torch.autograd.gradcheck(lambda *a: LayerNormLSTMSequence.apply(*a, mask), args)
