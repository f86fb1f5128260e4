# Set-up is two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.rnnkit-installed

.PHONY: demo test lint install clean docs docs-check

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
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m mypy

# The documentation site (Sphinx + MyST + furo; Python >= 3.11 and the `docs` extra, which `dev`
# includes): open docs/_build/html/index.html. Every warning is an error.
DOCS_FLAGS := -b html -j auto -W --keep-going -q
docs: $(STAMP)
	$(PY) -m sphinx $(DOCS_FLAGS) docs docs/_build/html

# Part of `make test`: a fresh build (-E: every page and docstring read again), warnings as errors.
docs-check: $(STAMP)
	@if $(PY) -c "import sphinx, myst_parser, furo" 2>/dev/null; then \
		$(PY) -m sphinx $(DOCS_FLAGS) -E docs docs/_build/check; \
	else \
		echo "docs-check skipped: the docs need Python >= 3.11 and the docs extra"; \
	fi

test: lint docs-check
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info docs/_build
