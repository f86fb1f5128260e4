"""ClassifierEnsemble: averaged probabilities, member vs ensemble losses, save/load."""

import math

import pytest
import torch
from torch.nn import functional as F

from rnnkit.models import ClassifierEnsemble, TextClassifier, make_classifier
from rnnkit.models.ensemble import combine
from rnnkit.models.io import load_model_dir, save_model_dir
from tests.harness import classification_batch


def _batch(**options):
    return classification_batch(**{"n": 5, "steps": 6, **options})


def _ensemble(k=3, **options):
    torch.manual_seed(0)
    return ClassifierEnsemble(20, ensemble=k, num_classes=3, embedding_size=8, hidden_size=6,
                              **options)  # fmt: skip


def test_scores_are_the_log_of_the_mean_member_probability():
    clf = _ensemble().eval()
    b = _batch()
    probs = torch.stack([F.softmax(m(b["tokens"], b["lengths"]), -1) for m in clf.members])
    torch.testing.assert_close(clf(b["tokens"], b["lengths"]).exp(), probs.mean(0))
    assert torch.equal(clf.predict(b["tokens"], b["lengths"]), probs.mean(0).argmax(-1))


def test_members_start_different():
    clf = _ensemble()
    a, b = (m.embed.weight for m in clf.members[:2])
    assert not torch.equal(a, b)


def test_multi_label_combination_is_the_logit_of_the_mean_probability():
    z = torch.randn(4, 3, 5) * 3
    p = torch.sigmoid(z).mean(0)
    torch.testing.assert_close(combine(z, multi_label=True), torch.log(p / (1 - p)))
    clf = _ensemble(multi_label=True).eval()
    b = _batch()
    b["labels"] = torch.tensor([[1, 0, 1]] * 5)
    scores = clf(b["tokens"], b["lengths"])
    assert torch.equal(clf.predict(b["tokens"], b["lengths"]), scores > 0)
    loss, n = clf.forward_loss(b)
    want = F.binary_cross_entropy(torch.sigmoid(scores), b["labels"].float())
    torch.testing.assert_close(loss, want)
    assert n == 5


def test_training_loss_is_the_mean_of_member_losses_and_eval_loss_the_ensembles():
    clf = _ensemble()
    b = _batch()
    clf.train(True)
    for m in clf.members:
        m.train(False)  # no dropout, so both sides see the same scores; the ensemble trains
    member_losses = [
        F.cross_entropy(m(b["tokens"], b["lengths"]), b["labels"]) for m in clf.members
    ]
    loss, n = clf.forward_loss(b)
    torch.testing.assert_close(loss, torch.stack(member_losses).mean())
    clf.eval()
    ens, _ = clf.forward_loss(b)
    want = F.nll_loss(clf(b["tokens"], b["lengths"]), b["labels"])
    torch.testing.assert_close(ens, want)
    assert ens.item() <= max(x.item() for x in member_losses) + 1e-6 and n == 5


def test_gradients_reach_every_member():
    clf = _ensemble()
    clf.forward_loss(_batch())[0].backward()
    for name, p in clf.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_save_and_load_round_trip(tmp_path):
    clf = _ensemble(k=2, pooling="attention").eval()
    save_model_dir(tmp_path, clf, meta={"task": "classify"})
    loaded, _, _ = load_model_dir(tmp_path)
    assert isinstance(loaded, ClassifierEnsemble) and loaded.ensemble == 2
    b = _batch()
    torch.testing.assert_close(loaded(b["tokens"], b["lengths"]), clf(b["tokens"], b["lengths"]))


def test_make_classifier_picks_the_class_and_rejects_bad_sizes():
    assert type(make_classifier(20, num_classes=2)) is TextClassifier
    assert type(make_classifier(20, num_classes=2, ensemble=3)) is ClassifierEnsemble
    with pytest.raises(ValueError, match="ensemble >= 2"):
        ClassifierEnsemble(20, ensemble=1)
    with pytest.raises(ValueError, match="ClassifierEnsemble"):
        TextClassifier(20, ensemble=4)


def test_one_member_ensemble_equals_the_combination_of_a_single_model():
    z = torch.randn(1, 4, 3)
    torch.testing.assert_close(combine(z, False).exp(), F.softmax(z[0], -1))
    assert math.isclose(combine(torch.zeros(2, 1, 1), True).item(), 0.0, abs_tol=1e-6)


