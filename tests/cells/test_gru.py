"""GRUCell: equations (reset_after both ways, activations), torch parity, gradients, options,
config and state."""

import math

import pytest
import torch
from torch import nn

from rnnkit.cells import GRUCell
from tests.harness import assert_states_close, check_gradcheck, grads_of

N, IN, H = 3, 5, 4
TOL = {"atol": 1e-12, "rtol": 1e-10}
F64 = torch.float64

ACTS = {
    "tanh": torch.tanh,
    "relu": lambda v: v.clamp_min(0.0),
    "sigmoid": lambda v: 1.0 / (1.0 + torch.exp(-v)),
    "hard_sigmoid": lambda v: (v + 3.0).clamp(0.0, 6.0) / 6.0,
}


def _randomize(cell: nn.Module, scale: float = 0.5) -> nn.Module:
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * scale)
    return cell


def _expected_step(cell: GRUCell, x, h, *, reset_after, act="tanh", ract="sigmoid"):
    """One GRU step written out from the documented equations, on the cell's own tensors."""
    hs = cell.hidden_size
    w_ih, w_hh = cell.weight_ih, cell.weight_hh
    b_ih = cell.bias_ih if cell.bias_ih is not None else torch.zeros(3 * hs, dtype=x.dtype)
    b_hh = cell.bias_hh if cell.bias_hh is not None else torch.zeros(3 * hs, dtype=x.dtype)

    def blk(t, k):
        return t[k * hs : (k + 1) * hs]

    x_r = x @ blk(w_ih, 0).T + blk(b_ih, 0)
    x_z = x @ blk(w_ih, 1).T + blk(b_ih, 1)
    x_n = x @ blk(w_ih, 2).T + blk(b_ih, 2)
    r = ACTS[ract](x_r + h @ blk(w_hh, 0).T + blk(b_hh, 0))
    z = ACTS[ract](x_z + h @ blk(w_hh, 1).T + blk(b_hh, 1))
    if reset_after:
        n = ACTS[act](x_n + r * (h @ blk(w_hh, 2).T + blk(b_hh, 2)))
    else:
        n = ACTS[act](x_n + (r * h) @ blk(w_hh, 2).T + blk(b_hh, 2))
    return (1 - z) * n + z * h


VARIANTS = {
    "reset_after": {"reset_after": True},
    "reset_before": {"reset_after": False},
    "activations": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
    "activations_reset_before": {
        "reset_after": False,
        "activation": "relu",
        "recurrent_activation": "hard_sigmoid",
    },
    "no_bias": {"bias": False},
    "no_bias_reset_before": {"bias": False, "reset_after": False},
}


def _flags(kwargs):
    return {
        "reset_after": kwargs.get("reset_after", True),
        "act": kwargs.get("activation", "tanh"),
        "ract": kwargs.get("recurrent_activation", "sigmoid"),
    }


# ------------------------------------------------------------------ equations
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_equations_over_steps(variant):
    kwargs = VARIANTS[variant]
    cell = _randomize(GRUCell(IN, H, **kwargs).double())
    xs = torch.randn(3, N, IN, dtype=F64)
    h = torch.randn(N, H, dtype=F64)
    state = h
    with torch.no_grad():
        for x in xs:
            out, state = cell(x, state)
            h = _expected_step(cell, x, h, **_flags(kwargs))
            torch.testing.assert_close(out, h, **TOL)
            torch.testing.assert_close(state, h, **TOL)


def test_reset_after_and_before_differ():
    """The two forms must be distinguishable with the same weights (nonzero b_hn)."""
    after = _randomize(GRUCell(IN, H, reset_after=True).double(), scale=1.0)
    before = GRUCell(IN, H, reset_after=False).double()
    before.load_state_dict(after.state_dict())
    x, h = torch.randn(N, IN, dtype=F64), torch.randn(N, H, dtype=F64)
    with torch.no_grad():
        assert not torch.allclose(after(x, h)[0], before(x, h)[0], atol=1e-6)


def test_bias_false_has_no_bias_parameters():
    cell = GRUCell(IN, H, bias=False)
    assert {n for n, _ in cell.named_parameters()} == {"weight_ih", "weight_hh"}
    assert cell.weight_ih.shape == (3 * H, IN) and cell.weight_hh.shape == (3 * H, H)


# --------------------------------------------------------------- torch parity
def test_parity_with_torch_grucell():
    ref = nn.GRUCell(IN, H, dtype=F64)
    cell = GRUCell(IN, H).double()
    cell.load_state_dict(ref.state_dict())
    x = torch.randn(N, 2, IN, dtype=F64)
    h0 = torch.randn(N, H, dtype=F64)

    def run_ours(m, x):
        state, outs = h0, []
        for t in range(x.shape[1]):
            out, state = m(x[:, t], state)
            outs.append(out)
        return outs

    def run_ref(m, x):
        h, outs = h0, []
        for t in range(x.shape[1]):
            h = m(x[:, t], h)
            outs.append(h)
        return outs

    with torch.no_grad():
        assert_states_close(run_ours(cell, x), run_ref(ref, x), **TOL)
    g_ours = grads_of(cell, x, run_ours)
    g_ref = grads_of(ref, x, run_ref)
    names = ["x"] + [n for n, _ in cell.named_parameters()]
    assert names == ["x"] + [n for n, _ in ref.named_parameters()]
    for name, a, b in zip(names, g_ours, g_ref):
        assert a.abs().sum() > 0, f"gradient of {name} is zero"
        torch.testing.assert_close(a, b, **TOL, msg=lambda m, name=name: f"{name}: {m}")


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gradcheck(variant):
    cell = _randomize(GRUCell(3, 3, **VARIANTS[variant]))
    x = torch.randn(2, 3, dtype=F64)
    check_gradcheck(cell, x)
    check_gradcheck(cell, x, state=torch.randn(2, 3, dtype=F64))


