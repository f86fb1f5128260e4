# Set-up is two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.rnnkit-installed

.PHONY: demo test lint install clean

install: $(STAMP)

# torch first, pinned: with a newer torch unresolved, pip would pull several GB of CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The main job: a tour of the layers, then the default character-level LSTM trained on the
# bundled Shakespeare for DEMO_SECONDS on the CPU, then a sample generated from it.
DEMO_SECONDS ?= 180
demo: $(STAMP)
	$(VENV)/bin/rnnkit demo
	$(VENV)/bin/rnnkit train lm --out runs/demo --overwrite --trainer.max_time=$(DEMO_SECONDS)
	$(VENV)/bin/rnnkit generate runs/demo --prompt "KING HENRY." --max-tokens 400 \
		--temperature 0.8 --seed 1

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: lint
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
