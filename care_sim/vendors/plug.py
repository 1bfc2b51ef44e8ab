"""Smart-plug vendor API: power use and light level, ``X-Api-Key`` header, English codes.

``GET /api/v2/events?cursor=<n>&size=<k>`` answers::

    {"result": "OK", "data": {"events": [{"eventId", "deviceSerial", "eventCode",
     "occurredAt" (ISO 8601, +09:00), "battery", "thresholdHours"}], "nextCursor": "n",
     "hasNext": true}}

Codes: ``NO_USAGE_<N>H`` (no power change for the household's N hours, 24 to 50),
``LIGHT_NO_CHANGE``, ``LOW_BATTERY``, ``통신두절`` (offline) and ``HEARTBEAT``.

    python -m care_sim.vendors.plug --port 8101 --api-key dev-plug-key
"""

from __future__ import annotations

import argparse
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from care_models.synthetic.alert_streams import DeviceEvent
from care_sim.vendors.base import SEOUL, PolledVendorSimulator, common_arguments, demo_events

CODES = {
    "no_activity": "LIGHT_NO_CHANGE",
    "low_battery": "LOW_BATTERY",
    "device_offline": "통신두절",
    "heartbeat": "HEARTBEAT",
}


class PlugSimulator(PolledVendorSimulator):
    name = "plug"
    path = "/api/v2/events"
    default_vendor = "V-PLUG"

    def __init__(self, *args: Any, api_key: str = "dev-plug-key", **kwargs: Any) -> None:
        self.api_key = api_key
        super().__init__(*args, **kwargs)

    def authorized(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        return hmac.compare_digest(headers.get("x-api-key", "").encode(), self.api_key.encode())

    def cursor_and_size(self, query: Mapping[str, str]) -> tuple[str, str]:
        return query.get("cursor", ""), query.get("size", "")

    def render(self, event: DeviceEvent) -> dict[str, Any]:
        if event.kind == "power_no_change":
            code = f"NO_USAGE_{int(event.detail.get('hours', 24))}H"
        else:
            code = CODES[event.kind]
        return {
            "eventId": event.event_id,
            "deviceSerial": event.device,
            "eventCode": code,
            "occurredAt": event.occurred_at.astimezone(SEOUL).isoformat(timespec="seconds"),
            "battery": event.detail.get("battery_pct"),
            "thresholdHours": event.detail.get("hours"),
        }

    def page(self, records: list[dict[str, Any]], next_cursor: str, more: bool) -> dict[str, Any]:
        return {
            "result": "OK",
            "data": {"events": records, "nextCursor": next_cursor, "hasNext": more},
        }

    def error(self, status: int, message: str) -> dict[str, Any]:
        return {"result": "ERROR", "code": status, "message": message}


def main(argv: Sequence[str] | None = None) -> int:
    from care_sim.vendors.base import serve_forever

    parser = argparse.ArgumentParser(prog="python -m care_sim.vendors.plug")
    common_arguments(parser, 8101, PlugSimulator.default_vendor)
    parser.add_argument("--api-key", default="dev-plug-key")
    args = parser.parse_args(argv)
    events = demo_events(args.vendor, "smart_plug", args.devices, args.seed)
    simulator = PlugSimulator(
        events, page_size=args.page_size, port=args.port, api_key=args.api_key
    )
    return serve_forever(simulator, f"smart plugs {args.vendor}: {len(events)} events")


if __name__ == "__main__":
    raise SystemExit(main())
