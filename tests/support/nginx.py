"""Read an nginx configuration into directives, for tests of the proxy's configuration.

The grammar is nginx's own, small enough to check without nginx: words and quoted
strings, ``;`` ending a simple directive, ``{ … }`` a block, ``#`` a comment to the end
of the line. Anything else (an unclosed block, a directive without ``;``, a stray
``}``) raises :class:`NginxSyntaxError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

TOKEN = re.compile(r"""\s+|\#[^\n]*|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};"'#]+""")


class NginxSyntaxError(ValueError):
    pass


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        """Directly nested directives called ``name``."""
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive:
        found = self.all(name)
        if len(found) != 1:
            raise LookupError(f"{len(found)} {name} directives, not one")
        return found[0]


def _tokens(text: str) -> Iterator[str]:
    position = 0
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None:
            raise NginxSyntaxError(f"unexpected character at offset {position}")
        position = match.end()
        token = match.group()
        if not token.isspace() and not token.startswith("#"):
            yield token[1:-1] if token[0] in "\"'" else token


def parse(text: str) -> Directive:
    """The whole file as the block of a root directive named ``main``."""
    root = Directive("main", [], [])
    stack, words = [root], []
    for token in _tokens(text):
        if token == ";":
            if not words:
                raise NginxSyntaxError("an empty directive")
            stack[-1].block.append(Directive(words[0], words[1:]))  # type: ignore[union-attr]
            words = []
        elif token == "{":
            if not words:
                raise NginxSyntaxError("a block without a name")
            block = Directive(words[0], words[1:], [])
            stack[-1].block.append(block)  # type: ignore[union-attr]
            stack.append(block)
            words = []
        elif token == "}":
            if words or len(stack) == 1:
                raise NginxSyntaxError("a } after an unfinished directive or too many }")
            stack.pop()
        else:
            words.append(token)
    if words or len(stack) != 1:
        raise NginxSyntaxError("the file ends inside a directive or a block")
    return root


def walk(directive: Directive) -> Iterator[Directive]:
    """Every directive nested in ``directive``, depth first."""
    for child in directive.block or []:
        yield child
        yield from walk(child)
