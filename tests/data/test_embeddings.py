"""Word vectors: word2vec and GloVe text formats, vocabulary filtering, the embedding matrix."""

from __future__ import annotations

import re

import pytest
import torch

from rnnkit.data import DataError, WordVectors, build_embedding_matrix, load_word_vectors

GLOVE = "the 0.1 0.2 0.3\nCat 1 2 3\ndog -1.5 0 2.5e-1\n"


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_glove_format(tmp_path) -> None:
    wv = load_word_vectors(_write(tmp_path, "glove.txt", GLOVE))
    assert wv.words == ["the", "Cat", "dog"] and wv.dim == 3 and len(wv) == 3
    assert wv.vectors.dtype == torch.float32
    expected = torch.tensor([[0.1, 0.2, 0.3], [1, 2, 3], [-1.5, 0, 0.25]])
    torch.testing.assert_close(wv.vectors, expected)
    assert wv.index["dog"] == 2 and "Cat" in wv and "cat" not in wv


def test_word2vec_header_is_skipped_and_checked(tmp_path) -> None:
    path = _write(tmp_path, "w2v.txt", "3 3\n" + GLOVE.replace("\n", " \n"))  # trailing spaces
    wv = load_word_vectors(path, dim=3)
    assert wv.words == ["the", "Cat", "dog"]
    torch.testing.assert_close(wv.vectors[1], torch.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(DataError) as info:
        load_word_vectors(path, dim=4)
    assert str(info.value) == f"{path}:1: the header gives 3 dimensions, expected 4"


def test_vocab_filter_keeps_exact_and_lowercase_matches(tmp_path) -> None:
    path = _write(tmp_path, "glove.txt", GLOVE + "the 9 9 9\n")  # a repeat keeps the first
    wv = load_word_vectors(path, vocab_tokens=["The", "cat", "unknown"])
    assert wv.words == ["the"]  # "the" serves "The" (lowercase); "Cat" serves neither
    torch.testing.assert_close(wv.vectors, torch.tensor([[0.1, 0.2, 0.3]]))
    empty = load_word_vectors(path, vocab_tokens=["zebra"])
    assert len(empty) == 0 and empty.vectors.shape == (0, 3)


def test_words_with_spaces(tmp_path) -> None:
    wv = load_word_vectors(_write(tmp_path, "g.txt", "a 1 2\n. . . 3 4\n"))
    assert wv.words == ["a", ". . ."]
    torch.testing.assert_close(wv.vectors[1], torch.tensor([3.0, 4.0]))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("the 1 2 3\ncat 1 2\n", "2: expected 3 values, found 2"),
        ("the 1 2 3\ncat 1 2 3 4\n", "2: expected 3 values, found 4"),
        ("2 3\nthe 1 2 3\ncat 1 2 x\n", "3: expected a number, found 'x'"),
        ("the\n", "1: expected a word followed by its values, found 'the'"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, text: str, message: str) -> None:
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(DataError) as info:
        load_word_vectors(path)
    assert str(info.value) == f"{path}:{message}"


def test_dim_argument_checks_the_first_line(tmp_path) -> None:
    path = _write(tmp_path, "g.txt", GLOVE)
    with pytest.raises(DataError, match=re.escape(f"{path}:1: expected 2 values, found 3")):
        load_word_vectors(path, dim=2)


def test_file_errors(tmp_path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"a 1 2\nb\xff 1 2\n")
    with pytest.raises(DataError) as info:
        load_word_vectors(path)
    assert str(info.value) == f"{path}:2: invalid UTF-8 byte 0xff at byte offset 7"
    with pytest.raises(DataError, match=re.escape(f"{tmp_path / 'e.txt'}: the file is empty")):
        load_word_vectors(_write(tmp_path, "e.txt", "\n \n"))
    with pytest.raises(DataError, match="no such file"):
        load_word_vectors(tmp_path / "missing.txt")


def test_build_embedding_matrix_fills_found_rows() -> None:
    wv = WordVectors(["the", "Cat"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    vocab = ["<unk>", "The", "Cat", "cat", "zebra"]
    matrix, found = build_embedding_matrix(vocab, wv, 2, init_std=0.01)
    assert matrix.shape == (5, 2) and found == 2  # "The" via lowercase, "Cat" exactly
    torch.testing.assert_close(matrix[1], torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(matrix[2], torch.tensor([3.0, 4.0]))
    random_rows = matrix[[0, 3, 4]]
    assert random_rows.abs().max() < 0.1 and random_rows.std() > 0


def test_build_embedding_matrix_default_std_and_generator() -> None:
    wv = WordVectors(["a"], torch.full((1, 4000), 0.0))
    wv.vectors[0, ::2] = 2.0  # std of the pretrained values is about 1
    vocab = ["x", "y", "a"]
    first, _ = build_embedding_matrix(vocab, wv, generator=torch.Generator().manual_seed(3))
    again, _ = build_embedding_matrix(vocab, wv, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, again)
    assert abs(float(first[:2].std()) - float(wv.vectors.std())) < 0.05


def test_build_embedding_matrix_checks_the_size() -> None:
    wv = WordVectors(["a"], torch.ones(1, 3))
    with pytest.raises(ValueError, match="vectors have 3 dimensions, expected 5"):
        build_embedding_matrix(["a"], wv, 5)


def test_word_vectors_shape_check() -> None:
    with pytest.raises(ValueError, match=r"expected vectors of shape \(2, D\), got \(3, 2\)"):
        WordVectors(["a", "b"], torch.zeros(3, 2))
