"""The exception tree. Exceptions are for configuration and programmer errors only.

Bad feeds and pages are data, not exceptions: stages return results with a
``problems`` list or an ``error`` field instead of raising.

    PipelineError
    ├── ConfigError            a setting has a wrong type or value
    │   └── SourcesFileError   sources.yaml / OPML is invalid (carries file and line)
    └── StoreError             the database cannot be opened or is not ours
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class ConfigError(PipelineError):
    """A setting or configuration file is wrong."""


class SourcesFileError(ConfigError):
    """A sources file is invalid; the message names the file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class StoreError(PipelineError):
    """The database cannot be opened or used."""
