"""GRU steps with native element-wise parts (``gru_step.c``), for ``GRUSequence`` on CPU.

Each step of ``rnnkit.backends.gru_sequence.GRUSequence`` (``reset_after=True``) is one matrix
product plus about fifteen element-wise tensor ops going forward and as many going backward;
on CPU at batch 32 those ops, each a separate pass with its own dispatch, cost about a third of
training time. Here the product stays ``torch.addmm`` and the rest of the step is one native
call (equations in ``gru_step.c``), writing straight into the saved (N, L, .) tensors.

Shapes as in ``GRUSequence``: xp (N, L, 3H) = W_ih x + b_ih; h0 (N, H); w_hh (3H, H);
b_hh (3H,); mask (N, L) bool or None.
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from rnnkit.kernels.build import load

_DTYPES = {torch.float32: 0, torch.float64: 1}
_ready = False


def library() -> ctypes.CDLL | None:
    """The loaded kernel (built on first use), or None when it cannot be built."""
    global _ready
    lib = load("gru_step")
    if lib is not None and not _ready:
        p, n, i = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
        lib.rnnkit_gru_step_forward.argtypes = [i, n, n, p, n, p, p, n, p, n, p, n, p, n, p, n,
                                                p, n]  # fmt: skip
        lib.rnnkit_gru_step_backward.argtypes = [i, n, n, p, p, n, n, p, n, p, n, p, n, p, n, p,
                                                 n, p, n, p, n, p, p]  # fmt: skip
        lib.rnnkit_gru_step_forward.restype = None
        lib.rnnkit_gru_step_backward.restype = None
        _ready = True
    return lib


def supported(xp: Tensor) -> bool:
    """Whether the native steps can run on ``xp`` (CPU, float32/64, kernel built)."""
    return xp.device.type == "cpu" and xp.dtype in _DTYPES and library() is not None


def _mask_bytes(mask: Tensor | None) -> tuple[Tensor | None, int | None]:
    if mask is None:
        return None, None
    mask = mask.to(torch.uint8).contiguous()
    return mask, mask.data_ptr()


def forward(
    xp: Tensor, h0: Tensor, w_hh: Tensor, b_hh: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """All steps: returns out (N, L, H), rz (N, L, 2H), cand (N, L, H), gh_n (N, L, H)."""
    lib = library()
    assert lib is not None
    xp, h0 = xp.contiguous(), h0.contiguous()
    n, steps, g = xp.shape
    hs, es, dbl = g // 3, xp.element_size(), _DTYPES[xp.dtype]
    out, cand, aux = (xp.new_empty(n, steps, hs) for _ in range(3))
    rz = xp.new_empty(n, steps, 2 * hs)
    gh = xp.new_empty(n, 3 * hs)
    w_t = w_hh.t()
    mask, m_ptr = _mask_bytes(mask)
    x0, o0, r0, c0, a0 = (t.data_ptr() for t in (xp, out, rz, cand, aux))
    for t in range(steps):
        prev = h0 if t == 0 else out[:, t - 1]
        torch.addmm(b_hh, prev, w_t, out=gh)
        lib.rnnkit_gru_step_forward(
            dbl, n, hs, x0 + t * g * es, steps * g, gh.data_ptr(), prev.data_ptr(),
            prev.stride(0), None if m_ptr is None else m_ptr + t, steps,
            o0 + t * hs * es, steps * hs, r0 + t * 2 * hs * es, steps * 2 * hs,
            c0 + t * hs * es, steps * hs, a0 + t * hs * es, steps * hs,
        )  # fmt: skip
    return out, rz, cand, aux


def backward(
    dout: Tensor,
    h0: Tensor,
    w_hh: Tensor,
    out: Tensor,
    rz: Tensor,
    cand: Tensor,
    aux: Tensor,
    mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Walk the steps backwards: returns dgi (N, L, 3H), dh0 (N, H), dgh (N, L, 3H)."""
    lib = library()
    assert lib is not None
    n, steps, hs = out.shape
    es, dbl = out.element_size(), _DTYPES[out.dtype]
    dgi, dgh = out.new_empty(n, steps, 3 * hs), out.new_empty(n, steps, 3 * hs)
    dh, base, gbuf = out.new_zeros(n, hs), out.new_empty(n, hs), out.new_empty(hs)
    mask, m_ptr = _mask_bytes(mask)
    sn, st, sj = dout.stride()
    d0, r0, c0, a0, o0 = (t.data_ptr() for t in (dout, rz, cand, aux, out))
    gi0, gh0 = dgi.data_ptr(), dgh.data_ptr()
    for t in range(steps - 1, -1, -1):
        prev, s_prev = (h0.data_ptr(), h0.stride(0)) if t == 0 else (
            o0 + (t - 1) * hs * es, steps * hs)  # fmt: skip
        lib.rnnkit_gru_step_backward(
            dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj,
            None if m_ptr is None else m_ptr + t, steps, r0 + t * 2 * hs * es, steps * 2 * hs,
            c0 + t * hs * es, steps * hs, prev, s_prev, a0 + t * hs * es, steps * hs,
            gi0 + t * 3 * hs * es, steps * 3 * hs, gh0 + t * 3 * hs * es, steps * 3 * hs,
            base.data_ptr(), gbuf.data_ptr(),
        )  # fmt: skip
        torch.addmm(base, dgh[:, t], w_hh, out=dh)
    return dgi, dh, dgh
