"""Airflow plugin: mounts the care API in Airflow's API server under ``/care``, and
adds its "Care operations" page (``/care/ops/``) to Airflow's menu.

Airflow does not protect plugin routes; the care API authenticates every call
itself (see ``care_api.app``). A new referral registers an event on the
``care://referrals/received`` Asset so that ``referral_intake`` runs at once.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin

from care_api.app import create_app
from care_assets import DEVICE_ALERTS_PUSHED, REFERRALS_RECEIVED
from timetables.conferences import Tier1ConferenceTimetable, Tier2ConferenceTimetable
from timetables.pledges import PledgeReportTimetable

REFERRALS_RECEIVED_URI = REFERRALS_RECEIVED.uri
log = logging.getLogger(__name__)


def signal_referral_received(referral_id: int) -> None:
    """Record an asset event in Airflow's metadata database (we run inside the API server)."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == REFERRALS_RECEIVED_URI))
        if asset is None:
            log.warning("asset %s is not known to Airflow yet", REFERRALS_RECEIVED_URI)
            return
        asset_manager.register_asset_change(
            asset=asset, extra={"referral_id": referral_id}, source_is_api=True, session=session
        )


def signal_alerts_pushed(vendor_code: str, alert_ids: list[int]) -> None:
    """An asset event on ``care://alerts/pushed``: ``device_alert_sync`` runs at once."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        uri = DEVICE_ALERTS_PUSHED.uri
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == uri))
        if asset is None:
            log.warning("asset %s is not known to Airflow yet", uri)
            return
        extra = {"vendor": vendor_code, "alert_ids": alert_ids[:100]}
        asset_manager.register_asset_change(
            asset=asset, extra=extra, source_is_api=True, session=session
        )


def _care_app() -> object:
    app = create_app(on_referral_received=signal_referral_received)
    app.state.on_alerts_pushed = signal_alerts_pushed
    return app


class CarePlugin(AirflowPlugin):
    name = "care_platform"
    timetables = [  # noqa: RUF012
        Tier1ConferenceTimetable,
        Tier2ConferenceTimetable,
        PledgeReportTimetable,
    ]
    fastapi_apps = [  # noqa: RUF012 (Airflow reads this class attribute)
        {
            "app": _care_app(),
            "url_prefix": "/care",
            "name": "Care API (hospitals)",
        },
    ]
    # The administrators' page, served by the care API above and shown in Airflow's menu;
    # the page verifies Airflow's own token itself (care_api.ops).
    external_views = [  # noqa: RUF012
        {
            "name": "Care operations",
            "href": "care/ops/",
            "destination": "nav",
            "url_route": "care-operations",
        },
    ]
