"""The care database: SQLAlchemy 2 models for the whole domain of DOMAIN.md.

Conventions:
- natural keys are unique constraints, so writes can be idempotent upserts;
- personal fields end in ``_enc`` (AES-GCM ciphertext, see privacy.py) or
  ``_hash`` (keyed HMAC for matching); nothing personal is stored in clear;
- coded columns are checked by the database, not only by Python;
- timestamps are UTC, calendar dates are Asia/Seoul dates.

The models live in one module per area and are all importable from here.
"""

from care_models.schema.access import AccessToken, DatabaseMark
from care_models.schema.alerts import (
    Alert,
    AlertRevision,
    Device,
    EscalationStep,
    Incident,
    SyncWatermark,
    VendorSecret,
)
from care_models.schema.base import NAMING_CONVENTION, Base, created_at, one_of
from care_models.schema.care import CarePlan, PlannedService, UnplannedContact, Visit, VisitPlan
from care_models.schema.conferences import (
    AgendaItem,
    Conference,
    ConferenceMember,
    ConferenceParticipant,
    Decision,
)
from care_models.schema.county import (
    Client,
    ClientAbsence,
    ClosureDay,
    DutyRoster,
    LtcGradeChange,
    Organisation,
    Staff,
    StaffLeave,
    Town,
)
from care_models.schema.operations import (
    AuditLog,
    GateResult,
    OperationalAlert,
    OutboundMessage,
    QuarantinedRow,
)
from care_models.schema.pledges import (
    Budget,
    IndicatorActual,
    IndicatorTarget,
    PledgeCardVersion,
    PledgeIndicator,
    PledgeProgram,
)
from care_models.schema.referrals import Case, MatchReview, Need, Referral, ReferralStatusEvent

__all__ = [
    "NAMING_CONVENTION",
    "AccessToken",
    "AgendaItem",
    "Alert",
    "AlertRevision",
    "AuditLog",
    "Base",
    "Budget",
    "CarePlan",
    "Case",
    "Client",
    "ClientAbsence",
    "ClosureDay",
    "Conference",
    "ConferenceMember",
    "ConferenceParticipant",
    "DatabaseMark",
    "Decision",
    "Device",
    "DutyRoster",
    "EscalationStep",
    "GateResult",
    "Incident",
    "IndicatorActual",
    "IndicatorTarget",
    "LtcGradeChange",
    "MatchReview",
    "Need",
    "OperationalAlert",
    "Organisation",
    "OutboundMessage",
    "PlannedService",
    "PledgeCardVersion",
    "PledgeIndicator",
    "PledgeProgram",
    "QuarantinedRow",
    "Referral",
    "ReferralStatusEvent",
    "Staff",
    "StaffLeave",
    "SyncWatermark",
    "Town",
    "UnplannedContact",
    "VendorSecret",
    "Visit",
    "VisitPlan",
    "created_at",
    "one_of",
]
