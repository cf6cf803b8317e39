"""The single entry point: score one model on one batch with a set of proxies.

    >>> res = compute_proxies(model, (x, y), names=["snip", "synflow"], seed=0)
    >>> res["snip"].score, res["snip"].seconds, res["snip"].status
    >>> res.to_row()   # {"zc_snip": ..., "zc_snip_s": ..., "zc_snip_status": "ok", ...}

Checks made before any proxy runs (each failure is a ``ValueError`` naming the problem): a known
proxy name, a model with parameters, a layer set that selects some of them, a batch ``(x, y)``
with N >= 2 finite samples that the model accepts (probed with a forward of two samples on a
working copy), logits of shape (N, classes) and labels in ``0..classes-1``.

Then each proxy runs in turn. A proxy that raises gets status ``failed`` (score NaN, the error
text kept) and does not stop the others; a NaN/inf score, or a proxy that declares its score
undefined, gets status ``nan`` (score NaN). Both emit a :class:`~zero_cost.ProxyWarning`.
``seconds`` follows the attribution rule of :mod:`zero_cost.context`.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from zero_cost.base import BaseProxy, ProxyValue
from zero_cost.context import ScoringContext
from zero_cost.exceptions import ProxyWarning, UndefinedScoreError
from zero_cost.layers import LayerSet, resolve_layer_set
from zero_cost.model_io import logits_of
from zero_cost.registry import create_proxy, list_proxies

logger = logging.getLogger(__name__)

STATUSES = ("ok", "nan", "failed")


@dataclass(frozen=True)
class ProxyOutcome:
    """One proxy's result.

    Attributes:
        name: Proxy name.
        score: The score; NaN unless ``status`` is ``ok``.
        seconds: Wall time charged to the proxy (own time plus shares of shared passes).
        status: ``ok``, ``nan`` (undefined or non-finite score) or ``failed`` (it raised).
        error: Why the score is missing (status ``nan`` or ``failed``), else ``None``.
        extras: Auxiliary values (e.g. ``{"log": ...}`` for synflow), NaN when undefined.
    """

    name: str
    score: float
    seconds: float
    status: str
    error: str | None = None
    extras: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ProxyResult:
    """All proxies' results for one model and batch.

    Attributes:
        outcomes: Per-proxy results, in the order the proxies ran.
        total_seconds: Wall time of the whole :func:`compute_proxies` call, input checks
            included (seconds).
    """

    outcomes: Mapping[str, ProxyOutcome]
    total_seconds: float

    def __getitem__(self, name: str) -> ProxyOutcome:
        try:
            return self.outcomes[name]
        except KeyError:
            raise KeyError(
                f"proxy `{name}` was not computed; computed: {', '.join(self.outcomes)}"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    @property
    def names(self) -> list[str]:
        """Names of the computed proxies."""
        return list(self.outcomes)

    @property
    def scores(self) -> dict[str, float]:
        """Proxy name -> score (NaN when undefined or failed)."""
        return {n: o.score for n, o in self.outcomes.items()}

    @property
    def seconds(self) -> dict[str, float]:
        """Proxy name -> seconds charged."""
        return {n: o.seconds for n, o in self.outcomes.items()}

    @property
    def statuses(self) -> dict[str, str]:
        """Proxy name -> ``ok`` / ``nan`` / ``failed``."""
        return {n: o.status for n, o in self.outcomes.items()}

    @property
    def errors(self) -> dict[str, str]:
        """Proxy name -> error text, for proxies without a score."""
        return {n: o.error for n, o in self.outcomes.items() if o.error is not None}

    def to_row(self) -> dict[str, float | str]:
        """The result as flat columns of the results schema.

        Returns:
            ``zc_<name>``, ``zc_<name>_s`` and ``zc_<name>_status`` per proxy, plus auxiliary
            ``zc_<name>_<extra>`` columns (no status column of their own).
        """
        row: dict[str, float | str] = {}
        for name, outcome in self.outcomes.items():
            row[f"zc_{name}"] = outcome.score
            row[f"zc_{name}_s"] = outcome.seconds
            row[f"zc_{name}_status"] = outcome.status
            for suffix, value in outcome.extras.items():
                row[f"zc_{name}_{suffix}"] = value
        return row


def resolve_proxies(names: Sequence[str | BaseProxy] | str | None) -> list[BaseProxy]:
    """Proxy instances for a ``names`` argument of :func:`compute_proxies`.

    Raises:
        ValueError: For an unknown name, an empty selection or a name given twice.
    """
    if names is None:
        return [create_proxy(name) for name in list_proxies()]
    if isinstance(names, str):
        names = [part.strip() for part in names.split(",") if part.strip()]
    proxies = [n if isinstance(n, BaseProxy) else create_proxy(n) for n in names]
    if not proxies:
        raise ValueError(f"no proxy requested; valid proxies: {', '.join(list_proxies())}")
    seen: set[str] = set()
    for proxy in proxies:
        if proxy.name in seen:
            raise ValueError(f"proxy `{proxy.name}` is requested twice")
        seen.add(proxy.name)
    return proxies


def _as_batch(batch: object, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise ValueError(f"`{what}` must be a tuple (x, y) of tensors, got {type(batch).__name__}")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"`{what}` x must be a floating-point tensor (N, C, T, V)")
    if x.dim() < 2 or x.shape[0] < 2:
        raise ValueError(
            f"`{what}` x must have shape (N, ...) with N >= 2 (BatchNorm in train mode and "
            f"correlations need two samples), got {tuple(x.shape)}"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"`{what}` x contains NaN or infinite values")
    if not isinstance(y, torch.Tensor) or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"`{what}` y must be an integer tensor of class labels (N,)")
    if y.shape != (x.shape[0],):
        raise ValueError(
            f"`{what}` y must have shape ({x.shape[0]},) to match x {tuple(x.shape)}, "
            f"got {tuple(y.shape)}"
        )
    return x, y.to(device=x.device, dtype=torch.long)


def _probe_num_classes(ctx: ScoringContext, policy: str) -> int:
    """Run two samples through a shared working copy; return the number of logits.

    The copy is the ``eval`` one when a requested proxy needs it anyway, else the ``train``
    one (whose running statistics no train-mode pass reads), so no extra copy is made.
    """
    x = ctx.x
    probe = ctx.working_copy(policy)
    try:
        with torch.no_grad():
            logits = logits_of(probe(x[:2]))
    except (RuntimeError, TypeError, ValueError, IndexError) as exc:
        raise ValueError(
            f"the batch x of shape {tuple(x.shape)} does not fit the model: {exc}"
        ) from exc
    if logits.dim() != 2 or logits.shape[0] != 2:
        raise ValueError(
            "the model must return logits of shape (N, classes) for x of shape "
            f"(N, ...); for N = 2 it returned shape {tuple(logits.shape)}"
        )
    return int(logits.shape[1])


def _check_labels(y: torch.Tensor, num_classes: int, what: str) -> None:
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"`{what}` labels must lie in 0..{num_classes - 1} (the model has {num_classes} "
            f"logits), got values in {low}..{high}"
        )


def _finite_or_nan(value: float) -> float:
    return value if math.isfinite(value) else math.nan


def _run_one(proxy: BaseProxy, ctx: ScoringContext) -> tuple[float, str, str | None, dict]:
    extras = {suffix: math.nan for suffix in proxy.extras}
    try:
        value = ctx.run_proxy(proxy.name, lambda: proxy.score(ctx))
    except UndefinedScoreError as exc:
        return math.nan, "nan", str(exc), extras
    except Exception as exc:  # noqa: BLE001 - one failing proxy must not stop the others
        # TODO(zcnas): on CUDA out-of-memory, retry with micro-batches and rescale by the
        # number of splits (the reference splits without rescaling, zero_cost_proxies.md §1.6).
        logger.debug("proxy %s failed on x %s", proxy.name, tuple(ctx.x.shape), exc_info=True)
        return math.nan, "failed", f"{type(exc).__name__}: {exc}", extras
    if isinstance(value, ProxyValue):
        extras.update({k: _finite_or_nan(float(v)) for k, v in value.extras.items()})
        value = value.score
    score = float(value)
    if not math.isfinite(score):
        return math.nan, "nan", f"{proxy.name} is {score}", extras
    return score, "ok", None, extras


def compute_proxies(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    names: Sequence[str | BaseProxy] | str | None = None,
    seed: int = 0,
    *,
    layers: str | LayerSet = "default",
    extra_batch: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> ProxyResult:
    """Score an untrained model on one batch with zero-cost proxies.

    The model is never modified (proxies use deep copies); everything runs on the batch's
    device (CPU or CUDA), with gradients enabled where a proxy needs them even inside a
    caller's ``torch.no_grad()``. The same model, batch and seed give the same scores on the
    same device.

    Args:
        model: Network mapping x (N, C, T, V) to logits (N, classes) or to a tuple
            ``(logits, features)``.
        batch: ``(x, y)``: x float (N, C, T, V), N >= 2; y int64 (N,) labels. Use
            :func:`~zero_cost.select_scoring_batch` to build it.
        names: Proxies to compute: registry names, :class:`BaseProxy` instances (for proxy
            options, e.g. ``create_proxy("zen", repeats=8)``) or a comma-separated string.
            ``None`` computes every registered proxy.
        seed: Seed of proxies that draw random numbers (zen).
        layers: Layer set of the per-weight proxies: ``default`` (Conv1d/Conv2d/Linear
            weights), ``reference`` (Conv2d/Linear weights, as zero-cost-nas), ``all``, or a
            :class:`~zero_cost.layers.LayerSet`.
        extra_batch: A second batch ``(x2, y2)``, disjoint from ``batch``, for zico; without
            it zico splits ``batch`` into two stratified halves.

    Returns:
        A :class:`ProxyResult`.

    Raises:
        ValueError: For an unknown proxy or layer set, a model without parameters (or none in
            the layer set), a malformed batch, a batch the model cannot run, or labels out of
            range. Problems of a single proxy never raise; they are recorded in its status.

    Warns:
        ProxyWarning: For each proxy whose status is ``nan`` or ``failed``.
    """
    start = time.perf_counter()
    proxies = resolve_proxies(names)
    layer_set = resolve_layer_set(layers)
    if not isinstance(model, nn.Module):
        raise ValueError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    if next(model.parameters(), None) is None:
        raise ValueError("the model has no parameters; zero-cost proxies score weights")
    if not layer_set.select(model):
        raise ValueError(
            f"layer set `{layer_set.name}` selects no parameter of this model (it has no "
            f"{', '.join(t.__name__ for t in layer_set.module_types)} weights); "
            "use layers='all' or a custom LayerSet"
        )
    x, y = _as_batch(batch, "batch")
    extra = None
    if extra_batch is not None:
        extra = _as_batch(extra_batch, "extra_batch")
        extra = (extra[0].to(x.device), extra[1].to(x.device))
    ctx = ScoringContext(
        model,
        x,
        y,
        layers=layer_set,
        seed=seed,
        num_classes=0,
        extra_batch=extra,
        captures=frozenset().union(*(p.captures for p in proxies)),
    )
    probe_policy = "eval" if any(p.mode == "eval" for p in proxies) else "train"
    ctx.num_classes = _probe_num_classes(ctx, probe_policy)
    _check_labels(y, ctx.num_classes, "batch")
    if extra is not None:
        _check_labels(extra[1], ctx.num_classes, "extra_batch")

    raw = {}
    for proxy in proxies:
        ctx.expect(proxy.passes)
    with torch.enable_grad():
        for proxy in proxies:
            raw[proxy.name] = _run_one(proxy, ctx)
            ctx.done_with(proxy.passes)
    outcomes = {}
    for proxy in proxies:
        score, status, error, extras = raw[proxy.name]
        if status != "ok":
            warnings.warn(
                f"proxy `{proxy.name}` has no score ({status}): {error}",
                ProxyWarning,
                stacklevel=2,
            )
        outcomes[proxy.name] = ProxyOutcome(
            name=proxy.name,
            score=score,
            seconds=ctx.attributed_seconds(proxy.name),
            status=status,
            error=error,
            extras=extras,
        )
    return ProxyResult(outcomes=outcomes, total_seconds=ctx.clock() - start)
