"""Triggers: when a schedule fires.

One grammar, as a string or an equivalent object (see `parse_trigger`); every trigger gives
back its normalized object (`Trigger.to_dict`) and a description (`Trigger.describe`).
"""

from __future__ import annotations

from agentcron.triggers._time import load_zone, parse_instant
from agentcron.triggers.base import Trigger, to_stored
from agentcron.triggers.cron import CronTrigger
from agentcron.triggers.date import DateTrigger
from agentcron.triggers.interval import IntervalTrigger
from agentcron.triggers.manual import ManualTrigger
from agentcron.triggers.objects import trigger_from_dict
from agentcron.triggers.parse import parse_trigger
from agentcron.triggers.slots import latest_slot_at_or_before, next_times, period
from agentcron.triggers.subject import (
    EventTrigger,
    IdleTrigger,
    MessagesTrigger,
    check_event_type,
    subject_glob,
)

__all__ = [
    "CronTrigger",
    "DateTrigger",
    "EventTrigger",
    "IdleTrigger",
    "IntervalTrigger",
    "ManualTrigger",
    "MessagesTrigger",
    "Trigger",
    "check_event_type",
    "latest_slot_at_or_before",
    "load_zone",
    "next_times",
    "parse_instant",
    "parse_trigger",
    "period",
    "subject_glob",
    "to_stored",
    "trigger_from_dict",
]
