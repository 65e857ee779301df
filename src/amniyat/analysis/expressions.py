"""Indicator conditions in the XLSForm syntax field teams know, compiled to Polars expressions.

An expression such as ``${safe_night} = 'unsafe' or ${safe_night} = 'very_unsafe'`` is parsed by
a Lark LALR grammar (below) into a small tree, which is compiled against a frame's schema into a
vectorised Polars expression. Nothing is ever passed to ``eval``.

Supported: ``${field}``, ``=  !=  <  <=  >  >=``, ``and``, ``or``, ``not()``,
``selected(${field}, 'choice')``, ``count-selected(${field})``, ``+ - * div mod``, unary minus,
parentheses, numbers, and text in single or double quotes (``''`` is the empty text). Operator
precedence is XPath 1.0's, loosest first: ``or``; ``and``; ``= !=``; ``< <= > >=``; ``+ -``;
``* div mod``; unary ``-``. Operators of one level group from the left.

Semantics follow XPath 1.0 as ODK evaluates it, with every answer held as text:

- an empty answer (null, or ``''``) is the empty text ``''``: ``${x} = ''`` is true for it;
- ``=`` and ``!=`` compare as numbers when either side is a number (a number literal or the result
  of arithmetic or ``count-selected``), as booleans when either side is a boolean, and as text
  otherwise (``${district} = 'vose'``; two fields compare their text);
- ``< <= > >=`` always compare as numbers;
- a text becomes a number only if it is one (``'5.0'`` is 5; ``'abc'``, ``''`` and ``'1e5'`` are
  not numbers). A comparison with something that is not a number is false, ``!=`` included (XPath
  would make ``NaN != 5`` true; counting a skipped question as "not 5" is never what an indicator
  means, so here it is false);
- arithmetic with a non-number gives no number (null); so does ``x div 0``;
- ``mod`` truncates as XPath does: ``-7 mod 3`` is ``-1``;
- as a condition, a text is true when it is not empty, a number when it is neither 0 nor missing;
- ``selected(${f}, 'c')`` is true when ``c`` is one of the space-separated choices of ``${f}``;
  ``count-selected(${f})`` counts them (0 when empty).

Typed columns are read the way they would have been written in the form: an integer column 4 is the
text ``'4'``, a decimal column 4.0 is also ``'4'`` (and 2.5 is ``'2.5'``), a boolean column is
``'true'`` or ``'false'``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Final

import polars as pl
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from amniyat.analysis.errors import ExpressionError, gettext_noop

__all__ = [
    "FUNCTIONS",
    "Expression",
    "Node",
    "answered",
    "field_text",
    "parse_expression",
]

GRAMMAR: Final = r"""
?start: or_expr

?or_expr: and_expr
        | or_expr OR and_expr        -> binary
?and_expr: eq_expr
         | and_expr AND eq_expr      -> binary
?eq_expr: rel_expr
        | eq_expr EQ rel_expr        -> binary
        | eq_expr NE rel_expr        -> binary
?rel_expr: add_expr
         | rel_expr LT add_expr      -> binary
         | rel_expr LE add_expr      -> binary
         | rel_expr GT add_expr      -> binary
         | rel_expr GE add_expr      -> binary
?add_expr: mul_expr
         | add_expr PLUS mul_expr    -> binary
         | add_expr MINUS mul_expr   -> binary
?mul_expr: unary
         | mul_expr STAR unary       -> binary
         | mul_expr DIV unary        -> binary
         | mul_expr MOD unary        -> binary
?unary: primary
      | MINUS unary                  -> negate
?primary: FIELD                      -> field
        | NUMBER                     -> number
        | STRING                     -> string
        | FUNCTION LPAR arguments RPAR -> call
        | LPAR or_expr RPAR          -> group
arguments: (or_expr (COMMA or_expr)*)?

