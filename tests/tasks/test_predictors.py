"""rnnkit.load: one predictor per task, with the task's methods, on tiny trained models."""

from pathlib import Path

import numpy as np
import pytest

import rnnkit
from rnnkit.tasks.predictors.tag import tag_spans
from tests.tiny_runs import tiny_runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.getbasetemp() / "tiny_runs"
    root.mkdir(exist_ok=True)
    return tiny_runs(root)


def test_load_gives_the_task_predictor_and_its_info(runs):
    for task, run in runs.items():
        predictor = rnnkit.load(run)
        assert predictor.task == task and predictor.name == task
        info = predictor.info()
        assert info["vocab_size"] > 1 and info["parameters"] > 0 and info["backend"]
        assert rnnkit.load(run / "model").name == task  # the model directory itself works too
    with pytest.raises(FileNotFoundError, match="no model here"):
        rnnkit.load(runs["lm"] / "missing")


def test_generate_is_the_stream_joined_and_reproducible(runs):
    lm = rnnkit.load(runs["lm"])
    out = lm.generate("the cat", 25, temperature=0.9, top_k=8, seed=3)
    events = list(lm.stream("the cat", 25, temperature=0.9, top_k=8, seed=3))
    assert [e.id for e in events] == out.tokens and len(out.tokens) == 25
    assert "".join(e.text for e in events) == out.text and out.finish_reason == "length"
    assert lm.generate("the cat", 25, temperature=0.9, top_k=8, seed=3) == out
    assert all(e.logprob < 0 for e in events)
    drawn = lm.generate("the", 10)
    assert drawn.seed is not None and lm.generate("the", 10, seed=drawn.seed).text == drawn.text


def test_stop_strings_cut_the_text_and_hold_back_nothing_else(runs):
    lm = rnnkit.load(runs["lm"])
    full = lm.generate("the", 60, seed=5)
    stop = full.text[10:12]
    cut = lm.generate("the", 60, seed=5, stop=[stop])
    assert cut.finish_reason == "stop" and cut.text == full.text[: full.text.find(stop)]
    streamed = "".join(e.text for e in lm.stream("the", 60, seed=5, stop=[stop]))
    assert streamed == cut.text


def test_greedy_and_beam(runs):
    lm = rnnkit.load(runs["lm"])
    greedy = lm.generate("the", 12, greedy=True)
    assert greedy.seed is None and greedy == lm.generate("the", 12, greedy=True)
    assert lm.generate("the", 12, temperature=0).tokens == greedy.tokens
    beam = lm.generate("the", 8, beam=3)
    assert len(beam.tokens) == 8 and beam.finish_reason == "length"
    assert [e.id for e in lm.stream("the", 8, beam=3)] == beam.tokens


@pytest.mark.parametrize(
    "kwargs, field",
    [({"max_tokens": 0}, "max_tokens"), ({"top_p": 1.5}, "top_p"), ({"top_k": 0}, "top_k"),
     ({"temperature": -1.0}, "temperature"), ({"seed": -2}, "seed"), ({"stop": [""]}, "stop")],
)  # fmt: skip
def test_bad_generation_options_name_the_field(runs, kwargs, field):
    lm = rnnkit.load(runs["lm"])
    args = {"max_tokens": 5, **kwargs}
    with pytest.raises(ValueError, match=rf"^{field}:"):
        lm.generate("the", **args)


def test_classify_gives_labels_and_probabilities_batched_as_alone(runs):
    clf = rnnkit.load(runs["classify"])
    texts = ["a great film", "the plot was dull and bad", "fine", "awful"]
    results = clf.classify(texts)
    assert [r.label for r in results] == [r.labels[0] for r in results]
    for r in results:
        assert set(r.probabilities) == {"pos", "neg"}
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.label == max(r.probabilities, key=r.probabilities.get)
    for text, batched in zip(texts, results):
        alone = clf.classify([text])[0]
        assert alone.label == batched.label
        for k, p in alone.probabilities.items():
            assert p == pytest.approx(batched.probabilities[k], abs=1e-5)
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        clf.classify(["ok", 3])


def test_tag_gives_tags_and_spans_for_texts_and_token_lists(runs):
    tagger = rnnkit.load(runs["tag"])
    results = tagger.tag(["John lives in Paris .", ["Mary", "lives", "in", "Rome", "."], ""])
    assert results[0].tokens == ["John", "lives", "in", "Paris", "."]
    assert len(results[0].tags) == 5 and len(results[1].tags) == 5 and results[2].tags == []
    assert tagger.tag([["Mary", "lives", "in", "Rome", "."]])[0].tags == results[1].tags
    spans = tag_spans(["a", "b", "c", "d"], ["B-PER", "I-PER", "O", "S-LOC"])
    assert [(s.type, s.start, s.end, s.text) for s in spans] == [("PER", 0, 2, "a b"),
                                                                   ("LOC", 3, 4, "d")]  # fmt: skip
    assert tag_spans(["a"], ["NN"]) == []


def test_translate_gives_n_best_scores_and_attention(runs):
    mt = rnnkit.load(runs["translate"])
    texts = ["open the file", "new", "save the new file open"]
    results = mt.translate(texts, beam=3, n_best=2)
    for text, r in zip(texts, results):
        assert r.source == text and len(r.n_best) == 2 and r.n_best[0] == (r.text, r.score)
        assert r.attention is not None and r.attention.shape[1] == len(r.source_tokens)
        alone = mt.translate([text], beam=3, n_best=2)[0]
        assert alone.text == r.text and alone.score == pytest.approx(r.score, abs=1e-4)
    with pytest.raises(ValueError, match=r"^n_best:"):
        mt.translate(["new"], beam=2, n_best=3)


def test_summarize_gives_picked_sentences_and_scores(runs):
    summ = rnnkit.load(runs["summarize"])
    doc = "The film john saw paris. The plot mary saw rome. The a paul saw oslo. Then it rained."
    result = summ.summarize([doc], max_sentences=2)[0]
    assert len(result.sentences) == 4 and len(result.scores) == 4 and len(result.picked) == 2
    best = sorted(range(4), key=lambda i: -result.scores[i])[:2]
    assert result.picked == sorted(best)
    assert result.summary == " ".join(result.sentences[i] for i in result.picked)
    assert len(summ.summarize([doc], max_words=3)[0].picked) == 1
    with pytest.raises(ValueError, match=r"^max_sentences:"):
        summ.summarize([doc], max_sentences=0)
    with pytest.raises(ValueError, match=r"^documents\[1\]: empty document"):
        summ.summarize([doc, "   "])


def test_embed_gives_a_vector_per_token(runs):
    bilm = rnnkit.load(runs["bilm"])
    out = bilm.embed(["the john sat on the paris", ""])
    assert out[0].tokens == "the john sat on the paris".split()
    assert out[0].vectors.shape == (6, bilm.model.output_size) and out[1].vectors.shape[0] == 0
    alone = bilm.embed(["the john sat on the paris"])[0].vectors
    np.testing.assert_allclose(alone, out[0].vectors, atol=1e-5)
    assert bilm.embed(["the mary"], layer=0)[0].vectors.shape[0] == 2
    with pytest.raises(ValueError, match=r"^layer:"):
        bilm.embed(["x"], layer=99)
