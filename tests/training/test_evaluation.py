"""Moving batches to where a model lives (what prediction code does before calling it)."""

import torch
from torch import nn

from rnnkit.training.evaluation import model_device, to_device


def test_model_device_is_the_first_parameters_and_cpu_without_any():
    assert model_device(nn.Linear(2, 3)) == torch.device("cpu")
    assert model_device(nn.Linear(2, 3).to("meta")) == torch.device("meta")
    assert model_device(nn.ReLU()) == torch.device("cpu")


def test_to_device_moves_nested_batches_and_keeps_other_values():
    batch = {"tokens": torch.ones(2, 3), "pair": (torch.zeros(1), [torch.ones(1)]), "n": 4}
    moved = to_device(batch, torch.device("meta"))
    assert moved["tokens"].device.type == "meta" and moved["tokens"].shape == (2, 3)
    assert isinstance(moved["pair"], tuple) and isinstance(moved["pair"][1], list)
    assert moved["pair"][0].device.type == moved["pair"][1][0].device.type == "meta"
    assert moved["n"] == 4
