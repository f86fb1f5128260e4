"""The benchmarks page (docs/benchmarks.md) and the README's summary, from the result files.

    python benchmarks/report.py           # writes docs/benchmarks.md and the README's block
    python benchmarks/report.py --check   # exit 1 if either differs from what it would write

Every figure comes from ``benchmarks/results/*.json`` through the table functions of
``report.py`` and the prose figures of ``report_figures.py``; the fixed text only says what
each benchmark measures and how.
"""

from __future__ import annotations

import json
import sys

import report as tables
from common import RESULTS, ROOT

PAGE = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
START = "<!-- benchmarks-summary:start (written by benchmarks/report.py) -->"
END = "<!-- benchmarks-summary:end -->"


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _row(rows: list[dict], **match: object) -> dict:
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))


def speed_summary() -> str:
    """Rows at hidden 512, batch 32 from the whole grid (``speed_full``, Keras in the same
    run)."""
    speed = keras = _load("speed_full")

    def paired(layer: str, result: dict, key: str = "paired_ratio", mode: str = "train") -> str:
        short, long = (
            _row(result["rows"], layer=layer, mode=mode, steps=t, hidden=512, batch=32)[key]
            for t in (128, 1024)
        )
        return f"{short:.2f}x / {long:.2f}x"

    step = speed["step_batch1_2x512"]
    vs_keras = "paired_ratio_vs_keras"
    return "\n".join([
        "| rnnkit (hidden 512, batch 32) | against | speed-up (T 128 / T 1024) |",
        "|---|---|---|",
        f"| `rnnkit.LSTM` training | `torch.nn.LSTM` | {paired('lstm', speed)} |",
        f"| `rnnkit.GRU` training | `torch.nn.GRU` | {paired('gru', speed)} |",
        f"| `rnnkit.MinGRU` training | `torch.nn.GRU` | {paired('mingru', speed)} |",
        f"| `rnnkit.LSTM` training | Keras 3 `LSTM` (TensorFlow) "
        f"| {paired('lstm', keras, vs_keras)} |",
        f"| `rnnkit.GRU` inference | Keras 3 `GRU` (TensorFlow) "
        f"| {paired('gru', keras, vs_keras, 'infer')} |",
        f"| `rnnkit.LSTM` generation step (2 layers, batch 1, no grad) | `torch.nn.LSTM` step "
        f"by step | {step['speedup']}x ({step['rnnkit_ms_per_token']} ms per token) |",
    ])  # fmt: skip


def quality_summary() -> str:
    """Six rows: one per task benchmark, rnnkit against the baseline of the same run."""
    ptb, mt, summ = (_load(n) for n in ("lm_ptb_small", "translate_ood",
                                        "summarize_bbc_abstractive"))  # fmt: skip
    clf, tag = _load("defaults_classify"), _load("defaults_tag")["pos"]
    tag_runs = tag["rnnkit_default"]["runs"]
    inside, outside = mt["summary"]["en-fr test"], mt["summary"]["out-of-domain test"]
    sr = summ["runs"]
    return "\n".join([
        "| task (data) | rnnkit | baseline |",
        "|---|---|---|",
        f"| language model (Penn Treebank, {ptb['budget_minutes']:.0f} min) | test perplexity "
        f"{ptb['test_perplexity']:.1f} | {ptb['published_anchor_test_perplexity']} "
        "(Zaremba et al. 2014, small) |",
        *_character_lm_row(),
        f"| classification, `rnnkit train classify` with no options (sentence sentiment / BBC "
        f"news topics; mean of 3 seeds, lowest in brackets) | accuracy {_seeds(clf['sentiment'])} "
        f"/ {_seeds(clf['bbc'])} | TF-IDF + logistic regression "
        f"{_baseline(clf['sentiment'])} / {_baseline(clf['bbc'])} |",
        f"| part-of-speech tagging, `rnnkit train tag` with no options ({len(tag_runs)} seed"
        f"{'s' * (len(tag_runs) > 1)}) | token accuracy {_seeds(tag)} | CRF on hand-made "
        f"features {_baseline(tag)} |",
        _translation_row(mt, inside, outside),
        _summarization_row(_load("defaults_summarize")["bbc"]),
        f"| extractive summarization alone, `rnnkit train summarize --model.type=extractive` "
        f"(BBC news, headline) | ROUGE-1 {sr['rnnkit summarunner']['rouge1']:.2f} | first "
        f"sentence {sr['lead-1']['rouge1']:.2f}; best single sentence "
        f"{sr['oracle-1']['rouge1']:.2f} |",
    ])  # fmt: skip


def _character_lm_row() -> list[str]:
    """The character LM's no-options default beside the plain ``torch.nn.LSTM`` loop, once
    ``defaults_lm.json`` holds every seed; no row before."""
    path = RESULTS / "defaults_lm.json"
    r = json.loads(path.read_text()).get("shakespeare", {}) if path.exists() else {}
    if "rnnkit_default" not in r or not r.get("complete", True):
        return []
    n = len(r["rnnkit_default"]["runs"])
    return [f"| character language model, `rnnkit train lm` with no options "
            f"(Shakespeare; mean of {n} seeds, highest in brackets; lower is better) | bits per "
            f"character {_seeds(r)} | plain `torch.nn.LSTM` loop of the same sizes "
            f"{_baseline(r)} |"]  # fmt: skip


