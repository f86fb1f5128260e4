"""An encoder-decoder translator as two ONNX graphs: the encoder, and one decoder step.

    encoder.onnx       input_ids (N, S) int64, lengths (N,) int64
                       -> memory (N, S, M), keys (N, S, K) (the memory projected for attention),
                          state.K.h [, state.K.c] (each decoder layer's first state, (1, N, H))
    decoder_step.onnx  input_ids (N,) int64, state.K.*, feed (N, H) (input feeding only),
                       memory, keys, mask (N, S) bool [, source_ids (N, S) int64 (copying)]
                       [, coverage (N, S) (coverage)]
                       -> logits (N, V), new_state.K.*, new_feed (N, H), weights (N, S)
                          [, new_coverage (N, S)]

Attention (dot, general, additive, or none) runs inside the step graph over the real source
steps only (``mask``). With coverage the keys read the coverage vector (keys + c w), and
``new_coverage`` = coverage + weights. With copying, ``logits`` are the pointer-generator's
log P over the vocabulary (``rnnkit.models.copying.mix_copy``): p_gen from the context, the
top layer's output and the token's embedding, and the attention's 1 - p_gen scattered onto the
source tokens' ids (ScatterElements with reduction ``add``). The runtime
(``rnnkit.export.translator_runtime``) keeps the decoder's state between steps, so rnnkit's
beam search and placeholder rules drive the decoding. Refused: copying with separate source and
target vocabularies (the extended vocabulary of out-of-vocabulary source words changes size
per batch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from torch import nn

from rnnkit.export.graph import FLOAT, INT64, Graph
from rnnkit.export.recurrent import ExportError, LayerSpec, layer_spec, recurrent_nodes
from rnnkit.models.copying import FLOOR


def _w(g: Graph, linear: nn.Linear, x: str) -> str:
    y = g.op("MatMul", [x, g.weight("weight", linear.weight.detach().numpy().T)])
    if linear.bias is None:
        return y
    return g.op("Add", [y, g.weight("bias", linear.bias.detach().numpy())])


def _decoder_specs(model: nn.Module) -> list[LayerSpec]:
    c = model.config
    if c.copy and c.source_vocab_size != c.target_vocab_size:
        raise ExportError("Seq2Seq(copy=True) with separate source and target vocabularies is "
                          "not exported: the extended vocabulary of out-of-vocabulary source "
                          "words changes size per batch")  # fmt: skip
    return [layer_spec(layer, f"Seq2Seq decoder.layers.{k}")
            for k, layer in enumerate(model.decoder.layers)]  # fmt: skip


def _state_shape(spec: LayerSpec) -> list[Any]:
    return [spec.num_layers * spec.directions, "N", spec.hidden_size]


def encoder_graph(model: nn.Module) -> onnx.ModelProto:
    """``encoder.onnx``: the memory, its keys and the decoder's first state (the bridge)."""
    c, dec = model.config, model.decoder
    specs = [layer_spec(layer, f"Seq2Seq encoder.{k}") for k, layer in enumerate(model.encoder)]
    dec_specs = _decoder_specs(model)
    g = Graph("rnnkit_seq2seq_encoder")
    ids = g.input("input_ids", INT64, ["N", "S"])
    lengths = g.input("lengths", INT64, ["N"])
    x = g.op("Gather", [g.weight("embedding", model.embed.weight.detach().numpy()),
                        g.op("Transpose", [ids], perm=[1, 0])])  # (S, N, E)  # fmt: skip
    lens = g.op("Cast", [lengths], to=onnx.TensorProto.INT32)
    finals = []
    for layer, spec in zip(model.encoder, specs):
        x, state = recurrent_nodes(g, layer, spec, x, lens, None)
        finals.append(state)
    memory = g.op("Transpose", [x], perm=[1, 0, 2])  # (N, S, M)
    width = specs[-1].hidden_size * specs[-1].directions
    g.output(memory, "memory", FLOAT, ["N", "S", width])
    if dec.attending:
        keys = memory if dec.attention.kind == "dot" else _w(g, dec.attention.key, memory)
        g.output(keys, "keys", FLOAT, ["N", "S", "K"])
    for k, spec in enumerate(dec_specs):
        source = finals[max(0, c.encoder_layers - c.decoder_layers + k)]
        for part, value in zip(spec.state_parts, source):
            if model.bridge is not None:  # tanh(W [h_fwd; h_bwd] + b), (2, N, H) -> (1, N, H)
                linear = model.bridge[k][spec.state_parts.index(part)]
                forward = g.op("Gather", [value, g.const(0)], axis=0)  # (N, H)
                backward = g.op("Gather", [value, g.const(1)], axis=0)
                both = g.op("Concat", [forward, backward], axis=-1)
                value = g.op("Unsqueeze", [g.op("Tanh", [_w(g, linear, both)]), g.const([0])])
            g.output(value, f"state.{k}.{part}", FLOAT, _state_shape(spec))
    return g.model()


