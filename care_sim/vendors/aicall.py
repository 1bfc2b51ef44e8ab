"""AI check-in call vendor API (CareCall-like): HTTP basic auth or ``?key=``.

``GET /carecall/results?from_seq=<n>&rows=<k>`` answers::

    {"items": [{"callId", "subscriber": {"deviceNo"}, "result", "flags", "retries",
      "calledAt" ("YYYY-MM-DD HH:MM:SS", Seoul wall clock)}], "nextSeq": n, "last": false}

Results: ``ANSWERED`` (a normal answer), ``ABNORMAL`` (flags: ``통증`` pain,
``배고픔`` hunger, ``절망감`` hopelessness) and ``NO_ANSWER`` (after the retries).
Note ``last``: true on the final page (the other vendors say whether there is more).

    python -m care_sim.vendors.aicall --port 8103 --user county --password dev-aicall
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from care_models.synthetic.alert_streams import DeviceEvent
from care_sim.vendors.base import SEOUL, PolledVendorSimulator, common_arguments, demo_events

RESULTS = {"heartbeat": "ANSWERED", "abnormal_answer": "ABNORMAL", "missed_call": "NO_ANSWER"}
TOPICS = {"pain": "통증", "hunger": "배고픔", "hopelessness": "절망감"}


class AiCallSimulator(PolledVendorSimulator):
    name = "aicall"
    path = "/carecall/results"
    default_vendor = "V-AICALL"

    def __init__(
        self,
        *args: Any,
        user: str = "county",
        password: str = "dev-aicall",
        query_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.user, self.password, self.query_key = user, password, query_key
        super().__init__(*args, **kwargs)

    def authorized(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        if self.query_key is not None and "key" in query:
            return hmac.compare_digest(query["key"].encode(), self.query_key.encode())
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, f"{self.user}:{self.password}".encode())

    def cursor_and_size(self, query: Mapping[str, str]) -> tuple[str, str]:
        return query.get("from_seq", ""), query.get("rows", "")

    def render(self, event: DeviceEvent) -> dict[str, Any]:
        return {
            "callId": event.event_id,
            "subscriber": {"deviceNo": event.device},
            "result": RESULTS[event.kind],
            "flags": [TOPICS[t] for t in event.detail.get("topics", ())],
            "retries": int(event.detail.get("attempts", 1)),
            "calledAt": event.occurred_at.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S"),
        }

    def page(self, records: list[dict[str, Any]], next_cursor: str, more: bool) -> dict[str, Any]:
        return {"items": records, "nextSeq": int(next_cursor), "last": not more}

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"errorCode": f"E{status}", "errorMessage": message}


def main(argv: Sequence[str] | None = None) -> int:
    from care_sim.vendors.base import serve_forever

    parser = argparse.ArgumentParser(prog="python -m care_sim.vendors.aicall")
    common_arguments(parser, 8103, AiCallSimulator.default_vendor)
    parser.add_argument("--user", default="county")
    parser.add_argument("--password", default="dev-aicall")
    args = parser.parse_args(argv)
    events = demo_events(args.vendor, "ai_call", args.devices, args.seed)
    simulator = AiCallSimulator(
        events, page_size=args.page_size, port=args.port, user=args.user, password=args.password
    )
    return serve_forever(simulator, f"AI calls {args.vendor}: {len(events)} events")


if __name__ == "__main__":
    raise SystemExit(main())
