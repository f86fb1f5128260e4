"""The one harness every layer and cell test uses.

Checks:
- ``assert_states_close``: outputs/states (tensors, tuples, lists) equal within tolerance;
- ``grads_of``: gradients of a scalar w.r.t. inputs and parameters, for comparing paths;
- ``check_step_vs_sequence``: running L single steps equals one call over the sequence;
- ``check_lengths_match_alone``: a padded batch with lengths equals each sequence run alone;
- ``check_gradcheck``: float64 ``torch.autograd.gradcheck`` through a module;
- ``check_save_load``: config + safetensors round trip gives the same outputs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

ATOL, RTOL = 1e-5, 1e-4


def flat(x) -> list[Tensor]:
    """All tensors of a nested output/state, in order."""
    if isinstance(x, Tensor):
        return [x]
    if x is None:
        return []
    return [t for part in x for t in flat(part)]


def assert_states_close(a, b, atol: float = ATOL, rtol: float = RTOL) -> None:
    """Equal structure, shapes and values."""
    fa, fb = flat(a), flat(b)
    assert len(fa) == len(fb), f"{len(fa)} tensors vs {len(fb)}"
    for i, (x, y) in enumerate(zip(fa, fb)):
        assert x.shape == y.shape, f"tensor {i}: shape {tuple(x.shape)} vs {tuple(y.shape)}"
        torch.testing.assert_close(
            x, y, atol=atol, rtol=rtol, msg=lambda m, i=i: f"tensor {i}: {m}"
        )


def grads_of(
    module: nn.Module, x: Tensor, run: Callable[[nn.Module, Tensor], object]
) -> list[Tensor]:
    """Gradients of a fixed random projection of ``run(module, x)`` w.r.t. x and parameters."""
    x = x.detach().clone().requires_grad_(True)
    module.zero_grad(set_to_none=True)
    outs = flat(run(module, x))
    gen = torch.Generator().manual_seed(1234)
    loss = sum((o * torch.randn(o.shape, generator=gen, dtype=o.dtype)).sum() for o in outs)
    loss.backward()
    params = [p.grad if p.grad is not None else torch.zeros_like(p) for p in module.parameters()]
    return [x.grad, *params]


def check_step_vs_sequence(layer: nn.Module, x: Tensor, state=None, atol: float = ATOL) -> None:
    """``layer(x)`` equals feeding x one step at a time, carrying the state."""
    layer.eval()
    with torch.no_grad():
        full_out, full_state = layer(x, state)
        outs, s = [], state
        for t in range(x.shape[1]):
            o, s = layer(x[:, t : t + 1], s)
            outs.append(o)
    assert_states_close(torch.cat(outs, 1), full_out, atol=atol)
    assert_states_close(s, full_state, atol=atol)


def check_lengths_match_alone(layer: nn.Module, x: Tensor, lengths: list[int], atol=ATOL) -> None:
    """Batched with lengths == each sequence alone; padded outputs are zero."""
    layer.eval()
    with torch.no_grad():
        out, state = layer(x, lengths=torch.tensor(lengths))
        for n, length in enumerate(lengths):
            o1, s1 = layer(x[n : n + 1, :length])
            assert_states_close(out[n : n + 1, :length], o1, atol=atol)
            assert torch.all(out[n, length:] == 0), "outputs at padded steps must be zero"
            assert_states_close(_batch_slice(state, n), s1, atol=atol)


def _batch_slice(state, n: int):
    if isinstance(state, Tensor):
        return state[:, n : n + 1]
    if isinstance(state, list):
        return [_batch_slice(s, n) for s in state]
    return tuple(_batch_slice(s, n) for s in state)


def check_gradcheck(module: nn.Module, x: Tensor, **kwargs) -> None:
    """float64 gradcheck of all outputs w.r.t. the input and every parameter."""
    module = copy.deepcopy(module).double()
    params = [p for p in module.parameters()]
    names = [n for n, _ in module.named_parameters()]

    def fn(inp, *ps):
        replaced = dict(zip(names, ps))
        out = torch.func.functional_call(module, replaced, (inp,), kwargs)
        return tuple(flat(out))

    inputs = (x.double().requires_grad_(True), *[p.detach().requires_grad_(True) for p in params])
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def check_save_load(layer: nn.Module, x: Tensor, tmp_path: Path) -> nn.Module:
    """Rebuild from ``get_config()`` and safetensors weights; outputs must be identical."""
    layer.eval()
    path = tmp_path / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in layer.state_dict().items()}, str(path))
    twin = type(layer).from_config(layer.get_config())
    twin.load_state_dict(load_file(str(path)))
    twin.eval()
    with torch.no_grad():
        assert_states_close(twin(x), layer(x), atol=0, rtol=0)
    return twin


def classification_batch(
    n: int = 6, steps: int = 7, vocab: int = 20, classes: int = 3, seed: int = 0
) -> dict[str, Tensor]:
    """A random padded batch ``{"tokens", "lengths", "labels"}`` for text classifiers."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, vocab, (n, steps), generator=g)
    lengths = torch.randint(1, steps + 1, (n,), generator=g)
    labels = torch.randint(0, classes, (n,), generator=g)
    return {"tokens": tokens, "lengths": lengths, "labels": labels}
