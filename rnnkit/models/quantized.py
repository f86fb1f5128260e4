"""int8 weights: a model directory whose matrices are stored as int8 with one scale per row.

Symmetric per-output-channel quantization of every weight matrix (recurrent ``weight_ih`` /
``weight_hh``, linear layers, embeddings): for row r of W,

    s_r = max_j |W_rj| / 127,    Q_rj = round(W_rj / s_r) in [-127, 127],    W_rj ~ s_r Q_rj

so each weight is off by at most s_r / 2. An n-gram table (``NgramBag`` and ``NgramLogistic``
weights, (features, classes)) has its output channels in its columns and hundreds of thousands
of rows of one byte per class, to which a float32 scale per row would add 4 bytes: it gets one
scale per class instead,

    s_c = max_f |U_fc| / 127,    Q_fc = round(U_fc / s_c),    U_fc ~ s_c Q_fc.

Biases, peepholes, normalisation gains and idf (vectors) stay float32; activations are float32.
The file holds ``int8/NAME`` (Q, int8) and ``scale/NAME`` (s, float32) for a matrix with row
scales, ``int8c/NAME`` and ``scalec/NAME`` for one with column scales, and ``NAME`` for a kept
tensor; tied tensors are stored once (``config.json``'s ``quantization.tied`` names the
copies). Loading rebuilds float32 weights W = s Q, so every command runs a quantized directory
as it runs any.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

#: the ``quantization`` section of a quantized model's config.json
SCHEME = {"dtype": "int8", "granularity": "per-output-channel", "symmetric": True}


def quantize_rows(weight: Tensor) -> tuple[Tensor, Tensor]:
    """(Q int8 (R, C), s float32 (R,)) with W ~ s[:, None] * Q; a zero row gets s = 1."""
    w = weight.detach().float()
    scale = w.abs().amax(dim=1) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale


def dequantize_rows(q: Tensor, scale: Tensor) -> Tensor:
    """W = s[:, None] * Q as float32."""
    return q.float() * scale.float()[:, None]


def _column_scaled(model: nn.Module) -> set[str]:
    """The state-dict names of ``model``'s n-gram tables: quantized with a scale per column."""
    from rnnkit.layers.ngram_bag import NgramBag

    return {
        f"{prefix}.weight" if prefix else "weight"
        for prefix, module in model.named_modules()
        if isinstance(module, NgramBag)
    }


def _quantized(name: str, tensor: Tensor) -> bool:
    return tensor.dim() == 2 and tensor.is_floating_point() and "weight" in name.split(".")[-1]


def quantize_state(model: nn.Module) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors to store for ``model`` and the tied names ``{copy: stored name}``."""
    stored: dict[str, Tensor] = {}
    tied: dict[str, str] = {}
    seen: dict[int, str] = {}
    columns = _column_scaled(model)
    for name, tensor in model.state_dict().items():
        key = tensor.data_ptr()
        if tensor.numel() and key in seen:
            tied[name] = seen[key]
            continue
        seen[key] = name
        if name in columns and _quantized(name, tensor):
            q, scale = quantize_rows(tensor.t())
            stored[f"int8c/{name}"], stored[f"scalec/{name}"] = q.t().contiguous(), scale
        elif _quantized(name, tensor):
            q, scale = quantize_rows(tensor)
            stored[f"int8/{name}"], stored[f"scale/{name}"] = q, scale
        else:
            stored[name] = tensor.detach().contiguous().clone()
    return stored, tied


def dequantize_state(stored: dict[str, Tensor], info: dict[str, Any]) -> dict[str, Tensor]:
    """A float state dict from ``quantize_state``'s tensors and the config's section.

    Raises:
        KeyError: a matrix without its scale (the caller names the file).
    """
    state: dict[str, Tensor] = {}
    for key, tensor in stored.items():
        if key.startswith("int8/"):
            name = key[len("int8/") :]
            state[name] = dequantize_rows(tensor, stored[f"scale/{name}"])
        elif key.startswith("int8c/"):
            name = key[len("int8c/") :]
            state[name] = dequantize_rows(tensor.t(), stored[f"scalec/{name}"]).t().contiguous()
        elif not key.startswith(("scale/", "scalec/")):
            state[key] = tensor
    for copy, source in dict(info.get("tied", {})).items():
        state[copy] = state[source]
    return state


def save_quantized_dir(source: Path, config: dict[str, Any], model: nn.Module, out: Path) -> Path:
    """Write ``out``: the model directory ``source`` with its weights stored as int8.

    ``config`` is ``source``'s config.json content; the tokenizer and tables are copied.

    Raises:
        OutputError: ``out`` cannot be written (a previous ``out`` is left as it was).
    """
    import json
    import shutil

    from safetensors.torch import save_file

    from rnnkit.errors import OutputError
    from rnnkit.training.atomic import new_directory
    from rnnkit.training.manifest import write_manifest

    stored, tied = quantize_state(model)
    written = dict(config, quantization={**SCHEME, "tied": tied})
    try:
        with new_directory(Path(out)) as tmp:
            for item in sorted(Path(source).iterdir()):
                if item.is_file() and item.name not in {"config.json", "manifest.json",
                                                        "model.safetensors"}:  # fmt: skip
                    shutil.copyfile(item, tmp / item.name)
            save_file(stored, str(tmp / "model.safetensors"))
            text = json.dumps(written, indent=2, sort_keys=True) + "\n"
            (tmp / "config.json").write_text(text, encoding="utf-8")
            write_manifest(tmp)
    except OSError as error:
        raise OutputError(f"{out}: could not write the model ({error.strerror or error})") from None
    return Path(out)


def load_quantized(model: nn.Module, path: Path, info: dict[str, Any]) -> tuple[list, list]:
    """Load an int8 ``model.safetensors`` into ``model`` as float32; (missing, unexpected).

    Raises:
        ValueError: a matrix stored without its scale; RuntimeError: a shape that does not fit.
    """
    from safetensors.torch import load_file

    stored = load_file(str(path))
    try:
        state = dequantize_state(stored, info)
    except KeyError as error:
        raise ValueError(f"int8 matrix without its scale {error}") from None
    result = model.load_state_dict(state, strict=False)
    return list(result.missing_keys), list(result.unexpected_keys)
