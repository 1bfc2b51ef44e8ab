"""Pull discharge referrals from a hospital's FHIR R4 server (httpx, synchronous).

For hospitals that run a FHIR server the county polls instead of waiting for a push::

    GET {base}/ServiceRequest?status=active&_lastUpdated=ge{watermark - overlap}
        &_sort=_lastUpdated
        &_include=ServiceRequest:subject&_include=ServiceRequest:encounter
        &_revinclude=Task:focus
        &_revinclude:iterate=Condition:subject&_revinclude:iterate=Observation:subject
        &_revinclude:iterate=QuestionnaireResponse:subject&_count={page_size}

and follows the searchset's ``next`` links. These are the standard search
parameters: a server that answers exactly what was asked for returns the matching
ServiceRequests, their Patient and Encounter, their Task, and (``:iterate``, from
the included Patient) the Conditions, Observations and QuestionnaireResponses about
the patient. Each matching ServiceRequest is turned back into the transaction Bundle
a pushing hospital would have sent (the clinical resources of its encounter, or
without an encounter of its patient, and of the Observations only the ADL and
living-situation ones the referral is read from; references rewritten to
``urn:uuid:`` fullUrls) and goes through the same door as a push:
:func:`care_models.referrals.store.submit_referral` (``source="pull"``), so the
same rules apply and the hospital's referral identifier keeps it idempotent.

The watermark (``sync_watermarks``, source ``fhir:{hospital code}``) is committed
only after a complete run (every page fetched and every referral on it stored or
rejected): the highest ``meta.lastUpdated`` of the ServiceRequests the run saw. A
run that fails on any page leaves it where it was, so the next run reads every page
again; nothing on a later page can be skipped, whatever order the server answers
in. The search starts :data:`OVERLAP` before the watermark (``ge``), because a
server may stamp a resource when its transaction starts and show it only when it
commits, after a run that read past that stamp. Re-reading is harmless: a referral
already stored is answered as existing (same Task, no new version), and a rejected
one is audited once per server version (:func:`record_rejection_once`).

Transient failures (HTTP 5xx and 429, timeouts, connection errors) are retried by the
shared :class:`care_hooks.http.RetryPolicy`; when retries run out,
:class:`ExternalServiceError` names the hospital code and the URL path. A malformed
page raises :class:`MalformedResponseError` (see :mod:`care_hooks.fhir_page`). Logs
carry counts and identifiers, never personal data.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from care_hooks.fhir_page import get_searchset
from care_hooks.http import RetryPolicy, make_client
from care_models.errors import DataError, ExternalServiceError, ValidationError
from care_models.fhir.bundle import (
    ADL_OBSERVATION_CODE,
    ADL_SYSTEM,
    LIVING_SITUATION_LOINC,
    LOINC,
    BundleRejected,
    Issue,
)
from care_models.fhir.instants import format_instant, parse_instant
from care_models.privacy import Vault, audit
from care_models.referrals.store import submit_referral
from care_models.schema import AuditLog, Organisation, SyncWatermark

log = logging.getLogger(__name__)

EPOCH = "1970-01-01T00:00:00Z"
# How far before the watermark each search starts: longer than a hospital server's
# transactions take to commit (see the module docstring).
OVERLAP = dt.timedelta(minutes=5)
INCLUDES = ("ServiceRequest:subject", "ServiceRequest:encounter")
REVINCLUDES = ("Task:focus",)
# From the included Patient: the resources about the patient a referral Bundle carries.
ITERATE_REVINCLUDES = (
    "Condition:subject",
    "Observation:subject",
    "QuestionnaireResponse:subject",
)
# Resources about the referral's patient or encounter that belong in its Bundle.
CLINICAL_TYPES = ("Condition", "Observation", "QuestionnaireResponse")
REFERRAL_OBSERVATIONS = {(ADL_SYSTEM, ADL_OBSERVATION_CODE), (LOINC, LIVING_SITUATION_LOINC)}
ENTRY_ORDER = (
    "Patient",
    "Encounter",
    "Condition",
    "ServiceRequest",
    "Observation",
    "QuestionnaireResponse",
    "Task",
)
MAX_PAGES = 10_000
MAX_SAME_PAGE = 3  # a next link repeating more often than this is a loop, not a glitch
_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


@dataclass
class PullResult:
    """What one pull did: pages fetched and referrals created, already known or rejected."""

    pages: int
    created: int
    existing: int
    rejected: int
    watermark_before: str
    watermark_after: str

    @property
    def fetched(self) -> int:
        return self.created + self.existing + self.rejected


def watermark_source(hospital: Organisation) -> str:
    return f"fhir:{hospital.code}"


def search_params(
    watermark: str, page_size: int, overlap: dt.timedelta = OVERLAP
) -> httpx.QueryParams:
    """The first page's query: sorted, from ``overlap`` before the watermark, with includes."""
    since = EPOCH if watermark == EPOCH else format_instant(parse_instant(watermark) - overlap)
    return httpx.QueryParams(
        [
            ("status", "active"),
            ("_lastUpdated", f"ge{since}"),
            ("_sort", "_lastUpdated"),
            *(("_include", i) for i in INCLUDES),
            *(("_revinclude", r) for r in REVINCLUDES),
            *(("_revinclude:iterate", r) for r in ITERATE_REVINCLUDES),
            ("_count", str(page_size)),
        ]
    )


