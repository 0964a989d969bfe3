"""The CLI's command groups beyond cli.py's core (init, tokens, demo, db): one
module per area, each exposing COMMANDS."""

from __future__ import annotations

import click


def all_commands() -> list[click.Command]:
    from licserver.commands import history, keys, notify, ops, policies, staff, webhooks

    out: list[click.Command] = []
    for module in (keys, ops, staff, webhooks, notify, history, policies):
        out.extend(module.COMMANDS)
    return out
