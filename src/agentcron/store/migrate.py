"""Numbered migrations, one list per dialect: ``migrations/<dialect>/NNNN_name.sql``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Migration", "latest_version", "load_migrations", "missing_message", "pending"]

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


def load_migrations(dialect: str) -> list[Migration]:
    """All migrations of ``dialect`` ("sqlite" | "postgres"), in order, numbered without gaps."""
    folder = resources.files("agentcron.store") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for index, migration in enumerate(found, start=1):
        if migration.version != index:
            raise RuntimeError(
                f"migrations/{dialect}: expected {index:04d}, found {migration.label}"
            )
    return found


def latest_version(dialect: str) -> int:
    migrations = load_migrations(dialect)
    return migrations[-1].version if migrations else 0


def pending(dialect: str, current: int) -> list[Migration]:
    return [m for m in load_migrations(dialect) if m.version > current]


def missing_message(where: str) -> str:
    """What a store opened with ``create=False`` says when ``where`` holds no agentcron
    database (nothing was created there)."""
    return (
        f"no agentcron database at {where} (start `agentcron serve` or run "
        "`agentcron db upgrade` to create one)"
    )
