"""Every example config in configs/ is valid, and one that says it spells out a task's defaults
equals them (the task is the file name's first word: ``lm_char.yaml`` is ``lm``)."""

from pathlib import Path

import pytest
import yaml

from rnnkit.cli.overrides import ConfigError, build_config
from rnnkit.tasks.defaults import defaults, resolve, schema

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))
SPELLED_OUT = [p for p in CONFIGS if "spelled out" in p.read_text().splitlines()[0]]


def _task(path: Path) -> str:
    return path.stem.split("_")[0]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_config_files_load(path):
    task = _task(path)
    resolve(task, **build_config(defaults(task), schema(task), path, []))


@pytest.mark.parametrize("path", SPELLED_OUT, ids=[p.name for p in SPELLED_OUT])
def test_a_config_that_spells_out_the_defaults_equals_them(path):
    """Every key the task's defaults set is there, and every value there is the resolved
    default (``cell_options: {}`` is the model config's own default)."""
    task = _task(path)
    resolved = resolve(task).to_dict()
    spelled = yaml.safe_load(path.read_text())
    assert set(spelled) == set(resolved), path.name
    for section, values in defaults(task).items():
        missing = set(values) - set(spelled[section] or {})
        assert not missing, f"{path.name}: {section} leaves out {sorted(missing)}"
    for section, values in spelled.items():
        for key, value in (values or {}).items():
            expected = resolved[section][key]
            assert (value, type(value)) == (expected, type(expected)), (
                f"{path.name}: {section}.{key} is {value!r}, not {expected!r}"
            )
    assert resolve(task, **spelled).to_dict() == resolved


def test_the_spelled_out_configs_are_found():
    assert [p.name for p in SPELLED_OUT] == ["lm_char.yaml"]


def test_configs_exist():
    assert len(CONFIGS) >= 2


def test_overrides_parse_yaml_scalars_and_nested_keys():
    config = build_config(
        defaults("lm"),
        schema("lm"),
        None,
        [
            "--model.cell_options.peephole=true",
            "--trainer.max_time",
            "60",
            "--seed=4",
            "--trainer.clip_grad_norm=null",
        ],
    )
    assert config["model"]["cell_options"] == {"peephole": True}
    assert config["trainer"]["max_time"] == 60 and config["trainer"]["seed"] == 4
    assert config["trainer"]["clip_grad_norm"] is None
    with pytest.raises(ConfigError, match="missing value"):
        build_config(defaults("lm"), schema("lm"), None, ["--trainer.lr"])
