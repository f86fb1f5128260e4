"""What every sequence layer shares: the call signature, validation and cross-batch state.

``layer(x, state=None, lengths=None, mask=None) -> (output, state)``, always these two.

- ``x``: (N, L, H_in) with ``batch_first=True`` (the default), else (L, N, H_in); one sequence
  may come unbatched, (L, H_in), as ``torch.nn.LSTM`` takes it: its output is (L, H_out) and
  its state has no batch axis, (K, S) per part.
- ``lengths``: (N,) true lengths in [1, L], or ``mask`` (N, L) marking each sequence's prefix.
  Padded steps never change the state, their outputs are zero, and the returned state is each
  sequence's state at its true end.
- ``state``: a tensor (K, N, S), or a tuple of them for multi-part states (LSTM: (h, c)).
- ``stateful=True``: the final state of one call is the initial state of the next
  (cross-batch statefulness, Keras' ``stateful``). It is stored detached, which is truncated
  backpropagation through time; ``reset_state()`` forgets it.

Subclasses implement ``_run(x, state, lengths)`` on validated, batch-first input; wrappers call
their children's ``_run`` so validation happens once, at the outermost layer.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.backends.select import Backend
from rnnkit.layers.checks import check_input, check_lengths
from rnnkit.ops import state as st


class FusedPathWarning(UserWarning):
    """A layer built from standard cell families runs the slower generic path."""


class SequenceLayer(nn.Module):
    """Base class of recurrent layers and wrappers.

    Subclasses set ``input_size``, ``output_size``, ``num_states`` (K) and implement ``_run``,
    ``init_state`` and ``backend``.
    """

    input_size: int
    output_size: int
    num_states: int

    def __init__(self, batch_first: bool = True, stateful: bool = False) -> None:
        super().__init__()
        self.batch_first = batch_first
        self.stateful = stateful
        self._carried: st.LayerState | None = None
        self._warned = False

    def __getstate__(self) -> dict:
        # a copy (deepcopy, pickle) starts without the dispatch's caches: their routes hold
        # closures over this layer and its cells, which a copy must not run
        state = dict(self.__dict__)
        for key in ("_family", "_routes", "_ran"):
            state.pop(key, None)
        return state

    # ---------------------------------------------------------------- API
    def forward(
        self,
        x: Tensor,
        state: st.LayerState | None = None,
        lengths: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> tuple[Tensor, st.LayerState]:
        """Run the layer; see the module docstring for shapes. A ``PackedSequence`` input
        (as ``torch.nn.LSTM`` takes) gives a ``PackedSequence`` output."""
        if isinstance(x, PackedSequence):
            return self._forward_packed(x, state, lengths, mask)
        if isinstance(x, Tensor) and x.dim() == 2:  # one sequence (L, H_in), as torch.nn takes
            return self._forward_unbatched(x, state, lengths, mask)
        name = self.layer_name
        x = check_input(name, x, self.input_size, self.batch_first)
        n, steps = x.shape[:2]
        lengths = check_lengths(name, lengths, mask, n, steps, x.device)
        state = self._initial_state(state, n)
        self._warn_if_slow()
        out, final = self._run(x, state, lengths)
        if self.stateful:
            self._carried = st.map_state(torch.Tensor.detach, final)
        return (out if self.batch_first else out.transpose(0, 1)), final

    def _forward_packed(
        self, x: PackedSequence, state: st.LayerState | None, lengths: object, mask: object
    ) -> tuple[PackedSequence, st.LayerState]:
        if lengths is not None or mask is not None:
            raise ValueError(f"{self.layer_name}: a PackedSequence carries its own lengths")
        padded, lengths = pad_packed_sequence(x, batch_first=self.batch_first)
        out, final = self(padded, state, lengths=lengths)
        packed = pack_padded_sequence(out, lengths, self.batch_first, enforce_sorted=False)
        return packed, final

    def _forward_unbatched(
        self, x: Tensor, state: st.LayerState | None, lengths: object, mask: object
    ) -> tuple[Tensor, st.LayerState]:
        # x (L, H_in) -> (L, H_out); a state without the batch axis, (K, S) per part, as
        # torch.nn.LSTM takes it (K, N, S) -> (K, S) whichever batch_first is
        if lengths is not None or mask is not None:
            raise ValueError(f"{self.layer_name}: an unbatched input (L, H_in) takes no lengths "
                             "or mask; its one sequence is L steps long")  # fmt: skip
        if x.shape[-1] != self.input_size:
            check_input(self.layer_name, x, self.input_size, self.batch_first)  # raises
        if state is not None:
            parts = _tensors(state)
            if any(t.dim() != 2 for t in parts):
                dims = ", ".join(f"{t.dim()}-D" for t in parts)
                raise ValueError(f"{self.layer_name}: with an unbatched input (L, H_in) the "
                                 f"state has no batch axis (K, S); got {dims}")  # fmt: skip
            state = st.map_state(lambda t: t.unsqueeze(1), state)
        batched = x.unsqueeze(0 if self.batch_first else 1)
        out, final = self(batched, state)
        out = out.squeeze(0 if self.batch_first else 1)
        return out, st.map_state(lambda t: t.squeeze(1), final)

    def reset_state(self) -> None:
        """Forget the state carried by a stateful layer."""
        self._carried = None

    @property
    def carried_state(self) -> st.LayerState | None:
        """The state a stateful layer will start its next call from (None: zeros)."""
        return self._carried

    @property
    def layer_name(self) -> str:
        """Name used in error messages."""
        return type(self).__name__

    @property
    def backend(self) -> Backend:
        """The path the next forward call takes, with the reason."""
        raise NotImplementedError

    # ---------------------------------------------------------- subclasses
    def init_state(
        self,
        batch_size: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> st.LayerState:
        """The zero state for a batch."""
        raise NotImplementedError

    def _run(
        self, x: Tensor, state: st.LayerState | None, lengths: Tensor | None
    ) -> tuple[Tensor, st.LayerState]:
        raise NotImplementedError

    # ------------------------------------------------------------ helpers
    def _initial_state(self, state: st.LayerState | None, n: int) -> st.LayerState | None:
        if state is None and self.stateful:
            state = self._carried
            if state is not None and st.as_tuple(_first(state))[0].shape[1] != n:
                carried = st.as_tuple(_first(state))[0].shape[1]
                raise ValueError(
                    f"{self.layer_name}: this stateful layer carries a state for batch size "
                    f"{carried}, got a batch of {n}; call reset_state() to start afresh"
                )
        if state is not None:
            self._check_state(state, n)
        return state

    def _check_state(self, state: st.LayerState, n: int) -> None:
        # the expected shapes per batch size are memoised: building a meta state each call
        # costs more than a whole generation step
        memo = self.__dict__.setdefault("_state_shapes", {})
        if not isinstance(n, int):  # a symbolic batch size (torch.export) is no memo key
            expected = _shapes(self.init_state(n, device="meta"))
        else:
            if n not in memo:
                memo[n] = _shapes(self.init_state(n, device="meta"))
            expected = memo[n]
        if _shapes(state) != expected:
            expected = self.init_state(n, device="meta")
            raise ValueError(
                f"{self.layer_name}: expected state of shape {st.describe(expected)}, "
                f"got {st.describe(state)}"
            )

    def _warn_if_slow(self) -> None:
        # asked once per mode (dropout masks make training fall back, not eval): choosing the
        # backend costs several microseconds, a tenth of a generation step's overhead
        if self._warned or self.__dict__.get("_checked_mode") is self.training:
            return
        self.__dict__["_checked_mode"] = self.training
        backend = self.backend
        if backend.fallback:
            self._warned = True
            warnings.warn(
                f"{self.layer_name} runs the generic path ({backend.reason}); "
                "standard configurations run PyTorch's fused kernels, which are faster",
                FusedPathWarning,
                stacklevel=3,
            )


def _tensors(state: st.LayerState) -> list[Tensor]:
    if isinstance(state, list):
        return [t for s in state for t in _tensors(s)]
    return [t for t in st.as_tuple(state) if isinstance(t, Tensor)]


def _first(state: st.LayerState) -> st.LayerState:
    return state[0] if isinstance(state, list) else state


def _shapes(state: st.LayerState) -> object:
    if isinstance(state, list):
        return [_shapes(s) for s in state]
    if isinstance(state, Tensor):
        return ("tensor", tuple(state.shape))
    if isinstance(state, tuple) and all(isinstance(t, Tensor) for t in state):
        return tuple(tuple(t.shape) for t in state)
    return repr(type(state))
