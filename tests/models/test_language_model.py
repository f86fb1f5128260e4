"""LanguageModel: shapes, tying, regularisers, carried state, decoding interface, save/load."""

import pytest
import torch
from torch.nn import functional as F

from rnnkit.models import LanguageModel
from rnnkit.models.io import load_model_dir, save_model_dir
from tests.harness import assert_states_close

V = 30


def _lm(**kw):
    base = dict(embedding_size=8, hidden_size=12, num_layers=2)
    return LanguageModel(V, **{**base, **kw})


@pytest.mark.filterwarnings("ignore::rnnkit.FusedPathWarning")
@pytest.mark.parametrize(
    "opts",
    [
        {"cell": "lstm"},
        {"cell": "gru", "cell_options": {"reset_after": False}},
        {"cell": "rnn", "cell_options": {"activation": "relu"}},
        {"cell": "lstm", "cell_options": {"peephole": True}, "weight_drop": 0.3},
        {"cell": "mingru"},
        {"cell": "minlstm"},
    ],
)
def test_shapes_and_loss_is_mean_cross_entropy(opts):
    lm = _lm(**opts).eval()
    x, y = torch.randint(V, (3, 7)), torch.randint(V, (3, 7))
    logits, state = lm(x)
    assert logits.shape == (3, 7, V) and len(state) == 2
    loss, n = lm.forward_loss((x, y))
    assert n == 21
    torch.testing.assert_close(loss, F.cross_entropy(logits.reshape(-1, V), y.reshape(-1)))


def test_tied_weights_share_the_embedding():
    lm = _lm(tie_weights=True)
    assert lm.decoder.weight is lm.embed.weight
    assert lm.layers[-1].output_size == 8  # last layer sized to the embedding
    untied = _lm(tie_weights=False)
    assert untied.decoder.weight is not untied.embed.weight


def test_carried_state_continues_the_stream_and_resets():
    lm = _lm(dropout=0.0).eval()
    x = torch.randint(V, (2, 10))
    y = torch.randint(V, (2, 10))
    whole = F.cross_entropy(lm(x)[0].reshape(-1, V), y.reshape(-1), reduction="sum")
    lm.start_evaluation()
    a, na = lm.forward_loss((x[:, :4], y[:, :4]))
    b, nb = lm.forward_loss((x[:, 4:], y[:, 4:]))
    torch.testing.assert_close(a * na + b * nb, whole)
    lm.start_evaluation()
    again, _ = lm.forward_loss((x[:, :4], y[:, :4]))
    torch.testing.assert_close(again, a)


def test_ar_and_tar_add_to_the_training_loss_only():
    torch.manual_seed(0)
    base = _lm(dropout=0.0)
    reg = _lm(dropout=0.0, ar=2.0, tar=1.0)
    reg.load_state_dict(base.state_dict())
    x, y = torch.randint(V, (2, 6)), torch.randint(V, (2, 6))
    raw, out, _ = base.encode(x)
    expected = base.forward_loss((x, y))[0] + 2.0 * out.pow(2).mean()
    expected = expected + (raw[:, 1:] - raw[:, :-1]).pow(2).mean()
    base.start_epoch(0)
    torch.testing.assert_close(reg.forward_loss((x, y))[0], expected)
    reg.eval(), base.eval()
    torch.testing.assert_close(reg.forward_loss((x, y))[0], base.forward_loss((x, y))[0])


def test_step_equals_forward_and_reorder_selects_batch():
    lm = _lm().eval()
    x = torch.randint(V, (3, 5))
    logits, _ = lm(x)
    state, steps = None, []
    for t in range(5):
        out, state = lm.step(x[:, t], state)
        steps.append(out)
    assert_states_close(torch.stack(steps, 1), logits)
    picked = lm.reorder_state(state, torch.tensor([2, 2, 0]))
    assert torch.equal(picked[0][0][:, 0], state[0][0][:, 2])
    assert torch.equal(picked[1][1][:, 2], state[1][1][:, 0])


def test_runtime_state_round_trip():
    lm = _lm()
    lm.forward_loss((torch.randint(V, (2, 4)), torch.randint(V, (2, 4))))
    saved = lm.runtime_state()
    assert set(saved) == {"carried.0.0", "carried.0.1", "carried.1.0", "carried.1.1"}
    other = _lm()
    other.load_runtime_state(saved)
    assert_states_close(other._carried[True], lm._carried[True])


def test_save_and_load_model_directory(tmp_path):
    from rnnkit.data import CharTokenizer

    lm = _lm(tie_weights=True, cell="gru").eval()
    tok = CharTokenizer.train("abc def")
    save_model_dir(tmp_path, lm, tok, {"task": "lm"})
    model, tok2, meta = load_model_dir(tmp_path)
    x = torch.randint(V, (2, 5))
    assert_states_close(model(x), lm(x), atol=0, rtol=0)
    assert model.decoder.weight is model.embed.weight
    assert meta == {"task": "lm"} and tok2.encode("cab") == tok.encode("cab")


def test_unknown_options_are_rejected():
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['hiden_size'\]"):
        LanguageModel(V, hiden_size=3)
    with pytest.raises(ValueError, match="unknown cell 'transformer'"):
        LanguageModel(V, cell="transformer")


def test_input_and_output_weights_start_small():
    lm = _lm(tie_weights=False, init_range=0.05)
    assert lm.embed.weight.abs().max() <= 0.05 and lm.decoder.weight.abs().max() <= 0.05
    assert torch.all(lm.decoder.bias == 0)
    tied = _lm(tie_weights=True)
    assert tied.embed.weight.abs().max() <= 0.1 and tied.embed.weight.std() > 0.03
