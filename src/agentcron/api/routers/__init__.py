"""One router per resource (``/v1/<resource>``)."""
