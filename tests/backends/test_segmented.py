"""Variable lengths on CPU through unpacked fused calls (rnnkit.backends.segmented)."""

import pytest
import torch

import rnnkit
from rnnkit.backends import fused, segmented
from rnnkit.backends.segmented import _segments, applies
from tests.backends.reference import reference_stack
from tests.harness import assert_states_close, grads_of

# ties, a length-1 row, the longest not first: every segment boundary case at once
LENGTHS = [3, 7, 7, 1, 5, 3]

# (layer, options, grad): the cases that run unpacked (a GRU or an Elman RNN in inference packs)
UNPACKED = [
    (rnnkit.LSTM, {}, True),
    (rnnkit.LSTM, {}, False),
    (rnnkit.LSTM, {"proj_size": 3}, True),
    (rnnkit.RNN, {"activation": "relu"}, True),
    (rnnkit.RNN, {"activation": "tanh"}, True),
]


def test_segments_cut_time_at_every_distinct_length():
    assert _segments([7, 7, 5, 3, 3, 1]) == [(0, 1, 6), (1, 3, 5), (3, 5, 3), (5, 7, 2)]
    assert _segments([4, 4]) == [(0, 4, 2)]


def _never_pack(*args, **kwargs):
    raise AssertionError("the CPU path must not pack")


def test_lstm_segments_only_when_they_are_long_enough():
    steps = 4 * segmented.MIN_STEPS_PER_CALL
    assert applies("lstm", torch.tensor([steps, steps - 1, steps - 1, 2]), steps)  # 3 lengths
    assert not applies("lstm", torch.arange(1, 6), steps)  # 5 distinct lengths over 16 steps
    assert not applies("gru", torch.tensor([steps, 2]), steps)
    assert applies("rnn_tanh", torch.arange(1, 6), steps)
    with torch.no_grad():
        assert not applies("rnn_relu", torch.arange(1, 6), steps)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize(
    ("cls", "opts", "grad"), UNPACKED, ids=[f"{c.__name__}-{o}-{g}" for c, o, g in UNPACKED]
)
def test_equals_reference_without_packing(monkeypatch, cls, opts, grad):
    monkeypatch.setattr(fused, "pack_padded_sequence", _never_pack)
    monkeypatch.setattr(segmented, "MIN_STEPS_PER_CALL", 1)  # segment even this short batch
    layer = cls(4, 5, num_layers=2, bidirectional=True, **opts).double()
    x = torch.randn(len(LENGTHS), 8, 4, dtype=torch.float64)  # 8 > max length: a padded tail
    lengths = torch.tensor(LENGTHS)
    expected = reference_stack(layer, x, LENGTHS)
    with torch.set_grad_enabled(grad):
        assert_states_close(layer(x, lengths=lengths), expected)
    if grad:
        got = grads_of(layer, x, lambda m, inp: m(inp, lengths=lengths))
        want = grads_of(layer, x, lambda m, inp: reference_stack(m, inp, LENGTHS))
        assert_states_close(got, want)


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.RNN])
def test_go_backwards_with_lengths(monkeypatch, cls):
    monkeypatch.setattr(fused, "pack_padded_sequence", _never_pack)
    monkeypatch.setattr(segmented, "MIN_STEPS_PER_CALL", 1)
    layer = cls(3, 4, go_backwards=True).double()
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    lengths = [6, 2, 4, 2]
    assert_states_close(layer(x, lengths=torch.tensor(lengths)), reference_stack(layer, x, lengths))


def test_full_lengths_take_the_single_call(monkeypatch):
    monkeypatch.setattr(segmented, "MIN_STEPS_PER_CALL", 1)
    calls = []
    original = torch.lstm
    monkeypatch.setitem(fused._OPS, "lstm", lambda *a: calls.append(1) or original(*a))
    layer = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True)
    layer(torch.randn(2, 5, 3), lengths=torch.tensor([5, 5]))
    assert len(calls) == 1
    calls.clear()
    layer(torch.randn(2, 5, 3), lengths=torch.tensor([5, 3]))
    assert len(calls) == 2 * 2 * 2  # layers x directions x distinct lengths


def test_dropout_between_layers_as_two_single_layers(monkeypatch):
    monkeypatch.setattr(fused, "pack_padded_sequence", _never_pack)
    layer = rnnkit.LSTM(4, 5, num_layers=2, bidirectional=True, dropout=0.5).double().train()
    first = rnnkit.LSTM(4, 5, bidirectional=True).double()
    second = rnnkit.LSTM(10, 5, bidirectional=True).double()
    weights = layer.state_dict()
    for k, part in enumerate((first, second)):
        part.load_state_dict({name.replace(f"_l{k}", "_l0"): w for name, w in weights.items()
                              if f"_l{k}" in name})  # fmt: skip
    x = torch.randn(4, 24, 4, dtype=torch.float64)
    lengths = torch.tensor([24, 20, 20, 16])  # 3 lengths over 24 steps: segmented
    torch.manual_seed(3)
    got, _ = layer(x, lengths=lengths)
    torch.manual_seed(3)
    hidden, _ = first(x, lengths=lengths)
    mask = torch.nn.functional.dropout(torch.ones_like(hidden), 0.5, training=True)
    want, _ = second(hidden * mask, lengths=lengths)
    assert not torch.equal(mask, torch.ones_like(mask))  # some features were dropped
    assert_states_close(got, want)
