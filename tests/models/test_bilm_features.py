"""BiLMFeatures inside the tagger and the classifier: modes, frozen versus fine-tuned biLM."""

import pytest
import torch

from rnnkit.data.batching import pad_sequences
from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.models import BiLanguageModel, BiLMFeatures, SequenceTagger, TextClassifier

SENTENCES = [["the", "cat", "sat"], ["a", "dog"], ["the", "dog", "ran", "far"]]


def _bilm() -> tuple[BiLanguageModel, BiLMVocab]:
    vocab = BiLMVocab.build(SENTENCES)
    return BiLanguageModel(len(vocab.words), embedding_size=4, hidden_size=5), vocab


def _tagger_batch(vocab: BiLMVocab) -> dict:
    words, lengths = pad_sequences([[2 + i for i in range(len(s))] for s in SENTENCES])
    tags = pad_sequences([[i % 2 for i in range(len(s))] for s in SENTENCES])[0]
    bilm = vocab.collate([vocab.encode(s) for s in SENTENCES])
    return {"words": words, "lengths": lengths, "tags": tags, "bilm": bilm}


def _tagger(bilm: BiLanguageModel, **options) -> SequenceTagger:
    tagger = SequenceTagger(8, num_tags=2, embedding_size=4, hidden_size=4,
                            bilm_config=bilm.get_config(), **options)  # fmt: skip
    tagger.bilm.load_bilm(bilm)
    return tagger


def _step(model, batch) -> None:
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    loss, _ = model.forward_loss(batch)
    opt.zero_grad()
    loss.backward()
    opt.step()


@pytest.mark.parametrize("finetune", [False, True])
def test_frozen_biLM_keeps_its_weights_and_finetuned_one_learns(finetune):
    bilm, vocab = _bilm()
    tagger = _tagger(bilm, bilm_finetune=finetune).train()
    assert tagger.bilm.bilm.training == finetune  # frozen: no dropout while the task trains
    before = {k: v.clone() for k, v in tagger.bilm.bilm.state_dict().items()}
    mix_before = tagger.bilm.mix.scalars.detach().clone()
    _step(tagger, _tagger_batch(vocab))
    after = tagger.bilm.bilm.state_dict()
    unchanged = all(torch.equal(before[k], after[k]) for k in before)
    assert unchanged != finetune
    assert not torch.equal(tagger.bilm.mix.scalars, mix_before)  # the mix learns either way


def test_modes_pick_a_layer_or_average():
    bilm, vocab = _bilm()
    bilm.eval()
    inputs = vocab.collate([vocab.encode(s) for s in SENTENCES])
    layers = bilm.layer_outputs(inputs["words"], inputs["lengths"])
    for mode, layer, expected in (("layer", 1, layers[1]), ("layer", None, layers[2]),
                                  ("average", None, layers.mean(0))):  # fmt: skip
        feats = BiLMFeatures(bilm.get_config(), mode, layer)
        feats.load_bilm(bilm)
        torch.testing.assert_close(feats(inputs), expected)
    with pytest.raises(ValueError, match="mode must be one of"):
        BiLMFeatures(bilm.get_config(), "sum")


def test_tagger_predictions_do_not_depend_on_the_batch():
    bilm, vocab = _bilm()
    tagger = _tagger(bilm).eval()
    b = _tagger_batch(vocab)
    paths = tagger.predict(b)
    for i, s in enumerate(SENTENCES):
        one = _tagger_batch(vocab)
        n = len(s)
        alone = {"words": one["words"][i : i + 1, :n], "lengths": one["lengths"][i : i + 1],
                 "bilm": vocab.collate([vocab.encode(s)])}  # fmt: skip
        assert tagger.predict(alone) == [paths[i]]
    with pytest.raises(ValueError, match="biLM features are on"):
        tagger(b["words"], b["lengths"])


def test_classifier_with_biLM_features_trains_and_checks_alignment():
    bilm, vocab = _bilm()
    clf = TextClassifier(8, num_classes=2, embedding_size=4, hidden_size=4,
                         bilm_config=bilm.get_config())  # fmt: skip
    b = _tagger_batch(vocab)
    batch = {"tokens": b["words"], "lengths": b["lengths"], "labels": torch.tensor([0, 1, 0]),
             "bilm": b["bilm"]}  # fmt: skip
    weight = clf.bilm.bilm.decoder.weight.clone()
    _step(clf, batch)
    assert torch.equal(clf.bilm.bilm.decoder.weight, weight)
    assert clf.eval().predict(batch["tokens"], batch["lengths"], batch["bilm"]).shape == (3,)
    with pytest.raises(ValueError, match="do not match the words"):
        clf(batch["tokens"][:, :2], torch.tensor([2, 2, 2]), batch["bilm"])
