"""The referral steps' small parts: Asset events only when something changed; XCom shapes."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from care_tasks.referrals import GatedBatch, changed_or_skip


@pytest.mark.parametrize("count", [0, None, "3"])
def test_nothing_changed_skips_so_no_asset_event_is_emitted(count: object) -> None:
    with pytest.raises(AirflowSkipException):
        changed_or_skip(count, "referral answered")


def test_something_changed_lets_the_event_go_out() -> None:
    assert changed_or_skip(3, "referral answered") == 3


def test_a_gated_batch_survives_xcom_as_json() -> None:
    batch = GatedBatch([3, 4, 5, 6], {3: ["rule"]}, {4: "DecryptionError: x"}, {6: 5}, [4])
    assert GatedBatch.from_xcom(json.loads(json.dumps(batch.as_xcom()))) == batch
    assert GatedBatch.from_xcom({"referral_ids": ["1"], "rejected": {}}) == GatedBatch([1])
