"""``evaluate_lm`` is the trainer's evaluation: the same numbers as ``Trainer.evaluate`` over the
same windows, and as the cross-entropy summed by hand with the state carried across windows."""

import math

import pytest
import torch
from torch.nn import functional as F

from rnnkit.data import CharTokenizer, LMStream
from rnnkit.models import LanguageModel
from rnnkit.models.io import load_model_dir, save_model_dir
from rnnkit.tasks.lm import EvalWindows, LMDataConfig, evaluate_lm
from rnnkit.training import Trainer, TrainerConfig

TEXT = "the cat sat on the mat.\nthe dog ran by the cat.\n" * 6


@pytest.fixture
def lm_dir(tmp_path):
    tokenizer = CharTokenizer.train(TEXT)
    torch.manual_seed(0)
    model = LanguageModel(tokenizer.vocab_size, embedding_size=8, hidden_size=12, num_layers=2)
    meta = {"task": "lm", "data": LMDataConfig().to_dict()}
    save_model_dir(tmp_path / "model", model, tokenizer, meta)
    (tmp_path / "test.txt").write_text(TEXT[7:200])
    return tmp_path / "model", tmp_path / "test.txt"


def test_evaluate_lm_gives_the_trainers_numbers(lm_dir):
    directory, text = lm_dir
    got = evaluate_lm(directory, text, bptt=7, batch_size=3)
    model, tokenizer, _ = load_model_dir(directory)
    ids = torch.tensor(tokenizer.encode(text.read_text()), dtype=torch.long)
    trainer = Trainer(model.train(), [], TrainerConfig(max_steps=1, progress=False), device="cpu")
    ref = trainer.evaluate(EvalWindows(LMStream(ids, 3, 7)))
    assert model.training  # the trainer's evaluation gives the mode back
    assert got["loss"] == ref["loss"] and got["perplexity"] == ref["ppl"]
    assert got["tokens"] == ref["items"]

    total, count, state = 0.0, 0, None  # by hand: the state carried from window to window
    with torch.no_grad():
        for x, y in LMStream(ids, 3, 7).windows_for_eval():
            logits, state = model.eval()(x, state)
            total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            count += y.numel()
    assert got["tokens"] == count and got["loss"] == pytest.approx(total / count, rel=1e-6)
    assert got["perplexity"] == pytest.approx(math.exp(total / count), rel=1e-6)
    chars = len(text.read_text()) * count / ids.numel()
    assert got["bpc"] == pytest.approx(total / (chars * math.log(2)), rel=1e-6)


def test_a_text_too_short_to_evaluate_is_named(lm_dir, tmp_path):
    directory, _ = lm_dir
    empty = tmp_path / "empty.txt"
    empty.write_text("t")
    with pytest.raises(ValueError, match=r"empty\.txt: too short to evaluate"):
        evaluate_lm(directory, empty)
