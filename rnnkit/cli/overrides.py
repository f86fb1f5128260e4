"""Configs for the CLI: defaults, then a YAML file, then ``--section.key=value`` overrides.

    rnnkit train lm --config lm.yaml --model.hidden_size=512 --trainer.lr=3e-3 --seed=1

Every value is read as its config field's type (``field_types``): ``--trainer.lr=3e-3`` is a
float, ``--trainer.clip_grad_norm=null`` None, ``--model.hidden_size=many`` an error that names
the key, the type expected and the value. Keys below a mapping field
(``--model.cell_options.peephole=true``) are YAML scalars. A key a section does not have is
rejected with the list of valid keys; an error in the YAML file names the file and line.
``--seed=N`` is short for ``--trainer.seed=N``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import re
import typing
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from rnnkit.cli.field_types import ConfigError, coerce
from rnnkit.cli.ranges import field_problem

__all__ = ["ConfigError", "build_config", "parse_overrides", "read_yaml"]

SHORTCUTS = {"seed": "trainer.seed"}
_NUMBER = re.compile(r"[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_overrides(args: Sequence[str]) -> list[tuple[list[str], str]]:
    """``["--model.hidden_size=512", "--trainer.lr", "0.01"]`` -> [(path, text), ...]."""
    out, i = [], 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) == 2:
            raise ConfigError(
                f"unexpected argument {arg!r}; overrides look like --model.hidden_size=512"
            )
        key, sep, raw = arg[2:].partition("=")
        if not sep:
            if i + 1 >= len(args):
                raise ConfigError(f"{arg}: missing value")
            raw, i = args[i + 1], i + 1
        key = SHORTCUTS.get(key.replace("-", "_"), key)
        out.append((key.split("."), raw))
        i += 1
    return out


def _yaml_error(path: Path, text: str, error: yaml.YAMLError) -> ConfigError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        where = f"line {mark.line + 1}, column {mark.column + 1}"
    else:  # a reader error (a NUL or other control character) gives an offset
        where = f"line {text[: getattr(error, 'position', 0)].count(chr(10)) + 1}"
    problem = getattr(error, "problem", None) or getattr(error, "reason", None) or "invalid YAML"
    return ConfigError(f"{path}: {where}: {problem}")


def read_yaml(path: str | Path) -> tuple[dict[str, Any], dict[tuple[str, str], int]]:
    """The sections of a YAML config file and the line of each ``(section, key)``.

    Raises ``ConfigError`` naming the file (and line) when it cannot be read or parsed, or is
    not a mapping of sections."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _yaml_error(path, text, error) from None
    if loaded is None:
        return {}, {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(loaded).__name__}")
    lines = {}
    for key_node, value_node in node.value:
        if isinstance(value_node, yaml.MappingNode):
            for inner, _ in value_node.value:
                lines[(key_node.value, inner.value)] = inner.start_mark.line + 1
        lines.setdefault((key_node.value, ""), key_node.start_mark.line + 1)
    return loaded, lines


def build_config(
    defaults: dict[str, dict[str, Any]],
    schema: dict[str, type],
    yaml_path: str | Path | None,
    overrides: Sequence[str],
    computed: Mapping[str, Collection[str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Merge defaults, the YAML file and overrides; validate every key and value against
    ``schema`` (section name -> config dataclass). ``computed``: keys per section that the
    recipe sets from the data; setting one is refused, and they are not offered as valid."""
    hidden = {section: set(keys) for section, keys in (computed or {}).items()}
    config = copy.deepcopy(defaults)
    if yaml_path is not None:
        loaded, lines = read_yaml(yaml_path)
        for section, values in loaded.items():
            where = f"{yaml_path}: line {lines.get((str(section), ''), '?')}"
            if values is None:
                continue
            if not isinstance(values, dict):
                raise ConfigError(f"{where}: section {section!r} must be a mapping")
            for key, value in values.items():
                line = lines.get((str(section), str(key)), "?")
                where = f"{yaml_path}: line {line}"
                _set(config, schema, [section, key], value, where, False, hidden)
    for path, value in parse_overrides(overrides):
        _set(config, schema, path, value, "--" + ".".join(path), True, hidden)
    return config


def _scalar(raw: str) -> Any:
    """A value below a mapping field: YAML, with numbers like ``3e-3`` read as numbers."""
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return value


def _set(
    config: dict,
    schema: dict[str, type],
    path: list,
    value: Any,
    source: str,
    text: bool,
    hidden: dict[str, set[str]],
) -> None:
    """Put ``value`` at ``path`` (section, key[, nested keys]), read as the field's type."""
    if len(path) < 2 or path[0] not in schema:
        raise ConfigError(f"{source}: unknown section; valid sections: {sorted(schema)}")
    section, key = path[0], path[1]
    if key in hidden.get(section, ()):
        raise ConfigError(f"{source}: {section}.{key} is set from the data; remove it")
    fields = {f.name: f for f in dataclasses.fields(schema[section])
              if f.name not in hidden.get(section, ())}  # fmt: skip
    if key not in fields:
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" (did you mean {section}.{close[0]}?)" if close else ""
        raise ConfigError(
            f"{source}: unknown key {section}.{key}{hint}; valid keys: {sorted(fields)}"
        )
    target = config.setdefault(section, {})
    annotation = typing.get_type_hints(schema[section])[key]
    label = source if text else f"{source}: {section}.{key}"
    if len(path) == 2:
        target[key] = coerce(value, annotation, label, text=text)
        bad = field_problem(key, target[key])
        if bad is not None:
            raise ConfigError(f"{label}: {bad}")
        return
    nested = target.setdefault(key, {})  # e.g. model.cell_options.peephole
    if nested is None:
        nested = target[key] = {}
    if not isinstance(nested, dict):
        raise ConfigError(f"{source}: {section}.{key} is not a mapping")
    for part in path[2:-1]:
        nested = nested.setdefault(part, {})
        if not isinstance(nested, dict):
            raise ConfigError(f"{source}: {part} is not a mapping")
    nested[path[-1]] = _scalar(value) if text else value
