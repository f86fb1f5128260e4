"""``cell_parameters``: a cell's own parameter names, alone or inside a stack."""

from __future__ import annotations

import torch

import rnnkit
from rnnkit.cells.parameters import cell_parameters


def test_a_cell_alone_lists_its_parameters() -> None:
    cell = rnnkit.GRUCell(3, 5)
    assert cell_parameters(cell) == dict(cell.named_parameters())


def test_a_cell_in_a_stack_reads_the_stack_s_tensors() -> None:
    stack = rnnkit.LSTM(3, 5, num_layers=2, bidirectional=True)
    cell = stack.cells[3]  # layer 1, reverse direction
    assert cell.state_dict() == {}  # the stack lists them under flat names
    params = cell_parameters(cell)
    assert sorted(params) == ["bias_hh", "bias_ih", "weight_hh", "weight_ih"]
    assert params["weight_hh"] is stack.weight_hh_l1_reverse
    with torch.no_grad():
        params["bias_ih"].fill_(0.5)
    assert torch.equal(stack.bias_ih_l1_reverse, torch.full((20,), 0.5))