OR: "or"
AND: "and"
DIV: "div"
MOD: "mod"
EQ: "="
NE: "!="
LE: "<="
GE: ">="
LT: "<"
GT: ">"
PLUS: "+"
MINUS: "-"
STAR: "*"
LPAR: "("
RPAR: ")"
COMMA: ","
FIELD: /\$\{[^}]*\}/
NUMBER: /\d+(\.\d*)?|\.\d+/
STRING: /'[^']*'|"[^"]*"/
FUNCTION: /[A-Za-z_][A-Za-z0-9_.\-]*(?=\s*\()/

%ignore /\s+/
"""

# A question's name, or its path (``members/sex``) where two questions share a name.
_NAME: Final = r"[A-Za-z_][A-Za-z0-9_.\-]*"
FIELD_NAME: Final = re.compile(rf"\s*({_NAME}(?:/{_NAME})*)\s*")
XPATH_NUMBER: Final = r"^\s*-?(?:\d+(?:\.\d*)?|\.\d+)\s*$"

FUNCTIONS: Final[Mapping[str, int]] = {"not": 1, "selected": 2, "count-selected": 1}
"""Functions an expression may call, with their number of arguments."""


# --- The tree ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    column: int


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    column: int


@dataclass(frozen=True, slots=True)
class Text:
    value: str
    column: int


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node
    column: int


@dataclass(frozen=True, slots=True)
class Binary:
    operator: str
    left: Node
    right: Node
    column: int


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    arguments: tuple[Node, ...]
    column: int


Node = Field | Number | Text | Negate | Binary | Call


class _ToTree(Transformer[Token, Node]):
    """Lark parse tree to `Node`s; positions are 1-based columns in the expression text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _fail(self, template: str, column: int, **params: object) -> ExpressionError:
        return ExpressionError(template, expression=self.text, column=column, **params)

    @v_args(inline=True)
    def field(self, token: Token) -> Node:
        match = FIELD_NAME.fullmatch(token.value[2:-1])
        if match is None:
            raise self._fail(
                gettext_noop(
                    "{name} is not a field reference (column {column}); field names start with "
                    "a letter or _ and hold letters, digits, _, - or . (a path also /)"
                ),
                _column(token),
                name=token.value,
            )
        return Field(match.group(1), _column(token))

    @v_args(inline=True)
    def number(self, token: Token) -> Node:
        return Number(float(token.value), _column(token))

    @v_args(inline=True)
    def string(self, token: Token) -> Node:
        return Text(token.value[1:-1], _column(token))

    @v_args(inline=True)
    def negate(self, minus: Token, operand: Node) -> Node:
        return Negate(operand, _column(minus))

    @v_args(inline=True)
    def binary(self, left: Node, operator: Token, right: Node) -> Node:
        return Binary(operator.value, left, right, _column(operator))

    @v_args(inline=True)
    def group(self, _left: Token, inner: Node, _right: Token) -> Node:
        return inner

    def arguments(self, children: list[Node | Token]) -> tuple[Node, ...]:
        return tuple(child for child in children if not isinstance(child, Token))

    @v_args(inline=True)
    def call(self, name: Token, _left: Token, arguments: tuple[Node, ...], _right: Token) -> Node:
        function = name.value
        if function not in FUNCTIONS:
            raise self._fail(
                gettext_noop(
                    "unknown function {function}() at column {column}; "
                    "available: not(), selected(), count-selected()"
                ),
                _column(name),
                function=function,
            )
        expected = FUNCTIONS[function]
        if len(arguments) != expected:
            raise self._fail(
                gettext_noop(
                    "{function}() at column {column} takes {expected} argument(s), not {given}"
                ),
                _column(name),
                function=function,
                expected=expected,
                given=len(arguments),
            )
        if function == "selected" and not isinstance(arguments[1], Text | Number):
            raise self._fail(
                gettext_noop(
                    "selected() at column {column} takes a choice name in quotes as its second "
                    "argument, e.g. selected(${{concerns}}, 'theft')"
                ),
                _column(name),
            )
        return Call(function, arguments, _column(name))


def _column(token: Token) -> int:
    return token.column if token.column is not None else 1


@cache
def _parser() -> Lark:
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=False)