def _summarization_row(r: dict) -> str:
    """The no-options default (both summarizers trained, the better one on dev kept) beside
    Lead-1 and the one-sentence oracle of the same run."""
    runs = r["rnnkit_default"]["runs"]
    kept = {x.get("selection", {}).get("chosen") for x in runs}
    which = ""
    if len(kept) == 1 and None not in kept:
        which = f"; the {kept.pop()} model kept on every seed"
    return (f"| summarization, `rnnkit train summarize` with no options (BBC news, headline; "
            f"mean of {len(runs)} seeds, lowest in brackets{which}) | ROUGE-1 {_seeds(r)} | "
            f"first sentence {_baseline(r)}; best single sentence "
            f"{runs[0]['oracle']['rouge1']:.2f} |")  # fmt: skip


def _translation_row(mt: dict, inside: dict, outside: dict) -> str:
    """The no-options default's row where ``defaults_translate.json`` holds it, else the
    budgeted runs of ``translate_ood.json`` (inside and outside the training domain)."""
    path = RESULTS / "defaults_translate.json"
    r = json.loads(path.read_text()).get("en-fr", {}) if path.exists() else {}
    if "rnnkit_default" in r:
        n = len(r["rnnkit_default"]["runs"])
        return (f"| translation, `rnnkit train translate` with no options (English-French "
                f"software messages; {'mean of ' * (n > 1)}{n} seed{'s' * (n > 1)}"
                f"{', lowest in brackets' * (n > 1)}) | BLEU {_seeds(r)} | copying the source "
                f"{_baseline(r)} |")  # fmt: skip
    return (f"| translation, `rnnkit train translate` for {mt['settings']['minutes']:g} minutes "
            f"(English-French software messages / messages of two programs it never saw; mean "
            f"of {len(mt['runs'])} seeds, lowest in brackets) | BLEU {_bleu(inside)} / "
            f"{_bleu(outside)} | copying the source {inside['copy_bleu']:.2f} / "
            f"{outside['copy_bleu']:.2f} |")  # fmt: skip


def _bleu(summary: dict) -> str:
    return f"{summary['bleu_mean']:.2f} ({summary['bleu_min']:.2f})"


def _seeds(result: dict) -> str:
    d, metric = result["rnnkit_default"], result["metric"]
    if len(d["runs"]) == 1:
        return tables.figure(metric, d["mean"])
    worst = tables.worst_seed(result)
    return f"{tables.figure(metric, d['mean'])} ({tables.figure(metric, worst)})"


def _baseline(result: dict) -> str:
    return tables.figure(result["metric"], result["baseline"][result["metric"]])


def readme_block() -> str:
    """The README's summary: both tables and a link to this page."""
    return "\n".join([
        START, "",
        "Speed (2-core CPU; paired ratios of tokens per second, above 1: rnnkit is faster):",
        "", speed_summary(),
        "", "Quality (2-core CPU; from minutes to about two hours of training each):",
        "", quality_summary(), "",
        "Full tables, methods and commands: [docs/benchmarks.md](docs/benchmarks.md).", END,
    ])  # fmt: skip


def _ran(name: str) -> str:
    r = _load(name)
    m = r["machine"]
    return (f"`{r['command']}`, {r['date']}, {m['cpu']} ({m['cores']} cores, torch "
            f"{m['torch']}).")  # fmt: skip


def _ran_lines(result: str | tuple[str, ...] | None) -> list[str]:
    """The "Ran as" lines of a section: one per result file its table reads that exists."""
    if result is None:
        return []
    if isinstance(result, str):
        return [f"Ran as {_ran(result)}", ""]
    ran = [n for n in result if (RESULTS / f"{n}.json").is_file()]
    if len(ran) == 1:
        return _ran_lines(ran[0])
    return ["Ran as:", "", *(f"- {_ran(n)}" for n in ran), ""] if ran else []


def page() -> str:
    """docs/benchmarks.md, whole."""
    from report_figures import fill
    from report_text import INTRO, SECTIONS

    out = [INTRO, "## Summary", "", speed_summary(), "", quality_summary(), ""]
    for heading, text, result, table in SECTIONS:
        body = getattr(tables, table[0])(*table[1:])
        if not body:
            continue
        out += [heading, "", fill(text.strip()), ""]
        out += _ran_lines(result)
        out += [body, ""]
    return "\n".join(out).rstrip() + "\n"


def readme_with_block(readme: str) -> str:
    if START not in readme or END not in readme:
        raise ValueError(f"{README}: no summary block ({START} ... {END})")
    head, rest = readme.split(START, 1)
    return head + readme_block() + rest.split(END, 1)[1]


def main(argv: list[str]) -> int:
    wanted = {PAGE: page(), README: readme_with_block(README.read_text())}
    if "--check" in argv:
        stale = [p.name for p, text in wanted.items() if p.read_text() != text]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python benchmarks/report.py")
            return 1
        return 0
    for path, text in wanted.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
