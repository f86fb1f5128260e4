"""Text classification recipe: labelled files -> tokenizer -> classifier -> model directory.

``train_classifier`` reads TSV/JSONL training (and validation) files, builds a word-and-
punctuation tokenizer (or takes a pretrained language model's, whose encoder then initialises
the classifier, ULMFiT-style), optionally loads pretrained word vectors, trains a
``TextClassifier`` (with ``model.ensemble`` = K > 1, a ``ClassifierEnsemble`` of K) with
length-bucketed batches and writes ``OUT/model`` whenever validation improves.
``evaluate_classifier`` reports accuracy, macro-F1, a per-class report and the confusion
matrix; ``predict_classifier`` returns one label (or label set) per input text.

With ``bilm`` (a trained biLM's directory) the classifier also reads the biLM's vectors of the
tokens it sees (the tokenizer's token strings, so lower-cased by default), saved with it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.config import Config
from rnnkit.data import UNK, TextTokenizer, Tokenizer, WordTokenizer
from rnnkit.data.batching import pad_sequences
from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.data.embeddings import build_embedding_matrix, load_word_vectors
from rnnkit.data.labelled import TextExample, read_classification
from rnnkit.data.labels import LabelVocab, unseen_labels
from rnnkit.metrics import classification_metrics, multilabel_metrics
from rnnkit.models import ClassifierEnsemble, TextClassifier, make_classifier
from rnnkit.models.io import load_model_dir, read_model_file, save_model_dir
from rnnkit.tasks.batches import Batches, shard_examples
from rnnkit.tasks.bilm import load_bilm
from rnnkit.tasks.classify_pretrain import pretrain_language_model
from rnnkit.tasks.recipe import fit, split_data
from rnnkit.training import TrainerConfig, TrainResult
from rnnkit.training import distributed as dist
from rnnkit.training.evaluation import model_device, to_device


@dataclass
class ClassifyDataConfig(Config):
    """Where the labelled texts come from and how they become token ids.

    Fields:
        data / valid: training and validation files (TSV ``label<TAB>text``, JSONL with
            ``label``/``text``/optional ``title``); without ``valid`` a seeded ``valid_fraction``
            of the training examples is held out.
        format: ``auto`` (by suffix), ``tsv``, ``jsonl``; multi_label with label_separator (TSV).
        use_title: put a JSONL ``title`` before the text.
        lowercase, min_freq, max_vocab: the tokenizer; max_length keeps a text's first tokens
            only, for the whole model (``model.encoder_length`` limits the encoder alone).
        embeddings: word2vec/GloVe text file to initialise the embeddings.
        pretrained_lm: a trained rnnkit language model (run or model directory) whose tokenizer,
            embedding and recurrent layers start the classifier (train it with ``--level text``).
        bilm: a trained biLM (run or model directory) whose vectors of the tokens are added to the
            embeddings (``model.bilm_mode``, ``bilm_layer``, ``bilm_finetune``).
        unlabelled: plain text (or TSV/JSONL whose labels are ignored) to pretrain on: a language
            model of the classifier's sizes trains for ``pretrain_time`` seconds on it and the
            training texts, then starts the tokenizer, embedding and first layer's forward
            direction of every classifier (``rnnkit.tasks.classify_pretrain``).
        eval_batch_size: batch size for validation and prediction.
    """

    data: str | None = None
    valid: str | None = None
    valid_fraction: float = 0.1
    format: str = "auto"
    multi_label: bool = False
    label_separator: str = ","
    use_title: bool = True
    lowercase: bool = True
    min_freq: int = 1
    max_vocab: int | None = 50000
    max_length: int | None = 400
    embeddings: str | None = None
    pretrained_lm: str | None = None
    bilm: str | None = None
    unlabelled: str | None = None
    pretrain_time: float = 180.0
    eval_batch_size: int = 64


def example_text(example: TextExample, use_title: bool) -> str:
    """The text a classifier reads: title (if any and wanted), newline, body."""
    if use_title and example.title:
        return f"{example.title}\n{example.text}"
    return example.text


def _read(cfg: ClassifyDataConfig, path: str) -> list[TextExample]:
    return read_classification(path, cfg.format, cfg.multi_label, cfg.label_separator)


class ClassificationEncoder:
    """Texts and labels -> padded tensors (and the biLM's inputs, with a ``bilm`` table), with
    the tokenizer and label table of a model."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        labels: LabelVocab,
        cfg: ClassifyDataConfig,
        bilm: BiLMVocab | None = None,
    ) -> None:
        self.tokenizer, self.labels, self.cfg, self.bilm = tokenizer, labels, cfg, bilm

    def ids(self, example: TextExample) -> list[int]:
        ids = self.tokenizer.encode(example_text(example, self.cfg.use_title)) or [
            self.tokenizer.unk_id
        ]
        return ids[: self.cfg.max_length] if self.cfg.max_length else ids

    def tokens(self, example: TextExample) -> list[str]:
        """The token strings behind ``ids`` (unknown words as they are), for the biLM."""
        text = example_text(example, self.cfg.use_title)
        if isinstance(self.tokenizer, TextTokenizer):
            tokens = self.tokenizer.tokenize(text)
        elif isinstance(self.tokenizer, WordTokenizer):
            tokens = self.tokenizer.split(text)
        else:
            raise ValueError(
                f"ClassificationEncoder: biLM features need a word-level tokenizer (text or "
                f"word), got {self.tokenizer.level!r}"
            )
        tokens = tokens or [UNK]
        return tokens[: self.cfg.max_length] if self.cfg.max_length else tokens

    def target(self, example: TextExample) -> Any:
        known = [self.labels.to_id(label) for label in example.labels if label in self.labels]
        if self.cfg.multi_label:
            row = [0.0] * len(self.labels)
            for i in known:
                row[i] = 1.0
            return row
        return known[0] if known else -100  # -100: ignored by cross-entropy

    def collate(self, items: list[tuple[Any, ...]]) -> dict[str, torch.Tensor]:
        """Items are ``(ids, target)``, plus the biLM's encoding with a ``bilm`` table."""
        tokens, lengths = pad_sequences([it[0] for it in items], pad=self.tokenizer.unk_id)
        labels = torch.tensor([it[1] for it in items])
        batch = {"tokens": tokens, "lengths": lengths, "labels": labels}
        if self.bilm is not None:
            batch["bilm"] = self.bilm.collate([it[2] for it in items])
        return batch

    def batches(
        self, examples: Sequence[TextExample], batch_size: int, shuffle: bool, seed: int = 0
    ) -> Batches:
        items: list[tuple[Any, ...]] = [(self.ids(e), self.target(e)) for e in examples]
        if self.bilm is not None:
            bilm = self.bilm
            items = [(*it, bilm.encode(self.tokens(e))) for it, e in zip(items, examples)]
        lengths = [len(it[0]) for it in items]
        return Batches(items, self.collate, lengths, batch_size, shuffle, seed)


