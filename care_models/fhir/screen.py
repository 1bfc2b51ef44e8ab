"""The quick door into Bundle parsing: a body the limits need not walk.

Most Bundles a hospital sends are well within every limit of
:mod:`care_models.fhir.limits` and in the shape of the referral profile
(:mod:`care_models.fhir.profile`). For those, the limits' walks in Python (every key,
string and reference of the document, twice) cost more than decoding and the profile
together. This door proves the limits hold without walking:

- msgspec decodes the bytes in C. It refuses what ``limits.load_json`` refuses (a byte
  order mark, invalid UTF-8, NaN, a lone surrogate, a raw control character in a
  string) and more (an integer beyond 64 bits); and whatever it decodes,
  ``json.loads`` decodes to the same value.
- The profile bounds the rest: a conforming Bundle nests at most ``profile.DEPTH``
  containers, its strings keep the default caps (``profile.CAPS``, the identifiers'
  cap where the element is named as one), its only numbers are 32-bit integers, and
  its keys are the profile's own element names.
- A search of the raw bytes finds anything that could decode to a character the
  limits refuse: DEL and the C1 controls as UTF-8, and the escapes that write a
  control character or a surrogate.

Anything else (a refusal, a suspect byte, an entry too many, limits set below the
defaults) answers None, and the body takes the long way, which decides and names every
issue as before. So the door changes no verdict; it only skips work.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from care_models.fhir import profile
from care_models.fhir.limits import InputLimits

__all__ = ["screened"]

_C1 = re.compile(rb"\xc2[\x80-\x9f]")  # U+0080..U+009F in UTF-8
# An escaped backslash before 'u', 'b' or 'f' matches too: that only sends the body the
# long way, which is right, if slower.
_ESCAPE = re.compile(
    rb"\\[bf]"  # backspace, form feed
    rb"|\\u00[01][0-9A-Fa-f]|\\u007[Ff]|\\u00[89][0-9A-Fa-f]"  # C0, DEL and C1
    rb"|\\u[Dd][89A-Fa-f][0-9A-Fa-f]{2}"  # a surrogate (msgspec refuses lone ones too)
)


def _suspect(body: bytes) -> bool:
    """True if the body may decode to a character ``limits.FORBIDDEN`` holds."""
    # Searching for one byte runs in C at memory speed; the regexes run only when one
    # of their first bytes is there (rare: a Korean text's UTF-8 holds neither).
    return (
        b"\x7f" in body  # DEL
        or (b"\xc2" in body and _C1.search(body) is not None)
        or (b"\\" in body and _ESCAPE.search(body) is not None)
    )


_UNDECODABLE = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError)


def _covered(limits: InputLimits) -> bool:
    """True if every limit is at least what a conforming Bundle is bounded by."""
    return (
        limits.depth >= profile.DEPTH
        and limits.string_chars >= profile.CAPS.string_chars
        and limits.identifier_chars >= profile.CAPS.identifier_chars
        and limits.number_chars >= profile.NUMBER_CHARS
    )


def screened(body: bytes, limits: InputLimits) -> tuple[dict[str, Any], profile.Bundle] | None:
    """The body as a JSON object and as the profile's Bundle, both within ``limits``;
    None if that cannot be shown without the long way."""
    if not _covered(limits) or _suspect(body):
        return None
    try:
        document = msgspec.json.decode(body)
    except _UNDECODABLE:
        return None
    if not isinstance(document, dict):
        return None
    entries = document.get("entry")
    if isinstance(entries, list) and len(entries) > limits.entries:
        return None
    bundle = profile.profiled(document)
    return None if bundle is None else (document, bundle)
