"""The CapabilityStatement a FHIR server of ours answers at ``/metadata``."""

from __future__ import annotations

from typing import Any

FHIR_VERSION = "4.0.1"


def capability_statement(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A server CapabilityStatement (JSON, FHIR R4) naming what each resource supports."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "kind": "instance",
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{"mode": "server", "resource": resources}],
    }


def searchable(resource: str, *params: tuple[str, str], **extra: Any) -> dict[str, Any]:
    """One resource read and searched by ``params`` (name, type)."""
    return {
        "type": resource,
        "interaction": [{"code": "read"}, {"code": "search-type"}],
        "searchParam": [{"name": name, "type": kind} for name, kind in params],
        **extra,
    }
