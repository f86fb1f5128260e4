"""A table of bad commands through the ``rnnkit`` entry point: exit status, the message, and
never a traceback.

The table runs in one subprocess that calls ``rnnkit.cli.main.main`` for each row as the
installed ``rnnkit`` script does (``sys.exit(main())``), capturing stderr and any exception
that escapes; two rows also run the ``rnnkit`` executable itself. Model-loading rows use a
tiny language model, damaged in a copy per row.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnkit.data.tokenizers import CharTokenizer
from rnnkit.models import LanguageModel
from rnnkit.models.io import save_model_dir

ROOT = Path(__file__).resolve().parents[2]
DRIVER = """
import contextlib, io, json, sys, traceback
from rnnkit.cli.main import main
out = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
        except BaseException:
            code, _ = "exception", traceback.print_exc(file=err)
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""


def _damage(run: Path, how: str) -> None:
    model = run / "model"
    if how == "truncated":
        data = (model / "model.safetensors").read_bytes()
        (model / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif how == "flipped":
        data = bytearray((model / "model.safetensors").read_bytes())
        data[-5] ^= 4
        (model / "model.safetensors").write_bytes(bytes(data))
    elif how == "newer":
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**config, "rnnkit_version": "9.0.0"}))
    elif how == "no config":
        (model / "config.json").unlink()
    elif how == "not json":
        (model / "config.json").write_text('{\n  "model_type": oops\n}\n')
    elif how == "a list":
        (model / "config.json").write_text("[1, 2]\n")
    elif how == "classifier":
        config = json.loads((model / "config.json").read_text())
        (model / "config.json").write_text(json.dumps({**config, "meta": {"task": "classify"}}))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad_commands")
    text = "the quick brown fox jumps over the lazy dog\n" * 20
    (root / "text.txt").write_text(text)
    (root / "bad.tsv").write_text("pos\tgood\nno tab here\n")
    (root / "bad.yaml").write_text("trainer:\n  lr: 0.1\n   max_steps: [\n")
    (root / "bad.jsonl").write_bytes(b'{"text": "a"}\n\x00\xff\n')
    (root / "a_file").write_text("not a directory")
    (root / "short.txt").write_text("too short\n")
    tok = CharTokenizer.train(text)
    model = LanguageModel(vocab_size=tok.vocab_size, embedding_size=4, hidden_size=4)
    save_model_dir(root / "good", model, tok, {"task": "lm"})
    paths = {k.replace(".", "_"): str(root / k)
             for k in ("text.txt", "bad.tsv", "bad.yaml", "bad.jsonl", "short.txt")}  # fmt: skip
    for how in ("truncated", "flipped", "newer", "no config", "not json", "a list", "classifier"):
        shutil.copytree(root / "good", root / how)
        _damage(root / how, how)
        paths[how.replace(" ", "_")] = str(root / how)
    return {**paths, "good": str(root / "good"), "out": str(root / "runs" / "r"),
            "under_file": str(root / "a_file" / "run")}  # fmt: skip


TRAIN = ["train", "lm", "--data", "{text_txt}", "--out", "{out}", "--trainer.max_steps=1"]
DIAGNOSE = ["diagnose", "gradients", "--cells", "rnn", "--train-steps", "0", "--length", "5",
            "--out", "{out}.png"]  # fmt: skip
TABLE = [  # argv, exit status, part of the message
    (["generate", "{good}", "--top-p", "1.5"], 2, "argument --top-p: must be in (0, 1], got 1.5"),
    (["generate", "{good}", "--temperature", "-1"], 2, "argument --temperature: must be > 0"),
    (
        ["translate", "{good}", "--input", "{text_txt}", "--beam", "0"],
        2,
        "argument --beam: must be >= 1, got 0",
    ),
    (["generate", "{good}", "--no-such-flag"], 2, "unrecognized arguments: --no-such-flag"),
    ([*TRAIN, "--trainer.lr=fast"], 2, "--trainer.lr: expected a float, got 'fast'"),
    ([*TRAIN, "--model.hidden_size=many"], 2, "--model.hidden_size: expected an integer"),
    ([*TRAIN, "--config", "{bad_yaml}"], 2, "bad.yaml: line 3, column"),
    (["train", "classify", "--data", "{bad_tsv}", "--out", "{out}"], 1, "bad.tsv:2: expected"),
    (["generate", "{truncated}"], 1, "model.safetensors: truncated"),
    (["generate", "{flipped}"], 1, "model.safetensors: damaged"),
    (["generate", "{newer}"], 1, "newer than this rnnkit"),
    (["generate", "{no_config}"], 1, "no model here"),
    (["evaluate", "{truncated}", "--data", "{text_txt}"], 1, "model.safetensors: truncated"),
    (["predict", "{flipped}", "--data", "{bad_tsv}"], 1, "model.safetensors: damaged"),
    (["translate", "{newer}", "--input", "{text_txt}"], 1, "newer than this rnnkit"),
    (["summarize", "{truncated}", "--input", "{bad_jsonl}"], 1, "model.safetensors: truncated"),
    (["embed", "{flipped}", "--input", "{text_txt}"], 1, "model.safetensors: damaged"),
    (["train", "lm", "--data", "{text_txt}", "--out", "{under_file}"], 1, "a_file"),
    (["evaluate", "{not_json}", "--data", "{text_txt}"], 1, "config.json: line 2: not valid JSON"),
    (["evaluate", "{a_list}", "--data", "{text_txt}"], 1, "expected a JSON object, got list"),
    (["predict", "{not_json}", "--data", "{bad_tsv}"], 1, "config.json: line 2: not valid JSON"),
    (["generate", "{a_list}"], 1, "config.json: expected a JSON object, got list"),
    ([*DIAGNOSE, "--cells", "lstmm"], 2, "argument --cells: unknown cell 'lstmm'; choose from"),
    ([*DIAGNOSE, "--data", "{short_txt}"], 1, "short.txt: too short for --length 5 (needs 96"),
    ([*DIAGNOSE, "--model", "{classifier}"], 1, "not a language model (task 'classify')"),
    (["translate", "{good}", "--input", "{text_txt}"], 1, "not a translation model (task 'lm')"),
]


def _argv(argv, files):
    return [a.format(**files) if "{" in a else a for a in argv]


def test_bad_commands_exit_with_one_line_and_no_traceback(files):
    rows = [_argv(argv, files) for argv, _, _ in TABLE]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(rows)], capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.splitlines()[-1])
    for (argv, code, message), (got, err) in zip(TABLE, results, strict=True):
        assert "Traceback" not in err, f"{argv}: {err}"
        assert got == code and message in err, f"{argv}: exit {got}, stderr {err!r}"
        assert len(err.strip().splitlines()) == 1 or code == 2, f"{argv}: {err!r}"


def test_the_installed_script_maps_errors_to_exit_codes(files):
    script = Path(sys.executable).with_name("rnnkit")
    if not script.exists():
        pytest.skip("the rnnkit console script is not installed beside this Python")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    usage = subprocess.run([str(script), "generate", files["good"], "--top-p", "2"],
                           capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert usage.returncode == 2 and "must be in (0, 1]" in usage.stderr
    damaged = subprocess.run([str(script), "generate", files["truncated"]],
                             capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert damaged.returncode == 1 and "Traceback" not in damaged.stderr
    assert "model.safetensors: truncated" in damaged.stderr
