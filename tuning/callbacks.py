"""Driver-side Ray Tune callbacks: the row guard, the progress line and the Optuna mirror.

Callbacks run in the driver and are pickled with the experiment; they hold only plain settings
and create their connections lazily.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from datetime import datetime, timezone
from typing import Any

from ray import tune
from ray.tune.progress_reporter import TrialProgressCallback

from tuning.results import ResultStore
from tuning.schema import results_schema, row_to_table

logger = logging.getLogger(__name__)


class RowGuard(tune.Callback):
    """Make sure every trial that ends has exactly one finished row.

    The trial writes its own row; this covers the cases where it could not: a worker that died
    (error after the retries), or a trial a scheduler stopped between two epochs (its last
    per-epoch row gets its ``finished_at``).
    """

    def __init__(self, context: Any) -> None:
        self._study = context.study
        self._storage = context.storage
        self._choices = tuple(context.space.choices)
        self._proxies = tuple(context.proxy_names)
        self._dataset = context.dataset_name

    def _store(self) -> ResultStore:
        return ResultStore(self._storage, self._study)

    def _finish(self, trial: Any, error: str | None) -> None:
        store = self._store()
        row = store.read_row(trial.trial_id)
        now = datetime.now(timezone.utc)
        if row is not None and row.get("finished_at") is not None:
            return
        if row is None:
            row = {
                "study": self._study,
                "trial_id": trial.trial_id,
                "phase": str(trial.config.get("phase", "search")),
                "arch_key": None,
                "status": "failed",
                "error": error or "trial ended before writing its row",
                "dataset": self._dataset,
                "started_at": now,
            }
        elif error is not None:
            row["status"] = "failed"
            row["error"] = error
        row["finished_at"] = now
        schema = results_schema(self._choices, self._proxies, extra=row)
        store.write_row(trial.trial_id, row_to_table(row, schema))

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        """Close rows of trials this experiment does not know (interrupted before a restore).

        A driver killed hard loses the trials it started after its last snapshot; a restore
        does not resume them, so their rows would stay unfinished. They are recorded once, as
        failed, with the reason.
        """
        known = {t.trial_id for t in trials}
        phases = {str(t.config.get("phase", "search")) for t in trials} or {"search"}
        store = self._store()
        rows = store.read_rows()
        if rows.empty or "finished_at" not in rows:
            return
        stale = rows[rows["finished_at"].isna() & ~rows["trial_id"].isin(known)]
        stale = stale[stale["phase"].isin(phases)]
        for trial_id in stale["trial_id"]:
            row = store.read_row(trial_id)
            if row is None:
                continue
            row["status"] = "failed"
            row["error"] = (
                "interrupted: the driver stopped while this trial ran, and the restored "
                "experiment did not know the trial (it started after the last snapshot)"
            )
            row["finished_at"] = datetime.now(timezone.utc)
            schema = results_schema(self._choices, self._proxies, extra=row)
            store.write_row(trial_id, row_to_table(row, schema))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial ended normally or was stopped by a scheduler."""
        self._finish(trial, None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial errored after its retries (lost worker, crash outside the trial body)."""
        message = getattr(trial, "error_message", None) or "trial errored in Ray"
        self._finish(trial, f"ray trial error: {message}")


class QuietTrialProgress(TrialProgressCallback):
    """Tune's classic per-trial printer, silenced; :class:`ProgressLine` reports instead.

    With the classic console output (``RAY_AIR_NEW_OUTPUT=0``) Tune adds this printer unless
    one is passed in, and it prints ``Trial ... completed. Last result:`` for every trial that
    ends without a report whatever ``verbose`` says (ray 2.60). Passing a silent one keeps the
    console to the study's own line.
    """

    def _print(self, msg: str) -> None:
        logger.debug("tune: %s", msg)


class ProgressLine(tune.Callback):
    """A live status line on stderr: done/running/failed, best AUC so far and ETA.

    Args:
        storage: Results root.
        study: Study name.
        total: Trials planned in this phase.
        phase: Phase name shown in the line.
        every_s: Seconds between updates.
    """

    def __init__(
        self, storage: str, study: str, total: int, phase: str, every_s: float = 5.0
    ) -> None:
        self._storage, self._study, self._total, self._phase = storage, study, total, phase
        self._every_s = every_s
        self._last = 0.0
        self._start = time.monotonic()

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        """Print the line at most every `every_s` seconds."""
        now = time.monotonic()
        if now - self._last < self._every_s:
            return
        self._last = now
        self._emit(trials)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        """Final line."""
        self._emit(trials, final=True)

    def _emit(self, trials: list, final: bool = False) -> None:
        running = sum(1 for t in trials if t.status == "RUNNING")
        done = sum(1 for t in trials if t.status in ("TERMINATED", "ERROR"))
        rows = ResultStore(self._storage, self._study).read_rows()
        failed = pruned = 0
        best = math.nan
        if not rows.empty and "phase" in rows:
            mine = rows[rows["phase"] == self._phase]
            failed = int((mine["status"] == "failed").sum())
            pruned = int((mine["status"] == "pruned").sum())
            if "val_auc" in mine and mine["val_auc"].notna().any():
                best = float(mine["val_auc"].max())
        elapsed = time.monotonic() - self._start
        eta = "--"
        if 0 < done < self._total:
            remaining = elapsed / done * (self._total - done)
            eta = time.strftime("%H:%M:%S", time.gmtime(remaining))
        best_text = f"{best:.3f}" if math.isfinite(best) else "--"
        line = (
            f"[zcnas {self._phase}] {done}/{self._total} done, {running} running, "
            f"{failed} failed, {pruned} pruned | best val_auc {best_text} | "
            f"elapsed {time.strftime('%H:%M:%S', time.gmtime(elapsed))} | ETA {eta}"
        )
        end = "\n" if final or not sys.stderr.isatty() else "\r"
        sys.stderr.write(line + end)
        sys.stderr.flush()


class OptunaMirror(tune.Callback):
    """Copy every finished trial into an Optuna RDB study, for ``optuna-dashboard``.

    The live search keeps OptunaSearch's in-memory study (an RDB study plus a hard kill plus a
    restore fails in ray 2.60 / optuna 5.1); this mirror only adds finished trials, once each:
    the Tune trial id is stored as a user attribute and checked before adding.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///zcnas.db``.
        study: Optuna study name.
        space: The search space (for the distributions of the parameters).
        metric: Reported metric to store as the trial value.
    """

    def __init__(self, url: str, study: str, space: Any, metric: str) -> None:
        self._url, self._study_name, self._space, self._metric = url, study, space, metric

    def _study(self) -> Any:
        import optuna

        return optuna.create_study(
            storage=self._url,
            study_name=self._study_name,
            direction="maximize",
            load_if_exists=True,
        )

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Add the trial to the mirror study unless it is there already."""
        import optuna

        value = (trial.last_result or {}).get(self._metric)
        if value is None or not math.isfinite(float(value)):
            return
        study = self._study()
        for existing in study.get_trials(deepcopy=False):
            if existing.user_attrs.get("tune_trial_id") == trial.trial_id:
                return
        params = {k: v for k, v in trial.config.items() if k in self._space.choices}
        distributions = {
            name: optuna.distributions.CategoricalDistribution(list(self._space.choices[name]))
            for name in params
        }
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=float(value),
                user_attrs={"tune_trial_id": trial.trial_id},
            )
        )
