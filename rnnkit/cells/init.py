"""Weight initializers by name, as Keras offers them, plus PyTorch's default.

- ``"pytorch"``: U(-1/sqrt(H), 1/sqrt(H)) for every parameter (``torch.nn.LSTM``'s default).
- ``"glorot_uniform"``: U(-a, a), a = sqrt(6 / (fan_in + fan_out)), per gate block.
- ``"orthogonal"``: each gate's (H, H_in) block is a (semi-)orthogonal matrix (Saxe et al. 2014).
- ``"zeros"`` / ``"ones"``.

Gate blocks are initialised one at a time, because each gate is its own linear map.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor, nn

Initializer = Callable[[Tensor, int, int], object]


def _pytorch(t: Tensor, hidden_size: int, gates: int) -> None:
    bound = 1.0 / math.sqrt(hidden_size)
    nn.init.uniform_(t, -bound, bound)


def _per_gate(fn: Callable[[Tensor], Tensor]) -> Initializer:
    def init(t: Tensor, hidden_size: int, gates: int) -> None:
        if t.dim() < 2:
            fn(t)
            return
        for block in t.chunk(gates, dim=0):
            fn(block)

    return init


_INITIALIZERS: dict[str, Initializer] = {
    "pytorch": _pytorch,
    "glorot_uniform": _per_gate(nn.init.xavier_uniform_),
    "orthogonal": _per_gate(nn.init.orthogonal_),
    "zeros": lambda t, h, g: nn.init.zeros_(t),
    "ones": lambda t, h, g: nn.init.ones_(t),
}

INITIALIZERS = tuple(_INITIALIZERS)

#: Initializers defined only for matrices (not for bias vectors).
MATRIX_ONLY = ("glorot_uniform", "orthogonal")


def check_initializer(owner: str, name: str) -> str:
    """Return ``name`` if known, else raise naming the valid choices."""
    if name not in _INITIALIZERS:
        raise ValueError(f"{owner}: unknown initializer {name!r}; choose from {INITIALIZERS}")
    return name


@torch.no_grad()
def initialize(t: Tensor, name: str, hidden_size: int, gates: int = 1) -> None:
    """Fill ``t`` in place with the named initializer, gate block by gate block."""
    _INITIALIZERS[name](t, hidden_size, gates)
