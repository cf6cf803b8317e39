"""Optuna samplers for the conditional GCN space, wrapped in Ray Tune's OptunaSearch.

Facts this module is built around (ray 2.60, optuna 5.1; see docs/ray_optuna.md):

* metric and mode must be given to ``OptunaSearch`` itself (``TuneConfig`` does not reach it);
* the define-by-run function runs in the driver, once per trial: it only calls
  ``suggest_categorical`` for the active choices, with the same value list for a name every time;
* ``NSGAIISampler`` holds a ``threading.Lock`` and cannot be pickled as it is, so Tune fails at
  ``Tuner()``; :class:`PicklableNSGAIISampler` drops the lock when pickled;
* CMA-ES does not handle categorical choices, so it is not offered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from ray.tune.search.optuna import OptunaSearch

from gcn_models.space import SearchSpace


class PicklableNSGAIISampler(optuna.samplers.NSGAIISampler):
    """NSGA-II whose thread lock is dropped when pickled and recreated when unpickled."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_thread_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._thread_lock = threading.Lock()


def _tpe(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.TPESampler(seed=seed)


def _random(seed: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def _nsga2(seed: int) -> optuna.samplers.BaseSampler:
    return PicklableNSGAIISampler(seed=seed)


# Sampler name -> factory(seed). Multi-objective samplers are marked in MULTI_OBJECTIVE.
SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "tpe": _tpe,
    "random": _random,
    "nsga2": _nsga2,
}
MULTI_OBJECTIVE = {"nsga2"}


def create_sampler(name: str, seed: int) -> optuna.samplers.BaseSampler:
    """Build a sampler by name.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    try:
        factory = SAMPLERS[name]
    except KeyError:
        raise ValueError(
            f"unknown sampler `{name}`; choose one of: {', '.join(sorted(SAMPLERS))}"
        ) from None
    return factory(seed)


@dataclass(frozen=True)
class SpaceFunction:
    """Picklable define-by-run space: suggests the active choices of a :class:`SearchSpace`.

    Inactive choices are never suggested, so Optuna does not spend its model on inert values.
    Returns ``None``: the suggested values are the configuration, canonicalised in the trial.
    """

    space: SearchSpace

    def __call__(self, trial: optuna.Trial) -> None:
        """Suggest the active choices on `trial` (Tune records the suggested values)."""
        self.space.suggest(trial)
        return None


def enqueue_point(space: SearchSpace, arch: Mapping[str, Any]) -> dict[str, Any]:
    """The values Optuna should replay for `arch`: its active choices only."""
    canonical = space.canonical(arch)
    return {name: value for name, value in canonical.items() if value is not None}


def create_searcher(
    space: SearchSpace,
    *,
    sampler: str,
    seed: int,
    metric: str | Sequence[str],
    mode: str | Sequence[str],
    points_to_evaluate: Sequence[Mapping[str, Any]] = (),
) -> OptunaSearch:
    """OptunaSearch over `space` with the chosen sampler.

    Args:
        space: The search space.
        sampler: A key of :data:`SAMPLERS`.
        seed: Sampler seed.
        metric: Metric name, or a list for multi-objective samplers.
        mode: ``"max"``/``"min"``, or a list matching `metric`.
        points_to_evaluate: Architectures to try first (warm-up winners).

    Raises:
        ValueError: If a multi-objective sampler gets one metric or vice versa.
    """
    multi = not isinstance(metric, str)
    if (sampler in MULTI_OBJECTIVE) != multi:
        needs = "several metrics" if sampler in MULTI_OBJECTIVE else "one metric"
        raise ValueError(
            f"sampler `{sampler}` needs {needs} (got {metric!r}); NSGA-II is "
            "multi-objective, TPE and random take one metric"
        )
    return OptunaSearch(
        space=SpaceFunction(space),
        metric=list(metric) if multi else metric,
        mode=list(mode) if multi else mode,
        sampler=create_sampler(sampler, seed),
        points_to_evaluate=[enqueue_point(space, p) for p in points_to_evaluate] or None,
    )
