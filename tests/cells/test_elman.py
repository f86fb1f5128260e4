"""ElmanCell: equations, torch.nn.RNNCell parity, gradients, options, config and state."""

import math

import pytest
import torch
from torch import nn

from rnnkit.cells import ElmanCell
from tests.harness import assert_states_close, check_gradcheck, grads_of

N, IN, H = 3, 5, 4
TOL = {"atol": 1e-12, "rtol": 1e-10}
ACTS = {
    "tanh": torch.tanh,
    "relu": lambda v: v.clamp_min(0.0),
    "softsign": lambda v: v / (1.0 + v.abs()),
}


def _randomize(cell: nn.Module, scale: float = 0.5) -> nn.Module:
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * scale)
    return cell


def _expected_step(cell: ElmanCell, x, h, act):
    a = x @ cell.weight_ih.T + h @ cell.weight_hh.T
    if cell.bias_ih is not None:
        a = a + cell.bias_ih + cell.bias_hh
    return act(a)


def _run_steps(cell, xs, state):
    outs = []
    for x in xs:
        out, state = cell(x, state)
        outs.append(out)
    return outs, state


# ------------------------------------------------------------------ equations
@pytest.mark.parametrize("activation", ["tanh", "relu", "softsign"])
@pytest.mark.parametrize("bias", [True, False])
def test_equations_over_steps(activation, bias):
    cell = _randomize(ElmanCell(IN, H, activation=activation, bias=bias).double())
    if not bias:
        assert cell.bias_ih is None and cell.bias_hh is None
    xs = torch.randn(3, N, IN, dtype=torch.float64)
    h = torch.randn(N, H, dtype=torch.float64)
    state = h
    with torch.no_grad():
        for x in xs:
            out, state = cell(x, state)
            h = _expected_step(cell, x, h, ACTS[activation])
            torch.testing.assert_close(out, h, **TOL)
            torch.testing.assert_close(state, h, **TOL)
    if activation == "relu":
        assert (h == 0).any() and (h > 0).any(), "relu test should hit both regimes"


def test_bias_false_has_no_bias_parameters():
    cell = ElmanCell(IN, H, bias=False)
    names = {n for n, _ in cell.named_parameters()}
    assert names == {"weight_ih", "weight_hh"}
    assert cell.get_config()["bias"] is False


# --------------------------------------------------------------- torch parity
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_parity_with_torch_rnncell(nonlinearity):
    ref = nn.RNNCell(IN, H, nonlinearity=nonlinearity, dtype=torch.float64)
    cell = ElmanCell(IN, H, activation=nonlinearity).double()
    cell.load_state_dict(ref.state_dict())  # strict: same names and shapes
    assert {n for n, _ in cell.named_parameters()} == {
        "weight_ih",
        "weight_hh",
        "bias_ih",
        "bias_hh",
    }
    xs = torch.randn(N, 2, IN, dtype=torch.float64)
    h0 = torch.randn(N, H, dtype=torch.float64)

    def run_ours(m, x):
        return _run_steps(m, x.unbind(1), h0)[0]

    def run_ref(m, x):
        h, outs = h0, []
        for t in range(x.shape[1]):
            h = m(x[:, t], h)
            outs.append(h)
        return outs

    with torch.no_grad():
        assert_states_close(run_ours(cell, xs), run_ref(ref, xs), **TOL)
    g_ours = grads_of(cell, xs, run_ours)
    g_ref = grads_of(ref, xs, run_ref)
    names = ["x"] + [n for n, _ in cell.named_parameters()]
    ref_names = ["x"] + [n for n, _ in ref.named_parameters()]
    assert names == ref_names
    for name, a, b in zip(names, g_ours, g_ref):
        assert a.abs().sum() > 0, f"gradient of {name} is zero"
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, name=name: f"{name}: {m}")


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize(
    "kwargs", [{}, {"activation": "relu"}, {"bias": False}, {"activation": "softsign"}]
)
def test_gradcheck(kwargs):
    cell = _randomize(ElmanCell(IN, H, **kwargs))
    x = torch.randn(N, IN, dtype=torch.float64)
    check_gradcheck(cell, x)
    check_gradcheck(cell, x, state=torch.randn(N, H, dtype=torch.float64))


