"""Safe reading: zip members unpacking too large, HDF5 links and external data are refused."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from rnnkit.interop.keras import KerasImportError, from_keras
from rnnkit.interop.keras import files as keras_files

ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "keras"


def _archive(tmp_path: Path, weights: bytes) -> Path:
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(ROOT / "k3" / "lm_gru.keras") as src:
        config = src.read("config.json")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", config)
        zf.writestr("model.weights.h5", weights)
    return path


def test_member_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras_files, "MAX_MEMBER_BYTES", 1000)
    path = _archive(tmp_path, (ROOT / "k3" / "lm_gru.weights.h5").read_bytes())
    with pytest.raises(KerasImportError, match=r"model\.weights\.h5 would unpack to \d+ bytes"):
        from_keras(path)


def test_zip_bomb(tmp_path: Path) -> None:
    path = _archive(tmp_path, bytes(4 * 2**20))  # 4 MiB of zeros deflate ~1000 to 1
    with pytest.raises(KerasImportError, match=r"possible zip bomb"):
        from_keras(path)


def _weights_copy(tmp_path: Path) -> Path:
    target = tmp_path / "lm_gru.weights.h5"
    shutil.copy(ROOT / "k3" / "lm_gru.weights.h5", target)
    shutil.copy(ROOT / "k3" / "lm_gru.json", tmp_path / "lm_gru.json")
    return target


@pytest.mark.parametrize(
    ("link", "name"),
    [(h5py.SoftLink("/layers/gru"), "SoftLink"), (h5py.ExternalLink("x.h5", "/"), "ExternalLink")],
)
def test_hdf5_links_refused(tmp_path: Path, link: object, name: str) -> None:
    path = _weights_copy(tmp_path)
    with h5py.File(path, "a") as f:
        f["layers/extra"] = link
    with pytest.raises(KerasImportError, match=rf"/layers/extra: {name} refused"):
        from_keras(path)


def test_external_dataset_refused(tmp_path: Path) -> None:
    path = _weights_copy(tmp_path)
    (tmp_path / "raw.bin").write_bytes(np.zeros(4, "f4").tobytes())
    with h5py.File(path, "a") as f:
        f.create_dataset("layers/raw", shape=(4,), dtype="f4", external=[("raw.bin", 0, 16)])
    with pytest.raises(KerasImportError, match=r"/layers/raw: data stored outside the file"):
        from_keras(path)


def test_not_a_keras_file(tmp_path: Path) -> None:
    path = tmp_path / "model.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(KerasImportError, match=r"model\.h5: not an HDF5 file"):
        from_keras(path)
