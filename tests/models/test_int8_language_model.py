"""A quantized LM directory loads as ``Int8LanguageModel``: its batch-1 step (the int8 kernel)
equals the float step with the same weights, and other configurations keep the float step."""

import pytest
import torch

from rnnkit.data import CharTokenizer
from rnnkit.kernels import int8_step
from rnnkit.models import LanguageModel
from rnnkit.models.int8_language_model import Int8LanguageModel
from rnnkit.models.io import load_model_dir, read_config, save_model_dir
from rnnkit.models.quantized import save_quantized_dir


def _quantized(tmp_path, cell="lstm", **options):
    tokenizer = CharTokenizer.train("abcdefgh ij\n")
    model = LanguageModel(tokenizer.vocab_size, cell=cell, embedding_size=6, hidden_size=20,
                          tie_weights=False, **options)  # fmt: skip
    root = save_model_dir(tmp_path / "fp32", model, tokenizer, {"task": "lm"})
    save_quantized_dir(root, read_config(root), model, tmp_path / "int8")
    return load_model_dir(tmp_path / "int8")[0]


@pytest.mark.skipif(not int8_step.available(), reason="no C compiler")
def test_int8_step_equals_float_step(tmp_path, monkeypatch):
    monkeypatch.setenv(int8_step.VNNI_ENV, "0")  # the portable path: activations stay float
    model = _quantized(tmp_path, num_layers=3)
    assert isinstance(model, Int8LanguageModel) and model.int8_step.startswith("on")
    tokens = torch.randint(model.config.vocab_size, (12,))
    native = float_state = None
    with torch.no_grad():
        for t in tokens:
            got, native = model.step(t[None], native)
            want, float_state = LanguageModel.step(model, t[None], float_state)
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
        for (h1, c1), (h2, c2) in zip(native, float_state):
            torch.testing.assert_close(h1, h2, atol=1e-5, rtol=1e-5)
            assert h1.shape == h2.shape and c1.shape == c2.shape
        logits, _ = model.step(tokens[:2], None)  # two rows: the float step
        assert logits.shape == (2, model.config.vocab_size)


def test_other_cells_keep_the_float_step(tmp_path):
    model = _quantized(tmp_path, cell="gru")
    assert model.int8_step.startswith("off")
    with torch.no_grad():
        got, _ = model.step(torch.tensor([1]), None)
        want, _ = LanguageModel.step(model, torch.tensor([1]), None)
    assert torch.equal(got, want)


@pytest.mark.skipif(not int8_step.has_vnni(), reason="no AVX-512 VNNI on this CPU")
def test_vnni_step_close_to_float_step(tmp_path):
    model = _quantized(tmp_path, num_layers=2)
    assert model._stack.vnni
    tokens = torch.randint(model.config.vocab_size, (12,))
    native = float_state = None
    with torch.no_grad():
        for t in tokens:
            got, native = model.step(t[None], native)
            want, float_state = LanguageModel.step(model, t[None], float_state)
            torch.testing.assert_close(got, want, atol=0.02, rtol=0)  # activations in 8 bits
