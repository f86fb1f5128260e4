"""Data-parallel training on 2 CPU processes (gloo), as torchrun launches it."""

import socket

import torch
import torch.multiprocessing as mp

from rnnkit.training import Trainer, TrainerConfig
from tests.training.toy import ToyStream, toy_model


class RowStream(ToyStream):
    """Fixed rows: lets one process and two ranks see exactly the same rows in total."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, bptt: int) -> None:
        self.x, self.y, self.bptt, self.pos, self.epochs_seen = x, y, bptt, 0, []


def _data():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(8, (4, 41), generator=g)
    return ids[:, :-1], ids[:, 1:]


CFG = dict(max_steps=6, optimizer="sgd", lr=0.5, progress=False, log_every=100, seed=0)


def _worker(rank: int, port: int, out: str) -> None:
    import os

    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE="2",
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    x, y = _data()
    rows = slice(2 * rank, 2 * rank + 2)  # each rank: its own half of the batch
    trainer = Trainer(
        toy_model(dropout=0.0), RowStream(x[rows], y[rows], 10), TrainerConfig(**CFG), device="cpu"
    )
    trainer.fit()
    torch.save(
        {k: v.clone() for k, v in trainer.model.state_dict().items()}, f"{out}/rank{rank}.pt"
    )
    torch.distributed.barrier()  # both ranks have written their weights
    # leave without gloo's teardown: in the full suite one rank sometimes waited forever in it
    # after the other (the store's host) had exited; the weights are all this test checks
    os._exit(0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ranks_equal_one_process_on_the_whole_batch(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=2, join=True)
    w0 = torch.load(tmp_path / "rank0.pt")
    w1 = torch.load(tmp_path / "rank1.pt")
    x, y = _data()
    single = Trainer(
        toy_model(dropout=0.0), RowStream(x, y, 10), TrainerConfig(**CFG), device="cpu"
    )
    single.fit()
    for name, value in single.model.state_dict().items():
        assert torch.equal(w0[name], w1[name]), f"ranks disagree on {name}"
        torch.testing.assert_close(w0[name], value, atol=1e-5, rtol=1e-4, msg=name)
    start = toy_model(dropout=0.0).state_dict()
    assert any(not torch.equal(start[k], w0[k]) for k in start)  # it did train


def test_shard_gives_each_rank_an_equal_contiguous_share(monkeypatch):
    from rnnkit.training import distributed

    ids = torch.arange(103)
    monkeypatch.setattr(distributed, "world_size", lambda: 4)
    parts = []
    for r in range(4):
        monkeypatch.setattr(distributed, "rank", lambda r=r: r)
        parts.append(distributed.shard(ids))
    assert [p.numel() for p in parts] == [25] * 4  # equal: ranks step in lockstep
    assert torch.equal(torch.cat(parts), ids[:100])
