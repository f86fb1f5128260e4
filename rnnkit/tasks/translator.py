"""Decoding a trained encoder-decoder: translate texts, score them, draw their attention.

``Translator.load(DIR)`` rebuilds the model and its tokenizers; ``translate`` decodes a list of
sources in length-sorted batches by beam search (``beam=1`` is greedy decoding), restores the
masked placeholders and returns, per source, the n-best translations with their scores and,
on request, the best one's attention matrix. ``evaluate_translator`` gives sacrebleu's BLEU and
chrF of a ``source<TAB>reference`` file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from rnnkit.data import TOKENIZERS, Tokenizer
from rnnkit.data.parallel import ParallelExample, read_parallel
from rnnkit.data.placeholders import FIRST, missing_placeholders, restore_placeholders
from rnnkit.decoding import Hypothesis, NoAdjacentRepeat, SymbolCounts, beam_search
from rnnkit.errors import ModelFileError
from rnnkit.metrics import repeated_phrases, translation_metrics
from rnnkit.models import Seq2Seq
from rnnkit.models.io import load_model_dir, read_model_file
from rnnkit.tasks.placeholder_rule import PlaceholderConstraint, symbol_counts
from rnnkit.tasks.translate import TranslateDataConfig, TranslationEncoder


@dataclass
class Translation:
    """The output for one source.

    Args:
        source: the input text.
        text: the best translation (placeholders restored).
        score: its beam score (log-probability over the GNMT length penalty).
        n_best: ``(text, score)`` of each hypothesis kept, best first.
        attention: (T, S) weights of the best translation (with ``attention=True`` on a model
            that attends), row t for output token t (the last one ``<eos>``), column j for
            source token j (the last one ``<eos>``).
        source_tokens, target_tokens: the token strings along the attention's axes.
    """

    source: str
    text: str
    score: float
    n_best: list[tuple[str, float]] = field(default_factory=list)
    attention: Tensor | None = None
    source_tokens: list[str] = field(default_factory=list)
    target_tokens: list[str] = field(default_factory=list)


class Translator:
    """A trained ``Seq2Seq`` with its tokenizers, ready to translate.

    Example:
        >>> translator = Translator.load("runs/en-fr")
        >>> translator.translate(["File not found"], beam=5)[0].text  # doctest: +SKIP
        'Fichier introuvable'
    """

    def __init__(self, model: Seq2Seq, encoder: TranslationEncoder) -> None:
        self.model, self.encoder = model.eval(), encoder
        self._constraint: PlaceholderConstraint | None = None
        self._adjacent: NoAdjacentRepeat | None = None

    @classmethod
    def load(cls, directory: str | Path) -> Translator:
        model, target, meta = load_model_dir(Path(directory))
        if meta.get("task") != "translate" or target is None:
            raise ModelFileError(
                f"{directory}: not a translation model (task {meta.get('task')!r})"
            )
        cfg = TranslateDataConfig.from_dict(meta["data"])
        source: Tokenizer = target
        if not cfg.share_vocab:
            d = read_model_file(Path(directory), "source_tokenizer")
            source = TOKENIZERS[d["type"]].from_dict(d)
        return cls(model, TranslationEncoder(source, target, cfg))  # type: ignore[arg-type]

    @torch.no_grad()
    def translate(
        self,
        sources: Sequence[str],
        beam: int = 5,
        n_best: int = 1,
        max_length: int | None = None,
        length_penalty: float = 1.0,
        attention: bool = False,
        batch_size: int | None = None,
        constrain: bool | None = None,
        min_length: int = 0,
        no_repeat_ngram_size: int | None = None,
        no_adjacent_repeats: bool | None = None,
    ) -> list[Translation]:
        """Translate each source; results in input order, each independent of the others.

        Args:
            beam: beam size (1: greedy).
            n_best: hypotheses kept per source (<= beam).
            max_length: the most output tokens; default 2 * source tokens + 10 per source.
            length_penalty: alpha of the GNMT length penalty.
            attention: also return the best translation's attention matrix.
            batch_size: sources decoded together (default: the model's eval batch size).
            constrain: finished translations hold each source placeholder exactly as often as
                the source and no other (``rnnkit.tasks.placeholder_rule``); default: on when
                the model masks placeholders. A source whose search is cut at ``max_length``
                with a placeholder still missing is searched again without the constraint,
                and the placeholders its translation lacks are appended to it.
            min_length, no_repeat_ngram_size: beam search rules (``beam_search``); the n-gram
                size defaults to the model's (``TranslateDataConfig.no_repeat_ngram_size``).
            no_adjacent_repeats: forbid saying a phrase twice in a row
                (``rnnkit.decoding.NoAdjacentRepeat``); default: the model's
                (``TranslateDataConfig.no_adjacent_repeats``).
        """
        masked = [self.encoder.mask(ParallelExample(s)) for s in sources]
        ids = [self.encoder.source_ids(src) for src, _, _ in masked]
        size = batch_size or self.encoder.cfg.eval_batch_size
        constrain = self.encoder.cfg.placeholders if constrain is None else constrain
        if no_repeat_ngram_size is None:
            no_repeat_ngram_size = self.encoder.cfg.no_repeat_ngram_size
        if no_adjacent_repeats is None:
            no_adjacent_repeats = self.encoder.cfg.no_adjacent_repeats
        options: dict[str, Any] = dict(
            beam=beam, n_best=n_best, max_length=max_length, size=size,
            length_penalty=length_penalty, min_length=min_length,
            no_repeat_ngram_size=no_repeat_ngram_size, no_adjacent_repeats=no_adjacent_repeats,
        )  # fmt: skip
        everyone = list(range(len(ids)))
        hyps = self._search(everyone, ids, masked, constrain, **options)
        # a source whose constrained search ended at max_length with a placeholder missing:
        # searched again without the constraint; placeholders still missing are appended
        failed = {i for i in everyone if constrain and not hyps[i][0].finished
                  and self._missing(masked[i], hyps[i][0].tokens)}  # fmt: skip
        hyps.update(self._search(sorted(failed), ids, masked, False, **options))
        out = []
        for i in everyone:
            table = masked[i][2]
            kept = [(self._text(h.tokens, table), h.score) for h in hyps[i]]
            if i in failed:
                kept = [(self._append_missing(text, sources[i]), score) for text, score in kept]
            result = Translation(sources[i], kept[0][0], kept[0][1], kept)
            if attention:
                self._attach_attention(result, ids[i], hyps[i][0].tokens, table)
            out.append(result)
        return out

    def _search(
        self, indices: list[int], ids: list[list[int]], masked: list, constrain: bool, *,
        beam: int, n_best: int, max_length: int | None, size: int, length_penalty: float,
        min_length: int, no_repeat_ngram_size: int, no_adjacent_repeats: bool,
    ) -> dict[int, list[Hypothesis]]:  # fmt: skip
        """Beam search over the sources ``indices`` in length-sorted batches of ``size``:
        each index's hypotheses, best first."""
        order = sorted(indices, key=lambda i: len(ids[i]))
        found: dict[int, list[Hypothesis]] = {}
        eos = self.encoder.target.eos_id
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            batch = self.encoder.collate_sources([ids[i] for i in chunk])
            limits = [max_length or 2 * len(ids[i]) + 10 for i in chunk]
            rules: list[Any] = [self._rule([masked[i][0] for i in chunk])] if constrain else []
            if no_adjacent_repeats:
                rules.append(self._adjacent_rule())
            state = self.model.encode(batch["source"], batch["source_lengths"])
            first = self.model.first_tokens(len(chunk))
            hyps = beam_search(self.model, state, first, limits, beam, eos_id=eos,
                               length_penalty=length_penalty, n_best=n_best, rules=rules,
                               min_length=min_length,
                               no_repeat_ngram_size=no_repeat_ngram_size)  # fmt: skip
            found.update(zip(chunk, hyps))
        return found

    def _missing(self, masked: tuple, tokens: list[int]) -> bool:
        """Whether the output ``tokens`` lack a placeholder symbol of the masked source."""
        have = symbol_counts(self.encoder.target.decode(tokens))
        return any(h < n for h, n in zip(have, symbol_counts(masked[0])))

    @staticmethod
    def _append_missing(text: str, source: str) -> str:
        """``text`` with the source's placeholders it lacks (or holds too rarely) appended."""
        missing = missing_placeholders(source, text)
        return " ".join([text, *missing]) if missing else text

    def _adjacent_rule(self) -> NoAdjacentRepeat:
        """The rule with the target vocabulary's word starts, letters and keys (a token's text
        lowercased without its leading space), read once per translator."""
        if self._adjacent is None:
            target = self.encoder.target
            special = {target.eos_id, target.unk_id, getattr(target, "pad_id", -1)}
            texts = ["" if i in special else target.decode([i]) for i in range(target.vocab_size)]
            words_level = self.encoder.cfg.level == "word"  # every token is a word there
            self._adjacent = NoAdjacentRepeat.from_texts(texts, words=words_level)
        return self._adjacent

    def _rule(self, masked_sources: list[str]) -> SymbolCounts:
        if self._constraint is None:
            self._constraint = PlaceholderConstraint(self.encoder.target)
        return self._constraint.rule(masked_sources, self.encoder.target.eos_id)

    def _text(self, tokens: list[int], table: list[str]) -> str:
        text = self.encoder.target.decode(tokens)
        return restore_placeholders(text, table) if self.encoder.cfg.placeholders else text

    def _token_strings(self, tokenizer: Tokenizer, ids: list[int], table: list[str]) -> list[str]:
        eos = tokenizer.eos_id
        strings = ["<eos>" if i == eos else tokenizer.decode([i]) for i in ids]
        return [_show(restore_placeholders(s, table) if table else s) for s in strings]

    def _attach_attention(
        self, result: Translation, source: list[int], output: list[int], table: list[str]
    ) -> None:
        eos = self.encoder.target.eos_id
        target = torch.tensor([[*output, eos]])
        weights = self.model.align(torch.tensor([source]), torch.tensor([len(source)]), target)
        if weights is None:
            return
        result.attention = weights[0]
        result.source_tokens = self._token_strings(self.encoder.source, source, table)
        result.target_tokens = self._token_strings(self.encoder.target, [*output, eos], table)


def _show(token: str) -> str:
    """A token string for a plot axis: spaces visible, private-use symbols named."""
    token = "".join(f"<ph{ord(c) - FIRST}>" if FIRST <= ord(c) < FIRST + 64 else c for c in token)
    return token.replace(" ", "\u2423")


def evaluate_translator(
    directory: str | Path,
    path: str | Path,
    beam: int = 5,
    length_penalty: float = 1.0,
    constrain: bool | None = None,
) -> dict[str, Any]:
    """BLEU and chrF (sacrebleu) of the model's translations of a ``source<TAB>ref`` file, and
    how many translations say a phrase twice in a row where their source does not
    (``repeated_phrases``)."""
    examples = read_parallel(path)
    translator = Translator.load(directory)
    outputs = translator.translate([e.source for e in examples], beam=beam,
                                   length_penalty=length_penalty, constrain=constrain)  # fmt: skip
    texts = [t.text for t in outputs]
    metrics = translation_metrics(texts, [e.target or "" for e in examples])
    metrics["repeated_phrases"] = repeated_phrases([e.source for e in examples], texts)
    metrics["examples"] = len(examples)
    metrics["beam"] = beam
    return metrics
