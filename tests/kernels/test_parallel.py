"""Native step kernels split their batch rows over threads (parallel.h) and give the same numbers.

The split is forced onto three threads whatever the machine has, with a batch of 5 (uneven
shares), padded rows, an expanded output gradient (rows gathered into per-thread buffers) and,
for the layer-norm LSTM, W_hh's gradient accumulated in chunks of 2 steps over 7 (a partial
chunk): outputs and every gradient equal the generic path's in float64.
"""

import warnings

import pytest
import torch

import rnnkit
from rnnkit.kernels import blocks, build, gru_step, lnlstm_step
from tests.harness import assert_states_close

LAYERS = {
    "layer_norm": lambda: rnnkit.LSTM(4, 6, num_layers=2, layer_norm=True, bidirectional=True),
    "layer_norm_peephole": lambda: rnnkit.LSTM(4, 6, layer_norm=True, peephole=True),
    "peephole": lambda: rnnkit.LSTM(4, 6, num_layers=2, peephole=True, bidirectional=True),
    "gru": lambda: rnnkit.GRU(4, 6, num_layers=2, bidirectional=True),
}


def _run(layer, x, lengths, state):
    out, final = layer(x, state, lengths=lengths)
    loss = out.sum() + sum(
        s.pow(2).sum() for s in (final if isinstance(final, tuple) else (final,))
    )
    grads = torch.autograd.grad(loss, [x, *layer.parameters()])
    return (out, *(final if isinstance(final, tuple) else (final,)), *grads)


@pytest.mark.parametrize("name", list(LAYERS))
def test_rows_split_over_threads_equal_the_generic_path(monkeypatch, name):
    torch.manual_seed(3)
    layer = LAYERS[name]().double()
    with torch.no_grad():  # norms' gains and biases away from 1 and 0
        for p in layer.parameters():
            p.add_(0.2 * torch.randn_like(p))
    calls = []

    def three(self, rows, width):
        calls.append(self.name)
        return min(rows, 3)

    monkeypatch.setattr(build.Kernel, "threads", three)
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 2 * 5 * 24 * 8)  # 2 steps of 5 rows of 4H
    monkeypatch.setattr(gru_step, "CHUNK_ROWS", 15)  # 3 steps of 5 rows
    x = torch.randn(5, 7, 4, dtype=torch.double, requires_grad=True)
    lengths = torch.tensor([7, 3, 7, 1, 5])
    k = len(layer.cells)
    state = torch.randn(k, 5, 6, dtype=torch.double)
    state = (state, torch.randn_like(state)) if "gru" not in name else state
    ours = _run(layer, x, lengths, state)
    assert calls, "the native kernels did not run"
    with rnnkit.backends.force("generic"):
        reference = _run(layer, x, lengths, state)
    assert_states_close(ours, reference, atol=1e-10)


def test_thread_count_rule(monkeypatch):
    kernel = lnlstm_step._KERNEL
    if kernel.library() is None:
        pytest.skip("no C compiler")
    most = int(kernel.library().rnnkit_max_threads())
    assert most >= 1
    assert kernel.threads(1, 10**6) == 1  # one row: nothing to split
    assert kernel.threads(32, 8) == 1  # too small a step to start a team
    assert kernel.threads(32, 2048) == min(most, 32)
    assert kernel.threads(2, 2**20) == min(most, 2)  # at most one thread per row
    monkeypatch.setattr(build.Kernel, "library", lambda self: None)
    assert kernel.threads(32, 2048) == 1


def test_without_openmp_the_kernels_build_single_threaded(tmp_path, monkeypatch):
    """A compiler that cannot build with OpenMP gets the same kernels, on one thread."""
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(build, "_loaded", {})
    monkeypatch.setattr(build, "OPENMP", ["-fno-such-option-rnnkit"])  # fails, like no OpenMP
    if build._compiler() is None:
        pytest.skip("no C compiler")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to PyTorch: the kernel still builds
        library = lnlstm_step.library()
    assert library is not None and library.rnnkit_max_threads() == 1
    assert lnlstm_step._KERNEL.threads(32, 2048) == 1
    torch.manual_seed(4)
    layer = rnnkit.LSTM(4, 6, layer_norm=True).double()
    x = torch.randn(3, 5, 4, dtype=torch.double)
    with rnnkit.backends.force("generic"):
        reference = layer(x)[0]
    assert_states_close(layer(x)[0], reference, atol=1e-12)
