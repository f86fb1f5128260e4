"""The fixed text of docs/benchmarks.md: what each benchmark measures and how.

No figure is written here: every number on the page comes from ``benchmarks/results/*.json``,
through ``report.py``'s tables or, in the prose, as a ``[[key]]`` that ``report_figures.py``
computes.
"""

from report import DEFAULT_TASKS

INTRO = """# Benchmarks

Every figure on this page is written by `python benchmarks/report.py` from the result files
that the scripts in `benchmarks/` leave in `benchmarks/results/` (each file holds the command,
the date, the machine and the figures); a test fails when this page, or the summary in the
README, differs from what the script writes. The quality benchmarks train on public data sets
(read from `$RNNKIT_DATA`); the tagging baselines need python-crfsuite
(`pip install -e ".[bench]"`). Everything ran on 2-core CPU machines without a GPU, under fixed
time budgets: the figures show what minutes of CPU buy, not each model's ceiling. Each section
names its command and machine; ratios from different machines do not compare.

Speed rows give paired ratios of tokens per second at sequence lengths 128 / 1024 (above 1:
rnnkit is faster); quality rows give each rnnkit model beside a baseline trained and scored in
the same run, except where a row names a published figure as its baseline (Penn Treebank's
small LSTM, from Zaremba et al. 2014).
"""

SPEED_METHOD = """
`benchmarks/speed.py` runs each rnnkit layer and the `torch.nn` layer of the same size in one
process, in turn (each goes first on alternate rounds), after a warm-up call each, and reports
tokens per second (the median over rounds) and two ratios: of the medians, and paired (each
round's own ratio of the two calls made back to back, median over rounds, with the smallest and
largest beside it), which cancels slow drifts of the machine's load. Training is a forward pass
plus `out.sum().backward()`; inference a forward pass under `torch.no_grad()`; input size 256,
fp32, 2 threads. Short calls get more rounds, until rnnkit's add up to 2 seconds. Also shown:
the first call of a freshly built layer, the batch-1 generation step against calling
`torch.nn.LSTM` one step at a time, and how long each native kernel takes to build from an
empty cache (once per machine).

The runs with `--keep-freed-memory` keep freed memory mapped in the process (see
[Performance](performance.md)); that speeds up `torch.nn` too, so compare ratios within a
table. With Keras 3 installed (`pip install -e ".[keras]"`), Keras' `LSTM` and `GRU` join as a
third contestant, their call and gradient compiled in one `tf.function` as `model.fit` runs
them.
"""

FULL_GRID = """
Every layer at hidden 256 / 512 / 1024, batch 1 / 32 / 64, T 128 / 1024, training and inference,
with Keras 3 (TensorFlow backend) installed, so that its `LSTM` and `GRU` run in the `lstm` and
`gru` rows. Each row counts as at or above the faster peer when rnnkit's paired ratio is at least
1 against `torch.nn` and, where Keras runs, against Keras (1.2 for GRU inference); the rows
below are listed after the tables, and the next section profiles them.
"""

ON_GPU = """
The quick grid (hidden 512, batch 32) with `--device cuda`: both layers, the input and the step
loops on the GPU, each timed call ending with `torch.cuda.synchronize()`. It ran on one
[[cuda_device]] with PyTorch [[cuda_torch]] and measured rnnkit before it laid a fused
layer's weights out in cuDNN's buffer (`flatten_for_cudnn` in `rnnkit/backends/fused.py`, as
`torch.nn.LSTM.flatten_parameters` does): in this run cuDNN copied the weights of every
`rnnkit.LSTM` and `rnnkit.GRU` call into its own buffer, which the LSTM and GRU rows
([[cuda_fused]] of `torch.nn`) and the batch-1 steps ([[cuda_step]] of `torch.nn`'s speed)
include. The peephole, layer-norm and reset-before layers have no GPU kernel of their own and
run their cells' operators step by step there ([[cuda_own_cells]] of `torch.nn`'s simpler
cell); MinGRU and MinLSTM run the log-space scan, [[cuda_min]] times `torch.nn`'s GRU and LSTM
(paired ratios throughout).
"""

