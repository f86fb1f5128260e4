"""Reading a request: the body within its size cap, JSON, and the fields an endpoint accepts.

Every refusal names what is wrong: 413 for a body over ``--max-body`` (checked on
``Content-Length`` and again while reading, so a chunked body cannot get past it), 400 for
malformed JSON (``NaN``, ``Infinity`` and nesting deeper than Python's recursion limit
included), a body that is not an object, an unknown field, a missing one, one of the wrong
type or one out of its range (``LIMITS``; ``field`` in the error body names it). A field
given as ``null`` is the same as a field left out: the endpoint's default.
"""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from rnnkit.serve.errors import BadRequest, BodyTooLarge

STRING, INTEGER, NUMBER, BOOLEAN = "a string", "an integer", "a number", "true or false"
STRINGS = "a list of strings"
TEXTS_OR_TOKENS = "a list of strings or of token lists"

#: the fields each endpoint takes, with their JSON types; ``*`` marks a required field
FIELDS: dict[str, dict[str, str]] = {
    "generate": {
        "model": STRING, "prompt": STRING, "max_tokens": INTEGER, "temperature": NUMBER,
        "top_k": INTEGER, "top_p": NUMBER, "beam": INTEGER, "stop": STRINGS, "seed": INTEGER,
        "greedy": BOOLEAN,
    },
    "classify": {"model": STRING, "*texts": STRINGS},
    "tag": {"model": STRING, "*texts": TEXTS_OR_TOKENS},
    "translate": {
        "model": STRING, "*texts": STRINGS, "beam": INTEGER, "n_best": INTEGER,
        "max_length": INTEGER, "length_penalty": NUMBER, "attention": BOOLEAN,
    },
    "summarize": {
        "model": STRING, "*documents": STRINGS, "max_sentences": INTEGER, "max_words": INTEGER,
    },
    "embed": {"model": STRING, "*texts": STRINGS, "layer": INTEGER, "mix": BOOLEAN},
}  # fmt: skip


#: longest generation prompt, in characters (a prompt is read in one call when it joins)
MAX_PROMPT_CHARS = 20_000
#: string fields' longest length per endpoint, in characters
LENGTHS: dict[str, dict[str, int]] = {"generate": {"prompt": MAX_PROMPT_CHARS}}
#: integer fields' ranges per endpoint: (lowest, highest or None)
LIMITS: dict[str, dict[str, tuple[int, int | None]]] = {
    "generate": {"max_tokens": (1, None), "beam": (1, 16), "top_k": (1, None),
                 "seed": (0, 2**63 - 1)},
    "translate": {"beam": (1, 16), "n_best": (1, 16), "max_length": (1, 1024)},
    "summarize": {"max_sentences": (1, None), "max_words": (1, None)},
    "embed": {"layer": (0, None)},
}  # fmt: skip


async def read_body(request: Request, max_body: int) -> bytes:
    """The raw body, or ``BodyTooLarge`` as soon as it passes ``max_body`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise BodyTooLarge(f"the body has {declared} bytes; the limit is {max_body} (--max-body)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise BodyTooLarge(f"the body is over the limit of {max_body} bytes (--max-body)")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> dict[str, Any]:
    """A JSON object from the body, or ``BadRequest`` saying where the JSON breaks."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_not_json)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BadRequest("malformed JSON: nested too deeply") from None
    if not isinstance(value, dict):
        raise BadRequest(f"expected a JSON object, got {type(value).__name__}")
    return value


def _not_json(name: str) -> float:
    """``NaN``, ``Infinity`` and ``-Infinity``, which Python's JSON reader accepts: refused."""
    raise BadRequest(f"malformed JSON: {name} is not a JSON number")


def _fits(value: Any, kind: str) -> bool:
    if kind == STRING:
        return isinstance(value, str)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == NUMBER:  # 1e999 reads as inf
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )
    if kind == STRINGS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, list) and all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(t, str) for t in v))
        for v in value
    )


def check_fields(endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body's fields, checked against ``FIELDS[endpoint]`` and ``LIMITS[endpoint]``, with
    ``null`` fields left out; ``BadRequest`` names the first unknown, missing, mistyped or
    out-of-range field."""
    spec = {name.lstrip("*"): kind for name, kind in FIELDS[endpoint].items()}
    for name in body:
        if name not in spec:
            raise BadRequest(f"{name}: unknown field; /{endpoint} takes {sorted(spec)}", name)
    body = {name: value for name, value in body.items() if value is not None}
    for name, kind in FIELDS[endpoint].items():
        if name.startswith("*") and name[1:] not in body:
            raise BadRequest(f"{name[1:]}: required ({kind})", name[1:])
    for name, value in body.items():
        if not _fits(value, spec[name]):
            raise BadRequest(f"{name}: expected {spec[name]}, got {json.dumps(value)[:60]}", name)
    _check_limits(endpoint, body)
    return body


def _check_limits(endpoint: str, body: dict[str, Any]) -> None:
    for name, (low, high) in LIMITS.get(endpoint, {}).items():
        value = body.get(name)
        if value is not None and (value < low or (high is not None and value > high)):
            bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise BadRequest(f"{name}: expected an integer {bound}, got {value}", name)
    for name, most in LENGTHS.get(endpoint, {}).items():
        value = body.get(name)
        if value is not None and len(value) > most:
            raise BadRequest(f"{name}: {len(value)} characters; the limit is {most}", name)


def field_of(message: str, endpoint: str) -> str | None:
    """The field a predictor's ValueError names (``"top_p: ..."`` -> ``top_p``), if any."""
    head = message.split(":", 1)[0].split("[", 1)[0].strip()
    return head if head in {n.lstrip("*") for n in FIELDS.get(endpoint, {})} else None
