"""# The RNN abstraction: a cell, unrolled

A recurrent network reads a sequence one element at a time. At every step it combines the
current input with a summary of everything read so far, the *state*, and produces a new state
and an output. Two functions are all there is to it:

```text
s_t = R(s_{t-1}, x_t)        the next state, from the previous state and the input
y_t = O(s_t)                 the output, from the state
```

The same `R` and `O`, with the same parameters, are used at every step. Unrolling the recurrence
over a sentence turns it into one deep feed-forward computation:

```text
s_1 = R(s_0, x_1)
s_2 = R(s_1, x_2) = R(R(s_0, x_1), x_2)
s_3 = R(s_2, x_3) = R(R(R(s_0, x_1), x_2), x_3)
```

so `s_t` encodes the whole prefix `x_1 .. x_t` in one vector. This tutorial writes `R` and `O`
by hand for the simplest case, the Elman network, unrolls them over a sentence, and then shows
that rnnkit's cell, layer and stacked layer compute exactly the same numbers.

Run it with `python docs/tutorials/01_rnn_abstraction.py`; figures go to
`$RNNKIT_TUTORIAL_OUT` (default `runs/tutorials/`).
"""

import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

import rnnkit
from rnnkit.viz.backend import pyplot, save_figure

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # tiny sizes for the test suite
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)

"""
## The Elman network, by hand

The simple ("Elman") RNN of the lecture notes is

```text
s_t = tanh(W_x x_t + W_s s_{t-1} + b)        R
y_t = softmax(W_y s_t)                        O
```

Below, each word of *John lives in Salt Lake City* gets a random 8-dimensional vector `x_t`
(a stand-in for a learned word embedding), the state has 5 dimensions and the output ranges
over the 6 words of the sentence.
"""

words = ["John", "lives", "in", "Salt", "Lake", "City"]
embedding = torch.randn(len(words), 8)  # (V, H_in)
x = embedding[None]  # one sentence: (N=1, L=6, H_in=8)

W_x = torch.randn(5, 8) * 0.5  # (H, H_in)
W_s = torch.randn(5, 5) * 0.5  # (H, H)
b = torch.zeros(5)
W_y = torch.randn(len(words), 5)


def R(s_prev, x_t):
    """The recurrence: next state from the previous state and the input."""
    return torch.tanh(x_t @ W_x.T + s_prev @ W_s.T + b)


def O(s_t):  # noqa: E743 (the notes call it O)
    """The output: a distribution over the vocabulary."""
    return torch.softmax(s_t @ W_y.T, dim=-1)


s = torch.zeros(1, 5)  # s_0
states, outputs = [], []
for t in range(len(words)):
    s = R(s, x[:, t])
    states.append(s)
    outputs.append(O(s))
states = torch.stack(states, dim=1)  # (1, 6, 5)

"""
Unrolling is nothing but function composition: `s_2` is `R(R(s_0, x_1), x_2)`, and the last
state depends on every word of the sentence.
"""

s0 = torch.zeros(1, 5)
assert torch.allclose(states[:, 1], R(R(s0, x[:, 0]), x[:, 1]))
print("state after 'John lives':", states[0, 1].numpy().round(3))
for t, word in enumerate(words):
    print(f"after {word!r:8}: y_t sums to {outputs[t].sum().item():.3f}")

"""
## The same cell in rnnkit

An rnnkit *cell* is one step of a recurrence: `cell(x_t, state) -> (h_t, new_state)`. It knows
its `state_size` and makes a zero state with `init_state(batch_size)`. `rnnkit.ElmanCell` is `R`
above, with PyTorch's parameter names: `weight_ih` is `W_x`, `weight_hh` is `W_s`, and there are
two biases (`bias_ih` and `bias_hh`, which simply add up) so that `torch.nn.RNN` weights load as
they are. Copy our parameters in and the cell computes the same state.
"""

cell = rnnkit.ElmanCell(input_size=8, hidden_size=5)
with torch.no_grad():
    cell.weight_ih.copy_(W_x)
    cell.weight_hh.copy_(W_s)
    cell.bias_ih.copy_(b)
    cell.bias_hh.zero_()
print("state_size:", cell.state_size, " init_state:", tuple(cell.init_state(1).shape))

