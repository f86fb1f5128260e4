"""Batch-1 LSTM steps and matrix-vector products with int8 weights (``int8_step.c``).

Weights come as int8 matrices Q with one float scale per row (W ~ s Q). The portable path widens
each weight to float in registers, so results equal the float computation with weights s Q up to
the order of the sums, while a step streams a quarter of float32's bytes. Where the CPU has
AVX-512 VNNI, the step also quantizes its activations per vector (as onnxruntime's dynamic
quantization does) and multiplies int8 by int8 (``int8_step.c``); ``RNNKIT_INT8_VNNI=0`` keeps
the portable path. ``Int8LSTMStack`` packs a
stack's levels once into the kernel's panel layout (see the C file) and runs one step for one
row, with the output layer after it when one is given (one native call per token), on PyTorch's
threads: each level's panels are split over them (``Int8LSTMStack.threads``). ``int8_gemv`` is
an int8 matrix-vector product on its own. When the kernel cannot be built, ``available()`` is
False and callers keep their float path.

Shapes: a level's Q_ih (4H, I), Q_hh (4H, H) int8, s_ih, s_hh, b (4H,) float32 (b = b_ih + b_hh);
x (I,), h and c (H,) per level.
"""

from __future__ import annotations

import ctypes
import os

import torch
from torch import Tensor

from rnnkit.kernels import prototypes
from rnnkit.kernels.build import Kernel

UNITS = 16  #: hidden units per panel, as in int8_step.c
VNNI_ENV = "RNNKIT_INT8_VNNI"  #: set to 0 to keep activations float (the portable path)
_KERNEL = Kernel("int8_step", prototypes.signatures("int8_step.c"))


def available() -> bool:
    """Whether the native kernel builds and loads on this machine."""
    return _KERNEL.library() is not None


def has_vnni() -> bool:
    """Whether the kernel was built with its AVX-512 VNNI path (the CPU has the instructions)
    and ``RNNKIT_INT8_VNNI=0`` does not turn it off."""
    lib = _KERNEL.library()
    if lib is None or os.environ.get(VNNI_ENV, "1").lower() in {"0", "false", "no", "off"}:
        return False
    lib.int8_step_has_vnni.restype = ctypes.c_int  # no arguments: bound here, not parsed
    return bool(lib.int8_step_has_vnni())


def _ptr(t: Tensor) -> int:
    return t.data_ptr()


def _pointers(tensors: list[Tensor]) -> ctypes.Array:
    return (ctypes.c_void_p * len(tensors))(*[_ptr(t) for t in tensors])


def pack_level(
    q_ih: Tensor, s_ih: Tensor, q_hh: Tensor, s_hh: Tensor, bias: Tensor
) -> tuple[Tensor, Tensor]:
    """One level's panels (int8, flat) and per-panel scales and biases (float32, flat)."""
    hs = q_hh.shape[1]
    panels, scales = [], []
    for start in range(0, hs, UNITS):
        units = torch.arange(start, min(start + UNITS, hs))
        rows = torch.cat([g * hs + units for g in range(4)])  # gate-major columns
        panels.append(torch.cat([q_ih[rows].t(), q_hh[rows].t()], dim=0).contiguous().view(-1))
        scales.append(torch.cat([s_ih[rows], s_hh[rows], bias[rows]]).float())
    return torch.cat(panels).contiguous(), torch.cat(scales).contiguous()


def _vnni_part(q: Tensor, rows: Tensor, valid: Tensor) -> Tensor:
    """One panel's rows of Q (4 UNITS columns, padded ones zero) as groups of 4 input rows:
    (k4 / 4, 4 UNITS, 4) flattened."""
    part = q[rows] * valid[:, None].to(q.dtype)  # (4 UNITS, k)
    k = part.shape[1]
    part = torch.cat([part, part.new_zeros(part.shape[0], -k % 4)], dim=1)
    return part.view(part.shape[0], -1, 4).transpose(0, 1).contiguous().view(-1)


def pack_level_vnni(
    q_ih: Tensor, s_ih: Tensor, q_hh: Tensor, s_hh: Tensor, bias: Tensor
) -> tuple[Tensor, Tensor]:
    """One level in the VNNI layout (int8_step.c): panels of UNITS units padded, each with
    s_ih, s_hh, b and the row sums of Q_ih and Q_hh."""
    hs = q_hh.shape[1]
    panels, floats = [], []
    for start in range(0, hs, UNITS):
        units = torch.arange(start, start + UNITS)
        valid = (units < hs).repeat(4)
        rows = torch.cat([g * hs + units.clamp(max=hs - 1) for g in range(4)])
        panels += [_vnni_part(q_ih, rows, valid), _vnni_part(q_hh, rows, valid)]
        keep = valid.float()
        sums = [q[rows].sum(dim=1).float() * keep for q in (q_ih, q_hh)]
        floats.append(torch.cat([s_ih[rows] * keep, s_hh[rows] * keep, bias[rows] * keep, *sums]))
    return torch.cat(panels).contiguous(), torch.cat(floats).float().contiguous()


