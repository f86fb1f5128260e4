"""``POST /inspect``: what a served model does inside while it reads one text.

Request (``text`` required)::

    {"model": "demo", "text": "ROMEO.\\nBut soft", "top_k": 5,
     "trace": "layers.0[0].forward", "signal": "c", "unit": 17,
     "rank_signal": "c", "feature": "inside_quotes", "top_units": 20,
     "full": false, "signals": ["c", "f"], "beam": 1, "n_best": 1, "max_sentences": 3}

Response: ``tokens`` (the text each input token shows), ``traces`` (each recorded cell: name,
cell, kind, size, signals), ``selected`` (the chosen ``trace``, ``signal`` and ``unit`` with its
``values`` per token; by default the best-ranked unit), ``units`` (``rank_units`` of
``rank_signal``: each unit with the text feature it follows best, or ``feature``, Pearson's r,
mean and saturation), ``max_error`` (the recording's self-check) and the task's values
(``rnnkit.serve.recorders``). With ``"full": true``, ``recording`` holds
``Recording.to_dict`` of the chosen ``signals`` of the ``trace`` (all when not given), refused
over ``MAX_VALUES`` numbers. Language models, classifiers, translators and summarizers only.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rnnkit.inspect import FEATURES, CellTrace, Recording, rank_units, unit_stats
from rnnkit.serve.app import json_endpoint, served_model
from rnnkit.serve.errors import BadRequest, TimeLimit
from rnnkit.serve.recorders import MAX_TOP_K, RECORDERS, Inspected, rounded
from rnnkit.serve.requests import BOOLEAN, INTEGER, STRING, STRINGS

MAX_CHARS = 20_000  #: longest ``text`` (characters), checked before tokenizing
MAX_UNITS = 200  #: most units ranked
MAX_VALUES = 500_000  #: most numbers in a ``full`` recording

FIELDS = {
    "model": STRING, "*text": STRING, "top_k": INTEGER, "trace": STRING, "signal": STRING,
    "unit": INTEGER, "rank_signal": STRING, "feature": STRING, "top_units": INTEGER,
    "full": BOOLEAN, "signals": STRINGS, "beam": INTEGER, "n_best": INTEGER,
    "max_sentences": INTEGER,
}  # fmt: skip


#: integer fields' ranges, checked with the fields (``rnnkit.serve.requests.LIMITS``)
RANGES: dict[str, tuple[int, int | None]] = {
    "top_k": (1, MAX_TOP_K), "top_units": (0, MAX_UNITS), "unit": (0, None), "beam": (1, 16),
    "n_best": (1, 16), "max_sentences": (1, None),
}  # fmt: skip


def check_feature(body: dict[str, Any]) -> None:
    """``BadRequest`` when ``feature`` names no text feature."""
    if body.get("feature") is not None and body["feature"] not in FEATURES:
        raise BadRequest(f"feature: expected one of {list(FEATURES)}, got {body['feature']!r}",
                         "feature")  # fmt: skip


def _signal_names(rec: Recording) -> set[str]:
    return {name for t in rec.traces for name in t.signals}


def _rank(rec: Recording, body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The ranked signal (default: the cell state ``c`` when recorded, else ``h``) and its
    units ranked by correlation with the text features."""
    names = _signal_names(rec)
    signal = body.get("rank_signal") or ("c" if "c" in names else "h")
    if signal not in names:
        raise BadRequest(f"rank_signal: no cell records {signal!r}; recorded: {sorted(names)}",
                         "rank_signal")  # fmt: skip
    units = rank_units(unit_stats(rec, signal), body.get("feature"), body.get("top_units", 20))
    for row in units:
        row.update(r=round(row["r"], 4), mean=round(row["mean"], 4),
                   saturation=round(row["saturation"], 4))  # fmt: skip
    return signal, units


