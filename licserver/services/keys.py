"""The signing keyring: public keys from the database, the active private key
from KEYS_DIR. One per process, cached; reloaded when a token names a kid it
has not seen (another server rotated) at most every few seconds."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from licserver import signing
from licserver.models import SigningKey

RELOAD_INTERVAL = 5.0


@dataclass
class KeyInfo:
    kid: str
    public_key: str
    status: str


@dataclass
class Keyring:
    keys_dir: Path
    passphrase: str = ""
    _public: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    _infos: list[KeyInfo] = field(default_factory=list)
    _active: tuple[str, Ed25519PrivateKey] | None = None
    _loaded_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, session: Session) -> None:
        rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).all()
        public = {r.kid: signing.public_key_from_b64(r.public_key) for r in rows}
        infos = [KeyInfo(r.kid, r.public_key, r.status) for r in rows]
        active_rows = [r for r in rows if r.status == "active"]
        active = None
        if active_rows:
            kid = active_rows[-1].kid
            if self._active and self._active[0] == kid:
                active = self._active
            else:
                active = (kid, signing.read_private_key(self.keys_dir, kid, self.passphrase))
        with self._lock:
            self._public, self._infos, self._active = public, infos, active
            self._loaded_at = time.monotonic()

    def _ensure(self, session: Session) -> None:
        if not self._loaded_at:
            self.load(session)

    def public_keys(self, session: Session, want: str | None = None) -> dict[str, Ed25519PublicKey]:
        self._ensure(session)
        if want is not None and want not in self._public:
            if time.monotonic() - self._loaded_at > RELOAD_INTERVAL:
                self.load(session)
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


def ensure_signing_key(session: Session, keys_dir: Path, passphrase: str) -> tuple[str, bool]:
    """Make sure an active key exists, its private half on disk. Returns (kid, created).

    An empty database with key files already in KEYS_DIR (a restored or reset
    database) adopts them: the newest becomes active, the rest retired.
    """
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
