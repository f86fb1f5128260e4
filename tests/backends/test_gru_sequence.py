"""The GRU sequence function equals torch.gru in outputs, states and gradients.

reset_after=False: tests/backends/test_equivalence.py compares it with the step-by-step reference.
"""

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.backends import dispatch, run_fused
from rnnkit.backends.gru_sequence import GRUSequence, run_gru_sequence
from rnnkit.kernels import gru_step
from tests.harness import assert_states_close, grads_of


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("native", [True, False], ids=["GRULayer", "GRUSequence"])
def test_equals_the_fused_kernel(bidirectional, go_backwards, with_lengths, native):
    torch.manual_seed(0)
    layer = rnnkit.GRU(4, 6, num_layers=2, bidirectional=bidirectional,
                       go_backwards=go_backwards).double()  # fmt: skip
    x = torch.randn(3, 7, 4, dtype=torch.double)
    lengths = torch.tensor([7, 4, 1]) if with_lengths else None
    h0 = torch.randn(2 * (2 if bidirectional else 1), 3, 6, dtype=torch.double)
    options = {"num_layers": 2, "bidirectional": bidirectional, "reverse": go_backwards}

    def ours(m, inp):
        return run_gru_sequence(m.cells, inp, h0, lengths, native=native, **options)

    def torchs(m, inp):
        return run_fused("gru", m.cells, inp, h0, lengths, **options)

    assert_states_close(ours(layer, x), torchs(layer, x), atol=1e-12)
    for a, b in zip(grads_of(layer, x, ours), grads_of(layer, x, torchs)):
        assert_states_close(a, b, atol=1e-10)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gradcheck_of_the_function(reset_after):
    torch.manual_seed(0)
    xp = torch.randn(2, 4, 9, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    w = torch.randn(9, 3, dtype=torch.double, requires_grad=True)
    b = torch.randn(9, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    assert torch.autograd.gradcheck(
        lambda *a: GRUSequence.apply(*a, mask, reset_after), (xp, h0, w, b)
    )


def test_the_layer_uses_it_when_training_on_cpu(monkeypatch):
    monkeypatch.setattr(dispatch, "GRU_NATIVE_MIN_WORK", 0)  # inference on these few rows too
    layer = rnnkit.GRU(4, 6)
    x = torch.randn(2, 5, 4)
    layer(x)
    assert layer.backend.name == "rnnkit GRU sequence (native steps)"
    assert "GRULayer" in layer.backend.reason
    with torch.no_grad():
        layer(x)
        assert layer.backend.name == "rnnkit GRU sequence (native steps)"
        assert "no gates kept" in layer.backend.reason
    lstm = rnnkit.LSTM(4, 6)
    lstm(x)
    assert lstm.backend.kind == "fused"


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("chunk_rows", [1024, 6])
@pytest.mark.parametrize("block_bytes", [1 << 20, 2 * 3 * 15 * 8])  # one block; 2 steps each
@pytest.mark.parametrize("bias", [True, False])
def test_native_layer_equals_the_pytorch_ops(monkeypatch, dtype, chunk_rows, block_bytes, bias):
    """GRULayer (input product and native element-wise steps in blocks of steps) against the
    input product then GRUSequence's PyTorch ops, masks and strided gradients included; W_hh's
    gradient in one chunk or in chunks of 2 steps of 3 rows; blocks of all 6 steps or of 2
    (float64) / 4 (float32)."""
    from rnnkit.backends.gru_sequence import GRULayer
    from rnnkit.kernels import blocks, gru_step

    assert gru_step.supported(torch.empty(0, dtype=dtype))  # a compiler is there (CI has one)
    monkeypatch.setattr(gru_step, "CHUNK_ROWS", chunk_rows)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", block_bytes)
    torch.manual_seed(3)
    x = torch.randn(3, 6, 4, dtype=dtype, requires_grad=True)
    w_ih = torch.randn(15, 4, dtype=dtype, requires_grad=True)
    b_ih = torch.randn(15, dtype=dtype, requires_grad=True) if bias else None
    h0 = torch.randn(3, 5, dtype=dtype, requires_grad=True)
    w = torch.randn(15, 5, dtype=dtype, requires_grad=True)
    b = torch.randn(15, dtype=dtype, requires_grad=True)
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3, [True] + [False] * 5])
    weight = torch.randn(3, 6, 5, dtype=dtype)
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    inputs = tuple(t for t in (x, w_ih, b_ih, h0, w, b) if t is not None)

    def native(m):
        return GRULayer.apply(x, w_ih, b_ih, h0, w, b, m)

    def reference(m):
        xp = torch.nn.functional.linear(x, w_ih, b_ih)
        return GRUSequence.apply(xp, h0, w, b, m, True)

    def run(layer, with_mask):
        out = layer(mask if with_mask else None)
        dense = torch.autograd.grad((out * weight).sum(), inputs, retain_graph=True)
        expanded = torch.autograd.grad(out.sum(), inputs)  # a stride-0 gradient
        return out, dense, expanded

    for with_mask in (False, True):
        ours, theirs = run(native, with_mask), run(reference, with_mask)
        assert_states_close(ours[0], theirs[0], atol=tol)
        for a, c in zip(ours[1] + ours[2], theirs[1] + theirs[2]):
            assert_states_close(a, c, atol=tol * 10)


