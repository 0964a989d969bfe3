"""Importing from another licensing system: the file formats, reading them, and
the checks of one row that need no database (plain Python).

A file holds one kind of row — customers, users, licences or activations — as
CSV with a header line, or as JSON lines (one object per line). Every row names
its ``external_id`` (the old system's id): the import is idempotent by it.
Rows refer to each other by external id (``customer_external_id``,
``licence_external_id``), so the kinds are imported in that order.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from licserver.domain.email import is_email
from licserver.domain.roles import ROLES

CUSTOMERS, USERS, LICENCES, ACTIVATIONS = "customers", "users", "licences", "activations"
KINDS = (CUSTOMERS, USERS, LICENCES, ACTIVATIONS)
STATUSES = ("active", "suspended", "revoked")
LEGACY_KEY_PURPOSE = "legacy licence key"
_INSTALLATION_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_FEATURE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_EXTERNAL_ID = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
_LEGACY_KEY = re.compile(r"[\x21-\x7e]{8,256}")


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    example: str
    help: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    CUSTOMERS: (
        Column("external_id", True, "CRM-1001", "the old system's id of the customer"),
        Column("name", True, "Acme Ltd", "company name"),
        Column("email", True, "it@acme.example", "main contact"),
        Column("address", False, "1 Main St, Springfield", ""),
        Column("phone", False, "+1 555 0100", ""),
        Column("vat_id", False, "", ""),
        Column("billing_name", False, "", ""),
        Column("billing_email", False, "", ""),
    ),
    USERS: (
        Column("external_id", True, "U-77", "the old system's id of the user"),
        Column("customer_external_id", True, "CRM-1001", "an imported customer"),
        Column("email", True, "ann@acme.example", "unique across all customers"),
        Column("name", True, "Ann Smith", ""),
        Column("role", True, "owner", " | ".join(ROLES)),
    ),
    LICENCES: (
        Column("external_id", True, "LIC-5001", "the old system's id of the licence"),
        Column("customer_external_id", True, "CRM-1001", "an imported customer"),
        Column("product", True, "cad-pro", "a product code of this server"),
        Column("seats", True, "5", "a whole number, at least 1"),
        Column("expires_at", False, "2027-12-31", "ISO date or date-time (UTC); empty: never"),
        Column("status", False, "active", " | ".join(STATUSES) + " (default active)"),
        Column("features", False, "export;render", "separated by ;"),
        Column("policy", False, "", "one of the product's policies (name or id)"),
        Column("legacy_keys", False, "OLD-KEY-1234-5678", "the old system's keys, separated by ;"),
    ),
    ACTIVATIONS: (
        Column("external_id", True, "ACT-9001", "the old system's id of the activation"),
        Column("licence_external_id", True, "LIC-5001", "an imported licence"),
        Column("installation_id", True, "3f2a9c0e7d5b41a8", "8-128 of A-Z a-z 0-9 . _ : -"),
        Column("machine_name", True, "ANN-LAPTOP", ""),
        Column("activated_at", False, "2025-03-01T09:30:00Z", "ISO date-time (UTC)"),
    ),
}


def kind_of(name: str) -> str:
    """The kind for a name staff type (``licenses`` too); ValueError otherwise."""
    name = name.strip().lower()
    name = {"licenses": LICENCES, "license": LICENCES, "licence": LICENCES}.get(name, name)
    if name not in KINDS:
        raise ValueError(f"Unknown kind {name!r}: one of {', '.join(KINDS)}.")
    return name


def template(kind: str) -> str:
    """A CSV file for ``kind``: the header line and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in COLUMNS[kind]])
    writer.writerow([c.example for c in COLUMNS[kind]])
    return out.getvalue()


# ---- reading a file -----------------------------------------------------------


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, header, JSON)."""


@dataclass(frozen=True)
class RawRow:
    line: int  # the line the row starts on (1 is the CSV header)
    values: dict[str, Any]
    problem: str | None = None  # a line that is not a row at all (bad JSON)


def is_json_lines(filename: str, data: bytes) -> bool:
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")):
        return True
    return data.lstrip(codecs.BOM_UTF8 + b" \t\r\n")[:1] == b"{"


def read_rows(kind: str, filename: str, data: bytes) -> Iterator[RawRow]:
    """The rows of a file, in order, with their line numbers. FileError for a
    file that is not UTF-8 or whose CSV header does not fit ``kind``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileError(f"The file is not UTF-8 text (byte {exc.start}).") from None
    if is_json_lines(filename, data):
        return _json_rows(kind, text)
    return _csv_rows(kind, text)


def check_header(kind: str, names: list[str]) -> None:
    known = {c.name for c in COLUMNS[kind]}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise FileError(f"Unknown column(s) for {kind}: {', '.join(unknown)}.")
    missing = [c.name for c in COLUMNS[kind] if c.required and c.name not in names]
    if missing:
        raise FileError(f"Missing column(s) for {kind}: {', '.join(missing)}.")


