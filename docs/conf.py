"""Sphinx configuration of rnnkit's documentation (Sphinx + MyST Markdown + furo).

Build with ``make docs`` (Python >= 3.11 and the ``docs`` extra). Nothing is fetched from the
network while building: no intersphinx, no remote images.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the rnnkit package of this checkout
sys.path.insert(0, str(DOCS / "_ext"))

import rnnkit  # noqa: E402

project = "rnnkit"
author = "the rnnkit authors"
copyright = "the rnnkit authors"
version = release = rnnkit.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "rnnkit_cli",  # docs/_ext: the command-line reference from the argparse parsers
    "rnnkit_tutorials",  # docs/_ext: tutorials/NN_slug.py scripts as pages
    "rnnkit_include",  # docs/_ext: CONTRIBUTING.md inside the contributing page
]

# Markdown pages, and the tutorial scripts (docs/tutorials/NN_slug.py) as pages of their own.
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
include_patterns = ["**.md", "**.rst", "tutorials/[0-9][0-9]_*.py"]
exclude_patterns = ["_build", "_ext", "**/_*"]

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # not torch.nn.Module's forward() text on every layer
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_mock_imports = ["matplotlib", "tensorboard"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [
    ("Shape", "params_style"),
    ("Fields", "params_style"),  # the data configs' fields
    ("Budgets", "params_style"),  # TrainerConfig's groups of fields
    ("Optimisation", "params_style"),
    ("Evaluation and stopping", "params_style"),
    ("Checkpoints and logs", "params_style"),
    ("Reproducibility", "params_style"),
]


# Keep "--model.cell" and "--data" as typed: no en dashes or curly quotes in prose.
smartquotes = False

html_theme = "furo"
html_title = f"rnnkit {release}"
html_static_path: list[str] = []
templates_path: list[str] = []
