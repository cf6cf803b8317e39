"""Readable terminal tables of an analysis, drawn with rich."""

from __future__ import annotations

import numpy as np
from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from analysis.formatting import (
    fmt,
    fmt_interval,
    fmt_p,
    fmt_ratio,
    fmt_seconds,
    fmt_share,
)
from analysis.noise_ceiling import NoiseCeiling
from analysis.pipeline import AnalysisResult

#: Row style per predictor kind.
KIND_STYLES: dict[str, str] = {
    "proxy": "",
    "vote": "bold",
    "baseline": "dim",
    "combination": "italic",
}
#: Width used when output is piped (no terminal width to respect).
PIPED_WIDTH = 130


#: Correlation columns: header, value formatter, and whether the column is kept on narrow
#: terminals (below :data:`WIDE_TERMINAL` columns the optional ones are dropped).
_COLUMNS: list[tuple[str, object, bool]] = [
    ("predictor", lambda r: r.proxy, True),
    ("n", lambda r: str(r.n), True),
    ("NaN", lambda r: str(r.n_nan), True),
    ("ρ", None, True),
    ("interval", lambda r: fmt_interval(r.spearman_lo, r.spearman_hi), True),
    ("τ-b", lambda r: fmt(r.kendall_tau), False),
    ("p", lambda r: fmt_p(r.p_value), False),
    ("p Holm", lambda r: fmt_p(r.p_holm), True),
    ("partial", lambda r: fmt(r.partial_rho), True),
    ("top-10%", lambda r: fmt_share(r.top10_overlap), True),
    ("pair acc", lambda r: fmt(r.pairwise_acc), False),
]
#: Terminal width from which every column is shown.
WIDE_TERMINAL = 100


def correlation_table(result: AnalysisResult, width: int = PIPED_WIDTH) -> Table:
    """Return the correlation table: one row per predictor, sorted by rho.

    Args:
        result: An analysis result.
        width: Terminal width; below :data:`WIDE_TERMINAL` Kendall tau, the raw p-value and
            the pairwise accuracy are left out (they are in the report and the CSV).

    Returns:
        The table. Notes (why a value is undefined, how the vote and the combination were
        computed) are numbered in the last column and listed in the caption.
    """
    settings = result.settings
    table = Table(
        title=f"Rank correlation with {settings.metric} ({len(result.architectures)} "
        "architectures)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        caption_justify="left",
    )
    columns = [c for c in _COLUMNS if c[2] or width >= WIDE_TERMINAL]
    for header, _, _ in columns:
        justify = "left" if header == "predictor" else "right"
        table.add_column(header, justify=justify, no_wrap=True)
    table.add_column("", no_wrap=True)
    notes: list[str] = []
    for row in result.correlations.itertuples():
        significant = np.isfinite(row.p_holm) and row.p_holm < 0.05
        cells: list[str | Text] = []
        for _header, formatter, _ in columns:
            if formatter is None:
                cells.append(Text(fmt(row.spearman_rho), style="bold" if significant else ""))
            else:
                cells.append(formatter(row))
        marker = ""
        if row.note:
            notes.append(row.note)
            marker = f"[{len(notes)}]"
        table.add_row(*cells, marker, style=KIND_STYLES.get(row.kind, ""))
    caption = [
        f"Signed Spearman ρ; {settings.confidence:.0%} bootstrap interval "
        f"({settings.bootstrap} resamples); two-sided permutation p ({settings.permutations} "
        f"permutations), Holm over predictors with p; NaN policy {settings.nan_policy}; "
        "bold ρ: Holm p < 0.05."
    ]
    caption += [f"[{i}] {note}" for i, note in enumerate(notes, start=1)]
    table.caption = "\n".join(caption)
    return table


def timing_table(result: AnalysisResult) -> Table:
    """Return the timing table: seconds per architecture and speed-up over training."""
    table = Table(
        title="Cost per architecture", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for header in ["", "n", "median", "mean", "p95", "total", "speed-up"]:
        table.add_column(header, justify="right" if header else "left", no_wrap=True)
    for row in result.timing.itertuples():
        table.add_row(
            row.name,
            str(row.n),
            fmt_seconds(row.median_s),
            fmt_seconds(row.mean_s),
            fmt_seconds(row.p95_s),
            fmt_seconds(row.total_s),
            fmt_ratio(row.speedup),
            style="bold" if row.kind == "training" else "",
        )
    return table


def summary_lines(result: AnalysisResult) -> Text:
    """Return the vote, combination, ceiling and time-share lines."""
    vote = result.vote
    combination = result.combination
    ceiling = result.noise_ceiling
    lines = [
        f"vote pairwise accuracy (not a ρ): {fmt(vote.pairwise_accuracy)} over "
        f"{len(vote.architectures)} architectures"
        f"{f' ({vote.accuracy_note})' if vote.accuracy_note else ''}",
        f"ridge combination, cross-validated ρ: {fmt(combination.rho)} "
        f"(range over repeats {fmt_interval(combination.rho_min, combination.rho_max)}"
        f"{'' if np.isfinite(combination.rho) else '; ' + combination.note})",
        f"noise ceiling (ρ between two seeds): {ceiling_text(ceiling)}",
    ]
    if len(result.time_shares):
        overall = result.time_shares.iloc[-1]
        lines.append(
            f"study time in proxies {fmt_share(overall['proxy_share'])}, training "
            f"{fmt_share(overall['train_share'])}, other {fmt_share(overall['other_share'])}"
        )
    return Text("\n".join(lines) + "\n")


def ceiling_text(ceiling: NoiseCeiling) -> str:
    """Describe the noise ceiling in one line: numbers when there are any, else why not.

    Args:
        ceiling: The noise ceiling of an analysis.

    Returns:
        ``rho [lo, hi], n architectures``; ``rho (no interval: why), n architectures`` when
        the interval is missing; the reason alone when rho could not be estimated.
    """
    if not ceiling.estimated:
        return ceiling.note
    if ceiling.has_interval:
        interval = fmt_interval(ceiling.lo, ceiling.hi)
    else:
        interval = f"({ceiling.interval_note or 'no interval'})"
    return f"{fmt(ceiling.rho)} {interval}, {ceiling.n} architectures"


def print_result(result: AnalysisResult, console: Console | None = None) -> None:
    """Print the tables of ``result`` to ``console`` (stdout by default)."""
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, PIPED_WIDTH))
    console.print(correlation_table(result, console.width))
    console.print(Group(summary_lines(result), timing_table(result)))
