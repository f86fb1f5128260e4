"""Pretrained word vectors in text form (word2vec, GloVe) and the embedding matrix built from them.

Both formats hold one vector per line, fields separated by spaces:

    word2vec   3 4                  <- header: count dim
               the 0.1 0.2 0.3 0.4
    GloVe      the 0.1 0.2 0.3 0.4  <- no header

The header is recognised by the first line being exactly two integers. A word may contain
spaces (a few GloVe lines do): the fields before the last ``dim`` numbers form the word, as long
as they are not numbers themselves. The file is streamed line by line, and with ``vocab_tokens``
only the vectors that can serve the vocabulary are kept, so a multi-gigabyte file fits.

Words that have no vector start from a normal distribution with the spread of the pretrained
ones (as in Kim 2014, "Convolutional Neural Networks for Sentence Classification"), so they
are neither dominant nor negligible next to the pretrained rows.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import torch
from torch import Tensor

from rnnkit.data.errors import DataError

_BOM = b"\xef\xbb\xbf"


@dataclass
class WordVectors:
    """Words and their vectors: row ``i`` of ``vectors`` belongs to ``words[i]``.

    Shape:
        vectors: (V, D) float32.
    """

    words: list[str]
    vectors: Tensor
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.vectors.dim() != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(
                f"WordVectors: expected vectors of shape ({len(self.words)}, D), "
                f"got {tuple(self.vectors.shape)}"
            )
        self.index = {word: i for i, word in enumerate(self.words)}

    @property
    def dim(self) -> int:
        """D, the size of each vector."""
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index


def load_word_vectors(
    path: str | Path, vocab_tokens: Sequence[str] | None = None, dim: int | None = None
) -> WordVectors:
    """Read word2vec or GloVe text vectors (formats in the module docstring).

    Args:
        path: the vector file (strict UTF-8).
        vocab_tokens: when given, keep only the words equal to a token or to its lowercase
            (the two matches ``build_embedding_matrix`` tries); the other lines are only
            checked for their number of fields.
        dim: the expected vector size; None takes it from the header or the first vector.

    Returns:
        ``WordVectors`` in file order; a word listed twice keeps its first vector.

    Raises:
        DataError: ``file:line: expected D values, found K``, a field that is not a number,
            bad UTF-8, a header disagreeing with ``dim``, an unreadable or empty file.

    Example:
        >>> wv = load_word_vectors("glove.6B.100d.txt", vocab.tokens)  # doctest: +SKIP
        >>> wv.vectors.shape  # doctest: +SKIP
        torch.Size([18412, 100])
    """
    name = str(path)
    keep = None if vocab_tokens is None else {w for t in vocab_tokens for w in (t, t.lower())}
    words: list[str] = []
    seen: set[str] = set()
    values = array("f")
    first = True
    for number, line in _decoded_lines(name):
        fields = [f for f in line.rstrip().split(" ") if f]
        if not fields:
            continue
        where = f"{name}:{number}"
        if first and len(fields) == 2 and all(_is_int(f) for f in fields):
            dim = _header_dim(int(fields[1]), dim, where)
            first = False
            continue
        if first and dim is None:
            dim = len(fields) - 1
        first = False
        assert dim is not None  # set by the header or the first line
        word, numbers = _split_vector_line(fields, dim, where)
        if word not in seen and (keep is None or word in keep):
            values.extend(_parse_numbers(numbers, where))
            words.append(word)
            seen.add(word)
    if first:
        raise DataError(f"{name}: the file is empty")
    flat = torch.frombuffer(values, dtype=torch.float32).clone() if words else torch.zeros(0)
    assert dim is not None  # the file is not empty
    vectors = flat.reshape(len(words), dim)
    return WordVectors(words, vectors)


def _decoded_lines(name: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of each line, decoded strictly; errors name the byte."""
    try:
        handle: BinaryIO = open(name, "rb")  # closed by the `with` below
    except FileNotFoundError:
        raise DataError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{name}: is a directory, expected a vector file") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    with handle:
        offset = 0
        for number, raw in enumerate(handle, start=1):
            skip = len(_BOM) if number == 1 and raw.startswith(_BOM) else 0
            try:
                yield number, raw[skip:].decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = offset + skip + exc.start
                raise DataError(
                    f"{name}:{number}: invalid UTF-8 byte 0x{raw[skip + exc.start]:02x} "
                    f"at byte offset {bad}"
                ) from None
            offset += len(raw)


def _is_int(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header_dim(header_dim: int, dim: int | None, where: str) -> int:
    if header_dim < 1 or (dim is not None and header_dim != dim):
        expected = f"{dim}" if dim is not None else "at least 1"
        raise DataError(f"{where}: the header gives {header_dim} dimensions, expected {expected}")
    return header_dim


def _split_vector_line(fields: list[str], dim: int, where: str) -> tuple[str, list[str]]:
    """(word, its ``dim`` number fields); a word of several fields is joined with spaces."""
    if dim < 1:
        raise DataError(f"{where}: expected a word followed by its values, found {fields[0]!r}")
    extra = len(fields) - 1 - dim
    if extra < 0 or (extra > 0 and any(_is_number(f) for f in fields[1 : 1 + extra])):
        raise DataError(f"{where}: expected {dim} values, found {len(fields) - 1}")
    return " ".join(fields[: 1 + extra]), fields[1 + extra :]


def _parse_numbers(fields: list[str], where: str) -> array:
    try:
        return array("f", map(float, fields))
    except ValueError:
        bad = next(f for f in fields if not _is_number(f))
        raise DataError(f"{where}: expected a number, found {bad!r}") from None


def build_embedding_matrix(
    vocab_tokens: Sequence[str],
    vectors: WordVectors,
    dim: int | None = None,
    init_std: float | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, int]:
    """Rows for a vocabulary: the pretrained vector where there is one, small noise elsewhere.

    Token ``t`` takes the vector of ``t``, else of ``t.lower()``; the others are drawn from

        N(0, init_std^2),   init_std = std of the pretrained values when None (0.1 if empty)

    Args:
        vocab_tokens: the vocabulary in id order (specials included).
        vectors: the pretrained vectors, e.g. from ``load_word_vectors``.
        dim: the embedding size the matrix is for (e.g. the model's); None: ``vectors.dim``.
        init_std: standard deviation of the random rows.
        generator: random generator for the random rows (default: torch's global one).

    Returns:
        (matrix, n_found): the (V, D) float32 matrix and how many tokens had a vector.

    Raises:
        ValueError: ``dim`` differs from the size of the pretrained vectors.

    Example:
        >>> matrix, found = build_embedding_matrix(vocab.tokens, wv, 100)  # doctest: +SKIP
        >>> embedding.weight.data.copy_(matrix)  # doctest: +SKIP
    """
    if dim is not None and dim != vectors.dim:
        raise ValueError(
            f"build_embedding_matrix: the pretrained vectors have {vectors.dim} dimensions, "
            f"expected {dim} (the embedding size)"
        )
    if init_std is None:
        values = vectors.vectors
        init_std = float(values.std()) if values.numel() > 1 else 0.1
    matrix = torch.randn(len(vocab_tokens), vectors.dim, generator=generator) * init_std
    targets, sources = [], []
    for i, token in enumerate(vocab_tokens):
        row = vectors.index.get(token, vectors.index.get(token.lower()))
        if row is not None:
            targets.append(i)
            sources.append(row)
    if targets:
        matrix[torch.tensor(targets)] = vectors.vectors[torch.tensor(sources)]
    return matrix, len(targets)
