"""Backups of a SQLite database while it serves, and the check that a (restored)
database is complete: ``licserver backup PATH`` and ``licserver check``.

The SQLite copy is made with SQLite's online backup API in one step: it reads
one consistent snapshot (WAL mode: writers go on meanwhile), so the copy holds
every transaction committed before it began and none half-done. PostgreSQL is
backed up with ``pg_dump`` (``pg_dump_command`` says how).
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from licserver import migrate, signing
from licserver.crypto import Box, b64u_decode
from licserver.models import (
    Activation,
    AdminToken,
    Customer,
    Event,
    License,
    Product,
    SigningKey,
    User,
)
from licserver.services.context import Context

KEY_PURPOSE = "license_key"  # services.licenses.KEY_PURPOSE


class BackupError(RuntimeError):
    """The backup was not made; the message says why and what to do."""


class NotSQLite(BackupError):
    """``licserver backup`` copies SQLite only: the pg_dump line that backs up
    this (PostgreSQL) database instead."""

    def __init__(self, pg_dump: str) -> None:
        super().__init__("not a SQLite database")
        self.pg_dump = pg_dump


@dataclass(frozen=True)
class BackupDone:
    source: Path
    dest: Path
    size: int  # bytes


def backup(ctx: Context, dest: Path) -> BackupDone:
    """Copy this server's SQLite database to ``dest`` (which must not exist)
    while it serves. Raises NotSQLite (with the pg_dump line) for PostgreSQL and
    BackupError when no copy was made."""
    engine = _engine(ctx.session)
    if engine.dialect.name != "sqlite":
        url = engine.url.render_as_string(hide_password=False)
        raise NotSQLite(pg_dump_command(url, str(dest)))
    source = sqlite_path(engine)
    size = backup_sqlite(source, dest, ctx.settings.sqlite_busy_timeout_seconds)
    return BackupDone(source, dest, size)


def _engine(session: Session) -> Engine:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    return engine


def pg_dump_command(database_url: str, path: str) -> str:
    """The pg_dump line that backs up this PostgreSQL database (password left out:
    give it with PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url).set(drivername="postgresql", password=None)
    target = shlex.quote(url.render_as_string(hide_password=False))
    return f"pg_dump --format=custom --file={shlex.quote(path)} {target}"


def sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        raise BackupError("not a SQLite database file")
    return Path(database)


def backup_sqlite(source: Path, dest: Path, busy_timeout_s: float = 10.0) -> int:
    """Copy the live database ``source`` to ``dest`` (which must not exist);
    return the copy's size in bytes. The copy is written beside ``dest``
    under a temporary name, checked (``PRAGMA integrity_check``) and only then
    renamed into place, as one self-contained file (no -wal)."""
    if dest.exists():
        raise BackupError(f"{dest} exists; choose a new file name (nothing was overwritten)")
    if not source.is_file():
        raise BackupError(f"the database file {source} does not exist")
    if not dest.parent.is_dir():
        raise BackupError(f"the folder {dest.parent} does not exist")
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout_s)
    try:
        dst = sqlite3.connect(partial)
        try:
            # pages=-1: all in one step, from one read snapshot. Stepwise copying
            # would start over whenever a writer commits, forever under load.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode = DELETE")
            result = dst.execute("PRAGMA integrity_check").fetchone()
            if result is None or result[0] != "ok":
                raise BackupError(f"the copy failed SQLite's integrity check: {result}")
        finally:
            dst.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    os.chmod(partial, 0o600)  # it holds the same secrets (hashed, encrypted) as the original
    os.replace(partial, dest)
    return dest.stat().st_size


# ---- check ------------------------------------------------------------------


@dataclass
class CheckReport:
    database: str = ""  # its URL, password hidden
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


_COUNTED: tuple[tuple[str, type], ...] = (
    ("products", Product),
    ("customers", Customer),
    ("users", User),
    ("licenses", License),
    ("activations", Activation),
    ("events", Event),
    ("admin_tokens", AdminToken),
    ("signing_keys", SigningKey),
)


