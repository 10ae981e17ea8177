"""Declarative agent tasks: ``[[task]]`` entries of the config, run like any task.

- ``kind = "agent"``: a model, a system prompt, a prompt template and registered tools, run
  as a bounded tool loop against an OpenAI-compatible Chat Completions endpoint
  (`agentcron.agents.agent`, `agentcron.agents.llm`);
- ``kind = "graph"``: a LangGraph compiled graph named by import path
  (`agentcron.agents.graph`).

Tools are functions registered with ``@agentcron.tool`` (or ``@agentcron.task``). The HTTP
client (``httpx``) and LangGraph are optional: ``pip install 'agentcron[agents]'`` /
``'agentcron[langgraph]'``.
"""

from __future__ import annotations

from agentcron.agents.agent import AgentSpec, run_agent
from agentcron.agents.errors import (
    AgentStepLimit,
    GraphError,
    PromptError,
    ProviderError,
    ProviderUnavailable,
)
from agentcron.agents.graph import GraphSpec, run_graph
from agentcron.agents.llm import ChatClient, ChatReply, Endpoint
from agentcron.agents.specs import agent_task, build_task, graph_task
from agentcron.agents.tools import Tool, ToolRegistry, default_tools, make_tool, tool

__all__ = [
    "AgentSpec",
    "AgentStepLimit",
    "ChatClient",
    "ChatReply",
    "Endpoint",
    "GraphError",
    "GraphSpec",
    "PromptError",
    "ProviderError",
    "ProviderUnavailable",
    "Tool",
    "ToolRegistry",
    "agent_task",
    "build_task",
    "default_tools",
    "graph_task",
    "make_tool",
    "run_agent",
    "run_graph",
    "tool",
]
