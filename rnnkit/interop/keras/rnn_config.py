"""Keras recurrent layer configs and weights -> rnnkit layers.

Keras' option               rnnkit
-------------------------   ------------------------------------------------------
units                       hidden_size
activation                  activation (``hard_sigmoid`` by the file's Keras version)
recurrent_activation        recurrent_activation
use_bias                    bias
unit_forget_bias            unit_forget_bias (LSTM; only matters when re-initialising)
reset_after                 reset_after (GRU)
dropout                     input_dropout
recurrent_dropout           recurrent_dropout
go_backwards                go_backwards (outputs flipped to Keras' reading order)
return_sequences/state      what ``KerasRecurrent`` returns
stateful, time_major        refused

Weights: ``kernel`` (H_in, G*H) and ``recurrent_kernel`` (H, G*H) are transposed into
``weight_ih`` and ``weight_hh``. LSTM gate blocks keep their order (i, f, c, o = PyTorch's
i, f, g, o). GRU blocks go from Keras' z, r, h to r, z, n; with ``reset_after=True`` the bias
(2, 3H) is the input bias then the recurrent bias, otherwise the single bias (3H) is the input
bias and ``bias_hh`` is zero (Keras adds no bias inside the reset product).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rnnkit.interop.keras.options import LayerContext
from rnnkit.interop.keras.recurrent import LAYER_CLASSES, KerasRecurrent
from rnnkit.layers import Bidirectional
from rnnkit.layers.base import SequenceLayer

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def build_recurrent(
    ctx: LayerContext, weights: list[np.ndarray], input_size: int
) -> tuple[KerasRecurrent, int]:
    """A ``KerasRecurrent`` for a SimpleRNN/LSTM/GRU/Bidirectional config, weights loaded;
    returns it and its output width."""
    if ctx.class_name == "Bidirectional":
        return _bidirectional(ctx, weights, input_size)
    layer = _layer(ctx, input_size)
    _load(ctx, layer, weights)
    module = KerasRecurrent(
        layer,
        bool(ctx.get("return_sequences")),
        bool(ctx.get("return_state")),
        bool(ctx.get("zero_output_for_mask", False)),
    )
    return module, layer.output_size


def _layer(ctx: LayerContext, input_size: int) -> SequenceLayer:
    ctx.check_dtype()
    ctx.check_absent("stateful", "time_major")
    if "units" not in ctx.config:
        raise ctx.refuse("no 'units' in its config")
    options: dict[str, Any] = {
        "bias": bool(ctx.get("use_bias", True)),
        "activation": ctx.cell_activation("activation", "tanh"),
        "input_dropout": float(ctx.get("dropout", 0.0)),
        "recurrent_dropout": float(ctx.get("recurrent_dropout", 0.0)),
        "go_backwards": bool(ctx.get("go_backwards", False)),
    }
    if ctx.class_name in ("LSTM", "GRU"):
        options["recurrent_activation"] = ctx.cell_activation("recurrent_activation", "sigmoid")
    if ctx.class_name == "LSTM":
        options["unit_forget_bias"] = bool(ctx.get("unit_forget_bias", True))
    if ctx.class_name == "GRU":
        options["reset_after"] = bool(ctx.get("reset_after", False))  # absent before Keras 2.1
    return LAYER_CLASSES[ctx.class_name](input_size, int(ctx.get("units")), **options)


def _bidirectional(
    ctx: LayerContext, weights: list[np.ndarray], input_size: int
) -> tuple[KerasRecurrent, int]:
    merge = ctx.require("merge_mode", MERGE_MODES)
    forward_ctx = _inner(ctx, ctx.get("layer"))
    backward_cfg = ctx.get("backward_layer")
    backward_ctx = _inner(ctx, backward_cfg) if backward_cfg else None
    if forward_ctx.get("go_backwards"):
        raise ctx.refuse("wraps a layer with go_backwards=True (not supported)")
    if backward_ctx is not None:
        backward_ctx.check_dtype()
    if backward_ctx is not None and (
        backward_ctx.class_name != forward_ctx.class_name
        or _differs(forward_ctx.config, backward_ctx.config)
        or not backward_ctx.get("go_backwards")
    ):
        raise ctx.refuse("backward_layer differs from the forward layer (not supported)")
    if forward_ctx.get("return_sequences") and not forward_ctx.get("zero_output_for_mask", True):
        raise ctx.refuse("zero_output_for_mask=False in a Bidirectional layer")
    forward = _layer(forward_ctx, input_size)
    backward = _layer(_reversed(forward_ctx), input_size)
    half = len(weights) // 2
    _load(forward_ctx, forward, weights[:half])
    _load(forward_ctx, backward, weights[half:])
    wrapper = Bidirectional(forward, merge_mode=merge or "concat", backward_layer=backward)
    module = KerasRecurrent(
        wrapper,
        bool(forward_ctx.get("return_sequences")),
        bool(forward_ctx.get("return_state")),
        zero_output_for_mask=bool(forward_ctx.get("return_sequences")),
        merge_mode=merge,
    )
    width = forward.output_size * (2 if merge == "concat" else 1)
    return module, width


def _inner(ctx: LayerContext, spec: Any) -> LayerContext:
    if not isinstance(spec, dict) or spec.get("class_name") not in LAYER_CLASSES:
        cls = spec.get("class_name") if isinstance(spec, dict) else spec
        raise ctx.refuse(f"wraps {cls!r} (SimpleRNN, LSTM or GRU are supported)")
    cfg = spec.get("config", {})
    return LayerContext(f"{ctx.name}/{cfg.get('name')}", spec["class_name"], cfg, ctx.keras_major)


def _reversed(ctx: LayerContext) -> LayerContext:
    return LayerContext(
        ctx.name, ctx.class_name, {**ctx.config, "go_backwards": True}, ctx.keras_major
    )


#: options that change what a direction computes (initializers, names etc. do not)
COMPUTE_KEYS = (
    "units", "activation", "recurrent_activation", "use_bias", "reset_after", "return_sequences",
    "return_state", "stateful", "time_major", "dropout", "recurrent_dropout",
)  # fmt: skip


def _differs(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return any(a.get(k) != b.get(k) for k in COMPUTE_KEYS)


@torch.no_grad()
def _load(ctx: LayerContext, layer: SequenceLayer, weights: list[np.ndarray]) -> None:
    cell = layer.cells[0]
    use_bias = cell.bias
    expected = 3 if use_bias else 2
    if len(weights) != expected:
        raise ctx.refuse(f"expected {expected} weight arrays in the file, found {len(weights)}")
    kernel, recurrent = weights[0], weights[1]
    g, h = cell.gates, cell.hidden_size
    _check(ctx, "kernel", kernel, (cell.input_size, g * h))
    _check(ctx, "recurrent_kernel", recurrent, (h, g * h))
    order = _gate_order(ctx.class_name, h)
    cell.weight_ih.copy_(torch.from_numpy(kernel.T[order].copy()))
    cell.weight_hh.copy_(torch.from_numpy(recurrent.T[order].copy()))
    if not use_bias:
        return
    bias = weights[2]
    if ctx.class_name == "GRU" and cell.reset_after:
        _check(ctx, "bias", bias, (2, g * h))
        bias_ih, bias_hh = bias[0], bias[1]
    else:
        _check(ctx, "bias", bias, (g * h,))
        bias_ih, bias_hh = bias, np.zeros_like(bias)
    cell.bias_ih.copy_(torch.from_numpy(bias_ih[order].copy()))
    cell.bias_hh.copy_(torch.from_numpy(bias_hh[order].copy()))


def _gate_order(class_name: str, h: int) -> np.ndarray:
    """Row indices taking Keras' gate blocks to rnnkit's (GRU: z, r, h -> r, z, n)."""
    if class_name != "GRU":
        return np.arange({"LSTM": 4, "SimpleRNN": 1}[class_name] * h)
    return np.concatenate([np.arange(h, 2 * h), np.arange(0, h), np.arange(2 * h, 3 * h)])


def _check(ctx: LayerContext, what: str, array: np.ndarray, shape: tuple[int, ...]) -> None:
    if tuple(array.shape) != shape:
        raise ctx.refuse(f"{what} has shape {tuple(array.shape)}, expected {shape}")