# ------------------------------------------------------------------- options
def test_zeros_initializer():
    cell = ElmanCell(
        IN, H, kernel_initializer="zeros", recurrent_initializer="zeros", bias_initializer="zeros"
    )
    for name, p in cell.named_parameters():
        assert torch.all(p == 0), name
    h, _ = cell(torch.randn(N, IN))
    assert torch.all(h == 0)


def test_pytorch_initializer_bound():
    cell = ElmanCell(IN, 64)
    bound = 1 / math.sqrt(64)
    for name, p in cell.named_parameters():
        assert p.abs().max() <= bound, name
        assert p.abs().max() > 0.8 * bound, name


def test_orthogonal_recurrent_initializer():
    cell = ElmanCell(IN, H, recurrent_initializer="orthogonal").double()
    w = cell.weight_hh.detach()
    torch.testing.assert_close(w @ w.T, torch.eye(H, dtype=w.dtype), atol=1e-6, rtol=0)


def test_glorot_uniform_bound():
    cell = ElmanCell(16, 16, kernel_initializer="glorot_uniform")
    bound = math.sqrt(6 / (16 + 16))
    w = cell.weight_ih.detach()
    assert w.abs().max() <= bound
    assert w.abs().max() > 0.8 * bound


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": "nope"}, "unknown activation"),
        ({"kernel_initializer": "nope"}, "unknown initializer"),
        ({"recurrent_initializer": "nope"}, "unknown initializer"),
        ({"bias_initializer": "nope"}, "unknown initializer"),
        ({"dropout": 1.0}, "dropout"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout"),
    ],
)
def test_bad_arguments_raise_naming_class(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        ElmanCell(IN, H, **kwargs)
    assert "ElmanCell" in str(info.value)


@pytest.mark.parametrize("sizes", [(0, H), (IN, 0), (-1, H)])
def test_bad_sizes_raise_naming_class(sizes):
    with pytest.raises(ValueError, match="ElmanCell"):
        ElmanCell(*sizes)


def test_error_names_subclass():
    class MyElman(ElmanCell):
        pass

    with pytest.raises(ValueError, match="MyElman"):
        MyElman(IN, H, activation="nope")


# -------------------------------------------------------------------- config
def test_config_round_trip():
    cell = _randomize(
        ElmanCell(
            IN,
            H,
            bias=False,
            activation="relu",
            kernel_initializer="glorot_uniform",
            recurrent_initializer="orthogonal",
            bias_initializer="zeros",
            dropout=0.25,
            recurrent_dropout=0.5,
        )
    )
    config = cell.get_config()
    assert config == {
        "input_size": IN,
        "hidden_size": H,
        "dropout": 0.25,
        "recurrent_dropout": 0.5,
        "bias": False,
        "activation": "relu",
        "kernel_initializer": "glorot_uniform",
        "recurrent_initializer": "orthogonal",
        "bias_initializer": "zeros",
    }
    twin = ElmanCell.from_config(config)
    assert type(twin) is ElmanCell
    assert twin.get_config() == config
    twin.load_state_dict(cell.state_dict())
    cell.eval()
    twin.eval()
    x, h0 = torch.randn(N, IN), torch.randn(N, H)
    with torch.no_grad():
        assert_states_close(twin(x, h0), cell(x, h0), atol=0, rtol=0)


# --------------------------------------------------------------------- state
def test_state_size_and_init_state():
    cell = ElmanCell(IN, H)
    assert cell.state_size == (H,)
    assert cell.output_size == H
    s = cell.init_state(N)
    assert isinstance(s, torch.Tensor)
    assert s.shape == (N, H) and s.dtype == torch.float32 and torch.all(s == 0)
    assert cell.init_state(2, dtype=torch.float64).dtype == torch.float64


def test_no_state_equals_zero_state():
    cell = _randomize(ElmanCell(IN, H).double())
    x = torch.randn(N, IN, dtype=torch.float64)
    with torch.no_grad():
        a = cell(x)
        b = cell(x, cell.init_state(N))
    assert_states_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(a[0], torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh))
