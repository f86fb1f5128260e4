"""Keras' non-recurrent layers as small modules, each ``forward(x, mask) -> (outputs, mask)``.

Masks follow Keras: ``Embedding(mask_zero=True)`` makes one (token != 0), ``Masking`` makes one
(any feature != mask_value) and zeroes the masked steps, ``Dense``, ``TimeDistributed(Dense)``,
``Dropout``, ``SpatialDropout1D`` and ``Activation`` pass it on, ``GlobalAveragePooling1D``
averages over unmasked steps only, and ``GlobalMaxPooling1D`` ignores it (as Keras does: it
takes the maximum over whatever the previous layer put at masked steps).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from rnnkit.interop.keras.options import LayerContext
from rnnkit.layers import LockedDropout

Output = tuple[list[Tensor], Tensor | None]


class Identity(nn.Module):
    """``InputLayer``."""

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        return [x], mask


class Embedding(nn.Module):
    """``Embedding``; with ``mask_zero`` token 0 is masked."""

    def __init__(self, weight: np.ndarray, mask_zero: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(*weight.shape)
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(weight))
        self.mask_zero = mask_zero

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        x = x.long()
        return [self.embed(x)], (x != 0) if self.mask_zero else mask


class Masking(nn.Module):
    """``Masking``: steps whose features all equal ``mask_value`` are masked and zeroed."""

    def __init__(self, mask_value: float) -> None:
        super().__init__()
        self.mask_value = mask_value

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        keep = (x != self.mask_value).any(dim=-1)
        return [x * keep[..., None].to(x.dtype)], keep


class Dense(nn.Module):
    """``Dense`` (and ``TimeDistributed(Dense)``): an affine map on the last axis, then the
    activation."""

    def __init__(
        self, kernel: np.ndarray, bias: np.ndarray | None, activation: str, fn: Callable
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(kernel.shape[0], kernel.shape[1], bias=bias is not None)
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
            if bias is not None:
                self.linear.bias.copy_(torch.from_numpy(bias))
        self.activation, self._fn = activation, fn

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        return [self._fn(self.linear(x))], mask

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"


class Activation(nn.Module):
    """``Activation``."""

    def __init__(self, activation: str, fn: Callable) -> None:
        super().__init__()
        self.activation, self._fn = activation, fn

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        return [self._fn(x)], mask

    def extra_repr(self) -> str:
        return f"activation={self.activation!r}"


class Dropout(nn.Module):
    """``Dropout`` (a fresh mask per element) or ``SpatialDropout1D`` (whole features of a
    sequence, rnnkit's ``LockedDropout``)."""

    def __init__(self, rate: float, spatial: bool) -> None:
        super().__init__()
        self.drop = LockedDropout(rate) if spatial else nn.Dropout(rate)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        return [self.drop(x)], mask


class GlobalPooling(nn.Module):
    """``GlobalAveragePooling1D`` (mean over unmasked steps) or ``GlobalMaxPooling1D``."""

    def __init__(self, mode: str, keepdims: bool) -> None:
        super().__init__()
        self.mode, self.keepdims = mode, keepdims

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        if self.mode == "max":
            return [x.amax(dim=1, keepdim=self.keepdims)], None
        if mask is None:
            return [x.mean(dim=1, keepdim=self.keepdims)], None
        m = mask[..., None].to(x.dtype)
        out = (x * m).sum(dim=1, keepdim=self.keepdims) / m.sum(dim=1, keepdim=self.keepdims)
        return [out], None


class NotEqual(nn.Module):
    """The ``NotEqual(tokens, c)`` operation Keras 3 records for ``mask_zero``'s mask."""

    def __init__(self, constant: float) -> None:
        super().__init__()
        self.constant = constant

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Output:
        return [x != self.constant], None


def build_basic(ctx: LayerContext, weights: list[np.ndarray], constant: object = None) -> nn.Module:
    """The module for a non-recurrent layer, weights loaded."""
    cls = ctx.class_name
    if cls == "InputLayer":
        return Identity()
    if cls == "NotEqual":
        if not isinstance(constant, (int, float)):
            raise ctx.refuse(f"compares with {constant!r} (a number is supported)")
        return NotEqual(float(constant))
    ctx.check_dtype()
    if cls == "Embedding":
        ctx.check_absent("lora_rank", "sparse")
        _count(ctx, weights, 1)
        return Embedding(weights[0], bool(ctx.get("mask_zero", False)))
    if cls == "Masking":
        return Masking(float(ctx.get("mask_value", 0.0)))
    if cls in ("Dense", "TimeDistributed"):
        return _dense(ctx, weights)
    if cls in ("Dropout", "SpatialDropout1D"):
        ctx.check_absent("noise_shape")
        return Dropout(float(ctx.get("rate", 0.0)), spatial=cls == "SpatialDropout1D")
    if cls == "Activation":
        return Activation(*ctx.output_activation())
    if cls in ("GlobalMaxPooling1D", "GlobalAveragePooling1D"):
        ctx.require("data_format", ("channels_last",))
        mode = "max" if cls == "GlobalMaxPooling1D" else "mean"
        return GlobalPooling(mode, bool(ctx.get("keepdims", False)))
    raise ctx.refuse("this layer class is not supported by rnnkit's Keras import")


def _dense(ctx: LayerContext, weights: list[np.ndarray]) -> Dense:
    if ctx.class_name == "TimeDistributed":
        inner = ctx.get("layer", {})
        if not isinstance(inner, dict) or inner.get("class_name") != "Dense":
            cls = inner.get("class_name") if isinstance(inner, dict) else inner
            raise ctx.refuse(f"wraps {cls!r} (TimeDistributed(Dense) is supported)")
        ctx = LayerContext(ctx.name, "Dense", inner.get("config", {}), ctx.keras_major)
        ctx.check_dtype()
    ctx.check_absent("lora_rank", "quantization_config")
    use_bias = bool(ctx.get("use_bias", True))
    _count(ctx, weights, 2 if use_bias else 1)
    kernel = weights[0]
    if kernel.ndim != 2 or kernel.shape[1] != int(ctx.get("units", kernel.shape[1])):
        raise ctx.refuse(f"kernel has shape {kernel.shape}, expected (H_in, {ctx.get('units')})")
    return Dense(kernel, weights[1] if use_bias else None, *ctx.output_activation())


def _count(ctx: LayerContext, weights: list[np.ndarray], n: int) -> None:
    if len(weights) != n:
        raise ctx.refuse(f"expected {n} weight arrays in the file, found {len(weights)}")
