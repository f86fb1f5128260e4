"""Parallel text: pairs, bare sources, and errors naming file and line."""

import io

import pytest

from rnnkit.data import DataError
from rnnkit.data.parallel import read_parallel


def test_reads_pairs_and_skips_blank_lines(tmp_path) -> None:
    path = tmp_path / "train.tsv"
    path.write_text("Open\tOuvrir\n\nSave %s\tEnregistrer %s\r\n", encoding="utf-8")
    pairs = read_parallel(path)
    assert [(p.source, p.target) for p in pairs] == [("Open", "Ouvrir"),
                                                    ("Save %s", "Enregistrer %s")]  # fmt: skip


def test_bare_sources_from_stdin(monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Open\nSave\n"))
    pairs = read_parallel("-", require_target=False)
    assert [(p.source, p.target) for p in pairs] == [("Open", None), ("Save", None)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("a\tb\nc\td\te\n", r"x.tsv:2: expected source<TAB>target, found 3"),
        ("a\tb\nc\n", r"x.tsv:2: expected source<TAB>target, found no TAB"),
        ("a\tb\n \tc\n", r"x.tsv:2: empty source or target"),
        ("\n\n", r"x.tsv: the file is empty"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, message) -> None:
    path = tmp_path / "x.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        read_parallel(path)


def test_mixing_pairs_and_bare_sources_is_an_error(tmp_path) -> None:
    path = tmp_path / "x.tsv"
    path.write_text("a\nb\tc\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x\.tsv:2: this line has 2 field"):
        read_parallel(path, require_target=False)