class Int8LSTMStack:
    """A plain LSTM stack's levels packed for the int8 step, and optionally the int8 output
    layer that reads the top level's h.

    Args:
        levels: per level ``(q_ih, s_ih, q_hh, s_hh, bias)`` as in the module docstring.
        vnni: the AVX-512 VNNI path (default: where the CPU has it, ``has_vnni()``).
        decoder: ``(q, scale, bias)`` of the output layer, Q (V, H_top) int8, scale and bias
            (V,) float32 (bias may be None): ``step_addresses`` then also writes the logits.

    Example:
        >>> stack = Int8LSTMStack([quantized level tuples])  # doctest: +SKIP
        >>> h, c = stack.step(x, h, c)  # lists of (H,) per level
    """

    def __init__(
        self,
        levels: list[tuple[Tensor, Tensor, Tensor, Tensor, Tensor]],
        vnni: bool | None = None,
        decoder: tuple[Tensor, Tensor, Tensor | None] | None = None,
    ) -> None:
        self.sizes = torch.tensor([[lv[0].shape[1], lv[2].shape[1]] for lv in levels],
                                  dtype=torch.long).view(-1)  # fmt: skip
        self.vnni = has_vnni() if vnni is None else vnni and has_vnni()
        packed = [(pack_level_vnni if self.vnni else pack_level)(*lv) for lv in levels]
        self.weights = [p[0] for p in packed]
        self.scales = [p[1] for p in packed]
        self._w, self._s = _pointers(self.weights), _pointers(self.scales)
        self._states = ctypes.c_void_p * (4 * len(levels))  # one array per step (threads)
        # a thread takes whole panels: the smallest level's panel count bounds the team
        self._panels = min(-(-int(lv[2].shape[1]) // UNITS) for lv in levels)
        self._panel_values = max(4 * (lv[0].shape[1] + lv[2].shape[1]) * UNITS for lv in levels)
        self._team: tuple[int, int] = (-1, 1)  # (torch threads, team) of the last step
        self.decoder = (
            None
            if decoder is None
            else tuple(None if t is None else t.contiguous() for t in decoder)
        )
        self._rows = 0 if decoder is None else decoder[0].shape[0]
        self._decoder = [None if t is None else _ptr(t) for t in self.decoder or (None,) * 3]

    def threads(self) -> int:
        """The team a step runs on: PyTorch's thread count (``torch.set_num_threads``), at most
        one thread per panel, and one thread for stacks too small to gain from more
        (``rnnkit.kernels.build.Kernel.threads``)."""
        torch_threads = torch.get_num_threads()
        if self._team[0] != torch_threads:
            self._team = (torch_threads, _KERNEL.threads(self._panels, self._panel_values))
        return self._team[1]

    def step_addresses(
        self,
        x: int,
        h: list[int],
        c: list[int],
        h_new: list[int],
        c_new: list[int],
        logits: int | None = None,
        threads: int | None = None,
    ) -> None:
        """``step`` on raw float32 addresses (x, and per level h, c in and out, and with a
        decoder the (V,) logits): what a generation step calls, without building a tensor per
        level. ``threads`` overrides ``threads()``: the team size asked of OpenMP."""
        lib = _KERNEL.library()
        assert lib is not None, "int8_step: the kernel is not available"
        states = self._states(*h, *c, *h_new, *c_new)
        rows = self._rows if logits is not None else 0
        lib.rnnkit_int8_lm_step(int(self.vnni), len(h), _ptr(self.sizes), self._w, self._s, x,
                                states, rows, *self._decoder, logits,
                                self.threads() if threads is None else threads)  # fmt: skip

    def step(
        self, x: Tensor, h: list[Tensor], c: list[Tensor], threads: int | None = None
    ) -> tuple[list[Tensor], list[Tensor]]:
        """New (h, c) of every level from x (I,) and the previous (h, c), each (H,) float32."""
        _, h_new, c_new = self._run(x, h, c, False, threads)
        return h_new, c_new

    def step_logits(
        self, x: Tensor, h: list[Tensor], c: list[Tensor], threads: int | None = None
    ) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """``step`` and the decoder's logits (V,) from the top level's new h, in one call."""
        assert self.decoder is not None, "int8_step: this stack has no decoder"
        out, h_new, c_new = self._run(x, h, c, True, threads)
        assert out is not None
        return out, h_new, c_new

    def _run(
        self, x: Tensor, h: list[Tensor], c: list[Tensor], logits: bool, threads: int | None
    ) -> tuple[Tensor | None, list[Tensor], list[Tensor]]:
        x = x.float().contiguous()
        h = [t.float().contiguous() for t in h]
        c = [t.float().contiguous() for t in c]
        h_new = [torch.empty_like(t) for t in h]
        c_new = [torch.empty_like(t) for t in c]
        out = torch.empty(self._rows) if logits else None
        h_at, c_at, h_new_at, c_new_at = ([_ptr(t) for t in ts] for ts in (h, c, h_new, c_new))
        self.step_addresses(_ptr(x), h_at, c_at, h_new_at, c_new_at,
                            None if out is None else _ptr(out), threads)  # fmt: skip
        return out, h_new, c_new


def int8_gemv(
    q: Tensor, scale: Tensor, bias: Tensor | None, x: Tensor, out: Tensor | None = None
) -> Tensor:
    """y = scale * (Q x) + bias: Q (R, C) int8, scale and bias (R,), x (C,) -> (R,) (written
    into ``out``, float32 contiguous with R values, when given)."""
    lib = _KERNEL.library()
    assert lib is not None, "int8_step: the kernel is not available"
    x = x.float().contiguous()
    y = torch.empty(q.shape[0], dtype=torch.float32) if out is None else out
    lib.rnnkit_int8_gemv(q.shape[0], q.shape[1], _ptr(q), _ptr(scale),
                         None if bias is None else _ptr(bias), _ptr(x), _ptr(y))  # fmt: skip
    return y
