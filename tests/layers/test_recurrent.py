"""rnnkit.Recurrent: any cell over time, user-defined cells included."""

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.backends import force
from tests.harness import (
    assert_states_close,
    check_gradcheck,
    check_lengths_match_alone,
    check_step_vs_sequence,
)


class TinyCell(rnnkit.RecurrentCell):
    """A user cell implementing forward only: h_t = tanh(A x_t + B h_{t-1})."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.a = nn.Linear(input_size, hidden_size)
        self.b = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, x_t, state=None):
        if state is None:
            state = self.init_state(x_t.shape[0], x_t.device, x_t.dtype)
        h = torch.tanh(self.a(x_t) + self.b(state))
        return h, h


class PairCell(rnnkit.RecurrentCell):
    """A user cell with a two-part state of different widths: (h (H), m (2H))."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__(input_size, hidden_size)
        self.lin = nn.Linear(input_size + 2 * hidden_size, 3 * hidden_size)

    @property
    def state_size(self):
        return (self.hidden_size, 2 * self.hidden_size)

    def forward(self, x_t, state=None):
        if state is None:
            state = self.init_state(x_t.shape[0], x_t.device, x_t.dtype)
        h, m = state
        z = torch.tanh(self.lin(torch.cat([x_t, m], -1)))
        h_new, m_new = z[:, : self.hidden_size], z[:, self.hidden_size :]
        return h_new + h, (h_new, m_new)


def _manual_loop(cell, x):
    state, outs = None, []
    for t in range(x.shape[1]):
        h, state = cell(x[:, t], state)
        outs.append(h)
    return torch.stack(outs, 1), state


def test_user_cell_runs_generic_and_equals_manual_loop():
    layer = rnnkit.Recurrent(TinyCell(3, 4))
    assert layer.backend.kind == "generic" and "user-defined cell TinyCell" in str(layer.backend)
    assert not layer.backend.fallback
    x = torch.randn(2, 5, 3)
    out, h = layer(x)
    ref_out, ref_h = _manual_loop(layer.cell, x)
    assert_states_close(out, ref_out)
    assert_states_close(h, ref_h.unsqueeze(0))


def test_user_cell_with_tuple_state():
    layer = rnnkit.Recurrent(PairCell(3, 4))
    x = torch.randn(2, 5, 3)
    out, (h, m) = layer(x)
    assert out.shape == (2, 5, 4) and h.shape == (1, 2, 4) and m.shape == (1, 2, 8)
    check_step_vs_sequence(layer, x)
    check_lengths_match_alone(layer, torch.randn(3, 5, 3), [5, 2, 3])


def test_user_cell_gradcheck_with_lengths():
    check_gradcheck(
        rnnkit.Recurrent(TinyCell(2, 3)), torch.randn(2, 4, 2), lengths=torch.tensor([4, 2])
    )


@pytest.mark.parametrize(
    "cell", [rnnkit.LSTMCell(3, 4), rnnkit.GRUCell(3, 4), rnnkit.ElmanCell(3, 4)]
)
def test_builtin_cell_runs_fused_and_matches_generic(cell):
    layer = rnnkit.Recurrent(cell)  # fused; a GRU training on CPU runs rnnkit's GRU sequence
    assert layer.backend.kind in ("fused", "sequence")
    x = torch.randn(3, 6, 3)
    lengths = torch.tensor([6, 2, 4])
    fused = layer(x, lengths=lengths)
    with force("generic"):
        assert_states_close(layer(x, lengths=lengths), fused)


def test_go_backwards_with_lengths_reads_each_sequence_from_its_end():
    layer = rnnkit.Recurrent(TinyCell(3, 4), go_backwards=True)
    x = torch.randn(2, 5, 3)
    out, h = layer(x, lengths=torch.tensor([5, 3]))
    short = x[1:, :3].flip(1)
    ref_out, ref_h = _manual_loop(layer.cell, short)
    assert_states_close(out[1:, :3], ref_out.flip(1))
    assert_states_close(h[:, 1:], ref_h.unsqueeze(0))
    assert torch.all(out[1, 3:] == 0)


def test_stateful_user_cell_continues_across_calls():
    layer = rnnkit.Recurrent(TinyCell(3, 4), stateful=True)
    x = torch.randn(2, 6, 3)
    first, _ = layer(x[:, :2])
    second, _ = layer(x[:, 2:])
    ref, _ = _manual_loop(layer.cell, x)
    assert_states_close(torch.cat([first, second], 1), ref)


def test_layer_name_names_the_cell():
    assert rnnkit.Recurrent(TinyCell(3, 4)).layer_name == "Recurrent(TinyCell)"
