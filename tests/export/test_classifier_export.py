"""Classifier graph: probabilities equal the PyTorch model's for every pooling mode, with an
n-gram bag (also one that reads past the encoder's ``encoder_length``) and as an ensemble (also
with a fitted linear model), at
two batch sizes and two lengths with padding (padding never changes a text's result)."""

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.export.classifier import classifier_graph
from rnnkit.export.recurrent import ExportError
from rnnkit.models import TextClassifier, make_classifier


def _run(model, ids, lengths):
    graph = ort.InferenceSession(classifier_graph(model).SerializeToString())
    return graph.run(["probabilities"], {"input_ids": ids.numpy(), "lengths": lengths.numpy()})[0]


@pytest.mark.parametrize(
    "options",
    [
        {"pooling": "max"},
        {"pooling": "mean", "cell": "gru"},
        {"pooling": "last", "num_layers": 2},
        {"pooling": "last", "bidirectional": False, "cell": "rnn"},
        {"pooling": "attention", "ff_size": 5},
        {"pooling": "concat"},
        {"pooling": "max", "multi_label": True, "num_classes": 3},
        {"pooling": "max", "ngram_buckets": 13},
        {"pooling": "mean", "ngram_buckets": 13, "ngram_order": 3, "ensemble": 3},
        {"pooling": "attention", "ngram_buckets": 13, "encoder_length": 3},
        {"pooling": "last", "ngram_buckets": 13, "encoder_length": 6, "ensemble": 2},
        {
            "pooling": "max",
            "multi_label": True,
            "num_classes": 3,
            "ensemble": 2,
            "ngram_buckets": 5,
        },
        {
            "pooling": "max",
            "ngram_buckets": 13,
            "ensemble": 2,
            "linear_weight": 0.3,
            "linear_buckets": 17,
        },
        {"pooling": "max", "multi_label": True, "num_classes": 3, "linear_weight": 0.4},
    ],
)
@pytest.mark.parametrize(("batch", "length"), [(1, 1), (1, 4), (5, 11)])
def test_probabilities_match(options, batch, length):
    torch.manual_seed(0)
    model = make_classifier(20, embedding_size=6, hidden_size=7, attention_size=4, **options)
    for member in getattr(model, "members", [model]):
        if member.ngrams is not None:  # the bag starts at zero: give it weights to check
            torch.nn.init.normal_(member.ngrams.weight)  # and idf, some 0 (ids >= 12 unseen)
            member.ngrams.fit_idf(
                [(torch.randint(1, 12, (6, 5)), torch.tensor([5, 4, 3, 5, 2, 1]))]
            )
    linear = getattr(model, "linear", None)
    if linear is not None:  # fitted weights, as random as the members', and a bias
        torch.nn.init.normal_(linear.weight)
        torch.nn.init.normal_(linear.bias)
        linear.fit_idf([(torch.randint(1, 12, (6, 5)), torch.tensor([5, 4, 3, 5, 2, 1]))])
    model.eval()
    ids = torch.randint(1, 20, (batch, length))
    lengths = torch.tensor([length, *torch.randint(1, length + 1, (batch - 1,)).tolist()])
    got = _run(model, ids, lengths)
    for i in range(batch):
        n = int(lengths[i])
        with torch.no_grad():
            logits = model(ids[i : i + 1, :n], torch.tensor([n]))
        want = torch.sigmoid(logits) if model.config.multi_label else logits.softmax(-1)
        np.testing.assert_allclose(got[i], want[0].numpy(), atol=1e-5, rtol=0)


def test_minlstm_encoder_refused():
    model = TextClassifier(20, embedding_size=6, hidden_size=7, cell="minlstm")
    with pytest.raises(ExportError, match="MinLSTM"):
        classifier_graph(model)
