"""Figures of an analysis, drawn with matplotlib's Agg canvas (no display needed).

* :func:`plot_correlations`: Spearman rho of every predictor with its interval, sorted, with
  a zero line and the noise ceiling as a shaded band;
* :func:`plot_scatter`: each predictor against the metric, one panel per predictor, on a
  log or symmetric-log axis where the scores span orders of magnitude;
* :func:`plot_timing`: median seconds per architecture of each proxy and of training on a
  log axis, with the 95th percentile and the speed-up over training.

All figures use the same font sizes and are saved at :data:`DPI` dots per inch. They are built
as :class:`matplotlib.figure.Figure` objects without pyplot, so no backend or global state is
touched (PNG output goes through the Agg renderer).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.formatting import fmt_ratio, fmt_seconds
from analysis.pipeline import AnalysisResult
from analysis.ranking import apply_nan_policy
from analysis.voting import COPELAND_PREDICTOR

DPI = 200
#: Most points drawn per scatter panel; more are subsampled (seeded) for legibility.
MAX_POINTS = 5000
#: Ratio of largest to smallest magnitude above which scores get a log axis.
LOG_SPAN = 100.0
#: Ratio beyond which a log axis no longer renders (synflow spans 1e13 to 1e230 on GCNs):
#: such scores are drawn as log10 values on a linear axis instead.
LOG10_SPAN = 1e100
#: Colour of each predictor kind (colour-blind safe, Okabe-Ito).
KIND_COLOURS: dict[str, str] = {
    "proxy": "#0072B2",
    "vote": "#D55E00",
    "baseline": "#7F7F7F",
    "combination": "#009E73",
}
KIND_LABELS: dict[str, str] = {
    "proxy": "proxy",
    "vote": "vote (Copeland score)",
    "baseline": "size baseline",
    "combination": "ridge combination (CV range)",
}
STYLE = {
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float, height: float) -> Figure:
    """Return a new figure with the shared style applied."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height), layout="constrained")
    return figure


def plot_correlations(result: AnalysisResult, path: Path) -> Path:
    """Draw rho with intervals per predictor, sorted, with the noise ceiling.

    Args:
        result: An analysis result.
        path: Output PNG path.

    Returns:
        ``path``.
    """
    table = result.correlations
    finite = table[np.isfinite(table["spearman_rho"])].iloc[::-1]
    undefined = table[~np.isfinite(table["spearman_rho"])]
    rows = len(finite) + len(undefined)
    with matplotlib.rc_context(STYLE):
        figure = _figure(6.4, 1.9 + 0.32 * max(rows, 3))
        axes = figure.add_subplot()
        ceiling = result.noise_ceiling
        if np.isfinite(ceiling.rho):
            if np.isfinite(ceiling.lo) and np.isfinite(ceiling.hi):
                axes.axvspan(ceiling.lo, ceiling.hi, color="#CC79A7", alpha=0.12, lw=0)
            axes.axvline(ceiling.rho, color="#CC79A7", lw=1.2, ls="--")
        axes.axvline(0.0, color="black", lw=0.8)
        labels = []
        # Undefined rows at the bottom, with the first reason; then the sorted estimates.
        for position, row in enumerate(undefined.iloc[::-1].itertuples()):
            reason = (row.note or "n/a").split(";")[0]
            axes.text(
                -0.97,
                position,
                "undefined: " + (reason if len(reason) <= 45 else reason[:42] + "..."),
                va="center",
                ha="left",
                fontsize=8,
                color="#555555",
            )
            labels.append(row.proxy)
        for offset, row in enumerate(finite.itertuples()):
            position = len(undefined) + offset
            colour = KIND_COLOURS.get(row.kind, "black")
            if np.isfinite(row.spearman_lo) and np.isfinite(row.spearman_hi):
                axes.plot(
                    [row.spearman_lo, row.spearman_hi],
                    [position, position],
                    color=colour,
                    lw=1.6,
                    solid_capstyle="butt",
                )
            significant = np.isfinite(row.p_holm) and row.p_holm < 0.05
            marker = "D" if row.kind == "combination" else "o"
            axes.plot(
                row.spearman_rho,
                position,
                marker=marker,
                ms=6,
                color=colour,
                mfc=colour if significant or row.kind == "combination" else "white",
                mew=1.4,
            )
            labels.append(row.proxy)
        axes.set_yticks(range(rows), labels)
        axes.set_ylim(-0.7, rows - 0.3)
        axes.set_xlim(-1.0, 1.0)
        method = _interval_label(finite, result.settings.confidence)
        axes.set_xlabel(f"Spearman ρ with {result.metric} ({method})")
        n = len(result.architectures)
        axes.set_title(f"Rank correlation with {result.metric}, {n} architectures", loc="left")
        axes.grid(axis="x", color="#DDDDDD", lw=0.6)
        axes.set_axisbelow(True)
        handles = _legend_handles(finite, ceiling)
        if len(finite):
            figure.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False)
        figure.savefig(path, dpi=DPI)
    return path


