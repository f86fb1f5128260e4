"""The native kernels' ctypes signatures are read from their C definitions, and every call site
passes as many arguments as the definition takes."""

from __future__ import annotations

import ast
import ctypes
from pathlib import Path

import pytest

from rnnkit.kernels import gru_step, lnlstm_step, lstm_step, min_scan, prototypes, token_step

BINDINGS = {gru_step: "gru_step.c", lnlstm_step: "lnlstm_step.c", lstm_step: "lstm_step.c",
            min_scan: "min_scan.c", token_step: "token_step.c"}  # fmt: skip


def test_parse_reads_types_names_and_return_types():
    source = (
        "static void helper(float x) {}\n"
        "int rnnkit_demo(int dbl, long N,\n    const void *x, void *out, long s_out) {\n"
        "    return 0;\n}\n"
    )
    (codes, restype), names = prototypes.parse(source)["rnnkit_demo"]
    assert (codes, restype, names) == ("ilppl", ctypes.c_int, ["dbl", "N", "x", "out", "s_out"])
    assert "helper" not in prototypes.parse(source)


def test_parse_refuses_a_type_it_cannot_bind():
    source = "\n\nvoid rnnkit_bad(int n, double scale) {\n}\n"
    with pytest.raises(ValueError, match=r"demo\.c:3: rnnkit_bad: parameter 'double scale'"):
        prototypes.parse(source, "demo.c")


@pytest.mark.parametrize("module", list(BINDINGS), ids=lambda m: m.__name__.split(".")[-1])
def test_every_exported_function_is_bound_as_its_definition_says(module):
    path = Path(module.__file__).with_name(BINDINGS[module])
    parsed = prototypes.parse(path.read_text(), path.name)
    assert parsed, f"{path.name}: no rnnkit_* definitions found"
    assert module.SIGNATURES == {name: sig for name, (sig, _) in parsed.items()}
    library = module.library()
    if library is not None:  # built here: ctypes holds the same argument types
        for name, ((codes, _), _) in parsed.items():
            expected = [prototypes_code(c) for c in codes]
            assert getattr(library, name).argtypes == expected, name


@pytest.mark.parametrize("module", list(BINDINGS), ids=lambda m: m.__name__.split(".")[-1])
def test_every_call_site_passes_as_many_arguments_as_the_definition_takes(module):
    source = Path(module.__file__).read_text()
    counts = {name: len(codes) for name, (codes, _) in module.SIGNATURES.items()}
    seen = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in counts:
                seen.add(name)
                starred = any(isinstance(a, ast.Starred) for a in node.args)
                plain = sum(not isinstance(a, ast.Starred) for a in node.args)
                assert not node.keywords, f"{name}: ctypes takes positional arguments only"
                if starred:
                    assert plain <= counts[name], (name, node.lineno)
                else:
                    assert plain == counts[name], (
                        f"line {node.lineno}: {name} takes "
                        f"{counts[name]} arguments, the call passes {plain}"
                    )
    assert seen == set(counts), f"never called: {sorted(set(counts) - seen)}"


def prototypes_code(code: str) -> type:
    from rnnkit.kernels.build import CODES

    return CODES[code]
