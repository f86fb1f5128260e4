"""``POST /inspect``: equal to ``rnnkit.inspect`` on the same model, per task, and its errors."""

import pytest
import torch
from starlette.testclient import TestClient

import rnnkit
from rnnkit.inspect import rank_units, record_classifier, record_lm, unit_stats
from rnnkit.serve.app import build_app
from rnnkit.serve.introspect import MAX_CHARS
from rnnkit.serve.page import playground_routes

TEXT = 'line 3: "the cat" (sat)\nsaid ann.\n'


def client_for(predictors) -> TestClient:
    return TestClient(build_app(list(predictors), routes=playground_routes()))


def test_lm_inspection_equals_the_recording(predictors):
    lm = predictors["lm"]
    with client_for(predictors.values()) as client:
        response = client.post("/inspect", json={"model": "lm", "text": TEXT, "top_k": 3})
        assert response.status_code == 200, response.text
        got = response.json()
    ids = lm.tokenizer.encode(TEXT)
    rec = record_lm(lm.model, torch.tensor([ids]), top_k=3)
    rec.tokens = [list(TEXT)]
    assert got["tokens"] == list(TEXT) and got["task"] == "lm"
    assert [t["name"] for t in got["traces"]] == [t.name for t in rec.traces]
    assert got["traces"][0]["signals"] == ["i", "f", "g", "o", "c", "h"]
    best = rank_units(unit_stats(rec, "c"), top=20)
    assert len(best) == 20  # 2 layers x 16 units, each with a defined correlation
    assert [(u["trace"], u["unit"], u["feature"]) for u in got["units"]] == [
        (u["trace"], u["unit"], u["feature"]) for u in best
    ]
    assert [u["r"] for u in got["units"]] == pytest.approx([u["r"] for u in best], abs=1e-4)
    sel = got["selected"]
    assert (sel["trace"], sel["signal"], sel["unit"]) == (best[0]["trace"], "c", best[0]["unit"])
    expected = rec.signal(sel["trace"], "c")[0, :, sel["unit"]].tolist()
    assert sel["values"][0] == pytest.approx(expected, abs=1e-4)
    probs = torch.softmax(lm.model(torch.tensor([ids]))[0][0], -1)
    assert got["top_k"]["probs"][5] == pytest.approx(probs[5].topk(3).values.tolist(), abs=1e-4)
    top_ids = probs[5].topk(3).indices.tolist()
    assert got["top_k"]["tokens"][5] == [lm.tokenizer.decode([i]) for i in top_ids]
    assert all(v is not None and v < 1e-4 for v in got["max_error"].values())


def test_a_chosen_unit_and_the_full_recording(predictors):
    body = {"model": "lm", "text": TEXT, "trace": "layers.1[0].forward", "signal": "f",
            "unit": 7, "full": True, "signals": ["f"]}  # fmt: skip
    with client_for(predictors.values()) as client:
        got = client.post("/inspect", json=body).json()
    rec = record_lm(predictors["lm"].model, torch.tensor([predictors["lm"].tokenizer.encode(TEXT)]))
    expected = rec.signal("layers.1[0].forward", "f")[0, :, 7].tolist()
    assert got["selected"]["values"][0] == pytest.approx(expected, abs=1e-4)
    full = got["recording"]["traces"]
    assert [t["name"] for t in full] == ["layers.1[0].forward"]
    assert list(full[0]["signals"]) == ["f"]
    assert full[0]["signals"]["f"][0][3][7] == pytest.approx(expected[3], abs=1e-4)


def test_classifier_inspection_has_probabilities_and_pooling_weights(playground):
    clf = rnnkit.load(playground["classify"])
    text = "the film was superb"
    with client_for([clf]) as client:
        got = client.post("/inspect", json={"text": text}).json()
    assert got["tokens"] == text.split() and got["pooling_mode"] == "attention"
    expected = clf.classify([text])[0]
    assert got["probabilities"] == pytest.approx(expected.probabilities, abs=1e-4)
    assert got["labels"] == expected.labels
    batch = clf.encoder.collate([(clf.encoder.ids(rnnkit.data.labelled.TextExample(text)), 0)])
    rec = record_classifier(clf.model, batch["tokens"], batch["lengths"])
    assert got["pooling"] == pytest.approx(rec.outputs["pooling"][0].tolist(), abs=1e-4)
    assert sum(got["pooling"]) == pytest.approx(1.0, abs=1e-3)


