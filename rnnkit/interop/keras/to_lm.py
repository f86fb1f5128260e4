"""A Keras language model -> rnnkit's ``LanguageModel`` and its tokenizer.

Accepted shape (Dropout / SpatialDropout1D anywhere between, dropped at inference):

    Embedding(mask_zero=False) -> one-way recurrent layers returning sequences, of one size
    -> Dense(V, softmax | linear) or TimeDistributed(Dense(...))

The vocabulary is a permutation of Keras': rnnkit's ``<unk>`` is the Keras unknown-word id and
``<eos>`` is Keras id 0, so every next-token distribution is Keras' with the tokens renamed
(perplexities agree on the same ids). A Keras LM that masks id 0 skips those steps, which an
rnnkit LM does not: it is refused.
"""

from __future__ import annotations

import torch

from rnnkit.data import TextTokenizer
from rnnkit.data.vocab import EOS, UNK, Vocab
from rnnkit.interop.keras.model import KerasModel
from rnnkit.interop.keras.task_shape import copy_encoder, task_shape, vocabulary
from rnnkit.models.language_model import LanguageModel


def keras_language_model(
    model: KerasModel, vocab: list[str], oov_id: int = 1, lowercase: bool = True
) -> tuple[LanguageModel, TextTokenizer]:
    """The ``LanguageModel`` computing what ``model`` computes, and its tokenizer."""
    shape = task_shape(model, "language", mask_zero=False)
    encoder = shape.encoder_options()
    if encoder.pop("bidirectional"):
        raise shape.error("a language model reads one way (no Bidirectional)")
    if not shape.recurrent[-1].return_sequences:
        raise shape.error("the last recurrent layer must return sequences")
    heads = shape.heads()
    if len(shape.after) != 1 or len(heads) != 1:
        raise shape.error("it must end with one Dense (or TimeDistributed(Dense)) layer")
    if heads[0].activation not in ("softmax", "linear"):
        raise shape.error(f"the output activation {heads[0].activation!r} is not softmax/linear")
    if heads[0].linear.bias is None:
        raise shape.error("the output Dense layer has no bias (rnnkit's decoder has one)")
    sizes = encoder.pop("hidden_sizes")
    if len(set(sizes)) != 1:
        raise shape.error("the recurrent layers must all have one size")
    tokens, rows = vocabulary(shape, vocab, oov_id, [(UNK, oov_id), (EOS, 0)])
    lm = LanguageModel(
        len(tokens),
        embedding_size=shape.embedding.embed.embedding_dim,
        hidden_size=sizes[0],
        tie_weights=False,
        dropout=0.0,
        init_range=None,
        **encoder,
    )
    with torch.no_grad():
        lm.embed.weight.copy_(shape.embedding.embed.weight[rows])
        copy_encoder(list(lm.layers), shape)
        lm.decoder.weight.copy_(heads[0].linear.weight[rows])
        lm.decoder.bias.copy_(heads[0].linear.bias[rows])
    return lm.eval(), TextTokenizer(Vocab(tokens), lowercase)