PROFILES = """
`benchmarks/speed_profile.py` builds a row's two layers as `speed.py` does and runs PyTorch's
profiler over a few calls of each: the time per step, the operators with the most self time (how
many calls per layer call, and their share of the profiled call's wall time), and the share spent
in no PyTorch operator. rnnkit's native kernels are called through ctypes, so the profiler sees
them only as the self time of the autograd function that calls them (`LSTMSequence`,
`LayerNormLSTMSequence`, `GRUSequence`). The times come from a few unpaired calls; the grid's
paired ratios are the better comparison, the profiles say what each side runs.

What the grid and the profiles show, by layer:

- `lstm` ([[lstm_below]] rows, [[lstm_below_span]] against `torch.nn`; one row,
  [[lstm_keras_row]] against Keras): rnnkit runs PyTorch's own kernel, `torch.lstm (oneDNN)`,
  the one `aten::mkldnn_rnn_layer` call that `torch.nn.LSTM` makes ([[lstm_kernel_share]] of
  either side's profiled time). Two calls of one kernel differ by that much from run to run
  here; the other [[lstm_others]] rows of the same kernel land at [[lstm_others_span]].
- `gru` inference ([[gru_below]] rows): at batch 1 ([[gru_batch1]]) rnnkit runs PyTorch's GRU
  too (below rows x hidden² = 2²¹ its own steps lose, see [Backends](guides/backends.md)); at
  hidden 256, batch 32 and 64, T 1024, rnnkit's native steps are [[gru_wide_torch]] times
  `torch.nn` but [[gru_wide_keras]] times Keras, short of 1.2: each step is small at hidden 256
  and a fifth of rnnkit's time goes to the native element-wise call and the Python between
  products ([[gru_outside]] outside operators in the profile).
- `lstm_peephole`, `lstm_layer_norm` ([[norm_below]] rows), `gru_reset_before`
  ([[reset_before_below]] rows): `torch.nn` has no such cells, so the baseline computes a
  different, smaller cell (no peepholes, no layer normalisation, the reset gate after the
  product) in one call of a fused C++ kernel (`aten::mkldnn_rnn_layer` for the LSTM,
  [[fused_share]] of its time in the inference profiles). rnnkit runs its own sequence
  functions, one oneDNN product and one native element-wise call per step from Python
  (peephole, layer norm), or PyTorch's operators per step (reset-before: two dependent products
  per step, `aten::addmm` x[[reset_addmm]] for [[reset_steps]] steps, where the reset-after GRU
  needs one).
  At batch 1 a step's products are small and the fixed cost per step decides: peephole
  inference at hidden 256 takes [[peephole_us]] µs a step against the fused LSTM's
  [[fused_us]] ([[own_batch1_infer]] over the batch-1 inference rows of these layers). At batch
  32 and 64 the products take most of the time ([[wide_products]] of the profiled peephole and
  layer-norm inference) and these layers run at [[own_wide_infer]] of the simpler cell in
  inference and [[own_wide_train]] in training (peephole training at T 1024 with batch 32 or 64
  is above 1 in [[peephole_t1024_above]] rows, layer-norm training in
  [[layer_norm_t1024_above]]).
- `gru` training, `mingru`, `minlstm` ([[rest_at_peer]] rows): at or above the faster peer.
"""

