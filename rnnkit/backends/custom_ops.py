"""rnnkit's native sequence functions registered as PyTorch operators (``torch.ops.rnnkit.*``).

The fast CPU paths call native kernels through ctypes, with raw data pointers, and oneDNN's
packed products; ``torch.compile`` cannot trace into them and ``torch.export`` cannot record
them. Registered with ``torch.library`` (schema, CPU implementation, fake implementation for
shape propagation, ``register_autograd`` for the backward), each is one opaque, differentiable
node in a compiled or exported graph, and its lengths and batch sizes stay symbolic:

    torch.ops.rnnkit.gru_layer(x, w_ih, b_ih, h0, w_hh, b_hh, mask) -> h
    torch.ops.rnnkit.gru_sequence(xp, h0, w_hh, b_hh, mask, reset_after) -> h
    torch.ops.rnnkit.elman_sequence(xp, h0, w_hh, b_hh, mask, relu) -> h
    torch.ops.rnnkit.lstm_layer(x, w_ih, b_ih, h0, c0, w_hh, b_hh, peep, mask) -> (h, c_L)
    torch.ops.rnnkit.ln_lstm_layer(x, w_ih, h0, c0, w_hh, gamma_ih, gamma_hh, bias, gamma_c,
                                   beta_c, peep, mask) -> (h, c_L)
    torch.ops.rnnkit.min_layer(x, weight, bias, h0, kind) -> h

with the shapes and equations of the functions they run (``GRULayer``, ``GRUSequence``,
``ElmanSequence``, ``LSTMSequence``, ``LayerNormLSTMSequence``, ``MinLayer``): x (N, L, I), h0
and c0 (N, H), mask (N, L) bool or None, h (N, L, H), c_L (N, H). Each has a companion
``<name>_backward`` operator that the autograd formula calls. An operator cannot hand its
backward the intermediate values it kept (gates, cell states), so the backward operator runs the
forward again before walking the steps back: a compiled training step pays one more forward pass
per recurrent layer than eager.

The dispatch routes traced calls here (``rnnkit.backends.traced``); importing this module
registers the operators, which a program exported with them needs before ``torch.export.load``.
"""

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from rnnkit.backends.elman_sequence import ElmanSequence
from rnnkit.backends.gru_sequence import GRULayer, GRUSequence
from rnnkit.backends.lstm_sequence import LayerNormLSTMSequence, LSTMSequence
from rnnkit.kernels.min_scan import MinLayer

LIBRARY = torch.library.Library("rnnkit", "FRAGMENT")


class _Ctx:
    """Stands in for autograd's ``ctx`` when a Function's forward and backward run as plain calls
    inside an operator (every input is asked for its gradient)."""

    def __init__(self, count: int) -> None:
        self.needs_input_grad = (True,) * count
        self.saved_tensors: tuple[Tensor | None, ...] = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        self.saved_tensors = tensors


@dataclass(frozen=True)
class _Spec:
    """One operator: its name, argument schema, result type, the Function it runs, a fake
    implementation (shapes only) and which arguments take gradients."""

    name: str
    arguments: str
    returns: str
    function: type[torch.autograd.Function]
    fake: Callable[..., Any]
    differentiable: tuple[int, ...]


def _fresh(t: Tensor) -> Tensor:
    # an operator's results are new contiguous tensors (as its fake says), not views of buffers
    whole = t.storage_offset() == 0 and t.untyped_storage().nbytes() == t.nbytes
    return t if whole and t.is_contiguous() else t.clone(memory_format=torch.contiguous_format)


def _forward(spec: _Spec, *args: Any) -> Any:
    with torch.no_grad():
        out = spec.function.forward(_Ctx(len(args)), *args)  # type: ignore[call-arg]
    return tuple(_fresh(t) for t in out) if isinstance(out, tuple) else _fresh(out)


def _backward(spec: _Spec, grads: list[Tensor | None], *args: Any) -> list[Tensor]:
    ctx = _Ctx(len(args))
    with torch.no_grad():
        spec.function.forward(ctx, *args)  # type: ignore[call-arg]  # the kept values, again
        found = spec.function.backward(ctx, *grads)  # type: ignore[call-arg]
    out = []
    for i in spec.differentiable:
        arg, g = args[i], found[i]
        if arg is None:
            out.append(torch.empty(0))  # placeholder: no input, no gradient
        else:  # each its own contiguous tensor (gradients may be views of one buffer)
            out.append(arg.new_zeros(arg.shape) if g is None else _fresh(g.to(arg.dtype)))
    return out


def _backward_fake(spec: _Spec, grads: list[Tensor | None], *args: Any) -> list[Tensor]:
    # contiguous, as ``_backward`` returns them (empty_like would copy an input's strides)
    return [
        torch.empty(0) if args[i] is None else args[i].new_empty(args[i].shape)
        for i in spec.differentiable
    ]


def _setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    tensors = [a if isinstance(a, Tensor) else None for a in inputs]
    ctx.save_for_backward(*tensors)
    ctx.others = [None if isinstance(a, Tensor) else a for a in inputs]


def _autograd(spec: _Spec, ctx: Any, *grads: Tensor | None) -> tuple[Tensor | None, ...]:
    args = [t if t is not None else o for t, o in zip(ctx.saved_tensors, ctx.others)]
    backward = getattr(torch.ops.rnnkit, spec.name + "_backward")
    found = backward(list(grads), *args)
    result: list[Tensor | None] = [None] * len(args)
    for i, g in zip(spec.differentiable, found):
        result[i] = None if args[i] is None else g
    return tuple(result)


