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


def test_float32_matches_float64():
    p, bias, h0 = torch.randn(4, 50, 64), torch.randn(64), torch.randn(4, 32)
    out = min_scan.min_scan(p, bias, h0, "gru")
    ref = min_scan.min_scan(p.double(), bias.double(), h0.double(), "gru")
    torch.testing.assert_close(out.double(), ref, atol=1e-5, rtol=1e-5)


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
