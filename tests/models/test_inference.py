"""``predict`` runs in eval mode whatever mode the model is in, and leaves that mode alone."""

from __future__ import annotations

import pytest
import torch

from rnnkit.models import SequenceTagger, SummaRuNNer, TextClassifier
from tests.models.test_summarizer import _docs
from tests.models.test_tagger import _batch


def _classifier() -> tuple[torch.nn.Module, tuple]:
    model = TextClassifier(20, num_classes=5, embedding_size=8, hidden_size=8, dropout=0.5)
    return model, (torch.randint(1, 20, (6, 7)), torch.tensor([7, 5, 3, 7, 2, 1]))


def _tagger() -> tuple[torch.nn.Module, tuple]:
    model = SequenceTagger(15, num_tags=5, crf=False, embedding_size=8, hidden_size=6, dropout=0.5)
    return model, (_batch(),)


def _summarizer() -> tuple[torch.nn.Module, tuple]:
    return SummaRuNNer(30, embedding_size=8, hidden_size=6, dropout=0.5), (_docs(),)


@pytest.mark.parametrize("make", [_classifier, _tagger, _summarizer])
def test_predict_in_training_mode_equals_eval(make) -> None:
    torch.manual_seed(0)
    model, args = make()
    expected = model.eval().predict(*args)
    model.train()
    for _ in range(3):  # dropout at 0.5 would change these if predict ran in training mode
        assert str(model.predict(*args)) == str(expected)
    assert model.training  # the mode it was in is restored