def test_translator_and_summarizer_inspections_equal_their_endpoints(predictors):
    with client_for(predictors.values()) as client:
        tr = client.post("/inspect", json={"model": "translate", "text": "open the file"}).json()
        direct = client.post("/translate", json={"model": "translate", "texts": ["open the file"],
                                                 "beam": 1}).json()["results"][0]  # fmt: skip
        doc = "The cat sat. The dog ran far. A bird sang."
        sm = client.post("/inspect", json={"model": "summarize", "text": doc}).json()
        summary = client.post("/summarize", json={"model": "summarize", "documents": [doc]})
    assert tr["translation"]["text"] == direct["text"]
    assert torch.tensor(tr["translation"]["attention"]).allclose(
        torch.tensor(direct["attention"]), atol=1e-4
    )
    assert len(tr["target_probabilities"]) == len(direct["target_tokens"])
    assert any(t["name"].startswith("decoder") for t in tr["traces"])
    expected = summary.json()["results"][0]
    assert sm["summary"]["picked"] == expected["picked"]
    assert sm["summary"]["scores"] == pytest.approx(expected["scores"], abs=1e-4)
    assert sm["tokens"] == expected["sentences"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"model": "lm", "text": ""}, "text"),
        ({"model": "lm", "text": "x" * (MAX_CHARS + 1)}, "text"),
        ({"model": "lm", "text": "x" * 2001}, "text"),
        ({"model": "lm", "text": "the", "top_k": 0}, "top_k"),
        ({"model": "lm", "text": "the", "trace": "nope"}, "trace"),
        ({"model": "lm", "text": "the", "signal": "z"}, "signal"),
        ({"model": "lm", "text": "the", "trace": "layers.0[0].forward", "unit": 16}, "unit"),
        ({"model": "lm", "text": "the", "feature": "colour"}, "feature"),
        ({"model": "lm", "text": "the", "rank_signal": "r"}, "rank_signal"),
        ({"model": "lm", "text": 3}, "text"),
        ({"model": "lm"}, "text"),
        ({"model": "tag", "text": "John"}, "model"),
        ({"model": "bilm", "text": "the"}, "model"),
    ],
)  # fmt: skip
def test_bad_inspect_requests_are_400_naming_the_field(predictors, body, field):
    with client_for(predictors.values()) as client:
        response = client.post("/inspect", json=body)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == field
        assert client.post("/inspect", json={"model": "lm", "text": "the"}).status_code == 200


def test_a_full_recording_over_the_limit_is_refused(predictors, monkeypatch):
    monkeypatch.setattr("rnnkit.serve.introspect.MAX_VALUES", 100)
    with client_for(predictors.values()) as client:
        response = client.post("/inspect", json={"model": "lm", "text": TEXT, "full": True})
    assert response.status_code == 400 and response.json()["field"] == "full"
    assert "limit is 100" in response.json()["error"]


def test_pieces_join_to_the_decoded_text():
    from rnnkit.data import build_tokenizer
    from rnnkit.serve.recorders import pieces

    words = build_tokenizer("word", "the cat sat\nthe dog ran\n")
    ids = words.encode("the cat ran\nthe dog")
    shown = pieces(words, ids, "the cat ran\nthe dog")
    assert len(shown) == len(ids) and "".join(shown) == words.decode(ids)
    assert shown[:2] == ["the", " cat"]
    chars = build_tokenizer("char", "abc")
    assert pieces(chars, chars.encode("abz"), "abz") == ["a", "b", "z"]  # z is unknown, shown as is


def test_an_abstractive_summarizer_is_refused_by_name():
    from types import SimpleNamespace

    from rnnkit.serve.errors import BadRequest
    from rnnkit.serve.recorders import RECORDERS

    abstractive = SimpleNamespace(name="news", task="summarize", model=torch.nn.Linear(2, 2))
    abstractive.model.model_type = "seq2seq"
    with pytest.raises(BadRequest, match="extractive") as refused:
        RECORDERS["summarize"](abstractive, {"text": "A b. C d."})
    assert refused.value.field == "model"
