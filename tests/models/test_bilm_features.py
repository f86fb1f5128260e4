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


@pytest.mark.parametrize("chars", [False, True])
def test_a_frozen_biLM_keeps_each_sentence_layers_and_gives_the_same_vectors(chars):
    vocab = BiLMVocab.build(SENTENCES, chars=chars)
    bilm = BiLanguageModel(len(vocab.words), embedding_size=4, hidden_size=5,
                           num_chars=len(vocab.chars) if chars else 0)  # fmt: skip
    bilm.eval()
    feats = BiLMFeatures(bilm.get_config(), "average")
    feats.load_bilm(bilm)
    uncached = BiLMFeatures(bilm.get_config(), "average", cache_mb=0)
    uncached.load_bilm(bilm)
    batch = vocab.collate([vocab.encode(s) for s in SENTENCES])
    expected = uncached(batch)
    torch.testing.assert_close(feats(batch), expected)  # all computed, all kept
    assert (feats.cache.hits, feats.cache.misses, len(feats.cache)) == (0, 3, 3)
    torch.testing.assert_close(feats(batch), expected)  # all from the cache
    assert feats.cache.hits == 3 and len(uncached.cache) == 0
    # another batch: one kept sentence beside a new one, padded to another width
    other = [SENTENCES[2], ["a", "cat", "ran", "far", "away"]]
    mixed = vocab.collate([vocab.encode(s) for s in other])
    torch.testing.assert_close(feats(mixed), uncached(mixed))
    assert feats.cache.hits == 4 and len(feats.cache) == 4


def test_the_cache_stays_within_its_budget_and_drops_stale_layers():
    bilm, vocab = _bilm()
    feats = BiLMFeatures(bilm.get_config(), "mix", cache_mb=1)
    feats.load_bilm(bilm)
    one = vocab.collate([vocab.encode(SENTENCES[0])])
    per_sentence = feats(one).numel() * 3 * 4  # K+1 = 3 layers of float32
    feats.cache.clear()
    feats.cache.max_bytes = per_sentence  # room for one sentence
    batch = vocab.collate([vocab.encode(s) for s in SENTENCES[:1] * 2 + SENTENCES[1:]])
    feats(batch)
    assert len(feats.cache) == 1 and feats.cache.bytes <= feats.cache.max_bytes
    other, _ = _bilm()
    torch.nn.init.normal_(other.embedding.weight)  # new weights: the kept layers are stale
    feats.load_state_dict({**feats.state_dict(), **{f"bilm.{k}": v for k, v in
                                                    other.state_dict().items()}})  # fmt: skip
    assert len(feats.cache) == 0
    fresh = BiLMFeatures(bilm.get_config(), "mix", cache_mb=0)
    fresh.load_state_dict(feats.state_dict())
    torch.testing.assert_close(feats(batch), fresh(batch))
    finetuned = BiLMFeatures(bilm.get_config(), "mix", finetune=True)
    finetuned(batch)
    assert finetuned.cache.max_bytes == 0 and len(finetuned.cache) == 0


def test_classifier_encoder_length_reads_the_first_biLM_vectors():
    bilm, vocab = _bilm()
    torch.manual_seed(0)
    clf = TextClassifier(8, num_classes=2, embedding_size=4, hidden_size=4, encoder_length=2,
                         bilm_config=bilm.get_config()).eval()  # fmt: skip
    clf.bilm.load_bilm(bilm)
    b = _tagger_batch(vocab)  # 4 steps; the biLM reads every word, the encoder the first 2
    head, head_lengths = clf.encoder_inputs(b["words"], b["lengths"])
    with torch.no_grad():
        encoded = clf.encode(head, head_lengths, b["bilm"])
        whole = clf.bilm(b["bilm"])
    assert encoded.shape[:2] == (3, 2) and whole.shape[:2] == (3, 4)
    assert clf.predict(b["words"], b["lengths"], b["bilm"]).shape == (3,)
