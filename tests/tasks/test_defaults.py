"""One source per task default: the config classes plus the task's YAML, read by CLI and Python.

``task_defaults.json`` pins every resolved default as ``rnnkit train TASK`` resolved it before
the defaults moved into ``rnnkit/tasks/defaults/``; a change to any default is deliberate.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rnnkit.cli import train
from rnnkit.tasks import defaults as task_defaults
from rnnkit.tasks.defaults import COMPUTED, TASKS, defaults, resolve, schema

HERE = Path(__file__).resolve().parent
PINNED = json.loads((HERE / "task_defaults.json").read_text())
FLAGS = ("config", "data", "valid", "level", "text_key", "summary_key")


def _cli(task: str, extra: list[str] | None = None) -> task_defaults.TaskConfig:
    """What ``rnnkit train TASK`` resolves without --config and flags (plus ``extra``)."""
    args = argparse.Namespace(**dict.fromkeys(FLAGS))
    return train._configure(train.TASKS[task], args, extra or [])


def test_every_cli_task_has_defaults():
    assert set(train.TASKS) == set(TASKS) == set(PINNED)


@pytest.mark.parametrize("task", TASKS)
def test_cli_and_python_resolve_the_same_config(task):
    cli, api = _cli(task), resolve(task)
    assert cli.to_dict() == api.to_dict()
    assert cli.model == api.model  # the options the recipe receives, too


@pytest.mark.parametrize("task", TASKS)
def test_resolved_defaults_are_unchanged(task):
    resolved = resolve(task).to_dict()
    for section, values in PINNED[task].items():
        for key, value in values.items():
            got = resolved[section][key]
            assert (got, type(got)) == (value, type(value)), f"{task}: {section}.{key}"


@pytest.mark.parametrize("task", TASKS)
def test_a_task_file_holds_only_what_the_task_changes(task):
    """No value is restated: each key a task's YAML sets is a field of its config class and
    differs from that class's default."""
    classes = schema(task)
    for section, values in defaults(task).items():
        plain = classes[section]().to_dict()
        for key, value in values.items():
            assert key in plain, f"{task}.yaml: {section}.{key} is not a config field"
            assert key not in COMPUTED[task] or section != "model", f"{task}: {key} is computed"
            assert value != plain[key], f"{task}.yaml: {section}.{key} restates the default"


def test_callers_values_go_on_top_and_bad_ones_are_refused():
    cfg = resolve("lm", model={"hidden_size": 64}, trainer={"max_time": 5.0}, data={"bptt": 20})
    assert cfg.model["hidden_size"] == 64 and cfg.model["init_range"] == 1.0
    assert cfg.trainer.max_time == 5.0 and cfg.trainer.max_epochs == 10 and cfg.data.bptt == 20
    assert resolve("lm").model["embedding_size"] == 128  # the cached file is not changed
    cli = _cli("lm", ["--model.hidden_size=64", "--trainer.max_time=5", "--data.bptt=20"])
    assert cli.to_dict() == cfg.to_dict()
    with pytest.raises(ValueError, match=r"model\.vocab_size is set from the data"):
        resolve("lm", model={"vocab_size": 10})
    with pytest.raises(ValueError, match="unknown key"):
        resolve("tag", model={"hidden": 10})
    with pytest.raises(ValueError, match="unknown task 'parse'"):
        resolve("parse")
    with pytest.raises(ValueError, match="max_epochs must be > 0"):
        resolve("classify", trainer={"max_epochs": 0})


def test_the_task_files_ship_with_the_package():
    pyproject = (HERE.parents[1] / "pyproject.toml").read_text().splitlines()
    section = pyproject[pyproject.index("[tool.setuptools.package-data]") :]
    assert '"rnnkit.tasks.defaults" = ["*.yaml"]' in section[: section.index("")]
    folder = Path(task_defaults.__file__).parent
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(f"{t}.yaml" for t in TASKS)
