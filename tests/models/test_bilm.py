"""BiLanguageModel: shapes, determinism, direction causality, learning, save/load, char input."""

import pytest
import torch

from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.layers import ScalarMix
from rnnkit.models import BiLanguageModel
from rnnkit.models.io import load_model_dir, save_model_dir

SENTENCES = [["the", "cat", "sat", "on", "the", "mat"], ["a", "dog", "ran"],
             ["the", "dog", "sat"], ["a", "cat"]]  # fmt: skip
H, K = 6, 2


def _model(char: bool = False, **options) -> tuple[BiLanguageModel, BiLMVocab]:
    vocab = BiLMVocab.build(SENTENCES, chars=char)
    extra = {"input": "char", "num_chars": len(vocab.chars), "char_hidden_size": 10} if char else {}
    opts = {"embedding_size": 5, "hidden_size": H, "num_layers": K, **extra, **options}
    return BiLanguageModel(len(vocab.words), **opts), vocab


def _batch(vocab: BiLMVocab, sentences=SENTENCES) -> dict[str, torch.Tensor]:
    return vocab.collate([vocab.encode(s) for s in sentences])


def _layers(model: BiLanguageModel, b: dict[str, torch.Tensor]) -> torch.Tensor:
    return model.layer_outputs(b["words"], b["lengths"], b.get("chars"), b.get("char_lengths"))


@pytest.mark.parametrize("char", [False, True])
def test_shapes_and_layer_choices(char):
    model, vocab = _model(char)
    model.eval()
    b = _batch(vocab)
    layers = _layers(model, b)
    assert layers.shape == (K + 1, 4, 6, 2 * H)
    x = layers[0, :, :, :H]
    torch.testing.assert_close(layers[0, :, :, H:], x)  # layer 0 is [x; x]
    assert torch.all(layers[:, 1, 3:] == 0)  # padding past the 3 tokens of sentence 1
    args = (b["words"], b["lengths"], b.get("chars"), b.get("char_lengths"))
    torch.testing.assert_close(model.embed(*args, layer=2), layers[2])
    torch.testing.assert_close(model.embed(*args), layers.mean(0))
    torch.testing.assert_close(model.embed(*args, mix=ScalarMix(K + 1)), layers.mean(0))
    with pytest.raises(ValueError, match=r"layer must be in 0\.\.2"):
        model.embed(*args, layer=3)


@pytest.mark.parametrize("cell", ["lstm", "gru", "mingru"])
def test_same_input_same_vectors_whatever_the_batch(cell):
    model, vocab = _model(cell=cell)
    model.eval()
    b = _batch(vocab)
    first = _layers(model, b)
    model.forward_loss(b)  # a loss computation carries nothing over either
    torch.testing.assert_close(_layers(model, b), first, rtol=0, atol=0)
    for i, s in enumerate(SENTENCES):  # alone, without padding or neighbours
        alone = _layers(model, _batch(vocab, [s]))
        torch.testing.assert_close(alone[:, 0], first[:, i, : len(s)], atol=1e-6, rtol=1e-5)


def test_each_direction_sees_only_its_side():
    model, vocab = _model()
    model.eval()
    b = _batch(vocab, [SENTENCES[0]])
    base = _layers(model, b)
    for p in range(1, 7):  # perturb full position p (token p - 1 of the outputs)
        w = b["words"].clone()
        w[0, p] = 4 if w[0, p] != 4 else 5
        out = _layers(model, {**b, "words": w})
        t = p - 1
        fwd, bwd = slice(None, H), slice(H, None)
        for k in range(1, K + 1):
            torch.testing.assert_close(out[k, 0, :t, fwd], base[k, 0, :t, fwd])  # before t
            torch.testing.assert_close(out[k, 0, t + 1 :, bwd], base[k, 0, t + 1 :, bwd])
            assert not torch.allclose(out[k, 0, t, fwd], base[k, 0, t, fwd])
            assert not torch.allclose(out[k, 0, t, bwd], base[k, 0, t, bwd])


@pytest.mark.parametrize("char", [False, True])
def test_learns_a_repetitive_corpus(char):
    torch.manual_seed(0)
    model, vocab = _model(char, hidden_size=24, dropout=0.0)
    b = _batch(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    first, n = model.forward_loss(b)
    assert n == sum(len(s) + 1 for s in SENTENCES)  # each direction predicts n + 1 tokens
    for _ in range(120):
        loss, _ = model.forward_loss(b)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.35 * first.item()


@pytest.mark.parametrize("char", [False, True])
def test_save_load_round_trip(char, tmp_path):
    model, vocab = _model(char)
    model.eval()
    save_model_dir(tmp_path, model)
    twin, tokenizer, _ = load_model_dir(tmp_path)
    assert isinstance(twin, BiLanguageModel) and tokenizer is None
    b = _batch(vocab)
    torch.testing.assert_close(_layers(twin, b), _layers(model, b), rtol=0, atol=0)


def test_bad_configs_and_inputs_are_reported():
    with pytest.raises(ValueError, match="input must be one of"):
        BiLanguageModel(10, input="bytes")
    with pytest.raises(ValueError, match="needs num_chars >= 2"):
        BiLanguageModel(10, input="char")
    model, vocab = _model(char=True)
    b = _batch(vocab)
    with pytest.raises(ValueError, match="character input needs chars"):
        model.layer_outputs(b["words"], b["lengths"])
    with pytest.raises(ValueError, match="L >= 2"):
        model.layer_outputs(b["words"][:, :1], b["lengths"])
