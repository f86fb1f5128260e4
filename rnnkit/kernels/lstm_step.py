"""Peephole-LSTM steps with native element-wise parts (``lstm_step.c``), for
``rnnkit.backends.lstm_sequence`` on CPU.

Per step, one product h_{t-1} W_hh^T (oneDNN with W_hh packed once per call for float32,
``addmm`` otherwise) and one native call for everything element-wise; backward the same, one
product dh_{t-1} = base + da W_hh and one call. Equations in ``lstm_step.c``. The input
projection, the saved gates and cell states and the gates' gradient come in blocks of steps
(``rnnkit.kernels.blocks``), so no whole-sequence tensor but h itself is allocated per call.

Shapes: x (N, L, I); W_ih (4H, I), b_ih (4H,) or None; h0, c0 (N, H); w_hh (4H, H);
b_hh (4H,); peepholes (3, H) rows p_i, p_f, p_o (zeros without peepholes); mask (N, L) bool
or None.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rnnkit.kernels import blocks, prototypes
from rnnkit.kernels.build import DTYPES, Kernel
from rnnkit.ops import onednn

SIGNATURES = prototypes.signatures("lstm_step.c")  #: read from the C definitions


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
    x: Tensor, w_ih: Tensor, b_ih: Tensor | None, h0: Tensor, c0: Tensor, w_hh: Tensor,
    b_hh: Tensor, peep: Tensor, mask: Tensor | None,
) -> tuple[Tensor, list[Tensor]]:  # fmt: skip
    """All steps from x (N, L, I): returns h (N, L, H) and, per block of
    ``blocks.block_steps`` steps, time-major (each step's rows contiguous) gates [i|f|g|o]
    (k, N, 4H) and c (k, N, H), in one flat list [gates_0, c_0, gates_1, ...]."""
    lib = library()
    assert lib is not None
    h0, c0, peep = h0.contiguous(), c0.contiguous(), peep.contiguous()
    n, steps, hs = x.shape[0], x.shape[1], w_hh.shape[1]
    g4, es, dbl = 4 * hs, x.element_size(), DTYPES[x.dtype]
    size = blocks.block_steps(steps, n, g4, es)
    project = onednn.PackedProduct(w_ih, size * n, b_ih)
    out, x_tm, saved = x.new_empty(n, steps, hs), x.transpose(0, 1), []
    product = _hidden_product(w_hh, b_hh, n, x)
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    threads = _KERNEL.threads(n, g4)
    pi, pf, po = (peep[k].data_ptr() for k in range(3))
    o0, cp = out.data_ptr(), c0.data_ptr()
    for t0, t1 in blocks.spans(steps, size):
        gi = project(x_tm[t0:t1])
        gates, cells = x.new_empty(t1 - t0, n, g4), x.new_empty(t1 - t0, n, hs)
        saved += [gates, cells]
        x0, g0, c_0 = gi.data_ptr(), gates.data_ptr(), cells.data_ptr()
        for t in range(t0, t1):
            hp, sh = (h0, hs) if t == 0 else (out[:, t - 1], steps * hs)
            gh, i = product(hp).contiguous(), t - t0
            lib.rnnkit_lstm_step_forward(
                dbl, n, hs, x0 + i * n * g4 * es, g4, gh.data_ptr(), pi, pf, po,
                hp.data_ptr(), sh, cp, hs, None if m is None else m.data_ptr() + t, steps,
                g0 + i * n * g4 * es, g4, c_0 + i * n * hs * es, hs, o0 + t * hs * es,
                steps * hs, threads,
            )  # fmt: skip
            cp = c_0 + i * n * hs * es
    return out, saved


def backward(
    dout: Tensor, dc_last: Tensor | None, h0: Tensor, c0: Tensor, w_hh: Tensor, peep: Tensor,
    out: Tensor, saved: list[Tensor], mask: Tensor | None, sink: blocks.BlockSink,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:  # fmt: skip
    """Walk the steps backwards with ``out`` and ``saved`` as ``forward`` gave them: hands each
    block's gate gradient da (the gradient of both projections), last block first, to
    ``sink(t0, t1, da)`` (da (t1 - t0, N, 4H), a buffer reused for the next block), and returns
    dh0 (N, H), dc0 (N, H), the peephole gradient (3, H), da summed over rows and steps (4H,)
    (the biases' gradient) and W_hh's gradient sum_t da_t^T h_{t-1} (4H, H)."""
    lib = library()
    assert lib is not None
    n, steps, hs = out.shape
    es, dbl = out.element_size(), DTYPES[out.dtype]
    size = saved[0].shape[0]
    da = out.new_empty(size, n, 4 * hs)
    dh, dw_hh = out.new_zeros(n, hs), out.new_zeros(4 * hs, hs)
    dc = out.new_zeros(n, hs) if dc_last is None else dc_last.clone().contiguous()
    threads = _KERNEL.threads(n, 4 * hs)  # each thread has its own row of sums and of gbuf
    base, gbuf, sums = (
        out.new_empty(n, hs),
        out.new_empty(threads, hs),
        out.new_zeros(threads, 7 * hs),
    )
    m = None if mask is None else mask.to(torch.uint8).contiguous()
    packed = onednn.pack(w_hh.t(), n) if onednn.available(out) else None
    sn, st, sj = dout.stride()
    pi, pf, po = (peep[k].data_ptr() for k in range(3))
    d0, a0, h_tm = dout.data_ptr(), da.data_ptr(), out.transpose(0, 1)
    for b, (t0, t1) in reversed(list(enumerate(blocks.spans(steps, size)))):
        g0, c_0 = saved[2 * b].data_ptr(), saved[2 * b + 1].data_ptr()
        for t in range(t1 - 1, t0 - 1, -1):
            i = t - t0
            cp = blocks.previous_step(t, t0, c0, saved[2 * b - 1] if b else None, saved[2 * b + 1])
            lib.rnnkit_lstm_step_backward(
                dbl, n, hs, dh.data_ptr(), d0 + t * st * es, sn, sj, dc.data_ptr(),
                None if m is None else m.data_ptr() + t, steps, g0 + i * n * 4 * hs * es,
                4 * hs, c_0 + i * n * hs * es, hs, cp, hs, pi, pf, po,
                a0 + i * n * 4 * hs * es, 4 * hs, base.data_ptr(), sums.data_ptr(),
                gbuf.data_ptr(), threads,
            )  # fmt: skip
            if packed is not None:
                dh = onednn.linear_add(da[i], packed, base)
            else:
                dh = torch.addmm(base, da[i], w_hh)
        block = da[: t1 - t0]
        prev = h_tm[t0 - 1 : t1 - 1] if t0 else torch.cat([h0[None], h_tm[: t1 - 1]])
        dw_hh.addmm_(block.reshape(-1, 4 * hs).t(), prev.reshape(-1, hs))
        sink(t0, t1, block)
    sums = sums.sum(0)
    return dh, dc, sums[: 3 * hs].view(3, hs), sums[3 * hs :], dw_hh
