"""Blocks of time steps for the native training paths (``gru_step``, ``lstm_step``).

A training call that allocates whole-sequence tensors (the input projection, the gates kept for
the backward, their gradients) allocates and frees hundreds of megabytes per call, blocks that
glibc maps afresh from the kernel every time and that are page-faulted in again every call. The
native paths work instead in blocks of steps of about ``BLOCK_BYTES`` of input projection each:
a block's projection is computed just before its steps, its saved gates are one set of tensors
per block, and its gradient goes into one reused buffer that is turned into the weight (and
input) gradients before the next block. Blocks stay under glibc's 32 MiB ceiling for memory it
serves from its heap, so a training loop reuses them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

#: takes the gradient of a block's gates for steps t0 .. t1 - 1, (t1 - t0, N, G*H), a buffer
#: that is reused for the next block: ``sink(t0, t1, gradient)``
BlockSink = Callable[[int, int, Tensor], None]
BLOCK_BYTES = 12 << 20  #: about how many bytes of the input projection one block of steps spans


def block_steps(steps: int, rows: int, width: int, itemsize: int) -> int:
    """Steps per block: about ``BLOCK_BYTES`` of ``rows`` rows of ``width`` values each step."""
    return max(1, min(steps, BLOCK_BYTES // max(1, rows * width * itemsize)))


def spans(steps: int, size: int) -> list[tuple[int, int]]:
    """[(t0, t1), ...]: steps 0 .. steps - 1 in blocks of ``size``."""
    return [(t0, min(steps, t0 + size)) for t0 in range(0, steps, size)]


class InputGradients:
    """A ``BlockSink`` that turns each block's gate gradient dG (k, N, G*H) into the gradients of
    the input projection G = x W^T + b: x's (dG W, written into a time-major (L, N, I) tensor),
    W's (summed as x^T dG, the layout MKL runs faster here, and transposed once at the end) and
    b's (dG summed over rows), each only when ``need`` says so (x, W, b). x (N, L, I)."""

    def __init__(self, x: Tensor, weight: Tensor, need: tuple[bool, bool, bool]) -> None:
        self.x_tm, self.weight = x.transpose(0, 1), weight
        self.dx = x.new_empty(self.x_tm.shape) if need[0] else None
        self.dwt = weight.new_zeros(weight.shape[1], weight.shape[0]) if need[1] else None
        self.db = weight.new_zeros(weight.shape[0]) if need[2] else None

    def __call__(self, t0: int, t1: int, grad: Tensor) -> None:
        flat = grad.reshape(-1, grad.shape[-1])
        if self.dwt is not None:
            self.dwt.addmm_(self.x_tm[t0:t1].reshape(flat.shape[0], -1).t(), flat)
        if self.db is not None:
            self.db.add_(flat.sum(0))
        if self.dx is not None:
            torch.mm(flat, self.weight, out=self.dx[t0:t1].view(flat.shape[0], -1))

    def results(self) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        """(dx (N, L, I), a batch-first view; dW (G*H, I); db (G*H,)), None where not needed."""
        dx = None if self.dx is None else self.dx.transpose(0, 1)
        dw = None if self.dwt is None else self.dwt.t().contiguous()
        return dx, dw, self.db


def previous_step(t: int, t0: int, first: Tensor, before: Tensor | None, block: Tensor) -> int:
    """The address of step t - 1's rows of a quantity kept per block (``block`` (k, N, H), steps
    t0 .. t0 + k - 1; ``before``, the previous block, None for the first): ``first`` (N, H) for
    t = 0, the previous block's last step at the start of a block."""
    if t == 0:
        return first.data_ptr()
    if t == t0:
        assert before is not None
        return before[-1].data_ptr()
    return block[t - t0 - 1].data_ptr()
