"""The signing keyring: public keys from the database, the active private key
from KEYS_DIR; and the key administration (`licserver keys list|rotate|activate`: a
rotation is staged, a ``next`` key published first, then activated).

One keyring per process, cached. Other processes (workers, other servers)
rotate keys too, so the cache is refreshed:
- when a token names a kid it has not seen (a licence key signed by a key made
  elsewhere): at once, since a key's row is committed before anything is signed
  with it, so the first request carrying a new kid is answered, whatever this
  process loaded a moment before. The same unknown kid again within
  RELOAD_INTERVAL seconds is refused without another look (a forged token sent
  over and over costs no query; a new forged kid costs one small one, like any
  request);
- when it is older than ``refresh_seconds`` (KEY_REFRESH_SECONDS), the next time
  something signs or lists the keys: a process that cached the old active key
  signs with the new one within a few seconds of a rotation. Between refreshes
  the hot path costs one monotonic-clock read.

A server whose KEYS_DIR lacks the active key's private file (another server
rotated and the file has not been copied yet) keeps signing with the newest key
whose file it has, and says so in its log: what it signs still verifies (a
retired key stays listed by GET /api/v1/keys), and no request fails meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from licserver import signing
from licserver.database import begin_write, is_postgres
from licserver.models import SigningKey
from licserver.services.context import Context

log = logging.getLogger(__name__)

RELOAD_INTERVAL = 5.0
# A staged key (keys rotate): published, pinned by products ahead of time, not
# yet signing. "active" signs; "retired" only verifies what it signed.
NEXT = "next"
DEFAULT_REFRESH_SECONDS = 5.0


@dataclass
class KeyInfo:
    kid: str
    public_key: str
    status: str
    created_at: datetime | None = None


@dataclass
class Keyring:
    keys_dir: Path
    passphrase: str = ""
    refresh_seconds: float = DEFAULT_REFRESH_SECONDS
    _public: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    _infos: list[KeyInfo] = field(default_factory=list)
    _active: tuple[str, Ed25519PrivateKey] | None = None
    _loaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _warned: str = ""
    _offline: tuple[str, Ed25519PrivateKey] | None = None
    _missed: tuple[str, float] = ("", 0.0)  # the last unknown kid looked for, and when

    def load(self, session: Session) -> None:
        rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
        public = {r.kid: signing.public_key_from_b64(r.public_key) for r in rows}
        infos = [KeyInfo(r.kid, r.public_key, r.status, r.created_at) for r in rows]
        active = self._pick_signer([r.kid for r in rows if r.status == "active"], rows)
        with self._lock:
            self._public, self._infos, self._active = public, infos, active
            self._loaded_at = time.monotonic()

    def _pick_signer(
        self, active_kids: list[str], rows: Sequence[SigningKey]
    ) -> tuple[str, Ed25519PrivateKey] | None:
        """The active key; else (its file is missing here) the newest one we can sign with."""
        if not active_kids:
            return None
        kid = active_kids[-1]
        if self._active and self._active[0] == kid:
            return self._active
        try:
            return kid, signing.read_private_key(self.keys_dir, kid, self.passphrase)
        except FileNotFoundError:
            fallback = self._fallback(kid, [r.kid for r in rows if r.status != NEXT])
            if fallback is None:
                raise
            if self._warned != kid:
                self._warned = kid
                log.error(
                    "signing key %s is active but its private key is not in %s; still signing "
                    "with %s (copy %s.pem here from the server that rotated)",
                    kid,
                    self.keys_dir,
                    fallback[0],
                    kid,
                )
            return fallback

    def _fallback(self, missing: str, kids: list[str]) -> tuple[str, Ed25519PrivateKey] | None:
        if self._active is not None:
            return self._active
        for kid in reversed(kids):
            if kid != missing and (self.keys_dir / f"{kid}.pem").is_file():
                return kid, signing.read_private_key(self.keys_dir, kid, self.passphrase)
        return None

    def _ensure(self, session: Session) -> None:
        if not self._loaded_at or time.monotonic() - self._loaded_at > self.refresh_seconds:
            self.load(session)

    def public_keys(self, session: Session, want: str | None = None) -> dict[str, Ed25519PublicKey]:
        if not self._loaded_at:
            self.load(session)
        if want is not None and want not in self._public:
            missed, at = self._missed
            if want != missed or time.monotonic() - at > RELOAD_INTERVAL:
                self.load(session)
                if want not in self._public:
                    self._missed = (want, time.monotonic())
        return self._public

    def infos(self, session: Session) -> list[KeyInfo]:
        self._ensure(session)
        return list(self._infos)

    def signer(self, session: Session) -> tuple[str, Ed25519PrivateKey]:
        self._ensure(session)
        if self._active is None:
            self.load(session)
        if self._active is None:
            raise RuntimeError("no active signing key: run 'licserver init'")
        return self._active

    def answer_signer(self, session: Callable[[], Session]) -> tuple[str, Ed25519PrivateKey]:
        """The signer of answers (licserver.api.answers): the active key, or, while
        the database cannot be read to refresh it, the one already loaded — a 503
        for a database outage is signed too. ``session`` is only called when the
        keys are due for a reload: every answer is signed, and between reloads
        the key object in memory is all it needs."""
        active = self._active
        if active is not None and time.monotonic() - self._loaded_at <= self.refresh_seconds:
            return active
        db_session = session()
        try:
            return self.signer(db_session)
        except SQLAlchemyError:
            db_session.rollback()
            if self._active is not None:
                return self._active
            # never loaded (the database was down from the start): the newest key
            # file, which the database names active unless a rotation failed half-way
            if self._offline is None:
                files = signing.private_key_files(self.keys_dir)
                if not files:
                    raise
                kid = files[-1][0]
                self._offline = kid, signing.read_private_key(self.keys_dir, kid, self.passphrase)
            return self._offline


def ensure_signing_key(ctx: Context, keys_dir: Path, passphrase: str) -> tuple[str, bool]:
    """Make sure an active key exists, its private half on disk. Returns (kid, created).

    An empty database with key files already in KEYS_DIR (a restored or reset
    database) adopts them: the newest becomes active, the rest retired.
    """
    session = ctx.session
    active = session.scalars(select(SigningKey).where(SigningKey.status == "active")).first()
    if active is not None:
        signing.read_private_key(keys_dir, active.kid, passphrase)  # fail loudly if absent
        return active.kid, False
    known = set(session.scalars(select(SigningKey.kid)).all())
    files = [kid for kid, _ in signing.private_key_files(keys_dir) if kid not in known]
    if files:
        for i, kid in enumerate(files):
            key = signing.read_private_key(keys_dir, kid, passphrase)
            session.add(
                SigningKey(
                    kid=kid,
                    public_key=signing.public_key_b64(key.public_key()),
                    status="active" if i == len(files) - 1 else "retired",
                )
            )
        session.commit()
        return files[-1], False
    key = Ed25519PrivateKey.generate()
    kid = signing.new_kid(datetime.now(UTC))
    signing.write_private_key(keys_dir, kid, key, passphrase)
    session.add(
        SigningKey(kid=kid, public_key=signing.public_key_b64(key.public_key()), status="active")
    )
    session.commit()
    return kid, True


def list_keys(ctx: Context) -> list[KeyInfo]:
    """Every signing key, oldest first."""
    session = ctx.session
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
    return [KeyInfo(r.kid, r.public_key, r.status, r.created_at) for r in rows]


def list_with_files(ctx: Context) -> list[tuple[KeyInfo, Path, bool]]:
    """Every signing key, oldest first, with the path of its private key file in
    this server's keys folder and whether that file is there."""
    keys_dir = ctx.keyring.keys_dir
    out = []
    for info in list_keys(ctx):
        path = keys_dir / f"{info.kid}.pem"
        out.append((info, path, path.is_file()))
    return out


