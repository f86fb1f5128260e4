"""The built-in layers ``RNN``, ``LSTM`` and ``GRU``: deep, optionally bidirectional stacks.

They take ``torch.nn.RNN`` / ``LSTM`` / ``GRU``'s arguments (but ``batch_first=True`` by default),
return the same ``(output, state)`` and have the same state dict (``weight_ih_l0``,
``bias_hh_l1_reverse`` ...), so a PyTorch model's weights load as they are. On top of that they
take every option of their cell (peepholes, layer norm, ``reset_after``, activations,
initializers, ``unit_forget_bias``) plus Keras' ``input_dropout``/``recurrent_dropout``,
``go_backwards`` and ``stateful``.

Internally each is a ``Stacked`` of ``Recurrent`` (or ``Bidirectional``) layers; a standard
configuration instead runs all layers and directions in one fused PyTorch kernel call on the same
parameters. ``layer.backend`` says which, and why.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import torch
from torch import Tensor

from rnnkit.backends import Backend, choose, run_fused
from rnnkit.backends.gru_sequence import run_gru_sequence, sequence_backend, use_gru_cpu
from rnnkit.backends.lstm_sequence import lstm_sequence_backend, run_lstm_sequence
from rnnkit.backends.select import forced
from rnnkit.backends.step import layer_step, run_fused_step, supports_step
from rnnkit.cells import AffineCell, ElmanCell, GRUCell, LSTMCell, RecurrentCell
from rnnkit.layers import state as st
from rnnkit.layers.base import SequenceLayer
from rnnkit.layers.bidirectional import Bidirectional
from rnnkit.layers.recurrent import Recurrent
from rnnkit.layers.stacked import Stacked


class RecurrentStack(SequenceLayer):
    """Base of ``RNN``, ``LSTM`` and ``GRU``.

    Args:
        input_size: H_in.
        hidden_size: H.
        num_layers: depth of the stack.
        bias: learn biases.
        batch_first: (N, L, H) tensors (default True; PyTorch's default is False).
        dropout: dropout on each layer's output except the last (as ``torch.nn.LSTM``).
        bidirectional: add a backward direction; outputs are concatenated.
        input_dropout: Keras' ``dropout``: drop input features of every layer, one mask per
            sequence.
        recurrent_dropout: drop h_{t-1} before W_hh, one mask per sequence.
        go_backwards: read sequences back to front.
        stateful: carry the final state into the next call.
        **cell_options: options of the cell (see ``ElmanCell``, ``LSTMCell``, ``GRUCell``).

    Shape:
        x (N, L, H_in) -> output (N, L, D*H_out); state (num_layers*D, N, H_out), and for LSTM
        (h, c) with c (num_layers*D, N, H). D = 2 if bidirectional else 1.
    """

    cell_class: ClassVar[type[AffineCell]]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        input_dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        go_backwards: bool = False,
        stateful: bool = False,
        **cell_options: Any,
    ) -> None:
        super().__init__(batch_first, stateful)
        name = type(self).__name__
        if num_layers < 1:
            raise ValueError(f"{name}: num_layers must be >= 1, got {num_layers}")
        _check_options(name, self.cell_class, cell_options)
        rates = {"dropout": dropout, "input_dropout": input_dropout}
        rates["recurrent_dropout"] = recurrent_dropout
        for label, p in rates.items():
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name}: {label} must be in [0, 1), got {p}")
        self._config = {
            "input_size": input_size,
            "hidden_size": hidden_size,
            "num_layers": num_layers,
            "bias": bias,
            "batch_first": batch_first,
            "dropout": dropout,
            "bidirectional": bidirectional,
            "input_dropout": input_dropout,
            "recurrent_dropout": recurrent_dropout,
            "go_backwards": go_backwards,
            "stateful": stateful,
            **cell_options,
        }
        opts = dict(
            cell_options, bias=bias, dropout=input_dropout, recurrent_dropout=recurrent_dropout
        )
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.go_backwards = go_backwards
        self.dropout = float(dropout)
        self.hidden_size = hidden_size
        self.input_size = input_size
        layers: list[SequenceLayer] = []
        width = input_size
        for _ in range(num_layers):
            fwd = Recurrent(self.cell_class(width, hidden_size, **opts), go_backwards=go_backwards)
            layer: SequenceLayer = fwd
            if bidirectional:
                bwd = self.cell_class(width, hidden_size, **opts)
                layer = Bidirectional(
                    fwd, backward_layer=Recurrent(bwd, go_backwards=not go_backwards)
                )
            layers.append(layer)
            width = layer.output_size
        self.stack = Stacked(layers, dropout=dropout)
        self.output_size = self.stack.output_size
        self.num_states = self.stack.num_states
        self._names = self._flat_names()
        self.register_state_dict_post_hook(_to_flat_names)
        self.register_load_state_dict_pre_hook(_from_flat_names)

    # ---------------------------------------------------------------- cells
    @property
    def cells(self) -> list[AffineCell]:
        """The cells, layer-major and direction-minor (PyTorch's weight order)."""
        cached = self.__dict__.get("_cell_list")  # the structure is fixed at construction;
        if cached is not None and cached[0] is self.stack:  # walking it costs ~10 us a call
            return list(cached[1])
        out = []
        for layer in self.stack.layers:
            parts = [layer.forward_layer, layer.backward_layer] if self.bidirectional else [layer]
            out.extend(p.cell for p in parts)
        self.__dict__["_cell_list"] = (self.stack, tuple(out))
        return out

    def _flat_names(self) -> dict[str, str]:
        """Internal parameter path -> PyTorch's flat name (``weight_ih_l0_reverse``)."""
        names = {}
        d = 2 if self.bidirectional else 1
        for i, cell in enumerate(self.cells):
            k, reverse = divmod(i, d)
            inner = "forward_layer." if reverse == 0 else "backward_layer."
            path = f"stack.layers.{k}." + (inner if self.bidirectional else "") + "cell."
            suffix = f"_l{k}" + ("_reverse" if reverse else "")
            for p, _ in cell.named_parameters():
                names[path + p] = p + suffix
        return names

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            names = self.__dict__.get("_names", {})
            for path, flat in names.items():
                if flat == name:
                    return self.get_parameter(path)
            raise

    def flatten_parameters(self) -> None:
        """No-op, for code written for ``torch.nn.LSTM``."""

    # -------------------------------------------------------------- running
    @property
    def backend(self) -> Backend:
        """The path the next call takes, and why. It follows from the cells' configuration
        (fixed at construction), the mode, ``rnnkit.backends.force`` and the parameters' device;
        it is cached per mode and forced path, and dropped when the parameters move or change
        type (``_apply``): choosing costs several microseconds, a tenth of a generation step's
        overhead."""
        key = (self.training, forced())
        cached = self.__dict__.get("_backend")
        if cached is not None and cached[0] == key:
            return cached[1]  # type: ignore[no-any-return]
        backend = self._choose_backend()
        self.__dict__["_backend"] = (key, backend)
        return backend

    def _apply(self, fn: Any, recurse: bool = True) -> RecurrentStack:
        self.__dict__.pop("_backend", None)  # .to(), .cuda(), .double() ... may change it
        return super()._apply(fn, recurse)  # type: ignore[no-any-return]

    def _choose_backend(self) -> Backend:
        backend = choose(self.cells, self.training)
        if backend.name == "generic":
            return (
                sequence_backend(self.cells, self.training)
                or lstm_sequence_backend(self.cells, self.training)
                or backend
            )
        if backend.kernel == "gru" and self.cells[0].weight_hh.device.type == "cpu":
            reason = backend.reason + (
                "; training on CPU: rnnkit's GRULayer (native steps; GRUSequence without a "
                "C compiler or with reset_after=False), faster there"
            )
            return Backend(backend.name, reason, backend.kernel, backend.fallback)
        return backend

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        return self.stack.init_state(batch_size, device, dtype)

    def forward(
        self,
        x: Tensor,
        state: st.LayerState | None = None,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, st.LayerState]:
        if lengths is None and mask is None:  # a generation step takes a shorter way
            step = layer_step(self, x, state)
            if step is not None:
                return step
        return super().forward(x, state, lengths, mask)

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        backend = self.backend
        options = {
            "num_layers": self.num_layers, "bidirectional": self.bidirectional,
            "dropout": self.dropout, "training": self.training, "reverse": self.go_backwards,
        }  # fmt: skip
        if backend.name == "sequence" and backend.kernel == "lstm":
            if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64):
                return run_lstm_sequence(self.cells, x, state, lengths, **options)  # type: ignore[arg-type]
            return self.stack._run(x, state, lengths)
        if backend.name == "sequence" or (
            backend.name == "fused" and use_gru_cpu(backend.kernel, x)
        ):
            return run_gru_sequence(self.cells, x, state, lengths, **options)  # type: ignore[arg-type]
        if backend.name != "fused":
            return self.stack._run(x, state, lengths)
        if x.shape[1] == 1 and supports_step(backend.kernel, self.cells):
            if state is None:
                state = self.init_state(x.shape[0], x.device, x.dtype)
            return run_fused_step(
                backend.kernel,  # type: ignore[arg-type]
                self.cells,
                x,
                state,
                self.num_layers,
                self.bidirectional,
                self.dropout,
                self.training,
            )
        return run_fused(
            backend.kernel,  # type: ignore[arg-type]
            self.cells,
            x,
            state,
            lengths,
            **options,
        )

    # --------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments; ``type(layer).from_config(layer.get_config())`` rebuilds it."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RecurrentStack:
        return cls(**config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._config.items())


def _to_flat_names(module: RecurrentStack, state_dict: dict, prefix: str, _meta: Any) -> None:
    for path, flat in module._names.items():
        if prefix + path in state_dict:
            state_dict[prefix + flat] = state_dict.pop(prefix + path)


def _from_flat_names(module: RecurrentStack, state_dict: dict, prefix: str, *_args: Any) -> None:
    for path, flat in module._names.items():
        if prefix + flat in state_dict:
            state_dict[prefix + path] = state_dict.pop(prefix + flat)


def _check_options(owner: str, cell_class: type, options: dict[str, Any]) -> None:
    valid = set()
    for klass in cell_class.__mro__:
        if issubclass(klass, RecurrentCell) and "__init__" in vars(klass):
            valid |= set(inspect.signature(klass.__init__).parameters)
    valid -= {"self", "input_size", "hidden_size", "kwargs", "dropout", "recurrent_dropout", "bias"}
    unknown = sorted(set(options) - valid)
    if unknown:
        raise TypeError(f"{owner}: unknown option(s) {unknown}; cell options are {sorted(valid)}")


class LSTM(RecurrentStack):
    """Multi-layer LSTM; ``torch.nn.LSTM``'s arguments and state dict, plus ``LSTMCell``'s
    options (``peephole``, ``proj_size``, ``layer_norm``, ``unit_forget_bias``, activations,
    initializers).

    Example:
        >>> lstm = LSTM(32, 64, num_layers=2, bidirectional=True)
        >>> out, (h, c) = lstm(torch.randn(4, 10, 32), lengths=torch.tensor([10, 7, 3, 1]))
        >>> out.shape, h.shape        # (4, 10, 128), (4, 4, 64)
    """

    cell_class = LSTMCell


class GRU(RecurrentStack):
    """Multi-layer GRU; ``torch.nn.GRU``'s arguments and state dict, plus ``GRUCell``'s options
    (``reset_after``, activations, initializers).

    Example:
        >>> gru = GRU(32, 64, reset_after=False)
        >>> out, h = gru(torch.randn(4, 10, 32))
    """

    cell_class = GRUCell


class RNN(RecurrentStack):
    """Multi-layer Elman RNN; ``torch.nn.RNN``'s arguments and state dict. The nonlinearity is
    ``activation="tanh"`` or ``"relu"`` (``nonlinearity=`` is accepted as PyTorch spells it).

    Example:
        >>> rnn = RNN(32, 64, activation="relu")
        >>> out, h = rnn(torch.randn(4, 10, 32))
    """

    cell_class = ElmanCell

    def __init__(self, input_size: int, hidden_size: int, *args: Any, **kwargs: Any) -> None:
        if "nonlinearity" in kwargs:
            if "activation" in kwargs:
                raise TypeError("RNN: pass activation or nonlinearity, not both")
            kwargs["activation"] = kwargs.pop("nonlinearity")
        super().__init__(input_size, hidden_size, *args, **kwargs)
