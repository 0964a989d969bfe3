"""`licserver releases ...`: attach, list and publish a product's releases
(registered through licserver.cli.notify)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from licserver.cli.common import CLI, error_message, fail
from licserver.domain.errors import LicenseServerError
from licserver.models import utcnow
from licserver.models.release import Release
from licserver.services import releases as svc


def _line(r: Release) -> str:
    state = "published" if r.published_at else "draft"
    where = r.url or r.storage_path or ""
    return (
        f"{r.version}\t{r.released_at:%Y-%m-%d}\t{state}\t{r.size if r.size is not None else '-'}"
        f"\t{r.sha256}\t{where}"
    )


@click.group("releases")
def releases_group() -> None:
    """A product's releases: the portal's downloads."""


@releases_group.command("add")
@click.option("--product", required=True, help="Product code.")
@click.option("--version", "version", required=True)
@click.option(
    "--file",
    "file_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file this server keeps (copied under RELEASES_DIR).",
)
@click.option("--url", help="Or: where the file is hosted (needs --sha256).")
@click.option("--sha256", help="SHA-256 of the file (checked against --file).")
@click.option("--filename", help="The name the download is saved as.")
@click.option("--notes-file", type=click.File("r", encoding="utf-8"), help="Release notes.")
@click.option("--publish", is_flag=True, help="Publish at once (and email the update).")
@with_appcontext
def releases_add(
    product: str,
    version: str,
    file_path: Path | None,
    url: str | None,
    sha256: str | None,
    filename: str | None,
    notes_file: Any,
    publish: bool,
) -> None:
    """Attach a release (a file or a URL) to a product."""
    from licserver.runtime import context

    if (file_path is None) == (url is None):
        fail("give either --file or --url")
        return
    notes = notes_file.read() if notes_file is not None else None
    try:
        if file_path is not None:
            with file_path.open("rb") as fh:
                release = svc.add(
                    context(),
                    product_code=product,
                    version=version,
                    released_at=utcnow(),
                    notes=notes,
                    upload=svc.Upload(fh, file_path.name),
                    sha256=sha256,
                    filename=filename,
                    origin=CLI,
                )
        else:
            release = svc.add(
                context(),
                product_code=product,
                version=version,
                released_at=utcnow(),
                notes=notes,
                url=url,
                sha256=sha256,
                filename=filename,
                origin=CLI,
            )
        click.echo(f"added {product} {release.version} sha256 {release.sha256}")
        if publish:
            _publish(product, version, notify=True)
    except LicenseServerError as exc:
        fail(error_message(exc))


def _publish(product: str, version: str, *, notify: bool) -> None:
    from licserver.runtime import context

    done = svc.publish_and_notify(context(), CLI, product, version, notify=notify)
    click.echo(f"published {product} {version}; update email to {done.sent} address(es)")


@releases_group.command("publish")
@click.option("--product", required=True, help="Product code.")
@click.option("--version", "version", required=True)
@click.option("--no-notify", is_flag=True, help="Publish without the update email.")
@with_appcontext
def releases_publish(product: str, version: str, no_notify: bool) -> None:
    """Publish a release (customers see it; the update email goes out once)."""
    try:
        _publish(product, version, notify=not no_notify)
    except LicenseServerError as exc:
        fail(error_message(exc))


@releases_group.command("list")
@click.option("--product", required=True, help="Product code.")
@with_appcontext
def releases_list(product: str) -> None:
    """A product's releases, newest first: version, date, state, size, SHA-256, where."""
    from licserver.runtime import context

    try:
        rows = svc.list_releases(context(), product)
    except LicenseServerError as exc:
        fail(error_message(exc))
        return
    for r in rows:
        click.echo(_line(r))
