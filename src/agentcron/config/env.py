"""``AGENTCRON_*`` environment variables (this is the only module that reads ``os.environ``),
where the config file is, and which database a command uses."""

from __future__ import annotations

import os
from pathlib import Path

from agentcron.config.model import Config, Settings
from agentcron.config.settings import relative_db

__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_DB",
    "ENV_VARS",
    "api_key_from",
    "env",
    "find_config",
    "resolve_db",
]

DEFAULT_DB = "sqlite:///agentcron.db"
CONFIG_NAMES = ("agentcron.toml", "agentcron.yaml", "agentcron.yml")
ENV_VARS = {
    "AGENTCRON_DB": f"store URL when --db is not given (default {DEFAULT_DB})",
    "AGENTCRON_CONFIG": "config file when --config is not given (default ./agentcron.toml)",
    "AGENTCRON_LOG_LEVEL": "log level of serve / scheduler / worker (default INFO)",
    "AGENTCRON_LLM_BASE_URL": "agent tasks' LLM endpoint unless a [[task]] sets base_url",
    "OPENAI_BASE_URL": "agent tasks' LLM endpoint when nothing else sets one",
    "OPENAI_API_KEY": "agent tasks' API key (unless api_key_env names another variable)",
}


def env(name: str) -> str | None:
    """The value of one of `ENV_VARS` (None when unset or empty)."""
    if name not in ENV_VARS:
        raise KeyError(f"{name} is not an agentcron environment variable")
    return os.environ.get(name) or None


def api_key_from(variable: str) -> str | None:
    """The API key held by the variable an agent task's ``api_key_env`` names (None: unset)."""
    return os.environ.get(variable) or None


def find_config(explicit: str | Path | None = None, *, cwd: Path | None = None) -> Path | None:
    """``explicit``, else ``AGENTCRON_CONFIG``, else ``./agentcron.{toml,yaml,yml}`` if present."""
    given = explicit or env("AGENTCRON_CONFIG")
    if given:
        return Path(given)
    folder = cwd or Path()
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def resolve_db(
    flag: str | None, config: Config | Settings | None = None, *, path: Path | None = None
) -> str:
    """``--db``, else ``AGENTCRON_DB``, else the config's ``db``, else `DEFAULT_DB`: in the
    folder of the config file when there is one (``path``, or the `Config`'s), so that every
    command that finds a config finds the same database, from whichever folder it runs."""
    if flag:
        return flag
    from_env = env("AGENTCRON_DB")
    if from_env:
        return from_env
    settings = config.settings if isinstance(config, Config) else config
    if settings is not None and settings.db:
        return settings.db
    found = path or (config.path if isinstance(config, Config) else None)
    return relative_db(DEFAULT_DB, found.parent) if found is not None else DEFAULT_DB
