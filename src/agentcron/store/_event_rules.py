"""Temporary: the event rules moved to `agentcron.rules.events`; this name stays for the old
schedule modules (``_sqlite_schedules``, ``_pg_schedules``) and ``_ops`` until they are
written once, and goes with them."""

from agentcron.rules.events import Emitted, wake

__all__ = ["Emitted", "wake"]
