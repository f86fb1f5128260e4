"""LSTMCell: equations (peephole, projection, layer norm, activations), torch parity, gradients,
options, config and state."""

import math

import pytest
import torch
from torch import nn

from rnnkit.cells import LSTMCell
from tests.harness import assert_states_close, check_gradcheck, grads_of

N, IN, H, P = 3, 5, 4, 2
TOL = {"atol": 1e-12, "rtol": 1e-10}
F64 = torch.float64

ACTS = {
    "tanh": torch.tanh,
    "relu": lambda v: v.clamp_min(0.0),
    "sigmoid": lambda v: 1.0 / (1.0 + torch.exp(-v)),
    # Keras 3: relu6(x + 3) / 6
    "hard_sigmoid": lambda v: (v + 3.0).clamp(0.0, 6.0) / 6.0,
}


def _randomize(cell: nn.Module, scale: float = 0.5) -> nn.Module:
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn_like(p) * scale)
    return cell


def _ln(v, weight, bias, eps=1e-5):
    """Layer norm over the last dimension (biased variance), then gain and bias."""
    mu = v.mean(-1, keepdim=True)
    var = ((v - mu) ** 2).mean(-1, keepdim=True)
    return (v - mu) / torch.sqrt(var + eps) * weight + bias


def _expected_step(cell: LSTMCell, x, h, c, *, peephole, proj, layer_norm, act, ract):
    """One LSTM step written out from the documented equations, on the cell's own tensors."""
    hs = cell.hidden_size
    ax = x @ cell.weight_ih.T
    ah = h @ cell.weight_hh.T
    if layer_norm:
        ax = _ln(ax, cell.layer_norm_ih_weight, cell.layer_norm_ih_bias)
        ah = _ln(ah, cell.layer_norm_hh_weight, cell.layer_norm_hh_bias)
    if cell.bias_ih is not None:
        ax = ax + cell.bias_ih
        ah = ah + cell.bias_hh
    a = ax + ah
    a_i, a_f, a_g, a_o = (a[:, k * hs : (k + 1) * hs] for k in range(4))
    if peephole:
        a_i = a_i + cell.weight_ci * c
        a_f = a_f + cell.weight_cf * c
    i, f, g = ACTS[ract](a_i), ACTS[ract](a_f), ACTS[act](a_g)
    c_new = f * c + i * g
    if peephole:
        a_o = a_o + cell.weight_co * c_new  # o sees the NEW cell state
    o = ACTS[ract](a_o)
    c_read = _ln(c_new, cell.layer_norm_c_weight, cell.layer_norm_c_bias) if layer_norm else c_new
    h_new = o * ACTS[act](c_read)
    if proj:
        h_new = h_new @ cell.weight_hr.T
    return h_new, c_new


VARIANTS = {
    "plain": {},
    "peephole": {"peephole": True},
    "proj": {"proj_size": P},
    "layer_norm": {"layer_norm": True},
    "activations": {"activation": "relu", "recurrent_activation": "hard_sigmoid"},
    "no_bias": {"bias": False},
    "no_bias_layer_norm": {"bias": False, "layer_norm": True},
    "everything": {
        "peephole": True,
        "proj_size": P,
        "layer_norm": True,
        "activation": "relu",
        "recurrent_activation": "hard_sigmoid",
    },
}


def _flags(kwargs):
    return {
        "peephole": kwargs.get("peephole", False),
        "proj": kwargs.get("proj_size", 0) > 0,
        "layer_norm": kwargs.get("layer_norm", False),
        "act": kwargs.get("activation", "tanh"),
        "ract": kwargs.get("recurrent_activation", "sigmoid"),
    }


# ------------------------------------------------------------------ equations
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_equations_over_steps(variant):
    kwargs = VARIANTS[variant]
    cell = _randomize(LSTMCell(IN, H, **kwargs).double())
    out_w = P if kwargs.get("proj_size") else H
    xs = torch.randn(3, N, IN, dtype=F64)
    h, c = torch.randn(N, out_w, dtype=F64), torch.randn(N, H, dtype=F64)
    state = (h, c)
    with torch.no_grad():
        for x in xs:
            out, state = cell(x, state)
            h, c = _expected_step(cell, x, h, c, **_flags(kwargs))
            assert isinstance(state, tuple) and len(state) == 2
            assert out.shape == (N, out_w) and state[1].shape == (N, H)
            torch.testing.assert_close(out, h, **TOL)
            torch.testing.assert_close(state[0], h, **TOL)
            torch.testing.assert_close(state[1], c, **TOL)


