"""Parameter names of RNN/LSTM/GRU: torch.nn's, in named_parameters() and state_dict() alike."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.layers import WeightDrop
from tests.harness import assert_states_close

PAIRS = [(rnnkit.LSTM, torch.nn.LSTM), (rnnkit.GRU, torch.nn.GRU), (rnnkit.RNN, torch.nn.RNN)]
CONFIGS = [{}, {"num_layers": 2}, {"num_layers": 2, "bidirectional": True}, {"bias": False}]


@pytest.mark.parametrize("config", CONFIGS, ids=["one", "stacked", "bidirectional", "no-bias"])
@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=["lstm", "gru", "rnn"])
def test_names_equal_torch_nn_and_the_state_dict(ours, theirs, config):
    layer, reference = ours(4, 6, **config), theirs(4, 6, **config)
    names = [n for n, _ in layer.named_parameters()]
    assert names == [n for n, _ in reference.named_parameters()]
    assert names == list(layer.state_dict()) == list(reference.state_dict())
    assert len(list(layer.parameters())) == len(names)  # each parameter once
    for name, p in layer.named_parameters():
        assert p.shape == reference.get_parameter(name).shape


def test_the_cells_read_the_stacks_parameters():
    lstm = rnnkit.LSTM(4, 6, num_layers=2, bidirectional=True, peephole=True)
    assert lstm.weight_hh_l1_reverse is lstm.cells[3].weight_hh
    assert lstm.weight_ci_l0 is lstm.cells[0].weight_ci
    lstm.double()
    assert lstm.cells[2].weight_ih.dtype == torch.float64
    assert lstm.init_state(2)[0].dtype == torch.float64


@pytest.mark.parametrize(("ours", "theirs"), PAIRS, ids=["lstm", "gru", "rnn"])
def test_functional_call_with_the_state_dict_names(ours, theirs):
    torch.manual_seed(0)
    layer = ours(4, 6, num_layers=2, bidirectional=True)
    x = torch.randn(3, 5, 4)
    expected = layer(x)
    params = dict(layer.state_dict())
    assert_states_close(torch.func.functional_call(layer, params, (x,)), expected)
    doubled = {n: 2 * p for n, p in params.items()}
    reference = theirs(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    reference.load_state_dict(doubled)
    got = torch.func.functional_call(layer, doubled, (x,))
    assert_states_close(got, reference(x), atol=1e-5)
    assert_states_close(layer(x), expected)  # the layer's own parameters are back


def test_gradients_compare_with_torch_nn_by_name():
    torch.manual_seed(0)
    layer = rnnkit.LSTM(4, 6, num_layers=2)
    reference = torch.nn.LSTM(4, 6, num_layers=2, batch_first=True)
    reference.load_state_dict(layer.state_dict())
    x = torch.randn(3, 5, 4)
    layer(x)[0].sum().backward()
    reference(x)[0].sum().backward()
    theirs = dict(reference.named_parameters())
    for name, p in layer.named_parameters():
        assert torch.allclose(p.grad, theirs[name].grad, atol=1e-5), name


def test_an_optimizer_state_saved_by_name_loads():
    torch.manual_seed(0)
    layer = rnnkit.GRU(4, 6, num_layers=2, bidirectional=True)
    decay = [p for n, p in layer.named_parameters() if not n.startswith("bias")]
    rest = [p for n, p in layer.named_parameters() if n.startswith("bias")]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": 0.1}, {"params": rest}])
    layer(torch.randn(2, 3, 4))[0].sum().backward()
    opt.step()
    by_name = {n: opt.state[p]["exp_avg"] for n, p in layer.named_parameters()}

    again = rnnkit.GRU(4, 6, num_layers=2, bidirectional=True)
    again.load_state_dict(layer.state_dict())
    decay2 = [p for n, p in again.named_parameters() if not n.startswith("bias")]
    rest2 = [p for n, p in again.named_parameters() if n.startswith("bias")]
    opt2 = torch.optim.Adam([{"params": decay2, "weight_decay": 0.1}, {"params": rest2}])
    opt2.load_state_dict(opt.state_dict())
    for n, p in again.named_parameters():
        assert torch.equal(opt2.state[p]["exp_avg"], by_name[n]), n


def test_weight_drop_finds_the_flat_recurrent_weights():
    drop = WeightDrop(rnnkit.LSTM(4, 6, num_layers=2), p=0.5)
    assert drop.names == ["weight_hh_l0", "weight_hh_l1"]
    out, _ = drop.train()(torch.randn(2, 3, 4))
    assert out.shape == (2, 3, 6)
