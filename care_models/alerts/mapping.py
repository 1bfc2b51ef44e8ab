"""Each vendor's vocabulary mapped to ours, by rules kept as data.

``care_models/alerts/rules/<vendor_type>.json`` says, for one vendor type:

- ``retention_days``: how far back the vendor keeps (and may still deliver) alerts;
  anything older is implausible (the gate's time rule);
- ``paging`` (polled vendors): the path, the cursor and size parameters, where the
  records, the next cursor and the "more" flag are in a page (dotted paths), and
  whether the flag means "more" (``more_when: true``) or "last" (``false``);
- ``push`` (pushing vendors): where the records are in a pushed body (``null``: the
  body is one record);
- ``record``: where a record keeps its id, device, code, time (and the time's
  format), battery, the vendor's "passed to 119" flag, flagged topics, and which
  other fields to keep in the alert's payload;
- ``codes``: the vendor's codes (exact, or a ``pattern``) and what each is: an
  ``alert`` of one of our kinds (``care_models.vocab.ALERT_KINDS``) with a severity,
  marked critical exactly when the kind is critical, a ``heartbeat`` (a sign of
  life: device health only) or ``ignore``.

The files are validated with pydantic when loaded: a broken file is a
ConfigurationError naming the file and the field. A record that breaks the rules
(a missing id, an unknown code, a time without a zone) raises
:class:`RecordRejected`, which names the field and the rule and never the value: the
gate quarantines that record alone.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, model_validator

from care_models import vocab
from care_models.errors import ConfigurationError, ValidationError

RULES_DIR = Path(__file__).resolve().parent / "rules"
SEOUL = dt.timezone(dt.timedelta(hours=9), "Asia/Seoul")
MAX_ID_CHARS = 80
MAX_DEVICE_CHARS = 60
MAX_CODE_CHARS = 60
MAX_DETAIL_CHARS = 200


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paging(_Strict):
    path: str
    cursor_param: str
    size_param: str
    records: str
    next_cursor: str
    more: str
    more_when: bool = True


class Push(_Strict):
    records: str | None = None


class RecordFields(_Strict):
    id: str
    device: str
    code: str
    occurred_at: str
    time_format: Literal["iso8601", "epoch_seconds", "seoul_wall_clock"]
    battery: str | None = None
    passed_to_119: str | None = None
    topics: str | None = None
    detail: tuple[str, ...] = ()


class CodeRule(_Strict):
    code: str | None = None
    pattern: str | None = None
    action: Literal["alert", "heartbeat", "ignore"]
    kind: str | None = None
    severity: Literal["info", "warning", "critical"] = "warning"
    critical: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> CodeRule:
        if (self.code is None) == (self.pattern is None):
            raise ValueError("give exactly one of code and pattern")
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.action == "alert":
            if self.kind not in vocab.ALERT_KINDS:
                raise ValueError(f"kind must be one of {', '.join(vocab.ALERT_KINDS)}")
            if self.critical != (self.kind in vocab.CRITICAL_ALERT_KINDS):
                raise ValueError("critical must be true exactly for the critical kinds")
            if self.critical and self.severity != "critical":
                raise ValueError("a critical kind needs severity critical")
        elif self.kind is not None:
            raise ValueError("only an alert has a kind")
        return self

    def matches(self, code: str) -> bool:
        if self.code is not None:
            return code == self.code
        return re.fullmatch(self.pattern or "", code) is not None


class VendorRules(_Strict):
    vendor_type: str
    retention_days: int = pydantic.Field(ge=1, le=365)
    paging: Paging | None = None
    push: Push | None = None
    record: RecordFields
    topics: dict[str, str] = pydantic.Field(default_factory=dict)
    codes: tuple[CodeRule, ...]

    @model_validator(mode="after")
    def _known(self) -> VendorRules:
        if self.vendor_type not in vocab.DEVICE_TYPES:
            raise ValueError(f"vendor_type must be one of {', '.join(vocab.DEVICE_TYPES)}")
        if self.paging is None and self.push is None:
            raise ValueError("a vendor is either polled (paging) or pushes (push)")
        if not self.codes:
            raise ValueError("codes must not be empty")
        return self

    @property
    def retention(self) -> dt.timedelta:
        return dt.timedelta(days=self.retention_days)

    def rule_for(self, code: str) -> CodeRule | None:
        return next((r for r in self.codes if r.matches(code)), None)


@lru_cache(maxsize=16)
def load_rules(vendor_type: str) -> VendorRules:
    """The rules of one vendor type (cached); ConfigurationError naming file and field."""
    where = f"care_models/alerts/rules/{vendor_type}.json"
    if vendor_type not in vocab.DEVICE_TYPES:
        raise ConfigurationError(where, "not a known device type")
    try:
        document = json.loads((RULES_DIR / f"{vendor_type}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(where, "no such rules file") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(where, f"invalid JSON at line {exc.lineno}") from None
    return parse_rules(document, where)


def parse_rules(document: Any, where: str = "vendor rules") -> VendorRules:
    try:
        rules = VendorRules.model_validate(document)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        place = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigurationError(where, f"{place}: {first['msg']}") from None
    if rules.vendor_type not in where and where.endswith(".json"):
        raise ConfigurationError(where, "vendor_type does not match the file name")
    return rules


# -- records -----------------------------------------------------------------------------


class RecordRejected(ValidationError):
    """One vendor record breaks the mapping rules (names the field and the rule)."""


@dataclass(frozen=True)
class MappedRecord:
    """A vendor record in our terms; ``kind`` is None for a heartbeat or ignored code."""

    external_id: str
    device: str
    vendor_kind: str
    action: str
    kind: str | None
    severity: str
    occurred_at: dt.datetime  # aware, UTC
    passed_to_119: bool = False
    battery_pct: int | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def get_path(document: Any, path: str) -> Any:
    """The value at a dotted path (``a.b.c``), or None where the path stops."""
    node = document
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def record_key(record: Any, rules: VendorRules) -> str | None:
    """The vendor's alert id of a record, when it is a usable one (for quarantine keys)."""
    value = get_path(record, rules.record.id) if isinstance(record, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.isprintable():
        return value
    return None


def _text(record: dict[str, Any], path: str, name: str, limit: int) -> str:
    value = get_path(record, path)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RecordRejected(name, "is missing or not text")
    if len(value) > limit or not value.isprintable():
        raise RecordRejected(name, f"must be printable text of at most {limit} characters")
    return value.strip()


def parse_time(value: Any, time_format: str) -> dt.datetime:
    """A vendor's time as an aware UTC datetime; RecordRejected naming the rule."""
    if time_format == "epoch_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordRejected("occurred_at", "must be epoch seconds")
    elif not isinstance(value, str) or len(value) > 40:
        raise RecordRejected("occurred_at", "must be a time text")
    try:
        if time_format == "epoch_seconds":
            return dt.datetime.fromtimestamp(float(value), dt.UTC)
        if time_format == "seoul_wall_clock":
            local = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            return local.replace(tzinfo=SEOUL).astimezone(dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise RecordRejected("occurred_at", f"is not a time in {time_format}") from None
    if parsed.tzinfo is None:
        raise RecordRejected("occurred_at", "needs a time zone")
    return parsed.astimezone(dt.UTC)


def _battery(record: dict[str, Any], rules: VendorRules) -> int | None:
    if rules.record.battery is None:
        return None
    value = get_path(record, rules.record.battery)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise RecordRejected("battery", "must be a percentage from 0 to 100")
    return int(value)


def _topics(record: dict[str, Any], rules: VendorRules) -> list[str]:
    if rules.record.topics is None:
        return []
    value = get_path(record, rules.record.topics) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordRejected("topics", "must be a list of texts")
    unknown = [v for v in value if v not in rules.topics]
    if unknown:
        raise RecordRejected("topics", "holds a topic the rules do not know")
    return sorted({rules.topics[v] for v in value})


def _detail(record: dict[str, Any], rules: VendorRules) -> dict[str, Any]:
    """The kept detail fields: scalars only, texts cut to a bound (payload stays small)."""
    kept: dict[str, Any] = {}
    for path in rules.record.detail:
        value = get_path(record, path)
        if isinstance(value, bool | int | float):
            kept[path] = value
        elif isinstance(value, str):
            kept[path] = value[:MAX_DETAIL_CHARS]
    return kept


def map_record(record: Any, rules: VendorRules) -> MappedRecord:
    """One vendor record in our terms; RecordRejected names the field and the rule."""
    if not isinstance(record, dict):
        raise RecordRejected("record", "must be an object")
    fields = rules.record
    external_id = _text(record, fields.id, "id", MAX_ID_CHARS)
    device = _text(record, fields.device, "device", MAX_DEVICE_CHARS)
    code = _text(record, fields.code, "code", MAX_CODE_CHARS)
    rule = rules.rule_for(code)
    if rule is None:
        raise RecordRejected("kind", "unknown vendor code")
    occurred_at = parse_time(get_path(record, fields.occurred_at), fields.time_format)
    passed = get_path(record, fields.passed_to_119) if fields.passed_to_119 else False
    if passed is not None and not isinstance(passed, bool):
        raise RecordRejected("passed_to_119", "must be true or false")
    payload: dict[str, Any] = {"vendor_code": code, **_detail(record, rules)}
    topics = _topics(record, rules)
    if topics:
        payload["topics"] = topics
    return MappedRecord(
        external_id=external_id,
        device=device,
        vendor_kind=code,
        action=rule.action,
        kind=rule.kind,
        severity=rule.severity,
        occurred_at=occurred_at,
        passed_to_119=bool(passed),
        battery_pct=_battery(record, rules),
        payload=payload,
    )
