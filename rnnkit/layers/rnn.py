"""The built-in layers ``RNN``, ``LSTM`` and ``GRU``: deep, optionally bidirectional stacks.

They take ``torch.nn.RNN`` / ``LSTM`` / ``GRU``'s arguments (but ``batch_first=True`` by default),
return the same ``(output, state)`` and have the same state dict (``weight_ih_l0``,
``bias_hh_l1_reverse`` ...), so a PyTorch model's weights load as they are. On top of that they
take every option of their cell (peepholes, layer norm, ``reset_after``, activations,
initializers, ``unit_forget_bias``) plus Keras' ``input_dropout``/``recurrent_dropout``,
``go_backwards`` and ``stateful``.

Internally each is a ``Stacked`` of ``Recurrent`` (or ``Bidirectional``) layers holding the cells;
a call runs the path ``rnnkit.backends.dispatch`` picks for the cells and the call (PyTorch's fused
kernel for all layers and directions at once, rnnkit's sequence functions, a step, or the generic
loop). ``layer.backend`` says which ran, and why.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from torch import Tensor, nn

from rnnkit.backends import dispatch
from rnnkit.cells import AffineCell, ElmanCell, GRUCell, LSTMCell, RecurrentCell
from rnnkit.cells.parameters import cell_parameters
from rnnkit.layers.deep import DeepLayer
from rnnkit.layers.flat_names import share_flat
from rnnkit.layers.recurrent import Recurrent
from rnnkit.layers.routed import Routed
from rnnkit.ops import state as st


class RecurrentStack(DeepLayer, Routed):
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
        name = type(self).__name__
        _check_options(name, self.cell_class, cell_options)
        for label, p in (
            ("input_dropout", input_dropout),
            ("recurrent_dropout", recurrent_dropout),
        ):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name}: {label} must be in [0, 1), got {p}")
        config = {
            "input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
            "bias": bias, "batch_first": batch_first, "dropout": dropout,
            "bidirectional": bidirectional, "input_dropout": input_dropout,
            "recurrent_dropout": recurrent_dropout, "go_backwards": go_backwards,
            "stateful": stateful, **cell_options,
        }  # fmt: skip
        opts = dict(
            cell_options, bias=bias, dropout=input_dropout, recurrent_dropout=recurrent_dropout
        )

        def direction(width: int, backwards: bool) -> Recurrent:
            return Recurrent(self.cell_class(width, hidden_size, **opts), go_backwards=backwards)

        super().__init__(input_size, hidden_size, num_layers, batch_first, dropout,
                         bidirectional, go_backwards, stateful, config, direction)  # fmt: skip
        d = 2 if bidirectional else 1
        suffixes = [f"_l{i // d}" + ("_reverse" if i % d else "") for i in range(len(self.cells))]
        self._names = share_flat(self, self.cells, suffixes)  # weight_ih_l0 ... as torch.nn's

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

    def flatten_parameters(self) -> None:
        """No-op, for code written for ``torch.nn.LSTM``."""

    # ------------------------------------------------- torch.nn's attributes
    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Each cell's parameters, layer-major and direction-minor, as ``torch.nn.LSTM``'s
        ``all_weights`` (``[w_ih, w_hh, b_ih, b_hh(, w_hr)]`` per cell, then any peephole or
        layer-norm parameters)."""
        return [list(cell_parameters(cell).values()) for cell in self.cells]

    @property
    def bias(self) -> bool:
        """Whether the cells learn biases (``torch.nn.LSTM``'s ``bias``)."""
        return bool(self._config["bias"])

    @property
    def proj_size(self) -> int:
        """The LSTM's projection width, 0 for none (``torch.nn.LSTM``'s ``proj_size``)."""
        return int(self._config.get("proj_size", 0))

    @property
    def mode(self) -> str:
        """``"LSTM"``, ``"GRU"``, ``"RNN_TANH"`` or ``"RNN_RELU"``, as ``torch.nn``'s ``mode``."""
        if issubclass(self.cell_class, ElmanCell):
            return "RNN_" + str(self._config.get("activation", "tanh")).upper()
        return "LSTM" if issubclass(self.cell_class, LSTMCell) else "GRU"

    # -------------------------------------------------------------- running
    def forward(
        self,
        x: Tensor,
        state: st.LayerState | None = None,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, st.LayerState]:
        if lengths is None and mask is None:  # a generation step takes a shorter way
            step = dispatch.generation_step(self, x, state)
            if step is not None:
                return step
        return super().forward(x, state, lengths, mask)

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        return dispatch.route(self, x, state, lengths).run(x, state, lengths)


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
    """Multi-layer Elman RNN; ``torch.nn.RNN``'s arguments (in its positional order, with
    ``nonlinearity`` fourth) and state dict. The nonlinearity is ``activation="tanh"`` or
    ``"relu"`` (``nonlinearity=`` is accepted as PyTorch spells it).

    Example:
        >>> rnn = RNN(32, 64, activation="relu")
        >>> out, h = rnn(torch.randn(4, 10, 32))
    """

    cell_class = ElmanCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str | None = None,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        **kwargs: Any,
    ) -> None:
        # positional arguments in torch.nn.RNN's order: nonlinearity comes before bias
        if nonlinearity is not None:
            if "activation" in kwargs:
                raise TypeError("RNN: pass activation or nonlinearity, not both")
            kwargs["activation"] = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, **kwargs)  # fmt: skip
