"""Tests of rnnkit.data: readers, tokenizers, LM streams, bundled corpora, downloads."""
