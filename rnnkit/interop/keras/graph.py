"""A Keras model config as a list of nodes: Sequential models and simple functional graphs.

A node is one layer called once; its inputs are references ``(layer, node, tensor)`` to earlier
outputs. Keras 3 and Keras 2 spell functional configs differently (``inbound_nodes`` as
``{"args", "kwargs"}`` or as nested lists); both come out the same here. A layer called more
than once (shared), a layer with several inputs and a model with several inputs are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnkit.interop.keras.errors import KerasImportError, refuse

Ref = tuple[str, int, int]


@dataclass
class Node:
    """One layer call: its config, the tensor it reads and, in Keras 3 files, the mask it gets.

    ``constant`` holds a literal second argument (Keras 3 records ``mask_zero``'s mask as a
    ``NotEqual(tokens, 0)`` operation node).
    """

    name: str
    class_name: str
    config: dict[str, Any]
    input: Ref | None
    mask: Ref | None = None
    constant: Any = None
    ordinal: int = 0
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """Nodes in execution order, the model's input node and its output references."""

    nodes: list[Node]
    input_name: str
    outputs: list[Ref]


def parse_model(config: dict[str, Any], source: str) -> Graph:
    """Nodes of a ``Sequential`` or ``Functional``/``Model`` config."""
    kind = config.get("class_name")
    body = config.get("config", {})
    if kind == "Sequential":
        graph = _sequential(body)
    elif kind in ("Functional", "Model"):
        graph = _functional(body, source)
    else:
        raise KerasImportError(
            f"{source}: model class {kind!r} is not imported (Sequential and functional "
            "models are; a subclassed model has no config to rebuild it from)"
        )
    _number(graph.nodes)
    return graph


def _sequential(body: dict[str, Any]) -> Graph:
    layers = body.get("layers", [])
    nodes: list[Node] = []
    previous = "__input__"
    if layers and layers[0].get("class_name") == "InputLayer":
        previous = layers[0]["config"].get("name") or "input"
        nodes.append(Node(previous, "InputLayer", layers[0]["config"], None))
        layers = layers[1:]
    elif layers:  # older Keras 2 files give the first layer the input shape instead
        shape = layers[0].get("config", {}).get("batch_input_shape")
        nodes.append(Node(previous, "InputLayer", {"batch_input_shape": shape}, None))
    else:
        nodes.append(Node(previous, "InputLayer", {}, None))
    input_name = nodes[0].name
    for spec in layers:
        cfg = spec.get("config", {})
        name = cfg.get("name") or f"{spec['class_name']}_{len(nodes)}"
        nodes.append(Node(name, spec["class_name"], cfg, (previous, 0, 0)))
        previous = name
    return Graph(nodes, input_name, [(previous, 0, 0)])


def _functional(body: dict[str, Any], source: str) -> Graph:
    nodes = []
    for spec in body.get("layers", []):
        name, cls = spec.get("name") or spec["config"]["name"], spec["class_name"]
        inbound = spec.get("inbound_nodes", [])
        if len(inbound) > 1:
            raise refuse(name, cls, f"called {len(inbound)} times (shared layers not supported)")
        node = Node(name, cls, spec.get("config", {}), None)
        if inbound:
            _read_inbound(node, inbound[0])
        nodes.append(node)
    inputs = _refs(body.get("input_layers", []))
    if len(inputs) != 1:
        raise KerasImportError(f"{source}: the model has {len(inputs)} inputs; one is supported")
    return Graph(nodes, inputs[0][0], _refs(body.get("output_layers", [])))


def _read_inbound(node: Node, inbound: Any) -> None:
    if isinstance(inbound, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        args, kwargs = list(inbound.get("args", [])), dict(inbound.get("kwargs", {}))
        tensors = [_tensor_ref(a) for a in args]
        refs = [t for t in tensors if t is not None]
        consts = [a for a, t in zip(args, tensors) if t is None]
        if len(refs) != 1 or (consts and node.class_name != "NotEqual"):
            raise refuse(node.name, node.class_name, "takes several inputs (not supported)")
        node.input = refs[0]
        node.constant = consts[0] if consts else None
        mask = kwargs.pop("mask", None)
        node.mask = _tensor_ref(mask) if mask is not None else None
        kwargs.pop("training", None)
    else:  # Keras 2: [[name, node, tensor, kwargs], ...]
        if len(inbound) != 1:
            raise refuse(node.name, node.class_name, "takes several inputs (not supported)")
        name, index, tensor, *rest = inbound[0]
        node.input = (name, int(index), int(tensor))
        kwargs = dict(rest[0]) if rest else {}
        kwargs.pop("training", None)
        kwargs.pop("mask", None)  # Keras 2 passes masks along with the tensors
    if kwargs:
        raise refuse(node.name, node.class_name, f"called with {sorted(kwargs)} (not supported)")


def _tensor_ref(value: Any) -> Ref | None:
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        name, index, tensor = value["config"]["keras_history"]
        return (name, int(index), int(tensor))
    if isinstance(value, list) and len(value) == 1:
        return _tensor_ref(value[0])
    return None


def _refs(value: Any) -> list[Ref]:
    if value and isinstance(value[0], str):  # Keras 3 writes a single reference flat
        value = [value]
    return [(str(v[0]), int(v[1]), int(v[2])) for v in value]


def _number(nodes: list[Node]) -> None:
    from rnnkit.interop.keras.files import snake_case

    seen: dict[str, int] = {}
    for node in nodes:
        key = snake_case(node.class_name)
        node.ordinal = seen.get(key, -1) + 1
        seen[key] = node.ordinal
