"""# Language models and text generation

A language model gives the probability of a text one token at a time,

```text
P(w_1 .. w_n) = P(w_1) P(w_2 | w_1) P(w_3 | w_1, w_2) ... P(w_n | w_1 .. w_{n-1})
```

An n-gram model sees only the last n - 1 tokens. A recurrent language model reads the token
`w_t`, updates its state (which summarises everything read so far) and predicts `w_{t+1}`:
its context is unlimited in principle. Training is self-supervised: the targets are the inputs
shifted by one token, and the loss is the cross-entropy `-log P(w_{t+1} | w_1 .. w_t)`.

This tutorial trains a character-level and a word-level LSTM language model on the Shakespeare
bundled with rnnkit, measures them in perplexity and bits per character, and generates text
with greedy decoding, temperature, top-k, top-p (nucleus) sampling and beam search.
"""

import math
import os
from collections import Counter
from pathlib import Path

import torch

from rnnkit.data import CharTokenizer, LMStream, WordTokenizer, load_bundled
from rnnkit.decoding import (
    apply_temperature,
    beam_search,
    generate_tokens,
    top_k_filter,
    top_p_filter,
)
from rnnkit.models import LanguageModel, bits_per_character, perplexity
from rnnkit.tasks.generate import generate_text
from rnnkit.training import Callback, Trainer, TrainerConfig
from rnnkit.viz.backend import pyplot, save_figure

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # tiny sizes for the test suite
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)

"""
## Data: characters, and windows for truncated BPTT

`load_bundled("shakespeare")` is about a megabyte of Shakespeare (seven plays), enough for a
character-level model (the full corpus in `/work/shared/data`-style setups is not needed). The
last 5% is held out. `LMStream` cuts the token sequence into `batch_size` contiguous streams
and walks a window of `bptt` tokens along all of them, so each window continues the previous one
and the model can carry its state across windows (truncated BPTT, see tutorial 2).
"""

text = load_bundled("shakespeare")
if QUICK:
    text = text[:80_000]
cut = int(len(text) * 0.95)
train_text, valid_text = text[:cut], text[cut:]
chars = CharTokenizer.train(train_text)
train_ids = torch.tensor(chars.encode(train_text))
valid_ids = torch.tensor(chars.encode(valid_text))
print(f"{len(train_text):,} training characters, vocabulary of {chars.vocab_size}")

BPTT = 50 if QUICK else 100
stream = LMStream(train_ids, batch_size=32, bptt=BPTT)
x, y = next(iter(LMStream(train_ids, batch_size=32, bptt=BPTT)))
print("window:", repr(chars.decode(x[0, :40].tolist())))
assert torch.equal(x[:, 1:], y[:, :-1])  # the targets are the inputs shifted by one

"""
## Perplexity and bits per character

The loss is the mean cross-entropy in nats per token. *Perplexity* is its exponential: the
number of equally likely choices the model is, on average, hesitating between. A model that
knows nothing (all logits equal) has a perplexity of exactly the vocabulary size. *Bits per
character* (bpc) is the total loss in bits divided by the number of characters, which makes
models with different tokenizers comparable.

A baseline worth beating: the *unigram* model, which predicts every character with its
frequency in the training text and ignores the context.
"""

V = chars.vocab_size
uniform_loss = torch.nn.functional.cross_entropy(torch.zeros(len(valid_ids), V), valid_ids)
assert math.isclose(perplexity(uniform_loss.item()), V, rel_tol=1e-5)

counts = Counter(train_ids.tolist())
unigram = torch.tensor([counts.get(i, 0) + 1 for i in range(V)], dtype=torch.float)  # add-one
unigram_loss = -(unigram / unigram.sum()).log()[valid_ids].mean().item()
print(f"uniform: perplexity {V};  unigram: perplexity {perplexity(unigram_loss):.2f}, "
      f"{bits_per_character(unigram_loss * len(valid_ids), len(valid_text)):.2f} bpc")  # fmt: skip

