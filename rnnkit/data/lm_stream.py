"""Contiguous token streams for language modelling with truncated BPTT.

The token sequence is cut into ``B`` equal contiguous streams, one per batch row, and each epoch
walks a window along all of them at once, so row ``b`` of one window continues row ``b`` of the
previous one and a stateful model can carry its state across windows (Zaremba et al. 2014).
The targets are the inputs shifted by one token along the stream:

    data = ids[: B * T].view(B, T),    T = len(ids) // B
    x = data[:, i : i + L],    y = data[:, i + 1 : i + 1 + L],    i + L <= T - 1

Variable-length windows follow AWD-LSTM (Merity et al. 2017, "Regularizing and Optimizing LSTM
Language Models", section 4.1), which lets every token start a window in some epoch:

    base = bptt with probability 0.95, else bptt / 2
    L = clamp(round(Normal(base, 5)), min_len, max_len)
    min_len = 5 (1 when bptt < 5),    max_len = max(min_len, floor(1.5 * bptt))

(AWD-LSTM itself caps at bptt + 20; 1.5 * bptt also suits short windows.) The lengths of an
epoch are a pure function of ``seed + epoch``: they come from a ``torch.Generator`` seeded with
it, so the whole iteration state is (seed, epoch, window index) and resuming is exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from rnnkit.data.errors import DataError

_STATE_KEYS = ("epoch", "window", "position", "seed", "batch_size", "bptt", "variable_length")


class LMStream:
    """Batches of ``(x, y)`` windows over ``B`` contiguous streams, resumable mid-epoch.

    Iterating yields the windows of the current epoch from the current position; after the last
    window the stream moves to the next epoch by itself (``set_epoch`` also works). Only one
    iteration at a time: the position lives in the stream, which is what makes
    ``state_dict``/``load_state_dict`` resume exactly at the next window.

    Args:
        ids: 1-D integer tensor (or sequence) of token ids; the tail that does not fill all
            ``batch_size`` streams equally is dropped.
        batch_size: number of parallel streams B.
        bptt: window length in tokens (the base length when ``variable_length``).
        variable_length: draw window lengths as AWD-LSTM does (see the module docstring).
        seed: seeds the length draws of epoch e with ``seed + e``.

    Shape:
        x, y: (B, L) long tensors, L <= bptt (fixed length; the last window may be shorter) or
        L <= max_len (variable length). ``y[:, t] == x[:, t + 1]`` and y's last column is the
        token that follows x in the stream.

    Example:
        >>> stream = LMStream(torch.arange(100), batch_size=4, bptt=6)
        >>> x, y = next(iter(stream))
        >>> x.shape, x[1].tolist(), y[1].tolist()
        (torch.Size([4, 6]), [25, 26, 27, 28, 29, 30], [26, 27, 28, 29, 30, 31])
        >>> len(stream), stream.num_tokens  # ceil(24 / 6) windows, 4 * 24 target tokens
        (4, 96)
    """

    P_FULL = 0.95  # probability of the full base length
    STD = 5.0  # standard deviation of the window length, in tokens
    MAX_FACTOR = 1.5  # windows never exceed MAX_FACTOR * bptt
    _CHUNK = 1024  # lengths drawn per generator call

    def __init__(
        self,
        ids: Tensor | Sequence[int],
        batch_size: int,
        bptt: int,
        variable_length: bool = False,
        seed: int = 0,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("bptt", bptt)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LMStream: {name} must be an int >= 1, got {value!r}")
        ids = torch.as_tensor(ids)
        if ids.dim() != 1 or ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
            raise ValueError(
                "LMStream: expected a 1-D integer tensor of token ids, "
                f"got shape {tuple(ids.shape)} and dtype {ids.dtype}"
            )
        per_stream = ids.numel() // batch_size
        if per_stream < 2:
            raise DataError(
                f"LMStream: {ids.numel()} tokens are too few for batch_size={batch_size} and "
                f"bptt={bptt}: each of the {batch_size} streams needs at least 2 tokens (an input "
                f"and its target), so at least {2 * batch_size} tokens"
            )
        # (B, T): row b is the contiguous slice ids[b*T : (b+1)*T]
        self.data = ids[: per_stream * batch_size].to(torch.long).reshape(batch_size, per_stream)
        self.batch_size = batch_size
        self.bptt = bptt
        self.variable_length = bool(variable_length)
        self.seed = int(seed)
        self.min_len = 5 if bptt >= 5 else 1
        self.max_len = max(self.min_len, int(self.MAX_FACTOR * bptt))
        self._epoch = 0
        self._window = 0
        self._cache: tuple[int, Tensor] | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def tokens_per_stream(self) -> int:
        """T_total: tokens in each of the B streams."""
        return self.data.shape[1]

    @property
    def num_tokens(self) -> int:
        """Target tokens per epoch: B * (T_total - 1)."""
        return self.batch_size * (self.tokens_per_stream - 1)

    def __len__(self) -> int:
        """Windows in the current epoch (other epochs differ slightly with variable lengths)."""
        return len(self._bounds()) - 1

    @property
    def epoch(self) -> int:
        """The epoch being iterated (or about to be)."""
        return self._epoch

    @property
    def position(self) -> int:
        """Start, along each stream, of the next window this epoch."""
        return self._position_of(self._window)

    # -------------------------------------------------------------- schedule
    def _bounds(self) -> Tensor:
        """Window boundaries of the current epoch: window k is [bounds[k], bounds[k+1])."""
        if self._cache is None or self._cache[0] != self._epoch:
            self._cache = (self._epoch, self._make_bounds(self._epoch))
        return self._cache[1]

    def _make_bounds(self, epoch: int) -> Tensor:
        total = self.tokens_per_stream - 1  # each window needs its next token as a target
        if not self.variable_length:
            return torch.cat([torch.arange(0, total, self.bptt), torch.tensor([total])])
        gen = torch.Generator().manual_seed(self.seed + epoch)
        chunks, covered = [], 0
        while covered < total:
            u = torch.rand(self._CHUNK, generator=gen, dtype=torch.float64)
            z = torch.randn(self._CHUNK, generator=gen, dtype=torch.float64)
            base = torch.where(u < self.P_FULL, float(self.bptt), self.bptt / 2)
            lengths = (base + self.STD * z).round().clamp(self.min_len, self.max_len).long()
            chunks.append(lengths)
            covered += int(lengths.sum())
        ends = torch.cat(chunks).cumsum(0)
        last = int(torch.searchsorted(ends, total))  # first window reaching the end
        ends = ends[: last + 1].clone()
        ends[-1] = total  # the last window is cut short
        return torch.cat([torch.zeros(1, dtype=torch.long), ends])

    def _window_at(self, start: int, end: int) -> tuple[Tensor, Tensor]:
        # (B, T) -> (B, L) twice; fresh tensors, so callers may modify them
        x = self.data[:, start:end].clone(memory_format=torch.contiguous_format)
        y = self.data[:, start + 1 : end + 1].clone(memory_format=torch.contiguous_format)
        return x, y

    # ------------------------------------------------------------- iteration
    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self._window >= len(self):  # the last epoch ended: start the next
            self.set_epoch(self._epoch + 1)
        epoch, bounds = self._epoch, self._bounds()
        while self._epoch == epoch and self._window < len(bounds) - 1:
            k = self._window
            self._window = k + 1  # advance first: a state_dict taken now resumes after k
            yield self._window_at(int(bounds[k]), int(bounds[k + 1]))
        if self._epoch == epoch and self._window >= len(bounds) - 1:
            self.set_epoch(epoch + 1)

    def set_epoch(self, epoch: int) -> None:
        """Go to the start of ``epoch``; the current epoch keeps its position (for resuming)."""
        if epoch != self._epoch:
            self._epoch, self._window = int(epoch), 0

    def windows_for_eval(self, bptt: int | None = None) -> Iterator[tuple[Tensor, Tensor]]:
        """Fixed-length windows over the whole stream, from the start; no randomness.

        Does not touch the iteration state, so it can run in the middle of a training epoch.

        Args:
            bptt: window length (default: the stream's ``bptt``).
        """
        step = self.bptt if bptt is None else bptt
        if step < 1:
            raise ValueError(f"LMStream.windows_for_eval: bptt must be >= 1, got {step}")
        total = self.tokens_per_stream - 1
        for start in range(0, total, step):
            yield self._window_at(start, min(start + step, total))

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Where the iteration stands, as JSON-ready ints and bools.

        The window lengths of an epoch are a pure function of ``seed + epoch``, so ``seed``,
        ``epoch`` and ``window`` are the whole generator state; the rest checks that the state
        is loaded into a stream of the same shape.
        """
        return {
            "epoch": self._epoch,
            "window": self._window,
            "position": self.position,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "bptt": self.bptt,
            "variable_length": self.variable_length,
            "tokens_per_stream": self.tokens_per_stream,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``: the next window is the one the saved iteration was due."""
        missing = [k for k in (*_STATE_KEYS, "tokens_per_stream") if k not in state]
        if missing:
            raise ValueError(f"LMStream.load_state_dict: the state lacks {missing}")
        mine = self.state_dict()
        wrong = [
            f"{k}={state[k]!r} (this stream has {mine[k]!r})"
            for k in ("batch_size", "bptt", "variable_length", "tokens_per_stream")
            if state[k] != mine[k]
        ]
        if wrong:
            raise ValueError(
                "LMStream.load_state_dict: the state was saved for another stream: "
                + ", ".join(wrong)
            )
        self.seed, self._epoch, self._window = int(state["seed"]), int(state["epoch"]), 0
        self._cache = None
        window = int(state["window"])
        if not 0 <= window <= len(self) or self._position_of(window) != int(state["position"]):
            raise ValueError(
                f"LMStream.load_state_dict: window {window} does not start at position "
                f"{state['position']} in epoch {self._epoch} (seed {self.seed})"
            )
        self._window = window

    def _position_of(self, window: int) -> int:
        bounds = self._bounds()
        return int(bounds[min(window, len(bounds) - 1)])

    def __repr__(self) -> str:
        kind = "variable" if self.variable_length else "fixed"
        return (
            f"LMStream(batch_size={self.batch_size}, bptt={self.bptt} ({kind}), "
            f"tokens_per_stream={self.tokens_per_stream}, epoch={self._epoch}, "
            f"window={self._window}/{len(self)})"
        )
