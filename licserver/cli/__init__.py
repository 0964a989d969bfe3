"""The ``licserver`` command (also ``flask --app licserver``): one module per
command group, each exposing COMMANDS. Commands call the same services as the
HTTP API."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

MODULES = (
    "database",
    "tokens",
    "demo",
    "notices",
    "keys",
    "ops",
    "staff",
    "webhooks",
    "notify",
    "history",
    "policies",
)


def all_commands() -> list[click.Command]:
    from importlib import import_module

    out: list[click.Command] = []
    for name in MODULES:
        out.extend(import_module(f"licserver.cli.{name}").COMMANDS)
    return out


def register(app: Flask) -> None:
    for cmd in all_commands():
        app.cli.add_command(cmd)


def _create_app() -> Flask:
    from licserver import create_app

    return create_app()


def main() -> None:
    group = FlaskGroup(
        create_app=_create_app,
        add_default_commands=True,
        help="licserver: licence activation server administration.",
    )
    group.main(prog_name="licserver")
