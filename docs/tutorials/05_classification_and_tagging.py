"""# Text classification and sequence labelling

Two patterns of using an RNN from the lecture notes:

- *many to one*: read a whole text and classify it (sentiment: *the movie isn't great*);
- *many to many*: label every token (part of speech, named entities: *John lives in Salt Lake
  City* is `B-PER O O B-LOC I-LOC I-LOC`).

Both read better with a *bidirectional* RNN, whose vector at position t has seen the whole
sentence. For classification, a pooling step turns the vectors of all positions into one; with
*attention pooling* the model learns which positions matter. For labelling, a *conditional
random field* (CRF) on top of a BiLSTM scores whole tag sequences, so that the tags agree with
each other, and *character features* let the tagger read words it has never seen.

The data sets are tiny and generated here, so that the tutorial runs in minutes on a laptop and
the facts it checks are clear-cut; `rnnkit train classify` / `rnnkit train tag` run the same
models on real files (TSV, JSONL or CoNLL).
"""

import itertools
import os
import random
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from rnnkit.data import Vocab, pad_sequences
from rnnkit.data.batching import pad_char_blocks
from rnnkit.metrics import tagging_metrics
from rnnkit.models import SequenceTagger, TextClassifier
from rnnkit.viz.backend import pyplot, save_figure

QUICK = os.environ.get("RNNKIT_TUTORIAL_QUICK") == "1"  # tiny sizes for the test suite
OUT = Path(os.environ.get("RNNKIT_TUTORIAL_OUT", "runs/tutorials"))
torch.manual_seed(0)
rng = random.Random(0)

"""
## Sentiment with negation: why order matters

Each review says that something *is* or *is not* good or bad, surrounded by filler. The label
is positive when a positive adjective is not negated, or a negative one is: the label is the
*exclusive or* of the adjective's polarity and the negation. A bag of words sees both words but
not how they combine, and no linear function of word counts computes an exclusive or.
"""

POSITIVE = ["great", "good", "fun", "moving", "brilliant", "clever"]
NEGATIVE = ["bad", "boring", "dull", "awful", "weak", "silly"]
SUBJECTS = ["the movie", "the plot", "the acting", "this film", "the ending", "the cast"]
FILLERS = ["honestly", "i think", "overall", "to be fair", "in the end", "for me", "again"]


def review():
    adjective_positive, negated = rng.random() < 0.5, rng.random() < 0.5
    adjective = rng.choice(POSITIVE if adjective_positive else NEGATIVE)
    words = [*rng.choice(SUBJECTS).split(), rng.choice(["is", "was"])]
    words += ["not"] if negated else []
    words += [rng.choice(["very", "really", "quite"])] if rng.random() < 0.4 else []
    words += [adjective]
    for _ in range(rng.randint(0, 3)):  # filler before or after
        filler = rng.choice(FILLERS).split()
        words = filler + words if rng.random() < 0.5 else words + filler
    return words, int(adjective_positive != negated)


n_train = 1000 if QUICK else 3000
reviews = [review() for _ in range(n_train + 500)]
train_reviews, test_reviews = reviews[:n_train], reviews[n_train:]
vocab = Vocab.from_counts(Counter(itertools.chain.from_iterable(w for w, _ in reviews)))
print("example:", " ".join(train_reviews[0][0]), "->", train_reviews[0][1])


def classify_batch(items):
    tokens, lengths = pad_sequences([vocab.to_ids(words) for words, _ in items])
    return {"tokens": tokens, "lengths": lengths, "labels": torch.tensor([y for _, y in items])}


def fit(model, items, make_batch, epochs, lr=5e-3, batch_size=32):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        order = list(items)
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            loss, _ = model.forward_loss(make_batch(order[start : start + batch_size]))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
    return model.eval()


"""
### A bag-of-words baseline

Average the word embeddings and classify linearly: the order of the words is lost.
"""


class BagOfWords(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab_size, 2, mode="mean")  # straight to two logits

    def forward(self, tokens, lengths):
        mask = torch.arange(tokens.shape[1])[None] < lengths[:, None]
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
        return self.embed(tokens[mask], offsets)

    def forward_loss(self, batch):
        logits = self(batch["tokens"], batch["lengths"])
        return nn.functional.cross_entropy(logits, batch["labels"]), len(logits)


def accuracy(model, items):
    batch = classify_batch(items)
    with torch.no_grad():
        predicted = model(batch["tokens"], batch["lengths"]).argmax(-1)
    return (predicted == batch["labels"]).float().mean().item()


bow = fit(BagOfWords(len(vocab)), train_reviews, classify_batch, epochs=5, lr=0.05)
bow_accuracy = accuracy(bow, test_reviews)
print(f"bag of words: test accuracy {bow_accuracy:.3f}")

