"""Secrets at rest: argon2id hashes for passwords and admin tokens, SHA-256 for
activation tokens, AES-GCM for what must be shown again (activation passwords,
licence keys). No function here logs or returns a secret it was not asked for."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# RFC 9106's second recommended option (64 MiB is too much per worker request
# on small servers; 19 MiB, t=2 is OWASP's floor for argon2id). The settings
# PASSWORD_HASH_TIME_COST and PASSWORD_HASH_MEMORY_KIB change it (create_app
# calls set_password_hash_cost); the test suite turns it down. A stored hash
# carries its own cost, so hashes made at another cost still verify.
PASSWORD_HASH_TIME_COST = 2
PASSWORD_HASH_MEMORY_KIB = 19 * 1024
_hasher = PasswordHasher(
    time_cost=PASSWORD_HASH_TIME_COST, memory_cost=PASSWORD_HASH_MEMORY_KIB, parallelism=1
)


def set_password_hash_cost(time_cost: int, memory_kib: int) -> None:
    """The argon2id cost of new hashes (and of the equal-work dummy check) in
    this process."""
    global _hasher
    if (time_cost, memory_kib) != (_hasher.time_cost, _hasher.memory_cost):
        _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Same work as a real check, so absence is not visible in timing.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    """For high-entropy random tokens only; a slow hash adds nothing there."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(stored_hash: str, token: str) -> bool:
    return hmac.compare_digest(stored_hash, token_hash(token))


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str) -> bytes:
    """Strict: only the URL-safe alphabet, no padding, canonical length."""
    if not isinstance(text, str) or _B64U.fullmatch(text) is None or len(text) % 4 == 1:
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64u(raw) != text:
        raise ValueError("non-canonical base64url")
    return raw


_B64U = re.compile(r"[A-Za-z0-9_-]*")


class Box:
    """AES-256-GCM with a random 96-bit nonce; ciphertext is nonce + data + tag.

    ``purpose`` is bound as associated data so a ciphertext of one kind (a key)
    cannot be moved into a column of another (a password)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("data key must be 32 bytes")
        self._aead = AESGCM(key)
        # A key of its own for keyed hashes, derived from the data key.
        self._mac_key = hmac.new(key, b"licserver keyed hash v1", hashlib.sha256).digest()

    def seal(self, plaintext: str, purpose: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())

    def open(self, blob: bytes, purpose: str) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], purpose.encode()).decode()

    def keyed_hash(self, text: str, purpose: str) -> str:
        """HMAC-SHA-256 (hex) of ``text`` for ``purpose``: a lookup hash that no
        one without the data key can compute (nor test guesses against)."""
        message = purpose.encode() + b"\0" + text.encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()


class KeyMissing(FileNotFoundError):
    """A key file the configuration names is not there (the CLI says so as
    ``Error: ...``)."""


def load_or_create_data_key(keys_dir: Path, configured: str, create: bool) -> bytes:
    """The data-encryption key: DATA_KEY (base64url of 32 bytes) if set, else
    ``KEYS_DIR/data.key``, made by ``licserver init`` (owner-only)."""
    if configured:
        try:
            key = b64u_decode(configured.strip())
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ValueError("DATA_KEY must be base64url of 32 random bytes")
        return key
    path = keys_dir / "data.key"
    if not path.exists():
        if not create:
            raise KeyMissing(
                f"the data key {path.absolute()} is missing: run 'licserver init', or set "
                "KEYS_DIR (or DATA_KEY) to the server's"
            )
        write_secret_file(path, b64u(os.urandom(32)) + "\n")
    key = b64u_decode(path.read_text().strip())
    if len(key) != 32:
        raise ValueError(f"{path} does not hold a 32-byte key")
    return key


def write_secret_file(path: Path, content: str) -> str:
    """Create ``path`` (mode 0600) holding ``content`` unless it exists, and
    return what the file holds. It is written under a temporary name and linked
    into place, so processes starting at once all read one complete secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text()
