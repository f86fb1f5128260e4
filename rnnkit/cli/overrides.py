"""Configs for the CLI: defaults, then a YAML file, then ``--section.key=value`` overrides.

    rnnkit train lm --config lm.yaml --model.hidden_size=512 --trainer.max_time=60 --seed=1

Values are parsed as YAML scalars (``512`` is an int, ``true`` a bool, ``null`` None,
``[1, 2]`` a list). A key a section does not have is rejected with the list of valid keys.
``--seed=N`` is short for ``--trainer.seed=N``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

SHORTCUTS = {"seed": "trainer.seed"}


class ConfigError(ValueError):
    """A bad config file or override."""


def parse_overrides(args: Sequence[str]) -> list[tuple[list[str], Any]]:
    """``["--model.hidden_size=512", "--trainer.lr", "0.01"]`` -> [(path, value), ...]."""
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
        out.append((key.split("."), yaml.safe_load(raw)))
        i += 1
    return out


def build_config(
    defaults: dict[str, dict[str, Any]],
    schema: dict[str, type],
    yaml_path: str | Path | None,
    overrides: Sequence[str],
) -> dict[str, dict[str, Any]]:
    """Merge defaults, the YAML file and overrides; validate every key against ``schema``."""
    config = copy.deepcopy(defaults)
    if yaml_path is not None:
        loaded = yaml.safe_load(Path(yaml_path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(
                f"{yaml_path}: expected a mapping of sections, got {type(loaded).__name__}"
            )
        for section, values in loaded.items():
            if not isinstance(values, dict):
                raise ConfigError(f"{yaml_path}: section {section!r} must be a mapping")
            for key, value in values.items():
                _set(config, schema, [section, key], value, source=str(yaml_path))
    for path, value in parse_overrides(overrides):
        _set(config, schema, path, value, source="--" + ".".join(path))
    return config


def _set(config: dict, schema: dict[str, type], path: list[str], value: Any, source: str) -> None:
    if len(path) < 2 or path[0] not in schema:
        raise ConfigError(f"{source}: unknown section; valid sections: {sorted(schema)}")
    section, key = path[0], path[1]
    fields = {f.name: f for f in dataclasses.fields(schema[section])}
    if key not in fields:
        raise ConfigError(f"{source}: unknown key {section}.{key}; valid keys: {sorted(fields)}")
    target = config.setdefault(section, {})
    if len(path) == 2:
        target[key] = value
        return
    nested = target.setdefault(key, {})  # e.g. model.cell_options.peephole
    if not isinstance(nested, dict):
        raise ConfigError(f"{source}: {section}.{key} is not a mapping")
    for part in path[2:-1]:
        nested = nested.setdefault(part, {})
    nested[path[-1]] = value
