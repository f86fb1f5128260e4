"""Render benchmarks/results/*.json as Markdown tables, and write the pages that show them.

    python benchmarks/report.py            # writes docs/benchmarks.md and the README's summary
    python benchmarks/report.py --check    # exit 1 when either is out of date
    python benchmarks/report.py --print    # prints the tables

The page's layout and fixed text are in ``report_page.py`` and ``report_text.py``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def ptb() -> str:
    rows = [
        "| size | budget | epochs | test ppl | valid ppl | published (Zaremba et al.) |",
        "|---|---|---|---|---|---|",
    ]
    for size in ("small", "medium"):
        r = _load(f"lm_ptb_{size}")
        if r:
            rows.append(
                f"| {size} (2x{r['model']['hidden_size']}) | {r['budget_minutes']:.0f} min "
                f"| {r['epochs_completed']} ({r['steps']} steps) | **{r['test_perplexity']:.1f}** "
                f"| {r['valid_perplexity']:.1f} | {r['published_anchor_test_perplexity']} |"
            )
    return "\n".join(rows)


def shakespeare() -> str:
    r = _load("lm_shakespeare")
    if not r:
        return ""
    rows = ["| model | test bits/char | steps in budget |", "|---|---|---|"]
    for name, run in r["runs"].items():
        rows.append(f"| {name} | **{run['bpc']:.3f}** | {run['steps']} |")
    sizes = r["sizes"]
    rows.append(
        f"\nSame sizes (embedding {sizes['embedding_size']}, {sizes['num_layers']} x "
        f"{sizes['hidden_size']}), {r['budget_minutes_per_model']:g} minutes of training each."
    )
    return "\n".join(rows)


DEFAULT_TASKS = ("lm", "classify", "tag", "translate", "summarize")


def default_rows() -> list[tuple[str, str, dict]]:
    """(task, data set, result) of every ``defaults_TASK.json``, in task order."""
    rows = []
    for task in DEFAULT_TASKS:
        r = _load(f"defaults_{task}")
        for name, result in (r or {}).items():
            if isinstance(result, dict) and "rnnkit_default" in result:
                rows.append((task, name, result))
    return rows


def figure(metric: str, value: float) -> str:
    """A score as its tables print it: points (ROUGE, BLEU) with 2 decimals, shares with 4."""
    return f"{value:.2f}" if metric.startswith(("rouge", "bleu")) else f"{value:.4f}"


def _per_seed(runs: list[dict], metric: str) -> tuple[str, float]:
    """Each run's figure, joined, and the runs' mean training seconds."""
    figures = " / ".join(figure(metric, x[metric]) for x in runs)
    return figures, sum(x["train_seconds"] for x in runs) / len(runs)


def worst_seed(result: dict) -> float:
    """The worst seed's figure: the highest where lower wins (bits per character)."""
    figures = [x[result["metric"]] for x in result["rnnkit_default"]["runs"]]
    return float(max(figures) if result.get("lower_wins") else min(figures))


