"""A text classifier as one ONNX graph: token ids and lengths -> logits and probabilities.

    model.onnx  input_ids (N, L) int64, lengths (N,) int64
                -> logits (N, C), probabilities (N, C)   (softmax; sigmoid for multi-label)

The encoder runs ONNX's recurrent operators with ``sequence_lens``; pooling masks the padded
steps as ``rnnkit.layers.pooling`` does (last, max, mean, attention, concat); an n-gram bag's
hashed features are computed in the graph. With ``encoder_length`` = T the encoder reads the
first T ids (and min(lengths, T)), the n-gram bag all of them. An ensemble is one graph: every
member's scores (and a fitted linear model's), their probabilities averaged with the ensemble's
weights. Refused: a biLM's features (a second network with character inputs).
"""

from __future__ import annotations

import numpy as np
import onnx
from torch import nn

from rnnkit.export.graph import FLOAT, INT64, Graph
from rnnkit.export.recurrent import ExportError, layer_spec, recurrent_nodes


def _linear(g: Graph, linear: nn.Linear, x: str) -> str:
    y = g.op("MatMul", [x, g.weight("weight", linear.weight.detach().numpy().T)])
    return (
        y
        if linear.bias is None
        else g.op("Add", [y, g.weight("bias", linear.bias.detach().numpy())])
    )


def _last(g: Graph, y: str, lengths: str, width: int, directions: int) -> str:
    """Forward direction at step n-1, backward at step 0: y (L, N, F) -> (N, F)."""
    hidden = width // directions
    batch_major = g.op("Transpose", [y], perm=[1, 0, 2])  # (N, L, F)
    index = g.op("Max", [g.op("Sub", [lengths, g.const([1])]), g.const([0])])  # (N,)
    index = g.op("Unsqueeze", [index, g.const([1, 2])])  # (N, 1, 1)
    shape = g.op("Concat", [g.op("Shape", [lengths]), g.const([1, hidden])], axis=0)
    index = g.op("Expand", [index, shape])  # (N, 1, hidden)
    forward = g.op("Slice", [batch_major, g.const([0]), g.const([hidden]), g.const([2])])
    forward = g.op("Squeeze", [g.op("GatherElements", [forward, index], axis=1), g.const([1])])
    if directions == 1:
        return forward
    first = g.op("Squeeze", [g.op("Slice", [y, g.const([0]), g.const([1]), g.const([0])]),
                             g.const([0])])  # fmt: skip
    backward = g.op("Slice", [first, g.const([hidden]), g.const([width]), g.const([1])])
    return g.op("Concat", [forward, backward], axis=1)


def _pool(g: Graph, pool: nn.Module, y: str, lengths: str) -> str:
    """``SequencePooling`` over y (L, N, F) with the padded steps masked -> (N, F')."""
    steps = g.op("Gather", [g.op("Shape", [y]), g.const(0)])
    time = g.op("Range", [g.const(0), steps, g.const(1)])  # (L,)
    mask = g.op("Less", [g.op("Unsqueeze", [time, g.const([1])]),
                         g.op("Unsqueeze", [lengths, g.const([0])])])  # (L, N)  # fmt: skip
    mask3 = g.op("Unsqueeze", [mask, g.const([2])])  # (L, N, 1)
    minus_inf = g.const([-np.inf], np.float32)

    def masked_max() -> str:
        return g.op("ReduceMax", [g.op("Where", [mask3, y, minus_inf])], axes=[0], keepdims=0)

    def masked_mean() -> str:
        weights = g.op("Cast", [mask3], to=onnx.TensorProto.FLOAT)
        total = g.op("ReduceSum", [g.op("Mul", [y, weights]), g.const([0])], keepdims=0)
        count = g.op("ReduceSum", [weights, g.const([0])], keepdims=0)  # (N, 1)
        return g.op("Div", [total, g.op("Max", [count, g.const([1.0], np.float32)])])

    mode = pool.mode
    if mode == "last":
        return _last(g, y, lengths, pool.features, pool.num_directions)
    if mode == "max":
        return masked_max()
    if mode == "mean":
        return masked_mean()
    if mode == "concat":
        last = _last(g, y, lengths, pool.features, pool.num_directions)
        return g.op("Concat", [last, masked_max(), masked_mean()], axis=1)
    first, _, second = pool.attention  # Linear, Tanh, Linear
    scores = _linear(g, second, g.op("Tanh", [_linear(g, first, y)]))  # (L, N, 1)
    weights = g.op("Softmax", [g.op("Where", [mask3, scores, minus_inf])], axis=0)
    return g.op("ReduceSum", [g.op("Mul", [weights, y]), g.const([0])], keepdims=0)


def _head(g: Graph, head: nn.Sequential, x: str) -> str:
    for module in head:
        if isinstance(module, nn.Linear):
            x = _linear(g, module, x)
        elif isinstance(module, nn.ReLU):
            x = g.op("Relu", [x])
        elif not isinstance(module, nn.Dropout):
            raise ExportError(f"TextClassifier head: a {type(module).__name__} is not exported")
    return x


