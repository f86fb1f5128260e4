"""rnnkit's layers through PyTorch's own ONNX exporter (``torch.onnx.export(..., dynamo=True)``).

Traced, rnnkit's recurrent layers run registered operators (``torch.ops.rnnkit.*``,
``rnnkit.backends.custom_ops``) that the exporter cannot see into. ``onnx_translations()``
gives it one translation per operator, onto ONNX's own recurrent operators, so any module that
holds rnnkit layers (a user's own model included) exports with a dynamic batch and length:

    torch.onnx.export(model, args, dynamo=True, dynamic_shapes=...,
                      custom_translation_table=rnnkit.export.onnx_translations())

or ``rnnkit.export.torch_onnx(model, args, ...)``, which passes the table itself.

=====================  ===========================================================================
operator               ONNX
=====================  ===========================================================================
lstm_layer             LSTM: W, R, B in gate order i, o, f, c (rnnkit's: i, f, g, o); the
                       peepholes (w_ci, w_cf, w_co) as P = [w_ci; w_co; w_cf]
gru_layer              GRU with linear_before_reset=1 (``reset_after=True``): gate order z, r, h
                       (rnnkit's: r, z, n)
gru_sequence           GRU over the input projection x W_ih^T + b_ih the operator receives: W is
                       the identity with its rows in ONNX's gate order (made in the graph by
                       EyeLike, so the file holds no 3H x 3H matrix), linear_before_reset as
                       ``reset_after``
elman_sequence         RNN (Tanh or Relu) over the input projection, W the identity likewise
ln_lstm_layer,         refused (``ExportError``, named in the exporter's error): ONNX's LSTM has
min_layer              no normalisation inside the recurrence, and MinGRU / MinLSTM run a
                       parallel scan that no ONNX operator computes
=====================  ===========================================================================

Each operator runs one direction of one level over x (N, L, I) batch first, with a step mask
(N, L) or none; its output holds every step's state, padded steps keeping the state. ONNX's
operators take the lengths (``sequence_lens``, the mask's row sums) and write zeros at padded
steps, so each translation puts the final state (``Y_h``) back there. Directions, levels and
dropout stay outside the operators (rnnkit's stack code, plain tensor operations the exporter
translates itself): a bidirectional stack is several ONNX operators, each one direction.

``rnnkit export`` does not go through here: it writes a trained model's graphs from the weights
(``rnnkit.export.graph``), with the inputs, outputs and state layout its runtime feeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from rnnkit.export.recurrent import ExportError

#: rnnkit gate order -> ONNX's, as row blocks of the weights
_LSTM_ORDER = [0, 3, 1, 2]
_GRU_ORDER = [1, 0, 2]


def onnx_translations() -> dict[Callable, Callable]:
    """The ``custom_translation_table`` for ``torch.onnx.export(..., dynamo=True)`` that maps
    rnnkit's recurrent operators onto ONNX's LSTM, GRU and RNN (see the module docstring)."""
    import rnnkit.backends.custom_ops  # noqa: F401  (registers the operators)

    ops = torch.ops.rnnkit
    return {
        ops.lstm_layer.default: _lstm_layer,
        ops.gru_layer.default: _gru_layer,
        ops.gru_sequence.default: _gru_sequence,
        ops.elman_sequence.default: _elman_sequence,
        ops.ln_lstm_layer.default: _refuse(
            "LSTM(layer_norm=True) is not exported: ONNX's LSTM operator has no normalisation "
            "inside the recurrence"
        ),
        ops.min_layer.default: _refuse(
            "MinGRU / MinLSTM are not exported: they run a parallel scan, which no ONNX "
            "operator computes"
        ),
    }


def torch_onnx(module: nn.Module, args: tuple, **kwargs: Any) -> Any:
    """``torch.onnx.export(module, args, dynamo=True, **kwargs)`` with rnnkit's translations
    added to any ``custom_translation_table`` given; returns the ``ONNXProgram``. A layer with
    no ONNX operator raises its ``ExportError`` (named layer option and why).

    Example:
        >>> batch, steps = torch.export.Dim("batch"), torch.export.Dim("steps")  # doctest: +SKIP
        >>> program = rnnkit.export.torch_onnx(
        ...     model, (x, lengths), dynamic_shapes=({0: batch, 1: steps}, {0: batch}))
        >>> program.save("model.onnx")
    """
    table = {**onnx_translations(), **kwargs.pop("custom_translation_table", {})}
    try:
        return torch.onnx.export(module, args, dynamo=True, custom_translation_table=table,
                                 **kwargs)  # fmt: skip
    except Exception as error:  # a refused layer: its one-line reason, not the exporter's report
        refused = _refusal(error)
        if refused is None:
            raise
        raise refused from error


def _refusal(error: BaseException | None) -> ExportError | None:
    """The ExportError a translation raised, wherever the exporter wrapped it."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ExportError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _op() -> Any:
    from onnxscript import opset18

    return opset18


