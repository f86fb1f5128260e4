"""Peephole-LSTM steps with native element-wise parts (``lstm_step.c``), for
``rnnkit.backends.lstm_sequence`` on CPU.

Per step, one product h_{t-1} W_hh^T (oneDNN with W_hh packed once per call for float32,
``addmm`` otherwise) and one native call for everything element-wise; backward the same, one
product dh_{t-1} = base + da W_hh and one call. Equations in ``lstm_step.c``.

Shapes: xp (N, L, 4H) = W_ih x + b_ih; h0, c0 (N, H); w_hh (4H, H); b_hh (4H,); peepholes
(3, H) rows p_i, p_f, p_o (zeros without peepholes); mask (N, L) bool or None.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rnnkit.backends import onednn
from rnnkit.kernels.build import DTYPES, Kernel

SIGNATURES = {
    "rnnkit_lstm_step_forward": ("illplppppplplplplplpli", None),
    "rnnkit_lstm_step_backward": ("illppllpplplplplpppplpppi", None),
    "rnnkit_lstm_cell_forward": ("illpppp", None),
}  # argument codes: rnnkit.kernels.build.CODES


_KERNEL = Kernel("lstm_step", SIGNATURES)
library = _KERNEL.library  #: the loaded kernel, or None when it cannot be built
supported = _KERNEL.supported  #: whether tensors like ``x`` can use it (CPU float, it builds)


def cell_forward(a: Tensor, c_prev: Tensor) -> tuple[Tensor, Tensor]:
    """The plain LSTM's pointwise part in one call: a (N, 4H) = both products plus biases,
    c_prev (N, H) -> (h, c), each (N, H). Needs ``supported(a)``."""
    lib = library()
    assert lib is not None
    a, c_prev = a.contiguous(), c_prev.contiguous()
    n, hs = c_prev.shape
    h, c = a.new_empty(n, hs), a.new_empty(n, hs)
    lib.rnnkit_lstm_cell_forward(DTYPES[a.dtype], n, hs, a.data_ptr(), c_prev.data_ptr(),
                                 c.data_ptr(), h.data_ptr())  # fmt: skip
    return h, c


def _hidden_product(
    w_hh: Tensor, b_hh: Tensor, rows: int, like: Tensor
) -> Callable[[Tensor], Tensor]:
    """h -> h W_hh^T + b_hh, through oneDNN for float32 (W_hh packed once) or ``addmm``."""
    if onednn.available(like):
        packed = onednn.pack(w_hh, rows)
        return lambda h: onednn.linear(h, packed, b_hh)
    w_t = w_hh.t()
    return lambda h: torch.addmm(b_hh, h, w_t)


def forward(
    xp: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor, b_hh: Tensor, peep: Tensor,
    mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """All steps: returns h (N, L, H), and for the backward, time-major (each step's rows
    contiguous, which matters for long sequences) c (L, N, H) and gates [i|f|g|o] (L, N, 4H)."""
    lib = library()
    assert lib is not None
    xp, h0, c0, peep = xp.contiguous(), h0.contiguous(), c0.contiguous(), peep.contiguous()
    n, steps, g4 = xp.shape
    hs, es, dbl = g4 // 4, xp.element_size(), DTYPES[xp.dtype]
    out, cells = xp.new_empty(n, steps, hs), xp.new_empty(steps, n, hs)
    gates = xp.new_empty(steps, n, g4)
    product = _hidden_product(w_hh, b_hh, n, xp)
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    threads = _KERNEL.threads(n, g4)
    pi, pf, po = (peep[k].data_ptr() for k in range(3))
    x0, o0, c_0, g0 = xp.data_ptr(), out.data_ptr(), cells.data_ptr(), gates.data_ptr()
    for t in range(steps):
        if t == 0:
            hp, sh, cp, sc = h0, hs, c0.data_ptr(), hs
        else:
            hp, sh, cp, sc = out[:, t - 1], steps * hs, c_0 + (t - 1) * n * hs * es, hs
        gh = product(hp).contiguous()
        lib.rnnkit_lstm_step_forward(
            dbl, n, hs, x0 + t * g4 * es, steps * g4, gh.data_ptr(), pi, pf, po,
            hp.data_ptr(), sh, cp, sc, None if m is None else m.data_ptr() + t, steps,
            g0 + t * n * g4 * es, g4, c_0 + t * n * hs * es, hs, o0 + t * hs * es, steps * hs,
            threads,
        )  # fmt: skip
    return out, cells, gates


def backward(
    dout: Tensor, dc_last: Tensor | None, h0: Tensor, c0: Tensor, w_hh: Tensor, peep: Tensor,
    out: Tensor, cells: Tensor, gates: Tensor, mask: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
    """Walk the steps backwards: returns da (N, L, 4H) (the gradient of both projections),
    dh0 (N, H), dc0 (N, H), the peephole gradient (3, H) and da summed over rows and steps
    (4H,), the bias gradient."""
    lib = library()
    assert lib is not None
    n, steps, hs = out.shape
    es, dbl = out.element_size(), DTYPES[out.dtype]
    da = out.new_empty(n, steps, 4 * hs)
    dh = out.new_zeros(n, hs)
    dc = out.new_zeros(n, hs) if dc_last is None else dc_last.clone().contiguous()
    threads = _KERNEL.threads(n, 4 * hs)  # each thread has its own row of sums and of gbuf
    base, gbuf, sums = (
        out.new_empty(n, hs),
        out.new_empty(threads, hs),
        out.new_zeros(threads, 7 * hs),
    )
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    fast = onednn.available(out)
    packed = onednn.pack(w_hh.t(), n) if fast else None
    sn, st, sj = dout.stride()
    pi, pf, po = (peep[k].data_ptr() for k in range(3))
    d0, g0, c_0, a0 = dout.data_ptr(), gates.data_ptr(), cells.data_ptr(), da.data_ptr()
    for t in range(steps - 1, -1, -1):
        cp = c0.data_ptr() if t == 0 else c_0 + (t - 1) * n * hs * es
        lib.rnnkit_lstm_step_backward(
            dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj, dc.data_ptr(),
            None if m is None else m.data_ptr() + t, steps, g0 + t * n * 4 * hs * es, 4 * hs,
            c_0 + t * n * hs * es, hs, cp, hs, pi, pf, po, a0 + t * 4 * hs * es,
            steps * 4 * hs, base.data_ptr(), sums.data_ptr(), gbuf.data_ptr(), threads,
        )  # fmt: skip
        if packed is not None:
            dh = onednn.linear_add(da[:, t], packed, base)
        else:
            dh = torch.addmm(base, da[:, t], w_hh)
    sums = sums.sum(0)
    return da, dh, dc, sums[: 3 * hs].view(3, hs), sums[3 * hs :]
