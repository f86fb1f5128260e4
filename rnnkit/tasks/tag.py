"""Sequence labelling recipe: CoNLL files -> vocabularies -> tagger -> model directory.

``train_tagger`` reads token/tag columns, builds word, character and tag tables, optionally
loads pretrained word vectors, trains a ``SequenceTagger`` (BiLSTM with character features and
a CRF or softmax output) on length-bucketed batches and writes ``OUT/model`` (config, weights,
``vocab.json``) whenever validation improves. ``evaluate_tagger`` reports token accuracy and,
for entity tags (BIO/BIOES), span precision/recall/F1 by seqeval's rules; ``predict_tagger``
returns the tags of each sentence and ``write_conll`` adds them as a column.

With ``bilm`` (a trained biLM's directory, ``rnnkit.tasks.bilm``) the tagger also reads the
biLM's vectors of each sentence's tokens; the biLM's weights and tables are saved with the
tagger (``bilm_vocab.json``), so the tagger loads and predicts on its own.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.config import Config
from rnnkit.data.batching import pad_char_blocks, pad_sequences
from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.data.conll import TaggedSentence, read_conll
from rnnkit.data.embeddings import build_embedding_matrix, load_word_vectors
from rnnkit.data.labels import LabelVocab, unseen_labels
from rnnkit.data.vocab import UNK, Vocab
from rnnkit.metrics import tagging_metrics
from rnnkit.models import SequenceTagger
from rnnkit.models.io import load_model_dir, read_model_file, save_model_dir
from rnnkit.tasks.batches import Batches, shard_examples
from rnnkit.tasks.bilm import load_bilm
from rnnkit.tasks.recipe import fit, split_data
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist
from rnnkit.training.evaluation import model_device, to_device

PAD = "<pad>"
TABLE_SPECIALS = (PAD, UNK)  # id 0 pads, id 1 is the unknown word/character


@dataclass
class TagDataConfig(Config):
    """Where the tagged sentences come from and how they become ids.

    Fields:
        data / valid: CoNLL files (``token<TAB>tag``, blank line between sentences); without
            ``valid`` a seeded ``valid_fraction`` of the training sentences is held out.
        token_column / tag_column: which columns hold the token and the gold tag (negative
            indices count from the end).
        lowercase: look words up lower-cased (the character features still see the case).
        min_freq, max_vocab: the word table; max_word_length: characters kept per word.
        embeddings: word2vec/GloVe text file to initialise the word embeddings.
        bilm: a trained biLM (run or model directory) whose vectors of the tokens are added to
            the word features (``model.bilm_mode``, ``bilm_layer``, ``bilm_finetune``).
        scheme: ``auto``, ``bio``, ``bioes`` or ``none`` (token accuracy only) for evaluation.
        eval_batch_size: batch size for validation and prediction.
    """

    data: str | None = None
    valid: str | None = None
    valid_fraction: float = 0.1
    token_column: int = 0
    tag_column: int = -1
    lowercase: bool = False
    min_freq: int = 1
    max_vocab: int | None = 100000
    max_word_length: int = 30
    embeddings: str | None = None
    bilm: str | None = None
    scheme: str = "auto"
    eval_batch_size: int = 64


class TaggingEncoder:
    """Sentences -> padded word, character and tag tensors (and the biLM's inputs, with a
    ``bilm`` table), with a model's tables."""

    def __init__(
        self,
        words: Vocab,
        chars: Vocab,
        tags: LabelVocab,
        cfg: TagDataConfig,
        bilm: BiLMVocab | None = None,
    ) -> None:
        self.words, self.chars, self.tags, self.cfg = words, chars, tags, cfg
        self.bilm = bilm

    @classmethod
    def build(cls, sentences: Sequence[TaggedSentence], cfg: TagDataConfig) -> TaggingEncoder:
        norm = str.lower if cfg.lowercase else str
        words = Counter(norm(t) for s in sentences for t in s.tokens)
        chars = Counter(c for s in sentences for t in s.tokens for c in t)
        return cls(
            Vocab.from_counts(words, cfg.min_freq, cfg.max_vocab, TABLE_SPECIALS),
            Vocab.from_counts(chars, 1, None, TABLE_SPECIALS),
            LabelVocab.build(tag for s in sentences for tag in s.tags),
            cfg,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"words": self.words.to_dict(), "chars": self.chars.to_dict()}

    def item(self, sentence: TaggedSentence) -> dict[str, Any]:
        norm = str.lower if self.cfg.lowercase else str
        bilm = {} if self.bilm is None else {"bilm": self.bilm.encode(sentence.tokens)}
        return {
            **bilm,
            "words": self.words.to_ids(norm(t) for t in sentence.tokens),
            # padded once here, not at every epoch: (L, longest word) ids and (L,) lengths
            "chars": pad_sequences(
                [self.chars.to_ids(t[: self.cfg.max_word_length]) or [0] for t in sentence.tokens]
            ),
            "tags": [self.tags.to_id(t) if t in self.tags else 0 for t in sentence.tags],
        }

    def collate(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        words, lengths = pad_sequences([it["words"] for it in items])
        chars, char_lengths = pad_char_blocks([it["chars"] for it in items], words.shape[1])
        batch = {"words": words, "lengths": lengths, "chars": chars, "char_lengths": char_lengths}
        if all(it["tags"] for it in items):
            batch["tags"] = pad_sequences([it["tags"] for it in items])[0]
        if self.bilm is not None:
            batch["bilm"] = self.bilm.collate([it["bilm"] for it in items])
        return batch

    def batches(
        self, sentences: Sequence[TaggedSentence], batch_size: int, shuffle: bool, seed: int = 0
    ) -> Batches:
        items = [self.item(s) for s in sentences]
        return Batches(items, self.collate, [len(s.tokens) for s in sentences], batch_size,
                       shuffle, seed)  # fmt: skip


def _read(cfg: TagDataConfig, path: str, tagged: bool = True) -> list[TaggedSentence]:
    return read_conll(path, cfg.token_column, cfg.tag_column if tagged else None)


def train_tagger(
    data: TagDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train a sequence tagger; ``OUT/model`` holds the best one by ``trainer.monitor``:
    validation loss (the default), or ``accuracy`` (and span ``f1``, ``precision``, ``recall``
    with an entity scheme) of its tags of the validation sentences."""
    out_dir = Path(out_dir)
    dist.init_from_env()
    train, valid = split_data(data, lambda path: _read(data, path), trainer.seed)
    encoder = TaggingEncoder.build(train, data)
    bilm = None
    if data.bilm:
        bilm, encoder.bilm, _ = load_bilm(data.bilm)
    unseen = unseen_labels(encoder.tags.labels, [t for s in valid for t in s.tags])
    if unseen and dist.rank() == 0:
        print(
            "note: validation tags never seen in training (sentences skipped for the loss): "
            + ", ".join(f"{k} ({v})" for k, v in sorted(unseen.items())),
            file=sys.stderr,
        )
    valid = [s for s in valid if all(t in encoder.tags for t in s.tags)]
    torch.manual_seed(trainer.seed)
    options = {**model_options, "num_tags": len(encoder.tags), "unk_id": 1}
    if model_options.get("num_chars", 1):  # char features unless switched off with 0
        options["num_chars"] = len(encoder.chars)
    if bilm is not None:
        options["bilm_config"] = bilm.get_config()
    model = SequenceTagger(len(encoder.words), **options)
    if model.bilm is not None and bilm is not None:
        model.bilm.load_bilm(bilm)
    if data.embeddings:
        _load_embeddings(model, encoder.words.tokens, data.embeddings)
    train_batches = encoder.batches(shard_examples(train), trainer.batch_size, True, trainer.seed)
    valid_batches = encoder.batches(valid, data.eval_batch_size, False)
    meta = {"task": "tag", "tags": encoder.tags.to_dict(), "data": data.to_dict()}

    def export(directory: Path) -> None:
        files = {"vocab": encoder.to_dict()}
        if encoder.bilm is not None:
            files["bilm_vocab"] = encoder.bilm.to_dict()
        save_model_dir(directory, model, None, meta, files=files)

    def score(m: nn.Module) -> dict[str, float]:  # as ``evaluate`` scores
        pred = tag_sentences(m, encoder, valid)  # type: ignore[arg-type]
        metrics = tagging_metrics([s.tags for s in valid], pred, data.scheme)
        return {key: float(metrics[key]) for key in ("accuracy", "precision", "recall", "f1")
                if key in metrics}  # fmt: skip

    return fit(model, train_batches, valid_batches, trainer, out_dir, export, resume, score)


def _load_embeddings(model: SequenceTagger, tokens: list[str], path: str) -> None:
    vectors = load_word_vectors(path, tokens)
    matrix, found = build_embedding_matrix(tokens, vectors, model.config.embedding_size)
    with torch.no_grad():
        model.embed.weight.copy_(matrix)
    if dist.rank() == 0:
        print(f"embeddings: {found}/{len(tokens)} words found in {path}")


def load_tagger(directory: Path) -> tuple[SequenceTagger, TaggingEncoder]:
    """A trained tagger and the encoder with its tables."""
    model, _, meta = load_model_dir(Path(directory))
    if meta.get("task") != "tag":
        raise ValueError(f"{directory}: not a sequence tagger (task {meta.get('task')!r})")
    tables = read_model_file(Path(directory), "vocab")
    encoder = TaggingEncoder(
        Vocab.from_dict(tables["words"]),
        Vocab.from_dict(tables["chars"]),
        LabelVocab.from_dict(meta["tags"]),
        TagDataConfig.from_dict(meta["data"]),
    )
    if model.bilm is not None:
        encoder.bilm = BiLMVocab.from_dict(read_model_file(Path(directory), "bilm_vocab"))
    return model, encoder


@torch.no_grad()
def tag_sentences(
    model: SequenceTagger, encoder: TaggingEncoder, sentences: Sequence[TaggedSentence]
) -> list[list[str]]:
    """Predicted tag strings for each sentence, in order."""
    names = encoder.tags.labels
    untagged = [TaggedSentence(s.tokens, [], s.rows) for s in sentences]
    out: list[list[str]] = []
    device = model_device(model)
    for batch in encoder.batches(untagged, encoder.cfg.eval_batch_size, shuffle=False):
        out.extend([names[i] for i in path] for path in model.predict(to_device(batch, device)))
    return out


def predict_tagger(
    directory: Path, path: str | Path
) -> tuple[list[TaggedSentence], list[list[str]]]:
    """Read ``path`` (``-``: stdin; tokens from the model's token column, other columns kept)
    and tag it: ``(sentences, predicted tags)``."""
    model, encoder = load_tagger(directory)
    sentences = _read(encoder.cfg, str(path), tagged=False)
    return sentences, tag_sentences(model, encoder, sentences)


def evaluate_tagger(directory: Path, path: str | Path) -> dict[str, Any]:
    """Token accuracy, and span precision/recall/F1 for entity tags, on a CoNLL file."""
    model, encoder = load_tagger(directory)
    sentences = _read(encoder.cfg, str(path))
    pred = tag_sentences(model, encoder, sentences)
    metrics = tagging_metrics([s.tags for s in sentences], pred, encoder.cfg.scheme)
    metrics["sentences"] = len(sentences)
    metrics["tokens"] = sum(len(s.tokens) for s in sentences)
    return metrics