def _selected(
    rec: Recording, body: dict[str, Any], signal: str, units: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The chosen trace, signal and unit, and the unit's value at each token per sequence."""
    if not rec.traces:
        return None
    best = units[0] if units else {"trace": rec.traces[0].name, "unit": 0}
    name = body.get("trace") or best["trace"]
    traces = {t.name: t for t in rec.traces}
    if name not in traces:
        raise BadRequest(f"trace: no trace {name!r}; traces: {sorted(traces)}", "trace")
    trace = traces[name]
    chosen = body.get("signal") or (signal if signal in trace.signals else "h")
    if chosen not in trace.signals:
        raise BadRequest(f"signal: trace {name!r} ({trace.cell}) has no {chosen!r}; it has "
                         f"{sorted(trace.signals)}", "signal")  # fmt: skip
    default_unit = best["unit"] if best["trace"] == name else 0
    unit = body.get("unit", default_unit)
    if unit >= trace.signals[chosen].shape[-1]:
        raise BadRequest(f"unit: trace {name!r} has {trace.signals[chosen].shape[-1]} units in "
                         f"{chosen!r}; got {unit}", "unit")  # fmt: skip
    values = trace.signals[chosen][..., unit]  # (N, L)
    lengths = [values.shape[1]] * values.shape[0] if trace.lengths is None else trace.lengths
    rows = [rounded(row[: int(n)]) for row, n in zip(values, lengths)]
    return {"trace": name, "signal": chosen, "unit": unit, "values": rows}


def _full(rec: Recording, body: dict[str, Any]) -> dict[str, Any]:
    """``Recording.to_dict`` of the request's trace and signals, within ``MAX_VALUES``."""
    chosen = [rec.trace(body["trace"])] if body.get("trace") else rec.traces
    wanted = body.get("signals")
    count = sum(v.numel() for t in chosen for n, v in t.signals.items()
                if wanted is None or n in wanted)  # fmt: skip
    if count > MAX_VALUES:
        raise BadRequest(f"full: the recording holds {count} values; the limit is {MAX_VALUES}: "
                         "name a trace and signals, or send a shorter text", "full")  # fmt: skip
    return rec.to_dict(signals=wanted, traces=[t.name for t in chosen])


def _catalog(t: CellTrace) -> dict[str, Any]:
    return {"name": t.name, "cell": t.cell, "kind": t.kind, "size": t.size,
            "signals": list(t.signals)}  # fmt: skip


def _short(v: float) -> float | None:
    return float(f"{v:.3g}") if math.isfinite(v) else None


def inspection(predictor: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The response to one request (runs on the model's worker thread)."""
    inspected: Inspected = RECORDERS[predictor.task](predictor, body)
    rec = inspected.recording
    signal, units = _rank(rec, body)
    out = {
        "model": predictor.name,
        "task": predictor.task,
        "tokens": inspected.tokens,
        "traces": [_catalog(t) for t in rec.traces],
        "selected": _selected(rec, body, signal, units),
        "rank_signal": signal,
        "units": units,
        "max_error": {k: _short(v) for k, v in rec.max_error.items()},
        **inspected.extras,
    }
    if body.get("full"):
        out["recording"] = _full(rec, body)
    return out


@json_endpoint("inspect", FIELDS, RANGES, {"text": MAX_CHARS})
async def inspect_endpoint(request: Request, body: dict[str, Any]) -> Response:
    """``POST /inspect`` (see the module's docstring)."""
    served = served_model(request, body)
    task = served.predictor.task
    if task not in RECORDERS:
        raise BadRequest(f"model: /inspect takes {sorted(RECORDERS)} models; "
                         f"{served.predictor.name!r} is a {task} model", "model")  # fmt: skip
    check_feature(body)
    timeout = request.app.state.settings.timeout
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(served.executor, inspection, served.predictor, body)
    try:
        result = await asyncio.wait_for(work, timeout)
    except asyncio.TimeoutError:  # the builtin TimeoutError only from Python 3.11
        raise TimeLimit(timeout) from None
    return JSONResponse(result)
