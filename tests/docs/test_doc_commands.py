"""Every ``rnnkit ...`` command written in the README and docs/ parses: its subcommand and
options exist, and a ``train`` command's ``--section.key=value`` overrides are valid keys and
values. Nothing runs; a stale option in a page fails here, naming the page and line."""

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from rnnkit.cli import ranges
from rnnkit.cli.main import build_parser
from rnnkit.cli.overrides import ConfigError, build_config
from rnnkit.tasks.defaults import defaults, schema

ROOT = Path(__file__).resolve().parents[2]
PAGES = [
    ROOT / "README.md",
    *sorted(p for p in (ROOT / "docs").rglob("*.md") if "_build" not in p.parts),
]
SHELL = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", flags=re.S | re.M)


def commands(text: str) -> list[tuple[int, list[str]]]:
    """``(line, argv)`` of each ``rnnkit`` command in a page's shell blocks (``$ `` prompts,
    ``\\`` continuations and ``#`` comments handled); argv starts after ``rnnkit``."""
    found = []
    for block in SHELL.finditer(text):
        first = text.count("\n", 0, block.start()) + 2
        lines = block.group(1).split("\n")
        i = 0
        while i < len(lines):
            start, line = i, lines[i].removeprefix("$ ")
            while line.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                line = line.rstrip()[:-1] + " " + lines[i].strip()
            i += 1
            words = shlex.split(line, comments=True) if line.lstrip().startswith("rnnkit ") else []
            if words:
                found.append((first + start, _one_command(words[1:])))
    return found


def _one_command(words: list[str]) -> list[str]:
    """The words up to a shell pipe, redirection or ``&&``."""
    for k, word in enumerate(words):
        if word in ("|", "&&", ">", ">>", "2>", "<", ";") or word.startswith(("2>", ">")):
            return words[:k]
    return words


def check(argv: list[str]) -> str | None:
    """Why ``rnnkit ARGV`` would be refused before running; None when it parses."""
    parser = build_parser()
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args, extra = parser.parse_known_args(argv)
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "exit"
    if getattr(args, "command", None) is None:
        return None  # ``rnnkit --help`` or ``rnnkit --version``
    if extra and args.command != "train":
        return f"unrecognized arguments: {' '.join(extra)}"
    bad = ranges.problem(args)
    if bad is not None:
        return bad
    if args.command == "train":
        try:
            build_config(defaults(args.task), schema(args.task), None, extra)
        except ConfigError as error:
            return str(error)
    return None


def _all() -> list[tuple[str, int, list[str]]]:
    return [
        (str(page.relative_to(ROOT)), line, argv)
        for page in PAGES
        for line, argv in commands(page.read_text(encoding="utf-8"))
    ]


def test_every_command_in_the_pages_parses():
    found = _all()
    assert len(found) > 50 and any(argv[:2] == ["train", "classify"] for _, _, argv in found)
    problems = [f"{page}:{line}: rnnkit {' '.join(argv)}: {why}"
                for page, line, argv in found if (why := check(argv))]  # fmt: skip
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["generate", "runs/x", "--top-p", "2"], "must be in (0, 1]"),
        (["generate", "runs/x", "--no-such-flag"], "unrecognized arguments"),
        (["train", "lm", "--data", "a.txt", "--out", "r", "--model.hiden_size=3"], "unknown key"),
        (["nosuch"], "invalid choice"),
    ],
)
def test_a_stale_command_is_caught(argv, why):
    assert why in (check(argv) or "")


def test_commands_are_read_across_continuations_prompts_and_comments():
    page = "text\n```sh\n$ rnnkit train lm --data a.txt \\\n    --out r  # note\nls\n```\n"
    assert commands(page) == [(3, ["train", "lm", "--data", "a.txt", "--out", "r"])]
