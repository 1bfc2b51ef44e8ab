"""Airflow plugin: mounts the care API in Airflow's API server under ``/care``.

Airflow does not protect plugin routes; the care API authenticates every call
itself (see ``care_api.app``). A new referral registers an event on the
``care://referrals/received`` Asset so that ``referral_intake`` runs at once.
"""

from __future__ import annotations

import logging

from airflow.plugins_manager import AirflowPlugin

from care_api.app import create_app
from care_assets import REFERRALS_RECEIVED

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


class CarePlugin(AirflowPlugin):
    name = "care_platform"
    fastapi_apps = [  # noqa: RUF012 (Airflow reads this class attribute)
        {
            "app": create_app(on_referral_received=signal_referral_received),
            "url_prefix": "/care",
            "name": "Care API (hospitals)",
        },
    ]
