"""Text generation from a trained language model: prompt in, text streamed out.

The prompt primes the state in one call over its tokens (all but the last); decoding then
continues from the last prompt token with ``rnnkit.decoding`` (greedy, temperature, top-k,
top-p, or beam search). Text is yielded as soon as it is certain: the tail that could still
become a stop string is held back until it cannot.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

from rnnkit.data import Tokenizer
from rnnkit.decoding import beam_search, generate_tokens
from rnnkit.models import LanguageModel
from rnnkit.training.evaluation import model_device


@torch.no_grad()
def _prime(model: LanguageModel, ids: list[int]) -> tuple[object, torch.Tensor]:
    """State after reading ``ids[:-1]`` and the token to feed next, ``ids[-1]``."""
    state, device = None, model_device(model)
    if len(ids) > 1:
        _, state = model(torch.tensor([ids[:-1]], device=device), None)
    return state, torch.tensor([ids[-1]], device=device)


def _cut_at_stop(text: str, stop: Sequence[str]) -> int | None:
    hits = [i for i in (text.find(s) for s in stop) if i >= 0]
    return min(hits) if hits else None


def generate_text(
    model: LanguageModel,
    tokenizer: Tokenizer,
    prompt: str = "",
    max_tokens: int = 200,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    greedy: bool = False,
    beam: int = 1,
    seed: int | None = None,
    stop: Sequence[str] = (),
) -> Iterator[str]:
    """Yield generated text in pieces (the prompt itself is not repeated).

    Args:
        prompt: text to continue; empty starts after an end-of-line token.
        max_tokens: tokens to generate at most.
        temperature, top_k, top_p: sampling filters; ``greedy`` takes the argmax.
        beam: beam width; > 1 runs beam search and yields the best hypothesis at once.
        seed: makes sampling reproducible.
        stop: strings that end generation; the text is cut before the first one.

    Example:
        >>> for piece in generate_text(lm, tok, "ROMEO.", 100, temperature=0.8, seed=1):
        ...     print(piece, end="", flush=True)
    """
    if max_tokens < 1:
        raise ValueError(f"generate_text: max_tokens must be >= 1, got {max_tokens}")
    model.eval()
    ids = tokenizer.encode(prompt) or [tokenizer.eos_id]
    state, first = _prime(model, ids)
    if beam > 1:
        best = beam_search(model, state, first, max_tokens, beam)[0][0]
        text = tokenizer.decode(best.tokens)
        cut = _cut_at_stop(text, stop)
        yield text if cut is None else text[:cut]
        return
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    tokens = generate_tokens(
        model, state, first, max_tokens, strategy="greedy" if greedy else "sample",
        temperature=temperature, top_k=top_k, top_p=top_p, generator=generator,
    )  # fmt: skip
    hold = max((len(s) for s in stop), default=1) - 1
    out: list[int] = []
    emitted = 0
    for step in tokens:
        out.append(int(step[0]))
        text = tokenizer.decode(out)
        cut = _cut_at_stop(text, stop)
        if cut is not None:
            yield text[emitted:cut]
            return
        safe = len(text) - hold
        if safe > emitted:
            yield text[emitted:safe]
            emitted = safe
    text = tokenizer.decode(out)
    if len(text) > emitted:
        yield text[emitted:]
