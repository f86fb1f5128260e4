"""Every tutorial in docs/tutorials runs to the end on its tiny budget and writes its figures.

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

#: figures each tutorial must write into RNNKIT_TUTORIAL_OUT
FIGURES = {
    "01_rnn_abstraction.py": ["01_states.png"],
    "02_bptt_vanishing_gradient.py": ["02_gradient_flow.png"],
    "03_inside_lstm_and_gru.py": ["03_gates.png"],
    "04_language_models.py": ["04_training.png", "04_temperature.png"],
    "05_classification_and_tagging.py": ["05_attention_pooling.png", "05_crf_transitions.png"],
    "06_encoder_decoder_attention.py": ["06_attention.png"],
    "07_summarization_and_elmo.py": ["07_sentence_scores.png", "07_scalar_mix.png"],
}


def test_the_seven_tutorials_are_there():
    names = {path.name for path in TUTORIALS}
    assert set(FIGURES) <= names


@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.name)
def test_tutorial_runs_quick(script, tmp_path):
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