# ------------------------------------------------------------------- options
def test_zeros_initializer():
    cell = GRUCell(
        IN, H, kernel_initializer="zeros", recurrent_initializer="zeros", bias_initializer="zeros"
    )
    for name, p in cell.named_parameters():
        assert torch.all(p == 0), name
    # all pre-activations 0: r = z = 1/2, n = 0, so h_t = h_{t-1} / 2
    h0 = torch.randn(N, H)
    h, _ = cell(torch.randn(N, IN), h0)
    torch.testing.assert_close(h, h0 / 2)


def test_orthogonal_recurrent_initializer_per_gate_block():
    cell = GRUCell(IN, H, recurrent_initializer="orthogonal").double()
    w = cell.weight_hh.detach()
    eye = torch.eye(H, dtype=F64)
    for k in range(3):
        block = w[k * H : (k + 1) * H]
        torch.testing.assert_close(block @ block.T, eye, atol=1e-6, rtol=0)


def test_glorot_uniform_bound_per_gate_block():
    i, hs = 16, 16
    glorot = "glorot_uniform"
    cell = GRUCell(i, hs, kernel_initializer=glorot, recurrent_initializer=glorot)
    bound = math.sqrt(6 / (i + hs))
    whole_bound = math.sqrt(6 / (i + 3 * hs))
    for name in ("weight_ih", "weight_hh"):
        w = getattr(cell, name).detach()
        for k in range(3):
            block = w[k * hs : (k + 1) * hs]
            assert block.abs().max() <= bound, (name, k)
            assert block.abs().max() > whole_bound, (name, k)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": "nope"}, "unknown activation"),
        ({"recurrent_activation": "nope"}, "unknown activation"),
        ({"kernel_initializer": "nope"}, "unknown initializer"),
        ({"recurrent_initializer": "nope"}, "unknown initializer"),
        ({"bias_initializer": "nope"}, "unknown initializer"),
        ({"dropout": 1.0}, "dropout"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout"),
    ],
)
def test_bad_arguments_raise_naming_class(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        GRUCell(IN, H, **kwargs)
    assert "GRUCell" in str(info.value)


@pytest.mark.parametrize("sizes", [(0, H), (IN, 0)])
def test_bad_sizes_raise_naming_class(sizes):
    with pytest.raises(ValueError, match="GRUCell"):
        GRUCell(*sizes)


def test_error_names_subclass():
    class MyGRU(GRUCell):
        pass

    with pytest.raises(ValueError, match="MyGRU"):
        MyGRU(IN, H, recurrent_activation="nope")


# -------------------------------------------------------------------- config
def test_config_round_trip():
    config = {
        "input_size": IN,
        "hidden_size": H,
        "dropout": 0.25,
        "recurrent_dropout": 0.5,
        "bias": False,
        "activation": "relu",
        "kernel_initializer": "glorot_uniform",
        "recurrent_initializer": "orthogonal",
        "bias_initializer": "zeros",
        "reset_after": False,
        "recurrent_activation": "hard_sigmoid",
    }
    cell = _randomize(GRUCell(**config))
    assert cell.get_config() == config
    twin = GRUCell.from_config(cell.get_config())
    assert type(twin) is GRUCell
    assert twin.get_config() == config
    twin.load_state_dict(cell.state_dict())
    cell.eval()
    twin.eval()
    x, h0 = torch.randn(N, IN), torch.randn(N, H)
    with torch.no_grad():
        assert_states_close(twin(x, h0), cell(x, h0), atol=0, rtol=0)


def test_default_config():
    config = GRUCell(IN, H).get_config()
    assert config["reset_after"] is True
    assert config["recurrent_activation"] == "sigmoid"
    assert config["activation"] == "tanh"


# --------------------------------------------------------------------- state
def test_state_size_and_init_state():
    cell = GRUCell(IN, H)
    assert cell.state_size == (H,)
    assert cell.output_size == H
    s = cell.init_state(N)
    assert isinstance(s, torch.Tensor)
    assert s.shape == (N, H) and torch.all(s == 0)
    assert cell.init_state(2, dtype=F64).dtype == F64


@pytest.mark.parametrize("reset_after", [True, False])
def test_no_state_equals_zero_state(reset_after):
    cell = _randomize(GRUCell(IN, H, reset_after=reset_after).double())
    x = torch.randn(N, IN, dtype=F64)
    with torch.no_grad():
        a = cell(x)
        b = cell(x, cell.init_state(N))
        expected = _expected_step(cell, x, torch.zeros(N, H, dtype=F64), reset_after=reset_after)
    assert_states_close(a, b, atol=0, rtol=0)
    torch.testing.assert_close(a[0], expected, **TOL)
