"""`licserver releases add|list|publish|...`: attach, list and publish a
product's releases (the portal's downloads)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext

from licserver.cli.common import CLI, error_message, fail
from licserver.domain import updates
from licserver.domain.errors import LicenseServerError

if TYPE_CHECKING:
    from licserver.models.release import Release
    from licserver.services.release_artifacts import ArtifactIn


def _line(r: Release) -> str:
    where = r.url or r.storage_path or ""
    targets = ",".join(f"{a.platform or 'any'}/{a.arch or 'any'}" for a in r.artifacts) or "-"
    return (
        f"{r.version}\t{r.channel}\t{r.released_at:%Y-%m-%d}\t{r.status}"
        f"\t{r.size if r.size is not None else '-'}\t{r.sha256}\t{where}\t{targets}"
    )


@click.group("releases")
def releases_group() -> None:
    """A product's releases: the portal's downloads."""


def _release_options(func: Any) -> Any:
    """--product / --version: which release a command acts on."""
    func = click.option(
        "--version", "version", required=True, help="A semantic version, like 3.1.0."
    )(func)
    return click.option("--product", required=True, help="Product code.")(func)


def _source_options(func: Any) -> Any:
    """--file / --url / --sha256 / --filename / --platform / --arch."""
    for option in reversed(
        [
            click.option(
                "--file",
                "file_path",
                type=click.Path(exists=True, dir_okay=False, path_type=Path),
                help="A file this server keeps.",
            ),
            click.option("--url", help="Or: where the file is hosted (needs --sha256)."),
            click.option("--sha256", help="SHA-256 of the file (checked against --file)."),
            click.option("--size", type=int, help="Size in bytes of the file at --url."),
            click.option("--filename", help="The name the download is saved as."),
            click.option("--platform", type=click.Choice(updates.PLATFORMS), help="Default: any."),
            click.option("--arch", type=click.Choice(updates.ARCHES), help="Default: any."),
        ]
    ):
        func = option(func)
    return func


@contextlib.contextmanager
def _artifact(
    file_path: Path | None,
    url: str | None,
    sha256: str | None,
    size: int | None,
    filename: str | None,
    platform: str | None,
    arch: str | None,
) -> Iterator[ArtifactIn]:
    """The file _source_options name, open while the block runs."""
    from licserver.services.release_artifacts import ArtifactIn
    from licserver.services.releases import Upload

    if (file_path is None) == (url is None):
        fail("give either --file or --url")
    with contextlib.ExitStack() as stack:
        upload = None
        if file_path is not None:
            upload = Upload(stack.enter_context(file_path.open("rb")), file_path.name)
        yield ArtifactIn(platform, arch, upload, url, sha256, size, filename)


@releases_group.command("add")
@_release_options
@_source_options
@click.option("--channel", default="stable", show_default=True, help="rc, beta, ... or your own.")
@click.option("--min-version", help="The oldest version that may update to it directly.")
@click.option(
    "--requires-feature", "features", multiple=True, help="An entitlement it needs (repeatable)."
)
@click.option("--notes-file", type=click.File("r", encoding="utf-8"), help="Release notes.")
@click.option("--publish", is_flag=True, help="Publish at once (and email the update).")
@with_appcontext
def releases_add(
    product: str,
    version: str,
    file_path: Path | None,
    url: str | None,
    sha256: str | None,
    size: int | None,
    filename: str | None,
    platform: str | None,
    arch: str | None,
    channel: str,
    min_version: str | None,
    features: tuple[str, ...],
    notes_file: Any,
    publish: bool,
) -> None:
    """Attach a release (a file or a URL: its first artifact) to a product."""
    from licserver.runtime import context
    from licserver.services import releases as svc

    notes = notes_file.read() if notes_file is not None else None
    from licserver.runtime import storage

    meta = svc.ReleaseMeta(channel, min_version, features, platform, arch)
    try:
        with _artifact(file_path, url, sha256, size, filename, platform, arch) as art:
            ctx = context()
            release = svc.add(
                ctx,
                product_code=product,
                version=version,
                released_at=ctx.now(),
                notes=notes,
                upload=art.upload,
                url=art.url,
                sha256=art.sha256,
                size=art.size,
                filename=art.filename,
                origin=CLI,
                meta=meta,
                storage=storage(),
            )
        click.echo(f"added {product} {release.version} ({channel}) sha256 {release.sha256}")
        if publish:
            _publish(product, version, notify=True)
    except LicenseServerError as exc:
        fail(error_message(exc))


@releases_group.command("artifact")
@_release_options
@_source_options
@with_appcontext
def releases_artifact(
    product: str,
    version: str,
    file_path: Path | None,
    url: str | None,
    sha256: str | None,
    size: int | None,
    filename: str | None,
    platform: str | None,
    arch: str | None,
) -> None:
    """Add a file for one platform and arch to a release (kept in RELEASES_STORAGE)."""
    from licserver.runtime import context, storage
    from licserver.services import release_artifacts as artifacts

    try:
        with _artifact(file_path, url, sha256, size, filename, platform, arch) as art:
            row = artifacts.add_artifact(
                context(), storage(), product_code=product, version=version, art=art, origin=CLI
            )
        where = f"{platform or 'any'}/{arch or 'any'}"
        click.echo(f"added {product} {version} {where} sha256 {row.sha256}")
    except LicenseServerError as exc:
        fail(error_message(exc))


@releases_group.command("yank")
@_release_options
@with_appcontext
def releases_yank(product: str, version: str) -> None:
    """Withdraw a release for good: never offered as an update or download again."""
    from licserver.runtime import context
    from licserver.services import release_artifacts as artifacts

    ctx = context()
    try:
        artifacts.yank(ctx, product, version, now=ctx.now(), origin=CLI)
    except LicenseServerError as exc:
        fail(error_message(exc))
        return
    click.echo(f"yanked {product} {version}")


def _publish(product: str, version: str, *, notify: bool) -> None:
    from licserver.runtime import context
    from licserver.services import releases as svc

    done = svc.publish_and_notify(context(), CLI, product, version, notify=notify)
    click.echo(f"published {product} {version}; update email to {done.sent} address(es)")


@releases_group.command("publish")
@_release_options
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
    from licserver.services import releases as svc

    try:
        rows = svc.list_releases(context(), product)
    except LicenseServerError as exc:
        fail(error_message(exc))
        return
    for r in rows:
        click.echo(_line(r))


COMMANDS: list[click.Command] = [releases_group]
