"""oneDNN products with packed weights equal PyTorch's, up to float32 rounding."""

import pytest
import torch
from torch.nn import functional as F

from rnnkit.ops import onednn

pytestmark = pytest.mark.skipif(
    not onednn.available(torch.zeros(1)), reason="no oneDNN linear operators in this PyTorch"
)


@pytest.mark.parametrize(("n", "k", "m"), [(1, 7, 5), (3, 16, 40), (32, 64, 96)])
def test_linear_and_linear_add_equal_addmm(n, k, m):
    x, w, b, other = torch.randn(n, k), torch.randn(m, k), torch.randn(m), torch.randn(n, m)
    packed = onednn.pack(w, n)
    torch.testing.assert_close(onednn.linear(x, packed, b), torch.addmm(b, x, w.t()))
    torch.testing.assert_close(onednn.linear(x, packed), x @ w.t())
    torch.testing.assert_close(onednn.linear_add(x, packed, other), other + x @ w.t())
    rows = torch.randn(n, 2, k)[:, 1]  # strided rows, as a time step of a batch-first tensor
    torch.testing.assert_close(onednn.linear(rows, packed), rows @ w.t())
    torch.testing.assert_close(onednn.linear(torch.randn(2 * n + 1, k), packed).shape[0], 2 * n + 1)


@pytest.mark.parametrize("with_bias", [False, True])
def test_project_is_differentiable_and_equals_f_linear(with_bias):
    x = torch.randn(6, 4, 8).transpose(0, 1).requires_grad_()  # a time-major view, as GRUs pass
    w = torch.randn(10, 8, requires_grad=True)
    b = torch.randn(10, requires_grad=True) if with_bias else None
    inputs = (x, w, b) if with_bias else (x, w)
    ours = onednn.project(x, w, b)
    theirs = F.linear(x, w, b)
    torch.testing.assert_close(ours, theirs)
    weight = torch.randn_like(ours)
    for a, b in zip(torch.autograd.grad((ours * weight).sum(), inputs),
                    torch.autograd.grad((theirs * weight).sum(), inputs)):  # fmt: skip
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_only_float32_on_cpu_and_the_switch(monkeypatch):
    assert not onednn.available(torch.zeros(1, dtype=torch.float64))
    monkeypatch.setenv("RNNKIT_ONEDNN", "0")
    assert not onednn.available(torch.zeros(1))
    x, w = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(onednn.project(x, w), F.linear(x, w))  # falls back
