"""The ctypes signatures of the native kernels, read from their C prototypes.

Each ``rnnkit_*`` function a ``.c`` file exports is bound through ctypes, which checks nothing
against the C side: a binding that lists a ``long`` where C takes a pointer, or one argument too
few, corrupts memory without an error. So the bindings do not spell their signatures out: they
read them here from the definitions in the C source, which is what gets compiled. Parameter
types map to ``rnnkit.kernels.build.CODES`` (``int`` -> ``"i"``, ``long`` -> ``"l"``, any
``void *`` -> ``"p"``); any other type is refused with the file, function and parameter named.

Example:
    >>> signatures("gru_step.c")["rnnkit_gru_step_forward"]
    ('illplpplplplplplpli', None)
"""

from __future__ import annotations

import ctypes
import functools
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
RETURNS: dict[str, type | None] = {"void": None, "int": ctypes.c_int}
_DEFINITION = re.compile(r"^(void|int)\s+(rnnkit_\w+)\s*\(([^)]*)\)\s*\{", re.MULTILINE)
_PARAMETER = re.compile(r"(?:const\s+)?(int|long|void\s*\*)\s*(\w+)")
Signature = tuple[str, type | None]


def parse(source: str, filename: str = "<source>") -> dict[str, tuple[Signature, list[str]]]:
    """Every exported ``rnnkit_*`` definition in C ``source``: name -> ((codes, restype),
    parameter names). Raises ValueError for a parameter type ctypes is not bound for here."""
    found = {}
    for match in _DEFINITION.finditer(source):
        ret, name, params = match.groups()
        codes, names = [], []
        for param in params.split(","):
            text = " ".join(param.split())
            typed = _PARAMETER.fullmatch(text)
            if typed is None:
                line = source.count("\n", 0, match.start()) + 1
                raise ValueError(f"{filename}:{line}: {name}: parameter {text!r} is not int, "
                                 "long or a pointer")  # fmt: skip
            kind = typed.group(1)
            codes.append("p" if kind.endswith("*") else kind[0])
            names.append(typed.group(2))
        found[name] = (("".join(codes), RETURNS[ret]), names)
    return found


@functools.cache
def signatures(filename: str) -> dict[str, Signature]:
    """name -> (argument codes, ctypes return type) for ``rnnkit.kernels.build.Kernel``, read
    from the kernel's C file in this package."""
    path = HERE / filename
    return {name: sig for name, (sig, _) in parse(path.read_text(), str(path)).items()}