def stage_in_keyring(ctx: Context) -> tuple[KeyInfo, Path]:
    """:func:`stage` in this server's keys folder, with its passphrase; also
    returns the new private key file's path."""
    keys_dir = ctx.keyring.keys_dir
    info = stage(ctx, keys_dir, ctx.keyring.passphrase)
    return info, keys_dir / f"{info.kid}.pem"


class StagingError(ValueError):
    """A key rotation step that cannot be taken now; the message says why."""


def _lock_keys(session: Session) -> None:
    begin_write(session)
    if is_postgres(session):
        # two rotations at once must not leave two active (or next) keys
        session.execute(text("LOCK TABLE signing_keys IN EXCLUSIVE MODE"))


def _retire_active(session: Session) -> list[str]:
    """Every active key becomes retired (inside the caller's locked write); their kids."""
    kids = list(session.scalars(select(SigningKey.kid).where(SigningKey.status == "active")).all())
    session.execute(
        update(SigningKey).where(SigningKey.status == "active").values(status="retired")
    )
    return kids


def stage(ctx: Context, keys_dir: Path, passphrase: str) -> KeyInfo:
    """Step 1 of a rotation: a new key with status ``next``, published by
    GET /api/v1/keys (products may pin it) but signing nothing until
    :func:`activate`. StagingError when a ``next`` key is there already.

    The private file is written (and synced) before the row is committed, so a
    process that sees the new row finds the file in a shared KEYS_DIR; a
    failed commit removes the file again."""
    session = ctx.session
    key = Ed25519PrivateKey.generate()
    now = datetime.now(UTC)
    kid = signing.new_kid(now)
    path = signing.write_private_key(keys_dir, kid, key, passphrase)
    try:
        _lock_keys(session)
        staged = session.scalars(select(SigningKey.kid).where(SigningKey.status == NEXT)).first()
        if staged is not None:
            raise StagingError(
                f"key {staged} is staged already: activate it (licserver keys activate "
                f"{staged}) before staging another"
            )
        row = SigningKey(
            kid=kid,
            public_key=signing.public_key_b64(key.public_key()),
            status=NEXT,
            created_at=now,
        )
        session.add(row)
        session.commit()
    except BaseException:
        session.rollback()
        path.unlink(missing_ok=True)
        raise
    return KeyInfo(kid, row.public_key, NEXT, now)


