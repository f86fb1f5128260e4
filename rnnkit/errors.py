"""rnnkit's own error types: each one's message is a complete sentence for the user.

The command line prints any of them as one line on stderr and exits with status 1 (``rnnkit
--help`` and ``docs/guides/failures.md`` list the exit codes); Python callers catch them by
type. Each message names the file and line, the key, or the checkpoint that was at fault.

- ``RnnkitError``: the base class.
- ``ModelFileError``: a model directory or checkpoint that cannot be loaded (missing, truncated
  or damaged files, a config written by a newer rnnkit, a tokenizer that does not fit).
- ``TrainingDiverged``: too many non-finite steps in a row; names the last good checkpoint.
- ``OutputError``: an output file or directory could not be written (permissions, full disk).

``rnnkit.data.DataError`` (bad input data) and ``rnnkit.cli.overrides.ConfigError`` (a bad
config file or override) are ``RnnkitError`` subclasses too.

Example:
    >>> try:
    ...     rnnkit.load("runs/damaged")
    ... except rnnkit.errors.ModelFileError as error:
    ...     print(error)  # runs/damaged/model/model.safetensors: truncated (...)
"""

from __future__ import annotations


class RnnkitError(Exception):
    """An error whose message is complete for the user: no traceback is needed to act on it."""


class ModelFileError(RnnkitError, ValueError):
    """A model directory or checkpoint is missing, damaged or from a newer rnnkit."""


class TrainingDiverged(RnnkitError):
    """Training stopped after too many non-finite losses or gradients in a row."""


class OutputError(RnnkitError, OSError):
    """An output could not be written; what was there before is left as it was."""