# -- watermark -------------------------------------------------------------------------------


def read_watermark(factory: sessionmaker[Session], source: str) -> str:
    with factory() as session:
        row = session.get(SyncWatermark, source)
        value = row.watermark if row is not None else EPOCH
    try:
        parse_instant(value)
    except ValueError:
        raise ValidationError(
            "sync_watermarks.watermark", "is not a FHIR instant", source
        ) from None
    return value


def advance_watermark(factory: sessionmaker[Session], source: str, value: str) -> str:
    """Upsert the watermark to ``value`` unless it is already later; return the stored one."""
    for _ in range(3):
        try:
            with factory() as session, session.begin():
                row = session.get(SyncWatermark, source, with_for_update=True)
                if row is None:
                    session.add(SyncWatermark(source=source, watermark=value))
                    return value
                if parse_instant(row.watermark) >= parse_instant(value):
                    return row.watermark
                row.watermark = value
                return value
        except IntegrityError:  # a concurrent pull inserted the row first: update it
            continue
    raise ExternalServiceError(f"cannot store the watermark of {source}")


# -- HTTP ------------------------------------------------------------------------------------


def _next_link(page: Mapping[str, Any], current: str) -> str | None:
    for link in page.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and link.get("url"):
            return urljoin(current, str(link["url"]))
    return None


def _same_origin(a: str, b: str) -> bool:
    x, y = urlsplit(a), urlsplit(b)
    return (x.scheme, x.hostname, x.port) == (y.scheme, y.hostname, y.port)


# -- assembling transaction Bundles -------------------------------------------------------


