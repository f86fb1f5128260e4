"""Predictor for a trained language model: generate text, whole or streamed token by token.

Sampling and greedy decoding run through ``GenerationBatch`` with one stream: the code path
``rnnkit serve`` runs with many. Beam search (``beam`` > 1) decodes the best hypothesis with
``rnnkit.decoding.beam_search``, then reports it token by token.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from rnnkit.data import Tokenizer
from rnnkit.decoding import beam_search
from rnnkit.models import LanguageModel
from rnnkit.tasks.predictors.base import Predictor
from rnnkit.tasks.predictors.generation import GenerationBatch
from rnnkit.tasks.predictors.streams import Generation, GenerationOptions, Stream, TokenEvent


class LanguageModelPredictor(Predictor):
    """A trained ``LanguageModel`` with its tokenizer.

    Example:
        >>> lm = rnnkit.load("runs/shakespeare")
        >>> lm.generate("ROMEO.", max_tokens=80, temperature=0.8, seed=1).text  # doctest: +SKIP
        >>> for token in lm.stream("JULIET.", max_tokens=80, top_p=0.9):
        ...     print(token.text, end="", flush=True)
    """

    task = "lm"
    methods = ("generate", "stream")

    def __init__(
        self, model: LanguageModel, tokenizer: Tokenizer, path: str | Path, meta: dict[str, Any]
    ) -> None:
        super().__init__(model, path, meta)
        self.tokenizer = tokenizer

    def vocab_size(self) -> int:
        return self.tokenizer.vocab_size

    def new_stream(self, options: GenerationOptions) -> Stream:
        """A stream for ``options`` (checked: ValueError names the bad field)."""
        return Stream(options, self.tokenizer)

    def stream(
        self,
        prompt: str = "",
        max_tokens: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        beam: int = 1,
        stop: Sequence[str] = (),
        seed: int | None = None,
        greedy: bool = False,
    ) -> Iterator[TokenEvent]:
        """Yield a ``TokenEvent`` (id, released text, log-probability) per generated token.

        Args: as ``generate``. Options are checked before the first token.
        """
        options = GenerationOptions(prompt, max_tokens, temperature, top_k, top_p, beam,
                                    tuple(stop), seed, greedy)  # fmt: skip
        run = self.run(self.new_stream(options))
        return (event for event in run)

    def generate(
        self,
        prompt: str = "",
        max_tokens: int = 200,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        beam: int = 1,
        stop: Sequence[str] = (),
        seed: int | None = None,
        greedy: bool = False,
    ) -> Generation:
        """Continue ``prompt``; the prompt is not repeated in the result.

        Args:
            prompt: text to continue (empty: start after an end-of-line token).
            max_tokens: tokens to generate at most.
            temperature: > 0 samples from softmax(z / t); 0 means greedy.
            top_k, top_p: sampling filters (None: off).
            beam: beam width; > 1 runs beam search.
            stop: strings that end the text (cut before the first one).
            seed: sampling seed (None: a fresh one, reported in the result).
            greedy: always take the most likely token.

        Returns:
            ``Generation(text, tokens, finish_reason, seed, logprobs)``.
        """
        options = GenerationOptions(prompt, max_tokens, temperature, top_k, top_p, beam,
                                    tuple(stop), seed, greedy)  # fmt: skip
        stream = self.new_stream(options)
        for _ in self.run(stream):
            pass
        return stream.result()

    def run(self, stream: Stream) -> Generator[TokenEvent, None, None]:
        """Drive one stream to its end, alone, yielding its events."""
        if stream.options.beam > 1:
            yield from self._beam(stream)
            return
        batch = GenerationBatch(self.model)
        batch.add(stream)
        while batch.streams:
            for _, event in batch.step():
                yield event

    @torch.no_grad()
    def _beam(self, stream: Stream) -> Iterator[TokenEvent]:
        """Beam search for the best hypothesis, then its tokens with their log-probabilities."""
        ids = stream.prompt_ids
        state = self.model(torch.tensor([ids[:-1]]))[1] if len(ids) > 1 else None
        first = torch.tensor([ids[-1]])
        best = beam_search(self.model, state, first, stream.options.max_tokens,
                           stream.options.beam,
                           should_stop=lambda: stream.finished)[0][0].tokens  # fmt: skip
        if stream.finished:  # ended from outside (a time limit): its reason, no tokens
            return
        if not best:
            stream.finish("length")
            return
        inputs = torch.tensor([[ids[-1], *best[:-1]]])
        logits, _ = self.model(inputs, state)  # (1, T, V)
        logprobs = logits[0].float().log_softmax(-1).gather(1, torch.tensor(best)[:, None])
        for token, lp in zip(best, logprobs[:, 0].tolist()):
            yield stream.push(token, lp)
            if stream.finished:
                return
        stream.finish("length")
