"""Layer states: a tensor (K, N, S) or a tuple of them, K = cells in the layer.

PyTorch's layout: K runs over layers then directions (``l0``, ``l0_reverse``, ``l1`` ...). A cell's
own state drops the K axis: (N, S) or a tuple of (N, S_k). Stacks whose cells differ in state
width cannot stack along K and use a list with one layer state per sub-layer instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from rnnkit.cells.base import State

LayerState = Tensor | tuple[Tensor, ...] | list


def as_tuple(state: State) -> tuple[Tensor, ...]:
    return state if isinstance(state, tuple) else (state,)


def from_tuple(parts: Sequence[Tensor]) -> State:
    return parts[0] if len(parts) == 1 else tuple(parts)


def map_state(fn: Callable[[Tensor], Tensor], state: LayerState) -> LayerState:
    """Apply ``fn`` to every tensor of a (possibly nested) state."""
    if isinstance(state, list):
        return [map_state(fn, s) for s in state]
    return from_tuple([fn(t) for t in as_tuple(state)])  # a tensor or a tuple here


def select(state: State, k: int) -> State:
    """Cell state k of a stacked layer state: (K, N, S) -> (N, S)."""
    return from_tuple([t[k] for t in as_tuple(state)])


def stack_cells(states: Sequence[State]) -> State:
    """Cell states -> layer state: K x (N, S) -> (K, N, S)."""
    parts = zip(*(as_tuple(s) for s in states))
    return from_tuple([torch.stack(p) for p in parts])


def split(state: LayerState, counts: Sequence[int]) -> list[LayerState]:
    """Split a layer state among sub-layers holding ``counts`` cells each."""
    if isinstance(state, list):
        return list(state)
    out: list[LayerState] = []
    start = 0
    for k in counts:
        out.append(from_tuple([t[start : start + k] for t in as_tuple(state)]))
        start += k
    return out


def join(states: Sequence[LayerState]) -> LayerState:
    """Concatenate sub-layer states along K, or keep a list when their widths differ."""
    if any(isinstance(s, list) for s in states):
        return list(states)
    tuples = [as_tuple(s) for s in states]  # type: ignore[arg-type]  # no lists past the check
    same = all(
        len(t) == len(tuples[0]) and all(a.shape[1:] == b.shape[1:] for a, b in zip(t, tuples[0]))
        for t in tuples
    )
    if not same:
        return list(states)
    return from_tuple([torch.cat(p) for p in zip(*tuples)])


def describe(state: LayerState) -> str:
    """Shapes of a state for error messages."""
    if isinstance(state, list):
        return "[" + ", ".join(describe(s) for s in state) + "]"
    if isinstance(state, Tensor):
        return str(tuple(state.shape))
    return "(" + ", ".join(str(tuple(t.shape)) for t in state) + ")"