s = cell.init_state(1)
for t in range(len(words)):
    h, s = cell(x[:, t], s)
    assert torch.allclose(s, states[:, t], atol=1e-6)
print("ElmanCell, unrolled by hand, matches R at every step")

"""
## Any cell, any recurrence: `rnnkit.Recurrent`

`rnnkit.Recurrent(cell)` runs a cell over a whole sequence: `(N, L, H_in) -> (N, L, H)`, and it
always returns `(output, state)`. It runs *any* cell that obeys the contract, including one you
write yourself. Here is a cell that is not an Elman network at all: a leaky average whose state
moves a fixed fraction of the way towards each new input.

```text
s_t = (1 - a) * s_{t-1} + a * tanh(W x_t)
```
"""


class LeakyCell(rnnkit.RecurrentCell):
    """s_t = (1 - a) s_{t-1} + a tanh(W x_t): an exponential moving average of the inputs."""

    def __init__(self, input_size, hidden_size, rate=0.3):
        super().__init__(input_size, hidden_size)
        self.rate = rate
        self.proj = nn.Linear(input_size, hidden_size, bias=False)

    def forward(self, x_t, state=None):
        if state is None:
            state = self.init_state(x_t.shape[0])
        new = (1 - self.rate) * state + self.rate * torch.tanh(self.proj(x_t))
        return new, new


leaky = rnnkit.Recurrent(LeakyCell(8, 5))
out, final = leaky(x)
print("LeakyCell layer:", tuple(out.shape), "final state", tuple(final.shape))
print("backend:", leaky.backend)
assert leaky.backend.kind == "generic"

expected = torch.zeros(1, 5)
for t in range(len(words)):
    expected, _ = leaky.cell(x[:, t], expected)
assert torch.allclose(final[0], expected, atol=1e-6)

"""
A layer's state has a leading axis for layers and directions, `(1, N, H)` here, the same layout
as PyTorch's recurrent layers. `layer.backend` names the path a layer runs and why: a
user-defined cell runs rnnkit's generic loop. A standard cell runs PyTorch's fused kernel instead
(cuDNN on a GPU), on the cell's own parameters, and gives the same numbers.
"""

elman_layer = rnnkit.Recurrent(cell)
print("backend:", elman_layer.backend)
assert elman_layer.backend.kind == "fused"
out, final = elman_layer(x)
assert torch.allclose(out, states, atol=1e-6)
assert torch.allclose(final[0], states[:, -1], atol=1e-6)

"""
## Stacks and directions: `rnnkit.RNN`

`rnnkit.RNN`, `rnnkit.LSTM` and `rnnkit.GRU` take `torch.nn.RNN`'s arguments (with
`batch_first=True` by default) and have the same state dict (`weight_ih_l0`, `weight_hh_l1`, ...),
plus every option of their cell. A one-layer `RNN` with our weights is, once more, our `R`.
"""

rnn = rnnkit.RNN(8, 5)
rnn.load_state_dict(
    {"weight_ih_l0": W_x, "weight_hh_l0": W_s, "bias_ih_l0": b, "bias_hh_l0": torch.zeros(5)}
)
out, h_n = rnn(x)
assert torch.allclose(out, states, atol=1e-6)
print("rnnkit.RNN state dict:", list(rnn.state_dict()))

torch_rnn = nn.RNN(8, 5, batch_first=True)
torch_rnn.load_state_dict(rnn.state_dict())
assert torch.allclose(torch_rnn(x)[0], out, atol=1e-6)
print("the same weights in torch.nn.RNN give the same outputs")

"""
### Variable lengths

Sentences in a batch have different lengths. Pass `lengths` (or a `mask`): padded steps never
change the state, their outputs are zero, and the returned state is each sequence's state at its
own end, so padding a sentence changes nothing.
"""

padded = torch.cat([x, torch.randn(1, 3, 8)], dim=1)  # 6 real steps + 3 of padding
batch = torch.cat([padded, torch.randn(1, 9, 8)])  # a second, full-length sentence
out, h_n = rnn(batch, lengths=torch.tensor([6, 9]))
assert torch.allclose(h_n[0, 0], states[0, -1], atol=1e-6)
assert torch.count_nonzero(out[0, 6:]) == 0

