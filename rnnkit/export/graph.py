"""A small builder for ONNX graphs written node by node (``onnx.helper``), with unique names.

``rnnkit export`` writes the graphs of rnnkit's trained models directly from their weights, so
each graph has exactly the inputs, outputs and state layout that rnnkit's runtime feeds (a
language model's step graph, a translator's encoder and decoder step, a tagger's emissions).
For other modules holding rnnkit layers, ``rnnkit.export.torch_exporter`` lets PyTorch's own
exporter map the same layers onto the same ONNX operators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: the opset every exported graph uses (onnxruntime 1.17+ runs it)
OPSET = 17


class Graph:
    """Collects nodes, weights (initializers), inputs and outputs of one ONNX graph.

    Example:
        >>> g = Graph("lm")
        >>> x = g.input("input_ids", TensorProto.INT64, ["N", "L"])
        >>> y = g.op("Transpose", [x], perm=[1, 0])
        >>> g.output(y, "ids_t", TensorProto.INT64, ["L", "N"])
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def fresh(self, hint: str) -> str:
        """A name not used before in this graph."""
        self._count += 1
        return f"{hint}_{self._count}"

    def input(self, name: str, dtype: int, shape: list[Any]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def output(self, value: str, name: str, dtype: int, shape: list[Any]) -> str:
        """Expose ``value`` under ``name`` (an Identity node renames it)."""
        self.nodes.append(helper.make_node("Identity", [value], [name]))
        self.outputs.append(helper.make_tensor_value_info(name, dtype, shape))
        return name

    def weight(self, hint: str, array: np.ndarray) -> str:
        """A constant tensor (float32 for floating arrays)."""
        if np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        name = self.fresh(hint)
        if array.ndim:  # (np.ascontiguousarray would turn a scalar into a 1-element array)
            array = np.ascontiguousarray(array)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def const(self, values: list[int] | list[float], dtype: type = np.int64) -> str:
        return self.weight("const", np.asarray(values, dtype=dtype))

    def op(self, kind: str, inputs: list[str], outputs: int = 1, **attrs: Any) -> Any:
        """Add a node; returns its output name (or a list when ``outputs`` > 1)."""
        names = [self.fresh(kind.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(kind, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def model(self) -> onnx.ModelProto:
        """The checked ONNX model."""
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, self.initializers
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rnnkit"
        )
        model.ir_version = 8  # onnxruntime 1.17+ reads IR 8
        onnx.checker.check_model(model)
        return model


FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
