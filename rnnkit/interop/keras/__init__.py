"""Keras models in rnnkit: ``from_keras(path)`` reads ``.keras``, ``.weights.h5`` and legacy
``.h5`` files with ``h5py`` (the ``keras-import`` extra), never importing Keras or TensorFlow."""

from rnnkit.interop.keras.errors import KerasImportError
from rnnkit.interop.keras.model import KerasModel, from_keras

__all__ = ["KerasImportError", "KerasModel", "from_keras"]
