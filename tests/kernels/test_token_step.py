"""The native generation step of plain LSTM and GRU stacks (``token_step``) equals PyTorch's.

Reference: the same no-grad step with the native kernel turned off (``packed_step``, itself
tested against the fused sequence kernel), in float64 to 1e-12 and float32 to 1e-5. Cases: a
hidden size that leaves a short last panel, several layers of different input widths, one row
and ``MAX_ROWS`` rows, panels forced onto 3 threads, no bias, x rows with a stride.
"""

import pytest
import torch

import rnnkit
from rnnkit.backends import dispatch
from rnnkit.kernels import token_step
from tests.harness import assert_states_close

pytestmark = pytest.mark.skipif(
    not token_step.supported(torch.zeros(1)), reason="the native kernel does not build here"
)
LAYERS = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}


def _state(kind, layer, rows, dtype, scale=0.5):
    h = scale * torch.randn(layer.num_layers, rows, layer.hidden_size, dtype=dtype)
    return (h, scale * torch.randn_like(h)) if kind == "lstm" else h


def _native_calls(monkeypatch):
    calls = []
    real = token_step.stack_step

    def counted(*args):
        calls.append(args[2].shape)
        return real(*args)

    monkeypatch.setattr(token_step, "stack_step", counted)
    return calls


def _reference(monkeypatch, layer, x, state):
    with monkeypatch.context() as m:
        m.setattr(dispatch, "native_step_fits", lambda *args: False)
        return layer(x, state)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize(
    ("inputs", "hidden", "layers", "rows", "threads", "bias"),
    [
        (7, 20, 3, 1, None, True),  # panels of 16 and 4 units
        (5, 16, 2, token_step.MAX_ROWS, 3, True),  # one full panel per thread at most
        (9, 37, 2, 3, 3, False),  # 3 panels on 3 threads, the last of 5 units
        (64, 96, 2, 2, None, True),
    ],
)
def test_native_step_equals_pytorch(
    monkeypatch, kind, dtype, inputs, hidden, layers, rows, threads, bias
):
    torch.manual_seed(hidden)
    layer = LAYERS[kind](inputs, hidden, num_layers=layers, bias=bias).to(dtype).eval()
    if bias:  # biases away from PyTorch's small uniform init, so a misplaced one shows
        with torch.no_grad():
            for cell in layer.cells:
                cell.bias_ih.add_(torch.randn_like(cell.bias_ih))
                cell.bias_hh.add_(torch.randn_like(cell.bias_hh))
    if threads is not None:
        monkeypatch.setattr(token_step, "threads", lambda i, h, g: threads)
    x = torch.randn(rows, 1, inputs, dtype=dtype)
    state = _state(kind, layer, rows, dtype)
    calls = _native_calls(monkeypatch)
    with torch.no_grad():
        ours = layer(x, state)
        theirs = _reference(monkeypatch, layer, x, state)
        fresh = layer(x)  # no state: zeros
        fresh_ref = _reference(monkeypatch, layer, x, None)
    assert len(calls) == 2, "the native kernel did not run for each call"
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    assert_states_close(ours, theirs, atol=tol, rtol=tol)
    assert_states_close(fresh, fresh_ref, atol=tol, rtol=tol)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_strided_rows_and_a_long_generation(monkeypatch, kind):
    torch.manual_seed(1)
    layer = LAYERS[kind](6, 18, num_layers=2).double().eval()
    wide = torch.randn(2, 30, 12, dtype=torch.double)
    xs = wide[:, :, :6]  # rows with stride 360, steps with stride 12
    calls = _native_calls(monkeypatch)
    with torch.no_grad():
        state = ref_state = None
        for t in range(xs.shape[1]):
            out, state = layer(xs[:, t : t + 1], state)
            ref_out, ref_state = _reference(monkeypatch, layer, xs[:, t : t + 1], ref_state)
            assert_states_close((out, state), (ref_out, ref_state), atol=1e-11)
        whole = layer(xs.contiguous())  # the sequence kernel over all 30 steps
    assert len(calls) == xs.shape[1]
    assert_states_close((out, state), (whole[0][:, -1:], whole[1]), atol=1e-11)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_output_does_not_alias_the_state(kind):
    layer = LAYERS[kind](4, 8).eval()
    with torch.no_grad():
        out, state = layer(torch.randn(1, 1, 4))
        h = state[0] if kind == "lstm" else state
        kept = h.clone()
        out.zero_()
    torch.testing.assert_close(h, kept)


@pytest.mark.parametrize(
    "case",
    ["grad", "bidirectional", "rows", "dropout_training", "peephole", "reset_before", "elman"],
)
def test_other_steps_keep_their_paths(monkeypatch, case):
    options = {"bidirectional": True} if case == "bidirectional" else {}
    options |= {"dropout": 0.5} if case == "dropout_training" else {}
    options |= {"peephole": True} if case == "peephole" else {}
    make = {"reset_before": rnnkit.GRU, "elman": rnnkit.RNN}.get(case, rnnkit.LSTM)
    options |= {"reset_after": False} if case == "reset_before" else {}
    layer = make(4, 8, num_layers=2, **options).train(case == "dropout_training")
    rows = token_step.MAX_ROWS + 1 if case == "rows" else 2
    calls = _native_calls(monkeypatch)
    with torch.set_grad_enabled(case == "grad"):
        out, _ = layer(torch.randn(rows, 1, 4))
    assert out.shape == (rows, 1, 16 if case == "bidirectional" else 8)
    assert calls == []


