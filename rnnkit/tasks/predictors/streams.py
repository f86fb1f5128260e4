"""One text generation stream: its options, its random generator, and its text as it grows.

A ``Stream`` is fed one token at a time (by ``GenerationBatch``, alone or beside other streams)
and turns the tokens into ``TokenEvent``s: text is released as soon as it is certain, i.e. when
it can no longer become the start of a stop string; at a stop string the text is cut before it.
The stream ends with a finish reason: ``"length"`` (``max_tokens`` reached), ``"stop"`` (a stop
string), or a reason set from outside (``"cancelled"``, ``"time_limit"``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rnnkit.data import Tokenizer
from rnnkit.decoding.rows import RowSampling

MAX_SEED = 2**63 - 1
#: the lowest sampling temperature: below it, logits / T overflow float32 for large logits,
#: and sampling is greedy in all but name (temperature 0 asks for greedy)
MIN_TEMPERATURE = 1e-3


@dataclass
class GenerationOptions:
    """What a generation request asks for (see ``LanguageModelPredictor.generate``).

    Args:
        prompt: text to continue; empty starts after an end-of-line token.
        max_tokens: tokens to generate at most (>= 1).
        temperature: >= ``MIN_TEMPERATURE`` samples; 0 (or ``greedy``) takes the most likely
            token.
        top_k, top_p: sampling filters (None: off).
        beam: beam width; > 1 runs beam search (one hypothesis, not streamed token by token).
        stop: strings that end the text (cut before the first one found).
        seed: the sampling seed; None draws one (reported back, so any output can be redone).
        greedy: take the most likely token.
    """

    prompt: str = ""
    max_tokens: int = 200
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    beam: int = 1
    stop: Sequence[str] = ()
    seed: int | None = None
    greedy: bool = False

    def check(self) -> None:
        """Raise ValueError naming the first bad field."""
        _int_field("max_tokens", self.max_tokens, 1)
        _int_field("beam", self.beam, 1)
        if self.seed is not None:
            _int_field("seed", self.seed, 0, MAX_SEED)
        if not isinstance(self.prompt, str):
            raise ValueError(f"prompt: expected a string, got {type(self.prompt).__name__}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError("stop: expected a list of non-empty strings")
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if value is not None and not (number and math.isfinite(value)):
                raise ValueError(f"{name}: expected a finite number, got {value!r}")
        if self.temperature != 0 and not self.temperature >= MIN_TEMPERATURE:
            raise ValueError(
                f"temperature: expected 0 (greedy) or a number >= {MIN_TEMPERATURE}, got "
                f"{self.temperature}"
            )
        if self.top_k is not None:
            _int_field("top_k", self.top_k, 1)
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p: expected a number in (0, 1], got {self.top_p}")

    def sampling(self) -> RowSampling:
        greedy = self.greedy or self.temperature == 0
        return RowSampling(greedy, 1.0 if greedy else float(self.temperature), self.top_k,
                           self.top_p)  # fmt: skip


def _int_field(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"{name}: expected an integer <= {high}, got {value!r}")


@dataclass
class TokenEvent:
    """One generated token: its id, the text it released (may be empty while held back for a
    stop string) and its log-probability under the model (natural log, no temperature)."""

    id: int
    text: str
    logprob: float


@dataclass
class Generation:
    """A finished generation: ``text`` (the prompt not repeated), the token ids, why it ended
    (``length``, ``stop``, ``cancelled``, ``time_limit``) and the seed that reproduces it."""

    text: str
    tokens: list[int]
    finish_reason: str
    seed: int | None
    logprobs: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "tokens": self.tokens, "finish_reason": self.finish_reason,
                "seed": self.seed}  # fmt: skip


class Stream:
    """The decoding state of one request: feed it tokens with ``push``; see the module text."""

    def __init__(self, options: GenerationOptions, tokenizer: Tokenizer) -> None:
        options.check()
        self.options, self.tokenizer = options, tokenizer
        self.sampling = options.sampling()
        self.seed = options.seed
        if self.seed is None and not self.sampling.greedy:
            self.seed = random.SystemRandom().randrange(MAX_SEED)
        self.generator = None if self.sampling.greedy else torch.Generator().manual_seed(self.seed)
        self.prompt_ids = tokenizer.encode(options.prompt) or [tokenizer.eos_id]
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self.finish_reason: str | None = None
        self._incremental = tokenizer.level == "char"  # decode(ids) is the tokens joined
        self._pieces: dict[int, str] = {}  # token -> its text, for the incremental case
        self._text = ""
        self._emitted = 0
        self._hold = max((len(s) for s in options.stop), default=1) - 1

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def finish(self, reason: str) -> None:
        """End the stream from outside (a cancelled request, a time limit); first reason wins."""
        if self.finish_reason is None:
            self.finish_reason = reason

    def push(self, token: int, logprob: float) -> TokenEvent:
        """Take the next token; the event carries the text it makes certain."""
        self.tokens.append(token)
        self.logprobs.append(logprob)
        if self._incremental:
            piece = self._pieces.get(token)
            if piece is None:
                piece = self._pieces[token] = self.tokenizer.decode([token])
            self._text += piece
            if not self.options.stop:  # no stop string: nothing is held back, the piece is out
                if len(self.tokens) >= self.options.max_tokens:
                    self.finish("length")
                self._emitted = len(self._text)
                return TokenEvent(token, piece, logprob)
        else:
            self._text = self.tokenizer.decode(self.tokens)
        cut = _first_stop(self._text, self.options.stop, self._emitted)
        if cut is not None:
            self._text = self._text[:cut]
            self.finish("stop")
        elif len(self.tokens) >= self.options.max_tokens:
            self.finish("length")
        end = len(self._text) if self.finished else max(self._emitted, len(self._text) - self._hold)
        piece = self._text[self._emitted : end]
        self._emitted = end
        return TokenEvent(token, piece, logprob)

    def result(self) -> Generation:
        """The generation so far (call once finished)."""
        return Generation(self._text, list(self.tokens), self.finish_reason or "length",
                          self.seed, list(self.logprobs))  # fmt: skip


def _first_stop(text: str, stop: Sequence[str], start: int) -> int | None:
    """Where the first stop string begins in ``text``; ``start``: none can begin before it (the
    text before it was released, and held-back text covers any stop string's start)."""
    hits = [i for i in (text.find(s, start) for s in stop) if i >= 0]
    return min(hits) if hits else None