def _describe(token: Token) -> str:
    if token.type == "$END":
        return "end of expression"
    return repr(token.value)


def _syntax_error(text: str, error: UnexpectedInput) -> ExpressionError:
    end = len(text.rstrip()) + 1
    if isinstance(error, UnexpectedEOF):
        return ExpressionError(
            gettext_noop("the expression ends too early (column {column})"),
            expression=text,
            column=end,
        )
    if isinstance(error, UnexpectedCharacters):
        column = error.column if error.column > 0 else end
        character = text[column - 1] if column - 1 < len(text) else ""
        if character in "'\"":
            return ExpressionError(
                gettext_noop("a quote at column {column} is never closed"),
                expression=text,
                column=column,
            )
        if character == "$":
            return ExpressionError(
                gettext_noop("a field reference at column {column} is not closed; write ${{name}}"),
                expression=text,
                column=column,
            )
        return ExpressionError(
            gettext_noop("unexpected character {character} at column {column}"),
            expression=text,
            column=column,
            character=repr(character),
        )
    if isinstance(error, UnexpectedToken):
        token = error.token
        at_end = token.type == "$END"
        column = end if at_end or not token.column or token.column < 1 else token.column
        if at_end and "RPAR" in error.expected and "FIELD" not in error.expected:
            return ExpressionError(
                gettext_noop("a parenthesis is opened but never closed (column {column})"),
                expression=text,
                column=column,
            )
        if token.type == "RPAR" and "RPAR" not in error.expected and "FIELD" not in error.expected:
            return ExpressionError(
                gettext_noop("the parenthesis at column {column} closes nothing"),
                expression=text,
                column=column,
            )
        if "FIELD" in error.expected:
            template = (
                gettext_noop("the expression ends too early (column {column}); expected a value")
                if at_end
                else gettext_noop(
                    "expected a value (${{field}}, a number, 'text', a function or a "
                    "parenthesis) at column {column}, found {found}"
                )
            )
        else:
            template = gettext_noop(
                "expected an operator (=, !=, <, <=, >, >=, and, or, +, -, *, div, mod) or the "
                "end at column {column}, found {found}"
            )
        return ExpressionError(template, expression=text, column=column, found=_describe(token))
    return ExpressionError(
        gettext_noop("the expression cannot be read (column {column})"),
        expression=text,
        column=max(error.column, 1),
    )


