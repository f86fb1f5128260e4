"""Continuous batching for a recurrent language model: many streams, one step per token.

The state of a recurrent LM stream is a few vectors per layer, so streams can share a model step
at almost no memory cost: rows of one batch state (every state tensor has the batch on axis 1).
A stream joins between steps (its prompt is read alone, then its state is appended as a new
row) and leaves between steps (its row is dropped); each row picks its next token with its own
settings and random generator (``rnnkit.decoding.rows``). A prompt is never padded, and the
step treats rows independently, so a stream's tokens do not depend on the streams beside it
(the tests compare against each stream run alone).

    s_i <- prime(prompt_i[:-1]);  y_i <- prompt_i[-1]
    repeat:  Z, S <- model.step(y, S);  y_i <- select(Z_i, settings_i, generator_i)

``LanguageModelPredictor.stream`` runs a batch of one; ``rnnkit serve`` runs one batch per model,
stepping it while any stream is active.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rnnkit.decoding.rows import select_rows, token_logprobs
from rnnkit.models import LanguageModel
from rnnkit.tasks.predictors.streams import Stream, TokenEvent


def concat_rows(states: list[Any]) -> Any:
    """Join states of the same structure along the batch axis (axis 1 of every tensor)."""
    first = states[0]
    if isinstance(first, Tensor):
        return torch.cat(states, dim=1)
    joined = [concat_rows([s[k] for s in states]) for k in range(len(first))]
    return tuple(joined) if isinstance(first, tuple) else joined


def select_rows_of(state: Any, index: Tensor) -> Any:
    """Keep batch rows ``index`` (axis 1) of every tensor of a state."""
    if isinstance(state, Tensor):
        return state.index_select(1, index)
    kept = [select_rows_of(s, index) for s in state]
    return tuple(kept) if isinstance(state, tuple) else kept


def zero_rows(template: Any, n: int) -> Any:
    """A zero state of ``template``'s structure with ``n`` rows (a layer's fresh state)."""
    if isinstance(template, Tensor):
        shape = list(template.shape)
        shape[1] = n
        return template.new_zeros(shape)
    made = [zero_rows(s, n) for s in template]
    return tuple(made) if isinstance(template, tuple) else made


def padded_rows(n: int) -> int:
    """The row count a step of ``n`` streams runs with: ``n`` up to 8 (the native small step
    takes any count), else ``n`` rounded up to a multiple of 16."""
    return n if n <= 8 else -(-n // 16) * 16


class GenerationBatch:
    """Streams of one language model that advance together, one token per step.

    Not thread-safe: one thread adds, steps and drops (``rnnkit serve`` uses one worker
    thread per model).

    Example:
        >>> batch = GenerationBatch(lm)
        >>> batch.add(Stream(GenerationOptions("ROMEO.", 20, seed=1), tokenizer))
        >>> while batch.streams:
        ...     for stream, event in batch.step():
        ...         print(event.text, end="")
    """

    def __init__(self, model: LanguageModel) -> None:
        self.model = model.eval()
        self.streams: list[Stream] = []
        self.state: Any = None  # None while every row still has the model's fresh state
        self.tokens = torch.zeros(0, dtype=torch.long)  # (N,) the tokens to feed next
        self.gone: list[Stream] = []  # dropped since the last ``take_gone``

    def __len__(self) -> int:
        return len(self.streams)

    def add(self, stream: Stream) -> None:
        """Read the stream's prompt (all but its last token) and append it as a new row."""
        self.add_many([stream])

    @torch.no_grad()
    def add_many(self, streams: list[Stream]) -> None:
        """Append streams as new rows, in order. Prompts of the same length are read together
        in one call (no padding: the batch holds only equal lengths)."""
        groups: dict[int, list[int]] = {}
        for i, stream in enumerate(streams):
            groups.setdefault(len(stream.prompt_ids), []).append(i)
        read: list[Any] = [None] * len(streams)
        for length, members in groups.items():
            if length > 1:
                ids = torch.tensor([streams[i].prompt_ids[:-1] for i in members])
                _, state = self.model(ids, None)
                for row, i in enumerate(members):
                    read[i] = select_rows_of(state, torch.tensor([row]))
        for stream, own in zip(streams, read):
            self._append(stream, own)

    def _append(self, stream: Stream, own: Any) -> None:
        if own is None and self.state is not None:
            own = zero_rows(self.state, 1)
        elif own is not None and self.state is None and self.streams:
            self.state = zero_rows(own, len(self.streams))
        if own is not None:
            self.state = own if not self.streams else concat_rows([self.state, own])
        self.streams.append(stream)
        self.tokens = torch.cat([self.tokens, torch.tensor([stream.prompt_ids[-1]])])

    def drop_finished(self) -> list[Stream]:
        """Remove the finished (or cancelled) streams' rows; returns them."""
        gone = [s for s in self.streams if s.finished]
        if not gone:
            return gone
        self.gone.extend(gone)
        keep = [i for i, s in enumerate(self.streams) if not s.finished]
        index = torch.tensor(keep, dtype=torch.long)
        self.streams = [self.streams[i] for i in keep]
        self.tokens = self.tokens.index_select(0, index)
        if self.state is not None:
            self.state = select_rows_of(self.state, index) if keep else None
        return gone

    def _padded_step(self) -> tuple[Tensor, Any]:
        """``model.step`` over the rows, padded to ``padded_rows(N)`` rows (zero state,
        token 0) and cut back: the products of a step are compiled per row count (oneDNN
        builds a kernel for each shape it meets), and streams joining and leaving would
        otherwise make a new count at almost every step. Rows are independent, so the padding
        rows change nothing in the others."""
        n = len(self.streams)
        extra = padded_rows(n) - n
        if not extra:
            return self.model.step(self.tokens, self.state)
        tokens = torch.cat([self.tokens, self.tokens.new_zeros(extra)])
        state = self.state
        if state is not None:
            state = concat_rows([state, zero_rows(state, extra)])
        logits, state = self.model.step(tokens, state)
        keep = torch.arange(n)
        return logits[:n], select_rows_of(state, keep)

    @torch.no_grad()
    def warm_up(self, max_rows: int = 64) -> None:
        """Run one step of every row count a batch of up to ``max_rows`` streams steps with
        (1, and the padded counts), so that what is built on first use (native kernels,
        packed weights, oneDNN's kernels for each shape) is built before serving."""
        for rows in sorted({1, *(padded_rows(n) for n in range(9, max_rows + 1))}):
            self.model.step(torch.zeros(rows, dtype=torch.long), None)

    def take_gone(self) -> list[Stream]:
        """The streams dropped since the last call (finished, cancelled or timed out)."""
        gone, self.gone = self.gone, []
        return gone

    @torch.no_grad()
    def step(self) -> list[tuple[Stream, TokenEvent]]:
        """One model step for every active stream: each gets its next token's event. Streams
        that finish are dropped before the next step."""
        self.drop_finished()
        if not self.streams:
            return []
        logits, self.state = self._padded_step()  # (N, V)
        chosen = select_rows(
            logits, [s.sampling for s in self.streams], [s.generator for s in self.streams]
        )
        logprobs = token_logprobs(logits, chosen).tolist()
        self.tokens = chosen
        events = [(s, s.push(t, lp)) for s, t, lp in zip(self.streams, chosen.tolist(), logprobs)]
        self.drop_finished()
        return events
