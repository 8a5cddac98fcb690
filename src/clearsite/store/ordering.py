"""Text ordered the same way on SQLite and PostgreSQL.

ORDER BY on text follows the database's collation: SQLite compares bytes, a PostgreSQL server set up
with a language's locale (en_GB, as a department's likely is) sorts by that language's rules, so
"Éclair House", "_Stores" and "alpha Yard" would come back in a different order from each. Lists a
person sees, and anything compared across the two, order with `byte_order`: PostgreSQL's "C"
collation is the same code-point order SQLite uses.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import String

__all__ = ["byte_order"]


class byte_order(FunctionElement[str]):
    """`column` compared by code point on every database."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any]) -> None:
        super().__init__(column)


@compiles(byte_order)
def _plain(element: byte_order, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(byte_order, "postgresql")
def _c_collation(element: byte_order, compiler: Any, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)}) COLLATE "C"'
