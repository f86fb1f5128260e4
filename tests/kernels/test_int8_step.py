"""The int8 step kernel: the portable path equals the float computation with weights s Q, and
the VNNI path equals it with the activations quantized per vector too (sizes that fill no panel
exactly, several levels); a step split over threads equals it on one, bit for bit; the output
layer run in the same call and the int8 product equal s (Q x) + b."""

import pytest
import torch

from rnnkit.kernels import int8_step
from rnnkit.models.quantized import dequantize_rows, quantize_rows

pytestmark = pytest.mark.skipif(not int8_step.available(), reason="no C compiler")


def _level(inputs, hidden):
    q_ih, s_ih = quantize_rows(torch.randn(4 * hidden, inputs) * 0.3)
    q_hh, s_hh = quantize_rows(torch.randn(4 * hidden, hidden) * 0.3)
    return q_ih, s_ih, q_hh, s_hh, torch.randn(4 * hidden) * 0.1


def _quantized(v):
    scale = v.abs().max() / 127
    return torch.round(v / scale) * scale  # round half to even, as the kernel's lrintf


def _reference(level, x, h, c, vnni):
    q_ih, s_ih, q_hh, s_hh, b = level
    if vnni:
        x, h = _quantized(x), _quantized(h)
    a = dequantize_rows(q_ih, s_ih) @ x + dequantize_rows(q_hh, s_hh) @ h + b
    i, f, g, o = a.chunk(4)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


@pytest.mark.parametrize("vnni", [False, True])
@pytest.mark.parametrize("sizes", [[(7, 20)], [(5, 16), (16, 16), (16, 33)]])
def test_stack_step_matches_reference(sizes, vnni):
    if vnni and not int8_step.has_vnni():
        pytest.skip("no AVX-512 VNNI on this CPU")
    levels = [_level(i, h) for i, h in sizes]
    stack = int8_step.Int8LSTMStack(levels, vnni=vnni)
    assert stack.vnni == vnni
    h = [torch.randn(hs) for _, hs in sizes]
    c = [torch.randn(hs) for _, hs in sizes]
    x = torch.randn(sizes[0][0])
    got_h, got_c = stack.step(x, h, c)
    inp = x
    for k, level in enumerate(levels):
        want_h, want_c = _reference(level, inp, h[k], c[k], vnni)
        torch.testing.assert_close(got_h[k], want_h, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(got_c[k], want_c, atol=1e-5, rtol=1e-5)
        inp = got_h[k]


def test_gemv():
    q, s = quantize_rows(torch.randn(37, 19))
    x, b = torch.randn(19), torch.randn(37)
    want = dequantize_rows(q, s) @ x
    torch.testing.assert_close(int8_step.int8_gemv(q, s, b, x), want + b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(int8_step.int8_gemv(q, s, None, x), want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("vnni", [False, True])
def test_threads_and_decoder(vnni):
    if vnni and not int8_step.has_vnni():
        pytest.skip("no AVX-512 VNNI on this CPU")
    sizes = [(9, 40), (40, 33)]  # 3 panels then 3: one thread gets two, the other one
    levels = [_level(i, h) for i, h in sizes]
    q, s = quantize_rows(torch.randn(11, 33))
    b = torch.randn(11)
    stack = int8_step.Int8LSTMStack(levels, vnni=vnni, decoder=(q, s, b))
    h = [torch.randn(hs) for _, hs in sizes]
    c = [torch.randn(hs) for _, hs in sizes]
    x = torch.randn(9)
    one = stack.step_logits(x, h, c, threads=1)
    for threads in (2, 3):
        split = stack.step_logits(x, h, c, threads=threads)
        for a, b_ in zip([one[0], *one[1], *one[2]], [split[0], *split[1], *split[2]]):
            assert torch.equal(a, b_)
    logits, h_new, _ = one
    torch.testing.assert_close(h_new, stack.step(x, h, c, threads=1)[0], atol=0, rtol=0)
    want = dequantize_rows(q, s) @ h_new[-1] + b
    torch.testing.assert_close(logits, want, atol=1e-5, rtol=1e-5)
