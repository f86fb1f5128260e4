"""ScalarMix: starts as the equal average, learns its weights and scale, checks its input."""

import pytest
import torch

from rnnkit.layers import ScalarMix


def test_starts_as_the_equal_average():
    layers = torch.randn(3, 2, 5, 8)
    mix = ScalarMix(3)
    torch.testing.assert_close(mix(layers), layers.mean(0))
    torch.testing.assert_close(mix(list(layers)), layers.mean(0))  # a list of tensors too
    torch.testing.assert_close(mix.weights, torch.full((3,), 1 / 3))


def test_weights_and_gamma_follow_the_equation():
    layers = torch.randn(4, 3, 6)
    mix = ScalarMix(4)
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
        mix.gamma.fill_(1.7)
    s = torch.softmax(mix.scalars.detach(), 0)
    expected = 1.7 * sum(s[k] * layers[k] for k in range(4))
    torch.testing.assert_close(mix(layers), expected)
    assert mix.weights.sum().item() == pytest.approx(1.0)


def test_learns_to_pick_a_layer():
    torch.manual_seed(0)
    layers = torch.randn(3, 16, 4)
    target = 2.0 * layers[1]
    mix = ScalarMix(3)
    opt = torch.optim.Adam(mix.parameters(), lr=0.1)
    for _ in range(300):
        loss = (mix(layers) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert mix.weights[1].item() > 0.95
    assert mix.gamma.item() == pytest.approx(2.0, abs=0.1)


def test_gradcheck():
    mix = ScalarMix(3).double()
    layers = torch.randn(3, 2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: mix(x), (layers,))


def test_wrong_number_of_layers_is_reported():
    with pytest.raises(ValueError, match="expected 3 layers, got 2"):
        ScalarMix(3)(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="num_layers must be >= 1"):
        ScalarMix(0)
