"""What a cache of a cell's derived weights (packed products, joined matrices) is keyed by."""

from __future__ import annotations

from torch import nn

PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def parameter_versions(cell: nn.Module) -> tuple:
    """Each of the cell's four affine parameters' storage pointer and version counter (in-place
    updates such as an optimizer step bump it), and the dtype: a cache keyed by this is rebuilt
    whenever a weight changes.

    Example:
        >>> key = parameter_versions(cell)   # (torch.float32, ((ptr, version), ...))
    """
    registered = cell._parameters  # faster than four trips through Module.__getattr__
    params = [registered[n] if n in registered else getattr(cell, n) for n in PARAMETERS]
    versions = tuple((p.data_ptr(), p._version) if p is not None else None for p in params)
    return params[0].dtype, versions  # type: ignore[union-attr]  # weight_ih is never None
