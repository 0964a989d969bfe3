"""Update feeds in the formats desktop updater frameworks read:

- Sparkle: an RSS 2.0 appcast, one ``<item>`` per update with an
  ``<enclosure>`` carrying ``sparkle:edSignature`` (base64 Ed25519 signature
  over the file's bytes) and ``length``.
- electron-updater, generic provider: ``latest.yml`` (``latest-mac.yml`` on
  macOS) with ``version``, ``files`` (``url``, ``sha512`` base64, ``size``),
  ``path``, ``sha512`` and ``releaseDate``.
- Tauri, dynamic server: 204 when there is nothing, else JSON ``version``,
  ``pub_date`` (RFC 3339), ``url``, ``signature`` (the text of the minisign
  ``.sig`` file, base64) and ``notes``.

Also the minisign signature and public key texts Tauri verifies with. Plain
Python: the signing key is passed in."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SPARKLE_NS = "http://www.andymatuschak.org/xml-namespaces/sparkle"
# Sparkle's os names for an enclosure.
_SPARKLE_OS = {"macos": "macos", "windows": "windows"}
# Tauri's {{target}} and {{arch}} names, read as ours.
TAURI_OS = {"linux": "linux", "darwin": "macos", "windows": "windows"}
TAURI_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}


@dataclass(frozen=True)
class FeedItem:
    version: str
    notes: str | None
    released_at: datetime
    url: str
    filename: str
    size: int
    sha512_b64: str | None
    ed_signature: str | None
    minisign: str | None
    min_version: str | None = None


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def sparkle_appcast(title: str, feed_url: str, items: list[FeedItem], platform: str | None) -> str:
    """The appcast (UTF-8 XML text). Items without an edSignature are left out:
    Sparkle refuses an unsigned update."""
    os_attr = ""
    if platform in _SPARKLE_OS:
        os_attr = f" sparkle:os={quoteattr(_SPARKLE_OS[platform])}"
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<rss version="2.0" xmlns:sparkle="{SPARKLE_NS}">',
        "<channel>",
        f"<title>{escape(title)}</title>",
        f"<link>{escape(feed_url)}</link>",
        f"<description>{escape(title)} updates</description>",
        "<language>en</language>",
    ]
    for it in items:
        if it.ed_signature is None:
            continue
        out += [
            "<item>",
            f"<title>Version {escape(it.version)}</title>",
            f"<pubDate>{format_datetime(_utc(it.released_at))}</pubDate>",
            f"<sparkle:version>{escape(it.version)}</sparkle:version>",
            f"<sparkle:shortVersionString>{escape(it.version)}</sparkle:shortVersionString>",
        ]
        if it.min_version:
            out.append(
                f"<sparkle:minimumAutoupdateVersion>{escape(it.min_version)}"
                "</sparkle:minimumAutoupdateVersion>"
            )
        if it.notes:
            out.append(f"<description>{escape(it.notes)}</description>")
        out += [
            f'<enclosure url={quoteattr(it.url)} length="{it.size}"'
            f' type="application/octet-stream"{os_attr}'
            f" sparkle:edSignature={quoteattr(it.ed_signature)}/>",
            "</item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def _yaml_str(value: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value, ensure_ascii=True)


def electron_latest_yml(item: FeedItem) -> str:
    """``latest.yml`` for electron-updater's generic provider. ``url`` and
    ``path`` are absolute: the provider resolves them against the feed URL,
    and an absolute one stands as is."""
    if item.sha512_b64 is None:
        raise ValueError("electron-updater needs the file's sha512")
    released = _utc(item.released_at).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    lines = [
        f"version: {_yaml_str(item.version)}",
        "files:",
        f"  - url: {_yaml_str(item.url)}",
        f"    sha512: {_yaml_str(item.sha512_b64)}",
        f"    size: {item.size}",
        f"path: {_yaml_str(item.url)}",
        f"sha512: {_yaml_str(item.sha512_b64)}",
        f"releaseDate: {_yaml_str(released)}",
    ]
    if item.notes:
        lines.append(f"releaseNotes: {_yaml_str(item.notes)}")
    return "\n".join(lines) + "\n"


def tauri_update(item: FeedItem) -> dict[str, object]:
    """The dynamic server's 200 body."""
    if item.minisign is None:
        raise ValueError("Tauri needs a minisign signature")
    body: dict[str, object] = {
        "version": item.version,
        "pub_date": _utc(item.released_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "url": item.url,
        "signature": item.minisign,
    }
    if item.notes:
        body["notes"] = item.notes
    return body


# ---- signatures over a file -----------------------------------------------------


def sparkle_signature(key: Ed25519PrivateKey, data: bytes) -> str:
    """Sparkle's edSignature: Ed25519 over the file's bytes, standard base64."""
    return base64.b64encode(key.sign(data)).decode("ascii")


def minisign_key_id(public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:8]


def minisign_public_key(public: Ed25519PublicKey) -> str:
    """The key as Tauri's ``pubkey`` setting wants it: base64 of the minisign
    public key file."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = minisign_key_id(public)
    text = (
        f"untrusted comment: minisign public key {key_id[::-1].hex().upper()}\n"
        f"{base64.b64encode(b'Ed' + key_id + raw).decode()}\n"
    )
    return base64.b64encode(text.encode()).decode("ascii")


def minisign_signature(
    key: Ed25519PrivateKey, blake2b_digest: bytes, filename: str, timestamp: int
) -> str:
    """The ``.sig`` text Tauri's ``signature`` field wants, base64: a prehashed
    (``ED``: Ed25519 over the file's BLAKE2b-512) minisign signature with its
    trusted comment and global signature."""
    key_id = minisign_key_id(key.public_key())
    sig = key.sign(blake2b_digest)
    trusted = f"timestamp:{timestamp}\tfile:{filename}"
    global_sig = key.sign(sig + trusted.encode())
    text = (
        "untrusted comment: signature from licserver\n"
        f"{base64.b64encode(b'ED' + key_id + sig).decode()}\n"
        f"trusted comment: {trusted}\n"
        f"{base64.b64encode(global_sig).decode()}\n"
    )
    return base64.b64encode(text.encode()).decode("ascii")
