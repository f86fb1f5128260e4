"""A Keras sequence tagger -> rnnkit's ``SequenceTagger`` (softmax output, no CRF) and its
word table.

Accepted shape (Dropout / SpatialDropout1D anywhere between, dropped at inference):

    Embedding(mask_zero=True) -> recurrent layers returning sequences, all of one size
    -> Dense(T, softmax | linear) or TimeDistributed(Dense(...))

The tagger outputs emission scores (logits); their softmax is what Keras returns at every true
token, and both pick the same tag. The tagger's word table reserves id 0 for padding and id 1
for unknown words, as Keras' ``TextVectorization`` does, so the ids stay as they are when the
unknown-word id is 1.
"""

from __future__ import annotations

from typing import Any

import torch

from rnnkit.data.vocab import Vocab
from rnnkit.interop.keras.model import KerasModel
from rnnkit.interop.keras.task_shape import copy_encoder, task_shape, vocabulary
from rnnkit.models.tagger import SequenceTagger

PAD, UNK = "<pad>", "<unk>"  # the tagger's table specials (rnnkit.tasks.tag.TABLE_SPECIALS)


def keras_tagger(
    model: KerasModel, vocab: list[str], oov_id: int = 1
) -> tuple[SequenceTagger, dict[str, Any]]:
    """The ``SequenceTagger`` computing what ``model`` computes, and its tables
    (``{"words": ..., "chars": ...}``, as ``TaggingEncoder.to_dict`` writes them)."""
    shape = task_shape(model, "sequence tagger", mask_zero=True)
    encoder = shape.encoder_options()
    if not shape.recurrent[-1].return_sequences:
        raise shape.error("the last recurrent layer must return sequences")
    heads = shape.heads()
    if len(shape.after) != 1 or len(heads) != 1:
        raise shape.error("it must end with one Dense (or TimeDistributed(Dense)) layer")
    if heads[0].activation not in ("softmax", "linear"):
        raise shape.error(f"the output activation {heads[0].activation!r} is not softmax/linear")
    sizes = encoder.pop("hidden_sizes")
    if len(set(sizes)) != 1:
        raise shape.error("the recurrent layers must all have one size")
    tokens, rows = vocabulary(shape, vocab, oov_id, [(PAD, 0), (UNK, oov_id)])
    tagger = SequenceTagger(
        len(tokens),
        num_tags=heads[0].linear.out_features,
        num_chars=0,
        embedding_size=shape.embedding.embed.embedding_dim,
        hidden_size=sizes[0],
        crf=False,
        dropout=0.0,
        word_dropout=0.0,
        unk_id=1,
        **encoder,
    )
    with torch.no_grad():
        tagger.embed.weight.copy_(shape.embedding.embed.weight[rows])
        copy_encoder([tagger.encoder], shape)
        tagger.emit.load_state_dict(heads[0].linear.state_dict())
    tables = {
        "words": Vocab(tokens, (PAD, UNK)).to_dict(),
        "chars": Vocab([PAD, UNK], (PAD, UNK)).to_dict(),
    }
    return tagger.eval(), tables
