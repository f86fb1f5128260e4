"""Overrides and config files are read by each field's type; bad values name key, type, value."""

import re

import pytest

from rnnkit.cli.overrides import ConfigError, build_config
from rnnkit.tasks.defaults import defaults, schema


def _trainer(*overrides):
    return build_config(defaults("lm"), schema("lm"), None, list(overrides))["trainer"]


@pytest.mark.parametrize(
    ("text", "value"), [("3e-3", 3e-3), ("1E-4", 1e-4), (".5", 0.5), ("2", 2.0), ("1_0.5", 10.5)]
)
def test_floats_in_every_spelling(text, value):
    lr = _trainer(f"--trainer.lr={text}")["lr"]
    assert lr == value and type(lr) is float


@pytest.mark.parametrize(
    ("text", "value"), [("true", True), ("False", False), ("yes", True), ("off", False)]
)
def test_booleans(text, value):
    assert _trainer(f"--trainer.deterministic={text}")["deterministic"] is value


def test_null_only_where_optional_and_integers_from_float_literals():
    trainer = _trainer(
        "--trainer.clip_grad_norm=null", "--trainer.max_steps=1e4", "--trainer.eval_every=~"
    )
    assert trainer["clip_grad_norm"] is None and trainer["max_steps"] == 10000
    assert type(trainer["max_steps"]) is int and trainer["eval_every"] is None
    with pytest.raises(ConfigError, match=r"--trainer.seed: expected an integer, got null"):
        _trainer("--seed=null")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--trainer.lr=fast", "--trainer.lr: expected a float, got 'fast'"),
        ("--trainer.lr=nan", "--trainer.lr: expected a float, got 'nan'"),
        ("--model.hidden_size=many", "--model.hidden_size: expected an integer, got 'many'"),
        ("--model.hidden_size=2.5", "--model.hidden_size: expected an integer, got '2.5'"),
        ("--trainer.deterministic=maybe", "expected true or false, got 'maybe'"),
        ("--trainer.max_time=[1]", "--trainer.max_time: expected a float or null, got '[1]'"),
        (
            "--model.hidden_sise=3",
            "unknown key model.hidden_sise (did you mean model.hidden_size?); valid keys:",
        ),
        ("--model.zzz=3", "unknown key model.zzz; valid keys:"),
        ("--model.hidden_size=-3", "--model.hidden_size: must be >= 1, got -3"),
        ("--model.dropout=1.5", "--model.dropout: must be in [0, 1), got 1.5"),
        ("--model.embedding_dropout=1", "--model.embedding_dropout: must be in [0, 1), got 1.0"),
        ("--trainer.lr=0", "--trainer.lr: must be > 0, got 0.0"),
        ("--trainer.batch_size=0", "--trainer.batch_size: must be >= 1, got 0"),
    ],
)
def test_wrong_types_name_key_type_and_value(override, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _trainer(override)


def test_strings_stay_as_typed_and_nested_numbers_are_numbers():
    config = build_config(
        defaults("classify"),
        schema("classify"),
        None,
        ["--model.cell=gru", "--model.cell_options.forget_bias=1e-1", "--model.bilm_config={}"],
    )
    assert config["model"]["cell"] == "gru" and config["model"]["bilm_config"] == {}
    assert config["model"]["cell_options"]["forget_bias"] == 0.1


def test_yaml_file_values_are_typed_and_errors_name_file_and_line(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("trainer:\n  lr: 3e-3\n  max_steps: 10\nmodel:\n  hidden_size: 8\n")
    config = build_config(defaults("lm"), schema("lm"), good, [])
    assert config["trainer"]["lr"] == 3e-3 and config["model"]["hidden_size"] == 8
    negative = tmp_path / "negative.yaml"
    negative.write_text("model:\n  dropout: 0.2\n  num_layers: 0\n")
    with pytest.raises(ConfigError, match=r"negative.yaml: line 3: model.num_layers: must be >= 1"):
        build_config(defaults("lm"), schema("lm"), negative, [])
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  lr: 3e-3\n  max_steps: lots\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: line 3: trainer.max_steps: expected an"):
        build_config(defaults("lm"), schema("lm"), bad, [])
    broken = tmp_path / "broken.yaml"
    broken.write_text("trainer:\n  lr: 0.1\n   max_steps: [1\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line 3, column \d+: "):
        build_config(defaults("lm"), schema("lm"), broken, [])
    with pytest.raises(ConfigError, match=r"missing.yaml: cannot read the config file"):
        build_config(defaults("lm"), schema("lm"), tmp_path / "missing.yaml", [])


def test_keys_set_from_the_data_are_refused_and_not_offered():
    computed = {"model": ("vocab_size",)}
    with pytest.raises(ConfigError, match=r"--model.vocab_size: model.vocab_size is set from"):
        build_config(defaults("lm"), schema("lm"), None, ["--model.vocab_size=9"], computed)
    with pytest.raises(ConfigError) as info:
        build_config(defaults("lm"), schema("lm"), None, ["--model.nope=1"], computed)
    assert "'hidden_size'" in str(info.value) and "vocab_size" not in str(info.value)
