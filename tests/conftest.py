"""Suite-wide set-up: the tests run their own Ray instances, whatever the machine has."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Drop ``RAY_ADDRESS`` so no test (or CLI it starts) attaches to a cluster of the host.

    Machines that run a Ray cluster export it; the studies in this suite must stay on the
    private local instances they start. Tests of the attach path set it themselves.
    """
    os.environ.pop("RAY_ADDRESS", None)
