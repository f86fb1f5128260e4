"""# Inside LSTM and GRU: the gates, written out

The Elman network adds new content to its state at every step and its gradient fades within a
few dozen steps. Gated cells control the flow instead. A *gate* is a vector of values between 0
and 1, computed by a sigmoid from the input and the previous state, that multiplies another
vector element by element: 1 lets a feature pass, 0 blocks it.

This tutorial writes the LSTM and GRU equations of the lecture notes as plain tensor code,
checks them against `rnnkit.LSTMCell` and `rnnkit.GRUCell` (and PyTorch's cells), and then goes
through the variants and knobs: peepholes, the two placements of the GRU's reset gate, and
Keras' arguments under their rnnkit names.
"""

import os
import warnings
from pathlib import Path

import torch
from torch import nn

import rnnkit
from rnnkit.viz.backend import pyplot, save_figure

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # (this tutorial is small either way)
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)

"""
## A gate vector

The notes' example: a gate `g = (0.9, 0.1, 0.0)` applied to `v = (2.5, 5.3, 1.2)` keeps most of
the first feature, a little of the second and none of the third.
"""

g = torch.tensor([0.9, 0.1, 0.0])
v = torch.tensor([2.5, 5.3, 1.2])
print("g * v =", (g * v).tolist())
assert torch.allclose(g * v, torch.tensor([2.25, 0.53, 0.0]))

"""
## The LSTM cell

Gates are computed from the input `x_t` and the previous hidden state `h_{t-1}`; the cell state
`c_t` carries the memory, and `h_t` is what the cell shows to the outside:

```text
i_t = sigmoid(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)     input gate: what to write
f_t = sigmoid(W_if x_t + b_if + W_hf h_{t-1} + b_hf)     forget gate: what to keep
g_t = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)        new content
o_t = sigmoid(W_io x_t + b_io + W_ho h_{t-1} + b_ho)     output gate: what to show
c_t = f_t * c_{t-1} + i_t * g_t
h_t = o_t * tanh(c_t)
```

rnnkit stores the four gates' weights stacked in PyTorch's order i, f, g, o: `weight_ih` is
(4H, H_in) and `weight_hh` is (4H, H). Slicing them gives each gate's matrices.
"""

H_in, H, N = 6, 4, 3
lstm = rnnkit.LSTMCell(H_in, H)
x_t = torch.randn(N, H_in)
h_prev, c_prev = torch.randn(N, H), torch.randn(N, H)

W_i, W_f, W_g, W_o = lstm.weight_ih.chunk(4)  # each (H, H_in)
U_i, U_f, U_g, U_o = lstm.weight_hh.chunk(4)  # each (H, H)
b = lstm.bias_ih + lstm.bias_hh  # the two biases only ever appear as a sum
b_i, b_f, b_g, b_o = b.chunk(4)

i = torch.sigmoid(x_t @ W_i.T + h_prev @ U_i.T + b_i)
f = torch.sigmoid(x_t @ W_f.T + h_prev @ U_f.T + b_f)
g = torch.tanh(x_t @ W_g.T + h_prev @ U_g.T + b_g)
o = torch.sigmoid(x_t @ W_o.T + h_prev @ U_o.T + b_o)
c = f * c_prev + i * g
h = o * torch.tanh(c)

h_cell, (h_state, c_cell) = lstm(x_t, (h_prev, c_prev))
torch.testing.assert_close(h, h_cell)
torch.testing.assert_close(c, c_cell)
assert h_state is h_cell  # the output is the hidden state
print("LSTM gates by hand == rnnkit.LSTMCell")

"""
The notes also write each gate as one matrix applied to the concatenation `[h_{t-1}, x_t]`,
`f_t = sigmoid(W_f . [h_{t-1}, x_t] + b_f)`: the same thing, with `W_f = [U_f, W_f]` side by side.
"""

W_f_concat = torch.cat([U_f, W_f], dim=1)  # (H, H + H_in)
f_concat = torch.sigmoid(torch.cat([h_prev, x_t], dim=1) @ W_f_concat.T + b_f)
torch.testing.assert_close(f_concat, f)

"""
With default options the cell *is* `torch.nn.LSTMCell`: same parameter names, same numbers.
"""

torch_lstm = nn.LSTMCell(H_in, H)
torch_lstm.load_state_dict(lstm.state_dict())
h_torch, c_torch = torch_lstm(x_t, (h_prev, c_prev))
torch.testing.assert_close(h_torch, h)
torch.testing.assert_close(c_torch, c)

"""
### Why the cell state keeps gradients

`dc_t/dc_{t-1}` is `f_t` (plus terms through the gates): a forget gate near one passes the
gradient back almost unchanged, step after step, where an Elman network multiplies by
`diag(1 - h^2) W`. Autograd confirms the direct path: with the gates held fixed, the gradient of
`c_t` with respect to `c_{t-1}` is exactly `f_t`.
"""

c_leaf = c_prev.clone().requires_grad_(True)
c_next = f.detach() * c_leaf + (i * g).detach()
(grad,) = torch.autograd.grad(c_next.sum(), c_leaf)
torch.testing.assert_close(grad, f.detach())

