"""Top-level Markdown files (CONTRIBUTING.md) read into a docs page."""

import pytest

# docs/_ext (on the path from conftest) imports Sphinx: the docs extra, Python >= 3.11
include = pytest.importorskip("rnnkit_include")


def test_title_dropped_headings_deeper_links_adapted():
    text = (
        "# Contributing\n\nRead [the layers](docs/layers.md) and [DESIGN](DESIGN.md), "
        "see [PyTorch](https://pytorch.org) and [below](#tests).\n\n## Tests\n\n"
        "```sh\n# a comment, not a heading\n```\n"
    )
    page = include.adapt(text)
    assert not page.startswith("# Contributing")
    assert "### Tests" in page and "# a comment, not a heading" in page
    assert "[the layers](layers.md)" in page
    assert "DESIGN (`DESIGN.md`)" in page
    assert "[PyTorch](https://pytorch.org)" in page and "[below](#tests)" in page


def test_a_missing_file_leaves_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(include, "ROOT", tmp_path)
    source = ["Intro.\n\n<!-- rnnkit-include: CONTRIBUTING.md -->\n"]
    include._source_read(None, "contributing", source)
    assert "(`CONTRIBUTING.md` is not in this checkout.)" in source[0]
    (tmp_path / "CONTRIBUTING.md").write_text("# C\n\n## Layout\n\nText.\n")
    source = ["<!-- rnnkit-include: CONTRIBUTING.md -->"]
    include._source_read(None, "contributing", source)
    assert source[0] == "### Layout\n\nText.\n"
