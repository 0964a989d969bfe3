"""CSV downloads: streamed row by row (no row limit, flat memory), every cell
neutralised against formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Response, stream_with_context

# Spreadsheets run a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 16384


def cell(value: object) -> str:
    """The text of a cell; one a spreadsheet would run as a formula gets a
    leading quote (machine names, customer names... are whatever was sent)."""
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """``rows`` as CSV text, in chunks of about 16 KB."""
    buf = io.StringIO()
    out = csv.writer(buf)
    for row in rows:
        out.writerow([cell(x) for x in row])
        if buf.tell() > CHUNK:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def response(rows: Iterable[Iterable[Any]], filename: str) -> Response:
    """A download of ``rows`` (the header first). The rows are read while the
    response is sent, in the request's context and its session
    (``stream_with_context``), which ends with the last row."""
    return Response(
        stream_with_context(lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
