"""# Backpropagation through time and the vanishing gradient

An unrolled RNN is a deep feed-forward network whose layers share their weights, so it is trained
with ordinary backpropagation over the unrolled graph: *backpropagation through time* (BPTT).
The gradient of the loss at step T with respect to an earlier state h_t passes through every
step in between:

```text
dL_T/dh_t = dL_T/dh_T * dh_T/dh_{T-1} * ... * dh_{t+1}/dh_t
```

a product of T - t Jacobians. When their norms stay below one the product shrinks
geometrically (the *vanishing gradient*: far-away words stop influencing the update); above one
it grows geometrically (the *exploding gradient*: one update wrecks the weights). This tutorial
makes both visible: it checks BPTT by hand, measures `||dL_T/dh_t||` for Elman, LSTM and GRU
language models before and after training, clips an exploding gradient and shows what truncated
BPTT cuts.
"""

import math
import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

import rnnkit
from rnnkit.data import CharTokenizer, LMStream, load_bundled
from rnnkit.models import LanguageModel
from rnnkit.viz import gradient_norms, plot_gradient_flow

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # tiny sizes for the test suite
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)

"""
## The linear case: powers of W

Replace the nonlinearity by the identity, `h_t = W h_{t-1} + U x_t + b`. Then every Jacobian
`dh_k/dh_{k-1}` is the same matrix W, and

```text
dL_T/dh_t = dL_T/dh_T  W^(T-t)
```

Take W = rho * Q with Q orthogonal: every singular value of W is rho, so the gradient's norm is
exactly `rho^(T-t)` times its norm at T. rho = 0.9 vanishes, rho = 1.1 explodes. (An Elman cell
with `activation="linear"` has no fused kernel, so the layer warns that it runs rnnkit's
generic loop.)
"""


def state_gradients(layer, x):
    """||dL_T/dh_t|| for t = 1..T, by retaining every state of a one-step-at-a-time unroll."""
    state, hs = None, []
    for t in range(x.shape[1]):
        _, state = layer(x[:, t : t + 1], state)  # state (1, N, H) feeds the next step
        state.retain_grad()
        hs.append(state)
    hs[-1].sum().backward()  # L_T = sum of the last state
    return torch.stack([h.grad.norm() for h in hs])


T = 30
x = torch.randn(1, T, 4)
q, _ = torch.linalg.qr(torch.randn(16, 16))
curves = {}
for rho in (0.9, 1.1):
    linear = rnnkit.RNN(4, 16, activation="linear")
    with torch.no_grad():
        linear.weight_hh_l0.copy_(rho * q)
    norms = state_gradients(linear, x)
    curves[rho] = norms
    predicted = norms[-1] * rho ** torch.arange(T - 1, -1, -1.0)
    torch.testing.assert_close(norms, predicted, rtol=1e-4, atol=0.0)
    print(f"rho = {rho}: ||dL/dh_1|| / ||dL/dh_T|| = {(norms[0] / norms[-1]).item():.3g}"
          f"  (rho^{T - 1} = {rho ** (T - 1):.3g})")  # fmt: skip

"""
## BPTT by hand for a tanh RNN

With `h_t = tanh(W h_{t-1} + U x_t + b)` the Jacobian is `diag(1 - h_t^2) W`: the derivative of
tanh, at most one and often much less, multiplies in at every step. Backpropagating by hand,

```text
g_T = dL_T/dh_T,      g_{t-1} = W^T (g_t * (1 - h_t^2))
```

gives the same gradients as autograd on the unrolled graph.
"""

elman = rnnkit.RNN(4, 16)
auto = state_gradients(elman, x)
with torch.no_grad():
    hs, _ = elman(x)
    hs = hs[0]  # (T, H)
    W = elman.weight_hh_l0
    g = torch.ones(16)  # dL_T/dh_T for L_T = sum(h_T)
    by_hand = [g.norm()]
    for t in range(T - 1, 0, -1):
        g = W.T @ (g * (1 - hs[t] ** 2))
        by_hand.append(g.norm())