def _interval_label(table: pd.DataFrame, confidence: float) -> str:
    """Describe the intervals drawn, e.g. ``95% BCa bootstrap interval``."""
    drawn = table[np.isfinite(table["spearman_lo"]) & np.isfinite(table["spearman_hi"])]
    methods = sorted({m for m in drawn["ci_method"] if m and m != "CV range"})
    if not methods:
        return "no interval"
    return f"{confidence:.0%} {'/'.join(methods)} bootstrap interval"


def _legend_handles(table: pd.DataFrame, ceiling) -> list:
    """Legend entries for the kinds present, significance and the ceiling."""
    handles = []
    for kind in KIND_COLOURS:
        if (table["kind"] == kind).any():
            handles.append(
                Line2D(
                    [],
                    [],
                    color=KIND_COLOURS[kind],
                    marker="D" if kind == "combination" else "o",
                    lw=1.6,
                    label=KIND_LABELS[kind],
                )
            )
    handles.append(
        Line2D([], [], color="black", marker="o", mfc="white", lw=0, label="Holm p ≥ 0.05")
    )
    if np.isfinite(ceiling.rho):
        handles.append(
            Line2D(
                [],
                [],
                color="#CC79A7",
                ls="--",
                label=f"noise ceiling: ρ between seeds = {ceiling.rho:.2f}"
                + ("" if ceiling.has_interval else f" (n={ceiling.n}, no interval)"),
            )
        )
    return handles


def axis_scale(values: np.ndarray) -> tuple[str, dict]:
    """Choose a linear, log or symlog x axis for scores.

    Args:
        values: Finite scores, shape (n,).

    Returns:
        ``(scale, keyword arguments for Axes.set_xscale)``: ``log`` when all scores are
        positive and span more than :data:`LOG_SPAN` (largest / smallest), ``log10`` (draw
        log10 of the scores on a linear axis) beyond :data:`LOG10_SPAN`, ``symlog`` when
        their magnitudes span that much but they are not all positive, ``linear`` otherwise.
    """
    if len(values) < 2:
        return "linear", {}
    magnitude = np.abs(values[values != 0])
    if len(magnitude) == 0 or magnitude.max() / magnitude.min() < LOG_SPAN:
        return "linear", {}
    if (values > 0).all():
        if values.max() / values.min() > LOG10_SPAN:
            return "log10", {}
        return "log", {}
    # Linear region around zero up to the median magnitude, so a few tiny scores do not spread
    # the axis over dozens of decades.
    return "symlog", {"linthresh": float(np.median(magnitude)), "linscale": 2.0}


def plot_scatter(result: AnalysisResult, path: Path, *, seed: int = 0) -> Path:
    """Draw each single predictor and the vote's Copeland score against the metric.

    Args:
        result: An analysis result.
        path: Output PNG path.
        seed: Seed of the point subsample drawn above :data:`MAX_POINTS` points.

    Returns:
        ``path``.
    """
    panels = [(p, result.architectures) for p in result.predictors]
    if np.isfinite(result.vote.architectures[COPELAND_PREDICTOR.column]).any():
        panels.append((COPELAND_PREDICTOR, result.vote.architectures))
    rho = result.correlations.set_index("proxy")["spearman_rho"]
    columns = min(4, max(1, len(panels)))
    rows = max(1, math.ceil(len(panels) / columns))
    rng = np.random.default_rng(seed)
    with matplotlib.rc_context(STYLE):
        figure = _figure(2.6 * columns, 2.3 * rows + 0.3)
        for index, (predictor, table) in enumerate(panels):
            axes = figure.add_subplot(rows, columns, index + 1)
            raw = table[predictor.column].to_numpy(dtype=float)
            target = table[result.metric].to_numpy(dtype=float)
            _, finite = apply_nan_policy(raw, "omit")
            x, y = raw[finite], target[finite]
            scale, options = axis_scale(x)
            if scale == "log10":
                x = np.log10(x)
            shown = np.arange(len(x))
            if len(x) > MAX_POINTS:
                shown = np.sort(rng.choice(len(x), MAX_POINTS, replace=False))
            colour = KIND_COLOURS.get(predictor.kind, "black")
            alpha = 0.8 if len(shown) < 200 else 0.25
            axes.scatter(
                x[shown],
                y[shown],
                s=10 if len(shown) < 500 else 3,
                color=colour,
                alpha=alpha,
                lw=0,
                rasterized=len(shown) > 500,
            )
            axes.set_xscale("linear" if scale == "log10" else scale, **options)
            if scale == "symlog":
                _thin_symlog_ticks(axes, x, options["linthresh"])
            value = rho.get(predictor.name, np.nan)
            axes.set_title(
                f"{predictor.name}   ρ = {value:.2f}"
                if np.isfinite(value)
                else f"{predictor.name}   ρ undefined"
            )
            axes.set_xlabel(_score_label(predictor, scale))
            if index % columns == 0:
                axes.set_ylabel(result.metric)
            extra = []
            if (~finite).any():
                extra.append(f"{int((~finite).sum())} NaN not shown")
            if len(shown) < len(x):
                extra.append(f"{len(shown)} of {len(x)} shown")
            if extra:
                axes.text(
                    0.02,
                    0.02,
                    "; ".join(extra),
                    transform=axes.transAxes,
                    fontsize=7.5,
                    color="#555555",
                    va="bottom",
                )
        figure.suptitle(
            f"Scores against {result.metric} (one point per architecture)",
            x=0.01,
            ha="left",
            fontsize=11,
        )
        figure.savefig(path, dpi=DPI)
    return path