def _report_unseen(train: list[TextExample], valid: list[TextExample], name: str) -> None:
    seen = [label for e in train for label in e.labels]
    unseen = unseen_labels(seen, [label for e in valid for label in e.labels])
    if unseen and dist.rank() == 0:
        print(
            f"note: {name} has labels never seen in training (counted as errors): "
            + ", ".join(f"{k} ({v})" for k, v in sorted(unseen.items())),
            file=sys.stderr,
        )


def _from_language_model(
    directory: str, options: dict[str, Any]
) -> tuple[Tokenizer, dict[str, Any], torch.nn.Module]:
    lm, tokenizer, _ = load_model_dir(Path(directory))
    assert tokenizer is not None
    c = lm.config
    fixed = {
        "cell": c.cell, "embedding_size": c.embedding_size, "hidden_size": c.hidden_size,
        "num_layers": c.num_layers, "bidirectional": False, "cell_options": c.cell_options,
        "last_hidden_size": c.embedding_size if c.tie_weights else c.hidden_size,
    }  # fmt: skip
    return tokenizer, {**options, **fixed}, lm


Classifier = TextClassifier | ClassifierEnsemble


def members(model: Classifier) -> list[TextClassifier]:
    """The classifiers inside ``model``: an ensemble's members, or ``model`` itself."""
    if isinstance(model, ClassifierEnsemble):
        return [m for m in model.members if isinstance(m, TextClassifier)]
    return [model]


