"""The task recorders: traces of every recurrent layer plus each task's own outputs."""

import json

import pytest
import torch

from rnnkit.data import build_tokenizer
from rnnkit.inspect import (
    inspect_text,
    record,
    record_classifier,
    record_lm,
    record_seq2seq,
    record_summarizer,
)
from rnnkit.layers.pooling import lengths_mask
from rnnkit.models import (
    ClassifierEnsemble,
    LanguageModel,
    Seq2Seq,
    SummaRuNNer,
    TextClassifier,
)
from tests.harness import assert_states_close

pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
TOL = 1e-5


def _small_errors(rec):
    assert rec.max_error and all(e < TOL for e in rec.max_error.values()), rec.max_error


@pytest.mark.parametrize("options", [{}, {"cell": "gru", "weight_drop": 0.5}])
def test_lm_traces_and_top_k(options):
    lm = LanguageModel(11, embedding_size=6, hidden_size=8, num_layers=2, tie_weights=False,
                       **options).train()  # fmt: skip
    tokens = torch.randint(11, (2, 9))
    rec = record_lm(lm, tokens, top_k=3)
    assert lm.training, "the model's mode is restored"
    _small_errors(rec)
    assert [t.name for t in rec.traces] == ["layers.0[0].forward", "layers.1[0].forward"]
    lm.eval()
    with torch.no_grad():
        probs = lm(tokens)[0].softmax(-1)
    top = probs.topk(3, dim=-1)
    assert_states_close(rec.outputs["top_k_probs"], top.values)
    assert torch.equal(rec.outputs["top_k_ids"], top.indices)


def test_lm_text_and_json():
    text = 'A "quoted" line\n(and more)\n'
    tokenizer = build_tokenizer("char", text)
    lm = LanguageModel(tokenizer.vocab_size, embedding_size=6, hidden_size=8, num_layers=1)
    rec = inspect_text(lm, tokenizer, text, top_k=2)
    assert "".join(rec.tokens[0]) == text
    data = json.loads(json.dumps(rec.to_dict(signals=["c", "f"])))
    trace = data["traces"][0]
    assert set(trace["signals"]) == {"c", "f"} and trace["kind"] == "lstm"
    assert len(trace["signals"]["c"][0]) == len(text)  # (N, L, H) as nested lists
    assert len(trace["signals"]["c"][0][0]) == trace["size"]
    assert len(data["top_k_tokens"][0]) == len(text) and len(data["top_k_tokens"][0][0]) == 2
    sums = torch.tensor(data["outputs"]["top_k_probs"]).sum(-1)
    assert torch.all(sums <= 1.0 + 1e-3)


def test_classifier_attention_pooling():
    clf = TextClassifier(13, embedding_size=6, hidden_size=5, num_layers=2, cell="gru",
                         pooling="attention", attention_size=4).eval()  # fmt: skip
    tokens, lengths = torch.randint(13, (3, 7)), torch.tensor([7, 3, 1])
    rec = record_classifier(clf, tokens, lengths)
    _small_errors(rec)
    weights = rec.outputs["pooling"]
    assert_states_close(weights.sum(1), torch.ones(3))
    assert torch.all(weights[~lengths_mask(lengths, 7)] == 0)
    with torch.no_grad():  # e_t = v^T tanh(W h_t + b) over the re-computed top layer
        top = torch.cat([rec.signal("layers.1[0].forward", "h"),
                         rec.signal("layers.1[0].backward", "h")], dim=-1)  # fmt: skip
        scores = clf.pool.attention(top).squeeze(-1)
        expected = scores.masked_fill(~lengths_mask(lengths, 7), float("-inf")).softmax(1)
        probs = clf(tokens, lengths).softmax(-1)
    assert_states_close(weights, expected)
    assert_states_close(rec.outputs["probabilities"], probs)
    # the padded positions of a trace are cut away in to_dict
    assert len(rec.to_dict(signals=["h"])["traces"][0]["signals"]["h"][2]) == 1


