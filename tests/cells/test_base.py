"""The RecurrentCell contract for user-defined cells, dropout masks, and GRU recurrent dropout."""

import pytest
import torch
from torch import nn

from rnnkit.cells import DropoutMasks, ElmanCell, GRUCell, LSTMCell, RecurrentCell
from tests.harness import assert_states_close, check_gradcheck

N, IN, H = 3, 5, 4
F64 = torch.float64


class TinyCell(RecurrentCell):
    """A user cell implementing forward only: h_t = tanh(A x_t + b + B h_{t-1})."""

    def __init__(self, input_size: int, hidden_size: int, **kwargs) -> None:
        super().__init__(input_size, hidden_size, **kwargs)
        self.a = nn.Linear(input_size, hidden_size)
        self.b = nn.Linear(hidden_size, hidden_size, bias=False)
        self.calls = 0

    def forward(self, x_t, state=None):
        self.calls += 1
        if state is None:
            state = self.init_state(x_t.shape[0], x_t.device, x_t.dtype)
        h = torch.tanh(self.a(x_t) + self.b(state))
        return h, h


class StepOnlyCell(RecurrentCell):
    """A user cell implementing step only (forward inherited): h_t = tanh(x_t) + h_{t-1} / 2."""

    def step(self, xp_t, state, recurrent_mask=None):
        h = torch.tanh(xp_t) + state / 2
        return h, h


class NoMathCell(RecurrentCell):
    """Implements neither forward nor step."""


def _expected_tiny(cell: TinyCell, x, h):
    return torch.tanh(x @ cell.a.weight.T + cell.a.bias + h @ cell.b.weight.T)


# ------------------------------------------------------------ user cell contract
def test_user_cell_sizes_and_flags():
    cell = TinyCell(IN, H)
    assert cell.input_size == IN and cell.hidden_size == H
    assert cell.state_size == (H,)
    assert cell.output_size == H
    assert cell.projects_input is False
    assert RecurrentCell.projects_input is False
    for builtin in (ElmanCell(IN, H), GRUCell(IN, H), LSTMCell(IN, H)):
        assert builtin.projects_input is True
    assert cell.get_config() == {
        "input_size": IN,
        "hidden_size": H,
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
    }


def test_user_cell_init_state():
    cell = TinyCell(IN, H)
    s = cell.init_state(N)
    assert isinstance(s, torch.Tensor)
    assert s.shape == (N, H) and s.dtype == torch.float32 and torch.all(s == 0)
    assert cell.init_state(N, dtype=F64).dtype == F64
    assert cell.double().init_state(2).dtype == F64  # follows the parameters
    # a parameter-free cell still works
    s2 = StepOnlyCell(IN, IN).init_state(2)
    assert s2.shape == (2, IN) and torch.all(s2 == 0)


def test_user_cell_project_input_is_identity():
    cell = TinyCell(IN, H)
    x = torch.randn(N, 7, IN)
    assert cell.project_input(x) is x


def test_user_cell_step_delegates_to_forward():
    cell = TinyCell(IN, H).double()
    x, h = torch.randn(N, IN, dtype=F64), torch.randn(N, H, dtype=F64)
    with torch.no_grad():
        calls = cell.calls
        out, state = cell.step(cell.project_input(x), h)
        assert cell.calls == calls + 1, "step must call forward"
        expected = _expected_tiny(cell, x, h)
        torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)
        torch.testing.assert_close(state, expected, atol=1e-12, rtol=0)
        assert_states_close(cell(x, h), (out, state), atol=0, rtol=0)


def test_user_cell_no_state_equals_zero_state():
    cell = TinyCell(IN, H).double()
    x = torch.randn(N, IN, dtype=F64)
    with torch.no_grad():
        assert_states_close(cell(x), cell(x, cell.init_state(N)), atol=0, rtol=0)


def test_step_only_user_cell_gets_default_forward():
    cell = StepOnlyCell(IN, IN)
    x, h = torch.randn(N, IN), torch.randn(N, IN)
    out, state = cell(x, h)
    torch.testing.assert_close(out, torch.tanh(x) + h / 2)
    assert state is out
    out0, _ = cell(x)  # default forward builds the zero state
    torch.testing.assert_close(out0, torch.tanh(x))


def test_cell_without_math_raises_not_implemented():
    cell = NoMathCell(IN, H)
    with pytest.raises(NotImplementedError, match="NoMathCell"):
        cell(torch.randn(N, IN))
    with pytest.raises(NotImplementedError, match="NoMathCell"):
        cell.step(torch.randn(N, IN), cell.init_state(N))


def test_user_cell_gradcheck():
    cell = TinyCell(2, 3)
    check_gradcheck(cell, torch.randn(2, 2, dtype=F64))
    check_gradcheck(cell, torch.randn(2, 2, dtype=F64), state=torch.randn(2, 3, dtype=F64))


