"""The native minGRU/minLSTM kernel against the pure-PyTorch recurrence, and its build cache."""

import warnings

import pytest
import torch

from rnnkit import MinGRU, MinLSTM
from rnnkit.kernels import build, min_scan
from rnnkit.layers.scan import LinearRecurrence, g
from tests.harness import assert_states_close


def _reference(p, bias, h0, kind):
    """h_t = a_t h_{t-1} + b_t from the equations, through LinearRecurrence."""
    q = p if bias is None else p + bias
    parts = q.transpose(0, 1).chunk(min_scan.KINDS[kind], dim=-1)
    if kind == "gru":
        z = torch.sigmoid(parts[0])
        a, b = 1 - z, z * g(parts[1])
    else:
        f, i = torch.sigmoid(parts[0]), torch.sigmoid(parts[1])
        a = f / (f + i)
        b = (1 - a) * g(parts[2])
    return LinearRecurrence.apply(a, b, h0).transpose(0, 1)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("hidden", [5, 1030])  # 1030: more than one block of hidden units
def test_kernel_equals_the_equations_with_gradients(kind, with_bias, hidden):
    n, length, width = 3, 9, min_scan.KINDS[kind] * hidden
    p = (2 * torch.randn(n, length, width, dtype=torch.double)).requires_grad_()
    bias = torch.randn(width, dtype=torch.double, requires_grad=True) if with_bias else None
    h0 = torch.randn(n, hidden, dtype=torch.double, requires_grad=True)
    ours = min_scan.min_scan(p, bias, h0, kind)
    theirs = _reference(p, bias, h0, kind)
    assert_states_close(ours, theirs, atol=1e-12)
    weight = torch.randn_like(ours)
    inputs = [t for t in (p, bias, h0) if t is not None]
    for a, b in zip(torch.autograd.grad((ours * weight).sum(), inputs),
                    torch.autograd.grad((theirs * weight).sum(), inputs)):  # fmt: skip
        assert_states_close(a, b, atol=1e-11)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_gradcheck_and_an_expanded_output_gradient(kind):
    p = torch.randn(2, 6, min_scan.KINDS[kind] * 3, dtype=torch.double, requires_grad=True)
    bias = torch.randn(p.shape[-1], dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *t: min_scan.min_scan(*t, kind), (p, bias, h0))
    # out.sum() sends back an expanded (stride 0) gradient: read in place, same result
    expanded = torch.autograd.grad(min_scan.min_scan(p, bias, h0, kind).sum(), p)[0]
    dense = torch.autograd.grad(min_scan.min_scan(p, bias, h0, kind), p,
                                torch.ones(2, 6, 3, dtype=torch.double))[0]  # fmt: skip
    assert_states_close(expanded, dense, atol=1e-14)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_float32_matches_float64_over_the_whole_range_of_the_gates(kind):
    # the float kernel has its own exp: pre-activations from -100 to 100 (both saturations,
    # float's exp overflowing beyond 88) and around 0, forward and backward
    torch.manual_seed(0)
    width = min_scan.KINDS[kind] * 32
    p = torch.cat([200 * torch.rand(4, 25, width) - 100, 3 * torch.randn(4, 25, width)], dim=1)
    bias, h0 = torch.randn(width), torch.randn(4, 32)
    ref_inputs = [t.double().requires_grad_() for t in (p, bias, h0)]
    inputs = [t.clone().requires_grad_() for t in (p, bias, h0)]
    out = min_scan.min_scan(*inputs, kind)
    ref = min_scan.min_scan(*ref_inputs, kind)
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)
    scale = torch.randn(4, 50, 32, dtype=torch.double)
    ours = torch.autograd.grad((out * scale.float()).sum(), inputs)
    theirs = torch.autograd.grad((ref * scale).sum(), ref_inputs)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.double(), b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_a_strided_output_gradient_is_read_in_place(kind):
    p = torch.randn(2, 6, min_scan.KINDS[kind] * 3, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=torch.double)
    strided = torch.randn(2, 3, 6, dtype=torch.double).transpose(1, 2)  # column stride 6
    ours = torch.autograd.grad(min_scan.min_scan(p, None, h0, kind), p, strided)[0]
    dense = torch.autograd.grad(min_scan.min_scan(p, None, h0, kind), p, strided.contiguous())[0]
    assert_states_close(ours, dense, atol=1e-14)


