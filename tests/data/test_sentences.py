"""Sentence splitting: boundaries, abbreviations, initials, numbers, quotes, paragraphs."""

import pytest

from rnnkit.data.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two! Three? Four", ["One.", "Two!", "Three?", "Four"]),
        ("Mr. Smith met Dr. Jones. They talked.", ["Mr. Smith met Dr. Jones.", "They talked."]),
        ("The U.S. economy grew. Prices rose.", ["The U.S. economy grew.", "Prices rose."]),
        ("J. K. Rowling wrote it. Yes.", ["J. K. Rowling wrote it.", "Yes."]),
        ("Growth was 3.5% in 2004. It fell.", ["Growth was 3.5% in 2004.", "It fell."]),
        ('"It is fair." He said so.', ['"It is fair."', "He said so."]),
        ('He said: "Go." 2004 was good.', ['He said: "Go."', "2004 was good."]),
        ("lower case. after a stop", ["lower case. after a stop"]),
        ("First para.\n\nSecond para", ["First para.", "Second para"]),
        ("e.g. this. Then that.", ["e.g. this.", "Then that."]),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_nothing_but_space_gives_no_sentences():
    assert split_sentences("  \n \n") == []
