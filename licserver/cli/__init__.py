"""The ``licserver`` command (also ``flask --app licserver``): one module per
command group, each exposing COMMANDS. Commands call the same services as the
HTTP API.

``licserver`` loads lazily: ``licserver --help`` imports no command module,
``licserver GROUP --help`` imports that group's module only, and the
application is built when a command runs (every command gets an application
context then, as under ``flask --app licserver``). Keep this module light:
Flask's CLI and click only."""

from __future__ import annotations

from functools import update_wrapper
from importlib import import_module
from typing import TYPE_CHECKING, Any

import click
from flask.cli import FlaskGroup, with_appcontext

if TYPE_CHECKING:
    from flask import Flask

# Every command of ours: name -> (module under licserver.cli, its help line as
# `licserver --help` lists it). tests/test_cli_startup.py checks that each help
# line is the command's own (the first paragraph of its docstring).
COMMANDS: dict[str, tuple[str, str]] = {
    "backup": (
        "ops",
        "Copy the SQLite database to PATH while the server runs (a consistent snapshot; "
        "PATH must not exist).",
    ),
    "check": (
        "ops",
        "Check that this database (a restored one, say) is complete and usable with this "
        "keys folder: schema at head, table counts, every signing key in place.",
    ),
    "dashboard": ("dashboard", "The console dashboard's stored figures."),
    "db": ("database", "Schema migrations."),
    "demo": ("demo", "Load a demo product, customer, licences and users; print how to use them."),
    "history": ("history", "The tamper-evident history of licences."),
    "import": (
        "imports",
        "Import customers, users, licences or activations from another licensing system "
        "(CSV or JSON lines), idempotent by the external_id column.",
    ),
    "init": (
        "database",
        "Create or upgrade the schema; create the signing and data keys if missing.",
    ),
    "jobs": ("imports", "Background jobs of the console (imports): run them."),
    "keys": ("keys", "Signing keys: list them, stage a new one (rotate), activate it."),
    "notices": (
        "notify",
        "The older name of `licserver notify expiry|product-update` (kept for cron lines).",
    ),
    "notify": (
        "notify",
        "Send the emails that are due: expiry reminders (30, 7 and 1 days before a "
        "licence expires, each once, to the users who want them: by default owners and "
        "billing users) and the update email of every published release not yet "
        "announced.",
    ),
    "policies": ("policies", "A product's policies: the licence models its licences follow."),
    "releases": ("releases", "A product's releases: the portal's downloads."),
    "staff": (
        "staff",
        "Staff accounts of the console at /admin: create, list, disable, enable, "
        "set-role, set-password.",
    ),
    "sweep": (
        "sweep",
        "Release floating leases that ran out, and mark (or free the seats of) machines "
        "that missed their heartbeat, each with its event.",
    ),
    "tokens": ("tokens", "Admin API tokens."),
    "verify-history": (
        "history",
        "Check every licence's history chain: each event's hash, its place in the chain, "
        "the licence's recorded head and the latest signed head.",
    ),
    "webhooks": ("webhooks", "Webhook endpoints, and the worker that sends them events."),
}

# Commands the application's extensions add (flask-limiter, flask-smorest): the
# application is built to look them up.
APP_COMMANDS: dict[str, str] = {
    "limiter": "Flask-Limiter maintenance & utility commands",
    "openapi": "OpenAPI commands.",
}


def load(name: str) -> click.Command:
    """One of our commands, its module imported now."""
    module = import_module(f"licserver.cli.{COMMANDS[name][0]}")
    for cmd in module.COMMANDS:
        if cmd.name == name:
            return _with_app(cmd)
    raise LookupError(f"licserver.cli.{COMMANDS[name][0]} has no command {name!r}")


def _with_app(cmd: click.Command) -> click.Command:
    """Give every leaf command an application context when it runs (not while
    its options are parsed: --help needs no application). Groups' callbacks
    stay as they are, so ``GROUP SUB --help`` builds nothing either."""
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _with_app(sub)
    elif cmd.callback is not None and not getattr(cmd.callback, "_licserver_app", False):
        wrapped: Any = with_appcontext(cmd.callback)
        wrapped._licserver_app = True
        cmd.callback = update_wrapper(wrapped, cmd.callback)
    return cmd


def all_commands() -> list[click.Command]:
    return [load(name) for name in sorted(COMMANDS)]


def register(app: Flask) -> None:
    """``flask --app licserver`` (and tests' ``app.test_cli_runner()``) find
    our commands on ``app.cli``."""
    for cmd in all_commands():
        app.cli.add_command(cmd)


class LicserverGroup(FlaskGroup):
    """Flask's command group, listing and loading our commands without
    building the application."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = click.Group.list_commands(self, ctx)  # Flask's run, shell, routes
        return sorted({*own, *COMMANDS, *APP_COMMANDS})

    def invoke(self, ctx: click.Context) -> Any:
        from licserver.crypto import KeyMissing

        try:
            return super().invoke(ctx)
        except KeyMissing as exc:
            from licserver.cli.common import fail

            fail(str(exc))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load(cmd_name))
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.commands.get(name)
            if cmd is None:  # not loaded: a stand-in with the help line
                text = COMMANDS[name][1] if name in COMMANDS else APP_COMMANDS[name]
                cmd = click.Command(name, help=text)
            rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


# Commands that may create what they need: the instance folder, the SQLite
# database, the schema and the keys. Every other command only finds them, the
# same way wherever it runs (README, "The command line"), and refuses with
# "Error: ..." when they are not there.
CREATING = frozenset({"init", "db"})
# Commands that report on a database without (the whole) schema themselves.
SCHEMALESS = CREATING | {"check", "routes", "shell", "run", *APP_COMMANDS}


def _command_name() -> str | None:
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().invoked_subcommand if ctx is not None else None


def _create_app() -> Flask:
    from licserver import create_app
    from licserver.cli.common import fail
    from licserver.config import ConfigError

    name = _command_name()
    try:
        # Our own commands need no HTTP side; Flask's (routes, run, shell) and
        # the extensions' (limiter, openapi) need the whole application.
        app = create_app(create=name in CREATING, serve=name not in COMMANDS)
    except ConfigError as exc:
        click.echo(f"Error: {exc}", err=True)  # no database opened yet: nothing to close
        raise SystemExit(1) from None
    if name not in SCHEMALESS:
        from licserver.runtime import context
        from licserver.services import schema

        with app.app_context():
            problem = schema.missing_schema(context())
            if problem:
                fail(problem)
    from licserver.runtime import close_database

    # A command's application context ends with the command: close the pooled
    # connections then (a connection left open at exit is logged by PostgreSQL
    # and warned of by Python).
    app.teardown_appcontext(lambda _exc: close_database())
    return app


def main() -> None:
    group = LicserverGroup(
        create_app=_create_app,
        add_default_commands=True,
        help="licserver: licence activation server administration.",
    )
    group.main(prog_name="licserver")