def _layer_reference(x, weight, bias, h0, kind):
    """min_layer's equations: the product, then the reference recurrence."""
    return _reference(x @ weight.t(), bias, h0, kind)


@pytest.fixture
def small_groups(monkeypatch):
    """Groups of two batch rows (the last one shorter) in min_layer."""
    monkeypatch.setattr(min_scan, "chunk_rows", lambda n, length, width, itemsize: 2)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_layer_in_row_groups_equals_the_equations_with_gradients(kind, with_bias, small_groups):
    n, length, size, hidden = 5, 7, 4, 6  # groups of rows 2, 2, 1
    width = min_scan.KINDS[kind] * hidden
    x = torch.randn(n, length, size, dtype=torch.double, requires_grad=True)
    weight = torch.randn(width, size, dtype=torch.double, requires_grad=True)
    bias = torch.randn(width, dtype=torch.double, requires_grad=True) if with_bias else None
    h0 = torch.randn(n, hidden, dtype=torch.double, requires_grad=True)
    ours = min_scan.min_layer(x, weight, bias, h0, kind)
    theirs = _layer_reference(x, weight, bias, h0, kind)
    assert_states_close(ours, theirs, atol=1e-12)
    scale = torch.randn_like(ours)
    inputs = [t for t in (x, weight, bias, h0) if t is not None]
    for a, b in zip(torch.autograd.grad((ours * scale).sum(), inputs),
                    torch.autograd.grad((theirs * scale).sum(), inputs)):  # fmt: skip
        assert_states_close(a, b, atol=1e-11)
    with torch.no_grad():  # inference: one reused buffer for the groups' products
        assert_states_close(min_scan.min_layer(x, weight, bias, h0, kind), theirs, atol=1e-12)


