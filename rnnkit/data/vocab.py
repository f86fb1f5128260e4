"""A vocabulary: the two-way table between tokens and integer ids.

Special tokens come first, in the order given (``<unk>`` = 0, ``<eos>`` = 1 by default); the
other tokens follow by decreasing frequency, ties broken by the token itself, so the same counts
always give the same ids. Unknown tokens map to ``<unk>``. The table is saved as plain JSON.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

UNK = "<unk>"
EOS = "<eos>"
SPECIALS: tuple[str, ...] = (UNK, EOS)


class Vocab:
    """Token <-> id table with special tokens at the front.

    Args:
        tokens: every token in id order; must start with ``specials`` and hold no duplicates.
        specials: the special tokens, which must include ``<unk>``.

    Example:
        >>> v = Vocab.from_counts(Counter("abracadabra"))
        >>> v.tokens[:4], v.to_id("a"), v.to_id("z") == v.unk_id
        (['<unk>', '<eos>', 'a', 'b'], 2, True)
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = SPECIALS) -> None:
        tokens = list(tokens)
        specials = list(specials)
        if UNK not in specials or tokens[: len(specials)] != specials:
            raise ValueError(
                f"Vocab: expected the tokens to start with the specials {specials} "
                f"(which must include {UNK!r}), got {tokens[: len(specials)]}"
            )
        index = {t: i for i, t in enumerate(tokens)}
        if len(index) != len(tokens):
            dupes = sorted(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"Vocab: duplicate tokens {dupes[:10]}")
        self.tokens = tokens
        self.specials = specials
        self._index = index
        self.unk_id = index[UNK]

    @classmethod
    def from_counts(
        cls,
        counts: Counter[str],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = SPECIALS,
    ) -> Vocab:
        """Keep tokens seen at least ``min_freq`` times, the ``max_size`` most frequent.

        Args:
            counts: token frequencies; counts of special tokens are ignored.
            min_freq: drop tokens seen fewer times.
            max_size: keep at most this many non-special tokens (None: all).
            specials: special tokens placed first.
        """
        if min_freq < 1:
            raise ValueError(f"Vocab: min_freq must be >= 1, got {min_freq}")
        if max_size is not None and max_size < 0:
            raise ValueError(f"Vocab: max_size must be >= 0 or None, got {max_size}")
        kept = [(t, c) for t, c in counts.items() if c >= min_freq and t not in specials]
        kept.sort(key=lambda tc: (-tc[1], tc[0]))
        if max_size is not None:
            kept = kept[:max_size]
        return cls([*specials, *(t for t, _ in kept)], specials)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def to_id(self, token: str) -> int:
        """The id of ``token``; ``unk_id`` for a token not in the table."""
        return self._index.get(token, self.unk_id)

    def to_ids(self, tokens: Iterable[str]) -> list[int]:
        """Ids of many tokens; unknown ones map to ``unk_id``."""
        get, unk = self._index.get, self.unk_id
        return [get(t, unk) for t in tokens]

    def to_token(self, i: int) -> str:
        """The token with id ``i``; raises IndexError naming the valid range."""
        if not 0 <= i < len(self.tokens):
            raise IndexError(f"Vocab: id {i} is out of range [0, {len(self.tokens)})")
        return self.tokens[i]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"tokens": [...], "specials": [...]}``."""
        return {"tokens": list(self.tokens), "specials": list(self.specials)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocab:
        """Rebuild from ``to_dict()`` output."""
        return cls(d["tokens"], d.get("specials", SPECIALS))
