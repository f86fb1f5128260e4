"""docs/benchmarks.md and the README's summary are what benchmarks/report.py writes."""

import json
import shutil
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import report  # noqa: E402  (benchmarks/ is a folder of scripts)
import report_page  # noqa: E402


def test_committed_page_is_what_report_writes():
    assert report_page.PAGE.read_text() == report_page.page(), (
        "docs/benchmarks.md is out of date: run python benchmarks/report.py"
    )


def test_readme_summary_is_what_report_writes():
    readme = report_page.README.read_text()
    assert report_page.readme_with_block(readme) == readme, (
        "the README's benchmark summary is out of date: run python benchmarks/report.py"
    )
    assert report_page.quality_summary() in readme and report_page.speed_summary() in readme


def test_figures_come_from_the_result_files(tmp_path, monkeypatch):
    results = tmp_path / "results"
    shutil.copytree(BENCHMARKS / "results", results)
    ptb = json.loads((results / "lm_ptb_small.json").read_text())
    ptb["test_perplexity"] = 77.77
    (results / "lm_ptb_small.json").write_text(json.dumps(ptb))
    speed = json.loads((results / "speed_full.json").read_text())  # the README's speed rows
    speed["step_batch1_2x512"]["speedup"] = 9.87
    (results / "speed_full.json").write_text(json.dumps(speed))
    monkeypatch.setattr(report, "RESULTS", results)
    monkeypatch.setattr(report_page, "RESULTS", results)
    page = report_page.page()
    assert "test perplexity 77.8" in page and "**77.8**" in page
    assert "9.87x" in report_page.readme_block()


def test_check_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    page, readme = tmp_path / "benchmarks.md", tmp_path / "README.md"
    page.write_text("# Benchmarks\n\nold\n")
    readme.write_text(f"# x\n\n{report_page.START}\nold\n{report_page.END}\n")
    monkeypatch.setattr(report_page, "PAGE", page)
    monkeypatch.setattr(report_page, "README", readme)
    assert report_page.main(["--check"]) == 1
    assert "benchmarks.md, README.md" in capsys.readouterr().out
    assert report_page.main([]) == 0  # writes both
    assert report_page.main(["--check"]) == 0
    assert readme.read_text().startswith("# x\n\n" + report_page.START)


def test_a_readme_without_the_block_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no summary block"):
        report_page.readme_with_block("# no markers here\n")


def _character_lm_result(complete: bool) -> dict:
    runs = [{"seed": s, "bpc": b, "train_seconds": 7000.0} for s, b in ((1, 1.51), (2, 1.57))]
    return {"shakespeare": {
        "metric": "bpc", "lower_wins": True, "complete": complete,
        "rnnkit_default": {"runs": runs, "mean": 1.54, "min": 1.51, "max": 1.57},
        "baseline": {"name": "torch.nn.LSTM, plain loop", "bpc": 1.62},
    }}  # fmt: skip


def test_character_lm_row_once_every_seed_ran(tmp_path, monkeypatch):
    monkeypatch.setattr(report_page, "RESULTS", tmp_path)
    assert report_page._character_lm_row() == []  # no result file yet
    path = tmp_path / "defaults_lm.json"
    path.write_text(json.dumps(_character_lm_result(complete=False)))
    assert report_page._character_lm_row() == []  # a run stopped part-way gets no row
    path.write_text(json.dumps(_character_lm_result(complete=True)))
    (row,) = report_page._character_lm_row()
    # lower wins: the bracket holds the worst seed, the highest bits per character
    assert "bits per character 1.5400 (1.5700)" in row and "same sizes 1.6200" in row


def _ran_result(command: str) -> dict:
    machine = {"cpu": "Test CPU", "cores": 2, "torch": "2.13.0+cpu"}
    return {"command": command, "date": "2026-01-02 03:04:05 UTC", "machine": machine}


def test_a_table_from_several_files_names_each_run(tmp_path, monkeypatch):
    monkeypatch.setattr(report_page, "RESULTS", tmp_path)
    names = ("defaults_lm", "defaults_classify", "defaults_tag")
    assert report_page._ran_lines(names) == []  # no file: nothing to name
    (tmp_path / "defaults_tag.json").write_text(json.dumps(_ran_result("tag run")))
    (only,) = [line for line in report_page._ran_lines(names) if line]
    assert only.startswith("Ran as `tag run`, 2026-01-02 03:04:05 UTC, Test CPU (2 cores")
    (tmp_path / "defaults_lm.json").write_text(json.dumps(_ran_result("lm run")))
    lines = [line for line in report_page._ran_lines(names) if line]
    # one line per file that exists, in the order the section names them
    assert lines[0] == "Ran as:" and len(lines) == 3
    assert lines[1].startswith("- `lm run`") and lines[2].startswith("- `tag run`")


@pytest.mark.parametrize(
    ("seeds", "label"),
    [((1,), "1.5100 (seed 1 only)"), ((1, 2), "1.5100 / 1.5700 (seeds 1 and 2 only)")],
)
def test_a_stopped_run_says_which_seeds_its_row_holds(tmp_path, monkeypatch, seeds, label):
    result = _character_lm_result(complete=False)
    runs = result["shakespeare"]["rnnkit_default"]["runs"]
    result["shakespeare"]["rnnkit_default"]["runs"] = [r for r in runs if r["seed"] in seeds]
    result["shakespeare"]["ahead_on_every_seed"] = True
    (tmp_path / "defaults_lm.json").write_text(json.dumps(result))
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    (row,) = [line for line in report.defaults().splitlines() if line.startswith("| lm ")]
    assert f"| {label} |" in row


def test_seeds_of_one_classification_command_are_one_candidate(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "RESULTS", tmp_path)

    def run(name, command, dev, test):
        scores = {"dev_accuracy": dev, "accuracy": test, "macro_f1": test, "seconds": 10}
        return {
            "command": command,
            "test_examples": 10,
            "selected_by_dev_accuracy": name,
            "tfidf_logreg": {"accuracy": 0.5},
            "rnnkit": {**scores, "epochs": 3, "stopped": "max_epochs"},
        }

    base = "python benchmarks/classify.py --dataset bbc --grid big"
    files = {
        "classify_bbc": run("small", "python benchmarks/classify.py --dataset bbc", 0.85, 0.9),
        "classify_bbc_big": run("big", base + " --name classify_bbc_big", 0.9, 0.8),
        "classify_bbc_big2": run("big", base + " --seed 2 --name classify_bbc_big2", 0.84, 0.6),
    }
    for stem, r in files.items():
        (tmp_path / f"{stem}.json").write_text(json.dumps(r))
    # the best single run (dev 0.9) is one seed of a candidate whose mean dev is 0.87
    assert "| bbc (10 test) | big (of 2, mean of 2 seeds) | **0.7000** |" in report.classification()
    assert "mean dev accuracy: classify_bbc_big and classify_bbc_big2" in (
        report.classification_run_table("bbc")
    )
