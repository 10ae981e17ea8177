"""Config files (``agentcron.toml``, ``agentcron.yaml``) and ``AGENTCRON_*`` environment variables.

`agentcron.config.env` is the only module that reads ``os.environ`` (see `ENV_VARS`). A file
looks like::

    [agentcron]
    db = "sqlite:///agentcron.db"     # relative to this file; --db / AGENTCRON_DB win
    tasks = ["myapp.tasks"]           # modules to import (a package: all its submodules);
                                      # they register with @agentcron.task
    concurrency = 32
    timezone = "UTC"

    [agentcron.llm]                   # defaults of agent tasks (all optional)
    base_url = "http://127.0.0.1:8089/v1"
    api_key_env = "OPENAI_API_KEY"
    model = "gpt-4o-mini"

    [[task]]                          # a declarative agent task (see agentcron.agents)
    name = "grader"
    kind = "agent"                    # or "graph", with graph = "mypkg.graphs:graph"
    system = "You grade a learner's progress."
    prompt = "Grade {subject}. Notes: {args.notes}"
    tools = ["lookup_progress"]       # @agentcron.tool / @agentcron.task functions

    [[schedule]]
    name = "weekday-digest"
    task = "digest"                   # a registered task, or "myapp.jobs:cleanup" (imported)
    trigger = "0 9 * * 1-5"
    timezone = "Europe/Berlin"
    args = { channel = "email" }      # keyword arguments; a list is positional: [1, "x"]
    metadata = { team = "growth" }    # given to the runs (ctx.metadata, a graph's metadata)
    result_callback = "myapp.hooks:notify"   # called with each successful run's result

A ``[[task]]`` may also be written in the YouLab form (``on_idle``, ``schedule``, ``manual``,
``agent_types``, ``user_filter``, ``batch_size``): see `agentcron.config.youlab`.

An agent task's endpoint: its ``base_url``, else ``AGENTCRON_LLM_BASE_URL``, else
``[agentcron.llm] base_url``, else ``OPENAI_BASE_URL``, else OpenAI's; its API key is read from
the variable its ``api_key_env`` names (else ``[agentcron.llm] api_key_env``, else
``OPENAI_API_KEY``) when the config is loaded; none is sent when that variable is unset.

`load_config` reports every problem at once, each with its place in the file
(``agentcron.toml:14: schedule[2] "digest": trigger: ...``), as one `ConfigError`.

The parts: `document` (parsing, line numbers, problems), `settings` (``[agentcron]``),
`modules` (imports), `tasks` (``[[task]]``), `youlab` (the YouLab form), `schedules`
(``[[schedule]]``), `load` (all of it), `env` (environment, file and database discovery).
"""

from __future__ import annotations

from agentcron.config.env import CONFIG_NAMES, DEFAULT_DB, ENV_VARS, env, find_config, resolve_db
from agentcron.config.load import import_tasks, load_config, load_settings, store_options
from agentcron.config.model import Config, LLMSettings, NativeForm, Settings
from agentcron.config.settings import error_text
from agentcron.config.tasks import llm_endpoint

__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_DB",
    "ENV_VARS",
    "Config",
    "LLMSettings",
    "NativeForm",
    "Settings",
    "env",
    "error_text",
    "find_config",
    "import_tasks",
    "llm_endpoint",
    "load_config",
    "load_settings",
    "resolve_db",
    "store_options",
]
