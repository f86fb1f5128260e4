"""Reading Keras files with ``zipfile``, ``json`` and ``h5py`` only, never Keras or TensorFlow.

Three layouts are read:

- a Keras 3 archive ``NAME.keras``: a zip with ``config.json``, ``metadata.json`` (the Keras
  version) and ``model.weights.h5``, whose groups follow the model's attributes
  (``layers/lstm/cell/vars/0`` ...);
- a weights file ``NAME.weights.h5`` in that same layout, with the model's JSON config beside it
  (``model.to_json()``, or the ``config.json`` of an archive);
- a legacy HDF5 file ``NAME.h5`` (Keras 2 / ``tf.keras``, or Keras 3's legacy writer): the config
  in the ``model_config`` attribute and one group per layer listing its ``weight_names``; or
  Keras 2's weights-only HDF5 file (``save_weights("x.h5")``), with the model's JSON config.

Safety: zip members that would unpack to more than ``MAX_MEMBER_BYTES``, or that compress more
than ``MAX_RATIO`` to one, are refused before they are read; HDF5 soft and external links,
datasets stored outside the file, virtual datasets and non-numeric datasets are refused when
the file is opened. Archives whose weights are ``model.weights.npz`` are refused: Keras writes
them as pickled Python objects (its Variables), and rnnkit does not unpickle.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.interop.keras.errors import KerasImportError

MAX_MEMBER_BYTES = 4 * 2**30
MAX_CONFIG_BYTES = 64 * 2**20
MAX_RATIO = 200


@dataclass
class KerasFile:
    """What a Keras file holds: the model config, the Keras version that wrote it, its weights."""

    path: Path
    config: dict[str, Any]
    keras_version: str
    weights: WeightStore


class WeightStore:
    """The saved arrays of one layer, in Keras' order (kernel, recurrent kernel, bias; forward
    direction before backward)."""

    def __init__(self, path: Path, root: Any, legacy: bool) -> None:
        self.path, self.root, self.legacy = path, root, legacy

    def close(self) -> None:
        """Close the HDF5 file (the arrays read stay valid)."""
        self.root.file.close()

    def layer_weights(self, name: str, class_name: str, ordinal: int) -> list[np.ndarray]:
        """Arrays of the layer ``name``; ``ordinal`` counts earlier layers of the same class
        (Keras 3 files name groups ``lstm``, ``lstm_1`` ... after the class, not the layer)."""
        if self.legacy:
            if name not in self.root:
                return []
            group = self.root[name]
            names = [_text(n) for n in group.attrs.get("weight_names", [])]
            return [np.asarray(group[n]) for n in names]
        key = snake_case(class_name) + (f"_{ordinal}" if ordinal else "")
        layers = self.root.get("layers")
        if layers is None or key not in layers:
            return []
        return [np.asarray(d) for d in _flatten_v3(layers[key])]


def snake_case(name: str) -> str:
    """Keras' group name for a class: ``SimpleRNN`` -> ``simple_rnn``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _flatten_v3(group: Any) -> list[Any]:
    out = []
    if "vars" in group:
        out += [group["vars"][k] for k in sorted(group["vars"], key=int)]
    children = (
        ("forward_layer", "backward_layer") if "forward_layer" in group else ("cell", "layer")
    )
    for child in children:
        if child in group:
            out += _flatten_v3(group[child])
    return out


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_keras_file(
    path: str | Path, config: str | Path | None = None, keras_version: str | None = None
) -> KerasFile:
    """Open ``path`` (``.keras``, ``.weights.h5`` with ``config``, or legacy ``.h5``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        kfile = _read_archive(path)
    elif path.name.endswith(".weights.h5"):
        kfile = _read_weights_file(path, config)
    else:
        kfile = _read_legacy(path, config)
    if keras_version is not None:
        kfile.keras_version = keras_version
    return kfile


def _read_archive(path: Path) -> KerasFile:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "model.weights.npz" in names:
                raise KerasImportError(
                    f"{path}: the weights are model.weights.npz, which Keras writes as pickled "
                    "Python objects (its Variables); rnnkit does not unpickle files. Save the "
                    "model with the default weights format (model.weights.h5)"
                )
            for needed in ("config.json", "model.weights.h5"):
                if needed not in names:
                    raise KerasImportError(f"{path}: not a Keras archive (no {needed} inside)")
            config = _json(path, _member(zf, path, "config.json", MAX_CONFIG_BYTES))
            version = ""
            if "metadata.json" in names:
                meta = _json(path, _member(zf, path, "metadata.json", MAX_CONFIG_BYTES), "")
                version = str(meta.get("keras_version", ""))
            data = _member(zf, path, "model.weights.h5", MAX_MEMBER_BYTES)
    except zipfile.BadZipFile as exc:
        raise KerasImportError(f"{path}: damaged zip archive ({exc})") from None
    root = _open_h5(io.BytesIO(data), f"{path}:model.weights.h5")
    return KerasFile(path, config, version, WeightStore(path, root, legacy=False))


def _member(zf: zipfile.ZipFile, path: Path, name: str, limit: int) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise KerasImportError(
            f"{path}: {name} would unpack to {info.file_size} bytes (limit {limit})"
        )
    if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise KerasImportError(
            f"{path}: {name} compresses {info.file_size // max(info.compress_size, 1)} to 1 "
            f"(limit {MAX_RATIO}); refusing a possible zip bomb"
        )
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise KerasImportError(f"{path}: {name} unpacks past {limit} bytes")
    return data


def _json(path: Path | str, data: bytes | str, needs: str = "class_name") -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", "?")
        raise KerasImportError(f"{path}: line {line}: not valid JSON ({exc})") from None
    if not isinstance(value, dict) or (needs and needs not in value):
        raise KerasImportError(
            f"{path}: expected a model config with 'class_name' (as model.to_json() writes it)"
        )
    return value


def _read_weights_file(path: Path, config: str | Path | None) -> KerasFile:
    """A weights-only file (Keras 3 layout, or Keras 2's HDF5 layout) and its JSON config."""
    if config is None:
        stem = path.name[: -len(".weights.h5")] if path.name.endswith(".weights.h5") else path.stem
        guess = path.with_name(stem + ".json")
        if not guess.is_file():
            raise KerasImportError(
                f"{path}: a weights file needs the model's config: pass config= (the JSON of "
                f"model.to_json(), or an archive's config.json); {guess.name} is not there"
            )
        config = guess
    config_path = Path(config)
    if config_path.stat().st_size > MAX_CONFIG_BYTES:
        raise KerasImportError(f"{config_path}: larger than {MAX_CONFIG_BYTES} bytes")
    cfg = _json(config_path, config_path.read_bytes())
    root = _open_h5(path, str(path))
    if "layer_names" in root.attrs:  # Keras 2's save_weights("x.h5")
        version = str(cfg.get("keras_version", _text(root.attrs.get("keras_version", "2"))))
        return KerasFile(path, cfg, version, WeightStore(path, root, legacy=True))
    if "layers" not in root:
        raise KerasImportError(f"{path}: not a Keras weights file (no 'layers' group)")
    # Keras 2 writes its version into to_json(); Keras 3 writes none
    version = str(cfg.get("keras_version", "3"))
    return KerasFile(path, cfg, version, WeightStore(path, root, legacy=False))


def _read_legacy(path: Path, config: str | Path | None) -> KerasFile:
    root = _open_h5(path, str(path))
    if "model_config" not in root.attrs:
        if "layer_names" in root.attrs:
            root.close()
            return _read_weights_file(path, config)
        raise KerasImportError(f"{path}: no model_config attribute (not a Keras model file)")
    config = _json(path, _text(root.attrs["model_config"]))
    if "model_weights" not in root:
        raise KerasImportError(f"{path}: no model_weights group")
    version = _text(root.attrs.get("keras_version", ""))
    return KerasFile(path, config, version, WeightStore(path, root["model_weights"], legacy=True))


def _open_h5(source: Any, label: str) -> Any:
    import h5py

    try:
        root = h5py.File(source, "r")
    except OSError as exc:
        raise KerasImportError(f"{label}: not an HDF5 file ({exc})") from None
    _check_h5(root, label)
    return root


def _check_h5(group: Any, label: str) -> None:
    """Refuse links out of the file, data stored elsewhere, and non-numeric datasets."""
    import h5py

    for key in group:
        link = group.get(key, getlink=True)
        where = f"{label}:{group.name.rstrip('/')}/{key}"
        if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            raise KerasImportError(f"{where}: {type(link).__name__} refused (only hard links)")
        obj = group[key]
        if isinstance(obj, h5py.Group):
            _check_h5(obj, label)
            continue
        if obj.external or obj.is_virtual:
            raise KerasImportError(f"{where}: data stored outside the file refused")
        if obj.dtype.kind not in "fiub":
            raise KerasImportError(f"{where}: dataset of type {obj.dtype} refused (numbers only)")
        if obj.size * obj.dtype.itemsize > MAX_MEMBER_BYTES:
            raise KerasImportError(f"{where}: dataset larger than {MAX_MEMBER_BYTES} bytes")
