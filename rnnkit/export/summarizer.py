"""An extractive summarizer (SummaRuNNer) as one ONNX graph: sentence scores of documents.

    model.onnx  input_ids (N, S, W) int64, sentence_lengths (N, S) int64, lengths (N,) int64
                -> logits (N, S) (-inf for padding sentences), scores (N, S) = sigmoid(logits)

The word and sentence BiRNNs are ONNX recurrent operators with ``sequence_lens``; the novelty
term, which depends on the probabilities of the sentences before, runs in an ONNX ``Scan`` over
the sentences. Sentence selection within a budget stays rnnkit's (``select_sentences``).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from torch import nn

from rnnkit.export.graph import FLOAT, INT64, Graph
from rnnkit.export.recurrent import ExportError, layer_spec, recurrent_nodes


def _np(t: object) -> np.ndarray:
    return t.detach().float().numpy()  # type: ignore[attr-defined]


def _masked_mean(g: Graph, y: str, lengths: str) -> str:
    """Mean over axis 0 of y (T, B, F) where step < lengths (B,) -> (B, F)."""
    steps = g.op("Gather", [g.op("Shape", [y]), g.const(0)])
    time = g.op("Range", [g.const(0), steps, g.const(1)])
    mask = g.op("Less", [g.op("Unsqueeze", [time, g.const([1])]),
                         g.op("Unsqueeze", [lengths, g.const([0])])])  # fmt: skip
    weights = g.op("Unsqueeze", [g.op("Cast", [mask], to=onnx.TensorProto.FLOAT), g.const([2])])
    total = g.op("ReduceSum", [g.op("Mul", [y, weights]), g.const([0])], keepdims=0)
    count = g.op("ReduceSum", [weights, g.const([0])], keepdims=0)
    return g.op("Div", [total, g.op("Max", [count, g.const([1.0], np.float32)])])


def _novelty_scan(g: Graph, model: nn.Module, static: str, h: str, maskf: str) -> str:
    """z_j = static_j - h_j^T W_r tanh(s_j), s_{j+1} = s_j + h_j sigmoid(z_j) m_j: (S, N)."""
    w = _np(model.novelty.weight)[0].T  # tanh(s) @ W^T gives W tanh(s) per row
    width = w.shape[0]
    body_nodes = [
        helper.make_node("Tanh", ["s_in"], ["ts"]),
        helper.make_node("MatMul", ["ts", "w_novelty"], ["wts"]),
        helper.make_node("Mul", ["h_j", "wts"], ["prod"]),
        helper.make_node("ReduceSum", ["prod", "axis_last"], ["nov"], keepdims=0),
        helper.make_node("Sub", ["static_j", "nov"], ["z_j"]),
        helper.make_node("Sigmoid", ["z_j"], ["p_raw"]),
        helper.make_node("Mul", ["p_raw", "m_j"], ["p"]),
        helper.make_node("Unsqueeze", ["p", "axis_last"], ["p_col"]),
        helper.make_node("Mul", ["h_j", "p_col"], ["add"]),
        helper.make_node("Add", ["s_in", "add"], ["s_out"]),
        helper.make_node("Identity", ["z_j"], ["z_out"]),
    ]
    body = helper.make_graph(
        body_nodes, "novelty",
        [helper.make_tensor_value_info("s_in", FLOAT, ["N", width]),
         helper.make_tensor_value_info("static_j", FLOAT, ["N"]),
         helper.make_tensor_value_info("h_j", FLOAT, ["N", width]),
         helper.make_tensor_value_info("m_j", FLOAT, ["N"])],
        [helper.make_tensor_value_info("s_out", FLOAT, ["N", width]),
         helper.make_tensor_value_info("z_out", FLOAT, ["N"])],
        [onnx.numpy_helper.from_array(np.ascontiguousarray(w, np.float32), "w_novelty"),
         onnx.numpy_helper.from_array(np.array([-1], np.int64), "axis_last")],
    )  # fmt: skip
    zeros = g.op("Mul", [g.op("Gather", [h, g.const(0)], axis=0), g.const([0.0], np.float32)])
    _, z = g.op("Scan", [zeros, static, h, maskf], outputs=2, body=body, num_scan_inputs=3)
    return z


def _matmul(g: Graph, x: str, weight: object, name: str) -> str:
    """x @ W^T for a PyTorch weight W."""
    return g.op("MatMul", [x, g.weight(name, _np(weight).T)])


def _sentence_vectors(g: Graph, model: nn.Module, ids: str, sentence_lengths: str) -> str:
    """Word BiRNN outputs averaged over each sentence's words: (S, N, 2H)."""
    flat_lengths = g.op("Reshape", [sentence_lengths, g.const([-1])])  # (N*S,)
    words = g.op("Transpose", [g.op("Flatten", [ids], axis=2)], perm=[1, 0])  # (W, N*S)
    x = g.op("Gather", [g.weight("embedding", _np(model.embed.weight)), words])
    lens = g.op("Max", [flat_lengths, g.const([1])])
    lens = g.op("Cast", [lens], to=onnx.TensorProto.INT32)
    spec = layer_spec(model.word_rnn, "SummaRuNNer word_rnn")
    y, _ = recurrent_nodes(g, model.word_rnn, spec, x, lens, None)  # (W, N*S, 2H)
    vectors = _masked_mean(g, y, flat_lengths)  # (N*S, 2H)
    first_two = g.op("Slice", [g.op("Shape", [ids]), g.const([0]), g.const([2])])
    shape = g.op("Concat", [first_two, g.const([-1])], axis=0)
    return g.op("Transpose", [g.op("Reshape", [vectors, shape])], perm=[1, 0, 2])


