"""Analysis of zcnas result sets: which zero-cost proxies rank architectures like training.

Python use::

    from analysis import load_results, analyze, write_report
    frame = load_results(["results/study-a", "results/study-b"])
    result = analyze(frame, metric="val_auc", bootstrap=10_000, seed=0)
    paths = write_report(result, "report/")

The command line is ``zcnas analyze RESULTS... [--out DIR]`` (:mod:`analysis.cli`).
Heavy modules are imported on first use of a name.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "load_results": "analysis.load",
    "analyze": "analysis.pipeline",
    "AnalysisResult": "analysis.pipeline",
    "AnalysisSettings": "analysis.pipeline",
    "write_report": "analysis.report",
    "AnalysisWarning": "analysis.diagnostics",
    "partial_spearman": "analysis.correlation",
    "holm": "analysis.multiple_testing",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
