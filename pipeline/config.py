"""Settings and the sources file.

Every setting is declared once, on the ``Settings`` dataclass, with its default
and help text; ``SETTINGS`` is the documented table derived from it. Values are
resolved with this precedence, lowest first::

    default  <  settings file (DIGEST_CONFIG, YAML)  <  environment DIGEST_<NAME>  <  CLI flag

and each value is checked against its default's type. ``Settings`` is passed
explicitly to whatever needs it; there is no global.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from .errors import ConfigError, SourcesFileError
from .models import Source


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective configuration of one run."""

    db: str = _setting("pipeline.db", "SQLite database file")
    sources: str = _setting("sources.yaml", "Sources file (YAML) listing the curated feeds")
    digests_dir: str = _setting("digests", "Folder for the daily Markdown and JSON digests")
    site_dir: str = _setting("site", "Folder for the static website")
    user_agent: str = _setting(
        "ai-news-digest/0.1 (+https://github.com/ai-news-digest; feed reader)",
        "User-Agent sent with every request",
    )
    connect_timeout_s: float = _setting(5.0, "Seconds to wait for a TCP/TLS connection")
    read_timeout_s: float = _setting(10.0, "Seconds to wait between two reads of a response")
    deadline_s: float = _setting(30.0, "Total seconds one request may take, retries excluded")
    max_feed_bytes: int = _setting(10_000_000, "Largest feed body read; longer ones are cut off")
    max_page_bytes: int = _setting(5_000_000, "Largest article page read; longer ones are cut off")
    max_connections: int = _setting(32, "Requests in flight at once, over all hosts")
    max_per_host: int = _setting(4, "Requests in flight at once to one host")
    retries: int = _setting(3, "Retries after a 429, a 5xx or a network error")
    backoff_base_s: float = _setting(0.5, "First retry delay; doubles per retry, with jitter")
    max_retry_after_s: float = _setting(60.0, "Longest Retry-After honoured within one round")
    default_interval_min: int = _setting(60, "Minutes between fetches of a source without its own")
    max_backoff_min: int = _setting(1440, "Longest back-off of a failing source, in minutes")
    allow_private_networks: bool = _setting(
        False, "Allow article pages on private/loopback hosts other than the feed's own"
    )
    fetch_pages: bool = _setting(True, "Fetch and extract each new article's page")
    extract_workers: int = _setting(2, "Processes extracting article text (CPU-bound)")
    cluster_window_hours: float = _setting(
        72.0, "A story stays open for new articles this long after its last one"
    )
    log_level: str = _setting("WARNING", "Logging level: DEBUG, INFO, WARNING or ERROR")


