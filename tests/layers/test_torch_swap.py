"""Code written for torch.nn.LSTM / GRU / RNN runs unchanged with rnnkit's layers swapped in.

Each usage pattern below is a small piece of ordinary PyTorch code that takes the recurrent
class as an argument; it runs once with ``torch.nn``'s class and once with rnnkit's (the same
weights, loaded by name) and both must give the same numbers.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from tests.harness import assert_states_close

PAIRS = {
    "lstm": (torch.nn.LSTM, rnnkit.LSTM),
    "gru": (torch.nn.GRU, rnnkit.GRU),
    "rnn": (torch.nn.RNN, rnnkit.RNN),
}


def _pair(kind: str, *args, **kwargs):
    theirs_cls, ours_cls = PAIRS[kind]
    torch.manual_seed(0)
    theirs = theirs_cls(*args, **kwargs)
    ours = ours_cls(*args, **kwargs)
    ours.load_state_dict(theirs.state_dict())  # strict: every name matches
    return theirs, ours


def _hidden(kind, layers, n, h):
    h0 = torch.randn(layers, n, h)
    return (h0, torch.randn(layers, n, h)) if kind == "lstm" else h0


def _both(kind, usage, *args, **kwargs):
    theirs, ours = _pair(kind, *args, **kwargs)
    torch.manual_seed(1)
    expected = usage(theirs)
    torch.manual_seed(1)
    got = usage(ours)
    assert_states_close(got, expected, atol=1e-5)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_time_major_default_with_an_initial_state(kind):
    def usage(rnn):  # torch.nn's default layout, (L, N, H), when batch_first=False is spelled
        x = torch.randn(7, 3, 4)
        return rnn(x, _hidden(kind, 2, 3, 5))

    _both(kind, usage, 4, 5, num_layers=2, batch_first=False)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_unbatched_input_and_state(kind):
    def usage(rnn):
        x = torch.randn(6, 4)  # one sequence, (L, H_in)
        out, state = rnn(x)
        h0 = _hidden(kind, 2, 1, 5)
        h0 = tuple(t.squeeze(1) for t in h0) if kind == "lstm" else h0.squeeze(1)  # (K, H)
        out2, state2 = rnn(x, h0)
        return out, state, out2, state2

    for batch_first in (True, False):
        _both(kind, usage, 4, 5, num_layers=2, batch_first=batch_first)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_packed_sequence_with_enforce_sorted_false(kind):
    def usage(rnn):
        x = torch.randn(4, 6, 3)
        lengths = torch.tensor([2, 6, 1, 4])
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        rnn.flatten_parameters()
        out, state = rnn(packed)
        padded, out_lengths = pad_packed_sequence(out, batch_first=True)
        return padded, out_lengths, state

    _both(kind, usage, 3, 5, num_layers=2, bidirectional=True, batch_first=True)


def test_lstm_projection_and_the_final_state_reshaped_by_direction():
    def usage(rnn):
        x = torch.randn(3, 6, 4)
        out, (h, c) = rnn(x)
        h = h.view(rnn.num_layers, 2, 3, rnn.proj_size)  # (layers, directions, N, P)
        return out, torch.cat([h[-1, 0], h[-1, 1]], dim=-1), c

    _both("lstm", usage, 4, 6, num_layers=2, bidirectional=True, proj_size=3, batch_first=True)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_training_loop_with_clipping_and_eval_dropout(kind):
    def usage(rnn):
        opt = torch.optim.SGD(rnn.parameters(), lr=0.1)
        x = torch.randn(3, 5, 4)
        for _ in range(2):
            opt.zero_grad()
            out, _ = rnn(x)
            out.pow(2).mean().backward()
            torch.nn.utils.clip_grad_norm_(rnn.parameters(), 0.5)
            opt.step()
        rnn.eval()  # dropout between layers is off in eval mode
        with torch.no_grad():
            return rnn(x)[0], [p.detach().clone() for p in rnn.parameters()]

    _both(kind, usage, 4, 5, num_layers=2, dropout=0.3, batch_first=True)


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_attributes_and_all_weights(kind):
    args = (4, 5, 2, "tanh") if kind == "rnn" else (4, 5, 2)  # positional, as torch.nn takes
    theirs, ours = _pair(kind, *args, False, True, 0.0, True)
    for name in ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                 "bidirectional", "dropout", "proj_size", "mode"):  # fmt: skip
        assert getattr(ours, name) == getattr(theirs, name), name
    assert len(ours.all_weights) == len(theirs.all_weights) == 4
    for mine, ref in zip(ours.all_weights, theirs.all_weights):
        assert [tuple(p.shape) for p in mine] == [tuple(p.shape) for p in ref]
        assert all(torch.equal(a, b) for a, b in zip(mine, ref))
    assert ours.all_weights[1][0] is ours.weight_ih_l0_reverse  # the parameters themselves


def test_relu_rnn_mode_and_initialisation_by_name():
    def usage(rnn):
        for name, p in rnn.named_parameters():  # a common custom initialisation
            if "weight_hh" in name:
                torch.nn.init.orthogonal_(p)
            elif "bias" in name:
                torch.nn.init.zeros_(p)
        return rnn(torch.randn(2, 5, 4))

    _both("rnn", usage, 4, 5, nonlinearity="relu", batch_first=True)
    assert rnnkit.RNN(4, 5, 1, "relu").mode == torch.nn.RNN(4, 5, 1, "relu").mode == "RNN_RELU"


@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_deepcopy_double_and_functional_call(kind):
    def usage(rnn):
        twin = copy.deepcopy(rnn).double()
        x = torch.randn(2, 5, 4, dtype=torch.float64)
        params = {n: p * 0.5 for n, p in twin.named_parameters()}
        return torch.func.functional_call(twin, params, (x,)), twin(x)

    _both(kind, usage, 4, 5, batch_first=True)
