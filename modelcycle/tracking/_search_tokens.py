"""Tokens of the ``search_runs`` language, and the one way its syntax errors are reported.

Every token keeps the exact text and the character position it came from, so an error can quote
what the user wrote and point at it (``details={"position": 12, "token": "=>"}``), whether the
tokenizer or the parser finds the mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from modelcycle.errors import InvalidInput

__all__ = ["KEYWORDS", "Source", "Token", "tokenize"]

KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "ASC", "DESC"})

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<number>-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<word>[A-Za-z_]\w*)
    | (?P<op>[=!<>]+)
    | (?P<punct>[(),])
    | (?P<quote>['"`])
    """,
    re.VERBOSE,
)
# A key after "metrics." may hold dots, slashes, colons and dashes without quotes: train.loss,
# val/acc, my-key. Anything else (spaces, quotes) needs `backticks` or "double quotes".
_BARE_KEY = re.compile(r"[\w./:-]+")


@dataclass(frozen=True)
class Token:
    """One token; ``text`` is the source as written, ``value`` what it means."""

    kind: Literal["number", "word", "keyword", "ident", "op", "punct", "string", "eof"]
    text: str
    position: int
    value: str = ""  # a keyword in upper case, a string's content, or an identifier's key
    prefix: str = ""  # an identifier's prefix, as written


@dataclass(frozen=True)
class Source:
    """The text being read and the name errors give it: ``filter`` or ``order_by[2]``."""

    text: str
    label: str
    index: int | None = None

    def error(self, message: str, token: Token, hint: str = "") -> InvalidInput:
        """An ``InvalidInput`` naming the token and where it starts, then how to fix it."""
        shown = "the end of the input" if token.kind == "eof" else repr(token.text)
        details: dict[str, object] = {"position": token.position, "token": token.text}
        if self.index is not None:
            details["index"] = self.index
        return InvalidInput(
            f"{self.label}: {message} at position {token.position}, got {shown}"
            + (f"; {hint}" if hint else ""),
            details=details,
        )


def tokenize(source: Source) -> list[Token]:
    """Split the source into tokens, ending with an ``eof`` token at its end.

    ``prefix.key`` is one ``ident`` token, whatever the quoting of the key, so the parser never
    has to tell a quoted key from a quoted value.

    Raises:
        InvalidInput: an unexpected character, an unclosed quote or a missing key.
    """
    tokens = []
    pos, text = 0, source.text
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise source.error("unexpected character", Token("punct", text[pos], pos))
        kind, word, end = match.lastgroup, match.group(), match.end()
        if kind == "quote":
            value, end = _quoted(source, pos)
            tokens.append(Token("string", text[pos:end], pos, value))
        elif kind == "word" and text.startswith(".", end):
            key, end = _key(source, word, pos, end + 1)
            tokens.append(Token("ident", text[pos:end], pos, key, word))
        elif kind == "word" and word.upper() in KEYWORDS:
            tokens.append(Token("keyword", word, pos, word.upper()))
        elif kind == "word" or kind == "number" or kind == "op" or kind == "punct":
            tokens.append(Token(kind, word, pos, word))
        pos = end
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _quoted(source: Source, start: int) -> tuple[str, int]:
    """Read a quoted string or key; a doubled quote character stands for itself (``'it''s'``)."""
    text = source.text
    quote, chunks, pos = text[start], [], start + 1
    while True:
        end = text.find(quote, pos)
        if end < 0:
            raise source.error("unclosed quote", Token("string", text[start:], start))
        chunks.append(text[pos:end])
        if not text.startswith(quote * 2, end):
            return "".join(chunks), end + 1
        chunks.append(quote)
        pos = end + 2


def _key(source: Source, prefix: str, start: int, pos: int) -> tuple[str, int]:
    """Read the key after ``prefix.``: bare (``train.loss``), `backticked` or "quoted"."""
    if source.text.startswith(("`", '"', "'"), pos):
        key, end = _quoted(source, pos)
    else:
        match = _BARE_KEY.match(source.text, pos)
        key, end = (match.group(), match.end()) if match else ("", pos)
    if not key:
        token = Token("ident", source.text[start:end], start)
        raise source.error(f"expected a key after '{prefix}.'", token)
    return key, end