def _references(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


class _Page:
    """The resources of one searchset page, addressable by the references between them."""

    def __init__(self, page: Mapping[str, Any], base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.keys: list[str] = []  # in page order
        self.resources: dict[str, dict[str, Any]] = {}
        self.full_urls: dict[str, str] = {}
        self.matches: list[str] = []
        self._aliases: dict[str, str] = {}
        for entry in page.get("entry") or []:
            resource = (entry or {}).get("resource")
            if not isinstance(resource, dict) or not resource.get("resourceType"):
                continue
            kind, rid = resource["resourceType"], resource.get("id")
            full_url = entry.get("fullUrl") or (f"{self.base}/{kind}/{rid}" if rid else None)
            if full_url is None:
                continue
            key = f"{kind}/{rid}" if rid else full_url
            if key in self.resources:  # the same resource twice in a page
                continue
            self.keys.append(key)
            self.resources[key] = resource
            self.full_urls[key] = full_url
            self._aliases[full_url] = key
            self._aliases[f"{self.base}/{key}"] = key
            mode = ((entry.get("search") or {}).get("mode")) or "match"
            if kind == "ServiceRequest" and mode == "match":
                self.matches.append(key)

    def resolve(self, reference: Any) -> str | None:
        """The page key a reference points at (relative, absolute or versioned), if any."""
        if not isinstance(reference, str):
            return None
        reference = reference.split("/_history/")[0]
        if reference in self._aliases:
            return self._aliases[reference]
        if reference.startswith(self.base + "/"):
            reference = reference[len(self.base) + 1 :]
        return reference if reference in self.resources else None

    def target(self, resource: Mapping[str, Any], element: str) -> str | None:
        value = resource.get(element)
        return self.resolve(value.get("reference")) if isinstance(value, dict) else None

    def referenced(self, key: str) -> Iterator[str]:
        for reference in _references(self.resources[key]):
            found = self.resolve(reference["reference"])
            if found is not None:
                yield found


def _selection(page: _Page, request_key: str) -> list[str]:
    """The page keys that make up one referral, in page order."""
    selected = {request_key}

    def close_over(start: set[str]) -> None:
        queue = list(start)
        while queue:
            for found in page.referenced(queue.pop()):
                other_request = found.startswith("ServiceRequest/") and found != request_key
                if found not in selected and not other_request:
                    selected.add(found)
                    queue.append(found)

    close_over({request_key})
    request = page.resources[request_key]
    patients = {k for k in [page.target(request, "subject")] if k}
    encounters = {k for k in [page.target(request, "encounter")] if k}
    added: set[str] = set()
    for key in page.keys:
        resource = page.resources[key]
        kind = resource["resourceType"]
        if kind == "Task":
            if request_key in (
                page.target(resource, "focus"),
                *(page.resolve(b.get("reference")) for b in _objects(resource.get("basedOn"))),
            ):
                added.add(key)
        elif kind in CLINICAL_TYPES and _needed(resource):
            encounter = page.target(resource, "encounter")
            if encounter in encounters or (
                encounter is None and page.target(resource, "subject") in patients
            ):
                added.add(key)
    selected |= added
    close_over(added)
    return [k for k in page.keys if k in selected]


def _needed(resource: Mapping[str, Any]) -> bool:
    """Whether a clinical resource belongs in a referral: Conditions and questionnaires
    do; of the patient's Observations (labs, vitals...) only those the referral is
    read from (ADL difficulties, living situation), so nothing more is stored."""
    if resource.get("resourceType") != "Observation":
        return True
    code = resource.get("code")
    codings = _objects(code.get("coding")) if isinstance(code, dict) else []
    return any((c.get("system"), c.get("code")) in REFERRAL_OBSERVATIONS for c in codings)


def _objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list element (a server may put anything there)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _urn(full_url: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, full_url.split('/_history/')[0])}"


def _order(resource: Mapping[str, Any]) -> int:
    kind = resource.get("resourceType")
    return ENTRY_ORDER.index(kind) if kind in ENTRY_ORDER else len(ENTRY_ORDER)


def referral_bundles(
    page: Mapping[str, Any], base_url: str, identifier_system: str | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(ServiceRequest as served, transaction Bundle) for each match of a searchset page.

    The Bundle holds the ServiceRequest and the page's resources it references
    (directly or through the resources it references), the Tasks whose focus is it
    and the Conditions, QuestionnaireResponses and ADL or living-situation
    Observations about its encounter (or, without an encounter, its patient).
    References between them become ``urn:uuid:`` fullUrls (stable: derived from the
    server's URL of the resource); references to resources outside the Bundle become
    absolute server URLs. Server ids are dropped and ``meta.source`` names the server
    resource.
    """
    parsed = _Page(page, base_url)
    result = []
    for request_key in parsed.matches:
        keys = sorted(_selection(parsed, request_key), key=lambda k: _order(parsed.resources[k]))
        urns = {k: _urn(parsed.full_urls[k]) for k in keys}
        entries = []
        for key in keys:
            resource = copy.deepcopy(parsed.resources[key])
            for reference in _references(resource):
                found = parsed.resolve(reference["reference"])
                if found in urns:
                    reference["reference"] = urns[found]
                elif _RELATIVE.match(reference["reference"]):
                    reference["reference"] = f"{parsed.base}/{reference['reference']}"
            resource.pop("id", None)
            meta = resource.setdefault("meta", {})
            version = meta.get("versionId")
            meta["source"] = parsed.full_urls[key] + (f"/_history/{version}" if version else "")
            request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
            if key == request_key and identifier_system:
                own = [
                    i
                    for i in _objects(resource.get("identifier"))
                    if i.get("system") == identifier_system and isinstance(i.get("value"), str)
                ]
                if own:
                    request["ifNoneExist"] = f"identifier={identifier_system}|{own[0]['value']}"
            entries.append({"fullUrl": urns[key], "resource": resource, "request": request})
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        result.append((parsed.resources[request_key], bundle))
    return result


def bundle_bytes(bundle: Mapping[str, Any]) -> bytes:
    """The exact bytes submitted (and stored) for an assembled Bundle."""
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _last_updated(request: Mapping[str, Any]) -> tuple[dt.datetime, str] | None:
    value = (request.get("meta") or {}).get("lastUpdated")
    if not isinstance(value, str):
        return None
    try:
        return parse_instant(value), value
    except ValueError:
        return None


# -- the pull --------------------------------------------------------------------------------


def pull_hospital(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    base_url: str,
    *,
    today: dt.date,
    client: httpx.Client | None = None,
    page_size: int = 20,
    max_retries: int = 4,
    backoff_seconds: float = 0.2,
    timeout_seconds: float = 5.0,
    policy: RetryPolicy | None = None,
) -> PullResult:
    """Pull the hospital's referrals since the watermark; commit it after the last page.

    ``timeout_seconds`` applies to every request, also with a caller's ``client``. A
    ``policy`` replaces the one made of ``max_retries`` and ``backoff_seconds``.
    Raises ExternalServiceError when the server fails beyond ``max_retries`` retries,
    MalformedResponseError on a malformed page: referrals of the pages before stay
    stored, the watermark stays where it was.
    """
    base = base_url.rstrip("/")
    source = watermark_source(hospital)
    before = read_watermark(factory, source)
    result = PullResult(0, 0, 0, 0, before, before)
    own_client = client is None
    http = client or make_client(timeout_seconds=timeout_seconds)
    timeout = http.timeout if own_client else httpx.Timeout(timeout_seconds)
    policy = policy or RetryPolicy(
        attempts=max_retries + 1, backoff_seconds=backoff_seconds, max_backoff_seconds=5.0
    )
    params: httpx.QueryParams | None = search_params(before, page_size)
    url: str | None = f"{base}/ServiceRequest"
    seen: Counter[str] = Counter()
    newest: tuple[dt.datetime, str] | None = None
    try:
        while url is not None:
            page = get_searchset(
                http, url, params, hospital_code=hospital.code, policy=policy, timeout=timeout
            )
            result.pages += 1
            newest = _latest(
                newest, _process_page(factory, vault, hospital, page, base, today, result)
            )
            url, params = _following(page, url, base, hospital.code, seen, result.pages), None
    finally:
        if own_client:
            http.close()
    if newest is not None and parse_instant(before) < newest[0]:
        result.watermark_after = advance_watermark(factory, source, newest[1])
    log.info(
        "FHIR pull %s: %d pages, %d created, %d existing, %d rejected, watermark %s -> %s",
        hospital.code,
        result.pages,
        result.created,
        result.existing,
        result.rejected,
        result.watermark_before,
        result.watermark_after,
    )
    return result


def _latest(
    a: tuple[dt.datetime, str] | None, b: tuple[dt.datetime, str] | None
) -> tuple[dt.datetime, str] | None:
    if a is None or (b is not None and b[0] > a[0]):
        return b
    return a


def _following(
    page: Mapping[str, Any], url: str, base: str, code: str, seen: Counter[str], pages: int
) -> str | None:
    """The next page's URL, if any; a link off the server or a paging loop is an error."""
    next_url = _next_link(page, url)
    if next_url is None:
        return None
    seen[next_url] += 1
    if not _same_origin(next_url, base):
        raise ExternalServiceError(
            f"FHIR server of {code}: a next link leaves the server ({urlsplit(next_url).hostname})"
        )
    if seen[next_url] > MAX_SAME_PAGE or pages >= MAX_PAGES:
        raise ExternalServiceError(
            f"FHIR server of {code}: paging of {urlsplit(url).path} does not end"
        )
    return next_url


def _process_page(
    factory: sessionmaker[Session],
    vault: Vault,
    hospital: Organisation,
    page: Mapping[str, Any],
    base: str,
    today: dt.date,
    result: PullResult,
) -> tuple[dt.datetime, str] | None:
    """Submit each referral of the page; return the page's newest ServiceRequest stamp."""
    newest: tuple[dt.datetime, str] | None = None
    for request, bundle in referral_bundles(page, base, hospital.identifier_system):
        stamp = _last_updated(request)
        server_id = f"ServiceRequest/{request.get('id')}"
        payload = bundle_bytes(bundle)
        try:
            submission = submit_referral(
                factory, vault, hospital, payload, today=today, source="pull"
            )
        except BundleRejected as exc:
            _rejected(factory, hospital, server_id, payload, exc.issues, result)
        except DataError as exc:  # another rule of the store: this referral alone
            issue = Issue("business-rule", "Bundle", type(exc).__name__)
            _rejected(factory, hospital, server_id, payload, [issue], result)
        else:
            if submission.created:
                result.created += 1
            else:
                result.existing += 1
            log.debug(
                "FHIR pull %s: %s -> referral %s (%s)",
                hospital.code,
                server_id,
                submission.referral.id,
                "created" if submission.created else "existing",
            )
        if stamp is None:
            log.warning("FHIR pull %s: %s has no meta.lastUpdated", hospital.code, server_id)
        newest = _latest(newest, stamp)
    return newest


def _rejected(
    factory: sessionmaker[Session],
    hospital: Organisation,
    server_id: str,
    payload: bytes,
    issues: list[Issue],
    result: PullResult,
) -> None:
    result.rejected += 1
    first = record_rejection_once(factory, hospital.code, payload, issues)
    log.warning(
        "FHIR pull %s: %s rejected%s (%d issues: %s)",
        hospital.code,
        server_id,
        "" if first else " again",
        len(issues),
        ", ".join(i.expression for i in issues[:5]),
    )


def record_rejection_once(
    factory: sessionmaker[Session], actor: str, payload: bytes, issues: list[Issue]
) -> bool:
    """Audit a rejected pulled Bundle once per content; False when it already was.

    The overlap window re-reads recent referrals on every run, so the rejection is
    keyed by the assembled Bundle's hash (``entity_id``): a re-read of the same
    server version adds no line, a changed version is judged and audited anew. The
    line holds the rules broken, never a value (as for a pushed Bundle).
    """
    key = "sha256:" + hashlib.sha256(payload).hexdigest()[:32]
    with factory() as session, session.begin():
        known = session.scalar(
            select(AuditLog.id).where(
                AuditLog.entity == "referral_bundle",
                AuditLog.entity_id == key,
                AuditLog.actor == actor,
            )
        )
        if known is not None:
            return False
        audit(
            session,
            actor=actor,
            action="reject",
            entity="referral_bundle",
            entity_id=key,
            fields=[i.expression for i in issues][:20],
            purpose=issues[0].diagnostics[:200] if issues else None,
        )
    return True
