"""Warning categories of the zero-cost package.

Both are filterable with :mod:`warnings` (``warnings.simplefilter("error", ProxyWarning)``
turns every undefined proxy score into an exception, for instance).
"""


class ProxyWarning(RuntimeWarning):
    """A proxy score is undefined (NaN or infinite) or a proxy failed.

    The score is stored as NaN with status ``nan`` (or ``failed``), never as a sentinel value,
    so downstream rank statistics can choose their own NaN policy.
    """


class ScoringBatchWarning(UserWarning):
    """The scoring batch could not be built as asked (too few unique windows or classes)."""


class UndefinedScoreError(ArithmeticError):
    """Raised by a proxy whose score is undefined for this network and batch.

    The runner stores NaN with status ``nan``, keeps the message as the error text and emits a
    :class:`ProxyWarning`; it is not a failure of the proxy.
    """
