"""Memory hygiene of a reused trial worker."""

from __future__ import annotations

import gc
import weakref

from tuning import trial


class _Node:
    def __init__(self) -> None:
        self.partner: _Node | None = None


def test_long_lived_objects_are_frozen_once_and_new_garbage_is_still_collected():
    gc.unfreeze()
    try:
        trial._freeze_long_lived_objects()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the imports at least
        trial._freeze_long_lived_objects()
        assert gc.get_freeze_count() == frozen  # once per worker, not per trial

        a, b = _Node(), _Node()
        a.partner, b.partner = b, a  # a cycle: only the collector frees it
        probe = weakref.ref(a)
        del a, b
        trial.release_memory(trial.torch.device("cpu"))
        assert probe() is None
    finally:
        gc.unfreeze()
