"""Reading one Keras layer's options: activations by file version, dtypes, refusals.

``hard_sigmoid`` changed between Keras versions: Keras 2 (and ``tf.keras``) computes
``clip(0.2 x + 0.5, 0, 1)``, Keras 3 computes ``relu6(x + 3) / 6``. Which one a file means is
read from the Keras version that wrote it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.cells.activations import ACTIVATIONS
from rnnkit.interop.keras.errors import refuse

#: Keras activation name -> rnnkit's name for it in ``rnnkit.cells.activations``.
CELL_ACTIVATIONS = {
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "relu": "relu",
    "linear": "linear",
    "softsign": "softsign",
    "elu": "elu",
    "swish": "silu",
    "silu": "silu",
}


def _softmax(x: Tensor) -> Tensor:
    return torch.softmax(x, dim=-1)


OUTPUT_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": lambda x: x,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
    "softmax": _softmax,
    "softsign": F.softsign,
    "softplus": F.softplus,
    "elu": F.elu,
    "selu": F.selu,
    "swish": F.silu,
    "silu": F.silu,
    "exponential": torch.exp,
}


@dataclass
class LayerContext:
    """Where a layer comes from, for its options and its error messages."""

    name: str
    class_name: str
    config: dict[str, Any]
    keras_major: int

    def refuse(self, what: str) -> Exception:
        return refuse(self.name, self.class_name, what)

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    def require(self, key: str, allowed: tuple[Any, ...]) -> Any:
        """The option's value if it is one of ``allowed`` (missing counts as the first)."""
        value = self.config.get(key, allowed[0])
        if value not in allowed:
            raise self.refuse(f"{key}={value!r} is not supported (supported: {list(allowed)})")
        return value

    def activation_name(self, key: str, default: str) -> str:
        value = self.config.get(key, default)
        if isinstance(value, dict):  # Keras 3 may serialise an activation as an object
            value = value.get("config", value.get("class_name"))
        if not isinstance(value, str):
            raise self.refuse(f"{key}={value!r} is not supported (a named activation is)")
        return value

    def cell_activation(self, key: str, default: str) -> str:
        """rnnkit's name of a recurrent layer's activation."""
        name = self.activation_name(key, default)
        if name == "hard_sigmoid":
            return "hard_sigmoid" if self.keras_major >= 3 else "hard_sigmoid_keras2"
        if name not in CELL_ACTIVATIONS:
            raise self.refuse(
                f"{key}={name!r} is not supported in a recurrent layer "
                f"(supported: {sorted([*CELL_ACTIVATIONS, 'hard_sigmoid'])})"
            )
        return CELL_ACTIVATIONS[name]

    def output_activation(self, key: str = "activation") -> tuple[str, Callable[[Tensor], Tensor]]:
        """Name and function of a Dense or Activation layer's activation."""
        name = self.activation_name(key, "linear")
        if name == "hard_sigmoid":
            key = "hard_sigmoid_keras2" if self.keras_major < 3 else "hard_sigmoid"
            return name, ACTIVATIONS[key]
        if name not in OUTPUT_ACTIVATIONS:
            raise self.refuse(
                f"{key}={name!r} is not supported (supported: "
                f"{sorted([*OUTPUT_ACTIVATIONS, 'hard_sigmoid'])})"
            )
        return name, OUTPUT_ACTIVATIONS[name]

    def check_dtype(self) -> None:
        """Float32 layers only: other policies (mixed precision, quantized) compute otherwise."""
        dtype = self.config.get("dtype", "float32")
        if isinstance(dtype, dict):
            dtype = dtype.get("config", {}).get("name", dtype.get("class_name"))
        if dtype not in (None, "float32"):
            raise self.refuse(f"dtype={dtype!r} is not supported (float32 is)")

    def check_absent(self, *keys: str) -> None:
        """Options that change the computation when set; rnnkit refuses them."""
        for key in keys:
            value = self.config.get(key)
            if value not in (None, False, 0, {}, []):
                raise self.refuse(f"{key}={value!r} is not supported")


def keras_major(version: str) -> int:
    """2 for a Keras 2 / tf.keras file, 3 for Keras 3 (the default when unknown)."""
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 3