"""
## Training a character-level LSTM

`LanguageModel` is an embedding, recurrent layers (any cell) and a softmax layer; its
`forward_loss((x, y))` carries the state from one window to the next, detached. rnnkit's
`Trainer` knows no model: it calls `forward_loss`, backpropagates, clips the gradient norm and
steps the optimizer; callbacks see every step. (`rnnkit train lm` on the command line runs the
same recipe.)
"""


class Curve(Callback):
    """Record the training loss of every step and the validation loss of every evaluation."""

    def __init__(self):
        self.train, self.valid = [], []

    def on_step_end(self, trainer, metrics):
        self.train.append((trainer.step, metrics["loss"]))

    def on_evaluate(self, trainer, metrics):
        self.valid.append((trainer.step, metrics["loss"]))


class EvalWindows:
    """Validation windows; re-iterable, because the trainer evaluates more than once."""

    def __init__(self, ids, bptt):
        self.stream = LMStream(ids, batch_size=8, bptt=bptt)

    def __iter__(self):
        return self.stream.windows_for_eval()


steps = 45 if QUICK else 600
lm = LanguageModel(
    V, cell="lstm", embedding_size=64, hidden_size=64 if QUICK else 256, num_layers=1,
    tie_weights=False, dropout=0.0 if QUICK else 0.1, init_range=None,
)  # fmt: skip
curve = Curve()
config = TrainerConfig(
    max_steps=steps, lr=3e-3, clip_grad_norm=1.0, eval_every=steps // 3, progress=False,
    log_every=10**9,
)  # fmt: skip
result = Trainer(lm, stream, config, valid_data=EvalWindows(valid_ids, BPTT), device="cpu",
                 callbacks=[curve]).fit()  # fmt: skip
valid_loss = curve.valid[-1][1]
char_bpc = bits_per_character(valid_loss * len(valid_ids), len(valid_text))
print(f"char LSTM after {result.steps} steps: validation perplexity "
      f"{perplexity(valid_loss):.2f}, {char_bpc:.2f} bpc")  # fmt: skip
assert perplexity(valid_loss) < perplexity(unigram_loss), "the LSTM should beat the unigram model"

plt = pyplot()
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(*zip(*curve.train), label="training loss", alpha=0.6)
ax.plot(*zip(*curve.valid), "o-", label="validation loss")
ax.axhline(unigram_loss, color="gray", linestyle="--", label="unigram model")
ax.set_xlabel("step")
ax.set_ylabel("nats per character")
ax.legend()
save_figure(fig, OUT / "04_training.png")

"""
## Words instead of characters

At the word level each token carries more information, so the perplexity *per token* is much
higher and not comparable with a character model's. Bits per character are: divide the total
loss in bits by the number of characters of the text. `WordTokenizer` splits on whitespace and
turns each newline into `<eos>`; with `max_size` the rarest words become `<unk>`.
"""

words = WordTokenizer.train(train_text, max_size=400 if QUICK else 3000)
w_train = torch.tensor(words.encode(train_text))
w_valid = torch.tensor(words.encode(valid_text))
word_lm = LanguageModel(words.vocab_size, cell="lstm", embedding_size=64, hidden_size=128,
                        num_layers=1, dropout=0.0)  # fmt: skip
word_curve = Curve()
word_config = TrainerConfig(max_steps=10 if QUICK else 250, lr=3e-3, eval_every=10**9,
                            progress=False, log_every=10**9)  # fmt: skip
Trainer(word_lm, LMStream(w_train, 32, 35), word_config, valid_data=EvalWindows(w_valid, 35),
        device="cpu", callbacks=[word_curve]).fit()  # fmt: skip
word_loss = word_curve.valid[-1][1]
word_bpc = bits_per_character(word_loss * len(w_valid), len(valid_text))
unk_rate = (w_valid == words.unk_id).float().mean().item()
print(f"word LSTM: {words.vocab_size} words ({unk_rate:.1%} of validation tokens are <unk>), "
      f"perplexity {perplexity(word_loss):.1f} per word, {word_bpc:.2f} bpc")  # fmt: skip
assert perplexity(word_loss) < words.vocab_size  # better than knowing nothing

