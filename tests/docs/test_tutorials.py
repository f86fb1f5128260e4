"""The tutorials that follow the lecture notes run to the end on their tiny budget and write
their figures; every tutorial in docs/tutorials is run by this test or by one of its own.

Each script runs in its own process, from the repository root, with ``RNNKIT_TUTORIAL_QUICK=1``
(small data, few steps, the same code) and its output folder in a temporary directory. A
tutorial asserts the facts it teaches, so a wrong fact fails it here.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("[0-9][0-9]_*.py"))

#: the tutorials run here, and the figures each must write into RNNKIT_TUTORIAL_OUT
FIGURES = {
    "01_rnn_abstraction.py": ["01_states.png"],
    "02_bptt_vanishing_gradient.py": ["02_gradient_flow.png"],
    "03_inside_lstm_and_gru.py": ["03_gates.png"],
    "04_language_models.py": ["04_training.png", "04_temperature.png"],
    "05_classification_and_tagging.py": ["05_attention_pooling.png", "05_crf_transitions.png"],
    "06_encoder_decoder_attention.py": ["06_attention.png"],
    "07_summarization_and_elmo.py": ["07_sentence_scores.png", "07_scalar_mix.png"],
}


def test_every_tutorial_is_run_by_a_test():
    assert set(FIGURES) <= {path.name for path in TUTORIALS}
    here = Path(__file__)
    others = "".join(p.read_text() for p in here.parent.glob("test_*.py") if p != here)
    for path in TUTORIALS:  # a tutorial with a test of its own is named in that test
        assert path.name in FIGURES or path.name in others, f"no test runs {path.name}"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_tutorial_runs_quick(name, tmp_path):
    script = ROOT / "docs" / "tutorials" / name
    env = {
        **os.environ,
        "RNNKIT_TUTORIAL_QUICK": "1",
        "RNNKIT_TUTORIAL_OUT": str(tmp_path),
        "MPLBACKEND": "Agg",
        # the quick models are tiny: a second thread gains nothing and, on a busy machine,
        # spinning OpenMP threads cost more than the work
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(script.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    for figure in FIGURES.get(script.name, []):
        assert (tmp_path / figure).is_file(), f"{script.name} did not write {figure}"
    assert not list((ROOT / "docs" / "tutorials").glob("*.png")), "figures went into the source"
