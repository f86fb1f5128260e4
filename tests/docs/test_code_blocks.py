"""The documentation's Python examples run as written (docs/**/*.md, page by page)."""

from pathlib import Path

import pytest

from tests.docs.blocks import python_blocks, run_blocks

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_page_python_blocks_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a block that writes files writes them here
    run_blocks(page, str(page.relative_to(ROOT)))


def test_blocks_are_found_and_the_marker_skips_one():
    text = (
        "Intro.\n\n```python\nx = 1\n```\n\n<!-- no-test: needs the BBC data -->\n"
        "```python\nraise SystemExit\n```\n\n```sh\nrnnkit --help\n```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n", False), (8, "raise SystemExit\n", True)]


def test_a_failing_block_names_the_page_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# T\n\n```python\nx = 1\n```\n\n```python\n1 / 0\n```\n")
    with pytest.raises(AssertionError, match=r"docs/page.md:7: python block failed"):
        run_blocks(page, "docs/page.md")


def test_the_marker_needs_a_reason():
    assert python_blocks("<!-- no-test: -->\n```python\nx\n```\n")[0][2] is False
