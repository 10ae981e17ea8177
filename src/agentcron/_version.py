"""The package version (one place: the build reads it here, `agentcron.__version__` names it)."""

__version__ = "0.1.0"
