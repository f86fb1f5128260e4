"""The GRU sequence function equals torch.gru in outputs, states and gradients.

reset_after=False: tests/backends/test_equivalence.py compares it with the step-by-step reference.
"""

import pytest
import torch

import rnnkit
from rnnkit.backends import run_fused
from rnnkit.backends.gru_sequence import GRUSequence, run_gru_sequence, use_gru_cpu
from tests.harness import assert_states_close, grads_of


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_equals_the_fused_kernel(bidirectional, go_backwards, with_lengths):
    torch.manual_seed(0)
    layer = rnnkit.GRU(4, 6, num_layers=2, bidirectional=bidirectional,
                       go_backwards=go_backwards).double()  # fmt: skip
    x = torch.randn(3, 7, 4, dtype=torch.double)
    lengths = torch.tensor([7, 4, 1]) if with_lengths else None
    h0 = torch.randn(2 * (2 if bidirectional else 1), 3, 6, dtype=torch.double)
    options = {"num_layers": 2, "bidirectional": bidirectional, "reverse": go_backwards}

    def ours(m, inp):
        return run_gru_sequence(m.cells, inp, h0, lengths, **options)

    def torchs(m, inp):
        return run_fused("gru", m.cells, inp, h0, lengths, **options)

    assert_states_close(ours(layer, x), torchs(layer, x), atol=1e-12)
    for a, b in zip(grads_of(layer, x, ours), grads_of(layer, x, torchs)):
        assert_states_close(a, b, atol=1e-10)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gradcheck_of_the_function(reset_after):
    torch.manual_seed(0)
    xp = torch.randn(2, 4, 9, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    w = torch.randn(9, 3, dtype=torch.double, requires_grad=True)
    b = torch.randn(9, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    assert torch.autograd.gradcheck(
        lambda *a: GRUSequence.apply(*a, mask, reset_after), (xp, h0, w, b)
    )


def test_the_layer_uses_it_when_training_on_cpu():
    layer = rnnkit.GRU(4, 6)
    x = torch.randn(2, 5, 4)
    assert use_gru_cpu(layer.backend.kernel, x) and "GRUSequence" in layer.backend.reason
    with torch.no_grad():
        assert not use_gru_cpu(layer.backend.kernel, x)
    assert not use_gru_cpu(rnnkit.LSTM(4, 6).backend.kernel, x)
