"""The dispatch: each configuration's call runs the path ``layer.backend`` names afterwards.

Every case forces one configuration, runs the layer, checks the name the layer reports and that
the implementation behind that name ran (a spy on the function only that path calls).
"""

from __future__ import annotations

import contextlib
import warnings

import pytest
import torch
from torch.profiler import profile

import rnnkit
from rnnkit.backends import fused, generic, gru_sequence, segmented, step
from rnnkit.cells import GRUCell
from rnnkit.kernels import gru_step, lnlstm_step, lstm_step, min_scan, token_step
from rnnkit.layers import Recurrent, minimal

X = torch.randn(3, 5, 4)
MANY = torch.tensor([5, 4, 3])  # as many distinct lengths as steps allow: packed
FEW = torch.tensor([16, 16, 9])  # 16 steps, 2 distinct lengths: segmented


def _spy(monkeypatch, owner, name):
    calls = []
    original = owner[name] if isinstance(owner, dict) else getattr(owner, name)

    def wrapped(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    if isinstance(owner, dict):
        monkeypatch.setitem(owner, name, wrapped)
    else:
        monkeypatch.setattr(owner, name, wrapped)
    return calls


def _call(layer, x=X, lengths=None, grad=True, state=None):
    context = contextlib.nullcontext() if grad else torch.no_grad()
    with context:
        return layer(x, state, lengths=lengths)


# (id, layer factory, call arguments, expected name, (module, attribute) only that path calls)
CASES = [
    (
        "lstm",
        lambda: rnnkit.LSTM(4, 6, num_layers=2),
        {},
        "torch.lstm (oneDNN)",
        (fused._OPS, "lstm"),
    ),
    (
        "lstm-float64",
        lambda: rnnkit.LSTM(4, 6).double(),
        {"x": X.double()},
        "torch.lstm (native)",
        (fused._OPS, "lstm"),
    ),
    (
        "gru-no-grad",  # 3 rows x 1024^2: work enough per step for the native steps
        lambda: rnnkit.GRU(4, 1024),
        {"grad": False},
        "rnnkit GRU sequence (native steps)",
        (gru_step, "forward"),
    ),
    (
        "gru-no-grad-few-rows",  # 3 rows x 6^2: PyTorch's GRU
        lambda: rnnkit.GRU(4, 6),
        {"grad": False},
        "torch.gru (native)",
        (fused._OPS, "gru"),
    ),
    (
        "gru-no-grad-float16",
        lambda: rnnkit.GRU(4, 6).half(),
        {"grad": False, "x": X.half()},
        "torch.gru (native)",
        (fused._OPS, "gru"),
    ),
    (
        "rnn",
        lambda: rnnkit.RNN(4, 6, nonlinearity="relu"),
        {},
        "torch.rnn_relu (native)",
        (fused._OPS, "rnn_relu"),
    ),
    (
        "lstm-full-lengths",
        lambda: rnnkit.LSTM(4, 6),
        {"lengths": torch.tensor([5, 5, 5])},
        "torch.lstm (oneDNN)",
        (fused._OPS, "lstm"),
    ),
    (
        "lstm-packed",
        lambda: rnnkit.LSTM(4, 6, bidirectional=True),
        {"lengths": MANY},
        "packed torch.lstm (native)",
        (fused, "pack_padded_sequence"),
    ),
    (
        "lstm-segmented",
        lambda: rnnkit.LSTM(4, 6, bidirectional=True),
        {"x": torch.randn(3, 16, 4), "lengths": FEW},
        "segmented torch.lstm (oneDNN)",
        (segmented, "_run_direction"),
    ),
    (
        "rnn-segmented",
        lambda: rnnkit.RNN(4, 6),
        {"lengths": MANY},
        "segmented torch.rnn_tanh (native)",
        (segmented, "_run_gathered"),
    ),
    (
        "gru-train",
        lambda: rnnkit.GRU(4, 6, bidirectional=True),
        {"lengths": MANY},
        "rnnkit GRU sequence (native steps)",
        (gru_step, "forward"),
    ),
    (
        "gru-reset-before",
        lambda: rnnkit.GRU(4, 6, reset_after=False),
        {},
        "rnnkit GRU sequence (PyTorch steps)",
        (gru_sequence.GRUSequence, "apply"),
    ),
    (
        "peephole",
        lambda: rnnkit.LSTM(4, 6, peephole=True),
        {},
        "rnnkit peephole LSTM sequence (native steps)",
        (lstm_step, "forward"),
    ),
    (
        "layer-norm",
        lambda: rnnkit.LSTM(4, 6, layer_norm=True),
        {"grad": False},
        "rnnkit layer-norm LSTM sequence (native steps)",
        (lnlstm_step, "forward"),
    ),
    (
        "masks",
        lambda: rnnkit.LSTM(4, 6, recurrent_dropout=0.2),
        {},
        "generic loop",
        (generic, "run_generic"),
    ),
    ("user-cell", lambda: Recurrent(_TinyCell()), {}, "generic loop", (generic, "run_generic")),
    (
        "token-step",
        lambda: rnnkit.GRU(4, 6, num_layers=2),
        {"x": X[:, :1], "grad": False},
        "native token step",
        (token_step, "stack_step"),
    ),
    (
        "packed-step",
        lambda: rnnkit.LSTM(4, 6, bidirectional=True),
        {"x": X[:, :1], "grad": False},
        "packed step (oneDNN)",
        (step, "packed_step"),
    ),
    (
        "cell-steps",
        lambda: rnnkit.LSTM(4, 6),
        {"x": X[:, :1]},
        "torch.lstm_cell steps",
        (step.CELL_OPS, "lstm"),
    ),
    (
        "recurrent-gru",
        lambda: Recurrent(GRUCell(4, 6)),
        {},
        "rnnkit GRU sequence (native steps)",
        (gru_step, "forward"),
    ),
    (
        "mingru-native",
        lambda: rnnkit.MinGRU(4, 6),
        {},
        "MinGRU scan (native)",
        (min_scan, "min_layer"),
    ),
    (
        "minlstm-sequential",
        lambda: rnnkit.MinLSTM(4, 6, scan="sequential"),
        {},
        "MinLSTM scan (sequential)",
        (minimal.LinearRecurrence, "apply"),
    ),
    (
        "mingru-log",
        lambda: rnnkit.MinGRU(4, 6, scan="log"),
        {},
        "MinGRU scan (log)",
        (minimal, "parallel_scan_log"),
    ),
    (
        "mingru-step",
        lambda: rnnkit.MinGRU(4, 6),
        {"x": X[:, :1]},
        "MinGRU step",
        (minimal.MinRecurrent, "step"),
    ),
]


class _TinyCell(torch.nn.Module):
    """A user-defined cell: no fused kernel to ask for."""

    input_size, hidden_size, state_size = 4, 6, (6,)

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(10, 6)

    def init_state(self, batch_size, device=None, dtype=None):
        return torch.zeros(batch_size, 6, device=device, dtype=dtype)

    def forward(self, x, h):
        h = torch.tanh(self.linear(torch.cat([x, h], dim=-1)))
        return h, h


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(("make", "call", "name", "spied"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_each_configuration_runs_and_reports_its_path(monkeypatch, make, call, name, spied):
    native = (gru_step, lstm_step, lnlstm_step, token_step, min_scan)
    if any(spied[0] is kernel and kernel.library() is None for kernel in native):
        pytest.skip("no C compiler")
    torch.manual_seed(0)
    layer = make()
    calls = _spy(monkeypatch, *spied)
    _call(layer, **call)
    assert layer.backend.name == name, layer.backend
    assert calls, f"{name}: the path's implementation did not run"


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(("make", "call", "name", "spied"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_forcing_generic_runs_and_reports_the_generic_loop(monkeypatch, make, call, name, spied):
    """Under ``force("generic")`` every recurrent stack runs and names the generic loop, and
    not its own path; MinGRU / MinLSTM have no generic loop (their ``scan`` picks the path), so
    they run and name their scan. Out of the block the layer runs its own path again."""
    native = (gru_step, lstm_step, lnlstm_step, token_step, min_scan)
    if any(spied[0] is kernel and kernel.library() is None for kernel in native):
        pytest.skip("no C compiler")
    torch.manual_seed(0)
    layer = make()
    own, loop = _spy(monkeypatch, *spied), _spy(monkeypatch, generic, "run_generic")
    minimal_layer = isinstance(layer, (rnnkit.MinGRU, rnnkit.MinLSTM))
    with rnnkit.backends.force("generic"):
        _call(layer, **call)
        forced = layer.backend
    if minimal_layer:
        assert forced.name == name and own and not loop
    else:
        assert forced.name == "generic loop" and "forced" in forced.reason
        assert loop and (not own or spied == (generic, "run_generic"))
    own.clear()
    _call(layer, **call)
    assert layer.backend.name == name and own


def test_onednn_is_what_torch_lstm_runs_when_named_so():
    layer = rnnkit.LSTM(4, 6)
    with profile() as prof:
        layer(X)
    names = {e.name for e in prof.events()}
    assert layer.backend.name == "torch.lstm (oneDNN)"
    assert "aten::mkldnn_rnn_layer" in names
    layer.double()
    with profile() as prof:
        layer(X.double())
    assert layer.backend.name == "torch.lstm (native)"
    assert "aten::mkldnn_rnn_layer" not in {e.name for e in prof.events()}
    projected = rnnkit.LSTM(4, 6, proj_size=3)  # PyTorch's oneDNN LSTM takes no projection
    with warnings.catch_warnings(), profile() as prof:
        warnings.simplefilter("ignore")  # PyTorch warns that it uses its default implementation
        projected(X)
    assert projected.backend.name == "torch.lstm (native)"
    assert "aten::mkldnn_rnn_layer" not in {e.name for e in prof.events()}


def test_backend_follows_the_grad_mode_of_the_last_call_not_the_module_mode():
    layer = rnnkit.GRU(4, 6)  # training mode throughout
    with torch.no_grad():
        layer(X)
    assert "GRU inference on few rows" in layer.backend.reason
    layer(X)
    assert "GRU training on CPU" in layer.backend.reason


def test_before_a_call_the_backend_predicts_a_sequence_call_in_the_current_mode():
    layer = rnnkit.LSTM(4, 6, recurrent_dropout=0.2)
    assert layer.backend.name == "generic loop"
    assert layer.eval().backend.name == "torch.lstm (oneDNN)"
    layer(X[:, :1])
    assert layer.backend.kind == "step"
    assert layer.train().backend.name == "generic loop"  # the mode changed since


def test_force_generic_routes_every_layer_to_the_generic_loop(monkeypatch):
    calls = _spy(monkeypatch, generic, "run_generic")
    layer = rnnkit.GRU(4, 6, num_layers=2, bidirectional=True)
    with rnnkit.backends.force("generic"):
        layer(X, lengths=MANY)
        assert layer.backend.name == "generic loop" and "forced" in layer.backend.reason
    assert len(calls) == 4
    layer(X)
    assert layer.backend.kind == "sequence"


def test_a_route_is_built_once_per_configuration():
    layer = rnnkit.LSTM(4, 6)
    layer(X)
    routes = dict(layer.__dict__["_routes"])
    layer(X)
    assert layer.__dict__["_routes"] == routes and len(routes) == 1
    layer.double()  # moving the parameters drops the routes
    assert "_routes" not in layer.__dict__


def test_a_copy_runs_its_own_cells_not_the_originals():
    import copy

    layer = rnnkit.LSTM(4, 6, bidirectional=True).eval()
    with torch.no_grad():
        layer(X[:, :1])  # a packed-step route, a closure over this layer, is cached
        twin = copy.deepcopy(layer)
        for p in twin.parameters():
            p.zero_()
        out, _ = twin(X[:, :1])
    assert (
        "_routes" not in twin.__dict__ or twin.__dict__["_routes"] is not layer.__dict__["_routes"]
    )
    assert torch.count_nonzero(out) == 0  # zero weights and biases: h = o * tanh(c) = 0
