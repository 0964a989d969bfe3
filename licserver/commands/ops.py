"""`licserver backup`, `licserver check`."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
