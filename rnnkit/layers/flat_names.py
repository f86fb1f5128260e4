"""Parameters of a stack registered under PyTorch's flat names, shared with the cells.

``torch.nn.LSTM`` names its parameters ``weight_ih_l0``, ``bias_hh_l1_reverse``...; code matches
on those names (weight-decay groups, freezing by name, ``torch.func.functional_call``, comparing
with ``torch.nn``). rnnkit's stacks hold cells, each with ``weight_ih``, ``weight_hh``... So the
stack registers every cell's parameters as its own under the flat name, and the cell's parameter
table becomes a view (``ParameterView``) that reads and writes the stack's table through a map of
names. There is one set of parameters: ``stack.named_parameters()`` and ``state_dict()`` yield
the flat names, and the cell still reads ``self.weight_ih`` (the tensor the stack holds now, also
while ``functional_call`` swaps in another). The view answers lookups but lists nothing, so the
module tree walks (``parameters()``, ``state_dict()``, ``.to()``, ``functional_call``'s tied-name
search) see each parameter once, under its flat name; a cell inside a stack is therefore moved,
saved and listed through its stack.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from torch import nn


class ParameterView(MutableMapping):
    """A cell's ``_parameters``: local name -> the owner's entry under the flat name."""

    def __init__(self, owner: dict[str, Any], names: dict[str, str]) -> None:
        self.owner, self.names = owner, names

    def __getitem__(self, name: str) -> Any:
        return self.owner[self.names[name]]

    def __setitem__(self, name: str, value: Any) -> None:
        flat = self.names.get(name)
        if flat is None:
            raise KeyError(f"{name!r}: a cell of a stack cannot take new parameters")
        self.owner[flat] = value

    def __delitem__(self, name: str) -> None:
        del self.owner[self.names[name]]

    def __contains__(self, name: object) -> bool:
        return name in self.names and self.names[name] in self.owner  # type: ignore[index]

    def __iter__(self) -> Iterator[str]:
        return iter(())  # listed by the owner (see the module docstring)

    def __len__(self) -> int:
        return 0

    def local_names(self) -> list[str]:
        """The cell's own names for the parameters it reads."""
        return [n for n in self.names if self.names[n] in self.owner]


def share_flat(owner: nn.Module, cells: list[nn.Module], suffixes: list[str]) -> dict[str, str]:
    """Register each cell's parameters on ``owner`` as ``name + suffix`` (in PyTorch's order) and
    make the cell read them from there; returns {cell path: flat name}.

    Example:
        >>> share_flat(lstm, lstm.cells, ["_l0", "_l0_reverse"])
    """
    paths = {id(m): p for p, m in owner.named_modules()}
    flat_of: dict[str, str] = {}
    for cell, suffix in zip(cells, suffixes):
        names = {}
        for local, param in list(cell._parameters.items()):
            flat = local + suffix
            owner.register_parameter(flat, param)
            names[local] = flat
            flat_of[f"{paths[id(cell)]}.{local}"] = flat
        object.__setattr__(cell, "_parameters", ParameterView(owner._parameters, names))
    return flat_of
