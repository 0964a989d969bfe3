"""README.md states what the code has: its two set-up commands, real settings
only, and every `licserver` command of ours in "The command line"."""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import click

from licserver.cli import COMMANDS
from licserver.config import DEFAULTS

README = Path(__file__).resolve().parents[2] / "README.md"
# Read from the environment, not settings: the TOML file, the instance folder,
# the test suite's database choice.
NOT_SETTINGS = {"CONFIG", "INSTANCE_DIR", "TEST_DB"}


def _section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_readme_starts_with_the_two_commands() -> None:
    first_block = README.read_text().split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert commands == ["make run", "make test"]


def test_every_setting_the_readme_names_exists() -> None:
    named = set(re.findall(r"LICSERVER_([A-Z0-9_]+)", README.read_text()))
    unknown = named - set(DEFAULTS) - NOT_SETTINGS
    assert not unknown, f"README names settings that do not exist: {sorted(unknown)}"


def _command(name: str, module: str) -> click.Command:
    found = [c for c in import_module(f"licserver.cli.{module}").COMMANDS if c.name == name]
    assert found, f"licserver.cli.{module} has no command {name}"
    return found[0]


def test_the_command_line_table_lists_every_command() -> None:
    rows = [
        line
        for line in _section(README.read_text(), "The command line").splitlines()
        if line.startswith("| `licserver ")
    ]
    for name, (module, _help) in COMMANDS.items():
        mine = [r for r in rows if re.match(rf"\| `licserver {re.escape(name)}[ `]", r)]
        assert mine, f"README's command table has no row for `licserver {name}`"
        command = _command(name, module)
        if isinstance(command, click.Group):
            text = " ".join(mine)
            for sub in command.commands:
                assert re.search(rf"(?<![\w-]){re.escape(sub)}(?![\w-])", text), (
                    f"README's command table does not name `licserver {name} {sub}`"
                )
