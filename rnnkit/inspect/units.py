"""Unit statistics for picking interesting cells, after Karpathy, Johnson & Fei-Fei,
"Visualizing and Understanding Recurrent Networks", 2015, and LSTMVis (Strobelt et al. 2017).

Per unit j of a recorded signal v (``h`` by default; any gate or ``c``), over the real
(unpadded) positions t of all sequences:

    mean_j       = mean_t v_tj
    saturation_j = fraction of t with |v_tj| > threshold (0.9)
    r_j(f)       = Pearson correlation between v_tj and a text feature f_t

``text_features`` gives three simple features of character-level input, each the state of the
text before the token: ``inside_quotes`` (an odd number of ``"`` so far, or after an opening
curly quote), ``inside_parentheses`` (more ``(`` than ``)`` so far) and ``position_in_line``
(characters since the last newline). ``rank_units`` sorts units by ``|r|``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from rnnkit.inspect.recording import Recording
from rnnkit.inspect.trace import CellTrace

FEATURES = ("inside_quotes", "inside_parentheses", "position_in_line")


def text_features(tokens: str | Sequence[str]) -> dict[str, Tensor]:
    """The features of each token of a text: a string (one token per character) or token
    strings; a token's value describes the text just before its first character.

    Shape: L tokens -> each feature (L,) float64.

    Example:
        >>> text_features('a "b"\\n(c)')["inside_quotes"].tolist()
        [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    quotes = parens = column = 0
    inside_curly = False
    rows: list[tuple[float, float, float]] = []
    for token in tokens:
        rows.append((float(quotes % 2 == 1 or inside_curly), float(parens > 0), float(column)))
        for ch in token:
            quotes += ch == '"'
            inside_curly = (inside_curly or ch == "\u201c") and ch != "\u201d"
            parens = max(0, parens + (ch == "(") - (ch == ")"))
            column = 0 if ch == "\n" else column + 1
    table = torch.tensor(rows, dtype=torch.float64).reshape(-1, 3)
    return {name: table[:, k] for k, name in enumerate(FEATURES)}


@dataclass
class UnitStats:
    """Statistics of the units of one signal of one trace.

    Shape: ``mean``, ``saturation`` and each ``correlation`` value (H,); a correlation is NaN
    where it is undefined (a constant feature or unit).
    """

    trace: str
    signal: str
    mean: Tensor
    saturation: Tensor
    correlation: dict[str, Tensor] = field(default_factory=dict)

    def to_dict(self, precision: int = 4) -> dict[str, Any]:
        """JSON-ready values; undefined correlations become None."""

        def listed(x: Tensor) -> list[float | None]:
            return [None if math.isnan(v) else round(v, precision) for v in x.tolist()]

        return {
            "trace": self.trace,
            "signal": self.signal,
            "mean": listed(self.mean),
            "saturation": listed(self.saturation),
            "correlation": {k: listed(v) for k, v in self.correlation.items()},
        }


def unit_stats(
    recording: Recording,
    signal: str = "h",
    features: dict[str, Tensor] | None = None,
    threshold: float = 0.9,
) -> list[UnitStats]:
    """Mean, saturation and feature correlations of every unit, per trace having ``signal``.

    Args:
        recording: a ``Recording``.
        signal: ``"h"``, ``"c"`` or a gate name.
        features: name -> (N, L) or (L,) values per position of the recorded input; default:
            ``text_features`` of ``recording.tokens`` (character-level input). Traces whose
            length differs from the features' (a translator's decoder) get none.
        threshold: ``|v|`` above which a value counts as saturated.
    """
    if features is None and recording.tokens is not None:
        features = _features_of(recording.tokens)
    out = []
    for t in recording.traces:
        if signal not in t.signals:
            continue
        values, mask = _flat(t, t.signals[signal])  # (M, H), (N, L)
        stats = UnitStats(
            t.name, signal, values.mean(0), (values.abs() > threshold).double().mean(0)
        )
        for name, f in (features or {}).items():
            fitted = _fit(f, mask)
            if fitted is not None:
                stats.correlation[name] = correlate(values, fitted[mask])
        out.append(stats)
    return out


def correlate(values: Tensor, feature: Tensor) -> Tensor:
    """Pearson r between each column of ``values`` (M, H) and ``feature`` (M,) -> (H,)."""
    v = values.double() - values.double().mean(0)
    f = feature.double() - feature.double().mean()
    denominator = v.norm(dim=0) * f.norm()
    r = (v * f[:, None]).sum(0) / denominator
    return torch.where(denominator > 0, r, torch.full_like(r, float("nan")))


def rank_units(
    stats: Sequence[UnitStats], feature: str | None = None, top: int = 10
) -> list[dict[str, Any]]:
    """Units sorted by ``|correlation|`` with ``feature`` (None: with whichever feature each unit
    correlates with most), highest first.

    Returns:
        ``{"trace", "signal", "unit", "feature", "r", "mean", "saturation"}`` per unit.

    Example:
        >>> best = rank_units(unit_stats(rec, "c"), "position_in_line", top=1)[0]
    """
    rows = []
    for s in stats:
        names = [feature] if feature is not None else list(s.correlation)
        for name in names:
            if name not in s.correlation:
                continue
            for unit, r in enumerate(s.correlation[name].tolist()):
                if not math.isnan(r):
                    rows.append((abs(r), s, unit, name, r))
    if feature is None:  # one row per unit: its strongest feature
        best: dict[tuple[str, int], tuple] = {}
        for row in rows:
            key = (row[1].trace, row[2])
            if key not in best or row[0] > best[key][0]:
                best[key] = row
        rows = list(best.values())
    rows.sort(key=lambda row: -row[0])
    return [
        {"trace": s.trace, "signal": s.signal, "unit": unit, "feature": name, "r": r,
         "mean": float(s.mean[unit]), "saturation": float(s.saturation[unit])}
        for _, s, unit, name, r in rows[:top]
    ]  # fmt: skip


def _flat(t: CellTrace, values: Tensor) -> tuple[Tensor, Tensor]:
    """Values at real positions (M, H) and the (N, L) mask that picked them."""
    n, steps = values.shape[:2]
    mask = torch.ones(n, steps, dtype=torch.bool)
    if t.lengths is not None:
        mask = torch.arange(steps)[None, :] < t.lengths.cpu()[:, None]
    return values.detach().cpu().double()[mask], mask


def _fit(feature: Tensor, mask: Tensor) -> Tensor | None:
    """Feature values as (N, L) like ``mask``, zero-padded when they stop after the last real
    position; None when they do not describe the trace's positions."""
    f = (feature.reshape(1, -1) if feature.dim() == 1 else feature).double().cpu()
    n, steps = mask.shape
    width = f.shape[1]
    if f.shape[0] != n or width > steps or bool(mask[:, width:].any()):
        return None
    return torch.nn.functional.pad(f, (0, steps - width))


def _features_of(tokens: list[list[str]]) -> dict[str, Tensor]:
    """Per-sequence text features padded to (N, L_max) with zeros."""
    steps = max(len(row) for row in tokens)
    out = {name: torch.zeros(len(tokens), steps, dtype=torch.float64) for name in FEATURES}
    for i, row in enumerate(tokens):
        for name, values in text_features(row).items():
            out[name][i, : len(row)] = values
    return out