by_hand = torch.stack(by_hand[::-1])
torch.testing.assert_close(auto, by_hand, rtol=1e-4, atol=1e-12)
print(f"tanh RNN: BPTT by hand equals autograd; ||dL/dh_1|| = {auto[0].item():.2e}")

"""
## Elman, LSTM and GRU language models, fresh and trained

`rnnkit.viz.gradient_norms(model, tokens)` measures `||dL_T/dh_t||` of a language model: it feeds
`tokens[:, :T]` one step at a time, adds a zero "probe" tensor to the top layer's state after
each step (so the probe's gradient is exactly `dL_T/dh_t`), and backpropagates the loss of
predicting `tokens[:, T]`. We measure character-level language models on the bundled
Shakespeare (the same text, the same sizes, the same seed), once freshly initialised and once
after a short training run, and plot the curves with `plot_gradient_flow`.

For each curve we print the *per-step factor*: the geometric mean of
`||dL/dh_{t-1}|| / ||dL/dh_t||` over the whole range. Below one, the gradient vanishes at that
rate per step.
"""

text = load_bundled("shakespeare")[: 40_000 if QUICK else 400_000]
tokenizer = CharTokenizer.train(text)
ids = torch.tensor(tokenizer.encode(text))
T = 20 if QUICK else 60
train_steps = 10 if QUICK else 200
hidden = 24 if QUICK else 96
probe = ids[-16 * (T + 1) :].view(16, T + 1)  # held-out: 16 sequences of T + 1 characters


def per_step_factor(norms):
    norms = norms.double().clamp_min(1e-300)
    return math.exp((norms[0].log() - norms[-1].log()).item() / (len(norms) - 1))


def train(lm, steps):
    optimizer = torch.optim.Adam(lm.parameters(), lr=3e-3)
    stream = LMStream(ids[: -probe.numel()], batch_size=32, bptt=T)
    for step, batch in enumerate(stream):
        if step == steps:
            break
        loss, _ = lm.forward_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(lm.parameters(), 1.0)
        optimizer.step()
    return loss.item()


models = {
    "Elman": ("rnn", {}),
    "LSTM": ("lstm", {}),
    "LSTM, forget bias 1": ("lstm", {"unit_forget_bias": True}),
    "GRU": ("gru", {}),
}
flow, factors = {}, {}
for label, (cell, options) in models.items():
    torch.manual_seed(0)
    lm = LanguageModel(
        tokenizer.vocab_size, cell=cell, embedding_size=32, hidden_size=hidden, num_layers=1,
        tie_weights=False, dropout=0.0, cell_options=options,
    )  # fmt: skip
    fresh = gradient_norms(lm, probe)
    loss = train(lm, train_steps)
    trained = gradient_norms(lm, probe)
    flow[label] = {"fresh": fresh.tolist(), f"after {train_steps} steps": trained.tolist()}
    factors[label] = (per_step_factor(fresh), per_step_factor(trained))
    print(f"{label:20s} per-step factor fresh {factors[label][0]:.3f}, trained "
          f"{factors[label][1]:.3f} (training loss {loss:.2f})")  # fmt: skip

path = plot_gradient_flow(flow, OUT / "02_gradient_flow.png", title=f"||dL_T/dh_t||, T = {T}")
print("wrote", path)

"""
What the numbers say (your figures will differ a little with the machine and the seed):

- A fresh Elman network loses the signal geometrically: its per-step factor is well below one.
- A *fresh* LSTM is not much better. With PyTorch's initialisation the forget gate starts near
  sigmoid(0) = 0.5, so the cell state halves at every step. Keras' `unit_forget_bias=True`
  (Jozefowicz et al. 2015) adds 1 to the forget gate's bias, `f ~ sigmoid(1) = 0.73`, and the
  gradient travels further from the start.
- Training changes the picture: the gates learn to keep the cell state, and the trained LSTM
  passes gradient back much further than the trained Elman network, whose factor drops.
"""

