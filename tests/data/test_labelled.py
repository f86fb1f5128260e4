"""Labelled data: classification files, CoNLL files, LabelVocab and unseen labels."""

from __future__ import annotations

import io
import json
import re

import pytest

from rnnkit.data import (
    DataError,
    LabelVocab,
    TaggedSentence,
    TextExample,
    read_classification,
    read_conll,
    unseen_labels,
    write_conll,
)


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# ------------------------------------------------------------ classification
def test_tsv_splits_on_the_first_tab_and_skips_blank_lines(tmp_path) -> None:
    path = _write(tmp_path, "train.tsv", "pos\tgreat\tfilm\r\n\n neg \t awful \n")
    examples = read_classification(path)
    assert examples == [TextExample("great\tfilm", ("pos",)), TextExample("awful", ("neg",))]
    assert [e.label for e in examples] == ["pos", "neg"]


def test_tsv_multi_label(tmp_path) -> None:
    path = _write(tmp_path, "train.tsv", "a, b,,a\tone\nc;d\ttwo\n")
    examples = read_classification(path, multi_label=True)
    assert [e.labels for e in examples] == [("a", "b"), ("c;d",)]
    examples = read_classification(path, multi_label=True, label_separator=";")
    assert [e.labels for e in examples] == [("a, b,,a",), ("c", "d")]


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("pos\tok\nno tab here\n", 2, "expected 'label<TAB>text', found no tab"),
        ("pos\tok\n\n \tmissing label\n", 3, "empty label"),
        ("pos\t   \n", 1, "empty text"),
    ],
)
def test_tsv_errors_name_file_and_line(tmp_path, content: str, line: int, message: str) -> None:
    path = _write(tmp_path, "bad.tsv", content)
    with pytest.raises(DataError) as info:
        read_classification(path)
    assert str(info.value).startswith(f"{path}:{line}: {message}")


def test_tsv_multi_label_with_only_separators_is_an_empty_label(tmp_path) -> None:
    path = _write(tmp_path, "bad.tsv", " , \ttext\n")
    with pytest.raises(DataError, match=r"bad\.tsv:1: empty label"):
        read_classification(path, multi_label=True)


def test_jsonl_labels_titles_and_auto_format(tmp_path) -> None:
    rows = [
        {"text": " first ", "label": "pos", "title": "T1"},
        {"text": "second", "label": 3},
    ]
    text = "\n".join(json.dumps(r) for r in rows[:1]) + "\n\n" + json.dumps(rows[1]) + "\n"
    for name in ("data.jsonl", "data.JSON"):
        examples = read_classification(_write(tmp_path, name, text))
        assert examples == [TextExample("first", ("pos",), "T1"), TextExample("second", ("3",))]


def test_jsonl_multi_label_lists_and_unlabelled_files(tmp_path) -> None:
    path = _write(tmp_path, "m.jsonl", '{"text": "x", "label": ["b", " a ", "b"]}\n')
    assert read_classification(path, multi_label=True)[0].labels == ("b", "a")
    with pytest.raises(DataError, match=r"m\.jsonl:1: \"label\" is a list; pass multi_label=True"):
        read_classification(path)
    path = _write(tmp_path, "u.jsonl", '{"text": "x"}\n{"text": "y", "label": null}\n')
    examples = read_classification(path)
    assert [(e.text, e.labels, e.label) for e in examples] == [("x", (), None), ("y", (), None)]