# -------------------------------------------------------------- argument checks
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"recurrent_dropout": 1.0}, "recurrent_dropout"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout"),
    ],
)
def test_invalid_dropout_raises_naming_class(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        TinyCell(IN, H, **kwargs)
    assert "TinyCell" in str(info.value)


@pytest.mark.parametrize("sizes", [(0, H), (IN, 0), (-2, H)])
def test_invalid_sizes_raise_naming_class(sizes):
    with pytest.raises(ValueError, match="TinyCell"):
        TinyCell(*sizes)


def test_boundary_dropout_values_are_accepted():
    cell = TinyCell(IN, H, dropout=0.0, recurrent_dropout=0.999)
    assert cell.dropout == 0.0 and cell.recurrent_dropout == 0.999


# ------------------------------------------------------------------ sample_masks
def test_sample_masks_eval_mode_gives_none():
    cell = TinyCell(IN, H, dropout=0.5, recurrent_dropout=0.5).eval()
    masks = cell.sample_masks(N, torch.empty(0))
    assert isinstance(masks, DropoutMasks)
    assert masks.input is None and masks.recurrent is None


def test_sample_masks_train_mode_without_dropout_gives_none():
    cell = TinyCell(IN, H).train()
    masks = cell.sample_masks(N, torch.empty(0))
    assert masks.input is None and masks.recurrent is None


def test_sample_masks_train_mode_shapes_and_values():
    cell = TinyCell(IN, H, dropout=0.5, recurrent_dropout=0.5).train()
    masks = cell.sample_masks(N, torch.empty(0, dtype=F64))
    assert masks.input.shape == (N, IN)
    assert masks.recurrent.shape == (N, H)
    for m in (masks.input, masks.recurrent):
        assert m.dtype == F64
        assert torch.all((m == 0) | (m == 2.0)), m


def test_sample_masks_only_one_kind():
    cell = TinyCell(IN, H, recurrent_dropout=0.3).train()
    masks = cell.sample_masks(N, torch.empty(0))
    assert masks.input is None
    assert masks.recurrent.shape == (N, H)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.75])
def test_sample_masks_rate_and_scale(p):
    """Values are 0 or 1/(1-p), zeros with frequency p, so the mean is about 1."""
    cell = TinyCell(IN, H, dropout=p, recurrent_dropout=p).train()
    masks = cell.sample_masks(4000, torch.empty(0, dtype=F64))
    scale = 1.0 / (1.0 - p)
    for m in (masks.input, masks.recurrent):
        kept = m != 0
        torch.testing.assert_close(m[kept], torch.full_like(m[kept], scale))
        assert abs((~kept).double().mean().item() - p) < 0.02
        assert abs(m.mean().item() - 1.0) < 0.05 * scale


def test_sample_masks_are_fresh_each_call():
    cell = TinyCell(IN, H, dropout=0.5).train()
    a = cell.sample_masks(64, torch.empty(0)).input
    b = cell.sample_masks(64, torch.empty(0)).input
    assert not torch.equal(a, b)


# --------------------------------------------------------- GRU recurrent dropout
def _gru_expected(cell: GRUCell, x, h, m, reset_after, carry=None):
    """GRU step with the recurrent mask on the h that enters the products only."""
    hs = cell.hidden_size
    w_ih, w_hh, b_ih, b_hh = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh
    hd = h * m

    def gate(k):
        return slice(k * hs, (k + 1) * hs)

    x_r = x @ w_ih[gate(0)].T + b_ih[gate(0)]
    x_z = x @ w_ih[gate(1)].T + b_ih[gate(1)]
    x_n = x @ w_ih[gate(2)].T + b_ih[gate(2)]
    r = torch.sigmoid(x_r + hd @ w_hh[gate(0)].T + b_hh[gate(0)])
    z = torch.sigmoid(x_z + hd @ w_hh[gate(1)].T + b_hh[gate(1)])
    if reset_after:
        n = torch.tanh(x_n + r * (hd @ w_hh[gate(2)].T + b_hh[gate(2)]))
    else:
        n = torch.tanh(x_n + (r * hd) @ w_hh[gate(2)].T + b_hh[gate(2)])
    carry = h if carry is None else carry
    return (1 - z) * n + z * carry  # the carry uses the undropped h


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_recurrent_dropout_masks_only_matmul_input(reset_after):
    cell = GRUCell(IN, H, reset_after=reset_after, recurrent_dropout=0.5).double().train()
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    x, h = torch.randn(N, IN, dtype=F64), torch.randn(N, H, dtype=F64)
    m = cell.sample_masks(N, x).recurrent
    assert m is not None and m.shape == (N, H)
    assert (m == 0).any() and (m != 0).any()
    with torch.no_grad():
        out, state = cell.step(cell.project_input(x), h, recurrent_mask=m)
        expected = _gru_expected(cell, x, h, m, reset_after)
        wrong = _gru_expected(cell, x, h, m, reset_after, carry=h * m)  # masked carry
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(state, expected, atol=1e-12, rtol=1e-10)
    assert not torch.allclose(out, wrong, atol=1e-6), "the z*h carry must not be dropped"


@pytest.mark.parametrize("name", ["glorot_uniform", "orthogonal"])
@pytest.mark.parametrize("cell_class", [LSTMCell, GRUCell, ElmanCell])
def test_matrix_only_initializers_are_refused_for_biases(cell_class, name):
    with pytest.raises(
        ValueError, match=rf"{cell_class.__name__}: bias_initializer '{name}' needs a matrix"
    ):
        cell_class(3, 4, bias_initializer=name)
