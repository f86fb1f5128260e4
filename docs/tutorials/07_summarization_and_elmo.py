"""# Extractive summarization and contextual word embeddings

Two applications of recurrent networks from the JKU notes, both built from a bidirectional
reader:

- *extractive summarization* with SummaRuNNer (Nallapati et al. 2017): score every sentence of
  a document and extract the best ones;
- *contextual word embeddings* with a bidirectional language model, as in ELMo (Peters et al.
  2018): the vector of a word depends on its sentence, and a task mixes the model's layers with
  learned weights (the *scalar mix*).
"""

import os
import random
from pathlib import Path

import torch
from torch import nn

from rnnkit.data import TextTokenizer, load_bundled
from rnnkit.data.bilm_vocab import BiLMVocab
from rnnkit.layers import ScalarMix
from rnnkit.metrics.rouge import greedy_oracle, rouge_metrics
from rnnkit.models import BiLanguageModel, SummaRuNNer
from rnnkit.models.summarizer import select_sentences
from rnnkit.viz.backend import pyplot, save_figure

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # tiny sizes for the test suite
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)
rng = random.Random(0)

"""
## Part 1: SummaRuNNer

### Documents and oracle labels

An extractive summarizer is trained on (document, reference summary) pairs, but the references
are written by people and need not be sentences of the document. The *greedy oracle* turns them
into sentence labels: starting from nothing, it adds the sentence that most raises the ROUGE
score against the reference, until no sentence helps.

Our documents are short generated news items: one sentence reports the event (who did what),
the others are background, and the event sentence sits at a random position, so the first
sentence (*Lead-1*, a strong baseline on real news) is usually wrong.
"""

ORGS = ["the council", "the union", "the museum", "the hospital", "the club", "the university"]
EVENTS = [
    ("announced a new budget", "new budget announced"),
    ("opened a second library", "second library opened"),
    ("cancelled the summer festival", "summer festival cancelled"),
    ("hired a new director", "new director hired"),
    ("closed the old bridge", "old bridge closed"),
    ("won the national award", "national award won"),
]
BACKGROUND = [
    "the weather was mild for most of the week",
    "many people walked along the river in the evening",
    "local shops stayed open later than usual",
    "a spokesperson said more details would follow",
    "the town has grown steadily over the last decade",
    "residents have discussed the matter for months",
    "traffic was heavier than usual on monday",
    "several visitors came from the neighbouring towns",
]


def document():
    org, (event, headline) = rng.choice(ORGS), rng.choice(EVENTS)
    sentences = rng.sample(BACKGROUND, rng.randint(3, 6))
    sentences.insert(rng.randrange(len(sentences) + 1), f"{org} {event} on friday")
    return sentences, f"{org}: {headline}"


docs = [document() for _ in range(200 if QUICK else 800)]
train_docs, test_docs = docs[:-100], docs[-100:]
sentences, reference = docs[0]
labels = greedy_oracle(sentences, reference)
print("reference:", reference)
for j, sentence in enumerate(sentences):
    print(f"  {'*' if j in labels else ' '} {sentence}")
assert labels == [next(j for j, s in enumerate(sentences) if "friday" in s)]

"""
### The model

A word-level BiGRU reads each sentence and averages its outputs into a sentence vector; a
sentence-level BiGRU reads those, giving `h_j`. The probability that sentence j belongs in the
summary adds up interpretable terms:

```text
z_j = w_c . h_j                 content
    + h_j^T W_s d               salience: similarity to the document vector d
    - h_j^T W_r tanh(s_j)       novelty: redundancy with the summary so far, s_j
    + position terms + b
P(y_j = 1) = sigmoid(z_j)
```

where `s_j = sum_{i<j} P(y_i = 1) h_i`. Training minimises the binary cross-entropy against the
oracle labels.
"""

tokenizer = TextTokenizer.train(" ".join(" ".join(s) + " " + r for s, r in train_docs))


def summary_batch(items):
    ids = [[tokenizer.encode(s) for s in sentences] for sentences, _ in items]
    n, s, w = len(ids), max(map(len, ids)), max(len(x) for doc in ids for x in doc)
    tokens = torch.zeros(n, s, w, dtype=torch.long)
    sentence_lengths = torch.zeros(n, s, dtype=torch.long)
    labels = torch.zeros(n, s)
    for i, (doc, (sentences, reference)) in enumerate(zip(ids, items)):
        for j, sentence in enumerate(doc):
            tokens[i, j, : len(sentence)] = torch.tensor(sentence)
            sentence_lengths[i, j] = len(sentence)
        labels[i, greedy_oracle(sentences, reference)] = 1
    lengths = torch.tensor([len(doc) for doc in ids])
    return {"tokens": tokens, "sentence_lengths": sentence_lengths, "lengths": lengths,
            "labels": labels}  # fmt: skip