def check(ctx: Context) -> CheckReport:
    """Is this database complete and usable with this server's keys (the
    keyring's folder and passphrase, the context's data box)? Never writes."""
    session = ctx.session
    report = CheckReport(_engine(session).url.render_as_string(hide_password=True))
    keys_dir, passphrase = ctx.keyring.keys_dir, ctx.keyring.passphrase
    try:
        _check(session, keys_dir, passphrase, ctx.open_box, report)
    except SQLAlchemyError as exc:
        session.rollback()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        report.problems.append(f"the database cannot be read: {reason}")
    return report


def _check(
    session: Session,
    keys_dir: Path,
    passphrase: str,
    box: Callable[[], Box],
    report: CheckReport,
) -> None:
    engine = _engine(session)
    current, head = migrate.current(engine), migrate.head()
    if current is None:
        report.problems.append("no licserver schema in this database (run 'licserver init')")
        return
    report.lines.append(f"schema: {current} (code expects {head})")
    if current != head:
        report.problems.append(
            f"schema is at {current}, this code expects {head}: run 'licserver db upgrade'"
        )
        return
    if engine.dialect.name == "sqlite":
        result = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
        if result != "ok":
            report.problems.append(f"SQLite integrity check: {result}")
    for name, model in _COUNTED:
        count = session.scalar(select(func.count()).select_from(model))
        report.lines.append(f"{name}: {count}")
    active = session.scalar(
        select(func.count()).select_from(Activation).where(Activation.deactivated_at.is_(None))
    )
    report.lines.append(f"activations in use: {active}")
    _check_keys(session, keys_dir, passphrase, box, report)
    session.rollback()


# Over 60 lines on purpose: a checklist of the key folder against the database,
# one report line per kind of problem.
def _check_keys(
    session: Session,
    keys_dir: Path,
    passphrase: str,
    box: Callable[[], Box],
    report: CheckReport,
) -> None:
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    known = {r.kid: r for r in rows}
    active = [r for r in rows if r.status == "active"]
    if not active:
        report.problems.append("no active signing key (run 'licserver init' or 'keys rotate')")
    elif len(active) > 1:
        report.problems.append(
            f"{len(active)} active signing keys ({', '.join(r.kid for r in active)}); "
            "run 'licserver keys rotate' to leave one"
        )
    for row in rows:
        try:
            public = signing.public_key_from_b64(row.public_key)
        except ValueError:
            report.problems.append(f"signing key {row.kid}: its public key row is damaged")
            continue
        if row.status != "active":
            continue
        try:
            private = signing.read_private_key(keys_dir, row.kid, passphrase)
        except (FileNotFoundError, ValueError) as exc:
            report.problems.append(f"active signing key {row.kid}: {exc}")
            continue
        if signing.public_key_b64(private.public_key()) != signing.public_key_b64(public):
            report.problems.append(
                f"active signing key {row.kid}: {keys_dir / (row.kid + '.pem')} "
                "does not match the public key in the database"
            )
    report.lines.append(
        "signing keys: " + (", ".join(f"{r.kid} ({r.status})" for r in rows) or "none")
    )
    try:
        data_box = box()
    except (OSError, ValueError) as exc:
        report.problems.append(f"data key: {exc}")
        return
    unreadable, unknown = 0, dict[str, str]()
    for public_id, blob in session.execute(select(License.public_id, License.key_enc)):
        try:
            kid = _kid_of(data_box.open(blob, KEY_PURPOSE))
        except Exception:  # wrong data key (InvalidTag) or a damaged value
            unreadable += 1
            continue
        if kid not in known:
            unknown.setdefault(kid, public_id)
    if unreadable:
        report.problems.append(
            f"{unreadable} licence key(s) cannot be decrypted: wrong data key "
            "(DATA_KEY or KEYS_DIR/data.key) for this database"
        )
    for kid, public_id in sorted(unknown.items()):
        report.problems.append(
            f"licence {public_id} (and maybe others) was signed by key {kid!r}, "
            "which is not in signing_keys: its licence keys would be refused"
        )


def _kid_of(license_key: str) -> str:
    payload = json.loads(b64u_decode(license_key.split(".")[1]))
    kid = payload.get("kid") if isinstance(payload, dict) else None
    return str(kid)