def build_classifier(
    cfg: ClassifyDataConfig,
    model_options: dict[str, Any],
    train: list[TextExample],
    seed: int,
    pretrained: Path | None = None,
) -> tuple[Classifier, Tokenizer, LabelVocab]:
    """A fresh classifier (an ensemble with ``ensemble`` > 1) with its tokenizer and label
    table; pretrained parts are loaded into every member: ``cfg.pretrained_lm`` (whose sizes
    the encoder takes) or ``pretrained``, a language model of the classifier's own sizes."""
    labels = LabelVocab.build(label for e in train for label in e.labels)
    lm = None
    if cfg.pretrained_lm:
        tokenizer, model_options, lm = _from_language_model(cfg.pretrained_lm, model_options)
    elif pretrained is not None:
        lm, lm_tokenizer, _ = load_model_dir(pretrained)
        assert lm_tokenizer is not None
        tokenizer = lm_tokenizer
    else:
        text = "\n".join(example_text(e, cfg.use_title) for e in train)
        tokenizer = TextTokenizer.train(text, cfg.min_freq, cfg.max_vocab, cfg.lowercase)
    torch.manual_seed(seed)
    model = make_classifier(
        tokenizer.vocab_size,
        **{**model_options, "num_classes": len(labels), "multi_label": cfg.multi_label},
    )
    for member in members(model):
        if lm is not None:
            member.load_language_model(lm)
    if cfg.embeddings:
        tokens = [tokenizer.id_to_token(i) for i in range(tokenizer.vocab_size)]
        vectors = load_word_vectors(cfg.embeddings, tokens)
        matrix, found = build_embedding_matrix(tokens, vectors, model.config.embedding_size)
        with torch.no_grad():
            for member in members(model):
                member.embed.weight.copy_(matrix)
        if dist.rank() == 0:
            print(f"embeddings: {found}/{len(tokens)} words found in {cfg.embeddings}")
    return model, tokenizer, labels


def fit_ngram_idf(
    model: Classifier, encoder: ClassificationEncoder, texts: list[TextExample]
) -> None:
    """Give every n-gram bag (each member's, and an ensemble's linear model) the inverse
    document frequencies of ``texts`` (the whole training set, on every rank;
    ``NgramBag.fit_idf``): counted once per feature layout, copied to the bags that share it.
    Nothing happens without a bag."""
    bags = [m.ngrams for m in members(model) if m.ngrams is not None]
    if getattr(model, "linear", None) is not None:
        bags.append(model.linear)  # type: ignore[union-attr]
    batches = encoder.batches(texts, encoder.cfg.eval_batch_size, False)
    counted: dict[tuple[int, int, int], nn.Module] = {}
    for bag in bags:
        layout = (bag.vocab_size, bag.buckets, bag.order)
        if layout in counted:
            bag.idf.copy_(counted[layout].idf)
        else:
            bag.fit_idf((b["tokens"], b["lengths"]) for b in batches)
            counted[layout] = bag


def fit_linear(model: Classifier, encoder: ClassificationEncoder, texts: list[TextExample]) -> None:
    """Fit an ensemble's linear model (``linear_weight`` > 0; its idf from ``fit_ngram_idf``)
    on ``texts``, the whole training set on every rank: L-BFGS to convergence
    (``NgramLogistic.fit``)."""
    linear = getattr(model, "linear", None)
    if linear is None:
        return
    start = time.monotonic()
    batches = list(encoder.batches(texts, encoder.cfg.eval_batch_size, False))
    linear.fit([(b["tokens"], b["lengths"]) for b in batches],
               torch.cat([b["labels"] for b in batches]))  # fmt: skip
    if dist.rank() == 0:
        print(f"linear model: fitted on {len(texts)} texts in {time.monotonic() - start:.1f} s")


