"""Copy attention and coverage in the seq2seq decoder: the mixture, every cell, fast path vs
step loop, padding, beam 1 vs greedy, copying with p_gen = 0 (also an out-of-vocabulary word),
coverage loss, scheduled sampling, align, save/load."""

import pytest
import torch

from rnnkit.decoding import beam_search, generate_tokens
from rnnkit.models import Seq2Seq
from rnnkit.models.copying import coverage_loss, mix_copy
from rnnkit.models.io import load_model_dir, save_model_dir
from tests.harness import assert_states_close

TINY = {"embedding_size": 8, "hidden_size": 8, "dropout": 0.0, "copy": True}
V, EXTRA = 12, 2


def _batch(n=3, s=5, t=4):
    g = torch.Generator().manual_seed(1)
    source = torch.randint(2, V, (n, s), generator=g)
    ids = source.clone()
    ids[0, 1], ids[1, 0] = V, V + 1  # two out-of-vocabulary source words
    target_out = torch.randint(2, V, (n, t), generator=g)
    target_out[0, 0], target_out[-1, 2:] = V, -100
    return {"source": source, "source_lengths": torch.tensor([s, 3, 1][:n]),
            "target_in": torch.randint(2, V, (n, t), generator=g), "target_out": target_out,
            "source_ids": ids, "extra": torch.tensor(EXTRA)}  # fmt: skip


def _logits(model, b):
    return model(b["source"], b["source_lengths"], b["target_in"], b["source_ids"], EXTRA)


def test_mix_copy_is_a_distribution_over_the_extended_vocabulary():
    logits, weights = torch.randn(2, 5), torch.softmax(torch.randn(2, 3), -1)
    ids = torch.tensor([[1, 5, 1], [6, 0, 2]])
    p_gen = torch.tensor([[0.3], [1.0]])
    log_p = mix_copy(logits, p_gen, weights, ids, 2)
    p = log_p.exp()
    assert p.shape == (2, 7)
    torch.testing.assert_close(p.sum(-1), torch.ones(2))
    expected = 0.3 * logits[0].softmax(-1)[1] + 0.7 * (weights[0, 0] + weights[0, 2])
    torch.testing.assert_close(p[0, 1], expected)
    torch.testing.assert_close(p[0, 5], 0.7 * weights[0, 1])
    assert p[1, 5:].max() < 1e-9  # p_gen = 1: nothing copied


def test_coverage_loss_by_hand():
    a = torch.tensor([[[0.5, 0.5], [0.8, 0.2], [0.1, 0.9]]])
    # step 2: min(0.8, 0.5) + min(0.2, 0.5); step 3: min(0.1, 1.3) + min(0.9, 0.7)
    assert coverage_loss(a, torch.zeros(1, 3)).item() == pytest.approx(0.7 + 0.8)
    assert coverage_loss(a, torch.tensor([[0, 0, -100]])).item() == pytest.approx(0.7)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn", "mingru", "minlstm"])
@pytest.mark.parametrize("coverage", [False, True])
def test_every_cell_trains_with_copy_and_coverage(cell, coverage):
    model = Seq2Seq(V, V, **TINY, cell=cell, coverage=coverage, attention="additive")
    loss, n = model.forward_loss(_batch())
    assert n == 10 and torch.isfinite(loss)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("options", [{"input_feeding": False}, {"coverage": True}, {}])
def test_teacher_forcing_equals_stepping(options):
    model = Seq2Seq(V, V, **TINY, **options).eval()
    b = _batch()
    with torch.no_grad():
        logits, _ = _logits(model, b)
        state = model.encode(b["source"], b["source_lengths"], b["source_ids"], EXTRA)
        steps = []
        for t in range(b["target_in"].shape[1]):
            step_logits, state = model.step(b["target_in"][:, t], state)
            steps.append(step_logits)
    assert logits.shape == (3, 4, V + EXTRA)
    assert_states_close(logits, torch.stack(steps, 1))


def test_source_padding_does_not_change_the_output():
    model = Seq2Seq(V, V, **TINY, coverage=True).eval()
    b = _batch()
    with torch.no_grad():
        logits, weights = _logits(model, b)
        alone, _ = model(b["source"][1:2, :3], torch.tensor([3]), b["target_in"][1:2],
                         b["source_ids"][1:2, :3], EXTRA)  # fmt: skip
    assert_states_close(logits[1:2], alone)
    assert torch.all(weights[1, :, 3:] == 0)


