"""Configurations without an ONNX recurrent operator are refused, naming the option and why."""

import pytest

from rnnkit.export.lm import lm_graphs
from rnnkit.export.recurrent import ExportError
from rnnkit.models import LanguageModel


@pytest.mark.parametrize(
    ("cell", "options", "words"),
    [
        ("lstm", {"layer_norm": True}, "layer_norm=True"),
        ("lstm", {"proj_size": 3}, "proj_size=3"),
        ("mingru", {}, "MinGRU"),
        ("minlstm", {}, "MinLSTM"),
        ("gru", {"activation": "gelu"}, "activation='gelu'"),
        ("lstm", {"go_backwards": True}, "go_backwards=True"),
    ],
)
def test_refused_by_name(cell, options, words):
    model = LanguageModel(9, cell=cell, embedding_size=4, hidden_size=6, num_layers=1,
                          tie_weights=False, cell_options=options)  # fmt: skip
    with pytest.raises(ExportError) as info:
        lm_graphs(model)
    assert words in str(info.value) and "layers.0" in str(info.value)