def test_pooling_past_the_encoder_length_is_zero():
    clf = TextClassifier(13, embedding_size=6, hidden_size=5, pooling="attention",
                         attention_size=4, encoder_length=4, ngram_buckets=8).eval()  # fmt: skip
    tokens, lengths = torch.randint(13, (3, 7)), torch.tensor([7, 3, 1])
    rec = record_classifier(clf, tokens, lengths)
    weights = rec.outputs["pooling"]
    assert weights.shape == (3, 7) and torch.all(weights[:, 4:] == 0)
    assert_states_close(weights.sum(1), torch.ones(3))
    with torch.no_grad():
        assert_states_close(rec.outputs["probabilities"], clf(tokens, lengths).softmax(-1))


def test_ensemble_pooling_is_the_members_mean():
    model = ClassifierEnsemble(9, ensemble=2, embedding_size=4, hidden_size=3,
                               pooling="attention", attention_size=4).eval()  # fmt: skip
    tokenizer = build_tokenizer("char", "abcdefg")
    rec = inspect_text(model, tokenizer, "bad cafe")
    _small_errors(rec)
    assert {t.module for t in rec.traces} == {"members.0.layers.0", "members.1.layers.0"}
    members = [m.pool.last_weights for m in model.members]
    assert_states_close(rec.outputs["pooling"], (members[0] + members[1]) / 2)
    assert_states_close(rec.outputs["probabilities"].sum(-1), torch.ones(1))


@pytest.mark.parametrize("input_feeding", [True, False])
def test_seq2seq_attention_and_decoder_cells(input_feeding):
    model = Seq2Seq(12, 14, embedding_size=6, hidden_size=5, encoder_layers=2,
                    decoder_layers=2, input_feeding=input_feeding)  # fmt: skip
    source, lengths = torch.randint(12, (2, 6)), torch.tensor([6, 4])
    target = torch.randint(14, (2, 5))
    rec = record_seq2seq(model, source, lengths, target)
    _small_errors(rec)
    names = [t.name for t in rec.traces]
    assert names[-2:] == ["decoder.layers.0[0].forward", "decoder.layers.1[0].forward"]
    assert rec.signal("decoder.layers.1[0].forward", "f").shape == (2, 5, 5)
    attention = rec.outputs["attention"]
    assert_states_close(attention, model.eval().align(source, lengths, target))
    assert_states_close(attention.sum(-1), torch.ones(2, 5))
    assert torch.all(attention[1, :, 4:] == 0)


def test_summarizer_scores():
    model = SummaRuNNer(20, embedding_size=6, hidden_size=4, position_size=3).eval()
    tokens = torch.randint(20, (2, 3, 4))
    sentence_lengths, lengths = torch.tensor([[4, 2, 1], [3, 4, 0]]), torch.tensor([3, 2])
    rec = record_summarizer(model, tokens, sentence_lengths, lengths)
    _small_errors(rec)
    expected = model.predict({"tokens": tokens, "sentence_lengths": sentence_lengths,
                              "lengths": lengths})  # fmt: skip
    assert_states_close(rec.outputs["sentence_scores"], expected)
    assert {t.module for t in rec.traces} == {"word_rnn", "sentence_rnn"}


def test_generic_record_and_errors():
    lm = LanguageModel(7, embedding_size=4, hidden_size=4, num_layers=1)
    rec = record(lm, torch.randint(7, (1, 3)))
    assert rec.model_type == "language_model" and rec.outputs["output"].shape == (1, 3, 7)
    with pytest.raises(KeyError, match="no signal 'r'"):
        rec.signal(0, "r")
    with pytest.raises(KeyError, match="no trace"):
        rec.trace("nowhere")
    with pytest.raises(ValueError, match=r"expected token ids of shape \(N, L\)"):
        record_lm(lm, torch.randint(7, (3,)))
    tokenizer = build_tokenizer("char", "abc")
    with pytest.raises(ValueError, match="no tokens"):
        inspect_text(lm, tokenizer, "")
    with pytest.raises(ValueError, match="expected a language model or a text classifier"):
        inspect_text(Seq2Seq(5, 5), tokenizer, "ab")
