"""A vendor page is checked against its rules before a record of it is used."""

from __future__ import annotations

from typing import Any

import pytest

from care_hooks.vendor import check_page, connection_id
from care_models.alerts.mapping import load_rules
from care_models.errors import MalformedResponseError

AICALL = load_rules("ai_call")


def test_a_good_page_in_our_terms() -> None:
    page = check_page({"items": [{"callId": "1"}], "nextSeq": 7, "last": False}, AICALL, "t")
    assert (page.records, page.next_cursor, page.more) == ([{"callId": "1"}], "7", True)
    last = check_page({"items": [], "nextSeq": 7, "last": True}, AICALL, "t")
    assert last.more is False


@pytest.mark.parametrize(
    ("document", "element"),
    [
        ([], "JSON object"),
        ({"items": {}, "nextSeq": 1, "last": True}, "items"),
        ({"items": [], "last": True}, "nextSeq"),
        ({"items": [], "nextSeq": True, "last": True}, "nextSeq"),
        ({"items": [], "nextSeq": 1, "last": "no"}, "last"),
    ],
)
def test_a_malformed_page_names_the_element(document: Any, element: str) -> None:
    with pytest.raises(MalformedResponseError, match=element):
        check_page(document, AICALL, "vendor V-AICALL: GET /carecall/results")


def test_connection_ids() -> None:
    assert connection_id("V-PLUG") == "vendor_v_plug"
