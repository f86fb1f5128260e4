"""The tokenizer contract: what every rnnkit tokenizer offers, and how it is saved.

A tokenizer maps text to integer ids and back. Every implementation (``rnnkit.data.tokenizers``)
has ``encode``, ``decode``, ``vocab_size``, ``level``, ``unk_id``/``eos_id`` and
``id_to_token``/``token_to_id``; ``save(directory)`` writes ``directory/tokenizer.json``: plain
JSON with a top-level ``"type"`` (the level), never pickle, so loading runs no code.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rnnkit.data.vocab import EOS, UNK

FILENAME = "tokenizer.json"


class Tokenizer:
    """The interface every tokenizer implements.

    Subclasses set ``level`` and implement ``encode``, ``decode``, ``vocab_size``,
    ``id_to_token``, ``token_to_id``, ``to_dict`` and ``from_dict``; ``save``, ``unk_id`` and
    ``eos_id`` come from here.
    """

    level: ClassVar[str] = ""

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""
        raise NotImplementedError

    def decode(self, ids: Sequence[int]) -> str:
        """Text of a sequence of ids."""
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        """Number of ids, specials included: valid ids are ``0 .. vocab_size - 1``."""
        raise NotImplementedError

    def id_to_token(self, i: int) -> str:
        """The token string of id ``i``."""
        raise NotImplementedError

    def token_to_id(self, token: str) -> int:
        """The id of ``token``; ``unk_id`` for an unknown token."""
        raise NotImplementedError

    @property
    def unk_id(self) -> int:
        """Id of ``<unk>``."""
        return self.token_to_id(UNK)

    @property
    def eos_id(self) -> int:
        """Id of ``<eos>``."""
        return self.token_to_id(EOS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready contents of ``tokenizer.json``, with ``"type"`` set to ``level``."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Tokenizer:
        """Rebuild from ``to_dict()`` output."""
        raise NotImplementedError

    def save(self, directory: str | Path) -> None:
        """Write ``directory/tokenizer.json`` atomically (temp file + rename)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{FILENAME}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_dict(), f, ensure_ascii=False)
            os.replace(tmp, directory / FILENAME)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"
