"""Activation functions selectable by name (Keras' ``activation`` / ``recurrent_activation``)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F


def _hard_sigmoid(x: Tensor) -> Tensor:
    # Keras 3's definition: relu6(x + 3) / 6, written out: F.hardsigmoid's CUDA kernel multiplies
    # by a float32 1/6 even in float64 (off by about 4e-8), where this is exact on every device.
    return (x + 3.0).clamp(0.0, 6.0) / 6.0


def _hard_sigmoid_keras2(x: Tensor) -> Tensor:
    # Keras 2's (and tf.keras') definition: clip(0.2 x + 0.5, 0, 1); imported Keras 2 files use it.
    return (0.2 * x + 0.5).clamp(0.0, 1.0)


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "hard_sigmoid": _hard_sigmoid,
    "hard_sigmoid_keras2": _hard_sigmoid_keras2,
    "linear": lambda x: x,
    "softsign": F.softsign,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
}


def get_activation(owner: str, name: str) -> Callable[[Tensor], Tensor]:
    """Look up an activation by name; unknown names raise listing the choices."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"{owner}: unknown activation {name!r}; choose from {tuple(ACTIVATIONS)}"
        ) from None