def _thin_symlog_ticks(axes, values: np.ndarray, linthresh: float) -> None:
    """Few major ticks on a symlog axis: zero and every few decades past the linear region.

    Ticks at +-linthresh would crowd the zero tick, so they are left out.
    """
    from matplotlib import ticker

    low = math.ceil(np.log10(linthresh)) + 1
    high = math.floor(np.log10(np.abs(values).max()))
    step = max(1, math.ceil((high - low + 1) / 2))
    decades = [10.0**k for k in range(high, low - 1, -step)]
    ticks = [0.0]
    if (values > 0).any():
        ticks += [d for d in decades if d <= values.max()]
    if (values < 0).any():
        ticks += [-d for d in decades if -d >= values.min()]
    axes.xaxis.set_major_locator(ticker.FixedLocator(sorted(ticks)))
    axes.xaxis.set_minor_locator(ticker.NullLocator())


def _score_label(predictor, scale: str) -> str:
    """Axis label of a predictor's scores."""
    unit = {"params": "parameters", "flops": "FLOPs"}.get(predictor.name, "score")
    if predictor.kind == "vote":
        unit = "architectures beaten"
    if scale == "log10":
        return f"log10 {unit}"
    return f"{unit} ({scale} axis)" if scale != "linear" else unit


def plot_timing(result: AnalysisResult, path: Path) -> Path:
    """Draw median seconds per architecture (log axis) with the 95th percentile.

    Args:
        result: An analysis result.
        path: Output PNG path.

    Returns:
        ``path``.
    """
    table = result.timing[np.isfinite(result.timing["median_s"])]
    table = table[table["median_s"] > 0].sort_values("median_s", kind="stable")
    with matplotlib.rc_context(STYLE):
        figure = _figure(6.4, 1.2 + 0.32 * max(len(table), 3))
        axes = figure.add_subplot()
        colours = [
            "#CC79A7" if kind == "training" else KIND_COLOURS.get(kind, "#0072B2")
            for kind in table["kind"]
        ]
        positions = np.arange(len(table))
        axes.barh(positions, table["median_s"], color=colours, height=0.6)
        axes.hlines(positions, table["median_s"], table["p95_s"], color="black", lw=1)
        for position, row in zip(positions, table.itertuples(), strict=True):
            if row.kind == "training":
                axes.text(
                    max(row.p95_s, row.median_s) * 1.15,
                    position,
                    f"median {fmt_seconds(row.median_s)}",
                    va="center",
                    fontsize=8,
                )
            elif np.isfinite(row.speedup):
                axes.text(
                    max(row.p95_s, row.median_s) * 1.15,
                    position,
                    fmt_ratio(row.speedup) + " faster",
                    va="center",
                    fontsize=8,
                )
        axes.set_yticks(positions, table["name"])
        axes.set_xscale("log")
        if len(table):
            axes.set_xlim(table["median_s"].min() / 3, table["p95_s"].max() * 30)
        axes.set_xlabel("seconds per architecture (bar: median; line: to 95th percentile)")
        axes.set_title("Cost of each proxy next to training", loc="left")
        axes.grid(axis="x", which="major", color="#DDDDDD", lw=0.6)
        axes.set_axisbelow(True)
        figure.savefig(path, dpi=DPI)
    return path