def test_peephole_output_gate_uses_new_cell_state():
    """Discriminating check: o computed from c_{t-1} instead of c_t must give another h."""
    cell = _randomize(LSTMCell(IN, H, peephole=True).double(), scale=1.0)
    x = torch.randn(N, IN, dtype=F64)
    h0, c0 = torch.randn(N, H, dtype=F64), torch.randn(N, H, dtype=F64)
    with torch.no_grad():
        out, (_, c1) = cell(x, (h0, c0))
        a = x @ cell.weight_ih.T + cell.bias_ih + h0 @ cell.weight_hh.T + cell.bias_hh
        a_o = a[:, 3 * H :]
        o_new = torch.sigmoid(a_o + cell.weight_co * c1)
        o_old = torch.sigmoid(a_o + cell.weight_co * c0)
        torch.testing.assert_close(out, o_new * torch.tanh(c1), **TOL)
        assert not torch.allclose(out, o_old * torch.tanh(c1), atol=1e-6)


def test_layer_norm_parameters():
    cell = LSTMCell(IN, H, layer_norm=True)
    shapes = {n: tuple(p.shape) for n, p in cell.named_parameters() if n.startswith("layer_norm")}
    assert shapes == {
        "layer_norm_ih_weight": (4 * H,),
        "layer_norm_ih_bias": (4 * H,),
        "layer_norm_hh_weight": (4 * H,),
        "layer_norm_hh_bias": (4 * H,),
        "layer_norm_c_weight": (H,),
        "layer_norm_c_bias": (H,),
    }
    for name, p in cell.named_parameters():
        if name.startswith("layer_norm") and name.endswith("weight"):
            assert torch.all(p == 1), name
        elif name.startswith("layer_norm"):
            assert torch.all(p == 0), name


def test_peephole_and_projection_parameters():
    cell = LSTMCell(IN, H, peephole=True, proj_size=P)
    shapes = {n: tuple(p.shape) for n, p in cell.named_parameters()}
    assert shapes == {
        "weight_ih": (4 * H, IN),
        "weight_hh": (4 * H, P),
        "bias_ih": (4 * H,),
        "bias_hh": (4 * H,),
        "weight_ci": (H,),
        "weight_cf": (H,),
        "weight_co": (H,),
        "weight_hr": (P, H),
    }
    bound = 1 / math.sqrt(H)
    for name in ("weight_ci", "weight_cf", "weight_co", "weight_hr"):
        p = getattr(cell, name)
        assert p.abs().max() <= bound and p.abs().max() > 0, name


def test_recurrent_mask_only_drops_h_in_the_product():
    cell = _randomize(LSTMCell(IN, H, peephole=True).double())
    x = torch.randn(N, IN, dtype=F64)
    h0, c0 = torch.randn(N, H, dtype=F64), torch.randn(N, H, dtype=F64)
    m = (torch.rand(N, H, dtype=F64) > 0.5).to(F64) * 2.0
    with torch.no_grad():
        out, (h1, c1) = cell.step(cell.project_input(x), (h0, c0), recurrent_mask=m)
        exp_h, exp_c = _expected_step(
            cell, x, h0 * m, c0, **_flags({"peephole": True})
        )  # c_{t-1} is not dropped; only h_{t-1} entering W_hh is
    torch.testing.assert_close(out, exp_h, **TOL)
    torch.testing.assert_close(h1, exp_h, **TOL)
    torch.testing.assert_close(c1, exp_c, **TOL)


# --------------------------------------------------------------- torch parity
def _run_torch_cell(m, x, h0, c0):
    h, c, outs = h0, c0, []
    for t in range(x.shape[1]):
        h, c = m(x[:, t], (h, c))
        outs.append(h)
    return outs, (h, c)


def _run_ours(m, x, h0, c0):
    state, outs = (h0, c0), []
    for t in range(x.shape[1]):
        out, state = m(x[:, t], state)
        outs.append(out)
    return outs, state


def _compare_grads(ours, ref, x, run_ours, run_ref, rename=lambda n: n):
    g_ours = grads_of(ours, x, run_ours)
    g_ref = grads_of(ref, x, run_ref)
    names = ["x"] + [n for n, _ in ours.named_parameters()]
    ref_names = ["x"] + [rename(n) for n, _ in ref.named_parameters()]
    assert sorted(names) == sorted(ref_names)
    ref_by_name = dict(zip(ref_names, g_ref))
    for name, g in zip(names, g_ours):
        assert g.abs().sum() > 0, f"gradient of {name} is zero"
        torch.testing.assert_close(
            g, ref_by_name[name], **TOL, msg=lambda m, name=name: f"{name}: {m}"
        )