def _reorder(op: Any, w: Any, order: list[int]) -> Any:
    """Row blocks of w (one per gate) in ``order``."""
    if len(order) == 1:
        return w
    parts = op.Split(w, axis=0, num_outputs=len(order))
    return op.Concat(*[parts[i] for i in order], axis=0)


def _biases(op: Any, b_ih: Any, b_hh: Any, order: list[int]) -> Any:
    """ONNX's B (1, 2 G H): input biases (zeros when absent), then recurrent ones."""
    rec = _reorder(op, b_hh, order)
    inp = _reorder(op, b_ih, order) if b_ih is not None else op.Sub(rec, rec)
    return op.Unsqueeze(op.Concat(inp, rec, axis=0), [0])


def _identity(op: Any, like: Any, order: list[int]) -> Any:
    """(1, G H, G H): the identity with its row blocks in ``order``, for an operator whose input
    is already projected; built in the graph from the width of ``like`` (N, L, G H)."""
    width = op.Slice(op.Shape(like), [2], [3])
    eye = op.EyeLike(op.ConstantOfShape(op.Concat(width, width, axis=0)))
    return op.Unsqueeze(_reorder(op, op.CastLike(eye, like), order), [0])


def _lengths(op: Any, mask: Any) -> Any:
    """``sequence_lens`` (N,) int32 from a step mask (N, L), or None for full sequences."""
    return None if mask is None else op.ReduceSum(op.Cast(mask, to=6), [1], keepdims=0)


def _states(op: Any, y: Any, y_h: Any, mask: Any) -> Any:
    """ONNX's Y (L, 1, N, H) as rnnkit's operators return it: (N, L, H), padded steps holding
    the final state."""
    out = op.Transpose(op.Squeeze(y, [1]), perm=[1, 0, 2])
    if mask is None:
        return out
    return op.Where(op.Unsqueeze(mask, [2]), out, op.Transpose(y_h, perm=[1, 0, 2]))


def _lstm_layer(
    x: Any, w_ih: Any, b_ih: Any, h0: Any, c0: Any, w_hh: Any, b_hh: Any, peep: Any, mask: Any
) -> tuple[Any, Any]:
    op, hidden = _op(), w_hh.shape[1]
    w = op.Unsqueeze(_reorder(op, w_ih, _LSTM_ORDER), [0])
    r = op.Unsqueeze(_reorder(op, w_hh, _LSTM_ORDER), [0])
    ci, cf, co = op.Split(peep, axis=0, num_outputs=3)  # (1, H) each
    p = op.Reshape(op.Concat(ci, co, cf, axis=1), [1, 3 * hidden])
    y, y_h, y_c = op.LSTM(op.Transpose(x, perm=[1, 0, 2]), w, r,
                          _biases(op, b_ih, b_hh, _LSTM_ORDER), _lengths(op, mask),
                          op.Unsqueeze(h0, [0]), op.Unsqueeze(c0, [0]), p,
                          hidden_size=hidden)  # fmt: skip
    return _states(op, y, y_h, mask), op.Squeeze(y_c, [0])


def _gru(op: Any, x: Any, w: Any, b: Any, h0: Any, w_hh: Any, mask: Any, after: bool) -> Any:
    r = op.Unsqueeze(_reorder(op, w_hh, _GRU_ORDER), [0])
    y, y_h = op.GRU(op.Transpose(x, perm=[1, 0, 2]), w, r, b, _lengths(op, mask),
                    op.Unsqueeze(h0, [0]), hidden_size=w_hh.shape[1],
                    linear_before_reset=int(after))  # fmt: skip
    return _states(op, y, y_h, mask)


def _gru_layer(x: Any, w_ih: Any, b_ih: Any, h0: Any, w_hh: Any, b_hh: Any, mask: Any) -> Any:
    op = _op()
    w = op.Unsqueeze(_reorder(op, w_ih, _GRU_ORDER), [0])
    return _gru(op, x, w, _biases(op, b_ih, b_hh, _GRU_ORDER), h0, w_hh, mask, True)


def _gru_sequence(xp: Any, h0: Any, w_hh: Any, b_hh: Any, mask: Any, reset_after: bool) -> Any:
    op = _op()
    b = _biases(op, None, b_hh, _GRU_ORDER)
    return _gru(op, xp, _identity(op, xp, _GRU_ORDER), b, h0, w_hh, mask, reset_after)


def _elman_sequence(xp: Any, h0: Any, w_hh: Any, b_hh: Any, mask: Any, relu: bool) -> Any:
    op = _op()
    y, y_h = op.RNN(op.Transpose(xp, perm=[1, 0, 2]), _identity(op, xp, [0]),
                    op.Unsqueeze(w_hh, [0]), _biases(op, None, b_hh, [0]), _lengths(op, mask),
                    op.Unsqueeze(h0, [0]), hidden_size=w_hh.shape[1],
                    activations=["Relu" if relu else "Tanh"])  # fmt: skip
    return _states(op, y, y_h, mask)


def _refuse(message: str) -> Callable:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ExportError(message)

    return refuse
