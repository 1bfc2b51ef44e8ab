"""Problems with a Bundle as FHIR OperationOutcome issues: where, and which rule.

An issue names the element (a FHIRPath ``expression``) and the rule with its allowed
values, never the value that broke it: that value is a hospital's input and may be
personal data put in the wrong field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from care_models.errors import DataError


@dataclass(frozen=True)
class Issue:
    """One problem, as an OperationOutcome.issue: FHIR issue type, element and rule."""

    code: str
    expression: str
    diagnostics: str
    severity: str = "error"


class BundleRejected(DataError):
    """The Bundle breaks the rules; ``status`` is the HTTP status to answer with."""

    def __init__(self, issues: Sequence[Issue], status: int = 422) -> None:
        self.issues = list(issues)
        self.status = status
        first = self.issues[0]
        super().__init__(f"{first.expression}: {first.diagnostics}")
