"""Zero-cost proxies for GCN architecture search.

Public API (imported lazily, so ``import zero_cost.cli`` and ``zcnas --help`` stay light)::

    from zero_cost import compute_proxies, select_scoring_batch, list_proxies
    batch = select_scoring_batch(X, y, size=32, seed=0)
    result = compute_proxies(model, batch, names=None, seed=0)
    result.to_row()

See :mod:`zero_cost.api` for the scoring run, :mod:`zero_cost.context` for how time of shared
passes is attributed, :mod:`zero_cost.layers` for the layer sets, :mod:`zero_cost.vote` for the
population-level majority vote, and one module per proxy under :mod:`zero_cost.proxies`.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "compute_proxies": "zero_cost.api",
    "ProxyResult": "zero_cost.api",
    "ProxyOutcome": "zero_cost.api",
    "BaseProxy": "zero_cost.base",
    "ProxyValue": "zero_cost.base",
    "ScoringContext": "zero_cost.context",
    "ProxyWarning": "zero_cost.exceptions",
    "ScoringBatchWarning": "zero_cost.exceptions",
    "UndefinedScoreError": "zero_cost.exceptions",
    "LayerSet": "zero_cost.layers",
    "register_proxy": "zero_cost.registry",
    "create_proxy": "zero_cost.registry",
    "list_proxies": "zero_cost.registry",
    "get_proxy_class": "zero_cost.registry",
    "select_scoring_batch": "zero_cost.batch",
    "vote_copeland": "zero_cost.vote",
    "vote_pairwise_accuracy": "zero_cost.vote",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'zero_cost' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
