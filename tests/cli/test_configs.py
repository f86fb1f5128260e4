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
