"""Every unsupported layer or option is refused with a message naming the layer, its class and
the option; configs are edited from a real fixture so the rest of the file is valid."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rnnkit.interop.keras import KerasImportError, from_keras

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "keras"


def _layer(config: dict[str, Any], class_name: str) -> dict[str, Any]:
    return next(spec for spec in config["config"]["layers"] if spec["class_name"] == class_name)


def _edit(tmp_path: Path, name: str, change: Callable[[dict[str, Any]], None]) -> Path:
    config = json.loads((ROOT / "k3" / f"{name}.json").read_text())
    change(config)
    shutil.copy(ROOT / "k3" / f"{name}.weights.h5", tmp_path / "m.weights.h5")
    (tmp_path / "m.json").write_text(json.dumps(config))
    return tmp_path / "m.weights.h5"


def _set(class_name: str, **options: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        _layer(config, class_name)["config"].update(options)

    return change


def _wrap_inner(class_name: str, **options: Any) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        _layer(config, class_name)["config"]["layer"]["config"].update(options)

    return change


def _rename_class(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def change(config: dict[str, Any]) -> None:
        _layer(config, old)["class_name"] = new

    return change


def _mixed_precision(config: dict[str, Any]) -> None:
    dense = _layer(config, "Dense")["config"]
    dense["dtype"] = copy.deepcopy(dense["dtype"])
    dense["dtype"]["config"]["name"] = "mixed_float16"


def _time_distributed_lstm(config: dict[str, Any]) -> None:
    _layer(config, "TimeDistributed")["config"]["layer"]["class_name"] = "Conv1D"


CASES = [
    (
        "classify_lstm",
        _rename_class("LSTM", "ConvLSTM1D"),
        r"'lstm.*' \(ConvLSTM1D\): this layer class is not supported",
    ),
    ("classify_lstm", _set("LSTM", stateful=True), r"\(LSTM\): stateful=True is not supported"),
    (
        "classify_lstm",
        _set("LSTM", activation="selu"),
        r"\(LSTM\): activation='selu' is not supported",
    ),
    (
        "classify_lstm",
        _set("LSTM", recurrent_activation="hard_silu"),
        r"\(LSTM\): recurrent_activation='hard_silu'",
    ),
    (
        "classify_lstm",
        _set("Dense", activation="log_softmax"),
        r"\(Dense\): activation='log_softmax'",
    ),
    ("classify_lstm", _mixed_precision, r"\(Dense\): dtype='mixed_float16' is not supported"),
    (
        "classify_lstm",
        _set("Embedding", lora_rank=4),
        r"\(Embedding\): lora_rank=4 is not supported",
    ),
    (
        "classify_lstm",
        _set("LSTM", units=6),
        r"\(LSTM\): kernel has shape \(4, 20\), expected \(4, 24\)",
    ),
    ("lm_gru", _set("GRU", time_major=True), r"\(GRU\): time_major=True is not supported"),
    (
        "tag_bigru",
        _set("Bidirectional", merge_mode="max"),
        r"\(Bidirectional\): merge_mode='max' is not supported",
    ),
    (
        "tag_bigru",
        _wrap_inner("Bidirectional", go_backwards=True),
        r"\(Bidirectional\): wraps a layer with go_backwards=True",
    ),
    ("tag_bigru", _time_distributed_lstm, r"\(TimeDistributed\): wraps 'Conv1D'"),
    (
        "backwards_max",
        _set("GlobalMaxPooling1D", data_format="channels_first"),
        r"\(GlobalMaxPooling1D\): data_format='channels_first'",
    ),
    (
        "masking_stack",
        _set("Dropout", noise_shape=[None, 1, 3]),
        r"\(Dropout\): noise_shape=\[None, 1, 3\] is not supported",
    ),
]


@pytest.mark.parametrize(("name", "change", "message"), CASES)
def test_refused_with_layer_class_and_option(
    tmp_path: Path, name: str, change: Callable, message: str
) -> None:
    with pytest.raises(KerasImportError, match=message):
        from_keras(_edit(tmp_path, name, change))


def test_bidirectional_with_a_different_backward_layer(tmp_path: Path) -> None:
    def change(config: dict[str, Any]) -> None:
        _layer(config, "Bidirectional")["config"]["backward_layer"]["config"]["units"] = 5

    with pytest.raises(KerasImportError, match=r"\(Bidirectional\): backward_layer differs"):
        from_keras(_edit(tmp_path, "tag_bigru", change))


def test_shared_layer(tmp_path: Path) -> None:
    def change(config: dict[str, Any]) -> None:
        spec = _layer(config, "Dense")
        spec["inbound_nodes"] = spec["inbound_nodes"] * 2

    with pytest.raises(KerasImportError, match=r"'dense.*' \(Dense\): called 2 times"):
        from_keras(_edit(tmp_path, "return_state", change))


def test_initial_state_argument(tmp_path: Path) -> None:
    def change(config: dict[str, Any]) -> None:
        spec = _layer(config, "LSTM")
        spec["inbound_nodes"][0]["kwargs"]["initial_state"] = [1.0]

    with pytest.raises(KerasImportError, match=r"\(LSTM\): called with \['initial_state'\]"):
        from_keras(_edit(tmp_path, "return_state", change))


def test_subclassed_model(tmp_path: Path) -> None:
    def change(config: dict[str, Any]) -> None:
        config["class_name"] = "MyModel"

    with pytest.raises(KerasImportError, match=r"model class 'MyModel' is not imported"):
        from_keras(_edit(tmp_path, "classify_lstm", change))


def test_weights_file_without_config(tmp_path: Path) -> None:
    shutil.copy(ROOT / "k3" / "lm_gru.weights.h5", tmp_path / "x.weights.h5")
    with pytest.raises(KerasImportError, match=r"needs the model's config: pass config="):
        from_keras(tmp_path / "x.weights.h5")


def test_config_that_is_not_json(tmp_path: Path) -> None:
    shutil.copy(ROOT / "k3" / "lm_gru.weights.h5", tmp_path / "x.weights.h5")
    (tmp_path / "x.json").write_text('{"class_name": "Sequential",\n "config": [}')
    with pytest.raises(KerasImportError, match=r"x\.json: line 2: not valid JSON"):
        from_keras(tmp_path / "x.weights.h5")
