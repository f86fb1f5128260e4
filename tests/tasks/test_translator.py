"""Translator decoding: placeholder constraints (byte-level automaton), batch independence."""

import pytest
import torch

from rnnkit.data.parallel import ParallelExample
from rnnkit.data.placeholders import find_placeholders, mask_placeholders
from rnnkit.tasks.placeholder_rule import (
    _read,
    placeholder_automaton,
    symbol_counts,
    token_bytes,
)
from rnnkit.tasks.translate import TranslateDataConfig, build_translator
from rnnkit.tasks.translator import Translator

PAIRS = [
    ("Cannot open %s: %d errors", "Impossible d'ouvrir %s : %d erreurs"),
    ("Save {name} to <b>disk</b>", "Enregistrer {name} sur <b>disque</b>"),
    ("Copy %1$s to %2$s (%3$s left)", "Copier %1$s vers %2$s (%3$s restants)"),
    ("Delete 3 files", "Supprimer 3 fichiers"),
    ("Open the file", "Ouvrir le fichier"),
] * 4
SOURCES = [
    "Cannot read %s", "Move {a} and {b} to %s", "Version 2.4 of %d", "Nothing here",
    "Copy %1$s to %2$s, then %3$s, %4$s and %5$s", "Error <i>%s</i> at 12:30",
]  # fmt: skip


@pytest.fixture(scope="module")
def translator(request) -> Translator:
    cfg = TranslateDataConfig(level=request.param, vocab_size=300)
    examples = [ParallelExample(s, t) for s, t in PAIRS]
    torch.manual_seed(0)
    options = dict(embedding_size=16, hidden_size=24, encoder_layers=1, decoder_layers=1,
                   dropout=0.0)  # fmt: skip
    model, encoder = build_translator(cfg, options, examples, seed=3)
    # an untrained model that wants to stop at once, or to write any placeholder
    holders = placeholder_automaton(token_bytes(encoder.target))[0][:, 0].ne(0).any(1)
    with torch.no_grad():
        model.decoder.out.bias[encoder.target.eos_id] += 6.0
        model.decoder.out.bias[holders] += 5.0
    return Translator(model, encoder)


def test_bpe_token_bytes_and_automaton_count_symbols():
    cfg = TranslateDataConfig(vocab_size=300)
    examples = [ParallelExample(s, t) for s, t in PAIRS]
    _, encoder = build_translator(cfg, {"hidden_size": 8, "embedding_size": 8}, examples, 0)
    table = token_bytes(encoder.target)
    delta, moves = placeholder_automaton(table)
    for text in SOURCES + [t for _, t in PAIRS]:
        masked, _ = mask_placeholders(text)
        ids = encoder.target.encode(masked)
        assert b"".join(table[i] for i in ids).decode("utf-8") == masked
        counts, pending = torch.zeros(64, dtype=torch.long), 0
        for i in ids:  # the tabulated automaton, token by token
            counts += delta[i, pending].long()
            pending = int(moves[i, pending])
        assert counts.tolist() == symbol_counts(masked)
        assert any(counts) == bool(find_placeholders(text))
    split = [0] * 64  # a symbol cut across tokens is still counted once
    assert _read(b"\xee", 0, split) == 1 and _read(b"\x80\x83 x", 1, split) == 0
    assert split[3] == 1 and sum(split) == 1


@pytest.mark.parametrize("translator", ["bpe", "word"], indirect=True)
def test_constrained_outputs_keep_every_placeholder_once(translator):
    # unconstrained outputs lose placeholders or write others; constrained ones may only
    # stop once each placeholder of the source is out, and may write no other
    free = translator.translate(SOURCES, beam=3, max_length=40, constrain=False)
    tied = translator.translate(SOURCES, beam=3, max_length=40, n_best=3)
    writable = translator._constraint.producible  # a word vocabulary lacks some symbols
    assert writable[:3].all() and (translator.encoder.cfg.level == "word") != writable.all()
    bad = 0
    for source, f, t in zip(SOURCES, free, tied):
        table = mask_placeholders(source)[1]
        expected = sorted(p for k, p in enumerate(table) if writable[k])
        bad += sorted(find_placeholders(f.text)) != expected
        assert sorted(find_placeholders(t.text)) == expected, (source, t.text)
        for text, _ in t.n_best:
            for p in expected:  # each finished hypothesis of the n best
                assert text.count(p) >= source.count(p), (source, text)
    assert bad >= 2  # the constraint changed something


@pytest.mark.parametrize("translator", ["bpe"], indirect=True)
def test_a_search_cut_short_still_keeps_every_placeholder(translator):
    # two tokens cannot hold five placeholders: the constrained search ends unfinished, the
    # source is searched again without the constraint and the missing placeholders appended
    source = SOURCES[4]
    (cut,) = translator.translate([source], beam=3, max_length=2)
    (free,) = translator.translate([source], beam=3, max_length=2, constrain=False)
    assert cut.text.startswith(free.text) and cut.score == free.score
    for p in find_placeholders(source):
        assert cut.text.count(p) == 1, (p, cut.text)
    (done,) = translator.translate([SOURCES[0]], beam=3, max_length=40)
    assert done.text.count("%s") == 1  # a finished search is left as it is


@pytest.mark.parametrize("translator", ["bpe"], indirect=True)
def test_translations_do_not_depend_on_the_batch(translator):
    options = dict(beam=3, n_best=2, no_repeat_ngram_size=3, min_length=2, max_length=12)
    batched = translator.translate(SOURCES, batch_size=len(SOURCES), **options)
    for source, together in zip(SOURCES, batched):
        (alone,) = translator.translate([source], **options)
        assert alone.text == together.text
        assert [s for _, s in alone.n_best] == pytest.approx([s for _, s in together.n_best],
                                                             abs=1e-4)  # fmt: skip


@pytest.mark.parametrize("translator", ["bpe"], indirect=True)
def test_beam_rules_default_to_the_model_config(translator, monkeypatch):
    import rnnkit.tasks.translator as module

    seen = []
    real = module.beam_search

    def spy_rules(*args, **kwargs):
        seen.append(kwargs["no_repeat_ngram_size"])
        seen.append(any(isinstance(r, module.NoAdjacentRepeat) for r in kwargs["rules"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "beam_search", spy_rules)
    translator.translate(SOURCES[:1], beam=2)
    translator.translate(SOURCES[:1], beam=2, no_repeat_ngram_size=0, no_adjacent_repeats=False)
    cfg = translator.encoder.cfg
    assert seen == [cfg.no_repeat_ngram_size, cfg.no_adjacent_repeats, 0, False]
    assert seen[:2] == [3, True]
    rule = translator._adjacent_rule()  # word starts and letters read from the vocabulary
    texts = [translator.encoder.target.decode([i]) for i in range(len(rule.word_starts))]
    special = {translator.encoder.target.eos_id, translator.encoder.target.unk_id}
    for i, (text, start, letter) in enumerate(
        zip(texts, rule.word_starts.tolist(), rule.letters.tolist())
    ):
        if i not in special:
            assert (start, letter) == (text[:1].isspace(), any(c.isalpha() for c in text))
