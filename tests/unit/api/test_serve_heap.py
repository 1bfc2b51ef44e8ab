"""The care API worker's heap, settled before it takes a connection."""

from __future__ import annotations

import gc

from care_api.serve import settle_the_heap


def test_settling_the_heap_freezes_what_is_loaded_out_of_the_collectors_sight() -> None:
    assert gc.get_freeze_count() == 0
    try:
        settle_the_heap()
        assert gc.get_freeze_count() > 0
        assert len(gc.get_objects()) < 100  # a collection now walks what comes after
    finally:
        gc.unfreeze()
