"""The single-step path (``run_fused_step``) equals the fused sequence kernel on one step."""

import pytest
import torch

import rnnkit
from rnnkit.backends import run_fused
from tests.harness import assert_states_close, grads_of

CASES = [
    (rnnkit.LSTM, {}),
    (rnnkit.GRU, {}),
    (rnnkit.RNN, {}),
    (rnnkit.RNN, {"activation": "relu"}),
]


def _cache(layer, x):
    """The attribute a no-grad step caches its packed weights under: plain one-directional LSTM
    and GRU stacks on CPU run ``token_step`` (when it builds), the rest ``packed_step``."""
    from rnnkit.kernels import token_step

    native = isinstance(layer, (rnnkit.LSTM, rnnkit.GRU)) and not layer.bidirectional
    native = native and token_step.supported(x)
    return "_token_step_pack" if native else "_packed_step"


def _kernel_step(layer, x, state):
    """The same step through the fused sequence kernel."""
    return run_fused(layer.backend.kernel, layer.cells, x, state, None,
                     num_layers=layer.num_layers, bidirectional=layer.bidirectional,
                     dropout=0.0, training=layer.training)  # fmt: skip


@pytest.mark.parametrize(("cls", "options"), CASES)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_one_step_equals_the_sequence_kernel(cls, options, bidirectional):
    torch.manual_seed(0)
    layer = cls(5, 7, num_layers=2, bidirectional=bidirectional, **options).double()
    x = torch.randn(3, 1, 5, dtype=torch.double)
    state = tuple(s + 0.3 * torch.randn_like(s) for s in rnnkit.ops.state.as_tuple(
        layer.init_state(3, dtype=torch.double)))  # fmt: skip
    state = state if len(state) == 2 else state[0]
    assert_states_close(layer(x, state), _kernel_step(layer, x, state), atol=1e-12)
    assert_states_close(layer(x), _kernel_step(layer, x, layer.init_state(3, dtype=torch.double)),
                        atol=1e-12)  # fmt: skip
    ours = grads_of(layer, x, lambda m, i: m(i, state))
    theirs = grads_of(layer, x, lambda m, i: _kernel_step(m, i, state))
    for a, b in zip(ours, theirs):
        assert_states_close(a, b, atol=1e-10)


def test_projection_keeps_the_sequence_kernel():
    layer = rnnkit.LSTM(5, 7, proj_size=3).eval()
    out, (h, c) = layer(torch.randn(2, 1, 5))
    assert out.shape == (2, 1, 3) and h.shape == (1, 2, 3) and c.shape == (1, 2, 7)


@pytest.mark.parametrize(("cls", "options"), [*CASES, (rnnkit.LSTM, {"bias": False})])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_no_grad_step_with_packed_weights_equals_the_sequence_kernel(cls, options, bidirectional):
    torch.manual_seed(1)
    layer = cls(5, 7, num_layers=2, bidirectional=bidirectional, **options).double().eval()
    x = torch.randn(3, 1, 5, dtype=torch.double)
    state = tuple(s + 0.3 * torch.randn_like(s) for s in rnnkit.ops.state.as_tuple(
        layer.init_state(3, dtype=torch.double)))  # fmt: skip
    state = state if len(state) == 2 else state[0]
    with torch.no_grad():
        assert_states_close(layer(x, state), _kernel_step(layer, x, state), atol=1e-12)
        assert _cache(layer, x) in layer.cells[0].__dict__


def test_packed_weights_follow_a_weight_update():
    torch.manual_seed(2)
    layer = rnnkit.LSTM(4, 6, num_layers=2).eval()
    x = torch.randn(2, 1, 4)
    with torch.no_grad():
        before = layer(x)[0]
        layer.cells[0].weight_hh.add_(0.5)  # in place: same storage, new version
        layer.cells[1].bias_ih.add_(1.0)
        after = layer(x)[0]
        expected = _kernel_step(layer, x, layer.init_state(2))[0]
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, expected)


@pytest.mark.parametrize(("cls", "options"), CASES)
def test_float32_step_through_onednn_equals_the_sequence_kernel(cls, options):
    from rnnkit.ops import onednn

    torch.manual_seed(4)
    layer = cls(6, 8, num_layers=2, **options).eval()
    x = torch.randn(2, 1, 6)
    with torch.no_grad():
        ours = layer(x)
        theirs = _kernel_step(layer, x, layer.init_state(2))
    assert_states_close(ours, theirs, atol=1e-5)
    if onednn.available(x) and _cache(layer, x) == "_packed_step":  # oneDNN's, not addmm
        assert layer.cells[0].__dict__["_packed_step"][0][1] is True


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_lstm_pointwise_equals_the_tensor_ops(dtype, monkeypatch):
    from rnnkit.backends.packed_step import packed_step
    from rnnkit.kernels import lstm_step

    if not lstm_step.supported(torch.zeros(1, dtype=dtype)):
        pytest.skip("no C compiler here")
    torch.manual_seed(5)
    cell = rnnkit.LSTM(6, 8).to(dtype).cells[0]
    x = torch.randn(3, 6, dtype=dtype)
    state = (torch.randn(3, 8, dtype=dtype), torch.randn(3, 8, dtype=dtype))
    with torch.no_grad():
        native = packed_step("lstm", cell, x, state)
        monkeypatch.setattr(lstm_step, "supported", lambda x: False)
        ops = packed_step("lstm", cell, x, state)
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    assert_states_close(native, ops, atol=tol)
