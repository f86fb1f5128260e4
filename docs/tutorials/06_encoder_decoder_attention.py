"""# Encoder-decoder with attention

Translation and dialogue map a sequence to another sequence of a different length. The
*encoder-decoder* (sequence-to-sequence) architecture reads the source with one RNN, the
encoder, and generates the target with another, the decoder, one token at a time:

```text
h_1 .. h_S = encoder(x_1 .. x_S)
P(y_t | y_<t, x) = decoder(y_{t-1}, s_{t-1}, context)
```

Without attention, the context is a single vector C, the encoder's final state, shared by every
decoding step. *Attention* gives each step its own context, a weighted sum of all encoder states
whose weights the decoder chooses anew at every step:

```text
a_tj = softmax_j score(q_t, h_j),      C_t = sum_j a_tj h_j
```

This tutorial trains a small attentional encoder-decoder on a toy translation task (number words
to digits, in reverse order, so that the alignment is easy to see), covering teacher forcing,
scheduled sampling, attention heatmaps and beam search. `rnnkit train translate` runs the same
model on parallel text files.
"""

import os
import random
from pathlib import Path

import torch

from rnnkit.data import pad_sequences
from rnnkit.decoding import beam_search, generate_tokens, gnmt_length_penalty
from rnnkit.layers.attention import Attention
from rnnkit.models import Seq2Seq
from rnnkit.viz import plot_attention

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # tiny sizes for the test suite
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)
rng = random.Random(0)

"""
## The task

*three one four* translates to `4 1 3`: each number word becomes its digit, and the order is
reversed. The first target token depends on the *last* source word, which is hard without
attention and easy with it.
"""

NUMBERS = "zero one two three four five six seven eight nine".split()
SOURCE = ["<pad>", *NUMBERS, "</s>"]
TARGET = ["<pad>", "<s>", "</s>", *"0123456789"]
BOS, EOS = TARGET.index("<s>"), TARGET.index("</s>")
MAX_LEN = 6 if QUICK else 9


def pair():
    digits = [rng.randrange(10) for _ in range(rng.randint(2, MAX_LEN))]
    source = [SOURCE.index(NUMBERS[d]) for d in digits] + [SOURCE.index("</s>")]
    target = [TARGET.index(str(d)) for d in reversed(digits)]
    return source, target


def make_batch(pairs):
    """Teacher forcing: the decoder reads <s> y_1 .. y_n and must predict y_1 .. y_n </s>."""
    source, source_lengths = pad_sequences([s for s, _ in pairs])
    target_in, _ = pad_sequences([[BOS, *t] for _, t in pairs])
    target_out, _ = pad_sequences([[*t, EOS] for _, t in pairs], pad=-100)  # -100: ignored
    return {"source": source, "source_lengths": source_lengths, "target_in": target_in,
            "target_out": target_out}  # fmt: skip


test_pairs = [pair() for _ in range(200)]
print(
    "example:", [SOURCE[i] for i in test_pairs[0][0]], "->", [TARGET[i] for i in test_pairs[0][1]]
)

"""
## Dot-product attention, by hand

The lecture notes score a query q against each encoder state `h_j` with a dot product, then
normalise with a softmax: `a_j = softmax_j (h_j . q)` and `C = sum_j a_j h_j`.
`rnnkit.layers.attention.Attention("dot")` does the same for a batch, with padded source steps
masked out (they get weight zero). `"general"` scores `q . (W h_j)` (Luong et al. 2015) and
`"additive"` scores `v . tanh(W_q q + W_h h_j)` (Bahdanau et al. 2015).
"""

memory = torch.randn(2, 5, 8)  # (N, S, H): encoder states
query = torch.randn(2, 8)  # (N, H): the decoder's state
mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])  # sentence 2 has 3 real steps
context, weights = Attention("dot", 8, 8)(query, memory, mask)
scores = torch.einsum("nsh,nh->ns", memory, query).masked_fill(~mask, float("-inf"))
by_hand = scores.softmax(-1)
torch.testing.assert_close(weights, by_hand)
torch.testing.assert_close(context, torch.einsum("ns,nsh->nh", by_hand, memory))
assert torch.all(weights[1, 3:] == 0)

"""
## Teacher forcing

`Seq2Seq` is a bidirectional encoder, a *bridge* that maps the encoder's final states to the
decoder's initial state, and a decoder with attention (here `general`) and *input feeding* (the
previous step's attentional vector is fed to the next step, Luong et al. 2015). In training the
decoder is fed the *gold* previous token, not its own prediction: teacher forcing. Training
converges fast, because the decoder never has to recover from its own early mistakes; but at
test time it reads its own predictions, a mismatch called *exposure bias*.
"""

