"""``model.type=auto``: both summarizers trained, the one with the better validation ROUGE kept."""

import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main
from rnnkit.tasks.summarize import SummarizeDataConfig, evaluate_summarizer, train_summarizer
from rnnkit.tasks.summarize_auto import (
    CANDIDATES_DIR,
    FINISHED_FILE,
    read_selection,
    train_auto,
)
from rnnkit.tasks.summarize_model import candidate_options, split_model_options
from rnnkit.training import TrainerConfig, TrainResult
from tests.tasks.test_summarize import _write


def test_auto_options_go_to_their_own_candidate():
    kind, rest = split_model_options({"type": "auto", "hidden_size": 8, "position_size": 4,
                                      "coverage": False})  # fmt: skip
    assert (kind, rest) == ("auto", {"hidden_size": 8, "position_size": 4, "coverage": False})
    split = candidate_options(rest)
    assert split["extractive"] == {"hidden_size": 8, "position_size": 4}
    assert split["abstractive"]["hidden_size"] == 8 and split["abstractive"]["coverage"] is False
    assert "position_size" not in split["abstractive"] and split["abstractive"]["copy"]
    with pytest.raises(ValueError, match=r"model\.type must be one of"):
        split_model_options({"type": "both"})
    with pytest.raises(ValueError, match="unknown key"):
        split_model_options({"type": "auto", "hidden": 8})


def _fake(scores: dict[str, float], calls: list):
    """Candidate trainers that write a model directory naming their type and report ``scores``."""

    def make(kind: str):
        def train(data, options, trainer, out_dir, resume) -> TrainResult:
            calls.append((kind, Path(out_dir), resume))
            (out_dir / "model").mkdir(parents=True, exist_ok=True)
            (out_dir / "model" / "config.json").write_text(json.dumps({"kind": kind}))
            (out_dir / "checkpoints").mkdir(exist_ok=True)
            best = {"loss": 1.0, "rouge1": scores[kind]}
            return TrainResult(3, 1, 0.1, "max_epochs", 1.0, best, best)

        return train

    return {kind: make(kind) for kind in scores}


@pytest.mark.parametrize(("scores", "kept"), [
    ({"extractive": 20.0, "abstractive": 25.0}, "abstractive"),
    ({"extractive": 30.0, "abstractive": 25.0}, "extractive"),
    ({"extractive": 25.0, "abstractive": 25.0}, "extractive"),  # a tie keeps the first
])  # fmt: skip
def test_the_better_validation_score_is_kept(tmp_path, scores, kept, capsys):
    calls: list = []
    trainer = TrainerConfig(monitor="rouge1")
    result = train_auto(None, {"hidden_size": 8}, trainer, tmp_path, False, _fake(scores, calls))
    assert [(k, d) for k, d, _ in calls] == [
        ("extractive", tmp_path / CANDIDATES_DIR / "extractive"),
        ("abstractive", tmp_path / CANDIDATES_DIR / "abstractive"),
    ]
    assert result.best_valid == {"loss": 1.0, "rouge1": scores[kept]}
    assert json.loads((tmp_path / "model" / "config.json").read_text()) == {"kind": kept}
    assert read_selection(tmp_path) == {"monitor": "rouge1", "scores": scores, "chosen": kept}
    assert f"kept the {kept} summarizer" in capsys.readouterr().err


def test_resume_continues_only_candidates_that_started(tmp_path):
    calls: list = []
    (tmp_path / CANDIDATES_DIR / "extractive" / "checkpoints").mkdir(parents=True)
    scores = {"extractive": 1.0, "abstractive": 2.0}
    train_auto(None, {}, TrainerConfig(monitor="rouge1"), tmp_path, True, _fake(scores, calls))
    assert [(k, again) for k, _, again in calls] == [("extractive", True), ("abstractive", False)]
    assert read_selection(tmp_path / "model") is None  # only the run directory holds it


