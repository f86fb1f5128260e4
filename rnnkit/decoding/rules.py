"""Rules that forbid some next tokens during beam search: minimum length, repeated n-grams, a
phrase said twice in a row.

A rule is a small automaton run beside the search, one state per beam row:

- ``begin(inputs)``: the state for rows whose inputs are ``inputs`` (R,) (row r decodes input
  ``inputs[r]``), before any token is generated;
- ``allowed(state, history, vocab_size)``: (R, V) bool, True where a token may come next, or
  None when the rule allows everything at this step; ``history`` (R, t) holds the tokens
  generated so far (without the first token fed);
- ``advance(state, rows, tokens)``: the state after the search kept rows ``rows`` (R,) and
  appended ``tokens`` (R,) to them.

Beam search sets the log-probability of a forbidden token to -inf before ranking; the scores of
allowed tokens stay the model's own (no renormalisation). ``rnnkit.decoding.constraints`` holds a
rule with real state (placeholder counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor


@runtime_checkable
class TokenRule(Protocol):
    """What beam search needs from a rule (see the module docstring)."""

    def begin(self, inputs: Tensor) -> Any: ...

    def allowed(self, state: Any, history: Tensor, vocab_size: int) -> Tensor | None: ...

    def advance(self, state: Any, rows: Tensor, tokens: Tensor) -> Any: ...


class MinLength:
    """Forbid ``eos_id`` until ``min_length`` tokens (eos excluded) were generated.

    Args:
        min_length: the fewest tokens before eos, >= 0.
        eos_id: the end-of-sequence token.

    Example:
        >>> rule = MinLength(3, eos_id=0)
        >>> rule.allowed(None, torch.zeros(2, 1, dtype=torch.long), 4)[0].tolist()
        [False, True, True, True]
    """

    def __init__(self, min_length: int, eos_id: int) -> None:
        self.min_length, self.eos_id = min_length, eos_id

    def begin(self, inputs: Tensor) -> None:
        return None

    def allowed(self, state: None, history: Tensor, vocab_size: int) -> Tensor | None:
        if history.shape[1] >= self.min_length or self.eos_id >= vocab_size:
            return None
        keep = torch.ones(history.shape[0], vocab_size, dtype=torch.bool, device=history.device)
        keep[:, self.eos_id] = False
        return keep

    def advance(self, state: None, rows: Tensor, tokens: Tensor) -> None:
        return None


class NoRepeatNgram:
    """Forbid a token that would repeat an n-gram already in the output.

    With prefix y_1..y_t, token v is forbidden when (y_{t-n+2} .. y_t, v) equals some
    (y_j .. y_{j+n-1}) with j + n - 1 <= t. ``n = 1`` forbids every token already generated.

    Args:
        size: n, >= 1.

    Shape:
        history (R, t) -> allowed (R, V).

    Example:
        >>> rule = NoRepeatNgram(2)
        >>> rule.allowed(None, torch.tensor([[1, 2, 1]]), 4)[0].tolist()  # "1 2" was seen
        [True, True, False, True]
    """

    def __init__(self, size: int) -> None:
        self.size = size

    def begin(self, inputs: Tensor) -> None:
        return None

    def allowed(self, state: None, history: Tensor, vocab_size: int) -> Tensor | None:
        n, (r, t) = self.size, history.shape
        if t < n:  # no complete n-gram yet
            return None
        grams = history.unfold(1, n, 1)  # (R, M, n): every n-gram so far
        # an n-gram's first n-1 tokens must equal the current tail for its last one to be banned
        if n > 1:
            tail = history[:, t - n + 1 :]  # (R, n-1)
            match = (grams[:, :, :-1] == tail[:, None, :]).all(-1)  # (R, M)
        else:
            match = torch.ones(grams.shape[:2], dtype=torch.bool, device=history.device)
        banned = torch.zeros(r, vocab_size + 1, dtype=torch.bool, device=history.device)
        last = torch.where(match, grams[:, :, -1], vocab_size)  # no match: a spare column
        banned.scatter_(1, last.clamp(max=vocab_size), True)
        return ~banned[:, :vocab_size]

    def advance(self, state: None, rows: Tensor, tokens: Tensor) -> None:
        return None


class NoAdjacentRepeat:
    """Forbid a token that would say a phrase twice in a row ("points points", "La base de la
    base"): the output may not end with A A', where A is 1 to ``longest`` tokens that starts a
    word and holds a letter, and A' the same tokens up to case and leading white space.

    Tokens are compared by ``keys``: two tokens with the same key count as the same (the
    vocabulary's "La" and " la"). With prefix y_1..y_t, token v is forbidden when, for some
    k <= ``longest``, (y_{t-k+2} .. y_t, v) matches (y_{t-2k+2} .. y_{t-k+1}) key for key,
    y_{t-2k+2} starts a word and one of those k tokens holds a letter. Which tokens start a word
    or hold a letter comes from the vocabulary (``word_starts``, ``letters``), so a repeat
    inside a word ("ll", "coco") or of punctuation ("... ...") stays allowed.

    Args:
        word_starts: (V,) bool, True for tokens that begin with white space (a new word); the
            output's first token starts a word whatever it is.
        letters: (V,) bool, True for tokens that hold a letter.
        keys: (V,) long, equal for tokens that count as the same (default: each its own).
        longest: the longest repeated phrase checked, in tokens.

    Ids at or past V (words a pointer-generator copies from its source) each count as a word
    of their own that holds a letter.

    Shape:
        history (R, t) -> allowed (R, V'), V' the search's vocabulary (V plus copied words).

    Example:
        >>> starts, letters = torch.tensor([True, True, False]), torch.tensor([True, True, True])
        >>> rule = NoAdjacentRepeat(starts, letters)
        >>> rule.allowed(None, torch.tensor([[0, 1]]), 3)[0].tolist()  # "1 1" would repeat
        [True, False, True]
    """

    def __init__(
        self, word_starts: Tensor, letters: Tensor, keys: Tensor | None = None, longest: int = 8
    ) -> None:
        self.word_starts, self.letters, self.longest = word_starts, letters, longest
        self.keys = torch.arange(len(word_starts)) if keys is None else keys

    @classmethod
    def from_texts(cls, texts: Sequence[str], words: bool = False) -> NoAdjacentRepeat:
        """The rule for a vocabulary given as each id's text ("" for special tokens): a token
        starts a word when its text begins with white space (every token when ``words``: a
        word-level vocabulary), holds a letter when its text does, and two tokens count as the
        same when their texts do without case and leading white space."""
        starts = torch.tensor([words or t[:1].isspace() for t in texts], dtype=torch.bool)
        letters = torch.tensor([any(c.isalpha() for c in t) for t in texts], dtype=torch.bool)
        seen: dict[str, int] = {}
        keys = [seen.setdefault(t.strip().lower() or f"\0{i}", len(seen))
                for i, t in enumerate(texts)]  # fmt: skip
        return cls(starts, letters, torch.tensor(keys))

    def begin(self, inputs: Tensor) -> None:
        return None

    def allowed(self, state: None, history: Tensor, vocab_size: int) -> Tensor | None:
        r, t = history.shape
        if t == 0:
            return None
        size = max(vocab_size, int(history.max()) + 1, len(self.keys))
        starts, letters, keys = self._extended(size, history.device)
        starts = starts[history]
        starts[:, 0] = True
        letters = letters[history]
        seen = keys[history]  # (R, t)
        banned = torch.zeros(r, vocab_size, dtype=torch.bool, device=history.device)
        vocab_keys = keys[:vocab_size]
        for k in range(1, min(self.longest, (t + 1) // 2) + 1):
            first = slice(t - 2 * k + 1, t - k + 1)  # the earlier A: k tokens
            same = (seen[:, first][:, : k - 1] == seen[:, t - k + 1 :]).all(-1)
            hit = same & starts[:, first.start] & letters[:, first].any(-1)
            if hit.any():  # most steps of most rows: no half-said repeat to complete
                needed = seen[:, first.stop - 1]  # (R,): the key that would complete A A'
                banned |= hit[:, None] & (vocab_keys[None, :] == needed[:, None])
        return ~banned

    def _extended(self, size: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        """``word_starts``, ``letters`` and ``keys`` for ids ``0 .. size - 1``: an id past the
        vocabulary (a pointer-generator's copied source word) is a word with letters and a key
        of its own."""
        extra = size - len(self.keys)
        starts, letters = self.word_starts.to(device), self.letters.to(device)
        keys = self.keys.to(device)
        if extra <= 0:
            return starts, letters, keys
        more = torch.ones(extra, dtype=torch.bool, device=device)
        own = torch.arange(extra, device=device) + int(keys.max()) + 1
        return torch.cat([starts, more]), torch.cat([letters, more]), torch.cat([keys, own])

    def advance(self, state: None, rows: Tensor, tokens: Tensor) -> None:
        return None
