"""The dashboard at ``/``: server-rendered pages (Jinja2) and one small script, no build step.

``GET /`` renders the whole page; ``GET /dashboard/panels`` renders its panels again as an
HTML fragment, which ``static/dashboard.js`` swaps in place when the event stream
(``/v1/events/stream``) reports a change, or every few seconds without one. The buttons call
the REST API. With auth on, the page asks for a token and sends it as a bearer header.
"""

from __future__ import annotations

from agentcron.dashboard.routes import mount_dashboard

__all__ = ["mount_dashboard"]
