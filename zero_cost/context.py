"""The scoring context: one model and batch, the passes proxies share, and who pays for them.

A proxy asks the context for what it needs (``ctx.train_forward()``, ``ctx.loss_gradients()``,
``ctx.input_jacobian()``, ``ctx.working_copy("eval")``); the first request computes the pass,
later requests reuse it (see :mod:`zero_cost.passes`). The context times everything:

* a proxy's *own* time is its wall time minus the time spent computing shared passes inside it;
* a shared pass's time (its own, without passes nested in it) is split **equally** among all
  proxies that used it, directly or through another pass;
* ``zc_<name>_s`` = own time + its shares. The shares add up, so the ``zc_*_s`` of one run sum
  to the time spent computing proxies (input checks excluded).

A shared pass is released (its tensors and autograd graph freed) as soon as the last requested
proxy that declares it in ``BaseProxy.passes`` has run; a later, undeclared request recomputes
it. For example grad_norm, snip, plain and fisher scored together each get a quarter of the one
forward and of the one backward they share, plus their own (small) reduction time. Add
jacob_cov and epe_nas, and the forward is split six ways while the input-gradient backward is
split between those two.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import nn

from zero_cost.layers import LayerSet
from zero_cost.model_io import working_copy
from zero_cost.passes import (
    LossGradients,
    TrainForward,
    compute_input_jacobian,
    compute_loss_gradients,
    compute_train_forward,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Frame:
    key: str
    is_pass: bool
    nested_seconds: float = 0.0


@dataclass
class _SharedEntry:
    value: Any = None
    error: BaseException | None = None
    seconds: float = 0.0
    building: bool = True
    released: bool = False
    users: set[str] = field(default_factory=set)
    depends_on: set[str] = field(default_factory=set)


class ScoringContext:
    """What one :func:`~zero_cost.api.compute_proxies` call shares between proxies.

    Attributes:
        model: The caller's model. Read it, never modify it; use :meth:`working_copy`.
        x: Scoring inputs, shape (N, C, T, V) (any (N, ...) shape the model accepts), on the
            device every pass runs on.
        y: Labels, shape (N,), int64, same device.
        extra_batch: Optional second, disjoint batch ``(x2, y2)`` (zico).
        layers: The parameters per-weight proxies sum over.
        seed: Seed for proxies that draw random numbers (use :meth:`generator`).
        num_classes: Number of logits the model returns.
        captures: What the shared passes record beyond their results, as declared by the
            requested proxies (``BaseProxy.captures``): ``layer_outputs`` (fisher),
            ``loss_graph`` (grasp), ``activation_kernel`` (nwot).
    """

    def __init__(
        self,
        model: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        layers: LayerSet,
        seed: int,
        num_classes: int,
        extra_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
        captures: frozenset[str] = frozenset(),
    ) -> None:
        self.model = model
        self.x = x
        self.y = y
        self.extra_batch = extra_batch
        self.layers = layers
        self.seed = seed
        self.num_classes = num_classes
        self.captures = captures
        self._entries: dict[str, _SharedEntry] = {}
        self._frames: list[_Frame] = []
        self._proxy: str | None = None
        self._own_seconds: dict[str, float] = {}
        self._pending_users: Counter[str] = Counter()

    @property
    def device(self) -> torch.device:
        """The device every pass runs on: the batch's device."""
        return self.x.device

    def generator(self, offset: int = 0) -> torch.Generator:
        """A CPU random generator seeded with ``seed + offset``; the global RNG stays untouched."""
        return torch.Generator(device="cpu").manual_seed(self.seed + offset)

    # --- shared passes -------------------------------------------------------------------

    def working_copy(self, policy: str) -> nn.Module:
        """The shared deep copy of the model under a mode policy (see :mod:`zero_cost.model_io`).

        Proxies may run it (BatchNorm running statistics of a ``train`` copy change, which no
        train-mode forward reads) but must not change its parameters; use
        :meth:`private_copy` for that.
        """
        return self.shared(f"copy:{policy}", lambda: working_copy(self.model, self.device, policy))

    def private_copy(self, policy: str) -> nn.Module:
        """A fresh deep copy the calling proxy may modify (re-initialise, make absolute)."""
        return working_copy(self.model, self.device, policy)

    def train_forward(self) -> TrainForward:
        """The shared forward of the scoring batch (see :func:`compute_train_forward`)."""
        return self.shared("train_forward", lambda: compute_train_forward(self))

    def loss_gradients(self) -> LossGradients:
        """The shared cross-entropy backward pass (see :func:`compute_loss_gradients`)."""
        return self.shared("loss_gradients", lambda: compute_loss_gradients(self))

    def input_jacobian(self) -> torch.Tensor:
        """The shared input gradient of the summed logits, shape (N, D), float64."""
        return self.shared("input_jacobian", lambda: compute_input_jacobian(self))

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """Return the shared value ``key``, computing it with ``build`` on first request.

        A pass that raised raises the same error for every later user.
        """
        if self._frames and self._frames[-1].is_pass:
            self._entries[self._frames[-1].key].depends_on.add(key)
        entry = self._entries.get(key)
        if entry is None or entry.released:
            if entry is None:
                entry = self._entries[key] = _SharedEntry()
            else:
                logger.warning(
                    "shared pass `%s` was requested after its declared users had run; "
                    "recomputing it (declare it in the proxy's `passes`)",
                    key,
                )
                entry.released, entry.building, entry.error = False, True, None
            frame = _Frame(key, is_pass=True)
            self._frames.append(frame)
            start = self.clock()
            try:
                entry.value = build()
            except Exception as exc:  # noqa: BLE001 - stored and re-raised to every user
                entry.error = exc
            finally:
                elapsed = self.clock() - start
                self._frames.pop()
                entry.seconds += elapsed - frame.nested_seconds
                entry.building = False
                if self._frames:
                    self._frames[-1].nested_seconds += elapsed
        elif entry.building:
            raise RuntimeError(f"shared pass `{key}` requested itself while being built")
        if self._proxy is not None:
            self._add_user(key, self._proxy)
        if entry.error is not None:
            raise entry.error
        return entry.value

    def expect(self, passes: Iterable[str]) -> None:
        """Announce the shared passes a proxy that will run declares (one call per proxy)."""
        self._pending_users.update(passes)

    def pending(self, key: str) -> int:
        """How many proxies still to run declare pass ``key``."""
        return max(self._pending_users[key], 0)

    def will_need(self, key: str) -> bool:
        """Whether a proxy still to run declares pass ``key`` and it is not computed yet.

        Passes use it to keep an autograd graph only while another pass still needs it.
        """
        entry = self._entries.get(key)
        computed = entry is not None and not entry.released and not entry.building
        return self._pending_users[key] > 0 and not computed

    def done_with(self, passes: Iterable[str]) -> None:
        """A proxy that declared ``passes`` has run: release passes no pending proxy needs."""
        for key in passes:
            self._pending_users[key] -= 1
            entry = self._entries.get(key)
            if self._pending_users[key] <= 0 and entry is not None and not entry.building:
                entry.value = None
                entry.released = True

    def _add_user(self, key: str, proxy: str) -> None:
        entry = self._entries[key]
        if proxy in entry.users:
            return
        entry.users.add(proxy)
        for dependency in entry.depends_on:
            self._add_user(dependency, proxy)

    # --- timing --------------------------------------------------------------------------

    def run_proxy(self, name: str, compute: Callable[[], T]) -> T:
        """Run one proxy's computation, recording its own time (shared passes excluded)."""
        self._proxy = name
        frame = _Frame(name, is_pass=False)
        self._frames.append(frame)
        start = self.clock()
        try:
            return compute()
        finally:
            elapsed = self.clock() - start
            self._frames.pop()
            self._own_seconds[name] = elapsed - frame.nested_seconds
            self._proxy = None

    def attributed_seconds(self, name: str) -> float:
        """Seconds charged to proxy ``name``: its own time plus equal shares of shared passes."""
        seconds = self._own_seconds.get(name, 0.0)
        for entry in self._entries.values():
            if name in entry.users:
                seconds += entry.seconds / len(entry.users)
        return seconds

    def clock(self) -> float:
        """``time.perf_counter()`` after waiting for queued CUDA work on the batch's device."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()
