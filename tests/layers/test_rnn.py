"""rnnkit.RNN / LSTM / GRU: PyTorch parity, backend choice, options, state and save/load."""

import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from tests.harness import (
    assert_states_close,
    check_lengths_match_alone,
    check_save_load,
    check_step_vs_sequence,
    grads_of,
)

TORCH_TWINS = [
    (rnnkit.LSTM, torch.nn.LSTM, {}, {}),
    (rnnkit.LSTM, torch.nn.LSTM, {"proj_size": 3}, {"proj_size": 3}),
    (rnnkit.GRU, torch.nn.GRU, {}, {}),
    (rnnkit.RNN, torch.nn.RNN, {}, {}),
    (rnnkit.RNN, torch.nn.RNN, {"activation": "relu"}, {"nonlinearity": "relu"}),
]
IDS = ["lstm", "lstm-proj", "gru", "rnn-tanh", "rnn-relu"]


def _torch_run(module, x, lengths):
    if lengths is None:
        return module(x)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, state = module(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, state


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize(("ours", "theirs", "kw", "tkw"), TORCH_TWINS, ids=IDS)
def test_loads_torch_state_dict_and_matches_outputs_and_grads(
    ours, theirs, kw, tkw, bidirectional, lengths
):
    ref = theirs(4, 6, num_layers=2, bidirectional=bidirectional, batch_first=True, **tkw)
    layer = ours(4, 6, num_layers=2, bidirectional=bidirectional, **kw)
    assert list(layer.state_dict()) == list(ref.state_dict())
    layer.load_state_dict(ref.state_dict())
    x = torch.randn(3, 5, 4)
    lens = torch.tensor(lengths) if lengths else None
    assert_states_close(layer(x, lengths=lens), _torch_run(ref, x, lens))
    ours_grads = grads_of(layer, x, lambda m, inp: m(inp, lengths=lens))
    their_grads = grads_of(ref, x, lambda m, inp: _torch_run(m, inp, lens))
    assert_states_close(ours_grads, their_grads)


@pytest.mark.parametrize(("ours", "theirs", "kw", "tkw"), TORCH_TWINS, ids=IDS)
def test_state_dict_loads_into_torch(ours, theirs, kw, tkw):
    layer = ours(4, 6, num_layers=2, bidirectional=True, **kw)
    ref = theirs(4, 6, num_layers=2, bidirectional=True, batch_first=True, **tkw)
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 4)
    assert_states_close(layer(x), ref(x))


def test_flat_parameter_names_are_attributes():
    lstm = rnnkit.LSTM(4, 6, num_layers=2, bidirectional=True, peephole=True)
    assert lstm.weight_hh_l1_reverse is lstm.cells[3].weight_hh
    assert lstm.weight_ci_l0.shape == (6,)
    with pytest.raises(AttributeError):
        _ = lstm.weight_hh_l2


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        (rnnkit.LSTM(3, 4, peephole=True, activation="relu"), "peephole"),
        (rnnkit.LSTM(3, 4, layer_norm=True, activation="relu"), "layer normalisation"),
        (rnnkit.RNN(3, 4, activation="elu"), "activation 'elu'"),
        (rnnkit.LSTM(3, 4, recurrent_dropout=0.1), "recurrent_dropout"),
        (rnnkit.GRU(3, 4, input_dropout=0.1), "dropout"),
    ],
)
def test_backend_names_generic_path_and_reason(layer, reason):
    assert layer.backend.kind == "generic"
    assert reason in str(layer.backend)
    assert str(layer.backend).startswith("generic loop: ")


def test_gru_reset_before_runs_the_sequence_function_unless_dropout_masks_are_needed():
    layer = rnnkit.GRU(3, 4, reset_after=False)
    assert layer.backend.kind == "sequence" and "reset_after=False" in layer.backend.reason
    masked = rnnkit.GRU(3, 4, reset_after=False, recurrent_dropout=0.1)
    assert masked.backend.kind == "generic" and masked.eval().backend.kind == "sequence"
    assert rnnkit.GRU(3, 4, reset_after=False, activation="relu").backend.kind == "generic"


@pytest.mark.parametrize(
    ("layer", "kernel"),
    [
        (rnnkit.LSTM(3, 4, num_layers=3, bidirectional=True), "lstm"),
        (rnnkit.LSTM(3, 4, proj_size=2, dropout=0.3, num_layers=2), "lstm"),
        (rnnkit.GRU(3, 4, bias=False).half(), "gru"),  # float32/64 run rnnkit's GRU steps
        (rnnkit.RNN(3, 4), "rnn_tanh"),
        (rnnkit.RNN(3, 4, nonlinearity="relu"), "rnn_relu"),
        (rnnkit.LSTM(3, 4, recurrent_dropout=0.2).eval(), "lstm"),
    ],
)
def test_backend_names_fused_kernel(layer, kernel):
    with torch.no_grad():
        backend = layer.backend
    assert backend.kind == "fused"
    assert backend.kernel == kernel
    assert str(backend).startswith(f"torch.{kernel} (")


