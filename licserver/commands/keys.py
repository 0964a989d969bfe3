"""`licserver keys list|rotate`."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