def test_native_layer_gradcheck_over_blocks(monkeypatch):
    from rnnkit.backends.gru_sequence import GRULayer
    from rnnkit.kernels import blocks, gru_step

    monkeypatch.setattr(blocks, "BLOCK_BYTES", 2 * 2 * 9 * 8)  # blocks of 2 steps
    monkeypatch.setattr(gru_step, "CHUNK_ROWS", 2)
    torch.manual_seed(1)
    args = [torch.randn(*shape, dtype=torch.double, requires_grad=True)
            for shape in ((2, 5, 3), (9, 3), (9,), (2, 3), (9, 3), (9,))]  # fmt: skip
    mask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    assert blocks.block_steps(5, 2, 9, 8) == 2
    assert torch.autograd.gradcheck(lambda *a: GRULayer.apply(*a, mask), args)


def test_the_layer_runs_the_native_layer_when_it_can(monkeypatch):
    from rnnkit.backends import gru_sequence

    calls = []
    original = gru_sequence.GRULayer.apply
    monkeypatch.setattr(gru_sequence.GRULayer, "apply", lambda *a: calls.append(1) or original(*a))
    layer = rnnkit.GRU(4, 6, num_layers=2)
    layer(torch.randn(2, 5, 4))[0].sum().backward()
    assert len(calls) == 2
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not gru_sequence.native_layer(layer.cells[0], torch.randn(2, 5, 4))
    assert not gru_sequence.native_layer(rnnkit.GRU(4, 6, reset_after=False).cells[0],
                                         torch.randn(2, 5, 4))  # fmt: skip


@pytest.mark.parametrize(
    ("num_layers", "bidirectional", "lengths"),
    [(1, False, None), (2, True, [7, 2, 5]), (2, False, [7, 7, 1])],
)
def test_inference_runs_the_native_steps_keeps_no_gates_and_equals_torch(
    monkeypatch, num_layers, bidirectional, lengths
):
    if gru_step.library() is None:
        pytest.skip("no C compiler")
    monkeypatch.setattr(dispatch, "GRU_NATIVE_MIN_WORK", 0)  # the native steps on 3 rows
    torch.manual_seed(0)
    ours = rnnkit.GRU(5, 8, num_layers=num_layers, bidirectional=bidirectional).eval()
    theirs = torch.nn.GRU(5, 8, num_layers=num_layers, bidirectional=bidirectional,
                          batch_first=True).eval()  # fmt: skip
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, 5)
    keeps, forward = [], gru_step.forward

    def spy(*args, **kwargs):
        keeps.append(kwargs.get("keep", True))
        return forward(*args, **kwargs)

    monkeypatch.setattr(gru_step, "forward", spy)
    with torch.no_grad():
        out, h = ours(x, lengths=None if lengths is None else torch.tensor(lengths))
        if lengths is None:
            ref, ref_h = theirs(x)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=True,
                                                       enforce_sorted=False)  # fmt: skip
            ref, ref_h = theirs(packed)
            ref = nn.utils.rnn.pad_packed_sequence(ref, batch_first=True, total_length=7)[0]
    assert keeps and not any(keeps)  # every layer and direction, no gates kept
    assert ours.backend.name == "rnnkit GRU sequence (native steps)"
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=1e-5)


def test_inference_on_few_rows_runs_pytorchs_gru_and_on_more_rows_the_native_steps():
    if gru_step.library() is None:
        pytest.skip("no C compiler")
    torch.manual_seed(0)
    ours = rnnkit.GRU(4, 256).eval()
    theirs = nn.GRU(4, 256, batch_first=True).eval()
    theirs.load_state_dict(ours.state_dict())
    expected = {1: "torch.gru (native)", 32: "rnnkit GRU sequence (native steps)"}
    for rows, name in expected.items():  # 1 x 256^2 and 32 x 256^2 = GRU_NATIVE_MIN_WORK
        x = torch.randn(rows, 3, 4)
        with torch.no_grad():
            out, h = ours(x)
            ref, ref_h = theirs(x)
        assert ours.backend.name == name
        assert ("few rows" in ours.backend.reason) == (rows == 1)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(h, ref_h, atol=1e-5, rtol=1e-5)
