"""Every example config in configs/ is valid: known sections and keys, consistent values."""

from pathlib import Path

import pytest

from rnnkit.cli.overrides import ConfigError, build_config
from rnnkit.cli.train import LM_DEFAULTS, LM_SCHEMA
from rnnkit.models import LanguageModelConfig
from rnnkit.tasks.lm import LMDataConfig
from rnnkit.training import TrainerConfig

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("lm_*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_lm_config_files_load(path):
    config = build_config(LM_DEFAULTS, LM_SCHEMA, path, [])
    TrainerConfig.from_dict(config["trainer"]).check()
    LMDataConfig.from_dict(config["data"])
    LanguageModelConfig.from_dict({"vocab_size": 2, **config["model"]})


def test_a_config_that_spells_out_the_defaults_equals_them():
    """A config whose header says it spells the defaults out holds every default the task sets,
    each with the task's value (``cell_options: {}`` is the model config's own default)."""
    import yaml

    claims = [p for p in CONFIGS if "spelled out" in p.read_text().splitlines()[0]]
    assert claims, "configs/lm_char.yaml says it spells out the defaults"
    defaults = build_config(LM_DEFAULTS, LM_SCHEMA, None, [])
    for path in claims:
        spelled = yaml.safe_load(path.read_text())
        assert set(spelled) == set(defaults), path.name
        for section, values in defaults.items():
            missing = set(values) - set(spelled[section])
            assert not missing, f"{path.name}: {section} leaves out {sorted(missing)}"
            for key, value in spelled[section].items():
                expected = values.get(key, getattr(LM_SCHEMA[section](**_required(section)), key))
                assert value == expected, (
                    f"{path.name}: {section}.{key} is {value!r}, not {expected!r}"
                )


def _required(section: str) -> dict:
    return {"vocab_size": 2} if section == "model" else {}


def test_configs_exist():
    assert len(CONFIGS) >= 2


def test_overrides_parse_yaml_scalars_and_nested_keys():
    config = build_config(
        LM_DEFAULTS,
        LM_SCHEMA,
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
        build_config(LM_DEFAULTS, LM_SCHEMA, None, ["--trainer.lr"])