"""
### A BiLSTM with attention pooling

`TextClassifier` embeds the tokens, runs a bidirectional LSTM and pools its outputs into one
vector. With `pooling="attention"` (feed-forward attention, as in the notes' emotion
recogniser) it scores every position, normalises the scores with a softmax over the real
positions of each sentence and takes the weighted sum:

```text
e_t = v . tanh(W h_t + b),     a = softmax(e_1 .. e_n),     c = sum_t a_t h_t
```

Other poolings: `last`, `max`, `mean`, `concat`.
"""

torch.manual_seed(0)
classifier = TextClassifier(
    len(vocab), num_classes=2, cell="lstm", embedding_size=32, hidden_size=32,
    pooling="attention", attention_size=32, dropout=0.1, input_dropout=0.0,
)  # fmt: skip
fit(classifier, train_reviews, classify_batch, epochs=4 if QUICK else 6, lr=1e-2)
rnn_accuracy = accuracy(classifier, test_reviews)
print(f"BiLSTM + attention pooling: test accuracy {rnn_accuracy:.3f}")
assert bow_accuracy < 0.8, "a bag of words cannot compute the exclusive or"
assert rnn_accuracy > bow_accuracy + 0.1

"""
### Where the attention looks

`classifier.pool.last_weights` holds the attention weights `a` of the last batch, one row per
sentence, zero on padding. What decides the label is the phrase from the verb to the adjective
(*is not very great*), and the attention puts far more weight there than that phrase's share
of a uniform average. It need not pick the adjective itself: each BiLSTM output has already
read the whole sentence, so the verb's or the negation's vector, whose backward half has read
the rest of the phrase, serves as well. Attention weights over contextual vectors show where the
model reads, not a word-by-word explanation of its decision (Jain & Wallace, 2019).
"""

batch = classify_batch(test_reviews[:200])
with torch.no_grad():
    classifier(batch["tokens"], batch["lengths"])
weights = classifier.pool.last_weights  # (N, L)
assert torch.allclose(weights.sum(1), torch.ones(len(weights)))
on_phrase, share = [], []
for row, (words, _) in zip(weights, test_reviews[:200]):
    verb = next(i for i, w in enumerate(words) if w in ("is", "was"))
    adjective = next(i for i, w in enumerate(words) if w in POSITIVE + NEGATIVE)
    on_phrase.append(row[verb : adjective + 1].sum().item())
    share.append((adjective + 1 - verb) / len(words))
mean_on, mean_share = sum(on_phrase) / 200, sum(share) / 200
print(f"attention on the verb..adjective phrase: {mean_on:.2f} (uniform: {mean_share:.2f})")
assert mean_on > 1.5 * mean_share

plt = pyplot()
shown = [test_reviews[i][0] for i in range(4)]
fig, axes = plt.subplots(len(shown), 1, figsize=(7, 0.9 * len(shown) + 0.6))
for ax, words, row in zip(axes, shown, weights):
    ax.imshow(row[None, : len(words)].numpy(), cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(words)), labels=words, fontsize=8)
    ax.set_yticks([])
fig.suptitle("attention pooling weights (darker: more weight)")
save_figure(fig, OUT / "05_attention_pooling.png")

"""
## Named entities with a BiLSTM-CRF

Sentences about people and places, with BIO tags: `B-` begins an entity, `I-` continues it,
`O` is outside. The names are made up from syllables, and the test sentences use *names that
never occur in training*: the word embedding sees `<unk>`, and only the characters (a capital
letter) and the context (*lives in ...*) can tell that it is an entity, and which kind.
"""

SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ren",
    "tor",
    "sa",
    "vi",
    "dan",
    "el",
    "ur",
    "bo",
    "nes",
    "qui",
    "ya",
]


def pseudo_name(words):
    """A made-up capitalised name of 1..3 words, e.g. 'Kaloren Visa'."""
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        for _ in range(words)
    )


TRAIN_PEOPLE = [pseudo_name(rng.randint(1, 2)) for _ in range(150)] + ["John"]
TRAIN_PLACES = [pseudo_name(rng.randint(1, 3)) for _ in range(150)] + ["Salt Lake City"]
TEST_PEOPLE = [pseudo_name(rng.randint(1, 2)) for _ in range(50)]
TEST_PLACES = [pseudo_name(rng.randint(1, 3)) for _ in range(50)]
TEMPLATES = [
    "{P} lives in {L}", "{P} visited {L} last year", "yesterday {P} met {P} in {L}",
    "{L} is far from {L}", "{P} moved from {L} to {L}", "we saw {P} near {L} today",
]  # fmt: skip


def tagged_sentence(people, places):
    words, tags = [], []
    for piece in rng.choice(TEMPLATES).split():
        if piece in ("{P}", "{L}"):
            name = rng.choice(people if piece == "{P}" else places).split()
            kind = "PER" if piece == "{P}" else "LOC"
            words += name
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(name) - 1)
        else:
            words.append(piece)
            tags.append("O")
    return words, tags


