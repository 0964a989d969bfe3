"""The local activation: one JSON file per product in ``state_dir``.

Written atomically (a temporary file in the same folder, fsync, rename, fsync
of the folder), readable by the user only (0600, folder 0700). Reading never
trusts the file: anything but a well-formed state of this SDK is a
``StateError``, which the client reports as ``CERTIFICATE_INVALID``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

FORMAT = "licclient-state/1"
MAX_STATE_BYTES = 64 * 1024
_REFUSALS = (None, "LICENSE_SUSPENDED", "LICENSE_REVOKED", "LICENSE_EXPIRED")


class StateError(ValueError):
    """The state file is unreadable, truncated, altered or not ours."""


@dataclass(frozen=True, slots=True)
class State:
    product: str
    installation_id: str
    server: str
    activation_id: str
    activation_token: str
    certificate: str
    # Latest clock reading seen (unix seconds): a clock earlier than this by
    # more than the tolerance is CLOCK_TAMPERED.
    last_seen: int
    # The code of the last refused check-in (suspended, revoked, expired), if
    # the licence has not been usable since.
    refusal: str | None = None

    def with_(self, **changes: Any) -> State:
        return replace(self, **changes)


def default_state_dir() -> Path:
    """A per-user folder of the platform, shared by every product using the SDK."""
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "licclient"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "licclient"
    base = os.environ.get("XDG_STATE_HOME")
    return (Path(base) if base else home / ".local" / "state") / "licclient"


def encode(state: State) -> bytes:
    body = {"format": FORMAT, **asdict(state)}
    return json.dumps(body, sort_keys=True, indent=1).encode("utf-8") + b"\n"


def decode(raw: bytes) -> State:
    if len(raw) > MAX_STATE_BYTES:
        raise StateError("too large")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError("not JSON") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError("not a licclient state")
    strings = ("product", "installation_id", "server", "activation_id", "activation_token")
    values: dict[str, Any] = {}
    for name in (*strings, "certificate"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise StateError(f"{name!r} missing or not a string")
        values[name] = value
    last_seen = data.get("last_seen")
    if not isinstance(last_seen, int) or isinstance(last_seen, bool):
        raise StateError("'last_seen' missing or not an integer")
    refusal = data.get("refusal")
    if refusal not in _REFUSALS:
        raise StateError("'refusal' is not a known code")
    return State(**values, last_seen=last_seen, refusal=refusal)


class StateStore:
    """The file of one product in one state folder."""

    def __init__(self, state_dir: Path, product: str) -> None:
        self.dir = state_dir
        self.path = state_dir / f"{product}.json"
        self._path = os.fspath(self.path)  # read() runs at every start: no Path work there

    def read(self) -> bytes | None:
        """The raw file, or None when there is none. OSError when it cannot be read."""
        try:
            fd = os.open(self._path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError:
            return None
        try:
            return os.read(fd, MAX_STATE_BYTES + 1)
        finally:
            os.close(fd)

    def write(self, state: State, *, unless_changed_from: bytes | None = None) -> bytes:
        """Replace the file atomically; returns the bytes written.

        With ``unless_changed_from``, skip the write (returning the current
        bytes) when another process changed the file since it was read as those
        bytes: its newer certificate must not be overwritten by an older one.
        """
        data = encode(state)
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if unless_changed_from is not None:
            current = self.read()
            if current != unless_changed_from:
                return current or b""
        write_atomically(self.path, data)
        return data

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return
        _fsync_dir(self.dir)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` (its folder exists) with ``data`` in one step, durably:
    a temporary file (mode 0600) in the same folder, fsynced, then renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:  # mkstemp: mode 0600
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    """Make a rename or unlink durable (POSIX; Windows has no directory handles)."""
    if sys.platform == "win32":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
