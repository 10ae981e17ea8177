"""The no-op task for ``python -m agentcron worker|serve --config <generated toml>``
(the config's ``tasks`` imports this module; it registers with ``@agentcron.task``)."""

from __future__ import annotations

from typing import Any

import agentcron


@agentcron.task(name="noop")
async def noop(**kwargs: Any) -> None:
    return None
