"""Who an MCP tool call acts as, and what it may touch.

A call acts as a token (`agentcron.auth.Principal`) in one namespace: the one asked for
(``agentcron mcp --namespace``, ``/mcp?namespace=``), else the token's only namespace, else
``default``. Objects of any other namespace do not exist for it.

Schedules an agent creates are owned by its token through their name: ``mcp.<token id>.``
followed by the name the agent chose (``mcp.open.`` when the API is open, without tokens).
The prefix is the record of who made a schedule (shown by the CLI, the REST API and the
dashboard, and kept by every store without a new column), it keeps two agents of one
namespace from taking each other's names, and it is what the per-token quota counts.
A ``write`` token changes (pauses, resumes, deletes) only the schedules it owns; an ``admin``
token any schedule of its namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentcron.app import App
from agentcron.auth import Principal
from agentcron.errors import Forbidden, ScheduleNotFound, ScheduleQuotaExceeded, ValidationError
from agentcron.models import Schedule, ScheduleSource, Scope
from agentcron.specs import check_name

__all__ = ["DEFAULT_MAX_SCHEDULES", "OWNER_PREFIX", "Caller", "ScheduleQuotaExceeded"]

DEFAULT_MAX_SCHEDULES = 20
OWNER_PREFIX = "mcp"
_PAGE = 1000


@dataclass(frozen=True, slots=True)
class Caller:
    """One tool call's token, namespace and schedule quota."""

    principal: Principal
    namespace: str
    max_schedules: int = DEFAULT_MAX_SCHEDULES

    @classmethod
    def of(cls, principal: Principal, namespace: str | None, max_schedules: int) -> Caller:
        """Raises `Forbidden` (field ``namespace``) for a namespace the token cannot use."""
        return cls(principal, principal.writable_namespace(namespace), max_schedules)

    @property
    def prefix(self) -> str:
        """The start of the names of the schedules this token made through MCP."""
        return f"{OWNER_PREFIX}.{self.principal.token_id or 'open'}."

    def require(self, scope: Scope) -> None:
        self.principal.require(scope)

    def owns(self, schedule: Schedule) -> bool:
        return schedule.source is ScheduleSource.API and schedule.name.startswith(self.prefix)

    def owned_name(self, name: str) -> str:
        """The stored name of a schedule this token names ``name`` (raises `ValidationError`
        naming ``name`` when it is not a valid name)."""
        check_name(name, "name")
        full = name if name.startswith(self.prefix) else self.prefix + name
        if len(full) > 200:
            limit = 200 - len(self.prefix)
            raise ValidationError(f"at most {limit} characters", field="name")
        return check_name(full, "name")

    async def find(self, app: App, name: str) -> Schedule:
        """The schedule ``name`` (or id) of this namespace, this token's own first: ``digest``
        finds ``mcp.<token>.digest`` before a schedule named ``digest``."""
        for key in self._keys(name):
            try:
                schedule = await app.get_schedule(key, namespace=self.namespace)
            except ScheduleNotFound:
                continue
            if schedule.namespace == self.namespace:
                return schedule
        raise ScheduleNotFound(name)

    def _keys(self, name: str) -> list[str]:
        keys = [name]
        if not name.startswith(self.prefix) and len(self.prefix + name) <= 200:
            keys.insert(0, self.prefix + name)
        return keys

    def check_may_change(self, schedule: Schedule) -> None:
        """``write`` tokens change only their own schedules; ``admin`` tokens any."""
        if self.principal.scope.allows(Scope.ADMIN) or self.owns(schedule):
            return
        raise Forbidden(
            f"schedule {schedule.name!r} was not made by this token through MCP: only its own "
            "schedules (or any, with an admin token) can be changed",
            field="name",
        )

    async def owned_count(self, app: App) -> int:
        """How many schedules this token made through MCP, over all its namespaces."""
        spaces: list[str | None] = (
            [None] if self.principal.all_namespaces else list(self.principal.namespaces)
        )
        count = 0
        for namespace in spaces:
            cursor: str | None = None
            while True:
                page, cursor = await app.list_schedules(
                    namespace=namespace, source=ScheduleSource.API, limit=_PAGE, cursor=cursor
                )
                count += sum(1 for s in page if self.owns(s))
                if cursor is None:
                    break
        return count

    async def check_quota(self, app: App) -> int:
        """Raises `ScheduleQuotaExceeded` when this token may not own another schedule;
        returns how many it owns."""
        owned = await self.owned_count(app)
        if owned >= self.max_schedules:
            raise ScheduleQuotaExceeded(self.max_schedules)
        return owned
