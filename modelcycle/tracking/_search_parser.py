"""The ``search_runs`` filter and order-by language: its syntax tree and recursive-descent parser.

The language is MLflow's, plus ``OR``, ``NOT`` and parentheses::

    filter     := or_expr | <empty>
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | comparison
    comparison := identifier comparator value
    identifier := prefix "." key | attribute          (key bare, `backticked` or "quoted")
    order_item := identifier ["ASC" | "DESC"]

The parser checks types as well as syntax (a string compared to a metric, ``>`` on a param), so
every mistake is reported with the position of the token that caused it (tokens and the error
format are in ``_search_tokens.py``), and the SQL compiler in ``_search.py`` only translates a
tree it can trust.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from modelcycle.tracking._search_tokens import Source, Token, tokenize

__all__ = [
    "ATTRIBUTES",
    "BoolOp",
    "Comparison",
    "Identifier",
    "Node",
    "Not",
    "OrderKey",
    "parse_filter",
    "parse_order_by",
]

Kind = Literal["metric", "param", "tag", "attribute"]
Value = int | float | str | tuple[str, ...] | None

# Every prefix MLflow accepts, mapped to the kind of value it names.
_PREFIXES: dict[str, Kind] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "parameter": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}

ATTRIBUTES: dict[str, Literal["string", "number"]] = {
    "status": "string",
    "run_name": "string",
    "run_id": "string",
    "parent_run_id": "string",
    "start_time": "number",
    "end_time": "number",
}
"""Searchable run attributes and the type of their values."""

_ATTRIBUTE_ALIASES = {"name": "run_name", "id": "run_id"}

NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})

_MAX_DEPTH = 100  # nesting of parentheses and NOT; deeper input would exhaust Python's stack


@dataclass(frozen=True)
class Identifier:
    """What a comparison or an order key is about: ``metrics.auc``, ``attributes.status``."""

    kind: Kind
    key: str  # the metric/param/tag key, or the canonical attribute name
    text: str
    position: int


@dataclass(frozen=True)
class Comparison:
    """``identifier op value``; ``op`` is upper case, ``value`` is already type-checked."""

    identifier: Identifier
    op: str
    value: Value


@dataclass(frozen=True)
class BoolOp:
    """``AND`` or ``OR`` over two or more operands (chains are flattened)."""

    op: Literal["AND", "OR"]
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``NOT operand``: the exact complement, so it also matches runs without the key."""

    operand: Node