def parse_expression(text: str) -> Expression:
    """Parse an expression; raise `ExpressionError` (with the column of the fault) if malformed."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(
            gettext_noop("the expression is empty"), expression=str(text or ""), column=1
        )
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    try:
        node = _ToTree(text).transform(tree)
    except ExpressionError:
        raise
    except Exception as error:  # lark wraps errors raised in callbacks
        inner = getattr(error, "orig_exc", None)
        if isinstance(inner, ExpressionError):
            raise inner from None
        raise
    return Expression(text=text, node=node)


# --- Compilation -------------------------------------------------------------------------------


class Type(Enum):
    """XPath 1.0 value types; a field is a node, convertible to each of the others."""

    FIELD = "field"
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Typed:
    """A compiled sub-expression. Numbers are Float64 with null for NaN ("not a number")."""

    type: Type
    expr: pl.Expr
    dtype: pl.DataType | None = None  # the column's dtype, for fields
    literal: str | float | None = None  # the value, for literals


def field_text(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A column as the text the form would have held: null is '', 4.0 is '4'."""
    if dtype == pl.String:
        return expr.fill_null("")
    if dtype.is_float():
        whole = expr.is_finite() & (expr == expr.round(0)) & (expr.abs() < 2.0**53)
        return (
            pl.when(whole)
            .then(expr.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(expr.cast(pl.String))
            .fill_null("")
        )
    if dtype == pl.Categorical or isinstance(dtype, pl.Enum):
        return expr.cast(pl.String).fill_null("")
    return expr.cast(pl.String, strict=False).fill_null("")


def _text_number(text: pl.Expr) -> pl.Expr:
    """XPath ``number()`` of a text: null unless it is a plain decimal number."""
    return (
        pl.when(text.str.contains(XPATH_NUMBER))
        .then(text.str.strip_chars().cast(pl.Float64, strict=False))
        .otherwise(None)
    )


def _literal_number(text: str) -> float | None:
    return float(text) if re.match(XPATH_NUMBER, text) else None


class Compiler:
    """Compiles a tree against a frame schema. Unknown fields raise `ExpressionError`."""

    def __init__(self, expression: Expression, schema: Mapping[str, pl.DataType]) -> None:
        self.expression = expression
        self.schema = schema

    def _fail(self, template: str, column: int, **params: object) -> ExpressionError:
        return ExpressionError(template, expression=self.expression.text, column=column, **params)

    # Conversions (XPath 1.0 section 4: string(), number(), boolean()).

    def text(self, value: Typed) -> pl.Expr:
        if value.type is Type.FIELD:
            assert value.dtype is not None
            return field_text(value.expr, value.dtype)
        if value.type is Type.TEXT:
            return value.expr
        if value.type is Type.BOOLEAN:
            return pl.when(value.expr).then(pl.lit("true")).otherwise(pl.lit("false"))
        return field_text(value.expr, pl.Float64())

    def number(self, value: Typed) -> pl.Expr:
        if value.type is Type.FIELD:
            assert value.dtype is not None
            if value.dtype == pl.String:
                return _text_number(value.expr)
            if value.dtype == pl.Boolean:
                return value.expr.cast(pl.Float64)
            if value.dtype.is_numeric():
                number = value.expr.cast(pl.Float64)
                return number.fill_nan(None) if value.dtype.is_float() else number
            return _text_number(self.text(value))
        if value.type is Type.TEXT:
            assert isinstance(value.literal, str)
            return pl.lit(_literal_number(value.literal), dtype=pl.Float64)
        if value.type is Type.BOOLEAN:
            return value.expr.cast(pl.Float64)
        return value.expr

    def boolean(self, value: Typed) -> pl.Expr:
        if value.type is Type.FIELD:
            assert value.dtype is not None
            if value.dtype == pl.Boolean:
                return value.expr.fill_null(False)
            if value.dtype.is_numeric():
                number = self.number(value)
                return (number != 0.0).fill_null(False)
            return self.text(value) != ""
        if value.type is Type.TEXT:
            return pl.lit(bool(value.literal))
        if value.type is Type.NUMBER:
            return (value.expr != 0.0).fill_null(False)
        return value.expr

    # Nodes.

    def compile(self, node: Node) -> Typed:
        if isinstance(node, Field):
            if node.name not in self.schema:
                raise self._fail(
                    gettext_noop("${{{field}}} at column {column} is not a column of the data"),
                    node.column,
                    field=node.name,
                )
            return Typed(Type.FIELD, pl.col(node.name), dtype=self.schema[node.name])
        if isinstance(node, Number):
            return Typed(Type.NUMBER, pl.lit(node.value, dtype=pl.Float64), literal=node.value)
        if isinstance(node, Text):
            return Typed(Type.TEXT, pl.lit(node.value, dtype=pl.String), literal=node.value)
        if isinstance(node, Negate):
            return Typed(Type.NUMBER, -self.number(self.compile(node.operand)))
        if isinstance(node, Call):
            return self._call(node)
        return self._binary(node)

    def _call(self, node: Call) -> Typed:
        if node.function == "not":
            return Typed(Type.BOOLEAN, ~self.boolean(self.compile(node.arguments[0])))
        text = self.text(self.compile(node.arguments[0]))
        if node.function == "count-selected":
            return Typed(Type.NUMBER, text.str.count_matches(r"\S+").fill_null(0).cast(pl.Float64))
        choice = node.arguments[1]
        assert isinstance(choice, Text | Number)
        name = choice.value if isinstance(choice, Text) else _number_text(choice.value)
        pattern = r"(?:^|\s)" + re.escape(name.strip()) + r"(?:\s|$)"
        return Typed(Type.BOOLEAN, text.str.contains(pattern).fill_null(False))

    def _binary(self, node: Binary) -> Typed:
        left, right = self.compile(node.left), self.compile(node.right)
        operator = node.operator
        if operator in ("and", "or"):
            a, b = self.boolean(left), self.boolean(right)
            return Typed(Type.BOOLEAN, (a & b) if operator == "and" else (a | b))
        if operator in ("=", "!="):
            return Typed(Type.BOOLEAN, self._equality(operator, left, right))
        if operator in ("<", "<=", ">", ">="):
            a, b = self.number(left), self.number(right)
            compared = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]
            return Typed(Type.BOOLEAN, compared.fill_null(False))
        a, b = self.number(left), self.number(right)
        if operator == "+":
            return Typed(Type.NUMBER, a + b)
        if operator == "-":
            return Typed(Type.NUMBER, a - b)
        if operator == "*":
            return Typed(Type.NUMBER, a * b)
        if operator == "div":
            return Typed(Type.NUMBER, _finite(a / b))
        quotient = a / b
        truncated = pl.when(quotient >= 0).then(quotient.floor()).otherwise(quotient.ceil())
        return Typed(Type.NUMBER, _finite(a - b * truncated))

    def _equality(self, operator: str, left: Typed, right: Typed) -> pl.Expr:
        types = {left.type, right.type}
        if Type.BOOLEAN in types:
            a, b = self.boolean(left), self.boolean(right)
        elif Type.NUMBER in types:
            a, b = self.number(left), self.number(right)
        else:
            a, b = self.text(left), self.text(right)
        return ((a == b) if operator == "=" else (a != b)).fill_null(False)