def activate(ctx: Context, kid: str) -> tuple[KeyInfo, list[str]]:
    """Step 3: the ``next`` key ``kid`` becomes the signer; every active key
    becomes ``retired`` (still listed, still verifies what it signed). Its
    private file must be in this server's keys folder. Returns the key and the
    kids retired; StagingError when ``kid`` is not the staged key."""
    session = ctx.session
    if not (ctx.keyring.keys_dir / f"{kid}.pem").is_file():
        raise StagingError(
            f"the private key {kid}.pem is not in {ctx.keyring.keys_dir}: copy it here first"
        )
    _lock_keys(session)
    row = session.scalars(select(SigningKey).where(SigningKey.kid == kid)).first()
    if row is None or row.status != NEXT:
        session.rollback()
        state = "no such key" if row is None else f"it is {row.status}"
        raise StagingError(f"{kid} is not a staged (next) key: {state}")
    retired = _retire_active(session)
    row.status = "active"
    session.commit()
    return KeyInfo(kid, row.public_key, "active", row.created_at), retired


def rotate(ctx: Context, keys_dir: Path, passphrase: str) -> tuple[KeyInfo, list[str]]:
    """Stage and activate at once (tests, and servers that pin nothing ahead):
    a new active key; the kids retired."""
    info = stage(ctx, keys_dir, passphrase)
    session = ctx.session
    _lock_keys(session)
    retired = _retire_active(session)
    session.execute(update(SigningKey).where(SigningKey.kid == info.kid).values(status="active"))
    session.commit()
    return KeyInfo(info.kid, info.public_key, "active", info.created_at), retired
