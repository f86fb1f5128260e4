"""NgramLogistic: the fitted weights are scikit-learn's LogisticRegression on the same design
matrix (multi-class and per label), the features are NgramBag's, nothing is a parameter."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.linear_model import LogisticRegression

from rnnkit.layers.ngram_bag import NgramBag
from rnnkit.layers.ngram_logistic import NgramLogistic


def _texts(n=120, steps=12, vocab=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(1, vocab, (n, steps), generator=g)
    lengths = torch.randint(2, steps + 1, (n,), generator=g)
    return tokens, lengths


def _batches(tokens, lengths, size=32):
    return [(tokens[i : i + size], lengths[i : i + size]) for i in range(0, len(tokens), size)]


def test_multiclass_fit_equals_scikit_learns_logistic_regression():
    tokens, lengths = _texts()
    labels = tokens[:, 0] % 3  # the first word says the class
    model = NgramLogistic(40, 3, buckets=16, c=10.0)
    batches = _batches(tokens, lengths)
    model.fit_idf(batches)
    model.fit(batches, labels)
    x = model.design(batches).to_dense().numpy()
    ref = LogisticRegression(C=10.0, tol=1e-10, max_iter=10_000).fit(sp.csr_matrix(x), labels)
    with torch.no_grad():
        ours = torch.softmax(model(tokens, lengths), -1).numpy()
    np.testing.assert_allclose(ours, ref.predict_proba(x), atol=2e-4)
    assert (ours.argmax(-1) == labels.numpy()).mean() > 0.75  # chance: 1/3


def test_multi_label_fit_equals_one_logistic_regression_per_label():
    tokens, lengths = _texts(seed=1)
    labels = torch.stack([tokens[:, 0] % 2, (tokens[:, 1] > 20).long()], dim=1)
    model = NgramLogistic(40, 2, buckets=16, c=3.0, multi_label=True)
    batches = _batches(tokens, lengths)
    model.fit_idf(batches)
    model.fit(batches, labels)
    x = sp.csr_matrix(model.design(batches).to_dense().numpy())
    with torch.no_grad():
        ours = torch.sigmoid(model(tokens, lengths)).numpy()
    for k in range(2):
        ref = LogisticRegression(C=3.0, tol=1e-10, max_iter=10_000).fit(x, labels[:, k])
        np.testing.assert_allclose(ours[:, k], ref.predict_proba(x)[:, 1], atol=2e-4)


def test_design_rows_are_the_bags_features_and_scores_are_the_bags_plus_bias():
    tokens, lengths = _texts(n=7, seed=2)
    model = NgramLogistic(40, 2, buckets=16, order=3)
    model.fit_idf([(tokens, lengths)])
    torch.nn.init.normal_(model.weight)
    model.bias.copy_(torch.tensor([0.5, -1.0]))
    bag = NgramBag(40, 2, buckets=16, order=3)
    bag.load_state_dict({"weight": model.weight, "idf": model.idf})
    x = model.design([(tokens, lengths)]).to_dense()
    with torch.no_grad():
        torch.testing.assert_close(x.float() @ model.weight + model.bias, model(tokens, lengths))
        torch.testing.assert_close(model(tokens, lengths), bag(tokens, lengths) + model.bias)


def test_nothing_is_a_parameter_and_unseen_features_keep_no_weight():
    tokens, lengths = _texts(n=30, vocab=20, seed=3)  # ids 20..39 never occur
    model = NgramLogistic(40, 2, buckets=16)
    assert list(model.parameters()) == []
    assert set(model.state_dict()) == {"weight", "idf", "bias"}
    model.fit_idf([(tokens, lengths)])
    model.fit([(tokens, lengths)], tokens[:, 0] % 2)
    assert model.weight[20:40].abs().sum() == 0 and model.weight[:20].abs().sum() > 0


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="c > 0"):
        NgramLogistic(10, 2, buckets=4, c=0.0)
    tokens, lengths = _texts(n=5)
    with pytest.raises(ValueError, match="5 texts but 4 labels"):
        NgramLogistic(40, 2, buckets=4).fit([(tokens, lengths)], torch.zeros(4, dtype=torch.long))


def test_two_classes_fit_scikit_learns_binary_model_at_twice_c():
    tokens, lengths = _texts(seed=4)
    labels = (tokens[:, 0] > 20).long()
    model = NgramLogistic(40, 2, buckets=16, c=5.0)
    batches = _batches(tokens, lengths)
    model.fit_idf(batches)
    model.fit(batches, labels)
    x = sp.csr_matrix(model.design(batches).to_dense().numpy())
    ref = LogisticRegression(C=10.0, tol=1e-10, max_iter=10_000).fit(x, labels)
    with torch.no_grad():
        ours = torch.softmax(model(tokens, lengths), -1).numpy()
    np.testing.assert_allclose(ours, ref.predict_proba(x), atol=2e-4)


def test_no_texts_is_refused():
    with pytest.raises(ValueError, match="no texts to fit on"):
        NgramLogistic(40, 2, buckets=4).fit([], torch.zeros(0, dtype=torch.long))
