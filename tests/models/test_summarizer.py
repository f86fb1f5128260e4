"""SummaRuNNer: shapes, padding invariance, learning a rule, sentence selection, save/load."""

import pytest
import torch

from rnnkit.models import SummaRuNNer
from rnnkit.models.summarizer import select_sentences
from tests.harness import assert_states_close


def _docs(n=5, s=6, w=7, vocab=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(2, vocab, (n, s, w), generator=g)
    lengths = torch.randint(1, s + 1, (n,), generator=g)
    sentence_lengths = torch.randint(1, w + 1, (n, s), generator=g)
    sentence_lengths[torch.arange(s) >= lengths.unsqueeze(1)] = 0
    for i in range(n):  # zero the padding
        for j in range(s):
            tokens[i, j, sentence_lengths[i, j] :] = 0
    labels = (tokens == 5).any(-1).float() * (sentence_lengths > 0)
    return {"tokens": tokens, "sentence_lengths": sentence_lengths, "lengths": lengths,
            "labels": labels}  # fmt: skip


@pytest.mark.parametrize("cell", ["gru", "lstm", "minlstm"])
def test_each_document_scores_as_if_alone(cell):
    torch.manual_seed(0)
    model = SummaRuNNer(30, cell=cell, embedding_size=8, hidden_size=6, position_size=4).eval()
    b = _docs()
    logits = model(b["tokens"], b["sentence_lengths"], b["lengths"])
    assert logits.shape == (5, 6)
    for i, n in enumerate(b["lengths"].tolist()):
        assert torch.isinf(logits[i, n:]).all()
        w = int(b["sentence_lengths"][i].max())
        alone = model(b["tokens"][i : i + 1, :n, :w], b["sentence_lengths"][i : i + 1, :n],
                      b["lengths"][i : i + 1])  # fmt: skip
        assert_states_close(logits[i : i + 1, :n], alone)


def test_wrong_shapes_name_the_model_and_shapes():
    model = SummaRuNNer(30, embedding_size=8, hidden_size=6)
    with pytest.raises(ValueError, match=r"SummaRuNNer: expected tokens \(N, S, W\)"):
        model(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3), torch.ones(2))


def test_learns_which_sentences_hold_a_keyword():
    torch.manual_seed(0)
    model = SummaRuNNer(30, embedding_size=16, hidden_size=16, dropout=0.0)
    b = _docs(n=32, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.forward_loss(b)[0].item()
    for _ in range(80):
        loss, count = model.forward_loss(b)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert count == int(b["lengths"].sum()) and loss.item() < 0.3 * first
    probs = model.eval().predict(b)
    real = b["sentence_lengths"] > 0
    assert ((probs > 0.5) == b["labels"].bool())[real].float().mean() > 0.95


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = SummaRuNNer(30, embedding_size=8, hidden_size=6, position_size=4)
    model.forward_loss(_docs())[0].backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not missing


def test_save_load_round_trip(tmp_path):
    from rnnkit.models.io import load_model_dir, save_model_dir

    model = SummaRuNNer(30, embedding_size=8, hidden_size=6).eval()
    save_model_dir(tmp_path, model)
    twin, _, _ = load_model_dir(tmp_path)
    b = _docs()
    assert_states_close(twin.predict(b), model.predict(b), atol=0, rtol=0)


def test_select_sentences_budgets_and_document_order():
    scores, words = [0.1, 0.9, 0.5, 0.8], [10, 30, 5, 12]
    assert select_sentences(scores, words, max_sentences=2) == [1, 3]
    assert select_sentences(scores, words) == [1]  # no budget: one sentence
    assert select_sentences(scores, words, max_words=20) == [1]  # the best always comes
    assert select_sentences(scores, words, max_words=50) == [1, 2, 3]
    assert select_sentences(scores, words, max_sentences=9) == [0, 1, 2, 3]
