"""The command-line reference, generated from rnnkit's argparse parsers at build time.

A page that holds the line ``<!-- rnnkit-cli-reference -->`` gets it replaced by one section
per command (usage, description, options), walked from :func:`rnnkit.cli.main.build_parser`, and
for each ``rnnkit train TASK`` the table of config keys it accepts as ``--section.key=value``
overrides, resolved by ``rnnkit.tasks.defaults``. Nothing is copied by hand.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import yaml
from sphinx.application import Sphinx

MARKER = "<!-- rnnkit-cli-reference -->"


def _cell(text: str) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text.replace("<", "\\<")  # `label<TAB>text` is not an HTML tag


def _yaml(value: object) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("...").strip()


def _subcommands(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, helps.get(name, ""), sub


def _option_rows(parser: argparse.ArgumentParser) -> list[str]:
    formatter = parser._get_formatter()
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
            continue
        if action.option_strings:
            name = ", ".join(action.option_strings)
            if action.nargs != 0:
                name += f" {formatter._metavar_formatter(action, action.dest.upper())(1)[0]}"
        else:
            name = action.metavar or action.dest
        help_text = formatter._expand_help(action) if action.help else ""
        if action.choices and not isinstance(action.choices, dict):
            help_text += f" (one of: {', '.join(map(str, action.choices))})"
        if action.required and action.option_strings:
            help_text += " (required)"
        default = action.default
        shown = "" if default in (None, False, argparse.SUPPRESS) else f"`{default}`"
        rows.append(f"| `{_cell(name)}` | {_cell(help_text)} | {shown} |")
    if not rows:
        return []
    return ["| option | meaning | default |", "|---|---|---|", *rows]


def _config_rows(task_name: str) -> list[str]:
    from rnnkit.tasks.defaults import resolve

    rows = ["| override | default |", "|---|---|"]
    for section, values in resolve(task_name).to_dict().items():  # the data-set keys left out
        for key, value in values.items():
            rows.append(f"| `--{section}.{key}` | `{_cell(_yaml(value))}` |")
    return rows


def _command_section(
    path: list[str], help_text: str, parser: argparse.ArgumentParser, depth: int
) -> list[str]:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=92)
    title = " ".join(path)
    out = [f"{'#' * depth} `{title}`", ""]
    description = parser.description or help_text
    if description:
        out += [_cell(description), ""]
    out += ["```text", parser.format_usage().strip(), "```", ""]
    rows = _option_rows(parser)
    if rows:
        out += [*rows, ""]
    if path[:2] == ["rnnkit", "train"] and len(path) == 3:
        out += [
            f"Config keys of `{title}` (set in a YAML file given with `--config`, with `model:`, "
            "`trainer:` and `data:` sections, or on the command line; the defaults are this "
            "task's):",
            "",
            *_config_rows(path[2]),
            "",
        ]
    for name, sub_help, sub in _subcommands(parser):
        out += _command_section([*path, name], sub_help, sub, min(depth + 1, 4))
    return out


def cli_reference() -> str:
    """The whole reference as Markdown: one section per command, in the parsers' order."""
    from rnnkit.cli.main import build_parser

    root = build_parser()
    root.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=92)
    out = ["```text", root.format_usage().strip(), "```", "", *_option_rows(root), ""]
    for name, help_text, sub in _subcommands(root):
        out += _command_section(["rnnkit", name], help_text, sub, 2)
    return "\n".join(out)


def _source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if MARKER in source[0]:
        source[0] = source[0].replace(MARKER, cli_reference())


def _always_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    # the parsers live in the package, not in the page: reread the page on every build
    return [doc for doc in env.found_docs if doc == "cli"]


def setup(app: Sphinx) -> dict:
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _always_outdated)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
