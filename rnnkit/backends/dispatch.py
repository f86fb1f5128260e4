"""The one rule that picks the path a recurrent layer's call runs, names it and says why.

Layers ask, backends answer: a layer calls ``route(layer, x, state, lengths)`` and runs what comes
back, ``Route(backend, run)``. The decision has two halves:

- what the cells allow (``family``: fixed by the cells' configuration, the mode and
  ``force``; cached on the layer and dropped when its parameters move or change type): one of
  PyTorch's fused kernels, rnnkit's GRU sequence function (``reset_after=False``), rnnkit's
  peephole / layer-norm LSTM sequence functions, or the generic loop;
- what this call needs (``Facts``: device, dtype, grad mode, CPU autocast, one step or a
  sequence, the batch's lengths, whether the native token step fits), which picks within the
  family. Routes are cached per family and facts, so a call pays a few comparisons.

The paths, by ``Backend.name`` (their list and speeds: ``docs/guides/backends.md``):
``torch.lstm (oneDNN)`` / ``torch.gru (native)`` / ... (PyTorch's kernel, one call for the
stack), ``packed torch.lstm (native)`` (lengths through a packed sequence), ``segmented
torch.lstm (oneDNN)`` (lengths through unpacked calls per run of equal lengths), ``rnnkit GRU
sequence (native steps)`` / ``(PyTorch steps)``, ``rnnkit peephole LSTM sequence (native
steps)``, ``rnnkit layer-norm LSTM sequence (native steps)``, ``native token step`` (one native
call for a generation step), ``packed step (oneDNN)`` / ``(addmm)`` (no-grad step with packed
weights), ``torch.lstm_cell steps`` (a step with grad), ``generic loop`` (the cells' own ops),
and for MinGRU / MinLSTM ``MinGRU scan (native)`` / ``(sequential)`` / ``(log)`` and
``MinGRU step``.

A traced call (``torch.compile``, ``torch.export``, fake tensors, ``torch.func``; see
``rnnkit.ops.tracing``) takes a traceable path instead (``_traced``, ``rnnkit.backends.traced``):
rnnkit's registered operators, PyTorch's fused op or the generic loop, named ``... (operator
...)`` / ``(traced)``.

``layer.backend`` reads ``last(layer)``: what the layer's last call ran, or, before any call in
the current mode, what a sequence call would run (``describe``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor

from rnnkit.backends import traced
from rnnkit.backends.families import Family, sequence_family, standard
from rnnkit.backends.fused import run_fused
from rnnkit.backends.generic import run_generic_stack
from rnnkit.backends.gru_sequence import native_layer, run_gru_sequence
from rnnkit.backends.lstm_sequence import run_lstm_sequence
from rnnkit.backends.segmented import applies as segments_pay
from rnnkit.backends.select import Backend, forced
from rnnkit.backends.step import native_step_fits, run_fused_step, run_native_step, supports_step
from rnnkit.kernels import min_scan, token_step
from rnnkit.ops import onednn
from rnnkit.ops import state as st
from rnnkit.ops.tracing import tracing

Run = Callable[[Tensor, Any, "Tensor | None"], tuple[Tensor, Any]]


class Route(NamedTuple):
    """The path for one call: ``backend`` names it, ``run(x, state, lengths)`` runs it."""

    backend: Backend
    run: Run


class Facts(NamedTuple):
    """What a call brings that the decision reads (the key of the route cache)."""

    device: str
    dtype: torch.dtype
    grad: bool
    autocast: bool
    step: bool
    lengths: str | None  # None, "full" (every sequence fills L), "packed" or "segmented"
    native_step: bool
    few_rows: bool = False  # GRU inference whose steps are too small for the native steps


#: GRU inference over sequences on CPU runs rnnkit's native steps when rows x hidden^2 reaches
#: this (2^21: batch 32 at hidden 256, 8 at 512, 2 at 1024), PyTorch's GRU below it. Each native
#: step pays a fixed cost in Python that PyTorch's C++ loop does not (11-18 µs more per step at
#: batch 1, hidden 256 / 512, on a 2-core Xeon); measured (rnnkit / torch.nn speed, T 128):
#: hidden 256 batch 1 / 16 / 32: 0.64 / 0.80 / 1.15; hidden 512 batch 4 / 8: 0.93 / 1.11;
#: hidden 1024 batch 1 / 4: 0.85 / 1.54.
GRU_NATIVE_MIN_WORK = 2**21


# ------------------------------------------------------------------ what the cells allow
def family(layer: Any) -> Family:
    """What ``layer.cells`` allow in the layer's mode (cached on the layer, with the routes built
    for it, per mode, forced path and the options routes bind; ``forget`` drops it)."""
    key = (layer.training, forced(), layer.go_backwards, layer.dropout)
    cached = layer.__dict__.get("_family")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    cells = layer.cells
    if key[1] == "generic":
        fam = Family("generic", "forced by rnnkit.backends.force('generic')")
    else:
        fam = standard(cells, layer.training)
        if fam.kind == "generic":
            fam = sequence_family(cells, layer.training) or fam
    layer.__dict__["_family"] = (key, fam)
    layer.__dict__["_routes"] = {}
    return fam


# --------------------------------------------------------------------- what a call brings
def _facts(layer: Any, fam: Family, x: Tensor, state: Any, lengths: Tensor | None) -> Facts:
    device, steps = x.device.type, x.shape[1]
    grad = torch.is_grad_enabled()
    autocast = device == "cpu" and torch.is_autocast_enabled("cpu")
    step = steps == 1
    how = None
    if lengths is not None and fam.kind == "fused" and not step:
        if device != "cpu":
            how = "packed"
        elif int(lengths.min()) >= steps:
            how = "full"
        else:
            pays = segments_pay(fam.kernel or "", lengths, steps)
            how = "segmented" if pays else "packed"
    native = False
    if step and not grad and fam.kind == "fused" and supports_step(fam.kernel, layer.cells):
        parts = st.as_tuple(state) if state is not None else ()
        directions = 2 if layer.bidirectional else 1
        native = native_step_fits(fam.kernel, layer.cells, x, parts, directions,  # type: ignore[arg-type]
                                  layer.dropout and layer.training)  # fmt: skip
    few_rows = False
    if fam.kernel == "gru" and not grad and not step:
        hidden = layer.cells[0].weight_hh.shape[1]
        few_rows = x.shape[0] * hidden * hidden < GRU_NATIVE_MIN_WORK
    return Facts(device, x.dtype, grad, autocast, step, how, native, few_rows)


def _torch_impl(kernel: str, facts: Facts, packed: bool = False, projected: bool = False) -> str:
    """Which implementation PyTorch's kernel runs on: cuDNN, oneDNN (the LSTM, CPU float32,
    unpacked, without ``proj_size``, which PyTorch's oneDNN LSTM does not take) or its native
    one."""
    if facts.device == "cuda" and torch.backends.cudnn.is_available():
        return "cuDNN" if torch.backends.cudnn.enabled else "native"
    onednn_lstm = kernel == "lstm" and not packed and not projected
    onednn_lstm = onednn_lstm and facts.dtype == torch.float32
    if facts.device == "cpu" and onednn_lstm and not facts.autocast:
        return "oneDNN" if torch._C._get_mkldnn_enabled() else "native"
    return "native"


# ----------------------------------------------------------------------------- the rule
def _decide(layer: Any, fam: Family, facts: Facts) -> Route:
    """The route for a layer's family and a call's facts (the whole decision tree)."""
    cells = layer.cells
    opts = {
        "num_layers": layer.num_layers, "bidirectional": layer.bidirectional,
        "dropout": layer.dropout, "training": layer.training, "reverse": layer.go_backwards,
    }  # fmt: skip
    cpu_float = facts.device == "cpu" and facts.dtype in (torch.float32, torch.float64)
    if fam.kind == "lstm_sequence" and cpu_float:
        what = fam.reason.split(" LSTM")[0]
        function = "LayerNormLSTMSequence" if what == "layer-norm" else "LSTMSequence"
        backend = Backend(f"rnnkit {what} LSTM sequence (native steps)",
                          f"{fam.reason} -> rnnkit's {function} (one product and one native "
                          "element-wise call per step, hand-written backward)", "sequence",
                          "lstm")  # fmt: skip
        return Route(backend, functools.partial(run_lstm_sequence, cells, **opts))
    if fam.kind == "lstm_sequence":
        fam = Family("generic", f"{fam.reason}, but the input is {facts.device} "
                     f"{facts.dtype} (the native steps take CPU float32/float64)")  # fmt: skip
    native = bool(
        fam.kind == "fused"
        and fam.kernel == "gru"
        and facts.device == "cpu"
        and cells[0].weight_ih.dtype == cells[0].weight_hh.dtype == facts.dtype
        and not facts.autocast
        and native_layer(cells[0], torch.empty(0, dtype=facts.dtype))
    )
    # CPU GRU training always (PyTorch's records every gate op); inference over sequences where
    # the native steps run and have work enough per step to beat PyTorch's GRU (few rows keep
    # PyTorch's kernel, GRU_NATIVE_MIN_WORK); one step keeps the step routes below
    gru_cpu = fam.kernel == "gru" and facts.device == "cpu"
    gru_cpu = gru_cpu and (facts.grad or (native and not facts.step and not facts.few_rows))
    if fam.kind == "gru_sequence" or gru_cpu:
        how = "native steps" if native else "PyTorch steps"
        mode = "training" if facts.grad else "inference"
        why = fam.reason if fam.kind == "gru_sequence" else f"GRU {mode} on CPU"
        via = ("GRULayer" if native else "GRUSequence") + " (hand-written backward)"
        if native and not facts.grad:
            via = "GRU steps outside autograd (no gates kept)"
        backend = Backend(f"rnnkit GRU sequence ({how})", f"{why} -> rnnkit's {via}",
                          "sequence", "gru")  # fmt: skip
        return Route(backend, functools.partial(run_gru_sequence, cells, native=native, **opts))
    if fam.kind == "fused" and facts.step and supports_step(fam.kernel, cells):
        return _step_route(layer, fam, facts)
    if fam.kind == "fused":
        return _fused_route(layer, fam, facts, opts)
    backend = Backend("generic loop", fam.reason, "generic", fam.kernel, fam.fallback)
    return Route(backend, functools.partial(run_generic_stack, cells, **opts))


def _step_route(layer: Any, fam: Family, facts: Facts) -> Route:
    kernel, cells = fam.kernel, layer.cells
    assert kernel is not None
    if facts.native_step:
        backend = Backend("native token step", f"{fam.reason}, one step without grad -> one "
                          "native call for the stack", "step", kernel)  # fmt: skip

        def native(x: Tensor, state: Any, lengths: Tensor | None) -> tuple[Tensor, Any]:
            if state is None:
                state = layer.init_state(x.shape[0], x.device, x.dtype)
            return run_native_step(kernel, cells, x, st.as_tuple(state), layer.num_layers)

        return Route(backend, native)
    packed = not facts.grad
    fast = packed and facts.device == "cpu" and facts.dtype == torch.float32
    fast = fast and onednn.available(torch.empty(0, dtype=facts.dtype))
    if packed:
        name = f"packed step ({'oneDNN' if fast else 'addmm'})"
        why = "one step without grad -> one product per cell with weights packed once"
    else:
        name = f"torch.{kernel}_cell steps"
        why = "one step with grad -> PyTorch's single-step cell ops"
    backend = Backend(name, f"{fam.reason}, {why}", "step", kernel)

    def step(x: Tensor, state: Any, lengths: Tensor | None) -> tuple[Tensor, Any]:
        if state is None:
            state = layer.init_state(x.shape[0], x.device, x.dtype)
        return run_fused_step(kernel, cells, x, state, layer.num_layers, layer.bidirectional,
                              layer.dropout, layer.training, packed=packed)  # fmt: skip

    return Route(backend, step)


def _fused_route(layer: Any, fam: Family, facts: Facts, opts: dict[str, Any]) -> Route:
    kernel, cells = fam.kernel, layer.cells
    assert kernel is not None
    run: Run = functools.partial(run_fused, kernel, cells, **opts)
    projected = any(getattr(c, "proj_size", 0) for c in cells)
    if facts.lengths == "segmented":
        name = f"segmented torch.{kernel} ({_torch_impl(kernel, facts, projected=projected)})"
        why = "lengths on CPU -> unpacked calls per run of equal lengths"
        run = functools.partial(run_fused, kernel, cells, segmented=True, **opts)
    elif facts.lengths == "packed":
        name = f"packed torch.{kernel} ({_torch_impl(kernel, facts, packed=True)})"
        why = "lengths -> a packed sequence"
    else:
        name = f"torch.{kernel} ({_torch_impl(kernel, facts, projected=projected)})"
        why = "one call for the stack"
        if facts.few_rows and facts.device == "cpu":
            why = ("GRU inference on few rows (rows x hidden^2 < GRU_NATIVE_MIN_WORK: PyTorch's "
                   "loop is faster there), one call for the stack")  # fmt: skip
        if facts.lengths == "full":  # every sequence fills L: the lengths change nothing
            why = "every sequence is full length, one call for the stack"
            run = functools.partial(_without_lengths, functools.partial(run_fused, kernel, cells,
                                                                        **opts))  # fmt: skip
    return Route(Backend(name, f"{fam.reason} -> {why}", "fused", kernel), run)


def _without_lengths(run: Run, x: Tensor, state: Any, lengths: Tensor | None) -> tuple:
    return run(x, state, None)


# ------------------------------------------------------------------------ entry points
def route(layer: Any, x: Tensor, state: Any, lengths: Tensor | None) -> Route:
    """The path for ``layer(x, state, lengths)`` on validated, batch-first x; recorded as the
    layer's last (``last``). ``layer`` is a recurrent stack (``cells``, ``num_layers``,
    ``bidirectional``, ``dropout``, ``go_backwards``) or a MinGRU / MinLSTM direction
    (``min_kind``)."""
    how = tracing(x)
    if how is not None:
        chosen = _traced(layer, x, lengths, how)
    elif getattr(layer, "min_kind", None) is not None:
        key = (x.device, x.dtype, x.shape[1] == 1, layer.scan)
        cache = layer.__dict__.setdefault("_routes", {})
        chosen = cache.get(key)
        if chosen is None:
            chosen = cache[key] = _min_route(layer, x.device, x.dtype, x.shape[1] == 1)
    else:
        fam = family(layer)
        facts = _facts(layer, fam, x, state, lengths)
        routes = layer.__dict__["_routes"]
        chosen = routes.get(facts)
        if chosen is None:
            chosen = routes[facts] = _decide(layer, fam, facts)
    layer.__dict__["_ran"] = (layer.training, forced(), chosen.backend)
    return chosen


# ------------------------------------------------------------ traced calls (compile, export)
def _traced(layer: Any, x: Tensor, lengths: Tensor | None, how: str) -> Route:
    """The route while ``tracing(x)`` says how the call is traced (``torch.compile``,
    ``torch.export``, fake tensors, ``torch.func``): a traceable path, never a native kernel
    through ctypes (``rnnkit.backends.traced``); not cached, as a compiled graph keeps it."""
    if getattr(layer, "min_kind", None) is None:
        return Route(*traced.stack_route(layer, family(layer), x, lengths, how))
    title = f"Min{layer.min_kind.upper()}"
    if x.shape[1] == 1:
        mode, why = "step", f"one step, {traced.WHO[how]}: h = a h + b directly"
    else:
        mode, why = traced.min_mode(x, how)
    backend = Backend(f"{title} scan ({mode}, traced)", why, "scan")
    return Route(backend, functools.partial(layer.run_scan, mode))


def generation_step(layer: Any, x: Tensor, state: Any) -> tuple[Tensor, Any] | None:
    """``layer(x, state)`` for a generation step of an ``LSTM`` or ``GRU`` stack straight into
    the native token step, before the layer's input checks; None when the call is anything else
    (the layer's general path then validates it and asks ``route``).

    Generation calls a layer once per token, and the Python around a step costs two to three
    times what it costs warm because streaming the weights has just evicted it from the caches;
    so this asks only what ``route`` would decide for such a call: no grad, x (N, 1, H_in)
    batch-first with N <= MAX_ROWS, a fused one-directional LSTM or GRU without projection, not
    stateful, no dropout between layers while training, and a state that is absent or exactly
    the layer's own layout (a tensor, or the LSTM's (h, c) tuple, each (K, N, H)) in x's dtype
    and device.
    """
    if (
        torch.is_grad_enabled() or type(x) is not Tensor or x.dim() != 3 or x.shape[1] != 1
        or x.shape[2] != layer.input_size or x.shape[0] > token_step.MAX_ROWS
        or not layer.batch_first or layer.stateful or layer.bidirectional
        or tracing(x) is not None
    ):  # fmt: skip
        return None
    fam = family(layer)
    kernel, cells = fam.kernel, layer.cells
    if fam.kind != "fused" or kernel not in token_step.GATES or not supports_step(kernel, cells):
        return None
    shape = (layer.num_layers, x.shape[0], layer.hidden_size)
    if state is None:
        h = x.new_zeros(shape)
        parts: tuple[Tensor, ...] = (h, torch.zeros_like(h)) if kernel == "lstm" else (h,)
    elif kernel == "lstm" and type(state) is tuple and len(state) == 2:
        parts = state
    elif kernel == "gru" and type(state) is Tensor:
        parts = (state,)
    else:
        return None
    if any(type(t) is not Tensor or t.shape != shape for t in parts):
        return None
    if not native_step_fits(kernel, cells, x, parts, 1, layer.dropout and layer.training):
        return None
    autocast = torch.is_autocast_enabled("cpu")
    facts = Facts(x.device.type, x.dtype, False, autocast, True, None, True)
    routes = layer.__dict__["_routes"]
    chosen = routes.get(facts)
    if chosen is None:
        chosen = routes[facts] = _decide(layer, fam, facts)
    layer.__dict__["_ran"] = (layer.training, forced(), chosen.backend)
    return run_native_step(kernel, cells, x, parts, layer.num_layers)


def _min_route(layer: Any, device: torch.device, dtype: torch.dtype, step: bool) -> Route:
    """MinGRU / MinLSTM: a step, or the scan the ``scan`` argument names, else by device
    (CPU: ``native``, or ``sequential`` without a C compiler or for other dtypes; else ``log``)."""
    title = f"Min{layer.min_kind.upper()}"
    if step:
        mode = "step"
        backend = Backend(f"{title} step", "one step: h = a h + b directly", "scan")
    else:
        mode = layer.scan
        why = "scan=" + repr(mode)
        if mode is None and device.type != "cpu":
            mode, why = "log", f"default on {device.type}"
        elif mode is None:
            native = min_scan.supported(torch.empty(0, dtype=dtype))
            mode = "native" if native else "sequential"
            why = "default on CPU" + (
                "" if native else " without the native kernel for " + str(dtype)
            )
        how = {
            "log": "log-space parallel scan",
            "sequential": "linear recurrence, step by step",
            "native": "gates and recurrence in one native pass",
        }[mode]
        backend = Backend(f"{title} scan ({mode})", f"{why}: {how} ({mode})", "scan")
    return Route(backend, functools.partial(layer.run_scan, mode))


def describe(layer: Any) -> Backend:
    """What a sequence call of ``layer`` would run now, on its parameters' device and dtype in
    the current grad mode (no lengths)."""
    param = next(layer.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.get_default_dtype()
    if getattr(layer, "min_kind", None) is not None:
        return _min_route(layer, device, dtype, False).backend
    fam = family(layer)
    autocast = device.type == "cpu" and torch.is_autocast_enabled("cpu")
    facts = Facts(device.type, dtype, torch.is_grad_enabled(), autocast, False, None, False)
    return _decide(layer, fam, facts).backend


def last(layer: Any) -> Backend:
    """What the layer's last call ran, if it ran in the current mode and forced path; else
    ``describe(layer)``."""
    ran = layer.__dict__.get("_ran")
    if ran is not None and ran[0] == layer.training and ran[1] == forced():
        return ran[2]  # type: ignore[no-any-return]
    return describe(layer)


def forget(layer: Any) -> None:
    """Drop the cached family, routes and last path (the parameters moved or changed type)."""
    for key in ("_family", "_routes", "_ran"):
        layer.__dict__.pop(key, None)
