"""Docs that tests keep honest: every command and every setting is in the README."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import cli
from pipeline.config import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(cli.commands))
def test_every_command_is_documented_and_has_help(name):
    command = cli.commands[name]
    assert command.help, f"digest {name} has no help text"
    assert f"### `digest {name}`" in README


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting):
    assert setting.help
    assert f"| `{setting.name}` | `{setting.env}` |" in README