def test_parity_with_torch_lstmcell():
    ref = nn.LSTMCell(IN, H, dtype=F64)
    cell = LSTMCell(IN, H).double()
    cell.load_state_dict(ref.state_dict())
    x = torch.randn(N, 2, IN, dtype=F64)
    h0, c0 = torch.randn(N, H, dtype=F64), torch.randn(N, H, dtype=F64)

    def run_ours(m, x):
        return _run_ours(m, x, h0, c0)

    def run_ref(m, x):
        return _run_torch_cell(m, x, h0, c0)

    with torch.no_grad():
        assert_states_close(run_ours(cell, x), run_ref(ref, x), **TOL)
    _compare_grads(cell, ref, x, run_ours, run_ref)


def test_parity_with_torch_lstm_projection():
    ref = nn.LSTM(IN, H, proj_size=P, batch_first=True, dtype=F64)
    cell = LSTMCell(IN, H, proj_size=P).double()
    cell.load_state_dict({k.removesuffix("_l0"): v for k, v in ref.state_dict().items()})
    x = torch.randn(N, 2, IN, dtype=F64)
    h0, c0 = torch.randn(N, P, dtype=F64), torch.randn(N, H, dtype=F64)

    def run_ours(m, x):
        outs, state = _run_ours(m, x, h0, c0)
        return torch.stack(outs, 1), state

    def run_ref(m, x):
        out, (h, c) = m(x, (h0[None], c0[None]))
        return out, (h[0], c[0])

    with torch.no_grad():
        assert_states_close(run_ours(cell, x), run_ref(ref, x), **TOL)
    _compare_grads(cell, ref, x, run_ours, run_ref, rename=lambda n: n.removesuffix("_l0"))


# ------------------------------------------------------------------ gradcheck
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gradcheck(variant):
    kwargs = VARIANTS[variant]
    n, i, hs, p = 2, 3, 3, 2
    if "proj_size" in kwargs:
        kwargs = {**kwargs, "proj_size": p}
    cell = _randomize(LSTMCell(i, hs, **kwargs))
    x = torch.randn(n, i, dtype=F64)
    check_gradcheck(cell, x)
    out_w = p if "proj_size" in kwargs else hs
    state = (torch.randn(n, out_w, dtype=F64), torch.randn(n, hs, dtype=F64))
    check_gradcheck(cell, x, state=state)


# ------------------------------------------------------------------- options
@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("bias_initializer", ["pytorch", "zeros"])
def test_unit_forget_bias_adds_one_to_forget_block(seed, bias_initializer):
    torch.manual_seed(seed)
    base = LSTMCell(IN, H, bias_initializer=bias_initializer)
    torch.manual_seed(seed)
    ufb = LSTMCell(IN, H, bias_initializer=bias_initializer, unit_forget_bias=True)
    expected = base.bias_ih.detach().clone()
    expected[H : 2 * H] += 1.0
    assert torch.equal(ufb.bias_ih, expected)
    diff = ufb.bias_ih - base.bias_ih
    torch.testing.assert_close(diff[H : 2 * H], torch.ones(H), atol=1e-6, rtol=0)
    assert torch.all(diff[:H] == 0) and torch.all(diff[2 * H :] == 0)
    for name in ("weight_ih", "weight_hh", "bias_hh"):
        assert torch.equal(getattr(ufb, name), getattr(base, name)), name


def test_unit_forget_bias_without_bias_is_harmless():
    cell = LSTMCell(IN, H, bias=False, unit_forget_bias=True)
    assert cell.bias_ih is None and cell.bias_hh is None
    assert {n for n, _ in cell.named_parameters()} == {"weight_ih", "weight_hh"}


def test_zeros_initializer():
    cell = LSTMCell(
        IN, H, kernel_initializer="zeros", recurrent_initializer="zeros", bias_initializer="zeros"
    )
    for name, p in cell.named_parameters():
        assert torch.all(p == 0), name
    h, (_, c) = cell(torch.randn(N, IN))
    assert torch.all(h == 0) and torch.all(c == 0)


def test_orthogonal_recurrent_initializer_per_gate_block():
    cell = LSTMCell(IN, H, recurrent_initializer="orthogonal").double()
    w = cell.weight_hh.detach()
    eye = torch.eye(H, dtype=F64)
    for k in range(4):
        block = w[k * H : (k + 1) * H]
        torch.testing.assert_close(block @ block.T, eye, atol=1e-6, rtol=0)


