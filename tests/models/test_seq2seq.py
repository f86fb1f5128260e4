"""Seq2Seq: shapes, the fast teacher-forcing path equals the step loop, masking, bridge,
beam search, scheduled sampling, save/load, and learning a small task."""

import pytest
import torch

from rnnkit.decoding import beam_search
from rnnkit.models import Seq2Seq
from rnnkit.models.io import load_model_dir, save_model_dir
from tests.harness import assert_states_close

TINY = {"embedding_size": 8, "hidden_size": 8, "dropout": 0.0}


def _batch(n=3, s=5, t=4, v=12):
    source = torch.randint(2, v, (n, s))
    lengths = torch.tensor([s, 3, 1][:n])
    target_in = torch.randint(2, v, (n, t))
    target_out = torch.randint(2, v, (n, t))
    target_out[-1, 2:] = -100
    return {"source": source, "source_lengths": lengths, "target_in": target_in,
            "target_out": target_out}  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"attention": "none"},
        {"attention": "dot", "bidirectional": False},
        {"attention": "additive", "cell": "gru", "encoder_layers": 1, "decoder_layers": 2},
        {"cell": "rnn", "encoder_layers": 3, "decoder_layers": 1, "input_feeding": False},
        {"cell_options": {"peephole": True}},
        {"cell": "mingru", "encoder_layers": 2, "decoder_layers": 1},
    ],
)
def test_loss_and_gradients_reach_every_parameter(options) -> None:
    model = Seq2Seq(12, 12, **{**TINY, **options})
    loss, n = model.forward_loss(_batch())
    assert n == 10 and torch.isfinite(loss)
    loss.backward()
    shared = {id(model.decoder.embed.weight)} if model.config.share_embeddings else set()
    for name, p in model.named_parameters():
        if id(p) not in shared:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("attention", ["general", "none"])
def test_fast_teacher_forcing_equals_the_step_loop(attention) -> None:
    model = Seq2Seq(12, 12, **TINY, attention=attention, input_feeding=False).eval()
    b = _batch()
    with torch.no_grad():
        logits, _ = model(b["source"], b["source_lengths"], b["target_in"])
        state = model.encode(b["source"], b["source_lengths"])
        steps = []
        for t in range(b["target_in"].shape[1]):
            step_logits, state = model.step(b["target_in"][:, t], state)
            steps.append(step_logits)
    assert_states_close(logits, torch.stack(steps, 1))


def test_source_padding_does_not_change_the_output() -> None:
    model = Seq2Seq(12, 12, **TINY).eval()
    b = _batch()
    with torch.no_grad():
        logits, weights = model(b["source"], b["source_lengths"], b["target_in"])
        alone, _ = model(b["source"][1:2, :3], torch.tensor([3]), b["target_in"][1:2])
    assert_states_close(logits[1:2], alone)
    assert torch.all(weights[1, :, 3:] == 0) and torch.all(weights[2, :, 1:] == 0)


def test_bridge_maps_both_directions_to_the_decoder() -> None:
    model = Seq2Seq(12, 12, **TINY, bidirectional=True, encoder_layers=1, decoder_layers=2)
    state = model.encode(torch.randint(12, (2, 4)), torch.tensor([4, 2]))
    assert len(state.layers) == 2
    for h, c in state.layers:
        assert h.shape == (1, 2, 8) and c.shape == (1, 2, 8)
    assert state.memory.shape == (2, 4, 16) and state.mask.tolist()[1] == [1, 1, 0, 0]


def test_beam_one_is_greedy_and_shares_state_reordering() -> None:
    model = Seq2Seq(12, 12, **TINY).eval()
    source, lengths = torch.randint(2, 12, (2, 5)), torch.tensor([5, 4])
    state = model.encode(source, lengths)
    greedy = beam_search(model, state, model.first_tokens(2), 6, 1, eos_id=0)
    with torch.no_grad():
        tokens, s, out = model.first_tokens(2), model.encode(source, lengths), [[], []]
        done = [False, False]
        for _ in range(6):
            logits, s = model.step(tokens, s)
            tokens = logits.argmax(-1)
            for i, tok in enumerate(tokens.tolist()):
                if not done[i]:
                    done[i] = tok == 0
                    if not done[i]:
                        out[i].append(tok)
    assert [h[0].tokens for h in greedy] == out
    wide = beam_search(model, model.encode(source, lengths), model.first_tokens(2), 6, 4,
                       eos_id=0, n_best=3)  # fmt: skip
    assert all(1 <= len(h) <= 3 for h in wide)


