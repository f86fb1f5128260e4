"""Predictor for a trained encoder-decoder: translations, their scores and attention."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rnnkit.data.parallel import ParallelExample
from rnnkit.tasks.predictors.base import Predictor, check_texts
from rnnkit.tasks.translator import Translation, Translator


def translation_dict(t: Translation) -> dict[str, Any]:
    """A ``Translation`` as JSON-ready values (attention as nested lists, or None)."""
    return {
        "text": t.text,
        "score": t.score,
        "n_best": [{"text": text, "score": score} for text, score in t.n_best],
        "attention": None if t.attention is None else t.attention.float().tolist(),
        "source_tokens": t.source_tokens,
        "target_tokens": t.target_tokens,
    }


class TranslatorPredictor(Predictor):
    """A trained ``Seq2Seq`` with its tokenizers (``rnnkit.tasks.translator.Translator``).

    Example:
        >>> mt = rnnkit.load("runs/en-fr")
        >>> best = mt.translate(["open the file"], beam=5, n_best=3)[0]  # doctest: +SKIP
        >>> best.text, best.n_best, best.attention.shape
    """

    task = "translate"
    methods = ("translate",)

    def __init__(self, translator: Translator, path: Path, meta: dict[str, Any]) -> None:
        super().__init__(translator.model, path, meta)
        self.translator = translator

    @classmethod
    def load(cls, path: str | Path, meta: dict[str, Any]) -> TranslatorPredictor:
        return cls(Translator.load(path), Path(path), meta)

    def vocab_size(self) -> int:
        return self.translator.encoder.source.vocab_size

    def translate(
        self,
        texts: Sequence[str],
        beam: int = 5,
        n_best: int = 1,
        max_length: int | None = None,
        length_penalty: float = 1.0,
        attention: bool = True,
        constrain: bool | None = None,
        min_length: int = 0,
        no_repeat_ngram_size: int | None = None,
        no_adjacent_repeats: bool | None = None,
    ) -> list[Translation]:
        """Translate each text: the best output, its score, the ``n_best`` hypotheses and (with
        ``attention``, on a model that attends) the best one's (T, S) attention matrix.

        Args:
            beam: beam size (1: greedy); n_best: hypotheses kept (<= beam).
            max_length: most output tokens (default 2 * source tokens + 10).
            length_penalty: alpha of the GNMT length penalty.
            constrain, min_length, no_repeat_ngram_size, no_adjacent_repeats: see
                ``Translator.translate``.
        """
        texts = check_texts("texts", texts)
        for name, value in (("beam", beam), ("n_best", n_best)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if n_best > beam:
            raise ValueError(f"n_best: must not exceed beam ({beam}), got {n_best}")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
            raise ValueError(f"max_length: expected an integer >= 1, got {max_length!r}")
        out: list[Translation | None] = [None] * len(texts)
        for group in self._groups(texts, max_length):
            done = self.translator.translate(
                [texts[i] for i in group], beam=beam, n_best=n_best, max_length=max_length,
                length_penalty=length_penalty, attention=attention, constrain=constrain,
                min_length=min_length, no_repeat_ngram_size=no_repeat_ngram_size,
                no_adjacent_repeats=no_adjacent_repeats,
            )  # fmt: skip
            for i, t in zip(group, done):
                out[i] = t
        return [t for t in out if t is not None]

    def _groups(self, texts: list[str], max_length: int | None) -> list[list[int]]:
        """Indices of texts decoded together. Without ``max_length`` the default limit comes
        from the longest source of a batch, so sources are grouped by their token count: a text
        then gets the limit it gets alone, whatever it is batched with."""
        if max_length is not None:
            return [list(range(len(texts)))]
        enc = self.translator.encoder
        groups: dict[int, list[int]] = {}
        for i, text in enumerate(texts):
            source = enc.mask(ParallelExample(text))[0]
            groups.setdefault(len(enc.source_ids(source)), []).append(i)
        return list(groups.values())