def _layer_inputs(kind, n, length, size, hidden):
    """x (n, length, size), W, bias and h0 of a layer of ``hidden`` units: float64, all needing
    gradients."""
    width = min_scan.KINDS[kind] * hidden
    shapes = [(n, length, size), (width, size), (width,), (n, hidden)]
    return [torch.randn(*shape, dtype=torch.double, requires_grad=True) for shape in shapes]


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_layer_gradcheck_over_row_groups(kind, small_groups):
    inputs = _layer_inputs(kind, n=3, length=4, size=2, hidden=3)
    assert torch.autograd.gradcheck(lambda *t: min_scan.min_layer(*t, kind), inputs)


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_layer_float32_stored_gates_match_float64_over_the_whole_range(kind):
    # min_layer keeps what its backward needs from its forward (a minGRU z and the signed
    # candidate, a minLSTM two signed exponentials and the signed candidate); through W = I the
    # projection is x itself: pre-activations from -100 to 100, around 0, exactly 0 (where
    # g'(0) = 1, and a minLSTM's f and i tie) and just below it (where g' = 1/4), forward and
    # backward, against float64 with the gates recomputed from P
    torch.manual_seed(0)
    hidden, width = 32, min_scan.KINDS[kind] * 32
    x = torch.cat(
        [
            200 * torch.rand(3, 20, width) - 100,
            3 * torch.randn(3, 20, width),
            torch.zeros(3, 2, width),
            torch.full((3, 2, width), -1e-30),
        ],
        dim=1,
    )
    h0 = torch.randn(3, hidden)
    ref_inputs = [t.double().requires_grad_() for t in (x, h0)]
    inputs = [t.clone().requires_grad_() for t in (x, h0)]
    ours = min_scan.min_layer(inputs[0], torch.eye(width), None, inputs[1], kind)
    theirs = min_scan.min_scan(ref_inputs[0], None, ref_inputs[1], kind)  # gates recomputed
    torch.testing.assert_close(ours.double(), theirs, atol=1e-5, rtol=1e-5)
    scale = torch.randn_like(theirs)
    for a, b in zip(torch.autograd.grad((ours * scale.float()).sum(), inputs),
                    torch.autograd.grad((theirs * scale).sum(), ref_inputs)):  # fmt: skip
        torch.testing.assert_close(a.double(), b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("saved", [False, True])
@pytest.mark.parametrize("gate", [0, 1])
def test_minlstm_nan_in_one_gate_reaches_its_unit_only(gate, saved):
    # a NaN in f alone or in i alone (not both) comes out of its unit, forward and backward,
    # whether the backward recomputes the gates or reads what a saving forward stored
    hidden, unit = 16, 5
    p = torch.randn(2, 3, 3 * hidden)
    p[0, 1, gate * hidden + unit] = float("nan")
    h0, out = torch.zeros(2, hidden), torch.empty(2, 3, hidden)
    stored = p.clone()
    min_scan._forward("lstm", stored, None, h0, out, save=saved)
    assert out[0, 1:, unit].isnan().all() and out[0, 0].isfinite().all()
    assert out[1].isfinite().all() and out[0, :, :unit].isfinite().all()
    dp, dh0 = torch.empty_like(p), torch.empty_like(h0)
    source = stored if saved else p
    min_scan._backward("lstm", source, None, h0, out, torch.ones_like(out),
                       stored if saved else dp, None, dh0, saved=saved)  # fmt: skip
    grad = stored if saved else dp
    assert grad[0, :2, unit::hidden].isnan().any() and grad[1].isfinite().all()


@pytest.mark.parametrize("kind", ["gru", "lstm"])
def test_layer_backward_twice_through_a_retained_graph(kind, small_groups):
    # the minGRU backward writes dP over the gates its forward stored; a second backward
    # through the same graph computes them again and gets the same gradients
    inputs = _layer_inputs(kind, n=3, length=5, size=6, hidden=4)
    out = min_scan.min_layer(*inputs, kind)
    scale = torch.randn_like(out)
    first = torch.autograd.grad(out, inputs, scale, retain_graph=True)
    second = torch.autograd.grad(out, inputs, scale)
    theirs = torch.autograd.grad(_layer_reference(*inputs, kind), inputs, scale)
    for a, b, c in zip(first, second, theirs):
        assert_states_close(a, c, atol=1e-11)
        assert torch.equal(a, b)


def test_layer_float32_strided_input_frozen_input_and_autocast():
    x = torch.randn(40, 3, 8).transpose(0, 1)  # (3, 40, 8), not contiguous, no gradient
    weight = torch.randn(32, 8, requires_grad=True)
    bias, h0 = torch.randn(32, requires_grad=True), torch.zeros(3, 16)
    out = min_scan.min_layer(x, weight, bias, h0, "gru")
    ref = _layer_reference(x.double(), weight.double(), bias.double(), h0.double(), "gru")
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)
    dw, db = torch.autograd.grad(out.sum(), (weight, bias))  # x needs no gradient
    rw, rb = torch.autograd.grad(ref.sum(), (weight, bias))
    torch.testing.assert_close(dw, rw, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(db, rb, atol=1e-4, rtol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the layer computes in float32 anyway
        under = min_scan.min_layer(x, weight, bias, h0, "gru")
    assert under.dtype == torch.float32
    torch.testing.assert_close(under, out)


def test_layer_errors_name_the_expected_shapes_and_dtypes():
    with pytest.raises(ValueError, match=r"W \(2\*H, I\) with H = 4"):
        min_scan.min_layer(torch.randn(2, 3, 5), torch.randn(8, 6), None, torch.zeros(2, 4), "gru")
    with pytest.raises(ValueError, match=r"x is torch\.float32 but W is torch\.float64"):
        min_scan.min_layer(torch.randn(2, 3, 5), torch.randn(8, 5, dtype=torch.double), None,
                           torch.zeros(2, 4), "gru")  # fmt: skip
    with pytest.raises(ValueError, match="kind must be one of"):
        min_scan.min_layer(torch.randn(2, 3, 5), torch.randn(8, 5), None, torch.zeros(2, 4), "rnn")


@pytest.mark.parametrize("threads", [1, 3])
def test_one_row_splits_its_hidden_units_over_threads(threads, monkeypatch):
    monkeypatch.setattr(min_scan, "_threads", lambda values: threads)  # 3: blocks 208, 208, 184
    p = torch.randn(1, 20, 2 * 600, dtype=torch.double, requires_grad=True)
    bias = torch.randn(1200, dtype=torch.double, requires_grad=True)
    h0 = torch.randn(1, 600, dtype=torch.double, requires_grad=True)
    ours, theirs = min_scan.min_scan(p, bias, h0, "gru"), _reference(p, bias, h0, "gru")
    assert_states_close(ours, theirs, atol=1e-12)
    scale = torch.randn_like(ours)
    for a, b in zip(torch.autograd.grad((ours * scale).sum(), (p, bias, h0)),
                    torch.autograd.grad((theirs * scale).sum(), (p, bias, h0))):  # fmt: skip
        assert_states_close(a, b, atol=1e-11)


def test_row_groups_span_about_chunk_bytes():
    per_row = 1024 * 1024 * 4  # L 1024, G*H 1024, float32: 4 MiB per batch row
    assert min_scan.chunk_rows(32, 1024, 1024, 4) == min_scan.CHUNK_BYTES // per_row
    assert min_scan.chunk_rows(3, 1024, 1024, 4) == 3  # never more rows than the batch
    assert min_scan.chunk_rows(8, 4096, 4096, 8) == 1  # at least one row


def test_shape_errors_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(N, L, 2\*H\)"):
        min_scan.min_scan(torch.randn(2, 3, 7), None, torch.randn(2, 4), "gru")
    with pytest.raises(ValueError, match="kind must be one of"):
        min_scan.min_scan(torch.randn(2, 3, 8), None, torch.randn(2, 4), "rnn")


@pytest.fixture
def fresh_build(tmp_path, monkeypatch):
    """An empty kernel cache and no library loaded yet in this process."""
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(build, "_loaded", {})
    return tmp_path


def test_build_writes_one_cached_library_and_reuses_it(fresh_build):
    assert min_scan.library() is not None
    built = list((fresh_build / "kernels").iterdir())
    assert len(built) == 1 and built[0].name.startswith("min_scan-") and built[0].suffix == ".so"
    stamp = built[0].stat().st_mtime_ns
    build._loaded.clear()
    assert min_scan.library() is not None  # a new process would load the cached file
    assert built[0].stat().st_mtime_ns == stamp and len(list(built[0].parent.iterdir())) == 1


def test_a_failed_build_warns_once_and_layers_fall_back(fresh_build, monkeypatch):
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    layer = MinGRU(4, 6)
    with pytest.warns(build.NativeKernelWarning, match="could not build"):
        reason = layer.backend.reason
    assert "(sequential)" in reason and not list((fresh_build / "kernels").glob("*.so"))
    x = torch.randn(2, 5, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        out, _ = layer(x)
    reference = MinGRU(4, 6, scan="sequential")
    reference.load_state_dict(layer.state_dict())
    assert_states_close(out, reference(x)[0], atol=1e-6)
    with pytest.raises(ValueError, match="scan='native' needs"):
        MinGRU(4, 6, scan="native")(torch.randn(2, 5, 4))


def test_native_kernels_can_be_switched_off(fresh_build, monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    assert min_scan.library() is None and "(sequential)" in MinLSTM(3, 4).backend.reason


def test_an_unwritable_cache_builds_into_a_temporary_folder(fresh_build, monkeypatch):
    blocked = fresh_build / "blocked"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(blocked))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: the kernel still builds
        assert min_scan.library() is not None
