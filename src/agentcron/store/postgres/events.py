"""Events on PostgreSQL: the statements that differ from the shared ones
(`agentcron.store.core.events`, ``core.debounce``), and the wake-up of other processes.

- Writing a batch of events is one statement, which also reads the enabled event schedules
  (usually none) when an event might fire one: lifecycle events cost one round trip per
  state-changing transaction (`write_events`, registered in `core.events.WRITERS`).
- A debounce group's event ids are a ``jsonb`` array; joining a group also sends ``NOTIFY
  agentcron_schedules`` (a due time moved; no trigger covers ``next_run_at``).
- Event readers of other processes are woken after the commit, by `PgEventVerbs.emitted`
  through the store's announcer (`postgres/announce.py`): the events table has no trigger.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from agentcron.rules.events import Emitted, Pending
from agentcron.store import _codec
from agentcron.store._codec import SCHEDULE_COLUMNS
from agentcron.store.core import debounce, events
from agentcron.store.core.events import EventVerbs, Written
from agentcron.store.db import Tx
from agentcron.store.postgres.announce import Announcer

__all__ = ["INSERT", "INSERT_AND_RULES", "PgEventVerbs", "write_events"]

_quote = json.encoder.encode_basestring  # a str as a JSON string (C-accelerated)

# The rows travel as one JSON array of [namespace, type, subject, data] (2-3x cheaper than
# one array parameter per column, which psycopg adapts element by element).
INSERT = (
    "INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT e->>0, e->>1, e->>2, e->3, ? FROM jsonb_array_elements(?::jsonb) "
    "WITH ORDINALITY AS x(e, n) ORDER BY n"
)
# Insert, and in the same round trip the enabled event schedules (a row of NULLs: none).
INSERT_AND_RULES = (
    f"WITH ev AS ({INSERT} RETURNING id) "
    "SELECT (SELECT array_agg(id ORDER BY id) FROM ev), s.* FROM (SELECT 1) AS one "
    f"LEFT JOIN (SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE trigger_kind = 'event' "
    "AND enabled AND NOT parked) AS s ON true"
)
_UPSERT_GROUP = (
    "INSERT INTO debounces (schedule_id, subject, first_at, due_at, event_ids) "
    "VALUES (?, ?, ?, ?, jsonb_build_array(?::bigint)) "
    "ON CONFLICT (schedule_id, subject) DO UPDATE SET due_at = {due}, "
    "event_ids = debounces.event_ids || jsonb_build_array(?::bigint) RETURNING due_at"
)
JOIN_SQL = debounce.JoinSql(
    capped=_UPSERT_GROUP.format(due="LEAST(excluded.due_at, debounces.first_at + ?)"),
    uncapped=_UPSERT_GROUP.format(due="excluded.due_at"),
    wake="SELECT pg_notify('agentcron_schedules', '')",
)


async def write_events(
    tx: Tx, pending: Sequence[Pending], now_s: float, rules: bool, ids: bool
) -> Written:
    """Write ``pending`` in one statement; with the ids and the event schedules when asked."""
    columns = (now_s, _rows_json(pending))
    if not rules and not ids:
        await tx.execute(INSERT, columns)
        return Written([], [])
    rows = await tx.all(INSERT_AND_RULES, columns)
    schedules = [_codec.schedule_from_row(r[1:]) for r in rows if r[1] is not None]
    return Written(list(rows[0][0] or []), schedules)


events.WRITERS["postgres"] = write_events
debounce.JOIN_SQL["postgres"] = JOIN_SQL


class PgEventVerbs(EventVerbs):
    _announcer: Announcer  # made by the store

    def emitted(self, out: Emitted, *, announced: bool = False) -> None:
        """After a commit that wrote events: wake this process's readers at once, and the
        other processes' through the announcer (the events table has no NOTIFY trigger),
        unless the write ``announced`` them itself."""
        super().emitted(out)
        if out.wrote and not announced:
            self._announcer()


def _rows_json(pending: Sequence[Pending]) -> str:
    rows = ",".join(
        f"[{_quote(p.namespace)},{_quote(p.type)},"
        f"{'null' if p.subject is None else _quote(p.subject)},{p.data_json}]"
        for p in pending
    )
    return f"[{rows}]"
