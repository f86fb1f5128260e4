"""On a GPU: every layer gives what it gives on the CPU (outputs, final states, gradients), the
LSTM and GRU run cuDNN, and training, stepping, autocast and save/load work from the GPU.

Skipped where PyTorch sees no GPU (CI has none); the float64 comparisons leave no room for a
different result, the float32 ones allow TF32 products (cuDNN may use them on Ampere and later).
"""

import copy
import warnings

import pytest
import torch

import rnnkit
from tests.harness import assert_states_close, flat

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch sees no GPU")

LENGTHS = [6, 4, 1]
CASES = [
    (rnnkit.LSTM, {}),
    (rnnkit.LSTM, {"proj_size": 3}),
    (rnnkit.LSTM, {"peephole": True}),
    (rnnkit.LSTM, {"layer_norm": True}),
    (rnnkit.LSTM, {"recurrent_activation": "hard_sigmoid"}),
    (rnnkit.GRU, {}),
    (rnnkit.GRU, {"reset_after": False}),
    (rnnkit.RNN, {"activation": "tanh"}),
    (rnnkit.RNN, {"activation": "relu"}),
    (rnnkit.RNN, {"activation": "elu"}),
]
MINIMAL = [(rnnkit.MinGRU, {}), (rnnkit.MinLSTM, {})]
CUDNN = [(rnnkit.LSTM, {}), (rnnkit.GRU, {}), (rnnkit.RNN, {"activation": "tanh"})]


def _ids(cases):
    return [f"{cls.__name__}-{opts}" for cls, opts in cases]


