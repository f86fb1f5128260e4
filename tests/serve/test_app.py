"""The server in-process: every endpoint against its predictor, and every error status."""

import json

import pytest
from starlette.testclient import TestClient

from rnnkit.serve.app import build_app
from rnnkit.serve.settings import ServeSettings, parse_size
from rnnkit.tasks.predictors.translate import translation_dict

GOOD = {"model": "lm", "prompt": "the", "max_tokens": 5, "seed": 1}


def make_app(predictors, **settings):
    return build_app(list(predictors.values()), ServeSettings(**settings))


def events(response) -> list[dict]:
    lines = [line for line in response.text.split("\n") if line]
    assert all(line.startswith("data: ") for line in lines)
    return [json.loads(line[6:]) for line in lines]


def test_health_and_info_describe_every_model(predictors):
    with TestClient(make_app(predictors)) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and set(health["models"]) == set(predictors)
        assert health["models"]["lm"] == {"task": "lm", "waiting": 0, "active": 0}
        info = client.get("/info").json()
        by_name = {m["name"]: m for m in info["models"]}
        assert by_name["lm"]["config"]["hidden_size"] == 16 and by_name["lm"]["vocab_size"] > 2
        # the path the layer took last: the fused sequence, or (after generation on this
        # session's shared predictor, as other test files run) the native token step
        path = by_name["lm"]["backend"]["layers.0"]
        assert path.startswith(("torch.lstm", "native token step")), path
        assert by_name["classify"]["methods"] == ["classify"]
        assert info["settings"]["max_batch"] == 64


def test_generate_and_stream_equal_the_predictor(predictors):
    lm = predictors["lm"]
    expected = lm.generate("the", 20, temperature=0.8, top_p=0.9, seed=4)
    body = {"model": "lm", "prompt": "the", "max_tokens": 20, "temperature": 0.8, "top_p": 0.9,
            "seed": 4}  # fmt: skip
    with TestClient(make_app(predictors)) as client:
        assert client.post("/generate", json=body).json() == expected.to_dict()
        response = client.post("/generate/stream", json=body)
        assert response.headers["content-type"].startswith("text/event-stream")
        *tokens, last = events(response)
    assert [e["token"] for e in tokens] == expected.tokens
    assert "".join(e["text"] for e in tokens) == expected.text
    assert [e["logprob"] for e in tokens] == pytest.approx(expected.logprobs, abs=1e-6)
    assert last == expected.to_dict()


def test_task_endpoints_equal_their_predictors(predictors):
    texts = ["a great film", "dull and bad"]
    classified = [r.to_dict() for r in predictors["classify"].classify(texts)]
    cases = {
        "classify": ({"texts": texts}, classified),
        "tag": ({"model": "tag", "texts": ["John lives in Rome .", ["Mary"]]},
                [r.to_dict() for r in predictors["tag"].tag(["John lives in Rome .", ["Mary"]])]),
        "translate": ({"texts": ["open the file"], "beam": 2, "n_best": 2},
                      [translation_dict(t) for t in predictors["translate"].translate(
                          ["open the file"], beam=2, n_best=2)]),
        "summarize": ({"documents": ["A b c. D e f. G h i."], "max_sentences": 2},
                      [r.to_dict() for r in predictors["summarize"].summarize(
                          ["A b c. D e f. G h i."], max_sentences=2)]),
        "embed": ({"texts": ["the john sat"]},
                  [r.to_dict() for r in predictors["bilm"].embed(["the john sat"])]),
    }  # fmt: skip
    names = {"embed": "bilm"}
    with TestClient(make_app(predictors)) as client:
        for endpoint, (body, expected) in cases.items():
            body = {"model": names.get(endpoint, endpoint), **body}
            response = client.post(f"/{endpoint}", json=body)
            assert response.status_code == 200, response.text
            assert response.json()["results"] == expected  # JSON keeps every float exactly


