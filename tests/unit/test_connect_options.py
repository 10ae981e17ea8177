"""``connect_timeout`` and ``reconnect_max_delay``: from the URL, the store's arguments or the
``[agentcron]`` settings; and the reconnect backoff, never over its cap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from agentcron import ConfigError
from agentcron.app import App
from agentcron.config import Config, Settings, load_settings, store_options
from agentcron.errors import StoreError
from agentcron.store import create_store
from agentcron.store.postgres import PostgresStore
from agentcron.store.postgres.connect import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_RECONNECT_MAX_DELAY_S,
    FIRST_DELAY_S,
    ConnectOptions,
    backoff,
)

URL = "postgresql://app@db.example:5432/jobs"


def test_defaults() -> None:
    options = ConnectOptions.parse(URL)
    assert options.connect_timeout_s == DEFAULT_CONNECT_TIMEOUT_S == 5.0
    assert options.reconnect_max_delay_s == DEFAULT_RECONNECT_MAX_DELAY_S == 1.0
    assert options.conninfo == URL + "?connect_timeout=5"


def test_the_url_wins_and_libpq_gets_only_its_own_parameters() -> None:
    url = URL + "?sslmode=disable&connect_timeout=3&reconnect_max_delay=0.5&application_name=a%20b"
    options = ConnectOptions.parse(url, connect_timeout_s=30, reconnect_max_delay_s=10)
    assert (options.connect_timeout_s, options.reconnect_max_delay_s) == (3.0, 0.5)
    assert options.conninfo == URL + "?sslmode=disable&application_name=a%20b&connect_timeout=3"


def test_arguments_apply_when_the_url_has_none() -> None:
    options = ConnectOptions.parse(URL, connect_timeout_s=0.5, reconnect_max_delay_s=2)
    assert (options.connect_timeout_s, options.reconnect_max_delay_s) == (0.5, 2.0)
    assert options.conninfo.endswith("connect_timeout=2")  # libpq's own minimum


@pytest.mark.parametrize(
    "query", ["connect_timeout=soon", "connect_timeout=0", "reconnect_max_delay=-1"]
)
def test_bad_values_are_refused(query: str) -> None:
    with pytest.raises(StoreError, match=query.split("=")[0]):
        ConnectOptions.parse(f"{URL}?{query}")


def test_create_store_passes_them_on() -> None:
    store = create_store(URL + "?reconnect_max_delay=2", connect_timeout_s=7)
    assert isinstance(store, PostgresStore)
    assert (store.connect_timeout_s, store.reconnect_max_delay_s) == (7.0, 2.0)


def test_backoff_starts_small_doubles_and_never_exceeds_the_cap() -> None:
    waits = [backoff(attempt, 0.8) for attempt in range(200)]
    assert 0 < waits[0] <= FIRST_DELAY_S
    assert all(0 < w <= 0.8 for w in waits)
    assert max(waits[10:]) > 0.4  # the cap is reached (with jitter: a half to all of it)
    assert all(backoff(1000, 1.0) <= 1.0 for _ in range(100))


def test_settings_keys(tmp_path: Path) -> None:
    path = tmp_path / "agentcron.toml"
    path.write_text(
        '[agentcron]\ndb = "postgresql://app@db/jobs"\n'
        'connect_timeout = "3s"\nreconnect_max_delay = "500ms"\n'
    )
    settings = load_settings(path)
    assert settings.connect_timeout == timedelta(seconds=3)
    assert settings.reconnect_max_delay == timedelta(milliseconds=500)
    assert store_options(settings) == {"connect_timeout_s": 3.0, "reconnect_max_delay_s": 0.5}
    app = App.from_config(Config(settings=settings))
    assert isinstance(app.store, PostgresStore)
    assert (app.store.connect_timeout_s, app.store.reconnect_max_delay_s) == (3.0, 0.5)
    assert store_options(Settings()) == {"connect_timeout_s": None, "reconnect_max_delay_s": None}


def test_bad_settings_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "agentcron.toml"
    path.write_text('[agentcron]\nconnect_timeout = "never"\nreconnect_max_delay = 0\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = "\n".join(caught.value.problems)
    assert "connect_timeout" in text
    assert "reconnect_max_delay" in text
