"""Keras 3 layers as an optional third contestant in ``benchmarks/speed.py``.

When ``keras`` is importable, ``speed.py`` times ``keras.layers.LSTM`` / ``keras.layers.GRU``
(``return_sequences=True``, Keras' defaults otherwise: GRU ``reset_after=True`` like PyTorch's)
beside rnnkit and ``torch.nn`` on the same input, for the standard LSTM and GRU rows. The
backend is whatever Keras is configured with (``KERAS_BACKEND``); it is recorded with the
results. Training is the loss ``sum(output)`` and its gradient with respect to the layer's
weights:

- TensorFlow: the layer call and ``tf.GradientTape`` inside one ``tf.function`` (traced on the
  first call, which the first-call column shows), as ``model.fit`` runs it;
- PyTorch: the layer call and ``backward()``, as rnnkit's and ``torch.nn``'s calls run.

Other backends are not supported here and are skipped with a message.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import numpy as np

LAYERS = {"lstm": "LSTM", "gru": "GRU"}  #: speed.py's layer names that have a Keras twin
SUPPORTED = ("tensorflow", "torch")


def backend() -> str | None:
    """The configured Keras backend, or None when Keras is not installed."""
    if importlib.util.find_spec("keras") is None:
        return None
    import keras

    return str(keras.backend.backend())


def contestant(kind: str, hidden: int, x: np.ndarray, train: bool) -> Callable[[], None]:
    """A call of a fresh Keras ``kind`` layer on ``x`` (N, L, I): training (forward, loss,
    weight gradients) or inference. Raises ValueError for an unsupported backend."""
    import keras

    layer = getattr(keras.layers, LAYERS[kind])(hidden, return_sequences=True)
    name = keras.backend.backend()
    if name == "tensorflow":
        return _tensorflow(layer, x, train)
    if name == "torch":
        return _torch(layer, x, train)
    raise ValueError(f"Keras backend {name!r} is not supported here (only {SUPPORTED})")


def _tensorflow(layer: object, x: np.ndarray, train: bool) -> Callable[[], None]:
    import tensorflow as tf

    inputs = tf.constant(x)
    layer.build(inputs.shape)  # type: ignore[attr-defined]

    @tf.function
    def train_step() -> object:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(inputs, training=True))  # type: ignore[operator]
        return tape.gradient(loss, layer.trainable_weights)  # type: ignore[attr-defined]

    @tf.function
    def infer_step() -> object:
        return layer(inputs, training=False)  # type: ignore[operator]

    def call() -> None:
        result = train_step() if train else infer_step()
        first = result[0] if isinstance(result, (list, tuple)) else result
        first.numpy()  # wait for the result (a small copy next to the call)

    return call


def _torch(layer: object, x: np.ndarray, train: bool) -> Callable[[], None]:
    import torch

    inputs = torch.from_numpy(x)

    def call() -> None:
        if train:
            layer(inputs, training=True).sum().backward()  # type: ignore[operator]
            for weight in layer.trainable_weights:  # type: ignore[attr-defined]
                weight.value.grad = None
        else:
            with torch.no_grad():
                layer(inputs, training=False)  # type: ignore[operator]

    return call
