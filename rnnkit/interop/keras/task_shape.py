"""Reading a Keras model as one of rnnkit's task shapes: embedding -> recurrent layers -> head.

``TaskShape`` splits a plain chain of layers (Dropout and SpatialDropout1D skipped: they do
nothing at inference) into its embedding, its recurrent layers and the layers after them, and
checks the recurrent layers form one rnnkit encoder: one cell class, one set of cell options,
Bidirectional with concat or not at all, no ``go_backwards`` or ``return_state``, every layer
but the last returning sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rnnkit.cells.parameters import cell_parameters
from rnnkit.interop.keras.basic import Dense, Embedding
from rnnkit.interop.keras.errors import KerasImportError
from rnnkit.interop.keras.model import KerasModel
from rnnkit.interop.keras.recurrent import KerasRecurrent

SKIPPED = ("InputLayer", "Dropout", "SpatialDropout1D")
CELL_NAMES = {"ElmanCell": "rnn", "LSTMCell": "lstm", "GRUCell": "gru"}


@dataclass
class TaskShape:
    """The parts of a Keras model in task order."""

    task: str
    names: list[str]
    embedding: Embedding
    recurrent: list[KerasRecurrent]
    after: list[tuple[str, nn.Module]]

    def error(self, why: str) -> KerasImportError:
        return KerasImportError(
            f"the Keras model ({' -> '.join(self.names)}) does not fit rnnkit's {self.task} "
            f"model: {why}; rnnkit.from_keras gives the module itself"
        )

    def heads(self) -> list[Dense]:
        """The Dense layers after the encoder (and pooling)."""
        return [m for n, m in self.after if n in ("Dense", "TimeDistributed")]

    def cells(self) -> list[Any]:
        return [p.cells[0] for r in self.recurrent for p in r._directions()]

    def encoder_options(self) -> dict[str, Any]:
        """``make_layer`` arguments of the encoder, checked to be one rnnkit encoder."""
        cells = self.cells()
        bidirectional = self.recurrent[0].bidirectional
        if len({type(c).__name__ for c in cells}) != 1:
            raise self.error("the recurrent layers mix cell classes")
        for r in self.recurrent:
            if r.bidirectional != bidirectional or (bidirectional and r.merge_mode != "concat"):
                raise self.error("Bidirectional layers must all merge by concat")
            if r.return_state or (not r.bidirectional and r.layer.go_backwards):
                raise self.error("return_state and go_backwards have no task equivalent")
        if not all(r.return_sequences for r in self.recurrent[:-1]):
            raise self.error("every recurrent layer but the last must return sequences")
        options = _cell_options(cells[0])
        if any(_cell_options(c) != options for c in cells):
            raise self.error("the recurrent layers differ in activations, bias or reset_after")
        return {
            "cell": CELL_NAMES[type(cells[0]).__name__],
            "bidirectional": bidirectional,
            "num_layers": len(self.recurrent),
            "hidden_sizes": [c.hidden_size for c in cells[:: 2 if bidirectional else 1]],
            "cell_options": options,
        }


def _cell_options(cell: Any) -> dict[str, Any]:
    keys = ("activation", "recurrent_activation", "reset_after")
    options = {k: getattr(cell, k) for k in keys if hasattr(cell, k)}
    if not cell.bias:
        options["bias"] = False
    return options


def task_shape(model: KerasModel, task: str, mask_zero: bool | None) -> TaskShape:
    """Split ``model`` (a plain chain) into embedding, recurrent layers and the rest."""
    # Keras 3 records mask_zero's mask as a NotEqual node beside the chain
    nodes = [n for n in model.graph.nodes if n.class_name != "NotEqual"]
    for before, node in zip(nodes, nodes[1:]):
        if node.input != (before.name, 0, 0):
            raise KerasImportError(f"layer {node.name!r}: the model is not a plain chain")
    if model.graph.outputs != [(nodes[-1].name, 0, 0)]:
        raise KerasImportError("a task model has one output, from its last layer")
    kept = [(n.class_name, model.layers[model.keys[n.name]]) for n in nodes]
    kept = [(c, m) for c, m in kept if c not in SKIPPED]
    names = [c for c, _ in kept]
    recurrent = [m for _, m in kept if isinstance(m, KerasRecurrent)]
    shape = TaskShape(task, names, kept[0][1], recurrent, kept[1 + len(recurrent) :])  # type: ignore[arg-type]
    if names[0] != "Embedding":
        raise shape.error("it must start with an Embedding")
    if mask_zero is not None and shape.embedding.mask_zero != mask_zero:
        raise shape.error(f"its Embedding must have mask_zero={mask_zero}")
    if not recurrent or not all(
        isinstance(m, KerasRecurrent) for _, m in kept[1 : 1 + len(recurrent)]
    ):
        raise shape.error("the Embedding must be followed by the recurrent layers")
    return shape


def vocabulary(
    shape: TaskShape, vocab: list[str], oov_id: int, specials: list[tuple[str, int]]
) -> tuple[list[str], torch.Tensor]:
    """rnnkit's token list and, per rnnkit id, the Keras id (embedding row) it stands for.

    ``specials`` are rnnkit's special tokens with the Keras id each takes (the unknown-word id,
    or 0, Keras' padding id); the other Keras ids follow in their order.
    """
    rows = shape.embedding.embed.num_embeddings
    if len(vocab) != rows:
        raise KerasImportError(
            f"the vocabulary has {len(vocab)} tokens, the Keras Embedding {rows} rows"
        )
    if not 0 < oov_id < rows:
        raise KerasImportError(f"oov id {oov_id} is not a row of the Embedding (1..{rows - 1})")
    keep = [i for i in range(1, rows) if i != oov_id]
    tokens = [token for token, _ in specials] + [vocab[i] for i in keep]
    if len(set(tokens)) != len(tokens):
        raise KerasImportError("the vocabulary repeats a token (or holds an rnnkit special)")
    return tokens, torch.tensor([row for _, row in specials] + keep)


@torch.no_grad()
def copy_encoder(layers: list[nn.Module], shape: TaskShape) -> None:
    """The Keras recurrent layers' parameters into an rnnkit encoder's cells, in order.

    Cells inside stacks list no parameters of their own (``cell.state_dict()`` is empty), so
    they are copied by the cells' local names, every name and shape checked.
    """
    targets = [c for layer in layers for c in layer.cells]
    for target, source in zip(targets, shape.cells(), strict=True):
        into, values = cell_parameters(target), cell_parameters(source)
        if sorted(into) != sorted(values) or not into:
            raise KerasImportError(
                f"cannot copy {type(source).__name__} parameters {sorted(values)} into "
                f"{type(target).__name__} parameters {sorted(into)}"
            )
        for name, param in into.items():
            if param.shape != values[name].shape:
                raise KerasImportError(
                    f"{name}: the Keras layer gives shape {tuple(values[name].shape)}, "
                    f"the rnnkit cell expects {tuple(param.shape)}"
                )
            param.copy_(values[name])
