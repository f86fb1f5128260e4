"""A Keras text classifier -> rnnkit's ``TextClassifier`` and its tokenizer.

Accepted shape (Dropout / SpatialDropout1D anywhere between, dropped at inference):

    Embedding(mask_zero=True) -> recurrent layers (one rnnkit encoder, see ``task_shape``)
    -> [GlobalMaxPooling1D | GlobalAveragePooling1D, after return_sequences=True]
    -> [Dense(relu)] -> Dense(C, softmax | sigmoid | linear)

The last recurrent layer returning one vector is ``pooling="last"``; average pooling is
``"mean"`` (over true steps, as Keras with ``mask_zero``); max pooling is ``"max"`` for
one-way layers only (Keras' Bidirectional puts zeros at masked steps, which its max then sees).
Sigmoid outputs make a multi-label classifier; the model outputs logits, whose softmax or
sigmoid is what Keras returns.

Token ids: rnnkit's ``<unk>`` (and ``<eos>``, a line break) take the Keras unknown-word row;
Keras' padding row 0 is not needed (rnnkit passes lengths instead).
"""

from __future__ import annotations

import torch

from rnnkit.data import TextTokenizer
from rnnkit.data.vocab import EOS, UNK, Vocab
from rnnkit.interop.keras.model import KerasModel
from rnnkit.interop.keras.task_shape import copy_encoder, task_shape, vocabulary
from rnnkit.models.classifier import TextClassifier

POOLING = {"GlobalAveragePooling1D": "mean", "GlobalMaxPooling1D": "max"}


def keras_classifier(
    model: KerasModel, vocab: list[str], oov_id: int = 1, lowercase: bool = True
) -> tuple[TextClassifier, TextTokenizer]:
    """The ``TextClassifier`` computing what ``model`` computes, and its tokenizer.

    Args:
        model: from ``rnnkit.from_keras``.
        vocab: the Keras vocabulary, index = Keras token id (index 0 is padding).
        oov_id: the Keras id of unknown words (1 for ``TextVectorization``).
        lowercase: the tokenizer lower-cases text.
    """
    shape = task_shape(model, "text classifier", mask_zero=True)
    encoder = shape.encoder_options()
    rest = [name for name, _ in shape.after]
    pooling = "last"
    if shape.recurrent[-1].return_sequences:
        pooled = POOLING.get(rest[0]) if rest else None
        if pooled is None or (pooled == "max" and encoder["bidirectional"]):
            raise shape.error("returned sequences must be pooled (max only for one-way layers)")
        pooling, rest = pooled, rest[1:]
    heads = shape.heads()
    if rest != ["Dense"] * len(heads) or len(heads) not in (1, 2):
        raise shape.error("it must end with one or two Dense layers")
    if len(heads) == 2 and heads[0].activation != "relu":
        raise shape.error("a hidden Dense layer must use relu")
    final = heads[-1].activation
    if final not in ("softmax", "sigmoid", "linear"):
        raise shape.error(f"the output activation {final!r} is not softmax, sigmoid or linear")
    sizes = encoder.pop("hidden_sizes")
    if len(set(sizes[:-1] or sizes)) != 1:
        raise shape.error("the recurrent layers but the last must have one size")
    tokens, rows = vocabulary(shape, vocab, oov_id, [(UNK, oov_id), (EOS, oov_id)])
    classifier = TextClassifier(
        len(tokens),
        num_classes=heads[-1].linear.out_features,
        multi_label=final == "sigmoid",
        embedding_size=shape.embedding.embed.embedding_dim,
        hidden_size=sizes[0],
        last_hidden_size=sizes[-1],
        pooling=pooling,
        ff_size=heads[0].linear.out_features if len(heads) == 2 else 0,
        dropout=0.0,
        input_dropout=0.0,
        **encoder,
    )
    with torch.no_grad():
        classifier.embed.weight.copy_(shape.embedding.embed.weight[rows])
        copy_encoder(list(classifier.layers), shape)
        linears = [m for m in classifier.head if isinstance(m, torch.nn.Linear)]
        for target, head in zip(linears, heads, strict=True):
            target.load_state_dict(head.linear.state_dict())
    return classifier.eval(), TextTokenizer(Vocab(tokens), lowercase)
