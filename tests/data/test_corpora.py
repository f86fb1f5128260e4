"""The bundled Shakespeare corpus ships with the package and loads."""

from __future__ import annotations

import pytest

from rnnkit.data import bundled_corpus_path, load_bundled


def test_bundled_shakespeare_loads_with_the_expected_size() -> None:
    path = bundled_corpus_path()
    assert path.name == "shakespeare.txt" and path.is_file()
    assert 900_000 <= path.stat().st_size <= 1_100_000
    text = load_bundled("shakespeare")
    assert len(text.encode("utf-8")) == path.stat().st_size
    assert text.startswith("THE TRAGEDY OF CORIOLANUS\n")
    assert text.endswith("[Exit.]\n")
    assert text.count("by William Shakespeare") == 7
    assert "HAMLET, PRINCE OF DENMARK" in text and "To be, or not to be" in text


def test_corpus_readme_sits_beside_it() -> None:
    readme = bundled_corpus_path().parent / "README.md"
    assert "public domain" in readme.read_text(encoding="utf-8")


def test_unknown_corpus_lists_names() -> None:
    with pytest.raises(ValueError, match=r"unknown corpus 'ptb'; bundled: \['shakespeare'\]"):
        load_bundled("ptb")