@pytest.mark.parametrize("kind", list(LAYERS))
def test_panels_follow_a_weight_update(monkeypatch, kind):
    torch.manual_seed(2)
    layer = LAYERS[kind](4, 20).eval()
    x = torch.randn(1, 1, 4)
    with torch.no_grad():
        before = layer(x)[0]
        layer.cells[0].weight_ih.mul_(2.0)  # in place: same storage, new version
        after = layer(x)[0]
        expected = _reference(monkeypatch, layer, x, None)[0]
    assert not torch.allclose(before, after)
    torch.testing.assert_close(after, expected)


def test_panel_order_covers_every_gate_row_once():
    order = token_step.panel_order(20, 4)
    assert sorted(order.tolist()) == list(range(80))
    # the first panel: units 0-15 of gate i, then of f (rows 20-35), g, o; then units 16-19
    assert order[:16].tolist() == list(range(16)) and order[16:32].tolist() == list(range(20, 36))
    assert order[64:68].tolist() == [16, 17, 18, 19]
    gru = token_step.panel_order(20, 3)
    assert sorted(gru.tolist()) == list(range(60)) and gru[48:52].tolist() == [16, 17, 18, 19]


def test_a_state_of_another_dtype_keeps_pytorchs_path_and_its_error(monkeypatch):
    layer = rnnkit.LSTM(4, 8).eval()
    calls = _native_calls(monkeypatch)
    state = _state("lstm", layer, 1, torch.float64)
    with torch.no_grad(), pytest.raises(RuntimeError):
        layer(torch.randn(1, 1, 4), state)
    assert calls == []


def test_the_stack_follows_a_change_of_thread_count(monkeypatch):
    torch.manual_seed(3)
    layer = rnnkit.LSTM(64, 256, num_layers=2).eval()  # wide enough for several threads
    x = torch.randn(1, 1, 64)
    lib = token_step.library()
    seen = []

    class Recording:  # the loaded library, recording the thread count of each stack call
        def __getattr__(self, name):
            return getattr(lib, name)

        def rnnkit_token_stack(self, *args):
            seen.append(args[-1])
            return lib.rnnkit_token_stack(*args)

    monkeypatch.setattr(token_step, "library", Recording)
    before = torch.get_num_threads()
    try:
        with torch.no_grad():
            torch.set_num_threads(2)
            out2 = layer(x)
            torch.set_num_threads(1)
            out1 = layer(x)
    finally:
        torch.set_num_threads(before)
    assert seen == [2, 1]  # 16 panels of 20,480 weights: one per thread
    assert_states_close(out1, out2, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    "case",
    ["grad", "stateful", "bidirectional", "time_major", "two_steps", "list_state", "wide_state",
     "other_dtype", "projection", "rows"],
)  # fmt: skip
def test_the_short_way_declines_what_it_does_not_cover(case):
    options = {
        "stateful": {"stateful": True}, "bidirectional": {"bidirectional": True},
        "time_major": {"batch_first": False}, "projection": {"proj_size": 3},
    }.get(case, {})  # fmt: skip
    layer = rnnkit.LSTM(4, 8, num_layers=2, **options).eval()
    rows = token_step.MAX_ROWS + 1 if case == "rows" else 2
    x = torch.randn(rows, 2 if case == "two_steps" else 1, 4)
    state = _state("lstm", layer, rows, torch.float32)
    if case == "list_state":
        state = list(state)
    elif case == "wide_state":
        state = tuple(torch.cat([t, t], dim=-1) for t in state)
    elif case == "other_dtype":
        state = tuple(t.double() for t in state)
    state_only = ("list_state", "wide_state", "other_dtype")  # the layer itself qualifies
    with torch.set_grad_enabled(case == "grad"):
        assert dispatch.generation_step(layer, x, state) is None
        assert (dispatch.generation_step(layer, x, None) is None) != (case in state_only)


def test_a_wrong_state_still_gets_the_general_paths_error():
    layer = rnnkit.LSTM(4, 8, num_layers=2).eval()
    h = torch.zeros(2, 1, 9)
    with torch.no_grad(), pytest.raises(ValueError, match=r"expected state of shape"):
        layer(torch.randn(1, 1, 4), (h, h))
    with torch.no_grad(), pytest.raises(ValueError, match=r"expected input of shape"):
        layer(torch.randn(1, 1, 5))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_the_short_way_equals_the_general_path(monkeypatch, kind):
    torch.manual_seed(4)
    layer = LAYERS[kind](5, 12, num_layers=3).eval()
    x, state = torch.randn(2, 1, 5), _state(kind, layer, 2, torch.float32)
    with torch.no_grad():
        short = dispatch.generation_step(layer, x, state)
        assert short is not None
        monkeypatch.setattr(dispatch, "generation_step", lambda *args: None)
        general = layer(x, state)
    assert_states_close(short, general, atol=0, rtol=0)