def _static_scores(g: Graph, model: nn.Module, h: str, j: str, lengths: str) -> str:
    """Content + salience + positions + bias of each sentence: (S, N)."""
    c = model.config
    doc = g.op("Add", [_matmul(g, _masked_mean(g, h, lengths), model.document.weight, "doc"),
                       g.weight("doc_b", _np(model.document.bias))])  # fmt: skip
    doc = g.op("Tanh", [doc])  # (N, 2H)
    content = g.op("Squeeze", [_matmul(g, h, model.content.weight, "content"), g.const([2])])
    salient = g.op("MatMul", [doc, g.weight("salience", _np(model.salience.weight)[0].T)])
    salience = g.op("ReduceSum", [g.op("Mul", [h, salient]), g.const([2])], keepdims=0)
    absolute = g.op("Min", [j, g.const(c.max_positions - 1)])
    absolute = g.op("Gather", [g.weight("abs_pos", _np(model.abs_position.weight)), absolute])
    abs_term = _matmul(g, absolute, model.abs_score.weight, "abs_score")  # (S, 1)
    scaled = g.op("Mul", [g.op("Unsqueeze", [j, g.const([1])]), g.const(c.position_bins)])
    count = g.op("Unsqueeze", [g.op("Max", [lengths, g.const(1)]), g.const([0])])
    bins = g.op("Min", [g.op("Div", [scaled, count]), g.const(c.position_bins - 1)])  # (S, N)
    relative = g.op("Gather", [g.weight("rel_pos", _np(model.rel_position.weight)), bins])
    rel_term = g.op("Squeeze", [_matmul(g, relative, model.rel_score.weight, "rel_score"),
                                g.const([2])])  # fmt: skip
    static = g.op("Add", [g.op("Add", [g.op("Add", [content, salience]), abs_term]), rel_term])
    return g.op("Add", [static, g.weight("bias", _np(model.bias).reshape(1))])


def summarizer_graph(model: nn.Module) -> onnx.ModelProto:
    """``model.onnx`` of a ``SummaRuNNer``."""
    if type(model).__name__ != "SummaRuNNer":
        raise ExportError(f"a {type(model).__name__} summarizer is not exported (abstractive "
                          "models generate token by token; extractive SummaRuNNer is)")  # fmt: skip
    sentence_spec = layer_spec(model.sentence_rnn, "SummaRuNNer sentence_rnn")
    g = Graph("rnnkit_summarunner")
    ids = g.input("input_ids", INT64, ["N", "S", "W"])
    sentence_lengths = g.input("sentence_lengths", INT64, ["N", "S"])
    lengths = g.input("lengths", INT64, ["N"])
    vectors = _sentence_vectors(g, model, ids, sentence_lengths)  # (S, N, 2H)
    lens = g.op("Cast", [lengths], to=onnx.TensorProto.INT32)
    h, _ = recurrent_nodes(g, model.sentence_rnn, sentence_spec, vectors, lens, None)
    j = g.op("Range", [g.const(0), g.op("Gather", [g.op("Shape", [ids]), g.const(1)]),
                       g.const(1)])  # (S,)  # fmt: skip
    static = _static_scores(g, model, h, j, lengths)
    mask = g.op("Less", [g.op("Unsqueeze", [j, g.const([1])]),
                         g.op("Unsqueeze", [lengths, g.const([0])])])  # (S, N)  # fmt: skip
    maskf = g.op("Cast", [mask], to=onnx.TensorProto.FLOAT)
    z = _novelty_scan(g, model, static, h, maskf)
    logits = g.op("Where", [mask, z, g.const([-np.inf], np.float32)])
    logits = g.op("Transpose", [logits], perm=[1, 0])
    g.output(logits, "logits", FLOAT, ["N", "S"])
    g.output(g.op("Sigmoid", [logits]), "scores", FLOAT, ["N", "S"])
    return g.model()