def _with_linear(k=2, w=1.0, **options):
    clf = _ensemble(k=k, linear_weight=w, ngram_buckets=8, **options)
    b = _batch()
    clf.linear.fit_idf([(b["tokens"], b["lengths"])])
    clf.linear.fit([(b["tokens"], b["lengths"])], b["labels"])
    return clf.eval(), b


def test_a_linear_model_takes_its_share_of_the_probability():
    clf, b = _with_linear(k=2, w=2 / 3)  # a quarter of the probability
    members = torch.stack([F.softmax(m(b["tokens"], b["lengths"]), -1) for m in clf.members])
    linear = F.softmax(clf.linear(b["tokens"], b["lengths"]), -1)
    want = 0.75 * members.mean(0) + 0.25 * linear
    torch.testing.assert_close(clf(b["tokens"], b["lengths"]).exp(), want)
    torch.testing.assert_close(clf.member_weights(), torch.tensor([0.375, 0.375, 0.25]))
    assert not torch.allclose(want, members.mean(0))  # the fitted model moved something


def test_weighted_multi_label_combination():
    z, w = torch.randn(3, 4, 2) * 3, torch.tensor([0.2, 0.3, 0.5])
    p = (torch.sigmoid(z) * w.view(3, 1, 1)).sum(0)
    torch.testing.assert_close(combine(z, True, w), torch.log(p / (1 - p)))


def test_the_linear_model_is_not_trained_with_the_members_and_survives_saving(tmp_path):
    clf, b = _with_linear(k=1, w=1.0)
    assert len(clf.members) == 1 and all(not n.startswith("linear") for n, _ in
                                         clf.named_parameters())  # fmt: skip
    clf.train(True)
    for m in clf.members:
        m.train(False)
    loss, _ = clf.forward_loss(b)  # training: the members' own loss only
    torch.testing.assert_close(loss, F.cross_entropy(clf.members[0](b["tokens"], b["lengths"]),
                                                     b["labels"]))  # fmt: skip
    fitted = clf.linear.weight.clone()
    optimiser = torch.optim.AdamW(clf.parameters(), lr=0.1, weight_decay=0.1)
    loss.backward()
    optimiser.step()
    assert torch.equal(clf.linear.weight, fitted)
    clf.eval()
    save_model_dir(tmp_path, clf, meta={"task": "classify"})
    loaded, _, _ = load_model_dir(tmp_path)
    assert isinstance(loaded, ClassifierEnsemble) and loaded.linear_weight == 1.0
    torch.testing.assert_close(loaded.linear.weight, clf.linear.weight)
    torch.testing.assert_close(loaded(b["tokens"], b["lengths"]), clf(b["tokens"], b["lengths"]))


def test_linear_weight_picks_the_ensemble_and_is_checked():
    assert type(make_classifier(20, num_classes=2, linear_weight=0.2)) is ClassifierEnsemble
    with pytest.raises(ValueError, match="linear_weight must be >= 0"):
        ClassifierEnsemble(20, ensemble=2, linear_weight=-1.0)
    with pytest.raises(ValueError, match=r"ensemble >= 2 members \(>= 1 with a linear"):
        ClassifierEnsemble(20, ensemble=1)
    with pytest.raises(ValueError, match="ClassifierEnsemble"):
        TextClassifier(20, linear_weight=0.3)


def test_linear_buckets_give_the_linear_model_its_own_hash_size(tmp_path):
    shared = ClassifierEnsemble(20, ensemble=1, num_classes=2, ngram_buckets=8, linear_weight=1.0)
    assert shared.linear.buckets == 8 and shared.members[0].ngrams.buckets == 8
    clf = ClassifierEnsemble(20, ensemble=1, num_classes=2, ngram_buckets=8, linear_weight=1.0,
                             linear_buckets=32)  # fmt: skip
    assert clf.linear.buckets == 32 and clf.linear.weight.shape == (20 + 32, 2)
    assert clf.members[0].ngrams.buckets == 8
    save_model_dir(tmp_path, clf, meta={"task": "classify"})
    loaded, _, _ = load_model_dir(tmp_path)
    assert loaded.linear.buckets == 32 and loaded.get_config()["linear_buckets"] == 32
    with pytest.raises(ValueError, match="linear_buckets must be >= 0"):
        ClassifierEnsemble(20, ensemble=2, linear_weight=1.0, linear_buckets=-1)
