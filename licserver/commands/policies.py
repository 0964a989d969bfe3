"""`licserver policies ...` and `licserver sweep` (leases and heartbeats)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
