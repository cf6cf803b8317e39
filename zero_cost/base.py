"""The proxy interface: what every zero-cost proxy declares and implements.

Lifecycle: :func:`~zero_cost.api.compute_proxies` checks the model and batch once, builds one
:class:`~zero_cost.context.ScoringContext`, then calls :meth:`BaseProxy.score` of each requested
proxy inside the context's timer. A proxy reads what it needs from the context (shared passes,
working copies, the seed) and returns a float (or a :class:`ProxyValue` with auxiliary values).
It never modifies ``ctx.model``. The runner turns a NaN/inf result into status ``nan`` and an
exception into status ``failed``; proxies do not catch their own errors.

Every registered proxy passes the contract suite in ``tests/test_proxies_contract.py``:
finite or flagged, deterministic under a seed, model unchanged, runs on CPU.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from zero_cost.context import ScoringContext


@dataclass(frozen=True)
class ProxyValue:
    """A proxy score with auxiliary values.

    Attributes:
        score: The score (NaN when undefined).
        extras: Auxiliary values keyed by the suffixes the proxy declares in ``extras``; stored
            as ``zc_<proxy>_<suffix>`` columns without a status column.
    """

    score: float
    extras: Mapping[str, float] = field(default_factory=dict)


class BaseProxy(abc.ABC):
    """A zero-cost proxy: a number computed from an untrained network and one batch.

    Class attributes (declarations, read by the runner and the documentation):
        name: Registry name, also the ``zc_<name>`` column suffix.
        mode: Mode policy of the model copy the proxy runs (``train``: BN batch statistics,
            dropout off; ``eval``; ``bypass``: BN replaced by the identity; ``none``: no pass).
        passes: Shared passes the proxy uses (``train_forward``, ``loss_gradients``,
            ``input_jacobian``).
        captures: What the shared passes must record for it (``layer_outputs``,
            ``loss_graph``, ``activation_kernel``; see :mod:`zero_cost.passes`).
        extras: Suffixes of auxiliary values the proxy returns in a :class:`ProxyValue`.
        higher_is_better: The orientation the reference code assumes (``None``: not fixed).
        uses_labels: Whether the labels enter the score.
    """

    name: ClassVar[str]
    mode: ClassVar[str] = "train"
    passes: ClassVar[tuple[str, ...]] = ()
    captures: ClassVar[frozenset[str]] = frozenset()
    extras: ClassVar[tuple[str, ...]] = ()
    higher_is_better: ClassVar[bool | None] = True
    uses_labels: ClassVar[bool] = False

    @abc.abstractmethod
    def score(self, ctx: ScoringContext) -> float | ProxyValue:
        """Compute the proxy for ``ctx.model`` on ``ctx``'s batch.

        Returns:
            The score (a float; NaN or inf are flagged by the runner), or a
            :class:`ProxyValue` with auxiliary values.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
