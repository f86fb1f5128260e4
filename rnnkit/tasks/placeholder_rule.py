"""Constrained decoding for masked placeholders: each source symbol exactly as often as in the
source, and no symbol the source lacks.

Placeholder k is the character U+E000 + k (``rnnkit.data.placeholders``), three bytes in UTF-8:
``EE 80 (80 + k)`` for k < 64. A target token is a byte string (a byte-level BPE token may hold
part of a symbol, or a symbol with the space before it), so the rule reads tokens byte by byte
with three pending states: 0 (nothing started), 1 (after ``EE``), 2 (after ``EE 80``); byte
``80 + k`` in state 2 completes symbol k. ``placeholder_automaton`` tabulates, for every token
and pending state, the symbols it completes and the state it leaves, for
``rnnkit.decoding.SymbolCounts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor

from rnnkit.data import Tokenizer
from rnnkit.data.placeholders import FIRST, LIMIT
from rnnkit.decoding import SymbolCounts

LEAD, SECOND = 0xEE, 0x80  # the first two UTF-8 bytes of U+E000 .. U+E03F


@lru_cache(maxsize=1)
def _byte_level_alphabet() -> dict[str, int]:
    """The byte-level BPE alphabet (GPT-2's printable stand-ins for bytes) -> byte values."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:  # bytes without a printable glyph take the code points from 256 upwards
            chars[chr(256 + extra)] = b
            extra += 1
    return chars


def token_bytes(tokenizer: Tokenizer) -> list[bytes]:
    """The UTF-8 bytes each token id stands for (byte-level BPE tokens read byte by byte)."""
    out = []
    alphabet = _byte_level_alphabet() if tokenizer.level == "bpe" else None
    for i in range(tokenizer.vocab_size):
        token = tokenizer.id_to_token(i)
        if alphabet is not None and all(c in alphabet for c in token):
            out.append(bytes(alphabet[c] for c in token))
        else:  # specials of a BPE vocabulary, and word or character tokens
            out.append(token.encode("utf-8"))
    return out


def _read(data: bytes, pending: int, counts: list[int]) -> int:
    """Run the automaton over ``data`` from ``pending``; add completed symbols to ``counts``."""
    for b in data:
        if pending == 2 and SECOND <= b < SECOND + LIMIT:
            counts[b - SECOND] += 1
            pending = 0
        elif pending == 1 and b == SECOND:
            pending = 2
        else:
            pending = 1 if b == LEAD else 0
    return pending


def placeholder_automaton(tokens: Sequence[bytes]) -> tuple[Tensor, Tensor]:
    """``delta`` (V, 3, 64) and ``moves`` (V, 3) of ``SymbolCounts`` for these token bytes."""
    delta = torch.zeros(len(tokens), 3, LIMIT, dtype=torch.int16)
    moves = torch.zeros(len(tokens), 3, dtype=torch.long)
    for v, data in enumerate(tokens):
        if LEAD not in data and not any(SECOND <= b < SECOND + LIMIT for b in data):
            continue  # no symbol byte: counts unchanged, pending state reset (0)
        for p in range(3):
            counts = [0] * LIMIT
            moves[v, p] = _read(data, p, counts)
            delta[v, p] = torch.tensor(counts, dtype=torch.int16)
    return delta, moves


def symbol_counts(masked: str) -> list[int]:
    """How often each of the 64 symbols occurs in a masked text."""
    counts = [0] * LIMIT
    for ch in masked:
        k = ord(ch) - FIRST
        if 0 <= k < LIMIT:
            counts[k] += 1
    return counts


class PlaceholderConstraint:
    """Builds the per-batch rule for a target tokenizer (the token table is computed once).

    Example:
        >>> constraint = PlaceholderConstraint(tokenizer)  # doctest: +SKIP
        >>> rule = constraint.rule(["Open \\ue000"], eos_id=tokenizer.eos_id)  # doctest: +SKIP
        >>> beam_search(model, state, first, 50, 5, eos_id=eos, rules=[rule])  # doctest: +SKIP
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.delta, self.moves = placeholder_automaton(token_bytes(tokenizer))
        # a symbol no token completes (a word vocabulary that never saw it) is not required
        self.producible = self.delta.flatten(0, 1).ne(0).any(0).long()  # (64,)

    def rule(self, masked_sources: Sequence[str], eos_id: int) -> SymbolCounts:
        """The rule for a batch of masked sources: each symbol as often as in its source."""
        required = torch.tensor([symbol_counts(s) for s in masked_sources], dtype=torch.long)
        return SymbolCounts(self.delta, self.moves, required * self.producible, eos_id)
