"""What the CLI's commands share: failing with a readable message and exit
status 1, and a domain error worded for a terminal.

Light to import (no database layer): every group module imports it, and
``licserver GROUP --help`` should not load SQLAlchemy."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import NoReturn, TypeVar

import click

from licserver.domain.errors import LicenseServerError, ValidationFailed
from licserver.services import Actor, Origin

# Who a command acts as, in the history and the audit events.
CLI = Origin(Actor("admin", "cli"))


def fail(message: str) -> NoReturn:
    """Print ``Error: message`` on stderr and exit with status 1."""
    click.echo(f"Error: {message}", err=True)
    exit_with(1)


def exit_with(code: int) -> NoReturn:
    """Exit with status ``code``, the database connections closed first: an
    exit in mid-command would otherwise drop them unclosed (PostgreSQL logs
    it, Python warns)."""
    from flask import has_app_context

    from licserver.runtime import close_database

    if has_app_context():  # else the command's context has ended and closed them (cli._create_app)
        close_database()
    sys.exit(code)


def error_message(exc: LicenseServerError) -> str:
    """A ValidationFailed's fields (``field: problem; ...``), else its detail."""
    if isinstance(exc, ValidationFailed):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    return exc.detail


F = TypeVar("F", bound=Callable[..., object])


def worker_options(*, interval: float, shortest: float) -> Callable[[F], F]:
    """A worker command's --loop and --interval (``interval`` seconds by
    default, ``shortest`` at the least): the options run_passes takes."""

    def decorate(func: F) -> F:
        func = click.option(
            "--interval",
            type=click.FloatRange(shortest, 3600),
            default=interval,
            show_default=True,
            help="Seconds between passes with --loop.",
        )(func)
        return click.option(
            "--loop", is_flag=True, help="Keep running: a pass, a pause, another pass..."
        )(func)

    return decorate


def run_passes(
    one_pass: Callable[[Callable[[], bool]], str | None], *, loop: bool, interval: float
) -> None:
    """Run a worker command: one pass, or with ``loop`` pass after pass every
    ``interval`` seconds until SIGTERM or Ctrl-C (the pass in hand finishes:
    ``one_pass`` gets a function that says whether to stop early). A pass
    returns the line to print (None: nothing worth printing in a loop). An
    unreachable database fails a single pass and is retried in a loop."""
    from sqlalchemy.exc import OperationalError

    from licserver.runtime import context, end_session

    stop = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    if loop:
        signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            try:
                line = one_pass(lambda: stop)
            except OperationalError as exc:
                context().session.rollback()
                if not loop:
                    fail(f"database unavailable: {exc.orig}")
                click.echo(f"database unavailable, trying again: {exc.orig}", err=True)
            else:
                if line is not None:
                    click.echo(line)
            if not loop or stop:
                break
            deadline = time.monotonic() + interval
            while not stop and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
    except KeyboardInterrupt:
        pass
    finally:
        end_session()
