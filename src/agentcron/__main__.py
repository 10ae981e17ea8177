"""``python -m agentcron``: the same command line as the ``agentcron`` script."""

from __future__ import annotations

from agentcron.cli import main

if __name__ == "__main__":
    main()
