"""Pure decisions: what to fire, whom to wake, what a quota allows. Each planner takes rows
and ``now`` and returns a plan; it does no I/O, so it is tested without a database
(`tests/unit/test_rules_*.py`). The store (`agentcron.store.core`) reads the rows, asks the
planner, and writes the plan in one transaction."""
