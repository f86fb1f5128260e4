"""Nested Python state (optimizer, scheduler, RNG) to JSON + safetensors, without pickle.

A tree of dicts, lists, tuples, numbers, strings, None and tensors becomes a JSON tree where
each tensor is replaced by ``{"__tensor__": key}``, plus a flat ``{key: tensor}`` dict for
``safetensors``. Loading never executes code from the files.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

_TENSOR, _TUPLE, _INTKEYS = "__tensor__", "__tuple__", "__intkeys__"


def flatten(tree: Any, prefix: str = "t") -> tuple[Any, dict[str, Tensor]]:
    """Split a tree into a JSON-serialisable skeleton and its tensors."""
    tensors: dict[str, Tensor] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, Tensor):
            tensors[path] = node.detach().cpu().contiguous()
            return {_TENSOR: path}
        if isinstance(node, dict):
            int_keys = bool(node) and all(isinstance(k, int) for k in node)
            items = {str(k): walk(v, f"{path}.{k}") for k, v in node.items()}
            return {_INTKEYS: items} if int_keys else items
        if isinstance(node, tuple):
            return {_TUPLE: [walk(v, f"{path}.{i}") for i, v in enumerate(node)]}
        if isinstance(node, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise TypeError(f"cannot serialise {type(node).__name__} at {path}")

    return walk(tree, prefix), tensors


def unflatten(skeleton: Any, tensors: dict[str, Tensor]) -> Any:
    """Inverse of ``flatten``."""
    if isinstance(skeleton, dict):
        if set(skeleton) == {_TENSOR}:
            return tensors[skeleton[_TENSOR]]
        if set(skeleton) == {_TUPLE}:
            return tuple(unflatten(v, tensors) for v in skeleton[_TUPLE])
        if set(skeleton) == {_INTKEYS}:
            return {int(k): unflatten(v, tensors) for k, v in skeleton[_INTKEYS].items()}
        return {k: unflatten(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    return skeleton