def _ngram_scores(g: Graph, bag: nn.Module, ids: str, lengths: str) -> str:
    """``NgramBag`` over ids (N, L): hashed n-gram features, idf-weighted sum / its L2 norm
    -> (N, C)."""
    from rnnkit.layers.ngram_bag import MOD, PRIME

    steps = g.op("Gather", [g.op("Shape", [ids]), g.const(1)])
    time = g.op("Unsqueeze", [g.op("Range", [g.const(0), steps, g.const(1)]), g.const([0])])
    ends = g.op("Unsqueeze", [lengths, g.const([1])])  # (N, 1)
    features, masks = [ids], [g.op("Less", [time, ends])]
    code = ids
    for k in range(2, bag.order + 1):
        tail = g.op("Slice", [ids, g.const([k - 1]), g.const([2**62]), g.const([1])])
        head = g.op("Slice", [code, g.const([0]), g.const([-1]), g.const([1])])
        code = g.op("Mod", [g.op("Add", [g.op("Mul", [head, g.const([PRIME])]), tail]),
                            g.const([MOD])])  # fmt: skip
        bucket = g.op("Mod", [code, g.const([bag.buckets])])
        features.append(g.op("Add", [bucket, g.const([bag.vocab_size])]))
        start = g.op("Slice", [time, g.const([0]), g.const([-(k - 1)]), g.const([1])])
        masks.append(g.op("LessOrEqual", [g.op("Add", [start, g.const([k])]), ends]))
    feature = g.op("Concat", features, axis=1)  # (N, F)
    mask = g.op("Cast", [g.op("Concat", masks, axis=1)], to=onnx.TensorProto.FLOAT)
    idf = g.op("Gather", [g.weight("ngram_idf", bag.idf.detach().float().numpy()), feature])
    weights = g.op("Mul", [mask, idf])  # (N, F): idf inside the text, 0 outside
    rows = g.op("Gather", [g.weight("ngram_weight", bag.weight.detach().numpy()), feature])
    summed = g.op("ReduceSum", [g.op("Mul", [rows, g.op("Unsqueeze", [weights, g.const([2])])]),
                                g.const([1])], keepdims=0)  # fmt: skip
    square = g.op("ReduceSum", [g.op("Mul", [weights, weights]), g.const([1])], keepdims=1)
    norm = g.op("Max", [g.op("Sqrt", [square]), g.const([1.0], np.float32)])  # (N, 1)
    return g.op("Div", [summed, norm])


def _member_logits(g: Graph, model: nn.Module, ids: str, lengths: str) -> str:
    """One ``TextClassifier``'s scores (N, C) from the shared inputs."""
    if model.bilm is not None:
        raise ExportError("TextClassifier with biLM features is not exported (the biLM reads "
                          "characters through a second network)")  # fmt: skip
    specs = [
        layer_spec(layer, f"TextClassifier layers.{k}") for k, layer in enumerate(model.layers)
    ]
    deep_ids, deep_lengths = ids, lengths
    limit = model.config.encoder_length
    if limit is not None:  # the encoder reads the first T tokens, the n-gram bag all of them
        deep_ids = g.op("Slice", [ids, g.const([0]), g.const([limit]), g.const([1])])
        deep_lengths = g.op("Min", [lengths, g.const([limit])])
    embed = g.weight("embedding", model.embed.weight.detach().numpy())
    x = g.op("Gather", [embed, g.op("Transpose", [deep_ids], perm=[1, 0])])  # (L', N, E)
    lens = g.op("Cast", [deep_lengths], to=onnx.TensorProto.INT32)
    for layer, spec in zip(model.layers, specs):
        x, _ = recurrent_nodes(g, layer, spec, x, lens, None)
    logits = _head(g, model.head, _pool(g, model.pool, x, deep_lengths))
    if model.ngrams is not None:
        logits = g.op("Add", [logits, _ngram_scores(g, model.ngrams, ids, lengths)])
    return logits


def _combine(g: Graph, logits: list[str], multi_label: bool, weights: list[float]) -> str:
    """An ensemble's scores, as ``rnnkit.models.ensemble.combine``: the log of the members'
    weighted mean probability (multi-class), or the logit of it (multi-label)."""
    squash = (lambda z: g.op("Sigmoid", [z])) if multi_label else (
        lambda z: g.op("Softmax", [z], axis=-1))  # fmt: skip
    p = g.op("Sum", [g.op("Mul", [squash(z), g.const([w], np.float32)])
                     for z, w in zip(logits, weights, strict=True)])  # fmt: skip
    if not multi_label:
        return g.op("Log", [p])
    return g.op("Sub", [g.op("Log", [p]), g.op("Log", [g.op("Sub", [g.const([1.0], np.float32),
                                                                    p])])])  # fmt: skip


def classifier_graph(model: nn.Module) -> onnx.ModelProto:
    """``model.onnx`` of a ``TextClassifier`` or a ``ClassifierEnsemble`` (every member in the
    one graph, their probabilities averaged)."""
    c = model.config
    kind = type(model).__name__
    if kind not in ("TextClassifier", "ClassifierEnsemble"):
        raise ExportError(f"a {kind} is not exported (export a TextClassifier or an ensemble)")
    g = Graph("rnnkit_text_classifier")
    ids = g.input("input_ids", INT64, ["N", "L"])
    lengths = g.input("lengths", INT64, ["N"])
    if kind == "TextClassifier":
        logits = _member_logits(g, model, ids, lengths)
    else:
        members = [_member_logits(g, m, ids, lengths) for m in model.members]
        if model.linear is not None:  # the fitted linear model: its n-gram scores and bias
            bias = g.weight("linear_bias", model.linear.bias.detach().numpy())
            members.append(g.op("Add", [_ngram_scores(g, model.linear, ids, lengths), bias]))
        logits = _combine(g, members, c.multi_label, model.member_weights().tolist())
    probs = g.op("Sigmoid", [logits]) if c.multi_label else g.op("Softmax", [logits], axis=-1)
    g.output(logits, "logits", FLOAT, ["N", c.num_classes])
    g.output(probs, "probabilities", FLOAT, ["N", c.num_classes])
    return g.model()


def classifier_graphs(model: nn.Module) -> dict[str, onnx.ModelProto]:
    """Every graph of an exported classifier by file name."""
    return {"model.onnx": classifier_graph(model)}