def train_classifier(
    data: ClassifyDataConfig,
    model_options: dict[str, Any],
    trainer: TrainerConfig,
    out_dir: Path,
    resume: bool = False,
) -> TrainResult:
    """Train a text classifier; ``OUT/model`` holds the best one by ``trainer.monitor``:
    validation loss (the default), ``accuracy`` or ``macro_f1`` (and ``micro_f1`` with several
    labels per text) of its predictions on the validation texts."""
    out_dir = Path(out_dir)
    dist.init_from_env()
    train, valid = split_data(data, lambda path: _read(data, path), trainer.seed)
    _report_unseen(train, valid, data.valid or "the validation split")
    bilm, bilm_vocab = load_bilm(data.bilm)[:2] if data.bilm else (None, None)
    if bilm is not None:
        model_options = {**model_options, "bilm_config": bilm.get_config()}
    pretrained = None
    if data.unlabelled:
        if data.pretrained_lm:
            raise ValueError("ClassifyDataConfig: give unlabelled or pretrained_lm, not both")
        if not data.lowercase:
            raise ValueError(
                "ClassifyDataConfig: unlabelled pretraining reads lower-cased words (the "
                "language model's text level); lowercase=false is not supported with it"
            )
        pretrained = out_dir / "pretrain" / "model"
        if not (resume and (pretrained / "config.json").exists()):
            pretrained = pretrain_language_model(
                data.unlabelled, train, lambda e: example_text(e, data.use_title),
                model_options, {"min_freq": data.min_freq, "max_vocab": data.max_vocab},
                trainer, data.pretrain_time, out_dir / "pretrain",
            )  # fmt: skip
    model, tokenizer, labels = build_classifier(
        data, model_options, train, trainer.seed, pretrained
    )
    for member in members(model):
        if member.bilm is not None and bilm is not None:
            member.bilm.load_bilm(bilm)
    encoder = ClassificationEncoder(tokenizer, labels, data, bilm_vocab)
    train = [e for e in train if e.labels]
    fit_ngram_idf(model, encoder, train)
    fit_linear(model, encoder, train)
    shard = shard_examples(train)
    train_batches = encoder.batches(shard, trainer.batch_size, True, trainer.seed)
    valid_batches = encoder.batches(
        [e for e in valid if any(label in labels for label in e.labels)],
        data.eval_batch_size,
        False,
    )
    meta = {"task": "classify", "labels": labels.to_dict(), "data": data.to_dict()}

    files = {} if bilm_vocab is None else {"bilm_vocab": bilm_vocab.to_dict()}

    def export(directory: Path) -> None:
        save_model_dir(directory, model, tokenizer, meta, files=files)

    scored = [e for e in valid if e.labels]

    def score(m: nn.Module) -> dict[str, float]:  # as ``evaluate`` scores (unseen labels: wrong)
        metrics = _score(scored, _predict_examples(m, encoder, scored), encoder)  # type: ignore[arg-type]
        return {key: float(metrics[key]) for key in ("accuracy", "macro_f1", "micro_f1")
                if key in metrics}  # fmt: skip

    return fit(model, train_batches, valid_batches, trainer, out_dir, export, resume, score)


def load_classifier(directory: Path) -> tuple[Classifier, ClassificationEncoder]:
    """A trained classifier (or ensemble) and the encoder with its tokenizer and labels."""
    model, tokenizer, meta = load_model_dir(Path(directory))
    if meta.get("task") != "classify" or tokenizer is None:
        raise ValueError(f"{directory}: not a text classifier (task {meta.get('task')!r})")
    cfg = ClassifyDataConfig.from_dict(meta["data"])
    bilm = None
    if members(model)[0].bilm is not None:
        bilm = BiLMVocab.from_dict(read_model_file(Path(directory), "bilm_vocab"))
    return model, ClassificationEncoder(tokenizer, LabelVocab.from_dict(meta["labels"]), cfg, bilm)


