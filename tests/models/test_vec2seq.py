"""VectorToSequence: the decoder starts from a given vector and learns what to say about it."""

import pytest
import torch

from rnnkit.decoding import beam_search
from rnnkit.models import VectorToSequence


def test_learns_a_sequence_per_vector() -> None:
    torch.manual_seed(0)
    vectors = torch.randn(4, 6)
    captions = torch.tensor([[2, 3, 4], [5, 6, 7], [3, 3, 5], [7, 2, 2]])
    eos = 0
    model = VectorToSequence(6, 8, hidden_size=32, embedding_size=8, dropout=0.0, bos_id=eos)
    batch = {
        "vectors": vectors,
        "target_in": torch.cat([torch.zeros(4, 1, dtype=torch.long), captions], 1),
        "target_out": torch.cat([captions, torch.zeros(4, 1, dtype=torch.long)], 1),
    }
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    for _ in range(120):
        loss, n = model.forward_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert n == 16
    model.eval()
    hyps = beam_search(model, model.encode(vectors), model.first_tokens(4), 6, 2, eos_id=eos)
    assert [h[0].tokens for h in hyps] == captions.tolist()


def test_regions_with_attention() -> None:
    model = VectorToSequence(5, 9, attention="general", input_feeding=True, hidden_size=8)
    logits, weights = model(torch.randn(2, 7, 5), torch.randint(9, (2, 3)))
    assert logits.shape == (2, 3, 9) and weights.shape == (2, 3, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    plain, none = VectorToSequence(5, 9)(torch.randn(2, 5), torch.randint(9, (2, 3)))
    assert plain.shape == (2, 3, 9) and none is None


def test_wrong_vector_shape_names_the_expected_one() -> None:
    with pytest.raises(ValueError, match=r"expected vectors \(N, 5\) or \(N, R, 5\)"):
        VectorToSequence(5, 9).encode(torch.randn(2, 4))