SECTIONS = [
    (
        "## Language models: Penn Treebank",
        """
A 2-layer LSTM word-level language model of Zaremba et al.'s small size (200 units), with tied
weights and locked dropout, trained with SGD by the `rnnkit train lm` recipe for a fixed
wall-clock budget on `ptb.train.txt`, selected on `ptb.valid.txt`, scored by perplexity on
`ptb.test.txt`. The published figure is Zaremba et al. (2014)'s small model.
""",
        "lm_ptb_small",
        ("ptb",),
    ),
    (
        "### Characters: Shakespeare",
        """
The character-level Shakespeare text: rnnkit's command-line defaults with each cell, and a plain
PyTorch loop around `torch.nn.LSTM` of the same sizes (same optimizer, batch, window and
clipping), each trained for the same wall time and scored in bits per character on the
held-out last 5% of the text. rnnkit's times include its validation passes.
""",
        "lm_shakespeare",
        ("shakespeare",),
    ),
    (
        "## What the defaults give",
        """
What a user gets who types `rnnkit train TASK --data TRAIN --valid DEV --out DIR --seed S` and
nothing else, beside the simple baseline each task must beat, trained on the same file and
scored on the same test file (`python benchmarks/defaults.py --task TASK`; one result file per
task; three seeds each). Training time is the whole command's wall time on a 2-core machine, or
the trainer's own time from its log where the result file says `train_seconds_from`. The
classification default stops at 10 minutes if its epochs are not done by then. Summarization
also names BBC's headline field (`--summary-key title`); its default trains the extractive and
the abstractive summarizer and keeps the one with the higher dev ROUGE-1 (which one, per seed:
"Which summarizer the default keeps" below), so its training time is both models' together. The
character language model (`--task lm`) trains on the Shakespeare text split 90 / 5 / 5 % on line
boundaries and is scored in bits per character, where lower wins, beside a plain `torch.nn.LSTM`
loop of the same sizes, optimiser, batch and window trained for the default's 10 epochs (seed
1); the default keeps the weights of its lowest validation loss (measured every 500 steps), the
plain loop is scored after its last epoch. One seed of it trains for [[lm_minutes]] minutes on a
2-core AMD EPYC (seed 3 shared the machine with test-suite runs for part of its training); a row
that holds fewer than three seeds names those it holds. Translation's default trains up to 20
epochs with early stopping. Its times are longer than the command takes on a machine of its own:
seed 1 shared the machine with other jobs for part of its training, and seeds 2 and 3 trained
side by side, one thread each.

The classification default was chosen on the dev splits (one seed per candidate). The dev column
scores the same models on the dev file: there the default is [[classify_dev]]; on the test
splits: [[classify_test]]. The paired test below finds [[classify_chance]]. The dev figures
flatter the default: its training stops and keeps its checkpoint by the dev file's loss, which
the baseline never sees. The classification default's time limit makes its result depend on the
machine: a slower machine may stop it earlier in its training; the training times in the table
say how close each data set came to the 10 minutes. A command with `--rescore` scored
the models of an earlier training run of the same command again, keeping its training times. A
run stopped part-way goes on with `--resume`: the seeds it finished are scored with their
recorded times, a stopped seed continues from its checkpoint, and its baseline is not trained
again.
""",
        tuple(f"defaults_{task}" for task in DEFAULT_TASKS),
        ("defaults",),
    ),
    (
        "### Is the gap larger than chance?",
        """
Where the figure is the share of test items right, each seed's default and the baseline are
compared item by item (`benchmarks/paired.py`): how many items only the default gets right, how
many only the baseline, and McNemar's exact two-sided p-value, the chance that two equally good
systems split those items at least this unevenly. A p-value above 0.05 means the test file
shows no difference: two equally good systems often lead or lag each other by that much. For
summarization the items are the test documents, and "right only by" reads "scored higher by"
(ROUGE-1 against the document's reference; documents where both score the same are left out):
the same exact test, known there as the sign test.
""",
        None,
        ("defaults_paired",),
    ),
    (
        "### Which summarizer the default keeps",
        """
The summarization default (`--model.type=auto`) trains SummaRuNNer and the pointer-generator on
the same split and keeps the one whose dev summaries score the higher ROUGE-1. Per seed: each
candidate's dev ROUGE-1, the one kept, and the kept model's test ROUGE-1 / 2 / L beside
Lead-1's. The defaults table above shows ROUGE-1 only; on ROUGE-2 (pairs of words) the written
headlines stay below the first sentence. Seed 1's training time includes a stretch when other
jobs shared the machine.
""",
        "defaults_summarize",
        ("defaults_selection",),
    ),
    (
        "### Classification with unlabelled text",
        """
The same default with `--data.unlabelled` set to the other data set's training texts (the BBC
articles for the sentiment sentences, the sentiment sentences for the BBC articles): a language
model of the classifier's sizes trains on them and the training texts for 3 minutes first, then
starts every member (`python benchmarks/defaults.py --task classify --unlabelled`).
""",
        "defaults_classify_unlabelled",
        ("defaults_unlabelled",),
    ),
    (
        "### The classification default's linear model, on dev",
        """
The default's sixth member is a logistic regression over the n-gram features with weight W
beside each recurrent member's 1 and inverse regularisation C (the classification guide's
"linear model"). The default, [[linear_default]], was not tuned: C is the value the TF-IDF
baseline is given (with two classes it acts as scikit-learn's C = 20), and W = 1 makes it one
more member; a trial on one trained ensemble per data set, before the defaults run, found it
ahead of the members alone on the sentiment dev split and level on BBC's. Over the three seeds
of the defaults run it is
[[linear_standing]], and ahead of the members alone by [[linear_gain]]. For each seed, its
trained recurrent members are averaged with a logistic regression refitted at each C, for each
W; the table gives dev accuracy and dev log loss, means over the seeds
(`python benchmarks/classify_linear.py`; it reads the training and dev files only). The members
are those the default trained, beside a linear model of its own W, C and buckets, which also
chose their checkpoint; every row reuses them. On the test splits, the default's linear model
alone (the defaults run's `linear_accuracy`) scores [[classify_linear_alone]].

The second table keeps the default's C and W and varies the number of hash buckets the linear
model's n-grams share (each row counts its own idf and refits): more buckets, fewer n-grams
sharing one, and (V + B) x classes weights to store. The default, [[linear_buckets]] buckets, was
chosen on the dev splits by this comparison; it is [[linear_buckets_standing]].
""",
        "classify_linear",
        ("classify_linear",),
    ),
    (
        "## Text classification",
        """
The `rnnkit train classify` recipe beside TF-IDF (word 1-2 grams) with logistic regression,
trained on the same split in the same run. rnnkit's model is chosen on the dev split: with a
grid of candidates (pooling, cell, size, depth, a ULMFiT-style start from a language model,
ensembles of five members trained together with `--model.ensemble=5`), the one with the best dev
accuracy, and across several result files of one data set, the run with the best dev accuracy;
runs of one command that differ only in `--seed` are one candidate, judged by their mean dev
accuracy and reported by their mean test figures. Both are scored on test. On small data sets
the spread between random seeds is as large as the differences between architectures; the
"members alone" column shows it for the ensembles.
""",
        None,
        ("classification",),
    ),
    (
        "### Sentence sentiment: every candidate",
        "",
        "classify_sentiment",
        ("classification_candidates", "sentiment"),
    ),
    ("### BBC news topics: every run", "", None, ("classification_run_table", "bbc")),
    (
        "## Part-of-speech tagging",
        """
The `rnnkit train tag` recipe (word embeddings 100, a character BiLSTM per word, a BiLSTM of 128
units, a CRF output) beside python-crfsuite on hand-made features (the word, its affixes and
shape, the same for its neighbours), both trained on the same training file and scored by token
accuracy on the test file. Two ablations, without the CRF and without the character features,
had shorter budgets (each row gives its own).
""",
        "tag_pos",
        ("tagging",),
    ),
    (
        "### With contextual embeddings (biLM)",
        """
A word-input biLM trained on unlabelled Penn Treebank text, then the tagger above on only the
first 1,000 training sentences, without and with the frozen biLM's scalar-mixed vectors, each
under the same budget and validated on the dev file; token accuracy on the test file.
""",
        "tag_bilm",
        ("bilm_tagging",),
    ),
    (
        "## Translation",
        """
The `rnnkit train translate` model without copying (`--model.copy=false`: byte-level BPE of
4,000 shared by both sides, a 2-layer bidirectional LSTM encoder, a 2-layer LSTM decoder, hidden
256, label smoothing 0.1) on English-French software messages, with Luong attention and input
feeding and without attention,
the same budget each, selected on dev by validation loss. Test BLEU and chrF are sacrebleu's,
beside copying the source (which scores because placeholders, numbers and names are shared).
"Placeholders kept": the share of test sources whose `%s` / `{name}` / tag / number
placeholders all appear in the output.
""",
        "translate_en_fr",
        ("translation",),
    ),
    (
        "### Translation out of domain",
        """
What a user gets who types `rnnkit train translate --data TRAIN --valid DEV --out DIR --seed S
--trainer.max_time=900` (the default model above, with copying, stopped after 15 minutes),
scored with its default decoding (beam 5, no trigram of tokens twice, no phrase twice in a row)
on the in-domain test file and on messages of two programs it never saw: GIMP's and Audacity's
French catalogs from Debian, one line and 3 to 40 English words each, no English side found in
the training, dev or test files, split into an out-of-domain dev file (where the default was
chosen) and test file (`python benchmarks/catalogs.py`, then `python
benchmarks/translate_ood.py`). Training time is the whole command's, or the trainer's own from
its log where a run folder was scored again.
"Repeats": outputs that say a phrase of one to four words twice in a row where their source does
not (`rnnkit.metrics.repeated_phrases`). Copying the source is the baseline.
""",
        "translate_ood",
        ("translation_ood",),
    ),
    (
        "### Placeholder constraints",
        """
A model of the runs above decoded twice in the same run, with its default decoding and with
placeholder constraints off (`rnnkit translate --no-constrain`). With constraints, beam search
finishes only hypotheses that hold each source placeholder as often as the source and no
placeholder the source lacks. Over the sources that hold a placeholder (`%s`, `{name}`, markup,
numbers): "kept" is the share whose placeholders all appear in the output as often as in the
source, "exact" the share whose output holds no other placeholder either.
""",
        "translate_constraints",
        ("translation_constraints",),
    ),
    (
        "## Extractive summarization",
        """
`rnnkit train summarize --model.type=extractive` (SummaRuNNer: GRU, embeddings 100, hidden 200)
on BBC news articles with the headline as the reference, its sentences labelled by the greedy
ROUGE oracle, the epoch kept chosen by the ROUGE-1 of its dev summaries (ties: the lower dev
loss). On test, the model's best sentence is scored by ROUGE-1/2/L F1 (rouge-score, Porter
stemmer) beside the first sentence (Lead-1) and the single sentence with the best ROUGE against
the headline (the oracle: the ceiling for one extracted sentence).
""",
        "summarize_bbc",
        ("summarization",),
    ),
    (
        "### Abstractive summarization",
        """
`rnnkit train summarize --model.type=abstractive` with its defaults on the same BBC articles and
headlines: a pointer-generator with coverage (a bidirectional GRU encoder over the article's first
400 tokens, a GRU decoder with additive attention, embeddings 100, hidden 200, every training word
in the vocabulary), at most 20 epochs, the epoch kept and early stopping decided by the ROUGE-1 of
its beam-search headlines of the dev articles, on three seeds; for the first seed also the same
model without coverage and the encoder-decoder with copying and coverage off. Each writes its
headline with its default decoding (beam 5, no end before half the median training headline, no
trigram twice, no word or phrase twice in a row). In the same run: Lead-1, the single-sentence
oracle and SummaRuNNer (the extractive model), whose reliance on position the note below the
table measures.
""",
        "summarize_bbc_abstractive",
        ("abstractive_summarization",),
    ),
    ("## Speed", SPEED_METHOD, None, ("speed_run", "speed")),
    ("### With freed memory kept mapped", "", None, ("speed_run", "speed_keep")),
    ("### Against Keras 3", "", None, ("speed_run", "speed_keras")),
    ("### MinGRU and MinLSTM by width", "", None, ("speed_run", "speed_min")),
    ("### Sizes and batches", "", None, ("speed_run", "speed_grid")),
    ("### The whole grid", FULL_GRID, None, ("speed_full", "speed_full")),
    ("#### Where the time goes in the slower rows", PROFILES, None, ("speed_profiles",)),
    ("### On a GPU", ON_GPU, None, ("speed_run", "speed_cuda")),
    (
        "### Variable lengths",
        """
Bidirectional layers over padded batches whose sequences end at different steps: rnnkit's
`layer(x, lengths=...)` against what a PyTorch user writes (`pack_padded_sequence` ->
`nn.LSTM` / `nn.GRU` -> `pad_packed_sequence`), both exact, and, for reference, `nn.LSTM` on the
padded batch without lengths (it runs the padding too and gets the shorter sequences' final
states wrong). Lengths are drawn between 0.8 L and L (`bucketed`, what a length-bucketing loader
gives) or between 1 and L (`spread`); tokens per second count real tokens only.
""",
        "lengths",
        ("lengths",),
    ),
    (
        "### Step products",
        """
The matrix products of one recurrent step, y = x W^T + b, with PyTorch's `addmm` (MKL) and with
oneDNN and the weight packed once (what rnnkit's CPU sequence functions use), at the shapes of
rnnkit's step loops; median of blocks of calls, alternating.
""",
        "products",
        ("products",),
    ),
]
