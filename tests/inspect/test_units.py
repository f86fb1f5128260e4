"""Unit statistics: text features, correlations, saturation and ranking."""

import json
import math

import numpy as np
import pytest
import torch

from rnnkit.inspect import Recording, rank_units, text_features, unit_stats
from rnnkit.inspect.trace import CellTrace
from rnnkit.inspect.units import correlate


def test_text_features_by_hand():
    f = text_features('say "hi (x)"\nok')
    #                  s a y _ " h i _ ( x ) " \n o k
    assert f["inside_quotes"].tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
    assert f["inside_parentheses"].tolist() == [0] * 9 + [1, 1] + [0] * 4
    assert f["position_in_line"].tolist() == [*range(13), 0, 1]


def test_text_features_of_multi_character_tokens():
    f = text_features(["ab", '"cd', "e", '"', "\n", "f"])
    assert f["inside_quotes"].tolist() == [0, 0, 1, 1, 0, 0]
    assert f["position_in_line"].tolist() == [0, 2, 5, 6, 7, 0]


def test_correlate_matches_numpy_and_flags_constants():
    values, feature = torch.randn(50, 4, dtype=torch.float64), torch.randn(50)
    values[:, 3] = 1.0  # a constant unit
    r = correlate(values, feature)
    for j in range(3):
        expected = np.corrcoef(values[:, j].numpy(), feature.double().numpy())[0, 1]
        assert math.isclose(float(r[j]), expected, rel_tol=1e-9)
    assert math.isnan(float(r[3]))
    assert torch.isnan(correlate(values, torch.zeros(50))).all()


def _recording(text: str, lengths=None) -> Recording:
    """A made-up recording: unit 0 = position in line, unit 1 = -inside quotes, unit 2 a
    fixed wiggle."""
    f = text_features(text)
    wiggle = torch.sin(torch.arange(len(text)) * 1.7) * 0.1
    h = torch.stack([f["position_in_line"] / 10, -f["inside_quotes"], wiggle], -1)
    h = h.float()[None]  # (1, L, 3)
    trace = CellTrace("layers.0", 0, "forward", "LSTMCell", "lstm", {"h": h}, lengths=lengths)
    return Recording("language_model", [trace], tokens=[list(text)])


def test_unit_stats_and_ranking():
    text = 'one "two" three\nfour five "six seven" eight nine\nten\n'
    stats = unit_stats(_recording(text))
    assert len(stats) == 1 and stats[0].trace == "layers.0[0].forward"
    corr = stats[0].correlation
    assert math.isclose(float(corr["position_in_line"][0]), 1.0, rel_tol=1e-6)
    assert math.isclose(float(corr["inside_quotes"][1]), -1.0, rel_tol=1e-6)
    assert math.isnan(float(corr["inside_parentheses"][0]))  # no parentheses in the text
    quoted = float(text_features(text)["inside_quotes"].mean())
    assert math.isclose(float(stats[0].saturation[1]), quoted, rel_tol=1e-6)  # |-1| > 0.9
    top = rank_units(stats, "inside_quotes", top=2)
    assert len(top) == 2 and top[0]["unit"] == 1 and top[0]["r"] < 0
    assert abs(top[0]["r"]) >= abs(top[1]["r"])
    best = rank_units(stats)  # each unit once, by its strongest feature
    assert len(best) == 3  # |r| = 1 for both: their order is a tie
    assert {(row["unit"], row["feature"]) for row in best[:2]} == {
        (0, "position_in_line"),
        (1, "inside_quotes"),
    }
    data = json.loads(json.dumps(stats[0].to_dict()))
    assert data["correlation"]["inside_parentheses"][0] is None


def test_padding_is_left_out():
    text = 'ab "c" d'
    rec = _recording(text + "#####", lengths=torch.tensor([len(text)]))
    rec.tokens = [list(text)]  # the tokens stop at the true length
    alone = unit_stats(_recording(text))[0]
    padded = unit_stats(rec)[0]
    for name in ("position_in_line", "inside_quotes"):
        torch.testing.assert_close(padded.correlation[name], alone.correlation[name])
    torch.testing.assert_close(padded.mean, alone.mean)


@pytest.mark.parametrize("signal", ["c", "f"])
def test_signals_a_trace_lacks_are_skipped(signal):
    assert unit_stats(_recording("abc"), signal) == []