def _csv_rows(kind: str, text: str) -> Iterator[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    if not header:
        raise FileError("The file is empty: it needs a header line.")
    check_header(kind, header)

    def rows() -> Iterator[RawRow]:
        start = reader.line_num + 1
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # a blank line
            if len(cells) != len(header):
                yield RawRow(line, {}, f"{len(cells)} cells where the header has {len(header)}.")
                continue
            yield RawRow(line, dict(zip(header, cells, strict=True)))

    return rows()


def _json_rows(kind: str, text: str) -> Iterator[RawRow]:
    known = {c.name for c in COLUMNS[kind]}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            yield RawRow(number, {}, "Not a JSON object.")
            continue
        if not isinstance(obj, dict):
            yield RawRow(number, {}, "Not a JSON object.")
            continue
        unknown = sorted(set(obj) - known)
        if unknown:
            yield RawRow(number, {}, f"Unknown field(s): {', '.join(unknown)}.")
            continue
        yield RawRow(number, obj)


def count_rows(kind: str, filename: str, data: bytes) -> int:
    return sum(1 for _ in read_rows(kind, filename, data))


# ---- one row -----------------------------------------------------------------


class RowProblems(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise ValueError("must be text")
    return str(value).strip()


def _list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_text(v) for v in value if _text(v)]
    return [p.strip() for p in _text(value).split(";") if p.strip()]


def parse_time(value: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC unless it says otherwise)."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {value!r} (YYYY-MM-DD or an ISO date-time)") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def legacy_key(value: str) -> str:
    """A legacy key as stored (hashed): surrounding space stripped, else as given."""
    key = value.strip()
    if not _LEGACY_KEY.fullmatch(key):
        raise ValueError(
            f"malformed legacy key ({len(key)} characters): 8 to 256 printable"
            " characters without spaces"
        )
    if key.startswith("LK1."):
        raise ValueError("malformed legacy key: an LK1 key is this server's own, not a legacy key")
    return key


def looks_like_lk1(license_key: str) -> bool:
    return license_key.startswith("LK1.")


def parse_row(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The row's values, checked and normalised; RowProblems naming every problem."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    for col in COLUMNS[kind]:
        try:
            value = _PARSERS.get(col.name, _plain)(raw.get(col.name))
        except ValueError as exc:
            problems.append(f"{col.name}: {exc}")
            continue
        if col.required and value in ("", None, []):
            problems.append(f"{col.name}: required")
        out[col.name] = value
    if problems:
        raise RowProblems(problems)
    return out


def digest(values: Mapping[str, Any]) -> str:
    """What identifies a row's content: the same digest, nothing changed."""
    blob = json.dumps(values, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _plain(value: Any) -> str:
    text = _text(value)
    if len(text) > 1000:
        raise ValueError("longer than 1000 characters")
    return text


def _external_id(value: Any) -> str:
    text = _text(value)
    if text and not _EXTERNAL_ID.fullmatch(text):
        raise ValueError("at most 128 characters, no control characters")
    return text


def _email(value: Any) -> str:
    text = _text(value)
    if not text:
        return ""
    if not is_email(text):
        raise ValueError(f"not an email address: {text!r}")
    return text.lower()


def _optional_email(value: Any) -> str | None:
    return _email(value) or None


def _role(value: Any) -> str:
    text = _text(value).lower()
    if text and text not in ROLES:
        raise ValueError(f"unknown role {text!r}: one of {', '.join(ROLES)}")
    return text


def _seats(value: Any) -> int | None:
    text = _text(value)
    if not text:
        return None
    if not text.isdigit() or int(text) < 1 or int(text) > 1_000_000:
        raise ValueError(f"not a whole number from 1 to 1000000: {text!r}")
    return int(text)


def _time(value: Any) -> datetime | None:
    text = _text(value)
    return parse_time(text) if text else None


def _status(value: Any) -> str:
    text = _text(value).lower() or "active"
    if text not in STATUSES:
        raise ValueError(f"unknown status {text!r}: one of {', '.join(STATUSES)}")
    return text


def _features(value: Any) -> list[str]:
    names = _list(value)
    bad = [n for n in names if not _FEATURE.fullmatch(n)]
    if bad:
        raise ValueError(f"not a feature name: {bad[0]!r}")
    return sorted(set(names))


def _legacy_keys(value: Any) -> list[str]:
    keys = [legacy_key(k) for k in _list(value)]
    if len(keys) != len(set(keys)):
        raise ValueError("the same legacy key twice")
    return keys


def _installation_id(value: Any) -> str:
    text = _text(value)
    if text and not _INSTALLATION_ID.fullmatch(text):
        raise ValueError("8 to 128 characters of A-Z a-z 0-9 . _ : -")
    return text


def _machine_name(value: Any) -> str:
    text = _text(value)
    if len(text) > 255:
        raise ValueError("longer than 255 characters")
    return text


_PARSERS: dict[str, Any] = {
    "external_id": _external_id,
    "customer_external_id": _external_id,
    "licence_external_id": _external_id,
    "email": _email,
    "billing_email": _optional_email,
    "role": _role,
    "seats": _seats,
    "expires_at": _time,
    "activated_at": _time,
    "status": _status,
    "features": _features,
    "legacy_keys": _legacy_keys,
    "installation_id": _installation_id,
    "machine_name": _machine_name,
}


class SeenInFile:
    """Values that must be unique within one file (external ids, emails,
    legacy keys): the line each was first seen on."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], int] = {}

    def first(self, what: str, value: str, line: int) -> int | None:
        """The earlier line of ``value`` (None: the first time; remembered)."""
        earlier = self._seen.setdefault((what, value), line)
        return earlier if earlier != line else None
