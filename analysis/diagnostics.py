"""The warning category of the analysis package.

Problems in a result set that the analysis can work around (NaN proxy scores, a constant
metric, too few architectures for a statistic) are reported with :class:`AnalysisWarning`, so
callers can filter, record or escalate them without catching unrelated warnings.
"""

from __future__ import annotations

import warnings


class AnalysisWarning(UserWarning):
    """A user-fixable problem in a result set; the affected statistic is NaN with a reason."""


def warn(message: str, *, stacklevel: int = 3) -> None:
    """Emit ``message`` as an :class:`AnalysisWarning`.

    Args:
        message: One sentence saying what is wrong and what the analysis did about it.
        stacklevel: Frame to blame, counted from the caller of this helper (the default points
            at the function that called the helper's caller).
    """
    warnings.warn(message, AnalysisWarning, stacklevel=stacklevel)
