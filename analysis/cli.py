"""``zcnas analyze``: correlate proxies with trained metrics in one or more result sets.

Example::

    zcnas analyze results/study-a results/study-b --out report/ --metric val_auc

prints the correlation and timing tables and, with ``--out``, writes ``report.md``, CSV tables
and PNG figures there. Input problems (no files, a non-Parquet file, a missing metric column)
end with a one-line error (exit status 2); when no correlation could be computed at all
(constant metric, fewer than 3 architectures, every score NaN) the tables are still written,
with the reasons, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from analysis.combination import N_FOLDS

EXIT_NOTHING_COMPUTED = 1


def _count(text: str) -> int:
    """Parse a non-negative integer flag value (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the flags of ``zcnas analyze`` and set its handler."""
    parser.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS",
        help="result directories (a root of studies, one study, or its trials folder), "
        "Parquet files, or URIs such as s3://bucket/root",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="write report.md, CSV tables and PNG figures to DIR"
    )
    parser.add_argument(
        "--metric", default="val_auc", help="target column, higher is better (default: val_auc)"
    )
    parser.add_argument(
        "--bootstrap",
        type=_count,
        default=10_000,
        metavar="N",
        help="bootstrap resamples per interval, 0 to skip (default: 10000)",
    )
    parser.add_argument(
        "--permutations",
        type=_count,
        default=9_999,
        metavar="N",
        help="permutations per p-value, 0 to skip (default: 9999)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of all resampling (default: 0)")
    parser.add_argument(
        "--nan-policy",
        choices=["rank-last", "omit"],
        default="rank-last",
        help="NaN proxy scores: rank them last (default) or leave the architecture out",
    )
    parser.add_argument(
        "--ci",
        choices=["bca", "percentile"],
        default="bca",
        help="bootstrap interval method (default: bca; percentile above 1000 architectures)",
    )
    parser.add_argument(
        "--cv-repeats",
        type=_count,
        default=10,
        metavar="N",
        help=f"repeats of the {N_FOLDS}-fold CV of the ridge combination (default: 10)",
    )
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Load, analyse, print and (with ``--out``) write the report.

    Returns:
        0 when at least one correlation was computed, 1 when none could be.
    """
    from analysis.diagnostics import AnalysisWarning
    from analysis.load import load_results
    from analysis.pipeline import analyze
    from analysis.report import write_report
    from analysis.terminal import print_result

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AnalysisWarning)
        frame = load_results(args.results)
        result = analyze(
            frame,
            metric=args.metric,
            bootstrap=args.bootstrap,
            seed=args.seed,
            nan_policy=args.nan_policy,
            permutations=args.permutations,
            ci_method=args.ci,
            cv_repeats=args.cv_repeats,
        )
    for warning in caught:
        if issubclass(warning.category, AnalysisWarning):
            print(f"zcnas analyze: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )

    print_result(result)
    if args.out:
        paths = write_report(result, args.out, figures=not args.no_figures)
        print(f"wrote {paths['report']} and {len(paths) - 1} more files to {args.out}")
    if not result.has_correlations:
        print(
            "zcnas analyze: no correlation could be computed "
            f"({_first_reason(result)}); see the notes in the table",
            file=sys.stderr,
        )
        return EXIT_NOTHING_COMPUTED
    return 0


def _first_reason(result) -> str:
    """Return the first non-empty note of the correlation table."""
    notes = [note for note in result.correlations["note"] if note]
    return notes[0].split(";")[0] if notes else "no predictor"
