"""TextClassifier: shapes, losses, padding invariance, learning, LM initialisation."""

import pytest
import torch
from torch.nn import functional as F

from rnnkit.models import LanguageModel, TextClassifier
from tests.harness import classification_batch


def _batch(**options):
    return classification_batch(**{"n": 6, "steps": 7, **options})


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "attention", "concat"])
@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru", "minlstm"])
def test_padding_does_not_change_predictions(pooling, cell):
    torch.manual_seed(0)
    clf = TextClassifier(20, num_classes=3, cell=cell, pooling=pooling, embedding_size=8,
                         hidden_size=6, num_layers=2).eval()  # fmt: skip
    b = _batch()
    logits = clf(b["tokens"], b["lengths"])
    assert logits.shape == (6, 3)
    for i, n in enumerate(b["lengths"].tolist()):
        alone = clf(b["tokens"][i : i + 1, :n], b["lengths"][i : i + 1])
        torch.testing.assert_close(logits[i : i + 1], alone, atol=1e-5, rtol=1e-4)


def test_learns_a_keyword_rule():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(3, 30, (64, 10), generator=g)
    labels = (tokens == 5).any(1).long()  # class 1 iff token 5 occurs
    batch = {"tokens": tokens, "lengths": torch.full((64,), 10), "labels": labels}
    clf = TextClassifier(30, num_classes=2, embedding_size=16, hidden_size=16, dropout=0.0,
                         input_dropout=0.0)  # fmt: skip
    opt = torch.optim.Adam(clf.parameters(), lr=1e-2)
    first = clf.forward_loss(batch)[0].item()
    for _ in range(60):
        loss, n = clf.forward_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert n == 64 and loss.item() < 0.2 * first
    clf.eval()
    assert (clf.predict(tokens, batch["lengths"]) == labels).float().mean() > 0.95


def test_multi_label_loss_and_prediction():
    torch.manual_seed(0)
    clf = TextClassifier(20, num_classes=4, multi_label=True, embedding_size=8, hidden_size=6)
    b = _batch(classes=2)
    b["labels"] = torch.tensor([[1, 0, 1, 0]] * 6)
    clf.eval()
    loss, n = clf.forward_loss(b)
    logits = clf(b["tokens"], b["lengths"])
    assert n == 6  # one independent sigmoid per class, binary cross-entropy on each
    torch.testing.assert_close(
        loss, F.binary_cross_entropy_with_logits(logits, b["labels"].float())
    )
    pred = clf.predict(b["tokens"], b["lengths"])
    assert pred.dtype == torch.bool and torch.equal(pred, logits > 0)  # sigmoid > 0.5


def test_language_model_initialises_the_encoder():
    torch.manual_seed(0)
    lm = LanguageModel(20, cell="gru", embedding_size=8, hidden_size=12, num_layers=2)
    clf = TextClassifier(20, num_classes=2, cell="gru", embedding_size=8, hidden_size=12,
                         num_layers=2, bidirectional=False, last_hidden_size=8)  # fmt: skip
    clf.load_language_model(lm)
    torch.testing.assert_close(clf.embed.weight, lm.embed.weight)
    torch.testing.assert_close(clf.layers[1].weight_hh_l0, lm.layers[1].weight_hh_l0)
    bidirectional = TextClassifier(20, num_classes=2, cell="gru", embedding_size=8,
                                   hidden_size=12, num_layers=2)  # fmt: skip
    with pytest.raises(ValueError, match="does not fit this encoder"):
        bidirectional.load_language_model(lm)


def test_bad_input_names_the_shapes():
    clf = TextClassifier(20, num_classes=2)
    with pytest.raises(ValueError, match=r"expected tokens \(N, L\) and lengths \(N,\)"):
        clf(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3]))


def _wide(**options):
    torch.manual_seed(0)
    clf = TextClassifier(20, num_classes=3, embedding_size=8, hidden_size=6, ngram_buckets=16,
                         **options)  # fmt: skip
    with torch.no_grad():
        clf.ngrams.weight.normal_()
    return clf


def test_ngram_bag_adds_its_scores_and_ignores_padding():
    clf = _wide().eval()
    b = _batch()
    deep, wide = clf.scores(b["tokens"], b["lengths"])
    torch.testing.assert_close(clf(b["tokens"], b["lengths"]), deep + wide)
    torch.testing.assert_close(wide, clf.ngrams(b["tokens"], b["lengths"]))
    for i, n in enumerate(b["lengths"].tolist()):
        alone = clf(b["tokens"][i : i + 1, :n], b["lengths"][i : i + 1])
        torch.testing.assert_close(clf(b["tokens"], b["lengths"])[i : i + 1], alone)


def test_ngram_bag_also_learns_alone_in_training():
    clf = _wide(dropout=0.0, input_dropout=0.0)
    b = _batch()
    deep, wide = clf.scores(b["tokens"], b["lengths"])
    ce = torch.nn.functional.cross_entropy
    train_loss, _ = clf.forward_loss(b)
    torch.testing.assert_close(train_loss, ce(deep + wide, b["labels"]) + ce(wide, b["labels"]))
    eval_loss, _ = clf.eval().forward_loss(b)
    torch.testing.assert_close(eval_loss, ce(deep + wide, b["labels"]))


def test_ngram_bag_survives_save_and_load(tmp_path):
    from rnnkit.models.io import load_model_dir, save_model_dir

    clf = _wide(ngram_order=3).eval()
    save_model_dir(tmp_path, clf, meta={"task": "classify"})
    loaded = load_model_dir(tmp_path)[0]
    assert loaded.ngrams.order == 3
    b = _batch()
    torch.testing.assert_close(loaded(b["tokens"], b["lengths"]), clf(b["tokens"], b["lengths"]))


def test_encoder_length_limits_the_encoder_but_not_the_ngram_bag():
    clf = _wide(encoder_length=4).eval()
    b = _batch()  # 7 steps, lengths up to 7
    deep, wide = clf.scores(b["tokens"], b["lengths"])
    torch.testing.assert_close(wide, clf.ngrams(b["tokens"], b["lengths"]))
    head = clf.head(clf.pool(clf.encode(b["tokens"][:, :4], b["lengths"].clamp(max=4)),
                             b["lengths"].clamp(max=4)))  # fmt: skip
    torch.testing.assert_close(deep, head)
    changed = b["tokens"].clone()
    changed[:, 4:] = (changed[:, 4:] + 1) % 20  # tokens past 4: only the bag sees them
    deep2, wide2 = clf.scores(changed, b["lengths"])
    torch.testing.assert_close(deep2, deep)
    assert not torch.allclose(wide2, wide)
    with pytest.raises(ValueError, match="encoder_length must be >= 1"):
        TextClassifier(20, encoder_length=0)
