"""Small sequence utilities the backends share: reversing padded batches and masked updates."""

from __future__ import annotations

import torch
from torch import Tensor

StateLike = Tensor | tuple[Tensor, ...]


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence within its own length; padding stays where it is.

    Shape:
        x (N, L, F), lengths (N,) or None -> (N, L, F).
    """
    if lengths is None:
        return x.flip(1)
    steps = x.shape[1]
    t = torch.arange(steps, device=x.device)[None, :]  # (1, L)
    rev = lengths[:, None] - 1 - t  # (N, L)
    idx = torch.where(rev >= 0, rev, t)
    return x.gather(1, idx.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def where_state(keep_new: Tensor, new: StateLike, old: StateLike) -> StateLike:
    """Per sequence, take the new state where ``keep_new`` (N, 1) is true, else the old one."""
    if isinstance(new, tuple):
        return tuple(torch.where(keep_new, n, o) for n, o in zip(new, old))
    return torch.where(keep_new, new, old)


def step_mask(lengths: Tensor | None, steps: int, device: torch.device) -> Tensor | None:
    """Which steps are real: lengths (N,) -> (N, L) bool, true for t < length; None -> None."""
    if lengths is None:
        return None
    return torch.arange(steps, device=device)[None, :] < lengths.to(device)[:, None]


def outputs_and_last(h: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """From all states h (N, L, H) of a sequence function whose padded steps keep the state:
    the outputs, zero at padded steps, and each sequence's state after its last token (N, H)
    (the last step's, since padded steps changed nothing)."""
    last = h[:, -1]
    if mask is not None:
        h = h * mask[..., None].to(h.dtype)
    return h, last
