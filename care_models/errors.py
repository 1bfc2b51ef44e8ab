"""The one exception hierarchy of the care platform.

Every error the domain raises on purpose derives from :class:`CareError`, so a
caller (a DAG task, the API, the command line) can catch the family it can
answer and let the rest propagate::

    CareError
    ├── ConfigurationError          a setting is missing, unknown or malformed
    │   ├── MissingKeyError         production mode without an encryption, match or token key
    │   └── KoreanFontMissingError  no Korean TrueType font to embed in the PDFs
    ├── PrivacyError                personal data cannot be protected or read back
    │   └── DecryptionError         a ciphertext does not open with any configured key
    ├── DataError                   input broke a rule; nothing was written
    │   ├── ValidationError         one record breaks one rule (names field and rule)
    │   ├── DuplicateError          a natural key already exists
    │   ├── NotFoundError           a record the input refers to does not exist
    │   ├── CapacityError           nobody can take the work within the rule's window
    │   └── MalformedResponseError  a remote system's answer breaks its format's structure
    ├── GateFailure                 a data-quality gate rejected a whole batch
    └── TransientError              a fault that may pass: the one retryable branch
        ├── ExternalServiceError    a hospital FHIR server or vendor API misbehaved
        ├── OverloadedError         a bounded pool is full: try again shortly
        └── StorageError            one item could not be stored (its batch went on)

Only :class:`TransientError` is worth retrying (``retryable``): a missing setting or
font, a broken rule or a failed gate gives the same answer on every attempt, so a
workflow step fails at once with the message (``plugins/care_tasks/outcomes.py`` is
the one place that turns this tree into Airflow outcomes). Errors from outside the
tree (a database lock, a dropped connection) are left to the retry policy too.

Messages never contain personal values: they name the field, the rule and the
record's non-personal key.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class CareError(Exception):
    """Base of every error the care platform raises on purpose."""

    retryable: ClassVar[bool] = False


class ConfigurationError(CareError):
    """A setting is missing, unknown or malformed; names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class MissingKeyError(ConfigurationError):
    """Production mode refuses to run without its encryption, match and token keys."""


class KoreanFontMissingError(ConfigurationError):
    """No Korean TrueType font to embed in the PDFs; names the files, places and remedy."""

    def __init__(self, names: Sequence[str], searched: Sequence[object], remedy: str) -> None:
        self.names = tuple(names)
        self.searched = tuple(searched)
        where = ", ".join(str(p) for p in searched) or "(no directory)"
        super().__init__("Korean font", f"none of {', '.join(names)} found under {where}; {remedy}")


class PrivacyError(CareError):
    """Personal data cannot be protected or read back."""


class DecryptionError(PrivacyError):
    """A ciphertext does not open with any configured key (wrong key or tampering)."""


class DataError(CareError):
    """Input broke a rule; nothing was written."""


class ValidationError(DataError, ValueError):
    """One record breaks one rule."""

    def __init__(self, field: str, rule: str, record: str | None = None) -> None:
        self.field = field
        self.rule = rule
        self.record = record
        where = f" (record {record})" if record else ""
        super().__init__(f"{field}: {rule}{where}")


class DuplicateError(DataError):
    """A natural key already exists."""


class NotFoundError(DataError, LookupError):
    """A record the input refers to (by its non-personal key) does not exist."""


class CapacityError(DataError, LookupError):
    """Nobody can take the work within the window a rule allows (names the rule)."""


class MalformedResponseError(DataError):
    """A remote system (a hospital FHIR server) answered a body that breaks its format.

    Not retried: the same page gives the same answer. Names the source, the element
    and the rule, never a value of the body.
    """


class GateFailure(CareError):
    """A data-quality gate rejected a whole batch: names the stage, rules and counts."""

    def __init__(
        self, stage: str, failed_rules: Sequence[str], rows_evaluated: int, rows_failed: int
    ) -> None:
        self.stage = stage
        self.failed_rules = list(failed_rules)
        self.rows_evaluated = rows_evaluated
        self.rows_failed = rows_failed
        rules = ", ".join(self.failed_rules) or "(none)"
        super().__init__(
            f"quality gate '{stage}' failed: {rows_failed} of {rows_evaluated} rows "
            f"broke rules: {rules}"
        )


class TransientError(CareError):
    """A fault that may pass on its own (a lock, a timeout): retried, a bounded number of times."""

    retryable = True


class OverloadedError(TransientError):
    """A bounded pool (API validation) is full; the caller should try again shortly."""


class StorageError(TransientError):
    """One item could not be stored; the others of its batch were (names no value)."""


class ExternalServiceError(TransientError):
    """A hospital FHIR server or a device vendor answered badly or not at all."""