@torch.no_grad()
def _predict_examples(
    model: Classifier, encoder: ClassificationEncoder, examples: list[TextExample]
) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    device = model_device(model)
    for batch in encoder.batches(examples, encoder.cfg.eval_batch_size, shuffle=False):
        batch = to_device(batch, device)
        pred = model.predict(batch["tokens"], batch["lengths"], batch.get("bilm"))
        out.extend(_label_names(pred, encoder))
    return out


def _label_names(pred: torch.Tensor, encoder: ClassificationEncoder) -> list[tuple[str, ...]]:
    """Predictions (N,) class ids, or (N, C) bool for multi-label -> each text's labels."""
    names = encoder.labels.labels
    if encoder.cfg.multi_label:
        return [tuple(names[j] for j in row.nonzero().flatten().tolist()) for row in pred]
    return [(names[i],) for i in pred.tolist()]


@torch.no_grad()
def _linear_predictions(
    linear: nn.Module, encoder: ClassificationEncoder, examples: list[TextExample]
) -> list[tuple[str, ...]]:
    """An ensemble's linear model's labels alone (score > 0 per label for multi-label)."""
    out: list[tuple[str, ...]] = []
    device = linear.weight.device  # its weights are buffers: no parameter says where it is
    for batch in encoder.batches(examples, encoder.cfg.eval_batch_size, shuffle=False):
        batch = to_device(batch, device)
        z = linear(batch["tokens"], batch["lengths"])
        out.extend(_label_names(z > 0 if encoder.cfg.multi_label else z.argmax(-1), encoder))
    return out


def predict_classifier(
    directory: Path, path: str | Path, format: str = "auto"
) -> list[tuple[str, ...]]:
    """The predicted label(s) of each text in ``path`` (``-``: stdin), in file order."""
    model, encoder = load_classifier(directory)
    examples = read_classification(
        str(path), format, encoder.cfg.multi_label, encoder.cfg.label_separator
    )
    return _predict_examples(model, encoder, examples)


def evaluate_classifier(directory: Path, path: str | Path, format: str = "auto") -> dict[str, Any]:
    """Accuracy, macro-F1, per-class report and confusion matrix on a labelled file; for an
    ensemble also ``member_accuracy``, each recurrent member's accuracy alone, and with a
    linear model ``linear_accuracy``, its accuracy alone."""
    model, encoder = load_classifier(directory)
    cfg = encoder.cfg
    examples = read_classification(str(path), format, cfg.multi_label, cfg.label_separator)
    if any(not e.labels for e in examples):
        raise ValueError(f"{path}: evaluation needs a label on every example")
    metrics = _score(examples, _predict_examples(model, encoder, examples), encoder)
    if isinstance(model, ClassifierEnsemble):
        metrics["member_accuracy"] = [
            _score(examples, _predict_examples(m, encoder, examples), encoder)["accuracy"]
            for m in members(model)
        ]
        if model.linear is not None:
            pred = _linear_predictions(model.linear, encoder, examples)
            metrics["linear_accuracy"] = _score(examples, pred, encoder)["accuracy"]
    metrics["examples"] = len(examples)
    return metrics


def _score(
    examples: list[TextExample], pred: list[tuple[str, ...]], encoder: ClassificationEncoder
) -> dict[str, Any]:
    known = encoder.labels.labels
    if encoder.cfg.multi_label:
        gold_sets = [list(e.labels) for e in examples]
        labels = sorted(set(known) | {x for g in gold_sets for x in g})
        return multilabel_metrics(gold_sets, [list(p) for p in pred], labels)
    gold = [e.labels[0] for e in examples]
    labels = sorted(set(known) | set(gold))
    return classification_metrics(gold, [p[0] for p in pred], labels)
