"""Corpora bundled with rnnkit, so examples and smoke runs need no download.

``shakespeare``: about 1 MB of contiguous Shakespeare (seven plays, Coriolanus to Henry VI
part 1; Project Gutenberg text, public domain; see ``corpora/README.md``), the usual size for
character-level language models.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from rnnkit.data.readers import read_text

#: name -> file under rnnkit/data/corpora/
BUNDLED: dict[str, str] = {"shakespeare": "shakespeare.txt"}


def bundled_corpus_path(name: str = "shakespeare") -> Path:
    """Path of a bundled corpus file.

    Args:
        name: one of ``BUNDLED`` (``"shakespeare"``).

    Raises:
        ValueError: an unknown name (the message lists the bundled ones).

    Example:
        >>> bundled_corpus_path().name
        'shakespeare.txt'
    """
    if name not in BUNDLED:
        raise ValueError(f"bundled_corpus_path: unknown corpus {name!r}; bundled: {[*BUNDLED]}")
    return Path(str(files("rnnkit.data").joinpath("corpora").joinpath(BUNDLED[name])))


def load_bundled(name: str = "shakespeare") -> str:
    """The text of a bundled corpus.

    Args:
        name: one of ``BUNDLED``.

    Example:
        >>> text = load_bundled("shakespeare")
        >>> text.startswith("THE TRAGEDY OF CORIOLANUS")
        True
    """
    return read_text(bundled_corpus_path(name))
