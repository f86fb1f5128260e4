"""A language model as two ONNX graphs: the whole sequence, and one step with the state outside.

    model.onnx  input_ids (N, L) int64, lengths (N,) int64
                -> logits (N, L, V), state.K.h / state.K.c (each layer's state at each
                   sequence's end, (num_layers*D, N, H))
    step.onnx   input_ids (N,) int64, state.K.h [, state.K.c]
                -> logits (N, V), new_state.K.h [, new_state.K.c]

Batch and length axes are dynamic. Generation runs ``step.onnx`` once per token, the state
kept by the caller (``rnnkit.export.runtime``), so the sampling loop stays rnnkit's own.
"""

from __future__ import annotations

from typing import Any

import onnx
from torch import nn

from rnnkit.export.graph import FLOAT, INT64, Graph
from rnnkit.export.recurrent import LayerSpec, layer_spec, recurrent_nodes


def state_names(specs: list[LayerSpec], prefix: str = "state") -> list[str]:
    """``state.0.h``, ``state.0.c``, ``state.1.h``... in the order of the model's state."""
    return [f"{prefix}.{k}.{part}" for k, s in enumerate(specs) for part in s.state_parts]


def lm_specs(model: nn.Module) -> list[LayerSpec]:
    """Each layer's spec, or ExportError naming the layer that cannot be exported."""
    return [layer_spec(layer, f"LanguageModel layers.{k}") for k, layer in enumerate(model.layers)]


def _decoder(g: Graph, model: nn.Module, x: str) -> str:
    weight = model.decoder.weight.detach().float().numpy().T  # (H, V): its own copy when tied
    logits = g.op("MatMul", [x, g.weight("decoder_weight", weight)])
    return g.op("Add", [logits, g.weight("decoder_bias", model.decoder.bias.detach().numpy())])


def _state_inputs(g: Graph, specs: list[LayerSpec]) -> list[list[str]]:
    names = iter(state_names(specs))
    return [
        [g.input(next(names), FLOAT, [s.num_layers * s.directions, "N", s.hidden_size])
         for _ in s.state_parts]
        for s in specs
    ]  # fmt: skip


def _state_outputs(g: Graph, specs: list[LayerSpec], states: list[list[str]], prefix: str) -> None:
    names = iter(state_names(specs, prefix))
    for s, parts in zip(specs, states):
        for value in parts:
            g.output(value, next(names), FLOAT, [s.num_layers * s.directions, "N", s.hidden_size])


def lm_sequence_graph(model: nn.Module) -> onnx.ModelProto:
    """``model.onnx``: logits for every position of padded sequences, and the final state."""
    specs = lm_specs(model)
    g = Graph("rnnkit_language_model")
    ids = g.input("input_ids", INT64, ["N", "L"])
    lengths = g.input("lengths", INT64, ["N"])
    embed = g.weight("embedding", model.embed.weight.detach().numpy())
    x = g.op("Gather", [embed, g.op("Transpose", [ids], perm=[1, 0])])  # (L, N, E)
    lens = g.op("Cast", [lengths], to=onnx.TensorProto.INT32)
    states = []
    for layer, spec in zip(model.layers, specs):
        x, state = recurrent_nodes(g, layer, spec, x, lens, None)
        states.append(state)
    logits = g.op("Transpose", [_decoder(g, model, x)], perm=[1, 0, 2])  # (N, L, V)
    g.output(logits, "logits", FLOAT, ["N", "L", model.config.vocab_size])
    _state_outputs(g, specs, states, "state")
    return g.model()


def lm_step_graph(model: nn.Module) -> onnx.ModelProto:
    """``step.onnx``: one token per sequence, the state in and out."""
    specs = lm_specs(model)
    g = Graph("rnnkit_language_model_step")
    ids = g.input("input_ids", INT64, ["N"])
    inputs = _state_inputs(g, specs)
    embed = g.weight("embedding", model.embed.weight.detach().numpy())
    x = g.op("Gather", [embed, g.op("Unsqueeze", [ids, g.const([0])])])  # (1, N, E)
    states = []
    for layer, spec, state in zip(model.layers, specs, inputs):
        x, new = recurrent_nodes(g, layer, spec, x, "", state)
        states.append(new)
    logits = g.op("Squeeze", [_decoder(g, model, x), g.const([0])])  # (N, V)
    g.output(logits, "logits", FLOAT, ["N", model.config.vocab_size])
    _state_outputs(g, specs, states, "new_state")
    return g.model()


def lm_export_info(model: nn.Module) -> dict[str, Any]:
    """What the runtime needs to know beyond the graphs: each layer's state layout."""
    return {
        "graphs": {"model": "model.onnx", "step": "step.onnx"},
        "state": [
            {"parts": list(s.state_parts), "rows": s.num_layers * s.directions,
             "size": s.hidden_size}
            for s in lm_specs(model)
        ],
    }  # fmt: skip


def lm_graphs(model: nn.Module) -> dict[str, onnx.ModelProto]:
    """Every graph of an exported language model by file name."""
    return {"model.onnx": lm_sequence_graph(model), "step.onnx": lm_step_graph(model)}


__all__ = ["lm_export_info", "lm_graphs"]