def _finite(number: pl.Expr) -> pl.Expr:
    return pl.when(number.is_finite()).then(number).otherwise(None)


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Negate):
        yield from _walk(node.operand)
    elif isinstance(node, Binary):
        yield from _walk(node.left)
        yield from _walk(node.right)
    elif isinstance(node, Call):
        for argument in node.arguments:
            yield from _walk(argument)


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: its text as written and its tree. Build with `parse_expression`."""

    text: str
    node: Node

    @property
    def fields(self) -> tuple[str, ...]:
        """Field names read, in order of first appearance."""
        return tuple(dict.fromkeys(n.name for n in _walk(self.node) if isinstance(n, Field)))

    def field_columns(self) -> dict[str, int]:
        """Each field read, with the column where it first appears."""
        found: dict[str, int] = {}
        for node in _walk(self.node):
            if isinstance(node, Field):
                found.setdefault(node.name, node.column)
        return found

    def condition(self, schema: Mapping[str, pl.DataType]) -> pl.Expr:
        """Boolean Polars expression (never null): the expression read as a condition."""
        compiler = Compiler(self, schema)
        return compiler.boolean(compiler.compile(self.node))

    def number(self, schema: Mapping[str, pl.DataType]) -> pl.Expr:
        """Float64 Polars expression: the expression read as a number; null if it is none."""
        compiler = Compiler(self, schema)
        return compiler.number(compiler.compile(self.node))

    def __str__(self) -> str:
        return self.text


def answered(field: str, schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """True where ``field`` has an answer: not null, not NaN, not the empty text."""
    dtype = schema[field]
    column = pl.col(field)
    if dtype == pl.String:
        return column.fill_null("") != ""
    if dtype.is_float():
        return column.fill_nan(None).is_not_null()
    return column.is_not_null()
