"""Emergency-safety gateway vendor API (응급안전안심서비스): bearer token, Korean codes.

``GET /gw/v1/alarms?after=<n>&limit=<k>`` answers::

    {"alarms": [{"alarmNo", "gatewayId", "eventType", "ts" (epoch seconds),
      "forwarded119", "batteryLevel"}], "paging": {"next": "n", "more": true}}

Codes: ``화재`` (fire), ``가스누출`` (gas), ``활동미감지`` (no activity), ``출입문``
(door), ``응급호출`` (emergency button), ``배터리부족`` and ``주기보고`` (heartbeat).
Fire and gas were already passed to 119 by the vendor's centre: ``forwarded119``.

    python -m care_sim.vendors.gateway --port 8102 --token dev-gateway-token
"""

from __future__ import annotations

import argparse
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from care_models.synthetic.alert_streams import DeviceEvent
from care_sim.vendors.base import PolledVendorSimulator, common_arguments, demo_events

CODES = {
    "fire": "화재",
    "gas": "가스누출",
    "no_activity": "활동미감지",
    "door": "출입문",
    "emergency_button": "응급호출",
    "low_battery": "배터리부족",
    "heartbeat": "주기보고",
}


class GatewaySimulator(PolledVendorSimulator):
    name = "gateway"
    path = "/gw/v1/alarms"
    default_vendor = "V-SENSOR"

    def __init__(self, *args: Any, token: str = "dev-gateway-token", **kwargs: Any) -> None:
        self.token = token
        super().__init__(*args, **kwargs)

    def authorized(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.token.encode()
        )

    def cursor_and_size(self, query: Mapping[str, str]) -> tuple[str, str]:
        return query.get("after", ""), query.get("limit", "")

    def render(self, event: DeviceEvent) -> dict[str, Any]:
        return {
            "alarmNo": event.event_id,
            "gatewayId": event.device,
            "eventType": CODES[event.kind],
            "ts": int(event.occurred_at.timestamp()),
            "forwarded119": bool(event.detail.get("forwarded_119", False)),
            "batteryLevel": event.detail.get("battery_pct"),
        }

    def page(self, records: list[dict[str, Any]], next_cursor: str, more: bool) -> dict[str, Any]:
        return {"alarms": records, "paging": {"next": next_cursor, "more": more}}


def main(argv: Sequence[str] | None = None) -> int:
    from care_sim.vendors.base import serve_forever

    parser = argparse.ArgumentParser(prog="python -m care_sim.vendors.gateway")
    common_arguments(parser, 8102, GatewaySimulator.default_vendor)
    parser.add_argument("--token", default="dev-gateway-token")
    args = parser.parse_args(argv)
    events = demo_events(args.vendor, "emergency_sensor", args.devices, args.seed)
    simulator = GatewaySimulator(events, page_size=args.page_size, port=args.port, token=args.token)
    return serve_forever(simulator, f"safety gateways {args.vendor}: {len(events)} events")


if __name__ == "__main__":
    raise SystemExit(main())
