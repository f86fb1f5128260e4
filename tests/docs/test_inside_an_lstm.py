"""The tutorial "Looking inside an LSTM" runs to the end on its quick budget and writes its
findings (the unit search on a tiny model: the pipeline, not the figures)."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "tutorials" / "08_inside_an_lstm.py"


def test_inside_an_lstm_quick(tmp_path):
    env = {
        **os.environ,
        "RNNKIT_TUTORIAL_QUICK": "1",
        "RNNKIT_TUTORIAL_OUT": str(tmp_path),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",  # a tiny model: a second thread only spins on a busy machine
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    findings = json.loads((tmp_path / "08_findings.json").read_text())
    assert findings["quick"] is True and findings["train_steps"] == 10
    assert findings["feature"] in ("inside_quotes", "inside_parentheses", "position_in_line")
    assert 0 <= findings["unit"] < 32 and findings["trace"] == "layers.0[0].forward"
    assert -1.0 <= findings["r_picked"] <= 1.0 and not math.isnan(findings["r_checked"])
    assert max(findings["max_error"].values()) < 1e-4
    assert (tmp_path / "08_unit.png").is_file()
    assert "best: layers.0[0].forward unit" in done.stdout