@dataclass(frozen=True, slots=True)
class Setting:
    """One row of the settings table: name, default and help."""

    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "DIGEST_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"]) for f in fields(Settings)
)
_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    """Convert ``value`` to the type of the setting's default or say where it was wrong."""
    kind = type(setting.default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    try:
        if kind is bool:
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise ConfigError(
            f"{origin}: {setting.name} must be a {kind.__name__}, got {value!r}"
        ) from None
    return text


def load_settings(
    overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> tuple[Settings, dict[str, str]]:
    """Resolve every setting and say where each value came from."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    origins = {s.name: "default" for s in SETTINGS}
    config_file = env.get("DIGEST_CONFIG")
    if config_file:
        for name, value in _read_settings_file(config_file).items():
            values[name] = _coerce(_BY_NAME[name], value, config_file)
            origins[name] = config_file
    for s in SETTINGS:
        if s.env in env:
            values[s.name] = _coerce(s, env[s.env], s.env)
            origins[s.name] = s.env
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = _coerce(_BY_NAME[name], value, f"--{name.replace('_', '-')}")
        origins[name] = "flag"
    settings = replace(Settings(), **values)
    _validate(settings)
    return settings, origins


def _read_settings_file(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: settings file must be a mapping of name: value")
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    return data


def _validate(settings: Settings) -> None:
    positive = ("max_connections", "max_per_host", "extract_workers", "default_interval_min")
    for name in positive:
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(
            f"log_level must be DEBUG, INFO, WARNING or ERROR, not {settings.log_level!r}"
        )


# --- sources.yaml ---------------------------------------------------------------------------

_SOURCE_KEYS = {"name", "url", "site_url", "weight", "tags", "interval", "enabled"}
_REQUIRED_KEYS = ("name", "url")


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources file; every error names the file and line."""
    path_str = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesFileError(path_str, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesFileError(path_str, None, f"cannot read: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise SourcesFileError(path_str, line, f"invalid YAML: {exc.problem}") from None
    if not isinstance(root, yaml.MappingNode):
        raise SourcesFileError(path_str, 1, "expected a mapping with a 'sources:' list")
    top = {k.value: v for k, v in root.value}
    unknown_top = sorted(set(top) - {"sources"})
    if unknown_top:
        node = next(k for k, _ in root.value if k.value == unknown_top[0])
        raise SourcesFileError(path_str, _line(node), f"unknown key {unknown_top[0]!r}")
    listing = top.get("sources")
    if not isinstance(listing, yaml.SequenceNode):
        line = _line(listing) if listing is not None else 1
        raise SourcesFileError(path_str, line, "'sources' must be a list of feeds")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for item in listing.value:
        source = _source_from_node(path_str, item)
        key = source.url.rstrip("/").lower()
        if key in seen:
            raise SourcesFileError(
                path_str, _line(item), f"duplicate feed {source.url} (first at line {seen[key]})"
            )
        seen[key] = _line(item)
        sources.append(source)
    return sources


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _source_from_node(path: str, node: yaml.Node) -> Source:
    if not isinstance(node, yaml.MappingNode):
        raise SourcesFileError(path, _line(node), "each source must be a mapping")
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in _SOURCE_KEYS:
            allowed = ", ".join(sorted(_SOURCE_KEYS))
            raise SourcesFileError(
                path, _line(key_node), f"unknown key {key!r} (allowed: {allowed})"
            )
        values[key] = yaml.SafeLoader(yaml.serialize(value_node)).get_single_data()
        lines[key] = _line(value_node)
    for key in _REQUIRED_KEYS:
        if not values.get(key):
            raise SourcesFileError(path, _line(node), f"source is missing {key!r}")

    def fail(key: str, message: str) -> SourcesFileError:
        return SourcesFileError(path, lines.get(key, _line(node)), message)

    name = str(values["name"]).strip()
    url = str(values["url"]).strip()
    if not _is_http_url(url):
        raise fail("url", f"malformed feed URL {url!r}: must be http(s)://host/...")
    site_url = str(values.get("site_url") or "").strip()
    if site_url and not _is_http_url(site_url):
        raise fail("site_url", f"malformed site_url {site_url!r}")
    weight = values.get("weight", 0.5)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise fail("weight", f"weight must be a number from 0 to 1, got {weight!r}")
    tags = values.get("tags") or []
    if isinstance(tags, str) or not isinstance(tags, list):
        raise fail("tags", "tags must be a list, e.g. [ai, research]")
    interval = values.get("interval")
    if interval is not None and (
        isinstance(interval, bool) or not isinstance(interval, int) or interval < 1
    ):
        raise fail("interval", f"interval must be a whole number of minutes ≥ 1, got {interval!r}")
    enabled = values.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail("enabled", "enabled must be true or false")
    return Source(
        name=name,
        url=url,
        site_url=site_url,
        weight=float(weight),
        tags=tuple(str(t) for t in tags),
        interval=interval,
        enabled=enabled,
    )


_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    host = (
        parts.netloc.rsplit("@", 1)[-1].split(":")[0] if "[" not in parts.netloc else parts.netloc
    )
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and bool(_HOST_RE.match(host))