def test_align_gives_one_distribution_per_output_token() -> None:
    model = Seq2Seq(12, 12, **TINY).eval()
    weights = model.align(torch.randint(12, (1, 5)), torch.tensor([5]), torch.tensor([[3, 4, 0]]))
    assert weights.shape == (1, 3, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 3))
    assert (
        Seq2Seq(12, 12, **TINY, attention="none").align(
            torch.randint(12, (1, 5)), torch.tensor([5]), torch.tensor([[3, 0]])
        )
        is None
    )


def test_scheduled_sampling_ramps_and_resumes() -> None:
    model = Seq2Seq(12, 12, **TINY, scheduled_sampling=0.4, scheduled_sampling_epochs=4)
    probs = []
    for epoch in range(6):
        model.start_epoch(epoch)
        probs.append(round(model.sampling, 6))
    assert probs == [0.1, 0.2, 0.3, 0.4, 0.4, 0.4]
    again = Seq2Seq(12, 12, **TINY, scheduled_sampling=0.4)
    again.load_runtime_state(model.runtime_state())
    assert again.sampling == pytest.approx(0.4)


def _argmax_sampling(monkeypatch) -> None:
    """Make the sampled prediction the most likely token, so a run can be replayed."""
    monkeypatch.setattr(torch, "multinomial", lambda probs, n: probs.argmax(-1, keepdim=True))


def test_scheduled_sampling_feeds_the_models_own_predictions(monkeypatch) -> None:
    torch.manual_seed(0)
    _argmax_sampling(monkeypatch)
    model = Seq2Seq(12, 12, **TINY)
    b = _batch()
    src, lengths, target_in = b["source"], b["source_lengths"], b["target_in"]
    model.sampling = 1.0
    logits, _ = model.train()(src, lengths, target_in)
    with torch.no_grad():  # replayed: the gold first token, then each step's own argmax
        state, token, expected = model.encode(src, lengths), target_in[:, 0], []
        for _ in range(target_in.shape[1]):
            step_logits, state = model.step(token, state)
            expected.append(step_logits)
            token = step_logits.argmax(-1)
    assert_states_close(logits, torch.stack(expected, dim=1))
    model.sampling = 0.0
    forced, _ = model(src, lengths, target_in)
    assert not torch.allclose(forced, logits)
    model.sampling = 1.0
    assert_states_close(model.eval()(src, lengths, target_in)[0], forced)  # eval ignores it
    loss, _ = model.train().forward_loss(b)
    loss.backward()
    assert all(p.grad is not None for p in model.decoder.parameters() if p.requires_grad)


def test_save_load_round_trip(tmp_path) -> None:
    model = Seq2Seq(12, 12, **TINY, share_embeddings=True).eval()
    save_model_dir(tmp_path, model, meta={"task": "test"})
    loaded, _, meta = load_model_dir(tmp_path)
    b = _batch()
    with torch.no_grad():
        assert_states_close(model(b["source"], b["source_lengths"], b["target_in"]),
                            loaded(b["source"], b["source_lengths"], b["target_in"]))  # fmt: skip
    assert loaded.decoder.embed.weight is loaded.embed.weight and meta == {"task": "test"}


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="share_embeddings needs one shared vocabulary"):
        Seq2Seq(10, 12, share_embeddings=True)
    model = Seq2Seq(12, 12, **TINY)
    with pytest.raises(ValueError, match=r"expected source \(N, S\) and lengths \(N,\)"):
        model.encode(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3]))
    with pytest.raises(ValueError, match="at least one token"):
        model.encode(torch.zeros(2, 3, dtype=torch.long), torch.tensor([3, 0]))


def test_learns_to_reverse_short_sequences() -> None:
    torch.manual_seed(0)
    v, eos = 8, 0
    model = Seq2Seq(v, v, embedding_size=16, hidden_size=32, encoder_layers=1,
                    decoder_layers=1, dropout=0.0, label_smoothing=0.0, bos_id=eos)  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        seqs = torch.randint(1, v, (32, 4))
        source = torch.cat([seqs, torch.zeros(32, 1, dtype=torch.long)], 1)
        target = seqs.flip(1)
        batch = {
            "source": source,
            "source_lengths": torch.full((32,), 5),
            "target_in": torch.cat([torch.zeros(32, 1, dtype=torch.long), target], 1),
            "target_out": torch.cat([target, torch.zeros(32, 1, dtype=torch.long)], 1),
        }
        loss, _ = model.forward_loss(batch)  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    test = torch.randint(1, v, (20, 4))
    source = torch.cat([test, torch.zeros(20, 1, dtype=torch.long)], 1)
    hyps = beam_search(model, model.encode(source, torch.full((20,), 5)), model.first_tokens(20),
                       8, 3, eos_id=eos)  # fmt: skip
    correct = sum(h[0].tokens == t.flip(0).tolist() for h, t in zip(hyps, test))
    assert correct >= 18, correct
