"""agentcron: a durable scheduler and background-task runner for AI-agent applications."""

from __future__ import annotations

__version__ = "0.1.0"