torch.manual_seed(0)
summarizer = SummaRuNNer(tokenizer.vocab_size, cell="gru", embedding_size=32, hidden_size=32,
                         position_size=8, dropout=0.1)  # fmt: skip
optimizer = torch.optim.Adam(summarizer.parameters(), lr=5e-3)
batches = [summary_batch(train_docs[i : i + 16]) for i in range(0, len(train_docs), 16)]
for epoch in range(1 if QUICK else 2):
    summarizer.train()
    for batch in batches:
        loss, _ = summarizer.forward_loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch}: loss {loss.item():.3f}")
summarizer.eval()

"""
### Extracting, and ROUGE against Lead-1 and the oracle

`select_sentences` takes the best-scoring sentences within a budget (a number of sentences or
of words) and returns them in document order. We compare ROUGE-1/2/L with Lead-1 and with the
oracle's own picks.
"""

test = summary_batch(test_docs)
probs = summarizer.predict(test)  # (N, S): P(y_j = 1), 0 for padding sentences
picked, lead, oracle = [], [], []
for i, (sentences, reference) in enumerate(test_docs):
    scores = probs[i, : len(sentences)].tolist()
    words = [len(s.split()) for s in sentences]
    picked.append(" ".join(sentences[j] for j in select_sentences(scores, words, max_sentences=1)))
    lead.append(sentences[0])
    oracle.append(" ".join(sentences[j] for j in greedy_oracle(sentences, reference)))
references = [r for _, r in test_docs]
results = {name: rouge_metrics(c, references) for name, c in
           (("SummaRuNNer", picked), ("Lead-1", lead), ("oracle", oracle))}  # fmt: skip
for name, r in results.items():
    print(f"{name:12s} ROUGE-1 {r['rouge1']:5.1f}  ROUGE-2 {r['rouge2']:5.1f}  "
          f"ROUGE-L {r['rougeL']:5.1f}")  # fmt: skip
assert results["SummaRuNNer"]["rouge1"] > results["Lead-1"]["rouge1"] + 10
assert select_sentences([0.1, 0.9, 0.8], [5, 5, 5], max_sentences=2) == [1, 2]  # document order
assert select_sentences([0.1, 0.9, 0.8], [5, 5, 5], max_words=7) == [1]  # within the budget

plt = pyplot()
fig, ax = plt.subplots(figsize=(6, 3))
example = test_docs[0][0]
ax.bar(range(len(example)), probs[0, : len(example)].numpy())
ax.set_xticks(range(len(example)), labels=[s[:22] + "..." for s in example], rotation=30,
              ha="right")  # fmt: skip
ax.set_ylabel("P(in summary)")
ax.set_title("SummaRuNNer's sentence scores for one test document")
save_figure(fig, OUT / "07_sentence_scores.png")

"""
## Part 2: contextual embeddings from a bidirectional LM

A word embedding gives *bank* one vector, whatever the sentence. ELMo runs a forward and a
backward LSTM language model over the sentence and represents token t by all their layers:

```text
h_t^(0) = [x_t; x_t]                       the context-free token layer
h_t^(k) = [f_t^(k); b_t^(k)],  k = 1..K    forward and backward LSTM states
```

The forward LM predicts each word from the words before it, the backward LM from the words after
it; they share the token layer and the softmax. We train a small one on lines of the bundled
Shakespeare.
"""

text = load_bundled("shakespeare")[: 70_000 if QUICK else 1_000_000]
lines = [TextTokenizer.split(line) for line in text.splitlines()]
lines = [line for line in lines if 4 <= len(line) <= 20]
rng.shuffle(lines)
held_out, lines = lines[:200], lines[200:]
vocab = BiLMVocab.build(lines, max_size=1000 if QUICK else 8000)
print(f"{len(lines)} training lines, {len(vocab.words.tokens)} words")

torch.manual_seed(0)
bilm = BiLanguageModel(len(vocab.words.tokens), input="word", embedding_size=64,
                       hidden_size=64, num_layers=2, dropout=0.1)  # fmt: skip
optimizer = torch.optim.Adam(bilm.parameters(), lr=3e-3)
held_out_batch = vocab.collate([vocab.encode(line) for line in held_out])


def held_out_loss():
    bilm.eval()
    with torch.no_grad():
        return bilm.forward_loss(held_out_batch)[0].item()