train_sentences = [tagged_sentence(TRAIN_PEOPLE, TRAIN_PLACES) for _ in range(600)]
test_sentences = [tagged_sentence(TEST_PEOPLE, TEST_PLACES) for _ in range(200)]
SPECIALS = ("<pad>", "<unk>")  # id 0 pads, id 1 is the unknown word or character
words_vocab = Vocab.from_counts(
    Counter(w for s, _ in train_sentences for w in s), specials=SPECIALS
)
chars_vocab = Vocab.from_counts(
    Counter(c for s, _ in train_sentences for w in s for c in w), specials=SPECIALS
)
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def tag_batch(items):
    words, lengths = pad_sequences([words_vocab.to_ids(w) for w, _ in items])
    tags, _ = pad_sequences([[TAGS.index(t) for t in tags] for _, tags in items])
    blocks = [pad_sequences([chars_vocab.to_ids(list(word)) for word in w]) for w, _ in items]
    chars, char_lengths = pad_char_blocks(blocks, words.shape[1])
    return {"words": words, "lengths": lengths, "tags": tags, "chars": chars,
            "char_lengths": char_lengths}  # fmt: skip


unknown = {w for s, _ in test_sentences for w in s} - set(words_vocab.tokens)
print(f"{len(unknown)} test words never seen in training, e.g. {sorted(unknown)[:4]}")

"""
`SequenceTagger` concatenates each word's embedding with a character feature (a BiLSTM over
the word's characters, Lample et al. 2016), runs a BiLSTM over the sentence and scores every
tag at every position (the *emissions* e_t). The CRF adds a learned score `A[i, j]` for each
tag transition i -> j, and scores a whole tag path y:

```text
score(y) = start[y_1] + sum_t e_t[y_t] + sum_t A[y_{t-1}, y_t] + end[y_n]
p(y | x) = exp(score(y)) / Z,     Z = sum over all paths y' of exp(score(y'))
```

Training minimises `-log p(y | x)`, with `log Z` from the forward algorithm; prediction is the
best path, found by the Viterbi algorithm. `word_dropout` replaces random training words with
`<unk>`, so the model learns what to do with a word it does not know.
"""

torch.manual_seed(0)
tagger = SequenceTagger(
    len(words_vocab), num_tags=len(TAGS), num_chars=len(chars_vocab), char_encoder="lstm",
    char_embedding_size=16, char_hidden_size=16, embedding_size=32, hidden_size=32, crf=True,
    dropout=0.2, word_dropout=0.2, unk_id=1,
)  # fmt: skip
fit(tagger, train_sentences, tag_batch, epochs=2 if QUICK else 5, lr=1e-2, batch_size=16)
predicted = tagger.predict(tag_batch(test_sentences))
gold = [tags for _, tags in test_sentences]
scores = tagging_metrics(gold, [[TAGS[i] for i in path] for path in predicted])
print(f"unseen names and places: span F1 {scores['f1']:.3f}, token accuracy "
      f"{scores['accuracy']:.3f}")  # fmt: skip
assert scores["f1"] > 0.8

"""
### The CRF, checked by brute force

For a short sentence we can list every one of the `T^n` tag paths. `log Z` from the forward
algorithm must equal the log-sum-exp of all their scores, and the Viterbi path must be the
highest-scoring one.
"""

words, tags = test_sentences[0]
one = tag_batch([(words[:5], tags[:5])])
with torch.no_grad():
    emissions = tagger(one["words"], one["lengths"], one["chars"], one["char_lengths"])
crf = tagger.crf
paths = torch.tensor(list(itertools.product(range(len(TAGS)), repeat=emissions.shape[1])))
with torch.no_grad():
    all_scores = crf.score(emissions.expand(len(paths), -1, -1), paths)
    log_z = crf.log_partition(emissions)
torch.testing.assert_close(log_z, all_scores.logsumexp(0, keepdim=True))
viterbi = crf.decode(emissions)[0]
assert viterbi == paths[all_scores.argmax()].tolist()
print(f"{' '.join(words[:5])}: Viterbi {[TAGS[i] for i in viterbi]} is the best of {len(paths)}")

"""
### What the transitions learned

An `I-PER` can only follow `B-PER` or `I-PER`. Nobody told the CRF, but the training data never
shows `O -> I-PER`, and its transition score ends up far below `B-PER -> I-PER`.
"""

A = crf.transitions.detach()
o, b_per, i_per = TAGS.index("O"), TAGS.index("B-PER"), TAGS.index("I-PER")
print(f"A[O, I-PER] = {A[o, i_per]:.2f},  A[B-PER, I-PER] = {A[b_per, i_per]:.2f}")
assert A[o, i_per] < A[b_per, i_per]

fig, ax = plt.subplots(figsize=(4.5, 4))
image = ax.imshow(A.numpy(), cmap="RdBu", vmin=-A.abs().max(), vmax=A.abs().max())
ax.set_xticks(range(len(TAGS)), labels=TAGS, rotation=45)
ax.set_yticks(range(len(TAGS)), labels=TAGS)
ax.set_xlabel("to")
ax.set_ylabel("from")
ax.set_title("CRF transition scores A[from, to]")
fig.colorbar(image, ax=ax)
save_figure(fig, OUT / "05_crf_transitions.png")
