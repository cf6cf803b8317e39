"""Summation helper shared by the per-weight proxies."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def total(values: Iterable[torch.Tensor]) -> float:
    """Sum of scalar tensors, accumulated in float64 on their device; 0.0 for none.

    One host synchronisation for the whole sum instead of one per layer.
    """
    terms = [v.to(torch.float64).reshape(()) for v in values]
    if not terms:
        return 0.0
    return float(torch.stack(terms).sum())
