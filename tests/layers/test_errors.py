"""Bad input gets an error naming the layer, what it expected and what it got."""

import pytest
import torch

import rnnkit

X = torch.randn(3, 6, 5)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda: rnnkit.LSTM(5, 4)(torch.randn(3, 6, 4)),
            ValueError,
            r"LSTM: expected input of shape \(N, L, 5\), got \(3, 6, 4\)",
        ),
        (
            lambda: rnnkit.GRU(5, 4, batch_first=False)(torch.randn(3, 6, 4)),
            ValueError,
            r"GRU: expected input of shape \(L, N, 5\), got \(3, 6, 4\)",
        ),
        (
            lambda: rnnkit.LSTM(5, 4)(torch.randn(6, 4)),
            ValueError,
            r"expected input of shape \(N, L, 5\) or one unbatched sequence \(L, 5\), got \(6, 4\)",
        ),
        (
            lambda: rnnkit.LSTM(5, 4)(torch.randn(6, 5), (torch.zeros(1, 1, 4),) * 2),
            ValueError,
            r"LSTM: with an unbatched input \(L, H_in\) the state has no batch axis",
        ),
        (
            lambda: rnnkit.GRU(5, 4)(torch.randn(6, 5), lengths=torch.tensor([6])),
            ValueError,
            r"GRU: an unbatched input \(L, H_in\) takes no lengths",
        ),
        (lambda: rnnkit.LSTM(5, 4)(torch.randn(1, 2, 6, 5)), ValueError, r"got \(1, 2, 6, 5\)"),
        (lambda: rnnkit.LSTM(5, 4)(torch.randn(3, 0, 5)), ValueError, "no time steps"),
        (lambda: rnnkit.LSTM(5, 4)([[1.0]]), TypeError, "expected a tensor input, got list"),
        (
            lambda: rnnkit.RNN(5, 4)(X, lengths=torch.tensor([6, 7, 1])),
            ValueError,
            r"RNN: lengths must be in \[1, 6\] .* got lengths\[1\] = 7",
        ),
        (
            lambda: rnnkit.RNN(5, 4)(X, lengths=torch.tensor([6, 0, 1])),
            ValueError,
            r"got lengths\[1\] = 0",
        ),
        (
            lambda: rnnkit.RNN(5, 4)(X, lengths=torch.tensor([6, 1])),
            ValueError,
            r"expected lengths of shape \(3,\), got \(2\)",
        ),
        (
            lambda: rnnkit.RNN(5, 4)(X, lengths=torch.tensor([6.0, 1.0, 2.0])),
            TypeError,
            "lengths must be integers",
        ),
        (
            lambda: rnnkit.RNN(5, 4)(X, mask=torch.ones(3, 5, dtype=torch.bool)),
            ValueError,
            r"expected mask of shape \(3, 6\)",
        ),
        (
            lambda: rnnkit.RNN(5, 4)(X, mask=torch.tensor([[0, 1, 1, 1, 1, 1]] * 3)),
            ValueError,
            "mask must mark a prefix",
        ),
        (
            lambda: rnnkit.RNN(5, 4)(X, lengths=[6, 6, 6], mask=torch.ones(3, 6)),
            ValueError,
            "pass lengths or mask, not both",
        ),
        (
            lambda: rnnkit.LSTM(5, 4)(X, (torch.zeros(1, 3, 4), torch.zeros(1, 3, 3))),
            ValueError,
            r"LSTM: expected state of shape \(\(1, 3, 4\), \(1, 3, 4\)\), "
            r"got \(\(1, 3, 4\), \(1, 3, 3\)\)",
        ),
        (
            lambda: rnnkit.LSTM(5, 4)(X, torch.zeros(1, 3, 4)),
            ValueError,
            r"expected state of shape \(\(1, 3, 4\), \(1, 3, 4\)\), got \(1, 3, 4\)",
        ),
        (
            lambda: rnnkit.GRU(5, 4, num_layers=2)(X, torch.zeros(1, 3, 4)),
            ValueError,
            r"GRU: expected state of shape \(2, 3, 4\), got \(1, 3, 4\)",
        ),
        (
            lambda: rnnkit.LSTM(5, 4, reset_after=True),
            TypeError,
            r"LSTM: unknown option\(s\) \['reset_after'\]",
        ),
        (lambda: rnnkit.LSTM(5, 4, num_layers=0), ValueError, "num_layers must be >= 1"),
        (lambda: rnnkit.LSTM(5, 4, proj_size=4), ValueError, r"proj_size must be in \[0, 4\)"),
        (
            lambda: rnnkit.GRU(5, 4, recurrent_dropout=1.0),
            ValueError,
            r"GRU: recurrent_dropout must be in \[0, 1\), got 1.0",
        ),
        (lambda: rnnkit.LSTM(5, 4, dropout=1.5), ValueError, r"LSTM: dropout must be in \[0, 1\)"),
        (
            lambda: rnnkit.Recurrent(rnnkit.GRUCell(5, 4))(torch.randn(3, 6, 2)),
            ValueError,
            r"Recurrent\(GRUCell\): expected input of shape \(N, L, 5\)",
        ),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