def test_glorot_uniform_bound_per_gate_block():
    i, hs = 16, 16
    glorot = "glorot_uniform"
    cell = LSTMCell(i, hs, kernel_initializer=glorot, recurrent_initializer=glorot)
    bound = math.sqrt(6 / (i + hs))
    whole_bound = math.sqrt(6 / (i + 4 * hs))  # what a whole-matrix init would use
    for name in ("weight_ih", "weight_hh"):
        w = getattr(cell, name).detach()
        for k in range(4):
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
        ({"proj_size": H}, "proj_size"),
        ({"proj_size": -1}, "proj_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"recurrent_dropout": -0.1}, "recurrent_dropout"),
    ],
)
def test_bad_arguments_raise_naming_class(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        LSTMCell(IN, H, **kwargs)
    assert "LSTMCell" in str(info.value)


@pytest.mark.parametrize("sizes", [(0, H), (IN, 0)])
def test_bad_sizes_raise_naming_class(sizes):
    with pytest.raises(ValueError, match="LSTMCell"):
        LSTMCell(*sizes)


def test_error_names_subclass():
    class MyLSTM(LSTMCell):
        pass

    with pytest.raises(ValueError, match="MyLSTM"):
        MyLSTM(IN, H, recurrent_activation="nope")


# -------------------------------------------------------------------- config
def test_config_round_trip():
    config = {
        "input_size": IN,
        "hidden_size": H,
        "dropout": 0.25,
        "recurrent_dropout": 0.5,
        "bias": True,
        "activation": "relu",
        "kernel_initializer": "glorot_uniform",
        "recurrent_initializer": "orthogonal",
        "bias_initializer": "zeros",
        "recurrent_activation": "hard_sigmoid",
        "peephole": True,
        "proj_size": P,
        "layer_norm": True,
        "unit_forget_bias": True,
    }
    cell = _randomize(LSTMCell(**config))
    assert cell.get_config() == config
    twin = LSTMCell.from_config(cell.get_config())
    assert type(twin) is LSTMCell
    assert twin.get_config() == config
    twin.load_state_dict(cell.state_dict())
    cell.eval()
    twin.eval()
    x = torch.randn(N, IN)
    state = (torch.randn(N, P), torch.randn(N, H))
    with torch.no_grad():
        assert_states_close(twin(x, state), cell(x, state), atol=0, rtol=0)


def test_default_config():
    assert LSTMCell(IN, H).get_config() == {
        "input_size": IN,
        "hidden_size": H,
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
        "bias": True,
        "activation": "tanh",
        "kernel_initializer": "pytorch",
        "recurrent_initializer": "pytorch",
        "bias_initializer": "pytorch",
        "recurrent_activation": "sigmoid",
        "peephole": False,
        "proj_size": 0,
        "layer_norm": False,
        "unit_forget_bias": False,
    }


# --------------------------------------------------------------------- state
@pytest.mark.parametrize("proj_size", [0, P])
def test_state_size_and_init_state(proj_size):
    cell = LSTMCell(IN, H, proj_size=proj_size)
    out_w = proj_size or H
    assert cell.state_size == (out_w, H)
    assert cell.output_size == out_w
    h, c = cell.init_state(N)
    assert h.shape == (N, out_w) and c.shape == (N, H)
    assert torch.all(h == 0) and torch.all(c == 0)
    h64, c64 = cell.init_state(2, dtype=F64)
    assert h64.dtype == c64.dtype == F64


@pytest.mark.parametrize("variant", ["plain", "proj", "everything"])
def test_no_state_equals_zero_state(variant):
    cell = _randomize(LSTMCell(IN, H, **VARIANTS[variant]).double())
    x = torch.randn(N, IN, dtype=F64)
    with torch.no_grad():
        a = cell(x)
        b = cell(x, cell.init_state(N))
    assert_states_close(a, b, atol=0, rtol=0)
    assert a[0].abs().sum() > 0


@pytest.mark.parametrize("proj_size", [0, P])
def test_sample_masks_shapes(proj_size):
    cell = LSTMCell(IN, H, proj_size=proj_size, dropout=0.5, recurrent_dropout=0.5)
    masks = cell.sample_masks(N, torch.empty(0, dtype=F64))
    assert masks.input.shape == (N, IN)
    assert masks.recurrent.shape == (N, proj_size or H)
    assert masks.input.dtype == F64
