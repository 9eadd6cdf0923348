"""The command line through click's CliRunner: clear one-line errors, settings precedence."""

from __future__ import annotations

import json
from importlib.metadata import version

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.render.jsonout import SCHEMA_VERSION
from pipeline.store import Store


def _invoke(args, env=None):
    return CliRunner().invoke(
        cli, args, env={"COLUMNS": "200", **(env or {})}, catch_exceptions=False
    )


def test_init_with_a_missing_sources_file_is_one_clear_line(tmp_path):
    result = _invoke(
        ["init", "--db", str(tmp_path / "p.db"), "--sources", str(tmp_path / "nope.yaml")]
    )
    assert result.exit_code == 1
    assert "nope.yaml: file not found" in result.output
    assert "Traceback" not in result.output


def test_init_with_an_invalid_sources_file_names_the_line(tmp_path):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - name: A\n    url: http://127.0.0.1/a.xml\n    weight: 3\n")
    result = _invoke(["init", "--db", str(tmp_path / "p.db"), "--sources", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:4: weight must be a number from 0 to 1" in result.output


def test_unreadable_database_path_is_one_clear_line(tmp_path):
    good = tmp_path / "sources.yaml"
    good.write_text("sources:\n  - name: A\n    url: http://127.0.0.1/a.xml\n")
    result = _invoke(
        ["init", "--db", str(tmp_path / "no" / "such" / "p.db"), "--sources", str(good)]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.output and "Traceback" not in result.output


def test_init_then_sources_table_from_env_settings(tmp_path):
    good = tmp_path / "sources.yaml"
    good.write_text(
        "sources:\n  - name: Alpha Wire\n    url: http://127.0.0.1:9/a.xml\n    weight: 0.8\n    tags: [press]\n"
    )
    env = {"DIGEST_DB": str(tmp_path / "p.db"), "DIGEST_SOURCES": str(good)}
    assert "1 sources added" in _invoke(["init"], env).output
    assert "0 sources added" in _invoke(["init"], env).output
    listing = _invoke(["sources"], env)
    assert listing.exit_code == 0 and "Alpha Wire" in listing.output


def test_config_shows_values_and_their_origin(tmp_path):
    result = _invoke(["config", "--db", "x.db"], {"DIGEST_MAX_PER_HOST": "2"})
    assert result.exit_code == 0
    lines = {
        line.split("│")[1].strip(): line
        for line in result.output.splitlines()
        if line.count("│") >= 4
    }
    assert "'x.db'" in lines["db"] and "flag" in lines["db"]
    assert "2" in lines["max_per_host"] and "DIGEST_MAX_PER_HOST" in lines["max_per_host"]
    bad = _invoke(["config"], {"DIGEST_MAX_PER_HOST": "many"})
    assert (
        bad.exit_code == 1
        and "DIGEST_MAX_PER_HOST: max_per_host must be a whole number" in bad.output
    )


def test_stories_json_on_an_empty_database(tmp_path):
    result = _invoke(["stories", "--json", "--db", str(tmp_path / "p.db")])
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_version_names_the_package_and_both_schemas(tmp_path):
    result = _invoke(["--version"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"ai-news-digest {version('ai-news-digest')}"
    assert lines[2] == f"digest JSON schema_version {SCHEMA_VERSION}"
    # The database line names the migration a freshly opened database ends on.
    with Store.open(str(tmp_path / "p.db")) as store:
        applied = [row["name"] for row in store.db.rows("_sqlite_migrations", order_by="rowid")]
    assert lines[1] == f"database schema {len(applied)} ({applied[-1]})"
