"""Language-model metrics from cross-entropy losses in nats.

    perplexity = exp(mean loss per token)
    bits per character = total loss / (characters * ln 2)

Bits per character divides by characters, not tokens, so models with different tokenizers
(characters, words, BPE) compare on the same text.
"""

from __future__ import annotations

import math

_MAX_EXPONENT = 700.0  # exp(709.8) overflows a float64


def perplexity(mean_loss: float) -> float:
    """exp(mean cross-entropy in nats per token), capped at exp(700) to stay finite.

    Example:
        >>> perplexity(0.0), round(perplexity(math.log(50.0)), 6)
        (1.0, 50.0)
    """
    return math.exp(min(mean_loss, _MAX_EXPONENT))


def bits_per_character(total_loss_nats: float, characters: float) -> float:
    """Total cross-entropy in nats over a text -> bits per character of that text.

    Args:
        total_loss_nats: the summed loss over every predicted token of the text.
        characters: the number of characters of that text (> 0; a pro-rata share of a text
            may be fractional).

    Example:
        >>> bits_per_character(10 * math.log(2), 5)
        2.0
    """
    if characters <= 0:
        raise ValueError(f"bits_per_character: characters must be > 0, got {characters}")
    return total_loss_nats / (characters * math.log(2))
