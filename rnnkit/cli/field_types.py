"""Read a config value as its dataclass field's type: ``3e-3`` is a float where the field is one.

Values typed on the command line arrive as text; values from a YAML file arrive as YAML 1.1
read them, where ``3e-3`` (no dot) is a string and ``1e3`` too. Both are converted by the
field's annotation:

- ``float``: any Python float literal (``3e-3``, ``1E-4``, ``.5``, ``2``), never NaN; ints too.
- ``int``: an integer (``512``, ``1_000``) or a float literal with an integral value (``1e4``).
- ``bool``: ``true``/``false`` (also ``yes``/``no``, ``on``/``off``, ``1``/``0``; any case).
- ``str``: the text as typed (surrounding quotes removed).
- ``X | None``: also ``null`` (``none``, ``~``).
- ``dict``: a YAML mapping (``{peephole: true}``).

A value that does not fit raises ``ConfigError`` naming the key, the expected type and the value:
``--trainer.lr: expected a float, got 'fast'``.

Example:
    >>> coerce("3e-3", float, "--trainer.lr")
    0.003
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any, Union

import yaml

from rnnkit.errors import RnnkitError

NULLS = {"null", "none", "~"}
TRUE, FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
NAMES = {
    int: "an integer",
    float: "a float",
    bool: "true or false",
    str: "a string",
    dict: "a mapping",
}


class ConfigError(RnnkitError, ValueError):
    """A bad config file or override; the message names the file and line, or the key."""


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    """``int | None`` -> (int, True); ``int`` -> (int, False)."""
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        return (args[0] if len(args) == 1 else Any), optional
    return annotation, False


def describe(annotation: Any) -> str:
    """How an error names the type: ``a float``, ``an integer or null``."""
    base, optional = _split_optional(annotation)
    base = typing.get_origin(base) or base
    name = NAMES.get(base, getattr(base, "__name__", str(base)))
    return f"{name} or null" if optional else name


def _from_text(text: str, base: Any) -> Any:
    """``text`` as ``base``; raises ValueError when it does not fit."""
    low = text.strip().lower()
    if base is bool:
        if low in TRUE | FALSE:
            return low in TRUE
        raise ValueError
    if base is float:
        value = float(text)
        if math.isnan(value):
            raise ValueError
        return value
    if base is int:
        try:
            return int(text)
        except ValueError:
            value = float(text)  # 1e4
            if not value.is_integer():
                raise
            return int(value)
    if base is str:
        quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
        return text[1:-1] if quoted else text
    value = yaml.safe_load(text)
    return _from_value(value, base)


def _from_value(value: Any, base: Any) -> Any:
    """A parsed (YAML) ``value`` as ``base``; raises ValueError when it does not fit."""
    if isinstance(value, str) and base in (int, float, bool):
        return _from_text(value, base)
    if base is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isnan(value):
            raise ValueError
        return float(value)
    if base is int and isinstance(value, float) and value.is_integer():
        return int(value)
    origin = typing.get_origin(base) or base
    if origin is Any or (isinstance(origin, type) and isinstance(value, origin)):
        if origin is int and isinstance(value, bool):
            raise ValueError  # True is an int to Python, not to a user
        return value
    raise ValueError


def coerce(value: Any, annotation: Any, key: str, text: bool = True) -> Any:
    """``value`` (text from the command line when ``text``, else as YAML parsed it) read as
    ``annotation``; raises ``ConfigError`` naming ``key``, the type expected and the value."""
    base, optional = _split_optional(annotation)
    if value is None or (text and isinstance(value, str) and value.strip().lower() in NULLS):
        if optional or base is Any:
            return None
        raise ConfigError(f"{key}: expected {describe(annotation)}, got null")
    try:
        if text and isinstance(value, str):
            return _from_text(value, base)
        return _from_value(value, base)
    except (ValueError, TypeError, OverflowError, yaml.YAMLError):
        raise ConfigError(f"{key}: expected {describe(annotation)}, got {value!r}") from None
