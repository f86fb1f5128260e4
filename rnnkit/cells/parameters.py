"""A cell's parameters by its own names, whether it stands alone or sits in a stack."""

from __future__ import annotations

from torch import nn


def cell_parameters(cell: nn.Module) -> dict[str, nn.Parameter]:
    """``{local name: parameter}`` of ``cell`` (``weight_ih``, ``bias_hh``...).

    A stack registers its cells' parameters under PyTorch's flat names and gives each cell a
    view of that table that answers lookups but lists nothing (``rnnkit.layers.flat_names``), so
    ``cell.state_dict()`` and ``cell.named_parameters()`` are empty for a cell inside a stack.
    This reads them through the view's ``local_names()`` instead.

    Example:
        >>> sorted(cell_parameters(rnnkit.LSTM(4, 8).cells[0]))
        ['bias_hh', 'bias_ih', 'weight_hh', 'weight_ih']
    """
    table = cell._parameters
    local_names = getattr(table, "local_names", None)
    names = local_names() if local_names is not None else list(table)
    found = {name: table[name] for name in names}
    return {name: p for name, p in found.items() if p is not None}
