"""Keras files written by Keras 3 and Keras 2 (tests/fixtures/keras/make_fixtures.py) give, in
rnnkit, what Keras' predict gave: padded, left-padded and holed batches included."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.interop.keras import KerasImportError, from_keras

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
MODELS = [
    "classify_lstm", "tag_bigru", "lm_gru", "bi_merges", "bi_none", "bi_last",
    "return_state", "backwards_max", "masking_stack",
]  # fmt: skip
FORMATS = {"k3": [".keras", ".weights.h5", ".h5"], "k2": [".h5", ".weights.h5"]}
CASES = [(v, m, f) for v, fmts in FORMATS.items() for m in MODELS for f in fmts]
# Keras 2's weights-only HDF5 files (save_weights("x.h5")), with the model's JSON beside them
CASES += [("k2", m, ".legacy-weights.h5") for m in ("classify_lstm", "bi_merges", "masking_stack")]


def expected(version: str, name: str) -> tuple[torch.Tensor, list[np.ndarray]]:
    data = np.load(ROOT / version / f"{name}.io.npz")
    outputs = sorted((k for k in data.files if k.startswith("output_")), key=lambda k: int(k[7:]))
    return torch.from_numpy(data["inputs"]), [data[k] for k in outputs]


def run(model: torch.nn.Module, x: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        out = model(x)
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


@pytest.mark.parametrize(("version", "name", "suffix"), CASES)
def test_matches_keras_predict(version: str, name: str, suffix: str) -> None:
    x, want = expected(version, name)
    config = ROOT / version / f"{name}.json" if suffix == ".legacy-weights.h5" else None
    got = run(from_keras(ROOT / version / f"{name}{suffix}", config=config), x)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, atol=1e-5, rtol=0)  # NaN where Keras has NaN


def test_recurrence_runs_in_rnnkit_layers() -> None:
    model = from_keras(ROOT / "k3" / "bi_merges.keras")
    kinds = [type(m.layer).__name__ for m in model.layers.values() if hasattr(m, "layer")]
    assert kinds == ["Bidirectional"] * 3
    inner = model.layers["bidirectional_2"].layer
    assert isinstance(inner.forward_layer, rnnkit.LSTM)
    assert inner.backward_layer.go_backwards and not inner.forward_layer.go_backwards


def test_hard_sigmoid_follows_the_file_version() -> None:
    """masking_stack uses hard_sigmoid; read as Keras 3 a Keras 2 file computes otherwise."""
    x, want = expected("k2", "masking_stack")
    path = ROOT / "k2" / "masking_stack.h5"
    assert from_keras(path).keras_version.startswith("2.")
    wrong = run(from_keras(path, keras_version="3.0.0"), x)[0]
    assert np.abs(wrong - want[0]).max() > 1e-3


def test_padded_positions_follow_keras() -> None:
    """A lone backward GRU returns its outputs in reading order; masked steps repeat outputs."""
    x, want = expected("k3", "return_state")
    seq = run(from_keras(ROOT / "k3" / "return_state.keras"), x)[0]
    # row 1 is [4, 2, 8, pad x 4]: read backwards the four pads come first, and output zeros
    assert np.all(seq[1, :4] == 0) and np.all(seq[1, 4:] != 0)
    np.testing.assert_allclose(seq, want[0], atol=1e-5, rtol=0)


def test_npz_weights_are_refused() -> None:
    with pytest.raises(KerasImportError, match=r"model\.weights\.npz.*does not unpickle"):
        from_keras(ROOT / "k3" / "classify_lstm.npz.keras")


def test_import_needs_neither_keras_nor_tensorflow() -> None:
    code = (
        "import sys, rnnkit\n"
        "assert 'h5py' not in sys.modules, 'import rnnkit pulled h5py in'\n"
        f"m = rnnkit.from_keras({str(ROOT / 'k3' / 'lm_gru.keras')!r})\n"
        "bad = [k for k in ('keras', 'tensorflow', 'tf_keras') if k in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sequential_without_input_layer(tmp_path: Path) -> None:
    """Older Keras 2 files give the first layer the input shape instead of an InputLayer."""
    import json
    import shutil

    config = json.loads((ROOT / "k2" / "masking_stack.json").read_text())
    layers = config["config"]["layers"]
    shape = layers.pop(0)["config"]["batch_input_shape"]
    layers[0]["config"]["batch_input_shape"] = shape
    (tmp_path / "m.json").write_text(json.dumps(config))
    shutil.copy(ROOT / "k2" / "masking_stack.weights.h5", tmp_path / "m.weights.h5")
    x, want = expected("k2", "masking_stack")
    got = run(from_keras(tmp_path / "m.weights.h5"), x)
    np.testing.assert_allclose(got[0], want[0], atol=1e-5, rtol=0)
