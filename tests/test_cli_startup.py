"""`licserver` starts without building the application: `--help` imports no
database layer or API, and the command list it prints is each command's own.
Building the application leaves the garbage collector running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from licserver import cli
from tests.support.cli import Instance

HEAVY = ("sqlalchemy", "flask_sqlalchemy", "flask_smorest", "marshmallow", "licserver.api")


def _modules_after(*args: str, env: dict[str, str] | None = None, usage: bool = True) -> set[str]:
    """The modules a fresh interpreter has imported once `licserver ARGS` ends
    (and that it printed nothing on stderr, warnings at exit included)."""
    fd, listing = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    script = (
        "import json, sys\n"
        f"sys.argv = ['licserver', *{list(args)!r}]\n"
        "from licserver.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"import pathlib; pathlib.Path({listing!r}).write_text(json.dumps(sorted(sys.modules)))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=env,
        )
        assert ("Usage: licserver" in done.stdout) == usage, done.stdout
        assert done.stderr == "", done.stderr
        return set(json.loads(Path(listing).read_text()))
    finally:
        os.unlink(listing)


def test_help_imports_no_database_layer_nor_api() -> None:
    loaded = _modules_after("--help")
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []
    assert not any(m.startswith("licserver.cli.") for m in loaded)


def test_group_help_imports_no_api() -> None:
    loaded = _modules_after("tokens", "--help")
    assert "licserver.cli.tokens" in loaded
    assert not any(m.split(".")[0] == "flask_smorest" for m in loaded)
    assert not any(
        m.startswith(("licserver.api", "licserver.portal", "licserver.staff")) for m in loaded
    )


def test_a_command_runs_without_the_http_side(instance: Instance) -> None:
    """Our commands build the application without the API, the portal and the
    console (half of a command's start-up); Flask's own `routes` gets the
    whole application."""
    instance.ok("init")
    # (flask_limiter is there: Flask's CLI loads its `limiter` command's entry point)
    web = ("licserver.api", "licserver.web", "flask_smorest", "flask_wtf", "flask_login")
    # (and it closes its database connections before it exits: with
    # PYTHONWARNINGS=error in its environment, Python would say so on stderr)
    loaded = _modules_after("tokens", "list", env=instance.env(), usage=False)
    assert "licserver.cli.tokens" in loaded and "licserver.services.tokens" in loaded
    assert sorted(m for m in loaded if m.startswith(web)) == []
    routes = instance.ok("routes")
    assert "/api/v1/activations" in routes and "/portal/login" in routes


# Run in a fresh interpreter: every command's `--help` (groups' subcommands'
# too), one after the other; print for each the heavy modules it was the first
# to import.
_EVERY_HELP = """
import json, sys
import click
from licserver import cli
HEAVY = %r

def heavy():
    return {m for m in sys.modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)}

def run(*args):
    sys.argv = ["licserver", *args, "--help"]
    try:
        cli.main()
    except SystemExit:
        pass

seen, firsts = heavy(), {}
for name in sorted(cli.COMMANDS):
    run(name)
    cmd = cli.load(name)
    subs = sorted(cmd.commands) if isinstance(cmd, click.Group) else []
    for sub in [None, *subs]:
        if sub is not None:
            run(name, sub)
        new = heavy() - seen
        if new:
            firsts[" ".join(filter(None, [name, sub]))] = sorted(new)
        seen |= new
print(json.dumps(firsts), file=sys.stderr)
"""


def test_building_the_app_leaves_the_garbage_collector_running(instance: Instance) -> None:
    """create_app pauses the collector while it builds the app and freezes what
    it built; the server or command then collects as usual, and so it does
    after a setting was refused."""
    script = (
        "import gc, json\n"
        "from licserver import create_app\n"
        "from licserver.config import ConfigError\n"
        "create_app()\n"
        "built = [gc.isenabled(), gc.get_freeze_count() > 0]\n"
        "try:\n"
        "    create_app({'DB_POOL_SIZE': 'five'})\n"
        "except ConfigError:\n"
        "    print(json.dumps([*built, gc.isenabled()]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=instance.env(),
        cwd=instance.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout) == [True, True, True]


def test_every_command_help_imports_no_database_layer() -> None:
    """`licserver GROUP --help` and `licserver GROUP SUB --help` load the
    group's module only: services (and SQLAlchemy) are imported when a
    command runs."""
    done = subprocess.run(
        [sys.executable, "-c", _EVERY_HELP % (HEAVY,)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Usage: licserver" in done.stdout
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {}


def test_listed_help_lines_are_the_commands_own() -> None:
    for name, (_, line) in cli.COMMANDS.items():
        cmd = cli.load(name)
        assert cmd.name == name
        assert cmd.get_short_help_str(limit=10**6) == line, name


def test_notices_is_the_older_name_of_notify_subcommands() -> None:
    notify = cli.load("notify")
    notices = cli.load("notices")
    assert isinstance(notify, click.Group) and isinstance(notices, click.Group)
    assert notices.commands == notify.commands
    assert set(notify.commands) == {"expiry", "product-update"}
