"""Bridges carry agentcron events to and from other systems (``redis``: Redis pub/sub).

Each is an optional extra, imported only when used: ``pip install 'agentcron[redis]'``.
"""

from __future__ import annotations

__all__: list[str] = []