def test_falling_off_fused_path_warns_once_with_reason():
    layer = rnnkit.LSTM(3, 4, recurrent_activation="hard_sigmoid")
    x = torch.randn(2, 3, 3)
    with pytest.warns(rnnkit.FusedPathWarning, match="hard_sigmoid"):
        layer(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(x)  # no second warning


def test_backend_follows_the_mode_and_a_forced_path_once_cached():
    layer = rnnkit.LSTM(3, 4, recurrent_dropout=0.2)  # masks while training: generic
    x = torch.randn(2, 3, 3)
    assert layer.backend.kind == "generic"
    layer.eval()
    assert layer.backend.kind == "fused"
    layer(x)
    with rnnkit.backends.force("generic"):
        assert layer.backend.kind == "generic" and "forced" in layer.backend.reason
    assert layer.train().backend.kind == "generic" and layer.eval().backend.kind == "fused"


def test_moving_the_parameters_drops_the_cached_backend(monkeypatch):
    from rnnkit.backends import dispatch

    layer = rnnkit.GRU(3, 4)
    first = layer.backend
    calls = []
    real = dispatch.standard
    monkeypatch.setattr(dispatch, "standard", lambda *a: calls.append(1) or real(*a))
    assert layer.backend == first and calls == []  # cached
    layer.double()  # through Module._apply, as .to(device) and .cuda() are
    assert layer.backend == first and calls == [1]


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
def test_the_dropout_fallback_warns_when_training_starts_after_eval_calls():
    layer = rnnkit.LSTM(3, 4, recurrent_dropout=0.2).eval()
    x = torch.randn(2, 3, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", rnnkit.FusedPathWarning)
        layer(x)  # fused in eval mode: nothing to say
    with pytest.warns(rnnkit.FusedPathWarning, match="recurrent_dropout"):
        layer.train()(x)


def test_fused_path_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", rnnkit.FusedPathWarning)
        rnnkit.LSTM(3, 4, num_layers=2)(torch.randn(2, 3, 3))


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(
    "layer",
    [
        rnnkit.LSTM(3, 5, num_layers=2),
        rnnkit.LSTM(3, 5, peephole=True, proj_size=2),
        rnnkit.GRU(3, 5, reset_after=False, num_layers=2),
        rnnkit.RNN(3, 5, activation="relu"),
    ],
    ids=["lstm", "peephole-proj", "gru-reset-before", "rnn-relu"],
)
def test_one_step_at_a_time_equals_whole_sequence(layer):
    check_step_vs_sequence(layer, torch.randn(2, 6, 3))


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(
    "layer",
    [
        rnnkit.LSTM(3, 5, num_layers=2, bidirectional=True),
        rnnkit.LSTM(3, 5, bidirectional=True, layer_norm=True),
        rnnkit.GRU(3, 5, bidirectional=True, reset_after=False),
        rnnkit.RNN(3, 5, num_layers=2, bidirectional=True),
    ],
    ids=["lstm", "lstm-ln", "gru-reset-before", "rnn"],
)
def test_lengths_equal_running_each_sequence_alone(layer):
    check_lengths_match_alone(layer, torch.randn(3, 7, 3), [7, 3, 1])


def test_mask_equals_lengths():
    layer = rnnkit.GRU(3, 4, bidirectional=True)
    x = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert_states_close(layer(x, mask=mask), layer(x, lengths=torch.tensor([3, 5])))


def test_batch_first_false_transposes_input_and_output():
    layer = rnnkit.LSTM(3, 4, num_layers=2, batch_first=False)
    x = torch.randn(5, 2, 3)  # (L, N, H_in)
    out, (h, c) = layer(x)
    assert out.shape == (5, 2, 4) and h.shape == (2, 2, 4) and c.shape == h.shape
    layer.batch_first = True
    out_bf, _ = layer(x.transpose(0, 1))
    assert_states_close(out, out_bf.transpose(0, 1))


def test_initial_state_is_used():
    layer = rnnkit.LSTM(3, 4, num_layers=2)
    x = torch.randn(2, 3, 3)
    h0, c0 = torch.randn(2, 2, 4), torch.randn(2, 2, 4)
    ref = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
    ref.load_state_dict(layer.state_dict())
    assert_states_close(layer(x, (h0, c0)), ref(x, (h0, c0)))
    assert not torch.allclose(layer(x, (h0, c0))[0], layer(x)[0])


def test_between_layer_dropout_only_in_training():
    layer = rnnkit.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = torch.randn(4, 6, 3)
    layer.eval()
    a, b = layer(x)[0], layer(x)[0]
    assert torch.equal(a, b)
    layer.train()
    assert not torch.allclose(layer(x)[0], a)


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
def test_input_dropout_uses_one_mask_per_sequence():
    # With W_hh = 0 an Elman output depends on the current input only, so a constant input
    # gives the same output at every step iff the dropout mask is the same at every step.
    layer = rnnkit.RNN(6, 5, input_dropout=0.5)
    with torch.no_grad():
        layer.weight_hh_l0.zero_()
    x = torch.randn(3, 1, 6).expand(3, 8, 6)
    out, _ = layer.train()(x)
    assert torch.allclose(out, out[:, :1].expand_as(out))
    assert not torch.allclose(out, layer.eval()(x)[0])


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
def test_recurrent_dropout_draws_masks_once_per_call(monkeypatch):
    layer = rnnkit.GRU(3, 4, recurrent_dropout=0.3, num_layers=2)
    calls = []
    for cell in layer.cells:
        original = cell.sample_masks
        monkeypatch.setattr(
            cell, "sample_masks", lambda n, like, f=original: calls.append(n) or f(n, like)
        )
    out, _ = layer(torch.randn(2, 9, 3))
    assert calls == [2, 2]  # one draw per cell per sequence batch, not per step
    assert out.shape == (2, 9, 4)


def test_stateful_carries_state_and_detaches():
    layer = rnnkit.LSTM(3, 4, num_layers=2, stateful=True)
    plain = rnnkit.LSTM(3, 4, num_layers=2)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(2, 8, 3)
    out1, _ = layer(x[:, :5])
    out2, state2 = layer(x[:, 5:])
    whole, whole_state = plain(x)
    assert_states_close(torch.cat([out1, out2], 1), whole)
    assert_states_close(state2, whole_state)
    assert all(not t.requires_grad for t in layer.carried_state)
    layer.reset_state()
    assert layer.carried_state is None
    assert_states_close(layer(x[:, :5])[0], out1)


def test_stateful_rejects_other_batch_size_until_reset():
    layer = rnnkit.GRU(3, 4, stateful=True)
    layer(torch.randn(2, 4, 3))
    with pytest.raises(ValueError, match="carries a state for batch size 2, got a batch of 5"):
        layer(torch.randn(5, 4, 3))
    layer.reset_state()
    assert layer(torch.randn(5, 4, 3))[0].shape == (5, 4, 4)


def test_go_backwards_reads_reversed_and_keeps_positions():
    layer = rnnkit.GRU(3, 4, go_backwards=True)
    fwd = rnnkit.GRU(3, 4)
    fwd.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 3)
    out, h = layer(x)
    ref_out, ref_h = fwd(x.flip(1))
    assert_states_close(out, ref_out.flip(1))
    assert_states_close(h, ref_h)


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(
    "layer",
    [
        rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2),
        rnnkit.LSTM(3, 4, peephole=True, layer_norm=True, unit_forget_bias=True),
        rnnkit.GRU(3, 4, reset_after=False, recurrent_dropout=0.1, go_backwards=True),
        rnnkit.RNN(3, 4, nonlinearity="relu", stateful=True),
    ],
    ids=["lstm-bi-proj", "lstm-variants", "gru-options", "rnn"],
)
def test_config_and_safetensors_round_trip(layer, tmp_path):
    twin = check_save_load(layer, torch.randn(2, 5, 3), tmp_path)
    assert twin.get_config() == layer.get_config()
    assert str(twin.backend) == str(layer.backend)


def test_nonlinearity_and_activation_together_rejected():
    with pytest.raises(TypeError, match="RNN: pass activation or nonlinearity"):
        rnnkit.RNN(3, 4, activation="tanh", nonlinearity="relu")


@pytest.mark.parametrize("batch_first", [True, False])
def test_packed_sequence_in_packed_sequence_out_like_torch(batch_first):
    layer = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(3, 5, 3) if batch_first else torch.randn(5, 3, 3)
    packed = pack_padded_sequence(x, torch.tensor([5, 2, 4]), batch_first, enforce_sorted=False)
    out, state = layer(packed)
    ref_out, ref_state = ref(packed)
    assert isinstance(out, torch.nn.utils.rnn.PackedSequence)
    assert_states_close(out.data, ref_out.data)
    assert_states_close(state, ref_state)
    with pytest.raises(ValueError, match="PackedSequence carries its own lengths"):
        layer(packed, lengths=torch.tensor([5, 2, 4]))
