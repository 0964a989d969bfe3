"""`licserver staff ...`: vendor staff accounts for the console."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