def defaults() -> str:
    """Each task's command-line default over three seeds beside its baseline."""
    found = default_rows()
    if not found:
        return ""
    rows = ["| task | data | metric | rnnkit default, each seed | mean | worst seed | baseline "
            "| ahead on every seed | dev: default mean / baseline | training time (mean) |",
            "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for task, name, r in found:
        d, metric = r["rnnkit_default"], r["metric"]
        seeds, seconds = _per_seed(d["runs"], metric)
        if len(d["runs"]) < 3:  # a run stopped early, or asked for fewer seeds
            ran = [str(x["seed"]) for x in d["runs"]]
            seeds += f" (seed{'s' * (len(ran) > 1)} {' and '.join(ran)} only)"
        base, dev = r["baseline"], r.get("dev")
        f = functools.partial(figure, metric)
        on_dev = f"{f(dev['rnnkit_default']['mean'])} / {f(dev['baseline'])}" if dev else ""
        rows.append(
            f"| {task} | {name} | {metric} | {seeds} | **{f(d['mean'])}** | {f(worst_seed(r))} "
            f"| {base['name']} {f(base[metric])} | {'yes' if r['ahead_on_every_seed'] else 'no'} "
            f"| {on_dev} | {seconds:.0f} s |"
        )
    return "\n".join(rows)


def defaults_paired() -> str:
    """McNemar's exact test of each seed's default against its baseline on the same test items,
    for the tasks whose runs hold one (``paired`` in ``defaults_TASK.json``)."""
    found = [(task, name, r) for task, name, r in default_rows()
             if all("paired" in x for x in r["rnnkit_default"]["runs"])]  # fmt: skip
    if not found:
        return ""
    rows = ["| task | data | test items | each seed: right only by the default / only by the "
            "baseline (p) |", "|---|---|---|---|"]  # fmt: skip
    for task, name, r in found:
        runs = r["rnnkit_default"]["runs"]
        items = runs[0].get("examples") or runs[0].get("tokens") or runs[0].get("documents")
        cells = " · ".join(f"seed {x['seed']}: {x['paired']['only_default']} / "
                           f"{x['paired']['only_baseline']} ({_p(x['paired']['p'])})"
                           for x in runs)  # fmt: skip
        rows.append(f"| {task} | {name} | {items:,} | {cells} |")
    return "\n".join(rows)


def defaults_selection() -> str:
    """Per seed of the summarization default (``model.type=auto``): each candidate's
    validation figure and the one kept (``selection`` in ``defaults_summarize.json``)."""
    found = [(name, r) for task, name, r in default_rows() if task == "summarize"
             and all("selection" in x for x in r["rnnkit_default"]["runs"])]  # fmt: skip
    if not found:
        return ""
    rows = ["| data | seed | dev: extractive | dev: abstractive | kept | test ROUGE-1 / 2 / L "
            "| Lead-1 ROUGE-1 / 2 / L |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in found:
        for x in r["rnnkit_default"]["runs"]:
            chosen, monitor = x["selection"], x["selection"]["monitor"]
            scores = chosen["scores"]
            rows.append(
                f"| {name} | {x['seed']} | {monitor} {scores['extractive']:.2f} "
                f"| {monitor} {scores['abstractive']:.2f} | {chosen['chosen']} "
                f"| {_rouge(x)} | {_rouge(x['lead'])} |"
            )
    return "\n".join(rows)


def _rouge(metrics: dict) -> str:
    return " / ".join(f"{metrics[k]:.2f}" for k in ("rouge1", "rouge2", "rougeL"))


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def defaults_unlabelled() -> str:
    """The classification default with the other data set's texts as unlabelled text."""
    r, plain = _load("defaults_classify_unlabelled"), _load("defaults_classify")
    if not r or not plain:
        return ""
    rows = ["| data | unlabelled text | accuracy, each seed | mean | min "
            "| without it, the same seeds | training time (mean) |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, result in r.items():
        if not isinstance(result, dict) or "rnnkit_default" not in result or name not in plain:
            continue
        d = result["rnnkit_default"]
        seeds, seconds = _per_seed(d["runs"], "accuracy")
        by_seed = {x["seed"]: x["accuracy"] for x in plain[name]["rnnkit_default"]["runs"]}
        without = " / ".join(f"{by_seed[x['seed']]:.4f}" for x in d["runs"] if x["seed"] in by_seed)
        rows.append(
            f"| {name} | `{result['unlabelled']}` | {seeds} | **{d['mean']:.4f}** "
            f"| {d['min']:.4f} | {without} | {seconds:.0f} s |"
        )
    return "\n".join(rows)


def classify_linear() -> str:
    """The classification default's linear member on dev: accuracy and log loss per (C, W)."""
    r = _load("classify_linear")
    if not r:
        return ""
    data = [d for d in ("sentiment", "bbc") if d in r]
    head = " | ".join(f"{d} dev accuracy | {d} dev log loss" for d in data)
    rows = [f"| C | W | {head} |", "|---|---|" + "---|---|" * len(data)]
    for i, cell in enumerate(r[data[0]]["mean"]):
        if cell["weight"] == 0 and i:  # the members alone: the same for every C
            continue
        c = "" if cell["weight"] == 0 else f"{cell['c']:g}"
        w = "0 (members alone)" if cell["weight"] == 0 else f"{cell['weight']:g}"
        figures = " | ".join(f"{r[d]['mean'][i]['accuracy']:.4f} | {r[d]['mean'][i]['loss']:.4f}"
                             for d in data)  # fmt: skip
        rows.append(f"| {c} | {w} | {figures} |")
    seeds = ", ".join(str(x["seed"]) for x in r[data[0]]["runs"])
    rows.append(f"\nMeans over seeds {seeds}.")
    if all("buckets" in r[d] for d in data):
        rows.extend(["", _linear_buckets(r, data)])
    return "\n".join(rows)


def _linear_buckets(r: dict, data: list[str]) -> str:
    """The linear model's hash buckets at the default's C and W: the ensemble's dev accuracy and
    log loss, and the linear model's dev accuracy alone."""
    head = " | ".join(f"{d} dev accuracy | {d} dev log loss | {d} linear alone" for d in data)
    rows = [f"| buckets | {head} |", "|---|" + "---|---|---|" * len(data)]
    for i, cell in enumerate(r[data[0]]["buckets"]):
        figures = " | ".join(
            f"{x['accuracy']:.4f} | {x['loss']:.4f} | {x['linear_accuracy']:.4f}"
            for x in (r[d]["buckets"][i] for d in data)
        )
        rows.append(f"| 2^{cell['buckets'].bit_length() - 1} | {figures} |")
    return "\n".join(rows)


def classification_runs(dataset: str) -> list[tuple[str, dict]]:
    """Every result file of one data set (``classify_DATASET*.json``: the default run and any
    ``--name``d ones), as (file stem, result), sorted by name."""
    paths = sorted(RESULTS.glob(f"classify_{dataset}*.json"))
    return [(p.stem, json.loads(p.read_text())) for p in paths]


def _configuration(r: dict) -> str:
    """A run's command without its seed and name: runs that share it are one candidate."""
    return re.sub(r" --(seed|name) \S+", "", r["command"])


def _candidates(dataset: str) -> list[list[tuple[str, dict]]]:
    """The data set's runs grouped by configuration (seeds of one candidate together)."""
    groups: dict[str, list[tuple[str, dict]]] = {}
    for stem, r in classification_runs(dataset):
        groups.setdefault(_configuration(r), []).append((stem, r))
    return list(groups.values())


def _mean(runs: list[tuple[str, dict]], key: str) -> float:
    return sum(r["rnnkit"][key] for _, r in runs) / len(runs)


def _chosen_runs(dataset: str) -> list[tuple[str, dict]]:
    """The candidate with the best mean dev accuracy over its seeds: runs are candidates too,
    and a candidate run on several seeds is judged, and reported, by their mean."""
    groups = _candidates(dataset)
    return max(groups, key=lambda g: _mean(g, "dev_accuracy")) if groups else []


def classification() -> str:
    rows = ["| data | rnnkit model (chosen on dev) | rnnkit accuracy | macro-F1 | TF-IDF + LR "
            "accuracy | rnnkit time |", "|---|---|---|---|---|---|"]  # fmt: skip
    found = False
    for name in ("sentiment", "bbc"):
        best = _chosen_runs(name)
        if best:
            found = True
            r = best[0][1]
            chosen = r.get("selected_by_dev_accuracy", "lstm-max")
            seeds = f", mean of {len(best)} seeds" if len(best) > 1 else ""
            tried = sum(len(g[0][1].get("candidates", {})) or 1 for g in _candidates(name))
            rows.append(
                f"| {name} ({r['test_examples']} test) | {chosen} (of {tried}{seeds}) "
                f"| **{_mean(best, 'accuracy'):.4f}** | {_mean(best, 'macro_f1'):.4f} "
                f"| {r['tfidf_logreg']['accuracy']:.4f} | {_mean(best, 'seconds'):.0f} s |"
            )
    return "\n".join(rows) if found else ""


def classification_run_table(dataset: str) -> str:
    """One row per result file of a data set that has several, with the command of each."""
    runs = classification_runs(dataset)
    if len(runs) < 2:
        return ""
    chosen = " and ".join(stem for stem, _ in _chosen_runs(dataset))
    rows = [f"Runs on {dataset} (chosen on mean dev accuracy: {chosen}):", "",
            "| result file | model | max length | dev accuracy | test accuracy "
            "| members alone, test | time | epochs (stop) |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for stem, r in runs:
        k = r["rnnkit"]
        members = k.get("member_test_accuracy")
        spread = f"{min(members):.4f}-{max(members):.4f}" if members else ""
        length = k.get("max_length", 400) or "all"
        rows.append(f"| {stem} | {r['selected_by_dev_accuracy']} | {length} "
                    f"| {k['dev_accuracy']:.4f} | {k['accuracy']:.4f} | {spread} "
                    f"| {k['seconds']:.0f} s | {k['epochs']} ({k['stopped']}) |")  # fmt: skip
    rows += ["", "Commands:", ""] + [f"- {stem}: `{r['command']}`" for stem, r in runs]
    return "\n".join(rows)


def classification_candidates(name: str) -> str:
    """Every candidate of one classification run: dev and test accuracy, and for ensembles
    the range of their members' test accuracy alone."""
    r = _load(f"classify_{name}")
    if not r or len(r.get("candidates", {})) < 2:
        return ""
    rows = [f"Candidates of the {name} run (chosen on dev accuracy: "
            f"{r['selected_by_dev_accuracy']}):", "",
            "| candidate | dev accuracy | test accuracy | members alone, test | time | epochs |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for key, c in r["candidates"].items():
        members = c.get("member_test_accuracy")
        spread = f"{min(members):.4f}-{max(members):.4f}" if members else ""
        rows.append(f"| {key} | {c['dev_accuracy']:.4f} | {c['accuracy']:.4f} | {spread} "
                    f"| {c['seconds']:.0f} s | {c['epochs']} |")  # fmt: skip
    return "\n".join(rows)


def tagging() -> str:
    r = _load("tag_pos")
    if not r:
        return ""
    rows = ["| tagger | test token accuracy | budget | epochs | training time |",
            "|---|---|---|---|---|"]  # fmt: skip
    for name, run in r["runs"].items():
        budget = f"{run['budget_minutes']:g} min" if "budget_minutes" in run else "-"
        epochs = run.get("epochs", "-")
        rows.append(f"| {name} | **{run['accuracy']:.4f}** | {budget} | {epochs} "
                    f"| {run['train_seconds']:.0f} s |")  # fmt: skip
    return "\n".join(rows) + f"\n\n{r['test_tokens']} test tokens."


def translation() -> str:
    r = _load("translate_en_fr")
    if not r:
        return ""
    rows = ["| system | decoding | BLEU | chrF | placeholders kept | decode time | epochs |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, run in r["runs"].items():
        decodings = {k: v for k, v in run.items() if isinstance(v, dict) and "bleu" in v}
        for label, d in (decodings or {"-": run}).items():
            rows.append(
                f"| {name} | {label} | **{d['bleu']:.2f}** | {d['chrf']:.2f} "
                f"| {d['placeholders_kept']:.1%} | {d['decode_seconds']:.0f} s "
                f"| {run.get('epochs', '-')} |"
            )
    return "\n".join(rows) + (
        f"\n\n{r['test_sentences']} test sentences; {r['budget_minutes_per_model']:g} minutes "
        "of training per model."
    )


def translation_ood() -> str:
    r = _load("translate_ood")
    if not r:
        return ""
    names = list(r["summary"])
    rows = ["| seed | training | " + " | ".join(f"{n}: BLEU / chrF / repeats" for n in names)
            + " |", "|---|---|" + "---|" * len(names)]  # fmt: skip
    for run in r["runs"]:
        cells = [f"**{s['bleu']:.2f}** / {s['chrf']:.2f} / {s['repeated_phrases']}"
                 for s in (run["scores"][n] for n in names)]  # fmt: skip
        took = "-" if run["train_seconds"] is None else f"{run['train_seconds']:.0f} s"
        rows.append(f"| {run['seed']} | {took} | " + " | ".join(cells) + " |")
    copy = [f"{r['copy_source'][n]['bleu']:.2f} / {r['copy_source'][n]['chrf']:.2f} / -"
            for n in names]  # fmt: skip
    rows.append("| copy the source | | " + " | ".join(copy) + " |")
    sentences = ", ".join(f"{n} {r['copy_source'][n]['examples']}" for n in names)
    return "\n".join(rows) + f"\n\nSentences: {sentences}."


def translation_constraints() -> str:
    r = _load("translate_constraints")
    if not r:
        return ""
    modes = ("constrained", "unconstrained")
    rows = ["| file | seed | decoding | BLEU | chrF | repeats | placeholders kept | exact |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for run in r["runs"]:
        for name, f in run["files"].items():
            for mode in modes:
                m = f[mode]
                kept, exact = m["placeholders_kept"], m["placeholders_exact"]
                rows.append(f"| {name} | {run['seed']} | {mode} | **{m['bleu']:.2f}** "
                            f"| {m['chrf']:.2f} | {m['repeated_phrases']} | {kept:.1%} "
                            f"| {exact:.1%} |")  # fmt: skip
    first = r["runs"][0]["files"]
    counts = ", ".join(f"{name} {f['constrained']['with_placeholders']} of {f['examples']}"
                       for name, f in first.items())  # fmt: skip
    return "\n".join(rows) + f"\n\nSources that hold a placeholder: {counts}."


def summarization() -> str:
    r = _load("summarize_bbc")
    if not r:
        return ""
    rows = ["| system | ROUGE-1 | ROUGE-2 | ROUGE-L |", "|---|---|---|---|"]
    for name, m in r["runs"].items():
        rows.append(f"| {name} | **{m['rouge1']:.2f}** | {m['rouge2']:.2f} | {m['rougeL']:.2f} |")
    t = r["training"]
    return "\n".join(rows) + (
        f"\n\n{r['test_documents']} test documents, one sentence each; training "
        f"{t['seconds']:.0f} s, {t['epochs']} epochs ({t['stopped']})."
    )


def abstractive_summarization() -> str:
    r = _load("summarize_bbc_abstractive")
    if not r:
        return ""
    rows = [
        "| system | seeds | training per run | dev ROUGE-1 | ROUGE-1 (lowest) | ROUGE-2 | ROUGE-L "
        "| words |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in r["runs"].items():
        t = r["training"].get(name)
        records = t if isinstance(t, list) else [t] if t else []
        budget, seeds, lowest, dev = "none", "", "", ""
        kept = [x["best_valid"]["rouge1"] for x in records if "rouge1" in x.get("best_valid", {})]
        if kept:  # the dev score of the epoch each run kept, mean over the runs
            dev = f"{sum(kept) / len(kept):.2f}"
        if records:
            secs = sum(x["seconds"] for x in records) / len(records)
            epochs = ", ".join(str(x["epochs"]) for x in records)
            stops = sorted({x["stopped"] for x in records})
            budget = (f"at most {m['budget_minutes']:g} min: {secs:.0f} s mean, epochs {epochs} "
                      f"({', '.join(stops)})")  # fmt: skip
        if "per_seed" in m:
            seeds = ", ".join(str(x["seed"]) for x in m["per_seed"])
            if len(m["per_seed"]) > 1:
                lowest = f" ({m['rouge1_min']:.2f})"
        words = f"{m['mean_words']:.1f}" if m.get("mean_words") else ""
        rows.append(f"| {name} | {seeds} | {budget} | {dev} | **{m['rouge1']:.2f}**{lowest} "
                    f"| {m['rouge2']:.2f} | {m['rougeL']:.2f} | {words} |")  # fmt: skip
    note = (f"\n\n{r['test_documents']} test documents; the extractive rows take one sentence, "
            f"the generated ones read the first {r['source_tokens']} tokens of the article; a "
            "generating system's figures are the mean over its seeds (words: the mean length of "
            "its headlines; dev ROUGE-1: the dev score of the epoch each run kept).")  # fmt: skip
    e = r.get("position_evidence")
    if e:
        later = e["oracle_found_among_later"]
        note += (
            f" SummaRuNNer and position: it picks the first sentence in "
            f"{e['model_picks_first']:.1%} of the test articles, where the oracle sentence is "
            f"the first in {e['oracle_is_first']:.1%}; its mean probability is "
            f"{e['p_first']:.3f} for the first sentence, {e['p_oracle_not_first']:.3f} for the "
            f"oracle sentence where that is not the first ({e['oracle_not_first']} articles) and "
            f"{e['p_other']:.3f} for the others; in those articles it ranks the oracle sentence "
            f"first among the later sentences in {later['model']:.1%} (the second sentence is "
            f"the oracle in {later['second sentence']:.1%}, a random pick finds it in "
            f"{later['random']:.1%})."
        )
    return "\n".join(rows) + note


def bilm_tagging() -> str:
    r = _load("tag_bilm")
    if not r:
        return ""
    rows = ["| tagger | test token accuracy | budget | epochs | training time |",
            "|---|---|---|---|---|"]  # fmt: skip
    for name, run in r["runs"].items():
        rows.append(
            f"| {name} | **{run['accuracy']:.4f}** | {run['budget_minutes']:g} min "
            f"| {run['epochs']} | {run['train_seconds']:.0f} s |"
        )
    b = r["bilm"]
    ppl = f", valid perplexity {b['valid_perplexity']}" if "valid_perplexity" in b else ""
    return "\n".join(rows) + (
        f"\n\n{r['train_sentences']} training sentences, {r['test_tokens']} test tokens. The "
        f"biLM trained {b['train_seconds']:.0f} s ({b['steps']} steps{ppl}); "
        f"{r['bilm_unknown_test_tokens']:.1%} of the test tokens are unknown to it."
    )


def _speed_rows(r: dict) -> list[str]:
    rows = [
        "| layer | mode | hidden | batch | T | backend | rnnkit tok/s | torch tok/s | ratio "
        "| paired ratio (range) | first call (rnnkit / torch) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for x in r["rows"]:
        first = x["first_call_s"]
        paired = "n/a"  # results written before paired ratios were measured
        if "paired_ratio" in x:
            low, high = x["paired_range"]
            paired = f"**{x['paired_ratio']:.2f}** ({low:.2f}-{high:.2f})"
        rows.append(
            f"| {x['layer']} | {x['mode']} | {x['hidden']} | {x['batch']} | {x['steps']} "
            f"| {x['backend']} | {x['rnnkit_tok_s']} | {x['torch_tok_s']} | {x['ratio']:.2f} "
            f"| {paired} | {first['rnnkit']:.2f} s / {first['torch']:.2f} s |"
        )
    return rows


def speed_run(name: str) -> str:
    """One speed result file (``speed``, ``speed_keep``, ``speed_keras`` ...), with its command."""
    r = _load(name)
    if not r:
        return ""
    step = r["step_batch1_2x512"]
    allocator = r.get("allocator", "default")
    machine = r.get("machine", {})
    where = machine.get("cpu", "unknown CPU")
    if r.get("device", "cpu") != "cpu":
        where = f"{machine.get('cuda')}, PyTorch {machine.get('torch')}"
    text = [f"`{r['command']}` ({r['date']}, {where}, allocator: {allocator}):", ""]
    text += _speed_rows(r)
    text.append("")
    keras = [x for x in r["rows"] if "keras_tok_s" in x]
    if keras:
        text += [f"Keras 3 ({r['keras_backend']} backend) in the same run:", "",
                 "| layer | mode | hidden | batch | T | Keras tok/s | rnnkit / Keras (paired) |",
                 "|---|---|---|---|---|---|---|"]  # fmt: skip
        text += [f"| {x['layer']} | {x['mode']} | {x['hidden']} | {x['batch']} | {x['steps']} "
                 f"| {x['keras_tok_s']} | **{x['paired_ratio_vs_keras']:.2f}** |"
                 for x in keras]  # fmt: skip
        text.append("")
    later = r.get("step_batch1_2x512_after_training")
    when = " (measured first in the run)" if later else ""
    text.append(
        f"Batch-1 step, 2 layers of 512, no grad{when}: rnnkit {step['rnnkit_ms_per_token']} "
        f"ms per token, torch.nn.LSTM called step by step {step['torch_ms_per_token']} ms "
        f"({step['speedup']}x)."
    )
    if later:
        text.append(
            f"The same after the training calls: rnnkit {later['rnnkit_ms_per_token']} ms, "
            f"torch {later['torch_ms_per_token']} ms ({later['speedup']}x)."
        )
    gru = r.get("step_batch1_2x512_gru")
    if gru:
        text.append(
            f"The GRU's step (after the training calls): rnnkit {gru['rnnkit_ms_per_token']} "
            f"ms, torch.nn.GRU called step by step {gru['torch_ms_per_token']} ms "
            f"({gru['speedup']}x)."
        )
    if r.get("native_build_s"):
        built = ", ".join(f"{k} {v} s" for k, v in r["native_build_s"].items())
        text.append(f"Building the native kernels from an empty cache: {built}.")
    return "\n".join(text)


SPEED_RUNS = ("speed", "speed_keep", "speed_keras", "speed_min", "speed_grid", "speed_full")

#: rnnkit over the faster peer that a row must reach: 1.2 against Keras for GRU inference
KERAS_TARGET = {("gru", "infer"): 1.2}


def speed_shortfalls(r: dict) -> list[dict]:
    """The rows where rnnkit is slower than the faster of ``torch.nn`` and Keras (paired
    ratios below 1), or GRU inference below 1.2 times Keras."""
    short = []
    for x in r["rows"]:
        keras = x.get("paired_ratio_vs_keras")
        need = KERAS_TARGET.get((x["layer"], x["mode"]), 1.0)
        if x["paired_ratio"] < 1.0 or (keras is not None and keras < need):
            short.append(x)
    return short


def _top_operators(side: dict, count: int = 3) -> str:
    return ", ".join(f"{o['name']} x{o['calls_per_call']:g} {o['share']:.0%}"
                     for o in side["operators"][:count])  # fmt: skip


def speed_profiles() -> str:
    """``speed_profile.json``: per profiled row, each side's time per step and where it goes."""
    r = _load("speed_profile")
    if not r:
        return ""
    text = [f"`{r['command']}` ({r['date']}, {r['machine']['cpu']}):", "",
            "| row | rnnkit µs per step | its top operators (calls per call, share of the "
            "call) | outside PyTorch operators | torch µs per step | its top operators |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for x in r["rows"]:
        ours, base = x["rnnkit"], x["torch"]
        text.append(
            f"| {x['layer']} {x['mode']} {x['hidden']}/{x['batch']}/{x['steps']} "
            f"| {ours['us_per_step']} | {_top_operators(ours)} "
            f"| {ours['outside_operators_share']:.0%} | {base['us_per_step']} "
            f"| {_top_operators(base, 2)} |"
        )
    return "\n".join(text)


def speed_full(name: str) -> str:
    """A full grid's result file (``speed_run``), then the rows below the faster peer."""
    text = speed_run(name)
    r = _load(name)
    if not r:
        return text
    short = speed_shortfalls(r)
    lines = ["", f"{len(r['rows']) - len(short)} of {len(r['rows'])} rows at or above the faster "
             "peer (GRU inference: 1.2 times Keras); the rows below it:", "",
             "| layer | mode | hidden | batch | T | backend | rnnkit / torch.nn | rnnkit / Keras |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for x in short:
        keras = x.get("paired_ratio_vs_keras")
        lines.append(
            f"| {x['layer']} | {x['mode']} | {x['hidden']} | {x['batch']} | {x['steps']} "
            f"| {x['backend']} | {x['paired_ratio']:.2f} "
            f"| {'n/a' if keras is None else f'{keras:.2f}'} |"
        )
    return text + "\n" + "\n".join(lines)


def speed() -> str:
    """Every speed result present, each with its command."""
    return "\n\n".join(t for t in (speed_run(name) for name in SPEED_RUNS) if t)


def lengths() -> str:
    r = _load("lengths")
    if not r:
        return ""
    rows = [f"`{r['command']}` ({r['date']}; bidirectional, tokens/s counts real tokens only):",
            "", "| layer | shape (H, N, L) | lengths (distinct) | mode | rnnkit, lengths "
            "| torch packed | torch padded, no lengths | vs packed | vs padded |",
            "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for x in r["rows"]:
        rows.append(
            f"| {x['layer']} | {x['shape']} ({x['hidden']}, {x['batch']}, {x['steps']}) "
            f"| {x['lengths']} ({x['distinct_lengths']}) | {x['mode']} | {x['rnnkit_tok_s']} "
            f"| {x['torch_packed_tok_s']} | {x['torch_padded_tok_s']} "
            f"| **{x['ratio_vs_packed']:.2f}** | {x['ratio_vs_padded']:.2f} |"
        )
    return "\n".join(rows)


def products() -> str:
    r = _load("products")
    if not r:
        return ""
    rows = [f"`{r['command']}`:", "",
            "| rows x inputs -> outputs | addmm (MKL) | oneDNN, packed weight | speed-up |",
            "|---|---|---|---|"]  # fmt: skip
    for x in r["rows"]:
        rows.append(f"| {x['rows']} x {x['inputs']} -> {x['outputs']} | {x['addmm_us']} us "
                    f"| {x['onednn_us']} us | **{x['speedup']}x** |")  # fmt: skip
    return "\n".join(rows)


def print_tables() -> None:
    tables = (("Penn Treebank", ptb()), ("Shakespeare", shakespeare()),
              ("Defaults", defaults()), ("Classification", classification()),
              ("Sentiment candidates", classification_candidates("sentiment")),
              ("BBC candidates", classification_candidates("bbc")),
              ("BBC runs", classification_run_table("bbc")),
              ("Part-of-speech tagging", tagging()),
              ("Translation", translation()), ("Translation out of domain", translation_ood()),
              ("Placeholder constraints", translation_constraints()),
              ("Summarization", summarization()),
              ("Abstractive summarization", abstractive_summarization()),
              ("Tagging with biLM features", bilm_tagging()), ("Speed", speed()),
              ("Variable lengths", lengths()), ("Step products", products()))  # fmt: skip
    for title, table in tables:
        if table:
            print(f"### {title}\n\n{table}\n")


if __name__ == "__main__":
    if "--print" in sys.argv[1:]:
        print_tables()
    else:
        from report_page import main

        sys.exit(main(sys.argv[1:]))
