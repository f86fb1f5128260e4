"""Re-computed hidden and cell states equal the layers' own outputs on every backend."""

import pytest
import torch

import rnnkit
from rnnkit.cells import GRUCell, LSTMCell, RecurrentCell
from rnnkit.inspect import trace_layer
from rnnkit.layers import make_layer
from tests.harness import assert_states_close

CONFIGS = {
    "lstm": ("lstm", {}),
    "lstm-peephole": ("lstm", {"peephole": True}),
    "lstm-layer_norm": ("lstm", {"layer_norm": True}),
    "lstm-projection": ("lstm", {"proj_size": 3}),
    "gru": ("gru", {}),
    "gru-reset_before": ("gru", {"reset_after": False}),
    "elman-relu": ("rnn", {"activation": "relu"}),
}
pytestmark = pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")


def _runs(layer, x, lengths):
    """The layer's own outputs: eval (its normal path), training mode without dropout (the
    training kernels) and the generic loop."""
    with torch.no_grad():
        layer.eval()
        yield layer(x, lengths=lengths)
        layer.train()
        yield layer(x, lengths=lengths)
        layer.eval()
        with rnnkit.backends.force("generic"):
            yield layer(x, lengths=lengths)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_traced_states_equal_the_layer_on_every_backend(config, bidirectional):
    cell, options = config
    layer = make_layer(cell, 5, 6, num_layers=2, bidirectional=bidirectional, **options)
    x, lengths = torch.randn(3, 7, 5), torch.tensor([7, 4, 1])
    with torch.no_grad():
        out, traces = trace_layer(layer, x, lengths=lengths)
    d = 2 if bidirectional else 1
    assert [(t.layer, t.direction) for t in traces] == [
        (k, ("forward", "backward")[j]) for k in range(2) for j in range(d)
    ]
    for own, state in _runs(layer, x, lengths):
        assert_states_close(out, own)
        parts = state if isinstance(state, tuple) else (state,)
        for k, t in enumerate(traces):  # the final state is each sequence's true end
            last = [n - 1 if t.direction == "forward" else 0 for n in lengths.tolist()]
            h_end = t.signals["h"][torch.arange(3), last]
            assert_states_close(h_end, parts[0][k])
            if cell == "lstm":
                assert_states_close(t.signals["c"][torch.arange(3), last], parts[1][k])


def test_the_configurations_cover_every_backend():
    """The test above meets at least two fast paths (PyTorch's fused kernels, rnnkit's native
    sequence kernels) in eval or training mode, besides the generic loop it forces."""
    kinds = set()
    for cell, options in CONFIGS.values():
        layer = make_layer(cell, 5, 6, num_layers=2, **options)
        for training in (False, True):
            kinds.add(layer.train(training).backend.kind)
    assert {"fused", "sequence"} <= kinds, kinds


def test_initial_state_and_go_backwards():
    layer = rnnkit.LSTM(4, 5, num_layers=2, bidirectional=True, go_backwards=True).eval()
    x = torch.randn(2, 6, 4)
    state = (torch.randn(4, 2, 5), torch.randn(4, 2, 5))
    with torch.no_grad():
        own, _ = layer(x, state)
        out, traces = trace_layer(layer, x, state)
    assert_states_close(out, own)
    assert [t.direction for t in traces[:2]] == ["backward", "forward"]


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_wrappers_recurrent_bidirectional_stacked(merge_mode):
    bi = rnnkit.Bidirectional(
        rnnkit.Recurrent(LSTMCell(4, 5, peephole=True)), merge_mode=merge_mode
    )
    top = rnnkit.Recurrent(GRUCell(bi.output_size, 3, reset_after=False))
    layer = rnnkit.Stacked([bi, top]).eval()
    x, lengths = torch.randn(3, 6, 4), torch.tensor([6, 2, 4])
    with torch.no_grad():
        own, _ = layer(x, lengths=lengths)
        out, traces = trace_layer(layer, x, lengths=lengths, module="enc")
    assert_states_close(out, own)
    assert [t.name for t in traces] == ["enc[0].forward", "enc[0].backward", "enc[1].forward"]
    assert [t.kind for t in traces] == ["lstm", "lstm", "gru"]


class Doubling(RecurrentCell):
    """A user cell: h_t = tanh(x_t + 2 h_{t-1}); only h can be recorded."""

    def forward(self, x_t, state=None):
        state = self.init_state(x_t.shape[0]) if state is None else state
        h = torch.tanh(x_t + 2 * state)
        return h, h


def test_user_cells_record_their_output_only():
    layer = rnnkit.Recurrent(Doubling(3, 3))
    x = torch.randn(2, 4, 3)
    with torch.no_grad():
        own, _ = layer(x)
        out, traces = trace_layer(layer, x)
    assert_states_close(out, own)
    assert traces[0].kind is None and set(traces[0].signals) == {"h"}


def test_other_layers_are_recorded_as_a_whole():
    layer = rnnkit.MinGRU(3, 4).eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        own, _ = layer(x)
        out, traces = trace_layer(layer, x)
    assert_states_close(out, own)
    assert len(traces) == 1 and traces[0].kind is None and traces[0].cell == "MinGRU"
