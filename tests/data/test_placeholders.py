"""Placeholders survive translation: found, masked, restored, checked."""

import pytest

from rnnkit.data.placeholders import (
    FIRST,
    find_placeholders,
    mask_placeholders,
    missing_placeholders,
    restore_placeholders,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Cannot open %s: %d errors", ["%s", "%d"]),
        ("%1$s of %2$s (%-5.2f%%)", ["%1$s", "%2$s", "%-5.2f"]),
        ("%(count)d files in {folder} or {0} and ${HOME}", ["%(count)d", "{folder}", "{0}",
                                                              "${HOME}"]),
        ("<b>Bold</b> and <a href='x'>link</a><br/>", ["<b>", "</b>", "<a href='x'>", "</a>",
                                                       "<br/>"]),
        ("git add <name> on x86_64", []),  # prose in brackets; digits inside a word
        ("version 1.2.3 at 10:30, 5 files", ["1.2.3", "10:30", "5"]),
        ("%s and %s again", ["%s"]),
    ],
)  # fmt: skip
def test_finds_placeholders_in_order(text, expected) -> None:
    assert find_placeholders(text) == expected


def test_mask_and_restore_round_trip() -> None:
    source = "Delete %d files from <b>%s</b>?"
    masked, table = mask_placeholders(source)
    assert "%" not in masked and "<b>" not in masked
    assert table == ["%d", "<b>", "%s", "</b>"]
    target, _ = mask_placeholders("Supprimer %d fichiers de <b>%s</b> ?", table)
    assert target == f"Supprimer {chr(FIRST)} fichiers de {chr(FIRST + 1)}{chr(FIRST + 2)}" \
        f"{chr(FIRST + 3)} ?"  # fmt: skip
    assert restore_placeholders(target, table) == "Supprimer %d fichiers de <b>%s</b> ?"


def test_target_only_placeholders_stay_literal_and_unknown_symbols_drop() -> None:
    _, table = mask_placeholders("Open %s")
    target, _ = mask_placeholders("Ouvrir %s (%d)", table)
    assert target == f"Ouvrir {chr(FIRST)} (%d)"
    assert restore_placeholders(f"x {chr(FIRST + 5)}y", table) == "x y"


def test_missing_placeholders_counts_repeats() -> None:
    assert missing_placeholders("%s or %s, %d", "%s ou %d") == ["%s"]
    assert missing_placeholders("Open %s", "Ouvrir %s") == []