@pytest.mark.parametrize(
    ("line2", "message"),
    [
        ('{"text": "b", "label": "x"', "invalid JSON: Expecting ',' delimiter at column 27"),
        ('["text", "b"]', "expected a JSON object, found array"),
        ('{"label": "x"}', 'missing "text"'),
        ('{"text": 5, "label": "x"}', '"text" must be a string, found number'),
        ('{"text": " ", "label": "x"}', "empty text"),
        ('{"text": "b", "label": ""}', 'empty "label"'),
        ('{"text": "b", "label": {"a": 1}}', "expected string labels, found object"),
        ('{"text": "b"}', 'missing "label" (line 1 has one; label all or none)'),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path, line2: str, message: str) -> None:
    path = _write(tmp_path, "bad.jsonl", '{"text": "a", "label": "x"}\n' + line2 + "\n")
    with pytest.raises(DataError) as info:
        read_classification(path)
    assert str(info.value) == f"{path}:2: {message}"


def test_jsonl_label_after_unlabelled_line(tmp_path) -> None:
    path = _write(tmp_path, "bad.jsonl", '\n{"text": "a"}\n{"text": "b", "label": "x"}\n')
    with pytest.raises(DataError) as info:
        read_classification(path)
    assert str(info.value) == f'{path}:3: unexpected "label" (line 2 has none; label all or none)'


def test_text_format_and_stdin(tmp_path, monkeypatch) -> None:
    path = _write(tmp_path, "input.txt", "one text\n\n  two\ttexts \n")
    assert read_classification(path) == [TextExample("one text"), TextExample("two\ttexts")]
    _stdin(monkeypatch, b"pos\tfrom stdin\n")
    assert read_classification("-") == [TextExample("pos\tfrom stdin")]  # auto -> text
    _stdin(monkeypatch, b"pos\tfrom stdin\n")
    assert read_classification("-", format="tsv") == [TextExample("from stdin", ("pos",))]


def test_stdin_bad_bytes_and_empty(monkeypatch) -> None:
    _stdin(monkeypatch, b"ok\nbad \xff\n")
    with pytest.raises(DataError, match=r"^<stdin>:2: invalid UTF-8 byte 0xff at byte offset 7$"):
        read_classification("-")
    _stdin(monkeypatch, b"\n \n")
    with pytest.raises(DataError, match=r"^<stdin>: the input is empty$"):
        read_conll("-")


def test_file_level_errors(tmp_path) -> None:
    path = tmp_path / "latin1.tsv"
    path.write_bytes(b"pos\tok\nneg\tcaf\xe9\n")
    with pytest.raises(DataError, match=re.escape(f"{path}:2: invalid UTF-8 byte 0xe9")):
        read_classification(path)
    empty = _write(tmp_path, "empty.tsv", "\n\n")
    with pytest.raises(DataError, match=re.escape(f"{empty}: the file is empty")):
        read_classification(empty)
    with pytest.raises(ValueError, match="format must be one of"):
        read_classification(empty, format="csv")


# -------------------------------------------------------------------- CoNLL
CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O

German JJ B-NP B-MISC
"""


def test_conll_sentences_tags_and_rows(tmp_path) -> None:
    sentences = read_conll(_write(tmp_path, "train.conll", CONLL))
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["German"]]
    assert [s.tags for s in sentences] == [["B-ORG", "O"], ["B-MISC"]]
    assert sentences[1].rows == [["German", "JJ", "B-NP", "B-MISC"]]
    chunks = read_conll(_write(tmp_path, "c.conll", CONLL), token_column=-4, tag_column=2)
    assert [s.tags for s in chunks] == [["B-NP", "B-VP"], ["B-NP"]]


def test_conll_tab_separated_tokens_keep_spaces(tmp_path) -> None:
    path = _write(tmp_path, "t.tsv", "New York\tB-LOC\r\nis\tO\n\n\n\nok\tO")
    sentences = read_conll(path)
    assert [s.tokens for s in sentences] == [["New York", "is"], ["ok"]]
    assert sentences[0].tags == ["B-LOC", "O"]
    with pytest.raises(DataError, match=r"t\.tsv:2: expected a token and its tag, found 1 column "):
        read_conll(path, separator=" ")  # line 2, "is<TAB>O", has no space: one column


def test_conll_without_tags_for_prediction(tmp_path) -> None:
    path = _write(tmp_path, "raw.txt", "EU\nrejects\n\nGerman\n")
    sentences = read_conll(path, tag_column=None)
    assert sentences == [
        TaggedSentence(["EU", "rejects"], [], [["EU"], ["rejects"]]),
        TaggedSentence(["German"], [], [["German"]]),
    ]
    with pytest.raises(DataError) as info:
        read_conll(path)  # the default tag column -1 is the token column here
    assert str(info.value) == (
        f"{path}:1: expected a token and its tag, found 1 column (the token and the tag would "
        "both be column 0)"
    )


def test_conll_too_few_columns_and_empty_file(tmp_path) -> None:
    path = _write(tmp_path, "bad.conll", "EU B-ORG\nrejects O\n\nGerman\n")
    with pytest.raises(DataError) as info:
        read_conll(path, tag_column=1)
    assert str(info.value) == f"{path}:4: expected at least 2 columns, found 1"
    with pytest.raises(DataError, match=r"bad\.conll:1: expected at least 4 columns, found 2"):
        read_conll(path, token_column=-4)
    only_docstart = _write(tmp_path, "doc.conll", "-DOCSTART- O\n\n")
    with pytest.raises(DataError, match=re.escape(f"{only_docstart}: no sentences found")):
        read_conll(only_docstart)


def test_conll_stdin(monkeypatch) -> None:
    _stdin(monkeypatch, b"a\tO\nb\tB-X\n")
    assert read_conll("-")[0].tags == ["O", "B-X"]


def test_write_conll_round_trip(tmp_path) -> None:
    sentences = read_conll(_write(tmp_path, "train.conll", CONLL))
    out = io.StringIO()
    write_conll(sentences, [["B-ORG", "B-PER"], ["O"]], out)
    assert out.getvalue() == (
        "EU\tNNP\tB-NP\tB-ORG\tB-ORG\nrejects\tVBZ\tB-VP\tO\tB-PER\n\nGerman\tJJ\tB-NP\tB-MISC\tO\n\n"
    )
    again = read_conll(_write(tmp_path, "pred.conll", out.getvalue()))
    assert [s.tags for s in again] == [["B-ORG", "B-PER"], ["O"]]
    assert [s.rows[0][:-1] for s in again] == [s.rows[0] for s in sentences]


def test_write_conll_length_mismatch(tmp_path) -> None:
    sentences = read_conll(_write(tmp_path, "train.conll", CONLL))
    with pytest.raises(ValueError, match="2 sentences but 1 predicted"):
        write_conll(sentences, [["O", "O"]], io.StringIO())
    with pytest.raises(ValueError, match="sentence 1 has 1 tokens but 2 predicted tags"):
        write_conll(sentences, [["O", "O"], ["O", "O"]], io.StringIO())


# ------------------------------------------------------------------- labels
def test_label_vocab_build_lookup_and_json_round_trip() -> None:
    vocab = LabelVocab.build(["pos", "neg", "pos", "neutral"])
    assert vocab.labels == ["neg", "neutral", "pos"]
    assert len(vocab) == 3 and "pos" in vocab and "meh" not in vocab
    assert [vocab.to_id(x) for x in ("neg", "neutral", "pos")] == [0, 1, 2]
    assert vocab.to_label(2) == "pos"
    assert vocab.encode_known(["pos", "meh", "neg", "bah"]) == ([2, 0], ["meh", "bah"])
    restored = LabelVocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab and restored.labels == vocab.labels


def test_label_vocab_errors() -> None:
    vocab = LabelVocab.build(["a", "b"])
    with pytest.raises(KeyError, match="unknown label 'c'; known labels: a, b"):
        vocab.to_id("c")
    with pytest.raises(ValueError, match=r"duplicate labels \['a'\]"):
        LabelVocab(["a", "b", "a"])
    with pytest.raises(ValueError, match="expected"):
        LabelVocab.from_dict({"labels": "ab"})


def test_unseen_labels_counts() -> None:
    result = unseen_labels(["O", "B-PER"], ["O", "B-LOC", "I-LOC", "B-LOC", "B-PER", "A"])
    assert result == {"B-LOC": 2, "A": 1, "I-LOC": 1}
    assert list(result) == ["B-LOC", "A", "I-LOC"]
    assert unseen_labels(["a"], ["a", "a"]) == {}