"""
### One step at a time, or the whole sequence

Feeding a layer one step at a time, passing the state along, gives the same result as one call
over the whole sequence: the layer *is* the unrolled recurrence.
"""

state = None
for t in range(len(words)):
    step_out, state = rnn(x[:, t : t + 1], state)
assert torch.allclose(state, rnn(x)[1], atol=1e-6)

"""
### Deep and bidirectional

With `num_layers=2` the outputs of the first layer are the inputs of the second. With
`bidirectional=True` a second RNN reads each sentence from its end to its start, and the two
outputs are concatenated, so the vector at position t sees the whole sentence. The backward half
is exactly a forward RNN run over the reversed sentence, read back in the original order.
"""

birnn = rnnkit.RNN(8, 5, num_layers=2, bidirectional=True)
out, h_n = birnn(x)
print("bidirectional, 2 layers:", tuple(out.shape), "state", tuple(h_n.shape))
assert out.shape == (1, 6, 10) and h_n.shape == (4, 1, 5)

backward = rnnkit.RNN(8, 5)
backward.load_state_dict(
    {
        "weight_ih_l0": birnn.weight_ih_l0_reverse,
        "weight_hh_l0": birnn.weight_hh_l0_reverse,
        "bias_ih_l0": birnn.bias_ih_l0_reverse,
        "bias_hh_l0": birnn.bias_hh_l0_reverse,
    }
)
one_layer = rnnkit.RNN(8, 5, bidirectional=True)
one_layer.load_state_dict({k: v for k, v in birnn.state_dict().items() if "_l0" in k})
reversed_out, _ = backward(x.flip(1))
assert torch.allclose(one_layer(x)[0][..., 5:], reversed_out.flip(1), atol=1e-6)

"""
## Training the abstraction: a tiny language model

In a language model, `x_t` is the current word and `y_t` is the distribution of the next one.
The notes' example: with vocabulary *a, cow, eats, grass* and the training sentence *a cow eats
grass*, the loss is the sum of `-log P(next word)` over the three predictions, and
backpropagation through the unrolled graph (*backpropagation through time*) trains `W_x`, `W_s`,
`b` and `W_y` together.
"""

vocab = ["a", "cow", "eats", "grass"]
ids = torch.tensor([[0, 1, 2, 3]])
embed = nn.Embedding(4, 8)
lm_rnn = rnnkit.RNN(8, 16)
readout = nn.Linear(16, 4)  # O: logits; the softmax is inside the loss
params = [*embed.parameters(), *lm_rnn.parameters(), *readout.parameters()]
optimizer = torch.optim.Adam(params, lr=0.02)
steps = 60 if QUICK else 200
for step in range(steps):
    hidden, _ = lm_rnn(embed(ids[:, :-1]))  # read a, cow, eats
    logits = readout(hidden)  # predict cow, eats, grass
    loss = F.cross_entropy(logits.reshape(-1, 4), ids[:, 1:].reshape(-1), reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 20 == 0:
        print(f"step {step:3d}  L_total = {loss.item():.3f}")

with torch.no_grad():
    probs = readout(lm_rnn(embed(ids[:, :-1]))[0]).softmax(-1)[0]
for t in range(3):
    nxt = vocab[ids[0, t + 1]]
    print(f"P({nxt!r:8} | {' '.join(vocab[: t + 1])}) = {probs[t, ids[0, t + 1]].item():.3f}")
assert probs[2, 3] > 0.9, "after training, 'grass' should follow 'a cow eats'"

"""
## What the state looks like

The figure shows the 16 state units of the trained language model (rows) after each word
(columns) of the training sentence: every column is one `s_t`, the vector that summarises the
prefix read so far.
"""

with torch.no_grad():
    trained_states = lm_rnn(embed(ids))[0][0]  # (4, 16)
plt = pyplot()
fig, ax = plt.subplots(figsize=(4, 5))
image = ax.imshow(trained_states.T.numpy(), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
ax.set_xticks(range(4), labels=vocab)
ax.set_ylabel("state unit")
ax.set_title("s_t after each word")
fig.colorbar(image, ax=ax)
path = save_figure(fig, OUT / "01_states.png")
print("wrote", path)