before = held_out_loss()
steps = 40 if QUICK else 600
for step in range(steps):
    bilm.train()
    chunk = [lines[(step * 32 + i) % len(lines)] for i in range(32)]
    loss, _ = bilm.forward_loss(vocab.collate([vocab.encode(line) for line in chunk]))
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(bilm.parameters(), 1.0)
    optimizer.step()
after = held_out_loss()
print(f"held-out loss (mean of both directions): {before:.2f} -> {after:.2f} nats per word")
assert after < before
bilm.eval()

"""
### The same word, two contexts

In *the king is dead* and *the king is here*, the token layer of *king* is identical: it sees
the word only. The forward LSTM at *king* has read only *the king*, which both sentences share,
so its half of every layer is identical too. The backward LSTM at *king* has read the rest of
the sentence, *is dead* or *is here*, so its half differs: the word's vector depends on its
context.
"""

pair = vocab.collate([vocab.encode("the king is dead".split()),
                      vocab.encode("the king is here".split())])  # fmt: skip
with torch.no_grad():
    layers = bilm.layer_outputs(pair["words"], pair["lengths"])  # (K+1, 2, 4, 2H)
king = layers[:, :, 1]  # (K+1, 2, 2H): "king" in both sentences
H = bilm.config.hidden_size
torch.testing.assert_close(king[0, 0], king[0, 1])  # token layer: context-free
for k in (1, 2):
    torch.testing.assert_close(king[k, 0, :H], king[k, 1, :H])  # forward half: same left context
    assert not torch.allclose(king[k, 0, H:], king[k, 1, H:])  # backward half: right context
    gap = (king[k, 0] - king[k, 1]).norm() / king[k, 0].norm()
    print(f"layer {k}: the two 'king' vectors differ by {gap:.1%} of their norm")

"""
### The scalar mix

A task uses all layers through a learned, softmax-normalised weighted sum (ELMo's equation 1):

```text
ELMo_t = gamma * sum_k softmax(w)_k h_t^(k)
```

`rnnkit.layers.ScalarMix` starts from w = 0 and gamma = 1, the plain average of the layers.
"""

mix = ScalarMix(bilm.num_outputs)
torch.testing.assert_close(mix(layers), layers.mean(0))
with torch.no_grad():
    mix.scalars.copy_(torch.tensor([0.0, 1.0, 2.0]))
    mix.gamma.fill_(0.5)
s = torch.softmax(torch.tensor([0.0, 1.0, 2.0]), 0)
torch.testing.assert_close(
    mix(layers), 0.5 * (s[0] * layers[0] + s[1] * layers[1] + s[2] * layers[2])
)

"""
Which layers a task wants is learned with the task. A probe: from each token's mixed vector,
a linear classifier predicts whether the token is the *first word of its line*. The token layer
cannot know (it sees the word only); the LSTM layers can (the forward LM has just read `<s>`).
Trained together with the probe, the mix moves its weight away from the token layer.
"""

mix = ScalarMix(bilm.num_outputs)
probe = nn.Linear(2 * H, 2)
optimizer = torch.optim.Adam([*mix.parameters(), *probe.parameters()], lr=1e-2)
probe_lines = lines[: 300 if QUICK else 2000]
batch = vocab.collate([vocab.encode(line) for line in probe_lines])
with torch.no_grad():
    frozen = bilm.layer_outputs(batch["words"], batch["lengths"])  # the biLM stays fixed
real = torch.arange(frozen.shape[2])[None] < (batch["lengths"] - 2)[:, None]  # (N, L) tokens
first_word = torch.zeros_like(real, dtype=torch.long)
first_word[:, 0] = 1
history = []
for _ in range(100 if QUICK else 400):
    logits = probe(mix(frozen))[real]
    loss = nn.functional.cross_entropy(logits, first_word[real])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    history.append(mix.weights.detach().clone())
weights = mix.weights.detach()
print("learned layer weights softmax(w):", [round(w, 3) for w in weights.tolist()])
assert weights[0] < 1 / bilm.num_outputs  # the context-free layer lost weight

history = torch.stack(history)
fig, ax = plt.subplots(figsize=(5, 3.5))
for k in range(bilm.num_outputs):
    ax.plot(history[:, k].numpy(), label=["token layer", "LSTM layer 1", "LSTM layer 2"][k])
ax.set_xlabel("probe training step")
ax.set_ylabel("softmax(w)_k")
ax.set_title("scalar mix weights, probe: first word of the line?")
ax.legend()
save_figure(fig, OUT / "07_scalar_mix.png")