"""
## Peepholes

Gers & Schmidhuber (2000) let the gates look at the cell state too. The notes draw it as
`f_t = sigmoid(W_f [C_{t-1}, h_{t-1}, x_t] + b_f)`; the usual form, and rnnkit's, uses a
*diagonal* peephole (one weight per unit), with the output gate looking at the new cell state:

```text
i_t = sigmoid(... + w_ci * c_{t-1})
f_t = sigmoid(... + w_cf * c_{t-1})
o_t = sigmoid(... + w_co * c_t)
```

PyTorch's fused LSTM kernel has no peepholes, so a peephole layer runs rnnkit's own path, and
`layer.backend` says so.
"""

peep = rnnkit.LSTMCell(H_in, H, peephole=True)
a = x_t @ peep.weight_ih.T + peep.bias_ih + h_prev @ peep.weight_hh.T + peep.bias_hh
a_i, a_f, a_g, a_o = a.chunk(4, dim=-1)
i_p = torch.sigmoid(a_i + peep.weight_ci * c_prev)
f_p = torch.sigmoid(a_f + peep.weight_cf * c_prev)
c_p = f_p * c_prev + i_p * torch.tanh(a_g)
h_p = torch.sigmoid(a_o + peep.weight_co * c_p) * torch.tanh(c_p)
h_cell, (_, c_cell) = peep(x_t, (h_prev, c_prev))
torch.testing.assert_close(h_cell, h_p)
torch.testing.assert_close(c_cell, c_p)

print("peephole layer backend:", rnnkit.LSTM(H_in, H, peephole=True).backend)
print("standard layer backend:", rnnkit.LSTM(H_in, H).backend)
assert rnnkit.LSTM(H_in, H, peephole=True).backend.kind != "fused"
assert rnnkit.LSTM(H_in, H).backend.kind == "fused"

"""
## The GRU cell

The GRU (Cho et al. 2014) merges the cell and hidden state and uses two gates: the *update* gate
z decides how much of the old state to keep, the *reset* gate r how much of it to use when
proposing the new content n:

```text
r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))       reset_after=True
n_t = tanh(W_in x_t + b_in + W_hn (r_t * h_{t-1}) + b_hn)       reset_after=False
h_t = (1 - z_t) * n_t + z_t * h_{t-1}
```

The two lines for `n_t` are the two variants the Keras flashcards mention. The original paper
applies the reset gate *before* the matrix product (`reset_after=False`); cuDNN, PyTorch and
Keras 2+ by default apply it *after* (`reset_after=True`), which lets all three recurrent
products run as one matrix multiplication. Gate order r, z, n, as in PyTorch.
"""

gru = rnnkit.GRUCell(H_in, H)  # reset_after=True by default
Wr, Wz, Wn = gru.weight_ih.chunk(3)
Ur, Uz, Un = gru.weight_hh.chunk(3)
bir, biz, bin_ = gru.bias_ih.chunk(3)
bhr, bhz, bhn = gru.bias_hh.chunk(3)


def gru_by_hand(x_t, h_prev, reset_after):
    r = torch.sigmoid(x_t @ Wr.T + bir + h_prev @ Ur.T + bhr)
    z = torch.sigmoid(x_t @ Wz.T + biz + h_prev @ Uz.T + bhz)
    if reset_after:
        n = torch.tanh(x_t @ Wn.T + bin_ + r * (h_prev @ Un.T + bhn))
    else:
        n = torch.tanh(x_t @ Wn.T + bin_ + (r * h_prev) @ Un.T + bhn)
    return (1 - z) * n + z * h_prev


h_after, _ = gru(x_t, h_prev)
torch.testing.assert_close(h_after, gru_by_hand(x_t, h_prev, reset_after=True))
torch_gru = nn.GRUCell(H_in, H)
torch_gru.load_state_dict(gru.state_dict())
torch.testing.assert_close(torch_gru(x_t, h_prev), h_after)

gru_before = rnnkit.GRUCell(H_in, H, reset_after=False)
gru_before.load_state_dict(gru.state_dict())  # the very same weights
h_before, _ = gru_before(x_t, h_prev)
torch.testing.assert_close(h_before, gru_by_hand(x_t, h_prev, reset_after=False))
gap = (h_before - h_after).abs().max().item()
print(f"GRU: same weights, reset before vs after the product differ by up to {gap:.3f}")
assert gap > 1e-3  # the placements are different functions: weights do not transfer
print("reset_after=False layer backend:", rnnkit.GRU(H_in, H, reset_after=False).backend)

"""
## Fewer parameters

The GRU has three blocks of weights where the LSTM has four: for the same sizes it has 3/4 of
the parameters (the flashcards' "similar performance with fewer parameters").
"""


def count(module):
    return sum(p.numel() for p in module.parameters())


