"""``from_keras``: a Keras file -> a ``torch.nn.Module`` made of rnnkit layers.

The module runs the Keras model's graph node by node; each node is an rnnkit layer (recurrent
layers) or a small PyTorch module, and carries Keras' mask along with its tensor.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from rnnkit.interop.keras.basic import build_basic
from rnnkit.interop.keras.errors import KerasImportError
from rnnkit.interop.keras.files import read_keras_file
from rnnkit.interop.keras.graph import Graph, Node, Ref, parse_model
from rnnkit.interop.keras.options import LayerContext, keras_major
from rnnkit.interop.keras.rnn_config import build_recurrent

RECURRENT = ("SimpleRNN", "LSTM", "GRU", "Bidirectional")


class KerasModel(nn.Module):
    """A Keras model rebuilt from rnnkit layers; ``model(x)`` returns what Keras' ``predict``
    returns (one tensor, or a tuple for several outputs).

    Attributes:
        layers: the modules by Keras layer name (``model.layers["lstm"].layer`` is the
            ``rnnkit.LSTM`` of a Keras LSTM).
        keras_version: the Keras version that wrote the file.

    Shape:
        x (N, L) token ids for a model starting with an Embedding, else (N, L, H_in).
    """

    def __init__(self, graph: Graph, modules: dict[str, nn.Module], keras_version: str) -> None:
        super().__init__()
        self.graph = graph
        self.keys = {name: _key(name) for name in modules}
        self.layers = nn.ModuleDict({self.keys[n]: m for n, m in modules.items()})
        self.keras_version = keras_version

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, ...]:
        values: dict[str, tuple[list[Tensor], Tensor | None]] = {}
        for node in self.graph.nodes:
            module = self.layers[self.keys[node.name]]
            if node.input is None:
                values[node.name] = module(x)
                continue
            tensor, mask = _lookup(values, node.input)
            if node.mask is not None:
                mask = _lookup(values, node.mask)[0]
            values[node.name] = module(tensor, mask)
        outs = tuple(_lookup(values, ref)[0] for ref in self.graph.outputs)
        return outs[0] if len(outs) == 1 else outs


def _lookup(values: dict[str, Any], ref: Ref) -> tuple[Tensor, Tensor | None]:
    name, _, index = ref
    outputs, mask = values[name]
    # states (return_state) carry no mask; only a layer's first output does
    return outputs[index], (mask if index == 0 else None)


def _key(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


def from_keras(
    path: str | Path, config: str | Path | None = None, keras_version: str | None = None
) -> KerasModel:
    """Load a Keras model file as rnnkit layers, without TensorFlow or Keras.

    Args:
        path: a Keras 3 archive (``.keras``), a weights file (``.weights.h5``, with ``config``)
            or a legacy HDF5 model (``.h5``, Keras 2 / ``tf.keras`` or Keras 3's legacy writer).
        config: for a ``.weights.h5``: the model's JSON (``model.to_json()``); default: the
            ``.json`` of the same name beside it.
        keras_version: override the Keras version read from the file (it decides what
            ``hard_sigmoid`` means).

    Returns:
        a ``KerasModel`` in eval mode.

    Raises:
        KerasImportError: a layer or an option that is not supported (the message names the
            layer, its class and the option), or a file that is not a Keras model.

    Example:
        >>> model = rnnkit.from_keras("sentiment.keras")
        >>> probabilities = model(torch.tensor([[12, 7, 431, 0, 0]]))
    """
    kfile = read_keras_file(path, config, keras_version)
    graph = parse_model(kfile.config, str(kfile.path))
    major = keras_major(kfile.keras_version)
    modules: dict[str, nn.Module] = {}
    widths: dict[str, int] = {}
    try:
        for node in graph.nodes:
            if node.name in modules:
                raise KerasImportError(f"{kfile.path}: two layers are named {node.name!r}")
            ctx = LayerContext(node.name, node.class_name, node.config, major)
            weights = kfile.weights.layer_weights(node.name, node.class_name, node.ordinal)
            modules[node.name], widths[node.name] = _build(ctx, node, weights, widths)
    finally:
        kfile.weights.close()
    _check_refs(graph, modules, str(kfile.path))
    return KerasModel(graph, modules, kfile.keras_version).eval()


def _build(
    ctx: LayerContext, node: Node, weights: list, widths: dict[str, int]
) -> tuple[nn.Module, int]:
    width = widths.get(node.input[0], 0) if node.input is not None else 0
    if node.class_name in RECURRENT:
        if width <= 0:
            raise ctx.refuse("its input width is unknown (it must follow an Embedding, a layer "
                             "with units, or an Input with a known feature size)")  # fmt: skip
        return build_recurrent(ctx, weights, width)
    module = build_basic(ctx, weights, node.constant)
    if node.class_name == "InputLayer":
        shape = ctx.get("batch_shape") or ctx.get("batch_input_shape") or [None]
        return module, int(shape[-1]) if len(shape) == 3 and shape[-1] else 0
    if node.class_name == "Embedding":
        return module, module.embed.embedding_dim
    if node.class_name in ("Dense", "TimeDistributed"):
        return module, module.linear.out_features
    return module, width


def _check_refs(graph: Graph, modules: dict[str, nn.Module], source: str) -> None:
    for node in graph.nodes:
        for ref in (node.input, node.mask):
            if ref is not None and ref[0] not in modules:
                raise KerasImportError(f"{source}: layer {node.name!r} reads unknown {ref[0]!r}")
    if graph.input_name not in modules:
        raise KerasImportError(f"{source}: the input layer {graph.input_name!r} is missing")
