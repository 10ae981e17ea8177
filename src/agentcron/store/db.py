"""What the store's algorithms are written against: one transaction (`Tx`) and the few SQL
fragments in which the dialects differ (`Dialect`).

Every algorithm of the store (`agentcron.store.core`) is written once, as ``async def
op(tx: Tx) -> T``, with ``?`` placeholders, and handed to ``store.write(op)`` or
``store.read(op)``. PostgreSQL awaits it on a pooled connection (``?`` becomes ``%s``).
SQLite runs it on its writer connection without a thread hop: its `Tx` never suspends, so
`drive` runs the coroutine to its end in one step, inside the transaction, with no ``await``
that could let another transaction in between.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from agentcron.errors import StoreError

__all__ = ["Dialect", "Row", "Tx", "UniqueConflict", "drive"]

T = TypeVar("T")
Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The SQL fragments in which SQLite and PostgreSQL differ; everything else is one text.

    A fragment is added here only when both dialects need one; a statement that differs as a
    whole stays in the dialect's own package (``store/sqlite/``, ``store/postgres/``)."""

    name: str  # "sqlite" | "postgres"
    skip_locked: str  # appended to a SELECT that claims rows: " FOR UPDATE SKIP LOCKED" or ""
    lock_rows: str  # appended to a SELECT that will update its rows: " FOR UPDATE" or ""
    greatest: str  # the two-argument maximum: "max" (SQLite) or "greatest"
    least: str  # the two-argument minimum: "min" (SQLite) or "least"
    true: str  # a boolean column's true and false as the partial indexes spell them: a
    false: str  # predicate must repeat an index's own text for the index to be used
    texts: str  # a subquery of the texts in one JSON array parameter: `x IN ({texts})`
    json: str  # appended to a text parameter written to a JSON column: "" or "::jsonb"

    def index(self, name: str) -> str:
        """`` INDEXED BY name`` after a table on SQLite, whose planner would otherwise pick
        another index (and sort every row it holds); nothing on PostgreSQL."""
        return f" INDEXED BY {name}" if self.name == "sqlite" else ""


SQLITE = Dialect(
    name="sqlite",
    skip_locked="",
    lock_rows="",
    greatest="max",
    least="min",
    true="1",
    false="0",
    texts="SELECT value FROM json_each(?)",
    json="",
)
POSTGRES = Dialect(
    name="postgres",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    lock_rows=" FOR UPDATE",
    greatest="greatest",
    least="least",
    true="true",
    false="false",
    texts="SELECT jsonb_array_elements_text(?::jsonb)",
    json="::jsonb",
)


class UniqueConflict(StoreError):
    """A unique index refused the row of a lone statement (PostgreSQL's one-statement writes):
    nothing was written; the caller may take another path."""


class Tx(Protocol):
    """One open transaction. SQL uses ``?`` placeholders in both dialects."""

    dialect: Dialect

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a statement (``None`` when it has none)."""
        ...

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a statement."""
        ...

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run a statement once per parameter row."""
        ...


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """The result of ``coro``, which must finish without suspending (an op over a SQLite
    `Tx`, whose methods never wait). Anything that does suspend is a bug, reported loudly:
    it would have let another transaction interleave with this one."""
    try:
        coro.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coro.close()
    raise RuntimeError("a store operation awaited something other than its SQLite transaction")
