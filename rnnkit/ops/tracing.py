"""Whether a call is being traced rather than run: ``torch.compile``, ``torch.export``, FakeTensor
propagation or a ``torch.func`` transform.

rnnkit's fast paths call native kernels through ctypes (raw data pointers) and oneDNN's packed
products; none of that can be traced. The dispatch asks ``tracing(x)`` and, when the answer is
not None, runs a traceable path instead (``rnnkit.backends.traced``): the registered custom ops
(``rnnkit.backends.custom_ops``) under compile, export and fake tensors, plain PyTorch ops under
``torch.func`` transforms (``vmap``, ``grad``, ``jacrev``...), whose batching rules custom ops
lack. The checks cost about 1 us, and run only where a path is chosen.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch._subclasses.fake_tensor import FakeTensor


def tracing(x: Tensor | None = None) -> str | None:
    """``"compile"`` (Dynamo is tracing), ``"export"``, ``"fake"`` (x is a FakeTensor or on the
    meta device), ``"functorch"`` (inside ``torch.func.vmap`` / ``grad`` ...), or None for a
    plain eager call.

    Example:
        >>> tracing(torch.randn(2, 3)) is None
        True
    """
    if torch.compiler.is_exporting():
        return "export"
    if torch.compiler.is_compiling():
        return "compile"
    if torch._C._functorch.peek_interpreter_stack() is not None:
        return "functorch"
    if x is not None and (x.is_meta or (type(x) is not Tensor and isinstance(x, FakeTensor))):
        return "fake"  # (the isinstance check is slow: asked of tensor subclasses only)
    return None