def _outputs_and_grads(layer, x, lengths, weights=None):
    """The layer's outputs and state on x's device, and the gradients of a fixed random
    projection of them w.r.t. x and every parameter, all moved to the CPU."""
    x = x.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    lens = torch.tensor(lengths) if lengths else None
    outs = flat(layer(x, lengths=lens) if lens is not None else layer(x))
    if weights is None:
        gen = torch.Generator().manual_seed(1234)
        weights = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outs]
    loss = sum((o * w.to(o.device)).sum() for o, w in zip(outs, weights))
    loss.backward()
    grads = [x.grad] + [p.grad for p in layer.parameters() if p.grad is not None]
    return [o.detach().cpu() for o in outs], [g.cpu() for g in grads], weights


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize(("cls", "opts"), CASES, ids=_ids(CASES))
def test_layer_on_gpu_equals_cpu_float64(cls, opts, bidirectional, lengths):
    cpu = cls(5, 6, num_layers=2, bidirectional=bidirectional, **opts).double()
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(3, 6, 5, dtype=torch.float64)
    out_c, grads_c, weights = _outputs_and_grads(cpu, x, lengths)
    out_g, grads_g, _ = _outputs_and_grads(gpu, x.cuda(), lengths, weights)
    assert_states_close(out_g, out_c, atol=1e-10, rtol=1e-8)
    assert len(grads_g) == len(grads_c)
    assert_states_close(grads_g, grads_c, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize(("cls", "opts"), MINIMAL, ids=_ids(MINIMAL))
def test_minimal_layers_on_gpu_equal_cpu(cls, opts):
    cpu = cls(5, 6, num_layers=2, **opts).double()
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(3, 7, 5, dtype=torch.float64)
    out_c, grads_c, weights = _outputs_and_grads(cpu, x, None)
    out_g, grads_g, _ = _outputs_and_grads(gpu, x.cuda(), None, weights)
    assert_states_close(out_g, out_c, atol=1e-9, rtol=1e-7)
    assert_states_close(grads_g, grads_c, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize(("cls", "opts"), CUDNN, ids=_ids(CUDNN))
@pytest.mark.parametrize("train", [True, False], ids=["train", "infer"])
def test_standard_layers_run_cudnn_and_match_float32(cls, opts, train):
    cpu = cls(16, 32, num_layers=2, bidirectional=True, **opts).train(train)
    gpu = copy.deepcopy(cpu).cuda()
    x = torch.randn(4, 20, 16)
    with torch.set_grad_enabled(train):
        out_c, state_c = cpu(x)
        out_g, state_g = gpu(x.cuda())
    assert "cuDNN" in gpu.backend.name, gpu.backend
    assert out_g.device.type == "cuda"
    # TF32 products keep about 10 bits of mantissa
    got = [out_g.cpu(), *(t.cpu() for t in flat(state_g))]
    assert_states_close(got, [out_c, *flat(state_c)], atol=5e-3, rtol=5e-3)


FLATTENED = [*CUDNN[:2], (rnnkit.LSTM, {"proj_size": 8})]


@pytest.mark.parametrize(("cls", "opts"), FLATTENED, ids=_ids(FLATTENED))
def test_weights_are_flattened_once_for_cudnn_and_training_keeps_them(cls, opts):
    layer = cls(16, 32, num_layers=2, bidirectional=True, **opts).cuda()
    params = list(layer.parameters())
    optimizer = torch.optim.SGD(params, lr=0.1)
    x = torch.randn(4, 20, 16, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "weights are not part of single contiguous chunk"
        for _ in range(3):
            optimizer.zero_grad()
            layer(x)[0].square().mean().backward()
            optimizer.step()
    assert len({p.untyped_storage().data_ptr() for p in params}) == 1  # one cuDNN buffer
    after = list(layer.parameters())  # the same objects the optimizer updates
    assert len(after) == len(params) and all(a is b for a, b in zip(after, params))
    cpu = copy.deepcopy(layer).cpu()
    with torch.no_grad():
        expected, _ = cpu(x.cpu())
        out, _ = layer(x)
    assert_states_close(out.cpu(), expected, atol=5e-3, rtol=5e-3)


@pytest.mark.parametrize("where", ["cpu", "cuda"])
def test_lengths_may_live_on_either_device(where):
    layer = rnnkit.LSTM(5, 6, bidirectional=True).cuda().eval()
    x = torch.randn(3, 6, 5, device="cuda")
    with torch.no_grad():
        out, _ = layer(x, lengths=torch.tensor(LENGTHS, device=where))
        alone, _ = layer(x[1:2, :4])
    assert_states_close(out[1:2, :4], alone, atol=1e-5)
    assert torch.all(out[2, 1:] == 0)


@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU])
def test_step_by_step_on_gpu_equals_sequence(cls):
    layer = cls(5, 8, num_layers=2).double().cuda().eval()
    x = torch.randn(2, 9, 5, dtype=torch.float64, device="cuda")
    with torch.no_grad():
        full, full_state = layer(x)
        state, outs = None, []
        for t in range(x.shape[1]):
            o, state = layer(x[:, t : t + 1], state)
            outs.append(o)
    assert_states_close(torch.cat(outs, 1), full, atol=1e-10)
    assert_states_close(state, full_state, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_on_gpu_runs_in_half_precision_and_stays_close(dtype):
    layer = rnnkit.LSTM(16, 32).cuda()
    x = torch.randn(4, 12, 16, device="cuda")
    with torch.no_grad():
        expected, _ = layer(x)
        with torch.autocast("cuda", dtype=dtype):
            out, _ = layer(x)
    assert out.dtype == dtype
    tolerance = 1e-1 if dtype == torch.bfloat16 else 3e-2  # 8 and 11 bits of mantissa
    assert_states_close(out.float(), expected, atol=tolerance, rtol=tolerance)


def test_a_model_trained_on_gpu_loads_and_predicts_on_cpu(tmp_path):
    from tests.tiny_runs import tiny_runs

    run = tiny_runs(tmp_path)["classify"]  # the trainer takes the GPU when there is one
    predictor = rnnkit.load(run)
    results = predictor.classify(["the film was great", "a dull plot"])
    assert [r.label in ("pos", "neg") for r in results] == [True, True]
    assert {p.device.type for p in predictor.model.parameters()} == {"cpu"}
