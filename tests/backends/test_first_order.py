"""Hand-written backward passes refuse create_graph=True with a message naming the path that has
a second derivative, and those paths do have one (gradgradcheck)."""

import re

import pytest
import torch

import rnnkit
from rnnkit.kernels import min_scan

#: name -> (layer factory, the remedy the error must name); every one runs a hand-written backward
#: in training on CPU
FAST_PATHS = {
    "mingru native": (lambda: rnnkit.MinGRU(3, 4), "scan='log'"),
    "minlstm native": (lambda: rnnkit.MinLSTM(3, 4), "scan='log'"),
    "mingru sequential": (lambda: rnnkit.MinGRU(3, 4, scan="sequential"), "scan='log'"),
    "gru": (lambda: rnnkit.GRU(3, 4), "force('generic')"),
    "gru reset_before": (lambda: rnnkit.GRU(3, 4, reset_after=False), "force('generic')"),
    "peephole lstm": (lambda: rnnkit.LSTM(3, 4, peephole=True), "force('generic')"),
    "layer-norm lstm": (lambda: rnnkit.LSTM(3, 4, layer_norm=True), "force('generic')"),
}


@pytest.mark.parametrize("name", sorted(FAST_PATHS))
def test_create_graph_names_the_path_with_a_second_derivative(name):
    make, remedy = FAST_PATHS[name]
    layer = make()
    if ("native" in name and not min_scan.supported(torch.empty(0))) or (
        layer.backend.kind == "generic"
    ):
        pytest.skip("no compiler here: the layer runs plain PyTorch ops (second derivatives too)")
    x = torch.randn(2, 5, 3, requires_grad=True)
    weight = next(layer.parameters())
    first = torch.autograd.grad(layer(x)[0].square().sum(), weight)[0]  # first order: fine
    assert torch.isfinite(first).all() and first.abs().sum() > 0
    with pytest.raises(RuntimeError, match="no second derivative.*" + re.escape(remedy)):
        torch.autograd.grad(layer(x)[0].square().sum(), weight, create_graph=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: rnnkit.MinGRU(2, 3, scan="log"),
        lambda: rnnkit.MinLSTM(2, 3, scan="log"),
        lambda: rnnkit.GRU(2, 3),
        lambda: rnnkit.GRU(2, 3, reset_after=False),
        lambda: rnnkit.LSTM(2, 3, peephole=True),
        lambda: rnnkit.LSTM(2, 3, layer_norm=True),
    ],
    ids=["mingru log", "minlstm log", "gru", "gru reset_before", "peephole", "layer norm"],
)
def test_the_named_paths_have_second_derivatives(make):
    torch.manual_seed(0)
    layer = make().double()
    x = torch.randn(2, 3, 2, dtype=torch.double, requires_grad=True)

    def run(inp):
        with rnnkit.backends.force("generic"):
            return layer(inp)[0]

    assert torch.autograd.gradgradcheck(run, (x,))
