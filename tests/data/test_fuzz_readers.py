"""Every reader, fed random bytes and broken text: only rnnkit's own errors come out, and each
names the file (and the line, or the key).

Inputs (hypothesis, a few dozen examples per reader): random bytes, random unicode, and valid
files damaged by truncation, wrong column counts, a NUL byte, a BOM, a huge line or an
invalid UTF-8 byte at a random line.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.cli.overrides import build_config
from rnnkit.data.conll import read_conll
from rnnkit.data.documents import read_documents
from rnnkit.data.labelled import read_classification
from rnnkit.data.parallel import read_parallel
from rnnkit.data.readers import read_text
from rnnkit.data.tokenizers import load_tokenizer
from rnnkit.errors import RnnkitError
from rnnkit.models.io import read_config
from rnnkit.tasks.defaults import defaults, schema

VALID = {
    "text": "one line\ntwo line\n",
    "tsv": "pos\tgood film\nneg\tbad film\n",
    "jsonl": '{"text": "A b. C d.", "label": "x"}\n{"text": "E f.", "label": "y"}\n',
    "conll": "Ann\tB-PER\nruns\tO\n\nBob\tB-PER\n",
    "parallel": "a b\tc d\ne f\tg h\n",
    "documents": '{"text": "One. Two.", "summary": "One."}\n',
    "yaml": "trainer:\n  lr: 3e-3\nmodel:\n  hidden_size: 8\n",
    "tokenizer": '{"type": "char", "tokens": ["<unk>", "<eos>", "a", "b"]}',
    "config": '{"rnnkit_version": "0.1.0", "model_type": "lm", "model": {}, "meta": {}}',
}
READERS = {
    "text": read_text,
    "tsv": lambda p: read_classification(p, "tsv"),
    "jsonl": lambda p: read_classification(p, "jsonl"),
    "conll": read_conll,
    "parallel": read_parallel,
    "documents": lambda p: read_documents(p, require_summary=True),
    "yaml": lambda p: build_config(defaults("lm"), schema("lm"), p, []),
    "tokenizer": load_tokenizer,
    "config": lambda p: read_config(p.parent),
}
NAMES = {"config": "config.json", "tokenizer": "tokenizer.json"}


def _damaged(draw, text: str) -> bytes:
    lines = text.splitlines(keepends=True) or [""]
    k = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["truncate", "columns", "nul", "bom", "huge", "bad utf-8"]))
    line = lines[k]
    if kind == "truncate":
        line = line[: draw(st.integers(0, len(line)))]
    elif kind == "columns":
        line = draw(st.sampled_from(["", "\t", "a\tb\tc\td\n", "only\n", "\t\t\n"]))
    elif kind == "huge":
        line = "x" * 200_000 + line
    elif kind == "bom":
        line = "\ufeff" + line
    data = "".join([*lines[:k], line, *lines[k + 1 :]]).encode()
    if kind == "nul":
        data = data[: len(data) // 2] + b"\0" + data[len(data) // 2 :]
    if kind == "bad utf-8":
        data = data[: len(data) // 2] + b"\xff\xfe" + data[len(data) // 2 :]
    return data


@st.composite
def contents(draw, reader: str) -> bytes:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return draw(st.binary(max_size=300))
    if choice == 1:
        return draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    return _damaged(draw, VALID[reader])


@pytest.mark.parametrize("reader", list(READERS))
def test_valid_files_read(reader, tmp_path):
    path = tmp_path / NAMES.get(reader, f"in.{reader}")
    path.write_text(VALID[reader])
    READERS[reader](path)


@pytest.mark.parametrize("reader", list(READERS))
def test_only_rnnkit_errors_naming_the_file(reader, tmp_path_factory):
    folder = tmp_path_factory.mktemp(reader)
    path: Path = folder / NAMES.get(reader, f"in.{reader}")

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=contents(reader))
    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            READERS[reader](path)
        except RnnkitError as error:
            assert str(path) in str(error) or path.name in str(error), str(error)

    check()
