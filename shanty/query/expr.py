r"""The safe text expression language of the table view's filter box.

A hand-written tokenizer and recursive-descent parser; the result is a
condition AST (:mod:`shanty.query.nodes`) that :mod:`shanty.query.sql` turns
into SQL with bound parameters. Nothing here evaluates or executes anything.
The comparison symbols and the text-operator keywords (with their aliases)
come from the operator table, :mod:`shanty.query.operators`.

Grammar (keywords are case-insensitive)::

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" expression ")" | predicate
    predicate  := operand [ ("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand
                          | ["not"] ("contains" | "startswith" | "matches") operand
                          | ["not"] "in" "(" operand ("," operand)* ")"
                          | ["not"] "between" operand "and" operand
                          | "is" ["not"] "null" ]
    operand    := column | number | string | "true" | "false" | "null"
    column     := bare name of letters, digits, "_" and "." (not starting with a digit or ".")
                | `any name` (a backquote inside is written twice)
                | "any name" as the subject of a predicate (its left side: SQL's and W&B's
                  quoting, as in "correct" = false); anywhere else "..." is a string
    string     := '...' or "..." with backslash escapes \\ \' \" \n \t \r \uXXXX

``starts_with`` and ``regex`` are accepted for ``startswith`` and ``matches``.
A bare operand is a condition when it is a boolean column or literal.
Positions in error messages count characters from 1.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import QueryError
from .nodes import (
    And,
    Between,
    Column,
    Comparison,
    Condition,
    InList,
    IsNull,
    Literal,
    Not,
    Operand,
    Or,
    TextMatch,
    Truth,
)
from .operators import OPERATORS, spellings

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "MAX_TOKENS", "TEXT_OPS", "Token", "parse_expression", "tokenize"]

MAX_LENGTH = 4_000
MAX_TOKENS = 1_000
MAX_DEPTH = 32
_MAX_NUMBER_CHARS = 40
TEXT_OPS = tuple(op.name for op in OPERATORS if op.syntax == "word")
# Spelling as written (keywords in lower case) -> the operator's canonical name.
_SYMBOLS = spellings("symbol")
_WORDS = spellings("word")
# Longest first, so "<=" is read as one symbol and not as "<" then "=".
_SYMBOL_ORDER = sorted(_SYMBOLS, key=len, reverse=True)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false", "between", *TEXT_OPS}
_NEGATABLE = ("in", "between", *TEXT_OPS)  # what may follow "not" after an operand
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


# --- tokenizer ----------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    """One lexical unit; keywords and operator symbols carry their canonical spelling as ``value``."""

    kind: str  # "name", "keyword", "number", "string", "op", "(", ")", ",", "end"
    value: str | int | float
    position: int  # 1-based
    text: str  # as written, for messages


def _error(message: str, position: int) -> QueryError:
    return QueryError(f"{message} at position {position}.")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``end`` token; bad input raises QueryError."""
    if not isinstance(text, str):
        raise QueryError(f"The expression must be text, not {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise QueryError(f"The expression is {len(text)} characters long; keep it under {MAX_LENGTH}.")
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if len(tokens) >= MAX_TOKENS:
            raise _error(f"The expression has more than {MAX_TOKENS} parts; simplify it", i + 1)
        start = i
        if ch.isalpha() or ch == "_":
            while i < n and (text[i].isalnum() or text[i] in "_."):
                i += 1
            word = text[start:i]
            lowered = _WORDS.get(word.lower(), word.lower())
            kind = "keyword" if lowered in _KEYWORDS else "name"
            tokens.append(Token(kind, lowered if kind == "keyword" else word, start + 1, word))
        elif ch == "`":
            i, name = _read_quoted_name(text, i)
            tokens.append(Token("name", name, start + 1, text[start:i]))
        elif ch in "'\"":
            i, value = _read_string(text, i)
            tokens.append(Token("string", value, start + 1, text[start:i]))
        elif _is_digit(ch) or (ch == "." and i + 1 < n and _is_digit(text[i + 1])):
            i, number = _read_number(text, i)
            tokens.append(Token("number", number, start + 1, text[start:i]))
        elif symbol := next((s for s in _SYMBOL_ORDER if text.startswith(s, i)), None):
            i += len(symbol)
            tokens.append(Token("op", _SYMBOLS[symbol], start + 1, symbol))
        elif ch in "(),-":
            i += 1
            tokens.append(Token(ch, ch, start + 1, ch))
        else:
            raise _error(f"Unexpected character {ch!r}", start + 1)
    tokens.append(Token("end", "", n + 1, "end of the expression"))
    return tokens


def _read_quoted_name(text: str, i: int) -> tuple[int, str]:
    start, i, parts = i, i + 1, []
    while True:
        end = text.find("`", i)
        if end < 0:
            raise _error("Unterminated column name: close it with a backquote `", start + 1)
        parts.append(text[i:end])
        if text.startswith("``", end):  # a doubled backquote is a literal one
            parts.append("`")
            i = end + 2
            continue
        name = "".join(parts)
        if not name:
            raise _error("Empty column name ``", start + 1)
        return end + 1, name


def _read_string(text: str, i: int) -> tuple[int, str]:
    quote, start, i, out = text[i], i, i + 1, []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return i + 1, "".join(out)
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        if i + 1 >= len(text):
            break
        nxt = text[i + 1]
        if nxt == "u":
            digits = text[i + 2 : i + 6]
            if len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise _error("Escape \\u needs four hex digits", i + 1)
            code = int(digits, 16)
            if 0xD800 <= code <= 0xDFFF:
                raise _error(f"Escape \\u{digits} is half of a surrogate pair, not a character", i + 1)
            out.append(chr(code))
            i += 6
        else:
            # Unknown escapes keep their backslash so regexes like '\d+' read as written.
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
    raise _error(f"Unterminated string: close it with {quote}", start + 1)


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"  # str.isdigit() also accepts '²', which int() refuses


def _read_number(text: str, i: int) -> tuple[int, int | float]:
    start, n = i, len(text)
    while i < n and _is_digit(text[i]):
        i += 1
    is_float = False
    if i < n and text[i] == ".":
        is_float = True
        i += 1
        while i < n and _is_digit(text[i]):
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and _is_digit(text[j]):
            is_float = True
            i = j
            while i < n and _is_digit(text[i]):
                i += 1
    if i < n and (text[i].isalnum() or text[i] in "._"):
        raise _error(f"Malformed number {text[start : i + 1]!r}", start + 1)
    literal = text[start:i]
    if len(literal) > _MAX_NUMBER_CHARS:
        raise _error(f"The number {literal[:12]}... is too long", start + 1)
    return i, float(literal) if is_float else int(literal)


# --- parser -------------------------------------------------------------------
class _Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind == "keyword" and self.current.value in words

    def previous_text(self) -> str:
        return self.tokens[self.index - 1].text if self.index else "the start"

    def expected(self, what: str) -> QueryError:
        token = self.current
        after = f" after {self.previous_text()!r}" if self.index else ""
        found = "the expression ended" if token.kind == "end" else f"found {token.text!r}"
        return _error(f"Expected {what}{after} but {found}", token.position)

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.expected(f"'{word}'")
        self.advance()

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(f"The expression nests deeper than {MAX_DEPTH} levels; simplify it", self.current.position)

    def parse(self) -> Condition:
        if self.current.kind == "end":
            raise self.expected("a condition")
        condition = self.parse_or()
        if self.current.kind != "end":
            raise self.expected("'and', 'or' or the end of the expression")
        return condition

    def parse_or(self) -> Condition:
        operands = [self.parse_and()]
        while self.at_keyword("or"):
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Condition:
        operands = [self.parse_not()]
        while self.at_keyword("and"):
            self.advance()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_not(self) -> Condition:
        if self.at_keyword("not"):
            self.advance()
            self.nested()
            result = Not(self.parse_not())
            self.depth -= 1
            return result
        if self.current.kind == "(":
            self.advance()
            self.nested()
            inner = self.parse_or()
            if self.current.kind != ")":
                raise self.expected("')'")
            self.advance()
            self.depth -= 1
            return inner
        return self.parse_predicate()

    def parse_predicate(self) -> Condition:
        token = self.current
        if token.kind == "string" and token.text.startswith('"'):
            # A double-quoted subject is a column (SQL and W&B quote names so); a value stays '...' or "..."
            # on the right.
            self.advance()
            subject: Operand = Column(str(token.value), token.position)
        else:
            subject = self.parse_operand()
        token = self.current
        if token.kind == "op":
            self.advance()
            return Comparison(str(token.value), subject, self.parse_operand())
        if self.at_keyword("is"):
            self.advance()
            negated = self.at_keyword("not")
            if negated:
                self.advance()
            self.expect_keyword("null")
            return IsNull(subject, negated)
        negated = self.at_keyword("not")
        if negated:
            self.advance()
            if not self.at_keyword(*_NEGATABLE):
                *rest, last = (f"'{word}'" for word in _NEGATABLE)
                raise self.expected(f"{', '.join(rest)} or {last}")
        condition: Condition | None = None
        if self.at_keyword(*TEXT_OPS):
            op = str(self.advance().value)
            condition = TextMatch(op, subject, self.parse_operand())
        elif self.at_keyword("in"):
            self.advance()
            condition = InList(subject, self.parse_list())
        elif self.at_keyword("between"):
            self.advance()
            low = self.parse_operand()
            self.expect_keyword("and")
            condition = Between(subject, low, self.parse_operand())
        if condition is None:
            return Truth(subject)
        return Not(condition) if negated else condition

    def parse_list(self) -> tuple[Operand, ...]:
        if self.current.kind != "(":
            raise self.expected("'(' to open the list")
        self.advance()
        values = [self.parse_operand()]
        while self.current.kind == ",":
            self.advance()
            values.append(self.parse_operand())
        if self.current.kind != ")":
            raise self.expected("',' or ')' in the list")
        self.advance()
        return tuple(values)

    def parse_operand(self) -> Operand:
        token = self.current
        if token.kind == "name":
            self.advance()
            return Column(str(token.value), token.position)
        if token.kind in ("string", "number"):
            self.advance()
            return Literal(token.value, token.position)
        if token.kind == "-" and self.tokens[self.index + 1].kind == "number":
            self.advance()
            number = self.advance().value
            return Literal(-number, token.position)  # type: ignore[operator]
        if self.at_keyword("true", "false", "null"):
            self.advance()
            return Literal({"true": True, "false": False, "null": None}[str(token.value)], token.position)
        raise self.expected("a value or a column name")


def parse_expression(text: str) -> Condition:
    """Parse ``text`` into a condition AST; any mistake raises QueryError naming the position.

    Length, token count and nesting depth are bounded, so hostile input fails
    with a QueryError rather than a RecursionError or a long wait.
    """
    return _Parser(tokenize(text)).parse()
