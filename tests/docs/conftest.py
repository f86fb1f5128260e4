"""The documentation's own Sphinx extensions (docs/_ext) are importable in these tests."""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
