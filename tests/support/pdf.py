"""Reading the PDFs the platform writes: embedded fonts and the text drawn."""

from __future__ import annotations

import base64
import re
import zlib


def _decode_stream(header: bytes, raw: bytes) -> bytes:
    filters = re.findall(rb"/(ASCII85Decode|FlateDecode)", header.split(b"/Filter", 1)[-1])
    if b"/Filter" not in header:
        return raw
    data = raw
    for name in filters:
        if name == b"ASCII85Decode":
            body = data.strip()
            body = body[2:] if body.startswith(b"<~") else body
            body = body[:-2] if body.endswith(b"~>") else body
            data = base64.a85decode(body)
        else:
            data = zlib.decompress(data)
    return data


def pdf_objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> (dictionary text, decoded stream or None), read in file order."""
    objects: dict[int, tuple[bytes, bytes | None]] = {}
    pattern = re.compile(rb"(\d+) 0 obj\b")
    position = 0
    while match := pattern.search(data, position):
        number, start = int(match.group(1)), match.end()
        end = data.find(b"endobj", start)
        stream_at = data.find(b"stream", start)
        if stream_at != -1 and (end == -1 or stream_at < end):
            header = data[start:stream_at]
            length = int(re.search(rb"/Length (\d+)", header).group(1))  # type: ignore[union-attr]
            body = stream_at + len(b"stream")
            body += 2 if data[body : body + 2] == b"\r\n" else 1
            objects[number] = (header, _decode_stream(header, data[body : body + length]))
            position = data.find(b"endobj", body + length) + len(b"endobj")
        else:
            objects[number] = (data[start:end], None)
            position = end + len(b"endobj")
    return objects


def pdf_font_names(data: bytes) -> list[str]:
    return [m.decode() for m in re.findall(rb"/BaseFont /([\w+\-]+)", data)]


def _cmap(stream: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        for code, uni in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for low, high, uni in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            first = int(uni, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[code] = chr(first + offset)
    return mapping


_SET_FONT = re.compile(rb"/([\w+\-]+)\s+[\d.]+\s+Tf")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _literal(content: bytes, start: int) -> tuple[bytes, int]:
    """The PDF literal string opening at ``content[start] == '('``, unescaped."""
    out = bytearray()
    depth, i = 1, start + 1
    while i < len(content):
        char = content[i : i + 1]
        if char == b"\\":
            following = content[i + 1 : i + 2]
            octal = re.match(rb"[0-7]{1,3}", content[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8) & 0xFF)
                i += 1 + len(octal.group(0))
                continue
            if following in (b"\n", b"\r"):
                i += 2
                continue
            out += _ESCAPES.get(following, following)
            i += 2
            continue
        if char == b"(":
            depth += 1
        elif char == b")":
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out += char
        i += 1
    raise ValueError("unterminated PDF string")


def pdf_text(data: bytes) -> str:
    """The text shown on the pages, through each font's ToUnicode map (one line per BT..ET)."""
    objects = pdf_objects(data)
    maps_by_object: dict[int, dict[int, str]] = {}
    names: dict[str, dict[int, str]] = {}
    for header, _stream in objects.values():
        if b"/Type /Font" not in header:
            continue
        name = re.search(rb"/Name /([\w+\-]+)", header)
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", header)
        if name and to_unicode:
            number = int(to_unicode.group(1))
            maps_by_object.setdefault(number, _cmap(objects[number][1] or b""))
            names[name.group(1).decode()] = maps_by_object[number]
    lines: list[str] = []
    for header, content in objects.values():
        if content is None or b"BT" not in content or b"Length1" in header:
            continue
        current: dict[int, str] = {}
        line: list[str] = []
        i = 0
        while i < len(content):
            if content.startswith(b"(", i):
                raw, i = _literal(content, i)
                line.append("".join(current.get(b, chr(b)) for b in raw))
                continue
            font = _SET_FONT.match(content, i)
            if font:
                current = names.get(font.group(1).decode(), {})
                i = font.end()
                continue
            if content.startswith(b"ET", i):
                lines.append("".join(line))
                line = []
            i += 1
    return "\n".join(lines)
