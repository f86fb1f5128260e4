"""SequenceTagger: CRF and softmax heads, character features, padding, learning."""

import pytest
import torch

from rnnkit.models import SequenceTagger


def _batch(n=4, steps=6, vocab=15, tags=5, chars=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 3, 5, 1][:n])
    words = torch.randint(2, vocab, (n, steps), generator=g)
    char_ids = torch.randint(2, chars, (n, steps, 4), generator=g)
    char_lengths = torch.randint(1, 5, (n, steps), generator=g)
    gold = torch.randint(0, tags, (n, steps), generator=g)
    return {"words": words, "lengths": lengths, "chars": char_ids,
            "char_lengths": char_lengths, "tags": gold}  # fmt: skip


@pytest.mark.parametrize(
    ("crf", "num_chars", "cell"),
    [(True, 0, "lstm"), (True, 12, "lstm"), (False, 0, "lstm"), (False, 12, "lstm"),
     (True, 12, "mingru"), (False, 0, "minlstm")],
)  # fmt: skip
def test_predictions_match_sentences_alone(crf, num_chars, cell):
    torch.manual_seed(0)
    tagger = SequenceTagger(15, num_tags=5, num_chars=num_chars, crf=crf, embedding_size=8,
                            hidden_size=6, char_hidden_size=4, cell=cell).eval()  # fmt: skip
    b = _batch()
    paths = tagger.predict(b)
    assert [len(p) for p in paths] == b["lengths"].tolist()
    for i, n in enumerate(b["lengths"].tolist()):
        one = {k: v[i : i + 1, :n] if v.dim() > 1 else v[i : i + 1] for k, v in b.items()}
        assert tagger.predict(one) == [paths[i]]


@pytest.mark.parametrize("crf", [True, False])
def test_learns_to_tag(crf):
    torch.manual_seed(0)
    b = _batch(tags=3)
    b["tags"] = b["words"] % 3  # the tag is a function of the word
    tagger = SequenceTagger(15, num_tags=3, num_chars=12, crf=crf, embedding_size=16,
                            hidden_size=16, dropout=0.0, word_dropout=0.0)  # fmt: skip
    opt = torch.optim.Adam(tagger.parameters(), lr=2e-2)
    for _ in range(80):
        loss, n = tagger.forward_loss(b)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert n == int(b["lengths"].sum())
    paths = tagger.eval().predict(b)
    gold = [row[:k] for row, k in zip(b["tags"].tolist(), b["lengths"].tolist())]
    assert paths == gold


def test_missing_character_input_is_reported():
    tagger = SequenceTagger(15, num_tags=3, num_chars=12)
    b = _batch()
    with pytest.raises(ValueError, match="character features are on"):
        tagger(b["words"], b["lengths"])
