"""The valid range of each numeric command-line option, checked before a command runs.

A value out of range is a usage error: ``rnnkit generate: error: argument --top-p: must be in
(0, 1], got 1.5`` on stderr and exit status 2, before any model is loaded. Options are found by
their argparse ``dest`` (``top_p``), so every command that has one shares its check. Commands
may also use ``option_type`` as an argparse ``type=``, which checks while parsing.

Example:
    >>> problem(argparse.Namespace(temperature=-1.0))
    'argument --temperature: must be > 0, got -1.0'
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Range:
    """``low`` < value (``low_open``) or <= value, and value <= ``high``; None: unbounded."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        if self.high is None:
            return True
        return value < self.high if self.high_open else value <= self.high

    def __str__(self) -> str:
        if self.high is None:
            return f"> {self.low:g}" if self.low_open else f">= {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


POSITIVE, AT_LEAST_1, NON_NEGATIVE = Range(0, low_open=True), Range(1), Range(0)

#: argparse dest -> the range every command applies to it
RANGES: dict[str, Range] = {
    "temperature": POSITIVE,
    "top_k": AT_LEAST_1,
    "top_p": Range(0, 1, low_open=True),
    "max_tokens": AT_LEAST_1,
    "beam": AT_LEAST_1,
    "n_best": AT_LEAST_1,
    "max_length": AT_LEAST_1,
    "length_penalty": NON_NEGATIVE,
    "max_sentences": AT_LEAST_1,
    "max_words": AT_LEAST_1,
    "layer": NON_NEGATIVE,
    "steps": AT_LEAST_1,
    "length": AT_LEAST_1,
    "hidden_size": AT_LEAST_1,
    "train_steps": NON_NEGATIVE,
}


#: config fields (``--model.dropout``, a YAML ``trainer.lr``) by name -> their range; every
#: field whose name ends in ``dropout`` is a probability in [0, 1)
FIELD_RANGES: dict[str, Range] = {
    "hidden_size": AT_LEAST_1,
    "embedding_size": AT_LEAST_1,
    "num_layers": AT_LEAST_1,
    "batch_size": AT_LEAST_1,
    "eval_batch_size": AT_LEAST_1,
    "lr": POSITIVE,
    "linear_weight": NON_NEGATIVE,
    "linear_c": POSITIVE,
    "linear_buckets": NON_NEGATIVE,
}
PROBABILITY = Range(0, 1, high_open=True)


def field_problem(name: str, value: object) -> str | None:
    """Why ``value`` is out of range for the config field ``name``; None when it fits (or the
    field has no range, or the value is not a number)."""
    valid = PROBABILITY if name.endswith("dropout") else FIELD_RANGES.get(name)
    if valid is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    return None if valid.contains(value) else f"must be {valid}, got {value}"


def _flag(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def problem(args: argparse.Namespace) -> str | None:
    """The first option of ``args`` outside its range, as argparse words it; None if all fit."""
    for dest, valid in RANGES.items():
        value = getattr(args, dest, None)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not valid.contains(value):
                return f"argument {_flag(dest)}: must be {valid}, got {value}"
    return None


def option_type(kind: Callable[[str], Any], valid: Range) -> Callable[[str], Any]:
    """An argparse ``type=`` that parses with ``kind`` and checks ``valid``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        if not valid.contains(value):
            raise argparse.ArgumentTypeError(f"must be {valid}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse
