"""Cell tests use tiny tensors: run them on one intra-op thread.

On a busy machine, ops that always open an OpenMP parallel region (``F.layer_norm`` on CPU does,
whatever the size) can stall for a scheduler quantum per call; gradcheck makes thousands of calls.
The previous thread count is restored after each test.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
