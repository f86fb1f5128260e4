"""The command-line reference is generated from the argparse parsers and misses none of them."""

import argparse
from pathlib import Path

import pytest

from rnnkit.cli.main import build_parser
from rnnkit.cli.train import COMPUTED, TASKS

DOCS = Path(__file__).resolve().parents[2] / "docs"
# docs/_ext (on the path from conftest) imports Sphinx: the docs extra, Python >= 3.11
rnnkit_cli = pytest.importorskip("rnnkit_cli")
MARKER, cli_reference = rnnkit_cli.MARKER, rnnkit_cli.cli_reference


def _commands(parser, path):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, [*path, name])


def test_every_command_and_option_is_documented():
    page = cli_reference()
    for path, parser in _commands(build_parser(), ["rnnkit"]):
        if len(path) > 1:
            assert f"# `{' '.join(path)}`" in page
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in page, (path, option)


def _section(page: str, title: str) -> str:
    return page.split(f"# `{title}`", 1)[1].split("\n#", 1)[0]


def test_every_config_key_of_every_train_task_is_listed():
    page = cli_reference()
    lm = _section(page, "rnnkit train lm")
    assert "| `--model.hidden_size` | `512` |" in lm  # the LM task's own default
    assert "| `--trainer.max_time` | `null` |" in lm
    for name, task in TASKS.items():
        section = _section(page, f"rnnkit train {name}")
        for key, config in task.schema.items():
            for field in config.__dataclass_fields__:
                if key == "model" and field in COMPUTED[name]:  # set from the data
                    assert f"`--model.{field}`" not in section
                else:
                    assert f"| `--{key}.{field}` |" in section, (name, key, field)


def test_the_cli_page_holds_the_marker():
    assert MARKER in (DOCS / "cli.md").read_text()
