"""The outer wall of Bundle parsing: strict UTF-8, bounded JSON, references that resolve.

Everything here runs before the FHIR models see a byte, because the models (and the
database behind them) fail in costly or crashing ways on hostile input: a deeply
nested document exhausts the interpreter's stack, a 5,000-digit number trips
Python's integer conversion limit, a UTF-16 body parses (``json.loads`` guesses the
encoding) but cannot be stored as text, a NUL character or a 500-character
identifier breaks PostgreSQL, and 10,000 entries keep a worker validating for seconds.

Each check fails with a :class:`~care_models.fhir.bundle.Issue` that names where and
which rule, never the offending value: the body is a hospital's, and a value put in
the wrong field may be a resident registration number. Paths are built only from
array indexes and element names that look like FHIR element names (ASCII
lowerCamelCase); any other key is shown as ``*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from care_models.fhir.issues import BundleRejected, Issue

BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# C0 controls except tab, LF and CR; DEL; C1 controls; lone surrogates (from \ud800 escapes).
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
ELEMENT_NAME = re.compile(r"[a-z][A-Za-z0-9]{0,39}|resourceType")
# Elements whose string is an identifier the county stores and searches by.
IDENTIFIER_ELEMENTS = frozenset({"system", "value", "reference", "fullUrl", "id", "ifNoneExist"})


@dataclass(frozen=True)
class InputLimits:
    """The caps a Bundle must stay within (``CARE_API_MAX_*`` settings)."""

    depth: int = 32
    entries: int = 100
    string_chars: int = 4096
    identifier_chars: int = 100
    number_chars: int = 32

    @classmethod
    def from_settings(cls, settings: Any) -> InputLimits:
        return cls(
            depth=settings.api_max_json_depth,
            entries=settings.api_max_bundle_entries,
            string_chars=settings.api_max_string_chars,
            identifier_chars=settings.api_max_identifier_chars,
            number_chars=settings.api_max_number_chars,
        )


class _Refused(ValueError):
    """Raised from inside ``json.loads`` hooks; becomes a 400 with its rule."""


def _reject(
    rule: str, expression: str = "Bundle", status: int = 400, code: str = "structure"
) -> BundleRejected:
    return BundleRejected([Issue(code, expression, rule)], status)


def strict_text(body: bytes) -> str:
    """The body as UTF-8 text: no byte order mark, no invalid byte (400 otherwise)."""
    if body.startswith(BOMS) or body[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise _reject("the body must be UTF-8 without a byte order mark")
    try:
        return body.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise _reject("the body must be valid UTF-8 (UTF-16 and UTF-32 are refused)") from None


def load_json(body: bytes, limits: InputLimits) -> dict[str, Any]:
    """Decode a request body as a bounded JSON object, checked by :func:`check_values`."""
    text = strict_text(body)

    def number(kind: str) -> Any:
        convert = int if kind == "integer" else float

        def parse(literal: str) -> Any:
            if len(literal) > limits.number_chars:
                raise _Refused(f"numbers must be at most {limits.number_chars} characters")
            return convert(literal)

        return parse

    def constant(_name: str) -> Any:
        raise _Refused("NaN and Infinity are not JSON numbers")

    try:
        document = json.loads(
            text,
            parse_int=number("integer"),
            parse_float=number("float"),
            parse_constant=constant,
        )
    except _Refused as refused:
        raise _reject(str(refused)) from None
    except RecursionError:
        raise _reject(f"the JSON is nested deeper than {limits.depth} levels") from None
    except json.JSONDecodeError as exc:
        raise _reject(f"body is not valid JSON at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(document, dict):
        raise _reject("body must be a JSON object")
    check_values(document, limits)
    return document


# A node of the walk: (value, depth, key or index in its parent, parent node, is a key).
# The parent link gives the path back when something fails, without building a path
# for every value of a valid Bundle (the common case, on the API's busiest route).
_Node = tuple[Any, int, Any, Any, bool]


def _walk(document: Any) -> Iterator[_Node]:
    """Every node of a JSON document, its keys included; no recursion."""
    stack: list[_Node] = [(document, 0, None, None, False)]
    while stack:
        node = stack.pop()
        yield node
        value, depth = node[0], node[1] + 1
        if isinstance(value, dict):
            for key, child in value.items():
                yield (key, depth, key, node, True)  # a key is input too
                stack.append((child, depth, key, node, False))
        elif isinstance(value, list):
            stack.extend((child, depth, i, node, False) for i, child in enumerate(value))


def _path(node: _Node) -> tuple[Any, ...]:
    parts: list[Any] = []
    while node[3] is not None:
        parts.append(node[2])
        node = node[3]
    return tuple(reversed(parts))


def expression(path: tuple[Any, ...]) -> str:
    """A FHIRPath-like location from a JSON path, without any key that is not a name."""
    text = "Bundle"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if ELEMENT_NAME.fullmatch(str(part)) else ".*"
    return text


def _within(node: Any, depth: int, limits: InputLimits, strings: list[str]) -> bool:
    """True if no container below ``node`` is too deep and no string too long.

    Collects every key and string into ``strings`` for one control-character search.
    Recursion is safe: it stops one level past ``limits.depth``.
    """
    if node and depth + 1 > limits.depth:
        return False
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for name, value in items:
        if isinstance(name, str):
            strings.append(name)
            if len(name) > limits.string_chars:
                return False
        if isinstance(value, str):
            strings.append(value)
            cap = limits.identifier_chars if name in IDENTIFIER_ELEMENTS else limits.string_chars
            if len(value) > cap:
                return False
        elif isinstance(value, dict | list) and not _within(value, depth + 1, limits, strings):
            return False
    return True


def check_values(document: Mapping[str, Any], limits: InputLimits) -> None:
    """Depth, entry count, string and identifier lengths, control characters (400).

    A quick pass decides whether all is well (the common case, on the API's busiest
    route); only a Bundle that breaks a rule is walked again to name where.
    """
    entries = document.get("entry")
    if isinstance(entries, list) and len(entries) > limits.entries:
        rule = f"a Bundle may hold at most {limits.entries} entries"
        raise _reject(rule, "Bundle.entry", 413, "too-costly")
    strings: list[str] = []
    if _within(document, 0, limits, strings) and not FORBIDDEN.search("\n".join(strings)):
        return
    for node in _walk(document):
        value, depth, name, _, is_key = node
        if depth > limits.depth:
            raise _reject(f"the JSON is nested deeper than {limits.depth} levels")
        if not isinstance(value, str):
            continue
        if FORBIDDEN.search(value):
            rule = "control characters and unpaired surrogates are not allowed"
            raise _reject(rule, expression(_path(node)))
        identifier = not is_key and name in IDENTIFIER_ELEMENTS
        cap = limits.identifier_chars if identifier else limits.string_chars
        if len(value) > cap:
            raise _reject(f"must be at most {cap} characters", expression(_path(node)))


def _references(node: Any, found: list[str]) -> None:
    """Every string ``reference`` below ``node`` (depth already bounded by check_values)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for name, value in items:
        if name == "reference" and isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict | list):
            _references(value, found)


