"""The sources file loader and settings resolution: errors name file and line or variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import SETTINGS, Settings, load_settings, load_sources
from pipeline.errors import ConfigError, SourcesFileError
from pipeline.models import Source

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "sources"
INVALID = sorted((FIXTURES / "invalid").glob("*.yaml"))

KINDS = {"lab", "academic", "research", "newsletter", "press"}
SCOPES = {"ai-only", "general-tech", "science"}


# --- sources.yaml: every kind of error names its line ---------------------------------------


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_sources_file_names_file_and_line(path: Path) -> None:
    expect = re.search(r"^# Expect: line (\d+): (.+)$", path.read_text(), re.MULTILINE)
    assert expect, f"{path.name} has no '# Expect: line N: message' header"
    line, message = int(expect[1]), expect[2]

    with pytest.raises(SourcesFileError) as caught:
        load_sources(path)

    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_the_invalid_corpus_covers_each_kind_of_error() -> None:
    names = {p.stem for p in INVALID}
    for kind in (
        "unknown-key",
        "malformed-url",
        "duplicate-feed",
        "weight-out-of-range",
        "weight-not-number",
        "tags-not-list",
        "missing-name",
        "missing-url",
        "yaml-syntax",
        "top-level-list",
    ):
        assert kind in names


def test_missing_file() -> None:
    with pytest.raises(SourcesFileError) as caught:
        load_sources(FIXTURES / "does-not-exist.yaml")
    assert caught.value.line is None
    assert str(caught.value).endswith("does-not-exist.yaml: file not found")


def test_control_character_is_a_yaml_error_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ctrl.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://x.example/\x07feed\n", "utf-8")

    with pytest.raises(SourcesFileError) as caught:
        load_sources(path)

    assert caught.value.line == 3
    assert "invalid YAML" in caught.value.message and "#x0007" in caught.value.message


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("sources:\n  - name: Café\n".encode("latin-1"))

    with pytest.raises(SourcesFileError, match="cannot read"):
        load_sources(path)


def test_minimal_source_gets_defaults(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "sources:\n"
        "  - name: '  Padded  '\n"
        "    url: http://[::1]:8080/feed.xml\n"  # IPv6 literal with a port
        "  - name: 2024\n"  # YAML reads this as a number; it is still a name
        "    url: https://user@example.org:8443/rss\n"
        "    tags: [lab, 7]\n"
        "    enabled: false\n",
        "utf-8",
    )

    assert load_sources(path) == [
        Source("Padded", "http://[::1]:8080/feed.xml"),
        Source("2024", "https://user@example.org:8443/rss", tags=("lab", "7"), enabled=False),
    ]


def test_empty_sources_list_is_allowed(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("sources: []\n", "utf-8")
    assert load_sources(path) == []


# --- the curated sources.yaml ---------------------------------------------------------------


@pytest.fixture(scope="module")
def curated() -> list[Source]:
    return load_sources(ROOT / "sources.yaml")


def test_curated_file_has_enough_unique_enabled_feeds(curated: list[Source]) -> None:
    enabled = [s for s in curated if s.enabled]
    assert len(enabled) >= 40
    assert len({s.url.rstrip("/").lower() for s in curated}) == len(curated)
    assert len({s.name.casefold() for s in curated}) == len(curated)


def test_curated_entries_are_complete_and_tagged_consistently(curated: list[Source]) -> None:
    for source in curated:
        assert source.site_url.startswith("https://"), source.name
        assert source.url.startswith("https://"), source.name
        assert 0.3 <= source.weight <= 1, source.name
        assert len(source.tags) == 2, source.name
        kind, scope = source.tags
        assert kind in KINDS and scope in SCOPES, source.name
        assert source.interval is not None and 15 <= source.interval <= 1440, source.name


def test_curated_file_covers_each_kind_of_outlet(curated: list[Source]) -> None:
    kinds = {s.tags[0] for s in curated if s.enabled}
    assert kinds == KINDS
    arxiv = [s for s in curated if "arxiv.org" in s.url]
    assert {s.url.rsplit("/", 1)[-1] for s in arxiv} >= {"cs.AI", "cs.CL", "cs.LG"}
    assert all(s.interval and s.interval >= 360 for s in arxiv)
    labs = [s.weight for s in curated if s.tags[0] == "lab"]
    newsletters = [s.weight for s in curated if s.tags[0] == "newsletter"]
    assert max(labs) > max(newsletters)


# --- settings: precedence, origins and errors -----------------------------------------------


def test_defaults_with_an_empty_environment() -> None:
    settings, origins = load_settings(env={})
    assert settings == Settings()
    assert set(origins.values()) == {"default"}
    assert set(origins) == {s.name for s in SETTINGS}


def test_precedence_default_file_env_flag(tmp_path: Path) -> None:
    config = tmp_path / "digest.yaml"
    config.write_text("retries: 5\nmax_per_host: 2\ndb: file.db\nfetch_pages: no\n", "utf-8")
    env = {
        "DIGEST_CONFIG": str(config),
        "DIGEST_MAX_PER_HOST": "6",
        "DIGEST_DB": "env.db",
        "UNRELATED": "x",
    }

    settings, origins = load_settings({"db": "flag.db", "retries": None}, env=env)

    assert settings.db == "flag.db" and origins["db"] == "flag"
    assert settings.max_per_host == 6 and origins["max_per_host"] == "DIGEST_MAX_PER_HOST"
    assert settings.retries == 5 and origins["retries"] == str(config)  # a None flag is unset
    assert settings.fetch_pages is False and origins["fetch_pages"] == str(config)
    assert settings.deadline_s == Settings().deadline_s and origins["deadline_s"] == "default"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("YES", True), ("on", True), ("0", False), ("off", False), ("false", False)],
)
def test_boolean_words_from_the_environment(text: str, expected: bool) -> None:
    settings, _ = load_settings(env={"DIGEST_FETCH_PAGES": text})
    assert settings.fetch_pages is expected


def test_numbers_are_converted_and_log_level_normalised() -> None:
    env = {"DIGEST_READ_TIMEOUT_S": " 2.5 ", "DIGEST_RETRIES": "0", "DIGEST_LOG_LEVEL": "debug"}
    settings, _ = load_settings({"max_connections": "8"}, env=env)
    assert (settings.read_timeout_s, settings.retries, settings.max_connections) == (2.5, 0, 8)
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("env", "overrides", "needle"),
    [
        ({"DIGEST_RETRIES": "many"}, {}, "DIGEST_RETRIES: retries must be a whole number"),
        ({"DIGEST_RETRIES": "2.5"}, {}, "DIGEST_RETRIES: retries must be a whole number"),
        ({"DIGEST_FETCH_PAGES": "maybe"}, {}, "DIGEST_FETCH_PAGES: fetch_pages must be true"),
        ({"DIGEST_DEADLINE_S": "soon"}, {}, "DIGEST_DEADLINE_S: deadline_s must be a number"),
        ({"DIGEST_DEADLINE_S": "inf"}, {}, "DIGEST_DEADLINE_S: deadline_s must be a number"),
        ({}, {"max_per_host": "x"}, "--max-per-host: max_per_host must be a whole number"),
        ({}, {"max_per_host": True}, "--max-per-host: max_per_host must be a whole number"),
        ({}, {"no_such_thing": 1}, "unknown setting 'no_such_thing'"),
        ({"DIGEST_MAX_PER_HOST": "0"}, {}, "DIGEST_MAX_PER_HOST: max_per_host must be at least 1"),
        ({}, {"connect_timeout_s": 0}, "--connect-timeout-s: connect_timeout_s must be more"),
        ({"DIGEST_RETRIES": "-1"}, {}, "DIGEST_RETRIES: retries must not be negative"),
        ({"DIGEST_LOG_LEVEL": "loud"}, {}, "DIGEST_LOG_LEVEL: log_level must be DEBUG"),
        ({"DIGEST_REFEREE": "maybe"}, {}, "DIGEST_REFEREE: referee must be off or llm"),
        ({"DIGEST_REFEREE": "llm"}, {}, "DIGEST_REFEREE: referee llm needs llm_base_url"),
        ({"DIGEST_SUMMARIZER": "llm"}, {}, "DIGEST_SUMMARIZER: summarizer llm needs llm_base"),
    ],
)
def test_bad_values_name_their_variable(
    env: dict[str, str], overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(overrides, env=env)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("retries: lots\n", "{path}: retries must be a whole number, got 'lots'"),
        ("db:\n", "{path}: db must be text, got None"),
        ("db: [a, b]\n", "{path}: db must be text, got ['a', 'b']"),
        ("retries: true\n", "{path}: retries must be a whole number, got True"),
        ("max_per_host: 0\n", "{path}: max_per_host must be at least 1"),
        ("retries: 2\nfetch_timout: 3\n7: x\n", "{path}: unknown setting(s): 7, fetch_timout"),
        ("- retries\n", "{path}: settings file must be a mapping"),
        ("retries: 2\ndb: [a\n", "{path}:3: invalid YAML"),
    ],
)
def test_bad_settings_file_names_the_file(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "digest.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"DIGEST_CONFIG": str(path)})
    assert needle.format(path=path) in str(caught.value)


def test_unreadable_settings_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_settings(env={"DIGEST_CONFIG": str(missing)})
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot read settings"):
        load_settings(env={"DIGEST_CONFIG": str(binary)})


def test_empty_settings_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "digest.yaml"
    path.write_text("# nothing set yet\n", "utf-8")
    settings, origins = load_settings(env={"DIGEST_CONFIG": str(path)})
    assert settings == Settings() and set(origins.values()) == {"default"}
