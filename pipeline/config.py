"""Settings and the sources file.

Every setting is declared once, on the ``Settings`` dataclass, with its default
and help text; ``SETTINGS`` is the documented table derived from it. Values are
resolved with this precedence, lowest first::

    default  <  settings file (DIGEST_CONFIG, YAML)  <  environment DIGEST_<NAME>  <  CLI flag

and each value is checked against its default's type. ``Settings`` is passed
explicitly to whatever needs it; there is no global.
"""

from __future__ import annotations

import math
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

    db: str = _setting(
        "pipeline.db",
        "SQLite database file, or a postgresql://user@host/db URL for a shared PostgreSQL store",
    )
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
    continuation_days: int = _setting(
        14, "Later coverage of a story published this many days back is an update of it (0: off)"
    )
    summarizer: str = _setting("extractive", "Summaries: extractive (no model) or llm")
    referee: str = _setting(
        "off", "Borderline joins of full texts: off, or llm to ask the LLM if they report one event"
    )
    llm_base_url: str = _setting("", "OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1")
    llm_model: str = _setting("", "Model name sent to the LLM endpoint")
    llm_api_key_env: str = _setting(
        "DIGEST_LLM_API_KEY", "Name of the environment variable holding the LLM API key"
    )
    llm_timeout_s: float = _setting(
        60.0, "Seconds to wait for the LLM before using the extractive summary"
    )
    relevance_threshold: float = _setting(
        3.0, "AI-relevance score a story needs (sources tagged ai-only always pass)"
    )
    mute_terms: str = _setting("", "Comma-separated words that keep a story out of the digest")
    mute_phrases: str = _setting("", "Comma-separated phrases that keep a story out of the digest")
    mute_sources: str = _setting("", "Comma-separated source names whose stories are left out")
    half_life_hours: float = _setting(18.0, "Recency half-life of a story's score, in hours")
    timezone: str = _setting(
        "UTC", "Time zone of the publication time (IANA name, e.g. Europe/Berlin)"
    )
    publish_time: str = _setting("07:00", "Local time (HH:MM) the daily digest is published")
    digest_limit: int = _setting(15, "Stories per digest; 0 publishes every story of the day")
    site_title: str = _setting("AI news digest", "Title of the website, feed and email")
    site_url: str = _setting("", "Public URL of the site (for the feed, sitemap and email links)")
    smtp_host: str = _setting("", "SMTP server; empty disables sending")
    smtp_port: int = _setting(587, "SMTP port (587 for STARTTLS, 465 for TLS)")
    smtp_security: str = _setting("starttls", "starttls, tls or none")
    smtp_user: str = _setting("", "SMTP user name; empty sends without AUTH")
    smtp_password_env: str = _setting(
        "DIGEST_SMTP_PASSWORD", "Name of the environment variable holding the SMTP password"
    )
    mail_from: str = _setting("", "From address of the digest email")
    mail_to: str = _setting("", "Comma-separated recipients of the digest email")
    unsubscribe: str = _setting("", "List-Unsubscribe target: an https:// or mailto: URL")
    review_host: str = _setting("127.0.0.1", "Address the review desk (digest review) listens on")
    review_port: int = _setting(8700, "Port of the review desk")
    review_secret_env: str = _setting(
        "DIGEST_REVIEW_SECRET",
        "Name of the environment variable holding the desk's session key; "
        "without it one is made once and kept in the database",
    )
    review_session_hours: float = _setting(12.0, "How long an editor's login lasts, in hours")
    review_https_only: bool = _setting(
        False, "Send the desk's session cookie over HTTPS only (set it behind TLS)"
    )
    log_level: str = _setting("WARNING", "Logging level: DEBUG, INFO, WARNING or ERROR")
    log_format: str = _setting("logfmt", "Log lines: logfmt (key=value) or json, one per event")
    schedule_fetch_every_s: int = _setting(
        60, "Seconds between the daemon's looks for due sources (each keeps its own interval)"
    )
    schedule_build_every_s: int = _setting(
        0, "Daemon builds (and sends) every N seconds instead of daily at publish_time; 0: daily"
    )
    schedule_grace_min: int = _setting(
        720, "Minutes late a missed daily build still runs (machine asleep, daemon down)"
    )
    worker_concurrency: int = _setting(
        8, "Tasks one `digest worker` process runs at once (fetches mostly wait on the network)"
    )
    worker_heartbeat_s: float = _setting(5.0, "Seconds between a worker's signs of life")
    worker_stalled_after_s: float = _setting(
        30.0, "Seconds without a sign of life before a worker's tasks go to another worker"
    )


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
    """Convert ``value`` to the type of the setting's default or say where it was wrong.

    A YAML file can hand us ``None`` (``db:`` left empty), a list or a map;
    turning those into the text "None" or "['a']" would hide the mistake, so
    they are refused like any other value of the wrong type.
    """
    kind = type(setting.default)
    wanted = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}[kind]
    bad = ConfigError(f"{origin}: {setting.name} must be {wanted}, got {value!r}")
    if value is None or isinstance(value, list | dict):
        raise bad
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        result = value
    else:
        text = str(value).strip()
        try:
            if kind is bool:
                if text.lower() in {"1", "true", "yes", "on"}:
                    result = True
                elif text.lower() in {"0", "false", "no", "off", ""}:
                    result = False
                else:
                    raise ValueError(text)
            else:
                result = kind(text)
        except ValueError:
            raise bad from None
    if kind is float and not math.isfinite(result):
        raise bad
    return result


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
        if env.get(s.env, "").strip():  # an empty variable counts as unset
            values[s.name] = _coerce(s, env[s.env], s.env)
            origins[s.name] = s.env
    for name, value in (overrides or {}).items():
        if value is None:
            continue
        if name not in _BY_NAME:
            raise ConfigError(f"unknown setting {name!r}")
        values[name] = _coerce(_BY_NAME[name], value, _flag(name))
        origins[name] = "flag"
    settings = _validate(replace(Settings(), **values), origins)
    return settings, origins


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def _read_settings_file(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: settings file must be a mapping of name: value")
    unknown = sorted(str(k) for k in data if k not in _BY_NAME)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    return data


_AT_LEAST_ONE = (
    "max_connections",
    "max_per_host",
    "extract_workers",
    "default_interval_min",
    "max_backoff_min",
    "max_feed_bytes",
    "max_page_bytes",
    "schedule_fetch_every_s",
    "schedule_grace_min",
    "worker_concurrency",
)
_ABOVE_ZERO = (
    "connect_timeout_s",
    "read_timeout_s",
    "deadline_s",
    "llm_timeout_s",
    "half_life_hours",
    "worker_heartbeat_s",
    "worker_stalled_after_s",
)
_NOT_NEGATIVE = (
    "digest_limit",
    "retries",
    "backoff_base_s",
    "max_retry_after_s",
    "cluster_window_hours",
    "continuation_days",
    "schedule_build_every_s",
)


def _validate(settings: Settings, origins: Mapping[str, str]) -> Settings:
    """Check what a type cannot say (ranges, log level names), naming where a bad value came from.

    Returns the settings with the log level spelled as ``logging`` expects it.
    """

    def fail(name: str, rule: str) -> ConfigError:
        origin = _flag(name) if origins[name] == "flag" else origins[name]
        return ConfigError(f"{origin}: {name} {rule}, got {getattr(settings, name)!r}")

    for name in _AT_LEAST_ONE:
        if getattr(settings, name) < 1:
            raise fail(name, "must be at least 1")
    for name in _ABOVE_ZERO:
        if getattr(settings, name) <= 0:
            raise fail(name, "must be more than 0")
    for name in _NOT_NEGATIVE:
        if getattr(settings, name) < 0:
            raise fail(name, "must not be negative")
    if settings.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise fail("log_level", "must be DEBUG, INFO, WARNING or ERROR")
    if settings.log_format not in {"logfmt", "json"}:
        raise fail("log_format", "must be logfmt or json")
    for name, off in (("summarizer", "extractive"), ("referee", "off")):
        if getattr(settings, name) not in {off, "llm"}:
            raise fail(name, f"must be {off} or llm")
        if getattr(settings, name) == "llm" and not (settings.llm_base_url and settings.llm_model):
            raise fail(name, "llm needs llm_base_url and llm_model")
    return replace(settings, log_level=settings.log_level.upper())


def split_list(value: str) -> tuple[str, ...]:
    """A comma-separated setting as a tuple of its non-empty, stripped items."""
    return tuple(item.strip() for item in value.split(",") if item.strip())


# --- sources.yaml ---------------------------------------------------------------------------

_SOURCE_KEYS = {"name", "url", "site_url", "weight", "tags", "interval", "enabled"}
_REQUIRED_KEYS = ("name", "url")


def load_sources(path: str | Path) -> list[Source]:
    """Read and validate a sources file; every error names the file and line.

    The file is composed into YAML nodes rather than loaded straight into
    dicts, so that each complaint can point at the line of the offending key
    or value, and so that duplicate keys (which a plain load silently
    collapses to the last one) are caught.
    """
    path_str = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesFileError(path_str, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesFileError(path_str, None, f"cannot read: {exc}") from None
    root = _compose(path_str, text)
    if not isinstance(root, yaml.MappingNode):
        line = _line(root) if root is not None else 1
        raise SourcesFileError(path_str, line, "expected a mapping with a 'sources:' list")
    top = _mapping(path_str, root)
    for key, (key_node, _) in top.items():
        if key != "sources":
            raise SourcesFileError(
                path_str, _line(key_node), f"unknown key {key!r} (only 'sources:' is allowed)"
            )
    listing = top["sources"][1] if "sources" in top else None
    if not isinstance(listing, yaml.SequenceNode):
        line = _line(listing) if listing is not None else 1
        raise SourcesFileError(path_str, line, "'sources' must be a list of feeds")
    loader = yaml.SafeLoader("")
    sources: list[Source] = []
    seen: dict[str, int] = {}
    for item in listing.value:
        source = _source_from_node(path_str, item, loader)
        key = source.url.rstrip("/").lower()
        if key in seen:
            raise SourcesFileError(
                path_str, _line(item), f"duplicate feed {source.url} (first at line {seen[key]})"
            )
        seen[key] = _line(item)
        sources.append(source)
    return sources


def _compose(path: str, text: str) -> yaml.Node | None:
    """Parse YAML into nodes, turning every parser complaint into a file:line error."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SourcesFileError(path, line, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.reader.ReaderError as exc:  # a control character or a stray byte
        line = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise SourcesFileError(path, line, f"invalid YAML: {exc.reason} #x{char:04x}") from None
    except yaml.YAMLError as exc:
        raise SourcesFileError(path, None, f"invalid YAML: {exc}") from None


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mapping(path: str, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The keys of a mapping node with their key and value nodes; keys must be unique words."""
    result: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise SourcesFileError(path, _line(key_node), "keys must be plain words")
        key = str(key_node.value)
        if key in result:
            first = _line(result[key][0])
            raise SourcesFileError(
                path, _line(key_node), f"duplicate key {key!r} (first at line {first})"
            )
        result[key] = (key_node, value_node)
    return result


def _construct(path: str, node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    """Build the Python value of one node with the safe constructors, keeping its line."""
    try:
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else _line(node)
        raise SourcesFileError(path, line, f"invalid value: {exc.problem}") from None


def _is_word(value: Any) -> bool:
    """A scalar that reads sensibly as text: a string or a number, not a list, map or bool."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _source_from_node(path: str, node: yaml.Node, loader: yaml.SafeLoader) -> Source:
    if not isinstance(node, yaml.MappingNode):
        raise SourcesFileError(path, _line(node), "each source must be a mapping")
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, (key_node, value_node) in _mapping(path, node).items():
        if key not in _SOURCE_KEYS:
            allowed = ", ".join(sorted(_SOURCE_KEYS))
            raise SourcesFileError(
                path, _line(key_node), f"unknown key {key!r} (allowed: {allowed})"
            )
        values[key] = _construct(path, value_node, loader)
        lines[key] = _line(value_node)

    def fail(key: str, message: str) -> SourcesFileError:
        return SourcesFileError(path, lines.get(key, _line(node)), message)

    for key in _REQUIRED_KEYS:
        if values.get(key) is None or (_is_word(values[key]) and not str(values[key]).strip()):
            raise fail(key, f"source is missing {key!r}")
    if not _is_word(values["name"]):
        raise fail("name", f"name must be text, got {values['name']!r}")
    name = str(values["name"]).strip()
    url = str(values["url"]).strip() if isinstance(values["url"], str) else repr(values["url"])
    if not _is_http_url(url):
        raise fail("url", f"malformed feed URL {url!r}: must be http(s)://host/...")
    site_url = values.get("site_url") or ""
    if site_url and (not isinstance(site_url, str) or not _is_http_url(site_url.strip())):
        raise fail("site_url", f"malformed site_url {site_url!r}")
    weight = values.get("weight", 0.5)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise fail("weight", f"weight must be a number from 0 to 1, got {weight!r}")
    tags = values.get("tags") or []
    if not isinstance(tags, list) or not all(_is_word(t) and str(t).strip() for t in tags):
        raise fail("tags", f"tags must be a list of words, e.g. [lab, ai-only], got {tags!r}")
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
        site_url=site_url.strip(),
        weight=float(weight),
        tags=tuple(str(t).strip() for t in tags),
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
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):  # an IPv6 literal, maybe followed by :port
        host = hostport.partition("]")[0] + "]"
    else:
        host = hostport.partition(":")[0]
    return parts.scheme in {"http", "https"} and bool(parts.hostname) and bool(_HOST_RE.match(host))