def _resolves(value: str, known: set[str]) -> bool:
    if value.startswith("#"):  # a contained resource: the models check those
        return True
    return value in known or any(url.endswith(f"/{value}") for url in known)


def check_references(
    document: Mapping[str, Any], references: list[str] | None = None
) -> list[Issue]:
    """Every ``reference`` must name an entry of this Bundle (fullUrl or Type/id).

    ``references`` are the document's own, when the caller already knows them (see
    :func:`care_models.fhir.profile.references`); else the document is walked for them.
    """
    entries = [e for e in document.get("entry") or [] if isinstance(e, dict)]
    known: set[str] = set()
    for entry in entries:
        found = entry.get("resource")
        resource: dict[str, Any] = found if isinstance(found, dict) else {}
        if isinstance(entry.get("fullUrl"), str):
            known.add(entry["fullUrl"])
        kind, rid = resource.get("resourceType"), resource.get("id")
        if isinstance(kind, str) and isinstance(rid, str):
            known.add(f"{kind}/{rid}")
    if references is None:
        references = []
        _references(document, references)
    if all(_resolves(value, known) for value in references):
        return []
    issues: list[Issue] = []  # walk again, to name where
    for node in _walk(document):
        value, _, name, _, is_key = node
        if is_key or name != "reference" or not isinstance(value, str):
            continue
        if not _resolves(value, known):
            issues.append(
                Issue(
                    "invalid",
                    expression(_path(node)),
                    "must name an entry of this Bundle (its fullUrl or Type/id)",
                )
            )
    return issues[:20]