torch.manual_seed(0)
model = Seq2Seq(
    len(SOURCE), len(TARGET), cell="gru", embedding_size=32, hidden_size=64, encoder_layers=1,
    decoder_layers=1, bidirectional=True, attention="general", attention_size=64,
    input_feeding=True, dropout=0.0, label_smoothing=0.0, bos_id=BOS,
    scheduled_sampling=0.25, scheduled_sampling_epochs=2,
)  # fmt: skip
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)

"""
### Scheduled sampling

Scheduled sampling (Bengio et al. 2015) closes the gap gradually: at each step the decoder is
fed its own sampled prediction instead of the gold token with a probability that grows over
training. `Seq2Seq(scheduled_sampling=p, scheduled_sampling_epochs=k)` raises it linearly to p
over k epochs; the trainer calls `model.start_epoch(epoch)`, as we do below.
"""

epochs, steps_per_epoch = (3, 45) if QUICK else (4, 250)
ramp = []
for epoch in range(epochs):
    model.start_epoch(epoch)
    ramp.append(model.sampling)
    model.train()
    for _ in range(steps_per_epoch):
        loss, _ = model.forward_loss(make_batch([pair() for _ in range(32)]))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
    print(f"epoch {epoch}: sampling probability {model.sampling:.3f}, loss {loss.item():.3f}")
assert ramp[:3] == [0.125, 0.25, 0.25]
model.eval()

"""
## Decoding: greedy and beam search

At test time there is no gold target. `Seq2Seq` speaks the decoding protocol (`step` and
`reorder_state`), so `rnnkit.decoding` drives it: `model.encode` gives the decoder's first
state, `model.first_tokens` the `<s>` to feed, and `beam_search` keeps the `beam_size` most
probable prefixes. With `beam_size=1` it is greedy decoding.
"""

batch = make_batch(test_pairs)
with torch.no_grad():
    state = model.encode(batch["source"], batch["source_lengths"])
first = model.first_tokens(len(test_pairs))
greedy = beam_search(model, state, first, MAX_LEN + 2, beam_size=1, eos_id=EOS)
exact = sum(h[0].tokens == t for h, (_, t) in zip(greedy, test_pairs)) / len(test_pairs)
print(f"greedy decoding: {exact:.1%} of test sentences translated exactly")
assert exact > 0.9

"""
Greedy decoding by `generate_tokens` (one token at a time, stop at `</s>`) gives the same
output as a beam of one.
"""

with torch.no_grad():
    one = model.encode(batch["source"][:1], batch["source_lengths"][:1])
steps = [int(t) for t in generate_tokens(model, one, first[:1], MAX_LEN + 2, strategy="greedy",
                                           eos_id=EOS)]  # fmt: skip
assert steps[: steps.index(EOS)] == greedy[0][0].tokens

"""
Beam search returns up to `n_best` hypotheses per input, best first. A hypothesis' score is
its log-probability divided by the GNMT length penalty `((5 + |Y|) / 6) ** alpha` (|Y| counts
the final `</s>`), which stops the search from preferring short outputs just because each token
costs probability.
"""

hyps = beam_search(model, one, first[:1], MAX_LEN + 2, beam_size=5, eos_id=EOS, n_best=3,
                   length_penalty=0.6)[0]  # fmt: skip
for h in hyps:
    print(f"  {[TARGET[i] for i in h.tokens]}  log P = {h.log_prob:.3f}  score = {h.score:.3f}")
    assert abs(h.score - h.log_prob / gnmt_length_penalty(len(h.tokens) + 1, 0.6)) < 1e-5
assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)

"""
## Where the decoder looks

`model.align(source, lengths, target)` returns the attention weights `(N, T, S)` while the model
reads a target: row t is the distribution over source positions when producing target token t.
For a reversal the alignment is the anti-diagonal: target token t comes from source word
`n - 1 - t`. We check how often the largest weight sits there, over the whole test set.
"""

with torch.no_grad():
    target = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor([*t, EOS]) for _, t in test_pairs], batch_first=True
    )
    attention = model.align(batch["source"], batch["source_lengths"], target)
hits = total = 0
for i, (source, tgt) in enumerate(test_pairs):
    n = len(source) - 1  # number words, without </s>
    rows = attention[i, : len(tgt), : len(source)]
    assert torch.allclose(rows.sum(-1), torch.ones(len(tgt)))
    assert torch.all(attention[i, : len(tgt), len(source) :] == 0)  # padding gets nothing
    hits += sum(int(rows[t].argmax()) == n - 1 - t for t in range(len(tgt)))
    total += len(tgt)
print(f"the largest attention weight is on the aligned source word for {hits / total:.1%} "
      f"of target tokens")  # fmt: skip
assert hits / total > 0.8

source, tgt = test_pairs[0]
plot_attention(
    attention[0, : len(tgt) + 1, : len(source)],
    [SOURCE[i] for i in source], [TARGET[i] for i in tgt] + ["</s>"], OUT / "06_attention.png",
    title="attention of the decoder over the source",
)  # fmt: skip
