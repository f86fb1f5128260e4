"""rnnkit's registered operators: schema, fake and autograd registrations (torch.library.opcheck),
and outputs and gradients equal to the sequence functions they wrap."""

from __future__ import annotations

import pytest
import torch

from rnnkit.backends import custom_ops
from rnnkit.backends.elman_sequence import ElmanSequence
from rnnkit.backends.gru_sequence import GRULayer, GRUSequence
from rnnkit.backends.lstm_sequence import LayerNormLSTMSequence, LSTMSequence
from rnnkit.kernels import gru_step, lnlstm_step, lstm_step, min_scan
from tests.harness import assert_states_close

N, L, IN, H = 3, 5, 4, 6
MASK = torch.arange(L)[None, :] < torch.tensor([5, 2, 4])[:, None]


def _r(*shape):
    return torch.randn(*shape, dtype=torch.float64) * 0.5


def _cases():
    x, h0, c0 = _r(N, L, IN), _r(N, H), _r(N, H)
    return {
        "gru_layer": (GRULayer, (x, _r(3 * H, IN), _r(3 * H), h0, _r(3 * H, H), _r(3 * H), MASK),
                      gru_step),
        "gru_sequence": (GRUSequence, (_r(L, N, 3 * H).transpose(0, 1), h0, _r(3 * H, H),
                                       _r(3 * H), MASK, False), None),  # xp time-major
        "elman_sequence": (ElmanSequence, (_r(N, L, H), h0, _r(H, H), _r(H), MASK, True), None),
        "lstm_layer": (LSTMSequence, (x, _r(4 * H, IN), None, h0, c0, _r(4 * H, H), _r(4 * H),
                                      _r(3, H), MASK), lstm_step),
        "ln_lstm_layer": (LayerNormLSTMSequence, (x, _r(4 * H, IN), h0, c0, _r(4 * H, H),
                                                  1 + _r(4 * H), 1 + _r(4 * H), _r(4 * H),
                                                  1 + _r(H), _r(H), _r(3, H), None), lnlstm_step),
        "min_layer": (MinLayer_, (x, _r(2 * H, IN), _r(2 * H), h0, "gru"), min_scan),
    }  # fmt: skip


MinLayer_ = min_scan.MinLayer


def _leaves(args):
    return tuple(
        a.detach().clone().requires_grad_(a.dtype.is_floating_point)
        if isinstance(a, torch.Tensor) else a
        for a in args
    )  # fmt: skip


@pytest.mark.parametrize("name", sorted(_cases()))
def test_operator_equals_its_function_with_gradients(name):
    function, args, kernel = _cases()[name]
    if kernel is not None and kernel.library() is None:
        pytest.skip("no C compiler: the native kernel does not build")  # never in CI (gcc)
    ours, theirs = _leaves(args), _leaves(args)
    got = getattr(torch.ops.rnnkit, name)(*ours)
    expected = function.apply(*theirs)
    assert_states_close(got, expected, atol=1e-10)
    outs = got if isinstance(got, tuple) else (got,)
    refs = expected if isinstance(expected, tuple) else (expected,)
    weights = [torch.randn_like(o) for o in outs]
    sum((o * w).sum() for o, w in zip(outs, weights)).backward()
    sum((o * w).sum() for o, w in zip(refs, weights)).backward()
    for a, b in zip(ours, theirs):
        if isinstance(a, torch.Tensor) and a.requires_grad:
            assert_states_close(a.grad, b.grad, atol=1e-9)


@pytest.mark.parametrize("name", sorted(_cases()))
def test_opcheck(name):
    _, args, kernel = _cases()[name]
    if kernel is not None and kernel.library() is None:
        pytest.skip("no C compiler: the native kernel does not build")
    op = getattr(torch.ops.rnnkit, name).default
    tests = ("test_schema", "test_autograd_registration", "test_faketensor")
    torch.library.opcheck(op, _leaves(args), test_utils=tests)
    outs = op(*args)  # the backward operator: its fake's strides are its results' (Inductor
    grads = [torch.randn_like(o) for o in (outs if isinstance(outs, tuple) else (outs,))]
    backward = getattr(torch.ops.rnnkit, name + "_backward").default  # asserts them)
    torch.library.opcheck(backward, (grads, *args), test_utils=("test_schema", "test_faketensor"))


def test_every_operator_is_registered_with_a_backward():
    names = {spec.name for spec in custom_ops.SPECS}
    assert names == set(_cases())
    for name in names:
        assert hasattr(torch.ops.rnnkit, name + "_backward")
