"""Bidirectional and Stacked wrappers around any layer."""

import pytest
import torch

import rnnkit
from rnnkit import Bidirectional, GRUCell, LSTMCell, Recurrent, Stacked
from tests.harness import assert_states_close, check_lengths_match_alone, check_step_vs_sequence
from tests.layers.test_recurrent import TinyCell


@pytest.mark.parametrize(
    ("mode", "combine"),
    [
        ("concat", lambda a, b: torch.cat([a, b], -1)),
        ("sum", lambda a, b: a + b),
        ("mul", lambda a, b: a * b),
        ("ave", lambda a, b: (a + b) / 2),
    ],
)
def test_merge_modes(mode, combine):
    bi = Bidirectional(Recurrent(GRUCell(3, 4)), merge_mode=mode)
    x = torch.randn(2, 5, 3)
    lengths = torch.tensor([5, 3])
    out, h = bi(x, lengths=lengths)
    f_out, f_h = bi.forward_layer(x, lengths=lengths)
    b_out, b_h = bi.backward_layer(x, lengths=lengths)
    assert_states_close(out, combine(f_out, b_out))
    assert_states_close(h, torch.cat([f_h, b_h]))
    assert bi.output_size == out.shape[-1]


def test_default_backward_layer_is_fresh_and_reversed():
    fwd = Recurrent(TinyCell(3, 4))
    bi = Bidirectional(fwd)
    assert bi.backward_layer.go_backwards and not fwd.go_backwards
    assert not torch.equal(bi.backward_layer.cell.a.weight, fwd.cell.a.weight)


def test_bidirectional_user_cell_lengths_match_alone():
    bi = Bidirectional(Recurrent(TinyCell(3, 4)))
    check_lengths_match_alone(bi, torch.randn(3, 6, 3), [6, 1, 4])


def test_bidirectional_builtin_equals_wrapped_cells():
    lstm = rnnkit.LSTM(3, 4, bidirectional=True)
    bi = Bidirectional(
        Recurrent(lstm.cells[0]), backward_layer=Recurrent(lstm.cells[1], go_backwards=True)
    )
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([5, 2, 4])
    assert_states_close(bi(x, lengths=lengths), lstm(x, lengths=lengths))


def test_bidirectional_rejects_bad_merge():
    with pytest.raises(ValueError, match="merge_mode must be one of"):
        Bidirectional(Recurrent(TinyCell(3, 4)), merge_mode="max")
    with pytest.raises(ValueError, match="needs equal output sizes"):
        Bidirectional(Recurrent(TinyCell(3, 4)), "sum", backward_layer=Recurrent(TinyCell(3, 5)))


def test_stacked_equals_manual_composition_and_splits_state():
    a, b = Recurrent(LSTMCell(3, 4)), Recurrent(LSTMCell(4, 4))
    deep = Stacked([a, b])
    x = torch.randn(2, 5, 3)
    h0, c0 = torch.randn(2, 2, 4), torch.randn(2, 2, 4)
    out, (h, c) = deep(x, (h0, c0))
    mid, (ha, ca) = a(x, (h0[:1], c0[:1]))
    ref, (hb, cb) = b(mid, (h0[1:], c0[1:]))
    assert_states_close(out, ref)
    assert_states_close((h, c), (torch.cat([ha, hb]), torch.cat([ca, cb])))


def test_stacked_of_different_widths_uses_a_list_state():
    deep = Stacked([Recurrent(GRUCell(3, 6)), Bidirectional(Recurrent(TinyCell(6, 2)))])
    x = torch.randn(2, 5, 3)
    out, state = deep(x)
    assert out.shape == (2, 5, 4)
    assert isinstance(state, list) and state[0].shape == (1, 2, 6) and state[1].shape == (2, 2, 2)
    again, _ = deep(x, state)  # a list state is accepted back as the initial state
    assert again.shape == out.shape and not torch.allclose(again, out)
    with pytest.raises(ValueError, match=r"expected state of shape \[\(1, 2, 6\), \(2, 2, 2\)\]"):
        deep(x, [state[0], state[0]])
    uni = Stacked([Recurrent(GRUCell(3, 6)), Recurrent(TinyCell(6, 2))])
    check_step_vs_sequence(uni, x)


def test_stacked_dropout_only_between_layers_in_training():
    deep = Stacked([Recurrent(GRUCell(3, 8)), Recurrent(GRUCell(8, 8))], dropout=0.5)
    x = torch.randn(2, 5, 3)
    deep.eval()
    ref = deep(x)[0]
    deep.train()
    assert not torch.allclose(deep(x)[0], ref)
    single = Stacked([Recurrent(GRUCell(3, 8))], dropout=0.5).train()
    assert torch.equal(single(x)[0], single.layers[0](x)[0])


def test_stacked_size_mismatch_is_named():
    with pytest.raises(ValueError, match="layer 0 outputs 4 features but layer 1 expects 5"):
        Stacked([Recurrent(GRUCell(3, 4)), Recurrent(GRUCell(5, 4))])


def test_wrapper_backend_reports_first_generic_part():
    deep = Stacked([Recurrent(GRUCell(3, 4)), Recurrent(GRUCell(4, 4, activation="relu"))])
    assert deep.backend.kind == "generic" and "'relu'" in deep.backend.reason
    assert Stacked([Recurrent(LSTMCell(3, 4))]).backend.kind == "fused"


def test_wrappers_take_cells_directly():
    bi = Bidirectional(GRUCell(3, 4), merge_mode="sum")
    deep = Stacked([LSTMCell(3, 4), LSTMCell(4, 5)])
    assert isinstance(bi.forward_layer, Recurrent) and isinstance(deep.layers[1], Recurrent)
    assert bi(torch.randn(2, 5, 3))[0].shape == (2, 5, 4)
    assert deep(torch.randn(2, 5, 3))[0].shape == (2, 5, 5)
    with pytest.raises(
        TypeError, match="expected a sequence layer or a recurrent cell, got Linear"
    ):
        Stacked([torch.nn.Linear(3, 4)])