@pytest.mark.parametrize(
    "path, body, status, field",
    [
        ("/generate", b"{", 400, None),
        ("/generate", b"[1, 2]", 400, None),
        ("/generate", b"\xff\xfe", 400, None),
        ("/generate", {"model": "lm", "max_tokens": "ten"}, 400, "max_tokens"),
        ("/generate", {"model": "lm", "top_p": 2.0}, 400, "top_p"),
        ("/generate", {"model": "lm", "colour": "red"}, 400, "colour"),
        ("/generate", {"prompt": "x"}, 400, "model"),  # several models: the name is required
        ("/generate", {"model": "nope"}, 404, "model"),
        ("/classify", {"model": "lm", "texts": ["x"]}, 400, "model"),
        ("/classify", {"model": "classify"}, 400, "texts"),
        ("/classify", {"model": "classify", "texts": [1]}, 400, "texts"),
        ("/translate", {"model": "translate", "texts": ["x"], "beam": 1, "n_best": 2}, 400,
         "n_best"),
        ("/nowhere", {}, 404, None),
        ("/generate", b'{"model": "lm", "temperature": NaN}', 400, None),
        ("/generate", b"[" * 5000, 400, None),
        ("/generate", b'{"model": "lm", "temperature": 1e999}', 400, "temperature"),
        ("/generate", {"model": "lm", "temperature": 1e-40}, 400, "temperature"),
        ("/generate", {"model": "lm", "max_tokens": 0}, 400, "max_tokens"),
        ("/generate", {"model": "lm", "beam": 100}, 400, "beam"),
        ("/generate", {"model": "lm", "prompt": "x" * 30000}, 400, "prompt"),
        ("/generate/stream", {"model": "lm", "beam": 2}, 400, "beam"),
        ("/generate", {"model": "lm", "max_tokens": None, "colour": None}, 400, "colour"),
        ("/translate", {"model": "translate", "texts": ["x"], "beam": 1000}, 400, "beam"),
        ("/translate", b'{"model": "translate", "texts": ["x"], "length_penalty": -1e999}', 400,
         "length_penalty"),
    ],
)  # fmt: skip
def test_bad_requests_get_their_status_and_the_server_goes_on(predictors, path, body, status,
                                                               field):  # fmt: skip
    with TestClient(make_app(predictors)) as client:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = client.post(path, content=raw)
        assert response.status_code == status, response.text
        assert response.json()["status"] == status and response.json().get("field") == field
        assert client.post("/generate", json=GOOD).status_code == 200


def test_a_method_a_route_does_not_take_is_refused_in_json(predictors):
    with TestClient(make_app(predictors)) as client:
        response = client.get("/generate")
        assert response.status_code == 405 and response.json()["status"] == 405
        assert response.json()["error"].startswith("GET /generate: ")


def test_null_fields_take_their_defaults(predictors):
    body = {"model": "lm", "prompt": "the", "max_tokens": 4, "seed": 3}
    with TestClient(make_app(predictors)) as client:
        plain = client.post("/generate", json=body).json()
        nulls = client.post("/generate", json={**body, "top_k": None, "temperature": None})
        assert nulls.status_code == 200 and nulls.json() == plain
        assert client.post("/generate", json={**body, "prompt": None}).status_code == 200


def test_beam_search_is_served_by_generate(predictors):
    expected = predictors["lm"].generate("the", 6, beam=3)
    with TestClient(make_app(predictors)) as client:
        response = client.post("/generate", json={"model": "lm", "prompt": "the",
                                                  "max_tokens": 6, "beam": 3})  # fmt: skip
        assert response.status_code == 200, response.text
        got = response.json()
    assert (got["text"], got["tokens"]) == (expected.text, expected.tokens)  # no sampling in it


def test_body_over_the_cap_is_413_declared_or_chunked(predictors):
    with TestClient(make_app(predictors, max_body=200)) as client:
        big = {"model": "classify", "texts": ["word " * 100]}
        response = client.post("/classify", json=big)
        assert response.status_code == 413 and "--max-body" in response.json()["error"]
        chunks = (b'{"model": "classify", "texts": ["' + b"x" * 100 for _ in range(3))
        assert client.post("/classify", content=chunks).status_code == 413  # no length given
        assert client.post("/generate", json=GOOD).status_code == 200
    assert parse_size("8MB") == 8 << 20 and parse_size("512kb") == 512 << 10
    with pytest.raises(ValueError, match="8MB"):
        parse_size("lots")


def test_one_model_needs_no_name(predictors):
    with TestClient(build_app([predictors["lm"]])) as client:
        response = client.post("/generate", json={"prompt": "the", "max_tokens": 3, "seed": 2})
        assert response.status_code == 200 and len(response.json()["tokens"]) == 3


def test_routes_can_be_added_with_the_same_checks(predictors):
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from rnnkit.serve.app import json_endpoint, served_model
    from rnnkit.serve.requests import STRING

    @json_endpoint("echo", {"model": STRING, "*text": STRING})
    async def echo(request, body):
        served = served_model(request, body, "lm")
        return JSONResponse({"model": served.predictor.name, "text": body["text"]})

    app = build_app(list(predictors.values()), routes=[Route("/echo", echo, methods=["POST"])])
    with TestClient(app) as client:
        assert client.post("/echo", json={"model": "lm", "text": "hi"}).json()["text"] == "hi"
        refused = client.post("/echo", json={"model": "lm", "txt": "hi"})
        assert refused.status_code == 400 and refused.json()["field"] == "txt"
        assert client.post("/echo", json={"model": "tag", "text": "x"}).status_code == 400
