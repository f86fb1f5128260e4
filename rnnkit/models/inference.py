"""``@inference``: a model method that predicts runs in eval mode, without gradients."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

F = TypeVar("F", bound=Callable[..., Any])


def inference(method: F) -> F:
    """Run ``method`` with the module in eval mode (no dropout) and no autograd, then put the
    module back in the mode it was in.

    ``predict`` methods use it so that a prediction made in the middle of training (a callback,
    a notebook cell) is the same as one made after ``model.eval()``.

    Example:
        >>> class M(nn.Module):
        ...     @inference
        ...     def predict(self, x): return self.training
        >>> M().train().predict(1)
        False
    """

    @functools.wraps(method)
    def run(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                return method(self, *args, **kwargs)
        finally:
            self.train(was_training)

    return run  # type: ignore[return-value]
