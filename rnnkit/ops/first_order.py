"""Hand-written backward passes that have no second derivative, made to say so.

rnnkit's fast paths compute their gradients in native kernels or with PyTorch ops that write into
preallocated tensors (``out=``), which autograd cannot differentiate again. Asked for a graph of
the gradient (``create_graph=True``: gradient penalties, Hessian-vector products, MAML), such a
backward failed in PyTorch's words, far from the cause: an ``out=`` product that needs no
gradient, or a tensor the backward itself had modified in place.

``first_order(message)`` decorates a custom Function's ``backward``: with ``create_graph=True``
(autograd runs a backward with grad mode on exactly then) it raises ``RuntimeError(message)``,
which names the path that has a second derivative; otherwise it runs the backward unchanged. A
first derivative taken with ``create_graph=True`` fails too, rather than return a gradient whose
own graph would be missing this backward's part.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch

#: the remedy for rnnkit's recurrent layers: the generic path is plain PyTorch ops
GENERIC = (
    "{name} computes its gradient in a hand-written backward and has no second derivative; for "
    "create_graph=True (double backward) run the layer inside rnnkit.backends.force('generic')"
)
#: the remedy for MinGRU / MinLSTM: the log-space scan is plain PyTorch ops
LOG_SCAN = (
    "{name} computes its gradient in a hand-written backward and has no second derivative; for "
    "create_graph=True (double backward) build the MinGRU / MinLSTM layer with scan='log'"
)


def first_order(message: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a custom Function's ``backward`` (see the module docstring); ``message`` is what
    it raises under ``create_graph=True``."""

    def decorate(backward: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(backward)
        def run(ctx: Any, *grads: Any) -> Any:
            if torch.is_grad_enabled():  # create_graph=True: a graph of this backward is wanted
                raise RuntimeError(message)
            return backward(ctx, *grads)

        return run

    return decorate
