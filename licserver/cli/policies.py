"""`licserver policies create|list|show|update`: the licence models of a
product's licences (docs/licence-models.md)."""

from __future__ import annotations

import json
from typing import Any

import click

from licserver.cli.common import CLI, error_message, fail
from licserver.domain.errors import LicenseServerError


def _settings(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``key=value`` pairs; a value is JSON when it parses (numbers, true,
    null, lists), else the text itself."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--set takes key=value, not {pair!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        out[key.strip()] = value
    return out


def _print_policy(view: dict[str, Any]) -> None:
    click.echo(f"{view['id']}\t{view['product']}\t{view['name']}\tlicences: {view['licenses']}")
    for key, value in view["settings"].items():
        click.echo(f"  {key} = {json.dumps(value)}")


@click.group("policies")
def policies_group() -> None:
    """A product's policies: the licence models its licences follow."""


@policies_group.command("create")
@click.argument("product")
@click.argument("name")
@click.option("--set", "pairs", multiple=True, help="A setting: key=value. Repeat for more.")
def policies_create(product: str, name: str, pairs: tuple[str, ...]) -> None:
    """Create policy NAME of PRODUCT, e.g. --set model=floating --set lease_ttl=600."""
    from licserver.runtime import context
    from licserver.services import policies as svc

    try:
        pol = svc.create(context(), CLI, product=product, name=name, settings=_settings(pairs))
    except LicenseServerError as exc:
        fail(error_message(exc))
    _print_policy(svc.view(context(), pol))


@policies_group.command("list")
@click.argument("product")
def policies_list(product: str) -> None:
    """Print PRODUCT's policies: id, name, model, trial, licences."""
    from licserver.runtime import context
    from licserver.services import policies as svc

    try:
        rows = svc.list_for_product(context(), product)
    except LicenseServerError as exc:
        fail(error_message(exc))
    for pol in rows:
        s = svc.settings_of(pol)
        trial = "trial" if s.trial else "-"
        count = svc.license_count(context(), pol)
        click.echo(f"{pol.public_id}\t{pol.name}\t{s.model}\t{trial}\tlicences: {count}")


@policies_group.command("show")
@click.argument("policy_id")
def policies_show(policy_id: str) -> None:
    """Print one policy with every setting."""
    from licserver.runtime import context
    from licserver.services import policies as svc

    try:
        pol = svc.get(context(), policy_id)
    except LicenseServerError as exc:
        fail(error_message(exc))
    _print_policy(svc.view(context(), pol))


@policies_group.command("update")
@click.argument("policy_id")
@click.option("--name", default=None, help="A new name.")
@click.option("--set", "pairs", multiple=True, help="key=value; key=null resets to the default.")
@click.option("--dry-run", is_flag=True, help="Show what would change and whom; save nothing.")
def policies_update(
    policy_id: str, name: str | None, pairs: tuple[str, ...], dry_run: bool
) -> None:
    """Change a policy. Prints the changed settings and the machines the new rules
    act on now (release a lease, mark inactive, free a seat)."""
    from licserver.runtime import context
    from licserver.services import policies as svc

    try:
        change = svc.update(
            context(), CLI, policy_id, name=name, settings=_settings(pairs), dry_run=dry_run
        )
    except LicenseServerError as exc:
        fail(error_message(exc))
    click.echo(
        ("Dry run: nothing saved. " if dry_run else "")
        + (f"Changed: {', '.join(change.changed)}" if change.changed else "Nothing changes.")
    )
    click.echo(f"Machines affected now: {len(change.affected)}")
    for a in change.affected:
        seen = a.last_seen_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        click.echo(
            f"  {a.effect}\t{a.license_id}\t{a.activation_id}\t{a.machine_name}\tlast seen {seen}"
        )


COMMANDS: list[click.Command] = [policies_group]
