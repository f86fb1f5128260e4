"""A sequence tagger as one ONNX graph: words (and their characters) -> emission scores.

    model.onnx  input_ids (N, L) int64, lengths (N,) int64
                [, char_ids (N, L, C) int64, char_lengths (N, L) int64   when num_chars > 0]
                -> emissions (N, L, T)

The character encoder (a BiLSTM's last states, or a CNN with max pooling) runs over every
word's characters as one batch of N*L sequences; the word encoder takes ``sequence_lens``. The
CRF's transitions go to the folder's config (``export.crf``): Viterbi decoding runs in rnnkit's
own ``CRF.decode`` on the emissions (``rnnkit.export.tagger_runtime``). Refused: biLM features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from torch import nn

from rnnkit.export.classifier import _last
from rnnkit.export.graph import FLOAT, INT64, Graph
from rnnkit.export.recurrent import ExportError, layer_spec, recurrent_nodes


def _char_features(g: Graph, chars: nn.Module, ids: str, char_ids: str, char_lengths: str) -> str:
    """(N, L, C) character ids -> (L, N, F) features of each word."""
    flat = g.op("Flatten", [char_ids], axis=2)  # (N*L, C)
    lens = g.op("Max", [g.op("Reshape", [char_lengths, g.const([-1])]), g.const([1])])  # (N*L,)
    x = g.op("Gather", [g.weight("char_embedding", chars.embed.weight.detach().numpy()),
                        g.op("Transpose", [flat], perm=[1, 0])])  # (C, N*L, E)  # fmt: skip
    if chars.kind == "lstm":
        spec = layer_spec(chars.rnn, "SequenceTagger chars.rnn")
        lens32 = g.op("Cast", [lens], to=onnx.TensorProto.INT32)
        y, _ = recurrent_nodes(g, chars.rnn, spec, x, lens32, None)
        feats = _last(g, y, lens, chars.out_features, 2)  # (N*L, F)
    else:
        conv = chars.conv
        pad = conv.padding[0]
        y = g.op("Conv", [g.op("Transpose", [x], perm=[1, 2, 0]),  # (N*L, E, C)
                          g.weight("conv_weight", conv.weight.detach().numpy()),
                          g.weight("conv_bias", conv.bias.detach().numpy())],
                 pads=[pad, pad])  # fmt: skip
        y = g.op("Transpose", [y], perm=[2, 0, 1])  # (C, N*L, F)
        time = g.op("Range", [g.const(0), g.op("Gather", [g.op("Shape", [y]), g.const(0)]),
                              g.const(1)])  # fmt: skip
        mask = g.op("Less", [g.op("Unsqueeze", [time, g.const([1, 2])]),
                             g.op("Unsqueeze", [lens, g.const([0, 2])])])  # fmt: skip
        minus_inf = g.const([float("-inf")], np.float32)
        feats = g.op("ReduceMax", [g.op("Where", [mask, y, minus_inf])], axes=[0], keepdims=0)
    shape = g.op("Concat", [g.op("Shape", [ids]), g.const([chars.out_features])], axis=0)
    return g.op("Transpose", [g.op("Reshape", [feats, shape])], perm=[1, 0, 2])


def tagger_graph(model: nn.Module) -> onnx.ModelProto:
    """``model.onnx`` of a ``SequenceTagger``."""
    c = model.config
    if model.bilm is not None:
        raise ExportError("SequenceTagger with biLM features is not exported (the biLM reads "
                          "characters through a second network)")  # fmt: skip
    spec = layer_spec(model.encoder, "SequenceTagger encoder")
    g = Graph("rnnkit_sequence_tagger")
    ids = g.input("input_ids", INT64, ["N", "L"])
    lengths = g.input("lengths", INT64, ["N"])
    x = g.op("Gather", [g.weight("embedding", model.embed.weight.detach().numpy()),
                        g.op("Transpose", [ids], perm=[1, 0])])  # (L, N, E)  # fmt: skip
    if model.chars is not None:
        char_ids = g.input("char_ids", INT64, ["N", "L", "C"])
        char_lengths = g.input("char_lengths", INT64, ["N", "L"])
        feats = _char_features(g, model.chars, ids, char_ids, char_lengths)
        x = g.op("Concat", [x, feats], axis=2)
    lens = g.op("Cast", [lengths], to=onnx.TensorProto.INT32)
    y, _ = recurrent_nodes(g, model.encoder, spec, x, lens, None)
    emit = model.emit
    scores = g.op("Add", [g.op("MatMul", [y, g.weight("emit", emit.weight.detach().numpy().T)]),
                          g.weight("emit_bias", emit.bias.detach().numpy())])  # fmt: skip
    g.output(g.op("Transpose", [scores], perm=[1, 0, 2]), "emissions", FLOAT,
             ["N", "L", c.num_tags])  # fmt: skip
    return g.model()


def tagger_export_info(model: nn.Module) -> dict[str, Any]:
    """The graphs, and the CRF's parameters for the runtime's Viterbi decoding."""
    info: dict[str, Any] = {"graphs": {"model": "model.onnx"}}
    if model.crf is not None:
        info["crf"] = {name: p.detach().double().tolist()
                       for name, p in model.crf.named_parameters()}  # fmt: skip
    return info
