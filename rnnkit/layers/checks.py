"""Input validation shared by every layer: errors name the layer, what it expected and what came."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rnnkit.ops.tracing import tracing


def shape_str(shape: Sequence[int | str]) -> str:
    """``(4, 7, 31)`` style text for a shape."""
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_input(owner: str, x: Tensor, input_size: int, batch_first: bool) -> Tensor:
    """Validate a sequence batch and return it batch-first.

    Shape:
        x: (N, L, H_in) if batch_first else (L, N, H_in) -> (N, L, H_in).
    """
    layout = ("N", "L", input_size) if batch_first else ("L", "N", input_size)
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner}: expected a tensor input, got {type(x).__name__}")
    if x.dim() != 3 or x.shape[-1] != input_size:
        unbatched = f" or one unbatched sequence (L, {input_size})" if x.dim() == 2 else ""
        raise ValueError(
            f"{owner}: expected input of shape {shape_str(layout)}{unbatched}, "
            f"got {shape_str(tuple(x.shape))}"
        )
    if x.shape[1 if batch_first else 0] == 0:
        raise ValueError(f"{owner}: input has no time steps: {shape_str(tuple(x.shape))}")
    return x if batch_first else x.transpose(0, 1)


def check_lengths(
    owner: str,
    lengths: Tensor | Sequence[int] | None,
    mask: Tensor | None,
    batch_size: int,
    steps: int,
    device: torch.device,
) -> Tensor | None:
    """Validate ``lengths`` (N,) or a left-aligned ``mask`` (N, L); return int64 lengths on
    ``device``, or None when every sequence fills all L steps (nothing to mask)."""
    if mask is not None:
        if lengths is not None:
            raise ValueError(f"{owner}: pass lengths or mask, not both")
        lengths = _mask_to_lengths(owner, mask, batch_size, steps)
    if lengths is None:
        return None
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1 or lengths.shape[0] != batch_size:
        raise ValueError(
            f"{owner}: expected lengths of shape ({batch_size},), "
            f"got {shape_str(tuple(lengths.shape))}"
        )
    if lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise TypeError(f"{owner}: lengths must be integers, got {lengths.dtype}")
    if tracing(lengths) is not None:  # their values are unknown while traced: not checked
        return lengths.to(device=device, dtype=torch.long)
    lo, hi = int(lengths.min()), int(lengths.max())
    if lo < 1 or hi > steps:
        bad = int(((lengths < 1) | (lengths > steps)).nonzero()[0, 0])
        raise ValueError(
            f"{owner}: lengths must be in [1, {steps}] (the input has L={steps} steps), "
            f"got lengths[{bad}] = {int(lengths[bad])}"
        )
    if lo == steps:
        return None
    return lengths.to(device=device, dtype=torch.long)


def _mask_to_lengths(owner: str, mask: Tensor, batch_size: int, steps: int) -> Tensor:
    if mask.shape != (batch_size, steps):
        raise ValueError(
            f"{owner}: expected mask of shape ({batch_size}, {steps}), "
            f"got {shape_str(tuple(mask.shape))}"
        )
    mask = mask.bool()
    lengths = mask.sum(dim=1)
    prefix = torch.arange(steps, device=mask.device)[None, :] < lengths[:, None]
    if tracing(mask) is None and not torch.equal(prefix, mask):  # unknown while traced
        raise ValueError(
            f"{owner}: mask must mark a prefix of each sequence (padding at the end only)"
        )
    return lengths