def _attend(g: Graph, attention: nn.Module, q: str, memory: str, keys: str, mask: str) -> tuple:
    """Context (N, M) and weights (N, S) for the query q (N, Q)."""
    if attention.kind == "additive":
        hidden = g.op("Tanh", [g.op("Add", [g.op("Unsqueeze", [_w(g, attention.query, q),
                                                               g.const([1])]), keys])])  # fmt: skip
        scores = g.op("Squeeze", [_w(g, attention.v, hidden), g.const([2])])  # (N, S)
    else:
        scores = g.op("Squeeze", [g.op("MatMul", [keys, g.op("Unsqueeze", [q, g.const([2])])]),
                                  g.const([2])])  # (N, S, Q) x (N, Q, 1)  # fmt: skip
    scores = g.op("Where", [mask, scores, g.const([-np.inf], np.float32)])
    weights = g.op("Softmax", [scores], axis=-1)
    context = g.op("MatMul", [g.op("Unsqueeze", [weights, g.const([1])]), memory])  # (N, 1, M)
    return g.op("Squeeze", [context, g.const([1])]), weights


def decoder_step_graph(model: nn.Module) -> onnx.ModelProto:
    """``decoder_step.onnx``: one target token per sequence, the state in and out."""
    dec = model.decoder
    specs = _decoder_specs(model)
    g = Graph("rnnkit_seq2seq_decoder_step")
    ids = g.input("input_ids", INT64, ["N"])
    states = [[g.input(f"state.{k}.{p}", FLOAT, _state_shape(s)) for p in s.state_parts]
              for k, s in enumerate(specs)]  # fmt: skip
    x = g.op("Gather", [g.weight("embedding", dec.embed.weight.detach().numpy()), ids])  # (N, E)
    embedded = x
    if dec.input_feeding:
        x = g.op("Concat", [x, g.input("feed", FLOAT, ["N", dec.hidden_size])], axis=-1)
    x = g.op("Unsqueeze", [x, g.const([0])])  # (1, N, I)
    new_states = []
    for layer, spec, state in zip(dec.layers, specs, states):
        x, new = recurrent_nodes(g, layer, spec, x, "", state)
        new_states.append(new)
    q = g.op("Squeeze", [x, g.const([0])])  # (N, H)
    h = q
    if dec.attending:
        memory = g.input("memory", FLOAT, ["N", "S", dec.attention.memory_size])
        keys = g.input("keys", FLOAT, ["N", "S", "K"])
        mask = g.input("mask", onnx.TensorProto.BOOL, ["N", "S"])
        if dec.covering:  # keys + c_j w
            coverage = g.input("coverage", FLOAT, ["N", "S"])
            w = g.weight("coverage_weight", dec.cover.weight.detach().numpy())
            keys = g.op("Add", [keys, g.op("Mul", [g.op("Unsqueeze", [coverage, g.const([2])]),
                                                   w])])  # fmt: skip
        context, weights = _attend(g, dec.attention, q, memory, keys, mask)
        h = g.op("Tanh", [_w(g, dec.combine, g.op("Concat", [context, q], axis=-1))])
        g.output(weights, "weights", FLOAT, ["N", "S"])
        if dec.covering:
            g.output(g.op("Add", [coverage, weights]), "new_coverage", FLOAT, ["N", "S"])
    logits = _w(g, dec.out, h)
    if dec.copying:
        logits = _copy(g, dec, logits, (context, q, embedded), weights)
    g.output(logits, "logits", FLOAT, ["N", dec.vocab_size])
    for k, (spec, new) in enumerate(zip(specs, new_states)):
        for part, value in zip(spec.state_parts, new):
            g.output(value, f"new_state.{k}.{part}", FLOAT, _state_shape(spec))
    if dec.input_feeding:
        g.output(h, "new_feed", FLOAT, ["N", dec.hidden_size])
    return g.model()


def _copy(g: Graph, dec: nn.Module, logits: str, parts: tuple, weights: str) -> str:
    """log(p_gen softmax(logits) + (1 - p_gen) a scattered onto source_ids), floored as
    ``mix_copy``: (N, V)."""
    source_ids = g.input("source_ids", INT64, ["N", "S"])
    p_gen = g.op("Sigmoid", [_w(g, dec.gate.linear, g.op("Concat", list(parts), axis=-1))])
    p_vocab = g.op("Mul", [g.op("Softmax", [logits], axis=-1), p_gen])  # (N, V)
    copied = g.op("Mul", [weights, g.op("Sub", [g.const(1.0, np.float32), p_gen])])  # (N, S)
    mixed = g.op("ScatterElements", [p_vocab, source_ids, copied], axis=1, reduction="add")
    return g.op("Log", [g.op("Max", [mixed, g.const(FLOOR, np.float32)])])


def translator_export(model: nn.Module) -> tuple[dict[str, onnx.ModelProto], dict[str, Any]]:
    """The graphs by file name, and what the runtime needs (state layout, attention)."""
    if type(model).__name__ != "Seq2Seq":
        raise ExportError(f"a {type(model).__name__} translator is not exported")
    graphs = {"encoder.onnx": encoder_graph(model), "decoder_step.onnx": decoder_step_graph(model)}
    info = {
        "graphs": {"encoder": "encoder.onnx", "decoder_step": "decoder_step.onnx"},
        "state": [list(s.state_parts) for s in _decoder_specs(model)],
        "attending": model.decoder.attending,
        "input_feeding": model.decoder.input_feeding,
        "copying": model.decoder.copying,
        "coverage": model.decoder.covering,
    }
    return graphs, info
