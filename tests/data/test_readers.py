"""read_text: strict UTF-8, BOM, and errors that name the file, line and byte offset."""

from __future__ import annotations

import pytest

from rnnkit.data import DataError, read_text


def test_reads_utf8_and_strips_bom(tmp_path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"\xef\xbb\xbfh\xc3\xa9llo\r\nw\xc3\xb6rld\n")
    assert read_text(path) == "héllo\r\nwörld\n"
    assert read_text(str(path)) == "héllo\r\nwörld\n"


def test_bad_byte_names_file_line_and_offset(tmp_path) -> None:
    path = tmp_path / "corpus.txt"
    data = b"first line\nsecond line\nthird \xff line\n"
    path.write_bytes(data)
    offset = data.index(b"\xff")
    with pytest.raises(DataError) as info:
        read_text(path)
    assert str(info.value) == f"{path}:3: invalid UTF-8 byte 0xff at byte offset {offset}"
    assert isinstance(info.value, ValueError)


def test_bad_byte_offset_counts_the_bom(tmp_path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfok\n\xc3(")  # truncated 2-byte sequence on line 2
    with pytest.raises(DataError, match=r"bom\.txt:2: invalid UTF-8 byte 0xc3 at byte offset 6$"):
        read_text(path)


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content: bytes) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_text(path)
    assert str(info.value) == f"{path}: the file is empty"


def test_missing_file_and_directory(tmp_path) -> None:
    with pytest.raises(DataError, match=r"nope\.txt: no such file"):
        read_text(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="is a directory"):
        read_text(tmp_path)