"""
(The word model's bpc flatters it a little: every `<unk>` is predicted as one token, whatever
word it stands for.)

## Generation

To generate, feed the model a prompt, then repeatedly pick a next token from its output
distribution and feed it back. How to pick is the decoding strategy:

- *greedy*: the most probable token. Deterministic, and prone to loops and bland text;
- *temperature* t: sample from `softmax(z / t)`; t < 1 sharpens the distribution, t > 1
  flattens it;
- *top-k*: sample among the k most probable tokens only;
- *top-p* (nucleus): sample among the smallest set of most probable tokens whose total
  probability reaches p;
- *beam search*: keep the B most probable prefixes at every step.

The filters work on a batch of logits `(N, V)` and set removed tokens to `-inf`.
"""

lm.eval()
prompt = "KING RICHARD III.\n"
with torch.no_grad():
    logits, _ = lm(torch.tensor([chars.encode(prompt)]))
z = logits[:, -1]  # (1, V): the distribution of the character after the prompt

kept = torch.isfinite(top_k_filter(z, 5)).sum().item()
assert kept == 5
nucleus = top_p_filter(z, 0.9)
probs = z.softmax(-1)
mass = probs[torch.isfinite(nucleus)].sum().item()
smaller = torch.isfinite(nucleus).sum().item() - 1
assert mass >= 0.9 and probs.sort(descending=True).values[0, :smaller].sum() < 0.9
print(f"top-p 0.9 keeps {smaller + 1} of {V} characters, holding {mass:.3f} of the mass")

temperatures = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0]
entropy = []
for t in temperatures:
    p = apply_temperature(z, t).softmax(-1)
    entropy.append(-(p * p.clamp_min(1e-30).log()).sum().item() / math.log(2))
assert all(a < b for a, b in zip(entropy, entropy[1:]))  # hotter is flatter
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(temperatures, entropy, "o-")
ax.set_xlabel("temperature t")
ax.set_ylabel("entropy of the next character (bits)")
ax.set_title(f"after {prompt.strip()!r}")
save_figure(fig, OUT / "04_temperature.png")

"""
`generate_text` primes the state with the prompt and streams the continuation; a `seed` makes
sampling reproducible.
"""

n = 80 if QUICK else 300
for name, options in {
    "greedy": {"greedy": True},
    "t = 0.5": {"temperature": 0.5, "seed": 1},
    "t = 1.0": {"temperature": 1.0, "seed": 1},
    "top-k 10": {"top_k": 10, "seed": 1},
    "top-p 0.9": {"top_p": 0.9, "seed": 1},
    "beam 4": {"beam": 4},
}.items():
    sample = "".join(generate_text(lm, chars, prompt, n, **options))
    print(f"--- {name} ---\n{prompt}{sample}\n")

again = "".join(generate_text(lm, chars, prompt, 40, temperature=1.0, seed=1))
assert again == "".join(generate_text(lm, chars, prompt, 40, temperature=1.0, seed=1))

"""
### Beam search, checked

`beam_search` works with any model that has `step(tokens, state)` and `reorder_state`. A
hypothesis' `log_prob` is the log-probability the model gives its tokens, which we can verify by
scoring them again; and a beam of one is greedy decoding.
"""

ids = chars.encode(prompt)
with torch.no_grad():
    _, state = lm(torch.tensor([ids[:-1]]))
first = torch.tensor(ids[-1:])
best = beam_search(lm, state, first, 30, beam_size=4, length_penalty=0.0)[0][0]
with torch.no_grad():
    rescored, _ = lm(torch.tensor([ids[-1:] + best.tokens[:-1]]), state)
log_prob = rescored[0].log_softmax(-1).gather(1, torch.tensor(best.tokens)[:, None]).sum()
assert math.isclose(log_prob.item(), best.log_prob, rel_tol=1e-4, abs_tol=1e-4)

greedy = torch.cat(list(generate_tokens(lm, state, first, 30, strategy="greedy"))).tolist()
beam_one = beam_search(lm, state, first, 30, beam_size=1)[0][0]
assert beam_one.tokens == greedy
print(f"beam 4: log P = {best.log_prob:.2f}; greedy: log P = {beam_one.log_prob:.2f}")