block = H * (H_in + H) + 2 * H  # one gate: W_ih, W_hh and two biases
assert (
    count(lstm) == 4 * block and count(gru) == 3 * block and count(rnnkit.ElmanCell(6, 4)) == block
)
print(f"parameters for H_in={H_in}, H={H}: Elman {block}, GRU {3 * block}, LSTM {4 * block}")

"""
## Keras' arguments and their rnnkit names

The flashcards list Keras' `LSTM` and `GRU` arguments. rnnkit takes PyTorch's sizes and layout
and offers every Keras knob under the same or a close name:

| Keras | rnnkit | note |
|---|---|---|
| `units` | `hidden_size` | |
| `activation="tanh"` | `activation="tanh"` | any name in `rnnkit.cells.activations` |
| `recurrent_activation="sigmoid"` | `recurrent_activation="sigmoid"` | gates |
| `kernel_initializer="glorot_uniform"` | `kernel_initializer` | rnnkit's default is `"pytorch"` |
| `recurrent_initializer="orthogonal"` | `recurrent_initializer` | per gate block |
| `bias_initializer="zeros"` | `bias_initializer` | |
| `unit_forget_bias=True` | `unit_forget_bias=True` | adds 1 to `bias_ih`'s forget block |
| `dropout` | `input_dropout` (layers), `dropout` (cells) | one mask per sequence |
| `recurrent_dropout` | `recurrent_dropout` | one mask per sequence |
| `return_sequences`, `return_state` | always `(output, state)` | |
| `go_backwards`, `stateful` | `go_backwards`, `stateful` | |
| `reset_after=True` (GRU) | `reset_after=True` | |
| cuDNN when the arguments allow | `layer.backend` | says which path and why |

`torch.nn.LSTM`'s `dropout` (between stacked layers) keeps its PyTorch meaning. Here is an LSTM
set up the way Keras sets up its default one:
"""

keras_like = rnnkit.LSTM(
    H_in, 8,
    kernel_initializer="glorot_uniform",
    recurrent_initializer="orthogonal",
    bias_initializer="zeros",
    unit_forget_bias=True,
)  # fmt: skip
cell = keras_like.cells[0]
forget = slice(8, 16)  # gate order i, f, g, o
assert torch.all(cell.bias_ih[forget] == 1) and torch.all(cell.bias_hh == 0)
assert torch.count_nonzero(cell.bias_ih) == 8  # only the forget gate starts at 1
for U in cell.weight_hh.chunk(4):  # each gate's recurrent matrix is orthogonal
    torch.testing.assert_close(U @ U.T, torch.eye(8), atol=1e-5, rtol=0)
print("Keras-style initialisation; backend:", keras_like.backend)
assert keras_like.backend.kind == "fused"  # initializers do not change the path

"""
Keras has one bias per gate where PyTorch has two (`bias_ih` and `bias_hh`); only their sum
matters, so with `bias_initializer="zeros"` the forget gate's total bias starts at exactly 1,
as in Keras.

Like Keras with cuDNN, rnnkit runs the fast fused kernel only when the arguments allow it. Unlike
Keras, it never falls off the fast path silently: a standard cell family on the slow path warns
with a `FusedPathWarning` naming the reason.
"""

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    relu_lstm = rnnkit.LSTM(H_in, 8, activation="relu")
    relu_lstm(torch.randn(2, 5, H_in))
print("relu LSTM:", relu_lstm.backend)
assert any(issubclass(w.category, rnnkit.FusedPathWarning) for w in caught)

"""
## The gates at work

Finally, the gates of a (fresh, Keras-initialised) LSTM while it reads a line of text, character
by character: each panel shows one gate's activations, unit by row and character by column. With
`unit_forget_bias=True` the forget gate starts mostly open (around sigmoid(1) = 0.73).
"""

text = "Now is the winter of our discontent"
chars = sorted(set(text))
embed = nn.Embedding(len(chars), H_in)
xs = embed(torch.tensor([chars.index(ch) for ch in text]))[:, None, :]  # (L, 1, H_in)
gates = {"input": [], "forget": [], "output": []}
state = cell.init_state(1)
with torch.no_grad():
    for x in xs:
        h_prev, c_prev = state
        a = cell.project_input(x) + cell.project_hidden(h_prev)
        a_i, a_f, _, a_o = a.chunk(4, dim=-1)
        for name, part in (("input", a_i), ("forget", a_f), ("output", a_o)):
            gates[name].append(torch.sigmoid(part)[0])
        _, state = cell(x, state)
mean_forget = torch.stack(gates["forget"]).mean().item()
print(f"mean forget gate while reading: {mean_forget:.2f}")
assert 0.5 < mean_forget < 0.95

plt = pyplot()
fig, axes = plt.subplots(3, 1, figsize=(9, 5), sharex=True)
for ax, (name, values) in zip(axes, gates.items()):
    ax.imshow(torch.stack(values).T.numpy(), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_ylabel(name)
axes[-1].set_xticks(range(len(text)), labels=list(text))
fig.suptitle("LSTM gates while reading (fresh, unit_forget_bias=True); dark 0, yellow 1")
path = save_figure(fig, OUT / "03_gates.png")
print("wrote", path)
