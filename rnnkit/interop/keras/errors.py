"""The error every refusal of the Keras importer raises."""

from __future__ import annotations


class KerasImportError(ValueError):
    """A Keras file, layer or option rnnkit does not import; the message names the file or the
    layer, its class and the option."""


def refuse(layer: str, class_name: str, what: str) -> KerasImportError:
    """``Keras layer 'lstm' (LSTM): stateful=True is not supported ...`` as an error."""
    return KerasImportError(f"Keras layer {layer!r} ({class_name}): {what}")
