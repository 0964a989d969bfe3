"""Fixtures of the history tests: the portal's (accounts, a browser) and the
live gunicorn (``live_server``, tests/support/servers.py), plus helpers to run
the CLI and tamper with rows."""

from __future__ import annotations