def test_resume_does_not_train_a_finished_candidate_again(tmp_path):
    calls: list = []
    trainer = TrainerConfig(monitor="rouge1")
    first = _fake({"extractive": 3.0, "abstractive": 2.0}, calls)
    train_auto(None, {}, trainer, tmp_path, False, first)
    (tmp_path / CANDIDATES_DIR / "abstractive" / FINISHED_FILE).unlink()  # as if killed in it
    calls.clear()
    again = _fake({"extractive": 0.0, "abstractive": 5.0}, calls)
    result = train_auto(None, {}, trainer, tmp_path, True, again)
    assert [(k, resumed) for k, _, resumed in calls] == [("abstractive", True)]
    assert read_selection(tmp_path)["scores"] == {"extractive": 3.0, "abstractive": 5.0}
    assert result.best_valid == {"loss": 1.0, "rouge1": 5.0}


def test_the_loss_cannot_compare_the_candidates(tmp_path):
    with pytest.raises(ValueError, match=r"trainer\.monitor must be rouge1"):
        train_auto(None, {}, TrainerConfig(monitor="loss"), tmp_path, False, {})
    assert not (tmp_path / CANDIDATES_DIR).exists()  # refused before any training


def test_a_candidate_without_validation_rouge_is_named(tmp_path):
    def no_eval(data, options, trainer, out_dir, resume) -> TrainResult:
        return TrainResult(1, 0, 0.1, "max_steps", None, None, None)

    with pytest.raises(ValueError, match="extractive candidate has no validation 'rouge1'"):
        train_auto(None, {}, TrainerConfig(monitor="rouge1"), tmp_path, False,
                   {"extractive": no_eval, "abstractive": no_eval})  # fmt: skip


def test_auto_trains_both_and_the_run_directory_serves_the_kept_one(tmp_path):
    dev = _write(tmp_path / "dev.jsonl", 12, 1)
    data = SummarizeDataConfig(data=str(_write(tmp_path / "train.jsonl", 30, 0)), valid=str(dev),
                               summary_key="headline")  # fmt: skip
    model = {"type": "auto", "embedding_size": 8, "hidden_size": 8, "position_size": 4,
             "attention_size": 8, "dropout": 0.0}  # fmt: skip
    trainer = TrainerConfig(max_epochs=2, batch_size=8, lr=1e-2, log_every=1000, progress=False,
                            seed=1, monitor="rouge1")  # fmt: skip
    result = train_summarizer(data, model, trainer, tmp_path / "run")
    selection = read_selection(tmp_path / "run")
    assert selection is not None and set(selection["scores"]) == {"extractive", "abstractive"}
    chosen = selection["chosen"]
    assert selection["scores"][chosen] == max(selection["scores"].values())
    assert result.best_valid is not None
    assert result.best_valid["rouge1"] == selection["scores"][chosen]
    kept = tmp_path / "run" / CANDIDATES_DIR / chosen / "model" / "model.safetensors"
    assert (tmp_path / "run" / "model" / "model.safetensors").read_bytes() == kept.read_bytes()
    metrics = evaluate_summarizer(tmp_path / "run", dev)  # the kept model, on the same documents
    assert metrics["rouge1"] == pytest.approx(selection["scores"][chosen], abs=0.01)


def test_cli_default_is_auto_and_refuses_to_overwrite_its_run(tmp_path, capsys):
    train, dev = _write(tmp_path / "t.jsonl", 20, 0), _write(tmp_path / "d.jsonl", 8, 1)
    argv = ["train", "summarize", "--data", str(train), "--valid", str(dev), "--summary-key",
            "headline", "--out", str(tmp_path / "run"), "--model.embedding_size=8",
            "--model.hidden_size=8", "--model.attention_size=8", "--trainer.max_epochs=1",
            "--trainer.progress=false", "--seed=1"]  # fmt: skip
    assert main(argv) == 0
    assert "summarize: validation rouge1: extractive" in capsys.readouterr().err
    assert read_selection(tmp_path / "run") is not None
    assert main(argv) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0
    assert main([*argv, "--trainer.monitor=loss", "--overwrite"]) == 2
    assert "trainer.monitor must be rouge1" in capsys.readouterr().err
    assert read_selection(tmp_path / "run") is not None  # refused before the run was removed
