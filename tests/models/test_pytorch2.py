"""The task models under PyTorch 2's transforms: torch.export of the language model's sequence
and one-step functions with dynamic sizes, torch.func.functional_call by parameter and by state
dict names, per-sample gradients with vmap(grad(...)), and a compiled classifier and tagger."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.export import Dim
from torch.func import functional_call, grad, vmap

import rnnkit
from rnnkit.models import LanguageModel, SequenceTagger, TextClassifier
from tests.harness import assert_states_close

V = 13


def _lm(cell: str = "lstm") -> LanguageModel:
    return LanguageModel(V, cell=cell, embedding_size=8, hidden_size=10, num_layers=2,
                         dropout=0.0).eval()  # fmt: skip


class _Step(nn.Module):
    """The LM's one-step function as a module (what torch.export takes)."""

    def __init__(self, lm: LanguageModel) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, tokens, state):
        return self.lm.step(tokens, state)


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru"])
def test_language_model_exports_its_sequence_and_step_functions(cell):
    lm = _lm(cell)
    batch, steps = Dim("batch", min=1, max=64), Dim("steps", min=2, max=4096)
    tokens = torch.randint(0, V, (3, 6))
    sequence = torch.export.export(lm, (tokens,), dynamic_shapes=({0: batch, 1: steps},))
    longer = torch.randint(0, V, (5, 11))
    assert_states_close(sequence.module()(longer), lm(longer))

    _, state = lm(tokens)

    def dims(part):
        return [dims(p) for p in part] if isinstance(part, list) else (
            tuple({1: batch} for _ in part) if isinstance(part, tuple) else {1: batch})  # fmt: skip

    step = torch.export.export(_Step(lm), (tokens[:, 0], state),
                               dynamic_shapes=({0: batch}, dims(state)))  # fmt: skip
    _, other = lm(longer)
    assert_states_close(step.module()(longer[:, 0], other), lm.step(longer[:, 0], other))


@pytest.mark.parametrize("names", ["named_parameters", "state_dict"])
def test_functional_call_on_the_models(names):
    lm = _lm("lstm")
    clf = TextClassifier(V, num_classes=3, embedding_size=8, hidden_size=6, cell="mingru",
                         bidirectional=True, pooling="max")  # fmt: skip
    tokens, lengths = torch.randint(0, V, (3, 6)), torch.tensor([6, 2, 4])
    for model, args in ((lm, (tokens,)), (clf.eval(), (tokens, lengths))):
        table = dict(getattr(model, names)())
        once: dict[
            int, torch.Tensor
        ] = {}  # tied weights (embed = decoder): one tensor, as torch asks
        halved = {k: once.setdefault(v.data_ptr(), v * 0.5 if v.is_floating_point() else v)
                  for k, v in table.items()}  # fmt: skip
        expected = model(*args)
        got = functional_call(model, halved, args)
        twin = type(model).from_config(model.get_config()).eval()
        missing, _ = twin.load_state_dict(halved, strict=False)
        assert set(missing) <= {"decoder.weight"}  # tied to embed.weight: named once
        assert_states_close(got, twin(*args))
        assert_states_close(model(*args), expected)  # its own parameters are back


def test_per_sample_gradients_of_an_lstm_classifier_equal_a_loop():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.rnn = rnnkit.LSTM(4, 6)
    model.out = nn.Linear(6, 3)

    def logits(params, x):
        _, (h, _) = functional_call(model.rnn, {k[4:]: v for k, v in params.items()
                                                if k.startswith("rnn.")}, (x,))  # fmt: skip
        return functional_call(model.out, {k[4:]: v for k, v in params.items()
                                           if k.startswith("out.")}, (h[-1],))  # fmt: skip

    def loss(params, x, y):
        return nn.functional.cross_entropy(logits(params, x[None]), y[None])

    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = torch.randn(5, 7, 4), torch.randint(0, 3, (5,))
    per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    assert "torch.func" in model.rnn.backend.reason
    for i in range(5):
        model.zero_grad()
        loss(dict(model.named_parameters()), x[i], y[i]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(per_sample[name][i], p.grad, atol=1e-6, rtol=1e-5)


def test_compiled_classifier_and_tagger_losses_and_gradients_equal_eager():
    tokens, lengths = torch.randint(0, V, (3, 6)), torch.tensor([6, 2, 4])
    clf = TextClassifier(V, num_classes=3, embedding_size=8, hidden_size=6, cell="lstm",
                         bidirectional=True, pooling="mean", dropout=0.0)  # fmt: skip
    tagger = SequenceTagger(V, num_tags=4, embedding_size=8, hidden_size=6, dropout=0.0)
    batches = (
        (clf, {"tokens": tokens, "lengths": lengths, "labels": torch.tensor([0, 2, 1])}),
        (tagger, {"words": tokens, "lengths": lengths, "tags": torch.randint(0, 4, (3, 6))}),
    )
    for model, batch in batches:
        model.eval()  # no dropout: compiled and eager draw their masks differently
        torch._dynamo.reset()
        compiled = torch.compile(model.forward_loss, backend="aot_eager")
        loss, _ = compiled(batch)
        loss.backward()
        got = [loss.detach()] + [p.grad.clone() for p in model.parameters() if p.grad is not None]
        model.zero_grad()
        ref, _ = model.forward_loss(batch)
        ref.backward()
        expected = [ref.detach()] + [p.grad for p in model.parameters() if p.grad is not None]
        assert_states_close(got, expected, atol=1e-5)
