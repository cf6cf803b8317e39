"""Write an analysis to disk: ``report.md``, CSV tables and PNG figures.

Files written into the output directory:

=====================  ==============================================================
``report.md``          every table with the notes that explain them, and the figures
``correlations.csv``   one row per predictor (see :data:`CORRELATION_CSV_COLUMNS`)
``timing.csv``         seconds per architecture per proxy, the vote and training
``time_shares.csv``    share of study time in proxies, training and other work
``topk.csv``           top-k overlap for k = 5%, 10%, 25%
``correlations.png``   rho with intervals per predictor and the noise ceiling
``scatter.png``        each predictor against the metric
``timing.png``         seconds per architecture on a log axis
=====================  ==============================================================
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from analysis.correlation import BCA_MAX_N, CI_METHODS, CORRELATION_COLUMNS
from analysis.formatting import (
    MISSING,
    fmt,
    fmt_interval,
    fmt_p,
    fmt_ratio,
    fmt_seconds,
    fmt_share,
)
from analysis.pipeline import EXTRA_COLUMNS, AnalysisResult
from analysis.ranking import NAN_POLICY_TEXT
from analysis.topk import TOP_FRACTIONS

logger = logging.getLogger(__name__)

CORRELATION_CSV_COLUMNS: list[str] = CORRELATION_COLUMNS + ["top10_overlap"] + EXTRA_COLUMNS


def write_report(
    result: AnalysisResult, out_dir: str | os.PathLike, *, figures: bool = True
) -> dict[str, Path]:
    """Write the report, the CSV tables and (optionally) the figures.

    Args:
        result: From :func:`analysis.pipeline.analyze`.
        out_dir: Output directory (created when missing; files in it are overwritten).
        figures: Whether to draw the PNG figures.

    Returns:
        Written paths by name: ``report``, ``correlations``, ``timing``, ``time_shares``,
        ``topk`` and, with figures, ``figure_correlations``, ``figure_scatter``,
        ``figure_timing``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "correlations": out / "correlations.csv",
        "timing": out / "timing.csv",
        "time_shares": out / "time_shares.csv",
        "topk": out / "topk.csv",
    }
    result.correlations[CORRELATION_CSV_COLUMNS].to_csv(paths["correlations"], index=False)
    result.timing.to_csv(paths["timing"], index=False)
    result.time_shares.to_csv(paths["time_shares"], index=False)
    result.topk.to_csv(paths["topk"], index=False)
    if figures:
        from analysis.figures import plot_correlations, plot_scatter, plot_timing

        paths["figure_correlations"] = plot_correlations(result, out / "correlations.png")
        paths["figure_scatter"] = plot_scatter(result, out / "scatter.png")
        paths["figure_timing"] = plot_timing(result, out / "timing.png")
    paths["report"] = out / "report.md"
    paths["report"].write_text(render_markdown(result, figures=figures), encoding="utf-8")
    logger.debug("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render a GitHub-flavoured Markdown table; ``|`` in cells is escaped."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(result: AnalysisResult, *, figures: bool = True) -> str:
    """Return the whole report as Markdown text."""
    settings = result.settings
    n = len(result.architectures)
    method = CI_METHODS[settings.ci_method]
    if settings.ci_method == "bca":
        method += f"; percentile above {BCA_MAX_N} architectures"
    sections = [
        f"# Zero-cost proxies against `{settings.metric}`",
        (
            f"{n} architectures. Bootstrap: {settings.bootstrap} resamples, "
            f"{settings.confidence:.0%} intervals ({method}). Permutation test: "
            f"{settings.permutations} permutations, two-sided. NaN policy `{settings.nan_policy}`"
            f" ({NAN_POLICY_TEXT[settings.nan_policy]}). Seed {settings.seed}."
        ),
        _data_section(result),
        _correlation_section(result, figures),
        _vote_section(result),
        _topk_section(result),
        _combination_section(result),
        _ceiling_section(result),
        _timing_section(result, figures),
    ]
    if figures:
        sections.append(
            "## Scores against the metric\n\nOne point per architecture; log or symmetric-log "
            "axes where the scores span orders of magnitude.\n\n![scatter](scatter.png)"
        )
    return "\n\n".join(sections) + "\n"


def _data_section(result: AnalysisResult) -> str:
    studies = markdown_table(
        ["study", "rows", "ok", "failed", "pruned", "architectures"],
        [list(row) for row in result.studies.itertuples(index=False)],
    )
    exclusions = markdown_table(
        ["rows", "reason"], [[row.rows, row.reason] for row in result.exclusions.itertuples()]
    )
    notes = "\n".join(f"- {note}" for note in result.notes)
    return f"## Data\n\n{studies}\n\n{exclusions}\n\n{notes}"


def _correlation_section(result: AnalysisResult, figures: bool) -> str:
    table = result.correlations
    rows = []
    for row in table.itertuples():
        rows.append(
            [
                row.proxy,
                row.kind,
                row.n,
                row.n_nan,
                fmt(row.spearman_rho),
                fmt_interval(row.spearman_lo, row.spearman_hi),
                fmt(row.kendall_tau),
                fmt_p(row.p_value),
                fmt_p(row.p_holm),
                fmt(row.partial_rho),
                fmt_share(row.top10_overlap),
                fmt(row.pairwise_acc),
                row.note or "",
            ]
        )
    header = [
        "predictor",
        "kind",
        "n",
        "NaN",
        "Spearman ρ",
        "interval",
        "Kendall τ-b",
        "p",
        "p (Holm)",
        "partial ρ | log params",
        "top-10%",
        "pairwise acc.",
        "note",
    ]
    tested = int(np.isfinite(table["p_value"]).sum())
    # Chance of the top-10% overlap is size / n, 1/n for small sets (not 10%).
    top10 = result.topk[np.isclose(result.topk["fraction"], 0.10)]["chance"]
    chance = fmt_share(top10.max()) if len(top10) and np.isfinite(top10.max()) else "about 10%"
    text = [
        f"## Rank correlation with `{result.metric}`",
        markdown_table(header, rows),
        (
            "Spearman ρ is signed and tie-aware (no absolute values); the interval is a "
            "paired bootstrap over architectures (method per row in `correlations.csv`), for "
            "the ridge combination the min–max over cross-validation repeats. p is a "
            f"two-sided permutation p-value; Holm's adjustment runs over the {tested} "
            "predictors with a p-value. The partial ρ removes the rank of log(params) from "
            "both sides. top-10% is the share of the truly best 10% of architectures that "
            f"the predictor also puts in its top 10% (chance here: {chance}). Pairwise "
            "accuracy is the fraction of ordered pairs with different metric that the "
            "predictor orders correctly (about (1 + τ) / 2; the number published for the vote)."
        ),
    ]
    if figures:
        text.append("![correlations](correlations.png)")
    return "\n\n".join(text)


def _vote_section(result: AnalysisResult) -> str:
    vote = result.vote
    row = result.correlations[result.correlations["kind"] == "vote"]
    copeland = fmt(row["spearman_rho"].iloc[0]) if len(row) else MISSING
    lines = [
        "## Vote (synflow, jacob_cov, snip)",
        markdown_table(
            ["statistic", "value", "architectures"],
            [
                [
                    "pairwise ranking accuracy (not a ρ)",
                    fmt(vote.pairwise_accuracy),
                    len(vote.architectures),
                ],
                ["Spearman ρ of the Copeland score", copeland, len(vote.architectures)],
            ],
        ),
        vote.note + ".",
    ]
    return "\n\n".join(lines)


def _topk_section(result: AnalysisResult) -> str:
    topk = result.topk
    header = ["predictor"] + [f"top {f:.0%}" for f in TOP_FRACTIONS]
    rows = []
    for name, group in topk.groupby("proxy", sort=False):
        cells = [name]
        for fraction in TOP_FRACTIONS:
            match = group[np.isclose(group["fraction"], fraction)]
            if match.empty or not np.isfinite(match["overlap"].iloc[0]):
                cells.append(MISSING)
                continue
            item = match.iloc[0]
            cells.append(f"{item['overlap']:g}/{item['size']} ({item['recovered']:.0%})")
        rows.append(cells)
    chance = [
        "chance",
        *[fmt_share(topk[np.isclose(topk["fraction"], f)]["chance"].max()) for f in TOP_FRACTIONS],
    ]
    rows.append(chance)
    return (
        "## Top-k overlap\n\nHow many of the truly best k% of architectures each predictor "
        "puts in its own top k% (ties at the cut share the places: expected overlap under "
        "random tie-breaking).\n\n" + markdown_table(header, rows)
    )


def _combination_section(result: AnalysisResult) -> str:
    combination = result.combination
    if not np.isfinite(combination.rho):
        return f"## Learned combination\n\nUndefined: {combination.note}."
    best_single = result.correlations[result.correlations["kind"] == "proxy"]["spearman_rho"]
    best = fmt(best_single.max()) if np.isfinite(best_single).any() else MISSING
    return (
        "## Learned combination\n\n"
        f"Cross-validated Spearman ρ {fmt(combination.rho)} (range over repeats "
        f"{fmt_interval(combination.rho_min, combination.rho_max)}, n = {combination.n}); "
        f"best single proxy ρ {best}. Features: "
        + ", ".join(f"`{f}`" for f in combination.features)
        + f". {combination.note}."
    )


def _ceiling_section(result: AnalysisResult) -> str:
    ceiling = result.noise_ceiling
    if not ceiling.estimated:
        return f"## Noise ceiling\n\n{_sentence(ceiling.note)}"
    conclusion = (
        f"No proxy can be shown to rank `{result.metric}` better than the metric ranks "
        "itself across seeds."
    )
    if ceiling.has_interval:
        estimate = (
            f"{fmt(ceiling.rho)} {fmt_interval(ceiling.lo, ceiling.hi)} over {ceiling.n} "
            "architectures."
        )
    else:
        estimate = f"{fmt(ceiling.rho)} over {ceiling.n} architectures; {ceiling.interval_note}."
        if result.settings.bootstrap > 0:
            # Without its uncertainty the single value bounds nothing: no conclusion.
            conclusion = (
                "Without an interval this value is no usable ceiling, so no conclusion about "
                "the proxies is drawn from it."
            )
    return (
        "## Noise ceiling\n\n"
        f"Spearman ρ between two training seeds: {estimate} {conclusion} "
        f"{_sentence(ceiling.note)}"
    )


def _sentence(text: str) -> str:
    """Capitalise the first letter of ``text`` and end it with a full stop."""
    text = text.strip().rstrip(".")
    return text[:1].upper() + text[1:] + "." if text else ""


def _timing_section(result: AnalysisResult, figures: bool) -> str:
    timing = markdown_table(
        ["", "n", "median", "mean", "p95", "total", "speed-up vs training"],
        [
            [
                row.name,
                row.n,
                fmt_seconds(row.median_s),
                fmt_seconds(row.mean_s),
                fmt_seconds(row.p95_s),
                fmt_seconds(row.total_s),
                fmt_ratio(row.speedup),
            ]
            for row in result.timing.itertuples()
        ],
    )
    shares = markdown_table(
        [
            "study",
            "trials",
            "proxies",
            "training",
            "other",
            "proxy share",
            "training share",
            "wall time",
        ],
        [
            [
                row.study,
                row.trials,
                fmt_seconds(row.proxy_s),
                fmt_seconds(row.train_s),
                fmt_seconds(max(0.0, row.trial_s - row.proxy_s - row.train_s))
                if np.isfinite(row.trial_s)
                else MISSING,
                fmt_share(row.proxy_share),
                fmt_share(row.train_share),
                fmt_seconds(row.wall_s),
            ]
            for row in result.time_shares.itertuples()
        ],
    )
    text = [
        "## Cost",
        "Seconds per architecture (reused results excluded). Training statistics are over "
        "trials that finished; its total includes failed and pruned trials. Speed-up = median "
        "training time / median proxy time.",
        timing,
        "Share of summed trial time (finished_at − started_at) spent in proxies and training.",
        shares,
    ]
    if figures:
        text.append("![timing](timing.png)")
    return "\n\n".join(text)