def _register(spec: _Spec) -> None:
    name, back = f"rnnkit::{spec.name}", f"rnnkit::{spec.name}_backward"
    torch.library.define(name, f"({spec.arguments}) -> {spec.returns}", lib=LIBRARY)
    torch.library.define(back, f"(Tensor?[] grads, {spec.arguments}) -> Tensor[]", lib=LIBRARY)
    torch.library.impl(name, "CPU", functools.partial(_forward, spec), lib=LIBRARY)
    torch.library.impl(back, "CPU", functools.partial(_backward, spec), lib=LIBRARY)
    torch.library.register_fake(name, spec.fake, lib=LIBRARY)
    torch.library.register_fake(back, functools.partial(_backward_fake, spec), lib=LIBRARY)
    torch.library.register_autograd(
        name, functools.partial(_autograd, spec), setup_context=_setup, lib=LIBRARY
    )


def _hidden(x: Tensor, hidden: int) -> Tensor:
    return x.new_empty(x.shape[0], x.shape[1], hidden)


def _pair(x: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
    return _hidden(x, h0.shape[-1]), h0.new_empty(h0.shape)


SPECS: Sequence[_Spec] = (
    _Spec(
        "gru_layer",
        "Tensor x, Tensor w_ih, Tensor? b_ih, Tensor h0, Tensor w_hh, Tensor b_hh, Tensor? mask",
        "Tensor",
        GRULayer,
        lambda x, w_ih, b_ih, h0, *rest: _hidden(x, h0.shape[-1]),
        (0, 1, 2, 3, 4, 5),
    ),
    _Spec(
        "gru_sequence",
        "Tensor xp, Tensor h0, Tensor w_hh, Tensor b_hh, Tensor? mask, bool reset_after",
        "Tensor",
        GRUSequence,
        lambda xp, h0, *rest: _hidden(xp, h0.shape[-1]),
        (0, 1, 2, 3),
    ),
    _Spec(
        "elman_sequence",
        "Tensor xp, Tensor h0, Tensor w_hh, Tensor b_hh, Tensor? mask, bool relu",
        "Tensor",
        ElmanSequence,
        lambda xp, h0, *rest: _hidden(xp, h0.shape[-1]),
        (0, 1, 2, 3),
    ),
    _Spec(
        "lstm_layer",
        "Tensor x, Tensor w_ih, Tensor? b_ih, Tensor h0, Tensor c0, Tensor w_hh, Tensor b_hh, "
        "Tensor peep, Tensor? mask",
        "(Tensor, Tensor)",
        LSTMSequence,
        lambda x, w_ih, b_ih, h0, *rest: _pair(x, h0),
        (0, 1, 2, 3, 4, 5, 6, 7),
    ),
    _Spec(
        "ln_lstm_layer",
        "Tensor x, Tensor w_ih, Tensor h0, Tensor c0, Tensor w_hh, Tensor gamma_ih, "
        "Tensor gamma_hh, Tensor bias, Tensor gamma_c, Tensor beta_c, Tensor peep, Tensor? mask",
        "(Tensor, Tensor)",
        LayerNormLSTMSequence,
        lambda x, w_ih, h0, *rest: _pair(x, h0),
        tuple(range(11)),
    ),
    _Spec(
        "min_layer",
        "Tensor x, Tensor weight, Tensor? bias, Tensor h0, str kind",
        "Tensor",
        MinLayer,
        lambda x, weight, bias, h0, kind: _hidden(x, h0.shape[-1]),
        (0, 1, 2, 3),
    ),
)
for _spec in SPECS:
    _register(_spec)


class Ops:
    """The operators as the sequence functions call them (``Function.apply``'s arguments):
    what ``run_lstm_sequence`` / ``run_gru_sequence`` take as ``ops`` when traced."""

    @staticmethod
    def gru_layer(*args: Any) -> Tensor:
        return torch.ops.rnnkit.gru_layer(*args)  # type: ignore[no-any-return]

    @staticmethod
    def gru_sequence(*args: Any) -> Tensor:
        return torch.ops.rnnkit.gru_sequence(*args)  # type: ignore[no-any-return]

    @staticmethod
    def elman_sequence(*args: Any) -> Tensor:
        return torch.ops.rnnkit.elman_sequence(*args)  # type: ignore[no-any-return]

    @staticmethod
    def lstm_layer(*args: Any) -> tuple[Tensor, Tensor]:
        return torch.ops.rnnkit.lstm_layer(*args)  # type: ignore[no-any-return]

    @staticmethod
    def ln_lstm_layer(*args: Any) -> tuple[Tensor, Tensor]:
        return torch.ops.rnnkit.ln_lstm_layer(*args)  # type: ignore[no-any-return]

    @staticmethod
    def min_layer(x: Tensor, weight: Tensor, bias: Tensor | None, h0: Tensor, kind: str) -> Tensor:
        """``rnnkit.kernels.min_scan.min_layer``'s arguments, prepared as it prepares them."""
        x, weight, h0 = x.contiguous(), weight.contiguous(), h0.to(x.dtype).contiguous()
        bias = None if bias is None else bias.to(x.dtype).contiguous()
        return torch.ops.rnnkit.min_layer(x, weight, bias, h0, kind)  # type: ignore[no-any-return]
