"""Character-level word features: one vector per word from its characters.

- ``lstm``: a BiLSTM over the word's characters; the feature is [forward h_n; backward h_1]
  (Lample et al., "Neural Architectures for Named Entity Recognition", NAACL 2016).
- ``cnn``: a convolution of width k over character embeddings, then max over positions
  (Ma & Hovy, "End-to-end Sequence Labeling via Bi-directional LSTM-CNNs-CRF", ACL 2016).

Both see suffixes, prefixes, capitals and digits, so unseen words still get useful features.
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnkit.layers.pooling import last_states, lengths_mask
from rnnkit.layers.rnn import LSTM

CHAR_ENCODERS = ("lstm", "cnn")


class CharEncoder(nn.Module):
    """(W, C) character ids of W words -> (W, out_features).

    Args:
        num_chars: character vocabulary size (id 0 is padding).
        kind: ``"lstm"`` or ``"cnn"``.
        embedding_size: character embedding width.
        hidden_size: LSTM units per direction, or CNN filters.
        kernel_size: CNN window width.

    Example:
        >>> enc = CharEncoder(80, "lstm", embedding_size=25, hidden_size=25)
        >>> features = enc(chars, char_lengths)      # (W, 50)
    """

    def __init__(
        self,
        num_chars: int,
        kind: str = "lstm",
        embedding_size: int = 25,
        hidden_size: int = 25,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        if kind not in CHAR_ENCODERS:
            raise ValueError(f"CharEncoder: unknown kind {kind!r}; choose from {CHAR_ENCODERS}")
        self.kind = kind
        self.embed = nn.Embedding(num_chars, embedding_size, padding_idx=0)
        if kind == "lstm":
            self.rnn = LSTM(embedding_size, hidden_size, bidirectional=True)
            self.out_features = 2 * hidden_size
        else:
            self.conv = nn.Conv1d(
                embedding_size, hidden_size, kernel_size, padding=kernel_size // 2
            )
            self.out_features = hidden_size

    def forward(self, chars: Tensor, lengths: Tensor) -> Tensor:
        if chars.dim() != 2:
            raise ValueError(
                f"CharEncoder: expected chars (words, max_chars), got {tuple(chars.shape)}"
            )
        lengths = lengths.clamp(min=1)
        x = self.embed(chars)
        if self.kind == "lstm":
            outputs, _ = self.rnn(x, lengths=lengths.cpu())
            return last_states(outputs, lengths, 2)
        y = self.conv(x.transpose(1, 2)).transpose(1, 2)  # (W, C, filters)
        mask = lengths_mask(lengths, y.shape[1])
        return y.masked_fill(~mask[..., None], float("-inf")).amax(dim=1)