Node = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` item."""

    identifier: Identifier
    ascending: bool


def parse_filter(text: str | None) -> Node | None:
    """Parse a ``search_runs`` filter; ``None`` when it is empty, meaning "every run".

    Args:
        text: e.g. ``"metrics.auc > 0.8 and (params.C = '1.0' or tags.team ILIKE 'risk%')"``.

    Returns:
        The syntax tree, or ``None`` for an empty or blank filter.

    Raises:
        InvalidInput: the filter is malformed; ``details`` hold the ``position`` and ``token``.
    """
    if text is None or not text.strip():
        return None
    parser = _Parser(text, "filter")
    node = parser.or_expr(0)
    parser.expect_end("AND, OR or the end of the filter")
    return node


def parse_order_by(items: Sequence[str] | None) -> list[OrderKey]:
    """Parse ``order_by`` items such as ``"metrics.auc DESC"`` (the direction defaults to ASC).

    Raises:
        InvalidInput: an item is malformed; ``details`` hold ``index``, ``position`` and ``token``.
    """
    keys = []
    for index, item in enumerate(items or ()):
        parser = _Parser(item, f"order_by[{index}]", index)
        identifier = parser.identifier()
        token = parser.peek()
        ascending = True
        if token.kind == "keyword" and token.value in ("ASC", "DESC"):
            ascending = parser.advance().value == "ASC"
        parser.expect_end(f"ASC or DESC after {identifier.text!r}")
        keys.append(OrderKey(identifier, ascending))
    return keys


class _Parser:
    def __init__(self, text: str, label: str, index: int | None = None) -> None:
        self.source = Source(text, label, index)
        self.error = self.source.error
        self.tokens = tokenize(self.source)
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += token.kind != "eof"
        return token

    def accept(self, keyword: str) -> bool:
        token = self.peek()
        if token.kind == "keyword" and token.value == keyword:
            self.pos += 1
            return True
        return False

    def expect_end(self, expected: str) -> None:
        token = self.peek()
        if token.kind != "eof":
            raise self.error(f"expected {expected}", token)

    # -- grammar --------------------------------------------------------------------------

    def or_expr(self, depth: int) -> Node:
        operands = [self.and_expr(depth)]
        while self.accept("OR"):
            operands.append(self.and_expr(depth))
        return operands[0] if len(operands) == 1 else BoolOp("OR", tuple(operands))

    def and_expr(self, depth: int) -> Node:
        operands = [self.not_expr(depth)]
        while self.accept("AND"):
            operands.append(self.not_expr(depth))
        return operands[0] if len(operands) == 1 else BoolOp("AND", tuple(operands))

    def not_expr(self, depth: int) -> Node:
        token = self.peek()
        if depth >= _MAX_DEPTH:
            raise self.error(f"nesting deeper than {_MAX_DEPTH} levels", token)
        if self.accept("NOT"):
            return Not(self.not_expr(depth + 1))
        if token.kind == "punct" and token.text == "(":
            self.advance()
            node = self.or_expr(depth + 1)
            closing = self.peek()
            if closing.kind == "eof":
                raise self.error("unclosed parenthesis", token)
            if closing.text != ")":
                raise self.error("expected AND, OR or ')'", closing)
            self.advance()
            return node
        return self.comparison()

    def identifier(self) -> Identifier:
        token = self.advance()
        if token.kind == "ident":
            kind = _PREFIXES.get(token.prefix.lower())
            if kind is None:
                close = difflib.get_close_matches(token.prefix.lower(), _PREFIXES, 1, 0.6)
                hint = "use metrics., params., tags. or attributes."
                if close:
                    hint = f"did you mean '{_PREFIXES[close[0]]}s.{token.value}'?"
                raise self.error(f"unknown prefix {token.prefix!r}", token, hint)
            if kind == "attribute":
                return self._attribute(token, token.value)
            return Identifier(kind, token.value, token.text, token.position)
        if token.kind == "word":
            if token.text.lower() in ATTRIBUTES or token.text.lower() in _ATTRIBUTE_ALIASES:
                return self._attribute(token, token.text)
            key = token.text
            hint = f"write metrics.{key}, params.{key}, tags.{key} or attributes.<name>"
            raise self.error("unknown identifier", token, hint)
        raise self.error("expected an identifier such as metrics.<key>", token)

    def _attribute(self, token: Token, name: str) -> Identifier:
        canonical = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
        if canonical not in ATTRIBUTES:
            names = [*ATTRIBUTES, *_ATTRIBUTE_ALIASES]
            close = difflib.get_close_matches(canonical, names, 1, 0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            hint += f"Attributes are {', '.join(ATTRIBUTES)}"
            raise self.error("unknown attribute", token, hint)
        return Identifier("attribute", canonical, token.text, token.position)

    def comparison(self) -> Comparison:
        identifier = self.identifier()
        op_token = self.advance()
        op = self._comparator(op_token, identifier)
        if op in NULL_OPS:
            if identifier.kind != "attribute":
                raise self.error(
                    f"{identifier.text} cannot be NULL",
                    op_token,
                    "IS NULL and IS NOT NULL apply to attributes only",
                )
            return Comparison(identifier, op, None)
        value = self._tuple(op) if op in ("IN", "NOT IN") else self._scalar(op)
        return Comparison(identifier, op, self._check_type(identifier, op, op_token, value))

    def _comparator(self, token: Token, identifier: Identifier) -> str:
        if token.kind == "op" and token.text in NUMERIC_OPS:
            return token.text
        if token.kind == "keyword":
            if token.value in ("LIKE", "ILIKE", "IN"):
                return token.value
            if token.value == "NOT" and self.accept("IN"):
                return "NOT IN"
            if token.value == "IS":
                negated = self.accept("NOT")
                if self.accept("NULL"):
                    return "IS NOT NULL" if negated else "IS NULL"
                raise self.error("expected NULL after IS", self.peek())
        raise self.error(f"expected a comparator after {identifier.text!r}", token)

    def _scalar(self, op: str) -> Token:
        token = self.advance()
        if token.kind not in ("string", "number"):
            raise self.error(f"expected a value after {op!r}", token)
        return token

    def _tuple(self, op: str) -> list[Token]:
        opening = self.advance()
        if opening.text != "(" or opening.kind != "punct":
            raise self.error(f"expected '(' after {op}", opening)
        if self.peek().text == ")":
            raise self.error(f"empty {op} list", self.peek())
        items = [self._scalar(op)]
        while self.peek().text == ",":
            self.advance()
            if self.peek().text == ")":  # a trailing comma, as in a Python tuple
                break
            items.append(self._scalar(op))
        closing = self.advance()
        if closing.kind == "eof":
            raise self.error("unclosed parenthesis", opening)
        if closing.text != ")":
            raise self.error("expected ',' or ')' in the list", closing)
        return items

    def _check_type(
        self, identifier: Identifier, op: str, op_token: Token, value: Token | list[Token]
    ) -> Value:
        kind, name = identifier.kind, identifier.text
        numeric = kind == "metric" or (
            kind == "attribute" and ATTRIBUTES[identifier.key] == "number"
        )
        literals = value if isinstance(value, list) else [value]
        if numeric:
            if op not in NUMERIC_OPS:
                raise self.error(f"{name} is a number; expected = != < <= > or >=", op_token)
            token = literals[0]
            if token.kind != "number":
                raise self.error(f"{name} is a number; expected a number", token)
            return float(token.text) if kind == "metric" else _number(token.text)
        if op not in STRING_OPS:
            what = f"{kind}s are strings" if kind != "attribute" else f"{name} is a string"
            hint = (
                "log the value as a metric to compare it as a number"
                if kind != "attribute"
                else ""
            )
            raise self.error(f"{what}; expected = != LIKE ILIKE IN or NOT IN", op_token, hint)
        for token in literals:
            if token.kind != "string":
                raise self.error(
                    f"{name} is a string; expected a quoted value", token, f"write '{token.text}'"
                )
            if op in ("LIKE", "ILIKE") and re.search(r"(?<!\\)(?:\\\\)*\\$", token.value):
                raise self.error(
                    "a LIKE pattern may not end with a lone '\\'",
                    token,
                    "write '\\\\' for a literal backslash",
                )
        if isinstance(value, list):
            return tuple(token.value for token in value)
        return value.value


def _number(text: str) -> int | float:
    """An integer when the literal is one, so millisecond times compare exactly."""
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
