"""The loss of a model over evaluation data: what ``Trainer.evaluate`` and the task evaluations
(``evaluate_lm``, ``evaluate_bilm``) all run.

With ``model.forward_loss(batch) -> (mean loss of the batch, n items)``, the evaluation sums

    total = sum_b loss_b * n_b,   items = sum_b n_b,   mean loss = total / items

in eval mode, after the model's ``start_evaluation()`` hook (which resets the state carried
between windows for truncated BPTT), without gradients.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

__all__ = ["evaluate_loss", "model_device", "summed_loss", "to_device"]


@torch.no_grad()
def summed_loss(
    model: Any, data: Iterable[Any], device: torch.device | None = None
) -> tuple[float, int]:
    """``(total loss, items)`` of ``model.forward_loss`` over ``data`` in the model's current
    mode (``evaluate_loss`` sets eval mode first)."""
    total, count = 0.0, 0
    for batch in data:
        loss, n_items = model.forward_loss(batch if device is None else to_device(batch, device))
        total += loss.item() * n_items
        count += n_items
    return total, count


def evaluate_loss(
    model: nn.Module, data: Iterable[Any], device: torch.device | None = None
) -> tuple[float, int]:
    """``(total loss, items)`` over ``data`` in eval mode, after ``start_evaluation()``; the
    model's mode is restored afterwards.

    Args:
        model: a module with ``forward_loss(batch) -> (mean loss, n_items)``.
        data: an iterable of batches.
        device: where batches are moved first (None: as they come).

    Raises:
        ValueError: when ``data`` yields no items (nothing to average).

    Example:
        >>> total, items = evaluate_loss(lm, EvalWindows(stream))
        >>> perplexity(total / items)  # doctest: +SKIP
    """
    was_training = model.training
    model.eval()
    start = getattr(model, "start_evaluation", None)
    if start is not None:
        start()
    try:
        total, count = summed_loss(model, data, device)
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluation: the evaluation data yielded no batches (is it empty?)")
    return total, count


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (its first parameter's device; the CPU without any).
    Prediction code moves each batch there, so a model trained on a GPU scores its validation
    data, and predicts, where it is."""
    param = next(model.parameters(), None)
    return torch.device("cpu") if param is None else param.device


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` (a tensor, or tuples, lists and dicts of them) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch
