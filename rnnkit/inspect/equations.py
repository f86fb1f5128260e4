"""The built-in cells' equations written out gate by gate, for one step of a batch.

These functions read a cell's parameters and options (``weight_ih``, ``weight_hh``, the biases,
``peephole``, ``layer_norm``, ``proj_size``, ``reset_after``, ``activation``,
``recurrent_activation``) and return every intermediate value of the step, so what is recorded
is what the equations give, whichever backend runs the layer normally.

LSTM (gate order i, f, g, o; peephole and layer-norm terms only when enabled):

    a   = LN_ih(W_ih x_t) + b_ih + LN_hh(W_hh h_{t-1}) + b_hh
    i_t = sigma(a^i + w_ci * c_{t-1}),   f_t = sigma(a^f + w_cf * c_{t-1}),   g_t = act(a^g)
    c_t = f_t * c_{t-1} + i_t * g_t
    o_t = sigma(a^o + w_co * c_t),       h_t = o_t * act(LN_c(c_t))     (then W_hr h_t)

GRU (r, z, n):

    r_t = sigma(a_x^r + a_h^r),   z_t = sigma(a_x^z + a_h^z)
    n_t = act(a_x^n + r_t * (W_hn h_{t-1} + b_hn))        reset_after=True
    n_t = act(a_x^n + W_hn (r_t * h_{t-1}) + b_hn)        reset_after=False
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

Elman: h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.cells import ElmanCell, GRUCell, LSTMCell
from rnnkit.cells.activations import ACTIVATIONS

#: signals recorded per family, in order; ``h`` is the cell's output
SIGNALS = {
    "lstm": ("i", "f", "g", "o", "c", "h"),
    "gru": ("r", "z", "n", "h"),
    "elman": ("h",),
}


def family(cell: nn.Module) -> str | None:
    """``"lstm"``, ``"gru"`` or ``"elman"`` for a built-in cell whose equations are the
    family's; None for any other cell (a subclass that rewrites the step included)."""
    for name, base in (("lstm", LSTMCell), ("gru", GRUCell), ("elman", ElmanCell)):
        if isinstance(cell, base):
            return None if cell.overrides_math(base) else name
    return None


def _fn(name: str) -> Callable[[Tensor], Tensor]:
    return ACTIVATIONS[name]


def _norm(cell: nn.Module, part: str, x: Tensor) -> Tensor:
    w = getattr(cell, f"layer_norm_{part}_weight")
    return F.layer_norm(x, w.shape, w, getattr(cell, f"layer_norm_{part}_bias"))


def input_part(cell: nn.Module, x: Tensor) -> Tensor:
    """The input's share of the gate pre-activations, for any leading shape:
    W_ih x + b_ih (LSTM with layer norm: LN_ih(W_ih x) + b_ih). (..., H_in) -> (..., G*H)."""
    if getattr(cell, "layer_norm", False):
        a = _norm(cell, "ih", F.linear(x, cell.weight_ih))
        return a if cell.bias_ih is None else a + cell.bias_ih
    return F.linear(x, cell.weight_ih, cell.bias_ih)


def lstm_step(cell: nn.Module, ax: Tensor, h: Tensor, c: Tensor) -> dict[str, Tensor]:
    """One LSTM step from the input part ``ax`` (N, 4H) and the state h (N, H_out), c (N, H)."""
    ah = F.linear(h, cell.weight_hh)
    if cell.layer_norm:
        ah = _norm(cell, "hh", ah)
    if cell.bias_hh is not None:
        ah = ah + cell.bias_hh
    ai, af, ag, ao = (ax + ah).chunk(4, dim=-1)
    if cell.peephole:
        ai = ai + cell.weight_ci * c
        af = af + cell.weight_cf * c
    sig, act = _fn(cell.recurrent_activation), _fn(cell.activation)
    i, f, g = sig(ai), sig(af), act(ag)
    c_new = f * c + i * g
    if cell.peephole:
        ao = ao + cell.weight_co * c_new
    o = sig(ao)
    h_new = o * act(_norm(cell, "c", c_new) if cell.layer_norm else c_new)
    if cell.proj_size:
        h_new = F.linear(h_new, cell.weight_hr)
    return {"i": i, "f": f, "g": g, "o": o, "c": c_new, "h": h_new}


def gru_step(cell: nn.Module, ax: Tensor, h: Tensor) -> dict[str, Tensor]:
    """One GRU step from the input part ``ax`` (N, 3H) and the state h (N, H)."""
    size = cell.hidden_size
    w_rz, w_n = cell.weight_hh[: 2 * size], cell.weight_hh[2 * size :]
    b_rz = b_n = None
    if cell.bias_hh is not None:
        b_rz, b_n = cell.bias_hh[: 2 * size], cell.bias_hh[2 * size :]
    xr, xz, xn = ax.chunk(3, dim=-1)
    hr, hz = F.linear(h, w_rz, b_rz).chunk(2, dim=-1)
    sig, act = _fn(cell.recurrent_activation), _fn(cell.activation)
    r, z = sig(xr + hr), sig(xz + hz)
    if cell.reset_after:
        n = act(xn + r * F.linear(h, w_n, b_n))
    else:
        n = act(xn + F.linear(r * h, w_n, b_n))
    h_new = (1 - z) * n + z * h
    return {"r": r, "z": z, "n": n, "h": h_new}


def elman_step(cell: nn.Module, ax: Tensor, h: Tensor) -> dict[str, Tensor]:
    """One Elman step from the input part ``ax`` (N, H) and the state h (N, H)."""
    return {"h": _fn(cell.activation)(ax + F.linear(h, cell.weight_hh, cell.bias_hh))}


def step(kind: str, cell: nn.Module, ax: Tensor, state: tuple[Tensor, ...]) -> dict[str, Tensor]:
    """One step of family ``kind``; ``state`` is (h,) or (h, c) for an LSTM."""
    if kind == "lstm":
        return lstm_step(cell, ax, state[0], state[1])
    if kind == "gru":
        return gru_step(cell, ax, state[0])
    return elman_step(cell, ax, state[0])


def next_state(kind: str, values: dict[str, Tensor]) -> tuple[Tensor, ...]:
    """The state carried to the next step: (h, c) for an LSTM, else (h,)."""
    return (values["h"], values["c"]) if kind == "lstm" else (values["h"],)
