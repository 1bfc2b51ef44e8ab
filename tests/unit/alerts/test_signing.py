"""The push signature: HMAC of the timestamp and the raw body, within the window."""

from __future__ import annotations

import datetime as dt

import pytest

from care_models.alerts.signing import PUSH_WINDOW, SignatureRejected, sign, verify
from care_sim.vendors import speaker

NOW = dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC)
STAMP = str(int(NOW.timestamp()))
BODY = b'{"sosId":"S-1","speakerId":"V-SPEAKER-000001","utterance":"SOS"}'


def test_the_simulator_signs_as_the_api_checks() -> None:
    assert speaker.signature("k", STAMP, BODY) == sign("k", STAMP, BODY)
    verify(["old", "k"], STAMP, sign("k", STAMP, BODY), BODY, NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature", "body", "header"),
    [
        (STAMP, sign("other", STAMP, BODY), BODY, "X-Care-Signature"),
        (STAMP, sign("k", STAMP, BODY), BODY + b" ", "X-Care-Signature"),
        (str(int(STAMP) + 1), sign("k", STAMP, BODY), BODY, "X-Care-Signature"),
        (STAMP, sign("k", STAMP, BODY)[3:], BODY, "X-Care-Signature"),
        (None, sign("k", STAMP, BODY), BODY, "X-Care-Timestamp"),
        ("-5", sign("k", "-5", BODY), BODY, "X-Care-Timestamp"),
        ("1e9", sign("k", "1e9", BODY), BODY, "X-Care-Timestamp"),
    ],
)
def test_what_is_refused(timestamp: str | None, signature: str, body: bytes, header: str) -> None:
    with pytest.raises(SignatureRejected) as caught:
        verify(["k"], timestamp, signature, body, NOW)
    assert caught.value.field == header


@pytest.mark.parametrize("offset", [PUSH_WINDOW + dt.timedelta(seconds=1), -PUSH_WINDOW * 2])
def test_a_timestamp_outside_the_window_is_refused(offset: dt.timedelta) -> None:
    stamp = str(int((NOW - offset).timestamp()))
    with pytest.raises(SignatureRejected, match="minutes from now"):
        verify(["k"], stamp, sign("k", stamp, BODY), BODY, NOW)
    inside = str(int((NOW - PUSH_WINDOW + dt.timedelta(seconds=1)).timestamp()))
    verify(["k"], inside, sign("k", inside, BODY), BODY, NOW)


def test_no_secret_refuses_everything() -> None:
    with pytest.raises(SignatureRejected):
        verify([], STAMP, sign("k", STAMP, BODY), BODY, NOW)