def test_beam_one_is_greedy_with_extended_ids():
    model = Seq2Seq(V, V, **TINY, coverage=True).eval()
    b = _batch()
    b["source_ids"][0, :] = V  # every word of source 0 is the same unknown word
    with torch.no_grad():  # make copying likely, so extended ids are fed back
        model.decoder.gate.linear.bias.fill_(-2.0)
    ids = b["source_ids"]
    encode = lambda: model.encode(b["source"], b["source_lengths"], ids, EXTRA)  # noqa: E731
    hyps = beam_search(model, encode(), model.first_tokens(3), 6, 1)
    steps = generate_tokens(model, encode(), model.first_tokens(3), 6, strategy="greedy")
    greedy = torch.stack(list(steps), 1).tolist()
    assert [h[0].tokens for h in hyps] == greedy
    assert any(t >= V for row in greedy for t in row)  # an out-of-vocabulary word came out


@pytest.fixture(scope="module")
def copier():
    """A model trained to copy its source with p_gen forced to 0 (gate bias -30, frozen)."""
    torch.manual_seed(0)
    model = Seq2Seq(V, V, embedding_size=16, hidden_size=32, encoder_layers=1, decoder_layers=1,
                    dropout=0.0, label_smoothing=0.0, bos_id=0, copy=True)  # fmt: skip
    with torch.no_grad():
        model.decoder.gate.linear.weight.zero_()
        model.decoder.gate.linear.bias.fill_(-30.0)
    model.decoder.gate.requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.02)
    for _ in range(200):
        seqs = torch.randint(2, V, (32, 5))
        source = torch.cat([seqs, torch.zeros(32, 1, dtype=torch.long)], 1)
        batch = {"source": source, "source_lengths": torch.full((32,), 6),
                 "target_in": torch.cat([torch.zeros(32, 1, dtype=torch.long), seqs], 1),
                 "target_out": source}  # fmt: skip
        loss, _ = model.forward_loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_p_gen_zero_copies_the_source_and_an_unknown_word(copier):
    test = torch.randint(2, V, (20, 5), generator=torch.Generator().manual_seed(7))
    source = torch.cat([test, torch.zeros(20, 1, dtype=torch.long)], 1)
    ids = source.clone()
    ids[:, 2] = V + torch.arange(20) % 3  # the third word is out of the vocabulary
    state = copier.encode(source, torch.full((20,), 6), ids, 3)
    hyps = beam_search(copier, state, copier.first_tokens(20), 9, 3, eos_id=0)
    correct = sum(h[0].tokens == row[:5].tolist() for h, row in zip(hyps, ids))
    assert correct >= 18, correct
    assert all(h[0].tokens[2] >= V for h in hyps)  # produced by copying only


def test_scheduled_sampling_and_align_with_copying(monkeypatch):
    torch.manual_seed(0)
    monkeypatch.setattr(torch, "multinomial", lambda probs, n: probs.argmax(-1, keepdim=True))
    model = Seq2Seq(
        V, V, **TINY, coverage=True, scheduled_sampling=1.0, scheduled_sampling_epochs=1
    )
    model.start_epoch(10)
    b = _batch()
    logits, _ = _logits(model.train(), b)
    with torch.no_grad():  # replayed: each step fed its own argmax, copied words included
        state = model.encode(b["source"], b["source_lengths"], b["source_ids"], EXTRA)
        token, expected = b["target_in"][:, 0], []
        for _ in range(b["target_in"].shape[1]):
            step_logits, state = model.step(token, state)
            expected.append(step_logits)
            token = step_logits.argmax(-1)
    assert_states_close(logits, torch.stack(expected, dim=1))
    loss, _ = model.forward_loss(b)
    loss.backward()
    model.eval()
    weights = model.align(torch.randint(2, V, (1, 5)), torch.tensor([5]),
                          torch.tensor([[3, V + 1, 0]]))  # fmt: skip
    assert weights.shape == (1, 3, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 3))


def test_save_load_round_trip(tmp_path):
    model = Seq2Seq(V, V, **TINY, coverage=True).eval()
    save_model_dir(tmp_path, model, meta={"task": "test"})
    loaded, _, _ = load_model_dir(tmp_path)
    assert loaded.config.copy and loaded.config.coverage
    b = _batch()
    with torch.no_grad():
        assert_states_close(_logits(model, b), _logits(loaded, b), atol=0, rtol=0)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="copy and coverage need attention"):
        Seq2Seq(V, V, **TINY, attention="none")
    with pytest.raises(ValueError, match="separate vocabularies needs source_ids"):
        Seq2Seq(V, V + 1, **TINY).encode(torch.ones(1, 3, dtype=torch.long), torch.tensor([3]))
    with pytest.raises(ValueError, match=r"source_ids shaped like the mask \(1, 3\)"):
        Seq2Seq(V, V, **TINY).encode(torch.ones(1, 3, dtype=torch.long), torch.tensor([3]),
                                     torch.ones(1, 2, dtype=torch.long))  # fmt: skip
