"""Sequence to sequence recipe: parallel text -> tokenizers -> encoder-decoder -> model directory.

``train_translator`` reads ``source<TAB>target`` files (translation, or dialogue as
``utterance<TAB>reply``), masks placeholders (``rnnkit.data.placeholders``), trains subword BPE
(one vocabulary for both sides by default) or word tokenizers, and trains a ``Seq2Seq`` with
teacher forcing on length-bucketed batches, writing ``OUT/model`` whenever the validation loss
improves. Decoding and scoring are in ``rnnkit.tasks.translator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rnnkit.config import Config
from rnnkit.data import Tokenizer, build_tokenizer
from rnnkit.data.batching import pad_sequences
from rnnkit.data.parallel import ParallelExample, read_parallel
from rnnkit.data.placeholders import mask_placeholders
from rnnkit.models import Seq2Seq
from rnnkit.models.io import save_model_dir
from rnnkit.tasks.batches import Batches, shard_examples
from rnnkit.tasks.recipe import fit, split_data
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist


@dataclass
class TranslateDataConfig(Config):
    """Where the pairs come from and how they become token ids.

    Fields:
        data / valid: ``source<TAB>target`` files; without ``valid`` a seeded ``valid_fraction``
            of the training pairs is held out.
        level: ``bpe`` (byte-level BPE: exact detokenization, no unknown words) or ``word``
            (whitespace-separated words; output words are joined by spaces).
        vocab_size: BPE vocabulary size (per side when not shared); min_freq and max_vocab apply
            to word vocabularies.
        share_vocab: one tokenizer trained on both sides (needed for shared embeddings).
        placeholders: mask ``%s``, ``{name}``, ``<b>``, numbers ... and restore them after decoding.
        max_source_length / max_target_length: training pairs with more tokens are skipped.
        eval_batch_size: batch size for validation and translation.
        no_repeat_ngram_size: the beam search rule translations use unless told otherwise: no
            n-gram of target tokens twice (0: off); it stops the loops a briefly trained model
            falls into on text unlike its training data.
        no_adjacent_repeats: the beam search rule that forbids saying a phrase (1 to 8 tokens
            starting a word, with a letter) twice in a row, unless told otherwise.
    """

    data: str | None = None
    valid: str | None = None
    valid_fraction: float = 0.05
    level: str = "bpe"
    vocab_size: int = 4000
    min_freq: int = 1
    max_vocab: int | None = 50000
    share_vocab: bool = True
    placeholders: bool = True
    max_source_length: int = 150
    max_target_length: int = 150
    eval_batch_size: int = 64
    no_repeat_ngram_size: int = 3
    no_adjacent_repeats: bool = True


LEVELS = ("bpe", "word")


def train_tokenizer(cfg: TranslateDataConfig, texts: Sequence[str]) -> Tokenizer:
    """A tokenizer of ``cfg.level`` trained on ``texts`` (one sentence each)."""
    if cfg.level not in LEVELS:
        raise ValueError(f"TranslateDataConfig: level must be one of {LEVELS}, got {cfg.level!r}")
    text = "\n".join(texts) + "\n"
    if cfg.level == "bpe":
        return build_tokenizer("bpe", text, vocab_size=cfg.vocab_size)
    return build_tokenizer("word", text, min_freq=cfg.min_freq, max_size=cfg.max_vocab)


def mask_pair(example: ParallelExample, placeholders: bool) -> tuple[str, str | None, list[str]]:
    """(source, target or None, table) with placeholders masked (``placeholders=True``)."""
    if not placeholders:
        return example.source, example.target, []
    source, table = mask_placeholders(example.source)
    target = None if example.target is None else mask_placeholders(example.target, table)[0]
    return source, target, table


class TranslationEncoder:
    """Pairs -> padded id tensors, with the tokenizers and options of a model.

    Source ids end with ``<eos>``; the decoder reads ``<eos> y_1 .. y_T`` (``<eos>`` doubles as
    the start symbol) and predicts ``y_1 .. y_T <eos>``.
    """

    def __init__(self, source: Tokenizer, target: Tokenizer, cfg: TranslateDataConfig) -> None:
        self.source, self.target, self.cfg = source, target, cfg

    def mask(self, example: ParallelExample) -> tuple[str, str | None, list[str]]:
        """(masked source, masked target or None, placeholder table)."""
        return mask_pair(example, self.cfg.placeholders)

    def source_ids(self, masked_source: str) -> list[int]:
        return [*self.source.encode(masked_source), self.source.eos_id]

    def item(self, example: ParallelExample) -> tuple[list[int], list[int]]:
        source, target, _ = self.mask(example)
        assert target is not None
        return self.source_ids(source), self.target.encode(target)

    def fits(self, item: tuple[list[int], list[int]]) -> bool:
        source, target = item
        cfg = self.cfg
        return len(source) <= cfg.max_source_length and len(target) < cfg.max_target_length

    def collate_sources(self, sources: list[list[int]]) -> dict[str, torch.Tensor]:
        tokens, lengths = pad_sequences(sources, pad=self.source.eos_id)
        return {"source": tokens, "source_lengths": lengths}

    def collate(self, items: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
        batch = self.collate_sources([s for s, _ in items])
        eos = self.target.eos_id
        target_in, _ = pad_sequences([[eos, *t] for _, t in items], pad=eos)
        target_out, _ = pad_sequences([[*t, eos] for _, t in items], pad=-100)
        return {**batch, "target_in": target_in, "target_out": target_out}

    def batches(
        self, examples: Sequence[ParallelExample], batch_size: int, shuffle: bool, seed: int = 0
    ) -> Batches:
        items = [it for it in (self.item(e) for e in examples) if self.fits(it)]
        if not items:
            raise ValueError("no pair fits max_source_length/max_target_length")
        lengths = [len(s) + len(t) for s, t in items]
        return Batches(items, self.collate, lengths, batch_size, shuffle, seed)

    def files(self) -> dict[str, Any]:
        """Extra JSON files of the model directory (the source tokenizer when not shared)."""
        return {} if self.cfg.share_vocab else {"source_tokenizer": self.source.to_dict()}


def build_translator(
    cfg: TranslateDataConfig, model_options: dict[str, Any], train: list[ParallelExample],
    seed: int,
) -> tuple[Seq2Seq, TranslationEncoder]:  # fmt: skip
    """A fresh model and its encoder (tokenizers trained on the masked training pairs)."""
    masked = [mask_pair(e, cfg.placeholders) for e in train]
    sources = [s for s, _, _ in masked]
    targets = [t for _, t, _ in masked if t is not None]
    if cfg.share_vocab:
        source = target = train_tokenizer(cfg, sources + targets)
    else:
        source, target = train_tokenizer(cfg, sources), train_tokenizer(cfg, targets)
    if model_options.get("copy") and not cfg.share_vocab:
        raise ValueError(
            "translate: --model.copy (on by default) needs one shared vocabulary "
            "(--data.share_vocab=true), so that source tokens are target tokens; with separate "
            "vocabularies add --model.copy=false"
        )
    torch.manual_seed(seed)
    options = {**model_options, "bos_id": target.eos_id, "unk_id": target.unk_id}
    model = Seq2Seq(source.vocab_size, target.vocab_size, **options)
    return model, TranslationEncoder(source, target, cfg)


def train_translator(
    data: TranslateDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train an encoder-decoder; ``OUT/model`` holds the best one by validation loss."""
    out_dir = Path(out_dir)
    dist.init_from_env()
    train, valid = split_data(data, read_parallel, trainer.seed)
    model, encoder = build_translator(data, model_options, train, trainer.seed)
    train_batches = encoder.batches(shard_examples(train), trainer.batch_size, True, trainer.seed)
    valid_batches = encoder.batches(valid, data.eval_batch_size, False)
    meta = {"task": "translate", "data": data.to_dict()}

    def export(directory: Path) -> None:
        save_model_dir(directory, model, encoder.target, meta, files=encoder.files())

    return fit(model, train_batches, valid_batches, trainer, out_dir, export, resume)
