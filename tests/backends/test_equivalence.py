"""Every backend equals the step-by-step reference: outputs, final states and gradients.

Comparisons run in float64 with the harness' tight tolerances; float32 parity with
``torch.nn`` is in tests/layers/test_rnn.py.
"""

import pytest
import torch

import rnnkit
from rnnkit.backends import force
from tests.backends.reference import reference_stack
from tests.harness import assert_states_close, check_gradcheck, grads_of

LENGTHS = [6, 4, 1]

STANDARD = [
    (rnnkit.LSTM, {}),
    (rnnkit.LSTM, {"proj_size": 3}),
    (rnnkit.GRU, {}),
    (rnnkit.RNN, {"activation": "tanh"}),
    (rnnkit.RNN, {"activation": "relu"}),
]
VARIANTS = [
    (rnnkit.LSTM, {"peephole": True}),
    (rnnkit.LSTM, {"layer_norm": True}),
    (rnnkit.LSTM, {"peephole": True, "proj_size": 3, "layer_norm": True}),
    (rnnkit.LSTM, {"recurrent_activation": "hard_sigmoid"}),
    (rnnkit.GRU, {"reset_after": False}),
    (rnnkit.RNN, {"activation": "elu"}),
]


def _ids(cases):
    return [f"{cls.__name__}-{opts}" for cls, opts in cases]


def _run(layer, x, lengths):
    lens = torch.tensor(lengths) if lengths else None
    return layer(x, lengths=lens)


def _reference_grads(layer, x, lengths):
    return grads_of(layer, x, lambda m, inp: reference_stack(m, inp, lengths))


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize(("cls", "opts"), STANDARD + VARIANTS, ids=_ids(STANDARD + VARIANTS))
def test_every_path_equals_reference(cls, opts, bidirectional, lengths):
    # float64: paths must agree to rounding, so no tolerance hides a real difference
    layer = cls(5, 6, num_layers=2, bidirectional=bidirectional, **opts).double()
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    expected = reference_stack(layer, x, lengths)
    expected_grads = _reference_grads(layer, x, lengths)
    paths = ["generic"]
    if (cls, opts) in STANDARD or opts == {"reset_after": False}:
        paths.append("fast")  # PyTorch's kernel, or rnnkit's GRU sequence while training
    for path in paths:
        with force("generic" if path == "generic" else None):
            assert_states_close(_run(layer, x, lengths), expected)
            assert (layer.backend.kind == "generic") == (path == "generic"), layer.backend
            got = grads_of(layer, x, lambda m, inp: _run(m, inp, lengths))
            assert_states_close(got, expected_grads)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_go_backwards_fused_and_generic_equal_reference(go_backwards):
    layer = rnnkit.GRU(4, 5, num_layers=2, go_backwards=go_backwards)
    x = torch.randn(3, 6, 4)
    expected = reference_stack(layer, x, LENGTHS)
    assert_states_close(_run(layer, x, LENGTHS), expected)
    with force("generic"):
        assert_states_close(_run(layer, x, LENGTHS), expected)


@pytest.mark.parametrize(("cls", "opts"), STANDARD, ids=_ids(STANDARD))
def test_fused_gradcheck_float64(cls, opts):
    layer = cls(3, 4, num_layers=2, bidirectional=True, **opts)
    check_gradcheck(layer, torch.randn(2, 3, 3), lengths=torch.tensor([3, 2]))


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(
    ("cls", "opts"), STANDARD[:1] + VARIANTS, ids=_ids(STANDARD[:1] + VARIANTS)
)
def test_generic_gradcheck_float64(cls, opts):
    layer = cls(3, 4, bidirectional=True, **opts)
    with force("generic"):
        check_gradcheck(layer, torch.randn(2, 3, 3), lengths=torch.tensor([3, 2]))


def test_force_rejects_unknown_paths():
    with pytest.raises(ValueError, match="only 'generic'"):
        with force("fused"):
            pass


def test_force_is_scoped_to_the_block():
    layer = rnnkit.LSTM(3, 4)
    with force("generic"):
        assert layer.backend.kind == "generic"
    assert layer.backend.kind == "fused"
