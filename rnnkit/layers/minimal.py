"""``MinGRU`` and ``MinLSTM`` (Feng et al. 2024, "Were RNNs All We Needed?").

Their gates see only the input, never h_{t-1}, so the recurrence is linear in h and a whole
sequence runs as a parallel scan (``rnnkit.layers.scan``) instead of a loop over time:

    minGRU:   z_t = sigmoid(W_z x_t + b_z),  h~_t = g(W_h x_t + b_h)
              h_t = (1 - z_t) * h_{t-1} + z_t * h~_t
    minLSTM:  f_t = sigmoid(W_f x_t + b_f),  i_t = sigmoid(W_i x_t + b_i),  h~_t = g(W_h x_t + b_h)
              f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)
              h_t = f'_t * h_{t-1} + i'_t * h~_t

with g(x) = x + 0.5 for x >= 0 and sigmoid(x) below (positive, so the scan can run in log space).
Both are h_t = a_t h_{t-1} + b_t with a_t, b_t computed from all inputs at once; the recurrence
then runs as the log-space parallel scan (``scan="log"``, the default off CPU), as one fused
multiply-add per step with a hand-written backward (``scan="sequential"``; see
``rnnkit.layers.scan``), or as a native kernel that computes gates and recurrence in one pass over
memory each way, alternating with the input product over groups of batch rows
(``scan="native"``, the CPU default whenever a C compiler is available; see
``rnnkit.kernels.min_scan.min_layer``). A single step (generation: x of shape (N, 1, I) with
the state) applies the recurrence directly. All give the same numbers
(tested).

The layers take ``rnnkit.GRU``'s arguments (``num_layers``, ``bidirectional``, ``dropout``,
``batch_first``, ``go_backwards``, ``stateful``) and return ``(output, h)`` with h of shape
(num_layers * D, N, H); ``make_layer("mingru", ...)`` (``--model.cell=mingru``) builds them.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from rnnkit.backends import Backend, dispatch
from rnnkit.backends.sequence import reverse_padded
from rnnkit.kernels import min_scan
from rnnkit.layers.deep import DeepLayer
from rnnkit.layers.routed import Routed
from rnnkit.layers.scan import LinearRecurrence, g, log_g, parallel_scan_log
from rnnkit.ops import state as st

KINDS = {"gru": 2, "lstm": 3}  # input projections per kind
#: None: by device (CPU: "native", or "sequential" without a C compiler; else "log")
SCANS = (None, "log", "sequential", "native")


class MinRecurrent(Routed):
    """One direction of one minGRU (``kind="gru"``) or minLSTM (``kind="lstm"``) layer.

    Shape:
        x (N, L, I) -> output (N, L, H); state (1, N, H).
    """

    num_states = 1

    def __init__(
        self,
        kind: str,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        batch_first: bool = True,
        go_backwards: bool = False,
        stateful: bool = False,
        scan: str | None = None,
    ) -> None:
        super().__init__(batch_first, stateful)
        if scan not in SCANS:
            raise ValueError(f"MinRecurrent: scan must be one of {SCANS}, got {scan!r}")
        if kind not in KINDS:
            raise ValueError(f"MinRecurrent: kind must be one of {sorted(KINDS)}, got {kind!r}")
        self.kind, self.go_backwards, self.scan = kind, go_backwards, scan
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, hidden_size
        self.linear = nn.Linear(input_size, KINDS[kind] * hidden_size, bias=bias)

    @property
    def layer_name(self) -> str:
        return f"Min{self.kind.upper()}"

    @property
    def min_kind(self) -> str:
        """``"gru"`` or ``"lstm"``: what the dispatch reads to route a MinGRU / MinLSTM call."""
        return self.kind

    def reset_parameters(self) -> None:
        self.linear.reset_parameters()

    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        dtype = dtype or self.linear.weight.dtype
        return torch.zeros(1, batch_size, self.hidden_size, device=device, dtype=dtype)

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        """One step in linear space: x (N, I), h (N, H) -> h (N, H)."""
        a, b = self.coefficients(x)
        return torch.addcmul(b, a, h)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """a_t and b_t of h_t = a_t h_{t-1} + b_t: x (..., I) -> two (..., H)."""
        parts = self.linear(x).chunk(KINDS[self.kind], dim=-1)
        if self.kind == "gru":
            z = torch.sigmoid(parts[0])
            return 1 - z, z * g(parts[1])
        # f / (f + i) = s(-log(i / f)), from softplus: the plain ratio is 0/0 once both sigmoids
        # underflow (pre-activations below about -104 in float32)
        diff = F.softplus(-parts[0]) - F.softplus(-parts[1])  # log(i / f)
        return torch.sigmoid(-diff), torch.sigmoid(diff) * g(parts[2])

    def log_coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """log a_t and log b_t of h_t = a_t h_{t-1} + b_t: x (N, L, I) -> two (N, L, H)."""
        parts = self.linear(x).chunk(KINDS[self.kind], dim=-1)
        if self.kind == "gru":
            log_a, log_z = -F.softplus(parts[0]), -F.softplus(-parts[0])
            return log_a, log_z + log_g(parts[1])
        diff = F.softplus(-parts[0]) - F.softplus(-parts[1])  # log(i / f)
        return -F.softplus(diff), -F.softplus(-diff) + log_g(parts[2])

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        return dispatch.route(self, x, state, lengths).run(x, state, lengths)

    def run_scan(
        self, mode: str, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        """Run the layer with ``mode``: ``"step"``, ``"log"``, ``"sequential"``, ``"native"`` or
        ``"op"`` (the native layer as a registered operator, for traced calls): the dispatch's
        choice."""
        h0 = None if state is None else state[0]  # type: ignore[index]
        if self.go_backwards:
            x = reverse_padded(x, lengths)
        if mode == "step":
            start = h0 if h0 is not None else x.new_zeros(x.shape[0], self.hidden_size)
            out = self.step(x[:, 0], start).unsqueeze(1)
        elif mode == "log":
            out = parallel_scan_log(*self.log_coefficients(x), h0)
        elif mode == "op":  # traced: the native layer as a registered operator
            from rnnkit.backends.custom_ops import Ops

            start = h0 if h0 is not None else x.new_zeros(x.shape[0], self.hidden_size)
            out = Ops.min_layer(x, self.linear.weight, self.linear.bias, start, self.kind)
        elif mode == "native":
            if not min_scan.supported(x):
                raise ValueError(
                    f"{self.layer_name}: scan='native' needs a CPU float32/float64 input and a "
                    f"C compiler; got {x.device} {x.dtype} (use scan='sequential' or 'log')"
                )
            start = h0 if h0 is not None else x.new_zeros(x.shape[0], self.hidden_size)
            out = min_scan.min_layer(x, self.linear.weight, self.linear.bias, start, self.kind)
        else:
            start = h0 if h0 is not None else x.new_zeros(x.shape[0], self.hidden_size)
            a, b = self.coefficients(x.transpose(0, 1))
            out = LinearRecurrence.apply(a, b, start).transpose(0, 1)
        if lengths is None:
            final = out[:, -1]
        else:
            last = (lengths.to(x.device) - 1).view(-1, 1, 1).expand(-1, 1, out.shape[-1])
            final = out.gather(1, last).squeeze(1)
            keep = (
                torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
            )
            out = out * keep.unsqueeze(-1).to(out.dtype)
        if self.go_backwards:
            out = reverse_padded(out, lengths)
        return out, final.unsqueeze(0)

    def extra_repr(self) -> str:
        return (
            f"{self.kind}, {self.input_size}, {self.hidden_size}, go_backwards={self.go_backwards}"
        )


class MinRNNStack(DeepLayer):
    """Base of ``MinGRU`` and ``MinLSTM``: a deep, optionally bidirectional stack.

    Args:
        input_size, hidden_size: I and H.
        num_layers: depth; dropout: between layers (not after the last).
        bias: learn biases; batch_first: (N, L, I) tensors (default True).
        bidirectional: add a backward direction (outputs concatenated).
        go_backwards: read sequences back to front; stateful: carry the final state.

    Shape:
        x (N, L, I) -> output (N, L, D*H); state (num_layers*D, N, H).
    """

    kind: ClassVar[str]

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
        go_backwards: bool = False,
        stateful: bool = False,
        scan: str | None = None,
    ) -> None:
        config = {
            "input_size": input_size, "hidden_size": hidden_size, "num_layers": num_layers,
            "bias": bias, "batch_first": batch_first, "dropout": dropout,
            "bidirectional": bidirectional, "go_backwards": go_backwards, "stateful": stateful,
            "scan": scan,
        }  # fmt: skip

        def direction(width: int, backwards: bool) -> MinRecurrent:
            return MinRecurrent(self.kind, width, hidden_size, bias, go_backwards=backwards,
                                scan=scan)  # fmt: skip

        super().__init__(input_size, hidden_size, num_layers, batch_first, dropout,
                         bidirectional, go_backwards, stateful, config, direction)  # fmt: skip

    @property
    def backend(self) -> Backend:
        return self.stack.layers[0].backend  # type: ignore[no-any-return]

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        return self.stack._run(x, state, lengths)


class MinGRU(MinRNNStack):
    """Multi-layer minGRU; see the module docstring.

    Example:
        >>> layer = MinGRU(32, 64, num_layers=2, bidirectional=True)
        >>> out, h = layer(torch.randn(4, 100, 32))      # out (4, 100, 128), h (4, 4, 64)
    """

    kind = "gru"


class MinLSTM(MinRNNStack):
    """Multi-layer minLSTM; see the module docstring. Its state is h only (no cell state)."""

    kind = "lstm"
