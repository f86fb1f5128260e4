"""Continuous batching for a recurrent language model: many streams, one step per token.

The state of a recurrent LM stream is a few vectors per layer, so streams can share a model step
at almost no memory cost: rows of one batch state (every state tensor has the batch on axis 1).
A stream joins between steps (its state is appended as a new row) and leaves between steps (its
row is dropped); each row picks its next token with its own settings and random generator
(``rnnkit.decoding.rows``). The step treats rows independently, so a stream's tokens do not
depend on the streams beside it (the tests compare against each stream run alone).

A prompt of at most ``STEPPED_PROMPT`` tokens is fed through the shared step, one token per
step, starting from the model's fresh state: in a batch of many streams its row costs a small
part of a step, where reading it in a call of its own costs about ten steps of the whole batch
and stalls every other stream meanwhile. A longer prompt is read in one call when it joins
(all but its last token; prompts of equal length that join together share the call).

    s_i <- 0 (or prime(prompt_i[:-1]));  y_i <- prompt_i[0] (or prompt_i[-1])
    repeat:  Z, S <- model.step(y, S)
             y_i <- the next prompt token while row i has one left, else
             y_i <- select(Z_i, settings_i, generator_i) (a token event)

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

#: prompts of at most this many tokens are fed through the shared step (see the module text)
STEPPED_PROMPT = 32


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
        self.ahead: list[list[int]] = []  # per row: prompt tokens still to feed, last first
        self.gone: list[Stream] = []  # dropped since the last ``take_gone``

    def __len__(self) -> int:
        return len(self.streams)

    def add(self, stream: Stream) -> None:
        """Append the stream as a new row (see ``add_many``)."""
        self.add_many([stream])

    @torch.no_grad()
    def add_many(self, streams: list[Stream]) -> None:
        """Append streams as new rows, in order. A short prompt starts from the fresh state and
        is fed by the steps; a longer one is read now, all but its last token (prompts of the
        same length in one call: no padding)."""
        if not streams:
            return
        read: list[Any] = [None] * len(streams)
        groups: dict[int, list[int]] = {}
        for i, stream in enumerate(streams):
            if len(stream.prompt_ids) > STEPPED_PROMPT:
                groups.setdefault(len(stream.prompt_ids), []).append(i)
        for members in groups.values():
            ids = torch.tensor([streams[i].prompt_ids[:-1] for i in members])
            _, state = self.model(ids, None)
            for row, i in enumerate(members):
                read[i] = select_rows_of(state, torch.tensor([row]))
        self._append(streams, read)

    def _append(self, streams: list[Stream], read: list[Any]) -> None:
        """New rows: the read states where given, else the fresh (zero) state."""
        if self.state is not None or any(r is not None for r in read):
            template = (
                self.state if self.state is not None else next(r for r in read if r is not None)
            )
            parts = []
            if self.streams:
                parts.append(
                    self.state if self.state is not None else zero_rows(template, len(self))
                )
            parts += [r if r is not None else zero_rows(template, 1) for r in read]
            self.state = concat_rows(parts)
        first = []
        for stream, own in zip(streams, read):
            ids = stream.prompt_ids
            first.append(ids[-1] if own is not None else ids[0])
            self.ahead.append([] if own is not None else ids[:0:-1])
        self.streams.extend(streams)
        self.tokens = torch.cat([self.tokens, torch.tensor(first, dtype=torch.long)])

    def drop_finished(self) -> list[Stream]:
        """Remove the finished (or cancelled) streams' rows; returns them."""
        gone = [s for s in self.streams if s.finished]
        if not gone:
            return gone
        self.gone.extend(gone)
        keep = [i for i, s in enumerate(self.streams) if not s.finished]
        index = torch.tensor(keep, dtype=torch.long)
        self.streams = [self.streams[i] for i in keep]
        self.ahead = [self.ahead[i] for i in keep]
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
        """Run two steps (from the fresh state, then from a state) of every row count a batch
        of up to ``max_rows`` streams steps with (1 to 8, and the padded counts), so that what
        is built on first use is built before serving: native kernels, packed weights,
        oneDNN's kernels for each shape, and the layers' state check for each row count (the
        first one imports much of ``torch.fx``, seconds)."""
        for rows in sorted({padded_rows(n) for n in range(1, max_rows + 1)}):
            tokens = torch.zeros(rows, dtype=torch.long)
            _, state = self.model.step(tokens, None)
            self.model.step(tokens, state)

    def take_gone(self) -> list[Stream]:
        """The streams dropped since the last call (finished, cancelled or timed out)."""
        gone, self.gone = self.gone, []
        return gone

    @torch.no_grad()
    def step(self) -> list[tuple[Stream, TokenEvent]]:
        """One model step for every active stream: each row past its prompt gets its next
        token's event, a row still in its prompt is fed its next prompt token. Streams that
        finish are dropped before the next step."""
        self.drop_finished()
        if not self.streams:
            return []
        logits, self.state = self._padded_step()  # (N, V)
        prompted = [i for i, a in enumerate(self.ahead) if a]
        if not prompted:  # every row samples
            streams, chosen = self.streams, self._select(logits, self.streams)
            self.tokens = chosen
        else:
            emitting = [i for i, a in enumerate(self.ahead) if not a]
            streams = [self.streams[i] for i in emitting]
            feed = self.tokens.clone()
            feed[prompted] = torch.tensor([self.ahead[i].pop() for i in prompted])
            chosen = self._select(logits[emitting], streams) if emitting else feed[:0]
            feed[emitting] = chosen
            self.tokens = feed
            logits = logits[emitting]
        logprobs = token_logprobs(logits, chosen).tolist()
        events = [(s, s.push(t, lp)) for s, t, lp in zip(streams, chosen.tolist(), logprobs)]
        self.drop_finished()
        return events

    @staticmethod
    def _select(logits: Tensor, streams: list[Stream]) -> Tensor:
        return select_rows(logits, [s.sampling for s in streams], [s.generator for s in streams])
