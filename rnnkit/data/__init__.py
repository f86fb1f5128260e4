"""rnnkit.data: text in, batches of token ids out.

- ``read_text``: strict UTF-8 files, errors naming ``file:line`` (``readers.py``);
- tokenizers at three levels behind one interface, saved as JSON (``tokenizers.py``);
- ``LMStream``: contiguous, resumable truncated-BPTT windows for language models
  (``lm_stream.py``);
- labelled data: classification files (TSV / JSONL / text, ``labelled.py``), CoNLL files
  (``conll.py``), ``LabelVocab`` (``labels.py``); pretrained word vectors (``embeddings.py``);
- parallel text ``source<TAB>target`` (``parallel.py``) and placeholder masking for
  translation (``placeholders.py``);
- ``BucketBatchSampler``: length-bucketed, resumable batches, and ``pad_sequences``
  (``batching.py``);
- a bundled Shakespeare corpus (``corpora.py``) and a verified downloader (``download.py``).

This package imports torch but nothing from the rest of rnnkit.
"""

from rnnkit.data.batching import BucketBatchSampler, pad_sequences
from rnnkit.data.conll import TaggedSentence, read_conll, write_conll
from rnnkit.data.corpora import BUNDLED, bundled_corpus_path, load_bundled
from rnnkit.data.download import download, sha256_of
from rnnkit.data.embeddings import WordVectors, build_embedding_matrix, load_word_vectors
from rnnkit.data.errors import DataError
from rnnkit.data.labelled import TextExample, read_classification
from rnnkit.data.labels import LabelVocab, unseen_labels
from rnnkit.data.lm_stream import LMStream
from rnnkit.data.readers import read_text
from rnnkit.data.tokenizer_base import Tokenizer
from rnnkit.data.tokenizers import (
    TOKENIZERS,
    BPETokenizer,
    CharTokenizer,
    TextTokenizer,
    WordTokenizer,
    build_tokenizer,
    load_tokenizer,
)
from rnnkit.data.vocab import EOS, UNK, Vocab

__all__ = [
    "BUNDLED",
    "EOS",
    "TOKENIZERS",
    "UNK",
    "BPETokenizer",
    "BucketBatchSampler",
    "CharTokenizer",
    "DataError",
    "LMStream",
    "LabelVocab",
    "TaggedSentence",
    "TextExample",
    "TextTokenizer",
    "Tokenizer",
    "Vocab",
    "WordTokenizer",
    "WordVectors",
    "build_embedding_matrix",
    "build_tokenizer",
    "bundled_corpus_path",
    "download",
    "load_bundled",
    "load_tokenizer",
    "load_word_vectors",
    "pad_sequences",
    "read_classification",
    "read_conll",
    "read_text",
    "sha256_of",
    "unseen_labels",
    "write_conll",
]
