"""Triggers: when a schedule fires.

One grammar, as a string or an equivalent object (see `parse_trigger`); every trigger gives
back its normalized object (`Trigger.to_dict`) and a description (`Trigger.describe`).
"""

from __future__ import annotations

from agentcron.triggers.base import Trigger, to_stored, trigger_from_dict
from agentcron.triggers.cron import CronTrigger
from agentcron.triggers.date import DateTrigger
from agentcron.triggers.interval import IntervalTrigger
from agentcron.triggers.manual import ManualTrigger
from agentcron.triggers.parse import parse_trigger
from agentcron.triggers.slots import latest_slot_at_or_before, next_times

__all__ = [
    "CronTrigger",
    "DateTrigger",
    "IntervalTrigger",
    "ManualTrigger",
    "Trigger",
    "latest_slot_at_or_before",
    "next_times",
    "parse_trigger",
    "to_stored",
    "trigger_from_dict",
]
