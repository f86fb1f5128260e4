"""Tutorial scripts become Markdown pages: docstring, Markdown cells and code in order."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"

# docs/_ext (on the path from conftest) imports MyST: the docs extra, Python >= 3.11
tutorials = pytest.importorskip("rnnkit_tutorials")
TutorialError, tutorial_to_markdown = tutorials.TutorialError, tutorials.tutorial_to_markdown

SCRIPT = '''"""# Unrolling a cell

A cell is one step: $s_t = R(s_{t-1}, x_t)$.
"""

import torch

x = torch.ones(2)  # a comment stays with its code
"""
## By hand

Three steps of the recurrence.
"""

for t in range(3):
    x = torch.tanh(x)


def helper():
    """A function's docstring is code, not a Markdown cell."""
    return 1


print(x)
'''


def test_cells_come_out_in_order():
    page = tutorial_to_markdown(SCRIPT, "01_unroll.py", run_path="docs/tutorials/01_unroll.py")
    assert page.startswith("# Unrolling a cell\n\n*This page is the script")
    assert "`python docs/tutorials/01_unroll.py`" in page
    expected_order = [
        "A cell is one step: $s_t = R(s_{t-1}, x_t)$.",
        "```python\nimport torch\n\nx = torch.ones(2)  # a comment stays with its code\n```",
        "## By hand\n\nThree steps of the recurrence.",
        "```python\nfor t in range(3):\n    x = torch.tanh(x)\n\n\ndef helper():\n"
        '    """A function\'s docstring is code, not a Markdown cell."""\n    return 1\n\n\n'
        "print(x)\n```",
    ]
    positions = [page.index(part) for part in expected_order]
    assert positions == sorted(positions)
    docstring = '"""A function\'s docstring is code, not a Markdown cell."""'
    assert '"""' not in page.replace(docstring, "")  # no cell delimiters leak into the page


def test_the_page_is_the_script():
    # every code line of the script appears on the page, and nothing else is code
    page = tutorial_to_markdown(SCRIPT)
    code = "\n".join(re.findall(r"```python\n(.*?)\n```", page, flags=re.S))
    for line in ("import torch", "for t in range(3):", "print(x)", "    return 1"):
        assert line in code
    assert "## By hand" not in code


def test_code_holding_a_fence_gets_a_longer_fence():
    page = tutorial_to_markdown('"""# T"""\ntext = "```"\n')
    assert '````python\ntext = "```"\n````' in page


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("x = 1\n", "01_bad.py:1: a tutorial starts with a Markdown docstring"),
        ('"""Title without a hash"""\n', "01_bad.py:1: a tutorial starts with a Markdown"),
        ('"""# T"""\nx = (\n', "01_bad.py:2:"),
    ],
)
def test_bad_scripts_name_the_file_and_line(script, message):
    with pytest.raises(TutorialError, match=message):
        tutorial_to_markdown(script, "01_bad.py")


def test_every_tutorial_in_the_docs_renders():
    for path in sorted((DOCS / "tutorials").glob("[0-9][0-9]_*.py")):
        page = tutorial_to_markdown(path.read_text(), path.name)
        assert page.startswith("# "), path.name