assert factors["Elman"][0] < 0.9
assert factors["LSTM, forget bias 1"][0] > factors["LSTM"][0]
assert factors["LSTM"][1] > factors["Elman"][1]

"""
## Exploding gradients and clipping

Make the recurrent weights large (W = 3Q) and the gradient explodes: its norm is far beyond
anything an SGD step can take. *Gradient clipping* rescales the whole gradient when its norm
exceeds a threshold: the step keeps its direction but not its size.

```text
if ||g|| > c:   g <- c * g / ||g||
```

`torch.nn.utils.clip_grad_norm_` does this; rnnkit's `Trainer` applies it at every step
(`TrainerConfig.clip_grad_norm`, 1.0 by default).
"""

torch.manual_seed(0)
exploding = rnnkit.RNN(4, 32)
head = nn.Linear(32, 1)
with torch.no_grad():
    q, _ = torch.linalg.qr(torch.randn(32, 32))
    exploding.weight_hh_l0.copy_(3.0 * q)
params = [*exploding.parameters(), *head.parameters()]
xs = torch.randn(64, 40, 4)
_, h_n = exploding(xs)
loss = F.mse_loss(head(h_n[-1]), xs[:, 0, :1])  # recall the first input after 40 steps
loss.backward()
grads = [p.grad.clone() for p in params]
norm = torch.cat([g.flatten() for g in grads]).norm()
print(f"gradient norm: {norm.item():.3g}")
assert norm > 100

lr, max_norm = 0.01, 1.0
returned = nn.utils.clip_grad_norm_(params, max_norm)
clipped = torch.cat([p.grad.flatten() for p in params])
assert torch.isclose(returned, norm)  # it returns the norm before clipping
assert torch.isclose(clipped.norm(), torch.tensor(max_norm), rtol=1e-4)
cosine = F.cosine_similarity(clipped, torch.cat([g.flatten() for g in grads]), dim=0)
assert cosine > 0.9999  # same direction
W = exploding.weight_hh_l0
print(f"an SGD step (lr {lr}) would move W_hh by {lr * grads[1].norm().item():.3g} unclipped, "
      f"by at most {lr * max_norm} clipped; ||W_hh|| = {W.norm().item():.3g}")  # fmt: skip
assert lr * grads[1].norm() > W.norm()  # unclipped, one step moves W by more than its own size

"""
## Truncated BPTT

Backpropagating through a whole book is neither affordable nor useful once the gradient has
vanished. *Truncated* BPTT cuts the text into windows: the state is carried from one window to
the next, so the forward pass sees all the history, but it is *detached*, so the backward pass
stops at the window's start. A `stateful=True` layer does exactly that: it keeps its final
state, detached, as the initial state of its next call (and `reset_state()` forgets it).
`LMStream` cuts text into such windows and `LanguageModel.forward_loss` carries the state the
same way.
"""

stateful = rnnkit.LSTM(4, 8, stateful=True)
first = torch.randn(2, 5, 4, requires_grad=True)
second = torch.randn(2, 5, 4, requires_grad=True)
out1, _ = stateful(first)
out2, _ = stateful(second)

# forward: the second window continues the first exactly
fresh_copy = rnnkit.LSTM(4, 8)
fresh_copy.load_state_dict(stateful.state_dict())
whole, _ = fresh_copy(torch.cat([first, second], dim=1))
torch.testing.assert_close(out2, whole[:, 5:])

# backward: the loss of the second window reaches its own inputs, not the first window's
out2.sum().backward()
assert second.grad is not None and first.grad is None
print("truncated BPTT: the state crosses windows forwards, the gradient does not go back")
stateful.reset_state()
assert stateful.carried_state is None
